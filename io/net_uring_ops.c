/*
 * The casty_net_ops of the io_uring backend. Socket creation and binding are
 * plain syscalls (rare, and they must fail synchronously with a clear code);
 * everything on the data path (accept, connect, send, receive, datagrams) is
 * an SQE that leaves with the next poll's single submission.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "alloc/heap.h"
#include "io/net_uring_impl.h"

static nu_net *NU(casty_net *net)
{
    return (nu_net *)net;
}

static void to_sockaddr(const casty_addr *a, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(a->port);
    sa->sin_addr.s_addr = htonl(a->ip);
}

static int bound_socket(int type, const casty_addr *bind_to)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* Listeners rebind over TIME_WAIT; UDP must not (it would share the port). */
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa;
    to_sockaddr(bind_to, &sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Give a bound socket a handle and arm its accept or receive; closes fd on failure. */
static int adopt(nu_net *n, int fd, uint8_t kind, casty_net_fn fn, void *user)
{
    nu_slot *s = casty__nu_slot_new(n, kind);
    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    s->fd = fd;
    s->fn = fn;
    s->user = user;
    if (kind == NU_LISTEN)
        casty__nu_arm_accept(n, s);
    else
        casty__nu_arm_recv(n, s);
    return s->index;
}

static int op_listen(casty_net *net, const casty_addr *bind_to, casty_net_fn fn, void *user)
{
    if (!net || !bind_to || !fn)
        return -EINVAL;
    int fd = bound_socket(SOCK_STREAM, bind_to);
    if (fd < 0)
        return fd;
    if (listen(fd, 4096) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return adopt(NU(net), fd, NU_LISTEN, fn, user);
}

static int op_connect(casty_net *net, const casty_addr *to, casty_net_fn fn, void *user)
{
    if (!net || !to || !fn || to->port == 0)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    nu_slot *s = casty__nu_slot_new(NU(net), NU_STREAM);
    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    s->fd = fd;
    s->fn = fn;
    s->user = user;
    to_sockaddr(to, &s->sa);
    struct io_uring_sqe *sqe = casty__nu_sqe(NU(net));
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)&s->sa, sizeof(s->sa));
    io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_CONNECT, s->index, s->gen));
    s->pending++;
    return s->index;
}

static int op_send(casty_net *net, int h, const struct iovec *iov, int iovcnt, uint64_t tag)
{
    if (!net || !iov || iovcnt <= 0 || iovcnt > NU_MAX_IOV)
        return -EINVAL;
    nu_slot *s = casty__nu_slot_get(NU(net), h);
    if (!s || s->kind != NU_STREAM)
        return -EBADF;
    if (s->ended)
        return -EPIPE;
    if (s->send_busy)
        return -EBUSY;
    uint64_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        s->siov[i] = iov[i];
        total += iov[i].iov_len;
    }
    if (total == 0)
        return -EINVAL;
    memset(&s->smsg, 0, sizeof(s->smsg));
    s->smsg.msg_iov = s->siov;
    s->smsg.msg_iovlen = (size_t)iovcnt;
    s->stag = tag;
    s->sdone = 0;
    s->stotal = total;
    s->send_busy = true;
    casty__nu_submit_send(NU(net), s);
    return 0;
}

static int op_recv_pause(casty_net *net, int h, bool paused)
{
    if (!net)
        return -EINVAL;
    nu_net *n = NU(net);
    nu_slot *s = casty__nu_slot_get(n, h);
    if (!s || s->kind != NU_STREAM)
        return -EBADF;
    if (s->paused == paused)
        return 0;
    s->paused = paused;
    if (paused) {
        if (s->recv_armed) {
            struct io_uring_sqe *sqe = casty__nu_sqe(n);
            io_uring_prep_cancel64(sqe, nu_ud(NU_OP_RECV, s->index, s->gen), 0);
            io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_CANCEL, 0, 0));
        }
        return 0;
    }
    /* Resume: stashed bytes are delivered, and the receive re-armed, by the next poll. */
    casty__nu_want_rearm(n, s);
    return 0;
}

static int op_udp_bind(casty_net *net, const casty_addr *bind_to, casty_net_fn fn, void *user)
{
    if (!net || !bind_to || !fn)
        return -EINVAL;
    int fd = bound_socket(SOCK_DGRAM, bind_to);
    if (fd < 0)
        return fd;
    return adopt(NU(net), fd, NU_UDP, fn, user);
}

static int op_sendto(casty_net *net, int h, const casty_addr *to, const void *buf, uint32_t len)
{
    if (!net || !to || (!buf && len))
        return -EINVAL;
    if (len > CASTY_NET_DGRAM_MAX)
        return -EMSGSIZE;
    nu_net *n = NU(net);
    nu_slot *s = casty__nu_slot_get(n, h);
    if (!s || s->kind != NU_UDP)
        return -EBADF;
    if (n->dgram_free < 0) {
        n->stats.dgrams_drop++;
        return -EAGAIN;
    }
    int di = n->dgram_free;
    nu_dgram *d = &n->dgrams[di];
    n->dgram_free = d->next_free;
    if (len)
        memcpy(d->data, buf, len);
    to_sockaddr(to, &d->sa);
    d->iov.iov_base = d->data;
    d->iov.iov_len = len;
    memset(&d->mh, 0, sizeof(d->mh));
    d->mh.msg_name = &d->sa;
    d->mh.msg_namelen = sizeof(d->sa);
    d->mh.msg_iov = &d->iov;
    d->mh.msg_iovlen = 1;
    d->slot = s->index;
    struct io_uring_sqe *sqe = casty__nu_sqe(n);
    io_uring_prep_sendmsg(sqe, s->fd, &d->mh, 0);
    io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_USEND, di, 0));
    s->pending++;
    n->stats.dgrams_sent++;
    return 0;
}

static int op_close(casty_net *net, int h)
{
    if (!net)
        return -EINVAL;
    nu_slot *s = casty__nu_slot_get(NU(net), h);
    if (!s)
        return -EBADF;
    casty__nu_slot_release(NU(net), s);
    return 0;
}

static int op_local_addr(casty_net *net, int h, casty_addr *out)
{
    if (!net || !out)
        return -EINVAL;
    nu_slot *s = casty__nu_slot_get(NU(net), h);
    if (!s || s->kind == NU_TIMER)
        return -EBADF;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    if (getsockname(s->fd, (struct sockaddr *)&sa, &sl) < 0)
        return -errno;
    out->ip = ntohl(sa.sin_addr.s_addr);
    out->port = ntohs(sa.sin_port);
    return 0;
}

static int op_set_user(casty_net *net, int h, casty_net_fn fn, void *user)
{
    if (!net || !fn)
        return -EINVAL;
    nu_slot *s = casty__nu_slot_get(NU(net), h);
    if (!s)
        return -EBADF;
    s->fn = fn;
    s->user = user;
    return 0;
}

static int op_timer(casty_net *net, uint64_t delay_ns, casty_net_fn fn, void *user, uint64_t tag)
{
    if (!net || !fn || delay_ns > (UINT64_MAX >> 2))
        return -EINVAL;
    nu_net *n = NU(net);
    nu_slot *s = casty__nu_slot_new(n, NU_TIMER);
    if (!s)
        return -ENOMEM;
    s->fn = fn;
    s->user = user;
    s->tag = tag;
    s->deadline = casty__nu_now() + delay_ns;
    if (casty__nu_timer_push(n, s) < 0) {
        casty__nu_slot_release(n, s);
        return -ENOMEM;
    }
    return s->index;
}

static int op_timer_cancel(casty_net *net, int timer)
{
    if (!net)
        return -EINVAL;
    nu_slot *s = casty__nu_slot_get(NU(net), timer);
    if (!s || s->kind != NU_TIMER)
        return -ENOENT;
    /* The heap entry goes stale (generation bump) and is skipped when it surfaces. */
    casty__nu_slot_release(NU(net), s);
    return 0;
}

static uint64_t op_now(casty_net *net)
{
    (void)net;
    return casty__nu_now();
}

static void op_stats(casty_net *net, casty_net_stats *out)
{
    if (net && out)
        *out = NU(net)->stats;
}

const casty_net_ops casty__nu_ops = {
    .listen = op_listen,
    .connect = op_connect,
    .send = op_send,
    .recv_pause = op_recv_pause,
    .udp_bind = op_udp_bind,
    .sendto = op_sendto,
    .close = op_close,
    .local_addr = op_local_addr,
    .set_user = op_set_user,
    .timer = op_timer,
    .timer_cancel = op_timer_cancel,
    .now = op_now,
    .stats = op_stats,
};
