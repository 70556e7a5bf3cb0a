/*
 * SWIM on the simulated network: a few focused scenarios with fixed seeds
 * (tests/sim/swim_sim.c runs the seeded random ones at scale). Joins
 * converge; a crash is declared DEAD by every survivor within the Lifeguard
 * bound; a node whose datagrams cannot get out for a moment (a one-way
 * partition) is suspected, refutes, and is never declared dead; a graceful
 * leave is LEFT everywhere, never DEAD, with no suspicion timer; the same
 * seed gives the same event trace. Profile: casty_swim_config_default.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/swim.h"
#include "io/net_sim.h"
#include "support/casty_test.h"

#define MS    1000000ull
#define SEC   1000000000ull
#define MAX   8
#define PORT  7000
#define SLICE (10 * MS)

typedef struct cluster cluster;

/* One node and what its callbacks reported, per member index. */
typedef struct node {
    cluster *c;
    int i;
    casty_net *net;
    casty_swim *sw;
    int alive[MAX], suspect[MAX], dead[MAX], left[MAX];
    int local_susp[MAX], timers[MAX];
    uint64_t dead_at[MAX], inc[MAX];
    int refutes;
    bool inc_went_down;
} node;

struct cluster {
    casty_sim *sim;
    casty_swim_config cfg;
    node n[MAX];
    int count, joined, left_done;
};

static uint32_t ip_of(int i)
{
    return 0x0a000001u + (uint32_t)i;
}

/* Member id i + 1 <-> index i; anything else is a bug in the test. */
static int idx_of(uint64_t id)
{
    assert_true(id >= 1 && id <= MAX);
    return (int)id - 1;
}

static void on_member(void *user, const casty_swim_member *m, casty_member_state old, uint64_t now)
{
    (void)old;
    node *o = user;
    int t = idx_of(m->id);
    if (m->incarnation < o->inc[t])
        o->inc_went_down = true;
    o->inc[t] = m->incarnation;
    switch (m->state) {
    case CASTY_MEMBER_ALIVE:
        o->alive[t]++;
        break;
    case CASTY_MEMBER_SUSPECT:
        o->suspect[t]++;
        break;
    case CASTY_MEMBER_DEAD:
        o->dead[t]++;
        o->dead_at[t] = now;
        break;
    case CASTY_MEMBER_LEFT:
        o->left[t]++;
        break;
    }
}

static void on_local_suspect(void *user, uint64_t member, uint64_t now)
{
    (void)now;
    ((node *)user)->local_susp[idx_of(member)]++;
}

static void on_suspect_timer(void *user, uint64_t member, uint64_t now)
{
    (void)now;
    ((node *)user)->timers[idx_of(member)]++;
}

static void on_refute(void *user, uint64_t now)
{
    (void)now;
    ((node *)user)->refutes++;
}

static void on_joined(void *user, int rc)
{
    if (rc == 0)
        ((cluster *)user)->joined++;
}

static void on_left(void *user, int rc)
{
    assert_int_equal(rc, 0);
    ((cluster *)user)->left_done++;
}

static void node_start(cluster *c, int i, uint64_t seed)
{
    node *nd = &c->n[i];
    memset(nd, 0, sizeof(*nd));
    nd->c = c;
    nd->i = i;
    assert_int_equal(casty_sim_node_add(c->sim, ip_of(i), &nd->net), 0);
    casty_swim_opts o = {.node_id = (uint64_t)i + 1,
                         .bind = {ip_of(i), PORT},
                         .cluster = "swim-sim-unit",
                         .config = c->cfg,
                         .seed = seed * 31 + (uint64_t)i + 1};
    o.events = (casty_swim_events){.user = nd,
                                   .on_member = on_member,
                                   .on_local_suspect = on_local_suspect,
                                   .on_suspect_timer = on_suspect_timer,
                                   .on_refute = on_refute};
    assert_int_equal(casty_swim_create(nd->net, &o, &nd->sw), 0);
}

/* n nodes on one world; all but node 0 join through it at the same instant. */
static void start(cluster *c, int n, uint64_t seed, const casty_sim_link *link)
{
    memset(c, 0, sizeof(*c));
    c->count = n;
    casty_swim_config_default(&c->cfg);
    assert_int_equal(casty_sim_create(&c->sim, seed, link), 0);
    for (int i = 0; i < n; i++)
        node_start(c, i, seed);
    casty_addr seed_addr = {ip_of(0), PORT};
    for (int i = 1; i < n; i++)
        assert_int_equal(casty_swim_join(c->n[i].sw, &seed_addr, 1, on_joined, c), 0);
}

static void stop(cluster *c)
{
    for (int i = 0; i < c->count; i++)
        casty_swim_destroy(c->n[i].sw);
    casty_sim_destroy(c->sim);
}

/* Silent crash: SWIM stops, the host vanishes (abrupt) or just its process dies. */
static void crash(cluster *c, int i, bool abrupt)
{
    casty_swim_destroy(c->n[i].sw);
    c->n[i].sw = NULL;
    casty_sim_node_kill(c->n[i].net, abrupt);
    c->n[i].net = NULL;
}

/* Every running node's view is exactly the running set (alive or suspect). */
static bool converged(cluster *c)
{
    uint32_t running = 0;
    for (int i = 0; i < c->count; i++)
        running += c->n[i].sw != NULL;
    for (int x = 0; x < c->count; x++) {
        if (!c->n[x].sw)
            continue;
        if (casty_swim_view_size(c->n[x].sw) != running)
            return false;
        for (int y = 0; y < c->count; y++) {
            casty_swim_member m;
            int rc = casty_swim_member_get(c->n[x].sw, (uint64_t)y + 1, &m);
            bool in = rc == 0 && m.state <= CASTY_MEMBER_SUSPECT;
            if (in != (c->n[y].sw != NULL))
                return false;
        }
    }
    return true;
}

/* Run until every view is exact; the virtual ns it took, or UINT64_MAX after `bound`. */
static uint64_t run_until_converged(cluster *c, uint64_t bound)
{
    uint64_t t0 = casty_sim_now(c->sim);
    while (!converged(c)) {
        if (casty_sim_now(c->sim) - t0 > bound)
            return UINT64_MAX;
        casty_sim_run_for(c->sim, SLICE);
    }
    return casty_sim_now(c->sim) - t0;
}

/*
 * The crash bound of tests/sim/swim_sim.c: a probe round (N intervals, at
 * most 10), plus Lifeguard's longest suspicion (suspicion_mult x
 * suspicion_max_mult x max(1, log10 N) probe intervals), plus dissemination
 * (10 gossip rounds and 2 probe intervals).
 */
static uint64_t detect_bound(const casty_swim_config *c, int n)
{
    double lg = log10((double)n) > 1.0 ? log10((double)n) : 1.0;
    uint64_t susp_max = (uint64_t)((double)c->suspicion_mult * (double)c->suspicion_max_mult * lg *
                                   (double)c->probe_interval_ns);
    uint64_t rounds = n < 10 ? (uint64_t)n : 10;
    return (rounds + 1) * c->probe_interval_ns + susp_max + 10 * c->gossip_interval_ns +
           2 * c->probe_interval_ns;
}

static void test_three_nodes_join_and_converge(void **state)
{
    (void)state;
    cluster c;
    start(&c, 3, 1, NULL);
    /* No loss: the seed knows both at once and tells each about the other. */
    assert_true(run_until_converged(&c, 2 * SEC) <= 2 * SEC);
    assert_int_equal(c.joined, 2);
    for (int x = 0; x < 3; x++) {
        assert_int_equal(casty_swim_view_size(c.n[x].sw), 3);
        for (int y = 0; y < 3; y++) {
            casty_swim_member m;
            assert_int_equal(casty_swim_member_get(c.n[x].sw, (uint64_t)y + 1, &m), 0);
            assert_int_equal(m.state, CASTY_MEMBER_ALIVE);
            assert_int_equal(m.incarnation, 0);
            if (x != y)
                assert_int_equal(c.n[x].alive[y], 1); /* one join event, no flapping */
        }
    }
    stop(&c);
}

static void test_crash_detected_within_bound(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, 2, NULL);
    assert_true(run_until_converged(&c, 2 * SEC) <= 2 * SEC);
    casty_sim_run_for(c.sim, 2 * SEC); /* settle */
    uint64_t t_crash = casty_sim_now(c.sim);
    crash(&c, 3, true);
    uint64_t bound = detect_bound(&c.cfg, 5);
    casty_sim_run_for(c.sim, bound);
    int timers = 0;
    for (int x = 0; x < 5; x++) {
        if (x == 3)
            continue;
        node *o = &c.n[x];
        assert_int_equal(o->dead[3], 1);
        assert_true(o->dead_at[3] > t_crash);
        assert_true(o->dead_at[3] - t_crash <= bound);
        timers += o->timers[3];
        for (int y = 0; y < 5; y++)
            assert_int_equal(o->dead[y], y == 3); /* nobody else was declared dead */
        assert_false(o->inc_went_down);
    }
    assert_true(timers >= 1); /* someone's own suspicion expired; the rest may have heard it */
    assert_true(converged(&c));
    stop(&c);
}

static void test_one_way_partition_refutes_and_stays_alive(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, 3, NULL);
    assert_true(run_until_converged(&c, 2 * SEC) <= 2 * SEC);
    casty_sim_run_for(c.sim, 2 * SEC);
    /* Node 2 hears everything but nothing it sends gets out (the sender-side loss hook). */
    casty_swim_set_drop(c.n[2].sw, 1000000);
    uint64_t t0 = casty_sim_now(c.sim);
    int suspected = 0;
    while (!suspected) {
        assert_true(casty_sim_now(c.sim) - t0 < 20 * c.cfg.probe_interval_ns);
        casty_sim_run_for(c.sim, MS);
        for (int x = 0; x < 5; x++)
            suspected += c.n[x].local_susp[2];
    }
    /* Heal at the first suspicion, well before the shortest suspicion timeout. */
    casty_swim_set_drop(c.n[2].sw, 0);
    casty_sim_run_for(c.sim, detect_bound(&c.cfg, 5));
    assert_true(c.n[2].refutes >= 1);
    for (int x = 0; x < 5; x++) {
        if (x == 2)
            continue;
        assert_int_equal(c.n[x].dead[2], 0);
        assert_int_equal(c.n[x].timers[2], 0);
        casty_swim_member m;
        assert_int_equal(casty_swim_member_get(c.n[x].sw, 3, &m), 0);
        assert_int_equal(m.state, CASTY_MEMBER_ALIVE);
        assert_true(m.incarnation >= 1); /* the refutation raised it */
        assert_false(c.n[x].inc_went_down);
    }
    assert_true(converged(&c));
    stop(&c);
}

static void test_leave_seen_as_left_never_dead(void **state)
{
    (void)state;
    cluster c;
    start(&c, 5, 4, NULL);
    assert_true(run_until_converged(&c, 2 * SEC) <= 2 * SEC);
    casty_sim_run_for(c.sim, 2 * SEC);
    assert_int_equal(casty_swim_leave(c.n[1].sw, 5 * SEC, on_left, &c), 0);
    /* The process exits as soon as the leave is reported done. */
    uint64_t t0 = casty_sim_now(c.sim);
    while (!c.left_done) {
        assert_true(casty_sim_now(c.sim) - t0 < 5 * SEC);
        casty_sim_run_for(c.sim, MS);
    }
    crash(&c, 1, false);
    casty_sim_run_for(c.sim, detect_bound(&c.cfg, 5));
    for (int x = 0; x < 5; x++) {
        if (x == 1)
            continue;
        casty_swim_member m;
        assert_int_equal(casty_swim_member_get(c.n[x].sw, 2, &m), 0);
        assert_int_equal(m.state, CASTY_MEMBER_LEFT);
        assert_int_equal(c.n[x].left[1], 1);
        assert_int_equal(c.n[x].dead[1], 0);
        assert_int_equal(c.n[x].timers[1], 0);
        assert_int_equal(c.n[x].local_susp[1], 0);
    }
    assert_true(converged(&c));
    stop(&c);
}

/* A lossy, duplicating, reordering run with a crash and a leave; its trace hash. */
static uint64_t scenario_hash(uint64_t seed)
{
    casty_sim_link link = {.delay_min_ns = 100000,
                           .delay_max_ns = 3 * MS,
                           .loss_ppm = 100000,
                           .dup_ppm = 20000,
                           .reorder_ppm = 50000,
                           .reorder_max_ns = 2 * MS};
    cluster c;
    start(&c, 6, seed, &link);
    casty_sim_run_for(c.sim, 3 * SEC);
    crash(&c, 4, seed & 1);
    casty_sim_run_for(c.sim, 2 * SEC);
    assert_int_equal(casty_swim_leave(c.n[5].sw, 5 * SEC, NULL, NULL), 0);
    casty_sim_run_for(c.sim, 15 * SEC);
    uint64_t h = casty_sim_trace_hash(c.sim);
    stop(&c);
    return h;
}

static void test_same_seed_same_trace(void **state)
{
    (void)state;
    uint64_t a = scenario_hash(42);
    assert_int_equal(a, scenario_hash(42));
    assert_int_not_equal(a, scenario_hash(43));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_nodes_join_and_converge),
        cmocka_unit_test(test_crash_detected_within_bound),
        cmocka_unit_test(test_one_way_partition_refutes_and_stays_alive),
        cmocka_unit_test(test_leave_seen_as_left_never_dead),
        cmocka_unit_test(test_same_seed_same_trace),
    };
    return cmocka_run_group_tests_name("cluster/swim_sim", tests, NULL, NULL);
}
