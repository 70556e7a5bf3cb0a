/*
 * Parent and children: a boss spawns three workers with casty_spawn_child
 * (named "boss/worker-1" ...), splits a sum of squares between them, gathers
 * their answers with casty_ask_async_timeout, and answers main's ask with the
 * total. Then main stops the boss: its children stop first, across shards,
 * and every child's stop hook has run before the boss's own.
 *
 * Shows: spawning children in an init hook, a spawn arg, pinning children on
 * shards, asks from inside a behaviour, a reply given once the gathering is
 * complete, stop hooks and their order, names released at stop.
 *
 * Expected output (the workers' stop lines come in any order, the shards
 * depend on the number of cores):
 *   boss: spawned boss/worker-1, boss/worker-2, boss/worker-3
 *   boss: worker-1 (shard 0) summed 1..333 -> 12364179
 *   boss: worker-2 (shard 1) summed 334..666 -> 86327142
 *   boss: worker-3 (shard 0) summed 667..1000 -> 235142179
 *   main: sum of squares 1..1000 = 333833500
 *   boss/worker-2 stopped
 *   boss/worker-1 stopped
 *   boss/worker-3 stopped
 *   boss stopped, after its workers
 *   main: "boss" and "boss/worker-1" are free names again
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <casty/casty.h>

#define WORKERS 3

/* --- a worker: sums the squares of a range --- */

CASTY_MESSAGE(SumSquares, long from; long to);
CASTY_PROTOCOL(WorkerMsg, SumSquares);

/* What a worker answers (also the boss's reply message type, see BossMsg). */
typedef struct {
    int worker;
    int shard;
    long long sum;
} PartialSum;

typedef struct {
    int id; /* 1..WORKERS, from the spawn arg */
} Worker;

static int worker_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Worker *self = state;
    if (len != sizeof(int))
        return -EINVAL; /* a crash: the supervision strategy decides */
    self->id = *(const int *)arg;
    return 0;
}

static void worker_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    const Worker *self = state;
    printf("boss/worker-%d stopped\n", self->id);
}

static int worker(casty_ctx *ctx, Worker *self, const casty_msg *msg)
{
    switch ((enum WorkerMsg_type)casty_type(msg)) {
    case CASTY_ID(SumSquares): {
        const SumSquares *r = CASTY_AS(msg, SumSquares);
        long long sum = 0;
        for (long i = r->from; i <= r->to; i++)
            sum += (long long)i * i;
        return casty_reply(
            ctx, PartialSum,
            ((PartialSum){.worker = self->id, .shard = (int)casty_ctx_shard(ctx), .sum = sum}));
    }
    }
    return 0;
}
CASTY_ACTOR(worker_actor, WorkerMsg, Worker, worker, .init = worker_init, .stop = worker_stop);

/* --- the boss --- */

CASTY_MESSAGE(Compute, long n);
CASTY_MESSAGE(Partial, PartialSum part); /* the reply type of the boss's asks */
CASTY_PROTOCOL(BossMsg, Compute, Partial);

typedef struct {
    WorkerMsg_ref workers[WORKERS];
    long from[WORKERS], to[WORKERS];
    PartialSum parts[WORKERS];
    int answers;
    int failures;
    casty_ref asker; /* main, waiting for the total */
} Boss;

static int boss_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    Boss *self = state;
    uint32_t shards = casty_system_shards(casty_ctx_system(ctx));
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "worker-%d", i + 1);
        int id = i + 1;
        /* Spread the children over the shards; by default a child is placed by its name's hash. */
        int rc = casty_spawn_child(ctx, &self->workers[i], worker_actor, name, .arg = &id,
                                   .arg_len = sizeof(id), .placement = CASTY_PLACE_SHARD,
                                   .shard = (uint32_t)i % shards);
        if (rc < 0)
            return rc;
    }
    printf("boss: spawned boss/worker-1, boss/worker-2, boss/worker-3\n");
    return 0;
}

static void boss_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    printf("boss stopped, after its workers\n");
}

/* Every worker has answered (or timed out): report in worker order, answer main. */
static int finish(Boss *self)
{
    long long total = 0;
    for (int i = 0; i < WORKERS; i++) {
        const PartialSum *p = &self->parts[i];
        printf("boss: worker-%d (shard %d) summed %ld..%ld -> %lld\n", i + 1, p->shard,
               self->from[i], self->to[i], p->sum);
        total += p->sum;
    }
    if (self->failures > 0)
        total = -1;
    return casty_tell_raw(self->asker, CASTY_TYPE_REPLY, &total, sizeof(total), NULL);
}

static int boss(casty_ctx *ctx, Boss *self, const casty_msg *msg)
{
    switch ((enum BossMsg_type)casty_type(msg)) {
    case CASTY_ID(Compute): {
        long n = CASTY_AS(msg, Compute)->n;
        self->asker = casty_sender(ctx);
        self->answers = self->failures = 0;
        /* Scatter: one range per worker, each answer arrives as a Partial message. */
        for (int i = 0; i < WORKERS; i++) {
            self->from[i] = n * i / WORKERS + 1;
            self->to[i] = n * (i + 1) / WORKERS;
            int rc = casty_ask_async_timeout(ctx, self->workers[i], Partial, 2000, SumSquares,
                                             .from = self->from[i], .to = self->to[i]);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    case CASTY_ID(Partial): {
        /* A timeout or a crashed worker arrives as a Partial with a negative status. */
        if (casty_msg_status(msg) < 0 || msg->len != sizeof(PartialSum)) {
            self->failures++;
        } else {
            const PartialSum *p = &CASTY_AS(msg, Partial)->part;
            self->parts[p->worker - 1] = *p;
        }
        if (++self->answers == WORKERS)
            return finish(self);
        return 0;
    }
    }
    return 0;
}
CASTY_ACTOR(boss_actor, BossMsg, Boss, boss, .init = boss_init, .stop = boss_stop);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

/* Wait (with a deadline) until no live actor has this name. */
static int wait_name_free(casty_system *sys, const char *name)
{
    for (int i = 0; i < 2000; i++) {
        casty_ref r; /* any protocol: NULL below */
        int rc = casty_lookup_raw(sys, &r, name, NULL);
        if (rc == -ENOENT)
            return 0;
        check(rc, "lookup");
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    }
    return -ETIMEDOUT;
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    BossMsg_ref b;
    check(casty_spawn(sys, &b, boss_actor, "boss"), "spawn boss");
    long long total = 0;
    check(casty_ask_timeout(b, &total, 5000, Compute, .n = 1000), "compute");
    printf("main: sum of squares 1..1000 = %lld\n", total);

    /*
     * Stop the parent: it stops its children first (each runs its stop hook),
     * then runs its own hook, then releases its name.
     */
    check(casty_stop(b), "stop boss");
    check(wait_name_free(sys, "boss"), "boss still registered");
    check(wait_name_free(sys, "boss/worker-1"), "worker still registered");
    printf("main: \"boss\" and \"boss/worker-1\" are free names again\n");

    check(casty_system_stop(sys), "stop");
    return total == 333833500 ? 0 : 1;
}
