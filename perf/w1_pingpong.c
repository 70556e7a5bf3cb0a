/*
 * W1 / W2 ping-pong (WORKLOADS.md): actors A and B; A sends 1 to B, B echoes
 * every x back, A sends x+1 while x < N. W1 places both on shard 0; W2 places
 * A on shard 0 and B on shard 1 (every message crosses an SPSC ring), run
 * once with idle sleeping (the default) and once busy-polling.
 *
 * W2 also samples one round trip in every SAMPLE_EVERY and reports its
 * one-way percentiles (half the round trip), the figure its target is stated
 * in. W1 does not: two clock reads per 16 rounds would cost it 10%.
 *
 *   usage: w1_pingpong [--n N] [--placement same-shard|cross-shard] [--busy-poll]
 * Prints: W1 casty rate=... ns_per_msg=... n=... placement=... shards=2 idle=...
 *         W2 casty rate=... ns_per_msg=... oneway_p50_ns=... oneway_p99_ns=... n=... ...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define SAMPLE_EVERY 16

/*
 * Serve starts a game. `samples` is the driver's measurement buffer (NULL: no
 * sampling); only A writes it, and the driver reads it after A has answered.
 */
CASTY_MESSAGE(Ball, int64_t x);
CASTY_MESSAGE(Serve, casty_ref peer; int64_t n; uint64_t * samples);
CASTY_PROTOCOL(PingMsg, Ball, Serve);

typedef struct {
    int64_t n;         /* 0 for B, the echoing player */
    casty_ref starter; /* the blocked main thread, answered at the end */
    uint64_t *samples;
    uint64_t mark_ns; /* when the sampled round trip started */
} Player;

static int serve(casty_ctx *ctx, Player *self, const Serve *s)
{
    self->n = s->n;
    self->samples = s->samples;
    self->mark_ns = 0;
    self->starter = casty_sender(ctx);
    PingMsg_ref peer = {.raw = s->peer};
    return casty_tell(peer, Ball, .x = 1);
}

static int ball(casty_ctx *ctx, Player *self, int64_t x)
{
    PingMsg_ref back = {.raw = casty_sender(ctx)};
    if (self->n == 0) /* B: echo */
        return casty_tell(back, Ball, .x = x);
    if (self->samples && self->mark_ns) {
        self->samples[x / SAMPLE_EVERY - 1] = perf_now_ns() - self->mark_ns;
        self->mark_ns = 0;
    }
    if (x >= self->n)
        return casty_tell_raw(self->starter, CASTY_TYPE_REPLY, &x, sizeof(x), NULL);
    if (self->samples && (x + 1) % SAMPLE_EVERY == 0)
        self->mark_ns = perf_now_ns();
    return casty_tell(back, Ball, .x = x + 1);
}

static int player(casty_ctx *ctx, Player *self, const casty_msg *msg)
{
    int rc = 0;
    switch ((enum PingMsg_type)casty_type(msg)) {
    case CASTY_ID(Serve):
        rc = serve(ctx, self, CASTY_AS(msg, Serve));
        break;
    case CASTY_ID(Ball):
        rc = ball(ctx, self, CASTY_AS(msg, Ball)->x);
        break;
    }
    /* One message in flight: a full mailbox cannot happen, so any error is fatal. */
    perf_ok(rc, "ping-pong tell");
    return 0;
}
CASTY_ACTOR(player_actor, PingMsg, Player, player);

static void play(PingMsg_ref a, PingMsg_ref b, int64_t n, uint64_t *samples)
{
    int64_t last = 0;
    perf_ok(casty_ask(a, &last, Serve, .peer = b.raw, .n = n, .samples = samples), "serve");
    if (last != n) {
        fprintf(stderr, "w1_pingpong: game ended at %" PRId64 ", not %" PRId64 "\n", last, n);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const char usage[] = "[--n N] [--placement same-shard|cross-shard] [--busy-poll]";
    int64_t n = 2000000;
    const char *placement = "same-shard";
    bool busy = false;
    for (int i = 1; i < argc; i++) {
        if (perf_opt_i64(argc, argv, &i, "--n", &n) ||
            perf_opt_str(argc, argv, &i, "--placement", &placement))
            continue;
        if (!strcmp(argv[i], "--busy-poll"))
            busy = true;
        else
            perf_usage(argv[0], usage);
    }
    bool cross = !strcmp(placement, "cross-shard");
    if ((!cross && strcmp(placement, "same-shard") != 0) || n < 1)
        perf_usage(argv[0], usage);

    casty_system *sys = perf_system_start(2, busy, 0);
    PingMsg_ref a, b;
    perf_ok(casty_spawn(sys, &a, player_actor, "A", .placement = CASTY_PLACE_SHARD, .shard = 0),
            "spawn A");
    perf_ok(casty_spawn(sys, &b, player_actor, "B", .placement = CASTY_PLACE_SHARD,
                        .shard = cross ? 1 : 0),
            "spawn B");
    size_t nsamples = cross ? (size_t)(n / SAMPLE_EVERY) : 0;
    uint64_t *samples = nsamples ? perf_alloc_touched(nsamples * sizeof(uint64_t)) : NULL;

    play(a, b, n < 10000 ? n : 10000, NULL); /* warm-up: pools and rings touched before timing */
    uint64_t t0 = perf_now_ns();
    play(a, b, n, samples);
    uint64_t t = perf_now_ns() - t0;

    printf("%s casty rate=%.0f ns_per_msg=%.1f", cross ? "W2" : "W1", (double)n / ((double)t / 1e9),
           (double)t / (2.0 * (double)n));
    if (nsamples) {
        perf_pcts p = perf_percentiles(samples, nsamples);
        printf(" oneway_p50_ns=%.1f oneway_p99_ns=%.1f", (double)p.p50 / 2, (double)p.p99 / 2);
    }
    printf(" n=%" PRId64 " placement=%s shards=2 idle=%s\n", n, placement,
           busy ? "busy-poll" : "sleep");
    free(samples);
    perf_system_stop(sys);
    return 0;
}
