/*
 * A cache actor with two expiry policies, both driven by scheduled messages:
 *
 *   - time to live: Put with a TTL schedules an Expire message for that entry
 *     (casty_schedule_once). Overwriting or deleting the entry cancels the
 *     timer (casty_cancel), and a version number discards an Expire that was
 *     already on its way when the timer was cancelled.
 *   - time to idle: a periodic Sweep (casty_schedule_every, every 50 ms)
 *     evicts the entries nobody has read for 300 ms. One timer for the whole
 *     cache instead of re-arming one per read.
 *
 * Both timers belong to the cache actor (scheduled inside its behaviour), so
 * they are cancelled when it stops.
 *
 * Expected output:
 *   put session=1 (ttl 100 ms), config=2 (no ttl), temp=3 (ttl 10 s)
 *   get session -> 1, get config -> 2
 *   delete temp -> ok, its pending TTL timer cancelled
 *   get temp -> ENOENT
 *   put session=10 -> its old TTL timer cancelled, a new one started
 *   get session -> ENOENT: expired by its TTL timer
 *   get config -> 2 (reading it keeps it alive)
 *   config evicted by the periodic sweep after 300 ms without reads
 *   stats: 0 live, 1 expired, 1 evicted, 1 deleted
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define ENTRIES  16
#define IDLE_MS  300
#define SWEEP_MS 50

typedef struct {
    char s[16];
} Key;

typedef struct {
    int live, expired, evicted, deleted;
} CacheStats;

CASTY_MESSAGE(Put, Key key; int value; int ttl_ms);
CASTY_MESSAGE(Get, Key key);
CASTY_MESSAGE(Delete, Key key);
CASTY_MESSAGE(GetStats);
CASTY_MESSAGE(Expire, int slot; uint32_t version); /* from an entry's TTL timer */
CASTY_MESSAGE(Sweep);                              /* from the periodic sweep */
CASTY_PROTOCOL(CacheMsg, Put, Get, Delete, GetStats, Expire, Sweep);

typedef struct {
    bool used;
    Key key;
    int value;
    uint32_t version; /* bumped by every Put of this slot */
    bool timed;       /* a TTL timer is pending */
    casty_ref timer;  /* its cancel handle */
    uint64_t last_read_ns;
} Entry;

typedef struct {
    Entry e[ENTRIES];
    CacheStats stats;
} Cache;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static CacheMsg_ref self_ref(casty_ctx *ctx)
{
    return (CacheMsg_ref){.raw = casty_self(ctx)};
}

static int cache_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)state;
    (void)arg;
    (void)len;
    /* The handle is not needed: the sweep lives as long as the cache. */
    return casty_schedule_every(casty_ctx_system(ctx), NULL, self_ref(ctx), SWEEP_MS, Sweep);
}

static int find(const Cache *self, const Key *k)
{
    for (int i = 0; i < ENTRIES; i++)
        if (self->e[i].used && strcmp(self->e[i].key.s, k->s) == 0)
            return i;
    return -1;
}

/* Cancel the entry's TTL timer if one is pending; 1 if it was, 0 if not, or an error. */
static int cancel_ttl(Entry *e)
{
    if (!e->timed)
        return 0;
    e->timed = false;
    int rc = casty_cancel(e->timer);
    /* -ENOENT: it fired already and its Expire is queued; the version check drops it. */
    return rc == -ENOENT ? 0 : rc == 0 ? 1 : rc;
}

/* Remove an entry: the caller has dealt with its timer. */
static void drop(Cache *self, int i)
{
    self->e[i].used = false;
    self->e[i].version++; /* any Expire still queued for this slot is now stale */
}

static int on_put(casty_ctx *ctx, Cache *self, const Put *p)
{
    int i = find(self, &p->key);
    int cancelled = 0;
    if (i >= 0) {
        cancelled = cancel_ttl(&self->e[i]);
        if (cancelled < 0)
            return cancelled;
    } else {
        for (i = 0; i < ENTRIES && self->e[i].used; i++) {
        }
        if (i == ENTRIES)
            return casty_reply_error(ctx, -ENOSPC);
    }
    Entry *e = &self->e[i];
    e->used = true;
    e->key = p->key;
    e->value = p->value;
    e->version++;
    e->last_read_ns = now_ns();
    if (p->ttl_ms > 0) {
        int rc = casty_schedule_once(casty_ctx_system(ctx), &e->timer, self_ref(ctx),
                                     (uint32_t)p->ttl_ms, Expire, .slot = i, .version = e->version);
        if (rc < 0)
            return rc;
        e->timed = true;
    }
    return casty_reply(ctx, int, cancelled);
}

/* Evict what nobody has read for IDLE_MS. */
static int on_sweep(Cache *self)
{
    uint64_t now = now_ns();
    for (int i = 0; i < ENTRIES; i++) {
        Entry *e = &self->e[i];
        if (!e->used || now - e->last_read_ns < (uint64_t)IDLE_MS * 1000000u)
            continue;
        int rc = cancel_ttl(e);
        if (rc < 0)
            return rc;
        drop(self, i);
        self->stats.evicted++;
    }
    return 0;
}

static int cache(casty_ctx *ctx, Cache *self, const casty_msg *msg)
{
    switch ((enum CacheMsg_type)casty_type(msg)) {
    case CASTY_ID(Put):
        return on_put(ctx, self, CASTY_AS(msg, Put));
    case CASTY_ID(Get): {
        int i = find(self, &CASTY_AS(msg, Get)->key);
        if (i < 0)
            return casty_reply_error(ctx, -ENOENT);
        self->e[i].last_read_ns = now_ns();
        return casty_reply(ctx, int, self->e[i].value);
    }
    case CASTY_ID(Delete): {
        int i = find(self, &CASTY_AS(msg, Delete)->key);
        if (i < 0)
            return casty_reply_error(ctx, -ENOENT);
        int cancelled = cancel_ttl(&self->e[i]);
        if (cancelled < 0)
            return cancelled;
        drop(self, i);
        self->stats.deleted++;
        return casty_reply(ctx, int, cancelled);
    }
    case CASTY_ID(GetStats): {
        CacheStats st = self->stats;
        for (int i = 0; i < ENTRIES; i++)
            st.live += self->e[i].used;
        return casty_reply(ctx, CacheStats, st);
    }
    case CASTY_ID(Expire): {
        const Expire *x = CASTY_AS(msg, Expire);
        Entry *e = &self->e[x->slot];
        if (!e->used || e->version != x->version)
            return 0; /* overwritten or deleted since: a stale timer */
        e->timed = false;
        drop(self, x->slot);
        self->stats.expired++;
        return 0;
    }
    case CASTY_ID(Sweep):
        return on_sweep(self);
    }
    return 0;
}
CASTY_ACTOR(cache_actor, CacheMsg, Cache, cache, .init = cache_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

static Key key(const char *s)
{
    Key k = {{0}};
    snprintf(k.s, sizeof(k.s), "%s", s);
    return k;
}

static int put(CacheMsg_ref c, const char *k, int v, int ttl_ms)
{
    int cancelled = 0;
    check(casty_ask_timeout(c, &cancelled, 1000, Put, .key = key(k), .value = v, .ttl_ms = ttl_ms),
          "put");
    return cancelled;
}

/* The value, or the error (-ENOENT for a missing key). */
static int get(CacheMsg_ref c, const char *k, int *v)
{
    return casty_ask_timeout(c, v, 1000, Get, .key = key(k));
}

static CacheStats stats(CacheMsg_ref c)
{
    CacheStats st;
    check(casty_ask_timeout(c, &st, 1000, GetStats), "stats");
    return st;
}

static void pause_ms(int ms)
{
    nanosleep(&(struct timespec){.tv_nsec = ms * 1000L * 1000L}, NULL);
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");
    CacheMsg_ref c;
    check(casty_spawn(sys, &c, cache_actor, "cache"), "spawn cache");

    put(c, "session", 1, 100);
    put(c, "config", 2, 0);
    put(c, "temp", 3, 10000);
    printf("put session=1 (ttl 100 ms), config=2 (no ttl), temp=3 (ttl 10 s)\n");

    int v1 = 0, v2 = 0;
    check(get(c, "session", &v1), "get session");
    check(get(c, "config", &v2), "get config");
    printf("get session -> %d, get config -> %d\n", v1, v2);

    int cancelled = 0;
    check(casty_ask_timeout(c, &cancelled, 1000, Delete, .key = key("temp")), "delete");
    printf("delete temp -> ok, %s\n",
           cancelled ? "its pending TTL timer cancelled" : "no timer was pending");
    printf("get temp -> %s\n", casty_err_name(get(c, "temp", &v1)));

    cancelled = put(c, "session", 10, 100);
    printf("put session=10 -> %s\n", cancelled ? "its old TTL timer cancelled, a new one started"
                                               : "the old timer had fired already");

    /* The TTL fires on its own: poll, with a deadline. */
    int rc = 0;
    for (int i = 0; i < 2000 && (rc = get(c, "session", &v1)) == 0; i++)
        pause_ms(1);
    printf("get session -> %s: expired by its TTL timer\n", casty_err_name(rc));

    check(get(c, "config", &v2), "get config");
    printf("get config -> %d (reading it keeps it alive)\n", v2);

    /* Now leave config alone (a Get would count as a read): watch the stats instead. */
    for (int i = 0; i < 2000 && stats(c).evicted == 0; i++)
        pause_ms(1);
    printf("config evicted by the periodic sweep after %d ms without reads\n", IDLE_MS);

    CacheStats st = stats(c);
    printf("stats: %d live, %d expired, %d evicted, %d deleted\n", st.live, st.expired, st.evicted,
           st.deleted);

    check(casty_system_stop(sys), "stop");
    return 0;
}
