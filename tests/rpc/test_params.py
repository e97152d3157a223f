import pytest

from hyperion.rpc import params as P
from hyperion.rpc.errors import InvalidParams
from hyperion.rpc.params import Param, parse_positional


@pytest.mark.parametrize("text,value", [("0x0", 0), ("0x1a", 26), ("0xFF", 255), ("0x" + "f" * 64, 2**256 - 1)])
def test_quantity_accepts_canonical_hex(text, value):
    assert P.quantity(text) == value


@pytest.mark.parametrize("bad,message", [
    ("12", "without 0x prefix"),
    ("0x", 'hex string "0x"'),
    ("0x01", "leading zero"),
    ("0xzz", "invalid hex"),
    ("0x1" + "0" * 64, "invalid hex"),
    (12, "cannot unmarshal number"),
    (None, "cannot unmarshal null"),
])
def test_quantity_rejects_with_clear_messages(bad, message):
    with pytest.raises(InvalidParams, match=message):
        P.quantity(bad)


def test_uint64_bounds_and_decimal_numbers():
    assert P.uint64("0xffffffffffffffff") == 2**64 - 1
    with pytest.raises(InvalidParams, match="64 bits"):
        P.uint64("0x10000000000000000")
    assert P.uint64_or_number(5) == 5
    with pytest.raises(InvalidParams):
        P.uint64_or_number(True)


def test_data_address_and_hash():
    assert P.data("0x") == b""
    assert P.data("0xABcd") == b"\xab\xcd"
    with pytest.raises(InvalidParams, match="odd length"):
        P.data("0xabc")
    assert P.address("0x" + "11" * 20) == b"\x11" * 20
    with pytest.raises(InvalidParams, match="length 38, want 40"):
        P.address("0x" + "11" * 19)
    with pytest.raises(InvalidParams, match="want 64"):
        P.hash32("0x1234")


def test_block_specs():
    assert P.block_spec("latest") == "latest"
    assert P.block_spec("0x10") == 16
    assert P.block_spec({"blockNumber": "0x2"}) == {"blockNumber": 2}
    h = "0x" + "ab" * 32
    assert P.block_spec({"blockHash": h, "requireCanonical": True}) == {
        "blockHash": bytes.fromhex("ab" * 32), "requireCanonical": True}
    assert P.block_spec(h) == {"blockHash": bytes.fromhex("ab" * 32), "requireCanonical": False}
    with pytest.raises(InvalidParams, match="unknown block tag"):
        P.block_spec("newest")
    with pytest.raises(InvalidParams, match="exactly one"):
        P.block_spec({"blockHash": h, "blockNumber": "0x1"})


def test_storage_slot_is_left_padded():
    assert P.storage_slot("0x1") == 1
    assert P.storage_slot("0x" + "00" * 31 + "05") == 5
    with pytest.raises(InvalidParams):
        P.storage_slot("0x" + "1" * 65)


def test_transaction_args_merges_input_and_data():
    args = P.transaction_args({"from": "0x" + "11" * 20, "to": None, "input": "0x01", "data": "0x01",
                               "gas": "0x5208", "value": "0x0"})
    assert args == {"from": b"\x11" * 20, "data": b"\x01", "gas": 21000, "value": 0}
    with pytest.raises(InvalidParams, match="both \"data\" and \"input\""):
        P.transaction_args({"input": "0x01", "data": "0x02"})
    with pytest.raises(InvalidParams, match="both gasPrice"):
        P.transaction_args({"gasPrice": "0x1", "maxFeePerGas": "0x1"})
    with pytest.raises(InvalidParams, match="unknown field 'bogus'"):
        P.transaction_args({"bogus": 1})


def test_transaction_args_access_list():
    args = P.transaction_args({"accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}]})
    assert args["accessList"] == [(b"\x22" * 20, [b"\0" * 32])]


def test_state_overrides():
    parsed = P.state_overrides({"0x" + "33" * 20: {"balance": "0x10", "code": "0x60",
                                                  "stateDiff": {"0x01": "0x" + "00" * 31 + "07"}}})
    assert parsed == {b"\x33" * 20: {"balance": 16, "code": b"\x60", "stateDiff": {1: 7}}}
    with pytest.raises(InvalidParams, match="both 'state' and 'stateDiff'"):
        P.state_overrides({"0x" + "33" * 20: {"state": {}, "stateDiff": {}}})


def test_filter_criteria():
    crit = P.filter_criteria({"fromBlock": "0x1", "toBlock": "latest", "address": "0x" + "44" * 20,
                              "topics": [None, ["0x" + "aa" * 32, "0x" + "bb" * 32], None]})
    assert crit["from_block"] == 1 and crit["to_block"] == "latest"
    assert crit["addresses"] == [b"\x44" * 20]
    assert crit["topics"] == [None, [b"\xaa" * 32, b"\xbb" * 32]]
    with pytest.raises(InvalidParams, match="cannot specify both BlockHash"):
        P.filter_criteria({"blockHash": "0x" + "aa" * 32, "fromBlock": "0x1"})
    with pytest.raises(InvalidParams, match="exceed max topics"):
        P.filter_criteria({"topics": [None] * 5})


def test_parse_positional_messages():
    specs = (Param(P.address), Param(P.block_spec, optional=True, default="latest"))
    assert parse_positional(["0x" + "11" * 20], specs) == [b"\x11" * 20, "latest"]
    with pytest.raises(InvalidParams, match="missing value for required argument 0"):
        parse_positional([], specs)
    with pytest.raises(InvalidParams, match="too many arguments, want at most 2"):
        parse_positional(["0x" + "11" * 20, "latest", 3], specs)
    with pytest.raises(InvalidParams, match="invalid argument 1: "):
        parse_positional(["0x" + "11" * 20, "nope"], specs)
    with pytest.raises(InvalidParams, match="non-array"):
        parse_positional({"a": 1}, specs)
