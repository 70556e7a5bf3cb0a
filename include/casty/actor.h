/*
 * Actors: definitions, spawn, tell, ask, and the context a behaviour runs in.
 *
 *     typedef struct { long count; } Counter;
 *     static int counter(casty_ctx *ctx, Counter *self, const casty_msg *msg) { ... }
 *     CASTY_ACTOR(counter_actor, CounterMsg, Counter, counter);
 *
 *     CounterMsg_ref ref;
 *     int rc = casty_spawn(sys, &ref, counter_actor, "counter");
 *     rc = casty_tell(ref, Increment, .amount = 5);
 *     long n;
 *     rc = casty_ask_timeout(ref, &n, 1000, Get);
 *
 * Threads: tell, spawn and lookup work from any thread, inside or outside the
 * system. casty_ask() blocks and is for outside threads; inside a behaviour use
 * casty_ask_async(), whose reply arrives as a message. ctx functions may only
 * be called inside the behaviour (or hook) they were given to.
 */
#ifndef CASTY_ACTOR_H
#define CASTY_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/error.h"
#include "casty/lifecycle.h"
#include "casty/message.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct casty_ctx casty_ctx;

/*
 * Behaviour: handle one message. Return 0, or a negative errno to report a
 * crash: the message is dropped, a pending ask on it receives -ECRASHED, and
 * the actor's supervision strategy (casty/lifecycle.h) decides what follows.
 */
typedef int (*casty_behaviour_fn)(casty_ctx *ctx, void *state, const casty_msg *msg);
/*
 * Init hook: runs on the actor's shard before its first message, and again
 * after each restart (on zeroed state); `arg` is the spawn arg copy. A
 * negative return is a crash.
 */
typedef int (*casty_init_fn)(casty_ctx *ctx, void *state, const void *arg, size_t arg_len);
/*
 * Stop hook: runs on the actor's shard when it stops (after its children have
 * stopped) and before each restart, once per successful init.
 */
typedef void (*casty_stop_fn)(casty_ctx *ctx, void *state);

/* What CASTY_ACTOR builds; treat as opaque and read-only. */
typedef struct casty_actor_def {
    const char *name;     /* for logs */
    const char *protocol; /* the protocol name the actor accepts */
    size_t state_size;
    size_t state_align;
    casty_behaviour_fn behave;
    casty_init_fn init;
    casty_stop_fn stop;
} casty_actor_def;

/*
 * Define actor `def` speaking protocol `P` with state type `State` and
 * behaviour `fn(casty_ctx *, State *, const casty_msg *)`. Optional trailing
 * designated fields: `.init = ..., .stop = ...`.
 */
#define CASTY_ACTOR(def, P, State, fn, ...)                                          \
    static int def##__casty_thunk(casty_ctx *ctx, void *state, const casty_msg *msg) \
    {                                                                                \
        return fn(ctx, (State *)state, msg);                                         \
    }                                                                                \
    typedef P##_ref def##__casty_ref;                                                \
    static const casty_actor_def def = {.name = #def,                                \
                                        .protocol = #P,                              \
                                        .state_size = sizeof(State),                 \
                                        .state_align = _Alignof(State),              \
                                        .behave = def##__casty_thunk,                \
                                        __VA_ARGS__}

/* Where a spawned actor lives. 0 (the default) hashes its name onto a shard. */
typedef enum casty_place {
    CASTY_PLACE_HASH =
        0, /* consistent hash of the name (anonymous: the caller's shard, else round robin) */
    CASTY_PLACE_SHARD, /* the shard given in .shard */
    CASTY_PLACE_LOCAL, /* the calling actor's shard (outside threads: as HASH) */
} casty_place;

typedef struct casty_spawn_opts {
    bool exclusive; /* fail with -EEXIST instead of returning a live actor of that name */
    casty_place placement;
    uint32_t shard;  /* with CASTY_PLACE_SHARD */
    const void *arg; /* copied and passed to the init hook */
    size_t arg_len;
    const casty_supervision *supervision; /* NULL: the parent's, else the system default */
    casty_mailbox mailbox;                /* zero: the system's default capacity and policy */
} casty_spawn_opts;

typedef struct casty_ask_opts {
    uint32_t timeout_ms; /* 0 = the system's default (10 s unless configured) */
} casty_ask_opts;

/*
 * Spawn (get-or-create) an actor named `name` (NULL for an anonymous actor;
 * names are unique per system, at most CASTY_NAME_MAX bytes). Any thread.
 * Returns 0 and the ref, or -EINVAL, -ENAMETOOLONG, -EEXIST (exclusive),
 * -EPROTOTYPE (a live actor of that name speaks another protocol),
 * -ESHUTDOWN, -ENOMEM. The actor's init hook runs later, on its shard, before
 * any message; messages sent right after spawn are never lost.
 */
CASTY_API CASTY_NODISCARD int casty_spawn_raw(casty_system *sys, casty_ref *out,
                                              const casty_actor_def *def, const char *name,
                                              const casty_spawn_opts *opts);

/*
 * Spawn a child of the running actor, named "<parent name>/<name>" (an
 * anonymous parent gets a unique generated prefix). Same options and results
 * as casty_spawn_raw(), plus -ESHUTDOWN when the parent is stopping. The
 * child may live on any shard; it is stopped (and has run its stop hook)
 * before its parent's stop hook runs. Inside a behaviour or init hook.
 */
CASTY_API CASTY_NODISCARD int casty_spawn_child_raw(casty_ctx *ctx, casty_ref *out,
                                                    const casty_actor_def *def, const char *name,
                                                    const casty_spawn_opts *opts);

/* Find a live actor by name. Any thread. 0, -ENOENT, -EINVAL, -EPROTOTYPE (protocol given and different), -ESHUTDOWN. */
CASTY_API CASTY_NODISCARD int casty_lookup_raw(casty_system *sys, casty_ref *out, const char *name,
                                               const char *protocol);

/*
 * Send a message: copies `len` bytes of `data` (the caller may reuse its buffer
 * at once). Never blocks on the receiver's work. Any thread. Inside a behaviour
 * the sender is the running actor unless `sender` is given (non-NULL).
 * Telling a stopped actor is not an error: the message is counted as a dead
 * letter. Returns 0, -EAGAIN (the target's CASTY_MAILBOX_FAIL mailbox is full:
 * back off and retry), -EINVAL, -EMSGSIZE, -ESHUTDOWN, -ENOMEM.
 */
CASTY_API CASTY_NODISCARD int casty_tell_raw(casty_ref to, uint32_t type, const void *data,
                                             size_t len, const casty_ref *sender);

/*
 * Send to the live actor named `name`. When there is none, the message is a
 * dead letter (CASTY_DEAD_NO_SUCH_NAME) and -ENOENT is returned; -EPROTOTYPE
 * when `protocol` is given and the actor speaks another. Otherwise as
 * casty_tell_raw(). Any thread.
 */
CASTY_API CASTY_NODISCARD int casty_tell_name_raw(casty_system *sys, const char *name,
                                                  const char *protocol, uint32_t type,
                                                  const void *data, size_t len);

/*
 * Ask from an outside thread: send and block until the reply (copied into
 * `reply`, exactly `reply_len` bytes) or the timeout. Returns 0, the error the
 * replier sent (negative), -ETIMEDOUT, -EBADMSG (reply of another size),
 * CASTY_EDEAD (negated: the target is stopped), -EAGAIN (its mailbox is
 * full), -EDEADLK (called on a shard: use casty_ask_async), -EINVAL, -ESHUTDOWN.
 */
CASTY_API CASTY_NODISCARD int casty_ask_raw(casty_ref to, uint32_t type, const void *data,
                                            size_t len, void *reply, size_t reply_len,
                                            const casty_ask_opts *opts);

/*
 * Ask from inside a behaviour without blocking the shard: the reply (or the
 * timeout, or an error) arrives later as a message of type `reply_type` with
 * casty_msg_status() 0 or negative (-EAGAIN when a drop policy dropped the
 * request). Returns 0 or -EAGAIN (the target's CASTY_MAILBOX_FAIL mailbox is
 * full), -EINVAL, -EMSGSIZE, -ENOMEM.
 */
CASTY_API CASTY_NODISCARD int casty_ask_async_raw(casty_ctx *ctx, casty_ref to, uint32_t type,
                                                  const void *data, size_t len, uint32_t reply_type,
                                                  const casty_ask_opts *opts);

/*
 * Ask actor `to` to stop after the messages queued before this request (the
 * request itself is never dropped by a full mailbox). Any thread.
 */
CASTY_API CASTY_NODISCARD int casty_stop_raw(casty_ref to);

/* --- context (inside a behaviour or hook only) --- */

/* Reply `len` bytes to the asker, else to the sender (as CASTY_TYPE_REPLY); with neither, a counted no-op (CASTY_DEAD_NO_SENDER) returning -ENOENT. */
CASTY_API CASTY_NODISCARD int casty_reply_raw(casty_ctx *ctx, const void *data, size_t len);
/* Reply with an error code (negative errno) and no payload. */
CASTY_API CASTY_NODISCARD int casty_reply_error(casty_ctx *ctx, int err);
/* Send the current message on to `to`, keeping its original sender (and ask). */
CASTY_API CASTY_NODISCARD int casty_forward_raw(casty_ctx *ctx, casty_ref to);
/* The current message's sender (a null ref if none). */
CASTY_API casty_ref casty_sender(const casty_ctx *ctx);
/* This actor's own ref. */
CASTY_API casty_ref casty_self(const casty_ctx *ctx);
/* The system this actor runs in. */
CASTY_API casty_system *casty_ctx_system(const casty_ctx *ctx);
/* The shard this actor runs on. */
CASTY_API uint32_t casty_ctx_shard(const casty_ctx *ctx);
/* Stop this actor once the current message is handled. */
CASTY_API void casty_stop_self(casty_ctx *ctx);

/* --- typed front-ends --- */

#define CASTY__SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))

/* casty_spawn(sys, &typed_ref, def, name, .opt = ...) */
#define casty_spawn(sys, refp, def, name, ...)                                                  \
    __extension__({                                                                             \
        _Static_assert(CASTY__SAME_TYPE(*(refp), def##__casty_ref),                             \
                       "casty_spawn: ref type does not match the actor's protocol");            \
        casty_spawn_raw((sys), &(refp)->raw, &(def), (name), &(casty_spawn_opts){__VA_ARGS__}); \
    })

/* casty_spawn_child(ctx, &typed_ref, def, name, .opt = ...) */
#define casty_spawn_child(ctx, refp, def, name, ...)                                       \
    __extension__({                                                                        \
        _Static_assert(CASTY__SAME_TYPE(*(refp), def##__casty_ref),                        \
                       "casty_spawn_child: ref type does not match the actor's protocol"); \
        casty_spawn_child_raw((ctx), &(refp)->raw, &(def), (name),                         \
                              &(casty_spawn_opts){__VA_ARGS__});                           \
    })

/* casty_tell_name(sys, Protocol, "name", Message, .field = value, ...) */
#define casty_tell_name(sys, P, name, Name, ...)           \
    ((void)sizeof(((struct P##__casty_members *)0)->Name), \
     casty_tell_name_raw((sys), (name), #P, CASTY_ID(Name), &(Name){__VA_ARGS__}, sizeof(Name)))

/* casty_lookup(sys, Protocol, &typed_ref, name) */
#define casty_lookup(sys, P, refp, name)                              \
    __extension__({                                                   \
        P##_ref *casty__lookup_ref = (refp);                          \
        casty_lookup_raw((sys), &casty__lookup_ref->raw, (name), #P); \
    })

/* casty_tell(typed_ref, Message, .field = value, ...) */
#define casty_tell(ref, Name, ...)     \
    (CASTY__CHECK_PROTOCOL(ref, Name), \
     casty_tell_raw((ref).raw, CASTY_ID(Name), &(Name){__VA_ARGS__}, sizeof(Name), NULL))

/* casty_tell_from(typed_ref, sender_ref, Message, .field = value, ...) */
#define casty_tell_from(ref, sender, Name, ...)                                    \
    (CASTY__CHECK_PROTOCOL(ref, Name),                                             \
     casty_tell_raw((ref).raw, CASTY_ID(Name), &(Name){__VA_ARGS__}, sizeof(Name), \
                    &(casty_ref){(sender)}))

/*
 * casty_ask(typed_ref, &reply, Message, .field = value, ...): blocking ask with
 * the system's default timeout; casty_ask_timeout() names the timeout in ms.
 * The reply must be exactly sizeof(reply) bytes.
 */
#define casty_ask(ref, replyp, Name, ...) casty_ask_timeout(ref, replyp, 0, Name, __VA_ARGS__)
#define casty_ask_timeout(ref, replyp, timeout, Name, ...)                                  \
    (CASTY__CHECK_PROTOCOL(ref, Name),                                                      \
     casty_ask_raw((ref).raw, CASTY_ID(Name), &(Name){__VA_ARGS__}, sizeof(Name), (replyp), \
                   sizeof(*(replyp)), &(casty_ask_opts){.timeout_ms = (timeout)}))

/*
 * casty_ask_async(ctx, typed_ref, ReplyMessage, Message, .field = value, ...):
 * ask from inside a behaviour; the answer arrives as a ReplyMessage.
 */
#define casty_ask_async(ctx, ref, ReplyName, Name, ...) \
    casty_ask_async_timeout(ctx, ref, ReplyName, 0, Name, __VA_ARGS__)
#define casty_ask_async_timeout(ctx, ref, ReplyName, timeout, Name, ...)                       \
    (CASTY__CHECK_PROTOCOL(ref, Name),                                                         \
     casty_ask_async_raw((ctx), (ref).raw, CASTY_ID(Name), &(Name){__VA_ARGS__}, sizeof(Name), \
                         CASTY_ID(ReplyName), &(casty_ask_opts){.timeout_ms = (timeout)}))

/*
 * casty_reply(ctx, Type, value): reply with a copy of `value` (any expression
 * of type Type: a scalar, a struct, or a compound literal in parentheses).
 */
#define casty_reply(ctx, T, ...)                                \
    __extension__({                                             \
        T casty__reply_value = (__VA_ARGS__);                   \
        casty_reply_raw((ctx), &casty__reply_value, sizeof(T)); \
    })

/* casty_forward(ctx, typed_ref) */
#define casty_forward(ctx, ref) casty_forward_raw((ctx), (ref).raw)

/* casty_stop(typed_ref) */
#define casty_stop(ref) casty_stop_raw((ref).raw)

#ifdef __cplusplus
}
#endif
#endif
