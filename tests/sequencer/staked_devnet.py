"""A devnet whose one sequencer is staked: SequencerStaking deployed, the batcher key locked in it, the inbox
open to active stakers only (StakedBatcherAuthority), and the rollup config naming both.

The sequencer signs its blocks with its batcher key (= its staking key);
followers started with ``--follow-unsafe`` check every fed block's signer.
"""

from __future__ import annotations

from typing import Optional

from eth_account import Account
from web3 import Web3

from hyperion.rollup.devnet import BATCHER, DEPLOYER, Devnet, NodeProcess, free_port
from hyperion.sequencer.inbox import deploy_batcher_authority, use_batcher_authority
from hyperion.sequencer.signing import BlockDomain
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking

ETHER = 10**18
STAKE = 50 * ETHER
ROGUE, REPORTER = 5, 6  # devnet account indexes: an unstaked would-be sequencer, the equivocation reporter
REPORTER_SHARE_BPS = 1_000


class StakedDevnet(Devnet):
    staking: str = ""
    authority: str = ""

    def deploy(self) -> None:
        super().deploy()
        w3 = self.l1()
        owner = Account.from_key(self.key(DEPLOYER))
        self.staking = deploy_sequencer_staking(w3, owner, StakingConfig(
            owner=owner.address, l2_chain_id=self.options.l2_chain_id, min_lock=ETHER, max_lock=1000 * ETHER,
            exit_delay=3600, reward_per_block=0, equivocation_slash_bps=10_000,
            reporter_share_bps=REPORTER_SHARE_BPS))
        self.staking_client(BATCHER).lock(STAKE)
        self.authority = deploy_batcher_authority(w3, owner, self.staking)
        use_batcher_authority(w3, owner, self.deployment.batch_inbox, self.authority)
        self.config.extra["sequencer_staking"] = self.staking
        self.config.batcher_authority = bytes.fromhex(self.authority[2:])
        self.config.save(self.config_path)

    def l1(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.l1_url, request_kwargs={"timeout": 60}))

    def staking_client(self, account: Optional[int] = None) -> SequencerStakingClient:
        return SequencerStakingClient(self.l1(), self.staking,
                                      None if account is None else Account.from_key(self.key(account)))

    def domain(self) -> BlockDomain:
        return BlockDomain.of(self.config)

    def watching_follower(self, name: str, sequencer_url: str, reporter: bool = False) -> NodeProcess:
        """A follower on ``sequencer_url``'s unsafe feed (checking signatures), optionally proving equivocations."""
        node = self.make_follower(name, challenge=False, follow_unsafe=True)
        node.args[node.args.index("--sequencer-url") + 1] = sequencer_url
        if reporter:
            node.env["HYPERION_REPORTER_KEY"] = self.key(REPORTER).hex()
            node.args += ["--report-equivocation", "env:HYPERION_REPORTER_KEY"]
        return node

    def rogue_sequencer(self) -> NodeProcess:
        """A sequencer whose key holds no stake: it signs its blocks with it (its batcher key) and tries to batch them."""
        env = {"HYPERION_ROGUE_KEY": self.key(ROGUE).hex()}
        args = [*self._common_args(), "--role", "sequencer", "--batcher-key", "env:HYPERION_ROGUE_KEY",
                "--data-availability", "calldata",
                "--max-batch-delay", str(self.options.max_batch_delay)]
        return NodeProcess("rogue", args, env, self.workdir, free_port())
