/*
 * Little-endian loads and stores of explicit widths, shared by the frame
 * codec (cluster/frame.c) and the message schema codec (cluster/codec.c).
 * Byte by byte, so they work at any alignment and on any host byte order;
 * compilers turn each into a single move on little-endian machines. Pure,
 * header-only, any thread.
 */
#ifndef CASTY_CLUSTER_LE_H
#define CASTY_CLUSTER_LE_H

#include <stdint.h>

static inline void casty__le_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void casty__le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void casty__le_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t casty__le_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t casty__le_get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t casty__le_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
