"""EIP-1186 proofs from MetisDB, checked by an independent implementation (py-trie)."""

from __future__ import annotations

import random

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.account import decode_account, storage_trie_key
from hyperion.state.memory import MemoryState
from hyperion.state.metisdb import MetisDB
from hyperion.trie import InvalidProof, verify_proof

pytrie = pytest.importorskip("trie", reason="py-trie (the independent checker) is not installed")
pyrlp = pytest.importorskip("rlp")
from trie.exceptions import BadTrieProof  # noqa: E402

ADDRESSES = [keccak256(b"proof" + bytes([index]))[:20] for index in range(60)]


def _independent_get(root: bytes, key: bytes, proof: list[bytes]) -> bytes:
    """py-trie's own proof walk (its RLP codec and node handling, not ours)."""
    return pytrie.HexaryTrie.get_from_proof(root, key, [pyrlp.decode(node) for node in proof])


def _build(tmp_path, retention=None) -> tuple[MetisDB, list[MemoryState]]:
    rng = random.Random(5)
    db = MetisDB(tmp_path / "db", retention=retention, sync=False)
    reference = MemoryState()
    history = []
    for number in range(4):
        pending = db.pending()
        for address in rng.sample(ADDRESSES, 30):
            balance = rng.randrange(1, 10**20)
            pending.set_balance(address, balance)
            reference.set_balance(address, balance)
            for slot in rng.sample(range(50), 5):
                value = rng.randrange(0, 3)
                pending.set_storage(address, slot, value)
                reference.set_storage(address, slot, value)
        assert db.commit(pending, number) == reference.state_root()
        history.append(reference.copy())
    return db, history


@pytest.mark.parametrize("block", [1, 3])
def test_proofs_verify_with_py_trie(tmp_path, block: int) -> None:
    db, history = _build(tmp_path)
    reference = history[block]
    with db, db.reader(block) as snapshot:
        for address in ADDRESSES[:25] + [b"\x99" * 20]:  # includes an absent account
            slots = list(range(0, 50, 7))
            proof = snapshot.account_proof(address, slots)
            leaf = _independent_get(snapshot.state_root, keccak256(address), proof["accountProof"])
            ours = verify_proof(snapshot.state_root, keccak256(address), proof["accountProof"])
            assert leaf == (ours or b"")
            if reference.account_exists(address):
                nonce, balance, storage_hash, code_hash = decode_account(leaf)
                assert (nonce, balance, storage_hash, code_hash) == (
                    proof["nonce"], proof["balance"], proof["storageHash"], proof["codeHash"])
                assert balance == reference.get_balance(address)
                assert storage_hash == reference.storage_root(address)
            else:
                assert leaf == b"" and proof["balance"] == 0
            for entry in proof["storageProof"]:
                key = keccak256(storage_trie_key(entry["key"]))
                value = _independent_get(proof["storageHash"], key, entry["proof"])
                expected = reference.get_storage(address, entry["key"])
                assert entry["value"] == expected
                assert (pyrlp.decode(value, sedes=pyrlp.sedes.big_endian_int) if value else 0) == expected


def test_tampered_proof_is_rejected(tmp_path) -> None:
    db, _ = _build(tmp_path)
    with db, db.reader() as snapshot:
        address = next(a for a in ADDRESSES if snapshot.account_exists(a))
        proof = snapshot.account_proof(address)["accountProof"]
        tampered = list(proof)
        tampered[-1] = tampered[-1][:-1] + bytes([tampered[-1][-1] ^ 1])
        with pytest.raises(BadTrieProof):
            _independent_get(snapshot.state_root, keccak256(address), tampered)
        with pytest.raises(InvalidProof):
            verify_proof(snapshot.state_root, keccak256(address), tampered)


def test_proofs_match_memory_state_proofs(tmp_path) -> None:
    db, history = _build(tmp_path, retention=1)
    with db, db.reader() as snapshot:
        for address in ADDRESSES[:10]:
            ours = snapshot.account_proof(address, [0, 7])
            reference = history[-1].account_proof(address, [0, 7])
            assert ours["accountProof"] == reference["accountProof"]
            assert [entry["proof"] for entry in ours["storageProof"]] == [
                entry["proof"] for entry in reference["storageProof"]]
