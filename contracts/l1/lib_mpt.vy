# pragma version ==0.4.3
# @title Merkle-Patricia proof verifier (RLP node decoding in Vyper)
# @notice Reads one value out of an Ethereum hexary trie (a contract's
#         storage trie) given its root and an EIP-1186 proof: the RLP nodes
#         on the path from the root to the key, root first, as eth_getProof
#         returns them. Nodes of 32 bytes or more are referenced by hash and
#         must each hash to the reference in their parent; shorter nodes are
#         embedded in their parent and are decoded in place, never listed.
#         Keys are 32-byte trie paths (keccak256 of the storage slot), so no
#         key is a prefix of another and branch values are never used.
# @dev    Every node is copied once into a buffer padded with 32 zero bytes,
#         so each read is one extract32 (an MLOAD), never a slice. Paths are
#         compared as whole words: at most one comparison per node.
#         A module: the build skips files named lib_*.vy.

# A branch node of a secure trie is at most 532 bytes (16 children of 33
# bytes, an empty value, a 3-byte list header); leaves and extensions are
# shorter. Proof nodes are capped a little above that.
MAX_NODE_BYTES: constant(uint256) = 600
PADDED_NODE_BYTES: constant(uint256) = MAX_NODE_BYTES + 32
# Hash-referenced nodes on one path. Real storage tries are under 10 deep;
# going deeper needs keys that share a long prefix (2^4 work per nibble).
MAX_PROOF_NODES: constant(uint256) = 24
KEY_NIBBLES: constant(uint256) = 64
# RLP prefixes (Vyper reads hex literals as bytes, so they are spelled in decimal):
# 0..127 a single byte; 128..183 a string of 0..55 bytes (128 = empty, 160 = 32 bytes);
# 184..191 a longer string; 192..247 a list of 0..55 bytes; 248..255 a longer list


@internal
@pure
def _read_length(node: Bytes[PADDED_NODE_BYTES], pos: uint256, size: uint256) -> uint256:
    """A big-endian length of `size` bytes (1 or 2: nodes are under 64 KiB) at `pos`."""
    assert size >= 1 and size <= 2, "mpt: bad RLP length"
    length: uint256 = extract32(node, pos, output_type=uint256) >> (256 - 8 * size)
    # canonical: no leading zero byte, and long forms only for 56+ bytes
    assert length >= 56 and length >> (8 * size - 8) != 0, "mpt: non-canonical RLP length"
    return length


@internal
@pure
def _item_length(node: Bytes[PADDED_NODE_BYTES], pos: uint256) -> uint256:
    """Total encoded length (header + payload) of the RLP item at `pos`."""
    prefix: uint256 = extract32(node, pos, output_type=uint256) >> 248
    if prefix < 128:
        return 1
    if prefix <= 183:
        return 1 + prefix - 128
    if prefix <= 191:
        return 1 + (prefix - 183) + self._read_length(node, pos + 1, prefix - 183)
    if prefix <= 247:
        return 1 + prefix - 192
    return 1 + (prefix - 247) + self._read_length(node, pos + 1, prefix - 247)


@internal
@pure
def _string_at(node: Bytes[PADDED_NODE_BYTES], pos: uint256) -> (uint256, uint256):
    """(payload offset, payload length) of the RLP string at `pos`; reverts on a list."""
    prefix: uint256 = extract32(node, pos, output_type=uint256) >> 248
    if prefix < 128:
        return pos, 1
    if prefix <= 183:
        return pos + 1, prefix - 128
    assert prefix <= 191, "mpt: expected a string, found a list"
    size: uint256 = prefix - 183
    return pos + 1 + size, self._read_length(node, pos + 1, size)


@internal
@pure
def _decode_uint(node: Bytes[PADDED_NODE_BYTES], offset: uint256, length: uint256) -> uint256:
    """A storage value: the leaf holds RLP(value), a canonical big-endian integer, never zero."""
    first: uint256 = extract32(node, offset, output_type=uint256) >> 248
    if length == 1:
        assert first != 0 and first < 128, "mpt: bad storage value"
        return first
    assert first > 128 and first <= 160 and length == first - 127, "mpt: bad storage value"
    size: uint256 = first - 128
    value: uint256 = extract32(node, offset + 1, output_type=uint256) >> (256 - 8 * size)
    assert value >> (8 * size - 8) != 0 and (size > 1 or value >= 128), "mpt: non-canonical storage value"
    return value


@internal
@pure
def storage_value(root: bytes32, path: bytes32, proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]) -> uint256:
    """The value of the storage slot whose trie path is `path` (keccak256 of the slot), in the
    storage trie whose root hash is `root`.

    Returns 0 when the proof shows the slot is empty (zero values are not
    stored). Reverts when the proof does not connect `path` to `root`: a
    node whose hash does not match, malformed RLP, missing or surplus nodes.
    """
    key: uint256 = convert(path, uint256)
    expected: bytes32 = root
    depth: uint256 = 0        # nibbles of the path consumed so far
    used: uint256 = 0         # proof nodes consumed so far
    embedded: bool = False    # the next node is already in `node` (it was inline in its parent)
    node: Bytes[PADDED_NODE_BYTES] = b""
    node_len: uint256 = 0
    starts: uint256[17] = empty(uint256[17])

    # each step consumes at least one nibble, except the final leaf
    for step: uint256 in range(KEY_NIBBLES + 1):
        if not embedded:
            assert used < len(proof), "mpt: proof is missing nodes"
            assert keccak256(proof[used]) == expected, "mpt: node does not match its hash"
            node_len = len(proof[used])
            node = concat(proof[used], empty(bytes32))
            used += 1
        embedded = False

        # list header
        prefix: uint256 = extract32(node, 0, output_type=uint256) >> 248
        pos: uint256 = 1
        assert prefix >= 192, "mpt: node is not an RLP list"
        if prefix <= 247:
            assert 1 + prefix - 192 == node_len, "mpt: node length mismatch"
        else:
            pos = 1 + prefix - 247
            assert pos + self._read_length(node, 1, prefix - 247) == node_len, "mpt: node length mismatch"

        # item offsets (2 or 17 items)
        count: uint256 = 0
        for i: uint256 in range(17):
            if pos >= node_len:
                break
            starts[i] = pos
            # branch children are nearly all empty (128) or 32-byte hashes (160): no call for those
            item_prefix: uint256 = extract32(node, pos, output_type=uint256) >> 248
            if item_prefix == 128:
                pos += 1
            elif item_prefix == 160:
                pos += 33
            else:
                pos += self._item_length(node, pos)
            count = i + 1
        assert pos == node_len, "mpt: node items do not fill the node"

        child: uint256 = 0
        if count == 17:
            assert depth < KEY_NIBBLES, "mpt: branch below the full key length"
            child = starts[(key >> (252 - 4 * depth)) & 15]
            depth += 1
        else:
            assert count == 2, "mpt: node is neither a branch nor a leaf/extension"
            offset: uint256 = 0
            length: uint256 = 0
            offset, length = self._string_at(node, starts[0])
            assert length >= 1 and length <= 33, "mpt: bad node path"
            first: uint256 = extract32(node, offset, output_type=uint256) >> 248
            flag: uint256 = first >> 4
            assert flag <= 3, "mpt: bad node path flag"
            nibbles: uint256 = 2 * (length - 1)
            bits: uint256 = 0
            if flag & 1 == 1:
                nibbles += 1
                bits = extract32(node, offset, output_type=uint256) << 4
            else:
                assert first & 15 == 0, "mpt: bad node path padding"
                bits = extract32(node, offset + 1, output_type=uint256)
            assert depth + nibbles <= KEY_NIBBLES, "mpt: node path longer than the key"
            # compare the node's nibbles with the key's next nibbles, as whole words
            unused: uint256 = 256 - 4 * nibbles
            if (bits >> unused) != ((key << (4 * depth)) >> unused):
                assert used == len(proof), "mpt: surplus proof nodes"
                return 0
            depth += nibbles
            if flag >= 2:
                assert depth == KEY_NIBBLES, "mpt: leaf ends before the key"
                assert used == len(proof), "mpt: surplus proof nodes"
                value_offset: uint256 = 0
                value_length: uint256 = 0
                value_offset, value_length = self._string_at(node, starts[1])
                return self._decode_uint(node, value_offset, value_length)
            assert nibbles > 0, "mpt: extension with an empty path"
            child = starts[1]

        # follow the child reference: empty, a 32-byte hash, or an embedded node
        child_prefix: uint256 = extract32(node, child, output_type=uint256) >> 248
        if child_prefix == 128:
            assert used == len(proof), "mpt: surplus proof nodes"
            return 0
        if child_prefix == 160:
            expected = extract32(node, child + 1)
        else:
            assert child_prefix >= 192 and child_prefix <= 247, "mpt: bad child reference"
            node_len = 1 + child_prefix - 192
            assert node_len < 32, "mpt: embedded node of 32 bytes or more"
            inline_node: bytes32 = extract32(node, child)  # the whole node: it is under 32 bytes
            node = concat(inline_node, empty(bytes32))
            embedded = True

    raise "mpt: path deeper than the key"
