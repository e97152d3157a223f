/* Attribute getters and setters of the C types, written once. A type lists its
 * attributes with FIELD(...) in its PyGetSetDef table; each entry carries a
 * FieldSpec (where the member is, what it holds) and the two generic functions
 * below do the work for every attribute of every type: no per-attribute code. */
#ifndef METISDB_GETSET_H
#define METISDB_GETSET_H

#include "common.h"

typedef enum {
    FIELD_OBJECT,    /* PyObject *: never deleted; of ``type`` when one is given */
    FIELD_ULONGLONG, /* unsigned long long from a Python int */
    FIELD_SSIZE,     /* Py_ssize_t from a Python int */
} FieldKind;

typedef struct {
    const char *name;
    Py_ssize_t offset;
    FieldKind kind;
    PyTypeObject *type; /* FIELD_OBJECT: the type a new value must have, or NULL */
} FieldSpec;

PyObject *field_get(PyObject *self, void *spec);
int field_set(PyObject *self, PyObject *value, void *spec);

/* A PyGetSetDef entry for member ``member`` of ``Struct``, exposed as ``name``. */
#define FIELD(name, Struct, member, kind, type, doc)                                                  \
    {name, field_get, field_set, doc,                                                                 \
     &(FieldSpec){name, (Py_ssize_t)offsetof(Struct, member), kind, (PyTypeObject *)(type)}}

#endif
