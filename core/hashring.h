/*
 * A pure consistent-hash ring (xxHash XXH3, virtual nodes), shared by shard
 * placement and the cluster's member ring. Each member puts `vnodes` points
 * on a 64-bit circle; a key belongs to the member of the first point at or
 * after it, wrapping past the top. Points depend only on member ids, never on
 * their order in the input array, so every node that knows the same members
 * builds the same ring, and adding or removing a member moves only the keys
 * it gains or loses.
 *
 * Invariants: points sorted by (point, member id), every member owns exactly
 * `vnodes` points, member ids distinct. Immutable after build: any thread
 * may look up concurrently; build and destroy belong to the owner.
 */
#ifndef CASTY_CORE_HASHRING_H
#define CASTY_CORE_HASHRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct casty_hashring_point {
    uint64_t point;
    uint32_t member; /* index into the member_ids given to build */
    uint32_t reserved;
} casty_hashring_point;

typedef struct casty_hashring {
    casty_hashring_point *points; /* npoints = nmembers * vnodes, sorted */
    uint64_t *ids;                /* a copy of member_ids, by member index */
    uint32_t npoints;
    uint32_t nmembers;
    uint32_t vnodes;
} casty_hashring;

/*
 * Build a ring over n_members distinct ids with `vnodes` points each. Point v
 * of a member is XXH3_64bits_withSeed(id as 8 little-endian bytes, seed v).
 * Returns 0; -EINVAL when r or member_ids is NULL, n_members or vnodes is 0,
 * n_members * vnodes overflows 32 bits, or an id repeats; -ENOMEM. On error
 * *r is left empty (destroy is still safe).
 */
int casty__hashring_build(casty_hashring *r, const uint64_t *member_ids, uint32_t n_members,
                          uint32_t vnodes);

/* Free the arrays; *r becomes an empty ring. Safe on an empty ring. */
void casty__hashring_destroy(casty_hashring *r);

/*
 * The index (into the build's member_ids) of the member owning key_hash: the
 * member of the first point >= key_hash, wrapping to the lowest point. Binary
 * search, O(log(members * vnodes)). The ring must not be empty.
 */
uint32_t casty__hashring_lookup(const casty_hashring *r, uint64_t key_hash);

/* The hash of a name, as placement and the cluster route it: XXH3_64bits. */
uint64_t casty__hash_name(const char *name, size_t len);

/* O(n) self-check of the invariants above; for CASTY_XASSERT and tests. */
void casty__hashring_validate(const casty_hashring *r);

#endif
