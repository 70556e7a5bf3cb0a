/*
 * The lifecycle protocol between cells, carried by system envelopes
 * (CASTY_ENV_SYS) that overtake user messages and are never dropped:
 *
 *   stop:  begin_stop marks the cell TERMINATING, cancels its schedules and
 *          sends PARENT_STOP to every child; each child, once finalized,
 *          answers CHILD_TERMINATED; the last answer finalizes the parent
 *          (stop hook, name released, generation bumped, mailbox to dead
 *          letters, Terminated to watchers, CHILD_TERMINATED to its parent).
 *          Depth-first across shards, because a hook runs only at finalize.
 *   watch: WATCH/UNWATCH to the target; TERMINATED back, once (the watcher
 *          keeps the set of actors it watches and drops anything else).
 *   crash: the cell's strategy acts on the cell itself; ESCALATE and the
 *          all-for-one scope go through its parent (CHILD_FAILED, RESTART,
 *          STOP_NOW to siblings).
 * Owner shard only.
 */
#ifndef CASTY_CORE_LIFECYCLE_H
#define CASTY_CORE_LIFECYCLE_H

#include <stdint.h>

#include "casty/lifecycle.h"
#include "core/ext.h"
#include "core/registry.h"

struct casty_shard;

enum casty_sys_type {
    CASTY_SYS_WATCH = 1,        /* sender watches the target */
    CASTY_SYS_UNWATCH,          /* sender stops watching the target */
    CASTY_SYS_TERMINATED,       /* payload casty_terminated: a watched actor is gone */
    CASTY_SYS_PARENT_STOP,      /* the parent is stopping: stop (reason PARENT_STOPPED) */
    CASTY_SYS_STOP_NOW,         /* payload casty_sys_stop: stop now (shutdown, all-for-one) */
    CASTY_SYS_CHILD_TERMINATED, /* sender, a child, is finalized */
    CASTY_SYS_CHILD_FAILED,     /* payload casty_sys_failed: a child's crash needs the parent */
    CASTY_SYS_RESTART,          /* all-for-one: restart (no budget, no backoff) */
};

enum casty_sys_failed_action {
    CASTY_FAILED_ESCALATE = 1, /* crash the parent with `error` */
    CASTY_FAILED_RESTART_SIBLINGS,
    CASTY_FAILED_STOP_SIBLINGS,
};

typedef struct casty_sys_stop {
    uint32_t reason; /* casty_exit_reason */
    int32_t error;
} casty_sys_stop;

typedef struct casty_sys_failed {
    uint32_t action; /* enum casty_sys_failed_action */
    int32_t error;
} casty_sys_failed;

/* The actor's name for log lines: its registered name, else its definition's. */
static inline const char *casty__cell_name(const casty_cell *cell)
{
    return cell->name ? cell->name->name : cell->def->name;
}

/* Send a system message from `from` (NULL: no sender) to `to`. Never dropped; -ENOMEM only. */
int casty__sys_send(struct casty_shard *sh, casty_cell *from, casty_lite to, uint32_t type,
                    const void *payload, size_t len);

/* Begin stopping (idempotent): children first, then casty__cell_finalize. */
void casty__cell_begin_stop(struct casty_shard *sh, casty_cell *cell, casty_exit_reason reason,
                            int err);
/* Finish stopping now, whether or not children remain (forced shutdown uses this directly). */
void casty__cell_finalize(struct casty_shard *sh, casty_cell *cell);
/* Handle one system envelope for a live cell (consumes env). */
void casty__cell_handle_sys(struct casty_shard *sh, casty_cell *cell, casty_env *env);
/* A system envelope whose target is gone (consumes env): answer WATCH, drop the rest. */
void casty__sys_undeliverable(struct casty_shard *sh, casty_env *env);

/* Supervision (core/supervise.c). */
/*
 * Run init on fresh state (with the kept spawn arg) and settle the outcome: a
 * failure, or `err` < 0 given instead of running it, is a crash; a stop_self
 * in init stops. Unless the caller holds the cell (a running turn), it is
 * then rescheduled, or released if it stopped. At START and after restarts.
 */
void casty__cell_init(struct casty_shard *sh, casty_cell *cell, int err);
/* Run the stop hook if an init succeeded since the last one (once per successful init). */
void casty__cell_run_stop_hook(struct casty_shard *sh, casty_cell *cell);
/* The behaviour or init failed with err: apply the cell's strategy. */
void casty__cell_crashed(struct casty_shard *sh, casty_cell *cell, int err);
/* Restart now without counting against the budget (all-for-one siblings). */
void casty__cell_restart_now(struct casty_shard *sh, casty_cell *cell);
/* The strategy in force for a cell. */
const casty_supervision *casty__cell_strategy(const struct casty_shard *sh, const casty_cell *cell);
/* Check a mailbox bound's fields (capacity 0 = default is valid): 0 or -EINVAL. */
int casty__mailbox_validate(const casty_mailbox *mb);
/* Check a strategy's fields: 0 or -EINVAL. */
int casty__supervision_validate(const casty_supervision *sup);

#endif
