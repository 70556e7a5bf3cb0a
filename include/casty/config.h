/*
 * System configuration: fill with casty_config_init(), then override fields.
 * Passing NULL to casty_system_start() means "all defaults".
 */
#ifndef CASTY_CONFIG_H
#define CASTY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "casty/api.h"
#include "casty/lifecycle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CASTY_MAX_SHARDS 256
#define CASTY_NAME_MAX   127 /* bytes, without the terminating NUL */

typedef struct casty_config {
    uint32_t init_magic;  /* private: set by casty_config_init() */
    uint32_t shards;      /* shard threads; 0 = one per online CPU */
    const uint16_t *cpus; /* CPUs to pin shard i to cpus[i % cpus_len]; NULL = 0..n-1 */
    uint32_t cpus_len;
    bool no_pin;                /* do not pin shard threads to CPUs */
    bool busy_poll;             /* shards never sleep when idle (lowest latency, burns CPU) */
    uint32_t spin_us;           /* idle spin before sleeping (default 50) */
    uint32_t actor_budget;      /* messages an actor handles per turn (default 64) */
    uint32_t ring_slots;        /* SPSC ring capacity per shard pair, power of two (default 4096) */
    uint32_t max_message_bytes; /* largest payload accepted by tell/ask (default 64 KiB) */
    uint32_t ask_timeout_ms;    /* default ask timeout (default 10,000) */
    uint32_t placement_vnodes;  /* virtual nodes per shard on the placement ring (default 128) */
    uint32_t io_entries;        /* io_uring submission queue entries per shard (default 256) */
    casty_mailbox mailbox;      /* default mailbox bound (default 65536, CASTY_MAILBOX_FAIL) */
    casty_supervision supervision; /* default strategy of top-level actors (default: Restart,
                                      10 within 60 s, no backoff) */
    uint32_t shutdown_grace_ms;    /* casty_system_stop: time for trees to stop (default 5000) */
} casty_config;

/* Fill `cfg` with the defaults. Any thread. */
CASTY_API void casty_config_init(casty_config *cfg);

/* Check a config; 0 or -EINVAL (uninitialised, zero or non-power-of-two sizes, too many shards). */
CASTY_API CASTY_NODISCARD int casty_config_validate(const casty_config *cfg);

/* Print the effective configuration, one `key=value` per line. Returns 0 or -EINVAL. */
CASTY_API CASTY_NODISCARD int casty_config_print(const casty_config *cfg, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
