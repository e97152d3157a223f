"""Engine-neutral description of a benchmark workload.

A workload is a pre-state, one block context and an ordered batch of
signed transactions applied one after another to that state. Every engine
adapter receives exactly this, so the engines execute identical work and
their gas totals must agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class WorkloadError(ValueError):
    """A benchmark file or artifact is malformed or cannot be turned into a workload."""


@dataclass(frozen=True)
class AccountSpec:
    nonce: int = 0
    balance: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockSpec:
    """Block context; post-merge, so DIFFICULTY is 0 and PREVRANDAO is ``prev_randao``."""

    coinbase: bytes
    number: int
    timestamp: int
    gas_limit: int
    base_fee: int
    prev_randao: bytes
    chain_id: int = 1


@dataclass(frozen=True)
class TxSpec:
    """A signed legacy transaction, both as fields and as its raw RLP bytes.

    Engines that verify signatures (MetisVM, py-evm) decode ``raw``; engines
    that take the caller directly (pyrevm) use the fields.
    """

    sender: bytes
    to: bytes | None
    data: bytes
    value: int
    gas_limit: int
    gas_price: int
    nonce: int
    raw: bytes


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    pre: dict[bytes, AccountSpec]
    block: BlockSpec
    transactions: tuple[TxSpec, ...]
