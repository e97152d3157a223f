"""LOG0..LOG4: append a log of memory data and 0 to 4 topics."""

from __future__ import annotations

from hyperion.primitives.logs import new_log
from hyperion.vm.exceptions import WriteInStaticContext
from hyperion.vm.gas import LOG_DATA
from hyperion.vm.instructions.control_flow import read_memory
from hyperion.vm.instructions.gas import charge
from hyperion.vm.template import inline_helper


@inline_helper
def emit_log(f, offset: int, size: int, topics: tuple) -> None:
    """Charged (data and memory) before the static check, as in the execution specs.
    ``topics``: the topics as 32-byte words (each LOGn converts its own: no loop per log)."""
    if size:
        charge(f, LOG_DATA * size)
    data = read_memory(f, offset, size)
    if f.static:
        raise WriteInStaticContext()
    f.ctx.logs.append(new_log((f.address, topics, data)))


def log0(f, offset, size):
    emit_log(f, offset, size, ())


def log1(f, offset, size, topic1):
    emit_log(f, offset, size, (topic1.to_bytes(32, "big"),))


def log2(f, offset, size, topic1, topic2):
    emit_log(f, offset, size, (topic1.to_bytes(32, "big"), topic2.to_bytes(32, "big")))


def log3(f, offset, size, topic1, topic2, topic3):
    emit_log(f, offset, size, (topic1.to_bytes(32, "big"), topic2.to_bytes(32, "big"), topic3.to_bytes(32, "big")))


def log4(f, offset, size, topic1, topic2, topic3, topic4):
    emit_log(f, offset, size, (topic1.to_bytes(32, "big"), topic2.to_bytes(32, "big"), topic3.to_bytes(32, "big"),
                               topic4.to_bytes(32, "big")))
