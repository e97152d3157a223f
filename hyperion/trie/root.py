"""One-pass trie root computation from a complete key->value set.

State roots, storage roots and transaction/receipt/withdrawal roots are all
computed from content that is known in full, so there is no need for an
updatable trie: the keys are sorted once and the node structure is derived
recursively from the sorted run (a sorted run shares a common prefix exactly
as long as its first and last key do; a branch splits it into contiguous
sub-runs found by bisection). Only encoded bytes are produced on the way.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Iterable, Mapping, Sequence

from hyperion.primitives.keccak import keccak256
from hyperion.trie.codec import (
    EMPTY_TRIE_ROOT,
    HASH_REFERENCE_PREFIX,
    TrieError,
    encode_list,
    encode_string,
)
from hyperion.trie.nibbles import bytes_to_nibbles, common_prefix_length, encode_hex_prefix

# The single-nibble upper bounds used to find where a branch child's run ends.
_NIBBLE_AFTER = [bytes((n + 1,)) for n in range(16)]
_EMPTY_SLOTS = [b"\x80" * n for n in range(17)]


def _reference(encoded: bytes) -> bytes:
    if len(encoded) < 32:
        return encoded
    return HASH_REFERENCE_PREFIX + keccak256(encoded)


def _encode_run(keys: list[bytes], values: list[bytes], lo: int, hi: int, depth: int) -> bytes:
    """Encode the node holding ``keys[lo:hi]`` (sorted nibble paths sharing ``depth`` nibbles)."""
    first = keys[lo]
    if hi - lo == 1:
        return encode_list(
            encode_string(encode_hex_prefix(first[depth:], True)) + encode_string(values[lo])
        )
    shared = common_prefix_length(first, keys[hi - 1], depth)
    if shared > depth:
        child = _encode_run(keys, values, lo, hi, shared)
        return encode_list(
            encode_string(encode_hex_prefix(first[depth:shared], False)) + _reference(child)
        )
    branch_value = b""
    if len(first) == depth:  # a key ending exactly here is the branch's value
        branch_value = values[lo]
        lo += 1
    prefix = first[:depth]
    parts = []
    next_slot = 0
    start = lo
    while start < hi:
        nibble = keys[start][depth]
        parts.append(_EMPTY_SLOTS[nibble - next_slot])
        end = bisect_left(keys, prefix + _NIBBLE_AFTER[nibble], start, hi)
        parts.append(_reference(_encode_run(keys, values, start, end, depth + 1)))
        next_slot = nibble + 1
        start = end
    parts.append(_EMPTY_SLOTS[16 - next_slot])
    parts.append(encode_string(branch_value))
    return encode_list(b"".join(parts))


def _root_of_pairs(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """Root hash of (key, value) pairs with distinct keys and non-empty values, in any order."""
    if not pairs:
        return EMPTY_TRIE_ROOT
    # Byte order and nibble order agree, so sorting the raw keys sorts the paths.
    try:
        pairs.sort()
        keys = [bytes_to_nibbles(key) for key, _ in pairs]
    except (TypeError, AttributeError):
        raise TrieError("trie keys must be bytes") from None
    values = [value for _, value in pairs]
    return keccak256(_encode_run(keys, values, 0, len(keys), 0))


def _non_empty_pairs(items: Mapping[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    try:
        pairs = [(key, value) for key, value in items.items() if value]
    except AttributeError:
        raise TrieError("trie content must be a mapping of bytes to bytes") from None
    for key, value in pairs:
        if not isinstance(key, bytes) or not isinstance(value, bytes):
            raise TrieError("trie keys and values must be bytes")
    return pairs


def trie_root(items: Mapping[bytes, bytes]) -> bytes:
    """Root hash of the trie holding ``items``; empty values count as absent."""
    return _root_of_pairs(_non_empty_pairs(items))


def secure_trie_root(items: Mapping[bytes, bytes]) -> bytes:
    """Root hash of the "secure" trie, where each key is replaced by its keccak."""
    return _root_of_pairs([(keccak256(key), value) for key, value in _non_empty_pairs(items)])


def hashed_key_trie_root(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Root of a secure trie whose keys the caller already hashed (distinct, non-empty values).

    The state root uses it with per-account cached ``keccak(address)``.
    """
    return _root_of_pairs(list(pairs))


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the list trie used for transactions, receipts and withdrawals: key = rlp(index)."""
    pairs = []
    for index, value in enumerate(values):
        if not isinstance(value, bytes):
            raise TrieError("ordered trie values must be bytes")
        key = encode_string(index.to_bytes((index.bit_length() + 7) // 8, "big"))
        pairs.append((key, value))
    return _root_of_pairs([pair for pair in pairs if pair[1]])
