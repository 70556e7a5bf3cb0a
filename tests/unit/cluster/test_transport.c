/*
 * The transport over real loopback sockets (io_uring backend): handshake and
 * its refusals, shared-key authentication, tie-break of simultaneous dials,
 * reconnect after a restart, backpressure, the control lane, tampering, and a
 * million frames each way between two threads with none lost, duplicated or
 * reordered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "support/casty_test.h"
#include "cluster/frame.h"
#include "io/net_uring.h"
#include "support/tnode.h"

static const uint8_t KEY_A[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY_B[32] = {9, 9, 9};

static casty_net *new_net(void)
{
    casty_net *net = NULL;
    int rc = casty_net_uring_create(NULL, &net);
    if (rc == -ENOSYS)
        exit(77); /* no io_uring here: skipped */
    assert_int_equal(rc, 0);
    return net;
}

static void start(tnode *n, const casty_transport_config *cfg)
{
    assert_int_equal(tn_start(n, new_net(), cfg), 0);
}

static void stop(tnode *n)
{
    casty_transport_destroy(n->t);
    casty_net_uring_destroy(n->net);
    n->t = NULL;
    n->net = NULL;
}

typedef int (*cond_fn)(void *arg);

/* Drive every node's loop until cond holds; 1, or 0 after ms. */
static int pump(tnode **nodes, int k, cond_fn cond, void *arg, uint32_t ms)
{
    uint64_t deadline = ct_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        if (cond && cond(arg))
            return 1;
        if (ct_now_ns() > deadline)
            return 0;
        for (int i = 0; i < k; i++) {
            if (!nodes[i]->t)
                continue;
            casty_transport_flush(nodes[i]->t);
            casty_net_uring_poll(nodes[i]->net, 0);
        }
    }
}

static void settle(tnode **nodes, int k, uint32_t ms)
{
    pump(nodes, k, NULL, NULL, ms);
}

struct two {
    tnode *a, *b;
    uint64_t n;
};

static int both_up(void *arg)
{
    struct two *w = arg;
    return casty_transport_connected(w->a->t, w->b->id) &&
           casty_transport_connected(w->b->t, w->a->id);
}

static int both_got(void *arg)
{
    struct two *w = arg;
    return w->a->frames >= w->n && w->b->frames >= w->n;
}

static int b_got(void *arg)
{
    struct two *w = arg;
    return w->b->frames >= w->n;
}

static int refused_both(void *arg)
{
    struct two *w = arg;
    return w->a->refused_by_peer + w->a->refused_by_us > 0 &&
           w->b->refused_by_peer + w->b->refused_by_us > 0;
}

static void send_seq(tnode *from, uint64_t to, uint64_t seq, uint32_t flags)
{
    uint8_t p[16];
    tn_put64(p, seq);
    tn_put64(p + 8, ~seq);
    assert_int_equal(casty_transport_send(from->t, to, TN_SEQ_TYPE, flags, p, sizeof(p)), 0);
}

static void connect_pair(tnode *a, tnode *b)
{
    casty_addr ab = tn_addr(b);
    assert_int_equal(casty_transport_add_peer(a->t, b->id, &ab), 0);
    tnode *nodes[] = {a, b};
    struct two w = {a, b, 0};
    assert_true(pump(nodes, 2, both_up, &w, CT_WAIT_MS));
}

static void test_exchange_and_batching(void **state)
{
    (void)state;
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    connect_pair(&a, &b);
    assert_int_equal(a.ups, 1);
    assert_int_equal(b.ups, 1);
    for (uint64_t i = 0; i < 1000; i++) {
        send_seq(&a, 2, i, 0);
        send_seq(&b, 1, i, 0);
    }
    tnode *nodes[] = {&a, &b};
    struct two w = {&a, &b, 1000};
    assert_true(pump(nodes, 2, both_got, &w, CT_WAIT_MS));
    assert_int_equal(a.out_of_order + b.out_of_order, 0);
    casty_transport_stats st;
    casty_transport_stats_get(a.t, &st);
    /* 1000 frames queued in one turn leave in a handful of sends, not 1000. */
    assert_true(st.sends < 20);
    assert_true(st.frames_sent >= 1000);
    stop(&a);
    stop(&b);
}

static void test_seed_learns_node_id(void **state)
{
    (void)state;
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 10);
    tn_config(&cb, "test", 20);
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    casty_addr ab = tn_addr(&b);
    assert_int_equal(casty_transport_send(a.t, 20, TN_PLAIN_TYPE, 0, "x", 1), -ENOTCONN);
    assert_int_equal(casty_transport_add_peer(a.t, 0, &ab), 0);
    tnode *nodes[] = {&a, &b};
    struct two w = {&a, &b, 1};
    assert_true(pump(nodes, 2, both_up, &w, CT_WAIT_MS));
    assert_int_equal(casty_transport_send(a.t, 20, TN_PLAIN_TYPE, 0, "x", 1), 0);
    assert_true(pump(nodes, 2, b_got, &w, CT_WAIT_MS));
    assert_int_equal(b.last_type, TN_PLAIN_TYPE);
    stop(&a);
    stop(&b);
}

static void refusal_case(const char *cluster_a, const char *cluster_b, uint64_t id_a, uint64_t id_b,
                         const uint8_t *key_a, const uint8_t *key_b, int code)
{
    casty_transport_config ca, cb;
    tn_config(&ca, cluster_a, id_a);
    tn_config(&cb, cluster_b, id_b);
    ca.key = key_a;
    cb.key = key_b;
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    casty_addr ab = tn_addr(&b);
    assert_int_equal(casty_transport_add_peer(a.t, 0, &ab), 0);
    tnode *nodes[] = {&a, &b};
    struct two w = {&a, &b, 0};
    assert_true(pump(nodes, 2, refused_both, &w, CT_WAIT_MS));
    settle(nodes, 2, 50);
    /* Both sides saw the same refusal, and nothing came up. */
    assert_int_equal(a.last_refuse_code, code);
    assert_int_equal(b.last_refuse_code, code);
    assert_int_equal(a.ups + b.ups, 0);
    assert_true(strlen(a.last_refuse_reason) > 0);
    assert_string_equal(a.last_refuse_reason, b.last_refuse_reason);
    stop(&a);
    stop(&b);
}

static void test_refuse_cluster_name(void **state)
{
    (void)state;
    refusal_case("alpha", "beta", 1, 2, NULL, NULL, CASTY_REFUSE_CLUSTER);
}

static void test_refuse_node_id_clash(void **state)
{
    (void)state;
    refusal_case("test", "test", 7, 7, NULL, NULL, CASTY_REFUSE_NODE_ID);
}

static void test_refuse_missing_key(void **state)
{
    (void)state;
    refusal_case("test", "test", 1, 2, NULL, KEY_A, CASTY_REFUSE_AUTH);
    refusal_case("test", "test", 1, 2, KEY_A, NULL, CASTY_REFUSE_AUTH);
}

static void test_refuse_wrong_key(void **state)
{
    (void)state;
    refusal_case("test", "test", 1, 2, KEY_A, KEY_B, CASTY_REFUSE_AUTH);
    refusal_case("test", "test", 2, 1, KEY_B, KEY_A, CASTY_REFUSE_AUTH);
}

static void keyed_exchange(bool encrypt)
{
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    ca.key = cb.key = KEY_A;
    ca.encrypt = cb.encrypt = encrypt;
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    connect_pair(&a, &b);
    for (uint64_t i = 0; i < 500; i++) {
        send_seq(&a, 2, i, 0);
        send_seq(&b, 1, i, 0);
        /* Control frames on the side: their own lane, so not in the data sequence. */
        if (i % 3 == 0)
            assert_int_equal(casty_transport_send(b.t, 1, TN_CTRL_TYPE, CASTY_SEND_CONTROL, "c", 1),
                             0);
    }
    tnode *nodes[] = {&a, &b};
    struct two w = {&a, &b, 500};
    assert_true(pump(nodes, 2, both_got, &w, CT_WAIT_MS));
    casty_transport_stats sa, sb;
    casty_transport_stats_get(a.t, &sa);
    casty_transport_stats_get(b.t, &sb);
    assert_int_equal(sa.mac_failures + sb.mac_failures, 0);
    assert_int_equal(a.out_of_order, 0);
    stop(&a);
    stop(&b);
}

static void test_keyed_exchange(void **state)
{
    (void)state;
    keyed_exchange(false);
    keyed_exchange(true);
}

/* A raw client speaking a future protocol version is refused with a clear code. */
struct raw {
    casty_frame_decoder dec;
    int connected;
    int refused_code;
    int closed;
    uint8_t out[256];
};

static void raw_event(void *user, const casty_net_event *ev)
{
    struct raw *r = user;
    if (ev->kind == CASTY_NET_CONNECT)
        r->connected = ev->result == 0 ? 1 : -1;
    if (ev->kind == CASTY_NET_CLOSED)
        r->closed = 1;
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
        casty_refuse ref;
        if (f.type == CASTY_FRAME_REFUSE && casty_refuse_decode(f.payload, f.len, &ref) == 0)
            r->refused_code = ref.code;
    }
}

static int raw_connected(void *arg)
{
    return ((struct raw *)arg)->connected != 0;
}

static int raw_refused(void *arg)
{
    return ((struct raw *)arg)->refused_code != 0;
}

static void test_refuse_version(void **state)
{
    (void)state;
    casty_transport_config cb;
    tn_config(&cb, "test", 2);
    tnode b, client;
    start(&b, &cb);
    memset(&client, 0, sizeof(client));
    client.net = new_net();
    struct raw r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(casty_frame_decoder_init(&r.dec, 0), 0);
    casty_addr ab = tn_addr(&b);
    int h = casty_net_connect(client.net, &ab, raw_event, &r);
    assert_true(h >= 0);
    tnode *nodes[] = {&b};
    uint64_t deadline = ct_now_ns() + 5000000000ull;
    while (!raw_connected(&r) && ct_now_ns() < deadline) {
        settle(nodes, 1, 1);
        casty_net_uring_poll(client.net, 0);
    }
    assert_int_equal(r.connected, 1);
    casty_hello hello;
    memset(&hello, 0, sizeof(hello));
    hello.proto_version = CASTY_PROTO_VERSION + 1;
    strcpy(hello.cluster, "test");
    hello.node_id = 99;
    int n = casty_hello_encode(&hello, r.out + CASTY_FRAME_HDR, sizeof(r.out) - CASTY_FRAME_HDR);
    assert_true(n > 0);
    assert_int_equal(
        casty_frame_header(r.out, CASTY_FRAME_HELLO, 0, r.out + CASTY_FRAME_HDR, (uint32_t)n), 0);
    struct iovec iov = {r.out, CASTY_FRAME_HDR + (size_t)n};
    assert_int_equal(casty_net_send(client.net, h, &iov, 1, 0), 0);
    deadline = ct_now_ns() + 5000000000ull;
    while (!raw_refused(&r) && ct_now_ns() < deadline) {
        settle(nodes, 1, 1);
        casty_net_uring_poll(client.net, 0);
    }
    assert_int_equal(r.refused_code, CASTY_REFUSE_VERSION);
    assert_int_equal(b.last_refuse_code, CASTY_REFUSE_VERSION);
    assert_int_equal(b.ups, 0);
    casty_frame_decoder_free(&r.dec);
    casty_net_close(client.net, h);
    casty_net_uring_destroy(client.net);
    stop(&b);
}

static void test_simultaneous_dial(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        casty_transport_config ca, cb;
        tn_config(&ca, "test", 3);
        tn_config(&cb, "test", 4);
        tnode a, b;
        start(&a, &ca);
        start(&b, &cb);
        casty_addr aa = tn_addr(&a), ab = tn_addr(&b);
        assert_int_equal(casty_transport_add_peer(a.t, 4, &ab), 0);
        assert_int_equal(casty_transport_add_peer(b.t, 3, &aa), 0);
        tnode *nodes[] = {&a, &b};
        struct two w = {&a, &b, 100};
        assert_true(pump(nodes, 2, both_up, &w, CT_WAIT_MS));
        settle(nodes, 2, 100);
        /* One connection per pair: each side came up exactly once and stayed up. */
        assert_int_equal(a.ups, 1);
        assert_int_equal(b.ups, 1);
        assert_int_equal(a.downs + b.downs, 0);
        for (uint64_t i = 0; i < 100; i++) {
            send_seq(&a, 4, i, 0);
            send_seq(&b, 3, i, 0);
        }
        assert_true(pump(nodes, 2, both_got, &w, CT_WAIT_MS));
        assert_int_equal(a.out_of_order + b.out_of_order, 0);
        stop(&a);
        stop(&b);
    }
}

static int a_down(void *arg)
{
    return ((struct two *)arg)->a->downs > 0;
}

static int a_up_twice(void *arg)
{
    return ((struct two *)arg)->a->ups >= 2;
}

static void test_reconnect_after_restart(void **state)
{
    (void)state;
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    connect_pair(&a, &b);
    casty_addr ab = tn_addr(&b);
    stop(&b);
    tnode *nodes[] = {&a, &b};
    struct two w = {&a, &b, 0};
    assert_true(pump(nodes, 2, a_down, &w, CT_WAIT_MS));
    /* Frames sent while the peer is away wait in the queue for the next connection. */
    for (uint64_t i = 0; i < 10; i++)
        send_seq(&a, 2, i, 0);
    settle(nodes, 2, 30); /* a few failed redials, with backoff */
    cb.listen = ab;
    cb.incarnation = 2;
    start(&b, &cb);
    assert_true(pump(nodes, 2, a_up_twice, &w, CT_WAIT_MS));
    assert_int_equal(a.last_up_inc, 2);
    w.n = 10;
    assert_true(pump(nodes, 2, b_got, &w, CT_WAIT_MS));
    assert_int_equal(b.frames, 10);
    assert_int_equal(b.out_of_order, 0);
    casty_transport_stats st;
    casty_transport_stats_get(a.t, &st);
    assert_true(st.reconnects >= 1);
    stop(&a);
    stop(&b);
}

static int a_writable(void *arg)
{
    return ((struct two *)arg)->a->writable > 0;
}

static void test_backpressure_when_peer_stops_reading(void **state)
{
    (void)state;
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    ca.queue_bytes = 256u << 10;
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    connect_pair(&a, &b);
    assert_int_equal(casty_transport_pause(b.t, 1, true), 0);
    tnode *nodes[] = {&a, &b};
    uint8_t payload[1024];
    memset(payload, 0xab, sizeof(payload));
    uint64_t sent = 0;
    int eagain = 0;
    uint64_t deadline = ct_now_ns() + (uint64_t)CT_WAIT_MS * 1000000u;
    /* Fill the kernel's socket buffers and then our bounded queue. */
    while (!eagain && ct_now_ns() < deadline) {
        tn_put64(payload, sent);
        int rc = casty_transport_send(a.t, 2, TN_SEQ_TYPE, 0, payload, sizeof(payload));
        if (rc == -EAGAIN) {
            eagain = 1;
            break;
        }
        assert_int_equal(rc, 0);
        sent++;
        if (sent % 64 == 0)
            settle(nodes, 2, 1);
    }
    assert_true(eagain);
    uint64_t received_while_paused = b.frames;
    settle(nodes, 2, 50);
    /* Paused: nothing more is delivered, and memory is bounded by the queue. */
    assert_true(b.frames <= received_while_paused + 64);
    assert_int_equal(casty_transport_pause(b.t, 1, false), 0);
    struct two w = {&a, &b, sent};
    assert_true(pump(nodes, 2, a_writable, &w, CT_WAIT_MS));
    assert_true(pump(nodes, 2, b_got, &w, CT_WAIT_MS));
    assert_int_equal(b.frames, sent);
    assert_int_equal(b.out_of_order, 0);
    stop(&a);
    stop(&b);
}

static int b_big(void *arg)
{
    return ((struct two *)arg)->b->big_seen;
}

static void test_control_lane_overtakes_large_message(void **state)
{
    (void)state;
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    connect_pair(&a, &b);
    uint32_t big_len = 8u << 20;
    uint8_t *big = malloc(big_len);
    for (uint32_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(casty_transport_send(a.t, 2, TN_BIG_TYPE, 0, big, big_len), 0);
    tnode *nodes[] = {&a, &b};
    /* Let the large message start moving, then send a small control frame. */
    settle(nodes, 2, 1);
    assert_int_equal(casty_transport_send(a.t, 2, TN_CTRL_TYPE, CASTY_SEND_CONTROL, "c", 1), 0);
    struct two w = {&a, &b, 2};
    assert_true(pump(nodes, 2, b_big, &w, CT_WAIT_MS));
    assert_true(pump(nodes, 2, b_got, &w, CT_WAIT_MS));
    assert_int_equal(b.control_before_data, 1);
    assert_int_equal(b.out_of_order, 0); /* the 8 MiB pattern arrived intact */
    assert_int_equal(b.order[0], TN_CTRL_TYPE);
    assert_int_equal(b.order[1], TN_BIG_TYPE);
    free(big);
    stop(&a);
    stop(&b);
}

/*
 * A proxy between A and B that flips one payload byte of the k-th application
 * frame A sends, fixing the checksum so that only the MAC can catch it.
 */
struct proxy {
    casty_net *net;
    int listener, from_a, to_b;
    casty_addr b;
    casty_frame_decoder dec;
    int frames_after_hs;
    int tamper_at;
    uint8_t buf[1 << 16];
    uint8_t outa[1 << 16];
    uint32_t outa_len;
    bool busy_b, busy_a;
};

static void proxy_to_b(struct proxy *p, const uint8_t *data, uint32_t len);

static void proxy_event(void *user, const casty_net_event *ev)
{
    struct proxy *p = user;
    switch (ev->kind) {
    case CASTY_NET_ACCEPT:
        p->from_a = ev->conn;
        p->to_b = casty_net_connect(p->net, &p->b, proxy_event, p);
        break;
    case CASTY_NET_RECV:
        if (ev->handle == p->from_a) {
            proxy_to_b(p, ev->data, ev->len);
        } else {
            /* B -> A: pass through untouched. */
            memcpy(p->outa, ev->data, ev->len);
            struct iovec iov = {p->outa, ev->len};
            casty_net_send(p->net, p->from_a, &iov, 1, 0);
        }
        break;
    case CASTY_NET_CONNECT:
    case CASTY_NET_CLOSED:
    case CASTY_NET_SENT:
    case CASTY_NET_DGRAM:
    case CASTY_NET_TIMER:
        break;
    }
}

static void proxy_to_b(struct proxy *p, const uint8_t *data, uint32_t len)
{
    uint32_t out = 0;
    while (len) {
        size_t used;
        casty_frame f;
        int rc = casty_frame_decode(&p->dec, data, len, &used, &f);
        data += used;
        len -= (uint32_t)used;
        if (rc <= 0)
            break;
        uint32_t size = CASTY_FRAME_HDR + f.len + (f.mac ? CASTY_FRAME_MAC_LEN : 0);
        uint8_t *fr = p->buf + out;
        memcpy(fr, f.payload - CASTY_FRAME_HDR, size);
        if (f.type >= CASTY_FRAME_APP_MIN && ++p->frames_after_hs == p->tamper_at && f.len > 8) {
            fr[CASTY_FRAME_HDR + 8] ^= 0x40; /* not the sequence number: a silent corruption */
            casty_frame_header(fr, f.type, f.flags, fr + CASTY_FRAME_HDR, f.len);
        }
        out += size;
    }
    if (out) {
        struct iovec iov = {p->buf, out};
        casty_net_send(p->net, p->to_b, &iov, 1, 0);
    }
}

static void tamper_case(const uint8_t *key, int tamper_at, uint64_t *mac_failures,
                        uint64_t *received, int *downs)
{
    casty_transport_config ca, cb;
    tn_config(&ca, "test", 1);
    tn_config(&cb, "test", 2);
    ca.key = cb.key = key;
    tnode a, b;
    start(&a, &ca);
    start(&b, &cb);
    struct proxy *p = calloc(1, sizeof(*p));
    p->net = new_net();
    p->b = tn_addr(&b);
    p->tamper_at = tamper_at;
    assert_int_equal(casty_frame_decoder_init(&p->dec, 0), 0);
    casty_addr any = {.ip = 0x7f000001u, .port = 0};
    p->listener = casty_net_listen(p->net, &any, proxy_event, p);
    casty_addr pa;
    casty_net_local_addr(p->net, p->listener, &pa);
    assert_int_equal(casty_transport_add_peer(a.t, 2, &pa), 0);
    tnode *nodes[] = {&a, &b};
    uint64_t deadline = ct_now_ns() + (uint64_t)CT_WAIT_MS * 1000000u;
    struct two w = {&a, &b, 0};
    while (!both_up(&w) && ct_now_ns() < deadline) {
        settle(nodes, 2, 1);
        casty_net_uring_poll(p->net, 0);
    }
    assert_true(both_up(&w));
    for (uint64_t i = 0; i < 10; i++) {
        send_seq(&a, 2, i, 0);
        settle(nodes, 2, 1); /* one frame per batch: the proxy sees them one by one */
        casty_net_uring_poll(p->net, 0);
    }
    deadline = ct_now_ns() + 300000000ull;
    while (ct_now_ns() < deadline) {
        settle(nodes, 2, 1);
        casty_net_uring_poll(p->net, 0);
    }
    casty_transport_stats sb;
    casty_transport_stats_get(b.t, &sb);
    *mac_failures = sb.mac_failures;
    *received = b.frames;
    *downs = b.downs;
    casty_frame_decoder_free(&p->dec);
    stop(&a);
    stop(&b);
    casty_net_uring_destroy(p->net);
    free(p);
}

static void test_tampered_frame_dropped_and_counted(void **state)
{
    (void)state;
    uint64_t macf, got;
    int downs;
    /* With a key: the flipped frame fails its tag, is dropped and counted; the rest arrive. */
    tamper_case(KEY_A, 5, &macf, &got, &downs);
    assert_int_equal(macf, 1);
    assert_int_equal(got, 9);
    assert_int_equal(downs, 0);
    /* Control: the same proxy without tampering changes nothing. */
    tamper_case(KEY_A, 0, &macf, &got, &downs);
    assert_int_equal(macf, 0);
    assert_int_equal(got, 10);
    /* Without a key the checksum was fixed up, so the corruption reaches the user: the MAC is the defence. */
    tamper_case(NULL, 5, &macf, &got, &downs);
    assert_int_equal(macf, 0);
    assert_int_equal(got, 10);
}

/* ---- a million frames each way, one thread per node ---- */

#define MILLION (1000000u / CASTY_TEST_SCALE)

struct side {
    uint64_t id, peer;
    casty_addr listen;
    casty_addr *peer_addr;
    pthread_barrier_t *ready;
    _Atomic int *done; /* sides that received everything */
    casty_addr *publish;
    uint64_t received, out_of_order, eagains;
    casty_transport_stats st;
};

static void *side_main(void *arg)
{
    struct side *s = arg;
    casty_transport_config cfg;
    tn_config(&cfg, "million", s->id);
    tnode n;
    casty_net *net = NULL;
    if (casty_net_uring_create(NULL, &net) != 0)
        return NULL;
    if (tn_start(&n, net, &cfg) != 0)
        return NULL;
    *s->publish = tn_addr(&n);
    pthread_barrier_wait(s->ready);
    if (s->id == 1)
        casty_transport_add_peer(n.t, s->peer, s->peer_addr);
    uint64_t sent = 0;
    bool counted = false;
    uint64_t deadline = ct_now_ns() + 120000000000ull;
    /* Both keep polling until both have everything: a side's queue drains only while it polls. */
    while (atomic_load(s->done) < 2 && ct_now_ns() < deadline) {
        if (!counted && n.frames >= MILLION) {
            counted = true;
            atomic_fetch_add(s->done, 1);
        }
        if (casty_transport_connected(n.t, s->peer)) {
            for (int burst = 0; burst < 4096 && sent < MILLION; burst++) {
                uint8_t p[16];
                tn_put64(p, sent);
                tn_put64(p + 8, ~sent);
                int rc = casty_transport_send(n.t, s->peer, TN_SEQ_TYPE, 0, p, sizeof(p));
                if (rc == -EAGAIN) {
                    s->eagains++;
                    break;
                }
                if (rc == 0)
                    sent++;
            }
        }
        casty_transport_flush(n.t);
        casty_net_uring_poll(net, 0);
    }
    s->received = n.frames;
    s->out_of_order = n.out_of_order;
    casty_transport_stats_get(n.t, &s->st);
    pthread_barrier_wait(s->ready);
    casty_transport_destroy(n.t);
    casty_net_uring_destroy(net);
    return NULL;
}

static void test_million_frames_each_way(void **state)
{
    (void)state;
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, 2);
    casty_addr addr_a = {0}, addr_b = {0};
    _Atomic int done = 0;
    struct side a = {.id = 1,
                     .peer = 2,
                     .peer_addr = &addr_b,
                     .ready = &ready,
                     .publish = &addr_a,
                     .done = &done};
    struct side b = {.id = 2,
                     .peer = 1,
                     .peer_addr = &addr_a,
                     .ready = &ready,
                     .publish = &addr_b,
                     .done = &done};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, side_main, &a);
    pthread_create(&tb, NULL, side_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&ready);
    /* Every frame, once, in order: a sequence check catches loss, duplicates and reordering. */
    assert_int_equal(a.received, MILLION);
    assert_int_equal(b.received, MILLION);
    assert_int_equal(a.out_of_order + b.out_of_order, 0);
    assert_int_equal(a.st.lost_in_flight + b.st.lost_in_flight, 0);
    print_message("million: A sent %llu frames in %llu sends (%.1f frames/send)\n",
                  (unsigned long long)a.st.frames_sent, (unsigned long long)a.st.sends,
                  (double)a.st.frames_sent / (double)(a.st.sends ? a.st.sends : 1));
}

static void test_argument_validation(void **state)
{
    (void)state;
    casty_net *net = new_net();
    casty_transport_config cfg;
    casty_transport_callbacks cb = {.on_frame = tn_on_frame};
    casty_transport *t = NULL;
    tn_config(&cfg, "test", 1);
    assert_int_equal(casty_transport_create(NULL, &cfg, &cb, &t), -EINVAL);
    assert_int_equal(casty_transport_create(net, NULL, &cb, &t), -EINVAL);
    assert_int_equal(casty_transport_create(net, &cfg, NULL, &t), -EINVAL);
    assert_int_equal(casty_transport_create(net, &cfg, &cb, NULL), -EINVAL);
    cfg.node_id = 0;
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), -EINVAL);
    tn_config(&cfg, "", 1);
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), -EINVAL);
    tn_config(&cfg, "has space", 1);
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), -EINVAL);
    tn_config(&cfg, "test", 1);
    cfg.backoff_jitter_pct = 101;
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), -EINVAL);
    tn_config(&cfg, "test", 1);
    cfg.key = KEY_A;
    cfg.nonces_from_seed = true; /* predictable nonces with a key: refused */
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), -EINVAL);
    tn_config(&cfg, "test", 1);
    assert_int_equal(casty_transport_create(net, &cfg, &cb, &t), 0);
    casty_addr any = {.ip = 0x7f000001u, .port = 1};
    assert_int_equal(casty_transport_add_peer(t, 1, &any), -EINVAL); /* itself */
    assert_int_equal(casty_transport_add_peer(t, 2, NULL), -EINVAL);
    assert_int_equal(casty_transport_send(t, 2, TN_PLAIN_TYPE, 0, "x", 1), -ENOTCONN);
    assert_int_equal(casty_transport_add_peer(t, 2, &any), 0);
    assert_int_equal(casty_transport_send(t, 2, 5, 0, "x", 1), -EINVAL); /* not an app type */
    assert_int_equal(casty_transport_send(t, 2, TN_PLAIN_TYPE, 0x80, "x", 1), -EINVAL);
    assert_int_equal(casty_transport_send(t, 2, TN_PLAIN_TYPE, 0, NULL, 1), -EINVAL);
    assert_int_equal(casty_transport_send(t, 2, TN_PLAIN_TYPE, 0, "x", (16u << 20) + 1), -EMSGSIZE);
    static uint8_t big[70000];
    assert_int_equal(
        casty_transport_send(t, 2, TN_PLAIN_TYPE, CASTY_SEND_CONTROL, big, sizeof(big)), -EMSGSIZE);
    assert_int_equal(casty_transport_remove_peer(t, 2), 0);
    assert_int_equal(casty_transport_remove_peer(t, 2), -ENOENT);
    casty_transport_destroy(t);
    casty_net_uring_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_and_batching),
        cmocka_unit_test(test_seed_learns_node_id),
        cmocka_unit_test(test_refuse_cluster_name),
        cmocka_unit_test(test_refuse_node_id_clash),
        cmocka_unit_test(test_refuse_missing_key),
        cmocka_unit_test(test_refuse_wrong_key),
        cmocka_unit_test(test_keyed_exchange),
        cmocka_unit_test(test_refuse_version),
        cmocka_unit_test(test_simultaneous_dial),
        cmocka_unit_test(test_reconnect_after_restart),
        cmocka_unit_test(test_backpressure_when_peer_stops_reading),
        cmocka_unit_test(test_control_lane_overtakes_large_message),
        cmocka_unit_test(test_tampered_frame_dropped_and_counted),
        cmocka_unit_test(test_million_frames_each_way),
        cmocka_unit_test(test_argument_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
