/*
 * Death watch through the public API: a watcher receives exactly one
 * Terminated (CASTY_TYPE_TERMINATED, casty_terminated payload) per watched
 * actor, with the right ref and reason: STOPPED for a stop request or
 * casty_stop_self(), FAILED with the crash's error for a crash under the Stop
 * strategy (returned error or casty_fail()). A watch of an actor that is dead
 * already gets the reason it stopped for while its cell remembers it, and
 * ALREADY_DEAD once the cell was reused. Watching twice is one watch; after
 * unwatch nothing arrives; watcher and target may live on different shards;
 * a restart is not a termination.
 */
#include <stdatomic.h>
#include <string.h>

#include "support/casty_test.h"

/* --- the watched actor --- */

CASTY_MESSAGE(Ping);
CASTY_MESSAGE(Quit);
CASTY_MESSAGE(Boom, int err);
CASTY_MESSAGE(FailVia, int err);
CASTY_PROTOCOL(TargetMsg, Ping, Quit, Boom, FailVia);

typedef struct {
    long pings;
} Target;

static _Atomic int g_target_inits;

static int target_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    (void)state;
    (void)arg;
    (void)len;
    atomic_fetch_add(&g_target_inits, 1);
    return 0;
}

static int target(casty_ctx *ctx, Target *self, const casty_msg *msg)
{
    switch ((enum TargetMsg_type)casty_type(msg)) {
    case CASTY_ID(Ping):
        self->pings++;
        return casty_reply(ctx, int, (int)casty_ctx_shard(ctx));
    case CASTY_ID(Quit):
        casty_stop_self(ctx);
        return 0;
    case CASTY_ID(Boom):
        return CASTY_AS(msg, Boom)->err;
    case CASTY_ID(FailVia):
        casty_fail(ctx, CASTY_AS(msg, FailVia)->err);
        return 0;
    }
    return 0;
}
CASTY_ACTOR(target_actor, TargetMsg, Target, target, .init = target_init);

/* --- the watcher --- */

CASTY_MESSAGE(Watch, casty_ref target; int times);
CASTY_MESSAGE(Unwatch, casty_ref target);
CASTY_MESSAGE(Report);
CASTY_MESSAGE(Churn, int n; casty_ref old);
CASTY_MESSAGE(StopChurn);
CASTY_PROTOCOL(WatcherMsg, Watch, Unwatch, Report, Churn, StopChurn);

#define CT_MAX_TERMS 16
#define MAX_CHURN    16

typedef struct {
    int count;
    int bad_len; /* Terminated messages of the wrong size */
    casty_terminated t[CT_MAX_TERMS];
} Terms;

typedef struct {
    Terms terms;
    int churned;
    casty_ref churn[MAX_CHURN];
} Watcher;

static int watch_times(casty_ctx *ctx, const Watch *w)
{
    int rc = 0;
    for (int i = 0; i < w->times && rc == 0; i++)
        rc = casty_watch(ctx, w->target);
    return rc;
}

/*
 * Spawn `n` idle actors on this shard: they may reuse the cell of `old`, an
 * actor that just stopped. Returns how many landed in old's cell (the ref's
 * private `addr` names the cell; the test needs it to know which reason the
 * contract asks for), or a negative errno.
 */
static int churn(casty_ctx *ctx, Watcher *self, const Churn *c)
{
    int reused = 0;
    for (int i = 0; i < c->n && self->churned < MAX_CHURN; i++) {
        TargetMsg_ref r;
        int rc = casty_spawn(casty_ctx_system(ctx), &r, target_actor, NULL,
                             .placement = CASTY_PLACE_LOCAL);
        if (rc < 0)
            return rc;
        self->churn[self->churned++] = r.raw;
        if (r.raw.addr == c->old.addr && r.raw.shard == c->old.shard)
            reused++;
    }
    return reused;
}

static int stop_churn(Watcher *self)
{
    int rc = 0;
    for (int i = 0; i < self->churned && rc == 0; i++)
        rc = casty_stop_raw(self->churn[i]);
    return rc;
}

static int watcher(casty_ctx *ctx, Watcher *self, const casty_msg *msg)
{
    const casty_terminated *t = casty_as_terminated(msg);
    if (t) {
        if (msg->len != sizeof(casty_terminated))
            self->terms.bad_len++;
        if (self->terms.count < CT_MAX_TERMS)
            self->terms.t[self->terms.count] = *t;
        self->terms.count++;
        return 0;
    }
    switch ((enum WatcherMsg_type)casty_type(msg)) {
    case CASTY_ID(Watch):
        return casty_reply(ctx, int, watch_times(ctx, CASTY_AS(msg, Watch)));
    case CASTY_ID(Unwatch):
        return casty_reply(ctx, int, casty_unwatch(ctx, CASTY_AS(msg, Unwatch)->target));
    case CASTY_ID(Report):
        return casty_reply(ctx, Terms, self->terms);
    case CASTY_ID(Churn):
        return casty_reply(ctx, int, churn(ctx, self, CASTY_AS(msg, Churn)));
    case CASTY_ID(StopChurn):
        return casty_reply(ctx, int, stop_churn(self));
    }
    return 0;
}
CASTY_ACTOR(watcher_actor, WatcherMsg, Watcher, watcher);

/* --- test-thread helpers --- */

static const casty_supervision stop_on_crash = {.directive = CASTY_STOP};
static const casty_supervision restart_on_crash = {
    .directive = CASTY_RESTART, .max_retries = 5, .within_ms = 60000};

static TargetMsg_ref spawn_target(casty_system *sys, const char *name, uint32_t shard,
                                  const casty_supervision *sup)
{
    TargetMsg_ref r;
    assert_int_equal(casty_spawn(sys, &r, target_actor, name, .placement = CASTY_PLACE_SHARD,
                                 .shard = shard, .supervision = sup),
                     0);
    return r;
}

static WatcherMsg_ref spawn_watcher(casty_system *sys, const char *name, uint32_t shard)
{
    WatcherMsg_ref w;
    assert_int_equal(
        casty_spawn(sys, &w, watcher_actor, name, .placement = CASTY_PLACE_SHARD, .shard = shard),
        0);
    return w;
}

static int ping(TargetMsg_ref t)
{
    int shard = -1;
    assert_int_equal(casty_ask_timeout(t, &shard, CT_ASK_MS, Ping), 0);
    return shard;
}

static int watch(WatcherMsg_ref w, casty_ref target, int times)
{
    int rc = 1;
    assert_int_equal(casty_ask_timeout(w, &rc, CT_ASK_MS, Watch, .target = target, .times = times),
                     0);
    return rc;
}

static int unwatch(WatcherMsg_ref w, casty_ref target)
{
    int rc = 1;
    assert_int_equal(casty_ask_timeout(w, &rc, CT_ASK_MS, Unwatch, .target = target), 0);
    return rc;
}

static Terms report(WatcherMsg_ref w)
{
    Terms t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(casty_ask_timeout(w, &t, CT_ASK_MS, Report), 0);
    return t;
}

struct terms_wait {
    WatcherMsg_ref w;
    int n;
    Terms t;
};

static int terms_reached(void *arg)
{
    struct terms_wait *tw = arg;
    tw->t = report(tw->w);
    return tw->t.count >= tw->n;
}

/* Wait for `n` Terminated at `w`, then a little longer to catch extra ones. */
static Terms wait_terms(WatcherMsg_ref w, int n)
{
    struct terms_wait tw = {.w = w, .n = n};
    if (!ct_wait_until(terms_reached, &tw, CT_WAIT_MS))
        fail_msg("watcher got %d Terminated, expected %d", tw.t.count, n);
    ct_sleep_ms(CT_SETTLE_MS);
    Terms t = report(w);
    if (t.count != n)
        fail_msg("watcher got %d Terminated, expected exactly %d", t.count, n);
    assert_int_equal(t.bad_len, 0);
    return t;
}

static void check_term(const casty_terminated *t, casty_ref actor, casty_exit_reason reason,
                       int error)
{
    assert_true(casty_ref_eq(t->actor, actor));
    assert_int_equal(t->reason, reason);
    assert_int_equal(t->error, error);
}

/* --- tests --- */

static void test_watch_then_stop_gives_one_terminated(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "watcher", 0);
    TargetMsg_ref t = spawn_target(sys, "target", 0, NULL);
    TargetMsg_ref bystander = spawn_target(sys, "bystander", 0, NULL);
    assert_int_equal(ping(t), 0);
    assert_int_equal(watch(w, t.raw, 1), 0);
    assert_int_equal(report(w).count, 0); /* nothing while it lives */
    assert_int_equal(casty_stop(t), 0);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    assert_false(casty_ref_eq(got.t[0].actor, bystander.raw));
    assert_int_equal(ping(bystander), 0);
    ct_stop(sys);
}

static void test_watcher_on_another_shard(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    for (uint32_t ws = 0; ws < 2; ws++) {
        char wname[16], tname[16];
        snprintf(wname, sizeof(wname), "w%u", ws);
        snprintf(tname, sizeof(tname), "t%u", ws);
        WatcherMsg_ref w = spawn_watcher(sys, wname, ws);
        TargetMsg_ref t = spawn_target(sys, tname, 1 - ws, NULL);
        assert_int_equal(ping(t), (int)(1 - ws));
        assert_int_equal(watch(w, t.raw, 1), 0);
        /* One stops on request, the other by its own behaviour: both are STOPPED. */
        if (ws == 0)
            assert_int_equal(casty_stop(t), 0);
        else
            assert_int_equal(casty_tell(t, Quit), 0);
        Terms got = wait_terms(w, 1);
        check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    }
    ct_stop(sys);
}

static void test_watch_twice_is_one_watch(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "watcher", 0);
    TargetMsg_ref t = spawn_target(sys, "target", 1, NULL);
    assert_int_equal(watch(w, t.raw, 2), 0);
    assert_int_equal(watch(w, t.raw, 1), 0);
    assert_int_equal(casty_stop(t), 0);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    ct_stop(sys);
}

static void test_unwatch_means_no_terminated(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "quitter", 0);
    WatcherMsg_ref control = spawn_watcher(sys, "control", 0);
    TargetMsg_ref t = spawn_target(sys, "target", 1, NULL);
    TargetMsg_ref other = spawn_target(sys, "other", 1, NULL);
    assert_int_equal(unwatch(w, t.raw), -ENOENT); /* never watched */
    assert_int_equal(watch(w, t.raw, 2), 0);
    assert_int_equal(watch(w, other.raw, 1), 0);
    assert_int_equal(watch(control, t.raw, 1), 0);
    assert_int_equal(unwatch(w, t.raw), 0);
    assert_int_equal(unwatch(w, t.raw), -ENOENT); /* watching twice was one watch */
    assert_int_equal(casty_stop(t), 0);
    /* The control watcher hears of it; the one that unwatched does not. */
    Terms c = wait_terms(control, 1);
    check_term(&c.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(report(w).count, 0);
    /* Its other watch still works. */
    assert_int_equal(casty_stop(other), 0);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], other.raw, CASTY_EXIT_STOPPED, 0);
    ct_stop(sys);
}

static void test_watch_already_dead_actor(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    for (uint32_t ws = 0; ws < 2; ws++) {
        char wname[16], tname[16];
        snprintf(wname, sizeof(wname), "w%u", ws);
        snprintf(tname, sizeof(tname), "t%u", ws);
        WatcherMsg_ref w = spawn_watcher(sys, wname, ws);
        TargetMsg_ref t = spawn_target(sys, tname, 0, NULL);
        assert_int_equal(ping(t), 0);
        assert_int_equal(casty_stop(t), 0);
        ct_wait_name_gone(sys, tname);
        int shard;
        assert_int_equal(casty_ask_timeout(t, &shard, CT_ASK_MS, Ping), -CASTY_EDEAD);
        /* New actors on the dead one's shard (w0 is there): its cell may be reused. */
        int reused = -1;
        assert_int_equal(casty_ask_timeout(w, &reused, CT_ASK_MS, Churn, .n = 8, .old = t.raw), 0);
        assert_true(reused >= 0);
        assert_int_equal(watch(w, t.raw, 1), 0);
        Terms got = wait_terms(w, 1);
        /* Its reason while its cell still remembers it, ALREADY_DEAD once the cell was reused. */
        print_message("watcher on shard %u: the dead actor's cell was %sreused\n", ws,
                      reused ? "" : "not ");
        check_term(&got.t[0], t.raw, reused ? CASTY_EXIT_ALREADY_DEAD : CASTY_EXIT_STOPPED, 0);
        /* Stopping the newcomers says nothing more about the old ref. */
        int rc = 1;
        assert_int_equal(casty_ask_timeout(w, &rc, CT_ASK_MS, StopChurn), 0);
        assert_int_equal(rc, 0);
        ct_sleep_ms(CT_SETTLE_MS);
        got = report(w);
        assert_int_equal(got.count, 1);
    }
    ct_stop(sys);
}

/* Nothing reuses the dead actor's cell here, so the late watch learns the real reason. */
static void test_watch_dead_actor_keeps_its_reason(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "w", 1);
    TargetMsg_ref a = spawn_target(sys, "fails", 0, &stop_on_crash);
    int out;
    assert_int_equal(casty_ask_timeout(a, &out, CT_ASK_MS, Boom, .err = -EIO), -CASTY_ECRASHED);
    ct_wait_name_gone(sys, "fails");
    assert_int_equal(watch(w, a.raw, 1), 0);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], a.raw, CASTY_EXIT_FAILED, -EIO);
    ct_stop(sys);
}

static void test_watch_failing_actor(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "watcher", 0);
    /* A returned error, on the other shard; the pending ask learns of the crash. */
    TargetMsg_ref a = spawn_target(sys, "returns-error", 1, &stop_on_crash);
    assert_int_equal(watch(w, a.raw, 1), 0);
    int out;
    assert_int_equal(casty_ask_timeout(a, &out, CT_ASK_MS, Boom, .err = -EIO), -CASTY_ECRASHED);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], a.raw, CASTY_EXIT_FAILED, -EIO);
    ct_wait_name_gone(sys, "returns-error");

    /* casty_fail() with a behaviour that returns 0, on the watcher's shard. */
    TargetMsg_ref b = spawn_target(sys, "calls-fail", 0, &stop_on_crash);
    assert_int_equal(watch(w, b.raw, 1), 0);
    assert_int_equal(casty_tell(b, FailVia, .err = -EPIPE), 0);
    got = wait_terms(w, 2);
    check_term(&got.t[1], b.raw, CASTY_EXIT_FAILED, -EPIPE);
    ct_wait_name_gone(sys, "calls-fail");
    ct_stop(sys);
}

static void test_restart_is_not_a_termination(void **state)
{
    (void)state;
    atomic_store(&g_target_inits, 0);
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "watcher", 0);
    TargetMsg_ref t = spawn_target(sys, "phoenix", 1, &restart_on_crash);
    assert_int_equal(watch(w, t.raw, 1), 0);
    int out;
    assert_int_equal(casty_ask_timeout(t, &out, CT_ASK_MS, Boom, .err = -EIO), -CASTY_ECRASHED);
    assert_int_equal(ping(t), 1); /* restarted, same ref */
    assert_int_equal(atomic_load(&g_target_inits), 2);
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(report(w).count, 0);
    /* The watch outlives the restart. */
    assert_int_equal(casty_stop(t), 0);
    Terms got = wait_terms(w, 1);
    check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    ct_stop(sys);
}

static void test_every_watcher_gets_one(void **state)
{
    (void)state;
    enum { N = 4 };
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w[N];
    TargetMsg_ref t = spawn_target(sys, "popular", 1, NULL);
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof(name), "w%d", i);
        w[i] = spawn_watcher(sys, name, (uint32_t)(i % 2));
        assert_int_equal(watch(w[i], t.raw, 1 + i % 2), 0);
    }
    assert_int_equal(casty_stop(t), 0);
    for (int i = 0; i < N; i++) {
        Terms got = wait_terms(w[i], 1);
        check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    }
    ct_stop(sys);
}

static void test_stopped_watcher_is_harmless(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "short-lived", 0);
    WatcherMsg_ref control = spawn_watcher(sys, "control", 1);
    TargetMsg_ref t = spawn_target(sys, "target", 1, NULL);
    assert_int_equal(watch(w, t.raw, 1), 0);
    assert_int_equal(watch(control, t.raw, 1), 0);
    assert_int_equal(casty_stop(w), 0);
    ct_wait_name_gone(sys, "short-lived");
    assert_int_equal(casty_stop(t), 0);
    Terms got = wait_terms(control, 1);
    check_term(&got.t[0], t.raw, CASTY_EXIT_STOPPED, 0);
    ct_stop(sys);
}

static void test_watch_arguments(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    WatcherMsg_ref w = spawn_watcher(sys, "watcher", 0);
    TargetMsg_ref t = spawn_target(sys, "target", 1, NULL);
    assert_int_equal(watch(w, CASTY_REF_NULL, 1), -EINVAL);
    assert_int_equal(unwatch(w, CASTY_REF_NULL), -EINVAL);
    /* Outside a behaviour there is no watcher. */
    assert_int_equal(casty_watch(NULL, t.raw), -EINVAL);
    assert_int_equal(casty_unwatch(NULL, t.raw), -EINVAL);
    assert_int_equal(report(w).count, 0);
    ct_stop(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_then_stop_gives_one_terminated),
        cmocka_unit_test(test_watcher_on_another_shard),
        cmocka_unit_test(test_watch_twice_is_one_watch),
        cmocka_unit_test(test_unwatch_means_no_terminated),
        cmocka_unit_test(test_watch_already_dead_actor),
        cmocka_unit_test(test_watch_dead_actor_keeps_its_reason),
        cmocka_unit_test(test_watch_failing_actor),
        cmocka_unit_test(test_restart_is_not_a_termination),
        cmocka_unit_test(test_every_watcher_gets_one),
        cmocka_unit_test(test_stopped_watcher_is_harmless),
        cmocka_unit_test(test_watch_arguments),
    };
    return cmocka_run_group_tests_name("integration/watch", tests, NULL, NULL);
}
