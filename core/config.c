/* Configuration defaults, validation and printing. Pure functions; any thread. */
#include "casty/config.h"

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
    return 0;
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
    return 0;
}
