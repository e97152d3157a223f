/* Where the Python classes of the pending state keep their __slots__ attributes.
 *
 * ``bind_layout`` (pending.c) resolves, once, the offset of each __slots__
 * attribute the compiled paths use (its member descriptor's offset), so that
 * reading or writing one is a load or store at that offset. ``PyObject_GetAttr``
 * would instead look the name up along the type's MRO and go through the
 * descriptor every time: several times the cost of the work itself on the
 * per-account paths. Objects are type-checked before their slots are used;
 * anything unexpected takes the generic Python path. */
#ifndef METISDB_LAYOUT_H
#define METISDB_LAYOUT_H

#include "common.h"

typedef struct {
    int bound;
    PyTypeObject *account_type, *snapshot_type, *cache_type, *lazy_accounts_type, *pending_type;
    PyObject *lazy_storage_type, *absent, *balance_tag, *generic_set_balance;
    Py_ssize_t account_nonce, account_balance, account_code, account_code_hash, account_storage,
        account_storage_root, account_address_hash;
    Py_ssize_t snapshot_cache, snapshot_generation;
    Py_ssize_t cache_generation, cache_accounts;
    Py_ssize_t lazy_snapshot, lazy_absent, lazy_loaded;
    Py_ssize_t pending_accounts, pending_journal, pending_owned;
} Layout;

extern Layout layout;

#define SLOT(object, offset) (*(PyObject **)((char *)(object) + (offset)))

static inline int is_hash_constant(PyObject *value, const uint8_t constant[32])
{
    return PyBytes_Check(value) && PyBytes_GET_SIZE(value) == 32
           && memcmp(PyBytes_AS_STRING(value), constant, 32) == 0;
}

/* -1 with RuntimeError until ``bind_layout`` has run. */
static inline int check_bound(void)
{
    if (!layout.bound) {
        PyErr_SetString(PyExc_RuntimeError, "bind_layout() has not been called");
        return -1;
    }
    return 0;
}

#endif
