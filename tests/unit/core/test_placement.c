/*
 * core/placement: one shard takes the fast path, the choice matches the ring
 * over shard ids and is stable across inits, names spread evenly, and growing
 * the shard count moves about one share of names.
 */
#include <stdio.h>

#include "core/placement.h"
#include "support/casty_test.h"
#include "support/names.h"

#define NAMES  100000
#define VNODES 128

static uint64_t names[NAMES];

static int group_setup(void **state)
{
    (void)state;
    ct_name_hashes(names, NAMES, "n");
    return 0;
}

static void test_placement_single_shard_is_always_zero(void **state)
{
    (void)state;
    casty_placement p;
    assert_int_equal(casty__placement_init(&p, 1, 64), 0);
    assert_null(p.ring.points); /* no ring is built for one shard */
    assert_int_equal(casty__placement_shard(&p, 0), 0);
    assert_int_equal(casty__placement_shard(&p, UINT64_MAX), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(casty__placement_shard(&p, names[i]), 0);
    casty__placement_destroy(&p);
}

static void test_placement_rejects_zero(void **state)
{
    (void)state;
    casty_placement p;
    assert_int_equal(casty__placement_init(&p, 0, 64), -EINVAL);
    casty__placement_destroy(&p); /* safe after a failed init */
    assert_int_equal(casty__placement_init(&p, 4, 0), -EINVAL);
    casty__placement_destroy(&p);
}

static void test_placement_matches_ring_and_is_stable(void **state)
{
    (void)state;
    casty_placement p, q;
    casty_hashring r;
    uint64_t ids[4] = {0, 1, 2, 3};
    assert_int_equal(casty__placement_init(&p, 4, VNODES), 0);
    assert_int_equal(casty__placement_init(&q, 4, VNODES), 0);
    assert_int_equal(casty__hashring_build(&r, ids, 4, VNODES), 0);
    for (int i = 0; i < NAMES; i++) {
        uint32_t s = casty__placement_shard(&p, names[i]);
        assert_true(s < 4);
        assert_int_equal(s, casty__placement_shard(&q, names[i]));
        assert_int_equal(s, casty__hashring_lookup(&r, names[i]));
    }
    casty__hashring_destroy(&r);
    casty__placement_destroy(&p);
    casty__placement_destroy(&q);
}

static void test_placement_spreads_names(void **state)
{
    (void)state;
    for (uint32_t shards = 2; shards <= 16; shards *= 2) {
        casty_placement p;
        uint32_t count[16] = {0}, max = 0;
        assert_int_equal(casty__placement_init(&p, shards, VNODES), 0);
        for (int i = 0; i < NAMES; i++)
            count[casty__placement_shard(&p, names[i])]++;
        for (uint32_t s = 0; s < shards; s++)
            max = count[s] > max ? count[s] : max;
        double ratio = max / ((double)NAMES / shards);
        printf("# placement: shards=%2u vnodes=%u max/mean=%.3f\n", shards, VNODES, ratio);
        assert_true(ratio <= 1.25);
        casty__placement_destroy(&p);
    }
}

static void test_placement_growth_moves_one_share(void **state)
{
    (void)state;
    for (uint32_t n = 1; n < 16; n++) {
        casty_placement a, b;
        assert_int_equal(casty__placement_init(&a, n, VNODES), 0);
        assert_int_equal(casty__placement_init(&b, n + 1, VNODES), 0);
        int moved = 0;
        for (int i = 0; i < NAMES; i++) {
            uint32_t from = casty__placement_shard(&a, names[i]);
            uint32_t to = casty__placement_shard(&b, names[i]);
            if (from != to) {
                assert_int_equal(to, n); /* only onto the new shard */
                moved++;
            }
        }
        double frac = (double)moved / NAMES;
        printf("# placement %2u->%2u shards: moved=%.4f ideal=%.4f\n", n, n + 1, frac,
               1.0 / (n + 1));
        assert_true(frac <= 1.25 / (n + 1));
        casty__placement_destroy(&a);
        casty__placement_destroy(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement_single_shard_is_always_zero),
        cmocka_unit_test(test_placement_rejects_zero),
        cmocka_unit_test(test_placement_matches_ring_and_is_stable),
        cmocka_unit_test(test_placement_spreads_names),
        cmocka_unit_test(test_placement_growth_moves_one_share),
    };
    return cmocka_run_group_tests_name("core/placement", tests, group_setup, NULL);
}
