"""The sequencer schedule: who builds each epoch of L2 blocks, and who takes over when it is silent.

A pure function of L1 data, so that every node (sequencers, followers, the
batch inbox's authority later) computes the same answer with no messages:

* L2 blocks are cut into epochs of ``epoch_length`` blocks (``epoch_of``).
* Epoch ``e`` draws from a *seed*: the hash of the newest L1 block whose
  timestamp is at most ``seed_lookback`` seconds before the epoch's first L2
  block (``seed_cutoff_time``). A time, not an L1 origin, fixes that block, so
  no sequencer can pick the seed by choosing its blocks' L1 origins; the
  lookback keeps it far below any L1 reorg depth. The stakes are read at that
  same L1 block (``SequencerStaking.activeSet()``), so nobody can react to the
  seed by staking.
* ``epoch_order`` ranks the staked sequencers by a stake-weighted draw without
  replacement: the first is the epoch's sequencer, the rest are its backups in
  takeover order. Inputs are canonicalised (sorted by address), so the order in
  which a node lists the stakes does not matter.
* ``responsible_sequencer``: when a block is ``late`` seconds overdue, the
  ``late // takeover_seconds``-th of that order (cyclically) may build it.

What this trusts: an L1 block proposer can withhold its block to re-roll the
seed once (the usual RANDAO-style bias of L1-derived randomness).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from hyperion.primitives.keccak import keccak256

SEED_DOMAIN = b"hyperion/sequencer-schedule/v1"
_TWO_256 = 1 << 256


class ScheduleError(ValueError):
    """The schedule's inputs are unusable (no stake, duplicate sequencers, a malformed seed or parameter)."""


@dataclass(frozen=True)
class Stake:
    """One active sequencer and its locked amount, as SequencerStaking.activeSet() returns them."""

    address: bytes  # 20 bytes
    amount: int

    def __post_init__(self) -> None:
        if not isinstance(self.address, (bytes, bytearray)) or len(self.address) != 20:
            raise ScheduleError(f"a sequencer address is 20 bytes, got {self.address!r}")
        if not isinstance(self.amount, int) or self.amount < 0:
            raise ScheduleError(f"stake of 0x{bytes(self.address).hex()} must be a non-negative integer")


@dataclass(frozen=True)
class ScheduleParams:
    """The rollup's schedule parameters (part of its config: every node must use the same values)."""

    epoch_length: int       # L2 blocks per epoch
    seed_lookback: int      # seconds between the seed's L1 block and the epoch's first L2 block
    takeover_seconds: int   # T: how long the scheduled sequencer may be silent before the next one builds

    def __post_init__(self) -> None:
        for name in ("epoch_length", "seed_lookback", "takeover_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ScheduleError(f"{name} must be a positive integer, got {value!r}")


def epoch_of(l2_number: int, epoch_length: int) -> int:
    """The epoch of L2 block ``l2_number`` (block 0, genesis, is in epoch 0)."""
    if l2_number < 0 or epoch_length <= 0:
        raise ScheduleError(f"bad block number {l2_number} or epoch length {epoch_length}")
    return l2_number // epoch_length


def epoch_first_block(epoch: int, epoch_length: int) -> int:
    if epoch < 0 or epoch_length <= 0:
        raise ScheduleError(f"bad epoch {epoch} or epoch length {epoch_length}")
    return epoch * epoch_length


def seed_cutoff_time(epoch: int, params: ScheduleParams, l2_genesis_time: int, l2_block_time: int) -> int:
    """The seed of ``epoch`` is the hash of the newest L1 block with a timestamp at most this."""
    first = epoch_first_block(epoch, params.epoch_length)
    return l2_genesis_time + first * l2_block_time - params.seed_lookback


def _canonical(stakes: Iterable[Stake]) -> list[Stake]:
    ordered = sorted((s for s in stakes if s.amount > 0), key=lambda s: bytes(s.address))
    for before, after in zip(ordered, ordered[1:]):
        if bytes(before.address) == bytes(after.address):
            raise ScheduleError(f"sequencer 0x{bytes(after.address).hex()} is listed twice")
    if not ordered:
        raise ScheduleError("no sequencer has stake: the schedule is empty")
    return ordered


def _draw(seed: bytes, epoch: int, rank: int, bound: int) -> int:
    """A uniform integer in [0, bound) from the seed (rejection sampling: no modulo bias)."""
    limit = _TWO_256 - _TWO_256 % bound
    attempt = 0
    while True:
        word = keccak256(SEED_DOMAIN + seed + epoch.to_bytes(32, "big") + rank.to_bytes(32, "big")
                         + attempt.to_bytes(32, "big"))
        value = int.from_bytes(word, "big")
        if value < limit:
            return value % bound
        attempt += 1


def epoch_order(stakes: Iterable[Stake], seed: bytes, epoch: int) -> tuple[bytes, ...]:
    """The sequencers of ``epoch``: the scheduled one first, then the backups in takeover order.

    Each rank is a stake-weighted draw among those not yet ranked, so the
    scheduled sequencer is ``s`` with probability stake(s) / total stake.
    """
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ScheduleError(f"the seed is a 32-byte L1 block hash, got {seed!r}")
    if not isinstance(epoch, int) or epoch < 0:
        raise ScheduleError(f"bad epoch {epoch!r}")
    remaining = _canonical(stakes)
    order: list[bytes] = []
    while remaining:
        point = _draw(bytes(seed), epoch, len(order), sum(s.amount for s in remaining))
        for index, stake in enumerate(remaining):
            if point < stake.amount:
                order.append(bytes(stake.address))
                del remaining[index]
                break
            point -= stake.amount
    return tuple(order)


def responsible_sequencer(order: Sequence[bytes], late: float, takeover_seconds: int) -> bytes:
    """Who may build a block that is ``late`` seconds overdue (0 = on time): each T more seconds, the next."""
    if not order:
        raise ScheduleError("the epoch order is empty")
    if late < 0:
        late = 0
    return order[int(late // takeover_seconds) % len(order)]
