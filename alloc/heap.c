/*
 * General-purpose allocation behind alloc/heap.h, plus the process-wide
 * counters used by leak checks. mimalloc serves every block in normal builds.
 * Under CASTY_SANITIZE we use libc instead: ASan and TSan intercept malloc
 * and free, but cannot see inside mimalloc, which carves its own pages and
 * reuses blocks without telling them, so they would miss real bugs and
 * report false races. Any thread may call these functions.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "alloc/heap.h"
#include "core/compiler.h"

#ifndef CASTY_SANITIZE
#include <mimalloc.h>
#endif

/*
 * The two counters sit on separate cache lines: they are bumped by different
 * events and often by different threads (a payload allocated on one shard is
 * freed on another), so sharing a line would double the traffic.
 */
static CASTY_ALIGNED_CACHELINE _Atomic uint64_t mem_allocs;
static CASTY_ALIGNED_CACHELINE _Atomic uint64_t mem_frees;

static inline void *counted(void *p)
{
    /* Relaxed: the counter orders nothing; a leak check reads it after joining the threads. */
    if (p)
        atomic_fetch_add_explicit(&mem_allocs, 1, memory_order_relaxed);
    return p;
}

void *casty__mem_alloc(size_t n)
{
#ifdef CASTY_SANITIZE
    return counted(malloc(n));
#else
    return counted(mi_malloc(n));
#endif
}

void *casty__mem_aligned(size_t align, size_t n)
{
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (align & (align - 1))
        return NULL;
#ifdef CASTY_SANITIZE
    /* posix_memalign, not aligned_alloc: C11 wants n to be a multiple of align there. */
    void *p = NULL;
    if (posix_memalign(&p, align, n) != 0)
        return NULL;
    return counted(p);
#else
    return counted(mi_malloc_aligned(n, align));
#endif
}

void *casty__mem_calloc(size_t n, size_t sz)
{
    /* Both calloc implementations check n * sz for overflow and return NULL. */
#ifdef CASTY_SANITIZE
    return counted(calloc(n, sz));
#else
    return counted(mi_calloc(n, sz));
#endif
}

void *casty__mem_realloc(void *p, size_t n)
{
    if (!p)
        return casty__mem_alloc(n);
        /* One block in, one block out: the counters do not move. */
#ifdef CASTY_SANITIZE
    return realloc(p, n);
#else
    return mi_realloc(p, n);
#endif
}

void casty__mem_free(void *p)
{
    if (!p)
        return;
    /* Relaxed: see counted(); the free itself is ordered by the allocator. */
    atomic_fetch_add_explicit(&mem_frees, 1, memory_order_relaxed);
#ifdef CASTY_SANITIZE
    free(p);
#else
    mi_free(p);
#endif
}

void casty__mem_stats(uint64_t *allocs, uint64_t *frees)
{
    /* Relaxed: a snapshot for leak checks taken when the other threads are quiet or joined. */
    if (allocs)
        *allocs = atomic_load_explicit(&mem_allocs, memory_order_relaxed);
    if (frees)
        *frees = atomic_load_explicit(&mem_frees, memory_order_relaxed);
}
