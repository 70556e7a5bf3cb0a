/*
 * Wire frames: the unit of everything Casty sends between nodes over TCP.
 *
 * Sans-I/O: pure functions over buffers, no sockets, no clocks. The streaming
 * decoder accepts any split of its input (byte by byte included) and never
 * trusts it: the header is checked before any allocation, the length is
 * bounded by the decoder's max_frame, and a bad magic, version, type,
 * length or checksum is counted and reported as an error (the stream is then
 * unusable, because framing is lost, and the caller closes the connection).
 *
 * Layout (little-endian), 12-byte header then payload then optional MAC:
 *
 *   0  u8  magic    0xCA
 *   1  u8  version  CASTY_FRAME_VERSION
 *   2  u8  type     casty_frame_type
 *   3  u8  flags    CASTY_FRAME_F_*
 *   4  u32 len      payload bytes (the MAC is not counted)
 *   8  u32 check    low 32 bits of XXH3_64bits_withSeed(payload, len, seed)
 *                   where seed = the header's bytes 0..7 read as a u64 (LE),
 *                   so a flipped header bit fails the check too
 *   12 ..  payload
 *   .. [16] MAC     present iff CASTY_FRAME_F_MAC (computed by the transport)
 */
#ifndef CASTY_CLUSTER_FRAME_H
#define CASTY_CLUSTER_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CASTY_FRAME_MAGIC     0xCAu
#define CASTY_FRAME_VERSION   1u
#define CASTY_FRAME_HDR       12u
#define CASTY_FRAME_MAC_LEN   16u
#define CASTY_FRAME_MAX_LIMIT (64u << 20) /* no decoder accepts more than 64 MiB */

/* Frame types. Anything else is rejected and counted. */
typedef enum casty_frame_type {
    CASTY_FRAME_HELLO = 1,   /* handshake: dialer -> acceptor (casty_hello) */
    CASTY_FRAME_WELCOME = 2, /* handshake: acceptor -> dialer (casty_hello) */
    CASTY_FRAME_REFUSE = 3,  /* handshake refused (casty_refuse), then close */
    CASTY_FRAME_AUTH = 4,    /* handshake: dialer's proof of the key (32-byte MAC) */
    CASTY_FRAME_PING = 5,    /* keepalive, empty */
    CASTY_FRAME_PONG = 6,    /* keepalive answer, empty */
    CASTY_FRAME_CLOSE = 7,   /* orderly goodbye (casty_refuse carries the reason) */
    CASTY_FRAME_FRAG = 8,    /* a fragment of a large data frame (see transport) */
    /* Application frames: passed to the transport's user untouched. */
    CASTY_FRAME_APP_MIN = 32,
    CASTY_FRAME_APP_MAX = 127,
} casty_frame_type;

/* Flags. Unknown bits are rejected. */
#define CASTY_FRAME_F_MAC     0x01u /* a 16-byte MAC follows the payload */
#define CASTY_FRAME_F_CONTROL 0x02u /* control lane (membership, acks): never queued behind data */
#define CASTY_FRAME_F_MORE    0x04u /* FRAG: more fragments follow */
#define CASTY_FRAME_F_KNOWN   0x07u

/*
 * A decoded frame; the pointers stay valid until the next decoder call. The
 * frame is contiguous in memory: its header is at payload - CASTY_FRAME_HDR.
 */
typedef struct casty_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t len;
    const uint8_t *payload;
    const uint8_t *mac; /* NULL unless CASTY_FRAME_F_MAC */
} casty_frame;

typedef struct casty_frame_stats {
    uint64_t frames;    /* frames decoded */
    uint64_t bad_magic; /* errors, each counted once per stream */
    uint64_t bad_version;
    uint64_t bad_type;
    uint64_t bad_flags;
    uint64_t too_large;
    uint64_t bad_checksum;
} casty_frame_stats;

typedef struct casty_frame_decoder {
    uint32_t max_frame; /* payload limit, <= CASTY_FRAME_MAX_LIMIT */
    uint32_t need;      /* bytes of the current frame (header+payload+mac) */
    uint32_t have;      /* bytes of the current frame collected in buf */
    uint32_t cap;       /* buf capacity */
    uint8_t *buf;       /* partial frame; grown only after its header checked out */
    int error;          /* sticky: once set, every call returns it */
    casty_frame_stats stats;
} casty_frame_decoder;

/*
 * max_frame 0 picks 1 MiB. -EINVAL if above CASTY_FRAME_MAX_LIMIT, -ENOMEM if
 * the small initial buffer cannot be allocated (it holds a partial header,
 * which must be kept before it can be checked). Release with _free().
 */
int casty_frame_decoder_init(casty_frame_decoder *d, uint32_t max_frame);
void casty_frame_decoder_free(casty_frame_decoder *d);

/*
 * Feed `len` bytes. Consumes what it can (*consumed) and returns 1 with *out
 * filled when a whole frame is ready, 0 when everything was consumed and no
 * frame is complete yet, or a negative code when the stream is corrupt
 * (-EBADMSG magic/version/flags/type, -EMSGSIZE too large, -EILSEQ checksum;
 * sticky). Call again with the rest of the input after a 1. A frame lying
 * wholly inside `in` is returned without copying.
 */
int casty_frame_decode(casty_frame_decoder *d, const uint8_t *in, size_t len, size_t *consumed,
                       casty_frame *out);

/*
 * Write a frame header for `payload` into hdr[CASTY_FRAME_HDR]. The caller
 * places the payload (and the MAC, if flags has CASTY_FRAME_F_MAC) after it.
 * 0, or -EINVAL (unknown type or flags) / -EMSGSIZE (len above the limit).
 */
int casty_frame_header(uint8_t hdr[CASTY_FRAME_HDR], uint8_t type, uint8_t flags,
                       const void *payload, uint32_t len);

/* Is `type` a known frame type? */
bool casty_frame_type_known(uint8_t type);

/* ---- handshake bodies (HELLO / WELCOME, REFUSE / CLOSE) ---- */

#define CASTY_PROTO_VERSION    1u
#define CASTY_CLUSTER_NAME_MAX 63u
#define CASTY_NONCE_LEN        32u
#define CASTY_HELLO_MAC_LEN    32u

#define CASTY_HELLO_F_KEYED 0x1u /* the sender is configured with a shared key */

typedef struct casty_hello {
    uint16_t proto_version;
    uint16_t flags;                           /* CASTY_HELLO_F_* */
    char cluster[CASTY_CLUSTER_NAME_MAX + 1]; /* NUL-terminated, 1..63 bytes, printable */
    uint64_t node_id;                         /* nonzero */
    uint64_t incarnation;
    uint32_t adv_ip; /* the address the sender listens on (host order) */
    uint16_t adv_port;
    uint8_t nonce[CASTY_NONCE_LEN];
    bool has_mac;                     /* WELCOME of a keyed acceptor */
    uint8_t mac[CASTY_HELLO_MAC_LEN]; /* proof of the key over both nonces */
} casty_hello;

/* Refusal reasons (also used by CLOSE). */
typedef enum casty_refuse_code {
    CASTY_REFUSE_CLUSTER = 1,   /* different cluster name */
    CASTY_REFUSE_VERSION = 2,   /* unsupported protocol version */
    CASTY_REFUSE_AUTH = 3,      /* key missing, different, or proof wrong */
    CASTY_REFUSE_NODE_ID = 4,   /* node id clash (same id as the acceptor) or zero */
    CASTY_REFUSE_DUPLICATE = 5, /* the pair already has a connection (tie-break loser) */
    CASTY_REFUSE_SHUTDOWN = 6,  /* the node is leaving */
    CASTY_REFUSE_PROTOCOL = 7,  /* malformed handshake */
} casty_refuse_code;

typedef struct casty_refuse {
    uint16_t code;    /* casty_refuse_code */
    char reason[128]; /* NUL-terminated human-readable text */
} casty_refuse;

/* Encode into out[cap]: bytes written, or -ENOSPC / -EINVAL (bad field). */
int casty_hello_encode(const casty_hello *h, uint8_t *out, size_t cap);
/* Decode and validate: 0, or -EBADMSG (truncated, trailing bytes, bad name...). */
int casty_hello_decode(const uint8_t *in, size_t len, casty_hello *out);
int casty_refuse_encode(const casty_refuse *r, uint8_t *out, size_t cap);
int casty_refuse_decode(const uint8_t *in, size_t len, casty_refuse *out);

#endif
