"""Models as chain data: what the inference precompiles run is read from the state they run on.

``ModelStore`` (contracts/ai/ModelStore.vy) keeps a sealed model's bytes as
the code of data contracts and checked their keccak256 on chain when it was
sealed. ``ChainModels`` is the node-side reader the precompiles are bound to:
for a model hash it looks at the store's storage *in the executing state*;
unsealed means unknown, on every node, whatever files a node holds; sealed
means the bytes are rebuilt from the chunk contracts' code (or taken from the
local cache folder, keyed by hash and verified) and decoded once.

So a node never needs a model file to follow the chain: a node that lacks
the bytes reads them from chain data the first time a block calls the model,
before that block's result is known; a rollup follower has them because it
executed the publishing transactions it derived from L1. The local folder is
a cache and never decides anything.

The storage layout of ModelStore (slots from ``vyper -f layout``; a test
checks them): ``uploads`` (0), ``upload_chunks`` (1), ``sealed`` (2). Vyper
places ``HashMap[k]`` of slot ``p`` at ``keccak256(p ‖ k)``, struct members in
consecutive slots.
"""

from __future__ import annotations

import threading
from typing import Optional

from hyperion.ai.engine import Runner
from hyperion.ai.errors import AIError, InferenceError, ModelFormatError
from hyperion.ai.model import decode_model, model_hash
from hyperion.ai.store import ModelStore
from hyperion.ai.trace import STEP_INFO_GAS, DisputePlan, step
from hyperion.primitives.keccak import keccak256

UPLOADS_SLOT = 0
UPLOAD_CHUNKS_SLOT = 1
SEALED_SLOT = 2
MODEL_HASHES_SLOT = 4
CHUNK_BYTES = 24_000  # ModelStore.CHUNK_BYTES
MAX_MODEL_BYTES = 2_097_152  # ModelStore.MAX_MODEL_BYTES
WORD = 32


def _word(value: int | bytes) -> bytes:
    return value.rjust(WORD, b"\x00") if isinstance(value, bytes) else value.to_bytes(WORD, "big")


def mapping_slot(slot: int, key: int | bytes) -> int:
    """Storage slot of ``HashMap[key]`` declared at ``slot`` (Vyper's rule)."""
    return int.from_bytes(keccak256(_word(slot) + _word(key)), "big")


def upload_key(model_hash_: bytes, publisher: bytes) -> bytes:
    """ModelStore's key of one publisher's upload of a model."""
    return keccak256(bytes(model_hash_) + _word(bytes(publisher)))


class ChainModel:
    """A sealed model, decoded once: its runner and dispute plan."""

    __slots__ = ("runner", "plan")

    def __init__(self, runner: Runner):
        self.runner = runner
        self.plan = DisputePlan(runner.model)


class ChainModels:
    """The models a state's ModelStore holds, for the precompiles (see the module docstring).

    ``cache`` (optional) is a local ``ModelStore`` folder: bytes read from the
    chain are written there, and bytes found there are used only after the
    state says the model is sealed and their hash checks out.
    """

    def __init__(self, store_address: bytes, cache: Optional[ModelStore] = None):
        self.store_address = bytes(store_address)
        self.cache = cache
        self._models: dict[bytes, ChainModel] = {}
        self._invalid: set[bytes] = set()
        self._lock = threading.Lock()

    # -- reading the state -------------------------------------------------------------
    def sealed_upload(self, state, model_hash_: bytes) -> Optional[bytes]:
        """The upload key the state's ModelStore sealed for this model, or None."""
        key = state.get_storage(self.store_address, mapping_slot(SEALED_SLOT, model_hash_))
        return key.to_bytes(WORD, "big") if key else None

    def read_bytes(self, state, model_hash_: bytes) -> Optional[bytes]:
        """A sealed model's bytes rebuilt from the chunk contracts' code (None when not sealed)."""
        key = self.sealed_upload(state, model_hash_)
        if key is None:
            return None
        size = state.get_storage(self.store_address, mapping_slot(UPLOADS_SLOT, key))
        if not 0 < size <= MAX_MODEL_BYTES:
            return None
        chunks_base = mapping_slot(UPLOAD_CHUNKS_SLOT, key)
        parts = []
        for index in range(-(-size // CHUNK_BYTES)):
            pointer = state.get_storage(self.store_address, mapping_slot(chunks_base, index))
            parts.append(state.get_code(pointer.to_bytes(20, "big"))[1:])
        data = b"".join(parts)
        return data if len(data) == size and model_hash(data) == model_hash_ else None

    # -- what the precompiles use ------------------------------------------------------------
    def model(self, state, model_hash_: bytes) -> Optional[ChainModel]:
        """The sealed model ``model_hash_`` of this state, or None (never sealed, or not a valid model)."""
        model_hash_ = bytes(model_hash_)
        if len(model_hash_) != WORD or self.sealed_upload(state, model_hash_) is None:
            return None
        found = self._models.get(model_hash_)
        if found is not None:
            return found
        if model_hash_ in self._invalid:
            return None
        data = None
        if self.cache is not None:
            try:
                data = self.cache.get_bytes(model_hash_)  # verified against the hash
            except AIError:
                data = None
        from_chain = data is None
        if from_chain:
            data = self.read_bytes(state, model_hash_)
            if data is None:
                return None
        try:
            found = ChainModel(Runner(decode_model(data)))
        except ModelFormatError:
            with self._lock:
                self._invalid.add(model_hash_)  # sealed bytes never change: it stays invalid
            return None
        if from_chain and self.cache is not None:
            try:
                self.cache.put(data)
            except OSError:
                pass  # the cache is an optimisation; a full disk must not stop the node
        with self._lock:
            self._models[model_hash_] = found
        return found

    def runner(self, state, model_hash_: bytes) -> Optional[Runner]:
        found = self.model(state, model_hash_)
        return None if found is None else found.runner

    def _require(self, state, model_hash_: bytes) -> ChainModel:
        found = self.model(state, model_hash_)
        if found is None:
            raise InferenceError(f"model {bytes(model_hash_).hex()} is not available on this chain")
        return found

    def layer_info(self, state, model_hash_: bytes, layer: int) -> tuple[int, int, int, int, int]:
        """``(layer_count, chunks of tensor `layer`, its step state bytes, its step gas, verifiable)``.

        Layer 0 is the input (one chunk, no step); ``verifiable`` is 1 when the
        model can be disputed step by step (``DisputePlan.problems`` is empty).
        """
        plan = self._require(state, model_hash_).plan
        if not 0 <= layer <= plan.layer_count:
            raise InferenceError(f"layer {layer} out of range 0..{plan.layer_count}")
        verifiable = int(plan.verifiable)
        if layer == 0:
            return plan.layer_count, 1, 0, 0, verifiable
        return (plan.layer_count, plan.tensors[layer].chunks, plan.state_bytes(layer), plan.step_gas(layer, 0),
                verifiable)

    def info_gas(self) -> int:
        return STEP_INFO_GAS

    def step_gas(self, state, model_hash_: bytes, layer: int, chunk: int) -> int:
        plan = self._require(state, model_hash_).plan
        if not 1 <= layer <= plan.layer_count or not 0 <= chunk < plan.tensors[layer].chunks:
            raise InferenceError(f"no chunk {chunk} of layer {layer}")
        if not plan.verifiable:
            raise InferenceError("this model cannot be verified step by step: " + "; ".join(plan.problems))
        return plan.step_gas(layer, chunk)

    def step(self, state, model_hash_: bytes, layer: int, chunk: int, tensors: bytes) -> bytes:
        """``S_{layer-1} ‖ C_layer ‖ keccak(chunk)`` (see ``hyperion.ai.trace.step``)."""
        found = self._require(state, model_hash_)
        return b"".join(step(found.plan, layer, chunk, tensors, found.runner))


def with_ai_precompiles(base, cache: Optional[ModelStore] = None, store_address: Optional[bytes] = None):
    """``base`` (a ``Fork``) plus the AI precompiles reading models from the ModelStore predeploy.

    The hook for composition roots (``hyperion node``, a rollup sequencer or
    follower): the chain and the VM stay free of the AI layer, and every node
    built with it reads model bytes from the state it executes, so a follower
    that derives the publishing transactions from L1 has the models too.
    """
    from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
    from hyperion.vm.precompiles.inference import fork_with_inference

    return fork_with_inference(ChainModels(store_address or MODEL_STORE_ADDRESS, cache), base=base)


def ai_precompiles_variant(cache: Optional[ModelStore] = None, store_address: Optional[bytes] = None):
    """A fork variant (``ForkSchedule.variant``): every fork from Prague on plus the AI precompiles.

    All of them read models through one ``ChainModels``; older forks stay as
    they are. For chains whose forks come from a genesis schedule (a rollup's L2).
    """
    from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
    from hyperion.vm.forks import PRAGUE
    from hyperion.vm.precompiles.inference import fork_with_inference

    models = ChainModels(store_address or MODEL_STORE_ADDRESS, cache)

    def variant(fork):
        return fork if fork < PRAGUE else fork_with_inference(models, base=fork)

    return variant


def model_store_genesis() -> dict[bytes, dict]:
    """The ModelStore predeploy as a genesis alloc entry (its constructor stores nothing).

    For chains built outside ``hyperion node``'s dev genesis, e.g. a rollup's L2
    (``DevnetOptions.l2_alloc``), so that models can be published there.
    """
    from hyperion.artifacts import load_artifact
    from hyperion.predeploys.plan import MODEL_STORE_ADDRESS

    return {MODEL_STORE_ADDRESS: {"code": load_artifact("ModelStore")["runtime"], "storage": {}, "balance": 0,
                                  "nonce": 1}}


def model_storage(model_bytes: bytes, publisher: bytes, pointers: list[bytes], index: int) \
        -> dict[int, int]:
    """ModelStore storage that makes a model sealed (``index``: its position in ``model_hashes``).

    For genesis allocs and in-memory test chains; on a live chain ``publish_chunk``
    and ``seal`` write exactly these slots.
    """
    digest = model_hash(model_bytes)
    key = upload_key(digest, publisher)
    size = len(model_bytes)
    chunk_count = len(pointers)
    base = mapping_slot(UPLOADS_SLOT, key)
    storage = {base: size, base + 1: chunk_count, base + 2: chunk_count,
               mapping_slot(SEALED_SLOT, digest): int.from_bytes(key, "big"),
               MODEL_HASHES_SLOT + 1 + index: int.from_bytes(digest, "big")}
    chunks_base = mapping_slot(UPLOAD_CHUNKS_SLOT, key)
    for i, pointer in enumerate(pointers):
        storage[mapping_slot(chunks_base, i)] = int.from_bytes(pointer, "big")
    return storage


def chunk_codes(model_bytes: bytes) -> list[bytes]:
    """The code of each chunk contract: ``0x00 ‖ chunk`` (STOP first, so calling it does nothing)."""
    return [b"\x00" + model_bytes[i:i + CHUNK_BYTES] for i in range(0, len(model_bytes), CHUNK_BYTES)]


def install_model(state, store_address: bytes, model_bytes: bytes, publisher: bytes = b"\x00" * 20) -> bytes:
    """Write a sealed model straight into ``state`` (genesis-style; tests and benches). Returns its hash.

    The chunk contracts get addresses derived from the model hash; the
    store's model count grows by one.
    """
    decode_model(model_bytes)
    digest = model_hash(model_bytes)
    if state.get_storage(store_address, mapping_slot(SEALED_SLOT, digest)):
        return digest
    pointers = []
    for i, code in enumerate(chunk_codes(model_bytes)):
        pointer = keccak256(b"hyperion-model-chunk" + digest + i.to_bytes(4, "big"))[12:]
        state.set_code(pointer, code)
        state.set_nonce(pointer, 1)
        pointers.append(pointer)
    count = state.get_storage(store_address, MODEL_HASHES_SLOT)
    for slot, value in model_storage(model_bytes, publisher, pointers, count).items():
        state.set_storage(store_address, slot, value)
    state.set_storage(store_address, MODEL_HASHES_SLOT, count + 1)
    return digest
