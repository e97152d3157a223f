"""The committed rollup contract artifacts, their storage layout and selectors, the L2 predeploy alloc."""

from __future__ import annotations

import json

from hyperion.artifacts import artifact_dir, artifact_names, load_artifact
from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.predeploys import (
    L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS, MSG_NONCE_SLOT, SENT_MESSAGES_SLOT, l2_predeploys,
    l2_predeploys_genesis_json)

def _storage_layout(contract_set: str, name: str) -> dict:
    return json.loads((artifact_dir(contract_set) / f"{name}.json").read_text())["storage_layout"]


def test_the_rollup_sets_are_built():
    assert artifact_names("l1") == ["BatchInbox", "OutputOracle", "Portal", "SequencerStaking", "StakeResolver",
                                    "StakedBatcherAuthority", "ThresholdResolver"]
    assert artifact_names("l2") == ["L1Block", "L2ToL1MessagePasser"]


def test_message_passer_storage_layout_is_what_the_proofs_use():
    layout = _storage_layout("l2", "L2ToL1MessagePasser")
    assert layout["sentMessages"]["slot"] == SENT_MESSAGES_SLOT
    assert layout["sentMessages"]["type"] == "HashMap[bytes32, bool]"
    assert layout["msgNonce"]["slot"] == MSG_NONCE_SLOT


def _selectors(name: str) -> dict[bytes, str]:
    out = {}
    for entry in load_artifact(name)["abi"]:
        if entry["type"] == "function":
            signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
            out[keccak256(signature.encode())[:4]] = signature
    return out


def test_no_inbox_selector_can_swallow_a_versioned_batch():
    selectors = _selectors("BatchInbox")
    assert len(selectors) >= 5
    assert [s for sel, s in selectors.items() if sel[0] in (0x00, 0x01)] == []


def test_l2_predeploy_alloc_entries():
    alloc = l2_predeploys()
    assert set(alloc) == {L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS}
    assert alloc[MESSAGE_PASSER_ADDRESS]["code"] == load_artifact("L2ToL1MessagePasser")["runtime"]
    assert alloc[L1_BLOCK_ADDRESS]["code"] == load_artifact("L1Block")["runtime"]
    assert all(entry["storage"] == {} and entry["balance"] == 0 for entry in alloc.values())
    as_json = l2_predeploys_genesis_json()
    assert as_json["0x4200000000000000000000000000000000000016"]["code"].startswith("0x")
