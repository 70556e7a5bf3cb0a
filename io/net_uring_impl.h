/*
 * Internals of the io_uring net backend, shared by io/net_uring.c (ring,
 * slots, buffers, timers, completion dispatch) and io/net_uring_ops.c (the
 * casty_net_ops functions). Nothing outside io/ includes this.
 */
#ifndef CASTY_IO_NET_URING_IMPL_H
#define CASTY_IO_NET_URING_IMPL_H

#include <liburing.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "io/evheap.h"
#include "io/net_uring.h"

#define NU_MAX_IOV 64
#define NU_BGID    7 /* our provided-buffer group id */

enum nu_kind { NU_FREE, NU_LISTEN, NU_STREAM, NU_UDP, NU_TIMER };

/* What a completion belongs to: the low byte of user_data. */
enum nu_op {
    NU_OP_ACCEPT = 1,
    NU_OP_CONNECT,
    NU_OP_RECV,
    NU_OP_SEND,
    NU_OP_URECV,
    NU_OP_USEND,  /* slot field names the datagram buffer, not a handle */
    NU_OP_CANCEL, /* result ignored */
};

/*
 * One handle. Slots never move (the kernel holds pointers into them: msghdr,
 * iovecs, sockaddr), so the table is an array of pointers.
 */
typedef struct nu_slot {
    uint8_t kind;
    bool closing;    /* closed by the owner; freed when `pending` reaches 0 */
    bool recv_armed; /* a recv/accept is in the kernel */
    bool paused;
    bool send_busy;
    bool ended;     /* CLOSED (or a failed CONNECT) was delivered */
    bool rearm;     /* needs its recv/accept re-armed at the end of this poll */
    bool multishot; /* the armed recv/accept is multishot */
    uint32_t gen;
    int fd;
    int index;
    uint32_t pending; /* completions the kernel still owes this slot */
    casty_net_fn fn;
    void *user;
    /* stream send in flight */
    struct msghdr smsg;
    struct iovec siov[NU_MAX_IOV];
    uint64_t stag;
    uint64_t sdone, stotal;
    int zc_res; /* a zero-copy send's result, held until its notification */
    /* one-shot receive buffer (fallback), or datagram msghdr for multishot */
    uint8_t *rbuf;
    struct msghdr rmsg;
    struct iovec riov;
    struct sockaddr_in rsa;
    /* bytes received while paused, delivered on resume */
    uint8_t *stash;
    uint32_t stash_len, stash_cap;
    /* connect target; bound address */
    struct sockaddr_in sa;
    /* timers */
    uint64_t deadline;
    uint64_t tag;
    int next_free;
} nu_slot;

/* A datagram queued for sending: copied, so the caller's buffer is free at once. */
typedef struct nu_dgram {
    struct msghdr mh;
    struct iovec iov;
    struct sockaddr_in sa;
    int slot;
    int next_free;
    uint8_t data[CASTY_NET_DGRAM_MAX];
} nu_dgram;

typedef struct nu_net {
    casty_net base;
    struct io_uring *ring; /* own_ring, or a shard's (borrowed) */
    struct io_uring own_ring;
    bool borrowed;
    casty_net_uring_opts opts;
    casty_net_uring_info info;
    nu_slot **slots;
    int nslots, slots_cap, free_head;
    nu_dgram *dgrams;
    int dgram_free;
    /* provided buffers */
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    uint32_t buf_mask;
    /* timers: a binary min-heap; cancelled entries are skipped lazily */
    casty_evheap timers; /* cancelled entries are skipped when they surface */
    uint64_t tseq;
    /* slots to re-arm after the current dispatch */
    int *rearm;
    int nrearm, rearm_cap;
    casty_net_stats stats;
} nu_net;

static inline uint64_t nu_ud(int op, int slot, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint64_t)(uint32_t)slot << 8 | (uint64_t)op;
}

/* io/net_uring.c */
struct io_uring_sqe *casty__nu_sqe(nu_net *n);
void casty__nu_complete(nu_net *n, uint64_t ud, int res, uint32_t flags);
nu_slot *casty__nu_slot_new(nu_net *n, uint8_t kind);
nu_slot *casty__nu_slot_get(nu_net *n, int h);
void casty__nu_slot_release(nu_net *n, nu_slot *s);
void casty__nu_arm_recv(nu_net *n, nu_slot *s);
void casty__nu_want_rearm(nu_net *n, nu_slot *s);
void casty__nu_arm_accept(nu_net *n, nu_slot *s);
void casty__nu_submit_send(nu_net *n, nu_slot *s);
int casty__nu_timer_push(nu_net *n, nu_slot *s);
uint64_t casty__nu_now(void);
void casty__nu_deliver(nu_slot *s, const casty_net_event *ev);

/* io/net_uring_ops.c */
extern const casty_net_ops casty__nu_ops;

#endif
