/*
 * Sockets on a shard's own ring: an actor on shard 0 and one on shard 1 each
 * run a transport on their shard's net (io/uring.c embeds io/net_uring.c),
 * connect, and exchange sequenced frames. Every socket callback must run on
 * the owning shard's thread, driven by the shard loop (busy or asleep), and
 * the timers of the net must wake a sleeping shard.
 */
#include <errno.h>
#include <stdatomic.h>

#include "cluster/transport.h"
#include "core/shard.h"
#include "io/uring.h"
#include "support/casty_test.h"

#define FRAMES (20000u / CASTY_TEST_SCALE)
#define SEQ    40

CASTY_MESSAGE(Connect, uint16_t port);
CASTY_MESSAGE(Blast, uint32_t n);
CASTY_PROTOCOL(NodeMsg, Connect, Blast);

static struct {
    _Atomic uint16_t port[2];
    _Atomic uint64_t received[2];
    _Atomic uint64_t out_of_order;
    _Atomic uint64_t wrong_thread;
    _Atomic int ups[2];
    _Atomic int timer_fired;
    _Atomic int init_err;
} G;

typedef struct Node {
    int index;
    casty_shard *shard;
    casty_net *net;
    casty_transport *t;
    uint64_t next_seq;
} Node;

static void check_thread(Node *n)
{
    if (casty__tls_shard != n->shard)
        atomic_fetch_add(&G.wrong_thread, 1);
}

static void on_frame(void *user, uint64_t peer, uint8_t type, const uint8_t *p, uint32_t len)
{
    (void)peer;
    Node *n = user;
    check_thread(n);
    if (type != SEQ || len != 8)
        return;
    uint64_t seq = 0;
    memcpy(&seq, p, 8);
    if (seq != n->next_seq)
        atomic_fetch_add(&G.out_of_order, 1);
    n->next_seq = seq + 1;
    atomic_fetch_add(&G.received[n->index], 1);
}

static void on_peer(void *user, uint64_t peer, casty_peer_event ev, const casty_addr *addr,
                    uint64_t inc, int reason)
{
    (void)peer;
    (void)addr;
    (void)inc;
    (void)reason;
    Node *n = user;
    check_thread(n);
    if (ev == CASTY_PEER_UP)
        atomic_fetch_add(&G.ups[n->index], 1);
}

static void on_timer(void *user, const casty_net_event *ev)
{
    (void)ev;
    check_thread(user);
    atomic_store(&G.timer_fired, 1);
}

static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    (void)len;
    Node *n = state;
    n->index = *(const int *)arg;
    n->shard = casty__tls_shard;
    int err = 0;
    n->net = casty__io_net(&n->shard->io, &err);
    if (!n->net) {
        atomic_store(&G.init_err, err ? err : -EIO);
        return err ? err : -EIO;
    }
    casty_transport_config cfg = {.cluster = "shards",
                                  .node_id = (uint64_t)n->index + 1,
                                  .incarnation = 1,
                                  .listen = {.ip = 0x7f000001u}};
    casty_transport_callbacks cb = {.user = n, .on_frame = on_frame, .on_peer = on_peer};
    int rc = casty_transport_create(n->net, &cfg, &cb, &n->t);
    if (rc < 0) {
        atomic_store(&G.init_err, rc);
        return rc;
    }
    casty_addr a;
    casty_transport_local_addr(n->t, &a);
    atomic_store(&G.port[n->index], a.port);
    /* A net timer long after the traffic: it must wake the shard from its sleep. */
    if (n->index == 1)
        casty_net_timer(n->net, 300000000ull, on_timer, n, 0);
    return 0;
}

static void node_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    Node *n = state;
    casty_transport_destroy(n->t);
    n->t = NULL;
}

static int node(casty_ctx *ctx, Node *n, const casty_msg *msg)
{
    (void)ctx;
    switch ((enum NodeMsg_type)casty_type(msg)) {
    case CASTY_ID(Connect): {
        casty_addr to = {.ip = 0x7f000001u, .port = CASTY_AS(msg, Connect)->port};
        return casty_transport_add_peer(n->t, n->index == 0 ? 2 : 1, &to);
    }
    case CASTY_ID(Blast):
        for (uint64_t i = 0; i < CASTY_AS(msg, Blast)->n; i++) {
            int rc = casty_transport_send(n->t, n->index == 0 ? 2 : 1, SEQ, 0, &i, 8);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    return 0;
}
CASTY_ACTOR(node_actor, NodeMsg, Node, node, .init = node_init, .stop = node_stop);

static int both_ports(void *arg)
{
    (void)arg;
    return atomic_load(&G.port[0]) && atomic_load(&G.port[1]);
}

static int both_up(void *arg)
{
    (void)arg;
    return atomic_load(&G.ups[0]) && atomic_load(&G.ups[1]);
}

static int all_received(void *arg)
{
    (void)arg;
    return atomic_load(&G.received[0]) >= FRAMES && atomic_load(&G.received[1]) >= FRAMES;
}

static int timer_fired(void *arg)
{
    (void)arg;
    return atomic_load(&G.timer_fired);
}

static void test_transport_on_two_shards(void **state)
{
    (void)state;
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 2;
    casty_system *sys;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS)
        exit(77);
    assert_int_equal(rc, 0);
    NodeMsg_ref a, b;
    int ia = 0, ib = 1;
    assert_int_equal(casty_spawn(sys, &a, node_actor, "node-a", .placement = CASTY_PLACE_SHARD,
                                 .shard = 0, .arg = &ia, .arg_len = sizeof(ia)),
                     0);
    assert_int_equal(casty_spawn(sys, &b, node_actor, "node-b", .placement = CASTY_PLACE_SHARD,
                                 .shard = 1, .arg = &ib, .arg_len = sizeof(ib)),
                     0);
    assert_true(ct_wait_until(both_ports, NULL, CT_WAIT_MS));
    assert_int_equal(atomic_load(&G.init_err), 0);
    assert_int_equal(casty_tell(a, Connect, .port = atomic_load(&G.port[1])), 0);
    assert_true(ct_wait_until(both_up, NULL, CT_WAIT_MS));
    assert_int_equal(casty_tell(a, Blast, .n = FRAMES), 0);
    assert_int_equal(casty_tell(b, Blast, .n = FRAMES), 0);
    assert_true(ct_wait_until(all_received, NULL, CT_WAIT_MS));
    assert_int_equal(atomic_load(&G.out_of_order), 0);
    /* Idle shards sleep in io_uring; the net's timer bounds that sleep. */
    assert_true(ct_wait_until(timer_fired, NULL, CT_WAIT_MS));
    assert_int_equal(atomic_load(&G.wrong_thread), 0);
    assert_int_equal(atomic_load(&G.ups[0]), 1);
    assert_int_equal(atomic_load(&G.ups[1]), 1);
    assert_int_equal(casty_system_stop(sys), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_on_two_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
