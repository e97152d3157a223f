"""testing_buildBlockV1 (execution-apis ``testing`` namespace): build a block, change nothing.

The block is built on a throw-away state of the parent (a canonical block)
with the payload attributes given: timestamp, prevRandao, fee recipient,
withdrawals and parent beacon root; ``transactions`` is every one of the
raw transactions in order (the first that cannot be included fails the
call, -32000 with geth's reason), ``[]`` an empty block, or ``null`` what the
pool holds (in nonce order per sender, those that do not fit skipped). The
gas limit moves toward the builder's target by at most parent/1024 - 1, as
a proposer's would: the node's ``--gas-limit`` on a dev chain, geth's
default 60M on a chain from a genesis file. The answer is an
``engine_getPayloadV4``-style envelope: the payload, the block value (the
tips the fee recipient earns), an empty blobs bundle (the pool keeps no
blob sidecars) and the EIP-7685 requests.
"""

from __future__ import annotations

from typing import Any, Optional

from hyperion.chain.blocks import ZERO_HASH
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.calls import state_reader
from hyperion.chain.consensus import GAS_LIMIT_BOUND_DIVISOR, MIN_GAS_LIMIT, block_rules
from hyperion.chain.errors import ChainError
from hyperion.chain.simulate import parse_withdrawals
from hyperion.execution.transaction import InvalidTransaction
from hyperion.primitives.transactions import decode_transaction
from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import InvalidParams, ServerError
from hyperion.rpc.formatting import d, q
from hyperion.rpc.methods.simulate import withdrawal
from hyperion.rpc.params import Param, address, array, data, hash32, obj, uint64

DEFAULT_TARGET_GAS_LIMIT = 60_000_000  # geth's --miner.gaslimit default
MAX_TRANSACTIONS = 10_000


def target_gas_limit(parent_gas_limit: int, desired: int) -> int:
    """A child's gas limit: toward ``desired`` by at most parent/1024 - 1 (geth's CalcGasLimit)."""
    delta = parent_gas_limit // GAS_LIMIT_BOUND_DIVISOR - 1
    desired = max(desired, MIN_GAS_LIMIT)
    if parent_gas_limit < desired:
        return min(parent_gas_limit + delta, desired)
    if parent_gas_limit > desired:
        return max(parent_gas_limit - delta, desired)
    return parent_gas_limit


def payload_attributes(value: Any, what: str = "payload attributes") -> dict:
    fields = obj(value, what)
    unknown = set(fields) - {"timestamp", "prevRandao", "suggestedFeeRecipient", "withdrawals",
                             "parentBeaconBlockRoot"}
    if unknown:
        raise InvalidParams(f"{what}: unknown field {sorted(unknown)[0]!r}")
    return {
        "timestamp": uint64(fields.get("timestamp"), "timestamp"),
        "prevRandao": hash32(fields.get("prevRandao"), "prevRandao"),
        "feeRecipient": address(fields.get("suggestedFeeRecipient"), "suggestedFeeRecipient"),
        "withdrawals": parse_withdrawals([withdrawal(item, f"withdrawals[{i}]") for i, item in
                                          enumerate(array(fields.get("withdrawals") or [], "withdrawals"))]),
        "beaconRoot": None if fields.get("parentBeaconBlockRoot") is None else hash32(
            fields["parentBeaconBlockRoot"], "parentBeaconBlockRoot"),
    }


def raw_transactions(value: Any, what: str = "transactions") -> Optional[list[bytes]]:
    if value is None:
        return None
    items = array(value, what)
    if len(items) > MAX_TRANSACTIONS:
        raise InvalidParams(f"too many transactions, at most {MAX_TRANSACTIONS}")
    return [data(item, f"{what}[{i}]") for i, item in enumerate(items)]


def _pool_transactions(chain) -> list:
    pending = chain.txpool_content()["pending"]
    return [tx for sender in pending for _, tx in sorted(pending[sender].items())]


@rpc_method("testing_buildBlockV1", Param(hash32), Param(payload_attributes),
            Param(raw_transactions, optional=True, default=None),  # null: from the pool
            Param(lambda value, what="extraData": None if value is None else data(value, what), optional=True),
            execution=True)
def build_block_v1(ctx, parent_hash: bytes, attributes: dict, raws: Optional[list[bytes]],
                   extra_data: Optional[bytes]) -> dict:
    chain = ctx.chain
    parent = chain.block_by_hash(parent_hash)
    if parent is None:
        raise ServerError(f"unknown parent block 0x{parent_hash.hex()}")
    if attributes["timestamp"] <= parent.header.timestamp:
        raise InvalidParams(f"invalid timestamp: {attributes['timestamp']} is not after the parent's "
                            f"{parent.header.timestamp}")
    merged = chain.block_rules(parent.header).merged or parent.header.difficulty == 0
    rules = block_rules(chain.spec.schedule, parent.number + 1, attributes["timestamp"], merged)
    if not rules.merged:
        raise ServerError("the block would be a proof-of-work block")
    desired = DEFAULT_TARGET_GAS_LIMIT if chain.config.genesis is not None else chain.config.gas_limit
    transactions = []
    if raws is not None:
        for index, raw in enumerate(raws):
            try:
                transactions.append(decode_transaction(raw))
            except ValueError as exc:
                raise InvalidParams(f"invalid transaction {index}: {exc}") from None
    reader = state_reader(chain, parent.number)
    try:
        state = reader.pending()

        def block_hash(number: int) -> Optional[bytes]:
            block = chain.block_by_number(number) if number <= parent.number else None
            return None if block is None else block.hash

        builder = BlockBuilder(
            state, parent.header, rules=rules, chain_id=chain.chain_id, timestamp=attributes["timestamp"],
            coinbase=attributes["feeRecipient"], gas_limit=target_gas_limit(parent.header.gas_limit, desired),
            extra_data=extra_data or b"", block_hash=block_hash, beacon_root=attributes["beaconRoot"] or ZERO_HASH,
            prev_randao=attributes["prevRandao"], base_fee_recipient=chain.spec.base_fee_recipient,
            deposit_contract=chain.spec.deposit_contract)
        if raws is not None:
            for tx in transactions:
                try:
                    builder.add(tx)
                except InvalidTransaction as exc:
                    raise ServerError(str(exc)) from None
        else:
            for tx in _pool_transactions(chain):
                if tx.gas <= builder.gas_remaining:
                    try:
                        builder.add(tx)
                    except InvalidTransaction:
                        continue
        block = builder.finish(attributes["withdrawals"])
        requests = builder.requests
    except ChainError as exc:
        raise ServerError(str(exc)) from None
    finally:
        reader.close()
    return _envelope(block, builder, requests)


def _envelope(block, builder: BlockBuilder, requests: Optional[list[bytes]]) -> dict:
    header = block.header
    base_fee = header.base_fee or 0
    value = sum(record.gas_used * (record.effective_gas_price - base_fee) for record in builder.records)
    payload = {
        "parentHash": d(header.parent_hash), "feeRecipient": d(header.coinbase), "stateRoot": d(header.state_root),
        "receiptsRoot": d(header.receipts_root), "logsBloom": d(bytes(header.logs_bloom)),
        "prevRandao": d(header.prev_randao), "blockNumber": q(header.number), "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used), "timestamp": q(header.timestamp), "extraData": d(header.extra_data),
        "baseFeePerGas": q(base_fee), "blockHash": d(block.hash),
        "transactions": [d(tx.encode()) for tx in block.transactions],
    }
    if header.withdrawals_root is not None:
        payload["withdrawals"] = [{"index": q(w.index), "validatorIndex": q(w.validator_index),
                                   "address": d(w.address), "amount": q(w.amount)} for w in block.withdrawals]
    if header.blob_gas_used is not None:
        payload["blobGasUsed"] = q(header.blob_gas_used)
        payload["excessBlobGas"] = q(header.excess_blob_gas)
    result = {"executionPayload": payload, "blockValue": q(value),
              "blobsBundle": {"commitments": [], "proofs": [], "blobs": []}, "shouldOverrideBuilder": False}
    if requests is not None:
        result["executionRequests"] = [d(request) for request in requests if len(request) > 1]
    return result
