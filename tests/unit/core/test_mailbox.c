/* core/cell mailbox and core/env payloads: FIFO, counts, inline vs heap payloads. */
#include <string.h>

#include "alloc/heap.h"
#include "core/cell.h"
#include "support/casty_test.h"

static void test_mailbox_fifo_and_count(void **state)
{
    (void)state;
    static casty_cell cell;
    static casty_env envs[100];
    memset(&cell, 0, sizeof(cell));
    assert_null(casty__mailbox_pop(&cell));
    for (int i = 0; i < 100; i++) {
        envs[i].msg.type = (uint32_t)i;
        casty__mailbox_push(&cell, &envs[i]);
    }
    assert_int_equal(cell.mb_count, 100);
    for (int i = 0; i < 50; i++)
        assert_int_equal(casty__mailbox_pop(&cell)->msg.type, i);
    casty__mailbox_push(&cell, &envs[0]);
    for (int i = 50; i < 100; i++)
        assert_int_equal(casty__mailbox_pop(&cell)->msg.type, i);
    assert_ptr_equal(casty__mailbox_pop(&cell), &envs[0]);
    assert_null(casty__mailbox_pop(&cell));
    assert_int_equal(cell.mb_count, 0);
    assert_null(cell.mb_tail);
}

static void test_env_inline_and_heap_payload(void **state)
{
    (void)state;
    static casty_env env;
    unsigned char data[CASTY_ENV_INLINE + 1];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)i;
    memset(&env, 0, sizeof(env));
    assert_int_equal(casty__env_set_payload(&env, data, CASTY_ENV_INLINE), 0);
    assert_ptr_equal(env.msg.data, env.inline_data);
    assert_int_equal(env.msg.len, CASTY_ENV_INLINE);
    assert_memory_equal(env.msg.data, data, CASTY_ENV_INLINE);
    assert_false(env.flags & CASTY_ENV_HEAP_PAYLOAD);
    casty__env_drop_payload(&env);

    assert_int_equal(casty__env_set_payload(&env, data, sizeof(data)), 0);
    assert_ptr_not_equal(env.msg.data, env.inline_data);
    assert_true(env.flags & CASTY_ENV_HEAP_PAYLOAD);
    assert_int_equal((uintptr_t)env.msg.data % 16, 0);
    assert_memory_equal(env.msg.data, data, sizeof(data));
    casty__env_drop_payload(&env);
    assert_false(env.flags & CASTY_ENV_HEAP_PAYLOAD);
    assert_null(env.msg.data);

    assert_int_equal(casty__env_set_payload(&env, NULL, 0), 0);
    assert_int_equal(env.msg.len, 0);
}

static void test_layout_budgets(void **state)
{
    (void)state;
    assert_int_equal(sizeof(casty_env), 128);
    assert_true(sizeof(casty_cell) <= 256);
    assert_int_equal(sizeof(casty_ref), 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox_fifo_and_count),
        cmocka_unit_test(test_env_inline_and_heap_payload),
        cmocka_unit_test(test_layout_budgets),
    };
    return cmocka_run_group_tests_name("core/mailbox", tests, NULL, NULL);
}
