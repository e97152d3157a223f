"""``hyperion sequencer attest|reward`` refuse bad input with one clear line (exit 2) and say what they cannot reach
(exit 1), before doing anything."""

from __future__ import annotations

import pytest

from tests.cli.test_errors import assert_one_line_error, closed_port, hyperion

KEY = "0x" + "ab" * 32
SOME_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def attest(*extra: str, l1: str = "http://127.0.0.1:1", resolver: str = SOME_ADDRESS, key: str = KEY):
    return hyperion("sequencer", "attest", "--once", "--l1-rpc-url", l1, "--resolver", resolver,
                    "--staking-key", key, *extra)


def reward(*extra: str, l1: str = "http://127.0.0.1:1", staking: str = SOME_ADDRESS, epoch: str = "10"):
    return hyperion("sequencer", "reward", "--once", "--l1-rpc-url", l1, "--staking", staking,
                    "--rewarder-key", KEY, "--epoch-length", epoch, *extra)


@pytest.mark.parametrize("run, expected", [
    (lambda: attest(key="12"), "--staking-key must be a 32-byte hex private key"),
    (lambda: attest(key="env:HYPERION_NO_SUCH_VARIABLE"), "environment variable HYPERION_NO_SUCH_VARIABLE is not set"),
    (lambda: attest(l1="notaurl"), "malformed RPC URL"),
    (lambda: attest("--interval", "0"), "--interval must be positive"),
])
def test_bad_input_is_a_one_line_usage_error(run, expected):
    result = run()
    assert_one_line_error(result, expected)
    assert result.returncode == 2


def test_a_zero_epoch_length_is_refused_by_the_parser():
    result = reward(epoch="0")
    assert result.returncode == 2
    assert "argument --epoch-length: expected a positive integer, got 0" in result.stderr.splitlines()[-1]


def test_an_unreachable_l1_is_named():
    url = f"http://127.0.0.1:{closed_port()}"
    for result in (attest(l1=url), reward(l1=url)):
        assert_one_line_error(result, f"cannot reach the L1 at {url}", "Connection refused")
        assert result.returncode == 1


def test_no_contract_at_the_address_and_no_rollup_node(anvil):
    assert_one_line_error(attest(l1=anvil.url, resolver="0x12"), "--resolver: not an address")
    result = reward(l1=anvil.url)
    assert_one_line_error(result, f"--staking: no contract at {SOME_ADDRESS} on the L1")
    assert result.returncode == 2
    # a contract, but the node beside it is not there
    from eth_account import Account
    from web3 import Web3

    from hyperion.sequencer.staking import StakingConfig, deploy_sequencer_staking
    from tests.rollup.l1.anvil import ANVIL_KEYS

    owner = Account.from_key(ANVIL_KEYS[0])
    w3 = Web3(Web3.HTTPProvider(anvil.url))
    staking = deploy_sequencer_staking(w3, owner, StakingConfig(owner.address, 901, 1, 2, 0, 0))
    node = f"http://127.0.0.1:{closed_port()}"
    result = reward("--rpc-url", node, l1=anvil.url, staking=staking)
    assert_one_line_error(result, f"cannot use the rollup node at {node}")
    assert result.returncode == 1
