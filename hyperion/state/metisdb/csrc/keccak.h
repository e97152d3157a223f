/* Keccak-256 (Ethereum's: original 0x01 domain padding, not SHA3's 0x06): one
 * message at a time (the primitives layer's keccak256.c, shared with
 * ``hyperion.primitives._keccak``) and many independent messages at once,
 * lane-sliced over SIMD registers (keccak_lanes.c). Both give the same bytes. */
#ifndef METISDB_KECCAK_H
#define METISDB_KECCAK_H

#include "common.h"
#include "../../../primitives/csrc/keccak256.h"

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

/* Python: keccak256_many(messages, lanes=8) (keccak256(data): keccak256.h). */
PyObject *module_keccak256_many(PyObject *module, PyObject *args, PyObject *kwargs);

#endif
