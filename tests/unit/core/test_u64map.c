/*
 * core/u64map: put, overwrite, get, delete with backward shift, growth, and
 * a long random run checked against a plain array (the reference model).
 */
#include <stdlib.h>

#include "core/rand.h"
#include "core/u64map.h"
#include "support/casty_test.h"

static void test_put_get_overwrite_delete(void **state)
{
    (void)state;
    casty_u64map m = CASTY_U64MAP_INIT;
    uint64_t v;
    assert_false(casty__u64map_get(&m, 5, &v));
    assert_false(casty__u64map_del(&m, 5));
    assert_int_equal(casty__u64map_put(&m, 5, 50), 0);
    assert_int_equal(casty__u64map_put(&m, 6, 60), 0);
    assert_int_equal(casty__u64map_put(&m, 5, 55), 0); /* overwrite */
    assert_int_equal(m.len, 2);
    assert_true(casty__u64map_get(&m, 5, &v));
    assert_int_equal(v, 55);
    assert_true(casty__u64map_del(&m, 5));
    assert_false(casty__u64map_get(&m, 5, &v));
    assert_true(casty__u64map_get(&m, 6, &v));
    assert_int_equal(v, 60);
    assert_false(casty__u64map_get(&m, 0, &v)); /* 0 is never a key */
    casty__u64map_free(&m);
}

/* Keys that share a home slot form one run: deleting from its middle must keep the rest reachable. */
static void test_delete_inside_a_collision_run(void **state)
{
    (void)state;
    casty_u64map m = CASTY_U64MAP_INIT;
    assert_int_equal(casty__u64map_put(&m, 1, 1), 0); /* cap 16 from here on */
    uint32_t cap = m.cap;
    uint64_t same[6];
    int n = 0;
    for (uint64_t k = 2; n < 6; k++) {
        uint64_t z = k * 0x9E3779B97F4A7C15ull;
        if (((z ^ (z >> 32)) & (cap - 1)) == 3)
            same[n++] = k;
    }
    for (int i = 0; i < 6; i++)
        assert_int_equal(casty__u64map_put(&m, same[i], 100 + (uint64_t)i), 0);
    assert_int_equal(m.cap, cap);
    assert_true(casty__u64map_del(&m, same[1]));
    assert_true(casty__u64map_del(&m, same[4]));
    for (int i = 0; i < 6; i++) {
        uint64_t v;
        bool present = casty__u64map_get(&m, same[i], &v);
        assert_int_equal(present, i != 1 && i != 4);
        if (present)
            assert_int_equal(v, 100 + (uint64_t)i);
    }
    casty__u64map_free(&m);
}

static void test_random_run_against_a_model(void **state)
{
    (void)state;
    enum { KEYS = 512, OPS = 200000 };
    static uint64_t model[KEYS + 1]; /* 0 = absent, else the value with bit 63 set */
    const uint64_t PRESENT = 1ull << 63;
    casty_u64map m = CASTY_U64MAP_INIT;
    casty_rng r;
    casty__rng_seed(&r, 99);
    for (int op = 0; op < OPS; op++) {
        uint64_t k = 1 + casty__rng_below(&r, KEYS);
        uint64_t v;
        switch (casty__rng_below(&r, 3)) {
        case 0:
            v = casty__rng_next(&r) & ~PRESENT;
            assert_int_equal(casty__u64map_put(&m, k, v), 0);
            model[k] = v | PRESENT;
            break;
        case 1:
            assert_int_equal(casty__u64map_del(&m, k), model[k] != 0);
            model[k] = 0;
            break;
        default:
            assert_int_equal(casty__u64map_get(&m, k, &v), model[k] != 0);
            if (model[k])
                assert_int_equal(v | PRESENT, model[k]);
        }
    }
    uint32_t live = 0;
    for (int k = 1; k <= KEYS; k++)
        live += model[k] != 0;
    assert_int_equal(m.len, live);
    assert_true(m.len * 2 <= m.cap);
    casty__u64map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_overwrite_delete),
        cmocka_unit_test(test_delete_inside_a_collision_run),
        cmocka_unit_test(test_random_run_against_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
