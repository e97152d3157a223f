/* The pending state's hot paths (see pending.h and layout.h). */

#include "pending.h"
#include "layout.h"

Layout layout;

static PyObject *NAME_STORAGE, *NAME_BALANCE, *NAME_NONCE, *NAME_CODE_HASH, *NAME_CODE, *NAME_ACCOUNT_RECORD;

int pending_init(void)
{
    if (NAME_STORAGE != NULL)
        return 0;
    NAME_STORAGE = PyUnicode_InternFromString("storage");
    NAME_BALANCE = PyUnicode_InternFromString("balance");
    NAME_NONCE = PyUnicode_InternFromString("nonce");
    NAME_CODE_HASH = PyUnicode_InternFromString("code_hash");
    NAME_CODE = PyUnicode_InternFromString("code");
    NAME_ACCOUNT_RECORD = PyUnicode_InternFromString("account_record");
    return NAME_STORAGE && NAME_BALANCE && NAME_NONCE && NAME_CODE_HASH && NAME_CODE && NAME_ACCOUNT_RECORD ? 0 : -1;
}

/* Attribute ``name`` of an account (new reference): its slot when the layout is bound. */
static PyObject *account_field(PyObject *account, Py_ssize_t offset, PyObject *name)
{
    if (layout.bound && PyObject_TypeCheck(account, layout.account_type)) {
        PyObject *value = SLOT(account, offset);
        if (value != NULL) {
            Py_INCREF(value);
            return value;
        }
    }
    return PyObject_GetAttr(account, name);
}

/* A new instance of ``change_type`` (a NamedTuple of 7 fields) holding ``items`` (stolen). */
static PyObject *new_change(PyTypeObject *change_type, PyObject *items[7])
{
    PyObject *change = change_type->tp_alloc(change_type, 7);
    if (change == NULL) {
        for (int index = 0; index < 7; index++)
            Py_DECREF(items[index]);
        return NULL;
    }
    for (int index = 0; index < 7; index++)
        PyTuple_SET_ITEM(change, index, items[index]);
    return change;
}

/* One account of plain_changes: 1 with ``*change`` set (or NULL: unchanged), 0 when it
 * needs the general path, -1 on error. */
static int plain_change(PyObject *address, PyObject *account, PyObject *loaded, PyObject *no_slots,
                        PyTypeObject *change_type, PyObject **change)
{
    *change = NULL;
    PyObject *base = PyDict_GetItemWithError(loaded, address);
    if (base == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 2 || PyTuple_GET_ITEM(base, 0) != account)
        return 0;
    PyObject *base_record = PyTuple_GET_ITEM(base, 1);
    if (!PyTuple_Check(base_record) || PyTuple_GET_SIZE(base_record) != 4)
        return 0;
    PyObject *storage = account_field(account, layout.account_storage, NAME_STORAGE);
    if (storage == NULL)
        return -1;
    int plain = PyDict_CheckExact(storage) && PyDict_GET_SIZE(storage) == 0;
    Py_DECREF(storage);
    if (!plain)
        return 0;
    PyObject *nonce = NULL, *balance = NULL, *code_hash = NULL, *code = NULL;
    int status = -1;
    nonce = account_field(account, layout.account_nonce, NAME_NONCE);
    balance = nonce ? account_field(account, layout.account_balance, NAME_BALANCE) : NULL;
    code_hash = balance ? account_field(account, layout.account_code_hash, NAME_CODE_HASH) : NULL;
    if (code_hash == NULL)
        goto done;
    int same = PyObject_RichCompareBool(balance, PyTuple_GET_ITEM(base_record, 1), Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(nonce, PyTuple_GET_ITEM(base_record, 0), Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(code_hash, PyTuple_GET_ITEM(base_record, 3), Py_EQ);
    if (same < 0)
        goto done;
    if (same) {
        status = 1; /* unchanged */
        goto done;
    }
    code = account_field(account, layout.account_code, NAME_CODE);
    if (code == NULL)
        goto done;
    PyObject *record = PyTuple_Pack(3, nonce, balance, code_hash);
    if (record == NULL)
        goto done;
    PyObject *items[7] = {address, record, code, Py_False, no_slots, PyTuple_GET_ITEM(base_record, 2),
                          base_record};
    for (int index = 0; index < 7; index++)
        if (index != 1 && index != 2) /* record and code: their references move into items */
            Py_INCREF(items[index]);
    code = NULL;
    *change = new_change(change_type, items);
    status = *change == NULL ? -1 : 1;
done:
    Py_XDECREF(nonce);
    Py_XDECREF(balance);
    Py_XDECREF(code_hash);
    Py_XDECREF(code);
    return status;
}

/* plain_changes(accounts, loaded, no_slots, change_type) -> (changes, others): see
 * native.python_plain_changes, its reference. */
PyObject *module_plain_changes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !PyType_Check(args[3])
        || !PyType_IsSubtype((PyTypeObject *)args[3], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "plain_changes(accounts: dict, loaded: dict, no_slots, change_type)");
        return NULL;
    }
    PyObject *accounts = args[0], *loaded = args[1], *no_slots = args[2];
    PyTypeObject *change_type = (PyTypeObject *)args[3];
    PyObject *changes = PyList_New(0), *others = PyList_New(0);
    if (changes == NULL || others == NULL)
        goto error;
    Py_ssize_t position = 0;
    PyObject *address, *account;
    while (PyDict_Next(accounts, &position, &address, &account)) {
        Py_INCREF(address);
        Py_INCREF(account);
        PyObject *change;
        int done = plain_change(address, account, loaded, no_slots, change_type, &change);
        int failed = done < 0;
        if (done > 0 && change != NULL) {
            failed = PyList_Append(changes, change) < 0;
            Py_DECREF(change);
        } else if (done == 0) {
            PyObject *pair = PyTuple_Pack(2, address, account);
            failed = pair == NULL || PyList_Append(others, pair) < 0;
            Py_XDECREF(pair);
        }
        Py_DECREF(address);
        Py_DECREF(account);
        if (failed)
            goto error;
    }
    PyObject *answer = PyTuple_Pack(2, changes, others);
    Py_DECREF(changes);
    Py_DECREF(others);
    return answer;
error:
    Py_XDECREF(changes);
    Py_XDECREF(others);
    return NULL;
}

/* Offset of the __slots__ member ``name`` of ``type`` (a writable object slot). */
static int slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descriptor = PyObject_GetAttrString((PyObject *)type, name);
    if (descriptor == NULL)
        return -1;
    int ok = Py_IS_TYPE(descriptor, &PyMemberDescr_Type);
    if (ok) {
        PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
        ok = member->type == T_OBJECT_EX && !(member->flags & READONLY);
        *offset = member->offset;
    }
    Py_DECREF(descriptor);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a writable __slots__ attribute", type->tp_name, name);
        return -1;
    }
    return 0;
}

/* Store ``value`` (borrowed) in a slot. */
static inline void set_slot(PyObject *object, Py_ssize_t offset, PyObject *value)
{
    PyObject *old = SLOT(object, offset);
    Py_INCREF(value);
    SLOT(object, offset) = value;
    Py_XDECREF(old);
}

PyObject *module_bind_layout(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"account", "snapshot", "cache", "lazy_accounts", "pending", "lazy_storage",
                               "absent", "balance_tag", "generic_set_balance", NULL};
    PyObject *types[5], *lazy_storage_type, *absent, *balance_tag, *generic_set_balance;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!OOOO:bind_layout", keywords, &PyType_Type, &types[0],
                                     &PyType_Type, &types[1], &PyType_Type, &types[2], &PyType_Type, &types[3],
                                     &PyType_Type, &types[4], &lazy_storage_type, &absent, &balance_tag,
                                     &generic_set_balance))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)types[3], &PyDict_Type)) {
        PyErr_SetString(PyExc_TypeError, "lazy_accounts must be a dict subclass");
        return NULL;
    }
    /* Which attribute's offset goes where: the type (its index in ``types``) and the name. */
    static const struct {
        int type;
        const char *name;
        Py_ssize_t *offset;
    } slots[] = {
        {0, "nonce", &layout.account_nonce},        {0, "balance", &layout.account_balance},
        {0, "code", &layout.account_code},          {0, "code_hash", &layout.account_code_hash},
        {0, "storage", &layout.account_storage},    {0, "storage_root", &layout.account_storage_root},
        {0, "address_hash", &layout.account_address_hash},
        {1, "_cache", &layout.snapshot_cache},      {1, "_generation", &layout.snapshot_generation},
        {2, "generation", &layout.cache_generation}, {2, "accounts", &layout.cache_accounts},
        {3, "_snapshot", &layout.lazy_snapshot},    {3, "absent", &layout.lazy_absent},
        {3, "loaded", &layout.lazy_loaded},
        {4, "_accounts", &layout.pending_accounts}, {4, "_journal", &layout.pending_journal},
        {4, "_owned", &layout.pending_owned},
    };
    for (size_t index = 0; index < sizeof slots / sizeof slots[0]; index++)
        if (slot_offset((PyTypeObject *)types[slots[index].type], slots[index].name, slots[index].offset) < 0)
            return NULL;
    PyObject *held[9] = {types[0], types[1], types[2], types[3], types[4], lazy_storage_type, absent,
                         balance_tag, generic_set_balance};
    for (int index = 0; index < 9; index++)
        Py_INCREF(held[index]);
    if (layout.bound) {
        Py_DECREF(layout.account_type);
        Py_DECREF(layout.snapshot_type);
        Py_DECREF(layout.cache_type);
        Py_DECREF(layout.lazy_accounts_type);
        Py_DECREF(layout.pending_type);
        Py_DECREF(layout.lazy_storage_type);
        Py_DECREF(layout.absent);
        Py_DECREF(layout.balance_tag);
        Py_DECREF(layout.generic_set_balance);
    }
    layout.account_type = (PyTypeObject *)types[0];
    layout.snapshot_type = (PyTypeObject *)types[1];
    layout.cache_type = (PyTypeObject *)types[2];
    layout.lazy_accounts_type = (PyTypeObject *)types[3];
    layout.pending_type = (PyTypeObject *)types[4];
    layout.lazy_storage_type = lazy_storage_type;
    layout.absent = absent;
    layout.balance_tag = balance_tag;
    layout.generic_set_balance = generic_set_balance;
    layout.bound = 1;
    Py_RETURN_NONE;
}

/* ``a == b`` for two cache generations (ints or None), without raising. */
static int same_generation(PyObject *a, PyObject *b)
{
    if (a == NULL || b == NULL)
        return 0;
    if (a == b)
        return 1;
    if (!PyLong_CheckExact(a) || !PyLong_CheckExact(b))
        return 0;
    int same = PyObject_RichCompareBool(a, b, Py_EQ);
    if (same < 0) {
        PyErr_Clear();
        return 0;
    }
    return same;
}

/* The read cache's record of ``address`` (a new reference) while the cache is at the
 * snapshot's generation, checked before and after the lookup; else NULL without error. */
static PyObject *cached_record(PyObject *snapshot, PyObject *address)
{
    if (!PyObject_TypeCheck(snapshot, layout.snapshot_type))
        return NULL;
    PyObject *cache = SLOT(snapshot, layout.snapshot_cache);
    PyObject *generation = SLOT(snapshot, layout.snapshot_generation);
    if (cache == NULL || !PyObject_TypeCheck(cache, layout.cache_type)
        || !same_generation(SLOT(cache, layout.cache_generation), generation))
        return NULL;
    PyObject *accounts = SLOT(cache, layout.cache_accounts);
    if (accounts == NULL || !PyDict_CheckExact(accounts))
        return NULL;
    PyObject *found = PyDict_GetItemWithError(accounts, address);
    if (found == NULL) {
        PyErr_Clear();
        return NULL;
    }
    Py_INCREF(found);
    if (!same_generation(SLOT(cache, layout.cache_generation), generation))
        Py_CLEAR(found);
    return found;
}

/* LazyAccounts._load (pending.py holds the reference): the snapshot's record of
 * ``address`` made into an Account held by ``accounts`` (a new reference), or None
 * with the address noted absent. */
static PyObject *load_account(PyObject *accounts, PyObject *address)
{
    PyObject *snapshot = SLOT(accounts, layout.lazy_snapshot);
    if (snapshot == NULL) {
        PyErr_SetString(PyExc_AttributeError, "LazyAccounts has no snapshot");
        return NULL;
    }
    Py_INCREF(snapshot);
    PyObject *record = cached_record(snapshot, address);
    PyObject *account = NULL, *code = NULL, *storage = NULL, *pair = NULL, *answer = NULL;
    if (record == NULL) {
        record = PyObject_CallMethodOneArg(snapshot, NAME_ACCOUNT_RECORD, address);
        if (record == NULL)
            goto done;
    }
    if (record == layout.absent) {
        PyObject *absent = SLOT(accounts, layout.lazy_absent);
        if (absent == NULL || !PySet_Check(absent)) {
            PyErr_SetString(PyExc_TypeError, "LazyAccounts.absent must be a set");
            goto done;
        }
        if (PySet_Add(absent, address) < 0)
            goto done;
        answer = Py_None;
        Py_INCREF(answer);
        goto done;
    }
    if (!PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 4) {
        PyErr_SetString(CorruptDatabase, "an account record must be a 4-tuple");
        goto done;
    }
    PyObject *nonce = PyTuple_GET_ITEM(record, 0), *balance = PyTuple_GET_ITEM(record, 1);
    PyObject *storage_root = PyTuple_GET_ITEM(record, 2), *code_hash = PyTuple_GET_ITEM(record, 3);
    if (is_hash_constant(code_hash, EMPTY_CODE_HASH))
        code = PyBytes_FromStringAndSize(NULL, 0);
    else
        code = PyObject_CallMethodOneArg(snapshot, NAME_CODE, code_hash);
    if (code == NULL)
        goto done;
    if (is_hash_constant(storage_root, EMPTY_TRIE_ROOT))
        storage = PyDict_New(); /* no slot to load: a plain dict (see LazyAccounts._load) */
    else
        storage = PyObject_CallFunctionObjArgs(layout.lazy_storage_type, snapshot, address, NULL);
    if (storage == NULL)
        goto done;
    account = layout.account_type->tp_alloc(layout.account_type, 0); /* object.__new__: no __init__ */
    if (account == NULL)
        goto done;
    set_slot(account, layout.account_nonce, nonce);
    set_slot(account, layout.account_balance, balance);
    set_slot(account, layout.account_code, code);
    set_slot(account, layout.account_code_hash, code_hash);
    set_slot(account, layout.account_storage, storage);
    set_slot(account, layout.account_storage_root, storage_root);
    set_slot(account, layout.account_address_hash, Py_None);
    PyObject *loaded = SLOT(accounts, layout.lazy_loaded);
    if (loaded == NULL || !PyDict_Check(loaded)) {
        PyErr_SetString(PyExc_TypeError, "LazyAccounts.loaded must be a dict");
        goto done;
    }
    pair = PyTuple_Pack(2, account, record);
    if (pair == NULL || PyDict_SetItem(loaded, address, pair) < 0 || PyDict_SetItem(accounts, address, account) < 0)
        goto done;
    answer = account;
    Py_INCREF(answer);
done:
    Py_XDECREF(pair);
    Py_XDECREF(account);
    Py_XDECREF(storage);
    Py_XDECREF(code);
    Py_XDECREF(record);
    Py_DECREF(snapshot);
    return answer;
}

/* load_account(accounts, address) -> Account or None */
PyObject *module_load_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 2 || !PyObject_TypeCheck(args[0], layout.lazy_accounts_type)) {
        PyErr_SetString(PyExc_TypeError, "load_account(accounts: LazyAccounts, address)");
        return NULL;
    }
    return load_account(args[0], args[1]);
}

/* PendingState.set_balance (pending.py holds the reference, ``_set_balance_python``):
 * a method descriptor of the class. The loaded-account case in C; everything else
 * through MemoryState.set_balance. */
static PyObject *pending_set_balance(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "set_balance() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *address = args[0], *value = args[1];
    PyObject *accounts = SLOT(self, layout.pending_accounts);
    if (SLOT(self, layout.pending_owned) == Py_None && accounts != NULL
        && Py_IS_TYPE(accounts, layout.lazy_accounts_type) && PyBytes_CheckExact(address)) {
        PyObject *account = PyDict_GetItemWithError(accounts, address); /* dict.get: no override */
        if (account != NULL) {
            Py_INCREF(account);
        } else {
            if (PyErr_Occurred())
                return NULL;
            PyObject *loaded = SLOT(accounts, layout.lazy_loaded), *absent = SLOT(accounts, layout.lazy_absent);
            if (loaded == NULL || absent == NULL || !PyDict_Check(loaded) || !PySet_Check(absent))
                goto generic;
            int known = PyDict_Contains(loaded, address);
            if (known == 0)
                known = PySet_Contains(absent, address);
            if (known < 0)
                return NULL;
            if (known)
                goto generic;
            account = load_account(accounts, address);
            if (account == NULL)
                return NULL;
            if (account == Py_None) {
                Py_DECREF(account);
                goto generic;
            }
        }
        PyObject *journal = SLOT(self, layout.pending_journal);
        if (!PyObject_TypeCheck(account, layout.account_type) || journal == NULL || !PyList_Check(journal)
            || SLOT(account, layout.account_balance) == NULL) {
            Py_DECREF(account);
            goto generic;
        }
        PyObject *entry = PyTuple_Pack(4, layout.balance_tag, account, SLOT(account, layout.account_balance), address);
        int failed = entry == NULL || PyList_Append(journal, entry) < 0;
        Py_XDECREF(entry);
        if (!failed)
            set_slot(account, layout.account_balance, value);
        Py_DECREF(account);
        if (failed)
            return NULL;
        Py_RETURN_NONE;
    }
generic:;
    PyObject *call[3] = {self, address, value};
    return PyObject_Vectorcall(layout.generic_set_balance, call, 3, NULL);
}

static PyMethodDef pending_set_balance_def = {
    "set_balance", (PyCFunction)(void (*)(void))pending_set_balance, METH_FASTCALL,
    "set_balance(address, value): as MemoryState (same journal entry); a loaded or loadable\n"
    "account is updated in C (PendingState._set_balance_python is the reference)."};

/* pending_methods() -> {"set_balance": method descriptor of the bound PendingState} */
PyObject *module_pending_methods(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (check_bound() < 0)
        return NULL;
    PyObject *methods = PyDict_New();
    PyObject *descriptor = methods ? PyDescr_NewMethod(layout.pending_type, &pending_set_balance_def) : NULL;
    if (descriptor == NULL || PyDict_SetItemString(methods, "set_balance", descriptor) < 0) {
        Py_XDECREF(descriptor);
        Py_XDECREF(methods);
        return NULL;
    }
    Py_DECREF(descriptor);
    return methods;
}
