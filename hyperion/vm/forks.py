"""Forks as data.

A ``Fork`` says which features are active (opcodes, gas rules, precompiles,
transaction types). The interpreter builds one dispatch table per fork from
these flags once; nothing in the hot path asks "which fork is this?".
Only post-merge forks are supported: Shanghai, Cancun and Prague.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class UnknownFork(ValueError):
    """Raised for a fork name MetisVM does not implement."""


@dataclass(frozen=True)
class Fork:
    name: str
    order: int
    # Shanghai
    has_push0: bool = True  # EIP-3855
    has_initcode_limit: bool = True  # EIP-3860
    has_warm_coinbase: bool = True  # EIP-3651
    # Cancun
    has_transient_storage: bool = False  # EIP-1153
    has_mcopy: bool = False  # EIP-5656
    has_blobs: bool = False  # EIP-4844 (type-3 txs, BLOBHASH, point evaluation)
    has_blob_base_fee_opcode: bool = False  # EIP-7516
    has_selfdestruct_same_tx_only: bool = False  # EIP-6780
    has_beacon_root: bool = False  # EIP-4788
    # Prague
    has_set_code: bool = False  # EIP-7702
    has_calldata_floor: bool = False  # EIP-7623
    has_bls_precompiles: bool = False  # EIP-2537
    has_history_storage: bool = False  # EIP-2935
    # blob parameters (EIP-4844 / EIP-7691)
    target_blob_gas_per_block: int = 0
    max_blob_gas_per_block: int = 0
    blob_base_fee_update_fraction: int = 1
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __ge__(self, other: "Fork") -> bool:
        return self.order >= other.order

    def __gt__(self, other: "Fork") -> bool:
        return self.order > other.order

    def __le__(self, other: "Fork") -> bool:
        return self.order <= other.order

    def __lt__(self, other: "Fork") -> bool:
        return self.order < other.order

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Fork({self.name})"


GAS_PER_BLOB = 2**17

SHANGHAI = Fork(name="Shanghai", order=0)

CANCUN = Fork(
    name="Cancun",
    order=1,
    has_transient_storage=True,
    has_mcopy=True,
    has_blobs=True,
    has_blob_base_fee_opcode=True,
    has_selfdestruct_same_tx_only=True,
    has_beacon_root=True,
    target_blob_gas_per_block=3 * GAS_PER_BLOB,
    max_blob_gas_per_block=6 * GAS_PER_BLOB,
    blob_base_fee_update_fraction=3338477,
)

PRAGUE = Fork(
    name="Prague",
    order=2,
    has_transient_storage=True,
    has_mcopy=True,
    has_blobs=True,
    has_blob_base_fee_opcode=True,
    has_selfdestruct_same_tx_only=True,
    has_beacon_root=True,
    has_set_code=True,
    has_calldata_floor=True,
    has_bls_precompiles=True,
    has_history_storage=True,
    target_blob_gas_per_block=6 * GAS_PER_BLOB,
    max_blob_gas_per_block=9 * GAS_PER_BLOB,
    blob_base_fee_update_fraction=5007716,
)

FORKS: dict[str, Fork] = {f.name: f for f in (SHANGHAI, CANCUN, PRAGUE)}
LATEST = PRAGUE


def get_fork(name: str) -> Fork:
    """Look a fork up by its fixture name (case-insensitive)."""
    for fork_name, fork in FORKS.items():
        if fork_name.lower() == str(name).lower():
            return fork
    raise UnknownFork(f"unknown or unsupported fork {name!r} (supported: {', '.join(FORKS)})")
