/*
 * Ping-pong: two actors on two shards hit a ball back and forth a fixed
 * number of times. The pinger serves, the ponger returns every ball to
 * whoever sent it (casty_sender), and main waits for the end of the rally
 * with one blocking ask that the pinger answers when the last ball is back.
 *
 * Shows: messages and protocols, CASTY_ACTOR, placement on a chosen shard,
 * casty_tell from inside a behaviour, casty_sender, and an ask answered
 * after the message that carried it (a "deferred reply").
 *
 * Expected output:
 *   ping 1
 *   pong 1
 *   ...
 *   ping 5
 *   pong 5
 *   rally over after 5 rounds
 */
#include <stdio.h>
#include <stdlib.h>

#include <casty/casty.h>

/* --- the ponger: returns every Ping to its sender as a Pong --- */

CASTY_MESSAGE(Ping, int n);
CASTY_PROTOCOL(PongerMsg, Ping);

/* --- the pinger: serves, counts, and reports the end of the rally --- */

CASTY_MESSAGE(Serve, PongerMsg_ref partner; int rounds);
CASTY_MESSAGE(Pong, int n);
CASTY_PROTOCOL(PingerMsg, Serve, Pong);

typedef struct {
    int hits;
} Ponger;

static int ponger(casty_ctx *ctx, Ponger *self, const casty_msg *msg)
{
    switch ((enum PongerMsg_type)casty_type(msg)) {
    case CASTY_ID(Ping): {
        int n = CASTY_AS(msg, Ping)->n;
        self->hits++;
        printf("ping %d\n", n);
        /*
         * The sender is a plain casty_ref; we know it speaks PingerMsg, so we
         * wrap it in the typed ref to get the compile-time protocol check.
         */
        PingerMsg_ref back = {.raw = casty_sender(ctx)};
        return casty_tell(back, Pong, .n = n);
    }
    }
    return 0;
}
CASTY_ACTOR(ponger_actor, PongerMsg, Ponger, ponger);

typedef struct {
    PongerMsg_ref partner;
    int rounds;
    casty_ref referee; /* who asked for the rally: answered when it ends */
} Pinger;

static int pinger(casty_ctx *ctx, Pinger *self, const casty_msg *msg)
{
    switch ((enum PingerMsg_type)casty_type(msg)) {
    case CASTY_ID(Serve): {
        const Serve *s = CASTY_AS(msg, Serve);
        self->partner = s->partner;
        self->rounds = s->rounds;
        /*
         * Main asked, but the answer only exists once the rally is over, many
         * messages from now. Keep the asker's ref: an ask's sender accepts one
         * CASTY_TYPE_REPLY told to it later (see the last Pong below).
         */
        self->referee = casty_sender(ctx);
        return casty_tell(self->partner, Ping, .n = 1);
    }
    case CASTY_ID(Pong): {
        int n = CASTY_AS(msg, Pong)->n;
        printf("pong %d\n", n);
        if (n < self->rounds)
            return casty_tell(self->partner, Ping, .n = n + 1);
        /* The deferred reply: the blocked casty_ask() in main receives `n`. */
        return casty_tell_raw(self->referee, CASTY_TYPE_REPLY, &n, sizeof(n), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(pinger_actor, PingerMsg, Pinger, pinger);

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start"); /* one shard per core */
    uint32_t shards = casty_system_shards(sys);

    /*
     * Pin the two players on different shards (when there are two) so that
     * every hit crosses cores through the SPSC ring between them.
     */
    PongerMsg_ref pong;
    PingerMsg_ref ping;
    check(casty_spawn(sys, &pong, ponger_actor, "ponger", .placement = CASTY_PLACE_SHARD,
                      .shard = 1 % shards),
          "spawn ponger");
    check(
        casty_spawn(sys, &ping, pinger_actor, "pinger", .placement = CASTY_PLACE_SHARD, .shard = 0),
        "spawn pinger");

    /* A timeout on every blocking ask: an example must never hang. */
    int rounds = 0;
    check(casty_ask_timeout(ping, &rounds, 5000, Serve, .partner = pong, .rounds = 5), "serve");
    printf("rally over after %d rounds\n", rounds);

    check(casty_system_stop(sys), "stop");
    return rounds == 5 ? 0 : 1;
}
