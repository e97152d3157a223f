"""eth_simulateV1 on a real node process: its bounds (gas, time, size) and its error codes.

The execution-apis suite (tests/rpc/compat) checks the answers against geth's
recordings; these check what the suite does not: that a simulation stops at
the RPC deadline and gas cap like eth_call, and refuses oversized requests.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import NodeProcess, RpcFailure

SENDER = "0xc000000000000000000000000000000000000000"
LOOP = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: loops until its gas or the deadline runs out
INVALID = "0xfe"  # burns all of a call's gas at once
CONTRACT = "0xc100000000000000000000000000000000000000"
EVM_TIMEOUT = 1.0
GAS_CAP = 50_000_000  # geth's default --rpc.gascap, the node's too
BLOCK_GAS = 30_000_000  # the dev chain's gas limit


@pytest.fixture(scope="module")
def node():
    process = NodeProcess("--in-memory", "--silent", "--rpc-evm-timeout", str(EVM_TIMEOUT)).start()
    yield process
    process.stop()


def simulate(node, blocks, **flags):
    return node.rpc("eth_simulateV1", {"blockStateCalls": blocks, **flags}, "latest")


def error_of(node, blocks, **flags) -> dict:
    with pytest.raises(RpcFailure) as failure:
        simulate(node, blocks, **flags)
    return failure.value.error


def test_calls_share_the_rpc_gas_cap(node):
    """A call's gas is clamped to what earlier calls left of the cap (geth's gas budget)."""
    burn = {"from": SENDER, "to": CONTRACT}
    result = simulate(node, [{"stateOverrides": {CONTRACT: {"code": INVALID}}, "calls": [burn]}, {"calls": [burn]}])
    first, second = result[0]["calls"][0], result[1]["calls"][0]
    assert int(first["gasUsed"], 16) == BLOCK_GAS and first["error"]["code"] == -32015  # the block's gas
    assert int(second["gasUsed"], 16) == GAS_CAP - BLOCK_GAS                          # the rest of the cap
    assert second["error"]["message"].endswith("(gas limit was capped by the RPC server's global gas cap)")


def test_an_endless_call_stops_at_the_deadline():
    # gas no loop can use up (cap and block limit 10^12), so that the deadline ends it however fast the VM
    # gets: 30M gas of this loop (the dev block's) took about 1.1 s on the compiled tier, near the 1 s deadline
    endless_gas = hex(10**12)
    node = NodeProcess("--in-memory", "--silent", "--rpc-evm-timeout", str(EVM_TIMEOUT),
                       "--rpc-gas-cap", str(10**12)).start()
    try:
        started = time.monotonic()
        error = error_of(node, [{"blockOverrides": {"gasLimit": endless_gas},
                                 "stateOverrides": {CONTRACT: {"code": LOOP}}, "calls": [{"from": SENDER, "to": CONTRACT}]}])
        assert error["code"] == -32000 and "timeout" in error["message"], error
        assert time.monotonic() - started < 20 * EVM_TIMEOUT
        assert node.rpc("eth_blockNumber") == "0x0"  # nothing of a simulation reaches the chain
    finally:
        node.stop()


@pytest.mark.parametrize("blocks, code", [
    ([], -32602),                                                 # empty input
    ([{}] * 257, -38026),                                         # too many blocks
    ([{"blockOverrides": {"number": "0x200"}}], -38026),          # too far ahead
    ([{"blockOverrides": {"number": "0x5"}}, {"blockOverrides": {"number": "0x3"}}], -38020),
    ([{"blockOverrides": {"time": "0xffffffff"}}, {"blockOverrides": {"time": "0x1"}}], -38021),
    ([{"calls": [{"from": SENDER, "to": SENDER, "value": "0x1"}]}], -38014),  # no funds for the value
    ([{"calls": [{"from": SENDER, "to": SENDER, "gas": "0x1"}]}], -38013),   # below intrinsic gas
    ([{"stateOverrides": {SENDER: {"movePrecompileToAddress": SENDER}}}], -32000),  # not a precompile
])
def test_bad_requests_get_geths_codes(node, blocks, code):
    assert error_of(node, blocks)["code"] == code


def test_validation_checks_nonces_and_fees(node):
    call = {"from": SENDER, "to": SENDER, "nonce": "0x5"}
    assert simulate(node, [{"calls": [call]}])[0]["calls"][0]["status"] == "0x1"  # nonce not checked
    funded = {SENDER: {"balance": hex(10**19)}}
    assert error_of(node, [{"stateOverrides": funded, "calls": [call]}], validation=True)["code"] == -38012  # fee 0
    priced = dict(call, maxFeePerGas=hex(10**11))
    assert error_of(node, [{"stateOverrides": funded, "calls": [priced]}], validation=True)["code"] == -38011
    result = simulate(node, [{"stateOverrides": funded, "calls": [dict(priced, nonce="0x0")]}], validation=True)
    assert result[0]["calls"][0]["status"] == "0x1" and int(result[0]["baseFeePerGas"], 16) > 0


def test_trace_transfers_reports_ether_moves_as_logs(node):
    result = simulate(node, [{"stateOverrides": {SENDER: {"balance": "0x10"}}, "calls": [
        {"from": SENDER, "to": "0xc100000000000000000000000000000000000000", "value": "0x3"}]}],
        traceTransfers=True)
    (log,) = result[0]["calls"][0]["logs"]
    assert log["address"] == "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
    assert log["topics"][1].endswith(SENDER[2:]) and int(log["data"], 16) == 3
    assert log["blockHash"] == result[0]["hash"]


def test_blob_base_fee_override_is_what_blobbasefee_reads(node):
    code = "0x4a5f5260205ff3"  # BLOBBASEFEE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    call = {"from": SENDER, "to": CONTRACT}
    result = simulate(node, [{"blockOverrides": {"blobBaseFee": "0x1234"}, "stateOverrides": {CONTRACT: {"code": code}},
                              "calls": [call]}])
    assert int(result[0]["calls"][0]["returnData"], 16) == 0x1234
    default = simulate(node, [{"stateOverrides": {CONTRACT: {"code": code}}, "calls": [call]}])
    assert int(default[0]["calls"][0]["returnData"], 16) == 1  # the minimum, from an excess of 0
    assert int(node.rpc("eth_call", call, "latest", {CONTRACT: {"code": code}}, {"blobBaseFee": "0x99"}), 16) == 0x99
