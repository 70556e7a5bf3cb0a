/* Consistent-hash ring: see hashring.h. */
#include "core/hashring.h"

#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "core/assert.h"

uint64_t casty__hash_name(const char *name, size_t len)
{
    return XXH3_64bits(name, len);
}

static int cmp_point(const void *a, const void *b)
{
    const casty_hashring_point *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    /* Ties (2^-64 likely) break by member so that every node builds the same ring. */
    return x->member < y->member ? -1 : x->member > y->member;
}

int casty__hashring_build(casty_hashring *r, const uint64_t *member_ids, uint32_t n_members,
                          uint32_t vnodes)
{
    if (!r || !member_ids || n_members == 0 || vnodes == 0 ||
        (uint64_t)n_members * vnodes > UINT32_MAX)
        return -EINVAL;
    uint32_t n = n_members * vnodes;
    casty_hashring_point *pts = casty__mem_alloc((size_t)n * sizeof(*pts));
    if (!pts)
        return -ENOMEM;
    for (uint32_t m = 0; m < n_members; m++) {
        for (uint32_t v = 0; v < vnodes; v++) {
            casty_hashring_point *p = &pts[m * vnodes + v];
            p->point = XXH3_64bits_withSeed(&member_ids[m], sizeof(member_ids[m]), v);
            p->member = m;
            p->reserved = 0;
        }
    }
    qsort(pts, n, sizeof(*pts), cmp_point);
    r->points = pts;
    r->npoints = n;
    r->nmembers = n_members;
    CASTY_XASSERT((casty__hashring_validate(r), 1));
    return 0;
}

void casty__hashring_destroy(casty_hashring *r)
{
    casty__mem_free(r->points);
    r->points = NULL;
    r->npoints = 0;
}

uint32_t casty__hashring_lookup(const casty_hashring *r, uint64_t key_hash)
{
    CASTY_DASSERT(r->npoints > 0);
    uint32_t lo = 0, hi = r->npoints; /* first index with point >= key_hash */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].point < key_hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->points[lo == r->npoints ? 0 : lo].member;
}

void casty__hashring_validate(const casty_hashring *r)
{
    for (uint32_t i = 0; i < r->npoints; i++) {
        CASTY_ASSERT(r->points[i].member < r->nmembers);
        if (i > 0)
            CASTY_ASSERT(cmp_point(&r->points[i - 1], &r->points[i]) <= 0);
    }
}
