"""Storage instructions: SLOAD, SSTORE (EIP-2200/2929/3529), TLOAD, TSTORE (EIP-1153)."""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext
from hyperion.vm.gas import (
    COLD_SLOAD,
    SSTORE_CLEARS_REFUND,
    SSTORE_RESET,
    SSTORE_SENTRY,
    SSTORE_SET,
    WARM_ACCESS,
)


def sload(f, pc):
    s = f.stack
    key = s[-1]
    st = f.state
    gas = f.gas - (COLD_SLOAD if st.warm_slot(f.address, key) else WARM_ACCESS)
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    s[-1] = st.get_storage(f.address, key)
    return pc + 1


def sstore(f, pc):
    s = f.stack
    key = s.pop()
    new = s.pop()
    if f.static:
        raise WriteInStaticContext()
    if f.gas <= SSTORE_SENTRY:
        raise OutOfGas()
    st = f.state
    addr = f.address
    current = st.get_storage(addr, key)
    cost = COLD_SLOAD if st.warm_slot(addr, key) else 0
    if current == new:
        cost += WARM_ACCESS
    else:
        original = st.get_original_storage(addr, key)
        if original == current:
            cost += SSTORE_SET if original == 0 else SSTORE_RESET
            if original and not new:
                f.ctx.refund += SSTORE_CLEARS_REFUND
        else:
            cost += WARM_ACCESS
            ctx = f.ctx
            if original:
                if not current:
                    ctx.refund -= SSTORE_CLEARS_REFUND
                elif not new:
                    ctx.refund += SSTORE_CLEARS_REFUND
            if original == new:
                if original == 0:
                    ctx.refund += SSTORE_SET - WARM_ACCESS
                else:
                    ctx.refund += SSTORE_RESET - WARM_ACCESS
    gas = f.gas - cost
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    if current != new:
        st.set_storage(addr, key, new)
    return pc + 1


def tload(f, pc):
    s = f.stack
    s[-1] = f.state.get_transient(f.address, s[-1])
    return pc + 1


def tstore(f, pc):
    if f.static:
        raise WriteInStaticContext()
    s = f.stack
    key = s.pop()
    f.state.set_transient(f.address, key, s.pop())
    return pc + 1
