/*
 * System-level behaviour through the public API: get-or-create and exclusive
 * spawn, lookup, protocol checks, dead letters for stopped actors, several
 * systems in one process, argument validation, and start/stop cycles.
 */
#include <string.h>

#include "support/casty_test.h"

CASTY_MESSAGE(Increment, int amount);
CASTY_MESSAGE(Get);
CASTY_PROTOCOL(CounterMsg, Increment, Get);

typedef struct {
    long count;
} Counter;

static int counter(casty_ctx *ctx, Counter *self, const casty_msg *msg)
{
    switch ((enum CounterMsg_type)casty_type(msg)) {
    case CASTY_ID(Increment):
        self->count += CASTY_AS(msg, Increment)->amount;
        return 0;
    case CASTY_ID(Get):
        return casty_reply(ctx, long, self->count);
    }
    return 0;
}
CASTY_ACTOR(counter_actor, CounterMsg, Counter, counter);

CASTY_MESSAGE(Ping);
CASTY_PROTOCOL(PingMsg, Ping);
static int pinger(casty_ctx *ctx, Counter *self, const casty_msg *msg)
{
    (void)ctx;
    (void)msg;
    self->count++;
    return 0;
}
CASTY_ACTOR(ping_actor, PingMsg, Counter, pinger);

static long get(CounterMsg_ref r)
{
    long n = -1;
    assert_int_equal(casty_ask_timeout(r, &n, 5000, Get), 0);
    return n;
}

static void test_quickstart_counter(void **state)
{
    (void)state;
    casty_system *sys = ct_start(0); /* default: one shard per CPU */
    CounterMsg_ref ref;
    assert_int_equal(casty_spawn(sys, &ref, counter_actor, "counter"), 0);
    assert_int_equal(casty_tell(ref, Increment, .amount = 5), 0);
    assert_int_equal(casty_tell(ref, Increment, .amount = 3), 0);
    assert_int_equal(get(ref), 8);
    ct_stop(sys);
}

static void test_get_or_create_and_exclusive(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    CounterMsg_ref a, b, c;
    assert_int_equal(casty_spawn(sys, &a, counter_actor, "one"), 0);
    assert_int_equal(casty_spawn(sys, &b, counter_actor, "one"), 0);
    assert_true(casty_ref_eq(a.raw, b.raw));
    assert_int_equal(casty_spawn(sys, &c, counter_actor, "one", .exclusive = true), -EEXIST);
    PingMsg_ref p;
    assert_int_equal(casty_spawn(sys, &p, ping_actor, "one"), -EPROTOTYPE);
    assert_int_equal(casty_lookup(sys, CounterMsg, &c, "one"), 0);
    assert_true(casty_ref_eq(a.raw, c.raw));
    assert_int_equal(casty_lookup(sys, PingMsg, &p, "one"), -EPROTOTYPE);
    assert_int_equal(casty_lookup(sys, CounterMsg, &c, "nobody"), -ENOENT);
    /* A stopped name can be spawned again, and the old ref stays dead. */
    assert_int_equal(casty_tell(a, Increment, .amount = 1), 0);
    assert_int_equal(get(a), 1);
    assert_int_equal(casty_stop(a), 0);
    long n;
    assert_int_equal(casty_ask_timeout(a, &n, 5000, Get), -CASTY_EDEAD);
    assert_int_equal(casty_spawn(sys, &b, counter_actor, "one", .exclusive = true), 0);
    assert_false(casty_ref_eq(a.raw, b.raw));
    assert_int_equal(get(b), 0);
    ct_stop(sys);
}

static void test_names_place_by_hash_and_spread(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    uint32_t on[2] = {0, 0};
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof(name), "spread-%d", i);
        CounterMsg_ref r, again;
        assert_int_equal(casty_spawn(sys, &r, counter_actor, name), 0);
        assert_int_equal(casty_lookup(sys, CounterMsg, &again, name), 0);
        assert_true(casty_ref_eq(r.raw, again.raw));
        on[r.raw.shard]++;
    }
    /* 200 names over 2 shards: each gets a fair share (loose bound, deterministic hash). */
    assert_true(on[0] > 60 && on[1] > 60);
    ct_stop(sys);
}

static int dead_counted(void *arg)
{
    casty_system *sys = arg;
    return ct_stats(sys).dead_by_reason[CASTY_DEAD_STOPPED] >= 3;
}

static void test_tell_to_stopped_actor_is_dead_letter(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    CounterMsg_ref r;
    assert_int_equal(casty_spawn(sys, &r, counter_actor, "mortal"), 0);
    assert_int_equal(get(r), 0);
    assert_int_equal(casty_stop(r), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(casty_tell(r, Increment, .amount = 1), 0);
    assert_true(ct_wait_until(dead_counted, sys, 5000));
    casty_stats st = ct_stats(sys);
    assert_int_equal(st.dead_by_reason[CASTY_DEAD_STOPPED], 3);
    assert_int_equal(st.actors_stopped, 1);
    ct_stop(sys);
}

static void test_several_systems_in_one_process(void **state)
{
    (void)state;
    enum { S = 3 };
    casty_system *sys[S];
    CounterMsg_ref r[S];
    for (int i = 0; i < S; i++) {
        sys[i] = ct_start(2);
        assert_int_equal(casty_spawn(sys[i], &r[i], counter_actor, "counter"), 0);
        assert_int_equal(casty_tell(r[i], Increment, .amount = i + 1), 0);
    }
    for (int i = 0; i < S; i++)
        assert_int_equal(get(r[i]), i + 1);
    assert_int_not_equal(r[0].raw.system, r[1].raw.system);
    ct_stop(sys[1]);
    /* A ref into a stopped system is refused cleanly, and the others carry on. */
    assert_int_equal(casty_tell(r[1], Increment, .amount = 1), -ESHUTDOWN);
    long n;
    assert_int_equal(casty_ask(r[1], &n, Get), -ESHUTDOWN);
    assert_int_equal(get(r[0]), 1);
    assert_int_equal(get(r[2]), 3);
    ct_stop(sys[0]);
    ct_stop(sys[2]);
}

static void test_argument_validation(void **state)
{
    (void)state;
    casty_config cfg;
    casty_system *sys = NULL;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(casty_system_start(&sys, &cfg), -EINVAL); /* not initialised */
    casty_config_init(&cfg);
    cfg.ring_slots = 1000;
    assert_int_equal(casty_system_start(&sys, &cfg), -EINVAL); /* not a power of two */
    casty_config_init(&cfg);
    cfg.shards = CASTY_MAX_SHARDS + 1;
    assert_int_equal(casty_system_start(&sys, &cfg), -EINVAL);
    /* The lifecycle defaults are checked as well: bound, policy and strategy. */
    casty_config_init(&cfg);
    cfg.mailbox.capacity = 0;
    assert_int_equal(casty_config_validate(&cfg), -EINVAL);
    casty_config_init(&cfg);
    cfg.mailbox.capacity = CASTY_MAILBOX_MAX + 1;
    assert_int_equal(casty_config_validate(&cfg), -EINVAL);
    casty_config_init(&cfg);
    cfg.mailbox.policy = (casty_mailbox_policy)7;
    assert_int_equal(casty_config_validate(&cfg), -EINVAL);
    casty_config_init(&cfg);
    cfg.supervision.within_ms = 0; /* Restart needs a window */
    assert_int_equal(casty_config_validate(&cfg), -EINVAL);
    casty_config_init(&cfg);
    cfg.supervision.backoff_min_ms = 50;
    cfg.supervision.backoff_max_ms = 10; /* min above max */
    assert_int_equal(casty_system_start(&sys, &cfg), -EINVAL);
    casty_config_init(&cfg);
    assert_int_equal(casty_config_validate(&cfg), 0);
    assert_int_equal(cfg.mailbox.capacity, 65536);
    assert_int_equal(cfg.mailbox.policy, CASTY_MAILBOX_FAIL);
    assert_int_equal(cfg.supervision.directive, CASTY_RESTART);
    assert_int_equal(cfg.shutdown_grace_ms, 5000);
    assert_int_equal(casty_system_start(NULL, NULL), -EINVAL);
    assert_int_equal(casty_system_stop(NULL), -EINVAL);

    sys = ct_start(2);
    CounterMsg_ref r;
    assert_int_equal(casty_spawn(sys, &r, counter_actor, ""), -EINVAL);
    char longname[CASTY_NAME_MAX + 2];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(casty_spawn(sys, &r, counter_actor, longname), -ENAMETOOLONG);
    assert_int_equal(casty_spawn_raw(NULL, &r.raw, &counter_actor, "x", NULL), -EINVAL);
    assert_int_equal(casty_spawn_raw(sys, NULL, &counter_actor, "x", NULL), -EINVAL);
    assert_int_equal(casty_spawn_raw(sys, &r.raw, NULL, "x", NULL), -EINVAL);
    assert_int_equal(
        casty_spawn(sys, &r, counter_actor, "x", .placement = CASTY_PLACE_SHARD, .shard = 2),
        -EINVAL);
    assert_int_equal(casty_tell_raw(CASTY_REF_NULL, 1, NULL, 0, NULL), -EINVAL);
    assert_int_equal(casty_spawn(sys, &r, counter_actor, "valid"), 0);
    static char big[64 * 1024 + 1];
    assert_int_equal(casty_tell_raw(r.raw, CASTY_ID(Increment), big, sizeof(big), NULL), -EMSGSIZE);
    assert_int_equal(casty_tell_raw(r.raw, CASTY_ID(Increment), NULL, 4, NULL), -EINVAL);
    long n;
    assert_int_equal(casty_ask_raw(r.raw, CASTY_ID(Get), NULL, 0, NULL, sizeof(n), NULL), -EINVAL);
    assert_int_equal(casty_lookup_raw(sys, &r.raw, NULL, NULL), -EINVAL);
    assert_int_equal(casty_reply_raw(NULL, &n, sizeof(n)), -EINVAL);
    assert_int_equal(casty_system_stats(NULL, NULL), -EINVAL);
    ct_stop(sys);
}

static void test_config_print(void **state)
{
    (void)state;
    casty_system *sys = ct_start(2);
    casty_config cfg;
    assert_int_equal(casty_system_config(sys, &cfg), 0);
    assert_int_equal(cfg.shards, 2);
    char buf[1024] = {0};
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
    assert_non_null(f);
    assert_int_equal(casty_config_print(&cfg, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "shards=2\n"));
    assert_non_null(strstr(buf, "ring_slots=4096\n"));
    ct_stop(sys);
}

static void test_start_stop_many_times(void **state)
{
    (void)state;
    int rounds = 1000 / CASTY_TEST_SCALE;
    for (int i = 0; i < rounds; i++) {
        casty_system *sys = ct_start(2);
        CounterMsg_ref r;
        assert_int_equal(casty_spawn(sys, &r, counter_actor, "c"), 0);
        assert_int_equal(casty_tell(r, Increment, .amount = 1), 0);
        /* Stop with the message possibly still in flight: it must be freed either way. */
        ct_stop(sys);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart_counter),
        cmocka_unit_test(test_get_or_create_and_exclusive),
        cmocka_unit_test(test_names_place_by_hash_and_spread),
        cmocka_unit_test(test_tell_to_stopped_actor_is_dead_letter),
        cmocka_unit_test(test_several_systems_in_one_process),
        cmocka_unit_test(test_argument_validation),
        cmocka_unit_test(test_config_print),
        cmocka_unit_test(test_start_stop_many_times),
    };
    return cmocka_run_group_tests_name("integration/system", tests, NULL, NULL);
}
