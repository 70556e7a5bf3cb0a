/*
 * The byte path of simulated TCP streams (see io/net_sim_conn.h): the pump
 * that moves a send into the receive window, segments crossing the link
 * (delay, retransmission on loss, holding across a cut), randomized RECV
 * chunking, EOF, and the death of a connection (timeout, reset).
 */
#include <errno.h>
#include <string.h>

#include "core/assert.h"
#include "io/net_sim_conn.h"

void casty__sim_segs_free(sim_seg **head, sim_seg **tail)
{
    for (sim_seg *s = *head, *next; s; s = next) {
        next = s->next;
        casty__mem_free(s);
    }
    *head = NULL;
    *tail = NULL;
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

/* Put seg on pipe i's wire and queue its arrival. */
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

void casty__sim_fin_send(sim_conn *c, uint32_t i)
{
    sim_seg *seg = casty__mem_calloc(1, sizeof(*seg));
    CASTY_ASSERT(seg != NULL); /* Out of memory inside the simulation: see io/net_sim.h. */
    seg->fin = true;
    c->pipe[i].fin_sent = true;
    wire_push(c, i, seg);
}

/* The connection dies: no byte moves any more; attached ends hear of it through RESET events. */
void casty__sim_conn_kill(sim_conn *c)
{
    if (c->reset)
        return;
    c->reset = true;
    c->sim->stats.streams_reset++;
    for (int i = 0; i < 2; i++) {
        sim_pipe *p = &c->pipe[i];
        casty__sim_segs_free(&p->wire_head, &p->wire_tail);
        casty__sim_segs_free(&p->rx_head, &p->rx_tail);
        p->wire_bytes = 0;
        p->rx_bytes = 0;
        p->stalled = false;
    }
}

/* Kill the connection and tell both attached ends, now. */
static void conn_reset(sim_conn *c, int err)
{
    if (c->reset)
        return;
    casty__sim_conn_kill(c);
    for (uint32_t x = 0; x < 2; x++) {
        if (c->end[x].node && !c->end[x].dead)
            conn_schedule(c, c->sim->now_ns, SIM_EV_RESET, x, (uint32_t)err);
    }
}

/* Copy the next n bytes of the pending send into dst. */
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

/*
 * PUMP: after send(), after CONNECT, and whenever room frees in the window
 * (a RECV, or the receiver's host dropping bytes for a closed socket). Moves
 * as much of the send as fits onto the wire; SENT once the last byte is on.
 */
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
    pipe_send_drop(p);
    casty__sim_emit_end(c, i, &ev);
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

/*
 * ARRIVE: a segment of pipe i is due at the receiver's host. Due segments go
 * to rx (or are dropped if the socket is closed there); across a cut they
 * are held instead, and a RETRY takes over until the pair heals.
 */
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
            conn_arm_pump(c, i);
        return;
    }
    if (casty__sim_cut(sim, c->end[i].addr.ip, r->addr.ip)) {
        p->stalled = true;
        p->stall_since_ns = sim->now_ns;
        p->rto_ns = SIM_TCP_RTO_NS;
        uint64_t deadline = sim->now_ns + sim->tcp.timeout_ns;
        uint64_t t = sim->now_ns + p->rto_ns;
        conn_arm(c, i, SIM_EV_RETRY, &p->retry_armed, t < deadline ? t : deadline);
        return;
    }
    if (wire_take(c, i, true))
        conn_arm(c, i, SIM_EV_DELIVER, &p->deliver_armed,
                 sim->now_ns + casty__sim_below(sim, SIM_RECV_JITTER_NS));
}

/*
 * RETRY: retransmission of held bytes, 200 ms doubling to 2 s. A heal lets
 * them arrive; held for the TCP timeout, the connection dies with -ETIMEDOUT.
 */
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
        conn_arm(c, i, SIM_EV_RETRY, &p->retry_armed, t < deadline ? t : deadline);
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
        pipe_send_drop(out);
        casty__sim_emit_end(c, x, &ev);
        if (!e->node)
            return; /* Closed from the callback. */
    }
    casty_net_event ev = {.kind = CASTY_NET_CLOSED, .result = err};
    casty__sim_emit_end(c, x, &ev);
}

/* A random RECV size: all that is there, a tiny read, or anything in between. */
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

/* Take n bytes from the head of rx into dst, freeing consumed segments. */
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

/*
 * DELIVER: one RECV of a random size for the receiver of pipe i, re-armed
 * while bytes remain; the EOF (CLOSED(0)) once rx is empty and the FIN is in.
 * Nothing while the receiver is paused or still connecting.
 */
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
    conn_arm_pump(c, i); /* Room freed in the window. */
    if (p->rx_bytes || p->fin_arrived)
        conn_arm(c, i, SIM_EV_DELIVER, &p->deliver_armed, sim->now_ns);
    sim->stats.stream_bytes += n;
    r->node->stats.bytes_recv += n;
    casty_net_event ev = {
        .kind = CASTY_NET_RECV, .data = sim->scratch, .len = n, .addr = c->end[i].addr};
    casty__sim_emit_end(c, 1 - i, &ev);
}

/* RESET: end x learns that its connection died (timeout, reset, vanished peer). */
static void run_reset(sim_conn *c, uint32_t x, int err)
{
    casty__sim_conn_kill(c);
    sim_end *e = &c->end[x];
    if (!e->node || e->dead)
        return;
    if (x == 0 && !c->resolved) {
        casty__sim_dialer_fail(c, err);
        return;
    }
    end_die(c, x, err);
}

void casty__sim_pipe_event(sim_conn *c, sim_ev_kind kind, uint32_t a, int b)
{
    switch (kind) {
    case SIM_EV_PUMP:
        run_pump(c, a);
        break;
    case SIM_EV_ARRIVE:
        run_arrive(c, a);
        break;
    case SIM_EV_DELIVER:
        run_deliver(c, a);
        break;
    case SIM_EV_RETRY:
        run_retry(c, a);
        break;
    case SIM_EV_RESET:
        run_reset(c, a, b);
        break;
    case SIM_EV_TIMER:
    case SIM_EV_DGRAM:
    case SIM_EV_SYN_SEND:
    case SIM_EV_SYN_ARRIVE:
    case SIM_EV_CONNECT_DONE:
    case SIM_EV_CONNECT_EXPIRE:
        CASTY_ASSERT(!"not a byte-path event");
        break;
    }
}
