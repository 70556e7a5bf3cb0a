/*
 * Telling an actor a message outside its protocol must not compile.
 * Expected diagnostic: "has no member named 'Ping'" (the protocol's members).
 * With -DCASTY_COMPILE_FAIL_CONTROL the offending line is left out and the
 * file must compile, proving that this line alone is the failure.
 */
#include <casty/casty.h>

CASTY_MESSAGE(Increment, int amount);
CASTY_MESSAGE(Get);
CASTY_PROTOCOL(CounterMsg, Increment, Get);

CASTY_MESSAGE(Ping, int seq);
CASTY_PROTOCOL(PingMsg, Ping);

int tell_it(CounterMsg_ref ref);

int tell_it(CounterMsg_ref ref)
{
    int rc = casty_tell(ref, Increment, .amount = 1);
#ifndef CASTY_COMPILE_FAIL_CONTROL
    rc = casty_tell(ref, Ping, .seq = 1);
#endif
    return rc;
}
