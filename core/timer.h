/*
 * Per-shard hierarchical timing wheel with intrusive entries (h2o, Linux's
 * old cascading wheel). Time is cut into ticks of tick_ns; a deadline is
 * rounded UP to a tick, so a timer never fires early and fires within one
 * tick of its deadline once advance() is called at or after it. Eleven
 * levels of 64 slots cover the whole 64-bit tick range, so there is no
 * overflow list: memory is the entries plus ~5.7 KB of fixed arrays.
 *
 * Invariants: an armed entry sits in exactly one list: a wheel slot, the
 * due list (its tick has passed) or, during advance(), the deferred list.
 * In a slot of level L its tick agrees with the wheel's current tick above
 * digit L and is larger in digit L; a slot's bit is set iff it is
 * non-empty. Owner thread only: no locks, no atomics.
 */
#ifndef CASTY_CORE_TIMER_H
#define CASTY_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CASTY_WHEEL_BITS   6
#define CASTY_WHEEL_SLOTS  (1u << CASTY_WHEEL_BITS)
#define CASTY_WHEEL_LEVELS 11 /* ceil(64 / 6): the top level holds the last 4 bits */

typedef struct casty_timer casty_timer;
typedef void (*casty_timer_fn)(casty_timer *t, void *arg);

/*
 * Embedded in its owner, which keeps it alive while armed. Read deadline_ns
 * freely (a periodic callback re-arms at deadline_ns + period); the other
 * fields belong to the wheel.
 */
struct casty_timer {
    casty_timer *next, *prev; /* NULL-terminated list; the first entry's prev is the last */
    uint64_t deadline_ns;
    casty_timer_fn fn;
    void *arg;
    uint32_t flags; /* armed bit and, while armed, which list holds the entry */
};

_Static_assert(sizeof(casty_timer) <= 48, "timer entries are embedded in actors and asks");

typedef struct casty_wheel {
    uint64_t tick_ns;
    uint64_t cur_tick;   /* every tick <= cur_tick has been moved to the due list */
    uint64_t now_ns;     /* the latest now seen by init or advance */
    size_t count;        /* armed entries, in any list */
    uint64_t advances;   /* advance() calls: paces the self-check of CASTY_DEBUG_FULL builds */
    uint32_t level_mask; /* bit L set iff slot_mask[L] != 0 */
    bool advancing;      /* inside advance(): past deadlines go to the deferred list */
    uint64_t slot_mask[CASTY_WHEEL_LEVELS];
    casty_timer *due_tail, *defer_tail;
    /* Heads of every slot, then of the due list, then of the deferred list. */
    casty_timer *head[CASTY_WHEEL_LEVELS * CASTY_WHEEL_SLOTS + 2];
} casty_wheel;

/* Start an empty wheel at now_ns with ticks of tick_ns. 0, or -EINVAL when tick_ns is 0. */
int casty__wheel_init(casty_wheel *w, uint64_t now_ns, uint64_t tick_ns);

/* Forget every entry without touching it: armed entries keep a stale armed bit. */
void casty__wheel_destroy(casty_wheel *w);

/* Prepare an unarmed entry that will call fn(t, arg) when it fires. */
void casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg);

/*
 * Arm t (asserted unarmed) for deadline_ns. O(1). A deadline whose tick has
 * passed fires at the next advance(); inside a callback, at the next call of
 * advance() rather than this one, so a callback that re-arms itself in the
 * past cannot spin the wheel. A deadline within the last tick below
 * UINT64_MAX never fires (no clock reaches it).
 */
void casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t deadline_ns);

/* Disarm t. O(1); a no-op when t is not armed. Callbacks may cancel any timer. */
void casty__wheel_cancel(casty_wheel *w, casty_timer *t);

bool casty__timer_armed(const casty_timer *t);

/*
 * A time at or before which nothing fires: the first tick boundary at which
 * advance() has work (a firing, or a cascade of a coarse slot into finer
 * ones), never earlier than the latest now; UINT64_MAX when nothing is
 * armed. O(1) from the slot bitmaps. Sleeping until this time and then
 * calling advance() may fire nothing when a far timer only cascaded; the
 * number of such wake-ups per timer is bounded by the number of levels.
 */
uint64_t casty__wheel_next_deadline(casty_wheel *w);

/*
 * Move the wheel to now_ns (a now earlier than the latest one is treated as
 * the latest) and fire up to max_fire due timers, oldest tick first (order
 * within one tick is unspecified); the rest stay due for the next call. Each entry is disarmed before its callback
 * runs, and the callback may re-arm it, arm others or cancel any. Returns
 * how many fired. Cost: O(levels) per timer over its life plus O(1) per
 * non-empty slot passed.
 */
uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now_ns, uint32_t max_fire);

/* Armed entries, in O(1). */
size_t casty__wheel_count(const casty_wheel *w);

/* O(n) self-check of every invariant above; for CASTY_XASSERT and tests. */
void casty__wheel_validate(const casty_wheel *w);

#endif
