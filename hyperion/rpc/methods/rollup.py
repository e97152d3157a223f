"""optimism_* methods of a rollup node (the names op-node serves, so OP tooling can read them).

- ``optimism_syncStatus``: the node's unsafe, safe and finalized L2 heads
  and the L1 blocks derivation has read;
- ``optimism_outputAtBlock``: the output root of an L2 block with its parts
  (what the proposer posts and the challenger checks);
- ``optimism_rollupConfig``: the rollup configuration the node runs;
- ``hyperion_getSignedBlock(block)``: a block's RLP with the sequencer's
  signature over it (staked sequencer set; ``null`` when the node holds none).

On a plain dev node (no rollup) they answer "method not available".
"""

from __future__ import annotations

from typing import Any

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import MethodNotFound
from hyperion.rpc.formatting import d, q
from hyperion.rpc.params import Param, block_number_or_tag, block_spec


def _rollup_chain(ctx, method: str) -> Any:
    chain = ctx.chain
    if getattr(chain, "rollup", None) is None:  # a dev node, not a rollup node
        raise MethodNotFound(method)
    return chain


def _l2_ref(chain, number: int) -> dict:
    block = chain.block_by_number(number)
    ref = chain.ref_of(block)
    return {"hash": d(block.hash), "number": number, "parentHash": d(block.header.parent_hash),
            "timestamp": block.header.timestamp,
            "l1origin": {"hash": d(ref.origin.hash), "number": ref.origin.number},
            "sequenceNumber": ref.origin.sequence_number}


@rpc_method("optimism_syncStatus")
def sync_status(ctx) -> dict:
    chain = _rollup_chain(ctx, "optimism_syncStatus")
    status = chain.rollup_status() if chain.rollup_status is not None else {}
    result = {
        "unsafe_l2": _l2_ref(chain, chain.head().number),
        "safe_l2": _l2_ref(chain, chain.safe_number),
        "finalized_l2": _l2_ref(chain, chain.finalized_number),
    }
    if "current_l1" in status:
        result["current_l1"] = {"number": status["current_l1"], "hash": d(status["current_l1_hash"])}
        result["head_l1"] = {"number": status.get("head_l1")}
        result["finalized_l1"] = {"number": status.get("finalized_l1")}
    result["hyperion"] = {k: v for k, v in status.items() if k not in ("current_l1_hash",)}
    return result


@rpc_method("optimism_outputAtBlock", Param(block_number_or_tag))
def output_at_block(ctx, spec: Any) -> dict:
    chain = _rollup_chain(ctx, "optimism_outputAtBlock")
    block = chain.resolve_block(spec)
    from hyperion.rollup.deposits import MESSAGE_PASSER_ADDRESS
    from hyperion.rollup.outputs import OUTPUT_VERSION, output_root

    reader = chain.state_at(block)
    try:
        storage_root = reader.storage_root(MESSAGE_PASSER_ADDRESS)
    finally:
        reader.close()
    return {"version": d(OUTPUT_VERSION), "outputRoot": d(output_root(block.header.state_root, storage_root,
                                                                           block.hash)),
            "blockRef": _l2_ref(chain, block.number), "withdrawalStorageRoot": d(storage_root),
            "stateRoot": d(block.header.state_root), "blockNumber": q(block.number)}


@rpc_method("optimism_rollupConfig", blocking=False)
def rollup_config(ctx) -> dict:
    return _rollup_chain(ctx, "optimism_rollupConfig").rollup.to_dict()


@rpc_method("hyperion_getSignedBlock", Param(block_spec))
def get_signed_block(ctx, spec: Any) -> Any:
    """``{number, hash, block (RLP), signature}`` of a block (by number, tag or hash); null if unknown.

    The signature (65 bytes, r ‖ s ‖ v, over the EIP-712 ``SignedL2Block``
    digest of SequencerStaking) is the one the sequencer made when it built
    the block, kept by the node that built or imported it.
    """
    chain = _rollup_chain(ctx, "hyperion_getSignedBlock")
    block = ctx.block_or_none(spec)
    if block is None:
        return None
    signature = chain.signature(block.hash)
    return {"number": q(block.number), "hash": d(block.hash), "block": d(block.encode()),
            "signature": None if signature is None else d(signature)}
