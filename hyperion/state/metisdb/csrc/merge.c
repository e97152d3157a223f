/*
 * BatchTrieUpdater: the commit-time trie merger (see merge.h).
 *
 * Parse cache: unlike the Python class (which caches split tuples), ``parsed``
 * maps an id to the record bytes (rlp + child ids + count byte) in a NodeCache; a
 * branch or extension is re-split straight from that buffer when it is needed (a
 * scan of at most 17 items). ``store`` may be a list, or a NodeBatch: records are
 * then appended without a Python call.
 *
 * Memory discipline of one ``update`` call (a ``Merge``):
 *   - every record the merge reads from is held (``Merge.held``) until the call
 *     ends, so views into it stay valid even if a callback clears the cache;
 *   - C buffers (nibble paths, forms, new references, ids) come from ``arena``,
 *     encoding temporaries from ``scratch`` (released by mark); both are freed
 *     when the call ends.
 *
 * Where the Python reference slices past the end of a malformed item (Python
 * slices clip) this code clips the same way (rlp.h), so both accept and reject
 * the same records.
 */

#include "merge.h"
#include "codec.h"
#include "getset.h"
#include "keccak.h"
#include "memory.h"
#include "rlp.h"
#include "store.h"

static const uint8_t NIBBLE_VALUES[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

typedef struct {
    PyObject **objects;
    Py_ssize_t count;
    Py_ssize_t capacity;
} HeldObjects;

struct Updater;

/* Raw bytes that live until the merge ends: inside a held record, the caller's
 * arguments or the merge's arena. */
typedef struct {
    const uint8_t *data;
    Py_ssize_t length;
    /* 0, or 1 + the index of the pending hash whose 32 bytes follow data[0] (0xa0):
     * a reference to a node of this merge, hashed after the walk (see PendingHash). */
    Py_ssize_t job;
} View;

static const View EMPTY_VIEW = {EMPTY_ITEM_BYTE, 1, 0};

/* One ``update`` call: the batch (raw views of the caller's bytes) and its storage.
 * Node ids inside the merge are pointers to 8 raw bytes (NULL: no record). */
typedef struct {
    struct Updater *updater;
    Py_ssize_t count;
    const uint8_t **keys;
    Py_ssize_t *key_lengths;
    const uint8_t **paths; /* nibble paths of the keys */
    Py_ssize_t *path_lengths;
    const uint8_t **values;
    Py_ssize_t *value_lengths;
    const uint8_t **previous; /* NULL when no hints were given */
    Py_ssize_t *previous_lengths;
    const uint8_t **value_ids; /* NULL when none were given */
    Py_ssize_t *value_id_lengths;
    int deletes;
    Arena arena;   /* lives as long as the merge */
    Arena scratch; /* temporaries of one encoding, released by mark */
    HeldObjects held;
    struct NodeCacheStruct *cache; /* the updater's parse cache, pinned for the merge */
    struct PendingHash *hashes;    /* nodes whose hash is computed after the walk */
    Py_ssize_t hash_count, hash_capacity;
    struct Emission *emissions;    /* new records, in id order, stored after the hashes */
    Py_ssize_t emission_count, emission_capacity;
    /* New branches join the parse cache after the hashes: ``deferred_cached`` of them
     * count towards its size limit meanwhile, and a clear of the full cache drops
     * those queued before it (``cache_epoch``), as the Python class's would. */
    Py_ssize_t deferred_cached;
    int cache_epoch;
    struct NodeBatchStruct *batch; /* the store when it is a NodeBatch (pinned), else NULL */
} Merge;

/* Keeps ``object`` (a new reference, stolen) alive until the merge ends. */
static int hold(Merge *merge, PyObject *object)
{
    HeldObjects *held = &merge->held;
    if (held->count == held->capacity) {
        Py_ssize_t capacity = held->capacity ? held->capacity * 2 : 256;
        PyObject **grown = (PyObject **)realloc(held->objects, sizeof(PyObject *) * (size_t)capacity);
        if (grown == NULL) {
            Py_DECREF(object);
            PyErr_NoMemory();
            return -1;
        }
        held->objects = grown;
        held->capacity = capacity;
    }
    held->objects[held->count++] = object;
    return 0;
}

static void release_held(HeldObjects *held)
{
    for (Py_ssize_t index = held->count - 1; index >= 0; index--)
        Py_DECREF(held->objects[index]);
    free(held->objects);
    held->objects = NULL;
    held->count = held->capacity = 0;
}

/* ------------------------------------------------------------------------ */
/* The updater object                                                       */
/* ------------------------------------------------------------------------ */

typedef struct Updater {
    PyObject_HEAD
    PyObject *fetch;
    PyObject *store;
    PyObject *replaced;
    NodeCache *parsed;
    unsigned long long next_id;
    Py_ssize_t parsed_limit;
} Updater;

/* ------------------------------------------------------------------------ */
/* Node forms (see the Python module docstring)                             */
/* ------------------------------------------------------------------------ */

/* The 17 raw items and 16 child ids of a branch. */
typedef struct {
    View items[17];
    const uint8_t *ids[16];
} Branch;

/* A loaded node ('B', 'L', 'E') or a merge result ('L', 'E', 'R'; NULL is "no node").
 * The Python "P" result (a leaf updated in place) is an 'L' here: both encode the same. */
typedef struct Form {
    char kind;
    const uint8_t *path; /* 'L', 'E': nibbles */
    Py_ssize_t path_length;
    const uint8_t *value; /* 'L' */
    Py_ssize_t value_length;
    const uint8_t *value_id; /* 'L': the id the leaf records (any length, NULL/0: none) */
    Py_ssize_t value_id_length;
    View item;          /* 'E': the child's reference; 'R': the node's reference */
    const uint8_t *id;  /* 'E': child id; 'R': the node's id */
    Branch *branch;     /* 'B' */
} Form;

/* A branch child while merging: a raw item with its id, or a node that exists only
 * inside this merge (an extension split off a longer one). */
typedef struct {
    View item;
    Form *unstored;
    const uint8_t *id;
} Slot;

/* A key to place in a fresh subtree. */
typedef struct {
    const uint8_t *path;
    Py_ssize_t path_length;
    const uint8_t *value;
    Py_ssize_t value_length;
    const uint8_t *value_id;
    Py_ssize_t value_id_length;
    Py_ssize_t order;
} Entry;

static Form *new_form(Merge *merge, char kind)
{
    Form *form = (Form *)arena_alloc(&merge->arena, sizeof(Form));
    if (form == NULL)
        return NULL;
    memset(form, 0, sizeof(Form));
    form->kind = kind;
    return form;
}

static Form *new_leaf(Merge *merge, const uint8_t *path, Py_ssize_t path_length, const uint8_t *value,
                      Py_ssize_t value_length, const uint8_t *value_id, Py_ssize_t value_id_length)
{
    Form *form = new_form(merge, 'L');
    if (form == NULL)
        return NULL;
    form->path = path;
    form->path_length = path_length;
    form->value = value;
    form->value_length = value_length;
    form->value_id = value_id;
    form->value_id_length = value_id_length;
    return form;
}

static Form *new_extension(Merge *merge, const uint8_t *path, Py_ssize_t path_length, View child,
                           const uint8_t *child_id)
{
    Form *form = new_form(merge, 'E');
    if (form == NULL)
        return NULL;
    form->path = path;
    form->path_length = path_length;
    form->item = child;
    form->id = child_id;
    return form;
}

static Form *new_reference(Merge *merge, View item, const uint8_t *id)
{
    Form *form = new_form(merge, 'R');
    if (form == NULL)
        return NULL;
    form->item = item;
    form->id = id;
    return form;
}

static inline int is_empty_view(View item)
{
    return item.length == 1 && item.data[0] == 0x80;
}

/* Raise ``type(format % bytes.hex())``; ``format`` has one %U. */
static void raise_with_hex(PyObject *type, const char *format, PyObject *bytes)
{
    PyObject *hex = PyObject_CallMethod(bytes, "hex", NULL);
    if (hex == NULL)
        return;
    PyErr_Format(type, format, hex);
    Py_DECREF(hex);
}

/* ------------------------------------------------------------------------ */
/* Calls out to Python: ids, store, replaced, the parse cache               */
/* ------------------------------------------------------------------------ */

/* The next node id, its 8 raw bytes in the arena (``*number`` the id as a number). */
static int allocate_id(Merge *merge, const uint8_t **raw, uint64_t *number)
{
    Updater *updater = merge->updater;
    unsigned long long next = updater->next_id;
    if (next == UINT64_MAX) {
        PyErr_SetString(PyExc_OverflowError, "node id counter is exhausted");
        return -1;
    }
    uint8_t *copy = (uint8_t *)arena_alloc(&merge->arena, ID_SIZE);
    if (copy == NULL)
        return -1;
    updater->next_id = next + 1;
    store_be64(copy, next);
    *raw = copy;
    *number = next;
    return 0;
}

/* Room for a new record: in the batch that will keep it when the store is a
 * NodeBatch (no copy later), else in the merge arena. */
static uint8_t *record_space(Merge *merge, Py_ssize_t length)
{
    if (merge->batch != NULL)
        return (uint8_t *)arena_alloc(&merge->batch->arena, (size_t)length);
    return (uint8_t *)arena_alloc(&merge->arena, (size_t)length);
}

/* Hand a new record to ``store``: a NodeBatch keeps it (``in_batch``: its bytes are in
 * the batch's arena already, else copied); a list gets an ``(id, record)`` tuple;
 * anything else is called with (id, record). */
static int emit_record(Merge *merge, uint64_t number, const uint8_t *raw_id, const uint8_t *data, Py_ssize_t length,
                       int in_batch)
{
    PyObject *store = merge->updater->store;
    if (merge->batch != NULL)
        return batch_add(merge->batch, number, data, length, !in_batch);
    PyObject *id = id_object(raw_id);
    PyObject *record = id ? PyBytes_FromStringAndSize((const char *)data, length) : NULL;
    int status = -1;
    if (record == NULL)
        goto done;
    if (PyList_CheckExact(store)) {
        PyObject *pair = PyTuple_Pack(2, id, record);
        if (pair == NULL)
            goto done;
        PyObject_GC_UnTrack(pair); /* holds only bytes: no cycle can pass through it */
        status = PyList_Append(store, pair);
        Py_DECREF(pair);
    } else {
        Py_INCREF(store);
        PyObject *arguments[2] = {id, record};
        PyObject *outcome = PyObject_Vectorcall(store, arguments, 2, NULL);
        Py_DECREF(store);
        if (outcome != NULL) {
            Py_DECREF(outcome);
            status = 0;
        }
    }
done:
    Py_XDECREF(id);
    Py_XDECREF(record);
    return status;
}

/* A stored node the merge replaces: it leaves the parse cache (merges start from the
 * latest trie, so the cache keeps live nodes only: the Python class does the same)
 * and, when someone keeps them, joins ``replaced``. */
static int note_replaced(Merge *merge, const uint8_t *id)
{
    if (cache_remove(merge->cache, load_be64(id)) < 0)
        return -1;
    PyObject *replaced = merge->updater->replaced;
    if (replaced == Py_None) /* nobody needs them (archive mode) */
        return 0;
    PyObject *object = id_object(id);
    if (object == NULL)
        return -1;
    int status;
    if (PyList_CheckExact(replaced)) {
        status = PyList_Append(replaced, object);
    } else {
        Py_INCREF(replaced);
        PyObject *outcome = PyObject_CallMethod(replaced, "append", "O", object);
        Py_DECREF(replaced);
        status = outcome == NULL ? -1 : 0;
        Py_XDECREF(outcome);
    }
    Py_DECREF(object);
    return status;
}

static inline void cache_prefetch_slot(NodeCache *cache, const uint8_t *id)
{
    if (cache->table.capacity)
        __builtin_prefetch(id_table_at(&cache->table, id_table_home(&cache->table, load_be64(id))));
}

/* Prefetch the record cached under ``id`` (its slot should be in the CPU cache already). */
static inline void cache_prefetch_record(NodeCache *cache, const uint8_t *id)
{
    CacheSlot *slot = cache_find(cache, load_be64(id));
    if (slot != NULL)
        for (Py_ssize_t offset = 0; offset < cache_slot_length(slot); offset += 64)
            __builtin_prefetch(slot->record + offset);
}

/* The parse cache's record of ``id`` (valid until the merge ends), or NULL. */
static inline CacheSlot *cache_lookup(Merge *merge, const uint8_t *id)
{
    return cache_find(merge->cache, load_be64(id));
}

/* Make room for one more parse cache entry: the cache (with the branches queued for
 * it) is cleared when full, as the Python class clears its dict. */
static int cache_make_room(Merge *merge)
{
    NodeCache *cache = merge->cache;
    if ((Py_ssize_t)cache->table.count + merge->deferred_cached < merge->updater->parsed_limit)
        return 0;
    merge->deferred_cached = 0;
    merge->cache_epoch++;
    return cache_clear_all(cache);
}

/* Cache a branch or extension record read from the store. */
static int cache_put(Merge *merge, const uint8_t *id, const uint8_t *record, Py_ssize_t length)
{
    if (cache_make_room(merge) < 0)
        return -1;
    return cache_insert(merge->cache, load_be64(id), record, length);
}

/* ------------------------------------------------------------------------ */
/* Reading RLP the way the Python reference does (slices clip at the end)   */
/* ------------------------------------------------------------------------ */

/* Split a node's RLP into its loaded form (the Python ``_parse``), pointing into
 * ``rlp`` (which must outlive the merge); ``ids`` holds ``id_count`` child ids. */
static int parse_node(Merge *merge, const uint8_t *rlp, Py_ssize_t size, const uint8_t *ids, int id_count,
                      Form **out)
{
    Bounds outer;
    if (item_bounds(rlp, size, 0, &outer) < 0) {
        PyErr_SetString(BadTrieNode, "trie node is truncated");
        return -1;
    }
    if (!outer.is_list || outer.end != size) {
        PyErr_SetString(BadTrieNode, "trie node is not a single RLP list");
        return -1;
    }
    Py_ssize_t starts[17], ends[17];
    Py_ssize_t count = 0;
    Py_ssize_t position = outer.start;
    while (position < outer.end) {
        Py_ssize_t end;
        uint8_t prefix = rlp[position];
        /* Inline the common short items; long forms go through item_bounds. */
        if (prefix < 0x80)
            end = position + 1;
        else if (prefix < 0xB8)
            end = position + 1 + (prefix - 0x80);
        else if (prefix >= 0xC0 && prefix < 0xF8)
            end = position + 1 + (prefix - 0xC0);
        else {
            Bounds item;
            item_bounds(rlp, size, position, &item); /* position < size here */
            end = item.end;
        }
        if (count < 17) {
            starts[count] = position;
            ends[count] = end < size ? end : size;
        }
        count++;
        position = end; /* outer.end == size: the next item, if any, starts inside the data */
    }
    if (count == 17) {
        Form *form = new_form(merge, 'B');
        Branch *branch = (Branch *)arena_alloc(&merge->arena, sizeof(Branch));
        if (form == NULL || branch == NULL)
            return -1;
        int next = 0;
        for (int index = 0; index < 17; index++) {
            branch->items[index].data = rlp + starts[index];
            branch->items[index].length = ends[index] - starts[index];
            branch->items[index].job = 0;
        }
        for (int index = 0; index < 16; index++) {
            if (next < id_count && is_hash_reference(branch->items[index].data, branch->items[index].length))
                branch->ids[index] = ids + ID_SIZE * next++;
            else
                branch->ids[index] = NULL;
        }
        form->branch = branch;
        *out = form;
        return 0;
    }
    if (count != 2) {
        PyErr_Format(BadTrieNode, "trie node must have 2 or 17 items, not %zd", count);
        return -1;
    }
    const uint8_t *path_item = rlp + starts[0];
    Py_ssize_t path_item_length = ends[0] - starts[0];
    Bounds path_bounds;
    item_bounds(path_item, path_item_length, 0, &path_bounds); /* the item is never empty */
    Py_ssize_t compact_offset, compact_length;
    clip(path_item_length, path_bounds.start, path_bounds.end, &compact_offset, &compact_length);
    const uint8_t *compact = path_item + compact_offset;
    if (compact_length == 0) {
        PyErr_SetString(BadTrieNode, "hex-prefix encoded path is empty");
        return -1;
    }
    int flag = compact[0] >> 4;
    if (flag > 3) {
        PyErr_Format(BadTrieNode, "invalid hex-prefix flag nibble %d", flag);
        return -1;
    }
    int odd = flag & 1;
    if (!odd && (compact[0] & 0x0F)) {
        PyErr_SetString(BadTrieNode, "padding nibble of an even-length path must be zero");
        return -1;
    }
    Py_ssize_t path_length = 2 * (compact_length - 1) + odd;
    uint8_t *path = (uint8_t *)arena_alloc(&merge->arena, (size_t)path_length + 1);
    if (path == NULL)
        return -1;
    Py_ssize_t cursor = 0;
    if (odd)
        path[cursor++] = compact[0] & 0x0F;
    for (Py_ssize_t index = 1; index < compact_length; index++) {
        path[cursor++] = compact[index] >> 4;
        path[cursor++] = compact[index] & 0x0F;
    }
    const uint8_t *second = rlp + starts[1];
    Py_ssize_t second_length = ends[1] - starts[1];
    if (flag & 2) {
        Bounds value_bounds;
        item_bounds(second, second_length, 0, &value_bounds);
        if (value_bounds.is_list) {
            PyErr_SetString(BadTrieNode, "leaf value must be a string");
            return -1;
        }
        Py_ssize_t value_offset, value_length;
        clip(second_length, value_bounds.start, value_bounds.end, &value_offset, &value_length);
        *out = new_leaf(merge, path, path_length, second + value_offset, value_length, id_count ? ids : NULL,
                        id_count ? ID_SIZE : 0);
        return *out == NULL ? -1 : 0;
    }
    View child = {second, second_length, 0};
    *out = new_extension(merge, path, path_length, child,
                         id_count && is_hash_reference(second, second_length) ? ids : NULL);
    return *out == NULL ? -1 : 0;
}

/* Parse a stored record (rlp + child ids + count byte) that outlives the merge: the
 * Python ``split_record`` and ``_parse``. */
static int parse_record(Merge *merge, const uint8_t *data, Py_ssize_t size, Form **out)
{
    if (size == 0) {
        PyErr_SetString(CorruptDatabase, "empty trie node record");
        return -1;
    }
    int count = data[size - 1];
    Py_ssize_t cut = size - 1 - ID_SIZE * (Py_ssize_t)count;
    if (count > 16 || cut < 1) {
        PyErr_SetString(CorruptDatabase, "trie node record is truncated");
        return -1;
    }
    return parse_node(merge, data, cut, data + cut, count, out);
}

/* The loaded form of the node stored under ``id`` (the Python ``_load_id``):
 * ``cached`` is its parse cache entry if already looked up, else NULL. */
static int load_id_cached(Merge *merge, const uint8_t *id, CacheSlot *cached, Form **out)
{
    if (cached == NULL)
        cached = cache_lookup(merge, id);
    if (cached != NULL)
        return parse_record(merge, cached->record, cache_slot_length(cached), out);
    PyObject *key = id_object(id);
    if (key == NULL)
        return -1;
    PyObject *fetch = merge->updater->fetch;
    Py_INCREF(fetch);
    PyObject *fetched = PyObject_CallOneArg(fetch, key);
    Py_DECREF(fetch);
    if (fetched == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            raise_with_hex(MissingTrieNode, "trie node %U is not in the store", key);
        }
        Py_DECREF(key);
        return -1;
    }
    Py_DECREF(key);
    PyObject *record = fetched;
    if (!PyBytes_Check(fetched)) {
        record = PyBytes_FromObject(fetched); /* a buffer the caller may change later: copied */
        Py_DECREF(fetched);
        if (record == NULL)
            return -1;
    }
    if (hold(merge, record) < 0)
        return -1;
    const uint8_t *data = bytes_data(record);
    Py_ssize_t size = PyBytes_GET_SIZE(record);
    if (parse_record(merge, data, size, out) < 0)
        return -1;
    if ((*out)->kind != 'L')
        return cache_put(merge, id, data, size);
    return 0;
}

static int load_id(Merge *merge, const uint8_t *id, Form **out)
{
    return load_id_cached(merge, id, NULL, out);
}

/* Loaded form of a branch child (NULL for an empty slot): the Python ``_load_child``. */
static int load_child(Merge *merge, const Slot *slot, Form **out)
{
    if (slot->unstored != NULL) {
        *out = slot->unstored;
        return 0;
    }
    View item = slot->item;
    if (is_empty_view(item)) {
        *out = NULL;
        return 0;
    }
    if (is_hash_reference(item.data, item.length)) {
        if (slot->id == NULL) {
            PyErr_SetString(CorruptDatabase, "a hashed trie reference has no node id");
            return -1;
        }
        return load_id(merge, slot->id, out);
    }
    return parse_node(merge, item.data, item.length, NULL, 0, out);
}

/* Result form of an untouched child whose parent collapses: the Python ``_as_result``. */
static int as_result(Merge *merge, const Slot *slot, Form **out)
{
    if (slot->unstored != NULL) {
        *out = slot->unstored;
        return 0;
    }
    Form *form;
    if (load_child(merge, slot, &form) < 0)
        return -1;
    if (form == NULL) {
        *out = NULL;
        return 0;
    }
    if (form->kind == 'B') {
        *out = new_reference(merge, slot->item, slot->id);
        return *out == NULL ? -1 : 0;
    }
    if (slot->id != NULL && note_replaced(merge, slot->id) < 0) /* rewritten with a longer path */
        return -1;
    *out = form;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing nodes                                                            */
/* ------------------------------------------------------------------------ */

static int header_size(Py_ssize_t length)
{
    if (length < 56)
        return 1;
    int width = 0;
    for (size_t rest = (size_t)length; rest; rest >>= 8)
        width++;
    return 1 + width;
}

static uint8_t *write_header(uint8_t *out, uint8_t offset, Py_ssize_t length)
{
    if (length < 56) {
        *out++ = (uint8_t)(offset + length);
        return out;
    }
    int width = header_size(length) - 1;
    *out++ = (uint8_t)(offset + 55 + width);
    for (int byte = width - 1; byte >= 0; byte--)
        *out++ = (uint8_t)((size_t)length >> (8 * byte));
    return out;
}

static Py_ssize_t string_size(const uint8_t *data, Py_ssize_t length)
{
    if (length == 1 && data[0] < 0x80)
        return 1;
    return header_size(length) + length;
}

static uint8_t *write_string(uint8_t *out, const uint8_t *data, Py_ssize_t length)
{
    if (!(length == 1 && data[0] < 0x80))
        out = write_header(out, 0x80, length);
    if (length)
        memcpy(out, data, (size_t)length);
    return out + length;
}

/* Hex-prefix ("compact") encoding of a nibble path; ``out`` needs length / 2 + 1 bytes. */
static Py_ssize_t compact_from_nibbles(const uint8_t *path, Py_ssize_t length, int is_leaf, uint8_t *out)
{
    int flag = is_leaf ? 2 : 0;
    Py_ssize_t cursor = 0, index = 0;
    if (length & 1) {
        out[cursor++] = (uint8_t)(((flag | 1) << 4) | path[0]);
        index = 1;
    } else {
        out[cursor++] = (uint8_t)(flag << 4);
    }
    for (; index < length; index += 2)
        out[cursor++] = (uint8_t)((path[index] << 4) | path[index + 1]);
    return cursor;
}

/* Hex-prefix encoding of the leaf path of ``key`` from nibble ``position`` on, straight
 * from the key bytes (the Python ``_leaf_path_item`` without its RLP header). */
static Py_ssize_t compact_from_key(const uint8_t *key, Py_ssize_t key_length, Py_ssize_t position, uint8_t *out)
{
    Py_ssize_t half = position >> 1;
    if (position & 1) {
        out[0] = (uint8_t)(0x30 | (key[half] & 0x0F));
        memcpy(out + 1, key + half + 1, (size_t)(key_length - half - 1));
        return key_length - half;
    }
    out[0] = 0x20;
    if (key_length > half)
        memcpy(out + 1, key + half, (size_t)(key_length - half));
    return key_length - half + 1;
}

/* Encoded size (and payload size) of a 2-item node from its compact path and its second
 * item: a raw value when ``second_is_value``, else an already encoded child reference. */
static Py_ssize_t pair_size(const uint8_t *compact, Py_ssize_t compact_length, const uint8_t *second,
                            Py_ssize_t second_length, int second_is_value, Py_ssize_t *payload)
{
    *payload = string_size(compact, compact_length)
               + (second_is_value ? string_size(second, second_length) : second_length);
    return header_size(*payload) + *payload;
}

static void write_pair(uint8_t *out, Py_ssize_t payload, const uint8_t *compact, Py_ssize_t compact_length,
                       const uint8_t *second, Py_ssize_t second_length, int second_is_value)
{
    out = write_header(out, 0xC0, payload);
    out = write_string(out, compact, compact_length);
    if (second_is_value)
        write_string(out, second, second_length);
    else if (second_length)
        memcpy(out, second, (size_t)second_length);
}

/* The 2-item node encoded into the scratch arena (released by the caller's mark). */
static uint8_t *encode_pair(Merge *merge, const uint8_t *compact, Py_ssize_t compact_length,
                            const uint8_t *second, Py_ssize_t second_length, int second_is_value,
                            Py_ssize_t *encoded_length)
{
    Py_ssize_t payload;
    Py_ssize_t total = pair_size(compact, compact_length, second, second_length, second_is_value, &payload);
    uint8_t *buffer = (uint8_t *)arena_alloc(&merge->scratch, (size_t)total);
    if (buffer == NULL)
        return NULL;
    write_pair(buffer, payload, compact, compact_length, second, second_length, second_is_value);
    *encoded_length = total;
    return buffer;
}

/* A node of this merge whose hash is still to be computed: its encoding, where the
 * hash goes (``out``: its 33-byte reference after the 0xa0) and the copies of that
 * reference in its parent's record (``patches``), which get the hash too. Its height
 * is 0 without such children, else 1 + theirs: hashing height by height, every node
 * of one height at once, a node is hashed after the children it contains. */
typedef struct Patch {
    uint8_t *at;
    struct Patch *next;
} Patch;

typedef struct PendingHash {
    const uint8_t *data;
    Py_ssize_t length;
    uint8_t *out;
    int height;
    Patch *patches;
} PendingHash;

/* A record to hand to ``store`` (and, for a branch, to the parse cache) once the
 * hashes are in: kept in id order. */
typedef struct Emission {
    uint64_t number;
    const uint8_t *id;
    const uint8_t *record;
    Py_ssize_t length;
    int cache; /* a branch: cached like the Python ``_branch`` does */
    int epoch; /* the merge's cache epoch when it was queued */
} Emission;

/* Double an array of ``*capacity`` items (a warm buffer; give it back with warm_give). */
static int grow_array(void **array, Py_ssize_t *capacity, size_t item_size)
{
    size_t bytes = item_size * (size_t)*capacity;
    void *larger = warm_grow(*array, &bytes, bytes, item_size * (size_t)(*capacity ? 2 * *capacity : 1024));
    if (larger == NULL)
        return -1;
    *array = larger;
    *capacity = (Py_ssize_t)(bytes / item_size);
    return 0;
}

/* Height of a node whose record holds ``view`` (-1 if the view is not pending). */
static inline int pending_height(Merge *merge, const View *view)
{
    return view->job ? merge->hashes[view->job - 1].height : -1;
}

/* ``view`` was copied into a record at ``at``: if it is a pending reference, its
 * hash will be written there too. */
static int note_copy(Merge *merge, const View *view, uint8_t *at)
{
    if (!view->job)
        return 0;
    Patch *patch = (Patch *)arena_alloc(&merge->arena, sizeof(Patch));
    if (patch == NULL)
        return -1;
    PendingHash *pending = &merge->hashes[view->job - 1];
    patch->at = at + 1; /* after the 0xa0 */
    patch->next = pending->patches;
    pending->patches = patch;
    return 0;
}

/* The 33-byte reference ``0xa0 + keccak(encoded)`` of a stored node, in the merge arena;
 * the hash itself is filled in after the walk (``encoded`` must live until then). */
static int hash_reference(Merge *merge, const uint8_t *encoded, Py_ssize_t length, int height, View *reference)
{
    uint8_t *out = (uint8_t *)arena_alloc(&merge->arena, 33);
    if (out == NULL)
        return -1;
    if (merge->hash_count == merge->hash_capacity
        && grow_array((void **)&merge->hashes, &merge->hash_capacity, sizeof(PendingHash)) < 0)
        return -1;
    out[0] = 0xA0;
    memset(out + 1, 0, 32);
    PendingHash *pending = &merge->hashes[merge->hash_count++];
    pending->data = encoded;
    pending->length = length;
    pending->out = out + 1;
    pending->height = height;
    pending->patches = NULL;
    reference->data = out;
    reference->length = 33;
    reference->job = merge->hash_count;
    return 0;
}

/* Queue a new record for ``store`` (after the hashes are in). */
static int queue_record(Merge *merge, uint64_t number, const uint8_t *id, const uint8_t *record, Py_ssize_t length,
                        int cache)
{
    if (merge->emission_count == merge->emission_capacity
        && grow_array((void **)&merge->emissions, &merge->emission_capacity, sizeof(Emission)) < 0)
        return -1;
    if (cache && cache_make_room(merge) < 0)
        return -1;
    Emission *emission = &merge->emissions[merge->emission_count++];
    emission->number = number;
    emission->id = id;
    emission->record = record;
    emission->length = length;
    emission->cache = cache;
    emission->epoch = merge->cache_epoch;
    if (cache)
        merge->deferred_cached++;
    return 0;
}

/* After the walk: every pending hash, height by height (a batch of independent
 * messages each, hashed ``keccak_lanes`` at a time), each copied into its parent's
 * record; then the records go to ``store`` and the branches to the parse cache, in
 * id order. */
static int complete_merge(Merge *merge)
{
    Py_ssize_t count = merge->hash_count;
    if (count) {
        int top = 0;
        for (Py_ssize_t index = 0; index < count; index++)
            if (merge->hashes[index].height > top)
                top = merge->hashes[index].height;
        Py_ssize_t *starts = (Py_ssize_t *)calloc((size_t)top + 2, sizeof(Py_ssize_t));
        size_t jobs_size = 0, order_size = 0;
        HashJob *jobs = (HashJob *)warm_take(sizeof(HashJob) * (size_t)count, &jobs_size);
        Py_ssize_t *order = (Py_ssize_t *)warm_take(sizeof(Py_ssize_t) * (size_t)count, &order_size);
        int status = 0;
        if (starts == NULL || jobs == NULL || order == NULL) {
            if (starts == NULL)
                PyErr_NoMemory();
            status = -1;
        } else {
            for (Py_ssize_t index = 0; index < count; index++)
                starts[merge->hashes[index].height + 1]++;
            for (int height = 1; height <= top + 1; height++)
                starts[height] += starts[height - 1];
            Py_ssize_t *fill = (Py_ssize_t *)malloc(sizeof(Py_ssize_t) * ((size_t)top + 1));
            if (fill == NULL) {
                PyErr_NoMemory();
                status = -1;
            } else {
                memcpy(fill, starts, sizeof(Py_ssize_t) * ((size_t)top + 1));
                for (Py_ssize_t index = 0; index < count; index++)
                    order[fill[merge->hashes[index].height]++] = index;
                free(fill);
                for (int height = 0; height <= top && status == 0; height++) {
                    Py_ssize_t first = starts[height], stop = starts[height + 1];
                    for (Py_ssize_t at = first; at < stop; at++) {
                        PendingHash *pending = &merge->hashes[order[at]];
                        jobs[at - first].data = pending->data;
                        jobs[at - first].length = (size_t)pending->length;
                        jobs[at - first].out = pending->out;
                    }
                    status = keccak256_jobs(jobs, (size_t)(stop - first), keccak_lanes);
                    for (Py_ssize_t at = first; at < stop && status == 0; at++) {
                        PendingHash *pending = &merge->hashes[order[at]];
                        for (Patch *patch = pending->patches; patch != NULL; patch = patch->next)
                            memcpy(patch->at, pending->out, 32);
                    }
                }
            }
        }
        free(starts);
        warm_give(jobs, jobs_size);
        warm_give(order, order_size);
        if (status < 0)
            return -1;
    }
    for (Py_ssize_t index = 0; index < merge->emission_count; index++) {
        Emission *emission = &merge->emissions[index];
        if (emit_record(merge, emission->number, emission->id, emission->record, emission->length, 1) < 0)
            return -1;
        if (emission->cache && emission->epoch == merge->cache_epoch
            && cache_insert(merge->cache, load_be64(emission->id), emission->record, emission->length) < 0)
            return -1;
    }
    merge->deferred_cached = 0;
    return 0;
}

/* Reference and id of a 2-item node whose compact path and second item are given
 * (the Python ``_reference``): embedded under 32 bytes, else stored as rlp + child
 * id + (1 if a child id else 0), encoded straight into the record. */
static int reference_pair(Merge *merge, const uint8_t *compact, Py_ssize_t compact_length, const View *second,
                          int second_is_value, const uint8_t *child_id, Py_ssize_t id_length, View *reference,
                          const uint8_t **id)
{
    Py_ssize_t payload;
    Py_ssize_t length = pair_size(compact, compact_length, second->data, second->length, second_is_value, &payload);
    if (length < 32) { /* (a pending child reference alone is 33 bytes: never in here) */
        uint8_t *embedded = (uint8_t *)arena_alloc(&merge->arena, (size_t)length);
        if (embedded == NULL)
            return -1;
        write_pair(embedded, payload, compact, compact_length, second->data, second->length, second_is_value);
        reference->data = embedded;
        reference->length = length;
        reference->job = 0;
        *id = NULL;
        return 0;
    }
    if (child_id == NULL)
        id_length = 0;
    const uint8_t *raw_id;
    uint64_t number;
    if (allocate_id(merge, &raw_id, &number) < 0)
        return -1;
    uint8_t *out = record_space(merge, length + id_length + 1);
    if (out == NULL)
        return -1;
    write_pair(out, payload, compact, compact_length, second->data, second->length, second_is_value);
    if (!second_is_value && note_copy(merge, second, out + (length - second->length)) < 0)
        return -1;
    if (id_length)
        memcpy(out + length, child_id, (size_t)id_length);
    out[length + id_length] = id_length ? 1 : 0;
    *id = raw_id;
    if (hash_reference(merge, out, length, second_is_value ? 0 : pending_height(merge, second) + 1, reference) < 0)
        return -1;
    return queue_record(merge, number, raw_id, out, length + id_length + 1, 0);
}

/* Encode a result (storing it when hashed): the Python ``_finish``. */
static int finish(Merge *merge, Form *result, View *reference, const uint8_t **id)
{
    if (result == NULL) {
        *reference = EMPTY_VIEW;
        *id = NULL;
        return 0;
    }
    if (result->kind == 'R') {
        *reference = result->item;
        *id = result->id;
        return 0;
    }
    if (result->kind != 'L' && result->kind != 'E') {
        PyErr_SetString(PyExc_SystemError, "trie merge: a loaded branch cannot be finished");
        return -1;
    }
    ArenaMark mark = arena_mark(&merge->scratch);
    int status = -1;
    uint8_t *compact = (uint8_t *)arena_alloc(&merge->scratch, (size_t)(result->path_length / 2 + 1));
    if (compact != NULL) {
        int is_leaf = result->kind == 'L';
        Py_ssize_t compact_length = compact_from_nibbles(result->path, result->path_length, is_leaf, compact);
        if (is_leaf) {
            View value = {result->value, result->value_length, 0};
            status = reference_pair(merge, compact, compact_length, &value, 1, result->value_id,
                                    result->value_id_length, reference, id);
        } else {
            status = reference_pair(merge, compact, compact_length, &result->item, 0, result->id, ID_SIZE,
                                    reference, id);
        }
    }
    arena_release(&merge->scratch, mark);
    return status;
}

/* Store a branch from 17 finished items and 16 ids and cache its record: the
 * Python ``_branch``. */
static int store_branch(Merge *merge, const View *items, const uint8_t *const *ids, View *reference,
                        const uint8_t **id)
{
    Py_ssize_t payload = 0;
    for (int index = 0; index < 17; index++)
        payload += items[index].length;
    if (payload >= BRANCH_HEADER_LIMIT) {
        PyErr_Format(BadTrieNode, "branch node of %zd bytes is too large for a trie node", payload);
        return -1;
    }
    Py_ssize_t encoded_length = header_size(payload) + payload;
    if (encoded_length < 32) {
        uint8_t *embedded = (uint8_t *)arena_alloc(&merge->arena, (size_t)encoded_length);
        if (embedded == NULL)
            return -1;
        uint8_t *out = write_header(embedded, 0xC0, payload);
        for (int index = 0; index < 17; index++) {
            memcpy(out, items[index].data, (size_t)items[index].length);
            out += items[index].length;
        }
        reference->data = embedded; /* (under 32 bytes: no 33-byte child reference in it) */
        reference->length = encoded_length;
        reference->job = 0;
        *id = NULL;
        return 0;
    }
    int id_count = 0;
    for (int index = 0; index < 16; index++)
        id_count += ids[index] != NULL;
    const uint8_t *raw_id;
    uint64_t number;
    if (allocate_id(merge, &raw_id, &number) < 0)
        return -1;
    Py_ssize_t record_length = encoded_length + ID_SIZE * id_count + 1;
    uint8_t *start = record_space(merge, record_length);
    if (start == NULL)
        return -1;
    uint8_t *out = write_header(start, 0xC0, payload);
    int height = 0;
    for (int index = 0; index < 17; index++) {
        memcpy(out, items[index].data, (size_t)items[index].length);
        if (items[index].job) {
            if (note_copy(merge, &items[index], out) < 0)
                return -1;
            int below = pending_height(merge, &items[index]) + 1;
            if (below > height)
                height = below;
        }
        out += items[index].length;
    }
    for (int index = 0; index < 16; index++) {
        if (ids[index] != NULL) {
            memcpy(out, ids[index], ID_SIZE);
            out += ID_SIZE;
        }
    }
    *out = (uint8_t)id_count;
    *id = raw_id;
    if (hash_reference(merge, start, encoded_length, height, reference) < 0)
        return -1;
    return queue_record(merge, number, raw_id, start, record_length, 1);
}

/* ------------------------------------------------------------------------ */
/* Merging                                                                  */
/* ------------------------------------------------------------------------ */

static inline void leaf_value_id(Merge *merge, Py_ssize_t index, const uint8_t **id, Py_ssize_t *length)
{
    if (merge->value_ids == NULL) {
        *id = NULL;
        *length = 0;
    } else {
        *id = merge->value_ids[index];
        *length = merge->value_id_lengths[index];
    }
}

/* ``path[from:to] == other`` with Python's slice clipping. */
static int slice_equals(const uint8_t *path, Py_ssize_t length, Py_ssize_t from, Py_ssize_t to,
                        const uint8_t *other, Py_ssize_t other_length)
{
    Py_ssize_t offset, size;
    clip(length, from, to, &offset, &size);
    return size == other_length && (size == 0 || memcmp(path + offset, other, (size_t)size) == 0);
}

/* New arena path ``prefix + rest``. */
static const uint8_t *join_paths(Merge *merge, const uint8_t *prefix, Py_ssize_t prefix_length,
                                 const uint8_t *rest, Py_ssize_t rest_length)
{
    uint8_t *joined = (uint8_t *)arena_alloc(&merge->arena, (size_t)(prefix_length + rest_length) + 1);
    if (joined == NULL)
        return NULL;
    memcpy(joined, prefix, (size_t)prefix_length);
    if (rest_length)
        memcpy(joined + prefix_length, rest, (size_t)rest_length);
    return joined;
}

/* The node replacing ``result`` when ``prefix`` is put in front of its path: the
 * Python ``_prepend``. ``prefix`` must outlive the merge. */
static int prepend(Merge *merge, const uint8_t *prefix, Py_ssize_t prefix_length, Form *result, Form **out)
{
    if (result == NULL || prefix_length == 0) {
        *out = result;
        return 0;
    }
    if (result->kind == 'R') {
        *out = new_extension(merge, prefix, prefix_length, result->item, result->id);
        return *out == NULL ? -1 : 0;
    }
    const uint8_t *path = join_paths(merge, prefix, prefix_length, result->path, result->path_length);
    if (path == NULL)
        return -1;
    if (result->kind == 'L')
        *out = new_leaf(merge, path, prefix_length + result->path_length, result->value, result->value_length,
                        result->value_id, result->value_id_length);
    else
        *out = new_extension(merge, path, prefix_length + result->path_length, result->item, result->id);
    return *out == NULL ? -1 : 0;
}

static void raise_short_key(void)
{
    PyErr_SetString(TrieError, "a key ends inside the trie's paths: keys must be distinct and as long as the "
                               "trie's keys (or a stored leaf path is malformed)");
}

/* Common prefix length of two paths, the first ``start`` items assumed equal. */
static Py_ssize_t common_prefix_length(const uint8_t *a, Py_ssize_t a_length, const uint8_t *b,
                                       Py_ssize_t b_length, Py_ssize_t start)
{
    Py_ssize_t limit = a_length < b_length ? a_length : b_length;
    Py_ssize_t index = start;
    while (index < limit && a[index] == b[index])
        index++;
    return index;
}

static void empty_branch(View *items, const uint8_t **ids)
{
    for (int index = 0; index < 17; index++)
        items[index] = EMPTY_VIEW;
    for (int index = 0; index < 16; index++)
        ids[index] = NULL;
}

/* A fresh subtree holding ``entries`` (sorted) below ``depth``: the Python ``_build``. */
static int build(Merge *merge, Entry *entries, Py_ssize_t count, Py_ssize_t depth, Form **out)
{
    if (count == 0) {
        *out = NULL;
        return 0;
    }
    if (count == 1) {
        Py_ssize_t offset, length;
        clip(entries[0].path_length, depth, PY_SSIZE_T_MAX, &offset, &length);
        *out = new_leaf(merge, entries[0].path + offset, length, entries[0].value, entries[0].value_length,
                        entries[0].value_id, entries[0].value_id_length);
        return *out == NULL ? -1 : 0;
    }
    if (Py_EnterRecursiveCall(" while building a trie"))
        return -1;
    int status = -1;
    Entry *first = &entries[0];
    Entry *last = &entries[count - 1];
    Py_ssize_t shared = common_prefix_length(first->path, first->path_length, last->path, last->path_length, depth);
    if (shared > depth) {
        Form *below;
        if (build(merge, entries, count, shared, &below) == 0)
            status = prepend(merge, first->path + depth, shared - depth, below, out);
        goto done;
    }
    View finished[17];
    const uint8_t *finished_ids[16];
    empty_branch(finished, finished_ids);
    Py_ssize_t start = 0;
    while (start < count) {
        if (depth >= entries[start].path_length) {
            raise_short_key();
            goto done;
        }
        uint8_t nibble = entries[start].path[depth];
        Py_ssize_t stop = start + 1;
        while (stop < count) {
            if (depth >= entries[stop].path_length) {
                raise_short_key();
                goto done;
            }
            if (entries[stop].path[depth] != nibble)
                break;
            stop++;
        }
        Form *child;
        if (build(merge, entries + start, stop - start, depth + 1, &child) < 0
            || finish(merge, child, &finished[nibble], &finished_ids[nibble]) < 0)
            goto done;
        start = stop;
    }
    View reference;
    const uint8_t *id;
    if (store_branch(merge, finished, finished_ids, &reference, &id) == 0) {
        *out = new_reference(merge, reference, id);
        status = *out == NULL ? -1 : 0;
    }
done:
    Py_LeaveRecursiveCall();
    return status;
}

static int compare_entries(const void *left, const void *right)
{
    const Entry *a = (const Entry *)left;
    const Entry *b = (const Entry *)right;
    Py_ssize_t shorter = a->path_length < b->path_length ? a->path_length : b->path_length;
    int order = shorter ? memcmp(a->path, b->path, (size_t)shorter) : 0;
    if (order)
        return order;
    if (a->path_length != b->path_length)
        return a->path_length < b->path_length ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* Changes under a stored leaf that is not simply updated: the Python dict merge of
 * the changes (last one wins) with the leaf (kept unless changed), then ``_build``. */
static int merge_into_leaf(Merge *merge, Form *leaf, Py_ssize_t depth, Py_ssize_t lo, Py_ssize_t hi, Form **out)
{
    Py_ssize_t changes = hi - lo;
    Entry *entries = (Entry *)arena_alloc(&merge->arena, sizeof(Entry) * (size_t)(changes + 1));
    if (entries == NULL)
        return -1;
    for (Py_ssize_t index = lo; index < hi; index++) {
        Entry *entry = &entries[index - lo];
        Py_ssize_t offset, length;
        clip(merge->path_lengths[index], depth, PY_SSIZE_T_MAX, &offset, &length);
        entry->path = merge->paths[index] + offset;
        entry->path_length = length;
        entry->value = merge->values[index];
        entry->value_length = merge->value_lengths[index];
        leaf_value_id(merge, index, &entry->value_id, &entry->value_id_length);
        entry->order = index;
    }
    qsort(entries, (size_t)changes, sizeof(Entry), compare_entries);
    /* Keep the last change of each path (the dict's last write). */
    Py_ssize_t distinct = 0;
    for (Py_ssize_t index = 0; index < changes; index++) {
        if (index + 1 < changes && entries[index + 1].path_length == entries[index].path_length
            && memcmp(entries[index + 1].path, entries[index].path, (size_t)entries[index].path_length) == 0)
            continue;
        entries[distinct++] = entries[index];
    }
    /* The stored leaf, unless a change has its path (``setdefault``). */
    Entry stored = {leaf->path, leaf->path_length, leaf->value, leaf->value_length, leaf->value_id,
                    leaf->value_id_length, -1};
    Py_ssize_t position = 0;
    int found = 0;
    while (position < distinct) {
        int order = compare_entries(&entries[position], &stored);
        if (order >= 0) {
            found = entries[position].path_length == stored.path_length
                    && memcmp(entries[position].path, stored.path, (size_t)stored.path_length) == 0;
            break;
        }
        position++;
    }
    if (!found) {
        memmove(entries + position + 1, entries + position, sizeof(Entry) * (size_t)(distinct - position));
        entries[position] = stored;
        distinct++;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t index = 0; index < distinct; index++)
        if (entries[index].value_length)
            entries[kept++] = entries[index];
    return build(merge, entries, kept, 0, out);
}

/* The leaf-hash shortcut: is ``item`` the leaf of key ``index`` below ``child_depth``
 * with its previous value? Writes the key's leaf path (compact) for reuse. */
static int is_previous_leaf(Merge *merge, View item, Py_ssize_t index, Py_ssize_t child_depth, uint8_t *compact,
                            Py_ssize_t *compact_length)
{
    *compact_length = compact_from_key(merge->keys[index], merge->key_lengths[index], child_depth, compact);
    Py_ssize_t encoded_length;
    uint8_t *old_leaf = encode_pair(merge, compact, *compact_length, merge->previous[index],
                                    merge->previous_lengths[index], 1, &encoded_length);
    if (old_leaf == NULL)
        return -1;
    if (encoded_length < 32)
        return item.length == encoded_length && memcmp(item.data, old_leaf, (size_t)encoded_length) == 0;
    if (!is_hash_reference(item.data, item.length))
        return 0;
    uint8_t hash[32];
    keccak256(old_leaf, (size_t)encoded_length, hash);
    return memcmp(item.data + 1, hash, 32) == 0;
}

/* The leaf-hash shortcut for change ``index`` under ``item``: 1 (and the new leaf's
 * reference and id in ``reference``/``id``, ``replaced`` noted) when the child is that
 * key's leaf with its previous value, 0 when not, -1 on error. With ``as_result`` the
 * new leaf is not encoded but returned as an 'L' result in ``*result`` (NULL: deleted). */
static int try_previous_leaf(Merge *merge, View item, const uint8_t *item_id, Py_ssize_t index,
                             Py_ssize_t child_depth, int as_result, View *reference, const uint8_t **id,
                             Form **result)
{
    ArenaMark mark = arena_mark(&merge->scratch);
    int matched = -1;
    uint8_t *compact = (uint8_t *)arena_alloc(&merge->scratch, (size_t)merge->key_lengths[index] + 2);
    Py_ssize_t compact_length = 0;
    if (compact != NULL)
        matched = is_previous_leaf(merge, item, index, child_depth, compact, &compact_length);
    if (matched == 1 && item_id != NULL && note_replaced(merge, item_id) < 0)
        matched = -1;
    if (matched == 1) {
        const uint8_t *value_id;
        Py_ssize_t value_id_length;
        leaf_value_id(merge, index, &value_id, &value_id_length);
        if (as_result) {
            *result = NULL;
            if (merge->value_lengths[index]) {
                *result = new_leaf(merge, merge->paths[index] + child_depth,
                                   merge->path_lengths[index] - child_depth, merge->values[index],
                                   merge->value_lengths[index], value_id, value_id_length);
                if (*result == NULL)
                    matched = -1;
            }
        } else {
            View value = {merge->values[index], merge->value_lengths[index], 0};
            if (reference_pair(merge, compact, compact_length, &value, 1, value_id, value_id_length, reference, id)
                < 0)
                matched = -1;
        }
    }
    arena_release(&merge->scratch, mark);
    return matched;
}

static int update_node(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth, Py_ssize_t lo,
                       Py_ssize_t hi, Form **out);

/* End of the run of changes from ``start`` sharing nibble ``depth`` (-1: a key too short). */
static Py_ssize_t run_end(Merge *merge, Py_ssize_t start, Py_ssize_t hi, Py_ssize_t depth)
{
    if (depth >= merge->path_lengths[start]) {
        raise_short_key();
        return -1;
    }
    uint8_t nibble = merge->paths[start][depth];
    Py_ssize_t stop = start + 1;
    while (stop < hi) {
        if (depth >= merge->path_lengths[stop]) {
            raise_short_key();
            return -1;
        }
        if (merge->paths[stop][depth] != nibble)
            break;
        stop++;
    }
    return stop;
}

/* ``_update`` of a stored branch when the batch deletes nothing: the Python
 * ``_merge_branch``. Every changed child is finished as soon as it is merged. */
static int merge_branch(Merge *merge, const Branch *branch, Py_ssize_t depth, Py_ssize_t lo, Py_ssize_t hi,
                        View *reference, const uint8_t **id)
{
    if (Py_EnterRecursiveCall(" while merging a trie"))
        return -1;
    int status = -1;
    View finished[17];
    const uint8_t *finished_ids[16];
    memcpy(finished, branch->items, sizeof finished);
    memcpy(finished_ids, branch->ids, sizeof finished_ids);
    Py_ssize_t child_depth = depth + 1;
    Py_ssize_t start = lo;
    /* The children are looked up one after another: ask for their table slots now, so
     * that the memory fetches overlap instead of each one stalling the walk. */
    for (int index = 0; index < 16; index++)
        if (branch->ids[index] != NULL)
            cache_prefetch_slot(merge->cache, branch->ids[index]);
    while (start < hi) {
        Py_ssize_t stop = run_end(merge, start, hi, depth);
        if (stop < 0)
            goto done;
        if (stop < hi && branch->ids[merge->paths[stop][depth]] != NULL) /* the next child's record */
            cache_prefetch_record(merge->cache, branch->ids[merge->paths[stop][depth]]);
        uint8_t nibble = merge->paths[start][depth];
        View item = branch->items[nibble];
        const uint8_t *item_id = branch->ids[nibble];
        CacheSlot *cached = NULL; /* found by the leaf-hash check's lookup: not looked up again */
        if (stop - start == 1 && merge->previous != NULL && merge->previous_lengths[start]) {
            if (item_id != NULL)
                cached = cache_lookup(merge, item_id);
            if (cached == NULL) {
                int matched = try_previous_leaf(merge, item, item_id, start, child_depth, 0, &finished[nibble],
                                                &finished_ids[nibble], NULL);
                if (matched < 0)
                    goto done;
                if (matched) {
                    start = stop;
                    continue;
                }
            }
        }
        Form *child;
        if (item_id != NULL) {
            if (load_id_cached(merge, item_id, cached, &child) < 0)
                goto done;
            if (child->kind == 'B' && is_empty_view(child->branch->items[16])) {
                if (note_replaced(merge, item_id) < 0
                    || merge_branch(merge, child->branch, child_depth, start, stop, &finished[nibble],
                                    &finished_ids[nibble]) < 0)
                    goto done;
                start = stop;
                continue;
            }
        } else {
            Slot slot = {item, NULL, NULL};
            if (load_child(merge, &slot, &child) < 0)
                goto done;
        }
        Form *result;
        if (update_node(merge, child, item_id, child_depth, start, stop, &result) < 0
            || finish(merge, result, &finished[nibble], &finished_ids[nibble]) < 0)
            goto done;
        start = stop;
    }
    status = store_branch(merge, finished, finished_ids, reference, id);
done:
    Py_LeaveRecursiveCall();
    return status;
}

/* Merge changes ``lo:hi`` (sharing the first ``depth`` nibbles) into ``loaded``
 * (NULL for no node): the Python ``_update``. ``loaded_key`` is the id as bytes
 * when the caller has it (else made from ``loaded_id`` when needed). */
static int update_node_inner(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth,
                             Py_ssize_t lo, Py_ssize_t hi, Form **out)
{
    if (loaded_id != NULL && note_replaced(merge, loaded_id) < 0)
        return -1;
    if (loaded == NULL) {
        Entry *entries = (Entry *)arena_alloc(&merge->arena, sizeof(Entry) * (size_t)(hi - lo));
        if (entries == NULL)
            return -1;
        Py_ssize_t chosen = 0;
        for (Py_ssize_t index = lo; index < hi; index++) {
            if (!merge->value_lengths[index])
                continue;
            Entry *entry = &entries[chosen++];
            entry->path = merge->paths[index];
            entry->path_length = merge->path_lengths[index];
            entry->value = merge->values[index];
            entry->value_length = merge->value_lengths[index];
            leaf_value_id(merge, index, &entry->value_id, &entry->value_id_length);
            entry->order = index;
        }
        return build(merge, entries, chosen, depth, out);
    }
    Slot slots[17];
    int split;
    if (loaded->kind == 'L') {
        if (hi - lo == 1
            && slice_equals(merge->paths[lo], merge->path_lengths[lo], depth, PY_SSIZE_T_MAX, loaded->path,
                            loaded->path_length)) { /* the common case: a value update */
            if (!merge->value_lengths[lo]) {
                *out = NULL;
                return 0;
            }
            const uint8_t *value_id;
            Py_ssize_t value_id_length;
            leaf_value_id(merge, lo, &value_id, &value_id_length);
            *out = new_leaf(merge, loaded->path, loaded->path_length, merge->values[lo], merge->value_lengths[lo],
                            value_id, value_id_length);
            return *out == NULL ? -1 : 0;
        }
        return merge_into_leaf(merge, loaded, depth, lo, hi, out);
    }
    if (loaded->kind == 'E') {
        const uint8_t *path = loaded->path;
        Py_ssize_t path_length = loaded->path_length;
        Py_ssize_t end = depth + path_length;
        if (slice_equals(merge->paths[lo], merge->path_lengths[lo], depth, end, path, path_length)
            && slice_equals(merge->paths[hi - 1], merge->path_lengths[hi - 1], depth, end, path, path_length)) {
            Slot child_slot = {loaded->item, NULL, loaded->id};
            Form *child, *result;
            if (load_child(merge, &child_slot, &child) < 0
                || update_node(merge, child, loaded->id, end, lo, hi, &result) < 0)
                return -1;
            return prepend(merge, path, path_length, result, out);
        }
        /* Not every change is under the extension: continue as the equivalent branch. */
        for (int index = 0; index < 17; index++) {
            slots[index].item = EMPTY_VIEW;
            slots[index].unstored = NULL;
            slots[index].id = NULL;
        }
        if (path_length == 1) {
            slots[path[0]].item = loaded->item;
            slots[path[0]].id = loaded->id;
        } else {
            Form *rest = new_extension(merge, path + 1, path_length - 1, loaded->item, loaded->id);
            if (rest == NULL)
                return -1;
            slots[path[0]].unstored = rest;
        }
        split = 1;
    } else if (loaded->kind == 'B') {
        const Branch *branch = loaded->branch;
        if (!merge->deletes && is_empty_view(branch->items[16])) {
            View reference;
            const uint8_t *id;
            if (merge_branch(merge, branch, depth, lo, hi, &reference, &id) < 0)
                return -1;
            *out = new_reference(merge, reference, id);
            return *out == NULL ? -1 : 0;
        }
        for (int index = 0; index < 17; index++) {
            slots[index].item = branch->items[index];
            slots[index].unstored = NULL;
            slots[index].id = index < 16 ? branch->ids[index] : NULL;
        }
        split = 0;
    } else {
        PyErr_SetString(PyExc_SystemError, "trie merge: unexpected node form");
        return -1;
    }
    if (!is_empty_view(slots[16].item)) {
        PyErr_SetString(BadTrieNode, "branch values do not occur in a trie of equal-length keys");
        return -1;
    }
    Form *results[16];
    int has_result[16] = {0};
    int result_order[16];
    int result_count = 0;
    Py_ssize_t child_depth = depth + 1;
    Py_ssize_t start = lo;
    while (start < hi) {
        Py_ssize_t stop = run_end(merge, start, hi, depth);
        if (stop < 0)
            return -1;
        uint8_t nibble = merge->paths[start][depth];
        Slot *slot = &slots[nibble];
        Form *result = NULL;
        int done = 0;
        if (stop - start == 1 && merge->previous != NULL && merge->previous_lengths[start] && slot->unstored == NULL) {
            int cached = slot->id != NULL && cache_lookup(merge, slot->id) != NULL;
            if (!cached) {
                int matched = try_previous_leaf(merge, slot->item, slot->id, start, child_depth, 1, NULL,
                                                NULL, &result);
                if (matched < 0)
                    return -1;
                done = matched;
            }
        }
        if (!done) {
            Form *child;
            if (load_child(merge, slot, &child) < 0
                || update_node(merge, child, slot->id, child_depth, start, stop, &result) < 0)
                return -1;
        }
        if (!has_result[nibble]) {
            has_result[nibble] = 1;
            result_order[result_count++] = nibble;
        }
        results[nibble] = result;
        start = stop;
    }
    View finished[17];
    const uint8_t *finished_ids[16];
    View reference;
    const uint8_t *id;
    int any_removed = 0;
    for (int index = 0; index < result_count; index++)
        if (results[result_order[index]] == NULL)
            any_removed = 1;
    if (!split && !any_removed) {
        /* A stored branch has two or more children and none was removed: still a branch. */
        for (int index = 0; index < 17; index++)
            finished[index] = slots[index].item;
        for (int index = 0; index < 16; index++)
            finished_ids[index] = slots[index].id;
        for (int index = 0; index < result_count; index++) {
            int nibble = result_order[index];
            if (finish(merge, results[nibble], &finished[nibble], &finished_ids[nibble]) < 0)
                return -1;
        }
        if (store_branch(merge, finished, finished_ids, &reference, &id) < 0)
            return -1;
        *out = new_reference(merge, reference, id);
        return *out == NULL ? -1 : 0;
    }
    int live[16];
    int live_count = 0;
    for (int nibble = 0; nibble < 16; nibble++) {
        int alive = has_result[nibble] ? results[nibble] != NULL
                                       : (slots[nibble].unstored != NULL || !is_empty_view(slots[nibble].item));
        if (alive)
            live[live_count++] = nibble;
    }
    if (live_count >= 2) {
        finished[16] = EMPTY_VIEW;
        for (int nibble = 0; nibble < 16; nibble++) {
            int status;
            if (has_result[nibble]) {
                status = finish(merge, results[nibble], &finished[nibble], &finished_ids[nibble]);
            } else if (slots[nibble].unstored != NULL) {
                status = finish(merge, slots[nibble].unstored, &finished[nibble], &finished_ids[nibble]);
            } else {
                finished[nibble] = slots[nibble].item;
                finished_ids[nibble] = slots[nibble].id;
                status = 0;
            }
            if (status < 0)
                return -1;
        }
        if (store_branch(merge, finished, finished_ids, &reference, &id) < 0)
            return -1;
        *out = new_reference(merge, reference, id);
        return *out == NULL ? -1 : 0;
    }
    if (live_count == 0) {
        *out = NULL;
        return 0;
    }
    int only = live[0];
    Form *result;
    if (has_result[only]) {
        result = results[only];
    } else if (as_result(merge, &slots[only], &result) < 0) {
        return -1;
    }
    return prepend(merge, NIBBLE_VALUES + only, 1, result, out);
}

static int update_node(Merge *merge, Form *loaded, const uint8_t *loaded_id, Py_ssize_t depth, Py_ssize_t lo,
                       Py_ssize_t hi, Form **out)
{
    if (Py_EnterRecursiveCall(" while merging a trie"))
        return -1;
    int status = update_node_inner(merge, loaded, loaded_id, depth, lo, hi, out);
    Py_LeaveRecursiveCall();
    return status;
}

/* A tuple snapshot of an argument sequence aligned with the keys (NULL on error). */
static PyObject *aligned_tuple(PyObject *sequence, Py_ssize_t count, const char *name)
{
    PyObject *tuple = PySequence_Tuple(sequence);
    if (tuple == NULL)
        return NULL;
    if (PyTuple_GET_SIZE(tuple) != count) {
        PyErr_Format(TrieError, "%s must be aligned with keys (%zd keys, %zd %s)", name, count,
                     PyTuple_GET_SIZE(tuple), name);
        Py_DECREF(tuple);
        return NULL;
    }
    return tuple;
}

/* Raw views of a tuple of bytes (None counts as b"" where ``allow_none``). */
static int bytes_views(Merge *merge, PyObject *tuple, const char *name, int allow_none, const uint8_t ***data,
                       Py_ssize_t **lengths)
{
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    *data = (const uint8_t **)arena_alloc(&merge->arena, sizeof(uint8_t *) * (size_t)(count + 1));
    *lengths = (Py_ssize_t *)arena_alloc(&merge->arena, sizeof(Py_ssize_t) * (size_t)(count + 1));
    if (*data == NULL || *lengths == NULL)
        return -1;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, index);
        if (PyBytes_Check(item)) {
            (*data)[index] = bytes_data(item);
            (*lengths)[index] = PyBytes_GET_SIZE(item);
        } else if (allow_none && item == Py_None) {
            (*data)[index] = (const uint8_t *)"";
            (*lengths)[index] = 0;
        } else {
            PyErr_Format(PyExc_TypeError, "%s must be bytes, not %.100s", name, Py_TYPE(item)->tp_name);
            return -1;
        }
    }
    return 0;
}

/* The merge of a prepared batch (``merge`` holds the keys, values and optional hints as
 * raw arrays, ``count`` > 0) into the trie at ``root``/``root_id``: (root, root id),
 * or NULL with an exception. Frees the merge's storage either way. */
static PyObject *run_merge(Merge *merge, PyObject *root, PyObject *root_id)
{
    PyObject *answer = NULL;
    merge->cache = merge->updater->parsed;
    Py_INCREF(merge->cache); /* a callback may replace the updater's cache */
    cache_begin_merge(merge->cache);
    if (Py_IS_TYPE(merge->updater->store, &NodeBatchType)) {
        merge->batch = (NodeBatch *)merge->updater->store;
        Py_INCREF(merge->batch); /* its arena holds the new records */
        merge->batch->merging++;
    }
    Py_ssize_t count = merge->count;
    Py_ssize_t total_nibbles = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        total_nibbles += 2 * merge->key_lengths[index];
        if (!merge->value_lengths[index])
            merge->deletes = 1;
    }
    uint8_t *nibbles = (uint8_t *)arena_alloc(&merge->arena, (size_t)total_nibbles + 1);
    merge->paths = (const uint8_t **)arena_alloc(&merge->arena, sizeof(uint8_t *) * (size_t)count);
    merge->path_lengths = (Py_ssize_t *)arena_alloc(&merge->arena, sizeof(Py_ssize_t) * (size_t)count);
    if (nibbles == NULL || merge->paths == NULL || merge->path_lengths == NULL)
        goto done;
    for (Py_ssize_t index = 0; index < count; index++) {
        const uint8_t *key = merge->keys[index];
        merge->paths[index] = nibbles;
        merge->path_lengths[index] = 2 * merge->key_lengths[index];
        for (Py_ssize_t byte = 0; byte < merge->key_lengths[index]; byte++) {
            *nibbles++ = key[byte] >> 4;
            *nibbles++ = key[byte] & 0x0F;
        }
    }

    Form *result = NULL;
    if (PyBytes_GET_SIZE(root) == 32 && memcmp(PyBytes_AS_STRING(root), EMPTY_TRIE_ROOT, 32) == 0) {
        if (update_node(merge, NULL, NULL, 0, 0, count, &result) < 0)
            goto done;
    } else if (PyBytes_GET_SIZE(root_id) == 0) {
        raise_with_hex(MissingTrieNode, "no node id given for root %U", root);
        goto done;
    } else if (PyBytes_GET_SIZE(root_id) != ID_SIZE) {
        raise_with_hex(MissingTrieNode, "root node id %U is not an 8-byte node id", root_id);
        goto done;
    } else {
        Form *loaded;
        const uint8_t *id = (const uint8_t *)arena_alloc(&merge->arena, ID_SIZE);
        if (id == NULL)
            goto done;
        memcpy((uint8_t *)id, PyBytes_AS_STRING(root_id), ID_SIZE);
        if (load_id(merge, id, &loaded) < 0 || update_node(merge, loaded, id, 0, 0, count, &result) < 0)
            goto done;
    }
    View reference;
    const uint8_t *reference_id;
    if (finish(merge, result, &reference, &reference_id) < 0 || complete_merge(merge) < 0)
        goto done;
    if (is_empty_view(reference)) {
        answer = Py_BuildValue("(y#O)", (const char *)EMPTY_TRIE_ROOT, (Py_ssize_t)32, NO_ID);
    } else if (is_hash_reference(reference.data, reference.length)) {
        if (reference_id == NULL)
            answer = Py_BuildValue("(y#O)", (const char *)reference.data + 1, (Py_ssize_t)32, NO_ID);
        else
            answer = Py_BuildValue("(y#y#)", (const char *)reference.data + 1, (Py_ssize_t)32,
                                   (const char *)reference_id, (Py_ssize_t)ID_SIZE);
    } else {
        /* A root under 32 bytes is still stored and named by its hash. */
        const uint8_t *raw_id;
        uint64_t number;
        uint8_t *record = (uint8_t *)arena_alloc(&merge->arena, (size_t)reference.length + 1);
        if (record == NULL || allocate_id(merge, &raw_id, &number) < 0)
            goto done;
        memcpy(record, reference.data, (size_t)reference.length);
        record[reference.length] = 0;
        if (emit_record(merge, number, raw_id, record, reference.length + 1, 0) == 0) {
            uint8_t hash[32];
            keccak256(reference.data, (size_t)reference.length, hash);
            answer = Py_BuildValue("(y#y#)", (const char *)hash, (Py_ssize_t)32, (const char *)raw_id,
                                   (Py_ssize_t)ID_SIZE);
        }
    }
done:
    warm_give(merge->hashes, sizeof(PendingHash) * (size_t)merge->hash_capacity);
    warm_give(merge->emissions, sizeof(Emission) * (size_t)merge->emission_capacity);
    merge->hashes = NULL;
    merge->emissions = NULL;
    cache_end_merge(merge->cache);
    Py_DECREF(merge->cache);
    if (merge->batch != NULL) {
        merge->batch->merging--;
        Py_DECREF(merge->batch);
        merge->batch = NULL;
    }
    arena_free(&merge->arena);
    arena_free(&merge->scratch);
    release_held(&merge->held);
    return answer;
}

static int check_root_arguments(PyObject *root, PyObject *root_id)
{
    if (!PyBytes_Check(root) || !PyBytes_Check(root_id)) {
        PyErr_SetString(PyExc_TypeError, "root and root_id must be bytes");
        return -1;
    }
    return 0;
}

static PyObject *updater_update(Updater *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"root", "root_id", "keys", "values", "previous", "value_ids", NULL};
    PyObject *root, *root_id, *keys, *values;
    PyObject *previous = Py_None, *value_ids = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|OO:update", keywords, &root, &root_id, &keys, &values,
                                     &previous, &value_ids))
        return NULL;
    int any = PyObject_IsTrue(keys);
    if (any < 0)
        return NULL;
    if (!any)
        return PyTuple_Pack(2, root, root_id);
    if (check_root_arguments(root, root_id) < 0)
        return NULL;
    Merge merge;
    memset(&merge, 0, sizeof merge);
    merge.updater = self;
    PyObject *key_tuple = NULL, *value_tuple = NULL, *previous_tuple = NULL, *id_tuple = NULL;
    PyObject *answer = NULL;
    Py_INCREF(self); /* callbacks may drop the last other reference */
    Py_INCREF(root_id);
    Py_INCREF(root);

    key_tuple = PySequence_Tuple(keys);
    if (key_tuple == NULL)
        goto fail;
    Py_ssize_t count = PyTuple_GET_SIZE(key_tuple);
    merge.count = count;
    value_tuple = aligned_tuple(values, count, "values");
    if (value_tuple == NULL)
        goto fail;
    if (previous != Py_None && (previous_tuple = aligned_tuple(previous, count, "previous")) == NULL)
        goto fail;
    if (value_ids != Py_None && (id_tuple = aligned_tuple(value_ids, count, "value_ids")) == NULL)
        goto fail;
    if (bytes_views(&merge, key_tuple, "keys", 0, &merge.keys, &merge.key_lengths) < 0
        || bytes_views(&merge, value_tuple, "values", 0, &merge.values, &merge.value_lengths) < 0)
        goto fail;
    if (previous_tuple != NULL
        && bytes_views(&merge, previous_tuple, "previous values", 1, &merge.previous, &merge.previous_lengths) < 0)
        goto fail;
    if (id_tuple != NULL
        && bytes_views(&merge, id_tuple, "value_ids", 0, &merge.value_ids, &merge.value_id_lengths) < 0)
        goto fail;
    answer = run_merge(&merge, root, root_id);
    goto done;
fail:
    arena_free(&merge.arena);
    arena_free(&merge.scratch);
    release_held(&merge.held);
done:
    Py_XDECREF(key_tuple);
    Py_XDECREF(value_tuple);
    Py_XDECREF(previous_tuple);
    Py_XDECREF(id_tuple);
    Py_DECREF(root);
    Py_DECREF(root_id);
    Py_DECREF(self);
    return answer;
}

/* ------------------------------------------------------------------------ */
/* The type                                                                 */
/* ------------------------------------------------------------------------ */

static int updater_init(Updater *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fetch", "store", "next_id", "parsed", "parsed_cache_size", NULL};
    PyObject *fetch, *store, *next_id = NULL, *parsed = Py_None;
    Py_ssize_t parsed_cache_size = 200000;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OOn:BatchTrieUpdater", keywords, &fetch, &store, &next_id,
                                     &parsed, &parsed_cache_size))
        return -1;
    if (next_id == NULL)
        self->next_id = 1;
    else if (PyObject_SetAttrString((PyObject *)self, "next_id", next_id) < 0)
        return -1;
    PyObject *cache;
    if (parsed == Py_None) {
        cache = PyObject_CallNoArgs((PyObject *)&NodeCacheType);
        if (cache == NULL)
            return -1;
    } else if (Py_IS_TYPE(parsed, &NodeCacheType)) {
        cache = parsed;
        Py_INCREF(cache);
    } else {
        PyErr_Format(PyExc_TypeError, "parsed must be a NodeCache, not %.100s", Py_TYPE(parsed)->tp_name);
        return -1;
    }
    PyObject *replaced = PyList_New(0);
    if (replaced == NULL) {
        Py_DECREF(cache);
        return -1;
    }
    Py_XSETREF(self->parsed, (NodeCache *)cache);
    Py_XSETREF(self->replaced, replaced);
    Py_INCREF(fetch);
    Py_XSETREF(self->fetch, fetch);
    Py_INCREF(store);
    Py_XSETREF(self->store, store);
    self->parsed_limit = parsed_cache_size;
    return 0;
}

static PyObject *updater_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    Updater *self = (Updater *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    /* Valid (if useless) until __init__ runs, so no method can meet a NULL. */
    self->fetch = Py_None;
    self->store = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(Py_None);
    self->replaced = PyList_New(0);
    self->parsed = (NodeCache *)PyObject_CallNoArgs((PyObject *)&NodeCacheType);
    self->next_id = 1;
    self->parsed_limit = 200000;
    if (self->replaced == NULL || self->parsed == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int updater_traverse(Updater *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fetch);
    Py_VISIT(self->store);
    Py_VISIT(self->replaced);
    Py_VISIT(self->parsed);
    return 0;
}

static int updater_clear(Updater *self)
{
    Py_CLEAR(self->fetch);
    Py_CLEAR(self->store);
    Py_CLEAR(self->replaced);
    Py_CLEAR(self->parsed);
    return 0;
}

static void updater_dealloc(Updater *self)
{
    PyObject_GC_UnTrack(self);
    updater_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *updater_update_rows(Updater *self, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef updater_methods[] = {
    {"update", (PyCFunction)(void (*)(void))updater_update, METH_VARARGS | METH_KEYWORDS,
     "update(root, root_id, keys, values, previous=None, value_ids=None) -> (root_hash, root_id)\n\n"
     "Merge sorted, distinct, equal-length keys (b\"\" values delete) into the trie at root."},
    {"update_rows", (PyCFunction)(void (*)(void))updater_update_rows, METH_FASTCALL,
     "update_rows(root, root_id, rows) -> (root_hash, root_id)\n\n"
     "update() with the keys, values, previous values and value ids of an AccountRows, sorted by key."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef updater_getset[] = {
    FIELD("next_id", Updater, next_id, FIELD_ULONGLONG, NULL, "Number of the next node id to write."),
    FIELD("replaced", Updater, replaced, FIELD_OBJECT, NULL, "Ids of the stored nodes the merges replaced."),
    FIELD("parsed", Updater, parsed, FIELD_OBJECT, &NodeCacheType,
          "Parse cache: id -> record bytes of a branch or extension (kept across calls)."),
    FIELD("_fetch", Updater, fetch, FIELD_OBJECT, NULL, "fetch(id) -> record (KeyError when absent)."),
    FIELD("_store", Updater, store, FIELD_OBJECT, NULL, "store(id, record)."),
    FIELD("_parsed_limit", Updater, parsed_limit, FIELD_SSIZE, NULL, "Parse cache size limit."),
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject UpdaterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyperion.state.metisdb._trie_native.BatchTrieUpdater",
    .tp_basicsize = sizeof(Updater),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "BatchTrieUpdater(fetch, store, next_id=1, parsed=None, parsed_cache_size=200_000)\n\n"
              "C implementation of hyperion.state.metisdb.batchtrie.BatchTrieUpdater: merges sorted\n"
              "changes into tries of one node log with the same store calls, replaced ids and\n"
              "cached ids as the Python class. store may be a callable or a list (appended\n"
              "(id, record) tuples); parsed caches raw records (id -> record bytes).",
    .tp_new = updater_new,
    .tp_init = (initproc)updater_init,
    .tp_dealloc = (destructor)updater_dealloc,
    .tp_traverse = (traverseproc)updater_traverse,
    .tp_clear = (inquiry)updater_clear,
    .tp_methods = updater_methods,
    .tp_getset = updater_getset,
};

static PyObject *updater_update_rows(Updater *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !Py_IS_TYPE(args[2], &AccountRowsType)) {
        PyErr_SetString(PyExc_TypeError, "update_rows(root, root_id, rows: AccountRows)");
        return NULL;
    }
    PyObject *root = args[0], *root_id = args[1];
    AccountRows *rows = (AccountRows *)args[2];
    if (rows->count == 0)
        return PyTuple_Pack(2, root, root_id);
    if (check_root_arguments(root, root_id) < 0)
        return NULL;
    size_t order_bytes;
    Row **order = rows_sorted(rows, &order_bytes);
    if (order == NULL)
        return NULL;
    Merge merge;
    memset(&merge, 0, sizeof merge);
    merge.updater = self;
    Py_ssize_t count = rows->count;
    merge.count = count;
    size_t pointers = sizeof(uint8_t *) * (size_t)count, lengths = sizeof(Py_ssize_t) * (size_t)count;
    merge.keys = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.values = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.previous = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.value_ids = (const uint8_t **)arena_alloc(&merge.arena, pointers);
    merge.key_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.value_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.previous_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    merge.value_id_lengths = (Py_ssize_t *)arena_alloc(&merge.arena, lengths);
    if (!merge.keys || !merge.values || !merge.previous || !merge.value_ids || !merge.key_lengths
        || !merge.value_lengths || !merge.previous_lengths || !merge.value_id_lengths) {
        arena_free(&merge.arena);
        warm_give(order, order_bytes);
        return NULL;
    }
    for (Py_ssize_t index = 0; index < count; index++) {
        Row *row = order[index];
        merge.keys[index] = row->key;
        merge.key_lengths[index] = row->key_length;
        merge.values[index] = row->leaf;
        merge.value_lengths[index] = row->leaf_length;
        merge.previous[index] = row->old;
        merge.previous_lengths[index] = row->old_length;
        merge.value_ids[index] = row->id;
        merge.value_id_lengths[index] = row->id_length;
    }
    warm_give(order, order_bytes);
    Py_INCREF(self);
    Py_INCREF(rows); /* its arena backs the merge's views */
    Py_INCREF(root);
    Py_INCREF(root_id);
    PyObject *answer = run_merge(&merge, root, root_id);
    Py_DECREF(root_id);
    Py_DECREF(root);
    Py_DECREF(rows);
    Py_DECREF(self);
    return answer;
}
