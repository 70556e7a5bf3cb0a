/*
 * SWIM's wire formats (sans-I/O): the UDP packet of compound messages, and
 * the push-pull state body sent over TCP inside a frame. Little-endian,
 * explicit widths; decoders never read past their input and reject anything
 * malformed (the caller counts and drops it).
 *
 * Packet:  u8 magic 0xC5 | u8 version 1 | u8 flags | u8 count
 *          u32 cluster hash | u64 sender id | count x message | [16-byte MAC]
 * Message: u8 type, then a body whose size the type fixes:
 *          PING      u32 seq, u64 target                       (12)
 *          ACK       u32 seq                                   (4)
 *          NACK      u32 seq                                   (4)
 *          PING_REQ  u32 seq, u64 target, u32 ip, u16 port     (18)
 *          ALIVE     u64 id, u64 inc, u32 ip, u16 port         (22)
 *          SUSPECT   u64 id, u64 inc, u64 from                 (24)
 *          DEAD      u64 id, u64 inc, u64 from (from == id: left) (24)
 * State:   u8 flags (1 = join) | u32 count | count x (u64 id, u64 inc,
 *          u8 state, u32 ip, u16 port) | [16-byte MAC]
 */
#ifndef CASTY_CLUSTER_SWIM_WIRE_H
#define CASTY_CLUSTER_SWIM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/swim.h"

#define SW_MAGIC    0xC5u
#define SW_VERSION  1u
#define SW_HDR      16u
#define SW_MAC      16u
#define SW_F_MAC    0x01u
#define SW_MAX_MSGS 255u

enum sw_type {
    SW_PING = 1,
    SW_ACK = 2,
    SW_NACK = 3,
    SW_PING_REQ = 4,
    SW_ALIVE = 5,
    SW_SUSPECT = 6,
    SW_DEAD = 7,
};

/* One decoded message (the fields its type uses). */
typedef struct sw_msg {
    uint8_t type;
    uint32_t seq;
    uint64_t id; /* PING/PING_REQ: target; ALIVE/SUSPECT/DEAD: subject */
    uint64_t inc;
    uint64_t from;
    casty_addr addr;
} sw_msg;

/* Body bytes of a message type (0 = unknown type). */
uint32_t casty__sw_body_len(uint8_t type);
/* Encode one message (type byte + body) into out[cap]: bytes, or 0 if it does not fit. */
uint32_t casty__sw_msg_put(const sw_msg *m, uint8_t *out, uint32_t cap);

/* Packet header into out[SW_HDR]. */
void casty__sw_hdr_put(uint8_t *out, uint8_t flags, uint8_t count, uint32_t cluster, uint64_t from);

typedef struct sw_packet {
    uint8_t flags, count;
    uint32_t cluster;
    uint64_t from;
    const uint8_t *msgs; /* count messages, back to back */
    uint32_t msgs_len;
} sw_packet;

/* Parse and validate a packet's framing (each message's type and size): 0 or -EBADMSG. */
int casty__sw_packet_parse(const uint8_t *in, uint32_t len, bool keyed, sw_packet *out);
/* The i-th message (walk with *off from 0): 0, or -EBADMSG. */
int casty__sw_msg_next(const sw_packet *p, uint32_t *off, sw_msg *out);

/* Push-pull state entry; bodies are encoded/decoded entry by entry. */
#define SW_STATE_HDR   5u
#define SW_STATE_ENTRY 27u
void casty__sw_state_hdr_put(uint8_t *out, uint8_t flags, uint32_t count);
void casty__sw_state_entry_put(uint8_t *out, const casty_swim_member *m);
/* Validate a state body (sizes, states) and return the count: >= 0, or -EBADMSG. */
int casty__sw_state_parse(const uint8_t *in, uint32_t len, bool keyed, uint8_t *flags);
void casty__sw_state_entry_get(const uint8_t *in, uint32_t i, casty_swim_member *out);

#endif
