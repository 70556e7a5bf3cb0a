/*
 * Actor cells on their shard: delivery into the mailbox, the START of a
 * freshly spawned actor, one turn of its behaviour, and its stop. Everything
 * here runs on the cell's own shard thread.
 */
#include "core/cell.h"

#include <errno.h>
#include <string.h>

#include "core/ask.h"
#include "core/assert.h"
#include "core/system.h"

casty_ref casty__cell_ref(const struct casty_system *sys, const casty_cell *cell)
{
    return (casty_ref){.addr = (uint64_t)(uintptr_t)cell,
                       .gen = casty__cell_gen(cell),
                       .system = sys->ref_id,
                       .shard = cell->shard,
                       .kind = CASTY_REF_ACTOR};
}

static void schedule(casty_shard *sh, casty_cell *cell)
{
    if ((cell->flags & (CASTY_CELL_STARTED | CASTY_CELL_QUEUED | CASTY_CELL_RUNNING |
                        CASTY_CELL_STOPPED)) == CASTY_CELL_STARTED) {
        cell->flags |= CASTY_CELL_QUEUED;
        casty__runq_push(sh, cell);
    }
}

void casty__cell_deliver(casty_shard *sh, casty_env *env)
{
    casty_cell *cell = env->to.cell;
    /* A stale generation means the actor stopped: the ref outlived it. */
    if (CASTY_UNLIKELY(casty__cell_gen(cell) != env->to_gen)) {
        casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_STOPPED, -CASTY_EDEAD);
        return;
    }
    CASTY_ASSERT(cell->shard == sh->id);
    casty__mailbox_push(cell, env);
    schedule(sh, cell);
}

/* Run a hook or behaviour with the shard's ctx pointing at `cell`, saving the outer ctx. */
struct saved_ctx {
    struct casty_ctx ctx;
    uint16_t running;
};

static struct saved_ctx enter_cell(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    struct saved_ctx saved = {sh->ctx, (uint16_t)(cell->flags & CASTY_CELL_RUNNING)};
    sh->ctx.cell = cell;
    sh->ctx.env = env;
    sh->ctx.replied = false;
    cell->flags |= CASTY_CELL_RUNNING;
    return saved;
}

static void leave_cell(casty_shard *sh, casty_cell *cell, struct saved_ctx saved)
{
    cell->flags = (uint16_t)((cell->flags & ~CASTY_CELL_RUNNING) | saved.running);
    sh->ctx = saved.ctx;
}

static void release_cell(casty_shard *sh, casty_cell *cell)
{
    if (cell->flags & (CASTY_CELL_QUEUED | CASTY_CELL_RUNNING))
        return; /* the run queue or the running turn frees it */
    casty__pool_put(&sh->cell_cache, cell);
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
    if (atomic_load_explicit(&sh->sys->phase, memory_order_relaxed) != CASTY_PHASE_RUNNING) {
        casty__env_free(sh->sys, sh, env);
        casty__cell_stop(sh, cell);
        return;
    }
    cell->flags |= CASTY_CELL_STARTED;
    int rc = 0;
    if (cell->def->init) {
        struct saved_ctx saved = enter_cell(sh, cell, NULL);
        rc = cell->def->init(&sh->ctx, cell->state, env->msg.len ? env->msg.data : NULL,
                             env->msg.len);
        leave_cell(sh, cell, saved);
    }
    casty__env_free(sh->sys, sh, env);
    if (rc < 0 || (cell->flags & CASTY_CELL_STOPPING)) {
        casty__cell_stop(sh, cell);
        return;
    }
    if (cell->mb_head)
        schedule(sh, cell);
}

/* A behaviour returned an error: the message is dropped, a pending ask learns why. */
static void crashed(casty_shard *sh, casty_cell *cell, casty_env *env, int rc)
{
    (void)rc;
    (void)cell;
    casty__count(&sh->stats.crashes, 1);
    if ((env->msg.flags & CASTY_MSG_ASK) && !sh->ctx.replied)
        casty__reply_status(sh->sys, sh, env->sender, -CASTY_ECRASHED);
}

void casty__cell_run(casty_shard *sh, casty_cell *cell)
{
    if (CASTY_UNLIKELY(cell->flags & CASTY_CELL_STOPPED)) {
        release_cell(sh, cell); /* stopped while queued */
        return;
    }
    struct casty_system *sys = sh->sys;
    uint32_t budget = sys->cfg.actor_budget;
    uint32_t n = 0;
    struct saved_ctx saved = enter_cell(sh, cell, NULL);
    while (n < budget) {
        casty_env *env = casty__mailbox_pop(cell);
        if (!env)
            break;
        n++;
        if (CASTY_UNLIKELY(env->kind == CASTY_ENV_STOP)) {
            casty__env_free(sys, sh, env);
            cell->flags |= CASTY_CELL_STOPPING;
            break;
        }
        sh->ctx.env = env;
        sh->ctx.replied = false;
        int rc = cell->def->behave(&sh->ctx, cell->state, &env->msg);
        if (CASTY_UNLIKELY(rc < 0))
            crashed(sh, cell, env, rc);
        casty__env_free(sys, sh, env);
        if (CASTY_UNLIKELY(cell->flags & CASTY_CELL_STOPPING))
            break;
    }
    casty__count(&sh->stats.delivered, n);
    leave_cell(sh, cell, saved);
    if (CASTY_UNLIKELY(cell->flags & (CASTY_CELL_STOPPING | CASTY_CELL_STOPPED))) {
        casty__cell_stop(sh, cell);
        return;
    }
    if (cell->mb_head)
        schedule(sh, cell);
}

static void unlink_live(casty_shard *sh, casty_cell *cell)
{
    if (cell->live_prev)
        cell->live_prev->live_next = cell->live_next;
    else if (sh->live == cell)
        sh->live = cell->live_next;
    if (cell->live_next)
        cell->live_next->live_prev = cell->live_prev;
    cell->live_prev = cell->live_next = NULL;
}

void casty__cell_stop(casty_shard *sh, casty_cell *cell)
{
    struct casty_system *sys = sh->sys;
    CASTY_ASSERT(cell->shard == sh->id);
    if (cell->flags & CASTY_CELL_STOPPED) {
        release_cell(sh, cell);
        return;
    }
    cell->flags |= CASTY_CELL_STOPPED;
    if ((cell->flags & CASTY_CELL_STARTED) && cell->def->stop) {
        struct saved_ctx saved = enter_cell(sh, cell, NULL);
        cell->def->stop(&sh->ctx, cell->state);
        leave_cell(sh, cell, saved);
    }
    if (cell->name) {
        casty__registry_remove(&sys->registry, cell->name);
        cell->name = NULL;
    }
    /* From here every ref to this actor is stale; its queued messages are dead letters. */
    atomic_store_explicit(&cell->gen, casty__cell_gen(cell) + 1, memory_order_relaxed);
    casty_env *env;
    while ((env = casty__mailbox_pop(cell)) != NULL) {
        if (env->kind == CASTY_ENV_STOP)
            casty__env_free(sys, sh, env);
        else
            casty__dead_letter(sys, sh, env, CASTY_DEAD_STOPPED, -CASTY_EDEAD);
    }
    if (cell->flags & CASTY_CELL_HEAP_STATE)
        casty__mem_free(cell->state);
    cell->state = NULL;
    unlink_live(sh, cell);
    casty__count(&sh->stats.stopped, 1);
    release_cell(sh, cell);
}
