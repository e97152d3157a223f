"""The C trie merger (``_trie_native``) is a drop-in for the Python ``BatchTrieUpdater``:
on the same inputs it makes the same store calls (ids, record bytes, order), reports
the same replaced ids, returns the same root and id, leaves the same ``next_id`` and
caches the same node ids (the C class caches the raw records, the Python class its
split tuples); bad stored records raise the same typed errors. Also the module's
commit-loop helpers ``keccak256`` and ``encode_account`` against the Python ones."""

from __future__ import annotations

import random
import tracemalloc
from typing import Optional

import pytest

native = pytest.importorskip("hyperion.state.metisdb._trie_native")

from hyperion.primitives.keccak import keccak256  # noqa: E402
from hyperion.primitives.rlp import encode  # noqa: E402
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater as PythonUpdater  # noqa: E402
from hyperion.state.metisdb.errors import CorruptDatabase  # noqa: E402
from hyperion.state.metisdb.nodelog import NO_ID  # noqa: E402
from hyperion.trie import EMPTY_TRIE_ROOT, HexaryTrie  # noqa: E402
from hyperion.trie.codec import BadTrieNode, MissingTrieNode, TrieError  # noqa: E402

NativeUpdater = native.BatchTrieUpdater


class Recorder:
    """A dict-backed node log that records every store call."""

    def __init__(self, records: Optional[dict] = None) -> None:
        self.records: dict[bytes, bytes] = {} if records is None else records
        self.calls: list[tuple[bytes, bytes]] = []

    def fetch(self, record_id: bytes) -> bytes:
        return self.records[record_id]

    def store(self, record_id: bytes, record: bytes) -> None:
        self.calls.append((record_id, record))
        self.records[record_id] = record


def _outcome(updater, recorder: Recorder, root: bytes, root_id: bytes, keys, values, previous, value_ids):
    """Everything observable about one update: result or error type, calls, replaced, next_id."""
    recorder.calls = []
    updater.replaced = []
    try:
        result = ("ok", updater.update(root, root_id, keys, values, previous, value_ids))
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        result = ("error", type(exc))
    return result, recorder.calls, list(updater.replaced), updater.next_id


def _assert_same_cached_ids(native_updater, native_log: Recorder, python_updater) -> None:
    """Both caches hold the same ids; the C entries are exactly the stored records."""
    assert set(native_updater.parsed) == set(python_updater.parsed), "cached ids differ"
    for record_id, record in native_updater.parsed.items():
        assert type(record) is bytes and record == native_log.records[record_id]


class Pair:
    """The Python and the C updater side by side, each on its own copy of the log."""

    def __init__(self, next_id: int = 1, cache_size: int = 200_000, records: Optional[dict] = None) -> None:
        self.python_log = Recorder(dict(records or {}))
        self.native_log = Recorder(dict(records or {}))
        self.python = PythonUpdater(self.python_log.fetch, self.python_log.store, next_id, None, cache_size)
        self.native = NativeUpdater(self.native_log.fetch, self.native_log.store, next_id, None, cache_size)
        self.root, self.root_id = EMPTY_TRIE_ROOT, NO_ID

    def update(self, keys, values, previous=None, value_ids=None, root=None, root_id=None):
        root = self.root if root is None else root
        root_id = self.root_id if root_id is None else root_id
        expected = _outcome(self.python, self.python_log, root, root_id, keys, values, previous, value_ids)
        actual = _outcome(self.native, self.native_log, root, root_id, keys, values, previous, value_ids)
        assert actual[0] == expected[0]
        assert actual[1] == expected[1], "store calls differ"
        assert actual[2] == expected[2], "replaced ids differ"
        assert actual[3] == expected[3], "next_id differs"
        _assert_same_cached_ids(self.native, self.native_log, self.python)
        if expected[0][0] == "ok":
            self.root, self.root_id = expected[0][1]
        return expected[0]


def _random_round(rng: random.Random, universe: list, reference: HexaryTrie, value_size: int,
                  delete_share: float, id_values: bool):
    changes = {}
    for key in rng.sample(universe, rng.randrange(1, len(universe) + 1)):
        changes[key] = b"" if rng.random() < delete_share else rng.randbytes(rng.randrange(1, value_size + 1))
    keys = sorted(changes)
    values = [changes[key] for key in keys]
    ids = [rng.randbytes(8) if id_values and changes[key] else NO_ID for key in keys]
    # Hints of previous values: mostly right, sometimes wrong (must not matter).
    previous = [reference.get(key) if rng.random() < 0.8 else rng.randbytes(3) for key in keys]
    for key, value in zip(keys, values):
        reference.set(key, value)
    return keys, values, previous, ids


def test_keccak_matches_reference() -> None:
    rng = random.Random(1)
    for length in [0, 1, 31, 32, 33, 55, 56, 135, 136, 137, 271, 272, 273, 1000, 5000]:
        data = rng.randbytes(length)
        assert native.keccak256(data) == keccak256(data)


@pytest.mark.parametrize("key_length,value_size", [(1, 1), (2, 3), (3, 40), (32, 2), (32, 80)])
@pytest.mark.parametrize("seed", range(8))
def test_random_batches_match_python(seed: int, key_length: int, value_size: int) -> None:
    rng = random.Random(seed * 100 + key_length)
    reference = HexaryTrie({})
    pair = Pair(next_id=1 + seed)
    universe = [rng.randbytes(key_length) for _ in range(min(60, 256 ** key_length))]
    for _ in range(12):
        keys, values, previous, ids = _random_round(rng, universe, reference, value_size, 0.35, value_size > 40)
        root, _ = pair.update(keys, values, previous if seed % 2 else None, ids if seed % 4 < 2 else None)[1]
        assert root == reference.root_hash()


@pytest.mark.parametrize("key_length", [1, 2, 3, 32])
@pytest.mark.parametrize("seed", range(6))
def test_growing_and_shrinking_trie(seed: int, key_length: int) -> None:
    """Many rounds on one trie: insert-only rounds (the fast path), then delete-heavy
    ones until it is empty, then growth again; tuples and lists as arguments."""
    rng = random.Random(7000 + seed * 10 + key_length)
    reference = HexaryTrie({})
    pair = Pair()
    universe = [rng.randbytes(key_length) for _ in range(min(300, 256 ** key_length))]
    for delete_share in [0.0, 0.0, 0.0, 0.1, 0.5, 0.9, 1.0, 1.0, 0.0, 0.0, 0.3]:
        keys, values, previous, ids = _random_round(rng, universe, reference, 70, delete_share, True)
        pair.update(tuple(keys), values, tuple(previous), ids)
        assert pair.root == reference.root_hash()


def test_parse_cache_lives_across_updaters() -> None:
    """One NodeCache passed to successive C updaters (as the engine does across
    commits) gives the same results as one Python updater; entries are raw records."""
    rng = random.Random(42)
    universe = [rng.randbytes(32) for _ in range(400)]
    solo_log, native_log = Recorder(), Recorder()
    solo = PythonUpdater(solo_log.fetch, solo_log.store)
    shared = native.NodeCache()
    reference = HexaryTrie({})
    solo_root = native_root = (EMPTY_TRIE_ROOT, NO_ID)
    for round_number in range(16):
        keys, values, previous, ids = _random_round(rng, universe, reference, 80, 0.2 if round_number > 5 else 0,
                                                    True)
        worker = NativeUpdater(native_log.fetch, native_log.store, solo.next_id, shared)
        assert worker.parsed is shared
        expected = _outcome(solo, solo_log, *solo_root, keys, values, previous, ids)
        actual = _outcome(worker, native_log, *native_root, keys, values, previous, ids)
        assert actual == expected
        _assert_same_cached_ids(worker, native_log, solo)
        solo_root = native_root = expected[0][1]
        assert solo_root[0] == reference.root_hash()


@pytest.mark.parametrize("cache_size", [0, 1, 7, 50])
def test_small_parse_cache_limits(cache_size: int) -> None:
    rng = random.Random(cache_size)
    reference = HexaryTrie({})
    pair = Pair(cache_size=cache_size)
    universe = [rng.randbytes(32) for _ in range(200)]
    for round_number in range(10):
        keys, values, previous, ids = _random_round(rng, universe, reference, 80, 0.25 * (round_number % 2), False)
        pair.update(keys, values, previous)
        assert pair.root == reference.root_hash()


def test_empty_batch_and_empty_results() -> None:
    pair = Pair()
    assert pair.native.update(b"\x11" * 32, b"id", [], []) == (b"\x11" * 32, b"id")
    pair.update([b"\x01" * 32], [b""])  # deleting from an empty trie
    assert pair.root == EMPTY_TRIE_ROOT and pair.root_id == NO_ID
    pair.update([b"\x01" * 32, b"\x02" * 32], [b"a", b"b" * 50])
    pair.update([b"\x01" * 32, b"\x02" * 32], [b"", b""])
    assert pair.root == EMPTY_TRIE_ROOT and pair.root_id == NO_ID


def test_small_roots_are_stored_by_hash() -> None:
    """Roots under 32 bytes (one short leaf, a branch of embedded leaves) get a record."""
    pair = Pair(next_id=100)
    pair.update([b"\x05"], [b"x"])
    pair.update([b"\x05", b"\x15"], [b"y", b"z"], previous=[b"x", b""])
    pair.update([b"\x05"], [b""], previous=[b"y"])
    assert pair.native.next_id == pair.python.next_id > 100


def test_wrong_previous_hints_and_value_ids() -> None:
    rng = random.Random(5)
    keys = sorted(rng.randbytes(32) for _ in range(300))
    pair = Pair()
    pair.update(keys, [rng.randbytes(80) for _ in keys], value_ids=[rng.randbytes(8) for _ in keys])
    for _ in range(4):
        chosen = sorted(rng.sample(keys, 100))
        wrong = [rng.randbytes(rng.choice([1, 5, 80])) for _ in chosen]
        pair.update(chosen, [rng.randbytes(rng.choice([1, 20, 80])) for _ in chosen], previous=wrong,
                    value_ids=[rng.randbytes(8) for _ in chosen])


def test_large_batch_over_large_trie() -> None:
    rng = random.Random(2024)
    keys = sorted({keccak256(index.to_bytes(4, "big")) for index in range(50_000)})
    values = {key: encode([rng.randrange(1000), rng.randrange(10 ** 20), keccak256(key), keccak256(key[:4])])
              for key in keys}
    pair = Pair()
    pair.update(keys, [values[key] for key in keys])
    changed = sorted(rng.sample(keys, 15_000) + [rng.randbytes(32) for _ in range(5_000)])
    new_values = [b"" if rng.random() < 0.1 else rng.randbytes(rng.choice([2, 80])) for _ in changed]
    previous = [values.get(key, b"") for key in changed]
    pair.update(changed, new_values, previous)
    # And a delete-free round of existing keys (the fast path with correct hints).
    latest = dict(zip(changed, new_values))
    present = sorted(key for key, value in latest.items() if value and key in values)[:10_000]
    pair.update(present, [rng.randbytes(80) for _ in present], [latest[key] for key in present])


# -- bad stored data -------------------------------------------------------------------------------

def _stored_trie(seed: int = 3, count: int = 200, key_length: int = 32):
    rng = random.Random(seed)
    log = Recorder()
    updater = PythonUpdater(log.fetch, log.store)
    keys = sorted({rng.randbytes(key_length) for _ in range(count)})
    root, root_id = updater.update(EMPTY_TRIE_ROOT, NO_ID, keys, [rng.randbytes(40) for _ in keys])
    return rng, log.records, keys, root, root_id


def _both_raise(records: dict, root: bytes, root_id: bytes, keys, values, expected: type,
                previous=None) -> None:
    for updater_class in (PythonUpdater, NativeUpdater):
        log = Recorder(dict(records))
        updater = updater_class(log.fetch, log.store)
        with pytest.raises(expected):
            updater.update(root, root_id, keys, values, previous)


@pytest.mark.parametrize("corruption,expected", [
    (lambda record: b"", CorruptDatabase),                               # empty record
    (lambda record: record[:-1] + b"\x11", CorruptDatabase),              # count byte over 16
    (lambda record: record[:5] + b"\x09", CorruptDatabase),               # truncated: ids past the start
    (lambda record: record[:40] + b"\x00", BadTrieNode),                  # truncated RLP
    (lambda record: b"\x85hello\x00", BadTrieNode),                       # not a list
    (lambda record: encode([b"a", b"b", b"c"]) + b"\x00", BadTrieNode),  # 3 items
    (lambda record: encode([b"", b"b"]) + b"\x00", BadTrieNode),          # empty hex-prefix path
    (lambda record: encode([b"\x45", b"b"]) + b"\x00", BadTrieNode),      # bad hex-prefix flag
    (lambda record: encode([b"\x01", b"b"]) + b"\x00", BadTrieNode),      # odd padding
    (lambda record: encode([b"\x20", [b"x"]]) + b"\x00", BadTrieNode),    # leaf value is a list
    (lambda record: encode([b"\x80"] * 16 + [b"v"]) + b"\x00", BadTrieNode),  # branch with a value
])
def test_malformed_root_records_raise_typed_errors(corruption, expected: type) -> None:
    rng, records, keys, root, root_id = _stored_trie()
    records[root_id] = corruption(records[root_id])
    changed = sorted(rng.sample(keys, 20))
    _both_raise(records, root, root_id, changed, [b"new"] * 20, expected)
    _both_raise(records, root, root_id, changed, [b""] * 20, expected)


def test_missing_ids_and_nodes_raise_typed_errors() -> None:
    rng, records, keys, root, root_id = _stored_trie()
    # A branch record whose hashed children lost their ids.
    rlp_length = len(records[root_id]) - 1 - 8 * records[root_id][-1]
    records_without_ids = dict(records)
    records_without_ids[root_id] = records[root_id][:rlp_length] + b"\x00"
    _both_raise(records_without_ids, root, root_id, keys[:10], [b"x"] * 10, CorruptDatabase)
    # A child id that is not stored.
    records_missing = dict(records)
    some_child = records[root_id][rlp_length:rlp_length + 8]
    del records_missing[some_child]
    _both_raise(records_missing, root, root_id, keys, [b"x"] * len(keys), MissingTrieNode)
    # A root id that is not stored, and a root hash without an id.
    _both_raise(records, root, (10 ** 9).to_bytes(8, "big"), keys[:3], [b"x"] * 3, MissingTrieNode)
    _both_raise(records, root, NO_ID, keys[:3], [b"x"] * 3, MissingTrieNode)


def test_fetch_errors_other_than_key_error_propagate() -> None:
    def failing_fetch(record_id: bytes) -> bytes:
        raise OSError("disk gone")

    updater = NativeUpdater(failing_fetch, lambda record_id, record: None)
    with pytest.raises(OSError, match="disk gone"):
        updater.update(keccak256(b"x"), b"\x00" * 7 + b"\x01", [b"\x01" * 32], [b"v"])
    updater = NativeUpdater(lambda record_id: None, lambda record_id, record: None)
    with pytest.raises(TypeError):
        updater.update(keccak256(b"x"), b"\x00" * 7 + b"\x01", [b"\x01" * 32], [b"v"])


def test_store_errors_propagate_and_count_ids() -> None:
    calls = []

    def failing_store(record_id: bytes, record: bytes) -> None:
        calls.append(record_id)
        if len(calls) == 3:
            raise RuntimeError("full")

    seen = []
    for updater_class in (PythonUpdater, NativeUpdater):
        calls.clear()
        updater = updater_class({}.__getitem__, failing_store, 10)
        keys = sorted(keccak256(bytes([index])) for index in range(40))
        with pytest.raises(RuntimeError, match="full"):
            updater.update(EMPTY_TRIE_ROOT, NO_ID, keys, [b"v" * 40] * 40)
        seen.append(list(calls))
        # The Python class numbers nodes as it stores them; the C class numbers every
        # node of the walk first and stores after hashing (the engine discards both).
        assert updater.next_id >= 13
    assert seen[0] == seen[1] == [(10 + index).to_bytes(8, "big") for index in range(3)]


def _fuzz_key_length(seed: int) -> int:
    return [32, 3, 2, 32][seed % 4]


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_records_behave_like_python(seed: int) -> None:
    """Random byte flips, cuts and insertions in stored records: both classes accept
    the same records (with identical output) and reject the same ones. Where the Python
    reference fails with an untyped IndexError, the C class raises a ``TrieError``."""
    rng, records, keys, root, root_id = _stored_trie(seed, 120, _fuzz_key_length(seed))
    ids = sorted(records)
    for _ in range(25):
        damaged = dict(records)
        for record_id in rng.sample(ids, rng.randrange(1, 4)):
            record = bytearray(damaged[record_id])
            action = rng.randrange(4)
            position = rng.randrange(len(record))
            if action == 0:
                record[position] = rng.randrange(256)
            elif action == 1:
                del record[position:position + rng.randrange(1, 8)]
            elif action == 2:
                record[position:position] = rng.randbytes(rng.randrange(1, 4))
            else:
                record[-1] = rng.randrange(18)
            damaged[record_id] = bytes(record)
        changed = sorted(rng.sample(keys, rng.randrange(1, 30)) + [rng.randbytes(len(keys[0]))
                                                                   for _ in range(rng.randrange(3))])
        changed = sorted(set(changed))
        values = [b"" if rng.random() < 0.3 * (seed % 2) else rng.randbytes(rng.choice([1, 40])) for _ in changed]
        previous = [rng.randbytes(40) for _ in changed]
        python_log, native_log = Recorder(dict(damaged)), Recorder(dict(damaged))
        python = PythonUpdater(python_log.fetch, python_log.store)
        native_updater = NativeUpdater(native_log.fetch, native_log.store)
        expected = _outcome(python, python_log, root, root_id, changed, values, previous, None)
        actual = _outcome(native_updater, native_log, root, root_id, changed, values, previous, None)
        if expected[0] == ("error", IndexError):
            assert actual[0][0] == "error" and issubclass(actual[0][1], TrieError)
            continue
        if expected[0][0] == "error":
            # Same error; what was stored before it may differ (the C class stores
            # nothing before its walk is complete), and the engine discards it anyway.
            assert actual[0] == expected[0] and issubclass(actual[0][1], ValueError)
            continue
        assert actual == expected



def test_parse_cache_entries_are_checked() -> None:
    rng, records, keys, root, root_id = _stored_trie()
    cache = native.NodeCache()
    cache[root_id] = b"\xc3\x80\x80\x80\x00"  # a 3-item list: no trie node
    updater = NativeUpdater(records.__getitem__, lambda record_id, record: None, 1, cache)
    with pytest.raises(BadTrieNode):
        updater.update(root, root_id, keys[:2], [b"x", b"y"])
    with pytest.raises(TypeError):
        updater.parsed = []
    with pytest.raises(TypeError):
        updater.parsed = {}
    with pytest.raises(TypeError):
        cache[root_id] = ("B", (b"",) * 3)  # only record bytes go in
    with pytest.raises(TypeError):
        cache[b"short"] = b"\xc0\x00"  # keys are 8-byte node ids


@pytest.mark.parametrize("entry,expected", [
    (b"", CorruptDatabase),
    (b"\x11", CorruptDatabase),
    (b"\x85hello\x00", BadTrieNode),
    (encode([b"a", b"b", b"c"]) + b"\x00", BadTrieNode),
    (encode([b"\x45", b"b"]) + b"\x00", BadTrieNode),
    (encode([b"\x80"] * 16 + [b"v"]) + b"\x00", BadTrieNode),
    (encode([b"\x80"] * 15) + b"\x00", BadTrieNode),
])
def test_malformed_cached_records_raise_like_fetched_ones(entry, expected: type) -> None:
    """A cached record is parsed as strictly as a fetched one."""
    rng, records, keys, root, root_id = _stored_trie()
    for cache_key in (root_id, records[root_id][-9:-1]):  # the root, and one of its children
        cache = native.NodeCache()
        cache[cache_key] = entry
        updater = NativeUpdater(records.__getitem__, [], 1, cache)
        with pytest.raises(expected):
            updater.update(root, root_id, keys, [b"x"] * len(keys))


def test_cache_holds_raw_records_of_branches_and_extensions() -> None:
    """Fetched branches/extensions and new branches are cached as their record bytes
    (copies of what was stored or fetched); leaves are not cached; a fetched bytearray
    is cached as bytes."""
    rng, records, keys, root, root_id = _stored_trie(11, 300)
    fetched: list = []

    def fetch(record_id: bytes) -> bytearray:
        fetched.append(record_id)
        return bytearray(records[record_id])

    stored: list = []
    updater = NativeUpdater(fetch, stored, 10 ** 6)
    changed = sorted(rng.sample(keys, 40))
    updater.update(root, root_id, changed, [b"n" * 40] * 40)
    new_records = dict(stored)
    assert updater.parsed
    for record_id, record in updater.parsed.items():
        assert type(record) is bytes
        if record_id in new_records:
            assert record == new_records[record_id]
        else:
            assert record_id in fetched and record == records[record_id]
        assert record[0] >= 0xC0 and len(record) > 33  # an RLP list with its trailer
    leaf_ids = [record_id for record_id in fetched if record_id not in updater.parsed]
    assert leaf_ids  # leaves were read (no hints) and not cached


# -- store into a list -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_list_store_matches_callable_store(seed: int) -> None:
    """With a list as ``store`` both classes append ``(id, record)`` tuples, exactly the
    calls a callable store receives."""
    rng = random.Random(900 + seed)
    universe = [rng.randbytes(32) for _ in range(300)]
    reference = HexaryTrie({})
    callable_log = Recorder()
    callable_updater = NativeUpdater(callable_log.fetch, callable_log.store)
    lists: dict = {}
    logs: dict = {}
    updaters: dict = {}
    for name, updater_class in (("python", PythonUpdater), ("native", NativeUpdater)):
        logs[name] = {}
        lists[name] = []
        updaters[name] = updater_class(logs[name].__getitem__, lists[name])
    roots = {name: (EMPTY_TRIE_ROOT, NO_ID) for name in ("python", "native", "callable")}
    for round_number in range(8):
        keys, values, previous, ids = _random_round(rng, universe, reference, 80, 0.3 * (round_number % 2), True)
        callable_log.calls = []
        roots["callable"] = callable_updater.update(*roots["callable"], keys, values, previous, ids)
        for name in ("python", "native"):
            lists[name].clear()
            roots[name] = updaters[name].update(*roots[name], keys, values, previous, ids)
            assert lists[name] == callable_log.calls
            assert all(type(entry) is tuple and len(entry) == 2 for entry in lists[name])
            logs[name].update(lists[name])
        assert roots["python"] == roots["native"] == roots["callable"]
        assert roots["native"][0] == reference.root_hash()


# -- commit-loop helpers ---------------------------------------------------------------------------

def test_keccak_matches_reference_for_all_short_lengths_and_buffers() -> None:
    rng = random.Random(77)
    for length in range(301):
        data = rng.randbytes(length)
        expected = keccak256(data)
        assert native.keccak256(data) == expected
        assert native.keccak256(bytearray(data)) == expected
        assert native.keccak256(memoryview(data)) == expected
    assert native.keccak256(memoryview(b"xxhello")[2:]) == keccak256(b"hello")
    with pytest.raises(TypeError):
        native.keccak256("text")


def _account_cases() -> list:
    rng = random.Random(31)
    hashes = [bytes(32), b"\xff" * 32, keccak256(b"a")]
    edge_nonces = [0, 1, 127, 128, 255, 256, 2 ** 56, 2 ** 63, 2 ** 64 - 1]
    edge_balances = [0, 1, 127, 128, 255, 256, 2 ** 64 - 1, 2 ** 64, 2 ** 128, 10 ** 18, 2 ** 255, 2 ** 256 - 1]
    cases = [(nonce, balance, rng.choice(hashes), rng.choice(hashes))
             for nonce in edge_nonces for balance in edge_balances]
    for _ in range(500):
        nonce = rng.randrange(2 ** rng.randrange(1, 65))
        balance = rng.randrange(2 ** rng.randrange(1, 257))
        cases.append((nonce, balance, rng.randbytes(32), rng.randbytes(32)))
    return cases


def test_encode_account_matches_python() -> None:
    from hyperion.state.account import encode_account

    for nonce, balance, storage_root, code_hash in _account_cases():
        assert native.encode_account(nonce, balance, storage_root, code_hash) == encode_account(
            nonce, balance, storage_root, code_hash)


@pytest.mark.parametrize("arguments", [
    (2 ** 64, 0, bytes(32), bytes(32)),
    (-1, 0, bytes(32), bytes(32)),
    (0, 2 ** 256, bytes(32), bytes(32)),
    (0, -5, bytes(32), bytes(32)),
    (0, -(2 ** 100), bytes(32), bytes(32)),
    (0, 0, bytes(31), bytes(32)),
    (0, 0, bytes(32), bytes(33)),
    (0, 0, bytearray(32), bytes(32)),
    (1.0, 0, bytes(32), bytes(32)),
    (0, "1", bytes(32), bytes(32)),
])
def test_encode_account_rejects_out_of_range_values(arguments) -> None:
    with pytest.raises(ValueError):
        native.encode_account(*arguments)


def test_encode_account_argument_count() -> None:
    with pytest.raises(TypeError):
        native.encode_account(0, 0, bytes(32))


def test_bad_arguments_raise_typed_errors() -> None:
    updater = NativeUpdater({}.__getitem__, lambda record_id, record: None)
    with pytest.raises(TrieError):
        updater.update(EMPTY_TRIE_ROOT, NO_ID, [b"\x01"], [b"a", b"b"])
    with pytest.raises(TypeError):
        updater.update(EMPTY_TRIE_ROOT, NO_ID, [b"\x01"], ["text"])
    with pytest.raises(TrieError):  # duplicate keys (Python: IndexError)
        updater.update(EMPTY_TRIE_ROOT, NO_ID, [b"\x01", b"\x01"], [b"a", b"b"])
    with pytest.raises(TrieError):  # keys of unequal length
        updater.update(EMPTY_TRIE_ROOT, NO_ID, [b"\x01", b"\x01\x02"], [b"a", b"b"])


def test_python_index_errors_are_typed_errors_here() -> None:
    """Inputs where the Python reference fails with an untyped IndexError."""
    # A stored leaf whose path is shorter than the keys (the new key runs past it).
    leaf = encode([b"\x20\x01", b"v" * 40])
    records = {b"\x00" * 7 + b"\x01": leaf + b"\x00"}
    for updater_class, expected in ((PythonUpdater, IndexError), (NativeUpdater, TrieError)):
        updater = updater_class(records.__getitem__, lambda record_id, record: None)
        with pytest.raises(expected):
            updater.update(keccak256(leaf), b"\x00" * 7 + b"\x01", [b"\x01\x02"], [b"w"])
    # A stored branch whose untouched slot holds an item too large for a trie node.
    branch = encode([b"x" * 1100] + [b""] * 16)
    records = {b"\x00" * 7 + b"\x01": branch + b"\x00"}
    for updater_class, expected in ((PythonUpdater, IndexError), (NativeUpdater, BadTrieNode)):
        updater = updater_class(records.__getitem__, lambda record_id, record: None)
        with pytest.raises(expected):
            updater.update(keccak256(branch), b"\x00" * 7 + b"\x01", [b"\x51"], [b"w"])


def test_attributes_like_the_python_class() -> None:
    log = Recorder()
    updater = NativeUpdater(log.fetch, log.store, next_id=7)
    assert updater.next_id == 7 and updater.replaced == [] and len(updater.parsed) == 0
    assert type(updater.parsed) is native.NodeCache
    written: list[bytes] = []
    updater._store = lambda key, value: (written.append(key), log.store(key, value))
    keys = sorted(keccak256(bytes([index])) for index in range(50))
    root, root_id = updater.update(EMPTY_TRIE_ROOT, NO_ID, keys, [b"v" * 40] * 50)
    assert written == sorted(written) and written[0] == (7).to_bytes(8, "big")
    assert updater.next_id == 7 + len(written)
    stale: list = []
    updater.replaced = stale
    updater.update(root, root_id, keys[:1], [b"w" * 40])
    assert stale and updater.replaced is stale
    with pytest.raises(OverflowError):
        updater.next_id = -1


def test_no_leaks_on_success_and_error_paths() -> None:
    rng, records, keys, root, root_id = _stored_trie(9, 100)
    bad = dict(records)
    bad[root_id] = b"\x85hello\x00"

    def run() -> None:
        updater = NativeUpdater(records.__getitem__, lambda record_id, record: None)
        updater.update(root, root_id, keys[:30], [b"z" * 50] * 30)
        updater.update(root, root_id, keys[:30], [b""] * 30)
        broken = NativeUpdater(bad.__getitem__, lambda record_id, record: None)
        with pytest.raises(BadTrieNode):
            broken.update(root, root_id, keys[:30], [b"z"] * 30)

    for _ in range(20):
        run()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            run()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


def test_parse_cache_keeps_live_nodes_only() -> None:
    from hyperion.state.metisdb.nodelog import subtree_ids

    rng = random.Random(5)
    store: dict = {}
    parsed = native.NodeCache()
    updater = native.BatchTrieUpdater(store.__getitem__, store.__setitem__, parsed=parsed)
    keys = sorted(rng.randbytes(32) for _ in range(3000))
    root, root_id = updater.update(EMPTY_TRIE_ROOT, b"", keys, [b"v" * 70] * len(keys))
    for _ in range(4):
        chosen = sorted(rng.sample(keys, 400))
        root, root_id = updater.update(root, root_id, chosen, [rng.randbytes(70) for _ in chosen])
        assert set(parsed) <= set(subtree_ids(store.__getitem__, root_id, account_trie=False))


def test_account_rows_match_python() -> None:
    from hyperion.state.metisdb.native import python_account_rows
    from hyperion.state.metisdb.pending import AccountChange

    rng = random.Random(8)
    empty_code = keccak256(b"")
    changes = []
    for index in range(400):
        address = rng.randbytes(20)
        kind = rng.randrange(6)
        root = EMPTY_TRIE_ROOT if rng.random() < 0.7 else keccak256(bytes([index % 7]))
        code_hash = empty_code if rng.random() < 0.8 else keccak256(b"code%d" % index)
        record = (rng.randrange(2**64), rng.choice([0, 5, rng.randrange(2**256)]), code_hash)
        base = None if rng.random() < 0.2 else (rng.randrange(300), rng.randrange(2**90), root, code_hash)
        if kind == 0:
            changes.append(AccountChange(address, None, b"", True, {}, root, base))  # deleted
        elif kind == 1:
            changes.append(AccountChange(address, record, b"c", False, {1: 2}, root, base))  # storage work
        elif kind == 2:
            changes.append(AccountChange(address, record, b"c", True, {}, EMPTY_TRIE_ROOT, base))  # wiped
        else:
            changes.append(AccountChange(address, record, b"code%d" % index, False, {}, root, base))
    changes.sort()
    ids = {change.address: rng.randbytes(8) for change in changes}

    def run(function):
        leaves, puts, code_puts, cached = [], [], [], {}
        changeset, rest = function(changes, ids.__getitem__, leaves, puts, code_puts, cached)
        return changeset, rest, leaves, puts, code_puts, cached

    compiled, python = run(native.account_rows), run(python_account_rows)
    assert compiled == python
    assert len(compiled[1]) < len(changes) and compiled[1]  # both paths exercised
    # Out of the compiled encoder's range: sent to the general path, nothing half-written.
    big = AccountChange(b"\x01" * 20, (2**64, 1, empty_code), b"", False, {}, EMPTY_TRIE_ROOT, None)
    leaves: list = []
    changeset, rest = native.account_rows([big], ids.get, leaves, [], [], {})
    assert changeset == b"" and rest == [big] and leaves == []


def test_compiled_account_loader_matches_python(tmp_path) -> None:
    from hyperion.state.metisdb import MetisDB
    from hyperion.state.metisdb.pending import LazyAccounts, LazyStorage

    with MetisDB(tmp_path / "db", sync=False) as db:
        pending = db.pending()
        plain, contract, missing = b"\x01" * 20, b"\x02" * 20, b"\x03" * 20
        pending.set_balance(plain, 7)
        pending.set_nonce(contract, 3)
        pending.set_code(contract, b"\x60\x00")
        pending.set_storage(contract, 5, 9)
        db.commit(pending, 0)
        for cached in (False, True):
            if not cached:
                db.clear_cache()
            with db.reader() as snapshot:
                compiled, python = LazyAccounts(snapshot), LazyAccounts(snapshot)
                for address in (plain, contract, missing):
                    ours, theirs = compiled._load(address), python._load_python(address)
                    if theirs is None:
                        assert ours is None and address in compiled.absent and address in python.absent
                        continue
                    for field in ("nonce", "balance", "code", "code_hash", "storage_root", "address_hash"):
                        assert getattr(ours, field) == getattr(theirs, field)
                    assert type(ours.storage) is type(theirs.storage)
                    assert compiled.loaded[address][1] == python.loaded[address][1]
                    assert dict.get(compiled, address) is ours
                assert isinstance(compiled[contract].storage, LazyStorage)
                assert compiled[contract].storage.get(5) == 9


# -- the fused commit path: plain rows, account rows, node cache and batch ------------------------

@pytest.fixture(autouse=True)
def _layout_bound() -> None:
    """The compiled pending-state paths know the classes' slots (pending.py binds them
    unless HYPERION_PURE_PYTHON is set; these tests compare against C either way)."""
    from hyperion.state.memory import _BALANCE, MemoryState
    from hyperion.state.metisdb.cache import StateCache
    from hyperion.state.metisdb.codec import ABSENT_ACCOUNT
    from hyperion.state.metisdb.pending import LazyAccounts, LazyStorage, PendingState
    from hyperion.state.metisdb.snapshot import Snapshot
    from hyperion.state.account import Account

    native.bind_layout(account=Account, snapshot=Snapshot, cache=StateCache, lazy_accounts=LazyAccounts,
                       pending=PendingState, lazy_storage=LazyStorage, absent=ABSENT_ACCOUNT, balance_tag=_BALANCE,
                       generic_set_balance=MemoryState.set_balance)


def _pending_with_every_kind_of_change(tmp_path, seed: int, out_of_range: bool = True):
    """A MetisDB pending state whose accounts cover every case the plain pass sorts out
    (with ``out_of_range``, also values no account can hold, for the pass alone)."""
    from hyperion.state.metisdb import MetisDB

    rng = random.Random(seed)
    db = MetisDB(tmp_path / f"db{seed}", sync=False)
    addresses = [rng.randbytes(20) for _ in range(300)]
    genesis = db.pending()
    for index, address in enumerate(addresses[:240]):
        genesis.set_balance(address, rng.randrange(1, 2**100))
        if index % 9 == 0:
            genesis.set_code(address, b"\x60\x01" * (index % 5 + 1))
        if index % 13 == 0:
            genesis.set_storage(address, 1, index + 1)
        if index % 17 == 0:
            genesis.set_nonce(address, rng.randrange(2**64))
    db.commit(genesis, 0)
    pending = db.pending()
    for index, address in enumerate(addresses):
        kind = index % 10
        if kind == 0:
            pending.set_balance(address, rng.choice([0, 1, 2**256 - 1, rng.randrange(2**200)]))
        elif kind == 1:
            pending.set_nonce(address, min(pending.get_nonce(address) + 1, 2**64 - 1))
        elif kind == 2:
            pending.set_code(address, b"\x60\x02")
        elif kind == 3:
            pending.set_storage(address, 2, 5)
        elif kind == 4:
            pending.destroy_account(address)
        elif kind == 5:
            pending.get_balance(address)  # loaded, unchanged
        elif kind == 6:
            pending.set_balance(address, pending.get_balance(address))  # written back unchanged
        elif kind == 7 and out_of_range:
            pending.set_balance(address, 2**256 + index)  # outside the compiled encoder's range
        elif kind == 8 and out_of_range:
            pending.set_nonce(address, 2**64 + index)
        else:
            pending.set_balance(address, True)  # an int subclass: the general path
    return db, pending


@pytest.mark.parametrize("seed", range(3))
def test_plain_rows_match_python(tmp_path, seed: int) -> None:
    from hyperion.state.metisdb.native import PythonAccountRows, python_plain_rows

    db, pending = _pending_with_every_kind_of_change(tmp_path, seed)
    try:
        accounts = pending._accounts

        def run(function, rows):
            puts, code_puts, cached = [], [], {}
            changeset, others = function(accounts, accounts.loaded, rows, puts, code_puts, cached)
            return changeset, others, rows.columns(), puts, code_puts, cached, len(rows)

        compiled = run(native.plain_rows, native.AccountRows())
        python = run(python_plain_rows, PythonAccountRows())
        assert compiled == python
        assert compiled[6] and compiled[1]  # both the plain and the general path were taken
    finally:
        pending.base_snapshot.close()
        db.close()


def test_commit_through_plain_rows_writes_what_the_pending_state_holds(tmp_path) -> None:
    """The commit that takes the fused path stores every change, with the root the
    pending state computes itself and a consistent store."""
    db, pending = _pending_with_every_kind_of_change(tmp_path, 5, out_of_range=False)
    try:
        changes = pending.changes()
        expected_root = pending.state_root()
        assert db.commit(pending, 1) == expected_root
        db.clear_cache()
        with db.reader() as snapshot:
            for change in changes:
                if change.record is None:
                    assert not snapshot.account_exists(change.address)
                else:
                    nonce, balance, code_hash = change.record
                    assert (snapshot.get_nonce(change.address), snapshot.get_balance(change.address),
                            snapshot.get_code_hash(change.address)) == (nonce, balance, code_hash)
        report = db.check_integrity()
        assert report.ok(pruned=False), report
    finally:
        db.close()


def test_account_rows_behave_like_python() -> None:
    from hyperion.state.metisdb.native import PythonAccountRows

    rng = random.Random(3)
    leaves = [(rng.randbytes(32), rng.randbytes(rng.randrange(0, 90)), rng.randbytes(rng.randrange(0, 90)),
               rng.choice([b"", rng.randbytes(8)])) for _ in range(700)]
    leaves.append((leaves[5][0], b"same key again", b"", b""))  # stable order for equal keys
    ours, theirs = native.AccountRows(), PythonAccountRows()
    for part in (leaves[:300], leaves[300:]):
        ours.extend(part)
        theirs.extend(part)
    assert len(ours) == len(theirs) == len(leaves)
    assert ours.columns() == theirs.columns()
    ours.truncate(250)
    theirs.truncate(250)
    assert ours.columns() == theirs.columns()
    for bad in ([(b"k", b"v")], [("k", b"v", b"", b"")], [1]):
        with pytest.raises(TypeError):
            ours.extend(bad)
        with pytest.raises(TypeError):
            theirs.extend(bad)
    for length in (-1, 251):
        with pytest.raises(ValueError):
            ours.truncate(length)
        with pytest.raises(ValueError):
            theirs.truncate(length)
    assert len(ours) == 250


@pytest.mark.parametrize("seed", range(3))
def test_update_rows_matches_update(seed: int) -> None:
    """update_rows(rows) makes the same store calls and root as update() with the
    sorted columns, on both classes."""
    rng = random.Random(seed)
    reference = HexaryTrie({})
    universe = [rng.randbytes(32) for _ in range(500)]
    logs = [Recorder(), Recorder()]
    updaters = [NativeUpdater(logs[0].fetch, logs[0].store), PythonUpdater(logs[1].fetch, logs[1].store)]
    roots = [(EMPTY_TRIE_ROOT, NO_ID), (EMPTY_TRIE_ROOT, NO_ID)]
    for round_number in range(8):
        keys, values, previous, ids = _random_round(rng, universe, reference, 90, 0.2 if round_number > 2 else 0,
                                                    True)
        order = list(range(len(keys)))
        rng.shuffle(order)  # rows arrive unsorted
        rows = [(keys[index], values[index], previous[index], ids[index]) for index in order]
        outcomes = []
        for position, updater in enumerate(updaters):
            container = native.AccountRows() if position == 0 else __import__(
                "hyperion.state.metisdb.native", fromlist=["PythonAccountRows"]).PythonAccountRows()
            container.extend(rows)
            logs[position].calls = []
            roots[position] = updater.update_rows(*roots[position], container)
            outcomes.append((roots[position], logs[position].calls))
        assert outcomes[0] == outcomes[1]
        assert roots[0][0] == reference.root_hash()


def test_node_cache_is_a_faithful_mapping() -> None:
    """Random inserts, replacements, deletions and clears against a dict model (the
    table grows and deletes by backward shift)."""
    rng = random.Random(9)
    cache, model = native.NodeCache(), {}
    ids = [rng.randrange(1, 1 << 20).to_bytes(8, "big") for _ in range(3000)]
    for step in range(40000):
        key = rng.choice(ids)
        action = rng.random()
        if action < 0.55:
            value = rng.randbytes(rng.randrange(1, 40))
            cache[key] = value
            model[key] = value
        elif action < 0.95:
            if key in model:
                del cache[key]
                del model[key]
            else:
                with pytest.raises(KeyError):
                    del cache[key]
        elif action < 0.9995:
            assert cache.get(key) == model.get(key)
            assert (key in cache) == (key in model)
        else:
            cache.clear()
            model.clear()
        if step % 4000 == 0:
            assert len(cache) == len(model)
            assert dict(cache.items()) == model
            assert set(cache) == set(model) == set(cache.keys())
    assert dict(cache.items()) == model
    assert cache.get(b"short") is None and b"short" not in cache
    with pytest.raises(TypeError):
        cache[b"short"] = b"x"
    with pytest.raises(TypeError):
        cache[ids[0]] = bytearray(b"x")


def test_node_batch_collects_what_a_list_would() -> None:
    rng = random.Random(4)
    keys = sorted(rng.randbytes(32) for _ in range(600))
    values = [rng.randbytes(rng.randrange(1, 80)) for _ in keys]
    listed: list = []
    batch = native.NodeBatch()
    first = NativeUpdater(lambda key: (_ for _ in ()).throw(KeyError(key)), listed)
    second = NativeUpdater(lambda key: (_ for _ in ()).throw(KeyError(key)), batch)
    assert first.update(EMPTY_TRIE_ROOT, NO_ID, keys, values) == second.update(EMPTY_TRIE_ROOT, NO_ID, keys, values)
    assert list(batch) == listed and len(batch) == len(listed)
    assert batch[0] == listed[0] and batch[-1 + len(batch)] == listed[-1]
    with pytest.raises(IndexError):
        batch[len(batch)]
    batch.clear()
    assert len(batch) == 0 and list(batch) == []


def test_add_versions_matches_python() -> None:
    from hyperion.state.metisdb.native import python_add_versions

    rng = random.Random(2)
    ours, theirs = {}, {}
    for block in range(20):
        writes = [(rng.randbytes(2), rng.choice([None, rng.randbytes(5)])) for _ in range(50)]
        writes = list({address: (address, flat) for address, flat in writes}.values())
        native.add_versions(ours, block, writes)
        python_add_versions(theirs, block, writes)
        assert ours == theirs
    with pytest.raises(TypeError):
        native.add_versions(ours, 1, [(b"a",)])


def test_compiled_set_balance_matches_python(tmp_path) -> None:
    """The C method makes the same journal entries and account values as the Python
    reference, through loads, absent accounts, re-writes and reverts."""
    from hyperion.state.metisdb import MetisDB
    from hyperion.state.metisdb.pending import PendingState

    compiled_set_balance = native.pending_methods()["set_balance"]
    rng = random.Random(6)
    addresses = [rng.randbytes(20) for _ in range(50)]
    with MetisDB(tmp_path / "db", sync=False) as db:
        genesis = db.pending()
        for address in addresses[:30]:
            genesis.set_balance(address, rng.randrange(10**20))
        genesis.set_storage(addresses[1], 3, 4)
        db.commit(genesis, 0)
        ours, theirs = db.pending(), db.pending()
        steps = [(rng.choice(addresses), rng.randrange(10**24)) for _ in range(300)]
        for index, (address, value) in enumerate(steps):
            if index == 150:
                ours_mark, theirs_mark = ours.snapshot(), theirs.snapshot()
            compiled_set_balance(ours, address, value)
            PendingState._set_balance_python(theirs, address, value)
        for state in (ours, theirs):
            state.revert(ours_mark)

        def view(state):
            journal = [tuple(type(item).__name__ if type(item).__name__ == "Account" else item for item in entry)
                       for entry in state._journal]
            accounts = {address: (account.balance, account.nonce) for address, account in dict.items(state._accounts)}
            return journal, accounts, set(state._accounts.absent), set(state._accounts.loaded)

        assert view(ours) == view(theirs)
        with pytest.raises(TypeError):
            compiled_set_balance(ours, addresses[0])
        for state, method in ((ours, compiled_set_balance), (theirs, PendingState._set_balance_python)):
            with pytest.raises(TypeError):  # an unhashable address fails the same way on both
                method(state, bytearray(addresses[0]), 5)
        ours.base_snapshot.close()
        theirs.base_snapshot.close()


@pytest.mark.parametrize("lanes", [1, 4, 8])
def test_batch_keccak_matches_single_keccak(lanes: int) -> None:
    """Many messages at once (SIMD lanes where the CPU has them) give the digests of
    one-by-one hashing, for every length around the 136-byte block boundaries and for
    batches whose groups do not fill the lanes."""
    rng = random.Random(lanes)
    lengths = list(range(0, 300)) + [407, 408, 409, 532, 543, 544, 545, 2175, 2176, 2177, 3000]
    messages = [rng.randbytes(length) for length in lengths for _ in range(3)]
    rng.shuffle(messages)
    for size in (0, 1, 2, 3, 5, 9, 17, len(messages)):
        batch = messages[:size]
        assert native.keccak256_many(batch, lanes) == [keccak256(message) for message in batch]
    with pytest.raises(ValueError):
        native.keccak256_many([b""], 3)
    with pytest.raises(TypeError):
        native.keccak256_many(["text"])
    assert native.KECCAK_LANES in (1, 4, 8)


def test_presized_dict_is_an_ordinary_dict() -> None:
    from hyperion.state.metisdb.native import python_presized_dict

    for make in (native.presized_dict, python_presized_dict):
        empty = make(100_000)
        assert type(empty) is dict and empty == {}
        empty.update({b"a": 1})
        assert empty == {b"a": 1}
        with pytest.raises(ValueError):
            make(-1)


def _store_with_history(tmp_path, name: str):
    """An archive MetisDB with accounts, storage and history; returns (db, roots)."""
    from hyperion.state.metisdb import MetisDB
    from hyperion.state.metisdb.codec import decode_root_entry

    rng = random.Random(len(name))
    db = MetisDB(tmp_path / name, sync=False)
    addresses = [rng.randbytes(20) for _ in range(80)]
    for number in range(12):
        pending = db.pending()
        for address in rng.sample(addresses, 30):
            pending.set_balance(address, rng.randrange(1, 10**20))
            if rng.random() < 0.3:
                pending.set_storage(address, rng.randrange(5), rng.randrange(1, 99))
        db.commit(pending, number)
    with db._env.begin() as txn:
        roots = [decode_root_entry(entry)[:2] for _, entry in txn.cursor(db=db._tables.roots)]
    return db, roots


@pytest.mark.parametrize("damage", ["none", "delete", "flip", "truncate"])
def test_verify_tries_matches_python(tmp_path, damage: str) -> None:
    """The compiled verifier reaches the same nodes and counts the same problems as
    its Python reference, on a healthy store and on damaged ones."""
    from hyperion.state.metisdb.engine import trie_fetch
    from hyperion.state.metisdb.native import python_verify_tries

    db, roots = _store_with_history(tmp_path, damage)
    try:
        rng = random.Random(damage)
        with db._env.begin(write=True) as txn:
            keys = list(txn.cursor(db=db._tables.nodes).iternext(keys=True, values=False))
            for key in rng.sample(keys, 3):
                record = txn.get(key, db=db._tables.nodes)
                if damage == "delete":
                    txn.delete(key, db=db._tables.nodes)
                elif damage == "flip":
                    position = rng.randrange(len(record) - 9)
                    txn.put(key, record[:position] + bytes([record[position] ^ 0x5A]) + record[position + 1:],
                            db=db._tables.nodes)
                elif damage == "truncate":
                    txn.put(key, record[: len(record) // 2], db=db._tables.nodes)
        with db._env.begin() as txn:
            fetch = trie_fetch(txn, db._tables.nodes)
            ours, theirs = native.NodeHashes(), {}
            result = native.verify_tries(fetch, roots, ours)
            assert result == python_verify_tries(fetch, roots, theirs)
            assert set(ours) == set(theirs) and len(ours) == len(theirs)
            if damage == "none":
                assert result == (0, 0) and len(ours) == len(keys)
            else:
                assert sum(result) > 0
        assert db.check_integrity().ok(pruned=False) == (damage == "none")
    finally:
        db.close()


def test_verify_tries_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        native.verify_tries(lambda key: b"", [(b"short", b"\x00" * 8)], native.NodeHashes())
    with pytest.raises(TypeError):
        native.verify_tries(lambda key: b"", [], {})
    assert native.verify_tries(lambda key: b"", [], native.NodeHashes()) == (0, 0)
    assert native.verify_tries({}.__getitem__, [(b"\x01" * 32, b"\x00" * 8)], native.NodeHashes()) == (1, 0)
    assert native.verify_tries({}.__getitem__, [(b"\x01" * 32, b"\x00" * 3)], native.NodeHashes()) == (0, 1)


def test_flush_rows_matches_python() -> None:
    from hyperion.state.metisdb.native import python_add_versions, python_flush_rows

    rng = random.Random(11)
    versions: dict = {}
    for block in range(6):
        writes = {rng.randbytes(20): rng.choice([None, rng.randbytes(rng.randrange(3, 90))]) for _ in range(400)}
        python_add_versions(versions, block, list(writes.items()))
    assert native.flush_rows(versions) == python_flush_rows(versions)
    puts, deletes = native.flush_rows(versions)
    assert [address for address, _ in puts] == sorted(address for address, _ in puts) and deletes == sorted(deletes)
    assert len(puts) + len(deletes) == len(versions)
    with pytest.raises(TypeError):
        native.flush_rows({b"a": (1, b"x")})


def test_node_batch_cannot_be_cleared_by_a_merge_callback() -> None:
    """Records of a running merge live in its NodeBatch: clearing it from a fetch
    callback is refused, and the merge still completes."""
    rng, records, keys, root, root_id = _stored_trie(3, 200)
    batch = native.NodeBatch()
    refused = []

    def fetch(record_id: bytes) -> bytes:
        try:
            batch.clear()
        except RuntimeError:
            refused.append(record_id)
        return records[record_id]

    updater = NativeUpdater(fetch, batch)
    changed = sorted(rng.sample(keys, 20))
    python_log = Recorder(dict(records))
    expected = PythonUpdater(python_log.fetch, python_log.store).update(root, root_id, changed, [b"q" * 40] * 20)
    assert updater.update(root, root_id, changed, [b"q" * 40] * 20) == expected
    assert refused and list(batch) == python_log.calls
