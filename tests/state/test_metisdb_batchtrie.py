"""The commit-time batch merge gives HexaryTrie's roots, stores exactly the new
trie's nodes under fresh ids, and reports exactly the ids it replaced."""

from __future__ import annotations

import random

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater
from hyperion.state.metisdb.nodelog import NO_ID, iterate, subtree_ids, walk
from hyperion.trie import EMPTY_TRIE_ROOT, HexaryTrie
from hyperion.trie.nibbles import nibbles_to_bytes


def _ids(store: dict, root_id: bytes) -> set:
    return set(subtree_ids(store.__getitem__, root_id, account_trie=False))


@pytest.mark.parametrize("key_length,value_size", [(1, 1), (2, 3), (3, 40), (32, 2), (32, 80)])
@pytest.mark.parametrize("seed", range(8))
def test_random_batches_match_hexary_trie(seed: int, key_length: int, value_size: int) -> None:
    rng = random.Random(seed * 100 + key_length)
    reference = HexaryTrie({})
    store: dict = {}
    updater = BatchTrieUpdater(store.__getitem__, store.__setitem__)
    root, root_id = EMPTY_TRIE_ROOT, NO_ID
    universe = [rng.randbytes(key_length) for _ in range(min(60, 256 ** key_length))]
    value_ids: dict[bytes, bytes] = {}
    for _ in range(12):
        changes = {}
        for key in rng.sample(universe, rng.randrange(1, len(universe) + 1)):
            changes[key] = b"" if rng.random() < 0.35 else rng.randbytes(rng.randrange(1, value_size + 1))
        keys = sorted(changes)
        values = [changes[key] for key in keys]
        ids = [rng.randbytes(8) if value_size > 40 and changes[key] else NO_ID for key in keys]
        # Hints of previous values: mostly right, sometimes wrong (must not matter).
        previous = [reference.get(key) if rng.random() < 0.8 else rng.randbytes(3) for key in keys]
        for key, value, value_id in zip(keys, values, ids):
            reference.set(key, value)
            value_ids[key] = value_id
        before = _ids(store, root_id)
        updater.replaced = []
        root, root_id = updater.update(root, root_id, keys, values, previous if seed % 2 else None, ids)
        assert root == reference.root_hash()
        if root == EMPTY_TRIE_ROOT:
            assert root_id == NO_ID
            continue
        after = _ids(store, root_id)
        assert set(updater.replaced) == before - after  # exactly what pruning may drop
        contents = {nibbles_to_bytes(path): (value, value_id)
                    for path, value, value_id in iterate(store.__getitem__, root_id)}
        assert contents == {key: (value, value_ids[key]) for key, value in reference.items()}
        for key in rng.sample(universe, 5):
            value, value_id, proof = walk(store.__getitem__, root_id, key)
            assert value == reference.get(key)
            assert proof == [node for node in reference.get_proof(key) if len(node) >= 32
                             or node == reference.get_proof(key)[0]]


def test_new_records_are_appended_with_increasing_ids() -> None:
    store: dict = {}
    updater = BatchTrieUpdater(store.__getitem__, store.__setitem__, next_id=7)
    written: list[bytes] = []
    updater._store = lambda key, value: (written.append(key), store.__setitem__(key, value))
    keys = sorted(keccak256(bytes([i])) for i in range(50))
    root, root_id = updater.update(EMPTY_TRIE_ROOT, NO_ID, keys, [b"v" * 40] * 50)
    assert written == sorted(written) and written[0] == (7).to_bytes(8, "big")
    assert updater.next_id == 7 + len(written)
    assert set(written) == _ids(store, root_id)  # nothing unreachable is written


def test_missing_node_is_reported() -> None:
    store: dict = {}
    updater = BatchTrieUpdater(store.__getitem__, store.__setitem__)
    with pytest.raises(ValueError):
        updater.update(keccak256(b"nothing"), (5).to_bytes(8, "big"), [b"\x01" * 32], [b"x"])


def test_list_store_appends_the_records_a_callable_would_receive() -> None:
    """``store`` may be a list (what the engine passes): each new record is appended as
    ``(id, record)``, in the order and with the bytes a callable store receives."""
    rng = random.Random(61)
    keys = sorted(rng.randbytes(32) for _ in range(200))
    called: list = []
    records: dict = {}

    def store(record_id: bytes, record: bytes) -> None:
        called.append((record_id, record))
        records[record_id] = record

    by_call = BatchTrieUpdater(records.__getitem__, store)
    appended: list = []
    listed_records: dict = {}
    by_list = BatchTrieUpdater(listed_records.__getitem__, appended)
    roots = [(EMPTY_TRIE_ROOT, NO_ID), (EMPTY_TRIE_ROOT, NO_ID)]
    values = {key: rng.randbytes(60) for key in keys}
    for round_number in range(4):
        chosen = sorted(rng.sample(keys, 50))
        new_values = [b"" if round_number == 3 and rng.random() < 0.3 else rng.randbytes(60) for _ in chosen]
        previous = [values.get(key, b"") for key in chosen]
        called.clear()
        appended.clear()
        roots[0] = by_call.update(*roots[0], chosen, new_values, previous)
        roots[1] = by_list.update(*roots[1], chosen, new_values, previous)
        assert appended == called and roots[0] == roots[1]
        listed_records.update(appended)
        for key, value in zip(chosen, new_values):
            values[key] = value
