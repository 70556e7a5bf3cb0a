/*
 * SWIM packet and push-pull state codecs: see cluster/swim_wire.h.
 */
#include "cluster/swim_wire.h"

#include <errno.h>
#include <string.h>

#include "cluster/le.h"

uint32_t casty__sw_body_len(uint8_t type)
{
    switch (type) {
    case SW_PING:
        return 12;
    case SW_ACK:
    case SW_NACK:
        return 4;
    case SW_PING_REQ:
        return 18;
    case SW_ALIVE:
        return 22;
    case SW_SUSPECT:
    case SW_DEAD:
        return 24;
    default:
        return 0;
    }
}

uint32_t casty__sw_msg_put(const sw_msg *m, uint8_t *out, uint32_t cap)
{
    uint32_t body = casty__sw_body_len(m->type);
    if (!body || cap < 1 + body)
        return 0;
    uint8_t *p = out + 1;
    out[0] = m->type;
    switch (m->type) {
    case SW_PING:
        casty__le_put32(p, m->seq);
        casty__le_put64(p + 4, m->id);
        break;
    case SW_ACK:
    case SW_NACK:
        casty__le_put32(p, m->seq);
        break;
    case SW_PING_REQ:
        casty__le_put32(p, m->seq);
        casty__le_put64(p + 4, m->id);
        casty__le_put32(p + 12, m->addr.ip);
        casty__le_put16(p + 16, m->addr.port);
        break;
    case SW_ALIVE:
        casty__le_put64(p, m->id);
        casty__le_put64(p + 8, m->inc);
        casty__le_put32(p + 16, m->addr.ip);
        casty__le_put16(p + 20, m->addr.port);
        break;
    default: /* SUSPECT, DEAD */
        casty__le_put64(p, m->id);
        casty__le_put64(p + 8, m->inc);
        casty__le_put64(p + 16, m->from);
        break;
    }
    return 1 + body;
}

void casty__sw_hdr_put(uint8_t *out, uint8_t flags, uint8_t count, uint32_t cluster, uint64_t from)
{
    out[0] = SW_MAGIC;
    out[1] = SW_VERSION;
    out[2] = flags;
    out[3] = count;
    casty__le_put32(out + 4, cluster);
    casty__le_put64(out + 8, from);
}

int casty__sw_packet_parse(const uint8_t *in, uint32_t len, bool keyed, sw_packet *out)
{
    uint32_t mac = keyed ? SW_MAC : 0;
    if (len < SW_HDR + mac || in[0] != SW_MAGIC || in[1] != SW_VERSION)
        return -EBADMSG;
    if (in[2] != (keyed ? SW_F_MAC : 0) || in[3] == 0)
        return -EBADMSG;
    out->flags = in[2];
    out->count = in[3];
    out->cluster = casty__le_get32(in + 4);
    out->from = casty__le_get64(in + 8);
    out->msgs = in + SW_HDR;
    out->msgs_len = len - SW_HDR - mac;
    /* Walk once: every message must be known and whole, and nothing may trail. */
    uint32_t off = 0;
    for (uint32_t i = 0; i < out->count; i++) {
        if (off >= out->msgs_len)
            return -EBADMSG;
        uint32_t body = casty__sw_body_len(out->msgs[off]);
        if (!body || out->msgs_len - off - 1 < body)
            return -EBADMSG;
        off += 1 + body;
    }
    return off == out->msgs_len ? 0 : -EBADMSG;
}

int casty__sw_msg_next(const sw_packet *p, uint32_t *off, sw_msg *m)
{
    if (*off >= p->msgs_len)
        return -EBADMSG;
    const uint8_t *q = p->msgs + *off;
    memset(m, 0, sizeof(*m));
    m->type = q[0];
    uint32_t body = casty__sw_body_len(m->type);
    if (!body || p->msgs_len - *off - 1 < body)
        return -EBADMSG;
    q++;
    switch (m->type) {
    case SW_PING:
        m->seq = casty__le_get32(q);
        m->id = casty__le_get64(q + 4);
        break;
    case SW_ACK:
    case SW_NACK:
        m->seq = casty__le_get32(q);
        break;
    case SW_PING_REQ:
        m->seq = casty__le_get32(q);
        m->id = casty__le_get64(q + 4);
        m->addr.ip = casty__le_get32(q + 12);
        m->addr.port = casty__le_get16(q + 16);
        break;
    case SW_ALIVE:
        m->id = casty__le_get64(q);
        m->inc = casty__le_get64(q + 8);
        m->addr.ip = casty__le_get32(q + 16);
        m->addr.port = casty__le_get16(q + 20);
        break;
    default:
        m->id = casty__le_get64(q);
        m->inc = casty__le_get64(q + 8);
        m->from = casty__le_get64(q + 16);
        break;
    }
    *off += 1 + body;
    return 0;
}

void casty__sw_state_hdr_put(uint8_t *out, uint8_t flags, uint32_t count)
{
    out[0] = flags;
    casty__le_put32(out + 1, count);
}

void casty__sw_state_entry_put(uint8_t *out, const casty_swim_member *m)
{
    casty__le_put64(out, m->id);
    casty__le_put64(out + 8, m->incarnation);
    out[16] = (uint8_t)m->state;
    casty__le_put32(out + 17, m->addr.ip);
    casty__le_put16(out + 21, m->addr.port);
    out[23] = out[24] = out[25] = out[26] = 0;
}

int casty__sw_state_parse(const uint8_t *in, uint32_t len, bool keyed, uint8_t *flags)
{
    uint32_t mac = keyed ? SW_MAC : 0;
    if (len < SW_STATE_HDR + mac || (in[0] & ~1u))
        return -EBADMSG;
    uint32_t count = casty__le_get32(in + 1);
    uint64_t need = SW_STATE_HDR + (uint64_t)count * SW_STATE_ENTRY + mac;
    if (need != len || count > (1u << 20))
        return -EBADMSG;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = in + SW_STATE_HDR + (size_t)i * SW_STATE_ENTRY;
        if (e[16] > CASTY_MEMBER_LEFT || casty__le_get64(e) == 0 || e[23] | e[24] | e[25] | e[26])
            return -EBADMSG;
    }
    *flags = in[0];
    return (int)count;
}

void casty__sw_state_entry_get(const uint8_t *in, uint32_t i, casty_swim_member *out)
{
    const uint8_t *e = in + SW_STATE_HDR + (size_t)i * SW_STATE_ENTRY;
    out->id = casty__le_get64(e);
    out->incarnation = casty__le_get64(e + 8);
    out->state = (casty_member_state)e[16];
    out->addr.ip = casty__le_get32(e + 17);
    out->addr.port = casty__le_get16(e + 21);
}
