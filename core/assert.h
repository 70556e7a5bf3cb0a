/*
 * Assertion tiers (mimalloc style):
 *  - CASTY_ASSERT:  always on, O(1); guards invariants whose breach corrupts memory.
 *  - CASTY_DASSERT: debug builds only (NDEBUG unset); per-message hot-path checks.
 *  - CASTY_XASSERT: only with CASTY_DEBUG_FULL; O(n) *_validate() calls.
 * Under UNIT_TESTING the macros call cmocka's mock_assert() so that a test can
 * prove a contract violation with expect_assert_failure().
 */
#ifndef CASTY_CORE_ASSERT_H
#define CASTY_CORE_ASSERT_H

#include "core/compiler.h"

#ifdef UNIT_TESTING
void mock_assert(const int result, const char *const expression, const char *const file,
                 const int line);
#define CASTY_ASSERT(x) mock_assert((int)!!(x), #x, __FILE__, __LINE__)
#else
CASTY_COLD __attribute__((noreturn)) void casty__assert_fail(const char *expr, const char *file,
                                                             int line, const char *func);
#define CASTY_ASSERT(x) \
    (CASTY_LIKELY(x) ? (void)0 : casty__assert_fail(#x, __FILE__, __LINE__, __func__))
#endif

#ifdef NDEBUG
#define CASTY_DASSERT(x) ((void)0)
#else
#define CASTY_DASSERT(x) CASTY_ASSERT(x)
#endif

#ifdef CASTY_DEBUG_FULL
#define CASTY_XASSERT(x) CASTY_ASSERT(x)
#else
#define CASTY_XASSERT(x) ((void)0)
#endif

#endif
