/*
 * The assertion failure handler. An atomic guard makes sure that one thread
 * reports (others that fail at the same time just abort), as Pony's does.
 */
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/shard.h"

static atomic_flag reporting = ATOMIC_FLAG_INIT;

void casty__assert_fail(const char *expr, const char *file, int line, const char *func)
{
    /* Relaxed is not enough for ordering output, but any order works: we only need one winner. */
    if (!atomic_flag_test_and_set(&reporting)) {
        casty_shard *sh = casty__tls_shard;
        fprintf(stderr, "casty: assertion failed: %s\n  at %s:%d in %s() on shard %d\n", expr, file,
                line, func, sh ? (int)sh->id : -1);
        void *frames[32];
        int n = backtrace(frames, 32);
        backtrace_symbols_fd(frames, n, STDERR_FILENO);
    }
    abort();
}
