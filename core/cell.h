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
#include <stdbool.h>
#include <stdint.h>

#include "casty/actor.h"
#include "core/compiler.h"
#include "core/env.h"

struct casty_shard;
struct casty_name_entry;
struct casty_cell_ext;

enum casty_cell_flag {
    CASTY_CELL_STARTED = 0x1,      /* START was handled; the cell may be scheduled */
    CASTY_CELL_QUEUED = 0x2,       /* in the shard's run queue */
    CASTY_CELL_RUNNING = 0x4,      /* its behaviour or a hook is on the stack */
    CASTY_CELL_STOPPING = 0x8,     /* stop requested: terminate once the current message is done */
    CASTY_CELL_STOPPED = 0x10,     /* finalized: stop hook ran, messages are dead letters */
    CASTY_CELL_HEAP_STATE = 0x20,  /* state is a heap block, not inline_state */
    CASTY_CELL_TERMINATING = 0x40, /* stopping, waiting for its children; system messages only */
    CASTY_CELL_SUSPENDED = 0x80,   /* restart backoff: system messages only, users wait */
    CASTY_CELL_LIVE_STATE = 0x100, /* init succeeded: the stop hook is owed */
    CASTY_CELL_PARKED = 0x200,     /* a send overflowed a full ring: wait until it drains */
};

#define CASTY_CELL_KEEP_FROM    112 /* readable through stale refs: parent_gen .. exit_error */
#define CASTY_CELL_KEEP_TO      128
#define CASTY_CELL_SIZE         256
#define CASTY_CELL_INLINE_STATE 128

/* mb_gate: set while a CASTY_MAILBOX_FAIL mailbox is full, read by senders on any shard. */
#define CASTY_GATE_CLOSED 1u

/*
 * Line 0 is the message path (owner only, but `gen`), line 1 the lifecycle
 * (written at spawn, stop and fill-level transitions: `mb_gate` lives here so
 * that senders on other shards reading it do not pull the busy line 0).
 */
typedef struct casty_cell {
    void *pool_link;      /* offset 0: the pool's free link */
    _Atomic uint32_t gen; /* read by any shard; written by the owner at stop */
    uint16_t shard;
    uint16_t flags;
    struct casty_cell *runq_next;
    casty_env *mb_head, *mb_tail;
    casty_env *mb_sys_tail; /* last system envelope of the mailbox's system prefix */
    uint32_t mb_count;      /* counted (bounded) user envelopes queued */
    uint32_t mb_cap;
    void *state;

    const casty_actor_def *def;
    struct casty_cell_ext *ext;    /* children, watchers, strategy, ...: NULL until needed */
    struct casty_name_entry *name; /* NULL for anonymous actors */
    struct casty_cell *live_prev, *live_next; /* the shard's list of live cells */
    struct casty_cell *parent;                /* NULL for a top-level actor */
    uint32_t parent_gen;
    uint16_t parent_shard;
    uint8_t mb_policy; /* casty_mailbox_policy */
    /* Written by the owner when it starts to stop; read through stale refs (see casty__cell_exit). */
    _Atomic uint8_t exit_reason; /* casty_exit_reason */
    _Atomic uint32_t mb_gate;
    _Atomic int32_t exit_error;

    alignas(64) unsigned char inline_state[CASTY_CELL_INLINE_STATE];
} casty_cell;

_Static_assert(sizeof(casty_cell) <= CASTY_CELL_SIZE, "an idle actor costs at most 256 bytes");
_Static_assert(offsetof(casty_cell, def) == 64, "the lifecycle fields start line 1");
_Static_assert(offsetof(casty_cell, gen) >= sizeof(void *), "gen survives the pool's free link");
_Static_assert(offsetof(casty_cell, exit_reason) >= CASTY_CELL_KEEP_FROM &&
                   offsetof(casty_cell, mb_gate) >= CASTY_CELL_KEEP_FROM &&
                   offsetof(casty_cell, exit_error) + 4 <= CASTY_CELL_KEEP_TO,
               "what stale refs read stays readable while the cell is free");

/*
 * Generations: even while an actor lives in the cell, odd once it stopped
 * (finalize adds one, and reuse adds one more), so a ref whose gen + 1 is the
 * cell's gen names an actor that stopped and whose cell was not reused yet:
 * its exit reason is still there to read.
 */

/* The cell's current generation; a relaxed load is enough: a stale value can only differ. */
static inline uint32_t casty__cell_gen(const casty_cell *cell)
{
    return atomic_load_explicit(&cell->gen, memory_order_relaxed);
}

static inline void casty__cell_set_exit(casty_cell *cell, casty_exit_reason reason, int err)
{
    atomic_store_explicit(&cell->exit_error, err, memory_order_relaxed);
    atomic_store_explicit(&cell->exit_reason, (uint8_t)reason, memory_order_relaxed);
}

/*
 * Why the actor of generation `gen` stopped, read through a stale ref: true
 * with the reason and error when the cell still holds that actor's exit (its gen is
 * gen + 1), false once the cell was reused. A seqlock read: reuse bumps the
 * generation before anything rewrites the exit fields (casty__cell_reuse).
 */
static inline bool casty__cell_exit(const casty_cell *cell, uint32_t gen, casty_exit_reason *reason,
                                    int *err)
{
    if (atomic_load_explicit(&cell->gen, memory_order_acquire) != gen + 1)
        return false;
    *reason = (casty_exit_reason)atomic_load_explicit(&cell->exit_reason, memory_order_relaxed);
    *err = atomic_load_explicit(&cell->exit_error, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&cell->gen, memory_order_relaxed) == gen + 1;
}

/* A cell leaves the pool for a new actor: from a dead (odd) generation to a live (even) one. */
static inline void casty__cell_reuse(casty_cell *cell)
{
    uint32_t gen = casty__cell_gen(cell);
    if (gen & 1) {
        atomic_store_explicit(&cell->gen, gen + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release); /* pairs with casty__cell_exit's fence */
    }
    casty__cell_set_exit(cell, CASTY_EXIT_STOPPED, 0);
}

/* Does this envelope count against the mailbox bound? */
static inline bool casty__env_counted(const casty_env *env)
{
    return env->kind == CASTY_ENV_USER && !(env->flags & CASTY_ENV_UNCOUNTED);
}

/* Open or close the sender-visible gate when the fill level crosses the capacity. */
static inline void casty__mailbox_gate(casty_cell *cell)
{
    if (cell->mb_policy != CASTY_MAILBOX_FAIL)
        return;
    uint32_t want = cell->mb_count >= cell->mb_cap ? CASTY_GATE_CLOSED : 0;
    if (atomic_load_explicit(&cell->mb_gate, memory_order_relaxed) != want)
        atomic_store_explicit(&cell->mb_gate, want, memory_order_relaxed);
}

/* Append to the user part of the mailbox (FIFO). */
static inline void casty__mailbox_push(casty_cell *cell, casty_env *env)
{
    env->link.next = NULL;
    if (cell->mb_tail)
        cell->mb_tail->link.next = &env->link;
    else
        cell->mb_head = env;
    cell->mb_tail = env;
    if (casty__env_counted(env)) {
        cell->mb_count++;
        if (CASTY_UNLIKELY(cell->mb_count >= cell->mb_cap))
            casty__mailbox_gate(cell);
    }
}

/* Append to the system prefix: system messages overtake user messages, in their own FIFO. */
static inline void casty__mailbox_push_sys(casty_cell *cell, casty_env *env)
{
    casty_env *after = cell->mb_sys_tail;
    if (!after) {
        env->link.next = cell->mb_head ? &cell->mb_head->link : NULL;
        cell->mb_head = env;
    } else {
        env->link.next = after->link.next;
        after->link.next = &env->link;
    }
    if (cell->mb_tail == after)
        cell->mb_tail = env;
    cell->mb_sys_tail = env;
}

static inline bool casty__mailbox_has_sys(const casty_cell *cell)
{
    return cell->mb_sys_tail != NULL;
}

/* Unlink `env`, whose predecessor is `prev` (NULL: the head). */
static inline void casty__mailbox_unlink(casty_cell *cell, casty_env *prev, casty_env *env)
{
    casty_env *next = (casty_env *)(void *)env->link.next;
    if (prev)
        prev->link.next = next ? &next->link : NULL;
    else
        cell->mb_head = next;
    if (!next)
        cell->mb_tail = prev;
    if (cell->mb_sys_tail == env)
        cell->mb_sys_tail = prev;
    if (casty__env_counted(env)) {
        bool was_full = cell->mb_count >= cell->mb_cap;
        cell->mb_count--;
        if (CASTY_UNLIKELY(was_full))
            casty__mailbox_gate(cell);
    }
}

static inline casty_env *casty__mailbox_pop(casty_cell *cell)
{
    casty_env *env = cell->mb_head;
    if (env)
        casty__mailbox_unlink(cell, NULL, env);
    return env;
}

/* Deliver an envelope addressed to a cell on the calling shard (checks the generation). */
void casty__cell_deliver(struct casty_shard *sh, casty_env *env);
/* Handle a START envelope: link the cell, run its init hook, schedule it. */
void casty__cell_start(struct casty_shard *sh, casty_env *env);
/* Run one turn: up to the budget of messages. Called by the shard loop only. */
void casty__cell_run(struct casty_shard *sh, casty_cell *cell);
/* Put the cell on the run queue if it has something it may handle now. Owner only. */
void casty__cell_schedule(struct casty_shard *sh, casty_cell *cell);
/* Return a finalized cell to the pool unless the run queue or a running turn still holds it. */
void casty__cell_release(struct casty_shard *sh, casty_cell *cell);
/* Free what a cell owns on the heap (state, ext); for cells that never started (shutdown). */
void casty__cell_discard(casty_cell *cell);

#endif
