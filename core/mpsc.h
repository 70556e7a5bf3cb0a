/*
 * Intrusive multi-producer single-consumer queue (Vyukov's algorithm with an
 * embedded stub node): the lane through which threads outside the system,
 * and anything else without a ring of its own, inject into a shard.
 * Invariants: the queue is a chain from `tail` to `head` linked by `next`;
 * the stub is in the chain at most once and is never handed out; a node
 * returned by pop is no longer touched by any producer.
 * Threads: push from any thread (wait-free: one exchange, one store); pop and
 * empty from the one consumer thread only; init before any of them.
 */
#ifndef CASTY_CORE_MPSC_H
#define CASTY_CORE_MPSC_H

#include <stdbool.h>

#include "core/compiler.h"

/*
 * Embedded in the queued object. A plain pointer on purpose: the queue reads
 * and writes it only with __atomic builtins, so the same field can serve as
 * an ordinary list link while one thread owns the node.
 */
typedef struct casty_mpsc_node {
    struct casty_mpsc_node *next;
} casty_mpsc_node;

typedef struct casty_mpsc {
    /* Written by producers (exchange); read by the consumer only when it looks empty. */
    CASTY_ALIGNED_CACHELINE casty_mpsc_node *head;
    /* Consumer only: the oldest node still in the chain (possibly the stub). */
    CASTY_ALIGNED_CACHELINE casty_mpsc_node *tail;
    /* Shares the consumer's line: producers write stub.next only when they
     * push into a drained queue, which is when the consumer is idle anyway. */
    casty_mpsc_node stub;
} casty_mpsc;

/* Makes q empty (head and tail on the stub). Call before any push or pop. */
void casty__mpsc_init(casty_mpsc *q);

/*
 * Any thread: appends n, which the queue owns until pop returns it. Wait-free.
 * Returns true when the queue was empty before n: the hint that the consumer
 * may need a wake-up. It is never false after the consumer has seen
 * casty__mpsc_empty() true, and rarely true spuriously (right after a pop
 * that found a push in progress). The consumer's sleep check still needs
 * its own fences.
 */
bool casty__mpsc_push(casty_mpsc *q, casty_mpsc_node *n);

/*
 * Consumer only: removes and returns the oldest node, which the caller then
 * owns, or NULL. NULL means empty, or that a producer has claimed its place
 * but not yet linked it (a window of a few instructions); the consumer simply
 * tries again later. Never loops, so it cannot spin on a preempted producer.
 */
casty_mpsc_node *casty__mpsc_pop(casty_mpsc *q);

/*
 * Consumer only: true when nothing is queued and no push is under way.
 * Errs towards false: a node mid-push counts as present, so a consumer that
 * sees false must not sleep but may find pop returning NULL for a moment.
 */
bool casty__mpsc_empty(casty_mpsc *q);

#endif
