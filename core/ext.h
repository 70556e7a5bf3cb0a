/*
 * The part of an actor most actors never need: children, watchers, watched
 * actors, a non-default supervision strategy, restart history, the backoff
 * timer, owned schedules and the spawn arg kept for restarts. Allocated on
 * first use so that an idle plain actor stays one 256-byte cell. Owned by the
 * cell's shard (the spawner fills it before START hands the cell over).
 */
#ifndef CASTY_CORE_EXT_H
#define CASTY_CORE_EXT_H

#include <stdbool.h>
#include <stdint.h>

#include "casty/lifecycle.h"
#include "core/cell.h"
#include "core/timer.h"

struct casty_shard;
struct casty_sched;

/* A ref to a cell of the same system: enough to route to it and to check it is the same actor. */
typedef struct casty_lite {
    casty_cell *cell;
    uint32_t gen;
    uint16_t shard;
    uint16_t reserved;
} casty_lite;

/*
 * A set of lites: open addressing with linear probing, at most half full, and
 * backward-shift deletion (no tombstones). Add, remove and lookup are O(1),
 * so a parent with a million children stops in O(children), not O(children²).
 * Empty slots have cell == NULL. Walk it with CASTY_LITESET_FOREACH.
 */
typedef struct casty_liteset {
    casty_lite *slots;
    uint32_t n, cap; /* cap: 0 or a power of two */
} casty_liteset;

#define CASTY_LITESET_FOREACH(set, it)                                                         \
    for (casty_lite *it = (set)->slots, *it##_end = (set)->slots + (set)->cap; it != it##_end; \
         it++)                                                                                 \
        if (it->cell)

typedef struct casty_cell_ext {
    casty_supervision sup;
    bool has_sup; /* else the system default applies */
    casty_liteset children, watchers, watching;
    struct casty_sched *scheds; /* schedules this actor owns (cancelled when it stops) */
    uint64_t *restarts;         /* ring of the latest restart times (sup.max_retries slots) */
    uint32_t restart_head, restart_n;
    casty_timer backoff;
    casty_cell *cell;
    struct casty_shard *shard;
    void *arg; /* the spawn arg, kept for init after a restart */
    uint32_t arg_len;
    bool arg_inline; /* arg lives in the same block, right after the ext */
} casty_cell_ext;

/* The cell's ext, allocated on first use; NULL when out of memory. */
casty_cell_ext *casty__cell_ext(casty_cell *cell);
/* Keep a copy of the spawn arg in the ext (one block with it when the ext is new). 0 or -ENOMEM. */
int casty__cell_keep_arg(casty_cell *cell, const void *arg, uint32_t len);
/* Free the ext and everything it owns (not the schedules: see casty__sched_cancel_owned). */
void casty__cell_ext_free(casty_cell *cell);

/* Add (once); 0, 1 when already present, -ENOMEM. */
int casty__liteset_add(casty_liteset *set, casty_lite lite);
/* Remove the entry naming cell/gen; true when it was there. */
bool casty__liteset_remove(casty_liteset *set, const casty_cell *cell, uint32_t gen);
bool casty__liteset_has(const casty_liteset *set, const casty_cell *cell, uint32_t gen);

static inline casty_lite casty__lite_of(const casty_cell *cell)
{
    return (casty_lite){
        .cell = (casty_cell *)cell, .gen = casty__cell_gen(cell), .shard = cell->shard};
}

static inline casty_lite casty__lite_from_ref(casty_ref ref)
{
    return (casty_lite){
        .cell = (casty_cell *)(uintptr_t)ref.addr, .gen = ref.gen, .shard = ref.shard};
}

#endif
