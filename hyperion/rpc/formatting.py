"""Python chain objects -> the JSON shapes geth returns.

Quantities are minimal hex ("0x0", "0x1a"), byte strings are "0x"-prefixed
lower-case hex, addresses lower-case. Field sets follow geth's RPC
marshalling: typed-transaction fields appear only for the types that carry
them, header fields of later forks only when the header has them.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

_hex = hex


def q(value: int) -> str:
    """QUANTITY: minimal hex of a non-negative integer."""
    return _hex(value)


def d(value: bytes) -> str:
    """DATA: 0x-prefixed hex of bytes."""
    return "0x" + value.hex()


def opt_d(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else "0x" + value.hex()


def opt_q(value: Optional[int]) -> Optional[str]:
    return None if value is None else _hex(value)


def nonce8(value: Any) -> str:
    if isinstance(value, int):
        value = value.to_bytes(8, "big")
    return "0x" + bytes(value).rjust(8, b"\0").hex()


# -- blocks ----------------------------------------------------------------------


def format_header(block: Any) -> dict:
    """The header part of a block object (also the newHeads subscription payload)."""
    header = block.header
    result = {
        "hash": d(block.hash),
        "parentHash": d(header.parent_hash),
        "sha3Uncles": d(header.ommers_hash),
        "miner": d(header.coinbase),
        "stateRoot": d(header.state_root),
        "transactionsRoot": d(header.transactions_root),
        "receiptsRoot": d(header.receipts_root),
        "logsBloom": d(bytes(header.logs_bloom)),
        "difficulty": q(header.difficulty),
        "number": q(header.number),
        "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used),
        "timestamp": q(header.timestamp),
        "extraData": d(header.extra_data),
        "mixHash": d(header.prev_randao),
        "nonce": nonce8(header.nonce),
    }
    if getattr(header, "base_fee", None) is not None:
        result["baseFeePerGas"] = q(header.base_fee)
    if getattr(header, "withdrawals_root", None) is not None:
        result["withdrawalsRoot"] = d(header.withdrawals_root)
    if getattr(header, "blob_gas_used", None) is not None:
        result["blobGasUsed"] = q(header.blob_gas_used)
    if getattr(header, "excess_blob_gas", None) is not None:
        result["excessBlobGas"] = q(header.excess_blob_gas)
    if getattr(header, "parent_beacon_block_root", None) is not None:
        result["parentBeaconBlockRoot"] = d(header.parent_beacon_block_root)
    if getattr(header, "requests_hash", None) is not None:
        result["requestsHash"] = d(header.requests_hash)
    return result


def format_block(block: Any, full_transactions: bool, deposit_nonces: Optional[list] = None) -> dict:
    """geth's block object; ``deposit_nonces`` (per transaction, from the receipts) fills deposits' ``nonce``."""
    result = format_header(block)  # no totalDifficulty: geth dropped it after the merge (execution-apis)
    result["size"] = q(block.size)
    result["uncles"] = []
    if full_transactions:
        base_fee = getattr(block.header, "base_fee", None)
        block_hash, number = block.hash, block.header.number
        result["transactions"] = [
            format_transaction(tx, block_hash, number, index, base_fee, block.header.timestamp,
                               deposit_nonces[index] if deposit_nonces else None)
            for index, tx in enumerate(block.transactions)]
    else:
        result["transactions"] = [d(tx.hash) for tx in block.transactions]
    if getattr(block.header, "withdrawals_root", None) is not None:
        result["withdrawals"] = [format_withdrawal(w) for w in (block.withdrawals or ())]
    return result


def format_withdrawal(withdrawal: Any) -> dict:
    return {"index": q(withdrawal.index), "validatorIndex": q(withdrawal.validator_index),
            "address": d(withdrawal.address), "amount": q(withdrawal.amount)}


# -- transactions -----------------------------------------------------------------


def _format_access_list(entries: Iterable) -> list[dict]:
    return [{"address": d(addr), "storageKeys": [d(slot) for slot in slots]} for addr, slots in entries]


DEPOSIT_TX_TYPE = 0x7E


def format_deposit_transaction(tx: Any, block_hash: Optional[bytes], block_number: Optional[int],
                               index: Optional[int], deposit_nonce: Optional[int]) -> dict:
    """A deposit (type 0x7E) as OP chains' op-geth returns it: zero fees and signature, ``sourceHash``,
    ``mint``, ``isSystemTx`` only when set, and ``nonce``/``depositReceiptVersion`` from the receipt."""
    result: dict[str, Any] = {
        "blockHash": opt_d(block_hash),
        "blockNumber": opt_q(block_number),
        "from": d(tx.from_address),
        "gas": q(tx.gas),
        "gasPrice": "0x0",
        "hash": d(tx.hash),
        "input": d(tx.data),
        "nonce": q(deposit_nonce or 0),
        "to": opt_d(tx.to),
        "transactionIndex": opt_q(index),
        "value": q(tx.value),
        "type": q(DEPOSIT_TX_TYPE),
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
        "sourceHash": d(tx.source_hash),
        "mint": q(tx.mint),
    }
    if tx.is_system_tx:
        result["isSystemTx"] = True
    if deposit_nonce is not None:
        result["depositReceiptVersion"] = "0x1"
    return result


def format_transaction(tx: Any, block_hash: Optional[bytes] = None, block_number: Optional[int] = None,
                       index: Optional[int] = None, base_fee: Optional[int] = None,
                       block_timestamp: Optional[int] = None, deposit_nonce: Optional[int] = None) -> dict:
    """geth's RPCTransaction; pass no block fields for a pending transaction."""
    tx_type = tx.type
    if tx_type == DEPOSIT_TX_TYPE:
        return format_deposit_transaction(tx, block_hash, block_number, index, deposit_nonce)
    result: dict[str, Any] = {
        "blockHash": opt_d(block_hash),
        "blockNumber": opt_q(block_number),
        "blockTimestamp": opt_q(block_timestamp) if block_hash is not None else None,
        "from": d(tx.sender),
        "gas": q(tx.gas),
        "hash": d(tx.hash),
        "input": d(tx.data),
        "nonce": q(tx.nonce),
        "to": opt_d(tx.to),
        "transactionIndex": opt_q(index),
        "value": q(tx.value),
        "type": q(tx_type),
    }
    if tx_type == 0:
        result["gasPrice"] = q(tx.gas_price)
        chain_id = tx.chain_id
        if chain_id is not None:
            result["chainId"] = q(chain_id)
        result["v"] = q(tx.v)
    else:
        result["chainId"] = q(tx.chain_id)
        result["accessList"] = _format_access_list(tx.access_list)
        if tx_type == 1:
            result["gasPrice"] = q(tx.gas_price)
        else:
            max_fee, tip = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
            result["maxFeePerGas"] = q(max_fee)
            result["maxPriorityFeePerGas"] = q(tip)
            if block_hash is not None and base_fee is not None:
                result["gasPrice"] = q(min(max_fee, base_fee + tip))
            else:
                result["gasPrice"] = q(max_fee)
            if tx_type == 3:
                result["maxFeePerBlobGas"] = q(tx.max_fee_per_blob_gas)
                result["blobVersionedHashes"] = [d(h) for h in tx.blob_versioned_hashes]
            elif tx_type == 4:
                result["authorizationList"] = [format_authorization(a) for a in tx.authorizations]
        result["v"] = q(tx.y_parity)
        result["yParity"] = q(tx.y_parity)
    result["r"] = q(tx.r)
    result["s"] = q(tx.s)
    return result


def format_authorization(auth: Any) -> dict:
    return {"chainId": q(auth.chain_id), "address": d(auth.address), "nonce": q(auth.nonce),
            "yParity": q(auth.y_parity), "r": q(auth.r), "s": q(auth.s)}


# -- receipts and logs -------------------------------------------------------------


def format_log(log: Any, block_timestamp: Optional[int] = None) -> dict:
    result = {
        "address": d(log.address),
        "topics": [d(topic) for topic in log.topics],
        "data": d(log.data),
        "blockNumber": q(log.block_number),
        "transactionHash": d(log.tx_hash),
        "transactionIndex": q(log.tx_index),
        "blockHash": d(log.block_hash),
        "logIndex": q(log.log_index),
        "removed": bool(getattr(log, "removed", False)),
    }
    if block_timestamp is not None:
        result["blockTimestamp"] = q(block_timestamp)
    return result


def format_receipt(receipt: Any, block_timestamp: Optional[int] = None) -> dict:
    result = {
        "blockHash": d(receipt.block_hash),
        "blockNumber": q(receipt.block_number),
        "contractAddress": opt_d(receipt.contract_address),
        "cumulativeGasUsed": q(receipt.cumulative_gas_used),
        "effectiveGasPrice": q(receipt.effective_gas_price),
        "from": d(receipt.sender),
        "gasUsed": q(receipt.gas_used),
        "logs": [format_log(log, block_timestamp) for log in receipt.logs],
        "logsBloom": d(bytes(receipt.logs_bloom)),
        "to": opt_d(receipt.to),
        "transactionHash": d(receipt.tx_hash),
        "transactionIndex": q(receipt.tx_index),
        "type": q(receipt.tx_type),
    }
    post_state = getattr(receipt, "post_state", None)
    if post_state:  # before Byzantium (EIP-658) a receipt carries the state root, not a status
        result["root"] = d(post_state)
    else:
        result["status"] = q(receipt.status)
    if receipt.tx_type == 3:
        result["blobGasUsed"] = q(receipt.blob_gas_used or 0)
        result["blobGasPrice"] = q(receipt.blob_gas_price or 0)
    deposit_nonce = getattr(receipt, "deposit_nonce", None)
    if deposit_nonce is not None:  # OP chains' deposit receipt fields
        result["depositNonce"] = q(deposit_nonce)
        result["depositReceiptVersion"] = "0x1"
    return result


# -- proofs, fee history --------------------------------------------------------------


def format_proof(proof: dict) -> dict:
    """EIP-1186 eth_getProof result from the state reader's dict."""
    return {
        "address": d(proof["address"]),
        "accountProof": [d(node) for node in proof["accountProof"]],
        "balance": q(proof["balance"]),
        "codeHash": d(proof["codeHash"]),
        "nonce": q(proof["nonce"]),
        "storageHash": d(proof["storageHash"]),
        "storageProof": [
            {"key": _storage_key(entry["key"]), "value": q(entry["value"]),
             "proof": [d(node) for node in entry["proof"]]}
            for entry in proof["storageProof"]
        ],
    }


def _storage_key(key: Any) -> str:
    if isinstance(key, int):
        return "0x" + key.to_bytes(32, "big").hex()
    return d(bytes(key))


def format_fee_history(history: dict) -> dict:
    result = {
        "oldestBlock": q(history["oldest_block"]),
        "baseFeePerGas": [q(fee) for fee in history["base_fee_per_gas"]],
        "gasUsedRatio": list(history["gas_used_ratio"]),
    }
    if history.get("base_fee_per_blob_gas") is not None:
        result["baseFeePerBlobGas"] = [q(fee) for fee in history["base_fee_per_blob_gas"]]
        result["blobGasUsedRatio"] = list(history.get("blob_gas_used_ratio") or [])
    if history.get("reward") is not None:
        result["reward"] = [[q(value) for value in row] for row in history["reward"]]
    return result
