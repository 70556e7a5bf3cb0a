/*
 * The system object: shards, the ring matrix, the pools, the name registry and
 * the waiter table for blocking asks. Immutable after start except for the
 * atomics, which say why they are atomic where they are used. Outside threads
 * reach a system through the process-wide table (casty__system_enter/leave),
 * which keeps it alive for the duration of their call.
 */
#ifndef CASTY_CORE_SYSTEM_H
#define CASTY_CORE_SYSTEM_H

#include <stdatomic.h>

#include "alloc/pool.h"
#include "casty/config.h"
#include "casty/system.h"
#include "core/placement.h"
#include "core/registry.h"
#include "core/shard.h"
#include "core/waiter.h"

enum casty_phase {
    CASTY_PHASE_RUNNING = 0,
    CASTY_PHASE_STOP_ACTORS = 1, /* no spawns; shards stop their top-level actors and check in */
    CASTY_PHASE_FORCE = 2,       /* the grace period is over: finalize what is left, check in */
    CASTY_PHASE_EXIT = 3,        /* shards leave their loops */
};

struct casty_system {
    uint32_t ref_id; /* (generation << 8) | table index: the `system` field of refs */
    uint32_t nshards;
    casty_config cfg;
    uint16_t *cpus;
    casty_shard **shards;
    casty_spsc *rings; /* nshards * nshards; rings[s * n + d] carries s -> d */
    casty_placement placement;
    casty_registry registry;
    casty_waiters waiters;
    casty_pool env_pool;
    casty_pool cell_pool;
    casty_pool pending_pool;
    casty_pool sched_pool;
    uint64_t max_message_bytes;
    uint64_t ask_timeout_ns;
    uint64_t spin_ns;

    uint32_t launched; /* shard threads started */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
    uint32_t started;
    int start_rc;

    _Atomic uint32_t phase;           /* enum casty_phase; shards poll it each loop */
    _Atomic uint32_t shards_seen;     /* shards that saw STOP_ACTORS (and spawn no more) */
    _Atomic uint32_t shards_forced;   /* shards that finalized their leftovers in FORCE */
    _Atomic(casty_ref *) dl_listener; /* the dead-letter listener, or NULL */
    pthread_mutex_t dl_lock;          /* serialises setters; guards dl_retired */
    casty_ref **dl_retired;           /* replaced listener boxes, freed at teardown */
    uint32_t dl_nretired;
    _Atomic uint32_t round_robin; /* anonymous spawns from outside threads */
    _Atomic uint64_t outside_spawned;
    _Atomic uint64_t outside_dead; /* dead letters found by outside threads */
    _Atomic uint64_t outside_dead_by[CASTY_DEAD_REASONS];
};

/* Enter a system by ref id from any thread; NULL if it is stopped or stopping. */
struct casty_system *casty__system_enter(uint32_t ref_id);
void casty__system_leave(struct casty_system *sys);

/* Resolve the system for a call: the caller's own shard's system when it matches, else enter(). */
static inline struct casty_system *casty__system_for(uint32_t ref_id, casty_shard **shp)
{
    casty_shard *sh = casty__tls_shard;
    if (sh && sh->sys->ref_id == ref_id) {
        *shp = sh;
        return sh->sys;
    }
    *shp = NULL;
    return casty__system_enter(ref_id);
}

static inline void casty__system_done(struct casty_system *sys, casty_shard *sh)
{
    if (!sh)
        casty__system_leave(sys);
}

static inline bool casty__system_accepting(struct casty_system *sys)
{
    return atomic_load_explicit(&sys->phase, memory_order_relaxed) == CASTY_PHASE_RUNNING;
}

/*
 * Enter `sys` for a call that creates work (spawn, schedule): false, and
 * nothing to undo, when it is stopping; else pair with casty__system_done().
 */
static inline bool casty__system_open(struct casty_system *sys, casty_shard **shp)
{
    if (!casty__system_for(sys->ref_id, shp))
        return false;
    if (casty__system_accepting(sys))
        return true;
    casty__system_done(sys, *shp);
    return false;
}

uint64_t casty__now_ns(void);

/* A shard thread reports that its setup finished with `rc` (0 or -errno). */
void casty__system_report_started(struct casty_system *sys, int rc);

/* The ref naming `cell` (which must be live). */
casty_ref casty__cell_ref(const struct casty_system *sys, const casty_cell *cell);

#endif
