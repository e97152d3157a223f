/* NodeCache and NodeBatch (see store.h). */

#include "store.h"

#define RECORD_FREE_LIMIT 32768 /* spare blocks kept per class at most */
#define CACHE_INITIAL_CAPACITY 1024

/* The parse cache of the merges (the Python class's ``parsed`` dict): node id ->
 * record (rlp + child ids + count byte), each record in a block of its own. Records
 * a merge may still be reading when they leave the cache (replaced, or the cache
 * cleared when full) are freed when the last running merge ends. */

static inline int record_class(Py_ssize_t length)
{
    size_t blocks = ((size_t)length + 1 + RECORD_GRAIN - 1) / RECORD_GRAIN;
    return blocks < RECORD_CLASSES ? (int)blocks : 0; /* 0: too large for the classes */
}

static uint8_t *record_alloc(NodeCache *cache, Py_ssize_t length)
{
    int class = record_class(length);
    if (class && cache->free_blocks[class] != NULL) {
        uint8_t *block = cache->free_blocks[class];
        memcpy(&cache->free_blocks[class], block, sizeof(uint8_t *));
        cache->free_counts[class]--;
        return block;
    }
    uint8_t *block = (uint8_t *)malloc(class ? (size_t)class * RECORD_GRAIN : (size_t)length + 1);
    if (block == NULL)
        PyErr_NoMemory();
    return block;
}

static void record_free(NodeCache *cache, uint8_t *record, Py_ssize_t length)
{
    int class = record_class(length);
    if (!class || cache->free_counts[class] >= RECORD_FREE_LIMIT) {
        free(record);
        return;
    }
    memcpy(record, &cache->free_blocks[class], sizeof(uint8_t *));
    cache->free_blocks[class] = record;
    cache->free_counts[class]++;
}

static int cache_bury(NodeCache *cache, uint8_t *record, Py_ssize_t length)
{
    if (!cache->merging) {
        record_free(cache, record, length);
        return 0;
    }
    if (cache->buried == cache->graveyard_capacity) {
        size_t capacity = cache->graveyard_capacity ? 2 * cache->graveyard_capacity : 256;
        Buried *grown = (Buried *)realloc(cache->graveyard, sizeof(Buried) * capacity);
        if (grown == NULL) {
            free(record); /* cannot defer: only reachable on allocation failure */
            PyErr_NoMemory();
            return -1;
        }
        cache->graveyard = grown;
        cache->graveyard_capacity = capacity;
    }
    cache->graveyard[cache->buried].record = record;
    cache->graveyard[cache->buried].length = length;
    cache->buried++;
    return 0;
}

void cache_begin_merge(NodeCache *cache)
{
    cache->merging++;
}

void cache_end_merge(NodeCache *cache)
{
    if (--cache->merging > 0)
        return;
    for (size_t index = 0; index < cache->buried; index++)
        record_free(cache, cache->graveyard[index].record, cache->graveyard[index].length);
    cache->buried = 0;
}

int cache_remove(NodeCache *cache, uint64_t id)
{
    CacheSlot *slot = cache_find(cache, id);
    if (slot == NULL)
        return 0;
    uint8_t *record = slot->record;
    Py_ssize_t length = cache_slot_length(slot);
    id_table_remove(&cache->table, &slot->key);
    return cache_bury(cache, record, length);
}

int cache_clear_all(NodeCache *cache)
{
    int status = 0;
    for (size_t index = 0; index < cache->table.capacity; index++) {
        CacheSlot *slot = (CacheSlot *)id_table_at(&cache->table, index);
        if (slot->key.used && cache_bury(cache, slot->record, cache_slot_length(slot)) < 0)
            status = -1;
    }
    id_table_clear(&cache->table);
    return status;
}

int cache_insert(NodeCache *cache, uint64_t id, const uint8_t *data, Py_ssize_t length)
{
    if ((uint64_t)length > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "NodeCache records are shorter than 4 GiB");
        return -1;
    }
    uint8_t *copy = record_alloc(cache, length);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, (size_t)length);
    int created;
    CacheSlot *slot = (CacheSlot *)id_table_claim(&cache->table, id, &created);
    if (slot == NULL) {
        record_free(cache, copy, length);
        return -1;
    }
    uint8_t *old = slot->record;
    Py_ssize_t old_length = cache_slot_length(slot);
    slot->record = copy;
    slot->key.size = (uint32_t)length;
    return created ? 0 : cache_bury(cache, old, old_length);
}

static PyObject *node_cache_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    NodeCache *self = (NodeCache *)new_without_arguments(type, args, kwargs);
    if (self != NULL)
        id_table_init(&self->table, sizeof(CacheSlot), CACHE_INITIAL_CAPACITY);
    return (PyObject *)self;
}

static void node_cache_dealloc(NodeCache *self)
{
    self->merging = 0;
    for (size_t index = 0; index < self->table.capacity; index++) {
        CacheSlot *slot = (CacheSlot *)id_table_at(&self->table, index);
        if (slot->key.used)
            free(slot->record);
    }
    for (size_t index = 0; index < self->buried; index++)
        free(self->graveyard[index].record);
    for (int class = 0; class < RECORD_CLASSES; class++) {
        uint8_t *block = self->free_blocks[class];
        while (block != NULL) {
            uint8_t *next;
            memcpy(&next, block, sizeof(uint8_t *));
            free(block);
            block = next;
        }
    }
    id_table_free(&self->table);
    free(self->graveyard);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_cache_length(NodeCache *self)
{
    return (Py_ssize_t)self->table.count;
}

static int node_cache_contains(NodeCache *self, PyObject *key)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0)
        return 0;
    return cache_find(self, id) != NULL;
}

/* A list of the ids (``with_records``: of (id, record) pairs). */
static PyObject *node_cache_list(NodeCache *self, int with_records)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (size_t index = 0; index < self->table.capacity; index++) {
        CacheSlot *slot = (CacheSlot *)id_table_at(&self->table, index);
        if (!slot->key.used)
            continue;
        PyObject *item = id_bytes(slot->key.id);
        if (item != NULL && with_records) {
            PyObject *record = PyBytes_FromStringAndSize((const char *)slot->record, cache_slot_length(slot));
            Py_SETREF(item, record ? PyTuple_Pack(2, item, record) : NULL);
            Py_XDECREF(record);
        }
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

static PyObject *node_cache_iter(NodeCache *self)
{
    PyObject *ids = node_cache_list(self, 0);
    if (ids == NULL)
        return NULL;
    PyObject *iterator = PyObject_GetIter(ids);
    Py_DECREF(ids);
    return iterator;
}

static PyObject *node_cache_keys(NodeCache *self, PyObject *unused)
{
    (void)unused;
    return node_cache_list(self, 0);
}

static PyObject *node_cache_items(NodeCache *self, PyObject *unused)
{
    (void)unused;
    return node_cache_list(self, 1);
}

static PyObject *node_cache_get(NodeCache *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(id, default=None)");
        return NULL;
    }
    uint64_t id;
    CacheSlot *slot = id_from_object(args[0], &id) < 0 ? NULL : cache_find(self, id);
    if (slot == NULL) {
        PyObject *fallback = nargs == 2 ? args[1] : Py_None;
        Py_INCREF(fallback);
        return fallback;
    }
    return PyBytes_FromStringAndSize((const char *)slot->record, cache_slot_length(slot));
}

static PyObject *node_cache_subscript(NodeCache *self, PyObject *key)
{
    uint64_t id;
    CacheSlot *slot = id_from_object(key, &id) < 0 ? NULL : cache_find(self, id);
    if (slot == NULL) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)slot->record, cache_slot_length(slot));
}

static int node_cache_assign(NodeCache *self, PyObject *key, PyObject *value)
{
    uint64_t id;
    if (id_from_object(key, &id) < 0) {
        PyErr_SetString(PyExc_TypeError, "NodeCache keys are 8-byte node ids");
        return -1;
    }
    if (value == NULL) {
        if (cache_find(self, id) == NULL) {
            PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        return cache_remove(self, id);
    }
    if (!PyBytes_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "NodeCache values are record bytes");
        return -1;
    }
    return cache_insert(self, id, (const uint8_t *)PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
}

static PyObject *node_cache_clear_method(NodeCache *self, PyObject *unused)
{
    (void)unused;
    if (cache_clear_all(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef node_cache_methods[] = {
    {"get", (PyCFunction)(void (*)(void))node_cache_get, METH_FASTCALL, "get(id, default=None) -> record"},
    {"keys", (PyCFunction)node_cache_keys, METH_NOARGS, "keys() -> list of ids"},
    {"items", (PyCFunction)node_cache_items, METH_NOARGS, "items() -> list of (id, record)"},
    {"clear", (PyCFunction)node_cache_clear_method, METH_NOARGS, "clear(): drop every record"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods node_cache_as_sequence = {
    .sq_length = (lenfunc)node_cache_length,
    .sq_contains = (objobjproc)node_cache_contains,
};

static PyMappingMethods node_cache_as_mapping = {
    .mp_length = (lenfunc)node_cache_length,
    .mp_subscript = (binaryfunc)node_cache_subscript,
    .mp_ass_subscript = (objobjargproc)node_cache_assign,
};

PyTypeObject NodeCacheType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeCache",
    .tp_basicsize = sizeof(NodeCache),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeCache()\n\n"
              "The C merger's parse cache: node id (8 bytes) -> record bytes, kept in C memory.\n"
              "A mapping for inspection (get, keys, items, in, len, del, clear); the Python\n"
              "merger uses a dict of split nodes instead.",
    .tp_new = node_cache_new,
    .tp_dealloc = (destructor)node_cache_dealloc,
    .tp_iter = (getiterfunc)node_cache_iter,
    .tp_methods = node_cache_methods,
    .tp_as_sequence = &node_cache_as_sequence,
    .tp_as_mapping = &node_cache_as_mapping,
};

/* NodeBatch */

int batch_add(NodeBatch *batch, uint64_t id, const uint8_t *data, Py_ssize_t length, int copy_data)
{
    if (batch->count == batch->capacity) {
        size_t bytes = sizeof(BatchItem) * (size_t)batch->capacity;
        BatchItem *grown = (BatchItem *)warm_grow(batch->items, &bytes, sizeof(BatchItem) * (size_t)batch->count,
                                                  sizeof(BatchItem) * (size_t)(batch->capacity ? 2 * batch->capacity : 4096));
        if (grown == NULL)
            return -1;
        batch->items = grown;
        batch->capacity = (Py_ssize_t)(bytes / sizeof(BatchItem));
    }
    if (copy_data) {
        uint8_t *copy = (uint8_t *)arena_alloc(&batch->arena, (size_t)length);
        if (copy == NULL)
            return -1;
        memcpy(copy, data, (size_t)length);
        data = copy;
    }
    batch->items[batch->count].id = id;
    batch->items[batch->count].data = data;
    batch->items[batch->count].length = length;
    batch->count++;
    return 0;
}

static void node_batch_dealloc(NodeBatch *self)
{
    warm_give(self->items, sizeof(BatchItem) * (size_t)self->capacity);
    arena_free(&self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t node_batch_length(NodeBatch *self)
{
    return self->count;
}

static PyObject *node_batch_item(NodeBatch *self, Py_ssize_t index)
{
    if (index < 0 || index >= self->count) {
        PyErr_SetString(PyExc_IndexError, "NodeBatch index out of range");
        return NULL;
    }
    BatchItem *item = &self->items[index];
    PyObject *id = id_bytes(item->id);
    PyObject *record = id ? PyBytes_FromStringAndSize((const char *)item->data, item->length) : NULL;
    PyObject *pair = record ? PyTuple_Pack(2, id, record) : NULL;
    Py_XDECREF(id);
    Py_XDECREF(record);
    return pair;
}

static PyObject *node_batch_clear(NodeBatch *self, PyObject *unused)
{
    (void)unused;
    if (self->merging) {
        PyErr_SetString(PyExc_RuntimeError, "a merge is writing into this NodeBatch");
        return NULL;
    }
    self->count = 0;
    arena_free(&self->arena);
    Py_RETURN_NONE;
}

static PyMethodDef node_batch_methods[] = {
    {"clear", (PyCFunction)node_batch_clear, METH_NOARGS, "clear(): forget every record"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods node_batch_as_sequence = {
    .sq_length = (lenfunc)node_batch_length,
    .sq_item = (ssizeargfunc)node_batch_item,
};

PyTypeObject NodeBatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.NodeBatch",
    .tp_basicsize = sizeof(NodeBatch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NodeBatch()\n\n"
              "New trie node records as (id, record) pairs in id order, kept in C memory: a\n"
              "BatchTrieUpdater store target that putmulti() can iterate (the Python merger\n"
              "appends the same pairs to a list).",
    .tp_new = new_without_arguments,
    .tp_dealloc = (destructor)node_batch_dealloc,
    .tp_methods = node_batch_methods,
    .tp_as_sequence = &node_batch_as_sequence,
};
