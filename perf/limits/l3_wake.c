/*
 * L3 kernel floor (WORKLOADS.md):
 *  - io_uring NOP throughput at batch 1, 16 and 64 (one thread; one
 *    io_uring_enter per batch), the cost under every submission a shard makes;
 *  - the round trip of waking a sleeping thread on the other core and being
 *    woken back, by IORING_OP_MSG_RING, eventfd and futex. Each side sleeps in
 *    the kernel (no spinning), so one-way (round trip / 2) is the price of one
 *    wake, the most a message to a sleeping shard should ever cost.
 *
 *   usage: l3_wake [--n N] [--wake-n N]
 * Prints: L3 limit rate=... ns_per_op=... n=... batch=1|16|64 mode=nop placement=same-thread
 *         L3 limit p50_ns=... p99_ns=... p999_ns=... max_ns=... mean_ns=... oneway_p50_ns=... n=...
 *                  mode=msg_ring|eventfd|futex placement=cross-core
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../harness.h"

#define MSG_IN 0x5a5a /* user_data of a CQE posted by the peer's MSG_RING */

static void nop_rate(int64_t n, unsigned batch)
{
    struct io_uring ring;
    perf_uring_check(io_uring_queue_init(64, &ring, 0));
    uint64_t t0 = 0;
    int64_t done = 0;
    for (int round = 0; round < 2; round++) { /* round 0 is the warm-up */
        int64_t target = round == 0 ? n / 10 + (int64_t)batch : n;
        t0 = perf_now_ns();
        for (done = 0; done < target; done += batch) {
            for (unsigned k = 0; k < batch; k++)
                io_uring_prep_nop(io_uring_get_sqe(&ring));
            perf_check(io_uring_submit_and_wait(&ring, batch), "io_uring_submit_and_wait");
            struct io_uring_cqe *cqe;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring, head, cqe)
            {
                seen++;
            }
            io_uring_cq_advance(&ring, seen);
        }
    }
    uint64_t t = perf_now_ns() - t0;
    io_uring_queue_exit(&ring);
    printf("L3 limit rate=%.0f ns_per_op=%.1f n=%" PRId64 " batch=%u mode=nop"
           " placement=same-thread\n",
           (double)done / ((double)t / 1e9), (double)t / (double)done, done, batch);
}

/* One side of a wake round trip: its way of sleeping and of waking the other side. */
typedef struct side side;
struct side {
    side *peer;
    int efd;               /* eventfd mode */
    _Atomic uint32_t word; /* futex mode: 1 = woken */
    struct io_uring ring;  /* msg_ring mode */
};

typedef enum { MODE_MSG_RING, MODE_EVENTFD, MODE_FUTEX } wake_mode;
static const char *const mode_names[] = {"msg_ring", "eventfd", "futex"};

static void wake(side *s, wake_mode mode)
{
    side *p = s->peer;
    switch (mode) {
    case MODE_MSG_RING: {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
        io_uring_prep_msg_ring(sqe, p->ring.ring_fd, 0, MSG_IN, 0);
        io_uring_sqe_set_data64(sqe, 0); /* our own completion, told apart from MSG_IN */
        perf_check(io_uring_submit(&s->ring), "submit MSG_RING");
        return;
    }
    case MODE_EVENTFD:
        if (eventfd_write(p->efd, 1) < 0)
            perf_check(-errno, "eventfd_write");
        return;
    case MODE_FUTEX:
        /* Release: the peer's acquire load in sleep_until_woken() sees the flag set. */
        atomic_store_explicit(&p->word, 1, memory_order_release);
        syscall(SYS_futex, &p->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        return;
    }
}

static void sleep_until_woken(side *s, wake_mode mode)
{
    switch (mode) {
    case MODE_MSG_RING:
        for (;;) { /* skip the completion of our own MSG_RING submission */
            struct io_uring_cqe *cqe;
            perf_check(io_uring_wait_cqe(&s->ring, &cqe), "io_uring_wait_cqe");
            bool incoming = cqe->user_data == MSG_IN;
            io_uring_cqe_seen(&s->ring, cqe);
            if (incoming)
                return;
        }
    case MODE_EVENTFD: {
        eventfd_t v;
        if (eventfd_read(s->efd, &v) < 0)
            perf_check(-errno, "eventfd_read");
        return;
    }
    case MODE_FUTEX:
        /* Acquire: pairs with the waker's release store. */
        while (atomic_load_explicit(&s->word, memory_order_acquire) == 0)
            syscall(SYS_futex, &s->word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        atomic_store_explicit(&s->word, 0, memory_order_relaxed);
        return;
    }
}

typedef struct {
    side *b;
    wake_mode mode;
    int64_t n;
} echo_job;

static void *echo(void *arg)
{
    echo_job *j = arg;
    (void)perf_pin_self(1);
    for (int64_t i = 0; i < j->n; i++) {
        sleep_until_woken(j->b, j->mode);
        wake(j->b, j->mode);
    }
    return NULL;
}

static void side_init(side *s, side *peer)
{
    memset(s, 0, sizeof(*s));
    s->peer = peer;
    s->efd = eventfd(0, EFD_CLOEXEC);
    if (s->efd < 0)
        perf_check(-errno, "eventfd");
    perf_uring_check(io_uring_queue_init(8, &s->ring, 0));
}

static void side_destroy(side *s)
{
    close(s->efd);
    io_uring_queue_exit(&s->ring);
}

static void wake_rtt(int64_t n, wake_mode mode)
{
    static side a, b;
    side_init(&a, &b);
    side_init(&b, &a);
    int64_t warm = n / 10 + 1;
    echo_job j = {.b = &b, .mode = mode, .n = warm + n};
    pthread_t t;
    if (pthread_create(&t, NULL, echo, &j) != 0)
        perf_check(-EAGAIN, "pthread_create");
    (void)perf_pin_self(0);
    uint64_t *samples = perf_alloc_touched((size_t)n * sizeof(uint64_t));
    for (int64_t i = 0; i < warm + n; i++) {
        uint64_t t0 = perf_now_ns();
        wake(&a, mode);
        sleep_until_woken(&a, mode);
        if (i >= warm)
            samples[i - warm] = perf_now_ns() - t0;
    }
    pthread_join(t, NULL);
    perf_pcts p = perf_percentiles(samples, (size_t)n);
    printf("L3 limit p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
           " mean_ns=%.1f oneway_p50_ns=%.1f n=%" PRId64 " mode=%s placement=cross-core\n",
           p.p50, p.p99, p.p999, p.max, p.mean, (double)p.p50 / 2, n, mode_names[mode]);
    free(samples);
    side_destroy(&a);
    side_destroy(&b);
}

int main(int argc, char **argv)
{
    int64_t n = 5000000, wake_n = 20000;
    for (int i = 1; i < argc; i++)
        if (!perf_opt_i64(argc, argv, &i, "--n", &n) &&
            !perf_opt_i64(argc, argv, &i, "--wake-n", &wake_n))
            perf_usage(argv[0], "[--n N] [--wake-n N]");
    if (n < 64 || wake_n < 1)
        perf_usage(argv[0], "[--n N >= 64] [--wake-n N >= 1]");
    static const unsigned batches[] = {1, 16, 64};
    for (int k = 0; k < 3; k++)
        nop_rate(n, batches[k]);
    for (int m = MODE_MSG_RING; m <= MODE_FUTEX; m++)
        wake_rtt(wake_n, (wake_mode)m);
    return 0;
}
