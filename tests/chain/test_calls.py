"""eth_call, eth_estimateGas, eth_createAccessList and tracing through the Chain facade."""

from __future__ import annotations

import pytest

from hyperion.chain.errors import ChainError, ExecutionReverted
from hyperion.primitives.address import compute_create_address

from .chain_helpers import GWEI, deploy_code, legacy

TARGET = b"\x33" * 20
# GAS PUSH2 50000 LT PUSH1 13 JUMPI PUSH1 0 PUSH1 0 REVERT JUMPDEST STOP: succeeds only with > 50000 gas left
GAS_GATED = bytes.fromhex("5a61c35010600d5760006000fd5b00")
# PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: returns slot 0
READ_SLOT0 = bytes.fromhex("60005460005260206000f3")
# revert with Error("nope")
REVERT_REASON = bytes.fromhex(
    "08c379a0" + "20".rjust(64, "0") + "4".rjust(64, "0") + "6e6f7065".ljust(64, "0"))


def _reverter() -> bytes:
    """Runtime that copies REVERT_REASON to memory and reverts with it."""
    data = REVERT_REASON
    # PUSH1 len PUSH1 offset PUSH1 0 CODECOPY PUSH1 len PUSH1 0 REVERT ; data appended
    body = bytes([0x60, len(data), 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, len(data), 0x60, 0x00, 0xFD])
    return body + data


def test_call_with_state_and_block_overrides(chain, dev):
    sender = dev[0][0]
    result = chain.call({"from": sender, "to": TARGET}, "latest",
                        state_overrides={TARGET: {"code": READ_SLOT0, "state": {0: 77}}})
    assert result.success and int.from_bytes(result.output, "big") == 77
    diff = chain.call({"to": TARGET}, "latest",
                      state_overrides={TARGET: {"code": READ_SLOT0, "stateDiff": {0: 5}}})
    assert int.from_bytes(diff.output, "big") == 5
    # BALANCE of an overridden account: PUSH20 addr BALANCE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    balance_code = b"\x73" + b"\x44" * 20 + bytes.fromhex("3160005260206000f3")
    result = chain.call({"to": TARGET}, "latest",
                        state_overrides={TARGET: {"code": balance_code}, b"\x44" * 20: {"balance": 12345}})
    assert int.from_bytes(result.output, "big") == 12345
    # NUMBER returned under a block override
    number_code = bytes.fromhex("4360005260206000f3")
    result = chain.call({"to": TARGET}, "latest", state_overrides={TARGET: {"code": number_code}},
                        block_overrides={"number": 999})
    assert int.from_bytes(result.output, "big") == 999
    # overrides never reach the chain
    with chain.state_at("latest") as state:
        assert state.get_code(TARGET) == b""


def test_call_revert_reports_data_and_reason(chain):
    result = chain.call({"to": TARGET}, "latest", state_overrides={TARGET: {"code": _reverter()}})
    assert not result.success
    assert result.revert_data == REVERT_REASON
    assert result.error == "execution reverted: nope"
    with pytest.raises(ExecutionReverted) as info:
        chain.estimate_gas({"to": TARGET}, "latest", state_overrides={TARGET: {"code": _reverter()}})
    assert info.value.data == REVERT_REASON and str(info.value) == "execution reverted: nope"


def test_call_errors_are_typed(chain, dev):
    with pytest.raises(ChainError, match="insufficient funds"):
        chain.call({"from": b"\x55" * 20, "to": TARGET, "value": 1})
    with pytest.raises(ChainError, match="max fee per gas less than block base fee"):
        chain.call({"from": dev[0][0], "to": TARGET, "gasPrice": 1})


def test_estimate_gas_suffices_within_geths_error_ratio(chain, dev):
    sender, key = dev[0]
    chain.send_raw_transaction(legacy(key, 0, None, gas=200_000, data=deploy_code(GAS_GATED)).encode())
    contract = compute_create_address(sender, 0)
    fields = {"from": sender, "to": contract}
    estimate = chain.estimate_gas(fields)
    assert 71_000 < estimate < 80_000
    assert chain.call(dict(fields, gas=estimate)).success
    # geth stops the search within 1.5% of the least limit that succeeds, never below it
    lo, least = int(estimate / 1.016), estimate  # bisect for the least limit that succeeds
    while lo + 1 < least:
        mid = (lo + least) // 2
        lo, least = (lo, mid) if chain.call(dict(fields, gas=mid)).success else (mid, least)
    assert least <= estimate <= least * 1.015 + 1
    assert not chain.call(dict(fields, gas=least - 1)).success
    # the estimate mines
    tx_hash = chain.send_transaction(dict(fields, gas=estimate))
    assert chain.receipt(tx_hash).status == 1
    assert chain.estimate_gas({"from": sender, "to": dev[1][0], "value": 1}) == 21000


def test_estimate_gas_respects_balance_allowance(chain):
    poor = b"\x66" * 20
    chain.set_balance(poor, 21000 * GWEI * 2 - 1)
    with pytest.raises(ChainError, match="gas required exceeds allowance"):
        chain.estimate_gas({"from": poor, "to": TARGET, "gasPrice": 2 * GWEI, "gas": 100_000},
                           state_overrides={TARGET: {"code": GAS_GATED}})


def test_create_access_list_finds_touched_slots(chain, dev):
    sender = dev[0][0]
    other = b"\x77" * 20
    # SLOAD slot 3 of self, then BALANCE of `other`
    code = bytes.fromhex("600354") + b"\x73" + other + bytes.fromhex("3100")
    chain.set_code(TARGET, code)
    access_list, gas_used = chain.create_access_list({"from": sender, "to": TARGET})
    assert {e["address"] for e in access_list} == {TARGET, other}
    slots = {e["address"]: e["storageKeys"] for e in access_list}
    assert slots[TARGET] == [(3).to_bytes(32, "big")] and slots[other] == []
    plain = chain.call({"from": sender, "to": TARGET}).gas_used
    # the list costs 2400 per address and 1900 per key up front, then both accesses are warm (100)
    assert gas_used == plain + 2400 * 2 + 1900 - (2100 - 100) - (2600 - 100)


def test_trace_transaction_and_call(chain, dev):
    sender, key = dev[0]
    chain.send_raw_transaction(legacy(key, 0, None, gas=200_000, data=deploy_code(READ_SLOT0)).encode())
    contract = compute_create_address(sender, 0)
    tx_hash = chain.send_transaction({"from": sender, "to": contract})
    calls = chain.trace_transaction(tx_hash, "callTracer")
    assert calls["type"] == "CALL" and calls["to"] == "0x" + contract.hex()
    assert int(calls["gasUsed"], 16) == chain.receipt(tx_hash).gas_used
    steps = chain.trace_transaction(tx_hash)
    assert steps["failed"] is False and [s["op"] for s in steps["structLogs"]][:2] == ["PUSH1", "SLOAD"]
    traced = chain.trace_call({"from": sender, "to": contract}, "latest", "callTracer")
    assert traced["output"] == "0x" + bytes(32).hex()
    with pytest.raises(ChainError):
        chain.trace_transaction(tx_hash, "noSuchTracer")


def test_trace_replays_earlier_transactions_of_the_block(manual_chain):
    chain = manual_chain
    (sender, key), (other, other_key) = chain.dev_accounts()[:2]
    # SLOAD 0, add 1, SSTORE 0: the second call in the block sees the first one's write
    counter = bytes.fromhex("6000546001016000555f5ff3")
    chain.set_code(TARGET, counter)
    first = chain.send_transaction({"from": sender, "to": TARGET, "gas": 60_000})
    second = chain.send_transaction({"from": other, "to": TARGET, "gas": 60_000})
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [first, second]
    steps = chain.trace_transaction(second)["structLogs"]
    sstore = next(s for s in steps if s["op"] == "SSTORE")
    assert [int(x, 16) for x in sstore["stack"][-2:]] == [2, 0]  # value 2 written to slot 0
    assert chain.trace_transaction(second)["gas"] == chain.receipt(second).gas_used
