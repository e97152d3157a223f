"""Block headers and blocks: RLP encoding, decoding and hashing.

The header carries every field up to Prague (EIP-1559 base fee, EIP-4895
withdrawals root, EIP-4844 blob gas, EIP-4788 beacon root, EIP-7685
requests hash). Later optional fields are encoded only when present, in
order, exactly as the consensus encoding does, so the hash of a decoded
fixture header matches the fixture's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import TransactionDecodeError, transaction_from_rlp_item
from hyperion.trie.codec import EMPTY_TRIE_ROOT

EMPTY_OMMERS_HASH = keccak256(rlp.encode([]))
EMPTY_REQUESTS_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")  # sha256(b"")
ZERO_HASH = b"\x00" * 32
ZERO_ADDRESS = b"\x00" * 20


class BlockDecodeError(ValueError):
    """Bytes that are not a well-formed header or block."""


@dataclass(frozen=True, slots=True)
class Header:
    """An Ethereum block header; the trailing fork fields are None when absent."""

    parent_hash: bytes
    ommers_hash: bytes
    coinbase: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    logs_bloom: bytes
    difficulty: int
    number: int
    gas_limit: int
    gas_used: int
    timestamp: int
    extra_data: bytes
    prev_randao: bytes
    nonce: bytes
    base_fee: Optional[int] = None
    withdrawals_root: Optional[bytes] = None
    blob_gas_used: Optional[int] = None
    excess_blob_gas: Optional[int] = None
    parent_beacon_block_root: Optional[bytes] = None
    requests_hash: Optional[bytes] = None
    _hash: Optional[bytes] = field(default=None, init=False, repr=False, compare=False)

    @property
    def mix_hash(self) -> bytes:
        """The pre-merge name of ``prev_randao``."""
        return self.prev_randao

    def to_rlp(self) -> list:
        """The header as an RLP list (optional fields stop at the first absent one)."""
        items = [
            self.parent_hash, self.ommers_hash, self.coinbase, self.state_root, self.transactions_root,
            self.receipts_root, self.logs_bloom, self.difficulty, self.number, self.gas_limit,
            self.gas_used, self.timestamp, self.extra_data, self.prev_randao, self.nonce,
        ]
        for value in (self.base_fee, self.withdrawals_root, self.blob_gas_used, self.excess_blob_gas,
                      self.parent_beacon_block_root, self.requests_hash):
            if value is None:
                break
            items.append(value)
        return items

    def encode(self) -> bytes:
        return rlp.encode(self.to_rlp())

    @property
    def hash(self) -> bytes:
        """keccak256 of the RLP header: the block hash (cached)."""
        cached = self._hash
        if cached is None:
            cached = keccak256(self.encode())
            object.__setattr__(self, "_hash", cached)
        return cached


_FIXED_FIELDS = [f.name for f in fields(Header)][:15]
_OPTIONAL_FIELDS = ["base_fee", "withdrawals_root", "blob_gas_used", "excess_blob_gas",
                    "parent_beacon_block_root", "requests_hash"]
_HASH_FIELDS = {"parent_hash", "ommers_hash", "state_root", "transactions_root", "receipts_root",
                "prev_randao", "withdrawals_root", "parent_beacon_block_root", "requests_hash"}
# Integer fields and their size in bytes: 64-bit quantities, 256-bit difficulty and base fee.
_INT_FIELDS = {"difficulty": 32, "number": 8, "gas_limit": 8, "gas_used": 8, "timestamp": 8, "base_fee": 32,
               "blob_gas_used": 8, "excess_blob_gas": 8}


def _header_field(name: str, item) -> object:
    if type(item) is not bytes:
        raise BlockDecodeError(f"header field {name} must be a byte string")
    if name in _INT_FIELDS:
        try:
            return rlp.decode_int(item, _INT_FIELDS[name])
        except rlp.RLPError as exc:
            raise BlockDecodeError(f"header field {name}: {exc}") from None
    if name in _HASH_FIELDS and len(item) != 32:
        raise BlockDecodeError(f"header field {name} must be 32 bytes")
    if name == "coinbase" and len(item) != 20:
        raise BlockDecodeError("header coinbase must be 20 bytes")
    if name == "logs_bloom" and len(item) != 256:
        raise BlockDecodeError("header logs bloom must be 256 bytes")
    if name == "nonce" and len(item) != 8:
        raise BlockDecodeError("header nonce must be 8 bytes")
    return item


def header_from_rlp_item(item) -> Header:
    """Build a header from its decoded RLP list."""
    if type(item) is not list or not 15 <= len(item) <= 21:
        raise BlockDecodeError("header must be a list of 15 to 21 fields")
    names = _FIXED_FIELDS + _OPTIONAL_FIELDS[: len(item) - 15]
    return Header(**{name: _header_field(name, value) for name, value in zip(names, item)})


def decode_header(raw: bytes) -> Header:
    try:
        return header_from_rlp_item(rlp.decode(raw))
    except rlp.RLPError as exc:
        raise BlockDecodeError(f"invalid header RLP: {exc}") from None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """EIP-4895 withdrawal (always empty on the dev chain, kept for decoding)."""

    index: int
    validator_index: int
    address: bytes
    amount: int  # gwei

    def to_rlp(self) -> list:
        return [self.index, self.validator_index, self.address, self.amount]


@dataclass(slots=True)
class Block:
    """A header with its body: transactions, ommers (uncles; none after the merge) and, from
    Shanghai, withdrawals (``None`` for a block whose body has no withdrawals list)."""

    header: Header
    transactions: list
    withdrawals: Optional[list] = None
    ommers: list = field(default_factory=list)
    _size: Optional[int] = field(default=None, repr=False, compare=False)

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def number(self) -> int:
        return self.header.number

    def to_rlp(self) -> list:
        items = [self.header.to_rlp(), [tx.to_rlp() for tx in self.transactions],
                 [o.to_rlp() for o in self.ommers]]
        if self.withdrawals is not None:
            items.append([w.to_rlp() for w in self.withdrawals])
        return items

    def encode(self) -> bytes:
        return rlp.encode(self.to_rlp())

    @property
    def size(self) -> int:
        """Length of the block's RLP encoding (eth_getBlock's ``size``)."""
        if self._size is None:
            self._size = len(self.encode())
        return self._size


def _withdrawal(item) -> Withdrawal:
    if type(item) is not list or len(item) != 4 or any(type(x) is not bytes for x in item):
        raise BlockDecodeError("withdrawal must be a list of 4 byte strings")
    if len(item[2]) != 20:
        raise BlockDecodeError("withdrawal address must be 20 bytes")
    try:
        return Withdrawal(rlp.decode_int(item[0], 8), rlp.decode_int(item[1], 8), item[2], rlp.decode_int(item[3], 8))
    except rlp.RLPError as exc:
        raise BlockDecodeError(f"invalid withdrawal: {exc}") from None


def decode_block(raw: bytes) -> Block:
    """Decode a full block (header, transactions, ommers, optional withdrawals)."""
    try:
        items = rlp.decode(raw)
    except rlp.RLPError as exc:
        raise BlockDecodeError(f"invalid block RLP: {exc}") from None
    if type(items) is not list or len(items) not in (3, 4):
        raise BlockDecodeError("block must be a list [header, transactions, ommers(, withdrawals)]")
    header = header_from_rlp_item(items[0])
    if type(items[1]) is not list or type(items[2]) is not list:
        raise BlockDecodeError("block transactions and ommers must be lists")
    try:
        transactions = [transaction_from_rlp_item(t) for t in items[1]]
    except TransactionDecodeError as exc:
        raise BlockDecodeError(f"invalid transaction in block: {exc}") from None
    ommers = [header_from_rlp_item(o) for o in items[2]]
    withdrawals = None
    if len(items) == 4:
        if type(items[3]) is not list:
            raise BlockDecodeError("block withdrawals must be a list")
        withdrawals = [_withdrawal(w) for w in items[3]]
    return Block(header, transactions, withdrawals, ommers, len(raw))


__all__ = [
    "Block", "BlockDecodeError", "EMPTY_OMMERS_HASH", "EMPTY_REQUESTS_HASH", "EMPTY_TRIE_ROOT", "Header",
    "Withdrawal", "ZERO_ADDRESS", "ZERO_HASH", "decode_block", "decode_header", "header_from_rlp_item",
]
