/*
 * A transport node for tests: one net (io_uring or simulated), one transport,
 * and counters of everything its callbacks saw. Frames carrying a sequence
 * number (first 8 bytes, little-endian) are checked for order per peer.
 */
#ifndef CASTY_TEST_TNODE_H
#define CASTY_TEST_TNODE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cluster/transport.h"
#include "io/net.h"

#define TN_MAX_PEERS 8

typedef struct tnode {
    casty_net *net;
    casty_transport *t;
    uint64_t id;
    int ups, downs, writable, refused_by_us, refused_by_peer;
    int last_refuse_code;
    char last_refuse_reason[128];
    uint64_t last_up_inc;
    uint64_t frames;       /* application frames received */
    uint64_t bytes;        /* their payload bytes */
    uint64_t out_of_order; /* sequenced frames that did not follow the previous */
    uint64_t next_seq[TN_MAX_PEERS + 1];
    uint8_t last_type;
    uint32_t last_len;
    uint64_t control_before_data; /* control frames seen while a big data frame was pending */
    bool big_seen;
    uint8_t order[64]; /* types of the first 64 frames, in arrival order */
} tnode;

static inline uint64_t tn_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void tn_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#define TN_SEQ_TYPE   40 /* payload starts with a per-peer sequence number */
#define TN_PLAIN_TYPE 41
#define TN_BIG_TYPE   42
#define TN_CTRL_TYPE  43

static inline void tn_on_frame(void *user, uint64_t peer, uint8_t type, const uint8_t *payload,
                               uint32_t len)
{
    tnode *n = user;
    if (n->frames < sizeof(n->order))
        n->order[n->frames] = type;
    n->frames++;
    n->bytes += len;
    n->last_type = type;
    n->last_len = len;
    if (type == TN_SEQ_TYPE && len >= 8 && peer <= TN_MAX_PEERS) {
        uint64_t seq = tn_get64(payload);
        if (seq != n->next_seq[peer])
            n->out_of_order++;
        n->next_seq[peer] = seq + 1;
    }
    if (type == TN_BIG_TYPE) {
        n->big_seen = true;
        /* The content is a pattern: any corruption or misassembly shows. */
        for (uint32_t i = 0; i < len; i++)
            if (payload[i] != (uint8_t)(i * 7 + 3)) {
                n->out_of_order++;
                break;
            }
    }
    if (type == TN_CTRL_TYPE && !n->big_seen)
        n->control_before_data++;
}

static inline void tn_on_peer(void *user, uint64_t peer, casty_peer_event ev,
                              const casty_addr *addr, uint64_t inc, int reason)
{
    (void)peer;
    (void)addr;
    (void)reason;
    tnode *n = user;
    if (ev == CASTY_PEER_UP) {
        n->ups++;
        n->last_up_inc = inc;
    } else {
        n->downs++;
    }
}

static inline void tn_on_writable(void *user, uint64_t peer)
{
    (void)peer;
    ((tnode *)user)->writable++;
}

static inline void tn_on_refused(void *user, const casty_addr *addr, int code, const char *reason,
                                 bool by_us)
{
    (void)addr;
    tnode *n = user;
    if (by_us)
        n->refused_by_us++;
    else
        n->refused_by_peer++;
    n->last_refuse_code = code;
    snprintf(n->last_refuse_reason, sizeof(n->last_refuse_reason), "%s", reason);
}

static inline void tn_config(casty_transport_config *cfg, const char *cluster, uint64_t id)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->cluster = cluster;
    cfg->node_id = id;
    cfg->incarnation = 1;
    cfg->listen.ip = 0x7f000001u;
    cfg->backoff_min_ns = 5000000; /* tests want quick reconnects */
    cfg->backoff_max_ns = 50000000;
    cfg->seed = id;
}

static inline int tn_start(tnode *n, casty_net *net, const casty_transport_config *cfg)
{
    memset(n, 0, sizeof(*n));
    n->net = net;
    n->id = cfg->node_id;
    casty_transport_callbacks cb = {.user = n,
                                    .on_frame = tn_on_frame,
                                    .on_peer = tn_on_peer,
                                    .on_writable = tn_on_writable,
                                    .on_refused = tn_on_refused};
    return casty_transport_create(net, cfg, &cb, &n->t);
}

static inline casty_addr tn_addr(tnode *n)
{
    casty_addr a;
    casty_transport_local_addr(n->t, &a);
    return a;
}

#endif
