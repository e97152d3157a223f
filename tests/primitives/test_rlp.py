"""RLP against the ethereum/tests RLPTests fixtures, plus strictness edge cases."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from hyperion.primitives import rlp

RLP_DIR = FIXTURES / "ethereum-tests" / "RLPTests"


def _load(path):
    if not path.is_file():
        return []
    return sorted(json.loads(path.read_text()).items())


def _fixture_input(value):
    """Fixture ``in`` values: strings are bytes, '#'-prefixed strings are big ints, lists nest."""
    if isinstance(value, str):
        return int(value[1:]) if value.startswith("#") else value.encode()
    if isinstance(value, list):
        return [_fixture_input(v) for v in value]
    return value


def _as_decoded(value):
    """Expected ``decode`` result of a fixture ``in`` (integers come back as minimal bytes)."""
    if isinstance(value, int):
        return rlp.encode_int(value)
    if isinstance(value, list):
        return [_as_decoded(v) for v in value]
    return value


def _hex(text: str) -> bytes:
    """Fixture hex, with or without a 0x prefix."""
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


VALID = _load(RLP_DIR / "rlptest.json")
INVALID = _load(RLP_DIR / "invalidRLPTest.json")
RANDOM = [
    (f"{path.stem}/{name}", case)
    for path in sorted((RLP_DIR / "RandomRLPTests").glob("*.json"))
    for name, case in _load(path)
]


def test_fixture_files_present():
    assert len(VALID) >= 28 and len(INVALID) >= 26 and RANDOM


@pytest.mark.parametrize(("name", "case"), VALID, ids=[n for n, _ in VALID])
def test_valid_encoding(name, case):
    value = _fixture_input(case["in"])
    expected = _hex(case["out"])
    assert rlp.encode(value) == expected
    assert rlp.decode(expected) == _as_decoded(value)


@pytest.mark.parametrize(("name", "case"), INVALID, ids=[n for n, _ in INVALID])
def test_invalid_encoding_rejected(name, case):
    with pytest.raises(rlp.RLPError):
        rlp.decode(_hex(case["out"]))


@pytest.mark.parametrize(("name", "case"), RANDOM, ids=[n for n, _ in RANDOM])
def test_random_roundtrip(name, case):
    raw = _hex(case["out"])
    assert rlp.encode(rlp.decode(raw)) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # nothing to decode
        b"\x81\x05",  # single byte < 0x80 must not be prefixed
        b"\xb8\x05hello",  # long form for a short string
        b"\xb9\x00\x38" + b"a" * 56,  # length with a leading zero byte
        b"\xc2\x01",  # list shorter than announced
        b"\x83ab",  # string shorter than announced
        b"\x01\x02",  # trailing bytes
        b"\xf8\x01\x01",  # long list form for a short list
    ],
)
def test_non_canonical_forms_rejected(raw):
    with pytest.raises(rlp.RLPError):
        rlp.decode(raw)


def test_decode_int_is_strict():
    assert rlp.decode_int(b"") == 0
    assert rlp.decode_int(b"\x01\x00") == 256
    with pytest.raises(rlp.RLPError):
        rlp.decode_int(b"\x00\x01")
    with pytest.raises(rlp.RLPError):
        rlp.decode_int(b"\x01" * 33)
    with pytest.raises(rlp.RLPError):
        rlp.decode_int([b"\x01"])


def test_deep_nesting_is_an_rlp_error():
    depth = 5_000  # well past the default recursion limit
    # Build [[[...]]] with canonical length prefixes from the inside out.
    raw = b"\xc0"
    for _ in range(depth):
        raw = rlp._length_prefix(len(raw), 0xC0) + raw
    with pytest.raises(rlp.RLPError):
        rlp.decode(raw)
