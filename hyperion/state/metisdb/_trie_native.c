/*
 * C implementation of MetisDB's commit-time trie merger, plus two helpers of the
 * commit loop (``keccak256`` and ``encode_account``).
 *
 * ``BatchTrieUpdater`` here is a drop-in replacement for the Python class in
 * ``hyperion/state/metisdb/batchtrie.py``: the same algorithm, step for step,
 * so that it makes the same ``store(id, record)`` calls in the same order,
 * reports the same replaced ids and caches the same node ids. Read the Python
 * module's docstring for the design; this file only changes how the work is done.
 *
 * Parse cache: unlike the Python class (which caches split tuples), ``parsed``
 * maps an id to the record bytes object itself (rlp + child ids + count byte),
 * the very object handed to ``store`` or returned by ``fetch``; a branch or
 * extension is re-split straight from that buffer when it is needed (a scan of
 * at most 17 items). Caching a new branch is one dict insert of objects that
 * exist anyway. ``store`` may be a list: records are then appended as
 * ``(id, record)`` tuples without a Python call.
 *
 * Inside a merge nothing is a Python object except what leaves it (ids and
 * records for ``store``, ids for ``replaced``, dict keys for the cache): items are
 * ``View``s (pointer + length) into held records, the caller's arguments or the
 * arena, and node ids are pointers to their 8 raw bytes (NULL: no record).
 *
 * Memory discipline of one ``update`` call (a ``Merge``):
 *   - every record the merge reads from is held (``Merge.held``) until the call
 *     ends, so views into it stay valid even if a callback clears the cache;
 *   - C buffers (nibble paths, forms, new references, ids) come from ``arena``,
 *     encoding temporaries from ``scratch`` (released by mark); both are freed
 *     when the call ends.
 *
 * Stored and cached records are untrusted: every RLP read is bounds-checked and
 * bad data raises ``BadTrieNode`` / ``CorruptDatabase`` / ``MissingTrieNode``,
 * never a crash. Where the Python reference slices past the end of a malformed
 * item (Python slices clip) this code clips the same way, so both accept and
 * reject the same records.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Keccak-256 (Ethereum's: original 0x01 domain padding, not SHA3's 0x06)    */
/* ------------------------------------------------------------------------ */

#define KECCAK_RATE 136
#define ROL64(value, shift) (((value) << (shift)) | ((value) >> (64 - (shift))))

static const uint64_t KECCAK_ROUND_CONSTANTS[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* On x86-64 with GCC the permutation is also built for x86-64-v3 (BMI1/2: andn, rorx),
 * picked at load time on CPUs that have it: about a fifth faster, and hashing is most
 * of a merge's time. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define KECCAK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KECCAK_CLONES
#endif

/* keccak-f[1600]: theta, rho+pi, chi and iota with the 25 lanes in locals
 * (lane (x, y) is a{x + 5y}; b{y + 5((2x + 3y) mod 5)} is lane (x, y) rotated). */
KECCAK_CLONES
static void keccak_f1600(uint64_t s[25])
{
    uint64_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7],
             a8 = s[8], a9 = s[9], a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14],
             a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19], a20 = s[20], a21 = s[21],
             a22 = s[22], a23 = s[23], a24 = s[24];
    for (int round = 0; round < 24; round++) {
        uint64_t c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
        uint64_t c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
        uint64_t c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        uint64_t c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
        uint64_t c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        uint64_t d0 = c4 ^ ROL64(c1, 1);
        uint64_t d1 = c0 ^ ROL64(c2, 1);
        uint64_t d2 = c1 ^ ROL64(c3, 1);
        uint64_t d3 = c2 ^ ROL64(c4, 1);
        uint64_t d4 = c3 ^ ROL64(c0, 1);
        uint64_t b0 = (a0 ^ d0);
        uint64_t b1 = ROL64((a6 ^ d1), 44);
        uint64_t b2 = ROL64((a12 ^ d2), 43);
        uint64_t b3 = ROL64((a18 ^ d3), 21);
        uint64_t b4 = ROL64((a24 ^ d4), 14);
        uint64_t b5 = ROL64((a3 ^ d3), 28);
        uint64_t b6 = ROL64((a9 ^ d4), 20);
        uint64_t b7 = ROL64((a10 ^ d0), 3);
        uint64_t b8 = ROL64((a16 ^ d1), 45);
        uint64_t b9 = ROL64((a22 ^ d2), 61);
        uint64_t b10 = ROL64((a1 ^ d1), 1);
        uint64_t b11 = ROL64((a7 ^ d2), 6);
        uint64_t b12 = ROL64((a13 ^ d3), 25);
        uint64_t b13 = ROL64((a19 ^ d4), 8);
        uint64_t b14 = ROL64((a20 ^ d0), 18);
        uint64_t b15 = ROL64((a4 ^ d4), 27);
        uint64_t b16 = ROL64((a5 ^ d0), 36);
        uint64_t b17 = ROL64((a11 ^ d1), 10);
        uint64_t b18 = ROL64((a17 ^ d2), 15);
        uint64_t b19 = ROL64((a23 ^ d3), 56);
        uint64_t b20 = ROL64((a2 ^ d2), 62);
        uint64_t b21 = ROL64((a8 ^ d3), 55);
        uint64_t b22 = ROL64((a14 ^ d4), 39);
        uint64_t b23 = ROL64((a15 ^ d0), 41);
        uint64_t b24 = ROL64((a21 ^ d1), 2);
        a0 = b0 ^ (~b1 & b2);
        a1 = b1 ^ (~b2 & b3);
        a2 = b2 ^ (~b3 & b4);
        a3 = b3 ^ (~b4 & b0);
        a4 = b4 ^ (~b0 & b1);
        a5 = b5 ^ (~b6 & b7);
        a6 = b6 ^ (~b7 & b8);
        a7 = b7 ^ (~b8 & b9);
        a8 = b8 ^ (~b9 & b5);
        a9 = b9 ^ (~b5 & b6);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        a0 ^= KECCAK_ROUND_CONSTANTS[round];
    }
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3; s[4] = a4; s[5] = a5; s[6] = a6; s[7] = a7; s[8] = a8;
    s[9] = a9; s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14; s[15] = a15; s[16] = a16;
    s[17] = a17; s[18] = a18; s[19] = a19; s[20] = a20; s[21] = a21; s[22] = a22; s[23] = a23; s[24] = a24;
}

static inline uint64_t load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t lane;
    memcpy(&lane, p, 8); /* one unaligned load */
    return lane;
#else
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24)
           | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48)
           | ((uint64_t)p[7] << 56);
#endif
}

static void keccak256(const uint8_t *data, size_t length, uint8_t out[32])
{
    uint64_t state[25];
    memset(state, 0, sizeof state);
    while (length >= KECCAK_RATE) {
        for (int lane = 0; lane < KECCAK_RATE / 8; lane++)
            state[lane] ^= load_le64(data + 8 * lane);
        keccak_f1600(state);
        data += KECCAK_RATE;
        length -= KECCAK_RATE;
    }
    /* The last (partial) block: whole lanes straight from the data, then the tail
     * lane with the 0x01 padding byte; the closing 0x80 goes into the rate's last byte. */
    size_t whole = length / 8;
    for (size_t lane = 0; lane < whole; lane++)
        state[lane] ^= load_le64(data + 8 * lane);
    uint8_t tail[8] = {0};
    size_t rest = length - 8 * whole;
    if (rest)
        memcpy(tail, data + 8 * whole, rest);
    tail[rest] = 0x01;
    state[whole] ^= load_le64(tail);
    state[KECCAK_RATE / 8 - 1] ^= 0x8000000000000000ULL;
    keccak_f1600(state);
    for (int lane = 0; lane < 4; lane++)
        for (int byte = 0; byte < 8; byte++)
            out[8 * lane + byte] = (uint8_t)(state[lane] >> (8 * byte));
}

/* ------------------------------------------------------------------------ */
/* Keccak-256 of many independent messages at once (SIMD lanes)              */
/* ------------------------------------------------------------------------ */

/* A merge hashes tens of thousands of nodes, most of them independent of each other
 * (all the nodes of one height of the trie). With the state lane-sliced (vector j
 * holds lane j of W states) the permutation runs W states at the cost of about one:
 * measured 8x the scalar throughput with AVX-512 (8 states), 2.7x with AVX2 (4).
 * The width is picked at load time from what the CPU supports; the results are the
 * same bytes as ``keccak256`` (tests compare every width). */
typedef struct {
    const uint8_t *data;
    size_t length;
    uint8_t *out; /* 32 bytes */
} HashJob;

static int keccak_lanes = 1; /* 8, 4 or 1: set by the module init */

#define KECCAK_ROUND_BODY(T, XOR, XOR3, ROL, CHI, CONST)                                                         \
    T c0 = XOR3(XOR3(a0, a5, a10), a15, a20), c1 = XOR3(XOR3(a1, a6, a11), a16, a21);                            \
    T c2 = XOR3(XOR3(a2, a7, a12), a17, a22), c3 = XOR3(XOR3(a3, a8, a13), a18, a23);                            \
    T c4 = XOR3(XOR3(a4, a9, a14), a19, a24);                                                                     \
    T d0 = XOR(c4, ROL(c1, 1)), d1 = XOR(c0, ROL(c2, 1)), d2 = XOR(c1, ROL(c3, 1)), d3 = XOR(c2, ROL(c4, 1));     \
    T d4 = XOR(c3, ROL(c0, 1));                                                                                   \
    T b0 = XOR(a0, d0), b1 = ROL(XOR(a6, d1), 44), b2 = ROL(XOR(a12, d2), 43), b3 = ROL(XOR(a18, d3), 21);        \
    T b4 = ROL(XOR(a24, d4), 14), b5 = ROL(XOR(a3, d3), 28), b6 = ROL(XOR(a9, d4), 20), b7 = ROL(XOR(a10, d0), 3); \
    T b8 = ROL(XOR(a16, d1), 45), b9 = ROL(XOR(a22, d2), 61), b10 = ROL(XOR(a1, d1), 1);                          \
    T b11 = ROL(XOR(a7, d2), 6), b12 = ROL(XOR(a13, d3), 25), b13 = ROL(XOR(a19, d4), 8);                         \
    T b14 = ROL(XOR(a20, d0), 18), b15 = ROL(XOR(a4, d4), 27), b16 = ROL(XOR(a5, d0), 36);                        \
    T b17 = ROL(XOR(a11, d1), 10), b18 = ROL(XOR(a17, d2), 15), b19 = ROL(XOR(a23, d3), 56);                      \
    T b20 = ROL(XOR(a2, d2), 62), b21 = ROL(XOR(a8, d3), 55), b22 = ROL(XOR(a14, d4), 39);                        \
    T b23 = ROL(XOR(a15, d0), 41), b24 = ROL(XOR(a21, d1), 2);                                                    \
    a0 = CHI(b0, b1, b2); a1 = CHI(b1, b2, b3); a2 = CHI(b2, b3, b4); a3 = CHI(b3, b4, b0); a4 = CHI(b4, b0, b1);  \
    a5 = CHI(b5, b6, b7); a6 = CHI(b6, b7, b8); a7 = CHI(b7, b8, b9); a8 = CHI(b8, b9, b5); a9 = CHI(b9, b5, b6);  \
    a10 = CHI(b10, b11, b12); a11 = CHI(b11, b12, b13); a12 = CHI(b12, b13, b14); a13 = CHI(b13, b14, b10);        \
    a14 = CHI(b14, b10, b11); a15 = CHI(b15, b16, b17); a16 = CHI(b16, b17, b18); a17 = CHI(b17, b18, b19);        \
    a18 = CHI(b18, b19, b15); a19 = CHI(b19, b15, b16); a20 = CHI(b20, b21, b22); a21 = CHI(b21, b22, b23);        \
    a22 = CHI(b22, b23, b24); a23 = CHI(b23, b24, b20); a24 = CHI(b24, b20, b21);                                 \
    a0 = XOR(a0, CONST(KECCAK_ROUND_CONSTANTS[round]));

#define KECCAK_LOAD_STATE(s) \
    a0 = s[0]; a1 = s[1]; a2 = s[2]; a3 = s[3]; a4 = s[4]; a5 = s[5]; a6 = s[6]; a7 = s[7]; a8 = s[8]; \
    a9 = s[9]; a10 = s[10]; a11 = s[11]; a12 = s[12]; a13 = s[13]; a14 = s[14]; a15 = s[15]; a16 = s[16]; \
    a17 = s[17]; a18 = s[18]; a19 = s[19]; a20 = s[20]; a21 = s[21]; a22 = s[22]; a23 = s[23]; a24 = s[24];
#define KECCAK_STORE_STATE(s) \
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3; s[4] = a4; s[5] = a5; s[6] = a6; s[7] = a7; s[8] = a8; \
    s[9] = a9; s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14; s[15] = a15; s[16] = a16; \
    s[17] = a17; s[18] = a18; s[19] = a19; s[20] = a20; s[21] = a21; s[22] = a22; s[23] = a23; s[24] = a24;

static inline void store_le64(uint8_t *out, uint64_t lane)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, &lane, 8);
#else
    for (int byte = 0; byte < 8; byte++)
        out[byte] = (uint8_t)(lane >> (8 * byte));
#endif
}

/* Lane ``lane`` (0..16) of the padded final block of ``job``: its last bytes, the 0x01
 * after them and the closing 0x80, without building the block. */
static inline uint64_t final_lane(const HashJob *job, int lane)
{
    size_t rest = job->length % KECCAK_RATE;
    const uint8_t *tail = job->data + (job->length - rest);
    size_t at = 8 * (size_t)lane;
    uint64_t value;
    if (at + 8 <= rest) {
        value = load_le64(tail + at);
    } else {
        value = 0;
        if (at < rest) {
            uint8_t bytes[8] = {0};
            memcpy(bytes, tail + at, rest - at);
            value = load_le64(bytes);
        }
        if (rest >= at && rest < at + 8)
            value ^= (uint64_t)0x01 << (8 * (rest - at));
    }
    if (lane == KECCAK_RATE / 8 - 1)
        value ^= 0x8000000000000000ULL;
    return value;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KECCAK_SIMD 1

__attribute__((target("avx512f"))) static void keccak_f1600_x8(__m512i *s)
{
#define X8_XOR(a, b) _mm512_xor_si512(a, b)
#define X8_XOR3(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0x96)
#define X8_ROL(v, n) _mm512_rol_epi64(v, n)
#define X8_CHI(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0xD2) /* a ^ (~b & c) */
#define X8_CONST(c) _mm512_set1_epi64((long long)(c))
    __m512i a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
        a22, a23, a24;
    KECCAK_LOAD_STATE(s)
    for (int round = 0; round < 24; round++) {
        KECCAK_ROUND_BODY(__m512i, X8_XOR, X8_XOR3, X8_ROL, X8_CHI, X8_CONST)
    }
    KECCAK_STORE_STATE(s)
}

__attribute__((target("avx2"))) static void keccak_f1600_x4(__m256i *s)
{
#define X4_XOR(a, b) _mm256_xor_si256(a, b)
#define X4_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256(a, b), c)
#define X4_ROL(v, n) _mm256_or_si256(_mm256_slli_epi64(v, n), _mm256_srli_epi64(v, 64 - (n)))
#define X4_CHI(a, b, c) _mm256_xor_si256(a, _mm256_andnot_si256(b, c))
#define X4_CONST(c) _mm256_set1_epi64x((long long)(c))
    __m256i a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21,
        a22, a23, a24;
    KECCAK_LOAD_STATE(s)
    for (int round = 0; round < 24; round++) {
        KECCAK_ROUND_BODY(__m256i, X4_XOR, X4_XOR3, X4_ROL, X4_CHI, X4_CONST)
    }
    KECCAK_STORE_STATE(s)
}

/* Keccak-256 of 8 messages of ``blocks`` absorb blocks each (``jobs`` may repeat). */
__attribute__((target("avx512f"))) static void keccak256_x8(HashJob *const *jobs, size_t blocks)
{
    __m512i state[25];
    for (int lane = 0; lane < 25; lane++)
        state[lane] = _mm512_setzero_si512();
    for (size_t block = 0; block + 1 < blocks; block++) {
        const uint8_t *p[8];
        for (int k = 0; k < 8; k++)
            p[k] = jobs[k]->data + KECCAK_RATE * block;
        for (int lane = 0; lane < KECCAK_RATE / 8; lane++) {
            size_t at = 8 * (size_t)lane;
            __m512i words = _mm512_set_epi64((long long)load_le64(p[7] + at), (long long)load_le64(p[6] + at),
                                             (long long)load_le64(p[5] + at), (long long)load_le64(p[4] + at),
                                             (long long)load_le64(p[3] + at), (long long)load_le64(p[2] + at),
                                             (long long)load_le64(p[1] + at), (long long)load_le64(p[0] + at));
            state[lane] = _mm512_xor_si512(state[lane], words);
        }
        keccak_f1600_x8(state);
    }
    for (int lane = 0; lane < KECCAK_RATE / 8; lane++) {
        __m512i words = _mm512_set_epi64((long long)final_lane(jobs[7], lane), (long long)final_lane(jobs[6], lane),
                                         (long long)final_lane(jobs[5], lane), (long long)final_lane(jobs[4], lane),
                                         (long long)final_lane(jobs[3], lane), (long long)final_lane(jobs[2], lane),
                                         (long long)final_lane(jobs[1], lane), (long long)final_lane(jobs[0], lane));
        state[lane] = _mm512_xor_si512(state[lane], words);
    }
    keccak_f1600_x8(state);
    uint64_t lanes[4][8];
    for (int lane = 0; lane < 4; lane++)
        _mm512_storeu_si512((void *)lanes[lane], state[lane]);
    for (int k = 0; k < 8; k++)
        for (int lane = 0; lane < 4; lane++)
            store_le64(jobs[k]->out + 8 * lane, lanes[lane][k]);
}

__attribute__((target("avx2"))) static void keccak256_x4(HashJob *const *jobs, size_t blocks)
{
    __m256i state[25];
    for (int lane = 0; lane < 25; lane++)
        state[lane] = _mm256_setzero_si256();
    for (size_t block = 0; block + 1 < blocks; block++) {
        const uint8_t *p[4];
        for (int k = 0; k < 4; k++)
            p[k] = jobs[k]->data + KECCAK_RATE * block;
        for (int lane = 0; lane < KECCAK_RATE / 8; lane++) {
            size_t at = 8 * (size_t)lane;
            __m256i words = _mm256_set_epi64x((long long)load_le64(p[3] + at), (long long)load_le64(p[2] + at),
                                              (long long)load_le64(p[1] + at), (long long)load_le64(p[0] + at));
            state[lane] = _mm256_xor_si256(state[lane], words);
        }
        keccak_f1600_x4(state);
    }
    for (int lane = 0; lane < KECCAK_RATE / 8; lane++) {
        __m256i words = _mm256_set_epi64x((long long)final_lane(jobs[3], lane), (long long)final_lane(jobs[2], lane),
                                          (long long)final_lane(jobs[1], lane), (long long)final_lane(jobs[0], lane));
        state[lane] = _mm256_xor_si256(state[lane], words);
    }
    keccak_f1600_x4(state);
    uint64_t lanes[4][4];
    for (int lane = 0; lane < 4; lane++)
        _mm256_storeu_si256((__m256i *)lanes[lane], state[lane]);
    for (int k = 0; k < 4; k++)
        for (int lane = 0; lane < 4; lane++)
            store_le64(jobs[k]->out + 8 * lane, lanes[lane][k]);
}
#endif

/* Keccak-256 of every job (``out`` may not overlap any ``data``), ``lanes`` at a time
 * (1, 4 or 8; a width the CPU lacks falls back to a narrower one). Jobs are grouped
 * by their number of absorb blocks (a counting sort: trie nodes take 1 to 5); a
 * group's tail shorter than the width is padded with repeats of its first job, or
 * done one by one when that is cheaper. */
#define KECCAK_GROUPED_BLOCKS 16
static void *warm_take(size_t size, size_t *got);
static void warm_give(void *data, size_t size);

static int keccak256_jobs(HashJob *jobs, size_t count, int lanes)
{
#ifdef KECCAK_SIMD
    if (lanes > keccak_lanes)
        lanes = keccak_lanes;
#else
    lanes = 1;
#endif
    if (lanes <= 1 || count < 2) {
        for (size_t index = 0; index < count; index++)
            keccak256(jobs[index].data, jobs[index].length, jobs[index].out);
        return 0;
    }
#ifdef KECCAK_SIMD
    size_t starts[KECCAK_GROUPED_BLOCKS + 1] = {0};
    for (size_t index = 0; index < count; index++) {
        size_t blocks = jobs[index].length / KECCAK_RATE + 1;
        if (blocks <= KECCAK_GROUPED_BLOCKS)
            starts[blocks]++;
    }
    size_t grouped = 0;
    for (int blocks = 1; blocks <= KECCAK_GROUPED_BLOCKS; blocks++) {
        size_t size = starts[blocks];
        starts[blocks] = grouped;
        grouped += size;
    }
    size_t order_size;
    HashJob **order = (HashJob **)warm_take(sizeof(HashJob *) * (grouped ? grouped : 1), &order_size);
    if (order == NULL)
        return -1;
    size_t fill[KECCAK_GROUPED_BLOCKS + 1];
    memcpy(fill, starts, sizeof fill);
    for (size_t index = 0; index < count; index++) {
        size_t blocks = jobs[index].length / KECCAK_RATE + 1;
        if (blocks <= KECCAK_GROUPED_BLOCKS)
            order[fill[blocks]++] = &jobs[index];
        else /* long messages: one by one */
            keccak256(jobs[index].data, jobs[index].length, jobs[index].out);
    }
    for (int blocks = 1; blocks <= KECCAK_GROUPED_BLOCKS; blocks++) {
        size_t at = starts[blocks], stop = fill[blocks];
        for (; at + (size_t)lanes <= stop; at += (size_t)lanes) {
            if (lanes == 8)
                keccak256_x8(order + at, (size_t)blocks);
            else
                keccak256_x4(order + at, (size_t)blocks);
        }
        size_t left = stop - at;
        if (left * 2 <= (size_t)lanes) { /* a few: one by one */
            for (; at < stop; at++)
                keccak256(order[at]->data, order[at]->length, order[at]->out);
        } else {
            HashJob *group[8];
            for (int k = 0; k < lanes; k++)
                group[k] = order[at + ((size_t)k < left ? (size_t)k : 0)];
            /* A repeated job is hashed twice into the same output: same bytes. */
            if (lanes == 8)
                keccak256_x8(group, (size_t)blocks);
            else
                keccak256_x4(group, (size_t)blocks);
        }
    }
    warm_give(order, order_size);
#endif
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Module constants                                                         */
/* ------------------------------------------------------------------------ */

static PyObject *NO_ID;           /* b"": no record (empty slot or embedded node) */
static PyObject *MissingTrieNode;
static PyObject *BadTrieNode;
static PyObject *TrieError;
static PyObject *CorruptDatabase;
static uint8_t EMPTY_TRIE_ROOT[32];
static uint8_t EMPTY_CODE_HASH[32]; /* keccak(b"") */
static const uint8_t NIBBLE_VALUES[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t EMPTY_ITEM_BYTE[1] = {0x80}; /* an empty branch slot (RLP of b"") */

#define BRANCH_HEADER_LIMIT 1024 /* the Python reference's LIST_HEADERS table size */
#define ID_SIZE 8

/* ------------------------------------------------------------------------ */
/* Per-call storage: an arena for C buffers, a list of held Python objects   */
/* ------------------------------------------------------------------------ */


typedef struct ArenaChunk {
    struct ArenaChunk *next;
    size_t capacity;
    size_t used;
    uint8_t data[];
} ArenaChunk;

typedef struct {
    ArenaChunk *head;
} Arena;

typedef struct {
    ArenaChunk *head;
    size_t used;
} ArenaMark;

#define ARENA_CHUNK_SIZE (64 * 1024)
#define ARENA_SPARE_LIMIT 1024

/* Standard chunks freed by finished merges and batches, reused by the next ones (up
 * to 64 MiB kept): memory handed back to the allocator often goes back to the
 * kernel, and taking it again costs a page fault and zeroing per 4 KiB (on a VM whose
 * host backs guest memory lazily, far more) at every commit. Only touched with the
 * GIL held. */
static ArenaChunk *spare_chunks[ARENA_SPARE_LIMIT];
static int spare_count;

static void *arena_alloc(Arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ArenaChunk *chunk = arena->head;
    if (chunk == NULL || chunk->capacity - chunk->used < size) {
        if (size <= ARENA_CHUNK_SIZE && spare_count > 0) {
            chunk = spare_chunks[--spare_count];
        } else {
            size_t capacity = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
            chunk = (ArenaChunk *)malloc(sizeof(ArenaChunk) + capacity);
            if (chunk == NULL) {
                PyErr_NoMemory();
                return NULL;
            }
            chunk->capacity = capacity;
        }
        chunk->next = arena->head;
        chunk->used = 0;
        arena->head = chunk;
    }
    void *memory = chunk->data + chunk->used;
    chunk->used += size;
    return memory;
}

static void drop_chunk(ArenaChunk *chunk)
{
    if (chunk->capacity == ARENA_CHUNK_SIZE && spare_count < ARENA_SPARE_LIMIT)
        spare_chunks[spare_count++] = chunk;
    else
        free(chunk);
}

static ArenaMark arena_mark(Arena *arena)
{
    ArenaMark mark = {arena->head, arena->head ? arena->head->used : 0};
    return mark;
}

/* Frees everything allocated since ``mark`` (temporaries of one encoding). */
static void arena_release(Arena *arena, ArenaMark mark)
{
    while (arena->head != mark.head) {
        ArenaChunk *chunk = arena->head;
        arena->head = chunk->next;
        drop_chunk(chunk);
    }
    if (arena->head)
        arena->head->used = mark.used;
}

static void arena_free(Arena *arena)
{
    ArenaMark start = {NULL, 0};
    arena_release(arena, start);
}

/* Large working arrays (row tables, batch indexes, changesets, sort orders) are kept
 * for the next commit the same way, a few at a time. */
#define WARM_BUFFERS 12
static struct {
    void *data;
    size_t size;
} warm_buffers[WARM_BUFFERS];

/* A buffer of at least ``size`` bytes (``*got`` its real size), or NULL with MemoryError. */
static void *warm_take(size_t size, size_t *got)
{
    int best = -1;
    for (int index = 0; index < WARM_BUFFERS; index++)
        if (warm_buffers[index].data != NULL && warm_buffers[index].size >= size
            && (best < 0 || warm_buffers[index].size < warm_buffers[best].size))
            best = index;
    if (best >= 0) {
        void *data = warm_buffers[best].data;
        *got = warm_buffers[best].size;
        warm_buffers[best].data = NULL;
        return data;
    }
    void *data = malloc(size ? size : 1);
    if (data == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *got = size;
    return data;
}

/* Return a buffer from ``warm_take`` (NULL is fine): kept if the pool has room or
 * holds a smaller one, else freed. */
static void warm_give(void *data, size_t size)
{
    if (data == NULL)
        return;
    int slot = -1;
    for (int index = 0; index < WARM_BUFFERS; index++) {
        if (warm_buffers[index].data == NULL) {
            slot = index;
            break;
        }
        if (warm_buffers[index].size < size && (slot < 0 || warm_buffers[index].size < warm_buffers[slot].size))
            slot = index;
    }
    if (slot < 0) {
        free(data);
        return;
    }
    free(warm_buffers[slot].data);
    warm_buffers[slot].data = data;
    warm_buffers[slot].size = size;
}

/* Grow a warm buffer of ``*size`` bytes (``used`` of them in use) to at least ``wanted``. */
static void *warm_grow(void *data, size_t *size, size_t used, size_t wanted)
{
    size_t got;
    void *grown = warm_take(wanted, &got);
    if (grown == NULL)
        return NULL;
    if (used)
        memcpy(grown, data, used);
    warm_give(data, *size);
    *size = got;
    return grown;
}

typedef struct {
    PyObject **objects;
    Py_ssize_t count;
    Py_ssize_t capacity;
} HeldObjects;

struct Updater;


/* Raw bytes that live until the merge ends: inside a held record, the caller's
 * arguments or the merge's arena. */
typedef struct {
    const uint8_t *data;
    Py_ssize_t length;
    /* 0, or 1 + the index of the pending hash whose 32 bytes follow data[0] (0xa0):
     * a reference to a node of this merge, hashed after the walk (see PendingHash). */
    Py_ssize_t job;
} View;

static const View EMPTY_VIEW = {EMPTY_ITEM_BYTE, 1, 0};

/* One ``update`` call: the batch (raw views of the caller's bytes) and its storage.
 * Node ids inside the merge are pointers to 8 raw bytes (NULL: no record). */
typedef struct {
    struct Updater *updater;
    Py_ssize_t count;
    const uint8_t **keys;
    Py_ssize_t *key_lengths;
    const uint8_t **paths; /* nibble paths of the keys */
    Py_ssize_t *path_lengths;
    const uint8_t **values;
    Py_ssize_t *value_lengths;
    const uint8_t **previous; /* NULL when no hints were given */
    Py_ssize_t *previous_lengths;
    const uint8_t **value_ids; /* NULL when none were given */
    Py_ssize_t *value_id_lengths;
    int deletes;
    Arena arena;   /* lives as long as the merge */
    Arena scratch; /* temporaries of one encoding, released by mark */
    HeldObjects held;
    struct NodeCacheStruct *cache; /* the updater's parse cache, pinned for the merge */
    struct PendingHash *hashes;    /* nodes whose hash is computed after the walk */
    Py_ssize_t hash_count, hash_capacity;
    struct Emission *emissions;    /* new records, in id order, stored after the hashes */
    Py_ssize_t emission_count, emission_capacity;
    /* New branches join the parse cache after the hashes: ``deferred_cached`` of them
     * count towards its size limit meanwhile, and a clear of the full cache drops
     * those queued before it (``cache_epoch``), as the Python class's would. */
    Py_ssize_t deferred_cached;
    int cache_epoch;
    struct NodeBatchStruct *batch; /* the store when it is a NodeBatch (pinned), else NULL */
} Merge;

/* Keeps ``object`` (a new reference, stolen) alive until the merge ends. */
static int hold(Merge *merge, PyObject *object)
{
    HeldObjects *held = &merge->held;
    if (held->count == held->capacity) {
        Py_ssize_t capacity = held->capacity ? held->capacity * 2 : 256;
        PyObject **grown = (PyObject **)realloc(held->objects, sizeof(PyObject *) * (size_t)capacity);
        if (grown == NULL) {
            Py_DECREF(object);
            PyErr_NoMemory();
            return -1;
        }
        held->objects = grown;
        held->capacity = capacity;
    }
    held->objects[held->count++] = object;
    return 0;
}

static void release_held(HeldObjects *held)
{
    for (Py_ssize_t index = held->count - 1; index >= 0; index--)
        Py_DECREF(held->objects[index]);
    free(held->objects);
    held->objects = NULL;
    held->count = held->capacity = 0;
}

/* tp_new of the types that take no arguments. */
static PyObject *new_without_arguments(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_Format(PyExc_TypeError, "%s() takes no arguments", type->tp_name);
        return NULL;
    }
    return type->tp_alloc(type, 0);
}

/* ------------------------------------------------------------------------ */
/* NodeCache: branch and extension records by node id, in C memory          */
/* ------------------------------------------------------------------------ */

/* The parse cache of the merges (the Python class's ``parsed`` dict): node id ->
 * record (rlp + child ids + count byte). A hash table keyed by the id as a 64-bit
 * number, with each record in its own malloc'd block: a lookup is one probe and no
 * Python object, where a dict of bytes would need an id object, its hash and a key
 * comparison (three or four cache misses) per touched node. Records a merge may
 * still be reading when they leave the cache (replaced, or the cache cleared when
 * full) are freed when the last running merge ends. */
typedef struct {
    uint8_t *record; /* NULL: empty slot */
    Py_ssize_t length;
    uint64_t id;
} CacheSlot;

typedef struct {
    uint8_t *record;
    Py_ssize_t length;
} Buried;

/* Records are kept in blocks of RECORD_GRAIN-byte size classes, and freed blocks go
 * to per-class free lists for the next ones: a commit replaces about as many
 * branches as it creates, and the allocator's own bins handle that churn poorly. */
#define RECORD_GRAIN 64
#define RECORD_CLASSES 18          /* up to 1152 bytes; larger records use malloc */
#define RECORD_FREE_LIMIT 32768    /* spare blocks kept per class at most */

typedef struct NodeCacheStruct {
    PyObject_HEAD
    CacheSlot *slots;
    size_t capacity; /* a power of two, or 0 */
    int shift;       /* 64 - log2(capacity) */
    size_t count;
    Buried *graveyard; /* left the cache during a merge: freed when merges end */
    size_t buried, graveyard_capacity;
    int merging;
    uint8_t *free_blocks[RECORD_CLASSES]; /* linked through their first bytes */
    size_t free_counts[RECORD_CLASSES];
} NodeCache;

static PyTypeObject NodeCacheType;

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | p[index];
    return value;
}

static inline void store_be64(uint8_t *out, uint64_t value)
{
    for (int byte = 0; byte < 8; byte++)
        out[7 - byte] = (uint8_t)(value >> (8 * byte));
}

static inline size_t cache_home(const NodeCache *cache, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> cache->shift);
}

static CacheSlot *cache_find(NodeCache *cache, uint64_t id)
{
    if (cache->count == 0)
        return NULL;
    size_t mask = cache->capacity - 1;
    for (size_t index = cache_home(cache, id);; index = (index + 1) & mask) {
        CacheSlot *slot = &cache->slots[index];
        if (slot->record == NULL)
            return NULL;
        if (slot->id == id)
            return slot;
    }
}

static inline int record_class(Py_ssize_t length)
{
    size_t blocks = ((size_t)length + 1 + RECORD_GRAIN - 1) / RECORD_GRAIN;
    return blocks < RECORD_CLASSES ? (int)blocks : 0; /* 0: too large for the classes */
}

static uint8_t *record_alloc(NodeCache *cache, Py_ssize_t length)
{
    int class = record_class(length);
    if (class && cache->free_blocks[class] != NULL) {
        uint8_t *block = cache->free_blocks[class];
        memcpy(&cache->free_blocks[class], block, sizeof(uint8_t *));
        cache->free_counts[class]--;
        return block;
    }
    uint8_t *block = (uint8_t *)malloc(class ? (size_t)class * RECORD_GRAIN : (size_t)length + 1);
    if (block == NULL)
        PyErr_NoMemory();
    return block;
}

static void record_free(NodeCache *cache, uint8_t *record, Py_ssize_t length)
{
    int class = record_class(length);
    if (!class || cache->free_counts[class] >= RECORD_FREE_LIMIT) {
        free(record);
        return;
    }
    memcpy(record, &cache->free_blocks[class], sizeof(uint8_t *));
    cache->free_blocks[class] = record;
    cache->free_counts[class]++;
}

static int cache_bury(NodeCache *cache, uint8_t *record, Py_ssize_t length)
{
    if (!cache->merging) {
        record_free(cache, record, length);
        return 0;
    }
    if (cache->buried == cache->graveyard_capacity) {
        size_t capacity = cache->graveyard_capacity ? 2 * cache->graveyard_capacity : 256;
        Buried *grown = (Buried *)realloc(cache->graveyard, sizeof(Buried) * capacity);
        if (grown == NULL) {
            free(record); /* cannot defer: only reachable on allocation failure */
            PyErr_NoMemory();
            return -1;
        }
        cache->graveyard = grown;
        cache->graveyard_capacity = capacity;
    }
    cache->graveyard[cache->buried].record = record;
    cache->graveyard[cache->buried].length = length;
    cache->buried++;
    return 0;
}

static void cache_begin_merge(NodeCache *cache)
{
    cache->merging++;
}

static void cache_end_merge(NodeCache *cache)
{
    if (--cache->merging > 0)
        return;
    for (size_t index = 0; index < cache->buried; index++)
        record_free(cache, cache->graveyard[index].record, cache->graveyard[index].length);
    cache->buried = 0;
}

static int cache_resize(NodeCache *cache, size_t capacity)
{
    CacheSlot *slots = (CacheSlot *)calloc(capacity, sizeof(CacheSlot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    CacheSlot *old = cache->slots;
    size_t old_capacity = cache->capacity;
    int log2 = 0;
    while (((size_t)1 << log2) < capacity)
        log2++;
    cache->slots = slots;
    cache->capacity = capacity;
    cache->shift = 64 - log2;
    size_t mask = capacity - 1;
    for (size_t index = 0; index < old_capacity; index++) {
        if (old[index].record == NULL)
            continue;
        size_t target = cache_home(cache, old[index].id);
        while (slots[target].record != NULL)
            target = (target + 1) & mask;
        slots[target] = old[index];
    }
    free(old);
    return 0;
}

/* Remove ``id`` if present (backward-shift deletion keeps every probe run unbroken). */
static int cache_remove(NodeCache *cache, uint64_t id)
{
    CacheSlot *slot = cache_find(cache, id);
    if (slot == NULL)
        return 0;
    uint8_t *record = slot->record;
    Py_ssize_t length = slot->length;
    size_t mask = cache->capacity - 1;
    size_t hole = (size_t)(slot - cache->slots);
    for (size_t index = (hole + 1) & mask;; index = (index + 1) & mask) {
        CacheSlot *next = &cache->slots[index];
        if (next->record == NULL)
            break;
        size_t home = cache_home(cache, next->id);
        /* ``next`` may move into the hole unless its home lies cyclically in (hole, index]. */
        int stays = hole <= index ? (home > hole && home <= index) : (home > hole || home <= index);
        if (!stays) {
            cache->slots[hole] = *next;
            hole = index;
        }
    }
    cache->slots[hole].record = NULL;
    cache->count--;
    return cache_bury(cache, record, length);
}

static int cache_clear_all(NodeCache *cache)
{
    int status = 0;
    for (size_t index = 0; index < cache->capacity; index++) {
        if (cache->slots[index].record != NULL) {
            if (cache_bury(cache, cache->slots[index].record, cache->slots[index].length) < 0)
                status = -1;
            cache->slots[index].record = NULL;
        }
    }
    cache->count = 0;
    return status;
}

/* Store a copy of ``data`` under ``id`` (replacing what was there). */
static int cache_insert(NodeCache *cache, uint64_t id, const uint8_t *data, Py_ssize_t length)
{
    CacheSlot *slot = cache_find(cache, id);
    uint8_t *copy = record_alloc(cache, length);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, (size_t)length);
    if (slot != NULL) {
        uint8_t *old = slot->record;
        Py_ssize_t old_length = slot->length;
        slot->record = copy;
        slot->length = length;
        return cache_bury(cache, old, old_length);
    }
    if (2 * (cache->count + 1) > cache->capacity
        && cache_resize(cache, cache->capacity ? 2 * cache->capacity : 1024) < 0) {
        record_free(cache, copy, length);
        return -1;
    }
    size_t mask = cache->capacity - 1;
    size_t index = cache_home(cache, id);
    while (cache->slots[index].record != NULL)
        index = (index + 1) & mask;
    cache->slots[index].record = copy;
    cache->slots[index].length = length;
    cache->slots[index].id = id;
    cache->count++;
    return 0;
}

/* The 8-byte big-endian id in ``key`` (a bytes object), or -1 (no error) if not one. */
static int id_from_object(PyObject *key, uint64_t *id)
{
    if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) != ID_SIZE)
        return -1;
    *id = load_be64((const uint8_t *)PyBytes_AS_STRING(key));
    return 0;
}

static void node_cache_dealloc(NodeCache *self)
{
    self->merging = 0;
    for (size_t index = 0; index < self->capacity; index++)
        free(self->slots[index].record);
    for (size_t index = 0; index < self->buried; index++)
        free(self->graveyard[index].record);
    for (int class = 0; class < RECORD_CLASSES; class++) {
        uint8_t *block = self->free_blocks[class];
        while (block != NULL) {
            uint8_t *next;
            memcpy(&next, block, sizeof(uint8_t *));
            free(block);
            block = next;
        }
    }
    free(self->slots);
    free(self->graveyard);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_cache_length(NodeCache *self)
{
    return (Py_ssize_t)self->count;
}

static int node_cache_contains(NodeCache *self, PyObject *key)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0)
        return 0;
    return cache_find(self, id) != NULL;
}

static PyObject *id_bytes(uint64_t id)
{
    uint8_t raw[ID_SIZE];
    store_be64(raw, id);
    return PyBytes_FromStringAndSize((const char *)raw, ID_SIZE);
}

/* A list of the ids (``with_records``: of (id, record) pairs). */
static PyObject *node_cache_list(NodeCache *self, int with_records)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (size_t index = 0; index < self->capacity; index++) {
        CacheSlot *slot = &self->slots[index];
        if (slot->record == NULL)
            continue;
        PyObject *item = id_bytes(slot->id);
        if (item != NULL && with_records) {
            PyObject *record = PyBytes_FromStringAndSize((const char *)slot->record, slot->length);
            Py_SETREF(item, record ? PyTuple_Pack(2, item, record) : NULL);
            Py_XDECREF(record);
        }
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

static PyObject *node_cache_iter(NodeCache *self)
{
    PyObject *ids = node_cache_list(self, 0);
    if (ids == NULL)
        return NULL;
    PyObject *iterator = PyObject_GetIter(ids);
    Py_DECREF(ids);
    return iterator;
}

static PyObject *node_cache_keys(NodeCache *self, PyObject *unused)
{
    (void)unused;
    return node_cache_list(self, 0);
}

static PyObject *node_cache_items(NodeCache *self, PyObject *unused)
{
    (void)unused;
    return node_cache_list(self, 1);
}

static PyObject *node_cache_get(NodeCache *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(id, default=None)");
        return NULL;
    }
    uint64_t id;
    CacheSlot *slot = id_from_object(args[0], &id) < 0 ? NULL : cache_find(self, id);
    if (slot == NULL) {
        PyObject *fallback = nargs == 2 ? args[1] : Py_None;
        Py_INCREF(fallback);
        return fallback;
    }
    return PyBytes_FromStringAndSize((const char *)slot->record, slot->length);
}

static PyObject *node_cache_subscript(NodeCache *self, PyObject *key)
{
    uint64_t id;
    CacheSlot *slot = id_from_object(key, &id) < 0 ? NULL : cache_find(self, id);
    if (slot == NULL) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)slot->record, slot->length);
}

static int node_cache_assign(NodeCache *self, PyObject *key, PyObject *value)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0) {
        PyErr_SetString(PyExc_TypeError, "NodeCache keys are 8-byte node ids");
        return -1;
    }
    if (value == NULL) {
        if (cache_find(self, id) == NULL) {
            PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        return cache_remove(self, id);
    }
    if (!PyBytes_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "NodeCache values are record bytes");
        return -1;
    }
    return cache_insert(self, id, (const uint8_t *)PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
}

static PyObject *node_cache_clear_method(NodeCache *self, PyObject *unused)
{
    (void)unused;
    if (cache_clear_all(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef node_cache_methods[] = {
    {"get", (PyCFunction)(void (*)(void))node_cache_get, METH_FASTCALL, "get(id, default=None) -> record"},
    {"keys", (PyCFunction)node_cache_keys, METH_NOARGS, "keys() -> list of ids"},
    {"items", (PyCFunction)node_cache_items, METH_NOARGS, "items() -> list of (id, record)"},
    {"clear", (PyCFunction)node_cache_clear_method, METH_NOARGS, "clear(): drop every record"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods node_cache_as_sequence = {
    .sq_length = (lenfunc)node_cache_length,
    .sq_contains = (objobjproc)node_cache_contains,
};

static PyMappingMethods node_cache_as_mapping = {
    .mp_length = (lenfunc)node_cache_length,
    .mp_subscript = (binaryfunc)node_cache_subscript,
    .mp_ass_subscript = (objobjargproc)node_cache_assign,
};

static PyTypeObject NodeCacheType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeCache",
    .tp_basicsize = sizeof(NodeCache),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeCache()\n\n"
              "The C merger's parse cache: node id (8 bytes) -> record bytes, kept in C memory.\n"
              "A mapping for inspection (get, keys, items, in, len, del, clear); the Python\n"
              "merger uses a dict of split nodes instead.",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)node_cache_dealloc,
    .tp_iter = (getiterfunc)node_cache_iter,
    .tp_methods = node_cache_methods,
    .tp_as_sequence = &node_cache_as_sequence,
    .tp_as_mapping = &node_cache_as_mapping,
};

/* ------------------------------------------------------------------------ */
/* NodeBatch: the records a commit's merges create, in C memory              */
/* ------------------------------------------------------------------------ */

/* What the merges of one commit write, in id order: records live in an arena and
 * become bytes objects only while ``putmulti`` iterates, one pair at a time, so the
 * objects LMDB copies from are fresh in the CPU cache and freed right after. */
typedef struct {
    uint64_t id;
    const uint8_t *data;
    Py_ssize_t length;
} BatchItem;

typedef struct NodeBatchStruct {
    PyObject_HEAD
    BatchItem *items;
    Py_ssize_t count, capacity;
    Arena arena;
    int merging; /* merges writing records into the arena right now */
} NodeBatch;

static PyTypeObject NodeBatchType;

/* Append a record whose bytes already live in ``batch``'s arena (``copy`` 0) or a copy. */
static int batch_add(NodeBatch *batch, uint64_t id, const uint8_t *data, Py_ssize_t length, int copy_data)
{
    if (batch->count == batch->capacity) {
        size_t bytes = sizeof(BatchItem) * (size_t)batch->capacity;
        BatchItem *grown = (BatchItem *)warm_grow(batch->items, &bytes, sizeof(BatchItem) * (size_t)batch->count,
                                                  sizeof(BatchItem) * (size_t)(batch->capacity ? 2 * batch->capacity : 4096));
        if (grown == NULL)
            return -1;
        batch->items = grown;
        batch->capacity = (Py_ssize_t)(bytes / sizeof(BatchItem));
    }
    if (copy_data) {
        uint8_t *copy = (uint8_t *)arena_alloc(&batch->arena, (size_t)length);
        if (copy == NULL)
            return -1;
        memcpy(copy, data, (size_t)length);
        data = copy;
    }
    batch->items[batch->count].id = id;
    batch->items[batch->count].data = data;
    batch->items[batch->count].length = length;
    batch->count++;
    return 0;
}

static void node_batch_dealloc(NodeBatch *self)
{
    warm_give(self->items, sizeof(BatchItem) * (size_t)self->capacity);
    arena_free(&self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_batch_length(NodeBatch *self)
{
    return self->count;
}

static PyObject *node_batch_item(NodeBatch *self, Py_ssize_t index)
{
    if (index < 0 || index >= self->count) {
        PyErr_SetString(PyExc_IndexError, "NodeBatch index out of range");
        return NULL;
    }
    BatchItem *item = &self->items[index];
    PyObject *id = id_bytes(item->id);
    PyObject *record = id ? PyBytes_FromStringAndSize((const char *)item->data, item->length) : NULL;
    PyObject *pair = record ? PyTuple_Pack(2, id, record) : NULL;
    Py_XDECREF(id);
    Py_XDECREF(record);
    return pair;
}

static PyObject *node_batch_clear(NodeBatch *self, PyObject *unused)
{
    (void)unused;
    if (self->merging) {
        PyErr_SetString(PyExc_RuntimeError, "a merge is writing into this NodeBatch");
        return NULL;
    }
    self->count = 0;
    arena_free(&self->arena);
    Py_RETURN_NONE;
}

static PyMethodDef node_batch_methods[] = {
    {"clear", (PyCFunction)node_batch_clear, METH_NOARGS, "clear(): forget every record"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods node_batch_as_sequence = {
    .sq_length = (lenfunc)node_batch_length,
    .sq_item = (ssizeargfunc)node_batch_item,
};

static PyTypeObject NodeBatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeBatch",
    .tp_basicsize = sizeof(NodeBatch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeBatch()\n\n"
              "New trie node records as (id, record) pairs in id order, kept in C memory: a\n"
              "BatchTrieUpdater store target that putmulti() can iterate (the Python merger\n"
              "appends the same pairs to a list).",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)node_batch_dealloc,
    .tp_methods = node_batch_methods,
    .tp_as_sequence = &node_batch_as_sequence,
};

/* ------------------------------------------------------------------------ */
/* The updater object                                                       */
/* ------------------------------------------------------------------------ */

typedef struct Updater {
    PyObject_HEAD
    PyObject *fetch;
    PyObject *store;
    PyObject *replaced;
    NodeCache *parsed;
    unsigned long long next_id;
    Py_ssize_t parsed_limit;
} Updater;

/* ------------------------------------------------------------------------ */
/* Node forms (see the Python module docstring)                             */
/* ------------------------------------------------------------------------ */

/* The 17 raw items and 16 child ids of a branch. */
typedef struct {
    View items[17];
    const uint8_t *ids[16];
} Branch;

/* A loaded node ('B', 'L', 'E') or a merge result ('L', 'E', 'R'; NULL is "no node").
 * The Python "P" result (a leaf updated in place) is an 'L' here: both encode the same. */
typedef struct Form {
    char kind;
    const uint8_t *path; /* 'L', 'E': nibbles */
    Py_ssize_t path_length;
    const uint8_t *value; /* 'L' */
    Py_ssize_t value_length;
    const uint8_t *value_id; /* 'L': the id the leaf records (any length, NULL/0: none) */
    Py_ssize_t value_id_length;
    View item;          /* 'E': the child's reference; 'R': the node's reference */
    const uint8_t *id;  /* 'E': child id; 'R': the node's id */
    Branch *branch;     /* 'B' */
} Form;

/* A branch child while merging: a raw item with its id, or a node that exists only
 * inside this merge (an extension split off a longer one). */
typedef struct {
    View item;
    Form *unstored;
    const uint8_t *id;
} Slot;

/* A key to place in a fresh subtree. */
typedef struct {
    const uint8_t *path;
    Py_ssize_t path_length;
    const uint8_t *value;
    Py_ssize_t value_length;
    const uint8_t *value_id;
    Py_ssize_t value_id_length;
    Py_ssize_t order;
} Entry;

static Form *new_form(Merge *merge, char kind)
{
    Form *form = (Form *)arena_alloc(&merge->arena, sizeof(Form));
    if (form == NULL)
        return NULL;
    memset(form, 0, sizeof(Form));
    form->kind = kind;
    return form;
}

static Form *new_leaf(Merge *merge, const uint8_t *path, Py_ssize_t path_length, const uint8_t *value,
                      Py_ssize_t value_length, const uint8_t *value_id, Py_ssize_t value_id_length)
{
    Form *form = new_form(merge, 'L');
    if (form == NULL)
        return NULL;
    form->path = path;
    form->path_length = path_length;
    form->value = value;
    form->value_length = value_length;
    form->value_id = value_id;
    form->value_id_length = value_id_length;
    return form;
}

static Form *new_extension(Merge *merge, const uint8_t *path, Py_ssize_t path_length, View child,
                           const uint8_t *child_id)
{
    Form *form = new_form(merge, 'E');
    if (form == NULL)
        return NULL;
    form->path = path;
    form->path_length = path_length;
    form->item = child;
    form->id = child_id;
    return form;
}

static Form *new_reference(Merge *merge, View item, const uint8_t *id)
{
    Form *form = new_form(merge, 'R');
    if (form == NULL)
        return NULL;
    form->item = item;
    form->id = id;
    return form;
}

static inline int is_empty_view(View item)
{
    return item.length == 1 && item.data[0] == 0x80;
}

static inline int is_hash_reference(const uint8_t *data, Py_ssize_t length)
{
    return length == 33 && data[0] == 0xA0;
}

static inline const uint8_t *bytes_data(PyObject *bytes)
{
    return (const uint8_t *)PyBytes_AS_STRING(bytes);
}

/* Raise ``type(format % bytes.hex())``; ``format`` has one %U. */
static void raise_with_hex(PyObject *type, const char *format, PyObject *bytes)
{
    PyObject *hex = PyObject_CallMethod(bytes, "hex", NULL);
    if (hex == NULL)
        return;
    PyErr_Format(type, format, hex);
    Py_DECREF(hex);
}

/* ------------------------------------------------------------------------ */
/* Calls out to Python: ids, store, replaced, the parse cache               */
/* ------------------------------------------------------------------------ */

static inline PyObject *id_object(const uint8_t *id)
{
    return PyBytes_FromStringAndSize((const char *)id, ID_SIZE);
}

/* The next node id, its 8 raw bytes in the arena (``*number`` the id as a number). */
static int allocate_id(Merge *merge, const uint8_t **raw, uint64_t *number)
{
    Updater *updater = merge->updater;
    unsigned long long next = updater->next_id;
    if (next == UINT64_MAX) {
        PyErr_SetString(PyExc_OverflowError, "node id counter is exhausted");
        return -1;
    }
    uint8_t *copy = (uint8_t *)arena_alloc(&merge->arena, ID_SIZE);
    if (copy == NULL)
        return -1;
    updater->next_id = next + 1;
    store_be64(copy, next);
    *raw = copy;
    *number = next;
    return 0;
}

/* Room for a new record: in the batch that will keep it when the store is a
 * NodeBatch (no copy later), else in the merge arena. */
static uint8_t *record_space(Merge *merge, Py_ssize_t length)
{
    if (merge->batch != NULL)
        return (uint8_t *)arena_alloc(&merge->batch->arena, (size_t)length);
    return (uint8_t *)arena_alloc(&merge->arena, (size_t)length);
}

/* Hand a new record to ``store``: a NodeBatch keeps it (``in_batch``: its bytes are in
 * the batch's arena already, else copied); a list gets an ``(id, record)`` tuple;
 * anything else is called with (id, record). */
static int emit_record(Merge *merge, uint64_t number, const uint8_t *raw_id, const uint8_t *data, Py_ssize_t length,
                       int in_batch)
{
    PyObject *store = merge->updater->store;
    if (merge->batch != NULL)
        return batch_add(merge->batch, number, data, length, !in_batch);
    PyObject *id = id_object(raw_id);
    PyObject *record = id ? PyBytes_FromStringAndSize((const char *)data, length) : NULL;
    int status = -1;
    if (record == NULL)
        goto done;
    if (PyList_CheckExact(store)) {
        PyObject *pair = PyTuple_Pack(2, id, record);
        if (pair == NULL)
            goto done;
        PyObject_GC_UnTrack(pair); /* holds only bytes: no cycle can pass through it */
        status = PyList_Append(store, pair);
        Py_DECREF(pair);
    } else {
        Py_INCREF(store);
        PyObject *arguments[2] = {id, record};
        PyObject *outcome = PyObject_Vectorcall(store, arguments, 2, NULL);
        Py_DECREF(store);
        if (outcome != NULL) {
            Py_DECREF(outcome);
            status = 0;
        }
    }
done:
    Py_XDECREF(id);
    Py_XDECREF(record);
    return status;
}

/* A stored node the merge replaces: it leaves the parse cache (merges start from the
 * latest trie, so the cache keeps live nodes only: the Python class does the same)
 * and, when someone keeps them, joins ``replaced``. */
static int note_replaced(Merge *merge, const uint8_t *id)
{
    if (cache_remove(merge->cache, load_be64(id)) < 0)
        return -1;
    PyObject *replaced = merge->updater->replaced;
    if (replaced == Py_None) /* nobody needs them (archive mode) */
        return 0;
    PyObject *object = id_object(id);
    if (object == NULL)
        return -1;
    int status;
    if (PyList_CheckExact(replaced)) {
        status = PyList_Append(replaced, object);
    } else {
        Py_INCREF(replaced);
        PyObject *outcome = PyObject_CallMethod(replaced, "append", "O", object);
        Py_DECREF(replaced);
        status = outcome == NULL ? -1 : 0;
        Py_XDECREF(outcome);
    }
    Py_DECREF(object);
    return status;
}

static inline void cache_prefetch_slot(NodeCache *cache, const uint8_t *id)
{
    if (cache->capacity)
        __builtin_prefetch(&cache->slots[cache_home(cache, load_be64(id))]);
}

/* Prefetch the record cached under ``id`` (its slot should be in the CPU cache already). */
static inline void cache_prefetch_record(NodeCache *cache, const uint8_t *id)
{
    CacheSlot *slot = cache_find(cache, load_be64(id));
    if (slot != NULL)
        for (Py_ssize_t offset = 0; offset < slot->length; offset += 64)
            __builtin_prefetch(slot->record + offset);
}

/* The parse cache's record of ``id`` (valid until the merge ends), or NULL. */
static inline CacheSlot *cache_lookup(Merge *merge, const uint8_t *id)
{
    return cache_find(merge->cache, load_be64(id));
}

/* Make room for one more parse cache entry: the cache (with the branches queued for
 * it) is cleared when full, as the Python class clears its dict. */
static int cache_make_room(Merge *merge)
{
    NodeCache *cache = merge->cache;
    if ((Py_ssize_t)cache->count + merge->deferred_cached < merge->updater->parsed_limit)
        return 0;
    merge->deferred_cached = 0;
    merge->cache_epoch++;
    return cache_clear_all(cache);
}

/* Cache a branch or extension record read from the store. */
static int cache_put(Merge *merge, const uint8_t *id, const uint8_t *record, Py_ssize_t length)
{
    if (cache_make_room(merge) < 0)
        return -1;
    return cache_insert(merge->cache, load_be64(id), record, length);
}

/* ------------------------------------------------------------------------ */
/* Reading RLP the way the Python reference does (slices clip at the end)   */
/* ------------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t start; /* payload start */
    Py_ssize_t end;   /* item end (may lie past the data: callers clip) */
    int is_list;
} Bounds;

static Py_ssize_t saturating_end(Py_ssize_t start, uint64_t length)
{
    if (length > (uint64_t)(PY_SSIZE_T_MAX - start))
        return PY_SSIZE_T_MAX;
    return start + (Py_ssize_t)length;
}

/* Bounds of the RLP item at ``position``; -1 if ``position`` is past the data. */
static int item_bounds(const uint8_t *data, Py_ssize_t size, Py_ssize_t position, Bounds *bounds)
{
    if (position < 0 || position >= size)
        return -1;
    uint8_t prefix = data[position];
    if (prefix < 0x80) {
        bounds->start = position;
        bounds->end = position + 1;
        bounds->is_list = 0;
    } else if (prefix < 0xB8) {
        bounds->start = position + 1;
        bounds->end = position + 1 + (prefix - 0x80);
        bounds->is_list = 0;
    } else if (prefix >= 0xC0 && prefix < 0xF8) {
        bounds->start = position + 1;
        bounds->end = position + 1 + (prefix - 0xC0);
        bounds->is_list = 1;
    } else {
        Py_ssize_t width = prefix < 0xC0 ? prefix - 0xB7 : prefix - 0xF7;
        Py_ssize_t from = position + 1;
        Py_ssize_t to = from + width < size ? from + width : size;
        uint64_t length = 0;
        for (Py_ssize_t index = from; index < to; index++)
            length = (length << 8) | data[index];
        bounds->start = from + width;
        bounds->end = saturating_end(from + width, length);
        bounds->is_list = prefix >= 0xF8;
    }
    return 0;
}

/* ``data[start:end]`` with Python's clipping. */
static void clip(Py_ssize_t size, Py_ssize_t start, Py_ssize_t end, Py_ssize_t *offset, Py_ssize_t *length)
{
    if (start > size)
        start = size;
    if (end > size)
        end = size;
    *offset = start;
    *length = end > start ? end - start : 0;
}

/* Split a node's RLP into its loaded form (the Python ``_parse``), pointing into
 * ``rlp`` (which must outlive the merge); ``ids`` holds ``id_count`` child ids. */
static int parse_node(Merge *merge, const uint8_t *rlp, Py_ssize_t size, const uint8_t *ids, int id_count,
                      Form **out)
{
    Bounds outer;
    if (item_bounds(rlp, size, 0, &outer) < 0) {
        PyErr_SetString(BadTrieNode, "trie node is truncated");
        return -1;
    }
    if (!outer.is_list || outer.end != size) {
        PyErr_SetString(BadTrieNode, "trie node is not a single RLP list");
        return -1;
    }
    Py_ssize_t starts[17], ends[17];
    Py_ssize_t count = 0;
    Py_ssize_t position = outer.start;
    while (position < outer.end) {
        Py_ssize_t end;
        uint8_t prefix = rlp[position];
        /* Inline the common short items; long forms go through item_bounds. */
        if (prefix < 0x80)
            end = position + 1;
        else if (prefix < 0xB8)
            end = position + 1 + (prefix - 0x80);
        else if (prefix >= 0xC0 && prefix < 0xF8)
            end = position + 1 + (prefix - 0xC0);
        else {
            Bounds item;
            item_bounds(rlp, size, position, &item); /* position < size here */
            end = item.end;
        }
        if (count < 17) {
            starts[count] = position;
            ends[count] = end < size ? end : size;
        }
        count++;
        position = end; /* outer.end == size: the next item, if any, starts inside the data */
    }
    if (count == 17) {
        Form *form = new_form(merge, 'B');
        Branch *branch = (Branch *)arena_alloc(&merge->arena, sizeof(Branch));
        if (form == NULL || branch == NULL)
            return -1;
        int next = 0;
        for (int index = 0; index < 17; index++) {
            branch->items[index].data = rlp + starts[index];
            branch->items[index].length = ends[index] - starts[index];
            branch->items[index].job = 0;
        }
        for (int index = 0; index < 16; index++) {
            if (next < id_count && is_hash_reference(branch->items[index].data, branch->items[index].length))
                branch->ids[index] = ids + ID_SIZE * next++;
            else
                branch->ids[index] = NULL;
        }
        form->branch = branch;
        *out = form;
        return 0;
    }
    if (count != 2) {
        PyErr_Format(BadTrieNode, "trie node must have 2 or 17 items, not %zd", count);
        return -1;
    }
    const uint8_t *path_item = rlp + starts[0];
    Py_ssize_t path_item_length = ends[0] - starts[0];
    Bounds path_bounds;
    item_bounds(path_item, path_item_length, 0, &path_bounds); /* the item is never empty */
    Py_ssize_t compact_offset, compact_length;
    clip(path_item_length, path_bounds.start, path_bounds.end, &compact_offset, &compact_length);
    const uint8_t *compact = path_item + compact_offset;
    if (compact_length == 0) {
        PyErr_SetString(BadTrieNode, "hex-prefix encoded path is empty");
        return -1;
    }
    int flag = compact[0] >> 4;
    if (flag > 3) {
        PyErr_Format(BadTrieNode, "invalid hex-prefix flag nibble %d", flag);
        return -1;
    }
    int odd = flag & 1;
    if (!odd && (compact[0] & 0x0F)) {
        PyErr_SetString(BadTrieNode, "padding nibble of an even-length path must be zero");
        return -1;
    }
    Py_ssize_t path_length = 2 * (compact_length - 1) + odd;
    uint8_t *path = (uint8_t *)arena_alloc(&merge->arena, (size_t)path_length + 1);
    if (path == NULL)
        return -1;
    Py_ssize_t cursor = 0;
    if (odd)
        path[cursor++] = compact[0] & 0x0F;
    for (Py_ssize_t index = 1; index < compact_length; index++) {
        path[cursor++] = compact[index] >> 4;
        path[cursor++] = compact[index] & 0x0F;
    }
    const uint8_t *second = rlp + starts[1];
    Py_ssize_t second_length = ends[1] - starts[1];
    if (flag & 2) {
        Bounds value_bounds;
        item_bounds(second, second_length, 0, &value_bounds);
        if (value_bounds.is_list) {
            PyErr_SetString(BadTrieNode, "leaf value must be a string");
            return -1;
        }
        Py_ssize_t value_offset, value_length;
        clip(second_length, value_bounds.start, value_bounds.end, &value_offset, &value_length);
        *out = new_leaf(merge, path, path_length, second + value_offset, value_length, id_count ? ids : NULL,
                        id_count ? ID_SIZE : 0);
        return *out == NULL ? -1 : 0;
    }
    View child = {second, second_length, 0};
    *out = new_extension(merge, path, path_length, child,
                         id_count && is_hash_reference(second, second_length) ? ids : NULL);
    return *out == NULL ? -1 : 0;
}

/* Parse a stored record (rlp + child ids + count byte) that outlives the merge: the
 * Python ``split_record`` and ``_parse``. */
static int parse_record(Merge *merge, const uint8_t *data, Py_ssize_t size, Form **out)
{
    if (size == 0) {
        PyErr_SetString(CorruptDatabase, "empty trie node record");
        return -1;
    }
    int count = data[size - 1];
    Py_ssize_t cut = size - 1 - ID_SIZE * (Py_ssize_t)count;
    if (count > 16 || cut < 1) {
        PyErr_SetString(CorruptDatabase, "trie node record is truncated");
        return -1;
    }
    return parse_node(merge, data, cut, data + cut, count, out);
}

/* The loaded form of the node stored under ``id`` (the Python ``_load_id``):
 * ``cached`` is its parse cache entry if already looked up, else NULL. */
static int load_id_cached(Merge *merge, const uint8_t *id, CacheSlot *cached, Form **out)
{
    if (cached == NULL)
        cached = cache_lookup(merge, id);
    if (cached != NULL)
        return parse_record(merge, cached->record, cached->length, out);
    PyObject *key = id_object(id);
    if (key == NULL)
        return -1;
    PyObject *fetch = merge->updater->fetch;
    Py_INCREF(fetch);
    PyObject *fetched = PyObject_CallOneArg(fetch, key);
    Py_DECREF(fetch);
    if (fetched == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            raise_with_hex(MissingTrieNode, "trie node %U is not in the store", key);
        }
        Py_DECREF(key);
        return -1;
    }
    Py_DECREF(key);
    PyObject *record = fetched;
    if (!PyBytes_Check(fetched)) {
        record = PyBytes_FromObject(fetched); /* a buffer the caller may change later: copied */
        Py_DECREF(fetched);
        if (record == NULL)
            return -1;
    }
    if (hold(merge, record) < 0)
        return -1;
    const uint8_t *data = bytes_data(record);
    Py_ssize_t size = PyBytes_GET_SIZE(record);
    if (parse_record(merge, data, size, out) < 0)
        return -1;
    if ((*out)->kind != 'L')
        return cache_put(merge, id, data, size);
    return 0;
}

static int load_id(Merge *merge, const uint8_t *id, Form **out)
{
    return load_id_cached(merge, id, NULL, out);
}

/* Loaded form of a branch child (NULL for an empty slot): the Python ``_load_child``. */
static int load_child(Merge *merge, const Slot *slot, Form **out)
{
    if (slot->unstored != NULL) {
        *out = slot->unstored;
        return 0;
    }
    View item = slot->item;
    if (is_empty_view(item)) {
        *out = NULL;
        return 0;
    }
    if (is_hash_reference(item.data, item.length)) {
        if (slot->id == NULL) {
            PyErr_SetString(CorruptDatabase, "a hashed trie reference has no node id");
            return -1;
        }
        return load_id(merge, slot->id, out);
    }
    return parse_node(merge, item.data, item.length, NULL, 0, out);
}

/* Result form of an untouched child whose parent collapses: the Python ``_as_result``. */
static int as_result(Merge *merge, const Slot *slot, Form **out)
{
    if (slot->unstored != NULL) {
        *out = slot->unstored;
        return 0;
    }
    Form *form;
    if (load_child(merge, slot, &form) < 0)
        return -1;
    if (form == NULL) {
        *out = NULL;
        return 0;
    }
    if (form->kind == 'B') {
        *out = new_reference(merge, slot->item, slot->id);
        return *out == NULL ? -1 : 0;
    }
    if (slot->id != NULL && note_replaced(merge, slot->id) < 0) /* rewritten with a longer path */
        return -1;
    *out = form;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing nodes                                                            */
/* ------------------------------------------------------------------------ */

static int header_size(Py_ssize_t length)
{
    if (length < 56)
        return 1;
    int width = 0;
    for (size_t rest = (size_t)length; rest; rest >>= 8)
        width++;
    return 1 + width;
}

static uint8_t *write_header(uint8_t *out, uint8_t offset, Py_ssize_t length)
{
    if (length < 56) {
        *out++ = (uint8_t)(offset + length);
        return out;
    }
    int width = header_size(length) - 1;
    *out++ = (uint8_t)(offset + 55 + width);
    for (int byte = width - 1; byte >= 0; byte--)
        *out++ = (uint8_t)((size_t)length >> (8 * byte));
    return out;
}

static Py_ssize_t string_size(const uint8_t *data, Py_ssize_t length)
{
    if (length == 1 && data[0] < 0x80)
        return 1;
    return header_size(length) + length;
}

static uint8_t *write_string(uint8_t *out, const uint8_t *data, Py_ssize_t length)
{
    if (!(length == 1 && data[0] < 0x80))
        out = write_header(out, 0x80, length);
    if (length)
        memcpy(out, data, (size_t)length);
    return out + length;
}

/* Hex-prefix ("compact") encoding of a nibble path; ``out`` needs length / 2 + 1 bytes. */
static Py_ssize_t compact_from_nibbles(const uint8_t *path, Py_ssize_t length, int is_leaf, uint8_t *out)
{
    int flag = is_leaf ? 2 : 0;
    Py_ssize_t cursor = 0, index = 0;
    if (length & 1) {
        out[cursor++] = (uint8_t)(((flag | 1) << 4) | path[0]);
        index = 1;
    } else {
        out[cursor++] = (uint8_t)(flag << 4);
    }
    for (; index < length; index += 2)
        out[cursor++] = (uint8_t)((path[index] << 4) | path[index + 1]);
    return cursor;
}

/* Hex-prefix encoding of the leaf path of ``key`` from nibble ``position`` on, straight
 * from the key bytes (the Python ``_leaf_path_item`` without its RLP header). */
static Py_ssize_t compact_from_key(const uint8_t *key, Py_ssize_t key_length, Py_ssize_t position, uint8_t *out)
{
    Py_ssize_t half = position >> 1;
    if (position & 1) {
        out[0] = (uint8_t)(0x30 | (key[half] & 0x0F));
        memcpy(out + 1, key + half + 1, (size_t)(key_length - half - 1));
        return key_length - half;
    }
    out[0] = 0x20;
    if (key_length > half)
        memcpy(out + 1, key + half, (size_t)(key_length - half));
    return key_length - half + 1;
}

/* Encoded size (and payload size) of a 2-item node from its compact path and its second
 * item: a raw value when ``second_is_value``, else an already encoded child reference. */
static Py_ssize_t pair_size(const uint8_t *compact, Py_ssize_t compact_length, const uint8_t *second,
                            Py_ssize_t second_length, int second_is_value, Py_ssize_t *payload)
{
    *payload = string_size(compact, compact_length)
               + (second_is_value ? string_size(second, second_length) : second_length);
    return header_size(*payload) + *payload;
}

static void write_pair(uint8_t *out, Py_ssize_t payload, const uint8_t *compact, Py_ssize_t compact_length,
                       const uint8_t *second, Py_ssize_t second_length, int second_is_value)
{
    out = write_header(out, 0xC0, payload);
    out = write_string(out, compact, compact_length);
    if (second_is_value)
        write_string(out, second, second_length);
    else if (second_length)
        memcpy(out, second, (size_t)second_length);
}

/* The 2-item node encoded into the scratch arena (released by the caller's mark). */
static uint8_t *encode_pair(Merge *merge, const uint8_t *compact, Py_ssize_t compact_length,
                            const uint8_t *second, Py_ssize_t second_length, int second_is_value,
                            Py_ssize_t *encoded_length)
{
    Py_ssize_t payload;
    Py_ssize_t total = pair_size(compact, compact_length, second, second_length, second_is_value, &payload);
    uint8_t *buffer = (uint8_t *)arena_alloc(&merge->scratch, (size_t)total);
    if (buffer == NULL)
        return NULL;
    write_pair(buffer, payload, compact, compact_length, second, second_length, second_is_value);
    *encoded_length = total;
    return buffer;
}

/* A node of this merge whose hash is still to be computed: its encoding, where the
 * hash goes (``out``: its 33-byte reference after the 0xa0) and the copies of that
 * reference in its parent's record (``patches``), which get the hash too. Its height
 * is 0 without such children, else 1 + theirs: hashing height by height, every node
 * of one height at once, a node is hashed after the children it contains. */
typedef struct Patch {
    uint8_t *at;
    struct Patch *next;
} Patch;

typedef struct PendingHash {
    const uint8_t *data;
    Py_ssize_t length;
    uint8_t *out;
    int height;
    Patch *patches;
} PendingHash;

/* A record to hand to ``store`` (and, for a branch, to the parse cache) once the
 * hashes are in: kept in id order. */
typedef struct Emission {
    uint64_t number;
    const uint8_t *id;
    const uint8_t *record;
    Py_ssize_t length;
    int cache; /* a branch: cached like the Python ``_branch`` does */
    int epoch; /* the merge's cache epoch when it was queued */
} Emission;

/* Double an array of ``*capacity`` items (a warm buffer; give it back with warm_give). */
static int grow_array(void **array, Py_ssize_t *capacity, size_t item_size)
{
    size_t bytes = item_size * (size_t)*capacity;
    void *larger = warm_grow(*array, &bytes, bytes, item_size * (size_t)(*capacity ? 2 * *capacity : 1024));
    if (larger == NULL)
        return -1;
    *array = larger;
    *capacity = (Py_ssize_t)(bytes / item_size);
    return 0;
}

/* Height of a node whose record holds ``view`` (-1 if the view is not pending). */
static inline int pending_height(Merge *merge, const View *view)
{
    return view->job ? merge->hashes[view->job - 1].height : -1;
}

/* ``view`` was copied into a record at ``at``: if it is a pending reference, its
 * hash will be written there too. */
static int note_copy(Merge *merge, const View *view, uint8_t *at)
{
    if (!view->job)
        return 0;
    Patch *patch = (Patch *)arena_alloc(&merge->arena, sizeof(Patch));
    if (patch == NULL)
        return -1;
    PendingHash *pending = &merge->hashes[view->job - 1];
    patch->at = at + 1; /* after the 0xa0 */
    patch->next = pending->patches;
    pending->patches = patch;
    return 0;
}

/* The 33-byte reference ``0xa0 + keccak(encoded)`` of a stored node, in the merge arena;
 * the hash itself is filled in after the walk (``encoded`` must live until then). */
static int hash_reference(Merge *merge, const uint8_t *encoded, Py_ssize_t length, int height, View *reference)
{
    uint8_t *out = (uint8_t *)arena_alloc(&merge->arena, 33);
    if (out == NULL)
        return -1;
    if (merge->hash_count == merge->hash_capacity
        && grow_array((void **)&merge->hashes, &merge->hash_capacity, sizeof(PendingHash)) < 0)
        return -1;
    out[0] = 0xA0;
    memset(out + 1, 0, 32);
    PendingHash *pending = &merge->hashes[merge->hash_count++];
    pending->data = encoded;
    pending->length = length;
    pending->out = out + 1;
    pending->height = height;
    pending->patches = NULL;
    reference->data = out;
    reference->length = 33;
    reference->job = merge->hash_count;
    return 0;
}

/* Queue a new record for ``store`` (after the hashes are in). */
static int queue_record(Merge *merge, uint64_t number, const uint8_t *id, const uint8_t *record, Py_ssize_t length,
                        int cache)
{
    if (merge->emission_count == merge->emission_capacity
        && grow_array((void **)&merge->emissions, &merge->emission_capacity, sizeof(Emission)) < 0)
        return -1;
    if (cache && cache_make_room(merge) < 0)
        return -1;
    Emission *emission = &merge->emissions[merge->emission_count++];
    emission->number = number;
    emission->id = id;
    emission->record = record;
    emission->length = length;
    emission->cache = cache;
    emission->epoch = merge->cache_epoch;
    if (cache)
        merge->deferred_cached++;
    return 0;
}

/* After the walk: every pending hash, height by height (a batch of independent
 * messages each, hashed ``keccak_lanes`` at a time), each copied into its parent's
 * record; then the records go to ``store`` and the branches to the parse cache, in
 * id order. */
static int complete_merge(Merge *merge)
{
    Py_ssize_t count = merge->hash_count;
    if (count) {
        int top = 0;
        for (Py_ssize_t index = 0; index < count; index++)
            if (merge->hashes[index].height > top)
                top = merge->hashes[index].height;
        Py_ssize_t *starts = (Py_ssize_t *)calloc((size_t)top + 2, sizeof(Py_ssize_t));
        size_t jobs_size = 0, order_size = 0;
        HashJob *jobs = (HashJob *)warm_take(sizeof(HashJob) * (size_t)count, &jobs_size);
        Py_ssize_t *order = (Py_ssize_t *)warm_take(sizeof(Py_ssize_t) * (size_t)count, &order_size);
        int status = 0;
        if (starts == NULL || jobs == NULL || order == NULL) {
            if (starts == NULL)
                PyErr_NoMemory();
            status = -1;
        } else {
            for (Py_ssize_t index = 0; index < count; index++)
                starts[merge->hashes[index].height + 1]++;
            for (int height = 1; height <= top + 1; height++)
                starts[height] += starts[height - 1];
            Py_ssize_t *fill = (Py_ssize_t *)malloc(sizeof(Py_ssize_t) * ((size_t)top + 1));
            if (fill == NULL) {
                PyErr_NoMemory();
                status = -1;
            } else {
                memcpy(fill, starts, sizeof(Py_ssize_t) * ((size_t)top + 1));
                for (Py_ssize_t index = 0; index < count; index++)
                    order[fill[merge->hashes[index].height]++] = index;
                free(fill);
                for (int height = 0; height <= top && status == 0; height++) {
                    Py_ssize_t first = starts[height], stop = starts[height + 1];
                    for (Py_ssize_t at = first; at < stop; at++) {
                        PendingHash *pending = &merge->hashes[order[at]];
                        jobs[at - first].data = pending->data;
                        jobs[at - first].length = (size_t)pending->length;
                        jobs[at - first].out = pending->out;
                    }
                    status = keccak256_jobs(jobs, (size_t)(stop - first), keccak_lanes);
                    for (Py_ssize_t at = first; at < stop && status == 0; at++) {
                        PendingHash *pending = &merge->hashes[order[at]];
                        for (Patch *patch = pending->patches; patch != NULL; patch = patch->next)
                            memcpy(patch->at, pending->out, 32);
                    }
                }
            }
        }
        free(starts);
        warm_give(jobs, jobs_size);
        warm_give(order, order_size);
        if (status < 0)
            return -1;
    }
    for (Py_ssize_t index = 0; index < merge->emission_count; index++) {
        Emission *emission = &merge->emissions[index];
        if (emit_record(merge, emission->number, emission->id, emission->record, emission->length, 1) < 0)
            return -1;
        if (emission->cache && emission->epoch == merge->cache_epoch
            && cache_insert(merge->cache, load_be64(emission->id), emission->record, emission->length) < 0)
            return -1;
    }
    merge->deferred_cached = 0;
    return 0;
}

/* Reference and id of a 2-item node whose compact path and second item are given
 * (the Python ``_reference``): embedded under 32 bytes, else stored as rlp + child
 * id + (1 if a child id else 0), encoded straight into the record. */
static int reference_pair(Merge *merge, const uint8_t *compact, Py_ssize_t compact_length, const View *second,
                          int second_is_value, const uint8_t *child_id, Py_ssize_t id_length, View *reference,
                          const uint8_t **id)
{
    Py_ssize_t payload;
    Py_ssize_t length = pair_size(compact, compact_length, second->data, second->length, second_is_value, &payload);
    if (length < 32) { /* (a pending child reference alone is 33 bytes: never in here) */
        uint8_t *embedded = (uint8_t *)arena_alloc(&merge->arena, (size_t)length);
        if (embedded == NULL)
            return -1;
        write_pair(embedded, payload, compact, compact_length, second->data, second->length, second_is_value);
        reference->data = embedded;
        reference->length = length;
        reference->job = 0;
        *id = NULL;
        return 0;
    }
    if (child_id == NULL)
        id_length = 0;
    const uint8_t *raw_id;
    uint64_t number;
    if (allocate_id(merge, &raw_id, &number) < 0)
        return -1;
    uint8_t *out = record_space(merge, length + id_length + 1);
    if (out == NULL)
        return -1;
    write_pair(out, payload, compact, compact_length, second->data, second->length, second_is_value);
    if (!second_is_value && note_copy(merge, second, out + (length - second->length)) < 0)
        return -1;
    if (id_length)
        memcpy(out + length, child_id, (size_t)id_length);
    out[length + id_length] = id_length ? 1 : 0;
    *id = raw_id;
    if (hash_reference(merge, out, length, second_is_value ? 0 : pending_height(merge, second) + 1, reference) < 0)
        return -1;
    return queue_record(merge, number, raw_id, out, length + id_length + 1, 0);
}

/* Encode a result (storing it when hashed): the Python ``_finish``. */
static int finish(Merge *merge, Form *result, View *reference, const uint8_t **id)
{
    if (result == NULL) {
        *reference = EMPTY_VIEW;
        *id = NULL;
        return 0;
    }
    if (result->kind == 'R') {
        *reference = result->item;
        *id = result->id;
        return 0;
    }
    if (result->kind != 'L' && result->kind != 'E') {
        PyErr_SetString(PyExc_SystemError, "trie merge: a loaded branch cannot be finished");
        return -1;
    }
    ArenaMark mark = arena_mark(&merge->scratch);
    int status = -1;
    uint8_t *compact = (uint8_t *)arena_alloc(&merge->scratch, (size_t)(result->path_length / 2 + 1));
    if (compact != NULL) {
        int is_leaf = result->kind == 'L';
        Py_ssize_t compact_length = compact_from_nibbles(result->path, result->path_length, is_leaf, compact);
        if (is_leaf) {
            View value = {result->value, result->value_length, 0};
            status = reference_pair(merge, compact, compact_length, &value, 1, result->value_id,
                                    result->value_id_length, reference, id);
        } else {
            status = reference_pair(merge, compact, compact_length, &result->item, 0, result->id, ID_SIZE,
                                    reference, id);
        }
    }
    arena_release(&merge->scratch, mark);
    return status;
}

/* Store a branch from 17 finished items and 16 ids and cache its record: the
 * Python ``_branch``. */
static int store_branch(Merge *merge, const View *items, const uint8_t *const *ids, View *reference,
                        const uint8_t **id)
{
    Py_ssize_t payload = 0;
    for (int index = 0; index < 17; index++)
        payload += items[index].length;
    if (payload >= BRANCH_HEADER_LIMIT) {
        PyErr_Format(BadTrieNode, "branch node of %zd bytes is too large for a trie node", payload);
        return -1;
    }
    Py_ssize_t encoded_length = header_size(payload) + payload;
    if (encoded_length < 32) {
        uint8_t *embedded = (uint8_t *)arena_alloc(&merge->arena, (size_t)encoded_length);
        if (embedded == NULL)
            return -1;
        uint8_t *out = write_header(embedded, 0xC0, payload);
        for (int index = 0; index < 17; index++) {
            memcpy(out, items[index].data, (size_t)items[index].length);
            out += items[index].length;
        }
        reference->data = embedded; /* (under 32 bytes: no 33-byte child reference in it) */
        reference->length = encoded_length;
        reference->job = 0;
        *id = NULL;
        return 0;
    }
    int id_count = 0;
    for (int index = 0; index < 16; index++)
        id_count += ids[index] != NULL;
    const uint8_t *raw_id;
    uint64_t number;
    if (allocate_id(merge, &raw_id, &number) < 0)
        return -1;
    Py_ssize_t record_length = encoded_length + ID_SIZE * id_count + 1;
    uint8_t *start = record_space(merge, record_length);
    if (start == NULL)
        return -1;
    uint8_t *out = write_header(start, 0xC0, payload);
    int height = 0;
    for (int index = 0; index < 17; index++) {
        memcpy(out, items[index].data, (size_t)items[index].length);
        if (items[index].job) {
            if (note_copy(merge, &items[index], out) < 0)
                return -1;
            int below = pending_height(merge, &items[index]) + 1;
            if (below > height)
                height = below;
        }
        out += items[index].length;
    }
    for (int index = 0; index < 16; index++) {
        if (ids[index] != NULL) {
            memcpy(out, ids[index], ID_SIZE);
            out += ID_SIZE;
        }
    }
    *out = (uint8_t)id_count;
    *id = raw_id;
    if (hash_reference(merge, start, encoded_length, height, reference) < 0)
        return -1;
    return queue_record(merge, number, raw_id, start, record_length, 1);
}

/* ------------------------------------------------------------------------ */
/* Merging                                                                  */
/* ------------------------------------------------------------------------ */

static inline void leaf_value_id(Merge *merge, Py_ssize_t index, const uint8_t **id, Py_ssize_t *length)
{
    if (merge->value_ids == NULL) {
        *id = NULL;
        *length = 0;
    } else {
        *id = merge->value_ids[index];
        *length = merge->value_id_lengths[index];
    }
}

/* ``path[from:to] == other`` with Python's slice clipping. */
static int slice_equals(const uint8_t *path, Py_ssize_t length, Py_ssize_t from, Py_ssize_t to,
                        const uint8_t *other, Py_ssize_t other_length)
{
    Py_ssize_t offset, size;
    clip(length, from, to, &offset, &size);
    return size == other_length && (size == 0 || memcmp(path + offset, other, (size_t)size) == 0);
}

/* New arena path ``prefix + rest``. */
static const uint8_t *join_paths(Merge *merge, const uint8_t *prefix, Py_ssize_t prefix_length,
                                 const uint8_t *rest, Py_ssize_t rest_length)
{
    uint8_t *joined = (uint8_t *)arena_alloc(&merge->arena, (size_t)(prefix_length + rest_length) + 1);
    if (joined == NULL)
        return NULL;
    memcpy(joined, prefix, (size_t)prefix_length);
    if (rest_length)
        memcpy(joined + prefix_length, rest, (size_t)rest_length);
    return joined;
}

/* The node replacing ``result`` when ``prefix`` is put in front of its path: the
 * Python ``_prepend``. ``prefix`` must outlive the merge. */
static int prepend(Merge *merge, const uint8_t *prefix, Py_ssize_t prefix_length, Form *result, Form **out)
{
    if (result == NULL || prefix_length == 0) {
        *out = result;
        return 0;
    }
    if (result->kind == 'R') {
        *out = new_extension(merge, prefix, prefix_length, result->item, result->id);
        return *out == NULL ? -1 : 0;
    }
    const uint8_t *path = join_paths(merge, prefix, prefix_length, result->path, result->path_length);
    if (path == NULL)
        return -1;
    if (result->kind == 'L')
        *out = new_leaf(merge, path, prefix_length + result->path_length, result->value, result->value_length,
                        result->value_id, result->value_id_length);
    else
        *out = new_extension(merge, path, prefix_length + result->path_length, result->item, result->id);
    return *out == NULL ? -1 : 0;
}

static void raise_short_key(void)
{
    PyErr_SetString(TrieError, "a key ends inside the trie's paths: keys must be distinct and as long as the "
                               "trie's keys (or a stored leaf path is malformed)");
}

/* Common prefix length of two paths, the first ``start`` items assumed equal. */
static Py_ssize_t common_prefix_length(const uint8_t *a, Py_ssize_t a_length, const uint8_t *b,
                                       Py_ssize_t b_length, Py_ssize_t start)
{
    Py_ssize_t limit = a_length < b_length ? a_length : b_length;
    Py_ssize_t index = start;
    while (index < limit && a[index] == b[index])
        index++;
    return index;
}

static void empty_branch(View *items, const uint8_t **ids)
{
    for (int index = 0; index < 17; index++)
        items[index] = EMPTY_VIEW;
    for (int index = 0; index < 16; index++)
        ids[index] = NULL;
}

/* A fresh subtree holding ``entries`` (sorted) below ``depth``: the Python ``_build``. */
static int build(Merge *merge, Entry *entries, Py_ssize_t count, Py_ssize_t depth, Form **out)
{
    if (count == 0) {
        *out = NULL;
        return 0;
    }
    if (count == 1) {
        Py_ssize_t offset, length;
        clip(entries[0].path_length, depth, PY_SSIZE_T_MAX, &offset, &length);
        *out = new_leaf(merge, entries[0].path + offset, length, entries[0].value, entries[0].value_length,
                        entries[0].value_id, entries[0].value_id_length);
        return *out == NULL ? -1 : 0;
    }
    if (Py_EnterRecursiveCall(" while building a trie"))
        return -1;
    int status = -1;
    Entry *first = &entries[0];
    Entry *last = &entries[count - 1];
    Py_ssize_t shared = common_prefix_length(first->path, first->path_length, last->path, last->path_length, depth);
    if (shared > depth) {
        Form *below;
        if (build(merge, entries, count, shared, &below) == 0)
            status = prepend(merge, first->path + depth, shared - depth, below, out);
        goto done;
    }
    View finished[17];
    const uint8_t *finished_ids[16];
    empty_branch(finished, finished_ids);
    Py_ssize_t start = 0;
    while (start < count) {
        if (depth >= entries[start].path_length) {
            raise_short_key();
            goto done;
        }
        uint8_t nibble = entries[start].path[depth];
        Py_ssize_t stop = start + 1;
        while (stop < count) {
            if (depth >= entries[stop].path_length) {
                raise_short_key();
                goto done;
            }
            if (entries[stop].path[depth] != nibble)
                break;
            stop++;
        }
        Form *child;
        if (build(merge, entries + start, stop - start, depth + 1, &child) < 0
            || finish(merge, child, &finished[nibble], &finished_ids[nibble]) < 0)
            goto done;
        start = stop;
    }
    View reference;
    const uint8_t *id;
    if (store_branch(merge, finished, finished_ids, &reference, &id) == 0) {
        *out = new_reference(merge, reference, id);
        status = *out == NULL ? -1 : 0;
    }
done:
    Py_LeaveRecursiveCall();
    return status;
}

static int compare_entries(const void *left, const void *right)
{
    const Entry *a = (const Entry *)left;
    const Entry *b = (const Entry *)right;
    Py_ssize_t shorter = a->path_length < b->path_length ? a->path_length : b->path_length;
    int order = shorter ? memcmp(a->path, b->path, (size_t)shorter) : 0;
    if (order)
        return order;
    if (a->path_length != b->path_length)
        return a->path_length < b->path_length ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* Changes under a stored leaf that is not simply updated: the Python dict merge of
 * the changes (last one wins) with the leaf (kept unless changed), then ``_build``. */
static int merge_into_leaf(Merge *merge, Form *leaf, Py_ssize_t depth, Py_ssize_t lo, Py_ssize_t hi, Form **out)
{
    Py_ssize_t changes = hi - lo;
    Entry *entries = (Entry *)arena_alloc(&merge->arena, sizeof(Entry) * (size_t)(changes + 1));
    if (entries == NULL)
        return -1;
    for (Py_ssize_t index = lo; index < hi; index++) {
        Entry *entry = &entries[index - lo];
        Py_ssize_t offset, length;
        clip(merge->path_lengths[index], depth, PY_SSIZE_T_MAX, &offset, &length);
        entry->path = merge->paths[index] + offset;
        entry->path_length = length;
        entry->value = merge->values[index];
        entry->value_length = merge->value_lengths[index];
        leaf_value_id(merge, index, &entry->value_id, &entry->value_id_length);
        entry->order = index;
    }
    qsort(entries, (size_t)changes, sizeof(Entry), compare_entries);
    /* Keep the last change of each path (the dict's last write). */
    Py_ssize_t distinct = 0;
    for (Py_ssize_t index = 0; index < changes; index++) {
        if (index + 1 < changes && entries[index + 1].path_length == entries[index].path_length
            && memcmp(entries[index + 1].path, entries[index].path, (size_t)entries[index].path_length) == 0)
            continue;
        entries[distinct++] = entries[index];
    }
    /* The stored leaf, unless a change has its path (``setdefault``). */
    Entry stored = {leaf->path, leaf->path_length, leaf->value, leaf->value_length, leaf->value_id,
                    leaf->value_id_length, -1};
    Py_ssize_t position = 0;
    int found = 0;
    while (position < distinct) {
        int order = compare_entries(&entries[position], &stored);
        if (order >= 0) {
            found = entries[position].path_length == stored.path_length
                    && memcmp(entries[position].path, stored.path, (size_t)stored.path_length) == 0;
            break;
        }
        position++;
    }
    if (!found) {
        memmove(entries + position + 1, entries + position, sizeof(Entry) * (size_t)(distinct - position));
        entries[position] = stored;
        distinct++;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t index = 0; index < distinct; index++)
        if (entries[index].value_length)
            entries[kept++] = entries[index];
    return build(merge, entries, kept, 0, out);
}

/* The leaf-hash shortcut: is ``item`` the leaf of key ``index`` below ``child_depth``
 * with its previous value? Writes the key's leaf path (compact) for reuse. */
static int is_previous_leaf(Merge *merge, View item, Py_ssize_t index, Py_ssize_t child_depth, uint8_t *compact,
                            Py_ssize_t *compact_length)
{
    *compact_length = compact_from_key(merge->keys[index], merge->key_lengths[index], child_depth, compact);
    Py_ssize_t encoded_length;
    uint8_t *old_leaf = encode_pair(merge, compact, *compact_length, merge->previous[index],
                                    merge->previous_lengths[index], 1, &encoded_length);
    if (old_leaf == NULL)
        return -1;
    if (encoded_length < 32)
        return item.length == encoded_length && memcmp(item.data, old_leaf, (size_t)encoded_length) == 0;
    if (!is_hash_reference(item.data, item.length))
        return 0;
    uint8_t hash[32];
    keccak256(old_leaf, (size_t)encoded_length, hash);
    return memcmp(item.data + 1, hash, 32) == 0;
}

/* The leaf-hash shortcut for change ``index`` under ``item``: 1 (and the new leaf's
 * reference and id in ``reference``/``id``, ``replaced`` noted) when the child is that
 * key's leaf with its previous value, 0 when not, -1 on error. With ``as_result`` the
 * new leaf is not encoded but returned as an 'L' result in ``*result`` (NULL: deleted). */
static int try_previous_leaf(Merge *merge, View item, const uint8_t *item_id, Py_ssize_t index,
                             Py_ssize_t child_depth, int as_result, View *reference, const uint8_t **id,
                             Form **result)
{
    ArenaMark mark = arena_mark(&merge->scratch);
    int matched = -1;
    uint8_t *compact = (uint8_t *)arena_alloc(&merge->scratch, (size_t)merge->key_lengths[index] + 2);
    Py_ssize_t compact_length = 0;
    if (compact != NULL)
        matched = is_previous_leaf(merge, item, index, child_depth, compact, &compact_length);
    if (matched == 1 && item_id != NULL && note_replaced(merge, item_id) < 0)
        matched = -1;
    if (matched == 1) {
        const uint8_t *value_id;
        Py_ssize_t value_id_length;
        leaf_value_id(merge, index, &value_id, &value_id_length);
        if (as_result) {
            *result = NULL;
            if (merge->value_lengths[index]) {
                *result = new_leaf(merge, merge->paths[index] + child_depth,
                                   merge->path_lengths[index] - child_depth, merge->values[index],
                                   merge->value_lengths[index], value_id, value_id_length);
                if (*result == NULL)
                    matched = -1;
            }
        } else {
            View value = {merge->values[index], merge->value_lengths[index], 0};
            if (reference_pair(merge, compact, compact_length, &value, 1, value_id, value_id_length, reference, id)
                < 0)
                matched = -1;
        }
    }
    arena_release(&merge->scratch, mark);
    return matched;
}

static int update_node(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth, Py_ssize_t lo,
                       Py_ssize_t hi, Form **out);

/* End of the run of changes from ``start`` sharing nibble ``depth`` (-1: a key too short). */
static Py_ssize_t run_end(Merge *merge, Py_ssize_t start, Py_ssize_t hi, Py_ssize_t depth)
{
    if (depth >= merge->path_lengths[start]) {
        raise_short_key();
        return -1;
    }
    uint8_t nibble = merge->paths[start][depth];
    Py_ssize_t stop = start + 1;
    while (stop < hi) {
        if (depth >= merge->path_lengths[stop]) {
            raise_short_key();
            return -1;
        }
        if (merge->paths[stop][depth] != nibble)
            break;
        stop++;
    }
    return stop;
}

/* ``_update`` of a stored branch when the batch deletes nothing: the Python
 * ``_merge_branch``. Every changed child is finished as soon as it is merged. */
static int merge_branch(Merge *merge, const Branch *branch, Py_ssize_t depth, Py_ssize_t lo, Py_ssize_t hi,
                        View *reference, const uint8_t **id)
{
    if (Py_EnterRecursiveCall(" while merging a trie"))
        return -1;
    int status = -1;
    View finished[17];
    const uint8_t *finished_ids[16];
    memcpy(finished, branch->items, sizeof finished);
    memcpy(finished_ids, branch->ids, sizeof finished_ids);
    Py_ssize_t child_depth = depth + 1;
    Py_ssize_t start = lo;
    /* The children are looked up one after another: ask for their table slots now, so
     * that the memory fetches overlap instead of each one stalling the walk. */
    for (int index = 0; index < 16; index++)
        if (branch->ids[index] != NULL)
            cache_prefetch_slot(merge->cache, branch->ids[index]);
    while (start < hi) {
        Py_ssize_t stop = run_end(merge, start, hi, depth);
        if (stop < 0)
            goto done;
        if (stop < hi && branch->ids[merge->paths[stop][depth]] != NULL) /* the next child's record */
            cache_prefetch_record(merge->cache, branch->ids[merge->paths[stop][depth]]);
        uint8_t nibble = merge->paths[start][depth];
        View item = branch->items[nibble];
        const uint8_t *item_id = branch->ids[nibble];
        CacheSlot *cached = NULL; /* found by the leaf-hash check's lookup: not looked up again */
        if (stop - start == 1 && merge->previous != NULL && merge->previous_lengths[start]) {
            if (item_id != NULL)
                cached = cache_lookup(merge, item_id);
            if (cached == NULL) {
                int matched = try_previous_leaf(merge, item, item_id, start, child_depth, 0, &finished[nibble],
                                                &finished_ids[nibble], NULL);
                if (matched < 0)
                    goto done;
                if (matched) {
                    start = stop;
                    continue;
                }
            }
        }
        Form *child;
        if (item_id != NULL) {
            if (load_id_cached(merge, item_id, cached, &child) < 0)
                goto done;
            if (child->kind == 'B' && is_empty_view(child->branch->items[16])) {
                if (note_replaced(merge, item_id) < 0
                    || merge_branch(merge, child->branch, child_depth, start, stop, &finished[nibble],
                                    &finished_ids[nibble]) < 0)
                    goto done;
                start = stop;
                continue;
            }
        } else {
            Slot slot = {item, NULL, NULL};
            if (load_child(merge, &slot, &child) < 0)
                goto done;
        }
        Form *result;
        if (update_node(merge, child, item_id, child_depth, start, stop, &result) < 0
            || finish(merge, result, &finished[nibble], &finished_ids[nibble]) < 0)
            goto done;
        start = stop;
    }
    status = store_branch(merge, finished, finished_ids, reference, id);
done:
    Py_LeaveRecursiveCall();
    return status;
}

/* Merge changes ``lo:hi`` (sharing the first ``depth`` nibbles) into ``loaded``
 * (NULL for no node): the Python ``_update``. ``loaded_key`` is the id as bytes
 * when the caller has it (else made from ``loaded_id`` when needed). */
static int update_node_inner(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth,
                             Py_ssize_t lo, Py_ssize_t hi, Form **out)
{
    if (loaded_id != NULL && note_replaced(merge, loaded_id) < 0)
        return -1;
    if (loaded == NULL) {
        Entry *entries = (Entry *)arena_alloc(&merge->arena, sizeof(Entry) * (size_t)(hi - lo));
        if (entries == NULL)
            return -1;
        Py_ssize_t chosen = 0;
        for (Py_ssize_t index = lo; index < hi; index++) {
            if (!merge->value_lengths[index])
                continue;
            Entry *entry = &entries[chosen++];
            entry->path = merge->paths[index];
            entry->path_length = merge->path_lengths[index];
            entry->value = merge->values[index];
            entry->value_length = merge->value_lengths[index];
            leaf_value_id(merge, index, &entry->value_id, &entry->value_id_length);
            entry->order = index;
        }
        return build(merge, entries, chosen, depth, out);
    }
    Slot slots[17];
    int split;
    if (loaded->kind == 'L') {
        if (hi - lo == 1
            && slice_equals(merge->paths[lo], merge->path_lengths[lo], depth, PY_SSIZE_T_MAX, loaded->path,
                            loaded->path_length)) { /* the common case: a value update */
            if (!merge->value_lengths[lo]) {
                *out = NULL;
                return 0;
            }
            const uint8_t *value_id;
            Py_ssize_t value_id_length;
            leaf_value_id(merge, lo, &value_id, &value_id_length);
            *out = new_leaf(merge, loaded->path, loaded->path_length, merge->values[lo], merge->value_lengths[lo],
                            value_id, value_id_length);
            return *out == NULL ? -1 : 0;
        }
        return merge_into_leaf(merge, loaded, depth, lo, hi, out);
    }
    if (loaded->kind == 'E') {
        const uint8_t *path = loaded->path;
        Py_ssize_t path_length = loaded->path_length;
        Py_ssize_t end = depth + path_length;
        if (slice_equals(merge->paths[lo], merge->path_lengths[lo], depth, end, path, path_length)
            && slice_equals(merge->paths[hi - 1], merge->path_lengths[hi - 1], depth, end, path, path_length)) {
            Slot child_slot = {loaded->item, NULL, loaded->id};
            Form *child, *result;
            if (load_child(merge, &child_slot, &child) < 0
                || update_node(merge, child, loaded->id, end, lo, hi, &result) < 0)
                return -1;
            return prepend(merge, path, path_length, result, out);
        }
        /* Not every change is under the extension: continue as the equivalent branch. */
        for (int index = 0; index < 17; index++) {
            slots[index].item = EMPTY_VIEW;
            slots[index].unstored = NULL;
            slots[index].id = NULL;
        }
        if (path_length == 1) {
            slots[path[0]].item = loaded->item;
            slots[path[0]].id = loaded->id;
        } else {
            Form *rest = new_extension(merge, path + 1, path_length - 1, loaded->item, loaded->id);
            if (rest == NULL)
                return -1;
            slots[path[0]].unstored = rest;
        }
        split = 1;
    } else if (loaded->kind == 'B') {
        const Branch *branch = loaded->branch;
        if (!merge->deletes && is_empty_view(branch->items[16])) {
            View reference;
            const uint8_t *id;
            if (merge_branch(merge, branch, depth, lo, hi, &reference, &id) < 0)
                return -1;
            *out = new_reference(merge, reference, id);
            return *out == NULL ? -1 : 0;
        }
        for (int index = 0; index < 17; index++) {
            slots[index].item = branch->items[index];
            slots[index].unstored = NULL;
            slots[index].id = index < 16 ? branch->ids[index] : NULL;
        }
        split = 0;
    } else {
        PyErr_SetString(PyExc_SystemError, "trie merge: unexpected node form");
        return -1;
    }
    if (!is_empty_view(slots[16].item)) {
        PyErr_SetString(BadTrieNode, "branch values do not occur in a trie of equal-length keys");
        return -1;
    }
    Form *results[16];
    int has_result[16] = {0};
    int result_order[16];
    int result_count = 0;
    Py_ssize_t child_depth = depth + 1;
    Py_ssize_t start = lo;
    while (start < hi) {
        Py_ssize_t stop = run_end(merge, start, hi, depth);
        if (stop < 0)
            return -1;
        uint8_t nibble = merge->paths[start][depth];
        Slot *slot = &slots[nibble];
        Form *result = NULL;
        int done = 0;
        if (stop - start == 1 && merge->previous != NULL && merge->previous_lengths[start] && slot->unstored == NULL) {
            int cached = slot->id != NULL && cache_lookup(merge, slot->id) != NULL;
            if (!cached) {
                int matched = try_previous_leaf(merge, slot->item, slot->id, start, child_depth, 1, NULL,
                                                NULL, &result);
                if (matched < 0)
                    return -1;
                done = matched;
            }
        }
        if (!done) {
            Form *child;
            if (load_child(merge, slot, &child) < 0
                || update_node(merge, child, slot->id, child_depth, start, stop, &result) < 0)
                return -1;
        }
        if (!has_result[nibble]) {
            has_result[nibble] = 1;
            result_order[result_count++] = nibble;
        }
        results[nibble] = result;
        start = stop;
    }
    View finished[17];
    const uint8_t *finished_ids[16];
    View reference;
    const uint8_t *id;
    int any_removed = 0;
    for (int index = 0; index < result_count; index++)
        if (results[result_order[index]] == NULL)
            any_removed = 1;
    if (!split && !any_removed) {
        /* A stored branch has two or more children and none was removed: still a branch. */
        for (int index = 0; index < 17; index++)
            finished[index] = slots[index].item;
        for (int index = 0; index < 16; index++)
            finished_ids[index] = slots[index].id;
        for (int index = 0; index < result_count; index++) {
            int nibble = result_order[index];
            if (finish(merge, results[nibble], &finished[nibble], &finished_ids[nibble]) < 0)
                return -1;
        }
        if (store_branch(merge, finished, finished_ids, &reference, &id) < 0)
            return -1;
        *out = new_reference(merge, reference, id);
        return *out == NULL ? -1 : 0;
    }
    int live[16];
    int live_count = 0;
    for (int nibble = 0; nibble < 16; nibble++) {
        int alive = has_result[nibble] ? results[nibble] != NULL
                                       : (slots[nibble].unstored != NULL || !is_empty_view(slots[nibble].item));
        if (alive)
            live[live_count++] = nibble;
    }
    if (live_count >= 2) {
        finished[16] = EMPTY_VIEW;
        for (int nibble = 0; nibble < 16; nibble++) {
            int status;
            if (has_result[nibble]) {
                status = finish(merge, results[nibble], &finished[nibble], &finished_ids[nibble]);
            } else if (slots[nibble].unstored != NULL) {
                status = finish(merge, slots[nibble].unstored, &finished[nibble], &finished_ids[nibble]);
            } else {
                finished[nibble] = slots[nibble].item;
                finished_ids[nibble] = slots[nibble].id;
                status = 0;
            }
            if (status < 0)
                return -1;
        }
        if (store_branch(merge, finished, finished_ids, &reference, &id) < 0)
            return -1;
        *out = new_reference(merge, reference, id);
        return *out == NULL ? -1 : 0;
    }
    if (live_count == 0) {
        *out = NULL;
        return 0;
    }
    int only = live[0];
    Form *result;
    if (has_result[only]) {
        result = results[only];
    } else if (as_result(merge, &slots[only], &result) < 0) {
        return -1;
    }
    return prepend(merge, NIBBLE_VALUES + only, 1, result, out);
}

static int update_node(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth, Py_ssize_t lo,
                       Py_ssize_t hi, Form **out)
{
    if (Py_EnterRecursiveCall(" while merging a trie"))
        return -1;
    int status = update_node_inner(merge, loaded, loaded_id, depth, lo, hi, out);
    Py_LeaveRecursiveCall();
    return status;
}

/* A tuple snapshot of an argument sequence aligned with the keys (NULL on error). */
static PyObject *aligned_tuple(PyObject *sequence, Py_ssize_t count, const char *name)
{
    PyObject *tuple = PySequence_Tuple(sequence);
    if (tuple == NULL)
        return NULL;
    if (PyTuple_GET_SIZE(tuple) != count) {
        PyErr_Format(TrieError, "%s must be aligned with keys (%zd keys, %zd %s)", name, count,
                     PyTuple_GET_SIZE(tuple), name);
        Py_DECREF(tuple);
        return NULL;
    }
    return tuple;
}

/* Raw views of a tuple of bytes (None counts as b"" where ``allow_none``). */
static int bytes_views(Merge *merge, PyObject *tuple, const char *name, int allow_none, const uint8_t ***data,
                       Py_ssize_t **lengths)
{
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    *data = (const uint8_t **)arena_alloc(&merge->arena, sizeof(uint8_t *) * (size_t)(count + 1));
    *lengths = (Py_ssize_t *)arena_alloc(&merge->arena, sizeof(Py_ssize_t) * (size_t)(count + 1));
    if (*data == NULL || *lengths == NULL)
        return -1;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, index);
        if (PyBytes_Check(item)) {
            (*data)[index] = bytes_data(item);
            (*lengths)[index] = PyBytes_GET_SIZE(item);
        } else if (allow_none && item == Py_None) {
            (*data)[index] = (const uint8_t *)"";
            (*lengths)[index] = 0;
        } else {
            PyErr_Format(PyExc_TypeError, "%s must be bytes, not %.100s", name, Py_TYPE(item)->tp_name);
            return -1;
        }
    }
    return 0;
}


/* The merge of a prepared batch (``merge`` holds the keys, values and optional hints as
 * raw arrays, ``count`` > 0) into the trie at ``root``/``root_id``: (root, root id),
 * or NULL with an exception. Frees the merge's storage either way. */
static PyObject *run_merge(Merge *merge, PyObject *root, PyObject *root_id)
{
    PyObject *answer = NULL;
    merge->cache = merge->updater->parsed;
    Py_INCREF(merge->cache); /* a callback may replace the updater's cache */
    cache_begin_merge(merge->cache);
    if (Py_IS_TYPE(merge->updater->store, &NodeBatchType)) {
        merge->batch = (NodeBatch *)merge->updater->store;
        Py_INCREF(merge->batch); /* its arena holds the new records */
        merge->batch->merging++;
    }
    Py_ssize_t count = merge->count;
    Py_ssize_t total_nibbles = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        total_nibbles += 2 * merge->key_lengths[index];
        if (!merge->value_lengths[index])
            merge->deletes = 1;
    }
    uint8_t *nibbles = (uint8_t *)arena_alloc(&merge->arena, (size_t)total_nibbles + 1);
    merge->paths = (const uint8_t **)arena_alloc(&merge->arena, sizeof(uint8_t *) * (size_t)count);
    merge->path_lengths = (Py_ssize_t *)arena_alloc(&merge->arena, sizeof(Py_ssize_t) * (size_t)count);
    if (nibbles == NULL || merge->paths == NULL || merge->path_lengths == NULL)
        goto done;
    for (Py_ssize_t index = 0; index < count; index++) {
        const uint8_t *key = merge->keys[index];
        merge->paths[index] = nibbles;
        merge->path_lengths[index] = 2 * merge->key_lengths[index];
        for (Py_ssize_t byte = 0; byte < merge->key_lengths[index]; byte++) {
            *nibbles++ = key[byte] >> 4;
            *nibbles++ = key[byte] & 0x0F;
        }
    }

    Form *result = NULL;
    if (PyBytes_GET_SIZE(root) == 32 && memcmp(PyBytes_AS_STRING(root), EMPTY_TRIE_ROOT, 32) == 0) {
        if (update_node(merge, NULL, NULL, 0, 0, count, &result) < 0)
            goto done;
    } else if (PyBytes_GET_SIZE(root_id) == 0) {
        raise_with_hex(MissingTrieNode, "no node id given for root %U", root);
        goto done;
    } else if (PyBytes_GET_SIZE(root_id) != ID_SIZE) {
        raise_with_hex(MissingTrieNode, "root node id %U is not an 8-byte node id", root_id);
        goto done;
    } else {
        Form *loaded;
        const uint8_t *id = (const uint8_t *)arena_alloc(&merge->arena, ID_SIZE);
        if (id == NULL)
            goto done;
        memcpy((uint8_t *)id, PyBytes_AS_STRING(root_id), ID_SIZE);
        if (load_id(merge, id, &loaded) < 0 || update_node(merge, loaded, id, 0, 0, count, &result) < 0)
            goto done;
    }
    View reference;
    const uint8_t *reference_id;
    if (finish(merge, result, &reference, &reference_id) < 0 || complete_merge(merge) < 0)
        goto done;
    if (is_empty_view(reference)) {
        answer = Py_BuildValue("(y#O)", (const char *)EMPTY_TRIE_ROOT, (Py_ssize_t)32, NO_ID);
    } else if (is_hash_reference(reference.data, reference.length)) {
        if (reference_id == NULL)
            answer = Py_BuildValue("(y#O)", (const char *)reference.data + 1, (Py_ssize_t)32, NO_ID);
        else
            answer = Py_BuildValue("(y#y#)", (const char *)reference.data + 1, (Py_ssize_t)32,
                                   (const char *)reference_id, (Py_ssize_t)ID_SIZE);
    } else {
        /* A root under 32 bytes is still stored and named by its hash. */
        const uint8_t *raw_id;
        uint64_t number;
        uint8_t *record = (uint8_t *)arena_alloc(&merge->arena, (size_t)reference.length + 1);
        if (record == NULL || allocate_id(merge, &raw_id, &number) < 0)
            goto done;
        memcpy(record, reference.data, (size_t)reference.length);
        record[reference.length] = 0;
        if (emit_record(merge, number, raw_id, record, reference.length + 1, 0) == 0) {
            uint8_t hash[32];
            keccak256(reference.data, (size_t)reference.length, hash);
            answer = Py_BuildValue("(y#y#)", (const char *)hash, (Py_ssize_t)32, (const char *)raw_id,
                                   (Py_ssize_t)ID_SIZE);
        }
    }
done:
    warm_give(merge->hashes, sizeof(PendingHash) * (size_t)merge->hash_capacity);
    warm_give(merge->emissions, sizeof(Emission) * (size_t)merge->emission_capacity);
    merge->hashes = NULL;
    merge->emissions = NULL;
    cache_end_merge(merge->cache);
    Py_DECREF(merge->cache);
    if (merge->batch != NULL) {
        merge->batch->merging--;
        Py_DECREF(merge->batch);
        merge->batch = NULL;
    }
    arena_free(&merge->arena);
    arena_free(&merge->scratch);
    release_held(&merge->held);
    return answer;
}

static int check_root_arguments(PyObject *root, PyObject *root_id)
{
    if (!PyBytes_Check(root) || !PyBytes_Check(root_id)) {
        PyErr_SetString(PyExc_TypeError, "root and root_id must be bytes");
        return -1;
    }
    return 0;
}

static PyObject *updater_update(Updater *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"root", "root_id", "keys", "values", "previous", "value_ids", NULL};
    PyObject *root, *root_id, *keys, *values;
    PyObject *previous = Py_None, *value_ids = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|OO:update", keywords, &root, &root_id, &keys, &values,
                                     &previous, &value_ids))
        return NULL;
    int any = PyObject_IsTrue(keys);
    if (any < 0)
        return NULL;
    if (!any)
        return PyTuple_Pack(2, root, root_id);
    if (check_root_arguments(root, root_id) < 0)
        return NULL;
    Merge merge;
    memset(&merge, 0, sizeof merge);
    merge.updater = self;
    PyObject *key_tuple = NULL, *value_tuple = NULL, *previous_tuple = NULL, *id_tuple = NULL;
    PyObject *answer = NULL;
    Py_INCREF(self); /* callbacks may drop the last other reference */
    Py_INCREF(root_id);
    Py_INCREF(root);

    key_tuple = PySequence_Tuple(keys);
    if (key_tuple == NULL)
        goto fail;
    Py_ssize_t count = PyTuple_GET_SIZE(key_tuple);
    merge.count = count;
    value_tuple = aligned_tuple(values, count, "values");
    if (value_tuple == NULL)
        goto fail;
    if (previous != Py_None && (previous_tuple = aligned_tuple(previous, count, "previous")) == NULL)
        goto fail;
    if (value_ids != Py_None && (id_tuple = aligned_tuple(value_ids, count, "value_ids")) == NULL)
        goto fail;
    if (bytes_views(&merge, key_tuple, "keys", 0, &merge.keys, &merge.key_lengths) < 0
        || bytes_views(&merge, value_tuple, "values", 0, &merge.values, &merge.value_lengths) < 0)
        goto fail;
    if (previous_tuple != NULL
        && bytes_views(&merge, previous_tuple, "previous values", 1, &merge.previous, &merge.previous_lengths) < 0)
        goto fail;
    if (id_tuple != NULL
        && bytes_views(&merge, id_tuple, "value_ids", 0, &merge.value_ids, &merge.value_id_lengths) < 0)
        goto fail;
    answer = run_merge(&merge, root, root_id);
    goto done;
fail:
    arena_free(&merge.arena);
    arena_free(&merge.scratch);
    release_held(&merge.held);
done:
    Py_XDECREF(key_tuple);
    Py_XDECREF(value_tuple);
    Py_XDECREF(previous_tuple);
    Py_XDECREF(id_tuple);
    Py_DECREF(root);
    Py_DECREF(root_id);
    Py_DECREF(self);
    return answer;
}

/* ------------------------------------------------------------------------ */
/* The type                                                                 */
/* ------------------------------------------------------------------------ */

static int set_next_id(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "next_id cannot be deleted");
        return -1;
    }
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "next_id must be an int, not %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    unsigned long long number = PyLong_AsUnsignedLongLong(value);
    if (number == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    self->next_id = number;
    return 0;
}

static PyObject *get_next_id(Updater *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(self->next_id);
}

static int set_object(PyObject **slot, PyObject *value, const char *name)
{
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "%s cannot be deleted", name);
        return -1;
    }
    Py_INCREF(value);
    Py_SETREF(*slot, value);
    return 0;
}

static PyObject *get_replaced(Updater *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->replaced);
    return self->replaced;
}

static int set_replaced(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    return set_object(&self->replaced, value, "replaced");
}

static PyObject *get_parsed(Updater *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->parsed);
    return (PyObject *)self->parsed;
}

static int set_parsed(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value != NULL && !Py_IS_TYPE(value, &NodeCacheType)) {
        PyErr_Format(PyExc_TypeError, "parsed must be a NodeCache, not %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    return set_object((PyObject **)&self->parsed, value, "parsed");
}

static PyObject *get_fetch(Updater *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->fetch);
    return self->fetch;
}

static int set_fetch(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    return set_object(&self->fetch, value, "_fetch");
}

static PyObject *get_store(Updater *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->store);
    return self->store;
}

static int set_store(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    return set_object(&self->store, value, "_store");
}

static PyObject *get_parsed_limit(Updater *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->parsed_limit);
}

static int set_parsed_limit(Updater *self, PyObject *value, void *closure)
{
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_parsed_limit cannot be deleted");
        return -1;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(value);
    if (limit == -1 && PyErr_Occurred())
        return -1;
    self->parsed_limit = limit;
    return 0;
}

static int updater_init(Updater *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fetch", "store", "next_id", "parsed", "parsed_cache_size", NULL};
    PyObject *fetch, *store, *next_id = NULL, *parsed = Py_None;
    Py_ssize_t parsed_cache_size = 200000;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OOn:BatchTrieUpdater", keywords, &fetch, &store, &next_id,
                                     &parsed, &parsed_cache_size))
        return -1;
    if (next_id == NULL)
        self->next_id = 1;
    else if (set_next_id(self, next_id, NULL) < 0)
        return -1;
    PyObject *cache;
    if (parsed == Py_None) {
        cache = PyObject_CallNoArgs((PyObject *)&NodeCacheType);
        if (cache == NULL)
            return -1;
    } else if (Py_IS_TYPE(parsed, &NodeCacheType)) {
        cache = parsed;
        Py_INCREF(cache);
    } else {
        PyErr_Format(PyExc_TypeError, "parsed must be a NodeCache, not %.100s", Py_TYPE(parsed)->tp_name);
        return -1;
    }
    PyObject *replaced = PyList_New(0);
    if (replaced == NULL) {
        Py_DECREF(cache);
        return -1;
    }
    Py_XSETREF(self->parsed, (NodeCache *)cache);
    Py_XSETREF(self->replaced, replaced);
    Py_INCREF(fetch);
    Py_XSETREF(self->fetch, fetch);
    Py_INCREF(store);
    Py_XSETREF(self->store, store);
    self->parsed_limit = parsed_cache_size;
    return 0;
}

static PyObject *updater_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    Updater *self = (Updater *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    /* Valid (if useless) until __init__ runs, so no method can meet a NULL. */
    self->fetch = Py_None;
    self->store = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(Py_None);
    self->replaced = PyList_New(0);
    self->parsed = (NodeCache *)PyObject_CallNoArgs((PyObject *)&NodeCacheType);
    self->next_id = 1;
    self->parsed_limit = 200000;
    if (self->replaced == NULL || self->parsed == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int updater_traverse(Updater *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fetch);
    Py_VISIT(self->store);
    Py_VISIT(self->replaced);
    Py_VISIT(self->parsed);
    return 0;
}

static int updater_clear(Updater *self)
{
    Py_CLEAR(self->fetch);
    Py_CLEAR(self->store);
    Py_CLEAR(self->replaced);
    Py_CLEAR(self->parsed);
    return 0;
}

static void updater_dealloc(Updater *self)
{
    PyObject_GC_UnTrack(self);
    updater_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *updater_update_rows(Updater *self, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef updater_methods[] = {
    {"update", (PyCFunction)(void (*)(void))updater_update, METH_VARARGS | METH_KEYWORDS,
     "update(root, root_id, keys, values, previous=None, value_ids=None) -> (root_hash, root_id)\n\n"
     "Merge sorted, distinct, equal-length keys (b\"\" values delete) into the trie at root."},
    {"update_rows", (PyCFunction)(void (*)(void))updater_update_rows, METH_FASTCALL,
     "update_rows(root, root_id, rows) -> (root_hash, root_id)\n\n"
     "update() with the keys, values, previous values and value ids of an AccountRows, sorted by key."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef updater_getset[] = {
    {"next_id", (getter)get_next_id, (setter)set_next_id, "Number of the next node id to write.", NULL},
    {"replaced", (getter)get_replaced, (setter)set_replaced, "Ids of the stored nodes the merges replaced.", NULL},
    {"parsed", (getter)get_parsed, (setter)set_parsed,
     "Parse cache: id -> record bytes of a branch or extension (kept across calls).", NULL},
    {"_fetch", (getter)get_fetch, (setter)set_fetch, "fetch(id) -> record (KeyError when absent).", NULL},
    {"_store", (getter)get_store, (setter)set_store, "store(id, record).", NULL},
    {"_parsed_limit", (getter)get_parsed_limit, (setter)set_parsed_limit, "Parse cache size limit.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject UpdaterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.BatchTrieUpdater",
    .tp_basicsize = sizeof(Updater),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "BatchTrieUpdater(fetch, store, next_id=1, parsed=None, parsed_cache_size=200_000)\n\n"
              "C implementation of hyperion.state.metisdb.batchtrie.BatchTrieUpdater: merges sorted\n"
              "changes into tries of one node log with the same store calls, replaced ids and\n"
              "cached ids as the Python class. store may be a callable or a list (appended\n"
              "(id, record) tuples); parsed caches raw records (id -> record bytes).",
    .tp_new = updater_new,
    .tp_init = (initproc)updater_init,
    .tp_dealloc = (destructor)updater_dealloc,
    .tp_traverse = (traverseproc)updater_traverse,
    .tp_clear = (inquiry)updater_clear,
    .tp_methods = updater_methods,
    .tp_getset = updater_getset,
};

/* ------------------------------------------------------------------------ */
/* Module                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *module_keccak256(PyObject *module, PyObject *argument)
{
    (void)module;
    uint8_t hash[32];
    if (PyBytes_CheckExact(argument)) { /* the common case: no buffer protocol round trip */
        keccak256(bytes_data(argument), (size_t)PyBytes_GET_SIZE(argument), hash);
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        keccak256((const uint8_t *)view.buf, (size_t)view.len, hash);
        PyBuffer_Release(&view);
    }
    return PyBytes_FromStringAndSize((const char *)hash, 32);
}

/* Big-endian bytes of ``value`` (an int, 0 <= value < 2**(8 * width)) right-aligned
 * in ``out``; -1 with ValueError otherwise. */
static int unsigned_be(PyObject *value, uint8_t *out, size_t width, const char *name)
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_ValueError, "%s must be an int, not %.100s", name, Py_TYPE(value)->tp_name);
        return -1;
    }
    int overflow = 0;
    long long small = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (!overflow) {
        if (small == -1 && PyErr_Occurred())
            return -1;
        if (small < 0) {
            PyErr_Format(PyExc_ValueError, "%s must not be negative", name);
            return -1;
        }
        memset(out, 0, width);
        for (size_t byte = 0; byte < 8 && byte < width; byte++)
            out[width - 1 - byte] = (uint8_t)((unsigned long long)small >> (8 * byte));
        return 0;
    }
    if (overflow < 0) {
        PyErr_Format(PyExc_ValueError, "%s must not be negative", name);
        return -1;
    }
    if (_PyLong_NumBits(value) > 8 * width) {
        PyErr_Format(PyExc_ValueError, "%s does not fit in %zu bytes", name, width);
        return -1;
    }
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t written = PyLong_AsNativeBytes(value, out, (Py_ssize_t)width,
                                              Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
    if (written < 0)
        return -1;
#else
    if (_PyLong_AsByteArray((PyLongObject *)value, out, width, 0, 0) < 0)
        return -1;
#endif
    return 0;
}

/* RLP of an unsigned integer given as ``width`` big-endian bytes; returns the size. */
static size_t write_uint(uint8_t *out, const uint8_t *number, size_t width)
{
    size_t skip = 0;
    while (skip < width && number[skip] == 0)
        skip++;
    size_t length = width - skip;
    if (length == 0) {
        out[0] = 0x80;
        return 1;
    }
    if (length == 1 && number[skip] < 0x80) {
        out[0] = number[skip];
        return 1;
    }
    out[0] = (uint8_t)(0x80 + length);
    memcpy(out + 1, number + skip, length);
    return length + 1;
}

/* The RLP of an account leaf from raw fields into ``out`` (room for 110 bytes):
 * hyperion.state.account.encode_account's bytes. Returns the length. */
static Py_ssize_t write_account(uint8_t *out, const uint8_t nonce[8], const uint8_t balance[32],
                                const uint8_t *storage_root, const uint8_t *code_hash)
{
    uint8_t payload[9 + 33 + 66];
    size_t length = write_uint(payload, nonce, 8);
    length += write_uint(payload + length, balance, 32);
    payload[length] = 0xA0;
    memcpy(payload + length + 1, storage_root, 32);
    payload[length + 33] = 0xA0;
    memcpy(payload + length + 34, code_hash, 32);
    length += 66;
    size_t header = length < 56 ? 1 : 2;
    if (header == 1) {
        out[0] = (uint8_t)(0xC0 + length);
    } else {
        out[0] = 0xF8;
        out[1] = (uint8_t)length;
    }
    memcpy(out + header, payload, length);
    return (Py_ssize_t)(header + length);
}

/* Slim flat record of an account leaf without storage or code (codec.flat_record:
 * both hashes as empty strings; the leaf's header is 2 bytes) into ``out``; returns
 * its length. */
static Py_ssize_t write_slim(uint8_t *out, const uint8_t *leaf, Py_ssize_t leaf_length)
{
    Py_ssize_t body = leaf_length - 2 - 66;
    out[0] = (uint8_t)(0xC0 + body + 2);
    memcpy(out + 1, leaf + 2, (size_t)body);
    out[body + 1] = 0x80;
    out[body + 2] = 0x80;
    return body + 3;
}

/* rlp([nonce, balance, storage_root, code_hash]) from four arguments; NULL with
 * ValueError outside the compiled range. */
static PyObject *encode_account_args(PyObject *const *args)
{
    uint8_t nonce[8], balance[32];
    if (unsigned_be(args[0], nonce, sizeof nonce, "nonce") < 0
        || unsigned_be(args[1], balance, sizeof balance, "balance") < 0)
        return NULL;
    for (int index = 2; index < 4; index++) {
        if (!PyBytes_Check(args[index]) || PyBytes_GET_SIZE(args[index]) != 32) {
            PyErr_SetString(PyExc_ValueError, "storage root and code hash must be 32-byte bytes");
            return NULL;
        }
    }
    uint8_t out[110];
    Py_ssize_t length = write_account(out, nonce, balance, bytes_data(args[2]), bytes_data(args[3]));
    return PyBytes_FromStringAndSize((const char *)out, length);
}

static PyObject *module_encode_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "encode_account() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    return encode_account_args(args);
}

/* Slim flat record of an account leaf: both hashes as empty strings. The leaf's payload
 * is >= 68 bytes, so its header is 2 bytes (0xF8, length). */
static PyObject *slim_record(PyObject *leaf)
{
    uint8_t out[110];
    Py_ssize_t length = write_slim(out, bytes_data(leaf), PyBytes_GET_SIZE(leaf));
    return PyBytes_FromStringAndSize((const char *)out, length);
}

/* A growable byte buffer for the changeset. */
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
} Buffer;

static int buffer_reserve(Buffer *buffer, size_t more)
{
    if (buffer->size + more <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->size + more)
        capacity *= 2;
    uint8_t *data = (uint8_t *)warm_grow(buffer->data, &buffer->capacity, buffer->size, capacity);
    if (data == NULL)
        return -1;
    buffer->data = data;
    return 0;
}

static void buffer_free(Buffer *buffer)
{
    warm_give(buffer->data, buffer->capacity);
    buffer->data = NULL;
    buffer->size = buffer->capacity = 0;
}

/* Encode the 4-tuple ``base`` (nonce, balance, storage_root, code_hash); NULL with
 * ValueError when out of range or not such a tuple. */
static PyObject *encode_base(PyObject *base)
{
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 4) {
        PyErr_SetString(PyExc_ValueError, "base record must be a 4-tuple");
        return NULL;
    }
    return encode_account_args(&PyTuple_GET_ITEM(base, 0));
}

/* One plain change (a balance, nonce or code change without storage work): appends its
 * rows; returns 1 when done, 0 when the change must take the general path, -1 on error. */
static int account_row(PyObject *change, PyObject *storage_id_of, PyObject *leaves, PyObject *puts,
                       PyObject *code_puts, PyObject *cached, Buffer *changeset)
{
    PyObject *address = PyTuple_GET_ITEM(change, 0), *record = PyTuple_GET_ITEM(change, 1);
    PyObject *code = PyTuple_GET_ITEM(change, 2), *wiped = PyTuple_GET_ITEM(change, 3);
    PyObject *slots = PyTuple_GET_ITEM(change, 4), *storage_root = PyTuple_GET_ITEM(change, 5);
    PyObject *base = PyTuple_GET_ITEM(change, 6);
    if (record == Py_None || !PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 3
        || !PyBytes_Check(address) || PyBytes_GET_SIZE(address) != 20)
        return 0;
    int flag = PyObject_IsTrue(wiped);
    if (flag != 0)
        return flag < 0 ? -1 : 0;
    flag = PyObject_IsTrue(slots);
    if (flag != 0)
        return flag < 0 ? -1 : 0;
    PyObject *nonce = PyTuple_GET_ITEM(record, 0), *balance = PyTuple_GET_ITEM(record, 1);
    PyObject *code_hash = PyTuple_GET_ITEM(record, 2);
    PyObject *fields[4] = {nonce, balance, storage_root, code_hash};
    PyObject *leaf = NULL, *old = NULL, *storage_id = NULL, *key = NULL, *flat = NULL, *row = NULL;
    int status = -1;
    leaf = encode_account_args(fields);
    if (leaf != NULL)
        old = base == Py_None ? PyBytes_FromStringAndSize(NULL, 0) : encode_base(base);
    if (leaf == NULL || old == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) { /* outside the compiled range */
            PyErr_Clear();
            status = 0;
        }
        goto done;
    }
    if (memcmp(PyBytes_AS_STRING(storage_root), EMPTY_TRIE_ROOT, 32) == 0) {
        storage_id = NO_ID;
        Py_INCREF(storage_id);
    } else {
        storage_id = PyObject_CallOneArg(storage_id_of, address);
        if (storage_id == NULL)
            goto done;
        if (!PyBytes_Check(storage_id) || (PyBytes_GET_SIZE(storage_id) != 0 && PyBytes_GET_SIZE(storage_id) != 8)) {
            PyErr_SetString(CorruptDatabase, "a storage root id must be 8 bytes");
            goto done;
        }
    }
    uint8_t hash[32];
    keccak256(bytes_data(address), 20, hash);
    key = PyBytes_FromStringAndSize((const char *)hash, 32);
    if (key == NULL)
        goto done;
    int is_empty_code = memcmp(PyBytes_AS_STRING(code_hash), EMPTY_CODE_HASH, 32) == 0;
    if (is_empty_code && memcmp(PyBytes_AS_STRING(storage_root), EMPTY_TRIE_ROOT, 32) == 0) {
        flat = slim_record(leaf);
        if (flat == NULL)
            goto done;
    } else {
        flat = leaf;
        Py_INCREF(flat);
    }
    row = PyTuple_Pack(4, key, leaf, old, storage_id);
    if (row == NULL || PyList_Append(leaves, row) < 0)
        goto done;
    Py_SETREF(row, PyTuple_Pack(2, address, flat));
    if (row == NULL || PyList_Append(puts, row) < 0)
        goto done;
    if (!is_empty_code) {
        Py_SETREF(row, PyTuple_Pack(2, code_hash, code));
        if (row == NULL || PyList_Append(code_puts, row) < 0)
            goto done;
    }
    Py_SETREF(row, PyTuple_Pack(4, nonce, balance, storage_root, code_hash));
    if (row == NULL || PyDict_SetItem(cached, address, row) < 0)
        goto done;
    /* Changeset entry (codec.CHANGESET_ENTRY ">20s8sHI"): address, old storage root id
     * (zeros for none), old record length, slot count 0; then the old flat record (slim
     * for an account that had no storage and no code, as the accounts table holds it). */
    Py_ssize_t old_length = PyBytes_GET_SIZE(old);
    int slim_old = base != Py_None && old_length >= 2 + 66
                   && memcmp(PyBytes_AS_STRING(old) + old_length - 65, EMPTY_TRIE_ROOT, 32) == 0
                   && memcmp(PyBytes_AS_STRING(old) + old_length - 32, EMPTY_CODE_HASH, 32) == 0;
    Py_ssize_t record_length = slim_old ? old_length - 2 - 66 + 3 : old_length;
    if (buffer_reserve(changeset, 34 + (size_t)record_length) < 0)
        goto done;
    uint8_t *out = changeset->data + changeset->size;
    memcpy(out, bytes_data(address), 20);
    if (PyBytes_GET_SIZE(storage_id) == 8)
        memcpy(out + 20, bytes_data(storage_id), 8);
    else
        memset(out + 20, 0, 8);
    out[28] = (uint8_t)(record_length >> 8);
    out[29] = (uint8_t)record_length;
    memset(out + 30, 0, 4);
    if (slim_old) {
        write_slim(out + 34, bytes_data(old), old_length);
    } else {
        memcpy(out + 34, bytes_data(old), (size_t)old_length);
    }
    changeset->size += 34 + (size_t)record_length;
    status = 1;
done:
    Py_XDECREF(row);
    Py_XDECREF(flat);
    Py_XDECREF(key);
    Py_XDECREF(storage_id);
    Py_XDECREF(old);
    Py_XDECREF(leaf);
    return status;
}

/* account_rows(changes, storage_id_of, leaves, account_puts, code_puts, cached) ->
 * (changeset bytes, rest): the commit loop's common case in one call (see
 * native.python_account_rows, its reference). */
static PyObject *module_account_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "account_rows() takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *changes = args[0], *storage_id_of = args[1], *leaves = args[2], *puts = args[3];
    PyObject *code_puts = args[4], *cached = args[5];
    if (!PyList_Check(changes) || !PyList_Check(leaves) || !PyList_Check(puts) || !PyList_Check(code_puts)
        || !PyDict_Check(cached)) {
        PyErr_SetString(PyExc_TypeError, "account_rows() takes lists (changes, leaves, puts, code puts) and a dict");
        return NULL;
    }
    PyObject *rest = PyList_New(0);
    if (rest == NULL)
        return NULL;
    Buffer changeset = {NULL, 0, 0};
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(changes); index++) {
        PyObject *change = PyList_GET_ITEM(changes, index);
        int done = 0;
        if (PyTuple_Check(change) && PyTuple_GET_SIZE(change) == 7) {
            Py_INCREF(change);
            done = account_row(change, storage_id_of, leaves, puts, code_puts, cached, &changeset);
            Py_DECREF(change);
        }
        if (done < 0 || (done == 0 && PyList_Append(rest, change) < 0)) {
            buffer_free(&changeset);
            Py_DECREF(rest);
            return NULL;
        }
    }
    PyObject *packed = PyBytes_FromStringAndSize((const char *)changeset.data, (Py_ssize_t)changeset.size);
    buffer_free(&changeset);
    if (packed == NULL) {
        Py_DECREF(rest);
        return NULL;
    }
    PyObject *answer = PyTuple_Pack(2, packed, rest);
    Py_DECREF(packed);
    Py_DECREF(rest);
    return answer;
}

/* Order of tuples whose first items are bytes, by those bytes (qsort over a list's
 * items: no Python comparison calls). */
static int compare_rows(const void *left, const void *right)
{
    PyObject *a = PyTuple_GET_ITEM(*(PyObject *const *)left, 0);
    PyObject *b = PyTuple_GET_ITEM(*(PyObject *const *)right, 0);
    Py_ssize_t a_size = PyBytes_GET_SIZE(a), b_size = PyBytes_GET_SIZE(b);
    int order = memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), (size_t)(a_size < b_size ? a_size : b_size));
    if (order)
        return order;
    return (a_size > b_size) - (a_size < b_size);
}

/* ``bind_layout`` resolves, once, where each __slots__ attribute these functions use
 * lives inside its object (the offset of its member descriptor), so that reading or
 * writing one is a load or store at that offset. ``PyObject_GetAttr`` would instead
 * look the name up along the type's MRO and go through the descriptor every time:
 * several times the cost of the work itself on the per-account paths. Objects are
 * type-checked before their slots are used; anything unexpected takes the generic
 * Python path. */
static struct {
    int bound;
    PyTypeObject *account_type, *snapshot_type, *cache_type, *lazy_accounts_type, *pending_type;
    PyObject *lazy_storage_type, *absent, *balance_tag, *generic_set_balance;
    Py_ssize_t account_nonce, account_balance, account_code, account_code_hash, account_storage,
        account_storage_root, account_address_hash;
    Py_ssize_t snapshot_cache, snapshot_generation;
    Py_ssize_t cache_generation, cache_accounts;
    Py_ssize_t lazy_snapshot, lazy_absent, lazy_loaded;
    Py_ssize_t pending_accounts, pending_journal, pending_owned;
} layout;

#define SLOT(object, offset) (*(PyObject **)((char *)(object) + (offset)))

static PyObject *NAME_STORAGE, *NAME_BALANCE, *NAME_NONCE, *NAME_CODE_HASH, *NAME_CODE;

/* Attribute ``name`` of an account (new reference): its slot when the layout is bound. */
static PyObject *account_field(PyObject *account, Py_ssize_t offset, PyObject *name)
{
    if (layout.bound && PyObject_TypeCheck(account, layout.account_type)) {
        PyObject *value = SLOT(account, offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(account, name);
}

/* A new instance of ``change_type`` (a NamedTuple of 7 fields) holding ``items`` (stolen). */
static PyObject *new_change(PyTypeObject *change_type, PyObject *items[7])
{
    PyObject *change = change_type->tp_alloc(change_type, 7);
    if (change == NULL) {
        for (int index = 0; index < 7; index++)
            Py_DECREF(items[index]);
        return NULL;
    }
    for (int index = 0; index < 7; index++)
        PyTuple_SET_ITEM(change, index, items[index]);
    return change;
}

/* One account of plain_changes: 1 with ``*change`` set (or NULL: unchanged), 0 when it
 * needs the general path, -1 on error. */
static int plain_change(PyObject *address, PyObject *account, PyObject *loaded, PyObject *no_slots,
                        PyTypeObject *change_type, PyObject **change)
{
    *change = NULL;
    PyObject *base = PyDict_GetItemWithError(loaded, address);
    if (base == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 2 || PyTuple_GET_ITEM(base, 0) != account)
        return 0;
    PyObject *base_record = PyTuple_GET_ITEM(base, 1);
    if (!PyTuple_Check(base_record) || PyTuple_GET_SIZE(base_record) != 4)
        return 0;
    PyObject *storage = account_field(account, layout.account_storage, NAME_STORAGE);
    if (storage == NULL)
        return -1;
    int plain = PyDict_CheckExact(storage) && PyDict_GET_SIZE(storage) == 0;
    Py_DECREF(storage);
    if (!plain)
        return 0;
    PyObject *nonce = NULL, *balance = NULL, *code_hash = NULL, *code = NULL;
    int status = -1;
    nonce = account_field(account, layout.account_nonce, NAME_NONCE);
    balance = nonce ? account_field(account, layout.account_balance, NAME_BALANCE) : NULL;
    code_hash = balance ? account_field(account, layout.account_code_hash, NAME_CODE_HASH) : NULL;
    if (code_hash == NULL)
        goto done;
    int same = PyObject_RichCompareBool(balance, PyTuple_GET_ITEM(base_record, 1), Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(nonce, PyTuple_GET_ITEM(base_record, 0), Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(code_hash, PyTuple_GET_ITEM(base_record, 3), Py_EQ);
    if (same < 0)
        goto done;
    if (same) {
        status = 1; /* unchanged */
        goto done;
    }
    code = account_field(account, layout.account_code, NAME_CODE);
    if (code == NULL)
        goto done;
    PyObject *record = PyTuple_Pack(3, nonce, balance, code_hash);
    if (record == NULL)
        goto done;
    PyObject *items[7] = {address, record, code, Py_False, no_slots, PyTuple_GET_ITEM(base_record, 2),
                          base_record};
    for (int index = 0; index < 7; index++)
        if (index != 1 && index != 2) /* record and code: their references move into items */
            Py_INCREF(items[index]);
    code = NULL;
    *change = new_change(change_type, items);
    status = *change == NULL ? -1 : 1;
done:
    Py_XDECREF(nonce);
    Py_XDECREF(balance);
    Py_XDECREF(code_hash);
    Py_XDECREF(code);
    return status;
}

/* plain_changes(accounts, loaded, no_slots, change_type) -> (changes, others): see
 * native.python_plain_changes, its reference. */
static PyObject *module_plain_changes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyType_Check(args[3])
        || !PyType_IsSubtype((PyTypeObject *)args[3], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "plain_changes(accounts: dict, loaded: dict, no_slots, change_type)");
        return NULL;
    }
    PyObject *accounts = args[0], *loaded = args[1], *no_slots = args[2];
    PyTypeObject *change_type = (PyTypeObject *)args[3];
    PyObject *changes = PyList_New(0), *others = PyList_New(0);
    if (changes == NULL || others == NULL)
        goto error;
    Py_ssize_t position = 0;
    PyObject *address, *account;
    while (PyDict_Next(accounts, &position, &address, &account)) {
        Py_INCREF(address);
        Py_INCREF(account);
        PyObject *change;
        int done = plain_change(address, account, loaded, no_slots, change_type, &change);
        int failed = done < 0;
        if (done > 0 && change != NULL) {
            failed = PyList_Append(changes, change) < 0;
            Py_DECREF(change);
        } else if (done == 0) {
            PyObject *pair = PyTuple_Pack(2, address, account);
            failed = pair == NULL || PyList_Append(others, pair) < 0;
            Py_XDECREF(pair);
        }
        Py_DECREF(address);
        Py_DECREF(account);
        if (failed)
            goto error;
    }
    PyObject *answer = PyTuple_Pack(2, changes, others);
    Py_DECREF(changes);
    Py_DECREF(others);
    return answer;
error:
    Py_XDECREF(changes);
    Py_XDECREF(others);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The pending state's hot paths, on the Python classes' __slots__           */
/* ------------------------------------------------------------------------ */

static PyObject *NAME_ACCOUNT_RECORD;

/* Offset of the __slots__ member ``name`` of ``type`` (a writable object slot). */
static int slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descriptor = PyObject_GetAttrString((PyObject *)type, name);
    if (descriptor == NULL)
        return -1;
    int ok = Py_IS_TYPE(descriptor, &PyMemberDescr_Type);
    if (ok) {
        PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
        ok = member->type == T_OBJECT_EX && !(member->flags & READONLY);
        *offset = member->offset;
    }
    Py_DECREF(descriptor);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a writable __slots__ attribute", type->tp_name, name);
        return -1;
    }
    return 0;
}

/* Store ``value`` (borrowed) in a slot. */
static inline void set_slot(PyObject *object, Py_ssize_t offset, PyObject *value)
{
    PyObject *old = SLOT(object, offset);
    Py_INCREF(value);
    SLOT(object, offset) = value;
    Py_XDECREF(old);
}

static PyObject *module_bind_layout(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"account", "snapshot", "cache", "lazy_accounts", "pending", "lazy_storage",
                               "absent", "balance_tag", "generic_set_balance", NULL};
    PyObject *types[5], *lazy_storage_type, *absent, *balance_tag, *generic_set_balance;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!OOOO:bind_layout", keywords, &PyType_Type, &types[0],
                                     &PyType_Type, &types[1], &PyType_Type, &types[2], &PyType_Type, &types[3],
                                     &PyType_Type, &types[4], &lazy_storage_type, &absent, &balance_tag,
                                     &generic_set_balance))
        return NULL;
    PyTypeObject *account = (PyTypeObject *)types[0], *snapshot = (PyTypeObject *)types[1];
    PyTypeObject *cache = (PyTypeObject *)types[2], *lazy = (PyTypeObject *)types[3];
    PyTypeObject *pending = (PyTypeObject *)types[4];
    if (!PyType_IsSubtype(lazy, &PyDict_Type)) {
        PyErr_SetString(PyExc_TypeError, "lazy_accounts must be a dict subclass");
        return NULL;
    }
    if (slot_offset(account, "nonce", &layout.account_nonce) < 0
        || slot_offset(account, "balance", &layout.account_balance) < 0
        || slot_offset(account, "code", &layout.account_code) < 0
        || slot_offset(account, "code_hash", &layout.account_code_hash) < 0
        || slot_offset(account, "storage", &layout.account_storage) < 0
        || slot_offset(account, "storage_root", &layout.account_storage_root) < 0
        || slot_offset(account, "address_hash", &layout.account_address_hash) < 0
        || slot_offset(snapshot, "_cache", &layout.snapshot_cache) < 0
        || slot_offset(snapshot, "_generation", &layout.snapshot_generation) < 0
        || slot_offset(cache, "generation", &layout.cache_generation) < 0
        || slot_offset(cache, "accounts", &layout.cache_accounts) < 0
        || slot_offset(lazy, "_snapshot", &layout.lazy_snapshot) < 0
        || slot_offset(lazy, "absent", &layout.lazy_absent) < 0
        || slot_offset(lazy, "loaded", &layout.lazy_loaded) < 0
        || slot_offset(pending, "_accounts", &layout.pending_accounts) < 0
        || slot_offset(pending, "_journal", &layout.pending_journal) < 0
        || slot_offset(pending, "_owned", &layout.pending_owned) < 0)
        return NULL;
    PyObject *held[9] = {types[0], types[1], types[2], types[3], types[4], lazy_storage_type, absent,
                         balance_tag, generic_set_balance};
    for (int index = 0; index < 9; index++)
        Py_INCREF(held[index]);
    if (layout.bound) {
        Py_DECREF(layout.account_type);
        Py_DECREF(layout.snapshot_type);
        Py_DECREF(layout.cache_type);
        Py_DECREF(layout.lazy_accounts_type);
        Py_DECREF(layout.pending_type);
        Py_DECREF(layout.lazy_storage_type);
        Py_DECREF(layout.absent);
        Py_DECREF(layout.balance_tag);
        Py_DECREF(layout.generic_set_balance);
    }
    layout.account_type = account;
    layout.snapshot_type = snapshot;
    layout.cache_type = cache;
    layout.lazy_accounts_type = lazy;
    layout.pending_type = pending;
    layout.lazy_storage_type = lazy_storage_type;
    layout.absent = absent;
    layout.balance_tag = balance_tag;
    layout.generic_set_balance = generic_set_balance;
    layout.bound = 1;
    Py_RETURN_NONE;
}

static int is_hash_constant(PyObject *value, const uint8_t constant[32])
{
    return PyBytes_Check(value) && PyBytes_GET_SIZE(value) == 32
           && memcmp(PyBytes_AS_STRING(value), constant, 32) == 0;
}

/* ``a == b`` for two cache generations (ints or None), without raising. */
static int same_generation(PyObject *a, PyObject *b)
{
    if (a == NULL || b == NULL)
        return 0;
    if (a == b)
        return 1;
    if (!PyLong_CheckExact(a) || !PyLong_CheckExact(b))
        return 0;
    int same = PyObject_RichCompareBool(a, b, Py_EQ);
    if (same < 0) {
        PyErr_Clear();
        return 0;
    }
    return same;
}

/* The read cache's record of ``address`` (a new reference) while the cache is at the
 * snapshot's generation, checked before and after the lookup; else NULL without error. */
static PyObject *cached_record(PyObject *snapshot, PyObject *address)
{
    if (!PyObject_TypeCheck(snapshot, layout.snapshot_type))
        return NULL;
    PyObject *cache = SLOT(snapshot, layout.snapshot_cache);
    PyObject *generation = SLOT(snapshot, layout.snapshot_generation);
    if (cache == NULL || !PyObject_TypeCheck(cache, layout.cache_type)
        || !same_generation(SLOT(cache, layout.cache_generation), generation))
        return NULL;
    PyObject *accounts = SLOT(cache, layout.cache_accounts);
    if (accounts == NULL || !PyDict_CheckExact(accounts))
        return NULL;
    PyObject *found = PyDict_GetItemWithError(accounts, address);
    if (found == NULL) {
        PyErr_Clear();
        return NULL;
    }
    Py_INCREF(found);
    if (!same_generation(SLOT(cache, layout.cache_generation), generation))
        Py_CLEAR(found);
    return found;
}

/* LazyAccounts._load (pending.py holds the reference): the snapshot's record of
 * ``address`` made into an Account held by ``accounts`` (a new reference), or None
 * with the address noted absent. */
static PyObject *load_account(PyObject *accounts, PyObject *address)
{
    PyObject *snapshot = SLOT(accounts, layout.lazy_snapshot);
    if (snapshot == NULL) {
        PyErr_SetString(PyExc_AttributeError, "LazyAccounts has no snapshot");
        return NULL;
    }
    Py_INCREF(snapshot);
    PyObject *record = cached_record(snapshot, address);
    PyObject *account = NULL, *code = NULL, *storage = NULL, *pair = NULL, *answer = NULL;
    if (record == NULL) {
        record = PyObject_CallMethodOneArg(snapshot, NAME_ACCOUNT_RECORD, address);
        if (record == NULL)
            goto done;
    }
    if (record == layout.absent) {
        PyObject *absent = SLOT(accounts, layout.lazy_absent);
        if (absent == NULL || !PySet_Check(absent)) {
            PyErr_SetString(PyExc_TypeError, "LazyAccounts.absent must be a set");
            goto done;
        }
        if (PySet_Add(absent, address) < 0)
            goto done;
        answer = Py_None;
        Py_INCREF(answer);
        goto done;
    }
    if (!PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 4) {
        PyErr_SetString(CorruptDatabase, "an account record must be a 4-tuple");
        goto done;
    }
    PyObject *nonce = PyTuple_GET_ITEM(record, 0), *balance = PyTuple_GET_ITEM(record, 1);
    PyObject *storage_root = PyTuple_GET_ITEM(record, 2), *code_hash = PyTuple_GET_ITEM(record, 3);
    if (is_hash_constant(code_hash, EMPTY_CODE_HASH))
        code = PyBytes_FromStringAndSize(NULL, 0);
    else
        code = PyObject_CallMethodOneArg(snapshot, NAME_CODE, code_hash);
    if (code == NULL)
        goto done;
    if (is_hash_constant(storage_root, EMPTY_TRIE_ROOT))
        storage = PyDict_New(); /* no slot to load: a plain dict (see LazyAccounts._load) */
    else
        storage = PyObject_CallFunctionObjArgs(layout.lazy_storage_type, snapshot, address, NULL);
    if (storage == NULL)
        goto done;
    account = layout.account_type->tp_alloc(layout.account_type, 0); /* object.__new__: no __init__ */
    if (account == NULL)
        goto done;
    set_slot(account, layout.account_nonce, nonce);
    set_slot(account, layout.account_balance, balance);
    set_slot(account, layout.account_code, code);
    set_slot(account, layout.account_code_hash, code_hash);
    set_slot(account, layout.account_storage, storage);
    set_slot(account, layout.account_storage_root, storage_root);
    set_slot(account, layout.account_address_hash, Py_None);
    PyObject *loaded = SLOT(accounts, layout.lazy_loaded);
    if (loaded == NULL || !PyDict_Check(loaded)) {
        PyErr_SetString(PyExc_TypeError, "LazyAccounts.loaded must be a dict");
        goto done;
    }
    pair = PyTuple_Pack(2, account, record);
    if (pair == NULL || PyDict_SetItem(loaded, address, pair) < 0 || PyDict_SetItem(accounts, address, account) < 0)
        goto done;
    answer = account;
    Py_INCREF(answer);
done:
    Py_XDECREF(pair);
    Py_XDECREF(account);
    Py_XDECREF(storage);
    Py_XDECREF(code);
    Py_XDECREF(record);
    Py_DECREF(snapshot);
    return answer;
}

static int check_bound(void)
{
    if (!layout.bound) {
        PyErr_SetString(PyExc_RuntimeError, "bind_layout() has not been called");
        return -1;
    }
    return 0;
}

/* load_account(accounts, address) -> Account or None */
static PyObject *module_load_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 2 || !PyObject_TypeCheck(args[0], layout.lazy_accounts_type)) {
        PyErr_SetString(PyExc_TypeError, "load_account(accounts: LazyAccounts, address)");
        return NULL;
    }
    return load_account(args[0], args[1]);
}

/* PendingState.set_balance (pending.py holds the reference, ``_set_balance_python``):
 * a method descriptor of the class. The loaded-account case in C; everything else
 * through MemoryState.set_balance. */
static PyObject *pending_set_balance(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "set_balance() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *address = args[0], *value = args[1];
    PyObject *accounts = SLOT(self, layout.pending_accounts);
    if (SLOT(self, layout.pending_owned) == Py_None && accounts != NULL
        && Py_IS_TYPE(accounts, layout.lazy_accounts_type) && PyBytes_CheckExact(address)) {
        PyObject *account = PyDict_GetItemWithError(accounts, address); /* dict.get: no override */
        if (account != NULL) {
            Py_INCREF(account);
        } else {
            if (PyErr_Occurred())
                return NULL;
            PyObject *loaded = SLOT(accounts, layout.lazy_loaded), *absent = SLOT(accounts, layout.lazy_absent);
            if (loaded == NULL || absent == NULL || !PyDict_Check(loaded) || !PySet_Check(absent))
                goto generic;
            int known = PyDict_Contains(loaded, address);
            if (known == 0)
                known = PySet_Contains(absent, address);
            if (known < 0)
                return NULL;
            if (known)
                goto generic;
            account = load_account(accounts, address);
            if (account == NULL)
                return NULL;
            if (account == Py_None) {
                Py_DECREF(account);
                goto generic;
            }
        }
        PyObject *journal = SLOT(self, layout.pending_journal);
        if (!PyObject_TypeCheck(account, layout.account_type) || journal == NULL || !PyList_Check(journal)
            || SLOT(account, layout.account_balance) == NULL) {
            Py_DECREF(account);
            goto generic;
        }
        PyObject *entry = PyTuple_Pack(4, layout.balance_tag, account, SLOT(account, layout.account_balance), address);
        int failed = entry == NULL || PyList_Append(journal, entry) < 0;
        Py_XDECREF(entry);
        if (!failed)
            set_slot(account, layout.account_balance, value);
        Py_DECREF(account);
        if (failed)
            return NULL;
        Py_RETURN_NONE;
    }
generic:;
    PyObject *call[3] = {self, address, value};
    return PyObject_Vectorcall(layout.generic_set_balance, call, 3, NULL);
}

static PyMethodDef pending_set_balance_def = {
    "set_balance", (PyCFunction)(void (*)(void))pending_set_balance, METH_FASTCALL,
    "set_balance(address, value): as MemoryState (same journal entry); a loaded or loadable\n"
    "account is updated in C (PendingState._set_balance_python is the reference)."};

/* pending_methods() -> {"set_balance": method descriptor of the bound PendingState} */
static PyObject *module_pending_methods(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (check_bound() < 0)
        return NULL;
    PyObject *methods = PyDict_New();
    PyObject *descriptor = methods ? PyDescr_NewMethod(layout.pending_type, &pending_set_balance_def) : NULL;
    if (descriptor == NULL || PyDict_SetItemString(methods, "set_balance", descriptor) < 0) {
        Py_XDECREF(descriptor);
        Py_XDECREF(methods);
        return NULL;
    }
    Py_DECREF(descriptor);
    return methods;
}


/* ------------------------------------------------------------------------ */
/* AccountRows: a block's account-trie changes, kept as C data               */
/* ------------------------------------------------------------------------ */

/* One account-trie change: hashed key, new leaf value (empty: delete), the previous
 * leaf value (the leaf-hash shortcut's hint) and the storage root id, all in the
 * owner's arena. ``order`` keeps sorting stable. */
typedef struct {
    const uint8_t *key, *leaf, *old, *id;
    Py_ssize_t key_length, leaf_length, old_length, id_length;
    Py_ssize_t order;
} Row;

typedef struct {
    PyObject_HEAD
    Row *rows;
    Py_ssize_t count, capacity;
    Arena arena;
} AccountRows;

static PyTypeObject AccountRowsType;

static Row *rows_append(AccountRows *self)
{
    if (self->count == self->capacity) {
        size_t bytes = sizeof(Row) * (size_t)self->capacity;
        Row *grown = (Row *)warm_grow(self->rows, &bytes, sizeof(Row) * (size_t)self->count,
                                      sizeof(Row) * (size_t)(self->capacity ? 2 * self->capacity : 1024));
        if (grown == NULL)
            return NULL;
        self->rows = grown;
        self->capacity = (Py_ssize_t)(bytes / sizeof(Row));
    }
    Row *row = &self->rows[self->count];
    row->order = self->count++;
    return row;
}

/* A copy of ``length`` bytes in the rows' arena (NULL with MemoryError). */
static const uint8_t *rows_copy(AccountRows *self, const void *data, Py_ssize_t length)
{
    uint8_t *copy = (uint8_t *)arena_alloc(&self->arena, (size_t)length + 1);
    if (copy != NULL && length)
        memcpy(copy, data, (size_t)length);
    return copy;
}

static int compare_row_pointers(const void *left, const void *right)
{
    const Row *a = *(const Row *const *)left, *b = *(const Row *const *)right;
    Py_ssize_t shorter = a->key_length < b->key_length ? a->key_length : b->key_length;
    int order = shorter ? memcmp(a->key, b->key, (size_t)shorter) : 0;
    if (order)
        return order;
    if (a->key_length != b->key_length)
        return a->key_length < b->key_length ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* The rows in key order (a PyMem array of pointers; the rows stay in insertion order,
 * so ``truncate`` keeps meaning "the first n added"). NULL with MemoryError. */
static Row **rows_sorted(AccountRows *self, size_t *bytes)
{
    Row **order = (Row **)warm_take(sizeof(Row *) * (size_t)(self->count ? self->count : 1), bytes);
    if (order == NULL)
        return NULL;
    for (Py_ssize_t index = 0; index < self->count; index++)
        order[index] = &self->rows[index];
    if (self->count > 1)
        qsort(order, (size_t)self->count, sizeof(Row *), compare_row_pointers);
    return order;
}

static void rows_dealloc(AccountRows *self)
{
    warm_give(self->rows, sizeof(Row) * (size_t)self->capacity);
    arena_free(&self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t rows_length(AccountRows *self)
{
    return self->count;
}

/* extend(leaves): rows from (key, new leaf, previous leaf, storage id) tuples of bytes. */
static PyObject *rows_extend(AccountRows *self, PyObject *leaves)
{
    PyObject *sequence = PySequence_Fast(leaves, "extend() takes a sequence of 4-tuples");
    if (sequence == NULL)
        return NULL;
    for (Py_ssize_t index = 0; index < PySequence_Fast_GET_SIZE(sequence); index++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, index);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
            PyErr_SetString(PyExc_TypeError, "each row must be a (key, leaf, previous, storage id) tuple");
            goto fail;
        }
        for (int field = 0; field < 4; field++) {
            if (!PyBytes_Check(PyTuple_GET_ITEM(item, field))) {
                PyErr_SetString(PyExc_TypeError, "row fields must be bytes");
                goto fail;
            }
        }
        Row *row = rows_append(self);
        if (row == NULL)
            goto fail;
        PyObject *fields[4] = {PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1), PyTuple_GET_ITEM(item, 2),
                               PyTuple_GET_ITEM(item, 3)};
        const uint8_t **targets[4] = {&row->key, &row->leaf, &row->old, &row->id};
        Py_ssize_t *lengths[4] = {&row->key_length, &row->leaf_length, &row->old_length, &row->id_length};
        for (int field = 0; field < 4; field++) {
            *lengths[field] = PyBytes_GET_SIZE(fields[field]);
            *targets[field] = rows_copy(self, PyBytes_AS_STRING(fields[field]), *lengths[field]);
            if (*targets[field] == NULL) {
                self->count--;
                goto fail;
            }
        }
    }
    Py_DECREF(sequence);
    Py_RETURN_NONE;
fail:
    Py_DECREF(sequence);
    return NULL;
}

/* columns() -> (keys, leaves, previous leaves, storage ids), sorted by key. */
static PyObject *rows_columns(AccountRows *self, PyObject *unused)
{
    (void)unused;
    size_t order_bytes;
    Row **order = rows_sorted(self, &order_bytes);
    if (order == NULL)
        return NULL;
    PyObject *columns[4] = {NULL, NULL, NULL, NULL};
    PyObject *answer = NULL;
    for (int column = 0; column < 4; column++)
        if ((columns[column] = PyTuple_New(self->count)) == NULL)
            goto done;
    for (Py_ssize_t index = 0; index < self->count; index++) {
        Row *row = order[index];
        const uint8_t *data[4] = {row->key, row->leaf, row->old, row->id};
        Py_ssize_t lengths[4] = {row->key_length, row->leaf_length, row->old_length, row->id_length};
        for (int column = 0; column < 4; column++) {
            PyObject *item = PyBytes_FromStringAndSize((const char *)data[column], lengths[column]);
            if (item == NULL)
                goto done;
            PyTuple_SET_ITEM(columns[column], index, item);
        }
    }
    answer = PyTuple_Pack(4, columns[0], columns[1], columns[2], columns[3]);
done:
    for (int column = 0; column < 4; column++)
        Py_XDECREF(columns[column]);
    warm_give(order, order_bytes);
    return answer;
}

/* truncate(length): keep the first ``length`` rows added. */
static PyObject *rows_truncate(AccountRows *self, PyObject *argument)
{
    Py_ssize_t length = PyLong_AsSsize_t(argument);
    if (length == -1 && PyErr_Occurred())
        return NULL;
    if (length < 0 || length > self->count) {
        PyErr_Format(PyExc_ValueError, "cannot truncate %zd rows to %zd", self->count, length);
        return NULL;
    }
    self->count = length;
    Py_RETURN_NONE;
}

static PyMethodDef rows_methods[] = {
    {"truncate", (PyCFunction)rows_truncate, METH_O, "truncate(length): keep the first length rows added."},
    {"extend", (PyCFunction)rows_extend, METH_O,
     "extend(leaves): add (key, new leaf, previous leaf, storage id) rows (bytes)."},
    {"columns", (PyCFunction)rows_columns, METH_NOARGS,
     "columns() -> (keys, leaves, previous leaves, storage ids), sorted by key."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods rows_as_sequence = {
    .sq_length = (lenfunc)rows_length,
};

static PyTypeObject AccountRowsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.AccountRows",
    .tp_basicsize = sizeof(AccountRows),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "AccountRows()\n\n"
              "A block's account-trie changes as C data (native.PythonAccountRows is the reference):\n"
              "filled by plain_rows() and extend(), merged by BatchTrieUpdater.update_rows().",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)rows_dealloc,
    .tp_methods = rows_methods,
    .tp_as_sequence = &rows_as_sequence,
};

static PyObject *updater_update_rows(Updater *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !Py_IS_TYPE(args[2], &AccountRowsType)) {
        PyErr_SetString(PyExc_TypeError, "update_rows(root, root_id, rows: AccountRows)");
        return NULL;
    }
    PyObject *root = args[0], *root_id = args[1];
    AccountRows *rows = (AccountRows *)args[2];
    if (rows->count == 0)
        return PyTuple_Pack(2, root, root_id);
    if (check_root_arguments(root, root_id) < 0)
        return NULL;
    size_t order_bytes;
    Row **order = rows_sorted(rows, &order_bytes);
    if (order == NULL)
        return NULL;
    Merge merge;
    memset(&merge, 0, sizeof merge);
    merge.updater = self;
    Py_ssize_t count = rows->count;
    merge.count = count;
    size_t pointers = sizeof(uint8_t *) * (size_t)count, lengths = sizeof(Py_ssize_t) * (size_t)count;
    merge.keys = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.values = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.previous = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.value_ids = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.key_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.value_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.previous_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.value_id_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    if (!merge.keys || !merge.values || !merge.previous || !merge.value_ids || !merge.key_lengths
        || !merge.value_lengths || !merge.previous_lengths || !merge.value_id_lengths) {
        arena_free(&merge.arena);
        warm_give(order, order_bytes);
        return NULL;
    }
    for (Py_ssize_t index = 0; index < count; index++) {
        Row *row = order[index];
        merge.keys[index] = row->key;
        merge.key_lengths[index] = row->key_length;
        merge.values[index] = row->leaf;
        merge.value_lengths[index] = row->leaf_length;
        merge.previous[index] = row->old;
        merge.previous_lengths[index] = row->old_length;
        merge.value_ids[index] = row->id;
        merge.value_id_lengths[index] = row->id_length;
    }
    warm_give(order, order_bytes);
    Py_INCREF(self);
    Py_INCREF(rows); /* its arena backs the merge's views */
    Py_INCREF(root);
    Py_INCREF(root_id);
    PyObject *answer = run_merge(&merge, root, root_id);
    Py_DECREF(root_id);
    Py_DECREF(root);
    Py_DECREF(rows);
    Py_DECREF(self);
    return answer;
}

/* An exact int in [0, 2**(8 * width)) as big-endian bytes: 1, or 0 when it is not. */
static int exact_uint(PyObject *value, uint8_t *out, size_t width)
{
    if (!PyLong_CheckExact(value))
        return 0;
    if (unsigned_be(value, out, width, "value") < 0) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* One account of plain_rows: 1 when done (or unchanged), 0 when it takes the general
 * path, -1 on error. */
/* Hash jobs collected by a pass, run at its end (growing a warm buffer). */
typedef struct {
    HashJob *jobs;
    size_t count, size; /* size in bytes */
} HashJobs;

static int add_hash_job(HashJobs *jobs, const uint8_t *data, size_t length, uint8_t *out)
{
    if ((jobs->count + 1) * sizeof(HashJob) > jobs->size) {
        size_t wanted = jobs->size ? 2 * jobs->size : 1024 * sizeof(HashJob);
        HashJob *grown = (HashJob *)warm_grow(jobs->jobs, &jobs->size, jobs->count * sizeof(HashJob), wanted);
        if (grown == NULL)
            return -1;
        jobs->jobs = grown;
    }
    jobs->jobs[jobs->count].data = data;
    jobs->jobs[jobs->count].length = length;
    jobs->jobs[jobs->count].out = out;
    jobs->count++;
    return 0;
}

static int plain_row(PyObject *address, PyObject *account, PyObject *loaded, AccountRows *rows,
                     PyObject *account_puts, PyObject *code_puts, PyObject *cached, Buffer *changeset,
                     HashJobs *address_hashes)
{
    if (!PyBytes_CheckExact(address) || PyBytes_GET_SIZE(address) != 20
        || !PyObject_TypeCheck(account, layout.account_type))
        return 0;
    PyObject *base = PyDict_GetItemWithError(loaded, address);
    if (base == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 2 || PyTuple_GET_ITEM(base, 0) != account)
        return 0;
    PyObject *record = PyTuple_GET_ITEM(base, 1);
    if (!PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 4)
        return 0;
    PyObject *storage = SLOT(account, layout.account_storage);
    PyObject *nonce = SLOT(account, layout.account_nonce), *balance = SLOT(account, layout.account_balance);
    PyObject *code_hash = SLOT(account, layout.account_code_hash), *code = SLOT(account, layout.account_code);
    PyObject *base_nonce = PyTuple_GET_ITEM(record, 0), *base_balance = PyTuple_GET_ITEM(record, 1);
    PyObject *base_root = PyTuple_GET_ITEM(record, 2), *base_code_hash = PyTuple_GET_ITEM(record, 3);
    if (storage == NULL || nonce == NULL || balance == NULL || code_hash == NULL || code == NULL
        || !PyDict_CheckExact(storage) || PyDict_GET_SIZE(storage) != 0 || !is_hash_constant(base_root, EMPTY_TRIE_ROOT)
        || !PyBytes_CheckExact(code_hash) || PyBytes_GET_SIZE(code_hash) != 32
        || !PyBytes_CheckExact(base_code_hash) || PyBytes_GET_SIZE(base_code_hash) != 32)
        return 0;
    int same = PyObject_RichCompareBool(balance, base_balance, Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(nonce, base_nonce, Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(code_hash, base_code_hash, Py_EQ);
    if (same != 0)
        return same < 0 ? -1 : 1; /* unchanged: nothing to write */
    uint8_t nonce_bytes[8], balance_bytes[32], base_nonce_bytes[8], base_balance_bytes[32];
    if (!exact_uint(nonce, nonce_bytes, 8) || !exact_uint(balance, balance_bytes, 32)
        || !exact_uint(base_nonce, base_nonce_bytes, 8) || !exact_uint(base_balance, base_balance_bytes, 32))
        return 0; /* outside the compiled encoder's range */
    const uint8_t *code_hash_bytes = bytes_data(code_hash);
    uint8_t leaf[110], old[110], flat[110], old_flat[110];
    Py_ssize_t leaf_length = write_account(leaf, nonce_bytes, balance_bytes, EMPTY_TRIE_ROOT, code_hash_bytes);
    Py_ssize_t old_length = write_account(old, base_nonce_bytes, base_balance_bytes, EMPTY_TRIE_ROOT,
                                          bytes_data(base_code_hash));
    int has_code = memcmp(code_hash_bytes, EMPTY_CODE_HASH, 32) != 0;
    int had_code = memcmp(bytes_data(base_code_hash), EMPTY_CODE_HASH, 32) != 0;
    Py_ssize_t flat_length = has_code ? leaf_length : write_slim(flat, leaf, leaf_length);
    Py_ssize_t old_flat_length = had_code ? old_length : write_slim(old_flat, old, old_length);
    if (buffer_reserve(changeset, 34 + (size_t)old_flat_length) < 0)
        return -1;
    Row *row = rows_append(rows);
    if (row == NULL)
        return -1;
    uint8_t *key = (uint8_t *)arena_alloc(&rows->arena, 32);
    row->leaf = rows_copy(rows, leaf, leaf_length);
    row->old = rows_copy(rows, old, old_length);
    row->id = rows_copy(rows, "", 0);
    if (key == NULL || row->leaf == NULL || row->old == NULL || row->id == NULL) {
        rows->count--;
        return -1;
    }
    /* keccak(address) for all rows at once at the end of the pass (the accounts dict
     * keeps the address alive until then). */
    if (add_hash_job(address_hashes, bytes_data(address), 20, key) < 0) {
        rows->count--;
        return -1;
    }
    row->key = key;
    row->key_length = 32;
    row->leaf_length = leaf_length;
    row->old_length = old_length;
    row->id_length = 0;
    PyObject *flat_object = PyBytes_FromStringAndSize(has_code ? (const char *)leaf : (const char *)flat, flat_length);
    PyObject *put = flat_object ? PyTuple_Pack(2, address, flat_object) : NULL;
    int failed = put == NULL || PyList_Append(account_puts, put) < 0;
    Py_XDECREF(put);
    Py_XDECREF(flat_object);
    if (!failed && has_code) {
        put = PyTuple_Pack(2, code_hash, code);
        failed = put == NULL || PyList_Append(code_puts, put) < 0;
        Py_XDECREF(put);
    }
    if (!failed) {
        put = PyTuple_Pack(4, nonce, balance, base_root, code_hash);
        failed = put == NULL || PyDict_SetItem(cached, address, put) < 0;
        Py_XDECREF(put);
    }
    if (failed)
        return -1;
    /* Changeset entry: address, zero storage id, old flat record length, no slots; the
     * old flat record (slim when the account had no code). */
    uint8_t *out = changeset->data + changeset->size;
    memcpy(out, bytes_data(address), 20);
    memset(out + 20, 0, 8);
    out[28] = (uint8_t)(old_flat_length >> 8);
    out[29] = (uint8_t)old_flat_length;
    memset(out + 30, 0, 4);
    memcpy(out + 34, had_code ? old : old_flat, (size_t)old_flat_length);
    changeset->size += 34 + (size_t)old_flat_length;
    return 1;
}

/* plain_rows(accounts, loaded, rows, account_puts, code_puts, cached) -> (changeset, others):
 * see native.python_plain_rows, its reference. */
static PyObject *module_plain_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !Py_IS_TYPE(args[2], &AccountRowsType)
        || !PyList_Check(args[3]) || !PyList_Check(args[4]) || !PyDict_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_rows(accounts: dict, loaded: dict, rows: AccountRows, account_puts: list, "
                        "code_puts: list, cached: dict)");
        return NULL;
    }
    PyObject *accounts = args[0], *loaded = args[1];
    AccountRows *rows = (AccountRows *)args[2];
    PyObject *others = PyList_New(0);
    if (others == NULL)
        return NULL;
    Buffer changeset = {NULL, 0, 0};
    HashJobs address_hashes = {NULL, 0, 0};
    Py_ssize_t position = 0;
    PyObject *address, *account;
    while (PyDict_Next(accounts, &position, &address, &account)) {
        Py_INCREF(address);
        Py_INCREF(account);
        int done = plain_row(address, account, loaded, rows, args[3], args[4], args[5], &changeset, &address_hashes);
        int failed = done < 0;
        if (done == 0) {
            PyObject *pair = PyTuple_Pack(2, address, account);
            failed = pair == NULL || PyList_Append(others, pair) < 0;
            Py_XDECREF(pair);
        }
        Py_DECREF(address);
        Py_DECREF(account);
        if (failed) {
            buffer_free(&changeset);
            warm_give(address_hashes.jobs, address_hashes.size);
            Py_DECREF(others);
            return NULL;
        }
    }
    int hashed = keccak256_jobs(address_hashes.jobs, address_hashes.count, keccak_lanes);
    warm_give(address_hashes.jobs, address_hashes.size);
    if (hashed < 0) {
        buffer_free(&changeset);
        Py_DECREF(others);
        return NULL;
    }
    PyObject *packed = PyBytes_FromStringAndSize((const char *)changeset.data, (Py_ssize_t)changeset.size);
    buffer_free(&changeset);
    PyObject *answer = packed ? PyTuple_Pack(2, packed, others) : NULL;
    Py_XDECREF(packed);
    Py_DECREF(others);
    return answer;
}


/* add_versions(versions, block, writes): native.python_add_versions in one call. */
static PyObject *module_add_versions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "add_versions(versions: dict, block, writes: list)");
        return NULL;
    }
    PyObject *versions = args[0], *block = args[1], *writes = args[2];
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(writes); index++) {
        PyObject *write = PyList_GET_ITEM(writes, index);
        if (!PyTuple_Check(write) || PyTuple_GET_SIZE(write) != 2) {
            PyErr_SetString(PyExc_TypeError, "each write must be an (address, flat record) pair");
            return NULL;
        }
        PyObject *address = PyTuple_GET_ITEM(write, 0);
        PyObject *previous = PyDict_GetItemWithError(versions, address);
        if (previous == NULL && PyErr_Occurred())
            return NULL;
        PyObject *entry = PyTuple_Pack(3, block, PyTuple_GET_ITEM(write, 1), previous ? previous : Py_None);
        if (entry == NULL)
            return NULL;
        int status = PyDict_SetItem(versions, address, entry);
        Py_DECREF(entry);
        if (status < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}


/* keccak256_many(messages, lanes=8) -> list of digests (the batch hasher, for tests) */
static PyObject *module_keccak256_many(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"messages", "lanes", NULL};
    PyObject *messages;
    int lanes = 8;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|i:keccak256_many", keywords, &messages, &lanes))
        return NULL;
    if (lanes != 1 && lanes != 4 && lanes != 8) {
        PyErr_SetString(PyExc_ValueError, "lanes must be 1, 4 or 8");
        return NULL;
    }
    PyObject *sequence = PySequence_Fast(messages, "keccak256_many() takes a sequence of bytes");
    if (sequence == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    HashJob *jobs = (HashJob *)malloc(sizeof(HashJob) * (size_t)(count ? count : 1));
    uint8_t *digests = (uint8_t *)malloc(32 * (size_t)(count ? count : 1));
    PyObject *answer = NULL;
    if (jobs == NULL || digests == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, index);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "messages must be bytes");
            goto done;
        }
        jobs[index].data = bytes_data(item);
        jobs[index].length = (size_t)PyBytes_GET_SIZE(item);
        jobs[index].out = digests + 32 * index;
    }
    if (keccak256_jobs(jobs, (size_t)count, lanes) < 0)
        goto done;
    answer = PyList_New(count);
    for (Py_ssize_t index = 0; answer != NULL && index < count; index++) {
        PyObject *digest = PyBytes_FromStringAndSize((const char *)digests + 32 * index, 32);
        if (digest == NULL)
            Py_CLEAR(answer);
        else
            PyList_SET_ITEM(answer, index, digest);
    }
done:
    free(jobs);
    free(digests);
    Py_DECREF(sequence);
    return answer;
}


/* presized_dict(n) -> an empty dict with room for n entries without resizing */
static PyObject *module_presized_dict(PyObject *module, PyObject *argument)
{
    (void)module;
    Py_ssize_t size = PyLong_AsSsize_t(argument);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "size must be >= 0");
        return NULL;
    }
    return _PyDict_NewPresized(size);
}


/* ------------------------------------------------------------------------ */
/* Verifying stored tries (check_integrity)                                  */
/* ------------------------------------------------------------------------ */

/* NodeHashes: the nodes a verification has reached, id -> the hash checked against
 * its parent's reference. Tries of successive blocks share most of their nodes, so
 * a node met again is compared by its recorded hash: every node is read and hashed
 * once, however many retained roots reach it. */
typedef struct {
    uint64_t id;
    uint8_t hash[32];
    int used;
} HashSlot;

typedef struct {
    PyObject_HEAD
    HashSlot *slots;
    size_t capacity, count;
    int shift;
} NodeHashes;

static PyTypeObject NodeHashesType;

static inline size_t hashes_home(const NodeHashes *table, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> table->shift);
}

static HashSlot *hashes_find(NodeHashes *table, uint64_t id)
{
    if (table->count == 0)
        return NULL;
    size_t mask = table->capacity - 1;
    for (size_t index = hashes_home(table, id);; index = (index + 1) & mask) {
        HashSlot *slot = &table->slots[index];
        if (!slot->used)
            return NULL;
        if (slot->id == id)
            return slot;
    }
}

static int hashes_insert(NodeHashes *table, uint64_t id, const uint8_t hash[32])
{
    if (2 * (table->count + 1) > table->capacity) {
        size_t capacity = table->capacity ? 2 * table->capacity : 4096;
        HashSlot *slots = (HashSlot *)calloc(capacity, sizeof(HashSlot));
        if (slots == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        int log2 = 0;
        while (((size_t)1 << log2) < capacity)
            log2++;
        HashSlot *old = table->slots;
        size_t old_capacity = table->capacity;
        table->slots = slots;
        table->capacity = capacity;
        table->shift = 64 - log2;
        for (size_t index = 0; index < old_capacity; index++) {
            if (!old[index].used)
                continue;
            size_t target = hashes_home(table, old[index].id);
            while (slots[target].used)
                target = (target + 1) & (capacity - 1);
            slots[target] = old[index];
        }
        free(old);
    }
    size_t index = hashes_home(table, id);
    while (table->slots[index].used)
        index = (index + 1) & (table->capacity - 1);
    table->slots[index].used = 1;
    table->slots[index].id = id;
    memcpy(table->slots[index].hash, hash, 32);
    table->count++;
    return 0;
}

static void node_hashes_dealloc(NodeHashes *self)
{
    free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_hashes_length(NodeHashes *self)
{
    return (Py_ssize_t)self->count;
}

static int node_hashes_contains(NodeHashes *self, PyObject *key)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0)
        return 0;
    return hashes_find(self, id) != NULL;
}

static PyObject *node_hashes_iter(NodeHashes *self)
{
    PyObject *ids = PyList_New(0);
    if (ids == NULL)
        return NULL;
    for (size_t index = 0; index < self->capacity; index++) {
        if (!self->slots[index].used)
            continue;
        PyObject *id = id_bytes(self->slots[index].id);
        if (id == NULL || PyList_Append(ids, id) < 0) {
            Py_XDECREF(id);
            Py_DECREF(ids);
            return NULL;
        }
        Py_DECREF(id);
    }
    PyObject *iterator = PyObject_GetIter(ids);
    Py_DECREF(ids);
    return iterator;
}

static PySequenceMethods node_hashes_as_sequence = {
    .sq_length = (lenfunc)node_hashes_length,
    .sq_contains = (objobjproc)node_hashes_contains,
};

static PyTypeObject NodeHashesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeHashes",
    .tp_basicsize = sizeof(NodeHashes),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeHashes()\n\nIds of the nodes verify_tries reached (in, len, iteration), each with its checked hash.",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)node_hashes_dealloc,
    .tp_iter = (getiterfunc)node_hashes_iter,
    .tp_as_sequence = &node_hashes_as_sequence,
};

/* What a stored record says about its children. */
typedef struct {
    int kind; /* 'B', 'E', 'L' */
    int hashed;
    const uint8_t *refs[16];  /* the 32 hash bytes of each hashed child reference */
    const uint8_t *ids[16];   /* its id (NULL: the record names none) */
    const uint8_t *value;     /* 'L': the leaf value */
    Py_ssize_t value_length;
    const uint8_t *value_id;  /* 'L': the storage root id of an account leaf, or NULL */
    Py_ssize_t rlp_length;
} RecordScan;

/* Scan a record (rlp + child ids + count) as nodelog.Node reads it; -1 when malformed. */
static int scan_record(const uint8_t *data, Py_ssize_t size, RecordScan *scan)
{
    if (size == 0)
        return -1;
    int count = data[size - 1];
    Py_ssize_t cut = size - 1 - ID_SIZE * (Py_ssize_t)count;
    if (count > 16 || cut < 1)
        return -1;
    const uint8_t *ids = data + cut;
    Bounds outer;
    if (item_bounds(data, cut, 0, &outer) < 0 || !outer.is_list || outer.end != cut)
        return -1;
    Py_ssize_t starts[17], ends[17];
    int items = 0;
    Py_ssize_t position = outer.start;
    while (position < outer.end) {
        Bounds item;
        if (item_bounds(data, cut, position, &item) < 0 || item.end > outer.end || items == 17)
            return -1;
        starts[items] = position;
        ends[items] = item.end;
        items++;
        position = item.end;
    }
    int next_id = 0;
    scan->hashed = 0;
    scan->rlp_length = cut;
    scan->value = NULL;
    scan->value_length = 0;
    scan->value_id = NULL;
    if (items == 17) {
        scan->kind = 'B';
        for (int index = 0; index < 16; index++) {
            if (is_hash_reference(data + starts[index], ends[index] - starts[index])) {
                scan->refs[scan->hashed] = data + starts[index] + 1;
                scan->ids[scan->hashed] = next_id < count ? ids + ID_SIZE * next_id++ : NULL;
                scan->hashed++;
            }
        }
        return 0;
    }
    if (items != 2)
        return -1;
    Bounds path;
    if (item_bounds(data, cut, starts[0], &path) < 0 || path.is_list || path.end != ends[0] || path.start >= path.end)
        return -1;
    int flag = data[path.start] >> 4;
    if (flag > 3)
        return -1;
    if (flag & 2) {
        Bounds value;
        if (item_bounds(data, cut, starts[1], &value) < 0 || value.is_list || value.end != ends[1])
            return -1;
        scan->kind = 'L';
        scan->value = data + value.start;
        scan->value_length = value.end - value.start;
        scan->value_id = count >= 1 ? ids : NULL;
        return 0;
    }
    scan->kind = 'E';
    if (is_hash_reference(data + starts[1], ends[1] - starts[1])) {
        scan->refs[0] = data + starts[1] + 1;
        scan->ids[0] = count >= 1 ? ids : NULL;
        scan->hashed = 1;
    }
    return 0;
}

/* The storage root (32 bytes) in an account leaf value rlp([nonce, balance, root, code]). */
static const uint8_t *account_storage_root(const uint8_t *value, Py_ssize_t length)
{
    Bounds outer;
    if (item_bounds(value, length, 0, &outer) < 0 || !outer.is_list || outer.end != length)
        return NULL;
    Py_ssize_t position = outer.start;
    for (int index = 0; index < 4; index++) {
        Bounds item;
        if (position >= length || item_bounds(value, length, position, &item) < 0 || item.is_list
            || item.end > length)
            return NULL;
        if (index == 2)
            return item.end - item.start == 32 ? value + item.start : NULL;
        position = item.end;
    }
    return NULL;
}

typedef struct {
    uint64_t id;
    PyObject *record; /* a held bytes object */
    int account;      /* in the account trie (its leaves name storage roots) */
} WalkEntry;

/* Fetch, hash and check node ``id`` against ``expected`` (32 bytes); on success it is
 * recorded in ``hashes`` and pushed for its children. 0 ok, 1 missing, 2 bad, -1 error. */
static int verify_node(PyObject *fetch, NodeHashes *hashes, const uint8_t *raw_id, const uint8_t *expected,
                       int account, WalkEntry **stack, size_t *depth, size_t *capacity)
{
    uint64_t id = load_be64(raw_id);
    HashSlot *known = hashes_find(hashes, id);
    if (known != NULL)
        return memcmp(known->hash, expected, 32) == 0 ? 0 : 2;
    PyObject *key = id_object(raw_id);
    if (key == NULL)
        return -1;
    PyObject *record = PyObject_CallOneArg(fetch, key);
    Py_DECREF(key);
    if (record == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    if (!PyBytes_Check(record)) {
        Py_SETREF(record, PyBytes_FromObject(record));
        if (record == NULL)
            return -1;
    }
    RecordScan scan;
    if (scan_record(bytes_data(record), PyBytes_GET_SIZE(record), &scan) < 0) {
        Py_DECREF(record);
        return 2;
    }
    uint8_t hash[32];
    keccak256(bytes_data(record), (size_t)scan.rlp_length, hash);
    if (memcmp(hash, expected, 32) != 0) {
        Py_DECREF(record);
        return 2;
    }
    if (hashes_insert(hashes, id, hash) < 0) {
        Py_DECREF(record);
        return -1;
    }
    if (*depth == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 256;
        WalkEntry *larger = (WalkEntry *)realloc(*stack, sizeof(WalkEntry) * grown);
        if (larger == NULL) {
            Py_DECREF(record);
            PyErr_NoMemory();
            return -1;
        }
        *stack = larger;
        *capacity = grown;
    }
    (*stack)[*depth].id = id;
    (*stack)[*depth].record = record;
    (*stack)[*depth].account = account;
    (*depth)++;
    return 0;
}

/* verify_tries(fetch, roots, hashes) -> (missing, bad): see native.python_verify_tries. */
static PyObject *module_verify_tries(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !Py_IS_TYPE(args[2], &NodeHashesType)) {
        PyErr_SetString(PyExc_TypeError, "verify_tries(fetch, roots, hashes: NodeHashes)");
        return NULL;
    }
    PyObject *fetch = args[0];
    NodeHashes *hashes = (NodeHashes *)args[2];
    PyObject *roots = PySequence_Fast(args[1], "roots must be a sequence of (root hash, root id)");
    if (roots == NULL)
        return NULL;
    Py_ssize_t missing = 0, bad = 0;
    WalkEntry *stack = NULL;
    size_t depth = 0, capacity = 0;
    int failed = 0;
    for (Py_ssize_t index = 0; index < PySequence_Fast_GET_SIZE(roots) && !failed; index++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(roots, index);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))
            || !PyBytes_Check(PyTuple_GET_ITEM(pair, 1)) || PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 0)) != 32) {
            PyErr_SetString(PyExc_TypeError, "each root must be (32-byte root hash, root id)");
            failed = 1;
            break;
        }
        PyObject *root_id = PyTuple_GET_ITEM(pair, 1);
        int status;
        if (PyBytes_GET_SIZE(root_id) != ID_SIZE)
            status = 2;
        else
            status = verify_node(fetch, hashes, bytes_data(root_id), bytes_data(PyTuple_GET_ITEM(pair, 0)), 1,
                                 &stack, &depth, &capacity);
        while (status == 0 && depth > 0) {
            WalkEntry entry = stack[--depth];
            RecordScan scan;
            scan_record(bytes_data(entry.record), PyBytes_GET_SIZE(entry.record), &scan); /* scanned before */
            for (int child = 0; child < scan.hashed && status == 0; child++)
                status = scan.ids[child] == NULL ? 2
                                                 : verify_node(fetch, hashes, scan.ids[child], scan.refs[child],
                                                               entry.account, &stack, &depth, &capacity);
            if (status == 0 && scan.kind == 'L' && entry.account && scan.value_id != NULL) {
                const uint8_t *storage_root = account_storage_root(scan.value, scan.value_length);
                status = storage_root == NULL ? 2
                                              : verify_node(fetch, hashes, scan.value_id, storage_root, 0, &stack,
                                                            &depth, &capacity);
            }
            Py_DECREF(entry.record);
        }
        while (depth > 0) /* the walk stopped early: drop what it held */
            Py_DECREF(stack[--depth].record);
        if (status == 1)
            missing++;
        else if (status == 2)
            bad++;
        else if (status < 0)
            failed = 1;
    }
    free(stack);
    Py_DECREF(roots);
    if (failed)
        return NULL;
    return Py_BuildValue("(nn)", missing, bad);
}


/* flush_rows(versions) -> (puts, deletes): native.python_flush_rows in one call. */
static PyObject *module_flush_rows(PyObject *module, PyObject *versions)
{
    (void)module;
    if (!PyDict_CheckExact(versions)) {
        PyErr_SetString(PyExc_TypeError, "flush_rows(versions: dict)");
        return NULL;
    }
    PyObject *puts = PyList_New(0), *deletes = PyList_New(0);
    if (puts == NULL || deletes == NULL)
        goto error;
    Py_ssize_t position = 0;
    PyObject *address, *entry;
    while (PyDict_Next(versions, &position, &address, &entry)) {
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3 || !PyBytes_Check(address)) {
            PyErr_SetString(PyExc_TypeError, "overlay versions must map bytes to (block, flat, previous)");
            goto error;
        }
        PyObject *flat = PyTuple_GET_ITEM(entry, 1);
        if (flat == Py_None) {
            if (PyList_Append(deletes, address) < 0)
                goto error;
            continue;
        }
        PyObject *pair = PyTuple_Pack(2, address, flat);
        if (pair == NULL)
            goto error;
        PyObject_GC_UnTrack(pair);
        int status = PyList_Append(puts, pair);
        Py_DECREF(pair);
        if (status < 0)
            goto error;
    }
    /* compare_rows reads item 0 of each tuple; nothing here can run Python code. */
    qsort(((PyListObject *)puts)->ob_item, (size_t)PyList_GET_SIZE(puts), sizeof(PyObject *), compare_rows);
    if (PyList_Sort(deletes) < 0)
        goto error;
    PyObject *answer = PyTuple_Pack(2, puts, deletes);
    Py_DECREF(puts);
    Py_DECREF(deletes);
    return answer;
error:
    Py_XDECREF(puts);
    Py_XDECREF(deletes);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"keccak256_many", (PyCFunction)(void (*)(void))module_keccak256_many, METH_VARARGS | METH_KEYWORDS,
     "keccak256_many(messages, lanes=8) -> [digest, ...]: many messages at once, up to ``lanes``\n"
     "SIMD lanes (what the CPU supports; the same digests as keccak256)."},
    {"keccak256", module_keccak256, METH_O,
     "keccak256(data) -> 32-byte Keccak-256 digest (Ethereum's) of any bytes-like object."},
    {"encode_account", (PyCFunction)(void (*)(void))module_encode_account, METH_FASTCALL,
     "encode_account(nonce, balance, storage_root, code_hash) -> rlp([nonce, balance, storage_root, code_hash])\n\n"
     "Same bytes as hyperion.state.account.encode_account for nonce < 2**64, balance < 2**256 and\n"
     "32-byte hashes; ValueError otherwise (the caller falls back to the Python encoder)."},
    {"load_account", (PyCFunction)(void (*)(void))module_load_account, METH_FASTCALL,
     "load_account(accounts, address) -> Account | None\n\n"
     "LazyAccounts._load in one call (pending.py holds the reference)."},
    {"bind_layout", (PyCFunction)(void (*)(void))module_bind_layout, METH_VARARGS | METH_KEYWORDS,
     "bind_layout(*, account, snapshot, cache, lazy_accounts, pending, lazy_storage, absent, balance_tag,\n"
     "            generic_set_balance): where the classes' __slots__ live (called by pending.py)."},
    {"plain_rows", (PyCFunction)(void (*)(void))module_plain_rows, METH_FASTCALL,
     "plain_rows(accounts, loaded, rows, account_puts, code_puts, cached) -> (changeset, others)\n\n"
     "The commit's common case in one pass (see native.python_plain_rows)."},
    {"verify_tries", (PyCFunction)(void (*)(void))module_verify_tries, METH_FASTCALL,
     "verify_tries(fetch, roots, hashes) -> (missing, bad): check every node reachable from the\n"
     "(root hash, root id) pairs (see native.python_verify_tries)."},
    {"flush_rows", module_flush_rows, METH_O,
     "flush_rows(versions) -> (puts, deletes): what a flat overlay flush writes (see native.python_flush_rows)."},
    {"presized_dict", module_presized_dict, METH_O,
     "presized_dict(n) -> {}: an empty dict that takes n entries without resizing."},
    {"add_versions", (PyCFunction)(void (*)(void))module_add_versions, METH_FASTCALL,
     "add_versions(versions, block, writes): FlatOverlay.add's loop (see native.python_add_versions)."},
    {"pending_methods", module_pending_methods, METH_NOARGS,
     "pending_methods() -> {name: method descriptor}: PendingState methods implemented here."},
    {"plain_changes", (PyCFunction)(void (*)(void))module_plain_changes, METH_FASTCALL,
     "plain_changes(accounts, loaded, no_slots, change_type) -> (changes, others)\n\n"
     "PendingState.changes' common case (see native.python_plain_changes)."},
    {"account_rows", (PyCFunction)(void (*)(void))module_account_rows, METH_FASTCALL,
     "account_rows(changes, storage_id_of, leaves, account_puts, code_puts, cached) -> (changeset, rest)\n\n"
     "The commit loop's common case (see native.python_account_rows)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef trie_native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyperion.state.metisdb._trie_native",
    .m_doc = "C implementation of MetisDB's commit-time trie merger (see batchtrie.py) and commit-loop helpers.",
    .m_size = -1,
    .m_methods = module_methods,
};

static PyObject *import_attribute(const char *module_name, const char *name)
{
    PyObject *module = PyImport_ImportModule(module_name);
    if (module == NULL)
        return NULL;
    PyObject *attribute = PyObject_GetAttrString(module, name);
    Py_DECREF(module);
    return attribute;
}

PyMODINIT_FUNC PyInit__trie_native(void)
{
    if (MissingTrieNode == NULL) {
        NAME_STORAGE = PyUnicode_InternFromString("storage");
        NAME_BALANCE = PyUnicode_InternFromString("balance");
        NAME_NONCE = PyUnicode_InternFromString("nonce");
        NAME_CODE_HASH = PyUnicode_InternFromString("code_hash");
        NAME_CODE = PyUnicode_InternFromString("code");
        NAME_ACCOUNT_RECORD = PyUnicode_InternFromString("account_record");
        if (!NAME_STORAGE || !NAME_BALANCE || !NAME_NONCE || !NAME_CODE_HASH || !NAME_CODE || !NAME_ACCOUNT_RECORD)
            return NULL;
        MissingTrieNode = import_attribute("hyperion.trie.codec", "MissingTrieNode");
        BadTrieNode = import_attribute("hyperion.trie.codec", "BadTrieNode");
        TrieError = import_attribute("hyperion.trie.codec", "TrieError");
        CorruptDatabase = import_attribute("hyperion.state.metisdb.errors", "CorruptDatabase");
        NO_ID = PyBytes_FromStringAndSize(NULL, 0);
        if (MissingTrieNode == NULL || BadTrieNode == NULL || TrieError == NULL || CorruptDatabase == NULL
            || NO_ID == NULL) {
            Py_CLEAR(MissingTrieNode);
            Py_CLEAR(BadTrieNode);
            Py_CLEAR(TrieError);
            Py_CLEAR(CorruptDatabase);
            Py_CLEAR(NO_ID);
            return NULL;
        }
#ifdef KECCAK_SIMD
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
            keccak_lanes = 8;
        else if (__builtin_cpu_supports("avx2"))
            keccak_lanes = 4;
#endif
        const uint8_t empty_string = 0x80;
        keccak256(&empty_string, 1, EMPTY_TRIE_ROOT);
        keccak256(&empty_string, 0, EMPTY_CODE_HASH);
    }
    if (PyType_Ready(&UpdaterType) < 0 || PyType_Ready(&AccountRowsType) < 0 || PyType_Ready(&NodeCacheType) < 0
        || PyType_Ready(&NodeBatchType) < 0 || PyType_Ready(&NodeHashesType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&trie_native_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&UpdaterType);
    if (PyModule_AddObject(module, "BatchTrieUpdater", (PyObject *)&UpdaterType) < 0) {
        Py_DECREF(&UpdaterType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "KECCAK_LANES", keccak_lanes) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    PyTypeObject *types[4] = {&AccountRowsType, &NodeCacheType, &NodeBatchType, &NodeHashesType};
    const char *names[4] = {"AccountRows", "NodeCache", "NodeBatch", "NodeHashes"};
    for (int index = 0; index < 4; index++) {
        Py_INCREF(types[index]);
        if (PyModule_AddObject(module, names[index], (PyObject *)types[index]) < 0) {
            Py_DECREF(types[index]);
            Py_DECREF(module);
            return NULL;
        }
    }
    return module;
}
