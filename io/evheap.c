/*
 * Binary min-heap of simulation events (see io/evheap.h). Sifting moves a
 * hole instead of swapping, so each level costs one 32-byte copy.
 */
#include "io/evheap.h"

#include <errno.h>

#include "alloc/heap.h"
#include "core/assert.h"

static inline bool before(const casty_ev *x, const casty_ev *y)
{
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns;
    return x->order < y->order;
}

void casty__evheap_init(casty_evheap *h)
{
    h->ev = NULL;
    h->len = 0;
    h->cap = 0;
}

void casty__evheap_free(casty_evheap *h)
{
    casty__mem_free(h->ev);
    casty__evheap_init(h);
}

int casty__evheap_reserve(casty_evheap *h, size_t n)
{
    if (h->cap - h->len >= n)
        return 0;
    size_t cap = h->cap ? h->cap : 256;
    while (cap - h->len < n) {
        if (cap > SIZE_MAX / 2 / sizeof(casty_ev))
            return -ENOMEM;
        cap *= 2;
    }
    casty_ev *ev = casty__mem_realloc(h->ev, cap * sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    h->ev = ev;
    h->cap = cap;
    return 0;
}

int casty__evheap_push(casty_evheap *h, const casty_ev *ev)
{
    int rc = casty__evheap_reserve(h, 1);
    if (rc < 0)
        return rc;
    size_t i = h->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(ev, &h->ev[parent]))
            break;
        h->ev[i] = h->ev[parent];
        i = parent;
    }
    h->ev[i] = *ev;
    return 0;
}

bool casty__evheap_pop(casty_evheap *h, casty_ev *out)
{
    if (h->len == 0)
        return false;
    *out = h->ev[0];
    size_t n = --h->len;
    if (n == 0)
        return true;
    /* Sift the last entry down from the root's hole. */
    const casty_ev last = h->ev[n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(&h->ev[child + 1], &h->ev[child]))
            child++;
        if (!before(&h->ev[child], &last))
            break;
        h->ev[i] = h->ev[child];
        i = child;
    }
    h->ev[i] = last;
    CASTY_DASSERT(!before(&h->ev[0], out));
    return true;
}

bool casty__evheap_validate(const casty_evheap *h)
{
    if (h->len > h->cap)
        return false;
    for (size_t i = 1; i < h->len; i++) {
        if (before(&h->ev[i], &h->ev[(i - 1) / 2]))
            return false;
    }
    return true;
}
