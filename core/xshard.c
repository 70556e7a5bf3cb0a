/*
 * The N x N ring matrix seen from one shard. Sends append to the ring towards
 * the destination without publishing; casty__xshard_flush() publishes each
 * touched ring once (after an actor's turn, or at the end of a loop
 * iteration) and wakes the destination only if it sleeps. When a ring is full
 * the envelope waits in a sender-side FIFO, which keeps the pair's order: no
 * envelope enters the ring while older ones are parked.
 * Owner thread only (the consumer side of in[] and the producer side of out[]).
 */
#include "core/assert.h"
#include "core/shard.h"
#include "core/system.h"

static void mark_dirty(casty_shard *sh, uint32_t dst)
{
    if (!sh->is_dirty[dst]) {
        sh->is_dirty[dst] = 1;
        sh->dirty[sh->ndirty++] = (uint16_t)dst;
    }
}

void casty__xshard_send(casty_shard *sh, uint32_t dst, casty_env *env)
{
    CASTY_DASSERT(dst != sh->id && dst < sh->nshards);
    casty_overflow *ov = &sh->overflow[dst];
    if (CASTY_LIKELY(!ov->head) && casty__spsc_push(sh->out[dst], env)) {
        mark_dirty(sh, dst);
        return;
    }
    env->link.next = NULL;
    if (ov->tail) {
        ov->tail->link.next = &env->link;
    } else {
        ov->head = env;
        sh->overflowing++;
    }
    ov->tail = env;
    casty__count(&sh->stats.ring_full, 1);
    mark_dirty(sh, dst);
    /* Backpressure: the sending actor waits after this message until the ring drains. */
    if (sh->ctx.cell)
        sh->ctx.cell->flags |= CASTY_CELL_PARKED;
}

/* Move parked envelopes into the ring while it has room; true when none are left. */
static bool refill(casty_shard *sh, uint32_t dst)
{
    casty_overflow *ov = &sh->overflow[dst];
    while (ov->head) {
        if (!casty__spsc_push(sh->out[dst], ov->head))
            return false;
        ov->head = (casty_env *)(void *)ov->head->link.next;
    }
    ov->tail = NULL;
    sh->overflowing--;
    return true;
}

void casty__xshard_flush(casty_shard *sh)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < sh->ndirty; i++) {
        uint32_t dst = sh->dirty[i];
        bool clean = !sh->overflow[dst].head || refill(sh, dst);
        if (casty__spsc_publish(sh->out[dst])) {
            casty__count(&sh->stats.ring_publishes, 1);
            casty__shard_wake(sh, sh->sys->shards[dst]);
        }
        if (clean)
            sh->is_dirty[dst] = 0;
        else
            sh->dirty[keep++] = (uint16_t)dst;
    }
    sh->ndirty = keep;
    if (CASTY_UNLIKELY(sh->nparked) && !sh->overflowing)
        casty__shard_unpark(sh);
}

uint32_t casty__xshard_drain(casty_shard *sh, uint32_t max)
{
    void *batch[64];
    uint32_t total = 0;
    for (uint32_t src = 0; src < sh->nshards; src++) {
        casty_spsc *ring = sh->in[src];
        if (!ring)
            continue;
        uint32_t left = max;
        while (left) {
            uint32_t want = left < 64 ? left : 64;
            uint32_t n = casty__spsc_pop_batch(ring, batch, want);
            for (uint32_t i = 0; i < n; i++)
                casty__shard_deliver(sh, batch[i]);
            total += n;
            left -= n;
            if (n < want)
                break;
        }
    }
    return total;
}

bool casty__xshard_pending_in(casty_shard *sh)
{
    for (uint32_t src = 0; src < sh->nshards; src++) {
        if (sh->in[src] && !casty__spsc_empty(sh->in[src]))
            return true;
    }
    return false;
}
