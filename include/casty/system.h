/*
 * Systems: a set of shard threads (one per core) that run actors. Several
 * systems may live in one process (at most CASTY_MAX_SYSTEMS at once).
 */
#ifndef CASTY_SYSTEM_H
#define CASTY_SYSTEM_H

#include <stdint.h>

#include "casty/api.h"
#include "casty/config.h"
#include "casty/message.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASTY_MAX_SYSTEMS 64

typedef struct casty_system casty_system;

/* Dead-letter reasons, counted separately. */
typedef enum casty_dead_reason {
    CASTY_DEAD_STOPPED = 0,  /* the target actor had stopped (stale ref) */
    CASTY_DEAD_NO_SENDER,    /* reply with neither asker nor sender */
    CASTY_DEAD_LATE_REPLY,   /* a reply arrived after its ask timed out */
    CASTY_DEAD_MAILBOX_FULL, /* the target's mailbox was full (its overflow policy dropped it) */
    CASTY_DEAD_NO_SUCH_NAME, /* sent by name to a name no live actor has */
    CASTY_DEAD_REASONS
} casty_dead_reason;

/* The symbolic name of a reason ("stopped", "mailbox_full", ...). Any thread. */
CASTY_API const char *casty_dead_reason_name(casty_dead_reason reason);

/*
 * What the dead-letter listener receives (message type CASTY_TYPE_DEAD_LETTER):
 * this header, then the undeliverable message's `len` payload bytes (see
 * casty_dead_letter_payload()).
 */
typedef struct casty_dead_letter {
    casty_ref recipient; /* the intended recipient (null for an unknown name) */
    casty_ref sender;    /* the original sender, possibly null */
    uint32_t type;       /* the undeliverable message's type id */
    uint32_t reason;     /* casty_dead_reason */
    uint32_t len;        /* payload bytes following the header */
    int32_t status;      /* the message's status (replies) */
} casty_dead_letter;

static inline const void *casty_dead_letter_payload(const casty_dead_letter *dl)
{
    return (const unsigned char *)dl + sizeof(*dl);
}

/* A snapshot of counters summed over all shards (relaxed reads: each field is exact, the set is not atomic). */
typedef struct casty_stats {
    uint64_t delivered;    /* messages handed to behaviours */
    uint64_t dead_letters; /* sum over reasons */
    uint64_t dead_by_reason[CASTY_DEAD_REASONS];
    uint64_t actors_spawned;
    uint64_t actors_stopped;
    uint64_t actors_live;
    uint64_t asks_timed_out;
    uint64_t crashes;        /* behaviours or inits that failed */
    uint64_t restarts;       /* restarts by a supervision strategy */
    uint64_t wakeups_sent;   /* wakes of a sleeping shard */
    uint64_t sleeps;         /* times a shard went to sleep */
    uint64_t ring_publishes; /* SPSC index publications */
    uint64_t ring_full;      /* sends parked in a sender-side overflow queue */
    uint64_t parks;          /* actors paused until a full ring to another shard drained */
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
 * Stop gracefully: refuse new spawns, then stop every top-level actor; each
 * finishes the message in hand, and stops its children (depth-first, across
 * shards) before its own stop hook runs. Messages still queued become dead
 * letters. Actors still alive after cfg.shutdown_grace_ms (a behaviour that
 * does not return, a stuck tree) are then stopped without waiting for their
 * children. Finally timers are cancelled, threads joined and everything freed.
 * Outside threads only: -EDEADLK from a shard of this system; -EINVAL on NULL;
 * -ESHUTDOWN if already stopping.
 */
CASTY_API CASTY_NODISCARD int casty_system_stop(casty_system *sys);

/*
 * Publish every dead letter from now on to `listener` (a live actor ref; a
 * null ref turns publishing off) as a CASTY_TYPE_DEAD_LETTER message. Dead
 * letters are counted whether or not a listener is set; notices the listener
 * itself cannot take (mailbox full, stopped) are counted, not re-published.
 * Any thread. 0, -EINVAL, -ESHUTDOWN, -ENOMEM.
 */
CASTY_API CASTY_NODISCARD int casty_system_set_dead_letter_listener(casty_system *sys,
                                                                    casty_ref listener);

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
