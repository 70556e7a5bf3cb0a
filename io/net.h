/*
 * The network seam: sockets, datagrams and timers as one small interface with
 * two backends.
 *
 *   - io/net_uring.c: real sockets driven by an io_uring (batched submissions,
 *     multishot accept and receive into provided buffers where the kernel has
 *     them, plain one-shot operations where it does not).
 *   - io/net_sim.c: an in-memory network with a virtual clock and seeded loss,
 *     delay, duplication, reordering and partitions, so that the protocol code
 *     above (transport, SWIM) runs deterministically, many nodes in one thread.
 *
 * Protocol code talks only to this header. Everything is single-threaded: a
 * casty_net belongs to one thread (a shard, a test, a simulation), and events
 * are delivered by calling the handle's callback from inside that thread's
 * poll (uring) or the simulation's step (sim), never re-entrantly from an
 * operation call itself.
 *
 * Handles are small non-negative integers private to one casty_net (they are
 * not file descriptors). Every call returns 0 or a handle on success, or a
 * negative errno-style code (-EBADF for a handle that is not open or is of
 * the wrong kind, -EINVAL for bad arguments).
 *
 * A handle number is dead after its final event (a fired TIMER, a failed
 * CONNECT) or after close(); the backend may give the number to a new handle
 * at once, so forget it then (cancelling a dead timer number could hit a new
 * handle). A failed CONNECT's handle is freed after its callback returns;
 * closing it inside that callback is allowed. close() also cancels a timer.
 * A stream that dies with a send in flight reports SENT(-errno) before
 * CLOSED. `addr` is filled for ACCEPT (the peer) and DGRAM (the sender).
 */
#ifndef CASTY_IO_NET_H
#define CASTY_IO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* An IPv4 endpoint. `ip` is in host byte order (0x7f000001 = 127.0.0.1). */
typedef struct casty_addr {
    uint32_t ip;
    uint16_t port;
} casty_addr;

/* Parse "a.b.c.d:port" or "localhost:port". 0 or -EINVAL. */
int casty_addr_parse(const char *text, casty_addr *out);
/* Format as "a.b.c.d:port" into buf (>= 22 bytes); returns buf. */
char *casty_addr_format(const casty_addr *addr, char *buf, size_t cap);
static inline bool casty_addr_eq(const casty_addr *a, const casty_addr *b)
{
    return a->ip == b->ip && a->port == b->port;
}

typedef enum casty_net_ev_kind {
    CASTY_NET_ACCEPT,  /* listener `handle` accepted `conn` from `addr` (callback inherited) */
    CASTY_NET_CONNECT, /* `result`: 0 connected, or -errno (then the handle is closed) */
    CASTY_NET_RECV,    /* `data`/`len` read from the stream (valid during the callback only) */
    CASTY_NET_CLOSED,  /* stream ended: `result` 0 (orderly EOF) or -errno; close the handle */
    CASTY_NET_SENT,    /* the send with `tag` finished: `result` bytes, or -errno */
    CASTY_NET_DGRAM,   /* datagram `data`/`len` from `addr` */
    CASTY_NET_TIMER,   /* timer with `tag` fired (`handle` is the timer id) */
} casty_net_ev_kind;

typedef struct casty_net_event {
    casty_net_ev_kind kind;
    int handle;
    int conn;   /* CASTY_NET_ACCEPT: the new stream's handle */
    int result; /* see the kinds above */
    uint64_t tag;
    const uint8_t *data;
    uint32_t len;
    casty_addr addr;
} casty_net_event;

typedef void (*casty_net_fn)(void *user, const casty_net_event *ev);

/* Counters every backend keeps (for the batching figures in perf/). */
typedef struct casty_net_stats {
    uint64_t submits;       /* kernel entries (uring) or scheduler steps (sim) */
    uint64_t ops;           /* operations issued (SQEs or simulated ops) */
    uint64_t bytes_sent;    /* stream bytes accepted by send completions */
    uint64_t bytes_recv;    /* stream bytes delivered */
    uint64_t dgrams_sent;   /* datagrams handed to the network */
    uint64_t dgrams_recv;   /* datagrams delivered */
    uint64_t dgrams_drop;   /* datagrams dropped locally (queue full, loss in sim) */
    uint64_t accepts;       /* streams accepted */
    uint64_t recv_bufs_out; /* uring: provided-buffer exhaustion events (ENOBUFS re-arms) */
    uint64_t zc_sends;      /* uring: stream sends that went zero-copy (SENDMSG_ZC) */
} casty_net_stats;

typedef struct casty_net casty_net;

/* The backend's function table; protocol code uses the wrappers below. */
typedef struct casty_net_ops {
    int (*listen)(casty_net *net, const casty_addr *bind, casty_net_fn fn, void *user);
    int (*connect)(casty_net *net, const casty_addr *to, casty_net_fn fn, void *user);
    int (*send)(casty_net *net, int h, const struct iovec *iov, int iovcnt, uint64_t tag);
    int (*recv_pause)(casty_net *net, int h, bool paused);
    int (*udp_bind)(casty_net *net, const casty_addr *bind, casty_net_fn fn, void *user);
    int (*sendto)(casty_net *net, int h, const casty_addr *to, const void *buf, uint32_t len);
    int (*close)(casty_net *net, int h);
    int (*local_addr)(casty_net *net, int h, casty_addr *out);
    int (*set_user)(casty_net *net, int h, casty_net_fn fn, void *user);
    int (*timer)(casty_net *net, uint64_t delay_ns, casty_net_fn fn, void *user, uint64_t tag);
    int (*timer_cancel)(casty_net *net, int timer);
    uint64_t (*now)(casty_net *net);
    void (*stats)(casty_net *net, casty_net_stats *out);
} casty_net_ops;

struct casty_net {
    const casty_net_ops *ops;
};

/* Largest datagram casty_net_sendto() accepts (fits a 1500-byte MTU). */
#define CASTY_NET_DGRAM_MAX 1400u

/*
 * Listen for TCP streams on `bind` (port 0 picks one; see local_addr).
 * Accepted streams start with the listener's callback; re-point them with
 * casty_net_set_user(). Returns the listener handle.
 */
static inline int casty_net_listen(casty_net *net, const casty_addr *bind, casty_net_fn fn,
                                   void *user)
{
    return net->ops->listen(net, bind, fn, user);
}

/* Start a TCP connect; CASTY_NET_CONNECT reports the outcome. Returns the handle. */
static inline int casty_net_connect(casty_net *net, const casty_addr *to, casty_net_fn fn,
                                    void *user)
{
    return net->ops->connect(net, to, fn, user);
}

/*
 * Send every byte of `iov` on stream `h` (the backend finishes short writes),
 * then report CASTY_NET_SENT with `tag`. One send per stream may be in flight
 * (-EBUSY otherwise); the buffers must stay untouched until SENT. At most 64
 * iovecs (-EINVAL).
 */
static inline int casty_net_send(casty_net *net, int h, const struct iovec *iov, int iovcnt,
                                 uint64_t tag)
{
    return net->ops->send(net, h, iov, iovcnt, tag);
}

/* Stop (true) or resume (false) delivering CASTY_NET_RECV for stream `h`. */
static inline int casty_net_recv_pause(casty_net *net, int h, bool paused)
{
    return net->ops->recv_pause(net, h, paused);
}

/* Bind a UDP socket; datagrams arrive as CASTY_NET_DGRAM. Returns the handle. */
static inline int casty_net_udp_bind(casty_net *net, const casty_addr *bind, casty_net_fn fn,
                                     void *user)
{
    return net->ops->udp_bind(net, bind, fn, user);
}

/*
 * Queue one datagram (copied; len <= CASTY_NET_DGRAM_MAX, else -EMSGSIZE).
 * -EAGAIN when the backend's datagram queue is full (the datagram is not
 * sent). With io_uring, datagrams queued in one turn leave in one submission.
 */
static inline int casty_net_sendto(casty_net *net, int h, const casty_addr *to, const void *buf,
                                   uint32_t len)
{
    return net->ops->sendto(net, h, to, buf, len);
}

/* Close any handle. No event for it is delivered after this returns. */
static inline int casty_net_close(casty_net *net, int h)
{
    return net->ops->close(net, h);
}

/* The bound (listener, UDP) or local (stream) address of `h`. */
static inline int casty_net_local_addr(casty_net *net, int h, casty_addr *out)
{
    return net->ops->local_addr(net, h, out);
}

/* Re-point the callback of handle `h` (e.g. an accepted stream). */
static inline int casty_net_set_user(casty_net *net, int h, casty_net_fn fn, void *user)
{
    return net->ops->set_user(net, h, fn, user);
}

/* A one-shot timer; CASTY_NET_TIMER carries `tag`. Returns the timer id. */
static inline int casty_net_timer(casty_net *net, uint64_t delay_ns, casty_net_fn fn, void *user,
                                  uint64_t tag)
{
    return net->ops->timer(net, delay_ns, fn, user, tag);
}

/* Cancel a pending timer: 0, or -ENOENT if it already fired or never was. */
static inline int casty_net_timer_cancel(casty_net *net, int timer)
{
    return net->ops->timer_cancel(net, timer);
}

/* Monotonic (uring) or virtual (sim) time in nanoseconds. */
static inline uint64_t casty_net_now(casty_net *net)
{
    return net->ops->now(net);
}

static inline void casty_net_stats_get(casty_net *net, casty_net_stats *out)
{
    net->ops->stats(net, out);
}

#endif
