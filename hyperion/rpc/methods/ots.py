"""Otterscan's ``ots_`` namespace (API level 8), so Otterscan can browse a Hyperion node.

Shapes follow Otterscan's docs (docs/custom-jsonrpc.md of otterscan) and
Erigon, its reference node. Traces come from the node's own callTracer
replay; address history comes from the address index kept with each block
(``hyperion.chain.addressindex``), so a search reads a key range instead of
replaying blocks.
"""

from __future__ import annotations

from typing import Any, Optional

from hyperion.chain.addressindex import AddressIndex
from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import InvalidParams, RpcError
from hyperion.rpc.formatting import d, format_block, format_receipt, format_transaction, q
from hyperion.rpc.params import BLOCK_TAGS, Param, address, hash32, quantity, uint64_or_number

API_LEVEL = 8
MAX_PAGE_SIZE = 1000   # one page may still exceed it: the last block found is always returned whole
_STATIC_KINDS = ("STATICCALL", "DELEGATECALL", "CALLCODE")
_OPERATION_KINDS = {"CREATE": 2, "CREATE2": 3, "SELFDESTRUCT": 1}


class _NotFound(RpcError):
    code = -32000


def _number(value: Any, what: str = "block number") -> int:
    """Otterscan sends JSON numbers; hex quantities are accepted too."""
    return uint64_or_number(value, what)


def block_number_or_tag(value: Any, what: str = "block number") -> int | str:
    if isinstance(value, str) and value in BLOCK_TAGS:
        return value
    return _number(value, what)


def _page_size(value: Any, what: str = "page size") -> int:
    size = _number(value, what)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidParams(f"{what} must be 1..{MAX_PAGE_SIZE}, got {size}")
    return size


def _call_tree(ctx, tx_hash: bytes) -> dict:
    if ctx.chain.receipt(tx_hash) is None:
        raise _NotFound(f"transaction 0x{tx_hash.hex()} not found")
    return ctx.chain.trace_transaction(tx_hash, "callTracer", {})


def _frames(frame: dict, depth: int = 0):
    yield depth, frame
    for child in frame.get("calls") or ():
        yield from _frames(child, depth + 1)


@rpc_method("ots_getApiLevel", blocking=False)
def get_api_level(ctx) -> int:
    return API_LEVEL


@rpc_method("ots_hasCode", Param(address), Param(block_number_or_tag, optional=True, default="latest"))
def has_code(ctx, account: bytes, spec: Any) -> bool:
    reader = ctx.chain.state_at(spec)
    try:
        return bool(reader.get_code(account))
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


@rpc_method("ots_getInternalOperations", Param(hash32), execution=True)
def get_internal_operations(ctx, tx_hash: bytes) -> list[dict]:
    """ETH moved, contracts created and self-destructs below the top call, in execution order."""
    operations = []
    for depth, frame in _frames(_call_tree(ctx, tx_hash)):
        if depth == 0 or frame.get("error"):
            continue
        kind = frame.get("type")
        value = int(frame.get("value") or "0x0", 16)
        if kind in _OPERATION_KINDS:
            op_type = _OPERATION_KINDS[kind]
        elif kind == "CALL" and value:
            op_type = 0
        else:
            continue
        operations.append({"type": op_type, "from": frame["from"], "to": frame.get("to"), "value": q(value)})
    return operations


@rpc_method("ots_traceTransaction", Param(hash32), execution=True)
def trace_transaction(ctx, tx_hash: bytes) -> list[dict]:
    """Every call frame, flattened depth-first, with its depth (Erigon's shape)."""
    entries = []
    for depth, frame in _frames(_call_tree(ctx, tx_hash)):
        kind = frame.get("type")
        value = None if kind in _STATIC_KINDS else q(int(frame.get("value") or "0x0", 16))
        entries.append({"type": kind, "depth": depth, "from": frame["from"], "to": frame.get("to"),
                        "value": value, "input": frame.get("input", "0x"), "output": frame.get("output")})
    return entries


@rpc_method("ots_getTransactionError", Param(hash32), execution=True)
def get_transaction_error(ctx, tx_hash: bytes) -> str:
    """The raw revert data of a failed transaction, ``0x`` for a successful one."""
    receipt = ctx.chain.receipt(tx_hash)
    if receipt is None:
        raise _NotFound(f"transaction 0x{tx_hash.hex()} not found")
    if receipt.status == 1:
        return "0x"
    return _call_tree(ctx, tx_hash).get("output") or "0x"


def _block_details(ctx, block) -> dict:
    receipts = ctx.chain.receipts(block)
    body = format_block(block, False)
    body.pop("transactions", None)
    body["logsBloom"] = None
    body["transactionCount"] = len(block.transactions)
    total_fees = sum(r.gas_used * r.effective_gas_price for r in receipts)
    return {"block": body, "issuance": {"blockReward": "0x0", "uncleReward": "0x0", "issuance": "0x0"},
            "totalFees": q(total_fees)}


def _block(ctx, spec: Any):
    block = ctx.block_or_none(spec)
    if block is None:
        raise _NotFound("block not found")
    return block


@rpc_method("ots_getBlockDetails", Param(block_number_or_tag))
def get_block_details(ctx, spec: Any) -> dict:
    return _block_details(ctx, _block(ctx, spec))


@rpc_method("ots_getBlockDetailsByHash", Param(hash32))
def get_block_details_by_hash(ctx, block_hash: bytes) -> dict:
    block = ctx.chain.block_by_hash(block_hash)
    if block is None:
        raise _NotFound("block not found")
    return _block_details(ctx, block)


def _slim_receipt(receipt, timestamp: int) -> dict:
    formatted = format_receipt(receipt)
    formatted["logs"] = None
    formatted["logsBloom"] = None
    formatted["timestamp"] = q(timestamp)
    return formatted


@rpc_method("ots_getBlockTransactions", Param(block_number_or_tag), Param(_number), Param(_page_size))
def get_block_transactions(ctx, spec: Any, page: int, page_size: int) -> dict:
    """One page of a block's transactions (inputs cut to their selector) with slim receipts.

    Pages count from the block's last transaction, as Erigon (Otterscan lists the newest first)."""
    block = _block(ctx, spec)
    header = block.header
    count = len(block.transactions)
    end = max(count - page * page_size, 0)
    start = max(end - page_size, 0)
    receipts = ctx.chain.receipts(block)
    body = format_block(block, False)
    body["logsBloom"] = None
    body["transactionCount"] = count
    txs = []
    for index in range(start, end):
        tx = format_transaction(block.transactions[index], block.hash, header.number, index, header.base_fee,
                                header.timestamp)
        tx["input"] = tx["input"][:10]
        txs.append(tx)
    body["transactions"] = txs
    return {"fullblock": body, "receipts": [_slim_receipt(r, header.timestamp) for r in receipts[start:end]]}


def _search_result(ctx, found: list[tuple[int, int, bytes]], first_page: bool, last_page: bool) -> dict:
    txs, receipts = [], []
    for number, index, _ in found:
        block = ctx.chain.block_by_number(number)
        header = block.header
        tx = block.transactions[index]
        txs.append(format_transaction(tx, block.hash, number, index, header.base_fee, header.timestamp))
        formatted = format_receipt(ctx.chain.receipts(block)[index], header.timestamp)
        formatted["timestamp"] = q(header.timestamp)
        receipts.append(formatted)
    return {"txs": txs, "receipts": receipts, "firstPage": first_page, "lastPage": last_page}


def _take_page(entries, page_size: int) -> tuple[list, bool]:
    """At least ``page_size`` entries, completing the last block; and whether more remain."""
    taken: list = []
    for entry in entries:
        if len(taken) >= page_size and entry[0] != taken[-1][0]:
            return taken, True
        taken.append(entry)
    return taken, False


def _index(ctx) -> AddressIndex:
    return AddressIndex(ctx.chain.store)


@rpc_method("ots_searchTransactionsBefore", Param(address), Param(_number), Param(_page_size), heavy=True)
def search_transactions_before(ctx, account: bytes, block_number: int, page_size: int) -> dict:
    """Transactions of ``account`` in blocks below ``block_number`` (0: from the head), newest first."""
    head = ctx.chain.head().number
    first_page = block_number == 0 or block_number > head
    below = head + 1 if first_page else block_number
    found, more = _take_page(_index(ctx).before(account, below), page_size)
    return _search_result(ctx, found, first_page, not more)


@rpc_method("ots_searchTransactionsAfter", Param(address), Param(_number), Param(_page_size), heavy=True)
def search_transactions_after(ctx, account: bytes, block_number: int, page_size: int) -> dict:
    """Transactions of ``account`` in blocks above ``block_number`` (0: from genesis), newest first."""
    found, more = _take_page(_index(ctx).after(account, block_number), page_size)
    found.reverse()
    return _search_result(ctx, found, not more, block_number == 0)


@rpc_method("ots_getTransactionBySenderAndNonce", Param(address), Param(lambda v: quantity(v, "nonce", allow_number=True)))
def get_transaction_by_sender_and_nonce(ctx, sender: bytes, nonce: int) -> Optional[str]:
    for number, index, tx_hash in _index(ctx).all(sender):
        tx = ctx.chain.block_by_number(number).transactions[index]
        if tx.sender == sender and tx.nonce == nonce:
            return d(tx_hash)
        if tx.sender == sender and tx.nonce > nonce:
            break
    return None


def _creation_in(ctx, tx_hash: bytes, contract: bytes) -> Optional[dict]:
    receipt = ctx.chain.receipt(tx_hash)
    if receipt is not None and receipt.contract_address == contract:
        return {"hash": d(tx_hash), "creator": d(receipt.sender)}
    target = d(contract)
    for _, frame in _frames(ctx.chain.trace_transaction(tx_hash, "callTracer", {})):
        if frame.get("type") in ("CREATE", "CREATE2") and (frame.get("to") or "").lower() == target \
                and not frame.get("error"):
            return {"hash": d(tx_hash), "creator": frame["from"]}
    return None


def _has_code_at(ctx, contract: bytes, number: int) -> bool:
    reader = ctx.chain.state_at(number)
    try:
        return bool(reader.get_code(contract))
    finally:
        reader.close()


@rpc_method("ots_getContractCreator", Param(address), execution=True)
def get_contract_creator(ctx, contract: bytes) -> Optional[dict]:
    """The transaction that created ``contract`` and the account (or contract) that created it.

    The address index finds creations by a transaction and creations whose
    contract logged; otherwise the block where the code appeared is found by
    bisection over the retained states, and its transactions are traced."""
    if not _has_code_at(ctx, contract, ctx.chain.head().number):
        return None
    for number, index, tx_hash in _index(ctx).all(contract):
        found = _creation_in(ctx, tx_hash, contract)
        if found is not None:
            return found
    lo, hi = ctx.chain.db.oldest_block_number() or 0, ctx.chain.head().number
    if _has_code_at(ctx, contract, lo):
        return None   # in the genesis state (a predeploy), or older than the retained history
    while hi - lo > 1:   # invariant: no code at lo, code at hi
        mid = (lo + hi) // 2
        if _has_code_at(ctx, contract, mid):
            hi = mid
        else:
            lo = mid
    for tx in ctx.chain.block_by_number(hi).transactions:
        found = _creation_in(ctx, tx.hash, contract)
        if found is not None:
            return found
    return None


@rpc_method("erigon_getHeaderByNumber", Param(block_number_or_tag))
def get_header_by_number(ctx, spec: Any) -> Optional[dict]:
    """Otterscan reads headers with this Erigon method."""
    block = ctx.block_or_none(spec)
    if block is None:
        return None
    body = format_block(block, False)
    body.pop("transactions", None)
    return body
