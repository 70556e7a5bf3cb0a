/*
 * FIFO per sender->receiver pair, through the public API: same shard, across
 * shards, and from several outside threads at once, with millions of
 * messages; plus inline and heap payloads arriving intact.
 */
#include <pthread.h>
#include <string.h>

#include "support/casty_test.h"

#define MAX_PRODUCERS 8

CASTY_MESSAGE(Seq, uint32_t producer; uint64_t seq);
CASTY_MESSAGE(SinkGet);
CASTY_MESSAGE(Blob, uint32_t len; uint32_t sum; unsigned char bytes[2000]);
CASTY_PROTOCOL(SinkMsg, Seq, SinkGet, Blob);

typedef struct {
    uint64_t total, violations, blobs_ok, blobs_bad;
} SinkReport;

typedef struct {
    uint64_t next[MAX_PRODUCERS];
    SinkReport r;
} Sink;

static int sink(casty_ctx *ctx, Sink *self, const casty_msg *msg)
{
    switch ((enum SinkMsg_type)casty_type(msg)) {
    case CASTY_ID(Seq): {
        const Seq *s = CASTY_AS(msg, Seq);
        if (s->producer >= MAX_PRODUCERS || s->seq != self->next[s->producer])
            self->r.violations++;
        else
            self->next[s->producer]++;
        self->r.total++;
        return 0;
    }
    case CASTY_ID(Blob): {
        const Blob *b = CASTY_AS(msg, Blob);
        uint32_t sum = 0;
        for (uint32_t i = 0; i < b->len; i++)
            sum = sum * 31 + b->bytes[i];
        if (sum == b->sum && msg->len == sizeof(Blob))
            self->r.blobs_ok++;
        else
            self->r.blobs_bad++;
        return 0;
    }
    case CASTY_ID(SinkGet):
        return casty_reply(ctx, SinkReport, self->r);
    }
    return 0;
}
CASTY_ACTOR(sink_actor, SinkMsg, Sink, sink);

/*
 * A pump sends n sequence numbers to a sink in chunks, yielding between
 * chunks, and backing off when the sink's bounded mailbox refuses (-EAGAIN).
 */
CASTY_MESSAGE(PumpGo, SinkMsg_ref target; uint64_t n; uint32_t producer);
CASTY_MESSAGE(PumpMore);
CASTY_PROTOCOL(PumpMsg, PumpGo, PumpMore);

typedef struct {
    SinkMsg_ref target;
    uint64_t n, sent;
    uint32_t producer;
} Pump;

static int pump(casty_ctx *ctx, Pump *self, const casty_msg *msg)
{
    switch ((enum PumpMsg_type)casty_type(msg)) {
    case CASTY_ID(PumpGo): {
        const PumpGo *g = CASTY_AS(msg, PumpGo);
        self->target = g->target;
        self->n = g->n;
        self->producer = g->producer;
        break;
    }
    case CASTY_ID(PumpMore):
        break;
    }
    for (uint32_t i = 0; i < 64 && self->sent < self->n; i++, self->sent++) {
        int rc = casty_tell(self->target, Seq, .producer = self->producer, .seq = self->sent);
        if (rc == -EAGAIN)
            break; /* the sink's mailbox is full: back off, resend this one next turn */
        if (rc < 0)
            return rc;
    }
    if (self->sent < self->n) {
        PumpMsg_ref me = {.raw = casty_self(ctx)};
        return casty_tell(me, PumpMore);
    }
    return 0;
}
CASTY_ACTOR(pump_actor, PumpMsg, Pump, pump);

static SinkReport report(SinkMsg_ref s)
{
    SinkReport r;
    int rc;
    /* While the pumps keep the sink's mailbox full, the ask is refused too: retry. */
    while ((rc = casty_ask_timeout(s, &r, 60000, SinkGet)) == -EAGAIN) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rc, 0);
    return r;
}

struct wait_total {
    SinkMsg_ref sink;
    uint64_t want;
};

static int reached(void *arg)
{
    struct wait_total *w = arg;
    return report(w->sink).total >= w->want;
}

static void run_pumps(uint32_t sink_shard, const uint32_t *pump_shards, uint32_t npumps)
{
    casty_system *sys = ct_start(2);
    uint64_t n = 2000000 / CASTY_TEST_SCALE / npumps;
    SinkMsg_ref s;
    assert_int_equal(casty_spawn(sys, &s, sink_actor, "sink", .placement = CASTY_PLACE_SHARD,
                                 .shard = sink_shard),
                     0);
    for (uint32_t p = 0; p < npumps; p++) {
        PumpMsg_ref pr;
        char name[32];
        snprintf(name, sizeof(name), "pump-%u", p);
        assert_int_equal(casty_spawn(sys, &pr, pump_actor, name, .placement = CASTY_PLACE_SHARD,
                                     .shard = pump_shards[p]),
                         0);
        assert_int_equal(casty_tell(pr, PumpGo, .target = s, .n = n, .producer = p), 0);
    }
    struct wait_total w = {s, n * npumps};
    assert_true(ct_wait_until(reached, &w, 60000));
    SinkReport r = report(s);
    assert_int_equal(r.total, n * npumps);
    assert_int_equal(r.violations, 0);
    ct_stop(sys);
}

static void test_fifo_same_shard(void **state)
{
    (void)state;
    uint32_t shards[] = {0};
    run_pumps(0, shards, 1);
}

static void test_fifo_across_shards(void **state)
{
    (void)state;
    uint32_t shards[] = {1};
    run_pumps(0, shards, 1);
}

static void test_fifo_mixed_producers_on_both_shards(void **state)
{
    (void)state;
    uint32_t shards[] = {0, 1, 0, 1};
    run_pumps(1, shards, 4);
}

struct outside {
    SinkMsg_ref sink;
    uint32_t producer;
    uint64_t n;
};

static void *outside_producer(void *arg)
{
    struct outside *o = arg;
    for (uint64_t i = 0; i < o->n; i++) {
        if (casty_tell(o->sink, Seq, .producer = o->producer, .seq = i) != 0)
            abort();
    }
    return NULL;
}

static void test_fifo_from_outside_threads(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    SinkMsg_ref s;
    assert_int_equal(casty_spawn(sys, &s, sink_actor, "outside-sink"), 0);
    enum { P = 4 };
    pthread_t th[P];
    struct outside o[P];
    uint64_t n = 1000000 / CASTY_TEST_SCALE / P;
    for (uint32_t p = 0; p < P; p++) {
        o[p] = (struct outside){s, p, n};
        assert_int_equal(pthread_create(&th[p], NULL, outside_producer, &o[p]), 0);
    }
    for (uint32_t p = 0; p < P; p++)
        pthread_join(th[p], NULL);
    /* Every producer's messages are in the injection queue before this ask. */
    SinkReport r = report(s);
    assert_int_equal(r.total, n * P);
    assert_int_equal(r.violations, 0);
    ct_stop(sys);
}

static void test_payloads_inline_and_heap(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    SinkMsg_ref s;
    assert_int_equal(casty_spawn(sys, &s, sink_actor, "blob-sink"), 0);
    static Blob b;
    for (uint32_t len = 0; len < sizeof(b.bytes); len += 97) {
        b.len = len;
        b.sum = 0;
        for (uint32_t i = 0; i < len; i++) {
            b.bytes[i] = (unsigned char)(i * 7 + len);
            b.sum = b.sum * 31 + b.bytes[i];
        }
        assert_int_equal(casty_tell_raw(s.raw, CASTY_ID(Blob), &b, sizeof(b), NULL), 0);
        memset(&b, 0xAB, sizeof(b)); /* the sender may reuse its buffer at once */
    }
    SinkReport r = report(s);
    assert_int_equal(r.blobs_bad, 0);
    assert_int_equal(r.blobs_ok, (sizeof(b.bytes) + 96) / 97);
    ct_stop(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_same_shard),
        cmocka_unit_test(test_fifo_across_shards),
        cmocka_unit_test(test_fifo_mixed_producers_on_both_shards),
        cmocka_unit_test(test_fifo_from_outside_threads),
        cmocka_unit_test(test_payloads_inline_and_heap),
    };
    return cmocka_run_group_tests_name("integration/fifo", tests, NULL, NULL);
}
