"""Merkle proofs: inclusion and exclusion proofs verify; altered proofs are refused.

Also property checks that the updatable trie and the one-pass builder agree
(and agree with py-trie when it is installed) on random content.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.trie import (
    EMPTY_TRIE_ROOT,
    HexaryTrie,
    InvalidProof,
    trie_root,
    verify_proof,
)

keys = st.binary(min_size=0, max_size=6)
values = st.binary(min_size=1, max_size=40)
contents = st.dictionaries(keys, values, min_size=1, max_size=40)


def _trie_of(content: dict[bytes, bytes]) -> HexaryTrie:
    trie = HexaryTrie()
    for key, value in content.items():
        trie.set(key, value)
    return trie


@settings(max_examples=150, deadline=None)
@given(content=contents, probes=st.lists(keys, max_size=10))
def test_proofs_of_present_and_absent_keys_verify(content: dict, probes: list) -> None:
    trie = _trie_of(content)
    root = trie.root_hash()
    for key in list(content) + probes:
        proof = trie.get_proof(key)
        assert proof, "a non-empty trie always proves through its root node"
        assert verify_proof(root, key, proof) == content.get(key)


@settings(max_examples=150, deadline=None)
@given(
    content=contents,
    data=st.data(),
)
def test_tampered_proofs_are_refused(content: dict, data: st.DataObject) -> None:
    trie = _trie_of(content)
    root = trie.root_hash()
    key = data.draw(st.sampled_from(sorted(content)))
    proof = trie.get_proof(key)
    node_index = data.draw(st.integers(0, len(proof) - 1))
    node = proof[node_index]
    byte_index = data.draw(st.integers(0, len(node) - 1))
    flip = data.draw(st.integers(1, 255))
    altered = node[:byte_index] + bytes([node[byte_index] ^ flip]) + node[byte_index + 1 :]
    tampered = proof[:node_index] + [altered] + proof[node_index + 1 :]
    with pytest.raises(InvalidProof):
        verify_proof(root, key, tampered)


@settings(max_examples=100, deadline=None)
@given(content=contents)
def test_truncated_proof_or_wrong_root_is_refused(content: dict) -> None:
    trie = _trie_of(content)
    root = trie.root_hash()
    key = sorted(content)[0]
    proof = trie.get_proof(key)
    with pytest.raises(InvalidProof):
        verify_proof(root, key, proof[:-1])
    wrong_root = bytes([root[0] ^ 1]) + root[1:]
    with pytest.raises(InvalidProof):
        verify_proof(wrong_root, key, proof)


def test_proof_shapes() -> None:
    trie = HexaryTrie()
    assert trie.get_proof(b"any") == []
    assert verify_proof(EMPTY_TRIE_ROOT, b"any", []) is None
    trie.set(b"a", b"1")  # a single small leaf: the root node is hashed anyway
    root = trie.root_hash()
    proof = trie.get_proof(b"a")
    assert len(proof) == 1 and len(proof[0]) < 32
    assert verify_proof(root, b"a", proof) == b"1"
    assert verify_proof(root, b"b", proof) is None
    with pytest.raises(InvalidProof):
        verify_proof(root, b"a", [b"\x01garbage"])
    with pytest.raises(InvalidProof):
        verify_proof(root, "a", proof)  # type: ignore[arg-type]
    with pytest.raises(InvalidProof):
        verify_proof(root[:20], b"a", proof)


def test_proof_for_large_secure_like_trie() -> None:
    import os

    content = {os.urandom(32): os.urandom(50) for _ in range(500)}
    trie = _trie_of(content)
    root = trie.root_hash()
    assert root == trie_root(content)
    for key in list(content)[:50]:
        assert verify_proof(root, key, trie.get_proof(key)) == content[key]
    absent = os.urandom(32)
    assert verify_proof(root, absent, trie.get_proof(absent)) is None


operations = st.lists(st.tuples(keys, st.binary(min_size=0, max_size=40)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops=operations, hash_every=st.integers(1, 8))
def test_updatable_trie_matches_one_pass_root(ops: list, hash_every: int) -> None:
    """Random sets/deletes (empty value = delete), hashing every few steps to exercise dirty paths."""
    trie = HexaryTrie()
    expected: dict[bytes, bytes] = {}
    for step, (key, value) in enumerate(ops):
        trie.set(key, value)
        if value:
            expected[key] = value
        else:
            expected.pop(key, None)
        if step % hash_every == 0:
            assert trie.root_hash() == trie_root(expected)
    assert trie.root_hash() == trie_root(expected)
    assert dict(trie.items()) == expected
    for key, value in expected.items():
        assert trie.get(key) == value
    reopened = HexaryTrie(trie.db, trie.root_hash())
    assert dict(reopened.items()) == expected


@settings(max_examples=100, deadline=None)
@given(ops=operations)
def test_agrees_with_py_trie(ops: list) -> None:
    py_trie = pytest.importorskip("trie")
    reference = py_trie.HexaryTrie({})
    ours = HexaryTrie()
    for key, value in ops:
        if value:
            reference[key] = value
        elif reference.get(key):
            del reference[key]
        ours.set(key, value)
    assert ours.root_hash() == reference.root_hash
