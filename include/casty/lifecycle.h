/*
 * Actor lifecycle: supervision strategies, mailbox bounds, death watch and
 * the messages the runtime delivers to behaviours (Terminated, dead letters).
 *
 *     static const casty_supervision flaky = {
 *         .directive = CASTY_RESTART, .max_retries = 3, .within_ms = 1000,
 *         .backoff_min_ms = 10, .backoff_max_ms = 200, .backoff_jitter_pct = 20};
 *     rc = casty_spawn(sys, &ref, worker_actor, "worker", .supervision = &flaky,
 *                      .mailbox = {.capacity = 1024, .policy = CASTY_MAILBOX_DROP_OLDEST});
 *
 * A behaviour crashes when it returns a negative errno or calls casty_fail().
 * The failing message is dropped (an ask on it is answered with -ECRASHED at
 * once) and the actor's strategy decides what happens next.
 */
#ifndef CASTY_LIFECYCLE_H
#define CASTY_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a crash leads to. */
typedef enum casty_directive {
    CASTY_RESTART = 0, /* stop hook, fresh zeroed state, init again; the mailbox is kept */
    CASTY_RESUME,      /* keep the state and go on with the next message */
    CASTY_STOP,        /* stop (children first); watchers get Terminated(FAILED) */
    CASTY_ESCALATE,    /* stop with FAILED and crash the parent, whose own strategy decides */
} casty_directive;

#define CASTY_RETRIES_MAX 1024 /* the largest finite max_retries */

/*
 * A supervision strategy, chosen at spawn (NULL: the parent's strategy for a
 * child, the system default for a top-level actor). Restart allows at most
 * `max_retries` restarts within any `within_ms` window (sliding: old restarts
 * age out); one more crash inside the window stops the actor with FAILED and
 * a log line on stderr. With backoff_max_ms > 0, the k-th restart within the
 * window waits min(backoff_max_ms, backoff_min_ms << (k - 1)), stretched by up
 * to backoff_jitter_pct percent at random and then capped at backoff_max_ms;
 * messages stay queued meanwhile.
 * all_for_one: when this actor is restarted or stopped by its strategy, its
 * siblings (the other children of its parent) are restarted or stopped with
 * it. A top-level actor has no siblings. Escalate from a top-level actor acts
 * as Stop.
 */
typedef struct casty_supervision {
    casty_directive directive;
    uint32_t max_retries; /* Restart: 0..CASTY_RETRIES_MAX */
    uint32_t within_ms;   /* Restart: the window; must be > 0 */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;     /* 0: restart at once */
    uint32_t backoff_jitter_pct; /* 0..100 */
    bool all_for_one;
} casty_supervision;

/* What happens when a message arrives at a full mailbox. */
typedef enum casty_mailbox_policy {
    CASTY_MAILBOX_FAIL = 0,    /* refuse: the sender's tell/ask returns -EAGAIN (see below) */
    CASTY_MAILBOX_DROP_NEW,    /* drop the arriving message (a dead letter) */
    CASTY_MAILBOX_DROP_OLDEST, /* drop the oldest queued message (a dead letter) to make room */
} casty_mailbox_policy;

/*
 * A mailbox bound: at most `capacity` user messages wait (0: the system's
 * default capacity). System messages (stop requests, watch, Terminated,
 * supervision) and replies to the actor's own asks are never counted nor
 * dropped. CASTY_MAILBOX_FAIL enforces the bound where the send is made, and
 * drops nothing it accepted: a sender on the actor's shard is refused exactly
 * at capacity; a sender on another shard or thread is refused once the actor
 * has published that it is full, so messages already in flight then are
 * still admitted (the overshoot is bounded by what the rings between shards
 * hold). The drop policies enforce the bound exactly on arrival; what they
 * drop becomes a dead letter (CASTY_DEAD_MAILBOX_FULL), an ask on it gets
 * -EAGAIN.
 */
typedef struct casty_mailbox {
    uint32_t capacity;           /* 0: the system's default bound and policy */
    casty_mailbox_policy policy; /* with a non-zero capacity (0 is CASTY_MAILBOX_FAIL) */
} casty_mailbox;

#define CASTY_MAILBOX_MAX (1u << 30)

/* Why an actor terminated (carried by Terminated). */
typedef enum casty_exit_reason {
    CASTY_EXIT_STOPPED = 0,    /* it stopped itself, was asked to, or the system shut down */
    CASTY_EXIT_FAILED,         /* a crash with the Stop/Escalate directive, or restarts exhausted */
    CASTY_EXIT_PARENT_STOPPED, /* its parent stopped */
    CASTY_EXIT_ALREADY_DEAD,   /* it was dead when the watch arrived and its cause is forgotten */
} casty_exit_reason;

/* Delivered to a watcher (message type CASTY_TYPE_TERMINATED), once per watched actor. */
typedef struct casty_terminated {
    casty_ref actor;
    casty_exit_reason reason;
    int32_t error; /* the crash's error code for FAILED, else 0 */
} casty_terminated;

#define CASTY_TYPE_TERMINATED  0xFFFF0002u
#define CASTY_TYPE_DEAD_LETTER 0xFFFF0003u

typedef struct casty_ctx casty_ctx;

/*
 * Watch `target`: this actor receives one Terminated when it stops, also if
 * it is dead already: with the reason it stopped for while the runtime still
 * remembers it (until its cell is reused by a new actor), else
 * CASTY_EXIT_ALREADY_DEAD. Watching twice is one watch. Inside a behaviour or
 * hook. 0, -EINVAL, -ENOMEM.
 */
CASTY_API CASTY_NODISCARD int casty_watch(casty_ctx *ctx, casty_ref target);

/* Stop watching `target`; no Terminated for it arrives afterwards. 0, -EINVAL, -ENOENT (not watched). */
CASTY_API CASTY_NODISCARD int casty_unwatch(casty_ctx *ctx, casty_ref target);

/*
 * Crash the running actor with `err` (negative errno) once the behaviour
 * returns, whatever it returns. Same as returning err. Inside a behaviour.
 */
CASTY_API void casty_fail(casty_ctx *ctx, int err);

/* The Terminated payload of a CASTY_TYPE_TERMINATED message, else NULL. */
static inline const casty_terminated *casty_as_terminated(const casty_msg *msg)
{
    return msg->type == CASTY_TYPE_TERMINATED ? (const casty_terminated *)msg->data : 0;
}

#ifdef __cplusplus
}
#endif
#endif
