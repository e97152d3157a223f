/* The open-addressing table keyed by node id (see id_table.h). */

#include "id_table.h"

void id_table_init(IdTable *table, size_t slot_size, size_t initial_capacity)
{
    memset(table, 0, sizeof *table);
    table->slot_size = slot_size;
    table->initial_capacity = initial_capacity;
}

void id_table_free(IdTable *table)
{
    free(table->slots);
    table->slots = NULL;
    table->capacity = table->count = 0;
}

static int resize(IdTable *table, size_t capacity)
{
    uint8_t *slots = (uint8_t *)calloc(capacity, table->slot_size);
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    IdTable old = *table;
    int log2 = 0;
    while (((size_t)1 << log2) < capacity)
        log2++;
    table->slots = slots;
    table->capacity = capacity;
    table->shift = 64 - log2;
    size_t mask = capacity - 1;
    for (size_t index = 0; index < old.capacity; index++) {
        IdSlot *slot = id_table_at(&old, index);
        if (!slot->used)
            continue;
        size_t target = id_table_home(table, slot->id);
        while (id_table_at(table, target)->used)
            target = (target + 1) & mask;
        memcpy(id_table_at(table, target), slot, table->slot_size);
    }
    free(old.slots);
    return 0;
}

IdSlot *id_table_claim(IdTable *table, uint64_t id, int *created)
{
    IdSlot *found = id_table_find(table, id);
    if (found != NULL) {
        *created = 0;
        return found;
    }
    if (2 * (table->count + 1) > table->capacity
        && resize(table, table->capacity ? 2 * table->capacity : table->initial_capacity) < 0)
        return NULL;
    size_t mask = table->capacity - 1;
    size_t index = id_table_home(table, id);
    while (id_table_at(table, index)->used)
        index = (index + 1) & mask;
    IdSlot *slot = id_table_at(table, index);
    memset(slot, 0, table->slot_size);
    slot->id = id;
    slot->used = 1;
    table->count++;
    *created = 1;
    return slot;
}

void id_table_remove(IdTable *table, IdSlot *slot)
{
    size_t mask = table->capacity - 1;
    size_t hole = (size_t)((uint8_t *)slot - table->slots) / table->slot_size;
    for (size_t index = (hole + 1) & mask;; index = (index + 1) & mask) {
        IdSlot *next = id_table_at(table, index);
        if (!next->used)
            break;
        size_t home = id_table_home(table, next->id);
        /* ``next`` may move into the hole unless its home lies cyclically in (hole, index]. */
        int stays = hole <= index ? (home > hole && home <= index) : (home > hole || home <= index);
        if (!stays) {
            memcpy(id_table_at(table, hole), next, table->slot_size);
            hole = index;
        }
    }
    id_table_at(table, hole)->used = 0;
    table->count--;
}

void id_table_clear(IdTable *table)
{
    for (size_t index = 0; index < table->capacity; index++)
        id_table_at(table, index)->used = 0;
    table->count = 0;
}
