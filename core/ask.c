/*
 * Asks: blocking from outside threads (waiter slots), non-blocking inside
 * actors (pending entries + a timer on the asker's shard). See ask.h.
 */
#include "core/ask.h"

#include <errno.h>
#include <string.h>

#include "core/assert.h"
#include "core/send.h"
#include "core/system.h"

static uint64_t timeout_ns(struct casty_system *sys, const casty_ask_opts *opts)
{
    if (opts && opts->timeout_ms)
        return (uint64_t)opts->timeout_ms * 1000000u;
    return sys->ask_timeout_ns;
}

/* The request of an ask: a user message flagged ASK whose sender is the waiting party. */
static casty_send ask_message(uint32_t type, const void *data, size_t len, const casty_ref *asker)
{
    return (casty_send){.type = type,
                        .flags = CASTY_MSG_ASK,
                        .kind = CASTY_ENV_USER,
                        .data = data,
                        .len = len,
                        .sender = asker};
}

int casty_ask_raw(casty_ref to, uint32_t type, const void *data, size_t len, void *reply,
                  size_t reply_len, const casty_ask_opts *opts)
{
    if (casty__tls_shard)
        return -EDEADLK; /* blocking would stall every actor of this shard */
    if (to.system == 0 || to.kind != CASTY_REF_ACTOR || (len && !data) || (reply_len && !reply))
        return -EINVAL;
    struct casty_system *sys = casty__system_enter(to.system);
    if (!sys)
        return -ESHUTDOWN;
    uint32_t idx, gen;
    int rc = casty__waiter_acquire(&sys->waiters, &idx, &gen);
    if (rc < 0) {
        casty__system_leave(sys);
        return rc;
    }
    casty_ref me = {.addr = idx, .gen = gen, .system = sys->ref_id, .kind = CASTY_REF_WAITER};
    casty_send s = ask_message(type, data, len, &me);
    uint64_t now = casty__now_ns();
    rc = casty__send(sys, NULL, &to, &s);
    /* On a failed send the wait below times out at once and frees the slot. */
    uint64_t deadline = rc < 0 ? 0 : now + timeout_ns(sys, opts);
    int wrc = casty__waiter_wait(&sys->waiters, idx, gen, deadline, sys->spin_ns, reply, reply_len);
    casty__system_leave(sys);
    return rc < 0 ? rc : wrc;
}

static void pending_free(casty_shard *sh, casty_pending *p)
{
    /* Relaxed: only this shard compares generations of its own pending entries. */
    atomic_store_explicit(&p->gen, atomic_load_explicit(&p->gen, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    casty__pool_put(&sh->pending_cache, p);
}

/* Deliver a status-only message of the reply type to the asker (timeout, failure). */
static void notify_asker(casty_shard *sh, casty_pending *p, int status)
{
    casty_env *env =
        casty__env_make(sh->sys, sh, CASTY_ENV_USER, p->reply_type, p->asker, p->asker_gen);
    if (!env)
        return; /* out of memory: the asker cannot be told; its own timeout is all it gets */
    env->msg.status = status;
    env->flags |= CASTY_ENV_UNCOUNTED; /* the asker's own asks are bounded by the asker */
    casty__cell_deliver(sh, env);
}

static void on_timeout(casty_timer *t, void *arg)
{
    (void)t;
    casty_pending *p = arg;
    casty_shard *sh = p->shard;
    casty__count(&sh->stats.asks_timed_out, 1);
    notify_asker(sh, p, -ETIMEDOUT);
    pending_free(sh, p);
}

int casty_ask_async_raw(casty_ctx *ctx, casty_ref to, uint32_t type, const void *data, size_t len,
                        uint32_t reply_type, const casty_ask_opts *opts)
{
    if (!ctx || !ctx->cell || to.system == 0 || to.kind != CASTY_REF_ACTOR || (len && !data))
        return -EINVAL;
    casty_shard *sh = ctx->shard;
    struct casty_system *sys = sh->sys;
    if (to.system != sys->ref_id)
        return -EINVAL; /* asks across systems in one process are not supported */
    casty_pending *p = casty__pool_get(&sh->pending_cache);
    if (!p)
        return -ENOMEM;
    p->reply_type = reply_type;
    p->asker = ctx->cell;
    p->asker_gen = casty__cell_gen(ctx->cell);
    p->shard = sh;
    casty__timer_init(&p->timer, on_timeout, p);
    casty_ref me = {.addr = (uint64_t)(uintptr_t)p,
                    .gen = atomic_load_explicit(&p->gen, memory_order_relaxed),
                    .system = sys->ref_id,
                    .shard = (uint16_t)sh->id,
                    .kind = CASTY_REF_ASK};
    casty_send s = ask_message(type, data, len, &me);
    /* Arm first: a send to a stale ref on this shard is answered before casty__send returns. */
    casty__wheel_add(&sh->wheel, &p->timer, casty__now_ns() + timeout_ns(sys, opts));
    int rc = casty__send(sys, sh, &to, &s);
    if (rc < 0) {
        casty__wheel_cancel(&sh->wheel, &p->timer);
        pending_free(sh, p);
    }
    return rc;
}

void casty__ask_on_reply(casty_shard *sh, casty_env *env)
{
    casty_pending *p = env->to.pending;
    if (atomic_load_explicit(&p->gen, memory_order_relaxed) != env->to_gen) {
        casty__dead_letter(sh->sys, sh, env, CASTY_DEAD_LATE_REPLY, 0);
        return;
    }
    CASTY_ASSERT(p->shard == sh);
    casty__wheel_cancel(&sh->wheel, &p->timer);
    env->kind = CASTY_ENV_USER;
    env->flags |= CASTY_ENV_UNCOUNTED;
    env->msg.type = p->reply_type;
    env->msg.flags = 0;
    env->to.cell = p->asker;
    env->to_gen = p->asker_gen;
    pending_free(sh, p);
    casty__cell_deliver(sh, env);
}

void casty__reply_status(struct casty_system *sys, casty_shard *sh, casty_ref to, int status)
{
    if (to.kind != CASTY_REF_WAITER && to.kind != CASTY_REF_ASK)
        return;
    casty_send s = {.type = CASTY_TYPE_REPLY, .status = status, .kind = CASTY_ENV_USER};
    /* Failure here means no memory for the envelope; the asker's timeout still answers it. */
    (void)casty__send(sys, sh, &to, &s);
}
