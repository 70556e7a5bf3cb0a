/*
 * Bounded single-producer single-consumer ring of pointers, one per ordered
 * shard pair. The producer appends without publishing and publishes its tail
 * once per batch (one release store, one cache-line transfer per batch); the
 * consumer copies out a batch and hands the slots back with one store.
 * Invariants: capacity is a power of two in [2, 2^31]; indices run freely and
 * wrap past UINT32_MAX, so every distance is an unsigned difference, and
 * tail - head <= capacity always holds.
 * Threads: producer-side calls from one thread, consumer-side calls from one
 * other thread; init and destroy while neither side runs.
 */
#ifndef CASTY_CORE_SPSC_H
#define CASTY_CORE_SPSC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "core/compiler.h"

/* The largest capacity for which tail - head <= capacity still fits a uint32_t. */
#define CASTY_SPSC_MAX_SLOTS (UINT32_C(1) << 31)

/*
 * Fields are grouped by writer, one cache line per group, so that the hot
 * path of each side touches only its own line plus the slots. Each side
 * keeps a stale copy of the other side's index and rereads the shared one
 * only when the copy says "full" (producer) or "not enough" (consumer).
 */
typedef struct casty_spsc {
    /* Written at init, then only read, by both sides. */
    CASTY_ALIGNED_CACHELINE struct {
        void **slots;
        uint32_t mask; /* capacity - 1 */
    } ro;
    /* Producer only. */
    CASTY_ALIGNED_CACHELINE struct {
        uint32_t tail;       /* next slot to write */
        uint32_t published;  /* the value last stored to the shared tail */
        uint32_t head_cache; /* a copy of the shared head, never ahead of it */
    } prod;
    /* Consumer only. */
    CASTY_ALIGNED_CACHELINE struct {
        uint32_t head;       /* next slot to read; equals the shared head between calls */
        uint32_t tail_cache; /* a copy of the shared tail, never ahead of it */
    } cons;
    /* Written by the producer in publish(), read by the consumer. */
    CASTY_ALIGNED_CACHELINE _Atomic uint32_t tail;
    /* Written by the consumer once per batch, read by the producer when it looks full. */
    CASTY_ALIGNED_CACHELINE _Atomic uint32_t head;
} casty_spsc;

_Static_assert(offsetof(casty_spsc, prod) - offsetof(casty_spsc, ro) >= CASTY_CACHELINE,
               "read-only fields have their own line");
_Static_assert(offsetof(casty_spsc, cons) - offsetof(casty_spsc, prod) >= CASTY_CACHELINE,
               "producer fields have their own line");
_Static_assert(offsetof(casty_spsc, tail) - offsetof(casty_spsc, cons) >= CASTY_CACHELINE,
               "consumer fields have their own line");
_Static_assert(offsetof(casty_spsc, head) - offsetof(casty_spsc, tail) >= CASTY_CACHELINE,
               "the shared tail and head do not share a line");
_Static_assert(sizeof(casty_spsc) % CASTY_CACHELINE == 0, "rings in an array stay line-aligned");

/*
 * Test-only entry: like casty__spsc_init(), but every index starts at
 * start_index, so a test can cross the UINT32_MAX wrap within a few pushes.
 */
static inline int casty__spsc_init_at(casty_spsc *r, uint32_t capacity_slots, uint32_t start_index)
{
    if (capacity_slots < 2 || capacity_slots > CASTY_SPSC_MAX_SLOTS)
        return -EINVAL;
    if (capacity_slots & (capacity_slots - 1))
        return -EINVAL;
    /* Slots come from alloc/heap so they are counted, and so that cmocka's
     * malloc/free macros cannot rewrite this inline code in a test file. */
    void **slots = casty__mem_aligned(CASTY_CACHELINE, (size_t)capacity_slots * sizeof(void *));
    if (!slots)
        return -ENOMEM;
    memset(r, 0, sizeof(*r));
    r->ro.slots = slots;
    r->ro.mask = capacity_slots - 1;
    r->prod.tail = start_index;
    r->prod.published = start_index;
    r->prod.head_cache = start_index;
    r->cons.head = start_index;
    r->cons.tail_cache = start_index;
    atomic_init(&r->tail, start_index);
    atomic_init(&r->head, start_index);
    return 0;
}

/*
 * Sets up an empty ring of capacity_slots pointers. Returns 0, -EINVAL when
 * the capacity is not a power of two in [2, 2^31], or -ENOMEM. Not thread-safe:
 * call it before either side starts.
 */
static inline int casty__spsc_init(casty_spsc *r, uint32_t capacity_slots)
{
    return casty__spsc_init_at(r, capacity_slots, 0);
}

/*
 * Frees the slot array. Pointers still in the ring are the caller's to drain
 * first. Safe on a zeroed ring and when called twice. Neither side may run.
 */
static inline void casty__spsc_destroy(casty_spsc *r)
{
    casty__mem_free(r->ro.slots);
    r->ro.slots = NULL;
}

/*
 * Producer: writes p into the next slot without publishing it; the consumer
 * sees it only after casty__spsc_publish(). Returns false when the ring is
 * full (counting unpublished slots). Rereads the shared head only when the
 * cached copy says full, so a ring with room costs no cross-core traffic.
 */
static inline bool casty__spsc_push(casty_spsc *r, void *p)
{
    uint32_t t = r->prod.tail;
    uint32_t cap = r->ro.mask + 1;
    if (CASTY_UNLIKELY(t - r->prod.head_cache == cap)) {
        /* Acquire pairs with the consumer's release of head: its reads of the
         * slots it gave back happen before we overwrite them. */
        r->prod.head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - r->prod.head_cache == cap)
            return false;
    }
    CASTY_DASSERT(t - r->prod.head_cache < cap);
    r->ro.slots[t & r->ro.mask] = p;
    r->prod.tail = t + 1;
    return true;
}

/*
 * Producer: makes every pushed slot visible to the consumer with one store.
 * Returns how many slots were newly published; 0 means there was nothing to
 * publish and nothing was written, so the caller can skip the wake-up too.
 */
static inline uint32_t casty__spsc_publish(casty_spsc *r)
{
    uint32_t n = r->prod.tail - r->prod.published;
    if (n == 0)
        return 0;
    /* Release: the slot writes in push() become visible no later than the
     * tail that covers them, which the consumer acquires before reading. */
    atomic_store_explicit(&r->tail, r->prod.tail, memory_order_release);
    r->prod.published = r->prod.tail;
    return n;
}

/* Producer: how many pushed slots are still waiting for casty__spsc_publish(). */
static inline uint32_t casty__spsc_unpublished(const casty_spsc *r)
{
    return r->prod.tail - r->prod.published;
}

/*
 * Producer: how many more pushes would succeed right now. Rereads the shared
 * head unless the cached copy already says the ring is empty, so the answer
 * is exact at the time of the call (the consumer can only make it grow).
 */
static inline uint32_t casty__spsc_free_slots(casty_spsc *r)
{
    uint32_t t = r->prod.tail;
    if (t != r->prod.head_cache) {
        /* Acquire for the same reason as in push(): the refreshed copy lets
         * later pushes overwrite slots the consumer has finished reading. */
        r->prod.head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    }
    uint32_t used = t - r->prod.head_cache;
    CASTY_ASSERT(used <= r->ro.mask + 1);
    return r->ro.mask + 1 - used;
}

/*
 * Consumer: copies up to max published pointers into out, oldest first, and
 * hands their slots back to the producer with one store. Returns how many
 * were copied (0 when nothing is published). Rereads the shared tail only
 * when the cached copy holds fewer than max.
 */
static inline uint32_t casty__spsc_pop_batch(casty_spsc *r, void **out, uint32_t max)
{
    uint32_t h = r->cons.head;
    uint32_t avail = r->cons.tail_cache - h;
    if (avail < max) {
        /* Acquire pairs with publish()'s release: every slot below the tail
         * we read was written before we copy it out below. */
        r->cons.tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        avail = r->cons.tail_cache - h;
    }
    /* A tail more than a capacity ahead would mean a corrupt ring or a second producer. */
    CASTY_ASSERT(avail <= r->ro.mask + 1);
    uint32_t n = avail < max ? avail : max;
    if (n == 0)
        return 0;
    uint32_t first = h & r->ro.mask;
    uint32_t run = r->ro.mask + 1 - first;
    if (run > n)
        run = n;
    /* Two copies at most: up to the end of the array, then from its start. */
    memcpy(out, &r->ro.slots[first], (size_t)run * sizeof(void *));
    memcpy(out + run, r->ro.slots, (size_t)(n - run) * sizeof(void *));
    r->cons.head = h + n;
    /* Release: our slot reads above happen before the producer, acquiring
     * this head, reuses those slots. */
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

/*
 * Consumer: true when nothing is published. Rereads the shared tail only when
 * the cached copy says empty. A shard that sleeps on this answer must issue a
 * full fence between announcing its sleep and this call, and the producer one
 * between publish() and reading that announcement.
 */
static inline bool casty__spsc_empty(casty_spsc *r)
{
    if (r->cons.tail_cache != r->cons.head)
        return false;
    /* Acquire, not relaxed: pop_batch() may later trust this cached tail
     * without rereading it, so the slots below it must be visible. */
    r->cons.tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->cons.tail_cache == r->cons.head;
}

#endif
