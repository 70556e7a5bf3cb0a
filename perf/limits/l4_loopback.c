/*
 * L4 loopback floor (WORKLOADS.md), for the remote workloads (W7): between a
 * sender pinned to CPU 0 and a receiver pinned to CPU 1, over 127.0.0.1,
 *  - UDP 64-byte datagrams/s sent with sendmmsg (batches of 64) and with
 *    io_uring (64 IORING_OP_SEND per io_uring_enter); the receiver drains with
 *    recvmmsg; `rate` counts datagrams received, `sent_rate` those sent;
 *  - TCP stream GB/s (64 KiB writes);
 *  - TCP 64-byte request/response round trip (TCP_NODELAY), percentiles.
 *
 *   usage: l4_loopback [--ms DURATION_MS] [--rr-n N]
 * Prints: L4 limit rate=... sent_rate=... msg_bytes=64 batch=64 mode=udp-sendmmsg|udp-uring placement=cross-core
 *         L4 limit gb_per_s=... chunk=65536 mode=tcp-stream placement=cross-core
 *         L4 limit p50_ns=... p99_ns=... p999_ns=... max_ns=... mean_ns=... n=... msg_bytes=64 mode=tcp-rr ...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../harness.h"

#define DGRAM  64
#define BATCH  64
#define CHUNK  65536
#define RR_MSG 64

static int sys_check(int rc, const char *what)
{
    if (rc < 0)
        perf_check(-errno, what);
    return rc;
}

/* A socket bound to 127.0.0.1 on an ephemeral port; its address in *addr. */
static int bound_socket(int type, struct sockaddr_in *addr)
{
    int fd = sys_check(socket(AF_INET, type | SOCK_CLOEXEC, 0), "socket");
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sys_check(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    socklen_t len = sizeof(*addr);
    sys_check(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

static int connected_socket(int type, const struct sockaddr_in *to)
{
    int fd = sys_check(socket(AF_INET, type | SOCK_CLOEXEC, 0), "socket");
    sys_check(connect(fd, (const struct sockaddr *)to, sizeof(*to)), "connect");
    return fd;
}

static void *start_thread(void *(*fn)(void *), void *arg, pthread_t *t)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        perf_check(-EAGAIN, "pthread_create");
    return arg;
}

/* --- UDP --- */

typedef struct {
    int fd;
    _Atomic bool stop;
    uint64_t received;
} udp_rx;

static void *udp_receiver(void *arg)
{
    udp_rx *rx = arg;
    (void)perf_pin_self(1);
    static char buf[BATCH][DGRAM];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){buf[i], DGRAM};
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    /* Acquire: pairs with the sender's release store once it is done. */
    while (!atomic_load_explicit(&rx->stop, memory_order_acquire)) {
        int got = recvmmsg(rx->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got > 0)
            rx->received += (uint64_t)got;
    }
    return NULL;
}

static uint64_t udp_send_mmsg(int fd, uint64_t until_ns)
{
    static char buf[DGRAM];
    struct mmsghdr msgs[BATCH];
    struct iovec iov = {buf, DGRAM};
    for (int i = 0; i < BATCH; i++)
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    uint64_t sent = 0;
    while (perf_now_ns() < until_ns) {
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n < 0 && errno != ENOBUFS && errno != EAGAIN)
            sys_check(n, "sendmmsg");
        sent += n > 0 ? (uint64_t)n : 0;
    }
    return sent;
}

static uint64_t udp_send_uring(int fd, uint64_t until_ns)
{
    static char buf[DGRAM];
    struct io_uring ring;
    perf_uring_check(io_uring_queue_init(BATCH, &ring, 0));
    uint64_t sent = 0;
    while (perf_now_ns() < until_ns) {
        for (int i = 0; i < BATCH; i++)
            io_uring_prep_send(io_uring_get_sqe(&ring), fd, buf, DGRAM, 0);
        perf_check(io_uring_submit_and_wait(&ring, BATCH), "io_uring_submit_and_wait");
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            sent += cqe->res == DGRAM;
        }
        io_uring_cq_advance(&ring, seen);
    }
    io_uring_queue_exit(&ring);
    return sent;
}

static void udp_rate(int64_t ms, bool uring)
{
    struct sockaddr_in addr;
    udp_rx rx = {.fd = bound_socket(SOCK_DGRAM, &addr)};
    int big = 8 << 20;
    (void)setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)); /* best effort */
    int tx = connected_socket(SOCK_DGRAM, &addr);
    pthread_t t;
    start_thread(udp_receiver, &rx, &t);
    (void)perf_pin_self(0);
    uint64_t t0 = perf_now_ns();
    uint64_t until = t0 + (uint64_t)ms * 1000000u;
    uint64_t sent = uring ? udp_send_uring(tx, until) : udp_send_mmsg(tx, until);
    uint64_t el = perf_now_ns() - t0;
    usleep(20000); /* let the receiver drain what is already queued */
    atomic_store_explicit(&rx.stop, true, memory_order_release);
    pthread_join(t, NULL);
    close(tx);
    close(rx.fd);
    printf("L4 limit rate=%.0f sent_rate=%.0f msg_bytes=%d batch=%d mode=%s placement=cross-core\n",
           (double)rx.received / ((double)el / 1e9), (double)sent / ((double)el / 1e9), DGRAM,
           BATCH, uring ? "udp-uring" : "udp-sendmmsg");
}

/* --- TCP --- */

typedef struct {
    int listen_fd;
    bool echo; /* request/response, else a stream sink */
} tcp_srv;

static void *tcp_server(void *arg)
{
    tcp_srv *s = arg;
    (void)perf_pin_self(1);
    int fd = sys_check(accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC), "accept");
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    static char buf[4 * CHUNK];
    for (;;) {
        ssize_t n = read(fd, buf, s->echo ? RR_MSG : sizeof(buf));
        if (n <= 0)
            break;
        if (s->echo && write(fd, buf, (size_t)n) != n)
            break;
    }
    close(fd);
    return NULL;
}

static int tcp_pair(tcp_srv *srv, bool echo, pthread_t *t)
{
    struct sockaddr_in addr;
    srv->listen_fd = bound_socket(SOCK_STREAM, &addr);
    srv->echo = echo;
    sys_check(listen(srv->listen_fd, 1), "listen");
    start_thread(tcp_server, srv, t);
    int fd = connected_socket(SOCK_STREAM, &addr);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)perf_pin_self(0);
    return fd;
}

static void tcp_stream(int64_t ms)
{
    tcp_srv srv;
    pthread_t t;
    int fd = tcp_pair(&srv, false, &t);
    static char buf[CHUNK];
    uint64_t bytes = 0, t0 = perf_now_ns(), until = t0 + (uint64_t)ms * 1000000u;
    while (perf_now_ns() < until)
        bytes += (uint64_t)sys_check((int)write(fd, buf, sizeof(buf)), "write");
    close(fd); /* the sink reads to EOF: every byte written has been received when it exits */
    pthread_join(t, NULL);
    uint64_t el = perf_now_ns() - t0;
    close(srv.listen_fd);
    printf("L4 limit gb_per_s=%.3f chunk=%d mode=tcp-stream placement=cross-core\n",
           (double)bytes / (double)el, CHUNK);
}

static void read_exact(int fd, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            perf_check(n < 0 ? -errno : -ECONNRESET, "read");
        got += (size_t)n;
    }
}

static void tcp_rr(int64_t n)
{
    tcp_srv srv;
    pthread_t t;
    int fd = tcp_pair(&srv, true, &t);
    char buf[RR_MSG] = {0};
    uint64_t *samples = perf_alloc_touched((size_t)n * sizeof(uint64_t));
    int64_t warm = n / 10 + 1;
    for (int64_t i = 0; i < warm + n; i++) {
        uint64_t t0 = perf_now_ns();
        if (write(fd, buf, RR_MSG) != RR_MSG)
            perf_check(-errno, "write");
        read_exact(fd, buf, RR_MSG);
        if (i >= warm)
            samples[i - warm] = perf_now_ns() - t0;
    }
    close(fd);
    pthread_join(t, NULL);
    close(srv.listen_fd);
    perf_pcts p = perf_percentiles(samples, (size_t)n);
    printf("L4 limit p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64
           " mean_ns=%.1f n=%" PRId64 " msg_bytes=%d mode=tcp-rr placement=cross-core\n",
           p.p50, p.p99, p.p999, p.max, p.mean, n, RR_MSG);
    free(samples);
}

int main(int argc, char **argv)
{
    int64_t ms = 1000, rr_n = 50000;
    for (int i = 1; i < argc; i++)
        if (!perf_opt_i64(argc, argv, &i, "--ms", &ms) &&
            !perf_opt_i64(argc, argv, &i, "--rr-n", &rr_n))
            perf_usage(argv[0], "[--ms DURATION_MS] [--rr-n N]");
    if (ms < 1 || rr_n < 1)
        perf_usage(argv[0], "[--ms DURATION_MS >= 1] [--rr-n N >= 1]");
    udp_rate(ms, false);
    udp_rate(ms, true);
    tcp_stream(ms);
    tcp_rr(rr_n);
    return 0;
}
