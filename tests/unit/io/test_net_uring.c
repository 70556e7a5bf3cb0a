/*
 * The io_uring net backend on loopback: streams (with the multishot and the
 * one-shot receive paths), pause and resume, datagrams leaving in one batch,
 * timers, refused connects, no events after close, and argument checks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/net_uring.h"
#include "support/casty_test.h"

typedef struct rec {
    int accepts, connects, closed, sents, timers, dgrams;
    int conn;           /* accepted handle */
    int connect_result; /* CONNECT result */
    int closed_result;
    int sent_result;
    uint64_t last_tag;
    uint64_t timer_order[8];
    uint8_t *buf; /* stream bytes received */
    size_t len, cap;
    int recv_events;
} rec;

static void on_event(void *user, const casty_net_event *ev)
{
    rec *r = user;
    switch (ev->kind) {
    case CASTY_NET_ACCEPT:
        r->accepts++;
        r->conn = ev->conn;
        break;
    case CASTY_NET_CONNECT:
        r->connects++;
        r->connect_result = ev->result;
        break;
    case CASTY_NET_RECV:
        if (r->len + ev->len > r->cap) {
            r->cap = (r->len + ev->len) * 2;
            r->buf = realloc(r->buf, r->cap);
        }
        memcpy(r->buf + r->len, ev->data, ev->len);
        r->len += ev->len;
        r->recv_events++;
        break;
    case CASTY_NET_CLOSED:
        r->closed++;
        r->closed_result = ev->result;
        break;
    case CASTY_NET_SENT:
        r->sents++;
        r->sent_result = ev->result;
        r->last_tag = ev->tag;
        break;
    case CASTY_NET_DGRAM:
        r->dgrams++;
        break;
    case CASTY_NET_TIMER:
        if (r->timers < 8)
            r->timer_order[r->timers] = ev->tag;
        r->timers++;
        break;
    }
}

static casty_net *new_net(bool no_multishot)
{
    casty_net_uring_opts o = {.no_multishot = no_multishot, .buf_size = 4096, .buf_count = 16};
    casty_net *net = NULL;
    int rc = casty_net_uring_create(&o, &net);
    if (rc == -ENOSYS)
        exit(77);
    assert_int_equal(rc, 0);
    return net;
}

static void poll_until(casty_net *net, const int *counter, int want, uint32_t ms)
{
    uint64_t deadline = ct_now_ns() + (uint64_t)ms * 1000000u;
    while (*counter < want && ct_now_ns() < deadline)
        casty_net_uring_poll(net, 1000000);
}

static void poll_for(casty_net *net, uint32_t ms)
{
    uint64_t deadline = ct_now_ns() + (uint64_t)ms * 1000000u;
    while (ct_now_ns() < deadline)
        casty_net_uring_poll(net, 1000000);
}

/* One net holds both ends: a listener, a dialed stream and the accepted one. */
static int pair(casty_net *net, rec *srv, rec *cli, int *client)
{
    casty_addr lo = {.ip = 0x7f000001u, .port = 0};
    int l = casty_net_listen(net, &lo, on_event, srv);
    assert_true(l >= 0);
    casty_addr bound;
    assert_int_equal(casty_net_local_addr(net, l, &bound), 0);
    assert_true(bound.port != 0);
    *client = casty_net_connect(net, &bound, on_event, cli);
    assert_true(*client >= 0);
    poll_until(net, &cli->connects, 1, CT_WAIT_MS);
    poll_until(net, &srv->accepts, 1, CT_WAIT_MS);
    assert_int_equal(cli->connect_result, 0);
    return l;
}

static void stream_case(bool no_multishot, uint32_t zc_min)
{
    casty_net_uring_opts o = {
        .no_multishot = no_multishot, .buf_size = 4096, .buf_count = 16, .zc_min = zc_min};
    casty_net *net = NULL;
    int rc = casty_net_uring_create(&o, &net);
    if (rc == -ENOSYS)
        exit(77);
    assert_int_equal(rc, 0);
    rec srv = {0}, cli = {0};
    int client;
    int l = pair(net, &srv, &cli, &client);
    /* 1 MiB in 64 iovecs: more than the 16 x 4 KiB buffers, so they recycle. */
    enum { N = 64, PART = 16384 };
    uint8_t *data = malloc(N * PART);
    for (size_t i = 0; i < N * PART; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    struct iovec iov[N];
    for (int i = 0; i < N; i++)
        iov[i] = (struct iovec){data + (size_t)i * PART, PART};
    assert_int_equal(casty_net_send(net, client, iov, N, 42), 0);
    assert_int_equal(casty_net_send(net, client, iov, 1, 43), -EBUSY);
    struct {
        size_t want;
    } w = {N * PART};
    uint64_t deadline = ct_now_ns() + (uint64_t)CT_WAIT_MS * 1000000u;
    while ((srv.len < w.want || cli.sents < 1) && ct_now_ns() < deadline)
        casty_net_uring_poll(net, 1000000);
    assert_int_equal(cli.sents, 1);
    assert_int_equal(cli.sent_result, N * PART);
    assert_int_equal(cli.last_tag, 42);
    assert_int_equal(srv.len, N * PART);
    assert_memory_equal(srv.buf, data, N * PART);
    /* Closing one end: the other sees an orderly end of stream. */
    assert_int_equal(casty_net_close(net, client), 0);
    poll_until(net, &srv.closed, 1, CT_WAIT_MS);
    assert_int_equal(srv.closed_result, 0);
    assert_int_equal(casty_net_send(net, srv.conn, iov, 1, 0), -EPIPE);
    assert_int_equal(casty_net_close(net, srv.conn), 0);
    assert_int_equal(casty_net_close(net, l), 0);
    casty_net_uring_info info;
    casty_net_uring_info_get(net, &info);
    if (no_multishot)
        assert_false(info.multishot_recv);
    print_message("send_zc=%d multishot_recv=%d buf_ring=%d\n", info.send_zc, info.multishot_recv,
                  info.buf_ring);
    casty_net_stats st;
    casty_net_stats_get(net, &st);
    assert_int_equal(st.bytes_recv, N * PART);
    /* 1 MiB in one send is above the zero-copy threshold: it went ZC where the kernel can. */
    if (info.send_zc)
        assert_true(st.zc_sends >= 1);
    if (zc_min == 0)
        assert_int_equal(st.zc_sends, 0);
    assert_true(st.submits > 0 && st.ops >= st.submits);
    free(data);
    free(srv.buf);
    free(cli.buf);
    casty_net_uring_destroy(net);
}

static void test_stream_multishot(void **state)
{
    (void)state;
    stream_case(false, 65536);
}

static void test_stream_without_zero_copy(void **state)
{
    (void)state;
    stream_case(false, 0); /* the default: no zero copy */
}

static void test_stream_one_shot_fallback(void **state)
{
    (void)state;
    stream_case(true, 65536);
}

static void test_pause_and_resume(void **state)
{
    (void)state;
    casty_net *net = new_net(false);
    rec srv = {0}, cli = {0};
    int client;
    int l = pair(net, &srv, &cli, &client);
    assert_int_equal(casty_net_recv_pause(net, srv.conn, true), 0);
    poll_for(net, 10);
    uint8_t msg[3000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    struct iovec iov = {msg, sizeof(msg)};
    assert_int_equal(casty_net_send(net, client, &iov, 1, 1), 0);
    poll_until(net, &cli.sents, 1, CT_WAIT_MS);
    poll_for(net, 30);
    assert_int_equal(srv.recv_events, 0); /* paused: nothing delivered */
    assert_int_equal(casty_net_recv_pause(net, srv.conn, false), 0);
    uint64_t deadline = ct_now_ns() + (uint64_t)CT_WAIT_MS * 1000000u;
    while (srv.len < sizeof(msg) && ct_now_ns() < deadline)
        casty_net_uring_poll(net, 1000000);
    assert_int_equal(srv.len, sizeof(msg));
    assert_memory_equal(srv.buf, msg, sizeof(msg));
    casty_net_close(net, client);
    casty_net_close(net, srv.conn);
    casty_net_close(net, l);
    free(srv.buf);
    casty_net_uring_destroy(net);
}

static void dgram_case(bool no_multishot)
{
    casty_net *net = new_net(no_multishot);
    rec a = {0}, b = {0};
    casty_addr lo = {.ip = 0x7f000001u, .port = 0};
    int ua = casty_net_udp_bind(net, &lo, on_event, &a);
    int ub = casty_net_udp_bind(net, &lo, on_event, &b);
    assert_true(ua >= 0 && ub >= 0);
    casty_addr bb;
    casty_net_local_addr(net, ub, &bb);
    uint8_t d[CASTY_NET_DGRAM_MAX + 1];
    memset(d, 1, sizeof(d));
    assert_int_equal(casty_net_sendto(net, ua, &bb, d, sizeof(d)), -EMSGSIZE);
    casty_net_stats before, after;
    casty_net_stats_get(net, &before);
    for (int i = 0; i < 100; i++)
        assert_int_equal(casty_net_sendto(net, ua, &bb, d, 64), 0);
    casty_net_uring_poll(net, 0);
    casty_net_stats_get(net, &after);
    /* One turn's datagrams reach the kernel in one submission. */
    assert_int_equal(after.submits - before.submits, 1);
    poll_until(net, &b.dgrams, 100, CT_WAIT_MS);
    assert_int_equal(b.dgrams, 100);
    casty_net_close(net, ua);
    casty_net_close(net, ub);
    casty_net_uring_destroy(net);
}

static void test_datagrams_batched(void **state)
{
    (void)state;
    dgram_case(false);
    dgram_case(true);
}

static void test_timers(void **state)
{
    (void)state;
    casty_net *net = new_net(false);
    rec r = {0};
    uint64_t t0 = ct_now_ns(); /* before the deadlines are taken */
    int t3 = casty_net_timer(net, 3000000, on_event, &r, 3);
    int t1 = casty_net_timer(net, 1000000, on_event, &r, 1);
    int t2 = casty_net_timer(net, 2000000, on_event, &r, 2);
    int tx = casty_net_timer(net, 1500000, on_event, &r, 99);
    assert_true(t1 >= 0 && t2 >= 0 && t3 >= 0 && tx >= 0);
    assert_int_equal(casty_net_timer_cancel(net, tx), 0);
    assert_int_equal(casty_net_timer_cancel(net, tx), -ENOENT);
    poll_until(net, &r.timers, 3, CT_WAIT_MS);
    assert_true(ct_now_ns() - t0 >= 3000000); /* never early */
    assert_int_equal(r.timers, 3);
    assert_int_equal(r.timer_order[0], 1);
    assert_int_equal(r.timer_order[1], 2);
    assert_int_equal(r.timer_order[2], 3);
    assert_int_equal(casty_net_timer_cancel(net, t1), -ENOENT);
    poll_for(net, 5);
    assert_int_equal(r.timers, 3);
    casty_net_uring_destroy(net);
}

static void test_connect_refused(void **state)
{
    (void)state;
    casty_net *net = new_net(false);
    rec r = {0};
    /* Bind a port and close it again: nothing listens there now. */
    casty_addr lo = {.ip = 0x7f000001u, .port = 0}, bound;
    int l = casty_net_listen(net, &lo, on_event, &r);
    casty_net_local_addr(net, l, &bound);
    casty_net_close(net, l);
    casty_net_uring_poll(net, 0);
    int h = casty_net_connect(net, &bound, on_event, &r);
    assert_true(h >= 0);
    poll_until(net, &r.connects, 1, CT_WAIT_MS);
    assert_int_equal(r.connect_result, -ECONNREFUSED);
    /* The failed connect closed its handle. */
    assert_int_equal(casty_net_close(net, h), -EBADF);
    casty_net_uring_destroy(net);
}

static void test_no_events_after_close(void **state)
{
    (void)state;
    casty_net *net = new_net(false);
    rec srv = {0}, cli = {0};
    int client;
    int l = pair(net, &srv, &cli, &client);
    uint8_t msg[100] = {0};
    struct iovec iov = {msg, sizeof(msg)};
    assert_int_equal(casty_net_send(net, client, &iov, 1, 0), 0);
    /* Close the receiver with a receive armed and data about to land. */
    assert_int_equal(casty_net_close(net, srv.conn), 0);
    int t = casty_net_timer(net, 1000, on_event, &srv, 5);
    assert_int_equal(casty_net_close(net, t), 0);
    poll_for(net, 30);
    assert_int_equal(srv.recv_events, 0);
    assert_int_equal(srv.closed, 0);
    assert_int_equal(srv.timers, 0);
    casty_net_close(net, client);
    casty_net_close(net, l);
    casty_net_uring_destroy(net);
}

static void test_argument_validation(void **state)
{
    (void)state;
    casty_net *net = new_net(false);
    rec r = {0};
    casty_addr lo = {.ip = 0x7f000001u, .port = 0};
    struct iovec iov = {&r, 1};
    casty_net_uring_opts bad = {.buf_count = 3};
    casty_net *out;
    assert_int_equal(casty_net_uring_create(&bad, &out), -EINVAL);
    assert_int_equal(casty_net_uring_create(NULL, NULL), -EINVAL);
    assert_int_equal(casty_net_listen(net, NULL, on_event, &r), -EINVAL);
    assert_int_equal(casty_net_listen(net, &lo, NULL, &r), -EINVAL);
    assert_int_equal(casty_net_connect(net, &lo, on_event, &r), -EINVAL); /* port 0 */
    assert_int_equal(casty_net_send(net, 12345, &iov, 1, 0), -EBADF);
    assert_int_equal(casty_net_send(net, -1, &iov, 1, 0), -EBADF);
    assert_int_equal(casty_net_send(net, 0, &iov, 0, 0), -EINVAL);
    assert_int_equal(casty_net_send(net, 0, &iov, 65, 0), -EINVAL);
    assert_int_equal(casty_net_close(net, 7), -EBADF);
    assert_int_equal(casty_net_recv_pause(net, 7, true), -EBADF);
    assert_int_equal(casty_net_timer_cancel(net, 7), -ENOENT);
    int u = casty_net_udp_bind(net, &lo, on_event, &r);
    assert_true(u >= 0);
    assert_int_equal(casty_net_send(net, u, &iov, 1, 0), -EBADF); /* not a stream */
    assert_int_equal(casty_net_sendto(net, u, NULL, "x", 1), -EINVAL);
    casty_addr taken;
    casty_net_local_addr(net, u, &taken);
    assert_int_equal(casty_net_udp_bind(net, &taken, on_event, &r), -EADDRINUSE);
    assert_int_equal(casty_net_uring_poll(NULL, 0), -EINVAL);
    casty_net_close(net, u);
    casty_net_uring_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_multishot),
        cmocka_unit_test(test_stream_one_shot_fallback),
        cmocka_unit_test(test_stream_without_zero_copy),
        cmocka_unit_test(test_pause_and_resume),
        cmocka_unit_test(test_datagrams_batched),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_no_events_after_close),
        cmocka_unit_test(test_argument_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
