"""geth's raw getters: a transaction's and a block's receipts' consensus encodings.

(``debug_getRawBlock`` and ``debug_getRawHeader`` live in ``debug.py``.)
"""

from __future__ import annotations

from typing import Any, Optional

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.formatting import d
from hyperion.rpc.params import Param, block_spec, hash32


@rpc_method("debug_getRawTransaction", Param(hash32))
def get_raw_transaction(ctx, tx_hash: bytes) -> Optional[str]:
    """The transaction's network encoding (typed envelope or legacy RLP); null when unknown."""
    found = ctx.chain.transaction(tx_hash)
    return None if found is None else d(found[0].encode())


@rpc_method("debug_getRawReceipts", Param(block_spec))
def get_raw_receipts(ctx, spec: Any) -> Optional[list[str]]:
    """Each receipt of the block as the receipts trie holds it (EIP-2718 envelope for typed ones)."""
    block = ctx.block_or_none(spec)
    if block is None:
        return None
    records = ctx.chain.store.receipt_records(block.number)
    return [d(record.consensus_receipt().encode()) for record in records]
