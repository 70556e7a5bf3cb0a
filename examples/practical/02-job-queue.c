/*
 * A job queue with backpressure and supervised workers.
 *
 *   producer --Job (ask)--> worker mailboxes (4 jobs each, refuse when full)
 *      |                         a poison job crashes its worker, and the
 *      |                         supervisor (the pool) restarts it
 *      +--Outcome--> collector   (the answer, or -ECRASHED, returns to the producer)
 *
 * The queue is the workers' bounded mailboxes: each worker is spawned with
 * .mailbox = {.capacity = 4, .policy = CASTY_MAILBOX_FAIL}, so an ask to a
 * full worker returns -EAGAIN instead of growing a queue without bound. The
 * producer then tries its next worker, and when all are full it backs off: it
 * schedules a Retry to itself 1 ms later (an actor never sleeps; its shard
 * runs other actors meanwhile).
 *
 * Each producer feeds the workers on its own shard. That is the usual
 * thread-per-core layout, and it makes the bound exact: a sender on the
 * worker's shard is refused at exactly 4 queued jobs, whereas a sender on
 * another shard is refused only once the worker's shard has published that
 * the mailbox is full, so a burst sent meanwhile is admitted (lifecycle.h).
 *
 * Workers are children of a pool actor, with the Restart strategy. A job that
 * crashes its worker is dropped, the worker restarts with fresh state and
 * keeps its queued jobs, and the producer's ask is answered -ECRASHED at once.
 *
 * Expected output (the number of back-offs varies from run to run):
 *   pool: 4 workers, mailboxes of 4 jobs that refuse when full, restart on crash
 *   60 jobs from 2 producers: 54 results, 6 crashed their worker (jobs 7 17 27 37 47 57)
 *   sum of the results: 65916
 *   worker restarts by the supervisor: 6
 *   producers backed off 6 times on -EAGAIN
 *   every worker still answers: yes
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define WORKERS        4
#define MAILBOX_JOBS   4
#define PRODUCERS      2
#define JOBS_EACH      30
#define JOB_US         200 /* how long a job takes */
#define MAX_JOBS       (PRODUCERS * JOBS_EACH)
#define RETRY_AFTER_MS 1

/* Job n is poison when n % 10 == 7: it crashes whichever worker takes it. */
static bool poison(int job)
{
    return job % 10 == 7;
}

/* --- workers --- */

CASTY_MESSAGE(Job, int id);
CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(WorkerMsg, Job, Ping);

typedef struct {
    int job;
    int value;
} JobDone;

typedef struct {
    int id;
} Worker;

static void busy_us(int us)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static int worker_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(int))
        return -EINVAL;
    /* Runs again after each restart, on zeroed state: the arg is kept for it. */
    ((Worker *)state)->id = *(const int *)arg;
    return 0;
}

static int worker(casty_ctx *ctx, Worker *self, const casty_msg *msg)
{
    switch ((enum WorkerMsg_type)casty_type(msg)) {
    case CASTY_ID(Job): {
        int job = CASTY_AS(msg, Job)->id;
        busy_us(JOB_US);
        if (poison(job))
            return -EFAULT; /* a crash: the supervisor restarts this worker */
        /* The answer names its job: an error reply could not (it has no payload). */
        return casty_reply(ctx, JobDone, ((JobDone){.job = job, .value = job * job}));
    }
    case CASTY_ID(Ping):
        return casty_reply(ctx, int, self->id);
    }
    return 0;
}
CASTY_ACTOR(worker_actor, WorkerMsg, Worker, worker, .init = worker_init);

/* --- the pool: parent and supervisor of the workers --- */

typedef struct {
    int n;
    WorkerMsg_ref w[WORKERS];
    uint32_t shard[WORKERS];
} Workers;

CASTY_MESSAGE(GetWorkers);
CASTY_PROTOCOL(PoolMsg, GetWorkers);

typedef struct {
    Workers workers;
} Pool;

/* Restart a crashed worker at once, up to 20 times a second; beyond that it stops. */
static const casty_supervision restart_crashed = {
    .directive = CASTY_RESTART, .max_retries = 20, .within_ms = 1000};

static int pool_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    Pool *self = state;
    uint32_t shards = casty_system_shards(casty_ctx_system(ctx));
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "worker-%d", i + 1);
        int id = i + 1;
        int rc =
            casty_spawn_child(ctx, &self->workers.w[i], worker_actor, name, .arg = &id,
                              .arg_len = sizeof(id), .supervision = &restart_crashed,
                              .mailbox = {.capacity = MAILBOX_JOBS, .policy = CASTY_MAILBOX_FAIL},
                              .placement = CASTY_PLACE_SHARD, .shard = (uint32_t)i % shards);
        if (rc < 0)
            return rc;
        self->workers.shard[i] = (uint32_t)i % shards;
    }
    self->workers.n = WORKERS;
    return 0;
}

static int pool(casty_ctx *ctx, Pool *self, const casty_msg *msg)
{
    switch ((enum PoolMsg_type)casty_type(msg)) {
    case CASTY_ID(GetWorkers):
        return casty_reply(ctx, Workers, self->workers);
    }
    return 0;
}
CASTY_ACTOR(pool_actor, PoolMsg, Pool, pool, .init = pool_init);

/* --- the collector: gathers every outcome, answers main at the end --- */

typedef struct {
    int results, crashed, other_errors, producers_done;
    long long sum;
    int backoffs;
    bool done[MAX_JOBS + 1]; /* jobs with a result */
} Summary;

CASTY_MESSAGE(Outcome, int rc; JobDone result);
CASTY_MESSAGE(ProducerDone, int backoffs);
CASTY_MESSAGE(WaitAll);
CASTY_PROTOCOL(CollectorMsg, Outcome, ProducerDone, WaitAll);

typedef struct {
    Summary s;
    casty_ref waiter; /* main, once it has asked */
} Collector;

static bool all_in(const Summary *s)
{
    return s->results + s->crashed + s->other_errors == MAX_JOBS && s->producers_done == PRODUCERS;
}

static int collector(casty_ctx *ctx, Collector *self, const casty_msg *msg)
{
    Summary *s = &self->s;
    switch ((enum CollectorMsg_type)casty_type(msg)) {
    case CASTY_ID(Outcome): {
        const Outcome *o = CASTY_AS(msg, Outcome);
        if (o->rc == 0 && o->result.job >= 1 && o->result.job <= MAX_JOBS) {
            s->results++;
            s->sum += o->result.value;
            s->done[o->result.job] = true;
        } else if (o->rc == -CASTY_ECRASHED) {
            s->crashed++;
        } else {
            s->other_errors++;
        }
        break;
    }
    case CASTY_ID(ProducerDone):
        s->producers_done++;
        s->backoffs += CASTY_AS(msg, ProducerDone)->backoffs;
        break;
    case CASTY_ID(WaitAll):
        self->waiter = casty_sender(ctx);
        break;
    }
    /* Main may ask before or after the last outcome: answer once both are there. */
    if (all_in(s) && !casty_ref_is_null(self->waiter)) {
        casty_ref to = self->waiter;
        self->waiter = CASTY_REF_NULL;
        return casty_tell_raw(to, CASTY_TYPE_REPLY, s, sizeof(*s), NULL);
    }
    return 0;
}
CASTY_ACTOR(collector_actor, CollectorMsg, Collector, collector);

/* --- producers --- */

typedef struct {
    Workers workers;
    CollectorMsg_ref collector;
    int first_job;
} ProducerArg;

CASTY_MESSAGE(Produce);
CASTY_MESSAGE(Retry);
CASTY_MESSAGE(JobReply, JobDone done); /* the reply type of the producer's asks */
CASTY_PROTOCOL(ProducerMsg, Produce, Retry, JobReply);

typedef struct {
    ProducerArg cfg;
    int next; /* the next job to submit */
    uint32_t cursor;
    int backoffs;
} Producer;

static int producer_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Producer *self = state;
    if (len != sizeof(ProducerArg))
        return -EINVAL;
    memcpy(&self->cfg, arg, len);
    self->next = self->cfg.first_job;
    return 0;
}

/*
 * Submit jobs until all are out, or until every worker's mailbox is full:
 * then back off and come back RETRY_AFTER_MS later.
 */
static int submit(casty_ctx *ctx, Producer *self)
{
    int end = self->cfg.first_job + JOBS_EACH;
    while (self->next < end) {
        int rc = -EAGAIN;
        const Workers *ws = &self->cfg.workers;
        for (int tries = 0; tries < ws->n && rc == -EAGAIN; tries++) {
            WorkerMsg_ref w = ws->w[self->cursor++ % (uint32_t)ws->n];
            rc = casty_ask_async_timeout(ctx, w, JobReply, 5000, Job, .id = self->next);
        }
        if (rc == -EAGAIN) {
            self->backoffs++;
            ProducerMsg_ref me = {.raw = casty_self(ctx)};
            return casty_schedule_once(casty_ctx_system(ctx), NULL, me, RETRY_AFTER_MS, Retry);
        }
        if (rc < 0)
            return rc;
        self->next++;
    }
    return casty_tell(self->cfg.collector, ProducerDone, .backoffs = self->backoffs);
}

static int producer(casty_ctx *ctx, Producer *self, const casty_msg *msg)
{
    switch ((enum ProducerMsg_type)casty_type(msg)) {
    case CASTY_ID(Produce):
    case CASTY_ID(Retry):
        return submit(ctx, self);
    case CASTY_ID(JobReply): {
        /* A result (status 0), or -ECRASHED: the job crashed its worker. */
        int rc = casty_msg_status(msg);
        JobDone d = {0};
        if (rc == 0 && msg->len == sizeof(JobDone))
            d = CASTY_AS(msg, JobReply)->done;
        return casty_tell(self->cfg.collector, Outcome, .rc = rc, .result = d);
    }
    }
    return 0;
}
CASTY_ACTOR(producer_actor, ProducerMsg, Producer, producer, .init = producer_init);

/* --- main --- */

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
    check(casty_system_start(&sys, NULL), "start");

    PoolMsg_ref p;
    check(casty_spawn(sys, &p, pool_actor, "pool"), "spawn pool");
    Workers workers;
    check(casty_ask_timeout(p, &workers, 1000, GetWorkers), "get workers");
    printf("pool: %d workers, mailboxes of %d jobs that refuse when full, restart on crash\n",
           WORKERS, MAILBOX_JOBS);

    CollectorMsg_ref col;
    check(casty_spawn(sys, &col, collector_actor, "collector"), "spawn collector");
    uint32_t shards = casty_system_shards(sys);
    for (int i = 0; i < PRODUCERS; i++) {
        /* Producer i lives on shard i and feeds the workers of that shard. */
        uint32_t shard = (uint32_t)i % shards;
        ProducerArg a = {.collector = col, .first_job = 1 + i * JOBS_EACH};
        for (int w = 0; w < workers.n; w++)
            if (workers.shard[w] == shard)
                a.workers.w[a.workers.n++] = workers.w[w];
        ProducerMsg_ref prod;
        check(casty_spawn(sys, &prod, producer_actor, NULL, .arg = &a, .arg_len = sizeof(a),
                          .placement = CASTY_PLACE_SHARD, .shard = shard),
              "spawn producer");
        check(casty_tell(prod, Produce), "produce");
    }

    Summary s;
    check(casty_ask_timeout(col, &s, 10000, WaitAll), "wait for the jobs");
    printf("%d jobs from %d producers: %d results, %d crashed their worker (jobs", MAX_JOBS,
           PRODUCERS, s.results, s.crashed);
    for (int j = 1; j <= MAX_JOBS; j++)
        if (!s.done[j])
            printf(" %d", j);
    printf(")\n");
    printf("sum of the results: %lld\n", s.sum);

    casty_stats st;
    check(casty_system_stats(sys, &st), "stats");
    printf("worker restarts by the supervisor: %llu\n", (unsigned long long)st.restarts);
    printf("producers backed off %d times on -EAGAIN\n", s.backoffs);

    /* Restarted workers are the same actors (same refs), back at work. */
    int alive = 0;
    for (int i = 0; i < WORKERS; i++) {
        int id = 0;
        alive += casty_ask_timeout(workers.w[i], &id, 1000, Ping) == 0 && id == i + 1;
    }
    printf("every worker still answers: %s\n", alive == WORKERS ? "yes" : "no");

    check(casty_system_stop(sys), "stop");
    return s.results + s.crashed == MAX_JOBS ? 0 : 1;
}
