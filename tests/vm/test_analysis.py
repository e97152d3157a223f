"""Block-level gas charging must be indistinguishable from per-instruction charging.

The fast path charges static gas per basic block (merged through
fall-through JUMPDESTs, charged by jumps for their destination); the
stepping tracer charges each instruction. Random programs with jumps, GAS,
SSTORE, stack under/overflow and out-of-gas at every gas limit must give the
same gas used, success flag and state root on both paths.
"""

from hypothesis import given, settings, strategies as st

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
