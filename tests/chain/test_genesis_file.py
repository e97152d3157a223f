"""Genesis files are taken exactly as geth takes them: fields per fork, nothing added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperion.chain.blocks import EMPTY_REQUESTS_HASH, EMPTY_TRIE_ROOT
from hyperion.chain.chain import Chain
from hyperion.chain.consensus import INITIAL_BASE_FEE, MIN_DIFFICULTY
from hyperion.chain.genesis import ChainConfig, Genesis, InvalidGenesis
from hyperion.chain.node import genesis_hash_of
from hyperion.chain.system import HISTORY_STORAGE_ADDRESS
from hyperion.state.memorydb import MemoryStateDatabase

RPC_COMPAT = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "rpc-compat"
BLOCK_FORKS = ("homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
               "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock")


def _genesis(**config) -> dict:
    return {"config": {"chainId": 5, **config}, "gasLimit": "0x1000000", "baseFeePerGas": "0x7",
            "alloc": {"0x" + "ab" * 20: {"balance": "100"}}}


def test_fields_follow_the_forks_active_at_genesis():
    berlin = Genesis.from_dict(_genesis(ethash={}, **{k: 0 for k in BLOCK_FORKS})).header(EMPTY_TRIE_ROOT)
    assert berlin.base_fee is None and berlin.withdrawals_root is None  # baseFeePerGas ignored before London
    assert berlin.difficulty == MIN_DIFFICULTY  # ethash chain without a difficulty: geth's default
    london = Genesis.from_dict({**_genesis(londonBlock=0), "baseFeePerGas": None}).header(EMPTY_TRIE_ROOT)
    assert london.base_fee == INITIAL_BASE_FEE and london.difficulty == 0
    later = Genesis.from_dict(_genesis(londonBlock=0, shanghaiTime=100, terminalTotalDifficulty=0))
    assert later.header(EMPTY_TRIE_ROOT).withdrawals_root is None and later.header(EMPTY_TRIE_ROOT).base_fee == 7
    prague = Genesis.from_dict({**_genesis(londonBlock=0, terminalTotalDifficulty=0, shanghaiTime=0,
                                           cancunTime=0, pragueTime=0), "excessBlobGas": "0x20000"})
    header = prague.header(EMPTY_TRIE_ROOT)
    assert header.withdrawals_root == EMPTY_TRIE_ROOT and header.excess_blob_gas == 0x20000
    assert header.blob_gas_used == 0 and header.parent_beacon_block_root == b"\0" * 32
    assert header.requests_hash == EMPTY_REQUESTS_HASH
    assert prague.block(EMPTY_TRIE_ROOT).withdrawals == []


def test_nothing_is_added_to_a_genesis_file():
    document = _genesis(londonBlock=0, terminalTotalDifficulty=0, shanghaiTime=0, cancunTime=0, pragueTime=0)
    config = ChainConfig.from_genesis(Genesis.from_dict(document))
    chain = Chain(config, MemoryStateDatabase())
    try:
        assert chain.head().hash == genesis_hash_of(config.genesis)
        assert chain.accounts() == []
        with chain.state_at("latest") as state:
            assert state.get_balance(b"\xab" * 20) == 100
            assert state.get_code(HISTORY_STORAGE_ADDRESS) == b""  # the dev genesis would add it
    finally:
        chain.close()
    dev = Chain(ChainConfig(genesis_timestamp=1), MemoryStateDatabase())
    try:
        with dev.state_at("latest") as state:
            assert state.get_code(HISTORY_STORAGE_ADDRESS) != b""  # ... and does
    finally:
        dev.close()


def test_header_fields_and_bad_files(tmp_path):
    genesis = Genesis.from_dict({**_genesis(), "nonce": "0x42", "extraData": "0x1234", "timestamp": "0x10",
                                 "mixHash": "0x" + "11" * 32, "coinbase": "0x" + "22" * 20, "difficulty": "0x400"})
    header = genesis.header(EMPTY_TRIE_ROOT)
    assert header.nonce == bytes(7) + b"\x42" and header.extra_data == b"\x12\x34" and header.timestamp == 16
    assert header.prev_randao == b"\x11" * 32 and header.coinbase == b"\x22" * 20 and header.difficulty == 0x400
    assert header.gas_limit == 0x1000000 and header.number == 0
    for bad in ({"config": []}, {"config": {"londonBlock": "x"}}, {"extraData": "0x" + "00" * 33},
                {"alloc": {"0x12": {}}}, {"nonce": "0x" + "00" * 9}, {"fork": "Futureland"}):
        with pytest.raises(InvalidGenesis):
            Genesis.from_dict(bad)
    path = tmp_path / "g.json"
    path.write_text("{")
    with pytest.raises(InvalidGenesis, match="cannot read genesis file"):
        Genesis.from_file(path)


def test_stored_form_rebuilds_the_same_rules():
    genesis = Genesis.from_dict(_genesis(londonBlock=3, terminalTotalDifficulty=100, shanghaiTime=50,
                                         blobSchedule={"cancun": {"target": 1, "max": 2,
                                                                  "baseFeeUpdateFraction": 3}}))
    again = Genesis.from_stored_form(genesis.stored_form())
    assert again.chain_id == 5 and again.schedule.describe() == genesis.schedule.describe()
    assert again.schedule.blob_params("Cancun") == genesis.schedule.blob_params("Cancun")
    assert again.header(EMPTY_TRIE_ROOT).difficulty == genesis.header(EMPTY_TRIE_ROOT).difficulty


@pytest.mark.skipif(not (RPC_COMPAT / "genesis.json").is_file(), reason="rpc-compat fixtures not found")
def test_rpc_compat_genesis_hash():
    genesis = Genesis.from_file(RPC_COMPAT / "genesis.json")
    assert genesis_hash_of(genesis).hex() == "44fd89d504659cd58f48f4796b77a7e7012cf296a2409afa2f6c3cb99b5b3d99"
    document = json.loads((RPC_COMPAT / "genesis.json").read_text())
    assert len(genesis.alloc) == len(document["alloc"])


def test_a_genesis_can_route_the_base_fee_as_the_dev_chain_does():
    """Hyperion's ``config.baseFeeRecipient``: part of the chain's rules, kept with an initialized chain."""
    vault = "0x" + "fe" * 20
    genesis = Genesis.from_dict(_genesis(londonBlock=0, terminalTotalDifficulty=0, baseFeeRecipient=vault))
    assert genesis.chain_spec().base_fee_recipient == b"\xfe" * 20
    assert Genesis.from_stored_form(genesis.stored_form()).chain_spec().base_fee_recipient == b"\xfe" * 20
    assert Genesis.from_dict(_genesis(londonBlock=0)).chain_spec().base_fee_recipient is None


def test_the_dev_genesis_written_as_a_file_reads_back_to_the_same_block():
    dev = ChainConfig(genesis_timestamp=5, dev_account_count=2).genesis_spec()
    again = Genesis.from_dict(json.loads(json.dumps(dev.to_dict())))
    assert genesis_hash_of(again) == genesis_hash_of(dev)
    assert again.schedule.fork_name_at(0, 0) == "Prague" and len(again.alloc) == len(dev.alloc)
