"""Storage instructions: SLOAD, SSTORE, TLOAD, TSTORE (EIP-1153).

SSTORE's pricing changed four times; the instruction table binds the rule
a fork uses:

* ``sstore_frontier``: 20000 to set a zero slot, 5000 otherwise, a refund
  for clearing (Frontier..Petersburg);
* ``sstore``: net gas metering against the slot's value at the start of
  the transaction: EIP-1283 (Constantinople only), EIP-2200 (Istanbul, with
  the 2300-gas ``sentry``), EIP-2929 (Berlin on: ``cold_slots`` cost 2100
  more, and the no-op / dirty price is a warm access); EIP-3529 (London)
  lowers the clearing refund.
"""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext
from hyperion.vm.gas import COLD_SLOAD, SSTORE_SENTRY, SSTORE_SET, SSTORE_UPDATE, WARM_ACCESS
from hyperion.vm.instructions.gas import charge


def sload(f, key):
    """SLOAD with EIP-2929 cold/warm slot access."""
    charge(f, COLD_SLOAD if f.state.warm_slot(f.address, key) else WARM_ACCESS)
    return f.state.get_storage(f.address, key)


def sload_static(f, key):
    """SLOAD before EIP-2929: its fixed cost is static gas in the table."""
    return f.state.get_storage(f.address, key)


def sstore(f, key, new, *, warm_cost, reset_cost, clears_refund, sentry, cold_slots):
    """Net-metered SSTORE (EIP-1283, EIP-2200, EIP-2929; see the module docstring)."""
    if sentry and f.gas <= SSTORE_SENTRY:
        raise OutOfGas()
    state = f.state
    address = f.address
    current = state.get_storage(address, key)
    cost = COLD_SLOAD if cold_slots and state.warm_slot(address, key) else 0
    if current == new:
        cost += warm_cost
    else:
        original = state.get_original_storage(address, key)
        if original == current:
            cost += SSTORE_SET if original == 0 else reset_cost
            if original and not new:
                f.ctx.refund += clears_refund
        else:
            cost += warm_cost
            if original:
                if not current:
                    f.ctx.refund -= clears_refund
                elif not new:
                    f.ctx.refund += clears_refund
            if original == new:
                f.ctx.refund += SSTORE_SET - warm_cost if original == 0 else reset_cost - warm_cost
    charge(f, cost)
    if f.static:  # after the charge, as in the execution specs (the refund dies with the frame)
        raise WriteInStaticContext()
    if current != new:
        state.set_storage(address, key, new)


def sstore_frontier(f, key, new, *, clears_refund):
    """Frontier..Petersburg SSTORE: priced on the current value only."""
    current = f.state.get_storage(f.address, key)
    charge(f, SSTORE_SET if new and not current else SSTORE_UPDATE)
    if f.static:
        raise WriteInStaticContext()
    if current and not new:
        f.ctx.refund += clears_refund
    if current != new:
        f.state.set_storage(f.address, key, new)


def tload(f, key):
    return f.state.get_transient(f.address, key)


def tstore(f, key, value):
    if f.static:
        raise WriteInStaticContext()
    f.state.set_transient(f.address, key, value)
