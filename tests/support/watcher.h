/*
 * A watcher actor shared by the lifecycle tests: it watches what it is asked
 * to and records every Terminated it receives (up to CT_MAX_TERMS), so that a
 * test can check exactly-once delivery, the reason and the error. Include
 * after support/casty_test.h.
 */
#ifndef CASTY_TEST_WATCHER_H
#define CASTY_TEST_WATCHER_H

#include <string.h>

CASTY_MESSAGE(Watch, casty_ref target);
CASTY_MESSAGE(Report);
CASTY_PROTOCOL(WatcherMsg, Watch, Report);

#define CT_MAX_TERMS 16
typedef struct {
    int count;
    int bad_len; /* Terminated messages of the wrong size */
    casty_terminated t[CT_MAX_TERMS];
} Terms;

typedef struct {
    Terms terms;
} Watcher;

static int watcher(casty_ctx *ctx, Watcher *self, const casty_msg *msg)
{
    const casty_terminated *t = casty_as_terminated(msg);
    if (t) {
        if (msg->len != sizeof(casty_terminated))
            self->terms.bad_len++;
        if (self->terms.count < CT_MAX_TERMS)
            self->terms.t[self->terms.count] = *t;
        self->terms.count++;
        return 0;
    }
    switch ((enum WatcherMsg_type)casty_type(msg)) {
    case CASTY_ID(Watch):
        return casty_reply(ctx, int, casty_watch(ctx, CASTY_AS(msg, Watch)->target));
    case CASTY_ID(Report):
        return casty_reply(ctx, Terms, self->terms);
    }
    return 0;
}
CASTY_ACTOR(watcher_actor, WatcherMsg, Watcher, watcher);

static inline void watch_ok(WatcherMsg_ref w, casty_ref target)
{
    int rc = 1;
    assert_int_equal(casty_ask_timeout(w, &rc, CT_ASK_MS, Watch, .target = target), 0);
    assert_int_equal(rc, 0);
}

static inline Terms report(WatcherMsg_ref w)
{
    Terms t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(casty_ask_timeout(w, &t, CT_ASK_MS, Report), 0);
    return t;
}

struct terms_wait {
    WatcherMsg_ref w;
    int n;
    Terms t;
};

static inline int terms_reached(void *arg)
{
    struct terms_wait *tw = arg;
    tw->t = report(tw->w);
    return tw->t.count >= tw->n;
}

/* Wait for `n` Terminated at `w`, then a little longer to catch extra ones: exactly n. */
static inline Terms wait_terms(WatcherMsg_ref w, int n)
{
    struct terms_wait tw = {.w = w, .n = n};
    if (!ct_wait_until(terms_reached, &tw, CT_WAIT_MS))
        fail_msg("watcher got %d Terminated, expected %d", tw.t.count, n);
    ct_sleep_ms(CT_SETTLE_MS);
    Terms t = report(w);
    if (t.count != n)
        fail_msg("watcher got %d Terminated, expected exactly %d", t.count, n);
    assert_int_equal(t.bad_len, 0);
    return t;
}

/* The Terminated recorded for `actor`, or NULL. */
static inline const casty_terminated *term_for(const Terms *t, casty_ref actor)
{
    for (int i = 0; i < t->count && i < CT_MAX_TERMS; i++)
        if (casty_ref_eq(t->t[i].actor, actor))
            return &t->t[i];
    return NULL;
}

#endif
