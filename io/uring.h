/*
 * Per-shard io_uring: ring setup with the best flags the kernel accepts, the
 * eventfd used to wake a sleeping shard, and the one blocking call of a shard's
 * loop. Owner thread only, except casty__io_wake(), which any thread may call.
 * This is the only module (with io/uring.c) that includes <liburing.h>.
 */
#ifndef CASTY_IO_URING_H
#define CASTY_IO_URING_H

#include <stdbool.h>
#include <stdint.h>

struct casty_net;

typedef struct casty_io {
    void *ring;            /* struct io_uring, allocated by io/uring.c */
    struct casty_net *net; /* sockets on this ring (io/net_uring.h), created on first use */
    int eventfd;
    bool efd_armed;
    bool single_issuer;
    bool defer_taskrun;
    uint64_t efd_value;
    uint64_t submits; /* io_uring_enter calls */
} casty_io;

/* Create the ring on the calling (shard) thread. 0, -ENOSYS, -ENOMEM, or -errno. */
int casty__io_init(casty_io *io, uint32_t entries, int eventfd);
void casty__io_destroy(casty_io *io);

/*
 * Sleep until the eventfd is written, a completion arrives, or timeout_ns
 * passes (UINT64_MAX = no timeout); submits queued SQEs in the same call.
 */
void casty__io_wait(casty_io *io, uint64_t timeout_ns);

/* Reap completions without blocking (and submit queued SQEs if any). */
void casty__io_poll(casty_io *io);

/*
 * The shard's network (io/net.h) on this ring, created on first use; NULL if
 * it cannot be (then errno-style *err). Owner thread only.
 */
struct casty_net *casty__io_net(casty_io *io, int *err);

/* Absolute deadline of the net's earliest timer, or UINT64_MAX. */
uint64_t casty__io_next_deadline(casty_io *io);

/* Wake the shard sleeping on `eventfd`. Any thread. */
void casty__io_wake(int eventfd);

/* A quick probe of io_uring on this kernel: 0, or -errno (e.g. -ENOSYS). */
int casty__io_probe(void);

#endif
