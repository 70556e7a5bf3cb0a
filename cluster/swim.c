/*
 * SWIM + Lifeguard: members and the rules that change them, rumours and
 * their piggybacking, the probe cycle, gossip rounds, and the UDP path.
 * Push-pull over TCP (and join) is in cluster/swim_pp.c. See cluster/swim.h.
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "cluster/swim_impl.h"
#include "core/assert.h"

#define MS 1000000ull

/* ---- profiles ---- */

void casty_swim_config_lan(casty_swim_config *c)
{
    *c = (casty_swim_config){.profile = "lan",
                             .probe_interval_ns = 1000 * MS,
                             .probe_timeout_ns = 500 * MS,
                             .indirect_checks = 3,
                             .suspicion_mult = 4,
                             .suspicion_max_mult = 6,
                             .gossip_interval_ns = 200 * MS,
                             .gossip_nodes = 3,
                             .retransmit_mult = 4,
                             .awareness_max = 8,
                             .push_pull_interval_ns = 30000 * MS,
                             .dead_gossip_ns = 30000 * MS,
                             .max_dgram = 1400};
}

void casty_swim_config_local(casty_swim_config *c)
{
    casty_swim_config_lan(c);
    c->profile = "local";
    c->probe_timeout_ns = 200 * MS;
    c->indirect_checks = 1;
    c->suspicion_mult = 3;
    c->gossip_interval_ns = 100 * MS;
    c->retransmit_mult = 2;
    c->push_pull_interval_ns = 15000 * MS;
}

void casty_swim_config_default(casty_swim_config *c)
{
    /*
     * Casty's own: probe every 400 ms with a 200 ms timeout (a LAN round
     * trip is well under a millisecond), the same Lifeguard safety margins
     * (suspicion 4 x log10 N probe intervals, up to 6 x that), and more
     * frequent anti-entropy so that no view has a long tail. In simulation
     * (N = 20) a crash is dead everywhere in about 2.7 s instead of 6.6 s.
     */
    casty_swim_config_lan(c);
    c->profile = "casty";
    c->probe_interval_ns = 400 * MS;
    c->probe_timeout_ns = 200 * MS;
    c->suspicion_mult = 4;
    c->gossip_interval_ns = 100 * MS;
    c->push_pull_interval_ns = 10000 * MS;
}

/* ---- randomness (core/rand.h; deterministic in simulation) ---- */

uint64_t casty__sw_rand(casty_swim *s)
{
    return casty__rng_next(&s->rng);
}

/* ---- members ---- */

sw_member *casty__sw_find(casty_swim *s, uint64_t id)
{
    uint64_t slot;
    return casty__u64map_get(&s->index, id, &slot) ? &s->mem[slot] : NULL;
}

/*
 * The alive count moved: recompute what depends on it here, once, rather
 * than on every packet. Each rumour is sent retransmit_mult * log10(N+1)
 * times (at least once).
 */
static void alive_changed(casty_swim *s, int delta)
{
    s->nalive = (uint32_t)((int64_t)s->nalive + delta);
    uint32_t limit = s->c.retransmit_mult * (uint32_t)ceil(log10((double)s->nalive + 1.0));
    s->rt_limit = limit ? limit : 1;
}

static sw_member *member_add(casty_swim *s, uint64_t id, const casty_addr *addr, uint64_t inc)
{
    if (s->nmem == s->cap) {
        uint32_t cap = s->cap * 2;
        sw_member *grown = casty__mem_realloc(s->mem, (size_t)cap * sizeof(*grown));
        if (!grown)
            return NULL;
        s->mem = grown;
        s->cap = cap;
    }
    if (casty__u64map_put(&s->index, id, s->nmem) < 0)
        return NULL;
    sw_member *m = &s->mem[s->nmem++];
    memset(m, 0, sizeof(*m));
    m->m.id = id;
    m->m.addr = *addr;
    m->m.incarnation = inc;
    m->m.state = CASTY_MEMBER_ALIVE;
    m->susp_timer = -1;
    m->since = casty_net_now(s->net);
    alive_changed(s, 1);
    return m;
}

/* Members alive or suspect (this node included), kept up to date on every state change. */
uint32_t casty__sw_alive_count(const casty_swim *s)
{
    return s->nalive;
}

/* Every state change goes through here, so that the count stays exact. */
static void set_state(casty_swim *s, sw_member *m, casty_member_state st)
{
    bool was = m->m.state <= CASTY_MEMBER_SUSPECT, is = st <= CASTY_MEMBER_SUSPECT;
    if (is != was)
        alive_changed(s, is ? 1 : -1);
    m->m.state = st;
}

/*
 * A member that joins (or comes back) is put into the current probe round at
 * a random place still ahead, rather than waiting up to N intervals for the
 * next shuffle.
 */
static void probe_insert(casty_swim *s, uint32_t slot)
{
    if (!s->order || s->norder >= s->order_cap) {
        uint32_t cap = s->order_cap ? s->order_cap * 2 : 16;
        uint32_t *grown = casty__mem_realloc(s->order, (size_t)cap * sizeof(*grown));
        if (!grown)
            return; /* it joins the next round instead */
        s->order = grown;
        s->order_cap = cap;
    }
    uint32_t at = s->next + (uint32_t)(casty__sw_rand(s) % (s->norder - s->next + 1));
    s->order[s->norder++] = s->order[at];
    s->order[at] = slot;
}

static void on_gossip_soon(void *user, const casty_net_event *ev);

static void emit_member(casty_swim *s, sw_member *m, casty_member_state old)
{
    /*
     * News travels at once: every node that learns a change passes it on in
     * an extra gossip round at the end of this dispatch, so a change crosses
     * the cluster in about log N network hops instead of log N gossip
     * intervals. Coalesced: one extra round however many changes.
     */
    if (s->gossip_soon < 0)
        s->gossip_soon = casty_net_timer(s->net, 0, on_gossip_soon, s, 0);
    m->since = casty_net_now(s->net);
    if (s->o.events.on_member)
        s->o.events.on_member(s->o.events.user, &m->m, old, m->since);
}

/* ---- rumours ---- */

static void rumour(casty_swim *s, const sw_msg *msg)
{
    uint8_t bytes[32];
    uint32_t len = casty__sw_msg_put(msg, bytes, sizeof(bytes));
    CASTY_ASSERT(len > 0);
    /* A newer rumour about a member replaces the older one. */
    sw_rumour *r = NULL;
    for (uint32_t i = 0; i < s->nrum; i++)
        if (s->rum[i].subject == msg->id)
            r = &s->rum[i];
    if (!r) {
        if (s->nrum == s->rum_cap) {
            uint32_t cap = s->rum_cap ? s->rum_cap * 2 : 16;
            sw_rumour *grown = casty__mem_realloc(s->rum, (size_t)cap * sizeof(*grown));
            if (!grown)
                return; /* dropped: anti-entropy will repair it */
            s->rum = grown;
            s->rum_cap = cap;
        }
        r = &s->rum[s->nrum++];
    }
    r->subject = msg->id;
    r->order = ++s->rum_order;
    r->sent = 0;
    r->len = (uint8_t)len;
    memcpy(r->bytes, bytes, len);
}

static void rumour_drop(casty_swim *s, uint32_t i)
{
    s->rum[i] = s->rum[--s->nrum];
}

/* Called after a datagram that carried our own "left" actually went out. */
static void on_leave_done(void *user, const casty_net_event *ev);

/*
 * A member acknowledged a ping that carried our own "left": it has the news,
 * and will spread it. Reported from a 0 ns timer, never from inside a
 * dispatch: the caller typically destroys the node in that callback.
 */
static void leave_sent(casty_swim *s)
{
    if (!s->leaving || s->leave_reported)
        return;
    s->leave_reported = true;
    if (s->leave_timer >= 0)
        casty_net_timer_cancel(s->net, s->leave_timer);
    s->leave_timer = s->leave_done ? casty_net_timer(s->net, 0, on_leave_done, s, 0) : -1;
}

/*
 * Fill out[off..cap) with rumours, least-sent first and newest among equals,
 * each counted as sent; returns the new offset and bumps *count.
 */
static uint32_t piggyback(casty_swim *s, uint8_t *out, uint32_t off, uint32_t cap, uint8_t *count)
{
    uint32_t limit = s->rt_limit;
    for (;;) {
        int best = -1;
        for (uint32_t i = 0; i < s->nrum; i++) {
            sw_rumour *r = &s->rum[i];
            if ((r->sent & 0x80000000u) || off + r->len > cap)
                continue; /* taken this round, or too big for what is left */
            if (best < 0 || r->sent < s->rum[best].sent ||
                (r->sent == s->rum[best].sent && r->order > s->rum[best].order))
                best = (int)i;
        }
        if (best < 0 || *count == SW_MAX_MSGS)
            break;
        sw_rumour *r = &s->rum[best];
        memcpy(out + off, r->bytes, r->len);
        off += r->len;
        (*count)++;
        r->sent++;
        if (r->sent >= limit) {
            rumour_drop(s, (uint32_t)best);
            continue;
        }
        r->sent |= 0x80000000u; /* mark taken; cleared below */
    }
    for (uint32_t i = 0; i < s->nrum; i++)
        s->rum[i].sent &= 0x7fffffffu;
    return off;
}

/* ---- sending ---- */

void casty__sw_mac(const casty_swim *s, const uint8_t *data, uint32_t len, uint8_t out[16])
{
    uint8_t full[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(full, data, len, s->key);
    memcpy(out, full, 16);
}

/* Send a packet of `first` (if any) plus as many rumours as fit. */
static void send_packet(casty_swim *s, const casty_addr *to, const sw_msg *first,
                        const sw_msg *second)
{
    uint8_t buf[CASTY_NET_DGRAM_MAX];
    uint32_t cap = s->c.max_dgram < sizeof(buf) ? s->c.max_dgram : (uint32_t)sizeof(buf);
    if (s->keyed)
        cap -= SW_MAC;
    uint32_t off = SW_HDR;
    uint8_t count = 0;
    if (first) {
        off += casty__sw_msg_put(first, buf + off, cap - off);
        count++;
    }
    if (second) {
        off += casty__sw_msg_put(second, buf + off, cap - off);
        count++;
    }
    off = piggyback(s, buf, off, cap, &count);
    if (!count)
        return;
    casty__sw_hdr_put(buf, s->keyed ? SW_F_MAC : 0, count, s->cluster, s->o.node_id);
    if (s->keyed) {
        casty__sw_mac(s, buf, off, buf + off);
        off += SW_MAC;
    }
    if (s->o.drop_ppm && casty__sw_rand(s) % 1000000u < s->o.drop_ppm) {
        s->st.udp_dropped++; /* the harness's loss hook: before the send, never counted as sent */
        return;
    }
    if (casty_net_sendto(s->net, s->udp, to, buf, off) == 0) {
        s->st.udp_sent++;
        s->st.udp_bytes += off;
    }
}

/* ---- rumour rules ---- */

void casty__sw_announce(casty_swim *s);

static void refute(casty_swim *s, uint64_t inc)
{
    sw_member *me = &s->mem[0];
    if (inc >= me->m.incarnation)
        me->m.incarnation = inc + 1;
    sw_msg a = {.type = SW_ALIVE, .id = s->o.node_id, .inc = me->m.incarnation, .addr = s->adv};
    rumour(s, &a);
    if (s->o.events.on_refute)
        s->o.events.on_refute(s->o.events.user, casty_net_now(s->net));
}

static void susp_cancel(casty_swim *s, sw_member *m)
{
    if (m->susp_timer >= 0)
        casty_net_timer_cancel(s->net, m->susp_timer);
    m->susp_timer = -1;
    m->confirms = 0;
}

void casty__sw_apply_alive(casty_swim *s, uint64_t id, uint64_t inc, const casty_addr *addr)
{
    if (id == s->o.node_id || !id)
        return;
    sw_member *m = casty__sw_find(s, id);
    sw_msg a = {.type = SW_ALIVE, .id = id, .inc = inc, .addr = *addr};
    if (!m) {
        m = member_add(s, id, addr, inc);
        if (!m)
            return;
        probe_insert(s, (uint32_t)(m - s->mem));
        rumour(s, &a);
        emit_member(s, m, CASTY_MEMBER_DEAD); /* "old" DEAD: it was not in the view */
        return;
    }
    if (inc <= m->m.incarnation)
        return;
    casty_member_state old = m->m.state;
    m->m.incarnation = inc;
    m->m.addr = *addr;
    susp_cancel(s, m);
    set_state(s, m, CASTY_MEMBER_ALIVE);
    rumour(s, &a);
    if (old >= CASTY_MEMBER_DEAD)
        probe_insert(s, (uint32_t)(m - s->mem));
    if (old != CASTY_MEMBER_ALIVE)
        emit_member(s, m, old);
}

static uint64_t susp_min_ns(const casty_swim *s)
{
    double n = (double)casty__sw_alive_count(s);
    double scale = n > 1 ? log10(n) : 1.0;
    if (scale < 1)
        scale = 1;
    return (uint64_t)((double)s->c.suspicion_mult * scale * (double)s->c.probe_interval_ns);
}

/* Lifeguard: max at no confirmation, down to min after k independent ones. */
static uint64_t susp_timeout(const casty_swim *s, uint32_t confirms)
{
    uint64_t min = susp_min_ns(s);
    uint64_t max = min * s->c.suspicion_max_mult;
    uint32_t n = casty__sw_alive_count(s);
    int64_t k = (int64_t)s->c.suspicion_mult - 2;
    if ((int64_t)n - 2 < k)
        k = 0;
    if (k < 1)
        return min;
    double frac = log((double)confirms + 1.0) / log((double)k + 1.0);
    double t = (double)max - frac * (double)(max - min);
    return t < (double)min ? min : (uint64_t)t;
}

static void on_susp_timer(void *user, const casty_net_event *ev);

static void susp_arm(casty_swim *s, sw_member *m)
{
    if (m->susp_timer >= 0)
        casty_net_timer_cancel(s->net, m->susp_timer);
    uint64_t now = casty_net_now(s->net);
    uint64_t deadline = m->susp_start + susp_timeout(s, m->confirms);
    m->susp_timer =
        casty_net_timer(s->net, deadline > now ? deadline - now : 0, on_susp_timer, s, m->m.id);
}

/*
 * A rumour about this node. A current one is refuted; a stale one (older
 * incarnation) means our refutation has not reached everyone yet: under loss
 * its budget can run out first, so put it back in the queue.
 */
static void about_me(casty_swim *s, uint64_t inc)
{
    if (s->leaving)
        return;
    if (inc >= s->mem[0].m.incarnation) {
        refute(s, inc);
        return;
    }
    for (uint32_t i = 0; i < s->nrum; i++)
        if (s->rum[i].subject == s->o.node_id && s->rum[i].sent == 0)
            return; /* already queued afresh */
    casty__sw_announce(s);
}

void casty__sw_apply_suspect(casty_swim *s, uint64_t id, uint64_t inc, uint64_t from)
{
    if (id == s->o.node_id) {
        about_me(s, inc);
        return;
    }
    sw_member *m = casty__sw_find(s, id);
    if (!m || inc < m->m.incarnation)
        return;
    if (m->m.state == CASTY_MEMBER_LEFT && inc == m->m.incarnation) {
        /* Someone missed the leave and suspects it: tell them again, so no timer fires. */
        sw_msg left = {.type = SW_DEAD, .id = id, .inc = inc, .from = id};
        rumour(s, &left);
        return;
    }
    if (m->m.state >= CASTY_MEMBER_DEAD)
        return;
    sw_msg msg = {.type = SW_SUSPECT, .id = id, .inc = inc, .from = from};
    if (m->m.state == CASTY_MEMBER_SUSPECT && inc == m->m.incarnation) {
        /*
         * Another independent confirmation (this node's own failed probe
         * included) shortens the timer (Lifeguard). confirm_from[0] is the
         * suspicion's originator, which does not confirm itself.
         */
        uint32_t known = m->confirms + 1 < SW_CONFIRM_MAX ? m->confirms + 1 : SW_CONFIRM_MAX;
        for (uint32_t i = 0; i < known; i++)
            if (m->confirm_from[i] == from)
                return;
        if (m->confirms + 1 < SW_CONFIRM_MAX)
            m->confirm_from[m->confirms + 1] = from;
        m->confirms++;
        susp_arm(s, m);
        rumour(s, &msg);
        return;
    }
    casty_member_state old = m->m.state;
    m->m.incarnation = inc;
    set_state(s, m, CASTY_MEMBER_SUSPECT);
    m->confirms = 0;
    m->confirm_from[0] = from;
    m->susp_start = casty_net_now(s->net);
    susp_arm(s, m);
    rumour(s, &msg);
    emit_member(s, m, old);
}

void casty__sw_apply_dead(casty_swim *s, uint64_t id, uint64_t inc, uint64_t from)
{
    if (id == s->o.node_id) {
        about_me(s, inc);
        return;
    }
    sw_member *m = casty__sw_find(s, id);
    if (!m || inc < m->m.incarnation || m->m.state == CASTY_MEMBER_LEFT)
        return;
    /* A leave overrides a death at the same incarnation (it says more); a death is final. */
    if (m->m.state == CASTY_MEMBER_DEAD && from != id)
        return;
    casty_member_state old = m->m.state;
    susp_cancel(s, m);
    m->m.incarnation = inc;
    set_state(s, m, from == id ? CASTY_MEMBER_LEFT : CASTY_MEMBER_DEAD);
    sw_msg msg = {.type = SW_DEAD, .id = id, .inc = inc, .from = from};
    rumour(s, &msg);
    emit_member(s, m, old);
}

static void on_susp_timer(void *user, const casty_net_event *ev)
{
    casty_swim *s = user;
    sw_member *m = casty__sw_find(s, ev->tag);
    if (!m || m->susp_timer != ev->handle)
        return;
    m->susp_timer = -1;
    if (m->m.state != CASTY_MEMBER_SUSPECT)
        return;
    if (s->o.events.on_suspect_timer)
        s->o.events.on_suspect_timer(s->o.events.user, m->m.id, casty_net_now(s->net));
    casty__sw_apply_dead(s, m->m.id, m->m.incarnation, s->o.node_id);
}

/* Announce this node (after a join: the seed's rumour alone has a small budget). */
void casty__sw_announce(casty_swim *s)
{
    sw_msg a = {
        .type = SW_ALIVE, .id = s->o.node_id, .inc = s->mem[0].m.incarnation, .addr = s->adv};
    rumour(s, &a);
}

/*
 * Another node already declared `id` dead (learned by push-pull): suspect it
 * with the shortest timeout, as if confirmed, so that a node that missed the
 * rumour does not take the longest suspicion to agree.
 */
void casty__sw_suspect_confirmed(casty_swim *s, uint64_t id, uint64_t inc)
{
    casty__sw_apply_suspect(s, id, inc, 0);
    sw_member *m = casty__sw_find(s, id);
    if (m && m->m.state == CASTY_MEMBER_SUSPECT && m->m.incarnation == inc &&
        m->confirms < s->c.suspicion_mult) {
        m->confirms = s->c.suspicion_mult;
        susp_arm(s, m);
    }
}

/* ---- probing ---- */

static uint64_t scaled(const casty_swim *s, uint64_t ns)
{
    return ns * (s->awareness + 1);
}

static void awareness_add(casty_swim *s, int delta)
{
    int64_t a = (int64_t)s->awareness + delta;
    if (a < 0)
        a = 0;
    if (a > (int64_t)s->c.awareness_max - 1)
        a = (int64_t)s->c.awareness_max - 1;
    s->awareness = (uint32_t)a;
}

static bool probeable(const sw_member *m)
{
    return m->m.state <= CASTY_MEMBER_SUSPECT;
}

/* The next member of a shuffled round-robin list; NULL if there is none. */
static sw_member *next_target(casty_swim *s)
{
    for (uint32_t tries = 0; tries < 2; tries++) {
        while (s->next < s->norder) {
            uint32_t slot = s->order[s->next++];
            if (slot < s->nmem && probeable(&s->mem[slot]))
                return &s->mem[slot];
        }
        /* Rebuild: every member but this node, shuffled (Fisher-Yates). */
        uint32_t *order = s->order;
        if (s->order_cap < s->nmem) {
            order = casty__mem_realloc(s->order, (size_t)s->nmem * sizeof(*order));
            if (!order)
                return NULL;
            s->order = order;
            s->order_cap = s->nmem;
        }
        s->norder = 0;
        for (uint32_t i = 1; i < s->nmem; i++)
            if (probeable(&s->mem[i]))
                order[s->norder++] = i;
        for (uint32_t i = s->norder; i > 1; i--) {
            uint32_t j = (uint32_t)(casty__sw_rand(s) % i);
            uint32_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        s->next = 0;
        if (!s->norder)
            return NULL;
    }
    return NULL;
}

static void on_probe_tick(void *user, const casty_net_event *ev);
static void on_probe_timeout(void *user, const casty_net_event *ev);

static void probe_finish(casty_swim *s)
{
    if (!s->probing)
        return;
    s->probing = false;
    if (s->acked)
        return;
    /* Lifeguard: a missing nack says the fault may be ours; no relays to ask counts once. */
    int delta = s->nacks_expected ? (int)(s->nacks_expected - s->nacks_got) : 1;
    awareness_add(s, delta);
    sw_member *m = casty__sw_find(s, s->probe_target);
    if (!m || m->m.state > CASTY_MEMBER_SUSPECT)
        return;
    if (s->o.events.on_local_suspect)
        s->o.events.on_local_suspect(s->o.events.user, m->m.id, casty_net_now(s->net));
    casty__sw_apply_suspect(s, m->m.id, m->m.incarnation, s->o.node_id);
}

static void on_probe_tick(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->probe_timer = -1;
    probe_finish(s);
    sw_member *m = next_target(s);
    if (m) {
        s->probing = true;
        s->acked = false;
        s->probe_target = m->m.id;
        s->probe_seq = ++s->seq;
        s->nacks_expected = s->nacks_got = 0;
        sw_msg ping = {.type = SW_PING, .seq = s->probe_seq, .id = m->m.id};
        /* Buddy system: a suspect hears about it first, in the ping itself. */
        sw_msg buddy = {
            .type = SW_SUSPECT, .id = m->m.id, .inc = m->m.incarnation, .from = s->o.node_id};
        send_packet(s, &m->m.addr, &ping, m->m.state == CASTY_MEMBER_SUSPECT ? &buddy : NULL);
        s->st.probes++;
        if (s->timeout_timer >= 0)
            casty_net_timer_cancel(s->net, s->timeout_timer);
        s->timeout_timer =
            casty_net_timer(s->net, scaled(s, s->c.probe_timeout_ns), on_probe_timeout, s, 0);
    }
    s->probe_timer =
        casty_net_timer(s->net, scaled(s, s->c.probe_interval_ns), on_probe_tick, s, 0);
}

static bool eligible(const casty_swim *s, const sw_member *m, uint64_t not, bool dead_too,
                     uint64_t now)
{
    if (m->m.id == not )
        return false;
    return probeable(m) ||
           (dead_too && m->m.state == CASTY_MEMBER_DEAD && now - m->since < s->c.dead_gossip_ns);
}

/*
 * Up to k distinct random members other than this node and `not`. Random
 * probes of the table cost O(k) however large the cluster; when they come up
 * short (a table of mostly dead members), one reservoir pass finishes the job.
 */
static uint32_t random_members(casty_swim *s, uint64_t not, uint32_t k, sw_member **out,
                               bool dead_too)
{
    uint32_t n = 0;
    uint64_t now = casty_net_now(s->net);
    if (s->nmem <= 1 || !k)
        return 0;
    for (uint32_t tries = 0; tries < 4 * k + 8 && n < k; tries++) {
        sw_member *m = &s->mem[1 + casty__sw_rand(s) % (s->nmem - 1)];
        bool dup = false;
        for (uint32_t i = 0; i < n; i++)
            dup |= out[i] == m;
        if (!dup && eligible(s, m, not, dead_too, now))
            out[n++] = m;
    }
    if (n == k)
        return n;
    n = 0;
    uint32_t seen = 0;
    for (uint32_t i = 1; i < s->nmem; i++) {
        sw_member *m = &s->mem[i];
        if (!eligible(s, m, not, dead_too, now))
            continue;
        seen++;
        if (n < k) {
            out[n++] = m;
        } else {
            uint64_t j = casty__sw_rand(s) % seen;
            if (j < k)
                out[j] = m;
        }
    }
    return n;
}

static void on_probe_timeout(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->timeout_timer = -1;
    if (!s->probing || s->acked)
        return;
    sw_member *target = casty__sw_find(s, s->probe_target);
    if (!target)
        return;
    sw_member *relays[16];
    uint32_t k = s->c.indirect_checks < 16 ? s->c.indirect_checks : 16;
    uint32_t n = random_members(s, target->m.id, k, relays, false);
    sw_msg req = {
        .type = SW_PING_REQ, .seq = s->probe_seq, .id = target->m.id, .addr = target->m.addr};
    for (uint32_t i = 0; i < n; i++) {
        send_packet(s, &relays[i]->m.addr, &req, NULL);
        s->st.indirect_probes++;
    }
    s->nacks_expected = n;
}

/* ---- relaying ping-req ---- */

static void on_relay_timeout(void *user, const casty_net_event *ev)
{
    casty_swim *s = user;
    sw_relay *r = &s->relay[ev->tag];
    if (!r->used || r->timer != ev->handle)
        return;
    r->used = false;
    r->timer = -1;
    sw_msg nack = {.type = SW_NACK, .seq = r->origin_seq};
    send_packet(s, &r->origin, &nack, NULL);
}

static void relay_start(casty_swim *s, const sw_msg *req, const casty_addr *origin)
{
    for (uint32_t i = 0; i < 64; i++) {
        sw_relay *r = &s->relay[i];
        if (r->used)
            continue;
        r->used = true;
        r->seq = ++s->seq;
        r->origin_seq = req->seq;
        r->origin = *origin;
        /* Nack a little before the origin's own deadline, so that it arrives in time. */
        r->timer = casty_net_timer(s->net, s->c.probe_timeout_ns * 8 / 10, on_relay_timeout, s, i);
        sw_msg ping = {.type = SW_PING, .seq = r->seq, .id = req->id};
        send_packet(s, &req->addr, &ping, NULL);
        return;
    }
}

static void on_ack(casty_swim *s, uint32_t seq)
{
    if (s->leaving && seq == s->leave_seq) {
        leave_sent(s);
        return;
    }
    if (s->probing && seq == s->probe_seq && !s->acked) {
        s->acked = true;
        s->st.acks++;
        awareness_add(s, -1);
        return;
    }
    for (uint32_t i = 0; i < 64; i++) {
        sw_relay *r = &s->relay[i];
        if (r->used && r->seq == seq) {
            r->used = false;
            if (r->timer >= 0)
                casty_net_timer_cancel(s->net, r->timer);
            r->timer = -1;
            sw_msg ack = {.type = SW_ACK, .seq = r->origin_seq};
            send_packet(s, &r->origin, &ack, NULL);
            return;
        }
    }
}

/* ---- the UDP path ---- */

static void on_udp(void *user, const casty_net_event *ev)
{
    casty_swim *s = user;
    if (ev->kind != CASTY_NET_DGRAM)
        return;
    s->st.udp_recv++;
    sw_packet p;
    if (casty__sw_packet_parse(ev->data, ev->len, s->keyed, &p) < 0 || p.cluster != s->cluster ||
        p.from == s->o.node_id) {
        s->st.bad_packets++;
        return;
    }
    if (s->keyed) {
        uint8_t mac[16];
        casty__sw_mac(s, ev->data, ev->len - SW_MAC, mac);
        if (sodium_memcmp(mac, ev->data + ev->len - SW_MAC, 16) != 0) {
            s->st.bad_packets++;
            return;
        }
    }
    sw_member *sender = casty__sw_find(s, p.from);
    if (!sender) {
        /*
         * A member we never heard of (it joined while we did, and its alive
         * rumour ran out before reaching us): exchange state with it, at most
         * once per probe timeout, instead of waiting for anti-entropy.
         */
        uint64_t now = casty_net_now(s->net);
        if (now - s->unknown_pp_at >= s->c.probe_timeout_ns) {
            s->unknown_pp_at = now;
            casty__sw_pp_dial(s, &ev->addr, false);
        }
    } else if (sender->m.state == CASTY_MEMBER_DEAD) {
        /* It thinks it is alive and we hold it dead (a healed partition): tell it, so it refutes. */
        sw_msg d = {
            .type = SW_DEAD, .id = p.from, .inc = sender->m.incarnation, .from = s->o.node_id};
        send_packet(s, &ev->addr, &d, NULL);
    }
    uint32_t off = 0, ack_seq = 0;
    bool ack_wanted = false;
    for (uint32_t i = 0; i < p.count; i++) {
        sw_msg m;
        if (casty__sw_msg_next(&p, &off, &m) < 0)
            return;
        switch (m.type) {
        case SW_PING:
            if (m.id == s->o.node_id) {
                ack_seq = m.seq;
                ack_wanted = true;
            }
            break;
        case SW_PING_REQ:
            relay_start(s, &m, &ev->addr);
            break;
        case SW_ACK:
            on_ack(s, m.seq);
            break;
        case SW_NACK:
            if (s->probing && m.seq == s->probe_seq) {
                s->nacks_got++;
                s->st.nacks_recv++;
            }
            break;
        case SW_ALIVE:
            casty__sw_apply_alive(s, m.id, m.inc, &m.addr);
            break;
        case SW_SUSPECT: {
            /* It suspects a member that left: answer the sender directly, before its timer fires. */
            sw_member *x = casty__sw_find(s, m.id);
            if (x && x->m.state == CASTY_MEMBER_LEFT && m.inc <= x->m.incarnation) {
                sw_msg left = {.type = SW_DEAD, .id = m.id, .inc = x->m.incarnation, .from = m.id};
                send_packet(s, &ev->addr, &left, NULL);
            }
            casty__sw_apply_suspect(s, m.id, m.inc, m.from);
            break;
        }
        case SW_DEAD:
            casty__sw_apply_dead(s, m.id, m.inc, m.from);
            break;
        default:
            break;
        }
    }
    /*
     * Ack after the packet's rumours are applied: a ping that told us we are
     * suspected (buddy system) gets our refutation in its very ack.
     */
    if (ack_wanted) {
        sw_msg ack = {.type = SW_ACK, .seq = ack_seq};
        send_packet(s, &ev->addr, &ack, NULL);
    }
}

/* ---- gossip rounds ---- */

/* One gossip round now: queued rumours to gossip_nodes random members. */
void casty__sw_gossip_now(casty_swim *s)
{
    if (!s->nrum)
        return;
    sw_member *to[16];
    uint32_t k = s->c.gossip_nodes < 16 ? s->c.gossip_nodes : 16;
    uint32_t n = random_members(s, 0, k, to, true);
    for (uint32_t i = 0; i < n && s->nrum; i++)
        send_packet(s, &to[i]->m.addr, NULL, NULL);
}

static void on_gossip_soon(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->gossip_soon = -1;
    casty__sw_gossip_now(s);
}

static void on_gossip(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->gossip_timer = -1;
    casty__sw_gossip_now(s);
    s->gossip_timer = casty_net_timer(s->net, s->c.gossip_interval_ns, on_gossip, s, 0);
}

/* Push-pull with one random live member (anti-entropy). */
void casty__sw_pp_random(casty_swim *s)
{
    sw_member *to[1] = {NULL};
    if (random_members(s, 0, 1, to, false) == 1)
        casty__sw_pp_dial(s, &to[0]->m.addr, false);
}

static void on_push_pull(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->pp_timer = -1;
    casty__sw_pp_random(s);
    /*
     * And one member we hold dead: after a partition longer than the
     * suspicion timeout both sides hold the other dead and nothing else would
     * ever cross back. If it is alive, the exchange makes it refute.
     */
    sw_member *dead = NULL;
    uint32_t seen = 0;
    for (uint32_t i = 1; i < s->nmem; i++) {
        if (s->mem[i].m.state == CASTY_MEMBER_DEAD && casty__sw_rand(s) % ++seen == 0)
            dead = &s->mem[i];
    }
    if (dead)
        casty__sw_pp_dial(s, &dead->m.addr, false);
    /* Like memberlist: above 32 members, stretch the interval with log N. */
    uint32_t n = casty__sw_alive_count(s);
    uint64_t every = s->c.push_pull_interval_ns;
    if (n > 32)
        every = (uint64_t)((double)every * (ceil(log2((double)n) - log2(32.0)) + 1.0));
    s->pp_timer = casty_net_timer(s->net, every, on_push_pull, s, 0);
}

/* ---- public calls ---- */

static int check_opts(const casty_swim_opts *o)
{
    const casty_swim_config *c = &o->config;
    if (!o->node_id || !o->cluster || !o->cluster[0] || strlen(o->cluster) > 63)
        return -EINVAL;
    if (!c->probe_interval_ns || !c->probe_timeout_ns || c->probe_timeout_ns > c->probe_interval_ns)
        return -EINVAL;
    if (!c->suspicion_mult || c->suspicion_max_mult < 1 || !c->gossip_interval_ns ||
        !c->retransmit_mult || !c->awareness_max || c->max_dgram < 256 ||
        c->max_dgram > CASTY_NET_DGRAM_MAX || o->drop_ppm > 1000000)
        return -EINVAL;
    return 0;
}

int casty_swim_create(casty_net *net, const casty_swim_opts *opts, casty_swim **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!net || !opts)
        return -EINVAL;
    int rc = check_opts(opts);
    if (rc < 0)
        return rc;
    if (sodium_init() < 0)
        return -ENOSYS;
    casty_swim *s = casty__mem_calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->net = net;
    s->o = *opts;
    s->c = opts->config;
    snprintf(s->cluster_name, sizeof(s->cluster_name), "%s", opts->cluster);
    s->o.cluster = s->cluster_name;
    s->cluster = (uint32_t)XXH3_64bits(s->cluster_name, strlen(s->cluster_name));
    if (opts->key) {
        memcpy(s->key, opts->key, 32);
        s->keyed = true;
        s->o.key = NULL;
    }
    casty__rng_seed(&s->rng, opts->seed ? opts->seed : opts->node_id);
    s->probe_timer = s->timeout_timer = s->gossip_timer = s->pp_timer = s->leave_timer = -1;
    s->gossip_soon = -1;
    s->rejoin_pp_timer = -1;
    s->udp = s->tcp = -1;
    for (uint32_t i = 0; i < 64; i++)
        s->relay[i].timer = -1;
    s->cap = 16;
    s->mem = casty__mem_calloc(s->cap, sizeof(*s->mem));
    if (!s->mem) {
        casty_swim_destroy(s);
        return -ENOMEM;
    }
    /* TCP first: with port 0 it picks the port that UDP then binds too. */
    rc = casty__sw_pp_start(s);
    if (rc == 0) {
        s->udp = casty_net_udp_bind(net, &s->bound, on_udp, s);
        rc = s->udp < 0 ? s->udp : 0;
    }
    if (rc < 0) {
        casty_swim_destroy(s);
        return rc;
    }
    s->adv = opts->advertise.port ? opts->advertise : s->bound;
    if (!s->adv.ip)
        s->adv.ip = 0x7f000001u;
    member_add(s, opts->node_id, &s->adv, 0);
    /* Start phases at random offsets so that a cluster started at once does not beat in step. */
    uint64_t j = casty__sw_rand(s) % s->c.probe_interval_ns;
    s->probe_timer = casty_net_timer(net, j, on_probe_tick, s, 0);
    s->gossip_timer = casty_net_timer(net, s->c.gossip_interval_ns, on_gossip, s, 0);
    if (s->c.push_pull_interval_ns)
        s->pp_timer = casty_net_timer(net, s->c.push_pull_interval_ns, on_push_pull, s, 0);
    *out = s;
    return 0;
}

void casty_swim_destroy(casty_swim *s)
{
    if (!s)
        return;
    int timers[] = {s->probe_timer, s->timeout_timer, s->gossip_timer,   s->pp_timer,
                    s->leave_timer, s->gossip_soon,   s->rejoin_pp_timer};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
        if (timers[i] >= 0)
            casty_net_timer_cancel(s->net, timers[i]);
    for (uint32_t i = 0; i < 64; i++)
        if (s->relay[i].used && s->relay[i].timer >= 0)
            casty_net_timer_cancel(s->net, s->relay[i].timer);
    for (uint32_t i = 0; s->mem && i < s->nmem; i++)
        if (s->mem[i].susp_timer >= 0)
            casty_net_timer_cancel(s->net, s->mem[i].susp_timer);
    casty__sw_pp_stop(s);
    if (s->udp >= 0)
        casty_net_close(s->net, s->udp);
    casty__mem_free(s->mem);
    casty__u64map_free(&s->index);
    casty__mem_free(s->order);
    casty__mem_free(s->rum);
    casty__mem_free(s->seeds);
    sodium_memzero(s->key, sizeof(s->key));
    casty__mem_free(s);
}

static void on_leave_timeout(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->leave_timer = -1;
    void (*done)(void *, int) = s->leave_done;
    s->leave_done = NULL;
    if (done)
        done(s->leave_user, -ETIMEDOUT);
}

static void on_leave_done(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->leave_timer = -1;
    void (*done)(void *, int) = s->leave_done;
    s->leave_done = NULL;
    if (done)
        done(s->leave_user, 0);
}

static void on_leave_round(void *user, const casty_net_event *ev);

/*
 * Ping gossip_nodes members with our "left" piggybacked (it is the newest,
 * least-sent rumour, so it goes first). The first ack proves a member has
 * it; until then, retry with other members every probe timeout, up to the
 * leave's timeout. A plain send would not do: three lost datagrams (0.06 %
 * at 8.6 % loss) would leave everyone to suspect the leaver and declare it
 * dead.
 */
static void leave_round(casty_swim *s)
{
    if (s->leave_reported)
        return;
    sw_member *to[16];
    uint32_t k = s->c.gossip_nodes < 16 ? s->c.gossip_nodes : 16;
    uint32_t n = random_members(s, 0, k, to, false);
    if (!n) {
        leave_sent(s); /* alone: nobody to tell */
        return;
    }
    s->leave_seq = ++s->seq;
    /* Re-queue our "left" (fresh budget), so that every round's pings carry it. */
    sw_msg left = {
        .type = SW_DEAD, .id = s->o.node_id, .inc = s->mem[0].m.incarnation, .from = s->o.node_id};
    rumour(s, &left);
    for (uint32_t i = 0; i < n; i++) {
        sw_msg ping = {.type = SW_PING, .seq = s->leave_seq, .id = to[i]->m.id};
        send_packet(s, &to[i]->m.addr, &ping, NULL);
    }
    uint64_t now = casty_net_now(s->net);
    if (now >= s->leave_deadline) {
        s->leave_timer = casty_net_timer(s->net, 0, on_leave_timeout, s, 0);
        return;
    }
    uint64_t wait = s->leave_deadline - now < s->c.probe_timeout_ns ? s->leave_deadline - now
                                                                    : s->c.probe_timeout_ns;
    s->leave_timer = casty_net_timer(s->net, wait, on_leave_round, s, 0);
}

static void on_leave_round(void *user, const casty_net_event *ev)
{
    (void)ev;
    casty_swim *s = user;
    s->leave_timer = -1;
    leave_round(s);
}

int casty_swim_leave(casty_swim *s, uint64_t timeout_ns, void (*done)(void *user, int result),
                     void *user)
{
    if (!s)
        return -EINVAL;
    if (s->leaving)
        return -EALREADY;
    s->leaving = true;
    s->leave_done = done;
    s->leave_user = user;
    sw_member *me = &s->mem[0];
    set_state(s, me, CASTY_MEMBER_LEFT);
    s->leave_deadline = casty_net_now(s->net) + timeout_ns;
    leave_round(s);
    return 0;
}

uint32_t casty_swim_view_size(const casty_swim *s)
{
    return s ? casty__sw_alive_count(s) : 0;
}

uint32_t casty_swim_members(const casty_swim *s, casty_swim_member *out, uint32_t cap)
{
    if (!s)
        return 0;
    for (uint32_t i = 0; out && i < s->nmem && i < cap; i++)
        out[i] = s->mem[i].m;
    return s->nmem;
}

int casty_swim_member_get(const casty_swim *s, uint64_t id, casty_swim_member *out)
{
    if (!s || !out)
        return -EINVAL;
    sw_member *m = casty__sw_find((casty_swim *)s, id);
    if (!m)
        return -ENOENT;
    *out = m->m;
    return 0;
}

void casty_swim_stats_get(const casty_swim *s, casty_swim_stats *out)
{
    if (!s || !out)
        return;
    *out = s->st;
    out->awareness = s->awareness;
}

void casty_swim_stats_reset(casty_swim *s)
{
    if (s)
        memset(&s->st, 0, sizeof(s->st));
}

void casty_swim_set_drop(casty_swim *s, uint32_t drop_ppm)
{
    if (s && drop_ppm <= 1000000)
        s->o.drop_ppm = drop_ppm;
}

casty_addr casty_swim_local_addr(const casty_swim *s)
{
    return s ? s->bound : (casty_addr){0};
}
