"""LOG0..LOG4."""

from __future__ import annotations

from hyperion.primitives.logs import Log
from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext
from hyperion.vm.gas import LOG_DATA
from hyperion.vm.memory import expand


def make_log(n: int):
    def log(f, pc):
        if f.static:
            raise WriteInStaticContext()
        s = f.stack
        off = s.pop()
        size = s.pop()
        topics = tuple([s.pop().to_bytes(32, "big") for _ in range(n)])
        if size:
            gas = f.gas - LOG_DATA * size
            if gas < 0:
                raise OutOfGas()
            f.gas = gas
            end = off + size
            if end > len(f.memory):
                expand(f, end)
            data = bytes(f.memory[off:end])
        else:
            data = b""
        f.ctx.logs.append(Log(f.address, topics, data))
        return pc + 1

    log.__name__ = f"log{n}"
    return log


LOGS = [make_log(n) for n in range(5)]
