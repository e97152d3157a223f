"""Fixtures of the rollup contract tests: an anvil L1 per module, the contracts deployed on it."""

from __future__ import annotations

import subprocess

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.rollup.l1.deploy import RollupL1Config, deploy_rollup_contracts
from tests.rollup.l1.anvil import ANVIL_KEYS, REPO_ROOT, Anvil, anvil_binary
from tests.rollup.l1.l2node import start_l2_node

OWNER, PROPOSER, BATCHER, CHALLENGER, ALICE, BOB, M1, M2, M3, STRANGER = (
    Account.from_key(key) for key in ANVIL_KEYS)
# small, test-sized parameters
WINDOW = 3600
MOVE_TIMEOUT = 600
INTERVAL = 16
PROPOSER_BOND = 10**17
CHALLENGER_BOND = 2 * 10**17


@pytest.fixture(scope="session")
def anvil_path():
    if anvil_binary() is None:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-e2e.sh")], cwd=REPO_ROOT, check=False,
                       timeout=600)
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil, scripts/setup-e2e.sh)")
    return anvil_binary()


@pytest.fixture(scope="module")
def anvil(anvil_path):
    node = Anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def w3(anvil):
    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))


def make_config(**overrides) -> RollupL1Config:
    params = dict(owner=OWNER.address, proposer=PROPOSER.address, batcher=BATCHER.address,
                  resolver_members=(M1.address, M2.address, M3.address), resolver_threshold=2,
                  submission_interval=INTERVAL, finalization_period_seconds=WINDOW, proposer_bond=PROPOSER_BOND,
                  challenger_bond=CHALLENGER_BOND, move_timeout=MOVE_TIMEOUT)
    params.update(overrides)
    return RollupL1Config(**params)


@pytest.fixture(scope="module")
def l2(tmp_path_factory):
    """A real Hyperion node (MetisDB) with the L2 predeploys, shared by a module's tests."""
    node, web3 = start_l2_node(tmp_path_factory.mktemp("l2"))
    try:
        yield web3
    finally:
        node.stop()


@pytest.fixture()
def deployment(w3):
    """A fresh set of L1 contracts for each test (anvil is shared by the module)."""
    return deploy_rollup_contracts(w3, OWNER, make_config())


def deploy_vyper_source(w3, source: str, *args, tmp_dir=None):
    """Compile a test-only Vyper contract (it may ``import lib_mpt``/``lib_owned``) and deploy it from OWNER."""
    import tempfile
    from pathlib import Path

    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings

    from hyperion.rollup.l1.transact import Sender

    folder = Path(tmp_dir or tempfile.mkdtemp(prefix="l1-test-"))
    (folder / "Harness.vy").write_text(source)
    bundle = FilesystemInputBundle([folder, REPO_ROOT / "contracts" / "l1"])
    out = compile_from_file_input(bundle.load_file(Path("Harness.vy")), input_bundle=bundle,
                                  settings=Settings(evm_version="prague"), output_formats=["abi", "bytecode"])
    factory = w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
    receipt = Sender(w3, OWNER).send({"to": None, "data": factory.constructor(*args).data_in_transaction})
    return w3.eth.contract(address=receipt["contractAddress"], abi=out["abi"])
