/* Keccak-256 of many independent messages at once (SIMD lanes; see keccak.h). */

#include "keccak.h"
#include "memory.h"

/* A merge hashes tens of thousands of nodes, most of them independent of each other
 * (all the nodes of one height of the trie). With the state lane-sliced (vector j
 * holds lane j of W states) the permutation runs W states at the cost of about one:
 * measured 8x the scalar throughput with AVX-512 (8 states), 2.7x with AVX2 (4).
 * The width is picked at load time from what the CPU supports; the results are the
 * same bytes as ``keccak256`` (tests compare every width). */
int keccak_lanes = 1; /* 8, 4 or 1: set by keccak_detect_lanes */

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

int keccak256_jobs(HashJob *jobs, size_t count, int lanes)
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

/* keccak256_many(messages, lanes=8) -> list of digests (the batch hasher, for tests) */
PyObject *module_keccak256_many(PyObject *module, PyObject *args, PyObject *kwargs)
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

void keccak_detect_lanes(void)
{
#ifdef KECCAK_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        keccak_lanes = 8;
    else if (__builtin_cpu_supports("avx2"))
        keccak_lanes = 4;
#endif
}
