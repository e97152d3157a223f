"""The commit-time batch trie merge gives HexaryTrie's roots and stores exactly its nodes."""

from __future__ import annotations

import random

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater
from hyperion.trie import EMPTY_TRIE_ROOT, HexaryTrie


def _reachable(store: dict, root: bytes) -> dict:
    """Nodes reachable from ``root`` (walks HexaryTrie proofs of every key)."""
    trie = HexaryTrie(store, root)
    nodes = {}
    for key, _ in trie.items():
        for node in trie.get_proof(key):
            nodes[keccak256(node)] = node
    return nodes


@pytest.mark.parametrize("key_length,value_size", [(1, 1), (2, 3), (3, 40), (32, 2), (32, 80)])
@pytest.mark.parametrize("seed", range(8))
def test_random_batches_match_hexary_trie(seed: int, key_length: int, value_size: int) -> None:
    rng = random.Random(seed * 100 + key_length)
    reference_store: dict = {}
    batch_store: dict = {}
    reference = HexaryTrie(reference_store)
    updater = BatchTrieUpdater(batch_store.__getitem__, batch_store.__setitem__)
    root = EMPTY_TRIE_ROOT
    universe = [rng.randbytes(key_length) for _ in range(min(60, 256 ** key_length))]
    for _ in range(12):
        changes = {}
        for key in rng.sample(universe, rng.randrange(1, len(universe) + 1)):
            changes[key] = b"" if rng.random() < 0.35 else rng.randbytes(rng.randrange(1, value_size + 1))
        ordered = sorted(changes.items())
        # Hints of previous values: mostly right, sometimes wrong (must not matter).
        previous = [reference.get(key) if rng.random() < 0.8 else rng.randbytes(3) for key, _ in ordered]
        for key, value in changes.items():
            reference.set(key, value)
        root = updater.update(root, ordered, previous if seed % 2 else None)
        assert root == reference.root_hash()
        if root != EMPTY_TRIE_ROOT:
            # Every node the new trie needs is stored, and proofs walk the batch store.
            assert _reachable(batch_store, root) == _reachable(reference_store, root)
            for key in rng.sample(universe, 5):
                assert HexaryTrie(batch_store, root).get(key) == reference.get(key)


def test_batch_stores_no_node_outside_the_new_trie() -> None:
    rng = random.Random(4)
    store: dict = {}
    updater = BatchTrieUpdater(store.__getitem__, store.__setitem__)
    root = updater.update(EMPTY_TRIE_ROOT, sorted((keccak256(bytes([i])), b"v%d" % i) for i in range(50)))
    before = set(store)
    changes = sorted((keccak256(bytes([i])), b"" if i % 3 else b"w") for i in range(0, 50, 2))
    written: list[bytes] = []
    updater.rebind(store.__getitem__, lambda key, value: (written.append(key), store.__setitem__(key, value)))
    root = updater.update(root, changes)
    reachable = set(_reachable(store, root))
    assert set(written) <= reachable  # nothing unreferenced (reference counting relies on it)
    assert rng is not None and before


def test_missing_node_is_reported() -> None:
    store: dict = {}
    updater = BatchTrieUpdater(store.__getitem__, store.__setitem__)
    with pytest.raises(ValueError):
        updater.update(keccak256(b"nothing"), [(b"\x01" * 32, b"x")])
