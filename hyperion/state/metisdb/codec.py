"""Key and value encodings of MetisDB's tables (LMDB sub-databases).

- ``accounts``: address (20) -> account trie leaf, rlp([nonce, balance, storage_root, code_hash])
  (the flat view stores exactly the trie's leaf, so no second format exists);
- ``storage``: address (20) + slot (32, big-endian) -> value, minimal big-endian, never zero;
- ``code``: code hash -> code;  ``nodes``: node hash -> RLP node;  ``refs``: node hash -> count;
- ``roots``: block (8, big-endian, so keys sort by number) -> state root;
- ``changes``: block -> the values every record touched by that block had before it
  (account records and slots, "" = absent), packed by :func:`encode_changeset`, for rollback.
"""

from __future__ import annotations

import struct
from typing import Iterator

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


def slot_key(address: bytes, slot: int) -> bytes:
    return address + slot.to_bytes(32, "big")


def uint_bytes(value: int) -> bytes:
    """Minimal big-endian bytes of a non-negative int (b"" for zero)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_record(data: bytes) -> tuple[int, int, bytes, bytes]:
    """Decode a stored account record, reporting damage as ``CorruptDatabase``.

    Fast path for the canonical layout we write (two integers, then two 32-byte
    strings); anything else goes through the general RLP decoder, which validates.
    """
    try:
        length = len(data)
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


def decode_slot_leaf(data: bytes) -> int:
    """Value of a storage-trie leaf (rlp of the minimal big-endian integer)."""
    try:
        return rlp.decode_int(rlp.decode(data), 32)
    except rlp.RLPError as exc:
        raise CorruptDatabase(f"stored storage value is damaged: {exc}") from None


_ENTRY_HEADER = struct.Struct(">20sHI")  # address, old record length, slot count
CHANGESET_ENTRY = _ENTRY_HEADER
"""Header of one changeset entry (address, old record length, slot count), for writers
that pack entries as they go."""


def encode_changeset(entries: list) -> bytes:
    """Pack ``[[address, old_record, [[slot32, old_value], ...]], ...]`` (values may be b"").

    A flat binary layout, because this runs for every account of every block:
    per entry the header (address, record length, slot count), the record, then
    per slot the 32-byte key, one length byte and the value.
    """
    pack_header = _ENTRY_HEADER.pack
    parts = []
    for address, old_record, slot_log in entries:
        parts.append(pack_header(address, len(old_record), len(slot_log)))
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
            address, record_length, slot_count = unpack_header(data, position)
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
            entries.append([address, old_record, slot_log])
    except (struct.error, IndexError):
        raise CorruptDatabase("stored changeset is truncated") from None
    if position != len(data):
        raise CorruptDatabase("stored changeset is truncated")
    return entries


def _item_bounds(data: bytes, pos: int) -> tuple[int, int, bool]:
    """(payload start, item end, is_list) of the RLP item at ``pos``."""
    prefix = data[pos]
    if prefix < 0x80:
        return pos, pos + 1, False
    if prefix < 0xB8:
        return pos + 1, pos + 1 + prefix - 0x80, False
    if prefix < 0xC0:
        size = prefix - 0xB7
        length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
        return pos + 1 + size, pos + 1 + size + length, False
    if prefix < 0xF8:
        return pos + 1, pos + 1 + prefix - 0xC0, True
    size = prefix - 0xF7
    length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
    return pos + 1 + size, pos + 1 + size + length, True


def node_references(encoded: bytes, account_trie: bool) -> Iterator[bytes]:
    """Hashes a stored trie node refers to: hashed children and, for account-trie
    leaves, the account's storage root. Embedded children are under 32 bytes and
    so cannot themselves hold a hash."""
    try:
        start, end, is_list = _item_bounds(encoded, 0)
        if not is_list:
            raise CorruptDatabase("trie node is not an RLP list")
        items = []
        pos = start
        while pos < end:
            payload, item_end, item_is_list = _item_bounds(encoded, pos)
            items.append((pos, payload, item_end, item_is_list))
            pos = item_end
    except IndexError:
        raise CorruptDatabase("trie node is truncated") from None
    if len(items) == 17:
        for pos, payload, item_end, item_is_list in items[:16]:
            if not item_is_list and item_end - payload == 32:
                yield encoded[payload:item_end]
        return
    if len(items) != 2:
        raise CorruptDatabase(f"trie node has {len(items)} items")
    (_, path_start, path_end, _), (_, payload, item_end, item_is_list) = items
    is_leaf = path_end > path_start and encoded[path_start] >> 4 in (2, 3)
    if not is_leaf:
        if not item_is_list and item_end - payload == 32:
            yield encoded[payload:item_end]
        return
    if account_trie:
        storage_root = decode_record(encoded[payload:item_end])[2]
        if storage_root != EMPTY_TRIE_ROOT:
            yield storage_root


def is_leaf_node(encoded: bytes) -> bool:
    """Whether an RLP trie node is a leaf (two items, path with the leaf flag)."""
    start, end, _ = _item_bounds(encoded, 0)
    path_start, path_end, _ = _item_bounds(encoded, start)
    if path_end >= end:
        return False
    _, value_end, _ = _item_bounds(encoded, path_end)
    if value_end != end:
        return False  # more than two items: a branch
    return path_end > path_start and encoded[path_start] >> 4 in (2, 3)
