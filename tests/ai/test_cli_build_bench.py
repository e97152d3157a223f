"""The CLI (against an in-process chain), the artifact build check, and the bench."""

from __future__ import annotations

import json

import pytest

from hyperion.ai.engine import Runner
from hyperion.ai.trace import DisputePlan, Trace
from hyperion.cli import ai as ai_cli
from hyperion.cli import main as hyperion_main
from hyperion.cli.common import private_key
from hyperion.sdk import connect
from hyperion.sdk.inprocess import InProcessNode

from .conftest import address_of_key, dev_key


def _serve_cli_from(monkeypatch, node: InProcessNode) -> None:
    """Make ``hyperion model|job`` talk to ``node`` (in this process) instead of a URL."""
    monkeypatch.setattr(ai_cli, "open_connection", lambda args: connect(web3=node.w3, private_key=private_key(args)))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``hyperion model|job ...`` against one in-process chain; returns (run, sdk client, keys)."""
    keys = {n: dev_key(f"cli/{n}") for n in ("admin", "worker", "challenger")}
    node = InProcessNode(funded={address_of_key(k): 10**24 for k in keys.values()})
    common = ["--deployment", str(tmp_path / "ai.json")]
    _serve_cli_from(monkeypatch, node)

    def run(*argv: str, key: str = "admin") -> int:
        return hyperion_main([*argv, *common, "--key", keys[key].hex()])

    try:
        yield run, connect(web3=node.w3).client, keys
    finally:
        node.close()


def test_cli_model_and_job_flow(cli, capsys, digits_model, digits_inputs):
    run, sdk, keys = cli
    assert run("model", "deploy", "--challenge-window", "100", "--worker-bond", "0.01eth") == 0
    assert run("model", "register", "digits", "--name", "digits", "--fee", "1gwei") == 0
    out = capsys.readouterr().out
    h = "0x" + digits_model.content_hash.hex()
    assert f"published and registered {h}" in out
    assert run("model", "list") == 0
    assert h in capsys.readouterr().out
    expected = int.from_bytes(Runner(digits_model).run(digits_inputs[2]), "big")
    assert run("model", "infer", h, "--digits-sample", "2") == 0
    assert f"(class {expected})" in capsys.readouterr().out
    assert run("model", "infer", h, "--input-hex", "00" * 10) == 2  # bad shape: a usage error, said plainly
    assert "takes 64 input bytes" in capsys.readouterr().err

    assert run("job", "register-worker", key="worker") == 0
    assert run("job", "post", h, "--digits-sample", "2", "--fee", "1000", "--bond", "10") == 0
    assert "job 1" in capsys.readouterr().out
    assert run("job", "submit", "1", "--output-hex", "00" * 31 + "0b", "--bond", "0.01eth", key="worker") == 0
    assert run("job", "challenge", "1", "--digits-sample", "2", "--bond", "0.01eth", key="challenger") == 0
    assert "worker slashed" in capsys.readouterr().out
    assert run("job", "status", "1") == 0
    status = capsys.readouterr().out
    assert "job 1: slashed" in status and "ChallengeResolved" in status and "JobPosted" in status

    assert run("job", "post", h, "--digits-sample", "3", "--fee", "1000") == 0
    assert run("job", "submit", "2", "--compute", "--digits-sample", "3", "--bond", "0.01eth", key="worker") == 0
    capsys.readouterr()
    sdk.increase_time(100)
    assert run("job", "finalize", "2") == 0
    assert run("job", "status", "2") == 0
    status = capsys.readouterr().out
    trace = Trace.compute(DisputePlan(digits_model), digits_inputs[3])
    assert "job 2: finalized" in status and f"trace root 0x{trace.root.hex()}" in status
    assert run("job", "status", "99") == 1
    assert run("job", "finalize", "2") == 1  # already final: the chain refuses
    assert run("job", "submit", "2", "--bond", "1", key="worker") == 2  # no output given


def test_cli_without_deployment_is_a_usage_error(tmp_path, capsys, monkeypatch):
    with InProcessNode(funded={address_of_key(dev_key("x")): 10**20}) as node:
        _serve_cli_from(monkeypatch, node)
        code = hyperion_main(["model", "list", "--deployment", str(tmp_path / "none.json"),
                              "--key", dev_key("x").hex()])
    assert code == 2 and "no deployment file" in capsys.readouterr().err


def test_top_level_cli_wires_model_job_ai_and_bench(capsys):
    for group, command in (("model", "register"), ("job", "challenge"), ("ai", "watch")):
        with pytest.raises(SystemExit) as exited:
            hyperion_main([group, "--help"])
        assert exited.value.code == 0 and command in capsys.readouterr().out
    assert hyperion_main(["bench", "ai", "--iterations", "5", "--tx-iterations", "2", "--no-disputes"]) == 0
    assert "gas/inference" in capsys.readouterr().out
    assert hyperion_main(["ai", "watch", "--rpc-url", "http://127.0.0.1:9"]) == 2  # no key: usage error
    assert "stakes its own bonds" in capsys.readouterr().err


def test_bench_reports_rate_gas_and_dispute_cost(capsys):
    from hyperion.ai.digits import MODELS_DIR
    from hyperion.ai.model import decode_model
    from hyperion.ai.trace import DisputePlan
    from hyperion.bench.ai import main, run_bench
    from hyperion.vm.precompiles.inference import inference_gas

    result = run_bench(iterations=20, tx_iterations=4)
    digits, charlm = result["models"]
    assert digits["precompile_gas"] == 5656 and charlm["precompile_gas"] == inference_gas(921_600, 32, 32)
    for row in (digits, charlm):
        assert row["precompile"]["inferences_per_second"] > 0
        assert row["evm_call"]["gas_per_inference"] > row["precompile_gas"]
    assert digits["contract"]["gas_per_inference"] > digits["precompile_gas"]
    for cost, model_row in zip(result["disputes"], result["models"]):
        plan_rounds = cost["rounds"]["layer_rounds_bound"]
        assert 1 <= cost["rounds"]["min"] <= cost["rounds"]["max"] <= plan_rounds
        assert cost["disputes_played"] >= model_row["layers"] - 1
        assert 0 < cost["dispute_gas"]["min"] <= cost["dispute_gas"]["max"] < 30_000_000
        assert {"open_dispute", "reveal_midpoint", "answer_midpoint", "reveal_layer", "step"} <= set(
            cost["gas_per_move"])
        assert cost["direct_challenge_gas"] > model_row["precompile_gas"]
    charlm_model = decode_model((MODELS_DIR / "charlm.hqm").read_bytes())
    assert result["disputes"][1]["rounds"]["layer_rounds_bound"] == DisputePlan(charlm_model).layer_rounds() == 5
    assert main(["--iterations", "5", "--tx-iterations", "2", "--no-disputes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["macs"] == 2368
