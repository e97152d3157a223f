"""Storage instructions: SLOAD, SSTORE, TLOAD, TSTORE (EIP-1153).

SSTORE's pricing changed four times; the instruction table picks the
variant a fork uses and binds its constants:

* ``sstore_frontier``: 20000 to set a zero slot, 5000 otherwise, a refund
  for clearing;
* ``sstore_net_metered``: EIP-1283 (Constantinople only) and EIP-2200
  (Istanbul), net gas metering against the slot's value at the start of the
  transaction; EIP-2200 adds the 2300-gas sentry;
* ``sstore``: EIP-2929 (Berlin on), EIP-2200 with a cold-slot surcharge;
  EIP-3529 (London) lowers the clearing refund.
"""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext
from hyperion.vm.gas import (
    COLD_SLOAD,
    SSTORE_RESET,
    SSTORE_SENTRY,
    SSTORE_SET,
    SSTORE_UPDATE,
    WARM_ACCESS,
)
from hyperion.vm.instructions.gas import charge


def sload(f, key):
    """SLOAD with EIP-2929 cold/warm slot access."""
    charge(f, COLD_SLOAD if f.state.warm_slot(f.address, key) else WARM_ACCESS)
    return f.state.get_storage(f.address, key)


def sload_static(f, key):
    """SLOAD before EIP-2929: its fixed cost is static gas in the table."""
    return f.state.get_storage(f.address, key)


def sstore(f, key, new, *, clears_refund):
    """EIP-2929 SSTORE: EIP-2200's rules with cold/warm slot access."""
    if f.static:
        raise WriteInStaticContext()
    if f.gas <= SSTORE_SENTRY:
        raise OutOfGas()
    state = f.state
    address = f.address
    current = state.get_storage(address, key)
    cost = COLD_SLOAD if state.warm_slot(address, key) else 0
    if current == new:
        cost += WARM_ACCESS
    else:
        original = state.get_original_storage(address, key)
        if original == current:
            cost += SSTORE_SET if original == 0 else SSTORE_RESET
            if original and not new:
                f.ctx.refund += clears_refund
        else:
            cost += WARM_ACCESS
            if original:
                if not current:
                    f.ctx.refund -= clears_refund
                elif not new:
                    f.ctx.refund += clears_refund
            if original == new:
                f.ctx.refund += SSTORE_SET - WARM_ACCESS if original == 0 else SSTORE_RESET - WARM_ACCESS
    charge(f, cost)
    if current != new:
        state.set_storage(address, key, new)


def sstore_net_metered(f, key, new, *, sload_gas, clears_refund, sentry):
    """EIP-1283 / EIP-2200 net gas metering (no access lists); ``sentry``: EIP-2200's 2300-gas floor."""
    if f.static:
        raise WriteInStaticContext()
    if sentry and f.gas <= SSTORE_SENTRY:
        raise OutOfGas()
    state = f.state
    address = f.address
    current = state.get_storage(address, key)
    if current == new:
        cost = sload_gas
    else:
        original = state.get_original_storage(address, key)
        if original == current:
            cost = SSTORE_SET if original == 0 else SSTORE_UPDATE
            if original and not new:
                f.ctx.refund += clears_refund
        else:
            cost = sload_gas
            if original:
                if not current:
                    f.ctx.refund -= clears_refund
                elif not new:
                    f.ctx.refund += clears_refund
            if original == new:
                f.ctx.refund += SSTORE_SET - sload_gas if original == 0 else SSTORE_UPDATE - sload_gas
    charge(f, cost)
    if current != new:
        state.set_storage(address, key, new)


def sstore_frontier(f, key, new, *, clears_refund):
    """Frontier..Petersburg SSTORE: priced on the current value only."""
    if f.static:
        raise WriteInStaticContext()
    current = f.state.get_storage(f.address, key)
    charge(f, SSTORE_SET if new and not current else SSTORE_UPDATE)
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
