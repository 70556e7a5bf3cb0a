/*
 * The io_uring backend of io/net.h: real TCP and UDP sockets.
 *
 * Every operation only prepares SQEs; they reach the kernel together in the
 * next casty_net_uring_poll(), which submits, waits (bounded by the timeout and
 * the earliest timer), reaps every completion and dispatches its event. So a
 * turn that sends to fifty peers costs one io_uring_enter, not fifty syscalls.
 *
 * Kernel features are used when present and fall back cleanly when not:
 * multishot accept, multishot recv/recvmsg into a provided-buffer ring (one
 * buffer pool shared by every socket of this net, instead of a buffer per
 * socket), SINGLE_ISSUER + DEFER_TASKRUN. Timers are a user-space heap: they
 * cost no SQE and no CQE, only the wait timeout.
 *
 * A casty_net_uring belongs to the thread that created it (SINGLE_ISSUER binds
 * the ring to that thread): create it on the thread that polls it.
 */
#ifndef CASTY_IO_NET_URING_H
#define CASTY_IO_NET_URING_H

#include <stdbool.h>
#include <stdint.h>

#include "io/net.h"

typedef struct casty_net_uring_opts {
    uint32_t entries;     /* SQ entries; 0 = 1024 */
    uint32_t buf_size;    /* provided-buffer size; 0 = 32 KiB */
    uint32_t buf_count;   /* provided buffers, a power of two; 0 = 128 */
    uint32_t dgram_slots; /* datagrams in flight at once; 0 = 1024 */
    bool no_multishot;    /* force the one-shot fallbacks (tests, old kernels) */
    /*
     * Stream sends of at least zc_min bytes use SENDMSG_ZC (zero copy) when the
     * kernel has it. 0 (default) = never: on loopback, zero copy halved T1's
     * throughput (2.1 vs 3.0-4.5 GB/s with 256 KiB sends), because local
     * delivery copies anyway and the notification costs a second completion.
     * Worth trying (e.g. 64 KiB) on a real NIC with large messages.
     */
    uint32_t zc_min;
} casty_net_uring_opts;

/* Features the running kernel accepted (after create). */
typedef struct casty_net_uring_info {
    bool single_issuer;
    bool multishot_accept;
    bool multishot_recv;
    bool buf_ring;
    bool send_zc;
} casty_net_uring_info;

/* 0 with *out set, or -ENOSYS (no io_uring), -ENOMEM, -EINVAL. */
int casty_net_uring_create(const casty_net_uring_opts *opts, casty_net **out);
/* Closes every socket and frees everything (no events are delivered). */
void casty_net_uring_destroy(casty_net *net);

/*
 * Submit what is queued, wait up to timeout_ns (0 = do not block, UINT64_MAX =
 * until something happens) for completions or the earliest timer, then
 * dispatch every completion and due timer. Returns the events dispatched,
 * or a negative errno if the ring failed.
 */
int casty_net_uring_poll(casty_net *net, uint64_t timeout_ns);

void casty_net_uring_info_get(casty_net *net, casty_net_uring_info *out);

/*
 * Shard embedding (io/uring.c): a net on a ring that its shard owns, submits
 * and reaps. The shard hands each completion whose user_data is not its own
 * to casty__net_uring_complete(), calls casty__net_uring_after() once per
 * batch (due timers, re-arms), and bounds its sleep by
 * casty__net_uring_next_timer() (absolute CLOCK_MONOTONIC ns, or UINT64_MAX).
 * The net's user_data values never equal UINT64_MAX (the shard's own tag).
 */
struct io_uring;
int casty__net_uring_attach(struct io_uring *ring, bool single_issuer,
                            const casty_net_uring_opts *opts, casty_net **out);
void casty__net_uring_complete(casty_net *net, uint64_t user_data, int res, uint32_t flags);
void casty__net_uring_after(casty_net *net);
uint64_t casty__net_uring_next_timer(casty_net *net);

#endif
