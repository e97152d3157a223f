"""The genesis predeploys: the alloc matches the artifacts, is deterministic, and the manifest lists them."""

from __future__ import annotations

import json

import pytest

from hyperion.artifacts import load_artifact
from hyperion.predeploys import plan as G
from hyperion.predeploys.genesis import genesis_json, initcode, predeploy_alloc

ADMIN = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")


def test_genesis_code_is_the_artifact_runtime_at_alith_addresses():
    alloc = predeploy_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    plan = G.predeploy_plan(ADMIN)
    assert list(alloc) == [entry.address for entry in plan]
    for entry in plan:  # the runtime, then the values of the contract's immutables (if any)
        assert alloc[entry.address]["code"].startswith(load_artifact(entry.contract)["runtime"])
        assert alloc[entry.address]["nonce"] == 1 and alloc[entry.address]["balance"] == 0
    assert G.DATA_REGISTRY_ADDRESS.hex() == "ead077726dc83ecf385e3763ed4a0a50e8ac5aa0"
    assert G.SETTLEMENT_ADDRESS.hex() == "be94646a0c6c1032c289eea47169798e09db5299"


def test_genesis_is_deterministic_and_admin_specific():
    first = predeploy_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    second = predeploy_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    assert first == second and first is not second
    other = predeploy_alloc(G.LAZAI_CHAIN_ID, b"\x11" * 20)
    assert other[G.DATA_REGISTRY_ADDRESS]["storage"] != first[G.DATA_REGISTRY_ADDRESS]["storage"]
    admin_word = int.from_bytes(ADMIN, "big")
    assert admin_word in first[G.VERIFIED_COMPUTING_ADDRESS]["storage"].values()


def test_genesis_rejects_bad_input():
    with pytest.raises(ValueError, match="20-byte"):
        predeploy_alloc(1, b"\x01" * 19)
    with pytest.raises(ValueError, match="non-negative"):
        predeploy_alloc(-1, ADMIN)


def test_constructor_arguments_are_abi_encoded():
    entry = next(e for e in G.predeploy_plan(ADMIN) if e.name == "DAT")
    code = initcode(entry)
    bytecode = load_artifact("DAT")["bytecode"]
    assert code.startswith(bytecode)
    args = code[len(bytecode):]
    assert args[12:32] == ADMIN and args[44:64] == G.PROTOCOL_GOVERNOR_ADDRESS  # class 1's manager: stakers
    assert G.DATA_CLASS_METADATA_URI.encode() in args


def test_genesis_file_holds_the_predeploys_under_a_base_document():
    base = {"config": {"londonBlock": 0}, "alloc": {"0x" + G.DAT_ADDRESS.hex(): {"balance": "0x1"}}}
    document = genesis_json(7, ADMIN, base)
    assert document["config"] == {"londonBlock": 0, "chainId": 7,  # the base's forks are kept
                                  "baseFeeRecipient": "0x" + G.FEE_VAULT_ADDRESS.hex()}
    assert genesis_json(7, ADMIN)["config"]["pragueTime"] == 0  # without a base: the dev chain's forks
    assert document["alloc"]["0x" + G.DAT_ADDRESS.hex()] == {"balance": "0x1"}  # the base's entry wins
    assert document["alloc"]["0x" + G.FEE_VAULT_ADDRESS.hex()]["code"].startswith("0x")
    json.dumps(document)


def test_manifest_lists_every_predeploy_with_abi():
    manifest = G.contracts_manifest()
    names = [entry["name"] for entry in manifest]
    assert names == ["ProtocolGovernor", "HoldersMining", "DAT", "IDAOExecutor", "IDAORegistry", "VerifiedComputing",
                     "DataAnchoringToken", "DataRegistry", "Query", "Inference", "Training", "Settlement",
                     "ModelStore", "ModelRegistry", "InferenceGateway", "InferenceJobs"]
    by_name = {entry["name"]: entry for entry in manifest}
    assert by_name["HoldersMining"]["address"] == "0x" + G.FEE_VAULT_ADDRESS.hex()
    assert any(e.get("name") == "settleRevenueETH" for e in by_name["DAT"]["abi"])
    assert G.address_of("Query") == G.QUERY_ADDRESS
    with pytest.raises(KeyError):
        G.address_of("Nope")
    json.dumps(manifest)  # plain JSON for clients
