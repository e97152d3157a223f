/* The pending state's hot paths, on the Python classes' __slots__ (see layout.h):
 * ``LazyAccounts._load``, ``PendingState.set_balance`` and the common case of
 * ``PendingState.changes``, each a twin of the Python code in pending.py/native.py. */
#ifndef METISDB_PENDING_H
#define METISDB_PENDING_H

#include "common.h"

/* Intern the attribute names (once, at module init); -1 with an exception. */
int pending_init(void);

PyObject *module_bind_layout(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *module_load_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *module_pending_methods(PyObject *module, PyObject *unused);
PyObject *module_plain_changes(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
