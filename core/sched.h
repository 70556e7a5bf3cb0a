/*
 * Scheduled messages (casty/schedule.h). A schedule is a 192-byte type-stable
 * pool object armed in one shard's timing wheel: the calling actor's shard
 * (which then owns it: it dies with the actor) or, from an outside thread,
 * the target's shard (armed there through a CASTY_ENV_SCHED envelope).
 * Its state word (generation << 2 | state) is the one thing other threads
 * touch: casty_cancel() claims ARMED -> CANCELLED with a CAS, so exactly one
 * of cancel and a one-shot firing wins; the owning shard frees it.
 */
#ifndef CASTY_CORE_SCHED_H
#define CASTY_CORE_SCHED_H

#include <stdatomic.h>
#include <stdint.h>

#include "casty/message.h"
#include "casty/schedule.h"
#include "core/cell.h"
#include "core/timer.h"

struct casty_shard;

enum casty_sched_state {
    CASTY_SCHED_FREE = 0,
    CASTY_SCHED_ARMED = 1,
    CASTY_SCHED_CANCELLED = 2,
};

enum casty_sched_op {
    CASTY_SCHED_OP_ARM = 1, /* env->reserved: the first deadline */
    CASTY_SCHED_OP_CANCEL = 2,
};

#define CASTY_SCHED_INLINE 32

typedef struct casty_sched {
    void *pool_link;       /* offset 0: the pool's free link */
    _Atomic uint32_t word; /* generation << 2 | enum casty_sched_state */
    uint16_t shard;
    uint16_t heap; /* payload is a heap block (data.heap) */
    casty_timer timer;
    struct casty_sched *prev, *next, **list; /* the owner's list, or the shard's unowned list */
    casty_cell *owner;
    uint32_t type;
    uint32_t len;
    casty_ref to;
    casty_ref sender;
    uint64_t period_ns; /* 0: once */
    union {
        void *heap;
        alignas(16) unsigned char bytes[CASTY_SCHED_INLINE];
    } data;
} casty_sched;

_Static_assert(sizeof(casty_sched) <= 192, "a pending timer costs at most 192 bytes");

/* Free every schedule `cell` owns (it is stopping). */
void casty__sched_cancel_owned(struct casty_shard *sh, casty_cell *cell);
/* Free every unowned schedule of the shard (it is exiting). */
void casty__sched_free_unowned(struct casty_shard *sh);
/* Handle a CASTY_ENV_SCHED envelope on the schedule's shard (consumes env). */
void casty__sched_on_env(struct casty_shard *sh, casty_env *env);
/* Release the payload of a schedule whose ARM envelope is swept at shutdown. */
void casty__sched_discard(casty_sched *s);

#endif
