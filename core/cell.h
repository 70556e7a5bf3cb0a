/*
 * Actor cells. A cell is a type-stable 256-byte object from the system's cell
 * pool: the actor's mailbox, its run-queue link, its state (inline when small)
 * and its generation. Only the owning shard (cell->shard) touches a live cell;
 * the one exception is `gen`, which any shard may read through a stale ref, so
 * it is atomic and survives the cell being freed and reused. A ref is live
 * exactly while ref.gen == cell->gen: the owner bumps gen when the actor stops.
 */
#ifndef CASTY_CORE_CELL_H
#define CASTY_CORE_CELL_H

#include <stdatomic.h>
#include <stdint.h>

#include "casty/actor.h"
#include "core/env.h"

struct casty_shard;
struct casty_name_entry;

enum casty_cell_flag {
    CASTY_CELL_STARTED = 0x1,  /* init has run; the cell may be scheduled */
    CASTY_CELL_QUEUED = 0x2,   /* in the shard's run queue */
    CASTY_CELL_RUNNING = 0x4,  /* its behaviour or a hook is on the stack */
    CASTY_CELL_STOPPING = 0x8, /* stop once the current message is handled */
    CASTY_CELL_STOPPED = 0x10, /* stop hook ran; messages are dead letters */
    CASTY_CELL_HEAP_STATE = 0x20,
};

#define CASTY_CELL_SIZE         256
#define CASTY_CELL_INLINE_STATE 128

typedef struct casty_cell {
    void *pool_link;      /* offset 0: the pool's free link */
    _Atomic uint32_t gen; /* read by any shard; written by the owner at stop */
    uint16_t shard;
    uint16_t flags;
    struct casty_cell *runq_next;
    struct casty_cell *live_prev, *live_next; /* the shard's list of live cells */
    casty_env *mb_head, *mb_tail;
    uint32_t mb_count;
    uint32_t reserved;
    const casty_actor_def *def;
    void *state;
    struct casty_name_entry *name; /* NULL for anonymous actors */
    alignas(16) unsigned char inline_state[CASTY_CELL_INLINE_STATE];
} casty_cell;

_Static_assert(sizeof(casty_cell) <= CASTY_CELL_SIZE, "an idle actor costs at most 256 bytes");
_Static_assert(offsetof(casty_cell, gen) >= sizeof(void *), "gen survives the pool's free link");

/* The cell's current generation; a relaxed load is enough: a stale value can only differ. */
static inline uint32_t casty__cell_gen(const casty_cell *cell)
{
    return atomic_load_explicit(&cell->gen, memory_order_relaxed);
}

static inline void casty__mailbox_push(casty_cell *cell, casty_env *env)
{
    env->link.next = NULL;
    if (cell->mb_tail)
        cell->mb_tail->link.next = &env->link;
    else
        cell->mb_head = env;
    cell->mb_tail = env;
    cell->mb_count++;
}

static inline casty_env *casty__mailbox_pop(casty_cell *cell)
{
    casty_env *env = cell->mb_head;
    if (!env)
        return NULL;
    cell->mb_head = (casty_env *)(void *)env->link.next;
    if (!cell->mb_head)
        cell->mb_tail = NULL;
    cell->mb_count--;
    return env;
}

/* Deliver an envelope addressed to a cell on the calling shard (checks the generation). */
void casty__cell_deliver(struct casty_shard *sh, casty_env *env);
/* Handle a START envelope: link the cell, run its init hook, schedule it. */
void casty__cell_start(struct casty_shard *sh, casty_env *env);
/* Run one turn: up to the budget of messages. Called by the shard loop only. */
void casty__cell_run(struct casty_shard *sh, casty_cell *cell);
/* Stop a cell now: stop hook, registry removal, mailbox to dead letters, free. Owner shard only. */
void casty__cell_stop(struct casty_shard *sh, casty_cell *cell);

#endif
