/*
 * L2 cross-core floor (WORKLOADS.md): an SPSC ring of 16-byte messages
 * between two threads pinned to CPUs 0 and 1, with cached remote indices and
 * head/tail on separate cache lines (what core/spsc.h does, written here
 * from scratch so the probe does not depend on Casty).
 *  - stream: the producer publishes its tail every P messages (P = 32 and 1);
 *    the consumer publishes its head after each drained batch. msgs/s.
 *  - pingpong: two rings, publish every message, both sides busy-poll; the
 *    round trip of each exchange is timed; one-way = round trip / 2.
 *
 *   usage: l2_spsc [--n N] [--rtt-n N]
 * Prints: L2 limit rate=... ns_per_msg=... n=... publish=32 msg_bytes=16 placement=cross-core mode=stream
 *         L2 limit rate=... ns_per_msg=... n=... publish=1 msg_bytes=16 placement=cross-core mode=stream
 *         L2 limit p50_ns=... p99_ns=... p999_ns=... max_ns=... mean_ns=... oneway_p50_ns=... n=...
 *                  publish=1 msg_bytes=16 placement=cross-core mode=pingpong
 */
#include <immintrin.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../harness.h"

#define SLOTS 1024 /* power of two */

typedef struct {
    uint64_t seq, payload;
} msg;
_Static_assert(sizeof(msg) == 16, "the probe moves 16-byte messages");

typedef struct {
    alignas(64) _Atomic uint64_t tail; /* written by the producer */
    alignas(64) _Atomic uint64_t head; /* written by the consumer */
    alignas(64) msg slot[SLOTS];
} spsc;

typedef struct { /* producer-private */
    spsc *q;
    uint64_t tail, head_cache, unpublished, publish;
} producer;

typedef struct { /* consumer-private */
    spsc *q;
    uint64_t head, tail_cache;
} consumer;

static void publish_tail(producer *p)
{
    /* Release: the slots written before become visible with the index. */
    atomic_store_explicit(&p->q->tail, p->tail, memory_order_release);
    p->unpublished = 0;
}

static void push(producer *p, msg m)
{
    if (p->tail - p->head_cache == SLOTS) {
        publish_tail(p); /* the consumer must see what is there, or it never frees a slot */
        /* Acquire: the consumer has finished reading the slots it released. */
        while (p->tail -
                   (p->head_cache = atomic_load_explicit(&p->q->head, memory_order_acquire)) ==
               SLOTS)
            _mm_pause();
    }
    p->q->slot[p->tail & (SLOTS - 1)] = m;
    p->tail++;
    if (++p->unpublished >= p->publish)
        publish_tail(p);
}

/* Wait for a message and copy it out; the head is published by the caller. */
static msg pop(consumer *c)
{
    while (c->head == c->tail_cache) {
        /* Acquire: pairs with publish_tail(), so the slots are written. */
        c->tail_cache = atomic_load_explicit(&c->q->tail, memory_order_acquire);
        if (c->head == c->tail_cache)
            _mm_pause();
    }
    return c->q->slot[c->head++ & (SLOTS - 1)];
}

static void publish_head(consumer *c)
{
    /* Release: our reads of the slots happen before the producer reuses them. */
    atomic_store_explicit(&c->q->head, c->head, memory_order_release);
}

typedef struct {
    spsc *ab, *ba;
    int64_t n;
    uint64_t publish;
    uint64_t *samples; /* pingpong round trips */
    uint64_t elapsed_ns, checksum;
    _Atomic int ready;
} job;

static void wait_start(job *j)
{
    atomic_fetch_add_explicit(&j->ready, 1, memory_order_acq_rel);
    while (atomic_load_explicit(&j->ready, memory_order_acquire) < 2)
        _mm_pause();
}

static void *stream_consumer(void *arg)
{
    job *j = arg;
    (void)perf_pin_self(1);
    consumer c = {.q = j->ab};
    wait_start(j);
    uint64_t sum = 0;
    for (int64_t i = 0; i < j->n; i++) {
        sum += pop(&c).payload;
        if (c.head == c.tail_cache) /* drained what was visible */
            publish_head(&c);
    }
    publish_head(&c);
    j->checksum = sum;
    return NULL;
}

static void *pong(void *arg)
{
    job *j = arg;
    (void)perf_pin_self(1);
    consumer c = {.q = j->ab};
    producer p = {.q = j->ba, .publish = 1};
    wait_start(j);
    for (int64_t i = 0; i < j->n; i++) {
        msg m = pop(&c);
        publish_head(&c);
        push(&p, m);
    }
    return NULL;
}

static void run(job *j, void *(*peer)(void *), bool pingpong)
{
    pthread_t t;
    if (pthread_create(&t, NULL, peer, j) != 0) {
        fprintf(stderr, "l2_spsc: pthread_create failed\n");
        exit(1);
    }
    (void)perf_pin_self(0);
    producer p = {.q = j->ab, .publish = j->publish};
    consumer c = {.q = j->ba};
    wait_start(j);
    uint64_t t0 = perf_now_ns();
    for (int64_t i = 0; i < j->n; i++) {
        uint64_t s = pingpong ? perf_now_ns() : 0;
        push(&p, (msg){.seq = (uint64_t)i, .payload = 1});
        if (!pingpong)
            continue;
        (void)pop(&c);
        publish_head(&c);
        j->samples[i] = perf_now_ns() - s;
    }
    publish_tail(&p);
    pthread_join(t, NULL);
    j->elapsed_ns = perf_now_ns() - t0;
}

static spsc *ring_new(void)
{
    spsc *q = aligned_alloc(64, sizeof(spsc));
    if (!q)
        exit(1);
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    return q;
}

int main(int argc, char **argv)
{
    int64_t n = 50000000, rtt_n = 1000000;
    for (int i = 1; i < argc; i++)
        if (!perf_opt_i64(argc, argv, &i, "--n", &n) &&
            !perf_opt_i64(argc, argv, &i, "--rtt-n", &rtt_n))
            perf_usage(argv[0], "[--n N] [--rtt-n N]");
    if (n < 1 || rtt_n < 1)
        perf_usage(argv[0], "[--n N >= 1] [--rtt-n N >= 1]");
    static const uint64_t publish[] = {32, 1};
    for (int k = 0; k < 2; k++) {
        job j = {.ab = ring_new(), .n = n, .publish = publish[k]};
        run(&j, stream_consumer, false);
        if (j.checksum != (uint64_t)n)
            return 1;
        printf("L2 limit rate=%.0f ns_per_msg=%.2f n=%" PRId64 " publish=%" PRIu64
               " msg_bytes=16 placement=cross-core mode=stream\n",
               (double)n / ((double)j.elapsed_ns / 1e9), (double)j.elapsed_ns / (double)n, n,
               publish[k]);
        free(j.ab);
    }
    job j = {.ab = ring_new(), .ba = ring_new(), .n = rtt_n, .publish = 1};
    j.samples = perf_alloc_touched((size_t)rtt_n * sizeof(uint64_t));
    run(&j, pong, true);
    perf_pcts p = perf_percentiles(j.samples, (size_t)rtt_n);
    printf("L2 limit p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
           " mean_ns=%.1f oneway_p50_ns=%.1f n=%" PRId64
           " publish=1 msg_bytes=16 placement=cross-core mode=pingpong\n",
           p.p50, p.p99, p.p999, p.max, p.mean, (double)p.p50 / 2, rtt_n);
    free(j.samples);
    free(j.ab);
    free(j.ba);
    return 0;
}
