"""Ethereum transactions: the five envelope types, strict decoding, signing.

Types: 0 legacy (with or without EIP-155 replay protection), 1 access list
(EIP-2930), 2 fee market (EIP-1559), 3 blob (EIP-4844), 4 set code (EIP-7702),
and the rollup's deposit transaction 0x7E (the OP Stack's type: derived from
L1, unsigned; see ``DepositTransaction``). Typed transactions are encoded as
``type_byte || rlp(payload)``; legacy ones as a bare RLP list.

Transactions are immutable (frozen slotted dataclasses). The network
encoding, hash and recovered sender are computed once and cached, because
block import, the transaction trie and the mempool all ask for them
repeatedly. Decoding is strict: only the one canonical encoding of each
transaction is accepted, so a decoded transaction caches its input bytes as
its encoding.

Only the canonical (block) form of blob transactions is handled here; the
mempool wrapper carrying blobs, commitments and proofs is not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Union

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    InvalidSignature,
    recover_address,
    sign,
)

__all__ = [
    "AccessList",
    "AccessListTransaction",
    "Authorization",
    "BlobTransaction",
    "DEPOSIT_TX_TYPE",
    "DepositTransaction",
    "FeeMarketTransaction",
    "InvalidSignature",
    "LegacyTransaction",
    "SetCodeTransaction",
    "Transaction",
    "TransactionDecodeError",
    "decode_transaction",
    "transaction_from_rlp_item",
    "sign_authorization",
]

AccessList = tuple[tuple[bytes, tuple[bytes, ...]], ...]

UINT64_MAX = 2**64 - 1
SET_CODE_AUTHORIZATION_MAGIC = b"\x05"
GAS_PER_BLOB = 2**17

class _Unset:
    """The "not computed yet" marker for caches that may hold None; one object, also
    after pickling (a copy would read as a computed value in another process)."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_UNSET"


_UNSET = _Unset()


class TransactionDecodeError(ValueError):
    """Raised when bytes are not the canonical encoding of a valid transaction."""


# --------------------------------------------------------------------------
# Field decoding helpers (strict; every failure names the field)
# --------------------------------------------------------------------------


def _uint(item, name: str, max_bytes: int = 32) -> int:
    if type(item) is not bytes:
        raise TransactionDecodeError(f"{name} must be a byte string, not a list")
    if len(item) > max_bytes:
        raise TransactionDecodeError(f"{name} is longer than {max_bytes} bytes")
    if item and item[0] == 0:
        raise TransactionDecodeError(f"{name} has leading zero bytes")
    return int.from_bytes(item, "big")


def _bytes(item, name: str) -> bytes:
    if type(item) is not bytes:
        raise TransactionDecodeError(f"{name} must be a byte string, not a list")
    return item


def _fixed(item, name: str, length: int) -> bytes:
    if type(item) is not bytes:
        raise TransactionDecodeError(f"{name} must be a byte string, not a list")
    if len(item) != length:
        raise TransactionDecodeError(f"{name} must be {length} bytes, got {len(item)}")
    return item


def _to_address(item, allow_create: bool) -> bytes | None:
    if type(item) is not bytes:
        raise TransactionDecodeError("to must be a byte string, not a list")
    if len(item) == 20:
        return item
    if not item:
        if allow_create:
            return None
        raise TransactionDecodeError("this transaction type cannot create a contract: to is empty")
    raise TransactionDecodeError(f"to address must be 20 bytes, got {len(item)}")


def _list(item, name: str) -> list:
    if type(item) is not list:
        raise TransactionDecodeError(f"{name} must be a list")
    return item


def _access_list(item) -> AccessList:
    entries = []
    for entry in _list(item, "access list"):
        if type(entry) is not list or len(entry) != 2:
            raise TransactionDecodeError("access list entry must be a list [address, storage_keys]")
        address = _fixed(entry[0], "access list address", 20)
        keys = tuple(_fixed(key, "access list storage key", 32) for key in _list(entry[1], "storage keys"))
        entries.append((address, keys))
    return tuple(entries)


def _check_field_count(fields, expected: int, kind: str) -> None:
    if type(fields) is not list:
        raise TransactionDecodeError(f"{kind} payload must be an RLP list")
    if len(fields) != expected:
        raise TransactionDecodeError(f"{kind} must have {expected} fields, got {len(fields)}")


def _require_low_s(y_parity: int, r: int, s: int) -> None:
    """EIP-2: transaction signatures must have s <= n/2 (and r, s non-zero)."""
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature r is out of range [1, n)")
    if not 0 < s <= SECP256K1_HALF_N:
        raise InvalidSignature("signature s is zero or above n/2 (EIP-2 low-s rule)")
    if y_parity != 0 and y_parity != 1:
        raise InvalidSignature(f"invalid signature y parity {y_parity}")


# --------------------------------------------------------------------------
# Behaviour shared by every transaction type
# --------------------------------------------------------------------------


class _TransactionBase:
    """Methods common to all envelope types; subclasses are frozen dataclasses."""

    __slots__ = ()

    type: ClassVar[int]

    @property
    def is_create(self) -> bool:
        """True for a contract-creation transaction (``to`` is None)."""
        return self.to is None

    @property
    def hash(self) -> bytes:
        """keccak256 of the network encoding: the transaction hash."""
        cached = self._hash
        if cached is None:
            cached = keccak256(self.encode())
            object.__setattr__(self, "_hash", cached)
        return cached

    @property
    def sender(self) -> bytes:
        """Recovered signer address (cached); raises InvalidSignature."""
        cached = self._sender
        if cached is None:
            cached = self._recover_sender()
            object.__setattr__(self, "_sender", cached)
        return cached

    def encode(self) -> bytes:
        """Network / canonical encoding (what gets hashed and stored in the tx trie)."""
        cached = self._encoded
        if cached is None:
            cached = self._encode()
            object.__setattr__(self, "_encoded", cached)
        return cached

    def to_rlp(self):
        """Form inside a block body: a list for legacy, the envelope bytes for typed txs."""
        return self.encode()

    @property
    def blob_gas(self) -> int:
        """Blob gas this transaction consumes (0 unless type 3)."""
        return GAS_PER_BLOB * len(self.blob_versioned_hashes)

    def effective_gas_price(self, base_fee: int) -> int:
        """Price per gas actually paid under ``base_fee`` (EIP-1559); validity is checked elsewhere."""
        max_fee = self.max_fee_per_gas
        tip_cap = base_fee + self.max_priority_fee_per_gas
        return tip_cap if tip_cap < max_fee else max_fee

    def effective_priority_fee(self, base_fee: int) -> int:
        """Part of the gas price that goes to the fee recipient."""
        return self.effective_gas_price(base_fee) - base_fee


class _TypedTransactionBase(_TransactionBase):
    """Shared logic for EIP-2718 typed envelopes (types 1-4)."""

    __slots__ = ()

    def _unsigned_fields(self) -> list:
        raise NotImplementedError

    def _encode(self) -> bytes:
        fields = self._unsigned_fields()
        fields.append(self.y_parity)
        fields.append(self.r)
        fields.append(self.s)
        return bytes((self.type,)) + rlp.encode(fields)

    def signing_hash(self) -> bytes:
        """Hash the sender signs: keccak(type || rlp(fields without signature))."""
        return keccak256(bytes((self.type,)) + rlp.encode(self._unsigned_fields()))

    def _recover_sender(self) -> bytes:
        _require_low_s(self.y_parity, self.r, self.s)
        return recover_address(self.signing_hash(), self.y_parity, self.r, self.s)

    def signed(self, private_key: bytes):
        """Return a copy signed with ``private_key`` (uses the tx's own chain_id)."""
        y_parity, r, s = sign(self.signing_hash(), private_key)
        return dataclasses.replace(self, y_parity=y_parity, r=r, s=s)


def _cache_field(default=None):
    return field(default=default, init=False, repr=False, compare=False)


# --------------------------------------------------------------------------
# Type 0: legacy
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegacyTransaction(_TransactionBase):
    """Pre-EIP-2718 transaction; ``v`` is 27/28 or (EIP-155) chain_id*2 + 35/36."""

    type: ClassVar[int] = 0

    nonce: int
    gas_price: int
    gas: int
    to: bytes | None
    value: int
    data: bytes
    v: int = 0
    r: int = 0
    s: int = 0
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()

    access_list: ClassVar[tuple] = ()
    blob_versioned_hashes: ClassVar[tuple] = ()
    authorizations: ClassVar[tuple] = ()

    @property
    def chain_id(self) -> int | None:
        """EIP-155 chain id encoded in ``v``; None for unprotected (v = 27/28) txs."""
        v = self.v
        return (v - 35) >> 1 if v >= 35 else None

    @property
    def y_parity(self) -> int:
        """Recovery bit carried by ``v`` (raises InvalidSignature for a malformed v)."""
        v = self.v
        if v == 27 or v == 28:
            return v - 27
        if v >= 35:
            return (v - 35) & 1
        raise InvalidSignature(f"invalid legacy signature v={v}")

    @property
    def max_fee_per_gas(self) -> int:
        return self.gas_price

    @property
    def max_priority_fee_per_gas(self) -> int:
        return self.gas_price

    def effective_gas_price(self, base_fee: int) -> int:
        return self.gas_price

    def _unsigned_fields(self) -> list:
        return [self.nonce, self.gas_price, self.gas, self.to or b"", self.value, self.data]

    def to_rlp(self) -> list:
        return self._unsigned_fields() + [self.v, self.r, self.s]

    def _encode(self) -> bytes:
        return rlp.encode(self.to_rlp())

    def _signing_hash_for(self, chain_id: int | None) -> bytes:
        fields = self._unsigned_fields()
        if chain_id is not None:
            fields += [chain_id, 0, 0]
        return keccak256(rlp.encode(fields))

    def signing_hash(self) -> bytes:
        """Hash the sender signs: EIP-155 form when ``v`` carries a chain id, else the 6-field form."""
        return self._signing_hash_for(self.chain_id)

    def _recover_sender(self) -> bytes:
        y_parity = self.y_parity
        _require_low_s(y_parity, self.r, self.s)
        return recover_address(self.signing_hash(), y_parity, self.r, self.s)

    def signed(self, private_key: bytes, chain_id: int | None = None) -> "LegacyTransaction":
        """Return a copy signed with ``private_key``; EIP-155 protected when ``chain_id`` is given."""
        y_parity, r, s = sign(self._signing_hash_for(chain_id), private_key)
        v = 27 + y_parity if chain_id is None else chain_id * 2 + 35 + y_parity
        return dataclasses.replace(self, v=v, r=r, s=s)


# --------------------------------------------------------------------------
# Type 1: access list (EIP-2930)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessListTransaction(_TypedTransactionBase):
    """EIP-2930 transaction: legacy pricing plus a pre-declared access list."""

    type: ClassVar[int] = 1

    chain_id: int
    nonce: int
    gas_price: int
    gas: int
    to: bytes | None
    value: int
    data: bytes
    access_list: AccessList = ()
    y_parity: int = 0
    r: int = 0
    s: int = 0
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()

    blob_versioned_hashes: ClassVar[tuple] = ()
    authorizations: ClassVar[tuple] = ()

    @property
    def max_fee_per_gas(self) -> int:
        return self.gas_price

    @property
    def max_priority_fee_per_gas(self) -> int:
        return self.gas_price

    def effective_gas_price(self, base_fee: int) -> int:
        return self.gas_price

    def _unsigned_fields(self) -> list:
        return [
            self.chain_id,
            self.nonce,
            self.gas_price,
            self.gas,
            self.to or b"",
            self.value,
            self.data,
            self.access_list,
        ]


# --------------------------------------------------------------------------
# Type 2: fee market (EIP-1559)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeeMarketTransaction(_TypedTransactionBase):
    """EIP-1559 transaction: base fee plus a capped priority fee."""

    type: ClassVar[int] = 2

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: bytes | None
    value: int
    data: bytes
    access_list: AccessList = ()
    y_parity: int = 0
    r: int = 0
    s: int = 0
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()

    blob_versioned_hashes: ClassVar[tuple] = ()
    authorizations: ClassVar[tuple] = ()

    def _unsigned_fields(self) -> list:
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            self.to or b"",
            self.value,
            self.data,
            self.access_list,
        ]


# --------------------------------------------------------------------------
# Type 3: blob (EIP-4844)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlobTransaction(_TypedTransactionBase):
    """EIP-4844 transaction carrying versioned hashes of blobs; cannot create contracts."""

    type: ClassVar[int] = 3

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: bytes
    value: int
    data: bytes
    access_list: AccessList
    max_fee_per_blob_gas: int
    blob_versioned_hashes: tuple[bytes, ...]
    y_parity: int = 0
    r: int = 0
    s: int = 0
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()

    authorizations: ClassVar[tuple] = ()

    def __post_init__(self) -> None:
        if self.to is None:
            raise TransactionDecodeError("blob transactions cannot create contracts (to is None)")

    def _unsigned_fields(self) -> list:
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            self.to,
            self.value,
            self.data,
            self.access_list,
            self.max_fee_per_blob_gas,
            self.blob_versioned_hashes,
        ]


# --------------------------------------------------------------------------
# Type 4: set code (EIP-7702)
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authorization:
    """EIP-7702 authorization tuple: lets ``authority()`` delegate its code to ``address``."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int = 0
    r: int = 0
    s: int = 0
    _authority: object = _cache_field(_UNSET)

    def to_rlp(self) -> list:
        return [self.chain_id, self.address, self.nonce, self.y_parity, self.r, self.s]

    def signing_hash(self) -> bytes:
        """keccak(0x05 || rlp([chain_id, address, nonce]))."""
        return keccak256(SET_CODE_AUTHORIZATION_MAGIC + rlp.encode([self.chain_id, self.address, self.nonce]))

    def authority(self) -> bytes | None:
        """Signer of this authorization, or None when it must be skipped.

        None covers an invalid signature (y_parity not 0/1, r or s out of
        range, s above n/2, failed recovery) and a nonce of 2**64-1 or more,
        which EIP-7702 treats as unusable. The chain-id match needs the
        executing chain; see ``applies_to_chain``.
        """
        cached = self._authority
        if cached is _UNSET:
            cached = self._recover_authority()
            object.__setattr__(self, "_authority", cached)
        return cached

    def _recover_authority(self) -> bytes | None:
        if self.nonce >= UINT64_MAX or self.chain_id >= 2**256:
            return None
        if self.y_parity not in (0, 1) or not 0 < self.r < SECP256K1_N or not 0 < self.s <= SECP256K1_HALF_N:
            return None
        try:
            return recover_address(self.signing_hash(), self.y_parity, self.r, self.s)
        except InvalidSignature:
            return None

    def applies_to_chain(self, chain_id: int) -> bool:
        """EIP-7702: an authorization is valid on its own chain or on any chain when chain_id is 0."""
        return self.chain_id == 0 or self.chain_id == chain_id

    def signed(self, private_key: bytes) -> "Authorization":
        """Return a copy signed with ``private_key``."""
        y_parity, r, s = sign(self.signing_hash(), private_key)
        return dataclasses.replace(self, y_parity=y_parity, r=r, s=s)


def sign_authorization(chain_id: int, address: bytes, nonce: int, private_key: bytes) -> Authorization:
    """Build and sign an EIP-7702 authorization."""
    return Authorization(chain_id, address, nonce).signed(private_key)


@dataclass(frozen=True, slots=True)
class SetCodeTransaction(_TypedTransactionBase):
    """EIP-7702 transaction: EIP-1559 fields plus a list of code-delegation authorizations."""

    type: ClassVar[int] = 4

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: bytes
    value: int
    data: bytes
    access_list: AccessList
    authorizations: tuple[Authorization, ...]
    y_parity: int = 0
    r: int = 0
    s: int = 0
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()

    blob_versioned_hashes: ClassVar[tuple] = ()

    def __post_init__(self) -> None:
        if self.to is None:
            raise TransactionDecodeError("set-code transactions cannot create contracts (to is None)")

    def _unsigned_fields(self) -> list:
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            self.to,
            self.value,
            self.data,
            self.access_list,
            [auth.to_rlp() for auth in self.authorizations],
        ]


# --------------------------------------------------------------------------
# Type 0x7E: deposit (OP Stack convention)
# --------------------------------------------------------------------------

DEPOSIT_TX_TYPE = 0x7E


@dataclass(frozen=True, slots=True)
class DepositTransaction(_TransactionBase):
    """A transaction derived from L1 (a deposit event or the L1 attributes of a block).

    It carries no nonce, fee fields or signature: derivation from L1 is its
    authorization, and ``source_hash`` makes it unique. ``mint`` wei are
    credited to ``from_address`` before execution, whatever the outcome.
    Only a rollup chain accepts it (``hyperion.execution.deposit``); a
    transaction pool never does.
    """

    type: ClassVar[int] = DEPOSIT_TX_TYPE

    source_hash: bytes
    from_address: bytes
    to: bytes | None
    mint: int
    value: int
    gas: int
    is_system_tx: bool
    data: bytes
    _encoded: bytes | None = _cache_field()
    _hash: bytes | None = _cache_field()
    _sender: bytes | None = _cache_field()  # set by stores that cache senders; ``sender`` is ``from_address``

    # the fields every other type has, with the values OP clients report for deposits
    nonce: ClassVar[int] = 0
    chain_id: ClassVar[None] = None
    gas_price: ClassVar[int] = 0
    max_fee_per_gas: ClassVar[int] = 0
    max_priority_fee_per_gas: ClassVar[int] = 0
    access_list: ClassVar[tuple] = ()
    blob_versioned_hashes: ClassVar[tuple] = ()
    authorizations: ClassVar[tuple] = ()
    v: ClassVar[int] = 0
    y_parity: ClassVar[int] = 0
    r: ClassVar[int] = 0
    s: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if len(self.source_hash) != 32:
            raise TransactionDecodeError("deposit source hash must be 32 bytes")
        if len(self.from_address) != 20:
            raise TransactionDecodeError("deposit from address must be 20 bytes")
        if self.to is not None and len(self.to) != 20:
            raise TransactionDecodeError("deposit to address must be 20 bytes or empty")

    @property
    def sender(self) -> bytes:
        """The depositor: explicit in the transaction, no signature to recover."""
        return self.from_address

    def _encode(self) -> bytes:
        """``0x7E || rlp([sourceHash, from, to, mint, value, gas, isSystemTx, data])``."""
        return bytes((DEPOSIT_TX_TYPE,)) + rlp.encode([
            self.source_hash, self.from_address, self.to or b"", self.mint, self.value, self.gas,
            1 if self.is_system_tx else 0, self.data,
        ])

    def effective_gas_price(self, base_fee: int) -> int:
        """Deposits bought their gas on L1: nothing is paid on L2."""
        return 0

    def effective_priority_fee(self, base_fee: int) -> int:
        return 0


Transaction = Union[
    LegacyTransaction, AccessListTransaction, FeeMarketTransaction, BlobTransaction, SetCodeTransaction,
    DepositTransaction,
]


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


def _signature(fields: list, start: int) -> tuple[int, int, int]:
    return (
        _uint(fields[start], "y_parity"),
        _uint(fields[start + 1], "r"),
        _uint(fields[start + 2], "s"),
    )


def _decode_legacy(fields) -> LegacyTransaction:
    _check_field_count(fields, 9, "legacy transaction")
    return LegacyTransaction(
        _uint(fields[0], "nonce", 8),
        _uint(fields[1], "gas_price"),
        _uint(fields[2], "gas", 8),
        _to_address(fields[3], True),
        _uint(fields[4], "value"),
        _bytes(fields[5], "data"),
        _uint(fields[6], "v"),
        _uint(fields[7], "r"),
        _uint(fields[8], "s"),
    )


def _decode_access_list_tx(fields) -> AccessListTransaction:
    _check_field_count(fields, 11, "access list transaction")
    return AccessListTransaction(
        _uint(fields[0], "chain_id"),
        _uint(fields[1], "nonce", 8),
        _uint(fields[2], "gas_price"),
        _uint(fields[3], "gas", 8),
        _to_address(fields[4], True),
        _uint(fields[5], "value"),
        _bytes(fields[6], "data"),
        _access_list(fields[7]),
        *_signature(fields, 8),
    )


def _decode_fee_market_tx(fields) -> FeeMarketTransaction:
    _check_field_count(fields, 12, "fee market transaction")
    return FeeMarketTransaction(
        _uint(fields[0], "chain_id"),
        _uint(fields[1], "nonce", 8),
        _uint(fields[2], "max_priority_fee_per_gas"),
        _uint(fields[3], "max_fee_per_gas"),
        _uint(fields[4], "gas", 8),
        _to_address(fields[5], True),
        _uint(fields[6], "value"),
        _bytes(fields[7], "data"),
        _access_list(fields[8]),
        *_signature(fields, 9),
    )


def _decode_blob_tx(fields) -> BlobTransaction:
    _check_field_count(fields, 14, "blob transaction")
    return BlobTransaction(
        _uint(fields[0], "chain_id"),
        _uint(fields[1], "nonce", 8),
        _uint(fields[2], "max_priority_fee_per_gas"),
        _uint(fields[3], "max_fee_per_gas"),
        _uint(fields[4], "gas", 8),
        _to_address(fields[5], False),
        _uint(fields[6], "value"),
        _bytes(fields[7], "data"),
        _access_list(fields[8]),
        _uint(fields[9], "max_fee_per_blob_gas"),
        tuple(_fixed(h, "blob versioned hash", 32) for h in _list(fields[10], "blob versioned hashes")),
        *_signature(fields, 11),
    )


def _decode_authorization(item) -> Authorization:
    if type(item) is not list or len(item) != 6:
        raise TransactionDecodeError("authorization must be a list of 6 fields")
    return Authorization(
        _uint(item[0], "authorization chain_id"),
        _fixed(item[1], "authorization address", 20),
        _uint(item[2], "authorization nonce", 8),
        _uint(item[3], "authorization y_parity", 1),
        _uint(item[4], "authorization r"),
        _uint(item[5], "authorization s"),
    )


def _decode_set_code_tx(fields) -> SetCodeTransaction:
    _check_field_count(fields, 13, "set-code transaction")
    return SetCodeTransaction(
        _uint(fields[0], "chain_id"),
        _uint(fields[1], "nonce", 8),
        _uint(fields[2], "max_priority_fee_per_gas"),
        _uint(fields[3], "max_fee_per_gas"),
        _uint(fields[4], "gas", 8),
        _to_address(fields[5], False),
        _uint(fields[6], "value"),
        _bytes(fields[7], "data"),
        _access_list(fields[8]),
        tuple(_decode_authorization(a) for a in _list(fields[9], "authorization list")),
        *_signature(fields, 10),
    )


def _decode_deposit_tx(fields) -> DepositTransaction:
    _check_field_count(fields, 8, "deposit transaction")
    system = _bytes(fields[6], "isSystemTx")
    if system not in (b"", b"\x01"):
        raise TransactionDecodeError("deposit isSystemTx must be an RLP boolean (empty or 0x01)")
    return DepositTransaction(
        _fixed(fields[0], "source hash", 32),
        _fixed(fields[1], "from", 20),
        _to_address(fields[2], True),
        _uint(fields[3], "mint"),
        _uint(fields[4], "value"),
        _uint(fields[5], "gas", 8),
        system == b"\x01",
        _bytes(fields[7], "data"),
    )


_TYPED_DECODERS = {
    1: _decode_access_list_tx,
    2: _decode_fee_market_tx,
    3: _decode_blob_tx,
    4: _decode_set_code_tx,
    DEPOSIT_TX_TYPE: _decode_deposit_tx,
}


def _rlp_decode(data: bytes):
    try:
        return rlp.decode(data)
    except rlp.RLPError as exc:
        raise TransactionDecodeError(f"invalid RLP: {exc}") from None


def decode_transaction(raw: bytes) -> Transaction:
    """Decode a network-encoded transaction (legacy RLP list or typed envelope).

    Raises TransactionDecodeError for anything but the canonical encoding of
    a well-formed transaction. The signature is not checked here; reading
    ``.sender`` does that.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TransactionDecodeError(f"transaction must be bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if not raw:
        raise TransactionDecodeError("empty transaction bytes")
    first = raw[0]
    if first >= 0xC0:
        tx = _decode_legacy(_rlp_decode(raw))
    elif first < 0x80:
        decoder = _TYPED_DECODERS.get(first)
        if decoder is None:
            raise TransactionDecodeError(f"unsupported transaction type 0x{first:02x}")
        fields = _rlp_decode(raw[1:])
        tx = decoder(fields)
    else:
        raise TransactionDecodeError("transaction is neither an RLP list nor a typed envelope")
    object.__setattr__(tx, "_encoded", raw)
    return tx


def transaction_from_rlp_item(item) -> Transaction:
    """Decode one entry of a block body's transaction list (already RLP-decoded).

    Legacy transactions appear there as lists, typed ones as byte strings
    holding the envelope.
    """
    if type(item) is list:
        return _decode_legacy(item)
    if type(item) is bytes:
        if not item or item[0] >= 0x80:
            raise TransactionDecodeError("typed transaction in a block must be an envelope byte string")
        return decode_transaction(item)
    raise TransactionDecodeError("block transaction entry must be a list or byte string")
