/*
 * core/hashring: determinism (also across input orders), balance, stability
 * when a member joins or leaves, wrap-around and argument checks. Names are
 * fixed strings, so every figure printed here is reproducible.
 */
#include <stdio.h>
#include <string.h>

#include "core/hashring.h"
#include "support/casty_test.h"
#include "support/names.h"

#define NAMES  100000
#define VNODES 128

static uint64_t names[NAMES];

static int group_setup(void **state)
{
    (void)state;
    ct_name_hashes(names, NAMES, "actor-");
    return 0;
}

/* Member ids that look like node ids: far apart, unordered. */
static uint64_t member_id(uint32_t i)
{
    return 0x1000 + (uint64_t)i * 0x9E3779B97F4A7C15ull;
}

static void build(casty_hashring *r, const uint64_t *ids, uint32_t n)
{
    assert_int_equal(casty__hashring_build(r, ids, n, VNODES), 0);
    casty__hashring_validate(r);
}

static void build_first(casty_hashring *r, uint32_t n)
{
    uint64_t ids[32];
    assert_true(n <= 32);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = member_id(i);
    build(r, ids, n);
}

/* The owner's id rather than its index, so that rings over reordered members compare. */
static uint64_t owner(const casty_hashring *r, uint64_t key)
{
    return r->ids[casty__hashring_lookup(r, key)];
}

static void test_hashring_deterministic(void **state)
{
    (void)state;
    casty_hashring a, b, c;
    build_first(&a, 5);
    build_first(&b, 5);
    assert_memory_equal(a.points, b.points, a.npoints * sizeof(*a.points));
    uint64_t reversed[5];
    for (uint32_t i = 0; i < 5; i++)
        reversed[i] = member_id(4 - i);
    build(&c, reversed, 5);
    for (int i = 0; i < NAMES; i++) {
        assert_int_equal(casty__hashring_lookup(&a, names[i]),
                         casty__hashring_lookup(&b, names[i]));
        assert_int_equal(owner(&a, names[i]), owner(&c, names[i])); /* input order is irrelevant */
    }
    casty__hashring_destroy(&a);
    casty__hashring_destroy(&b);
    casty__hashring_destroy(&c);
}

static void test_hashring_balance(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {2, 4, 8, 16};
    for (uint32_t s = 0; s < 4; s++) {
        uint32_t n = sizes[s], count[16] = {0}, max = 0, min = NAMES;
        casty_hashring r;
        build_first(&r, n);
        for (int i = 0; i < NAMES; i++)
            count[casty__hashring_lookup(&r, names[i])]++;
        for (uint32_t m = 0; m < n; m++) {
            max = count[m] > max ? count[m] : max;
            min = count[m] < min ? count[m] : min;
        }
        double mean = (double)NAMES / n;
        printf("# hashring balance: members=%2u vnodes=%u max/mean=%.3f min/mean=%.3f\n", n, VNODES,
               max / mean, min / mean);
        assert_true(max / mean <= 1.25);
        casty__hashring_destroy(&r);
    }
}

static void test_hashring_join_moves_one_share_to_the_newcomer(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= 16; n++) {
        casty_hashring before, after;
        build_first(&before, n);
        build_first(&after, n + 1);
        int moved = 0;
        for (int i = 0; i < NAMES; i++) {
            uint64_t a = owner(&before, names[i]), b = owner(&after, names[i]);
            if (a != b) {
                moved++;
                assert_true(b == member_id(n)); /* names only move to the new member */
            }
        }
        double frac = (double)moved / NAMES, ideal = 1.0 / (n + 1);
        printf("# hashring join %2u->%2u: moved=%.4f ideal=%.4f ratio=%.3f\n", n, n + 1, frac,
               ideal, frac / ideal);
        assert_true(frac <= 1.25 * ideal);
        casty__hashring_destroy(&before);
        casty__hashring_destroy(&after);
    }
}

static void test_hashring_leave_moves_only_its_names(void **state)
{
    (void)state;
    enum { N = 8 };
    casty_hashring full;
    build_first(&full, N);
    for (uint32_t gone = 0; gone < N; gone++) {
        uint64_t ids[N - 1];
        for (uint32_t i = 0, j = 0; i < N; i++) {
            if (i != gone)
                ids[j++] = member_id(i);
        }
        casty_hashring rest;
        build(&rest, ids, N - 1);
        int moved = 0;
        for (int i = 0; i < NAMES; i++) {
            uint64_t a = owner(&full, names[i]), b = owner(&rest, names[i]);
            assert_true(b != member_id(gone));
            if (a != member_id(gone))
                assert_true(a == b); /* names of the others stay put */
            else
                moved++;
        }
        printf("# hashring leave of member %u of %u: moved=%.4f\n", gone, N, (double)moved / NAMES);
        casty__hashring_destroy(&rest);
    }
    casty__hashring_destroy(&full);
}

static void test_hashring_one_member_owns_everything(void **state)
{
    (void)state;
    casty_hashring r;
    uint64_t id = 7;
    assert_int_equal(casty__hashring_build(&r, &id, 1, 4), 0);
    casty__hashring_validate(&r);
    assert_int_equal(casty__hashring_lookup(&r, 0), 0);
    assert_int_equal(casty__hashring_lookup(&r, UINT64_MAX), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(casty__hashring_lookup(&r, names[i]), 0);
    casty__hashring_destroy(&r);
}

static void test_hashring_wraps_and_owns_its_points(void **state)
{
    (void)state;
    casty_hashring r;
    build_first(&r, 3);
    const casty_hashring_point *p = r.points;
    uint32_t last = r.npoints - 1;
    assert_true(p[last].point < UINT64_MAX);
    /* Above the top point, keys wrap to the lowest point's owner; 0 is below every point. */
    assert_int_equal(casty__hashring_lookup(&r, UINT64_MAX), p[0].member);
    assert_int_equal(casty__hashring_lookup(&r, p[last].point + 1), p[0].member);
    assert_int_equal(casty__hashring_lookup(&r, 0), p[0].member);
    /* A key equal to a point belongs to that point's member; one above, to the next point's. */
    for (uint32_t i = 0; i < last; i++) {
        assert_int_equal(casty__hashring_lookup(&r, p[i].point), p[i].member);
        assert_int_equal(casty__hashring_lookup(&r, p[i].point + 1), p[i + 1].member);
    }
    casty__hashring_destroy(&r);
}

static void test_hashring_rejects_bad_arguments(void **state)
{
    (void)state;
    casty_hashring r;
    uint64_t ids[3] = {1, 2, 1};
    assert_int_equal(casty__hashring_build(&r, ids, 0, 4), -EINVAL);
    assert_int_equal(casty__hashring_build(&r, ids, 1, 0), -EINVAL);
    assert_int_equal(casty__hashring_build(&r, NULL, 1, 4), -EINVAL);
    assert_int_equal(casty__hashring_build(NULL, ids, 1, 4), -EINVAL);
    assert_int_equal(casty__hashring_build(&r, ids, 65536, 65536), -EINVAL); /* 2^32 points */
    assert_int_equal(casty__hashring_build(&r, ids, 3, 4), -EINVAL);         /* id 1 twice */
    assert_null(r.points);
    casty__hashring_destroy(&r); /* safe on the empty ring a failed build leaves */
    assert_int_equal(casty__hashring_build(&r, ids, 2, 4), 0);
    casty__hashring_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashring_deterministic),
        cmocka_unit_test(test_hashring_balance),
        cmocka_unit_test(test_hashring_join_moves_one_share_to_the_newcomer),
        cmocka_unit_test(test_hashring_leave_moves_only_its_names),
        cmocka_unit_test(test_hashring_one_member_owns_everything),
        cmocka_unit_test(test_hashring_wraps_and_owns_its_points),
        cmocka_unit_test(test_hashring_rejects_bad_arguments),
    };
    return cmocka_run_group_tests_name("core/hashring", tests, group_setup, NULL);
}
