/* Sorted-list timers: see timer.h for the contract and why this is temporary. */
#include "core/timer.h"

#include <errno.h>

#include "core/assert.h"

int casty__wheel_init(casty_wheel *w, uint64_t now_ns, uint64_t tick_ns)
{
    (void)now_ns;
    if (tick_ns == 0)
        return -EINVAL;
    w->head.next = w->head.prev = &w->head;
    w->count = 0;
    return 0;
}

void casty__wheel_destroy(casty_wheel *w)
{
    /* Entries belong to their owners; forgetting them is enough. */
    w->head.next = w->head.prev = &w->head;
    w->count = 0;
}

void casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg)
{
    t->next = t->prev = NULL;
    t->deadline_ns = 0;
    t->fn = fn;
    t->arg = arg;
    t->armed = 0;
}

void casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t deadline_ns)
{
    CASTY_ASSERT(!t->armed);
    t->deadline_ns = deadline_ns;
    /* Search from the back: new timers usually have the latest deadline. */
    casty_timer *p = w->head.prev;
    while (p != &w->head && p->deadline_ns > deadline_ns)
        p = p->prev;
    t->prev = p;
    t->next = p->next;
    p->next->prev = t;
    p->next = t;
    t->armed = 1;
    w->count++;
}

void casty__wheel_cancel(casty_wheel *w, casty_timer *t)
{
    if (!t->armed)
        return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->armed = 0;
    w->count--;
}

bool casty__timer_armed(const casty_timer *t)
{
    return t->armed != 0;
}

uint64_t casty__wheel_next_deadline(const casty_wheel *w)
{
    return w->head.next == &w->head ? UINT64_MAX : w->head.next->deadline_ns;
}

uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now_ns, uint32_t max_fire)
{
    uint32_t fired = 0;
    while (fired < max_fire && w->head.next != &w->head && w->head.next->deadline_ns <= now_ns) {
        casty_timer *t = w->head.next;
        casty__wheel_cancel(w, t);
        /* The callback may re-arm t or arm others; the list is consistent here. */
        t->fn(t, t->arg);
        fired++;
    }
    return fired;
}

size_t casty__wheel_count(const casty_wheel *w)
{
    return w->count;
}
