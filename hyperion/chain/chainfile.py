"""Chain files: RLP-encoded blocks one after the other (what ``geth export`` writes, ``hyperion import`` reads).

``read_blocks`` yields each block's RLP without decoding it: only the list
header is read to learn the item's length, which is checked against what
the file still holds and against ``MAX_BLOCK_BYTES`` before any of it is
read, so a corrupt or hostile file costs neither memory nor time. A file
that is not a sequence of RLP lists raises ``ChainFileError`` naming the
byte offset.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Iterator

# A bound on one block's RLP (Osaka's EIP-7934 limit is 8 MiB; older blocks are far smaller).
MAX_BLOCK_BYTES = 32 * 1024 * 1024


class ChainFileError(ValueError):
    """A chain file that is not a sequence of RLP-encoded blocks."""


def _item_length(handle: BinaryIO, offset: int) -> tuple[int, bytes]:
    """The total length of the RLP list starting here, and the prefix bytes already read."""
    first = handle.read(1)
    if not first:
        raise EOFError
    lead = first[0]
    if lead < 0xC0:
        raise ChainFileError(f"byte {offset}: expected an RLP list (a block), found 0x{lead:02x}")
    if lead <= 0xF7:
        return 1 + lead - 0xC0, first
    size_bytes = lead - 0xF7
    size_raw = handle.read(size_bytes)
    if len(size_raw) != size_bytes:
        raise ChainFileError(f"byte {offset}: the file ends inside a block's length")
    if size_raw[0] == 0:
        raise ChainFileError(f"byte {offset}: non-canonical RLP length")
    length = int.from_bytes(size_raw, "big")
    if length < 56:
        raise ChainFileError(f"byte {offset}: non-canonical RLP length")
    return 1 + size_bytes + length, first + size_raw


def read_blocks(path: str | Path, max_block_bytes: int = MAX_BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(offset, block RLP)`` for every block in the file, in order."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        offset = 0
        while offset < size:
            try:
                total, prefix = _item_length(handle, offset)
            except EOFError:
                return
            if total > size - offset:
                raise ChainFileError(f"byte {offset}: a block of {total} bytes, but only {size - offset} are left "
                                     "(truncated file?)")
            if total > max_block_bytes:
                raise ChainFileError(f"byte {offset}: a block of {total} bytes, more than the "
                                     f"{max_block_bytes} allowed")
            body = handle.read(total - len(prefix))
            yield offset, prefix + body
            offset += total


__all__ = ["ChainFileError", "MAX_BLOCK_BYTES", "read_blocks"]
