/*
 * Routers: spread work over a pool of workers that live on every shard.
 *
 * A router is an ordinary actor that speaks its routees' protocol and
 * forwards each job to one of them with casty_forward(), which keeps the
 * original sender: the worker answers the driver directly, and the driver
 * cannot tell a pool from a single worker. Two strategies:
 *   - round robin: job i goes to worker i mod N (even load, no affinity);
 *   - consistent hash: a job goes to the worker that owns its key on a hash
 *     ring (32 points per worker), so a key always meets the same worker
 *     (its cache, its state), and removing a worker moves only its own keys.
 *
 * The driver sends 400 CPU-bound jobs and waits for every Done. The same run
 * against one worker and against the pool shows the speed-up of using all
 * cores (printed, not asserted: it depends on the machine and its load).
 *
 * Expected output (times and speed-up vary; the rest is fixed):
 *   pool: 4 workers over 2 shards
 *   one worker:  400 jobs in 55.2 ms
 *   round robin: 400 jobs in 29.0 ms, jobs per worker: 100 100 100 100
 *   speed-up of the pool over one worker: 1.90x
 *   consistent hash: jobs per worker: 120 100 40 140, each of 40 keys always met the same worker
 *   without worker 4: 14 of 40 keys moved, all of them from worker 4
 *   results identical on every route: yes
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define POOL        4
#define JOBS        400
#define KEYS        40
#define ITERS       100000 /* work per job: about 0.1 ms */
#define RING_POINTS 32     /* virtual nodes per worker on the hash ring */

/* --- the protocols: workers (and routers) take Job, the driver takes Done --- */

CASTY_MESSAGE(Job, int id; int key; uint32_t iters);
CASTY_PROTOCOL(WorkerMsg, Job);

CASTY_MESSAGE(Run, WorkerMsg_ref target; int jobs);
CASTY_MESSAGE(Done, int worker; int id; int key; uint64_t result);
CASTY_PROTOCOL(DriverMsg, Run, Done);

/* --- the worker --- */

typedef struct {
    int id; /* 1..POOL */
} Worker;

static int worker_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(int))
        return -EINVAL;
    ((Worker *)state)->id = *(const int *)arg;
    return 0;
}

/* The "work": a xorshift walk seeded by the job, so every route gives the same results. */
static uint64_t crunch(int id, uint32_t iters)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull + 1;
    for (uint32_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static int worker(casty_ctx *ctx, Worker *self, const casty_msg *msg)
{
    switch ((enum WorkerMsg_type)casty_type(msg)) {
    case CASTY_ID(Job): {
        const Job *j = CASTY_AS(msg, Job);
        /* Forwarded by the router, the job's sender is still the driver. */
        DriverMsg_ref driver = {.raw = casty_sender(ctx)};
        return casty_tell(driver, Done, .worker = self->id, .id = j->id, .key = j->key,
                          .result = crunch(j->id, j->iters));
    }
    }
    return 0;
}
CASTY_ACTOR(worker_actor, WorkerMsg, Worker, worker, .init = worker_init);

/* --- the router: speaks WorkerMsg, forwards each Job to one routee --- */

typedef enum { ROUND_ROBIN, CONSISTENT_HASH } Strategy;

typedef struct {
    Strategy strategy;
    int n;
    WorkerMsg_ref routees[POOL];
} RouterArg;

typedef struct {
    uint64_t point;
    int routee;
} RingPoint;

typedef struct {
    RouterArg cfg;
    uint32_t next; /* round robin */
    int points;
    RingPoint ring[POOL * RING_POINTS]; /* sorted by point */
} Router;

/* A 64-bit mixer (splitmix64's finalizer): spreads keys and ring points evenly. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static int by_point(const void *a, const void *b)
{
    uint64_t pa = ((const RingPoint *)a)->point, pb = ((const RingPoint *)b)->point;
    return (pa > pb) - (pa < pb);
}

/* The routee owning `key`: the first ring point at or after the key's hash, wrapping around. */
static int ring_lookup(const Router *self, int key)
{
    uint64_t h = mix64((uint64_t)key ^ 0x5bd1e995u);
    int lo = 0, hi = self->points;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (self->ring[mid].point < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return self->ring[lo == self->points ? 0 : lo].routee;
}

static int router_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Router *self = state;
    if (len != sizeof(RouterArg))
        return -EINVAL;
    memcpy(&self->cfg, arg, sizeof(self->cfg));
    if (self->cfg.n < 1 || self->cfg.n > POOL)
        return -EINVAL;
    /*
     * A point depends only on (routee, vnode): a ring without worker 4 keeps
     * every other point where it was, so only worker 4's keys move.
     */
    for (int r = 0; r < self->cfg.n; r++)
        for (int v = 0; v < RING_POINTS; v++)
            self->ring[self->points++] =
                (RingPoint){.point = mix64(((uint64_t)(r + 1) << 32) | (uint64_t)v), .routee = r};
    qsort(self->ring, (size_t)self->points, sizeof(self->ring[0]), by_point);
    return 0;
}

static int router(casty_ctx *ctx, Router *self, const casty_msg *msg)
{
    switch ((enum WorkerMsg_type)casty_type(msg)) {
    case CASTY_ID(Job): {
        int r;
        if (self->cfg.strategy == ROUND_ROBIN)
            r = (int)(self->next++ % (uint32_t)self->cfg.n);
        else
            r = ring_lookup(self, CASTY_AS(msg, Job)->key);
        return casty_forward(ctx, self->cfg.routees[r]);
    }
    }
    return 0;
}
CASTY_ACTOR(router_actor, WorkerMsg, Router, router, .init = router_init);

/* --- the driver: sends the jobs, gathers the Dones, answers main --- */

typedef struct {
    int jobs, done;
    int per_worker[POOL + 1];
    int key_worker[KEYS]; /* the worker each key met (0: none yet, -1: more than one) */
    uint64_t checksum;
} Report;

typedef struct {
    Report report;
    casty_ref asker;
} Driver;

static int driver(casty_ctx *ctx, Driver *self, const casty_msg *msg)
{
    switch ((enum DriverMsg_type)casty_type(msg)) {
    case CASTY_ID(Run): {
        const Run *r = CASTY_AS(msg, Run);
        memset(&self->report, 0, sizeof(self->report));
        self->report.jobs = r->jobs;
        self->asker = casty_sender(ctx);
        for (int i = 0; i < r->jobs; i++) {
            int rc = casty_tell(r->target, Job, .id = i, .key = i % KEYS, .iters = ITERS);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    case CASTY_ID(Done): {
        const Done *d = CASTY_AS(msg, Done);
        Report *rep = &self->report;
        rep->per_worker[d->worker]++;
        int *kw = &rep->key_worker[d->key];
        if (*kw == 0)
            *kw = d->worker;
        else if (*kw != d->worker)
            *kw = -1;
        rep->checksum ^= d->result;
        if (++rep->done < rep->jobs)
            return 0;
        /* All jobs are back: answer main's ask (kept from Run). */
        return casty_tell_raw(self->asker, CASTY_TYPE_REPLY, rep, sizeof(*rep), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(driver_actor, DriverMsg, Driver, driver);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Send JOBS jobs to `target` through the driver; returns the report and the time taken. */
static Report run(DriverMsg_ref drv, WorkerMsg_ref target, double *ms)
{
    Report rep;
    double t0 = now_ms();
    check(casty_ask_timeout(drv, &rep, 30000, Run, .target = target, .jobs = JOBS), "run");
    *ms = now_ms() - t0;
    return rep;
}

static WorkerMsg_ref spawn_router(casty_system *sys, Strategy s, int n, const WorkerMsg_ref *pool)
{
    RouterArg a = {.strategy = s, .n = n};
    memcpy(a.routees, pool, sizeof(pool[0]) * (size_t)n);
    WorkerMsg_ref r;
    check(casty_spawn(sys, &r, router_actor, NULL, .arg = &a, .arg_len = sizeof(a),
                      .placement = CASTY_PLACE_SHARD, .shard = 0),
          "spawn router");
    return r;
}

static void print_per_worker(const Report *r)
{
    printf("jobs per worker:");
    for (int w = 1; w <= POOL; w++)
        printf(" %d", r->per_worker[w]);
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");
    uint32_t shards = casty_system_shards(sys);

    /* The pool: worker i on shard i mod shards, so every core gets work. */
    WorkerMsg_ref pool[POOL];
    for (int i = 0; i < POOL; i++) {
        int id = i + 1;
        check(casty_spawn(sys, &pool[i], worker_actor, NULL, .arg = &id, .arg_len = sizeof(id),
                          .placement = CASTY_PLACE_SHARD, .shard = (uint32_t)i % shards),
              "spawn worker");
    }
    printf("pool: %d workers over %u shard%s\n", POOL, shards, shards == 1 ? "" : "s");

    DriverMsg_ref drv;
    check(
        casty_spawn(sys, &drv, driver_actor, "driver", .placement = CASTY_PLACE_SHARD, .shard = 0),
        "spawn driver");

    double one_ms, rr_ms, ch_ms, ch3_ms;
    Report one = run(drv, pool[0], &one_ms);
    printf("one worker:  %d jobs in %.1f ms\n", JOBS, one_ms);

    Report rr = run(drv, spawn_router(sys, ROUND_ROBIN, POOL, pool), &rr_ms);
    printf("round robin: %d jobs in %.1f ms, ", JOBS, rr_ms);
    print_per_worker(&rr);
    printf("\nspeed-up of the pool over one worker: %.2fx\n", one_ms / rr_ms);

    Report ch = run(drv, spawn_router(sys, CONSISTENT_HASH, POOL, pool), &ch_ms);
    bool sticky = true;
    for (int k = 0; k < KEYS; k++)
        sticky = sticky && ch.key_worker[k] > 0;
    printf("consistent hash: ");
    print_per_worker(&ch);
    printf(", each of %d keys always met the same worker%s\n", KEYS, sticky ? "" : ": NO");

    /* The same keys on a ring without worker 4. */
    Report ch3 = run(drv, spawn_router(sys, CONSISTENT_HASH, POOL - 1, pool), &ch3_ms);
    int moved = 0, moved_from_4 = 0;
    for (int k = 0; k < KEYS; k++) {
        if (ch3.key_worker[k] != ch.key_worker[k]) {
            moved++;
            moved_from_4 += ch.key_worker[k] == POOL;
        }
    }
    printf("without worker 4: %d of %d keys moved, %s\n", moved, KEYS,
           moved == moved_from_4 ? "all of them from worker 4" : "SOME FROM OTHER WORKERS");

    bool same =
        one.checksum == rr.checksum && rr.checksum == ch.checksum && ch.checksum == ch3.checksum;
    printf("results identical on every route: %s\n", same ? "yes" : "no");

    check(casty_system_stop(sys), "stop");
    return same && sticky && moved == moved_from_4 ? 0 : 1;
}
