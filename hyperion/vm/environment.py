"""The block context a transaction executes in (read by the block opcodes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from hyperion.vm.forks import Fork
from hyperion.vm.gas import blob_base_fee


def _no_block_hashes(number: int) -> Optional[bytes]:
    return None


@dataclass
class BlockEnv:
    """What the EVM's block opcodes read (COINBASE, NUMBER, TIMESTAMP, ...).

    ``block_hash(n)`` returns the hash of an ancestor block or None when it
    is unknown; BLOCKHASH then yields zero.
    """

    fork: Fork
    chain_id: int = 1
    coinbase: bytes = b"\x00" * 20
    number: int = 0
    timestamp: int = 0
    gas_limit: int = 30_000_000
    base_fee: int = 0
    prev_randao: bytes = b"\x00" * 32
    difficulty: int = 0
    excess_blob_gas: int = 0
    parent_beacon_block_root: Optional[bytes] = None
    block_hash: Callable[[int], Optional[bytes]] = field(default=_no_block_hashes)
    # address -> precompile where they differ from the fork's (eth_simulateV1 moves and overrides them)
    precompiles: Optional[dict] = None
    blob_base_fee: Optional[int] = None  # the blob gas price when given (eth_simulateV1's blobBaseFee override)

    def blob_gas_price(self) -> int:
        """EIP-4844's blob base fee: from the excess blob gas, unless the block overrides it."""
        if self.blob_base_fee is not None:
            return self.blob_base_fee
        return blob_base_fee(self.excess_blob_gas, self.fork.blob_base_fee_update_fraction)
