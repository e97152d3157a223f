"""Byte-level encoding of trie nodes, shared by the one-pass builder and ``HexaryTrie``.

Nodes are assembled straight from RLP pieces (``bytes`` concatenation), so a
child that is small enough to be embedded can be spliced into its parent's
payload as already-encoded bytes, with no intermediate Python structures.
"""

from __future__ import annotations

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.rlp import RLPError

EMPTY_TRIE_ROOT = keccak256(b"\x80")
"""Root hash of a trie with no entries: keccak(rlp(b''))."""

EMPTY_CHILD = b"\x80"
"""RLP of the empty string: an absent branch child or an absent branch value."""

HASH_REFERENCE_PREFIX = b"\xa0"
"""RLP prefix of a 32-byte string: what precedes a child's hash in its parent."""


class TrieError(ValueError):
    """Base class of every trie failure caused by bad input or bad stored data."""


class BadTrieNode(TrieError):
    """A node's encoding is not a valid leaf, extension or branch."""


class MissingTrieNode(TrieError):
    """A node referenced by hash is not in the node store."""


def _header(offset: int, length: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    length_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(length_bytes),)) + length_bytes


_TABLE_SIZE = 1024
STRING_HEADERS = tuple(_header(0x80, length) for length in range(_TABLE_SIZE))
"""RLP header of a byte string of each length below 1024 (not for a single byte < 0x80)."""
LIST_HEADERS = tuple(_header(0xC0, length) for length in range(_TABLE_SIZE))
"""RLP header of a list whose payload has each length below 1024."""


def encode_string(data: bytes) -> bytes:
    """RLP-encode a byte string."""
    length = len(data)
    if length < _TABLE_SIZE:
        if length == 1 and data[0] < 0x80:
            return data
        return STRING_HEADERS[length] + data
    return _header(0x80, length) + data


def encode_list(payload: bytes) -> bytes:
    """Wrap the concatenated RLP encodings of a list's items into an RLP list."""
    length = len(payload)
    if length < _TABLE_SIZE:
        return LIST_HEADERS[length] + payload
    return _header(0xC0, length) + payload


def child_reference(encoded_node: bytes) -> bytes:
    """How a parent refers to a child: inline if its RLP is under 32 bytes, else by keccak."""
    if len(encoded_node) < 32:
        return encoded_node
    return HASH_REFERENCE_PREFIX + keccak256(encoded_node)


__all__ = [
    "EMPTY_TRIE_ROOT",
    "EMPTY_CHILD",
    "HASH_REFERENCE_PREFIX",
    "TrieError",
    "BadTrieNode",
    "MissingTrieNode",
    "RLPError",
    "STRING_HEADERS",
    "LIST_HEADERS",
    "encode_string",
    "encode_list",
    "child_reference",
]
