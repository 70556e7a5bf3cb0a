/*
 * Asks. From an outside thread an ask blocks on a waiter slot (core/waiter.h).
 * Inside an actor an ask never blocks: a pending entry on the asker's shard
 * holds the reply type and a timer; the reply (or the timeout) is turned into
 * an ordinary message for the asker. Pending entries are type-stable pool
 * objects named by (pointer, generation), so a late reply is recognised and
 * dead-lettered. Owner shard only, except where noted.
 */
#ifndef CASTY_CORE_ASK_H
#define CASTY_CORE_ASK_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/cell.h"
#include "core/timer.h"

struct casty_shard;
struct casty_system;

typedef struct casty_pending {
    void *pool_link;      /* offset 0: the pool's free link */
    _Atomic uint32_t gen; /* survives reuse; bumped when the ask completes */
    uint32_t reply_type;
    casty_cell *asker;
    uint32_t asker_gen;
    uint32_t reserved;
    struct casty_shard *shard;
    casty_timer timer;
} casty_pending;

/* A REPLY envelope reached the asker's shard: retype it and deliver, or dead-letter it. */
void casty__ask_on_reply(struct casty_shard *sh, casty_env *env);

/* Answer `to` (a waiter, a pending ask, or an actor) with just a status. Any thread (sh may be NULL). */
void casty__reply_status(struct casty_system *sys, struct casty_shard *sh, casty_ref to,
                         int status);

#endif
