"""The predeploys load into the real Chain through ChainConfig.alloc (the wiring the node needs)."""

from __future__ import annotations

import pytest

from hyperion.lazai import genesis as G
from hyperion.primitives.keccak import keccak256

node_module = pytest.importorskip("hyperion.chain.node")


def test_chain_with_lazai_alloc_serves_the_contracts():
    from hyperion.chain.genesis import ChainConfig

    config = ChainConfig(chain_id=G.LAZAI_CHAIN_ID)
    admin = config.dev_accounts()[0][0]
    config.alloc = {**G.lazai_genesis_alloc(config.chain_id, admin), **config.alloc}
    node = node_module.Node(config)
    try:
        chain = node.chain
        selector = keccak256(b"classCount()")[:4]
        result = chain.call({"to": G.DAT_ADDRESS, "data": selector}, "latest")
        assert result.success and int.from_bytes(result.output, "big") == 1
        result = chain.call({"to": G.VERIFIED_COMPUTING_ADDRESS, "data": keccak256(b"admin()")[:4]}, "latest")
        assert result.output[12:] == admin
        state = chain.state_at(chain.head())
        for address, entry in G.lazai_genesis_alloc(config.chain_id, admin).items():
            assert state.get_code(address) == entry["code"]
    finally:
        node.close()
