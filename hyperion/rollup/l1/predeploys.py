"""The L2 side of the bridge: the L1Block and L2ToL1MessagePasser predeploys, for the rollup genesis.

Addresses and the depositor account follow the OP Stack, which is what users
and tools know. The contracts have no constructor state, so an alloc entry is
the runtime code with empty storage; ``l2_predeploys()`` gives the entries in
the shape of ``lazai_genesis_alloc`` and ``l2_predeploys_genesis_json()`` in
geth's genesis-JSON shape.
"""

from __future__ import annotations

from hyperion.artifacts import load_artifact


def _addr(hex_address: str) -> bytes:
    return bytes.fromhex(hex_address.removeprefix("0x"))


L1_BLOCK_ADDRESS = _addr("0x4200000000000000000000000000000000000015")
MESSAGE_PASSER_ADDRESS = _addr("0x4200000000000000000000000000000000000016")
# the system account that sends the L1-info deposit (the only writer of L1Block)
DEPOSITOR_ACCOUNT = _addr("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001")

# L2ToL1MessagePasser storage layout (checked against the compiled layout in the tests)
SENT_MESSAGES_SLOT = 0
MSG_NONCE_SLOT = 1

PREDEPLOYS: dict[str, bytes] = {
    "L1Block": L1_BLOCK_ADDRESS,
    "L2ToL1MessagePasser": MESSAGE_PASSER_ADDRESS,
}


def l2_predeploys() -> dict[bytes, dict]:
    """``{address: {"code", "storage", "balance", "nonce"}}`` for each L2 predeploy (a fresh dict each call)."""
    return {
        address: {"code": load_artifact(name)["runtime"], "storage": {}, "balance": 0, "nonce": 1}
        for name, address in PREDEPLOYS.items()
    }


def l2_predeploys_genesis_json() -> dict[str, dict]:
    """The same entries as a geth genesis ``alloc`` object (hex strings)."""
    return {
        "0x" + address.hex(): {"balance": "0x0", "nonce": hex(entry["nonce"]), "code": "0x" + entry["code"].hex(),
                               "storage": {}}
        for address, entry in l2_predeploys().items()
    }

