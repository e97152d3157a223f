/* Verifying stored tries (``MetisDB.check_integrity``): every node reachable from
 * the retained roots is fetched, hashed once and checked against its parent's
 * reference. NodeHashes records the nodes reached, so tries of successive blocks,
 * which share most nodes, cost one hash per node in all. */
#ifndef METISDB_INTEGRITY_H
#define METISDB_INTEGRITY_H

#include "common.h"
#include "id_table.h"

typedef struct {
    PyObject_HEAD
    IdTable table; /* of HashSlot (integrity.c): id -> the hash checked against its parent */
} NodeHashes;

extern PyTypeObject NodeHashesType;

/* Python: verify_tries(fetch, roots, hashes) -> (missing, bad). */
PyObject *module_verify_tries(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
