/*
 * Graceful system stop through the public API: no spawns once stopping has
 * begun (-ESHUTDOWN), the message in hand is finished while queued ones are
 * not handled, children stop before their parents across shards, the grace
 * period (cfg.shutdown_grace_ms) bounds how long a stuck tree is waited for,
 * stop from a shard is refused, and a busy system (trees on both shards,
 * owned and unowned schedules, messages in flight, asks outstanding, a
 * dead-letter listener) frees everything: the runtime's allocation counters
 * return to their starting value, and the ASan build's LeakSanitizer fails
 * the test on any leak.
 *
 * Observation: every actor with an id >= 0 owns recs[id] and writes it with
 * atomics; the stop hooks take a global sequence number, so the order in
 * which they ran can be checked after casty_system_stop() returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/heap.h"
#include "support/casty_test.h"

#ifdef CASTY_SANITIZE
#define SLOW_FACTOR 4u /* sanitizers: more room upward, never downward */
#else
#define SLOW_FACTOR 1u
#endif

#define MS   1000000ull
#define NIDS 64
#define PAD  4000 /* a payload well above any inline envelope size */

CASTY_MESSAGE(Sleep, uint32_t ms);
CASTY_MESSAGE(Block);
CASTY_MESSAGE(Item, int seq);
CASTY_MESSAGE(Ping);
CASTY_MESSAGE(StopSys);
CASTY_MESSAGE(Arm, uint32_t delay_ms; uint32_t every_ms);
CASTY_MESSAGE(AskSilent, casty_ref to; uint32_t timeout_ms);
CASTY_MESSAGE(Silent);
CASTY_MESSAGE(SilentReply);
CASTY_MESSAGE(Bounce, casty_ref back; uint32_t hops; char pad[PAD]);
CASTY_MESSAGE(Serve, casty_ref peer; int balls);
CASTY_PROTOCOL(SdMsg, Sleep, Block, Item, Ping, StopSys, Arm, AskSilent, Silent, SilentReply,
               Bounce, Serve);

typedef struct {
    int base;  /* id = base + h; base < 0: record nothing */
    int h;     /* heap index in its tree: children of h are fanout*h + 1 .. fanout*h + fanout */
    int depth; /* root: 0 */
    int max_depth;
    int fanout;
    bool spawn_in_stop;     /* the stop hook tries casty_spawn and casty_spawn_child */
    uint32_t stop_sleep_ms; /* the stop hook blocks this long */
} NodeArg;

typedef struct {
    NodeArg arg;
} Node;

typedef struct {
    _Atomic bool inited;
    casty_ref self; /* published by inited */
    _Atomic uint32_t shard;
    _Atomic uint32_t stop_count;
    _Atomic uint32_t stop_seq;
    _Atomic uint64_t stop_ns;      /* stop hook entered */
    _Atomic uint64_t hook_done_ns; /* stop hook left */
    _Atomic bool busy;             /* inside Sleep or Block */
    _Atomic uint64_t busy_done_ns; /* Sleep or Block returned */
    _Atomic uint32_t items;
    _Atomic int spawn_rc;
    _Atomic int child_rc;
    _Atomic int tell_rc; /* a failed self-tell in Block */
} node_rec;

static node_rec recs[NIDS];
static _Atomic uint32_t stop_seq_counter;
static _Atomic bool release_block;
static _Atomic uint32_t bounces;

static int node_id(const Node *self)
{
    return self->arg.base < 0 ? -1 : self->arg.base + self->arg.h;
}

static int node(casty_ctx *ctx, Node *self, const casty_msg *msg);
static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len);
static void node_stop(casty_ctx *ctx, void *state);
CASTY_ACTOR(node_actor, SdMsg, Node, node, .init = node_init, .stop = node_stop);

static const NodeArg scratch_arg = {.base = -1};

static void on_block(casty_ctx *ctx, node_rec *r)
{
    /* Three messages queue up behind the one in hand. */
    SdMsg_ref me = {.raw = casty_self(ctx)};
    for (int i = 0; i < 3; i++) {
        int rc = casty_tell(me, Item, .seq = i);
        if (rc != 0)
            atomic_store_explicit(&r->tell_rc, rc, memory_order_relaxed);
    }
    atomic_store_explicit(&r->busy, true, memory_order_release);
    uint64_t deadline = ct_now_ns() + 20000 * MS;
    while (!atomic_load_explicit(&release_block, memory_order_acquire) && ct_now_ns() < deadline)
        ct_sleep_ms(1);
    atomic_store_explicit(&r->busy_done_ns, ct_now_ns(), memory_order_release);
}

static int on_bounce(casty_ctx *ctx, const Bounce *b)
{
    atomic_fetch_add_explicit(&bounces, 1, memory_order_relaxed);
    Bounce next;
    memcpy(&next, b, sizeof(next));
    next.back = casty_self(ctx);
    next.hops++;
    return casty_tell_raw(b->back, CASTY_ID(Bounce), &next, sizeof(next), NULL);
}

static int on_serve(casty_ctx *ctx, const Serve *s)
{
    Bounce b;
    memset(&b, 0x5a, sizeof(b));
    b.back = casty_self(ctx);
    b.hops = 0;
    for (int i = 0; i < s->balls; i++) {
        int rc = casty_tell_raw(s->peer, CASTY_ID(Bounce), &b, sizeof(b), NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int node(casty_ctx *ctx, Node *self, const casty_msg *msg)
{
    int id = node_id(self);
    node_rec *r = id >= 0 ? &recs[id] : NULL;
    switch ((enum SdMsg_type)casty_type(msg)) {
    case CASTY_ID(Sleep):
        if (r)
            atomic_store_explicit(&r->busy, true, memory_order_release);
        ct_sleep_ms(CASTY_AS(msg, Sleep)->ms);
        if (r)
            atomic_store_explicit(&r->busy_done_ns, ct_now_ns(), memory_order_release);
        return 0;
    case CASTY_ID(Block):
        if (r)
            on_block(ctx, r);
        return 0;
    case CASTY_ID(Item):
        if (r)
            atomic_fetch_add_explicit(&r->items, 1, memory_order_relaxed);
        return 0;
    case CASTY_ID(Ping):
        return casty_reply(ctx, int, 1);
    case CASTY_ID(StopSys):
        return casty_reply(ctx, int, casty_system_stop(casty_ctx_system(ctx)));
    case CASTY_ID(Arm): {
        const Arm *a = CASTY_AS(msg, Arm);
        casty_schedule_opts o = {.delay_ms = a->delay_ms, .every_ms = a->every_ms};
        int rc = casty_schedule_raw(casty_ctx_system(ctx), NULL, casty_self(ctx), CASTY_ID(Item),
                                    &(Item){-1}, sizeof(Item), &o);
        return casty_reply(ctx, int, rc);
    }
    case CASTY_ID(AskSilent): {
        const AskSilent *a = CASTY_AS(msg, AskSilent);
        SdMsg_ref to = {.raw = a->to};
        int rc = casty_ask_async_timeout(ctx, to, SilentReply, a->timeout_ms, Silent);
        return casty_reply(ctx, int, rc);
    }
    case CASTY_ID(Silent):
    case CASTY_ID(SilentReply):
        return 0;
    case CASTY_ID(Bounce):
        return on_bounce(ctx, CASTY_AS(msg, Bounce));
    case CASTY_ID(Serve):
        return on_serve(ctx, CASTY_AS(msg, Serve));
    }
    return 0;
}

/* Spawn the children of this node: the first on the other shard, the rest on this one. */
static int spawn_children(casty_ctx *ctx, const Node *self)
{
    if (self->arg.depth >= self->arg.max_depth)
        return 0;
    uint32_t here = casty_ctx_shard(ctx);
    uint32_t nshards = casty_system_shards(casty_ctx_system(ctx));
    for (int k = 0; k < self->arg.fanout; k++) {
        NodeArg child = self->arg;
        child.h = self->arg.fanout * self->arg.h + k + 1;
        child.depth = self->arg.depth + 1;
        child.spawn_in_stop = false;
        child.stop_sleep_ms = 0;
        char name[16];
        snprintf(name, sizeof(name), "c%d", child.h);
        SdMsg_ref ref;
        int rc = casty_spawn_child(ctx, &ref, node_actor, name, .placement = CASTY_PLACE_SHARD,
                                   .shard = k == 0 ? (here + 1) % nshards : here, .arg = &child,
                                   .arg_len = sizeof(child));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Node *self = state;
    if (len != sizeof(NodeArg))
        return -EINVAL;
    memcpy(&self->arg, arg, sizeof(NodeArg));
    int rc = spawn_children(ctx, self);
    if (rc < 0)
        return rc;
    int id = node_id(self);
    if (id >= 0) {
        recs[id].self = casty_self(ctx);
        atomic_store_explicit(&recs[id].shard, casty_ctx_shard(ctx), memory_order_relaxed);
        /* Release: self and shard are visible once inited is. */
        atomic_store_explicit(&recs[id].inited, true, memory_order_release);
    }
    return 0;
}

static void node_stop(casty_ctx *ctx, void *state)
{
    Node *self = state;
    int id = node_id(self);
    if (id < 0)
        return;
    node_rec *r = &recs[id];
    atomic_store_explicit(&r->stop_ns, ct_now_ns(), memory_order_relaxed);
    /* Relaxed is enough: the test reads these after casty_system_stop() joined the threads. */
    atomic_store_explicit(&r->stop_seq, atomic_fetch_add(&stop_seq_counter, 1) + 1,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&r->stop_count, 1, memory_order_relaxed);
    if (self->arg.spawn_in_stop) {
        SdMsg_ref tmp;
        atomic_store(&r->spawn_rc,
                     casty_spawn(casty_ctx_system(ctx), &tmp, node_actor, NULL, .arg = &scratch_arg,
                                 .arg_len = sizeof(scratch_arg)));
        atomic_store(&r->child_rc,
                     casty_spawn_child(ctx, &tmp, node_actor, "late", .arg = &scratch_arg,
                                       .arg_len = sizeof(scratch_arg)));
    }
    if (self->arg.stop_sleep_ms)
        ct_sleep_ms(self->arg.stop_sleep_ms);
    atomic_store_explicit(&r->hook_done_ns, ct_now_ns(), memory_order_release);
}

static int setup_each(void **state)
{
    (void)state;
    memset(recs, 0, sizeof(recs));
    atomic_store(&stop_seq_counter, 0);
    atomic_store(&release_block, false);
    atomic_store(&bounces, 0);
    return 0;
}

struct inited_wait {
    int first, count;
};

static int all_inited(void *arg)
{
    struct inited_wait *w = arg;
    for (int i = w->first; i < w->first + w->count; i++)
        if (!atomic_load_explicit(&recs[i].inited, memory_order_acquire))
            return 0;
    return 1;
}

static SdMsg_ref spawn_root(casty_system *sys, const char *name, uint32_t shard, NodeArg arg)
{
    SdMsg_ref ref;
    assert_int_equal(casty_spawn(sys, &ref, node_actor, name, .placement = CASTY_PLACE_SHARD,
                                 .shard = shard, .arg = &arg, .arg_len = sizeof(arg)),
                     0);
    struct inited_wait w = {arg.base + arg.h, 1};
    assert_true(ct_wait_until(all_inited, &w, 10000));
    return ref;
}

/*
 * The running test's system and, while one runs, its stopping thread. A
 * failed assertion leaves the test early; the teardown then releases any
 * blocked actor and finishes the stop, so that nothing leaks into the next
 * test's observations.
 */
static casty_system *live_sys;
static pthread_t stopper_thread;
static bool stopper_running;

/* A two-shard system with the given grace (0: the default). */
static casty_system *start_sys(uint32_t grace_ms)
{
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = 2;
    if (grace_ms)
        cfg.shutdown_grace_ms = grace_ms;
    casty_system *sys = NULL;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS) {
        fprintf(stderr, "io_uring unavailable: skipping\n");
        exit(77);
    }
    assert_int_equal(rc, 0);
    live_sys = sys;
    return sys;
}

/* casty_system_stop(), once the test no longer owns the system. */
static int stop_sys(casty_system *sys)
{
    live_sys = NULL;
    return casty_system_stop(sys);
}

static int teardown_each(void **state)
{
    (void)state;
    atomic_store_explicit(&release_block, true, memory_order_release);
    if (stopper_running) {
        stopper_running = false;
        return pthread_join(stopper_thread, NULL);
    }
    if (live_sys)
        return stop_sys(live_sys);
    return 0;
}

struct stopper {
    casty_system *sys;
    int rc;
    pthread_t thread;
};

static void *stopper_main(void *arg)
{
    struct stopper *s = arg;
    s->rc = casty_system_stop(s->sys);
    return NULL;
}

/*
 * Once casty_system_stop() has begun, spawns fail with -ESHUTDOWN (from
 * outside, and from a stop hook, child or not) and a second stop is refused;
 * the actor busy with a message finishes it, and the three messages queued
 * behind it are not handled.
 */
static void test_stop_refuses_spawns_and_finishes_message_in_hand(void **state)
{
    (void)state;
    casty_system *sys = start_sys(0);
    SdMsg_ref busy = spawn_root(sys, "busy", 0, (NodeArg){.base = 0, .spawn_in_stop = true});
    assert_int_equal(casty_tell(busy, Block), 0);
    assert_true(ct_wait_flag(&recs[0].busy, 10000));

    /* Static: the stopping thread may outlive this frame if an assertion fails. */
    static struct stopper s;
    s = (struct stopper){.sys = sys, .rc = 1};
    live_sys = NULL; /* the stopping thread owns it now */
    assert_int_equal(pthread_create(&s.thread, NULL, stopper_main, &s), 0);
    stopper_thread = s.thread;
    stopper_running = true;
    /* Spawns succeed until the stop begins, then fail; the busy actor keeps the system alive. */
    uint64_t deadline = ct_now_ns() + 10000 * MS;
    int rc = 0, spawned = 0;
    while (ct_now_ns() < deadline) {
        SdMsg_ref tmp;
        rc = casty_spawn(sys, &tmp, node_actor, NULL, .arg = &scratch_arg,
                         .arg_len = sizeof(scratch_arg));
        if (rc != 0)
            break;
        spawned++;
        ct_sleep_ms(1);
    }
    assert_int_equal(rc, -ESHUTDOWN);
    print_message("%d spawns before the stop began\n", spawned);
    SdMsg_ref tmp;
    assert_int_equal(casty_spawn(sys, &tmp, node_actor, "named-late", .arg = &scratch_arg,
                                 .arg_len = sizeof(scratch_arg)),
                     -ESHUTDOWN);
    assert_int_equal(casty_system_stop(sys), -ESHUTDOWN);
    rc = casty_tell(busy, Item, .seq = 99);
    assert_true(rc == 0 || rc == -ESHUTDOWN);
    assert_int_equal(atomic_load(&recs[0].busy_done_ns), 0); /* still in hand */

    atomic_store_explicit(&release_block, true, memory_order_release);
    stopper_running = false;
    assert_int_equal(pthread_join(s.thread, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_true(atomic_load(&recs[0].busy_done_ns) != 0);
    assert_int_equal(atomic_load(&recs[0].tell_rc), 0);
    assert_int_equal(atomic_load(&recs[0].items), 0);
    assert_int_equal(atomic_load(&recs[0].stop_count), 1);
    assert_true(atomic_load(&recs[0].stop_ns) >= atomic_load(&recs[0].busy_done_ns));
    assert_int_equal(atomic_load(&recs[0].spawn_rc), -ESHUTDOWN);
    assert_int_equal(atomic_load(&recs[0].child_rc), -ESHUTDOWN);
}

/*
 * Two trees of 15 actors (depth 3, fanout 2) whose parent/child links cross
 * shards: every stop hook runs exactly once, each child's before its parent's.
 */
static void test_children_stop_before_parents_across_shards(void **state)
{
    (void)state;
    casty_system *sys = start_sys(0);
    enum { TREE = 15 };
    spawn_root(sys, "tree0", 0, (NodeArg){.base = 0, .max_depth = 3, .fanout = 2});
    spawn_root(sys, "tree1", 1, (NodeArg){.base = TREE, .max_depth = 3, .fanout = 2});
    struct inited_wait w = {0, 2 * TREE};
    assert_true(ct_wait_until(all_inited, &w, 10000));
    bool on_shard[2] = {false, false};
    for (int i = 0; i < 2 * TREE; i++)
        on_shard[atomic_load(&recs[i].shard) & 1] = true;
    assert_true(on_shard[0] && on_shard[1]);

    uint64_t t0 = ct_now_ns();
    assert_int_equal(stop_sys(sys), 0);
    uint64_t took = ct_now_ns() - t0;
    assert_true(took < 3000 * MS * SLOW_FACTOR);
    for (int t = 0; t < 2; t++) {
        for (int h = 0; h < TREE; h++) {
            int id = t * TREE + h;
            assert_int_equal(atomic_load(&recs[id].stop_count), 1);
            if (h == 0)
                continue;
            int parent = t * TREE + (h - 1) / 2;
            uint32_t cs = atomic_load(&recs[id].stop_seq), ps = atomic_load(&recs[parent].stop_seq);
            if (cs >= ps)
                fail_msg("tree %d: child %d stopped (#%u) after its parent %d (#%u)", t, h, cs,
                         (h - 1) / 2, ps);
        }
    }
}

/*
 * Grace 100 ms, and an actor is inside a 300 ms message when the stop comes:
 * the stop cannot interrupt a behaviour, so it returns once the behaviour
 * has finished, well under a second, and the stop hook has run.
 */
static void test_grace_stop_waits_for_the_behaviour_in_hand(void **state)
{
    (void)state;
    casty_system *sys = start_sys(100);
    SdMsg_ref a = spawn_root(sys, "sleeper", 0, (NodeArg){.base = 0});
    assert_int_equal(casty_tell(a, Sleep, .ms = 300), 0);
    assert_true(ct_wait_flag(&recs[0].busy, 10000));
    uint64_t t0 = ct_now_ns();
    assert_int_equal(stop_sys(sys), 0);
    uint64_t t1 = ct_now_ns();
    uint64_t done = atomic_load(&recs[0].busy_done_ns);
    assert_true(done != 0 && done <= t1);
    assert_int_equal(atomic_load(&recs[0].stop_count), 1);
    assert_true(atomic_load(&recs[0].stop_ns) >= done);
    if (t1 - t0 >= 1000 * MS * SLOW_FACTOR)
        fail_msg("casty_system_stop took %.0f ms", (double)(t1 - t0) / 1e6);
}

/* Grace 100 ms, and a stop hook that takes 300 ms: the stop returns after the hook finished. */
static void test_grace_stop_waits_for_a_slow_stop_hook(void **state)
{
    (void)state;
    casty_system *sys = start_sys(100);
    spawn_root(sys, "slow-hook", 1, (NodeArg){.base = 0, .stop_sleep_ms = 300});
    uint64_t t0 = ct_now_ns();
    assert_int_equal(stop_sys(sys), 0);
    uint64_t t1 = ct_now_ns();
    uint64_t hook_done = atomic_load(&recs[0].hook_done_ns);
    assert_int_equal(atomic_load(&recs[0].stop_count), 1);
    assert_true(hook_done != 0 && hook_done <= t1);
    assert_true(t1 - t0 >= 300 * MS);
    if (t1 - t0 >= 1000 * MS * SLOW_FACTOR)
        fail_msg("casty_system_stop took %.0f ms", (double)(t1 - t0) / 1e6);
}

/*
 * A stuck tree: the parent (shard 1) waits for its child (shard 0), which is
 * 600 ms into a message. Once the 100 ms grace has passed, the parent is
 * stopped without waiting for the child: its stop hook runs after the grace
 * and before the child's behaviour returns. Every hook still runs once.
 */
static void test_grace_expiry_stops_parent_without_waiting_for_child(void **state)
{
    (void)state;
    casty_system *sys = start_sys(100);
    spawn_root(sys, "parent", 1, (NodeArg){.base = 0, .max_depth = 1, .fanout = 1});
    struct inited_wait w = {0, 2};
    assert_true(ct_wait_until(all_inited, &w, 10000));
    assert_int_equal(atomic_load(&recs[1].shard), 0);
    SdMsg_ref child = {.raw = recs[1].self};
    SdMsg_ref found;
    assert_int_equal(casty_lookup(sys, SdMsg, &found, "parent/c1"), 0);
    assert_true(casty_ref_eq(found.raw, child.raw));
    assert_int_equal(casty_tell(child, Sleep, .ms = 600), 0);
    assert_true(ct_wait_flag(&recs[1].busy, 10000));

    uint64_t t0 = ct_now_ns();
    assert_int_equal(stop_sys(sys), 0);
    uint64_t t1 = ct_now_ns();
    uint64_t parent_stop = atomic_load(&recs[0].stop_ns);
    uint64_t child_done = atomic_load(&recs[1].busy_done_ns);
    assert_int_equal(atomic_load(&recs[0].stop_count), 1);
    assert_int_equal(atomic_load(&recs[1].stop_count), 1);
    assert_true(child_done != 0 && child_done <= t1);
    if (parent_stop < t0 + 100 * MS)
        fail_msg("the parent stopped %.1f ms into a 100 ms grace, with its child busy",
                 (double)(parent_stop - t0) / 1e6);
    if (parent_stop >= child_done)
        fail_msg("the parent waited for its child past the grace (%.0f ms after the stop)",
                 (double)(parent_stop - t0) / 1e6);
    assert_true(t1 - t0 < 1500 * MS * SLOW_FACTOR);
}

/* casty_system_stop() from a shard would wait for itself: -EDEADLK; NULL: -EINVAL. */
static void test_stop_from_a_shard_is_refused(void **state)
{
    (void)state;
    assert_int_equal(casty_system_stop(NULL), -EINVAL);
    casty_system *sys = start_sys(0);
    SdMsg_ref a = spawn_root(sys, "stopper", 1, (NodeArg){.base = 0});
    int rc = 1;
    assert_int_equal(casty_ask_timeout(a, &rc, 10000, StopSys), 0);
    assert_int_equal(rc, -EDEADLK);
    /* The system is unharmed. */
    assert_int_equal(casty_ask_timeout(a, &rc, 10000, Ping), 0);
    assert_int_equal(rc, 1);
    assert_int_equal(stop_sys(sys), 0);
    assert_int_equal(atomic_load(&recs[0].stop_count), 1);
}

static int bounced(void *arg)
{
    return atomic_load_explicit(&bounces, memory_order_relaxed) >= *(uint32_t *)arg;
}

/*
 * Stop a busy system and check that everything was freed: trees across both
 * shards, owned and unowned schedules (one-shot and periodic), large
 * messages bouncing between shards, asks outstanding, a dead-letter
 * listener, messages to a stopped actor, and a burst of tells from outside
 * right before the stop. The runtime's allocation counters must come back to
 * where they were before the system started (every build), and LeakSanitizer
 * checks the rest at exit (ASan build). The stop must not wait out the
 * default 5 s grace: nothing here is stuck.
 */
static void test_busy_system_stops_clean(void **state)
{
    (void)state;
    uint64_t allocs0 = 0, frees0 = 0;
    casty__mem_stats(&allocs0, &frees0);
    casty_system *sys = start_sys(0);

    enum { TREE = 7 };
    SdMsg_ref root0 =
        spawn_root(sys, "tree0", 0, (NodeArg){.base = 0, .max_depth = 2, .fanout = 2});
    SdMsg_ref root1 =
        spawn_root(sys, "tree1", 1, (NodeArg){.base = TREE, .max_depth = 2, .fanout = 2});
    struct inited_wait w = {0, 2 * TREE};
    assert_true(ct_wait_until(all_inited, &w, 10000));

    SdMsg_ref listener = spawn_root(sys, "listener", 1, (NodeArg){.base = 20});
    assert_int_equal(casty_system_set_dead_letter_listener(sys, listener.raw), 0);

    /* Owned schedules: one-shot far away and periodic, on both roots. */
    SdMsg_ref roots[2] = {root0, root1};
    for (int i = 0; i < 2; i++) {
        int rc = 1;
        assert_int_equal(casty_ask_timeout(roots[i], &rc, 10000, Arm, .delay_ms = 3600000), 0);
        assert_int_equal(rc, 0);
        assert_int_equal(casty_ask_timeout(roots[i], &rc, 10000, Arm, .every_ms = 2), 0);
        assert_int_equal(rc, 0);
    }
    /* Unowned schedules from this thread, to leaves on either shard. */
    SdMsg_ref leaf_a = {.raw = recs[3].self}, leaf_b = {.raw = recs[TREE + 4].self};
    assert_int_equal(casty_schedule_once(sys, NULL, leaf_a, 3600000, Item, .seq = 1), 0);
    assert_int_equal(casty_schedule_every(sys, NULL, leaf_b, 3, Item, .seq = 2), 0);
    casty_ref unowned_every;
    assert_int_equal(casty_schedule_every(sys, &unowned_every, leaf_a, 1, Item, .seq = 3), 0);

    /* Large messages bouncing across shards, forever. */
    SdMsg_ref ping = spawn_root(sys, "ping", 0, (NodeArg){.base = 21});
    SdMsg_ref pong = spawn_root(sys, "pong", 1, (NodeArg){.base = 22});
    assert_int_equal(casty_tell(ping, Serve, .peer = pong.raw, .balls = 16), 0);
    uint32_t some = 200;
    assert_true(ct_wait_until(bounced, &some, 10000));

    /* Asks outstanding: their 10 s timeouts are far beyond the stop. */
    SdMsg_ref mute = spawn_root(sys, "mute", 0, (NodeArg){.base = 23});
    for (int i = 0; i < 4; i++) {
        int rc = 1;
        SdMsg_ref asker = i % 2 ? root1 : root0;
        assert_int_equal(
            casty_ask_timeout(asker, &rc, 10000, AskSilent, .to = mute.raw, .timeout_ms = 10000),
            0);
        assert_int_equal(rc, 0);
    }

    /* Dead letters on their way to the listener. */
    SdMsg_ref gone = spawn_root(sys, "gone", 1, (NodeArg){.base = 24});
    assert_int_equal(casty_stop(gone), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(casty_tell(gone, Item, .seq = i), 0);

    /* A burst of tells from outside, then stop at once. */
    for (int i = 0; i < 1000; i++) {
        SdMsg_ref to = {.raw = recs[i % (2 * TREE)].self};
        assert_int_equal(casty_tell(to, Item, .seq = i), 0);
    }
    uint64_t t0 = ct_now_ns();
    assert_int_equal(stop_sys(sys), 0);
    uint64_t took = ct_now_ns() - t0;
    if (took >= 4000 * MS * SLOW_FACTOR)
        fail_msg("casty_system_stop took %.0f ms on a system with nothing stuck",
                 (double)took / 1e6);

    for (int i = 0; i < 2 * TREE; i++)
        assert_int_equal(atomic_load(&recs[i].stop_count), 1);
    for (int i = 20; i <= 24; i++)
        assert_int_equal(atomic_load(&recs[i].stop_count), 1);

    uint64_t allocs1 = 0, frees1 = 0;
    casty__mem_stats(&allocs1, &frees1);
    uint64_t live0 = allocs0 - frees0, live1 = allocs1 - frees1;
    if (live1 != live0)
        fail_msg("%lld runtime blocks still allocated after the stop (%llu allocs, %llu frees)",
                 (long long)(live1 - live0), (unsigned long long)(allocs1 - allocs0),
                 (unsigned long long)(frees1 - frees0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_refuses_spawns_and_finishes_message_in_hand,
                                        setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_children_stop_before_parents_across_shards, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_grace_stop_waits_for_the_behaviour_in_hand, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_grace_stop_waits_for_a_slow_stop_hook, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_grace_expiry_stops_parent_without_waiting_for_child,
                                        setup_each, teardown_each),
        cmocka_unit_test_setup_teardown(test_stop_from_a_shard_is_refused, setup_each,
                                        teardown_each),
        cmocka_unit_test_setup_teardown(test_busy_system_stops_clean, setup_each, teardown_each),
    };
    /* CASTY_TEST_FILTER=pattern runs only the matching tests (cmocka wildcards). */
    const char *filter = getenv("CASTY_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests_name("integration/shutdown", tests, NULL, NULL);
}
