"""KZG point evaluation with a real blob, commitment and proof made by ckzg."""

import ckzg
import pytest

from hyperion.vm.precompiles import PrecompileError, point_evaluation

BLS_MODULUS = point_evaluation.BLS_MODULUS


@pytest.fixture(scope="module")
def proof_input() -> bytes:
    setup = point_evaluation.trusted_setup()
    blob = b"".join(((i * 7919 + 3) % BLS_MODULUS).to_bytes(32, "big") for i in range(4096))
    commitment = ckzg.blob_to_kzg_commitment(blob, setup)
    z = (123456789).to_bytes(32, "big")
    proof, y = ckzg.compute_kzg_proof(blob, z, setup)
    return point_evaluation.kzg_to_versioned_hash(commitment) + z + y + commitment + proof


def test_valid_proof_returns_blob_constants(proof_input):
    out = point_evaluation.run(proof_input)
    assert out == (4096).to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")
    assert point_evaluation.gas(proof_input) == 50000


def test_tampered_claim_fails(proof_input):
    y = int.from_bytes(proof_input[64:96], "big")
    tampered = proof_input[:64] + ((y + 1) % BLS_MODULUS).to_bytes(32, "big") + proof_input[96:]
    with pytest.raises(PrecompileError):
        point_evaluation.run(tampered)


def test_wrong_versioned_hash_fails(proof_input):
    with pytest.raises(PrecompileError):
        point_evaluation.run(b"\x02" + proof_input[1:])


def test_non_canonical_field_element_fails(proof_input):
    bad_z = proof_input[:32] + BLS_MODULUS.to_bytes(32, "big") + proof_input[64:]
    with pytest.raises(PrecompileError):
        point_evaluation.run(bad_z)


def test_wrong_length_fails(proof_input):
    with pytest.raises(PrecompileError):
        point_evaluation.run(proof_input[:-1])
