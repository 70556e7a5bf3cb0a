/*
 * W3 fan-in throughput (WORKLOADS.md): receiver R on shard 0 counts; sender
 * S0 on shard 0 and S1 on shard 1 each send N integers to R without waiting
 * for replies. Timed from just before the senders start to R's 2N-th message.
 *
 * Memory stays bounded two ways, both through the public API:
 *  - a credit window (--window W, default 32768; 0 turns it off): every
 *    ACK_DIVISOR-th message of a window asks R for an Ack, and a sender never
 *    has more than W messages un-acked. This is ordinary user-level
 *    backpressure, and the CAF and Erlang versions use the same protocol.
 *  - a full mailbox: casty_tell() may return -EAGAIN; the sender then backs
 *    off by sending itself Continue and retries on its next turn.
 * A sender also yields after BATCH messages by sending itself Continue; the
 * runtime ends an actor's turn after its budget of messages (64 by default),
 * and then R, on S0's shard, gets its turn.
 *
 *   usage: w3_fanin [--n N] [--window W]
 * Prints: W3 casty rate=... ns_per_msg=... maxrss_kb=... backoffs=... n=... msgs=... window=...
 *         placement=R:0,S0:0,S1:1 shards=2
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

#define BATCH       1024 /* messages sent per Continue handled */
#define ACK_DIVISOR 4    /* acks per window: a sender refills while the rest are in flight */

CASTY_MESSAGE(Num, int64_t x);
CASTY_MESSAGE(NumAck, int64_t x); /* a Num that also asks for an Ack */
CASTY_MESSAGE(SenderDone, int64_t backoffs);
CASTY_PROTOCOL(RecvMsg, Num, NumAck, SenderDone);

CASTY_MESSAGE(Go);
CASTY_MESSAGE(Continue);
CASTY_MESSAGE(Ack);
CASTY_PROTOCOL(SendMsg, Go, Continue, Ack);

typedef struct {
    LatchMsg_ref latch;
    int64_t total;   /* messages expected from both senders */
    int64_t senders; /* SenderDone messages expected */
} RecvArgs;

typedef struct {
    RecvArgs args;
    int64_t count, done, backoffs;
    uint64_t end_ns;
} Receiver;

static int recv_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(RecvArgs))
        return -EINVAL;
    memcpy(&((Receiver *)state)->args, arg, len);
    return 0;
}

static int receiver(casty_ctx *ctx, Receiver *self, const casty_msg *msg)
{
    switch ((enum RecvMsg_type)casty_type(msg)) {
    case CASTY_ID(Num):
        break;
    case CASTY_ID(NumAck): {
        SendMsg_ref from = {.raw = casty_sender(ctx)};
        /* The sender holds at most ACK_DIVISOR + 1 messages: its mailbox cannot be full. */
        perf_ok(casty_tell(from, Ack), "tell Ack");
        break;
    }
    case CASTY_ID(SenderDone):
        /*
         * Messages from one sender arrive in order, so once both senders are
         * done every message they had sent successfully has arrived: a
         * shortfall means the runtime lost messages it had accepted.
         */
        self->done++;
        self->backoffs += CASTY_AS(msg, SenderDone)->backoffs;
        if (self->done == self->args.senders)
            perf_ok(casty_tell(self->args.latch, LatchDone, .value = (int64_t)self->end_ns,
                               .aux = self->backoffs, .lost = self->args.total - self->count),
                    "tell latch");
        return 0;
    }
    if (++self->count == self->args.total)
        self->end_ns = perf_now_ns();
    return 0;
}
CASTY_ACTOR(receiver_actor, RecvMsg, Receiver, receiver, .init = recv_init);

typedef struct {
    RecvMsg_ref to;
    int64_t n, window;
} SendArgs;

typedef struct {
    SendArgs args;
    int64_t sent, acked, backoffs;
    bool continue_pending; /* a Continue is queued: only it may pump, so Continues never pile up */
    bool finished;         /* SenderDone sent */
} Sender;

static int send_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(SendArgs))
        return -EINVAL;
    memcpy(&((Sender *)state)->args, arg, len);
    return 0;
}

static void yield(casty_ctx *ctx, Sender *self)
{
    SendMsg_ref me = {.raw = casty_self(ctx)};
    self->continue_pending = true;
    perf_ok(casty_tell(me, Continue), "tell Continue");
}

/* Send up to BATCH messages, then yield; stop early when the window is used up or R is full. */
static void pump(casty_ctx *ctx, Sender *self)
{
    const SendArgs *a = &self->args;
    int64_t ack_every = a->window / ACK_DIVISOR;
    int rc = 0;
    for (int k = 0; k < BATCH && self->sent < a->n; k++) {
        if (a->window && self->sent - self->acked >= a->window)
            return; /* the next Ack pumps again */
        int64_t x = self->sent;
        bool want_ack = a->window && (x + 1) % ack_every == 0;
        rc = want_ack ? casty_tell(a->to, NumAck, .x = x) : casty_tell(a->to, Num, .x = x);
        if (rc == -EAGAIN)
            break; /* R's mailbox is full: retry after a Continue round trip */
        perf_ok(rc, "tell Num");
        self->sent++;
    }
    if (self->sent == a->n && rc != -EAGAIN) {
        /* SenderDone is an ordinary message too: R's mailbox may refuse it. */
        rc = casty_tell(a->to, SenderDone, .backoffs = self->backoffs);
        if (rc != -EAGAIN) {
            perf_ok(rc, "tell SenderDone");
            self->finished = true;
            return;
        }
    }
    if (rc == -EAGAIN)
        self->backoffs++;
    yield(ctx, self);
}

static int sender(casty_ctx *ctx, Sender *self, const casty_msg *msg)
{
    switch ((enum SendMsg_type)casty_type(msg)) {
    case CASTY_ID(Go):
        break;
    case CASTY_ID(Continue):
        self->continue_pending = false;
        break;
    case CASTY_ID(Ack):
        self->acked += self->args.window / ACK_DIVISOR;
        if (self->continue_pending)
            return 0;
        break;
    }
    if (!self->finished)
        pump(ctx, self);
    return 0;
}
CASTY_ACTOR(sender_actor, SendMsg, Sender, sender, .init = send_init);

/* One run with fresh actors; returns the elapsed ns and the senders' total back-offs. */
static uint64_t run(casty_system *sys, LatchMsg_ref latch, int64_t n, int64_t window,
                    int64_t *backoffs)
{
    RecvArgs ra = {.latch = latch, .total = 2 * n, .senders = 2};
    RecvMsg_ref r;
    perf_ok(casty_spawn(sys, &r, receiver_actor, NULL, .placement = CASTY_PLACE_SHARD, .shard = 0,
                        .arg = &ra, .arg_len = sizeof(ra)),
            "spawn R");
    SendArgs sa = {.to = r, .n = n, .window = window};
    SendMsg_ref s[2];
    for (uint32_t i = 0; i < 2; i++)
        perf_ok(casty_spawn(sys, &s[i], sender_actor, NULL, .placement = CASTY_PLACE_SHARD,
                            .shard = i, .arg = &sa, .arg_len = sizeof(sa)),
                "spawn S");
    uint64_t t0 = perf_now_ns();
    for (int i = 0; i < 2; i++)
        perf_ok(casty_tell(s[i], Go), "tell Go");
    uint64_t end = (uint64_t)perf_latch_wait(sys, latch, backoffs);
    for (int i = 0; i < 2; i++)
        perf_ok(casty_stop(s[i]), "stop S");
    perf_ok(casty_stop(r), "stop R");
    return end - t0;
}

int main(int argc, char **argv)
{
    int64_t n = 10000000, window = 32768;
    for (int i = 1; i < argc; i++) {
        if (!perf_opt_i64(argc, argv, &i, "--n", &n) &&
            !perf_opt_i64(argc, argv, &i, "--window", &window))
            perf_usage(argv[0], "[--n N] [--window W (0 = rely on the mailbox bound)]");
    }
    if (n < 1 || (window && window < ACK_DIVISOR))
        perf_usage(argv[0], "[--n N >= 1] [--window 0 or >= 4]");
    window -= window % ACK_DIVISOR; /* whole acks only */

    casty_system *sys = perf_system_start(2, false, 0);
    LatchMsg_ref latch = perf_latch_spawn(sys, 0);
    int64_t backoffs = 0;
    run(sys, latch, n < 100000 ? n : 100000, window, &backoffs); /* warm-up */
    uint64_t t = run(sys, latch, n, window, &backoffs);
    printf("W3 casty rate=%.0f ns_per_msg=%.2f maxrss_kb=%ld backoffs=%" PRId64 " n=%" PRId64
           " msgs=%" PRId64 " window=%" PRId64 " placement=R:0,S0:0,S1:1 shards=2\n",
           (double)(2 * n) / ((double)t / 1e9), (double)t / (double)(2 * n), perf_maxrss_kb(),
           backoffs, n, 2 * n, window);
    perf_system_stop(sys);
    return 0;
}
