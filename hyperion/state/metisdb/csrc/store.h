/* The node store's C side: NodeCache, the merges' parse cache (node id -> branch or
 * extension record), and NodeBatch, the records one commit's merges create. */
#ifndef METISDB_STORE_H
#define METISDB_STORE_H

#include "common.h"
#include "id_table.h"
#include "memory.h"

/* Records are kept in blocks of RECORD_GRAIN-byte size classes, and freed blocks go
 * to per-class free lists for the next ones: a commit replaces about as many
 * branches as it creates, and the allocator's own bins handle that churn poorly. */
#define RECORD_GRAIN 64
#define RECORD_CLASSES 18 /* up to 1152 bytes; larger records use malloc */

typedef struct {
    IdSlot key;      /* key.id: the node id; key.size: the record's length */
    uint8_t *record; /* rlp + child ids + count byte */
} CacheSlot;

typedef struct {
    uint8_t *record;
    Py_ssize_t length;
} Buried;

typedef struct NodeCacheStruct {
    PyObject_HEAD
    IdTable table; /* of CacheSlot */
    Buried *graveyard; /* left the cache during a merge: freed when merges end */
    size_t buried, graveyard_capacity;
    int merging;
    uint8_t *free_blocks[RECORD_CLASSES]; /* linked through their first bytes */
    size_t free_counts[RECORD_CLASSES];
} NodeCache;

extern PyTypeObject NodeCacheType;

/* The cached record of node ``id``, or NULL. */
static inline CacheSlot *cache_find(NodeCache *cache, uint64_t id)
{
    return (CacheSlot *)id_table_find(&cache->table, id);
}

static inline Py_ssize_t cache_slot_length(const CacheSlot *slot)
{
    return (Py_ssize_t)slot->key.size;
}

/* Store a copy of ``data`` under ``id`` (replacing what was there); -1 with an exception. */
int cache_insert(NodeCache *cache, uint64_t id, const uint8_t *data, Py_ssize_t length);
/* Remove ``id`` if present. */
int cache_remove(NodeCache *cache, uint64_t id);
int cache_clear_all(NodeCache *cache);
/* While merges run, records that leave the cache stay allocated (a merge may be
 * reading them); they are freed when the last one ends. */
void cache_begin_merge(NodeCache *cache);
void cache_end_merge(NodeCache *cache);

/* What the merges of one commit write, in id order: records live in an arena and
 * become bytes objects only while ``putmulti`` iterates, one pair at a time, so the
 * objects LMDB copies from are fresh in the CPU cache and freed right after. */
typedef struct {
    uint64_t id;
    const uint8_t *data;
    Py_ssize_t length;
} BatchItem;

typedef struct NodeBatchStruct {
    PyObject_HEAD
    BatchItem *items;
    Py_ssize_t count, capacity;
    Arena arena;
    int merging; /* merges writing records into the arena right now */
} NodeBatch;

extern PyTypeObject NodeBatchType;

/* Append a record whose bytes already live in ``batch``'s arena (``copy_data`` 0) or a copy. */
int batch_add(NodeBatch *batch, uint64_t id, const uint8_t *data, Py_ssize_t length, int copy_data);

#endif
