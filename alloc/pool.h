/*
 * Type-stable pool of fixed-size objects (actor cells, envelopes, pending
 * asks): per-thread caches in front of one shared depot, as in Bonwick's
 * magazines. Memory never goes back to the OS before casty__pool_destroy(),
 * so a stale pointer may still read the words below poison_from of a freed
 * object (a generation, say). A free object's first pointer-sized word is the
 * free-list link; no other byte of it is ever written by the pool, except the
 * debug fill from poison_from on when CASTY_DEBUG_FULL is defined.
 * Threads: a casty_pool_cache belongs to one thread; the *_shared calls and
 * the depot behind the caches are safe from any thread.
 */
#ifndef CASTY_ALLOC_POOL_H
#define CASTY_ALLOC_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/assert.h"
#include "core/compiler.h"

#if defined(__SANITIZE_ADDRESS__)
#define CASTY_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CASTY_POOL_ASAN 1
#endif
#endif
#ifndef CASTY_POOL_ASAN
#define CASTY_POOL_ASAN 0
#endif
#if CASTY_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Objects per magazine: what a cache moves to or from the depot in one lock hold. */
#define CASTY_POOL_MAG_OBJS 64u
/* The byte that CASTY_DEBUG_FULL writes over a freed object from poison_from on. */
#define CASTY_POOL_POISON_BYTE 0xdb

typedef struct casty_pool_stats {
    uint64_t chunks;         /* chunks allocated so far (none is freed before destroy) */
    uint64_t bytes_reserved; /* bytes in those chunks */
    uint64_t live_objects;   /* objects outside the depot: in use, or parked in a cache */
    uint64_t depot_ops;      /* depot lock holds: magazine moves, shared calls, drains */
} casty_pool_stats;

struct casty_pool_chunk;

typedef struct casty_pool {
    /* Set at init, then only read. */
    size_t obj_size; /* the stride: requested size rounded up to obj_align */
    size_t obj_align;
    size_t poison_from;        /* at least sizeof(void *): the link is never poisoned */
    size_t keep_from, keep_to; /* a window past poison_from that stale readers may read */
    size_t chunk_hdr;          /* offset of the first object in a chunk */
    size_t chunk_bytes;
    uint32_t objs_per_chunk;
    /* The depot: every field below is guarded by lock. */
    CASTY_ALIGNED_CACHELINE pthread_mutex_t lock;
    void **mags; /* full magazines: NULL-terminated lists of CASTY_POOL_MAG_OBJS */
    uint64_t nmags;
    uint64_t mags_cap; /* kept >= every object ever carved / CASTY_POOL_MAG_OBJS */
    void *loose;       /* odd objects from shared puts and partial drains */
    uint64_t loose_count;
    char *bump; /* the part of the newest chunk not yet carved into objects */
    char *bump_end;
    struct casty_pool_chunk *chunks;
    uint64_t nchunks;
    uint64_t carved; /* objects ever carved from chunks */
    uint64_t depot_ops;
} casty_pool;

/*
 * A thread's private front end to a pool: an active list and at most one
 * spare full magazine, so the thread holds at most two magazines and moves
 * whole magazines to and from the depot (never one object at a time).
 */
typedef struct casty_pool_cache {
    casty_pool *pool;
    void *head;     /* the active free list */
    uint32_t count; /* its length, <= CASTY_POOL_MAG_OBJS */
    void *spare;    /* a full magazine (exactly CASTY_POOL_MAG_OBJS objects) or NULL */
} casty_pool_cache;

/*
 * Sets up an empty pool; no memory is reserved until the first get.
 * obj_align is a power of two up to 4096 (raised to pointer alignment);
 * obj_size is rounded up to it and to a pointer. Bytes from poison_from to
 * the end may be poisoned while an object is free (values below
 * sizeof(void *) mean "all but the link"). Returns 0, -EINVAL (zero size,
 * bad alignment, zero objs_per_chunk, poison_from > obj_size, or a chunk too
 * big for size_t), or -ENOMEM. Call before any other thread sees p.
 */
int casty__pool_init(casty_pool *p, size_t obj_size, size_t obj_align, uint32_t objs_per_chunk,
                     size_t poison_from);

/* Frees every chunk, live or not. The caller guarantees that no cache and no object is in use. */
void casty__pool_destroy(casty_pool *p);

/* Binds an empty cache to p. The cache then belongs to the calling thread. */
void casty__pool_cache_init(casty_pool_cache *c, casty_pool *p);

/* Owner thread: gives every cached object back to the depot; the cache stays usable. */
void casty__pool_cache_drain(casty_pool_cache *c);

/* Any thread without a cache: one object under the depot lock, or NULL on -ENOMEM. */
void *casty__pool_get_shared(casty_pool *p);

/* Any thread without a cache: gives obj back under the depot lock. */
void casty__pool_put_shared(casty_pool *p, void *obj);

/*
 * Any thread: a consistent snapshot taken under the depot lock. live_objects
 * is derived exactly as carved - (full magazines * CASTY_POOL_MAG_OBJS +
 * loose objects), so it counts objects held in caches as live; once every
 * cache is drained (as at shutdown) it is the exact number in use, and 0
 * means nothing leaked. The exact figure at any time is live_objects minus
 * the caches' count + (spare ? CASTY_POOL_MAG_OBJS : 0).
 */
void casty__pool_stats_get(casty_pool *p, casty_pool_stats *out);

/* Slow paths of the inline calls below; not for direct use. */
bool casty__pool_refill(casty_pool_cache *c);
void casty__pool_spill(casty_pool_cache *c);

/* The free-list link lives in the first word; memcpy keeps it free of aliasing rules. */
static inline void *casty__pool_link(const void *obj)
{
    void *next;
    memcpy(&next, obj, sizeof(next));
    return next;
}

static inline void casty__pool_link_set(void *obj, void *next)
{
    memcpy(obj, &next, sizeof(next));
}

#ifdef CASTY_DEBUG_FULL
/* O(size): true when no byte from poison_from on was written while obj was free. */
static inline bool casty__pool_poison_intact(const casty_pool *p, const void *obj)
{
    const unsigned char *b = (const unsigned char *)obj;
    for (size_t i = p->poison_from; i < p->obj_size; i++) {
        if (i == p->keep_from)
            i = p->keep_to;
        if (i < p->obj_size && b[i] != CASTY_POOL_POISON_BYTE)
            return false;
    }
    return true;
}
#endif

/* The debug fill and the ASan poison of [from, to), in place. */
static inline void casty__pool_poison_range(void *obj, size_t from, size_t to)
{
    if (from >= to)
        return;
#ifdef CASTY_DEBUG_FULL
    memset((char *)obj + from, CASTY_POOL_POISON_BYTE, to - from);
#endif
#if CASTY_POOL_ASAN
    ASAN_POISON_MEMORY_REGION((char *)obj + from, to - from);
#endif
    (void)obj;
}

/* Marks obj free: fill and poison from poison_from on, except the keep window. */
static inline void casty__pool_retire(const casty_pool *p, void *obj)
{
    if (p->keep_to) {
        casty__pool_poison_range(obj, p->poison_from, p->keep_from);
        casty__pool_poison_range(obj, p->keep_to, p->obj_size);
    } else {
        casty__pool_poison_range(obj, p->poison_from, p->obj_size);
    }
}

/*
 * Leave [from, to) (8-byte aligned, past poison_from) readable while objects
 * are free: fields that refs to dead objects may still read. Before any get.
 */
static inline void casty__pool_keep(casty_pool *p, size_t from, size_t to)
{
    p->keep_from = from;
    p->keep_to = to;
}

/* Marks obj in use again; with CASTY_DEBUG_FULL, checks that nobody wrote to it while free. */
static inline void casty__pool_revive(const casty_pool *p, void *obj)
{
#if CASTY_POOL_ASAN
    ASAN_UNPOISON_MEMORY_REGION((char *)obj + p->poison_from, p->obj_size - p->poison_from);
#endif
#ifdef CASTY_DEBUG_FULL
    CASTY_XASSERT(casty__pool_poison_intact(p, obj));
#endif
    (void)p;
    (void)obj;
}

/*
 * Owner thread: returns an object, or NULL when memory ran out. Fast path: pop
 * the active list (a load, two stores). Otherwise swap in the spare magazine,
 * or take one from the depot, or carve a new chunk. The bytes below
 * poison_from hold what they held when the object was last put (zero for a
 * never-used object); the rest is undefined.
 */
static inline void *casty__pool_get(casty_pool_cache *c)
{
    void *obj = c->head;
    if (CASTY_UNLIKELY(!obj)) {
        if (!casty__pool_refill(c))
            return NULL;
        obj = c->head;
    }
    CASTY_DASSERT(c->count > 0);
    c->head = casty__pool_link(obj);
    c->count--;
    casty__pool_revive(c->pool, obj);
    return obj;
}

/*
 * Owner thread: gives obj back; it may have come from any cache of the same
 * pool. Fast path: push on the active list. When the cache already holds two
 * magazines, the spare one moves to the depot first. Writes only obj's
 * first word (and the debug fill).
 */
static inline void casty__pool_put(casty_pool_cache *c, void *obj)
{
    CASTY_DASSERT(obj != NULL);
    CASTY_DASSERT((uintptr_t)obj % c->pool->obj_align == 0);
    casty__pool_retire(c->pool, obj);
    if (CASTY_UNLIKELY(c->count == CASTY_POOL_MAG_OBJS))
        casty__pool_spill(c);
    casty__pool_link_set(obj, c->head);
    c->head = obj;
    c->count++;
}

#endif
