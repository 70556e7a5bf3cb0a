/*
 * W5 spawn (WORKLOADS.md): a spawner actor spawns N workers, sending each one
 * integer; each worker forwards it to a collector and stops. Timed from just
 * before the spawner starts to the collector's N-th message.
 *
 * The spawner spawns one worker per message it handles (Go, then a Continue
 * it sends itself each time). The runtime runs an actor for up to a budget of
 * messages per turn (64 by default), so the spawner makes 64 workers per
 * turn, the workers run, and the collector, also on shard 0, takes their 64
 * Items in its own turn: production and consumption stay matched and memory
 * flat. (Spawning B workers per message would make 64*B per turn while the
 * collector still takes 64 per turn: its mailbox would fill, and the workers'
 * retries would then starve it.) A worker that finds the collector's mailbox
 * full (-EAGAIN) retries at the next timer tick.
 * Placement: workers on the spawner's shard (local, the default; spawner and
 * collector on shard 0) or alternating between the two shards (spread).
 *
 * W5i (--idle): the main thread spawns N actors that wait forever (anonymous,
 * spread over the shards by the runtime), then one probe actor per shard that
 * it asks once: START messages from one thread are handled in order, so when
 * every probe has answered, every idle actor has started. Reports the RSS
 * growth per actor; the driver keeps no per-actor arrays, so none is
 * subtracted.
 *
 *   usage: w5_spawn [--n N] [--placement local|spread] [--idle]
 * Prints: W5 casty spawns_per_s=... ns_per_spawn=... peak_rss_kb=... base_rss_kb=... n=... placement=...
 *         W5i casty bytes_per_idle_actor=... rss_before_kb=... rss_after_kb=... n=... placement=...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

CASTY_MESSAGE(Item, int64_t x);
CASTY_PROTOCOL(CollectMsg, Item);

CASTY_MESSAGE(Work, int64_t x);
CASTY_PROTOCOL(WorkMsg, Work);

CASTY_MESSAGE(Go);
CASTY_MESSAGE(Continue);
CASTY_PROTOCOL(SpawnMsg, Go, Continue);

CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(IdleMsg, Ping);

typedef struct {
    LatchMsg_ref latch;
    int64_t n;
} CollectArgs;

typedef struct {
    CollectArgs args;
    int64_t count;
} Collector;

static int collector_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(CollectArgs))
        return -EINVAL;
    memcpy(&((Collector *)state)->args, arg, len);
    return 0;
}

static int collector(casty_ctx *ctx, Collector *self, const casty_msg *msg)
{
    (void)ctx;
    (void)msg;
    if (++self->count == self->args.n)
        perf_ok(casty_tell(self->args.latch, LatchDone, .value = (int64_t)perf_now_ns()),
                "tell latch");
    return 0;
}
CASTY_ACTOR(collector_actor, CollectMsg, Collector, collector, .init = collector_init);

typedef struct {
    CollectMsg_ref to;
} Worker;

static int worker_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(Worker))
        return -EINVAL;
    memcpy(state, arg, len);
    return 0;
}

static int worker(casty_ctx *ctx, Worker *self, const casty_msg *msg)
{
    int64_t x = CASTY_AS(msg, Work)->x;
    int rc = casty_tell(self->to, Item, .x = x);
    if (rc == -EAGAIN) {
        /*
         * The collector's mailbox is full: retry at the next timer tick (1 ms).
         * A Work told to itself would be handled again within this same turn,
         * and thousands of workers retrying like that starve the collector.
         */
        WorkMsg_ref me = {.raw = casty_self(ctx)};
        perf_ok(casty_schedule_once(casty_ctx_system(ctx), NULL, me, 0, Work, .x = x),
                "schedule the retry");
        return 0;
    }
    perf_ok(rc, "tell Item");
    casty_stop_self(ctx);
    return 0;
}
CASTY_ACTOR(worker_actor, WorkMsg, Worker, worker, .init = worker_init);

typedef struct {
    CollectMsg_ref to;
    int64_t n;
    bool spread;
} SpawnArgs;

typedef struct {
    SpawnArgs args;
    int64_t spawned;
} Spawner;

static int spawner_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(SpawnArgs))
        return -EINVAL;
    memcpy(&((Spawner *)state)->args, arg, len);
    return 0;
}

static int spawner(casty_ctx *ctx, Spawner *self, const casty_msg *msg)
{
    (void)msg; /* Go and Continue both mean: spawn the next worker */
    const SpawnArgs *a = &self->args;
    Worker w = {.to = a->to};
    uint32_t shard = a->spread ? (uint32_t)(self->spawned % 2) : casty_ctx_shard(ctx);
    WorkMsg_ref ref;
    perf_ok(casty_spawn(casty_ctx_system(ctx), &ref, worker_actor, NULL,
                        .placement = CASTY_PLACE_SHARD, .shard = shard, .arg = &w,
                        .arg_len = sizeof(w)),
            "spawn worker");
    /* A fresh worker's mailbox holds nothing else: it cannot be full. */
    perf_ok(casty_tell(ref, Work, .x = self->spawned), "tell Work");
    if (++self->spawned < a->n) {
        SpawnMsg_ref me = {.raw = casty_self(ctx)};
        perf_ok(casty_tell(me, Continue), "tell Continue");
    }
    return 0;
}
CASTY_ACTOR(spawner_actor, SpawnMsg, Spawner, spawner, .init = spawner_init);

/* One run with a fresh spawner and collector on shard 0; returns the elapsed ns. */
static uint64_t run(casty_system *sys, LatchMsg_ref latch, int64_t n, bool spread)
{
    CollectArgs ca = {.latch = latch, .n = n};
    CollectMsg_ref c;
    perf_ok(casty_spawn(sys, &c, collector_actor, NULL, .placement = CASTY_PLACE_SHARD, .shard = 0,
                        .arg = &ca, .arg_len = sizeof(ca)),
            "spawn collector");
    SpawnArgs sa = {.to = c, .n = n, .spread = spread};
    SpawnMsg_ref s;
    perf_ok(casty_spawn(sys, &s, spawner_actor, NULL, .placement = CASTY_PLACE_SHARD, .shard = 0,
                        .arg = &sa, .arg_len = sizeof(sa)),
            "spawn spawner");
    uint64_t t0 = perf_now_ns();
    perf_ok(casty_tell(s, Go), "tell Go");
    uint64_t t = (uint64_t)perf_latch_wait(sys, latch, NULL) - t0;
    perf_ok(casty_stop(s), "stop spawner");
    perf_ok(casty_stop(c), "stop collector");
    return t;
}

static int idle(casty_ctx *ctx, char *self, const casty_msg *msg)
{
    (void)self;
    if (casty_type(msg) == CASTY_ID(Ping))
        perf_ok(casty_reply(ctx, int64_t, 0), "reply Ping");
    return 0;
}
CASTY_ACTOR(idle_actor, IdleMsg, char, idle);

static void idle_run(casty_system *sys, int64_t n)
{
    long before = perf_rss_kb();
    for (int64_t i = 0; i < n; i++) {
        IdleMsg_ref ref;
        perf_ok(casty_spawn(sys, &ref, idle_actor, NULL), "spawn idle actor");
    }
    for (uint32_t s = 0; s < casty_system_shards(sys); s++) {
        IdleMsg_ref probe;
        int64_t ok;
        perf_ok(
            casty_spawn(sys, &probe, idle_actor, NULL, .placement = CASTY_PLACE_SHARD, .shard = s),
            "spawn probe");
        perf_ok(casty_ask(probe, &ok, Ping), "ask probe");
    }
    long after = perf_rss_kb();
    printf("W5i casty bytes_per_idle_actor=%.1f rss_before_kb=%ld rss_after_kb=%ld n=%" PRId64
           " placement=round-robin shards=%u\n",
           (double)(after - before) * 1024.0 / (double)n, before, after, n,
           casty_system_shards(sys));
}

int main(int argc, char **argv)
{
    static const char usage[] = "[--n N] [--placement local|spread] [--idle]";
    int64_t n = 1000000;
    const char *placement = "local";
    bool idle_mode = false;
    for (int i = 1; i < argc; i++) {
        if (perf_opt_i64(argc, argv, &i, "--n", &n) ||
            perf_opt_str(argc, argv, &i, "--placement", &placement))
            continue;
        if (!strcmp(argv[i], "--idle"))
            idle_mode = true;
        else
            perf_usage(argv[0], usage);
    }
    bool spread = !strcmp(placement, "spread");
    if ((!spread && strcmp(placement, "local") != 0) || n < 1)
        perf_usage(argv[0], usage);

    casty_system *sys = perf_system_start(2, false, 0);
    LatchMsg_ref latch = perf_latch_spawn(sys, 0);
    if (idle_mode) {
        idle_run(sys, n); /* no warm-up: cells it freed would be reused and hide their cost */
    } else {
        /* Warm-up: pools touched before timing. */
        run(sys, latch, n < 10000 ? n : 10000, spread);
        long base = perf_rss_kb();
        uint64_t t = run(sys, latch, n, spread);
        printf("W5 casty spawns_per_s=%.0f ns_per_spawn=%.1f peak_rss_kb=%ld base_rss_kb=%ld"
               " n=%" PRId64 " batch=1 placement=%s shards=2\n",
               (double)n / ((double)t / 1e9), (double)t / (double)n, perf_maxrss_kb(), base, n,
               placement);
    }
    perf_system_stop(sys);
    return 0;
}
