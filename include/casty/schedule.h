/*
 * Scheduled messages: once after a delay, or periodically at a fixed rate.
 *
 *     casty_ref tick;
 *     rc = casty_schedule_every(sys, &tick, ref, 10, Tick);     // every 10 ms
 *     rc = casty_schedule_once(sys, NULL, ref, 500, Timeout, .id = 7);
 *     rc = casty_cancel(tick);
 *
 * Timers live in the per-shard timing wheel (1 ms ticks): a message is never
 * delivered before its deadline, and a periodic schedule's n-th tick is due at
 * start + n * every (fixed rate: a late tick does not push the next ones).
 * Called inside a behaviour, the schedule belongs to the running actor: it
 * lives on that actor's shard, its messages are sent with that actor as the
 * sender (unless opts.sender says otherwise), and it is cancelled when the
 * actor stops. Called from an outside thread, it lives on the target's shard
 * until it is cancelled, fires (once) or the system stops. A periodic
 * schedule whose target has stopped cancels itself.
 */
#ifndef CASTY_SCHEDULE_H
#define CASTY_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "casty/api.h"
#include "casty/message.h"
#include "casty/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct casty_schedule_opts {
    uint32_t delay_ms;       /* first delivery after this delay (0: at the next tick) */
    uint32_t every_ms;       /* 0: once; else the period, and delay_ms 0 means every_ms */
    const casty_ref *sender; /* explicit sender; NULL: the calling actor, if any */
} casty_schedule_opts;

/*
 * Schedule a copy of the message (`len` bytes of `data`, type `type`) to
 * actor `to`. *handle (may be NULL) receives the cancel handle. Any thread.
 * 0, -EINVAL, -EMSGSIZE, -ENOMEM, -ESHUTDOWN.
 */
CASTY_API CASTY_NODISCARD int casty_schedule_raw(casty_system *sys, casty_ref *handle, casty_ref to,
                                                 uint32_t type, const void *data, size_t len,
                                                 const casty_schedule_opts *opts);

/*
 * Cancel a schedule. Any thread. 0 when it was pending: no further message is
 * sent (from the schedule's own shard this is exact; from elsewhere a tick
 * being sent at that very moment may still arrive). -ENOENT when it already
 * fired (once), was cancelled, or its owner stopped; -EINVAL for a non-handle.
 */
CASTY_API CASTY_NODISCARD int casty_cancel(casty_ref handle);

/* casty_schedule(sys, &handle, typed_ref, &opts, Message, .field = value, ...) */
#define casty_schedule(sys, handlep, ref, optsp, Name, ...)                                \
    (CASTY__CHECK_PROTOCOL(ref, Name),                                                     \
     casty_schedule_raw((sys), (handlep), (ref).raw, CASTY_ID(Name), &(Name){__VA_ARGS__}, \
                        sizeof(Name), (optsp)))

/* casty_schedule_once(sys, &handle, typed_ref, delay_ms, Message, .field = value, ...) */
#define casty_schedule_once(sys, handlep, ref, delay, Name, ...)                         \
    casty_schedule(sys, handlep, ref, &(casty_schedule_opts){.delay_ms = (delay)}, Name, \
                   __VA_ARGS__)

/* casty_schedule_every(sys, &handle, typed_ref, every_ms, Message, .field = value, ...) */
#define casty_schedule_every(sys, handlep, ref, every, Name, ...)                        \
    casty_schedule(sys, handlep, ref, &(casty_schedule_opts){.every_ms = (every)}, Name, \
                   __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
