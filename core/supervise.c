/*
 * Supervision: what a crash (a behaviour or init returning an error, or
 * casty_fail) does to an actor, following its strategy: restart within a
 * sliding-window budget with optional exponential backoff, resume, stop, or
 * escalate to the parent; all-for-one widens restart and stop to the
 * siblings through the parent. Owner shard only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/rand.h"
#include "core/lifecycle.h"
#include "core/registry.h"
#include "core/system.h"

int casty__supervision_validate(const casty_supervision *sup)
{
    if ((uint32_t)sup->directive > CASTY_ESCALATE || sup->max_retries > CASTY_RETRIES_MAX)
        return -EINVAL;
    if (sup->directive == CASTY_RESTART && sup->within_ms == 0)
        return -EINVAL;
    if (sup->backoff_jitter_pct > 100 || sup->backoff_min_ms > sup->backoff_max_ms)
        return -EINVAL;
    if (sup->backoff_max_ms && !sup->backoff_min_ms)
        return -EINVAL;
    return 0;
}

const casty_supervision *casty__cell_strategy(const casty_shard *sh, const casty_cell *cell)
{
    if (cell->ext && cell->ext->has_sup)
        return &cell->ext->sup;
    return &sh->sys->cfg.supervision;
}

/* Run init on fresh state; on success the stop hook is owed. Returns init's result. */
static int run_init(casty_shard *sh, casty_cell *cell)
{
    const casty_actor_def *def = cell->def;
    const casty_cell_ext *ext = cell->ext;
    const void *arg = ext ? ext->arg : NULL;
    size_t len = ext ? ext->arg_len : 0;
    memset(cell->state, 0, def->state_size ? def->state_size : 1);
    int rc = 0;
    if (def->init) {
        casty_saved_ctx saved = casty__enter_cell(sh, cell, NULL);
        rc = def->init(&sh->ctx, cell->state, len ? arg : NULL, len);
        if (rc >= 0 && sh->ctx.fail_err)
            rc = sh->ctx.fail_err;
        casty__leave_cell(sh, cell, saved);
    }
    if (rc >= 0)
        cell->flags |= CASTY_CELL_LIVE_STATE;
    return rc;
}

void casty__cell_run_stop_hook(casty_shard *sh, casty_cell *cell)
{
    if (!(cell->flags & CASTY_CELL_LIVE_STATE))
        return;
    cell->flags &= (uint16_t)~CASTY_CELL_LIVE_STATE;
    if (cell->def->stop) {
        casty_saved_ctx saved = casty__enter_cell(sh, cell, NULL);
        cell->def->stop(&sh->ctx, cell->state);
        casty__leave_cell(sh, cell, saved);
    }
}

/* Tell the parent about a crash it must act on; false when there is no parent to tell. */
static bool tell_parent(casty_shard *sh, casty_cell *cell, uint32_t action, int err)
{
    if (!cell->parent)
        return false;
    casty_sys_failed f = {.action = action, .error = err};
    casty_lite parent = {
        .cell = cell->parent, .gen = cell->parent_gen, .shard = cell->parent_shard};
    if (casty__sys_send(sh, cell, parent, CASTY_SYS_CHILD_FAILED, &f, sizeof(f)) < 0) {
        fprintf(stderr, "casty: out of memory: the parent of '%s' was not told of its crash\n",
                casty__cell_name(cell));
        return false;
    }
    return true;
}

static void fail_stop(casty_shard *sh, casty_cell *cell, const casty_supervision *sup, int err)
{
    if (sup->all_for_one)
        tell_parent(sh, cell, CASTY_FAILED_STOP_SIBLINGS, err);
    casty__cell_begin_stop(sh, cell, CASTY_EXIT_FAILED, err);
}

void casty__cell_init(casty_shard *sh, casty_cell *cell, int err)
{
    /*
     * Hold the cell as running: a failing init may stop it, and finalize must
     * not free it under us. At START and from a backoff timer nobody else
     * holds it; inside a turn (a restart) the turn does.
     */
    uint16_t held = cell->flags & CASTY_CELL_RUNNING;
    cell->flags |= CASTY_CELL_RUNNING;
    int rc = err < 0 ? err : run_init(sh, cell);
    if (rc < 0)
        casty__cell_crashed(sh, cell, rc);
    else if (cell->flags & CASTY_CELL_STOPPING)
        casty__cell_begin_stop(sh, cell, CASTY_EXIT_STOPPED, 0);
    cell->flags = (uint16_t)((cell->flags & ~CASTY_CELL_RUNNING) | held);
    if (held)
        return; /* the holder reschedules or releases */
    if (cell->flags & CASTY_CELL_STOPPED)
        casty__cell_release(sh, cell);
    else
        casty__cell_schedule(sh, cell);
}

/* Init again on fresh state, at the end of a restart or its backoff. */
static void reinit(casty_shard *sh, casty_cell *cell)
{
    cell->flags &= (uint16_t)~CASTY_CELL_SUSPENDED;
    casty__count(&sh->stats.restarts, 1);
    casty__cell_init(sh, cell, 0);
}

static void on_backoff(casty_timer *t, void *arg)
{
    (void)t;
    casty_cell_ext *ext = arg;
    reinit(ext->shard, ext->cell);
}

/*
 * Record a restart at `now` unless the window already holds max_retries of
 * them. Returns the number of restarts in the window including this one, or
 * 0 when the budget is spent (or memory is).
 */
static uint32_t take_budget(casty_cell_ext *ext, const casty_supervision *sup, uint64_t now)
{
    uint32_t max = sup->max_retries;
    if (max == 0)
        return 0;
    if (!ext->restarts) {
        ext->restarts = casty__mem_calloc(max, sizeof(*ext->restarts));
        if (!ext->restarts)
            return 0;
    }
    uint64_t window = (uint64_t)sup->within_ms * 1000000u;
    /* The ring is in time order: restarts older than the window age out from its head. */
    while (ext->restart_n && now - ext->restarts[ext->restart_head] >= window) {
        ext->restart_head = (ext->restart_head + 1) % max;
        ext->restart_n--;
    }
    if (ext->restart_n >= max)
        return 0;
    ext->restarts[(ext->restart_head + ext->restart_n) % max] = now;
    return ++ext->restart_n;
}

static uint64_t next_random(casty_shard *sh)
{
    return casty__splitmix64(&sh->rng); /* per shard: no sharing, no lock */
}

/* The k-th restart's delay in ns: min << (k-1), jittered upward, within [min, max]. */
static uint64_t backoff_ns(casty_shard *sh, const casty_supervision *sup, uint32_t k)
{
    if (!sup->backoff_max_ms)
        return 0;
    uint64_t ms = sup->backoff_min_ms;
    for (uint32_t i = 1; i < k && ms < sup->backoff_max_ms; i++)
        ms <<= 1;
    uint64_t ns = ms * 1000000u;
    if (sup->backoff_jitter_pct)
        ns += ns * sup->backoff_jitter_pct / 100 * (next_random(sh) % 1024) / 1024;
    uint64_t max = (uint64_t)sup->backoff_max_ms * 1000000u;
    return ns > max ? max : ns;
}

static void restart(casty_shard *sh, casty_cell *cell, uint64_t delay_ns)
{
    casty__cell_run_stop_hook(sh, cell);
    if (!delay_ns) {
        reinit(sh, cell);
        return;
    }
    casty_cell_ext *ext = cell->ext; /* take_budget allocated it */
    cell->flags |= CASTY_CELL_SUSPENDED;
    ext->shard = sh;
    casty__timer_init(&ext->backoff, on_backoff, ext);
    casty__wheel_add(&sh->wheel, &ext->backoff, casty__now_ns() + delay_ns);
}

void casty__cell_restart_now(casty_shard *sh, casty_cell *cell)
{
    if (cell->ext)
        casty__wheel_cancel(&sh->wheel, &cell->ext->backoff);
    casty__cell_run_stop_hook(sh, cell);
    reinit(sh, cell);
}

void casty__cell_crashed(casty_shard *sh, casty_cell *cell, int err)
{
    casty__count(&sh->stats.crashes, 1);
    if (cell->flags & (CASTY_CELL_TERMINATING | CASTY_CELL_STOPPED))
        return; /* a crash while stopping changes nothing */
    const casty_supervision *sup = casty__cell_strategy(sh, cell);
    switch (sup->directive) {
    case CASTY_RESUME:
        if (cell->flags & CASTY_CELL_LIVE_STATE)
            return;
        /* init failed: there is no state to resume with */
        fail_stop(sh, cell, sup, err);
        return;
    case CASTY_STOP:
        fail_stop(sh, cell, sup, err);
        return;
    case CASTY_ESCALATE:
        if (!tell_parent(sh, cell, CASTY_FAILED_ESCALATE, err))
            fprintf(stderr,
                    "casty: '%s' crashed (error %d) and escalates with no parent: stopping\n",
                    casty__cell_name(cell), err);
        casty__cell_begin_stop(sh, cell, CASTY_EXIT_FAILED, err);
        return;
    case CASTY_RESTART:
        break;
    }
    casty_cell_ext *ext = casty__cell_ext(cell);
    uint32_t k = ext ? take_budget(ext, sup, casty__now_ns()) : 0;
    if (!k) {
        fprintf(stderr,
                "casty: '%s' crashed (error %d) more than %u times within %u ms: stopping\n",
                casty__cell_name(cell), err, sup->max_retries, sup->within_ms);
        fail_stop(sh, cell, sup, err);
        return;
    }
    if (sup->all_for_one)
        tell_parent(sh, cell, CASTY_FAILED_RESTART_SIBLINGS, err);
    restart(sh, cell, backoff_ns(sh, sup, k));
}

void casty_fail(casty_ctx *ctx, int err)
{
    if (ctx && ctx->cell && err < 0)
        ctx->fail_err = err;
}
