/*
 * Quick start: the original Casty's counter. A counter actor receives
 * Increment and Get; main tells it 5 and 3, then asks for the total.
 * Expected output:
 *   counter = 8
 */
#include <stdio.h>
#include <stdlib.h>

#include <casty/casty.h>

CASTY_MESSAGE(Increment, int amount);
CASTY_MESSAGE(Get);
CASTY_PROTOCOL(CounterMsg, Increment, Get);

typedef struct {
    long count;
} Counter;

static int counter(casty_ctx *ctx, Counter *self, const casty_msg *msg)
{
    switch ((enum CounterMsg_type)casty_type(msg)) {
    case CASTY_ID(Increment):
        self->count += CASTY_AS(msg, Increment)->amount;
        return 0;
    case CASTY_ID(Get):
        return casty_reply(ctx, long, self->count);
    }
    return 0;
}
CASTY_ACTOR(counter_actor, CounterMsg, Counter, counter);

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", what, casty_strerror(rc));
        exit(1);
    }
}

int main(void)
{
    casty_system *sys;
    check(casty_system_start(&sys, NULL), "start"); /* one shard per core */

    CounterMsg_ref ref;
    check(casty_spawn(sys, &ref, counter_actor, "counter"), "spawn");
    check(casty_tell(ref, Increment, .amount = 5), "tell");
    check(casty_tell(ref, Increment, .amount = 3), "tell");

    long n = 0;
    check(casty_ask_timeout(ref, &n, 1000, Get), "ask");
    printf("counter = %ld\n", n);

    check(casty_system_stop(sys), "stop");
    return n == 8 ? 0 : 1;
}
