/*
 * Bounded mailboxes through the public API: the system default bound and the
 * per-actor override, each overflow policy (fail with -EAGAIN, drop-new,
 * drop-oldest), dead letters for dropped messages, senders on other threads
 * that only see the published fill level, and system messages (stop,
 * Terminated) plus replies to the actor's own asks that get through a full
 * mailbox.
 *
 * Filling a mailbox deterministically: a "flooder" actor on the SAME shard
 * as the target sends every message in one behaviour call. The target cannot
 * run meanwhile, and a sender on the target's shard learns the fill level
 * exactly, so the outcome of each send is known in advance.
 *
 * Observation: each actor owns one slot of `recs` and is its only writer; it
 * publishes with release stores that the test thread reads with acquire.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/casty_test.h"

#define REC_MAX 4096
#define NSLOTS  8

CASTY_MESSAGE(Item, int seq);
CASTY_MESSAGE(Block, uint32_t max_ms; int top_up);
CASTY_MESSAGE(Flood, casty_ref target; int count; int first_seq; bool block_first; int block_top_up;
              bool stop_target; bool stop_self);
CASTY_MESSAGE(WatchIt, casty_ref target);
CASTY_MESSAGE(Echo);
CASTY_MESSAGE(EchoReply);
CASTY_MESSAGE(SelfFillAsk, casty_ref echo; int fill);
CASTY_MESSAGE(AskFull, casty_ref target; int fill);
CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(MbMsg, Item, Block, Flood, WatchIt, Echo, EchoReply, SelfFillAsk, AskFull, Ping);

/* The outcome of one flood (or self-fill): counted, since a flood may be 65536 sends long. */
typedef struct {
    int ok;             /* sends that returned 0 */
    int eagain;         /* sends that returned -EAGAIN */
    int other;          /* sends that returned anything else */
    int other_rc;       /* the last such code */
    int first_fail;     /* index of the first failed send, or -1 */
    bool ok_after_fail; /* a send succeeded after one had failed */
} flood_result;

typedef struct {
    /* As a receiver. */
    _Atomic uint32_t n; /* Items received; seq[] below min(n, REC_MAX) is filled */
    int seq[REC_MAX];
    _Atomic bool out_of_order;
    int last_seq;
    _Atomic bool blocking; /* inside Block */
    _Atomic bool release;  /* set by the test: Block returns */
    _Atomic bool stopped;  /* stop hook ran */
    _Atomic uint32_t n_at_stop;
    _Atomic uint32_t terminated; /* Terminated messages received */
    casty_terminated term;
    /* As a flooder or asker. */
    flood_result flood;
    int block_rc;
    int stop_rc;
    _Atomic bool flood_done; /* publishes flood, block_rc, stop_rc */
    _Atomic int ask_rc;
    _Atomic bool ask_done;    /* publishes ask_rc */
    _Atomic bool reply_seen;  /* an EchoReply arrived */
    _Atomic int reply_status; /* its status */
    _Atomic int reply_value;
} rec;

static rec recs[NSLOTS];

typedef struct {
    int slot;
    uint32_t item_sleep_ms; /* a slow consumer: block this long on each Item */
} MbArg;

typedef struct {
    MbArg arg;
} Mb;

static uint32_t rec_count(int slot)
{
    /* Acquire pairs with the receiver's release: seq[] below the count is filled. */
    return atomic_load_explicit(&recs[slot].n, memory_order_acquire);
}

static void on_item(rec *r, const Item *it, uint32_t sleep_for_ms)
{
    uint32_t n = atomic_load_explicit(&r->n, memory_order_relaxed); /* sole writer */
    if (n > 0 && it->seq <= r->last_seq)
        atomic_store_explicit(&r->out_of_order, true, memory_order_relaxed);
    r->last_seq = it->seq;
    if (n < REC_MAX)
        r->seq[n] = it->seq;
    atomic_store_explicit(&r->n, n + 1, memory_order_release);
    if (sleep_for_ms)
        ct_sleep_ms(sleep_for_ms);
}

static void count_send(flood_result *f, int index, int rc);

/*
 * Hold the shard until the test releases it. With top_up > 0, first tell
 * ourselves top_up Items (seq 1000, 1001, ...), recorded in our own `flood`:
 * popping this message left one free place, and this takes it back, so the
 * mailbox is full for as long as we block.
 */
static void on_block(casty_ctx *ctx, rec *r, const Block *b)
{
    if (b->top_up > 0) {
        r->flood = (flood_result){.first_fail = -1};
        MbMsg_ref me = {.raw = casty_self(ctx)};
        for (int i = 0; i < b->top_up; i++)
            count_send(&r->flood, i, casty_tell(me, Item, .seq = 1000 + i));
    }
    /* Release: the test reads `flood` (and sees the mailbox's state) after `blocking`. */
    atomic_store_explicit(&r->blocking, true, memory_order_release);
    uint64_t deadline = ct_now_ns() + (uint64_t)b->max_ms * 1000000u;
    /* Bounded: a test that forgets to release does not hang the shard forever. */
    while (!atomic_load_explicit(&r->release, memory_order_acquire) && ct_now_ns() < deadline)
        ct_sleep_ms(1);
}

static void count_send(flood_result *f, int index, int rc)
{
    if (rc == 0) {
        f->ok++;
        if (f->first_fail >= 0)
            f->ok_after_fail = true;
        return;
    }
    if (f->first_fail < 0)
        f->first_fail = index;
    if (rc == -EAGAIN) {
        f->eagain++;
    } else {
        f->other++;
        f->other_rc = rc;
    }
}

static void on_flood(casty_ctx *ctx, rec *r, const Flood *f)
{
    r->flood = (flood_result){.first_fail = -1};
    r->block_rc = 1;
    r->stop_rc = 1;
    if (f->block_first)
        r->block_rc = casty_tell_raw(f->target, CASTY_ID(Block),
                                     &(Block){.max_ms = 20000, .top_up = f->block_top_up},
                                     sizeof(Block), NULL);
    for (int i = 0; i < f->count; i++) {
        int rc = casty_tell_raw(f->target, CASTY_ID(Item), &(Item){f->first_seq + i}, sizeof(Item),
                                NULL);
        count_send(&r->flood, i, rc);
    }
    if (f->stop_target)
        r->stop_rc = casty_stop_raw(f->target);
    if (f->stop_self)
        casty_stop_self(ctx);
    atomic_store_explicit(&r->flood_done, true, memory_order_release);
}

/* Ask `echo` (the reply comes back as EchoReply), then fill our own mailbox past its bound. */
static int on_self_fill_ask(casty_ctx *ctx, rec *r, const SelfFillAsk *s)
{
    MbMsg_ref echo = {.raw = s->echo};
    atomic_store_explicit(&r->ask_rc, casty_ask_async(ctx, echo, EchoReply, Echo),
                          memory_order_relaxed);
    r->flood = (flood_result){.first_fail = -1};
    MbMsg_ref me = {.raw = casty_self(ctx)};
    for (int i = 0; i < s->fill; i++)
        count_send(&r->flood, i, casty_tell(me, Item, .seq = i));
    atomic_store_explicit(&r->flood_done, true, memory_order_release);
    atomic_store_explicit(&r->ask_done, true, memory_order_release);
    return 0;
}

/* Fill `target` up to its bound, then ask it: the ask must not get in. */
static int on_ask_full(casty_ctx *ctx, rec *r, const AskFull *a)
{
    r->flood = (flood_result){.first_fail = -1};
    for (int i = 0; i < a->fill; i++)
        count_send(&r->flood, i,
                   casty_tell_raw(a->target, CASTY_ID(Item), &(Item){i}, sizeof(Item), NULL));
    MbMsg_ref target = {.raw = a->target};
    atomic_store_explicit(&r->ask_rc, casty_ask_async(ctx, target, EchoReply, Echo),
                          memory_order_relaxed);
    atomic_store_explicit(&r->flood_done, true, memory_order_release);
    atomic_store_explicit(&r->ask_done, true, memory_order_release);
    return 0;
}

static int mb(casty_ctx *ctx, Mb *self, const casty_msg *msg)
{
    rec *r = &recs[self->arg.slot];
    const casty_terminated *term = casty_as_terminated(msg);
    if (term) {
        r->term = *term;
        atomic_fetch_add_explicit(&r->terminated, 1, memory_order_release);
        return 0;
    }
    switch ((enum MbMsg_type)casty_type(msg)) {
    case CASTY_ID(Item):
        on_item(r, CASTY_AS(msg, Item), self->arg.item_sleep_ms);
        return 0;
    case CASTY_ID(Block):
        on_block(ctx, r, CASTY_AS(msg, Block));
        return 0;
    case CASTY_ID(Flood):
        on_flood(ctx, r, CASTY_AS(msg, Flood));
        return 0;
    case CASTY_ID(WatchIt):
        return casty_reply(ctx, int, casty_watch(ctx, CASTY_AS(msg, WatchIt)->target));
    case CASTY_ID(Echo):
        return casty_reply(ctx, int, 7);
    case CASTY_ID(EchoReply): {
        int v = 0;
        if (msg->status == 0 && msg->len == sizeof(int))
            memcpy(&v, msg->data, sizeof(v));
        atomic_store_explicit(&r->reply_value, v, memory_order_relaxed);
        atomic_store_explicit(&r->reply_status, casty_msg_status(msg), memory_order_relaxed);
        atomic_store_explicit(&r->reply_seen, true, memory_order_release);
        return 0;
    }
    case CASTY_ID(SelfFillAsk):
        return on_self_fill_ask(ctx, r, CASTY_AS(msg, SelfFillAsk));
    case CASTY_ID(AskFull):
        return on_ask_full(ctx, r, CASTY_AS(msg, AskFull));
    case CASTY_ID(Ping):
        return casty_reply(ctx, int, 1);
    }
    return 0;
}

static int mb_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Mb *self = state;
    if (len != sizeof(MbArg))
        return -EINVAL;
    memcpy(&self->arg, arg, sizeof(MbArg));
    return 0;
}

static void mb_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    Mb *self = state;
    rec *r = &recs[self->arg.slot];
    atomic_store_explicit(&r->n_at_stop, atomic_load_explicit(&r->n, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&r->stopped, true, memory_order_release);
}

CASTY_ACTOR(mb_actor, MbMsg, Mb, mb, .init = mb_init, .stop = mb_stop);

/* Spawn an actor on `shard` with a mailbox bound (zero: the default) and wait until it runs. */
static MbMsg_ref spawn_mb(casty_system *sys, int slot, uint32_t shard, casty_mailbox bound,
                          uint32_t item_sleep_ms)
{
    MbArg arg = {.slot = slot, .item_sleep_ms = item_sleep_ms};
    MbMsg_ref ref;
    assert_int_equal(casty_spawn(sys, &ref, mb_actor, NULL, .placement = CASTY_PLACE_SHARD,
                                 .shard = shard, .arg = &arg, .arg_len = sizeof(arg),
                                 .mailbox = bound),
                     0);
    int one = 0;
    assert_int_equal(casty_ask_timeout(ref, &one, 10000, Ping), 0);
    assert_int_equal(one, 1);
    return ref;
}

struct count_wait {
    int slot;
    uint32_t n;
};

static int count_reached(void *arg)
{
    struct count_wait *w = arg;
    return rec_count(w->slot) >= w->n;
}

static void wait_count(int slot, uint32_t n)
{
    struct count_wait w = {slot, n};
    assert_true(ct_wait_until(count_reached, &w, 10000));
}

struct dead_wait {
    casty_system *sys;
    uint64_t n;
};

static int dead_full_reached(void *arg)
{
    struct dead_wait *w = arg;
    return ct_stats(w->sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL] >= w->n;
}

/* Flood `target` from `flooder` (both on one shard) and wait for the flood to finish. */
static const flood_result *flood(MbMsg_ref flooder, int flooder_slot, MbMsg_ref target, int count,
                                 int first_seq)
{
    atomic_store(&recs[flooder_slot].flood_done, false);
    assert_int_equal(
        casty_tell(flooder, Flood, .target = target.raw, .count = count, .first_seq = first_seq),
        0);
    assert_true(ct_wait_flag(&recs[flooder_slot].flood_done, 10000));
    return &recs[flooder_slot].flood;
}

/* The receiver of `slot` got exactly seqs first..first+n-1, in order, and nothing more. */
static void expect_received(int slot, int first, uint32_t n)
{
    wait_count(slot, n);
    ct_sleep_ms(50); /* nothing else may trickle in */
    assert_int_equal(rec_count(slot), n);
    for (uint32_t i = 0; i < n && i < REC_MAX; i++)
        assert_int_equal(recs[slot].seq[i], first + (int)i);
    assert_false(atomic_load(&recs[slot].out_of_order));
}

/*
 * The running test's system. A failed assertion leaves the test early; the
 * teardown then releases any blocked actor and stops the system, so that a
 * failure cannot leak actors into the next test's observations.
 */
static casty_system *live_sys;

static casty_system *start_sys(const casty_config *cfg)
{
    casty_system *sys = NULL;
    if (!cfg) {
        sys = ct_start(2);
    } else {
        int rc = casty_system_start(&sys, cfg);
        if (rc == -ENOSYS) {
            fprintf(stderr, "io_uring unavailable: skipping\n");
            exit(77);
        }
        assert_int_equal(rc, 0);
    }
    live_sys = sys;
    return sys;
}

static void stop_sys(casty_system *sys)
{
    live_sys = NULL;
    ct_stop(sys);
}

static int teardown_each(void **state)
{
    (void)state;
    for (int i = 0; i < NSLOTS; i++)
        atomic_store(&recs[i].release, true);

    if (live_sys) {
        int rc = casty_system_stop(live_sys);
        live_sys = NULL;
        return rc;
    }
    return 0;
}

static int setup_each(void **state)
{
    (void)state;
    memset(recs, 0, sizeof(recs));
    return 0;
}

/* CASTY_MAILBOX_FAIL, sender on the target's shard: the first `cap` sends pass, the rest fail. */
static void test_mailbox_fail_policy_is_exact_on_the_same_shard(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 1, (casty_mailbox){8, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 1, (casty_mailbox){0}, 0);
    const flood_result *f = flood(flooder, 1, target, 20, 0);
    assert_int_equal(f->ok, 8);
    assert_int_equal(f->eagain, 12);
    assert_int_equal(f->other, 0);
    assert_int_equal(f->first_fail, 8);
    assert_false(f->ok_after_fail);
    expect_received(0, 0, 8);
    /* Drained: it takes messages again. */
    f = flood(flooder, 1, target, 8, 100);
    assert_int_equal(f->ok, 8);
    wait_count(0, 16);
    assert_int_equal(recs[0].seq[8], 100);
    stop_sys(sys);
}

/* CASTY_MAILBOX_DROP_NEW keeps the oldest `cap`; every drop is a MAILBOX_FULL dead letter. */
static void test_mailbox_drop_new_keeps_oldest(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 0, (casty_mailbox){8, CASTY_MAILBOX_DROP_NEW}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 0, (casty_mailbox){0}, 0);
    uint64_t dead0 = ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL];
    const flood_result *f = flood(flooder, 1, target, 20, 0);
    assert_int_equal(f->ok, 20); /* a drop is not the sender's error */
    expect_received(0, 0, 8);
    struct dead_wait w = {sys, dead0 + 12};
    assert_true(ct_wait_until(dead_full_reached, &w, 10000));
    casty_stats st = ct_stats(sys);
    assert_int_equal(st.dead_by_reason[CASTY_DEAD_MAILBOX_FULL] - dead0, 12);
    assert_int_equal(st.dead_letters, st.dead_by_reason[CASTY_DEAD_MAILBOX_FULL]);
    stop_sys(sys);
}

/* CASTY_MAILBOX_DROP_OLDEST keeps the newest `cap`, still in FIFO order. */
static void test_mailbox_drop_oldest_keeps_newest(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 1, (casty_mailbox){8, CASTY_MAILBOX_DROP_OLDEST}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 1, (casty_mailbox){0}, 0);
    uint64_t dead0 = ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL];
    const flood_result *f = flood(flooder, 1, target, 20, 0);
    assert_int_equal(f->ok, 20);
    expect_received(0, 12, 8);
    struct dead_wait w = {sys, dead0 + 12};
    assert_true(ct_wait_until(dead_full_reached, &w, 10000));
    casty_stats st = ct_stats(sys);
    assert_int_equal(st.dead_by_reason[CASTY_DEAD_MAILBOX_FULL] - dead0, 12);
    assert_int_equal(st.dead_letters, st.dead_by_reason[CASTY_DEAD_MAILBOX_FULL]);
    stop_sys(sys);
}

/* Without an override an actor takes cfg.mailbox; an override at spawn replaces it. */
static void test_mailbox_config_default_and_spawn_override(void **state)
{
    (void)state;
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 2;
    cfg.mailbox = (casty_mailbox){.capacity = 4, .policy = CASTY_MAILBOX_DROP_OLDEST};
    casty_system *sys = start_sys(&cfg);
    casty_config eff;
    assert_int_equal(casty_system_config(sys, &eff), 0);
    assert_int_equal(eff.mailbox.capacity, 4);
    assert_int_equal(eff.mailbox.policy, CASTY_MAILBOX_DROP_OLDEST);

    MbMsg_ref flooder = spawn_mb(sys, 2, 0, (casty_mailbox){0}, 0);
    MbMsg_ref dflt = spawn_mb(sys, 0, 0, (casty_mailbox){0}, 0);
    const flood_result *f = flood(flooder, 2, dflt, 10, 0);
    assert_int_equal(f->ok, 10);
    expect_received(0, 6, 4);

    MbMsg_ref over = spawn_mb(sys, 1, 0, (casty_mailbox){6, CASTY_MAILBOX_DROP_NEW}, 0);
    f = flood(flooder, 2, over, 10, 0);
    assert_int_equal(f->ok, 10);
    expect_received(1, 0, 6);
    assert_int_equal(ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL], 6 + 4);
    stop_sys(sys);
}

/* The documented default bound: 65536 messages, CASTY_MAILBOX_FAIL. */
static void test_mailbox_default_bound_is_65536_fail(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    casty_config eff;
    assert_int_equal(casty_system_config(sys, &eff), 0);
    assert_int_equal(eff.mailbox.capacity, 65536);
    assert_int_equal(eff.mailbox.policy, CASTY_MAILBOX_FAIL);
    MbMsg_ref target = spawn_mb(sys, 0, 1, (casty_mailbox){0}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 1, (casty_mailbox){0}, 0);
    const flood_result *f = flood(flooder, 1, target, 65536 + 10, 0);
    assert_int_equal(f->ok, 65536);
    assert_int_equal(f->eagain, 10);
    assert_int_equal(f->first_fail, 65536);
    wait_count(0, 65536);
    ct_sleep_ms(50);
    assert_int_equal(rec_count(0), 65536);
    assert_false(atomic_load(&recs[0].out_of_order));
    stop_sys(sys);
}

/* Bounds outside the documented range are refused at spawn; the largest one is accepted. */
static void test_mailbox_bounds_are_validated(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbArg arg = {.slot = 0};
    MbMsg_ref ref;
    assert_int_equal(casty_spawn(sys, &ref, mb_actor, "too-big", .arg = &arg,
                                 .arg_len = sizeof(arg),
                                 .mailbox = {CASTY_MAILBOX_MAX + 1u, CASTY_MAILBOX_FAIL}),
                     -EINVAL);
    assert_int_equal(casty_spawn(sys, &ref, mb_actor, "bad-policy", .arg = &arg,
                                 .arg_len = sizeof(arg), .mailbox = {16, (casty_mailbox_policy)42}),
                     -EINVAL);
    /* The largest bound costs nothing up front: an idle actor stays small. */
    ref = spawn_mb(sys, 0, 0, (casty_mailbox){CASTY_MAILBOX_MAX, CASTY_MAILBOX_DROP_NEW}, 0);
    assert_int_equal(casty_tell(ref, Item, .seq = 1), 0);
    wait_count(0, 1);
    stop_sys(sys);
}

/*
 * CASTY_MAILBOX_FAIL, sender on an outside thread, once the full mailbox is
 * published: the target pops a Block (one place frees up), takes it back by
 * telling itself one Item (a second self-tell is refused: full, exactly), and
 * then holds its shard. Its fill level stays full meanwhile, and was
 * published before the `blocking` flag the test waits for, so every tell and
 * ask from outside is refused with -EAGAIN, not queued. Once released and
 * drained, the mailbox takes messages again.
 */
static void test_mailbox_fail_policy_outside_sender_refused_when_full_is_published(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 0, (casty_mailbox){4, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 0, (casty_mailbox){0}, 0);
    atomic_store(&recs[1].flood_done, false);
    assert_int_equal(casty_tell(flooder, Flood, .target = target.raw, .count = 3,
                                .block_first = true, .block_top_up = 2),
                     0);
    assert_true(ct_wait_flag(&recs[1].flood_done, 10000));
    assert_int_equal(recs[1].block_rc, 0);
    assert_int_equal(recs[1].flood.ok, 3);
    assert_true(ct_wait_flag(&recs[0].blocking, 10000));
    assert_int_equal(recs[0].flood.ok, 1);
    assert_int_equal(recs[0].flood.eagain, 1);

    for (int i = 0; i < 20; i++) {
        int rc = casty_tell(target, Item, .seq = 2000 + i);
        if (rc != -EAGAIN)
            fail_msg("tell %d from outside to a published-full mailbox returned %d (%s)", i, rc,
                     casty_err_name(rc));
    }
    int answer = 0;
    assert_int_equal(casty_ask_timeout(target, &answer, 5000, Echo), -EAGAIN);

    atomic_store_explicit(&recs[0].release, true, memory_order_release);
    uint64_t deadline = ct_now_ns() + 10000000000ull;
    int rc;
    while ((rc = casty_tell(target, Item, .seq = 3000)) == -EAGAIN && ct_now_ns() < deadline)
        ct_sleep_ms(1);
    assert_int_equal(rc, 0);
    wait_count(0, 5);
    ct_sleep_ms(50);
    assert_int_equal(rec_count(0), 5);
    static const int want[] = {0, 1, 2, 1000, 3000};
    for (int i = 0; i < 5; i++)
        assert_int_equal(recs[0].seq[i], want[i]);
    stop_sys(sys);
}

/*
 * CASTY_MAILBOX_FAIL, sender on an outside thread, against a slow target (5 ms
 * per message, bound 4) for half a second: the sender only sees the fill
 * level the target last published, so some sends are refused and some
 * accepted sends find the mailbox full on arrival. Every message is accounted
 * for: a send that returned 0 is delivered or becomes a MAILBOX_FULL dead
 * letter, and a send that returned -EAGAIN is never delivered.
 */
static void test_mailbox_fail_policy_outside_sends_are_all_accounted_for(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 1, (casty_mailbox){4, CASTY_MAILBOX_FAIL}, 5);
    enum { SENDS_MAX = REC_MAX };
    static bool accepted[SENDS_MAX];
    memset(accepted, 0, sizeof(accepted));
    uint64_t dead0 = ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL];
    uint64_t t0 = ct_now_ns();
    int sent = 0, ok = 0, eagain = 0;
    while (sent < SENDS_MAX && ct_now_ns() - t0 < 500000000ull) {
        int rc = casty_tell(target, Item, .seq = sent);
        if (rc != 0 && rc != -EAGAIN)
            fail_msg("tell returned %d (%s)", rc, casty_err_name(rc));
        accepted[sent++] = rc == 0;
        ok += rc == 0;
        eagain += rc == -EAGAIN;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }

    /* Let the target drain: then received + in-flight drops account for every accepted send. */
    uint64_t deadline = ct_now_ns() + 20000000000ull;
    uint64_t dead = 0;
    for (;;) {
        dead = ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL] - dead0;
        if (rec_count(0) + dead >= (uint64_t)ok || ct_now_ns() > deadline)
            break;
        ct_sleep_ms(5);
    }
    ct_sleep_ms(100);
    uint32_t got = rec_count(0);
    dead = ct_stats(sys).dead_by_reason[CASTY_DEAD_MAILBOX_FULL] - dead0;
    print_message("sent %d: %d accepted (%u delivered, %llu dropped in flight), %d refused\n", sent,
                  ok, got, (unsigned long long)dead, eagain);
    assert_true(got >= 4);
    assert_true(got <= (uint32_t)ok);
    /*
     * The header does not say whether a refused (-EAGAIN) send is also counted
     * as a dead letter: accept either accounting, but nothing may be lost.
     */
    if (got + dead != (uint64_t)ok && got + dead != (uint64_t)ok + (uint64_t)eagain)
        fail_msg("%d accepted, %d refused, but %u delivered + %llu dead letters", ok, eagain, got,
                 (unsigned long long)dead);
    assert_false(atomic_load(&recs[0].out_of_order));
    for (uint32_t i = 0; i < got; i++) {
        int s = recs[0].seq[i];
        assert_true(s >= 0 && s < sent);
        if (!accepted[s])
            fail_msg("seq %d was refused with -EAGAIN but delivered", s);
    }
    stop_sys(sys);
}

/*
 * A stop request is a system message: a full mailbox cannot refuse or drop
 * it, whatever the policy. The flooder fills the target past its bound of 4
 * with 6 messages, then asks it to stop; the target handles what its policy
 * kept (the messages queued before the request) and stops.
 */
static void test_mailbox_stop_gets_through_a_full_mailbox(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    static const struct {
        casty_mailbox_policy policy;
        int first_kept;
        int ok;
    } cases[] = {
        {CASTY_MAILBOX_FAIL, 0, 4},
        {CASTY_MAILBOX_DROP_NEW, 0, 6},
        {CASTY_MAILBOX_DROP_OLDEST, 2, 6},
    };
    for (int c = 0; c < 3; c++) {
        int slot = c, flooder_slot = 4 + c;
        MbMsg_ref target = spawn_mb(sys, slot, 0, (casty_mailbox){4, cases[c].policy}, 0);
        MbMsg_ref flooder = spawn_mb(sys, flooder_slot, 0, (casty_mailbox){0}, 0);
        assert_int_equal(
            casty_tell(flooder, Flood, .target = target.raw, .count = 6, .stop_target = true), 0);
        assert_true(ct_wait_flag(&recs[flooder_slot].flood_done, 10000));
        assert_int_equal(recs[flooder_slot].flood.ok, cases[c].ok);
        assert_int_equal(recs[flooder_slot].stop_rc, 0);
        assert_true(ct_wait_flag(&recs[slot].stopped, 10000));
        assert_int_equal(atomic_load(&recs[slot].n_at_stop), 4);
        expect_received(slot, cases[c].first_kept, 4);
    }
    stop_sys(sys);
}

/*
 * casty_stop() from an outside thread on a blocked actor with a full mailbox
 * returns at once, and the actor stops after the messages queued before it.
 */
static void test_mailbox_outside_stop_on_blocked_full_actor(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 0, (casty_mailbox){4, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref flooder = spawn_mb(sys, 1, 0, (casty_mailbox){0}, 0);
    atomic_store(&recs[1].flood_done, false);
    assert_int_equal(
        casty_tell(flooder, Flood, .target = target.raw, .count = 4, .block_first = true), 0);
    assert_true(ct_wait_flag(&recs[1].flood_done, 10000));
    /* Block plus 3 items fill the bound of 4; the 4th item is refused. */
    assert_int_equal(recs[1].block_rc, 0);
    assert_int_equal(recs[1].flood.ok, 3);
    assert_int_equal(recs[1].flood.eagain, 1);
    assert_true(ct_wait_flag(&recs[0].blocking, 10000));

    uint64_t t0 = ct_now_ns();
    assert_int_equal(casty_stop(target), 0);
    assert_true(ct_now_ns() - t0 < 1000000000ull);
    atomic_store_explicit(&recs[0].release, true, memory_order_release);
    assert_true(ct_wait_flag(&recs[0].stopped, 10000));
    assert_int_equal(atomic_load(&recs[0].n_at_stop), 3);
    expect_received(0, 0, 3);
    stop_sys(sys);
}

/*
 * A watcher whose mailbox is full still gets its Terminated, exactly once.
 * The watched actor (same shard) fills the watcher's mailbox and stops itself
 * in the same behaviour call, so the Terminated is sent while the watcher's
 * user queue is full.
 */
static void test_mailbox_terminated_reaches_a_full_watcher(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref watcher = spawn_mb(sys, 0, 1, (casty_mailbox){4, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref doomed = spawn_mb(sys, 1, 1, (casty_mailbox){0}, 0);
    int rc = 1;
    assert_int_equal(casty_ask_timeout(watcher, &rc, 10000, WatchIt, .target = doomed.raw), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(
        casty_tell(doomed, Flood, .target = watcher.raw, .count = 6, .stop_self = true), 0);
    assert_true(ct_wait_flag(&recs[1].flood_done, 10000));
    assert_int_equal(recs[1].flood.ok, 4);
    assert_int_equal(recs[1].flood.eagain, 2);
    assert_true(ct_wait_flag(&recs[1].stopped, 10000));
    uint64_t deadline = ct_now_ns() + 10000000000ull;
    while (atomic_load_explicit(&recs[0].terminated, memory_order_acquire) == 0 &&
           ct_now_ns() < deadline)
        ct_sleep_ms(1);
    assert_int_equal(atomic_load(&recs[0].terminated), 1);
    assert_true(casty_ref_eq(recs[0].term.actor, doomed.raw));
    assert_int_equal(recs[0].term.reason, CASTY_EXIT_STOPPED);
    expect_received(0, 0, 4);
    ct_sleep_ms(50);
    assert_int_equal(atomic_load(&recs[0].terminated), 1);
    stop_sys(sys);
}

/*
 * Replies to the actor's own asks are not bounded: the asker (bound 2) asks
 * an echo on its shard, then fills its own mailbox (the third self-tell is
 * refused); the echo runs next and its reply lands on the full mailbox.
 */
static void test_mailbox_reply_to_own_ask_passes_a_full_mailbox(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref asker = spawn_mb(sys, 0, 0, (casty_mailbox){2, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref echo = spawn_mb(sys, 1, 0, (casty_mailbox){0}, 0);
    assert_int_equal(casty_tell(asker, SelfFillAsk, .echo = echo.raw, .fill = 3), 0);
    assert_true(ct_wait_flag(&recs[0].ask_done, 10000));
    assert_int_equal(atomic_load(&recs[0].ask_rc), 0);
    assert_int_equal(recs[0].flood.ok, 2);
    assert_int_equal(recs[0].flood.eagain, 1);
    assert_true(ct_wait_flag(&recs[0].reply_seen, 10000));
    assert_int_equal(atomic_load(&recs[0].reply_status), 0);
    assert_int_equal(atomic_load(&recs[0].reply_value), 7);
    expect_received(0, 0, 2);
    stop_sys(sys);
}

static int ask_settled(void *arg)
{
    rec *r = arg;
    if (!atomic_load_explicit(&r->ask_done, memory_order_acquire))
        return 0;
    return atomic_load_explicit(&r->ask_rc, memory_order_relaxed) != 0 ||
           atomic_load_explicit(&r->reply_seen, memory_order_acquire);
}

/*
 * An ask into a full CASTY_MAILBOX_FAIL mailbox from the target's shard gets
 * -EAGAIN: either casty_ask_async() returns it, or the reply message carries
 * it. The target must never see the ask (it would answer 7).
 */
static void test_mailbox_ask_into_full_mailbox_gets_eagain(void **state)
{
    (void)state;
    casty_system *sys = start_sys(NULL);
    MbMsg_ref target = spawn_mb(sys, 0, 1, (casty_mailbox){2, CASTY_MAILBOX_FAIL}, 0);
    MbMsg_ref asker = spawn_mb(sys, 1, 1, (casty_mailbox){0}, 0);
    assert_int_equal(casty_tell(asker, AskFull, .target = target.raw, .fill = 2), 0);
    assert_true(ct_wait_until(ask_settled, &recs[1], 10000));
    assert_int_equal(recs[1].flood.ok, 2);
    int rc = atomic_load(&recs[1].ask_rc);
    if (rc == 0) {
        assert_int_equal(atomic_load(&recs[1].reply_status), -EAGAIN);
    } else {
        assert_int_equal(rc, -EAGAIN);
        ct_sleep_ms(50);
        assert_false(atomic_load(&recs[1].reply_seen)); /* refused at once: no reply later */
    }
    expect_received(0, 0, 2);
    stop_sys(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mailbox_fail_policy_is_exact_on_the_same_shard,
                                        setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_drop_new_keeps_oldest, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_drop_oldest_keeps_newest, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_config_default_and_spawn_override, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_default_bound_is_65536_fail, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_bounds_are_validated, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(
            test_mailbox_fail_policy_outside_sender_refused_when_full_is_published, setup_each,
            teardown_each),
        cmocka_unit_test_setup_teardown(
            test_mailbox_fail_policy_outside_sends_are_all_accounted_for, setup_each,
            teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_stop_gets_through_a_full_mailbox, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_outside_stop_on_blocked_full_actor, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_terminated_reaches_a_full_watcher, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_reply_to_own_ask_passes_a_full_mailbox,
                                        setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_mailbox_ask_into_full_mailbox_gets_eagain, setup_each,
                                        teardown_each),
    };
    /* CASTY_TEST_FILTER=pattern runs only the matching tests (cmocka wildcards). */
    const char *filter = getenv("CASTY_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests_name("integration/mailbox", tests, NULL, NULL);
}
