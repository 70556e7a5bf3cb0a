/*
 * alloc/pool: argument checks, LIFO reuse, magazines moving to the depot and
 * back, shared calls, a cross-thread producer/consumer loop whose chunk count
 * stays bounded, destroy returning every block, and freed objects keeping
 * every byte below poison_from (and, under ASan, being poisoned above it).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc/heap.h"
#include "alloc/pool.h"
#include "core/spsc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#if defined(CASTY_SANITIZE) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SCALE 10 /* sanitizers run ~10x slower: move fewer objects */
#else
#define STRESS_SCALE 1
#endif
#define STEADY_OBJECTS (1000000u / STRESS_SCALE)
#define MAG            CASTY_POOL_MAG_OBJS

/* A stand-in for an actor cell: link, generation, then the body. */
typedef struct obj {
    void *link;
    uint64_t gen;
    uint64_t body[6];
} obj;

static void test_pool_init_rejects_bad_arguments(void **state)
{
    (void)state;
    casty_pool p;
    assert_int_equal(casty__pool_init(&p, 0, 16, 64, 0), -EINVAL);
    assert_int_equal(casty__pool_init(&p, 64, 0, 64, 0), -EINVAL);
    assert_int_equal(casty__pool_init(&p, 64, 24, 64, 0), -EINVAL);
    assert_int_equal(casty__pool_init(&p, 64, 8192, 64, 0), -EINVAL);
    assert_int_equal(casty__pool_init(&p, 64, 16, 0, 0), -EINVAL);
    assert_int_equal(casty__pool_init(&p, 64, 16, 64, 65), -EINVAL);
    assert_int_equal(casty__pool_init(&p, SIZE_MAX / 4, 16, UINT32_MAX, 0), -EINVAL);
    /* A tiny object still has room for the link; poison_from 0 means "all but the link". */
    assert_int_equal(casty__pool_init(&p, 1, 1, 64, 0), 0);
    assert_int_equal(p.obj_size, sizeof(void *));
    assert_int_equal(p.poison_from, sizeof(void *));
    casty__pool_destroy(&p);
}

static void test_pool_get_put_reuses_last_freed(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c;
    assert_int_equal(casty__pool_init(&p, sizeof(obj), 16, 256, offsetof(obj, body)), 0);
    casty__pool_cache_init(&c, &p);
    obj *a = casty__pool_get(&c);
    obj *b = casty__pool_get(&c);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal((uintptr_t)a % 16, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    /* A never-used object reads zero below poison_from. */
    assert_int_equal(a->gen, 0);
    casty__pool_put(&c, a);
    assert_ptr_equal(casty__pool_get(&c), a);
    casty__pool_put(&c, b);
    casty__pool_put(&c, a);
    casty__pool_cache_drain(&c);
    casty_pool_stats st;
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(st.chunks, 1);
    assert_int_equal(st.bytes_reserved, p.chunk_bytes);
    casty__pool_destroy(&p);
}

static int in_set(void *const *set, uint32_t n, const void *o)
{
    for (uint32_t i = 0; i < n; i++) {
        if (set[i] == o)
            return 1;
    }
    return 0;
}

static void test_pool_magazine_moves_to_depot_and_back(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c1, c2;
    casty_pool_stats st;
    void *objs[3 * MAG];
    assert_int_equal(casty__pool_init(&p, sizeof(obj), 16, 1024, offsetof(obj, body)), 0);
    casty__pool_cache_init(&c1, &p);
    casty__pool_cache_init(&c2, &p);
    for (uint32_t i = 0; i < 3 * MAG; i++)
        assert_non_null(objs[i] = casty__pool_get(&c1));
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 3 * MAG);
    /* Two magazines stay in the cache; the (2 * MAG + 1)th put spills one. */
    for (uint32_t i = 0; i < 2 * MAG; i++)
        casty__pool_put(&c1, objs[i]);
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 3 * MAG);
    uint64_t ops = st.depot_ops;
    casty__pool_put(&c1, objs[2 * MAG]);
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 2 * MAG);
    assert_int_equal(st.depot_ops, ops + 1);
    /* Another cache picks that magazine up instead of carving fresh objects. */
    for (uint32_t i = 0; i < MAG; i++)
        assert_true(in_set(objs, MAG, casty__pool_get(&c2)));
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 3 * MAG);
    assert_int_equal(st.chunks, 1);
    for (uint32_t i = 0; i < MAG; i++)
        casty__pool_put(&c2, objs[i]); /* Same objects back, through the other cache. */
    for (uint32_t i = 2 * MAG + 1; i < 3 * MAG; i++)
        casty__pool_put(&c1, objs[i]);
    casty__pool_cache_drain(&c1);
    casty__pool_cache_drain(&c2);
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(p.nmags * MAG + p.loose_count, 3 * MAG);
    casty__pool_destroy(&p);
}

static void test_pool_shared_calls_mix_with_caches(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c;
    casty_pool_stats st;
    void *objs[2 * MAG + 10];
    /* A chunk smaller than a magazine: carving hands out short lists. */
    assert_int_equal(casty__pool_init(&p, 40, 8, 10, 16), 0);
    casty__pool_cache_init(&c, &p);
    for (uint32_t i = 0; i < CASTY_ARRAY_LEN(objs); i++)
        assert_non_null(objs[i] = casty__pool_get_shared(&p));
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, CASTY_ARRAY_LEN(objs));
    assert_int_equal(st.chunks, (CASTY_ARRAY_LEN(objs) + 9) / 10);
    for (uint32_t i = 0; i < CASTY_ARRAY_LEN(objs); i++)
        casty__pool_put_shared(&p, objs[i]);
    /* The cache refills from the loose objects, then a spilled magazine
     * can feed a shared get. */
    for (uint32_t i = 0; i < CASTY_ARRAY_LEN(objs); i++)
        assert_true(in_set(objs, CASTY_ARRAY_LEN(objs), objs[i] = casty__pool_get(&c)));
    for (uint32_t i = 0; i < CASTY_ARRAY_LEN(objs); i++)
        casty__pool_put(&c, objs[i]);
    void *o = casty__pool_get_shared(&p);
    assert_true(in_set(objs, CASTY_ARRAY_LEN(objs), o));
    casty__pool_put_shared(&p, o);
    casty__pool_cache_drain(&c);
    casty__pool_stats_get(&p, &st);
    assert_int_equal(st.live_objects, 0);
    assert_int_equal(st.chunks, (CASTY_ARRAY_LEN(objs) + 9) / 10);
    casty__pool_destroy(&p);
}

static void test_pool_put_keeps_bytes_below_poison_from(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c;
    assert_int_equal(casty__pool_init(&p, sizeof(obj), 16, 64, offsetof(obj, body)), 0);
    casty__pool_cache_init(&c, &p);
    obj *a = casty__pool_get(&c);
    assert_non_null(a);
    memset(a, 0xa5, sizeof(*a));
    a->gen = 0x1234567890abcdefu;
    casty__pool_put(&c, a);
    /* A stale pointer may still read the generation of a freed object. */
    assert_int_equal(a->gen, 0x1234567890abcdefu);
#if CASTY_POOL_ASAN
    assert_false(__asan_address_is_poisoned(&a->gen));
    assert_true(__asan_address_is_poisoned(&a->body[0]));
    assert_true(__asan_address_is_poisoned((char *)(a + 1) - 1));
#elif defined(CASTY_DEBUG_FULL)
    for (size_t i = 0; i < sizeof(a->body); i++)
        assert_int_equal(((unsigned char *)a->body)[i], CASTY_POOL_POISON_BYTE);
#endif
    assert_ptr_equal(casty__pool_get(&c), a);
    assert_int_equal(a->gen, 0x1234567890abcdefu);
    /* The same through the depot: shared put, then a get from another path. */
    casty__pool_put_shared(&p, a);
    assert_int_equal(a->gen, 0x1234567890abcdefu);
    assert_ptr_equal(casty__pool_get_shared(&p), a);
    assert_int_equal(a->gen, 0x1234567890abcdefu);
    a->body[5] = 7; /* The whole object is usable again. */
    casty__pool_put(&c, a);
    casty__pool_cache_drain(&c);
    casty__pool_destroy(&p);
}

/*
 * A keep window past poison_from (cells keep their mailbox gate and exit
 * reason there) stays readable and unfilled while the object is free; the
 * bytes on both sides of it are poisoned as usual.
 */
static void test_pool_keep_window_stays_readable(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c;
    assert_int_equal(casty__pool_init(&p, sizeof(obj), 16, 64, offsetof(obj, body)), 0);
    size_t keep_from = offsetof(obj, body) + 2 * sizeof(uint64_t);
    casty__pool_keep(&p, keep_from, keep_from + sizeof(uint64_t));
    casty__pool_cache_init(&c, &p);
    obj *a = casty__pool_get(&c);
    assert_non_null(a);
    memset(a, 0xa5, sizeof(*a));
    a->body[2] = 0x5eed;
    casty__pool_put(&c, a);
    assert_int_equal(a->body[2], 0x5eed); /* read through a stale pointer */
#if CASTY_POOL_ASAN
    assert_false(__asan_address_is_poisoned(&a->body[2]));
    assert_true(__asan_address_is_poisoned(&a->body[1]));
    assert_true(__asan_address_is_poisoned(&a->body[3]));
#elif defined(CASTY_DEBUG_FULL)
    assert_int_equal(((unsigned char *)&a->body[1])[0], CASTY_POOL_POISON_BYTE);
    assert_int_equal(((unsigned char *)&a->body[3])[0], CASTY_POOL_POISON_BYTE);
    a->body[2] = 0x600d; /* writes in the window are not a use after free either */
#endif
    assert_ptr_equal(casty__pool_get(&c), a); /* the debug check passes: the window is exempt */
    casty__pool_put(&c, a);
    casty__pool_cache_drain(&c);
    casty__pool_destroy(&p);
}

#if defined(CASTY_DEBUG_FULL) && defined(UNIT_TESTING) && !CASTY_POOL_ASAN
/* Out of line, so that no local of the inlined get lives across cmocka's longjmp. */
static CASTY_NOINLINE void *get_out_of_line(casty_pool_cache *c)
{
    return casty__pool_get(c);
}

static void test_pool_debug_full_catches_write_after_put(void **state)
{
    (void)state;
    casty_pool p;
    casty_pool_cache c;
    assert_int_equal(casty__pool_init(&p, sizeof(obj), 16, 64, offsetof(obj, body)), 0);
    casty__pool_cache_init(&c, &p);
    obj *a = get_out_of_line(&c);
    casty__pool_put(&c, a);
    a->gen++;       /* Below poison_from: allowed. */
    a->body[3] = 1; /* Above it: a use after free that the next get reports. */
    expect_assert_failure(get_out_of_line(&c));
    casty__pool_put(&c, a);
    casty__pool_cache_drain(&c);
    casty__pool_destroy(&p);
}
#endif

static void test_pool_destroy_frees_every_block(void **state)
{
    (void)state;
    uint64_t allocs0, frees0, allocs1, frees1;
    casty__mem_stats(&allocs0, &frees0);
    casty_pool p;
    casty_pool_cache c;
    assert_int_equal(casty__pool_init(&p, 200, 64, 16, 64), 0);
    casty__pool_cache_init(&c, &p);
    /* Live objects at destroy are fine: the chunks go back regardless. */
    for (uint32_t i = 0; i < 1000; i++)
        assert_non_null(casty__pool_get(&c));
    casty_pool_stats st;
    casty__pool_stats_get(&p, &st);
    assert_true(st.chunks >= 1000 / 16);
    casty__pool_destroy(&p);
    casty__mem_stats(&allocs1, &frees1);
    assert_true(allocs1 - allocs0 > st.chunks); /* chunks plus the magazine array */
    assert_int_equal(allocs1 - allocs0, frees1 - frees0);
}

typedef struct steady {
    casty_pool pool;
    casty_spsc ring;
    uint32_t bad;                    /* objects that arrived with the wrong sequence number */
    _Atomic uint32_t alloc_failures; /* NULL from get; tells the consumer to stop */
    uint64_t max_chunks_seen;        /* sampled by the producer */
} steady;

static void backoff(uint32_t *spins)
{
    if (++*spins < 64) {
        casty_cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

/* Thread A: allocates every object from its own cache and ships it to B. */
static void *steady_producer(void *arg)
{
    steady *s = arg;
    casty_pool_cache c;
    casty__pool_cache_init(&c, &s->pool);
    uint32_t spins = 0;
    for (uint32_t i = 1; i <= STEADY_OBJECTS; i++) {
        obj *o = casty__pool_get(&c);
        if (!o) {
            /* Relaxed: a stop flag; the result is read after pthread_join. */
            atomic_store_explicit(&s->alloc_failures, 1, memory_order_relaxed);
            break;
        }
        o->body[0] = i;
        while (!casty__spsc_push(&s->ring, o)) {
            casty__spsc_publish(&s->ring);
            backoff(&spins);
        }
        if (i % 16 == 0)
            casty__spsc_publish(&s->ring);
        if (i % 65536 == 0) {
            casty_pool_stats st;
            casty__pool_stats_get(&s->pool, &st);
            if (st.chunks > s->max_chunks_seen)
                s->max_chunks_seen = st.chunks;
        }
    }
    casty__spsc_publish(&s->ring);
    casty__pool_cache_drain(&c);
    return NULL;
}

/* Thread B: frees every object into its own cache, which spills to the depot. */
static void *steady_consumer(void *arg)
{
    steady *s = arg;
    casty_pool_cache c;
    casty__pool_cache_init(&c, &s->pool);
    void *batch[64];
    uint32_t expect = 1, spins = 0;
    /* Relaxed: only a stop flag (see the producer). */
    while (expect <= STEADY_OBJECTS &&
           atomic_load_explicit(&s->alloc_failures, memory_order_relaxed) == 0) {
        uint32_t n = casty__spsc_pop_batch(&s->ring, batch, 64);
        if (n == 0) {
            backoff(&spins);
            continue;
        }
        for (uint32_t i = 0; i < n; i++, expect++) {
            obj *o = batch[i];
            if (o->body[0] != expect)
                s->bad++;
            casty__pool_put(&c, o);
        }
    }
    casty__pool_cache_drain(&c);
    return NULL;
}

static void test_pool_cross_thread_steady_state_stays_bounded(void **state)
{
    (void)state;
    steady *s = casty__mem_aligned(CASTY_CACHELINE, sizeof(*s));
    assert_non_null(s);
    memset(s, 0, sizeof(*s));
    const uint32_t per_chunk = 256, ring_slots = 256;
    assert_int_equal(casty__pool_init(&s->pool, sizeof(obj), 16, per_chunk, offsetof(obj, body)),
                     0);
    assert_int_equal(casty__spsc_init(&s->ring, ring_slots), 0);
    pthread_t a, b;
    assert_int_equal(pthread_create(&b, NULL, steady_consumer, s), 0);
    assert_int_equal(pthread_create(&a, NULL, steady_producer, s), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(atomic_load_explicit(&s->alloc_failures, memory_order_relaxed), 0);
    assert_int_equal(s->bad, 0);
    casty_pool_stats st;
    casty__pool_stats_get(&s->pool, &st);
    /* In flight at most: the ring, two caches of two magazines each, and
     * one fresh magazine; everything else is recycled through the depot. */
    uint64_t bound = (ring_slots + 5 * MAG) / per_chunk + 2;
    assert_true(st.chunks <= bound);
    assert_true(s->max_chunks_seen <= bound);
    assert_int_equal(st.live_objects, 0);
    /* Magazines really travelled: about one spill and one refill per MAG objects. */
    assert_true(st.depot_ops >= STEADY_OBJECTS / MAG);
    casty__spsc_destroy(&s->ring);
    casty__pool_destroy(&s->pool);
    casty__mem_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_init_rejects_bad_arguments),
        cmocka_unit_test(test_pool_get_put_reuses_last_freed),
        cmocka_unit_test(test_pool_magazine_moves_to_depot_and_back),
        cmocka_unit_test(test_pool_shared_calls_mix_with_caches),
        cmocka_unit_test(test_pool_put_keeps_bytes_below_poison_from),
        cmocka_unit_test(test_pool_keep_window_stays_readable),
#if defined(CASTY_DEBUG_FULL) && defined(UNIT_TESTING) && !CASTY_POOL_ASAN
        cmocka_unit_test(test_pool_debug_full_catches_write_after_put),
#endif
        cmocka_unit_test(test_pool_destroy_frees_every_block),
        cmocka_unit_test(test_pool_cross_thread_steady_state_stays_bounded),
    };
    return cmocka_run_group_tests_name("alloc/pool", tests, NULL, NULL);
}
