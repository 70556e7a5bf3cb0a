/*
 * Systems: a set of shard threads (one per core) that run actors. Several
 * systems may live in one process (at most CASTY_MAX_SYSTEMS at once).
 */
#ifndef CASTY_SYSTEM_H
#define CASTY_SYSTEM_H

#include <stdint.h>

#include "casty/api.h"
#include "casty/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASTY_MAX_SYSTEMS 64

typedef struct casty_system casty_system;

/* Dead-letter reasons, counted separately. */
typedef enum casty_dead_reason {
    CASTY_DEAD_STOPPED = 0, /* the target actor had stopped (stale ref) */
    CASTY_DEAD_NO_SENDER,   /* reply with neither asker nor sender */
    CASTY_DEAD_LATE_REPLY,  /* a reply arrived after its ask timed out */
    CASTY_DEAD_REASONS
} casty_dead_reason;

/* A snapshot of counters summed over all shards (relaxed reads: each field is exact, the set is not atomic). */
typedef struct casty_stats {
    uint64_t delivered;    /* messages handed to behaviours */
    uint64_t dead_letters; /* sum over reasons */
    uint64_t dead_by_reason[CASTY_DEAD_REASONS];
    uint64_t actors_spawned;
    uint64_t actors_stopped;
    uint64_t actors_live;
    uint64_t asks_timed_out;
    uint64_t crashes;        /* behaviours that returned an error */
    uint64_t wakeups_sent;   /* wakes of a sleeping shard */
    uint64_t sleeps;         /* times a shard went to sleep */
    uint64_t ring_publishes; /* SPSC index publications */
    uint64_t ring_full;      /* sends parked in a sender-side overflow queue */
    uint64_t io_submits;     /* io_uring_enter calls */
    uint32_t shards;
} casty_stats;

/*
 * Start a system: spawns and pins the shard threads and sets up each shard's
 * io_uring ring. `cfg` may be NULL for defaults. Outside threads only.
 * Returns 0 and *out, or -EINVAL, -ENOMEM, -EMFILE (too many systems),
 * -ENOSYS (io_uring unavailable).
 */
CASTY_API CASTY_NODISCARD int casty_system_start(casty_system **out, const casty_config *cfg);

/*
 * Stop gracefully: refuse new work, stop every actor (each finishes the message
 * in hand and runs its stop hook), drain, join the threads and free everything.
 * Messages still in flight are freed uncounted (the counters go with the system). Outside
 * threads only: -EDEADLK from a shard of this system; -EINVAL on NULL.
 */
CASTY_API CASTY_NODISCARD int casty_system_stop(casty_system *sys);

/* Number of shards. Any thread. */
CASTY_API uint32_t casty_system_shards(const casty_system *sys);

/* The effective configuration (defaults resolved). Any thread; -EINVAL on NULL. */
CASTY_API CASTY_NODISCARD int casty_system_config(const casty_system *sys, casty_config *out);

/* Sum the shards' counters into *out. Any thread; -EINVAL on NULL. */
CASTY_API CASTY_NODISCARD int casty_system_stats(casty_system *sys, casty_stats *out);

#ifdef __cplusplus
}
#endif
#endif
