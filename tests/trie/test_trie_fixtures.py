"""ethereum/tests TrieTests through both the one-pass builder and the updatable trie."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.trie import (
    EMPTY_TRIE_ROOT,
    BadTrieNode,
    HexaryTrie,
    MissingTrieNode,
    TrieError,
    ordered_trie_root,
    secure_trie_root,
    trie_root,
)
from hyperion.trie.nibbles import (
    InvalidNibbles,
    bytes_to_nibbles,
    decode_hex_prefix,
    encode_hex_prefix,
    nibbles_to_bytes,
)

TRIE_TESTS = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ethereum-tests" / "TrieTests"

ROOT_FILES = [
    "trietest.json",
    "trieanyorder.json",
    "trietest_secureTrie.json",
    "trieanyorder_secureTrie.json",
    "hex_encoded_securetrie_test.json",
]


def _decode_text(text: str | None) -> bytes:
    """Fixture convention: ``0x``-prefixed strings are hex, anything else utf-8, null = delete."""
    if text is None:
        return b""
    if text.startswith("0x"):
        return bytes.fromhex(text[2:])
    return text.encode()


def _root_cases() -> list:
    if not TRIE_TESTS.is_dir():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason="fixtures missing"))]
    cases = []
    for file_name in ROOT_FILES:
        for name, case in json.loads((TRIE_TESTS / file_name).read_text()).items():
            cases.append(pytest.param(file_name, name, case, id=f"{file_name}:{name}"))
    return cases


def _operations(case: dict) -> list[tuple[bytes, bytes]]:
    entries = case["in"].items() if isinstance(case["in"], dict) else case["in"]
    return [(_decode_text(key), _decode_text(value)) for key, value in entries]


@pytest.mark.parametrize("file_name, name, case", _root_cases())
def test_trie_root_of_final_content(file_name: str, name: str, case: dict) -> None:
    final: dict[bytes, bytes] = {}
    for key, value in _operations(case):
        final[key] = value
    build = secure_trie_root if "secure" in file_name else trie_root
    assert build(final).hex() == case["root"][2:]


@pytest.mark.parametrize("file_name, name, case", _root_cases())
def test_hexary_trie_applying_operations_in_order(file_name: str, name: str, case: dict) -> None:
    secure = "secure" in file_name
    trie = HexaryTrie()
    for key, value in _operations(case):
        trie.set(keccak256(key) if secure else key, value)
    assert trie.root_hash().hex() == case["root"][2:]


@pytest.mark.parametrize("file_name, name, case", _root_cases())
def test_hexary_trie_reopened_from_store_after_each_step(file_name: str, name: str, case: dict) -> None:
    """Hash after every operation and continue from a fresh trie over the same store."""
    secure = "secure" in file_name
    store: dict[bytes, bytes] = {}
    root = EMPTY_TRIE_ROOT
    expected: dict[bytes, bytes] = {}
    for key, value in _operations(case):
        trie = HexaryTrie(store, root)
        path_key = keccak256(key) if secure else key
        trie.set(path_key, value)
        expected[path_key] = value
        root = trie.root_hash()
        assert root == trie_root(expected)
    assert root.hex() == case["root"][2:]
    reopened = HexaryTrie(store, root)
    for key, value in expected.items():
        assert reopened.get(key) == value


def test_next_prev_fixture() -> None:
    """trietestnextprev.json: for each probe, the previous and next stored key ("" = none)."""
    path = TRIE_TESTS / "trietestnextprev.json"
    if not path.is_file():
        pytest.skip("fixtures missing")
    checked = 0
    for case in json.loads(path.read_text()).values():
        trie = HexaryTrie()
        for key in case["in"]:
            trie.set(key.encode(), key.encode())
        for probe, previous, following in case["tests"]:
            assert trie.prev_key(probe.encode()) == (previous.encode() or None), probe
            assert trie.next_key(probe.encode()) == (following.encode() or None), probe
            checked += 1
    assert checked == 12


def test_items_are_in_key_order_and_survive_reloading() -> None:
    trie = HexaryTrie()
    content = {b"": b"root", b"a": b"1", b"ab": b"2", b"abc": b"3", b"b": b"4", b"\xff\x00": b"5"}
    for key, value in content.items():
        trie.set(key, value)
    assert list(trie.items()) == sorted(content.items())
    reloaded = HexaryTrie(trie.db, trie.root_hash())
    assert list(reloaded.items()) == sorted(content.items())
    assert reloaded.next_key(b"ab") == b"abc"
    assert reloaded.prev_key(b"b") == b"abc"
    assert reloaded.prev_key(b"") is None
    assert reloaded.next_key(b"\xff\x00") is None


def test_empty_trie() -> None:
    assert EMPTY_TRIE_ROOT == keccak256(rlp.encode(b""))
    assert trie_root({}) == EMPTY_TRIE_ROOT
    assert trie_root({b"a": b""}) == EMPTY_TRIE_ROOT
    trie = HexaryTrie()
    assert trie.root_hash() == EMPTY_TRIE_ROOT
    trie.set(b"k", b"v")
    trie.delete(b"k")
    assert trie.root_hash() == EMPTY_TRIE_ROOT
    assert trie.get(b"k") == b""


def test_deleting_absent_keys_keeps_the_root() -> None:
    trie = HexaryTrie()
    for key in (b"dog", b"doge", b"do", b"horse"):
        trie.set(key, key * 20)
    root = trie.root_hash()
    for missing in (b"d", b"dogs", b"cat", b"", b"horses"):
        trie.delete(missing)
    assert trie.root_hash() == root
    with pytest.raises(KeyError):
        del trie[b"cat"]


def test_ordered_trie_root_matches_rlp_index_keys() -> None:
    values = [bytes([i]) * (i + 1) for i in range(200)]
    trie = HexaryTrie()
    for index, value in enumerate(values):
        trie.set(rlp.encode(index), value)
    assert ordered_trie_root(values) == trie.root_hash()
    assert ordered_trie_root([]) == EMPTY_TRIE_ROOT


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(TrieError):
        trie_root({"a": b"x"})
    with pytest.raises(TrieError):
        trie_root({b"a": 1})
    with pytest.raises(TrieError):
        HexaryTrie().set("a", b"x")
    with pytest.raises(TrieError):
        HexaryTrie(root_hash=b"\x00" * 31)
    with pytest.raises(MissingTrieNode):
        HexaryTrie({}, b"\x11" * 32).get(b"a")
    with pytest.raises(BadTrieNode):
        HexaryTrie({b"\x22" * 32: b"\xc3\x01\x02\x03"}, b"\x22" * 32).get(b"a")
    with pytest.raises(BadTrieNode):
        HexaryTrie({b"\x22" * 32: b"\xff"}, b"\x22" * 32).get(b"a")
    assert issubclass(TrieError, ValueError)


def test_hex_prefix_round_trip() -> None:
    for nibbles in (b"", b"\x01", b"\x01\x02", b"\x0f\x00\x0a", bytes(range(16))):
        for is_leaf in (False, True):
            assert decode_hex_prefix(encode_hex_prefix(nibbles, is_leaf)) == (nibbles, is_leaf)
    assert encode_hex_prefix(b"\x01\x02\x03", False) == b"\x11\x23"
    assert encode_hex_prefix(b"\x00\x01\x02\x03", True) == b"\x20\x01\x23"
    assert bytes_to_nibbles(b"\xab\x01") == b"\x0a\x0b\x00\x01"
    assert nibbles_to_bytes(b"\x0a\x0b\x00\x01") == b"\xab\x01"
    with pytest.raises(InvalidNibbles):
        decode_hex_prefix(b"\x40")
    with pytest.raises(InvalidNibbles):
        decode_hex_prefix(b"\x05")
    with pytest.raises(InvalidNibbles):
        nibbles_to_bytes(b"\x01")
