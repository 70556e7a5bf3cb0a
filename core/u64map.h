/*
 * A map from nonzero 64-bit keys to 64-bit values: open addressing with
 * linear probing, load kept at or below one half, deletion by backward
 * shift (no tombstones, so lookups never slow down with churn). Single
 * owner, no locking. Used for node ids (transport peers, SWIM members) and
 * the simulator's IPs and links: lookups that happen per message or per
 * packet, where a list scan would grow with the cluster.
 */
#ifndef CASTY_CORE_U64MAP_H
#define CASTY_CORE_U64MAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct casty_u64map {
    uint64_t *keys; /* 0 marks a free slot */
    uint64_t *vals;
    uint32_t cap, len;
} casty_u64map;

#define CASTY_U64MAP_INIT ((casty_u64map){0})

/* Insert or overwrite; key != 0. 0, or -ENOMEM (the map is unchanged). */
int casty__u64map_put(casty_u64map *m, uint64_t key, uint64_t val);
/* true and *val if present. */
bool casty__u64map_get(const casty_u64map *m, uint64_t key, uint64_t *val);
/* true if it was present. */
bool casty__u64map_del(casty_u64map *m, uint64_t key);
void casty__u64map_free(casty_u64map *m);

#endif
