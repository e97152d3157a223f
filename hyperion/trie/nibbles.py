"""Nibble paths and the hex-prefix ("compact") encoding of trie node paths.

A nibble path is kept as a ``bytes`` object whose every byte is in 0..15:
slicing, comparing and hashing it all run in C, and the conversions below
go through ``bytes.hex``/``bytes.fromhex`` plus ``translate`` tables so that
no Python-level loop touches individual nibbles.
"""

from __future__ import annotations

_HEX_DIGITS = b"0123456789abcdef"
# ASCII hex digit -> nibble value, and nibble value -> ASCII hex digit.
_HEX_TO_NIBBLE = bytes.maketrans(_HEX_DIGITS, bytes(range(16)))
_NIBBLE_TO_HEX = bytes.maketrans(bytes(range(16)), _HEX_DIGITS)

_LEAF_FLAG = 2
_ODD_FLAG = 1


class InvalidNibbles(ValueError):
    """Raised for a nibble path or hex-prefix encoding that is malformed."""


def bytes_to_nibbles(key: bytes) -> bytes:
    """Split every byte of ``key`` into its high and low nibble."""
    return key.hex().encode().translate(_HEX_TO_NIBBLE)


def nibbles_to_bytes(nibbles: bytes) -> bytes:
    """Inverse of :func:`bytes_to_nibbles`; the path must have even length."""
    if len(nibbles) & 1:
        raise InvalidNibbles("an odd-length nibble path is not a whole number of bytes")
    try:
        return bytes.fromhex(nibbles.translate(_NIBBLE_TO_HEX).decode())
    except ValueError:
        raise InvalidNibbles("nibble values must be in 0..15") from None


def encode_hex_prefix(nibbles: bytes, is_leaf: bool) -> bytes:
    """Compact-encode a node path: the flag nibble tells leaf/extension and odd/even."""
    flag = _LEAF_FLAG if is_leaf else 0
    if len(nibbles) & 1:
        head = bytes((((flag | _ODD_FLAG) << 4) | nibbles[0],))
        return head + bytes.fromhex(nibbles[1:].translate(_NIBBLE_TO_HEX).decode())
    return bytes((flag << 4,)) + bytes.fromhex(nibbles.translate(_NIBBLE_TO_HEX).decode())


def decode_hex_prefix(encoded: bytes) -> tuple[bytes, bool]:
    """Return ``(nibble_path, is_leaf)`` from a compact-encoded path."""
    if not encoded:
        raise InvalidNibbles("hex-prefix encoded path is empty")
    flag = encoded[0] >> 4
    if flag > 3:
        raise InvalidNibbles(f"invalid hex-prefix flag nibble {flag}")
    rest = bytes_to_nibbles(encoded[1:])
    if flag & _ODD_FLAG:
        return bytes((encoded[0] & 0x0F,)) + rest, bool(flag & _LEAF_FLAG)
    if encoded[0] & 0x0F:
        raise InvalidNibbles("padding nibble of an even-length path must be zero")
    return rest, bool(flag & _LEAF_FLAG)


def common_prefix_length(a: bytes, b: bytes, start: int = 0) -> int:
    """Length of the common prefix of ``a`` and ``b``, assuming the first ``start`` items match."""
    limit = min(len(a), len(b))
    i = start
    while i < limit and a[i] == b[i]:
        i += 1
    return i
