/*
 * Messages, protocols and refs.
 *
 * A message is a plain C struct declared once with CASTY_MESSAGE; fields are
 * separated by semicolons:
 *
 *     CASTY_MESSAGE(Increment, int amount);
 *     CASTY_MESSAGE(Move, int dx; int dy);
 *     CASTY_MESSAGE(Get);
 *
 * A protocol groups the messages one kind of actor accepts and gives each a
 * compile-time type id (CASTY_ID), plus a typed ref (`CounterMsg_ref`):
 *
 *     CASTY_PROTOCOL(CounterMsg, Increment, Get);
 *
 * Telling a `CounterMsg_ref` a message that is not in CounterMsg does not
 * compile (the diagnostic names the missing member). A message name belongs to
 * exactly one protocol. Type ids are small integers, unique within a protocol;
 * ids at or above CASTY_TYPE_SYSTEM_BASE are reserved for the runtime.
 */
#ifndef CASTY_MESSAGE_H
#define CASTY_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/pp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of ref; a user only ever needs to test casty_ref_is_null(). */
enum {
    CASTY_REF_NONE = 0,
    CASTY_REF_ACTOR = 1,  /* an actor cell */
    CASTY_REF_WAITER = 2, /* a thread outside the system blocked in casty_ask() */
    CASTY_REF_ASK = 3,    /* a pending ask of an actor (reply delivered as a message) */
    CASTY_REF_TIMER = 4,  /* a schedule's cancel handle */
};

/*
 * A ref is a small value: copy it, store it, send it inside messages. It stays
 * valid (but dead) after its actor stops: messages to it become dead letters.
 * Fields are private; compare with casty_ref_eq().
 */
typedef struct casty_ref {
    uint64_t addr;   /* private: cell, waiter slot or pending ask */
    uint32_t gen;    /* private: generation of what addr names */
    uint32_t system; /* private: (generation << 8) | system index; 0 = null ref */
    uint16_t shard;  /* private: the shard that owns addr */
    uint16_t node;   /* private: cluster node (0 = this node) */
    uint8_t kind;    /* private: CASTY_REF_* */
    uint8_t reserved[3];
} casty_ref;

#define CASTY_REF_NULL ((casty_ref){0})

/* Reserved message type ids (delivered by the runtime). */
#define CASTY_TYPE_SYSTEM_BASE 0xFFFF0000u
#define CASTY_TYPE_REPLY       0xFFFF0001u /* a reply sent to a plain sender (not an ask) */

/* Message flags visible to behaviours. */
#define CASTY_MSG_ASK 0x1u /* the sender awaits a reply: answer with casty_reply() */

/*
 * The read-only view of a message handed to a behaviour. It is valid only
 * during the behaviour call; copy what you keep.
 */
typedef struct casty_msg {
    uint32_t type;    /* CASTY_ID(Name), or a CASTY_TYPE_* id */
    int32_t status;   /* 0, or a negative errno carried by a reply */
    uint32_t len;     /* payload bytes */
    uint32_t flags;   /* CASTY_MSG_* */
    const void *data; /* payload, suitably aligned for any message struct */
} casty_msg;

static inline uint32_t casty_type(const casty_msg *msg)
{
    return msg->type;
}

static inline int casty_msg_status(const casty_msg *msg)
{
    return msg->status;
}

static inline bool casty_ref_is_null(casty_ref ref)
{
    return ref.system == 0;
}

static inline bool casty_ref_eq(casty_ref a, casty_ref b)
{
    return a.addr == b.addr && a.gen == b.gen && a.system == b.system && a.shard == b.shard &&
           a.node == b.node && a.kind == b.kind;
}

/* Declare a message struct `Name` with the given fields (none is fine). */
#define CASTY_MESSAGE(Name, ...)  \
    typedef struct Name {         \
        __VA_ARGS__ __VA_OPT__(;) \
    } Name

/* The type id of a message declared in a protocol: an integer constant. */
#define CASTY_ID(Name) Name##__casty_id

/* The payload of `msg` as a `const Name *` (check casty_type() first). */
#define CASTY_AS(msg, Name) ((const Name *)(msg)->data)

#define CASTY__PROTO_ID(Name, i)  CASTY_ID(Name) = (i),
#define CASTY__PROTO_MEMBER(Name) char Name;

/*
 * Declare protocol `P` over the listed messages. Defines `enum P_type` (for
 * an exhaustive `switch ((enum P_type)casty_type(msg))`), and the typed ref
 * `P_ref`, whose `.raw` member is the untyped casty_ref.
 */
#define CASTY_PROTOCOL(P, ...)                                        \
    enum P##_type{CASTY__PP_FOREACH_I(CASTY__PROTO_ID, __VA_ARGS__)}; \
    struct P##__casty_members {                                       \
        CASTY__PP_FOREACH(CASTY__PROTO_MEMBER, __VA_ARGS__)           \
    };                                                                \
    typedef union P##_ref {                                           \
        casty_ref raw;                                                \
        struct P##__casty_members *casty_protocol;                    \
    } P##_ref

/*
 * Compile-time proof that message `Name` belongs to the protocol of typed ref
 * `ref`: an unevaluated member access that fails with "has no member named".
 */
#define CASTY__CHECK_PROTOCOL(ref, Name) ((void)sizeof((ref).casty_protocol->Name))

#ifdef __cplusplus
}
#endif
#endif
