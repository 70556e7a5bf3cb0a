/*
 * The transport on the simulated network: the same code as on io_uring,
 * driven by a virtual clock. Deterministic (a seed replays a run exactly),
 * so partitions, crashes and lossy links are tested without sleeping.
 */
#include <errno.h>
#include <stdlib.h>

#include "cluster/frame.h"
#include "cluster/le.h"
#include "io/net_sim.h"
#include "support/casty_test.h"
#include "support/tnode.h"

#define IP_A 0x0a000001u
#define IP_B 0x0a000002u
#define MS   1000000ull

typedef struct world {
    casty_sim *sim;
    tnode a, b;
} world;

static void world_start(world *w, uint64_t seed, const casty_sim_link *link)
{
    memset(w, 0, sizeof(*w));
    assert_int_equal(casty_sim_create(&w->sim, seed, link), 0);
    casty_net *na, *nb;
    assert_int_equal(casty_sim_node_add(w->sim, IP_A, &na), 0);
    assert_int_equal(casty_sim_node_add(w->sim, IP_B, &nb), 0);
    casty_transport_config ca, cb;
    tn_config(&ca, "sim", 1);
    tn_config(&cb, "sim", 2);
    ca.listen = (casty_addr){IP_A, 7000};
    cb.listen = (casty_addr){IP_B, 7000};
    ca.seed = seed;
    cb.seed = seed + 1;
    ca.nonces_from_seed = cb.nonces_from_seed = true; /* replayable handshakes */
    assert_int_equal(tn_start(&w->a, na, &ca), 0);
    assert_int_equal(tn_start(&w->b, nb, &cb), 0);
}

static void world_stop(world *w)
{
    if (w->a.t)
        casty_transport_destroy(w->a.t);
    if (w->b.t)
        casty_transport_destroy(w->b.t);
    casty_sim_destroy(w->sim);
}

static void run_ms(world *w, uint64_t ms)
{
    casty_sim_run_for(w->sim, ms * MS);
}

static void send_n(tnode *from, uint64_t to, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        uint8_t p[16];
        tn_put64(p, i);
        tn_put64(p + 8, ~i);
        assert_int_equal(casty_transport_send(from->t, to, TN_SEQ_TYPE, 0, p, sizeof(p)), 0);
    }
}

/* One whole scenario; returns the simulator's trace hash. */
static uint64_t scenario(uint64_t seed)
{
    casty_sim_link lossy = {.delay_min_ns = 100000, .delay_max_ns = 2 * MS, .loss_ppm = 100000};
    world w;
    world_start(&w, seed, &lossy);
    casty_addr ab = {IP_B, 7000};
    assert_int_equal(casty_transport_add_peer(w.a.t, 2, &ab), 0);
    run_ms(&w, 2000);
    assert_true(casty_transport_connected(w.a.t, 2));
    assert_true(casty_transport_connected(w.b.t, 1));
    send_n(&w.a, 2, 0, 5000);
    send_n(&w.b, 1, 0, 5000);
    run_ms(&w, 5000);
    assert_int_equal(w.a.frames, 5000);
    assert_int_equal(w.b.frames, 5000);
    assert_int_equal(w.a.out_of_order + w.b.out_of_order, 0);
    uint64_t h = casty_sim_trace_hash(w.sim);
    world_stop(&w);
    return h;
}

static void test_lossy_link_in_order_and_deterministic(void **state)
{
    (void)state;
    uint64_t h1 = scenario(42), h2 = scenario(42), h3 = scenario(43);
    assert_int_equal(h1, h2); /* a seed replays the run exactly */
    assert_true(h1 != h3);
}

static void test_partition_then_heal_reconnects(void **state)
{
    (void)state;
    world w;
    world_start(&w, 7, NULL);
    casty_sim_tcp tcp = {.timeout_ns = 2000 * MS, .connect_timeout_ns = 500 * MS};
    assert_int_equal(casty_sim_set_tcp(w.sim, &tcp), 0);
    casty_addr ab = {IP_B, 7000};
    assert_int_equal(casty_transport_add_peer(w.a.t, 2, &ab), 0);
    run_ms(&w, 50);
    assert_int_equal(w.a.ups, 1);
    /* Cut the pair while traffic flows: the held bytes time the connection out. */
    assert_int_equal(casty_sim_partition(w.sim, IP_A, IP_B, true), 0);
    send_n(&w.a, 2, 0, 100);
    run_ms(&w, 3000);
    assert_int_equal(w.a.downs, 1);
    assert_int_equal(w.b.downs, 1);
    /* While cut, redials fail (connect timeouts) with backoff; nothing comes up. */
    send_n(&w.a, 2, 100, 100);
    run_ms(&w, 2000);
    assert_int_equal(w.a.ups, 1);
    casty_transport_stats st;
    casty_transport_stats_get(w.a.t, &st);
    assert_true(st.reconnects >= 2);
    /* Heal: the next redial connects, and the frames queued since the cut arrive. */
    casty_sim_heal_all(w.sim);
    run_ms(&w, 1000);
    assert_int_equal(w.a.ups, 2);
    /*
     * Frames 0..99 went into the connection that broke: the simulated kernel
     * took them, so they are lost (at most once). 100..199 waited in the
     * queue and all arrive, in order, on the new connection.
     */
    assert_int_equal(w.b.frames, 100);
    assert_int_equal(w.b.next_seq[1], 200);
    world_stop(&w);
}

static void test_peer_crash_and_restart(void **state)
{
    (void)state;
    world w;
    world_start(&w, 9, NULL);
    casty_addr ab = {IP_B, 7000};
    assert_int_equal(casty_transport_add_peer(w.a.t, 2, &ab), 0);
    run_ms(&w, 50);
    assert_int_equal(w.a.ups, 1);
    /* The process dies (the kernel closes its sockets): A sees the end at once. */
    casty_transport_destroy(w.b.t);
    w.b.t = NULL;
    casty_sim_node_kill(w.b.net, false);
    run_ms(&w, 50);
    assert_int_equal(w.a.downs, 1);
    /* A new process on the same address, next incarnation. */
    casty_net *nb;
    assert_int_equal(casty_sim_node_add(w.sim, IP_B, &nb), 0);
    casty_transport_config cb;
    tn_config(&cb, "sim", 2);
    cb.listen = ab;
    cb.incarnation = 2;
    assert_int_equal(tn_start(&w.b, nb, &cb), 0);
    run_ms(&w, 3000);
    assert_int_equal(w.a.ups, 2);
    assert_int_equal(w.a.last_up_inc, 2);
    send_n(&w.a, 2, 0, 10);
    run_ms(&w, 50);
    assert_int_equal(w.b.frames, 10);
    world_stop(&w);
}

/*
 * Reconnects back off: doubling from backoff_min to backoff_max (with
 * jitter), then steady at the cap. A peer that refuses every connect gets a
 * handful of dials, not one per backoff_min.
 */
static void test_reconnect_backoff_grows_to_its_cap(void **state)
{
    (void)state;
    casty_sim *sim;
    assert_int_equal(casty_sim_create(&sim, 3, NULL), 0);
    casty_net *na, *nb;
    assert_int_equal(casty_sim_node_add(sim, IP_A, &na), 0);
    assert_int_equal(casty_sim_node_add(sim, IP_B, &nb), 0); /* a host with nothing listening */
    casty_transport_config ca;
    tn_config(&ca, "sim", 1);
    ca.listen = (casty_addr){IP_A, 7000};
    ca.backoff_min_ns = 10 * MS;
    ca.backoff_max_ns = 160 * MS;
    ca.backoff_jitter_pct = 20;
    tnode a;
    assert_int_equal(tn_start(&a, na, &ca), 0);
    casty_addr ab = {IP_B, 7000};
    assert_int_equal(casty_transport_add_peer(a.t, 2, &ab), 0);
    casty_transport_stats st;
    /* 0..2 s: 10, 20, 40, 80 ms, then 160 ms apart: about 15 redials (a fixed 10 ms: ~200). */
    casty_sim_run_for(sim, 2000 * MS);
    casty_transport_stats_get(a.t, &st);
    uint64_t first = st.reconnects;
    assert_true(first >= 10 && first <= 20);
    /* 2..4 s: at the cap, 2000 / 160 = 12.5 give or take the jitter (uncapped doubling: 1 or 2). */
    casty_sim_run_for(sim, 2000 * MS);
    casty_transport_stats_get(a.t, &st);
    uint64_t second = st.reconnects - first;
    assert_true(second >= 9 && second <= 16);
    assert_int_equal(a.ups, 0);
    casty_transport_destroy(a.t);
    casty_sim_destroy(sim);
}

/* A raw peer that completes an unkeyed handshake, then sends whatever bytes the test gives it. */
typedef struct raw_peer {
    casty_net *net;
    int h;
    casty_frame_decoder dec;
    bool welcomed, closed;
    uint8_t out[512];
    uint32_t out_len;
} raw_peer;

static void raw_send_frame(raw_peer *r, uint8_t type, uint8_t flags, const uint8_t *payload,
                           uint32_t len, uint32_t claimed_len)
{
    uint8_t *f = r->out;
    memcpy(f + CASTY_FRAME_HDR, payload, len);
    assert_int_equal(casty_frame_header(f, type, flags, f + CASTY_FRAME_HDR, len), 0);
    /* A header that lies about its length is refused before its checksum matters. */
    if (claimed_len != len)
        casty__le_put32(f + 4, claimed_len);
    struct iovec iov = {f, CASTY_FRAME_HDR + len};
    assert_int_equal(casty_net_send(r->net, r->h, &iov, 1, 0), 0);
}

static void raw_event(void *user, const casty_net_event *ev)
{
    raw_peer *r = user;
    if (ev->kind == CASTY_NET_CLOSED)
        r->closed = true;
    if (ev->kind == CASTY_NET_CONNECT && ev->result == 0) {
        casty_hello h;
        memset(&h, 0, sizeof(h));
        h.proto_version = CASTY_PROTO_VERSION;
        strcpy(h.cluster, "sim");
        h.node_id = 9;
        h.incarnation = 1;
        uint8_t body[256];
        int n = casty_hello_encode(&h, body, sizeof(body));
        assert_true(n > 0);
        raw_send_frame(r, CASTY_FRAME_HELLO, 0, body, (uint32_t)n, (uint32_t)n);
    }
    if (ev->kind != CASTY_NET_RECV)
        return;
    const uint8_t *p = ev->data;
    size_t len = ev->len;
    while (len) {
        size_t used;
        casty_frame f;
        int rc = casty_frame_decode(&r->dec, p, len, &used, &f);
        p += used;
        len -= used;
        if (rc <= 0)
            break;
        if (f.type == CASTY_FRAME_WELCOME)
            r->welcomed = true;
    }
}

static void raw_connect(raw_peer *r, casty_net *net, const casty_addr *to)
{
    memset(r, 0, sizeof(*r));
    r->net = net;
    assert_int_equal(casty_frame_decoder_init(&r->dec, 0), 0);
    r->h = casty_net_connect(net, to, raw_event, r);
    assert_true(r->h >= 0);
}

/*
 * Nothing from the network makes memory grow without bound: a fragmented
 * message that claims more than max_message, and a frame longer than one
 * fragment, are each refused before anything is allocated for them; the
 * connection is closed and the error counted.
 */
static void test_oversized_claims_are_refused(void **state)
{
    (void)state;
    world w;
    world_start(&w, 11, NULL);
    casty_net *nc;
    assert_int_equal(casty_sim_node_add(w.sim, 0x0a000003u, &nc), 0);
    casty_addr ab = {IP_B, 7000};
    const uint32_t max_message = 16u << 20; /* the default */
    for (int round = 0; round < 2; round++) {
        raw_peer r;
        raw_connect(&r, nc, &ab);
        run_ms(&w, 50);
        assert_true(r.welcomed);
        assert_int_equal(w.b.ups, round + 1);
        uint8_t frag[5 + 16] = {TN_PLAIN_TYPE};
        if (round == 0) {
            casty__le_put32(frag + 1, max_message + 1); /* the message's claimed total */
            raw_send_frame(&r, CASTY_FRAME_FRAG, CASTY_FRAME_F_MORE, frag, sizeof(frag),
                           sizeof(frag));
        } else {
            /* 64 KiB fragments: a frame claiming 1 MiB is past what the decoder will buffer. */
            raw_send_frame(&r, TN_PLAIN_TYPE, 0, frag, sizeof(frag), 1u << 20);
        }
        run_ms(&w, 50);
        casty_transport_stats st;
        casty_transport_stats_get(w.b.t, &st);
        assert_int_equal(st.decode_errors, (uint64_t)round + 1);
        assert_int_equal(w.b.downs, round + 1);
        assert_true(r.closed);
        assert_int_equal(w.b.frames, 0);
        casty_net_close(nc, r.h);
        casty_frame_decoder_free(&r.dec);
    }
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossy_link_in_order_and_deterministic),
        cmocka_unit_test(test_partition_then_heal_reconnects),
        cmocka_unit_test(test_peer_crash_and_restart),
        cmocka_unit_test(test_reconnect_backoff_grows_to_its_cap),
        cmocka_unit_test(test_oversized_claims_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
