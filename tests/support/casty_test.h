/*
 * Shared helpers for Casty's cmocka tests: system start with a fixed shard
 * count, waiting on a condition with a deadline (never a bare sleep), and a
 * scale factor so that sanitizer builds run the same tests on smaller counts.
 */
#ifndef CASTY_TEST_H
#define CASTY_TEST_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
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

/* Generous bounds for eventual conditions and asks; sanitizer builds get more. */
#define CT_WAIT_MS   (5000u * CASTY_TEST_SCALE)
#define CT_ASK_MS    (5000u * CASTY_TEST_SCALE)
#define CT_SETTLE_MS 100u /* after a condition holds: time for anything extra to show up */

static inline void ct_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline int ct__flag_set(void *arg)
{
    return atomic_load_explicit((_Atomic bool *)arg, memory_order_acquire);
}

/* Wait until *flag is set; 1, or 0 after timeout_ms. */
static inline int ct_wait_flag(_Atomic bool *flag, uint32_t timeout_ms)
{
    return ct_wait_until(ct__flag_set, flag, timeout_ms);
}

struct ct__int_wait {
    _Atomic int *v;
    int n;
};

static inline int ct__int_reached(void *arg)
{
    struct ct__int_wait *w = arg;
    return atomic_load(w->v) >= w->n;
}

/* Wait until *v >= n; 1, or 0 after CT_WAIT_MS. */
static inline int ct_wait_int(_Atomic int *v, int n)
{
    struct ct__int_wait w = {v, n};
    return ct_wait_until(ct__int_reached, &w, CT_WAIT_MS);
}

struct ct__name_wait {
    casty_system *sys;
    const char *name;
};

static inline int ct__name_gone(void *arg)
{
    struct ct__name_wait *w = arg;
    casty_ref r;
    return casty_lookup_raw(w->sys, &r, w->name, NULL) == -ENOENT;
}

/* Fail the test unless no live actor is named `name` within CT_WAIT_MS. */
static inline void ct_wait_name_gone(casty_system *sys, const char *name)
{
    struct ct__name_wait w = {sys, name};
    if (!ct_wait_until(ct__name_gone, &w, CT_WAIT_MS))
        fail_msg("actor '%s' still registered after %u ms", name, CT_WAIT_MS);
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
