/*
 * What every Casty workload's driver needs: a system started with the
 * suite's settings, a fatal error check that names Casty's codes, and a
 * one-shot latch actor through which the actor that finishes a run hands its
 * end timestamp to the blocked main thread. Public API only.
 */
#ifndef CASTY_PERF_DRIVER_H
#define CASTY_PERF_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <casty/casty.h>

#include "harness.h"

/*
 * Done carries the finishing actor's clock reading, one extra figure, and the
 * number of messages it knows were lost (0 in a sound run).
 */
CASTY_MESSAGE(LatchDone, int64_t value; int64_t aux; int64_t lost);
CASTY_MESSAGE(LatchWait);
CASTY_PROTOCOL(LatchMsg, LatchDone, LatchWait);

/*
 * Start a system of `shards` shards (pinned to CPUs 0..shards-1, or to
 * `first_cpu`.. when first_cpu > 0), busy-polling or not, with an ask timeout
 * long enough for any run. Exits on failure.
 */
casty_system *perf_system_start(uint32_t shards, bool busy_poll, uint16_t first_cpu);

/* Stop the system; exits(1) if that fails. */
void perf_system_stop(casty_system *sys);

/*
 * Fatal check usable on any thread, including shard threads: when err < 0,
 * print "what: <casty_strerror>" and _exit(1) at once (a benchmark that lost a
 * message has no result to wait for).
 */
void perf_ok(int err, const char *what);

/* Spawn a latch on `shard`. Outside threads only. */
LatchMsg_ref perf_latch_spawn(casty_system *sys, uint32_t shard);

/*
 * Block until the latch's LatchDone has arrived (before or after this call)
 * and return its value (and aux, if `aux` is non-NULL); the latch re-arms.
 * A run that lost messages, or that has not finished after PERF_WAIT_MS,
 * prints the system's dead-letter counters and exits(1): a lost message
 * would otherwise hang the run. Outside threads only.
 */
int64_t perf_latch_wait(casty_system *sys, LatchMsg_ref latch, int64_t *aux);

#define PERF_WAIT_MS 300000u

/* Print the system's delivery and dead-letter counters to stderr. */
void perf_print_stats(casty_system *sys);

#endif
