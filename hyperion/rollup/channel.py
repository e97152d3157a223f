"""The batch format: L2 blocks as they are posted to L1, and its strict decoder.

One L1 transaction to the batch inbox carries one *channel*: a run of
consecutive L2 blocks, compressed. Its bytes (the calldata, or the data the
transaction's blobs carry) are::

    0x00 (derivation version) || 0x01 (brotli) || brotli(rlp(channel))
    channel = [first_number, parent_hash, origin_check, [block, ...]]
    block   = [origin_number, [raw_tx, ...], state_root, receipts_root, gas_used, logs_bloom, requests_hash
               (, coinbase)]

A block entry holds what L1 cannot supply: the sequenced transactions (no
deposits; derivation adds those from L1), the number of its L1 origin, and
the header fields that execution produces (the sequencer's claim; the
EIP-7685 requests hash is empty bytes before Prague), and, when a block's
fee recipient is not the genesis coinbase (a staked sequencer set: each
sequencer's blocks pay its own address), an 8th field with it. A
follower rebuilds the full block from it and the L1 data, runs it through
block import and refuses it when the claim does not hold. Timestamps are
implied (genesis time + number * block time), as is each block's parent
(the previous entry). ``origin_check`` is the first 20 bytes of the last
block's L1 origin hash, so a channel built on an L1 fork that was reorged
away is dropped before anything executes.

A channel never spans L1 transactions, so derivation needs no channel bank
or channel timeout, and resuming after a crash or an L1 reorg only has to
re-read L1 from the last block it finished.

Brotli (Google's bindings, the OP Stack's channel compressor since Fjord)
compresses L2 transaction data better than zlib at a cost the batcher can
afford; ``hyperion bench rollup`` prints both ratios side by side.
Decompression is bounded (``MAX_CHANNEL_BYTES``) so a small malicious
channel cannot expand into gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import brotli

from hyperion.primitives import rlp
from hyperion.primitives.transactions import (
    DEPOSIT_TX_TYPE,
    TransactionDecodeError,
    decode_transaction,
)

DERIVATION_VERSION = 0x00
BROTLI = 0x01
MAX_CHANNEL_BYTES = 10_000_000  # decompressed RLP (the OP Stack's MAX_RLP_BYTES_PER_CHANNEL)
MAX_BLOCKS_PER_CHANNEL = 100_000
BROTLI_QUALITY = 9
BROTLI_WINDOW = 22
ORIGIN_CHECK_BYTES = 20


class MalformedChannel(ValueError):
    """Batch data that is not a well-formed channel (derivation ignores it, with a log line)."""


@dataclass(frozen=True, slots=True)
class BlockBatch:
    """One L2 block as the batcher posts it."""

    origin_number: int
    transactions: tuple  # decoded sequenced transactions, in block order
    state_root: bytes
    receipts_root: bytes
    gas_used: int
    logs_bloom: bytes
    requests_hash: Optional[bytes] = None  # EIP-7685 (from Prague): L2 users can queue EIP-7002/7251 requests
    coinbase: Optional[bytes] = None  # the block's fee recipient when it is not the genesis coinbase

    def to_rlp(self) -> list:
        fields = [self.origin_number, [tx.encode() for tx in self.transactions], self.state_root,
                  self.receipts_root, self.gas_used, self.logs_bloom, self.requests_hash or b""]
        return fields if self.coinbase is None else [*fields, self.coinbase]


@dataclass(frozen=True, slots=True)
class Channel:
    """A run of consecutive L2 blocks starting at ``first_number``."""

    first_number: int
    parent_hash: bytes
    origin_check: bytes
    blocks: tuple[BlockBatch, ...]

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.blocks) - 1

    def to_rlp(self) -> list:
        return [self.first_number, self.parent_hash, self.origin_check, [b.to_rlp() for b in self.blocks]]


def encode_channel(channel: Channel, quality: int = BROTLI_QUALITY) -> bytes:
    """The bytes a batch transaction carries for ``channel``."""
    payload = rlp.encode(channel.to_rlp())
    if len(payload) > MAX_CHANNEL_BYTES:
        raise ValueError(f"channel of {len(payload)} bytes exceeds the {MAX_CHANNEL_BYTES}-byte limit")
    return bytes((DERIVATION_VERSION, BROTLI)) + brotli.compress(payload, quality=quality, lgwin=BROTLI_WINDOW)


def _decompress(data: bytes) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(data, output_buffer_limit=MAX_CHANNEL_BYTES + 1)
        if len(out) > MAX_CHANNEL_BYTES or not decompressor.can_accept_more_data():
            raise MalformedChannel(f"channel decompresses to more than {MAX_CHANNEL_BYTES} bytes")
        if not decompressor.is_finished():
            raise MalformedChannel("channel data is a truncated brotli stream")
    except brotli.error as exc:
        raise MalformedChannel(f"channel is not valid brotli data: {exc}") from None
    return out


def _uint(item, name: str, max_bytes: int = 8) -> int:
    if type(item) is not bytes:
        raise MalformedChannel(f"{name} must be a byte string")
    try:
        return rlp.decode_int(item, max_bytes)
    except rlp.RLPError as exc:
        raise MalformedChannel(f"{name}: {exc}") from None


def _fixed(item, name: str, length: int) -> bytes:
    if type(item) is not bytes or len(item) != length:
        raise MalformedChannel(f"{name} must be {length} bytes")
    return item


def _block(item, index: int) -> BlockBatch:
    if type(item) is not list or len(item) not in (7, 8):
        raise MalformedChannel(f"block {index}: must be a list of 7 fields (8 with a coinbase)")
    origin, txs, state_root, receipts_root, gas_used, bloom, requests_hash = item[:7]
    coinbase = _fixed(item[7], f"block {index} coinbase", 20) if len(item) == 8 else None
    if type(txs) is not list:
        raise MalformedChannel(f"block {index}: transactions must be a list")
    decoded = []
    for position, raw in enumerate(txs):
        if type(raw) is not bytes or not raw:
            raise MalformedChannel(f"block {index} tx {position}: empty or not a byte string")
        try:
            tx = decode_transaction(raw)
        except TransactionDecodeError as exc:
            raise MalformedChannel(f"block {index} tx {position}: {exc}") from None
        if tx.type == DEPOSIT_TX_TYPE:
            raise MalformedChannel(f"block {index} tx {position}: deposits come from L1, never from a batch")
        decoded.append(tx)
    return BlockBatch(_uint(origin, f"block {index} origin number"), tuple(decoded),
                      _fixed(state_root, f"block {index} state root", 32),
                      _fixed(receipts_root, f"block {index} receipts root", 32),
                      _uint(gas_used, f"block {index} gas used"), _fixed(bloom, f"block {index} logs bloom", 256),
                      None if requests_hash == b"" else _fixed(requests_hash, f"block {index} requests hash", 32),
                      coinbase)


def decode_channel(data: bytes) -> Channel:
    """Decode the bytes of one batch transaction; raises MalformedChannel for anything else."""
    try:
        return _decode_channel(data)
    except MalformedChannel:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as exc:  # never let batch data stop derivation
        raise MalformedChannel(f"malformed channel: {exc}") from None


def _decode_channel(data: bytes) -> Channel:
    if len(data) < 2:
        raise MalformedChannel("batch data is shorter than its 2-byte header")
    if data[0] != DERIVATION_VERSION:
        raise MalformedChannel(f"unknown derivation version 0x{data[0]:02x}")
    if data[1] != BROTLI:
        raise MalformedChannel(f"unknown channel compression 0x{data[1]:02x}")
    payload = _decompress(data[2:])
    try:
        items = rlp.decode(payload)
    except rlp.RLPError as exc:
        raise MalformedChannel(f"channel is not canonical RLP: {exc}") from None
    if type(items) is not list or len(items) != 4:
        raise MalformedChannel("channel must be a list [first_number, parent_hash, origin_check, blocks]")
    first, parent, check, blocks = items
    if type(blocks) is not list or not blocks:
        raise MalformedChannel("channel holds no blocks")
    if len(blocks) > MAX_BLOCKS_PER_CHANNEL:
        raise MalformedChannel(f"channel holds more than {MAX_BLOCKS_PER_CHANNEL} blocks")
    first_number = _uint(first, "first block number")
    if first_number == 0:
        raise MalformedChannel("block 0 is the genesis block, it is never batched")
    return Channel(first_number, _fixed(parent, "parent hash", 32), _fixed(check, "origin check", ORIGIN_CHECK_BYTES),
                   tuple(_block(item, i) for i, item in enumerate(blocks)))
