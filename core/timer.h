#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
typedef struct casty_timer casty_timer;
typedef void (*casty_timer_fn)(casty_timer *t, void *arg);
struct casty_timer { casty_timer *next, *prev; uint64_t deadline_ns; casty_timer_fn fn; void *arg; uint32_t flags; };
typedef struct casty_wheel { casty_timer head; } casty_wheel;
int      casty__wheel_init(casty_wheel *w, uint64_t now_ns, uint64_t tick_ns);
void     casty__wheel_destroy(casty_wheel *w);
void     casty__timer_init(casty_timer *t, casty_timer_fn fn, void *arg);
void     casty__wheel_add(casty_wheel *w, casty_timer *t, uint64_t deadline_ns);
void     casty__wheel_cancel(casty_wheel *w, casty_timer *t);
uint64_t casty__wheel_next_deadline(casty_wheel *w);
uint32_t casty__wheel_advance(casty_wheel *w, uint64_t now_ns, uint32_t max_fire);
