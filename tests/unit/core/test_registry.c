/* core/registry: insert/get-or-create, lookup, remove, growth across stripes, threads. */
#include <pthread.h>
#include <string.h>

#include "core/hashring.h"
#include "core/registry.h"
#include "support/casty_test.h"

static casty_name_entry *entry(const char *name, void *cell)
{
    casty_name_entry *e =
        casty__name_entry_new(name, strlen(name), casty__hash_name(name, strlen(name)));
    assert_non_null(e);
    e->cell = cell;
    return e;
}

static void test_registry_insert_lookup_remove(void **state)
{
    (void)state;
    casty_registry reg;
    assert_int_equal(casty__registry_init(&reg), 0);
    int a, b;
    casty_name_entry *e = entry("alpha", &a), out;
    assert_int_equal(casty__registry_insert(&reg, e, &out), 0);
    casty_name_entry *dup = entry("alpha", &b);
    assert_int_equal(casty__registry_insert(&reg, dup, &out), 1);
    assert_ptr_equal(out.cell, &a);
    casty__name_entry_free(dup);
    assert_int_equal(casty__registry_lookup(&reg, e->hash, "alpha", 5, &out), 0);
    assert_ptr_equal(out.cell, &a);
    assert_int_equal(casty__registry_lookup(&reg, e->hash, "alphb", 5, &out), -ENOENT);
    casty__registry_remove(&reg, e);
    uint64_t h = casty__hash_name("alpha", 5);
    assert_int_equal(casty__registry_lookup(&reg, h, "alpha", 5, &out), -ENOENT);
    casty__registry_destroy(&reg);
}

static void test_registry_grows_and_keeps_everything(void **state)
{
    (void)state;
    casty_registry reg;
    assert_int_equal(casty__registry_init(&reg), 0);
    enum { N = 20000 };
    static casty_name_entry *es[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "actor-%d", i);
        es[i] = entry(name, (void *)(uintptr_t)(i + 1));
        casty_name_entry out;
        assert_int_equal(casty__registry_insert(&reg, es[i], &out), 0);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "actor-%d", i);
        casty_name_entry out;
        size_t len = strlen(name);
        assert_int_equal(casty__registry_lookup(&reg, casty__hash_name(name, len), name, len, &out),
                         0);
        assert_int_equal((uintptr_t)out.cell, (uintptr_t)(i + 1));
    }
    for (int i = 0; i < N; i += 2)
        casty__registry_remove(&reg, es[i]);
    /* destroy frees the odd ones still registered */
    casty__registry_destroy(&reg);
}

struct racer {
    casty_registry *reg;
    int won;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 2000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "contested-%d", i);
        casty_name_entry *e =
            casty__name_entry_new(name, strlen(name), casty__hash_name(name, strlen(name)));
        casty_name_entry out;
        if (casty__registry_insert(r->reg, e, &out) == 0)
            r->won++;
        else
            casty__name_entry_free(e);
    }
    return NULL;
}

static void test_registry_exactly_one_winner_per_name(void **state)
{
    (void)state;
    casty_registry reg;
    assert_int_equal(casty__registry_init(&reg), 0);
    struct racer r[4] = {{&reg, 0}, {&reg, 0}, {&reg, 0}, {&reg, 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, race, &r[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r[0].won + r[1].won + r[2].won + r[3].won, 2000);
    casty__registry_destroy(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_insert_lookup_remove),
        cmocka_unit_test(test_registry_grows_and_keeps_everything),
        cmocka_unit_test(test_registry_exactly_one_winner_per_name),
    };
    return cmocka_run_group_tests_name("core/registry", tests, NULL, NULL);
}
