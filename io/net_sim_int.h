/*
 * Internals of the simulated network shared by io/net_sim.c (the world,
 * the event loop, nodes), io/net_sim_ops.c (handles, datagrams, timers),
 * io/net_sim_tcp.c and io/net_sim_pipe.c (streams, with their own
 * io/net_sim_conn.h). Not for protocol code: that sees only io/net.h and
 * io/net_sim.h.
 *
 * Invariants: an event that points at a connection holds one reference on
 * it; a connection is freed when no event points at it and neither end is
 * attached to a handle. A node is reached from events only through its index
 * in sim->nodes (NULL once killed), never by pointer, so events outlive
 * nodes safely. Owner thread only.
 */
#ifndef CASTY_IO_NET_SIM_INT_H
#define CASTY_IO_NET_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/rand.h"
#include "core/u64map.h"
#include "io/net.h"
#include "io/net_sim.h"
#include "io/evheap.h"

#define SIM_NS_PER_MS  1000000ull
#define SIM_NS_PER_SEC 1000000000ull

/* Largest RECV chunk, and the largest segment one pump puts on the wire. */
#define SIM_CHUNK_MAX (64u * 1024u)
/* TCP retransmission: first RTO after a loss or a held segment, and its cap. */
#define SIM_TCP_RTO_NS     (200 * SIM_NS_PER_MS)
#define SIM_TCP_RTO_MAX_NS (2 * SIM_NS_PER_SEC)
#define SIM_SYN_RTO_NS     (1 * SIM_NS_PER_SEC)
/* Receiver wake-up jitter after bytes arrive: lets close arrivals coalesce. */
#define SIM_RECV_JITTER_NS 20000u

typedef enum sim_ev_kind {
    SIM_EV_TIMER = 1,      /* a = node index, b = handle, u64 = handle generation */
    SIM_EV_DGRAM,          /* ptr = sim_dgram */
    SIM_EV_SYN_SEND,       /* ptr = conn: (re)transmit the SYN */
    SIM_EV_SYN_ARRIVE,     /* ptr = conn: the SYN reaches the listener's host */
    SIM_EV_CONNECT_DONE,   /* ptr = conn, b = result: SYN-ACK or RST reaches the dialer */
    SIM_EV_CONNECT_EXPIRE, /* ptr = conn: connect_timeout reached */
    SIM_EV_PUMP,           /* ptr = conn, a = pipe: sender moves bytes into the window */
    SIM_EV_ARRIVE,         /* ptr = conn, a = pipe: a segment reaches the receiver's host */
    SIM_EV_DELIVER,        /* ptr = conn, a = pipe: one RECV (or the CLOSED(0)) */
    SIM_EV_RETRY,          /* ptr = conn, a = pipe: retransmission of held bytes */
    SIM_EV_RESET,          /* ptr = conn, a = end, b = -errno: the end dies */
} sim_ev_kind;

typedef enum sim_handle_kind {
    SIM_H_FREE = 0,
    SIM_H_LISTEN,
    SIM_H_UDP,
    SIM_H_STREAM,
    SIM_H_TIMER,
} sim_handle_kind;

struct sim_conn;

typedef struct sim_handle {
    uint8_t kind;  /* sim_handle_kind */
    uint8_t side;  /* SIM_H_STREAM: which end of conn */
    uint16_t port; /* SIM_H_LISTEN, SIM_H_UDP: the bound port */
    uint32_t gen;  /* bumped at every free: stale timer events see a mismatch */
    uint32_t bind_ip;
    int32_t next_free; /* free list link while SIM_H_FREE */
    casty_net_fn fn;
    void *user;
    union {
        struct sim_conn *conn; /* SIM_H_STREAM */
        uint64_t tag;          /* SIM_H_TIMER */
    };
} sim_handle;

typedef struct sim_bound {
    uint16_t port;
    uint8_t kind; /* SIM_H_LISTEN or SIM_H_UDP: TCP and UDP ports are separate spaces */
    int32_t h;
} sim_bound;

typedef struct sim_node {
    casty_net net; /* first: ops and the public handle */
    casty_sim *sim;
    uint32_t idx, ip;
    sim_handle *hs;
    uint32_t hs_len, hs_cap;
    int32_t free_head, free_tail; /* FIFO of free handles: oldest reused first */
    uint32_t free_count;
    sim_bound *bound;
    uint32_t bound_len, bound_cap;
    uint32_t next_eph;
    uint32_t dgrams_inflight;
    casty_net_stats stats;
} sim_node;

typedef struct sim_pair {
    casty_sim_link link;
    bool has_link;
    bool cut;
} sim_pair;

#define SIM_MAP_EMPTY UINT32_MAX       /* map_get: no such key */
#define SIM_IP_TOMB   (UINT32_MAX - 1) /* host up, process dead: connects refused */
#define SIM_IP_GONE   (UINT32_MAX - 2) /* no such host any more */

struct casty_sim {
    casty_evheap heap;
    uint64_t now_ns;
    uint64_t seq;
    casty_rng rng;
    casty_sim_link defaults;
    casty_sim_tcp tcp; /* resolved: no zero fields */
    sim_node **nodes;  /* by index; NULL once killed; indices are never reused */
    uint32_t nodes_len, nodes_cap;
    casty_u64map ips;   /* ip -> node index, SIM_IP_TOMB or SIM_IP_GONE */
    casty_u64map pairs; /* (low ip << 32 | high ip) -> index into pair[] */
    sim_pair *pair;
    uint32_t pair_len, pair_cap;
    uint32_t cuts;    /* pairs cut now: 0 skips every lookup */
    uint8_t *scratch; /* SIM_CHUNK_MAX bytes: the data of the RECV being delivered */
    uint64_t trace;
    casty_sim_stats stats;
    bool in_step;
};

static inline sim_node *sim_node_of(casty_net *net)
{
    return (sim_node *)(void *)net;
}

/* Longest delay an op accepts: now + delay cannot wrap for a century of virtual time. */
#define SIM_DELAY_MAX_NS (UINT64_MAX >> 2)

static inline uint64_t casty__sim_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* -- net_sim.c: world services for the ops -- */

uint64_t casty__sim_rand(casty_sim *sim);
uint64_t casty__sim_below(casty_sim *sim, uint64_t n);
bool casty__sim_chance(casty_sim *sim, uint32_t ppm);
const casty_sim_link *casty__sim_link(casty_sim *sim, uint32_t ip_a, uint32_t ip_b);
uint64_t casty__sim_delay(casty_sim *sim, const casty_sim_link *link);
bool casty__sim_cut(casty_sim *sim, uint32_t ip_a, uint32_t ip_b);

/* Room for n more events, so that an op can fail with -ENOMEM before changing anything. */
int casty__sim_reserve(casty_sim *sim, uint32_t n);
/* Queue *ev (its order is filled in here). Aborts on memory exhaustion. */
void casty__sim_push(casty_sim *sim, casty_ev *ev, sim_ev_kind kind);
/* Queue an event at time_ns (never before now). Aborts on memory exhaustion. */
void casty__sim_schedule(casty_sim *sim, uint64_t time_ns, sim_ev_kind kind, void *ptr, uint32_t a,
                         uint32_t b);

/* The live node with this IP, or NULL; *tomb tells whether the host is up without a process. */
sim_node *casty__sim_host(casty_sim *sim, uint32_t ip, bool *tomb);
/* The node with this index, or NULL once killed. */
sim_node *casty__sim_node_at(casty_sim *sim, uint32_t idx);

/* -- net_sim_ops.c: handles and the stream-less ops -- */

extern const casty_net_ops casty__sim_ops;
/* A new handle (FIFO reuse after a quarantine): its number, or -ENOMEM/-EMFILE. */
int casty__sim_handle_alloc(sim_node *n, sim_handle_kind kind, casty_net_fn fn, void *user);
void casty__sim_handle_free(sim_node *n, int h);
/* The handle h of node n if live, else NULL. */
sim_handle *casty__sim_handle(sim_node *n, int h);
/* The handle bound to port in that protocol (SIM_H_LISTEN or SIM_H_UDP), or -1. */
int casty__sim_bound_find(const sim_node *n, sim_handle_kind kind, uint16_t port);
uint16_t casty__sim_ephemeral(sim_node *n, sim_handle_kind kind);
/* Run a datagram arrival (ptr of SIM_EV_DGRAM) or a timer event popped from the queue. */
void casty__sim_run_dgram(casty_sim *sim, void *dgram);
void casty__sim_run_timer(casty_sim *sim, const casty_ev *ev);

/* Call fn(user, ev) for node n: counts it and folds it into the trace hash. */
void casty__sim_emit(sim_node *n, casty_net_fn fn, void *user, const casty_net_event *ev);

/* -- net_sim_tcp.c: streams (their internals: io/net_sim_conn.h) -- */

int casty__sim_connect(casty_net *net, const casty_addr *to, casty_net_fn fn, void *user);
int casty__sim_send(casty_net *net, int h, const struct iovec *iov, int iovcnt, uint64_t tag);
int casty__sim_recv_pause(casty_net *net, int h, bool paused);
/* The handle is closed (user close or kill); `abrupt`: the host vanished. Frees the handle. */
void casty__sim_stream_close(sim_node *n, int h, bool abrupt);
/* World teardown: detach without sending anything. Frees the handle. */
void casty__sim_stream_forget(sim_node *n, int h);
void casty__sim_stream_local_addr(sim_node *n, int h, casty_addr *out);
/* Run one stream event popped from the queue, then drop its reference. */
void casty__sim_tcp_event(casty_sim *sim, const casty_ev *ev);
/* Drop the reference of a stream event discarded unrun (teardown). */
void casty__sim_tcp_discard(const casty_ev *ev);

#endif
