"""Charging dynamic gas: what instructions call when a cost is known only at run time."""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas
from hyperion.vm.gas import COLD_ACCOUNT_ACCESS, WARM_ACCESS


def charge(f, cost: int) -> None:
    """Take ``cost`` from the frame's gas, or halt out of gas."""
    gas = f.gas - cost
    if gas < 0:
        raise OutOfGas()
    f.gas = gas


def charge_access(f, address: bytes) -> None:
    """EIP-2929 account access: cold 2600, warm 100."""
    gas = f.gas - (COLD_ACCOUNT_ACCESS if f.state.warm_address(address) else WARM_ACCESS)
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
