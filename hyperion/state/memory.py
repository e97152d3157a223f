"""In-memory world state with a flat undo journal (the ``WorldState`` protocol).

Design for speed:
- accounts live in one dict ``address -> Account``; storage is a plain
  ``dict[int, int]`` per account holding non-zero values only;
- every mutation appends one small tuple (an opcode and what is needed to
  undo it) to a flat list. ``snapshot()`` is the list length, ``revert(id)``
  pops and undoes entries down to it, ``commit(id)`` does nothing at all
  (the entries simply stay, to be undone by an enclosing revert);
- original storage values (EIP-2200) are recorded on the first write of a
  slot in a transaction and never journaled: a slot's value at the start of
  the transaction is a fact that no revert can change.

State roots are incremental. Every write (and every undo) records the
account, and for storage the slot, as dirty. The first ``state_root()`` of
a state uses the one-pass builder; later ones keep the account trie and the
storage tries as ``HexaryTrie`` nodes in a content-addressed node dict and
re-hash only the dirty paths, so a block costs O(changes), not O(state).

Copy-on-write (used by ``MemoryStateDatabase``): ``share_from`` makes a
state that shares the account records of another; ``_owned`` then names the
records this state may mutate, and any other record is cloned on its first
write. A plain ``MemoryState`` owns all of its records (``_owned is None``).
"""

from __future__ import annotations

import threading
from typing import Iterable, Iterator

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import (
    Account,
    InvalidAccountData,
    check_uint,
    encode_account,
    storage_trie_key,
    storage_trie_value,
)
from hyperion.trie.codec import EMPTY_TRIE_ROOT
from hyperion.trie.hexary import HexaryTrie
from hyperion.trie.root import hashed_key_trie_root

# Journal opcodes: each entry is (opcode, *undo_data).
_STORAGE = 0  # (op, account, key, old_value, address)
_BALANCE = 1  # (op, account, old_balance, address)
_WARM_SLOT = 2  # (op, (address, key))
_WARM_ADDRESS = 3  # (op, address)
_TRANSIENT = 4  # (op, (address, key), old_value)
_NONCE = 5  # (op, account, old_nonce, address)
_TOUCH = 6  # (op, address)
_ACCOUNT_CREATED = 7  # (op, address)
_CODE = 8  # (op, account, old_code, old_code_hash, address)
_ACCOUNT_DESTROYED = 9  # (op, address, account)
_MARK_CREATED = 10  # (op, address)


# Live tries may be shared by states used from different threads; root updates take turns.
_LIVE_TRIE_LOCK = threading.Lock()


class InvalidSnapshot(ValueError):
    """A snapshot id that does not belong to the current journal."""


def clone_account(account: Account) -> Account:
    """An independent, writable copy of ``account`` (its storage may be any slot mapping)."""
    storage = account.storage
    if type(storage) is dict:
        return account.copy()
    duplicate = Account(account.nonce, account.balance, account.code, account.code_hash, dict(storage.items()))
    duplicate.storage_root = account.storage_root
    duplicate.address_hash = account.address_hash
    return duplicate


class MemoryState:
    """Dict-backed ``WorldState`` implementation with journaled snapshots."""

    __slots__ = (
        "_accounts",
        "_journal",
        "_original_storage",
        "_transient",
        "_warm_addresses",
        "_warm_slots",
        "_created",
        "_touched",
        "_owned",
        "_trie_nodes",
        "_clean_root",
        "_account_root",
        "_storage_bases",
        "_dirty_accounts",
        "_dirty_slots",
        "_live_tries",
        "_slot_preimages",
    )

    def __init__(self) -> None:
        self._accounts: dict[bytes, Account] = {}
        self._journal: list[tuple] = []
        self._original_storage: dict[tuple[bytes, int], int] = {}
        self._transient: dict[tuple[bytes, int], int] = {}
        self._warm_addresses: set[bytes] = set()
        self._warm_slots: set[tuple[bytes, int]] = set()
        self._created: set[bytes] = set()
        self._touched: set[bytes] = set()
        # copy-on-write: None = every record is ours; else address -> the record we own
        self._owned: dict[bytes, Account] | None = None
        # incremental roots (see the module docstring)
        self._trie_nodes: dict[bytes, bytes] = {}
        self._clean_root: bytes | None = None  # the state root while nothing is dirty
        self._account_root: bytes | None = None  # account-trie root whose nodes are in _trie_nodes
        self._storage_bases: dict[bytes, bytes] = {}  # address -> stored storage root it was built from
        self._dirty_accounts: set[bytes] = set()
        self._dirty_slots: dict[bytes, set[int]] = {}
        # decoded tries kept between root computations (key b"" = account trie, else address);
        # possibly shared with other states, so each is checked against the expected root first
        self._live_tries: dict[bytes, HexaryTrie] = {}
        # keccak(slot) -> slot for every slot hashed into a stored storage trie (shared like the nodes)
        self._slot_preimages: dict[bytes, int] = {}

    # -- helpers --------------------------------------------------------------
    def _writable(self, address: bytes) -> Account:
        """The account at ``address`` for writing: created (journaled) if absent, cloned if shared."""
        account = self._accounts.get(address)
        if account is None:
            account = self._accounts[address] = Account()
            self._journal.append((_ACCOUNT_CREATED, address))
            if self._owned is not None:
                self._owned[address] = account
        elif self._owned is not None and self._owned.get(address) is not account:
            account = self._accounts[address] = self._owned[address] = clone_account(account)
        self._dirty_accounts.add(address)
        return account

    def _mark_storage_dirty(self, address: bytes, account: Account) -> None:
        """Every slot of ``account`` may differ from the stored storage root of ``address``."""
        self._dirty_accounts.add(address)
        if account.storage:
            self._dirty_slots.setdefault(address, set()).update(account.storage)

    # -- accounts -------------------------------------------------------------
    def account_exists(self, address: bytes) -> bool:
        """True if the account is present in the state (even if empty)."""
        return address in self._accounts

    def is_empty(self, address: bytes) -> bool:
        """EIP-161 emptiness: nonce 0, balance 0, no code (absent counts as empty)."""
        account = self._accounts.get(address)
        return account is None or (not account.nonce and not account.balance and not account.code)

    def is_alive(self, address: bytes) -> bool:
        """Exists and is not empty."""
        account = self._accounts.get(address)
        return account is not None and bool(account.nonce or account.balance or account.code)

    def get_balance(self, address: bytes) -> int:
        account = self._accounts.get(address)
        return 0 if account is None else account.balance

    def set_balance(self, address: bytes, value: int) -> None:
        """Creates the account if absent."""
        account = self._accounts.get(address)
        if account is None or self._owned is not None:
            account = self._writable(address)
        else:  # ``_writable``'s path for an account this state owns: every transaction writes balances
            self._dirty_accounts.add(address)
        self._journal.append((_BALANCE, account, account.balance, address))
        account.balance = value

    def add_balance(self, address: bytes, amount: int) -> None:
        """Credit ``amount`` (creates the account if absent). A credit is a write that
        needs no read, which the parallel executor applies lazily (see execution/parallel)."""
        account = self._accounts.get(address)
        if account is None or self._owned is not None:
            self.set_balance(address, self.get_balance(address) + amount)
        else:  # ``set_balance``'s path for an account this state owns (every transaction pays its fee)
            self._dirty_accounts.add(address)
            self._journal.append((_BALANCE, account, account.balance, address))
            account.balance += amount

    def get_nonce(self, address: bytes) -> int:
        account = self._accounts.get(address)
        return 0 if account is None else account.nonce

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """Creates the account if absent."""
        account = self._writable(address)
        self._journal.append((_NONCE, account, account.nonce, address))
        account.nonce = nonce

    def get_code(self, address: bytes) -> bytes:
        account = self._accounts.get(address)
        return b"" if account is None else account.code

    def get_code_hash(self, address: bytes) -> bytes:
        """keccak(code); keccak(b'') for an account without code or an absent one."""
        account = self._accounts.get(address)
        return EMPTY_KECCAK if account is None else account.code_hash

    def set_code(self, address: bytes, code: bytes) -> None:
        """Creates the account if absent."""
        account = self._writable(address)
        self._journal.append((_CODE, account, account.code, account.code_hash, address))
        account.code = code
        account.code_hash = keccak256(code) if code else EMPTY_KECCAK

    def has_storage(self, address: bytes) -> bool:
        """True if any storage slot of the account is non-zero (EIP-7610)."""
        account = self._accounts.get(address)
        return account is not None and bool(account.storage)

    def destroy_account(self, address: bytes) -> None:
        """Remove the account with its balance, code and all storage (undoable)."""
        account = self._accounts.pop(address, None)
        if account is None:
            return
        # Slots not written yet in this transaction still had these values at its start.
        original = self._original_storage
        for key, value in account.storage.items():
            original.setdefault((address, key), value)
        self._mark_storage_dirty(address, account)
        self._journal.append((_ACCOUNT_DESTROYED, address, account))

    def mark_created(self, address: bytes) -> None:
        """Record that the account was created in the current transaction (EIP-6780)."""
        if address not in self._created:
            self._created.add(address)
            self._journal.append((_MARK_CREATED, address))

    def was_created(self, address: bytes) -> bool:
        return address in self._created

    def touch(self, address: bytes) -> None:
        """EIP-161 touch: an empty touched account is deleted at transaction end."""
        if address not in self._touched:
            self._touched.add(address)
            self._journal.append((_TOUCH, address))

    # -- storage ----------------------------------------------------------------
    def get_storage(self, address: bytes, key: int) -> int:
        account = self._accounts.get(address)
        return 0 if account is None else account.storage.get(key, 0)

    def get_original_storage(self, address: bytes, key: int) -> int:
        """Value of the slot at the start of the current transaction (EIP-2200).

        Storage of an account created in this transaction started empty.
        """
        if address in self._created:
            return 0
        original = self._original_storage.get((address, key))
        if original is not None:
            return original
        account = self._accounts.get(address)
        return 0 if account is None else account.storage.get(key, 0)

    def set_storage(self, address: bytes, key: int, value: int) -> None:
        """Creates the account if absent; a zero value deletes the slot."""
        account = self._accounts.get(address)
        if account is None:
            if not value:
                return
            old = 0
            account = self._writable(address)
        else:
            old = account.storage.get(key, 0)
            if old == value:
                return
            if self._owned is None:  # ``_writable``'s path for an account this state owns (as set_balance)
                self._dirty_accounts.add(address)
            else:
                account = self._writable(address)
        self._original_storage.setdefault((address, key), old)
        self._journal.append((_STORAGE, account, key, old, address))
        storage = account.storage
        if value:
            storage[key] = value
        else:
            del storage[key]
        account.storage_root = None
        dirty = self._dirty_slots.get(address)
        if dirty is None:
            self._dirty_slots[address] = {key}
        else:
            dirty.add(key)

    def get_transient(self, address: bytes, key: int) -> int:
        return self._transient.get((address, key), 0)

    def set_transient(self, address: bytes, key: int, value: int) -> None:
        slot = (address, key)
        transient = self._transient
        old = transient.get(slot, 0)
        if old == value:
            return
        self._journal.append((_TRANSIENT, slot, old))
        if value:
            transient[slot] = value
        else:
            del transient[slot]

    # -- EIP-2929 access sets -----------------------------------------------------
    def warm_address(self, address: bytes) -> bool:
        """Mark the address warm; return True if it was cold before."""
        if address in self._warm_addresses:
            return False
        self._warm_addresses.add(address)
        self._journal.append((_WARM_ADDRESS, address))
        return True

    def warm_at_start(self, addresses: Iterable[bytes], *more: bytes) -> None:
        """Make the addresses a transaction starts with warm (EIP-2929: its precompiles,
        sender and recipient; EIP-3651: the coinbase), without journal entries: called
        between ``begin_transaction`` and the transaction's first frame, these are never
        undone (no revert reaches back before that frame's checkpoint)."""
        warm = self._warm_addresses
        warm.update(addresses)
        warm.update(more)

    def is_warm_address(self, address: bytes) -> bool:
        return address in self._warm_addresses

    def warm_slot(self, address: bytes, key: int) -> bool:
        """Mark (address, key) warm; return True if it was cold before."""
        slot = (address, key)
        if slot in self._warm_slots:
            return False
        self._warm_slots.add(slot)
        self._journal.append((_WARM_SLOT, slot))
        return True

    def is_warm_slot(self, address: bytes, key: int) -> bool:
        """Whether (address, key) is in the accessed-storage-keys set."""
        return (address, key) in self._warm_slots

    # -- journal -------------------------------------------------------------------
    def snapshot(self) -> int:
        """Open a checkpoint; the id is the current journal length."""
        return len(self._journal)

    def revert(self, snapshot_id: int) -> None:
        """Undo every change made since the checkpoint."""
        journal = self._journal
        if type(snapshot_id) is not int or not 0 <= snapshot_id <= len(journal):
            raise InvalidSnapshot(
                f"snapshot {snapshot_id!r} is not open (journal has {len(journal)} entries)"
            )
        accounts = self._accounts
        dirty_accounts = self._dirty_accounts
        while len(journal) > snapshot_id:
            entry = journal.pop()
            op = entry[0]
            if op == _STORAGE:
                account, key, old = entry[1], entry[2], entry[3]
                if old:
                    account.storage[key] = old
                else:
                    account.storage.pop(key, None)
                account.storage_root = None
                dirty_accounts.add(entry[4])
                self._dirty_slots.setdefault(entry[4], set()).add(key)
            elif op == _BALANCE:
                entry[1].balance = entry[2]
                dirty_accounts.add(entry[3])
            elif op == _WARM_SLOT:
                self._warm_slots.discard(entry[1])
            elif op == _WARM_ADDRESS:
                self._warm_addresses.discard(entry[1])
            elif op == _TRANSIENT:
                if entry[2]:
                    self._transient[entry[1]] = entry[2]
                else:
                    self._transient.pop(entry[1], None)
            elif op == _NONCE:
                entry[1].nonce = entry[2]
                dirty_accounts.add(entry[3])
            elif op == _TOUCH:
                self._touched.discard(entry[1])
            elif op == _ACCOUNT_CREATED:
                del accounts[entry[1]]
                dirty_accounts.add(entry[1])
            elif op == _CODE:
                entry[1].code = entry[2]
                entry[1].code_hash = entry[3]
                dirty_accounts.add(entry[4])
            elif op == _ACCOUNT_DESTROYED:
                accounts[entry[1]] = entry[2]
                self._mark_storage_dirty(entry[1], entry[2])
            else:  # _MARK_CREATED
                self._created.discard(entry[1])

    def commit(self, snapshot_id: int) -> None:
        """Keep the changes since the checkpoint; they stay undoable by an enclosing revert."""
        if snapshot_id > len(self._journal):
            raise InvalidSnapshot(f"snapshot {snapshot_id!r} is not open")

    # -- transaction lifecycle -------------------------------------------------------
    def begin_transaction(self) -> None:
        """Reset transaction-scoped data and the journal. ``end_transaction`` resets them too,
        so each container is emptied (in place: nothing else holds them) only if something is in it."""
        if self._journal:
            self._journal = []
        if self._original_storage:
            self._original_storage.clear()
        if self._transient:
            self._transient.clear()
        if self._warm_addresses:
            self._warm_addresses.clear()
        if self._warm_slots:
            self._warm_slots.clear()
        if self._created:
            self._created.clear()
        if self._touched:
            self._touched.clear()

    def end_transaction(self) -> None:
        """Delete touched empty accounts (EIP-161), then clear transaction-scoped data."""
        accounts = self._accounts
        for address in self._touched:
            account = accounts.get(address)
            if account is not None and account.is_empty():
                del accounts[address]
                self._mark_storage_dirty(address, account)
        self._journal = []  # always a new list: the parallel executor may keep the last one
        self.begin_transaction()

    # -- tools: loading, inspecting, hashing -------------------------------------------
    def set_account(
        self,
        address: bytes,
        *,
        nonce: int = 0,
        balance: int = 0,
        code: bytes = b"",
        storage: dict[int, int] | None = None,
    ) -> None:
        """Load or replace an account of the pre-state (not journaled; zero slots dropped)."""
        if not isinstance(address, bytes) or len(address) != 20:
            raise InvalidAccountData(f"address must be 20 bytes, got {address!r}")
        if not isinstance(code, (bytes, bytearray)):
            raise InvalidAccountData("code must be bytes")
        check_uint(nonce, 64, "nonce")
        check_uint(balance, 256, "balance")
        slots: dict[int, int] = {}
        for key, value in (storage or {}).items():
            check_uint(key, 256, "storage key")
            if check_uint(value, 256, "storage value"):
                slots[key] = value
        code = bytes(code)
        account = self._accounts[address] = Account(
            nonce, balance, code, keccak256(code) if code else EMPTY_KECCAK, slots
        )
        if self._owned is not None:
            self._owned[address] = account
        # the new storage is unrelated to any stored root: rebuild it in full next time
        self._dirty_accounts.add(address)
        self._storage_bases.pop(address, None)
        self._dirty_slots.pop(address, None)

    def accounts(self) -> Iterator[tuple[bytes, Account]]:
        """``(address, account)`` for every account; treat the records as read-only."""
        return iter(list(self._accounts.items()))

    def get_storage_items(self, address: bytes) -> dict[int, int]:
        """A copy of the account's non-zero storage slots."""
        account = self._accounts.get(address)
        return {} if account is None else dict(account.storage.items())

    def share_from(self, source: "MemoryState") -> None:
        """Take ``source``'s accounts and root caches, sharing its account records copy-on-write.

        Both states may then be used independently as long as ``source`` never
        mutates a record it shares (see :meth:`release_ownership`). The journal and
        transaction-scoped sets of ``self`` are left as they are.
        """
        self._accounts = dict(source._accounts)
        self._owned = {}
        self._trie_nodes = source._trie_nodes
        self._clean_root = source._clean_root
        self._account_root = source._account_root
        self._storage_bases = dict(source._storage_bases)
        self._dirty_accounts = set(source._dirty_accounts)
        self._dirty_slots = {address: set(slots) for address, slots in source._dirty_slots.items()}
        self._live_tries = dict(source._live_tries)
        self._slot_preimages = source._slot_preimages

    def release_ownership(self) -> None:
        """Treat every account record as shared: later writes clone it first.

        Called once another state shares these records (a committed block).
        The journal is dropped too, since undoing it would mutate shared records.
        """
        self._owned = {}
        self._journal = []

    def copy(self) -> "MemoryState":
        """Independent copy of the accounts and transaction-scoped sets, with an empty journal."""
        duplicate = MemoryState()
        duplicate._accounts = {address: clone_account(acct) for address, acct in self._accounts.items()}
        duplicate._trie_nodes = self._trie_nodes
        duplicate._slot_preimages = self._slot_preimages
        duplicate._clean_root = self._clean_root
        duplicate._account_root = self._account_root
        duplicate._storage_bases = dict(self._storage_bases)
        duplicate._dirty_accounts = set(self._dirty_accounts)
        duplicate._dirty_slots = {address: set(slots) for address, slots in self._dirty_slots.items()}
        duplicate._live_tries = dict(self._live_tries)
        duplicate._original_storage = dict(self._original_storage)
        duplicate._transient = dict(self._transient)
        duplicate._warm_addresses = set(self._warm_addresses)
        duplicate._warm_slots = set(self._warm_slots)
        duplicate._created = set(self._created)
        duplicate._touched = set(self._touched)
        return duplicate

    def _account_leaf(self, address: bytes, account: Account) -> tuple[bytes, bytes]:
        address_hash = account.address_hash
        if address_hash is None:
            address_hash = account.address_hash = keccak256(address)
        leaf = encode_account(
            account.nonce, account.balance, account.get_storage_root(), account.code_hash
        )
        return address_hash, leaf

    def state_root(self) -> bytes:
        """Secure-trie root over rlp([nonce, balance, storage_root, code_hash]) leaves.

        Unchanged since the last call: the cached root. First call: one pass over
        everything (nothing kept). Second call: the tries are built into the node
        dict. Later calls: only dirty accounts and slots are re-hashed.
        """
        dirty = self._dirty_accounts
        if self._clean_root is not None and not dirty:
            return self._clean_root
        if self._clean_root is None and self._account_root is None:
            leaf = self._account_leaf
            root = hashed_key_trie_root([leaf(a, acct) for a, acct in self._accounts.items()])
        else:
            with _LIVE_TRIE_LOCK:
                root = self._incremental_state_root()
        dirty.clear()
        self._dirty_slots.clear()
        self._clean_root = root
        return root

    def _incremental_state_root(self) -> bytes:
        accounts = self._accounts
        nodes = self._trie_nodes
        if self._account_root is None:
            trie = self._live_tries[b""] = HexaryTrie(nodes)
            self._storage_bases = {}
            addresses = list(accounts)
        else:
            trie = self._trie_at(b"", self._account_root)
            addresses = self._dirty_accounts
        for address in addresses:
            account = accounts.get(address)
            if account is None:
                trie.delete(keccak256(address))
                self._storage_bases[address] = EMPTY_TRIE_ROOT
                self._live_tries.pop(address, None)
                continue
            address_hash = account.address_hash
            if address_hash is None:
                address_hash = account.address_hash = keccak256(address)
            storage_root_hash = self._updated_storage_root(address, account)
            trie.set(
                address_hash,
                encode_account(account.nonce, account.balance, storage_root_hash, account.code_hash),
            )
        root = self._account_root = trie.root_hash()
        return root

    def _trie_at(self, key: bytes, root: bytes) -> HexaryTrie:
        """A trie positioned at ``root``: the live one if it is still there, else one loading from nodes."""
        trie = self._live_tries.get(key)
        if trie is None or trie.root_hash() != root:
            trie = self._live_tries[key] = HexaryTrie(self._trie_nodes, root)
        return trie

    def _updated_storage_root(self, address: bytes, account: Account) -> bytes:
        """Storage root of ``account``, updating its stored trie by the dirty slots only."""
        base = self._storage_bases.get(address)
        storage = account.storage
        if base is None:
            if not storage:
                root = EMPTY_TRIE_ROOT
            else:
                trie = self._live_tries[address] = HexaryTrie(self._trie_nodes)
                preimages = self._slot_preimages
                for key, value in storage.items():
                    hashed = keccak256(key.to_bytes(32, "big"))
                    preimages[hashed] = key
                    trie.set(hashed, storage_trie_value(value))
                root = trie.root_hash()
        else:
            slots = self._dirty_slots.get(address)
            if not slots:
                root = base
            else:
                trie = self._trie_at(address, base)
                preimages = self._slot_preimages
                for key in slots:
                    value = storage.get(key)
                    hashed = keccak256(key.to_bytes(32, "big"))
                    preimages[hashed] = key
                    trie.set(hashed, storage_trie_value(value) if value else b"")
                root = trie.root_hash()
        self._storage_bases[address] = root
        account.storage_root = root
        return root

    def storage_root(self, address: bytes) -> bytes:
        """Storage trie root of one account (empty root for an absent account)."""
        account = self._accounts.get(address)
        return EMPTY_TRIE_ROOT if account is None else account.get_storage_root()

    def account_proof(self, address: bytes, slots: list[int] | tuple[int, ...] = ()) -> dict:
        """EIP-1186-shaped proof of an account and some of its slots (values as bytes/int).

        Keys: address, accountProof, balance, codeHash, nonce, storageHash,
        storageProof (a list of {key, value, proof}); proofs are lists of RLP nodes.
        """
        account_trie = HexaryTrie()
        for other_address, other in self._accounts.items():
            address_hash, leaf = self._account_leaf(other_address, other)
            account_trie.set(address_hash, leaf)
        account = self._accounts.get(address)
        account_hash = keccak256(address)
        account_proof_nodes = account_trie.get_proof(account_hash)
        storage_trie = HexaryTrie()
        if account is not None:
            for key, value in account.storage.items():
                storage_trie.set(keccak256(storage_trie_key(key)), storage_trie_value(value))
        storage_proofs = []
        for key in slots:
            check_uint(key, 256, "storage key")
            storage_proofs.append(
                {
                    "key": key,
                    "value": 0 if account is None else account.storage.get(key, 0),
                    "proof": storage_trie.get_proof(keccak256(storage_trie_key(key))),
                }
            )
        return {
            "address": address,
            "accountProof": account_proof_nodes,
            "balance": 0 if account is None else account.balance,
            "codeHash": EMPTY_KECCAK if account is None else account.code_hash,
            "nonce": 0 if account is None else account.nonce,
            "storageHash": storage_trie.root_hash(),
            "storageProof": storage_proofs,
        }
