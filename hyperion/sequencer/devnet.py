"""``hyperion devnet --sequencers N``: the rollup devnet with a staked, rotating set of N sequencers.

On top of ``hyperion.rollup.devnet.Devnet`` (anvil, the rollup's L1
contracts, the L2 genesis, ``rollup.json``) it deploys ``SequencerStaking``,
locks unequal stakes for N sequencer keys (the standard test mnemonic's
accounts 5, 6, ...), authorizes every active staker at the batch inbox
(``StakedBatcherAuthority``) and writes the staking contract and the
schedule's parameters into ``rollup.json`` (``sequencer_staking``,
``sequencer_schedule``). Then it starts N ``hyperion node --role sequencer
--sequencer-key ...`` processes, each with every other one as ``--peer``,
and a follower. The first sequencer also posts output roots (the
OutputOracle has one proposer).

The stakes are locked before the L2 genesis time is fixed, so they are in
the set that the seed block of epoch 0 reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from hyperion.rollup.devnet import ETHER, PROPOSER, Devnet, DevnetOptions, NodeProcess, free_port

FIRST_SEQUENCER_ACCOUNT = 5
DEFAULT_STAKES = (50 * ETHER, 30 * ETHER, 20 * ETHER, 15 * ETHER, 10 * ETHER)


@dataclass
class SequencerSetOptions:
    sequencers: int = 3
    stakes: Optional[tuple[int, ...]] = None  # wei per sequencer (default: DEFAULT_STAKES' first N)
    epoch_length: int = 8       # L2 blocks per epoch
    seed_lookback: int = 6      # seconds between an epoch's seed L1 block and its first L2 block
    takeover_seconds: int = 4   # T: how long a silent sequencer's slot waits before the next one builds
    exit_delay: int = 60

    def stake_amounts(self) -> tuple[int, ...]:
        stakes = self.stakes if self.stakes is not None else DEFAULT_STAKES[:self.sequencers]
        if not 1 <= self.sequencers <= len(DEFAULT_STAKES):
            raise ValueError(f"--sequencers must be between 1 and {len(DEFAULT_STAKES)}")
        if len(stakes) != self.sequencers or any(not isinstance(s, int) or s <= 0 for s in stakes):
            raise ValueError(f"give one positive stake per sequencer ({self.sequencers}), got {stakes!r}")
        return tuple(stakes)


class SequencerSetDevnet(Devnet):
    """anvil + the rollup's L1 contracts + SequencerStaking + N staked sequencers + a follower."""

    def __init__(self, options: DevnetOptions, set_options: SequencerSetOptions):
        super().__init__(options)
        self.set_options = set_options
        self.stakes = set_options.stake_amounts()
        self.staking: Optional[str] = None
        self.batcher_authority: Optional[str] = None
        self.sequencers: list[NodeProcess] = []

    def sequencer_index(self, position: int) -> int:
        """The mnemonic account of sequencer ``position`` (0-based)."""
        return FIRST_SEQUENCER_ACCOUNT + position

    def sequencer_address(self, position: int) -> bytes:
        return self.address(self.sequencer_index(position))

    deploy_step = "deploying the L1 contracts and locking the stakes"
    node_start_timeout = 120.0

    def start_sequencers(self, step: Callable[[int, str], None]) -> None:
        """Every member at once: each waits for the others' feeds, so none is waited for alone."""
        step(2, f"starting {len(self.stakes)} sequencers")
        ports = [self.options.sequencer_port or free_port()] + [free_port() for _ in self.stakes[1:]]
        self.sequencers = [self.make_set_sequencer(i, ports) for i in range(len(self.stakes))]
        self.sequencer = self.sequencers[0]
        for node in self.sequencers:
            node.launch()
        for node in self.sequencers:
            node.wait_ready(self.node_start_timeout)

    def deploy(self) -> None:
        """SequencerStaking and the stakes first, then the rollup (whose L2 genesis time comes last)."""
        from web3 import Web3

        from hyperion.sequencer.rotation import SequencerSet
        from hyperion.sequencer.schedule import ScheduleParams
        from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking

        options, set_options = self.options, self.set_options
        w3 = Web3(Web3.HTTPProvider(self.l1_url, request_kwargs={"timeout": 60}))
        owner = Web3.to_checksum_address(self.address(0))
        self.staking = deploy_sequencer_staking(w3, self.key(0), StakingConfig(
            owner=owner, l2_chain_id=options.l2_chain_id, min_lock=ETHER, max_lock=1000 * ETHER,
            exit_delay=set_options.exit_delay, reward_per_block=0))
        client = SequencerStakingClient(w3, self.staking)
        for position, amount in enumerate(self.stakes):
            client.as_account(self.key(self.sequencer_index(position))).lock(amount)
        super().deploy()
        self._authorize_stakers_at_the_inbox(w3)
        schedule = SequencerSet(self.staking, ScheduleParams(set_options.epoch_length, set_options.seed_lookback,
                                                             set_options.takeover_seconds))
        self.config.extra.update(schedule.to_config())
        self.config.save(self.config_path)

    def _authorize_stakers_at_the_inbox(self, w3) -> None:
        """BatchInbox.setBatcherAuthority(StakedBatcherAuthority(staking)): every active staker may post."""
        from hyperion.sequencer.inbox import deploy_batcher_authority, use_batcher_authority

        self.batcher_authority = deploy_batcher_authority(w3, self.key(0), self.staking)
        use_batcher_authority(w3, self.key(0), self.deployment.batch_inbox, self.batcher_authority)
        self.config.batcher_authority = bytes.fromhex(self.batcher_authority[2:])

    def make_set_sequencer(self, position: int, ports: list[int]) -> NodeProcess:
        options = self.options
        env = {"HYPERION_SEQUENCER_KEY": self.key(self.sequencer_index(position)).hex(), **options.sequencer_env}
        args = [*self._common_args(), "--role", "sequencer", "--sequencer-key", "env:HYPERION_SEQUENCER_KEY",
                "--data-availability", options.data_availability, "--max-batch-delay", str(options.max_batch_delay)]
        for other, port in enumerate(ports):
            if other != position:
                args += ["--peer", f"http://127.0.0.1:{port}"]
        if position == 0:
            env["HYPERION_PROPOSER_KEY"] = self.key(PROPOSER).hex()
            args += ["--proposer-key", "env:HYPERION_PROPOSER_KEY"]
        return NodeProcess(f"sequencer{position}", args, env, self.workdir, ports[position])

    def nodes(self) -> list[NodeProcess]:
        return [*self.sequencers, *([self.follower] if self.follower is not None else [])]

    def summary(self) -> str:
        lines = [line for line in super().summary().splitlines() if not line.startswith("L2 sequencer RPC")]
        total = sum(self.stakes)
        extra = ["", f"SequencerStaking:     {self.staking}",
                 f"Batcher authority:    {self.batcher_authority}",
                 f"Schedule:             epochs of {self.set_options.epoch_length} L2 blocks, takeover after "
                 f"{self.set_options.takeover_seconds}s, seed {self.set_options.seed_lookback}s before each epoch"]
        for position, node in enumerate(self.sequencers):
            extra.append(f"L2 sequencer {position} RPC:   {node.url}  (WebSocket {node.ws_url})  staker "
                         f"0x{self.sequencer_address(position).hex()} (account {self.sequencer_index(position)}), "
                         f"stake {self.stakes[position] / ETHER:g} ETH = {100 * self.stakes[position] / total:.0f}%")
        return "\n".join(lines[:4] + extra + lines[4:])
