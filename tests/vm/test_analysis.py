"""Block-level gas charging must be indistinguishable from per-instruction charging.

The fast path charges static gas per basic block (merged through
fall-through JUMPDESTs, charged by jumps for their destination); the
stepping tracer charges each instruction. Random programs with jumps, GAS,
SSTORE, stack under/overflow and out-of-gas at every gas limit must give the
same gas used, success flag and state root on both paths.
"""

from hypothesis import HealthCheck, given, settings, strategies as st

from hyperion.execution.transaction import apply_transaction
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction, LegacyTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.analysis import analyse_code
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import BERLIN, CONSTANTINOPLE, FRONTIER, ISTANBUL, PRAGUE, TANGERINE_WHISTLE
from hyperion.vm.opcodes import table_for
from hyperion.vm.tracing import StructLogger

KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
SENDER = private_key_to_address(KEY)
CONTRACT = b"\xcc" * 20

# Small instructions whose combinations exercise block boundaries.
SIMPLE = [
    bytes([0x5B]),  # JUMPDEST
    bytes([0x5B]),
    bytes([0x01]),  # ADD
    bytes([0x50]),  # POP
    bytes([0x80]),  # DUP1
    bytes([0x90]),  # SWAP1
    bytes([0x5A]),  # GAS
    bytes([0x58]),  # PC
    bytes([0x5F]),  # PUSH0
    bytes([0x59]),  # MSIZE
    bytes([0x55]),  # SSTORE
    bytes([0x54]),  # SLOAD
    bytes([0x52]),  # MSTORE
    bytes([0x00]),  # STOP
    bytes([0xFE]),  # INVALID
    bytes([0x0C]),  # undefined
    bytes([0x31]),  # BALANCE (static gas before Berlin, cold/warm after)
    bytes([0x0A]),  # EXP (per-byte price by fork)
]


@st.composite
def programs(draw):
    pieces = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            pieces.append(draw(st.sampled_from(SIMPLE)))
        elif kind <= 7:
            pieces.append(bytes([0x60, draw(st.integers(0, 60))]))  # PUSH1 small (jump targets, offsets)
        elif kind == 8:
            pieces.append(bytes([0x60, draw(st.integers(0, 60)), 0x56]))  # PUSH1 x JUMP
        else:
            pieces.append(bytes([0x60, draw(st.integers(0, 1)), 0x60, draw(st.integers(0, 60)), 0x57]))  # JUMPI
    return b"".join(pieces)


def _run(code: bytes, gas: int, tracer):
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code, storage={1: 1})
    tx = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=1, gas=gas,
                              to=CONTRACT, value=0, data=b"", access_list=()).signed(KEY)
    result = apply_transaction(state, BlockEnv(fork=PRAGUE, base_fee=1), tx, tracer=tracer)
    return result.gas_used, result.success, state.state_root()


@settings(max_examples=300, deadline=None)
@given(programs(), st.integers(21_000, 80_000))
def test_block_charging_equals_per_instruction_charging(code, gas):
    assert _run(code, gas, None) == _run(code, gas, StructLogger())


def _run_legacy(code: bytes, gas: int, tracer, fork):
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code, storage={1: 1})
    tx = LegacyTransaction(nonce=0, gas_price=1, gas=gas, to=CONTRACT, value=0, data=b"").signed(KEY)
    result = apply_transaction(state, BlockEnv(fork=fork), tx, tracer=tracer)
    return result.gas_used, result.success, state.state_root()


@settings(max_examples=100, deadline=None)
@given(programs(), st.integers(21_000, 80_000),
       st.sampled_from((FRONTIER, TANGERINE_WHISTLE, CONSTANTINOPLE, ISTANBUL, BERLIN)))
def test_block_charging_equals_per_instruction_charging_in_older_forks(code, gas, fork):
    # each fork's table carries its own static gas (SLOAD 50/200/800, BALANCE 20/400/700, ...)
    assert _run_legacy(code, gas, None, fork) == _run_legacy(code, gas, StructLogger(), fork)


def test_fall_through_jumpdests_are_merged_and_jumps_charge_their_destination():
    # PUSH1 4 JUMP JUMPDEST JUMPDEST JUMPDEST STOP: the JUMPDESTs at 3, 4, 5
    # form one chain (4 and 5 are reached from 3 by falling through); the
    # jump lands on 4 and pays for the rest of the chain from there.
    code = bytes.fromhex("6004565b5b5b00")
    analysis = analyse_code(code, table_for(PRAGUE))
    # a jump to 4 pays for JUMPDEST(4) and JUMPDEST(5): one merged chain
    assert analysis.jumpdests[4][0] == 2
    assert analysis.jumpdests[3][0] == 3
    gas_used, success, _ = _run(code, 30_000, None)
    assert success and gas_used == 21_000 + 3 + 8 + 1 + 1


def test_gas_sees_the_exact_remaining_gas():
    # GAS PUSH0 SSTORE: stores the gas left after GAS itself (2 gas)
    code = bytes.fromhex("5a5f5500")
    state = MemoryState()
    state.set_account(SENDER, balance=10**20)
    state.set_account(CONTRACT, code=code)
    tx = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=1, gas=100_000,
                              to=CONTRACT, value=0, data=b"", access_list=()).signed(KEY)
    apply_transaction(state, BlockEnv(fork=PRAGUE, base_fee=1), tx)
    assert state.get_storage(CONTRACT, 0) == 100_000 - 21_000 - 2


def test_jump_into_push_data_is_invalid():
    # PUSH1 4 JUMP PUSH1 0x5b STOP: offset 4 is inside PUSH1's data
    code = bytes.fromhex("600456605b00")
    analysis = analyse_code(code, table_for(PRAGUE))
    assert 4 not in analysis.jumpdests
    gas_used, success, _ = _run(code, 50_000, None)
    assert not success and gas_used == 50_000


# -- lazy analysis: chains are built as execution reaches them -------------------------


NEUTRAL = [  # stack-neutral pieces, so that long programs keep running
    bytes([0x5B]),  # JUMPDEST
    bytes.fromhex("6001600201" "50"),  # PUSH1 1 PUSH1 2 ADD POP
    bytes.fromhex("5a50"),  # GAS POP
    bytes.fromhex("6007600155"),  # PUSH1 7 PUSH1 1 SSTORE
    bytes.fromhex("60015450"),  # PUSH1 1 SLOAD POP
    bytes.fromhex("60cc3150"),  # PUSH1 0xcc BALANCE POP
    bytes.fromhex("600360020a50"),  # PUSH1 3 PUSH1 2 EXP POP
]


@st.composite
def long_programs(draw):
    """Stack-neutral programs of a few KiB that cross several SEGMENT boundaries,
    with jumps (valid and not) forwards and backwards and PUSH data full of 0x5b."""
    pieces = []  # bytes, or ("jump" | "jumpi", target piece index or None for a random target)
    size = 0
    target = draw(st.integers(1200, 3500))
    while size < target:
        kind = draw(st.integers(0, 11))
        if kind <= 6:
            piece = draw(st.sampled_from(NEUTRAL))
        elif kind == 7:
            piece = bytes([0x7F]) + draw(st.binary(min_size=32, max_size=32)) + bytes([0x50])  # PUSH32 x POP
        elif kind == 8:
            piece = bytes.fromhex("5b6001600201" "50") * draw(st.integers(1, 60))  # long runs through JUMPDESTs
        else:
            choice = draw(st.integers(0, 10_000))
            piece = ("jump" if kind == 9 else "jumpi", None if choice % 16 == 0 else choice)
        pieces.append(piece)
        size += len(piece) if isinstance(piece, bytes) else 6
    starts, at = [], 0
    for piece in pieces:
        starts.append(at)
        at += len(piece) if isinstance(piece, bytes) else (4 if piece[0] == "jump" else 6)
    landing = [starts[i] for i, piece in enumerate(pieces) if isinstance(piece, bytes) and piece[:1] == b"\x5b"]
    code = bytearray()
    for piece in pieces:
        if isinstance(piece, bytes):
            code += piece
            continue
        kind, choice = piece
        if choice is None or not landing:
            dest = draw(st.integers(0, at + 40))  # usually not a JUMPDEST: an invalid jump
        else:
            dest = landing[choice % len(landing)]
        jump = bytes([0x61]) + dest.to_bytes(2, "big") + bytes([0x56])
        code += jump if kind == "jump" else bytes([0x60, draw(st.integers(0, 1))]) + jump[:3] + bytes([0x57])
    return bytes(code)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(long_programs(), st.integers(21_000, 200_000))
def test_lazy_chains_charge_exactly_like_per_instruction_charging(code, gas):
    assert _run(code, gas, None) == _run(code, gas, StructLogger())


def test_a_long_initcode_that_stops_at_once_builds_one_chain(monkeypatch):
    from hyperion.vm.analysis import LazyCodeAnalysis
    from hyperion.vm.compiler.tiering import TIERS

    monkeypatch.setattr(TIERS, "enabled", False)  # the interpreter's analysis is under test
    from hyperion.vm.frame import Frame, TxContext
    from hyperion.vm.interpreter import SUCCESS, _run as run_frame

    state = MemoryState()
    ctx = TxContext(state, BlockEnv(fork=PRAGUE), PRAGUE, SENDER, 0)
    code = bytes(50_000)  # STOP, then 49,999 more STOPs that never run
    frame = Frame(ctx, CONTRACT, SENDER, 0, b"", code, 100, 0, False)
    assert run_frame(frame, ctx, None) == SUCCESS
    analysis = ctx.analysis_cache[code].analysis
    assert isinstance(analysis, LazyCodeAnalysis)
    assert analysis.analysed == {0} and analysis._scanned == -1  # no jump: PUSH data never scanned


def test_jump_destinations_inside_push_data_are_invalid_at_any_distance():
    from hyperion.vm.analysis import LazyCodeAnalysis

    # PUSH32 whose data is all 0x5b, then a real JUMPDEST, far apart in a long code
    code = bytes([0x7F]) + b"\x5b" * 32 + bytes(3000) + b"\x5b"
    analysis = LazyCodeAnalysis(code, table_for(PRAGUE))
    assert not any(analysis.is_jumpdest(pc) for pc in range(1, 33))
    assert analysis.is_jumpdest(len(code) - 1)
    assert set(analysis.plain_jumpdests) == {len(code) - 1}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_lazy_and_eager_analyses_agree_on_jump_destinations(code):
    from hyperion.vm.analysis import LazyCodeAnalysis

    lazy = LazyCodeAnalysis(code, table_for(PRAGUE))
    eager = set(analyse_code(code, table_for(PRAGUE)).jumpdests)
    assert {pc for pc in range(len(code) + 2) if lazy.is_jumpdest(pc)} == eager
    assert set(LazyCodeAnalysis(code, table_for(PRAGUE)).plain_jumpdests) == eager
