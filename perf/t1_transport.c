/*
 * T1: the transport between two nodes over one loopback TCP connection,
 * against the L4 limits. Each node is a thread with its own io_uring net and
 * transport, pinned to its own CPU, as two shards on two cores would be.
 *
 *   --mode stream: node 1 sends N frames of SIZE payload bytes to node 2 as
 *     fast as its bounded queue allows; the receiver's clock (first to last
 *     frame) gives frames/s and payload bytes/s. Compared with L4 tcp-stream.
 *   --mode rr: N sequential 64-byte request/response exchanges (node 2
 *     answers each frame); percentiles of the round trip. Compared with L4
 *     tcp-rr.
 *
 *   usage: t1_transport [--mode stream|rr] [--n N] [--size BYTES] [--key] [--zc-min BYTES]
 *   (--zc-min: sends of at least BYTES go zero-copy; 0 = never, the default)
 * Prints: T1 casty rate=... bytes_per_s=... gb_per_s=... frames_per_send=... msg_bytes=SIZE mode=stream keyed=0|1 placement=cross-core
 *         T1 casty p50_ns=... p99_ns=... p999_ns=... max_ns=... mean_ns=... n=N msg_bytes=64 mode=rr keyed=0|1 placement=cross-core
 * (Internal API: the transport is not public yet; it is what W7 will stand on.)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/transport.h"
#include "harness.h"
#include "io/net_uring.h"

#define TYPE_DATA 40
#define TYPE_REQ  41
#define TYPE_RSP  42

static const uint8_t KEY[32] = {7, 7, 7, 7, 1, 2, 3, 4};

typedef struct node {
    uint64_t id, peer;
    int cpu;
    casty_net *net;
    casty_transport *t;
    /* receiver side */
    _Atomic uint64_t frames; /* read by the sender to know when to stop */
    uint64_t first_ns, last_ns;
    /* rr: requests answered / responses seen */
    uint64_t rsp_seen;
    bool writable;
} node;

static struct {
    const char *mode;
    int64_t n, size, zc_min;
    bool keyed;
    casty_addr addr2;
    _Atomic int ready, done;
    uint64_t *samples;
} G = {.mode = "stream", .n = 2000000, .size = 64};

static void on_frame(void *user, uint64_t peer, uint8_t type, const uint8_t *p, uint32_t len)
{
    node *n = user;
    uint64_t now = perf_now_ns();
    if (type == TYPE_DATA) {
        uint64_t f = atomic_load_explicit(&n->frames, memory_order_relaxed);
        if (!f)
            n->first_ns = now;
        n->last_ns = now;
        atomic_store_explicit(&n->frames, f + 1, memory_order_release);
    } else if (type == TYPE_REQ) {
        casty_transport_send(n->t, peer, TYPE_RSP, CASTY_SEND_CONTROL, p, len);
    } else if (type == TYPE_RSP) {
        n->rsp_seen++;
    }
}

static void on_writable(void *user, uint64_t peer)
{
    (void)peer;
    ((node *)user)->writable = true;
}

static void node_start(node *n)
{
    perf_pin_self(n->cpu);
    casty_net_uring_opts o = {.buf_size = 64u << 10, .buf_count = 64, .zc_min = (uint32_t)G.zc_min};
    int rc = casty_net_uring_create(&o, &n->net);
    perf_uring_check(rc);
    perf_check(rc, "casty_net_uring_create");
    casty_transport_config cfg = {.cluster = "t1",
                                  .node_id = n->id,
                                  .incarnation = 1,
                                  .listen = {.ip = 0x7f000001u},
                                  .key = G.keyed ? KEY : NULL,
                                  .queue_bytes = 4u << 20};
    casty_transport_callbacks cb = {.user = n, .on_frame = on_frame, .on_writable = on_writable};
    perf_check(casty_transport_create(n->net, &cfg, &cb, &n->t), "casty_transport_create");
}

static void poll_once(node *n)
{
    casty_transport_flush(n->t);
    casty_net_uring_poll(n->net, 0);
}

static void *receiver(void *arg)
{
    node *n = arg;
    node_start(n);
    casty_transport_local_addr(n->t, &G.addr2);
    atomic_store(&G.ready, 1);
    while (!atomic_load(&G.done))
        poll_once(n);
    casty_transport_destroy(n->t);
    casty_net_uring_destroy(n->net);
    return NULL;
}

static void run_stream(node *s, node *r)
{
    uint8_t *payload = calloc(1, (size_t)G.size);
    uint64_t sent = 0;
    while (sent < (uint64_t)G.n) {
        int rc = casty_transport_send(s->t, 2, TYPE_DATA, 0, payload, (uint32_t)G.size);
        if (rc == 0) {
            sent++;
            if (sent % 1024)
                continue; /* queue a burst per turn, as a busy shard would */
        } else if (rc != -EAGAIN) {
            perf_check(rc, "casty_transport_send");
        }
        poll_once(s);
    }
    /* The receiver's count is read through its node struct once it has everything. */
    while (atomic_load_explicit(&r->frames, memory_order_acquire) < sent)
        poll_once(s);
    free(payload);
}

static void run_rr(node *s, node *r)
{
    (void)r;
    uint8_t req[64] = {0};
    G.samples = calloc((size_t)G.n, sizeof(uint64_t));
    for (int64_t i = -1000; i < G.n; i++) { /* 1000 warm-up exchanges */
        uint64_t want = s->rsp_seen + 1, t0 = perf_now_ns();
        perf_check(casty_transport_send(s->t, 2, TYPE_REQ, CASTY_SEND_CONTROL, req, sizeof(req)),
                   "send");
        while (s->rsp_seen < want)
            poll_once(s);
        if (i >= 0)
            G.samples[i] = perf_now_ns() - t0;
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (perf_opt_str(argc, argv, &i, "--mode", &G.mode) ||
            perf_opt_i64(argc, argv, &i, "--n", &G.n) ||
            perf_opt_i64(argc, argv, &i, "--size", &G.size) ||
            perf_opt_i64(argc, argv, &i, "--zc-min", &G.zc_min))
            continue;
        if (!strcmp(argv[i], "--key")) {
            G.keyed = true;
            continue;
        }
        perf_usage(argv[0], "[--mode stream|rr] [--n N] [--size BYTES] [--key]");
    }
    bool rr = !strcmp(G.mode, "rr");
    if ((!rr && strcmp(G.mode, "stream")) || G.n <= 0 || G.size < 16 || G.size > (1 << 20))
        perf_usage(argv[0], "[--mode stream|rr] [--n N] [--size BYTES 16..1048576] [--key]");
    node s = {.id = 1, .peer = 2, .cpu = 0}, r = {.id = 2, .peer = 1, .cpu = 1};
    pthread_t tr;
    pthread_create(&tr, NULL, receiver, &r);
    while (!atomic_load(&G.ready))
        ;
    node_start(&s);
    perf_check(casty_transport_add_peer(s.t, 2, &G.addr2), "add_peer");
    while (!casty_transport_connected(s.t, 2))
        poll_once(&s);
    casty_transport_stats st0, st1;
    casty_net_stats ns0, ns1;
    casty_transport_stats_get(s.t, &st0);
    casty_net_stats_get(s.net, &ns0);
    if (rr)
        run_rr(&s, &r);
    else
        run_stream(&s, &r);
    casty_transport_stats_get(s.t, &st1);
    casty_net_stats_get(s.net, &ns1);
    atomic_store(&G.done, 1);
    pthread_join(tr, NULL);
    if (rr) {
        perf_pcts p = perf_percentiles(G.samples, (size_t)G.n);
        printf("T1 casty p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
               " mean_ns=%.0f n=%" PRId64 " msg_bytes=64 mode=rr keyed=%d placement=cross-core\n",
               p.p50, p.p99, p.p999, p.max, p.mean, G.n, G.keyed);
        free(G.samples);
    } else {
        double secs = (double)(r.last_ns - r.first_ns) / 1e9;
        double rate = (double)(r.frames - 1) / secs;
        double frames_per_send = (double)(st1.frames_sent - st0.frames_sent) /
                                 (double)(st1.sends - st0.sends ? st1.sends - st0.sends : 1);
        /* The sender's SQEs per io_uring_enter that submitted any: the batching of the loop. */
        double sqes_per_submit =
            (double)(ns1.ops - ns0.ops) /
            (double)(ns1.submits - ns0.submits ? ns1.submits - ns0.submits : 1);
        printf("T1 casty rate=%.0f bytes_per_s=%.0f gb_per_s=%.3f frames_per_send=%.1f "
               "sqes_per_submit=%.2f zc_pct=%.0f msg_bytes=%" PRId64 " mode=stream keyed=%d "
               "placement=cross-core\n",
               rate, rate * (double)G.size, rate * (double)G.size / 1e9, frames_per_send,
               sqes_per_submit,
               100.0 * (double)(ns1.zc_sends - ns0.zc_sends) /
                   (double)(ns1.ops - ns0.ops ? ns1.ops - ns0.ops : 1),
               G.size, G.keyed);
    }
    casty_transport_destroy(s.t);
    casty_net_uring_destroy(s.net);
    return 0;
}
