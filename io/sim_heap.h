/*
 * The simulated network's event queue: a binary min-heap of small fixed-size
 * entries ordered by (time_ns, order). `order` carries a sequence number that
 * the caller makes unique, so the order is total and the pop sequence depends
 * only on what was pushed, never on addresses or on heap layout: this is what
 * makes a simulation replayable from its seed. Entries are stored by value
 * (32 bytes, two per cache line) so that hundreds of thousands of pending
 * events cost one array and no allocation per event. Owner thread only.
 */
#ifndef CASTY_IO_SIM_HEAP_H
#define CASTY_IO_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One pending event; the meaning of ptr/u64, a and b belongs to the caller. */
typedef struct casty_sim_ev {
    uint64_t time_ns;
    uint64_t order; /* sequence << 8 | kind: unique per queue */
    union {
        void *ptr;
        uint64_t u64;
    };
    uint32_t a, b;
} casty_sim_ev;

_Static_assert(sizeof(casty_sim_ev) == 32, "two events per cache line");

typedef struct casty_sim_heap {
    casty_sim_ev *ev;
    size_t len, cap;
} casty_sim_heap;

/* An empty heap; no memory until the first push. */
void casty__sim_heap_init(casty_sim_heap *h);

/* Releases the array; pending entries are forgotten (the caller drains them first if they own memory). */
void casty__sim_heap_free(casty_sim_heap *h);

/* Makes room for n more pushes without allocating: 0 or -ENOMEM. */
int casty__sim_heap_reserve(casty_sim_heap *h, size_t n);

/* Adds one entry: 0 or -ENOMEM (the heap is unchanged then). O(log n). */
int casty__sim_heap_push(casty_sim_heap *h, const casty_sim_ev *ev);

/* The earliest entry, or NULL when empty. O(1). */
static inline const casty_sim_ev *casty__sim_heap_peek(const casty_sim_heap *h)
{
    return h->len ? &h->ev[0] : NULL;
}

/* Removes the earliest entry into *out: true, or false when empty. O(log n). */
bool casty__sim_heap_pop(casty_sim_heap *h, casty_sim_ev *out);

/* O(n) self-check of the heap property (CASTY_XASSERT and tests). */
bool casty__sim_heap_validate(const casty_sim_heap *h);

#endif
