"""Work limits (``hyperion.chain.limits``) and what the chain does with them: deadlines that stop the
interpreter, the RPC gas cap, trace memory, bounded log queries and timestamps, lock-free reads."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from hyperion.chain import limits
from hyperion.chain.chain import MAX_LOG_RANGE
from hyperion.chain.errors import ChainError
from hyperion.chain.limits import SerializedEntries, WorkAborted, bounded_fork
from hyperion.primitives.address import compute_create_address
from hyperion.vm.forks import PRAGUE
from hyperion.vm.instructions import control_flow
from hyperion.vm.opcodes import table_for

from .chain_helpers import deploy_code, legacy

LOOP = bytes.fromhex("5b600056")            # JUMPDEST PUSH1 0 JUMP
TARGET = b"\xee" * 20
LOOPING = {TARGET: {"code": LOOP}}
# GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: the gas left at the start
GAS_LEFT = bytes.fromhex("5a60005260206000f3")


def _spin() -> None:
    while True:
        limits.check()
        time.sleep(0.001)


def test_budget_stops_work_at_its_check_points():
    started = time.monotonic()
    with pytest.raises(WorkAborted) as info:
        with limits.budget(0.1, "too slow", -32002):
            _spin()
    assert info.value.message == "too slow" and info.value.code == -32002
    assert 0.09 < time.monotonic() - started < 10.0  # stopped (late only on a starved machine), not before
    limits.check()  # the mark is gone with the budget


def test_budgets_nest_and_the_inner_one_ends_first():
    with limits.budget(0.6, "outer"):
        with pytest.raises(WorkAborted, match="inner"):
            with limits.budget(0.1, "inner"):
                _spin()
        limits.check()  # the outer budget still has time
        with pytest.raises(WorkAborted, match="outer"):
            with limits.budget(5.0, "a longer inner budget does not extend the outer one"):
                _spin()


def test_abort_all_stops_every_budgeted_thread():
    outcome = []

    def work():
        try:
            with limits.budget(30, "late"):
                _spin()
        except WorkAborted as exc:
            outcome.append(exc.message)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    limits.abort_all("stopping")
    for thread in threads:
        thread.join(5)
    assert outcome == ["stopping"] * 3


def test_bounded_fork_wraps_only_its_own_table():
    plain = table_for(PRAGUE)
    assert plain[0x56].handler is control_flow.jump  # block production keeps the raw handlers
    bounded = table_for(bounded_fork(PRAGUE))
    assert bounded[0x56].handler is not control_flow.jump and bounded[0x56].gas == plain[0x56].gas
    assert bounded_fork(bounded_fork(PRAGUE)) is bounded_fork(PRAGUE)
    assert bounded_fork(PRAGUE) >= PRAGUE and bounded_fork(PRAGUE).has_set_code


def test_endless_call_is_stopped_at_the_execution_deadline(chain):
    chain.config.rpc_evm_timeout = 0.3
    chain.config.rpc_gas_cap = 10**12  # ends at the deadline, never out of gas, however fast the VM gets
    started = time.monotonic()
    with pytest.raises(WorkAborted, match=r"^execution aborted \(timeout = 0\.3s\)$"):
        chain.call({"to": TARGET, "gas": 2**64 - 1}, "latest", LOOPING)
    assert time.monotonic() - started < 20.0  # the loop never ends by itself: stopped at all is the point
    with pytest.raises(WorkAborted, match="execution aborted"):
        chain.estimate_gas({"to": TARGET}, "latest", LOOPING)


def test_explicit_gas_above_the_cap_is_lowered_to_it(chain):
    chain.config.rpc_gas_cap = 1_000_000
    result = chain.call({"to": TARGET, "gas": 2**64 - 1}, "latest", {TARGET: {"code": GAS_LEFT}})
    assert 900_000 < int.from_bytes(result.output, "big") < 1_000_000
    result = chain.call({"to": TARGET, "gas": 500_000}, "latest", {TARGET: {"code": GAS_LEFT}})
    assert int.from_bytes(result.output, "big") < 500_000


def test_failed_call_is_named_as_geth_names_it(chain):
    assert chain.call({"to": TARGET, "gas": 100_000}, "latest", LOOPING).error == "out of gas"
    assert chain.call({"to": TARGET}, "latest", {TARGET: {"code": b"\xfe"}}).error == "invalid opcode"
    assert chain.call({"to": TARGET}, "latest", {TARGET: {"code": b"\x56"}}).error == "stack underflow"


def test_trace_refuses_to_outgrow_its_memory_budget(chain):
    chain.config.rpc_trace_memory = 256 * 1024
    with pytest.raises(WorkAborted, match="trace exceeds the memory budget"):
        chain.trace_call({"to": TARGET, "gas": 10_000_000}, "latest", state_overrides=LOOPING)
    with pytest.raises(WorkAborted, match="trace exceeds the memory budget"):
        chain.trace_call({"to": TARGET, "gas": 10_000_000}, "latest", "callTracer", state_overrides={
            TARGET: {"code": bytes.fromhex("5b" + "6000" * 5 + "60ee5af150600056")}})  # CALLs 0xee.. forever
    small = chain.trace_call({"to": TARGET, "gas": 25_000}, "latest", state_overrides=LOOPING)
    assert small["failed"] and small["structLogs"][-1]["error"] == "out of gas"
    assert small["structLogs"][0] == {"pc": 0, "op": "JUMPDEST", "gas": 4000, "gasCost": 1, "depth": 1,
                                      "stack": [], "refund": 0}


def test_serialized_entries_read_like_a_list_and_serialise_as_one():
    entries = SerializedEntries.of([orjson.dumps({"a": i}) for i in range(3)])
    assert len(entries) == 3 and entries[1] == {"a": 1} and entries[1:] == [{"a": 1}, {"a": 2}]
    assert list(entries) == [{"a": 0}, {"a": 1}, {"a": 2}] and entries == [{"a": 0}, {"a": 1}, {"a": 2}]
    assert orjson.dumps({"x": entries}, default=limits.json_default) == b'{"x":[{"a":0},{"a":1},{"a":2}]}'
    assert entries[-1] == {"a": 2} and len(SerializedEntries.of([])) == 0
    assert orjson.dumps(SerializedEntries.of([]), default=limits.json_default) == b"[]"
    many = SerializedEntries.of([orjson.dumps(i) for i in range(20_000)])  # more than one slice
    assert len(many) == 20_000 and many[8191] == 8191 and many[8192] == 8192 and many[-1] == 19_999
    with pytest.raises(IndexError):
        many[20_000]


def test_log_queries_are_bounded_with_the_texts_clients_know(chain, monkeypatch):
    with pytest.raises(ChainError, match=f"^exceed maximum block range: {MAX_LOG_RANGE}$"):
        chain.get_logs(0, MAX_LOG_RANGE)
    assert chain.get_logs(0, MAX_LOG_RANGE - 1) == []
    dev = chain.dev_accounts()
    # LOG0 from a contract, three times
    code = bytes.fromhex("60006000a0" * 3 + "00")
    chain.send_raw_transaction(legacy(dev[0][1], 0, None, gas=200_000, data=deploy_code(code)).encode())
    contract = compute_create_address(dev[0][0], 0)
    chain.send_raw_transaction(legacy(dev[0][1], 1, contract, gas=100_000).encode())
    monkeypatch.setattr("hyperion.chain.chain.MAX_LOG_RESULTS", 2)
    with pytest.raises(ChainError, match="^query returned more than 2 results$"):
        chain.get_logs(0, chain.head().number)
    with limits.budget(0.0, "request timed out", -32002):
        time.sleep(0.05)
        with pytest.raises(WorkAborted, match="request timed out"):
            chain.get_logs(0, chain.head().number)


def test_timestamps_stay_below_the_limit(chain):
    for bad in (2**64 - 1, 2**63):
        with pytest.raises(ChainError, match="^The timestamp is too big$"):
            chain.set_next_block_timestamp(bad)
        with pytest.raises(ChainError, match="^The timestamp is too big$"):
            chain.mine(1, timestamp=bad)
    with pytest.raises(ChainError, match="^The timestamp is too big$"):
        chain.increase_time(2**64)
    chain.set_next_block_timestamp(2**62)
    chain.mine(2)
    assert chain.head().header.timestamp == 2**62 + 1  # the clock keeps going after it


def test_reads_and_calls_never_wait_for_the_writer_lock(chain):
    """Mining holds the writer lock; reads, calls, traces and log queries run without it."""
    done = []

    def reads():
        head = chain.head()
        chain.resolve_block("latest")
        with chain.state_at("latest") as state:
            state.get_balance(b"\x01" * 20)
        chain.call({"to": TARGET}, "latest", {TARGET: {"code": GAS_LEFT}})
        chain.trace_call({"to": TARGET}, "latest", state_overrides={TARGET: {"code": GAS_LEFT}})
        chain.get_logs(0, head.number)
        chain.receipts(head)
        done.append(True)

    with chain._lock:  # as a block being built would
        worker = threading.Thread(target=reads)
        worker.start()
        worker.join(10)
    assert done == [True]


# NUMBER PUSH1 1 AND PUSH1 8 JUMPI STOP JUMPDEST, then on odd blocks five SSTOREs of TIMESTAMP to
# fresh slots NUMBER * 8 + k; STOP
_ODD_BLOCKS_STORE = bytes.fromhex(
    "4360011660085700" + "5b" + "".join(f"424360080260{k:02x}0155" for k in range(1, 6)) + "00")


def test_estimate_sees_the_pending_block(chain, dev):
    """eth_estimateGas runs on the next block (number, timestamp): an estimate used as the gas limit
    always suffices, also for code whose cost depends on them."""
    sender, key = dev[0]
    chain.send_raw_transaction(legacy(key, 0, None, gas=300_000, data=deploy_code(_ODD_BLOCKS_STORE)).encode())
    contract = compute_create_address(sender, 0)
    for nonce in range(1, 5):  # every parity of the pending block
        gas = chain.estimate_gas({"from": sender, "to": contract})
        tx_hash = chain.send_raw_transaction(legacy(key, nonce, contract, gas=gas).encode())
        receipt = chain.receipt(tx_hash)
        assert receipt.status == 1, (nonce, gas)
        if receipt.block_number % 2:
            assert gas > 100_000
    # "latest" (web3.py's default) estimates for the next block too; the head's own number as of the head
    fields = {"from": sender, "to": contract}
    assert chain.estimate_gas(fields, "latest") == chain.estimate_gas(fields)
    assert chain.estimate_gas(fields, chain.head().number) != chain.estimate_gas(fields)


def test_estimate_on_a_fresh_chain_counts_the_next_block_number(state_db):
    """The reported case: code storing block.number, estimated while the head is the genesis block."""
    from hyperion.chain.chain import Chain

    from .chain_helpers import make_config

    stores_number = b"\x33" * 20
    config = make_config(alloc={stores_number: {"code": bytes.fromhex("4360005500"), "balance": 0, "nonce": 1,
                                                "storage": {}}})  # NUMBER PUSH1 0 SSTORE STOP
    chain = Chain(config, state_db)
    try:
        sender, key = chain.dev_accounts()[0]
        fields = {"from": sender, "to": stores_number}
        assert chain.head().number == 0
        gas = chain.estimate_gas(fields)
        assert gas == chain.estimate_gas(fields, "latest")
        assert gas - chain.estimate_gas(fields, 0) >= 19_900  # 0 over 0 at genesis, 1 over 0 next
        receipt = chain.receipt(chain.send_raw_transaction(legacy(key, 0, stores_number, gas=gas).encode()))
        assert receipt.status == 1 and receipt.block_number == 1
    finally:
        chain.close()
