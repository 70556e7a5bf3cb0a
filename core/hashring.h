/*
 * A pure consistent-hash ring (xxHash XXH3, virtual nodes), shared by shard
 * placement and, later, the cluster's member ring. Immutable after build: any
 * thread may look up concurrently.
 */
#ifndef CASTY_CORE_HASHRING_H
#define CASTY_CORE_HASHRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct casty_hashring_point {
    uint64_t point;
    uint32_t member;
    uint32_t reserved;
} casty_hashring_point;

typedef struct casty_hashring {
    casty_hashring_point *points; /* sorted by point, then member */
    uint32_t npoints;
    uint32_t nmembers;
} casty_hashring;

/* Build over member ids with `vnodes` points each. 0, -EINVAL, -ENOMEM. */
int casty__hashring_build(casty_hashring *r, const uint64_t *member_ids, uint32_t n_members,
                          uint32_t vnodes);
void casty__hashring_destroy(casty_hashring *r);
/* The member index owning the first point >= key_hash (wrapping). */
uint32_t casty__hashring_lookup(const casty_hashring *r, uint64_t key_hash);
uint64_t casty__hash_name(const char *name, size_t len);
void casty__hashring_validate(const casty_hashring *r);

#endif
