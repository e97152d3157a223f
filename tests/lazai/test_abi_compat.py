"""The LazAI-compatible contracts expose every function and event alith's SDK calls, with the same types."""

from __future__ import annotations

import pytest

from hyperion.predeploys import plan as G
from hyperion.artifacts import load_artifact
from tests.lazai.evm_harness import abi_type

contracts = pytest.importorskip("alith.lazai.contracts", reason="alith is not installed (pip install alith)")

PAIRS = [
    ("DATA_REGISTRY_CONTRACT_ABI", "DataRegistry", "DEFAULT_DATA_REGISTRY_CONTRACT_ADDRESS", G.DATA_REGISTRY_ADDRESS),
    ("VERIFIED_COMPUTING_CONTRACT_ABI", "VerifiedComputing", "DEFAULT_VERIFIED_COMPUTING_CONTRACT_ADDRESS",
     G.VERIFIED_COMPUTING_ADDRESS),
    ("DATA_ANCHORING_TOKEN_CONTRACT_ABI", "DataAnchoringToken", "DEFAULT_DATA_ANCHORING_TOKEN_CONTRACT_ADDRESS",
     G.DATA_ANCHORING_TOKEN_ADDRESS),
    ("AI_PROCESS_CONTRACT_ABI", "AIProcess", "DEFAULT_QUERY_CONTRACT_ADDRESS", G.QUERY_ADDRESS),
    ("AI_PROCESS_CONTRACT_ABI", "AIProcess", "DEFAULT_INFERENCE_CONTRACT_ADDRESS", G.INFERENCE_ADDRESS),
    ("AI_PROCESS_CONTRACT_ABI", "AIProcess", "DEFAULT_TRAINING_CONTRACT_ADDRESS", G.TRAINING_ADDRESS),
    ("SETTLEMENT_CONTRACT_ABI", "Settlement", "DEFAULT_SETTLEMENT_CONTRACT_ADDRESS", G.SETTLEMENT_ADDRESS),
]


def _signature(entry: dict) -> str:
    return f"{entry['name']}({','.join(abi_type(i) for i in entry['inputs'])})"


def _by_signature(abi: list[dict], kind: str) -> dict[str, dict]:
    return {_signature(e): e for e in abi if e["type"] == kind}


@pytest.mark.parametrize("alith_abi_name,artifact,address_name,address", PAIRS)
def test_functions_and_events_match_alith(alith_abi_name, artifact, address_name, address):
    theirs = getattr(contracts, alith_abi_name)
    ours = load_artifact(artifact)["abi"]
    our_functions = _by_signature(ours, "function")
    for signature, entry in _by_signature(theirs, "function").items():
        assert signature in our_functions, f"{artifact} lacks {signature}"
        mine = our_functions[signature]
        assert [abi_type(o) for o in mine["outputs"]] == [abi_type(o) for o in entry["outputs"]], signature
        if entry["stateMutability"] in ("view", "pure"):
            assert mine["stateMutability"] in ("view", "pure"), signature
        if entry["stateMutability"] == "payable":
            assert mine["stateMutability"] == "payable", signature
    our_events = _by_signature(ours, "event")
    for signature, entry in _by_signature(theirs, "event").items():
        assert signature in our_events, f"{artifact} lacks event {signature}"
        assert [i.get("indexed", False) for i in our_events[signature]["inputs"]] == \
            [i.get("indexed", False) for i in entry["inputs"]]
    assert bytes.fromhex(getattr(contracts, address_name)[2:].lower()) == address
