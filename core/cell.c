/*
 * Actor cells on their shard: delivery into the mailbox (with the bound and
 * its overflow policy), the START of a freshly spawned actor, and one turn of
 * its behaviour. Stopping and supervision live in lifecycle.c and
 * supervise.c. Everything here runs on the cell's own shard thread.
 */
#include "core/cell.h"

#include <errno.h>
#include <string.h>

#include "core/ask.h"
#include "core/assert.h"
#include "core/lifecycle.h"
#include "core/sched.h"
#include "core/system.h"

casty_ref casty__cell_ref(const struct casty_system *sys, const casty_cell *cell)
{
    return (casty_ref){.addr = (uint64_t)(uintptr_t)cell,
                       .gen = casty__cell_gen(cell),
                       .system = sys->ref_id,
                       .shard = cell->shard,
                       .kind = CASTY_REF_ACTOR};
}

/* May the cell do something now? System messages always; user messages unless held back. */
static inline bool runnable(const casty_cell *cell)
{
    if (casty__mailbox_has_sys(cell))
        return true;
    return cell->mb_head &&
           !(cell->flags & (CASTY_CELL_SUSPENDED | CASTY_CELL_TERMINATING | CASTY_CELL_PARKED));
}

void casty__cell_schedule(casty_shard *sh, casty_cell *cell)
{
    if ((cell->flags & (CASTY_CELL_STARTED | CASTY_CELL_QUEUED | CASTY_CELL_RUNNING |
                        CASTY_CELL_STOPPED)) == CASTY_CELL_STARTED &&
        runnable(cell)) {
        cell->flags |= CASTY_CELL_QUEUED;
        casty__runq_push(sh, cell);
    }
}

void casty__cell_release(casty_shard *sh, casty_cell *cell)
{
    if (cell->flags & (CASTY_CELL_QUEUED | CASTY_CELL_RUNNING))
        return; /* the run queue or the running turn frees it */
    casty__pool_put(&sh->cell_cache, cell);
}

void casty__cell_discard(casty_cell *cell)
{
    if (cell->flags & CASTY_CELL_HEAP_STATE)
        casty__mem_free(cell->state);
    cell->state = NULL;
    casty__cell_ext_free(cell);
    casty_env *queued;
    while ((queued = casty__mailbox_pop(cell)) != NULL)
        casty__env_drop_payload(queued);
}

/* The oldest counted user envelope, and its predecessor: the drop-oldest victim. */
static casty_env *oldest_counted(casty_cell *cell, casty_env **prevp)
{
    casty_env *prev = cell->mb_sys_tail;
    casty_env *env = prev ? (casty_env *)(void *)prev->link.next : cell->mb_head;
    while (env && !casty__env_counted(env)) {
        prev = env;
        env = (casty_env *)(void *)env->link.next;
    }
    *prevp = prev;
    return env;
}

/* A counted message meets a full mailbox: apply the actor's overflow policy. */
static void overflow(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    if (cell->mb_policy == CASTY_MAILBOX_DROP_OLDEST) {
        casty_env *prev;
        casty_env *victim = oldest_counted(cell, &prev);
        if (victim) {
            casty__mailbox_unlink(cell, prev, victim);
            casty__dead_letter(sh->sys, sh, victim, CASTY_DEAD_MAILBOX_FULL, -EAGAIN);
            casty__mailbox_push(cell, env);
            casty__cell_schedule(sh, cell);
            return;
        }
    }
    casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_MAILBOX_FULL, -EAGAIN); /* DROP_NEW */
}

void casty__cell_deliver(casty_shard *sh, casty_env *env)
{
    casty_cell *cell = env->to.cell;
    /* A stale generation means the actor stopped: the ref outlived it. */
    if (CASTY_UNLIKELY(casty__cell_gen(cell) != env->to_gen)) {
        if (env->kind == CASTY_ENV_SYS)
            casty__sys_undeliverable(sh, env);
        else
            casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_STOPPED, -CASTY_EDEAD);
        return;
    }
    CASTY_ASSERT(cell->shard == sh->id);
    if (CASTY_UNLIKELY(env->kind == CASTY_ENV_SYS)) {
        casty__mailbox_push_sys(cell, env);
    } else if (CASTY_UNLIKELY(cell->flags & CASTY_CELL_TERMINATING)) {
        /* It will never handle another user message. */
        casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_STOPPED, -CASTY_EDEAD);
        return;
    } else if (CASTY_UNLIKELY(cell->mb_count >= cell->mb_cap) && casty__env_counted(env) &&
               cell->mb_policy != CASTY_MAILBOX_FAIL) {
        /* (FAIL refused at the sender; what got past the gate in flight is admitted.) */
        overflow(sh, cell, env);
        return;
    } else {
        casty__mailbox_push(cell, env);
    }
    casty__cell_schedule(sh, cell);
}

void casty__cell_start(casty_shard *sh, casty_env *env)
{
    casty_cell *cell = env->to.cell;
    CASTY_ASSERT(casty__cell_gen(cell) == env->to_gen);
    CASTY_ASSERT(cell->shard == sh->id);
    cell->live_prev = NULL;
    cell->live_next = sh->live;
    if (sh->live)
        sh->live->live_prev = cell;
    sh->live = cell;
    cell->flags |= CASTY_CELL_STARTED;
    if (atomic_load_explicit(&sh->sys->phase, memory_order_relaxed) != CASTY_PHASE_RUNNING) {
        casty__env_free(sh->sys, sh, env);
        casty__cell_begin_stop(sh, cell, CASTY_EXIT_STOPPED, 0);
        return;
    }
    /* The arg is kept for the init that follows each restart; no memory for it is a crash. */
    int rc = env->msg.len ? casty__cell_keep_arg(cell, env->msg.data, env->msg.len) : 0;
    casty__env_free(sh->sys, sh, env);
    casty__cell_init(sh, cell, rc);
}

/* The next envelope this cell may handle now: system first, users unless held back. */
static inline casty_env *next_env(casty_cell *cell)
{
    if (CASTY_UNLIKELY(casty__mailbox_has_sys(cell)))
        return casty__mailbox_pop(cell);
    if (CASTY_UNLIKELY(cell->flags &
                       (CASTY_CELL_SUSPENDED | CASTY_CELL_TERMINATING | CASTY_CELL_PARKED)))
        return NULL;
    return casty__mailbox_pop(cell);
}

/*
 * The behaviour failed on `env`: the strategy acts (and the crash is counted)
 * first, then its asker learns at once, not at its timeout.
 */
static void crashed(casty_shard *sh, casty_cell *cell, casty_env *env, int err)
{
    bool answer = (env->msg.flags & CASTY_MSG_ASK) && !sh->ctx.replied;
    casty__cell_crashed(sh, cell, err);
    if (answer)
        casty__reply_status(sh->sys, sh, env->sender, -CASTY_ECRASHED);
}

static void handle_user(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    sh->ctx.env = env;
    sh->ctx.replied = false;
    sh->ctx.fail_err = 0;
    int rc = cell->def->behave(&sh->ctx, cell->state, &env->msg);
    if (CASTY_UNLIKELY(rc < 0 || sh->ctx.fail_err))
        crashed(sh, cell, env, sh->ctx.fail_err ? sh->ctx.fail_err : rc);
    sh->ctx.env = NULL;
    casty__env_free(sh->sys, sh, env);
}

void casty__cell_run(casty_shard *sh, casty_cell *cell)
{
    if (CASTY_UNLIKELY(cell->flags & CASTY_CELL_STOPPED)) {
        casty__cell_release(sh, cell); /* stopped while queued */
        return;
    }
    struct casty_system *sys = sh->sys;
    uint32_t budget = sys->cfg.actor_budget;
    uint32_t n = 0;
    /* Top level (the run queue): no outer context to save, unlike hooks run from inside turns. */
    CASTY_DASSERT(sh->ctx.cell == NULL);
    sh->ctx.cell = cell;
    cell->flags |= CASTY_CELL_RUNNING;
    while (n < budget) {
        /* A system stop lets each actor finish the message in hand, not its whole turn. */
        if (CASTY_UNLIKELY(!sh->stop_seen && !casty__system_accepting(sys)))
            break;
        casty_env *env = next_env(cell);
        if (!env)
            break;
        n++;
        if (CASTY_LIKELY(env->kind == CASTY_ENV_USER)) {
            handle_user(sh, cell, env);
        } else if (env->kind == CASTY_ENV_SYS) {
            casty__cell_handle_sys(sh, cell, env);
        } else {
            CASTY_DASSERT(env->kind == CASTY_ENV_STOP);
            casty__env_free(sys, sh, env);
            cell->flags |= CASTY_CELL_STOPPING;
        }
        if (CASTY_UNLIKELY(cell->flags &
                           (CASTY_CELL_STOPPING | CASTY_CELL_STOPPED | CASTY_CELL_PARKED))) {
            if (cell->flags & CASTY_CELL_STOPPING)
                casty__cell_begin_stop(sh, cell, CASTY_EXIT_STOPPED, 0);
            break;
        }
    }
    casty__count(&sh->stats.delivered, n);
    cell->flags &= (uint16_t)~CASTY_CELL_RUNNING;
    sh->ctx.cell = NULL;
    if (CASTY_UNLIKELY(cell->flags & (CASTY_CELL_STOPPED | CASTY_CELL_PARKED))) {
        if (cell->flags & CASTY_CELL_STOPPED) {
            casty__cell_release(sh, cell);
            return;
        }
        if (sh->overflowing) {
            casty__shard_park(sh, cell);
            return;
        }
        cell->flags &= (uint16_t)~CASTY_CELL_PARKED; /* the ring drained during the turn */
    }
    casty__cell_schedule(sh, cell);
}
