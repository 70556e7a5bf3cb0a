/*
 * The name registry: name -> live actor, unique per system. Names are resolved
 * once (spawn, lookup) and messaging then uses refs, so the registry is off the
 * message path. It is split into lock stripes by the name's hash; each stripe
 * is a short mutex-protected chained hash table, so spawns on different shards
 * rarely meet on the same lock. Any thread may call these functions.
 */
#ifndef CASTY_CORE_REGISTRY_H
#define CASTY_CORE_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "casty/actor.h"
#include "core/compiler.h"

struct casty_cell;

typedef struct casty_name_entry {
    struct casty_name_entry *next;
    uint64_t hash;
    struct casty_cell *cell;
    const casty_actor_def *def;
    uint32_t gen;
    uint16_t shard;
    uint16_t len;
    char name[]; /* NUL-terminated */
} casty_name_entry;

#define CASTY_REGISTRY_STRIPES 64

typedef struct casty_registry_stripe {
    CASTY_ALIGNED_CACHELINE pthread_mutex_t lock;
    casty_name_entry **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t count;
} casty_registry_stripe;

typedef struct casty_registry {
    casty_registry_stripe stripes[CASTY_REGISTRY_STRIPES];
} casty_registry;

int casty__registry_init(casty_registry *reg);
/* Frees every entry left (shutdown). */
void casty__registry_destroy(casty_registry *reg);

/*
 * Insert `fresh` unless the name is taken. Returns 0 with *out = fresh when
 * inserted, 1 with *out = the existing entry's copy when taken (the existing
 * entry is copied into *existing under the lock), or -ENOMEM.
 */
int casty__registry_insert(casty_registry *reg, casty_name_entry *fresh,
                           casty_name_entry *existing);

/* Copy the entry for `name` into *out. 0 or -ENOENT. */
int casty__registry_lookup(casty_registry *reg, uint64_t hash, const char *name, size_t len,
                           casty_name_entry *out);

/* Unlink and free `entry` (the actor's shard, when it stops). */
void casty__registry_remove(casty_registry *reg, casty_name_entry *entry);

/* A new unlinked entry with a copy of the name, or NULL. */
casty_name_entry *casty__name_entry_new(const char *name, size_t len, uint64_t hash);
void casty__name_entry_free(casty_name_entry *entry);

#endif
