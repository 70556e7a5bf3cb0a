/*
 * Dead letters: every undeliverable message is counted by reason on the shard
 * that found it and, when a listener is set, published to it as a
 * CASTY_TYPE_DEAD_LETTER message (header + the original payload). A notice
 * the listener cannot take is counted, never re-published, so a dead or full
 * listener cannot start a storm. Any thread (sh NULL: an outside thread
 * inside the system).
 */
#include <errno.h>
#include <string.h>

#include "core/ask.h"
#include "core/assert.h"
#include "core/system.h"

static const char *const reason_names[CASTY_DEAD_REASONS] = {
    [CASTY_DEAD_STOPPED] = "stopped",           [CASTY_DEAD_NO_SENDER] = "no_sender",
    [CASTY_DEAD_LATE_REPLY] = "late_reply",     [CASTY_DEAD_MAILBOX_FULL] = "mailbox_full",
    [CASTY_DEAD_NO_SUCH_NAME] = "no_such_name",
};

const char *casty_dead_reason_name(casty_dead_reason reason)
{
    return (unsigned)reason < CASTY_DEAD_REASONS ? reason_names[reason] : "unknown";
}

static void count(struct casty_system *sys, casty_shard *sh, casty_dead_reason reason)
{
    if (sh)
        casty__count(&sh->stats.dead[reason], 1);
    else
        atomic_fetch_add_explicit(&sys->outside_dead_by[reason], 1, memory_order_relaxed);
}

static void publish(struct casty_system *sys, casty_shard *sh, const casty_ref *recipient,
                    const casty_ref *sender, uint32_t type, int32_t status, const void *data,
                    size_t len, casty_dead_reason reason)
{
    /* Acquire: pairs with the setter's release, so the ref it points to is complete. */
    const casty_ref *box = atomic_load_explicit(&sys->dl_listener, memory_order_acquire);
    if (!box)
        return;
    casty_ref to = *box;
    if (recipient && casty_ref_eq(*recipient, to))
        return; /* the listener's own dead letters would only come back to it */
    casty_env *env = casty__env_make(sys, sh, CASTY_ENV_USER, CASTY_TYPE_DEAD_LETTER,
                                     (casty_cell *)(uintptr_t)to.addr, to.gen);
    if (!env)
        return;
    size_t total = sizeof(casty_dead_letter) + len;
    unsigned char *block = casty__mem_aligned(16, total);
    if (!block) {
        casty__env_free(sys, sh, env);
        return;
    }
    casty_dead_letter head = {.recipient = recipient ? *recipient : CASTY_REF_NULL,
                              .sender = sender ? *sender : CASTY_REF_NULL,
                              .type = type,
                              .reason = reason,
                              .len = (uint32_t)len,
                              .status = status};
    memcpy(block, &head, sizeof(head));
    if (len)
        memcpy(block + sizeof(head), data, len);
    env->msg.len = (uint32_t)total;
    env->msg.data = block;
    env->flags = CASTY_ENV_HEAP_PAYLOAD | CASTY_ENV_NO_PUBLISH;
    casty__route(sys, sh, to.shard, env);
}

void casty__dead_letter_info(struct casty_system *sys, casty_shard *sh, const casty_ref *recipient,
                             const casty_ref *sender, uint32_t type, int32_t status,
                             const void *data, size_t len, casty_dead_reason reason)
{
    count(sys, sh, reason);
    publish(sys, sh, recipient, sender, type, status, data, len, reason);
}

/* The ref the envelope was addressed to, rebuilt for the notice. */
static casty_ref recipient_of(struct casty_system *sys, casty_shard *sh, const casty_env *env)
{
    casty_ref r = {.addr = (uint64_t)(uintptr_t)env->to.cell,
                   .gen = env->to_gen,
                   .system = sys->ref_id,
                   .shard = (uint16_t)(sh ? sh->id : 0),
                   .kind = env->kind == CASTY_ENV_REPLY ? CASTY_REF_ASK : CASTY_REF_ACTOR};
    return r;
}

void casty__dead_letter(struct casty_system *sys, casty_shard *sh, casty_env *env,
                        casty_dead_reason reason, int err)
{
    count(sys, sh, reason);
    /* An asker should learn at once that nobody will answer, rather than wait for its timeout. */
    if ((env->msg.flags & CASTY_MSG_ASK) && err && env->kind == CASTY_ENV_USER)
        casty__reply_status(sys, sh, env->sender, err);
    if (!(env->flags & CASTY_ENV_NO_PUBLISH) &&
        atomic_load_explicit(&sys->dl_listener, memory_order_relaxed)) {
        casty_ref recipient = recipient_of(sys, sh, env);
        publish(sys, sh, &recipient, &env->sender, env->msg.type, env->msg.status, env->msg.data,
                env->msg.len, reason);
    }
    casty__env_free(sys, sh, env);
}

int casty_system_set_dead_letter_listener(casty_system *sys, casty_ref listener)
{
    if (!sys)
        return -EINVAL;
    if (!casty_ref_is_null(listener) &&
        (listener.kind != CASTY_REF_ACTOR || listener.system != sys->ref_id ||
         listener.shard >= sys->nshards))
        return -EINVAL;
    casty_shard *sh;
    if (!casty__system_for(sys->ref_id, &sh))
        return -ESHUTDOWN;
    int rc = 0;
    casty_ref *box = NULL;
    if (!casty_ref_is_null(listener)) {
        box = casty__mem_alloc(sizeof(*box));
        if (!box)
            rc = -ENOMEM;
        else
            *box = listener;
    }
    if (rc == 0) {
        /*
         * Shards may still be reading the old box: it is retired, not freed,
         * until the system is torn down (a listener changes rarely).
         */
        pthread_mutex_lock(&sys->dl_lock);
        casty_ref *old = atomic_exchange_explicit(&sys->dl_listener, box, memory_order_acq_rel);
        if (old) {
            casty_ref **grown =
                casty__mem_realloc(sys->dl_retired, (sys->dl_nretired + 1) * sizeof(*grown));
            if (grown) {
                sys->dl_retired = grown;
                sys->dl_retired[sys->dl_nretired++] = old;
            }
            /* Without room to retire it, the old box leaks rather than risk a use after free. */
        }
        pthread_mutex_unlock(&sys->dl_lock);
    }
    casty__system_done(sys, sh);
    return rc;
}
