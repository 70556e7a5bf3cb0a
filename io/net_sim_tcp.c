/*
 * Simulated TCP streams (see io/net_sim_conn.h for the model): the stream
 * ops of io/net.h, the handshake (SYN with retransmission, accept, refusal,
 * connect timeout), close and kill, and the dispatch of stream events. The
 * byte path is in io/net_sim_pipe.c.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "core/assert.h"
#include "io/net_sim_conn.h"

static void conn_maybe_free(sim_conn *c)
{
    if (c->refs || c->end[0].node || c->end[1].node)
        return;
    for (int i = 0; i < 2; i++) {
        sim_pipe *p = &c->pipe[i];
        casty__sim_segs_free(&p->wire_head, &p->wire_tail);
        casty__sim_segs_free(&p->rx_head, &p->rx_tail);
        pipe_send_drop(p);
    }
    casty__mem_free(c);
}

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
    conn_arm_pump(c, x);
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
        conn_arm(c, 1 - x, SIM_EV_DELIVER, &in->deliver_armed, c->sim->now_ns);
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
    pipe_send_drop(&c->pipe[x]);
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
    casty__sim_segs_free(&in->rx_head, &in->rx_tail);
    in->rx_bytes = 0;
    if (abrupt) {
        c->end[x].vanished = true;
        casty__sim_segs_free(&out->wire_head, &out->wire_tail);
        out->wire_bytes = 0;
        if (!c->reset && peer->node && !peer->dead)
            conn_schedule(c, c->sim->now_ns + c->sim->tcp.timeout_ns, SIM_EV_RESET, 1 - x,
                          (uint32_t)-ETIMEDOUT);
    } else if (!c->reset) {
        conn_arm_pump(c, 1 - x); /* The window opened: the peer's bytes are now discarded. */
        /* Before the SYN was accepted there is nobody to tell: the SYN is dropped on arrival. */
        if (c->accepted && peer->node && !out->fin_sent)
            casty__sim_fin_send(c, x);
    }
    conn_maybe_free(c);
}

void casty__sim_stream_forget(sim_node *n, int h)
{
    uint32_t x;
    sim_conn *c = detach(n, h, &x);
    conn_maybe_free(c);
}

void casty__sim_emit_end(sim_conn *c, uint32_t x, casty_net_event *ev)
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
void casty__sim_dialer_fail(sim_conn *c, int err)
{
    sim_end *e = &c->end[0];
    c->resolved = true;
    e->dead = true;
    sim_pipe *out = &c->pipe[0];
    if (out->send_active) {
        casty_net_event sent = {.kind = CASTY_NET_SENT, .result = err, .tag = out->send_tag};
        pipe_send_drop(out);
        casty__sim_emit_end(c, 0, &sent);
        if (!e->node)
            return; /* Closed from the callback. */
    }
    casty_net_event ev = {.kind = CASTY_NET_CONNECT, .result = err, .addr = c->to};
    casty__sim_emit_end(c, 0, &ev);
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
        casty__sim_dialer_fail(c, result);
        return;
    }
    c->resolved = true;
    e->established = true;
    sim_pipe *in = &c->pipe[1];
    if (in->rx_bytes || in->fin_arrived)
        conn_arm(c, 1, SIM_EV_DELIVER, &in->deliver_armed, c->sim->now_ns);
    conn_arm_pump(c, 0); /* A send queued before the connect finished. */
    casty_net_event ev = {.kind = CASTY_NET_CONNECT, .result = 0, .addr = c->to};
    casty__sim_emit_end(c, 0, &ev);
}

static void run_connect_expire(sim_conn *c)
{
    if (c->resolved || !c->end[0].node)
        return;
    /* Accepted, but the SYN-ACK is later than the timeout: the acceptor is reset. */
    if (c->accepted && !c->reset) {
        casty__sim_conn_kill(c);
        if (c->end[1].node && !c->end[1].dead)
            conn_schedule(c, c->sim->now_ns, SIM_EV_RESET, 1, (uint32_t)-ECONNRESET);
    }
    casty__sim_dialer_fail(c, -ETIMEDOUT);
}

void casty__sim_tcp_event(casty_sim *sim, const casty_ev *ev)
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
    case SIM_EV_ARRIVE:
    case SIM_EV_DELIVER:
    case SIM_EV_RETRY:
    case SIM_EV_RESET:
        casty__sim_pipe_event(c, kind, ev->a, (int)ev->b);
        break;
    case SIM_EV_TIMER:
    case SIM_EV_DGRAM:
        CASTY_ASSERT(!"not a stream event");
        break;
    }
    c->refs--;
    conn_maybe_free(c);
}

void casty__sim_tcp_discard(const casty_ev *ev)
{
    sim_conn *c = ev->ptr;
    CASTY_ASSERT(c->refs > 0);
    c->refs--;
    conn_maybe_free(c);
}
