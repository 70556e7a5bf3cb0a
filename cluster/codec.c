/*
 * The message schema codec behind include/casty/wire.h: walks a message's
 * field table and writes or reads each field in its one canonical encoding.
 * Pure and allocation-free; any thread. Input bytes are never trusted: every
 * length is checked against what is left before it is used, and against the
 * field's capacity before anything is copied. A schema is checked on every
 * call (O(fields), cheap next to the copy), so a hand-built table with a
 * field outside its struct is refused instead of corrupting memory.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "casty/wire.h"
#include "cluster/codec.h"
#include "cluster/le.h"

static bool field_ok(const casty_wire_field *f, uint32_t msg_size)
{
    if ((uint64_t)f->offset + f->size > msg_size)
        return false;
    switch (f->kind) {
    case CASTY_WIRE_INT:
    case CASTY_WIRE_UINT:
        return f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8;
    case CASTY_WIRE_BOOL:
        return f->size == sizeof(bool);
    case CASTY_WIRE_FLOAT:
        return f->size == 4 || f->size == 8;
    case CASTY_WIRE_STR:
    case CASTY_WIRE_BYTES:
        return f->size >= 1 && f->size <= CASTY_WIRE_ARRAY_MAX;
    case CASTY_WIRE_REF:
        return f->size == sizeof(casty_ref);
    default:
        return false;
    }
}

/*
 * A schema the codec can run without overstepping the struct. The bounds on
 * size and nfields keep every encoded size below INT_MAX: a field encodes to
 * at most its size plus a 2-byte length.
 */
bool casty__wire_schema_ok(const casty_wire_msg *m)
{
    if (!m || (!m->fields && m->nfields))
        return false;
    if (m->size > INT_MAX / 2 || m->nfields > CASTY_WIRE_FIELDS_MAX)
        return false;
    for (uint32_t i = 0; i < m->nfields; i++) {
        if (!field_ok(&m->fields[i], m->size))
            return false;
    }
    return true;
}

/* Bytes of a BYTES field once trailing zeros are trimmed. */
static size_t trimmed_len(const uint8_t *p, size_t size)
{
    while (size > 0 && p[size - 1] == 0)
        size--;
    return size;
}

/* The encoded size of field f of msg, or -EINVAL (a STR without its NUL). */
static long field_wire_size(const casty_wire_field *f, const uint8_t *msg)
{
    const uint8_t *p = msg + f->offset;
    switch (f->kind) {
    case CASTY_WIRE_STR: {
        const uint8_t *nul = memchr(p, 0, f->size);
        return nul ? 2 + (long)(nul - p) : -EINVAL;
    }
    case CASTY_WIRE_BYTES:
        return 2 + (long)trimmed_len(p, f->size);
    case CASTY_WIRE_REF:
        return CASTY_WIRE_REF_LEN;
    case CASTY_WIRE_BOOL:
        return 1;
    default:
        return f->size;
    }
}

static int check_args(const casty_wire_msg *m, const void *msg, size_t msg_len)
{
    if (!casty__wire_schema_ok(m))
        return -EINVAL;
    if (msg_len != m->size || (!msg && msg_len))
        return -EINVAL;
    return 0;
}

/* Assumes check_args() passed. */
static int wire_size(const casty_wire_msg *m, const uint8_t *msg)
{
    long total = 0;
    for (uint32_t i = 0; i < m->nfields; i++) {
        long n = field_wire_size(&m->fields[i], msg);
        if (n < 0)
            return (int)n;
        total += n;
    }
    return (int)total; /* <= size + 2 * nfields < INT_MAX, see casty__wire_schema_ok() */
}

int casty_wire_encoded_size(const casty_wire_msg *m, const void *msg, size_t msg_len)
{
    int rc = check_args(m, msg, msg_len);
    return rc < 0 ? rc : wire_size(m, msg);
}

/* An integer or float of `size` bytes, in host order, as its bits. */
static uint64_t load_scalar(const uint8_t *p, uint32_t size)
{
    switch (size) {
    case 1:
        return p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void store_scalar(uint8_t *p, uint32_t size, uint64_t bits)
{
    switch (size) {
    case 1:
        p[0] = (uint8_t)bits;
        break;
    case 2: {
        uint16_t v = (uint16_t)bits;
        memcpy(p, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)bits;
        memcpy(p, &v, 4);
        break;
    }
    default:
        memcpy(p, &bits, 8);
        break;
    }
}

static void put_le(uint8_t *out, uint64_t bits, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++)
        out[i] = (uint8_t)(bits >> (8 * i));
}

static uint64_t get_le(const uint8_t *in, uint32_t size)
{
    uint64_t bits = 0;
    for (uint32_t i = 0; i < size; i++)
        bits |= (uint64_t)in[i] << (8 * i);
    return bits;
}

/* Writes the ref at p (through refs->out) as its 24-byte wire form. */
static int put_ref(const uint8_t *p, const casty_wire_refs *refs, uint8_t *out)
{
    casty_ref local, wire;
    memcpy(&local, p, sizeof(local)); /* the field may sit at any offset in a packed struct */
    wire = local;
    if (refs && refs->out) {
        int rc = refs->out(refs->user, &local, &wire);
        if (rc < 0)
            return rc;
    }
    /* Decode refuses unknown kinds, so encode must not produce them. */
    if (wire.kind > CASTY_REF_TIMER)
        return -EINVAL;
    casty__le_put16(out, wire.node);
    casty__le_put16(out + 2, wire.shard);
    out[4] = wire.kind;
    memset(out + 5, 0, 3);
    casty__le_put32(out + 8, wire.gen);
    casty__le_put32(out + 12, wire.system);
    casty__le_put64(out + 16, wire.addr);
    return CASTY_WIRE_REF_LEN;
}

/* Writes field f of msg at out (room checked by the caller); bytes written or a negative code. */
static int put_field(const casty_wire_field *f, const uint8_t *msg, const casty_wire_refs *refs,
                     uint8_t *out)
{
    const uint8_t *p = msg + f->offset;
    switch (f->kind) {
    case CASTY_WIRE_STR:
    case CASTY_WIRE_BYTES: {
        /* wire_size() already proved the STR has its NUL. */
        size_t n =
            f->kind == CASTY_WIRE_STR ? strnlen((const char *)p, f->size) : trimmed_len(p, f->size);
        casty__le_put16(out, (uint16_t)n);
        memcpy(out + 2, p, n);
        return (int)(2 + n);
    }
    case CASTY_WIRE_BOOL:
        /* Any nonzero byte is true; the wire carries only 0 or 1. */
        out[0] = p[0] != 0;
        return 1;
    case CASTY_WIRE_REF:
        return put_ref(p, refs, out);
    default:
        put_le(out, load_scalar(p, f->size), f->size);
        return (int)f->size;
    }
}

int casty_wire_encode(const casty_wire_msg *m, const void *msg, size_t msg_len,
                      const casty_wire_refs *refs, uint8_t *out, size_t cap)
{
    int rc = check_args(m, msg, msg_len);
    if (rc < 0)
        return rc;
    if (!out && cap)
        return -EINVAL;
    int total = wire_size(m, msg);
    if (total < 0)
        return total;
    if ((size_t)total > cap)
        return -ENOSPC;
    int pos = 0;
    for (uint32_t i = 0; i < m->nfields; i++) {
        int n = put_field(&m->fields[i], msg, refs, out + pos);
        if (n < 0)
            return n;
        pos += n;
    }
    return pos;
}

/* Reads a 24-byte wire ref (in has room) into the field at p, through refs->in. */
static int get_ref(const uint8_t *in, const casty_wire_refs *refs, uint8_t *p)
{
    if (in[5] | in[6] | in[7])
        return -EBADMSG;
    if (in[4] > CASTY_REF_TIMER)
        return -EBADMSG;
    casty_ref wire = {0};
    wire.node = casty__le_get16(in);
    wire.shard = casty__le_get16(in + 2);
    wire.kind = in[4];
    wire.gen = casty__le_get32(in + 8);
    wire.system = casty__le_get32(in + 12);
    wire.addr = casty__le_get64(in + 16);
    casty_ref local = wire;
    if (refs && refs->in && refs->in(refs->user, &wire, &local) < 0)
        return -EBADMSG;
    memcpy(p, &local, sizeof(local));
    return CASTY_WIRE_REF_LEN;
}

/* Reads a u16-prefixed STR or BYTES into the field at p; bytes read or -EBADMSG. */
static int get_array(const casty_wire_field *f, const uint8_t *in, size_t avail, uint8_t *p)
{
    if (avail < 2)
        return -EBADMSG;
    size_t n = casty__le_get16(in);
    if (n > avail - 2)
        return -EBADMSG;
    if (f->kind == CASTY_WIRE_STR) {
        /* Room for the NUL, and none inside: the text reads back as it was sent. */
        if (n >= f->size || memchr(in + 2, 0, n))
            return -EBADMSG;
    } else {
        /* Encode trims trailing zeros, so a last zero byte is not its output. */
        if (n > f->size || (n > 0 && in[2 + n - 1] == 0))
            return -EBADMSG;
    }
    memcpy(p, in + 2, n); /* the rest of the array is zero from the caller's memset */
    return (int)(2 + n);
}

/* Reads field f from in[avail] into out; bytes read or -EBADMSG. */
static int get_field(const casty_wire_field *f, const uint8_t *in, size_t avail,
                     const casty_wire_refs *refs, uint8_t *out)
{
    uint8_t *p = out + f->offset;
    switch (f->kind) {
    case CASTY_WIRE_STR:
    case CASTY_WIRE_BYTES:
        return get_array(f, in, avail, p);
    case CASTY_WIRE_BOOL:
        if (avail < 1 || in[0] > 1)
            return -EBADMSG;
        p[0] = in[0]; /* a bool's object representation: 0 or 1 */
        return 1;
    case CASTY_WIRE_REF:
        if (avail < CASTY_WIRE_REF_LEN)
            return -EBADMSG;
        return get_ref(in, refs, p);
    default:
        if (avail < f->size)
            return -EBADMSG;
        store_scalar(p, f->size, get_le(in, f->size));
        return (int)f->size;
    }
}

int casty_wire_decode(const casty_wire_msg *m, const uint8_t *in, size_t len,
                      const casty_wire_refs *refs, void *out, size_t out_len)
{
    if (!casty__wire_schema_ok(m) || out_len != m->size || (!out && out_len) || (!in && len))
        return -EINVAL;
    if (out_len == 0)
        return len == 0 ? 0 : -EBADMSG; /* a message without fields is zero bytes */
    if (!in)
        in = (const uint8_t *)""; /* len is 0: keeps `in + pos` defined for the loop */
    memset(out, 0, out_len);
    size_t pos = 0;
    for (uint32_t i = 0; i < m->nfields; i++) {
        int n = get_field(&m->fields[i], in + pos, len - pos, refs, out);
        if (n < 0) {
            memset(out, 0, out_len); /* no half-decoded message */
            return n;
        }
        pos += (size_t)n;
    }
    if (pos != len) {
        memset(out, 0, out_len);
        return -EBADMSG;
    }
    return 0;
}
