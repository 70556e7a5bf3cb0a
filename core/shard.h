/*
 * A shard: one pinned thread that owns an io_uring ring, a run queue of ready
 * actors, a timing wheel and per-shard pool caches. Everything in the first
 * group is touched by the owning thread only. Producers on other threads touch
 * only the `sleeping` flag (to decide whether to wake it), the injection queue
 * and the eventfd. Counters are single-writer atomics so that stats readers on
 * other threads see whole values without any read-modify-write on the hot path.
 */
#ifndef CASTY_CORE_SHARD_H
#define CASTY_CORE_SHARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "alloc/pool.h"
#include "casty/actor.h"
#include "core/cell.h"
#include "core/compiler.h"
#include "core/ext.h"
#include "core/mpsc.h"
#include "core/spsc.h"
#include "core/timer.h"
#include "io/uring.h"

struct casty_system;

/* The context handed to behaviours; one per shard, reset per message. */
struct casty_ctx {
    struct casty_shard *shard;
    casty_cell *cell;
    casty_env *env; /* the message being handled (NULL in hooks) */
    bool replied;
    int fail_err; /* set by casty_fail(): the turn is a crash whatever the behaviour returns */
};

typedef struct casty_counter {
    _Atomic uint64_t v;
} casty_counter;

/* Single-writer increment: a relaxed load and store, no locked instruction. */
static inline void casty__count(casty_counter *c, uint64_t n)
{
    atomic_store_explicit(&c->v, atomic_load_explicit(&c->v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t casty__counter_read(casty_counter *c)
{
    return atomic_load_explicit(&c->v, memory_order_relaxed);
}

typedef struct casty_shard_stats {
    casty_counter delivered;
    casty_counter dead[CASTY_DEAD_REASONS];
    casty_counter spawned, stopped;
    casty_counter asks_timed_out;
    casty_counter crashes, restarts;
    casty_counter wakeups_sent, sleeps;
    casty_counter ring_publishes, ring_full, parks;
    casty_counter io_submits;
} casty_shard_stats;

/* Sender-side FIFO of envelopes that did not fit in a full ring. */
typedef struct casty_overflow {
    casty_env *head, *tail;
} casty_overflow;

typedef struct casty_shard {
    /* Owner-only. */
    struct casty_system *sys;
    uint32_t id;
    uint32_t nshards;
    uint64_t now_ns;
    struct casty_ctx ctx;
    casty_pool_cache env_cache;
    casty_pool_cache cell_cache;
    casty_pool_cache pending_cache;
    casty_pool_cache sched_cache;
    struct casty_sched *scheds; /* schedules armed here that no actor owns */
    casty_lite *parked;         /* actors waiting for a full ring to drain */
    uint32_t nparked, parked_cap;
    uint64_t rng; /* xorshift state: backoff jitter */
    casty_cell *runq_head, *runq_tail;
    casty_cell *live; /* doubly linked list of live cells on this shard */
    casty_wheel wheel;
    casty_spsc **out;         /* out[d]: ring to shard d (NULL for self) */
    casty_spsc **in;          /* in[s]: ring from shard s (NULL for self) */
    casty_overflow *overflow; /* overflow[d] */
    uint16_t *dirty;          /* destinations with unpublished or parked envelopes */
    uint8_t *is_dirty;
    uint32_t ndirty;
    uint32_t overflowing; /* destinations with a non-empty overflow FIFO */
    bool stop_seen;       /* saw CASTY_PHASE_STOP_ACTORS and stopped its top-level actors */
    bool forced;          /* saw CASTY_PHASE_FORCE and finalized whatever was left */
    casty_io io;
    uint32_t net_tick; /* loop turns since the shard's net was last polled */
    pthread_t thread;
    casty_shard_stats stats;

    /* Written by producers on other threads. */
    CASTY_ALIGNED_CACHELINE _Atomic uint32_t sleeping;
    CASTY_ALIGNED_CACHELINE casty_mpsc inject;
    int eventfd;
} casty_shard;

/* The shard the calling thread runs, or NULL for threads outside every system. */
/* initial-exec: one instruction to read, instead of a __tls_get_addr call per message. */
extern _Thread_local casty_shard *casty__tls_shard __attribute__((tls_model("initial-exec")));

/* Make a ready cell runnable (owner only). */
static inline void casty__runq_push(casty_shard *sh, casty_cell *cell)
{
    cell->runq_next = NULL;
    if (sh->runq_tail)
        sh->runq_tail->runq_next = cell;
    else
        sh->runq_head = cell;
    sh->runq_tail = cell;
}

/* Run a hook or behaviour with the shard's ctx on `cell`; returns the outer ctx to restore. */
typedef struct casty_saved_ctx {
    struct casty_ctx ctx;
    uint16_t running;
} casty_saved_ctx;

static inline casty_saved_ctx casty__enter_cell(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    casty_saved_ctx saved = {sh->ctx, (uint16_t)(cell->flags & CASTY_CELL_RUNNING)};
    sh->ctx.cell = cell;
    sh->ctx.env = env;
    sh->ctx.replied = false;
    sh->ctx.fail_err = 0;
    cell->flags |= CASTY_CELL_RUNNING;
    return saved;
}

static inline void casty__leave_cell(casty_shard *sh, casty_cell *cell, casty_saved_ctx saved)
{
    cell->flags = (uint16_t)((cell->flags & ~CASTY_CELL_RUNNING) | saved.running);
    sh->ctx = saved.ctx;
}

/* Remember a cell whose send overflowed a full ring; it runs again once the rings drain. */
void casty__shard_park(casty_shard *sh, casty_cell *cell);
/* The rings have room again: reschedule every parked cell. */
void casty__shard_unpark(casty_shard *sh);

int casty__shard_start(casty_shard *sh);
void casty__shard_join(casty_shard *sh);
/* Wake `sh` if it sleeps (any thread; pairs with the sleeper's fence). */
void casty__shard_wake(casty_shard *from, casty_shard *sh);

/* Envelope allocation on the calling shard (or the shared depot from outside). */
casty_env *casty__env_alloc(struct casty_system *sys, casty_shard *sh);
void casty__env_free(struct casty_system *sys, casty_shard *sh, casty_env *env);
/*
 * A runtime-made envelope: kind, type, an empty inline payload, no sender,
 * addressed to (to, to_gen) (a cell, a pending ask or a schedule). NULL when
 * out of memory.
 */
casty_env *casty__env_make(struct casty_system *sys, casty_shard *sh, uint16_t kind, uint32_t type,
                           void *to, uint32_t to_gen);

/*
 * Count a dead letter, answer a pending ask carried by it with `err` (if err),
 * publish it to the listener and free it. Any thread (sh NULL: outside).
 */
void casty__dead_letter(struct casty_system *sys, casty_shard *sh, casty_env *env,
                        casty_dead_reason reason, int err);
/* Count and publish a dead letter that never became an envelope. */
void casty__dead_letter_info(struct casty_system *sys, casty_shard *sh, const casty_ref *recipient,
                             const casty_ref *sender, uint32_t type, int32_t status,
                             const void *data, size_t len, casty_dead_reason reason);

/* Route an envelope from the calling shard (or from outside when sh is NULL) to shard `dst`. */
void casty__route(struct casty_system *sys, casty_shard *sh, uint32_t dst, casty_env *env);

/* Deliver an envelope that has reached its destination shard. */
void casty__shard_deliver(casty_shard *sh, casty_env *env);

/* Cross-shard sends (core/xshard.c). */
void casty__xshard_send(casty_shard *sh, uint32_t dst, casty_env *env);
void casty__xshard_flush(casty_shard *sh);
uint32_t casty__xshard_drain(casty_shard *sh, uint32_t max);
bool casty__xshard_pending_in(casty_shard *sh);

#endif
