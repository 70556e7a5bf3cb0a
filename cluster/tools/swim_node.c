/*
 * casty-swim-node: one SWIM member (cluster/swim.h) on a casty_net_uring,
 * driven by this program's main thread, for multi-host and multi-namespace
 * tests (scripts/netns_swim.sh) and for poking at a cluster by hand.
 *
 * It joins through the seeds (retrying every second until one answers, since
 * seeds may start later), prints one line per membership event and a status
 * line every --status-ms to stdout (line-buffered: every line is flushed),
 * and on SIGTERM or SIGINT leaves gracefully (casty_swim_leave, 5 s timeout)
 * and exits 0. SIGKILL is the crash. Times are CLOCK_MONOTONIC milliseconds,
 * the same clock in every network namespace of one machine, so the lines of
 * several nodes (and `--now`) can be compared directly.
 *
 * Single-threaded: the net, the SWIM node and every callback run here. The
 * signal handler only sets a flag; the loop polls with a bounded wait, so a
 * signal is acted on within POLL_NS even if it lands just before a wait.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/swim.h"
#include "io/net.h"
#include "io/net_uring.h"

#define MS          1000000ull
#define POLL_NS     (100 * MS)
#define JOIN_RETRY  (1000 * MS)
#define LEAVE_NS    (5000 * MS)
#define SEEDS_MAX   16u
#define MEMBERS_MAX 1024u

typedef struct node_opts {
    uint64_t id;
    casty_addr bind, advertise;
    casty_addr seeds[SEEDS_MAX];
    uint32_t nseeds;
    const char *cluster;
    const char *profile;
    uint8_t key[32];
    bool keyed;
    uint64_t run_secs;  /* 0 = until a signal */
    uint64_t status_ms; /* 0 = no status lines */
} node_opts;

typedef struct node {
    node_opts o;
    casty_net *net;
    casty_swim *swim;
    bool joining; /* a casty_swim_join is in flight */
    bool joined;
    bool leaving;
    bool done; /* leave finished: leave the loop */
    int leave_rc;
    uint32_t join_attempts;
    casty_swim_member members[MEMBERS_MAX];
} node;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double t_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static const char *state_name(casty_member_state st)
{
    switch (st) {
    case CASTY_MEMBER_ALIVE:
        return "alive";
    case CASTY_MEMBER_SUSPECT:
        return "suspect";
    case CASTY_MEMBER_DEAD:
        return "dead";
    case CASTY_MEMBER_LEFT:
        return "left";
    }
    return "unknown";
}

/* ---- SWIM events: one line each ---- */

static void on_member(void *user, const casty_swim_member *m, casty_member_state old, uint64_t now)
{
    node *n = user;
    printf("event t_ms=%.1f node=%llu member=%llu state=%s old=%s inc=%llu\n", t_ms(now),
           (unsigned long long)n->o.id, (unsigned long long)m->id, state_name(m->state),
           state_name(old), (unsigned long long)m->incarnation);
}

static void on_local_suspect(void *user, uint64_t member, uint64_t now)
{
    node *n = user;
    printf("local_suspect t_ms=%.1f node=%llu member=%llu\n", t_ms(now),
           (unsigned long long)n->o.id, (unsigned long long)member);
}

static void on_suspect_timer(void *user, uint64_t member, uint64_t now)
{
    node *n = user;
    printf("suspect_timer t_ms=%.1f node=%llu member=%llu\n", t_ms(now),
           (unsigned long long)n->o.id, (unsigned long long)member);
}

static void on_refute(void *user, uint64_t now)
{
    node *n = user;
    printf("refute t_ms=%.1f node=%llu\n", t_ms(now), (unsigned long long)n->o.id);
}

/* ---- join, retried every second until a seed answers ---- */

static void join_start(node *n);

static void on_join_retry(void *user, const casty_net_event *ev)
{
    (void)ev;
    join_start(user);
}

static void on_join_done(void *user, int rc)
{
    node *n = user;
    n->joining = false;
    if (rc == 0) {
        n->joined = true;
        printf("join t_ms=%.1f node=%llu attempts=%u view=%u\n", t_ms(mono_ns()),
               (unsigned long long)n->o.id, n->join_attempts, casty_swim_view_size(n->swim));
        return;
    }
    /* Called from the net's poll (or from casty_swim_join itself): retry from a timer. */
    if (!n->leaving && casty_net_timer(n->net, JOIN_RETRY, on_join_retry, n, 0) < 0)
        fprintf(stderr, "casty-swim-node: cannot arm the join retry timer\n");
}

static void join_start(node *n)
{
    if (n->leaving || n->joined || n->joining)
        return;
    n->join_attempts++;
    n->joining = true;
    int rc = casty_swim_join(n->swim, n->o.seeds, n->o.nseeds, on_join_done, n);
    if (rc < 0) {
        n->joining = false;
        fprintf(stderr, "casty-swim-node: join: %s\n", strerror(-rc));
        if (casty_net_timer(n->net, JOIN_RETRY, on_join_retry, n, 0) < 0)
            fprintf(stderr, "casty-swim-node: cannot arm the join retry timer\n");
    }
}

/* ---- status lines ---- */

static void print_status(node *n)
{
    uint32_t total = casty_swim_members(n->swim, n->members, MEMBERS_MAX);
    uint32_t shown = total < MEMBERS_MAX ? total : MEMBERS_MAX;
    casty_swim_stats st;
    casty_swim_stats_get(n->swim, &st);
    printf("status t_ms=%.1f node=%llu view=%u members=", t_ms(mono_ns()),
           (unsigned long long)n->o.id, casty_swim_view_size(n->swim));
    for (uint32_t i = 0; i < shown; i++)
        printf("%s%llu:%s", i ? "," : "", (unsigned long long)n->members[i].id,
               state_name(n->members[i].state));
    printf(" awareness=%u udp_sent=%llu udp_recv=%llu bad_packets=%llu\n", st.awareness,
           (unsigned long long)st.udp_sent, (unsigned long long)st.udp_recv,
           (unsigned long long)st.bad_packets);
}

static void on_status(void *user, const casty_net_event *ev)
{
    (void)ev;
    node *n = user;
    print_status(n);
    if (casty_net_timer(n->net, n->o.status_ms * MS, on_status, n, 0) < 0)
        fprintf(stderr, "casty-swim-node: cannot arm the status timer\n");
}

/* ---- leave ---- */

static void on_leave_done(void *user, int rc)
{
    node *n = user;
    n->leave_rc = rc;
    n->done = true;
}

static void leave_start(node *n, const char *why)
{
    if (n->leaving)
        return;
    n->leaving = true;
    printf("leave t_ms=%.1f node=%llu why=%s\n", t_ms(mono_ns()), (unsigned long long)n->o.id, why);
    int rc = casty_swim_leave(n->swim, LEAVE_NS, on_leave_done, n);
    if (rc < 0) {
        n->leave_rc = rc;
        n->done = true;
    }
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: casty-swim-node --id N --bind IP:PORT [--advertise IP:PORT]\n"
               "         [--seed IP:PORT]... [--cluster NAME] [--profile lan|local|casty]\n"
               "         [--key-hex 64HEX] [--run-secs S] [--status-ms MS]\n"
               "       casty-swim-node --now   (print CLOCK_MONOTONIC in ms, as in t_ms=)\n");
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_key(const char *text, uint8_t key[32])
{
    if (strlen(text) != 64)
        return -EINVAL;
    for (int i = 0; i < 32; i++) {
        int hi = hex_nibble(text[2 * i]);
        int lo = hex_nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int parse_u64(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-')
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_addr(const char *flag, const char *text, casty_addr *out)
{
    if (casty_addr_parse(text, out) < 0) {
        fprintf(stderr, "casty-swim-node: %s: bad address '%s' (want IP:PORT)\n", flag, text);
        return -EINVAL;
    }
    return 0;
}

/* One option; 0, or -EINVAL after printing why. */
static int parse_one(node_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'i':
        if (parse_u64(arg, &o->id) < 0 || o->id == 0) {
            fprintf(stderr, "casty-swim-node: --id: want a nonzero integer\n");
            return -EINVAL;
        }
        return 0;
    case 'b':
        return parse_addr("--bind", arg, &o->bind);
    case 'a':
        return parse_addr("--advertise", arg, &o->advertise);
    case 's':
        if (o->nseeds == SEEDS_MAX) {
            fprintf(stderr, "casty-swim-node: at most %u seeds\n", SEEDS_MAX);
            return -EINVAL;
        }
        return parse_addr("--seed", arg, &o->seeds[o->nseeds++]);
    case 'c':
        o->cluster = arg;
        return 0;
    case 'p':
        o->profile = arg;
        return 0;
    case 'k':
        o->keyed = true;
        if (parse_key(arg, o->key) < 0) {
            fprintf(stderr, "casty-swim-node: --key-hex: want 64 hex digits\n");
            return -EINVAL;
        }
        return 0;
    case 'r':
        if (parse_u64(arg, &o->run_secs) < 0) {
            fprintf(stderr, "casty-swim-node: --run-secs: want seconds\n");
            return -EINVAL;
        }
        return 0;
    case 'm':
        if (parse_u64(arg, &o->status_ms) < 0) {
            fprintf(stderr, "casty-swim-node: --status-ms: want milliseconds\n");
            return -EINVAL;
        }
        return 0;
    default:
        usage(stderr);
        return -EINVAL;
    }
}

/* 0 to run, 1 to exit 0 at once (--help, --now), or -EINVAL. */
static int parse_args(int argc, char **argv, node_opts *o)
{
    static const struct option longs[] = {
        {"id", required_argument, NULL, 'i'},
        {"bind", required_argument, NULL, 'b'},
        {"advertise", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"cluster", required_argument, NULL, 'c'},
        {"profile", required_argument, NULL, 'p'},
        {"key-hex", required_argument, NULL, 'k'},
        {"run-secs", required_argument, NULL, 'r'},
        {"status-ms", required_argument, NULL, 'm'},
        {"now", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (node_opts){.cluster = "casty", .profile = "casty", .status_ms = 1000};
    bool have_bind = false;
    for (int guard = 0; guard <= argc; guard++) {
        int c = getopt_long(argc, argv, "", longs, NULL);
        if (c == -1)
            break;
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == 'n') {
            printf("%.1f\n", t_ms(mono_ns()));
            return 1;
        }
        have_bind |= c == 'b';
        if (parse_one(o, c, optarg) < 0)
            return -EINVAL;
    }
    if (optind < argc || o->id == 0 || !have_bind) {
        fprintf(stderr, "casty-swim-node: --id and --bind are required\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

static int config_for(const char *profile, casty_swim_config *c)
{
    if (!strcmp(profile, "lan"))
        casty_swim_config_lan(c);
    else if (!strcmp(profile, "local"))
        casty_swim_config_local(c);
    else if (!strcmp(profile, "casty"))
        casty_swim_config_default(c);
    else
        return -EINVAL;
    return 0;
}

/* ---- main ---- */

static int node_start(node *n)
{
    casty_swim_opts so = {.node_id = n->o.id,
                          .bind = n->o.bind,
                          .advertise = n->o.advertise,
                          .cluster = n->o.cluster,
                          .key = n->o.keyed ? n->o.key : NULL,
                          .seed = n->o.id * 0x9e3779b97f4a7c15ull ^ mono_ns()};
    if (config_for(n->o.profile, &so.config) < 0) {
        fprintf(stderr, "casty-swim-node: --profile: want lan, local or casty\n");
        return -EINVAL;
    }
    so.events = (casty_swim_events){.user = n,
                                    .on_member = on_member,
                                    .on_local_suspect = on_local_suspect,
                                    .on_suspect_timer = on_suspect_timer,
                                    .on_refute = on_refute};
    int rc = casty_net_uring_create(NULL, &n->net);
    if (rc < 0) {
        fprintf(stderr, "casty-swim-node: io_uring: %s\n", strerror(-rc));
        return rc;
    }
    rc = casty_swim_create(n->net, &so, &n->swim);
    if (rc < 0) {
        char a[32];
        fprintf(stderr, "casty-swim-node: swim on %s: %s\n",
                casty_addr_format(&n->o.bind, a, sizeof(a)), strerror(-rc));
        return rc;
    }
    char bound[32];
    casty_addr local = casty_swim_local_addr(n->swim);
    const casty_swim_config *c = &so.config;
    printf("# casty-swim-node node=%llu bind=%s cluster=%s keyed=%d seeds=%u cfg=%s "
           "probe_interval_ms=%llu probe_timeout_ms=%llu suspicion_mult=%u pid=%d\n",
           (unsigned long long)n->o.id, casty_addr_format(&local, bound, sizeof(bound)),
           n->o.cluster, n->o.keyed, n->o.nseeds, c->profile,
           (unsigned long long)(c->probe_interval_ns / MS),
           (unsigned long long)(c->probe_timeout_ns / MS), c->suspicion_mult, (int)getpid());
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends the poll's wait early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Poll until the leave finished; returns the exit status. */
static int run(node *n)
{
    uint64_t end_ns = n->o.run_secs ? mono_ns() + n->o.run_secs * 1000 * MS : UINT64_MAX;
    uint64_t leave_deadline = UINT64_MAX;
    while (!n->done) {
        if (stop_signal && !n->leaving)
            leave_start(n, stop_signal == SIGINT ? "sigint" : "sigterm");
        if (!n->leaving && mono_ns() >= end_ns)
            leave_start(n, "run_secs");
        if (n->leaving && leave_deadline == UINT64_MAX)
            leave_deadline = mono_ns() + LEAVE_NS + 1000 * MS;
        /* A bound on the leave, in case its timer never reports (it always should). */
        if (mono_ns() >= leave_deadline) {
            fprintf(stderr, "casty-swim-node: leave did not report; exiting\n");
            n->leave_rc = -ETIMEDOUT;
            break;
        }
        int rc = casty_net_uring_poll(n->net, POLL_NS);
        if (rc < 0) {
            fprintf(stderr, "casty-swim-node: poll: %s\n", strerror(-rc));
            return 1;
        }
    }
    print_status(n);
    casty_swim_stats st;
    casty_swim_stats_get(n->swim, &st);
    printf("exit t_ms=%.1f node=%llu leave_rc=%d udp_sent=%llu udp_recv=%llu tcp_conns=%llu "
           "bad_packets=%llu probes=%llu indirect_probes=%llu acks=%llu nacks_recv=%llu "
           "push_pulls=%llu\n",
           t_ms(mono_ns()), (unsigned long long)n->o.id, n->leave_rc,
           (unsigned long long)st.udp_sent, (unsigned long long)st.udp_recv,
           (unsigned long long)st.tcp_conns, (unsigned long long)st.bad_packets,
           (unsigned long long)st.probes, (unsigned long long)st.indirect_probes,
           (unsigned long long)st.acks, (unsigned long long)st.nacks_recv,
           (unsigned long long)st.push_pulls);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static node n; /* the member array is large: keep it off the stack */
    int rc = parse_args(argc, argv, &n.o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    install_signals();
    if (node_start(&n) < 0) {
        casty_swim_destroy(n.swim);
        if (n.net)
            casty_net_uring_destroy(n.net);
        return 1;
    }
    if (n.o.nseeds)
        join_start(&n);
    if (n.o.status_ms && casty_net_timer(n.net, n.o.status_ms * MS, on_status, &n, 0) < 0)
        fprintf(stderr, "casty-swim-node: cannot arm the status timer\n");
    rc = run(&n);
    casty_swim_destroy(n.swim);
    casty_net_uring_destroy(n.net);
    return rc;
}
