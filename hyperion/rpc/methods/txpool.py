"""txpool_* methods (geth's shapes: sender -> nonce -> transaction)."""

from __future__ import annotations

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.formatting import d, format_transaction, q
from hyperion.rpc.params import Param, address


def _format_section(section: dict) -> dict:
    return {d(sender) if isinstance(sender, bytes) else sender:
            {str(nonce): format_transaction(tx) for nonce, tx in by_nonce.items()}
            for sender, by_nonce in section.items()}


@rpc_method("txpool_status")
def status(ctx) -> dict:
    counts = ctx.chain.txpool_status()
    return {"pending": q(counts["pending"]), "queued": q(counts["queued"])}


@rpc_method("txpool_content")
def content(ctx) -> dict:
    pool = ctx.chain.txpool_content()
    return {"pending": _format_section(pool.get("pending", {})),
            "queued": _format_section(pool.get("queued", {}))}


@rpc_method("txpool_contentFrom", Param(address))
def content_from(ctx, sender: bytes) -> dict:
    """One sender's part of txpool_content: ``{"pending": {nonce: tx}, "queued": {...}}``."""
    pool = ctx.chain.txpool_content()
    result = {}
    for name in ("pending", "queued"):
        section = pool.get(name, {})
        by_nonce = section.get(sender, {})
        result[name] = {str(nonce): format_transaction(tx) for nonce, tx in by_nonce.items()}
    return result


def _summary(tx) -> str:
    target = d(tx.to) if tx.to is not None else "contract creation"
    return f"{target}: {tx.value} wei + {tx.gas} gas × {tx.max_fee_per_gas} wei"


@rpc_method("txpool_inspect")
def inspect(ctx) -> dict:
    pool = ctx.chain.txpool_content()
    return {name: {d(sender) if isinstance(sender, bytes) else sender:
                   {str(nonce): _summary(tx) for nonce, tx in by_nonce.items()}
                   for sender, by_nonce in pool.get(name, {}).items()}
            for name in ("pending", "queued")}
