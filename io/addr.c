/*
 * IPv4 endpoints as text: "a.b.c.d:port" (and "localhost:port"), the format of
 * seed lists and of every log line that names a peer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/net.h"

static int parse_u32(const char *s, const char *end, uint32_t max, uint32_t *out)
{
    if (s == end || end - s > 10)
        return -EINVAL;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int casty_addr_parse(const char *text, casty_addr *out)
{
    if (!text || !out)
        return -EINVAL;
    const char *colon = strrchr(text, ':');
    if (!colon)
        return -EINVAL;
    uint32_t port;
    if (parse_u32(colon + 1, colon + strlen(colon), 65535, &port) < 0)
        return -EINVAL;
    uint32_t ip = 0;
    if ((size_t)(colon - text) == strlen("localhost") && !strncmp(text, "localhost", 9)) {
        ip = 0x7f000001u;
    } else {
        const char *p = text;
        for (int i = 0; i < 4; i++) {
            const char *dot = i < 3 ? memchr(p, '.', (size_t)(colon - p)) : colon;
            uint32_t octet;
            if (!dot || parse_u32(p, dot, 255, &octet) < 0)
                return -EINVAL;
            ip = ip << 8 | octet;
            p = dot + 1;
        }
    }
    out->ip = ip;
    out->port = (uint16_t)port;
    return 0;
}

char *casty_addr_format(const casty_addr *addr, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u.%u:%u", addr->ip >> 24, (addr->ip >> 16) & 255u,
             (addr->ip >> 8) & 255u, addr->ip & 255u, (unsigned)addr->port);
    return buf;
}
