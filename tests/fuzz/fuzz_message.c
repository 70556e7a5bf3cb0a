/*
 * Fuzz target: the message schema codec (cluster/codec.c).
 *
 * Input: byte 0 picks a schema from schemas.h (low bits) and whether the ref
 * hooks run (bit 7); the rest is what a peer sent. Checked:
 *  - decode never fails with anything but -EBADMSG, and leaves a zeroed
 *    struct when it fails;
 *  - the encoding is canonical: an accepted input re-encodes to exactly the
 *    same bytes (same size from encoded_size too), which decode to the same
 *    struct;
 *  - the same bytes read as raw struct memory (any garbage a sender may
 *    hold) either fail to encode with -EINVAL, or encode to bytes that
 *    decode and re-encode identically;
 *  - the registry finds each schema by (protocol id, type).
 */
#include <string.h>

#include "fuzz.h"
#include "schemas.h"

#define OUT_MAX  (2u * FUZZ_STRUCT_MAX)
#define POISON   0xDEADu /* a wire node id the hooks refuse, to exercise their failure paths */
#define NODE_XOR 0x5A5Au

/* Wire node = local node ^ NODE_XOR, like a cluster layer mapping ids; inverse on the way in. */
static int ref_out(void *user, const casty_ref *in, casty_ref *wire)
{
    (void)user;
    FUZZ_CHECK(memcmp(in, wire, sizeof(*in)) == 0);
    wire->node = (uint16_t)(in->node ^ NODE_XOR);
    return wire->node == POISON ? -EPERM : 0;
}

static int ref_in(void *user, const casty_ref *wire, casty_ref *out)
{
    (void)user;
    FUZZ_CHECK(memcmp(wire, out, sizeof(*out)) == 0);
    if (wire->node == POISON)
        return -EPERM;
    out->node = (uint16_t)(wire->node ^ NODE_XOR);
    return 0;
}

static const casty_wire_refs hooks = {NULL, ref_out, ref_in};

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

/* in[len] decoded fine into msg: it must be the one encoding of msg. */
static void check_canonical(const casty_wire_msg *m, const casty_wire_refs *refs, const uint8_t *in,
                            size_t len, const uint8_t *msg)
{
    static uint8_t out[OUT_MAX], again[FUZZ_STRUCT_MAX];
    FUZZ_CHECK(casty_wire_encoded_size(m, msg, m->size) == (int)len);
    FUZZ_CHECK(casty_wire_encode(m, msg, m->size, refs, out, sizeof(out)) == (int)len);
    FUZZ_CHECK(memcmp(out, in, len) == 0);
    FUZZ_CHECK(casty_wire_decode(m, out, len, refs, again, m->size) == 0);
    FUZZ_CHECK(memcmp(again, msg, m->size) == 0);
}

/* The input as raw struct memory: encode whatever a careless sender might hold. */
static void check_encode_side(const casty_wire_msg *m, const casty_wire_refs *refs,
                              const uint8_t *data, size_t size)
{
    static uint8_t msg[FUZZ_STRUCT_MAX], out[OUT_MAX], back[FUZZ_STRUCT_MAX];
    memset(msg, 0, m->size);
    memcpy(msg, data, size < m->size ? size : m->size);
    int n = casty_wire_encode(m, msg, m->size, refs, out, sizeof(out));
    int expect = casty_wire_encoded_size(m, msg, m->size);
    if (n < 0) {
        /* A STR without its NUL, a ref of unknown kind, or a hook refusing the ref. */
        FUZZ_CHECK(n == -EINVAL || (refs && n == -EPERM));
        return;
    }
    FUZZ_CHECK(n == expect);
    FUZZ_CHECK(casty_wire_decode(m, out, (size_t)n, refs, back, m->size) == 0);
    check_canonical(m, refs, out, (size_t)n, back);
}

static void check_registry(uint32_t type, const casty_wire_msg *m)
{
    static casty_wire_registry *reg;
    if (!reg) {
        /* Kept for the process's life: one registry serves every input. */
        FUZZ_CHECK(casty_wire_registry_create(&reg) == 0);
        FUZZ_CHECK(casty_wire_registry_add(reg, CASTY_WIRE_OF(FzMsg)) == 0);
    }
    const casty_wire_msg *found = NULL;
    uint32_t id = casty_wire_protocol_id(CASTY_WIRE_OF(FzMsg));
    FUZZ_CHECK(casty_wire_registry_lookup(reg, id, type, &found) == 0);
    FUZZ_CHECK(found == m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t type = 1 + (data[0] & 0x7F) % FUZZ_SCHEMAS;
    const casty_wire_refs *refs = (data[0] & 0x80) ? &hooks : NULL;
    const casty_wire_msg *m = casty_wire_find(CASTY_WIRE_OF(FzMsg), type);
    FUZZ_CHECK(m != NULL);
    FUZZ_CHECK(m->size <= FUZZ_STRUCT_MAX);
    check_registry(type, m);
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    static uint8_t msg[FUZZ_STRUCT_MAX];
    memset(msg, 0xA5, sizeof(msg)); /* decode must overwrite all of it */
    int rc = casty_wire_decode(m, in, len, refs, msg, m->size);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
    if (rc == 0)
        check_canonical(m, refs, in, len, msg);
    else
        FUZZ_CHECK(all_zero(msg, m->size));

    check_encode_side(m, refs, in, len);
    return 0;
}
