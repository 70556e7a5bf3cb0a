/* core/waiter: reply before wait, reply during wait, timeout, late reply, sizes, shutdown. */
#include <pthread.h>
#include <string.h>

#include "core/system.h"
#include "core/waiter.h"
#include "support/casty_test.h"

static casty_waiters w;

static int setup(void **state)
{
    (void)state;
    return casty__waiters_init(&w);
}

static int teardown(void **state)
{
    (void)state;
    casty__waiters_destroy(&w);
    return 0;
}

static void test_waiter_reply_then_wait(void **state)
{
    (void)state;
    uint32_t idx, gen;
    assert_int_equal(casty__waiter_acquire(&w, &idx, &gen), 0);
    long v = 42, out = 0;
    assert_int_equal(casty__waiter_complete(&w, idx, gen, 0, &v, sizeof(v)), 0);
    /* A second completion of the same ask is refused. */
    assert_int_equal(casty__waiter_complete(&w, idx, gen, 0, &v, sizeof(v)), -ESTALE);
    assert_int_equal(
        casty__waiter_wait(&w, idx, gen, casty__now_ns() + 1000000000u, 0, &out, sizeof(out)), 0);
    assert_int_equal(out, 42);
}

static void test_waiter_timeout_then_late_reply(void **state)
{
    (void)state;
    uint32_t idx, gen;
    assert_int_equal(casty__waiter_acquire(&w, &idx, &gen), 0);
    long out;
    assert_int_equal(
        casty__waiter_wait(&w, idx, gen, casty__now_ns() + 5000000u, 1000000u, &out, sizeof(out)),
        -ETIMEDOUT);
    long v = 1;
    assert_int_equal(casty__waiter_complete(&w, idx, gen, 0, &v, sizeof(v)), -ESTALE);
    /* The slot is reused with a new generation. */
    uint32_t idx2, gen2;
    assert_int_equal(casty__waiter_acquire(&w, &idx2, &gen2), 0);
    assert_int_equal(idx2, idx);
    assert_int_not_equal(gen2, gen);
    assert_int_equal(casty__waiter_complete(&w, idx2, gen2, -EIO, NULL, 0), 0);
    assert_int_equal(
        casty__waiter_wait(&w, idx2, gen2, casty__now_ns() + 1000000000u, 0, &out, sizeof(out)),
        -EIO);
}

static void test_waiter_size_mismatch_and_large_payload(void **state)
{
    (void)state;
    uint32_t idx, gen;
    assert_int_equal(casty__waiter_acquire(&w, &idx, &gen), 0);
    int small = 3;
    long out;
    assert_int_equal(casty__waiter_complete(&w, idx, gen, 0, &small, sizeof(small)), 0);
    assert_int_equal(
        casty__waiter_wait(&w, idx, gen, casty__now_ns() + 1000000000u, 0, &out, sizeof(out)),
        -EBADMSG);
    char big[1000], got[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (char)i;
    assert_int_equal(casty__waiter_acquire(&w, &idx, &gen), 0);
    assert_int_equal(casty__waiter_complete(&w, idx, gen, 0, big, sizeof(big)), 0);
    assert_int_equal(
        casty__waiter_wait(&w, idx, gen, casty__now_ns() + 1000000000u, 0, got, sizeof(got)), 0);
    assert_memory_equal(big, got, sizeof(big));
}

struct replier {
    uint32_t idx, gen;
};

static void *reply_later(void *arg)
{
    struct replier *r = arg;
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL); /* make the asker go to sleep in futex_wait first */
    long v = 7;
    casty__waiter_complete(&w, r->idx, r->gen, 0, &v, sizeof(v));
    return NULL;
}

static void test_waiter_sleeping_asker_is_woken(void **state)
{
    (void)state;
    struct replier r;
    assert_int_equal(casty__waiter_acquire(&w, &r.idx, &r.gen), 0);
    pthread_t th;
    pthread_create(&th, NULL, reply_later, &r);
    long out = 0;
    uint64_t t0 = casty__now_ns();
    assert_int_equal(
        casty__waiter_wait(&w, r.idx, r.gen, t0 + 5000000000u, 1000, &out, sizeof(out)), 0);
    assert_int_equal(out, 7);
    assert_true(casty__now_ns() - t0 < 4000000000u);
    pthread_join(th, NULL);
}

static void test_waiter_fail_all(void **state)
{
    (void)state;
    uint32_t idx, gen;
    assert_int_equal(casty__waiter_acquire(&w, &idx, &gen), 0);
    casty__waiters_fail_all(&w, -ESHUTDOWN);
    long out;
    assert_int_equal(
        casty__waiter_wait(&w, idx, gen, casty__now_ns() + 1000000000u, 0, &out, sizeof(out)),
        -ESHUTDOWN);
}

static void test_waiter_many_slots(void **state)
{
    (void)state;
    enum { N = 1000 };
    static uint32_t idx[N], gen[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(casty__waiter_acquire(&w, &idx[i], &gen[i]), 0);
    for (int i = 0; i < N; i++) {
        long v = i, out;
        assert_int_equal(casty__waiter_complete(&w, idx[i], gen[i], 0, &v, sizeof(v)), 0);
        assert_int_equal(casty__waiter_wait(&w, idx[i], gen[i], casty__now_ns() + 1000000000u, 0,
                                            &out, sizeof(out)),
                         0);
        assert_int_equal(out, i);
    }
    assert_int_equal(casty__waiter_complete(&w, 0xFFFFFFu, 0, 0, NULL, 0), -ESTALE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiter_reply_then_wait),
        cmocka_unit_test(test_waiter_timeout_then_late_reply),
        cmocka_unit_test(test_waiter_size_mismatch_and_large_payload),
        cmocka_unit_test(test_waiter_sleeping_asker_is_woken),
        cmocka_unit_test(test_waiter_fail_all),
        cmocka_unit_test(test_waiter_many_slots),
    };
    return cmocka_run_group_tests_name("core/waiter", tests, setup, teardown);
}
