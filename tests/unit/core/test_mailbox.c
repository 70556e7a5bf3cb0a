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

static casty_env *env_of(casty_env *e, uint32_t type, uint16_t kind, uint16_t flags)
{
    memset(e, 0, sizeof(*e));
    e->msg.type = type;
    e->kind = kind;
    e->flags = flags;
    return e;
}

/* System envelopes overtake user ones but keep their own FIFO; only counted users count. */
static void test_mailbox_system_prefix(void **state)
{
    (void)state;
    static casty_cell cell;
    static casty_env e[8];
    memset(&cell, 0, sizeof(cell));
    cell.mb_cap = 100;
    casty__mailbox_push(&cell, env_of(&e[0], 1, CASTY_ENV_USER, 0));
    casty__mailbox_push(&cell, env_of(&e[1], 2, CASTY_ENV_STOP, 0));
    casty__mailbox_push_sys(&cell, env_of(&e[2], 10, CASTY_ENV_SYS, 0));
    casty__mailbox_push(&cell, env_of(&e[3], 3, CASTY_ENV_USER, CASTY_ENV_UNCOUNTED));
    casty__mailbox_push_sys(&cell, env_of(&e[4], 11, CASTY_ENV_SYS, 0));
    assert_int_equal(cell.mb_count,
                     1); /* STOP, SYS and the uncounted reply are outside the bound */
    assert_true(casty__mailbox_has_sys(&cell));
    uint32_t order[] = {10, 11, 1, 2, 3};
    for (int i = 0; i < 5; i++) {
        if (i == 2)
            assert_false(casty__mailbox_has_sys(&cell));
        assert_int_equal(casty__mailbox_pop(&cell)->msg.type, order[i]);
    }
    assert_null(casty__mailbox_pop(&cell));
    assert_null(cell.mb_tail);
    assert_null(cell.mb_sys_tail);
    assert_int_equal(cell.mb_count, 0);
    /* A system envelope into an empty mailbox is head and tail. */
    casty__mailbox_push_sys(&cell, env_of(&e[5], 12, CASTY_ENV_SYS, 0));
    assert_ptr_equal(cell.mb_tail, &e[5]);
    casty__mailbox_push(&cell, env_of(&e[6], 4, CASTY_ENV_USER, 0));
    assert_int_equal(casty__mailbox_pop(&cell)->msg.type, 12);
    assert_int_equal(casty__mailbox_pop(&cell)->msg.type, 4);
    assert_null(casty__mailbox_pop(&cell));
}

/* Unlinking from the middle and the tail keeps the list and the system tail consistent. */
static void test_mailbox_unlink(void **state)
{
    (void)state;
    static casty_cell cell;
    static casty_env e[4];
    memset(&cell, 0, sizeof(cell));
    cell.mb_cap = 100;
    casty__mailbox_push_sys(&cell, env_of(&e[0], 10, CASTY_ENV_SYS, 0));
    for (uint32_t i = 1; i < 4; i++)
        casty__mailbox_push(&cell, env_of(&e[i], i, CASTY_ENV_USER, 0));
    casty__mailbox_unlink(&cell, &e[1], &e[2]); /* middle */
    casty__mailbox_unlink(&cell, &e[1], &e[3]); /* tail */
    assert_ptr_equal(cell.mb_tail, &e[1]);
    casty__mailbox_unlink(&cell, NULL, &e[0]); /* the only system envelope, at the head */
    assert_null(cell.mb_sys_tail);
    assert_int_equal(cell.mb_count, 1);
    assert_ptr_equal(casty__mailbox_pop(&cell), &e[1]);
    assert_null(cell.mb_head);
    assert_null(cell.mb_tail);
}

/* A FAIL mailbox closes its sender gate at capacity and opens it one below. */
static void test_mailbox_gate(void **state)
{
    (void)state;
    static casty_cell cell;
    static casty_env e[3];
    memset(&cell, 0, sizeof(cell));
    cell.mb_cap = 2;
    cell.mb_policy = CASTY_MAILBOX_FAIL;
    casty__mailbox_push(&cell, env_of(&e[0], 1, CASTY_ENV_USER, 0));
    assert_int_equal(atomic_load(&cell.mb_gate), 0);
    casty__mailbox_push(&cell, env_of(&e[1], 2, CASTY_ENV_USER, 0));
    assert_int_equal(atomic_load(&cell.mb_gate), CASTY_GATE_CLOSED);
    casty__mailbox_push(&cell, env_of(&e[2], 3, CASTY_ENV_USER, CASTY_ENV_UNCOUNTED));
    assert_int_equal(casty__mailbox_pop(&cell)->msg.type, 1);
    assert_int_equal(atomic_load(&cell.mb_gate), 0);
    /* The drop policies never close the gate: they act on arrival. */
    memset(&cell, 0, sizeof(cell));
    cell.mb_cap = 1;
    cell.mb_policy = CASTY_MAILBOX_DROP_NEW;
    casty__mailbox_push(&cell, env_of(&e[0], 1, CASTY_ENV_USER, 0));
    assert_int_equal(atomic_load(&cell.mb_gate), 0);
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
        cmocka_unit_test(test_mailbox_system_prefix),
        cmocka_unit_test(test_mailbox_unlink),
        cmocka_unit_test(test_mailbox_gate),
        cmocka_unit_test(test_env_inline_and_heap_payload),
        cmocka_unit_test(test_layout_budgets),
    };
    return cmocka_run_group_tests_name("core/mailbox", tests, NULL, NULL);
}
