/*
 * Wire frames and handshake bodies (see frame.h for the layout and the
 * contracts). Pure: no I/O, no clock, no globals. A decoder belongs to one
 * connection and is used by one thread at a time; the other functions may be
 * called from any thread.
 *
 * The decoder's invariants: have <= need <= max_frame + HDR + MAC once the
 * header is known (need == 0 before), cap never exceeds that bound, and the
 * buffer grows only after the header in it passed check_header(), so a
 * peer's length field alone can never make us allocate more than one
 * maximal frame.
 */
#include "cluster/frame.h"

#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "cluster/le.h"

#define DEFAULT_MAX_FRAME (1u << 20)

/*
 * Allocated once at init: it holds a partial header (which must be kept
 * somewhere before it can be checked) and small frames split across reads,
 * so keepalives and typical messages never make the buffer grow.
 */
#define INITIAL_CAP 256u

bool casty_frame_type_known(uint8_t type)
{
    if (type >= CASTY_FRAME_HELLO && type <= CASTY_FRAME_FRAG)
        return true;
    return type >= CASTY_FRAME_APP_MIN && type <= CASTY_FRAME_APP_MAX;
}

/* The header's check field: the payload hashed with the header's first 8 bytes as the seed. */
static uint32_t frame_check(const uint8_t *hdr, const void *payload, uint32_t len)
{
    /* XXH3 reads nothing when len is 0, but a NULL source is still best kept from it. */
    static const uint8_t empty[1];
    return (uint32_t)XXH3_64bits_withSeed(len ? payload : empty, len, casty__le_get64(hdr));
}

int casty_frame_header(uint8_t hdr[CASTY_FRAME_HDR], uint8_t type, uint8_t flags,
                       const void *payload, uint32_t len)
{
    if (!hdr)
        return -EINVAL;
    if (!payload && len)
        return -EINVAL;
    if (!casty_frame_type_known(type) || (flags & ~CASTY_FRAME_F_KNOWN))
        return -EINVAL;
    if (len > CASTY_FRAME_MAX_LIMIT)
        return -EMSGSIZE;
    hdr[0] = CASTY_FRAME_MAGIC;
    hdr[1] = CASTY_FRAME_VERSION;
    hdr[2] = type;
    hdr[3] = flags;
    casty__le_put32(hdr + 4, len);
    casty__le_put32(hdr + 8, frame_check(hdr, payload, len));
    return 0;
}

/* The most bytes one frame can occupy in this decoder's buffer. */
static uint32_t frame_limit(const casty_frame_decoder *d)
{
    return d->max_frame + CASTY_FRAME_HDR + CASTY_FRAME_MAC_LEN;
}

int casty_frame_decoder_init(casty_frame_decoder *d, uint32_t max_frame)
{
    if (!d)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    if (max_frame > CASTY_FRAME_MAX_LIMIT)
        return -EINVAL;
    d->max_frame = max_frame ? max_frame : DEFAULT_MAX_FRAME;
    uint32_t cap = frame_limit(d) < INITIAL_CAP ? frame_limit(d) : INITIAL_CAP;
    d->buf = casty__mem_alloc(cap);
    if (!d->buf)
        return -ENOMEM;
    d->cap = cap;
    return 0;
}

void casty_frame_decoder_free(casty_frame_decoder *d)
{
    if (!d)
        return;
    casty__mem_free(d->buf);
    /* Stats and the sticky error stay readable; a later decode call sees buf == NULL. */
    d->buf = NULL;
    d->cap = 0;
    d->have = 0;
    d->need = 0;
}

/* Every stream error is counted here, once: the error is sticky, so no later call gets here. */
static int fail(casty_frame_decoder *d, uint64_t *counter, int err)
{
    (*counter)++;
    d->error = err;
    return err;
}

/* Checks a complete header against the decoder's limits and sets *need to the frame's size. */
static int check_header(casty_frame_decoder *d, const uint8_t *h, uint32_t *need)
{
    if (h[0] != CASTY_FRAME_MAGIC)
        return fail(d, &d->stats.bad_magic, -EBADMSG);
    if (h[1] != CASTY_FRAME_VERSION)
        return fail(d, &d->stats.bad_version, -EBADMSG);
    if (!casty_frame_type_known(h[2]))
        return fail(d, &d->stats.bad_type, -EBADMSG);
    if (h[3] & ~CASTY_FRAME_F_KNOWN)
        return fail(d, &d->stats.bad_flags, -EBADMSG);
    uint32_t len = casty__le_get32(h + 4);
    if (len > d->max_frame)
        return fail(d, &d->stats.too_large, -EMSGSIZE);
    uint32_t mac = (h[3] & CASTY_FRAME_F_MAC) ? CASTY_FRAME_MAC_LEN : 0;
    *need = CASTY_FRAME_HDR + len + mac; /* <= CASTY_FRAME_MAX_LIMIT + 28: no overflow */
    return 0;
}

/* Verifies the checksum of the whole frame at f (header already checked) and fills *out. */
static int finish(casty_frame_decoder *d, const uint8_t *f, casty_frame *out)
{
    uint32_t len = casty__le_get32(f + 4);
    if (casty__le_get32(f + 8) != frame_check(f, f + CASTY_FRAME_HDR, len))
        return fail(d, &d->stats.bad_checksum, -EILSEQ);
    out->type = f[2];
    out->flags = f[3];
    out->len = len;
    out->payload = f + CASTY_FRAME_HDR;
    out->mac = (f[3] & CASTY_FRAME_F_MAC) ? f + CASTY_FRAME_HDR + len : NULL;
    d->stats.frames++;
    return 1;
}

/*
 * Geometric growth (fewer copies for a large frame arriving in many reads),
 * clamped to the one-frame bound. need was validated, so need <= the bound.
 */
static int reserve(casty_frame_decoder *d, uint32_t need)
{
    if (need <= d->cap)
        return 0;
    uint64_t cap = (uint64_t)d->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > frame_limit(d))
        cap = frame_limit(d);
    uint8_t *p = casty__mem_realloc(d->buf, (size_t)cap);
    if (!p)
        return -ENOMEM;
    d->buf = p;
    d->cap = (uint32_t)cap;
    return 0;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/*
 * The slow path: the frame spans calls, so its bytes are collected in d->buf.
 * Takes the header first (at most 12 bytes, which fit the initial buffer),
 * checks it, and only then grows the buffer for the rest. -ENOMEM is not
 * sticky: the state is left as it was, so a later call retries the growth.
 */
static int collect(casty_frame_decoder *d, const uint8_t *in, size_t len, size_t *consumed,
                   casty_frame *out)
{
    size_t pos = 0;
    if (d->have < CASTY_FRAME_HDR) {
        pos = min_size(CASTY_FRAME_HDR - d->have, len);
        memcpy(d->buf + d->have, in, pos);
        d->have += (uint32_t)pos;
        *consumed = pos;
        if (d->have < CASTY_FRAME_HDR)
            return 0;
        int rc = check_header(d, d->buf, &d->need);
        if (rc < 0)
            return rc;
    }
    int rc = reserve(d, d->need);
    if (rc < 0)
        return rc;
    size_t n = min_size(d->need - d->have, len - pos);
    memcpy(d->buf + d->have, in + pos, n);
    d->have += (uint32_t)n;
    *consumed = pos + n;
    if (d->have < d->need)
        return 0;
    d->have = 0;
    d->need = 0;
    return finish(d, d->buf, out);
}

int casty_frame_decode(casty_frame_decoder *d, const uint8_t *in, size_t len, size_t *consumed,
                       casty_frame *out)
{
    if (!d || !consumed || !out || (!in && len))
        return -EINVAL;
    *consumed = 0;
    if (d->error)
        return d->error;
    /* Never initialised, or already freed. */
    if (!d->buf || d->max_frame == 0 || d->max_frame > CASTY_FRAME_MAX_LIMIT)
        return -EINVAL;
    if (len == 0)
        return 0;
    /* Fast path: nothing buffered and the whole frame is in `in`: return it in place. */
    if (d->have == 0 && len >= CASTY_FRAME_HDR) {
        uint32_t need;
        int rc = check_header(d, in, &need);
        if (rc < 0)
            return rc;
        if (len >= need) {
            *consumed = need;
            return finish(d, in, out);
        }
    }
    return collect(d, in, len, consumed, out);
}

/* ---- handshake bodies ---- */

/*
 * HELLO / WELCOME body (little-endian):
 *   u16 proto_version, u16 flags, u8 name_len (1..63), name bytes,
 *   u64 node_id (nonzero), u64 incarnation, u32 adv_ip, u16 adv_port,
 *   u8 nonce[32], u8 has_mac (0 or 1), u8 mac[32] iff has_mac.
 * proto_version comes first in every version, so a transport can read it to
 * refuse with CASTY_REFUSE_VERSION even when the rest does not decode.
 * flags are carried as they are: the transport interprets them.
 */
#define HELLO_FIXED (2u + 2u + 1u + 8u + 8u + 4u + 2u + CASTY_NONCE_LEN + 1u)

static bool printable(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* The length of a valid cluster name in name[cap] (NUL-terminated, 1..63 printable), or -1. */
static int cluster_name_len(const char *name, size_t cap)
{
    const char *nul = memchr(name, 0, cap);
    if (!nul || nul == name || (size_t)(nul - name) > CASTY_CLUSTER_NAME_MAX)
        return -1;
    for (const char *c = name; c < nul; c++) {
        if (!printable((uint8_t)*c))
            return -1;
    }
    return (int)(nul - name);
}

int casty_hello_encode(const casty_hello *h, uint8_t *out, size_t cap)
{
    if (!h || !out)
        return -EINVAL;
    int nlen = cluster_name_len(h->cluster, sizeof(h->cluster));
    if (nlen < 0 || h->node_id == 0)
        return -EINVAL;
    size_t total = HELLO_FIXED + (size_t)nlen + (h->has_mac ? CASTY_HELLO_MAC_LEN : 0);
    if (cap < total)
        return -ENOSPC;
    uint8_t *p = out;
    casty__le_put16(p, h->proto_version);
    casty__le_put16(p + 2, h->flags);
    p[4] = (uint8_t)nlen;
    memcpy(p + 5, h->cluster, (size_t)nlen);
    p += 5 + nlen;
    casty__le_put64(p, h->node_id);
    casty__le_put64(p + 8, h->incarnation);
    casty__le_put32(p + 16, h->adv_ip);
    casty__le_put16(p + 20, h->adv_port);
    memcpy(p + 22, h->nonce, CASTY_NONCE_LEN);
    p += 22 + CASTY_NONCE_LEN;
    *p++ = h->has_mac ? 1 : 0;
    if (h->has_mac)
        memcpy(p, h->mac, CASTY_HELLO_MAC_LEN);
    return (int)total;
}

/* Decodes the fields after the name (at p), once the total length is known to be exact. */
static void hello_tail(const uint8_t *p, casty_hello *out)
{
    out->node_id = casty__le_get64(p);
    out->incarnation = casty__le_get64(p + 8);
    out->adv_ip = casty__le_get32(p + 16);
    out->adv_port = casty__le_get16(p + 20);
    memcpy(out->nonce, p + 22, CASTY_NONCE_LEN);
    p += 22 + CASTY_NONCE_LEN;
    out->has_mac = p[0] == 1;
    if (out->has_mac)
        memcpy(out->mac, p + 1, CASTY_HELLO_MAC_LEN);
}

int casty_hello_decode(const uint8_t *in, size_t len, casty_hello *out)
{
    if (!out || (!in && len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    /* Every length is checked before the bytes it covers are read. */
    if (len < 5)
        return -EBADMSG;
    size_t nlen = in[4];
    if (nlen == 0 || nlen > CASTY_CLUSTER_NAME_MAX)
        return -EBADMSG;
    size_t base = HELLO_FIXED + nlen; /* everything up to and including has_mac */
    if (len < base || in[base - 1] > 1)
        return -EBADMSG;
    size_t total = base + (in[base - 1] ? CASTY_HELLO_MAC_LEN : 0);
    if (len != total)
        return -EBADMSG;
    for (size_t i = 0; i < nlen; i++) {
        if (!printable(in[5 + i]))
            return -EBADMSG;
    }
    if (casty__le_get64(in + 5 + nlen) == 0)
        return -EBADMSG;
    out->proto_version = casty__le_get16(in);
    out->flags = casty__le_get16(in + 2);
    memcpy(out->cluster, in + 5, nlen); /* NUL-terminated by the memset */
    hello_tail(in + 5 + nlen, out);
    return 0;
}

/*
 * REFUSE / CLOSE body: u16 code, u8 reason_len (0..127), reason bytes. The
 * reason is text for logs: control bytes are refused (on both sides, so what
 * encodes also decodes) so that a peer cannot smuggle terminal escapes or
 * line breaks into them; bytes >= 0x80 pass, for UTF-8.
 */
#define REASON_MAX (sizeof(((casty_refuse *)0)->reason) - 1)

static bool reason_byte_ok(uint8_t c)
{
    return c >= 0x20 && c != 0x7F;
}

int casty_refuse_encode(const casty_refuse *r, uint8_t *out, size_t cap)
{
    if (!r || !out)
        return -EINVAL;
    const char *nul = memchr(r->reason, 0, sizeof(r->reason));
    if (!nul)
        return -EINVAL;
    size_t rlen = (size_t)(nul - r->reason);
    for (size_t i = 0; i < rlen; i++) {
        if (!reason_byte_ok((uint8_t)r->reason[i]))
            return -EINVAL;
    }
    if (cap < 3 + rlen)
        return -ENOSPC;
    casty__le_put16(out, r->code);
    out[2] = (uint8_t)rlen;
    memcpy(out + 3, r->reason, rlen);
    return (int)(3 + rlen);
}

int casty_refuse_decode(const uint8_t *in, size_t len, casty_refuse *out)
{
    if (!out || (!in && len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (len < 3)
        return -EBADMSG;
    size_t rlen = in[2];
    if (rlen > REASON_MAX || len != 3 + rlen)
        return -EBADMSG;
    for (size_t i = 0; i < rlen; i++) {
        if (!reason_byte_ok(in[3 + i]))
            return -EBADMSG;
    }
    /* Unknown codes decode too: whether to accept them is the transport's call. */
    out->code = casty__le_get16(in);
    memcpy(out->reason, in + 3, rlen);
    return 0;
}
