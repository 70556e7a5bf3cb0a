/* Consistent-hash ring: see hashring.h for the contract. Pure: no I/O, no clock, no globals. */
#include "core/hashring.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "core/assert.h"

uint64_t casty__hash_name(const char *name, size_t len)
{
    return XXH3_64bits(name, len);
}

/* Hash the id's little-endian bytes, so that nodes of either byte order agree on the ring. */
static uint64_t vnode_point(uint64_t id, uint32_t vnode)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(id >> (8 * i));
    return XXH3_64bits_withSeed(le, sizeof(le), vnode);
}

/*
 * Order by point, then by member id: a tie (2^-64 likely per pair) is broken
 * by something every node agrees on, unlike the member's index in the input.
 */
static int cmp_point(const void *a, const void *b, void *ctx)
{
    const casty_hashring_point *x = a, *y = b;
    const uint64_t *ids = ctx;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    uint64_t ix = ids[x->member], iy = ids[y->member];
    return ix < iy ? -1 : ix > iy;
}

/* After sorting, a repeated id shows up as equal neighbours: same id, same seeds, same points. */
static bool has_duplicate_id(const casty_hashring *r)
{
    for (uint32_t i = 1; i < r->npoints; i++) {
        const casty_hashring_point *p = &r->points[i - 1], *q = &r->points[i];
        if (p->point == q->point && r->ids[p->member] == r->ids[q->member])
            return true;
    }
    return false;
}

int casty__hashring_build(casty_hashring *r, const uint64_t *member_ids, uint32_t n_members,
                          uint32_t vnodes)
{
    if (!r)
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    if (!member_ids || n_members == 0 || vnodes == 0 || (uint64_t)n_members * vnodes > UINT32_MAX)
        return -EINVAL;
    r->npoints = n_members * vnodes;
    r->nmembers = n_members;
    r->vnodes = vnodes;
    r->points = casty__mem_alloc((size_t)r->npoints * sizeof(*r->points));
    r->ids = casty__mem_alloc((size_t)n_members * sizeof(*r->ids));
    if (!r->points || !r->ids) {
        casty__hashring_destroy(r);
        return -ENOMEM;
    }
    memcpy(r->ids, member_ids, (size_t)n_members * sizeof(*r->ids));
    for (uint32_t m = 0; m < n_members; m++) {
        for (uint32_t v = 0; v < vnodes; v++) {
            casty_hashring_point *p = &r->points[(size_t)m * vnodes + v];
            p->point = vnode_point(member_ids[m], v);
            p->member = m;
            p->reserved = 0;
        }
    }
    qsort_r(r->points, r->npoints, sizeof(*r->points), cmp_point, r->ids);
    if (has_duplicate_id(r)) {
        casty__hashring_destroy(r);
        return -EINVAL;
    }
    CASTY_XASSERT((casty__hashring_validate(r), true));
    return 0;
}

void casty__hashring_destroy(casty_hashring *r)
{
    casty__mem_free(r->points);
    casty__mem_free(r->ids);
    memset(r, 0, sizeof(*r));
}

/* The first index whose point is >= key; npoints when every point is below it. */
static uint32_t lower_bound(const casty_hashring *r, uint64_t key)
{
    uint32_t lo = 0, hi = r->npoints;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].point < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t casty__hashring_lookup(const casty_hashring *r, uint64_t key_hash)
{
    CASTY_ASSERT(r->npoints > 0);
    uint32_t i = lower_bound(r, key_hash);
    uint32_t member = r->points[i == r->npoints ? 0 : i].member; /* past the top: wrap */
    CASTY_DASSERT(member < r->nmembers);
    return member;
}

/* Whether (point, member) is on the ring; equal points are adjacent, so the scan is short. */
static bool has_point(const casty_hashring *r, uint64_t point, uint32_t member)
{
    for (uint32_t i = lower_bound(r, point); i < r->npoints && r->points[i].point == point; i++) {
        if (r->points[i].member == member)
            return true;
    }
    return false;
}

/*
 * Strictly sorted, so no (point, member) pair repeats; every expected pair is
 * present and the sizes agree, so the ring holds exactly the expected points.
 * Allocates nothing, so that it can run anywhere.
 */
void casty__hashring_validate(const casty_hashring *r)
{
    CASTY_ASSERT(r->npoints > 0);
    CASTY_ASSERT(r->npoints == r->nmembers * r->vnodes);
    for (uint32_t i = 0; i < r->npoints; i++) {
        CASTY_ASSERT(r->points[i].member < r->nmembers);
        if (i > 0)
            CASTY_ASSERT(cmp_point(&r->points[i - 1], &r->points[i], r->ids) < 0);
    }
    for (uint32_t m = 0; m < r->nmembers; m++) {
        for (uint32_t v = 0; v < r->vnodes; v++)
            CASTY_ASSERT(has_point(r, vnode_point(r->ids[m], v), m));
    }
}
