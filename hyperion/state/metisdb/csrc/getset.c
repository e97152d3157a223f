/* The generic attribute getter and setter (see getset.h). */

#include "getset.h"

#define MEMBER(self, spec, T) (*(T *)((char *)(self) + (spec)->offset))

PyObject *field_get(PyObject *self, void *closure)
{
    const FieldSpec *spec = (const FieldSpec *)closure;
    switch (spec->kind) {
    case FIELD_OBJECT: {
        PyObject *value = MEMBER(self, spec, PyObject *);
        Py_INCREF(value);
        return value;
    }
    case FIELD_ULONGLONG:
        return PyLong_FromUnsignedLongLong(MEMBER(self, spec, unsigned long long));
    case FIELD_SSIZE:
        return PyLong_FromSsize_t(MEMBER(self, spec, Py_ssize_t));
    }
    PyErr_SetString(PyExc_SystemError, "unknown field kind");
    return NULL;
}

int field_set(PyObject *self, PyObject *value, void *closure)
{
    const FieldSpec *spec = (const FieldSpec *)closure;
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "%s cannot be deleted", spec->name);
        return -1;
    }
    switch (spec->kind) {
    case FIELD_OBJECT:
        if (spec->type != NULL && !Py_IS_TYPE(value, spec->type)) {
            const char *dot = strrchr(spec->type->tp_name, '.');
            PyErr_Format(PyExc_TypeError, "%s must be a %s, not %.100s", spec->name,
                         dot ? dot + 1 : spec->type->tp_name, Py_TYPE(value)->tp_name);
            return -1;
        }
        Py_INCREF(value);
        Py_SETREF(MEMBER(self, spec, PyObject *), value);
        return 0;
    case FIELD_ULONGLONG: {
        if (!PyLong_Check(value)) {
            PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", spec->name, Py_TYPE(value)->tp_name);
            return -1;
        }
        unsigned long long number = PyLong_AsUnsignedLongLong(value);
        if (number == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        MEMBER(self, spec, unsigned long long) = number;
        return 0;
    }
    case FIELD_SSIZE: {
        Py_ssize_t number = PyLong_AsSsize_t(value);
        if (number == -1 && PyErr_Occurred())
            return -1;
        MEMBER(self, spec, Py_ssize_t) = number;
        return 0;
    }
    }
    PyErr_SetString(PyExc_SystemError, "unknown field kind");
    return -1;
}
