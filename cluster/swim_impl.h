/*
 * Internals of SWIM, shared by cluster/swim.c (members, rumours, probes,
 * gossip, timers, the UDP path) and cluster/swim_pp.c (push-pull over TCP,
 * join).
 */
#ifndef CASTY_CLUSTER_SWIM_IMPL_H
#define CASTY_CLUSTER_SWIM_IMPL_H

#include "cluster/frame.h"
#include "core/rand.h"
#include "core/u64map.h"
#include "cluster/swim.h"
#include "cluster/swim_wire.h"

#define SW_CONFIRM_MAX 8

typedef struct sw_member {
    casty_swim_member m;
    uint64_t since; /* when it entered its state */
    /* suspicion (Lifeguard): started at `susp_start`, shrinking with confirmations */
    int susp_timer; /* -1 when none */
    uint64_t susp_start;
    uint32_t confirms;                     /* independent confirmations so far */
    uint64_t confirm_from[SW_CONFIRM_MAX]; /* [0] the originator, then the confirmers */
} sw_member;

/* A queued rumour, piggybacked until sent `limit` times. */
typedef struct sw_rumour {
    uint64_t subject;
    uint64_t order; /* newer = larger */
    uint32_t sent;
    uint8_t len;
    uint8_t bytes[32];
} sw_rumour;

/* A ping-req we relay: our ping's seq -> the origin's. */
typedef struct sw_relay {
    uint32_t seq, origin_seq;
    casty_addr origin;
    int timer;
    bool used;
} sw_relay;

typedef struct sw_pp sw_pp; /* a push-pull connection (swim_pp.c) */

struct casty_swim {
    casty_net *net;
    casty_swim_opts o;
    casty_swim_config c;
    char cluster_name[64];
    uint32_t cluster;
    bool keyed;
    uint8_t key[32];
    int udp, tcp;
    casty_addr bound, adv;
    casty_rng rng;
    /* members: index 0 is this node */
    sw_member *mem;
    uint32_t nmem, cap;
    uint32_t nalive;    /* members alive or suspect, this node included */
    uint32_t rt_limit;  /* sends per rumour, from nalive (alive_changed) */
    casty_u64map index; /* id -> member slot */
    /* probing */
    uint32_t *order;
    uint32_t norder, next, order_cap;
    bool probing, acked;
    uint64_t probe_target;
    uint32_t probe_seq, seq;
    uint32_t nacks_expected, nacks_got;
    int probe_timer, timeout_timer, gossip_timer, pp_timer;
    int gossip_soon; /* an extra round at the end of this dispatch, after a change */
    uint32_t awareness;
    /* rumours */
    sw_rumour *rum;
    uint32_t nrum, rum_cap;
    uint64_t rum_order;
    /* relays */
    sw_relay relay[64];
    /* leave */
    bool leaving;
    bool leave_reported; /* a member acked our "left"; the done timer is armed */
    uint32_t leave_seq;
    uint64_t leave_deadline;
    int leave_timer;
    void (*leave_done)(void *, int);
    void *leave_user;
    /* push-pull connections and join */
    sw_pp *pps;
    void (*join_done)(void *, int);
    void *join_user;
    casty_addr *seeds;
    uint32_t nseeds, seed_next;
    bool joined;
    uint64_t unknown_pp_at; /* last push-pull with a sender we did not know */
    int rejoin_pp_timer;    /* the follow-up push-pull after a join */
    casty_swim_stats st;
};

/* cluster/swim.c */
sw_member *casty__sw_find(casty_swim *s, uint64_t id);
void casty__sw_apply_alive(casty_swim *s, uint64_t id, uint64_t inc, const casty_addr *addr);
void casty__sw_apply_suspect(casty_swim *s, uint64_t id, uint64_t inc, uint64_t from);
void casty__sw_apply_dead(casty_swim *s, uint64_t id, uint64_t inc, uint64_t from);
uint32_t casty__sw_alive_count(const casty_swim *s);
void casty__sw_announce(casty_swim *s);
void casty__sw_gossip_now(casty_swim *s);
void casty__sw_pp_random(casty_swim *s);
void casty__sw_suspect_confirmed(casty_swim *s, uint64_t id, uint64_t inc);
uint64_t casty__sw_rand(casty_swim *s);
void casty__sw_mac(const casty_swim *s, const uint8_t *data, uint32_t len, uint8_t out[16]);

/* cluster/swim_pp.c */
int casty__sw_pp_start(casty_swim *s);
void casty__sw_pp_stop(casty_swim *s);
int casty__sw_pp_dial(casty_swim *s, const casty_addr *to, bool join);

#endif
