/*
 * L1 same-thread floor (WORKLOADS.md): push a pointer into a ring, pop it and
 * call through a function pointer, all on one thread: the least a same-shard
 * message can cost (enqueue, dequeue, dispatch) with no allocation and no
 * copy. The compiler barrier keeps the slot store and load in memory, and the
 * handler is read through a volatile pointer so the call stays indirect.
 *
 *   usage: l1_ring [--n N]
 * Prints: L1 limit ns_per_op=... rate=... n=... placement=same-thread
 */
#include <inttypes.h>
#include <stdio.h>

#include "../harness.h"

#define SLOTS 256 /* power of two */

typedef struct {
    void *slot[SLOTS];
    uint32_t head, tail;
} ring;

typedef struct {
    uint64_t sum;
} item;

static void handle(void *p)
{
    ((item *)p)->sum++;
}

static void (*volatile handler)(void *) = handle;

static uint64_t run(ring *r, item *items, int64_t n)
{
    uint64_t t0 = perf_now_ns();
    for (int64_t i = 0; i < n; i++) {
        r->slot[r->tail++ & (SLOTS - 1)] = &items[i & 7];
        __asm__ volatile("" ::: "memory");
        void *p = r->slot[r->head++ & (SLOTS - 1)];
        handler(p);
    }
    return perf_now_ns() - t0;
}

int main(int argc, char **argv)
{
    int64_t n = 100000000;
    for (int i = 1; i < argc; i++)
        if (!perf_opt_i64(argc, argv, &i, "--n", &n))
            perf_usage(argv[0], "[--n N]");
    if (n < 1)
        perf_usage(argv[0], "[--n N >= 1]");
    static ring r;
    static item items[8];
    run(&r, items, n / 10 + 1); /* warm-up */
    uint64_t t = run(&r, items, n);
    uint64_t total = 0;
    for (int i = 0; i < 8; i++)
        total += items[i].sum;
    if (total != (uint64_t)(n + n / 10 + 1))
        return 1;
    printf("L1 limit ns_per_op=%.2f rate=%.0f n=%" PRId64 " placement=same-thread\n",
           (double)t / (double)n, (double)n / ((double)t / 1e9), n);
    return 0;
}
