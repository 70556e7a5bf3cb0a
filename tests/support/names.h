/*
 * A fixed set of actor names hashed with the runtime's name hash, shared by the
 * placement and hash-ring tests so that their figures come from the same names.
 */
#ifndef CASTY_TEST_NAMES_H
#define CASTY_TEST_NAMES_H

#include <stdint.h>
#include <stdio.h>

#include "core/hashring.h"

/* out[i] = hash of "<prefix><i>" for i in [0, n). */
static inline void ct_name_hashes(uint64_t *out, int n, const char *prefix)
{
    for (int i = 0; i < n; i++) {
        char name[48];
        int len = snprintf(name, sizeof(name), "%s%d", prefix, i);
        out[i] = casty__hash_name(name, (size_t)len);
    }
}

#endif
