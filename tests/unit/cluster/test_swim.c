/*
 * SWIM: its wire codecs, and the protocol on the simulated network (virtual
 * time, so protocol seconds cost microseconds): join, graceful leave, crash
 * and restart with refutation, the shared key keeping outsiders out, and
 * argument checks.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/swim.h"
#include "cluster/swim_wire.h"
#include "io/net_sim.h"
#include "support/casty_test.h"

#define MS  1000000ull
#define MAX 8

static const uint8_t KEY[32] = {4, 5, 6};
static const uint8_t OTHER_KEY[32] = {7, 7, 7};

/* ---- wire ---- */

static void test_packet_round_trip_and_rejections(void **state)
{
    (void)state;
    sw_msg in[] = {
        {.type = SW_PING, .seq = 7, .id = 42},
        {.type = SW_ACK, .seq = 8},
        {.type = SW_NACK, .seq = 9},
        {.type = SW_PING_REQ, .seq = 10, .id = 43, .addr = {0x0a000001u, 7000}},
        {.type = SW_ALIVE, .id = 44, .inc = 3, .addr = {0x0a000002u, 7001}},
        {.type = SW_SUSPECT, .id = 45, .inc = 4, .from = 46},
        {.type = SW_DEAD, .id = 47, .inc = 5, .from = 47},
    };
    uint8_t buf[512];
    uint32_t off = SW_HDR;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        off += casty__sw_msg_put(&in[i], buf + off, sizeof(buf) - off);
    casty__sw_hdr_put(buf, 0, 7, 0xabcdef01u, 99);
    sw_packet p;
    assert_int_equal(casty__sw_packet_parse(buf, off, false, &p), 0);
    assert_int_equal(p.count, 7);
    assert_int_equal(p.cluster, 0xabcdef01u);
    assert_int_equal(p.from, 99);
    uint32_t at = 0;
    for (size_t i = 0; i < 7; i++) {
        sw_msg m;
        assert_int_equal(casty__sw_msg_next(&p, &at, &m), 0);
        assert_int_equal(m.type, in[i].type);
        assert_int_equal(m.seq, in[i].seq);
        assert_int_equal(m.id, in[i].id);
        assert_int_equal(m.inc, in[i].inc);
        assert_int_equal(m.from, in[i].from);
        assert_int_equal(m.addr.ip, in[i].addr.ip);
        assert_int_equal(m.addr.port, in[i].addr.port);
    }
    /* Every truncation, a trailing byte, a wrong count, an unknown type, a keyed mismatch. */
    for (uint32_t len = 0; len < off; len++)
        assert_int_equal(casty__sw_packet_parse(buf, len, false, &p), -EBADMSG);
    assert_int_equal(casty__sw_packet_parse(buf, off + 1, false, &p), -EBADMSG);
    buf[3] = 8;
    assert_int_equal(casty__sw_packet_parse(buf, off, false, &p), -EBADMSG);
    buf[3] = 7;
    buf[SW_HDR] = 99;
    assert_int_equal(casty__sw_packet_parse(buf, off, false, &p), -EBADMSG);
    buf[SW_HDR] = SW_PING;
    assert_int_equal(casty__sw_packet_parse(buf, off, true, &p), -EBADMSG); /* no MAC flag */
    buf[0] = 0;
    assert_int_equal(casty__sw_packet_parse(buf, off, false, &p), -EBADMSG);
}

static void test_state_body_rejections(void **state)
{
    (void)state;
    uint8_t b[SW_STATE_HDR + 2 * SW_STATE_ENTRY];
    casty_swim_member a = {.id = 1, .addr = {1, 2}, .incarnation = 3, .state = CASTY_MEMBER_LEFT};
    casty__sw_state_hdr_put(b, 1, 2);
    casty__sw_state_entry_put(b + SW_STATE_HDR, &a);
    a.id = 2;
    a.state = CASTY_MEMBER_ALIVE;
    casty__sw_state_entry_put(b + SW_STATE_HDR + SW_STATE_ENTRY, &a);
    uint8_t flags;
    assert_int_equal(casty__sw_state_parse(b, sizeof(b), false, &flags), 2);
    assert_int_equal(flags, 1);
    casty_swim_member out;
    casty__sw_state_entry_get(b, 0, &out);
    assert_int_equal(out.id, 1);
    assert_int_equal(out.state, CASTY_MEMBER_LEFT);
    assert_int_equal(out.incarnation, 3);
    assert_int_equal(casty__sw_state_parse(b, sizeof(b) - 1, false, &flags), -EBADMSG);
    b[SW_STATE_HDR + 16] = 4; /* no such state */
    assert_int_equal(casty__sw_state_parse(b, sizeof(b), false, &flags), -EBADMSG);
    b[SW_STATE_HDR + 16] = 0;
    b[SW_STATE_HDR + 26] = 1; /* reserved byte */
    assert_int_equal(casty__sw_state_parse(b, sizeof(b), false, &flags), -EBADMSG);
    b[SW_STATE_HDR + 26] = 0;
    b[0] = 2; /* unknown flag */
    assert_int_equal(casty__sw_state_parse(b, sizeof(b), false, &flags), -EBADMSG);
}

/* ---- protocol on the simulator ---- */

typedef struct obs {
    int index;
    int alive[MAX + 1], dead[MAX + 1], left[MAX + 1];
    int susp_timers, refutes;
    uint64_t first_suspect_ns, first_dead_ns; /* this observer's first local suspicion / DEAD */
} obs;

typedef struct cluster {
    casty_sim *sim;
    casty_net *net[MAX];
    casty_swim *sw[MAX];
    obs o[MAX];
    int n;
    int joined, leave_rc;
} cluster;

static void on_member(void *user, const casty_swim_member *m, casty_member_state old, uint64_t now)
{
    (void)old;
    (void)now;
    obs *o = user;
    if (m->id > MAX)
        return;
    if (m->state == CASTY_MEMBER_ALIVE)
        o->alive[m->id]++;
    if (m->state == CASTY_MEMBER_DEAD) {
        o->dead[m->id]++;
        if (!o->first_dead_ns)
            o->first_dead_ns = now;
    }
    if (m->state == CASTY_MEMBER_LEFT)
        o->left[m->id]++;
}

static void on_local_suspect(void *user, uint64_t member, uint64_t now)
{
    (void)member;
    obs *o = user;
    if (!o->first_suspect_ns)
        o->first_suspect_ns = now;
}

static void on_timer(void *user, uint64_t member, uint64_t now)
{
    (void)member;
    (void)now;
    ((obs *)user)->susp_timers++;
}

static void on_refute(void *user, uint64_t now)
{
    (void)now;
    ((obs *)user)->refutes++;
}

static void on_joined(void *user, int rc)
{
    cluster *c = user;
    if (rc == 0)
        c->joined++;
}

static void on_left(void *user, int rc)
{
    ((cluster *)user)->leave_rc = rc;
}

static uint32_t ip_of(int i)
{
    return 0x0a000001u + (uint32_t)i;
}

static int node_start(cluster *c, int i, const uint8_t *key)
{
    casty_swim_opts o = {.node_id = (uint64_t)i + 1,
                         .bind = {ip_of(i), 7000},
                         .cluster = "test",
                         .key = key,
                         .seed = (uint64_t)i + 11};
    casty_swim_config_lan(&o.config);
    c->o[i].index = i;
    o.events = (casty_swim_events){.user = &c->o[i],
                                   .on_member = on_member,
                                   .on_local_suspect = on_local_suspect,
                                   .on_suspect_timer = on_timer,
                                   .on_refute = on_refute};
    return casty_swim_create(c->net[i], &o, &c->sw[i]);
}

static void start(cluster *c, int n, const uint8_t *key)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    assert_int_equal(casty_sim_create(&c->sim, 5, NULL), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(casty_sim_node_add(c->sim, ip_of(i), &c->net[i]), 0);
        assert_int_equal(node_start(c, i, key), 0);
    }
    casty_addr seed = {ip_of(0), 7000};
    for (int i = 1; i < n; i++)
        assert_int_equal(casty_swim_join(c->sw[i], &seed, 1, on_joined, c), 0);
}

static void run_ms(cluster *c, uint64_t ms)
{
    casty_sim_run_for(c->sim, ms * MS);
}

static bool converged(cluster *c, uint32_t want)
{
    for (int i = 0; i < c->n; i++)
        if (c->sw[i] && casty_swim_view_size(c->sw[i]) != want)
            return false;
    return true;
}

static void stop(cluster *c)
{
    for (int i = 0; i < c->n; i++)
        casty_swim_destroy(c->sw[i]);
    casty_sim_destroy(c->sim);
}

static void test_join_then_graceful_leave(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, NULL);
    run_ms(&c, 1000);
    assert_int_equal(c.joined, 4);
    assert_true(converged(&c, 5));
    c.leave_rc = 1;
    assert_int_equal(casty_swim_leave(c.sw[3], 5000 * MS, on_left, &c), 0);
    assert_int_equal(casty_swim_leave(c.sw[3], 5000 * MS, on_left, &c), -EALREADY);
    run_ms(&c, 1000);
    assert_int_equal(c.leave_rc, 0);
    casty_swim_destroy(c.sw[3]);
    c.sw[3] = NULL;
    run_ms(&c, 30000);
    /* Seen as left (not dead) by all, and nobody needed a suspicion timer for it. */
    for (int i = 0; i < 5; i++) {
        if (i == 3)
            continue;
        assert_int_equal(c.o[i].left[4], 1);
        assert_int_equal(c.o[i].dead[4], 0);
        assert_int_equal(c.o[i].susp_timers, 0);
        assert_int_equal(casty_swim_view_size(c.sw[i]), 4);
    }
    stop(&c);
}

static void test_crash_detected_and_restart_refutes(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, NULL);
    run_ms(&c, 1000);
    assert_true(converged(&c, 5));
    /* Silent crash of node 3 (id 3). */
    casty_swim_destroy(c.sw[2]);
    c.sw[2] = NULL;
    casty_sim_node_kill(c.net[2], true);
    /* Bound: a probe round, the ping-req timeout, the longest suspicion, some gossip. */
    run_ms(&c, 1000 + 4 * 6 * 1000 + 2000);
    for (int i = 0; i < 5; i++)
        if (i != 2)
            assert_int_equal(c.o[i].dead[3], 1);
    assert_true(converged(&c, 4));
    /* It comes back with no memory of its incarnation: the seed tells it it is dead, it refutes. */
    assert_int_equal(casty_sim_node_add(c.sim, ip_of(2), &c.net[2]), 0);
    memset(&c.o[2], 0, sizeof(c.o[2]));
    assert_int_equal(node_start(&c, 2, NULL), 0);
    casty_addr seed = {ip_of(0), 7000};
    assert_int_equal(casty_swim_join(c.sw[2], &seed, 1, on_joined, &c), 0);
    run_ms(&c, 3000);
    assert_true(c.o[2].refutes >= 1);
    assert_true(converged(&c, 5));
    casty_swim_member m;
    assert_int_equal(casty_swim_member_get(c.sw[0], 3, &m), 0);
    assert_int_equal(m.state, CASTY_MEMBER_ALIVE);
    assert_true(m.incarnation >= 1); /* raised above the dead one */
    stop(&c);
}

static void test_key_keeps_outsiders_out(void **state)
{
    (void)state;
    cluster c;
    start(&c, 3, KEY);
    run_ms(&c, 1000);
    assert_true(converged(&c, 3));
    /* An outsider with another key: its push-pull is refused, its datagrams dropped. */
    assert_int_equal(casty_sim_node_add(c.sim, ip_of(5), &c.net[5]), 0);
    c.n = 6;
    assert_int_equal(node_start(&c, 5, OTHER_KEY), 0);
    casty_addr seed = {ip_of(0), 7000};
    int joined = c.joined;
    assert_int_equal(casty_swim_join(c.sw[5], &seed, 1, on_joined, &c), 0);
    run_ms(&c, 10000);
    assert_int_equal(c.joined, joined);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(casty_swim_view_size(c.sw[i]), 3);
        assert_int_equal(c.o[i].alive[6], 0);
    }
    casty_swim_stats st;
    casty_swim_stats_get(c.sw[0], &st);
    assert_true(st.bad_packets >= 1);
    assert_int_equal(casty_swim_view_size(c.sw[5]), 1);
    stop(&c);
}

/*
 * Lifeguard's suspicion starts at suspicion_max_mult x the minimum and shrinks
 * with independent confirmations: with 8 members, others' failed probes
 * confirm, so the crashed member is dead long before the maximum (6 x 3.6 s).
 */
static void test_suspicion_shrinks_with_confirmations(void **state)
{
    (void)state;
    cluster c;
    start(&c, 8, NULL);
    run_ms(&c, 1000);
    assert_true(converged(&c, 8));
    casty_swim_destroy(c.sw[5]);
    c.sw[5] = NULL;
    casty_sim_node_kill(c.net[5], true);
    run_ms(&c, 40000);
    uint64_t suspect = UINT64_MAX, dead = UINT64_MAX;
    for (int i = 0; i < 8; i++) {
        if (i == 5)
            continue;
        if (c.o[i].first_suspect_ns && c.o[i].first_suspect_ns < suspect)
            suspect = c.o[i].first_suspect_ns;
        if (c.o[i].first_dead_ns && c.o[i].first_dead_ns < dead)
            dead = c.o[i].first_dead_ns;
        assert_int_equal(c.o[i].dead[6], 1);
    }
    assert_true(suspect != UINT64_MAX && dead != UINT64_MAX);
    double min_s = 4 * log10(8.0) * 1.0; /* suspicion_mult x log10(N) x probe interval (lan) */
    double took = (double)(dead - suspect) / 1e9;
    assert_true(took >= min_s * 0.99); /* never below the floor */
    assert_true(took < 2 * min_s);     /* far below the unconfirmed 6 x min */
    stop(&c);
}

/*
 * Local health: a node that cannot get anything out (all its datagrams
 * dropped) sees every probe fail with no nack, raises its multiplier, and so
 * probes less often; healthy again, the multiplier falls back to 0.
 */
static void test_health_multiplier_slows_a_sick_node(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, NULL);
    run_ms(&c, 3000);
    assert_true(converged(&c, 5));
    casty_swim_stats st;
    casty_swim_stats_reset(c.sw[1]);
    run_ms(&c, 10000);
    casty_swim_stats_get(c.sw[1], &st);
    uint64_t healthy_probes = st.probes;
    assert_int_equal(st.awareness, 0);
    casty_swim_set_drop(c.sw[1], 1000000);
    casty_swim_stats_reset(c.sw[1]);
    run_ms(&c, 10000);
    casty_swim_stats_get(c.sw[1], &st);
    assert_true(st.awareness >= 2);
    assert_true(st.probes * 2 < healthy_probes); /* stretched intervals: under half the probes */
    casty_swim_set_drop(c.sw[1], 0);
    run_ms(&c, 60000);
    casty_swim_stats_get(c.sw[1], &st);
    assert_int_equal(st.awareness, 0);
    stop(&c);
}

/*
 * Each rumour is sent a bounded number of times: once a converged cluster
 * has nothing new, its datagrams shrink back to bare pings and acks.
 */
static void test_rumours_stop_after_their_budget(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, NULL);
    run_ms(&c, 20000);
    assert_true(converged(&c, 5));
    for (int i = 0; i < 5; i++)
        casty_swim_stats_reset(c.sw[i]);
    run_ms(&c, 20000);
    for (int i = 0; i < 5; i++) {
        casty_swim_stats st;
        casty_swim_stats_get(c.sw[i], &st);
        assert_true(st.udp_sent > 0);
        /* Header 16 + a ping (13) or an ack (5): no rumour rides along any more. */
        assert_true(st.udp_bytes <= st.udp_sent * (SW_HDR + 13));
    }
    stop(&c);
}

static void test_argument_validation(void **state)
{
    (void)state;
    casty_sim *sim;
    casty_net *net;
    assert_int_equal(casty_sim_create(&sim, 1, NULL), 0);
    assert_int_equal(casty_sim_node_add(sim, ip_of(0), &net), 0);
    casty_swim_opts o = {.node_id = 1, .bind = {ip_of(0), 7000}, .cluster = "x"};
    casty_swim_config_default(&o.config);
    casty_swim *s;
    assert_int_equal(casty_swim_create(NULL, &o, &s), -EINVAL);
    assert_int_equal(casty_swim_create(net, NULL, &s), -EINVAL);
    assert_int_equal(casty_swim_create(net, &o, NULL), -EINVAL);
    o.node_id = 0;
    assert_int_equal(casty_swim_create(net, &o, &s), -EINVAL);
    o.node_id = 1;
    o.config.probe_timeout_ns = o.config.probe_interval_ns + 1;
    assert_int_equal(casty_swim_create(net, &o, &s), -EINVAL);
    casty_swim_config_default(&o.config);
    o.drop_ppm = 1000001;
    assert_int_equal(casty_swim_create(net, &o, &s), -EINVAL);
    o.drop_ppm = 0;
    o.cluster = "";
    assert_int_equal(casty_swim_create(net, &o, &s), -EINVAL);
    o.cluster = "x";
    assert_int_equal(casty_swim_create(net, &o, &s), 0);
    assert_int_equal(casty_swim_join(s, NULL, 1, NULL, NULL), -EINVAL);
    casty_addr a = {ip_of(1), 7000};
    assert_int_equal(casty_swim_join(s, &a, 0, NULL, NULL), -EINVAL);
    casty_swim_member m;
    assert_int_equal(casty_swim_member_get(s, 99, &m), -ENOENT);
    assert_int_equal(casty_swim_member_get(s, 1, &m), 0);
    assert_int_equal(casty_swim_view_size(s), 1);
    casty_swim_destroy(s);
    casty_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packet_round_trip_and_rejections),
        cmocka_unit_test(test_state_body_rejections),
        cmocka_unit_test(test_join_then_graceful_leave),
        cmocka_unit_test(test_crash_detected_and_restart_refutes),
        cmocka_unit_test(test_key_keeps_outsiders_out),
        cmocka_unit_test(test_suspicion_shrinks_with_confirmations),
        cmocka_unit_test(test_health_multiplier_slows_a_sick_node),
        cmocka_unit_test(test_rumours_stop_after_their_budget),
        cmocka_unit_test(test_argument_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
