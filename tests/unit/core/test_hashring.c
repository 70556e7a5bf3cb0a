/* core/hashring: determinism, balance, stability on membership change, wrap-around. */
#include <stdio.h>
#include <string.h>

#include "core/hashring.h"
#include "support/casty_test.h"

#define NAMES 100000

static uint64_t name_hash(int i)
{
    char name[32];
    int n = snprintf(name, sizeof(name), "actor-%d", i);
    return casty__hash_name(name, (size_t)n);
}

static void build(casty_hashring *r, uint32_t n)
{
    uint64_t ids[64];
    for (uint32_t i = 0; i < n; i++)
        ids[i] = 1000 + i;
    assert_int_equal(casty__hashring_build(r, ids, n, 128), 0);
    casty__hashring_validate(r);
}

static void test_hashring_deterministic(void **state)
{
    (void)state;
    casty_hashring a, b;
    build(&a, 5);
    build(&b, 5);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(casty__hashring_lookup(&a, name_hash(i)),
                         casty__hashring_lookup(&b, name_hash(i)));
    casty__hashring_destroy(&a);
    casty__hashring_destroy(&b);
}

static void test_hashring_balance(void **state)
{
    (void)state;
    uint32_t sizes[] = {2, 4, 8, 16};
    for (uint32_t s = 0; s < 4; s++) {
        uint32_t n = sizes[s], count[16] = {0}, max = 0;
        casty_hashring r;
        build(&r, n);
        for (int i = 0; i < NAMES; i++)
            count[casty__hashring_lookup(&r, name_hash(i))]++;
        for (uint32_t m = 0; m < n; m++)
            max = count[m] > max ? count[m] : max;
        double ratio = (double)max / ((double)NAMES / n);
        printf("# hashring balance: members=%u vnodes=128 max/mean=%.3f\n", n, ratio);
        assert_true(ratio <= 1.25);
        casty__hashring_destroy(&r);
    }
}

static void test_hashring_stability_on_join(void **state)
{
    (void)state;
    for (uint32_t n = 2; n <= 8; n *= 2) {
        casty_hashring before, after;
        build(&before, n);
        build(&after, n + 1);
        int moved = 0;
        for (int i = 0; i < NAMES; i++) {
            uint32_t a = casty__hashring_lookup(&before, name_hash(i));
            uint32_t b = casty__hashring_lookup(&after, name_hash(i));
            if (a != b) {
                moved++;
                assert_int_equal(b, n); /* names only move to the new member */
            }
        }
        double frac = (double)moved / NAMES;
        printf("# hashring join %u->%u: moved=%.4f ideal=%.4f\n", n, n + 1, frac, 1.0 / (n + 1));
        assert_true(frac <= 1.25 / (n + 1));
        casty__hashring_destroy(&before);
        casty__hashring_destroy(&after);
    }
}

static void test_hashring_edges(void **state)
{
    (void)state;
    casty_hashring r;
    uint64_t id = 7;
    assert_int_equal(casty__hashring_build(&r, &id, 0, 4), -EINVAL);
    assert_int_equal(casty__hashring_build(&r, &id, 1, 0), -EINVAL);
    assert_int_equal(casty__hashring_build(&r, &id, 1, 4), 0);
    assert_int_equal(casty__hashring_lookup(&r, 0), 0);
    assert_int_equal(casty__hashring_lookup(&r, UINT64_MAX), 0);
    casty__hashring_destroy(&r);
    build(&r, 3);
    /* UINT64_MAX wraps to the first point's owner. */
    assert_int_equal(casty__hashring_lookup(&r, UINT64_MAX), r.points[0].member);
    assert_int_equal(casty__hashring_lookup(&r, 0), r.points[0].member);
    casty__hashring_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashring_deterministic),
        cmocka_unit_test(test_hashring_balance),
        cmocka_unit_test(test_hashring_stability_on_join),
        cmocka_unit_test(test_hashring_edges),
    };
    return cmocka_run_group_tests_name("core/hashring", tests, NULL, NULL);
}
