/*
 * What every unit of MetisDB's compiled core shares: the includes, the module's
 * constants (set once by module.c), byte-order helpers and node ids.
 *
 * The core is one extension module, ``hyperion.state.metisdb._trie_native``,
 * built from one unit per concern:
 *   keccak.c        Keccak-256, one message at a time
 *   keccak_lanes.c  Keccak-256 of many messages at once (SIMD lanes)
 *   memory.c        arenas and warm buffers reused across commits
 *   id_table.c      the open-addressing table keyed by node id (NodeCache, NodeHashes)
 *   store.c         NodeCache (the merges' parse cache) and NodeBatch (a commit's new records)
 *   merge.c         BatchTrieUpdater: merging sorted changes into a trie of the node log
 *   codec.c         account leaves, flat records, changesets and AccountRows
 *   pending.c       the pending state's hot paths on the Python classes' __slots__
 *   integrity.c     verifying stored tries (check_integrity)
 *   getset.c        attribute getters and setters of the types, written once as a table
 *   module.c        the module: functions, types, constants
 * Each is a drop-in twin of Python code in this package (see native.py), and the
 * tests hold the two to the same results.
 */
#ifndef METISDB_COMMON_H
#define METISDB_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ID_SIZE 8                /* node ids: 8-byte big-endian numbers */
#define BRANCH_HEADER_LIMIT 1024 /* the Python reference's LIST_HEADERS table size */

/* Set by the module's init (module.c). */
extern PyObject *NO_ID; /* b"": no record (empty slot or embedded node) */
extern PyObject *MissingTrieNode;
extern PyObject *BadTrieNode;
extern PyObject *TrieError;
extern PyObject *CorruptDatabase;
extern uint8_t EMPTY_TRIE_ROOT[32];
extern uint8_t EMPTY_CODE_HASH[32]; /* keccak(b"") */
extern const uint8_t EMPTY_ITEM_BYTE[1]; /* an empty branch slot (RLP of b"") */

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

static inline const uint8_t *bytes_data(PyObject *bytes)
{
    return (const uint8_t *)PyBytes_AS_STRING(bytes);
}

/* The 8 raw bytes of an id as a bytes object (new reference). */
static inline PyObject *id_object(const uint8_t *id)
{
    return PyBytes_FromStringAndSize((const char *)id, ID_SIZE);
}

/* An id number as an 8-byte bytes object (new reference). */
PyObject *id_bytes(uint64_t id);
/* The 8-byte big-endian id in ``key`` (a bytes object), or -1 (no error) if not one. */
int id_from_object(PyObject *key, uint64_t *id);
/* tp_new of the types that take no arguments. */
PyObject *new_without_arguments(PyTypeObject *type, PyObject *args, PyObject *kwargs);

#endif
