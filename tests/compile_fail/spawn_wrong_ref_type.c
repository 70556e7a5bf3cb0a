/*
 * Spawning an actor into a ref of another protocol must not compile.
 * Expected diagnostic: the static assertion "ref type does not match".
 */
#include <casty/casty.h>

CASTY_MESSAGE(Increment, int amount);
CASTY_PROTOCOL(CounterMsg, Increment);
CASTY_MESSAGE(Ping, int seq);
CASTY_PROTOCOL(PingMsg, Ping);

typedef struct {
    long n;
} Counter;

static int counter(casty_ctx *ctx, Counter *self, const casty_msg *msg)
{
    (void)ctx;
    (void)msg;
    self->n++;
    return 0;
}
CASTY_ACTOR(counter_actor, CounterMsg, Counter, counter);

int spawn_it(casty_system *sys);

int spawn_it(casty_system *sys)
{
#ifndef CASTY_COMPILE_FAIL_CONTROL
    PingMsg_ref ref;
#else
    CounterMsg_ref ref;
#endif
    return casty_spawn(sys, &ref, counter_actor, "c");
}
