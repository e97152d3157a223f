"""Tracers: per-instruction stepping must give exactly the fast path's result.

The traced loop charges gas per instruction while the fast loop charges
per basic block; running fixtures both ways and comparing with the
fixtures' post-state roots checks that the two gas models agree.
"""

from pathlib import Path

import pytest

from conftest import FIXTURES
from hyperion.execution.transaction import InvalidTransaction, apply_transaction
from hyperion.primitives.logs import logs_hash
from hyperion.primitives.transactions import decode_transaction
from hyperion.state.memory import MemoryState
from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.statetest import StateTestCase, iter_cases
from hyperion.vm.tracing import CallTracer, StructLogger, decode_revert_reason

SAMPLE = [
    "ethereum-tests/GeneralStateTests/stExample/add11.json",
    "ethereum-tests/GeneralStateTests/stCallCodes/callcallcall_000.json",
    "ethereum-tests/GeneralStateTests/stRevertTest/RevertOpcodeInCallsOnNonEmptyReturnData.json",
    "ethereum-tests/GeneralStateTests/stMemoryTest/mem32kb.json",
    "ethereum-tests/GeneralStateTests/stSStoreTest/sstore_0to0.json",
    "ethereum-tests/GeneralStateTests/stCreate2/Create2OOGFromCallRefunds.json",
    "ethereum-tests/GeneralStateTests/stStaticCall/static_CallEcrecover0.json",
    "eest/state_tests/cancun/eip1153_tstore/tstorage_execution_contexts",
]


def _cases(rel: str):
    path = FIXTURES / rel
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    for file in files[:3]:
        for case in iter_cases(file):
            if isinstance(case, StateTestCase):
                yield case


def _run(case: StateTestCase, tracer):
    state = MemoryState()
    for address, account in case.pre.items():
        state.set_account(address, nonce=account.nonce, balance=account.balance, code=account.code,
                          storage=dict(account.storage))
    try:
        result = apply_transaction(state, case.env, decode_transaction(case.tx_bytes), tracer=tracer)
    except InvalidTransaction:
        return state.state_root(), None
    return state.state_root(), result


@pytest.mark.parametrize("rel", SAMPLE)
def test_traced_execution_matches_fixture(rel):
    if not (FIXTURES / rel).exists():
        pytest.skip(f"fixture {rel} not present")
    ran = 0
    for case in _cases(rel):
        for tracer in (StructLogger(), CallTracer()):
            root, result = run_on_big_stack(_run, case, tracer)
            assert root == case.expected_root, f"{case.name} [{case.fork.name}] with {type(tracer).__name__}"
            if result is not None:
                assert logs_hash(result.logs) == case.expected_logs
                out = tracer.result()
                if isinstance(tracer, StructLogger):
                    assert out["gas"] == result.gas_used
                    assert out["failed"] == (not result.success)
                else:
                    assert int(out["gasUsed"], 16) == result.gas_used
        ran += 1
    assert ran > 0


def test_struct_logger_reports_each_step_with_its_cost():
    from hyperion.vm.environment import BlockEnv
    from hyperion.vm.forks import PRAGUE
    from hyperion.primitives.transactions import FeeMarketTransaction
    from hyperion.primitives.secp256k1 import private_key_to_address

    key = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
    sender = private_key_to_address(key)
    contract = b"\xcc" * 20
    # PUSH1 2 PUSH1 3 ADD PUSH1 0 SSTORE STOP
    code = bytes.fromhex("600260030160005500")
    state = MemoryState()
    state.set_account(sender, balance=10**18)
    state.set_account(contract, code=code)
    tx = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=1, max_fee_per_gas=10, gas=100_000,
                              to=contract, value=0, data=b"", access_list=()).signed(key)
    tracer = StructLogger()
    result = apply_transaction(state, BlockEnv(fork=PRAGUE, base_fee=7), tx, tracer=tracer)
    logs = tracer.result()["structLogs"]
    assert [l["op"] for l in logs] == ["PUSH1", "PUSH1", "ADD", "PUSH1", "SSTORE", "STOP"]
    assert [l["gasCost"] for l in logs] == [3, 3, 3, 3, 22100, 0]
    assert logs[2]["stack"] == ["0x2", "0x3"]
    assert logs[0]["gas"] == 100_000 - 21_000
    assert logs[4]["storage"] == {"0x" + "00" * 32: "0x" + "00" * 31 + "05"}  # 0x-prefixed, as execution-apis specifies
    assert result.gas_used == 21_000 + 12 + 22_100


def test_revert_reason_decoding():
    payload = bytes.fromhex("08c379a0") + (32).to_bytes(32, "big") + (5).to_bytes(32, "big") + b"nope!".ljust(32, b"\0")
    assert decode_revert_reason(payload) == "nope!"
    assert decode_revert_reason(b"\x01\x02") is None
    assert decode_revert_reason(payload[:40]) is None
