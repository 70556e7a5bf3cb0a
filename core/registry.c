/*
 * The striped name registry (see registry.h). A stripe's table doubles when
 * its load passes 1; entries are allocated by the spawner and freed by the
 * actor's shard on stop, always under the stripe's lock.
 */
#include "core/registry.h"

#include <errno.h>
#include <string.h>

#include "alloc/heap.h"
#include "core/assert.h"

#define INITIAL_BUCKETS 16

static casty_registry_stripe *stripe_of(casty_registry *reg, uint64_t hash)
{
    /* The high bits pick the stripe; the low bits pick the bucket inside it. */
    return &reg->stripes[hash >> 58];
}
_Static_assert(CASTY_REGISTRY_STRIPES == 64, "stripe_of uses the top 6 bits");

int casty__registry_init(casty_registry *reg)
{
    memset(reg, 0, sizeof(*reg));
    for (uint32_t i = 0; i < CASTY_REGISTRY_STRIPES; i++) {
        casty_registry_stripe *st = &reg->stripes[i];
        pthread_mutex_init(&st->lock, NULL);
        st->buckets = casty__mem_calloc(INITIAL_BUCKETS, sizeof(*st->buckets));
        if (!st->buckets) {
            casty__registry_destroy(reg);
            return -ENOMEM;
        }
        st->nbuckets = INITIAL_BUCKETS;
    }
    return 0;
}

void casty__registry_destroy(casty_registry *reg)
{
    for (uint32_t i = 0; i < CASTY_REGISTRY_STRIPES; i++) {
        casty_registry_stripe *st = &reg->stripes[i];
        for (uint32_t b = 0; st->buckets && b < st->nbuckets; b++) {
            casty_name_entry *e = st->buckets[b];
            while (e) {
                casty_name_entry *next = e->next;
                casty__name_entry_free(e);
                e = next;
            }
        }
        casty__mem_free(st->buckets);
        st->buckets = NULL;
        pthread_mutex_destroy(&st->lock);
    }
}

casty_name_entry *casty__name_entry_new(const char *name, size_t len, uint64_t hash)
{
    casty_name_entry *e = casty__mem_alloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->hash = hash;
    e->len = (uint16_t)len;
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    return e;
}

void casty__name_entry_free(casty_name_entry *entry)
{
    casty__mem_free(entry);
}

static casty_name_entry **find_slot(casty_registry_stripe *st, uint64_t hash, const char *name,
                                    size_t len)
{
    casty_name_entry **pp = &st->buckets[hash & (st->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        casty_name_entry *e = *pp;
        if (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
            return pp;
    }
    return pp;
}

/* Double the bucket array; on allocation failure keep the longer chains (still correct). */
static void grow(casty_registry_stripe *st)
{
    uint32_t n = st->nbuckets * 2;
    casty_name_entry **nb = casty__mem_calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (uint32_t b = 0; b < st->nbuckets; b++) {
        casty_name_entry *e = st->buckets[b];
        while (e) {
            casty_name_entry *next = e->next;
            casty_name_entry **head = &nb[e->hash & (n - 1)];
            e->next = *head;
            *head = e;
            e = next;
        }
    }
    casty__mem_free(st->buckets);
    st->buckets = nb;
    st->nbuckets = n;
}

int casty__registry_insert(casty_registry *reg, casty_name_entry *fresh, casty_name_entry *existing)
{
    casty_registry_stripe *st = stripe_of(reg, fresh->hash);
    pthread_mutex_lock(&st->lock);
    casty_name_entry **pp = find_slot(st, fresh->hash, fresh->name, fresh->len);
    if (*pp) {
        *existing = **pp;
        existing->next = NULL;
        pthread_mutex_unlock(&st->lock);
        return 1;
    }
    fresh->next = NULL;
    *pp = fresh;
    st->count++;
    if (st->count > st->nbuckets)
        grow(st);
    pthread_mutex_unlock(&st->lock);
    return 0;
}

int casty__registry_lookup(casty_registry *reg, uint64_t hash, const char *name, size_t len,
                           casty_name_entry *out)
{
    casty_registry_stripe *st = stripe_of(reg, hash);
    pthread_mutex_lock(&st->lock);
    casty_name_entry **pp = find_slot(st, hash, name, len);
    int rc = -ENOENT;
    if (*pp) {
        *out = **pp;
        out->next = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void casty__registry_remove(casty_registry *reg, casty_name_entry *entry)
{
    casty_registry_stripe *st = stripe_of(reg, entry->hash);
    pthread_mutex_lock(&st->lock);
    casty_name_entry **pp = &st->buckets[entry->hash & (st->nbuckets - 1)];
    while (*pp && *pp != entry)
        pp = &(*pp)->next;
    CASTY_ASSERT(*pp == entry);
    *pp = entry->next;
    st->count--;
    pthread_mutex_unlock(&st->lock);
    casty__name_entry_free(entry);
}
