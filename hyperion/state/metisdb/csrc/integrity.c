/* Verifying stored tries: ``verify_tries`` and NodeHashes (see integrity.h). */

#include "integrity.h"
#include "keccak.h"
#include "rlp.h"

#define HASHES_INITIAL_CAPACITY 4096

/* NodeHashes: the nodes a verification has reached, id -> the hash checked against
 * its parent's reference. Tries of successive blocks share most of their nodes, so
 * a node met again is compared by its recorded hash: every node is read and hashed
 * once, however many retained roots reach it. */
typedef struct {
    IdSlot key; /* key.id: the node id */
    uint8_t hash[32];
} HashSlot;

static PyObject *node_hashes_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    NodeHashes *self = (NodeHashes *)new_without_arguments(type, args, kwargs);
    if (self != NULL)
        id_table_init(&self->table, sizeof(HashSlot), HASHES_INITIAL_CAPACITY);
    return (PyObject *)self;
}

static void node_hashes_dealloc(NodeHashes *self)
{
    id_table_free(&self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_hashes_length(NodeHashes *self)
{
    return (Py_ssize_t)self->table.count;
}

static int node_hashes_contains(NodeHashes *self, PyObject *key)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0)
        return 0;
    return id_table_find(&self->table, id) != NULL;
}

static PyObject *node_hashes_iter(NodeHashes *self)
{
    PyObject *ids = PyList_New(0);
    if (ids == NULL)
        return NULL;
    for (size_t index = 0; index < self->table.capacity; index++) {
        IdSlot *slot = id_table_at(&self->table, index);
        if (!slot->used)
            continue;
        PyObject *id = id_bytes(slot->id);
        if (id == NULL || PyList_Append(ids, id) < 0) {
            Py_XDECREF(id);
            Py_DECREF(ids);
            return NULL;
        }
        Py_DECREF(id);
    }
    PyObject *iterator = PyObject_GetIter(ids);
    Py_DECREF(ids);
    return iterator;
}

static PySequenceMethods node_hashes_as_sequence = {
    .sq_length = (lenfunc)node_hashes_length,
    .sq_contains = (objobjproc)node_hashes_contains,
};

PyTypeObject NodeHashesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeHashes",
    .tp_basicsize = sizeof(NodeHashes),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeHashes()\n\nIds of the nodes verify_tries reached (in, len, iteration), each with its checked hash.",
    .tp_new = node_hashes_new,
    .tp_dealloc = (destructor)node_hashes_dealloc,
    .tp_iter = (getiterfunc)node_hashes_iter,
    .tp_as_sequence = &node_hashes_as_sequence,
};

/* What a stored record says about its children. */
typedef struct {
    int kind; /* 'B', 'E', 'L' */
    int hashed;
    const uint8_t *refs[16];  /* the 32 hash bytes of each hashed child reference */
    const uint8_t *ids[16];   /* its id (NULL: the record names none) */
    const uint8_t *value;     /* 'L': the leaf value */
    Py_ssize_t value_length;
    const uint8_t *value_id;  /* 'L': the storage root id of an account leaf, or NULL */
    Py_ssize_t rlp_length;
} RecordScan;

/* Scan a record (rlp + child ids + count) as nodelog.Node reads it; -1 when malformed. */
static int scan_record(const uint8_t *data, Py_ssize_t size, RecordScan *scan)
{
    if (size == 0)
        return -1;
    int count = data[size - 1];
    Py_ssize_t cut = size - 1 - ID_SIZE * (Py_ssize_t)count;
    if (count > 16 || cut < 1)
        return -1;
    const uint8_t *ids = data + cut;
    Bounds outer;
    if (item_bounds(data, cut, 0, &outer) < 0 || !outer.is_list || outer.end != cut)
        return -1;
    Py_ssize_t starts[17], ends[17];
    int items = 0;
    Py_ssize_t position = outer.start;
    while (position < outer.end) {
        Bounds item;
        if (item_bounds(data, cut, position, &item) < 0 || item.end > outer.end || items == 17)
            return -1;
        starts[items] = position;
        ends[items] = item.end;
        items++;
        position = item.end;
    }
    int next_id = 0;
    scan->hashed = 0;
    scan->rlp_length = cut;
    scan->value = NULL;
    scan->value_length = 0;
    scan->value_id = NULL;
    if (items == 17) {
        scan->kind = 'B';
        for (int index = 0; index < 16; index++) {
            if (is_hash_reference(data + starts[index], ends[index] - starts[index])) {
                scan->refs[scan->hashed] = data + starts[index] + 1;
                scan->ids[scan->hashed] = next_id < count ? ids + ID_SIZE * next_id++ : NULL;
                scan->hashed++;
            }
        }
        return 0;
    }
    if (items != 2)
        return -1;
    Bounds path;
    if (item_bounds(data, cut, starts[0], &path) < 0 || path.is_list || path.end != ends[0] || path.start >= path.end)
        return -1;
    int flag = data[path.start] >> 4;
    if (flag > 3)
        return -1;
    if (flag & 2) {
        Bounds value;
        if (item_bounds(data, cut, starts[1], &value) < 0 || value.is_list || value.end != ends[1])
            return -1;
        scan->kind = 'L';
        scan->value = data + value.start;
        scan->value_length = value.end - value.start;
        scan->value_id = count >= 1 ? ids : NULL;
        return 0;
    }
    scan->kind = 'E';
    if (is_hash_reference(data + starts[1], ends[1] - starts[1])) {
        scan->refs[0] = data + starts[1] + 1;
        scan->ids[0] = count >= 1 ? ids : NULL;
        scan->hashed = 1;
    }
    return 0;
}

/* The storage root (32 bytes) in an account leaf value rlp([nonce, balance, root, code]). */
static const uint8_t *account_storage_root(const uint8_t *value, Py_ssize_t length)
{
    Bounds outer;
    if (item_bounds(value, length, 0, &outer) < 0 || !outer.is_list || outer.end != length)
        return NULL;
    Py_ssize_t position = outer.start;
    for (int index = 0; index < 4; index++) {
        Bounds item;
        if (position >= length || item_bounds(value, length, position, &item) < 0 || item.is_list
            || item.end > length)
            return NULL;
        if (index == 2)
            return item.end - item.start == 32 ? value + item.start : NULL;
        position = item.end;
    }
    return NULL;
}

typedef struct {
    uint64_t id;
    PyObject *record; /* a held bytes object */
    int account;      /* in the account trie (its leaves name storage roots) */
} WalkEntry;

/* Fetch, hash and check node ``id`` against ``expected`` (32 bytes); on success it is
 * recorded in ``hashes`` and pushed for its children. 0 ok, 1 missing, 2 bad, -1 error. */
static int verify_node(PyObject *fetch, NodeHashes *hashes, const uint8_t *raw_id, const uint8_t *expected,
                       int account, WalkEntry **stack, size_t *depth, size_t *capacity)
{
    uint64_t id = load_be64(raw_id);
    HashSlot *known = (HashSlot *)id_table_find(&hashes->table, id);
    if (known != NULL)
        return memcmp(known->hash, expected, 32) == 0 ? 0 : 2;
    PyObject *key = id_object(raw_id);
    if (key == NULL)
        return -1;
    PyObject *record = PyObject_CallOneArg(fetch, key);
    Py_DECREF(key);
    if (record == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            return 1;
        }
        return -1;
    }
    if (!PyBytes_Check(record)) {
        Py_SETREF(record, PyBytes_FromObject(record));
        if (record == NULL)
            return -1;
    }
    RecordScan scan;
    if (scan_record(bytes_data(record), PyBytes_GET_SIZE(record), &scan) < 0) {
        Py_DECREF(record);
        return 2;
    }
    uint8_t hash[32];
    keccak256(bytes_data(record), (size_t)scan.rlp_length, hash);
    if (memcmp(hash, expected, 32) != 0) {
        Py_DECREF(record);
        return 2;
    }
    int created;
    HashSlot *slot = (HashSlot *)id_table_claim(&hashes->table, id, &created);
    if (slot == NULL) {
        Py_DECREF(record);
        return -1;
    }
    memcpy(slot->hash, hash, 32);
    if (*depth == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 256;
        WalkEntry *larger = (WalkEntry *)realloc(*stack, sizeof(WalkEntry) * grown);
        if (larger == NULL) {
            Py_DECREF(record);
            PyErr_NoMemory();
            return -1;
        }
        *stack = larger;
        *capacity = grown;
    }
    (*stack)[*depth].id = id;
    (*stack)[*depth].record = record;
    (*stack)[*depth].account = account;
    (*depth)++;
    return 0;
}

/* verify_tries(fetch, roots, hashes) -> (missing, bad): see native.python_verify_tries. */
PyObject *module_verify_tries(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !Py_IS_TYPE(args[2], &NodeHashesType)) {
        PyErr_SetString(PyExc_TypeError, "verify_tries(fetch, roots, hashes: NodeHashes)");
        return NULL;
    }
    PyObject *fetch = args[0];
    NodeHashes *hashes = (NodeHashes *)args[2];
    PyObject *roots = PySequence_Fast(args[1], "roots must be a sequence of (root hash, root id)");
    if (roots == NULL)
        return NULL;
    Py_ssize_t missing = 0, bad = 0;
    WalkEntry *stack = NULL;
    size_t depth = 0, capacity = 0;
    int failed = 0;
    for (Py_ssize_t index = 0; index < PySequence_Fast_GET_SIZE(roots) && !failed; index++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(roots, index);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))
            || !PyBytes_Check(PyTuple_GET_ITEM(pair, 1)) || PyBytes_GET_SIZE(PyTuple_GET_ITEM(pair, 0)) != 32) {
            PyErr_SetString(PyExc_TypeError, "each root must be (32-byte root hash, root id)");
            failed = 1;
            break;
        }
        PyObject *root_id = PyTuple_GET_ITEM(pair, 1);
        int status;
        if (PyBytes_GET_SIZE(root_id) != ID_SIZE)
            status = 2;
        else
            status = verify_node(fetch, hashes, bytes_data(root_id), bytes_data(PyTuple_GET_ITEM(pair, 0)), 1,
                                 &stack, &depth, &capacity);
        while (status == 0 && depth > 0) {
            WalkEntry entry = stack[--depth];
            RecordScan scan;
            scan_record(bytes_data(entry.record), PyBytes_GET_SIZE(entry.record), &scan); /* scanned before */
            for (int child = 0; child < scan.hashed && status == 0; child++)
                status = scan.ids[child] == NULL ? 2
                                                 : verify_node(fetch, hashes, scan.ids[child], scan.refs[child],
                                                               entry.account, &stack, &depth, &capacity);
            if (status == 0 && scan.kind == 'L' && entry.account && scan.value_id != NULL) {
                const uint8_t *storage_root = account_storage_root(scan.value, scan.value_length);
                status = storage_root == NULL ? 2
                                              : verify_node(fetch, hashes, scan.value_id, storage_root, 0, &stack,
                                                            &depth, &capacity);
            }
            Py_DECREF(entry.record);
        }
        while (depth > 0) /* the walk stopped early: drop what it held */
            Py_DECREF(stack[--depth].record);
        if (status == 1)
            missing++;
        else if (status == 2)
            bad++;
        else if (status < 0)
            failed = 1;
    }
    free(stack);
    Py_DECREF(roots);
    if (failed)
        return NULL;
    return Py_BuildValue("(nn)", missing, bad);
}
