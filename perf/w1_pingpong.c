/*
 * W1 / W2 ping-pong (perf/README.md, WORKLOADS.md): actors A and B; A sends 1
 * to B, B echoes every x back, A sends x+1 while x < N. W1 places both on
 * shard 0; W2 places A on shard 0 and B on shard 1 (every message crosses an
 * SPSC ring), once with idle sleeping (the default) and once busy-polling.
 *   usage: w1_pingpong [--n N] [--placement same-shard|cross-shard] [--busy-poll]
 * Prints: W1 casty rate=... ns_per_msg=... n=... placement=... shards=...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

CASTY_MESSAGE(Ball, int64_t x);
CASTY_MESSAGE(Serve, casty_ref peer; int64_t n);
CASTY_PROTOCOL(PingMsg, Ball, Serve);

typedef struct {
    int64_t n;
    casty_ref starter; /* the blocked main thread, answered at the end */
} Player;

static int player(casty_ctx *ctx, Player *self, const casty_msg *msg)
{
    switch ((enum PingMsg_type)casty_type(msg)) {
    case CASTY_ID(Serve): {
        const Serve *s = CASTY_AS(msg, Serve);
        self->n = s->n;
        self->starter = casty_sender(ctx);
        PingMsg_ref peer = {.raw = s->peer};
        return casty_tell(peer, Ball, .x = 1);
    }
    case CASTY_ID(Ball): {
        int64_t x = CASTY_AS(msg, Ball)->x;
        PingMsg_ref back = {.raw = casty_sender(ctx)};
        if (self->n == 0) /* B: echo */
            return casty_tell(back, Ball, .x = x);
        if (x < self->n) /* A: next round */
            return casty_tell(back, Ball, .x = x + 1);
        return casty_tell_raw(self->starter, CASTY_TYPE_REPLY, &x, sizeof(x), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(player_actor, PingMsg, Player, player);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int64_t n = 2000000;
    const char *placement = "same-shard";
    bool busy = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--placement") && i + 1 < argc)
            placement = argv[++i];
        else if (!strcmp(argv[i], "--busy-poll"))
            busy = true;
        else {
            fprintf(stderr,
                    "usage: %s [--n N] [--placement same-shard|cross-shard] [--busy-poll]\n",
                    argv[0]);
            return 2;
        }
    }
    bool cross = !strcmp(placement, "cross-shard");
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 2;
    cfg.busy_poll = busy;
    cfg.ask_timeout_ms = 600000;
    casty_system *sys;
    int rc = casty_system_start(&sys, &cfg);
    if (rc < 0) {
        fprintf(stderr, "start: %s\n", casty_strerror(rc));
        return 1;
    }
    PingMsg_ref a, b;
    if (casty_spawn(sys, &a, player_actor, "A", .placement = CASTY_PLACE_SHARD, .shard = 0) < 0 ||
        casty_spawn(sys, &b, player_actor, "B", .placement = CASTY_PLACE_SHARD,
                    .shard = cross ? 1 : 0) < 0)
        return 1;
    /* Warm-up: a short game, so pools and rings are touched before timing. */
    int64_t last = 0;
    rc = casty_ask(a, &last, Serve, .peer = b.raw, .n = 10000);
    if (rc < 0 || last != 10000)
        return 1;
    uint64_t t0 = now_ns();
    rc = casty_ask(a, &last, Serve, .peer = b.raw, .n = n);
    uint64_t t = now_ns() - t0;
    if (rc < 0 || last != n) {
        fprintf(stderr, "game failed: %s (last=%" PRId64 ")\n", casty_strerror(rc), last);
        return 1;
    }
    printf("%s casty rate=%.0f ns_per_msg=%.1f n=%" PRId64 " placement=%s shards=2 idle=%s\n",
           cross ? "W2" : "W1", (double)n / ((double)t / 1e9), (double)t / (2.0 * (double)n), n,
           placement, busy ? "busy-poll" : "sleep");
    return casty_system_stop(sys) < 0;
}
