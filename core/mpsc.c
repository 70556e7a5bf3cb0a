/*
 * The MPSC injection queue (see core/mpsc.h), after Dmitry Vyukov's intrusive
 * design, which Pony's messageq.c also builds on. Producers serialise on one
 * exchange of `head`, then link the previous node to theirs. The consumer
 * walks from `tail`; when it would take the last node it first re-queues the
 * stub behind it, so that a node is only handed out once its successor is
 * linked and no producer can still write into it.
 */
#include <stddef.h>

#include "core/assert.h"
#include "core/mpsc.h"

void casty__mpsc_init(casty_mpsc *q)
{
    /* Plain stores: no other thread may see q before init returns. */
    q->stub.next = NULL;
    q->head = &q->stub;
    q->tail = &q->stub;
}

bool casty__mpsc_push(casty_mpsc *q, casty_mpsc_node *n)
{
    /* Relaxed: n is not reachable by anyone until the exchange below
     * releases it, and the consumer reads n->next with acquire. */
    __atomic_store_n(&n->next, NULL, __ATOMIC_RELAXED);
    /* Acq_rel. Release: our NULL in n->next precedes the next producer's
     * link store into n, which that producer orders after acquiring head.
     * Acquire: symmetrically, prev's NULL precedes our link into prev. */
    casty_mpsc_node *prev = __atomic_exchange_n(&q->head, n, __ATOMIC_ACQ_REL);
    /* Between the exchange and this store the chain is broken at prev; the
     * consumer sees prev->next == NULL and retries. Release: the caller's
     * writes to the object (and n->next = NULL) are visible to the consumer
     * that acquires prev->next. */
    __atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
    /* The stub is only at the producer end when the consumer drained the
     * queue (it re-queues the stub behind the last node it takes). */
    return prev == &q->stub;
}

/* Puts the stub back at the producer end, behind the node the consumer holds. */
static void requeue_stub(casty_mpsc *q)
{
    /* The stub is in the chain at most once: only when the consumer holds a real node. */
    CASTY_DASSERT(q->tail != &q->stub);
    casty__mpsc_push(q, &q->stub);
}

casty_mpsc_node *casty__mpsc_pop(casty_mpsc *q)
{
    casty_mpsc_node *tail = q->tail;
    /* Acquire pairs with the producer's release link: the node's contents
     * are visible before we follow or hand it out. */
    casty_mpsc_node *next = __atomic_load_n(&tail->next, __ATOMIC_ACQUIRE);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        /* Skip the stub; it never leaves the queue. */
        q->tail = next;
        tail = next;
        /* Acquire: as above, for the node after the first real one. */
        next = __atomic_load_n(&tail->next, __ATOMIC_ACQUIRE);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    /* tail is the last linked node. Relaxed is enough for head: we only
     * compare it, and a stale value just makes us return NULL (retry) or
     * queue the stub behind a later node, which is equally valid. */
    if (__atomic_load_n(&q->head, __ATOMIC_RELAXED) != tail)
        return NULL; /* A producer has exchanged head but not linked yet. */
    requeue_stub(q);
    /* Acquire: as above. Usually the stub; a racing producer's node if it
     * got in between, or NULL if that producer has not linked yet. */
    next = __atomic_load_n(&tail->next, __ATOMIC_ACQUIRE);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

bool casty__mpsc_empty(casty_mpsc *q)
{
    if (q->tail != &q->stub)
        return false;
    /* Acquire pairs with the link store in push (a linked node means not
     * empty, and pop will then read its contents). */
    if (__atomic_load_n(&q->stub.next, __ATOMIC_ACQUIRE) != NULL)
        return false;
    /* Relaxed: we only compare. A head away from the stub means a push is
     * between its exchange and its link, which we count as non-empty. */
    return __atomic_load_n(&q->head, __ATOMIC_RELAXED) == &q->stub;
}
