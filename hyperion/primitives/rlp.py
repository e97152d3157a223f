"""Recursive Length Prefix encoding, strict (canonical-only) decoding.

Items are ``bytes`` (strings) or ``list``/``tuple`` of items. Integers are
encoded big-endian without leading zeros (0 -> empty string). Decoding
rejects every non-canonical form, as consensus code must.
"""

from __future__ import annotations

from typing import Union

Item = Union[bytes, list, tuple]


class RLPError(ValueError):
    """Raised when bytes are not a canonical RLP encoding."""


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    lb = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(lb),)) + lb


def encode(item) -> bytes:
    """Encode bytes / int / bool / nested lists into RLP."""
    t = type(item)
    if t is bytes or t is bytearray or t is memoryview:
        b = bytes(item)
        if len(b) == 1 and b[0] < 0x80:
            return b
        return _length_prefix(len(b), 0x80) + b
    if t is list or t is tuple:
        payload = b"".join([encode(x) for x in item])
        return _length_prefix(len(payload), 0xC0) + payload
    if t is int or t is bool:
        if item < 0:
            raise RLPError("cannot RLP-encode a negative integer")
        if item == 0:
            return b"\x80"
        if item < 0x80:
            return bytes((item,))
        b = item.to_bytes((item.bit_length() + 7) // 8, "big")
        return _length_prefix(len(b), 0x80) + b
    if isinstance(item, str):
        return encode(item.encode())
    if isinstance(item, int):
        return encode(int(item))
    if hasattr(item, "to_rlp"):
        return encode(item.to_rlp())
    raise RLPError(f"cannot RLP-encode object of type {t.__name__}")


def encode_int(value: int) -> bytes:
    """Minimal big-endian bytes of a non-negative int (0 -> b'')."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


MAX_DEPTH = 1024  # nesting limit: no Ethereum structure comes close


def _decode_at(data: bytes, pos: int, end: int, depth: int = 0):
    """Decode one item starting at ``pos``; return (item, next_pos)."""
    if pos >= end:
        raise RLPError("unexpected end of input")
    b0 = data[pos]
    if b0 < 0x80:
        return data[pos : pos + 1], pos + 1
    if b0 < 0xB8:
        length = b0 - 0x80
        start = pos + 1
        stop = start + length
        if stop > end:
            raise RLPError("string length exceeds input")
        if length == 1 and data[start] < 0x80:
            raise RLPError("single byte below 0x80 must not be prefixed")
        return data[start:stop], stop
    if b0 < 0xC0:
        ll = b0 - 0xB7
        start = pos + 1 + ll
        if start > end:
            raise RLPError("length of length exceeds input")
        if data[pos + 1] == 0:
            raise RLPError("length has leading zero bytes")
        length = int.from_bytes(data[pos + 1 : start], "big")
        if length < 56:
            raise RLPError("long string form used for a short string")
        stop = start + length
        if stop > end:
            raise RLPError("string length exceeds input")
        return data[start:stop], stop
    if b0 < 0xF8:
        length = b0 - 0xC0
        start = pos + 1
    else:
        ll = b0 - 0xF7
        start = pos + 1 + ll
        if start > end:
            raise RLPError("length of length exceeds input")
        if data[pos + 1] == 0:
            raise RLPError("length has leading zero bytes")
        length = int.from_bytes(data[pos + 1 : start], "big")
        if length < 56:
            raise RLPError("long list form used for a short list")
    stop = start + length
    if stop > end:
        raise RLPError("list length exceeds input")
    if depth >= MAX_DEPTH:
        raise RLPError(f"RLP nesting deeper than {MAX_DEPTH}")
    items = []
    p = start
    while p < stop:
        item, p = _decode_at(data, p, stop, depth + 1)
        items.append(item)
    if p != stop:
        raise RLPError("list payload length mismatch")
    return items, stop


def decode(data: bytes) -> Item:
    """Decode exactly one RLP item occupying all of ``data``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RLPError("RLP input must be bytes")
    data = bytes(data)
    try:
        item, pos = _decode_at(data, 0, len(data))
    except RecursionError:
        raise RLPError("RLP nesting too deep") from None
    if pos != len(data):
        raise RLPError("trailing bytes after RLP item")
    return item


def decode_int(b: bytes, max_bytes: int = 32) -> int:
    """Decode a canonical RLP integer string (no leading zeros, bounded size)."""
    if not isinstance(b, (bytes, bytearray)):
        raise RLPError("expected an integer, got a list")
    if len(b) > max_bytes:
        raise RLPError(f"integer longer than {max_bytes} bytes")
    if b and b[0] == 0:
        raise RLPError("integer has leading zero bytes")
    return int.from_bytes(b, "big")
