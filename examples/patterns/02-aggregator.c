/*
 * Scatter-gather with a deadline: an aggregator asks four suppliers for a
 * price at once and answers with what it has when the deadline passes.
 *
 * Each supplier is asked with casty_ask_async_timeout(..., 150 ms): its offer
 * arrives as an OfferReply message, and a supplier that has not answered in
 * time produces an OfferReply with status -ETIMEDOUT instead. So exactly one
 * OfferReply comes back per supplier, and the aggregator answers as soon as
 * it has all four: at once when everybody is quick, at the deadline when
 * some are late (a partial result). An offer that arrives after its ask
 * timed out is a dead letter (reason "late reply"), counted by the system.
 *
 * A slow supplier never blocks its shard: it schedules its own answer.
 *
 * Expected output:
 *   round 1 (everyone on time): 4 of 4 offers, best: supplier-4 at 90
 *   round 2 (suppliers 3 and 4 take 400 ms): 2 of 4 offers within 150 ms, best: supplier-2 at 95, missing: supplier-3 supplier-4
 *   late offers, counted as dead letters: 2
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define SUPPLIERS   4
#define DEADLINE_MS 150
#define SLOW_MS     400

typedef struct {
    int supplier; /* 1..SUPPLIERS */
    int price;
} Offer;

/* --- a supplier --- */

CASTY_MESSAGE(Quote, int item);
CASTY_MESSAGE(SetLatency, int ms);
CASTY_MESSAGE(Answer, casty_ref asker; Offer offer); /* scheduled by a slow supplier to itself */
CASTY_PROTOCOL(SupplierMsg, Quote, SetLatency, Answer);

typedef struct {
    int id;
    int price;
} SupplierArg;

typedef struct {
    SupplierArg cfg;
    int latency_ms;
} Supplier;

static int supplier_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(SupplierArg))
        return -EINVAL;
    memcpy(&((Supplier *)state)->cfg, arg, len);
    return 0;
}

static int supplier(casty_ctx *ctx, Supplier *self, const casty_msg *msg)
{
    switch ((enum SupplierMsg_type)casty_type(msg)) {
    case CASTY_ID(Quote): {
        Offer offer = {.supplier = self->cfg.id, .price = self->cfg.price};
        if (self->latency_ms == 0)
            return casty_reply(ctx, Offer, offer);
        /* Slow: answer later, to the asker's ref carried by the scheduled message. */
        SupplierMsg_ref me = {.raw = casty_self(ctx)};
        return casty_schedule_once(casty_ctx_system(ctx), NULL, me, (uint32_t)self->latency_ms,
                                   Answer, .asker = casty_sender(ctx), .offer = offer);
    }
    case CASTY_ID(SetLatency):
        self->latency_ms = CASTY_AS(msg, SetLatency)->ms;
        return casty_reply(ctx, int, self->latency_ms);
    case CASTY_ID(Answer): {
        const Answer *a = CASTY_AS(msg, Answer);
        /* If the ask timed out meanwhile, this becomes a "late reply" dead letter. */
        return casty_tell_raw(a->asker, CASTY_TYPE_REPLY, &a->offer, sizeof(a->offer), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(supplier_actor, SupplierMsg, Supplier, supplier, .init = supplier_init);

/* --- the aggregator --- */

CASTY_MESSAGE(GetQuotes, int item);
CASTY_MESSAGE(OfferReply, Offer offer); /* the reply type of the aggregator's asks */
CASTY_PROTOCOL(AggregatorMsg, GetQuotes, OfferReply);

/* What main receives: which suppliers answered in time, and the best offer. */
typedef struct {
    int offers;
    bool answered[SUPPLIERS + 1];
    Offer best;
} Summary;

typedef struct {
    SupplierMsg_ref suppliers[SUPPLIERS];
    int pending; /* OfferReplies still to come in this round */
    Summary summary;
    casty_ref asker;
} Aggregator;

static int aggregator_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(((Aggregator *)state)->suppliers))
        return -EINVAL;
    memcpy(((Aggregator *)state)->suppliers, arg, len);
    return 0;
}

static int aggregator(casty_ctx *ctx, Aggregator *self, const casty_msg *msg)
{
    switch ((enum AggregatorMsg_type)casty_type(msg)) {
    case CASTY_ID(GetQuotes): {
        if (self->pending > 0)
            return casty_reply_error(ctx, -EBUSY); /* one round at a time */
        memset(&self->summary, 0, sizeof(self->summary));
        self->asker = casty_sender(ctx);
        /* Scatter: the ask timeout is the deadline of the whole round. */
        for (int i = 0; i < SUPPLIERS; i++) {
            int rc = casty_ask_async_timeout(ctx, self->suppliers[i], OfferReply, DEADLINE_MS,
                                             Quote, .item = CASTY_AS(msg, GetQuotes)->item);
            if (rc < 0)
                return rc;
            self->pending++;
        }
        return 0;
    }
    case CASTY_ID(OfferReply): {
        /* Gather: an offer, or -ETIMEDOUT for a supplier that missed the deadline. */
        if (casty_msg_status(msg) == 0 && msg->len == sizeof(Offer)) {
            Offer o = CASTY_AS(msg, OfferReply)->offer;
            Summary *s = &self->summary;
            s->answered[o.supplier] = true;
            if (s->offers++ == 0 || o.price < s->best.price)
                s->best = o;
        }
        if (--self->pending > 0)
            return 0;
        return casty_tell_raw(self->asker, CASTY_TYPE_REPLY, &self->summary, sizeof(self->summary),
                              NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(aggregator_actor, AggregatorMsg, Aggregator, aggregator, .init = aggregator_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static void print_summary(const Summary *s)
{
    printf("best: supplier-%d at %d", s->best.supplier, s->best.price);
    if (s->offers < SUPPLIERS) {
        printf(", missing:");
        for (int i = 1; i <= SUPPLIERS; i++)
            if (!s->answered[i])
                printf(" supplier-%d", i);
    }
    printf("\n");
}

static uint64_t late_replies(casty_system *sys)
{
    casty_stats st;
    check(casty_system_stats(sys, &st), "stats");
    return st.dead_by_reason[CASTY_DEAD_LATE_REPLY];
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");
    uint32_t shards = casty_system_shards(sys);

    static const int prices[SUPPLIERS] = {120, 95, 110, 90};
    SupplierMsg_ref suppliers[SUPPLIERS];
    for (int i = 0; i < SUPPLIERS; i++) {
        SupplierArg a = {.id = i + 1, .price = prices[i]};
        check(casty_spawn(sys, &suppliers[i], supplier_actor, NULL, .arg = &a, .arg_len = sizeof(a),
                          .placement = CASTY_PLACE_SHARD, .shard = (uint32_t)i % shards),
              "spawn supplier");
    }
    AggregatorMsg_ref agg;
    check(casty_spawn(sys, &agg, aggregator_actor, "aggregator", .arg = suppliers,
                      .arg_len = sizeof(suppliers)),
          "spawn aggregator");

    Summary s;
    check(casty_ask_timeout(agg, &s, 5000, GetQuotes, .item = 7), "round 1");
    printf("round 1 (everyone on time): %d of %d offers, ", s.offers, SUPPLIERS);
    print_summary(&s);

    int ms;
    check(casty_ask_timeout(suppliers[2], &ms, 1000, SetLatency, .ms = SLOW_MS), "slow down");
    check(casty_ask_timeout(suppliers[3], &ms, 1000, SetLatency, .ms = SLOW_MS), "slow down");
    check(casty_ask_timeout(agg, &s, 5000, GetQuotes, .item = 7), "round 2");
    printf("round 2 (suppliers 3 and 4 take %d ms): %d of %d offers within %d ms, ", SLOW_MS,
           s.offers, SUPPLIERS, DEADLINE_MS);
    print_summary(&s);

    /* The two slow offers still arrive, at 400 ms: wait for them (with a deadline). */
    for (int i = 0; i < 500 && late_replies(sys) < 2; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    printf("late offers, counted as dead letters: %llu\n", (unsigned long long)late_replies(sys));

    check(casty_system_stop(sys), "stop");
    return 0;
}
