/*
 * System start and stop, and the process-wide table through which outside
 * threads reach a system. A table slot holds the system pointer and a count of
 * outside callers inside it; stop clears the pointer, fails blocked askers and
 * waits for the count to drain before anything is freed, so a ref held by an
 * outside thread can never reach freed memory: it gets -ESHUTDOWN instead.
 */
#include "core/system.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/ask.h"
#include "core/sched.h"

typedef struct sys_slot {
    _Atomic(struct casty_system *) sys;
    _Atomic uint32_t users; /* outside threads inside this system right now */
    uint32_t gen;           /* bumped per use of the slot (under table_lock) */
    bool taken;             /* claimed by a system being started or running (under table_lock) */
} sys_slot;

static sys_slot table[CASTY_MAX_SYSTEMS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

struct casty_system *casty__system_enter(uint32_t ref_id)
{
    uint32_t idx = ref_id & 0xffu;
    if (idx >= CASTY_MAX_SYSTEMS)
        return NULL;
    sys_slot *slot = &table[idx];
    /* Seq-cst increment then load, against stop's seq-cst clear then load (Dekker). */
    atomic_fetch_add_explicit(&slot->users, 1, memory_order_seq_cst);
    struct casty_system *sys = atomic_load_explicit(&slot->sys, memory_order_seq_cst);
    if (!sys || sys->ref_id != ref_id || !casty__system_accepting(sys)) {
        atomic_fetch_sub_explicit(&slot->users, 1, memory_order_release);
        return NULL;
    }
    return sys;
}

void casty__system_leave(struct casty_system *sys)
{
    /* Release: our last accesses to sys happen before stop sees the count drop. */
    atomic_fetch_sub_explicit(&table[sys->ref_id & 0xffu].users, 1, memory_order_release);
}

static int claim_slot(struct casty_system *sys)
{
    pthread_mutex_lock(&table_lock);
    for (uint32_t i = 0; i < CASTY_MAX_SYSTEMS; i++) {
        sys_slot *slot = &table[i];
        if (slot->taken || slot->gen == (UINT32_MAX >> 8))
            continue;
        if (atomic_load_explicit(&slot->users, memory_order_acquire) != 0)
            continue; /* a straggler from the previous system is still leaving */
        slot->gen++;
        sys->ref_id = (slot->gen << 8) | i;
        slot->taken = true;
        pthread_mutex_unlock(&table_lock);
        return 0;
    }
    pthread_mutex_unlock(&table_lock);
    return -EMFILE;
}

static void publish_slot(struct casty_system *sys, struct casty_system *value)
{
    /* Seq-cst: pairs with enter() (see there). */
    atomic_store_explicit(&table[sys->ref_id & 0xffu].sys, value, memory_order_seq_cst);
}

static void free_slot(const struct casty_system *sys)
{
    pthread_mutex_lock(&table_lock);
    table[sys->ref_id & 0xffu].taken = false;
    pthread_mutex_unlock(&table_lock);
}

void casty__system_report_started(struct casty_system *sys, int rc)
{
    pthread_mutex_lock(&sys->start_lock);
    if (rc < 0 && sys->start_rc == 0)
        sys->start_rc = rc;
    sys->started++;
    pthread_cond_broadcast(&sys->start_cond);
    pthread_mutex_unlock(&sys->start_lock);
}

static int resolve_config(struct casty_system *sys, const casty_config *cfg)
{
    if (cfg) {
        int rc = casty_config_validate(cfg);
        if (rc < 0)
            return rc;
        sys->cfg = *cfg;
    } else {
        casty_config_init(&sys->cfg);
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1)
        online = 1;
    if (sys->cfg.shards == 0)
        sys->cfg.shards = online > CASTY_MAX_SHARDS ? CASTY_MAX_SHARDS : (uint32_t)online;
    sys->nshards = sys->cfg.shards;
    uint32_t ncpus = sys->cfg.cpus_len ? sys->cfg.cpus_len : sys->nshards;
    sys->cpus = casty__mem_calloc(ncpus, sizeof(*sys->cpus));
    if (!sys->cpus)
        return -ENOMEM;
    for (uint32_t i = 0; i < ncpus; i++) {
        uint16_t cpu = sys->cfg.cpus_len ? sys->cfg.cpus[i] : (uint16_t)(i % (uint32_t)online);
        if (cpu >= CPU_SETSIZE)
            return -EINVAL;
        sys->cpus[i] = cpu;
    }
    /* The copy must not point into the caller's memory. */
    sys->cfg.cpus = sys->cpus;
    sys->cfg.cpus_len = ncpus;
    sys->max_message_bytes = sys->cfg.max_message_bytes;
    sys->ask_timeout_ns = (uint64_t)sys->cfg.ask_timeout_ms * 1000000u;
    sys->spin_ns = (uint64_t)sys->cfg.spin_us * 1000u;
    return 0;
}

/*
 * Cells come in 1 MiB chunks: a 64-byte header and 4095 cells fill one
 * exactly, where 256 cells (64 KiB + the header) fell into a larger size
 * class of the allocator and wasted ~7% of every idle actor.
 */
#define CELLS_PER_CHUNK ((1u << 20) / CASTY_CELL_SIZE - 1)

static int pools_init(struct casty_system *sys)
{
    /* Poison freed objects past the words a stale pointer may still read (link, generation). */
    int rc =
        casty__pool_init(&sys->env_pool, sizeof(casty_env), 16, 1024, offsetof(casty_env, msg));
    if (rc == 0)
        rc = casty__pool_init(&sys->cell_pool, sizeof(casty_cell), 16, CELLS_PER_CHUNK,
                              offsetof(casty_cell, shard));
    if (rc == 0) /* stale refs read the mailbox gate and the exit reason */
        casty__pool_keep(&sys->cell_pool, CASTY_CELL_KEEP_FROM, CASTY_CELL_KEEP_TO);
    if (rc == 0)
        rc = casty__pool_init(&sys->pending_pool, sizeof(casty_pending), 16, 256,
                              offsetof(casty_pending, reply_type));
    if (rc == 0)
        rc = casty__pool_init(&sys->sched_pool, sizeof(casty_sched), 16, 4096,
                              offsetof(casty_sched, shard));
    return rc;
}

static int shard_new(struct casty_system *sys, uint32_t id)
{
    uint32_t n = sys->nshards;
    casty_shard *sh = casty__mem_aligned(CASTY_CACHELINE, sizeof(*sh));
    if (!sh)
        return -ENOMEM;
    memset(sh, 0, sizeof(*sh));
    sys->shards[id] = sh;
    sh->sys = sys;
    sh->id = id;
    sh->nshards = n;
    sh->ctx.shard = sh;
    sh->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sh->out = casty__mem_calloc(n, sizeof(*sh->out));
    sh->in = casty__mem_calloc(n, sizeof(*sh->in));
    sh->overflow = casty__mem_calloc(n, sizeof(*sh->overflow));
    sh->dirty = casty__mem_calloc(n, sizeof(*sh->dirty));
    sh->is_dirty = casty__mem_calloc(n, sizeof(*sh->is_dirty));
    if (sh->eventfd < 0 || !sh->out || !sh->in || !sh->overflow || !sh->dirty || !sh->is_dirty)
        return -ENOMEM;
    for (uint32_t d = 0; d < n; d++) {
        if (d == id)
            continue;
        sh->out[d] = &sys->rings[id * n + d];
        sh->in[d] = &sys->rings[d * n + id];
    }
    casty__mpsc_init(&sh->inject);
    casty__pool_cache_init(&sh->env_cache, &sys->env_pool);
    casty__pool_cache_init(&sh->cell_cache, &sys->cell_pool);
    casty__pool_cache_init(&sh->pending_cache, &sys->pending_pool);
    casty__pool_cache_init(&sh->sched_cache, &sys->sched_pool);
    return 0;
}

static int shards_create(struct casty_system *sys)
{
    uint32_t n = sys->nshards;
    sys->rings = casty__mem_aligned(CASTY_CACHELINE, (size_t)n * n * sizeof(casty_spsc));
    sys->shards = casty__mem_calloc(n, sizeof(*sys->shards));
    if (!sys->rings || !sys->shards)
        return -ENOMEM;
    memset(sys->rings, 0, (size_t)n * n * sizeof(casty_spsc));
    for (uint32_t s = 0; s < n; s++) {
        for (uint32_t d = 0; d < n; d++) {
            if (s != d && casty__spsc_init(&sys->rings[s * n + d], sys->cfg.ring_slots) < 0)
                return -ENOMEM;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc = shard_new(sys, i);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int threads_start(struct casty_system *sys)
{
    uint32_t launched = 0;
    int rc = 0;
    for (; launched < sys->nshards && rc == 0; launched++) {
        rc = casty__shard_start(sys->shards[launched]);
        if (rc < 0)
            break;
    }
    pthread_mutex_lock(&sys->start_lock);
    while (sys->started < launched)
        pthread_cond_wait(&sys->start_cond, &sys->start_lock);
    if (rc == 0)
        rc = sys->start_rc;
    pthread_mutex_unlock(&sys->start_lock);
    sys->launched = launched;
    return rc;
}

static void wake_all(struct casty_system *sys)
{
    for (uint32_t i = 0; i < sys->launched; i++)
        casty__shard_wake(NULL, sys->shards[i]);
}

/* Free an envelope nobody will receive any more (after the threads are joined). */
static void discard(casty_env *env)
{
    if (env->kind == CASTY_ENV_START)
        casty__cell_discard(env->to.cell); /* it may hold messages from other lanes */
    else if (env->kind == CASTY_ENV_SCHED && env->msg.type == CASTY_SCHED_OP_ARM &&
             atomic_load_explicit(&env->to.sched->word, memory_order_relaxed) >> 2 == env->to_gen)
        casty__sched_discard(env->to.sched);
    casty__env_drop_payload(env);
}

/* Single-threaded: every shard has exited; release what is still in flight. */
static void sweep(struct casty_system *sys)
{
    uint32_t n = sys->nshards;
    for (uint32_t i = 0; i < sys->launched; i++) {
        casty_shard *sh = sys->shards[i];
        casty_mpsc_node *node;
        while ((node = casty__mpsc_pop(&sh->inject)) != NULL)
            discard((casty_env *)(void *)node);
        for (uint32_t d = 0; d < n; d++) {
            for (casty_env *e = sh->overflow[d].head; e;) {
                casty_env *next = (casty_env *)(void *)e->link.next;
                discard(e);
                e = next;
            }
            if (d == i)
                continue;
            casty_spsc *ring = &sys->rings[i * n + d];
            casty__spsc_publish(ring);
            void *batch[64];
            uint32_t got;
            while ((got = casty__spsc_pop_batch(ring, batch, 64)) > 0) {
                for (uint32_t k = 0; k < got; k++)
                    discard(batch[k]);
            }
        }
    }
}

static void teardown(struct casty_system *sys)
{
    uint32_t n = sys->nshards;
    for (uint32_t i = 0; sys->shards && i < n; i++) {
        casty_shard *sh = sys->shards[i];
        if (!sh)
            continue;
        if (sh->eventfd >= 0)
            close(sh->eventfd);
        casty__mem_free(sh->out);
        casty__mem_free(sh->in);
        casty__mem_free(sh->overflow);
        casty__mem_free(sh->dirty);
        casty__mem_free(sh->is_dirty);
        casty__mem_free(sh);
    }
    for (uint32_t i = 0; sys->rings && i < n * n; i++) {
        if (i / n != i % n)
            casty__spsc_destroy(&sys->rings[i]);
    }
    casty__mem_free(sys->rings);
    casty__mem_free(sys->shards);
    casty__registry_destroy(&sys->registry);
    casty__waiters_destroy(&sys->waiters);
    casty__placement_destroy(&sys->placement);
    casty__pool_destroy(&sys->env_pool);
    casty__pool_destroy(&sys->cell_pool);
    casty__pool_destroy(&sys->pending_pool);
    casty__pool_destroy(&sys->sched_pool);
    casty__mem_free(atomic_load_explicit(&sys->dl_listener, memory_order_relaxed));
    for (uint32_t i = 0; i < sys->dl_nretired; i++)
        casty__mem_free(sys->dl_retired[i]);
    casty__mem_free(sys->dl_retired);
    pthread_mutex_destroy(&sys->dl_lock);
    casty__mem_free(sys->cpus);
    pthread_mutex_destroy(&sys->start_lock);
    pthread_cond_destroy(&sys->start_cond);
    free_slot(sys);
    casty__mem_free(sys);
}

static void exit_threads(struct casty_system *sys)
{
    /* Release: everything before (the sweep of waiters) is visible to shards that see EXIT. */
    atomic_store_explicit(&sys->phase, CASTY_PHASE_EXIT, memory_order_release);
    wake_all(sys);
    for (uint32_t i = 0; i < sys->launched; i++)
        casty__shard_join(sys->shards[i]);
}

int casty_system_start(casty_system **out, const casty_config *cfg)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int rc = casty__io_probe();
    if (rc < 0)
        return rc;
    struct casty_system *sys = casty__mem_aligned(CASTY_CACHELINE, sizeof(*sys));
    if (!sys)
        return -ENOMEM;
    memset(sys, 0, sizeof(*sys));
    pthread_mutex_init(&sys->start_lock, NULL);
    pthread_cond_init(&sys->start_cond, NULL);
    pthread_mutex_init(&sys->dl_lock, NULL);
    rc = claim_slot(sys);
    if (rc < 0) {
        casty__mem_free(sys);
        return rc;
    }
    rc = resolve_config(sys, cfg);
    if (rc == 0)
        rc = pools_init(sys);
    if (rc == 0)
        rc = casty__registry_init(&sys->registry);
    if (rc == 0)
        rc = casty__waiters_init(&sys->waiters);
    if (rc == 0)
        rc = casty__placement_init(&sys->placement, sys->nshards, sys->cfg.placement_vnodes);
    if (rc == 0)
        rc = shards_create(sys);
    if (rc == 0)
        rc = threads_start(sys);
    if (rc < 0) {
        exit_threads(sys);
        teardown(sys);
        return rc;
    }
    publish_slot(sys, sys);
    *out = sys;
    return 0;
}

/* Every actor ever spawned has been finalized (meaningful once no spawn can start). */
static bool all_stopped(struct casty_system *sys)
{
    uint64_t spawned = atomic_load_explicit(&sys->outside_spawned, memory_order_relaxed);
    uint64_t stopped = 0;
    for (uint32_t i = 0; i < sys->nshards; i++) {
        spawned += casty__counter_read(&sys->shards[i]->stats.spawned);
        stopped += casty__counter_read(&sys->shards[i]->stats.stopped);
    }
    return spawned == stopped;
}

/* Wait until every shard checked in on `count`, or until `deadline` (0: none). */
static bool wait_count(struct casty_system *sys, _Atomic uint32_t *count, uint64_t deadline)
{
    /* Acquire pairs with each shard's release increment. */
    while (atomic_load_explicit(count, memory_order_acquire) < sys->nshards) {
        if (deadline && casty__now_ns() >= deadline)
            return false;
        usleep(50);
    }
    return true;
}

int casty_system_stop(casty_system *sys)
{
    if (!sys)
        return -EINVAL;
    if (casty__tls_shard)
        return -EDEADLK; /* a shard cannot join itself; stop from an outside thread */
    uint32_t running = CASTY_PHASE_RUNNING;
    /* Release: pairs with the shards' acquire load of the phase. */
    if (!atomic_compare_exchange_strong_explicit(&sys->phase, &running, CASTY_PHASE_STOP_ACTORS,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return -ESHUTDOWN;
    uint64_t deadline = casty__now_ns() + (uint64_t)sys->cfg.shutdown_grace_ms * 1000000u;
    wake_all(sys);
    /* No outside caller is inside the system after this: none can spawn any more. */
    publish_slot(sys, NULL);
    sys_slot *slot = &table[sys->ref_id & 0xffu];
    for (;;) {
        casty__waiters_fail_all(&sys->waiters, -ESHUTDOWN);
        if (atomic_load_explicit(&slot->users, memory_order_seq_cst) == 0)
            break;
        usleep(100);
    }
    /*
     * Once every shard has seen the phase no actor spawns either, so the counts
     * are final. A shard stuck in a long behaviour may not check in before the
     * grace ends; the others then go on to the forced stop without it.
     */
    if (wait_count(sys, &sys->shards_seen, deadline)) {
        while (!all_stopped(sys) && casty__now_ns() < deadline)
            usleep(100);
    }
    atomic_store_explicit(&sys->phase, CASTY_PHASE_FORCE, memory_order_release);
    wake_all(sys);
    wait_count(sys, &sys->shards_forced, 0);
    exit_threads(sys);
    sweep(sys);
    teardown(sys);
    return 0;
}

uint32_t casty_system_shards(const casty_system *sys)
{
    return sys ? sys->nshards : 0;
}

int casty_system_config(const casty_system *sys, casty_config *out)
{
    if (!sys || !out)
        return -EINVAL;
    *out = sys->cfg;
    return 0;
}

int casty_system_stats(casty_system *sys, casty_stats *out)
{
    if (!sys || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->shards = sys->nshards;
    for (uint32_t r = 0; r < CASTY_DEAD_REASONS; r++)
        out->dead_by_reason[r] =
            atomic_load_explicit(&sys->outside_dead_by[r], memory_order_relaxed);
    out->actors_spawned = atomic_load_explicit(&sys->outside_spawned, memory_order_relaxed);
    for (uint32_t i = 0; i < sys->nshards; i++) {
        casty_shard_stats *st = &sys->shards[i]->stats;
        out->delivered += casty__counter_read(&st->delivered);
        for (uint32_t r = 0; r < CASTY_DEAD_REASONS; r++)
            out->dead_by_reason[r] += casty__counter_read(&st->dead[r]);
        out->actors_spawned += casty__counter_read(&st->spawned);
        out->actors_stopped += casty__counter_read(&st->stopped);
        out->asks_timed_out += casty__counter_read(&st->asks_timed_out);
        out->crashes += casty__counter_read(&st->crashes);
        out->restarts += casty__counter_read(&st->restarts);
        out->wakeups_sent += casty__counter_read(&st->wakeups_sent);
        out->sleeps += casty__counter_read(&st->sleeps);
        out->ring_publishes += casty__counter_read(&st->ring_publishes);
        out->ring_full += casty__counter_read(&st->ring_full);
        out->parks += casty__counter_read(&st->parks);
        out->io_submits += casty__counter_read(&st->io_submits);
    }
    for (uint32_t r = 0; r < CASTY_DEAD_REASONS; r++)
        out->dead_letters += out->dead_by_reason[r];
    out->actors_live = out->actors_spawned - out->actors_stopped;
    return 0;
}
