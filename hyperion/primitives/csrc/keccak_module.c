/* hyperion.primitives._keccak: Keccak-256 in one C call (keccak256.c), no hash object
 * made, updated and copied per digest as hashlib-style types do. */

#include "keccak256.h"

static PyMethodDef keccak_methods[] = {
    {"keccak256", module_keccak256, METH_O,
     "keccak256(data) -> 32-byte Keccak-256 digest (Ethereum's) of any bytes-like object."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef keccak_module = {
    PyModuleDef_HEAD_INIT, "_keccak", "Keccak-256 (Ethereum's) in C.", -1, keccak_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__keccak(void)
{
    return PyModule_Create(&keccak_module);
}
