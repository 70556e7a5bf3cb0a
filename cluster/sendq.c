/*
 * Send-queue blocks: see cluster/sendq.h. A block is [taken | untaken | free];
 * `sent` marks the end of the taken part.
 */
#include "cluster/sendq.h"

#include <string.h>

#include "alloc/heap.h"
#include "cluster/frame.h"
#include "cluster/le.h"
#include "core/assert.h"

struct casty_sendq_block {
    casty_sendq_block *next;
    uint32_t cap, len, sent;
    uint8_t data[];
};

void casty_sendq_init(casty_sendq *q, uint32_t block_size)
{
    memset(q, 0, sizeof(*q));
    q->block_size = block_size;
}

void casty_sendq_free(casty_sendq *q)
{
    casty_sendq_block *b = q->head;
    while (b) {
        casty_sendq_block *next = b->next;
        casty__mem_free(b);
        b = next;
    }
    casty__mem_free(q->spare);
    memset(q, 0, sizeof(*q));
}

static casty_sendq_block *block_new(casty_sendq *q, uint32_t size)
{
    uint32_t cap = size > q->block_size ? size : q->block_size;
    casty_sendq_block *b;
    if (q->spare && q->spare->cap >= cap) {
        b = q->spare;
        q->spare = NULL;
    } else {
        b = casty__mem_alloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
    }
    b->next = NULL;
    b->len = b->sent = 0;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    return b;
}

uint8_t *casty_sendq_reserve(casty_sendq *q, uint32_t size)
{
    casty_sendq_block *b = q->tail;
    if (!b || b->cap - b->len < size)
        b = block_new(q, size);
    return b ? b->data + b->len : NULL;
}

void casty_sendq_commit(casty_sendq *q, uint32_t size)
{
    CASTY_ASSERT(q->tail && q->tail->cap - q->tail->len >= size);
    q->tail->len += size;
    q->queued += size;
    q->frames++;
}

uint64_t casty_sendq_take(casty_sendq *q, struct iovec *iov, int *n, int max_iov,
                          uint64_t max_bytes, uint64_t *frames, casty_sendq_walk_fn walk, void *ctx)
{
    uint64_t total = 0;
    for (casty_sendq_block *b = q->head; b && *n < max_iov; b = b->next) {
        if (b->sent == b->len)
            continue;
        uint32_t start = b->sent, at = start;
        while (at < b->len) {
            /* The frame's size from its own header: len at 4, MAC flag at 3. */
            uint8_t *f = b->data + at;
            uint32_t size =
                casty_sendq_frame_size(casty__le_get32(f + 4), f[3] & CASTY_FRAME_F_MAC);
            if (total && total + size > max_bytes)
                break;
            if (walk)
                walk(ctx, f, size);
            at += size;
            total += size;
            (*frames)++;
            q->frames--;
        }
        if (at > start) {
            iov[*n].iov_base = b->data + start;
            iov[*n].iov_len = at - start;
            (*n)++;
            b->sent = at;
        }
        if (at < b->len)
            break; /* byte budget reached */
    }
    q->taken += total;
    return total;
}

void casty_sendq_release(casty_sendq *q)
{
    casty_sendq_block *b;
    while ((b = q->head) && b->sent == b->len) {
        q->queued -= b->len;
        if (b == q->tail) {
            b->len = b->sent = 0; /* keep the tail for the next appends */
            break;
        }
        q->head = b->next;
        if (!q->spare && b->cap == q->block_size)
            q->spare = b;
        else
            casty__mem_free(b);
    }
    if (b && b->sent && b->sent < b->len) {
        /* Only part of this block went out: compact it so its offsets restart at 0. */
        q->queued -= b->sent;
        memmove(b->data, b->data + b->sent, b->len - b->sent);
        b->len -= b->sent;
        b->sent = 0;
    }
    q->taken = 0;
}
