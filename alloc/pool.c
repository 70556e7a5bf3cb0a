/*
 * The pool's depot and slow paths (see alloc/pool.h). The depot is a mutex
 * around a stack of full magazines, a list of loose objects, the uncarved
 * rest of the newest chunk and the list of chunks. Holds are short: O(1) for
 * a magazine, at most CASTY_POOL_MAG_OBJS link reads otherwise. Chunk
 * allocation and the first touch of fresh objects (page faults) happen
 * outside the lock. Invariant: every full magazine holds exactly
 * CASTY_POOL_MAG_OBJS objects, so live_objects can be derived exactly.
 */
#include <errno.h>
#include <stdalign.h>

#include "alloc/heap.h"
#include "alloc/pool.h"

/* A chunk starts with this header; its objects begin at chunk_hdr. */
struct casty_pool_chunk {
    struct casty_pool_chunk *next;
};

/* What one depot visit hands out: a ready list, or a raw range still to be carved. */
typedef struct grab {
    void *list;
    char *raw;
    uint32_t n;
} grab;

static void depot_lock(casty_pool *p)
{
    int rc = pthread_mutex_lock(&p->lock);
    CASTY_ASSERT(rc == 0);
    (void)rc;
    p->depot_ops++;
}

static void depot_unlock(casty_pool *p)
{
    int rc = pthread_mutex_unlock(&p->lock);
    CASTY_ASSERT(rc == 0);
    (void)rc;
}

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

static size_t chunk_align(const casty_pool *p)
{
    return p->obj_align > CASTY_CACHELINE ? p->obj_align : CASTY_CACHELINE;
}

/* Computes the layout; false when the arguments make no valid pool. */
static bool layout(casty_pool *p, size_t obj_size, size_t obj_align, uint32_t objs_per_chunk,
                   size_t poison_from)
{
    if (obj_size == 0 || objs_per_chunk == 0 || poison_from > obj_size)
        return false;
    if (obj_align == 0 || (obj_align & (obj_align - 1)) || obj_align > 4096)
        return false;
    if (obj_align < alignof(void *))
        obj_align = alignof(void *);
    if (obj_size > SIZE_MAX / 2)
        return false;
    p->obj_align = obj_align;
    p->obj_size = round_up(obj_size < sizeof(void *) ? sizeof(void *) : obj_size, obj_align);
    p->poison_from = poison_from < sizeof(void *) ? sizeof(void *) : poison_from;
    p->objs_per_chunk = objs_per_chunk;
    p->chunk_hdr = round_up(sizeof(struct casty_pool_chunk), chunk_align(p));
    size_t body;
    if (__builtin_mul_overflow(p->obj_size, (size_t)objs_per_chunk, &body))
        return false;
    if (__builtin_add_overflow(body, p->chunk_hdr, &p->chunk_bytes))
        return false;
    return true;
}

int casty__pool_init(casty_pool *p, size_t obj_size, size_t obj_align, uint32_t objs_per_chunk,
                     size_t poison_from)
{
    memset(p, 0, sizeof(*p));
    if (!layout(p, obj_size, obj_align, objs_per_chunk, poison_from))
        return -EINVAL;
    /* Adaptive: spin briefly before sleeping, since a hold is a few dozen
     * instructions, but never spin on a preempted holder for a whole slice. */
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0)
        return -rc;
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    rc = pthread_mutex_init(&p->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    return -rc;
}

void casty__pool_destroy(casty_pool *p)
{
    struct casty_pool_chunk *ch = p->chunks;
    while (ch) {
        struct casty_pool_chunk *next = ch->next;
#if CASTY_POOL_ASAN
        /* Hand the chunk back to the allocator with clean shadow memory. */
        ASAN_UNPOISON_MEMORY_REGION(ch, p->chunk_bytes);
#endif
        casty__mem_free(ch);
        ch = next;
    }
    casty__mem_free(p->mags);
    pthread_mutex_destroy(&p->lock);
    memset(p, 0, sizeof(*p));
}

void casty__pool_cache_init(casty_pool_cache *c, casty_pool *p)
{
    c->pool = p;
    c->head = NULL;
    c->count = 0;
    c->spare = NULL;
}

/* Under the lock: pushes a full magazine; the array always has room (see mags_reserve). */
static void mags_push(casty_pool *p, void *mag)
{
    CASTY_ASSERT(p->nmags < p->mags_cap);
    p->mags[p->nmags++] = mag;
}

/* Under the lock: detaches up to max loose objects (reading only their links). */
static grab take_loose(casty_pool *p, uint32_t max)
{
    grab g = {.list = p->loose, .n = 1};
    void *last = p->loose;
    void *next = casty__pool_link(last);
    while (g.n < max && next) {
        last = next;
        next = casty__pool_link(last);
        g.n++;
    }
    casty__pool_link_set(last, NULL);
    p->loose = next;
    CASTY_ASSERT(p->loose_count >= g.n);
    p->loose_count -= g.n;
    return g;
}

/* Under the lock: pops a full magazine; with max < a magazine the rest turns loose. */
static grab take_mag(casty_pool *p, uint32_t max)
{
    grab g = {.list = p->mags[--p->nmags], .n = CASTY_POOL_MAG_OBJS};
    if (max >= CASTY_POOL_MAG_OBJS)
        return g;
    /* Only get_shared asks for less, and it takes loose objects first. */
    CASTY_ASSERT(p->loose == NULL);
    p->loose = g.list;
    p->loose_count = CASTY_POOL_MAG_OBJS;
    return take_loose(p, max);
}

/* Under the lock: reserves up to max fresh objects; they are initialised after unlocking. */
static grab take_raw(casty_pool *p, uint32_t max)
{
    size_t left = (size_t)(p->bump_end - p->bump) / p->obj_size;
    grab g = {.raw = p->bump, .n = left < max ? (uint32_t)left : max};
    p->bump += (size_t)g.n * p->obj_size;
    p->carved += g.n;
    return g;
}

/*
 * Under the lock: up to max objects. A cache (max = a magazine) prefers a
 * whole magazine: O(1), with no cold link reads under the lock. A single
 * object comes from the loose list first. Fresh memory is the last resort.
 * n == 0 means the depot and the newest chunk are both empty.
 */
static grab depot_take(casty_pool *p, uint32_t max)
{
    if (p->nmags && (max >= CASTY_POOL_MAG_OBJS || !p->loose))
        return take_mag(p, max);
    if (p->loose)
        return take_loose(p, max);
    if (p->bump != p->bump_end)
        return take_raw(p, max);
    return (grab){.n = 0};
}

/* Outside the lock: turns a reserved range into a free list, in address order. */
static void *carve(const casty_pool *p, char *raw, uint32_t n)
{
    void *head = NULL;
    for (uint32_t i = n; i-- > 0;) {
        char *obj = raw + (size_t)i * p->obj_size;
#if CASTY_POOL_ASAN
        ASAN_UNPOISON_MEMORY_REGION(obj, p->obj_size);
#endif
        /* A fresh object is nobody's yet, so writing all of it is allowed:
         * zero it so the words below poison_from (a generation) start at 0. */
        memset(obj, 0, p->obj_size);
        casty__pool_retire(p, obj);
        casty__pool_link_set(obj, head);
        head = obj;
    }
    return head;
}

/* Under the lock: grows the magazine array to cover every object of one more chunk. */
static bool mags_reserve(casty_pool *p)
{
    uint64_t objs = (p->nchunks + 1) * (uint64_t)p->objs_per_chunk;
    uint64_t need = objs / CASTY_POOL_MAG_OBJS + 1;
    if (need <= p->mags_cap)
        return true;
    uint64_t cap = p->mags_cap * 2 > need ? p->mags_cap * 2 : need;
    void **mags = casty__mem_alloc((size_t)cap * sizeof(void *));
    if (!mags)
        return false;
    if (p->nmags)
        memcpy(mags, p->mags, (size_t)p->nmags * sizeof(void *));
    casty__mem_free(p->mags);
    p->mags = mags;
    p->mags_cap = cap;
    return true;
}

/*
 * Under the lock: makes ch the bump region. Returns false (and leaves ch to
 * the caller) when another thread installed a chunk meanwhile, or when the
 * magazine array cannot grow.
 */
static bool install_chunk(casty_pool *p, struct casty_pool_chunk *ch)
{
    if (p->bump != p->bump_end || !mags_reserve(p))
        return false;
    ch->next = p->chunks;
    p->chunks = ch;
    p->nchunks++;
    p->bump = (char *)ch + p->chunk_hdr;
    p->bump_end = p->bump + (size_t)p->objs_per_chunk * p->obj_size;
#if CASTY_POOL_ASAN
    /* Uncarved objects are off limits until carve() hands them out. */
    ASAN_POISON_MEMORY_REGION(p->bump, (size_t)(p->bump_end - p->bump));
#endif
    return true;
}

/*
 * Up to max objects as a free list (*list), taking the depot lock once, or
 * twice when a chunk must be allocated in between. Returns how many; 0 only
 * when memory ran out.
 */
static uint32_t fetch(casty_pool *p, uint32_t max, void **list)
{
    depot_lock(p);
    grab g = depot_take(p, max);
    if (g.n == 0) {
        depot_unlock(p);
        struct casty_pool_chunk *ch = casty__mem_aligned(chunk_align(p), p->chunk_bytes);
        depot_lock(p);
        if (ch && !install_chunk(p, ch)) {
            /* Lost a race to another installer (or ENOMEM growing the array). */
            casty__mem_free(ch);
        }
        g = depot_take(p, max);
    }
    depot_unlock(p);
    *list = g.raw ? carve(p, g.raw, g.n) : g.list;
    return g.n;
}

bool casty__pool_refill(casty_pool_cache *c)
{
    CASTY_DASSERT(c->head == NULL && c->count == 0);
    if (c->spare) {
        /* No lock: the spare is already ours. */
        c->head = c->spare;
        c->count = CASTY_POOL_MAG_OBJS;
        c->spare = NULL;
        return true;
    }
    c->count = fetch(c->pool, CASTY_POOL_MAG_OBJS, &c->head);
    return c->count > 0;
}

void casty__pool_spill(casty_pool_cache *c)
{
    CASTY_DASSERT(c->count == CASTY_POOL_MAG_OBJS);
    if (c->spare) {
        casty_pool *p = c->pool;
        depot_lock(p);
        mags_push(p, c->spare);
        depot_unlock(p);
    }
    c->spare = c->head;
    c->head = NULL;
    c->count = 0;
}

void casty__pool_cache_drain(casty_pool_cache *c)
{
    casty_pool *p = c->pool;
    /* Find the active list's last node before locking: its links are hot here. */
    void *last = c->head;
    for (uint32_t i = 1; i < c->count; i++)
        last = casty__pool_link(last);
    depot_lock(p);
    if (c->spare)
        mags_push(p, c->spare);
    if (c->count == CASTY_POOL_MAG_OBJS) {
        mags_push(p, c->head);
    } else if (c->count > 0) {
        casty__pool_link_set(last, p->loose);
        p->loose = c->head;
        p->loose_count += c->count;
    }
    depot_unlock(p);
    casty__pool_cache_init(c, p);
}

void *casty__pool_get_shared(casty_pool *p)
{
    void *obj;
    if (fetch(p, 1, &obj) == 0)
        return NULL;
    CASTY_DASSERT(casty__pool_link(obj) == NULL);
    casty__pool_revive(p, obj);
    return obj;
}

void casty__pool_put_shared(casty_pool *p, void *obj)
{
    CASTY_DASSERT(obj != NULL);
    casty__pool_retire(p, obj);
    depot_lock(p);
    casty__pool_link_set(obj, p->loose);
    p->loose = obj;
    p->loose_count++;
    depot_unlock(p);
}

void casty__pool_stats_get(casty_pool *p, casty_pool_stats *out)
{
    /* Not depot_lock(): reading the stats is not a depot operation. */
    int rc = pthread_mutex_lock(&p->lock);
    CASTY_ASSERT(rc == 0);
    (void)rc;
    uint64_t parked = p->nmags * CASTY_POOL_MAG_OBJS + p->loose_count;
    CASTY_ASSERT(parked <= p->carved);
    out->chunks = p->nchunks;
    out->bytes_reserved = p->nchunks * (uint64_t)p->chunk_bytes;
    out->live_objects = p->carved - parked;
    out->depot_ops = p->depot_ops;
    depot_unlock(p);
}
