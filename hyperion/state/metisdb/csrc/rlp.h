/* Reading RLP items the way the Python reference does: bounds are computed without
 * trusting the data (an item may claim to run past it; callers clip as Python's
 * slices do), so the C code accepts and rejects exactly the records the Python code
 * does. Used by the merger (parsing nodes) and the integrity walk (scanning records). */
#ifndef METISDB_RLP_H
#define METISDB_RLP_H

#include "common.h"

typedef struct {
    Py_ssize_t start; /* payload start */
    Py_ssize_t end;   /* item end (may lie past the data: callers clip) */
    int is_list;
} Bounds;

static inline Py_ssize_t saturating_end(Py_ssize_t start, uint64_t length)
{
    if (length > (uint64_t)(PY_SSIZE_T_MAX - start))
        return PY_SSIZE_T_MAX;
    return start + (Py_ssize_t)length;
}

/* Bounds of the RLP item at ``position``; -1 if ``position`` is past the data. */
static inline int item_bounds(const uint8_t *data, Py_ssize_t size, Py_ssize_t position, Bounds *bounds)
{
    if (position < 0 || position >= size) {
        bounds->start = bounds->end = bounds->is_list = 0;
        return -1;
    }
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
static inline void clip(Py_ssize_t size, Py_ssize_t start, Py_ssize_t end, Py_ssize_t *offset, Py_ssize_t *length)
{
    if (start > size)
        start = size;
    if (end > size)
        end = size;
    *offset = start;
    *length = end > start ? end - start : 0;
}

/* A child reference by hash: the RLP of a 32-byte string (0xa0 + keccak of the child). */
static inline int is_hash_reference(const uint8_t *data, Py_ssize_t length)
{
    return length == 33 && data[0] == 0xA0;
}

#endif
