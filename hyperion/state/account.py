"""The account record kept by in-memory state, and the account/storage trie encodings."""

from __future__ import annotations

from typing import Mapping

from hyperion.primitives import rlp
from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.trie.codec import EMPTY_TRIE_ROOT, encode_list, encode_string
from hyperion.trie.root import hashed_key_trie_root

class InvalidAccountData(ValueError):
    """An account field or storage entry is out of range or of the wrong type."""


class Account:
    """Mutable account record: balance, nonce, code (with its hash cached) and storage.

    ``storage`` maps slot -> non-zero value (zero slots are deleted, never stored).
    ``storage_root`` caches the storage trie root; writers reset it to ``None``.
    ``address_hash`` caches keccak(address) for the state trie.
    """

    __slots__ = ("nonce", "balance", "code", "code_hash", "storage", "storage_root", "address_hash")

    def __init__(
        self,
        nonce: int = 0,
        balance: int = 0,
        code: bytes = b"",
        code_hash: bytes = EMPTY_KECCAK,
        storage: dict[int, int] | None = None,
    ) -> None:
        self.nonce = nonce
        self.balance = balance
        self.code = code
        self.code_hash = code_hash
        self.storage: dict[int, int] = {} if storage is None else storage
        self.storage_root: bytes | None = None if self.storage else EMPTY_TRIE_ROOT
        self.address_hash: bytes | None = None

    def is_empty(self) -> bool:
        """EIP-161 emptiness: no nonce, no balance, no code."""
        return not self.nonce and not self.balance and not self.code

    def copy(self) -> "Account":
        """Independent copy (the storage dict is duplicated)."""
        duplicate = Account(self.nonce, self.balance, self.code, self.code_hash, dict(self.storage))
        duplicate.storage_root = self.storage_root
        duplicate.address_hash = self.address_hash
        return duplicate

    def get_storage_root(self) -> bytes:
        """Storage trie root, computed once per change of storage."""
        root = self.storage_root
        if root is None:
            root = self.storage_root = storage_root(self.storage)
        return root

    def __repr__(self) -> str:
        return (
            f"Account(nonce={self.nonce}, balance={self.balance}, code=0x{self.code.hex()}, "
            f"storage_slots={len(self.storage)})"
        )


def _encode_uint(value: int) -> bytes:
    return encode_string(value.to_bytes((value.bit_length() + 7) // 8, "big"))


# RLP of the integers 0..127 (a single byte, or the empty string for zero).
_SMALL_UINTS = (b"\x80",) + tuple(bytes((value,)) for value in range(1, 128))
_UINT_HEADERS = tuple(bytes((0x80 + length,)) for length in range(33))


def encode_account(nonce: int, balance: int, storage_root_hash: bytes, code_hash: bytes) -> bytes:
    """State-trie leaf value: rlp([nonce, balance, storage_root, code_hash]).

    Runs for every changed account of every block, so the canonical case (both
    integers below 2**256, both hashes 32 bytes: payload under 256 bytes) is
    one concatenation with table-driven headers; anything else takes the
    general encoders.
    """
    if (len(storage_root_hash) == 32 and len(code_hash) == 32 and 0 <= nonce and 0 <= balance
            and nonce.bit_length() <= 256 and balance.bit_length() <= 256):
        if nonce < 128:
            nonce_item = _SMALL_UINTS[nonce]
        else:
            length = (nonce.bit_length() + 7) >> 3
            nonce_item = _UINT_HEADERS[length] + nonce.to_bytes(length, "big")
        if balance < 128:
            balance_item = _SMALL_UINTS[balance]
        else:
            length = (balance.bit_length() + 7) >> 3
            balance_item = _UINT_HEADERS[length] + balance.to_bytes(length, "big")
        payload_length = len(nonce_item) + len(balance_item) + 66
        head = bytes((0xC0 + payload_length,)) if payload_length < 56 else bytes((0xF8, payload_length))
        return head + nonce_item + balance_item + b"\xa0" + storage_root_hash + b"\xa0" + code_hash
    return encode_list(
        _encode_uint(nonce)
        + _encode_uint(balance)
        + encode_string(storage_root_hash)
        + encode_string(code_hash)
    )


def decode_account(data: bytes) -> tuple[int, int, bytes, bytes]:
    """Inverse of :func:`encode_account`: ``(nonce, balance, storage_root, code_hash)``."""
    try:
        items = rlp.decode(data)
        if not isinstance(items, list) or len(items) != 4:
            raise InvalidAccountData("account RLP must be a list of 4 items")
        nonce = rlp.decode_int(items[0], 8)
        balance = rlp.decode_int(items[1], 32)
    except rlp.RLPError as exc:
        raise InvalidAccountData(f"bad account RLP: {exc}") from None
    storage_root_hash, code_hash = items[2], items[3]
    if not isinstance(storage_root_hash, bytes) or len(storage_root_hash) != 32:
        raise InvalidAccountData("account storage root must be 32 bytes")
    if not isinstance(code_hash, bytes) or len(code_hash) != 32:
        raise InvalidAccountData("account code hash must be 32 bytes")
    return nonce, balance, storage_root_hash, code_hash


def storage_trie_key(slot: int) -> bytes:
    """Key of a slot in the storage trie before hashing: 32-byte big-endian."""
    return slot.to_bytes(32, "big")


def storage_trie_value(value: int) -> bytes:
    """Value of a slot in the storage trie: rlp of the minimal big-endian integer."""
    return _encode_uint(value)


def storage_root(storage: Mapping[int, int]) -> bytes:
    """Secure-trie root of a storage map (zero values are skipped)."""
    if not storage:
        return EMPTY_TRIE_ROOT
    try:
        pairs = [
            (keccak256(slot.to_bytes(32, "big")), _encode_uint(value))
            for slot, value in storage.items()
            if value
        ]
    except (OverflowError, AttributeError, TypeError):
        raise InvalidAccountData("storage slots and values must be ints in [0, 2**256)") from None
    return hashed_key_trie_root(pairs)


def check_uint(value: object, bits: int, what: str) -> int:
    """Validate an unsigned integer field loaded from outside (fixtures, tools)."""
    if type(value) is not int or value < 0 or value >> bits:
        raise InvalidAccountData(f"{what} must be an int in [0, 2**{bits}), got {value!r}")
    return value


__all__ = [
    "Account",
    "InvalidAccountData",
    "encode_account",
    "decode_account",
    "storage_root",
    "storage_trie_key",
    "storage_trie_value",
    "check_uint",
]
