/* The extension module ``hyperion.state.metisdb._trie_native``: its functions, types
 * and constants, gathered from the units (see common.h for the list). */

#include "common.h"
#include "codec.h"
#include "integrity.h"
#include "keccak.h"
#include "merge.h"
#include "pending.h"
#include "store.h"

PyObject *NO_ID;
PyObject *MissingTrieNode;
PyObject *BadTrieNode;
PyObject *TrieError;
PyObject *CorruptDatabase;
uint8_t EMPTY_TRIE_ROOT[32];
uint8_t EMPTY_CODE_HASH[32];
const uint8_t EMPTY_ITEM_BYTE[1] = {0x80};

PyObject *id_bytes(uint64_t id)
{
    uint8_t raw[ID_SIZE];
    store_be64(raw, id);
    return PyBytes_FromStringAndSize((const char *)raw, ID_SIZE);
}

int id_from_object(PyObject *key, uint64_t *id)
{
    if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) != ID_SIZE)
        return -1;
    *id = load_be64(bytes_data(key));
    return 0;
}

PyObject *new_without_arguments(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_Format(PyExc_TypeError, "%s() takes no arguments", type->tp_name);
        return NULL;
    }
    return type->tp_alloc(type, 0);
}

static PyMethodDef module_methods[] = {
    {"keccak256_many", (PyCFunction)(void (*)(void))module_keccak256_many, METH_VARARGS | METH_KEYWORDS,
     "keccak256_many(messages, lanes=8) -> [digest, ...]: many messages at once, up to ``lanes``\n"
     "SIMD lanes (what the CPU supports; the same digests as keccak256)."},
    {"keccak256", module_keccak256, METH_O,
     "keccak256(data) -> 32-byte Keccak-256 digest (Ethereum's) of any bytes-like object."},
    {"encode_account", (PyCFunction)(void (*)(void))module_encode_account, METH_FASTCALL,
     "encode_account(nonce, balance, storage_root, code_hash) -> rlp([nonce, balance, storage_root, code_hash])\n\n"
     "Same bytes as hyperion.state.account.encode_account for nonce < 2**64, balance < 2**256 and\n"
     "32-byte hashes; ValueError otherwise (the caller falls back to the Python encoder)."},
    {"load_account", (PyCFunction)(void (*)(void))module_load_account, METH_FASTCALL,
     "load_account(accounts, address) -> Account | None\n\n"
     "LazyAccounts._load in one call (pending.py holds the reference)."},
    {"bind_layout", (PyCFunction)(void (*)(void))module_bind_layout, METH_VARARGS | METH_KEYWORDS,
     "bind_layout(*, account, snapshot, cache, lazy_accounts, pending, lazy_storage, absent, balance_tag,\n"
     "            generic_set_balance): where the classes' __slots__ live (called by pending.py)."},
    {"plain_rows", (PyCFunction)(void (*)(void))module_plain_rows, METH_FASTCALL,
     "plain_rows(accounts, loaded, rows, account_puts, code_puts, cached) -> (changeset, others)\n\n"
     "The commit's common case in one pass (see native.python_plain_rows)."},
    {"verify_tries", (PyCFunction)(void (*)(void))module_verify_tries, METH_FASTCALL,
     "verify_tries(fetch, roots, hashes) -> (missing, bad): check every node reachable from the\n"
     "(root hash, root id) pairs (see native.python_verify_tries)."},
    {"flush_rows", module_flush_rows, METH_O,
     "flush_rows(versions) -> (puts, deletes): what a flat overlay flush writes (see native.python_flush_rows)."},
    {"presized_dict", module_presized_dict, METH_O,
     "presized_dict(n) -> {}: an empty dict that takes n entries without resizing."},
    {"add_versions", (PyCFunction)(void (*)(void))module_add_versions, METH_FASTCALL,
     "add_versions(versions, block, writes): FlatOverlay.add's loop (see native.python_add_versions)."},
    {"pending_methods", module_pending_methods, METH_NOARGS,
     "pending_methods() -> {name: method descriptor}: PendingState methods implemented here."},
    {"plain_changes", (PyCFunction)(void (*)(void))module_plain_changes, METH_FASTCALL,
     "plain_changes(accounts, loaded, no_slots, change_type) -> (changes, others)\n\n"
     "PendingState.changes' common case (see native.python_plain_changes)."},
    {"account_rows", (PyCFunction)(void (*)(void))module_account_rows, METH_FASTCALL,
     "account_rows(changes, storage_id_of, leaves, account_puts, code_puts, cached) -> (changeset, rest)\n\n"
     "The commit loop's common case (see native.python_account_rows)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef trie_native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyperion.state.metisdb._trie_native",
    .m_doc = "C implementation of MetisDB's commit-time trie merger (see batchtrie.py) and commit-loop helpers.",
    .m_size = -1,
    .m_methods = module_methods,
};

static PyObject *import_attribute(const char *module_name, const char *name)
{
    PyObject *module = PyImport_ImportModule(module_name);
    if (module == NULL)
        return NULL;
    PyObject *attribute = PyObject_GetAttrString(module, name);
    Py_DECREF(module);
    return attribute;
}

PyMODINIT_FUNC PyInit__trie_native(void)
{
    if (MissingTrieNode == NULL) {
        if (pending_init() < 0)
            return NULL;
        MissingTrieNode = import_attribute("hyperion.trie.codec", "MissingTrieNode");
        BadTrieNode = import_attribute("hyperion.trie.codec", "BadTrieNode");
        TrieError = import_attribute("hyperion.trie.codec", "TrieError");
        CorruptDatabase = import_attribute("hyperion.state.metisdb.errors", "CorruptDatabase");
        NO_ID = PyBytes_FromStringAndSize(NULL, 0);
        if (MissingTrieNode == NULL || BadTrieNode == NULL || TrieError == NULL || CorruptDatabase == NULL
            || NO_ID == NULL) {
            Py_CLEAR(MissingTrieNode);
            Py_CLEAR(BadTrieNode);
            Py_CLEAR(TrieError);
            Py_CLEAR(CorruptDatabase);
            Py_CLEAR(NO_ID);
            return NULL;
        }
        keccak_detect_lanes();
        const uint8_t empty_string = 0x80;
        keccak256(&empty_string, 1, EMPTY_TRIE_ROOT);
        keccak256(&empty_string, 0, EMPTY_CODE_HASH);
    }
    if (PyType_Ready(&UpdaterType) < 0 || PyType_Ready(&AccountRowsType) < 0 || PyType_Ready(&NodeCacheType) < 0
        || PyType_Ready(&NodeBatchType) < 0 || PyType_Ready(&NodeHashesType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&trie_native_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&UpdaterType);
    if (PyModule_AddObject(module, "BatchTrieUpdater", (PyObject *)&UpdaterType) < 0) {
        Py_DECREF(&UpdaterType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "KECCAK_LANES", keccak_lanes) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    PyTypeObject *types[4] = {&AccountRowsType, &NodeCacheType, &NodeBatchType, &NodeHashesType};
    const char *names[4] = {"AccountRows", "NodeCache", "NodeBatch", "NodeHashes"};
    for (int index = 0; index < 4; index++) {
        Py_INCREF(types[index]);
        if (PyModule_AddObject(module, names[index], (PyObject *)types[index]) < 0) {
            Py_DECREF(types[index]);
            Py_DECREF(module);
            return NULL;
        }
    }
    return module;
}
