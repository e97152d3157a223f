"""Consensus rules of block headers, per fork: what a valid header looks like next to its parent.

``block_rules`` turns a fork schedule and a block's position into a
``BlockRules`` record: MetisVM's ``Fork`` for the block, whose data says
which header fields exist, the blob parameters and size limit, and for
proof-of-work blocks the difficulty formula, bomb delay and block reward. ``validate_header`` checks a header against its parent
under those rules; ``validate_ommers`` and ``ommer_rewards`` are the uncle
rules of proof-of-work history.

Proof-of-work seals (``mixHash``/``nonce`` against ethash) are not checked,
as reth does not check them for pre-merge history: a chain is imported
trusting that its proof-of-work was verified when it was mined, while every
other rule (difficulty, gas, timestamps, rewards, state) is re-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from hyperion.chain.blocks import EMPTY_OMMERS_HASH, Header
from hyperion.chain.schedule import ForkSchedule
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.vm.forks import DIFFICULTY_FRONTIER, DIFFICULTY_HOMESTEAD, GAS_PER_BLOB, Fork

MAX_EXTRA_DATA = 32
GAS_LIMIT_BOUND_DIVISOR = 1024
MIN_GAS_LIMIT = 5000
MAX_GAS_LIMIT = 2**63 - 1  # geth's bound on a header's gas limit
ELASTICITY_MULTIPLIER = 2
BASE_FEE_CHANGE_DENOMINATOR = 8
INITIAL_BASE_FEE = 10**9  # EIP-1559: the base fee of the London fork block
MIN_DIFFICULTY = 131_072
MAX_OMMERS = 2
MAX_OMMER_DEPTH = 6
DAO_EXTRA_DATA = b"dao-hard-fork"
DAO_EXTRA_DATA_BLOCKS = 10


class HeaderError(Exception):
    """A header that breaks a consensus rule; ``rule`` is EEST's name for the broken rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class BlockRules:
    """What the schedule says about one block (see ``block_rules``).

    Everything per fork (header fields, rewards, difficulty, blob and size
    limits) is data on MetisVM's ``Fork``; the rest depends on the block's
    place in the schedule.
    """

    fork_name: str
    fork: Fork
    merged: bool  # proof of stake: no difficulty, no ommers, no block reward
    london_transition: bool  # the first London block: base fee 1 gwei, parent gas limit doubled
    dao_extra_data: bool  # one of the ten blocks from the DAO fork that must say so in extraData
    dao_fork_block: bool  # the DAO fork block: its irregular state change applies

    @property
    def london(self) -> bool:  # EIP-1559 base fee in the header
        return self.fork.has_base_fee

    @property
    def shanghai(self) -> bool:  # EIP-4895 withdrawals
        return self.fork.has_withdrawals

    @property
    def cancun(self) -> bool:  # EIP-4844 blob gas fields, EIP-4788 beacon root
        return self.fork.has_blobs

    @property
    def prague(self) -> bool:  # EIP-7685 requests hash
        return self.fork.has_requests

    @property
    def byzantium(self) -> bool:  # EIP-658 receipt status (before: intermediate state roots)
        return self.fork.has_status_receipts

    @property
    def block_reward(self) -> int:
        return 0 if self.merged else self.fork.block_reward


def block_rules(schedule: ForkSchedule, number: int, timestamp: int, merged: bool = False) -> BlockRules:
    """The rules of a block at ``(number, timestamp)``; ``merged`` is true for a proof-of-stake block.

    Raises UnsupportedFork when MetisVM does not implement the block's fork.
    """
    fork_name = schedule.fork_name_at(number, timestamp, merged)
    fork = schedule.evm_fork(fork_name)
    dao = schedule.activation("DAOFork")
    dao_block = dao.block if dao is not None and dao.block is not None and schedule.dao_fork_support else None
    london = schedule.activation("London")
    return BlockRules(
        fork_name=fork_name,
        fork=fork,
        merged=merged or fork.is_proof_of_stake,
        london_transition=london is not None and london.block is not None and number == london.block > 0,
        dao_extra_data=dao_block is not None and dao_block <= number < dao_block + DAO_EXTRA_DATA_BLOCKS,
        dao_fork_block=dao_block is not None and number == dao_block,
    )


# -- fee markets ----------------------------------------------------------------------------------


def gas_limit_in_bounds(gas_limit: int, parent_gas_limit: int) -> bool:
    """A gas limit may move by less than 1/1024 of the parent's, and not below 5000."""
    delta = parent_gas_limit // GAS_LIMIT_BOUND_DIVISOR
    return parent_gas_limit - delta < gas_limit < parent_gas_limit + delta and gas_limit >= MIN_GAS_LIMIT


def base_fee_after(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """EIP-1559: the base fee of a child block, moving by at most 1/8 toward the gas target."""
    target = parent_gas_limit // ELASTICITY_MULTIPLIER
    if target == 0 or parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = parent_base_fee * (parent_gas_used - target) // target // BASE_FEE_CHANGE_DENOMINATOR
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (target - parent_gas_used) // target // BASE_FEE_CHANGE_DENOMINATOR
    return parent_base_fee - delta


def expected_base_fee(parent: Header, rules: BlockRules) -> Optional[int]:
    """The base fee a child of ``parent`` must carry (None before London)."""
    if not rules.london:
        return None
    if rules.london_transition or parent.base_fee is None:
        return INITIAL_BASE_FEE
    return base_fee_after(parent.base_fee, parent.gas_used, parent.gas_limit)


def excess_blob_gas_after(parent: Header, fork: Fork) -> int:
    """EIP-4844 (with EIP-7918's reserve price from Osaka): the excess blob gas of a child of ``parent``.

    The child's blob parameters apply (so a blob-parameter fork changes the
    target from its first block); a parent from before Cancun counts as zero.
    """
    return fork.excess_blob_gas(parent.excess_blob_gas or 0, parent.blob_gas_used or 0, parent.base_fee or 0)


def next_block_blob_base_fee(parent: Header, rules: BlockRules) -> int:
    """The blob base fee of a child of ``parent`` (0 before Cancun)."""
    if not rules.cancun:
        return 0
    return rules.fork.blob_base_fee(excess_blob_gas_after(parent, rules.fork))


# -- proof of work ------------------------------------------------------------------------------------


def expected_difficulty(parent: Header, number: int, timestamp: int, rules: BlockRules) -> int:
    """The ethash difficulty of a child of ``parent`` (Frontier, EIP-2 and EIP-100 formulas, bomb delays)."""
    parent_difficulty = parent.difficulty
    step = parent_difficulty // 2048
    elapsed = timestamp - parent.timestamp
    formula = rules.fork.difficulty_formula
    if formula == DIFFICULTY_FRONTIER:
        difficulty = parent_difficulty + (step if elapsed < 13 else -step)
    elif formula == DIFFICULTY_HOMESTEAD:
        difficulty = parent_difficulty + step * max(1 - elapsed // 10, -99)
    else:
        uncles = 2 if parent.ommers_hash != EMPTY_OMMERS_HASH else 1
        difficulty = parent_difficulty + step * max(uncles - elapsed // 9, -99)
    bomb_periods = (number - rules.fork.difficulty_bomb_delay) // 100_000 - 2
    if bomb_periods >= 0:
        difficulty += 2**bomb_periods
    return max(difficulty, MIN_DIFFICULTY)


# -- headers --------------------------------------------------------------------------------------------------


def validate_header(header: Header, parent: Header, rules: BlockRules) -> None:
    """Check ``header`` against ``parent`` under ``rules``; HeaderError names the first broken rule."""
    if header.parent_hash != parent.hash:
        raise HeaderError("UNKNOWN_PARENT", "parent hash does not match the parent block")
    if header.number != parent.number + 1:
        raise HeaderError("INVALID_BLOCK_NUMBER", f"block number {header.number}, expected {parent.number + 1}")
    if header.timestamp <= parent.timestamp:
        raise HeaderError("INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT",
                          f"timestamp {header.timestamp} is not after the parent's {parent.timestamp}")
    if len(header.extra_data) > MAX_EXTRA_DATA:
        raise HeaderError("EXTRA_DATA_TOO_BIG", f"extra data is {len(header.extra_data)} bytes, at most 32 allowed")
    if rules.dao_extra_data and header.extra_data != DAO_EXTRA_DATA:
        raise HeaderError("EXTRA_DATA_INVALID_DAO", "a DAO fork block must carry 'dao-hard-fork' as extra data")
    _check_field_set(header, rules)
    if header.gas_limit > MAX_GAS_LIMIT:
        raise HeaderError("GASLIMIT_TOO_BIG", f"gas limit {header.gas_limit} above {MAX_GAS_LIMIT}")
    if header.gas_used > header.gas_limit:
        raise HeaderError("GAS_USED_OVERFLOW", f"gas used {header.gas_used} above the gas limit {header.gas_limit}")
    parent_gas_limit = parent.gas_limit * (ELASTICITY_MULTIPLIER if rules.london_transition else 1)
    if not gas_limit_in_bounds(header.gas_limit, parent_gas_limit):
        raise HeaderError("INVALID_GASLIMIT",
                          f"gas limit {header.gas_limit} out of bounds for a parent limit of {parent_gas_limit}")
    base_fee = expected_base_fee(parent, rules)
    if header.base_fee != base_fee:
        raise HeaderError("INVALID_BASEFEE_PER_GAS", f"base fee {header.base_fee}, expected {base_fee}")
    if rules.cancun:
        excess = excess_blob_gas_after(parent, rules.fork)
        if header.excess_blob_gas != excess:
            raise HeaderError("INCORRECT_EXCESS_BLOB_GAS",
                              f"excess blob gas {header.excess_blob_gas}, expected {excess}")
        if header.blob_gas_used > rules.fork.max_blob_gas_per_block:
            raise HeaderError("BLOB_GAS_USED_ABOVE_LIMIT", f"blob gas used {header.blob_gas_used} above the "
                              f"limit {rules.fork.max_blob_gas_per_block}")
        if header.blob_gas_used % GAS_PER_BLOB:
            raise HeaderError("INCORRECT_BLOB_GAS_USED", "blob gas used is not a multiple of the blob size")
    if rules.merged:
        if header.difficulty != 0:
            raise HeaderError("IMPORT_IMPOSSIBLE_DIFFICULTY_OVER_PARIS",
                              f"difficulty {header.difficulty} in a proof-of-stake block")
        if header.nonce != b"\x00" * 8:
            raise HeaderError("INVALID_BLOCK_NONCE", "nonce must be zero in a proof-of-stake block")
        if header.ommers_hash != EMPTY_OMMERS_HASH:
            raise HeaderError("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers in a proof-of-stake block")
    else:
        difficulty = expected_difficulty(parent, header.number, header.timestamp, rules)
        if header.difficulty != difficulty:
            raise HeaderError("INVALID_DIFFICULTY", f"difficulty {header.difficulty}, expected {difficulty}")


def _check_field_set(header: Header, rules: BlockRules) -> None:
    """The header carries exactly the fields of its fork."""
    expected = (("base_fee", rules.london), ("withdrawals_root", rules.shanghai),
                ("blob_gas_used", rules.cancun), ("excess_blob_gas", rules.cancun),
                ("parent_beacon_block_root", rules.cancun), ("requests_hash", rules.prague))
    for name, wanted in expected:
        if (getattr(header, name) is not None) != wanted:
            state = "missing" if wanted else "not allowed"
            raise HeaderError("INCORRECT_BLOCK_FORMAT", f"header field {name} {state} under {rules.fork_name}")


# -- ommers ------------------------------------------------------------------------------------------------------


def ommers_hash(ommers: Sequence[Header]) -> bytes:
    return keccak256(rlp.encode([o.to_rlp() for o in ommers]))


def validate_ommers(header: Header, ommers: Sequence[Header], ancestors: Sequence[Header],
                    ancestor_ommers: Callable[[bytes], Sequence[Header]],
                    rules_of: Callable[[Header], BlockRules]) -> None:
    """The uncle rules: at most two, each a valid header whose parent is one of the last
    ``MAX_OMMER_DEPTH`` ancestors, neither an ancestor nor already included.

    ``ancestors`` are the block's ancestors, parent first (at least
    ``MAX_OMMER_DEPTH + 1`` of them where the chain is that long);
    ``ancestor_ommers(hash)`` gives the ommers an ancestor included;
    ``rules_of(ommer)`` the rules an ommer is validated under.
    """
    if ommers_hash(ommers) != header.ommers_hash:
        raise HeaderError("INVALID_OMMERS_HASH", "ommers hash does not match the block's ommers")
    if not ommers:
        return
    if rules_of(header).merged:
        raise HeaderError("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers in a proof-of-stake block")
    if len(ommers) > MAX_OMMERS:
        raise HeaderError("TOO_MANY_UNCLES", f"{len(ommers)} ommers, at most {MAX_OMMERS} allowed")
    recent = list(ancestors[: MAX_OMMER_DEPTH + 1])
    recent_hashes = {a.hash: a for a in recent}
    included = set()
    for ancestor in recent:
        included.update(o.hash for o in ancestor_ommers(ancestor.hash))
    seen = set()
    for ommer in ommers:
        ommer_hash = ommer.hash
        if ommer_hash in seen:
            raise HeaderError("DUPLICATE_UNCLE", "the same ommer is included twice")
        seen.add(ommer_hash)
        if ommer_hash == header.hash or ommer_hash in recent_hashes:
            raise HeaderError("UNCLE_IS_ANCESTOR", "an ommer is an ancestor of the block")
        if ommer_hash in included:
            raise HeaderError("UNCLE_ALREADY_INCLUDED", "an ommer was already included by an ancestor")
        age = header.number - ommer.number
        if not 1 <= age <= MAX_OMMER_DEPTH:
            raise HeaderError("UNCLE_TOO_OLD" if age > MAX_OMMER_DEPTH else "UNCLE_IS_BROTHER",
                              f"ommer {ommer.number} is {age} generations from block {header.number}")
        ommer_parent = recent_hashes.get(ommer.parent_hash)
        if ommer_parent is None or ommer.parent_hash == header.parent_hash:
            raise HeaderError("UNCLE_PARENT_INCORRECT", "an ommer's parent is not a recent ancestor of the block")
        try:
            validate_header(ommer, ommer_parent, rules_of(ommer))
        except HeaderError as exc:
            raise HeaderError(f"UNCLE_{exc.rule}", f"invalid ommer: {exc}") from None


def ommer_rewards(header: Header, ommers: Sequence[Header], reward: int) -> list[tuple[bytes, int]]:
    """(address, amount) of the block reward: the miner's (with 1/32 per ommer), then each ommer miner's."""
    payouts = [(header.coinbase, reward + len(ommers) * (reward // 32))]
    for ommer in ommers:
        payouts.append((ommer.coinbase, (8 - (header.number - ommer.number)) * reward // 8))
    return payouts


__all__ = [
    "BlockRules", "HeaderError", "INITIAL_BASE_FEE", "base_fee_after",
    "block_rules", "excess_blob_gas_after", "expected_base_fee", "expected_difficulty", "gas_limit_in_bounds",
    "next_block_blob_base_fee", "ommer_rewards", "ommers_hash", "validate_header", "validate_ommers",
]
