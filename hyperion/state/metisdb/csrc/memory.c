/* Arenas and warm buffers (see memory.h). */

#include "memory.h"

#define ARENA_CHUNK_SIZE (64 * 1024)
#define ARENA_SPARE_LIMIT 1024

/* Standard chunks freed by finished merges and batches, reused by the next ones (up
 * to 64 MiB kept): memory handed back to the allocator often goes back to the
 * kernel, and taking it again costs a page fault and zeroing per 4 KiB (on a VM whose
 * host backs guest memory lazily, far more) at every commit. Only touched with the
 * GIL held. */
static ArenaChunk *spare_chunks[ARENA_SPARE_LIMIT];
static int spare_count;

void *arena_alloc_slow(Arena *arena, size_t size)
{
    ArenaChunk *chunk;
    if (size <= ARENA_CHUNK_SIZE && spare_count > 0) {
        chunk = spare_chunks[--spare_count];
    } else {
        size_t capacity = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
        chunk = (ArenaChunk *)malloc(sizeof(ArenaChunk) + capacity);
        if (chunk == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        chunk->capacity = capacity;
    }
    chunk->next = arena->head;
    chunk->used = size;
    arena->head = chunk;
    return chunk->data;
}

static void drop_chunk(ArenaChunk *chunk)
{
    if (chunk->capacity == ARENA_CHUNK_SIZE && spare_count < ARENA_SPARE_LIMIT)
        spare_chunks[spare_count++] = chunk;
    else
        free(chunk);
}

void arena_release(Arena *arena, ArenaMark mark)
{
    while (arena->head != mark.head) {
        ArenaChunk *chunk = arena->head;
        arena->head = chunk->next;
        drop_chunk(chunk);
    }
    if (arena->head)
        arena->head->used = mark.used;
}

void arena_free(Arena *arena)
{
    ArenaMark start = {NULL, 0};
    arena_release(arena, start);
}

/* Large working arrays (row tables, batch indexes, changesets, sort orders) are kept
 * for the next commit the same way, a few at a time. */
#define WARM_BUFFERS 12
static struct {
    void *data;
    size_t size;
} warm_buffers[WARM_BUFFERS];

void *warm_take(size_t size, size_t *got)
{
    int best = -1;
    for (int index = 0; index < WARM_BUFFERS; index++)
        if (warm_buffers[index].data != NULL && warm_buffers[index].size >= size
            && (best < 0 || warm_buffers[index].size < warm_buffers[best].size))
            best = index;
    if (best >= 0) {
        void *data = warm_buffers[best].data;
        *got = warm_buffers[best].size;
        warm_buffers[best].data = NULL;
        return data;
    }
    void *data = malloc(size ? size : 1);
    if (data == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *got = size;
    return data;
}

void warm_give(void *data, size_t size)
{
    if (data == NULL)
        return;
    int slot = -1;
    for (int index = 0; index < WARM_BUFFERS; index++) {
        if (warm_buffers[index].data == NULL) {
            slot = index;
            break;
        }
        if (warm_buffers[index].size < size && (slot < 0 || warm_buffers[index].size < warm_buffers[slot].size))
            slot = index;
    }
    if (slot < 0) {
        free(data);
        return;
    }
    free(warm_buffers[slot].data);
    warm_buffers[slot].data = data;
    warm_buffers[slot].size = size;
}

void *warm_grow(void *data, size_t *size, size_t used, size_t wanted)
{
    size_t got;
    void *grown = warm_take(wanted, &got);
    if (grown == NULL)
        return NULL;
    if (used)
        memcpy(grown, data, used);
    warm_give(data, *size);
    *size = got;
    return grown;
}
