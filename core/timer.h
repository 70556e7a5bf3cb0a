/*
 * Per-shard timers with intrusive entries (owner thread only: no locks, no
 * atomics). Today this is a deadline-sorted doubly linked list: O(1) cancel,
 * next-deadline and firing, O(n) insertion. It serves the ask timeouts of the
 * core runtime; the hierarchical timing wheel that issue 3 asks for (1,000,000
 * cheap pending timers) replaces the insertion path behind this same API.
 */
#ifndef CASTY_CORE_TIMER_H
#define CASTY_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct casty_timer casty_timer;
typedef void (*casty_timer_fn)(casty_timer *t, void *arg);

struct casty_timer {
    casty_timer *next, *prev;
    uint64_t deadline_ns;
    casty_timer_fn fn;
    void *arg;
    uint32_t armed;
};

typedef struct casty_wheel {
    casty_timer head; /* sentinel of the sorted list */
    size_t count;
} casty_wheel;

int casty__wheel_init(casty_wheel *w, uint64_t now_ns, uint64_t tick_ns);
void casty__wheel_destroy(casty_wheel *w);
void casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg);
/* Arm `t` (must not be armed) for `deadline_ns`; a past deadline fires at the next advance. */
void casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t deadline_ns);
/* Disarm; a no-op when not armed. */
void casty__wheel_cancel(casty_wheel *w, casty_timer *t);
bool casty__timer_armed(const casty_timer *t);
/* Earliest deadline, or UINT64_MAX when nothing is armed. */
uint64_t casty__wheel_next_deadline(const casty_wheel *w);
/* Fire (in deadline order) up to max_fire timers due at now_ns; returns how many fired. */
uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now_ns, uint32_t max_fire);
size_t casty__wheel_count(const casty_wheel *w);

#endif
