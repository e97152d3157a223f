"""MemoryState: journal semantics, transaction scope, EIP-161 cleanup, state roots and proofs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperion.primitives import rlp
from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import InvalidAccountData, decode_account, encode_account
from hyperion.state.memory import InvalidSnapshot, MemoryState
from hyperion.trie import EMPTY_TRIE_ROOT, secure_trie_root, trie_root, verify_proof

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ethereum-tests"

ALICE = b"\xaa" * 20
BOB = b"\xbb" * 20
CAROL = b"\xcc" * 20


def _state_from_fixture(accounts: dict) -> MemoryState:
    state = MemoryState()
    for address, account in accounts.items():
        state.set_account(
            bytes.fromhex(address[2:]),
            nonce=int(account["nonce"], 16),
            balance=int(account["balance"], 16),
            code=bytes.fromhex(account["code"][2:]),
            storage={int(k, 16): int(v, 16) for k, v in account["storage"].items()},
        )
    return state


def _fresh_state() -> MemoryState:
    state = MemoryState()
    state.set_account(ALICE, nonce=1, balance=100, code=b"\x60\x00", storage={1: 10, 2: 20})
    state.set_account(BOB, balance=5)
    state.begin_transaction()
    return state


# -- accounts -----------------------------------------------------------------------------
def test_account_queries() -> None:
    state = _fresh_state()
    assert state.account_exists(ALICE) and state.is_alive(ALICE) and not state.is_empty(ALICE)
    assert not state.account_exists(CAROL) and state.is_empty(CAROL) and not state.is_alive(CAROL)
    assert state.get_code_hash(ALICE) == keccak256(b"\x60\x00")
    assert state.get_code_hash(BOB) == EMPTY_KECCAK
    assert state.get_code_hash(CAROL) == EMPTY_KECCAK
    assert state.get_balance(CAROL) == 0 and state.get_nonce(CAROL) == 0 and state.get_code(CAROL) == b""
    assert state.has_storage(ALICE) and not state.has_storage(BOB) and not state.has_storage(CAROL)
    state.set_balance(CAROL, 0)
    assert state.account_exists(CAROL) and state.is_empty(CAROL) and not state.is_alive(CAROL)
    state.set_code(BOB, b"\x00")
    assert state.get_code_hash(BOB) == keccak256(b"\x00") and state.is_alive(BOB)


def test_zero_storage_values_are_deleted() -> None:
    state = _fresh_state()
    state.set_storage(ALICE, 1, 0)
    state.set_storage(ALICE, 3, 0)
    assert state.get_storage_items(ALICE) == {2: 20}
    state.set_storage(ALICE, 2, 0)
    assert not state.has_storage(ALICE)
    assert state.storage_root(ALICE) == EMPTY_TRIE_ROOT


# -- journal ---------------------------------------------------------------------------------
def test_nested_snapshots_revert_and_commit() -> None:
    state = _fresh_state()
    outer = state.snapshot()
    state.set_balance(ALICE, 1)
    inner = state.snapshot()
    state.set_balance(ALICE, 2)
    state.set_storage(ALICE, 1, 11)
    state.commit(inner)
    innermost = state.snapshot()
    state.set_nonce(ALICE, 9)
    state.revert(innermost)
    assert state.get_nonce(ALICE) == 1
    assert state.get_balance(ALICE) == 2 and state.get_storage(ALICE, 1) == 11  # committed
    state.revert(outer)  # the committed inner changes are undone with their parent
    assert state.get_balance(ALICE) == 100 and state.get_storage(ALICE, 1) == 10


def test_revert_restores_every_kind_of_change() -> None:
    state = _fresh_state()
    root_before = state.state_root()
    state.warm_address(BOB)
    state.warm_slot(ALICE, 1)
    state.set_transient(ALICE, 7, 70)
    snap = state.snapshot()
    state.set_balance(ALICE, 0)
    state.set_nonce(ALICE, 5)
    state.set_code(ALICE, b"\xfe")
    state.set_storage(ALICE, 1, 0)
    state.set_storage(ALICE, 3, 33)
    state.set_transient(ALICE, 7, 0)
    state.set_transient(ALICE, 8, 80)
    assert state.warm_address(CAROL) is True
    assert state.warm_slot(ALICE, 2) is True
    state.set_balance(CAROL, 3)
    state.mark_created(CAROL)
    state.touch(BOB)
    state.destroy_account(BOB)
    assert state.state_root() != root_before
    state.revert(snap)
    assert state.get_balance(ALICE) == 100 and state.get_nonce(ALICE) == 1
    assert state.get_code(ALICE) == b"\x60\x00" and state.get_code_hash(ALICE) == keccak256(b"\x60\x00")
    assert state.get_storage_items(ALICE) == {1: 10, 2: 20}
    assert state.get_transient(ALICE, 7) == 70 and state.get_transient(ALICE, 8) == 0
    assert state.is_warm_address(BOB) and not state.is_warm_address(CAROL)
    assert state.is_warm_slot(ALICE, 1) and not state.is_warm_slot(ALICE, 2)
    assert state.warm_slot(ALICE, 2) is True  # cold again after the revert
    assert not state.account_exists(CAROL) and not state.was_created(CAROL)
    assert state.get_balance(BOB) == 5
    assert state.state_root() == root_before


def test_destroy_and_recreate_then_revert() -> None:
    state = _fresh_state()
    snap = state.snapshot()
    state.destroy_account(ALICE)
    assert not state.account_exists(ALICE) and state.get_storage(ALICE, 1) == 0
    assert state.get_code_hash(ALICE) == EMPTY_KECCAK
    state.set_storage(ALICE, 1, 99)
    state.set_balance(ALICE, 7)
    assert state.get_storage_items(ALICE) == {1: 99}
    assert state.get_original_storage(ALICE, 1) == 10  # still the value at transaction start
    assert state.get_original_storage(ALICE, 2) == 20
    state.revert(snap)
    assert state.get_storage_items(ALICE) == {1: 10, 2: 20}
    assert state.get_balance(ALICE) == 100 and state.get_nonce(ALICE) == 1


def test_invalid_snapshot_ids_are_rejected() -> None:
    state = _fresh_state()
    state.set_balance(ALICE, 1)
    with pytest.raises(InvalidSnapshot):
        state.revert(5)
    with pytest.raises(InvalidSnapshot):
        state.revert(-1)
    with pytest.raises(InvalidSnapshot):
        state.commit(5)


def test_warm_sets_report_cold_then_warm() -> None:
    state = _fresh_state()
    assert state.warm_address(ALICE) is True and state.warm_address(ALICE) is False
    assert state.warm_slot(ALICE, 1) is True and state.warm_slot(ALICE, 1) is False
    state.begin_transaction()
    assert not state.is_warm_address(ALICE)
    assert state.warm_slot(ALICE, 1) is True


def test_begin_transaction_resets_a_transaction_that_never_ended() -> None:
    state = _fresh_state()
    state.warm_address(BOB)
    state.warm_slot(ALICE, 1)
    state.set_storage(ALICE, 1, 11)
    state.set_transient(ALICE, 1, 2)
    state.mark_created(CAROL)
    state.touch(BOB)
    state.begin_transaction()  # no end_transaction: e.g. a simulation that raised
    assert not state.is_warm_address(BOB) and not state.is_warm_slot(ALICE, 1)
    assert state.get_original_storage(ALICE, 1) == 11 and state.get_transient(ALICE, 1) == 0
    assert not state.was_created(CAROL) and state.snapshot() == 0
    state.begin_transaction()  # nothing in use: still a clean transaction
    assert state.warm_address(BOB) is True and state.snapshot() == 1


def test_warm_at_start_warms_without_journal_entries_and_ends_with_the_transaction() -> None:
    state = _fresh_state()
    state.warm_at_start(frozenset({ALICE}), BOB, CAROL)
    assert state.snapshot() == 0  # nothing to undo: a transaction's first frame starts after it
    assert all(state.is_warm_address(a) for a in (ALICE, BOB, CAROL))
    assert state.warm_address(BOB) is False
    snap = state.snapshot()
    state.set_balance(BOB, 6)
    state.revert(snap)
    assert state.is_warm_address(ALICE) and state.is_warm_address(CAROL)
    state.end_transaction()
    state.begin_transaction()
    assert not any(state.is_warm_address(a) for a in (ALICE, BOB, CAROL))


def test_each_transaction_gets_a_new_journal_list() -> None:
    """The parallel executor keeps the list a transaction ended with (execution/parallel/journal.py):
    no later transaction may write into it, even one that ended with nothing in it."""
    state = _fresh_state()
    for writes in (1, 0):
        if writes:
            state.set_balance(BOB, 7)
        kept = state._journal
        state.end_transaction()
        state.begin_transaction()
        state.set_balance(BOB, 8)
        assert len(kept) == writes
        state.end_transaction()
        state.begin_transaction()


def test_add_balance_journals_and_leaves_a_shared_record_alone() -> None:
    state = _fresh_state()
    snap = state.snapshot()
    state.add_balance(BOB, 7)
    state.add_balance(CAROL, 3)  # absent: created
    assert state.get_balance(BOB) == 12 and state.get_balance(CAROL) == 3
    state.revert(snap)
    assert state.get_balance(BOB) == 5 and not state.account_exists(CAROL)
    shared = MemoryState()
    shared.share_from(state)
    shared.begin_transaction()
    shared.add_balance(BOB, 1)
    assert shared.get_balance(BOB) == 6 and state.get_balance(BOB) == 5


# -- transaction scope -------------------------------------------------------------------------
def test_original_storage_is_the_value_at_transaction_start() -> None:
    state = _fresh_state()
    assert state.get_original_storage(ALICE, 1) == 10
    state.set_storage(ALICE, 1, 11)
    state.set_storage(ALICE, 1, 12)
    state.set_storage(ALICE, 5, 50)
    assert state.get_original_storage(ALICE, 1) == 10
    assert state.get_original_storage(ALICE, 5) == 0
    snap = state.snapshot()
    state.set_storage(ALICE, 2, 0)
    state.revert(snap)
    assert state.get_original_storage(ALICE, 2) == 20
    state.end_transaction()
    state.begin_transaction()
    assert state.get_original_storage(ALICE, 1) == 12
    assert state.get_original_storage(ALICE, 5) == 50


def test_original_storage_of_an_account_created_in_the_transaction_is_zero() -> None:
    state = _fresh_state()
    state.mark_created(CAROL)
    state.set_storage(CAROL, 1, 5)
    assert state.was_created(CAROL)
    assert state.get_original_storage(CAROL, 1) == 0
    state.end_transaction()
    assert not state.was_created(CAROL)
    assert state.get_original_storage(CAROL, 1) == 5


def test_transient_storage_is_cleared_per_transaction() -> None:
    state = _fresh_state()
    state.set_transient(ALICE, 1, 2)
    assert state.get_transient(ALICE, 1) == 2 and state.get_transient(BOB, 1) == 0
    state.end_transaction()
    assert state.get_transient(ALICE, 1) == 0


def test_end_transaction_deletes_touched_empty_accounts() -> None:
    state = _fresh_state()
    empty = b"\x01" * 20
    untouched_empty = b"\x02" * 20
    state.set_account(empty)
    state.set_account(untouched_empty)
    state.begin_transaction()
    state.touch(empty)
    state.touch(ALICE)  # not empty: kept
    state.touch(CAROL)  # absent: nothing to delete
    state.set_balance(BOB, 0)
    state.touch(BOB)  # emptied and touched: deleted
    state.end_transaction()
    assert not state.account_exists(empty)
    assert not state.account_exists(BOB)
    assert state.account_exists(untouched_empty)
    assert state.account_exists(ALICE)


def test_reverted_touch_does_not_delete() -> None:
    state = _fresh_state()
    state.set_account(CAROL)
    state.begin_transaction()
    snap = state.snapshot()
    state.touch(CAROL)
    state.revert(snap)
    state.end_transaction()
    assert state.account_exists(CAROL)


# -- tools API -------------------------------------------------------------------------------------
def test_set_account_validates_input() -> None:
    state = MemoryState()
    with pytest.raises(InvalidAccountData):
        state.set_account(b"\x01" * 19)
    with pytest.raises(InvalidAccountData):
        state.set_account(ALICE, balance=-1)
    with pytest.raises(InvalidAccountData):
        state.set_account(ALICE, nonce=1 << 64)
    with pytest.raises(InvalidAccountData):
        state.set_account(ALICE, storage={1 << 256: 1})
    with pytest.raises(InvalidAccountData):
        state.set_account(ALICE, code="60")  # type: ignore[arg-type]
    state.set_account(ALICE, storage={1: 0, 2: 3})
    assert state.get_storage_items(ALICE) == {2: 3}


def test_copy_is_independent() -> None:
    state = _fresh_state()
    duplicate = state.copy()
    duplicate.set_storage(ALICE, 1, 1)
    duplicate.set_balance(BOB, 0)
    assert state.get_storage(ALICE, 1) == 10 and state.get_balance(BOB) == 5
    assert dict((a, acct.balance) for a, acct in state.accounts()) == {ALICE: 100, BOB: 5}
    assert duplicate.state_root() != state.state_root()


# -- state root --------------------------------------------------------------------------------------
def test_state_root_by_hand() -> None:
    """The root equals a secure trie over hand-encoded account leaves and storage tries."""
    state = _fresh_state()
    alice_storage_root = secure_trie_root(
        {(1).to_bytes(32, "big"): rlp.encode(10), (2).to_bytes(32, "big"): rlp.encode(20)}
    )
    expected = secure_trie_root(
        {
            ALICE: rlp.encode([1, 100, alice_storage_root, keccak256(b"\x60\x00")]),
            BOB: rlp.encode([0, 5, EMPTY_TRIE_ROOT, EMPTY_KECCAK]),
        }
    )
    assert state.state_root() == expected
    assert state.storage_root(ALICE) == alice_storage_root
    assert decode_account(encode_account(1, 100, alice_storage_root, EMPTY_KECCAK)) == (
        1,
        100,
        alice_storage_root,
        EMPTY_KECCAK,
    )
    assert MemoryState().state_root() == EMPTY_TRIE_ROOT


def test_state_root_cache_follows_writes_and_reverts() -> None:
    state = _fresh_state()
    first = state.state_root()
    assert state.state_root() == first
    snap = state.snapshot()
    state.set_storage(ALICE, 1, 11)
    changed = state.state_root()
    assert changed != first
    state.revert(snap)
    assert state.state_root() == first
    state.set_storage(ALICE, 1, 11)
    assert state.state_root() == changed


def test_general_state_test_pre_state_root_is_stable() -> None:
    """A GeneralStateTests ``pre``: stable root, matching a hand-built secure trie (and py-trie)."""
    path = FIXTURES / "GeneralStateTests" / "stExample" / "add11.json"
    if not path.is_file():
        pytest.skip("fixtures missing")
    pre = next(iter(json.loads(path.read_text()).values()))["pre"]
    state = _state_from_fixture(pre)
    root = state.state_root()
    state.begin_transaction()
    state.end_transaction()
    assert state.state_root() == root
    leaves = {}
    for address, account in pre.items():
        storage = {
            int(k, 16).to_bytes(32, "big"): rlp.encode(int(v, 16))
            for k, v in account["storage"].items()
            if int(v, 16)
        }
        leaves[bytes.fromhex(address[2:])] = rlp.encode(
            [
                int(account["nonce"], 16),
                int(account["balance"], 16),
                secure_trie_root(storage),
                keccak256(bytes.fromhex(account["code"][2:])),
            ]
        )
    assert root == secure_trie_root(leaves)
    assert root == trie_root({keccak256(k): v for k, v in leaves.items()})
    py_trie = pytest.importorskip("trie")
    reference = py_trie.HexaryTrie({})
    for address, leaf in leaves.items():
        reference[keccak256(address)] = leaf
    assert root == reference.root_hash


def _blockchain_root_cases() -> list:
    folder = FIXTURES / "BlockchainTests" / "ValidBlocks"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="fixtures missing"))]
    return [pytest.param(path, id=str(path.relative_to(folder))) for path in sorted(folder.rglob("*.json"))]


@pytest.mark.parametrize("path", _blockchain_root_cases())
def test_state_roots_of_blockchain_fixtures(path: Path) -> None:
    """Genesis ``pre`` must hash to the genesis stateRoot, ``postState`` to the last block's.

    The whole folder runs in a few seconds, so it is not marked slow.
    """
    checked = 0
    for case in json.loads(path.read_text()).values():
        genesis_root = case["genesisBlockHeader"]["stateRoot"][2:]
        assert _state_from_fixture(case["pre"]).state_root().hex() == genesis_root
        checked += 1
        headers = {b["blockHeader"]["hash"]: b["blockHeader"] for b in case["blocks"] if "blockHeader" in b}
        last = headers.get(case["lastblockhash"])
        if "postState" in case and last is not None:
            assert _state_from_fixture(case["postState"]).state_root().hex() == last["stateRoot"][2:]
            checked += 1
    assert checked > 0


# -- proofs --------------------------------------------------------------------------------------------
def test_account_proof_verifies_against_state_root() -> None:
    state = _fresh_state()
    for index in range(30):
        state.set_account(bytes([index]) * 20, balance=index + 1, storage={index: index + 1})
    root = state.state_root()
    proof = state.account_proof(ALICE, [1, 2, 3])
    leaf = verify_proof(root, keccak256(ALICE), proof["accountProof"])
    assert leaf == encode_account(1, 100, proof["storageHash"], keccak256(b"\x60\x00"))
    assert proof["balance"] == 100 and proof["nonce"] == 1 and proof["codeHash"] == keccak256(b"\x60\x00")
    assert proof["storageHash"] == state.storage_root(ALICE)
    values = {}
    for entry in proof["storageProof"]:
        slot_key = keccak256(entry["key"].to_bytes(32, "big"))
        stored = verify_proof(proof["storageHash"], slot_key, entry["proof"])
        values[entry["key"]] = 0 if stored is None else rlp.decode_int(rlp.decode(stored))
        assert values[entry["key"]] == entry["value"]
    assert values == {1: 10, 2: 20, 3: 0}

    absent = state.account_proof(CAROL, [1])
    assert verify_proof(root, keccak256(CAROL), absent["accountProof"]) is None
    assert absent["storageHash"] == EMPTY_TRIE_ROOT and absent["storageProof"][0]["proof"] == []


# -- incremental roots -----------------------------------------------------------------------
def _reference_root(state: MemoryState) -> bytes:
    """Root of an unrelated state rebuilt from scratch (one-pass builder, nothing cached)."""
    rebuilt = MemoryState()
    for address, account in state.accounts():
        rebuilt.set_account(address, nonce=account.nonce, balance=account.balance, code=account.code,
                            storage=dict(account.storage))
    return rebuilt.state_root()


def _random_operations(state: MemoryState, rng, addresses: list[bytes], count: int) -> None:
    snapshots: list[int] = []
    for _ in range(count):
        address = rng.choice(addresses)
        roll = rng.random()
        if roll < 0.35:
            state.set_storage(address, rng.randrange(6), rng.choice([0, 0, 1, 2, 3 << 200]))
        elif roll < 0.5:
            state.set_balance(address, rng.randrange(4))
        elif roll < 0.6:
            state.set_nonce(address, rng.randrange(3))
        elif roll < 0.65:
            state.set_code(address, rng.choice([b"", b"\x00", b"\x60\x00"]))
        elif roll < 0.72:
            state.destroy_account(address)
        elif roll < 0.78:
            state.touch(address)
        elif roll < 0.86:
            snapshots.append(state.snapshot())
        elif roll < 0.94 and snapshots:
            index = rng.randrange(len(snapshots))
            state.revert(snapshots[index])
            del snapshots[index:]
        elif roll < 0.97:
            state.end_transaction()
            snapshots.clear()
        else:
            assert state.state_root() == _reference_root(state)


def test_incremental_state_root_matches_a_full_rebuild() -> None:
    """Dirty-path re-hashing after writes, reverts, destroys and EIP-161 deletions equals a rebuild."""
    import random

    rng = random.Random(7)
    addresses = [bytes([n]) * 20 for n in range(1, 9)]
    for _ in range(30):
        state = MemoryState()
        for address in addresses[:4]:
            state.set_account(address, nonce=1, balance=rng.randrange(5),
                              storage={k: k + 1 for k in range(rng.randrange(5))})
        state.begin_transaction()
        for _ in range(6):
            _random_operations(state, rng, addresses, 40)
            assert state.state_root() == _reference_root(state)


def test_shared_states_clone_on_write_and_keep_their_roots() -> None:
    """``share_from`` states never see each other's writes; every root stays exact."""
    import random

    rng = random.Random(11)
    addresses = [bytes([n]) * 20 for n in range(1, 7)]
    base = MemoryState()
    for address in addresses[:3]:
        base.set_account(address, balance=1, storage={1: 1, 2: 2})
    base_root = base.state_root()
    chain = [base]
    for _ in range(25):
        parent = rng.choice(chain)
        parent_root = parent.state_root()
        child = MemoryState()
        child.share_from(parent)
        child.begin_transaction()
        _random_operations(child, rng, addresses, 30)
        child.end_transaction()
        assert child.state_root() == _reference_root(child)
        assert parent.state_root() == parent_root == _reference_root(parent)
        child.release_ownership()
        chain.append(child)
    assert base.state_root() == base_root
