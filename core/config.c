/* Configuration defaults, validation and printing. Pure functions; any thread. */
#include "casty/config.h"

#include "core/lifecycle.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define CASTY_CONFIG_MAGIC 0xC0A57E01u

void casty_config_init(casty_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->init_magic = CASTY_CONFIG_MAGIC;
    cfg->shards = 0;
    cfg->spin_us = 50;
    cfg->actor_budget = 64;
    cfg->ring_slots = 4096;
    cfg->max_message_bytes = 64 * 1024;
    cfg->ask_timeout_ms = 10000;
    cfg->placement_vnodes = 128;
    cfg->io_entries = 256;
    cfg->mailbox.capacity = 65536;
    cfg->mailbox.policy = CASTY_MAILBOX_FAIL;
    cfg->supervision.directive = CASTY_RESTART;
    cfg->supervision.max_retries = 10;
    cfg->supervision.within_ms = 60000;
    cfg->shutdown_grace_ms = 5000;
}

int casty__mailbox_validate(const casty_mailbox *mb)
{
    if (mb->capacity > CASTY_MAILBOX_MAX || (uint32_t)mb->policy > CASTY_MAILBOX_DROP_OLDEST)
        return -EINVAL;
    return 0;
}

static int is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int casty_config_validate(const casty_config *cfg)
{
    if (!cfg || cfg->init_magic != CASTY_CONFIG_MAGIC)
        return -EINVAL;
    if (cfg->shards > CASTY_MAX_SHARDS)
        return -EINVAL;
    if (cfg->cpus_len > 0 && !cfg->cpus)
        return -EINVAL;
    if (cfg->actor_budget == 0 || !is_pow2(cfg->ring_slots) || cfg->ring_slots < 2)
        return -EINVAL;
    if (cfg->max_message_bytes == 0 || cfg->max_message_bytes > (1u << 30))
        return -EINVAL;
    if (cfg->ask_timeout_ms == 0 || cfg->placement_vnodes == 0 || cfg->io_entries < 4)
        return -EINVAL;
    if (cfg->mailbox.capacity == 0 || casty__mailbox_validate(&cfg->mailbox) < 0)
        return -EINVAL;
    return casty__supervision_validate(&cfg->supervision);
}

int casty_config_print(const casty_config *cfg, FILE *out)
{
    if (!cfg || !out || cfg->init_magic != CASTY_CONFIG_MAGIC)
        return -EINVAL;
    fprintf(out, "shards=%" PRIu32 "\n", cfg->shards);
    fprintf(out, "cpus=");
    for (uint32_t i = 0; i < cfg->cpus_len; i++)
        fprintf(out, "%s%u", i ? "," : "", (unsigned)cfg->cpus[i]);
    fprintf(out, "%s\n", cfg->cpus_len ? "" : "auto");
    fprintf(out, "pin=%s\n", cfg->no_pin ? "no" : "yes");
    fprintf(out, "busy_poll=%s\n", cfg->busy_poll ? "yes" : "no");
    fprintf(out, "spin_us=%" PRIu32 "\n", cfg->spin_us);
    fprintf(out, "actor_budget=%" PRIu32 "\n", cfg->actor_budget);
    fprintf(out, "ring_slots=%" PRIu32 "\n", cfg->ring_slots);
    fprintf(out, "max_message_bytes=%" PRIu32 "\n", cfg->max_message_bytes);
    fprintf(out, "ask_timeout_ms=%" PRIu32 "\n", cfg->ask_timeout_ms);
    fprintf(out, "placement_vnodes=%" PRIu32 "\n", cfg->placement_vnodes);
    fprintf(out, "io_entries=%" PRIu32 "\n", cfg->io_entries);
    static const char *const policies[] = {"fail", "drop_new", "drop_oldest"};
    static const char *const directives[] = {"restart", "resume", "stop", "escalate"};
    fprintf(out, "mailbox_capacity=%" PRIu32 "\n", cfg->mailbox.capacity);
    fprintf(out, "mailbox_policy=%s\n",
            (uint32_t)cfg->mailbox.policy < 3 ? policies[cfg->mailbox.policy] : "invalid");
    const casty_supervision *sup = &cfg->supervision;
    fprintf(out,
            "supervision=%s max_retries=%" PRIu32 " within_ms=%" PRIu32 " backoff_ms=%" PRIu32
            "..%" PRIu32 " jitter_pct=%" PRIu32 " all_for_one=%s\n",
            (uint32_t)sup->directive < 4 ? directives[sup->directive] : "invalid", sup->max_retries,
            sup->within_ms, sup->backoff_min_ms, sup->backoff_max_ms, sup->backoff_jitter_pct,
            sup->all_for_one ? "yes" : "no");
    fprintf(out, "shutdown_grace_ms=%" PRIu32 "\n", cfg->shutdown_grace_ms);
    return 0;
}
