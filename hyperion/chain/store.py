"""Chain records kept beside the state: blocks, hash and transaction indexes, receipts.

Every record of block N is written through ``StateDatabase.commit(...,
chain_writes=...)`` together with block N's state, so one atomic commit
holds both. Records are keyed by block number; lookups by hash check that
the number they point to still holds that hash, so after a rollback stale
index entries (of blocks that were dropped and later overwritten) are
ignored rather than deleted.

Encodings (RLP):
- ``blocks``:   number(8) -> [block_rlp, senders (20 bytes each, concatenated)]
- ``hashes``:   block hash -> number(8)
- ``txs``:      tx hash -> number(8) || index(4)
- ``receipts``: number(8) -> [[type, status, cumulative, gas_used, price, contract|'', logs, blob_gas, blob_price
- ``receipts``: number(8) -> [[type, status, cumulative, gas_used, price, contract|'', logs, blob_gas, blob_price
  (, deposit_nonce for deposits | post_state for pre-Byzantium receipts)], ...]
- ``td``:       block hash -> total difficulty (chains imported from proof-of-work history)
- ``meta``:     name -> value (chain id, genesis hash, ...)
- ``addresstxs``: address || number(8) || index(4) -> tx hash (``chain.addressindex``)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional

from hyperion.chain.addressindex import index_writes
from hyperion.chain.blocks import Block, BlockDecodeError, decode_block
from hyperion.chain.records import LogEntry, TxReceipt
from hyperion.primitives import rlp
from hyperion.primitives.bloom import logs_bloom
from hyperion.primitives.logs import Log
from hyperion.primitives.receipts import DEPOSIT_RECEIPT_TYPE, Receipt

BLOCKS = "blocks"
HASHES = "hashes"
TXS = "txs"
RECEIPTS = "receipts"
META = "meta"
TOTAL_DIFFICULTY = "td"
TABLES = (BLOCKS, HASHES, TXS, RECEIPTS, META, TOTAL_DIFFICULTY)

# Recent blocks and receipts stay decoded: up to this many entries, a block or receipt
# list weighing 1 + its transaction count (so many small automine blocks fit, few big ones).
_CACHE_WEIGHT = 16384


class CorruptChainRecord(ValueError):
    """A stored chain record that cannot be decoded."""


def number_key(number: int) -> bytes:
    return number.to_bytes(8, "big")


class ReceiptRecord:
    """The per-transaction outcome the block builder produces and the store persists."""

    __slots__ = ("tx_type", "status", "cumulative_gas_used", "gas_used", "effective_gas_price",
                 "contract_address", "logs", "blob_gas_used", "blob_gas_price", "bloom", "deposit_nonce",
                 "post_state")

    def __init__(self, tx_type: int, status: int, cumulative_gas_used: int, gas_used: int,
                 effective_gas_price: int, contract_address: Optional[bytes], logs: list,
                 blob_gas_used: int = 0, blob_gas_price: int = 0, deposit_nonce: Optional[int] = None,
                 post_state: Optional[bytes] = None):
        self.tx_type = tx_type
        self.status = status
        self.cumulative_gas_used = cumulative_gas_used
        self.gas_used = gas_used
        self.effective_gas_price = effective_gas_price
        self.contract_address = contract_address
        self.logs = logs
        self.blob_gas_used = blob_gas_used
        self.blob_gas_price = blob_gas_price
        self.bloom = logs_bloom(logs)
        self.deposit_nonce = deposit_nonce
        self.post_state = post_state

    def to_rlp(self) -> list:
        item = [self.tx_type, self.status, self.cumulative_gas_used, self.gas_used, self.effective_gas_price,
                self.contract_address or b"", [[log.address, list(log.topics), log.data] for log in self.logs],
                self.blob_gas_used, self.blob_gas_price]
        if self.deposit_nonce is not None:
            item.append(self.deposit_nonce)
        elif self.post_state is not None:  # a deposit never comes before Byzantium: item 10 is one or the other
            item.append(self.post_state)
        return item

    def consensus_receipt(self) -> Receipt:
        """The receipt as the receipts trie holds it."""
        receipt = Receipt(self.tx_type, bool(self.status), self.cumulative_gas_used, tuple(self.logs),
                          deposit_nonce=self.deposit_nonce, post_state=self.post_state)
        object.__setattr__(receipt, "_bloom", self.bloom)
        return receipt

    @classmethod
    def from_rlp(cls, item) -> "ReceiptRecord":
        try:
            extra = item[9] if len(item) == 10 else None
            deposit_nonce = rlp.decode_int(extra, 8) if extra is not None and item[0] == bytes([DEPOSIT_RECEIPT_TYPE]) else None
            post_state = extra if extra is not None and deposit_nonce is None else None
            tx_type, status, cumulative, used, price, contract, logs, blob_gas, blob_price = item[:9]
            return cls(
                rlp.decode_int(tx_type, 1), rlp.decode_int(status, 1), rlp.decode_int(cumulative, 8),
                rlp.decode_int(used, 8), rlp.decode_int(price), contract or None,
                [Log(a, tuple(t), d) for a, t, d in logs], rlp.decode_int(blob_gas, 8), rlp.decode_int(blob_price),
                deposit_nonce, post_state,
            )
        except (ValueError, TypeError) as exc:
            raise CorruptChainRecord(f"bad receipt record: {exc}") from None


class _WeightedCache:
    """LRU map from block number to a decoded record, bounded by the records' total weight.

    Readers on any thread fill it (the chain reads without its writer lock), hence its own lock.
    """

    __slots__ = ("_entries", "_weights", "_total", "_limit", "_weigh", "_lock")

    def __init__(self, limit: int, weigh) -> None:
        self._entries: OrderedDict[int, object] = OrderedDict()
        self._weights: dict[int, int] = {}
        self._total = 0
        self._limit = limit
        self._weigh = weigh
        self._lock = threading.Lock()

    def get(self, key: int):
        return self._entries.get(key)

    def put(self, key: int, value) -> None:
        weight = self._weigh(value)
        with self._lock:
            entries = self._entries
            self._total -= self._weights.pop(key, 0)
            entries[key] = value
            entries.move_to_end(key)
            self._weights[key] = weight
            self._total += weight
            while self._total > self._limit and len(entries) > 1:
                oldest, _ = entries.popitem(last=False)
                self._total -= self._weights.pop(oldest)

    def drop_above(self, number: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k > number]:
                del self._entries[key]
                self._total -= self._weights.pop(key)


class ChainStore:
    """Reads and writes chain records through a ``StateDatabase`` (with a small block cache)."""

    def __init__(self, db):
        self.db = db
        self._blocks = _WeightedCache(_CACHE_WEIGHT, lambda block: 1 + len(block.transactions))
        self._receipts = _WeightedCache(_CACHE_WEIGHT, lambda records: 1 + len(records))

    # -- writing ------------------------------------------------------------
    def block_writes(self, block: Block, records: list[ReceiptRecord]) -> list[tuple[str, bytes, bytes]]:
        """The chain records of ``block``, for ``commit(chain_writes=...)``."""
        key = number_key(block.number)
        senders = b"".join(tx.sender for tx in block.transactions)
        writes = [
            (BLOCKS, key, rlp.encode([block.encode(), senders])),
            (HASHES, block.hash, key),
            (RECEIPTS, key, rlp.encode([r.to_rlp() for r in records])),
        ]
        for index, tx in enumerate(block.transactions):
            writes.append((TXS, tx.hash, key + index.to_bytes(4, "big")))
        writes += index_writes(block, records)
        return writes

    def remember(self, block: Block, records: list[ReceiptRecord]) -> None:
        """Put a just-committed block in the cache."""
        self._cache(self._blocks, block.number, block)
        self._cache(self._receipts, block.number, records)

    @staticmethod
    def _cache(cache: "_WeightedCache", key: int, value) -> None:
        cache.put(key, value)

    def forget_above(self, number: int) -> None:
        """Drop cached blocks above ``number`` (after a rollback)."""
        for cache in (self._blocks, self._receipts):
            cache.drop_above(number)

    def get_meta(self, name: str) -> Optional[bytes]:
        return self.db.chain_get(META, name.encode())

    def meta_writes(self, values: dict[str, bytes]) -> list[tuple[str, bytes, bytes]]:
        return [(META, name.encode(), value) for name, value in values.items()]

    # -- reading --------------------------------------------------------------
    def block(self, number: int) -> Optional[Block]:
        cached = self._blocks.get(number)
        if cached is not None:
            return cached
        raw = self.db.chain_get(BLOCKS, number_key(number))
        if raw is None:
            return None
        try:
            block_rlp, senders = rlp.decode(raw)
            block = decode_block(block_rlp)
        except (rlp.RLPError, BlockDecodeError, ValueError) as exc:
            raise CorruptChainRecord(f"block {number}: {exc}") from None
        for index, tx in enumerate(block.transactions):
            object.__setattr__(tx, "_sender", senders[20 * index: 20 * index + 20])
        self._cache(self._blocks, number, block)
        return block

    def number_of_hash(self, block_hash: bytes) -> Optional[int]:
        raw = self.db.chain_get(HASHES, block_hash)
        if raw is None:
            return None
        return int.from_bytes(raw, "big")

    def receipt_records(self, number: int) -> list[ReceiptRecord]:
        cached = self._receipts.get(number)
        if cached is not None:
            return cached
        raw = self.db.chain_get(RECEIPTS, number_key(number))
        if raw is None:
            return []
        try:
            records = [ReceiptRecord.from_rlp(item) for item in rlp.decode(raw)]
        except rlp.RLPError as exc:
            raise CorruptChainRecord(f"receipts of block {number}: {exc}") from None
        self._cache(self._receipts, number, records)
        return records

    def tx_location(self, tx_hash: bytes) -> Optional[tuple[int, int]]:
        raw = self.db.chain_get(TXS, tx_hash)
        if raw is None or len(raw) != 12:
            return None
        return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")


def receipts_of(block: Block, records: list[ReceiptRecord]) -> list[TxReceipt]:
    """Full receipts (with block context and log indexes) of a block's transactions."""
    receipts = []
    log_index = 0
    for index, (tx, record) in enumerate(zip(block.transactions, records)):
        receipts.append(_full_receipt(block, index, tx, record, log_index))
        log_index += len(record.logs)
    return receipts


def receipt_at(block: Block, records: list[ReceiptRecord], index: int) -> TxReceipt:
    """The full receipt of transaction ``index`` alone (O(index) for its first log index, no other receipt built)."""
    first_log_index = sum(len(record.logs) for record in records[:index])
    return _full_receipt(block, index, block.transactions[index], records[index], first_log_index)


def _full_receipt(block: Block, index: int, tx, record: ReceiptRecord, first_log_index: int) -> TxReceipt:
    tx_hash = tx.hash
    block_hash = block.hash
    number = block.number
    entries = [LogEntry(log.address, tuple(log.topics), log.data, number, block_hash, tx_hash, index, log_index)
               for log_index, log in enumerate(record.logs, first_log_index)]
    return TxReceipt(
        tx_hash=tx_hash, tx_index=index, block_hash=block_hash, block_number=number, sender=tx.sender,
        to=tx.to, contract_address=record.contract_address, cumulative_gas_used=record.cumulative_gas_used,
        gas_used=record.gas_used, effective_gas_price=record.effective_gas_price, status=record.status,
        logs=entries, logs_bloom=record.bloom, tx_type=record.tx_type, blob_gas_used=record.blob_gas_used,
        blob_gas_price=record.blob_gas_price, deposit_nonce=record.deposit_nonce, post_state=record.post_state,
    )
