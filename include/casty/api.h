/* Export and attribute macros used by every public header. */
#ifndef CASTY_API_H
#define CASTY_API_H

#if defined(CASTY_BUILDING) && defined(__GNUC__)
#define CASTY_API __attribute__((visibility("default")))
#else
#define CASTY_API
#endif

/* Fallible calls return 0 or a negative errno; ignoring that is a bug. */
#if defined(__GNUC__)
#define CASTY_NODISCARD __attribute__((warn_unused_result))
#else
#define CASTY_NODISCARD
#endif

#endif
