/*
 * The one path every message takes: validate, fill an envelope, route it to
 * the destination shard (directly on the same shard, through the SPSC ring
 * between two shards, or through the injection queue from outside threads).
 */
#ifndef CASTY_CORE_SEND_H
#define CASTY_CORE_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "casty/message.h"

struct casty_system;
struct casty_shard;

typedef struct casty_send {
    uint32_t type;
    int32_t status;
    uint32_t flags; /* CASTY_MSG_* */
    uint16_t kind;  /* CASTY_ENV_USER or CASTY_ENV_STOP for actor targets */
    const void *data;
    size_t len;
    const casty_ref *sender; /* NULL: the running actor on this shard, if any */
} casty_send;

/* Refs travel by pointer: a 24-byte value copied at every layer cost more than the send. */
/* Send within `sys` from shard `sh` (NULL: an outside thread that entered sys). */
int casty__send(struct casty_system *sys, struct casty_shard *sh, const casty_ref *to,
                const casty_send *s);

/* Send to a ref of any system from any thread (resolves and enters the system). */
int casty__send_any(const casty_ref *to, const casty_send *s);

#endif
