"""Which transactions concern an address: the index behind address search.

Written with each block, in the same atomic commit as its other chain
records (``ChainStore.block_writes`` appends ``index_writes``), so MetisDB
and the in-memory database carry it alike and it is built incrementally,
never by a rescan.

Table ``addresstxs``: ``address(20) || block number(8) || tx index(4)`` ->
tx hash(32). Key order is (address, block, position), so the newest or
oldest transactions of an address are one range read
(``StateDatabase.chain_scan``). An address is indexed for a transaction when
it is the sender, the recipient, the contract the transaction created, or
emitted a log in it (how a token contract, or a contract called from
another one, finds the transactions that moved it). A contract called
internally that neither logs nor is the recipient is not indexed.

After a rollback (dev snapshots, a rollup reorg) the entries of dropped
blocks stay; a reader keeps an entry only when the transaction index still
puts that hash at that block and position, as ``ChainStore`` does with its
hash indexes.
"""

from __future__ import annotations

from typing import Iterator, Optional

ADDRESS_TXS = "addresstxs"
_NUMBER_LIMIT = 2**64 - 1


def _key(address: bytes, number: int, index: int = 0) -> bytes:
    return address + number.to_bytes(8, "big") + index.to_bytes(4, "big")


def touched_addresses(tx, record) -> set[bytes]:
    """The addresses one transaction is indexed under (see the module docstring)."""
    addresses = {tx.sender}
    if tx.to:
        addresses.add(tx.to)
    if record is not None:
        if record.contract_address:
            addresses.add(record.contract_address)
        for log in record.logs:
            addresses.add(log.address)
    return addresses


def index_writes(block, records: list) -> list[tuple[str, bytes, bytes]]:
    """The index entries of ``block`` (its receipt records in the same order)."""
    writes = []
    for index, tx in enumerate(block.transactions):
        record = records[index] if index < len(records) else None
        for address in touched_addresses(tx, record):
            writes.append((ADDRESS_TXS, _key(address, block.number, index), tx.hash))
    return writes


class AddressIndex:
    """Reads the index through a ``ChainStore`` (for its db and its tx-location check)."""

    def __init__(self, store) -> None:
        self.store = store

    def _live(self, entries: list[tuple[bytes, bytes]]) -> Iterator[tuple[int, int, bytes]]:
        for key, tx_hash in entries:
            number = int.from_bytes(key[20:28], "big")
            index = int.from_bytes(key[28:32], "big")
            if self.store.tx_location(tx_hash) == (number, index):
                yield number, index, tx_hash

    def before(self, address: bytes, block_number: int, chunk: int = 256) -> Iterator[tuple[int, int, bytes]]:
        """(block, position, hash) of the transactions of ``address`` in blocks below
        ``block_number``, newest first."""
        stop = _key(address, min(block_number, _NUMBER_LIMIT))
        start = _key(address, 0)
        while True:
            entries = self.store.db.chain_scan(ADDRESS_TXS, start, stop, reverse=True, limit=chunk)
            yield from self._live(entries)
            if len(entries) < chunk:
                return
            stop = entries[-1][0]

    def after(self, address: bytes, block_number: int, chunk: int = 256) -> Iterator[tuple[int, int, bytes]]:
        """(block, position, hash) of the transactions of ``address`` in blocks above
        ``block_number`` (-1: from genesis), oldest first."""
        if block_number >= _NUMBER_LIMIT:
            return
        start = _key(address, max(block_number + 1, 0))
        stop = _key(address, _NUMBER_LIMIT, 2**32 - 1)
        while True:
            entries = self.store.db.chain_scan(ADDRESS_TXS, start, stop, limit=chunk)
            yield from self._live(entries)
            if len(entries) < chunk:
                return
            start = entries[-1][0] + b"\x00"

    def all(self, address: bytes) -> Iterator[tuple[int, int, bytes]]:
        """Every transaction of ``address``, oldest first."""
        return self.after(address, -1)
