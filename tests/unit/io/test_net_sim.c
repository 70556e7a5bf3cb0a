/*
 * io/net_sim: the simulated network keeps the contract of io/net.h (events
 * only from a step, no event after close, argument checks) and models what
 * protocol tests rely on: seeded determinism, loss/duplication/reordering at
 * the configured rates, partitions that drop datagrams and hold stream
 * bytes, TCP timeouts, randomized RECV chunking, backpressure through the
 * receive window, and node kills. Takes CASTY_SEED and prints it.
 */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "alloc/heap.h"
#include "io/net_sim.h"
#include "io/evheap.h"
#include "support/casty_test.h"

#define US  1000ull
#define MS  1000000ull
#define SEC 1000000000ull

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u
#define IP_C 0x0a000003u
#define IP_X 0x0a0000ffu /* nobody */

static uint64_t g_seed;
static uint64_t rng_state;
static bool g_in_op; /* set around op calls: a callback then is a re-entrancy bug */

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng() % n;
}

/* Square root and absolute value without libm (the test links only the library). */
static double sqrt_d(double x)
{
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 100; i++)
        r = 0.5 * (r + x / r);
    return r;
}

static double abs_d(double x)
{
    return x < 0 ? -x : x;
}

static int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("CASTY_SEED");
    g_seed = env ? strtoull(env, NULL, 0) : 0x5eed;
    printf("# io/net_sim: CASTY_SEED=%" PRIu64 "\n", g_seed);
    return 0;
}

static uint64_t live_blocks(void)
{
    uint64_t allocs, frees;
    casty__mem_stats(&allocs, &frees);
    return allocs - frees;
}

static uint64_t g_live_before;

/* Every test frees everything the library allocated for it. */
static int leak_setup(void **state)
{
    (void)state;
    g_live_before = live_blocks();
    return 0;
}

static int leak_teardown(void **state)
{
    (void)state;
    assert_int_equal(live_blocks(), g_live_before);
    return 0;
}

static void reseed(uint64_t salt)
{
    rng_state = g_seed ^ (salt * 0x9E3779B97F4A7C15ull);
}

static casty_sim *world(const casty_sim_link *defaults)
{
    casty_sim *sim = NULL;
    assert_int_equal(casty_sim_create(&sim, g_seed, defaults), 0);
    assert_non_null(sim);
    return sim;
}

static casty_net *node(casty_sim *sim, uint32_t ip)
{
    casty_net *n = NULL;
    assert_int_equal(casty_sim_node_add(sim, ip, &n), 0);
    assert_non_null(n);
    return n;
}

/* The byte at stream offset i of every patterned transfer. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13 ^ i >> 8);
}

/* -- a recording endpoint: one per node and role -- */

#define EP_KINDS 64

typedef struct ep {
    casty_net *net;
    int h; /* the stream: dialed, or the latest accepted */
    int n_accept, n_connect, n_recv, n_closed, n_sent, n_dgram, n_timer;
    int connect_result, closed_result, sent_result;
    uint64_t sent_tag, timer_tag;
    uint64_t t_connect, t_closed, t_sent, t_recv_first, t_dgram;
    casty_addr accept_addr, dgram_addr;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    uint32_t chunk_min, chunk_max;
    casty_net_ev_kind kinds[EP_KINDS];
    int n_kinds;
    bool pause_on_accept;
    bool close_on_recv;
    bool closed_by_user; /* any event after this fails the test */
    const uint8_t *reply;
    uint32_t reply_len;
} ep;

static void ep_init(ep *e, casty_net *net)
{
    memset(e, 0, sizeof(*e));
    e->net = net;
    e->h = -1;
    e->chunk_min = UINT32_MAX;
    e->connect_result = 1;
    e->closed_result = 1;
}

static void ep_fini(ep *e)
{
    free(e->rx);
    e->rx = NULL;
}

static void ep_append(ep *e, const uint8_t *data, uint32_t len)
{
    if (e->rx_len + len > e->rx_cap) {
        e->rx_cap = (e->rx_len + len) * 2;
        e->rx = realloc(e->rx, e->rx_cap);
        assert_non_null(e->rx);
    }
    if (len)
        memcpy(e->rx + e->rx_len, data, len);
    e->rx_len += len;
}

static void ep_fn(void *user, const casty_net_event *ev)
{
    ep *e = user;
    assert_false(g_in_op);
    assert_false(e->closed_by_user);
    if (e->n_kinds < EP_KINDS)
        e->kinds[e->n_kinds++] = ev->kind;
    uint64_t now = casty_net_now(e->net);
    switch (ev->kind) {
    case CASTY_NET_ACCEPT:
        e->n_accept++;
        e->h = ev->conn;
        e->accept_addr = ev->addr;
        if (e->pause_on_accept)
            assert_int_equal(casty_net_recv_pause(e->net, ev->conn, true), 0);
        if (e->reply) {
            struct iovec v = {(void *)e->reply, e->reply_len};
            assert_int_equal(casty_net_send(e->net, ev->conn, &v, 1, 77), 0);
        }
        break;
    case CASTY_NET_CONNECT:
        e->n_connect++;
        e->connect_result = ev->result;
        e->t_connect = now;
        break;
    case CASTY_NET_RECV:
        assert_true(ev->len > 0);
        if (e->n_recv++ == 0)
            e->t_recv_first = now;
        ep_append(e, ev->data, ev->len);
        e->chunk_min = ev->len < e->chunk_min ? ev->len : e->chunk_min;
        e->chunk_max = ev->len > e->chunk_max ? ev->len : e->chunk_max;
        if (e->close_on_recv) {
            assert_int_equal(casty_net_close(e->net, ev->handle), 0);
            e->closed_by_user = true;
        }
        break;
    case CASTY_NET_CLOSED:
        e->n_closed++;
        e->closed_result = ev->result;
        e->t_closed = now;
        break;
    case CASTY_NET_SENT:
        e->n_sent++;
        e->sent_result = ev->result;
        e->sent_tag = ev->tag;
        e->t_sent = now;
        break;
    case CASTY_NET_DGRAM:
        e->n_dgram++;
        e->t_dgram = now;
        e->dgram_addr = ev->addr;
        ep_append(e, ev->data, ev->len);
        break;
    case CASTY_NET_TIMER:
        e->n_timer++;
        e->timer_tag = ev->tag;
        break;
    }
}

static int send1(ep *e, const void *buf, size_t len, uint64_t tag)
{
    struct iovec v = {(void *)buf, len};
    return casty_net_send(e->net, e->h, &v, 1, tag);
}

/* srv listens on port, cli dials it; both ends are up when this returns. */
static void connect_pair(casty_sim *sim, ep *cli, ep *srv, uint16_t port)
{
    casty_addr bind = {0, port};
    int lh = casty_net_listen(srv->net, &bind, ep_fn, srv);
    assert_true(lh >= 0);
    casty_addr to = {casty_sim_node_ip(srv->net), port};
    cli->h = casty_net_connect(cli->net, &to, ep_fn, cli);
    assert_true(cli->h >= 0);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(cli->n_connect, 1);
    assert_int_equal(cli->connect_result, 0);
    assert_int_equal(srv->n_accept, 1);
    assert_true(srv->h >= 0);
}

/* -- the event heap -- */

static void test_heap_orders_by_time_then_sequence(void **state)
{
    (void)state;
    reseed(1);
    casty_evheap h;
    casty__evheap_init(&h);
    const uint32_t n = 100000;
    for (uint32_t i = 0; i < n; i++) {
        casty_ev ev = {.time_ns = rng_below(1000), .order = (uint64_t)i << 8, .a = i};
        assert_int_equal(casty__evheap_push(&h, &ev), 0);
    }
    assert_true(casty__evheap_validate(&h));
    casty_ev prev = {0}, ev;
    uint32_t popped = 0;
    while (casty__evheap_pop(&h, &ev)) {
        if (popped++) {
            assert_true(ev.time_ns >= prev.time_ns);
            if (ev.time_ns == prev.time_ns)
                assert_true(ev.order > prev.order); /* FIFO among equal times */
        }
        prev = ev;
        if (popped % 10007 == 0)
            assert_true(casty__evheap_validate(&h));
    }
    assert_int_equal(popped, n);
    assert_null(casty__evheap_peek(&h));
    casty__evheap_free(&h);
}

/* -- world and nodes -- */

static void test_world_clock_and_nodes(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    assert_int_equal(casty_sim_now(sim), 1 * SEC);
    assert_false(casty_sim_step(sim));
    casty_sim_run_until(sim, 5 * SEC);
    assert_int_equal(casty_sim_now(sim), 5 * SEC);
    casty_sim_run_until(sim, 2 * SEC); /* never back */
    assert_int_equal(casty_sim_now(sim), 5 * SEC);

    casty_net *a = node(sim, IP_A), *dup = NULL;
    assert_int_equal(casty_sim_node_ip(a), IP_A);
    assert_int_equal(casty_net_now(a), 5 * SEC);
    assert_int_equal(casty_sim_node_add(sim, IP_A, &dup), -EADDRINUSE);
    assert_int_equal(casty_sim_node_add(sim, 0, &dup), -EINVAL);
    assert_int_equal(casty_sim_node_add(sim, UINT32_MAX, &dup), -EINVAL);
    assert_int_equal(casty_sim_node_add(sim, IP_B, NULL), -EINVAL);
    casty_sim_node_kill(a, false);
    a = node(sim, IP_A); /* a restart takes the IP again */
    casty_sim_node_kill(a, true);
    a = node(sim, IP_A);
    casty_sim_destroy(sim);
}

/* -- timers -- */

typedef struct tlog {
    casty_net *net;
    uint64_t tags[16];
    uint64_t times[16];
    int n;
    int cancel_self; /* a timer id that the first firing cancels */
    int cancel_rc;
} tlog;

static void tlog_fn(void *user, const casty_net_event *ev)
{
    tlog *l = user;
    assert_false(g_in_op);
    assert_int_equal(ev->kind, CASTY_NET_TIMER);
    assert_true(l->n < 16);
    l->tags[l->n] = ev->tag;
    l->times[l->n++] = casty_net_now(l->net);
    /* Its own id is already gone when it fires. */
    assert_int_equal(casty_net_timer_cancel(l->net, ev->handle), -ENOENT);
    if (l->cancel_self >= 0) {
        l->cancel_rc = casty_net_timer_cancel(l->net, l->cancel_self);
        l->cancel_self = -1;
    }
}

static void test_timers_order_and_cancel(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    casty_net *a = node(sim, IP_A);
    tlog l = {.net = a, .cancel_self = -1};
    uint64_t t0 = casty_sim_now(sim);
    int t3 = casty_net_timer(a, 3 * MS, tlog_fn, &l, 3);
    int t1 = casty_net_timer(a, 1 * MS, tlog_fn, &l, 1);
    int t2a = casty_net_timer(a, 2 * MS, tlog_fn, &l, 20);
    int t2b = casty_net_timer(a, 2 * MS, tlog_fn, &l, 21);
    int tc = casty_net_timer(a, 1500 * US, tlog_fn, &l, 99);
    int tx = casty_net_timer(a, 2500 * US, tlog_fn, &l, 98);
    assert_true(t3 >= 0 && t1 >= 0 && t2a >= 0 && t2b >= 0 && tc >= 0 && tx >= 0);
    assert_int_equal(casty_net_timer_cancel(a, tc), 0);
    assert_int_equal(casty_net_timer_cancel(a, tc), -ENOENT);
    l.cancel_self = tx; /* the first firing (tag 1) cancels tx */
    casty_sim_run_until(sim, t0 + 10 * MS);
    assert_int_equal(l.cancel_rc, 0);
    assert_int_equal(l.n, 4);
    uint64_t want[4] = {1, 20, 21, 3}; /* deadline order, FIFO among equals */
    uint64_t at[4] = {1 * MS, 2 * MS, 2 * MS, 3 * MS};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(l.tags[i], want[i]);
        assert_int_equal(l.times[i], t0 + at[i]);
    }
    assert_int_equal(casty_net_timer_cancel(a, t1), -ENOENT); /* after firing */
    assert_int_equal(casty_net_timer_cancel(a, 12345), -ENOENT);
    assert_int_equal(casty_net_timer_cancel(a, -1), -ENOENT);

    /* A zero delay fires in the next step, at the same instant, not inside the call. */
    l.n = 0;
    g_in_op = true;
    assert_true(casty_net_timer(a, 0, tlog_fn, &l, 7) >= 0);
    g_in_op = false;
    assert_int_equal(l.n, 0);
    uint64_t t = casty_sim_now(sim);
    assert_true(casty_sim_step(sim));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.times[0], t);
    casty_sim_destroy(sim);
}

/* -- datagrams -- */

static void test_udp_delivery_and_binding(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    casty_net *a = node(sim, IP_A), *b = node(sim, IP_B);
    ep ea, eb;
    ep_init(&ea, a);
    ep_init(&eb, b);
    casty_addr any0 = {0, 0}, b7 = {IP_B, 7000}, foreign = {IP_C, 7000};
    int ua = casty_net_udp_bind(a, &any0, ep_fn, &ea);
    int ub = casty_net_udp_bind(b, &b7, ep_fn, &eb);
    assert_true(ua >= 0 && ub >= 0);
    assert_int_equal(casty_net_udp_bind(b, &b7, ep_fn, &eb), -EADDRINUSE);
    assert_int_equal(casty_net_udp_bind(b, &foreign, ep_fn, &eb), -EADDRNOTAVAIL);
    /* TCP and UDP ports are separate spaces. */
    int lb = casty_net_listen(b, &b7, ep_fn, &eb);
    assert_true(lb >= 0);
    assert_int_equal(casty_net_listen(b, &b7, ep_fn, &eb), -EADDRINUSE);
    casty_addr la;
    assert_int_equal(casty_net_local_addr(a, ua, &la), 0);
    assert_int_equal(la.ip, 0); /* bound to any, like getsockname */
    assert_true(la.port >= CASTY_SIM_EPHEMERAL_FIRST);

    uint8_t buf[CASTY_NET_DGRAM_MAX];
    for (uint32_t i = 0; i < sizeof(buf); i++)
        buf[i] = pattern(i);
    uint64_t t0 = casty_sim_now(sim);
    g_in_op = true;
    assert_int_equal(casty_net_sendto(a, ua, &b7, buf, sizeof(buf)), 0);
    g_in_op = false;
    memset(buf, 0, sizeof(buf));                               /* sendto copied it */
    assert_int_equal(casty_net_sendto(a, ua, &b7, buf, 0), 0); /* empty datagram */
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(eb.n_dgram, 2);
    assert_int_equal(eb.rx_len, CASTY_NET_DGRAM_MAX);
    for (uint32_t i = 0; i < CASTY_NET_DGRAM_MAX; i++)
        assert_int_equal(eb.rx[i], pattern(i));
    assert_int_equal(eb.dgram_addr.ip, IP_A);
    assert_int_equal(eb.dgram_addr.port, la.port);
    assert_true(eb.t_dgram >= t0 + 100 * US && eb.t_dgram <= t0 + 300 * US);

    /* No socket at the port, no such host: dropped and counted. */
    casty_addr nosock = {IP_B, 7001}, nohost = {IP_X, 7000};
    assert_int_equal(casty_net_sendto(a, ua, &nosock, "x", 1), 0);
    assert_int_equal(casty_net_sendto(a, ua, &nohost, "x", 1), 0);
    casty_sim_run_for(sim, 10 * MS);
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    assert_int_equal(st.dgram_sent, 4);
    assert_int_equal(st.dgram_delivered, 2);
    assert_int_equal(st.dgram_noport, 2);
    casty_net_stats ns;
    casty_net_stats_get(b, &ns);
    assert_int_equal(ns.dgrams_recv, 2);
    casty_net_stats_get(a, &ns);
    assert_int_equal(ns.dgrams_sent, 4);
    assert_true(ns.ops > 0);
    ep_fini(&ea);
    ep_fini(&eb);
    casty_sim_destroy(sim);
}

typedef struct dcount {
    uint64_t n;
    uint32_t last_seq;
    uint64_t inversions;
} dcount;

static void dcount_fn(void *user, const casty_net_event *ev)
{
    dcount *c = user;
    assert_int_equal(ev->kind, CASTY_NET_DGRAM);
    uint32_t seq;
    assert_int_equal(ev->len, sizeof(seq));
    memcpy(&seq, ev->data, sizeof(seq));
    if (c->n++ && seq < c->last_seq)
        c->inversions++;
    c->last_seq = seq;
}

/* Sends n numbered datagrams A -> B in batches (the in-flight cap is 64 Ki). */
static void blast(casty_sim *sim, casty_net *a, int ua, uint32_t n)
{
    casty_addr to = {IP_B, 9};
    for (uint32_t seq = 0; seq < n; seq++) {
        assert_int_equal(casty_net_sendto(a, ua, &to, &seq, sizeof(seq)), 0);
        if (seq % 10000 == 9999)
            casty_sim_run_for(sim, 2 * SEC);
    }
    casty_sim_run_for(sim, 5 * SEC);
}

static void udp_pair(casty_sim *sim, casty_net **a, int *ua, dcount *c)
{
    *a = node(sim, IP_A);
    casty_net *b = node(sim, IP_B);
    casty_addr any = {0, 0}, b9 = {0, 9};
    *ua = casty_net_udp_bind(*a, &any, dcount_fn, c);
    assert_true(*ua >= 0);
    assert_true(casty_net_udp_bind(b, &b9, dcount_fn, c) >= 0);
}

static void loss_at(uint32_t ppm)
{
    casty_sim_link link = {.delay_min_ns = 50 * US, .delay_max_ns = 150 * US, .loss_ppm = ppm};
    casty_sim *sim = world(&link);
    dcount c = {0};
    casty_net *a;
    int ua;
    udp_pair(sim, &a, &ua, &c);
    const uint32_t n = 100000;
    blast(sim, a, ua, n);
    double p = ppm / 1e6, mean = n * (1 - p), sd = sqrt_d(n * p * (1 - p));
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    printf("# loss %.0f%%: delivered %" PRIu64 " (expected %.0f +- %.0f)\n", p * 100, c.n, mean,
           5 * sd);
    assert_true(abs_d((double)c.n - mean) < 5 * sd);
    assert_int_equal(st.dgram_lost + st.dgram_delivered, n);
    assert_int_equal(st.dgram_delivered, c.n);
    casty_net_stats ns;
    casty_net_stats_get(a, &ns);
    assert_int_equal(ns.dgrams_drop, st.dgram_lost);
    casty_sim_destroy(sim);
}

static void test_udp_loss_rate_is_within_bounds(void **state)
{
    (void)state;
    loss_at(100000);
    loss_at(300000);
}

static void test_udp_duplication_and_reordering(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    /* Fixed delay, no reorder: FIFO, nothing duplicated. */
    casty_sim_link fixed = {.delay_min_ns = 200 * US, .delay_max_ns = 200 * US};
    casty_sim *sim = world(&fixed);
    dcount c = {0};
    casty_net *a;
    int ua;
    udp_pair(sim, &a, &ua, &c);
    blast(sim, a, ua, n);
    assert_int_equal(c.n, n);
    assert_int_equal(c.inversions, 0);
    casty_sim_destroy(sim);

    /* 10 % duplicated, 20 % delayed up to 1 ms extra. */
    casty_sim_link messy = fixed;
    messy.dup_ppm = 100000;
    messy.reorder_ppm = 200000;
    messy.reorder_max_ns = 1 * MS;
    sim = world(&messy);
    memset(&c, 0, sizeof(c));
    udp_pair(sim, &a, &ua, &c);
    blast(sim, a, ua, n);
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    printf("# dup %" PRIu64 ", reordered %" PRIu64 ", inversions seen %" PRIu64 "\n", st.dgram_dup,
           st.dgram_reordered, c.inversions);
    assert_int_equal(c.n, n + st.dgram_dup);
    assert_true(abs_d((double)st.dgram_dup - 10000) < 5 * sqrt_d(n * 0.1 * 0.9));
    /* Reorder is drawn per copy. */
    double copies = (double)(n + st.dgram_dup);
    assert_true(abs_d((double)st.dgram_reordered - 0.2 * copies) < 5 * sqrt_d(copies * 0.2 * 0.8));
    assert_true(c.inversions > 1000);
    casty_sim_destroy(sim);
}

static void test_udp_inflight_cap_says_eagain(void **state)
{
    (void)state;
    casty_sim_link slow = {.delay_min_ns = 1 * SEC, .delay_max_ns = 1 * SEC};
    casty_sim *sim = world(&slow);
    dcount c = {0};
    casty_net *a;
    int ua;
    udp_pair(sim, &a, &ua, &c);
    casty_addr to = {IP_B, 9};
    uint32_t seq = 0;
    for (; seq < CASTY_SIM_DGRAM_INFLIGHT_MAX; seq++)
        assert_int_equal(casty_net_sendto(a, ua, &to, &seq, sizeof(seq)), 0);
    assert_int_equal(casty_net_sendto(a, ua, &to, &seq, sizeof(seq)), -EAGAIN);
    casty_sim_run_for(sim, 2 * SEC);
    assert_int_equal(c.n, CASTY_SIM_DGRAM_INFLIGHT_MAX);
    assert_int_equal(casty_net_sendto(a, ua, &to, &seq, sizeof(seq)), 0);
    casty_sim_destroy(sim);
}

/* -- determinism -- */

typedef struct script_node {
    casty_net *net;
    int udp, stream, listener;
    uint64_t rng;
    uint32_t sent_ok;
    struct script *world;
} script_node;

typedef struct script {
    casty_sim *sim;
    script_node n[8];
    uint8_t buf[4096];
} script;

static uint64_t script_rng(script_node *sn)
{
    sn->rng = sn->rng * 6364136223846793005ull + 1442695040888963407ull;
    return sn->rng >> 33;
}

static void script_fn(void *user, const casty_net_event *ev)
{
    script_node *sn = user;
    script *w = sn->world;
    switch (ev->kind) {
    case CASTY_NET_TIMER: {
        casty_addr to = {IP_A + (uint32_t)(script_rng(sn) % 8), 5000};
        uint32_t len = 1 + (uint32_t)(script_rng(sn) % 512);
        (void)casty_net_sendto(sn->net, sn->udp, &to, w->buf, len);
        if (sn->stream >= 0) {
            struct iovec v = {w->buf, 1 + script_rng(sn) % sizeof(w->buf)};
            (void)casty_net_send(sn->net, sn->stream, &v, 1, 1);
        }
        int t = casty_net_timer(sn->net, 1 * MS + script_rng(sn) % (5 * MS), script_fn, sn, 0);
        assert_true(t >= 0);
        break;
    }
    case CASTY_NET_CONNECT:
        if (ev->result < 0)
            sn->stream = -1; /* the handle is gone */
        sn->sent_ok++;
        break;
    case CASTY_NET_ACCEPT:
    case CASTY_NET_RECV:
    case CASTY_NET_SENT:
    case CASTY_NET_DGRAM:
        sn->sent_ok++;
        break;
    case CASTY_NET_CLOSED:
        assert_int_equal(casty_net_close(sn->net, ev->handle), 0);
        if (ev->handle == sn->stream)
            sn->stream = -1;
        break;
    }
}

static uint64_t run_script(uint64_t seed, casty_sim_stats *st)
{
    casty_sim_link lossy = {.delay_min_ns = 50 * US,
                            .delay_max_ns = 2 * MS,
                            .loss_ppm = 50000,
                            .dup_ppm = 20000,
                            .reorder_ppm = 50000,
                            .reorder_max_ns = 3 * MS};
    script *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    assert_int_equal(casty_sim_create(&w->sim, seed, &lossy), 0);
    for (uint32_t i = 0; i < sizeof(w->buf); i++)
        w->buf[i] = pattern(i);
    for (uint32_t i = 0; i < 8; i++) {
        script_node *sn = &w->n[i];
        sn->world = w;
        sn->rng = 1000 + i; /* the script itself is the same in every world */
        sn->net = node(w->sim, IP_A + i);
        casty_addr bind = {0, 5000};
        sn->udp = casty_net_udp_bind(sn->net, &bind, script_fn, sn);
        sn->listener = casty_net_listen(sn->net, &bind, script_fn, sn);
        assert_true(sn->udp >= 0 && sn->listener >= 0);
    }
    for (uint32_t i = 0; i < 8; i++) {
        script_node *sn = &w->n[i];
        casty_addr to = {IP_A + (i + 1) % 8, 5000};
        sn->stream = casty_net_connect(sn->net, &to, script_fn, sn);
        assert_true(sn->stream >= 0);
        assert_true(casty_net_timer(sn->net, 5 * MS, script_fn, sn, 0) >= 0);
    }
    /* A partition and a kill in the middle. */
    casty_sim_run_for(w->sim, 300 * MS);
    assert_int_equal(casty_sim_partition(w->sim, IP_A, IP_A + 1, true), 0);
    casty_sim_run_for(w->sim, 300 * MS);
    casty_sim_node_kill(w->n[7].net, false);
    casty_sim_heal_all(w->sim);
    casty_sim_run_for(w->sim, 400 * MS);
    casty_sim_stats_get(w->sim, st);
    uint64_t hash = casty_sim_trace_hash(w->sim);
    casty_sim_destroy(w->sim);
    free(w);
    return hash;
}

static void test_same_seed_same_trace(void **state)
{
    (void)state;
    casty_sim_stats s1, s2, s3;
    uint64_t h1 = run_script(g_seed, &s1);
    uint64_t h2 = run_script(g_seed, &s2);
    uint64_t h3 = run_script(g_seed + 1, &s3);
    printf("# trace %016" PRIx64 " %016" PRIx64 " %016" PRIx64 ", %" PRIu64 " events, %" PRIu64
           " lost, %" PRIu64 " stream bytes\n",
           h1, h2, h3, s1.events, s1.dgram_lost, s1.stream_bytes);
    assert_true(s1.callbacks > 1000);
    assert_true(s1.dgram_lost > 0 && s1.dgram_dup > 0 && s1.dgram_cut > 0);
    assert_true(s1.stream_bytes > 100000);
    assert_int_equal(h1, h2);
    assert_int_equal(s1.events, s2.events);
    assert_int_equal(s1.stream_bytes, s2.stream_bytes);
    assert_int_not_equal(h1, h3);
}

/* -- streams: connect -- */

static void test_connect_accept_order_and_addresses(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    static const uint8_t hello[] = "hello from the acceptor";
    srv.reply = hello; /* sent from inside ACCEPT: must not beat the dialer's CONNECT */
    srv.reply_len = sizeof(hello);
    casty_addr bind = {IP_B, 8000};
    int lh = casty_net_listen(srv.net, &bind, ep_fn, &srv);
    assert_true(lh >= 0);
    casty_addr to = {IP_B, 8000};
    uint64_t t0 = casty_sim_now(sim);
    g_in_op = true;
    cli.h = casty_net_connect(cli.net, &to, ep_fn, &cli);
    g_in_op = false;
    assert_true(cli.h >= 0);
    /* A send before CONNECT waits for it. */
    assert_int_equal(send1(&cli, "early", 5, 5), 0);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(srv.rx_len, 5);
    assert_memory_equal(srv.rx, "early", 5);
    assert_int_equal(cli.n_sent, 1);
    assert_true(cli.t_sent >= cli.t_connect);
    assert_int_equal(srv.n_accept, 1);
    assert_int_equal(cli.connect_result, 0);
    assert_true(cli.t_connect >= t0 + 200 * US && cli.t_connect <= t0 + 600 * US);
    assert_int_equal(cli.kinds[0], CASTY_NET_CONNECT);
    assert_int_equal(cli.rx_len, sizeof(hello));
    assert_memory_equal(cli.rx, hello, sizeof(hello));
    assert_int_equal(srv.n_sent, 1);
    assert_int_equal(srv.sent_result, (int)sizeof(hello));
    assert_int_equal(srv.sent_tag, 77);

    casty_addr cl, sl, ll;
    assert_int_equal(casty_net_local_addr(cli.net, cli.h, &cl), 0);
    assert_int_equal(casty_net_local_addr(srv.net, srv.h, &sl), 0);
    assert_int_equal(casty_net_local_addr(srv.net, lh, &ll), 0);
    assert_int_equal(cl.ip, IP_A);
    assert_true(cl.port >= CASTY_SIM_EPHEMERAL_FIRST);
    assert_true(casty_addr_eq(&srv.accept_addr, &cl));
    assert_int_equal(sl.ip, IP_B);
    assert_int_equal(sl.port, 8000);
    assert_true(casty_addr_eq(&ll, &bind));
    casty_net_stats ns;
    casty_net_stats_get(srv.net, &ns);
    assert_int_equal(ns.accepts, 1);
    assert_int_equal(ns.bytes_sent, sizeof(hello));
    casty_net_stats_get(cli.net, &ns);
    assert_int_equal(ns.bytes_recv, sizeof(hello));
    ep_fini(&cli);
    ep_fini(&srv);
    casty_sim_destroy(sim);
}

typedef struct closer {
    casty_net *net;
    int h, rc, events;
} closer;

static void closer_fn(void *user, const casty_net_event *ev)
{
    closer *c = user;
    c->events++;
    assert_int_equal(ev->kind, CASTY_NET_CONNECT);
    assert_int_equal(ev->handle, c->h);
    assert_true(ev->result < 0);
    c->rc = casty_net_close(c->net, ev->handle);
}

static void test_connect_refused_and_timed_out(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    casty_net *a = node(sim, IP_A), *b = node(sim, IP_B);
    node(sim, IP_C);
    ep e;
    ep_init(&e, a);

    /* No listener: refused after the round trip, a queued send first; the handle goes after. */
    casty_addr nolisten = {IP_B, 8000};
    uint64_t t0 = casty_sim_now(sim);
    int h = casty_net_connect(a, &nolisten, ep_fn, &e);
    assert_true(h >= 0);
    e.h = h;
    assert_int_equal(send1(&e, "queued", 6, 6), 0);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(e.n_connect, 1);
    assert_int_equal(e.connect_result, -ECONNREFUSED);
    assert_int_equal(e.n_sent, 1);
    assert_int_equal(e.sent_result, -ECONNREFUSED);
    assert_int_equal(e.sent_tag, 6);
    assert_int_equal(e.kinds[0], CASTY_NET_SENT);
    assert_int_equal(e.kinds[1], CASTY_NET_CONNECT);
    assert_true(e.t_connect <= t0 + 600 * US);
    assert_int_equal(casty_net_close(a, h), -EBADF);

    /* Closing the handle from the failed CONNECT is allowed too. */
    closer cl = {.net = a, .rc = 1};
    cl.h = casty_net_connect(a, &nolisten, closer_fn, &cl);
    assert_true(cl.h >= 0);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(cl.rc, 0);
    assert_int_equal(cl.events, 1);

    /* Across a cut: -ETIMEDOUT exactly at connect_timeout. */
    assert_int_equal(casty_sim_partition(sim, IP_A, IP_C, true), 0);
    casty_addr c80 = {IP_C, 80}, x80 = {IP_X, 80};
    casty_addr bind80 = {0, 80};
    assert_true(casty_net_listen(b, &bind80, ep_fn, &e) >= 0);
    t0 = casty_sim_now(sim);
    e.n_connect = 0;
    assert_true(casty_net_connect(a, &c80, ep_fn, &e) >= 0);
    casty_sim_run_for(sim, 2900 * MS);
    assert_int_equal(e.n_connect, 0);
    casty_sim_run_for(sim, 200 * MS);
    assert_int_equal(e.n_connect, 1);
    assert_int_equal(e.connect_result, -ETIMEDOUT);
    assert_int_equal(e.t_connect, t0 + 3 * SEC);

    /* An IP nobody has: also a timeout. */
    e.n_connect = 0;
    assert_true(casty_net_connect(a, &x80, ep_fn, &e) >= 0);
    casty_sim_run_for(sim, 4 * SEC);
    assert_int_equal(e.n_connect, 1);
    assert_int_equal(e.connect_result, -ETIMEDOUT);

    /* A heal before the timeout: a retransmitted SYN gets through. */
    e.n_connect = 0;
    casty_addr b80 = {IP_B, 80};
    assert_int_equal(casty_sim_partition(sim, IP_A, IP_B, true), 0);
    t0 = casty_sim_now(sim);
    assert_true(casty_net_connect(a, &b80, ep_fn, &e) >= 0);
    casty_sim_run_for(sim, 500 * MS);
    assert_int_equal(casty_sim_partition(sim, IP_A, IP_B, false), 0);
    casty_sim_run_for(sim, 3 * SEC);
    assert_int_equal(e.n_connect, 1);
    assert_int_equal(e.connect_result, 0);
    assert_true(e.t_connect >= t0 + 1 * SEC && e.t_connect < t0 + 2 * SEC);
    ep_fini(&e);
    casty_sim_destroy(sim);
}

/* -- streams: integrity and chunking -- */

typedef struct bulk {
    ep *e;
    casty_sim *sim;
    const casty_sim_link *link; /* applied once connected (SYNs could be lost for good) */
    const uint8_t *src;
    size_t total, off;
    size_t bounds[4096]; /* end offsets of the sends */
    uint32_t n_bounds;
    uint32_t sends;
} bulk;

static void bulk_send_next(bulk *b)
{
    if (b->off == b->total)
        return;
    size_t len = 1 + rng_below(256 * 1024);
    if (len > b->total - b->off)
        len = b->total - b->off;
    struct iovec iov[64];
    int cnt = 1 + (int)rng_below(len < 64 ? len : 64);
    size_t pos = b->off, left = len;
    for (int i = 0; i < cnt; i++) {
        size_t piece = i == cnt - 1 ? left : rng_below(left / (size_t)(cnt - i) * 2 + 1);
        if (piece > left)
            piece = left;
        iov[i] = (struct iovec){(void *)(b->src + pos), piece};
        pos += piece;
        left -= piece;
    }
    assert_int_equal(casty_net_send(b->e->net, b->e->h, iov, cnt, b->sends), 0);
    b->off += len;
    b->sends++;
    if (b->n_bounds < 4096)
        b->bounds[b->n_bounds++] = b->off;
}

static void bulk_fn(void *user, const casty_net_event *ev)
{
    bulk *b = user;
    ep_fn(b->e, ev);
    if (ev->kind == CASTY_NET_CONNECT) {
        assert_int_equal(ev->result, 0);
        if (b->link)
            assert_int_equal(casty_sim_set_link(b->sim, IP_A, IP_B, b->link), 0);
    }
    if (ev->kind == CASTY_NET_CONNECT || ev->kind == CASTY_NET_SENT) {
        if (ev->kind == CASTY_NET_SENT)
            assert_int_equal(ev->tag, b->sends - 1);
        bulk_send_next(b);
    }
}

typedef struct sink {
    casty_net *net;
    uint64_t got;
    uint32_t recvs;
    uint32_t sizes_seen[17]; /* by log2 of the chunk size */
    uint32_t coalesced;      /* chunks that span a send boundary */
    const bulk *from;
    uint32_t bound_idx;
    bool bad;
    int closed;
} sink;

static void sink_fn(void *user, const casty_net_event *ev)
{
    sink *s = user;
    if (ev->kind == CASTY_NET_RECV) {
        for (uint32_t i = 0; i < ev->len; i++)
            s->bad |= ev->data[i] != pattern(s->got + i);
        uint32_t lg = 0;
        while ((2u << lg) <= ev->len && lg < 16)
            lg++;
        s->sizes_seen[lg]++;
        const bulk *b = s->from;
        while (s->bound_idx < b->n_bounds && b->bounds[s->bound_idx] <= s->got)
            s->bound_idx++;
        if (s->bound_idx < b->n_bounds && b->bounds[s->bound_idx] < s->got + ev->len)
            s->coalesced++;
        s->got += ev->len;
        s->recvs++;
    } else if (ev->kind == CASTY_NET_CLOSED) {
        s->closed++;
    }
}

static void stream_transfer(const casty_sim_link *link, size_t total, uint32_t classes_min,
                            uint64_t *elapsed)
{
    casty_sim *sim = world(NULL);
    ep cli;
    ep_init(&cli, node(sim, IP_A));
    casty_net *b = node(sim, IP_B);
    uint8_t *src = malloc(total);
    assert_non_null(src);
    for (size_t i = 0; i < total; i++)
        src[i] = pattern(i);
    bulk *bk = calloc(1, sizeof(*bk));
    assert_non_null(bk);
    *bk = (bulk){.e = &cli, .sim = sim, .link = link, .src = src, .total = total};
    sink sk = {.net = b, .from = bk};
    casty_addr bind = {0, 9000}, to = {IP_B, 9000};
    assert_true(casty_net_listen(b, &bind, sink_fn, &sk) >= 0);
    cli.h = casty_net_connect(cli.net, &to, bulk_fn, bk);
    uint64_t t0 = casty_sim_now(sim);
    for (int i = 0; i < 100000 && sk.got < total; i++)
        casty_sim_run_for(sim, 10 * MS);
    *elapsed = casty_sim_now(sim) - t0;
    assert_int_equal(sk.got, total);
    assert_false(sk.bad);
    assert_int_equal(bk->off, total);
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(cli.n_sent, (int)bk->sends);
    uint32_t distinct = 0;
    for (int i = 0; i < 17; i++)
        distinct += sk.sizes_seen[i] > 0;
    printf("# %zu bytes in %u sends -> %u RECVs, %u size classes, %u coalesced, %.3f s virtual\n",
           total, bk->sends, sk.recvs, distinct, sk.coalesced, *elapsed / 1e9);
    assert_true(distinct >= classes_min); /* chunk sizes vary over many powers of two */
    assert_true(sk.coalesced > 0);        /* some RECV spans two sends */
    assert_true(sk.recvs > bk->sends);    /* and sends are split */
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    assert_int_equal(st.stream_bytes, total);
    free(bk);
    free(src);
    ep_fini(&cli);
    casty_sim_destroy(sim);
}

static void test_stream_integrity_10mb_random_chunks(void **state)
{
    (void)state;
    reseed(2);
    uint64_t elapsed;
    stream_transfer(NULL, 10u * 1024 * 1024, 10, &elapsed);
}

static void test_stream_loss_delays_but_never_loses(void **state)
{
    (void)state;
    reseed(3);
    casty_sim_link lossy = {.delay_min_ns = 100 * US, .delay_max_ns = 300 * US, .loss_ppm = 300000};
    uint64_t clean, slow;
    stream_transfer(NULL, 1u << 20, 5, &clean);
    stream_transfer(&lossy, 1u << 20, 5, &slow);
    assert_true(slow > clean + 200 * MS); /* retransmits cost time, never bytes */
}

/* -- streams: backpressure -- */

static void test_paused_receiver_stalls_sender(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    casty_sim_tcp tcp = {.recv_window = 64 * 1024};
    assert_int_equal(casty_sim_set_tcp(sim, &tcp), 0);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    srv.pause_on_accept = true;
    connect_pair(sim, &cli, &srv, 9000);

    /* Less than the window: SENT comes although nobody reads. */
    size_t big = 1u << 20;
    uint8_t *buf = malloc(big);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++)
        buf[i] = pattern(i);
    assert_int_equal(send1(&cli, buf, 1000, 1), 0);
    casty_sim_run_for(sim, 100 * MS);
    assert_int_equal(cli.n_sent, 1);
    assert_int_equal(srv.n_recv, 0);

    /* More than the window: SENT waits for the reader. */
    assert_int_equal(send1(&cli, buf + 1000, big - 1000, 2), 0);
    assert_int_equal(send1(&cli, buf, 1, 3), -EBUSY);
    casty_sim_run_for(sim, 5 * SEC);
    assert_int_equal(cli.n_sent, 1);
    assert_int_equal(srv.n_recv, 0);
    casty_net_stats ns;
    casty_net_stats_get(srv.net, &ns);
    assert_int_equal(ns.bytes_recv, 0);

    g_in_op = true;
    assert_int_equal(casty_net_recv_pause(srv.net, srv.h, false), 0);
    g_in_op = false;
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(cli.n_sent, 2);
    assert_int_equal(cli.sent_result, (int)(big - 1000));
    assert_int_equal(cli.sent_tag, 2);
    assert_int_equal(srv.rx_len, big);
    assert_memory_equal(srv.rx, buf, big);

    /* Pausing mid-stream stops RECV at once. */
    int before = srv.n_recv;
    assert_int_equal(casty_net_recv_pause(srv.net, srv.h, true), 0);
    assert_int_equal(send1(&cli, buf, 5000, 4), 0);
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(srv.n_recv, before);
    assert_int_equal(casty_net_recv_pause(srv.net, srv.h, false), 0);
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(srv.rx_len, big + 5000);
    free(buf);
    ep_fini(&cli);
    ep_fini(&srv);
    casty_sim_destroy(sim);
}

/* -- streams: partitions -- */

static void test_partition_drops_udp_and_holds_tcp(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    connect_pair(sim, &cli, &srv, 9000);
    ep ua, ub;
    ep_init(&ua, cli.net);
    ep_init(&ub, srv.net);
    casty_addr u = {0, 5000}, to = {IP_B, 5000};
    int hu = casty_net_udp_bind(cli.net, &u, ep_fn, &ua);
    assert_true(hu >= 0 && casty_net_udp_bind(srv.net, &u, ep_fn, &ub) >= 0);

    uint8_t data[20000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    assert_int_equal(casty_sim_partition(sim, IP_B, IP_A, true), 0);
    assert_int_equal(casty_net_sendto(cli.net, hu, &to, "lost", 4), 0);
    assert_int_equal(send1(&cli, data, 10000, 1), 0);
    casty_sim_run_for(sim, 2 * SEC);
    assert_int_equal(ub.n_dgram, 0);
    assert_int_equal(srv.n_recv, 0);
    assert_int_equal(cli.n_sent, 1); /* the window took it */
    assert_int_equal(send1(&cli, data + 10000, 10000, 2), 0);
    casty_sim_run_for(sim, 2 * SEC);
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    assert_int_equal(st.dgram_cut, 1);

    casty_sim_heal_all(sim);
    assert_int_equal(casty_net_sendto(cli.net, hu, &to, "heal", 4), 0);
    casty_sim_run_for(sim, 3 * SEC);
    assert_int_equal(ub.n_dgram, 1);
    assert_memory_equal(ub.rx, "heal", 4);
    assert_int_equal(srv.rx_len, sizeof(data));
    assert_memory_equal(srv.rx, data, sizeof(data));
    assert_int_equal(srv.n_closed, 0);

    /* Held past tcp_timeout: both ends die with -ETIMEDOUT, the sender's SENT first. */
    assert_int_equal(casty_sim_partition(sim, IP_A, IP_B, true), 0);
    uint64_t t0 = casty_sim_now(sim);
    assert_int_equal(send1(&cli, data, 100, 3), 0);
    casty_sim_run_for(sim, 9 * SEC);
    assert_int_equal(cli.n_closed, 0);
    assert_int_equal(srv.n_closed, 0);
    casty_sim_run_for(sim, 2 * SEC);
    assert_int_equal(cli.n_closed, 1);
    assert_int_equal(srv.n_closed, 1);
    assert_int_equal(cli.closed_result, -ETIMEDOUT);
    assert_int_equal(srv.closed_result, -ETIMEDOUT);
    assert_true(cli.t_closed >= t0 + 10 * SEC && cli.t_closed <= t0 + 10 * SEC + 1 * MS);
    assert_int_equal(send1(&cli, data, 1, 4), -EPIPE);
    casty_sim_stats_get(sim, &st);
    assert_int_equal(st.streams_reset, 1);
    assert_int_equal(casty_net_close(cli.net, cli.h), 0);
    assert_int_equal(casty_net_close(srv.net, srv.h), 0);
    ep_fini(&cli);
    ep_fini(&srv);
    ep_fini(&ua);
    ep_fini(&ub);
    casty_sim_destroy(sim);
}

/* -- close and kill -- */

static void test_close_delivers_in_flight_then_eof(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    connect_pair(sim, &cli, &srv, 9000);
    uint8_t data[50000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    assert_int_equal(send1(&cli, data, sizeof(data), 1), 0);
    casty_sim_run_for(sim, 10 * US); /* the bytes are on the wire */
    assert_int_equal(casty_net_close(cli.net, cli.h), 0);
    cli.closed_by_user = true;
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(srv.rx_len, sizeof(data));
    assert_memory_equal(srv.rx, data, sizeof(data));
    assert_int_equal(srv.n_closed, 1);
    assert_int_equal(srv.closed_result, 0);
    assert_int_equal(srv.kinds[srv.n_kinds - 1], CASTY_NET_CLOSED);
    assert_int_equal(send1(&srv, data, 1, 1), -EPIPE);
    assert_int_equal(casty_net_close(srv.net, srv.h), 0);
    assert_int_equal(casty_net_close(srv.net, srv.h), -EBADF);
    ep_fini(&cli);
    ep_fini(&srv);
    casty_sim_destroy(sim);
}

static void test_no_event_after_close(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    connect_pair(sim, &cli, &srv, 9000);

    /* A stream closed from its own RECV, with more bytes and a send pending. */
    static uint8_t data[1u << 20]; /* more than the window: srv's send cannot finish */
    assert_int_equal(send1(&cli, data, 200000, 1), 0);
    assert_int_equal(send1(&srv, data, sizeof(data), 2), 0);
    srv.close_on_recv = true;
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(srv.n_recv, 1);
    assert_int_equal(srv.n_sent, 0); /* dropped with the handle, never reported */
    assert_int_equal(cli.n_closed, 1);
    assert_int_equal(cli.closed_result, 0);
    assert_int_equal(cli.n_sent, 1); /* the closed peer's host took the rest */

    /* A timer, a datagram in flight, a connect in flight, a listener. */
    ep e;
    ep_init(&e, cli.net);
    e.closed_by_user = true;
    int t = casty_net_timer(cli.net, 1 * MS, ep_fn, &e, 1);
    assert_true(t >= 0);
    assert_int_equal(casty_net_close(cli.net, t), 0);
    assert_int_equal(casty_net_timer_cancel(cli.net, t), -ENOENT);

    ep ub;
    ep_init(&ub, srv.net);
    casty_addr u = {0, 5000}, to = {IP_B, 5000};
    int hu = casty_net_udp_bind(cli.net, &u, ep_fn, &e);
    int hb = casty_net_udp_bind(srv.net, &u, ep_fn, &ub);
    assert_true(hu >= 0 && hb >= 0);
    assert_int_equal(casty_net_sendto(cli.net, hu, &to, "x", 1), 0);
    assert_int_equal(casty_net_close(srv.net, hb), 0);
    ub.closed_by_user = true;

    ep lis;
    ep_init(&lis, srv.net);
    casty_addr l = {0, 9100}, lto = {IP_B, 9100};
    int lh = casty_net_listen(srv.net, &l, ep_fn, &lis);
    assert_true(lh >= 0);
    int ch = casty_net_connect(cli.net, &lto, ep_fn, &e);
    assert_true(ch >= 0);
    assert_int_equal(casty_net_close(cli.net, ch), 0);
    casty_sim_run_for(sim, 5 * SEC);
    assert_int_equal(lis.n_accept, 0); /* the dialer gave up before its SYN arrived */

    /* A listener closed while a SYN is on its way: refused. */
    ep d;
    ep_init(&d, cli.net);
    assert_true(casty_net_connect(cli.net, &lto, ep_fn, &d) >= 0);
    assert_int_equal(casty_net_close(srv.net, lh), 0);
    lis.closed_by_user = true;
    casty_sim_run_for(sim, 5 * SEC);
    assert_int_equal(d.connect_result, -ECONNREFUSED);
    ep_fini(&cli);
    ep_fini(&srv);
    ep_fini(&e);
    ep_fini(&ub);
    ep_fini(&lis);
    ep_fini(&d);
    casty_sim_destroy(sim);
}

static void test_node_kill_graceful_and_abrupt(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep a1, a2, b, c;
    casty_net *na = node(sim, IP_A);
    ep_init(&a1, na);
    ep_init(&a2, na);
    ep_init(&b, node(sim, IP_B));
    ep_init(&c, node(sim, IP_C));
    connect_pair(sim, &a1, &b, 9000);
    connect_pair(sim, &a2, &c, 9000);
    ep bt;
    ep_init(&bt, b.net);
    assert_true(casty_net_timer(b.net, 1 * MS, ep_fn, &bt, 5) >= 0);

    /* Graceful: B's last bytes arrive, then EOF, within a delay; its timer never fires. */
    uint8_t data[5000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    assert_int_equal(send1(&b, data, sizeof(data), 1), 0);
    casty_sim_run_for(sim, 1 * US);
    uint64_t t0 = casty_sim_now(sim);
    casty_sim_node_kill(b.net, false);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(bt.n_timer, 0);
    assert_int_equal(a1.rx_len, sizeof(data));
    assert_memory_equal(a1.rx, data, sizeof(data));
    assert_int_equal(a1.n_closed, 1);
    assert_int_equal(a1.closed_result, 0);
    assert_true(a1.t_closed <= t0 + 1 * MS);
    /* The host is up, its process is not: refused. */
    ep d;
    ep_init(&d, na);
    casty_addr b9 = {IP_B, 9000}, c9 = {IP_C, 9000};
    assert_true(casty_net_connect(na, &b9, ep_fn, &d) >= 0);
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(d.connect_result, -ECONNREFUSED);

    /* Abrupt: A's sends stall once the window is full; reset after tcp_timeout. */
    size_t big = 1u << 20;
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    t0 = casty_sim_now(sim);
    casty_sim_node_kill(c.net, true);
    assert_int_equal(send1(&a2, buf, big, 9), 0);
    casty_sim_run_for(sim, 9 * SEC);
    assert_int_equal(a2.n_sent, 0);
    assert_int_equal(a2.n_closed, 0);
    casty_sim_run_for(sim, 2 * SEC);
    assert_int_equal(a2.n_sent, 1);
    assert_int_equal(a2.sent_result, -ETIMEDOUT);
    assert_int_equal(a2.n_closed, 1);
    assert_int_equal(a2.closed_result, -ETIMEDOUT);
    assert_int_equal(a2.kinds[a2.n_kinds - 2], CASTY_NET_SENT);
    assert_int_equal(a2.t_closed, t0 + 10 * SEC);
    /* A vanished host does not answer: the connect times out. */
    ep_init(&d, na);
    assert_true(casty_net_connect(na, &c9, ep_fn, &d) >= 0);
    casty_sim_run_for(sim, 4 * SEC);
    assert_int_equal(d.connect_result, -ETIMEDOUT);

    /* Restart C: it listens again and the connect succeeds. */
    ep c2;
    ep_init(&c2, node(sim, IP_C));
    ep a3;
    ep_init(&a3, na);
    connect_pair(sim, &a3, &c2, 9000);
    free(buf);
    ep_fini(&a1);
    ep_fini(&a2);
    ep_fini(&a3);
    ep_fini(&b);
    ep_fini(&c);
    ep_fini(&c2);
    ep_fini(&d);
    ep_fini(&bt);
    casty_sim_destroy(sim);
}

/* A callback that kills its own node: nothing touches the node afterwards. */
static void kill_self_fn(void *user, const casty_net_event *ev)
{
    casty_net *net = user;
    if (ev->kind == CASTY_NET_RECV)
        casty_sim_node_kill(net, (ev->len & 1) != 0);
}

static void test_kill_from_own_callback(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    connect_pair(sim, &cli, &srv, 9000);
    assert_int_equal(casty_net_set_user(srv.net, srv.h, kill_self_fn, srv.net), 0);
    static uint8_t data[300000];
    assert_int_equal(send1(&cli, data, sizeof(data), 1), 0);
    assert_int_equal(send1(&srv, data, sizeof(data), 1), 0);
    casty_sim_run_for(sim, 20 * SEC);
    assert_int_equal(cli.n_closed, 1);
    assert_true(cli.closed_result == 0 || cli.closed_result == -ETIMEDOUT);
    ep_fini(&cli);
    ep_fini(&srv);
    casty_sim_destroy(sim);
}

/* -- argument validation -- */

static void noop_fn(void *user, const casty_net_event *ev)
{
    (void)user;
    (void)ev;
}

static void test_every_op_validates_arguments(void **state)
{
    (void)state;
    casty_sim *bad = NULL;
    casty_sim_link inverted = {.delay_min_ns = 2, .delay_max_ns = 1};
    casty_sim_link overppm = {.loss_ppm = 1000001};
    assert_int_equal(casty_sim_create(NULL, 1, NULL), -EINVAL);
    assert_int_equal(casty_sim_create(&bad, 1, &inverted), -EINVAL);
    assert_int_equal(casty_sim_create(&bad, 1, &overppm), -EINVAL);
    assert_null(bad);

    casty_sim *sim = world(NULL);
    assert_int_equal(casty_sim_set_link(sim, IP_A, IP_B, &inverted), -EINVAL);
    assert_int_equal(casty_sim_set_link(sim, 0, IP_B, NULL), -EINVAL);
    assert_int_equal(casty_sim_set_link(sim, IP_A, IP_B, NULL), 0);
    assert_int_equal(casty_sim_partition(sim, IP_A, 0, true), -EINVAL);
    casty_sim_tcp huge = {.recv_window = (1u << 30) + 1};
    assert_int_equal(casty_sim_set_tcp(sim, &huge), -EINVAL);
    assert_int_equal(casty_sim_set_tcp(sim, NULL), 0);

    ep cli, srv;
    ep_init(&cli, node(sim, IP_A));
    ep_init(&srv, node(sim, IP_B));
    casty_net *a = cli.net;
    casty_addr any = {0, 0}, p7 = {0, 7}, foreign = {IP_B, 7};
    casty_addr zero_ip = {0, 7}, zero_port = {IP_B, 0}, b7 = {IP_B, 7};
    g_in_op = true;

    /* listen, udp_bind */
    assert_int_equal(casty_net_listen(a, NULL, noop_fn, NULL), -EINVAL);
    assert_int_equal(casty_net_listen(a, &any, NULL, NULL), -EINVAL);
    assert_int_equal(casty_net_listen(a, &foreign, noop_fn, NULL), -EADDRNOTAVAIL);
    assert_int_equal(casty_net_udp_bind(a, NULL, noop_fn, NULL), -EINVAL);
    assert_int_equal(casty_net_udp_bind(a, &any, NULL, NULL), -EINVAL);
    assert_int_equal(casty_net_udp_bind(a, &foreign, noop_fn, NULL), -EADDRNOTAVAIL);
    int udp = casty_net_udp_bind(a, &p7, noop_fn, NULL);
    assert_true(udp >= 0);
    assert_int_equal(casty_net_udp_bind(a, &p7, noop_fn, NULL), -EADDRINUSE);

    /* connect */
    assert_int_equal(casty_net_connect(a, NULL, noop_fn, NULL), -EINVAL);
    assert_int_equal(casty_net_connect(a, &b7, NULL, NULL), -EINVAL);
    assert_int_equal(casty_net_connect(a, &zero_ip, noop_fn, NULL), -EINVAL);
    assert_int_equal(casty_net_connect(a, &zero_port, noop_fn, NULL), -EINVAL);

    /* sendto */
    uint8_t big[CASTY_NET_DGRAM_MAX + 1] = {0};
    assert_int_equal(casty_net_sendto(a, -1, &b7, big, 1), -EBADF);
    assert_int_equal(casty_net_sendto(a, 999, &b7, big, 1), -EBADF);
    assert_int_equal(casty_net_sendto(a, udp, NULL, big, 1), -EINVAL);
    assert_int_equal(casty_net_sendto(a, -5, NULL, big, 1), -EBADF);
    assert_int_equal(casty_net_sendto(a, udp, &b7, NULL, 1), -EINVAL);
    assert_int_equal(casty_net_sendto(a, udp, &zero_port, big, 1), -EINVAL);
    assert_int_equal(casty_net_sendto(a, udp, &b7, big, CASTY_NET_DGRAM_MAX + 1), -EMSGSIZE);
    assert_int_equal(casty_net_sendto(a, udp, &b7, big, CASTY_NET_DGRAM_MAX), 0);

    /* timers */
    assert_int_equal(casty_net_timer(a, 1, NULL, NULL, 0), -EINVAL);
    assert_int_equal(casty_net_timer(a, UINT64_MAX, noop_fn, NULL, 0), -EINVAL);
    int t = casty_net_timer(a, 1 * SEC, noop_fn, NULL, 0);
    assert_true(t >= 0);
    assert_int_equal(casty_net_timer_cancel(a, udp), -ENOENT);
    assert_int_equal(casty_net_timer_cancel(a, 999), -ENOENT);

    /* close, local_addr, set_user, recv_pause on bad handles and kinds */
    casty_addr out;
    assert_int_equal(casty_net_close(a, -1), -EBADF);
    assert_int_equal(casty_net_close(a, 999), -EBADF);
    assert_int_equal(casty_net_local_addr(a, udp, NULL), -EINVAL);
    assert_int_equal(casty_net_local_addr(a, t, &out), -EBADF);
    assert_int_equal(casty_net_local_addr(a, 999, &out), -EBADF);
    assert_int_equal(casty_net_set_user(a, udp, NULL, NULL), -EINVAL);
    assert_int_equal(casty_net_set_user(a, 999, noop_fn, NULL), -EBADF);
    assert_int_equal(casty_net_set_user(a, t, noop_fn, NULL), 0);
    assert_int_equal(casty_net_recv_pause(a, 999, true), -EBADF);
    assert_int_equal(casty_net_recv_pause(a, udp, true), -EBADF);
    assert_int_equal(casty_net_recv_pause(a, t, true), -EBADF);

    /* send */
    uint8_t buf[64];
    struct iovec iov[65];
    for (int i = 0; i < 65; i++)
        iov[i] = (struct iovec){buf, 1};
    assert_int_equal(casty_net_send(a, 999, iov, 1, 0), -EBADF);
    assert_int_equal(casty_net_send(a, udp, iov, 1, 0), -EBADF);
    assert_int_equal(casty_net_send(a, t, iov, 1, 0), -EBADF);
    g_in_op = false;
    connect_pair(sim, &cli, &srv, 9000);
    g_in_op = true;
    assert_int_equal(casty_net_send(a, cli.h, iov, -1, 0), -EINVAL);
    assert_int_equal(casty_net_send(a, cli.h, iov, 0, 0), -EINVAL);
    struct iovec empty = {buf, 0};
    assert_int_equal(casty_net_send(a, cli.h, &empty, 1, 0), -EINVAL);
    assert_int_equal(casty_net_send(a, cli.h, iov, 65, 0), -EINVAL);
    assert_int_equal(casty_net_send(a, cli.h, NULL, 1, 0), -EINVAL);
    struct iovec nullbase = {NULL, 5};
    assert_int_equal(casty_net_send(a, cli.h, &nullbase, 1, 0), -EINVAL);
    struct iovec huge_iov[2] = {{buf, (size_t)INT_MAX}, {buf, 1}};
    assert_int_equal(casty_net_send(a, cli.h, huge_iov, 2, 0), -EINVAL);
    assert_int_equal(casty_net_send(a, cli.h, iov, 64, 5), 0);
    assert_int_equal(casty_net_send(a, cli.h, iov, 1, 6), -EBUSY);
    assert_int_equal(casty_net_sendto(a, cli.h, &b7, buf, 1), -EBADF);
    assert_int_equal(casty_net_local_addr(a, cli.h, &out), 0);
    g_in_op = false;
    casty_sim_run_for(sim, 10 * MS);
    assert_int_equal(cli.n_sent, 1);
    assert_int_equal(cli.sent_result, 64);
    assert_int_equal(srv.rx_len, 64);
    assert_int_equal(cli.sent_tag, 5);
    ep_fini(&cli);
    ep_fini(&srv);
    casty_sim_destroy(sim);
}

/* Handle numbers stay small, and a freed one is not handed out again at once. */
static void test_handles_are_small_and_quarantined(void **state)
{
    (void)state;
    casty_sim *sim = world(NULL);
    casty_net *a = node(sim, IP_A);
    int first = casty_net_timer(a, 1 * SEC, noop_fn, NULL, 0);
    assert_int_equal(casty_net_timer_cancel(a, first), 0);
    int maxh = first;
    for (int i = 0; i < 10000; i++) {
        int t = casty_net_timer(a, 1 * SEC, noop_fn, NULL, 0);
        assert_true(t >= 0);
        if (i < 64)
            assert_int_not_equal(t, first);
        maxh = t > maxh ? t : maxh;
        assert_int_equal(casty_net_timer_cancel(a, t), 0);
    }
    assert_true(maxh < 100);

    /* A cancelled timer's queue entry must not fire the timer that reuses its number. */
    tlog l = {.net = a, .cancel_self = -1};
    int old = casty_net_timer(a, 10 * MS, tlog_fn, &l, 1);
    assert_int_equal(casty_net_timer_cancel(a, old), 0);
    int reused = -1;
    for (int i = 0; i < 1000 && reused != old; i++) {
        reused = casty_net_timer(a, 1 * SEC, tlog_fn, &l, 2);
        if (reused != old)
            assert_int_equal(casty_net_timer_cancel(a, reused), 0);
    }
    assert_int_equal(reused, old);
    casty_sim_run_for(sim, 20 * MS);
    assert_int_equal(l.n, 0);
    casty_sim_run_for(sim, 1 * SEC);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.tags[0], 2);
    casty_sim_destroy(sim);
}

/* -- scale -- */

static void count_fn(void *user, const casty_net_event *ev)
{
    assert_int_equal(ev->kind, CASTY_NET_DGRAM);
    (*(uint64_t *)user)++;
}

static void test_thousand_nodes_hundred_datagrams_each(void **state)
{
    (void)state;
    reseed(4);
    const uint32_t nodes = 1000, each = 100;
    casty_sim *sim = world(NULL);
    casty_net **net = calloc(nodes, sizeof(*net));
    int *udp = calloc(nodes, sizeof(*udp));
    uint64_t *got = calloc(nodes, sizeof(*got));
    assert_non_null(net);
    assert_non_null(udp);
    assert_non_null(got);
    casty_addr bind = {0, 7000};
    for (uint32_t i = 0; i < nodes; i++) {
        net[i] = node(sim, 0x0a010000u + i);
        udp[i] = casty_net_udp_bind(net[i], &bind, count_fn, &got[i]);
        assert_true(udp[i] >= 0);
    }
    uint64_t t0 = ct_now_ns();
    for (uint32_t k = 0; k < each; k++) {
        for (uint32_t i = 0; i < nodes; i++) {
            casty_addr to = {0x0a010000u + (uint32_t)rng_below(nodes), 7000};
            assert_int_equal(casty_net_sendto(net[i], udp[i], &to, &k, sizeof(k)), 0);
        }
    }
    casty_sim_stats st;
    casty_sim_stats_get(sim, &st);
    assert_int_equal(st.pending, (uint64_t)nodes * each);
    while (casty_sim_step(sim)) {
    }
    uint64_t wall = ct_now_ns() - t0;
    casty_sim_stats_get(sim, &st);
    printf("# %u nodes x %u datagrams: %" PRIu64 " events in %.1f ms wall\n", nodes, each,
           st.events, wall / 1e6);
    assert_int_equal(st.dgram_delivered, (uint64_t)nodes * each);
    assert_int_equal(st.pending, 0);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < nodes; i++)
        sum += got[i];
    assert_int_equal(sum, (uint64_t)nodes * each);
    free(net);
    free(udp);
    free(got);
    casty_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heap_orders_by_time_then_sequence, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_world_clock_and_nodes, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_timers_order_and_cancel, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_udp_delivery_and_binding, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_udp_loss_rate_is_within_bounds, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_udp_duplication_and_reordering, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_udp_inflight_cap_says_eagain, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_same_seed_same_trace, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_connect_accept_order_and_addresses, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused_and_timed_out, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_stream_integrity_10mb_random_chunks, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_stream_loss_delays_but_never_loses, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_paused_receiver_stalls_sender, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_partition_drops_udp_and_holds_tcp, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_close_delivers_in_flight_then_eof, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_no_event_after_close, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_node_kill_graceful_and_abrupt, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_kill_from_own_callback, leak_setup, leak_teardown),
        cmocka_unit_test_setup_teardown(test_every_op_validates_arguments, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_handles_are_small_and_quarantined, leak_setup,
                                        leak_teardown),
        cmocka_unit_test_setup_teardown(test_thousand_nodes_hundred_datagrams_each, leak_setup,
                                        leak_teardown),
    };
    return cmocka_run_group_tests_name("io/net_sim", tests, group_setup, NULL);
}
