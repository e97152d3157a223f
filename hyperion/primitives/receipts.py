"""Transaction receipts.

Encoded like transactions: legacy receipts are a bare RLP list, typed ones
``tx_type || rlp(payload)``; the payload is
``[status, cumulative_gas_used, logs_bloom, logs]``. Before Byzantium
(EIP-658) the first field is the 32-byte intermediate state root after the
transaction instead of the status (``post_state``). This encoding is what
goes into the receipts trie. A deposit receipt (type 0x7E, OP Stack Canyon
rules) appends ``deposit_nonce`` (the sender's nonce before the deposit)
and ``deposit_receipt_version`` (1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hyperion.primitives import rlp
from hyperion.primitives.bloom import logs_bloom
from hyperion.primitives.logs import Log

DEPOSIT_RECEIPT_TYPE = 0x7E
DEPOSIT_RECEIPT_VERSION = 1
KNOWN_TX_TYPES = frozenset((1, 2, 3, 4, DEPOSIT_RECEIPT_TYPE))
_STATUS_BYTES = {b"": False, b"\x01": True}


class ReceiptDecodeError(ValueError):
    """Raised when bytes are not the canonical encoding of a receipt."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """Outcome of one transaction; ``bloom`` is derived from ``logs`` and cached."""

    tx_type: int
    status: bool
    cumulative_gas_used: int
    logs: tuple[Log, ...]
    deposit_nonce: int | None = None  # deposit receipts only
    deposit_receipt_version: int | None = None
    post_state: bytes | None = None  # pre-Byzantium: the state root after the transaction
    _bloom: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def bloom(self) -> bytes:
        cached = self._bloom
        if cached is None:
            cached = logs_bloom(self.logs)
            object.__setattr__(self, "_bloom", cached)
        return cached

    def encode(self) -> bytes:
        """Receipts-trie encoding: legacy RLP list or typed envelope."""
        fields = [
            self.post_state if self.post_state is not None else (b"\x01" if self.status else b""),
            self.cumulative_gas_used,
            self.bloom,
            [log.to_rlp() for log in self.logs],
        ]
        if self.deposit_nonce is not None:
            fields.append(self.deposit_nonce)
            fields.append(self.deposit_receipt_version or DEPOSIT_RECEIPT_VERSION)
        payload = rlp.encode(fields)
        if self.tx_type == 0:
            return payload
        return bytes((self.tx_type,)) + payload


def _decode_log(item) -> Log:
    if type(item) is not list or len(item) != 3:
        raise ReceiptDecodeError("log must be a list [address, topics, data]")
    address, topics, data = item
    if type(address) is not bytes or len(address) != 20:
        raise ReceiptDecodeError("log address must be 20 bytes")
    if type(topics) is not list or len(topics) > 4:
        raise ReceiptDecodeError("log topics must be a list of at most 4 entries")
    for topic in topics:
        if type(topic) is not bytes or len(topic) != 32:
            raise ReceiptDecodeError("log topic must be 32 bytes")
    if type(data) is not bytes:
        raise ReceiptDecodeError("log data must be a byte string")
    return Log(address, tuple(topics), data)


def decode_receipt(raw: bytes) -> Receipt:
    """Decode a receipt; the embedded bloom must match the one computed from its logs."""
    if not isinstance(raw, (bytes, bytearray, memoryview)) or not raw:
        raise ReceiptDecodeError("receipt must be non-empty bytes")
    raw = bytes(raw)
    tx_type = 0
    body = raw
    if raw[0] < 0x80:
        tx_type = raw[0]
        if tx_type not in KNOWN_TX_TYPES:
            raise ReceiptDecodeError(f"unsupported receipt type 0x{tx_type:02x}")
        body = raw[1:]
    elif raw[0] < 0xC0:
        raise ReceiptDecodeError("receipt is neither an RLP list nor a typed envelope")
    try:
        fields = rlp.decode(body)
    except rlp.RLPError as exc:
        raise ReceiptDecodeError(f"invalid receipt RLP: {exc}") from None
    deposit_nonce = deposit_version = None
    if tx_type == DEPOSIT_RECEIPT_TYPE and type(fields) is list and len(fields) == 6:
        try:
            deposit_nonce = rlp.decode_int(fields[4], 8)
            deposit_version = rlp.decode_int(fields[5], 8)
        except rlp.RLPError as exc:
            raise ReceiptDecodeError(f"invalid deposit receipt nonce or version: {exc}") from None
        if deposit_version != DEPOSIT_RECEIPT_VERSION:
            raise ReceiptDecodeError(f"unsupported deposit receipt version {deposit_version}")
        fields = fields[:4]
    if type(fields) is not list or len(fields) != 4:
        raise ReceiptDecodeError("receipt must be a list of 4 fields")
    status_bytes, gas_bytes, bloom, log_items = fields
    post_state = None
    if type(status_bytes) is bytes and len(status_bytes) == 32:
        post_state = status_bytes
    elif type(status_bytes) is not bytes or status_bytes not in _STATUS_BYTES:
        raise ReceiptDecodeError("receipt status must be empty (failure), 0x01 (success) or a 32-byte state root")
    try:
        cumulative_gas_used = rlp.decode_int(gas_bytes, 8)
    except rlp.RLPError as exc:
        raise ReceiptDecodeError(f"invalid cumulative gas used: {exc}") from None
    if type(bloom) is not bytes or len(bloom) != 256:
        raise ReceiptDecodeError("receipt bloom must be 256 bytes")
    if type(log_items) is not list:
        raise ReceiptDecodeError("receipt logs must be a list")
    status = True if post_state is not None else _STATUS_BYTES[status_bytes]
    receipt = Receipt(tx_type, status, cumulative_gas_used, tuple(_decode_log(i) for i in log_items),
                      deposit_nonce, deposit_version, post_state)
    if receipt.bloom != bloom:
        raise ReceiptDecodeError("receipt bloom does not match its logs")
    return receipt
