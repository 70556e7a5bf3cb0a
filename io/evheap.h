/*
 * An event queue: a binary min-heap of small fixed-size entries ordered by
 * (time_ns, order). The simulated network keeps its events here, and the
 * io_uring net its timers. `order` carries a sequence number that
 * the caller makes unique, so the order is total and the pop sequence depends
 * only on what was pushed, never on addresses or on heap layout: this is what
 * makes a simulation replayable from its seed. Entries are stored by value
 * (32 bytes, two per cache line) so that hundreds of thousands of pending
 * events cost one array and no allocation per event. Owner thread only.
 */
#ifndef CASTY_IO_EVHEAP_H
#define CASTY_IO_EVHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One pending event; the meaning of ptr/u64, a and b belongs to the caller. */
typedef struct casty_ev {
    uint64_t time_ns;
    uint64_t order; /* sequence << 8 | kind: unique per queue */
    union {
        void *ptr;
        uint64_t u64;
    };
    uint32_t a, b;
} casty_ev;

_Static_assert(sizeof(casty_ev) == 32, "two events per cache line");

typedef struct casty_evheap {
    casty_ev *ev;
    size_t len, cap;
} casty_evheap;

/* An empty heap; no memory until the first push. */
void casty__evheap_init(casty_evheap *h);

/* Releases the array; pending entries are forgotten (the caller drains them first if they own memory). */
void casty__evheap_free(casty_evheap *h);

/* Makes room for n more pushes without allocating: 0 or -ENOMEM. */
int casty__evheap_reserve(casty_evheap *h, size_t n);

/* Adds one entry: 0 or -ENOMEM (the heap is unchanged then). O(log n). */
int casty__evheap_push(casty_evheap *h, const casty_ev *ev);

/* The earliest entry, or NULL when empty. O(1). */
static inline const casty_ev *casty__evheap_peek(const casty_evheap *h)
{
    return h->len ? &h->ev[0] : NULL;
}

/* Removes the earliest entry into *out: true, or false when empty. O(log n). */
bool casty__evheap_pop(casty_evheap *h, casty_ev *out);

/* O(n) self-check of the heap property (CASTY_XASSERT and tests). */
bool casty__evheap_validate(const casty_evheap *h);

#endif
