"""Fixtures for the end-to-end tests: a node process, the compiled contract, the npm tools."""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import NodeProcess, compile_contract, js_tools_missing


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def node(tmp_path_factory):
    """One in-memory node shared by the client tests (each test uses its own accounts/contracts)."""
    log_path = tmp_path_factory.mktemp("node") / "node.log"
    process = NodeProcess("--in-memory", "--log-level", "info", log_path=log_path).start()
    yield process
    code = process.stop()
    assert code == 0, f"node exited with {code}; log at {log_path}"


@pytest.fixture(scope="session")
def contract_artifact(tmp_path_factory) -> dict:
    return compile_contract()


@pytest.fixture(scope="session")
def contract_artifact_path(tmp_path_factory, contract_artifact):
    path = tmp_path_factory.mktemp("artifact") / "contract.json"
    path.write_text(json.dumps(contract_artifact))
    return path


@pytest.fixture(scope="session")
def js_tools():
    """Runs scripts/setup-e2e.sh (npm ci, idempotent); skips only when node/npm are absent."""
    reason = js_tools_missing()
    if reason:
        pytest.skip(reason)
