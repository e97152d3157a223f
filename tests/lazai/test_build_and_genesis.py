"""The committed artifacts match the Vyper sources, and the genesis predeploys match the artifacts."""

from __future__ import annotations

import json

import pytest

from hyperion.lazai import build
from hyperion.lazai import genesis as G
from hyperion.lazai.artifacts_store import ARTIFACTS_DIR, load_artifact

ADMIN = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")


def test_every_source_has_an_artifact_with_matching_hashes():
    for path in build.contract_sources():
        artifact = json.loads((ARTIFACTS_DIR / f"{path.stem}.json").read_text())
        assert artifact["sources"] == build.source_hashes(path), f"{path.name} changed since it was built"
        assert artifact["vyper_version"] == build.VYPER_VERSION
    assert {p.stem for p in build.contract_sources()} == {p.stem for p in ARTIFACTS_DIR.glob("*.json")}


def test_build_is_reproducible_for_a_contract():
    pytest.importorskip("vyper")
    built = build.build_all(["AgentWallet"], jobs=1)
    assert build.stale_artifacts(built) == []


@pytest.mark.slow
def test_all_artifacts_match_a_fresh_build():
    pytest.importorskip("vyper")
    assert build.main(["--check"]) == 0


def test_genesis_code_is_the_artifact_runtime_at_alith_addresses():
    alloc = G.lazai_genesis_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    plan = G.predeploy_plan(ADMIN)
    assert list(alloc) == [address for _name, _artifact, address, _args in plan]
    for _name, artifact_name, address, _args in plan:
        assert alloc[address]["code"] == load_artifact(artifact_name)["runtime"]
        assert alloc[address]["nonce"] == 1 and alloc[address]["balance"] == 0
    assert G.DATA_REGISTRY_ADDRESS.hex() == "ead077726dc83ecf385e3763ed4a0a50e8ac5aa0"
    assert G.SETTLEMENT_ADDRESS.hex() == "be94646a0c6c1032c289eea47169798e09db5299"


def test_genesis_is_deterministic_and_admin_specific():
    first = G.lazai_genesis_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    second = G.lazai_genesis_alloc(G.LAZAI_CHAIN_ID, ADMIN)
    assert first == second and first is not second
    other = G.lazai_genesis_alloc(G.LAZAI_CHAIN_ID, b"\x11" * 20)
    assert other[G.DATA_REGISTRY_ADDRESS]["storage"] != first[G.DATA_REGISTRY_ADDRESS]["storage"]
    admin_word = int.from_bytes(ADMIN, "big")
    assert admin_word in first[G.VERIFIED_COMPUTING_ADDRESS]["storage"].values()


def test_genesis_rejects_bad_input():
    with pytest.raises(ValueError, match="20-byte"):
        G.lazai_genesis_alloc(1, b"\x01" * 19)
    with pytest.raises(ValueError, match="non-negative"):
        G.lazai_genesis_alloc(-1, ADMIN)
    with pytest.raises(ValueError, match="out of range"):
        G.encode_constructor_args(-5)
    with pytest.raises(TypeError):
        G.encode_constructor_args(1.5)


def test_manifest_lists_every_predeploy_with_abi():
    manifest = G.contracts_manifest()
    names = [entry["name"] for entry in manifest]
    assert names == ["ProtocolGovernor", "HoldersMining", "DAT", "IDAOExecutor", "IDAORegistry", "VerifiedComputing",
                     "DataAnchoringToken", "DataRegistry", "Query", "Inference", "Training", "Settlement"]
    by_name = {entry["name"]: entry for entry in manifest}
    assert by_name["HoldersMining"]["address"] == "0x" + G.FEE_VAULT_ADDRESS.hex()
    assert any(e.get("name") == "settleRevenueETH" for e in by_name["DAT"]["abi"])
    assert G.address_of("Query") == G.QUERY_ADDRESS
    with pytest.raises(KeyError):
        G.address_of("Nope")
    json.dumps(manifest)  # plain JSON for clients
