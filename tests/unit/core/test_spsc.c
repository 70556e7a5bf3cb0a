/*
 * core/spsc: capacity checks, FIFO order, full and empty, publication
 * (pushed but unpublished slots stay invisible), index wrap past UINT32_MAX,
 * and a two-thread stress run that checks strict order and no loss.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "core/spsc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#if defined(CASTY_SANITIZE) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SCALE 10 /* sanitizers run ~10x slower: move fewer items */
#else
#define STRESS_SCALE 1
#endif
#define STRESS_ITEMS (10000000u / STRESS_SCALE)

static void *val(uint32_t i)
{
    return (void *)(uintptr_t)i;
}

static void test_spsc_init_rejects_bad_capacity(void **state)
{
    (void)state;
    casty_spsc r;
    const uint32_t bad[] = {0, 1, 3, 6, 100, (UINT32_C(1) << 31) + 1, UINT32_MAX};
    for (size_t i = 0; i < CASTY_ARRAY_LEN(bad); i++)
        assert_int_equal(casty__spsc_init(&r, bad[i]), -EINVAL);
    assert_int_equal(casty__spsc_init(&r, 2), 0);
    assert_true(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_free_slots(&r), 2);
    casty__spsc_destroy(&r);
    casty__spsc_destroy(&r); /* A second destroy is harmless. */
}

static void test_spsc_push_pop_keeps_order(void **state)
{
    (void)state;
    casty_spsc r;
    assert_int_equal(casty__spsc_init(&r, 8), 0);
    for (uint32_t i = 1; i <= 5; i++)
        assert_true(casty__spsc_push(&r, val(i)));
    assert_int_equal(casty__spsc_publish(&r), 5);
    void *out[16];
    assert_int_equal(casty__spsc_pop_batch(&r, out, 2), 2);
    assert_ptr_equal(out[0], val(1));
    assert_ptr_equal(out[1], val(2));
    assert_int_equal(casty__spsc_pop_batch(&r, out, 16), 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_ptr_equal(out[i], val(i + 3));
    assert_int_equal(casty__spsc_pop_batch(&r, out, 16), 0);
    assert_int_equal(casty__spsc_pop_batch(&r, out, 0), 0);
    casty__spsc_destroy(&r);
}

static void test_spsc_full_then_drained(void **state)
{
    (void)state;
    casty_spsc r;
    assert_int_equal(casty__spsc_init(&r, 4), 0);
    for (uint32_t i = 1; i <= 4; i++)
        assert_true(casty__spsc_push(&r, val(i)));
    /* Full counts unpublished slots too. */
    assert_false(casty__spsc_push(&r, val(5)));
    assert_int_equal(casty__spsc_free_slots(&r), 0);
    assert_int_equal(casty__spsc_publish(&r), 4);
    assert_false(casty__spsc_push(&r, val(5)));
    void *out[4];
    assert_int_equal(casty__spsc_pop_batch(&r, out, 1), 1);
    assert_ptr_equal(out[0], val(1));
    /* The producer sees the freed slot once its cached head is refreshed. */
    assert_int_equal(casty__spsc_free_slots(&r), 1);
    assert_true(casty__spsc_push(&r, val(5)));
    assert_false(casty__spsc_push(&r, val(6)));
    assert_int_equal(casty__spsc_publish(&r), 1);
    assert_false(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_pop_batch(&r, out, 4), 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_ptr_equal(out[i], val(i + 2));
    assert_true(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_free_slots(&r), 4);
    casty__spsc_destroy(&r);
}

static void test_spsc_unpublished_items_are_invisible(void **state)
{
    (void)state;
    casty_spsc r;
    assert_int_equal(casty__spsc_init(&r, 8), 0);
    assert_int_equal(casty__spsc_publish(&r), 0);
    for (uint32_t i = 1; i <= 3; i++)
        assert_true(casty__spsc_push(&r, val(i)));
    assert_int_equal(casty__spsc_unpublished(&r), 3);
    void *out[8];
    assert_true(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_pop_batch(&r, out, 8), 0);
    assert_int_equal(casty__spsc_publish(&r), 3);
    assert_int_equal(casty__spsc_unpublished(&r), 0);
    assert_int_equal(casty__spsc_publish(&r), 0);
    /* A fourth push stays hidden behind the three published ones. */
    assert_true(casty__spsc_push(&r, val(4)));
    assert_false(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_pop_batch(&r, out, 8), 3);
    assert_true(casty__spsc_empty(&r));
    assert_int_equal(casty__spsc_publish(&r), 1);
    assert_int_equal(casty__spsc_pop_batch(&r, out, 8), 1);
    assert_ptr_equal(out[0], val(4));
    casty__spsc_destroy(&r);
}

/* Pushes and pops in uneven batches from start_index on; checks the sequence comes out intact. */
static void run_wrap(uint32_t cap, uint32_t start_index, uint32_t rounds)
{
    casty_spsc r;
    assert_int_equal(casty__spsc_init_at(&r, cap, start_index), 0);
    uint32_t next_in = 1, next_out = 1;
    void *out[64];
    for (uint32_t round = 0; round < rounds; round++) {
        uint32_t k = 1 + (round * 7u) % cap;
        for (uint32_t i = 0; i < k && casty__spsc_push(&r, val(next_in)); i++)
            next_in++;
        casty__spsc_publish(&r);
        uint32_t want = 1 + (round * 5u) % 64u;
        uint32_t n = casty__spsc_pop_batch(&r, out, want);
        for (uint32_t i = 0; i < n; i++)
            assert_ptr_equal(out[i], val(next_out++));
        assert_int_equal(casty__spsc_free_slots(&r), cap - (next_in - next_out));
    }
    uint32_t n;
    while ((n = casty__spsc_pop_batch(&r, out, 64)) > 0) {
        for (uint32_t i = 0; i < n; i++)
            assert_ptr_equal(out[i], val(next_out++));
    }
    assert_int_equal(next_out, next_in);
    assert_true(casty__spsc_empty(&r));
    /* Every index moved by the same distance, wrapping or not. */
    assert_int_equal(r.prod.tail - start_index, next_in - 1);
    assert_int_equal(r.cons.head, r.prod.tail);
    casty__spsc_destroy(&r);
}

static void test_spsc_indices_wrap_past_uint32_max(void **state)
{
    (void)state;
    const uint32_t starts[] = {UINT32_MAX - 20, UINT32_MAX - 1, UINT32_MAX, 0x80000000u - 3};
    for (size_t i = 0; i < CASTY_ARRAY_LEN(starts); i++) {
        run_wrap(8, starts[i], 1000);
        run_wrap(2, starts[i], 1000);
        run_wrap(64, starts[i], 1000);
    }
}

static void test_spsc_full_ring_across_index_wrap(void **state)
{
    (void)state;
    casty_spsc r;
    /* The ring is full exactly when tail - head wraps through UINT32_MAX. */
    assert_int_equal(casty__spsc_init_at(&r, 4, UINT32_MAX - 1), 0);
    for (uint32_t i = 1; i <= 4; i++)
        assert_true(casty__spsc_push(&r, val(i)));
    assert_false(casty__spsc_push(&r, val(5)));
    assert_int_equal(casty__spsc_publish(&r), 4);
    assert_int_equal(r.prod.tail, 2);
    void *out[4];
    assert_int_equal(casty__spsc_pop_batch(&r, out, 4), 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_ptr_equal(out[i], val(i + 1));
    assert_true(casty__spsc_empty(&r));
    casty__spsc_destroy(&r);
}

static void test_spsc_array_wraps_many_times(void **state)
{
    (void)state;
    run_wrap(4, 0, 100000);
    run_wrap(16, 12345, 100000);
}

typedef struct stress {
    casty_spsc ring;
    uint32_t items;
    uint32_t publish_every;
    uint32_t received;
    uint32_t first_bad; /* 0, or the sequence number expected when order broke */
} stress;

/* Spin politely: a few pause hints, then give the core away (2 cores, 2 threads). */
static void backoff(uint32_t *spins)
{
    if (++*spins < 64) {
        casty_cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static void *stress_producer(void *arg)
{
    stress *s = arg;
    uint32_t spins = 0;
    for (uint32_t i = 1; i <= s->items;) {
        if (casty__spsc_push(&s->ring, val(i))) {
            if (i % s->publish_every == 0)
                casty__spsc_publish(&s->ring);
            i++;
        } else {
            casty__spsc_publish(&s->ring);
            backoff(&spins);
        }
    }
    casty__spsc_publish(&s->ring);
    return NULL;
}

static void *stress_consumer(void *arg)
{
    stress *s = arg;
    void *out[64];
    uint32_t expect = 1, spins = 0;
    while (expect <= s->items) {
        uint32_t n = casty__spsc_pop_batch(&s->ring, out, 64);
        if (n == 0) {
            backoff(&spins);
            continue;
        }
        for (uint32_t i = 0; i < n; i++, expect++) {
            if (out[i] != val(expect) && s->first_bad == 0)
                s->first_bad = expect;
        }
    }
    s->received = expect - 1;
    return NULL;
}

static void run_stress(uint32_t publish_every)
{
    stress *s = casty__mem_aligned(CASTY_CACHELINE, sizeof(*s));
    assert_non_null(s);
    assert_int_equal(casty__spsc_init(&s->ring, 1024), 0);
    s->items = STRESS_ITEMS;
    s->publish_every = publish_every;
    s->received = 0;
    s->first_bad = 0;
    pthread_t prod, cons;
    assert_int_equal(pthread_create(&cons, NULL, stress_consumer, s), 0);
    assert_int_equal(pthread_create(&prod, NULL, stress_producer, s), 0);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    assert_int_equal(s->first_bad, 0);
    assert_int_equal(s->received, STRESS_ITEMS);
    assert_true(casty__spsc_empty(&s->ring));
    casty__spsc_destroy(&s->ring);
    casty__mem_free(s);
}

static void test_spsc_two_threads_publish_every_32(void **state)
{
    (void)state;
    run_stress(32);
}

static void test_spsc_two_threads_publish_every_item(void **state)
{
    (void)state;
    run_stress(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spsc_init_rejects_bad_capacity),
        cmocka_unit_test(test_spsc_push_pop_keeps_order),
        cmocka_unit_test(test_spsc_full_then_drained),
        cmocka_unit_test(test_spsc_unpublished_items_are_invisible),
        cmocka_unit_test(test_spsc_indices_wrap_past_uint32_max),
        cmocka_unit_test(test_spsc_full_ring_across_index_wrap),
        cmocka_unit_test(test_spsc_array_wraps_many_times),
        cmocka_unit_test(test_spsc_two_threads_publish_every_32),
        cmocka_unit_test(test_spsc_two_threads_publish_every_item),
    };
    return cmocka_run_group_tests_name("core/spsc", tests, NULL, NULL);
}
