# pragma version ==0.4.3
# @title Signature helpers (stateless module)
# @notice Recovers the signer of an `eth_sign` (EIP-191 "personal") signature
#         over a 32-byte hash, the scheme alith's SDK uses for proofs and
#         settlements.

SECP256K1_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168  # secp256k1 n / 2


@internal
@pure
def _eth_signed_hash(message_hash: bytes32) -> bytes32:
    return keccak256(concat(b"\x19Ethereum Signed Message:\n32", message_hash))


@internal
@pure
def _recover(message_hash: bytes32, signature: Bytes[65]) -> address:
    """Signer of `signature` over the EIP-191 form of `message_hash`; zero address when malformed."""
    if len(signature) != 65:
        return empty(address)
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v < 27:
        v += 27
    if v != 27 and v != 28:
        return empty(address)
    if s > SECP256K1_HALF_N:
        return empty(address)
    return ecrecover(self._eth_signed_hash(message_hash), v, r, s)
