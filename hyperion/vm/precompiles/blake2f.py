"""0x09 BLAKE2F: the BLAKE2b compression function F (EIP-152).

Input is exactly 213 bytes: rounds (4, big-endian), state h (8 x 8 bytes,
little-endian), message m (16 x 8), offset counter t (2 x 8), final flag
(1 byte, 0 or 1). Gas is one per round. The compression is written with
plain ints; a full 12-round call takes a few tens of microseconds.
"""

from __future__ import annotations

import struct

from .base import PrecompileError

INPUT_SIZE = 213
MASK64 = 0xFFFFFFFFFFFFFFFF

IV = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)

SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)

# (a, b, c, d) state indices of the eight G applications of one round:
# four columns, then four diagonals.
G_POSITIONS = (
    (0, 4, 8, 12),
    (1, 5, 9, 13),
    (2, 6, 10, 14),
    (3, 7, 11, 15),
    (0, 5, 10, 15),
    (1, 6, 11, 12),
    (2, 7, 8, 13),
    (3, 4, 9, 14),
)

# For each of the ten message schedules, the eight (x, y) message word pairs.
SCHEDULE = tuple(
    tuple((sigma[2 * i], sigma[2 * i + 1]) for i in range(8)) for sigma in SIGMA
)

_UNPACK = struct.Struct("<8Q16Q2Q").unpack_from
_PACK_STATE = struct.Struct("<8Q").pack


def gas(data: bytes) -> int:
    if len(data) != INPUT_SIZE:
        return 0  # refused by run(); nothing worth pricing
    return int.from_bytes(data[:4], "big")


def compress(rounds: int, h: tuple[int, ...], m: tuple[int, ...], t0: int, t1: int, final: bool) -> list[int]:
    """BLAKE2b F: mix message ``m`` into state ``h`` over ``rounds`` rounds."""
    v = list(h) + list(IV)
    v[12] ^= t0
    v[13] ^= t1
    if final:
        v[14] ^= MASK64
    mask = MASK64
    for round_index in range(rounds):
        pairs = SCHEDULE[round_index % 10]
        for (a, b, c, d), (x, y) in zip(G_POSITIONS, pairs):
            va, vb, vc, vd = v[a], v[b], v[c], v[d]
            va = (va + vb + m[x]) & mask
            vd ^= va
            vd = ((vd >> 32) | (vd << 32)) & mask
            vc = (vc + vd) & mask
            vb ^= vc
            vb = ((vb >> 24) | (vb << 40)) & mask
            va = (va + vb + m[y]) & mask
            vd ^= va
            vd = ((vd >> 16) | (vd << 48)) & mask
            vc = (vc + vd) & mask
            vb ^= vc
            vb = ((vb >> 63) | (vb << 1)) & mask
            v[a], v[b], v[c], v[d] = va, vb, vc, vd
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


try:  # Rust implementation (blake2b-py, the one py-evm uses): ~100x faster per round
    from blake2b import decode_and_compress as _native_compress
except ImportError:  # pragma: no cover - pure-Python fallback below
    _native_compress = None


def run(data: bytes) -> bytes:
    if len(data) != INPUT_SIZE:
        raise PrecompileError(f"blake2f input must be {INPUT_SIZE} bytes, got {len(data)}")
    final_flag = data[212]
    if final_flag > 1:
        raise PrecompileError(f"blake2f final flag must be 0 or 1, got {final_flag}")
    if _native_compress is not None:
        return bytes(_native_compress(bytes(data)))
    rounds = int.from_bytes(data[:4], "big")
    words = _UNPACK(data, 4)
    h, m, t0, t1 = words[:8], words[8:24], words[24], words[25]
    return _PACK_STATE(*compress(rounds, h, m, t0, t1, final_flag == 1))
