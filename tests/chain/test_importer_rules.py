"""Block import rules that the fixture samples reach only in some forks: size limit, merge, BLOCKHASH window."""

from __future__ import annotations

import pytest

from hyperion.chain.blocks import EMPTY_OMMERS_HASH, Block, Header
from hyperion.chain.importer import (
    ChainSpec,
    InvalidBlock,
    ancestor_hashes,
    import_block,
    is_proof_of_stake,
)
from hyperion.chain.schedule import ForkSchedule
from hyperion.primitives.transactions import LegacyTransaction
from hyperion.state.memory import MemoryState


def _header(**fields) -> Header:
    base = dict(parent_hash=b"\0" * 32, ommers_hash=EMPTY_OMMERS_HASH, coinbase=b"\0" * 20, state_root=b"\0" * 32,
                transactions_root=b"\0" * 32, receipts_root=b"\0" * 32, logs_bloom=b"\0" * 256, difficulty=0,
                number=0, gas_limit=30_000_000, gas_used=0, timestamp=0, extra_data=b"", prev_randao=b"\0" * 32,
                nonce=b"\0" * 8)
    base.update(fields)
    return Header(**base)


class _Ancestry:
    def __init__(self, headers=(), td=None):
        self.by_hash = {h.hash: h for h in headers}
        self.td = td or {}

    def header(self, block_hash):
        return self.by_hash.get(block_hash)

    def ommers(self, block_hash):
        return []

    def total_difficulty(self, block_hash):
        return self.td.get(block_hash)


def test_an_osaka_block_over_the_rlp_size_limit_is_rejected_first():
    parent = _header(base_fee=7, withdrawals_root=b"\0" * 32, blob_gas_used=0, excess_blob_gas=0,
                     parent_beacon_block_root=b"\0" * 32, requests_hash=b"\0" * 32)
    tx = LegacyTransaction(0, 10, 30_000_000, b"\1" * 20, 0, b"\x01" * (9 * 2**20)).signed(b"\x11" * 32, 1)
    child = _header(parent_hash=parent.hash, number=1, timestamp=12, base_fee=7, withdrawals_root=b"\0" * 32,
                    blob_gas_used=0, excess_blob_gas=0, parent_beacon_block_root=b"\0" * 32,
                    requests_hash=b"\0" * 32)
    raw = Block(child, [tx], []).encode()
    spec = ChainSpec(1, ForkSchedule.from_network("Osaka"))
    with pytest.raises(InvalidBlock) as excinfo:
        import_block(raw, parent, MemoryState(), spec, _Ancestry([parent]))
    assert excinfo.value.rule == "RLP_BLOCK_LIMIT_EXCEEDED"
    assert "block 1 (0x" in str(excinfo.value) and "limit is 8388608" in str(excinfo.value)


def test_header_checks_come_before_execution_with_clear_messages():
    parent = _header(number=5, timestamp=100, base_fee=10**9, withdrawals_root=b"\0" * 32)
    spec = ChainSpec(1, ForkSchedule.from_network("Shanghai"))
    late = _header(parent_hash=parent.hash, number=6, timestamp=100, base_fee=875_000_000,
                   withdrawals_root=b"\0" * 32)
    with pytest.raises(InvalidBlock) as excinfo:
        import_block(Block(late, [], []).encode(), parent, MemoryState(), spec, _Ancestry([parent]))
    assert excinfo.value.rule == "INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT"
    assert excinfo.value.number == 6 and "timestamp 100 is not after the parent's 100" in str(excinfo.value)
    wrong_fee = _header(parent_hash=parent.hash, number=6, timestamp=112, base_fee=10**9,
                        withdrawals_root=b"\0" * 32)
    with pytest.raises(InvalidBlock) as excinfo:
        import_block(Block(wrong_fee, [], []).encode(), parent, MemoryState(), spec, _Ancestry([parent]))
    assert excinfo.value.rule == "INVALID_BASEFEE_PER_GAS" and "expected 875000000" in str(excinfo.value)
    no_withdrawals = _header(parent_hash=parent.hash, number=6, timestamp=112, base_fee=875_000_000)
    with pytest.raises(InvalidBlock) as excinfo:
        import_block(Block(no_withdrawals, [], None).encode(), parent, MemoryState(), spec, _Ancestry([parent]))
    assert excinfo.value.rule == "INCORRECT_BLOCK_FORMAT"


def test_the_merge_comes_at_the_terminal_total_difficulty():
    schedule = ForkSchedule.from_network("ArrowGlacierToParisAtDiffC0000")
    parent = _header(number=10, difficulty=0x20000)
    assert not is_proof_of_stake(parent, 0xBFFFF, schedule)
    assert is_proof_of_stake(parent, 0xC0000, schedule)
    assert is_proof_of_stake(parent, None, ForkSchedule.from_network("Paris"))
    assert not is_proof_of_stake(parent, 10**30, ForkSchedule.from_network("London"))


def test_blockhash_walks_the_importing_branch():
    genesis = _header()
    chain = [genesis]
    for number in range(1, 300):
        chain.append(_header(number=number, parent_hash=chain[-1].hash, timestamp=number))
    lookup = ancestor_hashes(chain[-1], _Ancestry(chain))  # for block 300, child of block 299
    assert lookup(300) is None  # the block being imported
    assert lookup(299) == chain[299].hash
    assert lookup(300 - 256) == chain[300 - 256].hash
    assert lookup(300 - 257) is None  # outside the 256-block window
    sparse = ancestor_hashes(chain[-1], _Ancestry(chain[-10:]))
    assert sparse(295) == chain[295].hash and sparse(100) is None  # unknown ancestors read as zero


def test_the_dao_fork_moves_the_dao_balances_and_marks_ten_blocks():
    from hyperion.chain import consensus
    from hyperion.chain.dao import DAO_ACCOUNTS, REFUND_CONTRACT, apply_dao_fork

    schedule = ForkSchedule.from_genesis_config({"homesteadBlock": 0, "daoForkBlock": 5})
    assert consensus.block_rules(schedule, 5, 0).dao_fork_block
    assert not consensus.block_rules(schedule, 6, 0).dao_fork_block
    assert [consensus.block_rules(schedule, n, 0).dao_extra_data for n in (4, 5, 14, 15)] == [False, True, True, False]
    opposed = ForkSchedule.from_genesis_config({"homesteadBlock": 0, "daoForkBlock": 5, "daoForkSupport": False})
    assert not consensus.block_rules(opposed, 5, 0).dao_fork_block
    parent = _header(number=5, difficulty=2**17, timestamp=10)
    plain = _header(number=6, parent_hash=parent.hash, difficulty=2**17 + 64, timestamp=11, gas_limit=30_000_000)
    with pytest.raises(consensus.HeaderError, match="dao-hard-fork"):
        consensus.validate_header(plain, parent, consensus.block_rules(schedule, 6, 11))
    state = MemoryState()
    state.set_account(DAO_ACCOUNTS[0], balance=10)
    state.set_account(DAO_ACCOUNTS[-1], balance=32)
    state.set_account(REFUND_CONTRACT, balance=1)
    apply_dao_fork(state)
    assert state.get_balance(REFUND_CONTRACT) == 43
    assert state.get_balance(DAO_ACCOUNTS[0]) == 0 and state.get_balance(DAO_ACCOUNTS[-1]) == 0
