/*
 * Simulated TCP streams (io/net_sim.h). A connection has two ends (0 dials,
 * 1 accepts) and two pipes; pipe i carries bytes from end i to end 1 - i:
 *
 *   sender's one send --pump--> wire (segments with arrival times)
 *                     --arrive--> rx (at the receiver's host)
 *                     --deliver--> RECV callbacks of random sizes
 *
 * Invariants: wire arrival times never decrease (bytes stay in order);
 * wire_bytes + rx_bytes <= window, and the pump moves bytes only into that
 * room, so a receiver that stops reading stops its sender's SENT; every
 * callback is made from an event, one RECV per event, and each end rechecks
 * that it is still attached after a callback (the callback may close it or
 * kill its node). Events hold a reference on the connection. Owner thread.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "alloc/heap.h"
#include "core/assert.h"
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

static void conn_schedule(sim_conn *c, uint64_t t, sim_ev_kind kind, uint32_t a, uint32_t b)
{
    c->refs++;
    casty__sim_schedule(c->sim, t, kind, c, a, b);
}

static void segs_free(sim_seg **head, sim_seg **tail)
{
    for (sim_seg *s = *head, *next; s; s = next) {
        next = s->next;
        casty__mem_free(s);
    }
    *head = NULL;
    *tail = NULL;
}

static void send_drop(sim_pipe *p)
{
    if (p->iov != p->iov_small)
        casty__mem_free(p->iov);
    p->iov = p->iov_small;
    p->send_active = false;
}

static void conn_maybe_free(sim_conn *c)
{
    if (c->refs || c->end[0].node || c->end[1].node)
        return;
    for (int i = 0; i < 2; i++) {
        sim_pipe *p = &c->pipe[i];
        segs_free(&p->wire_head, &p->wire_tail);
        segs_free(&p->rx_head, &p->rx_tail);
        send_drop(p);
    }
    casty__mem_free(c);
}

static void arm(sim_conn *c, uint32_t pipe, sim_ev_kind kind, bool *armed, uint64_t t)
{
    if (*armed)
        return;
    *armed = true;
    conn_schedule(c, t, kind, pipe, 0);
}

static void arm_pump(sim_conn *c, uint32_t i)
{
    if (c->pipe[i].send_active)
        arm(c, i, SIM_EV_PUMP, &c->pipe[i].pump_armed, c->sim->now_ns);
}

/* When a segment sent now on pipe i reaches the other host: delay, retransmits, order. */
static uint64_t seg_arrival(sim_conn *c, uint32_t i)
{
    casty_sim *sim = c->sim;
    sim_pipe *p = &c->pipe[i];
    const casty_sim_link *link = casty__sim_link(sim, c->end[i].addr.ip, c->end[1 - i].addr.ip);
    uint64_t d = casty__sim_delay(sim, link);
    uint64_t rto = SIM_TCP_RTO_NS;
    for (int k = 0; k < 8 && casty__sim_chance(sim, link->loss_ppm); k++) {
        d += rto;
        rto = rto * 2 < SIM_TCP_RTO_MAX_NS ? rto * 2 : SIM_TCP_RTO_MAX_NS;
    }
    uint64_t t = sim->now_ns + d;
    if (t < p->last_arrive_ns)
        t = p->last_arrive_ns;
    p->last_arrive_ns = t;
    return t;
}

static void wire_push(sim_conn *c, uint32_t i, sim_seg *seg)
{
    sim_pipe *p = &c->pipe[i];
    seg->next = NULL;
    seg->arrive_ns = seg_arrival(c, i);
    if (p->wire_tail)
        p->wire_tail->next = seg;
    else
        p->wire_head = seg;
    p->wire_tail = seg;
    p->wire_bytes += seg->len;
    conn_schedule(c, seg->arrive_ns, SIM_EV_ARRIVE, i, 0);
}

static void fin_send(sim_conn *c, uint32_t i)
{
    sim_seg *seg = casty__mem_calloc(1, sizeof(*seg));
    CASTY_ASSERT(seg != NULL); /* Out of memory inside the simulation: see io/net_sim.h. */
    seg->fin = true;
    c->pipe[i].fin_sent = true;
    wire_push(c, i, seg);
}

/* The connection dies: no byte moves any more; attached ends hear of it through RESET events. */
static void conn_kill(sim_conn *c)
{
    if (c->reset)
        return;
    c->reset = true;
    c->sim->stats.streams_reset++;
    for (int i = 0; i < 2; i++) {
        sim_pipe *p = &c->pipe[i];
        segs_free(&p->wire_head, &p->wire_tail);
        segs_free(&p->rx_head, &p->rx_tail);
        p->wire_bytes = 0;
        p->rx_bytes = 0;
        p->stalled = false;
    }
}

static void conn_reset(sim_conn *c, int err)
{
    if (c->reset)
        return;
    conn_kill(c);
    for (uint32_t x = 0; x < 2; x++) {
        if (c->end[x].node && !c->end[x].dead)
            conn_schedule(c, c->sim->now_ns, SIM_EV_RESET, x, (uint32_t)err);
    }
}

/* -- ops -- */

int casty__sim_connect(casty_net *net, const casty_addr *to, casty_net_fn fn, void *user)
{
    sim_node *n = sim_node_of(net);
    casty_sim *sim = n->sim;
    n->stats.ops++;
    if (!to || !fn || to->ip == 0 || to->port == 0)
        return -EINVAL;
    if (casty__sim_reserve(sim, 2) < 0)
        return -ENOMEM;
    sim_conn *c = casty__mem_calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int h = casty__sim_handle_alloc(n, SIM_H_STREAM, fn, user);
    if (h < 0) {
        casty__mem_free(c);
        return h;
    }
    n->hs[h].conn = c;
    n->hs[h].side = 0;
    c->sim = sim;
    c->window = sim->tcp.recv_window;
    c->to = *to;
    c->end[0] = (sim_end){.node = n, .h = h};
    c->end[0].addr = (casty_addr){n->ip, casty__sim_ephemeral(n, SIM_H_STREAM)};
    c->end[1].addr = *to;
    c->end[1].h = -1;
    for (int i = 0; i < 2; i++)
        c->pipe[i].iov = c->pipe[i].iov_small;
    c->connect_deadline_ns = sim->now_ns + sim->tcp.connect_timeout_ns;
    c->syn_rto_ns = SIM_SYN_RTO_NS;
    conn_schedule(c, sim->now_ns, SIM_EV_SYN_SEND, 0, 0);
    conn_schedule(c, c->connect_deadline_ns, SIM_EV_CONNECT_EXPIRE, 0, 0);
    return h;
}

static int stream_get(sim_node *n, int h, sim_conn **c, uint32_t *side)
{
    const sim_handle *s = casty__sim_handle(n, h);
    if (!s || s->kind != SIM_H_STREAM)
        return -EBADF;
    *c = s->conn;
    *side = s->side;
    return 0;
}

static int iov_check(const struct iovec *iov, int iovcnt, uint32_t *total)
{
    if (!iov || iovcnt <= 0 || iovcnt > SIM_IOV_MAX)
        return -EINVAL;
    uint64_t sum = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (!iov[i].iov_base && iov[i].iov_len)
            return -EINVAL;
        sum += iov[i].iov_len;
        if (sum > INT_MAX) /* SENT reports the count as an int */
            return -EINVAL;
    }
    *total = (uint32_t)sum;
    return sum ? 0 : -EINVAL; /* An empty send has no completion in the kernel either. */
}

int casty__sim_send(casty_net *net, int h, const struct iovec *iov, int iovcnt, uint64_t tag)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    sim_conn *c;
    uint32_t x, total;
    int rc = stream_get(n, h, &c, &x);
    if (rc < 0)
        return rc;
    if ((rc = iov_check(iov, iovcnt, &total)) < 0)
        return rc;
    sim_pipe *p = &c->pipe[x];
    if (c->end[x].dead)
        return -EPIPE;
    if (p->send_active)
        return -EBUSY;
    if (casty__sim_reserve(c->sim, 1) < 0)
        return -ENOMEM;
    if (iovcnt > SIM_IOV_SMALL) {
        p->iov = casty__mem_alloc((size_t)iovcnt * sizeof(*iov));
        if (!p->iov) {
            p->iov = p->iov_small;
            return -ENOMEM;
        }
    }
    memcpy(p->iov, iov, (size_t)iovcnt * sizeof(*iov));
    p->iovcnt = iovcnt;
    p->iov_idx = 0;
    p->iov_off = 0;
    p->send_tag = tag;
    p->send_total = total;
    p->send_done = 0;
    p->send_active = true;
    arm_pump(c, x);
    return 0;
}

int casty__sim_recv_pause(casty_net *net, int h, bool paused)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    sim_conn *c;
    uint32_t x;
    int rc = stream_get(n, h, &c, &x);
    if (rc < 0)
        return rc;
    sim_pipe *in = &c->pipe[1 - x];
    if (!paused && c->end[x].paused && (in->rx_bytes || in->fin_arrived)) {
        if (casty__sim_reserve(c->sim, 1) < 0)
            return -ENOMEM;
        arm(c, 1 - x, SIM_EV_DELIVER, &in->deliver_armed, c->sim->now_ns);
    }
    c->end[x].paused = paused;
    return 0;
}

void casty__sim_stream_local_addr(sim_node *n, int h, casty_addr *out)
{
    const sim_handle *s = &n->hs[h];
    *out = s->conn->end[s->side].addr;
}

/* Detach end x from its handle (freed): no event reaches it any more. */
static sim_conn *detach(sim_node *n, int h, uint32_t *side)
{
    const sim_handle *s = casty__sim_handle(n, h);
    CASTY_ASSERT(s != NULL && s->kind == SIM_H_STREAM);
    sim_conn *c = s->conn;
    uint32_t x = s->side;
    CASTY_ASSERT(c->end[x].node == n && c->end[x].h == h);
    c->end[x].node = NULL;
    send_drop(&c->pipe[x]);
    casty__sim_handle_free(n, h);
    *side = x;
    return c;
}

void casty__sim_stream_close(sim_node *n, int h, bool abrupt)
{
    uint32_t x;
    sim_conn *c = detach(n, h, &x);
    sim_pipe *out = &c->pipe[x], *in = &c->pipe[1 - x];
    sim_end *peer = &c->end[1 - x];
    /* What reached this host but was not read is gone with the socket. */
    segs_free(&in->rx_head, &in->rx_tail);
    in->rx_bytes = 0;
    if (abrupt) {
        c->end[x].vanished = true;
        segs_free(&out->wire_head, &out->wire_tail);
        out->wire_bytes = 0;
        if (!c->reset && peer->node && !peer->dead)
            conn_schedule(c, c->sim->now_ns + c->sim->tcp.timeout_ns, SIM_EV_RESET, 1 - x,
                          (uint32_t)-ETIMEDOUT);
    } else if (!c->reset) {
        arm_pump(c, 1 - x); /* The window opened: the peer's bytes are now discarded. */
        /* Before the SYN was accepted there is nobody to tell: the SYN is dropped on arrival. */
        if (c->accepted && peer->node && !out->fin_sent)
            fin_send(c, x);
    }
    conn_maybe_free(c);
}

void casty__sim_stream_forget(sim_node *n, int h)
{
    uint32_t x;
    sim_conn *c = detach(n, h, &x);
    conn_maybe_free(c);
}

/* -- events -- */

static void emit_end(sim_conn *c, uint32_t x, casty_net_event *ev)
{
    sim_end *e = &c->end[x];
    const sim_handle *s = &e->node->hs[e->h];
    ev->handle = e->h;
    casty__sim_emit(e->node, s->fn, s->user, ev);
}

/*
 * The dialer's connect failed: a send queued before it reports err, then
 * CONNECT(err); the handle is freed after the callback unless it closed it.
 */
static void dialer_fail(sim_conn *c, int err)
{
    sim_end *e = &c->end[0];
    c->resolved = true;
    e->dead = true;
    sim_pipe *out = &c->pipe[0];
    if (out->send_active) {
        casty_net_event sent = {.kind = CASTY_NET_SENT, .result = err, .tag = out->send_tag};
        send_drop(out);
        emit_end(c, 0, &sent);
        if (!e->node)
            return; /* Closed from the callback. */
    }
    casty_net_event ev = {.kind = CASTY_NET_CONNECT, .result = err, .addr = c->to};
    emit_end(c, 0, &ev);
    if (e->node) {
        uint32_t x;
        detach(e->node, e->h, &x);
    }
}

static void syn_retry(sim_conn *c)
{
    uint64_t t = c->sim->now_ns + c->syn_rto_ns;
    c->syn_rto_ns *= 2;
    if (t < c->connect_deadline_ns)
        conn_schedule(c, t, SIM_EV_SYN_SEND, 0, 0);
}

static void run_syn_send(sim_conn *c)
{
    casty_sim *sim = c->sim;
    if (c->resolved || !c->end[0].node)
        return;
    const casty_sim_link *link = casty__sim_link(sim, c->end[0].addr.ip, c->to.ip);
    if (casty__sim_chance(sim, link->loss_ppm))
        syn_retry(c);
    else
        conn_schedule(c, sim->now_ns + casty__sim_delay(sim, link), SIM_EV_SYN_ARRIVE, 0, 0);
}

static void run_syn_arrive(sim_conn *c)
{
    casty_sim *sim = c->sim;
    if (c->resolved || !c->end[0].node)
        return; /* The dialer gave up or closed. */
    bool tomb;
    sim_node *host = casty__sim_host(sim, c->to.ip, &tomb);
    if ((!host && !tomb) || casty__sim_cut(sim, c->end[0].addr.ip, c->to.ip)) {
        syn_retry(c);
        return;
    }
    const casty_sim_link *link = casty__sim_link(sim, c->end[0].addr.ip, c->to.ip);
    uint64_t back = sim->now_ns + casty__sim_delay(sim, link);
    int lh = host ? casty__sim_bound_find(host, SIM_H_LISTEN, c->to.port) : -1;
    int h = -1;
    if (lh >= 0)
        h = casty__sim_handle_alloc(host, SIM_H_STREAM, host->hs[lh].fn, host->hs[lh].user);
    if (h < 0) {
        conn_schedule(c, back, SIM_EV_CONNECT_DONE, 0, (uint32_t)-ECONNREFUSED);
        return;
    }
    host->hs[h].conn = c;
    host->hs[h].side = 1;
    c->end[1].node = host;
    c->end[1].h = h;
    c->end[1].addr = (casty_addr){host->ip, c->to.port};
    c->end[1].established = true;
    c->accepted = true;
    c->pipe[1].last_arrive_ns = back; /* The acceptor's bytes never overtake the SYN-ACK. */
    sim->stats.streams_opened++;
    host->stats.accepts++;
    conn_schedule(c, back, SIM_EV_CONNECT_DONE, 0, 0);
    casty_net_event ev = {
        .kind = CASTY_NET_ACCEPT, .handle = lh, .conn = h, .addr = c->end[0].addr};
    const sim_handle *ls = &host->hs[lh];
    casty__sim_emit(host, ls->fn, ls->user, &ev);
}

static void run_connect_done(sim_conn *c, int result)
{
    sim_end *e = &c->end[0];
    if (c->resolved || !e->node)
        return;
    if (result < 0) {
        dialer_fail(c, result);
        return;
    }
    c->resolved = true;
    e->established = true;
    sim_pipe *in = &c->pipe[1];
    if (in->rx_bytes || in->fin_arrived)
        arm(c, 1, SIM_EV_DELIVER, &in->deliver_armed, c->sim->now_ns);
    arm_pump(c, 0); /* A send queued before the connect finished. */
    casty_net_event ev = {.kind = CASTY_NET_CONNECT, .result = 0, .addr = c->to};
    emit_end(c, 0, &ev);
}

static void run_connect_expire(sim_conn *c)
{
    if (c->resolved || !c->end[0].node)
        return;
    /* Accepted, but the SYN-ACK is later than the timeout: the acceptor is reset. */
    if (c->accepted && !c->reset) {
        conn_kill(c);
        if (c->end[1].node && !c->end[1].dead)
            conn_schedule(c, c->sim->now_ns, SIM_EV_RESET, 1, (uint32_t)-ECONNRESET);
    }
    dialer_fail(c, -ETIMEDOUT);
}

static void iov_gather(sim_pipe *p, uint8_t *dst, uint32_t n)
{
    while (n) {
        CASTY_ASSERT(p->iov_idx < p->iovcnt);
        const struct iovec *v = &p->iov[p->iov_idx];
        size_t left = v->iov_len - p->iov_off;
        size_t take = left < n ? left : n;
        if (take)
            memcpy(dst, (const uint8_t *)v->iov_base + p->iov_off, take);
        dst += take;
        n -= (uint32_t)take;
        p->iov_off += take;
        if (p->iov_off == v->iov_len) {
            p->iov_idx++;
            p->iov_off = 0;
        }
    }
}

static void run_pump(sim_conn *c, uint32_t i)
{
    sim_pipe *p = &c->pipe[i];
    p->pump_armed = false;
    if (!p->send_active || c->reset || !c->end[i].node || !c->end[i].established)
        return; /* CONNECT re-arms a pump that ran too early. */
    /* Bounded: each pass fills the window or finishes the send. */
    for (uint32_t pass = 0; pass <= c->window / SIM_CHUNK_MAX + 1; pass++) {
        uint32_t left = p->send_total - p->send_done;
        uint64_t used = p->wire_bytes + p->rx_bytes;
        if (left == 0 || used >= c->window)
            break;
        uint64_t room = c->window - used;
        uint32_t n = left < room ? left : (uint32_t)room;
        n = n < SIM_CHUNK_MAX ? n : SIM_CHUNK_MAX;
        sim_seg *seg = casty__mem_alloc(sizeof(*seg) + n);
        CASTY_ASSERT(seg != NULL); /* Out of memory inside the simulation: see io/net_sim.h. */
        *seg = (sim_seg){.len = n};
        iov_gather(p, seg->data, n);
        p->send_done += n;
        wire_push(c, i, seg);
    }
    if (p->send_done < p->send_total)
        return; /* The rest waits for room: a DELIVER re-arms the pump. */
    sim_node *n = c->end[i].node;
    casty_net_event ev = {.kind = CASTY_NET_SENT, .result = (int)p->send_total, .tag = p->send_tag};
    n->stats.bytes_sent += p->send_total;
    send_drop(p);
    emit_end(c, i, &ev);
}

/* Segments of pipe i due by now leave the wire; into rx if `keep`, else dropped. */
static bool wire_take(sim_conn *c, uint32_t i, bool keep)
{
    sim_pipe *p = &c->pipe[i];
    bool moved = false;
    while (p->wire_head && p->wire_head->arrive_ns <= c->sim->now_ns) {
        sim_seg *seg = p->wire_head;
        p->wire_head = seg->next;
        if (!p->wire_head)
            p->wire_tail = NULL;
        p->wire_bytes -= seg->len;
        moved = true;
        if (!keep || seg->fin) {
            p->fin_arrived |= keep && seg->fin;
            casty__mem_free(seg);
            continue;
        }
        seg->next = NULL;
        if (p->rx_tail)
            p->rx_tail->next = seg;
        else
            p->rx_head = seg;
        p->rx_tail = seg;
        p->rx_bytes += seg->len;
    }
    return moved;
}

static void run_arrive(sim_conn *c, uint32_t i)
{
    casty_sim *sim = c->sim;
    sim_pipe *p = &c->pipe[i];
    sim_end *r = &c->end[1 - i];
    if (c->reset || r->vanished || p->stalled)
        return; /* Dead, held by a vanished host (a RESET is queued), or the RETRY owns it. */
    if (!r->node) {
        /* The receiver closed: its host drops the bytes, and their room frees. */
        if (wire_take(c, i, false))
            arm_pump(c, i);
        return;
    }
    if (casty__sim_cut(sim, c->end[i].addr.ip, r->addr.ip)) {
        p->stalled = true;
        p->stall_since_ns = sim->now_ns;
        p->rto_ns = SIM_TCP_RTO_NS;
        uint64_t deadline = sim->now_ns + sim->tcp.timeout_ns;
        uint64_t t = sim->now_ns + p->rto_ns;
        arm(c, i, SIM_EV_RETRY, &p->retry_armed, t < deadline ? t : deadline);
        return;
    }
    if (wire_take(c, i, true))
        arm(c, i, SIM_EV_DELIVER, &p->deliver_armed,
            sim->now_ns + casty__sim_below(sim, SIM_RECV_JITTER_NS));
}

static void run_retry(sim_conn *c, uint32_t i)
{
    casty_sim *sim = c->sim;
    sim_pipe *p = &c->pipe[i];
    p->retry_armed = false;
    if (c->reset || !p->stalled)
        return;
    if (casty__sim_cut(sim, c->end[i].addr.ip, c->end[1 - i].addr.ip)) {
        uint64_t deadline = p->stall_since_ns + sim->tcp.timeout_ns;
        if (sim->now_ns >= deadline) {
            conn_reset(c, -ETIMEDOUT);
            return;
        }
        p->rto_ns = p->rto_ns * 2 < SIM_TCP_RTO_MAX_NS ? p->rto_ns * 2 : SIM_TCP_RTO_MAX_NS;
        uint64_t t = sim->now_ns + p->rto_ns;
        arm(c, i, SIM_EV_RETRY, &p->retry_armed, t < deadline ? t : deadline);
        return;
    }
    p->stalled = false;
    run_arrive(c, i);
}

/* End x dies: a send in flight reports err (or -EPIPE), then CLOSED(err). */
static void end_die(sim_conn *c, uint32_t x, int err)
{
    sim_end *e = &c->end[x];
    if (!e->node || e->dead)
        return;
    e->dead = true;
    sim_pipe *out = &c->pipe[x];
    if (out->send_active) {
        casty_net_event ev = {
            .kind = CASTY_NET_SENT, .result = err < 0 ? err : -EPIPE, .tag = out->send_tag};
        send_drop(out);
        emit_end(c, x, &ev);
        if (!e->node)
            return; /* Closed from the callback. */
    }
    casty_net_event ev = {.kind = CASTY_NET_CLOSED, .result = err};
    emit_end(c, x, &ev);
}

static uint32_t chunk_size(casty_sim *sim, uint64_t avail)
{
    uint32_t cap = avail < SIM_CHUNK_MAX ? (uint32_t)avail : SIM_CHUNK_MAX;
    switch (casty__sim_below(sim, 4)) {
    case 0:
        return cap; /* Everything that is there: coalesces sends. */
    case 1:
        return 1 + (uint32_t)casty__sim_below(sim, cap < 16 ? cap : 16); /* Tiny reads. */
    default:
        return 1 + (uint32_t)casty__sim_below(sim, cap);
    }
}

static void rx_gather(sim_pipe *p, uint8_t *dst, uint32_t n)
{
    p->rx_bytes -= n;
    while (n) {
        sim_seg *seg = p->rx_head;
        CASTY_ASSERT(seg != NULL);
        uint32_t take = seg->len - seg->off < n ? seg->len - seg->off : n;
        memcpy(dst, seg->data + seg->off, take);
        dst += take;
        n -= take;
        seg->off += take;
        if (seg->off == seg->len) {
            p->rx_head = seg->next;
            if (!p->rx_head)
                p->rx_tail = NULL;
            casty__mem_free(seg);
        }
    }
}

static void run_deliver(sim_conn *c, uint32_t i)
{
    casty_sim *sim = c->sim;
    sim_pipe *p = &c->pipe[i];
    sim_end *r = &c->end[1 - i];
    p->deliver_armed = false;
    if (c->reset || !r->node || r->dead || !r->established || r->paused)
        return; /* Connect, or resume, re-arms. */
    if (p->rx_bytes == 0) {
        if (p->fin_arrived)
            end_die(c, 1 - i, 0);
        return;
    }
    uint32_t n = chunk_size(sim, p->rx_bytes);
    rx_gather(p, sim->scratch, n);
    arm_pump(c, i); /* Room freed in the window. */
    if (p->rx_bytes || p->fin_arrived)
        arm(c, i, SIM_EV_DELIVER, &p->deliver_armed, sim->now_ns);
    sim->stats.stream_bytes += n;
    r->node->stats.bytes_recv += n;
    casty_net_event ev = {
        .kind = CASTY_NET_RECV, .data = sim->scratch, .len = n, .addr = c->end[i].addr};
    emit_end(c, 1 - i, &ev);
}

static void run_reset(sim_conn *c, uint32_t x, int err)
{
    conn_kill(c);
    sim_end *e = &c->end[x];
    if (!e->node || e->dead)
        return;
    if (x == 0 && !c->resolved) {
        dialer_fail(c, err);
        return;
    }
    end_die(c, x, err);
}

void casty__sim_tcp_event(casty_sim *sim, const casty_sim_ev *ev)
{
    sim_conn *c = ev->ptr;
    CASTY_ASSERT(c->sim == sim && c->refs > 0);
    CASTY_ASSERT(ev->a < 2);
    sim_ev_kind kind = (sim_ev_kind)(ev->order & 0xff);
    switch (kind) {
    case SIM_EV_SYN_SEND:
        run_syn_send(c);
        break;
    case SIM_EV_SYN_ARRIVE:
        run_syn_arrive(c);
        break;
    case SIM_EV_CONNECT_DONE:
        run_connect_done(c, (int)ev->b);
        break;
    case SIM_EV_CONNECT_EXPIRE:
        run_connect_expire(c);
        break;
    case SIM_EV_PUMP:
        run_pump(c, ev->a);
        break;
    case SIM_EV_ARRIVE:
        run_arrive(c, ev->a);
        break;
    case SIM_EV_DELIVER:
        run_deliver(c, ev->a);
        break;
    case SIM_EV_RETRY:
        run_retry(c, ev->a);
        break;
    case SIM_EV_RESET:
        run_reset(c, ev->a, (int)ev->b);
        break;
    case SIM_EV_TIMER:
    case SIM_EV_DGRAM:
        CASTY_ASSERT(!"not a stream event");
        break;
    }
    c->refs--;
    conn_maybe_free(c);
}

void casty__sim_tcp_discard(const casty_sim_ev *ev)
{
    sim_conn *c = ev->ptr;
    CASTY_ASSERT(c->refs > 0);
    c->refs--;
    conn_maybe_free(c);
}
