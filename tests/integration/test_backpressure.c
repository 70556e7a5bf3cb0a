/*
 * Cross-shard backpressure through the public API: with tiny rings between
 * shards, a producer that sends far more per message than a ring holds is
 * parked (casty_stats.parks) instead of growing its overflow queue, and
 * resumes when the consumer drains the ring: nothing is lost, FIFO holds, and
 * the producer's shard keeps serving other actors meanwhile.
 */
#include <string.h>

#include "support/casty_test.h"

CASTY_MESSAGE(Item, uint64_t seq);
CASTY_MESSAGE(Count);
CASTY_PROTOCOL(SinkMsg, Item, Count);

typedef struct {
    uint64_t next, bad;
} Sink;

typedef struct {
    uint64_t received, out_of_order;
} SinkCount;

static int sink(casty_ctx *ctx, Sink *self, const casty_msg *msg)
{
    switch ((enum SinkMsg_type)casty_type(msg)) {
    case CASTY_ID(Item):
        if (CASTY_AS(msg, Item)->seq != self->next)
            self->bad++;
        self->next = CASTY_AS(msg, Item)->seq + 1;
        return 0;
    case CASTY_ID(Count):
        return casty_reply(ctx, SinkCount, ((SinkCount){self->next, self->bad}));
    }
    return 0;
}
CASTY_ACTOR(sink_actor, SinkMsg, Sink, sink);

/* Each Burst sends `per` items at once: many times what the ring between the shards holds. */
CASTY_MESSAGE(Burst, SinkMsg_ref to; uint32_t per; uint32_t bursts);
CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(ProdMsg, Burst, Ping);

typedef struct {
    uint64_t seq;
    uint32_t left;
} Prod;

static int producer(casty_ctx *ctx, Prod *self, const casty_msg *msg)
{
    switch ((enum ProdMsg_type)casty_type(msg)) {
    case CASTY_ID(Burst): {
        const Burst *b = CASTY_AS(msg, Burst);
        if (!self->left)
            self->left = b->bursts;
        for (uint32_t i = 0; i < b->per; i++) {
            int rc = casty_tell(b->to, Item, .seq = self->seq);
            if (rc < 0)
                return rc;
            self->seq++;
        }
        if (--self->left == 0)
            return 0;
        ProdMsg_ref me = {.raw = casty_self(ctx)};
        return casty_tell(me, Burst, .to = b->to, .per = b->per, .bursts = b->bursts);
    }
    case CASTY_ID(Ping):
        return casty_reply(ctx, int, 1);
    }
    return 0;
}
CASTY_ACTOR(producer_actor, ProdMsg, Prod, producer);

static void test_full_ring_parks_the_producer_and_loses_nothing(void **state)
{
    (void)state;
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 2;
    cfg.ring_slots = 8; /* a burst of 512 overflows it 64 times over */
    casty_system *sys = NULL;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS)
        exit(77);
    assert_int_equal(rc, 0);
    SinkMsg_ref s;
    ProdMsg_ref p, neighbour;
    assert_int_equal(casty_spawn(sys, &s, sink_actor, "sink", .placement = CASTY_PLACE_SHARD,
                                 .shard = 1, .mailbox = {.capacity = 1u << 20}),
                     0);
    assert_int_equal(casty_spawn(sys, &p, producer_actor, "producer",
                                 .placement = CASTY_PLACE_SHARD, .shard = 0),
                     0);
    assert_int_equal(casty_spawn(sys, &neighbour, producer_actor, "neighbour",
                                 .placement = CASTY_PLACE_SHARD, .shard = 0),
                     0);
    const uint32_t per = 512, bursts = 400 / CASTY_TEST_SCALE;
    assert_int_equal(casty_tell(p, Burst, .to = s, .per = per, .bursts = bursts), 0);
    /* The producer's shard still answers its other actors while the producer waits. */
    int one = 0;
    assert_int_equal(casty_ask_timeout(neighbour, &one, 10000, Ping), 0);
    assert_int_equal(one, 1);
    uint64_t want = (uint64_t)per * bursts;
    SinkCount c = {0};
    for (uint64_t deadline = ct_now_ns() + 60000000000ull; ct_now_ns() < deadline;) {
        assert_int_equal(casty_ask_timeout(s, &c, 10000, Count), 0);
        if (c.received >= want)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(c.received, want);
    assert_int_equal(c.out_of_order, 0);
    casty_stats st = ct_stats(sys);
    assert_true(st.ring_full > 0);
    assert_true(st.parks > 0);
    assert_int_equal(st.dead_letters, 0);
    ct_stop(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_ring_parks_the_producer_and_loses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
