/*
 * Children and stopping through the public API: children are named
 * "parent/child" and found by lookup, may live on any shard (by name hash,
 * explicitly, or next to the parent), stop depth-first (every child's stop
 * hook runs before its parent's, across shards and three levels), stop with
 * their parent (a watcher hears PARENT_STOPPED), and a stop request is handled
 * in FIFO order with the messages sent before it (later ones are dead
 * letters). casty_stop_self() and casty_spawn_child() argument errors too.
 *
 * Actors report through atomics (a shared hook log) and through replies to
 * blocking asks from the test thread; every wait has a deadline.
 */
#include <stdatomic.h>
#include <string.h>

#include "support/casty_test.h"
#include "support/watcher.h"

/* SpawnKid.shard: a shard index, or one of these. */
#define KID_BY_HASH (-1)
#define KID_LOCAL   (-2)

#define MAX_TAGS 64

/* --- what the actors report --- */

/* The order in which stop hooks ran: (tag << 8) | (shard << 1) | 1, in run order. */
#define LOG_MAX 128
static _Atomic int g_log_n;
static _Atomic int g_log[LOG_MAX];
static _Atomic int g_stops[MAX_TAGS];  /* stop hooks run, per tag */
static _Atomic int g_inits[MAX_TAGS];  /* init hooks run, per tag */
static _Atomic long g_counted;         /* Count messages handled, all actors */
static _Atomic long g_counted_at_stop; /* the stopping actor's own count at its stop hook */
static _Atomic int g_gate_entered;     /* a Gate message is being handled */
static _Atomic int g_release;          /* lets a Gate message return */

static void reset_reports(void)
{
    atomic_store(&g_log_n, 0);
    for (int i = 0; i < LOG_MAX; i++)
        atomic_store(&g_log[i], 0);
    for (int i = 0; i < MAX_TAGS; i++) {
        atomic_store(&g_stops[i], 0);
        atomic_store(&g_inits[i], 0);
    }
    atomic_store(&g_counted, 0);
    atomic_store(&g_counted_at_stop, -1);
    atomic_store(&g_gate_entered, 0);
    atomic_store(&g_release, 0);
}

static void spin_ms(int ms)
{
    uint64_t end = ct_now_ns() + (uint64_t)ms * 1000000u;
    while (ct_now_ns() < end) {
    }
}

/* --- the tree node actor --- */

CASTY_MESSAGE(SpawnKid, char name[160]; int tag; int shard; int slow_stop_ms; bool exclusive);
CASTY_MESSAGE(SpawnBad, int which);
CASTY_MESSAGE(Where);
CASTY_MESSAGE(SelfRef);
CASTY_MESSAGE(Quit);
CASTY_MESSAGE(Count);
CASTY_MESSAGE(Gate);
CASTY_MESSAGE(QuitThenSpawn);
CASTY_PROTOCOL(NodeMsg, SpawnKid, SpawnBad, Where, SelfRef, Quit, Count, Gate, QuitThenSpawn);

typedef struct {
    int tag;
    int slow_stop_ms; /* busy time in the stop hook before it logs */
    int init_kid_tag; /* non-zero: the init hook spawns child "init-kid" with this tag */
} NodeArg;

typedef struct {
    int tag;
    int slow_stop_ms;
    long counted;
} Node;

typedef struct {
    int32_t rc;
    int32_t pad;
    casty_ref ref;
} KidReply;

static int node(casty_ctx *ctx, Node *self, const casty_msg *msg);

static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len);

static void node_stop(casty_ctx *ctx, void *state)
{
    Node *self = state;
    /* A slow hook: a parent that does not wait for it would log first. */
    spin_ms(self->slow_stop_ms);
    atomic_store(&g_counted_at_stop, self->counted);
    int i = atomic_fetch_add(&g_log_n, 1);
    if (i < LOG_MAX)
        atomic_store(&g_log[i], (self->tag << 8) | ((int)casty_ctx_shard(ctx) << 1) | 1);
    if (self->tag >= 0 && self->tag < MAX_TAGS)
        atomic_fetch_add(&g_stops[self->tag], 1);
}

CASTY_ACTOR(node_actor, NodeMsg, Node, node, .init = node_init, .stop = node_stop);

static int node_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Node *self = state;
    NodeArg a = {0};
    if (arg && len == sizeof(NodeArg))
        memcpy(&a, arg, sizeof(a));
    self->tag = a.tag;
    self->slow_stop_ms = a.slow_stop_ms;
    if (self->tag >= 0 && self->tag < MAX_TAGS)
        atomic_fetch_add(&g_inits[self->tag], 1);
    if (a.init_kid_tag) {
        /* Children may be spawned from the init hook too. */
        NodeArg k = {.tag = a.init_kid_tag, .slow_stop_ms = 20};
        casty_ref kid;
        return casty_spawn_child_raw(ctx, &kid, &node_actor, "init-kid",
                                     &(casty_spawn_opts){.arg = &k, .arg_len = sizeof(k)});
    }
    return 0;
}

static int spawn_kid_here(casty_ctx *ctx, const SpawnKid *k)
{
    NodeArg a = {.tag = k->tag, .slow_stop_ms = k->slow_stop_ms};
    casty_spawn_opts o = {.exclusive = k->exclusive, .arg = &a, .arg_len = sizeof(a)};
    if (k->shard >= 0) {
        o.placement = CASTY_PLACE_SHARD;
        o.shard = (uint32_t)k->shard;
    } else if (k->shard == KID_LOCAL) {
        o.placement = CASTY_PLACE_LOCAL;
    }
    casty_ref kid = CASTY_REF_NULL;
    int rc = casty_spawn_child_raw(ctx, &kid, &node_actor, k->name, &o);
    return casty_reply(ctx, KidReply, ((KidReply){.rc = rc, .ref = kid}));
}

/* Argument errors of casty_spawn_child_raw(), called where it is allowed: in a behaviour. */
static int spawn_bad(casty_ctx *ctx, int which)
{
    casty_ref kid;
    int rc = 0;
    switch (which) {
    case 0:
        rc = casty_spawn_child_raw(ctx, NULL, &node_actor, "bad", NULL);
        break;
    case 1:
        rc = casty_spawn_child_raw(ctx, &kid, NULL, "bad", NULL);
        break;
    case 2:
        rc = casty_spawn_child_raw(NULL, &kid, &node_actor, "bad", NULL);
        break;
    case 3:
        rc = casty_spawn_child_raw(ctx, &kid, &node_actor, "", NULL);
        break;
    case 4:
        rc =
            casty_spawn_child_raw(ctx, &kid, &node_actor, "bad",
                                  &(casty_spawn_opts){.placement = CASTY_PLACE_SHARD, .shard = 99});
        break;
    default:
        rc = -EPROTO;
        break;
    }
    return casty_reply(ctx, int, rc);
}

static int node(casty_ctx *ctx, Node *self, const casty_msg *msg)
{
    switch ((enum NodeMsg_type)casty_type(msg)) {
    case CASTY_ID(SpawnKid):
        return spawn_kid_here(ctx, CASTY_AS(msg, SpawnKid));
    case CASTY_ID(SpawnBad):
        return spawn_bad(ctx, CASTY_AS(msg, SpawnBad)->which);
    case CASTY_ID(Where):
        return casty_reply(ctx, int, (int)casty_ctx_shard(ctx));
    case CASTY_ID(SelfRef):
        return casty_reply(ctx, casty_ref, casty_self(ctx));
    case CASTY_ID(Quit):
        casty_stop_self(ctx);
        /* Still inside the message: the reply goes out, the stop follows. */
        if (msg->flags & CASTY_MSG_ASK)
            return casty_reply(ctx, int, self->tag);
        return 0;
    case CASTY_ID(Count):
        self->counted++;
        atomic_fetch_add(&g_counted, 1);
        return 0;
    case CASTY_ID(Gate): {
        atomic_store(&g_gate_entered, 1);
        uint64_t end = ct_now_ns() + (uint64_t)CT_WAIT_MS * 1000000u;
        while (!atomic_load(&g_release) && ct_now_ns() < end) {
        }
        return 0;
    }
    case CASTY_ID(QuitThenSpawn): {
        casty_stop_self(ctx);
        casty_ref kid;
        int rc = casty_spawn_child_raw(ctx, &kid, &node_actor, "late", NULL);
        return casty_reply(ctx, int, rc);
    }
    }
    return 0;
}

/* --- a watcher that keeps every Terminated it receives --- */

/* --- test-thread helpers --- */

static NodeMsg_ref spawn_node(casty_system *sys, const char *name, int tag, int shard)
{
    NodeArg a = {.tag = tag};
    NodeMsg_ref r;
    casty_spawn_opts o = {.arg = &a, .arg_len = sizeof(a)};
    if (shard >= 0) {
        o.placement = CASTY_PLACE_SHARD;
        o.shard = (uint32_t)shard;
    }
    assert_int_equal(casty_spawn_raw(sys, &r.raw, &node_actor, name, &o), 0);
    return r;
}

static KidReply spawn_kid(NodeMsg_ref parent, const char *name, int tag, int shard, int slow_ms,
                          bool exclusive)
{
    SpawnKid m;
    memset(&m, 0, sizeof(m));
    if (name) {
        assert_true(strlen(name) < sizeof(m.name));
        strcpy(m.name, name);
    }
    m.tag = tag;
    m.shard = shard;
    m.slow_stop_ms = slow_ms;
    m.exclusive = exclusive;
    KidReply out = {.rc = 1};
    assert_int_equal(casty_ask_raw(parent.raw, CASTY_ID(SpawnKid), &m, sizeof(m), &out, sizeof(out),
                                   &(casty_ask_opts){.timeout_ms = CT_ASK_MS}),
                     0);
    return out;
}

/* Spawn a child that must succeed; returns its ref. */
static NodeMsg_ref kid_ok(NodeMsg_ref parent, const char *name, int tag, int shard, int slow_ms)
{
    KidReply k = spawn_kid(parent, name, tag, shard, slow_ms, false);
    assert_int_equal(k.rc, 0);
    assert_false(casty_ref_is_null(k.ref));
    return (NodeMsg_ref){.raw = k.ref};
}

static int where(NodeMsg_ref r)
{
    int shard = -1;
    assert_int_equal(casty_ask_timeout(r, &shard, CT_ASK_MS, Where), 0);
    return shard;
}

static NodeMsg_ref lookup_ok(casty_system *sys, const char *name)
{
    NodeMsg_ref r;
    assert_int_equal(casty_lookup(sys, NodeMsg, &r, name), 0);
    return r;
}

/* Position in the stop-hook log of `tag`'s entry, -1 if absent; checks its shard. */
static int log_pos(int tag, int shard)
{
    int n = atomic_load(&g_log_n);
    int found = -1;
    for (int i = 0; i < n && i < LOG_MAX; i++) {
        int v = atomic_load(&g_log[i]);
        if ((v >> 8) != tag)
            continue;
        assert_int_equal(found, -1); /* one stop hook per actor */
        found = i;
        if (shard >= 0)
            assert_int_equal((v >> 1) & 0x7f, shard);
    }
    return found;
}

static uint64_t dead_stopped(casty_system *sys)
{
    return ct_stats(sys).dead_by_reason[CASTY_DEAD_STOPPED];
}

struct dead_wait {
    casty_system *sys;
    uint64_t n;
};

static int dead_reached(void *arg)
{
    struct dead_wait *w = arg;
    return dead_stopped(w->sys) >= w->n;
}

struct live_wait {
    casty_system *sys;
    uint64_t n;
};

static int live_is(void *arg)
{
    struct live_wait *w = arg;
    return ct_stats(w->sys).actors_live == w->n;
}

/* --- naming --- */

static void test_child_is_named_parent_slash_child(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeMsg_ref parent = spawn_node(sys, "parent", 1, 0);
    NodeMsg_ref child = kid_ok(parent, "child", 2, KID_BY_HASH, 0);

    NodeMsg_ref found = lookup_ok(sys, "parent/child");
    assert_true(casty_ref_eq(found.raw, child.raw));
    casty_ref self = CASTY_REF_NULL;
    assert_int_equal(casty_ask_timeout(found, &self, CT_ASK_MS, SelfRef), 0);
    assert_true(casty_ref_eq(self, child.raw));
    assert_int_equal(atomic_load(&g_inits[2]), 1);

    /* The short name alone names nothing. */
    NodeMsg_ref none;
    assert_int_equal(casty_lookup(sys, NodeMsg, &none, "child"), -ENOENT);

    /* Three levels: the grandchild's name carries the whole path. */
    NodeMsg_ref grand = kid_ok(child, "grand", 3, KID_BY_HASH, 0);
    found = lookup_ok(sys, "parent/child/grand");
    assert_true(casty_ref_eq(found.raw, grand.raw));
    assert_int_equal(casty_lookup(sys, NodeMsg, &none, "child/grand"), -ENOENT);

    /* Get-or-create applies to children; exclusive creation refuses a live name. */
    KidReply again = spawn_kid(parent, "child", 4, KID_BY_HASH, 0, false);
    assert_int_equal(again.rc, 0);
    assert_true(casty_ref_eq(again.ref, child.raw));
    KidReply excl = spawn_kid(parent, "child", 4, KID_BY_HASH, 0, true);
    assert_int_equal(excl.rc, -EEXIST);
    assert_int_equal(atomic_load(&g_inits[4]), 0);

    /* Different parents may use the same child name. */
    NodeMsg_ref other = spawn_node(sys, "other", 5, 1);
    NodeMsg_ref cousin = kid_ok(other, "child", 6, KID_BY_HASH, 0);
    assert_false(casty_ref_eq(cousin.raw, child.raw));
    found = lookup_ok(sys, "other/child");
    assert_true(casty_ref_eq(found.raw, cousin.raw));
    ct_stop(sys);
}

static void test_anonymous_parents_get_distinct_prefixes(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeMsg_ref a = spawn_node(sys, NULL, 1, 0);
    NodeMsg_ref b = spawn_node(sys, NULL, 2, 1);
    KidReply ka = spawn_kid(a, "kid", 3, KID_BY_HASH, 0, true);
    KidReply kb = spawn_kid(b, "kid", 4, KID_BY_HASH, 0, true);
    /* A shared prefix would make the second exclusive spawn fail with -EEXIST. */
    assert_int_equal(ka.rc, 0);
    assert_int_equal(kb.rc, 0);
    assert_false(casty_ref_eq(ka.ref, kb.ref));
    assert_true(where((NodeMsg_ref){.raw = ka.ref}) >= 0);
    assert_true(where((NodeMsg_ref){.raw = kb.ref}) >= 0);
    assert_true(ct_wait_int(&g_inits[3], 1));
    assert_true(ct_wait_int(&g_inits[4], 1));
    ct_stop(sys);
}

static int init_kid_registered(void *arg)
{
    NodeMsg_ref r;
    return casty_lookup((casty_system *)arg, NodeMsg, &r, "init-parent/init-kid") == 0;
}

static void test_child_spawned_from_init_hook(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeArg a = {.tag = 1, .init_kid_tag = 2};
    NodeMsg_ref p;
    assert_int_equal(casty_spawn(sys, &p, node_actor, "init-parent", .placement = CASTY_PLACE_SHARD,
                                 .shard = 1, .arg = &a, .arg_len = sizeof(a)),
                     0);
    assert_true(ct_wait_until(init_kid_registered, sys, CT_WAIT_MS));
    NodeMsg_ref kid = lookup_ok(sys, "init-parent/init-kid");
    assert_true(where(kid) >= 0);
    assert_int_equal(atomic_load(&g_inits[1]), 1);
    assert_int_equal(atomic_load(&g_inits[2]), 1);
    /* It is a real child: it stops first when the parent stops. */
    assert_int_equal(casty_stop(p), 0);
    assert_true(ct_wait_int(&g_stops[1], 1));
    assert_int_equal(atomic_load(&g_stops[2]), 1);
    assert_true(log_pos(2, -1) < log_pos(1, 1));
    ct_wait_name_gone(sys, "init-parent/init-kid");
    ct_stop(sys);
}

/* --- placement --- */

static void test_child_placement_on_any_shard(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    for (int home = 0; home < 2; home++) {
        char name[32];
        snprintf(name, sizeof(name), "home-%d", home);
        NodeMsg_ref parent = spawn_node(sys, name, 1 + home, home);
        assert_int_equal(where(parent), home);

        /* Explicitly on the other shard, found by name and reachable there. */
        NodeMsg_ref away = kid_ok(parent, "away", 10 + home, 1 - home, 0);
        assert_int_equal(where(away), 1 - home);
        char full[64];
        snprintf(full, sizeof(full), "home-%d/away", home);
        assert_int_equal(where(lookup_ok(sys, full)), 1 - home);

        /* Next to the parent. */
        NodeMsg_ref near = kid_ok(parent, "near", 20 + home, KID_LOCAL, 0);
        assert_int_equal(where(near), home);
    }

    /* By name hash: a parent on shard 0 gets children on both shards. */
    NodeMsg_ref hub = spawn_node(sys, "hub", 30, 0);
    int on[2] = {0, 0};
    for (int i = 0; i < 32; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "k%d", i);
        int s = where(kid_ok(hub, kid, 31, KID_BY_HASH, 0));
        assert_true(s == 0 || s == 1);
        on[s]++;
    }
    assert_true(on[0] > 0);
    assert_true(on[1] > 0);
    ct_stop(sys);
}

/* --- stop ordering --- */

/*
 * root(0) ─┬─ a(1) ─┬─ x(0)
 *          │        └─ y(1)
 *          └─ b(0) ─── z(1)
 * Tags 1..6 = root, a, b, x, y, z; shards in parentheses.
 */
static const int tree_parent[7] = {0, 0, 1, 1, 2, 2, 3};
static const int tree_shard[7] = {0, 0, 1, 0, 0, 1, 1};

static void build_tree(casty_system *sys, const char *root_name, NodeMsg_ref *root)
{
    *root = spawn_node(sys, root_name, 1, tree_shard[1]);
    /* Slow stop hooks below the root: a parent that does not wait for them logs first. */
    NodeMsg_ref a = kid_ok(*root, "a", 2, tree_shard[2], 15);
    NodeMsg_ref b = kid_ok(*root, "b", 3, tree_shard[3], 15);
    kid_ok(a, "x", 4, tree_shard[4], 25);
    kid_ok(a, "y", 5, tree_shard[5], 25);
    kid_ok(b, "z", 6, tree_shard[6], 25);
    for (int tag = 1; tag <= 6; tag++)
        assert_true(ct_wait_int(&g_inits[tag], 1));
}

static void check_depth_first(void)
{
    assert_true(ct_wait_int(&g_log_n, 6));
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(atomic_load(&g_log_n), 6);
    int pos[7];
    for (int tag = 1; tag <= 6; tag++) {
        pos[tag] = log_pos(tag, tree_shard[tag]);
        assert_true(pos[tag] >= 0);
        assert_int_equal(atomic_load(&g_stops[tag]), 1);
    }
    for (int tag = 2; tag <= 6; tag++) {
        int parent = tree_parent[tag];
        if (pos[tag] >= pos[parent])
            fail_msg("stop hook of tag %d (log position %d) ran after its parent %d's (%d)", tag,
                     pos[tag], parent, pos[parent]);
    }
}

static void test_stop_is_depth_first_across_shards(void **state)
{
    (void)state;
    static const char *const names[] = {"root",     "root/a",   "root/b",
                                        "root/a/x", "root/a/y", "root/b/z"};
    for (int variant = 0; variant < 2; variant++) {
        reset_reports();
        casty_system *sys = ct_start(2);
        uint64_t live0 = ct_stats(sys).actors_live;
        NodeMsg_ref root;
        build_tree(sys, "root", &root);
        for (int i = 0; i < 6; i++)
            assert_int_equal(where(lookup_ok(sys, names[i])), tree_shard[i + 1]);
        assert_int_equal(ct_stats(sys).actors_live, live0 + 6);
        if (variant == 0) {
            assert_int_equal(casty_stop(root), 0); /* a stop request */
        } else {
            int tag = 0; /* the behaviour stops itself */
            assert_int_equal(casty_ask_timeout(root, &tag, CT_ASK_MS, Quit), 0);
            assert_int_equal(tag, 1);
        }
        check_depth_first();
        for (int i = 0; i < 6; i++)
            ct_wait_name_gone(sys, names[i]);
        struct live_wait lw = {sys, live0};
        assert_true(ct_wait_until(live_is, &lw, CT_WAIT_MS));
        ct_stop(sys);
    }
}

static void test_parent_stop_tells_watchers_parent_stopped(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        reset_reports();
        casty_system *sys = ct_start(2);
        WatcherMsg_ref w;
        assert_int_equal(casty_spawn(sys, &w, watcher_actor, "watcher",
                                     .placement = CASTY_PLACE_SHARD, .shard = 1),
                         0);
        NodeMsg_ref p = spawn_node(sys, "p", 1, 0);
        NodeMsg_ref c = kid_ok(p, "c", 2, 1, 10);
        NodeMsg_ref g = kid_ok(c, "g", 3, 0, 10);
        watch_ok(w, p.raw);
        watch_ok(w, c.raw);
        watch_ok(w, g.raw);
        if (variant == 0) {
            assert_int_equal(casty_stop(p), 0);
        } else {
            int tag = 0;
            assert_int_equal(casty_ask_timeout(p, &tag, CT_ASK_MS, Quit), 0);
        }
        Terms t = wait_terms(w, 3);
        const casty_terminated *tp = term_for(&t, p.raw);
        const casty_terminated *tc = term_for(&t, c.raw);
        const casty_terminated *tg = term_for(&t, g.raw);
        assert_non_null(tp);
        assert_non_null(tc);
        assert_non_null(tg);
        assert_int_equal(tp->reason, CASTY_EXIT_STOPPED);
        assert_int_equal(tc->reason, CASTY_EXIT_PARENT_STOPPED);
        assert_int_equal(tg->reason, CASTY_EXIT_PARENT_STOPPED);
        assert_int_equal(tp->error, 0);
        assert_int_equal(tc->error, 0);
        assert_int_equal(tg->error, 0);
        /* The children are dead: their refs lead to dead letters, their names are free. */
        int shard;
        assert_int_equal(casty_ask_timeout(c, &shard, CT_ASK_MS, Where), -CASTY_EDEAD);
        ct_wait_name_gone(sys, "p/c");
        ct_wait_name_gone(sys, "p/c/g");
        assert_int_equal(atomic_load(&g_stops[2]), 1);
        assert_int_equal(atomic_load(&g_stops[3]), 1);
        ct_stop(sys);
    }
}

static void test_child_stop_leaves_parent_running(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeMsg_ref p = spawn_node(sys, "p", 1, 0);
    NodeMsg_ref c = kid_ok(p, "c", 2, 1, 0);
    assert_int_equal(casty_stop(c), 0);
    assert_true(ct_wait_int(&g_stops[2], 1));
    ct_wait_name_gone(sys, "p/c");
    assert_int_equal(where(p), 0);
    assert_int_equal(atomic_load(&g_stops[1]), 0);

    /* The name is free again; the new child belongs to the parent as the first did. */
    KidReply again = spawn_kid(p, "c", 3, 1, 0, true);
    assert_int_equal(again.rc, 0);
    assert_false(casty_ref_eq(again.ref, c.raw));
    assert_int_equal(where((NodeMsg_ref){.raw = again.ref}), 1);
    assert_int_equal(casty_stop(p), 0);
    assert_true(ct_wait_int(&g_stops[1], 1));
    assert_int_equal(atomic_load(&g_stops[3]), 1); /* before the parent's hook */
    assert_int_equal(atomic_load(&g_stops[2]), 1); /* the first child is not stopped twice */
    assert_true(log_pos(3, 1) < log_pos(1, 0));
    ct_stop(sys);
}

/* --- stop requests and stop_self --- */

static void test_stop_request_is_fifo(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    const int before = 200 / CASTY_TEST_SCALE;
    const int after = 50 / CASTY_TEST_SCALE;
    NodeMsg_ref r = spawn_node(sys, "fifo", 1, 1);
    assert_int_equal(where(r), 1);
    uint64_t dead0 = dead_stopped(sys);

    /* Hold the actor in a message so that everything below is queued before it runs on. */
    assert_int_equal(casty_tell(r, Gate), 0);
    assert_true(ct_wait_int(&g_gate_entered, 1));
    for (int i = 0; i < before; i++)
        assert_int_equal(casty_tell(r, Count), 0);
    assert_int_equal(casty_stop(r), 0);
    for (int i = 0; i < after; i++)
        assert_int_equal(casty_tell(r, Count), 0);
    atomic_store(&g_release, 1);

    assert_true(ct_wait_int(&g_stops[1], 1));
    struct dead_wait dw = {sys, dead0 + (uint64_t)after};
    assert_true(ct_wait_until(dead_reached, &dw, CT_WAIT_MS));
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(atomic_load(&g_counted), before);
    assert_int_equal(atomic_load(&g_counted_at_stop), before);
    assert_int_equal(dead_stopped(sys) - dead0, (uint64_t)after);
    assert_int_equal(atomic_load(&g_stops[1]), 1);
    ct_wait_name_gone(sys, "fifo");
    ct_stop(sys);
}

static void test_stop_request_survives_full_mailbox(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeArg a = {.tag = 1};
    NodeMsg_ref r;
    assert_int_equal(casty_spawn(sys, &r, node_actor, "tiny", .placement = CASTY_PLACE_SHARD,
                                 .shard = 1, .arg = &a, .arg_len = sizeof(a),
                                 .mailbox = {.capacity = 4, .policy = CASTY_MAILBOX_DROP_NEW}),
                     0);
    assert_int_equal(where(r), 1);
    assert_int_equal(casty_tell(r, Gate), 0);
    assert_true(ct_wait_int(&g_gate_entered, 1));
    for (int i = 0; i < 32; i++)
        assert_int_equal(casty_tell(r, Count), 0);
    assert_int_equal(casty_stop(r), 0);
    atomic_store(&g_release, 1);
    /* The stop request was not dropped: the actor stops, and every Count is accounted for. */
    assert_true(ct_wait_int(&g_stops[1], 1));
    ct_wait_name_gone(sys, "tiny");
    ct_sleep_ms(CT_SETTLE_MS);
    casty_stats st = ct_stats(sys);
    uint64_t counted = (uint64_t)atomic_load(&g_counted);
    uint64_t dropped = st.dead_by_reason[CASTY_DEAD_MAILBOX_FULL];
    uint64_t stale = st.dead_by_reason[CASTY_DEAD_STOPPED];
    if (counted + dropped + stale != 32)
        fail_msg("32 Counts: %lu handled, %lu dropped (full), %lu dead (stopped)",
                 (unsigned long)counted, (unsigned long)dropped, (unsigned long)stale);
    assert_int_equal(stale, 0); /* all were sent before the stop request */
    ct_stop(sys);
}

static void test_stop_self_after_current_message(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    const int before = 3, after = 5;
    NodeMsg_ref r = spawn_node(sys, "quitter", 7, 0);
    assert_int_equal(where(r), 0);
    uint64_t dead0 = dead_stopped(sys);

    assert_int_equal(casty_tell(r, Gate), 0);
    assert_true(ct_wait_int(&g_gate_entered, 1));
    for (int i = 0; i < before; i++)
        assert_int_equal(casty_tell(r, Count), 0);
    assert_int_equal(casty_tell(r, Quit), 0);
    for (int i = 0; i < after; i++)
        assert_int_equal(casty_tell(r, Count), 0);
    atomic_store(&g_release, 1);

    assert_true(ct_wait_int(&g_stops[7], 1));
    struct dead_wait dw = {sys, dead0 + (uint64_t)after};
    assert_true(ct_wait_until(dead_reached, &dw, CT_WAIT_MS));
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(atomic_load(&g_counted), before);
    assert_int_equal(dead_stopped(sys) - dead0, (uint64_t)after);
    assert_int_equal(atomic_load(&g_stops[7]), 1);
    ct_wait_name_gone(sys, "quitter");
    int shard;
    assert_int_equal(casty_ask_timeout(r, &shard, CT_ASK_MS, Where), -CASTY_EDEAD);

    /* The message that stops the actor is still answered. */
    NodeMsg_ref q = spawn_node(sys, "quitter-2", 8, 1);
    int tag = 0;
    assert_int_equal(casty_ask_timeout(q, &tag, CT_ASK_MS, Quit), 0);
    assert_int_equal(tag, 8);
    assert_true(ct_wait_int(&g_stops[8], 1));
    ct_wait_name_gone(sys, "quitter-2");
    ct_stop(sys);
}

/* --- spawn_child errors --- */

static void test_spawn_child_errors(void **state)
{
    (void)state;
    reset_reports();
    casty_system *sys = ct_start(2);
    NodeMsg_ref p = spawn_node(sys, "p", 1, 0);

    int rc = 1;
    assert_int_equal(casty_ask_timeout(p, &rc, CT_ASK_MS, SpawnBad, .which = 0), 0);
    assert_int_equal(rc, -EINVAL); /* NULL out */
    assert_int_equal(casty_ask_timeout(p, &rc, CT_ASK_MS, SpawnBad, .which = 1), 0);
    assert_int_equal(rc, -EINVAL); /* NULL def */
    assert_int_equal(casty_ask_timeout(p, &rc, CT_ASK_MS, SpawnBad, .which = 2), 0);
    assert_int_equal(rc, -EINVAL); /* NULL ctx */
    assert_int_equal(casty_ask_timeout(p, &rc, CT_ASK_MS, SpawnBad, .which = 3), 0);
    assert_int_equal(rc, -EINVAL); /* empty name */
    assert_int_equal(casty_ask_timeout(p, &rc, CT_ASK_MS, SpawnBad, .which = 4), 0);
    assert_int_equal(rc, -EINVAL); /* no such shard */
    /* From an outside thread there is no running actor. */
    casty_ref out;
    assert_int_equal(casty_spawn_child_raw(NULL, &out, &node_actor, "x", NULL), -EINVAL);

    /* The full name "p/<name>" counts: 2 + 125 = 127 fits, 2 + 126 does not. */
    char name[160];
    memset(name, 'n', sizeof(name));
    name[CASTY_NAME_MAX - 2] = '\0';
    KidReply k = spawn_kid(p, name, 2, KID_BY_HASH, 0, false);
    assert_int_equal(k.rc, 0);
    char full[sizeof(name) + 4];
    snprintf(full, sizeof(full), "p/%s", name);
    assert_int_equal(strlen(full), CASTY_NAME_MAX);
    assert_true(casty_ref_eq(lookup_ok(sys, full).raw, k.ref));
    memset(name, 'm', sizeof(name));
    name[CASTY_NAME_MAX - 1] = '\0';
    assert_int_equal(spawn_kid(p, name, 3, KID_BY_HASH, 0, false).rc, -ENAMETOOLONG);
    memset(name, 'o', sizeof(name));
    name[150] = '\0';
    assert_int_equal(spawn_kid(p, name, 3, KID_BY_HASH, 0, false).rc, -ENAMETOOLONG);
    ct_sleep_ms(CT_SETTLE_MS);
    assert_int_equal(atomic_load(&g_inits[3]), 0);

    /* A parent that is stopping spawns no more children. */
    NodeMsg_ref q = spawn_node(sys, "q", 4, 1);
    rc = 1;
    assert_int_equal(casty_ask_timeout(q, &rc, CT_ASK_MS, QuitThenSpawn), 0);
    assert_int_equal(rc, -ESHUTDOWN);
    assert_true(ct_wait_int(&g_stops[4], 1));
    ct_wait_name_gone(sys, "q");
    NodeMsg_ref none;
    assert_int_equal(casty_lookup(sys, NodeMsg, &none, "q/late"), -ENOENT);
    ct_stop(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_is_named_parent_slash_child),
        cmocka_unit_test(test_anonymous_parents_get_distinct_prefixes),
        cmocka_unit_test(test_child_spawned_from_init_hook),
        cmocka_unit_test(test_child_placement_on_any_shard),
        cmocka_unit_test(test_stop_is_depth_first_across_shards),
        cmocka_unit_test(test_parent_stop_tells_watchers_parent_stopped),
        cmocka_unit_test(test_child_stop_leaves_parent_running),
        cmocka_unit_test(test_stop_request_is_fifo),
        cmocka_unit_test(test_stop_request_survives_full_mailbox),
        cmocka_unit_test(test_stop_self_after_current_message),
        cmocka_unit_test(test_spawn_child_errors),
    };
    return cmocka_run_group_tests_name("integration/children", tests, NULL, NULL);
}
