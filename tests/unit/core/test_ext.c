/* core/ext: the lazily allocated cell extension and its small ref vectors. */
#include <string.h>

#include "core/ext.h"
#include "support/casty_test.h"

static void test_liteset_add_dedup_remove(void **state)
{
    (void)state;
    static casty_cell cells[40];
    casty_liteset vec = {0};
    for (uint32_t i = 0; i < 40; i++)
        assert_int_equal(casty__liteset_add(&vec, (casty_lite){.cell = &cells[i], .gen = i}), 0);
    assert_int_equal(vec.n, 40);
    /* The same actor twice is one entry; another generation of the same cell is another actor. */
    assert_int_equal(casty__liteset_add(&vec, (casty_lite){.cell = &cells[3], .gen = 3}), 1);
    assert_int_equal(casty__liteset_add(&vec, (casty_lite){.cell = &cells[3], .gen = 4}), 0);
    assert_int_equal(vec.n, 41);
    assert_true(casty__liteset_has(&vec, &cells[3], 4));
    assert_true(casty__liteset_remove(&vec, &cells[3], 3));
    assert_false(casty__liteset_remove(&vec, &cells[3], 3));
    assert_false(casty__liteset_has(&vec, &cells[3], 3));
    assert_true(casty__liteset_has(&vec, &cells[3], 4));
    for (uint32_t i = 0; i < 40; i++) {
        if (i != 3)
            assert_true(casty__liteset_remove(&vec, &cells[i], i));
    }
    assert_true(casty__liteset_remove(&vec, &cells[3], 4));
    assert_int_equal(vec.n, 0);
    casty__mem_free(vec.slots);
}

/*
 * Against a reference array: random adds and removes over a small key space
 * (many collisions, long probe runs), so that backward-shift deletion is
 * exercised in every position; the walk visits each member exactly once.
 */
static void test_liteset_matches_a_model(void **state)
{
    (void)state;
    enum { KEYS = 512, STEPS = 200000 };
    static casty_cell cells[KEYS / 4];
    static bool model[KEYS];
    memset(model, 0, sizeof(model));
    casty_liteset set = {0};
    uint32_t members = 0;
    uint64_t x = 0x243F6A8885A308D3u;
    for (int step = 0; step < STEPS; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t k = (uint32_t)(x % KEYS);
        casty_cell *c = &cells[k / 4];
        uint32_t gen = k % 4; /* four generations of each cell: distinct actors */
        if ((x >> 32) & 1) {
            int rc = casty__liteset_add(&set, (casty_lite){.cell = c, .gen = gen});
            assert_int_equal(rc, model[k] ? 1 : 0);
            members += !model[k];
            model[k] = true;
        } else {
            assert_int_equal(casty__liteset_remove(&set, c, gen), model[k]);
            members -= model[k];
            model[k] = false;
        }
        assert_int_equal(set.n, members);
        if (step % 4096 == 0) {
            for (uint32_t j = 0; j < KEYS; j++)
                assert_int_equal(casty__liteset_has(&set, &cells[j / 4], j % 4), model[j]);
            uint32_t walked = 0;
            CASTY_LITESET_FOREACH(&set, it)
            {
                uint32_t j = (uint32_t)(it->cell - cells) * 4 + it->gen;
                assert_true(model[j]);
                walked++;
            }
            assert_int_equal(walked, members);
        }
    }
    casty__mem_free(set.slots);
}

static void test_ext_lazy_and_freed(void **state)
{
    (void)state;
    static casty_cell cell;
    memset(&cell, 0, sizeof(cell));
    assert_null(cell.ext);
    casty_cell_ext *ext = casty__cell_ext(&cell);
    assert_non_null(ext);
    assert_ptr_equal(casty__cell_ext(&cell), ext); /* allocated once */
    assert_ptr_equal(ext->cell, &cell);
    assert_int_equal(casty__liteset_add(&ext->children, (casty_lite){.cell = &cell}), 0);
    ext->arg = casty__mem_alloc(8);
    casty__cell_ext_free(&cell); /* frees the vectors and the arg too (ASan checks) */
    assert_null(cell.ext);
    casty__cell_ext_free(&cell);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liteset_add_dedup_remove),
        cmocka_unit_test(test_liteset_matches_a_model),
        cmocka_unit_test(test_ext_lazy_and_freed),
    };
    return cmocka_run_group_tests_name("core/ext", tests, NULL, NULL);
}
