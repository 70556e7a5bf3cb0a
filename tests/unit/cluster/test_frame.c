/*
 * cluster/frame: frame headers and the streaming decoder (round trips of
 * every type and flag, limits, every error counted once and sticky, any
 * split of the input giving the same frames, bit flips detected, buffer
 * growth bounded), then the HELLO and REFUSE bodies (round trips and every
 * rejection). Random streams use a seeded PRNG: CASTY_SEED overrides the
 * seed, which is printed when a test fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/heap.h"
#include "cluster/frame.h"
#include "support/casty_test.h"

#define MAC_FILL 0xEEu

static uint64_t seed;

static uint64_t rnd(uint64_t *s)
{
    /* splitmix64: tiny, good enough to choose sizes and split points. */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("CASTY_SEED");
    seed = env ? strtoull(env, NULL, 0) : 0xC0DEC0DEull;
    return 0;
}

/* Prints the seed next to a failed check, so that the run can be repeated. */
#define assert_seeded(cond)                                                      \
    do {                                                                         \
        if (!(cond))                                                             \
            fail_msg("%s (CASTY_SEED=0x%llx)", #cond, (unsigned long long)seed); \
    } while (0)

/* Writes header + payload (+ a MAC of MAC_FILL bytes if flagged) to out; returns the size. */
static size_t build(uint8_t *out, uint8_t type, uint8_t flags, const uint8_t *payload, uint32_t len)
{
    assert_int_equal(casty_frame_header(out, type, flags, payload, len), 0);
    if (len)
        memcpy(out + CASTY_FRAME_HDR, payload, len);
    size_t n = CASTY_FRAME_HDR + len;
    if (flags & CASTY_FRAME_F_MAC) {
        memset(out + n, MAC_FILL, CASTY_FRAME_MAC_LEN);
        n += CASTY_FRAME_MAC_LEN;
    }
    return n;
}

static void init(casty_frame_decoder *d, uint32_t max_frame)
{
    assert_int_equal(casty_frame_decoder_init(d, max_frame), 0);
}

static void assert_frame(const casty_frame *f, uint8_t type, uint8_t flags, const uint8_t *payload,
                         uint32_t len)
{
    assert_int_equal(f->type, type);
    assert_int_equal(f->flags, flags);
    assert_int_equal(f->len, len);
    if (len)
        assert_memory_equal(f->payload, payload, len);
    /* The frame is contiguous, wherever it lies: its header sits just before the payload. */
    const uint8_t *hdr = f->payload - CASTY_FRAME_HDR;
    assert_int_equal(hdr[0], CASTY_FRAME_MAGIC);
    assert_int_equal(hdr[2], type);
    assert_int_equal(hdr[3], flags);
    assert_int_equal(hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24, len);
    if (flags & CASTY_FRAME_F_MAC) {
        assert_ptr_equal(f->mac, f->payload + len);
        for (uint32_t i = 0; i < CASTY_FRAME_MAC_LEN; i++)
            assert_int_equal(f->mac[i], MAC_FILL);
    } else {
        assert_null(f->mac);
    }
}

static void test_frame_type_known_is_exact(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 256; t++) {
        bool want = (t >= CASTY_FRAME_HELLO && t <= CASTY_FRAME_FRAG) ||
                    (t >= CASTY_FRAME_APP_MIN && t <= CASTY_FRAME_APP_MAX);
        assert_int_equal(casty_frame_type_known((uint8_t)t), want);
    }
}

static void test_frame_header_layout_and_errors(void **state)
{
    (void)state;
    uint8_t hdr[CASTY_FRAME_HDR];
    const uint8_t payload[3] = {1, 2, 3};
    assert_int_equal(casty_frame_header(hdr, CASTY_FRAME_PING, CASTY_FRAME_F_CONTROL, payload, 3),
                     0);
    assert_int_equal(hdr[0], CASTY_FRAME_MAGIC);
    assert_int_equal(hdr[1], CASTY_FRAME_VERSION);
    assert_int_equal(hdr[2], CASTY_FRAME_PING);
    assert_int_equal(hdr[3], CASTY_FRAME_F_CONTROL);
    assert_int_equal(hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24, 3);

    assert_int_equal(casty_frame_header(NULL, CASTY_FRAME_PING, 0, NULL, 0), -EINVAL);
    assert_int_equal(casty_frame_header(hdr, CASTY_FRAME_PING, 0, NULL, 1), -EINVAL);
    static const uint8_t bad_types[] = {0, 9, 31, 128, 255};
    for (size_t i = 0; i < sizeof(bad_types); i++)
        assert_int_equal(casty_frame_header(hdr, bad_types[i], 0, NULL, 0), -EINVAL);
    assert_int_equal(casty_frame_header(hdr, CASTY_FRAME_PING, 0x08, NULL, 0), -EINVAL);
    assert_int_equal(casty_frame_header(hdr, CASTY_FRAME_PING, 0x80, NULL, 0), -EINVAL);
    assert_int_equal(casty_frame_header(hdr, 40, 0, payload, CASTY_FRAME_MAX_LIMIT + 1), -EMSGSIZE);
}

static void test_frame_decoder_init_limits(void **state)
{
    (void)state;
    casty_frame_decoder d;
    assert_int_equal(casty_frame_decoder_init(NULL, 0), -EINVAL);
    assert_int_equal(casty_frame_decoder_init(&d, CASTY_FRAME_MAX_LIMIT + 1), -EINVAL);
    init(&d, 0);
    assert_int_equal(d.max_frame, 1u << 20);
    casty_frame_decoder_free(&d);
    init(&d, CASTY_FRAME_MAX_LIMIT);
    casty_frame_decoder_free(&d);
    casty_frame_decoder_free(&d); /* twice is harmless */
    casty_frame_decoder_free(NULL);
    /* A freed decoder refuses to run rather than touch a freed buffer. */
    size_t used;
    casty_frame f;
    uint8_t b = 0;
    assert_int_equal(casty_frame_decode(&d, &b, 1, &used, &f), -EINVAL);
}

/* Every type, every flag combination, a few sizes: in place when whole, byte by byte otherwise. */
static void test_frame_every_type_and_flag_round_trips(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 255, 300, 5000};
    uint8_t *payload = malloc(5000), *wire = malloc(5000 + 64);
    assert_non_null(payload);
    assert_non_null(wire);
    for (uint32_t i = 0; i < 5000; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    for (unsigned type = 0; type < 256; type++) {
        if (!casty_frame_type_known((uint8_t)type))
            continue;
        for (unsigned flags = 0; flags <= CASTY_FRAME_F_KNOWN; flags++) {
            for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                size_t n = build(wire, (uint8_t)type, (uint8_t)flags, payload, sizes[s]);
                casty_frame_decoder d;
                casty_frame f;
                size_t used;
                init(&d, 0);
                assert_int_equal(casty_frame_decode(&d, wire, n, &used, &f), 1);
                assert_int_equal(used, n);
                assert_frame(&f, (uint8_t)type, (uint8_t)flags, payload, sizes[s]);
                assert_ptr_equal(f.payload, wire + CASTY_FRAME_HDR); /* zero-copy */
                /* Byte by byte: 0 for every byte but the last, then the frame from the buffer. */
                for (size_t k = 0; k + 1 < n; k++) {
                    assert_int_equal(casty_frame_decode(&d, wire + k, 1, &used, &f), 0);
                    assert_int_equal(used, 1);
                }
                assert_int_equal(casty_frame_decode(&d, wire + n - 1, 1, &used, &f), 1);
                assert_frame(&f, (uint8_t)type, (uint8_t)flags, payload, sizes[s]);
                assert_true(f.payload >= d.buf && f.payload < d.buf + d.cap);
                assert_int_equal(d.stats.frames, 2);
                casty_frame_decoder_free(&d);
            }
        }
    }
    free(payload);
    free(wire);
}

/* len == max_frame passes; max_frame + 1 fails on the header, before the buffer grows. */
static void test_frame_length_limit_checked_before_allocation(void **state)
{
    (void)state;
    enum { MAX = 1000 };
    uint8_t payload[MAX + 1], wire[MAX + 64];
    memset(payload, 0x42, sizeof(payload));
    casty_frame_decoder d;
    casty_frame f;
    size_t used, n = build(wire, 40, CASTY_FRAME_F_MAC, payload, MAX);
    init(&d, MAX);
    for (size_t k = 0; k + 1 < n; k++)
        assert_int_equal(casty_frame_decode(&d, wire + k, 1, &used, &f), 0);
    assert_int_equal(casty_frame_decode(&d, wire + n - 1, 1, &used, &f), 1);
    assert_int_equal(f.len, MAX);
    assert_true(d.cap <= MAX + CASTY_FRAME_HDR + CASTY_FRAME_MAC_LEN);
    casty_frame_decoder_free(&d);

    /* One byte more, fed byte by byte and then whole: refused on the header alone. */
    n = build(wire, 40, 0, payload, MAX + 1);
    for (int whole = 0; whole < 2; whole++) {
        init(&d, MAX);
        const uint8_t *buf0 = d.buf;
        uint32_t cap0 = d.cap;
        int rc = 0;
        size_t fed = 0;
        if (whole) {
            rc = casty_frame_decode(&d, wire, n, &used, &f);
            fed = n;
        } else {
            for (; fed < n && rc == 0; fed++)
                rc = casty_frame_decode(&d, wire + fed, 1, &used, &f);
        }
        assert_int_equal(rc, -EMSGSIZE);
        if (!whole)
            assert_int_equal(fed, CASTY_FRAME_HDR); /* the 12th byte completed the header */
        assert_ptr_equal(d.buf, buf0);
        assert_int_equal(d.cap, cap0);
        assert_int_equal(d.stats.too_large, 1);
        casty_frame_decoder_free(&d);
    }
}

/* Builds a PING with a 4-byte payload and lets `corrupt` damage it; returns its size. */
static size_t damaged_frame(uint8_t *wire, int kind)
{
    const uint8_t payload[4] = {9, 8, 7, 6};
    size_t n = build(wire, CASTY_FRAME_PING, 0, payload, 4);
    switch (kind) {
    case 0:
        wire[0] = 0xCB; /* magic */
        break;
    case 1:
        wire[1] = CASTY_FRAME_VERSION + 1;
        break;
    case 2:
        wire[2] = 9; /* an unknown type */
        break;
    case 3:
        wire[3] = 0x10; /* an unknown flag */
        break;
    case 4:
        wire[7] = 0x01; /* len 2^24 + 4 > max_frame */
        break;
    default:
        wire[CASTY_FRAME_HDR] ^= 1; /* payload: the checksum no longer matches */
        break;
    }
    return n;
}

static const uint64_t *counter_of(const casty_frame_stats *s, int kind)
{
    const uint64_t *c[] = {&s->bad_magic, &s->bad_version, &s->bad_type,
                           &s->bad_flags, &s->too_large,   &s->bad_checksum};
    return c[kind];
}

static void assert_only_counter(const casty_frame_stats *s, int kind)
{
    for (int k = 0; k < 6; k++)
        assert_int_equal(*counter_of(s, k), k == kind);
    assert_int_equal(s->frames, 0);
}

/* Each error kind: its code, its counter (once), and stickiness, for whole and byte-wise input. */
static void test_frame_errors_counted_once_and_sticky(void **state)
{
    (void)state;
    static const int codes[] = {-EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG, -EMSGSIZE, -EILSEQ};
    uint8_t wire[64], good[64];
    const uint8_t empty = 0;
    size_t good_n = build(good, CASTY_FRAME_PONG, 0, &empty, 0);
    for (int kind = 0; kind < 6; kind++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            size_t n = damaged_frame(wire, kind), used;
            casty_frame_decoder d;
            casty_frame f;
            init(&d, 1024);
            int rc = 0;
            if (bytewise) {
                for (size_t k = 0; k < n && rc == 0; k++)
                    rc = casty_frame_decode(&d, wire + k, 1, &used, &f);
            } else {
                rc = casty_frame_decode(&d, wire, n, &used, &f);
            }
            assert_int_equal(rc, codes[kind]);
            assert_only_counter(&d.stats, kind);
            /* Sticky: even a good frame afterwards gets the error, consumes nothing, counts nothing. */
            for (int again = 0; again < 3; again++) {
                assert_int_equal(casty_frame_decode(&d, good, good_n, &used, &f), codes[kind]);
                assert_int_equal(used, 0);
            }
            assert_int_equal(d.error, codes[kind]);
            assert_only_counter(&d.stats, kind);
            casty_frame_decoder_free(&d);
        }
    }
}

static void test_frame_decode_argument_checks(void **state)
{
    (void)state;
    casty_frame_decoder d;
    casty_frame f;
    size_t used = 99;
    uint8_t b = CASTY_FRAME_MAGIC;
    init(&d, 0);
    assert_int_equal(casty_frame_decode(NULL, &b, 1, &used, &f), -EINVAL);
    assert_int_equal(casty_frame_decode(&d, &b, 1, NULL, &f), -EINVAL);
    assert_int_equal(casty_frame_decode(&d, &b, 1, &used, NULL), -EINVAL);
    assert_int_equal(casty_frame_decode(&d, NULL, 1, &used, &f), -EINVAL);
    assert_int_equal(casty_frame_decode(&d, NULL, 0, &used, &f), 0);
    assert_int_equal(used, 0);
    /* None of that consumed or counted anything: a frame still decodes. */
    uint8_t wire[CASTY_FRAME_HDR];
    size_t n = build(wire, CASTY_FRAME_PING, 0, NULL, 0);
    assert_int_equal(casty_frame_decode(&d, wire, n, &used, &f), 1);
    assert_int_equal(d.stats.frames, 1);
    casty_frame_decoder_free(&d);
}

/* Every single-bit flip in header or payload is an error, even with more bytes behind it. */
static void test_frame_bit_flips_detected(void **state)
{
    (void)state;
    enum { MAX = 4096 };
    uint8_t payload[40];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(0x30 + i);
    /* Padding behind the frame: a flipped length that grows the frame still completes. */
    size_t cap = sizeof(payload) + CASTY_FRAME_HDR + MAX + 64;
    uint8_t *wire = calloc(1, cap), *copy = malloc(cap);
    assert_non_null(wire);
    assert_non_null(copy);
    size_t n = build(wire, 50, CASTY_FRAME_F_CONTROL, payload, sizeof(payload));
    for (size_t bit = 0; bit < n * 8; bit++) {
        memcpy(copy, wire, cap);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        casty_frame_decoder d;
        casty_frame f;
        size_t used;
        init(&d, MAX);
        int rc = casty_frame_decode(&d, copy, cap, &used, &f);
        if (rc >= 0)
            fail_msg("bit %zu flipped: decode returned %d", bit, rc);
        casty_frame_decoder_free(&d);
    }
    /* The MAC is the transport's to check: the checksum does not cover it. */
    n = build(wire, 50, CASTY_FRAME_F_MAC, payload, sizeof(payload));
    wire[n - 1] ^= 0x01;
    casty_frame_decoder d;
    casty_frame f;
    size_t used;
    init(&d, MAX);
    assert_int_equal(casty_frame_decode(&d, wire, n, &used, &f), 1);
    assert_int_equal(f.mac[CASTY_FRAME_MAC_LEN - 1], MAC_FILL ^ 0x01);
    casty_frame_decoder_free(&d);
    free(wire);
    free(copy);
}

typedef struct spec {
    uint8_t type, flags;
    uint32_t len;
    const uint8_t *payload;
} spec;

typedef struct stream {
    spec *frames;
    size_t nframes;
    uint8_t *bytes;
    size_t len;
} stream;

#define STREAM_MAX_FRAME (64u * 1024)

/* Random frames back to back: mostly small, some large enough to make the buffer grow. */
static void make_stream(stream *st, uint64_t *s, size_t nframes, const uint8_t *pool)
{
    st->frames = calloc(nframes, sizeof(spec));
    assert_non_null(st->frames);
    st->nframes = nframes;
    size_t total = 0;
    for (size_t i = 0; i < nframes; i++) {
        spec *f = &st->frames[i];
        uint64_t r = rnd(s);
        f->type = r & 1 ? (uint8_t)(CASTY_FRAME_APP_MIN + r % 96) : (uint8_t)(1 + (r >> 8) % 8);
        f->flags = (uint8_t)((r >> 16) & CASTY_FRAME_F_KNOWN);
        uint32_t pick = (uint32_t)(r >> 24) % 16;
        f->len = pick == 0  ? (uint32_t)(rnd(s) % (STREAM_MAX_FRAME + 1))
                 : pick < 4 ? 0
                            : (uint32_t)(rnd(s) % 600);
        f->payload = pool + rnd(s) % (STREAM_MAX_FRAME + 1 - f->len);
        total += CASTY_FRAME_HDR + f->len + CASTY_FRAME_MAC_LEN;
    }
    st->bytes = malloc(total);
    assert_non_null(st->bytes);
    st->len = 0;
    for (size_t i = 0; i < nframes; i++) {
        const spec *f = &st->frames[i];
        st->len += build(st->bytes + st->len, f->type, f->flags, f->payload, f->len);
    }
}

static void free_stream(stream *st)
{
    free(st->frames);
    free(st->bytes);
}

/*
 * Feeds the stream in chunks: mode 0 whole, 1 byte by byte, 2 random sizes
 * (biased to small, so frames straddle chunks often). Asserts that the
 * frames come out exactly as specified, in order, and that the buffer stays
 * within the one-frame bound.
 */
static void feed(const stream *st, int mode, uint64_t *s)
{
    casty_frame_decoder d;
    init(&d, STREAM_MAX_FRAME);
    size_t pos = 0, next = 0;
    while (pos < st->len) {
        size_t chunk = mode == 0 ? st->len - pos : mode == 1 ? 1 : 1 + rnd(s) % 3000;
        if (chunk > st->len - pos)
            chunk = st->len - pos;
        size_t off = 0;
        /* At most one frame per call, and each call makes progress or ends the chunk. */
        for (size_t guard = 0; guard <= chunk + 1; guard++) {
            size_t used;
            casty_frame f;
            int rc = casty_frame_decode(&d, st->bytes + pos + off, chunk - off, &used, &f);
            assert_seeded(rc == 0 || rc == 1);
            assert_seeded(used <= chunk - off);
            off += used;
            if (rc == 0) {
                assert_seeded(off == chunk);
                break;
            }
            assert_seeded(next < st->nframes);
            const spec *want = &st->frames[next++];
            assert_seeded(f.type == want->type && f.flags == want->flags && f.len == want->len);
            assert_seeded(f.len == 0 || memcmp(f.payload, want->payload, f.len) == 0);
            assert_seeded(!(f.flags & CASTY_FRAME_F_MAC) == !f.mac);
            if (off == chunk)
                break;
        }
        assert_seeded(off == chunk);
        pos += chunk;
        assert_seeded(d.cap <= STREAM_MAX_FRAME + CASTY_FRAME_HDR + CASTY_FRAME_MAC_LEN);
    }
    assert_seeded(next == st->nframes);
    assert_seeded(d.have == 0);
    assert_seeded(d.stats.frames == st->nframes);
    casty_frame_decoder_free(&d);
}

static void test_frame_any_split_gives_same_frames(void **state)
{
    (void)state;
    uint64_t s = seed;
    uint8_t *pool = malloc(STREAM_MAX_FRAME + 1);
    assert_non_null(pool);
    for (size_t i = 0; i <= STREAM_MAX_FRAME; i++)
        pool[i] = (uint8_t)rnd(&s);
    int iterations = 200 / CASTY_TEST_SCALE;
    for (int it = 0; it < iterations; it++) {
        stream st;
        make_stream(&st, &s, 40, pool);
        feed(&st, 0, &s);
        feed(&st, 2, &s);
        feed(&st, 2, &s);
        if (it % 20 == 0) /* byte by byte is slow on 1 MiB streams: a sample is enough */
            feed(&st, 1, &s);
        free_stream(&st);
    }
    free(pool);
}

/* The decoder allocates at init and on growth only, and frees everything. */
static void test_frame_decoder_frees_all_it_allocates(void **state)
{
    (void)state;
    uint64_t a0, f0, a1, f1;
    casty__mem_stats(&a0, &f0);
    uint64_t s = seed ^ 1;
    uint8_t *pool = malloc(STREAM_MAX_FRAME + 1);
    assert_non_null(pool);
    memset(pool, 0x77, STREAM_MAX_FRAME + 1);
    stream st;
    make_stream(&st, &s, 30, pool);
    feed(&st, 2, &s);
    free_stream(&st);
    free(pool);
    casty__mem_stats(&a1, &f1);
    assert_true(a1 > a0);
    assert_int_equal(a1 - a0, f1 - f0);
}

/* ---- handshake bodies ---- */

static casty_hello sample_hello(bool has_mac)
{
    casty_hello h;
    memset(&h, 0, sizeof(h));
    h.proto_version = CASTY_PROTO_VERSION;
    h.flags = CASTY_HELLO_F_KEYED;
    strcpy(h.cluster, "prod-eu ~1");
    h.node_id = 0x0102030405060708ull;
    h.incarnation = 77;
    h.adv_ip = 0x7F000001u;
    h.adv_port = 7355;
    for (int i = 0; i < (int)CASTY_NONCE_LEN; i++)
        h.nonce[i] = (uint8_t)(i + 1);
    h.has_mac = has_mac;
    if (has_mac) {
        for (int i = 0; i < (int)CASTY_HELLO_MAC_LEN; i++)
            h.mac[i] = (uint8_t)(0xA0 + i);
    }
    return h;
}

static void test_hello_round_trips(void **state)
{
    (void)state;
    for (int mac = 0; mac < 2; mac++) {
        casty_hello h = sample_hello(mac), back;
        uint8_t buf[256];
        int n = casty_hello_encode(&h, buf, sizeof(buf));
        assert_int_equal(n, 2 + 2 + 1 + 10 + 8 + 8 + 4 + 2 + 32 + 1 + (mac ? 32 : 0));
        assert_int_equal(buf[0] | buf[1] << 8, CASTY_PROTO_VERSION); /* first, in every version */
        memset(&back, 0x55, sizeof(back));
        assert_int_equal(casty_hello_decode(buf, (size_t)n, &back), 0);
        assert_memory_equal(&back, &h, sizeof(h));
        for (int cap = 0; cap < n; cap++)
            assert_int_equal(casty_hello_encode(&h, buf, (size_t)cap), -ENOSPC);
    }
    /* Without a MAC, whatever sits in mac[] is not sent, and decodes as zeros. */
    casty_hello h = sample_hello(false), back;
    memset(h.mac, 0x99, sizeof(h.mac));
    uint8_t buf[256];
    int n = casty_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(casty_hello_decode(buf, (size_t)n, &back), 0);
    for (size_t i = 0; i < sizeof(back.mac); i++)
        assert_int_equal(back.mac[i], 0);
}

static void test_hello_encode_rejects_bad_fields(void **state)
{
    (void)state;
    uint8_t buf[256];
    casty_hello h = sample_hello(true);
    h.node_id = 0;
    assert_int_equal(casty_hello_encode(&h, buf, sizeof(buf)), -EINVAL);
    h = sample_hello(true);
    h.cluster[0] = 0; /* empty name */
    assert_int_equal(casty_hello_encode(&h, buf, sizeof(buf)), -EINVAL);
    memset(h.cluster, 'a', sizeof(h.cluster)); /* 64 bytes, no NUL */
    assert_int_equal(casty_hello_encode(&h, buf, sizeof(buf)), -EINVAL);
    h.cluster[CASTY_CLUSTER_NAME_MAX] = 0; /* 63: the longest */
    assert_true(casty_hello_encode(&h, buf, sizeof(buf)) > 0);
    static const char bad[] = {'\n', '\t', 0x1F, 0x7F, (char)0x80, (char)0xFF};
    for (size_t i = 0; i < sizeof(bad); i++) {
        strcpy(h.cluster, "abc");
        h.cluster[1] = bad[i];
        assert_int_equal(casty_hello_encode(&h, buf, sizeof(buf)), -EINVAL);
    }
    assert_int_equal(casty_hello_encode(NULL, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(casty_hello_encode(&h, NULL, sizeof(buf)), -EINVAL);
}

static void test_hello_decode_rejections(void **state)
{
    (void)state;
    casty_hello h = sample_hello(true), back;
    uint8_t buf[256];
    int n = casty_hello_encode(&h, buf, sizeof(buf));
    /* Every truncation, each from an exact-size heap copy so ASan sees any overread. */
    for (int len = 0; len < n; len++) {
        uint8_t *cut = malloc((size_t)len + 1);
        assert_non_null(cut);
        memcpy(cut, buf, (size_t)len);
        assert_int_equal(casty_hello_decode(cut, (size_t)len, &back), -EBADMSG);
        free(cut);
    }
    buf[n] = 0;
    assert_int_equal(casty_hello_decode(buf, (size_t)n + 1, &back), -EBADMSG); /* trailing */

    const size_t name_at = 5, nlen = strlen(h.cluster);
    const size_t id_at = name_at + nlen, mac_flag_at = id_at + 8 + 8 + 4 + 2 + CASTY_NONCE_LEN;
    uint8_t bad[256];
    memcpy(bad, buf, (size_t)n);
    bad[name_at + 2] = 0x07; /* control byte in the name */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[name_at + 2] = 0; /* NUL in the name */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    memset(bad + id_at, 0, 8); /* node id zero */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[mac_flag_at] = 2; /* presence byte neither 0 nor 1 */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[mac_flag_at] = 0; /* says no MAC, but 32 more bytes follow */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    bad[4] = 0; /* name length 0 */
    assert_int_equal(casty_hello_decode(bad, (size_t)n, &back), -EBADMSG);
    bad[4] = CASTY_CLUSTER_NAME_MAX + 1; /* name length 64 */
    assert_int_equal(casty_hello_decode(bad, sizeof(bad), &back), -EBADMSG);
    assert_int_equal(casty_hello_decode(NULL, 5, &back), -EINVAL);
    assert_int_equal(casty_hello_decode(buf, (size_t)n, NULL), -EINVAL);
}

static void test_refuse_round_trips_and_rejections(void **state)
{
    (void)state;
    casty_refuse r, back;
    memset(&r, 0, sizeof(r));
    r.code = 999; /* unknown codes still travel: the transport decides */
    memset(r.reason, 'r', sizeof(r.reason) - 1); /* 127 bytes: the longest */
    uint8_t buf[256];
    int n = casty_refuse_encode(&r, buf, sizeof(buf));
    assert_int_equal(n, 3 + 127);
    memset(&back, 0x55, sizeof(back));
    assert_int_equal(casty_refuse_decode(buf, (size_t)n, &back), 0);
    assert_memory_equal(&back, &r, sizeof(r));
    for (int cap = 0; cap < n; cap++)
        assert_int_equal(casty_refuse_encode(&r, buf, (size_t)cap), -ENOSPC);
    for (int len = 0; len < n; len++) {
        uint8_t *cut = malloc((size_t)len + 1);
        assert_non_null(cut);
        memcpy(cut, buf, (size_t)len);
        assert_int_equal(casty_refuse_decode(cut, (size_t)len, &back), -EBADMSG);
        free(cut);
    }
    buf[n] = 'x';
    assert_int_equal(casty_refuse_decode(buf, (size_t)n + 1, &back), -EBADMSG);
    buf[2] = 128; /* a reason of 128 bytes cannot be NUL-terminated in reason[128] */
    assert_int_equal(casty_refuse_decode(buf, 3 + 128, &back), -EBADMSG);

    memset(r.reason, 'r', sizeof(r.reason)); /* no NUL */
    assert_int_equal(casty_refuse_encode(&r, buf, sizeof(buf)), -EINVAL);
    strcpy(r.reason, "line\nbreak");
    assert_int_equal(casty_refuse_encode(&r, buf, sizeof(buf)), -EINVAL);
    strcpy(r.reason, "caf\xc3\xa9"); /* UTF-8 passes */
    r.code = CASTY_REFUSE_CLUSTER;
    n = casty_refuse_encode(&r, buf, sizeof(buf));
    assert_int_equal(n, 3 + 5);
    assert_int_equal(casty_refuse_decode(buf, (size_t)n, &back), 0);
    assert_string_equal(back.reason, r.reason);
    buf[4] = 0x1B; /* an escape byte from the wire */
    assert_int_equal(casty_refuse_decode(buf, (size_t)n, &back), -EBADMSG);
    r.reason[0] = 0; /* empty reason */
    assert_int_equal(casty_refuse_encode(&r, buf, sizeof(buf)), 3);
    assert_int_equal(casty_refuse_decode(buf, 3, &back), 0);
    assert_int_equal(back.code, CASTY_REFUSE_CLUSTER);
    assert_int_equal(casty_refuse_encode(NULL, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(casty_refuse_decode(NULL, 3, &back), -EINVAL);
    assert_int_equal(casty_refuse_decode(buf, 3, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_type_known_is_exact),
        cmocka_unit_test(test_frame_header_layout_and_errors),
        cmocka_unit_test(test_frame_decoder_init_limits),
        cmocka_unit_test(test_frame_every_type_and_flag_round_trips),
        cmocka_unit_test(test_frame_length_limit_checked_before_allocation),
        cmocka_unit_test(test_frame_errors_counted_once_and_sticky),
        cmocka_unit_test(test_frame_decode_argument_checks),
        cmocka_unit_test(test_frame_bit_flips_detected),
        cmocka_unit_test(test_frame_any_split_gives_same_frames),
        cmocka_unit_test(test_frame_decoder_frees_all_it_allocates),
        cmocka_unit_test(test_hello_round_trips),
        cmocka_unit_test(test_hello_encode_rejects_bad_fields),
        cmocka_unit_test(test_hello_decode_rejections),
        cmocka_unit_test(test_refuse_round_trips_and_rejections),
    };
    return cmocka_run_group_tests_name("cluster/frame", tests, group_setup, NULL);
}
