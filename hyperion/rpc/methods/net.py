"""net_* methods: a dev node has no peers and is always listening."""

from __future__ import annotations

from hyperion.rpc.dispatch import rpc_method


@rpc_method("net_version", blocking=False)
def version(ctx) -> str:
    return str(ctx.chain.chain_id)


@rpc_method("net_listening", blocking=False)
def listening(ctx) -> bool:
    return True


@rpc_method("net_peerCount", blocking=False)
def peer_count(ctx) -> str:
    return "0x0"
