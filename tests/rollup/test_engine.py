"""RollupChain in process: building from attributes, block import of batched blocks, labels, rollbacks."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.chain.errors import ChainError, TxPoolError
from hyperion.chain.genesis import ChainConfig
from hyperion.chain.blocks import EMPTY_REQUESTS_HASH
from hyperion.chain.hdwallet import TEST_MNEMONIC, dev_accounts
from hyperion.chain.system import WITHDRAWAL_REQUEST_ADDRESS
from hyperion.chain.node import open_state_database
from hyperion.primitives.transactions import BlobTransaction, DepositTransaction, FeeMarketTransaction
from hyperion.rollup.batcher import block_batch
from hyperion.rollup.config import L1BlockId, RollupConfig
from hyperion.rollup.deposits import L1_BLOCK_ADDRESS, parse_l1_info
from hyperion.rollup.derivation import attributes
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.l1client import L1Block
from hyperion.rpc.formatting import format_receipt, format_transaction

ACCOUNTS = dev_accounts(TEST_MNEMONIC, 3)
GWEI = 10**9


def _config(genesis: dict | None = None) -> RollupConfig:
    return RollupConfig(
        l2_genesis=genesis or _genesis(), genesis_l1=L1BlockId(5, b"\x05" * 32), l1_chain_id=31337,
        portal=b"\x50" * 20, batch_inbox=b"\x51" * 20, output_oracle=b"\x52" * 20, batcher=b"\x53" * 20,
        proposer=b"\x54" * 20, block_time=2)


def _genesis() -> dict:
    """The dev chain's genesis (Prague, with its system contracts), as a rollup's L2 genesis is made."""
    config = ChainConfig(chain_id=901, genesis_timestamp=0x100, gas_limit=30_000_000, base_fee=GWEI,
                         dev_account_count=0, alloc={address: {"balance": 10**21} for address, _ in ACCOUNTS})
    return config.genesis_spec().to_dict()


def _l1(number: int, timestamp: int = 0x100) -> L1Block:
    return L1Block(number, bytes([number]) * 32, bytes([number - 1]) * 32, timestamp, 7, bytes([number + 100]) * 32,
                   None, 0)


def _transfer(nonce: int, value: int = 1) -> FeeMarketTransaction:
    return FeeMarketTransaction(901, nonce, GWEI, 10 * GWEI, 21000, b"\x77" * 20, value, b"").signed(ACCOUNTS[0][1])


def _deposit(mint: int) -> DepositTransaction:
    return DepositTransaction(b"\x31" * 32, ACCOUNTS[1][0], b"\x88" * 20, mint, mint, 100_000, False, b"")


def test_the_sequencer_builds_blocks_from_attributes_and_the_pool():
    config = _config()
    chain = RollupChain(config)
    chain.submit_transaction(_transfer(0))
    attrs = attributes(config, chain.head_ref(), _l1(6), [_deposit(5)])
    block = chain.build_block(attrs, from_pool=True)
    assert [tx.type for tx in block.transactions] == [0x7E, 0x7E, 2]
    assert block.transactions[0].to == L1_BLOCK_ADDRESS and block.header.timestamp == 0x102
    assert block.header.prev_randao == _l1(6).mix_hash
    ref = chain.head_ref()
    assert (ref.origin.number, ref.origin.hash, ref.origin.sequence_number) == (6, _l1(6).hash, 0)
    assert chain.state_at("latest").get_balance(b"\x88" * 20) == 5
    with pytest.raises(TxPoolError, match="not supported"):
        chain.submit_transaction(BlobTransaction(901, 1, GWEI, 10 * GWEI, 21000, b"\x01" * 20, 0, b"", (), 1,
                                                 (b"\x01" + bytes(31),)).signed(ACCOUNTS[0][1]))
    with pytest.raises(TxPoolError, match="deposit"):
        chain.send_raw_transaction(_deposit(1).encode())


def test_a_follower_imports_a_batched_block_and_refuses_a_wrong_claim_or_an_invalid_tx():
    config = _config()
    sequencer, follower = RollupChain(config), RollupChain(config)
    sequencer.submit_transaction(_transfer(0))
    attrs = attributes(config, sequencer.head_ref(), _l1(6), [_deposit(5)])
    block = sequencer.build_block(attrs, from_pool=True)
    entry = block_batch(sequencer, block)
    derived = dataclasses.replace(attrs, transactions=entry.transactions, claim=entry)
    wrong = dataclasses.replace(entry, state_root=b"\x01" * 32)
    with pytest.raises(InvalidBlock, match="INVALID_STATE_ROOT"):
        follower.import_block(follower.assemble_block(dataclasses.replace(derived, claim=wrong)))
    bad_nonce = dataclasses.replace(derived, transactions=(_transfer(3),))
    with pytest.raises(InvalidBlock, match="nonce"):
        follower.import_block(follower.assemble_block(bad_nonce))
    assert follower.head().number == 0  # nothing was committed
    follower.import_block(follower.assemble_block(derived))
    assert follower.head().hash == block.hash


def test_l2_users_eip7002_requests_are_claimed_in_the_batch_and_checked_by_import():
    """Anyone on L2 can queue an EIP-7002 request: the block's requests hash is then not the empty one, and the
    batch entry carries it so followers import the block (and refuse a batch that claims another)."""
    config = _config()
    sequencer, follower = RollupChain(config), RollupChain(config)
    request = FeeMarketTransaction(901, 0, GWEI, 10 * GWEI, 200_000, WITHDRAWAL_REQUEST_ADDRESS, 1,
                                   b"\x11" * 48 + (5).to_bytes(8, "big")).signed(ACCOUNTS[0][1])
    sequencer.submit_transaction(request)
    attrs = attributes(config, sequencer.head_ref(), _l1(6), [])
    block = sequencer.build_block(attrs, from_pool=True)
    assert len(block.transactions) == 2 and sequencer.receipt(request.hash).status == 1
    assert block.header.requests_hash != EMPTY_REQUESTS_HASH
    entry = block_batch(sequencer, block)
    assert entry.requests_hash == block.header.requests_hash
    derived = dataclasses.replace(attrs, transactions=entry.transactions, claim=entry)
    unclaimed = dataclasses.replace(derived, claim=dataclasses.replace(entry, requests_hash=EMPTY_REQUESTS_HASH))
    with pytest.raises(InvalidBlock, match="INVALID_REQUESTS"):
        follower.import_block(follower.assemble_block(unclaimed))
    follower.import_block(follower.assemble_block(derived))
    assert follower.head().hash == block.hash


def test_a_genesis_without_the_prague_system_contracts_is_refused():
    bare = {"config": {"chainId": 901}, "fork": "Prague", "timestamp": "0x100", "gasLimit": hex(30_000_000),
            "baseFeePerGas": hex(GWEI), "alloc": {}}
    with pytest.raises(ChainError, match="lacks the EIP-7002/EIP-7251 system contracts"):
        RollupChain(_config(bare))


def test_labels_persist_and_rollbacks_give_back_transactions(tmp_path):
    config = _config()
    chain = RollupChain(config, open_state_database(tmp_path))
    for n in range(3):
        chain.submit_transaction(_transfer(n))
        chain.build_block(attributes(config, chain.head_ref(), _l1(6), []), from_pool=True)
    chain.mark_safe(2, L1BlockId(9, b"\x09" * 32))
    chain.mark_finalized(1)
    assert chain.resolve_block("safe").number == 2 and chain.resolve_block("finalized").number == 1
    assert chain.resolve_block("latest").number == 3
    chain.close()
    chain = RollupChain(config, open_state_database(tmp_path))
    assert (chain.safe_number, chain.finalized_number) == (2, 1)
    assert chain.derived_from(2) == L1BlockId(9, b"\x09" * 32)
    assert parse_l1_info(chain.block_by_number(3).transactions[0]).sequence_number == 2
    chain.demote_safe(1)
    assert chain.safe_number == 1
    dropped = chain.rollback_to(1)
    assert [tx.nonce for tx in dropped] == [1, 2] and chain.head().number == 1
    with pytest.raises(Exception, match="finalized"):
        chain.rollback_to(0)
    chain.close()


def test_rpc_formats_deposits_as_op_geth():
    config = _config()
    chain = RollupChain(config)
    block = chain.build_block(attributes(config, chain.head_ref(), _l1(6), [_deposit(5)]), from_pool=False)
    tx = block.transactions[1]
    receipt = chain.receipt(tx.hash)
    body = format_transaction(tx, block.hash, 1, 1, block.header.base_fee, block.header.timestamp,
                              receipt.deposit_nonce)
    assert body["type"] == "0x7e" and body["mint"] == "0x5" and body["sourceHash"] == "0x" + "31" * 32
    assert (body["v"], body["r"], body["s"], body["gasPrice"]) == ("0x0", "0x0", "0x0", "0x0")
    assert body["nonce"] == "0x0" and body["depositReceiptVersion"] == "0x1" and "isSystemTx" not in body
    assert "chainId" not in body and "yParity" not in body
    formatted = format_receipt(receipt)
    assert formatted["depositNonce"] == "0x0" and formatted["depositReceiptVersion"] == "0x1"
    assert formatted["type"] == "0x7e" and formatted["effectiveGasPrice"] == "0x0"


def test_a_node_refuses_a_rollup_config_whose_genesis_is_not_its_own(tmp_path):
    config = _config()
    chain = RollupChain(config, open_state_database(tmp_path))
    genesis = chain.head().hash
    chain.close()
    config.genesis_l2_hash = b"\x01" * 32
    with pytest.raises(Exception, match="not the rollup's"):
        RollupChain(config, open_state_database(tmp_path))
    config.genesis_l2_hash = genesis
    RollupChain(config, open_state_database(tmp_path)).close()


def test_optimism_methods_are_absent_on_a_dev_node():
    from hyperion.chain.chain import Chain
    from hyperion.rpc.context import RpcContext
    from hyperion.rpc.errors import MethodNotFound
    from hyperion.rpc.methods.rollup import sync_status

    with pytest.raises(MethodNotFound):
        sync_status(RpcContext(Chain()))
