"""Signed L2 blocks: a staked sequencer signs every block it builds, followers check the signer before import.

The signature is over SequencerStaking's EIP-712 ``SignedL2Block`` digest
(``staking.block_digest``: L1 chain id and contract in the domain, L2 chain
id, number, block hash), so the same 65 bytes that make a follower accept a
block are evidence on L1 (``proveEquivocation``) when the signer signs a
second block at that height.

- ``BlockSigner``: the sequencer's ``signer(block) -> bytes`` hook
  (``hyperion.rollup.sequencer.Sequencer``); the node stores the signature
  with the block and serves it (``hyperion_getSignedBlock``).
- ``recover_signer``: the signer of a signature, under the contract's rules
  (65 bytes, v 27 or 28, s in the lower half), or ``BadSignature``.
- ``SignatureVerifier``: the unsafe feed's ``verify(block, signature)`` hook.
  A block is accepted when its signature recovers to a sequencer that the
  ``policy`` says may have built it: with a rotation schedule in the rollup
  config (``ScheduledSequencers``), the block's builder whose turn had come;
  without one (``ActiveSequencers``), any sequencer active in
  SequencerStaking at the L1 head. Every accepted
  signed block is shown to the ``observer`` (the equivocation watcher).

The rollup config names the staking contract (``sequencer_staking``); the
rollup layer knows nothing of this module, the CLI composes it.
"""

from __future__ import annotations

import logging
import time
from typing import Optional, Protocol

from hyperion.chain.blocks import Block
from hyperion.primitives.secp256k1 import InvalidSignature, recover_address, sign
from hyperion.rollup.config import RollupConfig
from hyperion.rollup.l1client import L1Client
from hyperion.rollup.l1tx import call_data, decode_result
from hyperion.sequencer.schedule import ScheduleError
from hyperion.sequencer.staking import SeedNotYetKnown, block_digest

log = logging.getLogger("hyperion.sequencer.signing")

SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
SIGNATURE_LENGTH = 65
ACTIVE_CACHE_SECONDS = 2.0
MAX_TURNS = 32  # the schedule's order wraps around after at most this many sequencers


class BadSignature(ValueError):
    """Bytes that are not a signature SequencerStaking would accept."""


def staking_address(config: RollupConfig) -> Optional[bytes]:
    """The SequencerStaking contract the rollup config names (``sequencer_staking``), or None."""
    value = config.extra.get("sequencer_staking")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 42 or value[:2].lower() != "0x":
        raise ValueError(f"sequencer_staking must be a 0x-prefixed 20-byte address, got {value!r}")
    return bytes.fromhex(value[2:])


class BlockDomain:
    """What a block signature is bound to: the L1 chain and staking contract, and the L2 chain."""

    def __init__(self, l1_chain_id: int, staking: bytes, l2_chain_id: int):
        self.l1_chain_id = l1_chain_id
        self.staking = staking
        self.l2_chain_id = l2_chain_id

    @classmethod
    def of(cls, config: RollupConfig) -> "BlockDomain":
        staking = staking_address(config)
        if staking is None:
            raise ValueError("the rollup config names no sequencer_staking contract")
        return cls(config.l1_chain_id, staking, config.l2_chain_id)

    def digest(self, number: int, block_hash: bytes) -> bytes:
        return block_digest(self.l1_chain_id, "0x" + self.staking.hex(), self.l2_chain_id, number, block_hash)


class BlockSigner:
    """The sequencer's signing hook: ``signer(block)`` -> 65 bytes r ‖ s ‖ v (v 27/28, low s)."""

    def __init__(self, domain: BlockDomain, private_key: bytes):
        self.domain = domain
        self.private_key = private_key

    def sign(self, number: int, block_hash: bytes) -> bytes:
        y_parity, r, s = sign(self.domain.digest(number, block_hash), self.private_key)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + y_parity])

    def __call__(self, block: Block) -> bytes:
        return self.sign(block.number, block.hash)


def recover_signer(digest: bytes, signature: bytes) -> bytes:
    """The address that made ``signature`` over ``digest``, under SequencerStaking's rules."""
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_LENGTH:
        raise BadSignature(f"a block signature is {SIGNATURE_LENGTH} bytes")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise BadSignature("signature v must be 27 or 28")
    if s > SECP256K1_HALF_ORDER:
        raise BadSignature("signature s is not in the lower half")
    try:
        return recover_address(digest, v - 27, r, s)
    except InvalidSignature as exc:
        raise BadSignature(f"invalid signature: {exc}") from None


class SigningPolicy(Protocol):
    async def may_sign(self, signer: bytes, block: Block) -> Optional[str]:
        """None when ``signer`` may have built ``block``; otherwise why not."""


class ActiveSequencers:
    """Any sequencer active in SequencerStaking at the L1 head may sign (read at most every 2 s per address).

    Until the rotation schedule decides who is responsible for each block,
    this is what a follower can check: the signer holds an active stake
    (so an equivocation by it can be slashed), and no one else signs.
    """

    def __init__(self, l1_rpc_url: str, staking: bytes, cache_seconds: float = ACTIVE_CACHE_SECONDS):
        self.l1_rpc_url = l1_rpc_url
        self.staking = staking
        self.cache_seconds = cache_seconds
        self._client: Optional[L1Client] = None
        self._cache: dict[bytes, tuple[float, bool]] = {}

    async def is_active(self, address: bytes) -> bool:
        now = time.monotonic()
        cached = self._cache.get(address)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        if self._client is None:  # created in the loop that uses it
            self._client = L1Client(self.l1_rpc_url)
        raw = await self._client.eth_call(self.staking, call_data("isActive(address)", address))
        (active,) = decode_result(["bool"], raw)
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[address] = (now, active)
        return active

    async def may_sign(self, signer: bytes, block: Block) -> Optional[str]:
        if await self.is_active(signer):
            return None
        return f"signer 0x{signer.hex()} is not an active staked sequencer"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class SignedBlockObserver(Protocol):
    async def observe(self, block: Block, signature: bytes, signer: bytes) -> None:
        """A block whose signature by ``signer`` was accepted."""

    async def close(self) -> None:
        ...


class SignatureVerifier:
    """The unsafe feed's ``verify(block, signature)`` hook (see the module docstring)."""

    def __init__(self, domain: BlockDomain, policy: SigningPolicy, observer: Optional[SignedBlockObserver] = None):
        self.domain = domain
        self.policy = policy
        self.observer = observer

    async def close(self) -> None:
        """Close the L1 clients of the policy and the observer (the feed calls this when it stops)."""
        for part in (self.policy, self.observer):
            close = getattr(part, "close", None)
            if close is not None:
                await close()

    async def __call__(self, block: Block, signature: bytes) -> Optional[str]:
        try:
            signer = recover_signer(self.domain.digest(block.number, block.hash), signature)
        except BadSignature as exc:
            return str(exc)
        reason = await self.policy.may_sign(signer, block)
        if reason is not None:
            return reason
        if self.observer is not None:
            await self.observer.observe(block, signature, signer)
        return None


class ScheduledSequencers:
    """The signer must be the block's builder (its coinbase) and a sequencer whose turn for the block had
    come by the time the block arrived: the epoch's scheduled sequencer, or a backup once the block was
    late enough (``hyperion.sequencer.rotation``: the schedule read from L1; ejected members skipped).

    ``schedule`` is a ``RotationLeadership`` (any object with its ``responsible(number, timestamp, now)``
    and ``params``); the follower's own chain gives the builder of the parent block.
    """

    def __init__(self, schedule, clock=time.time):
        self.schedule = schedule
        self.clock = clock

    async def may_sign(self, signer: bytes, block: Block) -> Optional[str]:
        header = block.header
        if bytes(header.coinbase) != signer:
            return f"signer 0x{signer.hex()} is not the block's builder 0x{bytes(header.coinbase).hex()}"
        late = max(0.0, self.clock() - header.timestamp)
        takeover = self.schedule.params.takeover_seconds
        try:
            turns = {await self.schedule.responsible(block.number, header.timestamp, header.timestamp + k * takeover)
                     for k in range(min(int(late // takeover) + 1, MAX_TURNS))}
        except (SeedNotYetKnown, ScheduleError) as exc:
            return f"the schedule of L2 block {block.number} is not known: {exc}"
        if signer in turns:
            return None
        return (f"signer 0x{signer.hex()} is not the sequencer responsible for L2 block {block.number} "
                f"{late:.0f}s after its time (the schedule names {', '.join('0x' + a.hex() for a in sorted(turns))})")
