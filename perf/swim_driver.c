/*
 * The SWIM harness driver (/work/shared/SWIM_HARNESS.md, sections 0-5): N
 * members of cluster/swim.h on real loopback sockets, so that Casty's figures
 * line up with the memberlist reference line for line (`grep '^swim '`).
 *
 * One process, one thread, one io_uring net holding every node's UDP and TCP
 * sockets and timers. Node i is n%02d (member id i + 1) and binds
 * 127.0.0.1:base+i; n00 is the seed, every other node joins through it only.
 * Each trial takes a fresh port block (base += N + 7) and a fresh net. The
 * loop polls the net with a 1 ms bound and reads the views after every poll,
 * so view-based times are good to about a millisecond; event times come from
 * the swim event callbacks (one observer context per node), stamped with
 * CLOCK_MONOTONIC when they are delivered.
 *
 *   converge  t0 just before the first join; ms (every view == N), pairs99_ms
 *             (sum of views >= 0.99 N^2), joins_returned_ms. Timeout --ctimeout.
 *   fail      converge (laggards re-join the seed every 3 s), settle 3 s, then
 *             casty_swim_destroy() a random non-seed victim (a silent crash).
 *   leave     the same, but the victim calls casty_swim_leave(5 s) and is
 *             destroyed when that reports; dead_timers_fired must be 0.
 *   load      converge, settle 5 s, reset counters, measure --secs; kernel
 *             cross-check from /proc/net/snmp (machine-wide: keep the box quiet).
 *   loss      converge without loss, settle 3 s, reset counters, sender-side
 *             loss (casty_swim_set_drop) for --secs, loss off, reconverge (30 s
 *             cap). False-positive counts and min_member_view cover the loss
 *             window AND the reconverge phase (a suspicion timer that fires just
 *             after the loss ends is still the loss's doing); udp_sent and
 *             udp_dropped are read when the loss is switched off.
 *
 *   usage: swim_driver --test converge|fail|leave|load|loss|all [--n 5,20,50]
 *          [--trials K] [--profile lan|local|casty] [--join concurrent|seq]
 *          [--loss 10,30] [--secs S] [--seed S] [--base PORT] [--ctimeout SEC]
 *          [--settle SEC]
 *   (--settle overrides the spec's settle time, 3 s or 5 s for load: for diagnosis only)
 *
 * Prints a "# " configuration line, then one `swim <test> impl=casty ...` line
 * per trial; times in ms with one decimal, -1 for "never reached".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/swim.h"
#include "harness.h"
#include "io/net_uring.h"

#define MS              1000000ull
#define SEC             (1000 * MS)
#define POLL_NS         (1 * MS)
#define REJOIN_NS       (3 * SEC)
#define FAIL_TIMEOUT_NS (120 * SEC)
#define LEAVE_NS        (5 * SEC)
#define RECONVERGE_NS   (30 * SEC)
#define SAMPLE_NS       (100 * MS)
#define NODES_MAX       256u
#define LIST_MAX        16u
#define NEVER           UINT64_MAX

typedef struct trial trial;

/* One node and the observer context its events arrive with. */
typedef struct obs {
    trial *t;
    uint32_t idx;
    casty_swim *s;
    bool up; /* created and not destroyed */
    bool join_pending;
    bool leave_reported;
    uint64_t join_ns; /* when its last join reported (0 = never) */
    uint64_t leave_ns;
    int leave_rc;
    uint8_t *seen;    /* last state this node reported for each member, by index */
    uint64_t dead_ns; /* first DEAD of the victim here (0 = not yet) */
    uint64_t left_ns; /* first LEFT of the victim here */
    bool suspected;   /* this node locally originated a suspicion of the victim */
} obs;

/* False-positive counters of the loss test (all observers, all members). */
typedef struct counts {
    uint64_t local_suspicions, dead_timers, dead_declarations, refutations, rejoins;
} counts;

struct trial {
    uint32_t n;
    uint16_t base;
    casty_net *net;
    obs *nodes;
    uint32_t victim; /* index, or UINT32_MAX before t0 */
    uint64_t suspect_first_ns;
    uint32_t victim_timers; /* on_suspect_timer(*, victim) */
    bool counting;          /* the loss test's window is open */
    counts c;
    bool *declared_dead; /* by member index, while counting */
};

static struct {
    const char *test, *profile, *join;
    int64_t ns[LIST_MAX], losses[LIST_MAX];
    uint32_t nns, nlosses;
    int64_t trials, secs, seed, base, ctimeout_s, settle_s;
    uint64_t rng;
    uint32_t trial_seq;
    casty_swim_config cfg;
} G = {.profile = "lan",
       .join = "concurrent",
       .trials = -1,
       .secs = -1,
       .seed = 1,
       .base = 20000,
       .ctimeout_s = 70,
       .settle_s = -1};

static const char USAGE[] =
    "--test converge|fail|leave|load|loss|all [--n 5,20,50] [--trials K]\n"
    "  [--profile lan|local|casty] [--join concurrent|seq] [--loss 10,30] [--secs S]\n"
    "  [--seed S] [--base PORT] [--ctimeout SEC] [--settle SEC]";

/* splitmix64: the victim choice, reproducible from --seed. */
static uint64_t rand_next(void)
{
    uint64_t z = (G.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Milliseconds from t0 to t, or "-1" when t was never reached. */
static const char *ms_str(char *buf, size_t cap, uint64_t t0, uint64_t t)
{
    if (t == 0 || t == NEVER)
        snprintf(buf, cap, "-1");
    else
        snprintf(buf, cap, "%.1f", (double)(int64_t)(t - t0) / 1e6);
    return buf;
}

/* ---- events: called on this thread from inside casty_net_uring_poll ---- */

static void on_member(void *user, const casty_swim_member *m, casty_member_state old, uint64_t now)
{
    (void)old;
    (void)now;
    obs *o = user;
    trial *t = o->t;
    uint64_t at = perf_now_ns();
    if (m->id == 0 || m->id > t->n)
        return;
    uint32_t i = (uint32_t)(m->id - 1);
    if (m->state == CASTY_MEMBER_DEAD) {
        if (t->counting) {
            t->c.dead_declarations++;
            t->declared_dead[i] = true;
        }
        if (i == t->victim && !o->dead_ns)
            o->dead_ns = at;
    } else if (m->state == CASTY_MEMBER_LEFT) {
        if (i == t->victim && !o->left_ns)
            o->left_ns = at;
    } else if (m->state == CASTY_MEMBER_ALIVE) {
        /* A rejoin: alive again after this observer saw it dead (not a first join). */
        if (t->counting && o->seen[i] == CASTY_MEMBER_DEAD)
            t->c.rejoins++;
    }
    o->seen[i] = (uint8_t)m->state;
}

static void on_local_suspect(void *user, uint64_t member, uint64_t now)
{
    (void)now;
    obs *o = user;
    trial *t = o->t;
    if (t->counting)
        t->c.local_suspicions++;
    if (t->victim != UINT32_MAX && member == t->victim + 1ull) {
        o->suspected = true;
        if (!t->suspect_first_ns)
            t->suspect_first_ns = perf_now_ns();
    }
}

static void on_suspect_timer(void *user, uint64_t member, uint64_t now)
{
    (void)now;
    obs *o = user;
    trial *t = o->t;
    if (t->counting)
        t->c.dead_timers++;
    if (t->victim != UINT32_MAX && member == t->victim + 1ull)
        t->victim_timers++;
}

static void on_refute(void *user, uint64_t now)
{
    (void)now;
    obs *o = user;
    if (o->t->counting)
        o->t->c.refutations++;
}

static void on_join_done(void *user, int result)
{
    (void)result; /* -ETIMEDOUT still "returned"; the views tell whether it worked */
    obs *o = user;
    o->join_pending = false;
    o->join_ns = perf_now_ns();
}

/* The victim is destroyed by the main loop, never from inside its own callback. */
static void on_leave_done(void *user, int result)
{
    obs *o = user;
    o->leave_reported = true;
    o->leave_rc = result;
    o->leave_ns = perf_now_ns();
}

/* ---- trial set-up and the poll loop ---- */

static int node_create(trial *t, uint32_t i)
{
    obs *o = &t->nodes[i];
    casty_swim_opts so = {
        .node_id = i + 1ull,
        .bind = {.ip = 0x7f000001u, .port = (uint16_t)(t->base + i)},
        .cluster = "swim-harness",
        .config = G.cfg,
        .events = {.user = o,
                   .on_member = on_member,
                   .on_local_suspect = on_local_suspect,
                   .on_suspect_timer = on_suspect_timer,
                   .on_refute = on_refute},
        .seed = (uint64_t)G.seed * 1000003ull + G.trial_seq * 1009ull + i + 1,
    };
    int rc = casty_swim_create(t->net, &so, &o->s);
    o->up = rc == 0;
    return rc;
}

static void nodes_destroy(trial *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->nodes[i].up)
            casty_swim_destroy(t->nodes[i].s);
        t->nodes[i].up = false;
        t->nodes[i].s = NULL;
    }
}

/* Next free port block; wraps before the ephemeral range would be reached. */
static uint16_t port_block(uint32_t n)
{
    if (G.base + n + 7 > 60000)
        G.base = 20000;
    uint16_t b = (uint16_t)G.base;
    G.base += n + 7;
    return b;
}

/* A fresh net and N nodes on a fresh port block (another block if one is busy). */
static void trial_start(trial *t, uint32_t n)
{
    memset(t, 0, sizeof(*t));
    t->n = n;
    t->victim = UINT32_MAX;
    t->nodes = calloc(n, sizeof(*t->nodes));
    t->declared_dead = calloc(n, sizeof(bool));
    if (!t->nodes || !t->declared_dead)
        perf_check(-ENOMEM, "calloc");
    casty_net_uring_opts no = {.buf_size = 4096, .buf_count = 1024, .dgram_slots = 4096};
    int rc = casty_net_uring_create(&no, &t->net);
    perf_uring_check(rc);
    G.trial_seq++;
    for (int attempt = 0;; attempt++) {
        t->base = port_block(n);
        rc = 0;
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            uint8_t *seen = t->nodes[i].seen ? t->nodes[i].seen : calloc(n, 1);
            if (!seen)
                perf_check(-ENOMEM, "calloc");
            memset(seen, CASTY_MEMBER_DEAD, n); /* "not in the view", as swim.h reports a join */
            t->nodes[i] = (obs){.t = t, .idx = i, .seen = seen};
            rc = node_create(t, i);
        }
        if (rc == 0)
            return;
        nodes_destroy(t);
        if (rc != -EADDRINUSE || attempt == 8)
            perf_check(rc, "casty_swim_create");
        printf("# port block %u busy, taking the next\n", (unsigned)t->base);
    }
}

static void trial_end(trial *t)
{
    nodes_destroy(t);
    casty_net_uring_destroy(t->net);
    for (uint32_t i = 0; i < t->n; i++)
        free(t->nodes[i].seen);
    free(t->nodes);
    free(t->declared_dead);
}

/* One turn: submit, wait at most 1 ms, dispatch. Returns the time after it. */
static uint64_t poll_once(trial *t)
{
    int rc = casty_net_uring_poll(t->net, POLL_NS);
    if (rc < 0)
        perf_check(rc, "casty_net_uring_poll");
    return perf_now_ns();
}

/* Sum of the live nodes' view sizes; *all_full: every live node sees `want`. */
static uint64_t view_sum(const trial *t, uint32_t want, bool *all_full, uint32_t *min_view)
{
    uint64_t sum = 0;
    uint32_t lo = UINT32_MAX;
    bool full = true;
    for (uint32_t i = 0; i < t->n; i++) {
        if (!t->nodes[i].up)
            continue;
        uint32_t v = casty_swim_view_size(t->nodes[i].s);
        sum += v;
        full &= v == want;
        lo = v < lo ? v : lo;
    }
    if (all_full)
        *all_full = full;
    if (min_view)
        *min_view = lo;
    return sum;
}

static bool converged(const trial *t)
{
    bool full;
    view_sum(t, t->n, &full, NULL);
    return full;
}

static void join_node(trial *t, uint32_t i)
{
    obs *o = &t->nodes[i];
    casty_addr seed = {.ip = 0x7f000001u, .port = t->base};
    o->join_pending = true;
    int rc = casty_swim_join(o->s, &seed, 1, on_join_done, o);
    if (rc < 0) {
        o->join_pending = false;
        perf_check(rc, "casty_swim_join");
    }
}

/* Let a converged cluster settle for the spec's time (or --settle). */
static void settle(trial *t, uint64_t ns)
{
    uint64_t end = perf_now_ns() + (G.settle_s >= 0 ? (uint64_t)G.settle_s * SEC : ns);
    while (poll_once(t) < end)
        ;
}

/*
 * Converge as the reference does before fail/leave/load/loss: concurrent
 * joins, then every 3 s the nodes whose view is short join the seed again.
 * Returns false (after a "# " warning) if --ctimeout passed first.
 */
static bool converge_setup(trial *t)
{
    uint64_t t0 = perf_now_ns(), deadline = t0 + (uint64_t)G.ctimeout_s * SEC;
    uint64_t rejoin = t0 + REJOIN_NS, now = t0;
    for (uint32_t i = 1; i < t->n; i++)
        join_node(t, i);
    while (!converged(t)) {
        if (now >= deadline) {
            printf("# warning: n=%u not converged after %" PRId64 " s; measuring anyway\n", t->n,
                   G.ctimeout_s);
            return false;
        }
        if (now >= rejoin) {
            for (uint32_t i = 1; i < t->n; i++)
                if (!t->nodes[i].join_pending && casty_swim_view_size(t->nodes[i].s) < t->n)
                    join_node(t, i);
            rejoin += REJOIN_NS;
        }
        now = poll_once(t);
    }
    return true;
}

/* The victim for fail/leave: uniform over the non-seed nodes, from --seed. */
static void victim_pick(trial *t)
{
    t->victim = 1 + (uint32_t)(rand_next() % (t->n - 1));
    t->suspect_first_ns = 0;
    t->victim_timers = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        t->nodes[i].dead_ns = t->nodes[i].left_ns = 0;
        t->nodes[i].suspected = false;
    }
}

/* Every survivor holds a final state (dead or left) for the victim. */
static bool victim_settled(const trial *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (i != t->victim && !t->nodes[i].dead_ns && !t->nodes[i].left_ns)
            return false;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * First, last and median of the survivors' times (dead_ns or left_ns); a
 * survivor that never saw it counts as "never" (so all and maybe p50 are -1).
 */
static uint32_t survivor_times(const trial *t, bool left, uint64_t *first, uint64_t *all,
                               uint64_t *p50)
{
    uint64_t v[NODES_MAX];
    uint32_t k = 0, seen = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (i == t->victim)
            continue;
        uint64_t x = left ? t->nodes[i].left_ns : t->nodes[i].dead_ns;
        seen += x != 0;
        v[k++] = x ? x : NEVER;
    }
    qsort(v, k, sizeof(v[0]), cmp_u64);
    *first = v[0];
    *all = v[k - 1];
    if (k % 2)
        *p50 = v[k / 2];
    else if (v[k / 2] == NEVER)
        *p50 = NEVER;
    else
        *p50 = v[k / 2 - 1] / 2 + v[k / 2] / 2;
    return seen;
}

/* ---- the tests ---- */

static void test_converge(uint32_t n, int k)
{
    trial t;
    trial_start(&t, n);
    bool seq = strcmp(G.join, "seq") == 0;
    uint64_t ms = 0, p99 = 0, returned = 0;
    uint64_t t0 = perf_now_ns(), deadline = t0 + (uint64_t)G.ctimeout_s * SEC, now = t0;
    uint32_t next = 1; /* the next node to join */
    while (now < deadline) {
        if (!seq)
            while (next < n)
                join_node(&t, next++);
        else if (next < n && (next == 1 || !t.nodes[next - 1].join_pending))
            join_node(&t, next++);
        now = poll_once(&t);
        bool full;
        uint64_t sum = view_sum(&t, n, &full, NULL);
        if (!p99 && (double)sum >= 0.99 * (double)n * (double)n)
            p99 = now;
        if (!ms && full)
            ms = now;
        bool pending = next < n;
        for (uint32_t i = 1; i < n; i++)
            pending |= t.nodes[i].join_pending;
        if (!pending && !returned) {
            returned = t0;
            for (uint32_t i = 1; i < n; i++)
                returned = t.nodes[i].join_ns > returned ? t.nodes[i].join_ns : returned;
        }
        if (ms && returned)
            break;
    }
    char a[32], b[32], c[32];
    printf("swim converge impl=casty cfg=%s join=%s n=%u trial=%d ms=%s pairs99_ms=%s "
           "joins_returned_ms=%s\n",
           G.cfg.profile, G.join, n, k, ms_str(a, sizeof(a), t0, ms), ms_str(b, sizeof(b), t0, p99),
           ms_str(c, sizeof(c), t0, returned));
    trial_end(&t);
}

/* fail and leave start alike: a converged cluster, settled 3 s, and a victim (spec §2, §3). */
static obs *victim_trial(trial *t, uint32_t n)
{
    trial_start(t, n);
    converge_setup(t);
    settle(t, 3 * SEC);
    victim_pick(t);
    return &t->nodes[t->victim];
}

static void test_fail(uint32_t n, int k)
{
    trial t;
    obs *v = victim_trial(&t, n);
    uint64_t t0 = perf_now_ns(), now = t0;
    casty_swim_destroy(v->s); /* the crash: sockets and timers gone, nothing said */
    v->up = false;
    v->s = NULL;
    while (now < t0 + FAIL_TIMEOUT_NS && !victim_settled(&t))
        now = poll_once(&t);
    uint64_t first, all, p50;
    uint32_t seen = survivor_times(&t, false, &first, &all, &p50);
    uint32_t suspectors = 0;
    for (uint32_t i = 0; i < n; i++)
        suspectors += t.nodes[i].suspected;
    char a[32], b[32], c[32], d[32];
    printf("swim fail impl=casty cfg=%s n=%u trial=%d suspect_first_ms=%s dead_first_ms=%s "
           "dead_all_ms=%s dead_p50_ms=%s local_suspectors=%u local_dead_timers=%u "
           "dead_observers=%u/%u\n",
           G.cfg.profile, n, k, ms_str(a, sizeof(a), t0, t.suspect_first_ns),
           ms_str(b, sizeof(b), t0, first), ms_str(c, sizeof(c), t0, all),
           ms_str(d, sizeof(d), t0, p50), suspectors, t.victim_timers, seen, n - 1);
    trial_end(&t);
}

static void test_leave(uint32_t n, int k)
{
    trial t;
    obs *v = victim_trial(&t, n);
    uint64_t t0 = perf_now_ns(), now = t0, deadline = t0 + FAIL_TIMEOUT_NS;
    perf_check(casty_swim_leave(v->s, LEAVE_NS, on_leave_done, v), "casty_swim_leave");
    while (now < deadline && !v->leave_reported)
        now = poll_once(&t);
    /*
     * Shut down once leave() has reported, as an application returning to its
     * loop would: one non-blocking turn first hands what leave() queued (the
     * "left" datagrams) to the kernel, which closing the socket could cancel.
     */
    perf_check(casty_net_uring_poll(t.net, 0) < 0 ? -EIO : 0, "casty_net_uring_poll");
    casty_swim_destroy(v->s);
    v->up = false;
    v->s = NULL;
    while (now < deadline && !victim_settled(&t))
        now = poll_once(&t);
    uint64_t first, all, p50;
    uint32_t seen = survivor_times(&t, true, &first, &all, &p50);
    char a[32], b[32], c[32], d[32];
    printf("swim leave impl=casty cfg=%s n=%u trial=%d first_ms=%s all_ms=%s p50_ms=%s "
           "observers=%u/%u dead_timers_fired=%u leave_call_ms=%s\n",
           G.cfg.profile, n, k, ms_str(a, sizeof(a), t0, first), ms_str(b, sizeof(b), t0, all),
           ms_str(c, sizeof(c), t0, p50), seen, n - 1, t.victim_timers,
           ms_str(d, sizeof(d), t0, v->leave_reported ? v->leave_ns : 0));
    if (v->leave_reported && v->leave_rc != 0)
        printf("# leave reported %d (%s)\n", v->leave_rc, strerror(-v->leave_rc));
    trial_end(&t);
}

/* `Udp: OutDatagrams` and `Tcp: OutSegs` from /proc/net/snmp (0 if unreadable). */
static void snmp_read(uint64_t *udp_out, uint64_t *tcp_out)
{
    *udp_out = *tcp_out = 0;
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f)
        return;
    char names[2048], values[2048];
    while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
        bool udp = strncmp(names, "Udp: ", 5) == 0, tcp = strncmp(names, "Tcp: ", 5) == 0;
        if (!udp && !tcp)
            continue;
        char *sn, *sv;
        char *name = strtok_r(names + 5, " \n", &sn), *val = strtok_r(values + 5, " \n", &sv);
        for (; name && val; name = strtok_r(NULL, " \n", &sn), val = strtok_r(NULL, " \n", &sv)) {
            if (udp && strcmp(name, "OutDatagrams") == 0)
                *udp_out = strtoull(val, NULL, 10);
            if (tcp && strcmp(name, "OutSegs") == 0)
                *tcp_out = strtoull(val, NULL, 10);
        }
    }
    fclose(f);
}

static void stats_reset_all(trial *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->nodes[i].up)
            casty_swim_stats_reset(t->nodes[i].s);
}

static void test_load(uint32_t n, int k)
{
    trial t;
    trial_start(&t, n);
    converge_setup(&t);
    settle(&t, 5 * SEC);
    stats_reset_all(&t);
    uint64_t udp0, tcp0, udp1, tcp1;
    snmp_read(&udp0, &tcp0);
    uint64_t t0 = perf_now_ns(), now = t0;
    while (now < t0 + (uint64_t)G.secs * SEC)
        now = poll_once(&t);
    snmp_read(&udp1, &tcp1);
    double secs = (double)(now - t0) / 1e9, per = (double)n * secs;
    uint64_t pkts = 0, bytes = 0, conns = 0, tbytes = 0, lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < n; i++) {
        casty_swim_stats st;
        casty_swim_stats_get(t.nodes[i].s, &st);
        pkts += st.udp_sent;
        bytes += st.udp_bytes;
        conns += st.tcp_conns;
        tbytes += st.tcp_bytes;
        lo = st.udp_sent < lo ? st.udp_sent : lo;
        hi = st.udp_sent > hi ? st.udp_sent : hi;
    }
    printf("swim load impl=casty cfg=%s n=%u trial=%d secs=%.1f udp_pkts_per_node_s=%.2f "
           "udp_bytes_per_node_s=%.1f avg_udp_payload=%.1f tcp_conns_per_node_s=%.4f "
           "tcp_bytes_per_node_s=%.1f total_bytes_per_node_s=%.1f min_node_pkts_s=%.2f "
           "max_node_pkts_s=%.2f kernel_udp_out_per_node_s=%.2f "
           "kernel_tcp_outsegs_per_node_s=%.2f\n",
           G.cfg.profile, n, k, secs, (double)pkts / per, (double)bytes / per,
           pkts ? (double)bytes / (double)pkts : 0.0, (double)conns / per, (double)tbytes / per,
           (double)(bytes + tbytes) / per, (double)lo / secs, (double)hi / secs,
           (double)(udp1 - udp0) / per, (double)(tcp1 - tcp0) / per);
    trial_end(&t);
}

static void drop_all(trial *t, uint32_t ppm)
{
    for (uint32_t i = 0; i < t->n; i++)
        casty_swim_set_drop(t->nodes[i].s, ppm);
}

/* Poll until `end` (or, with until_full, until every view is N), sampling the minimum view. */
static uint64_t loss_phase(trial *t, uint64_t end, bool until_full, uint32_t *min_view)
{
    uint64_t now = perf_now_ns(), sample = now;
    while (now < end) {
        if (now >= sample) {
            uint32_t lo;
            view_sum(t, t->n, NULL, &lo);
            *min_view = lo < *min_view ? lo : *min_view;
            sample += SAMPLE_NS;
        }
        if (until_full && converged(t))
            return now;
        now = poll_once(t);
    }
    return until_full && converged(t) ? now : NEVER;
}

static void test_loss(uint32_t n, int k, int64_t pct)
{
    trial t;
    trial_start(&t, n);
    converge_setup(&t);
    settle(&t, 3 * SEC);
    stats_reset_all(&t);
    uint32_t min_view = n;
    t.counting = true;
    drop_all(&t, (uint32_t)pct * 10000u);
    uint64_t t0 = perf_now_ns();
    loss_phase(&t, t0 + (uint64_t)G.secs * SEC, false, &min_view);
    drop_all(&t, 0);
    uint64_t sent = 0, dropped = 0, off = perf_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        casty_swim_stats st;
        casty_swim_stats_get(t.nodes[i].s, &st);
        sent += st.udp_sent;
        dropped += st.udp_dropped;
    }
    uint64_t back = loss_phase(&t, off + RECONVERGE_NS, true, &min_view);
    t.counting = false;
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < n; i++)
        distinct += t.declared_dead[i];
    char a[32];
    printf("swim loss impl=casty cfg=%s n=%u trial=%d loss_pct=%" PRId64 " secs=%" PRId64
           " tcp_fallback=false local_suspicions=%" PRIu64 " local_dead_timers=%" PRIu64
           " dead_declarations=%" PRIu64 " nodes_declared_dead=%u refutations=%" PRIu64
           " rejoin_events=%" PRIu64 " min_member_view=%u udp_sent=%" PRIu64 " udp_dropped=%" PRIu64
           " reconverge_ms=%s\n",
           G.cfg.profile, n, k, pct, G.secs, t.c.local_suspicions, t.c.dead_timers,
           t.c.dead_declarations, distinct, t.c.refutations, t.c.rejoins, min_view, sent, dropped,
           ms_str(a, sizeof(a), off, back));
    trial_end(&t);
}

/* ---- command line ---- */

/* "5,20,50" -> list; exits with the usage on a bad list. */
static uint32_t parse_list(const char *prog, const char *text, int64_t *out, int64_t lo, int64_t hi)
{
    uint32_t k = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < lo || v > hi || k == LIST_MAX || (*end && *end != ','))
            perf_usage(prog, USAGE);
        out[k++] = v;
        p = *end ? end + 1 : end;
    }
    if (!k)
        perf_usage(prog, USAGE);
    return k;
}

static void parse_args(int argc, char **argv)
{
    const char *ns = NULL, *losses = NULL;
    for (int i = 1; i < argc; i++) {
        if (perf_opt_str(argc, argv, &i, "--test", &G.test) ||
            perf_opt_str(argc, argv, &i, "--n", &ns) ||
            perf_opt_i64(argc, argv, &i, "--trials", &G.trials) ||
            perf_opt_str(argc, argv, &i, "--profile", &G.profile) ||
            perf_opt_str(argc, argv, &i, "--join", &G.join) ||
            perf_opt_str(argc, argv, &i, "--loss", &losses) ||
            perf_opt_i64(argc, argv, &i, "--secs", &G.secs) ||
            perf_opt_i64(argc, argv, &i, "--seed", &G.seed) ||
            perf_opt_i64(argc, argv, &i, "--base", &G.base) ||
            perf_opt_i64(argc, argv, &i, "--ctimeout", &G.ctimeout_s) ||
            perf_opt_i64(argc, argv, &i, "--settle", &G.settle_s))
            continue;
        perf_usage(argv[0], USAGE);
    }
    if (!G.test || G.trials == 0 || G.secs == 0 || G.ctimeout_s == 0 || G.base < 1024 ||
        G.base > 60000)
        perf_usage(argv[0], USAGE);
    if (strcmp(G.join, "concurrent") != 0 && strcmp(G.join, "seq") != 0)
        perf_usage(argv[0], USAGE);
    if (strcmp(G.profile, "lan") == 0)
        casty_swim_config_lan(&G.cfg);
    else if (strcmp(G.profile, "local") == 0)
        casty_swim_config_local(&G.cfg);
    else if (strcmp(G.profile, "casty") == 0)
        casty_swim_config_default(&G.cfg);
    else
        perf_usage(argv[0], USAGE);
    if (ns)
        G.nns = parse_list(argv[0], ns, G.ns, 2, NODES_MAX);
    if (losses)
        G.nlosses = parse_list(argv[0], losses, G.losses, 0, 100);
    G.rng = (uint64_t)G.seed;
}

static void print_config(void)
{
    const casty_swim_config *c = &G.cfg;
    char settle[24] = "spec";
    if (G.settle_s >= 0)
        snprintf(settle, sizeof(settle), "%" PRId64, G.settle_s);
    printf("# swim_driver impl=casty test=%s cfg=%s probe_interval_ms=%.0f probe_timeout_ms=%.0f "
           "indirect_checks=%u suspicion_mult=%u suspicion_max_mult=%u gossip_interval_ms=%.0f "
           "gossip_nodes=%u retransmit_mult=%u awareness_max=%u push_pull_ms=%.0f "
           "max_dgram=%u seed=%" PRId64 " base=%" PRId64 " ctimeout_s=%" PRId64
           " join=%s settle_s=%s transport=io_uring-loopback\n",
           G.test, c->profile, (double)c->probe_interval_ns / 1e6,
           (double)c->probe_timeout_ns / 1e6, c->indirect_checks, c->suspicion_mult,
           c->suspicion_max_mult, (double)c->gossip_interval_ns / 1e6, c->gossip_nodes,
           c->retransmit_mult, c->awareness_max, (double)c->push_pull_interval_ns / 1e6,
           c->max_dgram, G.seed, G.base, G.ctimeout_s, G.join, settle);
}

/* One test over its N list and trials; the spec's defaults where no option was given. */
static void run_test(const char *test)
{
    static const int64_t ns_all[] = {5, 20, 50}, ns_loss[] = {20}, losses[] = {10, 30};
    bool loss = strcmp(test, "loss") == 0, load = strcmp(test, "load") == 0;
    bool conv = strcmp(test, "converge") == 0;
    const int64_t *ns = G.nns ? G.ns : loss ? ns_loss : ns_all;
    uint32_t nns = G.nns ? G.nns : loss ? 1 : 3;
    int64_t trials = G.trials > 0 ? G.trials : conv ? 5 : (loss || load) ? 1 : 3;
    int64_t secs = G.secs;
    if (secs < 0)
        G.secs = 60;
    for (uint32_t j = 0; j < nns; j++) {
        for (int k = 1; k <= trials; k++) {
            uint32_t n = (uint32_t)ns[j];
            if (conv)
                test_converge(n, k);
            else if (strcmp(test, "fail") == 0)
                test_fail(n, k);
            else if (strcmp(test, "leave") == 0)
                test_leave(n, k);
            else if (load)
                test_load(n, k);
            else
                for (uint32_t l = 0; l < (G.nlosses ? G.nlosses : 2); l++)
                    test_loss(n, k, G.nlosses ? G.losses[l] : losses[l]);
            fflush(stdout);
        }
    }
    G.secs = secs;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const char *const all[] = {"converge", "fail", "leave", "load", "loss"};
    bool every = strcmp(G.test, "all") == 0, known = every;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        known |= strcmp(G.test, all[i]) == 0;
    if (!known)
        perf_usage(argv[0], USAGE);
    print_config();
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (every || strcmp(G.test, all[i]) == 0)
            run_test(all[i]);
    return 0;
}
