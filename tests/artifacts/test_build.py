"""The committed artifacts match the Vyper sources of every contract set (one builder for all sets)."""

from __future__ import annotations

import json

import pytest

from hyperion.artifacts import CONTRACT_SETS, ArtifactError, artifact_dir, artifact_names, load_artifact
from hyperion.artifacts import build


@pytest.mark.parametrize("contract_set", sorted(CONTRACT_SETS))
def test_every_source_has_an_artifact_with_matching_hashes(contract_set):
    sources = build.contract_sources(contract_set)
    assert sources, f"no sources for {contract_set}"
    for path in sources:
        artifact = json.loads((artifact_dir(contract_set) / f"{path.stem}.json").read_text())
        assert artifact["sources"] == build.source_hashes(path), f"{path.name} changed since it was built"
        assert artifact["vyper_version"] == build.VYPER_VERSION
        assert artifact["evm_version"] == CONTRACT_SETS[contract_set].evm_version
    assert {p.stem for p in sources} == set(artifact_names(contract_set))


@pytest.mark.parametrize("name", ["AgentWallet", "InferenceGateway"])
def test_build_is_reproducible_for_a_contract(name):
    pytest.importorskip("vyper")
    built = build.build([name], jobs=1)
    assert build.stale_artifacts(built, whole_sets=False) == []


def test_check_reports_a_stale_artifact(tmp_path, monkeypatch, capsys):
    pytest.importorskip("vyper")
    monkeypatch.setattr("hyperion.artifacts.ARTIFACTS_DIR", tmp_path)
    monkeypatch.setattr(build, "artifact_dir", lambda contract_set: tmp_path / contract_set)
    (tmp_path / "ai").mkdir()
    assert build.main(["InferenceGateway", "--jobs", "1"]) == 0
    assert build.main(["InferenceGateway", "--check", "--jobs", "1"]) == 0
    path = tmp_path / "ai" / "InferenceGateway.json"
    path.write_text(path.read_text().replace('"evm_version": "cancun"', '"evm_version": "paris"'))
    capsys.readouterr()
    assert build.main(["InferenceGateway", "--check", "--jobs", "1"]) == 1
    assert "ai/InferenceGateway" in capsys.readouterr().err
    assert build.main(["NoSuchContract"]) == 2


@pytest.mark.slow
def test_all_artifacts_match_a_fresh_build():
    pytest.importorskip("vyper")
    assert build.main(["--check"]) == 0


def test_loader_gives_bytes_and_refuses_unknown_names():
    artifact = load_artifact("DAT")
    assert isinstance(artifact["bytecode"], bytes) and artifact["runtime"]
    assert load_artifact("ModelRegistry")["evm_version"] == "cancun"
    with pytest.raises(ArtifactError):
        load_artifact("NoSuchContract")
