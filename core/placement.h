/* Name -> shard placement for one system: a consistent-hash ring over the shards. Read-only after init. */
#ifndef CASTY_CORE_PLACEMENT_H
#define CASTY_CORE_PLACEMENT_H

#include <stdint.h>

#include "core/hashring.h"

typedef struct casty_placement {
    uint32_t shards;
    casty_hashring ring;
} casty_placement;

int casty__placement_init(casty_placement *p, uint32_t shards, uint32_t vnodes);
void casty__placement_destroy(casty_placement *p);

static inline uint32_t casty__placement_shard(const casty_placement *p, uint64_t name_hash)
{
    if (p->shards == 1)
        return 0;
    return casty__hashring_lookup(&p->ring, name_hash);
}

#endif
