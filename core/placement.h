/*
 * Name -> shard placement for one system: a consistent-hash ring whose
 * members are the shard ids 0..shards-1, so the same name lands on the same
 * shard in every run and a change of shard count moves few names. One shard
 * skips the ring. Read-only after init: any thread may call
 * casty__placement_shard() concurrently; init and destroy belong to the
 * system's owner.
 */
#ifndef CASTY_CORE_PLACEMENT_H
#define CASTY_CORE_PLACEMENT_H

#include <stdint.h>

#include "core/hashring.h"

typedef struct casty_placement {
    uint32_t shards;
    casty_hashring ring; /* empty when shards == 1 */
} casty_placement;

/* Place names over `shards` shards with `vnodes` points each. 0, -EINVAL (either is 0), -ENOMEM. */
int casty__placement_init(casty_placement *p, uint32_t shards, uint32_t vnodes);

/* Free the ring; safe after a failed init. */
void casty__placement_destroy(casty_placement *p);

/*
 * The shard (< shards) that owns a name with this casty__hash_name() hash.
 * Inline because every spawn and every send by name asks; one shard costs a
 * compare, more cost a binary search over shards * vnodes points.
 */
static inline uint32_t casty__placement_shard(const casty_placement *p, uint64_t name_hash)
{
    if (p->shards == 1)
        return 0;
    return casty__hashring_lookup(&p->ring, name_hash);
}

#endif
