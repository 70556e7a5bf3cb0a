/* Shard placement: see placement.h. Shard ids 0..n-1 are the ring's member ids. */
#include "core/placement.h"

#include <errno.h>
#include <string.h>

#include "alloc/heap.h"

int casty__placement_init(casty_placement *p, uint32_t shards, uint32_t vnodes)
{
    memset(p, 0, sizeof(*p));
    if (shards == 0 || vnodes == 0)
        return -EINVAL;
    p->shards = shards;
    if (shards == 1)
        return 0; /* the fast path never reads the ring */
    uint64_t *ids = casty__mem_alloc((size_t)shards * sizeof(*ids));
    if (!ids)
        return -ENOMEM;
    for (uint32_t i = 0; i < shards; i++)
        ids[i] = i;
    int rc = casty__hashring_build(&p->ring, ids, shards, vnodes);
    casty__mem_free(ids);
    if (rc < 0)
        p->shards = 0;
    return rc;
}

void casty__placement_destroy(casty_placement *p)
{
    casty__hashring_destroy(&p->ring);
    p->shards = 0;
}
