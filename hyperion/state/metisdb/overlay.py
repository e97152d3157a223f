"""``FlatOverlay``: account records committed since the ``accounts`` table was last written.

Why: the ``accounts`` table is a B+tree keyed by address, so a block that changes
k random accounts of n dirties about min(k, n / 100) of its pages, all over the
file: writing it at every commit rewrites most of the table for a big block, and
those scattered pages make the commit's fsync slow. So a commit records each
changed account's new flat record here, in memory, tagged with its block, and
the table is brought up to date in one sorted batch now and then (a *flush*,
inside some later commit's transaction), as geth's snapshot diff layers and
reth's in-memory blocks do.

Nothing durable depends on the overlay: every commit still writes its trie
nodes, root and changeset in one LMDB transaction. The table is a view at block
``meta.flat-block``; after a crash ``MetisDB`` reads which accounts changed
since then from the changesets, takes their records from the latest trie and
writes them to the table before it serves anything (``engine``).

MVCC: a reader at block B takes the newest version at or below B, else the
table as its own read transaction sees it. A flush leaves this overlay as it is
(readers that opened before it keep using it with their older table) and the
database starts a new one for later blocks.

Only the writer mutates an overlay (under the database's write lock); readers
use single dict lookups, which are atomic under the GIL.
"""

from __future__ import annotations

from typing import Optional

from hyperion.state.metisdb.codec import ABSENT_ACCOUNT, decode_record
from hyperion.state.metisdb.native import add_versions, flush_rows, presized_dict


class FlatOverlay:
    """Versions of the account records written since block ``since`` was flushed.

    ``versions`` maps an address to its newest version ``(block, flat_record or
    None for a deleted account, previous version or None)``.
    """

    __slots__ = ("versions", "entries", "since", "first_block")

    def __init__(self, since: Optional[int], expected: int = 0) -> None:
        # Sized for the versions expected before the next flush: growing a dict of
        # 100k entries costs milliseconds in the middle of a commit.
        self.versions: dict[bytes, tuple] = presized_dict(expected)
        self.entries = 0  # versions held, older ones included (the memory bound)
        self.since = since  # the table holds the state of this block (None: empty database)
        self.first_block: Optional[int] = None  # oldest block with a version here

    def record(self, address: bytes, block: int) -> Optional[tuple[int, int, bytes, bytes]]:
        """The decoded record of ``address`` as of ``block``, or None if the table has it."""
        entry = self.versions.get(address)
        while entry is not None and entry[0] > block:
            entry = entry[2]
        if entry is None:
            return None
        flat = entry[1]
        return ABSENT_ACCOUNT if flat is None else decode_record(flat)

    def add(self, block: int, writes: list) -> None:
        """Record ``(address, flat record or None)`` pairs (distinct addresses) as block
        ``block``'s versions."""
        if not writes:
            return
        add_versions(self.versions, block, writes)
        self.entries += len(writes)
        if self.first_block is None:
            self.first_block = block

    def revert(self, block: int, writes: list, first_block: Optional[int]) -> None:
        """Take back an ``add`` of block ``block`` whose commit did not go through."""
        versions = self.versions
        for address, _ in reversed(writes):
            entry = versions.get(address)
            if entry is not None and entry[0] == block:
                if entry[2] is None:
                    del versions[address]
                else:
                    versions[address] = entry[2]
        self.entries -= len(writes)
        self.first_block = first_block

    def newest(self) -> dict[bytes, Optional[bytes]]:
        """Address -> its newest flat record (None: deleted)."""
        return {address: entry[1] for address, entry in self.versions.items()}

    def flush_rows(self) -> tuple[list, list]:
        """What a flush writes: ``(address, flat record)`` pairs and deleted addresses,
        each sorted by address (``native.flush_rows``)."""
        return flush_rows(self.versions)

    def __len__(self) -> int:
        return len(self.versions)
