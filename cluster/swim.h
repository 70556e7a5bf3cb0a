/*
 * SWIM membership with the Lifeguard extensions, over the network seam
 * (io/net.h): UDP datagrams for probes and gossip, a short TCP exchange for
 * push-pull state sync, the seam's timers for everything timed. The same code
 * runs on io_uring sockets (a shard, or a test thread) and in the simulator.
 *
 * Protocol, per node:
 *   - Members are alive, suspect, dead or left, each with an incarnation; only
 *     a node raises its own incarnation, to refute a rumour about itself.
 *   - Every probe interval (stretched by the local health multiplier) the
 *     next member of a shuffled round-robin list is pinged. No ack within the
 *     probe timeout: ping-req through k others (who answer ack or nack). No
 *     ack by the end of the interval: suspect it (on_local_suspect).
 *   - Lifeguard: missed acks and nacks raise the local health multiplier
 *     (slower probing, longer timeouts while this node is the sick one);
 *     suspicion starts at max and shrinks with each independent confirmation
 *     to min = suspicion_mult * log10(N) * probe_interval; a suspected member
 *     is told so in the next ping it gets (buddy system).
 *   - Updates are piggybacked on pings, acks and ping-reqs, each retransmitted
 *     retransmit_mult * log10(N+1) times, least-sent and newest first, packed
 *     to the datagram limit; a gossip round runs only when updates are queued.
 *   - Join: push-pull (full state, both ways) with a seed over TCP; periodic
 *     push-pull with a random member closes any gap.
 *   - Leave: a "left" update about itself, sent to gossip_nodes members at
 *     once and queued for piggybacking; casty_swim_leave reports when it was
 *     transmitted (or the timeout passed).
 *   - With a key, every datagram and push-pull carries a ChaCha20-Poly1305
 *     tag (and the cluster name's hash): nothing from outside the cluster can
 *     change a member's state. Malformed input is counted and dropped.
 */
#ifndef CASTY_CLUSTER_SWIM_H
#define CASTY_CLUSTER_SWIM_H

#include <stdbool.h>
#include <stdint.h>

#include "io/net.h"

typedef struct casty_swim casty_swim;

typedef enum casty_member_state {
    CASTY_MEMBER_ALIVE = 0,
    CASTY_MEMBER_SUSPECT = 1,
    CASTY_MEMBER_DEAD = 2,
    CASTY_MEMBER_LEFT = 3,
} casty_member_state;

/* Timing and fan-out; fill with one of the profile functions, then adjust. */
typedef struct casty_swim_config {
    const char *profile;            /* name printed by drivers ("lan", "local", "casty") */
    uint64_t probe_interval_ns;     /* lan 1 s */
    uint64_t probe_timeout_ns;      /* lan 500 ms */
    uint32_t indirect_checks;       /* k for ping-req; lan 3 */
    uint32_t suspicion_mult;        /* lan 4 */
    uint32_t suspicion_max_mult;    /* lan 6 */
    uint64_t gossip_interval_ns;    /* lan 200 ms */
    uint32_t gossip_nodes;          /* lan 3 */
    uint32_t retransmit_mult;       /* lan 4 */
    uint32_t awareness_max;         /* health multiplier cap; lan 8 */
    uint64_t push_pull_interval_ns; /* lan 30 s; 0 = never (joins still push-pull) */
    uint64_t dead_gossip_ns;        /* keep gossiping to dead members this long; 30 s */
    uint32_t max_dgram;             /* datagram payload limit; 1400 */
} casty_swim_config;

/* memberlist's DefaultLANConfig constants, for comparison. */
void casty_swim_config_lan(casty_swim_config *c);
/* memberlist's DefaultLocalConfig constants. */
void casty_swim_config_local(casty_swim_config *c);
/* Casty's defaults: faster detection on a LAN (see the README's membership section). */
void casty_swim_config_default(casty_swim_config *c);

typedef struct casty_swim_member {
    uint64_t id;
    casty_addr addr; /* UDP and TCP (push-pull) port of that node */
    uint64_t incarnation;
    casty_member_state state;
} casty_swim_member;

/* Events, all called on the net's thread; any may be NULL. `now` is casty_net_now(). */
typedef struct casty_swim_events {
    void *user;
    /* A member entered `state` (first ALIVE is a join; ALIVE after DEAD is a rejoin). */
    void (*on_member)(void *user, const casty_swim_member *m, casty_member_state old, uint64_t now);
    /* This node's own probe of `member` failed (direct and indirect): it starts a suspicion. */
    void (*on_local_suspect)(void *user, uint64_t member, uint64_t now);
    /* This node's suspicion timer for `member` expired: it declares it dead. */
    void (*on_suspect_timer)(void *user, uint64_t member, uint64_t now);
    /* This node refuted a suspect/dead rumour about itself. */
    void (*on_refute)(void *user, uint64_t now);
} casty_swim_events;

typedef struct casty_swim_opts {
    uint64_t node_id;     /* nonzero, unique */
    casty_addr bind;      /* UDP + TCP listen address (port 0 picks one, the same for both) */
    casty_addr advertise; /* told to others; {0} = bind (with 127.0.0.1 for 0.0.0.0) */
    const char *cluster;  /* cluster name (its hash is in every packet) */
    const uint8_t *key;   /* NULL, or 32 bytes */
    casty_swim_config config;
    casty_swim_events events;
    uint64_t seed;     /* PRNG for shuffles, targets, jitter (simulation determinism) */
    uint32_t drop_ppm; /* harness loss hook: drop this share of outgoing datagrams */
} casty_swim_opts;

typedef struct casty_swim_stats {
    uint64_t udp_sent, udp_bytes, udp_dropped; /* dropped = by the loss hook, not sent */
    uint64_t udp_recv;
    uint64_t tcp_conns, tcp_bytes; /* push-pull connections opened+accepted, bytes written */
    uint64_t bad_packets;          /* malformed, foreign or unauthentic: dropped */
    uint64_t probes, indirect_probes, acks, nacks_recv;
    uint64_t push_pulls;
    uint32_t awareness; /* current local health multiplier (0 = healthy) */
} casty_swim_stats;

/* Bind UDP and TCP, start the protocol timers. 0, or -EINVAL / -ENOMEM / a bind error. */
int casty_swim_create(casty_net *net, const casty_swim_opts *opts, casty_swim **out);

/* Stop at once, silently (a crash as far as others can tell); frees everything. */
void casty_swim_destroy(casty_swim *s);

/* Push-pull with each seed until one answers; `done` (may be NULL) gets 0 or -ETIMEDOUT. */
int casty_swim_join(casty_swim *s, const casty_addr *seeds, uint32_t nseeds,
                    void (*done)(void *user, int result), void *user);

/*
 * Leave gracefully: gossip "left" about this node; `done` gets 0 once it has
 * been transmitted to at least one member, or -ETIMEDOUT after timeout_ns.
 * The node keeps answering probes until destroyed.
 */
int casty_swim_leave(casty_swim *s, uint64_t timeout_ns, void (*done)(void *user, int result),
                     void *user);

/* Members not dead and not left, this node included. */
uint32_t casty_swim_view_size(const casty_swim *s);
/* Copy up to `cap` members (all states, this node first); returns how many exist. */
uint32_t casty_swim_members(const casty_swim *s, casty_swim_member *out, uint32_t cap);
/* One member's record: 0, or -ENOENT. */
int casty_swim_member_get(const casty_swim *s, uint64_t id, casty_swim_member *out);

void casty_swim_stats_get(const casty_swim *s, casty_swim_stats *out);
void casty_swim_stats_reset(casty_swim *s);
/* Change the loss hook at run time (the harness's loss test). */
void casty_swim_set_drop(casty_swim *s, uint32_t drop_ppm);
/* The bound address (UDP and TCP). */
casty_addr casty_swim_local_addr(const casty_swim *s);

#endif
