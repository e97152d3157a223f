"""The transaction pool: validation, per-sender nonce ordering, replacement, limits.

Each sender's transactions are kept by nonce. Those forming an unbroken run
from the sender's state nonce are *pending* (executable); the rest wait as
*queued* until the gap is filled. A transaction with the nonce of one
already held replaces it only when both its fee cap and its tip are at
least 10% higher. Queued transactions older than ``queued_lifetime`` are
dropped.

Room: ``max_slots`` transactions in all, of which at most ``max_queued``
queued (geth: GlobalSlots + GlobalQueue = 4096 + 1024) and at most
``max_queued_per_account`` queued per sender (geth: AccountQueue 64), so
future-nonce transactions can never take the room executable ones need.
When the pool is full, an executable transaction always displaces a queued
one; otherwise the cheapest transaction (by fee cap) of another sender
makes room only for a better-paying one. A transaction turned away is told
why, in geth's words ("txpool is full", "transaction underpriced",
"account limit exceeded").

Rejections use geth's messages (the part before any colon is exactly
geth's error text) so tools that match on them keep working.

The pool lives in memory only: it is not persisted across node restarts.
"""

from __future__ import annotations

import hashlib
import heapq
import time
from itertools import takewhile
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from hyperion.chain.errors import TxPoolError
from hyperion.execution.intrinsic import InvalidTransactionError, intrinsic_gas, validate_transaction_static
from hyperion.primitives import rlp
from hyperion.primitives.secp256k1 import InvalidSignature
from hyperion.primitives.transactions import TransactionDecodeError, decode_transaction
from hyperion.vm.forks import Fork

MAX_TX_SIZE = 128 * 1024  # geth's txMaxSize (4 slots of 32 KiB)
PRICE_BUMP_PERCENT = 10


@dataclass
class PoolEntry:
    tx: object
    sender: bytes
    added_at: float
    sequence: int = 0  # arrival order: equal tips are mined first come, first served


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def tx_cost(tx) -> int:
    """The most the transaction can cost its sender: gas * fee cap + value (+ blob fee cap)."""
    cost = tx.gas * tx.max_fee_per_gas + tx.value
    if tx.type == 3:
        cost += tx.blob_gas * tx.max_fee_per_blob_gas
    return cost


class TxPool:
    """Validated transactions waiting to be mined (thread safety: the owning Chain's lock)."""

    def __init__(self, fork: Fork, chain_id: int, *, max_slots: int = 5120, max_queued_per_account: int = 64,
                 max_queued: int = 1024, queued_lifetime: float = 3 * 3600.0, min_priority_fee: int = 0,
                 clock: Callable[[], float] = time.time):
        self.fork = fork
        self.chain_id = chain_id
        self.max_slots = max_slots
        self.max_queued_per_account = max_queued_per_account
        self.max_queued = min(max_queued, max_slots)
        self.queued_lifetime = queued_lifetime
        self.min_priority_fee = min_priority_fee
        self._clock = clock
        self._by_sender: dict[bytes, dict[int, PoolEntry]] = {}
        self._by_hash: dict[bytes, PoolEntry] = {}
        self._state_nonce: dict[bytes, int] = {}
        self._arrivals = 0

    # -- queries ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes):
        entry = self._by_hash.get(tx_hash)
        return None if entry is None else entry.tx

    def _pending_run(self, sender: bytes) -> list[PoolEntry]:
        """The sender's executable transactions: consecutive nonces from the state nonce."""
        txs = self._by_sender.get(sender)
        if not txs:
            return []
        nonce = self._state_nonce.get(sender, 0)
        run = []
        while nonce in txs:
            run.append(txs[nonce])
            nonce += 1
        return run

    def pending_nonce(self, sender: bytes, state_nonce: int) -> int:
        """The nonce the sender's next transaction should use (state nonce + executable pool txs)."""
        txs = self._by_sender.get(sender)
        nonce = state_nonce
        if txs:
            while nonce in txs:
                nonce += 1
        return nonce

    def content(self) -> tuple[dict, dict]:
        """``(pending, queued)`` as sender -> {nonce: tx}."""
        pending: dict = {}
        queued: dict = {}
        for sender, txs in self._by_sender.items():
            run = {e.tx.nonce for e in self._pending_run(sender)}
            for nonce in sorted(txs):
                target = pending if nonce in run else queued
                target.setdefault(sender, {})[nonce] = txs[nonce].tx
        return pending, queued

    def status(self) -> dict:
        pending = sum(len(self._pending_run(s)) for s in self._by_sender)
        return {"pending": pending, "queued": len(self._by_hash) - pending}

    def _queued_count(self, sender: Optional[bytes] = None) -> int:
        """Queued transactions of ``sender``, or of everyone."""
        senders = [sender] if sender is not None else list(self._by_sender)
        return sum(len(self._by_sender.get(s, ())) - len(self._pending_run(s)) for s in senders)

    def pending_transactions(self) -> list:
        return [e.tx for s in self._by_sender for e in self._pending_run(s)]

    # -- admission ------------------------------------------------------------
    def validate_static(self, tx, gas_limit: int, base_fee: int) -> None:
        """Checks that need no state; raises TxPoolError with geth's wording."""
        if len(tx.encode()) > MAX_TX_SIZE:
            raise TxPoolError(f"oversized data: transaction size {len(tx.encode())}, limit {MAX_TX_SIZE}")
        if tx.chain_id is not None and tx.chain_id != self.chain_id:
            raise TxPoolError(f"invalid chain id: have {tx.chain_id}, want {self.chain_id}")
        if tx.gas > gas_limit:
            raise TxPoolError(f"exceeds block gas limit: tx gas {tx.gas}, block gas limit {gas_limit}")
        try:
            validate_transaction_static(tx, self.fork)
        except InvalidTransactionError as exc:
            message = str(exc)
            if message.startswith("intrinsic gas too low"):
                gas, floor = intrinsic_gas(tx, self.fork)
                message = f"intrinsic gas too low: gas {tx.gas}, minimum needed {max(gas, floor)}"
            raise TxPoolError(message) from None
        try:
            tx.sender
        except (InvalidSignature, ValueError) as exc:
            raise TxPoolError(f"invalid sender: {exc}") from None
        if tx.max_fee_per_gas < base_fee:
            raise TxPoolError(
                f"max fee per gas less than block base fee: address {_hex(tx.sender)}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {base_fee}")
        if tx.max_priority_fee_per_gas < self.min_priority_fee:
            raise TxPoolError(
                f"transaction underpriced: tip {tx.max_priority_fee_per_gas}, minimum needed {self.min_priority_fee}")

    def add(self, tx, *, state_nonce: int, balance: int, gas_limit: int, base_fee: int,
            prevalidated: bool = False) -> Optional[object]:
        """Validate and insert ``tx``; returns the transaction it replaced, if any."""
        tx_hash = tx.hash
        if tx_hash in self._by_hash:
            raise TxPoolError("already known")
        if not prevalidated:
            self.validate_static(tx, gas_limit, base_fee)
        sender = tx.sender
        if tx.nonce < state_nonce:
            raise TxPoolError(f"nonce too low: next nonce {state_nonce}, tx nonce {tx.nonce}")
        cost = tx_cost(tx)
        if balance < cost:
            raise TxPoolError(
                f"insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, "
                f"overshot {cost - balance}")
        self._state_nonce[sender] = state_nonce
        txs = self._by_sender.get(sender, {})
        old = txs.get(tx.nonce)
        if old is not None:
            self._check_replacement(old.tx, tx)
        else:
            will_queue = tx.nonce != self.pending_nonce(sender, state_nonce)
            if will_queue:
                if self._queued_count(sender) >= self.max_queued_per_account:
                    raise TxPoolError(
                        f"account limit exceeded: 0x{sender.hex()} already has {self.max_queued_per_account} "
                        f"queued (future-nonce) transactions, the most one sender may; send the missing nonces first")
                if self._queued_count() >= self.max_queued:
                    self._make_room(tx, sender, will_queue, queued_only=True)
            if len(self._by_hash) >= self.max_slots:
                self._make_room(tx, sender, will_queue)
        self._arrivals += 1
        entry = PoolEntry(tx, sender, self._clock(), self._arrivals)
        txs[tx.nonce] = entry
        self._by_sender[sender] = txs
        self._by_hash[tx_hash] = entry
        if old is not None:
            del self._by_hash[old.tx.hash]
            return old.tx
        return None

    @staticmethod
    def _check_replacement(old, new) -> None:
        bump = 100 + PRICE_BUMP_PERCENT
        if (new.max_fee_per_gas * 100 < old.max_fee_per_gas * bump
                or new.max_priority_fee_per_gas * 100 < old.max_priority_fee_per_gas * bump):
            raise TxPoolError(
                f"replacement transaction underpriced: new tx gas fee cap {new.max_fee_per_gas} <= "
                f"{old.max_fee_per_gas * bump // 100} queued + {PRICE_BUMP_PERCENT}% tx fee cap")
        if new.type == 3 and old.type == 3 and new.max_fee_per_blob_gas * 100 < old.max_fee_per_blob_gas * bump:
            raise TxPoolError("replacement transaction underpriced: blob fee cap bump too small")

    def _make_room(self, tx, sender: bytes, will_queue: bool, queued_only: bool = False) -> None:
        """Evict the cheapest transaction (queued ones first, then a sender's last pending) for ``tx``.

        Only a cheaper transaction is evicted, except that an executable
        ``tx`` always displaces a queued one. ``queued_only``: the queued
        budget is used up, so only a queued transaction may go.
        """
        pending_ids = {id(e) for s in self._by_sender for e in self._pending_run(s)}
        candidates = []
        for other_sender, txs in self._by_sender.items():
            if not txs or other_sender == sender:
                continue
            last = txs[max(txs)]  # evicting a sender's highest nonce never opens a gap
            pending = id(last) in pending_ids
            if queued_only and pending:
                continue
            candidates.append((pending, last.tx.max_fee_per_gas, last.tx.max_priority_fee_per_gas, id(last), last))
        what = f"{self.max_queued} queued (future-nonce) transactions" if queued_only else f"{self.max_slots} transactions"
        if not candidates:
            raise TxPoolError(f"txpool is full: it holds {what}, the most it keeps")
        candidates.sort(key=lambda c: c[:3])
        victim = candidates[0][4]
        victim_pending = candidates[0][0]
        if victim.tx.max_fee_per_gas >= tx.max_fee_per_gas and (victim_pending or will_queue):
            # geth's words: a full pool turns away what pays no more than its cheapest
            reason = "txpool is full" if queued_only else "transaction underpriced"
            raise TxPoolError(
                f"{reason}: the pool holds {what} and none pays less than fee cap "
                f"{tx.max_fee_per_gas} (the cheapest pays {victim.tx.max_fee_per_gas})")
        self._remove(victim)

    def _remove(self, entry: PoolEntry) -> None:
        self._by_hash.pop(entry.tx.hash, None)
        txs = self._by_sender.get(entry.sender)
        if txs is not None and txs.get(entry.tx.nonce) is entry:
            del txs[entry.tx.nonce]
            if not txs:
                del self._by_sender[entry.sender]
                self._state_nonce.pop(entry.sender, None)

    def remove(self, tx_hash: bytes) -> None:
        """Drop one transaction (e.g. found invalid while building a block); later nonces become queued."""
        entry = self._by_hash.get(tx_hash)
        if entry is not None:
            self._remove(entry)

    def clear(self) -> None:
        self._by_sender.clear()
        self._by_hash.clear()
        self._state_nonce.clear()

    # -- after a new head ---------------------------------------------------------
    def reset(self, nonce_of: Callable[[bytes], int], balance_of: Optional[Callable[[bytes], int]] = None) -> list:
        """Re-check every sender against the new head state; returns the dropped transactions.

        Drops transactions whose nonce is now used, those the sender can no
        longer pay for, and queued ones past their lifetime.
        """
        dropped = []
        now = self._clock()
        for sender in list(self._by_sender):
            nonce = nonce_of(sender)
            self._state_nonce[sender] = nonce
            txs = self._by_sender[sender]
            for tx_nonce in sorted(txs):
                entry = txs[tx_nonce]
                if tx_nonce < nonce:
                    dropped.append(entry.tx)
                    self._remove(entry)
            if sender not in self._by_sender:
                continue
            run = {id(e) for e in self._pending_run(sender)}
            balance = balance_of(sender) if balance_of is not None else None
            for tx_nonce in sorted(txs):
                entry = txs[tx_nonce]
                stale = id(entry) not in run and now - entry.added_at > self.queued_lifetime
                broke = balance is not None and tx_cost(entry.tx) > balance
                if stale or broke:
                    dropped.append(entry.tx)
                    self._remove(entry)
        return dropped

    def ordered_for_block(self, base_fee: int) -> Iterator:
        """Executable transactions by effective tip, highest first (ties: earliest arrival), each
        sender in nonce order.

        A generator: after each yielded transaction the caller sends True to
        stop that sender's chain (its tx could not be included) or False to go on.
        """
        heap = []
        runs = {}
        for sender in self._by_sender:
            # a tx below the base fee blocks its sender's later nonces too
            run = list(takewhile(lambda e: e.tx.max_fee_per_gas >= base_fee, self._pending_run(sender)))
            if run:
                runs[sender] = run
                head = run[0]
                heapq.heappush(heap, (-head.tx.effective_priority_fee(base_fee), head.sequence, sender, 0))
        while heap:
            _tip, _sequence, sender, index = heapq.heappop(heap)
            run = runs[sender]
            skip = yield run[index].tx
            if skip:
                continue
            if index + 1 < len(run):
                nxt = run[index + 1]
                heapq.heappush(heap, (-nxt.tx.effective_priority_fee(base_fee), nxt.sequence, sender, index + 1))


CELLS_PER_EXT_BLOB = 128  # EIP-7594: cell proofs per blob in a version-1 wrapper


def unwrap_blob_network_form(raw: bytes):
    """The canonical transaction inside an EIP-4844 network wrapper ``0x03 || rlp([tx, blobs, commitments, proofs])``
    or EIP-7594's ``0x03 || rlp([tx, 1, blobs, commitments, cell_proofs])``.

    Returns None when ``raw`` is not such a wrapper. The commitments must
    hash to the transaction's versioned hashes; KZG proofs are not verified
    (a dev node trusts its local clients).
    """
    if not raw or raw[0] != 3:
        return None
    try:
        items = rlp.decode(raw[1:])
    except rlp.RLPError:
        return None
    if type(items) is not list or len(items) not in (4, 5) or type(items[0]) is not list:
        return None
    try:
        tx = decode_transaction(b"\x03" + rlp.encode(items[0]))
    except TransactionDecodeError:
        return None
    proofs_per_blob = 1
    if len(items) == 5:  # EIP-7594 (Osaka): [tx, wrapper version 1, blobs, commitments, cell proofs]
        if items[1] != b"\x01":
            raise TxPoolError(f"invalid blob sidecar: unknown wrapper version {items[1]!r}")
        proofs_per_blob = CELLS_PER_EXT_BLOB
        items = [items[0]] + items[2:]
    blobs, commitments, proofs = items[1:]
    if not (type(blobs) is list and type(commitments) is list and type(proofs) is list):
        raise TxPoolError("rlp: blob sidecar fields must be lists")
    if not len(blobs) == len(commitments) == len(proofs) // proofs_per_blob == len(tx.blob_versioned_hashes) \
            or len(proofs) % proofs_per_blob:
        raise TxPoolError("invalid blob sidecar: blob, commitment, proof and hash counts differ")
    for commitment, versioned in zip(commitments, tx.blob_versioned_hashes):
        if type(commitment) is not bytes or b"\x01" + hashlib.sha256(commitment).digest()[1:] != versioned:
            raise TxPoolError("invalid blob sidecar: commitment does not match the versioned hash")
    return tx
