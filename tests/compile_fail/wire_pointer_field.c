/*
 * A wire message with a pointer field must not compile: a pointer means
 * nothing on another node. Expected diagnostic: it names
 * casty_wire_unsupported_field_type (the _Generic's default association).
 * With -DCASTY_COMPILE_FAIL_CONTROL the pointer is left out of the schema
 * and the file must compile, proving that this field alone is the failure.
 */
#include <casty/casty.h>

CASTY_MESSAGE(Store, int key; const char *value);
CASTY_PROTOCOL(StoreMsg, Store);

#ifndef CASTY_COMPILE_FAIL_CONTROL
CASTY_WIRE_MESSAGE(Store, key, value);
#else
CASTY_WIRE_MESSAGE(Store, key);
#endif
CASTY_WIRE_PROTOCOL(StoreMsg, Store);
