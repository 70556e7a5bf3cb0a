/*
 * Hierarchical timing wheel: see timer.h for the contract and invariants.
 *
 * A tick count is read as 11 digits of 6 bits. An entry lives at the level of
 * the highest digit in which its tick differs from the current tick, in the
 * slot named by its own digit there. When the current tick reaches the start
 * of that slot's range, the slot cascades: its entries move to finer levels,
 * or to the due list once their tick is the current one. Lists are
 * NULL-terminated, and the first entry's prev points at the last one, so one
 * pointer per list gives O(1) append and unlink. Owner thread only.
 */
#include "core/timer.h"

#include <errno.h>
#include <string.h>

#include "core/assert.h"

#define TIMER_ARMED   1u
#define LOC_SHIFT     16 /* the list holding an armed entry: flags >> LOC_SHIFT */
#define LOC_WHEEL_END (CASTY_WHEEL_LEVELS * CASTY_WHEEL_SLOTS)
#define LOC_DUE       LOC_WHEEL_END
#define LOC_DEFER     (LOC_WHEEL_END + 1)

_Static_assert(LOC_DEFER < (1u << (32 - LOC_SHIFT)), "list index fits above the flag bits");
_Static_assert(64 <= CASTY_WHEEL_LEVELS * CASTY_WHEEL_BITS, "levels cover every tick");
_Static_assert(CASTY_WHEEL_SLOTS == 64, "one uint64_t bitmap per level");

/* Round up, so that a timer never fires before its deadline; cannot overflow. */
static uint64_t to_tick(const casty_wheel *w, uint64_t ns)
{
    return ns / w->tick_ns + (ns % w->tick_ns != 0);
}

static uint32_t loc_of(const casty_timer *t)
{
    return t->flags >> LOC_SHIFT;
}

static uint32_t level_of(uint64_t tick, uint64_t cur_tick)
{
    CASTY_DASSERT(tick != cur_tick);
    return (uint32_t)(63 - __builtin_clzll(tick ^ cur_tick)) / CASTY_WHEEL_BITS;
}

/* The first tick of the level-`level` block holding `tick`: its digits up to `level` cleared. */
static uint64_t block_start(uint64_t tick, uint32_t level)
{
    uint32_t shift = (level + 1) * CASTY_WHEEL_BITS;
    return shift >= 64 ? 0 : tick >> shift << shift;
}

static void push_back(casty_wheel *w, uint32_t loc, casty_timer *t)
{
    casty_timer *first = w->head[loc];
    t->next = NULL;
    if (!first) {
        w->head[loc] = t;
        t->prev = t;
    } else {
        casty_timer *last = first->prev;
        last->next = t;
        t->prev = last;
        first->prev = t;
    }
    t->flags = TIMER_ARMED | loc << LOC_SHIFT;
}

/* Take t out of its list; clears its slot's bits when the slot empties. Leaves t unarmed. */
static void unlink_entry(casty_wheel *w, casty_timer *t)
{
    uint32_t loc = loc_of(t);
    CASTY_ASSERT(loc <= LOC_DEFER);
    casty_timer *first = w->head[loc];
    if (t == first) {
        /* t->prev is the last entry; it becomes the new first's prev unless t was alone. */
        w->head[loc] = t->next;
        if (t->next)
            t->next->prev = t->prev;
    } else {
        t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        else
            first->prev = t->prev;
    }
    if (!w->head[loc] && loc < LOC_WHEEL_END) {
        uint32_t level = loc / CASTY_WHEEL_SLOTS;
        w->slot_mask[level] &= ~(1ull << (loc % CASTY_WHEEL_SLOTS));
        if (!w->slot_mask[level])
            w->level_mask &= ~(1u << level);
    }
    t->next = t->prev = NULL;
    t->flags = 0;
}

/*
 * Put an entry whose list pointers are free into the list its tick calls for.
 * Called by add() and by cascades; during the firing phase a past tick goes
 * to the deferred list so that this advance() does not fire it.
 */
static void place(casty_wheel *w, casty_timer *t)
{
    uint64_t tick = to_tick(w, t->deadline_ns);
    if (tick <= w->cur_tick) {
        push_back(w, w->advancing ? LOC_DEFER : LOC_DUE, t);
        return;
    }
    uint32_t level = level_of(tick, w->cur_tick);
    uint32_t slot = (uint32_t)(tick >> (level * CASTY_WHEEL_BITS)) & (CASTY_WHEEL_SLOTS - 1);
    push_back(w, level * CASTY_WHEEL_SLOTS + slot, t);
    w->slot_mask[level] |= 1ull << slot;
    w->level_mask |= 1u << level;
}

int casty__wheel_init(casty_wheel *w, uint64_t now_ns, uint64_t tick_ns)
{
    if (tick_ns == 0)
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    w->tick_ns = tick_ns;
    w->now_ns = now_ns;
    /* Round down: ticks up to now have passed, and their timers are due. */
    w->cur_tick = now_ns / tick_ns;
    return 0;
}

void casty__wheel_destroy(casty_wheel *w)
{
    /* Entries belong to their owners, which free them without cancelling. */
    memset(w, 0, sizeof(*w));
}

void casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg)
{
    t->next = t->prev = NULL;
    t->deadline_ns = 0;
    t->fn = fn;
    t->arg = arg;
    t->flags = 0;
}

void casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t deadline_ns)
{
    CASTY_ASSERT(!(t->flags & TIMER_ARMED));
    CASTY_DASSERT(t->fn != NULL);
    t->deadline_ns = deadline_ns;
    place(w, t);
    w->count++;
}

void casty__wheel_cancel(casty_wheel *w, casty_timer *t)
{
    if (!(t->flags & TIMER_ARMED))
        return;
    CASTY_ASSERT(w->count > 0);
    unlink_entry(w, t);
    w->count--;
}

bool casty__timer_armed(const casty_timer *t)
{
    return (t->flags & TIMER_ARMED) != 0;
}

/*
 * The tick at which the lowest non-empty level has work. Finer levels always
 * have work first: their slots lie inside the current block of the level above.
 */
static uint64_t next_event_tick(const casty_wheel *w, uint32_t *level, uint32_t *slot)
{
    CASTY_DASSERT(w->level_mask != 0);
    *level = (uint32_t)__builtin_ctz(w->level_mask);
    *slot = (uint32_t)__builtin_ctzll(w->slot_mask[*level]);
    return block_start(w->cur_tick, *level) | (uint64_t)*slot << (*level * CASTY_WHEEL_BITS);
}

uint64_t casty__wheel_next_deadline(casty_wheel *w)
{
    if (w->head[LOC_DUE] || w->head[LOC_DEFER])
        return w->now_ns;
    if (!w->level_mask)
        return UINT64_MAX;
    uint32_t level, slot;
    uint64_t tick = next_event_tick(w, &level, &slot);
    CASTY_DASSERT(tick > w->cur_tick);
    /* A tick past the clock's range never comes: report "never" rather than wrap. */
    if (tick > UINT64_MAX / w->tick_ns)
        return UINT64_MAX;
    return tick * w->tick_ns;
}

/* Empty one slot into finer levels or the due list; the current tick is its first tick. */
static void cascade(casty_wheel *w, uint32_t level, uint32_t slot)
{
    uint32_t loc = level * CASTY_WHEEL_SLOTS + slot;
    casty_timer *t = w->head[loc];
    w->head[loc] = NULL;
    w->slot_mask[level] &= ~(1ull << slot);
    if (!w->slot_mask[level])
        w->level_mask &= ~(1u << level);
    while (t) {
        casty_timer *next = t->next;
        place(w, t);
        CASTY_DASSERT(loc_of(t) == LOC_DUE || loc_of(t) / CASTY_WHEEL_SLOTS < level);
        t = next;
    }
}

/*
 * Walk the current tick forward to `tick`, jumping straight from one
 * non-empty slot to the next, so an idle stretch costs nothing per tick.
 */
static void collect(casty_wheel *w, uint64_t tick)
{
    /* Each round moves a slot's entries at least one level down, or to the due list. */
    uint64_t rounds_max = (uint64_t)w->count * CASTY_WHEEL_LEVELS + 1;
    uint64_t rounds = 0;
    while (w->level_mask) {
        CASTY_ASSERT(rounds++ < rounds_max);
        uint32_t level, slot;
        uint64_t start = next_event_tick(w, &level, &slot);
        if (start > tick)
            break;
        w->cur_tick = start;
        cascade(w, level, slot);
    }
    /* No slot starts in (cur_tick, tick]: every remaining entry still meets the invariant. */
    w->cur_tick = tick;
}

/* Fire the due list, oldest tick first; entries a callback makes due wait for the next call. */
static uint32_t fire(casty_wheel *w, uint32_t max_fire)
{
    uint32_t fired = 0;
    w->advancing = true;
    while (fired < max_fire && w->head[LOC_DUE]) {
        casty_timer *t = w->head[LOC_DUE];
        CASTY_ASSERT(t->deadline_ns <= w->now_ns); /* never early */
        unlink_entry(w, t);
        w->count--;
        t->fn(t, t->arg);
        fired++;
    }
    w->advancing = false;
    casty_timer *t = w->head[LOC_DEFER];
    w->head[LOC_DEFER] = NULL;
    while (t) {
        casty_timer *next = t->next;
        push_back(w, LOC_DUE, t);
        t = next;
    }
    return fired;
}

uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now_ns, uint32_t max_fire)
{
    CASTY_ASSERT(!w->advancing); /* not from inside a callback */
    CASTY_ASSERT(w->tick_ns != 0);
    if (now_ns > w->now_ns)
        w->now_ns = now_ns;
    uint64_t tick = w->now_ns / w->tick_ns;
    if (tick > w->cur_tick)
        collect(w, tick);
    /* O(n): run on every call while the wheel is small, on one call in 1024 once it is large. */
    w->advances++;
    CASTY_XASSERT((w->count >= 1024 && (w->advances & 1023) != 0) ||
                  (casty__wheel_validate(w), true));
    return fire(w, max_fire);
}

size_t casty__wheel_count(const casty_wheel *w)
{
    return w->count;
}

/* Check one list's links and every entry's place in it; returns its length. */
static size_t validate_list(const casty_wheel *w, uint32_t loc)
{
    const casty_timer *first = w->head[loc];
    size_t n = 0;
    for (const casty_timer *t = first; t; t = t->next) {
        CASTY_ASSERT(n++ < w->count);
        CASTY_ASSERT(t->flags == (TIMER_ARMED | loc << LOC_SHIFT));
        CASTY_ASSERT(t->fn != NULL);
        if (t != first)
            CASTY_ASSERT(t->prev->next == t);
        if (!t->next)
            CASTY_ASSERT(first->prev == t);
        uint64_t tick = to_tick(w, t->deadline_ns);
        if (loc >= LOC_WHEEL_END) {
            CASTY_ASSERT(tick <= w->cur_tick);
            continue;
        }
        uint32_t level = loc / CASTY_WHEEL_SLOTS;
        CASTY_ASSERT(tick > w->cur_tick);
        CASTY_ASSERT(level_of(tick, w->cur_tick) == level);
        CASTY_ASSERT(((tick >> (level * CASTY_WHEEL_BITS)) & (CASTY_WHEEL_SLOTS - 1)) ==
                     loc % CASTY_WHEEL_SLOTS);
    }
    return n;
}

void casty__wheel_validate(const casty_wheel *w)
{
    CASTY_ASSERT(w->tick_ns != 0);
    CASTY_ASSERT(w->cur_tick == w->now_ns / w->tick_ns);
    if (!w->advancing)
        CASTY_ASSERT(w->head[LOC_DEFER] == NULL);
    size_t n = 0;
    for (uint32_t level = 0; level < CASTY_WHEEL_LEVELS; level++) {
        CASTY_ASSERT(((w->level_mask >> level) & 1) == (w->slot_mask[level] != 0));
        for (uint32_t slot = 0; slot < CASTY_WHEEL_SLOTS; slot++) {
            uint32_t loc = level * CASTY_WHEEL_SLOTS + slot;
            CASTY_ASSERT(((w->slot_mask[level] >> slot) & 1) == (w->head[loc] != NULL));
            n += validate_list(w, loc);
        }
    }
    CASTY_ASSERT(w->level_mask >> CASTY_WHEEL_LEVELS == 0);
    n += validate_list(w, LOC_DUE);
    n += validate_list(w, LOC_DEFER);
    CASTY_ASSERT(n == w->count);
}
