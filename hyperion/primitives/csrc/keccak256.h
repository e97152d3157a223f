/* Keccak-256 (Ethereum's: original 0x01 domain padding, not SHA3's 0x06) of one
 * message (keccak256.c). Built into ``hyperion.primitives._keccak`` (what
 * ``hyperion.primitives.keccak.keccak256`` calls) and into MetisDB's C core, whose
 * batch hasher (state/metisdb/csrc/keccak_lanes.c) gives the same bytes. */
#ifndef HYPERION_KECCAK256_H
#define HYPERION_KECCAK256_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define KECCAK_RATE 136

extern const uint64_t KECCAK_ROUND_CONSTANTS[24];

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

static inline void store_le64(uint8_t *out, uint64_t lane)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, &lane, 8);
#else
    for (int byte = 0; byte < 8; byte++)
        out[byte] = (uint8_t)(lane >> (8 * byte));
#endif
}

/* keccak-f[1600] on 25 lanes, in place. */
void keccak_f1600(uint64_t s[25]);
/* Keccak-256 of ``length`` bytes at ``data`` into ``out``. */
void keccak256(const uint8_t *data, size_t length, uint8_t out[32]);

/* Python: keccak256(data) -> 32-byte digest of any bytes-like object. */
PyObject *module_keccak256(PyObject *module, PyObject *argument);

#endif
