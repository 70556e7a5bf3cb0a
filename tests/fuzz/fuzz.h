/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c) and their replay
 * runner (replay.c): the entry point's prototype, and a check that aborts,
 * so that a broken invariant is a crash libFuzzer saves a reproducer for,
 * in every build type (assert() would vanish under NDEBUG).
 */
#ifndef CASTY_TESTS_FUZZ_H
#define CASTY_TESTS_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz check failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
