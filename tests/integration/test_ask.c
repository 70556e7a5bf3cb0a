/*
 * ask / reply / forward / sender through the public API: replies, timeouts,
 * late replies, error replies, crashes, asks to stopped actors, asks inside
 * actors (reply as a message), and forward keeping the original sender.
 */
#include <string.h>

#include "support/casty_test.h"

CASTY_MESSAGE(Add, long x);
CASTY_MESSAGE(Fail, int err);
CASTY_MESSAGE(Silent);
CASTY_MESSAGE(Defer);
CASTY_MESSAGE(Flush, long value);
CASTY_MESSAGE(Crash);
CASTY_MESSAGE(NestedAsk);
CASTY_MESSAGE(ReplyBlind);
CASTY_MESSAGE(SpawnLocal);
CASTY_PROTOCOL(EchoMsg, Add, Fail, Silent, Defer, Flush, Crash, NestedAsk, ReplyBlind, SpawnLocal);

typedef struct {
    casty_ref deferred;
    EchoMsg_ref next; /* forwarder only */
} Echo;

static int echo(casty_ctx *ctx, Echo *self, const casty_msg *msg);
static int echo_local(casty_ctx *ctx, Echo *self, const casty_msg *msg)
{
    (void)ctx;
    (void)self;
    (void)msg;
    return 0;
}
CASTY_ACTOR(echo_actor_local, EchoMsg, Echo, echo_local);

static int echo(casty_ctx *ctx, Echo *self, const casty_msg *msg)
{
    switch ((enum EchoMsg_type)casty_type(msg)) {
    case CASTY_ID(Add):
        return casty_reply(ctx, long, CASTY_AS(msg, Add)->x + 1);
    case CASTY_ID(Fail):
        return casty_reply_error(ctx, CASTY_AS(msg, Fail)->err);
    case CASTY_ID(Silent):
        return 0;
    case CASTY_ID(Defer):
        self->deferred = casty_sender(ctx);
        return 0;
    case CASTY_ID(Flush): {
        long v = CASTY_AS(msg, Flush)->value;
        return casty_tell_raw(self->deferred, CASTY_TYPE_REPLY, &v, sizeof(v), NULL);
    }
    case CASTY_ID(Crash):
        return -EIO;
    case CASTY_ID(ReplyBlind): {
        /* Told from an outside thread: no sender, no asker; reply must refuse and count. */
        return casty_reply(ctx, long, 1) == -ENOENT ? 0 : -EPROTO;
    }
    case CASTY_ID(SpawnLocal): {
        /* A child placed "next to me" lands on this actor's shard; answer with both shards. */
        EchoMsg_ref child;
        int rc = casty_spawn(casty_ctx_system(ctx), &child, echo_actor_local, NULL,
                             .placement = CASTY_PLACE_LOCAL);
        uint32_t here = casty_ctx_shard(ctx);
        long answer = rc < 0 ? rc : (long)(here * 10 + child.raw.shard);
        return casty_reply(ctx, long, answer);
    }
    case CASTY_ID(NestedAsk): {
        /* A blocking ask on a shard must be refused, not deadlock the shard. */
        long out;
        int rc = casty_ask_raw(casty_self(ctx), CASTY_ID(Add), &(Add){1}, sizeof(Add), &out,
                               sizeof(out), NULL);
        return casty_reply(ctx, int, rc);
    }
    }
    return 0;
}
CASTY_ACTOR(echo_actor, EchoMsg, Echo, echo);

/* Same protocol, but forwards every Add to `next`. */
CASTY_MESSAGE(SetNext, EchoMsg_ref next);

static int forwarder(casty_ctx *ctx, Echo *self, const casty_msg *msg)
{
    if (casty_type(msg) == CASTY_ID(Add))
        return casty_forward(ctx, self->next);
    return 0;
}

static int forwarder_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    Echo *self = state;
    if (len != sizeof(EchoMsg_ref))
        return -EINVAL;
    memcpy(&self->next, arg, len);
    return 0;
}
CASTY_ACTOR(forwarder_actor, EchoMsg, Echo, forwarder, .init = forwarder_init);

static casty_system *sys;
static EchoMsg_ref e;

static int setup(void **state)
{
    (void)state;
    sys = ct_start(2);
    return casty_spawn(sys, &e, echo_actor, "echo");
}

static int teardown(void **state)
{
    (void)state;
    return casty_system_stop(sys);
}

static void test_ask_returns_reply(void **state)
{
    (void)state;
    for (long i = 0; i < 1000; i++) {
        long out = 0;
        assert_int_equal(casty_ask(e, &out, Add, .x = i), 0);
        assert_int_equal(out, i + 1);
    }
}

static void test_ask_timeout(void **state)
{
    (void)state;
    long out;
    uint64_t t0 = ct_now_ns();
    assert_int_equal(casty_ask_timeout(e, &out, 50, Silent), -ETIMEDOUT);
    assert_true(ct_now_ns() - t0 >= 50000000u);
}

static void test_reply_with_error(void **state)
{
    (void)state;
    long out;
    assert_int_equal(casty_ask(e, &out, Fail, .err = -EACCES), -EACCES);
}

static void test_reply_of_wrong_size_is_ebadmsg(void **state)
{
    (void)state;
    int small;
    assert_int_equal(casty_ask(e, &small, Add, .x = 1), -EBADMSG);
}

static int late_counted(void *arg)
{
    (void)arg;
    return ct_stats(sys).dead_by_reason[CASTY_DEAD_LATE_REPLY] >= 1;
}

static void test_late_reply_goes_to_dead_letters(void **state)
{
    (void)state;
    long out;
    assert_int_equal(casty_ask_timeout(e, &out, 20, Defer), -ETIMEDOUT);
    assert_int_equal(casty_tell(e, Flush, .value = 7), 0);
    assert_true(ct_wait_until(late_counted, NULL, 5000));
}

static void test_crash_answers_pending_ask(void **state)
{
    (void)state;
    long out;
    assert_int_equal(casty_ask_timeout(e, &out, 5000, Crash), -CASTY_ECRASHED);
    assert_true(ct_stats(sys).crashes >= 1);
    /* The actor keeps running after the crash. */
    assert_int_equal(casty_ask(e, &out, Add, .x = 1), 0);
    assert_int_equal(out, 2);
}

static void test_blocking_ask_inside_actor_is_refused(void **state)
{
    (void)state;
    int rc = 0;
    assert_int_equal(casty_ask(e, &rc, NestedAsk), 0);
    assert_int_equal(rc, -EDEADLK);
}

static void test_forward_keeps_original_sender(void **state)
{
    (void)state;
    EchoMsg_ref f;
    assert_int_equal(
        casty_spawn(sys, &f, forwarder_actor, "forwarder", .arg = &e, .arg_len = sizeof(e)), 0);
    long out = 0;
    /* If forward replaced the sender, echo's reply would go to the forwarder and this would time out. */
    assert_int_equal(casty_ask_timeout(f, &out, 5000, Add, .x = 41), 0);
    assert_int_equal(out, 42);
}

static void test_ask_stopped_actor_fails_fast(void **state)
{
    (void)state;
    EchoMsg_ref d;
    assert_int_equal(casty_spawn(sys, &d, echo_actor, NULL), 0);
    long out;
    assert_int_equal(casty_ask(d, &out, Add, .x = 1), 0);
    assert_int_equal(casty_stop(d), 0);
    uint64_t t0 = ct_now_ns();
    assert_int_equal(casty_ask_timeout(d, &out, 5000, Add, .x = 1), -CASTY_EDEAD);
    assert_true(ct_now_ns() - t0 < 4000000000u);
}

/* An actor asking another actor: the reply arrives as a message. */
CASTY_MESSAGE(ClientGo, EchoMsg_ref echo; long x; bool silent);
CASTY_MESSAGE(ClientReply);
CASTY_MESSAGE(ClientGet);
CASTY_PROTOCOL(ClientMsg, ClientGo, ClientReply, ClientGet);

typedef struct {
    int got;
    int status;
    long value;
} ClientResult;

static int client(casty_ctx *ctx, ClientResult *self, const casty_msg *msg)
{
    switch ((enum ClientMsg_type)casty_type(msg)) {
    case CASTY_ID(ClientGo): {
        const ClientGo *g = CASTY_AS(msg, ClientGo);
        if (g->silent)
            return casty_ask_async_timeout(ctx, g->echo, ClientReply, 30, Silent);
        return casty_ask_async(ctx, g->echo, ClientReply, Add, .x = g->x);
    }
    case CASTY_ID(ClientReply):
        self->got++;
        self->status = casty_msg_status(msg);
        if (self->status == 0 && msg->len == sizeof(long))
            memcpy(&self->value, msg->data, sizeof(long));
        return 0;
    case CASTY_ID(ClientGet):
        return casty_reply(ctx, ClientResult, *self);
    }
    return 0;
}
CASTY_ACTOR(client_actor, ClientMsg, ClientResult, client);

struct client_wait {
    ClientMsg_ref c;
    ClientResult r;
};

static int client_done(void *arg)
{
    struct client_wait *w = arg;
    assert_int_equal(casty_ask(w->c, &w->r, ClientGet), 0);
    return w->r.got > 0;
}

static void test_ask_inside_actor_replies_as_message(void **state)
{
    (void)state;
    for (uint32_t shard = 0; shard < 2; shard++) {
        struct client_wait w = {0};
        char name[16];
        snprintf(name, sizeof(name), "client-%u", shard);
        assert_int_equal(casty_spawn(sys, &w.c, client_actor, name, .placement = CASTY_PLACE_SHARD,
                                     .shard = shard),
                         0);
        assert_int_equal(casty_tell(w.c, ClientGo, .echo = e, .x = 99), 0);
        assert_true(ct_wait_until(client_done, &w, 5000));
        assert_int_equal(w.r.status, 0);
        assert_int_equal(w.r.value, 100);
        assert_int_equal(w.r.got, 1);
    }
}

static void test_ask_inside_actor_timeout_is_a_message(void **state)
{
    (void)state;
    struct client_wait w = {0};
    assert_int_equal(casty_spawn(sys, &w.c, client_actor, "client-timeout"), 0);
    assert_int_equal(casty_tell(w.c, ClientGo, .echo = e, .silent = true), 0);
    assert_true(ct_wait_until(client_done, &w, 5000));
    assert_int_equal(w.r.status, -ETIMEDOUT);
    assert_true(ct_stats(sys).asks_timed_out >= 1);
}

static int no_sender_counted(void *arg)
{
    (void)arg;
    return ct_stats(sys).dead_by_reason[CASTY_DEAD_NO_SENDER] >= 1;
}

static void test_reply_without_sender_is_counted_noop(void **state)
{
    (void)state;
    assert_int_equal(casty_tell(e, ReplyBlind), 0);
    assert_true(ct_wait_until(no_sender_counted, NULL, 5000));
    long out;
    assert_int_equal(casty_ask(e, &out, Add, .x = 1), 0); /* still alive */
}

static void test_place_local_spawns_on_callers_shard(void **state)
{
    (void)state;
    for (uint32_t shard = 0; shard < 2; shard++) {
        EchoMsg_ref p;
        char name[32];
        snprintf(name, sizeof(name), "local-parent-%u", shard);
        assert_int_equal(
            casty_spawn(sys, &p, echo_actor, name, .placement = CASTY_PLACE_SHARD, .shard = shard),
            0);
        long answer = -1;
        assert_int_equal(casty_ask(p, &answer, SpawnLocal), 0);
        assert_int_equal(answer, shard * 10 + shard);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_returns_reply),
        cmocka_unit_test(test_ask_timeout),
        cmocka_unit_test(test_reply_with_error),
        cmocka_unit_test(test_reply_of_wrong_size_is_ebadmsg),
        cmocka_unit_test(test_late_reply_goes_to_dead_letters),
        cmocka_unit_test(test_crash_answers_pending_ask),
        cmocka_unit_test(test_blocking_ask_inside_actor_is_refused),
        cmocka_unit_test(test_forward_keeps_original_sender),
        cmocka_unit_test(test_ask_stopped_actor_fails_fast),
        cmocka_unit_test(test_ask_inside_actor_replies_as_message),
        cmocka_unit_test(test_ask_inside_actor_timeout_is_a_message),
        cmocka_unit_test(test_reply_without_sender_is_counted_noop),
        cmocka_unit_test(test_place_local_spawns_on_callers_shard),
    };
    return cmocka_run_group_tests_name("integration/ask", tests, setup, teardown);
}
