/*
 * The shard thread and its loop (DESIGN.md section 3):
 *   drain the injection queue and the inbound rings -> run ready actors, each
 *   for a budget of messages, publishing outbound rings after each turn ->
 *   fire due timers -> if nothing was done: spin briefly, then sleep in
 *   io_uring until a producer writes our eventfd or the next timer is due.
 * Owner thread only, except casty__shard_wake().
 */
#include "core/shard.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/ask.h"
#include "core/assert.h"
#include "core/lifecycle.h"
#include "core/sched.h"
#include "core/system.h"

_Thread_local casty_shard *casty__tls_shard __attribute__((tls_model("initial-exec")));

#define DRAIN_BATCH     256 /* envelopes taken from each inbound lane per iteration */
#define RUN_BATCH       256 /* actor turns per iteration, so inbound lanes are polled often */
#define TIMER_BATCH     1024
#define SPIN_CHECK_MASK 63 /* read the clock every 64 spins: a clock read costs ~20 ns */

uint64_t casty__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

casty_env *casty__env_alloc(struct casty_system *sys, casty_shard *sh)
{
    casty_env *env = sh ? casty__pool_get(&sh->env_cache) : casty__pool_get_shared(&sys->env_pool);
    if (CASTY_UNLIKELY(!env))
        return NULL;
    env->flags = 0;
    env->msg.data = NULL;
    return env;
}

casty_env *casty__env_make(struct casty_system *sys, casty_shard *sh, uint16_t kind, uint32_t type,
                           void *to, uint32_t to_gen)
{
    casty_env *env = casty__env_alloc(sys, sh);
    if (CASTY_UNLIKELY(!env))
        return NULL;
    memset(&env->msg, 0, sizeof(env->msg));
    env->msg.type = type;
    env->msg.data = env->inline_data;
    env->kind = kind;
    env->sender = CASTY_REF_NULL;
    env->to.cell = to; /* the union's members are all pointers */
    env->to_gen = to_gen;
    return env;
}

void casty__env_free(struct casty_system *sys, casty_shard *sh, casty_env *env)
{
    casty__env_drop_payload(env);
    if (sh)
        casty__pool_put(&sh->env_cache, env);
    else
        casty__pool_put_shared(&sys->env_pool, env);
}

void casty__shard_wake(casty_shard *from, casty_shard *sh)
{
    /*
     * An RMW reads the latest value of `sleeping`. Either it comes after the
     * sleeper's exchange in the flag's modification order (we see 1 and wake
     * it), or before, and then the sleeper's exchange reads our write and so
     * synchronises with it: the sleeper's re-check sees what we published.
     * Clearing the flag here makes one producer, not every producer, pay for
     * the write(2). (A fence-based Dekker would do, but TSan cannot see fences.)
     */
    if (sh->sys->cfg.busy_poll)
        return; /* busy-polling shards never sleep */
    if (atomic_exchange_explicit(&sh->sleeping, 0, memory_order_acq_rel) == 0)
        return;
    casty__io_wake(sh->eventfd);
    if (from)
        casty__count(&from->stats.wakeups_sent, 1);
}

void casty__shard_deliver(casty_shard *sh, casty_env *env)
{
    switch ((enum casty_env_kind)env->kind) {
    case CASTY_ENV_USER:
    case CASTY_ENV_STOP:
    case CASTY_ENV_SYS:
        casty__cell_deliver(sh, env);
        return;
    case CASTY_ENV_SCHED:
        casty__sched_on_env(sh, env);
        return;
    case CASTY_ENV_START:
        casty__cell_start(sh, env);
        return;
    case CASTY_ENV_REPLY:
        casty__ask_on_reply(sh, env);
        return;
    }
    CASTY_ASSERT(!"unknown envelope kind");
}

static uint32_t drain_inject(casty_shard *sh)
{
    uint32_t n = 0;
    casty_mpsc_node *node;
    while (n < DRAIN_BATCH && (node = casty__mpsc_pop(&sh->inject)) != NULL) {
        casty__shard_deliver(sh, (casty_env *)(void *)node);
        n++;
    }
    return n;
}

static uint32_t run_queue(casty_shard *sh)
{
    uint32_t n = 0;
    while (n < RUN_BATCH && sh->runq_head) {
        if (CASTY_UNLIKELY(!sh->stop_seen && !casty__system_accepting(sh->sys)))
            break; /* back to the loop, which stops the top-level actors first */
        casty_cell *cell = sh->runq_head;
        sh->runq_head = cell->runq_next;
        if (!sh->runq_head)
            sh->runq_tail = NULL;
        cell->flags &= (uint16_t)~CASTY_CELL_QUEUED;
        casty__cell_run(sh, cell);
        if (sh->ndirty)
            casty__xshard_flush(sh);
        n++;
    }
    return n;
}

/* `now_ns` is the caller's latest clock reading: the spin loop reads the clock once per 64 spins. */
static bool has_work(casty_shard *sh, uint32_t phase, uint64_t now_ns)
{
    if (sh->runq_head || sh->overflowing)
        return true;
    if (atomic_load_explicit(&sh->sys->phase, memory_order_relaxed) != phase)
        return true;
    if (!casty__mpsc_empty(&sh->inject) || casty__xshard_pending_in(sh))
        return true;
    return casty__wheel_next_deadline(&sh->wheel) <= now_ns;
}

/* Nothing to do: spin for spin_ns, then sleep until woken or the next timer. */
static void idle(casty_shard *sh, uint32_t phase)
{
    struct casty_system *sys = sh->sys;
    if (sys->cfg.busy_poll) {
        casty_cpu_relax();
        return;
    }
    uint64_t start = casty__now_ns();
    uint64_t now = start;
    for (uint64_t i = 1;; i++) {
        if (has_work(sh, phase, now))
            return;
        casty_cpu_relax();
        if ((i & SPIN_CHECK_MASK) == 0) {
            if (CASTY_UNLIKELY(sh->io.net != NULL))
                casty__io_poll(&sh->io); /* socket completions run their callbacks here */
            now = casty__now_ns();
            if (now - start >= sys->spin_ns)
                break;
        }
    }
    /* Acq-rel exchange: pairs with the producers' exchange in casty__shard_wake(); see there. */
    atomic_exchange_explicit(&sh->sleeping, 1, memory_order_acq_rel);
    now = casty__now_ns();
    if (has_work(sh, phase, now)) {
        /* An RMW, not a store, so that the release sequence of producers' exchanges holds. */
        atomic_exchange_explicit(&sh->sleeping, 0, memory_order_acq_rel);
        return;
    }
    uint64_t next = casty__wheel_next_deadline(&sh->wheel);
    uint64_t net_next = casty__io_next_deadline(&sh->io);
    if (net_next < next)
        next = net_next;
    uint64_t timeout = next == UINT64_MAX ? UINT64_MAX : (next > now ? next - now : 0);
    casty__count(&sh->stats.sleeps, 1);
    casty__io_wait(&sh->io, timeout);
    casty__count(&sh->stats.io_submits, 1);
    atomic_exchange_explicit(&sh->sleeping, 0, memory_order_acq_rel); /* RMW, as above */
}

void casty__shard_park(casty_shard *sh, casty_cell *cell)
{
    if (sh->nparked == sh->parked_cap) {
        uint32_t cap = sh->parked_cap ? sh->parked_cap * 2 : 16;
        casty_lite *v = casty__mem_realloc(sh->parked, (size_t)cap * sizeof(*v));
        if (!v) {
            /* No room to remember it: let it run on (the overflow queue absorbs its sends). */
            cell->flags &= (uint16_t)~CASTY_CELL_PARKED;
            casty__cell_schedule(sh, cell);
            return;
        }
        sh->parked = v;
        sh->parked_cap = cap;
    }
    sh->parked[sh->nparked++] = casty__lite_of(cell);
    casty__count(&sh->stats.parks, 1);
}

void casty__shard_unpark(casty_shard *sh)
{
    uint32_t n = sh->nparked;
    sh->nparked = 0;
    for (uint32_t i = 0; i < n; i++) {
        casty_cell *cell = sh->parked[i].cell;
        if (casty__cell_gen(cell) != sh->parked[i].gen || !(cell->flags & CASTY_CELL_PARKED))
            continue; /* stopped meanwhile, or a duplicate entry */
        cell->flags &= (uint16_t)~CASTY_CELL_PARKED;
        casty__cell_schedule(sh, cell);
    }
}

/* Shutdown, step one: stop the top-level actors; they stop their children first. */
static void stop_roots(casty_shard *sh)
{
    for (casty_cell *cell = sh->live, *next; cell; cell = next) {
        next = cell->live_next;
        if (!cell->parent)
            casty__cell_begin_stop(sh, cell, CASTY_EXIT_STOPPED, 0);
    }
    casty__xshard_flush(sh);
}

/* Shutdown after the grace period (and at exit): finalize whatever is left, without waiting. */
static void finalize_all(casty_shard *sh)
{
    casty_cell *cell;
    while ((cell = sh->live) != NULL) {
        if (!(cell->flags & CASTY_CELL_TERMINATING))
            casty__cell_set_exit(cell, CASTY_EXIT_STOPPED, 0);
        casty__cell_finalize(sh, cell);
    }
    casty__xshard_flush(sh);
}

static void check_phase(casty_shard *sh, uint32_t phase)
{
    struct casty_system *sys = sh->sys;
    if (phase >= CASTY_PHASE_STOP_ACTORS && !sh->stop_seen) {
        stop_roots(sh);
        sh->stop_seen = true;
        /* Release: the stopping thread reads our counters after seeing the count. */
        atomic_fetch_add_explicit(&sys->shards_seen, 1, memory_order_release);
    }
    if (phase >= CASTY_PHASE_FORCE && !sh->forced) {
        finalize_all(sh);
        sh->forced = true;
        atomic_fetch_add_explicit(&sys->shards_forced, 1, memory_order_release);
    }
}

static void loop(casty_shard *sh)
{
    struct casty_system *sys = sh->sys;
    for (;;) {
        /* Acquire pairs with the stopping thread's release store of the phase. */
        uint32_t phase = atomic_load_explicit(&sys->phase, memory_order_acquire);
        if (phase == CASTY_PHASE_EXIT)
            return;
        if (CASTY_UNLIKELY(phase != CASTY_PHASE_RUNNING))
            check_phase(sh, phase);
        sh->now_ns = casty__now_ns();
        uint32_t work = drain_inject(sh);
        work += casty__xshard_drain(sh, DRAIN_BATCH);
        work += run_queue(sh);
        work += casty__wheel_advance(&sh->wheel, sh->now_ns, TIMER_BATCH);
        if (sh->ndirty)
            casty__xshard_flush(sh);
        /* Sockets: every turn when idle, every 64th when busy (a poll is a syscall). */
        if (CASTY_UNLIKELY(sh->io.net != NULL) && (!work || ++sh->net_tick >= 64)) {
            sh->net_tick = 0;
            casty__io_poll(&sh->io);
            if (!work && has_work(sh, phase, casty__now_ns()))
                continue; /* its callbacks made work */
        }
        if (!work)
            idle(sh, phase);
    }
}

static void pin(casty_shard *sh)
{
    struct casty_system *sys = sh->sys;
    if (sys->cfg.no_pin)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sys->cpus[sh->id % sys->cfg.cpus_len], &set);
    /* Pinning is an optimisation: a container may forbid it; the shard still runs. */
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *shard_main(void *arg)
{
    casty_shard *sh = arg;
    struct casty_system *sys = sh->sys;
    casty__tls_shard = sh;
    pin(sh);
    int rc = casty__io_init(&sh->io, sys->cfg.io_entries, sh->eventfd);
    if (rc == 0)
        rc = casty__wheel_init(&sh->wheel, casty__now_ns(), 1000000u);
    casty__system_report_started(sys, rc);
    if (rc < 0)
        return NULL;
    loop(sh);
    finalize_all(sh); /* actors that started after the forced stop */
    casty__sched_free_unowned(sh);
    casty__mem_free(sh->parked);
    sh->parked = NULL;
    casty__wheel_destroy(&sh->wheel);
    casty__io_destroy(&sh->io);
    casty__pool_cache_drain(&sh->env_cache);
    casty__pool_cache_drain(&sh->cell_cache);
    casty__pool_cache_drain(&sh->pending_cache);
    casty__pool_cache_drain(&sh->sched_cache);
    casty__tls_shard = NULL;
    return NULL;
}

int casty__shard_start(casty_shard *sh)
{
    return -pthread_create(&sh->thread, NULL, shard_main, sh);
}

void casty__shard_join(casty_shard *sh)
{
    pthread_join(sh->thread, NULL);
}
