/*
 * Fuzz target: the handshake bodies (casty_hello_*, casty_refuse_* in
 * cluster/frame.c). Every input goes to both decoders, as a peer's HELLO and
 * as its REFUSE. Checked: only -EBADMSG on failure, with a zeroed result; a
 * decoded body satisfies what the header promises (a printable 1..63-byte
 * cluster name, a nonzero node id, a NUL-terminated reason) and re-encodes
 * to exactly the input bytes. The same bytes read as raw struct memory must
 * either fail to encode with -EINVAL or encode to bytes that decode and
 * re-encode identically.
 */
#include <string.h>

#include "cluster/frame.h"
#include "fuzz.h"

#define BODY_MAX 512u

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return false;
    }
    return true;
}

static void check_hello_valid(const casty_hello *h)
{
    size_t n = strnlen(h->cluster, sizeof(h->cluster));
    FUZZ_CHECK(n >= 1 && n <= CASTY_CLUSTER_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(h->cluster[i] >= 0x20 && h->cluster[i] <= 0x7E);
    FUZZ_CHECK(h->node_id != 0);
    if (!h->has_mac)
        FUZZ_CHECK(all_zero(h->mac, sizeof(h->mac)));
}

static void hello_round_trip(const uint8_t *in, size_t len)
{
    casty_hello h, again;
    int rc = casty_hello_decode(in, len, &h);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EBADMSG);
        FUZZ_CHECK(all_zero(&h, sizeof(h)));
        return;
    }
    FUZZ_CHECK(rc == 0);
    check_hello_valid(&h);
    uint8_t out[BODY_MAX];
    FUZZ_CHECK(casty_hello_encode(&h, out, sizeof(out)) == (int)len);
    FUZZ_CHECK(memcmp(out, in, len) == 0);
    FUZZ_CHECK(casty_hello_decode(out, len, &again) == 0);
    FUZZ_CHECK(memcmp(&again, &h, sizeof(h)) == 0);
}

static void refuse_round_trip(const uint8_t *in, size_t len)
{
    casty_refuse r;
    int rc = casty_refuse_decode(in, len, &r);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EBADMSG);
        FUZZ_CHECK(all_zero(&r, sizeof(r)));
        return;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(memchr(r.reason, 0, sizeof(r.reason)) != NULL);
    uint8_t out[BODY_MAX];
    FUZZ_CHECK(casty_refuse_encode(&r, out, sizeof(out)) == (int)len);
    FUZZ_CHECK(memcmp(out, in, len) == 0);
}

/* The input as the struct a sender fills in: bad fields are refused, never encoded. */
static void encode_side(const uint8_t *data, size_t size)
{
    casty_hello h;
    memset(&h, 0, sizeof(h));
    memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
    /* bool has two valid values; raw bytes may hold any, which no sender's bool can. */
    h.has_mac = ((const uint8_t *)&h)[offsetof(casty_hello, has_mac)] & 1;
    uint8_t out[BODY_MAX];
    int n = casty_hello_encode(&h, out, sizeof(out));
    if (n < 0)
        FUZZ_CHECK(n == -EINVAL);
    else
        hello_round_trip(out, (size_t)n);

    casty_refuse r;
    memset(&r, 0, sizeof(r));
    memcpy(&r, data, size < sizeof(r) ? size : sizeof(r));
    n = casty_refuse_encode(&r, out, sizeof(out));
    if (n < 0)
        FUZZ_CHECK(n == -EINVAL);
    else
        refuse_round_trip(out, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hello_round_trip(data, size);
    refuse_round_trip(data, size);
    encode_side(data, size);
    return 0;
}
