"""Rotation: a sequencer node builds a block only when the staked schedule on L1 says it is its turn.

``RotationLeadership`` is the ``hyperion.rollup.sequencer.Leadership`` gate of
one member of the staked set (its staking address ``me``):

* the order of epoch ``e`` (scheduled sequencer first, then the backups) is
  ``staking.epoch_order_from_l1``: the stake-weighted draw seeded by an L1
  block hash, over the set staked at that block; read once per epoch and
  cached;
* members that are no longer active at the L1 head (ejected by an
  equivocation proof, or exiting) are dropped from that order, keeping the
  others' relative order, so every node that sees the same L1 head skips the
  same ones; the active set is re-read at most every ``active_refresh``
  seconds;
* who builds block ``n`` at time ``now`` (``responsible``): the member the
  epoch started with, or, inside an epoch, the one that built the parent
  block (its coinbase) -- so a backup that took over keeps the epoch instead
  of waiting ``T`` again on every block -- and, each ``takeover_seconds`` that
  the block is overdue, the next one in the order (cyclically).

``keep_ours`` is the matching fork choice for the unsafe feed: of two blocks
at one height on the same parent, the one whose builder's turn came first
wins (a node keeps its own block only if its builder ranks before the
peer's).

What it trusts: the L1 endpoint (for the seed block, the stakes and the
active set), and the local clock (to within a fraction of ``T``: a node
whose clock runs ahead takes over early, which at worst forks the unsafe
chain until L1 settles it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Optional

from hyperion.rollup.config import RollupConfig
from hyperion.rollup.l1client import L1Unavailable
from hyperion.sequencer.schedule import ScheduleError, ScheduleParams, epoch_of
from hyperion.sequencer.staking import SeedNotYetKnown, SequencerStakingClient, epoch_order_from_l1

log = logging.getLogger("hyperion.sequencer.rotation")

STAKING_KEY = "sequencer_staking"   # the SequencerStaking contract (also what block signatures are bound to)
SCHEDULE_KEY = "sequencer_schedule"  # {"epoch_length", "seed_lookback", "takeover_seconds"}
CACHED_EPOCHS = 16


@dataclass(frozen=True)
class SequencerSet:
    """rollup.json's ``sequencer_staking`` (where the stakes are) and ``sequencer_schedule`` (its parameters)."""

    staking: str
    params: ScheduleParams

    @classmethod
    def from_config(cls, config: RollupConfig) -> Optional["SequencerSet"]:
        staking, entry = config.extra.get(STAKING_KEY), config.extra.get(SCHEDULE_KEY)
        if staking is None and entry is None:
            return None
        try:
            if not (isinstance(staking, str) and staking[:2].lower() == "0x" and len(staking) == 42):
                raise ValueError(f"{STAKING_KEY} must be a 0x-prefixed 20-byte address, got {staking!r}")
            int(staking, 16)
            if not isinstance(entry, dict):
                raise ValueError(f"{SCHEDULE_KEY} must be an object, got {entry!r}")
            params = ScheduleParams(entry["epoch_length"], entry["seed_lookback"], entry["takeover_seconds"])
        except KeyError as exc:
            raise ValueError(f"rollup config: {SCHEDULE_KEY} lacks {exc.args[0]!r}") from None
        except (TypeError, ValueError, ScheduleError) as exc:
            raise ValueError(f"rollup config: {exc}") from None
        return cls(staking, params)

    def to_config(self) -> dict:
        """The entries to put in rollup.json (``RollupConfig.extra``)."""
        return {STAKING_KEY: self.staking, SCHEDULE_KEY: {"epoch_length": self.params.epoch_length,
                                                          "seed_lookback": self.params.seed_lookback,
                                                          "takeover_seconds": self.params.takeover_seconds}}


class RotationLeadership:
    """The staked schedule as a leadership gate (see the module docstring)."""

    def __init__(self, config: RollupConfig, chain, staking: SequencerStakingClient, params: ScheduleParams,
                 me: bytes, clock=time.time, active_refresh: float = 2.0):
        if len(me) != 20:
            raise ValueError("a sequencer's staking address is 20 bytes")
        self.config = config
        self.chain = chain
        self.staking = staking
        self.params = params
        self.me = bytes(me)
        self.clock = clock
        self.active_refresh = active_refresh
        self._orders: dict[int, tuple[bytes, ...]] = {}
        self._active: Optional[frozenset] = None
        self._active_read_at = float("-inf")
        self._waiting_for_seed: Optional[int] = None

    # -- L1 reads (web3 is synchronous: off the driver loop) ----------------------------------------------
    @staticmethod
    async def _read_l1(function, *args):
        try:
            return await asyncio.to_thread(function, *args)
        except (SeedNotYetKnown, ScheduleError):
            raise
        except Exception as exc:  # web3/requests errors: the node's role loop retries after L1 failures
            raise L1Unavailable(f"reading the sequencer set from L1: {exc}") from None

    async def scheduled_order(self, epoch: int) -> tuple[bytes, ...]:
        """The epoch's full order as drawn at its seed block (cached)."""
        order = self._orders.get(epoch)
        if order is None:
            _seed, order = await self._read_l1(
                epoch_order_from_l1, self.staking, self.params, epoch, self.config.genesis_timestamp,
                self.config.block_time)
            if len(self._orders) >= CACHED_EPOCHS:
                del self._orders[min(self._orders)]
            self._orders[epoch] = order
            log.info("epoch %d (L2 blocks %d..%d): sequencer 0x%s, backups %s", epoch,
                     epoch * self.params.epoch_length, (epoch + 1) * self.params.epoch_length - 1, order[0].hex(),
                     " ".join("0x" + a.hex() for a in order[1:]) or "none")
        return order

    async def active(self) -> frozenset:
        """The addresses active at the L1 head (re-read at most every ``active_refresh`` seconds)."""
        now = time.monotonic()
        if self._active is None or now - self._active_read_at >= self.active_refresh:
            stakes = await self._read_l1(self.staking.active_set, "latest")
            self._active = frozenset(bytes(s.address) for s in stakes if s.amount > 0)
            self._active_read_at = now
        return self._active

    async def order(self, epoch: int) -> tuple[bytes, ...]:
        """The epoch's order without the members no longer active at the L1 head (all of it if none is)."""
        order = await self.scheduled_order(epoch)
        active = await self.active()
        live = tuple(a for a in order if a in active)
        return live or order

    # -- the rule ---------------------------------------------------------------------------------------
    async def responsible(self, number: int, timestamp: int, now: float) -> bytes:
        """Who may build L2 block ``number`` (with ``timestamp``) at time ``now``."""
        length = self.params.epoch_length
        order = await self.order(epoch_of(number, length))
        base = self._rank_of_parent_builder(number, order)
        late = max(0.0, now - timestamp)
        return order[(base + int(late // self.params.takeover_seconds)) % len(order)]

    def _rank_of_parent_builder(self, number: int, order: tuple[bytes, ...]) -> int:
        if number % self.params.epoch_length == 0:
            return 0  # a new epoch starts with its scheduled sequencer
        parent = self.chain.block_by_number(number - 1)
        coinbase = bytes(parent.header.coinbase) if parent is not None else b""
        return order.index(coinbase) if coinbase in order else 0

    async def may_build(self, number: int, timestamp: int) -> bool:
        try:
            responsible = await self.responsible(number, timestamp, self.clock())
        except (SeedNotYetKnown, ScheduleError) as exc:
            epoch = epoch_of(number, self.params.epoch_length)
            if self._waiting_for_seed != epoch:
                self._waiting_for_seed = epoch
                log.warning("the schedule of epoch %d is not known yet: %s", epoch, exc)
            return False
        return responsible == self.me

    async def built(self, block) -> bool:
        return True

    def status(self) -> dict:
        """What this node computed (optimism_syncStatus's ``hyperion.leadership``): epoch -> order."""
        return {"me": "0x" + self.me.hex(), "epoch_length": self.params.epoch_length,
                "takeover_seconds": self.params.takeover_seconds,
                "epochs": {str(epoch): ["0x" + a.hex() for a in order]
                           for epoch, order in sorted(self._orders.items())}}

    async def keep_ours(self, ours, theirs) -> bool:
        """Fork choice between two blocks at one height: keep ours only if its builder's turn came first."""
        number = ours.header.number
        order = await self.order(epoch_of(number, self.params.epoch_length))
        base = self._rank_of_parent_builder(number, order)

        def turn(block) -> int:
            coinbase = bytes(block.header.coinbase)
            return (order.index(coinbase) - base) % len(order) if coinbase in order else len(order)

        return turn(ours) <= turn(theirs)
