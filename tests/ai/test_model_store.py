"""ModelStore on an in-process chain: publishing rules, on-chain hash check, and the layout the node reads."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.ai.chainstore import (
    CHUNK_BYTES,
    MAX_MODEL_BYTES,
    MODEL_HASHES_SLOT,
    SEALED_SLOT,
    UPLOAD_CHUNKS_SLOT,
    UPLOADS_SLOT,
    ChainModels,
    model_storage,
)
from hyperion.ai.model import QuantizedModel, model_hash
from hyperion.ai.transformer import quantize_transformer, random_params
from hyperion.artifacts import load_artifact
from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
from hyperion.sdk import AIClient, HyperionClient
from hyperion.sdk import TransactionFailed as CallFailed
from hyperion.sdk.inprocess import InProcessNode

from .conftest import address_of_key, dev_key

STORE = "ModelStore"


class Chain:
    """An in-process node, an SDK client and the ModelStore predeploy."""

    def __init__(self, node: InProcessNode, keys: dict) -> None:
        self.node = node
        self.sdk = HyperionClient(web3=node.w3)
        self.ai = AIClient(self.sdk)
        self.store = self.ai.model_store
        self.keys = keys

    @property
    def state(self):
        """The head block's state, as the node's precompiles read it."""
        return self.node.chain.state_at(self.node.chain.head())

    def send(self, function, key: bytes, gas: int | None = None):
        return self.sdk.transact(function, sender=key, gas=gas)


@pytest.fixture
def chain():
    keys = {name: dev_key(f"store/{name}") for name in ("alice", "mallory")}
    # The SDK reads a failed transaction's reason by replaying it with eth_call, under the node's EVM deadline
    # (5 s of wall clock by default); a replay that runs out of it loses the reason these tests match, and
    # a starved test process can take that long. The deadline is not what these tests are about.
    with InProcessNode(funded={address_of_key(k): 10**24 for k in keys.values()}, rpc_evm_timeout=120.0) as node:
        yield Chain(node, keys)


@pytest.fixture(scope="module")
def big_model() -> QuantizedModel:
    """A transformer of more than two chunks (about 60 KB)."""
    params = random_params(vocab=64, seq_len=16, dim=64, heads=4, ff=128, blocks=1, seed=2)
    model = quantize_transformer(params, np.random.default_rng(0).integers(0, 64, (32, 16)))
    assert len(model.encode()) > 2 * CHUNK_BYTES
    return model


def _publish(chain: Chain, key, data: bytes, indexes=None) -> None:
    digest = model_hash(data)
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        if indexes is None or index in indexes:
            chain.send(chain.store.functions.publish_chunk(digest, len(data), index, data[start:start + CHUNK_BYTES]),
                       key, gas=6_000_000)


def test_publish_seal_and_read_back(chain, big_model):
    keys, store = chain.keys, chain.store.functions
    data, digest = big_model.encode(), big_model.content_hash
    alice = address_of_key(keys["alice"])
    _publish(chain, keys["alice"], data, indexes={0, 1})
    with pytest.raises(CallFailed, match="upload incomplete"):
        chain.send(store.seal(digest, alice), keys["alice"])
    _publish(chain, keys["alice"], data, indexes={2})
    assert not store.is_available(digest).call()
    chain.send(store.seal(digest, alice), keys["mallory"])  # anyone may seal
    assert store.is_available(digest).call()
    assert store.model_size(digest).call() == len(data)
    assert chain.ai.fetch_model(digest).encode() == data
    for index in range(3):  # each chunk is the code of a contract that starts with STOP
        pointer = store.chunk(digest, index).call()
        assert chain.sdk.code(pointer) == b"\x00" + data[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]
    with pytest.raises(CallFailed, match="already available"):
        _publish(chain, keys["mallory"], data, indexes={0})
    # the node-side reader agrees, and the storage is exactly what install_model writes
    state = chain.state
    assert ChainModels(MODEL_STORE_ADDRESS).read_bytes(state, digest) == data
    pointers = [bytes.fromhex(store.chunk(digest, i).call()[2:]) for i in range(3)]
    for slot, value in model_storage(data, bytes.fromhex(alice[2:]), pointers, 0).items():
        assert state.get_storage(MODEL_STORE_ADDRESS, slot) == value
    assert state.get_storage(MODEL_STORE_ADDRESS, MODEL_HASHES_SLOT) == 1


def test_a_wrong_upload_cannot_be_sealed_nor_block_a_right_one(chain, big_model):
    keys, store = chain.keys, chain.store.functions
    data, digest = big_model.encode(), big_model.content_hash
    forged = bytearray(data)
    forged[100] ^= 1
    forged = bytes(forged)
    mallory = address_of_key(keys["mallory"])
    for index, start in enumerate(range(0, len(forged), CHUNK_BYTES)):  # mallory uploads wrong bytes under the hash
        chain.send(store.publish_chunk(digest, len(forged), index, forged[start:start + CHUNK_BYTES]),
                   keys["mallory"], gas=6_000_000)
    with pytest.raises(CallFailed, match="do not hash to the model hash"):
        chain.send(store.seal(digest, mallory), keys["mallory"])
    assert ChainModels(MODEL_STORE_ADDRESS).model(chain.state, digest) is None
    _publish(chain, keys["alice"], data)  # alice's own upload is untouched by mallory's
    chain.send(store.seal(digest, address_of_key(keys["alice"])), keys["alice"])
    assert ChainModels(MODEL_STORE_ADDRESS).model(chain.state, digest) is not None


@pytest.mark.parametrize("case, message", [
    ("zero size", "bad model size"),
    ("over the cap", "bad model size"),
    ("index past the end", "chunk index out of range"),
    ("short middle chunk", "wrong chunk length"),
    ("size changed", "size differs"),
])
def test_bad_chunks_are_refused(chain, case, message):
    keys, store = chain.keys, chain.store.functions
    digest = b"\x07" * 32
    size, index, data = 50_000, 0, b"\x01" * CHUNK_BYTES
    if case == "zero size":
        size = 0
    elif case == "over the cap":
        size = MAX_MODEL_BYTES + 1
    elif case == "index past the end":
        index = 3
    elif case == "short middle chunk":
        data = b"\x01" * 100
    elif case == "size changed":
        chain.send(store.publish_chunk(digest, size, 0, data), keys["alice"], gas=6_000_000)
        size = 60_000
    with pytest.raises(CallFailed, match=message):
        chain.send(store.publish_chunk(digest, size, index, data), keys["alice"], gas=6_000_000)


def test_storage_slots_are_the_compiler_layout():
    """``chainstore`` reads ModelStore's storage directly: its slot numbers must be the compiler's."""
    vyper = pytest.importorskip("vyper")
    from vyper.compiler import compile_code

    from hyperion.artifacts.build import REPO_ROOT

    source = (REPO_ROOT / "contracts" / "ai" / "ModelStore.vy").read_text()
    layout = compile_code(source, output_formats=["layout"])["layout"]["storage_layout"]
    assert vyper.__version__.startswith(load_artifact(STORE)["vyper_version"])
    assert (layout["uploads"]["slot"], layout["upload_chunks"]["slot"], layout["sealed"]["slot"],
            layout["model_hashes"]["slot"]) == (UPLOADS_SLOT, UPLOAD_CHUNKS_SLOT, SEALED_SLOT, MODEL_HASHES_SLOT)
