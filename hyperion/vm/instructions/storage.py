"""Storage instructions: SLOAD, SSTORE, TLOAD, TSTORE (EIP-1153).

SSTORE's pricing changed four times; ``make_sstore(fork)`` builds the
variant a fork uses, with its constants bound in, when the fork's
instruction table is built:

* Frontier: 20000 to set a zero slot, 5000 otherwise, a refund for clearing;
* EIP-1283 (Constantinople only) and EIP-2200 (Istanbul): net gas
  metering against the slot's value at the start of the transaction
  (EIP-2200 adds the 2300-gas sentry);
* EIP-2929 (Berlin on): EIP-2200 with a cold-slot surcharge; EIP-3529
  (London) lowers the clearing refund.
"""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext
from hyperion.vm.forks import SSTORE_EIP1283, SSTORE_EIP2200, SSTORE_EIP2929, SSTORE_FRONTIER, Fork
from hyperion.vm.gas import (
    COLD_SLOAD,
    SSTORE_RESET,
    SSTORE_SENTRY,
    SSTORE_SET,
    SSTORE_UPDATE,
    WARM_ACCESS,
)


def sload(f, pc):
    """SLOAD with EIP-2929 cold/warm slot access."""
    s = f.stack
    key = s[-1]
    st = f.state
    gas = f.gas - (COLD_SLOAD if st.warm_slot(f.address, key) else WARM_ACCESS)
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    s[-1] = st.get_storage(f.address, key)
    return pc + 1


def sload_static(f, pc):
    """SLOAD before EIP-2929: its fixed cost is static gas in the table."""
    s = f.stack
    s[-1] = f.state.get_storage(f.address, s[-1])
    return pc + 1


def _make_sstore_net_metered(*, warm_cost: int, reset_cost: int, clears_refund: int, sentry: bool,
                             cold_slots: bool):
    """Net gas metering against the slot's value at the start of the transaction:
    EIP-1283 (no sentry), EIP-2200 (``sentry``), EIP-2929 (``cold_slots``: a cold
    slot costs 2100 more, and the no-op / dirty price is a warm access)."""
    reset_to_zero_refund = SSTORE_SET - warm_cost
    reset_refund = reset_cost - warm_cost

    def sstore(f, pc):
        s = f.stack
        key = s.pop()
        new = s.pop()
        if f.static:
            raise WriteInStaticContext()
        if sentry and f.gas <= SSTORE_SENTRY:
            raise OutOfGas()
        st = f.state
        addr = f.address
        current = st.get_storage(addr, key)
        cost = COLD_SLOAD if cold_slots and st.warm_slot(addr, key) else 0
        if current == new:
            cost += warm_cost
        else:
            original = st.get_original_storage(addr, key)
            if original == current:
                cost += SSTORE_SET if original == 0 else reset_cost
                if original and not new:
                    f.ctx.refund += clears_refund
            else:
                cost += warm_cost
                ctx = f.ctx
                if original:
                    if not current:
                        ctx.refund -= clears_refund
                    elif not new:
                        ctx.refund += clears_refund
                if original == new:
                    ctx.refund += reset_to_zero_refund if original == 0 else reset_refund
        gas = f.gas - cost
        if gas < 0:
            raise OutOfGas()
        f.gas = gas
        if current != new:
            st.set_storage(addr, key, new)
        return pc + 1

    return sstore


def _make_sstore_frontier(clears_refund: int):
    """Frontier..Petersburg SSTORE: priced on the current value only."""

    def sstore(f, pc):
        s = f.stack
        key = s.pop()
        new = s.pop()
        if f.static:
            raise WriteInStaticContext()
        st = f.state
        addr = f.address
        current = st.get_storage(addr, key)
        gas = f.gas - (SSTORE_SET if new and not current else SSTORE_UPDATE)
        if gas < 0:
            raise OutOfGas()
        f.gas = gas
        if current and not new:
            f.ctx.refund += clears_refund
        if current != new:
            st.set_storage(addr, key, new)
        return pc + 1

    return sstore


def make_sstore(fork: Fork):
    """The SSTORE handler of ``fork`` (see the module docstring)."""
    rule = fork.sstore_rule
    if rule == SSTORE_EIP2929:
        return _make_sstore_net_metered(warm_cost=WARM_ACCESS, reset_cost=SSTORE_RESET,
                                        clears_refund=fork.sstore_clears_refund, sentry=True, cold_slots=True)
    if rule in (SSTORE_EIP2200, SSTORE_EIP1283):
        return _make_sstore_net_metered(warm_cost=fork.gas_sload, reset_cost=SSTORE_UPDATE,
                                        clears_refund=fork.sstore_clears_refund, sentry=rule == SSTORE_EIP2200,
                                        cold_slots=False)
    if rule == SSTORE_FRONTIER:
        return _make_sstore_frontier(fork.sstore_clears_refund)
    raise ValueError(f"{fork.name}: unknown SSTORE rule {rule!r}")



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
