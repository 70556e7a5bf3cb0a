/*
 * Shared helpers of the perf suite; see harness.h. No Casty here: the limit
 * probes link this file alone.
 */
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t perf_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long perf_maxrss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return -1;
    /*
     * ru_maxrss is in KiB on Linux. It reads the kernel's per-CPU RSS counters
     * approximately, so it can lag the exact current figure by a few pages:
     * never report a peak below the present.
     */
    long now = perf_rss_kb();
    return ru.ru_maxrss > now ? ru.ru_maxrss : now;
}

long perf_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long size = 0, resident = -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int perf_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v: the smallest sample with at least q of them at or below. */
static uint64_t rank(const uint64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);
    return v[k == 0 ? 0 : (k > n ? n - 1 : k - 1)];
}

perf_pcts perf_percentiles(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    return (perf_pcts){.p50 = rank(v, n, 0.50),
                       .p99 = rank(v, n, 0.99),
                       .p999 = rank(v, n, 0.999),
                       .max = v[n - 1],
                       .mean = sum / (double)n};
}

void *perf_alloc_touched(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "perf: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

bool perf_opt_str(int argc, char **argv, int *i, const char *name, const char **out)
{
    if (strcmp(argv[*i], name) != 0)
        return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", argv[0], name);
        exit(2);
    }
    *out = argv[++*i];
    return true;
}

bool perf_opt_i64(int argc, char **argv, int *i, const char *name, int64_t *out)
{
    const char *s;
    if (!perf_opt_str(argc, argv, i, name, &s))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "%s: %s wants a non-negative integer, not '%s'\n", argv[0], name, s);
        exit(2);
    }
    *out = v;
    return true;
}

void perf_usage(const char *prog, const char *usage)
{
    fprintf(stderr, "usage: %s %s\n", prog, usage);
    exit(2);
}

void perf_check(int err, const char *what)
{
    if (err >= 0)
        return;
    fprintf(stderr, "perf: %s: %s (%d)\n", what, strerror(-err), err);
    exit(1);
}

void perf_uring_check(int err)
{
    if (err == -ENOSYS || err == -EPERM) {
        fprintf(stderr, "perf: skipped: io_uring is not available (%s)\n", strerror(-err));
        exit(PERF_SKIP);
    }
    perf_check(err, "io_uring_queue_init");
}
