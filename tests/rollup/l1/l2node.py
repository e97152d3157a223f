"""A real Hyperion node as the L2 of the contract tests: its genesis holds the rollup predeploys."""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3

from hyperion.chain.genesis import ChainConfig
from hyperion.rollup.l1.predeploys import l2_predeploys_genesis_json
from tests.e2e.harness import NodeProcess

L2_CHAIN_ID = 424242


def start_l2_node(tmp_path: Path) -> tuple[NodeProcess, Web3]:
    """A ``hyperion node`` on MetisDB (``--data-dir``) with L1Block and L2ToL1MessagePasser predeployed."""
    # the dev chain's genesis (Prague, system contracts, funded dev accounts) plus the rollup predeploys;
    # a genesis file is taken exactly, so everything the node needs is written into it
    genesis = ChainConfig(chain_id=L2_CHAIN_ID, genesis_timestamp=0).genesis_spec().to_dict()
    genesis["alloc"].update(l2_predeploys_genesis_json())
    genesis_path = tmp_path / "l2-genesis.json"
    genesis_path.write_text(json.dumps(genesis))
    node = NodeProcess("--genesis", str(genesis_path), "--accounts", "10", "--data-dir", str(tmp_path / "l2-data"),
                       "--silent", log_path=tmp_path / "l2-node.log").start()
    return node, Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
