"""The dev genesis composed above the chain layer loads into the real Chain as plain ChainConfig.alloc."""

from __future__ import annotations

from hyperion.chain.genesis import ChainConfig
from hyperion.chain.node import Node
from hyperion.predeploys import plan as G
from hyperion.predeploys.genesis import add_to_dev_genesis, predeploy_alloc
from hyperion.primitives.keccak import keccak256


def test_chain_with_the_dev_genesis_serves_the_contracts():
    config = ChainConfig(chain_id=G.LAZAI_CHAIN_ID)
    admin = config.dev_accounts()[0][0]
    add_to_dev_genesis(config)
    assert config.base_fee_recipient == G.FEE_VAULT_ADDRESS
    node = Node(config)
    try:
        chain = node.chain
        selector = keccak256(b"classCount()")[:4]
        result = chain.call({"to": G.DAT_ADDRESS, "data": selector}, "latest")
        assert result.success and int.from_bytes(result.output, "big") == 1
        result = chain.call({"to": G.VERIFIED_COMPUTING_ADDRESS, "data": keccak256(b"admin()")[:4]}, "latest")
        assert result.output[12:] == admin
        result = chain.call({"to": G.MODEL_REGISTRY_ADDRESS, "data": keccak256(b"governor()")[:4]}, "latest")
        assert result.output[12:] == G.PROTOCOL_GOVERNOR_ADDRESS  # the split is staker-governed, no admin
        state = chain.state_at(chain.head())
        for address, entry in predeploy_alloc(config.chain_id, admin).items():
            assert state.get_code(address) == entry["code"]
    finally:
        node.close()
