/* Account leaves, flat records, changesets and account rows (see codec.h). */

#include "codec.h"
#include "keccak.h"
#include "layout.h"

/* Big-endian bytes of ``value`` (an int, 0 <= value < 2**(8 * width)) right-aligned
 * in ``out``; -1 with ValueError otherwise. */
static int unsigned_be(PyObject *value, uint8_t *out, size_t width, const char *name)
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_ValueError, "%s must be an int, not %.100s", name, Py_TYPE(value)->tp_name);
        return -1;
    }
    int overflow = 0;
    long long small = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (!overflow) {
        if (small == -1 && PyErr_Occurred())
            return -1;
        if (small < 0) {
            PyErr_Format(PyExc_ValueError, "%s must not be negative", name);
            return -1;
        }
        memset(out, 0, width);
        for (size_t byte = 0; byte < 8 && byte < width; byte++)
            out[width - 1 - byte] = (uint8_t)((unsigned long long)small >> (8 * byte));
        return 0;
    }
    if (overflow < 0) {
        PyErr_Format(PyExc_ValueError, "%s must not be negative", name);
        return -1;
    }
    if (_PyLong_NumBits(value) > 8 * width) {
        PyErr_Format(PyExc_ValueError, "%s does not fit in %zu bytes", name, width);
        return -1;
    }
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t written = PyLong_AsNativeBytes(value, out, (Py_ssize_t)width,
                                              Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
    if (written < 0)
        return -1;
#else
    if (_PyLong_AsByteArray((PyLongObject *)value, out, width, 0, 0) < 0)
        return -1;
#endif
    return 0;
}

/* RLP of an unsigned integer given as ``width`` big-endian bytes; returns the size. */
static size_t write_uint(uint8_t *out, const uint8_t *number, size_t width)
{
    size_t skip = 0;
    while (skip < width && number[skip] == 0)
        skip++;
    size_t length = width - skip;
    if (length == 0) {
        out[0] = 0x80;
        return 1;
    }
    if (length == 1 && number[skip] < 0x80) {
        out[0] = number[skip];
        return 1;
    }
    out[0] = (uint8_t)(0x80 + length);
    memcpy(out + 1, number + skip, length);
    return length + 1;
}

/* The RLP of an account leaf from raw fields into ``out`` (room for 110 bytes):
 * hyperion.state.account.encode_account's bytes. Returns the length. */
static Py_ssize_t write_account(uint8_t *out, const uint8_t nonce[8], const uint8_t balance[32],
                                const uint8_t *storage_root, const uint8_t *code_hash)
{
    uint8_t payload[9 + 33 + 66];
    size_t length = write_uint(payload, nonce, 8);
    length += write_uint(payload + length, balance, 32);
    payload[length] = 0xA0;
    memcpy(payload + length + 1, storage_root, 32);
    payload[length + 33] = 0xA0;
    memcpy(payload + length + 34, code_hash, 32);
    length += 66;
    size_t header = length < 56 ? 1 : 2;
    if (header == 1) {
        out[0] = (uint8_t)(0xC0 + length);
    } else {
        out[0] = 0xF8;
        out[1] = (uint8_t)length;
    }
    memcpy(out + header, payload, length);
    return (Py_ssize_t)(header + length);
}

/* Slim flat record of an account leaf without storage or code (codec.flat_record:
 * both hashes as empty strings; the leaf's header is 2 bytes) into ``out``; returns
 * its length. */
static Py_ssize_t write_slim(uint8_t *out, const uint8_t *leaf, Py_ssize_t leaf_length)
{
    Py_ssize_t body = leaf_length - 2 - 66;
    out[0] = (uint8_t)(0xC0 + body + 2);
    memcpy(out + 1, leaf + 2, (size_t)body);
    out[body + 1] = 0x80;
    out[body + 2] = 0x80;
    return body + 3;
}

/* rlp([nonce, balance, storage_root, code_hash]) from four arguments; NULL with
 * ValueError outside the compiled range. */
static PyObject *encode_account_args(PyObject *const *args)
{
    uint8_t nonce[8], balance[32];
    if (unsigned_be(args[0], nonce, sizeof nonce, "nonce") < 0
        || unsigned_be(args[1], balance, sizeof balance, "balance") < 0)
        return NULL;
    for (int index = 2; index < 4; index++) {
        if (!PyBytes_Check(args[index]) || PyBytes_GET_SIZE(args[index]) != 32) {
            PyErr_SetString(PyExc_ValueError, "storage root and code hash must be 32-byte bytes");
            return NULL;
        }
    }
    uint8_t out[110];
    Py_ssize_t length = write_account(out, nonce, balance, bytes_data(args[2]), bytes_data(args[3]));
    return PyBytes_FromStringAndSize((const char *)out, length);
}

PyObject *module_encode_account(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "encode_account() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    return encode_account_args(args);
}

/* Slim flat record of an account leaf: both hashes as empty strings. The leaf's payload
 * is >= 68 bytes, so its header is 2 bytes (0xF8, length). */
static PyObject *slim_record(PyObject *leaf)
{
    uint8_t out[110];
    Py_ssize_t length = write_slim(out, bytes_data(leaf), PyBytes_GET_SIZE(leaf));
    return PyBytes_FromStringAndSize((const char *)out, length);
}

/* A growable byte buffer for the changeset. */
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
} Buffer;

static int buffer_reserve(Buffer *buffer, size_t more)
{
    if (buffer->size + more <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->size + more)
        capacity *= 2;
    uint8_t *data = (uint8_t *)warm_grow(buffer->data, &buffer->capacity, buffer->size, capacity);
    if (data == NULL)
        return -1;
    buffer->data = data;
    return 0;
}

static void buffer_free(Buffer *buffer)
{
    warm_give(buffer->data, buffer->capacity);
    buffer->data = NULL;
    buffer->size = buffer->capacity = 0;
}

/* Encode the 4-tuple ``base`` (nonce, balance, storage_root, code_hash); NULL with
 * ValueError when out of range or not such a tuple. */
static PyObject *encode_base(PyObject *base)
{
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 4) {
        PyErr_SetString(PyExc_ValueError, "base record must be a 4-tuple");
        return NULL;
    }
    return encode_account_args(&PyTuple_GET_ITEM(base, 0));
}

/* One plain change (a balance, nonce or code change without storage work): appends its
 * rows; returns 1 when done, 0 when the change must take the general path, -1 on error. */
static int account_row(PyObject *change, PyObject *storage_id_of, PyObject *leaves, PyObject *puts,
                       PyObject *code_puts, PyObject *cached, Buffer *changeset)
{
    PyObject *address = PyTuple_GET_ITEM(change, 0), *record = PyTuple_GET_ITEM(change, 1);
    PyObject *code = PyTuple_GET_ITEM(change, 2), *wiped = PyTuple_GET_ITEM(change, 3);
    PyObject *slots = PyTuple_GET_ITEM(change, 4), *storage_root = PyTuple_GET_ITEM(change, 5);
    PyObject *base = PyTuple_GET_ITEM(change, 6);
    if (record == Py_None || !PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 3
        || !PyBytes_Check(address) || PyBytes_GET_SIZE(address) != 20)
        return 0;
    int flag = PyObject_IsTrue(wiped);
    if (flag != 0)
        return flag < 0 ? -1 : 0;
    flag = PyObject_IsTrue(slots);
    if (flag != 0)
        return flag < 0 ? -1 : 0;
    PyObject *nonce = PyTuple_GET_ITEM(record, 0), *balance = PyTuple_GET_ITEM(record, 1);
    PyObject *code_hash = PyTuple_GET_ITEM(record, 2);
    PyObject *fields[4] = {nonce, balance, storage_root, code_hash};
    PyObject *leaf = NULL, *old = NULL, *storage_id = NULL, *key = NULL, *flat = NULL, *row = NULL;
    int status = -1;
    leaf = encode_account_args(fields);
    if (leaf != NULL)
        old = base == Py_None ? PyBytes_FromStringAndSize(NULL, 0) : encode_base(base);
    if (leaf == NULL || old == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ValueError)) { /* outside the compiled range */
            PyErr_Clear();
            status = 0;
        }
        goto done;
    }
    if (memcmp(PyBytes_AS_STRING(storage_root), EMPTY_TRIE_ROOT, 32) == 0) {
        storage_id = NO_ID;
        Py_INCREF(storage_id);
    } else {
        storage_id = PyObject_CallOneArg(storage_id_of, address);
        if (storage_id == NULL)
            goto done;
        if (!PyBytes_Check(storage_id) || (PyBytes_GET_SIZE(storage_id) != 0 && PyBytes_GET_SIZE(storage_id) != 8)) {
            PyErr_SetString(CorruptDatabase, "a storage root id must be 8 bytes");
            goto done;
        }
    }
    uint8_t hash[32];
    keccak256(bytes_data(address), 20, hash);
    key = PyBytes_FromStringAndSize((const char *)hash, 32);
    if (key == NULL)
        goto done;
    int is_empty_code = memcmp(PyBytes_AS_STRING(code_hash), EMPTY_CODE_HASH, 32) == 0;
    if (is_empty_code && memcmp(PyBytes_AS_STRING(storage_root), EMPTY_TRIE_ROOT, 32) == 0) {
        flat = slim_record(leaf);
        if (flat == NULL)
            goto done;
    } else {
        flat = leaf;
        Py_INCREF(flat);
    }
    row = PyTuple_Pack(4, key, leaf, old, storage_id);
    if (row == NULL || PyList_Append(leaves, row) < 0)
        goto done;
    Py_SETREF(row, PyTuple_Pack(2, address, flat));
    if (row == NULL || PyList_Append(puts, row) < 0)
        goto done;
    if (!is_empty_code) {
        Py_SETREF(row, PyTuple_Pack(2, code_hash, code));
        if (row == NULL || PyList_Append(code_puts, row) < 0)
            goto done;
    }
    Py_SETREF(row, PyTuple_Pack(4, nonce, balance, storage_root, code_hash));
    if (row == NULL || PyDict_SetItem(cached, address, row) < 0)
        goto done;
    /* Changeset entry (codec.CHANGESET_ENTRY ">20s8sHI"): address, old storage root id
     * (zeros for none), old record length, slot count 0; then the old flat record (slim
     * for an account that had no storage and no code, as the accounts table holds it). */
    Py_ssize_t old_length = PyBytes_GET_SIZE(old);
    int slim_old = base != Py_None && old_length >= 2 + 66
                   && memcmp(PyBytes_AS_STRING(old) + old_length - 65, EMPTY_TRIE_ROOT, 32) == 0
                   && memcmp(PyBytes_AS_STRING(old) + old_length - 32, EMPTY_CODE_HASH, 32) == 0;
    Py_ssize_t record_length = slim_old ? old_length - 2 - 66 + 3 : old_length;
    if (buffer_reserve(changeset, 34 + (size_t)record_length) < 0)
        goto done;
    uint8_t *out = changeset->data + changeset->size;
    memcpy(out, bytes_data(address), 20);
    if (PyBytes_GET_SIZE(storage_id) == 8)
        memcpy(out + 20, bytes_data(storage_id), 8);
    else
        memset(out + 20, 0, 8);
    out[28] = (uint8_t)(record_length >> 8);
    out[29] = (uint8_t)record_length;
    memset(out + 30, 0, 4);
    if (slim_old) {
        write_slim(out + 34, bytes_data(old), old_length);
    } else {
        memcpy(out + 34, bytes_data(old), (size_t)old_length);
    }
    changeset->size += 34 + (size_t)record_length;
    status = 1;
done:
    Py_XDECREF(row);
    Py_XDECREF(flat);
    Py_XDECREF(key);
    Py_XDECREF(storage_id);
    Py_XDECREF(old);
    Py_XDECREF(leaf);
    return status;
}

/* account_rows(changes, storage_id_of, leaves, account_puts, code_puts, cached) ->
 * (changeset bytes, rest): the commit loop's common case in one call (see
 * native.python_account_rows, its reference). */
PyObject *module_account_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "account_rows() takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *changes = args[0], *storage_id_of = args[1], *leaves = args[2], *puts = args[3];
    PyObject *code_puts = args[4], *cached = args[5];
    if (!PyList_Check(changes) || !PyList_Check(leaves) || !PyList_Check(puts) || !PyList_Check(code_puts)
        || !PyDict_Check(cached)) {
        PyErr_SetString(PyExc_TypeError, "account_rows() takes lists (changes, leaves, puts, code puts) and a dict");
        return NULL;
    }
    PyObject *rest = PyList_New(0);
    if (rest == NULL)
        return NULL;
    Buffer changeset = {NULL, 0, 0};
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(changes); index++) {
        PyObject *change = PyList_GET_ITEM(changes, index);
        int done = 0;
        if (PyTuple_Check(change) && PyTuple_GET_SIZE(change) == 7) {
            Py_INCREF(change);
            done = account_row(change, storage_id_of, leaves, puts, code_puts, cached, &changeset);
            Py_DECREF(change);
        }
        if (done < 0 || (done == 0 && PyList_Append(rest, change) < 0)) {
            buffer_free(&changeset);
            Py_DECREF(rest);
            return NULL;
        }
    }
    PyObject *packed = PyBytes_FromStringAndSize((const char *)changeset.data, (Py_ssize_t)changeset.size);
    buffer_free(&changeset);
    if (packed == NULL) {
        Py_DECREF(rest);
        return NULL;
    }
    PyObject *answer = PyTuple_Pack(2, packed, rest);
    Py_DECREF(packed);
    Py_DECREF(rest);
    return answer;
}

/* Order of tuples whose first items are bytes, by those bytes (qsort over a list's
 * items: no Python comparison calls). */
static int compare_rows(const void *left, const void *right)
{
    PyObject *a = PyTuple_GET_ITEM(*(PyObject *const *)left, 0);
    PyObject *b = PyTuple_GET_ITEM(*(PyObject *const *)right, 0);
    Py_ssize_t a_size = PyBytes_GET_SIZE(a), b_size = PyBytes_GET_SIZE(b);
    int order = memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), (size_t)(a_size < b_size ? a_size : b_size));
    if (order)
        return order;
    return (a_size > b_size) - (a_size < b_size);
}

/* AccountRows */

static Row *rows_append(AccountRows *self)
{
    if (self->count == self->capacity) {
        size_t bytes = sizeof(Row) * (size_t)self->capacity;
        Row *grown = (Row *)warm_grow(self->rows, &bytes, sizeof(Row) * (size_t)self->count,
                                      sizeof(Row) * (size_t)(self->capacity ? 2 * self->capacity : 1024));
        if (grown == NULL)
            return NULL;
        self->rows = grown;
        self->capacity = (Py_ssize_t)(bytes / sizeof(Row));
    }
    Row *row = &self->rows[self->count];
    row->order = self->count++;
    return row;
}

/* A copy of ``length`` bytes in the rows' arena (NULL with MemoryError). */
static const uint8_t *rows_copy(AccountRows *self, const void *data, Py_ssize_t length)
{
    uint8_t *copy = (uint8_t *)arena_alloc(&self->arena, (size_t)length + 1);
    if (copy != NULL && length)
        memcpy(copy, data, (size_t)length);
    return copy;
}

static int compare_row_pointers(const void *left, const void *right)
{
    const Row *a = *(const Row *const *)left, *b = *(const Row *const *)right;
    Py_ssize_t shorter = a->key_length < b->key_length ? a->key_length : b->key_length;
    int order = shorter ? memcmp(a->key, b->key, (size_t)shorter) : 0;
    if (order)
        return order;
    if (a->key_length != b->key_length)
        return a->key_length < b->key_length ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* (``truncate`` keeps meaning "the first n added" because sorting leaves the rows in place.) */
Row **rows_sorted(AccountRows *self, size_t *bytes)
{
    Row **order = (Row **)warm_take(sizeof(Row *) * (size_t)(self->count ? self->count : 1), bytes);
    if (order == NULL)
        return NULL;
    for (Py_ssize_t index = 0; index < self->count; index++)
        order[index] = &self->rows[index];
    if (self->count > 1)
        qsort(order, (size_t)self->count, sizeof(Row *), compare_row_pointers);
    return order;
}

static void rows_dealloc(AccountRows *self)
{
    warm_give(self->rows, sizeof(Row) * (size_t)self->capacity);
    arena_free(&self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t rows_length(AccountRows *self)
{
    return self->count;
}

/* extend(leaves): rows from (key, new leaf, previous leaf, storage id) tuples of bytes. */
static PyObject *rows_extend(AccountRows *self, PyObject *leaves)
{
    PyObject *sequence = PySequence_Fast(leaves, "extend() takes a sequence of 4-tuples");
    if (sequence == NULL)
        return NULL;
    for (Py_ssize_t index = 0; index < PySequence_Fast_GET_SIZE(sequence); index++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, index);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
            PyErr_SetString(PyExc_TypeError, "each row must be a (key, leaf, previous, storage id) tuple");
            goto fail;
        }
        for (int field = 0; field < 4; field++) {
            if (!PyBytes_Check(PyTuple_GET_ITEM(item, field))) {
                PyErr_SetString(PyExc_TypeError, "row fields must be bytes");
                goto fail;
            }
        }
        Row *row = rows_append(self);
        if (row == NULL)
            goto fail;
        PyObject *fields[4] = {PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1), PyTuple_GET_ITEM(item, 2),
                               PyTuple_GET_ITEM(item, 3)};
        const uint8_t **targets[4] = {&row->key, &row->leaf, &row->old, &row->id};
        Py_ssize_t *lengths[4] = {&row->key_length, &row->leaf_length, &row->old_length, &row->id_length};
        for (int field = 0; field < 4; field++) {
            *lengths[field] = PyBytes_GET_SIZE(fields[field]);
            *targets[field] = rows_copy(self, PyBytes_AS_STRING(fields[field]), *lengths[field]);
            if (*targets[field] == NULL) {
                self->count--;
                goto fail;
            }
        }
    }
    Py_DECREF(sequence);
    Py_RETURN_NONE;
fail:
    Py_DECREF(sequence);
    return NULL;
}

/* columns() -> (keys, leaves, previous leaves, storage ids), sorted by key. */
static PyObject *rows_columns(AccountRows *self, PyObject *unused)
{
    (void)unused;
    size_t order_bytes;
    Row **order = rows_sorted(self, &order_bytes);
    if (order == NULL)
        return NULL;
    PyObject *columns[4] = {NULL, NULL, NULL, NULL};
    PyObject *answer = NULL;
    for (int column = 0; column < 4; column++)
        if ((columns[column] = PyTuple_New(self->count)) == NULL)
            goto done;
    for (Py_ssize_t index = 0; index < self->count; index++) {
        Row *row = order[index];
        const uint8_t *data[4] = {row->key, row->leaf, row->old, row->id};
        Py_ssize_t lengths[4] = {row->key_length, row->leaf_length, row->old_length, row->id_length};
        for (int column = 0; column < 4; column++) {
            PyObject *item = PyBytes_FromStringAndSize((const char *)data[column], lengths[column]);
            if (item == NULL)
                goto done;
            PyTuple_SET_ITEM(columns[column], index, item);
        }
    }
    answer = PyTuple_Pack(4, columns[0], columns[1], columns[2], columns[3]);
done:
    for (int column = 0; column < 4; column++)
        Py_XDECREF(columns[column]);
    warm_give(order, order_bytes);
    return answer;
}

/* truncate(length): keep the first ``length`` rows added. */
static PyObject *rows_truncate(AccountRows *self, PyObject *argument)
{
    Py_ssize_t length = PyLong_AsSsize_t(argument);
    if (length == -1 && PyErr_Occurred())
        return NULL;
    if (length < 0 || length > self->count) {
        PyErr_Format(PyExc_ValueError, "cannot truncate %zd rows to %zd", self->count, length);
        return NULL;
    }
    self->count = length;
    Py_RETURN_NONE;
}

static PyMethodDef rows_methods[] = {
    {"truncate", (PyCFunction)rows_truncate, METH_O, "truncate(length): keep the first length rows added."},
    {"extend", (PyCFunction)rows_extend, METH_O,
     "extend(leaves): add (key, new leaf, previous leaf, storage id) rows (bytes)."},
    {"columns", (PyCFunction)rows_columns, METH_NOARGS,
     "columns() -> (keys, leaves, previous leaves, storage ids), sorted by key."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods rows_as_sequence = {
    .sq_length = (lenfunc)rows_length,
};

PyTypeObject AccountRowsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.AccountRows",
    .tp_basicsize = sizeof(AccountRows),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "AccountRows()\n\n"
              "A block's account-trie changes as C data (native.PythonAccountRows is the reference):\n"
              "filled by plain_rows() and extend(), merged by BatchTrieUpdater.update_rows().",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)rows_dealloc,
    .tp_methods = rows_methods,
    .tp_as_sequence = &rows_as_sequence,
};

/* An exact int in [0, 2**(8 * width)) as big-endian bytes: 1, or 0 when it is not. */
static int exact_uint(PyObject *value, uint8_t *out, size_t width)
{
    if (!PyLong_CheckExact(value))
        return 0;
    if (unsigned_be(value, out, width, "value") < 0) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* One account of plain_rows: 1 when done (or unchanged), 0 when it takes the general
 * path, -1 on error. */
/* Hash jobs collected by a pass, run at its end (growing a warm buffer). */
typedef struct {
    HashJob *jobs;
    size_t count, size; /* size in bytes */
} HashJobs;

static int add_hash_job(HashJobs *jobs, const uint8_t *data, size_t length, uint8_t *out)
{
    if ((jobs->count + 1) * sizeof(HashJob) > jobs->size) {
        size_t wanted = jobs->size ? 2 * jobs->size : 1024 * sizeof(HashJob);
        HashJob *grown = (HashJob *)warm_grow(jobs->jobs, &jobs->size, jobs->count * sizeof(HashJob), wanted);
        if (grown == NULL)
            return -1;
        jobs->jobs = grown;
    }
    jobs->jobs[jobs->count].data = data;
    jobs->jobs[jobs->count].length = length;
    jobs->jobs[jobs->count].out = out;
    jobs->count++;
    return 0;
}

static int plain_row(PyObject *address, PyObject *account, PyObject *loaded, AccountRows *rows,
                     PyObject *account_puts, PyObject *code_puts, PyObject *cached, Buffer *changeset,
                     HashJobs *address_hashes)
{
    if (!PyBytes_CheckExact(address) || PyBytes_GET_SIZE(address) != 20
        || !PyObject_TypeCheck(account, layout.account_type))
        return 0;
    PyObject *base = PyDict_GetItemWithError(loaded, address);
    if (base == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(base) || PyTuple_GET_SIZE(base) != 2 || PyTuple_GET_ITEM(base, 0) != account)
        return 0;
    PyObject *record = PyTuple_GET_ITEM(base, 1);
    if (!PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 4)
        return 0;
    PyObject *storage = SLOT(account, layout.account_storage);
    PyObject *nonce = SLOT(account, layout.account_nonce), *balance = SLOT(account, layout.account_balance);
    PyObject *code_hash = SLOT(account, layout.account_code_hash), *code = SLOT(account, layout.account_code);
    PyObject *base_nonce = PyTuple_GET_ITEM(record, 0), *base_balance = PyTuple_GET_ITEM(record, 1);
    PyObject *base_root = PyTuple_GET_ITEM(record, 2), *base_code_hash = PyTuple_GET_ITEM(record, 3);
    if (storage == NULL || nonce == NULL || balance == NULL || code_hash == NULL || code == NULL
        || !PyDict_CheckExact(storage) || PyDict_GET_SIZE(storage) != 0 || !is_hash_constant(base_root, EMPTY_TRIE_ROOT)
        || !PyBytes_CheckExact(code_hash) || PyBytes_GET_SIZE(code_hash) != 32
        || !PyBytes_CheckExact(base_code_hash) || PyBytes_GET_SIZE(base_code_hash) != 32)
        return 0;
    int same = PyObject_RichCompareBool(balance, base_balance, Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(nonce, base_nonce, Py_EQ);
    if (same > 0)
        same = PyObject_RichCompareBool(code_hash, base_code_hash, Py_EQ);
    if (same != 0)
        return same < 0 ? -1 : 1; /* unchanged: nothing to write */
    uint8_t nonce_bytes[8], balance_bytes[32], base_nonce_bytes[8], base_balance_bytes[32];
    if (!exact_uint(nonce, nonce_bytes, 8) || !exact_uint(balance, balance_bytes, 32)
        || !exact_uint(base_nonce, base_nonce_bytes, 8) || !exact_uint(base_balance, base_balance_bytes, 32))
        return 0; /* outside the compiled encoder's range */
    const uint8_t *code_hash_bytes = bytes_data(code_hash);
    uint8_t leaf[110], old[110], flat[110], old_flat[110];
    Py_ssize_t leaf_length = write_account(leaf, nonce_bytes, balance_bytes, EMPTY_TRIE_ROOT, code_hash_bytes);
    Py_ssize_t old_length = write_account(old, base_nonce_bytes, base_balance_bytes, EMPTY_TRIE_ROOT,
                                          bytes_data(base_code_hash));
    int has_code = memcmp(code_hash_bytes, EMPTY_CODE_HASH, 32) != 0;
    int had_code = memcmp(bytes_data(base_code_hash), EMPTY_CODE_HASH, 32) != 0;
    Py_ssize_t flat_length = has_code ? leaf_length : write_slim(flat, leaf, leaf_length);
    Py_ssize_t old_flat_length = had_code ? old_length : write_slim(old_flat, old, old_length);
    if (buffer_reserve(changeset, 34 + (size_t)old_flat_length) < 0)
        return -1;
    Row *row = rows_append(rows);
    if (row == NULL)
        return -1;
    uint8_t *key = (uint8_t *)arena_alloc(&rows->arena, 32);
    row->leaf = rows_copy(rows, leaf, leaf_length);
    row->old = rows_copy(rows, old, old_length);
    row->id = rows_copy(rows, "", 0);
    if (key == NULL || row->leaf == NULL || row->old == NULL || row->id == NULL) {
        rows->count--;
        return -1;
    }
    /* keccak(address) for all rows at once at the end of the pass (the accounts dict
     * keeps the address alive until then). */
    if (add_hash_job(address_hashes, bytes_data(address), 20, key) < 0) {
        rows->count--;
        return -1;
    }
    row->key = key;
    row->key_length = 32;
    row->leaf_length = leaf_length;
    row->old_length = old_length;
    row->id_length = 0;
    PyObject *flat_object = PyBytes_FromStringAndSize(has_code ? (const char *)leaf : (const char *)flat, flat_length);
    PyObject *put = flat_object ? PyTuple_Pack(2, address, flat_object) : NULL;
    int failed = put == NULL || PyList_Append(account_puts, put) < 0;
    Py_XDECREF(put);
    Py_XDECREF(flat_object);
    if (!failed && has_code) {
        put = PyTuple_Pack(2, code_hash, code);
        failed = put == NULL || PyList_Append(code_puts, put) < 0;
        Py_XDECREF(put);
    }
    if (!failed) {
        put = PyTuple_Pack(4, nonce, balance, base_root, code_hash);
        failed = put == NULL || PyDict_SetItem(cached, address, put) < 0;
        Py_XDECREF(put);
    }
    if (failed)
        return -1;
    /* Changeset entry: address, zero storage id, old flat record length, no slots; the
     * old flat record (slim when the account had no code). */
    uint8_t *out = changeset->data + changeset->size;
    memcpy(out, bytes_data(address), 20);
    memset(out + 20, 0, 8);
    out[28] = (uint8_t)(old_flat_length >> 8);
    out[29] = (uint8_t)old_flat_length;
    memset(out + 30, 0, 4);
    memcpy(out + 34, had_code ? old : old_flat, (size_t)old_flat_length);
    changeset->size += 34 + (size_t)old_flat_length;
    return 1;
}

/* plain_rows(accounts, loaded, rows, account_puts, code_puts, cached) -> (changeset, others):
 * see native.python_plain_rows, its reference. */
PyObject *module_plain_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (check_bound() < 0)
        return NULL;
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyDict_Check(args[1]) || !Py_IS_TYPE(args[2], &AccountRowsType)
        || !PyList_Check(args[3]) || !PyList_Check(args[4]) || !PyDict_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_rows(accounts: dict, loaded: dict, rows: AccountRows, account_puts: list, "
                        "code_puts: list, cached: dict)");
        return NULL;
    }
    PyObject *accounts = args[0], *loaded = args[1];
    AccountRows *rows = (AccountRows *)args[2];
    PyObject *others = PyList_New(0);
    if (others == NULL)
        return NULL;
    Buffer changeset = {NULL, 0, 0};
    HashJobs address_hashes = {NULL, 0, 0};
    Py_ssize_t position = 0;
    PyObject *address, *account;
    while (PyDict_Next(accounts, &position, &address, &account)) {
        Py_INCREF(address);
        Py_INCREF(account);
        int done = plain_row(address, account, loaded, rows, args[3], args[4], args[5], &changeset, &address_hashes);
        int failed = done < 0;
        if (done == 0) {
            PyObject *pair = PyTuple_Pack(2, address, account);
            failed = pair == NULL || PyList_Append(others, pair) < 0;
            Py_XDECREF(pair);
        }
        Py_DECREF(address);
        Py_DECREF(account);
        if (failed) {
            buffer_free(&changeset);
            warm_give(address_hashes.jobs, address_hashes.size);
            Py_DECREF(others);
            return NULL;
        }
    }
    int hashed = keccak256_jobs(address_hashes.jobs, address_hashes.count, keccak_lanes);
    warm_give(address_hashes.jobs, address_hashes.size);
    if (hashed < 0) {
        buffer_free(&changeset);
        Py_DECREF(others);
        return NULL;
    }
    PyObject *packed = PyBytes_FromStringAndSize((const char *)changeset.data, (Py_ssize_t)changeset.size);
    buffer_free(&changeset);
    PyObject *answer = packed ? PyTuple_Pack(2, packed, others) : NULL;
    Py_XDECREF(packed);
    Py_DECREF(others);
    return answer;
}

/* add_versions(versions, block, writes): native.python_add_versions in one call. */
PyObject *module_add_versions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "add_versions(versions: dict, block, writes: list)");
        return NULL;
    }
    PyObject *versions = args[0], *block = args[1], *writes = args[2];
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(writes); index++) {
        PyObject *write = PyList_GET_ITEM(writes, index);
        if (!PyTuple_Check(write) || PyTuple_GET_SIZE(write) != 2) {
            PyErr_SetString(PyExc_TypeError, "each write must be an (address, flat record) pair");
            return NULL;
        }
        PyObject *address = PyTuple_GET_ITEM(write, 0);
        PyObject *previous = PyDict_GetItemWithError(versions, address);
        if (previous == NULL && PyErr_Occurred())
            return NULL;
        PyObject *entry = PyTuple_Pack(3, block, PyTuple_GET_ITEM(write, 1), previous ? previous : Py_None);
        if (entry == NULL)
            return NULL;
        int status = PyDict_SetItem(versions, address, entry);
        Py_DECREF(entry);
        if (status < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* presized_dict(n) -> an empty dict with room for n entries without resizing */
PyObject *module_presized_dict(PyObject *module, PyObject *argument)
{
    (void)module;
    Py_ssize_t size = PyLong_AsSsize_t(argument);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "size must be >= 0");
        return NULL;
    }
    return _PyDict_NewPresized(size);
}

/* flush_rows(versions) -> (puts, deletes): native.python_flush_rows in one call. */
PyObject *module_flush_rows(PyObject *module, PyObject *versions)
{
    (void)module;
    if (!PyDict_CheckExact(versions)) {
        PyErr_SetString(PyExc_TypeError, "flush_rows(versions: dict)");
        return NULL;
    }
    PyObject *puts = PyList_New(0), *deletes = PyList_New(0);
    if (puts == NULL || deletes == NULL)
        goto error;
    Py_ssize_t position = 0;
    PyObject *address, *entry;
    while (PyDict_Next(versions, &position, &address, &entry)) {
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3 || !PyBytes_Check(address)) {
            PyErr_SetString(PyExc_TypeError, "overlay versions must map bytes to (block, flat, previous)");
            goto error;
        }
        PyObject *flat = PyTuple_GET_ITEM(entry, 1);
        if (flat == Py_None) {
            if (PyList_Append(deletes, address) < 0)
                goto error;
            continue;
        }
        PyObject *pair = PyTuple_Pack(2, address, flat);
        if (pair == NULL)
            goto error;
        PyObject_GC_UnTrack(pair);
        int status = PyList_Append(puts, pair);
        Py_DECREF(pair);
        if (status < 0)
            goto error;
    }
    /* compare_rows reads item 0 of each tuple; nothing here can run Python code. */
    qsort(((PyListObject *)puts)->ob_item, (size_t)PyList_GET_SIZE(puts), sizeof(PyObject *), compare_rows);
    if (PyList_Sort(deletes) < 0)
        goto error;
    PyObject *answer = PyTuple_Pack(2, puts, deletes);
    Py_DECREF(puts);
    Py_DECREF(deletes);
    return answer;
error:
    Py_XDECREF(puts);
    Py_XDECREF(deletes);
    return NULL;
}
