/*
 * Scheduled messages: creation from any thread, firing in the owning shard's
 * timing wheel, cancellation from any thread. See sched.h for the ownership
 * rules and casty/schedule.h for the contract.
 */
#include "core/sched.h"

#include <errno.h>
#include <string.h>

#include "core/assert.h"
#include "core/ext.h"
#include "core/send.h"
#include "core/system.h"

static inline uint32_t word_of(uint32_t gen, uint32_t state)
{
    return gen << 2 | state;
}

static inline uint32_t load_word(casty_sched *s)
{
    return atomic_load_explicit(&s->word, memory_order_acquire);
}

static const void *payload(const casty_sched *s)
{
    return s->heap ? s->data.heap : s->data.bytes;
}

void casty__sched_discard(casty_sched *s)
{
    if (s->heap)
        casty__mem_free(s->data.heap);
    s->heap = 0;
}

static void list_insert(casty_sched **list, casty_sched *s)
{
    s->list = list;
    s->prev = NULL;
    s->next = *list;
    if (*list)
        (*list)->prev = s;
    *list = s;
}

static void list_remove(casty_sched *s)
{
    if (!s->list)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        *s->list = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->list = NULL;
    s->prev = s->next = NULL;
}

/* Disarm, unlink and return to the pool; the generation bump makes every handle stale. */
static void sched_free(casty_shard *sh, casty_sched *s)
{
    casty__wheel_cancel(&sh->wheel, &s->timer);
    list_remove(s);
    casty__sched_discard(s);
    uint32_t gen = load_word(s) >> 2;
    atomic_store_explicit(&s->word, word_of(gen + 1, CASTY_SCHED_FREE), memory_order_release);
    casty__pool_put(&sh->sched_cache, s);
}

/* Is the target of a periodic schedule gone for good? (Type-stable cells: the read is safe.) */
static bool target_dead(const casty_sched *s)
{
    const casty_cell *cell = (const casty_cell *)(uintptr_t)s->to.addr;
    return casty__cell_gen(cell) != s->to.gen;
}

static void deliver(casty_shard *sh, casty_sched *s)
{
    struct casty_system *sys = sh->sys;
    casty_send m = {.type = s->type,
                    .kind = CASTY_ENV_USER,
                    .data = payload(s),
                    .len = s->len,
                    .sender = &s->sender};
    int rc = casty__send(sys, sh, &s->to, &m);
    if (rc == -EAGAIN)
        casty__dead_letter_info(sys, sh, &s->to, &s->sender, s->type, 0, payload(s), s->len,
                                CASTY_DEAD_MAILBOX_FULL);
}

static void on_fire(casty_timer *t, void *arg)
{
    casty_sched *s = arg;
    casty_shard *sh = casty__tls_shard;
    uint32_t w = load_word(s);
    uint32_t gen = w >> 2;
    if ((w & 3) != CASTY_SCHED_ARMED) {
        sched_free(sh,
                   s); /* cancelled from another thread; its CANCEL envelope will find it gone */
        return;
    }
    if (!s->period_ns) {
        uint32_t expected = w;
        if (!atomic_compare_exchange_strong_explicit(&s->word, &expected,
                                                     word_of(gen, CASTY_SCHED_CANCELLED),
                                                     memory_order_acq_rel, memory_order_acquire)) {
            sched_free(sh, s); /* cancel won */
            return;
        }
        deliver(sh, s);
        sched_free(sh, s);
        return;
    }
    deliver(sh, s);
    if (target_dead(s) || (load_word(s) & 3) != CASTY_SCHED_ARMED) {
        sched_free(sh, s);
        return;
    }
    /* Fixed rate: the next tick is due one period after this one was, not after now. */
    casty__wheel_add(&sh->wheel, t, t->deadline_ns + s->period_ns);
}

static int validate(casty_system *sys, casty_ref to, const void *data, size_t len,
                    const casty_schedule_opts *opts)
{
    if (!sys || !opts || (len && !data))
        return -EINVAL;
    if (to.kind != CASTY_REF_ACTOR || to.system != sys->ref_id || to.shard >= sys->nshards ||
        to.node != 0)
        return -EINVAL;
    if (len > sys->max_message_bytes)
        return -EMSGSIZE;
    return 0;
}

static int fill(casty_sched *s, casty_shard *sh, casty_ref to, uint32_t type, const void *data,
                size_t len, const casty_schedule_opts *opts)
{
    s->heap = 0;
    if (len > CASTY_SCHED_INLINE) {
        s->data.heap = casty__mem_alloc(len);
        if (!s->data.heap)
            return -ENOMEM;
        s->heap = 1;
    }
    if (len)
        memcpy(s->heap ? s->data.heap : s->data.bytes, data, len);
    casty_cell *owner = sh ? sh->ctx.cell : NULL;
    s->owner = owner;
    s->type = type;
    s->len = (uint32_t)len;
    s->to = to;
    if (opts->sender)
        s->sender = *opts->sender;
    else
        s->sender = owner ? casty__cell_ref(sh->sys, owner) : CASTY_REF_NULL;
    s->period_ns = (uint64_t)opts->every_ms * 1000000u;
    s->list = NULL;
    s->prev = s->next = NULL;
    casty__timer_init(&s->timer, on_fire, s);
    return 0;
}

/* Arm on the calling shard: owned by the running actor, or unowned. */
static int arm_here(casty_shard *sh, casty_sched *s, uint64_t deadline)
{
    if (s->owner) {
        casty_cell_ext *ext = casty__cell_ext(s->owner);
        if (!ext)
            return -ENOMEM;
        list_insert(&ext->scheds, s);
    } else {
        list_insert(&sh->scheds, s);
    }
    casty__wheel_add(&sh->wheel, &s->timer, deadline);
    return 0;
}

static int send_op(casty_system *sys, casty_shard *sh, casty_sched *s, uint32_t gen, uint32_t dst,
                   uint32_t op, uint64_t deadline)
{
    casty_env *env = casty__env_make(sys, sh, CASTY_ENV_SCHED, op, s, gen);
    if (!env)
        return -ENOMEM;
    env->reserved = deadline;
    casty__route(sys, sh, dst, env);
    return 0;
}

static int schedule_entered(casty_system *sys, casty_shard *sh, casty_ref *handle, casty_ref to,
                            uint32_t type, const void *data, size_t len,
                            const casty_schedule_opts *opts)
{
    casty_sched *s =
        sh ? casty__pool_get(&sh->sched_cache) : casty__pool_get_shared(&sys->sched_pool);
    if (!s)
        return -ENOMEM;
    int rc = fill(s, sh, to, type, data, len, opts);
    uint32_t gen = load_word(s) >> 2;
    uint32_t dst = sh ? sh->id : to.shard;
    s->shard = (uint16_t)dst;
    uint32_t first_ms = opts->delay_ms ? opts->delay_ms : opts->every_ms;
    uint64_t deadline = casty__now_ns() + (uint64_t)first_ms * 1000000u;
    atomic_store_explicit(&s->word, word_of(gen, CASTY_SCHED_ARMED), memory_order_release);
    if (rc == 0)
        rc = sh ? arm_here(sh, s, deadline)
                : send_op(sys, NULL, s, gen, dst, CASTY_SCHED_OP_ARM, deadline);
    if (rc < 0) {
        casty__sched_discard(s);
        atomic_store_explicit(&s->word, word_of(gen + 1, CASTY_SCHED_FREE), memory_order_release);
        sh ? casty__pool_put(&sh->sched_cache, s) : casty__pool_put_shared(&sys->sched_pool, s);
        return rc;
    }
    if (handle)
        *handle = (casty_ref){.addr = (uint64_t)(uintptr_t)s,
                              .gen = gen,
                              .system = sys->ref_id,
                              .shard = (uint16_t)dst,
                              .kind = CASTY_REF_TIMER};
    return 0;
}

int casty_schedule_raw(casty_system *sys, casty_ref *handle, casty_ref to, uint32_t type,
                       const void *data, size_t len, const casty_schedule_opts *opts)
{
    int rc = validate(sys, to, data, len, opts);
    if (rc < 0)
        return rc;
    casty_shard *sh;
    if (!casty__system_open(sys, &sh))
        return -ESHUTDOWN;
    rc = schedule_entered(sys, sh, handle, to, type, data, len, opts);
    casty__system_done(sys, sh);
    return rc;
}

int casty_cancel(casty_ref handle)
{
    if (handle.kind != CASTY_REF_TIMER || handle.system == 0)
        return -EINVAL;
    casty_shard *sh;
    casty_system *sys = casty__system_for(handle.system, &sh);
    if (!sys)
        return -ESHUTDOWN;
    int rc = -EINVAL;
    if (handle.shard < sys->nshards) {
        casty_sched *s = (casty_sched *)(uintptr_t)handle.addr;
        uint32_t expected = word_of(handle.gen, CASTY_SCHED_ARMED);
        rc = atomic_compare_exchange_strong_explicit(&s->word, &expected,
                                                     word_of(handle.gen, CASTY_SCHED_CANCELLED),
                                                     memory_order_acq_rel, memory_order_acquire)
                 ? 0
                 : -ENOENT;
        if (rc == 0) {
            if (sh && sh->id == handle.shard)
                sched_free(sh, s);
            else /* without memory for the note, the schedule is freed when it next fires */
                (void)send_op(sys, sh, s, handle.gen, handle.shard, CASTY_SCHED_OP_CANCEL, 0);
        }
    }
    casty__system_done(sys, sh);
    return rc;
}

void casty__sched_on_env(casty_shard *sh, casty_env *env)
{
    casty_sched *s = env->to.sched;
    uint32_t gen = env->to_gen;
    uint32_t w = load_word(s);
    if (w == word_of(gen, CASTY_SCHED_CANCELLED)) {
        sched_free(sh, s); /* cancelled: before it was armed, or after */
    } else if (env->msg.type == CASTY_SCHED_OP_ARM && w == word_of(gen, CASTY_SCHED_ARMED)) {
        list_insert(&sh->scheds, s);
        casty__wheel_add(&sh->wheel, &s->timer, env->reserved);
    }
    casty__env_free(sh->sys, sh, env);
}

void casty__sched_cancel_owned(casty_shard *sh, casty_cell *cell)
{
    casty_cell_ext *ext = cell->ext;
    while (ext && ext->scheds)
        sched_free(sh, ext->scheds);
}

void casty__sched_free_unowned(casty_shard *sh)
{
    while (sh->scheds)
        sched_free(sh, sh->scheds);
}
