/*
 * W4 ring (WORKLOADS.md): M actors in a ring, actor i knowing actor i+1 mod M;
 * a token T is injected at actor 0 and each actor receiving T > 0 sends T-1
 * on; the actor that receives 0 reports its clock reading. T hops in all.
 * Placements: all on shard 0 (same-shard), shard i mod 2 (alternating: every
 * hop crosses an SPSC ring), or the default placement by name hash (hash).
 *
 * Actors are named "ring-<i>" and spawned from M-1 down to 0, so each one but
 * the last gets its successor's ref as its spawn argument (in place before any
 * message); the last one learns actor 0 by an ask, answered before the token
 * is injected.
 *
 *   usage: w4_ring [--ring M] [--hops T] [--placement same-shard|alternating|hash] [--busy-poll]
 * Prints: W4 casty rate=... ns_per_hop=... ring=... hops=... placement=... shards=2 idle=...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

CASTY_MESSAGE(Token, int64_t t);
CASTY_MESSAGE(Link, casty_ref next);
CASTY_PROTOCOL(RingMsg, Token, Link);

typedef struct {
    RingMsg_ref next; /* null until linked (the last actor) */
    LatchMsg_ref latch;
} Member;

static int member_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(Member))
        return -EINVAL;
    memcpy(state, arg, len);
    return 0;
}

static int member(casty_ctx *ctx, Member *self, const casty_msg *msg)
{
    switch ((enum RingMsg_type)casty_type(msg)) {
    case CASTY_ID(Link):
        self->next.raw = CASTY_AS(msg, Link)->next;
        perf_ok(casty_reply(ctx, int64_t, 0), "reply Link");
        return 0;
    case CASTY_ID(Token): {
        int64_t t = CASTY_AS(msg, Token)->t;
        if (t == 0) {
            perf_ok(casty_tell(self->latch, LatchDone, .value = (int64_t)perf_now_ns()),
                    "tell latch");
            return 0;
        }
        /* One token in flight: the next mailbox cannot be full, so any error is fatal. */
        perf_ok(casty_tell(self->next, Token, .t = t - 1), "tell Token");
        return 0;
    }
    }
    return 0;
}
CASTY_ACTOR(member_actor, RingMsg, Member, member, .init = member_init);

static RingMsg_ref build_ring(casty_system *sys, LatchMsg_ref latch, int64_t m, int placement)
{
    Member arg = {.latch = latch};
    for (int64_t i = m - 1; i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof(name), "ring-%" PRId64, i);
        casty_spawn_opts o = {.arg = &arg, .arg_len = sizeof(arg)};
        if (placement != 2) {
            o.placement = CASTY_PLACE_SHARD;
            o.shard = placement == 0 ? 0 : (uint32_t)(i % 2);
        }
        RingMsg_ref ref;
        perf_ok(casty_spawn_raw(sys, &ref.raw, &member_actor, name, &o), "spawn member");
        arg.next = ref;
    }
    RingMsg_ref first = arg.next, last;
    char name[32];
    snprintf(name, sizeof(name), "ring-%" PRId64, m - 1);
    perf_ok(casty_lookup(sys, RingMsg, &last, name), "lookup last member");
    int64_t ok;
    perf_ok(casty_ask(last, &ok, Link, .next = first.raw), "link last member");
    return first;
}

static uint64_t run(casty_system *sys, RingMsg_ref first, LatchMsg_ref latch, int64_t hops)
{
    uint64_t t0 = perf_now_ns();
    perf_ok(casty_tell(first, Token, .t = hops), "inject token");
    return (uint64_t)perf_latch_wait(sys, latch, NULL) - t0;
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "[--ring M] [--hops T] [--placement same-shard|alternating|hash] [--busy-poll]";
    static const char *const placements[] = {"same-shard", "alternating", "hash"};
    int64_t m = 1000, hops = 1000000;
    const char *placement = "same-shard";
    bool busy = false;
    for (int i = 1; i < argc; i++) {
        if (perf_opt_i64(argc, argv, &i, "--ring", &m) ||
            perf_opt_i64(argc, argv, &i, "--hops", &hops) ||
            perf_opt_str(argc, argv, &i, "--placement", &placement))
            continue;
        if (!strcmp(argv[i], "--busy-poll"))
            busy = true;
        else
            perf_usage(argv[0], usage);
    }
    int p = 0;
    while (p < 3 && strcmp(placement, placements[p]) != 0)
        p++;
    if (p == 3 || m < 2 || hops < 1)
        perf_usage(argv[0], usage);

    casty_system *sys = perf_system_start(2, busy, 0);
    LatchMsg_ref latch = perf_latch_spawn(sys, 0);
    RingMsg_ref first = build_ring(sys, latch, m, p);
    run(sys, first, latch, m < hops ? m : hops); /* warm-up: one lap */
    uint64_t t = run(sys, first, latch, hops);
    printf("W4 casty rate=%.0f ns_per_hop=%.1f ring=%" PRId64 " hops=%" PRId64
           " placement=%s shards=2 idle=%s\n",
           (double)hops / ((double)t / 1e9), (double)t / (double)hops, m, hops, placement,
           busy ? "busy-poll" : "sleep");
    perf_system_stop(sys);
    return 0;
}
