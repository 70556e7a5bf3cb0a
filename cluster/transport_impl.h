/*
 * Internals of the transport, shared by cluster/transport.c (peers, lanes,
 * batching, reconnects, the public calls) and cluster/transport_conn.c (one
 * connection: handshake, authentication, frame dispatch, fragments).
 */
#ifndef CASTY_CLUSTER_TRANSPORT_IMPL_H
#define CASTY_CLUSTER_TRANSPORT_IMPL_H

#include "cluster/auth.h"
#include "cluster/frame.h"
#include "cluster/sendq.h"
#include "cluster/transport.h"
#include "core/u64map.h"

#define T_MAX_IOV 64

enum t_lane { T_CONTROL = 0, T_DATA = 1 };

enum t_state {
    TC_CONNECTING, /* dialer: TCP connect in flight */
    TC_HELLO_SENT, /* dialer: waiting for WELCOME */
    TC_WAIT_HELLO, /* acceptor: waiting for HELLO */
    TC_WAIT_AUTH,  /* acceptor (keyed): WELCOME sent, waiting for AUTH */
    TC_UP,         /* handshake done: application frames flow */
    TC_CLOSING,    /* a REFUSE/CLOSE is being sent; then the socket closes */
    TC_DEAD,       /* closed; freed at the end of the current dispatch */
};

typedef struct t_peer t_peer;
typedef struct t_conn t_conn;

struct t_peer {
    uint64_t id; /* 0 until a seed's handshake tells it */
    casty_addr addr;
    uint64_t incarnation;
    bool wanted;  /* keep it connected (add_peer) */
    bool removed; /* freed at the end of the current dispatch */
    t_conn *conn; /* TC_UP connection, or NULL */
    t_conn *dialing;
    casty_sendq lane[2];
    bool blocked[2];
    uint64_t backoff_ns;
    int redial_timer; /* -1 when none */
    t_peer *next;
};

struct t_conn {
    casty_transport *t;
    int h; /* net handle, -1 once closed */
    uint8_t state;
    bool dialer;
    bool busy;  /* a send is in flight */
    bool dirty; /* on the flush list */
    bool keyed;
    casty_addr addr;
    t_peer *peer; /* dialer: from the start; acceptor: once identified */
    uint64_t peer_id, peer_inc;
    uint8_t nonce_d[CASTY_NONCE_LEN], nonce_a[CASTY_NONCE_LEN];
    casty_auth_session auth;
    casty_frame_decoder dec;
    casty_sendq hs; /* handshake frames, sent before any lane */
    uint64_t inflight_frames;
    int hs_timer;
    /* fragment reassembly (data lane only, one message at a time) */
    uint8_t *frag;
    uint32_t frag_have, frag_total;
    uint8_t frag_type;
    /* decrypted payloads */
    uint8_t *plain;
    uint32_t plain_cap;
    struct iovec iov[T_MAX_IOV];
    t_conn *next;       /* all connections */
    t_conn *dirty_next; /* flush list */
};

struct casty_transport {
    casty_net *net;
    casty_transport_config cfg;
    casty_transport_callbacks cb;
    char cluster[CASTY_CLUSTER_NAME_MAX + 1];
    uint8_t key[CASTY_AUTH_KEY_LEN];
    bool keyed;
    int listener;
    casty_addr bound;
    t_peer *peers;      /* every record, for teardown and reaping */
    casty_u64map by_id; /* node id -> t_peer*, records with a known id that are not removed */
    t_conn *conns;
    t_conn *dirty;
    int flush_timer; /* -1 when none */
    int depth;       /* nesting of dispatches; frees wait until 0 */
    bool reap_wanted;
    uint64_t rng;
    casty_transport_stats stats;
};

/* cluster/transport.c */
uint64_t casty__t_rng(casty_transport *t);
void casty__t_nonce(casty_transport *t, uint8_t *out);
t_peer *casty__t_peer_find(casty_transport *t, uint64_t id);
t_peer *casty__t_peer_new(casty_transport *t, uint64_t id, const casty_addr *addr);
int casty__t_peer_set_id(casty_transport *t, t_peer *p, uint64_t id);
void casty__t_mark_dirty(t_conn *c);
void casty__t_enter(casty_transport *t);
void casty__t_leave(casty_transport *t);
int casty__t_enqueue(casty_sendq *q, uint8_t type, uint8_t flags, const void *payload,
                     uint32_t len);
int casty__t_enqueue2(casty_sendq *q, uint8_t type, uint8_t flags, const void *prefix,
                      uint32_t plen, const void *payload, uint32_t len);
void casty__t_sent(t_conn *c, int result);
void casty__t_conn_gone(t_conn *c, int reason);
void casty__t_peer_up(t_conn *c, t_peer *p);

/* cluster/transport_conn.c */
t_conn *casty__t_conn_new(casty_transport *t, int h, bool dialer, const casty_addr *addr);
void casty__t_conn_drop(t_conn *c, int reason);
void casty__t_conn_refuse(t_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void casty__t_conn_event(void *user, const casty_net_event *ev);
void casty__t_conn_free(t_conn *c);

#endif
