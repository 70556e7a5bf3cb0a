/* core/timer: never early, order, cancel, re-arm from a callback (fixed rate), next deadline. */
#include "core/timer.h"
#include "support/casty_test.h"

static uint64_t now;
static uint64_t fired_at[1000];
static uint32_t nfired;

static void record(casty_timer *t, void *arg)
{
    (void)arg;
    assert_true(now >= t->deadline_ns); /* never early */
    fired_at[nfired++] = t->deadline_ns;
}

static void test_timer_fires_in_order_never_early(void **state)
{
    (void)state;
    casty_wheel w;
    assert_int_equal(casty__wheel_init(&w, 0, 1000000), 0);
    static casty_timer t[500];
    uint64_t seed = 12345;
    nfired = 0;
    now = 0;
    for (int i = 0; i < 500; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        casty__timer_init(&t[i], record, NULL);
        casty__wheel_add(&w, &t[i], (seed >> 33) % 1000000);
    }
    assert_int_equal(casty__wheel_count(&w), 500);
    while (casty__wheel_count(&w)) {
        now += 7919;
        casty__wheel_advance(&w, now, UINT32_MAX);
    }
    assert_int_equal(nfired, 500);
    for (uint32_t i = 1; i < nfired; i++)
        assert_true(fired_at[i - 1] <= fired_at[i]);
    assert_int_equal(casty__wheel_next_deadline(&w), UINT64_MAX);
}

static void test_timer_cancel(void **state)
{
    (void)state;
    casty_wheel w;
    assert_int_equal(casty__wheel_init(&w, 0, 1), 0);
    casty_timer a, b;
    casty__timer_init(&a, record, NULL);
    casty__timer_init(&b, record, NULL);
    casty__wheel_add(&w, &a, 10);
    casty__wheel_add(&w, &b, 20);
    assert_int_equal(casty__wheel_next_deadline(&w), 10);
    casty__wheel_cancel(&w, &a);
    casty__wheel_cancel(&w, &a); /* no-op */
    assert_false(casty__timer_armed(&a));
    assert_int_equal(casty__wheel_next_deadline(&w), 20);
    nfired = 0;
    now = 100;
    assert_int_equal(casty__wheel_advance(&w, now, 10), 1);
    assert_int_equal(fired_at[0], 20);
    assert_int_equal(casty__wheel_init(&w, 0, 0), -EINVAL);
}

static uint32_t ticks;

static void periodic(casty_timer *t, void *arg)
{
    casty_wheel *w = arg;
    ticks++;
    /* Fixed rate: the next deadline follows the previous deadline, not now. */
    casty__wheel_add(w, t, t->deadline_ns + 10);
}

static void test_timer_rearm_from_callback_does_not_drift(void **state)
{
    (void)state;
    casty_wheel w;
    assert_int_equal(casty__wheel_init(&w, 0, 1), 0);
    casty_timer t;
    casty__timer_init(&t, periodic, &w);
    casty__wheel_add(&w, &t, 10);
    ticks = 0;
    for (now = 0; now <= 10002; now += 3) /* the last step, 10002, passes deadline 10000 */
        casty__wheel_advance(&w, now, 100);
    assert_int_equal(ticks, 1000);
    assert_int_equal(casty__wheel_next_deadline(&w), 10010);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_fires_in_order_never_early),
        cmocka_unit_test(test_timer_cancel),
        cmocka_unit_test(test_timer_rearm_from_callback_does_not_drift),
    };
    return cmocka_run_group_tests_name("core/timer", tests, NULL, NULL);
}
