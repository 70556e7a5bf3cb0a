/*
 * Node-to-node transport: one TCP connection per node pair carrying frames
 * (cluster/frame.h), over the network seam (io/net.h), so the same code runs
 * on io_uring sockets and in the simulator.
 *
 *   - Handshake: cluster name, protocol version, node id, incarnation and the
 *     advertised address are exchanged; any mismatch is refused with a REFUSE
 *     frame and reported on both sides (on_refused).
 *   - Optional shared key (libsodium): the handshake proves the key with
 *     HMAC-SHA256 over both nonces, and every later frame carries a 16-byte
 *     ChaCha20-Poly1305 tag over its header and payload with a per-direction
 *     sequence number as nonce (payloads optionally encrypted too). A node
 *     without the key is refused; a tampered frame is dropped and counted.
 *   - Two lanes per peer: control (membership, acks) is always sent before
 *     data, and data frames larger than frag_size are cut into fragments so a
 *     large message never holds the control lane back for more than one batch.
 *   - Batched writes: frames queued during a turn leave in one sendmsg per peer
 *     (flushed at the end of the current dispatch, or by casty_transport_flush).
 *   - Bounded queues: send returns -EAGAIN when a lane is full; on_writable
 *     tells the sender when it has drained to half.
 *   - Reconnect with exponential backoff and jitter to every peer added with
 *     casty_transport_add_peer. Frames not yet handed to the kernel survive a
 *     reconnect; frames in flight when a connection breaks (in our pending
 *     send, counted, or already in the kernel's buffers) are lost: delivery
 *     is at most once, in order, per connection.
 *   - Simultaneous dials resolve deterministically: the connection dialed by
 *     the lower node id wins.
 *
 * Single-threaded: a transport belongs to the thread that polls its net.
 */
#ifndef CASTY_CLUSTER_TRANSPORT_H
#define CASTY_CLUSTER_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/frame.h"
#include "io/net.h"

typedef struct casty_transport casty_transport;

#define CASTY_TRANSPORT_KEY_LEN 32u

typedef struct casty_transport_config {
    const char *cluster;  /* 1..63 printable bytes */
    uint64_t node_id;     /* nonzero, unique in the cluster */
    uint64_t incarnation; /* bumped by the owner on every restart */
    casty_addr listen;    /* bind address; port 0 picks one */
    casty_addr advertise; /* told to peers; {0} = the bound listen address */
    const uint8_t *key;   /* NULL, or CASTY_TRANSPORT_KEY_LEN bytes */
    bool encrypt;         /* with a key: also encrypt payloads */
    uint32_t max_message; /* largest application payload; 0 = 16 MiB */
    uint32_t frag_size;   /* data payloads above this are fragmented; 0 = 64 KiB */
    uint32_t queue_bytes; /* per peer and lane; 0 = 8 MiB */
    uint32_t batch_bytes; /* per send; 0 = 256 KiB */
    uint64_t backoff_min_ns, backoff_max_ns; /* reconnect; 0 = 20 ms, 2 s */
    uint32_t backoff_jitter_pct;             /* 0..100; default 0 means 20 */
    uint64_t handshake_timeout_ns;           /* 0 = 5 s */
    uint64_t seed;                           /* jitter PRNG (simulation determinism) */
    bool nonces_from_seed; /* simulation only: handshake nonces from `seed`, so a run replays
                              exactly; refused (-EINVAL) together with a key */
} casty_transport_config;

typedef enum casty_peer_event {
    CASTY_PEER_UP = 1, /* handshake done; frames flow */
    CASTY_PEER_DOWN,   /* connection lost; `reason` is a negative errno */
} casty_peer_event;

typedef struct casty_transport_callbacks {
    void *user;
    /* An application frame (type in CASTY_FRAME_APP_MIN..MAX), reassembled if fragmented. */
    void (*on_frame)(void *user, uint64_t peer, uint8_t type, const uint8_t *payload, uint32_t len);
    void (*on_peer)(void *user, uint64_t peer, casty_peer_event ev, const casty_addr *addr,
                    uint64_t incarnation, int reason);
    /* A lane that returned -EAGAIN to this peer has drained to half. */
    void (*on_writable)(void *user, uint64_t peer);
    /* A handshake was refused, by us (`by_us`) or by the peer. */
    void (*on_refused)(void *user, const casty_addr *addr, int code, const char *reason,
                       bool by_us);
} casty_transport_callbacks;

typedef struct casty_transport_stats {
    uint64_t frames_sent, frames_recv;
    uint64_t bytes_sent, bytes_recv;
    uint64_t sends; /* sendmsg operations (frames_sent / sends = batch) */
    uint64_t connects, accepts, handshakes, refused, reconnects;
    uint64_t mac_failures;   /* frames dropped: bad tag */
    uint64_t decode_errors;  /* streams closed: corrupt framing */
    uint64_t lost_in_flight; /* frames handed to a connection that broke */
    uint64_t dropped_eagain; /* sends refused because a lane was full */
} casty_transport_stats;

/* Bind and listen. 0, or -EINVAL (bad config), -ENOMEM, or the bind error. */
int casty_transport_create(casty_net *net, const casty_transport_config *cfg,
                           const casty_transport_callbacks *cb, casty_transport **out);
/* Close every connection and free everything; no callbacks after this. */
void casty_transport_destroy(casty_transport *t);

/* The bound listen address (useful with port 0). */
int casty_transport_local_addr(casty_transport *t, casty_addr *out);

/*
 * Keep a connection to `addr`: dial now, re-dial with backoff whenever it
 * drops. node_id 0 = not known yet (a seed); it is learned in the handshake.
 */
int casty_transport_add_peer(casty_transport *t, uint64_t node_id, const casty_addr *addr);
/* Forget a peer: close its connection, drop its queues (counted). */
int casty_transport_remove_peer(casty_transport *t, uint64_t node_id);

#define CASTY_SEND_CONTROL 0x1u /* control lane */

/*
 * Queue one frame to `peer` (a node id learned from a handshake or given to
 * add_peer). 0; -EAGAIN (lane full: wait for on_writable); -ENOTCONN (unknown
 * peer); -EMSGSIZE (len above max_message, or a control frame above
 * frag_size); -EINVAL (type outside the application range).
 */
int casty_transport_send(casty_transport *t, uint64_t peer, uint8_t type, uint32_t flags,
                         const void *payload, uint32_t len);

/* Hand every queued frame to the network now (else: at the end of this dispatch). */
void casty_transport_flush(casty_transport *t);

/* Stop (true) or resume reading from `peer` (receiver-side backpressure). */
int casty_transport_pause(casty_transport *t, uint64_t peer, bool paused);

/* Is `peer` connected (handshake done)? */
bool casty_transport_connected(casty_transport *t, uint64_t peer);

void casty_transport_stats_get(casty_transport *t, casty_transport_stats *out);

#endif
