/* Memory that outlives one allocation but not one call: arenas (bump allocation,
 * released by mark or all at once) and warm buffers (large working arrays kept for
 * the next commit). Their chunks and buffers are reused across merges and commits:
 * memory handed back to the allocator often goes back to the kernel, and taking it
 * again costs page faults and zeroing at every commit. Only used with the GIL held. */
#ifndef METISDB_MEMORY_H
#define METISDB_MEMORY_H

#include "common.h"

typedef struct ArenaChunk {
    struct ArenaChunk *next;
    size_t capacity;
    size_t used;
    uint8_t data[];
} ArenaChunk;

typedef struct {
    ArenaChunk *head;
} Arena;

typedef struct {
    ArenaChunk *head;
    size_t used;
} ArenaMark;

/* A new chunk for ``size`` bytes at the head of ``arena`` (the slow path of arena_alloc). */
void *arena_alloc_slow(Arena *arena, size_t size);

/* ``size`` bytes (16-aligned) that live until the arena is released; NULL with MemoryError. */
static inline void *arena_alloc(Arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ArenaChunk *chunk = arena->head;
    if (chunk == NULL || chunk->capacity - chunk->used < size)
        return arena_alloc_slow(arena, size);
    void *memory = chunk->data + chunk->used;
    chunk->used += size;
    return memory;
}

static inline ArenaMark arena_mark(Arena *arena)
{
    ArenaMark mark = {arena->head, arena->head ? arena->head->used : 0};
    return mark;
}

/* Frees everything allocated since ``mark`` (temporaries of one encoding). */
void arena_release(Arena *arena, ArenaMark mark);
void arena_free(Arena *arena);

/* A buffer of at least ``size`` bytes (``*got`` its real size), or NULL with MemoryError. */
void *warm_take(size_t size, size_t *got);
/* Return a buffer from ``warm_take`` (NULL is fine): kept if the pool has room or
 * holds a smaller one, else freed. */
void warm_give(void *data, size_t size);
/* Grow a warm buffer of ``*size`` bytes (``used`` of them in use) to at least ``wanted``. */
void *warm_grow(void *data, size_t *size, size_t used, size_t wanted);

#endif
