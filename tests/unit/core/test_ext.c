/* core/ext: the lazily allocated cell extension and its small ref vectors. */
#include <string.h>

#include "core/ext.h"
#include "support/casty_test.h"

static void test_litevec_add_dedup_remove(void **state)
{
    (void)state;
    static casty_cell cells[40];
    casty_litevec vec = {0};
    for (uint32_t i = 0; i < 40; i++)
        assert_int_equal(casty__litevec_add(&vec, (casty_lite){.cell = &cells[i], .gen = i}), 0);
    assert_int_equal(vec.n, 40);
    /* The same actor twice is one entry; another generation of the same cell is another actor. */
    assert_int_equal(casty__litevec_add(&vec, (casty_lite){.cell = &cells[3], .gen = 3}), 1);
    assert_int_equal(casty__litevec_add(&vec, (casty_lite){.cell = &cells[3], .gen = 4}), 0);
    assert_int_equal(vec.n, 41);
    assert_true(casty__litevec_has(&vec, &cells[3], 4));
    assert_true(casty__litevec_remove(&vec, &cells[3], 3));
    assert_false(casty__litevec_remove(&vec, &cells[3], 3));
    assert_false(casty__litevec_has(&vec, &cells[3], 3));
    assert_true(casty__litevec_has(&vec, &cells[3], 4));
    for (uint32_t i = 0; i < 40; i++) {
        if (i != 3)
            assert_true(casty__litevec_remove(&vec, &cells[i], i));
    }
    assert_true(casty__litevec_remove(&vec, &cells[3], 4));
    assert_int_equal(vec.n, 0);
    casty__mem_free(vec.v);
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
    assert_int_equal(casty__litevec_add(&ext->children, (casty_lite){.cell = &cell}), 0);
    ext->arg = casty__mem_alloc(8);
    casty__cell_ext_free(&cell); /* frees the vectors and the arg too (ASan checks) */
    assert_null(cell.ext);
    casty__cell_ext_free(&cell);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_litevec_add_dedup_remove),
        cmocka_unit_test(test_ext_lazy_and_freed),
    };
    return cmocka_run_group_tests_name("core/ext", tests, NULL, NULL);
}
