/* The commit's encodings, twins of ``codec.py`` and ``native.py``'s Python paths:
 * account leaves (RLP), flat records and changesets, the account-trie rows of a
 * block (AccountRows, handed to the merger), and the flat overlay's rows. */
#ifndef METISDB_CODEC_H
#define METISDB_CODEC_H

#include "common.h"
#include "memory.h"

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

extern PyTypeObject AccountRowsType;

/* The rows in key order (a warm buffer of pointers, ``*bytes`` long: give it back
 * with warm_give; the rows stay in insertion order). NULL with MemoryError. */
Row **rows_sorted(AccountRows *self, size_t *bytes);

PyObject *module_encode_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *module_account_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *module_plain_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *module_add_versions(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *module_flush_rows(PyObject *module, PyObject *versions);
PyObject *module_presized_dict(PyObject *module, PyObject *argument);

#endif
