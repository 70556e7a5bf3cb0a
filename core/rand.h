/*
 * The runtime's pseudo-random numbers: never for secrets (libsodium does
 * those), only for jitter, shuffles, target picks and the simulator's dice.
 * Seedable, so that a simulation replays exactly.
 *
 *   - splitmix64: one 64-bit word of state; good enough for jitter, and the
 *     standard way to seed the bigger generator.
 *   - xoshiro256**: four words of state, for the simulator and SWIM, which
 *     draw a lot and need long, well-mixed streams.
 */
#ifndef CASTY_CORE_RAND_H
#define CASTY_CORE_RAND_H

#include <stdint.h>

static inline uint64_t casty__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct casty_rng {
    uint64_t s[4];
} casty_rng;

static inline void casty__rng_seed(casty_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = casty__splitmix64(&seed);
}

static inline uint64_t casty__rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t casty__rng_next(casty_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = casty__rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = casty__rng_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) by multiply-shift (Lemire); 0 when n is 0. */
static inline uint64_t casty__rng_below(casty_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)casty__rng_next(r) * n) >> 64);
}

#endif
