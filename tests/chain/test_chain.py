"""The Chain facade: genesis, mining transfers and deployments, receipts, logs, lookups."""

from __future__ import annotations

import pytest

from hyperion.chain.blocks import EMPTY_REQUESTS_HASH
from hyperion.chain.errors import BlockNotFound, ChainError
from hyperion.chain.system import (
    BEACON_ROOTS_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    HISTORY_STORAGE_CODE,
)
from hyperion.chain.hdwallet import dev_accounts
from hyperion.primitives.address import compute_create_address
from hyperion.primitives.bloom import bloom_contains, combine_blooms, logs_bloom
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.logs import Log
from hyperion.primitives.receipts import Receipt
from hyperion.state.memory import MemoryState
from hyperion.state.memorydb import MemoryStateDatabase
from hyperion.trie import ordered_trie_root

from .chain_helpers import GWEI, deploy_code, legacy, transfer


TOPIC = keccak256(b"Deposited(uint256)")
# CALLVALUE PUSH1 0 MSTORE PUSH32 TOPIC PUSH1 32 PUSH1 0 LOG1 STOP
LOGGER_RUNTIME = bytes.fromhex("34600052") + b"\x7f" + TOPIC + bytes.fromhex("60206000a100")


def _receipts_root(chain, block) -> bytes:
    encoded = []
    for r in chain.receipts(block):
        logs = tuple(Log(e.address, e.topics, e.data) for e in r.logs)
        encoded.append(Receipt(r.tx_type, bool(r.status), r.cumulative_gas_used, logs).encode())
    return ordered_trie_root(encoded)


def test_genesis_and_dev_accounts(chain):
    head = chain.head()
    assert head.number == 0
    assert chain.chain_id == 133717
    header = head.header
    assert header.base_fee == GWEI
    assert header.gas_limit == 30_000_000
    assert header.coinbase == b"\0" * 20
    assert header.timestamp == 1_700_000_000
    assert header.requests_hash == EMPTY_REQUESTS_HASH and header.blob_gas_used == 0
    accounts = chain.accounts()
    assert len(accounts) == 10
    assert accounts[0] == bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    assert chain.dev_accounts()[0][1] == bytes.fromhex(
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    with chain.state_at("latest") as state:
        assert all(state.get_balance(a) == 10_000 * 10**18 for a in accounts)
        assert state.get_code(HISTORY_STORAGE_ADDRESS) == HISTORY_STORAGE_CODE
        assert state.get_nonce(BEACON_ROOTS_ADDRESS) == 1
        assert header.state_root == state.state_root
    assert chain.block_by_hash(head.hash) is head or chain.block_by_hash(head.hash).hash == head.hash


def test_hd_wallet_matches_anvil():
    accounts = dev_accounts(count=3)
    assert accounts[1][0] == bytes.fromhex("70997970C51812dc3A010C7d01b50e0d17dc79C8")
    assert accounts[2][1] == bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")


def test_transfer_is_mined_with_receipt_and_roots(chain, dev):
    (sender, key), (recipient, _) = dev[0], dev[1]
    tx = transfer(key, 0, recipient, 5 * 10**18, tip=2 * GWEI, fee_cap=5 * GWEI)
    tx_hash = chain.send_raw_transaction(tx.encode())
    assert tx_hash == tx.hash
    block = chain.head()
    assert block.number == 1 and block.transactions[0].hash == tx_hash
    base_fee = block.header.base_fee
    assert base_fee == 875_000_000  # genesis was empty: -12.5%
    receipt = chain.receipt(tx_hash)
    assert (receipt.status, receipt.gas_used, receipt.cumulative_gas_used) == (1, 21000, 21000)
    assert receipt.effective_gas_price == base_fee + 2 * GWEI
    assert (receipt.sender, receipt.to, receipt.block_hash, receipt.tx_index) == (sender, recipient, block.hash, 0)
    with chain.state_at("latest") as state:
        assert state.get_balance(recipient) == 10_005 * 10**18
        assert state.get_balance(sender) == 10_000 * 10**18 - 5 * 10**18 - 21000 * receipt.effective_gas_price
        assert state.get_balance(b"\0" * 20) == 21000 * 2 * GWEI  # the tip goes to the coinbase
        assert state.get_nonce(sender) == 1
        assert block.header.state_root == state.state_root
    header = block.header
    assert header.transactions_root == ordered_trie_root([tx.encode()])
    assert header.receipts_root == _receipts_root(chain, block)
    assert header.parent_hash == chain.block_by_number(0).hash
    assert header.gas_used == 21000
    found = chain.transaction(tx_hash)
    assert found[0].hash == tx_hash and found[1].hash == block.hash and found[2] == 0


def test_contract_deployment_logs_and_filters(chain, dev):
    sender, key = dev[0]
    deploy = legacy(key, 0, None, gas=200_000, data=deploy_code(LOGGER_RUNTIME))
    chain.send_raw_transaction(deploy.encode())
    receipt = chain.receipt(deploy.hash)
    contract = compute_create_address(sender, 0)
    assert receipt.status == 1 and receipt.contract_address == contract and receipt.to is None
    with chain.state_at("latest") as state:
        assert state.get_code(contract) == LOGGER_RUNTIME

    call = transfer(key, 1, contract, 7, gas=60_000)
    chain.send_raw_transaction(call.encode())
    receipt = chain.receipt(call.hash)
    block = chain.head()
    assert receipt.status == 1 and len(receipt.logs) == 1
    entry = receipt.logs[0]
    assert entry.address == contract and entry.topics == (TOPIC,) and entry.data == (7).to_bytes(32, "big")
    assert (entry.block_number, entry.block_hash, entry.tx_hash, entry.log_index) == (2, block.hash, call.hash, 0)
    assert receipt.logs_bloom == logs_bloom([Log(contract, (TOPIC,), entry.data)])
    assert block.header.logs_bloom == combine_blooms([receipt.logs_bloom])
    assert bloom_contains(block.header.logs_bloom, contract)
    assert block.header.receipts_root == _receipts_root(chain, block)

    assert chain.get_logs(0, 10) == [entry]
    assert chain.get_logs(0, 10, addresses=[contract], topics=[TOPIC]) == [entry]
    assert chain.get_logs(0, 10, topics=[[keccak256(b"other"), TOPIC]]) == [entry]
    assert chain.get_logs(0, 10, topics=[None, TOPIC]) == []
    assert chain.get_logs(0, 10, addresses=[sender]) == []
    assert chain.get_logs(0, 0, block_hash=block.hash) == [entry]
    with pytest.raises(ChainError):
        chain.get_logs(0, 20_000)


def test_several_transactions_in_one_block(manual_chain):
    chain = manual_chain
    dev = chain.dev_accounts()
    sender, key = dev[0]
    deploy = legacy(key, 0, None, gas=200_000, data=deploy_code(LOGGER_RUNTIME))
    chain.send_raw_transaction(deploy.encode())
    chain.mine()
    contract = compute_create_address(sender, 0)
    txs = [transfer(dev[i][1], 0, contract, i, gas=60_000, tip=(10 - i) * GWEI, fee_cap=20 * GWEI) for i in (1, 2, 3)]
    for tx in txs:
        chain.send_raw_transaction(tx.encode())
    assert chain.head().number == 1
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [t.hash for t in txs]  # highest tip first
    receipts = chain.receipts(block)
    assert [r.cumulative_gas_used for r in receipts] == [sum(r.gas_used for r in receipts[: i + 1]) for i in range(3)]
    assert [r.logs[0].log_index for r in receipts] == [0, 1, 2]
    assert [r.logs[0].tx_index for r in receipts] == [0, 1, 2]
    assert [chain.receipt(t.hash) for t in txs] == receipts  # one receipt alone equals its place in the block
    assert block.header.receipts_root == _receipts_root(chain, block)
    assert block.header.transactions_root == ordered_trie_root([t.encode() for t in txs])


def test_blockhash_history_and_beacon_root_contracts(chain, dev):
    chain.mine(3)
    head = chain.head()
    # BLOCKHASH(NUMBER-1) then return it: NUMBER PUSH1 1 SWAP1 SUB BLOCKHASH PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    code = bytes.fromhex("4360019003406000526020" + "6000f3")
    result = chain.call({"to": b"\x11" * 20}, "latest", state_overrides={b"\x11" * 20: {"code": code}})
    assert result.success and result.output == chain.block_by_number(head.number - 1).hash
    with chain.state_at("latest") as state:
        for number in range(head.number):
            assert state.get_storage(HISTORY_STORAGE_ADDRESS, number % 8191) == int.from_bytes(
                chain.block_by_number(number).hash, "big")
        ts = head.header.timestamp
        assert state.get_storage(BEACON_ROOTS_ADDRESS, ts % 8191) == ts
    # the history contract serves a block hash to a caller
    served = chain.call({"to": HISTORY_STORAGE_ADDRESS, "data": (head.number - 2).to_bytes(32, "big")})
    assert served.success and served.output == chain.block_by_number(head.number - 2).hash


def test_block_specs_and_lookups(chain, dev):
    chain.mine(2)
    head = chain.head()
    assert chain.resolve_block("latest") is head
    assert chain.resolve_block("pending").number == head.number
    assert chain.resolve_block("earliest").number == 0
    assert chain.resolve_block(1).number == 1
    assert chain.resolve_block({"blockHash": head.hash}).number == head.number
    assert chain.resolve_block({"blockNumber": 1}).number == 1
    with pytest.raises(BlockNotFound):
        chain.resolve_block(99)
    with pytest.raises(BlockNotFound):
        chain.resolve_block({"blockHash": b"\x01" * 32})
    assert chain.block_by_number(99) is None
    assert chain.transaction(b"\x02" * 32) is None and chain.receipt(b"\x02" * 32) is None


def test_new_block_and_pending_events(chain, dev):
    seen_blocks, seen_txs = [], []
    unsubscribe = chain.on_new_block(lambda block, receipts: seen_blocks.append((block.number, len(receipts))))
    chain.on_pending_transaction(seen_txs.append)
    tx = transfer(dev[0][1], 0, dev[1][0])
    chain.send_raw_transaction(tx.encode())
    assert seen_blocks == [(1, 1)] and seen_txs == [tx.hash]
    unsubscribe()
    chain.mine()
    assert seen_blocks == [(1, 1)]


def test_send_transaction_fills_defaults(chain, dev):
    sender, recipient = dev[0][0], dev[1][0]
    tx_hash = chain.send_transaction({"from": sender, "to": recipient, "value": 1})
    tx = chain.transaction(tx_hash)[0]
    assert tx.type == 2 and tx.gas == 21000 and tx.nonce == 0 and tx.sender == sender
    legacy_hash = chain.send_transaction({"from": sender, "to": recipient, "gasPrice": 3 * GWEI})
    tx = chain.transaction(legacy_hash)[0]
    assert tx.type == 0 and tx.nonce == 1 and tx.chain_id == 133717
    with pytest.raises(ChainError):
        chain.send_transaction({"from": b"\x42" * 20, "to": recipient})


def test_blob_transaction_in_network_form(chain, dev):
    import hashlib

    from hyperion.primitives import rlp
    from hyperion.primitives.transactions import BlobTransaction

    from .chain_helpers import CHAIN_ID

    sender, key = dev[0]
    commitment = b"\xc0" + b"\x11" * 47
    versioned = b"\x01" + hashlib.sha256(commitment).digest()[1:]
    tx = BlobTransaction(CHAIN_ID, 0, GWEI, 10 * GWEI, 21000, dev[1][0], 0, b"", (), 10, (versioned,)).signed(key)
    body = rlp.decode(tx.encode()[1:])
    wrapper = b"\x03" + rlp.encode([body, [b"\x00" * 131072], [commitment], [b"\x00" * 48]])
    bad = b"\x03" + rlp.encode([body, [b"\x00" * 131072], [b"\x01" * 48], [b"\x00" * 48]])
    with pytest.raises(ChainError, match="invalid blob sidecar"):
        chain.send_raw_transaction(bad)
    assert chain.send_raw_transaction(wrapper) == tx.hash
    receipt = chain.receipt(tx.hash)
    assert receipt.tx_type == 3 and receipt.blob_gas_used == 2**17 and receipt.blob_gas_price == 1
    assert chain.head().header.blob_gas_used == 2**17


def test_chain_from_geth_genesis(tmp_path):
    import json

    from hyperion.chain.chain import Chain
    from hyperion.chain.genesis import ChainConfig, InvalidGenesis
    from hyperion.state.memorydb import MemoryStateDatabase

    genesis = {
        "config": {"chainId": 4242, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0,
                   "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0, "istanbulBlock": 0,
                   "berlinBlock": 0, "londonBlock": 0, "terminalTotalDifficulty": 0, "shanghaiTime": 0,
                   "cancunTime": 0, "pragueTime": 0},
        "gasLimit": "0x1c9c380", "baseFeePerGas": "0x3b9aca00", "timestamp": "0x10", "extraData": "0xcafe",
        "alloc": {
            "0x1111111111111111111111111111111111111111": {"balance": "1000", "code": "0x6001",
                                                           "storage": {"0x01": "0x02"}},
            "2222222222222222222222222222222222222222": {"balance": "0x10", "nonce": "0x3"},
        },
    }
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(genesis))
    config = ChainConfig.from_genesis_file(path, dev_account_count=2)
    chain = Chain(config, MemoryStateDatabase())
    header = chain.head().header
    assert chain.chain_id == 4242 and header.gas_limit == 30_000_000 and header.timestamp == 16
    assert header.extra_data == b"\xca\xfe" and len(chain.accounts()) == 2
    with chain.state_at("latest") as state:
        assert state.get_balance(b"\x11" * 20) == 1000 and state.get_code(b"\x11" * 20) == b"\x60\x01"
        assert state.get_storage(b"\x11" * 20, 1) == 2 and state.get_nonce(b"\x22" * 20) == 3
    path.write_text('{"alloc": {"0x12": {}}}')
    with pytest.raises(InvalidGenesis):
        ChainConfig.from_genesis_file(path)
    with pytest.raises(InvalidGenesis):
        ChainConfig.from_genesis_file(tmp_path / "missing.json")


def test_long_chain_keeps_every_block_state_and_root(chain, dev):
    """Past the point where the system contracts' storages are frozen per block (in memory):
    historical reads, eth_call on old blocks and every header's state root stay exact."""
    sender, key = dev[0]
    chain.mine(300)
    chain.send_raw_transaction(transfer(key, 0, b"\x22" * 20, 5).encode())
    head = chain.head()
    for number in (1, 150, 299, head.number):
        block = chain.block_by_number(number)
        ts = block.header.timestamp
        with chain.state_at(number) as state:
            assert state.state_root == block.header.state_root
            assert state.get_storage(BEACON_ROOTS_ADDRESS, ts % 8191) == ts
            assert state.get_storage(BEACON_ROOTS_ADDRESS, (ts + 1) % 8191) == 0
            assert state.get_storage(HISTORY_STORAGE_ADDRESS, number - 1) == int.from_bytes(
                chain.block_by_number(number - 1).hash, "big")
            assert state.get_storage(HISTORY_STORAGE_ADDRESS, number) == 0
        # an old block's state can still be executed on (its frozen storages are copied out)
        served = chain.call({"to": HISTORY_STORAGE_ADDRESS, "data": (number - 1).to_bytes(32, "big")}, number)
        assert served.success and served.output == chain.block_by_number(number - 1).hash
    with chain.state_at("latest") as state:
        assert state.get_balance(b"\x22" * 20) == 5
    if isinstance(chain.db, MemoryStateDatabase):
        # the incrementally maintained root equals a from-scratch rebuild of the same accounts
        rebuilt = MemoryState()
        for address, account in chain.db.reader()._state.accounts():
            rebuilt.set_account(address, nonce=account.nonce, balance=account.balance, code=account.code,
                                storage=dict(account.storage.items()))
        assert rebuilt.state_root() == head.header.state_root
