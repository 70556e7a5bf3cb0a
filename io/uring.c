/*
 * io_uring for one shard. The ring is created on the shard's own thread so
 * that IORING_SETUP_SINGLE_ISSUER binds to it; DEFER_TASKRUN keeps completion
 * work on that thread too, run only when the shard asks for events. Kernels
 * that reject those flags get a plain ring (the flags are optimisations, not
 * semantics). A read on the shard's eventfd is kept armed, so a producer on
 * another thread wakes a sleeping shard with one write(2).
 */
#include "io/uring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "io/net_uring.h"

/* The eventfd read; every other completion belongs to the shard's net. */
#define EFD_TAG UINT64_MAX

static int ring_setup(casty_io *io, struct io_uring *ring, uint32_t entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    int rc = io_uring_queue_init_params(entries, ring, &p);
    if (rc == 0) {
        io->single_issuer = true;
        io->defer_taskrun = true;
        return 0;
    }
    /* Older kernels: -EINVAL for unknown flags; retry with the plainest ring. */
    memset(&p, 0, sizeof(p));
    return io_uring_queue_init_params(entries, ring, &p);
}

static void arm_eventfd(casty_io *io)
{
    struct io_uring *ring = io->ring;
    if (io->efd_armed)
        return;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        /* Full submission queue: flush it and retry once; the ring is sized for this. */
        io_uring_submit(ring);
        io->submits++;
        sqe = io_uring_get_sqe(ring);
        CASTY_ASSERT(sqe != NULL);
    }
    io_uring_prep_read(sqe, io->eventfd, &io->efd_value, sizeof(io->efd_value), 0);
    io_uring_sqe_set_data64(sqe, EFD_TAG);
    io->efd_armed = true;
}

int casty__io_init(casty_io *io, uint32_t entries, int eventfd)
{
    memset(io, 0, sizeof(*io));
    io->eventfd = eventfd;
    struct io_uring *ring = casty__mem_calloc(1, sizeof(*ring));
    if (!ring)
        return -ENOMEM;
    int rc = ring_setup(io, ring, entries);
    if (rc < 0) {
        casty__mem_free(ring);
        return rc == -EPERM || rc == -ENOSYS ? -ENOSYS : rc;
    }
    io->ring = ring;
    arm_eventfd(io);
    return 0;
}

void casty__io_destroy(casty_io *io)
{
    if (!io->ring)
        return;
    if (io->net) {
        casty_net_uring_destroy(io->net);
        io->net = NULL;
    }
    io_uring_queue_exit(io->ring);
    casty__mem_free(io->ring);
    io->ring = NULL;
}

/* Consume every ready completion: the eventfd read, and the net's operations. */
static void reap(casty_io *io)
{
    struct io_uring *ring = io->ring;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe)
    {
        uint64_t ud = io_uring_cqe_get_data64(cqe);
        if (ud == EFD_TAG)
            io->efd_armed = false;
        else if (io->net)
            casty__net_uring_complete(io->net, ud, cqe->res, cqe->flags);
        seen++;
    }
    if (seen)
        io_uring_cq_advance(ring, seen);
    if (io->net)
        casty__net_uring_after(io->net); /* due timers, re-armed receives */
    arm_eventfd(io);
}

struct casty_net *casty__io_net(casty_io *io, int *err)
{
    if (io->net || !io->ring)
        return io->net;
    int rc = casty__net_uring_attach(io->ring, io->single_issuer, NULL, &io->net);
    if (rc < 0 && err)
        *err = rc;
    return io->net;
}

uint64_t casty__io_next_deadline(casty_io *io)
{
    return io->net ? casty__net_uring_next_timer(io->net) : UINT64_MAX;
}

void casty__io_wait(casty_io *io, uint64_t timeout_ns)
{
    struct io_uring *ring = io->ring;
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts, *tsp = NULL;
    arm_eventfd(io);
    if (timeout_ns != UINT64_MAX) {
        ts.tv_sec = (long long)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long long)(timeout_ns % 1000000000u);
        tsp = &ts;
    }
    /* One syscall submits what is queued and sleeps for a completion or the timeout. */
    int rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, tsp, NULL);
    io->submits++;
    (void)rc; /* -ETIME and -EINTR are ordinary wake-ups; the loop re-checks its work. */
    reap(io);
}

void casty__io_poll(casty_io *io)
{
    struct io_uring *ring = io->ring;
    if (io_uring_sq_ready(ring)) {
        io_uring_submit(ring);
        io->submits++;
    }
    /* With DEFER_TASKRUN, completions are only posted when we enter for events. */
    if (io->defer_taskrun && (!io->efd_armed || io->net))
        io_uring_get_events(ring);
    reap(io);
}

void casty__io_wake(int eventfd)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated, which still wakes; nothing else can fail here. */
    ssize_t n = write(eventfd, &one, sizeof(one));
    (void)n;
}

int casty__io_probe(void)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0)
        return rc == -EPERM ? -ENOSYS : rc;
    io_uring_queue_exit(&ring);
    return 0;
}
