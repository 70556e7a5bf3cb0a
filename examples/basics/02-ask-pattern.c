/*
 * The ask pattern: request-response on top of messages.
 *
 * A small key-value store answers Get with the value, or with an error reply
 * (-ENOENT) for a missing key, and answers Slow only after a delay. Main asks
 * it from an outside thread (casty_ask_timeout blocks), then a client actor
 * asks the same questions from inside a behaviour (casty_ask_async_timeout:
 * the answer arrives later as a message whose status says how it went).
 * An answer that comes after its asker gave up is a dead letter, counted in
 * casty_system_stats(). Asking a stopped actor fails at once with EDEAD.
 *
 * Expected output:
 *   main: Get apple -> 3
 *   main: Get durian -> error ENOENT
 *   main: Slow (answer in 300 ms, patience 50 ms) -> error ETIMEDOUT
 *   client: Get apple -> 3
 *   client: Get durian -> error ENOENT
 *   client: Slow (answer in 300 ms, patience 50 ms) -> error ETIMEDOUT
 *   late answers counted as dead letters: 2
 *   main: Get apple after the store stopped -> error EDEAD
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <casty/casty.h>

#define SLOW_MS     300 /* how long the store takes to answer Slow */
#define PATIENCE_MS 50  /* how long the askers wait for it */

/* --- the store --- */

CASTY_MESSAGE(Put, char key[16]; int value);
CASTY_MESSAGE(Get, char key[16]);
CASTY_MESSAGE(Slow, int delay_ms);
/* Sent by the store to itself: answer `asker` now. */
CASTY_MESSAGE(SlowDone, casty_ref asker);
CASTY_PROTOCOL(StoreMsg, Put, Get, Slow, SlowDone);

#define STORE_MAX 8

typedef struct {
    int n;
    char keys[STORE_MAX][16];
    int values[STORE_MAX];
} Store;

static int find(const Store *self, const char *key)
{
    for (int i = 0; i < self->n; i++)
        if (strcmp(self->keys[i], key) == 0)
            return i;
    return -1;
}

static int store(casty_ctx *ctx, Store *self, const casty_msg *msg)
{
    switch ((enum StoreMsg_type)casty_type(msg)) {
    case CASTY_ID(Put): {
        const Put *p = CASTY_AS(msg, Put);
        int i = find(self, p->key);
        if (i < 0) {
            if (self->n == STORE_MAX)
                return casty_reply_error(ctx, -ENOMEM);
            i = self->n++;
            memcpy(self->keys[i], p->key, sizeof(p->key));
        }
        self->values[i] = p->value;
        return casty_reply(ctx, int, p->value);
    }
    case CASTY_ID(Get): {
        int i = find(self, CASTY_AS(msg, Get)->key);
        if (i < 0)
            return casty_reply_error(ctx, -ENOENT); /* the asker's call returns -ENOENT */
        return casty_reply(ctx, int, self->values[i]);
    }
    case CASTY_ID(Slow): {
        /*
         * Never block a shard to be slow: schedule the answer instead. The
         * asker's ref travels in the scheduled message, so several slow
         * requests can be in flight at once.
         */
        StoreMsg_ref me = {.raw = casty_self(ctx)};
        return casty_schedule_once(casty_ctx_system(ctx), NULL, me, CASTY_AS(msg, Slow)->delay_ms,
                                   SlowDone, .asker = casty_sender(ctx));
    }
    case CASTY_ID(SlowDone): {
        /* A reply after the fact: the ask's sender takes one CASTY_TYPE_REPLY. */
        int answer = 42;
        return casty_tell_raw(CASTY_AS(msg, SlowDone)->asker, CASTY_TYPE_REPLY, &answer,
                              sizeof(answer), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(store_actor, StoreMsg, Store, store);

/* --- a client actor that asks from inside a behaviour --- */

CASTY_MESSAGE(Run, StoreMsg_ref store);
/* Reply types of the client's asks: the store's answer arrives as one of these. */
CASTY_MESSAGE(GetReply, int value);
CASTY_MESSAGE(SlowReply, int value);
CASTY_PROTOCOL(ClientMsg, Run, GetReply, SlowReply);

typedef struct {
    StoreMsg_ref store;
    int step;
    casty_ref main; /* the asker of Run, answered at the end */
} Client;

static void show(const char *who, const char *what, const casty_msg *reply)
{
    /* A reply message carries either a payload (status 0) or an error and no payload. */
    int status = casty_msg_status(reply);
    if (status < 0)
        printf("%s: %s -> error %s\n", who, what, casty_err_name(status));
    else if (reply->len != sizeof(int))
        printf("%s: %s -> unexpected reply of %u bytes\n", who, what, reply->len);
    else
        printf("%s: %s -> %d\n", who, what, *(const int *)reply->data);
}

static int client(casty_ctx *ctx, Client *self, const casty_msg *msg)
{
    switch ((enum ClientMsg_type)casty_type(msg)) {
    case CASTY_ID(Run):
        self->store = CASTY_AS(msg, Run)->store;
        self->main = casty_sender(ctx);
        /* One question at a time: each answer sends the next question. */
        return casty_ask_async_timeout(ctx, self->store, GetReply, 1000, Get, .key = "apple");
    case CASTY_ID(GetReply):
        if (self->step++ == 0) {
            show("client", "Get apple", msg);
            return casty_ask_async_timeout(ctx, self->store, GetReply, 1000, Get, .key = "durian");
        }
        show("client", "Get durian", msg);
        return casty_ask_async_timeout(ctx, self->store, SlowReply, PATIENCE_MS, Slow,
                                       .delay_ms = SLOW_MS);
    case CASTY_ID(SlowReply): {
        show("client", "Slow (answer in 300 ms, patience 50 ms)", msg);
        int done = 1;
        return casty_tell_raw(self->main, CASTY_TYPE_REPLY, &done, sizeof(done), NULL);
    }
    }
    return 0;
}
CASTY_ACTOR(client_actor, ClientMsg, Client, client);

/* --- main --- */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, casty_strerror(rc), casty_err_name(rc));
        exit(1);
    }
}

/* Print the outcome of a blocking ask: its return value is 0 or the error. */
static void show_ask(const char *what, int rc, int value)
{
    if (rc < 0)
        printf("main: %s -> error %s\n", what, casty_err_name(rc));
    else
        printf("main: %s -> %d\n", what, value);
}

static uint64_t late_replies(casty_system *sys)
{
    casty_stats st;
    check(casty_system_stats(sys, &st), "stats");
    return st.dead_by_reason[CASTY_DEAD_LATE_REPLY];
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start");

    StoreMsg_ref kv;
    check(casty_spawn(sys, &kv, store_actor, "store"), "spawn store");
    int v = 0;
    check(casty_ask_timeout(kv, &v, 1000, Put, .key = "apple", .value = 3), "put");

    /* Outside thread: casty_ask_timeout blocks and returns 0 or the error. */
    int rc = casty_ask_timeout(kv, &v, 1000, Get, .key = "apple");
    show_ask("Get apple", rc, v);
    rc = casty_ask_timeout(kv, &v, 1000, Get, .key = "durian");
    show_ask("Get durian", rc, v);
    rc = casty_ask_timeout(kv, &v, PATIENCE_MS, Slow, .delay_ms = SLOW_MS);
    show_ask("Slow (answer in 300 ms, patience 50 ms)", rc, v);

    /* Inside an actor: the same questions, answered as messages. */
    ClientMsg_ref c;
    check(casty_spawn(sys, &c, client_actor, "client"), "spawn client");
    int done = 0;
    check(casty_ask_timeout(c, &done, 5000, Run, .store = kv), "run client");

    /*
     * Both slow answers are still to come (at 300 ms); their askers are gone,
     * so each becomes a dead letter of reason "late reply". Wait for them,
     * with a deadline.
     */
    for (int i = 0; i < 500 && late_replies(sys) < 2; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    printf("late answers counted as dead letters: %llu\n", (unsigned long long)late_replies(sys));

    /* A stop request is handled after what was queued before it; this ask comes after it. */
    check(casty_stop(kv), "stop store");
    rc = casty_ask_timeout(kv, &v, 1000, Get, .key = "apple");
    show_ask("Get apple after the store stopped", rc, v);

    check(casty_system_stop(sys), "stop");
    return 0;
}
