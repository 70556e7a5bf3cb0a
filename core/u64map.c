/* See core/u64map.h. */
#include "core/u64map.h"

#include <errno.h>

#include "alloc/heap.h"
#include "core/assert.h"

static uint32_t slot_of(uint64_t key, uint32_t cap)
{
    uint64_t z = key * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing: ids are often sequential */
    return (uint32_t)((z ^ (z >> 32)) & (cap - 1));
}

static void insert(casty_u64map *m, uint64_t key, uint64_t val)
{
    uint32_t i = slot_of(key, m->cap);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
}

int casty__u64map_put(casty_u64map *m, uint64_t key, uint64_t val)
{
    CASTY_ASSERT(key != 0);
    if ((m->len + 1) * 2 > m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 16;
        if (cap < m->cap)
            return -ENOMEM;
        casty_u64map grown = {casty__mem_calloc(cap, sizeof(uint64_t)),
                              casty__mem_alloc((size_t)cap * sizeof(uint64_t)), cap, 0};
        if (!grown.keys || !grown.vals) {
            casty__mem_free(grown.keys);
            casty__mem_free(grown.vals);
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                insert(&grown, m->keys[i], m->vals[i]);
        casty__u64map_free(m);
        *m = grown;
    }
    insert(m, key, val);
    return 0;
}

static int find(const casty_u64map *m, uint64_t key)
{
    if (!m->cap || !key)
        return -1;
    for (uint32_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return (int)i;
        if (!m->keys[i])
            return -1; /* load <= 1/2: a free slot always ends the run */
    }
}

bool casty__u64map_get(const casty_u64map *m, uint64_t key, uint64_t *val)
{
    int i = find(m, key);
    if (i < 0)
        return false;
    *val = m->vals[i];
    return true;
}

bool casty__u64map_del(casty_u64map *m, uint64_t key)
{
    int f = find(m, key);
    if (f < 0)
        return false;
    uint32_t hole = (uint32_t)f, mask = m->cap - 1;
    /* Backward shift: pull later entries of the run into the hole when their home allows. */
    for (uint32_t i = (hole + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
        uint32_t home = slot_of(m->keys[i], m->cap);
        /* The entry may move to `hole` unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (stays)
            continue;
        m->keys[hole] = m->keys[i];
        m->vals[hole] = m->vals[i];
        hole = i;
    }
    m->keys[hole] = 0;
    m->len--;
    return true;
}

void casty__u64map_free(casty_u64map *m)
{
    casty__mem_free(m->keys);
    casty__mem_free(m->vals);
    *m = CASTY_U64MAP_INIT;
}
