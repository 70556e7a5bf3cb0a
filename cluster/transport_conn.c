/*
 * One transport connection: the handshake (HELLO, WELCOME, AUTH or REFUSE),
 * the tie-break between simultaneous dials, frame authentication, fragment
 * reassembly, and delivery to the transport's user.
 *
 * Handshake, as seen on the wire:
 *
 *   dialer                              acceptor
 *   HELLO(cluster, version, id, inc, addr, nonce_d)  ->
 *                                       checks; REFUSE(code, reason) and close, or
 *          <-  WELCOME(same fields, nonce_a [, acceptor proof])
 *   checks; verifies the proof; REFUSE or
 *   [AUTH(dialer proof)]  ->            verifies; REFUSE or up
 *   up
 *
 * Nothing but these four frames is accepted before the connection is up, and
 * nothing from a connection that is not up reaches the user.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc/heap.h"
#include "cluster/transport_impl.h"
#include "core/assert.h"

static void on_hs_timeout(void *user, const casty_net_event *ev);

t_conn *casty__t_conn_new(casty_transport *t, int h, bool dialer, const casty_addr *addr)
{
    t_conn *c = casty__mem_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* Larger messages arrive fragmented, so no frame needs more than a fragment: a peer can
     * make us buffer at most one fragment per connection (plus one reassembly <= max_message). */
    if (casty_frame_decoder_init(&c->dec, t->cfg.frag_size + 64) < 0) {
        casty__mem_free(c);
        return NULL;
    }
    c->t = t;
    c->h = h;
    c->dialer = dialer;
    c->addr = *addr;
    c->state = dialer ? TC_CONNECTING : TC_WAIT_HELLO;
    casty_sendq_init(&c->hs, 4096);
    casty_net_set_user(t->net, h, casty__t_conn_event, c);
    c->hs_timer = casty_net_timer(t->net, t->cfg.handshake_timeout_ns, on_hs_timeout, c, 0);
    c->next = t->conns;
    t->conns = c;
    return c;
}

void casty__t_conn_free(t_conn *c)
{
    casty_frame_decoder_free(&c->dec);
    casty_sendq_free(&c->hs);
    casty__mem_free(c->frag);
    casty__mem_free(c->plain);
    memset(&c->auth, 0, sizeof(c->auth));
    casty__mem_free(c);
}

void casty__t_conn_drop(t_conn *c, int reason)
{
    casty_transport *t = c->t;
    if (c->state == TC_DEAD)
        return;
    c->state = TC_DEAD;
    if (c->h >= 0)
        casty_net_close(t->net, c->h);
    c->h = -1;
    if (c->hs_timer >= 0)
        casty_net_timer_cancel(t->net, c->hs_timer);
    c->hs_timer = -1;
    casty__t_conn_gone(c, reason);
    t->reap_wanted = true;
}

static void hs_done(t_conn *c)
{
    if (c->hs_timer >= 0)
        casty_net_timer_cancel(c->t->net, c->hs_timer);
    c->hs_timer = -1;
}

void casty__t_conn_refuse(t_conn *c, int code, const char *fmt, ...)
{
    casty_transport *t = c->t;
    casty_refuse r = {.code = (uint16_t)code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
    va_end(ap);
    t->stats.refused++;
    if (t->cb.on_refused)
        t->cb.on_refused(t->cb.user, &c->addr, code, r.reason, true);
    uint8_t body[256];
    int n = casty_refuse_encode(&r, body, sizeof(body));
    if (n < 0 || casty__t_enqueue(&c->hs, CASTY_FRAME_REFUSE, 0, body, (uint32_t)n) < 0) {
        casty__t_conn_drop(c, -ECONNREFUSED);
        return;
    }
    /* Sent, then closed (casty__t_sent); the handshake timer bounds a peer that never reads. */
    c->state = TC_CLOSING;
    casty__t_mark_dirty(c);
}

static void hello_fill(t_conn *c, casty_hello *h, const uint8_t *nonce)
{
    casty_transport *t = c->t;
    memset(h, 0, sizeof(*h));
    h->proto_version = CASTY_PROTO_VERSION;
    h->flags = t->keyed ? CASTY_HELLO_F_KEYED : 0;
    snprintf(h->cluster, sizeof(h->cluster), "%s", t->cluster);
    h->node_id = t->cfg.node_id;
    h->incarnation = t->cfg.incarnation;
    h->adv_ip = t->cfg.advertise.ip;
    h->adv_port = t->cfg.advertise.port;
    memcpy(h->nonce, nonce, CASTY_NONCE_LEN);
}

static int send_hello(t_conn *c, uint8_t type, const casty_hello *h)
{
    uint8_t body[256];
    int n = casty_hello_encode(h, body, sizeof(body));
    if (n < 0)
        return n;
    int rc = casty__t_enqueue(&c->hs, type, 0, body, (uint32_t)n);
    if (rc == 0)
        casty__t_mark_dirty(c);
    return rc;
}

/* The checks both sides make on the other's hello; 0 or the refusal already sent. */
static int hello_check(t_conn *c, const casty_hello *h)
{
    casty_transport *t = c->t;
    if (h->proto_version != CASTY_PROTO_VERSION) {
        casty__t_conn_refuse(c, CASTY_REFUSE_VERSION, "protocol version %u, expected %u",
                             h->proto_version, CASTY_PROTO_VERSION);
        return -1;
    }
    if (strcmp(h->cluster, t->cluster) != 0) {
        casty__t_conn_refuse(c, CASTY_REFUSE_CLUSTER, "cluster '%s', expected '%s'", h->cluster,
                             t->cluster);
        return -1;
    }
    if (h->node_id == t->cfg.node_id) {
        casty__t_conn_refuse(c, CASTY_REFUSE_NODE_ID, "node id %llu is this node's own",
                             (unsigned long long)h->node_id);
        return -1;
    }
    bool keyed = h->flags & CASTY_HELLO_F_KEYED;
    if (keyed != t->keyed) {
        casty__t_conn_refuse(c, CASTY_REFUSE_AUTH, "%s",
                             t->keyed ? "this cluster requires a shared key"
                                      : "no shared key is configured here");
        return -1;
    }
    c->peer_id = h->node_id;
    c->peer_inc = h->incarnation;
    c->keyed = keyed;
    return 0;
}

/*
 * A second connection for the same pair. Returns true if `c` should go on,
 * false if it was refused. The connection dialed by the lower id wins; a
 * peer that restarted (higher incarnation) replaces its old connection.
 */
/*
 * Another connection of this pair is up: a restarted peer (higher
 * incarnation) replaces it; otherwise `c` is the spare. Both sides apply it.
 */
static bool supersedes(t_conn *c, t_peer *p)
{
    if (!p->conn || p->conn == c)
        return true;
    if (c->peer_inc > p->incarnation) {
        casty__t_conn_drop(p->conn, -ECONNRESET);
        return true;
    }
    return false;
}

static bool tie_break(t_conn *c, t_peer *p)
{
    casty_transport *t = c->t;
    if (!supersedes(c, p)) {
        casty__t_conn_refuse(c, CASTY_REFUSE_DUPLICATE, "node %llu is already connected",
                             (unsigned long long)p->id);
        return false;
    }
    if (p->dialing && p->dialing != c) {
        if (t->cfg.node_id < p->id) {
            casty__t_conn_refuse(c, CASTY_REFUSE_DUPLICATE, "simultaneous dial: node %llu's wins",
                                 (unsigned long long)t->cfg.node_id);
            return false;
        }
        casty__t_conn_drop(p->dialing, -EALREADY);
    }
    return true;
}

/* Identify the acceptor-side peer record and bring the connection up. */
static void acceptor_up(t_conn *c, const casty_addr *adv)
{
    casty_transport *t = c->t;
    t_peer *p = casty__t_peer_find(t, c->peer_id);
    if (!p) {
        p = casty__t_peer_new(t, c->peer_id, adv);
        if (!p) {
            casty__t_conn_drop(c, -ENOMEM);
            return;
        }
    }
    if (!tie_break(c, p))
        return;
    if (adv->port)
        p->addr = *adv;
    hs_done(c);
    c->state = TC_UP;
    casty__t_peer_up(c, p);
}

static void on_hello(t_conn *c, const casty_frame *f)
{
    casty_transport *t = c->t;
    casty_hello h;
    if (casty_hello_decode(f->payload, f->len, &h) < 0) {
        casty__t_conn_refuse(c, CASTY_REFUSE_PROTOCOL, "malformed HELLO");
        return;
    }
    if (hello_check(c, &h) < 0)
        return;
    /* Refuse duplicates before spending a WELCOME on them. */
    t_peer *p = casty__t_peer_find(t, c->peer_id);
    if (p && !tie_break(c, p))
        return;
    memcpy(c->nonce_d, h.nonce, CASTY_NONCE_LEN);
    casty__t_nonce(t, c->nonce_a);
    casty_hello w;
    hello_fill(c, &w, c->nonce_a);
    if (c->keyed) {
        w.has_mac = true;
        casty_auth_proof(t->key, CASTY_AUTH_ACCEPTOR, c->nonce_d, c->nonce_a, c->peer_id,
                         t->cfg.node_id, w.mac);
        casty_auth_session_init(&c->auth, t->key, CASTY_AUTH_ACCEPTOR, c->nonce_d, c->nonce_a,
                                c->peer_id, t->cfg.node_id, t->cfg.encrypt);
    }
    if (send_hello(c, CASTY_FRAME_WELCOME, &w) < 0) {
        casty__t_conn_drop(c, -ENOMEM);
        return;
    }
    casty_addr adv = {.ip = h.adv_ip, .port = h.adv_port};
    if (c->keyed) {
        c->addr = adv.port ? adv : c->addr;
        c->state = TC_WAIT_AUTH;
        return;
    }
    acceptor_up(c, &adv);
}

static void on_auth(t_conn *c, const casty_frame *f)
{
    casty_transport *t = c->t;
    uint8_t want[CASTY_AUTH_PROOF_LEN];
    casty_auth_proof(t->key, CASTY_AUTH_DIALER, c->nonce_d, c->nonce_a, c->peer_id, t->cfg.node_id,
                     want);
    if (f->len != CASTY_AUTH_PROOF_LEN || !casty_auth_proof_ok(f->payload, want)) {
        casty__t_conn_refuse(c, CASTY_REFUSE_AUTH, "wrong shared key");
        return;
    }
    acceptor_up(c, &c->addr);
}

static void on_welcome(t_conn *c, const casty_frame *f)
{
    casty_transport *t = c->t;
    casty_hello h;
    if (casty_hello_decode(f->payload, f->len, &h) < 0) {
        casty__t_conn_refuse(c, CASTY_REFUSE_PROTOCOL, "malformed WELCOME");
        return;
    }
    if (hello_check(c, &h) < 0)
        return;
    t_peer *p = c->peer;
    if (p->id && p->id != h.node_id) {
        casty__t_conn_refuse(c, CASTY_REFUSE_NODE_ID, "dialed node %llu, reached node %llu",
                             (unsigned long long)p->id, (unsigned long long)h.node_id);
        return;
    }
    memcpy(c->nonce_a, h.nonce, CASTY_NONCE_LEN);
    if (c->keyed) {
        uint8_t want[CASTY_AUTH_PROOF_LEN];
        casty_auth_proof(t->key, CASTY_AUTH_ACCEPTOR, c->nonce_d, c->nonce_a, t->cfg.node_id,
                         h.node_id, want);
        if (!h.has_mac || !casty_auth_proof_ok(h.mac, want)) {
            casty__t_conn_refuse(c, CASTY_REFUSE_AUTH, "wrong shared key");
            return;
        }
    }
    if (!p->id) {
        /* A seed: now we know who it is. Fold it into an existing record for that id. */
        t_peer *known = casty__t_peer_find(t, h.node_id);
        if (known) {
            known->wanted |= p->wanted;
            known->addr = p->addr;
            p->dialing = NULL;
            p->wanted = false;
            p->removed = true;
            t->reap_wanted = true;
            c->peer = p = known;
            if (!p->dialing)
                p->dialing = c;
        } else if (casty__t_peer_set_id(t, p, h.node_id) < 0) {
            casty__t_conn_drop(c, -ENOMEM);
            return;
        }
    }
    if (!supersedes(c, p)) {
        /* Already connected the other way (its dial won): this one is spare. */
        if (p->dialing == c)
            p->dialing = NULL;
        casty__t_conn_drop(c, -EALREADY);
        return;
    }
    if (c->keyed) {
        uint8_t proof[CASTY_AUTH_PROOF_LEN];
        casty_auth_proof(t->key, CASTY_AUTH_DIALER, c->nonce_d, c->nonce_a, t->cfg.node_id,
                         h.node_id, proof);
        casty_auth_session_init(&c->auth, t->key, CASTY_AUTH_DIALER, c->nonce_d, c->nonce_a,
                                t->cfg.node_id, h.node_id, t->cfg.encrypt);
        if (casty__t_enqueue(&c->hs, CASTY_FRAME_AUTH, 0, proof, sizeof(proof)) < 0) {
            casty__t_conn_drop(c, -ENOMEM);
            return;
        }
    }
    hs_done(c);
    c->state = TC_UP;
    casty__t_peer_up(c, p);
}

static void on_refuse(t_conn *c, const casty_frame *f)
{
    casty_transport *t = c->t;
    casty_refuse r;
    if (casty_refuse_decode(f->payload, f->len, &r) < 0) {
        r.code = CASTY_REFUSE_PROTOCOL;
        snprintf(r.reason, sizeof(r.reason), "malformed REFUSE");
    }
    if (t->cb.on_refused)
        t->cb.on_refused(t->cb.user, &c->addr, r.code, r.reason, false);
    t->stats.refused++;
    /* A duplicate means the other connection is (or will be) up: no redial. */
    casty__t_conn_drop(c, r.code == CASTY_REFUSE_DUPLICATE ? -EALREADY : -ECONNREFUSED);
}

/* ---- frames of an established connection ---- */

static void deliver(t_conn *c, uint8_t type, const uint8_t *payload, uint32_t len)
{
    casty_transport *t = c->t;
    t->stats.frames_recv++;
    t->cb.on_frame(t->cb.user, c->peer->id, type, payload, len);
}

static int on_frag(t_conn *c, const casty_frame *f, const uint8_t *payload, uint32_t len)
{
    casty_transport *t = c->t;
    if (!c->frag) {
        if (len < 5)
            return -EBADMSG;
        uint8_t type = payload[0];
        uint32_t total = (uint32_t)payload[1] | (uint32_t)payload[2] << 8 |
                         (uint32_t)payload[3] << 16 | (uint32_t)payload[4] << 24;
        if (type < CASTY_FRAME_APP_MIN || type > CASTY_FRAME_APP_MAX ||
            total > t->cfg.max_message || total < len - 5 || !(f->flags & CASTY_FRAME_F_MORE))
            return -EBADMSG;
        c->frag = casty__mem_alloc(total ? total : 1);
        if (!c->frag)
            return -ENOMEM;
        c->frag_type = type;
        c->frag_total = total;
        c->frag_have = 0;
        payload += 5;
        len -= 5;
    }
    if (len > c->frag_total - c->frag_have)
        return -EBADMSG;
    memcpy(c->frag + c->frag_have, payload, len);
    c->frag_have += len;
    if (f->flags & CASTY_FRAME_F_MORE)
        return 0;
    if (c->frag_have != c->frag_total)
        return -EBADMSG;
    uint8_t *msg = c->frag;
    c->frag = NULL;
    deliver(c, c->frag_type, msg, c->frag_total);
    casty__mem_free(msg);
    return 0;
}

static void on_up_frame(t_conn *c, const casty_frame *f)
{
    casty_transport *t = c->t;
    const uint8_t *payload = f->payload;
    if (c->keyed) {
        if (!(f->flags & CASTY_FRAME_F_MAC)) {
            t->stats.mac_failures++;
            return;
        }
        uint8_t *out = NULL;
        if (c->auth.encrypt) {
            if (c->plain_cap < f->len) {
                uint8_t *grown = casty__mem_realloc(c->plain, f->len);
                if (!grown) {
                    casty__t_conn_drop(c, -ENOMEM);
                    return;
                }
                c->plain = grown;
                c->plain_cap = f->len;
            }
            out = c->plain;
        }
        if (!casty_auth_open(&c->auth, f->payload - CASTY_FRAME_HDR, f->payload, f->len, f->mac,
                             out)) {
            t->stats.mac_failures++;
            return; /* tampered or forged: dropped and counted */
        }
        if (out)
            payload = out;
    } else if (f->flags & CASTY_FRAME_F_MAC) {
        t->stats.mac_failures++;
        return;
    }
    switch (f->type) {
    case CASTY_FRAME_PING:
        if (casty__t_enqueue(&c->peer->lane[T_CONTROL], CASTY_FRAME_PONG,
                             (uint8_t)(c->keyed ? CASTY_FRAME_F_MAC : 0), NULL, 0) == 0)
            casty__t_mark_dirty(c);
        return;
    case CASTY_FRAME_PONG:
        return;
    case CASTY_FRAME_CLOSE:
        casty__t_conn_drop(c, -ESHUTDOWN);
        return;
    case CASTY_FRAME_FRAG: {
        int rc = on_frag(c, f, payload, f->len);
        if (rc < 0) {
            t->stats.decode_errors++;
            casty__t_conn_drop(c, rc);
        }
        return;
    }
    default:
        break;
    }
    if (f->type < CASTY_FRAME_APP_MIN || f->type > CASTY_FRAME_APP_MAX) {
        /* A handshake frame after the handshake. (Control frames may sit between fragments.) */
        t->stats.decode_errors++;
        casty__t_conn_drop(c, -EPROTO);
        return;
    }
    deliver(c, f->type, payload, f->len);
}

static void on_frame(t_conn *c, const casty_frame *f)
{
    switch (c->state) {
    case TC_UP:
        on_up_frame(c, f);
        return;
    case TC_CLOSING:
    case TC_DEAD:
    case TC_CONNECTING:
        return;
    default:
        break;
    }
    if (f->type == CASTY_FRAME_REFUSE) {
        on_refuse(c, f);
        return;
    }
    if (c->state == TC_WAIT_HELLO && f->type == CASTY_FRAME_HELLO)
        on_hello(c, f);
    else if (c->state == TC_HELLO_SENT && f->type == CASTY_FRAME_WELCOME)
        on_welcome(c, f);
    else if (c->state == TC_WAIT_AUTH && f->type == CASTY_FRAME_AUTH)
        on_auth(c, f);
    else
        casty__t_conn_refuse(c, CASTY_REFUSE_PROTOCOL, "unexpected frame type %u in handshake",
                             f->type);
}

static void on_bytes(t_conn *c, const uint8_t *data, uint32_t len)
{
    casty_transport *t = c->t;
    t->stats.bytes_recv += len;
    while (len && c->state != TC_DEAD) {
        size_t used = 0;
        casty_frame f;
        int rc = casty_frame_decode(&c->dec, data, len, &used, &f);
        data += used;
        len -= (uint32_t)used;
        if (rc < 0) {
            t->stats.decode_errors++;
            casty__t_conn_drop(c, -EPROTO);
            return;
        }
        if (rc == 0)
            return;
        on_frame(c, &f);
    }
}

static void on_hs_timeout(void *user, const casty_net_event *ev)
{
    (void)ev;
    t_conn *c = user;
    casty_transport *t = c->t;
    c->hs_timer = -1;
    casty__t_enter(t);
    casty__t_conn_drop(c, -ETIMEDOUT);
    casty__t_leave(t);
}

void casty__t_conn_event(void *user, const casty_net_event *ev)
{
    t_conn *c = user;
    casty_transport *t = c->t;
    casty__t_enter(t);
    switch (ev->kind) {
    case CASTY_NET_CONNECT:
        if (ev->result < 0) {
            c->h = -1; /* a failed connect closes its handle */
            casty__t_conn_drop(c, ev->result);
            break;
        }
        casty__t_nonce(t, c->nonce_d);
        c->state = TC_HELLO_SENT;
        casty_hello h;
        hello_fill(c, &h, c->nonce_d);
        if (send_hello(c, CASTY_FRAME_HELLO, &h) < 0)
            casty__t_conn_drop(c, -ENOMEM);
        break;
    case CASTY_NET_RECV:
        on_bytes(c, ev->data, ev->len);
        break;
    case CASTY_NET_CLOSED:
        casty__t_conn_drop(c, ev->result ? ev->result : -ECONNRESET);
        break;
    case CASTY_NET_SENT:
        casty__t_sent(c, ev->result);
        break;
    case CASTY_NET_ACCEPT:
    case CASTY_NET_DGRAM:
    case CASTY_NET_TIMER:
        break;
    }
    casty__t_leave(t);
}
