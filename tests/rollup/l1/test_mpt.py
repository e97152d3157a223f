"""lib_mpt.vy, the Vyper Merkle-Patricia verifier, run on anvil against tries built by hyperion.trie.

Each case is also checked with hyperion.trie.proof.verify_proof, the Python
reference: both must give the same value, and both must refuse the same
tampered proofs.
"""

from __future__ import annotations

import random

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.account import storage_trie_value
from hyperion.trie.hexary import HexaryTrie
from hyperion.trie.proof import InvalidProof, verify_proof
from hyperion.rollup.l1.transact import ContractReverted, call
from tests.rollup.l1.conftest import deploy_vyper_source

HARNESS = """
# pragma version ==0.4.3
import lib_mpt

@external
@pure
def storage_value(root: bytes32, path: bytes32,
                  proof: DynArray[Bytes[lib_mpt.MAX_NODE_BYTES], lib_mpt.MAX_PROOF_NODES]) -> uint256:
    return lib_mpt.storage_value(root, path, proof)
"""


@pytest.fixture(scope="module")
def verifier(w3):
    pytest.importorskip("vyper")
    return deploy_vyper_source(w3, HARNESS)


def on_chain(verifier, root: bytes, path: bytes, proof: list[bytes]) -> int:
    return call(verifier.functions.storage_value(root, path, proof))


def reference(root: bytes, path: bytes, proof: list[bytes]) -> int:
    value = verify_proof(root, path, proof)
    if value is None:
        return 0
    from hyperion.primitives import rlp
    return int.from_bytes(rlp.decode(value), "big")


def storage_trie(slots: dict[int, int]) -> HexaryTrie:
    trie = HexaryTrie()
    for slot, value in slots.items():
        trie.set(keccak256(slot.to_bytes(32, "big")), storage_trie_value(value))
    return trie


@pytest.mark.parametrize("size", [1, 2, 17, 400])
def test_present_and_absent_slots_of_random_storage_tries(verifier, size):
    rng = random.Random(size)
    slots = {rng.getrandbits(256): rng.choice([1, 127, 128, 255, 256, 2**256 - 1, rng.getrandbits(rng.randint(1, 256)) or 1])
             for _ in range(size)}
    trie = storage_trie(slots)
    root = trie.root_hash()
    probes = rng.sample(sorted(slots), min(6, size)) + [rng.getrandbits(256) for _ in range(3)]
    for slot in probes:
        path = keccak256(slot.to_bytes(32, "big"))
        proof = trie.get_proof(path)
        expected = slots.get(slot, 0)
        assert reference(root, path, proof) == expected
        assert on_chain(verifier, root, path, proof) == expected


def test_nodes_embedded_in_their_parent(verifier):
    """Keys sharing 31 bytes end in leaves of a few bytes, which the trie embeds instead of hashing."""
    prefix = bytes(range(31))
    keys = {prefix + bytes([b]): b + 1 for b in (0x00, 0x01, 0x10, 0x11, 0x12, 0xf0)}
    trie = HexaryTrie()
    for key, value in keys.items():
        trie.set(key, storage_trie_value(value))
    root = trie.root_hash()
    for key, value in keys.items():
        proof = trie.get_proof(key)
        assert any(len(node) >= 32 for node in proof)
        assert reference(root, key, proof) == value
        assert on_chain(verifier, root, key, proof) == value
    missing = prefix + b"\x13"
    proof = trie.get_proof(missing)
    assert reference(root, missing, proof) == 0
    assert on_chain(verifier, root, missing, proof) == 0


def tampered_variants(proof: list[bytes], rng: random.Random):
    """(label, proof, whether the Python reference refuses it too: it ignores surplus nodes and their order)."""
    for index, node in enumerate(proof):
        position = rng.randrange(len(node))
        changed = bytearray(node)
        changed[position] ^= 1 << rng.randrange(8)
        yield f"bit flipped in node {index}", proof[:index] + [bytes(changed)] + proof[index + 1:], True
    yield "last node missing", proof[:-1], True
    yield "first node missing", proof[1:], True
    yield "no nodes", [], True
    yield "surplus node", proof + [proof[-1]], False
    yield "nodes swapped", [proof[0], proof[2], proof[1]] + proof[3:], False


def test_tampered_proofs_are_refused(verifier):
    rng = random.Random(7)
    slots = {rng.getrandbits(256): 1 for _ in range(300)}
    trie = storage_trie(slots)
    root = trie.root_hash()
    slot = sorted(slots)[5]
    path = keccak256(slot.to_bytes(32, "big"))
    proof = trie.get_proof(path)
    assert len(proof) >= 3
    for label, bad, reference_refuses in tampered_variants(proof, rng):
        if reference_refuses:
            with pytest.raises(InvalidProof):
                verify_proof(root, path, bad)
        with pytest.raises(ContractReverted, match="mpt:"):
            on_chain(verifier, root, path, bad)
    # a valid proof of another slot, or against another root, proves nothing about this one
    other = keccak256(sorted(slots)[6].to_bytes(32, "big"))
    with pytest.raises(ContractReverted, match="mpt:"):
        on_chain(verifier, root, path, trie.get_proof(other))
    with pytest.raises(ContractReverted, match="mpt: node does not match its hash"):
        on_chain(verifier, keccak256(b"another root"), path, proof)


def test_malformed_nodes_that_hash_correctly_are_refused(verifier):
    """A root that commits to garbage: the hash matches, the RLP does not."""
    for garbage in [b"\x80" * 40, b"\xc2\x80\x80" + b"\x00" * 40, b"\xf8\xff" + b"\x00" * 40,
                    bytes([0xc0 + 35]) + b"\x80" * 35, b"\xe2\x82\x20\x01" + b"\x00" * 30]:
        root = keccak256(garbage)
        with pytest.raises(ContractReverted, match="mpt:"):
            on_chain(verifier, root, keccak256(b"k"), [garbage])


def test_proof_gas_grows_with_depth_only(verifier, w3):
    rng = random.Random(3)
    slots = {rng.getrandbits(256): 1 for _ in range(2000)}
    trie = storage_trie(slots)
    path = keccak256(sorted(slots)[0].to_bytes(32, "big"))
    proof = trie.get_proof(path)
    gas = verifier.functions.storage_value(trie.root_hash(), path, proof).estimate_gas()
    # 2000 keys: 4-5 nodes; the verifier costs a few thousand gas per node plus calldata
    assert len(proof) <= 5
    print(f"lib_mpt.storage_value: {len(proof)} nodes, {gas} gas")
    assert gas < 150_000, gas


@pytest.mark.slow
def test_fuzz_random_tries_and_random_tampering(verifier):
    """Many tries, sizes 1..3000, present and absent keys, one random byte changed in each proof."""
    rng = random.Random(2024)
    for round_ in range(40):
        slots = {rng.getrandbits(256): rng.getrandbits(rng.randint(1, 256)) or 1
                 for _ in range(rng.choice([1, 2, 3, 16, 17, 100, 1000, 3000]))}
        trie = storage_trie(slots)
        root = trie.root_hash()
        for slot in rng.sample(sorted(slots), min(3, len(slots))) + [rng.getrandbits(256)]:
            path = keccak256(slot.to_bytes(32, "big"))
            proof = trie.get_proof(path)
            assert on_chain(verifier, root, path, proof) == reference(root, path, proof) == slots.get(slot, 0)
            if not proof:
                continue
            index = rng.randrange(len(proof))
            node = bytearray(proof[index])
            node[rng.randrange(len(node))] = rng.randrange(256)
            bad = proof[:index] + [bytes(node)] + proof[index + 1:]
            if bad != proof:
                with pytest.raises(ContractReverted, match="mpt:"):
                    on_chain(verifier, root, path, bad)
