"""Key and value encodings of MetisDB's tables (LMDB sub-databases).

- ``accounts``: address (20) -> account record, rlp([nonce, balance, storage_root, code_hash])
  as in the trie's leaf, except that an account without storage and code stores both
  hashes as empty strings ("slim", as geth's snapshot does: a third of the size, and the
  pages a block rewrites in this table shrink with it); :func:`decode_record` reads both;
- ``storage``: address (20) + slot (32, big-endian) -> value, minimal big-endian, never zero;
- ``storage_roots``: address (20) -> id of the account's storage trie root node (only
  for accounts with storage);
- ``code``: code hash -> code;
- ``nodes``: node id (8, big-endian, counting up) -> node record (see ``nodelog``);
- ``stale``: block -> ids of the nodes that block replaced (pruning mode), concatenated;
- ``roots``: block (8, big-endian, so keys sort by number) -> state root (32), its node
  id (8) and the node counter after the block (8), see :func:`encode_root_entry`;
- ``changes``: block -> the values every record touched by that block had before it
  (account records with their storage root ids, and slots; "" = absent), packed by
  :func:`encode_changeset`, for rollback.
"""

from __future__ import annotations

import struct

from hyperion.primitives import rlp
from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.state.account import InvalidAccountData, decode_account
from hyperion.state.metisdb.errors import CorruptDatabase
from hyperion.trie.codec import EMPTY_TRIE_ROOT

ABSENT_ACCOUNT = (0, 0, EMPTY_TRIE_ROOT, EMPTY_KECCAK)
"""Decoded record used for an account that does not exist (compare by identity)."""


def block_key(number: int) -> bytes:
    return number.to_bytes(8, "big")


def block_from_key(key: bytes) -> int:
    return int.from_bytes(key, "big")


_ZERO_ID = bytes(8)


def encode_root_entry(root: bytes, root_id: bytes, next_id: int) -> bytes:
    """``roots`` value: the state root, its node id (zeros for the empty trie) and the
    node counter after the block (nodes with ids from there on are newer)."""
    return root + (root_id or _ZERO_ID) + next_id.to_bytes(8, "big")


def decode_root_entry(value: bytes) -> tuple[bytes, bytes, int]:
    """(state root, root node id or b"", node counter after the block)."""
    if len(value) != 48:
        raise CorruptDatabase("stored state root entry is damaged")
    root_id = value[32:40]
    return value[:32], b"" if root_id == _ZERO_ID else root_id, int.from_bytes(value[40:], "big")


def slot_key(address: bytes, slot: int) -> bytes:
    return address + slot.to_bytes(32, "big")


def uint_bytes(value: int) -> bytes:
    """Minimal big-endian bytes of a non-negative int (b"" for zero)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


_SLIM_HEADERS = [bytes((0xC0 + length,)) for length in range(56)]


def flat_record(leaf: bytes, storage_root: bytes, code_hash: bytes) -> bytes:
    """The ``accounts`` record of an account whose trie leaf value is ``leaf``."""
    if storage_root != EMPTY_TRIE_ROOT or code_hash != EMPTY_KECCAK:
        return leaf
    # Nonce and balance items stay as they are; the two trailing 33-byte items become
    # empty strings. Their payload is at most 9 + 33 + 2 bytes, so a one-byte header.
    body = leaf[1 if leaf[0] < 0xF8 else 2 : -66]
    return _SLIM_HEADERS[len(body) + 2] + body + b"\x80\x80"


def decode_record(data: bytes) -> tuple[int, int, bytes, bytes]:
    """Decode a stored account record (full or slim), reporting damage as ``CorruptDatabase``.

    Fast paths for the canonical layouts we write (two integers, then two 32-byte
    strings or two empty ones); anything else goes through the general RLP decoder,
    which validates.
    """
    try:
        length = len(data)
        if data[-2:] == b"\x80\x80" and data[0] == 0xC0 + length - 1:
            return _decode_slim(data, length)
        first = data[0]
        if first == 0xF8:
            position = 2
            canonical = data[1] == length - 2
        else:
            position = 1
            canonical = first - 0xC0 == length - 1
        tail = length - 66  # where the two 32-byte hashes start
        if canonical and tail > position and data[tail] == 0xA0 and data[tail + 33] == 0xA0:
            head = data[position]
            if head < 0x80:
                nonce = head
                position += 1
            elif head <= 0x88:
                end = position + 1 + head - 0x80
                nonce = int.from_bytes(data[position + 1 : end], "big")
                position = end
            else:
                position = -1
            if position > 0:
                head = data[position]
                if head < 0x80:
                    if position + 1 == tail:
                        return nonce, head, data[tail + 1 : tail + 33], data[tail + 34 :]
                elif position + 1 + head - 0x80 == tail and head <= 0xA0:
                    return (nonce, int.from_bytes(data[position + 1 : tail], "big"),
                            data[tail + 1 : tail + 33], data[tail + 34 :])
    except IndexError:
        pass
    try:
        return decode_account(data)
    except InvalidAccountData as exc:
        raise CorruptDatabase(f"stored account record is damaged: {exc}") from None


def _decode_slim(data: bytes, length: int) -> tuple[int, int, bytes, bytes]:
    """A slim record: rlp([nonce, balance, "", ""]); fast path for what we write."""
    position = 1
    values = []
    for limit in (0x88, 0xA0):  # nonce up to 8 bytes, balance up to 32
        head = data[position]
        if head < 0x80:
            values.append(head)
            position += 1
        elif head <= limit:
            end = position + 1 + head - 0x80
            values.append(int.from_bytes(data[position + 1 : end], "big"))
            position = end
        else:
            break
    if len(values) == 2 and position == length - 2:
        return values[0], values[1], EMPTY_TRIE_ROOT, EMPTY_KECCAK
    try:
        items = rlp.decode(data)
        if not isinstance(items, list) or len(items) != 4 or items[2] != b"" or items[3] != b"":
            raise rlp.RLPError("not an account record")
        return rlp.decode_int(items[0], 8), rlp.decode_int(items[1], 32), EMPTY_TRIE_ROOT, EMPTY_KECCAK
    except rlp.RLPError as exc:
        raise CorruptDatabase(f"stored account record is damaged: {exc}") from None


def decode_slot_leaf(data: bytes) -> int:
    """Value of a storage-trie leaf (rlp of the minimal big-endian integer)."""
    try:
        return rlp.decode_int(rlp.decode(data), 32)
    except rlp.RLPError as exc:
        raise CorruptDatabase(f"stored storage value is damaged: {exc}") from None


_ENTRY_HEADER = struct.Struct(">20s8sHI")  # address, old storage root id, record length, slot count
CHANGESET_ENTRY = _ENTRY_HEADER
"""Header of one changeset entry (address, old storage root id or zeros, old record
length, slot count), for writers that pack entries as they go."""


def encode_changeset(entries: list) -> bytes:
    """Pack ``[[address, old_record, [[slot32, old_value], ...], old_storage_id], ...]``
    (values and the id may be b"").

    A flat binary layout, because this runs for every account of every block:
    per entry the header (address, storage root id, record length, slot count),
    the record, then per slot the 32-byte key, one length byte and the value.
    """
    pack_header = _ENTRY_HEADER.pack
    parts = []
    for address, old_record, slot_log, storage_id in entries:
        parts.append(pack_header(address, storage_id or _ZERO_ID, len(old_record), len(slot_log)))
        parts.append(old_record)
        for slot_bytes, old_value in slot_log:
            parts.append(slot_bytes)
            parts.append(_LENGTH_BYTES[len(old_value)])
            parts.append(old_value)
    return b"".join(parts)


_LENGTH_BYTES = [bytes((length,)) for length in range(33)]


def decode_changeset(data: bytes) -> list:
    """Inverse of :func:`encode_changeset`."""
    entries = []
    position = 0
    unpack_header = _ENTRY_HEADER.unpack_from
    try:
        while position < len(data):
            address, storage_id, record_length, slot_count = unpack_header(data, position)
            position += _ENTRY_HEADER.size
            old_record = data[position : position + record_length]
            position += record_length
            slot_log = []
            for _ in range(slot_count):
                slot_bytes = data[position : position + 32]
                length = data[position + 32]
                old_value = data[position + 33 : position + 33 + length]
                position += 33 + length
                slot_log.append([slot_bytes, old_value])
            entries.append([address, old_record, slot_log, b"" if storage_id == _ZERO_ID else storage_id])
    except (struct.error, IndexError):
        raise CorruptDatabase("stored changeset is truncated") from None
    if position != len(data):
        raise CorruptDatabase("stored changeset is truncated")
    return entries
