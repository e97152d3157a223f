/* Keccak-256 of one message (see keccak256.h). */

#include "keccak256.h"

#define ROL64(value, shift) (((value) << (shift)) | ((value) >> (64 - (shift))))

const uint64_t KECCAK_ROUND_CONSTANTS[24] = {
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
void keccak_f1600(uint64_t s[25])
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

void keccak256(const uint8_t *data, size_t length, uint8_t out[32])
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

PyObject *module_keccak256(PyObject *module, PyObject *argument)
{
    (void)module;
    uint8_t hash[32];
    if (PyBytes_CheckExact(argument)) { /* the common case: no buffer protocol round trip */
        keccak256((const uint8_t *)PyBytes_AS_STRING(argument), (size_t)PyBytes_GET_SIZE(argument), hash);
    } else {
        Py_buffer view;
        if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        keccak256((const uint8_t *)view.buf, (size_t)view.len, hash);
        PyBuffer_Release(&view);
    }
    return PyBytes_FromStringAndSize((const char *)hash, 32);
}
