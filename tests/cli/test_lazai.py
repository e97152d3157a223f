"""``hyperion contracts|lazai-genesis|dat|idao|stake`` (hyperion.cli.contracts, hyperion.cli.lazai)."""

from __future__ import annotations

import json

import pytest

from hyperion.predeploys import plan as G
from hyperion.cli import main
from hyperion.cli.common import UsageError, parse_amount


def test_parse_amount_units():
    assert parse_amount("1000") == 1000
    assert parse_amount("1.5eth") == 15 * 10**17
    assert parse_amount("2 metis") == 2 * 10**18
    assert parse_amount("30gwei") == 30 * 10**9
    for bad in ("abc", "-1", "0.5"):
        with pytest.raises(UsageError):
            parse_amount(bad)


def test_contracts_prints_names_addresses_and_abis(capsys):
    assert main(["contracts", "--table"]) == 0
    text = capsys.readouterr().out
    assert "DataRegistry" in text and "0x" + G.DATA_REGISTRY_ADDRESS.hex() in text
    assert main(["contracts"]) == 0  # not a terminal: JSON for clients
    manifest = json.loads(capsys.readouterr().out)
    assert {e["name"] for e in manifest} >= {"DAT", "HoldersMining", "IDAORegistry", "Settlement"}
    assert all(isinstance(e["abi"], list) and e["address"].startswith("0x") for e in manifest)
    assert main(["contracts", "DAT", "--abi"]) == 0
    assert any(e.get("name") == "claim" for e in json.loads(capsys.readouterr().out))
    assert main(["contracts", "nope"]) == 1


def test_genesis_file_command(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["lazai-genesis", "--chain-id", "133718", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["config"]["chainId"] == 133718
    assert "0x" + G.DAT_ADDRESS.hex() in document["alloc"]


def test_missing_key_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.delenv("HYPERION_PRIVATE_KEY", raising=False)
    assert main(["stake", "deposit", "1eth", "--rpc", "http://127.0.0.1:1"]) == 2
    assert "no signing key" in capsys.readouterr().err


@pytest.mark.e2e
def test_cli_against_a_node(tmp_path, capsys):
    pytest.importorskip("web3")
    from tests.lazai.node_process import start_lazai_node

    node = start_lazai_node(tmp_path)
    try:
        common = ["--rpc", node.url, "--quiet"]

        def run(*argv, account=1):
            code = main([*argv, *common, "--dev-account", str(account), "--json"])
            captured = capsys.readouterr()
            assert code == 0, captured.err
            return json.loads(captured.out)

        class_id = run("dat", "create-class", "ipfs://cli-class")["classId"]
        holder = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # dev account 2
        token = run("dat", "mint", str(class_id), holder, "--value", "10", "--share", "5")["tokenId"]
        assert run("dat", "usage", str(token), "4", account=2)["valueLeft"] == 6
        run("dat", "settle", str(class_id), "1000wei", account=3)
        assert run("dat", "pending", str(token))["pending"] == 1000
        assert run("dat", "claim", str(token), account=2)["amount"] == 1000
        part = run("dat", "split", str(token), holder, "2", account=2)["tokenId"]  # 2 of 6 units, 1/3 of the share
        assert run("dat", "info", str(part))["share_ratio"] == 1 and run("dat", "info", str(token))["value"] == 4
        code = main(["dat", "claim", str(token), *common, "--dev-account", "2"])
        assert code == 1 and "nothing to claim" in capsys.readouterr().err
        run("stake", "deposit", "1eth", account=4)
        status = run("stake", "status", account=4)
        assert status["position"]["staked"] == 10**18
        idao = run("idao", "register", "cli-dao", "--stake", "1eth", "--voting-period", "60")["idaoId"]
        assert run("idao", "info", str(idao))["member_count"] == 1
        # a proposal with an arbitrary call, voted and (dev clock) run through the timelock from the CLI
        from web3 import Web3

        registry = Web3().eth.contract(abi=next(e["abi"] for e in G.contracts_manifest()
                                                if e["name"] == "IDAORegistry"))
        calldata = registry.encode_abi("setMetadata", [idao, "ipfs://cli-dao-v2"])
        run("stake", "checkpoint")  # one more block: the register's stake counts from the end of its block
        proposal = run("idao", "propose-call", str(idao), "0x" + G.IDAO_REGISTRY_ADDRESS.hex(), calldata)["proposalId"]
        run("idao", "vote", str(proposal), "for")
        assert run("idao", "finish", str(proposal))["state"] == "executed"
        assert run("idao", "info", str(idao))["metadata_uri"] == "ipfs://cli-dao-v2"
        params = run("gov", "params")
        assert params["fees.computeBps"] > 0 and params["verifiers.minBond"] > 0
        main(["stake", "status", "--rpc", node.url, "--dev-account", "4"])
        assert "total staked" in capsys.readouterr().out
    finally:
        assert node.stop() == 0
