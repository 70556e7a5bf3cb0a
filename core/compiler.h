/*
 * Compiler helpers shared by every internal file: branch hints, cache-line
 * alignment, visibility and container_of. Header-only, no state.
 */
#ifndef CASTY_CORE_COMPILER_H
#define CASTY_CORE_COMPILER_H

#include <stddef.h>
#include <stdalign.h>

#define CASTY_LIKELY(x)   __builtin_expect(!!(x), 1)
#define CASTY_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Every shard-shared structure separates writer groups by this much. */
#define CASTY_CACHELINE         64
#define CASTY_ALIGNED_CACHELINE alignas(CASTY_CACHELINE)

#define CASTY_NOINLINE __attribute__((noinline))
#define CASTY_COLD     __attribute__((cold))
#define CASTY_UNUSED   __attribute__((unused))

/* A spin-wait hint: lets the sibling hyperthread run and saves power while polling. */
#if defined(__x86_64__) || defined(__i386__)
#define casty_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define casty_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define casty_cpu_relax() ((void)0)
#endif

/* clang-format off: version 14 glues the minus to the cast. */
// clang-format off
#define casty_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
// clang-format on

#define CASTY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
