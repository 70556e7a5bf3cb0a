/*
 * cluster/codec + wire_registry: kinds inferred from C types, the exact
 * byte layout, round trips of every kind and width, capacity limits, every
 * rejection (truncation at each length, trailing bytes, bool 2, bad refs,
 * non-canonical arrays), the ref hooks, argument checks and the registry's
 * collision and size limits. Pure functions: no system is started.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "casty/wire.h"
#include "support/casty_test.h"

CASTY_MESSAGE(Every, int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
              int64_t i64; uint64_t u64; char c; signed char sc; unsigned char uc; short s;
              unsigned short us; int i; unsigned u; long l; unsigned long ul; long long ll;
              unsigned long long ull; bool flag; float f32; double f64; char name[16];
              uint8_t blob[8]; unsigned char raw[3]; casty_ref who);
CASTY_MESSAGE(Empty);
CASTY_MESSAGE(Point, int16_t x; uint32_t y; char tag[4]; bool on);
CASTY_PROTOCOL(TestMsg, Every, Empty, Point);

CASTY_WIRE_MESSAGE(Every, i8, u8, i16, u16, i32, u32, i64, u64, c, sc, uc, s, us, i, u, l, ul, ll,
                   ull, flag, f32, f64, name, blob, raw, who);
CASTY_WIRE_MESSAGE(Empty);
CASTY_WIRE_MESSAGE(Point, x, y, tag, on);
CASTY_WIRE_PROTOCOL(TestMsg, Every, Empty, Point);

#define EVERY_NFIELDS 26
#define BUF_MAX       512

static const casty_wire_msg *every = &Every__casty_wire;

static casty_ref sample_ref(void)
{
    casty_ref r = {0};
    r.addr = 0x1122334455667788ull;
    r.gen = 0xA1B2C3D4u;
    r.system = 0x0102u;
    r.shard = 7;
    r.node = 0;
    r.kind = CASTY_REF_ACTOR;
    return r;
}

/* Extreme and sign-sensitive values, so that a wrong width or byte order shows. */
static Every sample_every(void)
{
    Every e;
    memset(&e, 0, sizeof(e)); /* padding is zero, so whole structs compare with memcmp */
    e.i8 = -128;
    e.u8 = 255;
    e.i16 = -32768;
    e.u16 = 0xBEEF;
    e.i32 = -2;
    e.u32 = 0xDEADBEEFu;
    e.i64 = INT64_MIN + 5;
    e.u64 = UINT64_MAX - 6;
    e.c = 'z';
    e.sc = -7;
    e.uc = 200;
    e.s = -300;
    e.us = 65000;
    e.i = -123456;
    e.u = 4000000000u;
    e.l = -9000000000l;
    e.ul = 18000000000000000000ul;
    e.ll = -1;
    e.ull = 1;
    e.flag = true;
    e.f32 = -1.5f;
    e.f64 = 6.02214076e23;
    strcpy(e.name, "hello, wire");
    memcpy(e.blob, "\x01\x00\x02\x00\x00\x00\x00\x00", 8);
    memcpy(e.raw, "\xff\xfe\xfd", 3);
    e.who = sample_ref();
    return e;
}

static int encode_every(const Every *e, uint8_t *out)
{
    int n = casty_wire_encode(every, e, sizeof(*e), NULL, out, BUF_MAX);
    assert_true(n > 0);
    return n;
}

static void test_codec_kinds_follow_c_types(void **state)
{
    (void)state;
    static const struct {
        uint8_t kind;
        uint32_t size;
    } want[EVERY_NFIELDS] = {
        {CASTY_WIRE_INT, 1},   {CASTY_WIRE_UINT, 1},  {CASTY_WIRE_INT, 2},  {CASTY_WIRE_UINT, 2},
        {CASTY_WIRE_INT, 4},   {CASTY_WIRE_UINT, 4},  {CASTY_WIRE_INT, 8},  {CASTY_WIRE_UINT, 8},
        {0, 1} /* char */,     {CASTY_WIRE_INT, 1},   {CASTY_WIRE_UINT, 1}, {CASTY_WIRE_INT, 2},
        {CASTY_WIRE_UINT, 2},  {CASTY_WIRE_INT, 4},   {CASTY_WIRE_UINT, 4}, {CASTY_WIRE_INT, 8},
        {CASTY_WIRE_UINT, 8},  {CASTY_WIRE_INT, 8},   {CASTY_WIRE_UINT, 8}, {CASTY_WIRE_BOOL, 1},
        {CASTY_WIRE_FLOAT, 4}, {CASTY_WIRE_FLOAT, 8}, {CASTY_WIRE_STR, 16}, {CASTY_WIRE_BYTES, 8},
        {CASTY_WIRE_BYTES, 3}, {CASTY_WIRE_REF, 24},
    };
    assert_string_equal(every->name, "Every");
    assert_int_equal(every->size, sizeof(Every));
    assert_int_equal(every->nfields, EVERY_NFIELDS);
    for (uint32_t i = 0; i < EVERY_NFIELDS; i++) {
        uint8_t kind = want[i].kind;
        if (i == 8) /* plain char follows the platform's signedness */
            kind = (char)-1 < 0 ? CASTY_WIRE_INT : CASTY_WIRE_UINT;
        assert_int_equal(every->fields[i].kind, kind);
        assert_int_equal(every->fields[i].size, want[i].size);
    }
    assert_string_equal(every->fields[22].name, "name");
    assert_int_equal(every->fields[22].offset, offsetof(Every, name));
    assert_int_equal(every->fields[25].offset, offsetof(Every, who));
    assert_null(Empty__casty_wire.fields);
    assert_int_equal(Empty__casty_wire.nfields, 0);
}

/* The layout the header documents, byte for byte: LE ints, u16-prefixed text, one-byte bool. */
static void test_codec_point_layout_is_exact(void **state)
{
    (void)state;
    Point p;
    memset(&p, 0, sizeof(p));
    p.x = -2;
    p.y = 0x01020304u;
    strcpy(p.tag, "ab");
    p.on = true;
    static const uint8_t want[] = {0xFE, 0xFF, 0x04, 0x03, 0x02, 0x01, 0x02, 0x00, 'a', 'b', 0x01};
    uint8_t out[32];
    assert_int_equal(casty_wire_encoded_size(&Point__casty_wire, &p, sizeof(p)), sizeof(want));
    assert_int_equal(casty_wire_encode(&Point__casty_wire, &p, sizeof(p), NULL, out, sizeof(out)),
                     sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
}

static void test_codec_every_kind_round_trips(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    int n = encode_every(&e, buf);
    assert_int_equal(casty_wire_encoded_size(every, &e, sizeof(e)), n);
    memset(&back, 0xA5, sizeof(back)); /* decode must overwrite every byte, padding included */
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_memory_equal(&back, &e, sizeof(e));

    /* Floats travel as bits: a NaN keeps its payload, -0.0 its sign. */
    uint32_t nan_bits = 0x7FC12345u;
    memcpy(&e.f32, &nan_bits, 4);
    e.f64 = -0.0;
    n = encode_every(&e, buf);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_memory_equal(&back.f32, &nan_bits, 4);
    assert_true(signbit(back.f64));
}

static void test_codec_empty_message_is_zero_bytes(void **state)
{
    (void)state;
    Empty m, back;
    memset(&m, 0, sizeof(m));
    uint8_t buf[4];
    assert_int_equal(casty_wire_encoded_size(&Empty__casty_wire, &m, sizeof(m)), 0);
    assert_int_equal(casty_wire_encode(&Empty__casty_wire, &m, sizeof(m), NULL, buf, sizeof(buf)),
                     0);
    assert_int_equal(casty_wire_decode(&Empty__casty_wire, buf, 0, NULL, &back, sizeof(back)), 0);
    assert_int_equal(casty_wire_decode(&Empty__casty_wire, NULL, 0, NULL, &back, sizeof(back)), 0);
    assert_int_equal(casty_wire_decode(&Empty__casty_wire, buf, 1, NULL, &back, sizeof(back)),
                     -EBADMSG);
}

static void test_codec_string_capacity_limits(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    /* capacity - 1 characters: the longest string that fits with its NUL. */
    memset(e.name, 'x', sizeof(e.name) - 1);
    e.name[sizeof(e.name) - 1] = 0;
    int n = encode_every(&e, buf);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_string_equal(back.name, e.name);
    /* capacity characters: no NUL inside the array. */
    memset(e.name, 'x', sizeof(e.name));
    assert_int_equal(casty_wire_encoded_size(every, &e, sizeof(e)), -EINVAL);
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, buf, sizeof(buf)), -EINVAL);
    /* The empty string is a zero length. */
    e.name[0] = 0;
    n = encode_every(&e, buf);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_string_equal(back.name, "");
}

/* Point's tag sits at bytes 6..7 (length) and 8.. (text): the layout test proves it. */
static int encode_point(const char *tag, uint8_t *out)
{
    Point p;
    memset(&p, 0, sizeof(p));
    strcpy(p.tag, tag);
    return casty_wire_encode(&Point__casty_wire, &p, sizeof(p), NULL, out, 32);
}

static void test_codec_decode_rejects_bad_strings(void **state)
{
    (void)state;
    Point back;
    uint8_t buf[32];
    int n = encode_point("abc", buf); /* the longest tag: capacity 4 */
    assert_int_equal(n, 6 + 2 + 3 + 1);
    assert_int_equal(
        casty_wire_decode(&Point__casty_wire, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    /* Length 4 == capacity: no room for the NUL (x, y, then tag "abcd", then the bool). */
    uint8_t four[13];
    memcpy(four, buf, 6);
    static const uint8_t tag4[] = {4, 0, 'a', 'b', 'c', 'd', 0};
    memcpy(four + 6, tag4, sizeof(tag4));
    assert_int_equal(
        casty_wire_decode(&Point__casty_wire, four, sizeof(four), NULL, &back, sizeof(back)),
        -EBADMSG);
    four[6] = 3; /* the same bytes with length 3 leave "d" where the bool goes: 'd' is not 0/1 */
    assert_int_equal(casty_wire_decode(&Point__casty_wire, four, 12, NULL, &back, sizeof(back)),
                     -EBADMSG);
    /* A NUL inside the text. */
    buf[9] = 0;
    assert_int_equal(
        casty_wire_decode(&Point__casty_wire, buf, (size_t)n, NULL, &back, sizeof(back)), -EBADMSG);
}

static void test_codec_bytes_trimmed_and_zero_filled(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    memset(e.blob, 0, sizeof(e.blob));
    int all_zero = encode_every(&e, buf);
    memset(e.blob, 0x5A, sizeof(e.blob)); /* full: 8 bytes sent, not trimmed */
    int full = encode_every(&e, buf);
    assert_int_equal(full - all_zero, (int)sizeof(e.blob));
    e.blob[7] = 0;
    e.blob[6] = 0;
    assert_int_equal(encode_every(&e, buf), full - 2);
    memset(&back, 0xFF, sizeof(back));
    int n = encode_every(&e, buf);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_memory_equal(back.blob, e.blob, sizeof(e.blob)); /* the trimmed tail reads as zeros */
}

/* Offset of blob's length prefix in Every's encoding: everything before it, measured. */
static size_t blob_offset(const Every *e)
{
    size_t off = 0;
    for (uint32_t i = 0; i < EVERY_NFIELDS; i++) {
        const casty_wire_field *f = &every->fields[i];
        if (strcmp(f->name, "blob") == 0)
            return off;
        if (f->kind == CASTY_WIRE_STR)
            off += 2 + strlen((const char *)e + f->offset);
        else
            off += f->size;
    }
    fail();
    return 0;
}

static void test_codec_decode_rejects_bad_bytes(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    memset(e.blob, 0x11, sizeof(e.blob));
    uint8_t buf[BUF_MAX];
    int n = encode_every(&e, buf);
    size_t at = blob_offset(&e);
    assert_int_equal(buf[at], 8);
    /* A trailing zero that encode would have trimmed. */
    buf[at + 2 + 7] = 0;
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), -EBADMSG);
    /* A length above the capacity (with enough bytes behind it to be read). */
    buf[at + 2 + 7] = 0x11;
    buf[at] = 9;
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), -EBADMSG);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return false;
    }
    return true;
}

static void test_codec_truncation_at_every_length(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    int n = encode_every(&e, buf);
    for (int len = 0; len < n; len++) {
        /* Exactly len bytes on the heap, so ASan catches a read past the end. */
        uint8_t *cut = malloc((size_t)len + 1);
        assert_non_null(cut);
        memcpy(cut, buf, (size_t)len);
        memset(&back, 0xA5, sizeof(back));
        assert_int_equal(casty_wire_decode(every, cut, (size_t)len, NULL, &back, sizeof(back)),
                         -EBADMSG);
        assert_true(all_zero(&back, sizeof(back))); /* nothing half-decoded is left behind */
        free(cut);
    }
    buf[n] = 0; /* one trailing byte */
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n + 1, NULL, &back, sizeof(back)),
                     -EBADMSG);
}

static void test_codec_bool_must_be_zero_or_one(void **state)
{
    (void)state;
    Point p, back;
    memset(&p, 0, sizeof(p));
    uint8_t buf[32];
    int n = casty_wire_encode(&Point__casty_wire, &p, sizeof(p), NULL, buf, sizeof(buf));
    assert_int_equal(n, 9); /* x 2, y 4, tag 2 (empty), on 1 */
    for (unsigned v = 0; v < 256; v++) {
        buf[8] = (uint8_t)v;
        int rc = casty_wire_decode(&Point__casty_wire, buf, (size_t)n, NULL, &back, sizeof(back));
        assert_int_equal(rc, v <= 1 ? 0 : -EBADMSG);
        if (v <= 1)
            assert_int_equal(back.on, v);
    }
    /* A bool whose byte is not 0 or 1 in memory still encodes as 1. */
    uint8_t raw = 7;
    memcpy(&p.on, &raw, 1);
    assert_int_equal(casty_wire_encode(&Point__casty_wire, &p, sizeof(p), NULL, buf, sizeof(buf)),
                     n);
    assert_int_equal(buf[8], 1);
}

typedef struct hook_state {
    int outs, ins;
    int fail_out, fail_in;
} hook_state;

/* Local node 0 becomes wire node 42 and back: what the cluster layer will do with node ids. */
static int hook_out(void *user, const casty_ref *in, casty_ref *wire)
{
    hook_state *h = user;
    h->outs++;
    assert_int_equal(memcmp(in, wire, sizeof(*in)), 0); /* pre-filled with a copy */
    if (h->fail_out)
        return -EHOSTUNREACH;
    if (wire->node == 0)
        wire->node = 42;
    return 0;
}

static int hook_in(void *user, const casty_ref *wire, casty_ref *out)
{
    hook_state *h = user;
    h->ins++;
    assert_int_equal(memcmp(wire, out, sizeof(*out)), 0);
    if (h->fail_in)
        return -ENOENT;
    if (out->node == 42)
        out->node = 0;
    return 0;
}

/* The REF's wire bytes: the last field of Every, so the last 24 bytes. */
static void test_codec_ref_hooks_translate(void **state)
{
    (void)state;
    hook_state h = {0};
    casty_wire_refs refs = {&h, hook_out, hook_in};
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    int n = casty_wire_encode(every, &e, sizeof(e), &refs, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(h.outs, 1);
    const uint8_t *r = buf + n - CASTY_WIRE_REF_LEN;
    assert_int_equal(r[0] | r[1] << 8, 42);           /* node, translated */
    assert_int_equal(r[2] | r[3] << 8, 7);            /* shard */
    assert_int_equal(r[4], CASTY_REF_ACTOR);          /* kind */
    assert_true(r[5] == 0 && r[6] == 0 && r[7] == 0); /* reserved */
    assert_int_equal(r[16], 0x88);                    /* addr, LE */
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), 0);
    assert_int_equal(back.who.node, 42); /* without the hook: as on the wire */
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, &refs, &back, sizeof(back)), 0);
    assert_int_equal(h.ins, 1);
    assert_memory_equal(&back, &e, sizeof(e));

    h.fail_in = 1;
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, &refs, &back, sizeof(back)),
                     -EBADMSG);
    h.fail_out = 1;
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), &refs, buf, sizeof(buf)),
                     -EHOSTUNREACH);
    /* A struct with NULL hooks copies as is. */
    casty_wire_refs none = {NULL, NULL, NULL};
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), &none, buf, sizeof(buf)), n);
}

static void test_codec_bad_refs_rejected(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    int n = encode_every(&e, buf);
    uint8_t *r = buf + n - CASTY_WIRE_REF_LEN;
    for (int i = 5; i < 8; i++) {
        r[i] = 1;
        assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)),
                         -EBADMSG);
        r[i] = 0;
    }
    r[4] = CASTY_REF_TIMER + 1;
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back)), -EBADMSG);
    e.who.kind = CASTY_REF_TIMER + 1;
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_codec_argument_checks(void **state)
{
    (void)state;
    Every e = sample_every(), back;
    uint8_t buf[BUF_MAX];
    int n = encode_every(&e, buf);
    assert_int_equal(casty_wire_encoded_size(NULL, &e, sizeof(e)), -EINVAL);
    assert_int_equal(casty_wire_encoded_size(every, NULL, sizeof(e)), -EINVAL);
    assert_int_equal(casty_wire_encoded_size(every, &e, sizeof(e) - 1), -EINVAL);
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e) + 1, NULL, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, NULL, sizeof(buf)), -EINVAL);
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, NULL, 0), -ENOSPC);
    for (int cap = 0; cap < n; cap++)
        assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, buf, (size_t)cap), -ENOSPC);
    assert_int_equal(casty_wire_encode(every, &e, sizeof(e), NULL, buf, (size_t)n), n);
    assert_int_equal(casty_wire_decode(NULL, buf, (size_t)n, NULL, &back, sizeof(back)), -EINVAL);
    assert_int_equal(casty_wire_decode(every, NULL, (size_t)n, NULL, &back, sizeof(back)), -EINVAL);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, NULL, sizeof(back)), -EINVAL);
    assert_int_equal(casty_wire_decode(every, buf, (size_t)n, NULL, &back, sizeof(back) - 1),
                     -EINVAL);
}

/* Hand-built schemas that would step outside their struct are refused, not run. */
static void test_codec_malformed_schemas_refused(void **state)
{
    (void)state;
    uint8_t msg[16] = {0}, buf[64];
    const casty_wire_field bad_fields[][1] = {
        {{"past_end", 12, 8, CASTY_WIRE_UINT}},
        {{"odd_width", 0, 3, CASTY_WIRE_INT}},
        {{"bad_kind", 0, 4, 0}},
        {{"bad_kind", 0, 4, 99}},
        {{"float2", 0, 2, CASTY_WIRE_FLOAT}},
        {{"ref_small", 0, 16, CASTY_WIRE_REF}},
        {{"bool4", 0, 4, CASTY_WIRE_BOOL}},
        {{"empty_str", 0, 0, CASTY_WIRE_STR}},
        {{"wrap", UINT32_MAX, 2, CASTY_WIRE_UINT}},
    };
    for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
        casty_wire_msg m = {"Bad", bad_fields[i], 1, sizeof(msg)};
        assert_int_equal(casty_wire_encoded_size(&m, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(casty_wire_encode(&m, msg, sizeof(msg), NULL, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(casty_wire_decode(&m, buf, 8, NULL, msg, sizeof(msg)), -EINVAL);
    }
    casty_wire_msg no_table = {"Bad", NULL, 1, sizeof(msg)};
    assert_int_equal(casty_wire_encoded_size(&no_table, msg, sizeof(msg)), -EINVAL);
}

static void test_codec_protocol_table(void **state)
{
    (void)state;
    const casty_wire_protocol *p = CASTY_WIRE_OF(TestMsg);
    assert_string_equal(p->name, "TestMsg");
    assert_int_equal(p->nmsgs, 3);
    assert_int_equal(casty_wire_protocol_id(p), (uint32_t)XXH3_64bits("TestMsg", 7));
    assert_int_equal(casty_wire_protocol_id(NULL), 0);
    assert_ptr_equal(casty_wire_find(p, CASTY_ID(Every)), &Every__casty_wire);
    assert_ptr_equal(casty_wire_find(p, CASTY_ID(Empty)), &Empty__casty_wire);
    assert_ptr_equal(casty_wire_find(p, CASTY_ID(Point)), &Point__casty_wire);
    assert_null(casty_wire_find(p, 0));
    assert_null(casty_wire_find(p, 4));
    assert_null(casty_wire_find(p, UINT32_MAX));
    assert_null(casty_wire_find(NULL, 1));
    /* A table in another order is searched rather than indexed. */
    const casty_wire_entry shuffled[] = {{3, &Point__casty_wire}, {1, &Every__casty_wire}};
    casty_wire_protocol q = {"Shuffled", 2, shuffled};
    assert_ptr_equal(casty_wire_find(&q, 1), &Every__casty_wire);
    assert_ptr_equal(casty_wire_find(&q, 3), &Point__casty_wire);
    assert_null(casty_wire_find(&q, 2));
}

static void test_registry_add_and_lookup(void **state)
{
    (void)state;
    casty_wire_registry *r;
    assert_int_equal(casty_wire_registry_create(&r), 0);
    const casty_wire_msg *m = NULL;
    uint32_t id = casty_wire_protocol_id(CASTY_WIRE_OF(TestMsg));
    assert_int_equal(casty_wire_registry_lookup(r, id, 1, &m), -ENOENT);
    assert_int_equal(casty_wire_registry_add(r, CASTY_WIRE_OF(TestMsg)), 0);
    assert_int_equal(casty_wire_registry_add(r, CASTY_WIRE_OF(TestMsg)), 0); /* idempotent */
    assert_int_equal(casty_wire_registry_lookup(r, id, CASTY_ID(Point), &m), 0);
    assert_ptr_equal(m, &Point__casty_wire);
    assert_int_equal(casty_wire_registry_lookup(r, id, 99, &m), -ENOENT);
    assert_null(m);
    assert_int_equal(casty_wire_registry_lookup(r, id + 1, 1, &m), -ENOENT);
    /* Same name, another descriptor: refused rather than silently shadowed. */
    casty_wire_protocol copy = *CASTY_WIRE_OF(TestMsg);
    assert_int_equal(casty_wire_registry_add(r, &copy), -EEXIST);

    assert_int_equal(casty_wire_registry_add(NULL, &copy), -EINVAL);
    assert_int_equal(casty_wire_registry_add(r, NULL), -EINVAL);
    assert_int_equal(casty_wire_registry_lookup(NULL, id, 1, &m), -EINVAL);
    assert_int_equal(casty_wire_registry_lookup(r, id, 1, NULL), -EINVAL);
    assert_int_equal(casty_wire_registry_create(NULL), -EINVAL);
    casty_wire_registry_destroy(r);
    casty_wire_registry_destroy(NULL);
}

static void test_registry_refuses_malformed_protocols(void **state)
{
    (void)state;
    casty_wire_registry *r;
    assert_int_equal(casty_wire_registry_create(&r), 0);
    const casty_wire_entry dup[] = {{1, &Every__casty_wire}, {1, &Point__casty_wire}};
    const casty_wire_entry null_msg[] = {{1, NULL}};
    const casty_wire_field past_end[] = {{"x", 0, 8, CASTY_WIRE_UINT}};
    const casty_wire_msg bad_msg = {"Bad", past_end, 1, 4};
    const casty_wire_entry bad_schema[] = {{1, &bad_msg}};
    const casty_wire_protocol bad[] = {
        {"Dup", 2, dup},
        {"NullMsg", 1, null_msg},
        {"BadSchema", 1, bad_schema},
        {"None", 0, dup},
        {NULL, 2, dup},
        {"", 1, dup},
        {"NoTable", 1, NULL},
        {"TooMany", CASTY_WIRE_MSGS_MAX + 1, dup},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(casty_wire_registry_add(r, &bad[i]), -EINVAL);
    casty_wire_registry_destroy(r);
}

typedef struct hashed {
    uint32_t id;
    uint32_t n;
} hashed;

static int cmp_hashed(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Two names whose 32-bit ids collide, found by a birthday search (~2^16
 * names are expected to suffice; 2^19 makes a miss vanishingly unlikely).
 */
static void find_collision(char *a, char *b, size_t cap)
{
    enum { N = 1 << 19 };
    hashed *h = malloc(N * sizeof(*h));
    assert_non_null(h);
    char name[32];
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(name, sizeof(name), "Proto%u", i);
        h[i] = (hashed){(uint32_t)XXH3_64bits(name, (size_t)len), i};
    }
    qsort(h, N, sizeof(*h), cmp_hashed);
    for (uint32_t i = 1; i < N; i++) {
        if (h[i].id == h[i - 1].id) {
            snprintf(a, cap, "Proto%u", h[i - 1].n);
            snprintf(b, cap, "Proto%u", h[i].n);
            free(h);
            return;
        }
    }
    free(h);
    fail_msg("no 32-bit collision among %d names", N);
}

static void test_registry_id_collision_is_eexist(void **state)
{
    (void)state;
    char a[32], b[32];
    find_collision(a, b, sizeof(a));
    assert_string_not_equal(a, b);
    const casty_wire_entry table[] = {{1, &Point__casty_wire}};
    casty_wire_protocol pa = {a, 1, table}, pb = {b, 1, table};
    assert_int_equal(casty_wire_protocol_id(&pa), casty_wire_protocol_id(&pb));
    casty_wire_registry *r;
    assert_int_equal(casty_wire_registry_create(&r), 0);
    assert_int_equal(casty_wire_registry_add(r, &pa), 0);
    assert_int_equal(casty_wire_registry_add(r, &pb), -EEXIST);
    const casty_wire_msg *m;
    assert_int_equal(casty_wire_registry_lookup(r, casty_wire_protocol_id(&pa), 1, &m), 0);
    casty_wire_registry_destroy(r);
}

static void test_registry_is_bounded(void **state)
{
    (void)state;
    enum { N = CASTY_WIRE_REGISTRY_MAX + 1 };
    static char names[N][16];
    static casty_wire_protocol protos[N];
    static const casty_wire_entry table[] = {{1, &Point__casty_wire}};
    casty_wire_registry *r;
    assert_int_equal(casty_wire_registry_create(&r), 0);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "Limit%u", i);
        protos[i] = (casty_wire_protocol){names[i], 1, table};
    }
    /* Every id must be distinct for the count to mean anything. */
    for (uint32_t i = 0; i < N; i++) {
        for (uint32_t j = 0; j < i; j++)
            assert_int_not_equal(casty_wire_protocol_id(&protos[i]),
                                 casty_wire_protocol_id(&protos[j]));
    }
    for (uint32_t i = 0; i < CASTY_WIRE_REGISTRY_MAX; i++)
        assert_int_equal(casty_wire_registry_add(r, &protos[i]), 0);
    assert_int_equal(casty_wire_registry_add(r, &protos[N - 1]), -ENOSPC);
    /* All of them stay reachable, whatever order the ids sorted into. */
    for (uint32_t i = 0; i < CASTY_WIRE_REGISTRY_MAX; i++) {
        const casty_wire_msg *m;
        assert_int_equal(casty_wire_registry_lookup(r, casty_wire_protocol_id(&protos[i]), 1, &m),
                         0);
        assert_ptr_equal(m, &Point__casty_wire);
    }
    const casty_wire_msg *m;
    assert_int_equal(casty_wire_registry_lookup(r, casty_wire_protocol_id(&protos[N - 1]), 1, &m),
                     -ENOENT);
    casty_wire_registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_kinds_follow_c_types),
        cmocka_unit_test(test_codec_point_layout_is_exact),
        cmocka_unit_test(test_codec_every_kind_round_trips),
        cmocka_unit_test(test_codec_empty_message_is_zero_bytes),
        cmocka_unit_test(test_codec_string_capacity_limits),
        cmocka_unit_test(test_codec_decode_rejects_bad_strings),
        cmocka_unit_test(test_codec_bytes_trimmed_and_zero_filled),
        cmocka_unit_test(test_codec_decode_rejects_bad_bytes),
        cmocka_unit_test(test_codec_truncation_at_every_length),
        cmocka_unit_test(test_codec_bool_must_be_zero_or_one),
        cmocka_unit_test(test_codec_ref_hooks_translate),
        cmocka_unit_test(test_codec_bad_refs_rejected),
        cmocka_unit_test(test_codec_argument_checks),
        cmocka_unit_test(test_codec_malformed_schemas_refused),
        cmocka_unit_test(test_codec_protocol_table),
        cmocka_unit_test(test_registry_add_and_lookup),
        cmocka_unit_test(test_registry_refuses_malformed_protocols),
        cmocka_unit_test(test_registry_id_collision_is_eexist),
        cmocka_unit_test(test_registry_is_bounded),
    };
    return cmocka_run_group_tests_name("cluster/codec", tests, NULL, NULL);
}
