/* core/rand.h: the published splitmix64 stream, determinism, and below()'s range. */
#include "core/rand.h"
#include "support/casty_test.h"

static void test_splitmix64_reference(void **state)
{
    (void)state;
    uint64_t s = 0;
    /* The first outputs from state 0 (Vigna's reference implementation). */
    assert_int_equal(casty__splitmix64(&s), 0xe220a8397b1dcdafull);
    assert_int_equal(casty__splitmix64(&s), 0x6e789e6aa1b965f4ull);
}

static void test_seeded_streams_replay_and_differ(void **state)
{
    (void)state;
    casty_rng a, b, c;
    casty__rng_seed(&a, 42);
    casty__rng_seed(&b, 42);
    casty__rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = casty__rng_next(&a);
        assert_int_equal(x, casty__rng_next(&b));
        same_c += x == casty__rng_next(&c);
    }
    assert_int_equal(same_c, 0);
}

static void test_below_stays_in_range_and_covers_it(void **state)
{
    (void)state;
    casty_rng r;
    casty__rng_seed(&r, 7);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint64_t v = casty__rng_below(&r, 10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200); /* uniform within 5 sigma or so */
    assert_int_equal(casty__rng_below(&r, 0), 0);
    assert_int_equal(casty__rng_below(&r, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_reference),
        cmocka_unit_test(test_seeded_streams_replay_and_differ),
        cmocka_unit_test(test_below_stays_in_range_and_covers_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
