/*
 * core/mpsc: empty queue, single-thread FIFO, the was-empty hint, reuse of a
 * popped node, and 4 producers x 1,000,000 nodes checking per-producer FIFO
 * and no loss.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "alloc/heap.h"
#include "core/mpsc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#if defined(CASTY_SANITIZE) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SCALE 10 /* sanitizers run ~10x slower: push fewer nodes */
#else
#define STRESS_SCALE 1
#endif
#define PRODUCERS      4u
#define PER_PRODUCER   (1000000u / STRESS_SCALE)
#define STRESS_LIMIT_S 60 /* the consumer gives up (and the test fails) after this */

typedef struct item {
    casty_mpsc_node link;
    uint32_t producer;
    uint32_t seq;
} item;

static item *item_of(casty_mpsc_node *n)
{
    return casty_container_of(n, item, link);
}

static void test_mpsc_starts_empty(void **state)
{
    (void)state;
    casty_mpsc q;
    casty__mpsc_init(&q);
    assert_true(casty__mpsc_empty(&q));
    assert_null(casty__mpsc_pop(&q));
    assert_null(casty__mpsc_pop(&q));
    assert_true(casty__mpsc_empty(&q));
}

static void test_mpsc_single_thread_fifo(void **state)
{
    (void)state;
    casty_mpsc q;
    item items[100];
    casty__mpsc_init(&q);
    for (uint32_t i = 0; i < 100; i++) {
        items[i].seq = i;
        /* Only the first push finds the queue empty. */
        assert_int_equal(casty__mpsc_push(&q, &items[i].link), i == 0);
        assert_false(casty__mpsc_empty(&q));
    }
    for (uint32_t i = 0; i < 100; i++) {
        casty_mpsc_node *n = casty__mpsc_pop(&q);
        assert_non_null(n);
        assert_int_equal(item_of(n)->seq, i);
    }
    assert_null(casty__mpsc_pop(&q));
    assert_true(casty__mpsc_empty(&q));
    /* Once drained, the next push reports an empty queue again. */
    assert_true(casty__mpsc_push(&q, &items[7].link));
    assert_ptr_equal(casty__mpsc_pop(&q), &items[7].link);
    assert_true(casty__mpsc_empty(&q));
}

static void test_mpsc_interleaved_push_pop_and_reuse(void **state)
{
    (void)state;
    casty_mpsc q;
    item items[8];
    casty__mpsc_init(&q);
    uint32_t next_in = 0, next_out = 0;
    /* Uneven rounds pass the stub through the queue many times. */
    for (uint32_t round = 0; round < 10000; round++) {
        uint32_t k = 1 + round % 3;
        for (uint32_t i = 0; i < k && next_in - next_out < 8; i++, next_in++) {
            item *it = &items[next_in % 8];
            it->seq = next_in;
            /* The node was popped before, so it is ours to push again. */
            casty__mpsc_push(&q, &it->link);
        }
        for (uint32_t i = 0; i < 2; i++) {
            casty_mpsc_node *n = casty__mpsc_pop(&q);
            if (!n) {
                assert_int_equal(next_in, next_out);
                break;
            }
            assert_int_equal(item_of(n)->seq, next_out++);
        }
    }
    casty_mpsc_node *n;
    while ((n = casty__mpsc_pop(&q)) != NULL)
        assert_int_equal(item_of(n)->seq, next_out++);
    assert_int_equal(next_in, next_out);
    assert_true(casty__mpsc_empty(&q));
}

typedef struct stress {
    casty_mpsc q;
    item *items[PRODUCERS];
    pthread_t threads[PRODUCERS];
    uint32_t ids[PRODUCERS];
    _Atomic uint32_t hints; /* pushes that reported an empty queue */
} stress;

static stress *S;

static void *producer(void *arg)
{
    uint32_t id = *(uint32_t *)arg;
    item *items = S->items[id];
    uint32_t hints = 0;
    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        items[i].producer = id;
        items[i].seq = i;
        hints += casty__mpsc_push(&S->q, &items[i].link);
    }
    /* Relaxed: read by the main thread after pthread_join, which orders it. */
    atomic_fetch_add_explicit(&S->hints, hints, memory_order_relaxed);
    return NULL;
}

static uint64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* Consumer loop in the main thread; returns how many nodes arrived in order. */
static uint64_t consume(uint32_t *next_seq)
{
    uint64_t total = (uint64_t)PRODUCERS * PER_PRODUCER, got = 0;
    uint64_t deadline = now_s() + STRESS_LIMIT_S;
    uint32_t idle = 0;
    while (got < total) {
        casty_mpsc_node *n = casty__mpsc_pop(&S->q);
        if (!n) {
            /* Empty, or a producer is between its exchange and its link. */
            if (++idle % 64 == 0) {
                if (now_s() > deadline)
                    break;
                sched_yield();
            }
            continue;
        }
        item *it = item_of(n);
        assert_true(it->producer < PRODUCERS);
        assert_int_equal(it->seq, next_seq[it->producer]);
        next_seq[it->producer]++;
        got++;
    }
    return got;
}

static void test_mpsc_four_producers_keep_per_producer_fifo(void **state)
{
    (void)state;
    S = casty__mem_aligned(CASTY_CACHELINE, sizeof(*S));
    assert_non_null(S);
    casty__mpsc_init(&S->q);
    atomic_init(&S->hints, 0);
    for (uint32_t p = 0; p < PRODUCERS; p++) {
        S->items[p] = casty__mem_calloc(PER_PRODUCER, sizeof(item));
        assert_non_null(S->items[p]);
        S->ids[p] = p;
    }
    for (uint32_t p = 0; p < PRODUCERS; p++)
        assert_int_equal(pthread_create(&S->threads[p], NULL, producer, &S->ids[p]), 0);
    uint32_t next_seq[PRODUCERS] = {0};
    uint64_t got = consume(next_seq);
    for (uint32_t p = 0; p < PRODUCERS; p++)
        pthread_join(S->threads[p], NULL);
    assert_int_equal(got, (uint64_t)PRODUCERS * PER_PRODUCER);
    for (uint32_t p = 0; p < PRODUCERS; p++)
        assert_int_equal(next_seq[p], PER_PRODUCER);
    assert_null(casty__mpsc_pop(&S->q));
    assert_true(casty__mpsc_empty(&S->q));
    assert_true(atomic_load_explicit(&S->hints, memory_order_relaxed) >= 1); /* After the joins. */
    for (uint32_t p = 0; p < PRODUCERS; p++)
        casty__mem_free(S->items[p]);
    casty__mem_free(S);
    S = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpsc_starts_empty),
        cmocka_unit_test(test_mpsc_single_thread_fifo),
        cmocka_unit_test(test_mpsc_interleaved_push_pop_and_reuse),
        cmocka_unit_test(test_mpsc_four_producers_keep_per_producer_fifo),
    };
    return cmocka_run_group_tests_name("core/mpsc", tests, NULL, NULL);
}
