/*
 * Dead letters through the public API: every undeliverable message is counted
 * per reason in casty_stats.dead_by_reason (stopped actor, reply without
 * sender, late reply, mailbox overflow, unknown name), and, when a listener
 * is set, published to it as a CASTY_TYPE_DEAD_LETTER message carrying the
 * casty_dead_letter header and the payload. Each reason runs twice: counted
 * only ("_counted") and published to a listener ("_published"); the counts
 * must be the same either way. Also: turning the listener off, a stopped
 * listener (no notice storm), and the reason names.
 *
 * Observation: the listener is the only writer of `notices`; it fills an
 * entry and then publishes the count with a release store.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/casty_test.h"

#define NOTICE_MAX  256
#define PAYLOAD_MAX 16
#define NSLOTS      8

CASTY_MESSAGE(Item, int seq);
CASTY_MESSAGE(Relay, casty_ref to; int seq);
CASTY_MESSAGE(ReplyBlind, long value);
CASTY_MESSAGE(Slow, uint32_t ms; long value);
CASTY_MESSAGE(AskSlow, casty_ref to; uint32_t ms; long value; uint32_t timeout_ms);
CASTY_MESSAGE(SlowReply);
CASTY_MESSAGE(Flood, casty_ref target; int count; int first_seq);
CASTY_MESSAGE(WatchIt, casty_ref target);
CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(DlMsg, Item, Relay, ReplyBlind, Slow, AskSlow, SlowReply, Flood, WatchIt, Ping);

/* One dead-letter notice as the listener saw it. */
typedef struct {
    casty_dead_letter dl;
    uint32_t msg_type; /* the notice's own message type */
    uint32_t msg_len;  /* the notice's own payload length */
    unsigned char payload[PAYLOAD_MAX];
} notice;

static notice notices[NOTICE_MAX];
static _Atomic uint32_t nnotices;

/* Per-actor observations; each actor writes only its own slot. */
typedef struct {
    _Atomic uint32_t items;
    _Atomic int rc; /* the last Relay / ReplyBlind / AskSlow result */
    _Atomic bool done;
    _Atomic bool reply_seen;
    _Atomic int reply_status;
    _Atomic bool terminated;
    _Atomic bool stopped;
} slot_rec;

static slot_rec slots[NSLOTS];

typedef struct {
    int slot;
} Node;

static void record_notice(const casty_msg *msg)
{
    uint32_t n = atomic_load_explicit(&nnotices, memory_order_relaxed); /* sole writer */
    if (n >= NOTICE_MAX)
        return;
    notice *out = &notices[n];
    memset(out, 0, sizeof(*out));
    out->msg_type = msg->type;
    out->msg_len = msg->len;
    if (msg->len >= sizeof(casty_dead_letter)) {
        const casty_dead_letter *dl = msg->data;
        out->dl = *dl;
        size_t have = msg->len - sizeof(casty_dead_letter);
        size_t take = dl->len < have ? dl->len : have;
        memcpy(out->payload, casty_dead_letter_payload(dl),
               take < PAYLOAD_MAX ? take : PAYLOAD_MAX);
    }
    /* Release: the entry is filled before the test thread can count it. */
    atomic_store_explicit(&nnotices, n + 1, memory_order_release);
}

static int node(casty_ctx *ctx, Node *self, const casty_msg *msg)
{
    slot_rec *r = &slots[self->slot];
    if (msg->type == CASTY_TYPE_DEAD_LETTER) {
        record_notice(msg);
        return 0;
    }
    if (casty_as_terminated(msg)) {
        atomic_store_explicit(&r->terminated, true, memory_order_release);
        return 0;
    }
    switch ((enum DlMsg_type)casty_type(msg)) {
    case CASTY_ID(Item):
        atomic_fetch_add_explicit(&r->items, 1, memory_order_relaxed);
        return 0;
    case CASTY_ID(Relay): {
        const Relay *rl = CASTY_AS(msg, Relay);
        int rc = casty_tell_raw(rl->to, CASTY_ID(Item), &(Item){rl->seq}, sizeof(Item), NULL);
        atomic_store_explicit(&r->rc, rc, memory_order_relaxed);
        atomic_store_explicit(&r->done, true, memory_order_release);
        return 0;
    }
    case CASTY_ID(ReplyBlind):
        atomic_store_explicit(&r->rc, casty_reply(ctx, long, CASTY_AS(msg, ReplyBlind)->value),
                              memory_order_relaxed);
        atomic_store_explicit(&r->done, true, memory_order_release);
        return 0;
    case CASTY_ID(Slow): {
        const Slow *s = CASTY_AS(msg, Slow);
        ct_sleep_ms(s->ms);
        /* The asker has given up by now: this reply is late. */
        return casty_reply(ctx, long, s->value);
    }
    case CASTY_ID(AskSlow): {
        const AskSlow *a = CASTY_AS(msg, AskSlow);
        DlMsg_ref to = {.raw = a->to};
        int rc = casty_ask_async_timeout(ctx, to, SlowReply, a->timeout_ms, Slow, .ms = a->ms,
                                         .value = a->value);
        atomic_store_explicit(&r->rc, rc, memory_order_relaxed);
        return 0;
    }
    case CASTY_ID(SlowReply):
        atomic_store_explicit(&r->reply_status, casty_msg_status(msg), memory_order_relaxed);
        atomic_store_explicit(&r->reply_seen, true, memory_order_release);
        return 0;
    case CASTY_ID(Flood): {
        const Flood *f = CASTY_AS(msg, Flood);
        int failures = 0;
        for (int i = 0; i < f->count; i++)
            failures += casty_tell_raw(f->target, CASTY_ID(Item), &(Item){f->first_seq + i},
                                       sizeof(Item), NULL) != 0;
        atomic_store_explicit(&r->rc, failures, memory_order_relaxed);
        atomic_store_explicit(&r->done, true, memory_order_release);
        return 0;
    }
    case CASTY_ID(WatchIt):
        return casty_reply(ctx, int, casty_watch(ctx, CASTY_AS(msg, WatchIt)->target));
    case CASTY_ID(Ping):
        return casty_reply(ctx, int, 1);
    }
    return 0;
}

static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Node *self = state;
    if (len != sizeof(int))
        return -EINVAL;
    memcpy(&self->slot, arg, sizeof(int));
    return 0;
}

static void node_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    Node *self = state;
    atomic_store_explicit(&slots[self->slot].stopped, true, memory_order_release);
}

CASTY_ACTOR(node_actor, DlMsg, Node, node, .init = node_init, .stop = node_stop);

static casty_system *sys;
static DlMsg_ref listener;

#define LISTENER_SLOT 7

static DlMsg_ref spawn_node(int slot, uint32_t shard, casty_mailbox bound)
{
    DlMsg_ref ref;
    assert_int_equal(casty_spawn(sys, &ref, node_actor, NULL, .placement = CASTY_PLACE_SHARD,
                                 .shard = shard, .arg = &slot, .arg_len = sizeof(slot),
                                 .mailbox = bound),
                     0);
    int one = 0;
    assert_int_equal(casty_ask_timeout(ref, &one, 10000, Ping), 0);
    assert_int_equal(one, 1);
    return ref;
}

/* A fresh system, with a listener on shard 1 when asked for. */
static void start(bool with_listener)
{
    memset(slots, 0, sizeof(slots));
    memset(notices, 0, sizeof(notices));
    atomic_store(&nnotices, 0);
    sys = ct_start(2);
    listener = (DlMsg_ref){.raw = CASTY_REF_NULL};
    if (with_listener) {
        listener = spawn_node(LISTENER_SLOT, 1, (casty_mailbox){0});
        assert_int_equal(casty_system_set_dead_letter_listener(sys, listener.raw), 0);
    }
}

/* The teardown stops a system that a failed test left running. */
static void stop_sys(casty_system *running)
{
    sys = NULL;
    ct_stop(running);
}

static int teardown_each(void **state)
{
    (void)state;
    if (!sys)
        return 0;
    int rc = casty_system_stop(sys);
    sys = NULL;
    return rc;
}

struct reason_wait {
    casty_dead_reason reason;
    uint64_t n;
};

static int reason_reached(void *arg)
{
    struct reason_wait *w = arg;
    return ct_stats(sys).dead_by_reason[w->reason] >= w->n;
}

static int notices_reached(void *arg)
{
    return atomic_load_explicit(&nnotices, memory_order_acquire) >= *(uint32_t *)arg;
}

/*
 * Wait until `reason` has been counted `n` more times than in `before`, let
 * stragglers land, then check that exactly that happened: `n` more of this
 * reason, no other reason moved, and the total is the sum. With a listener,
 * also wait for `n` notices (the listener starts at 0 in every test).
 */
static void expect_dead(const casty_stats *before, casty_dead_reason reason, uint64_t n)
{
    struct reason_wait w = {reason, before->dead_by_reason[reason] + n};
    assert_true(ct_wait_until(reason_reached, &w, 10000));
    if (!casty_ref_is_null(listener.raw)) {
        uint32_t want = (uint32_t)n;
        assert_true(ct_wait_until(notices_reached, &want, 10000));
    }
    ct_sleep_ms(50);
    casty_stats st = ct_stats(sys);
    uint64_t sum = 0;
    for (int i = 0; i < CASTY_DEAD_REASONS; i++) {
        uint64_t want = before->dead_by_reason[i] + (i == (int)reason ? n : 0);
        if (st.dead_by_reason[i] != want)
            fail_msg("dead letters for %s: %llu, expected %llu",
                     casty_dead_reason_name((casty_dead_reason)i),
                     (unsigned long long)st.dead_by_reason[i], (unsigned long long)want);
        sum += st.dead_by_reason[i];
    }
    assert_int_equal(st.dead_letters, sum);
    if (!casty_ref_is_null(listener.raw))
        assert_int_equal(atomic_load(&nnotices), n);
}

/* The listener's notice whose first payload int is `seq`, checked for the common fields. */
static const notice *notice_for_seq(int seq, casty_dead_reason reason)
{
    uint32_t n = atomic_load_explicit(&nnotices, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        const notice *nt = &notices[i];
        int s;
        memcpy(&s, nt->payload, sizeof(s));
        if (nt->dl.len != sizeof(Item) || s != seq)
            continue;
        assert_int_equal(nt->msg_type, CASTY_TYPE_DEAD_LETTER);
        assert_int_equal(nt->msg_len, sizeof(casty_dead_letter) + sizeof(Item));
        assert_int_equal(nt->dl.reason, reason);
        assert_int_equal(nt->dl.type, CASTY_ID(Item));
        assert_int_equal(nt->dl.status, 0);
        return nt;
    }
    fail_msg("no dead-letter notice for seq %d", seq);
    return NULL;
}

/* The listener's notice whose payload is the long `value`. */
static const notice *notice_for_long(long value, casty_dead_reason reason)
{
    uint32_t n = atomic_load_explicit(&nnotices, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        const notice *nt = &notices[i];
        long v;
        memcpy(&v, nt->payload, sizeof(v));
        if (nt->dl.len != sizeof(long) || v != value)
            continue;
        assert_int_equal(nt->msg_type, CASTY_TYPE_DEAD_LETTER);
        assert_int_equal(nt->msg_len, sizeof(casty_dead_letter) + sizeof(long));
        assert_int_equal(nt->dl.reason, reason);
        return nt;
    }
    fail_msg("no dead-letter notice carrying %ld", value);
    return NULL;
}

/* Stop `target` and wait until `watcher` (watching it) has its Terminated. */
static void stop_and_wait(DlMsg_ref target, DlMsg_ref watcher, int watcher_slot)
{
    int rc = 1;
    assert_int_equal(casty_ask_timeout(watcher, &rc, 10000, WatchIt, .target = target.raw), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(casty_stop(target), 0);
    assert_true(ct_wait_flag(&slots[watcher_slot].terminated, 10000));
}

/*
 * CASTY_DEAD_STOPPED: a tell to a stopped actor is not an error for the
 * sender, and is counted; the notice names the recipient and the original
 * sender (none from an outside thread, the relaying actor otherwise).
 */
static void dead_stopped(bool with_listener)
{
    start(with_listener);
    DlMsg_ref target = spawn_node(0, 0, (casty_mailbox){0});
    DlMsg_ref relay = spawn_node(1, 1, (casty_mailbox){0});
    stop_and_wait(target, relay, 1);
    casty_stats before = ct_stats(sys);

    assert_int_equal(casty_tell(target, Item, .seq = 42), 0);
    assert_int_equal(casty_tell(relay, Relay, .to = target.raw, .seq = 43), 0);
    assert_true(ct_wait_flag(&slots[1].done, 10000));
    assert_int_equal(atomic_load(&slots[1].rc), 0);
    expect_dead(&before, CASTY_DEAD_STOPPED, 2);
    assert_int_equal(atomic_load(&slots[0].items), 0);
    if (with_listener) {
        const notice *a = notice_for_seq(42, CASTY_DEAD_STOPPED);
        assert_true(casty_ref_eq(a->dl.recipient, target.raw));
        assert_true(casty_ref_is_null(a->dl.sender));
        const notice *b = notice_for_seq(43, CASTY_DEAD_STOPPED);
        assert_true(casty_ref_eq(b->dl.recipient, target.raw));
        assert_true(casty_ref_eq(b->dl.sender, relay.raw));
    }
    stop_sys(sys);
}

/* CASTY_DEAD_NO_SENDER: a reply with neither asker nor sender returns -ENOENT and is counted. */
static void dead_no_sender(bool with_listener)
{
    start(with_listener);
    DlMsg_ref target = spawn_node(0, 0, (casty_mailbox){0});
    casty_stats before = ct_stats(sys);
    assert_int_equal(casty_tell(target, ReplyBlind, .value = 1234), 0);
    assert_true(ct_wait_flag(&slots[0].done, 10000));
    assert_int_equal(atomic_load(&slots[0].rc), -ENOENT);
    expect_dead(&before, CASTY_DEAD_NO_SENDER, 1);
    if (with_listener) {
        const notice *nt = notice_for_long(1234, CASTY_DEAD_NO_SENDER);
        assert_true(casty_ref_is_null(nt->dl.recipient));
        assert_int_equal(nt->dl.status, 0);
    }
    stop_sys(sys);
}

/*
 * CASTY_DEAD_LATE_REPLY: the replier takes 100 ms, the asker gives up after
 * 20 ms; once from an outside thread (blocking ask) and once from an actor
 * (async ask, whose timeout arrives as a message).
 */
static void dead_late_reply(bool with_listener)
{
    start(with_listener);
    DlMsg_ref slow = spawn_node(0, 0, (casty_mailbox){0});
    DlMsg_ref asker = spawn_node(1, 1, (casty_mailbox){0});
    casty_stats before = ct_stats(sys);

    long out = 0;
    assert_int_equal(casty_ask_timeout(slow, &out, 20, Slow, .ms = 100, .value = 77), -ETIMEDOUT);
    assert_int_equal(
        casty_tell(asker, AskSlow, .to = slow.raw, .ms = 100, .value = 78, .timeout_ms = 20), 0);
    assert_true(ct_wait_flag(&slots[1].reply_seen, 10000));
    assert_int_equal(atomic_load(&slots[1].rc), 0);
    assert_int_equal(atomic_load(&slots[1].reply_status), -ETIMEDOUT);
    expect_dead(&before, CASTY_DEAD_LATE_REPLY, 2);
    if (with_listener) {
        const notice *a = notice_for_long(77, CASTY_DEAD_LATE_REPLY);
        assert_int_equal(a->dl.status, 0);
        const notice *b = notice_for_long(78, CASTY_DEAD_LATE_REPLY);
        assert_int_equal(b->dl.status, 0);
    }
    stop_sys(sys);
}

/*
 * CASTY_DEAD_MAILBOX_FULL: a flooder on the target's shard overfills a
 * drop-new and a drop-oldest mailbox (bound 2, five messages each); the
 * notices carry the dropped messages: the newest three, then the oldest three.
 */
static void dead_mailbox_full(bool with_listener)
{
    start(with_listener);
    DlMsg_ref drop_new = spawn_node(0, 0, (casty_mailbox){2, CASTY_MAILBOX_DROP_NEW});
    DlMsg_ref drop_old = spawn_node(1, 0, (casty_mailbox){2, CASTY_MAILBOX_DROP_OLDEST});
    DlMsg_ref flooder = spawn_node(2, 0, (casty_mailbox){0});
    casty_stats before = ct_stats(sys);

    assert_int_equal(casty_tell(flooder, Flood, .target = drop_new.raw, .count = 5, .first_seq = 0),
                     0);
    assert_true(ct_wait_flag(&slots[2].done, 10000));
    assert_int_equal(atomic_load(&slots[2].rc), 0);
    atomic_store(&slots[2].done, false);
    assert_int_equal(
        casty_tell(flooder, Flood, .target = drop_old.raw, .count = 5, .first_seq = 10), 0);
    assert_true(ct_wait_flag(&slots[2].done, 10000));
    assert_int_equal(atomic_load(&slots[2].rc), 0);
    expect_dead(&before, CASTY_DEAD_MAILBOX_FULL, 6);
    assert_int_equal(atomic_load(&slots[0].items), 2);
    assert_int_equal(atomic_load(&slots[1].items), 2);
    if (with_listener) {
        static const int dropped_new[] = {2, 3, 4}, dropped_old[] = {10, 11, 12};
        for (int i = 0; i < 3; i++) {
            const notice *a = notice_for_seq(dropped_new[i], CASTY_DEAD_MAILBOX_FULL);
            assert_true(casty_ref_eq(a->dl.recipient, drop_new.raw));
            assert_true(casty_ref_eq(a->dl.sender, flooder.raw));
            const notice *b = notice_for_seq(dropped_old[i], CASTY_DEAD_MAILBOX_FULL);
            assert_true(casty_ref_eq(b->dl.recipient, drop_old.raw));
            assert_true(casty_ref_eq(b->dl.sender, flooder.raw));
        }
    }
    stop_sys(sys);
}

/* CASTY_DEAD_NO_SUCH_NAME: casty_tell_name() to a name nobody has returns -ENOENT and counts. */
static void dead_no_such_name(bool with_listener)
{
    start(with_listener);
    casty_stats before = ct_stats(sys);
    assert_int_equal(casty_tell_name(sys, DlMsg, "nobody-here", Item, .seq = 9), -ENOENT);
    expect_dead(&before, CASTY_DEAD_NO_SUCH_NAME, 1);
    if (with_listener) {
        const notice *nt = notice_for_seq(9, CASTY_DEAD_NO_SUCH_NAME);
        assert_true(casty_ref_is_null(nt->dl.recipient));
        assert_true(casty_ref_is_null(nt->dl.sender));
    }
    /* A live name takes the message instead. */
    DlMsg_ref named;
    int slot = 0;
    assert_int_equal(
        casty_spawn(sys, &named, node_actor, "somebody", .arg = &slot, .arg_len = sizeof(slot)), 0);
    assert_int_equal(casty_tell_name(sys, DlMsg, "somebody", Item, .seq = 10), 0);
    int one = 0;
    assert_int_equal(casty_ask_timeout(named, &one, 10000, Ping), 0);
    assert_int_equal(atomic_load(&slots[0].items), 1);
    assert_int_equal(ct_stats(sys).dead_by_reason[CASTY_DEAD_NO_SUCH_NAME],
                     before.dead_by_reason[CASTY_DEAD_NO_SUCH_NAME] + 1);
    stop_sys(sys);
}

#define BOTH(check)                                    \
    static void test_##check##_counted(void **state)   \
    {                                                  \
        (void)state;                                   \
        check(false);                                  \
    }                                                  \
    static void test_##check##_published(void **state) \
    {                                                  \
        (void)state;                                   \
        check(true);                                   \
    }

BOTH(dead_stopped)
BOTH(dead_no_sender)
BOTH(dead_late_reply)
BOTH(dead_mailbox_full)
BOTH(dead_no_such_name)

/* A null listener turns publishing off (counting goes on); setting one again turns it back on. */
static void test_listener_can_be_turned_off(void **state)
{
    (void)state;
    start(true);
    assert_int_equal(casty_system_set_dead_letter_listener(NULL, listener.raw), -EINVAL);
    assert_int_equal(casty_system_set_dead_letter_listener(sys, CASTY_REF_NULL), 0);
    casty_stats before = ct_stats(sys);
    assert_int_equal(casty_tell_name(sys, DlMsg, "nobody", Item, .seq = 1), -ENOENT);
    struct reason_wait w = {CASTY_DEAD_NO_SUCH_NAME,
                            before.dead_by_reason[CASTY_DEAD_NO_SUCH_NAME] + 1};
    assert_true(ct_wait_until(reason_reached, &w, 10000));
    ct_sleep_ms(100);
    assert_int_equal(atomic_load(&nnotices), 0);

    assert_int_equal(casty_system_set_dead_letter_listener(sys, listener.raw), 0);
    assert_int_equal(casty_tell_name(sys, DlMsg, "nobody", Item, .seq = 2), -ENOENT);
    uint32_t one = 1;
    assert_true(ct_wait_until(notices_reached, &one, 10000));
    notice_for_seq(2, CASTY_DEAD_NO_SUCH_NAME);
    ct_sleep_ms(50);
    assert_int_equal(atomic_load(&nnotices), 1);
    stop_sys(sys);
}

/*
 * A stopped listener: a dead letter is still counted, and the notice it
 * cannot take is counted at most once more, never re-published in a loop.
 */
static void test_stopped_listener_causes_no_storm(void **state)
{
    (void)state;
    start(true);
    DlMsg_ref watcher = spawn_node(0, 0, (casty_mailbox){0});
    stop_and_wait(listener, watcher, 0);
    casty_stats before = ct_stats(sys);
    assert_int_equal(casty_tell_name(sys, DlMsg, "nobody", Item, .seq = 1), -ENOENT);
    struct reason_wait w = {CASTY_DEAD_NO_SUCH_NAME,
                            before.dead_by_reason[CASTY_DEAD_NO_SUCH_NAME] + 1};
    assert_true(ct_wait_until(reason_reached, &w, 10000));
    ct_sleep_ms(100);
    uint64_t d1 = ct_stats(sys).dead_letters;
    ct_sleep_ms(100);
    uint64_t d2 = ct_stats(sys).dead_letters;
    assert_int_equal(d1, d2);
    assert_true(d1 - before.dead_letters >= 1);
    assert_true(d1 - before.dead_letters <= 2);
    assert_int_equal(ct_stats(sys).dead_by_reason[CASTY_DEAD_NO_SUCH_NAME],
                     before.dead_by_reason[CASTY_DEAD_NO_SUCH_NAME] + 1);
    stop_sys(sys);
}

/* Every reason has its own non-empty name; the two the header quotes match. */
static void test_reason_names(void **state)
{
    (void)state;
    for (int i = 0; i < CASTY_DEAD_REASONS; i++) {
        const char *a = casty_dead_reason_name((casty_dead_reason)i);
        assert_non_null(a);
        assert_true(a[0] != '\0');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, casty_dead_reason_name((casty_dead_reason)j));
    }
    assert_string_equal(casty_dead_reason_name(CASTY_DEAD_STOPPED), "stopped");
    assert_string_equal(casty_dead_reason_name(CASTY_DEAD_MAILBOX_FULL), "mailbox_full");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_dead_stopped_counted, teardown_each),
        cmocka_unit_test_teardown(test_dead_stopped_published, teardown_each),
        cmocka_unit_test_teardown(test_dead_no_sender_counted, teardown_each),
        cmocka_unit_test_teardown(test_dead_no_sender_published, teardown_each),
        cmocka_unit_test_teardown(test_dead_late_reply_counted, teardown_each),
        cmocka_unit_test_teardown(test_dead_late_reply_published, teardown_each),
        cmocka_unit_test_teardown(test_dead_mailbox_full_counted, teardown_each),
        cmocka_unit_test_teardown(test_dead_mailbox_full_published, teardown_each),
        cmocka_unit_test_teardown(test_dead_no_such_name_counted, teardown_each),
        cmocka_unit_test_teardown(test_dead_no_such_name_published, teardown_each),
        cmocka_unit_test_teardown(test_listener_can_be_turned_off, teardown_each),
        cmocka_unit_test_teardown(test_stopped_listener_causes_no_storm, teardown_each),
        cmocka_unit_test_teardown(test_reason_names, teardown_each),
    };
    /* CASTY_TEST_FILTER=pattern runs only the matching tests (cmocka wildcards). */
    const char *filter = getenv("CASTY_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests_name("integration/dead_letters", tests, NULL, NULL);
}
