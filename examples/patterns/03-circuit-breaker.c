/*
 * A circuit breaker in front of a flaky service.
 *
 *   CLOSED    calls go through; 3 failures in a row (an error reply or no
 *             answer within 50 ms) open the circuit.
 *   OPEN      calls are rejected at once, without bothering the service; a
 *             message scheduled 100 ms after opening moves to HALF_OPEN.
 *   HALF_OPEN one trial call goes through: success closes the circuit,
 *             failure opens it again for another 100 ms.
 *
 * The breaker calls the service with casty_ask_async_timeout, so a hung
 * service costs it a timeout message, never a blocked shard. It keeps its
 * caller's ref and answers it when the service's answer (or the timeout)
 * arrives. The breaker lets one call through at a time, which keeps the
 * example short; a real one would keep a small table of callers.
 *
 * Expected output:
 *   call 1: ok 1, circuit CLOSED
 *   call 2: ok 4, circuit CLOSED
 *   -- the service starts failing
 *   call 3: failed EIO, circuit CLOSED (1 of 3 failures)
 *   call 4: failed EIO, circuit CLOSED (2 of 3 failures)
 *   -- the service hangs
 *   call 5: failed ETIMEDOUT, circuit OPEN (3 of 3 failures)
 *   call 6: rejected at once, circuit OPEN
 *   call 7: rejected at once, circuit OPEN
 *   the service has seen 5 calls: 6 and 7 never reached it
 *   -- 100 ms later the breaker's scheduled message: circuit HALF_OPEN
 *   call 8: failed ETIMEDOUT, circuit OPEN (the trial failed)
 *   -- the service recovers
 *   -- 100 ms later: circuit HALF_OPEN
 *   call 9: ok 81, circuit CLOSED (the trial succeeded)
 *   call 10: ok 100, circuit CLOSED
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <casty/casty.h>

#define FAILURE_THRESHOLD 3
#define CALL_TIMEOUT_MS   50
#define OPEN_MS           100

/* --- the flaky service --- */

typedef enum { UP, FAILING, HANGING } Mode;

CASTY_MESSAGE(Call, int n);
CASTY_MESSAGE(SetMode, int mode);
CASTY_MESSAGE(CallsSeen);
CASTY_PROTOCOL(ServiceMsg, Call, SetMode, CallsSeen);

typedef struct {
    Mode mode;
    int calls;
} Service;

static int service(casty_ctx *ctx, Service *self, const casty_msg *msg)
{
    switch ((enum ServiceMsg_type)casty_type(msg)) {
    case CASTY_ID(Call): {
        self->calls++;
        int n = CASTY_AS(msg, Call)->n;
        switch (self->mode) {
        case UP: {
            int square = n * n;
            return casty_reply(ctx, int, square);
        }
        case FAILING:
            return casty_reply_error(ctx, -EIO);
        case HANGING:
            return 0; /* no answer: the caller's ask times out */
        }
        return 0;
    }
    case CASTY_ID(SetMode):
        self->mode = (Mode)CASTY_AS(msg, SetMode)->mode;
        return casty_reply(ctx, int, (int)self->mode);
    case CASTY_ID(CallsSeen):
        return casty_reply(ctx, int, self->calls);
    }
    return 0;
}
CASTY_ACTOR(service_actor, ServiceMsg, Service, service);

/* --- the breaker --- */

typedef enum { CLOSED, OPEN, HALF_OPEN } Circuit;
static const char *const circuit_names[] = {"CLOSED", "OPEN", "HALF_OPEN"};

/* The answer to a Request: outcome and the circuit after it. */
typedef struct {
    int rc; /* 0, the service's error, -ETIMEDOUT, or -ECANCELED (rejected while open) */
    int value;
    Circuit circuit;
    int failures;
    int trial; /* 1: this call was the half-open trial */
} Outcome;

CASTY_MESSAGE(Request, int n);
CASTY_MESSAGE(ServiceReply, int value); /* the reply type of the breaker's asks */
CASTY_MESSAGE(TryAgain);                /* scheduled when the circuit opens */
CASTY_MESSAGE(GetCircuit);
CASTY_PROTOCOL(BreakerMsg, Request, ServiceReply, TryAgain, GetCircuit);

typedef struct {
    ServiceMsg_ref service;
    Circuit circuit;
    int failures;
    int in_flight; /* a call is at the service */
    int trial;
    casty_ref caller; /* whom to answer when it comes back */
} Breaker;

static int breaker_init(casty_ctx *ctx, void *state, const void *arg, size_t len)
{
    (void)ctx;
    if (len != sizeof(ServiceMsg_ref))
        return -EINVAL;
    ((Breaker *)state)->service = *(const ServiceMsg_ref *)arg;
    return 0;
}

static int answer(casty_ref to, const Breaker *self, int rc, int value, int trial)
{
    Outcome o = {.rc = rc,
                 .value = value,
                 .circuit = self->circuit,
                 .failures = self->failures,
                 .trial = trial};
    return casty_tell_raw(to, CASTY_TYPE_REPLY, &o, sizeof(o), NULL);
}

static int open_circuit(casty_ctx *ctx, Breaker *self)
{
    self->circuit = OPEN;
    /* Owned by the breaker: if it stops, the pending TryAgain goes with it. */
    BreakerMsg_ref me = {.raw = casty_self(ctx)};
    return casty_schedule_once(casty_ctx_system(ctx), NULL, me, OPEN_MS, TryAgain);
}

static int on_request(casty_ctx *ctx, Breaker *self, int n)
{
    /* Open, or half-open with the trial already out: fail fast. */
    if (self->circuit == OPEN || self->in_flight)
        return answer(casty_sender(ctx), self, self->in_flight ? -EBUSY : -ECANCELED, 0, 0);
    self->trial = self->circuit == HALF_OPEN;
    self->caller = casty_sender(ctx);
    self->in_flight = 1;
    return casty_ask_async_timeout(ctx, self->service, ServiceReply, CALL_TIMEOUT_MS, Call, .n = n);
}

static int on_service_reply(casty_ctx *ctx, Breaker *self, const casty_msg *msg)
{
    int rc = casty_msg_status(msg);
    int value = rc == 0 && msg->len == sizeof(int) ? CASTY_AS(msg, ServiceReply)->value : 0;
    self->in_flight = 0;
    if (rc == 0) {
        self->failures = 0;
        self->circuit = CLOSED;
    } else {
        self->failures++;
        if (self->circuit == HALF_OPEN || self->failures >= FAILURE_THRESHOLD) {
            int src = open_circuit(ctx, self);
            if (src < 0)
                return src;
        }
    }
    return answer(self->caller, self, rc, value, self->trial);
}

static int breaker(casty_ctx *ctx, Breaker *self, const casty_msg *msg)
{
    switch ((enum BreakerMsg_type)casty_type(msg)) {
    case CASTY_ID(Request):
        return on_request(ctx, self, CASTY_AS(msg, Request)->n);
    case CASTY_ID(ServiceReply):
        return on_service_reply(ctx, self, msg);
    case CASTY_ID(TryAgain):
        if (self->circuit == OPEN)
            self->circuit = HALF_OPEN;
        return 0;
    case CASTY_ID(GetCircuit):
        return casty_reply(ctx, int, (int)self->circuit);
    }
    return 0;
}
CASTY_ACTOR(breaker_actor, BreakerMsg, Breaker, breaker, .init = breaker_init);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

/* EIO is the service's own error; Casty's map names only Casty's codes. */
static const char *err_name(int rc)
{
    return rc == -EIO ? "EIO" : casty_err_name(rc);
}

static void call(BreakerMsg_ref b, int n)
{
    Outcome o;
    check(casty_ask_timeout(b, &o, 5000, Request, .n = n), "request");
    const char *circuit = circuit_names[o.circuit];
    if (o.rc == 0)
        printf("call %d: ok %d, circuit %s%s\n", n, o.value, circuit,
               o.trial ? " (the trial succeeded)" : "");
    else if (o.rc == -ECANCELED)
        printf("call %d: rejected at once, circuit %s\n", n, circuit);
    else if (o.trial)
        printf("call %d: failed %s, circuit %s (the trial failed)\n", n, err_name(o.rc), circuit);
    else
        printf("call %d: failed %s, circuit %s (%d of %d failures)\n", n, err_name(o.rc), circuit,
               o.failures, FAILURE_THRESHOLD);
}

static void set_mode(ServiceMsg_ref s, Mode m, const char *what)
{
    int r;
    check(casty_ask_timeout(s, &r, 1000, SetMode, .mode = (int)m), "set mode");
    printf("-- %s\n", what);
}

/* The breaker changes state on its own timer: poll it, with a deadline. */
static Circuit wait_circuit(BreakerMsg_ref b, Circuit want)
{
    int c = -1;
    for (int i = 0; i < 5000; i++) {
        check(casty_ask_timeout(b, &c, 1000, GetCircuit), "circuit");
        if (c == (int)want)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    }
    return (Circuit)c;
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    ServiceMsg_ref svc;
    BreakerMsg_ref brk;
    check(casty_spawn(sys, &svc, service_actor, "service"), "spawn service");
    check(casty_spawn(sys, &brk, breaker_actor, "breaker", .arg = &svc, .arg_len = sizeof(svc)),
          "spawn breaker");

    call(brk, 1);
    call(brk, 2);
    set_mode(svc, FAILING, "the service starts failing");
    call(brk, 3);
    call(brk, 4);
    set_mode(svc, HANGING, "the service hangs");
    call(brk, 5);
    call(brk, 6);
    call(brk, 7);
    int seen;
    check(casty_ask_timeout(svc, &seen, 1000, CallsSeen), "calls seen");
    printf("the service has seen %d calls: 6 and 7 never reached it\n", seen);

    printf("-- %d ms later the breaker's scheduled message: circuit %s\n", OPEN_MS,
           circuit_names[wait_circuit(brk, HALF_OPEN)]);
    call(brk, 8);
    set_mode(svc, UP, "the service recovers");
    printf("-- %d ms later: circuit %s\n", OPEN_MS, circuit_names[wait_circuit(brk, HALF_OPEN)]);
    call(brk, 9);
    call(brk, 10);

    check(casty_system_stop(sys), "stop");
    return 0;
}
