/*
 * Waiter slots for blocking asks from outside threads (see waiter.h for the
 * state machine). The slot word packs a 62-bit generation with a 2-bit state;
 * every transition is one CAS, so an asker that gives up and a replier that
 * arrives late can never both believe they own the slot.
 */
#include "core/waiter.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc/heap.h"
#include "core/assert.h"
#include "core/compiler.h"

enum { W_FREE = 0, W_WAITING = 1, W_WRITING = 2, W_DONE = 3 };

#define WORD(gen, st) (((uint64_t)(gen) << 2) | (uint64_t)(st))
#define WORD_GEN(w)   ((uint32_t)((w) >> 2))
#define WORD_STATE(w) ((unsigned)((w)&3u))

uint64_t casty__now_ns(void);

int casty__waiters_init(casty_waiters *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    return 0;
}

static casty_waiter *slot(casty_waiters *w, uint32_t idx)
{
    /* Acquire pairs with the release in grow(): the chunk's contents are initialised. */
    casty_waiter *chunk =
        atomic_load_explicit(&w->chunks[idx / CASTY_WAITER_CHUNK], memory_order_acquire);
    CASTY_ASSERT(chunk != NULL);
    return &chunk[idx % CASTY_WAITER_CHUNK];
}

void casty__waiters_destroy(casty_waiters *w)
{
    for (uint32_t c = 0; c < w->nchunks; c++) {
        casty_waiter *chunk = atomic_load_explicit(&w->chunks[c], memory_order_relaxed);
        for (uint32_t i = 0; i < CASTY_WAITER_CHUNK; i++)
            casty__mem_free(chunk[i].heap);
        casty__mem_free(chunk);
    }
    pthread_mutex_destroy(&w->lock);
}

/* Add a chunk of free slots (under the lock). */
static int grow(casty_waiters *w)
{
    if (w->nchunks == CASTY_WAITER_CHUNKS)
        return -EAGAIN;
    casty_waiter *chunk = casty__mem_calloc(CASTY_WAITER_CHUNK, sizeof(*chunk));
    if (!chunk)
        return -ENOMEM;
    uint32_t base = w->nchunks * CASTY_WAITER_CHUNK;
    for (uint32_t i = 0; i < CASTY_WAITER_CHUNK; i++)
        chunk[i].next_free = i + 1 < CASTY_WAITER_CHUNK ? base + i + 2 : w->free_head;
    w->free_head = base + 1;
    /* Release: a replier on another thread reads the chunk only after this store. */
    atomic_store_explicit(&w->chunks[w->nchunks], chunk, memory_order_release);
    w->nchunks++;
    return 0;
}

int casty__waiter_acquire(casty_waiters *w, uint32_t *idx, uint32_t *gen)
{
    pthread_mutex_lock(&w->lock);
    if (w->free_head == 0) {
        int rc = grow(w);
        if (rc < 0) {
            pthread_mutex_unlock(&w->lock);
            return rc;
        }
    }
    uint32_t i = w->free_head - 1;
    casty_waiter *s = slot(w, i);
    w->free_head = s->next_free;
    pthread_mutex_unlock(&w->lock);

    uint64_t word = atomic_load_explicit(&s->word, memory_order_relaxed);
    CASTY_ASSERT(WORD_STATE(word) == W_FREE);
    s->status = 0;
    s->len = 0;
    atomic_store_explicit(&s->futex, 0, memory_order_relaxed);
    /* Release publishes the reset fields before the slot's name can reach a replier. */
    atomic_store_explicit(&s->word, WORD(WORD_GEN(word), W_WAITING), memory_order_release);
    *idx = i;
    *gen = WORD_GEN(word);
    return 0;
}

static void release(casty_waiters *w, uint32_t idx, casty_waiter *s, uint32_t gen)
{
    /* Next generation: any reply still naming (idx, gen) fails its CAS. */
    atomic_store_explicit(&s->word, WORD(gen + 1, W_FREE), memory_order_release);
    pthread_mutex_lock(&w->lock);
    s->next_free = w->free_head;
    w->free_head = idx + 1;
    pthread_mutex_unlock(&w->lock);
}

int casty__waiter_complete(casty_waiters *w, uint32_t idx, uint32_t gen, int32_t status,
                           const void *data, size_t len)
{
    /* The index came off the network of envelopes, not from the user, but check it anyway. */
    if (idx / CASTY_WAITER_CHUNK >= CASTY_WAITER_CHUNKS ||
        !atomic_load_explicit(&w->chunks[idx / CASTY_WAITER_CHUNK], memory_order_acquire))
        return -ESTALE;
    casty_waiter *s = slot(w, idx);
    uint64_t expect = WORD(gen, W_WAITING);
    /* Acquire: we must see the asker's reset of the slot before writing into it. */
    if (!atomic_compare_exchange_strong_explicit(&s->word, &expect, WORD(gen, W_WRITING),
                                                 memory_order_acquire, memory_order_relaxed))
        return -ESTALE;
    s->status = status;
    s->len = (uint32_t)len;
    if (len <= CASTY_WAITER_INLINE) {
        if (len)
            memcpy(s->buf, data, len);
    } else {
        s->heap = casty__mem_alloc(len);
        if (s->heap)
            memcpy(s->heap, data, len);
        else
            s->status = -ENOMEM;
    }
    /* Seq-cst store then seq-cst exchange: pairs with the asker's futex=1 then load (Dekker). */
    atomic_store_explicit(&s->word, WORD(gen, W_DONE), memory_order_seq_cst);
    if (atomic_exchange_explicit(&s->futex, 0, memory_order_seq_cst) == 1)
        syscall(SYS_futex, &s->futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return 0;
}

static int take_reply(casty_waiter *s, void *reply, size_t reply_len)
{
    const void *src = s->len <= CASTY_WAITER_INLINE ? (const void *)s->buf : s->heap;
    int rc = s->status;
    if (rc == 0 && s->len != reply_len)
        rc = -EBADMSG;
    else if (rc == 0 && reply_len)
        memcpy(reply, src, reply_len);
    casty__mem_free(s->heap);
    s->heap = NULL;
    return rc;
}

static void futex_sleep(casty_waiter *s, uint64_t now, uint64_t deadline_ns)
{
    uint64_t left = deadline_ns - now;
    struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u),
                          .tv_nsec = (long)(left % 1000000000u)};
    syscall(SYS_futex, &s->futex, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
}

int casty__waiter_wait(casty_waiters *w, uint32_t idx, uint32_t gen, uint64_t deadline_ns,
                       uint64_t spin_ns, void *reply, size_t reply_len)
{
    casty_waiter *s = slot(w, idx);
    uint64_t start = casty__now_ns();
    for (;;) {
        /* Acquire pairs with the replier's DONE store: the payload is visible. */
        uint64_t word = atomic_load_explicit(&s->word, memory_order_acquire);
        if (word == WORD(gen, W_DONE)) {
            int rc = take_reply(s, reply, reply_len);
            release(w, idx, s, gen);
            return rc;
        }
        uint64_t now = casty__now_ns();
        if (now >= deadline_ns && word == WORD(gen, W_WAITING)) {
            uint64_t expect = word;
            if (atomic_compare_exchange_strong_explicit(&s->word, &expect, WORD(gen + 1, W_FREE),
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed)) {
                release(w, idx, s, gen);
                return -ETIMEDOUT;
            }
            continue; /* a replier got in first: its write completes in bounded time */
        }
        if (word == WORD(gen, W_WRITING) || now - start < spin_ns) {
            casty_cpu_relax();
            continue;
        }
        atomic_store_explicit(&s->futex, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&s->word, memory_order_seq_cst) == WORD(gen, W_WAITING))
            futex_sleep(s, now, deadline_ns);
        atomic_store_explicit(&s->futex, 0, memory_order_relaxed);
    }
}

void casty__waiters_fail_all(casty_waiters *w, int32_t status)
{
    pthread_mutex_lock(&w->lock);
    uint32_t n = w->nchunks * CASTY_WAITER_CHUNK;
    pthread_mutex_unlock(&w->lock);
    for (uint32_t i = 0; i < n; i++) {
        casty_waiter *s = slot(w, i);
        uint64_t word = atomic_load_explicit(&s->word, memory_order_acquire);
        if (WORD_STATE(word) == W_WAITING)
            (void)casty__waiter_complete(w, i, WORD_GEN(word), status, NULL, 0);
    }
}
