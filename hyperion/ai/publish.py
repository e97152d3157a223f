"""Publishing a model's bytes to the chain, and reading them back from chain data alone.

``publish_model`` sends the bytes to ``ModelStore`` in chunks (resuming an
upload this key already started) and seals them; ``fetch_model`` rebuilds
a sealed model from any node's RPC (the store's views and ``eth_getCode``)
and checks its hash, which is how a watcher or a client gets a model it
never had.
"""

from __future__ import annotations

import logging
from typing import Optional

from web3 import Web3

from hyperion.ai.chainstore import CHUNK_BYTES, MAX_MODEL_BYTES
from hyperion.ai.errors import AIError, UnknownModel
from hyperion.ai.model import QuantizedModel, decode_model, model_hash
from hyperion.ai.web3tx import Signer, contract

log = logging.getLogger("hyperion.ai.publish")
CHUNK_GAS = 6_000_000  # a full 24,000-byte chunk costs about 5.4M gas


def publish_model(signer: Signer, store_address: bytes, model: QuantizedModel | bytes) -> bytes:
    """Put ``model`` on chain (chunks, then seal); returns its hash. A model already available is left as is."""
    data = model.encode() if isinstance(model, QuantizedModel) else bytes(model)
    decode_model(data)  # refuse to publish what no node could run
    if len(data) > MAX_MODEL_BYTES:
        raise AIError(f"a model on chain is at most {MAX_MODEL_BYTES} bytes, this one is {len(data)}")
    digest = model_hash(data)
    store = contract(signer.w3, "ModelStore", store_address)
    if store.functions.is_available(digest).call():
        log.info("model 0x%s is already on chain", digest.hex())
        return digest
    key = store.functions.upload_key(digest, signer.address).call()
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        if int(store.functions.upload_chunks(key, index).call(), 16):
            continue  # this key already sent the chunk: resume after it
        chunk = data[start:start + CHUNK_BYTES]
        signer.transact(store.functions.publish_chunk(digest, len(data), index, chunk), gas=CHUNK_GAS)
        log.info("published chunk %d of model 0x%s (%d bytes)", index, digest.hex(), len(chunk))
    signer.transact(store.functions.seal(digest, signer.address))
    log.info("sealed model 0x%s (%d bytes)", digest.hex(), len(data))
    return digest


def fetch_model(w3: Web3, store_address: bytes, digest: bytes) -> bytes:
    """A sealed model's bytes, rebuilt from chain data and checked against its hash."""
    store = contract(w3, "ModelStore", store_address)
    if not store.functions.is_available(digest).call():
        raise UnknownModel(f"model 0x{digest.hex()} is not on chain")
    size = store.functions.model_size(digest).call()
    parts = []
    for index in range(-(-size // CHUNK_BYTES)):
        pointer = store.functions.chunk(digest, index).call()
        parts.append(bytes(w3.eth.get_code(pointer))[1:])
    data = b"".join(parts)
    if len(data) != size or model_hash(data) != digest:
        raise UnknownModel(f"chain data for model 0x{digest.hex()} does not hash to it")
    return data


def fetch_decoded(w3: Web3, store_address: bytes, digest: bytes, cache=None) -> QuantizedModel:
    """``fetch_model`` through an optional local ``ModelStore`` cache (checked by hash either way)."""
    data: Optional[bytes] = None
    if cache is not None:
        try:
            data = cache.get_bytes(digest)
        except AIError:
            data = None
    if data is None:
        data = fetch_model(w3, store_address, digest)
        if cache is not None:
            cache.put(data)
    return decode_model(data)
