/*
 * Protocol ids and the (protocol id, type) -> schema registry behind
 * include/casty/wire.h. The registry is a sorted array searched by binary
 * search: at most CASTY_WIRE_REGISTRY_MAX entries, filled at start-up, then
 * only read, so lookups from many threads need no lock (the adds must
 * happen-before the registry is shared, e.g. by the thread start that shares it).
 */
#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "alloc/heap.h"
#include "casty/wire.h"
#include "cluster/codec.h"

typedef struct registry_slot {
    uint32_t id;
    const casty_wire_protocol *p;
} registry_slot;

struct casty_wire_registry {
    uint32_t n; /* slots used, sorted by id */
    registry_slot slots[CASTY_WIRE_REGISTRY_MAX];
};

/* Longest protocol name hashed; a C identifier, in practice far shorter. */
#define PROTOCOL_NAME_MAX 255u

uint32_t casty_wire_protocol_id(const casty_wire_protocol *p)
{
    if (!p || !p->name)
        return 0;
    /* Hashed on every call rather than cached: the descriptor is const data in the user's file. */
    return (uint32_t)XXH3_64bits(p->name, strlen(p->name));
}

const casty_wire_msg *casty_wire_find(const casty_wire_protocol *p, uint32_t type)
{
    if (!p || !p->msgs)
        return NULL;
    /* CASTY_PROTOCOL numbers its messages 1..n, so a table in that order is indexed directly. */
    if (type >= 1 && type <= p->nmsgs && p->msgs[type - 1].type == type)
        return p->msgs[type - 1].msg;
    for (uint32_t i = 0; i < p->nmsgs; i++) {
        if (p->msgs[i].type == type)
            return p->msgs[i].msg;
    }
    return NULL;
}

/* Can every message of p be coded, and is each type listed once? */
static bool protocol_ok(const casty_wire_protocol *p)
{
    if (!p->name || p->name[0] == 0 || strnlen(p->name, PROTOCOL_NAME_MAX + 1) > PROTOCOL_NAME_MAX)
        return false;
    if (!p->msgs || p->nmsgs == 0 || p->nmsgs > CASTY_WIRE_MSGS_MAX)
        return false;
    for (uint32_t i = 0; i < p->nmsgs; i++) {
        if (!casty__wire_schema_ok(p->msgs[i].msg))
            return false;
        /* Quadratic, but bounded by CASTY_WIRE_MSGS_MAX^2 / 2 and run once per add. */
        for (uint32_t j = 0; j < i; j++) {
            if (p->msgs[j].type == p->msgs[i].type)
                return false;
        }
    }
    return casty_wire_protocol_id(p) != 0;
}

/* The index of the first slot whose id is >= id. */
static uint32_t lower_bound(const casty_wire_registry *r, uint32_t id)
{
    uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->slots[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int casty_wire_registry_create(casty_wire_registry **out)
{
    if (!out)
        return -EINVAL;
    *out = casty__mem_calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void casty_wire_registry_destroy(casty_wire_registry *r)
{
    casty__mem_free(r);
}

int casty_wire_registry_add(casty_wire_registry *r, const casty_wire_protocol *p)
{
    if (!r || !p || !protocol_ok(p))
        return -EINVAL;
    uint32_t id = casty_wire_protocol_id(p);
    uint32_t i = lower_bound(r, id);
    if (i < r->n && r->slots[i].id == id)
        return r->slots[i].p == p ? 0 : -EEXIST;
    if (r->n == CASTY_WIRE_REGISTRY_MAX)
        return -ENOSPC;
    memmove(&r->slots[i + 1], &r->slots[i], (r->n - i) * sizeof(r->slots[0]));
    r->slots[i] = (registry_slot){id, p};
    r->n++;
    return 0;
}

int casty_wire_registry_lookup(const casty_wire_registry *r, uint32_t proto_id, uint32_t type,
                               const casty_wire_msg **out)
{
    if (!r || !out)
        return -EINVAL;
    *out = NULL;
    uint32_t i = lower_bound(r, proto_id);
    if (i == r->n || r->slots[i].id != proto_id)
        return -ENOENT;
    *out = casty_wire_find(r->slots[i].p, type);
    return *out ? 0 : -ENOENT;
}
