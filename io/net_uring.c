/*
 * The io_uring net backend: ring and feature setup, the handle table, the
 * provided-buffer pool, user-space timers, and completion dispatch. The
 * casty_net_ops functions that prepare operations are in io/net_uring_ops.c.
 *
 * Lifetime rule: a slot is recycled only when the kernel owes it no more
 * completions (`pending` == 0), because SQEs point into it. Closing a slot with
 * operations in flight cancels them and defers the recycling to the last CQE;
 * events for a closing slot are swallowed. Callbacks run last in each handler,
 * after the slot's bookkeeping, and anything done after a callback re-checks
 * the slot's generation, because the callback may close (and a later call may
 * recycle) that very slot.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "io/net_uring_impl.h"

uint64_t casty__nu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct io_uring_sqe *casty__nu_sqe(nu_net *n)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(n->ring);
    if (!sqe) {
        /* The queue is full mid-turn: flush it; the batch is simply split in two. */
        io_uring_submit(n->ring);
        n->stats.submits++;
        sqe = io_uring_get_sqe(n->ring);
        CASTY_ASSERT(sqe != NULL);
    }
    n->stats.ops++;
    return sqe;
}

/* ---- slots ---- */

nu_slot *casty__nu_slot_new(nu_net *n, uint8_t kind)
{
    nu_slot *s;
    if (n->free_head >= 0) {
        s = n->slots[n->free_head];
        n->free_head = s->next_free;
    } else {
        if (n->nslots == (1 << 24))
            return NULL; /* the handle field of user_data is 24 bits */
        if (n->nslots == n->slots_cap) {
            int cap = n->slots_cap ? n->slots_cap * 2 : 64;
            nu_slot **grown = casty__mem_realloc(n->slots, (size_t)cap * sizeof(*grown));
            if (!grown)
                return NULL;
            n->slots = grown;
            n->slots_cap = cap;
        }
        s = casty__mem_calloc(1, sizeof(*s));
        if (!s)
            return NULL;
        s->index = n->nslots;
        n->slots[n->nslots++] = s;
    }
    uint32_t gen = s->gen;
    int index = s->index;
    memset(s, 0, sizeof(*s));
    s->gen = gen;
    s->index = index;
    s->kind = kind;
    s->fd = -1;
    s->next_free = -1;
    return s;
}

nu_slot *casty__nu_slot_get(nu_net *n, int h)
{
    if (h < 0 || h >= n->nslots)
        return NULL;
    nu_slot *s = n->slots[h];
    return s->kind == NU_FREE || s->closing ? NULL : s;
}

static void slot_free(nu_net *n, nu_slot *s)
{
    if (s->fd >= 0)
        close(s->fd);
    casty__mem_free(s->rbuf);
    casty__mem_free(s->stash);
    s->rbuf = NULL;
    s->stash = NULL;
    s->fd = -1;
    s->kind = NU_FREE;
    s->gen++;
    s->next_free = n->free_head;
    n->free_head = s->index;
}

void casty__nu_slot_release(nu_net *n, nu_slot *s)
{
    s->closing = true;
    if (s->pending == 0) {
        slot_free(n, s);
        return;
    }
    /* Cancel what is in flight; the last CQE frees the slot (see reap). */
    struct io_uring_sqe *sqe = casty__nu_sqe(n);
    io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_CANCEL, 0, 0));
}

static void slot_done_one(nu_net *n, nu_slot *s)
{
    CASTY_ASSERT(s->pending > 0);
    if (--s->pending == 0 && s->closing)
        slot_free(n, s);
}

void casty__nu_deliver(nu_slot *s, const casty_net_event *ev)
{
    s->fn(s->user, ev);
}

void casty__nu_want_rearm(nu_net *n, nu_slot *s)
{
    if (s->rearm)
        return;
    if (n->nrearm == n->rearm_cap) {
        int cap = n->rearm_cap ? n->rearm_cap * 2 : 16;
        int *grown = casty__mem_realloc(n->rearm, (size_t)cap * sizeof(*grown));
        CASTY_ASSERT(grown != NULL); /* a few ints; running out here is not survivable anyway */
        n->rearm = grown;
        n->rearm_cap = cap;
    }
    s->rearm = true;
    n->rearm[n->nrearm++] = s->index;
}

/* ---- arming receives and accepts ---- */

void casty__nu_arm_recv(nu_net *n, nu_slot *s)
{
    if (s->recv_armed || s->paused || s->ended || s->closing)
        return;
    struct io_uring_sqe *sqe = casty__nu_sqe(n);
    bool udp = s->kind == NU_UDP;
    if (n->info.buf_ring && n->info.multishot_recv) {
        if (udp) {
            memset(&s->rmsg, 0, sizeof(s->rmsg));
            s->rmsg.msg_namelen = sizeof(struct sockaddr_in);
            io_uring_prep_recvmsg_multishot(sqe, s->fd, &s->rmsg, 0);
        } else {
            io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
        }
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = NU_BGID;
        s->multishot = true;
    } else {
        if (!s->rbuf) {
            s->rbuf = casty__mem_alloc(n->opts.buf_size);
            CASTY_ASSERT(s->rbuf != NULL);
        }
        if (udp) {
            memset(&s->rmsg, 0, sizeof(s->rmsg));
            s->riov.iov_base = s->rbuf;
            s->riov.iov_len = n->opts.buf_size;
            s->rmsg.msg_iov = &s->riov;
            s->rmsg.msg_iovlen = 1;
            s->rmsg.msg_name = &s->rsa;
            s->rmsg.msg_namelen = sizeof(s->rsa);
            io_uring_prep_recvmsg(sqe, s->fd, &s->rmsg, 0);
        } else {
            io_uring_prep_recv(sqe, s->fd, s->rbuf, n->opts.buf_size, 0);
        }
        s->multishot = false;
    }
    io_uring_sqe_set_data64(sqe, nu_ud(udp ? NU_OP_URECV : NU_OP_RECV, s->index, s->gen));
    s->recv_armed = true;
    s->pending++;
}

void casty__nu_arm_accept(nu_net *n, nu_slot *s)
{
    if (s->recv_armed || s->closing)
        return;
    struct io_uring_sqe *sqe = casty__nu_sqe(n);
    if (n->info.multishot_accept)
        io_uring_prep_multishot_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
    s->multishot = n->info.multishot_accept;
    io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_ACCEPT, s->index, s->gen));
    s->recv_armed = true;
    s->pending++;
}

void casty__nu_submit_send(nu_net *n, nu_slot *s)
{
    struct io_uring_sqe *sqe = casty__nu_sqe(n);
    if (n->info.send_zc && s->stotal - s->sdone >= n->opts.zc_min) {
        /* Large: the kernel sends from our pages; they stay ours only after its notification. */
        io_uring_prep_sendmsg_zc(sqe, s->fd, &s->smsg, MSG_NOSIGNAL);
        n->stats.zc_sends++;
    } else {
        io_uring_prep_sendmsg(sqe, s->fd, &s->smsg, MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_SEND, s->index, s->gen));
    s->pending++;
}

static void buf_return(nu_net *n, uint32_t bid)
{
    io_uring_buf_ring_add(n->br, n->bufs + (size_t)bid * n->opts.buf_size, n->opts.buf_size,
                          (unsigned short)bid, (int)n->buf_mask, 0);
    io_uring_buf_ring_advance(n->br, 1);
}

/* ---- completion handlers ---- */

static void on_accept(nu_net *n, nu_slot *s, int res, uint32_t flags)
{
    if (!(flags & IORING_CQE_F_MORE)) {
        s->recv_armed = false;
        slot_done_one(n, s);
    }
    if (s->kind != NU_LISTEN || s->closing) {
        if (res >= 0)
            close(res);
        return;
    }
    if (res == -EINVAL && s->multishot) {
        n->info.multishot_accept = false; /* kernel without multishot accept */
        casty__nu_want_rearm(n, s);
        return;
    }
    if (!(flags & IORING_CQE_F_MORE))
        casty__nu_want_rearm(n, s);
    if (res < 0)
        return; /* EMFILE, ECONNABORTED...: the listener stays, the next accept may work */
    nu_slot *c = casty__nu_slot_new(n, NU_STREAM);
    if (!c) {
        close(res);
        return;
    }
    c->fd = res;
    c->fn = s->fn;
    c->user = s->user;
    int one = 1;
    setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    casty_net_event ev = {.kind = CASTY_NET_ACCEPT, .handle = s->index, .conn = c->index};
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    if (getpeername(res, (struct sockaddr *)&sa, &sl) == 0) {
        ev.addr.ip = ntohl(sa.sin_addr.s_addr);
        ev.addr.port = ntohs(sa.sin_port);
    }
    n->stats.accepts++;
    casty__nu_arm_recv(n, c);
    casty__nu_deliver(s, &ev);
}

static void on_connect(nu_net *n, nu_slot *s, int res)
{
    slot_done_one(n, s);
    if (s->kind == NU_FREE || s->closing)
        return;
    casty_net_event ev = {.kind = CASTY_NET_CONNECT, .handle = s->index, .result = res};
    uint32_t gen = s->gen;
    if (res == 0) {
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        casty__nu_arm_recv(n, s);
        casty__nu_deliver(s, &ev);
        return;
    }
    s->ended = true;
    casty__nu_deliver(s, &ev);
    /* A failed connect closes its handle (net.h), unless the callback did. */
    if (s->gen == gen && !s->closing)
        casty__nu_slot_release(n, s);
}

static void deliver_bytes(nu_net *n, nu_slot *s, const uint8_t *data, uint32_t len)
{
    n->stats.bytes_recv += len;
    if (s->paused) {
        /* Bytes that were already in flight when the owner paused: keep them in order. */
        if (s->stash_len + len > s->stash_cap) {
            uint32_t cap = s->stash_cap ? s->stash_cap : 4096;
            while (cap < s->stash_len + len)
                cap *= 2;
            uint8_t *grown = casty__mem_realloc(s->stash, cap);
            CASTY_ASSERT(grown != NULL);
            s->stash = grown;
            s->stash_cap = cap;
        }
        memcpy(s->stash + s->stash_len, data, len);
        s->stash_len += len;
        return;
    }
    casty_net_event ev = {.kind = CASTY_NET_RECV, .handle = s->index, .data = data, .len = len};
    casty__nu_deliver(s, &ev);
}

/*
 * The common start of a receive completion: account for the end of a
 * multishot, and give back the buffer of a slot that was closed (or reused)
 * meanwhile. false: nothing more to do.
 */
static bool recv_begin(nu_net *n, nu_slot *s, uint8_t kind, uint32_t flags)
{
    if (!(flags & IORING_CQE_F_MORE)) {
        s->recv_armed = false;
        slot_done_one(n, s);
    }
    if (s->kind == kind && !s->closing)
        return true;
    if (flags & IORING_CQE_F_BUFFER)
        buf_return(n, flags >> IORING_CQE_BUFFER_SHIFT);
    return false;
}

static void on_recv(nu_net *n, nu_slot *s, int res, uint32_t flags)
{
    bool more = flags & IORING_CQE_F_MORE;
    bool has_buf = flags & IORING_CQE_F_BUFFER;
    uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
    if (!recv_begin(n, s, NU_STREAM, flags))
        return;
    uint32_t gen = s->gen;
    if (res > 0) {
        const uint8_t *data = has_buf ? n->bufs + (size_t)bid * n->opts.buf_size : s->rbuf;
        deliver_bytes(n, s, data, (uint32_t)res);
        if (has_buf)
            buf_return(n, bid);
        if (s->gen == gen && !more)
            casty__nu_want_rearm(n, s);
        return;
    }
    if (has_buf)
        buf_return(n, bid);
    if (res == -ENOBUFS) {
        n->stats.recv_bufs_out++;
        casty__nu_want_rearm(n, s);
        return;
    }
    if (res == -EINVAL && s->multishot) {
        n->info.multishot_recv = false;
        casty__nu_want_rearm(n, s);
        return;
    }
    if (res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
        casty__nu_want_rearm(n, s); /* a pause cancels; re-arming checks `paused` */
        return;
    }
    if (s->ended)
        return;
    s->ended = true;
    casty_net_event ev = {.kind = CASTY_NET_CLOSED, .handle = s->index, .result = res};
    casty__nu_deliver(s, &ev);
}

static void on_urecv(nu_net *n, nu_slot *s, int res, uint32_t flags)
{
    bool more = flags & IORING_CQE_F_MORE;
    bool has_buf = flags & IORING_CQE_F_BUFFER;
    uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
    if (!recv_begin(n, s, NU_UDP, flags))
        return;
    uint32_t gen = s->gen;
    if (res >= 0) {
        casty_net_event ev = {.kind = CASTY_NET_DGRAM, .handle = s->index};
        const struct sockaddr_in *from = &s->rsa;
        bool ok = true;
        if (has_buf) {
            uint8_t *buf = n->bufs + (size_t)bid * n->opts.buf_size;
            struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &s->rmsg);
            if (!o || (o->flags & MSG_TRUNC) || o->namelen < sizeof(struct sockaddr_in)) {
                ok = false;
            } else {
                from = io_uring_recvmsg_name(o);
                ev.data = io_uring_recvmsg_payload(o, &s->rmsg);
                ev.len = io_uring_recvmsg_payload_length(o, res, &s->rmsg);
            }
        } else {
            ok = !(s->rmsg.msg_flags & MSG_TRUNC);
            ev.data = s->rbuf;
            ev.len = (uint32_t)res;
        }
        if (ok) {
            ev.addr.ip = ntohl(from->sin_addr.s_addr);
            ev.addr.port = ntohs(from->sin_port);
            n->stats.dgrams_recv++;
            casty__nu_deliver(s, &ev);
        } else {
            n->stats.dgrams_drop++;
        }
    } else if (res == -ENOBUFS) {
        n->stats.recv_bufs_out++;
    } else if (res == -EINVAL && s->multishot) {
        n->info.multishot_recv = false;
    }
    if (has_buf)
        buf_return(n, bid);
    if (!more && s->gen == gen)
        casty__nu_want_rearm(n, s);
}

static void on_send(nu_net *n, nu_slot *s, int res, uint32_t flags)
{
    if (flags & IORING_CQE_F_MORE) {
        /* Zero copy: the result now, the buffers back with the notification CQE. */
        s->zc_res = res;
        return;
    }
    if (flags & IORING_CQE_F_NOTIF)
        res = s->zc_res;
    slot_done_one(n, s);
    if (s->kind != NU_STREAM || s->closing)
        return;
    if (res > 0) {
        s->sdone += (uint64_t)res;
        n->stats.bytes_sent += (uint64_t)res;
        if (s->sdone < s->stotal) {
            /* Short write: skip what went out and send the rest. */
            size_t skip = (size_t)res;
            while (skip && s->smsg.msg_iovlen) {
                struct iovec *v = s->smsg.msg_iov;
                if (skip >= v->iov_len) {
                    skip -= v->iov_len;
                    s->smsg.msg_iov++;
                    s->smsg.msg_iovlen--;
                } else {
                    v->iov_base = (uint8_t *)v->iov_base + skip;
                    v->iov_len -= skip;
                    skip = 0;
                }
            }
            casty__nu_submit_send(n, s);
            return;
        }
    }
    s->send_busy = false;
    casty_net_event ev = {.kind = CASTY_NET_SENT,
                          .handle = s->index,
                          .tag = s->stag,
                          .result = res > 0 ? (int)(s->stotal > INT32_MAX ? INT32_MAX : s->stotal)
                                            : (res == 0 ? -EPIPE : res)};
    casty__nu_deliver(s, &ev);
}

static void on_usend(nu_net *n, int di, int res)
{
    nu_dgram *d = &n->dgrams[di];
    nu_slot *s = n->slots[d->slot];
    d->next_free = n->dgram_free;
    n->dgram_free = di;
    if (res < 0)
        n->stats.dgrams_drop++;
    slot_done_one(n, s);
}

/* One completion of this net (also called by io/uring.c for a shard's ring). */
void casty__nu_complete(nu_net *n, uint64_t ud, int res, uint32_t flags)
{
    int op = (int)(ud & 0xff);
    int idx = (int)((ud >> 8) & 0xffffff);
    if (op == NU_OP_CANCEL || op == 0 || op > NU_OP_CANCEL)
        return;
    if (op == NU_OP_USEND) {
        on_usend(n, idx, res);
        return;
    }
    CASTY_ASSERT(idx < n->nslots);
    nu_slot *s = n->slots[idx];
    switch (op) {
    case NU_OP_ACCEPT:
        on_accept(n, s, res, flags);
        break;
    case NU_OP_CONNECT:
        on_connect(n, s, res);
        break;
    case NU_OP_RECV:
        on_recv(n, s, res, flags);
        break;
    case NU_OP_URECV:
        on_urecv(n, s, res, flags);
        break;
    case NU_OP_SEND:
        on_send(n, s, res, flags);
        break;
    default:
        CASTY_ASSERT(!"unknown io op");
    }
}

static int reap(nu_net *n)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    /*
     * Handlers may prepare SQEs but never enter the kernel for events, so the
     * CQ ring is stable while we walk it; advance once at the end.
     */
    io_uring_for_each_cqe(n->ring, head, cqe)
    {
        seen++;
        casty__nu_complete(n, io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags);
    }
    if (seen)
        io_uring_cq_advance(n->ring, seen);
    return (int)seen;
}

/* ---- timers: io/evheap.h, ordered by (deadline, sequence); a = slot, b = generation ---- */

int casty__nu_timer_push(nu_net *n, nu_slot *s)
{
    casty_ev ev = {
        .time_ns = s->deadline, .order = n->tseq++, .a = (uint32_t)s->index, .b = s->gen};
    return casty__evheap_push(&n->timers, &ev);
}

/*
 * The earliest live timer, or NULL. Cancelled entries (their slot's
 * generation moved on) are dropped from the top here, so that the wait
 * timeout is honest.
 */
static const casty_ev *t_top(nu_net *n)
{
    const casty_ev *t;
    while ((t = casty__evheap_peek(&n->timers)) != NULL) {
        nu_slot *s = n->slots[t->a];
        if (s->gen == t->b && s->kind == NU_TIMER)
            return t;
        casty_ev gone;
        casty__evheap_pop(&n->timers, &gone);
    }
    return NULL;
}

static int fire_timers(nu_net *n)
{
    int fired = 0;
    uint64_t now = casty__nu_now();
    const casty_ev *t;
    while ((t = t_top(n)) != NULL && t->time_ns <= now) {
        nu_slot *s = n->slots[t->a];
        casty_ev gone;
        casty__evheap_pop(&n->timers, &gone);
        casty_net_event ev = {.kind = CASTY_NET_TIMER, .handle = s->index, .tag = s->tag};
        casty_net_fn fn = s->fn;
        void *user = s->user;
        slot_free(n, s); /* one-shot: the id is dead before its callback runs */
        fn(user, &ev);
        fired++;
    }
    return fired;
}

static void do_rearms(nu_net *n)
{
    for (int i = 0; i < n->nrearm; i++) {
        nu_slot *s = n->slots[n->rearm[i]];
        s->rearm = false;
        if (s->kind == NU_LISTEN) {
            casty__nu_arm_accept(n, s);
            continue;
        }
        if (s->kind == NU_STREAM && !s->paused && s->stash_len && !s->closing) {
            /* Resumed: bytes that arrived while paused go first, in order. */
            uint8_t *stash = s->stash;
            uint32_t len = s->stash_len, gen = s->gen;
            s->stash = NULL;
            s->stash_len = s->stash_cap = 0;
            casty_net_event ev = {
                .kind = CASTY_NET_RECV, .handle = s->index, .data = stash, .len = len};
            casty__nu_deliver(s, &ev);
            casty__mem_free(stash);
            if (s->gen != gen)
                continue;
        }
        if (s->kind == NU_STREAM || s->kind == NU_UDP)
            casty__nu_arm_recv(n, s);
    }
    n->nrearm = 0;
}

int casty_net_uring_poll(casty_net *net, uint64_t timeout_ns)
{
    if (!net || net->ops != &casty__nu_ops || ((nu_net *)net)->borrowed)
        return -EINVAL; /* a shard's net is polled by its shard */
    nu_net *n = (nu_net *)net;
    uint64_t wait = timeout_ns;
    const casty_ev *top = t_top(n);
    if (top) {
        uint64_t now = casty__nu_now(), due = top->time_ns;
        uint64_t until = due > now ? due - now : 0;
        if (until < wait)
            wait = until;
    }
    if (io_uring_sq_ready(n->ring))
        n->stats.submits++;
    int rc;
    if (wait == 0 || io_uring_cq_ready(n->ring)) {
        rc = io_uring_submit_and_get_events(n->ring);
    } else {
        struct __kernel_timespec ts, *tsp = NULL;
        if (wait != UINT64_MAX) {
            ts.tv_sec = (long long)(wait / 1000000000u);
            ts.tv_nsec = (long long)(wait % 1000000000u);
            tsp = &ts;
        }
        struct io_uring_cqe *cqe;
        rc = io_uring_submit_and_wait_timeout(n->ring, &cqe, 1, tsp, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    int events = reap(n);
    events += fire_timers(n);
    do_rearms(n);
    return events;
}

/* ---- setup ---- */

static int setup_bufs(nu_net *n)
{
    uint32_t count = n->opts.buf_count;
    size_t ring_bytes = (size_t)count * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)mem;
    reg.ring_entries = count;
    reg.bgid = NU_BGID;
    int rc = io_uring_register_buf_ring(n->ring, &reg, 0);
    if (rc < 0) {
        munmap(mem, ring_bytes);
        return rc;
    }
    n->br = mem;
    n->buf_mask = count - 1;
    n->bufs = casty__mem_aligned(4096, (size_t)count * n->opts.buf_size);
    if (!n->bufs)
        return -ENOMEM;
    io_uring_buf_ring_init(n->br);
    for (uint32_t i = 0; i < count; i++)
        io_uring_buf_ring_add(n->br, n->bufs + (size_t)i * n->opts.buf_size, n->opts.buf_size,
                              (unsigned short)i, (int)n->buf_mask, (int)i);
    io_uring_buf_ring_advance(n->br, (int)count);
    return 0;
}

static int setup_ring(nu_net *n)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    p.flags |= IORING_SETUP_SUBMIT_ALL;
    n->ring = &n->own_ring;
    int rc = io_uring_queue_init_params(n->opts.entries, n->ring, &p);
    if (rc == 0) {
        n->info.single_issuer = true;
        return 0;
    }
    memset(&p, 0, sizeof(p));
    rc = io_uring_queue_init_params(n->opts.entries, n->ring, &p);
    return rc == -EPERM ? -ENOSYS : rc;
}

static int net_new(const casty_net_uring_opts *opts, nu_net **out)
{
    casty_net_uring_opts o = opts ? *opts : (casty_net_uring_opts){0};
    if (!o.entries)
        o.entries = 1024;
    if (!o.buf_size)
        o.buf_size = 32u << 10;
    if (!o.buf_count)
        o.buf_count = 128;
    if (!o.dgram_slots)
        o.dgram_slots = 1024;
    if (!o.zc_min)
        o.zc_min = UINT32_MAX; /* see net_uring.h: it did not pay on loopback */
    if ((o.buf_count & (o.buf_count - 1)) || o.buf_count > 32768 || o.buf_size < 2048 ||
        o.buf_size > (16u << 20) || o.entries > 32768 || o.dgram_slots > (1u << 20))
        return -EINVAL;
    nu_net *n = casty__mem_calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->base.ops = &casty__nu_ops;
    n->opts = o;
    casty__evheap_init(&n->timers);
    n->free_head = -1;
    *out = n;
    return 0;
}

/* What follows the ring: datagram slots and, when the kernel has them, provided buffers. */
static int net_finish(nu_net *n)
{
    n->dgrams = casty__mem_calloc(n->opts.dgram_slots, sizeof(*n->dgrams));
    if (!n->dgrams)
        return -ENOMEM;
    for (uint32_t i = 0; i < n->opts.dgram_slots; i++)
        n->dgrams[i].next_free = i + 1 < n->opts.dgram_slots ? (int)i + 1 : -1;
    n->dgram_free = 0;
    if (!n->opts.no_multishot && setup_bufs(n) == 0) {
        n->info.buf_ring = true;
        n->info.multishot_recv = true;
    }
    n->info.multishot_accept = !n->opts.no_multishot;
    struct io_uring_probe *probe = io_uring_get_probe_ring(n->ring);
    n->info.send_zc = probe && io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC) &&
                      n->opts.zc_min != UINT32_MAX;
    if (probe)
        io_uring_free_probe(probe);
    return 0;
}

int casty_net_uring_create(const casty_net_uring_opts *opts, casty_net **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    nu_net *n;
    int rc = net_new(opts, &n);
    if (rc < 0)
        return rc;
    rc = setup_ring(n);
    if (rc < 0) {
        casty__mem_free(n);
        return rc;
    }
    rc = net_finish(n);
    if (rc < 0) {
        casty_net_uring_destroy(&n->base);
        return rc;
    }
    *out = &n->base;
    return 0;
}

int casty__net_uring_attach(struct io_uring *ring, bool single_issuer,
                            const casty_net_uring_opts *opts, casty_net **out)
{
    if (!ring || !out)
        return -EINVAL;
    *out = NULL;
    nu_net *n;
    int rc = net_new(opts, &n);
    if (rc < 0)
        return rc;
    n->ring = ring;
    n->borrowed = true;
    n->info.single_issuer = single_issuer;
    rc = net_finish(n);
    if (rc < 0) {
        casty_net_uring_destroy(&n->base);
        return rc;
    }
    *out = &n->base;
    return 0;
}

void casty__net_uring_after(casty_net *net)
{
    nu_net *n = (nu_net *)net;
    fire_timers(n);
    do_rearms(n);
}

uint64_t casty__net_uring_next_timer(casty_net *net)
{
    nu_net *n = (nu_net *)net;
    const casty_ev *top = t_top(n);
    return top ? top->time_ns : UINT64_MAX;
}

void casty__net_uring_complete(casty_net *net, uint64_t user_data, int res, uint32_t flags)
{
    casty__nu_complete((nu_net *)net, user_data, res, flags);
}

void casty_net_uring_destroy(casty_net *net)
{
    if (!net)
        return;
    nu_net *n = (nu_net *)net;
    /*
     * An own ring: tearing it down first makes the kernel drop every pending
     * op. A shard's ring lives on (and is torn down right after, by the
     * shard): give back the buffer group, and closing the sockets ends
     * their operations.
     */
    if (!n->ring) {
        /* setup_ring failed: nothing else exists yet */
    } else if (n->borrowed) {
        if (n->br)
            io_uring_unregister_buf_ring(n->ring, NU_BGID);
    } else {
        io_uring_queue_exit(n->ring);
    }
    for (int i = 0; i < n->nslots; i++) {
        nu_slot *s = n->slots[i];
        if (s->fd >= 0)
            close(s->fd);
        casty__mem_free(s->rbuf);
        casty__mem_free(s->stash);
        casty__mem_free(s);
    }
    casty__mem_free(n->slots);
    casty__mem_free(n->dgrams);
    casty__evheap_free(&n->timers);
    casty__mem_free(n->rearm);
    if (n->br)
        munmap(n->br, (size_t)n->opts.buf_count * sizeof(struct io_uring_buf));
    casty__mem_free(n->bufs);
    casty__mem_free(n);
}

void casty_net_uring_info_get(casty_net *net, casty_net_uring_info *out)
{
    if (!net || !out || net->ops != &casty__nu_ops)
        return;
    *out = ((nu_net *)net)->info;
}
