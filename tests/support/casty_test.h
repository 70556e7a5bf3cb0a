/*
 * Shared helpers for Casty's cmocka tests: system start with a fixed shard
 * count, waiting on a condition with a deadline (never a bare sleep), and a
 * scale factor so that sanitizer builds run the same tests on smaller counts.
 */
#ifndef CASTY_TEST_H
#define CASTY_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "casty/casty.h"

#ifdef CASTY_SANITIZE
#define CASTY_TEST_SCALE 10 /* sanitizers run ~10x slower: divide message counts */
#else
#define CASTY_TEST_SCALE 1
#endif

static inline uint64_t ct_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Poll `cond(arg)` every 100 us until it holds or `timeout_ms` passes. */
static inline int ct_wait_until(int (*cond)(void *arg), void *arg, uint32_t timeout_ms)
{
    uint64_t deadline = ct_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (!cond(arg)) {
        if (ct_now_ns() > deadline)
            return 0;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return 1;
}

static inline casty_system *ct_start(uint32_t shards)
{
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = shards;
    casty_system *sys = NULL;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS) {
        fprintf(stderr, "io_uring unavailable: skipping\n");
        exit(77);
    }
    assert_int_equal(rc, 0);
    return sys;
}

static inline void ct_stop(casty_system *sys)
{
    assert_int_equal(casty_system_stop(sys), 0);
}

static inline casty_stats ct_stats(casty_system *sys)
{
    casty_stats st;
    assert_int_equal(casty_system_stats(sys, &st), 0);
    return st;
}

#endif
