/*
 * Waiters: slots where threads outside the system block in casty_ask() until a
 * shard writes the reply. Slots are type-stable (chunks are never freed before
 * the system), named by (index, generation), and their state word makes the
 * race between a reply and a timeout safe without reference counts:
 *   FREE -> WAITING (asker) -> WRITING -> DONE (replier) -> FREE (asker)
 *   WAITING -> FREE with generation + 1 (asker gives up)
 * A reply whose CAS from (gen, WAITING) fails is late: a dead letter.
 */
#ifndef CASTY_CORE_WAITER_H
#define CASTY_CORE_WAITER_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#define CASTY_WAITER_INLINE 64
#define CASTY_WAITER_CHUNK  256
#define CASTY_WAITER_CHUNKS 256

typedef struct casty_waiter {
    _Atomic uint64_t word;  /* (generation << 2) | state */
    _Atomic uint32_t futex; /* 1 while the asker sleeps in futex_wait */
    int32_t status;
    uint32_t len;
    uint32_t next_free;
    void *heap; /* payload larger than CASTY_WAITER_INLINE */
    alignas(16) unsigned char buf[CASTY_WAITER_INLINE];
} casty_waiter;

typedef struct casty_waiters {
    pthread_mutex_t lock; /* allocation only: free list and chunk growth */
    _Atomic(casty_waiter *) chunks[CASTY_WAITER_CHUNKS];
    uint32_t nchunks;
    uint32_t free_head; /* index + 1; 0 = empty */
} casty_waiters;

int casty__waiters_init(casty_waiters *w);
void casty__waiters_destroy(casty_waiters *w);

/* Take a slot in state WAITING. 0 or -ENOMEM / -EAGAIN (table full). */
int casty__waiter_acquire(casty_waiters *w, uint32_t *idx, uint32_t *gen);

/*
 * Complete (idx, gen) with a status and payload. Returns 0, or -ESTALE when
 * the asker gave up (late reply) or the slot names another ask.
 */
int casty__waiter_complete(casty_waiters *w, uint32_t idx, uint32_t gen, int32_t status,
                           const void *data, size_t len);

/*
 * Block until completion or `deadline_ns`, spinning `spin_ns` first. On
 * completion copies the payload (exactly reply_len bytes, else -EBADMSG) and
 * returns the replier's status; on timeout returns -ETIMEDOUT. Frees the slot.
 */
int casty__waiter_wait(casty_waiters *w, uint32_t idx, uint32_t gen, uint64_t deadline_ns,
                       uint64_t spin_ns, void *reply, size_t reply_len);

/* Complete every WAITING slot with `status` (shutdown). */
void casty__waiters_fail_all(casty_waiters *w, int32_t status);

#endif
