/*
 * Sessions: one actor per logged-in user, created on login and passivated
 * (stopped) after a while without activity.
 *
 * Login is casty_spawn by name, "session/<user>": spawn is get-or-create, so
 * logging in twice finds the live session instead of making a second one, and
 * no registry of sessions is needed besides the system's own names. Each
 * request touches the session. A periodic IdleCheck (every 25 ms, scheduled
 * by the session itself, so it dies with it) stops the session with
 * casty_stop_self() once it has been idle for 100 ms; its stop hook is the
 * place to save what must survive. The name is then free, and the next login
 * creates a fresh session.
 *
 * Expected output:
 *   login alice -> new session
 *   login bob -> new session
 *   alice: 3 requests
 *   login alice again -> the same session (get-or-create), 3 requests so far
 *   -- alice clicks every 20 ms, bob does nothing
 *   session bob: passivated after 100 ms idle, 0 requests
 *   bob's session is gone (lookup: ENOENT), alice's is alive with 13 requests
 *   -- alice goes quiet
 *   session alice: passivated after 100 ms idle, 13 requests
 *   login alice -> new session, 0 requests so far
 *   session alice: closed by the shutdown, 0 requests
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define IDLE_MS  100
#define CHECK_MS 25

typedef struct {
    char s[16];
} UserName;

CASTY_MESSAGE(Request, int page);
CASTY_MESSAGE(Requests);
CASTY_MESSAGE(IdleCheck); /* from the session's own periodic timer */
CASTY_PROTOCOL(SessionMsg, Request, Requests, IdleCheck);

typedef struct {
    UserName user;
    int requests;
    uint64_t last_active_ns;
    bool idle; /* stopping because idle (else: the system is shutting down) */
} Session;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int session_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    Session *self = state;
    if (len != sizeof(UserName))
        return -EINVAL;
    memcpy(&self->user, arg, len);
    self->last_active_ns = now_ns();
    /* Owned by this actor: cancelled for us when it stops. */
    SessionMsg_ref me = {.raw = casty_self(ctx)};
    return casty_schedule_every(casty_ctx_system(ctx), NULL, me, CHECK_MS, IdleCheck);
}

static void session_stop(casty_ctx *ctx, void *state)
{
    (void)ctx;
    const Session *self = state;
    /* A real session would save itself here (a cart, a draft) for the next login. */
    if (self->idle)
        printf("session %s: passivated after %d ms idle, %d requests\n", self->user.s, IDLE_MS,
               self->requests);
    else
        printf("session %s: closed by the shutdown, %d requests\n", self->user.s, self->requests);
}

static int session(casty_ctx *ctx, Session *self, const casty_msg *msg)
{
    switch ((enum SessionMsg_type)casty_type(msg)) {
    case CASTY_ID(Request):
        self->requests++;
        self->last_active_ns = now_ns();
        return casty_reply(ctx, int, self->requests);
    case CASTY_ID(Requests):
        return casty_reply(ctx, int, self->requests);
    case CASTY_ID(IdleCheck):
        if (now_ns() - self->last_active_ns >= (uint64_t)IDLE_MS * 1000000u) {
            self->idle = true;
            casty_stop_self(ctx); /* after this message; the name is released after the hook */
        }
        return 0;
    }
    return 0;
}
CASTY_ACTOR(session_actor, SessionMsg, Session, session, .init = session_init,
            .stop = session_stop);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

/* Login: get the user's live session, or create one. */
static SessionMsg_ref login(casty_system *sys, const char *user)
{
    UserName u = {{0}};
    snprintf(u.s, sizeof(u.s), "%s", user);
    char name[32];
    snprintf(name, sizeof(name), "session/%s", user);
    SessionMsg_ref s;
    /* The arg is used only if the session is created now. */
    check(casty_spawn(sys, &s, session_actor, name, .arg = &u, .arg_len = sizeof(u)), "login");
    return s;
}

static int request(SessionMsg_ref s, int page)
{
    int n = 0;
    check(casty_ask_timeout(s, &n, 1000, Request, .page = page), "request");
    return n;
}

static int requests(SessionMsg_ref s)
{
    int n = 0;
    check(casty_ask_timeout(s, &n, 1000, Requests), "requests");
    return n;
}

static void pause_ms(int ms)
{
    nanosleep(&(struct timespec){.tv_nsec = ms * 1000L * 1000L}, NULL);
}

/* Passivation happens on the session's own timer: wait (with a deadline) for its name to go. */
static int wait_gone(casty_system *sys, const char *user)
{
    char name[32];
    snprintf(name, sizeof(name), "session/%s", user);
    int rc = 0;
    for (int i = 0; i < 5000; i++) {
        SessionMsg_ref s;
        rc = casty_lookup(sys, SessionMsg, &s, name);
        if (rc == -ENOENT)
            break;
        check(rc, "lookup");
        pause_ms(1);
    }
    return rc;
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    SessionMsg_ref alice = login(sys, "alice");
    printf("login alice -> new session\n");
    login(sys, "bob");
    printf("login bob -> new session\n");
    for (int page = 1; page <= 3; page++)
        request(alice, page);
    printf("alice: %d requests\n", requests(alice));

    SessionMsg_ref again = login(sys, "alice");
    printf("login alice again -> %s, %d requests so far\n",
           casty_ref_eq(again.raw, alice.raw) ? "the same session (get-or-create)" : "ANOTHER one",
           requests(again));

    printf("-- alice clicks every 20 ms, bob does nothing\n");
    for (int page = 4; page <= 13; page++) {
        pause_ms(20);
        request(alice, page);
    }
    int rc = wait_gone(sys, "bob");
    printf("bob's session is gone (lookup: %s), alice's is alive with %d requests\n",
           casty_err_name(rc), requests(alice));

    printf("-- alice goes quiet\n");
    check(wait_gone(sys, "alice") == -ENOENT ? 0 : -ETIMEDOUT, "alice's passivation");

    SessionMsg_ref fresh = login(sys, "alice");
    printf("login alice -> %s, %d requests so far\n",
           casty_ref_eq(fresh.raw, alice.raw) ? "the OLD session" : "new session", requests(fresh));

    check(casty_system_stop(sys), "stop");
    return 0;
}
