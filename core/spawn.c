/*
 * Spawn and lookup. The spawner allocates the cell, claims the name in the
 * registry and sends a START envelope to the actor's shard; the ref is known
 * at once, and messages sent after spawn queue behind START (same sender
 * lane, FIFO) or wait in the mailbox of the not-yet-started cell (other
 * lanes). Any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/hashring.h"
#include "core/lifecycle.h"
#include "core/send.h"
#include "core/system.h"

static int validate(const casty_system *sys, const casty_ref *out, const casty_actor_def *def,
                    const char *name, const casty_spawn_opts *o, size_t *name_len)
{
    if (!sys || !out || !def || !def->behave || !o)
        return -EINVAL;
    if (def->state_align > 4096 || (def->state_align & (def->state_align - 1)))
        return -EINVAL;
    if (o->placement > CASTY_PLACE_LOCAL)
        return -EINVAL;
    if (o->placement == CASTY_PLACE_SHARD && o->shard >= sys->nshards)
        return -EINVAL;
    if ((o->arg_len && !o->arg) || o->arg_len > sys->max_message_bytes)
        return o->arg_len > sys->max_message_bytes ? -EMSGSIZE : -EINVAL;
    if (casty__mailbox_validate(&o->mailbox) < 0)
        return -EINVAL;
    if (o->supervision && casty__supervision_validate(o->supervision) < 0)
        return -EINVAL;
    *name_len = 0;
    if (name) {
        size_t len = strnlen(name, CASTY_NAME_MAX + 1);
        if (len == 0)
            return -EINVAL;
        if (len > CASTY_NAME_MAX)
            return -ENAMETOOLONG;
        *name_len = len;
    }
    return 0;
}

static uint32_t place(casty_system *sys, casty_shard *sh, const casty_spawn_opts *o,
                      const char *name, uint64_t hash)
{
    if (o->placement == CASTY_PLACE_SHARD)
        return o->shard;
    if (o->placement == CASTY_PLACE_LOCAL && sh)
        return sh->id;
    if (name)
        return casty__placement_shard(&sys->placement, hash);
    if (sh)
        return sh->id;
    /* Relaxed: a spreading counter, no ordering needed. */
    return atomic_fetch_add_explicit(&sys->round_robin, 1, memory_order_relaxed) % sys->nshards;
}

static int init_state(casty_cell *cell, const casty_actor_def *def)
{
    size_t size = def->state_size ? def->state_size : 1;
    size_t align = def->state_align ? def->state_align : 1;
    if (size <= CASTY_CELL_INLINE_STATE && align <= 16) {
        cell->state = cell->inline_state;
    } else {
        cell->state = casty__mem_aligned(align < 16 ? 16 : align, size);
        if (!cell->state)
            return -ENOMEM;
        cell->flags |= CASTY_CELL_HEAP_STATE;
    }
    return 0; /* zeroed by the first init, on the actor's shard (core/supervise.c) */
}

static casty_cell *cell_new(casty_system *sys, casty_shard *sh, const casty_actor_def *def,
                            uint32_t dst, const casty_spawn_opts *o)
{
    casty_cell *cell =
        sh ? casty__pool_get(&sh->cell_cache) : casty__pool_get_shared(&sys->cell_pool);
    if (!cell)
        return NULL;
    casty__cell_reuse(cell);
    cell->shard = (uint16_t)dst;
    cell->flags = 0;
    cell->runq_next = cell->live_prev = cell->live_next = NULL;
    cell->mb_head = cell->mb_tail = cell->mb_sys_tail = NULL;
    cell->mb_count = 0;
    cell->mb_cap = o->mailbox.capacity ? o->mailbox.capacity : sys->cfg.mailbox.capacity;
    cell->mb_policy = (uint8_t)(o->mailbox.capacity ? o->mailbox.policy : sys->cfg.mailbox.policy);
    atomic_store_explicit(&cell->mb_gate, 0, memory_order_relaxed);
    cell->def = def;
    cell->name = NULL;
    cell->ext = NULL;
    cell->parent = NULL;
    cell->parent_gen = 0;
    cell->parent_shard = 0;
    if (init_state(cell, def) < 0) {
        sh ? casty__pool_put(&sh->cell_cache, cell) : casty__pool_put_shared(&sys->cell_pool, cell);
        return NULL;
    }
    return cell;
}

static void cell_abort(casty_system *sys, casty_shard *sh, casty_cell *cell)
{
    casty__cell_discard(cell);
    if (sh)
        casty__pool_put(&sh->cell_cache, cell);
    else
        casty__pool_put_shared(&sys->cell_pool, cell);
}

/* Claim the name; 0 = claimed, 1 = *out holds the live actor, <0 = error. */
static int claim_name(casty_system *sys, casty_cell *cell, const char *name, size_t len,
                      uint64_t hash, const casty_spawn_opts *o, casty_ref *out)
{
    casty_name_entry *e = casty__name_entry_new(name, len, hash);
    if (!e)
        return -ENOMEM;
    e->cell = cell;
    e->def = cell->def;
    e->gen = casty__cell_gen(cell);
    e->shard = cell->shard;
    cell->name = e;
    casty_name_entry live;
    if (casty__registry_insert(&sys->registry, e, &live) == 0)
        return 0;
    casty__name_entry_free(e);
    cell->name = NULL;
    if (o->exclusive)
        return -EEXIST;
    if (strcmp(live.def->protocol, cell->def->protocol) != 0)
        return -EPROTOTYPE;
    *out = (casty_ref){.addr = (uint64_t)(uintptr_t)live.cell,
                       .gen = live.gen,
                       .system = sys->ref_id,
                       .shard = live.shard,
                       .kind = CASTY_REF_ACTOR};
    return 1;
}

/* The strategy a new cell runs under: its own, else its parent's; stored only when not the default. */
static int set_strategy(casty_system *sys, casty_shard *sh, casty_cell *cell, casty_cell *parent,
                        const casty_spawn_opts *o)
{
    const casty_supervision *sup = o->supervision;
    if (!sup && parent)
        sup = casty__cell_strategy(sh, parent);
    if (!sup || memcmp(sup, &sys->cfg.supervision, sizeof(*sup)) == 0)
        return 0;
    casty_cell_ext *ext = casty__cell_ext(cell);
    if (!ext)
        return -ENOMEM;
    ext->sup = *sup;
    ext->has_sup = true;
    return 0;
}

static int spawn_entered(casty_system *sys, casty_shard *sh, casty_ref *out,
                         const casty_actor_def *def, const char *name, size_t len,
                         const casty_spawn_opts *o, casty_cell *parent)
{
    uint64_t hash = name ? casty__hash_name(name, len) : 0;
    uint32_t dst = place(sys, sh, o, name, hash);
    casty_cell *cell = cell_new(sys, sh, def, dst, o);
    if (!cell)
        return -ENOMEM;
    if (set_strategy(sys, sh, cell, parent, o) < 0) {
        cell_abort(sys, sh, cell);
        return -ENOMEM;
    }
    if (parent) {
        /* Register with the parent before the child can exist, so that a stop always finds it. */
        casty_cell_ext *pext = casty__cell_ext(parent);
        if (!pext || casty__liteset_add(&pext->children, casty__lite_of(cell)) < 0) {
            cell_abort(sys, sh, cell);
            return -ENOMEM;
        }
        cell->parent = parent;
        cell->parent_gen = casty__cell_gen(parent);
        cell->parent_shard = parent->shard;
    }
    casty_env *env = casty__env_alloc(sys, sh);
    int rc = 0;
    if (!env || casty__env_set_payload(env, o->arg, o->arg_len) < 0)
        rc = -ENOMEM;
    else if (name)
        rc = claim_name(sys, cell, name, len, hash, o, out);
    if (rc != 0) {
        if (env)
            casty__env_free(sys, sh, env);
        if (parent)
            casty__liteset_remove(&parent->ext->children, cell, casty__cell_gen(cell));
        cell_abort(sys, sh, cell);
        return rc < 0 ? rc : 0; /* 1: *out holds the live actor of that name */
    }
    memset(&env->msg, 0, offsetof(casty_msg, data));
    env->msg.len = (uint32_t)o->arg_len;
    env->kind = CASTY_ENV_START;
    env->sender = CASTY_REF_NULL;
    env->to.cell = cell;
    env->to_gen = casty__cell_gen(cell);
    *out = casty__cell_ref(sys, cell);
    if (sh)
        casty__count(&sh->stats.spawned, 1);
    else
        atomic_fetch_add_explicit(&sys->outside_spawned, 1, memory_order_relaxed);
    casty__route(sys, sh, dst, env);
    return 0;
}

int casty_spawn_raw(casty_system *sys, casty_ref *out, const casty_actor_def *def, const char *name,
                    const casty_spawn_opts *opts)
{
    static const casty_spawn_opts defaults;
    const casty_spawn_opts *o = opts ? opts : &defaults;
    size_t len;
    int rc = validate(sys, out, def, name, o, &len);
    if (rc < 0)
        return rc;
    casty_shard *sh;
    if (!casty__system_open(sys, &sh))
        return -ESHUTDOWN;
    rc = spawn_entered(sys, sh, out, def, name, len, o, NULL);
    casty__system_done(sys, sh);
    return rc;
}

/* "<parent>/<name>" into buf; an anonymous parent is named by its address and generation. */
static int child_name(const casty_cell *parent, const char *name, char *buf, size_t *len)
{
    int n;
    if (parent->name)
        n = snprintf(buf, CASTY_NAME_MAX + 2, "%s/%s", parent->name->name, name);
    else
        n = snprintf(buf, CASTY_NAME_MAX + 2, "$%" PRIxPTR ".%" PRIx32 "/%s", (uintptr_t)parent,
                     casty__cell_gen(parent), name);
    if (n < 0 || (size_t)n > CASTY_NAME_MAX)
        return -ENAMETOOLONG;
    *len = (size_t)n;
    return 0;
}

int casty_spawn_child_raw(casty_ctx *ctx, casty_ref *out, const casty_actor_def *def,
                          const char *name, const casty_spawn_opts *opts)
{
    static const casty_spawn_opts defaults;
    const casty_spawn_opts *o = opts ? opts : &defaults;
    if (!ctx || !ctx->cell || !name)
        return -EINVAL;
    casty_shard *sh = ctx->shard;
    casty_system *sys = sh->sys;
    size_t len;
    int rc = validate(sys, out, def, name, o, &len);
    if (rc < 0)
        return rc;
    char full[CASTY_NAME_MAX + 2];
    rc = child_name(ctx->cell, name, full, &len);
    if (rc < 0)
        return rc;
    if (!casty__system_accepting(sys) ||
        (ctx->cell->flags & (CASTY_CELL_TERMINATING | CASTY_CELL_STOPPING)))
        return -ESHUTDOWN;
    return spawn_entered(sys, sh, out, def, full, len, o, ctx->cell);
}

int casty_lookup_raw(casty_system *sys, casty_ref *out, const char *name, const char *protocol)
{
    if (!sys || !out || !name)
        return -EINVAL;
    size_t len = strnlen(name, CASTY_NAME_MAX + 1);
    if (len == 0)
        return -EINVAL;
    if (len > CASTY_NAME_MAX)
        return -ENAMETOOLONG;
    casty_shard *sh;
    if (!casty__system_for(sys->ref_id, &sh))
        return -ESHUTDOWN;
    casty_name_entry e;
    int rc = casty__registry_lookup(&sys->registry, casty__hash_name(name, len), name, len, &e);
    if (rc == 0 && protocol && strcmp(protocol, e.def->protocol) != 0)
        rc = -EPROTOTYPE;
    if (rc == 0)
        *out = (casty_ref){.addr = (uint64_t)(uintptr_t)e.cell,
                           .gen = e.gen,
                           .system = sys->ref_id,
                           .shard = e.shard,
                           .kind = CASTY_REF_ACTOR};
    casty__system_done(sys, sh);
    return rc;
}
