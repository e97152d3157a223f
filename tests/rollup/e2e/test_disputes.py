"""A wrong output root is challenged and bisected automatically; correct roots never are.

Done-when bullet covered here: a proposer made to post a wrong output root
(test hook ``HYPERION_TEST_WRONG_OUTPUT_FROM``) is challenged automatically
by a follower's challenger; the bisection ends at the right block (the first
one whose root the proposer got wrong), the resolver (the follower's
resolver key) settles it, the proposer's bond goes to the challenger, and a
correct root is never challenged.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from hyperion.rollup.devnet import CHALLENGER, rpc
from hyperion.artifacts import load_artifact
from tests.rollup.e2e.conftest import wait_until, web3_of

pytestmark = pytest.mark.e2e

WRONG_FROM = 25
DEVNET = dict(submission_interval=20, sequencer_env={"HYPERION_TEST_WRONG_OUTPUT_FROM": str(WRONG_FROM)})
CHALLENGER_WON = 5


@pytest.fixture(scope="module")
def oracle(devnet):
    l1 = web3_of(devnet.l1_url)
    return l1.eth.contract(address=devnet.deployment.output_oracle, abi=load_artifact("OutputOracle")["abi"])


def _derived_root(devnet, number: int) -> bytes:
    return bytes.fromhex(rpc(devnet.follower.url, "optimism_outputAtBlock", hex(number))["outputRoot"][2:])


def test_a_wrong_output_is_challenged_bisected_to_its_first_wrong_block_and_lost(devnet, oracle):
    wait_until(lambda: oracle.functions.disputeCount().call() >= 1, 240, "the challenger to open a dispute")
    dispute = wait_until(lambda: (lambda d: d if d[4] not in (1, 2, 3) else None)(oracle.functions.getDispute(1).call()),
                         300, "the dispute to be played to the end")
    assert dispute[4] == CHALLENGER_WON
    awaiting = oracle.events.DisputeAwaitingResolution().get_logs(from_block=0)
    assert [e["args"]["l2BlockNumber"] for e in awaiting if e["args"]["disputeId"] == 1] == [WRONG_FROM]
    final = next(e["args"] for e in awaiting if e["args"]["disputeId"] == 1)
    assert final["agreedRoot"] == _derived_root(devnet, WRONG_FROM - 1)
    assert final["challengerRoot"] == _derived_root(devnet, WRONG_FROM) != final["proposerRoot"]
    # the bonds went to the challenger, who withdrew them
    challenger = Web3.to_checksum_address(devnet.address(CHALLENGER))
    bond = oracle.functions.challengerBond().call() + oracle.functions.proposerBond().call()
    wait_until(lambda: sum(e["args"]["amount"] for e in oracle.events.CreditWithdrawn().get_logs(from_block=0)
                           if e["args"]["account"] == challenger) >= bond, 120, "the challenger to withdraw its winnings")


def test_correct_roots_are_never_challenged(devnet, oracle):
    # the proposer, honest again after losing, re-proposes; the challenger checks each new output and lets it be
    target = oracle.functions.nextOutputIndex().call() + 2
    wait_until(lambda: oracle.functions.nextOutputIndex().call() >= target, 180, "two more outputs")
    last = oracle.functions.getL2Output(target - 1).call()[2]
    wait_until(lambda: rpc(devnet.follower.url, "optimism_syncStatus")["safe_l2"]["number"] >= last, 120,
               "the follower to derive the newest output's block")
    for index in range(oracle.functions.nextOutputIndex().call()):
        root, _ts, number, _proposer, _bond = oracle.functions.getL2Output(index).call()
        assert root == _derived_root(devnet, number), f"output {index} (block {number}) is wrong"
    opened = oracle.events.DisputeOpened().get_logs(from_block=0)
    assert opened, "no dispute at all"
    for event in opened:  # every challenge was against a root the derived chain disagrees with
        args = event["args"]
        assert args["proposerRoot"] != _derived_root(devnet, args["hi"])
    wait_until(lambda: f"output {target - 1} (L2 block {last}) agrees" in devnet.follower.log_text(), 60,
               "the challenger to check the newest output")
