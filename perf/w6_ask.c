/*
 * W6 ask latency (WORKLOADS.md): a server answers x with x+1; one client does
 * N sequential asks, each timed separately into a preallocated array.
 * Placements: client and server on shard 0 (same-shard); client on shard 0,
 * server on shard 1 (cross-shard); the client an ordinary thread outside the
 * system doing blocking asks (outside: the system has one shard, on CPU 1,
 * and the client thread is pinned to CPU 0, so neither competes for a core).
 * Inside actors the client uses casty_ask_async; its answer arrives as a message.
 *
 *   usage: w6_ask [--n N] [--placement same-shard|cross-shard|outside] [--busy-poll]
 * Prints: W6 casty p50_ns=... p99_ns=... p999_ns=... max_ns=... mean_ns=... n=... placement=...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

CASTY_MESSAGE(Query, int64_t x);
CASTY_PROTOCOL(ServerMsg, Query);

/*
 * Run starts the client. `samples` is the driver's measurement buffer: only
 * the client writes it, and the driver reads it after the client has answered.
 */
CASTY_MESSAGE(Run, casty_ref server; int64_t n; uint64_t * samples);
CASTY_MESSAGE(Answer, int64_t x);
CASTY_PROTOCOL(ClientMsg, Run, Answer);

static int server(casty_ctx *ctx, char *self, const casty_msg *msg)
{
    (void)self;
    perf_ok(casty_reply(ctx, int64_t, CASTY_AS(msg, Query)->x + 1), "reply");
    return 0;
}
CASTY_ACTOR(server_actor, ServerMsg, char, server);

typedef struct {
    ServerMsg_ref server;
    casty_ref starter;
    uint64_t *samples;
    int64_t n, i;
    uint64_t sent_ns;
} Client;

static void ask_next(casty_ctx *ctx, Client *self)
{
    self->sent_ns = perf_now_ns();
    perf_ok(casty_ask_async(ctx, self->server, Answer, Query, .x = self->i), "ask_async");
}

static int client(casty_ctx *ctx, Client *self, const casty_msg *msg)
{
    switch ((enum ClientMsg_type)casty_type(msg)) {
    case CASTY_ID(Run): {
        const Run *r = CASTY_AS(msg, Run);
        *self = (Client){.server = {.raw = r->server},
                         .starter = casty_sender(ctx),
                         .samples = r->samples,
                         .n = r->n};
        ask_next(ctx, self);
        return 0;
    }
    case CASTY_ID(Answer): {
        uint64_t now = perf_now_ns();
        perf_ok(casty_msg_status(msg), "ask answer");
        if (CASTY_AS(msg, Answer)->x != self->i + 1)
            perf_ok(-EBADMSG, "ask answered with a wrong value");
        if (self->samples)
            self->samples[self->i] = now - self->sent_ns;
        if (++self->i < self->n) {
            ask_next(ctx, self);
            return 0;
        }
        perf_ok(casty_tell_raw(self->starter, CASTY_TYPE_REPLY, &self->i, sizeof(self->i), NULL),
                "answer the driver");
        return 0;
    }
    }
    return 0;
}
CASTY_ACTOR(client_actor, ClientMsg, Client, client);

static void actor_client(ClientMsg_ref c, ServerMsg_ref s, int64_t n, uint64_t *samples)
{
    int64_t done;
    perf_ok(casty_ask(c, &done, Run, .server = s.raw, .n = n, .samples = samples), "run client");
}

static void thread_client(ServerMsg_ref s, int64_t n, uint64_t *samples)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t r;
        uint64_t t0 = perf_now_ns();
        int rc = casty_ask(s, &r, Query, .x = i);
        uint64_t t = perf_now_ns() - t0;
        perf_ok(rc, "ask");
        if (r != i + 1)
            perf_ok(-EBADMSG, "ask answered with a wrong value");
        if (samples)
            samples[i] = t;
    }
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "[--n N] [--placement same-shard|cross-shard|outside] [--busy-poll]";
    int64_t n = 1000000;
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
    bool outside = !strcmp(placement, "outside");
    bool cross = !strcmp(placement, "cross-shard");
    if ((!outside && !cross && strcmp(placement, "same-shard") != 0) || n < 1)
        perf_usage(argv[0], usage);

    uint32_t shards = outside ? 1 : 2;
    casty_system *sys = perf_system_start(shards, busy, outside ? 1 : 0);
    ServerMsg_ref s;
    perf_ok(casty_spawn(sys, &s, server_actor, "server", .placement = CASTY_PLACE_SHARD,
                        .shard = cross ? 1 : 0),
            "spawn server");
    ClientMsg_ref c;
    if (!outside)
        perf_ok(casty_spawn(sys, &c, client_actor, "client", .placement = CASTY_PLACE_SHARD,
                            .shard = 0),
                "spawn client");
    else if (perf_pin_self(0) < 0) /* pinning is an optimisation; a container may forbid it */
        fprintf(stderr, "w6_ask: cannot pin the client thread to CPU 0\n");
    uint64_t *samples = perf_alloc_touched((size_t)n * sizeof(uint64_t));
    int64_t warm = n < 10000 ? n : 10000;
    if (outside) {
        thread_client(s, warm, NULL);
        thread_client(s, n, samples);
    } else {
        actor_client(c, s, warm, NULL);
        actor_client(c, s, n, samples);
    }
    perf_pcts p = perf_percentiles(samples, (size_t)n);
    printf("W6 casty p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
           " mean_ns=%.1f n=%" PRId64 " placement=%s shards=%u idle=%s\n",
           p.p50, p.p99, p.p999, p.max, p.mean, n, placement, shards, busy ? "busy-poll" : "sleep");
    free(samples);
    perf_system_stop(sys);
    return 0;
}
