/* core/placement: one shard, stable shard choice, spread over shards. */
#include <stdio.h>

#include "core/placement.h"
#include "support/casty_test.h"

static void test_placement_single_shard(void **state)
{
    (void)state;
    casty_placement p;
    assert_int_equal(casty__placement_init(&p, 1, 64), 0);
    for (uint64_t h = 0; h < 1000; h++)
        assert_int_equal(casty__placement_shard(&p, h * 0x9E3779B97F4A7C15ull), 0);
    casty__placement_destroy(&p);
    assert_int_equal(casty__placement_init(&p, 0, 64), -EINVAL);
}

static void test_placement_spread_and_stable(void **state)
{
    (void)state;
    casty_placement p, q;
    assert_int_equal(casty__placement_init(&p, 4, 64), 0);
    assert_int_equal(casty__placement_init(&q, 4, 64), 0);
    uint32_t count[4] = {0};
    for (int i = 0; i < 40000; i++) {
        char name[32];
        int n = snprintf(name, sizeof(name), "n%d", i);
        uint64_t h = casty__hash_name(name, (size_t)n);
        uint32_t s = casty__placement_shard(&p, h);
        assert_true(s < 4);
        assert_int_equal(s, casty__placement_shard(&q, h));
        count[s]++;
    }
    for (int s = 0; s < 4; s++)
        assert_true(count[s] > 7000 && count[s] < 13000);
    casty__placement_destroy(&p);
    casty__placement_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement_single_shard),
        cmocka_unit_test(test_placement_spread_and_stable),
    };
    return cmocka_run_group_tests_name("core/placement", tests, NULL, NULL);
}
