"""A small in-memory stand-in for the ``Chain`` facade, for RPC-layer unit tests.

It keeps blocks, balances and logs in dictionaries and never runs the EVM;
the tests exercise parsing, formatting, dispatch and transport, not the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hyperion.chain.blocks import Block, Header
from hyperion.chain.errors import BlockNotFound, ExecutionReverted, TxPoolError
from hyperion.chain.records import LogEntry, TxReceipt
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import decode_transaction

ZERO32 = b"\0" * 32
REVERT_SELECTOR = bytes.fromhex("deadbeef")


def error_string_payload(reason: str) -> bytes:
    encoded = reason.encode()
    padded = encoded + b"\0" * (-len(encoded) % 32)
    return (bytes.fromhex("08c379a0") + (32).to_bytes(32, "big") + len(encoded).to_bytes(32, "big") + padded)


@dataclass
class FakeCallResult:
    output: bytes
    gas_used: int
    success: bool
    revert_data: Optional[bytes] = None
    error: Optional[str] = None


class FakeState:
    def __init__(self, chain: "FakeChain") -> None:
        self.chain = chain
        self.closed = False

    def get_balance(self, address: bytes) -> int:
        return self.chain.balances.get(address, 0)

    def get_nonce(self, address: bytes) -> int:
        return self.chain.nonces.get(address, 0)

    def get_code(self, address: bytes) -> bytes:
        return self.chain.codes.get(address, b"")

    def get_storage(self, address: bytes, key: int) -> int:
        return self.chain.storage.get((address, key), 0)

    def account_proof(self, address: bytes, slots) -> dict:
        return {"address": address, "accountProof": [b"\x01\x02"], "balance": self.get_balance(address),
                "codeHash": keccak256(self.get_code(address)), "nonce": self.get_nonce(address),
                "storageHash": ZERO32,
                "storageProof": [{"key": slot, "value": self.get_storage(address, slot), "proof": []}
                                 for slot in slots]}

    def close(self) -> None:
        self.closed = True


class FakeChain:
    chain_id = 1337

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.balances: dict[bytes, int] = {}
        self.nonces: dict[bytes, int] = {}
        self.codes: dict[bytes, bytes] = {}
        self.storage: dict[tuple[bytes, int], int] = {}
        self.pool: dict[bytes, Any] = {}
        self.receipts_by_block: dict[bytes, list] = {}
        self.block_listeners: list = []
        self.pending_listeners: list = []
        self.seen: set[bytes] = set()
        self.calls: list = []
        self._append_block([])

    # -- blocks ------------------------------------------------------------------------

    def _append_block(self, transactions: list, logs_per_tx: int = 0) -> Block:
        number = len(self.blocks)
        parent = self.blocks[-1].hash if self.blocks else ZERO32
        header = Header(parent, keccak256(b"\xc0"), b"\0" * 20, ZERO32, ZERO32, ZERO32, b"\0" * 256, 0,
                        number, 30_000_000, 21_000 * len(transactions), 1_700_000_000 + number, b"", ZERO32,
                        b"\0" * 8, 1_000_000_000, ZERO32, 0, 0, ZERO32, ZERO32)
        block = Block(header, transactions)
        self.blocks.append(block)
        receipts = []
        for index, tx in enumerate(transactions):
            logs = [LogEntry(b"\x11" * 20, (b"\x22" * 32,), b"\x33", number, block.hash, tx.hash, index, index)
                    for _ in range(logs_per_tx)]
            receipts.append(TxReceipt(tx.hash, index, block.hash, number, tx.sender, tx.to, None,
                                      21_000 * (index + 1), 21_000, 1_000_000_000, 1, logs, b"\0" * 256, tx.type))
        self.receipts_by_block[block.hash] = receipts
        for listener in list(self.block_listeners):
            listener(block, receipts)
        return block

    def head(self) -> Block:
        return self.blocks[-1]

    def block_by_number(self, number: int) -> Optional[Block]:
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    def block_by_hash(self, block_hash: bytes) -> Optional[Block]:
        return next((b for b in self.blocks if b.hash == block_hash), None)

    def resolve_block(self, spec: Any) -> Block:
        if spec in ("latest", "pending", "safe", "finalized"):
            return self.head()
        if spec == "earliest":
            return self.blocks[0]
        if isinstance(spec, dict):
            if "blockHash" in spec:
                block = self.block_by_hash(spec["blockHash"])
            else:
                return self.resolve_block(spec["blockNumber"])
        else:
            block = self.block_by_number(spec)
        if block is None:
            raise BlockNotFound("header not found")
        return block

    def state_at(self, block: Any) -> FakeState:
        return FakeState(self)

    def receipts(self, block: Block) -> list:
        return self.receipts_by_block.get(block.hash, [])

    def receipt(self, tx_hash: bytes):
        for receipts in self.receipts_by_block.values():
            for receipt in receipts:
                if receipt.tx_hash == tx_hash:
                    return receipt
        return None

    def transaction(self, tx_hash: bytes):
        if tx_hash in self.pool:
            return self.pool[tx_hash], None, None
        for block in self.blocks:
            for index, tx in enumerate(block.transactions):
                if tx.hash == tx_hash:
                    return tx, block, index
        return None

    def get_logs(self, first: int, last: int, addresses, topics, block_hash=None) -> list:
        found = []
        for block in self.blocks[first:last + 1]:
            for receipt in self.receipts(block):
                found.extend(receipt.logs)
        return found

    # -- transactions ---------------------------------------------------------------------

    def send_raw_transaction(self, raw: bytes) -> bytes:
        tx = decode_transaction(raw)
        if tx.hash in self.seen:
            raise TxPoolError("already known")
        self.seen.add(tx.hash)
        for listener in list(self.pending_listeners):
            listener(tx.hash)
        self._append_block([tx], logs_per_tx=1)
        return tx.hash

    def call(self, fields, spec, state_overrides=None, block_overrides=None):
        self.calls.append((fields, spec, state_overrides, block_overrides))
        data = fields.get("data", b"")
        if data[:4] == REVERT_SELECTOR:
            return FakeCallResult(b"", 30_000, False, error_string_payload("boom"), "execution reverted")
        return FakeCallResult(data[::-1], 21_000, True)

    def estimate_gas(self, fields, spec, state_overrides=None) -> int:
        if fields.get("data", b"")[:4] == REVERT_SELECTOR:
            raise ExecutionReverted(error_string_payload("boom"), "boom")
        return 21_000

    def accounts(self) -> list[bytes]:
        return [b"\xaa" * 20]

    def gas_price(self) -> int:
        return 2_000_000_000

    def max_priority_fee(self) -> int:
        return 1_000_000_000

    def mine(self, blocks: int = 1, timestamp=None) -> list:
        return [self._append_block([]) for _ in range(blocks)]

    def on_new_block(self, callback):
        self.block_listeners.append(callback)
        return lambda: self.block_listeners.remove(callback)

    def on_pending_transaction(self, callback):
        self.pending_listeners.append(callback)
        return lambda: self.pending_listeners.remove(callback)
