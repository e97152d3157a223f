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
"""

from __future__ import annotations

from typing import Iterator

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
_STORAGE = 0  # (op, account, key, old_value)
_BALANCE = 1  # (op, account, old_balance)
_WARM_SLOT = 2  # (op, (address, key))
_WARM_ADDRESS = 3  # (op, address)
_TRANSIENT = 4  # (op, (address, key), old_value)
_NONCE = 5  # (op, account, old_nonce)
_TOUCH = 6  # (op, address)
_ACCOUNT_CREATED = 7  # (op, address)
_CODE = 8  # (op, account, old_code, old_code_hash)
_ACCOUNT_DESTROYED = 9  # (op, address, account)
_MARK_CREATED = 10  # (op, address)


class InvalidSnapshot(ValueError):
    """A snapshot id that does not belong to the current journal."""


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

    # -- helpers --------------------------------------------------------------
    def _writable(self, address: bytes) -> Account:
        """The account at ``address``, created (journaled) if absent."""
        account = self._accounts.get(address)
        if account is None:
            account = self._accounts[address] = Account()
            self._journal.append((_ACCOUNT_CREATED, address))
        return account

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
        account = self._writable(address)
        self._journal.append((_BALANCE, account, account.balance))
        account.balance = value

    def get_nonce(self, address: bytes) -> int:
        account = self._accounts.get(address)
        return 0 if account is None else account.nonce

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """Creates the account if absent."""
        account = self._writable(address)
        self._journal.append((_NONCE, account, account.nonce))
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
        self._journal.append((_CODE, account, account.code, account.code_hash))
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
            account = self._writable(address)
        storage = account.storage
        old = storage.get(key, 0)
        if old == value:
            return
        slot = (address, key)
        if slot not in self._original_storage:
            self._original_storage[slot] = old
        self._journal.append((_STORAGE, account, key, old))
        if value:
            storage[key] = value
        else:
            del storage[key]
        account.storage_root = None

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
            elif op == _BALANCE:
                entry[1].balance = entry[2]
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
            elif op == _TOUCH:
                self._touched.discard(entry[1])
            elif op == _ACCOUNT_CREATED:
                del accounts[entry[1]]
            elif op == _CODE:
                entry[1].code = entry[2]
                entry[1].code_hash = entry[3]
            elif op == _ACCOUNT_DESTROYED:
                accounts[entry[1]] = entry[2]
            else:  # _MARK_CREATED
                self._created.discard(entry[1])

    def commit(self, snapshot_id: int) -> None:
        """Keep the changes since the checkpoint; they stay undoable by an enclosing revert."""
        if snapshot_id > len(self._journal):
            raise InvalidSnapshot(f"snapshot {snapshot_id!r} is not open")

    # -- transaction lifecycle -------------------------------------------------------
    def begin_transaction(self) -> None:
        """Reset transaction-scoped data and the journal."""
        self._journal = []
        self._original_storage = {}
        self._transient = {}
        self._warm_addresses = set()
        self._warm_slots = set()
        self._created = set()
        self._touched = set()

    def end_transaction(self) -> None:
        """Delete touched empty accounts (EIP-161), then clear transaction-scoped data."""
        accounts = self._accounts
        for address in self._touched:
            account = accounts.get(address)
            if account is not None and account.is_empty():
                del accounts[address]
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
        self._accounts[address] = Account(
            nonce, balance, code, keccak256(code) if code else EMPTY_KECCAK, slots
        )

    def accounts(self) -> Iterator[tuple[bytes, Account]]:
        """``(address, account)`` for every account; treat the records as read-only."""
        return iter(list(self._accounts.items()))

    def get_storage_items(self, address: bytes) -> dict[int, int]:
        """A copy of the account's non-zero storage slots."""
        account = self._accounts.get(address)
        return {} if account is None else dict(account.storage)

    def copy(self) -> "MemoryState":
        """Independent copy of the accounts and transaction-scoped sets, with an empty journal."""
        duplicate = MemoryState()
        duplicate._accounts = {address: acct.copy() for address, acct in self._accounts.items()}
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

        Storage roots and address hashes are cached per account, so a repeated
        call costs one pass of account encoding and the account trie build.
        """
        leaf = self._account_leaf
        return hashed_key_trie_root([leaf(a, acct) for a, acct in self._accounts.items()])

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
