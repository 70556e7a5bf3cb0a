/*
 * The simulated network's world (io/net_sim.h): virtual clock, event loop,
 * PRNG, the IP and link tables, and the nodes' lifecycle. The ops of a node
 * live in io/net_sim_ops.c (handles, listen, UDP, timers) and
 * io/net_sim_tcp.c (streams).
 *
 * Invariants: sim->now_ns never decreases; every queued event has a time at
 * or after now; only casty_sim_step() calls callbacks, never an op; node
 * indices are never reused, so an event naming a killed node finds NULL.
 * Owner thread only.
 */
#include "io/net_sim.h"

#include <errno.h>
#include <string.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "io/net_sim_int.h"

#define SIM_PPM 1000000u

static const casty_sim_link default_link = {
    .delay_min_ns = 100000,
    .delay_max_ns = 300000,
};

/* -- PRNG: core/rand.h's xoshiro256**, one stream per world -- */

uint64_t casty__sim_rand(casty_sim *sim)
{
    return casty__rng_next(&sim->rng);
}

/* Uniform in [0, n) by multiply-shift (Lemire); the bias is below 2^-32 for our n. */
uint64_t casty__sim_below(casty_sim *sim, uint64_t n)
{
    return n ? casty__rng_below(&sim->rng, n) : 0;
}

/* Draws even when ppm is 0 or 10^6, so that a link change never shifts the PRNG stream of other draws. */
bool casty__sim_chance(casty_sim *sim, uint32_t ppm)
{
    return casty__sim_below(sim, SIM_PPM) < ppm;
}

/* -- IPs and pairs: core/u64map.h; SIM_MAP_EMPTY when absent -- */

static uint32_t map_get(const casty_u64map *m, uint64_t key)
{
    uint64_t v;
    return casty__u64map_get(m, key, &v) ? (uint32_t)v : SIM_MAP_EMPTY;
}

/* -- links and partitions -- */

static uint64_t pair_key(uint32_t a, uint32_t b)
{
    return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

static sim_pair *pair_find(casty_sim *sim, uint32_t a, uint32_t b)
{
    uint32_t i = map_get(&sim->pairs, pair_key(a, b));
    return i == SIM_MAP_EMPTY ? NULL : &sim->pair[i];
}

static sim_pair *pair_get_or_add(casty_sim *sim, uint32_t a, uint32_t b)
{
    sim_pair *p = pair_find(sim, a, b);
    if (p)
        return p;
    if (sim->pair_len == sim->pair_cap) {
        uint32_t cap = sim->pair_cap ? sim->pair_cap * 2 : 16;
        sim_pair *grown = casty__mem_realloc(sim->pair, (size_t)cap * sizeof(*grown));
        if (!grown)
            return NULL;
        sim->pair = grown;
        sim->pair_cap = cap;
    }
    if (casty__u64map_put(&sim->pairs, pair_key(a, b), sim->pair_len) < 0)
        return NULL;
    p = &sim->pair[sim->pair_len++];
    memset(p, 0, sizeof(*p));
    return p;
}

const casty_sim_link *casty__sim_link(casty_sim *sim, uint32_t ip_a, uint32_t ip_b)
{
    if (sim->pair_len == 0)
        return &sim->defaults;
    const sim_pair *p = pair_find(sim, ip_a, ip_b);
    return p && p->has_link ? &p->link : &sim->defaults;
}

bool casty__sim_cut(casty_sim *sim, uint32_t ip_a, uint32_t ip_b)
{
    if (sim->cuts == 0)
        return false;
    const sim_pair *p = pair_find(sim, ip_a, ip_b);
    return p && p->cut;
}

uint64_t casty__sim_delay(casty_sim *sim, const casty_sim_link *link)
{
    return link->delay_min_ns + casty__sim_below(sim, link->delay_max_ns - link->delay_min_ns + 1);
}

static bool link_valid(const casty_sim_link *l)
{
    if (l->delay_min_ns > l->delay_max_ns)
        return false;
    if (l->loss_ppm > SIM_PPM || l->dup_ppm > SIM_PPM || l->reorder_ppm > SIM_PPM)
        return false;
    /* Bounded so that now + delay + reorder cannot wrap for a century of virtual time. */
    return l->delay_max_ns <= UINT64_MAX / 4 && l->reorder_max_ns <= UINT64_MAX / 4;
}

static bool ip_valid(uint32_t ip)
{
    return ip != 0 && ip != UINT32_MAX;
}

int casty_sim_set_link(casty_sim *sim, uint32_t ip_a, uint32_t ip_b, const casty_sim_link *link)
{
    if (!sim || !ip_valid(ip_a) || !ip_valid(ip_b))
        return -EINVAL;
    if (link && !link_valid(link))
        return -EINVAL;
    sim_pair *p = link ? pair_get_or_add(sim, ip_a, ip_b) : pair_find(sim, ip_a, ip_b);
    if (!p)
        return link ? -ENOMEM : 0;
    p->has_link = link != NULL;
    if (link)
        p->link = *link;
    return 0;
}

int casty_sim_partition(casty_sim *sim, uint32_t ip_a, uint32_t ip_b, bool cut)
{
    if (!sim || !ip_valid(ip_a) || !ip_valid(ip_b))
        return -EINVAL;
    sim_pair *p = cut ? pair_get_or_add(sim, ip_a, ip_b) : pair_find(sim, ip_a, ip_b);
    if (!p)
        return cut ? -ENOMEM : 0;
    if (p->cut != cut)
        sim->cuts = cut ? sim->cuts + 1 : sim->cuts - 1;
    p->cut = cut;
    return 0;
}

void casty_sim_heal_all(casty_sim *sim)
{
    for (uint32_t i = 0; i < sim->pair_len; i++)
        sim->pair[i].cut = false;
    sim->cuts = 0;
}

int casty_sim_set_tcp(casty_sim *sim, const casty_sim_tcp *tcp)
{
    if (!sim)
        return -EINVAL;
    casty_sim_tcp t = tcp ? *tcp : (casty_sim_tcp){0};
    if (t.recv_window > (1u << 30) || t.timeout_ns > UINT64_MAX / 4 ||
        t.connect_timeout_ns > UINT64_MAX / 4)
        return -EINVAL;
    sim->tcp.timeout_ns = t.timeout_ns ? t.timeout_ns : 10 * SIM_NS_PER_SEC;
    sim->tcp.connect_timeout_ns = t.connect_timeout_ns ? t.connect_timeout_ns : 3 * SIM_NS_PER_SEC;
    sim->tcp.recv_window = t.recv_window ? t.recv_window : 256u * 1024u;
    return 0;
}

/* -- the event queue -- */

int casty__sim_reserve(casty_sim *sim, uint32_t n)
{
    return casty__evheap_reserve(&sim->heap, n);
}

void casty__sim_push(casty_sim *sim, casty_ev *ev, sim_ev_kind kind)
{
    CASTY_ASSERT(ev->time_ns >= sim->now_ns);
    CASTY_ASSERT(sim->seq < (1ull << 56));
    ev->order = sim->seq++ << 8 | (uint64_t)kind;
    int rc = casty__evheap_push(&sim->heap, ev);
    CASTY_ASSERT(rc == 0); /* Out of memory inside the simulation: see io/net_sim.h. */
}

void casty__sim_schedule(casty_sim *sim, uint64_t time_ns, sim_ev_kind kind, void *ptr, uint32_t a,
                         uint32_t b)
{
    casty_ev ev = {.time_ns = time_ns, .ptr = ptr, .a = a, .b = b};
    casty__sim_push(sim, &ev, kind);
}

/* -- nodes -- */

sim_node *casty__sim_node_at(casty_sim *sim, uint32_t idx)
{
    return idx < sim->nodes_len ? sim->nodes[idx] : NULL;
}

sim_node *casty__sim_host(casty_sim *sim, uint32_t ip, bool *tomb)
{
    uint32_t v = map_get(&sim->ips, ip);
    *tomb = v == SIM_IP_TOMB;
    if (v == SIM_MAP_EMPTY || v == SIM_IP_TOMB || v == SIM_IP_GONE)
        return NULL;
    return sim->nodes[v];
}

/* -- the world -- */

int casty_sim_create(casty_sim **out, uint64_t seed, const casty_sim_link *defaults)
{
    if (!out || (defaults && !link_valid(defaults)))
        return -EINVAL;
    *out = NULL;
    casty_sim *sim = casty__mem_calloc(1, sizeof(*sim));
    if (!sim)
        return -ENOMEM;
    sim->scratch = casty__mem_alloc(SIM_CHUNK_MAX);
    if (!sim->scratch) {
        casty__mem_free(sim);
        return -ENOMEM;
    }
    casty__evheap_init(&sim->heap);
    sim->now_ns = SIM_NS_PER_SEC;
    casty__rng_seed(&sim->rng, seed);
    sim->defaults = defaults ? *defaults : default_link;
    int rc = casty_sim_set_tcp(sim, NULL);
    CASTY_ASSERT(rc == 0);
    *out = sim;
    return 0;
}

int casty_sim_node_add(casty_sim *sim, uint32_t ip, casty_net **out)
{
    if (!sim || !out || !ip_valid(ip))
        return -EINVAL;
    *out = NULL;
    bool tomb;
    if (casty__sim_host(sim, ip, &tomb))
        return -EADDRINUSE;
    if (sim->nodes_len >= SIM_IP_GONE)
        return -ENOMEM;
    if (sim->nodes_len == sim->nodes_cap) {
        uint32_t cap = sim->nodes_cap ? sim->nodes_cap * 2 : 16;
        sim_node **grown = casty__mem_realloc(sim->nodes, (size_t)cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        sim->nodes = grown;
        sim->nodes_cap = cap;
    }
    sim_node *n = casty__mem_calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    if (casty__u64map_put(&sim->ips, ip, sim->nodes_len) < 0) {
        casty__mem_free(n);
        return -ENOMEM;
    }
    n->net.ops = &casty__sim_ops;
    n->sim = sim;
    n->idx = sim->nodes_len;
    n->ip = ip;
    n->free_head = -1;
    n->free_tail = -1;
    n->next_eph = CASTY_SIM_EPHEMERAL_FIRST;
    sim->nodes[sim->nodes_len++] = n;
    *out = &n->net;
    return 0;
}

uint32_t casty_sim_node_ip(const casty_net *node)
{
    return ((const sim_node *)(const void *)node)->ip;
}

static void node_free(casty_sim *sim, sim_node *n)
{
    sim->nodes[n->idx] = NULL;
    casty__mem_free(n->hs);
    casty__mem_free(n->bound);
    casty__mem_free(n);
}

void casty_sim_node_kill(casty_net *node, bool abrupt)
{
    sim_node *n = sim_node_of(node);
    casty_sim *sim = n->sim;
    for (uint32_t h = 0; h < n->hs_len; h++) {
        if (n->hs[h].kind == SIM_H_STREAM)
            casty__sim_stream_close(n, (int)h, abrupt);
    }
    /* The entry exists (the node was added through it); overwriting cannot allocate. */
    int rc = casty__u64map_put(&sim->ips, n->ip, abrupt ? SIM_IP_GONE : SIM_IP_TOMB);
    CASTY_ASSERT(rc == 0);
    node_free(sim, n);
}

void casty_sim_destroy(casty_sim *sim)
{
    if (!sim)
        return;
    CASTY_ASSERT(!sim->in_step);
    for (uint32_t i = 0; i < sim->nodes_len; i++) {
        sim_node *n = sim->nodes[i];
        if (!n)
            continue;
        for (uint32_t h = 0; h < n->hs_len; h++) {
            if (n->hs[h].kind == SIM_H_STREAM)
                casty__sim_stream_forget(n, (int)h);
        }
        node_free(sim, n);
    }
    casty_ev ev;
    while (casty__evheap_pop(&sim->heap, &ev)) {
        sim_ev_kind kind = (sim_ev_kind)(ev.order & 0xff);
        if (kind == SIM_EV_DGRAM)
            casty__mem_free(ev.ptr);
        else if (kind != SIM_EV_TIMER)
            casty__sim_tcp_discard(&ev);
    }
    casty__evheap_free(&sim->heap);
    casty__u64map_free(&sim->ips);
    casty__u64map_free(&sim->pairs);
    casty__mem_free(sim->pair);
    casty__mem_free(sim->nodes);
    casty__mem_free(sim->scratch);
    casty__mem_free(sim);
}

uint64_t casty_sim_now(const casty_sim *sim)
{
    return sim->now_ns;
}

bool casty_sim_step(casty_sim *sim)
{
    CASTY_ASSERT(!sim->in_step); /* Not from a callback. */
    casty_ev ev;
    if (!casty__evheap_pop(&sim->heap, &ev))
        return false;
    CASTY_ASSERT(ev.time_ns >= sim->now_ns);
    CASTY_XASSERT(casty__evheap_validate(&sim->heap));
    sim->now_ns = ev.time_ns;
    sim->stats.events++;
    sim->in_step = true;
    sim_ev_kind kind = (sim_ev_kind)(ev.order & 0xff);
    switch (kind) {
    case SIM_EV_TIMER:
        casty__sim_run_timer(sim, &ev);
        break;
    case SIM_EV_DGRAM:
        casty__sim_run_dgram(sim, ev.ptr);
        break;
    case SIM_EV_SYN_SEND:
    case SIM_EV_SYN_ARRIVE:
    case SIM_EV_CONNECT_DONE:
    case SIM_EV_CONNECT_EXPIRE:
    case SIM_EV_PUMP:
    case SIM_EV_ARRIVE:
    case SIM_EV_DELIVER:
    case SIM_EV_RETRY:
    case SIM_EV_RESET:
        casty__sim_tcp_event(sim, &ev);
        break;
    }
    sim->in_step = false;
    return true;
}

void casty_sim_run_until(casty_sim *sim, uint64_t t_ns)
{
    for (;;) {
        const casty_ev *top = casty__evheap_peek(&sim->heap);
        if (!top || top->time_ns > t_ns)
            break;
        casty_sim_step(sim);
    }
    if (t_ns > sim->now_ns)
        sim->now_ns = t_ns;
}

void casty_sim_run_for(casty_sim *sim, uint64_t ns)
{
    casty_sim_run_until(sim, casty__sim_add_sat(sim->now_ns, ns));
}

uint64_t casty_sim_trace_hash(const casty_sim *sim)
{
    return sim->trace;
}

void casty_sim_stats_get(const casty_sim *sim, casty_sim_stats *out)
{
    *out = sim->stats;
    out->pending = sim->heap.len;
}
