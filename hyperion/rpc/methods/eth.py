"""eth_* methods: state queries, blocks, transactions, calls, logs, filters, fees."""

from __future__ import annotations

from typing import Any, Optional

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import ExecutionRevertedError, InvalidParams, RpcError, ServerError, decode_revert_reason
from hyperion.rpc.formatting import (
    d,
    format_block,
    format_fee_history,
    format_log,
    format_proof,
    format_receipt,
    format_transaction,
    q,
)
from hyperion.rpc.params import (
    Param,
    address,
    array,
    block_number_or_tag,
    block_overrides,
    block_spec,
    boolean,
    data,
    filter_criteria,
    hash32,
    obj,
    state_overrides,
    storage_slot,
    string,
    transaction_args,
    uint64,
    uint64_or_number,
)

LATEST = Param(block_spec, optional=True, default="latest")
PENDING = Param(block_spec, optional=True, default="pending")
MAX_PROOF_SLOTS = 1024
MAX_FEE_HISTORY_BLOCKS = 1024


# -- chain info -------------------------------------------------------------------------


@rpc_method("eth_chainId", blocking=False)
def chain_id(ctx) -> str:
    return q(ctx.chain.chain_id)


@rpc_method("eth_blockNumber", blocking=False)  # the published head: answered on the event loop
def block_number(ctx) -> str:
    return q(ctx.chain.head().header.number)


@rpc_method("eth_syncing", blocking=False)
def syncing(ctx) -> bool:
    return False


@rpc_method("eth_mining", blocking=False)
def mining(ctx) -> bool:
    return True


@rpc_method("eth_hashrate", blocking=False)
def hashrate(ctx) -> str:
    return "0x0"


@rpc_method("eth_coinbase")
def coinbase(ctx) -> str:
    return d(ctx.chain.head().header.coinbase)


@rpc_method("eth_accounts")
def accounts(ctx) -> list[str]:
    return [d(account) for account in ctx.chain.accounts()]


@rpc_method("eth_protocolVersion", blocking=False)
def protocol_version(ctx) -> str:
    return "0x44"


# -- state --------------------------------------------------------------------------------


def _state(ctx, spec: Any):
    """The state reader for a block spec; ``pending`` reads the pool's view."""
    if spec == "pending":
        return ctx.chain.state_at("pending")
    return ctx.chain.state_at(ctx.chain.resolve_block(spec))


def _read_state(ctx, spec: Any, read) -> Any:
    reader = _state(ctx, spec)
    try:
        return read(reader)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


@rpc_method("eth_getBalance", Param(address), LATEST)
def get_balance(ctx, account: bytes, spec: Any) -> str:
    return q(_read_state(ctx, spec, lambda state: state.get_balance(account)))


@rpc_method("eth_getTransactionCount", Param(address), LATEST)
def get_transaction_count(ctx, account: bytes, spec: Any) -> str:
    pending_nonce = getattr(ctx.chain, "pending_nonce", None)
    if spec == "pending" and pending_nonce is not None:
        return q(pending_nonce(account))  # counts the pool's executable transactions too
    return q(_read_state(ctx, spec, lambda state: state.get_nonce(account)))


@rpc_method("eth_getCode", Param(address), LATEST)
def get_code(ctx, account: bytes, spec: Any) -> str:
    return d(_read_state(ctx, spec, lambda state: state.get_code(account)))


@rpc_method("eth_getStorageAt", Param(address), Param(storage_slot), LATEST)
def get_storage_at(ctx, account: bytes, slot: int, spec: Any) -> str:
    value = _read_state(ctx, spec, lambda state: state.get_storage(account, slot))
    return "0x" + value.to_bytes(32, "big").hex()


def _slot_list(value: Any) -> list[tuple[int, bool]]:
    """``(slot, given as 32 bytes)`` per key: geth echoes a 32-byte key as such, any other as a quantity."""
    slots = array(value, "storage keys")
    if len(slots) > MAX_PROOF_SLOTS:
        raise InvalidParams(f"too many storage keys, at most {MAX_PROOF_SLOTS}")
    return [(storage_slot(slot, "storage key"), isinstance(slot, str) and len(slot) == 66) for slot in slots]


MAX_STORAGE_VALUES = 1024  # geth's maxGetStorageSlots
CLIENT_LIMIT_EXCEEDED = -38026  # geth's errCodeClientLimitExceeded


def _storage_requests(value: Any) -> dict[bytes, list[int]]:
    requests = obj(value, "storage requests")
    parsed, total = {}, 0
    for account, slots in requests.items():
        keys = array(slots, "storage keys")
        total += len(keys)
        if total > MAX_STORAGE_VALUES:
            raise RpcError(f"too many slots (max {MAX_STORAGE_VALUES})", CLIENT_LIMIT_EXCEEDED)
        parsed[address(account, "address")] = [storage_slot(key, "storage key") for key in keys]
    if total == 0:
        raise InvalidParams("empty request")
    return parsed


@rpc_method("eth_getStorageValues", Param(_storage_requests), LATEST)
def get_storage_values(ctx, requests: dict[bytes, list[int]], spec: Any) -> dict[str, list[str]]:
    """Many slots of many accounts at one block (geth): ``{address: [32-byte value per slot]}``."""
    def read(state) -> dict[str, list[str]]:
        return {d(account): ["0x" + state.get_storage(account, slot).to_bytes(32, "big").hex() for slot in slots]
                for account, slots in requests.items()}
    return _read_state(ctx, spec, read)


@rpc_method("eth_getProof", Param(address), Param(_slot_list), LATEST, heavy=True)
def get_proof(ctx, account: bytes, slots: list[tuple[int, bool]], spec: Any) -> dict:
    proof = format_proof(_read_state(ctx, spec, lambda state: state.account_proof(account, [s for s, _ in slots])))
    for entry, (slot, full) in zip(proof["storageProof"], slots):
        if not full:
            entry["key"] = q(slot)
    return proof


# -- blocks ---------------------------------------------------------------------------------


DEPOSIT_TX_TYPE = 0x7E


def _deposit_nonces(ctx, block) -> Optional[list]:
    """Per-transaction deposit nonces from the receipts, when the block holds deposits (rollup chains)."""
    if not any(tx.type == DEPOSIT_TX_TYPE for tx in block.transactions):
        return None
    return [receipt.deposit_nonce for receipt in ctx.chain.receipts(block)]


def _format_block(ctx, block, full: bool) -> Optional[dict]:
    if block is None:
        return None
    return format_block(block, full, _deposit_nonces(ctx, block) if full else None)


@rpc_method("eth_getBlockByNumber", Param(block_number_or_tag), Param(boolean, optional=True, default=False))
def get_block_by_number(ctx, spec: Any, full: bool) -> Optional[dict]:
    return _format_block(ctx, ctx.block_or_none(spec), full)


@rpc_method("eth_getBlockByHash", Param(hash32), Param(boolean, optional=True, default=False))
def get_block_by_hash(ctx, block_hash: bytes, full: bool) -> Optional[dict]:
    return _format_block(ctx, ctx.chain.block_by_hash(block_hash), full)


@rpc_method("eth_getBlockTransactionCountByNumber", Param(block_number_or_tag))
def block_tx_count_by_number(ctx, spec: Any) -> Optional[str]:
    block = ctx.block_or_none(spec)
    return None if block is None else q(len(block.transactions))


@rpc_method("eth_getBlockTransactionCountByHash", Param(hash32))
def block_tx_count_by_hash(ctx, block_hash: bytes) -> Optional[str]:
    block = ctx.chain.block_by_hash(block_hash)
    return None if block is None else q(len(block.transactions))


@rpc_method("eth_getUncleCountByBlockNumber", Param(block_number_or_tag))
def uncle_count_by_number(ctx, spec: Any) -> Optional[str]:
    return None if ctx.block_or_none(spec) is None else "0x0"


@rpc_method("eth_getUncleCountByBlockHash", Param(hash32))
def uncle_count_by_hash(ctx, block_hash: bytes) -> Optional[str]:
    return None if ctx.chain.block_by_hash(block_hash) is None else "0x0"


@rpc_method("eth_getUncleByBlockNumberAndIndex", Param(block_number_or_tag), Param(uint64))
def uncle_by_number(ctx, spec: Any, index: int) -> None:
    return None


@rpc_method("eth_getUncleByBlockHashAndIndex", Param(hash32), Param(uint64))
def uncle_by_hash(ctx, block_hash: bytes, index: int) -> None:
    return None


# -- transactions and receipts ------------------------------------------------------------------


def _tx_in_block(ctx, block, index: int) -> Optional[dict]:
    if block is None or index >= len(block.transactions):
        return None
    header = block.header
    tx = block.transactions[index]
    deposit_nonce = None
    if tx.type == DEPOSIT_TX_TYPE:
        deposit_nonce = ctx.chain.receipts(block)[index].deposit_nonce
    return format_transaction(tx, block.hash, header.number, index, header.base_fee, header.timestamp, deposit_nonce)


@rpc_method("eth_getTransactionByHash", Param(hash32))
def get_transaction_by_hash(ctx, tx_hash: bytes) -> Optional[dict]:
    found = ctx.chain.transaction(tx_hash)
    if found is None:
        return None
    tx, block, index = found
    if block is None:
        return format_transaction(tx)
    return _tx_in_block(ctx, block, index)


@rpc_method("eth_getRawTransactionByHash", Param(hash32))
def get_raw_transaction_by_hash(ctx, tx_hash: bytes) -> Optional[str]:
    found = ctx.chain.transaction(tx_hash)
    return None if found is None else d(found[0].encode())


@rpc_method("eth_getTransactionByBlockNumberAndIndex", Param(block_number_or_tag), Param(uint64))
def get_tx_by_number_and_index(ctx, spec: Any, index: int) -> Optional[dict]:
    return _tx_in_block(ctx, ctx.block_or_none(spec), index)


@rpc_method("eth_getTransactionByBlockHashAndIndex", Param(hash32), Param(uint64))
def get_tx_by_hash_and_index(ctx, block_hash: bytes, index: int) -> Optional[dict]:
    return _tx_in_block(ctx, ctx.chain.block_by_hash(block_hash), index)


def _block_timestamp(ctx, block_hash: bytes) -> Optional[int]:
    block = ctx.chain.block_by_hash(block_hash)
    return None if block is None else block.header.timestamp


@rpc_method("eth_getTransactionReceipt", Param(hash32))
def get_transaction_receipt(ctx, tx_hash: bytes) -> Optional[dict]:
    receipt = ctx.chain.receipt(tx_hash)
    if receipt is None:
        return None
    return format_receipt(receipt, _block_timestamp(ctx, receipt.block_hash))


@rpc_method("eth_getBlockReceipts", Param(block_spec))
def get_block_receipts(ctx, spec: Any) -> Optional[list[dict]]:
    block = ctx.block_or_none(spec)
    if block is None:
        return None
    timestamp = block.header.timestamp
    return [format_receipt(receipt, timestamp) for receipt in ctx.chain.receipts(block)]


@rpc_method("eth_sendRawTransaction", Param(data))
def send_raw_transaction(ctx, raw: bytes) -> str:
    if not raw:
        raise InvalidParams("invalid argument 0: empty transaction")
    return d(ctx.chain.send_raw_transaction(raw))


@rpc_method("eth_sendTransaction", Param(transaction_args))
def send_transaction(ctx, args: dict) -> str:
    if "from" not in args:
        raise InvalidParams("missing 'from' in transaction")
    return d(ctx.chain.send_transaction(args))


# -- execution ---------------------------------------------------------------------------------


def _raise_for_failed_call(result) -> None:
    if result.success:
        return
    if result.revert_data is not None:
        raise ExecutionRevertedError(result.revert_data, decode_revert_reason(result.revert_data))
    raise ServerError(result.error or "execution failed")


@rpc_method("eth_call", Param(transaction_args), LATEST, Param(state_overrides, optional=True),
            Param(block_overrides, optional=True), execution=True)
def call(ctx, args: dict, spec: Any, overrides: Optional[dict], block: Optional[dict]) -> str:
    result = ctx.chain.call(args, spec, overrides, block)
    _raise_for_failed_call(result)
    return d(result.output)


@rpc_method("eth_estimateGas", Param(transaction_args), PENDING, Param(state_overrides, optional=True),
            execution=True)
def estimate_gas(ctx, args: dict, spec: Any, overrides: Optional[dict]) -> str:
    return q(ctx.chain.estimate_gas(args, spec, overrides))


@rpc_method("eth_createAccessList", Param(transaction_args), PENDING, execution=True)
def create_access_list(ctx, args: dict, spec: Any) -> dict:
    entries, gas_used = ctx.chain.create_access_list(args, spec)[:2]
    formatted = []
    for entry in entries:
        addr, slots = (entry["address"], entry["storageKeys"]) if isinstance(entry, dict) else entry
        formatted.append({"address": d(addr), "storageKeys": [_slot_hex(slot) for slot in slots]})
    return {"accessList": formatted, "gasUsed": q(gas_used)}


def _slot_hex(slot: Any) -> str:
    if isinstance(slot, int):
        return "0x" + slot.to_bytes(32, "big").hex()
    return d(bytes(slot))


# -- fees ------------------------------------------------------------------------------------------


@rpc_method("eth_gasPrice")
def gas_price(ctx) -> str:
    return q(ctx.chain.gas_price())


@rpc_method("eth_maxPriorityFeePerGas")
def max_priority_fee(ctx) -> str:
    return q(ctx.chain.max_priority_fee())


def _percentiles(value: Any) -> list[float]:
    items = array(value, "reward percentiles")
    if len(items) > 100:
        raise InvalidParams("too many reward percentiles, at most 100")
    previous = -1.0
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 100:
            raise InvalidParams(f"invalid reward percentile: {item!r}")
        if item < previous:
            raise InvalidParams(f"invalid reward percentile: #{item} < #{previous}")
        previous = item
    return [float(item) for item in items]


@rpc_method("eth_feeHistory", Param(uint64_or_number), Param(block_number_or_tag),
            Param(_percentiles, optional=True), heavy=True)
def fee_history(ctx, block_count: int, newest: Any, percentiles: Optional[list[float]]) -> dict:
    block_count = min(block_count, MAX_FEE_HISTORY_BLOCKS)
    return format_fee_history(ctx.chain.fee_history(block_count, newest, percentiles))


@rpc_method("eth_baseFee")
def base_fee(ctx) -> str:
    """The base fee of the next block (geth's eth_baseFee)."""
    return q(ctx.chain.next_base_fee())


@rpc_method("eth_blobBaseFee")
def blob_base_fee(ctx) -> str:
    history = ctx.chain.fee_history(1, "latest", None)
    fees = history.get("base_fee_per_blob_gas") or [1]
    return q(fees[-1])


# -- logs and filters -----------------------------------------------------------------------------


def _block_bound(ctx, bound: Any, head: int) -> int:
    if bound is None or bound in ("latest", "pending"):
        return head
    if bound == "earliest":
        return 0
    if isinstance(bound, int):
        return bound
    return ctx.chain.resolve_block(bound).header.number


def query_logs(ctx, criteria: dict) -> list:
    """Logs matching parsed filter criteria (shared by eth_getLogs and log filters)."""
    chain = ctx.chain
    if criteria["block_hash"] is not None:
        block = chain.block_by_hash(criteria["block_hash"])
        if block is None:
            raise ServerError("unknown block")
        number = block.header.number
        return chain.get_logs(number, number, criteria["addresses"], criteria["topics"],
                              block_hash=criteria["block_hash"])
    head = chain.head().header.number
    first = _block_bound(ctx, criteria["from_block"], head)
    last = _block_bound(ctx, criteria["to_block"], head)
    if first > last:
        raise InvalidParams("invalid block range params")
    if last > head:
        raise InvalidParams("block range extends beyond current head block")
    return chain.get_logs(first, last, criteria["addresses"], criteria["topics"])


def format_logs(ctx, logs: list) -> list[dict]:
    timestamps: dict[bytes, Optional[int]] = {}
    result = []
    for log in logs:
        if log.block_hash not in timestamps:
            timestamps[log.block_hash] = _block_timestamp(ctx, log.block_hash)
        result.append(format_log(log, timestamps[log.block_hash]))
    return result


@rpc_method("eth_getLogs", Param(filter_criteria), heavy=True)
def get_logs(ctx, criteria: dict) -> list[dict]:
    return format_logs(ctx, query_logs(ctx, criteria))


@rpc_method("eth_newFilter", Param(filter_criteria))
def new_filter(ctx, criteria: dict) -> str:
    return ctx.filters.new_log_filter(criteria)


@rpc_method("eth_newBlockFilter")
def new_block_filter(ctx) -> str:
    return ctx.filters.new_block_filter()


@rpc_method("eth_newPendingTransactionFilter", Param(boolean, optional=True, default=False))
def new_pending_transaction_filter(ctx, full: bool) -> str:
    return ctx.filters.new_pending_filter()


def _filter_id(value: Any) -> str:
    return string(value, "filter id").lower()


@rpc_method("eth_getFilterChanges", Param(_filter_id), heavy=True)
def get_filter_changes(ctx, filter_id: str) -> list:
    return ctx.filters.changes(filter_id)


@rpc_method("eth_getFilterLogs", Param(_filter_id), heavy=True)
def get_filter_logs(ctx, filter_id: str) -> list:
    return ctx.filters.all_logs(filter_id)


@rpc_method("eth_uninstallFilter", Param(_filter_id))
def uninstall_filter(ctx, filter_id: str) -> bool:
    return ctx.filters.uninstall(filter_id)


# -- subscriptions (WebSocket only) -------------------------------------------------------------


def _subscription_kind(value: Any) -> str:
    return string(value, "subscription name")


@rpc_method("eth_subscribe", Param(_subscription_kind), Param(lambda v: v, optional=True),
            blocking=False, session=True)
def subscribe(ctx, kind: str, options: Any, session=None) -> str:
    return ctx.subscriptions.subscribe(session, kind, options)


@rpc_method("eth_unsubscribe", Param(lambda v: string(v, "subscription id")), blocking=False, session=True)
def unsubscribe(ctx, subscription_id: str, session=None) -> bool:
    return ctx.subscriptions.unsubscribe(session, subscription_id)
