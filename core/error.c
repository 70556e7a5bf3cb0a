/* The error map behind casty_strerror() and casty_err_name(); read-only. */
#include "casty/error.h"
#include "casty/version.h"

const char *casty_strerror(int err)
{
#define CASTY_STRERROR_CASE(name, value, msg) \
    if (err == (value) || err == -(value))    \
        return msg;
    CASTY_ERRNO_MAP(CASTY_STRERROR_CASE)
#undef CASTY_STRERROR_CASE
    return "unknown error";
}

const char *casty_err_name(int err)
{
#define CASTY_ERRNAME_CASE(name, value, msg) \
    if (err == (value) || err == -(value))   \
        return #name;
    CASTY_ERRNO_MAP(CASTY_ERRNAME_CASE)
#undef CASTY_ERRNAME_CASE
    return "UNKNOWN";
}

const char *casty_version(void)
{
    return CASTY_VERSION_STRING;
}
