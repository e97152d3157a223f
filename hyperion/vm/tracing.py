"""Execution tracers with geth's output shapes (debug_traceTransaction).

A tracer set on the transaction context switches frames to a stepping loop
that charges gas per instruction (so every step reports its own cost) and
calls back on each step and on each call frame. The fast path is untouched:
with no tracer, frames run the block-charged handler list.

* ``StructLogger``: geth's default tracer (``structLogs``).
* ``CallTracer``: geth's ``callTracer`` (nested call frames).
"""

from __future__ import annotations

from typing import Optional

from hyperion.vm.exceptions import (
    ExceptionalHalt,
    Halt,
    InvalidOpcode,
    OutOfGas,
    Revert,
    StackOverflow,
    StackUnderflow,
)
from hyperion.vm.gas import STACK_LIMIT

CALL_KINDS = {0xF1: "CALL", 0xF2: "CALLCODE", 0xF4: "DELEGATECALL", 0xFA: "STATICCALL", 0xF0: "CREATE", 0xF5: "CREATE2"}
ERROR_SELECTOR = bytes.fromhex("08c379a0")
_CALL_OPS = frozenset(("CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"))
_CREATE_OPS = frozenset(("CREATE", "CREATE2"))

_ERROR_TEXT = {
    "OutOfGas": "out of gas",
    "StackUnderflow": "stack underflow",
    "StackOverflow": "stack limit reached 1024 (1023)",
    "InvalidJump": "invalid jump destination",
    "InvalidOpcode": "invalid opcode",
    "WriteInStaticContext": "write protection",
    "ReturnDataOutOfBounds": "return data out of bounds",
    "InvalidContractPrefix": "invalid code: must not begin with 0xef",
    "CodeSizeExceeded": "max code size exceeded",
    "AddressCollision": "contract address collision",
    "PrecompileFailure": "precompile failed",
}


def error_text(exc: BaseException) -> str:
    """geth's wording for a VM error."""
    if isinstance(exc, Revert):
        return "execution reverted"
    return _ERROR_TEXT.get(type(exc).__name__, str(exc) or type(exc).__name__)


def decode_revert_reason(data: bytes) -> Optional[str]:
    """The string of a Solidity ``Error(string)`` revert payload, if it is one."""
    if len(data) < 68 or data[:4] != ERROR_SELECTOR:
        return None
    try:
        offset = int.from_bytes(data[4:36], "big")
        length = int.from_bytes(data[4 + offset : 36 + offset], "big")
        raw = data[36 + offset : 36 + offset + length]
        if len(raw) != length:
            return None
        return raw.decode("utf-8", errors="replace")
    except (ValueError, OverflowError):
        return None


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


class Tracer:
    """Base class: steps frames one instruction at a time."""

    def __init__(self, config: Optional[dict] = None):
        self.config = config or {}
        self.current_opcode = 0
        self.depth = 0

    # -- frame hooks (called by the interpreter) ----------------------------
    def on_enter(self, kind: str, caller: bytes, to: bytes, value: int, data: bytes, gas: int, depth: int) -> None:
        pass

    def on_exit(self, status: int, gas_left: int, output: bytes, error: Optional[str]) -> None:
        pass

    def on_step(self, f, pc: int, opcode: int, name: str, gas: int) -> None:
        pass

    def on_step_end(self, f, gas_cost: int) -> None:
        pass

    def on_fault(self, f, exc: BaseException) -> None:
        pass

    def on_end(self, output: bytes, gas_used: int, success: bool) -> None:
        pass

    def on_start(self, tx_gas: int) -> None:
        """The transaction's gas limit, before intrinsic gas is taken."""
        pass

    # -- stepping loop ------------------------------------------------------
    def run(self, f, analysis) -> int:
        """Execute a frame instruction by instruction; raises like the fast loop."""
        op_at = analysis.op_at
        f.jumpdests = analysis.plain_jumpdests  # this loop charges every step itself
        stop_handler = analysis.handlers[-1]
        pc = 0
        while True:
            entry = op_at(pc)
            if entry is None:
                self.on_step(f, pc, 0x00, "STOP", f.gas)
                self.on_step_end(f, 0)
                stop_handler(f, pc)
            opcode, spec, handler = entry
            self.current_opcode = opcode
            name = spec.name if spec is not None else f"opcode 0x{opcode:02x} not defined"
            self.on_step(f, pc, opcode, name, f.gas)
            if spec is None:
                raise InvalidOpcode(f"invalid opcode 0x{opcode:02x}")
            n = len(f.stack)
            if n < spec.pops:
                raise StackUnderflow()
            if n - spec.pops + spec.pushes > STACK_LIMIT:
                raise StackOverflow()
            gas_before = f.gas
            if gas_before < spec.gas:
                raise OutOfGas()
            f.gas = gas_before - spec.gas
            try:
                next_pc = handler(f, pc)
            except (Halt, Revert):
                self.on_step_end(f, gas_before - f.gas)  # STOP, RETURN, REVERT, SELFDESTRUCT end the frame
                raise
            self.on_step_end(f, gas_before - f.gas)
            pc = next_pc


class StructLogger(Tracer):
    """geth's struct logger: one entry per executed instruction."""

    def __init__(self, config: Optional[dict] = None):
        super().__init__(config)
        cfg = self.config
        self.enable_memory = bool(cfg.get("enableMemory", False))
        self.disable_stack = bool(cfg.get("disableStack", False))
        self.disable_storage = bool(cfg.get("disableStorage", False))
        self.enable_return_data = bool(cfg.get("enableReturnData", False))
        self.limit = int(cfg.get("limit", 0) or 0)
        self.logs: list[dict] = []
        self._pending: list[dict] = []
        self._storage: dict[bytes, dict[str, str]] = {}
        self._frame_gas: list[int] = []  # gas given to each open frame
        self._child_gas = (0, 0)  # (given, left) of the frame that just ended, for its caller's CALL/CREATE step
        self.gas_used = 0
        self.failed = False
        self.return_value = b""

    def on_enter(self, kind, caller, to, value, data, gas, depth):
        self.depth = depth + 1
        self._frame_gas.append(gas)

    def on_exit(self, status, gas_left, output, error):
        self.depth -= 1
        self._child_gas = (self._frame_gas.pop() if self._frame_gas else 0, gas_left)

    def on_step(self, f, pc, opcode, name, gas):
        if self.limit and len(self.logs) >= self.limit:
            self._pending.append({})
            return
        entry = {"pc": pc, "op": name, "gas": gas, "gasCost": 0, "depth": f.depth + 1}
        if not self.disable_stack:
            entry["stack"] = [hex(v) for v in f.stack]
        if self.enable_memory:
            mem = f.memory
            entry["memory"] = ["0x" + mem[i : i + 32].hex() for i in range(0, len(mem), 32)]
        if self.enable_return_data and f.return_data:
            entry["returnData"] = _hex(f.return_data)
        entry["refund"] = f.ctx.refund
        if not self.disable_storage and opcode in (0x54, 0x55) and f.stack:
            store = self._storage.setdefault(f.address, {})
            key = f.stack[-1]
            k = "0x" + key.to_bytes(32, "big").hex()
            if opcode == 0x54:
                store[k] = "0x" + f.state.get_storage(f.address, key).to_bytes(32, "big").hex()
            elif len(f.stack) >= 2:
                store[k] = "0x" + f.stack[-2].to_bytes(32, "big").hex()
            entry["storage"] = dict(store)
        self.logs.append(entry)
        self._pending.append(entry)

    def on_step_end(self, f, gas_cost):
        (child_given, child_left), self._child_gas = self._child_gas, (0, 0)
        if self._pending:
            entry = self._pending.pop()
            if entry:
                # gas_cost counts what a callee used; geth counts, as a CALL's cost, all the gas
                # given to the callee, and as a CREATE's cost none of it
                op = entry["op"]
                if op in _CALL_OPS:
                    gas_cost += child_left
                elif op in _CREATE_OPS:
                    gas_cost -= child_given - child_left
                entry["gasCost"] = gas_cost

    def on_fault(self, f, exc):
        if self._pending:
            entry = self._pending.pop()
            if entry:
                entry["error"] = error_text(exc)

    def on_end(self, output, gas_used, success):
        self.gas_used = gas_used
        self.failed = not success
        self.return_value = output

    def result(self) -> dict:
        return {
            "gas": self.gas_used,
            "failed": self.failed,
            "returnValue": "0x" + self.return_value.hex(),  # execution-apis: 0x-prefixed, "0x" when empty
            "structLogs": self.logs,
        }


class CallTracer(Tracer):
    """geth's callTracer: the tree of message calls."""

    def __init__(self, config: Optional[dict] = None):
        super().__init__(config)
        self.only_top_call = bool(self.config.get("onlyTopCall", False))
        self.with_log = bool(self.config.get("withLog", False))
        self.stack: list[dict] = []
        self.root: Optional[dict] = None
        self.gas_used = 0
        self.tx_gas: Optional[int] = None

    def on_start(self, tx_gas: int) -> None:
        self.tx_gas = tx_gas

    def on_enter(self, kind, caller, to, value, data, gas, depth):
        if depth == 0:
            kind = "CREATE" if kind.startswith("CREATE") else "CALL"
        else:
            kind = CALL_KINDS.get(self.current_opcode, kind)
        frame = {
            "type": kind,
            "from": _hex(caller),
            "to": _hex(to),
            "value": hex(value),
            "gas": hex(gas),
            "gasUsed": "0x0",
            "input": _hex(data),
        }
        if kind == "STATICCALL" or kind == "DELEGATECALL":
            frame.pop("value")
        frame["_gas"] = gas
        if self.stack:
            if not self.only_top_call:
                self.stack[-1].setdefault("calls", []).append(frame)
        else:
            self.root = frame
        self.stack.append(frame)

    def on_exit(self, status, gas_left, output, error):
        frame = self.stack.pop()
        frame["gasUsed"] = hex(frame["_gas"] - gas_left)
        if output:
            frame["output"] = _hex(output)
        if status != 1:
            frame["error"] = error or ("execution reverted" if status == 0 else "execution failed")
            if status == 0:
                reason = decode_revert_reason(output)
                if reason is not None:
                    frame["revertReason"] = reason
            else:
                frame.pop("output", None)

    def on_fault(self, f, exc):
        if self.stack:
            self.stack[-1]["_error"] = error_text(exc)

    def on_end(self, output, gas_used, success):
        self.gas_used = gas_used
        if self.root is not None:
            self.root["gasUsed"] = hex(gas_used)
            if self.tx_gas is not None:  # geth reports the tx gas limit at the top
                self.root["gas"] = hex(self.tx_gas)

    def result(self) -> dict:
        def clean(frame: dict) -> dict:
            err = frame.pop("_error", None)
            if err and "error" in frame and frame["error"] == "execution failed":
                frame["error"] = err
            frame.pop("_gas", None)
            for child in frame.get("calls", ()):
                clean(child)
            return frame

        return clean(self.root) if self.root is not None else {}
