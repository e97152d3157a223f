"""A wrong output root is disputed and the staked set's 2/3 attestation settles the last step; the loser is slashed.

Real anvil L1, real ``hyperion node`` processes (rollup's devnet: a sequencer
whose proposer lies from L2 block ``WRONG_FROM`` on, through rollup's hook
``HYPERION_TEST_WRONG_OUTPUT_FROM``, and a follower whose challenger disputes
it) and a real ``hyperion sequencer attest`` process. Three sequencers are
staked, unequally: the proposer's key 20, B 30, A 50 (ETH). The OutputOracle's
resolver is a StakeResolver. B attests from inside a node: the follower runs
with B's staking key as ``--resolver-key`` (the node's own vote path, the
same ``vote(uint256,bool)``), from its safe chain: 30% does not settle. A
attests with ``hyperion sequencer attest`` beside the sequencer node, from
that node's safe chain: 80% settles for the challenger, and the proposer's
stake drops by exactly the configured slash amount.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from web3 import Web3

from hyperion.rollup.devnet import CHALLENGER, DEPLOYER, PROPOSER, RESOLVER, Devnet, DevnetOptions, anvil_binary
from hyperion.rollup.l1.clients import AWAITING_RESOLUTION, CHALLENGER_WON, OutputOracleClient
from hyperion.rollup.l1.transact import Sender
from hyperion.sequencer.attestation import StakeResolverClient, deploy_stake_resolver
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.e2e.conftest import BASE_OPTIONS, wait_until, web3_of

pytestmark = pytest.mark.e2e

ETHER = 10**18
WRONG_FROM = 25
SLASH = 5 * ETHER
ATTESTOR_A = 5       # a devnet account; B is the follower's --resolver-key (the devnet's RESOLVER account)
ATTESTOR_B = RESOLVER
STAKES = {PROPOSER: 20 * ETHER, ATTESTOR_A: 50 * ETHER, ATTESTOR_B: 30 * ETHER}


class StakedDisputes:
    """The devnet with SequencerStaking and a StakeResolver, staked before the first output is proposed."""

    def __init__(self, workdir):
        options = dict(BASE_OPTIONS, submission_interval=20,
                       sequencer_env={"HYPERION_TEST_WRONG_OUTPUT_FROM": str(WRONG_FROM)})
        self.net = Devnet(DevnetOptions(workdir=workdir, **options))
        self.workdir = workdir
        self.attestors: list[subprocess.Popen] = []

    def start(self) -> None:
        net = self.net
        net.workdir.mkdir(parents=True, exist_ok=True)
        net.start_l1()
        self.l1 = web3_of(net.l1_url)
        owner = Web3.to_checksum_address(net.address(DEPLOYER))
        config = StakingConfig(owner=owner, l2_chain_id=net.options.l2_chain_id, min_lock=10 * ETHER,
                               max_lock=100 * ETHER, exit_delay=3600, reward_per_block=0)
        deployer = Sender(self.l1, net.key(DEPLOYER))
        self.staking = SequencerStakingClient(self.l1, deploy_sequencer_staking(self.l1, net.key(DEPLOYER), config),
                                              net.key(DEPLOYER))
        for index, amount in STAKES.items():
            self.staking.as_account(net.key(index)).lock(amount)
        net.deploy()
        self.oracle = OutputOracleClient(self.l1, net.deployment.output_oracle, deployer)
        self.resolver = StakeResolverClient(self.l1, deploy_stake_resolver(
            self.l1, net.key(DEPLOYER), owner, self.oracle.address, self.staking.address, SLASH))
        self.oracle.set_resolver(self.resolver.address)
        self.staking.govern("setSlasher", self.resolver.address, True)
        net.sequencer = net.make_sequencer()
        net.sequencer.start()
        net.follower = net.make_follower()
        net.follower.start()

    def start_attestor(self, index: int, node_url: str) -> None:
        log_file = open(self.workdir / f"attestor-{index}.log", "ab")
        env = dict(os.environ, HYPERION_STAKING_KEY=self.net.key(index).hex())
        self.attestors.append(subprocess.Popen(
            [sys.executable, "-m", "hyperion", "sequencer", "attest", "--l1-rpc-url", self.net.l1_url,
             "--rpc-url", node_url, "--resolver", self.resolver.address, "--staking-key", "env:HYPERION_STAKING_KEY",
             "--interval", "1"], stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        log_file.close()

    def stop(self) -> None:
        for process in self.attestors:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.net.stop()

    def address(self, index: int) -> str:
        return Web3.to_checksum_address(self.net.address(index))


@pytest.fixture(scope="module")
def staked(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    setup = StakedDisputes(tmp_path_factory.mktemp("staked-disputes"))
    try:
        setup.start()
        yield setup
    finally:
        setup.stop()


def test_a_wrong_output_is_settled_by_two_thirds_of_the_stake_and_the_proposer_is_slashed(staked):
    oracle, resolver, staking = staked.oracle, staked.resolver, staked.staking
    proposer = staked.address(PROPOSER)
    wait_until(lambda: oracle.dispute_count() >= 1, 240, "the challenger to open a dispute")
    dispute = wait_until(lambda: (lambda d: d if d.status != 1 and d.status != 2 else None)(oracle.get_dispute(1)),
                         300, "the bisection to reach its single-block step")
    assert dispute.status == AWAITING_RESOLUTION and dispute.hi == WRONG_FROM
    assert dispute.proposer == proposer
    assert resolver.tally(1, True) == (0, 100 * ETHER)  # every stake was locked before the output was proposed

    # B alone (30 of 100), from inside the follower node: below 2/3, the dispute stays open
    wait_until(lambda: resolver.has_attested(1, staked.address(ATTESTOR_B)), 120, "B's attestation")
    assert resolver.tally(1, False) == (30 * ETHER, 100 * ETHER)
    assert resolver.tally(1, True) == (0, 100 * ETHER)
    assert oracle.get_dispute(1).status == AWAITING_RESOLUTION

    # A (50) joins with `hyperion sequencer attest` on the sequencer node: 80 of 100 settles it for the challenger
    staked.start_attestor(ATTESTOR_A, staked.net.sequencer.url)
    wait_until(lambda: oracle.get_dispute(1).status != AWAITING_RESOLUTION, 120, "the set to settle the dispute")
    assert oracle.get_dispute(1).status == CHALLENGER_WON
    resolved = resolver.contract.events.Resolved().get_logs(from_block=0)
    assert len(resolved) == 1
    args = resolved[0]["args"]
    assert (args["disputeId"], args["proposerWins"], args["stakeFor"], args["snapshotStake"]) == \
        (1, False, 80 * ETHER, 100 * ETHER)
    assert (args["loser"], args["slashed"]) == (proposer, SLASH)
    assert staking.view("stakeOf", proposer) == STAKES[PROPOSER] - SLASH  # exactly the configured amount
    challenger = staked.address(CHALLENGER)
    assert staking.view("credit", challenger) == SLASH  # the slashed stake goes to the winner
    attested = resolver.contract.events.Attested().get_logs(from_block=0)
    assert sorted((e["args"]["attestor"], e["args"]["proposerWins"], e["args"]["weight"]) for e in attested
                  if e["args"]["disputeId"] == 1) == sorted(
        [(staked.address(ATTESTOR_B), False, 30 * ETHER), (staked.address(ATTESTOR_A), False, 50 * ETHER)])
