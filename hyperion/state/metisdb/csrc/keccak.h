/* Keccak-256 (Ethereum's: original 0x01 domain padding, not SHA3's 0x06): one
 * message at a time (keccak.c) and many independent messages at once, lane-sliced
 * over SIMD registers (keccak_lanes.c). Both give the same bytes. */
#ifndef METISDB_KECCAK_H
#define METISDB_KECCAK_H

#include "common.h"

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

/* One message of a batch: ``out`` (32 bytes) may not overlap any message's data. */
typedef struct {
    const uint8_t *data;
    size_t length;
    uint8_t *out;
} HashJob;

/* How many messages the batch hasher takes at once: 8 (AVX-512), 4 (AVX2) or 1. */
extern int keccak_lanes;
/* Pick ``keccak_lanes`` from what this CPU supports (once, at module init). */
void keccak_detect_lanes(void);
/* Keccak-256 of every job, ``lanes`` messages at a time; -1 with MemoryError. */
int keccak256_jobs(HashJob *jobs, size_t count, int lanes);

/* Python: keccak256(data) and keccak256_many(messages, lanes=8). */
PyObject *module_keccak256(PyObject *module, PyObject *argument);
PyObject *module_keccak256_many(PyObject *module, PyObject *args, PyObject *kwargs);

#endif
