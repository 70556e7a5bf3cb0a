/*
 * Stopping (children first, across shards), death watch and the system
 * messages that carry them. See lifecycle.h for the protocol. Owner shard of
 * the cell in question only; casty_watch/casty_unwatch run in a behaviour.
 */
#include "core/lifecycle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/registry.h"
#include "core/sched.h"
#include "core/system.h"

int casty__sys_send(casty_shard *sh, casty_cell *from, casty_lite to, uint32_t type,
                    const void *payload, size_t len)
{
    struct casty_system *sys = sh->sys;
    CASTY_DASSERT(len <= CASTY_ENV_INLINE);
    casty_env *env = casty__env_make(sys, sh, CASTY_ENV_SYS, type, to.cell, to.gen);
    if (CASTY_UNLIKELY(!env))
        return -ENOMEM;
    env->msg.len = (uint32_t)len;
    if (len)
        memcpy(env->inline_data, payload, len);
    if (from)
        env->sender = casty__cell_ref(sys, from);
    casty__route(sys, sh, to.shard, env);
    return 0;
}

/* Tell a watcher that `actor` is gone. */
static void send_terminated(casty_shard *sh, casty_lite watcher, casty_ref actor,
                            casty_exit_reason reason, int err)
{
    casty_terminated t = {.actor = actor, .reason = reason, .error = err};
    if (casty__sys_send(sh, NULL, watcher, CASTY_SYS_TERMINATED, &t, sizeof(t)) < 0)
        fprintf(stderr, "casty: out of memory: a Terminated notice was lost\n");
}

void casty__cell_begin_stop(casty_shard *sh, casty_cell *cell, casty_exit_reason reason, int err)
{
    if (cell->flags & (CASTY_CELL_TERMINATING | CASTY_CELL_STOPPED))
        return;
    cell->flags = (uint16_t)((cell->flags | CASTY_CELL_TERMINATING) & ~CASTY_CELL_STOPPING);
    casty__cell_set_exit(cell, reason, err);
    casty_cell_ext *ext = cell->ext;
    if (ext) {
        casty__sched_cancel_owned(sh, cell);
        casty__wheel_cancel(&sh->wheel, &ext->backoff);
        /* Children first: each answers CHILD_TERMINATED once it is finalized. */
    again:
        CASTY_LITESET_FOREACH(&ext->children, c)
        {
            if (casty__sys_send(sh, cell, *c, CASTY_SYS_PARENT_STOP, NULL, 0) < 0) {
                fprintf(stderr,
                        "casty: out of memory stopping a child of '%s'; not waiting for it\n",
                        casty__cell_name(cell));
                /* Removal reshuffles the set: start over (a repeated stop is a no-op). */
                casty__liteset_remove(&ext->children, c->cell, c->gen);
                goto again;
            }
        }
        if (ext->children.n)
            return;
    }
    casty__cell_finalize(sh, cell);
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

/* Empty the mailbox of a finalized cell: users are dead letters, WATCH is answered. */
static void drain_dead(casty_shard *sh, casty_cell *cell, casty_ref self)
{
    casty_env *env;
    while ((env = casty__mailbox_pop(cell)) != NULL) {
        if (env->kind == CASTY_ENV_USER) {
            casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_STOPPED, -CASTY_EDEAD);
            continue;
        }
        if (env->kind == CASTY_ENV_SYS && env->msg.type == CASTY_SYS_WATCH &&
            !casty_ref_is_null(env->sender))
            send_terminated(sh, casty__lite_from_ref(env->sender), self,
                            (casty_exit_reason)atomic_load(&cell->exit_reason),
                            atomic_load(&cell->exit_error));
        casty__env_free(sh->sys, sh, env);
    }
}

void casty__cell_finalize(casty_shard *sh, casty_cell *cell)
{
    struct casty_system *sys = sh->sys;
    CASTY_ASSERT(cell->shard == sh->id);
    if (cell->flags & CASTY_CELL_STOPPED)
        return;
    cell->flags |= CASTY_CELL_TERMINATING;
    casty__sched_cancel_owned(sh, cell);
    casty__cell_run_stop_hook(sh, cell);
    cell->flags |= CASTY_CELL_STOPPED;
    casty__sched_cancel_owned(sh, cell); /* the stop hook may have scheduled */
    if (cell->name) {
        casty__registry_remove(&sys->registry, cell->name);
        cell->name = NULL;
    }
    casty_ref self = casty__cell_ref(sys, cell);
    /* From here every ref to this actor is stale; its queued messages are dead letters. */
    atomic_store_explicit(&cell->gen, self.gen + 1, memory_order_relaxed);
    drain_dead(sh, cell, self);
    casty_exit_reason reason = (casty_exit_reason)atomic_load(&cell->exit_reason);
    int err = atomic_load(&cell->exit_error);
    casty_cell_ext *ext = cell->ext;
    if (ext) {
        casty__wheel_cancel(&sh->wheel, &ext->backoff);
        CASTY_LITESET_FOREACH(&ext->watchers, w)
        send_terminated(sh, *w, self, reason, err);
        /* Targets forget this watcher, so that long-lived targets do not collect dead ones. */
        CASTY_LITESET_FOREACH(&ext->watching, t)
        (void)casty__sys_send(sh, NULL, *t, CASTY_SYS_UNWATCH, &self, sizeof(self));
    }
    if (cell->parent) {
        casty_lite parent = {
            .cell = cell->parent, .gen = cell->parent_gen, .shard = cell->parent_shard};
        if (casty__sys_send(sh, NULL, parent, CASTY_SYS_CHILD_TERMINATED, &self, sizeof(self)) < 0)
            fprintf(stderr, "casty: out of memory: parent of '%s' not told it stopped\n",
                    cell->def->name);
        cell->parent = NULL;
    }
    casty__cell_ext_free(cell);
    if (cell->flags & CASTY_CELL_HEAP_STATE)
        casty__mem_free(cell->state);
    cell->state = NULL;
    unlink_live(sh, cell);
    casty__count(&sh->stats.stopped, 1);
    casty__cell_release(sh, cell);
}

/* A Terminated for a watched actor becomes an ordinary (unbounded) message to the behaviour. */
static void on_terminated(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    const casty_terminated *t = env->msg.data;
    casty_cell_ext *ext = cell->ext;
    if (!ext || (cell->flags & CASTY_CELL_TERMINATING) ||
        !casty__liteset_remove(&ext->watching, (casty_cell *)(uintptr_t)t->actor.addr,
                               t->actor.gen)) {
        casty__env_free(sh->sys, sh, env); /* unwatched meanwhile, or we are stopping */
        return;
    }
    env->kind = CASTY_ENV_USER;
    env->flags |= CASTY_ENV_UNCOUNTED;
    env->msg.type = CASTY_TYPE_TERMINATED;
    env->msg.flags = 0;
    env->sender = CASTY_REF_NULL;
    casty__mailbox_push(cell, env);
}

static void add_watcher(casty_shard *sh, casty_cell *cell, casty_ref watcher)
{
    casty_cell_ext *ext = casty__cell_ext(cell);
    if (!ext || casty__liteset_add(&ext->watchers, casty__lite_from_ref(watcher)) < 0) {
        fprintf(stderr, "casty: out of memory: a watch of '%s' was lost\n", casty__cell_name(cell));
        (void)sh;
    }
}

static void to_siblings(casty_shard *sh, casty_cell *parent, casty_ref except, uint32_t type,
                        const void *payload, size_t len)
{
    casty_cell_ext *ext = parent->ext;
    if (!ext)
        return;
    CASTY_LITESET_FOREACH(&ext->children, c)
    {
        if (c->cell == (casty_cell *)(uintptr_t)except.addr && c->gen == except.gen)
            continue;
        if (casty__sys_send(sh, parent, *c, type, payload, len) < 0)
            fprintf(stderr, "casty: out of memory: an all-for-one sibling was not told\n");
    }
}

void casty__cell_handle_sys(casty_shard *sh, casty_cell *cell, casty_env *env)
{
    uint32_t type = env->msg.type;
    if (type == CASTY_SYS_TERMINATED) {
        on_terminated(sh, cell, env);
        return;
    }
    casty_ref sender = env->sender;
    union {
        casty_ref ref;
        casty_sys_stop stop;
        casty_sys_failed failed;
    } p = {0};
    if (env->msg.len <= sizeof(p))
        memcpy(&p, env->msg.data, env->msg.len);
    casty__env_free(sh->sys, sh, env);
    casty_cell_ext *ext = cell->ext;
    switch ((enum casty_sys_type)type) {
    case CASTY_SYS_WATCH:
        if (!casty_ref_is_null(sender))
            add_watcher(sh, cell, sender);
        return;
    case CASTY_SYS_UNWATCH:
        if (ext)
            casty__liteset_remove(&ext->watchers, (casty_cell *)(uintptr_t)p.ref.addr, p.ref.gen);
        return;
    case CASTY_SYS_PARENT_STOP:
        casty__cell_begin_stop(sh, cell, CASTY_EXIT_PARENT_STOPPED, 0);
        return;
    case CASTY_SYS_STOP_NOW:
        casty__cell_begin_stop(sh, cell, (casty_exit_reason)p.stop.reason, p.stop.error);
        return;
    case CASTY_SYS_CHILD_TERMINATED:
        if (ext)
            casty__liteset_remove(&ext->children, (casty_cell *)(uintptr_t)p.ref.addr, p.ref.gen);
        if ((cell->flags & CASTY_CELL_TERMINATING) && (!ext || ext->children.n == 0))
            casty__cell_finalize(sh, cell);
        return;
    case CASTY_SYS_CHILD_FAILED:
        if (cell->flags & CASTY_CELL_TERMINATING)
            return;
        if (p.failed.action == CASTY_FAILED_ESCALATE) {
            casty__cell_crashed(sh, cell, p.failed.error);
        } else if (p.failed.action == CASTY_FAILED_RESTART_SIBLINGS) {
            to_siblings(sh, cell, sender, CASTY_SYS_RESTART, NULL, 0);
        } else {
            casty_sys_stop stop = {.reason = CASTY_EXIT_STOPPED};
            to_siblings(sh, cell, sender, CASTY_SYS_STOP_NOW, &stop, sizeof(stop));
        }
        return;
    case CASTY_SYS_RESTART:
        if (!(cell->flags & CASTY_CELL_TERMINATING))
            casty__cell_restart_now(sh, cell);
        return;
    case CASTY_SYS_TERMINATED:
        break;
    }
    CASTY_ASSERT(!"unknown system message");
}

void casty__sys_undeliverable(casty_shard *sh, casty_env *env)
{
    if (env->msg.type == CASTY_SYS_WATCH && !casty_ref_is_null(env->sender)) {
        casty_ref gone = {.addr = (uint64_t)(uintptr_t)env->to.cell,
                          .gen = env->to_gen,
                          .system = sh->sys->ref_id,
                          .shard = (uint16_t)sh->id,
                          .kind = CASTY_REF_ACTOR};
        /* Stopped before the watch arrived: its reason, if the cell still remembers it. */
        casty_exit_reason reason = CASTY_EXIT_ALREADY_DEAD;
        int err = 0;
        if (!casty__cell_exit(env->to.cell, env->to_gen, &reason, &err)) {
            reason = CASTY_EXIT_ALREADY_DEAD;
            err = 0;
        }
        send_terminated(sh, casty__lite_from_ref(env->sender), gone, reason, err);
    }
    casty__env_free(sh->sys, sh, env);
}

static int watch_args(casty_ctx *ctx, casty_ref target)
{
    if (!ctx || !ctx->cell || target.kind != CASTY_REF_ACTOR)
        return -EINVAL;
    if (target.system != ctx->shard->sys->ref_id || target.shard >= ctx->shard->sys->nshards)
        return -EINVAL;
    return 0;
}

int casty_watch(casty_ctx *ctx, casty_ref target)
{
    int rc = watch_args(ctx, target);
    if (rc < 0)
        return rc;
    casty_cell_ext *ext = casty__cell_ext(ctx->cell);
    if (!ext)
        return -ENOMEM;
    casty_lite lite = casty__lite_from_ref(target);
    rc = casty__liteset_add(&ext->watching, lite);
    if (rc != 0)
        return rc < 0 ? rc : 0; /* already watched: still one Terminated */
    rc = casty__sys_send(ctx->shard, ctx->cell, lite, CASTY_SYS_WATCH, NULL, 0);
    if (rc < 0)
        casty__liteset_remove(&ext->watching, lite.cell, lite.gen);
    return rc;
}

int casty_unwatch(casty_ctx *ctx, casty_ref target)
{
    int rc = watch_args(ctx, target);
    if (rc < 0)
        return rc;
    casty_cell_ext *ext = ctx->cell->ext;
    casty_lite lite = casty__lite_from_ref(target);
    if (!ext || !casty__liteset_remove(&ext->watching, lite.cell, lite.gen))
        return -ENOENT;
    casty_ref self = casty__cell_ref(ctx->shard->sys, ctx->cell);
    return casty__sys_send(ctx->shard, NULL, lite, CASTY_SYS_UNWATCH, &self, sizeof(self));
}
