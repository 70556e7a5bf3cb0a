/*
 * Envelopes: the runtime's carrier for one message. An envelope is a 128-byte
 * type-stable object from the system's envelope pool; it moves by pointer from
 * the sender through an SPSC ring (or the injection queue) into the receiver's
 * mailbox, and the receiver's shard frees it into its own pool cache. Small
 * payloads (<= CASTY_ENV_INLINE bytes) live inside it; larger ones are a
 * separate 16-byte aligned block that any thread may free.
 * Ownership is linear: exactly one thread owns an envelope at any time.
 */
#ifndef CASTY_CORE_ENV_H
#define CASTY_CORE_ENV_H

#include <stdint.h>
#include <string.h>

#include "alloc/heap.h"
#include "casty/message.h"
#include "core/compiler.h"
#include "core/mpsc.h"

struct casty_cell;
struct casty_pending;
struct casty_sched;

enum casty_env_kind {
    CASTY_ENV_USER = 0,  /* a message for an actor's behaviour */
    CASTY_ENV_STOP = 1,  /* a stop request, queued in FIFO order with user messages */
    CASTY_ENV_START = 2, /* a freshly spawned actor's start (payload: the init arg) */
    CASTY_ENV_REPLY = 3, /* a reply to an actor's pending ask (to.pending) */
    CASTY_ENV_SYS = 4,   /* a system message for a cell (msg.type: enum casty_sys_type) */
    CASTY_ENV_SCHED = 5, /* arm or cancel a schedule on its shard (to.sched) */
};

#define CASTY_ENV_HEAP_PAYLOAD 0x1u /* msg.data points to a separate block */
#define CASTY_ENV_UNCOUNTED    0x2u /* outside the mailbox bound: replies, timeouts, Terminated */
#define CASTY_ENV_NO_PUBLISH   0x4u /* a dead-letter notice: if undeliverable, count it only */

#define CASTY_ENV_SIZE   128
#define CASTY_ENV_INLINE 48

typedef struct casty_env {
    casty_mpsc_node link; /* offset 0: pool free link, mailbox/queue link */
    casty_msg msg;        /* the view handed to behaviours */
    union {
        struct casty_cell *cell;
        struct casty_pending *pending;
        struct casty_sched *sched;
    } to;
    uint32_t to_gen;  /* generation of `to` when the message was sent */
    uint16_t kind;    /* enum casty_env_kind */
    uint16_t flags;   /* CASTY_ENV_* */
    casty_ref sender; /* actor, waiter (blocking ask) or pending ask */
    uint64_t reserved;
    alignas(16) unsigned char inline_data[CASTY_ENV_INLINE];
} casty_env;

_Static_assert(sizeof(casty_env) == CASTY_ENV_SIZE, "an envelope is two cache lines");
_Static_assert(offsetof(casty_env, inline_data) % 16 == 0, "inline payload is max-aligned");
_Static_assert(offsetof(casty_env, link) == 0, "the pool's free link is the first word");

struct casty_system;

/* Set the payload: inline when it fits, else a heap block. 0 or -ENOMEM. */
int casty__env_set_payload(casty_env *env, const void *data, size_t len);

/* Release the payload block, if any (the envelope itself goes back to a pool). */
static inline void casty__env_drop_payload(casty_env *env)
{
    if (env->flags & CASTY_ENV_HEAP_PAYLOAD) {
        casty__mem_free((void *)env->msg.data);
        env->flags &= (uint16_t)~CASTY_ENV_HEAP_PAYLOAD;
    }
    env->msg.data = NULL;
}

#endif
