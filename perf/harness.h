/*
 * Shared helpers of the perf suite (WORKLOADS.md): the monotonic clock,
 * memory readings, percentiles, CPU pinning and argument parsing. Plain C and
 * pthreads only, so the limit probes (perf/limits/) can use it without Casty.
 * Every function is safe from any thread unless its comment says otherwise.
 */
#ifndef CASTY_PERF_HARNESS_H
#define CASTY_PERF_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (a vDSO call, about 20 ns). */
uint64_t perf_now_ns(void);

/* Peak resident set of this process so far (getrusage ru_maxrss, at least the current RSS), in KiB. */
long perf_maxrss_kb(void);

/* Current resident set (/proc/self/statm), in KiB; -1 if unreadable. */
long perf_rss_kb(void);

/* Pin the calling thread to `cpu`; 0 or a negative errno (a container may forbid it). */
int perf_pin_self(int cpu);

/* Summary of a latency sample set, in the samples' unit (ns). */
typedef struct perf_pcts {
    uint64_t p50, p99, p999, max;
    double mean;
} perf_pcts;

/* Sort `v` in place and summarise it. n must be > 0. */
perf_pcts perf_percentiles(uint64_t *v, size_t n);

/* Allocate and touch (fault in) `bytes`, so later RSS readings exclude it; exits on ENOMEM. */
void *perf_alloc_touched(size_t bytes);

/*
 * Argument parsing: `perf_opt_i64(argc, argv, &i, "--n", &n)` consumes
 * "--n VALUE" at argv[i] (advancing i) and returns true; false if argv[i] is
 * another option. A malformed or negative number exits with status 2.
 */
bool perf_opt_i64(int argc, char **argv, int *i, const char *name, int64_t *out);
bool perf_opt_str(int argc, char **argv, int *i, const char *name, const char **out);

/* Print "usage: prog USAGE" to stderr and exit(2). */
_Noreturn void perf_usage(const char *prog, const char *usage);

/* Exit status of a program that cannot run here (no io_uring): ctest's skip code. */
#define PERF_SKIP 77

/* Exit(PERF_SKIP) when an io_uring setup failed because the kernel forbids or lacks it. */
void perf_uring_check(int err);

/* Exit(1) with "what: strerror(-err)" when err < 0; return otherwise. */
void perf_check(int err, const char *what);

#endif
