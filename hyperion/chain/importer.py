"""Block import: validate and execute one block received from elsewhere.

``import_block(raw, parent, state, spec, ancestry)`` takes an RLP-encoded
block (or a decoded ``Block``), the header of its parent and a writable
state at that parent, and either returns an ``ImportedBlock`` (the new
state root, the receipts, the block's total difficulty) or raises
``InvalidBlock`` naming the first rule the block breaks. It checks, in order:

1. the encoding (RLP, field sizes) and, from Osaka, the EIP-7934 size limit;
2. the header against its parent (``consensus.validate_header``): parent
   hash, number, timestamp, extra data, gas limit bounds and gas used, the
   EIP-1559 base fee, EIP-4844 excess blob gas with the fork's blob
   parameters, the fields the fork requires, and difficulty (proof of work)
   or its absence (proof of stake);
3. the body: ommers (uncle rules before the merge, none after), the
   transactions root and the EIP-4895 withdrawals root;
4. execution: the DAO fork's balance move (on its block), the EIP-4788 and
   EIP-2935 system calls, the transactions
   (through the ``executor`` strategy, sequential by default), the
   withdrawals, block and ommer rewards before the merge, and the EIP-7685
   requests (EIP-6110 deposits, EIP-7002 and EIP-7251 system calls);
5. the results: gas used, blob gas used, receipts root, logs bloom, state
   root and requests hash.

The state is changed in place. After ``InvalidBlock`` it holds a partly
executed block: the caller discards it (a pending state is simply never
committed). Nothing here writes to a database: committing the state and
storing the block is the caller's business, so the dev chain, ``hyperion
import``, ``hyperion blocktest`` and a rollup follower share this path.

Which fork rules apply comes from the ``ChainSpec``'s fork schedule, by
block number, by timestamp, and for the merge by total difficulty: a block
whose parent reached the terminal total difficulty is a proof-of-stake
block. Proof-of-work seals are not verified (see ``consensus``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence, Union

from hyperion.chain import consensus, system
from hyperion.chain.blocks import Block, BlockDecodeError, Header, decode_block
from hyperion.chain.consensus import BlockRules, HeaderError
from hyperion.chain.dao import apply_dao_fork
from hyperion.chain.executor import SEQUENTIAL, ExecutionOptions, TransactionExecutor, TransactionRejected
from hyperion.chain.schedule import ForkSchedule, UnsupportedFork
from hyperion.chain.store import ReceiptRecord
from hyperion.primitives import rlp
from hyperion.primitives.bloom import combine_blooms
from hyperion.trie import ordered_trie_root
from hyperion.vm.environment import BlockEnv

BLOCKHASH_WINDOW = 256


class InvalidBlock(ValueError):
    """A block that breaks a consensus rule.

    ``rule`` names the rule in execution-spec-tests' vocabulary
    (``INVALID_STATE_ROOT``, ``INVALID_BASEFEE_PER_GAS``, ...); the message
    says what was expected and what the block carries.
    """

    def __init__(self, rule: str, message: str, number: Optional[int] = None,
                 block_hash: Optional[bytes] = None) -> None:
        where = ""
        if number is not None:
            where = f"block {number}"
            if block_hash is not None:
                where += f" (0x{block_hash.hex()})"
            where += ": "
        super().__init__(f"{where}{message} [{rule}]")
        self.rule = rule
        self.reason = message
        self.number = number
        self.block_hash = block_hash


@dataclass(frozen=True)
class ChainSpec:
    """Everything besides the blocks that decides whether a block is valid on a chain.

    ``deposit_contract``: the EIP-6110 deposit contract (mainnet's by
    default; None: no deposit requests). ``base_fee_recipient``: where the
    base fee goes (None burns it, as on Ethereum).
    """

    chain_id: int
    schedule: ForkSchedule
    deposit_contract: Optional[bytes] = system.MAINNET_DEPOSIT_CONTRACT
    base_fee_recipient: Optional[bytes] = None


class Ancestry(Protocol):
    """Read access to the blocks before the one being imported (any branch, looked up by hash)."""

    def header(self, block_hash: bytes) -> Optional[Header]:
        """A known block's header (BLOCKHASH, ommer ancestry), or None."""

    def ommers(self, block_hash: bytes) -> Sequence[Header]:
        """The ommers a known block included (only asked before the merge)."""

    def total_difficulty(self, block_hash: bytes) -> Optional[int]:
        """A known block's total difficulty (None when unknown: a chain merged from genesis needs none)."""


@dataclass
class ImportedBlock:
    """A block that passed every rule, with what executing it produced."""

    block: Block
    receipts: list[ReceiptRecord]
    state_root: bytes
    total_difficulty: int
    rules: BlockRules
    requests: list[bytes] = field(default_factory=list)

    @property
    def hash(self) -> bytes:
        return self.block.hash


def is_proof_of_stake(parent: Header, parent_total_difficulty: Optional[int], schedule: ForkSchedule) -> bool:
    """Whether a child of ``parent`` is a proof-of-stake block (EIP-3675).

    The merge comes at the terminal total difficulty, or at a scheduled
    Paris block. Without the parent's total difficulty a chain whose merge
    is still ahead cannot decide: a parent with zero difficulty after the
    genesis then counts as proof of stake.
    """
    ttd = schedule.terminal_total_difficulty
    if ttd == 0 or schedule.is_active("Paris", parent.number + 1, parent.timestamp):
        return True
    if ttd is None:
        return False
    if parent_total_difficulty is None:
        return parent.difficulty == 0 and parent.number > 0
    return parent_total_difficulty >= ttd


def ancestor_hashes(parent: Header, ancestry: Ancestry) -> Callable[[int], Optional[bytes]]:
    """BLOCKHASH for a child of ``parent``: the hashes of its 256 ancestors, found by walking parent hashes."""
    current = parent.number + 1
    known: dict[int, bytes] = {parent.number: parent.hash}
    cursor = [parent]

    def block_hash(number: int) -> Optional[bytes]:
        if not current - BLOCKHASH_WINDOW <= number < current:
            return None
        while number not in known:
            header = cursor[0]
            if header.number == 0:
                return None
            older = ancestry.header(header.parent_hash)
            if older is None:
                return None
            known[older.number] = older.hash
            cursor[0] = older
        return known[number]

    return block_hash


def recent_ancestors(parent: Header, ancestry: Ancestry, count: int) -> list[Header]:
    """``parent`` and up to ``count - 1`` of its ancestors, newest first."""
    chain = [parent]
    while len(chain) < count and chain[-1].number > 0:
        older = ancestry.header(chain[-1].parent_hash)
        if older is None:
            break
        chain.append(older)
    return chain


def decode_raw_block(raw: bytes) -> Block:
    """Decode an RLP block; InvalidBlock (``RLP_STRUCTURES_ENCODING``) when it is not one."""
    try:
        return decode_block(raw)
    except BlockDecodeError as exc:
        raise InvalidBlock("RLP_STRUCTURES_ENCODING", str(exc)) from None


def import_block(raw: Union[bytes, Block], parent: Header, state, spec: ChainSpec, ancestry: Ancestry, *,
                 executor: Optional[TransactionExecutor] = None) -> ImportedBlock:
    """Validate and execute one block on ``state`` (the state at ``parent``); see the module docstring.

    Raises ``InvalidBlock``. The state is changed in place, and must be
    discarded when the block is invalid.
    """
    block = decode_raw_block(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
    header = block.header
    try:
        return _import(block, parent, state, spec, ancestry, executor or SEQUENTIAL)
    except InvalidBlock as exc:
        if exc.number is None:
            raise InvalidBlock(exc.rule, exc.reason, header.number, block.hash) from None
        raise
    except HeaderError as exc:
        raise InvalidBlock(exc.rule, str(exc), header.number, block.hash) from None
    except system.SystemCallError as exc:
        raise InvalidBlock(exc.rule, str(exc), header.number, block.hash) from None
    except TransactionRejected as exc:
        raise InvalidBlock("INVALID_TRANSACTION", str(exc), header.number, block.hash) from None
    except UnsupportedFork as exc:
        raise InvalidBlock("UNSUPPORTED_FORK", str(exc), header.number, block.hash) from None


def _import(block: Block, parent: Header, state, spec: ChainSpec, ancestry: Ancestry,
            executor: TransactionExecutor) -> ImportedBlock:
    header = block.header
    schedule = spec.schedule
    parent_td = ancestry.total_difficulty(parent.hash)
    merged = is_proof_of_stake(parent, parent_td, schedule)
    rules = consensus.block_rules(schedule, header.number, header.timestamp, merged)

    size_limit = rules.fork.max_block_rlp_size
    if size_limit and block.size > size_limit:
        raise InvalidBlock("RLP_BLOCK_LIMIT_EXCEEDED", f"block is {block.size} bytes of RLP, the limit is {size_limit}")
    consensus.validate_header(header, parent, rules)
    _check_body(block, parent, rules, schedule, ancestry)

    env = BlockEnv(
        fork=rules.fork, chain_id=spec.chain_id, coinbase=header.coinbase, number=header.number,
        timestamp=header.timestamp, gas_limit=header.gas_limit, base_fee=header.base_fee or 0,
        prev_randao=header.prev_randao, difficulty=header.difficulty,
        excess_blob_gas=header.excess_blob_gas or 0,
        parent_beacon_block_root=header.parent_beacon_block_root,
        block_hash=ancestor_hashes(parent, ancestry),
    )
    if rules.dao_fork_block:
        apply_dao_fork(state)
    system.pre_block_calls(state, env, parent.hash, header.parent_beacon_block_root)
    options = ExecutionOptions(intermediate_roots=not rules.byzantium, base_fee_recipient=spec.base_fee_recipient)
    execution = executor.execute(state, env, block.transactions, options)
    if execution.gas_used != header.gas_used:
        raise InvalidBlock("INVALID_GAS_USED", f"gas used {execution.gas_used}, header says {header.gas_used}")
    if rules.cancun and execution.blob_gas_used != header.blob_gas_used:
        raise InvalidBlock("INCORRECT_BLOB_GAS_USED",
                           f"blob gas used {execution.blob_gas_used}, header says {header.blob_gas_used}")
    if block.withdrawals:
        system.apply_withdrawals(state, block.withdrawals)
    if not rules.merged:
        _pay_rewards(state, header, block.ommers, rules)
    requests: list[bytes] = []
    if rules.prague:
        requests = system.collect_requests(state, env, execution.logs, spec.deposit_contract)

    receipts_root = ordered_trie_root([r.consensus_receipt().encode() for r in execution.receipts])
    if receipts_root != header.receipts_root:
        raise InvalidBlock("INVALID_RECEIPTS_ROOT",
                           f"receipts root 0x{receipts_root.hex()}, header says 0x{header.receipts_root.hex()}")
    bloom = combine_blooms(r.bloom for r in execution.receipts)
    if bloom != header.logs_bloom:
        raise InvalidBlock("INVALID_LOG_BLOOM", "logs bloom does not match the receipts' logs")
    if rules.prague:
        expected = system.requests_hash(requests)
        if expected != header.requests_hash:
            raise InvalidBlock("INVALID_REQUESTS",
                               f"requests hash 0x{expected.hex()}, header says 0x{header.requests_hash.hex()}")
    state_root = state.state_root()
    if state_root != header.state_root:
        raise InvalidBlock("INVALID_STATE_ROOT",
                           f"state root 0x{state_root.hex()}, header says 0x{header.state_root.hex()}")
    total_difficulty = (parent_td or 0) + header.difficulty
    return ImportedBlock(block, execution.receipts, state_root, total_difficulty, rules, requests)


def _check_body(block: Block, parent: Header, rules: BlockRules, schedule: ForkSchedule,
                ancestry: Ancestry) -> None:
    """Ommers, transactions root and withdrawals root: everything checkable before execution."""
    header = block.header
    if block.ommers and rules.merged:
        raise InvalidBlock("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers in a proof-of-stake block")
    if not rules.merged or block.ommers:
        ancestors = recent_ancestors(parent, ancestry, consensus.MAX_OMMER_DEPTH + 1)
        consensus.validate_ommers(
            header, block.ommers, ancestors, ancestry.ommers,
            lambda h: consensus.block_rules(schedule, h.number, h.timestamp, False))
    transactions_root = ordered_trie_root([tx.encode() for tx in block.transactions])
    if transactions_root != header.transactions_root:
        raise InvalidBlock("INVALID_TRANSACTIONS_ROOT",
                           f"transactions root 0x{transactions_root.hex()}, "
                           f"header says 0x{header.transactions_root.hex()}")
    if (block.withdrawals is not None) != rules.shanghai:
        raise InvalidBlock("INCORRECT_BLOCK_FORMAT",
                           f"withdrawals list {'missing' if rules.shanghai else 'not allowed'} under {rules.fork_name}")
    if rules.shanghai:
        withdrawals_root = ordered_trie_root([rlp.encode(w.to_rlp()) for w in block.withdrawals])
        if withdrawals_root != header.withdrawals_root:
            raise InvalidBlock("INVALID_WITHDRAWALS_ROOT",
                               f"withdrawals root 0x{withdrawals_root.hex()}, "
                               f"header says 0x{header.withdrawals_root.hex()}")


def _pay_rewards(state, header: Header, ommers: Sequence[Header], rules: BlockRules) -> None:
    for address, amount in consensus.ommer_rewards(header, ommers, rules.block_reward):
        state.set_balance(address, state.get_balance(address) + amount)


__all__ = ["Ancestry", "ChainSpec", "ImportedBlock", "InvalidBlock", "ancestor_hashes", "decode_raw_block",
           "import_block", "is_proof_of_stake", "recent_ancestors"]
