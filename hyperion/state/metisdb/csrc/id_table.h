/* The one open-addressing hash table of the core, keyed by 64-bit node ids: the
 * merges' parse cache (NodeCache, store.c) and the nodes a verification has reached
 * (NodeHashes, integrity.c) are both this table with their own slot type.
 *
 * Linear probing from the id's Fibonacci hash; the table is at most half full;
 * deletion shifts the following slots back (no tombstones), so every probe run
 * stays unbroken. A lookup is one probe and no Python object in the common case,
 * where a dict of bytes would need an id object, its hash and a key comparison.
 *
 * A slot type is a struct whose first member is an ``IdSlot`` (the table reads and
 * writes only that header; the rest of a claimed slot is zeroed for the caller). */
#ifndef METISDB_ID_TABLE_H
#define METISDB_ID_TABLE_H

#include "common.h"

typedef struct {
    uint64_t id;
    uint32_t used; /* 0: an empty slot */
    uint32_t size; /* free for the slot type (NodeCache: the record's length) */
} IdSlot;

typedef struct {
    uint8_t *slots;          /* capacity * slot_size bytes */
    size_t slot_size;
    size_t capacity;         /* a power of two, or 0 */
    size_t count;
    size_t initial_capacity; /* the first allocation's size */
    int shift;               /* 64 - log2(capacity) */
} IdTable;

void id_table_init(IdTable *table, size_t slot_size, size_t initial_capacity);
void id_table_free(IdTable *table);

static inline IdSlot *id_table_at(const IdTable *table, size_t index)
{
    return (IdSlot *)(table->slots + index * table->slot_size);
}

static inline size_t id_table_home(const IdTable *table, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> table->shift);
}

/* The slot holding ``id``, or NULL. */
static inline IdSlot *id_table_find(const IdTable *table, uint64_t id)
{
    if (table->count == 0)
        return NULL;
    size_t mask = table->capacity - 1;
    for (size_t index = id_table_home(table, id);; index = (index + 1) & mask) {
        IdSlot *slot = id_table_at(table, index);
        if (!slot->used)
            return NULL;
        if (slot->id == id)
            return slot;
    }
}

/* The slot of ``id``: the one holding it (``*created`` 0), else a new one, used, with
 * the id set and the rest zeroed (``*created`` 1). NULL with MemoryError; the slot
 * is valid until the table next changes. */
IdSlot *id_table_claim(IdTable *table, uint64_t id, int *created);
/* Empty ``slot`` (of this table). */
void id_table_remove(IdTable *table, IdSlot *slot);
/* Empty every slot (the capacity stays). */
void id_table_clear(IdTable *table);

#endif
