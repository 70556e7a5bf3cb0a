/*
 * The transport's peers, lanes, batching and reconnects, and its public calls.
 * One connection's handshake and receive path are in transport_conn.c.
 *
 * Freeing is deferred: a callback (ours or the user's) may drop connections
 * or remove peers while we still hold pointers to them further up the stack,
 * so records are only marked dead, and reaped when the outermost dispatch
 * returns (depth 0).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc/heap.h"
#include "cluster/transport_impl.h"
#include "core/assert.h"
#include "core/rand.h"
#include "core/u64map.h"

uint64_t casty__t_rng(casty_transport *t)
{
    return casty__splitmix64(&t->rng); /* seedable: simulated reconnects replay */
}

/* A handshake nonce: random, or (simulation) from the seeded PRNG. */
void casty__t_nonce(casty_transport *t, uint8_t *out)
{
    if (!t->cfg.nonces_from_seed) {
        casty_auth_random(out, CASTY_NONCE_LEN);
        return;
    }
    for (uint32_t i = 0; i < CASTY_NONCE_LEN; i += 8) {
        uint64_t r = casty__t_rng(t);
        memcpy(out + i, &r, 8);
    }
}

/* ---- peers ---- */

/* Every send looks its peer up: a map, not a scan of the peer list. */
t_peer *casty__t_peer_find(casty_transport *t, uint64_t id)
{
    uint64_t v;
    return casty__u64map_get(&t->by_id, id, &v) ? (t_peer *)(uintptr_t)v : NULL;
}

/* Give a peer record its node id (at creation, or when a seed's handshake tells it). */
int casty__t_peer_set_id(casty_transport *t, t_peer *p, uint64_t id)
{
    int rc = casty__u64map_put(&t->by_id, id, (uint64_t)(uintptr_t)p);
    if (rc == 0)
        p->id = id;
    return rc;
}

t_peer *casty__t_peer_new(casty_transport *t, uint64_t id, const casty_addr *addr)
{
    t_peer *p = casty__mem_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (id && casty__t_peer_set_id(t, p, id) < 0) {
        casty__mem_free(p);
        return NULL;
    }
    if (addr)
        p->addr = *addr;
    p->redial_timer = -1;
    uint32_t block = t->cfg.frag_size + 64 > (64u << 10) ? t->cfg.frag_size + 64 : (64u << 10);
    casty_sendq_init(&p->lane[T_CONTROL], block);
    casty_sendq_init(&p->lane[T_DATA], block);
    p->next = t->peers;
    t->peers = p;
    return p;
}

static void peer_free(casty_transport *t, t_peer *p)
{
    if (p->redial_timer >= 0)
        casty_net_timer_cancel(t->net, p->redial_timer);
    casty_sendq_free(&p->lane[T_CONTROL]);
    casty_sendq_free(&p->lane[T_DATA]);
    casty__mem_free(p);
}

/* ---- deferred reaping ---- */

static void reap(casty_transport *t)
{
    for (t_conn **pc = &t->conns; *pc;) {
        t_conn *c = *pc;
        if (c->state == TC_DEAD) {
            *pc = c->next;
            casty__t_conn_free(c);
        } else {
            pc = &c->next;
        }
    }
    for (t_peer **pp = &t->peers; *pp;) {
        t_peer *p = *pp;
        if (p->removed) {
            *pp = p->next;
            peer_free(t, p);
        } else {
            pp = &p->next;
        }
    }
    t->reap_wanted = false;
}

void casty__t_enter(casty_transport *t)
{
    t->depth++;
}

void casty__t_leave(casty_transport *t)
{
    if (--t->depth == 0 && t->reap_wanted)
        reap(t);
}

/* ---- sending ---- */

int casty__t_enqueue2(casty_sendq *q, uint8_t type, uint8_t flags, const void *prefix,
                      uint32_t plen, const void *payload, uint32_t len)
{
    uint32_t size = casty_sendq_frame_size(plen + len, flags & CASTY_FRAME_F_MAC);
    uint8_t *f = casty_sendq_reserve(q, size);
    if (!f)
        return -ENOMEM;
    if (plen)
        memcpy(f + CASTY_FRAME_HDR, prefix, plen);
    if (len)
        memcpy(f + CASTY_FRAME_HDR + plen, payload, len);
    int rc = casty_frame_header(f, type, flags, f + CASTY_FRAME_HDR, plen + len);
    if (rc < 0)
        return rc;
    casty_sendq_commit(q, size);
    return 0;
}

int casty__t_enqueue(casty_sendq *q, uint8_t type, uint8_t flags, const void *payload, uint32_t len)
{
    return casty__t_enqueue2(q, type, flags, NULL, 0, payload, len);
}

static void on_flush_timer(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_transport *t = user;
    t->flush_timer = -1;
    casty__t_enter(t);
    casty_transport_flush(t);
    casty__t_leave(t);
}

void casty__t_mark_dirty(t_conn *c)
{
    casty_transport *t = c->t;
    if (c->dirty || c->state == TC_DEAD)
        return;
    c->dirty = true;
    c->dirty_next = t->dirty;
    t->dirty = c;
    /* Flush at the end of this dispatch: a 0 ns timer fires after the current completions. */
    if (t->flush_timer < 0)
        t->flush_timer = casty_net_timer(t->net, 0, on_flush_timer, t, 0);
}

static void seal_frame(void *ctx, uint8_t *frame, uint32_t size)
{
    t_conn *c = ctx;
    if (frame[3] & CASTY_FRAME_F_MAC)
        casty_auth_seal(&c->auth, frame, size - CASTY_FRAME_HDR - CASTY_FRAME_MAC_LEN);
}

/* Start one sendmsg with everything this connection may send now. */
static void conn_flush(t_conn *c)
{
    casty_transport *t = c->t;
    if (c->busy || c->h < 0 || c->state == TC_CONNECTING || c->state == TC_DEAD)
        return;
    int n = 0;
    uint64_t frames = 0, bytes = 0, budget = t->cfg.batch_bytes;
    bytes += casty_sendq_take(&c->hs, c->iov, &n, T_MAX_IOV, budget, &frames, NULL, NULL);
    if (c->state == TC_UP && c->peer) {
        /* Control first: it never waits behind data for more than one batch. */
        for (int lane = T_CONTROL; lane <= T_DATA && bytes < budget; lane++)
            bytes += casty_sendq_take(&c->peer->lane[lane], c->iov, &n, T_MAX_IOV, budget - bytes,
                                      &frames, seal_frame, c);
    }
    if (!n)
        return;
    int rc = casty_net_send(t->net, c->h, c->iov, n, 0);
    if (rc < 0) {
        casty__t_conn_drop(c, rc);
        return;
    }
    c->busy = true;
    c->inflight_frames = frames;
    t->stats.sends++;
    t->stats.frames_sent += frames;
    t->stats.bytes_sent += bytes;
}

void casty_transport_flush(casty_transport *t)
{
    if (!t)
        return;
    t_conn *c = t->dirty;
    t->dirty = NULL;
    while (c) {
        t_conn *next = c->dirty_next;
        c->dirty = false;
        conn_flush(c);
        c = next;
    }
}

/* Release what the finished send carried, and wake blocked senders. */
void casty__t_sent(t_conn *c, int result)
{
    casty_transport *t = c->t;
    c->busy = false;
    casty_sendq_release(&c->hs);
    t_peer *p = c->state == TC_UP ? c->peer : NULL;
    if (p) {
        casty_sendq_release(&p->lane[T_CONTROL]);
        casty_sendq_release(&p->lane[T_DATA]);
    }
    if (result < 0) {
        casty__t_conn_drop(c, result);
        return;
    }
    c->inflight_frames = 0;
    if (c->state == TC_CLOSING) {
        casty__t_conn_drop(c, -ECONNREFUSED);
        return;
    }
    casty__t_mark_dirty(c);
    if (!p)
        return;
    for (int lane = T_CONTROL; lane <= T_DATA; lane++) {
        if (p->blocked[lane] && p->lane[lane].queued <= t->cfg.queue_bytes / 2) {
            p->blocked[lane] = false;
            if (t->cb.on_writable)
                t->cb.on_writable(t->cb.user, p->id);
        }
    }
}

/* ---- reconnects ---- */

static void dial(t_peer *p, casty_transport *t);

static void on_redial(void *user, const casty_net_event *ev)
{
    t_peer *p = user;
    (void)ev;
    p->redial_timer = -1;
    casty_transport *t = (casty_transport *)(uintptr_t)ev->tag;
    casty__t_enter(t);
    if (!p->removed && p->wanted && !p->conn && !p->dialing) {
        t->stats.reconnects++;
        dial(p, t);
    }
    casty__t_leave(t);
}

static void schedule_redial(casty_transport *t, t_peer *p)
{
    if (!p->wanted || p->removed || p->redial_timer >= 0 || p->conn || p->dialing)
        return;
    uint64_t b = p->backoff_ns ? p->backoff_ns : t->cfg.backoff_min_ns;
    uint64_t jitter = b * t->cfg.backoff_jitter_pct / 100;
    uint64_t delay = b - jitter + (jitter ? casty__t_rng(t) % (2 * jitter + 1) : 0);
    p->backoff_ns = b * 2 > t->cfg.backoff_max_ns ? t->cfg.backoff_max_ns : b * 2;
    p->redial_timer = casty_net_timer(t->net, delay, on_redial, p, (uint64_t)(uintptr_t)t);
}

static void dial(t_peer *p, casty_transport *t)
{
    int h = casty_net_connect(t->net, &p->addr, casty__t_conn_event, NULL);
    if (h < 0) {
        schedule_redial(t, p);
        return;
    }
    t_conn *c = casty__t_conn_new(t, h, true, &p->addr);
    if (!c) {
        casty_net_close(t->net, h);
        schedule_redial(t, p);
        return;
    }
    c->peer = p;
    p->dialing = c;
    t->stats.connects++;
}

/* Called by a connection that went away: forget it, and plan the next dial. */
void casty__t_conn_gone(t_conn *c, int reason)
{
    casty_transport *t = c->t;
    t_peer *p = c->peer;
    if (!p)
        return;
    if (p->dialing == c)
        p->dialing = NULL;
    if (p->conn == c) {
        p->conn = NULL;
        /* Bytes handed to the broken socket are gone: at most once. */
        t->stats.lost_in_flight += c->inflight_frames;
        casty_sendq_release(&p->lane[T_CONTROL]);
        casty_sendq_release(&p->lane[T_DATA]);
        if (t->cb.on_peer)
            t->cb.on_peer(t->cb.user, p->id, CASTY_PEER_DOWN, &p->addr, p->incarnation, reason);
    }
    if (reason != -EALREADY)
        schedule_redial(t, p);
}

void casty__t_peer_up(t_conn *c, t_peer *p)
{
    casty_transport *t = c->t;
    if (p->dialing == c)
        p->dialing = NULL;
    p->conn = c;
    c->peer = p;
    p->incarnation = c->peer_inc;
    p->backoff_ns = 0;
    t->stats.handshakes++;
    if (t->cb.on_peer)
        t->cb.on_peer(t->cb.user, p->id, CASTY_PEER_UP, &p->addr, p->incarnation, 0);
    casty__t_mark_dirty(c); /* frames queued while it was down */
}

/* ---- public calls ---- */

static void on_listen(void *user, const casty_net_event *ev)
{
    casty_transport *t = user;
    if (ev->kind != CASTY_NET_ACCEPT)
        return;
    casty__t_enter(t);
    t_conn *c = casty__t_conn_new(t, ev->conn, false, &ev->addr);
    if (!c)
        casty_net_close(t->net, ev->conn);
    else
        t->stats.accepts++;
    casty__t_leave(t);
}

static int check_config(const casty_transport_config *cfg)
{
    if (!cfg->cluster || !cfg->node_id)
        return -EINVAL;
    size_t n = strlen(cfg->cluster);
    if (n == 0 || n > CASTY_CLUSTER_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (cfg->cluster[i] < 0x21 || cfg->cluster[i] > 0x7e)
            return -EINVAL;
    if (cfg->max_message > CASTY_FRAME_MAX_LIMIT - 64 || cfg->backoff_jitter_pct > 100)
        return -EINVAL;
    if (cfg->nonces_from_seed && cfg->key)
        return -EINVAL; /* predictable nonces would void the key's proofs */
    if (cfg->frag_size && (cfg->frag_size < 1024 || cfg->frag_size > (1u << 20)))
        return -EINVAL;
    if (cfg->backoff_max_ns && cfg->backoff_min_ns > cfg->backoff_max_ns)
        return -EINVAL;
    return 0;
}

int casty_transport_create(casty_net *net, const casty_transport_config *cfg,
                           const casty_transport_callbacks *cb, casty_transport **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!net || !cfg || !cb || !cb->on_frame)
        return -EINVAL;
    int rc = check_config(cfg);
    if (rc < 0)
        return rc;
    rc = casty_auth_init();
    if (rc < 0)
        return rc;
    casty_transport *t = casty__mem_calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->net = net;
    t->cfg = *cfg;
    t->cb = *cb;
    t->flush_timer = -1;
    snprintf(t->cluster, sizeof(t->cluster), "%s", cfg->cluster);
    t->cfg.cluster = t->cluster;
    if (cfg->key) {
        memcpy(t->key, cfg->key, CASTY_AUTH_KEY_LEN);
        t->keyed = true;
    }
    t->cfg.key = NULL; /* the copy above is the only one we keep */
    if (!t->cfg.max_message)
        t->cfg.max_message = 16u << 20;
    if (!t->cfg.frag_size)
        t->cfg.frag_size = 64u << 10;
    if (!t->cfg.queue_bytes)
        t->cfg.queue_bytes = 8u << 20;
    if (!t->cfg.batch_bytes)
        t->cfg.batch_bytes = 256u << 10;
    if (!t->cfg.backoff_min_ns)
        t->cfg.backoff_min_ns = 20000000ull;
    if (!t->cfg.backoff_max_ns)
        t->cfg.backoff_max_ns = 2000000000ull;
    if (!t->cfg.backoff_jitter_pct)
        t->cfg.backoff_jitter_pct = 20;
    if (!t->cfg.handshake_timeout_ns)
        t->cfg.handshake_timeout_ns = 5000000000ull;
    t->rng = cfg->seed ? cfg->seed : cfg->node_id;
    t->listener = casty_net_listen(net, &cfg->listen, on_listen, t);
    if (t->listener < 0) {
        rc = t->listener;
        casty__mem_free(t);
        return rc;
    }
    casty_net_local_addr(net, t->listener, &t->bound);
    if (!t->cfg.advertise.port) {
        t->cfg.advertise = t->bound;
        if (!t->cfg.advertise.ip)
            t->cfg.advertise.ip = 0x7f000001u;
    }
    *out = t;
    return 0;
}

void casty_transport_destroy(casty_transport *t)
{
    if (!t)
        return;
    for (t_conn *c = t->conns; c;) {
        t_conn *next = c->next;
        if (c->h >= 0)
            casty_net_close(t->net, c->h);
        c->h = -1;
        casty__t_conn_free(c);
        c = next;
    }
    for (t_peer *p = t->peers; p;) {
        t_peer *next = p->next;
        peer_free(t, p);
        p = next;
    }
    if (t->flush_timer >= 0)
        casty_net_timer_cancel(t->net, t->flush_timer);
    casty_net_close(t->net, t->listener);
    casty__u64map_free(&t->by_id);
    memset(t->key, 0, sizeof(t->key));
    casty__mem_free(t);
}

int casty_transport_local_addr(casty_transport *t, casty_addr *out)
{
    if (!t || !out)
        return -EINVAL;
    *out = t->bound;
    return 0;
}

int casty_transport_add_peer(casty_transport *t, uint64_t node_id, const casty_addr *addr)
{
    if (!t || !addr || !addr->port || node_id == t->cfg.node_id)
        return -EINVAL;
    t_peer *p = node_id ? casty__t_peer_find(t, node_id) : NULL;
    if (!p) {
        p = casty__t_peer_new(t, node_id, addr);
        if (!p)
            return -ENOMEM;
    }
    p->addr = *addr;
    p->wanted = true;
    casty__t_enter(t);
    if (!p->conn && !p->dialing && p->redial_timer < 0)
        dial(p, t);
    casty__t_leave(t);
    return 0;
}

int casty_transport_remove_peer(casty_transport *t, uint64_t node_id)
{
    if (!t || !node_id)
        return -EINVAL;
    t_peer *p = casty__t_peer_find(t, node_id);
    if (!p)
        return -ENOENT;
    casty__t_enter(t);
    p->wanted = false;
    if (p->dialing)
        casty__t_conn_drop(p->dialing, -EALREADY);
    if (p->conn)
        casty__t_conn_drop(p->conn, -EALREADY);
    p->removed = true;
    casty__u64map_del(&t->by_id, p->id);
    t->reap_wanted = true;
    casty__t_leave(t);
    return 0;
}

int casty_transport_send(casty_transport *t, uint64_t peer, uint8_t type, uint32_t flags,
                         const void *payload, uint32_t len)
{
    if (!t || (!payload && len) || (flags & ~CASTY_SEND_CONTROL))
        return -EINVAL;
    if (type < CASTY_FRAME_APP_MIN || type > CASTY_FRAME_APP_MAX)
        return -EINVAL;
    if (len > t->cfg.max_message)
        return -EMSGSIZE;
    int lane = flags & CASTY_SEND_CONTROL ? T_CONTROL : T_DATA;
    if (lane == T_CONTROL && len > t->cfg.frag_size)
        return -EMSGSIZE;
    t_peer *p = casty__t_peer_find(t, peer);
    if (!p)
        return -ENOTCONN;
    casty_sendq *q = &p->lane[lane];
    uint8_t fl = (uint8_t)((t->keyed ? CASTY_FRAME_F_MAC : 0) |
                           (lane == T_CONTROL ? CASTY_FRAME_F_CONTROL : 0));
    uint32_t nfrags = len > t->cfg.frag_size ? (len + t->cfg.frag_size - 1) / t->cfg.frag_size : 1;
    uint64_t need = (uint64_t)len + nfrags * (CASTY_FRAME_HDR + CASTY_FRAME_MAC_LEN + 5);
    if (q->queued && q->queued + need > t->cfg.queue_bytes) {
        p->blocked[lane] = true;
        t->stats.dropped_eagain++;
        return -EAGAIN;
    }
    int rc;
    if (nfrags == 1) {
        rc = casty__t_enqueue(q, type, fl, payload, len);
    } else {
        /* Fragments: the first carries the type and total length, then raw chunks. */
        const uint8_t *src = payload;
        uint8_t first[5] = {type, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                            (uint8_t)(len >> 24)};
        uint32_t off = 0;
        rc = 0;
        for (uint32_t i = 0; i < nfrags && rc == 0; i++) {
            uint32_t n = len - off < t->cfg.frag_size ? len - off : t->cfg.frag_size;
            uint8_t ff = (uint8_t)(fl | (i + 1 < nfrags ? CASTY_FRAME_F_MORE : 0));
            rc = casty__t_enqueue2(q, CASTY_FRAME_FRAG, ff, first, i == 0 ? 5 : 0, src + off, n);
            off += n;
        }
    }
    if (rc < 0)
        return rc;
    if (p->conn)
        casty__t_mark_dirty(p->conn);
    return 0;
}

int casty_transport_pause(casty_transport *t, uint64_t peer, bool paused)
{
    if (!t)
        return -EINVAL;
    t_peer *p = casty__t_peer_find(t, peer);
    if (!p || !p->conn)
        return -ENOTCONN;
    return casty_net_recv_pause(t->net, p->conn->h, paused);
}

bool casty_transport_connected(casty_transport *t, uint64_t peer)
{
    t_peer *p = t ? casty__t_peer_find(t, peer) : NULL;
    return p && p->conn;
}

void casty_transport_stats_get(casty_transport *t, casty_transport_stats *out)
{
    if (t && out)
        *out = t->stats;
}
