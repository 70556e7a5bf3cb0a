/*
 * The runtime's one gate to general-purpose memory. Every block Casty asks for
 * (chunks for pools, rings, large payloads, tables) goes through these calls,
 * so that one switch picks the allocator and one pair of counters catches
 * leaks. Backed by mimalloc normally; by libc when CASTY_SANITIZE is defined.
 * Any thread may call any function here; a block may be freed by a thread
 * other than the one that allocated it.
 */
#ifndef CASTY_ALLOC_HEAP_H
#define CASTY_ALLOC_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Returns a block of at least n bytes aligned for any type, or NULL. */
void *casty__mem_alloc(size_t n);

/*
 * Returns a block of at least n bytes whose address is a multiple of align,
 * or NULL. align must be a power of two; values below sizeof(void *) are
 * raised to it. The block is released with casty__mem_free().
 */
void *casty__mem_aligned(size_t align, size_t n);

/* Returns a zeroed array of n elements of sz bytes, or NULL (also on overflow). */
void *casty__mem_calloc(size_t n, size_t sz);

/* Releases a block from any of the calls above; NULL is a no-op and is not counted. */
/* Resize a block from casty__mem_alloc/calloc (NULL: allocate); NULL on failure, p intact. */
void *casty__mem_realloc(void *p, size_t n);
void casty__mem_free(void *p);

/*
 * Snapshot of how many blocks were handed out and how many were released
 * since the process started. Calls are counted, not bytes, so no size is
 * tracked per block. allocs == frees means nothing leaked; the two loads are
 * not one atomic snapshot, so compare them only when no other thread is
 * allocating. Either pointer may be NULL.
 */
void casty__mem_stats(uint64_t *allocs, uint64_t *frees);

#endif
