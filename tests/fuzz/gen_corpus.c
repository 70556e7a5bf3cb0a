/*
 * Writes the seed corpora of the fuzz targets, built with the real encoders
 * so that the seeds track the format:
 *
 *   gen_corpus DIR    writes DIR/fuzz_frame/, DIR/fuzz_message/ and
 *                     DIR/fuzz_handshake/ (the directories must exist)
 *
 * Each target gets a few valid inputs and a few near-valid ones (one field
 * off), which lead the fuzzer straight to the checks. The committed files in
 * tests/fuzz/corpus/ are this program's output: rerun it after a format change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/frame.h"
#include "fuzz.h"
#include "schemas.h"

static const char *root;

static void put(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static size_t frame(uint8_t *out, uint8_t type, uint8_t flags, const void *payload, uint32_t len)
{
    FUZZ_CHECK(casty_frame_header(out, type, flags, payload, len) == 0);
    if (len)
        memcpy(out + CASTY_FRAME_HDR, payload, len);
    size_t n = CASTY_FRAME_HDR + len;
    if (flags & CASTY_FRAME_F_MAC) {
        memset(out + n, 0x4D, CASTY_FRAME_MAC_LEN);
        n += CASTY_FRAME_MAC_LEN;
    }
    return n;
}

static casty_hello sample_hello(bool mac)
{
    casty_hello h;
    memset(&h, 0, sizeof(h));
    h.proto_version = CASTY_PROTO_VERSION;
    h.flags = mac ? CASTY_HELLO_F_KEYED : 0;
    strcpy(h.cluster, "casty");
    h.node_id = 0x1234;
    h.incarnation = 3;
    h.adv_ip = 0x0A000001u;
    h.adv_port = 7355;
    memset(h.nonce, 0x6E, sizeof(h.nonce));
    h.has_mac = mac;
    if (mac)
        memset(h.mac, 0x3C, sizeof(h.mac));
    return h;
}

static void frames(void)
{
    static uint8_t buf[2 * 4200], body[4096];
    const char *t = "fuzz_frame";
    size_t n = frame(buf, CASTY_FRAME_PING, CASTY_FRAME_F_CONTROL, NULL, 0);
    put(t, "ping", buf, n);
    casty_hello h = sample_hello(true);
    int hn = casty_hello_encode(&h, body, sizeof(body));
    FUZZ_CHECK(hn > 0);
    n = frame(buf, CASTY_FRAME_HELLO, CASTY_FRAME_F_CONTROL, body, (uint32_t)hn);
    put(t, "hello", buf, n);
    n = frame(buf, 40, CASTY_FRAME_F_MAC, "application bytes", 17);
    size_t two = n + frame(buf + n, CASTY_FRAME_FRAG, CASTY_FRAME_F_MORE, "part one", 8);
    put(t, "app_mac", buf, n);
    put(t, "app_then_frag", buf, two);
    memset(body, 0x61, sizeof(body));
    n = frame(buf, CASTY_FRAME_APP_MAX, 0, body, 4096); /* the target's max_frame exactly */
    put(t, "max_len", buf, n);
    /* Near-valid: one thing wrong each. */
    n = frame(buf, CASTY_FRAME_PONG, 0, "x", 1);
    buf[CASTY_FRAME_HDR] ^= 0x20;
    put(t, "bad_checksum", buf, n);
    n = frame(buf, 41, 0, body, 4097);
    put(t, "too_large", buf, n);
    n = frame(buf, CASTY_FRAME_CLOSE, 0, "bye", 3);
    put(t, "truncated", buf, n - 1);
    buf[3] = 0x08;
    put(t, "unknown_flag", buf, n);
}

/* One seed per schema: byte 0 selects it (bit 7: through the ref hooks), then the message. */
static void message(const char *name, uint8_t selector, const void *msg)
{
    static uint8_t buf[1 + 2 * FUZZ_STRUCT_MAX];
    const casty_wire_msg *m = casty_wire_find(CASTY_WIRE_OF(FzMsg), 1 + (selector & 0x7F));
    FUZZ_CHECK(m != NULL);
    buf[0] = selector;
    int n = casty_wire_encode(m, msg, m->size, NULL, buf + 1, sizeof(buf) - 1);
    FUZZ_CHECK(n >= 0);
    put("fuzz_message", name, buf, 1 + (size_t)n);
}

static void messages(void)
{
    FzScalars s;
    memset(&s, 0, sizeof(s));
    s.i8 = -1;
    s.u16 = 0xBEEF;
    s.i64 = -5;
    s.c = 'c';
    s.flag = true;
    s.f64 = 2.5;
    message("scalars", 0, &s);
    FzArrays a;
    memset(&a, 0, sizeof(a));
    strcpy(a.name, "seven77");
    memcpy(a.blob, "\x01\x02\x03", 3);
    memset(a.big, 'b', 40);
    a.one[0] = 9;
    a.after = true;
    message("arrays", 1, &a);
    FzRefs r;
    memset(&r, 0, sizeof(r));
    r.a.kind = CASTY_REF_ACTOR;
    r.a.system = 0x101;
    r.a.addr = 0x7F0000001000ull;
    r.k = -2;
    r.b.kind = CASTY_REF_ASK;
    r.b.node = 3;
    message("refs", 2, &r);
    message("refs_hooked", 0x80 | 2, &r);
    FzMixed x;
    memset(&x, 0, sizeof(x));
    x.a = true;
    x.s[0] = 'q';
    x.x = 1;
    x.b[2] = 0xFF;
    x.r.kind = CASTY_REF_TIMER;
    x.f = -0.0f;
    x.h = 300;
    message("mixed", 3, &x);
    FzEmpty e;
    memset(&e, 0, sizeof(e));
    message("empty", 4, &e);
    /* Near-valid: FzArrays (selector 1) whose last field, the bool `after`, is 2; and cut short. */
    static uint8_t buf[1 + 2 * FUZZ_STRUCT_MAX];
    buf[0] = 1;
    int n = casty_wire_encode(&FzArrays__casty_wire, &a, sizeof(a), NULL, buf + 1, sizeof(buf) - 1);
    FUZZ_CHECK(n > 0);
    buf[n] = 2;
    put("fuzz_message", "bool_two", buf, 1 + (size_t)n);
    put("fuzz_message", "truncated", buf, (size_t)n);
}

static void handshakes(void)
{
    uint8_t buf[512];
    const char *t = "fuzz_handshake";
    casty_hello h = sample_hello(false);
    int n = casty_hello_encode(&h, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    put(t, "hello", buf, (size_t)n);
    buf[n] = 0;
    put(t, "hello_trailing", buf, (size_t)n + 1);
    h = sample_hello(true);
    n = casty_hello_encode(&h, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    put(t, "welcome_mac", buf, (size_t)n);
    memset(buf + 5 + strlen(h.cluster), 0, 8);
    put(t, "hello_node_zero", buf, (size_t)n);
    casty_refuse r;
    memset(&r, 0, sizeof(r));
    r.code = CASTY_REFUSE_CLUSTER;
    strcpy(r.reason, "cluster name differs");
    n = casty_refuse_encode(&r, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    put(t, "refuse", buf, (size_t)n);
    r.code = CASTY_REFUSE_SHUTDOWN;
    r.reason[0] = 0;
    n = casty_refuse_encode(&r, buf, sizeof(buf));
    FUZZ_CHECK(n > 0);
    put(t, "close_empty", buf, (size_t)n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    frames();
    messages();
    handshakes();
    return 0;
}
