# pragma version 0.4.3
# pragma evm-version cancun
"""
@title ModelStore
@notice Model bytes as chain data. A publisher sends a model's bytes in chunks of calldata; each
        chunk is kept as the code of a data contract (`0x00 ‖ chunk`, SSTORE2 style), so the bytes
        live in the state and every node that has the state has the model. `seal` joins the chunks
        in EVM memory, checks keccak256(bytes) == model hash on chain, and makes the model
        available: from then on the inference precompiles run it on every node, and before that on
        none, whatever files a node holds.
@dev Uploads are keyed by (model hash, publisher): nobody can spoil someone else's upload; the
     first complete upload whose bytes hash right wins. The join is done by a 52-byte helper
     (HASHER_RUNTIME below) that EXTCODECOPYs the chunks after each other and hashes the result;
     it is created on the first seal. Chunk contracts start with STOP, so calling them does nothing.
     Node-side readers (hyperion.ai.chainstore) read `sealed` and `upload_chunks` from storage.
"""

struct Upload:
    size: uint256
    chunk_count: uint256
    published: uint256

event ChunkPublished:
    model_hash: indexed(bytes32)
    publisher: indexed(address)
    index: uint256
    pointer: address
    size: uint256

event ModelSealed:
    model_hash: indexed(bytes32)
    publisher: indexed(address)
    size: uint256
    chunk_count: uint256

CHUNK_BYTES: constant(uint256) = 24000
MAX_MODEL_BYTES: constant(uint256) = 2097152
MAX_CHUNKS: constant(uint256) = 88  # ceil(MAX_MODEL_BYTES / CHUNK_BYTES)
MAX_MODELS: constant(uint256) = 65536
# initcode = PUSH2 len DUP1 PUSH1 12 PUSH1 0 CODECOPY PUSH1 0 RETURN, followed by the code to deploy
INITCODE_HEAD: constant(Bytes[1]) = x"61"
INITCODE_TAIL: constant(Bytes[9]) = x"80600c6000396000f3"
# keccak256 of the code (minus its first byte) of every address in an ABI-encoded address[]:
# for each word from 0x40: EXTCODECOPY(addr, mem_end, 1, codesize - 1); then KECCAK256(0, mem_end)
HASHER_INITCODE: constant(Bytes[64]) = x"61003480600c6000396000f3600060405b80361115610027578035803b6001900380600185843c9050820191506020016004565b5060002060005260206000f3"

uploads: public(HashMap[bytes32, Upload])
upload_chunks: public(HashMap[bytes32, HashMap[uint256, address]])
sealed: public(HashMap[bytes32, bytes32])
hasher: public(address)
model_hashes: public(DynArray[bytes32, MAX_MODELS])


@pure
@external
def upload_key(model_hash: bytes32, publisher: address) -> bytes32:
    return keccak256(concat(model_hash, convert(publisher, bytes32)))


@external
def publish_chunk(model_hash: bytes32, size: uint256, index: uint256, data: Bytes[CHUNK_BYTES]) -> address:
    """
    @notice Store chunk `index` of a `size`-byte model; chunks are CHUNK_BYTES long except the last.
    @return The data contract that holds the chunk.
    """
    assert self.sealed[model_hash] == empty(bytes32), "model already available"
    assert size > 0 and size <= MAX_MODEL_BYTES, "bad model size"
    key: bytes32 = keccak256(concat(model_hash, convert(msg.sender, bytes32)))
    upload: Upload = self.uploads[key]
    if upload.size == 0:
        upload = Upload(size=size, chunk_count=(size + CHUNK_BYTES - 1) // CHUNK_BYTES, published=0)
    assert upload.size == size, "size differs from this upload's"
    assert index < upload.chunk_count, "chunk index out of range"
    expected: uint256 = CHUNK_BYTES
    if index == upload.chunk_count - 1:
        expected = size - index * CHUNK_BYTES
    assert len(data) == expected, "wrong chunk length"
    if self.upload_chunks[key][index] == empty(address):
        upload.published += 1
    code_size: uint256 = len(data) + 1
    initcode: Bytes[24013] = concat(INITCODE_HEAD, convert(convert(code_size, uint16), bytes2), INITCODE_TAIL,
                                    x"00", data)
    pointer: address = raw_create(initcode)
    self.upload_chunks[key][index] = pointer
    self.uploads[key] = upload
    log ChunkPublished(model_hash=model_hash, publisher=msg.sender, index=index, pointer=pointer, size=size)
    return pointer


@external
def seal(model_hash: bytes32, publisher: address):
    """
    @notice Make `publisher`'s complete upload of `model_hash` available (anyone may call it).
    @dev Reverts unless every chunk is present and keccak256 of the joined bytes is `model_hash`.
    """
    assert self.sealed[model_hash] == empty(bytes32), "model already available"
    key: bytes32 = keccak256(concat(model_hash, convert(publisher, bytes32)))
    upload: Upload = self.uploads[key]
    assert upload.size > 0 and upload.published == upload.chunk_count, "upload incomplete"
    pointers: DynArray[address, MAX_CHUNKS] = []
    for i: uint256 in range(upload.chunk_count, bound=MAX_CHUNKS):
        pointers.append(self.upload_chunks[key][i])
    if self.hasher == empty(address):
        self.hasher = raw_create(HASHER_INITCODE)
    digest: Bytes[32] = raw_call(self.hasher, abi_encode(pointers), max_outsize=32, is_static_call=True)
    assert extract32(digest, 0) == model_hash, "bytes do not hash to the model hash"
    self.sealed[model_hash] = key
    self.model_hashes.append(model_hash)
    log ModelSealed(model_hash=model_hash, publisher=publisher, size=upload.size, chunk_count=upload.chunk_count)


@view
@external
def is_available(model_hash: bytes32) -> bool:
    return self.sealed[model_hash] != empty(bytes32)


@view
@external
def model_size(model_hash: bytes32) -> uint256:
    return self.uploads[self.sealed[model_hash]].size


@view
@external
def chunk(model_hash: bytes32, index: uint256) -> address:
    """
    @notice The data contract of chunk `index` of an available model (its code is 0x00 ‖ chunk).
    """
    return self.upload_chunks[self.sealed[model_hash]][index]


@view
@external
def model_count() -> uint256:
    return len(self.model_hashes)
