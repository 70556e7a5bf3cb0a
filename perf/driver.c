/*
 * Workload driver helpers (driver.h). The latch answers the main thread's
 * blocking ask only once the run's last actor has reported, whichever of the
 * two messages comes first; it runs on one shard, like any actor.
 */
#include "driver.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void perf_ok(int err, const char *what)
{
    if (err >= 0)
        return;
    fprintf(stderr, "perf: %s: %s (%s)\n", what, casty_strerror(err), casty_err_name(err));
    fflush(stderr);
    _exit(1);
}

casty_system *perf_system_start(uint32_t shards, bool busy_poll, uint16_t first_cpu)
{
    static uint16_t cpus[CASTY_MAX_SHARDS];
    casty_config cfg;
    casty_config_init(&cfg);
    cfg.shards = shards;
    cfg.busy_poll = busy_poll;
    cfg.ask_timeout_ms = PERF_WAIT_MS; /* a full-size run may take minutes on a loaded machine */
    if (first_cpu > 0) {
        for (uint32_t i = 0; i < shards; i++)
            cpus[i] = (uint16_t)(first_cpu + i);
        cfg.cpus = cpus;
        cfg.cpus_len = shards;
    }
    casty_system *sys;
    int rc = casty_system_start(&sys, &cfg);
    if (rc == -ENOSYS) {
        /* No io_uring here (an old kernel, a sandbox): nothing to measure, not a failure. */
        fprintf(stderr, "perf: skipped: io_uring is not available\n");
        exit(PERF_SKIP);
    }
    perf_ok(rc, "casty_system_start");
    return sys;
}

void perf_system_stop(casty_system *sys)
{
    perf_ok(casty_system_stop(sys), "casty_system_stop");
}

typedef struct {
    bool done;
    int64_t value, aux, lost;
    casty_ref waiter; /* the blocked main thread, once it has asked */
} Latch;

static void answer(Latch *self, casty_ref to)
{
    int64_t triple[3] = {self->value, self->aux, self->lost};
    perf_ok(casty_tell_raw(to, CASTY_TYPE_REPLY, triple, sizeof(triple), NULL), "latch reply");
    *self = (Latch){0};
}

static int latch(casty_ctx *ctx, Latch *self, const casty_msg *msg)
{
    switch ((enum LatchMsg_type)casty_type(msg)) {
    case CASTY_ID(LatchDone):
        self->done = true;
        self->value = CASTY_AS(msg, LatchDone)->value;
        self->aux = CASTY_AS(msg, LatchDone)->aux;
        self->lost = CASTY_AS(msg, LatchDone)->lost;
        if (!casty_ref_is_null(self->waiter))
            answer(self, self->waiter);
        return 0;
    case CASTY_ID(LatchWait):
        if (self->done)
            answer(self, casty_sender(ctx));
        else
            self->waiter = casty_sender(ctx);
        return 0;
    }
    return 0;
}
CASTY_ACTOR(latch_actor, LatchMsg, Latch, latch);

LatchMsg_ref perf_latch_spawn(casty_system *sys, uint32_t shard)
{
    LatchMsg_ref ref;
    perf_ok(
        casty_spawn(sys, &ref, latch_actor, NULL, .placement = CASTY_PLACE_SHARD, .shard = shard),
        "spawn latch");
    return ref;
}

void perf_print_stats(casty_system *sys)
{
    casty_stats st;
    if (casty_system_stats(sys, &st) < 0)
        return;
    fprintf(stderr, "perf: delivered=%" PRIu64 " dead_letters=%" PRIu64, st.delivered,
            st.dead_letters);
    for (int r = 0; r < CASTY_DEAD_REASONS; r++)
        fprintf(stderr, " %s=%" PRIu64, casty_dead_reason_name((casty_dead_reason)r),
                st.dead_by_reason[r]);
    fprintf(stderr, " ring_full=%" PRIu64 "\n", st.ring_full);
}

int64_t perf_latch_wait(casty_system *sys, LatchMsg_ref ref, int64_t *aux)
{
    int64_t triple[3];
    int rc = casty_ask_timeout(ref, &triple, PERF_WAIT_MS, LatchWait);
    if (rc == 0 && triple[2] != 0) {
        fprintf(stderr, "perf: the run lost %" PRId64 " messages that were accepted\n", triple[2]);
        rc = -EBADMSG;
    }
    if (rc < 0) {
        perf_print_stats(sys);
        perf_ok(rc, "waiting for the end of the run");
    }
    if (aux)
        *aux = triple[1];
    return triple[0];
}
