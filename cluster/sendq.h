/*
 * A send queue of whole frames in fixed blocks, for one lane of one peer.
 *
 * Frames are appended contiguously (a frame never spans blocks), taken into
 * iovecs for one sendmsg (whole frames only, bounded by bytes and iovecs),
 * and released when that send completes. While a send is in flight its bytes
 * stay frozen; appends go after them. Taking walks each frame once, which is
 * where the transport stamps per-connection sequence numbers and MACs: the
 * order of taking is the order on the wire, whatever lane a frame came from.
 */
#ifndef CASTY_CLUSTER_SENDQ_H
#define CASTY_CLUSTER_SENDQ_H

#include <stdint.h>
#include <sys/uio.h>

typedef struct casty_sendq_block casty_sendq_block;

typedef struct casty_sendq {
    casty_sendq_block *head, *tail;
    casty_sendq_block *spare; /* one empty block kept to avoid malloc churn */
    uint32_t block_size;
    uint64_t queued; /* bytes appended and not yet released */
    uint64_t taken;  /* bytes taken (in flight) and not yet released */
    uint64_t frames; /* frames appended and not yet taken */
} casty_sendq;

/* Called on every frame as it is taken: `frame` points at its header. */
typedef void (*casty_sendq_walk_fn)(void *ctx, uint8_t *frame, uint32_t size);

void casty_sendq_init(casty_sendq *q, uint32_t block_size);
void casty_sendq_free(casty_sendq *q);

/* Room for one frame of `size` bytes at the tail: a pointer, or NULL (-ENOMEM). */
uint8_t *casty_sendq_reserve(casty_sendq *q, uint32_t size);
/* Make the reserved frame of `size` bytes part of the queue. */
void casty_sendq_commit(casty_sendq *q, uint32_t size);

/*
 * Take not-yet-taken frames into iov[*n..max_iov): at least one frame if any,
 * then more while the running total stays <= max_bytes. Returns the bytes
 * taken; *n and *frames are advanced.
 */
uint64_t casty_sendq_take(casty_sendq *q, struct iovec *iov, int *n, int max_iov,
                          uint64_t max_bytes, uint64_t *frames, casty_sendq_walk_fn walk,
                          void *ctx);

/* Everything taken is finished (sent or lost): free it. */
void casty_sendq_release(casty_sendq *q);

/* Frame size on the wire for a payload (header + payload + optional MAC). */
static inline uint32_t casty_sendq_frame_size(uint32_t payload, int mac)
{
    return 12u + payload + (mac ? 16u : 0u);
}

#endif
