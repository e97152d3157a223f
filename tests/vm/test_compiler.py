"""The compiled tier must be indistinguishable from the interpreter.

Random programs (jumps valid and not, GAS, SSTORE, stack under/overflow,
out of gas at every gas limit) run three ways: interpreted, compiled
(threshold 0) and stepped one instruction at a time by the struct logger;
gas used, success and state root must agree. Targeted tests pin the
compiler's own mechanisms: static-jump fusion, loops, folding, masking,
the dispatcher's JUMPDEST rule and the trace budget.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hyperion.execution.transaction import apply_transaction
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction, LegacyTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.analysis import LazyCodeAnalysis
from hyperion.vm.compiler.program import Program, show
from hyperion.vm.compiler.tiering import TIERS, Tiers
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import BERLIN, CONSTANTINOPLE, FORKS, FRONTIER, ISTANBUL, OSAKA, PRAGUE, TANGERINE_WHISTLE
from hyperion.vm.opcodes import table_for
from hyperion.vm.tracing import StructLogger

from test_analysis import long_programs, programs

KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
SENDER = private_key_to_address(KEY)
CONTRACT = b"\xcc" * 20
M = 2**256 - 1


@pytest.fixture(autouse=True)
def _restore_tiers():
    saved = (TIERS.threshold, TIERS.enabled, TIERS.cache_bytes)
    yield
    TIERS.threshold, TIERS.enabled, TIERS.cache_bytes = saved


def run_code(code: bytes, gas: int = 100_000, mode: str = "compiled", fork=PRAGUE, storage=None, data=b""):
    """(gas used, success, state root, output, storage) of one call to ``code``."""
    TIERS.clear()
    TIERS.enabled = mode != "interpreter"
    TIERS.threshold = 0
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code, storage=dict(storage or {1: 1}))
    tracer = StructLogger() if mode == "stepping" else None
    if fork.has_base_fee:
        tx = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=1, gas=gas,
                                  to=CONTRACT, value=0, data=data, access_list=()).signed(KEY)
        env = BlockEnv(fork=fork, base_fee=1)
    else:
        tx = LegacyTransaction(nonce=0, gas_price=1, gas=gas, to=CONTRACT, value=0, data=data).signed(KEY)
        env = BlockEnv(fork=fork)
    result = apply_transaction(state, env, tx, tracer=tracer)
    return (result.gas_used, result.success, state.state_root(), result.error, result.output,
            state.get_storage_items(CONTRACT))


def agree(code: bytes, gas: int, fork=PRAGUE, **kw) -> tuple:
    compiled = run_code(code, gas, "compiled", fork, **kw)
    interpreted = run_code(code, gas, "interpreter", fork, **kw)
    assert compiled == interpreted
    return compiled


@settings(max_examples=150, deadline=None)
@given(programs(), st.integers(21_000, 80_000))
def test_compiled_equals_interpreted_and_stepped(code, gas):
    # the halt reason too: where a block's charge fails, both tiers find the instruction that
    # halts as per-instruction stepping does (vm/stepping.py)
    compiled = agree(code, gas)
    assert compiled[:4] == run_code(code, gas, "stepping")[:4]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(programs(), long_programs()), st.integers(21_000, 120_000), st.sampled_from((1, 5, 30, 200)))
def test_a_spent_compile_budget_hands_the_frame_to_the_interpreter_exactly(code, gas, budget):
    # a tiny budget per transaction: traces cut short, then the interpreter takes over wherever the
    # frame reaches an uncompiled slot (a continuation in mid-chain, a JUMPDEST, a chain head)
    from hyperion.vm.compiler.program import Program

    saved = Program.tx_budget
    Program.tx_budget = budget
    try:
        compiled = agree(code, gas)
        assert compiled[:4] == run_code(code, gas, "stepping")[:4]
    finally:
        Program.tx_budget = saved


@settings(max_examples=60, deadline=None)
@given(programs(), st.integers(21_000, 80_000),
       st.sampled_from((FRONTIER, TANGERINE_WHISTLE, CONSTANTINOPLE, ISTANBUL, BERLIN, OSAKA)))
def test_compiled_equals_interpreted_in_every_era(code, gas, fork):
    agree(code, gas, fork)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(long_programs(), st.integers(21_000, 200_000))
def test_long_programs_with_jumps_compile_exactly(code, gas):
    agree(code, gas)


def assemble(*parts) -> bytes:
    out = bytearray()
    for part in parts:
        out += bytes.fromhex(part) if isinstance(part, str) else bytes(part)
    return bytes(out)


# a loop: i = 10; do { sstore(i, i); i -= 1 } while (i)
LOOP = assemble("600a", "5b", "8080" "55", "6001900380", "6002" "57", "00")


def test_a_loop_runs_as_a_python_loop_and_charges_every_iteration():
    program_source = show(LOOP, table_for(PRAGUE), LazyCodeAnalysis(LOOP, table_for(PRAGUE)), [2])
    assert "while True:" in program_source and "continue" in program_source
    for gas in range(21_000, 260_000, 997):
        agree(LOOP, gas)


def test_out_of_gas_at_every_instruction_leaves_the_same_gas():
    # MSTORE grows memory, GAS reads the exact gas, SSTORE keeps it: each limit is its own case
    code = assemble("602a" "6000" "52", "5a" "6000" "55", "6001" "6001" "01" "6003" "55", "00")
    results = {agree(code, gas)[:2] for gas in range(21_000, 70_000, 97)}
    assert (True in {ok for _, ok in results}) and (False in {ok for _, ok in results})


def test_static_jumps_are_fused_and_return_addresses_resolved():
    # PUSH ret, PUSH fn, JUMP; fn: JUMPDEST PUSH1 7 SWAP1 JUMP (return); ret: JUMPDEST PUSH0 SSTORE STOP
    code = assemble("600b" "6006" "56" "00", "5b" "6007" "9056", "5b" "5f" "55" "00")
    source = show(code, table_for(PRAGUE), LazyCodeAnalysis(code, table_for(PRAGUE)), [0])
    # one trace: the call and the return were followed at compile time (its only return ends the frame)
    assert [line.strip() for line in source.splitlines() if "return" in line] == ["return -1"]
    assert agree(code, 100_000)[1]


def test_a_failing_block_reports_the_halt_of_the_instruction_that_fails():
    # RETURNDATACOPY out of bounds, then a costly tail in the same block (and, compiled, fused
    # across a static jump): with gas for the copy but not for the whole block, the reason is
    # the copy's, as geth reports it, on both tiers
    tail = "6001" * 200 + "50" * 200
    head = assemble("6001" "6000" "6000" "3e", tail)
    dest = len(head) + 3 + 2  # PUSH2 dest, JUMP, two STOPs
    code = assemble(head, "61" + dest.to_bytes(2, "big").hex(), "56" "00" "00" "5b", tail, "00")
    for gas in (21_100, 21_500, 22_500, 23_500):
        interpreted = run_code(code, gas, "interpreter")
        assert agree(code, gas)[:4] == run_code(code, gas, "stepping")[:4] == interpreted[:4]
        assert interpreted[3] == "return data out of bounds"
    underflow = assemble("6001", "01", tail, "00")  # ADD with one item: the underflow comes first
    for gas in (21_005, 21_010, 30_000):
        assert agree(underflow, gas)[3] == "stack underflow"


def test_invalid_jumps_are_exceptional_static_and_dynamic():
    into_push_data = assemble("6004" "56" "605b" "00")  # PUSH1 4 JUMP PUSH1 0x5b STOP
    dynamic = assemble("6000" "35" "56" "5b" "00")  # CALLDATALOAD(0) JUMP
    huge = assemble("7f" + "ff" * 32, "56")
    for code in (into_push_data, huge):
        gas_used, ok, *_ = agree(code, 50_000)
        assert not ok and gas_used == 50_000
    for dest in (0, 3, 4, 5, 2**255):
        data = dest.to_bytes(32, "big")
        gas_used, ok, *_ = agree(dynamic, 50_000, data=data)
        assert ok == (dest == 4)


def test_stack_underflow_and_overflow_are_exceptional():
    assert not agree(assemble("01"), 50_000)[1]  # ADD on an empty stack
    assert not agree(assemble("5f" * 1025), 100_000)[1]
    assert agree(assemble("5f" * 1024, "00"), 100_000)[1]
    # a loop that grows the stack by one per iteration until it overflows
    assert not agree(assemble("5b" "5f" "6000" "56"), 1_000_000)[1]


def test_constants_are_folded_and_masks_dropped_where_no_overflow():
    code = assemble("6001" "6002" "01" "6000" "55",  # 1 + 2 folded
                    "6000" "35" "60ff" "16" "6001" "01" "6001" "55",  # (x & 0xff) + 1: no mask needed
                    "6000" "35" "6001" "01" "6002" "55", "00")  # x + 1: masked
    table = table_for(PRAGUE)
    source = show(code, table, LazyCodeAnalysis(code, table), [0])
    assert "1 + 2" not in source and "op_sstore(f, 0, 3)" in source
    assert source.count("& M") == 1
    assert agree(code, 100_000, data=(M).to_bytes(32, "big"))[1]


@pytest.mark.parametrize("fork", list(FORKS.values())[::3], ids=lambda f: f.name)
def test_every_pure_instruction_folds_like_its_handler(fork):
    """``direct`` (compile-time folding, call form) and ``handler`` (the interpreter) of one
    template agree on edge values."""
    from hyperion.vm.frame import Frame, TxContext

    values = [0, 1, 2, 31, 32, 255, 256, 2**255 - 1, 2**255, 2**256 - 1, 2**256 - 2, 2**128]
    rng = random.Random(7)
    ctx = TxContext(MemoryState(), BlockEnv(fork=fork), fork, SENDER, 0)
    for opcode, spec in enumerate(table_for(fork)):
        if spec is None or spec.instruction is None or not spec.instruction.pure or spec.instruction.uses_pc:
            continue
        ins = spec.instruction
        for _ in range(40):
            args = [rng.choice(values) for _ in range(ins.pops)]
            frame = Frame(ctx, CONTRACT, SENDER, 0, b"", b"", 0, 0, False)
            frame.stack = list(reversed(args))
            try:
                expected = ins.direct(*args)
            except Exception as exc:  # STOP/INVALID raise: the handler must raise the same
                with pytest.raises(type(exc)):
                    spec.handler(frame, 0)
                continue
            assert spec.handler(frame, 0) == 1
            assert frame.stack == ([expected] if ins.pushes else []), (spec.name, args)
            assert expected is None or 0 <= expected <= M


def test_trace_budget_makes_adversarial_code_compile_in_linear_work():
    # 3000 JUMPDESTs each followed by long straight-line code: every JUMPDEST is a trace entry
    code = assemble(("5b" "6001" "50") * 3000, "00")
    table = table_for(PRAGUE)
    program = Program(code, table, LazyCodeAnalysis(code, table))
    for pc in range(0, len(code), 4):
        program.build(pc)
    assert program.translated <= 6 * len(code)


def test_the_lru_cache_is_bounded_by_code_size():
    tiers = Tiers()
    tiers.configure(threshold=0, cache_bytes=10_000)
    from hyperion.vm.compiler.tiering import CodeEntry

    table = table_for(PRAGUE)
    entries = []
    for i in range(10):
        code = bytes([0x60, i]) + bytes(3000)
        entry = CodeEntry(code, table, LazyCodeAnalysis(code, table))
        entries.append(entry)
        assert tiers.program_for(entry) is not None
        assert tiers.cached_bytes <= 10_000
    assert [e.program is not None for e in entries] == [False] * 7 + [True] * 3
    tiers.program_for(entries[7])  # touched: now the most recent
    tiers.program_for(entries[0])  # compiles again, evicting the least recent (8)
    assert entries[8].program is None and entries[7].program is not None
    tiers.program_for(entries[0])  # the most recent already
    tiers.program_for(entries[1])  # evicts the least recent (9)
    assert [e.program is not None for e in (entries[9], entries[7], entries[0], entries[1])] == [False, True, True, True]
    tiers.program_for(entries[7])
    tiers.program_for(entries[2])  # 0 is the least recent now
    assert entries[0].program is None and entries[7].program is not None


def test_threshold_counts_interpreted_runs():
    tiers = Tiers()
    tiers.configure(threshold=3)
    from hyperion.vm.compiler.tiering import CodeEntry

    code = bytes.fromhex("600160020100")
    table = table_for(PRAGUE)
    entry = CodeEntry(code, table, LazyCodeAnalysis(code, table))
    assert [tiers.program_for(entry) is not None for _ in range(5)] == [False, False, False, True, True]
    never = Tiers()
    never.configure(threshold=None)
    entry = CodeEntry(code, table, LazyCodeAnalysis(code, table))
    assert not any(never.program_for(entry) for _ in range(5))


def test_a_traced_execution_uses_the_interpreter():
    code = assemble("6001" "6002" "01" "5f" "55" "00")
    TIERS.clear()
    TIERS.threshold = 0
    logger = StructLogger()
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code)
    tx = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=1, gas=100_000,
                              to=CONTRACT, value=0, data=b"", access_list=()).signed(KEY)
    apply_transaction(state, BlockEnv(fork=PRAGUE, base_fee=1), tx, tracer=logger)
    assert [entry["op"] for entry in logger.logs] == ["PUSH1", "PUSH1", "ADD", "PUSH0", "SSTORE", "STOP"]
    assert not TIERS.programs()


# -- halt reasons: a check other than gas after a dynamic charge in the same block ------------------

def halt_of(code: bytes, gas: int, mode: str, static: bool = False, fork=PRAGUE) -> tuple:
    """(status, gas left, halt reason) of one frame of ``code`` (``static``: a STATICCALL's frame)."""
    from hyperion.vm.frame import TxContext
    from hyperion.vm.interpreter import execute_call
    from hyperion.vm.tracing import Tracer

    TIERS.clear()
    TIERS.enabled = mode != "interpreter"
    TIERS.threshold = 0
    state = MemoryState()
    state.set_account(CONTRACT, code=code)
    ctx = TxContext(state, BlockEnv(fork=fork, base_fee=1), fork, SENDER, 1, (),
                    Tracer() if mode == "stepping" else None)
    status, gas_left, _ = execute_call(ctx, SENDER, CONTRACT, CONTRACT, 0, b"", gas, 0, static, False, code)
    return status, gas_left, type(ctx.halt_reason).__name__ if ctx.halt_reason is not None else None


def reasons_over_gas(code: bytes, gases, static: bool = False) -> set:
    """The halt reasons over these gas limits, where all three modes agree on every outcome."""
    seen = set()
    for gas in gases:
        stepped = halt_of(code, gas, "stepping", static)
        assert halt_of(code, gas, "interpreter", static) == stepped, gas
        assert halt_of(code, gas, "compiled", static) == stepped, gas
        seen.add(stepped[2])
    return seen


STATICS_AFTER = "6000" "50" * 41  # 41 PUSH1/POP pairs: 205 gas of static charges
GROW_MEMORY = "6059" "6004" "6039" "37"  # CALLDATACOPY 0x59 bytes to 0x39: memory and copy charges


def test_a_dynamic_charge_before_returndatacopy_cannot_hide_its_bounds_check():
    # seed 1 case 74298's shape: CALLDATACOPY grows memory, RETURNDATACOPY reads past the (empty)
    # return data, static gas follows; per instruction the bounds check halts before that gas is due
    code = assemble(GROW_MEMORY, "6000" "6001" "60f2" "3e", STATICS_AFTER, "00")
    assert reasons_over_gas(code, range(0, 300)) == {"OutOfGas", "ReturnDataOutOfBounds"}


@pytest.mark.parametrize("check", ["6000" "6000" "a0", "6001" "6000" "5d"], ids=["LOG0", "TSTORE"])
def test_a_dynamic_charge_before_a_write_in_a_static_call_cannot_hide_it(check):
    code = assemble("6001" "610100" "52", check, STATICS_AFTER, "00")  # MSTORE at 0x100 grows memory
    assert reasons_over_gas(code, range(0, 700, 3), static=True) == {"OutOfGas", "WriteInStaticContext"}


@pytest.mark.parametrize("code, static, static_gas", [
    (assemble("6020" "6000" "6000" "3e", "00"), False, 12),  # RETURNDATACOPY 32 bytes past empty return data
    (assemble("6020" "6000" "a0", "00"), True, 381),  # LOG0 of 32 bytes in a static call
    (assemble("6001" "6000" "55", "00"), True, 6),  # SSTORE in a static call (2300 gas: the sentry)
])
def test_dynamic_charges_come_before_the_checks_as_in_the_execution_specs(code, static, static_gas):
    # with gas for the static part only, the dynamic charge fails before the check: out of gas
    assert halt_of(code, static_gas, "stepping", static)[2] == "OutOfGas"
    assert reasons_over_gas(code, (static_gas, 2_300, 100_000), static) == {"OutOfGas", (
        "WriteInStaticContext" if static else "ReturnDataOutOfBounds")}


def test_instructions_that_may_halt_on_a_check_end_their_charge_block():
    from hyperion.vm.opspec import MAY_HALT

    flagged = {spec.name for spec in table_for(PRAGUE) if spec is not None and spec.flags & MAY_HALT}
    assert flagged == {"LOG0", "LOG1", "LOG2", "LOG3", "LOG4", "RETURNDATACOPY", "TSTORE", "SSTORE", "INVALID",
                       "CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2", "SELFDESTRUCT"}
    # the compiled tier opens a new charge point after RETURNDATACOPY
    code = assemble("6000" "6000" "6000" "3e", "6000" "50", "00")
    source = show(code, table_for(PRAGUE), LazyCodeAnalysis(code, table_for(PRAGUE)), [0])
    assert source.count("g = f.gas - ") == 2


# -- compiling is bounded per transaction ----------------------------------------------------------

def test_a_worst_case_contract_cannot_stall_a_transaction_on_compiling():
    """A 6 KB contract made to be expensive to compile (every instruction reaches a new constant
    memory offset: a partial evaluation each, the translator's costliest work) runs compiled from
    its first call, yet no transaction spends more than its compile budget on it: the frame goes
    on in the interpreter and later transactions compile the rest. Results never change."""
    from hyperion.vm.compiler.program import Program
    from hyperion.vm.compiler.translate import PARTIAL_COST

    rng = random.Random(7)
    chunks = []
    while sum(map(len, chunks)) < 6_000:
        offset = 0x4000 + 32 * rng.randrange(4096)
        chunks.append(bytes.fromhex(f"62{offset:06x}" "51" "50" if rng.random() < 0.5 else f"6001" f"62{offset:06x}" "52"))
        if rng.random() < 0.1:
            chunks.append(b"\x5b")  # a JUMPDEST: another trace entry
    code = b"".join(chunks) + b"\x00"
    expected = run_code(code, 10_000_000, "interpreter")
    TIERS.clear()
    TIERS.enabled, TIERS.threshold = True, 0
    budget = Program.tx_budget
    per_tx = []
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code, storage={1: 1})
    env = BlockEnv(fork=PRAGUE, base_fee=1)
    program = None
    for nonce in range(1000):
        tx = FeeMarketTransaction(chain_id=1, nonce=nonce, max_priority_fee_per_gas=0, max_fee_per_gas=1,
                                  gas=10_000_000, to=CONTRACT, value=0, data=b"", access_list=()).signed(KEY)
        before = {} if program is None else dict(program.traces)
        result = apply_transaction(state, env, tx)
        assert (result.gas_used, result.success, result.error) == (expected[0], expected[1], expected[3])
        program = next(p for p in TIERS.programs() if p.code == code)
        # traces new in this transaction (a trace cut short is compiled again later: a new object)
        spent = sum(trace.cost for pc, trace in program.traces.items() if before.get(pc) is not trace)
        per_tx.append(spent)
        if not spent:
            break
    assert per_tx[-1] == 0, "compiling never finished"
    assert max(per_tx) <= budget + PARTIAL_COST  # a trace may pass the limit by one instruction
    assert sum(per_tx) > 50 * budget  # compiling it all at once would have stalled the first call


def test_the_compile_budget_comes_from_the_environment(monkeypatch):
    from hyperion.vm.compiler.program import Program
    from hyperion.vm.compiler.tiering import BUDGET_ENV, UNLIMITED

    saved = Program.tx_budget
    try:
        for text, budget in (("unlimited", UNLIMITED), (" 64 ", 64)):
            monkeypatch.setenv(BUDGET_ENV, text)
            Tiers()
            assert Program.tx_budget == budget
        for bad in ("0", "-3", "lots"):
            monkeypatch.setenv(BUDGET_ENV, bad)
            with pytest.raises(ValueError, match=BUDGET_ENV):
                Tiers()
        monkeypatch.delenv(BUDGET_ENV)
        with pytest.raises(ValueError, match="compile budget"):
            Tiers().configure(tx_budget=0)
    finally:
        Program.tx_budget = saved


# -- work inside traces: constant charges, inlined helpers, memory growth, checks --------------------

def source_of(code: bytes, entries=(0,)) -> str:
    table = table_for(PRAGUE)
    return show(code, table, LazyCodeAnalysis(code, table), list(entries))


def test_a_keccak256_of_a_constant_size_charges_with_its_block():
    # KECCAK256_WORD is a module constant: with the size known, its word charge is static gas
    code = assemble("6001" "6000" "52", "6040" "6000" "20" "6000" "55", "00")
    source = source_of(code)
    assert "keccak256(f_memory[0:64])" in source and "charge" not in source
    for gas in range(21_000, 50_000, 37):
        assert agree(code, gas)[:4] == run_code(code, gas, "stepping")[:4]


def test_copy_and_log_helpers_are_part_of_their_instructions():
    table = table_for(PRAGUE)
    codecopy = table[0x39].instruction.handler_source()
    assert "copy_to_memory(" not in codecopy and "f.code[offset:offset + size].ljust(size, b'\\x00')" in codecopy
    log2 = table[0xA2].instruction.handler_source()
    assert "emit_log(" not in log2 and "topic2.to_bytes(32, 'big')" in log2 and "charge(" not in log2
    # Vyper's selector table: CODECOPY of 2 constant bytes to a constant place, then a LOG of constants
    code = assemble("6002" "6005" "601e" "39", "6007" "6020" "6000" "a1", "00")
    source = source_of(code)
    assert "copy_to_memory(" not in source and "charge" not in source and "emit_log(" not in source
    assert "f_memory[30:32] = f_code[5:5 + 2].ljust(2, b'\\x00')" in source
    assert "bytes(f_memory[0:32])" in source  # the LOG's data: read_memory of constants is a slice
    for gas in range(21_000, 23_500, 7):
        assert agree(code, gas)[:4] == run_code(code, gas, "stepping")[:4]


def test_memory_grows_once_per_block_unless_something_looks_at_its_size():
    # MSTOREs at 0x40, 0x80, 0xc0 and an MLOAD at 0x100: one growth to 0x120 at the first
    grow = "602a" "6040" "52" "602b" "6080" "52" "602c" "60c0" "52" "610100" "51" "6000" "55"
    code = assemble(grow, "00")
    source = source_of(code)
    assert source.count("f_memory += ") == 1 and "f_memory += b'\\0' * 288" in source  # (a frame's start: size known)
    # an SLOAD's charge between them reads the gas only to fail out of gas: still one growth
    charged = assemble("602a" "6040" "52", "6001" "54" "6080" "52", "00")
    assert source_of(charged).count("f_memory += ") == 1
    # MSIZE between the stores sees memory as it is at that point: two growths
    observed = assemble("602a" "6040" "52", "59" "6001" "55", "602b" "6080" "52", "00")
    assert source_of(observed).count("f_memory += ") == 2
    # MCOPY of constants: its end (max(dest, source) + size) is folded, no growth left to check
    mcopy = assemble("602a" "6080" "52", "6020" "6060" "6000" "5e", "00")
    assert "max(" not in source_of(mcopy) and source_of(mcopy).count("f_memory += ") == 1
    for program in (code, charged, observed, mcopy):
        for gas in range(21_000, 45_000, 29):  # out of gas before, between and after the growths
            assert agree(program, gas)[:4] == run_code(program, gas, "stepping")[:4]


def test_a_trace_follows_the_passing_side_of_a_check():
    # require(calldata[0] != 0): JUMPI over PUSH0 PUSH0 REVERT; the stored value after it
    code = assemble("6000" "35", "6009" "57", "5f" "5f" "fd", "5b" "6001" "6000" "55" "00")
    source = source_of(code)
    assert "if not (" in source and "return" in source.split("if not (")[1].split("\n")[1]
    assert "op_sstore(f, 0, 1)" in source  # the passing side is in the trace
    assert agree(code, 60_000, data=(1).to_bytes(32, "big"))[1]
    assert not agree(code, 60_000, data=bytes(32))[1]
    # the failing side jumps to a shared revert routine (PUSH dest; JUMP), as Solidity's checks do
    shared = assemble("6000" "35", "600b" "57", "6012" "56" "00" "00",
                      "5b" "6001" "6000" "55" "00", "5b" "5f" "5f" "fd")
    source = source_of(shared)
    assert "if not (" in source and "op_sstore(f, 0, 1)" in source
    assert agree(shared, 60_000, data=(1).to_bytes(32, "big"))[1]
    assert not agree(shared, 60_000, data=bytes(32))[1]


def test_a_trace_the_compile_budget_cut_short_compiles_again_whole():
    # CODECOPYs of distinct constant sizes: a partial evaluation each, so a small budget cuts the trace
    code = assemble(*(f"60{size:02x}" "6000" "6000" "39" for size in range(1, 9)), "6001" "6000" "55", "00")
    saved = Program.tx_budget
    Program.tx_budget = 300
    try:
        TIERS.clear()
        TIERS.threshold = 0
        states = {}
        for tier in (True, False):
            states[tier] = MemoryState()
            states[tier].set_account(SENDER, balance=10**20)
            states[tier].set_account(CONTRACT, code=code)
        env = BlockEnv(fork=PRAGUE, base_fee=1)
        lengths = []
        for nonce in range(6):
            tx = FeeMarketTransaction(chain_id=1, nonce=nonce, max_priority_fee_per_gas=0, max_fee_per_gas=1,
                                      gas=100_000, to=CONTRACT, value=0, data=b"", access_list=()).signed(KEY)
            results = []
            for tier in (True, False):  # compiled, then the interpreter on a state of its own
                TIERS.enabled = tier
                result = apply_transaction(states[tier], env, tx)
                results.append((result.gas_used, result.success))
            assert results[0] == results[1]
            program = next(p for p in TIERS.programs() if p.code == code)
            lengths.append(program.traces[0].instructions)
    finally:
        Program.tx_budget = saved
    assert lengths[0] < lengths[-1] == 8 * 4 + 4  # cut at first, then the whole code in one trace
    assert not program.cut


def test_a_slot_read_twice_in_a_trace_is_read_once_until_storage_may_change():
    # SLOAD(1) twice, summed: the second is warm (100 gas) with the same value
    code = assemble("6001" "54" "6001" "54" "01" "6002" "55", "00")
    source = source_of(code)
    assert source.count("get_storage") == 1 and "v_3 = v_2" not in source
    # an SSTORE to a slot not known at compile time between the reads may change it: read again
    written = assemble("6001" "54" "6007" "6000" "35" "55" "6001" "54" "01" "6002" "55", "00")
    assert source_of(written).count("get_storage") == 2
    for program, data in ((code, b""), (written, bytes(32)), (written, (1).to_bytes(32, "big"))):
        for gas in range(21_600, 70_000, 211):  # out of gas on either read's charge, the stores' and after
            assert agree(program, gas, storage={1: 5}, data=data)[:4] == \
                run_code(program, gas, "stepping", storage={1: 5}, data=data)[:4]
    for fork in (ISTANBUL, BERLIN):  # SLOAD's price before EIP-2929 is static, after it warm/cold
        assert agree(code, 100_000, fork, storage={1: 5})[1]


def test_a_store_to_a_slot_the_trace_read_uses_what_it_read():
    # x = SLOAD(1); SSTORE(1, x + calldata); SLOAD(1) again: the store neither reads nor warms the slot
    # again, and the second read is the stored value
    code = assemble("6001" "54" "6000" "35" "01" "6001" "55", "6001" "54" "6002" "55", "00")
    source = source_of(code)
    assert source.count("get_storage") == 1 and "warm_slot" in source and source.count("warm_slot") == 1
    assert "op_sstore" in source  # the store to slot 2 (never read) is the template's call
    for fork in (ISTANBUL, BERLIN, PRAGUE):  # net metering without and with cold slots
        for original, add in ((5, 1), (5, 0), (0, 7), (5, M - 4)):  # reset, no-op, set, clear (refund)
            data = add.to_bytes(32, "big")
            for gas in range(22_300, 70_000, 1_013):  # out of gas at the sentry, the charge, or later
                compiled = agree(code, gas, fork, storage={1: original}, data=data)
                assert compiled[:4] == run_code(code, gas, "stepping", fork, storage={1: original},
                                                data=data)[:4]


# -- frames that end by returning; memory words kept pending ---------------------------------

def run_program(code: bytes, gas: int = 100_000):
    """(what ``Program.run`` returned, the frame) for one frame of ``code`` run by its program."""
    from hyperion.vm.frame import Frame, TxContext

    table = table_for(PRAGUE)
    program = Program(code, table, LazyCodeAnalysis(code, table))
    state = MemoryState()
    ctx = TxContext(state, BlockEnv(fork=PRAGUE, base_fee=1), PRAGUE, SENDER, 1)
    frame = Frame(ctx, CONTRACT, SENDER, 0, b"", code, gas, 0, False)
    return program.run(frame), frame


def test_a_trace_ends_its_frame_by_returning_its_status():
    from hyperion.vm.exceptions import REVERTED, SUCCESS, InvalidOpcode

    stored = "602a" "6000" "52"  # MSTORE(0, 42)
    for ending, status in (("00", SUCCESS), ("60206000f3", SUCCESS), ("60206000fd", REVERTED)):
        code = assemble(stored, ending)
        source = source_of(code)  # no Halt or Revert raised through the dispatcher
        assert "raise Halt" not in source and "raise Revert" not in source and "return -" in source
        result, frame = run_program(code)
        assert result == status
        assert frame.output == (b"" if ending == "00" else (42).to_bytes(32, "big"))
        assert agree(code, 60_000)[1] == (status == SUCCESS)
    with pytest.raises(InvalidOpcode):  # an exceptional halt still raises
        run_program(assemble(stored, "fe"))


def straight_line(source: str) -> list[str]:
    """The lines of a trace outside any branch (its exits and halts are in branches)."""
    return [line.strip() for line in source.splitlines() if line.startswith("    ") and line[4] != " "]


def test_words_stored_at_constant_offsets_reach_memory_only_where_something_may_see_them():
    # Vyper's mapping read: MSTORE(0, slot), MSTORE(32, key), SLOAD(KECCAK256(0, 64)), then RETURN of
    # a word stored last: on the straight line nothing is written to memory (the frame's memory dies
    # with it), the hash is of the words' bytes, and the returned bytes are the word's
    code = assemble("6001" "6000" "52", "6000" "35" "6020" "52", "6040" "6000" "20" "54",
                    "6080" "52", "6020" "6080" "f3")
    source = source_of(code)
    assert not [line for line in straight_line(source) if line.startswith("f_memory[")]
    assert "keccak256((" in source and "f.output = (v_" in source
    key = (7).to_bytes(32, "big")
    slot = int.from_bytes(keccak256((1).to_bytes(32, "big") + key), "big")
    for gas in range(21_350, 26_000, 17):  # out of gas at every block, the halts write the words first
        compiled = agree(code, gas, storage={slot: 99}, data=key)
        assert compiled[:5] == run_code(code, gas, "stepping", storage={slot: 99}, data=key)[:5]
    assert agree(code, 100_000, storage={slot: 99}, data=key)[4] == (99).to_bytes(32, "big")


def test_pending_words_are_written_before_an_exit_a_call_or_an_overlapping_access():
    word = "7f" + "a5" * 32
    programs = [
        # an exit to another trace (a JUMPI taken on calldata), whose MLOAD reads the word
        assemble("602a" "6000" "52", "6000" "35" "6010" "57", "6007" "6000" "52", "5b" "6000" "51" "6000" "55" "00"),
        # STATICCALL of the identity precompile with the word as input, its output read back
        assemble(word, "6000" "52", "6020" "6020" "6020" "6000" "6004" "5a" "fa" "50", "6020" "51" "6000" "55" "00"),
        # a word stored over part of another, MSTORE8 into one, MCOPY from them, CALLDATACOPY over one
        assemble(word, "6000" "52", "6011" "6010" "52", "6001" "601f" "53", "6040" "6000" "6040" "5e",
                 "6008" "6000" "6004" "37", "6080" "6000" "f3"),
        # MSIZE and a dynamic MLOAD between the stores
        assemble("6005" "6040" "52", "59" "6000" "55", "6000" "35" "51" "6001" "55", "6006" "6000" "52",
                 "6060" "6000" "f3"),
        # more words than are kept pending (the oldest are written)
        assemble(*(f"60{i + 1:02x}" f"61{32 * i:04x}" "52" for i in range(12)), "610180" "6000" "f3"),
        # a loop: the word stored by each iteration is written before it goes round again
        assemble("6003", "5b", "80" "6000" "52", "6001" "90" "03", "80" "6002" "57", "6020" "6000" "f3"),
    ]
    for code in programs:
        for data in (bytes(32), (1).to_bytes(32, "big"), bytes(range(64))):
            assert agree(code, 200_000, data=data) == run_code(code, 200_000, "stepping", data=data)
        for gas in range(21_000, 24_000, 23):
            assert agree(code, gas)[:5] == run_code(code, gas, "stepping")[:5]


def test_a_frames_first_trace_knows_memory_s_size_and_charges_its_growth_as_static_gas():
    # MSTOREs at 0x40 then 0x80 (two blocks apart: a LOG0 between), RETURN of both
    code = assemble("602a" "6040" "52", "6000" "6000" "a0", "602b" "6080" "52", "60a0" "6000" "f3")
    source = source_of(code)
    assert "len(f_memory)" not in source and "f_memory += b'\\0' * 96" in source
    assert "f_memory += b'\\0' * 64" in source  # from 96 bytes to 160: known, so a constant too
    # after MSIZE, a dynamic MLOAD (growth not known at compile time) or a JUMPDEST at pc 0 (a jump
    # may enter it again): the size is read at run time
    for prefix, known in (("5950", True), ("600035" "5150", False), ("5b", False)):
        other = source_of(assemble(prefix, "602a" "6040" "52", "60a0" "6000" "f3"))
        assert ("f_memory += b'\\0' * 160" in other, "(160 - len(f_memory))" in other) == (known, not known)
    for program in (code, assemble("5950", code), assemble("600035" "5150", code), assemble("5b", code)):
        for data in (b"", (7).to_bytes(32, "big")):
            for gas in range(21_350, 50_000, 41):  # out of gas before, at and after each growth
                assert agree(program, gas, data=data)[:5] == run_code(program, gas, "stepping", data=data)[:5]


def test_a_negative_result_of_a_constant_signed_dividend_is_masked():
    # SMOD(-(2**255 - 1), calldata): with the dividend known, the partial evaluation's result is
    # wrap(-r); -r is negative, so its mask stays (fuzz seed 6002 case 7058: a negative word reached
    # MSTORE). Stored in a slot and returned, against the interpreter
    minus = "7f8000000000000000000000000000000000000000000000000000000000000001"
    code = assemble("6000" "35", minus, "07", "80" "6000" "55", "6000" "52", "6020" "6000" "f3")
    assert "& M" in source_of(code).split("SMOD")[1]
    for divisor in (3, 2**255 + 7, 2**256 - 1, 0, 1):
        assert agree(code, 100_000, data=divisor.to_bytes(32, "big"))[1]
