/*
 * Message sending: casty_tell_raw(), casty_stop_raw(), routing and dead
 * letters. Called from any thread; `sh` is the caller's shard when it runs in
 * the target system, else NULL (and the caller holds the system entered).
 */
#include "core/send.h"

#include <errno.h>
#include <string.h>

#include "core/ask.h"
#include "core/assert.h"
#include "core/system.h"

int casty__env_set_payload(casty_env *env, const void *data, size_t len)
{
    env->msg.len = (uint32_t)len;
    if (CASTY_LIKELY(len <= CASTY_ENV_INLINE)) {
        if (len)
            memcpy(env->inline_data, data, len);
        env->msg.data = env->inline_data;
        return 0;
    }
    void *block = casty__mem_aligned(16, len);
    if (!block)
        return -ENOMEM;
    memcpy(block, data, len);
    env->msg.data = block;
    env->flags |= CASTY_ENV_HEAP_PAYLOAD;
    return 0;
}

void casty__route(struct casty_system *sys, casty_shard *sh, uint32_t dst, casty_env *env)
{
    CASTY_DASSERT(dst < sys->nshards);
    if (sh) {
        if (dst == sh->id)
            casty__shard_deliver(sh, env);
        else
            casty__xshard_send(sh, dst, env);
        return;
    }
    casty_shard *target = sys->shards[dst];
    casty__mpsc_push(&target->inject, &env->link);
    casty__shard_wake(NULL, target);
}

/* A full CASTY_MAILBOX_FAIL mailbox refuses at the sender (as far as it can see from here). */
static inline bool gate_closed(const casty_ref *to)
{
    const casty_cell *cell = (const casty_cell *)(uintptr_t)to->addr;
    /* Type-stable cells: the read is safe even for a stale ref, and the gen check tells. */
    return CASTY_UNLIKELY(atomic_load_explicit(&cell->mb_gate, memory_order_relaxed) != 0) &&
           casty__cell_gen(cell) == to->gen;
}

/* The explicit sender, else the running actor on this shard, else none. Written in place. */
static inline void set_sender(struct casty_system *sys, casty_shard *sh, casty_env *env,
                              const casty_ref *sender)
{
    if (sender) {
        env->sender = *sender;
    } else if (sh && sh->ctx.cell) {
        const casty_cell *cell = sh->ctx.cell;
        memset(&env->sender, 0, sizeof(env->sender));
        env->sender.addr = (uint64_t)(uintptr_t)cell;
        env->sender.gen = casty__cell_gen(cell);
        env->sender.system = sys->ref_id;
        env->sender.shard = cell->shard;
        env->sender.kind = CASTY_REF_ACTOR;
    } else {
        memset(&env->sender, 0, sizeof(env->sender));
    }
}

int casty__send(struct casty_system *sys, casty_shard *sh, const casty_ref *to, const casty_send *s)
{
    if (CASTY_UNLIKELY(s->len > sys->max_message_bytes))
        return -EMSGSIZE;
    if (CASTY_UNLIKELY(to->shard >= sys->nshards || to->node != 0))
        return -EINVAL;
    if (to->kind == CASTY_REF_WAITER) {
        /* An outside thread blocked in casty_ask(): write the reply into its slot. */
        if (casty__waiter_complete(&sys->waiters, (uint32_t)to->addr, to->gen, s->status, s->data,
                                   s->len) < 0)
            casty__dead_letter_info(sys, sh, to, s->sender, s->type, s->status, s->data, s->len,
                                    CASTY_DEAD_LATE_REPLY);
        return 0;
    }
    if (CASTY_UNLIKELY(to->kind != CASTY_REF_ACTOR && to->kind != CASTY_REF_ASK))
        return -EINVAL;
    if (to->kind == CASTY_REF_ACTOR && s->kind == CASTY_ENV_USER && gate_closed(to))
        return -EAGAIN;
    casty_env *env = casty__env_alloc(sys, sh);
    if (CASTY_UNLIKELY(!env))
        return -ENOMEM;
    env->msg.type = s->type;
    env->msg.status = s->status;
    env->msg.flags = s->flags;
    if (CASTY_UNLIKELY(casty__env_set_payload(env, s->data, s->len) < 0)) {
        casty__env_free(sys, sh, env);
        return -ENOMEM;
    }
    set_sender(sys, sh, env, s->sender);
    env->to_gen = to->gen;
    if (to->kind == CASTY_REF_ACTOR) {
        env->kind = s->kind;
        env->to.cell = (casty_cell *)(uintptr_t)to->addr;
    } else {
        env->kind = CASTY_ENV_REPLY;
        env->to.pending = (struct casty_pending *)(uintptr_t)to->addr;
    }
    casty__route(sys, sh, to->shard, env);
    return 0;
}

int casty__send_any(const casty_ref *to, const casty_send *s)
{
    if (CASTY_UNLIKELY(to->system == 0))
        return -EINVAL;
    if (CASTY_UNLIKELY(s->len && !s->data))
        return -EINVAL;
    casty_shard *sh;
    struct casty_system *sys = casty__system_for(to->system, &sh);
    if (CASTY_UNLIKELY(!sys))
        return -ESHUTDOWN;
    int rc = casty__send(sys, sh, to, s);
    casty__system_done(sys, sh);
    return rc;
}

int casty_tell_raw(casty_ref to, uint32_t type, const void *data, size_t len,
                   const casty_ref *sender)
{
    casty_send s = {
        .type = type, .kind = CASTY_ENV_USER, .data = data, .len = len, .sender = sender};
    return casty__send_any(&to, &s);
}

int casty_tell_name_raw(casty_system *sys, const char *name, const char *protocol, uint32_t type,
                        const void *data, size_t len)
{
    if (!sys || !name || (len && !data))
        return -EINVAL;
    casty_ref to;
    int rc = casty_lookup_raw(sys, &to, name, protocol);
    if (rc == -ENOENT) {
        casty_shard *sh;
        if (!casty__system_for(sys->ref_id, &sh))
            return -ESHUTDOWN;
        casty__dead_letter_info(sys, sh, NULL, NULL, type, 0, data,
                                len > sys->max_message_bytes ? 0 : len, CASTY_DEAD_NO_SUCH_NAME);
        casty__system_done(sys, sh);
        return -ENOENT;
    }
    if (rc < 0)
        return rc;
    return casty_tell_raw(to, type, data, len, NULL);
}

int casty_stop_raw(casty_ref to)
{
    if (to.kind != CASTY_REF_ACTOR)
        return -EINVAL;
    casty_send s = {.type = 0, .kind = CASTY_ENV_STOP};
    return casty__send_any(&to, &s);
}
