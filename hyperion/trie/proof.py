"""Merkle proofs (EIP-1186 style): walking encoded nodes, and verifying a proof.

A proof is the list of RLP-encoded nodes that are referenced by hash on the
path from the root to a key, root first. Nodes embedded in their parent
(encoding under 32 bytes) travel inside that parent and are not listed.
"""

from __future__ import annotations

from typing import Callable, Sequence

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.trie.codec import EMPTY_TRIE_ROOT, BadTrieNode, MissingTrieNode, TrieError
from hyperion.trie.nibbles import InvalidNibbles, bytes_to_nibbles, decode_hex_prefix


class InvalidProof(TrieError):
    """The proof does not connect the key to the root (missing, altered or malformed nodes)."""


def walk_encoded_path(
    root_hash: bytes, key: bytes, fetch: Callable[[bytes], bytes]
) -> tuple[bytes | None, list[bytes]]:
    """Follow ``key`` from ``root_hash`` through RLP nodes obtained with ``fetch(hash)``.

    Returns the value (``None`` when the key is provably absent) and the list of
    hash-referenced node encodings visited, root first. ``fetch`` raises
    ``MissingTrieNode`` for an unknown hash.
    """
    if root_hash == EMPTY_TRIE_ROOT:
        return None, []
    path = bytes_to_nibbles(key)
    position = 0
    encoded = fetch(root_hash)
    visited = [encoded]
    node = _decode_node(encoded)
    while True:
        if len(node) == 17:
            if position == len(path):
                return _value_of(node[16]), visited
            child = node[path[position]]
            position += 1
        elif len(node) == 2:
            if not isinstance(node[0], bytes):
                raise BadTrieNode("node path must be a string")
            try:
                node_path, is_leaf = decode_hex_prefix(node[0])
            except InvalidNibbles as exc:
                raise BadTrieNode(str(exc)) from None
            if is_leaf:
                if path[position:] == node_path:
                    return _value_of(node[1]), visited
                return None, visited
            if path[position : position + len(node_path)] != node_path:
                return None, visited
            position += len(node_path)
            child = node[1]
            if child == b"":
                raise BadTrieNode("extension node without a child")
        else:
            raise BadTrieNode(f"trie node must have 2 or 17 items, not {len(node)}")
        if isinstance(child, list):  # embedded node
            node = child
        elif child == b"":
            return None, visited
        elif len(child) == 32:
            encoded = fetch(child)
            visited.append(encoded)
            node = _decode_node(encoded)
        else:
            raise BadTrieNode(f"child reference of {len(child)} bytes is neither a hash nor a node")


def _decode_node(encoded: bytes) -> list:
    try:
        node = rlp.decode(encoded)
    except rlp.RLPError as exc:
        raise BadTrieNode(f"trie node is not valid RLP: {exc}") from None
    if not isinstance(node, list):
        raise BadTrieNode("trie node must be an RLP list")
    return node


def _value_of(item: object) -> bytes | None:
    if not isinstance(item, bytes):
        raise BadTrieNode("trie value must be a string")
    return item or None


def verify_proof(root_hash: bytes, key: bytes, proof: Sequence[bytes]) -> bytes | None:
    """Check ``proof`` against ``root_hash``: the value of ``key``, or ``None`` if provably absent.

    Raises ``InvalidProof`` when the proof is incomplete, altered or malformed.
    """
    if not isinstance(root_hash, bytes) or len(root_hash) != 32:
        raise InvalidProof("root hash must be 32 bytes")
    if not isinstance(key, bytes):
        raise InvalidProof("key must be bytes")
    nodes: dict[bytes, bytes] = {}
    for encoded in proof:
        if not isinstance(encoded, (bytes, bytearray)):
            raise InvalidProof("proof nodes must be bytes")
        nodes[keccak256(bytes(encoded))] = bytes(encoded)

    def fetch(node_hash: bytes) -> bytes:
        try:
            return nodes[node_hash]
        except KeyError:
            raise MissingTrieNode(f"proof lacks node {node_hash.hex()}") from None

    try:
        value, _ = walk_encoded_path(root_hash, key, fetch)
    except TrieError as exc:
        raise InvalidProof(str(exc)) from None
    return value
