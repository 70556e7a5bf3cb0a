/*
 * Fuzz target: the streaming frame decoder (cluster/frame.c).
 *
 * The input is a byte stream from a peer. It is decoded whole, byte by byte,
 * and in chunks whose sizes are drawn from a PRNG seeded with the input's
 * hash (so a reproducer replays exactly). Every way must give the same
 * frames, the same final state and the same stats: splitting must never
 * change what the decoder sees. Each returned frame must be well formed and
 * re-encode to the header bytes it came from, consumed counts must add up,
 * and the buffer must stay within one maximal frame. A second decoder with
 * a tiny limit checks the invariants on streams that mostly hit -EMSGSIZE.
 */
#include <string.h>
#include <xxhash.h>

#include "cluster/frame.h"
#include "fuzz.h"

#define MAX_FRAME  4096u
#define TINY_FRAME 16u
#define MAX_SEEN   4096 /* frames recorded per run; further frames are checked, not compared */

typedef struct seen {
    uint8_t type, flags;
    uint32_t len;
    size_t at; /* offset of the frame in the stream */
    uint64_t payload_hash, mac_hash;
} seen;

typedef struct outcome {
    seen frames[MAX_SEEN];
    size_t nframes;
    int final;       /* 0: ran out of input; else the sticky error */
    size_t consumed; /* total bytes consumed */
    uint32_t have;   /* bytes buffered at the end */
    casty_frame_stats stats;
} outcome;

static outcome runs[3];

/* The frame at stream offset `at` is well formed and matches the stream's bytes. */
static void check_frame(const casty_frame_decoder *d, const casty_frame *f, const uint8_t *stream,
                        size_t at, size_t stream_len)
{
    FUZZ_CHECK(casty_frame_type_known(f->type));
    FUZZ_CHECK((f->flags & ~CASTY_FRAME_F_KNOWN) == 0);
    FUZZ_CHECK(f->len <= d->max_frame);
    FUZZ_CHECK(!(f->flags & CASTY_FRAME_F_MAC) == !f->mac);
    size_t size = CASTY_FRAME_HDR + f->len + (f->mac ? CASTY_FRAME_MAC_LEN : 0);
    FUZZ_CHECK(at + size <= stream_len);
    /* What the decoder hands out equals the stream, wherever it points (input or buffer). */
    FUZZ_CHECK(memcmp(f->payload, stream + at + CASTY_FRAME_HDR, f->len) == 0);
    if (f->mac)
        FUZZ_CHECK(memcmp(f->mac, stream + at + CASTY_FRAME_HDR + f->len, CASTY_FRAME_MAC_LEN) ==
                   0);
    /* Contiguous, as frame.h promises: the header sits just before the payload, the MAC after. */
    FUZZ_CHECK(memcmp(f->payload - CASTY_FRAME_HDR, stream + at, CASTY_FRAME_HDR) == 0);
    FUZZ_CHECK(!f->mac || f->mac == f->payload + f->len);
    /* The header is canonical: re-encoding the frame gives the same 12 bytes. */
    uint8_t hdr[CASTY_FRAME_HDR];
    FUZZ_CHECK(casty_frame_header(hdr, f->type, f->flags, f->payload, f->len) == 0);
    FUZZ_CHECK(memcmp(hdr, stream + at, CASTY_FRAME_HDR) == 0);
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void record(outcome *o, const casty_frame *f, size_t at)
{
    if (o->nframes == MAX_SEEN)
        return;
    seen *s = &o->frames[o->nframes++];
    s->type = f->type;
    s->flags = f->flags;
    s->len = f->len;
    s->at = at;
    s->payload_hash = XXH3_64bits(f->len ? f->payload : (const uint8_t *)"", f->len);
    s->mac_hash = f->mac ? XXH3_64bits(f->mac, CASTY_FRAME_MAC_LEN) : 0;
}

/* Feeds one chunk; returns the sticky error, or 0 once the chunk is used up. */
static int feed_chunk(casty_frame_decoder *d, const uint8_t *stream, size_t stream_len,
                      size_t start, size_t chunk, size_t *frame_at, outcome *o)
{
    size_t off = 0;
    /* Each frame returned consumes at least one byte, so chunk + 1 calls are plenty. */
    for (size_t guard = 0; guard <= chunk + 1; guard++) {
        size_t used = SIZE_MAX;
        casty_frame f;
        int rc = casty_frame_decode(d, stream + start + off, chunk - off, &used, &f);
        FUZZ_CHECK(used <= chunk - off);
        off += used;
        o->consumed += used;
        if (rc < 0)
            return rc;
        FUZZ_CHECK(d->cap <= d->max_frame + CASTY_FRAME_HDR + CASTY_FRAME_MAC_LEN);
        if (rc == 0) {
            FUZZ_CHECK(off == chunk); /* 0 means: everything taken, no frame yet */
            return 0;
        }
        FUZZ_CHECK(rc == 1);
        check_frame(d, &f, stream, *frame_at, stream_len);
        record(o, &f, *frame_at);
        *frame_at = start + off;
        FUZZ_CHECK(d->have == 0); /* a frame was returned: nothing of the next one is buffered */
        if (off == chunk)
            return 0;
    }
    FUZZ_CHECK(!"decoder made no progress");
    return 0;
}

/* mode 0: whole; 1: byte by byte; 2: chunk sizes from the PRNG. */
static void run(const uint8_t *data, size_t size, int mode, uint32_t max_frame, outcome *o)
{
    casty_frame_decoder d;
    FUZZ_CHECK(casty_frame_decoder_init(&d, max_frame) == 0);
    memset(o, 0, sizeof(*o));
    uint64_t rng = XXH3_64bits(data, size);
    size_t pos = 0, frame_at = 0;
    while (pos < size && o->final == 0) {
        size_t left = size - pos, chunk = left;
        if (mode == 1)
            chunk = 1;
        else if (mode == 2)
            chunk = 1 + next_rand(&rng) % (next_rand(&rng) & 1 ? 16 : left); /* often tiny */
        if (chunk > left)
            chunk = left;
        o->final = feed_chunk(&d, data, size, pos, chunk, &frame_at, o);
        pos += chunk;
    }
    if (o->final) {
        /* Sticky: the same error again, nothing consumed, nothing counted twice. */
        casty_frame_stats before = d.stats;
        size_t used = 1;
        casty_frame f;
        FUZZ_CHECK(casty_frame_decode(&d, data, size, &used, &f) == o->final);
        FUZZ_CHECK(used == 0);
        FUZZ_CHECK(memcmp(&before, &d.stats, sizeof(before)) == 0);
        FUZZ_CHECK(o->final == -EBADMSG || o->final == -EMSGSIZE || o->final == -EILSEQ);
    } else {
        FUZZ_CHECK(o->consumed == size);
        FUZZ_CHECK(frame_at + d.have == size); /* the unfinished frame is exactly the tail */
    }
    uint64_t errors = d.stats.bad_magic + d.stats.bad_version + d.stats.bad_type +
                      d.stats.bad_flags + d.stats.too_large + d.stats.bad_checksum;
    FUZZ_CHECK(errors == (o->final != 0));
    FUZZ_CHECK(d.stats.frames == o->nframes || o->nframes == MAX_SEEN);
    o->have = d.have;
    o->stats = d.stats;
    casty_frame_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int mode = 0; mode < 3; mode++)
        run(data, size, mode, MAX_FRAME, &runs[mode]);
    for (int mode = 1; mode < 3; mode++) {
        const outcome *a = &runs[0], *b = &runs[mode];
        FUZZ_CHECK(a->nframes == b->nframes);
        FUZZ_CHECK(memcmp(a->frames, b->frames, a->nframes * sizeof(seen)) == 0);
        FUZZ_CHECK(a->final == b->final);
        FUZZ_CHECK(memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0);
        /* On an error, how far each got may differ (whole input fails on the header at once). */
        if (!a->final)
            FUZZ_CHECK(a->have == b->have);
    }
    outcome *tiny = &runs[1];
    run(data, size, 0, TINY_FRAME, tiny);
    return 0;
}
