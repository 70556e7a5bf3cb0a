/*
 * The ops of a simulated node that need no stream (io/net.h): the handle
 * table, listen and UDP binds, datagrams, timers, close, addresses, and the
 * one function that calls callbacks (casty__sim_emit). Streams are in
 * io/net_sim_tcp.c, the world and its event loop in io/net_sim.c.
 *
 * Invariants: a freed handle keeps its slot with a bumped generation, so a
 * timer event that outlived its timer is recognised and skipped; freed slots
 * queue FIFO and are reused only when more than SIM_HANDLE_QUARANTINE are
 * free, so a stale number rarely names a new handle. Owner thread only.
 */
#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "io/net_sim_int.h"

/* A freed handle number is reused only once this many others are free too. */
#define SIM_HANDLE_QUARANTINE 64u
#define SIM_HANDLES_MAX       (1u << 24)

/* -- handles -- */

sim_handle *casty__sim_handle(sim_node *n, int h)
{
    if (h < 0 || (uint32_t)h >= n->hs_len || n->hs[h].kind == SIM_H_FREE)
        return NULL;
    return &n->hs[h];
}

int casty__sim_handle_alloc(sim_node *n, sim_handle_kind kind, casty_net_fn fn, void *user)
{
    int h;
    if (n->free_count > SIM_HANDLE_QUARANTINE) {
        h = n->free_head;
        n->free_head = n->hs[h].next_free;
        if (n->free_head < 0)
            n->free_tail = -1;
        n->free_count--;
    } else {
        if (n->hs_len == SIM_HANDLES_MAX)
            return -EMFILE;
        if (n->hs_len == n->hs_cap) {
            uint32_t cap = n->hs_cap ? n->hs_cap * 2 : 8;
            sim_handle *grown = casty__mem_realloc(n->hs, (size_t)cap * sizeof(*grown));
            if (!grown)
                return -ENOMEM;
            n->hs = grown;
            n->hs_cap = cap;
        }
        h = (int)n->hs_len++;
        n->hs[h].gen = 0;
    }
    sim_handle *s = &n->hs[h];
    CASTY_ASSERT(h >= 0);
    s->kind = (uint8_t)kind;
    s->side = 0;
    s->port = 0;
    s->bind_ip = 0;
    s->next_free = -1;
    s->fn = fn;
    s->user = user;
    s->tag = 0;
    return h;
}

void casty__sim_handle_free(sim_node *n, int h)
{
    sim_handle *s = casty__sim_handle(n, h);
    CASTY_ASSERT(s != NULL);
    s->kind = SIM_H_FREE;
    s->gen++;
    s->next_free = -1;
    s->fn = NULL;
    s->user = NULL;
    if (n->free_tail >= 0)
        n->hs[n->free_tail].next_free = h;
    else
        n->free_head = h;
    n->free_tail = h;
    n->free_count++;
}

int casty__sim_bound_find(const sim_node *n, sim_handle_kind kind, uint16_t port)
{
    for (uint32_t i = 0; i < n->bound_len; i++) {
        if (n->bound[i].port == port && n->bound[i].kind == kind)
            return n->bound[i].h;
    }
    return -1;
}

static int bound_add(sim_node *n, sim_handle_kind kind, uint16_t port, int h)
{
    if (n->bound_len == n->bound_cap) {
        uint32_t cap = n->bound_cap ? n->bound_cap * 2 : 4;
        sim_bound *grown = casty__mem_realloc(n->bound, (size_t)cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        n->bound = grown;
        n->bound_cap = cap;
    }
    n->bound[n->bound_len++] = (sim_bound){.port = port, .kind = (uint8_t)kind, .h = h};
    return 0;
}

static void bound_remove(sim_node *n, int h)
{
    for (uint32_t i = 0; i < n->bound_len; i++) {
        if (n->bound[i].h == h) {
            n->bound[i] = n->bound[--n->bound_len];
            return;
        }
    }
    CASTY_ASSERT(!"bound handle missing from its node's port list");
}

/* The next ephemeral port; for a bind, one not bound in that protocol (0 when all are). */
uint16_t casty__sim_ephemeral(sim_node *n, sim_handle_kind kind)
{
    const uint32_t span = 65536u - CASTY_SIM_EPHEMERAL_FIRST;
    for (uint32_t tries = 0; tries < span; tries++) {
        uint16_t port = (uint16_t)n->next_eph;
        n->next_eph = n->next_eph == 65535u ? CASTY_SIM_EPHEMERAL_FIRST : n->next_eph + 1;
        if (kind == SIM_H_STREAM || casty__sim_bound_find(n, kind, port) < 0)
            return port;
    }
    return 0;
}

/*
 * The only place a callback is called from. The trace hash folds in what the
 * callback sees, never a pointer, so that equal runs hash equal.
 */
void casty__sim_emit(sim_node *n, casty_net_fn fn, void *user, const casty_net_event *ev)
{
    casty_sim *sim = n->sim;
    uint64_t rec[10] = {
        (uint64_t)ev->kind,
        sim->now_ns,
        n->ip,
        (uint32_t)ev->handle,
        (uint32_t)ev->conn,
        (uint32_t)ev->result,
        ev->tag,
        (uint64_t)ev->addr.ip << 16 | ev->addr.port,
        ev->len,
        ev->len ? XXH3_64bits(ev->data, ev->len) : 0,
    };
    sim->trace = XXH3_64bits_withSeed(rec, sizeof(rec), sim->trace);
    sim->stats.callbacks++;
    n->stats.submits++;
    fn(user, ev);
}

/* -- ops without streams -- */

static int bind_check(sim_node *n, const casty_addr *bind, casty_net_fn fn)
{
    if (!bind || !fn)
        return -EINVAL;
    if (bind->ip != 0 && bind->ip != n->ip)
        return -EADDRNOTAVAIL;
    return 0;
}

/* listen() and udp_bind(): a port of the node (0 picks one), per protocol. */
static int bind_common(casty_net *net, sim_handle_kind kind, const casty_addr *bind,
                       casty_net_fn fn, void *user)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    int rc = bind_check(n, bind, fn);
    if (rc < 0)
        return rc;
    uint16_t port = bind->port;
    if (port == 0)
        port = casty__sim_ephemeral(n, kind);
    if (port == 0 || casty__sim_bound_find(n, kind, port) >= 0)
        return -EADDRINUSE;
    int h = casty__sim_handle_alloc(n, kind, fn, user);
    if (h < 0)
        return h;
    rc = bound_add(n, kind, port, h);
    if (rc < 0) {
        casty__sim_handle_free(n, h);
        return rc;
    }
    n->hs[h].port = port;
    n->hs[h].bind_ip = bind->ip;
    return h;
}

static int op_listen(casty_net *net, const casty_addr *bind, casty_net_fn fn, void *user)
{
    return bind_common(net, SIM_H_LISTEN, bind, fn, user);
}

static int op_udp_bind(casty_net *net, const casty_addr *bind, casty_net_fn fn, void *user)
{
    return bind_common(net, SIM_H_UDP, bind, fn, user);
}

/* A datagram on its way; the bytes follow the header. */
typedef struct sim_dgram {
    casty_addr from, to;
    uint32_t src_idx;
    uint32_t len;
    uint8_t data[];
} sim_dgram;

/*
 * The link decides a datagram's fate at send time: lost, or one or two
 * copies queued, each with its own delay (plus the reorder delay, sometimes).
 */
static int dgram_queue(casty_sim *sim, sim_node *n, const casty_addr *from, const casty_addr *to,
                       const void *buf, uint32_t len)
{
    const casty_sim_link *link = casty__sim_link(sim, n->ip, to->ip);
    if (casty__sim_chance(sim, link->loss_ppm)) {
        sim->stats.dgram_lost++;
        n->stats.dgrams_drop++;
        return 0;
    }
    uint32_t copies = casty__sim_chance(sim, link->dup_ppm) ? 2 : 1;
    sim_dgram *d[2] = {NULL, NULL};
    for (uint32_t i = 0; i < copies; i++)
        d[i] = casty__mem_alloc(sizeof(sim_dgram) + len);
    if (!d[0] || (copies == 2 && !d[1]) || casty__sim_reserve(sim, copies) < 0) {
        casty__mem_free(d[0]);
        casty__mem_free(d[1]);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < copies; i++) {
        *d[i] = (sim_dgram){.from = *from, .to = *to, .src_idx = n->idx, .len = len};
        if (len)
            memcpy(d[i]->data, buf, len);
        uint64_t t = sim->now_ns + casty__sim_delay(sim, link);
        if (casty__sim_chance(sim, link->reorder_ppm)) {
            t += casty__sim_below(sim, link->reorder_max_ns + 1);
            sim->stats.dgram_reordered++;
        }
        casty__sim_schedule(sim, t, SIM_EV_DGRAM, d[i], 0, 0);
        n->dgrams_inflight++;
    }
    sim->stats.dgram_dup += copies - 1;
    return 0;
}

/* sendto(): copies the datagram; a cut pair drops it here already. */
static int op_sendto(casty_net *net, int h, const casty_addr *to, const void *buf, uint32_t len)
{
    sim_node *n = sim_node_of(net);
    casty_sim *sim = n->sim;
    n->stats.ops++;
    const sim_handle *s = casty__sim_handle(n, h);
    if (!s || s->kind != SIM_H_UDP)
        return -EBADF;
    if (!to || (!buf && len))
        return -EINVAL;
    if (len > CASTY_NET_DGRAM_MAX)
        return -EMSGSIZE;
    if (to->ip == 0 || to->port == 0)
        return -EINVAL;
    if (n->dgrams_inflight >= CASTY_SIM_DGRAM_INFLIGHT_MAX) {
        n->stats.dgrams_drop++;
        return -EAGAIN;
    }
    casty_addr from = {n->ip, s->port};
    if (casty__sim_cut(sim, n->ip, to->ip)) {
        sim->stats.dgram_sent++;
        sim->stats.dgram_cut++;
        n->stats.dgrams_sent++;
        n->stats.dgrams_drop++;
        return 0;
    }
    int rc = dgram_queue(sim, n, &from, to, buf, len);
    if (rc < 0)
        return rc;
    sim->stats.dgram_sent++;
    n->stats.dgrams_sent++;
    return 0;
}

/*
 * DGRAM: a copy reaches the destination IP. It is delivered to whatever UDP
 * socket is bound to the port then (none, or a cut: dropped and counted).
 */
void casty__sim_run_dgram(casty_sim *sim, void *dgram)
{
    sim_dgram *d = dgram;
    sim_node *src = casty__sim_node_at(sim, d->src_idx);
    if (src) {
        CASTY_ASSERT(src->dgrams_inflight > 0);
        src->dgrams_inflight--;
    }
    bool tomb;
    sim_node *dst = casty__sim_host(sim, d->to.ip, &tomb);
    int h = dst ? casty__sim_bound_find(dst, SIM_H_UDP, d->to.port) : -1;
    if (dst && casty__sim_cut(sim, d->from.ip, d->to.ip)) {
        sim->stats.dgram_cut++;
    } else if (h < 0) {
        sim->stats.dgram_noport++;
    } else {
        const sim_handle *s = &dst->hs[h];
        casty_net_event ev = {
            .kind = CASTY_NET_DGRAM, .handle = h, .data = d->data, .len = d->len, .addr = d->from};
        sim->stats.dgram_delivered++;
        dst->stats.dgrams_recv++;
        casty__sim_emit(dst, s->fn, s->user, &ev);
    }
    casty__mem_free(d);
}

/* timer(): a handle plus a queue entry that remembers the handle's generation. */
static int op_timer(casty_net *net, uint64_t delay_ns, casty_net_fn fn, void *user, uint64_t tag)
{
    sim_node *n = sim_node_of(net);
    casty_sim *sim = n->sim;
    n->stats.ops++;
    if (!fn || delay_ns > SIM_DELAY_MAX_NS)
        return -EINVAL;
    if (casty__sim_reserve(sim, 1) < 0)
        return -ENOMEM;
    int h = casty__sim_handle_alloc(n, SIM_H_TIMER, fn, user);
    if (h < 0)
        return h;
    n->hs[h].tag = tag;
    casty_ev ev = {
        .time_ns = sim->now_ns + delay_ns, .u64 = n->hs[h].gen, .a = n->idx, .b = (uint32_t)h};
    casty__sim_push(sim, &ev, SIM_EV_TIMER);
    return h;
}

/* TIMER: fires unless cancelled (a generation mismatch); the handle goes first. */
void casty__sim_run_timer(casty_sim *sim, const casty_ev *e)
{
    sim_node *n = casty__sim_node_at(sim, e->a);
    if (!n)
        return;
    int h = (int)e->b;
    const sim_handle *s = casty__sim_handle(n, h);
    if (!s || s->kind != SIM_H_TIMER || s->gen != e->u64)
        return; /* Cancelled, or the node's handle was freed and reused. */
    casty_net_event ev = {.kind = CASTY_NET_TIMER, .handle = h, .tag = s->tag};
    casty_net_fn fn = s->fn;
    void *user = s->user;
    /* Freed first, so that cancel from the callback says -ENOENT. */
    casty__sim_handle_free(n, h);
    casty__sim_emit(n, fn, user, &ev);
}

static int op_timer_cancel(casty_net *net, int timer)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    const sim_handle *s = casty__sim_handle(n, timer);
    if (!s || s->kind != SIM_H_TIMER)
        return -ENOENT;
    casty__sim_handle_free(n, timer);
    return 0;
}

/* close(): any handle; a stream sends its FIN (io/net_sim_tcp.c). */
static int op_close(casty_net *net, int h)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    const sim_handle *s = casty__sim_handle(n, h);
    if (!s)
        return -EBADF;
    switch ((sim_handle_kind)s->kind) {
    case SIM_H_LISTEN:
    case SIM_H_UDP:
        bound_remove(n, h);
        casty__sim_handle_free(n, h);
        break;
    case SIM_H_TIMER:
        casty__sim_handle_free(n, h);
        break;
    case SIM_H_STREAM:
        casty__sim_stream_close(n, h, false);
        break;
    case SIM_H_FREE:
        CASTY_ASSERT(!"free handle passed the lookup");
        break;
    }
    return 0;
}

static int op_local_addr(casty_net *net, int h, casty_addr *out)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    const sim_handle *s = casty__sim_handle(n, h);
    if (!s || s->kind == SIM_H_TIMER)
        return -EBADF;
    if (!out)
        return -EINVAL;
    if (s->kind == SIM_H_STREAM)
        casty__sim_stream_local_addr(n, h, out);
    else
        *out = (casty_addr){s->bind_ip, s->port};
    return 0;
}

static int op_set_user(casty_net *net, int h, casty_net_fn fn, void *user)
{
    sim_node *n = sim_node_of(net);
    n->stats.ops++;
    sim_handle *s = casty__sim_handle(n, h);
    if (!s)
        return -EBADF;
    if (!fn)
        return -EINVAL;
    s->fn = fn;
    s->user = user;
    return 0;
}

static uint64_t op_now(casty_net *net)
{
    return sim_node_of(net)->sim->now_ns;
}

static void op_stats(casty_net *net, casty_net_stats *out)
{
    if (out)
        *out = sim_node_of(net)->stats;
}

const casty_net_ops casty__sim_ops = {
    .listen = op_listen,
    .connect = casty__sim_connect,
    .send = casty__sim_send,
    .recv_pause = casty__sim_recv_pause,
    .udp_bind = op_udp_bind,
    .sendto = op_sendto,
    .close = op_close,
    .local_addr = op_local_addr,
    .set_user = op_set_user,
    .timer = op_timer,
    .timer_cancel = op_timer_cancel,
    .now = op_now,
    .stats = op_stats,
};
