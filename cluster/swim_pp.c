/*
 * SWIM push-pull: a short TCP exchange of full membership state, both ways.
 * The dialer sends its state in one frame, the listener merges it, answers
 * with its own, and both close. Joins are push-pulls with a seed; a periodic
 * push-pull with a random member repairs whatever gossip missed.
 *
 * Merging follows memberlist: an alive entry is an alive rumour; a remote
 * "dead" only makes us suspect (our own probes get the last word); "left"
 * is final.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "alloc/heap.h"
#include "cluster/swim_impl.h"

#define PP_REQUEST  CASTY_FRAME_APP_MIN
#define PP_REPLY    (CASTY_FRAME_APP_MIN + 1)
#define PP_TIMEOUT  (5000ull * 1000000ull)
#define PP_MAX_BODY (SW_STATE_HDR + 65536u * SW_STATE_ENTRY + SW_MAC)

struct sw_pp {
    casty_swim *s;
    int h;
    int timer;
    bool client, join, done;
    bool join_req; /* server: the dialer is joining */
    casty_frame_decoder dec;
    uint8_t *out;
    sw_pp *next;
};

static void pp_event(void *user, const casty_net_event *ev);

static sw_pp *pp_new(casty_swim *s, int h, bool client, bool join)
{
    sw_pp *p = casty__mem_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (casty_frame_decoder_init(&p->dec, PP_MAX_BODY) < 0) {
        casty__mem_free(p);
        return NULL;
    }
    p->s = s;
    p->h = h;
    p->timer = -1;
    p->client = client;
    p->join = join;
    p->next = s->pps;
    s->pps = p;
    s->st.tcp_conns++;
    casty_net_set_user(s->net, h, pp_event, p);
    return p;
}

static void join_next(casty_swim *s);

static void on_rejoin_pp(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->rejoin_pp_timer = -1;
    casty__sw_pp_random(s);
}

/* Close and free; a join that ended without an answer tries the next seed. */
static void pp_close(sw_pp *p, bool ok)
{
    casty_swim *s = p->s;
    if (p->timer >= 0)
        casty_net_timer_cancel(s->net, p->timer);
    if (p->h >= 0)
        casty_net_close(s->net, p->h);
    for (sw_pp **pp = &s->pps; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    bool join = p->join && p->client;
    casty_frame_decoder_free(&p->dec);
    casty__mem_free(p->out);
    casty__mem_free(p);
    if (!join)
        return;
    if (ok) {
        s->joined = true;
        casty__sw_announce(s);
        casty__sw_gossip_now(s); /* spread the news of the join now, not at the next round */
        /*
         * Nodes that joined at the same time as us were not in the seed's
         * state yet: one more push-pull with a random member a little later
         * picks them up.
         */
        if (s->rejoin_pp_timer < 0)
            s->rejoin_pp_timer =
                casty_net_timer(s->net, 2 * s->c.gossip_interval_ns, on_rejoin_pp, s, 0);
        void (*done)(void *, int) = s->join_done;
        s->join_done = NULL;
        if (done)
            done(s->join_user, 0);
    } else {
        join_next(s);
    }
}

static void on_pp_timeout(void *user, const casty_net_event *ev)
{
    (void)ev;
    sw_pp *p = user;
    p->timer = -1;
    pp_close(p, false);
}

/* Frame our whole state (all members, all states) and send it. */
static int pp_send_state(sw_pp *p, uint8_t type)
{
    casty_swim *s = p->s;
    uint32_t body = SW_STATE_HDR + s->nmem * SW_STATE_ENTRY + (s->keyed ? SW_MAC : 0);
    uint8_t *out = casty__mem_alloc(CASTY_FRAME_HDR + body);
    if (!out)
        return -ENOMEM;
    uint8_t *b = out + CASTY_FRAME_HDR;
    casty__sw_state_hdr_put(b, p->join ? 1 : 0, s->nmem);
    for (uint32_t i = 0; i < s->nmem; i++)
        casty__sw_state_entry_put(b + SW_STATE_HDR + (size_t)i * SW_STATE_ENTRY, &s->mem[i].m);
    if (s->keyed)
        casty__sw_mac(s, b, body - SW_MAC, b + body - SW_MAC);
    int rc = casty_frame_header(out, type, 0, b, body);
    if (rc < 0) {
        casty__mem_free(out);
        return rc;
    }
    casty__mem_free(p->out);
    p->out = out;
    struct iovec iov = {out, CASTY_FRAME_HDR + body};
    rc = casty_net_send(s->net, p->h, &iov, 1, 0);
    if (rc == 0) {
        s->st.tcp_bytes += CASTY_FRAME_HDR + body;
        s->st.push_pulls++;
    }
    return rc;
}

static int pp_merge(casty_swim *s, const uint8_t *b, uint32_t len, bool *join)
{
    uint8_t flags;
    int n = casty__sw_state_parse(b, len, s->keyed, &flags);
    if (n < 0)
        return n;
    *join = flags & 1;
    if (s->keyed) {
        uint8_t mac[16];
        casty__sw_mac(s, b, len - SW_MAC, mac);
        if (sodium_memcmp(mac, b + len - SW_MAC, 16) != 0)
            return -EBADMSG;
    }
    for (int i = 0; i < n; i++) {
        casty_swim_member m;
        casty__sw_state_entry_get(b, (uint32_t)i, &m);
        switch (m.state) {
        case CASTY_MEMBER_ALIVE:
            casty__sw_apply_alive(s, m.id, m.incarnation, &m.addr);
            break;
        case CASTY_MEMBER_SUSPECT:
            /* Learn the member first if we never heard of it, then suspect it. */
            if (!casty__sw_find(s, m.id))
                casty__sw_apply_alive(s, m.id, m.incarnation, &m.addr);
            casty__sw_apply_suspect(s, m.id, m.incarnation, 0);
            break;
        case CASTY_MEMBER_DEAD:
            /* Only suspect (our own probes decide), but as a confirmed suspicion. */
            casty__sw_suspect_confirmed(s, m.id, m.incarnation);
            break;
        case CASTY_MEMBER_LEFT:
            casty__sw_apply_dead(s, m.id, m.incarnation, m.id);
            break;
        }
    }
    return 0;
}

static void pp_on_bytes(sw_pp *p, const uint8_t *data, uint32_t len)
{
    casty_swim *s = p->s;
    while (len && !p->done) {
        size_t used;
        casty_frame f;
        int rc = casty_frame_decode(&p->dec, data, len, &used, &f);
        data += used;
        len -= (uint32_t)used;
        if (rc < 0) {
            s->st.bad_packets++;
            pp_close(p, false);
            return;
        }
        if (rc == 0)
            return;
        uint8_t want = p->client ? PP_REPLY : PP_REQUEST;
        if (f.type != want || pp_merge(s, f.payload, f.len, &p->join_req) < 0) {
            s->st.bad_packets++;
            pp_close(p, false);
            return;
        }
        p->done = true;
        if (p->client) {
            pp_close(p, true);
            return;
        }
        /* A join changes every view: the seed spreads it at once (its rumours are fresh). */
        if (p->join_req)
            casty__sw_gossip_now(s);
        if (pp_send_state(p, PP_REPLY) < 0)
            pp_close(p, false);
        return; /* the server closes when its reply is sent */
    }
}

static void pp_event(void *user, const casty_net_event *ev)
{
    sw_pp *p = user;
    switch (ev->kind) {
    case CASTY_NET_CONNECT:
        if (ev->result < 0) {
            p->h = -1; /* a failed connect closed its handle */
            pp_close(p, false);
        } else if (pp_send_state(p, PP_REQUEST) < 0) {
            pp_close(p, false);
        }
        break;
    case CASTY_NET_RECV:
        pp_on_bytes(p, ev->data, ev->len);
        break;
    case CASTY_NET_SENT:
        if (ev->result < 0 || (!p->client && p->done))
            pp_close(p, false);
        break;
    case CASTY_NET_CLOSED:
        pp_close(p, false);
        break;
    case CASTY_NET_ACCEPT:
    case CASTY_NET_DGRAM:
    case CASTY_NET_TIMER:
        break;
    }
}

static void on_listen(void *user, const casty_net_event *ev)
{
    casty_swim *s = user;
    if (ev->kind != CASTY_NET_ACCEPT)
        return;
    sw_pp *p = pp_new(s, ev->conn, false, false);
    if (!p) {
        casty_net_close(s->net, ev->conn);
        return;
    }
    p->timer = casty_net_timer(s->net, PP_TIMEOUT, on_pp_timeout, p, 0);
}

int casty__sw_pp_start(casty_swim *s)
{
    s->tcp = casty_net_listen(s->net, &s->o.bind, on_listen, s);
    if (s->tcp < 0)
        return s->tcp;
    return casty_net_local_addr(s->net, s->tcp, &s->bound);
}

void casty__sw_pp_stop(casty_swim *s)
{
    while (s->pps) {
        sw_pp *p = s->pps;
        p->join = false; /* no callbacks while tearing down */
        pp_close(p, false);
    }
    if (s->tcp >= 0)
        casty_net_close(s->net, s->tcp);
    s->tcp = -1;
}

int casty__sw_pp_dial(casty_swim *s, const casty_addr *to, bool join)
{
    int h = casty_net_connect(s->net, to, pp_event, NULL);
    if (h < 0)
        return h;
    sw_pp *p = pp_new(s, h, true, join);
    if (!p) {
        casty_net_close(s->net, h);
        return -ENOMEM;
    }
    p->timer = casty_net_timer(s->net, PP_TIMEOUT, on_pp_timeout, p, 0);
    return 0;
}

static void join_next(casty_swim *s)
{
    while (s->seed_next < s->nseeds) {
        const casty_addr *seed = &s->seeds[s->seed_next++];
        if (casty__sw_pp_dial(s, seed, true) == 0)
            return;
    }
    void (*done)(void *, int) = s->join_done;
    s->join_done = NULL;
    if (done)
        done(s->join_user, -ETIMEDOUT);
}

int casty_swim_join(casty_swim *s, const casty_addr *seeds, uint32_t nseeds,
                    void (*done)(void *user, int result), void *user)
{
    if (!s || !seeds || !nseeds || nseeds > 1024)
        return -EINVAL;
    if (s->join_done)
        return -EBUSY;
    casty_addr *copy = casty__mem_alloc((size_t)nseeds * sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    memcpy(copy, seeds, (size_t)nseeds * sizeof(*copy));
    casty__mem_free(s->seeds);
    s->seeds = copy;
    s->nseeds = nseeds;
    s->seed_next = 0;
    s->join_done = done;
    s->join_user = user;
    join_next(s);
    return 0;
}
