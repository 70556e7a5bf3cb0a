/*
 * Simulated TCP streams, shared by io/net_sim_tcp.c (the ops, the handshake,
 * close) and io/net_sim_pipe.c (the byte path). A connection has two ends
 * (0 dials, 1 accepts) and two pipes; pipe i carries bytes from end i to end
 * 1 - i:
 *
 *   sender's one send --pump--> wire (segments with arrival times)
 *                     --arrive--> rx (at the receiver's host)
 *                     --deliver--> RECV callbacks of random sizes
 *
 * Invariants: wire arrival times never decrease; wire_bytes + rx_bytes <=
 * window, and the pump moves bytes only into that room, so a receiver that
 * stops reading stops its sender's SENT; every callback is made from an
 * event, at most one RECV per event, and an end is rechecked after every
 * callback (the callback may close it or kill its node). Every queued event
 * holds a reference on its connection. Owner thread only.
 */
#ifndef CASTY_IO_NET_SIM_CONN_H
#define CASTY_IO_NET_SIM_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "alloc/heap.h"
#include "io/net_sim_int.h"

#define SIM_IOV_MAX   64
#define SIM_IOV_SMALL 4

typedef struct sim_seg {
    struct sim_seg *next;
    uint64_t arrive_ns;
    uint32_t len, off; /* off: bytes already delivered (rx only) */
    bool fin;
    uint8_t data[];
} sim_seg;

typedef struct sim_pipe {
    sim_seg *wire_head, *wire_tail; /* sent, not yet at the receiver's host */
    sim_seg *rx_head, *rx_tail;     /* at the receiver's host, not yet delivered */
    uint64_t wire_bytes, rx_bytes;
    uint64_t last_arrive_ns;
    uint64_t stall_since_ns; /* held across a cut since then */
    uint64_t rto_ns;
    bool stalled, retry_armed, deliver_armed, pump_armed;
    bool fin_sent, fin_arrived;
    /* The sender's one send in flight. */
    bool send_active;
    int iovcnt, iov_idx;
    size_t iov_off;
    uint64_t send_tag;
    uint32_t send_total, send_done;
    struct iovec *iov; /* iov_small, or a heap array for more */
    struct iovec iov_small[SIM_IOV_SMALL];
} sim_pipe;

typedef struct sim_end {
    sim_node *node;   /* NULL once its handle is closed or its node killed */
    int h;            /* its handle on node */
    casty_addr addr;  /* its local address */
    bool established; /* accepted, or CONNECT(0) delivered */
    bool dead;        /* CLOSED or a failed CONNECT delivered: no more events */
    bool paused;
    bool vanished; /* its host vanished: nothing leaves it, nothing is taken in */
} sim_end;

typedef struct sim_conn {
    casty_sim *sim;
    sim_end end[2];
    sim_pipe pipe[2];
    casty_addr to; /* where the dialer connects */
    uint32_t refs; /* queued events pointing here */
    uint32_t window;
    uint64_t connect_deadline_ns;
    uint64_t syn_rto_ns;
    bool resolved; /* the dialer's CONNECT outcome is decided */
    bool accepted; /* end 1 exists (it may be closed since) */
    bool reset;    /* died by timeout or reset: no byte moves any more */
} sim_conn;

/* Free a list of segments and empty it. */
void casty__sim_segs_free(sim_seg **head, sim_seg **tail);
/* Queue end i's FIN on pipe i, behind its bytes. */
void casty__sim_fin_send(sim_conn *c, uint32_t i);
/* The connection dies: no byte moves any more; ends hear of it through RESET events. */
void casty__sim_conn_kill(sim_conn *c);
/* Call end x's callback with ev (handle filled in here). */
void casty__sim_emit_end(sim_conn *c, uint32_t x, casty_net_event *ev);
/*
 * The dialer's connect failed with err: a send queued before it reports err,
 * then CONNECT(err); the handle is freed after that unless the callback closed it.
 */
void casty__sim_dialer_fail(sim_conn *c, int err);
/* Run a byte-path event (PUMP, ARRIVE, DELIVER, RETRY, RESET) of connection c. */
void casty__sim_pipe_event(sim_conn *c, sim_ev_kind kind, uint32_t a, int b);

/* Queue an event for c; it holds a reference until it has run. */
static inline void conn_schedule(sim_conn *c, uint64_t t, sim_ev_kind kind, uint32_t a, uint32_t b)
{
    c->refs++;
    casty__sim_schedule(c->sim, t, kind, c, a, b);
}

/* Queue one event of this kind for the pipe unless one is queued already. */
static inline void conn_arm(sim_conn *c, uint32_t pipe, sim_ev_kind kind, bool *armed, uint64_t t)
{
    if (*armed)
        return;
    *armed = true;
    conn_schedule(c, t, kind, pipe, 0);
}

/* Let the pipe's sender move bytes, if it has a send. */
static inline void conn_arm_pump(sim_conn *c, uint32_t i)
{
    if (c->pipe[i].send_active)
        conn_arm(c, i, SIM_EV_PUMP, &c->pipe[i].pump_armed, c->sim->now_ns);
}

/* Forget the pipe's send (reported or not by the caller). */
static inline void pipe_send_drop(sim_pipe *p)
{
    if (p->iov != p->iov_small)
        casty__mem_free(p->iov);
    p->iov = p->iov_small;
    p->send_active = false;
}

#endif
