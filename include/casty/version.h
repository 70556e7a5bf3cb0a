/* Casty version numbers and the runtime version query. */
#ifndef CASTY_VERSION_H
#define CASTY_VERSION_H

#include "casty/api.h"

#define CASTY_VERSION_MAJOR  0
#define CASTY_VERSION_MINOR  1
#define CASTY_VERSION_PATCH  0
#define CASTY_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The version the library was built as, e.g. "0.1.0". Any thread. Never NULL. */
CASTY_API const char *casty_version(void);

#ifdef __cplusplus
}
#endif
#endif
