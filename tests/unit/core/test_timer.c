/*
 * core/timer: the wheel never fires early and fires within one tick, cancels
 * in O(1), survives re-arming from callbacks, cascades in deadline order
 * across levels, reports a sound next deadline, and holds a million timers.
 * Randomised tests take CASTY_SEED and print the seed they ran with.
 */
#include <inttypes.h>
#include <string.h>

#include "core/compiler.h"
#include "core/timer.h"
#include "support/casty_test.h"

#define MS  1000000ull
#define SEC (1000 * MS)
#define DAY (86400 * SEC)

/* The virtual clock and what every callback checks against it. */
typedef struct tclock {
    casty_wheel w;
    uint64_t now_ns;
    uint64_t step_ns; /* size of the latest clock step */
    uint64_t last_deadline_ns;
    uint64_t fired;
    bool check_late;          /* fired within tick + step of the deadline */
    bool check_order;         /* deadlines fire in non-decreasing tick order */
    uint32_t rearm_per_mille; /* chance that a firing arms a spare timer */
    casty_timer *spare;       /* spare timers for re-arming, used in order */
    uint32_t spare_used, spare_len;
} tclock;

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: tiny, seedable and good enough for test inputs. */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng() % n;
}

static void seed_rng(const char *test)
{
    const char *env = getenv("CASTY_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed;
    rng_state = seed;
    printf("# %s: CASTY_SEED=%" PRIu64 "\n", test, seed);
}

static void on_fire(casty_timer *t, void *arg)
{
    tclock *c = arg;
    assert_false(casty__timer_armed(t));
    assert_true(c->now_ns >= t->deadline_ns); /* never early */
    if (c->check_late)
        assert_true(c->now_ns < t->deadline_ns + c->w.tick_ns + c->step_ns);
    if (c->check_order) {
        uint64_t tick = c->w.tick_ns;
        assert_true((t->deadline_ns + tick - 1) / tick >= (c->last_deadline_ns + tick - 1) / tick);
    }
    c->last_deadline_ns = t->deadline_ns;
    c->fired++;
    if (c->spare_used < c->spare_len && rng_below(1000) < c->rearm_per_mille) {
        casty_timer *s = &c->spare[c->spare_used++];
        casty__timer_init(s, on_fire, c);
        casty__wheel_add(&c->w, s, c->now_ns + 1 + rng_below(1000 * c->w.tick_ns));
    }
}

static void clock_init(tclock *c, uint64_t now_ns, uint64_t tick_ns)
{
    memset(c, 0, sizeof(*c));
    c->now_ns = now_ns;
    assert_int_equal(casty__wheel_init(&c->w, now_ns, tick_ns), 0);
}

static uint32_t clock_step(tclock *c, uint64_t step_ns)
{
    c->step_ns = step_ns;
    c->now_ns += step_ns;
    return casty__wheel_advance(&c->w, c->now_ns, UINT32_MAX);
}

/* Random deadlines and random clock steps, for three tick sizes, with re-arms from callbacks. */
static void test_timer_never_early_within_one_tick(void **state)
{
    (void)state;
    seed_rng("never_early");
    static const uint64_t ticks[] = {1, 999, MS};
    enum { N = 4000, SPARE = 2000 };
    casty_timer *t = calloc(N + SPARE, sizeof(*t));
    assert_non_null(t);
    for (size_t k = 0; k < CASTY_ARRAY_LEN(ticks); k++) {
        tclock c;
        uint64_t tick = ticks[k];
        clock_init(&c, 12345 + rng_below(100 * tick), tick);
        c.check_late = true;
        c.rearm_per_mille = 300;
        c.spare = t + N;
        c.spare_len = SPARE;
        for (int i = 0; i < N; i++) {
            casty__timer_init(&t[i], on_fire, &c);
            /* Spread over every level the horizon reaches: 1 to 2^16 ticks away. */
            uint64_t span = 1ull << rng_below(17);
            casty__wheel_add(&c.w, &t[i], c.now_ns + rng_below(span * tick));
        }
        casty__wheel_validate(&c.w);
        for (uint64_t rounds = 0; casty__wheel_count(&c.w) > 0; rounds++) {
            assert_true(rounds < 10000000);
            clock_step(&c, 1 + rng_below(3 * tick));
            if (rounds % 256 == 0)
                casty__wheel_validate(&c.w);
        }
        assert_int_equal(c.fired, N + c.spare_used);
        assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
        printf("# tick=%" PRIu64 "ns fired=%" PRIu64 " (re-armed %u)\n", tick, c.fired,
               c.spare_used);
    }
    free(t);
}

static void test_timer_cancel(void **state)
{
    (void)state;
    tclock c;
    clock_init(&c, 0, 10);
    casty_timer t[5];
    for (int i = 0; i < 5; i++) {
        casty__timer_init(&t[i], on_fire, &c);
        casty__wheel_add(&c.w, &t[i], 100); /* one slot, so head, middle and tail are cut */
    }
    casty__wheel_cancel(&c.w, &t[2]);
    casty__wheel_cancel(&c.w, &t[0]);
    casty__wheel_cancel(&c.w, &t[4]);
    casty__wheel_cancel(&c.w, &t[4]); /* not armed: a no-op */
    assert_false(casty__timer_armed(&t[0]));
    assert_true(casty__timer_armed(&t[1]));
    assert_int_equal(casty__wheel_count(&c.w), 2);
    casty__wheel_validate(&c.w);
    casty__wheel_cancel(&c.w, &t[1]);
    casty__wheel_cancel(&c.w, &t[3]);
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
    assert_int_equal(clock_step(&c, 1000), 0);

    /* A due timer cancelled before advance() never fires. */
    casty__wheel_add(&c.w, &t[0], 500);
    casty__wheel_add(&c.w, &t[1], 500);
    casty__wheel_cancel(&c.w, &t[0]);
    assert_int_equal(clock_step(&c, 0), 1);
    assert_int_equal(c.fired, 1);
    casty__wheel_validate(&c.w);
    casty__wheel_destroy(&c.w);
    assert_int_equal(casty__wheel_init(&c.w, 0, 0), -EINVAL);
}

static casty_timer pair[2];

static void cancel_pair(casty_timer *t, void *arg)
{
    tclock *c = arg;
    (void)t;
    c->fired++;
    casty__wheel_cancel(&c->w, &pair[0]); /* itself is already disarmed: a no-op */
    casty__wheel_cancel(&c->w, &pair[1]);
}

/* A callback may cancel a timer that is due in the same batch; it then never fires. */
static void test_timer_callback_cancels_due_timer(void **state)
{
    (void)state;
    for (int first = 0; first < 2; first++) {
        tclock c;
        clock_init(&c, 0, MS);
        casty__timer_init(&pair[0], cancel_pair, &c);
        casty__timer_init(&pair[1], cancel_pair, &c);
        casty__wheel_add(&c.w, &pair[first], 5 * MS);
        casty__wheel_add(&c.w, &pair[!first], 5 * MS);
        assert_int_equal(clock_step(&c, 10 * MS), 1);
        assert_int_equal(c.fired, 1);
        assert_false(casty__timer_armed(&pair[0]));
        assert_false(casty__timer_armed(&pair[1]));
        assert_int_equal(casty__wheel_count(&c.w), 0);
        casty__wheel_validate(&c.w);
    }
}

static void rearm_in_past(casty_timer *t, void *arg)
{
    tclock *c = arg;
    c->fired++;
    casty__wheel_add(&c->w, t, 0);
}

/* A past deadline fires at the next advance; re-arming in the past cannot spin one advance. */
static void test_timer_past_deadline_fires_at_next_advance(void **state)
{
    (void)state;
    tclock c;
    clock_init(&c, 10 * SEC, MS);
    casty_timer t, u;
    casty__timer_init(&t, rearm_in_past, &c);
    casty__wheel_add(&c.w, &t, 3 * SEC);
    assert_int_equal(casty__wheel_next_deadline(&c.w), 10 * SEC);
    casty__timer_init(&u, on_fire, &c);
    casty__wheel_add(&c.w, &u, 10 * SEC); /* exactly now is not in the future either */
    assert_int_equal(casty__wheel_advance(&c.w, 10 * SEC, UINT32_MAX), 2);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(casty__wheel_next_deadline(&c.w), 10 * SEC);
        assert_int_equal(casty__wheel_advance(&c.w, 10 * SEC, UINT32_MAX), 1);
        casty__wheel_validate(&c.w);
    }
    assert_int_equal(c.fired, 7);
    casty__wheel_cancel(&c.w, &t);
    assert_int_equal(casty__wheel_count(&c.w), 0);
}

/* max_fire caps one call; the rest stay due, oldest first, for the next call. */
static void test_timer_max_fire_leaves_rest_due(void **state)
{
    (void)state;
    tclock c;
    clock_init(&c, 0, MS);
    c.check_order = true;
    casty_timer t[10];
    for (int i = 0; i < 10; i++) {
        casty__timer_init(&t[i], on_fire, &c);
        casty__wheel_add(&c.w, &t[i], (uint64_t)(10 - i) * 100 * MS);
    }
    c.now_ns = 2 * SEC;
    assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, 3), 3);
    assert_int_equal(c.last_deadline_ns, 300 * MS);
    assert_int_equal(casty__wheel_count(&c.w), 7);
    assert_int_equal(casty__wheel_next_deadline(&c.w), 2 * SEC);
    casty__wheel_validate(&c.w);
    assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, 0), 0);
    assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, 100), 7);
    assert_int_equal(c.last_deadline_ns, SEC);
}

typedef struct periodic {
    casty_timer t;
    tclock *c;
    uint64_t start_ns, period_ns;
    uint32_t n;
} periodic;

static void on_period(casty_timer *t, void *arg)
{
    periodic *p = arg;
    p->n++;
    assert_int_equal(t->deadline_ns, p->start_ns + p->n * p->period_ns);
    assert_true(p->c->now_ns >= t->deadline_ns);
    assert_true(p->c->now_ns < t->deadline_ns + p->c->w.tick_ns + p->c->step_ns);
    /* Fixed rate: the next deadline follows the previous deadline, not now. */
    casty__wheel_add(&p->c->w, t, t->deadline_ns + p->period_ns);
}

static void run_periodic(uint64_t tick_ns, uint64_t period_ns, uint64_t step_max_ns)
{
    tclock c;
    clock_init(&c, 777, tick_ns);
    periodic p = {.c = &c, .start_ns = 777, .period_ns = period_ns};
    casty__timer_init(&p.t, on_period, &p);
    casty__wheel_add(&c.w, &p.t, p.start_ns + period_ns);
    uint64_t end_ns = p.start_ns + 1000 * period_ns;
    /* The 1000th deadline fires within a tick of end_ns, the 1001st (a period later) not yet. */
    uint64_t stop_ns = end_ns + tick_ns;
    while (c.now_ns < stop_ns) {
        uint64_t step = 1 + rng_below(step_max_ns);
        clock_step(&c, c.now_ns + step > stop_ns ? stop_ns - c.now_ns : step);
    }
    assert_int_equal(p.n, 1000);
    assert_int_equal(p.t.deadline_ns, end_ns + period_ns); /* no drift after 1000 periods */
    uint64_t due_ns = (end_ns + period_ns + tick_ns - 1) / tick_ns * tick_ns;
    assert_true(casty__wheel_next_deadline(&c.w) <= due_ns);
}

static void test_timer_periodic_fixed_rate_no_drift(void **state)
{
    (void)state;
    seed_rng("periodic");
    run_periodic(1, 10, 3);
    run_periodic(MS, 7 * MS + 500, 2 * MS);
    run_periodic(MS, 90 * SEC, 20 * SEC); /* each period cascades from level 2 */
}

/* Sleep until next_deadline(), advance, repeat: as a shard does. Returns the wake-ups. */
static uint64_t run_event_driven(tclock *c)
{
    uint64_t wakes = 0;
    for (uint64_t next; (next = casty__wheel_next_deadline(&c->w)) != UINT64_MAX; wakes++) {
        assert_true(next >= c->now_ns);
        assert_true(wakes < 100000);
        c->step_ns = next - c->now_ns;
        c->now_ns = next;
        casty__wheel_advance(&c->w, next, UINT32_MAX);
    }
    return wakes;
}

/* Deadlines seconds, minutes and days away, armed out of order, fire in order and on time. */
static void test_timer_cascades_in_order_across_levels(void **state)
{
    (void)state;
    static const uint64_t when[] = {1500 * MS,
                                    2 * SEC,
                                    59 * SEC + 999 * MS,
                                    60 * SEC,
                                    5 * 60 * SEC,
                                    59 * 60 * SEC,
                                    3 * 3600 * SEC,
                                    DAY,
                                    DAY + 1,
                                    2 * DAY,
                                    7 * DAY,
                                    30 * DAY,
                                    365 * DAY,
                                    1};
    enum { N = CASTY_ARRAY_LEN(when) };
    for (int jump = 0; jump < 2; jump++) {
        tclock c;
        clock_init(&c, 5 * SEC + 123, MS);
        c.check_order = true;
        casty_timer t[N];
        for (int i = 0; i < N; i++) {
            int j = (i * 5) % N; /* 5 is coprime with N: a fixed shuffle */
            casty__timer_init(&t[j], on_fire, &c);
            casty__wheel_add(&c.w, &t[j], c.now_ns + when[j]);
        }
        casty__wheel_validate(&c.w);
        if (jump) {
            /* One call far past every deadline still fires them in order. */
            c.step_ns = 400 * DAY;
            c.now_ns += c.step_ns;
            assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, UINT32_MAX), N);
        } else {
            /* Woken exactly at next_deadline, each fires in the tick of its deadline. */
            c.check_late = true;
            uint64_t wakes = run_event_driven(&c);
            printf("# %d timers fired after %" PRIu64 " wake-ups\n", N, wakes);
            assert_true(wakes <= (uint64_t)N * CASTY_WHEEL_LEVELS);
        }
        assert_int_equal(c.fired, N);
        assert_int_equal(casty__wheel_count(&c.w), 0);
    }
}

/* The earliest time at which any armed timer may fire: its deadline rounded up to a tick. */
static uint64_t earliest_firing(const casty_timer *t, size_t n, uint64_t tick_ns)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!casty__timer_armed(&t[i]))
            continue;
        uint64_t at = (t[i].deadline_ns + tick_ns - 1) / tick_ns * tick_ns;
        best = at < best ? at : best;
    }
    return best;
}

static void test_timer_next_deadline(void **state)
{
    (void)state;
    seed_rng("next_deadline");
    tclock c;
    clock_init(&c, 0, MS);
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
    casty_timer one;
    casty__timer_init(&one, on_fire, &c);
    casty__wheel_add(&c.w, &one, 5 * MS + 300);
    assert_int_equal(casty__wheel_next_deadline(&c.w), 6 * MS); /* exact in the finest level */
    casty__wheel_cancel(&c.w, &one);
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);

    enum { N = 2000 };
    static casty_timer t[N];
    for (int i = 0; i < N; i++) {
        casty__timer_init(&t[i], on_fire, &c);
        casty__wheel_add(&c.w, &t[i], 1 + rng_below(1ull << rng_below(40)));
    }
    uint64_t wakes = 0;
    while (casty__wheel_count(&c.w) > 0) {
        uint64_t next = casty__wheel_next_deadline(&c.w);
        assert_true(next >= c.now_ns);
        assert_true(next <= earliest_firing(t, N, MS));
        if (next > c.now_ns)
            assert_int_equal(casty__wheel_advance(&c.w, next - 1, UINT32_MAX), 0);
        c.now_ns = next;
        casty__wheel_advance(&c.w, next, UINT32_MAX);
        if (rng_below(4) == 0) /* cancelling the earliest must not leave a stale answer */
            casty__wheel_cancel(&c.w, &t[rng_below(N)]);
        assert_true(++wakes < (uint64_t)N * CASTY_WHEEL_LEVELS);
    }
    casty__wheel_validate(&c.w);
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
}

/* A deadline no clock reaches stays armed, cancellable, and reports "never". */
static void test_timer_far_edge_deadline(void **state)
{
    (void)state;
    tclock c;
    clock_init(&c, 0, 3 * MS);
    casty_timer t;
    casty__timer_init(&t, on_fire, &c);
    casty__wheel_add(&c.w, &t, UINT64_MAX);
    c.now_ns = UINT64_MAX - 1;
    assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, UINT32_MAX), 0);
    assert_true(casty__timer_armed(&t));
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
    casty__wheel_validate(&c.w);
    casty__wheel_cancel(&c.w, &t);

    clock_init(&c, 0, 1); /* with 1 ns ticks, UINT64_MAX is reachable */
    casty__wheel_add(&c.w, &t, UINT64_MAX);
    c.now_ns = UINT64_MAX;
    assert_int_equal(casty__wheel_advance(&c.w, c.now_ns, UINT32_MAX), 1);
}

enum { MILLION = 1000000 };

static void test_timer_million_add_cancel(void **state)
{
    (void)state;
    seed_rng("million_add_cancel");
    casty_timer *t = malloc(MILLION * sizeof(*t));
    uint64_t *deadline = malloc(MILLION * sizeof(*deadline));
    assert_non_null(t);
    assert_non_null(deadline);
    tclock c;
    clock_init(&c, 1000 * SEC, MS);
    for (int i = 0; i < MILLION; i++)
        deadline[i] = c.now_ns + rng_below(DAY);
    uint64_t start = ct_now_ns();
    for (int i = 0; i < MILLION; i++) {
        casty__timer_init(&t[i], on_fire, &c);
        casty__wheel_add(&c.w, &t[i], deadline[i]);
    }
    uint64_t added = ct_now_ns();
    assert_int_equal(casty__wheel_count(&c.w), MILLION);
    casty__wheel_validate(&c.w);
    uint64_t checked = ct_now_ns();
    for (int i = 0; i < MILLION; i++)
        casty__wheel_cancel(&c.w, &t[(uint64_t)i * 7919 % MILLION]); /* scattered order */
    uint64_t end = ct_now_ns();
    assert_int_equal(casty__wheel_count(&c.w), 0);
    assert_int_equal(casty__wheel_next_deadline(&c.w), UINT64_MAX);
    casty__wheel_validate(&c.w);
    uint64_t ns = (added - start) + (end - checked);
    printf("# 1e6 timers: add %.1f ns each, cancel %.1f ns each\n",
           (double)(added - start) / MILLION, (double)(end - checked) / MILLION);
    assert_true(ns < SEC * CASTY_TEST_SCALE);
    free(deadline);
    free(t);
}

static void test_timer_million_all_fire(void **state)
{
    (void)state;
    seed_rng("million_all_fire");
    casty_timer *t = malloc(MILLION * sizeof(*t));
    assert_non_null(t);
    tclock c;
    clock_init(&c, 0, MS);
    c.check_late = true;
    for (int i = 0; i < MILLION; i++) {
        casty__timer_init(&t[i], on_fire, &c);
        casty__wheel_add(&c.w, &t[i], rng_below(600 * SEC));
    }
    uint64_t start = ct_now_ns();
    uint64_t advances = 0;
    while (casty__wheel_count(&c.w) > 0) {
        clock_step(&c, 1 + rng_below(20 * MS));
        advances++;
    }
    uint64_t end = ct_now_ns();
    assert_int_equal(c.fired, MILLION);
    printf("# 1e6 timers fired over %" PRIu64 " advances in %.0f ms\n", advances,
           (double)(end - start) / 1e6);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_never_early_within_one_tick),
        cmocka_unit_test(test_timer_cancel),
        cmocka_unit_test(test_timer_callback_cancels_due_timer),
        cmocka_unit_test(test_timer_past_deadline_fires_at_next_advance),
        cmocka_unit_test(test_timer_max_fire_leaves_rest_due),
        cmocka_unit_test(test_timer_periodic_fixed_rate_no_drift),
        cmocka_unit_test(test_timer_cascades_in_order_across_levels),
        cmocka_unit_test(test_timer_next_deadline),
        cmocka_unit_test(test_timer_far_edge_deadline),
        cmocka_unit_test(test_timer_million_add_cancel),
        cmocka_unit_test(test_timer_million_all_fire),
    };
    return cmocka_run_group_tests_name("core/timer", tests, NULL, NULL);
}
