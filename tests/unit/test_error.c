/*
 * The error map (include/casty/error.h): every code in CASTY_ERRNO_MAP has a
 * distinct value, name and message, casty_strerror() and casty_err_name()
 * return exactly the map's strings for both signs, unknown codes (INT_MIN
 * included) fall back to "unknown error" / "UNKNOWN", and casty_version()
 * matches the header. Pure functions: no system is started.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "support/casty_test.h"

typedef struct {
    const char *name; /* the symbolic name as written in the map */
    int value;        /* positive; Casty calls return its negation */
    const char *msg;
} error_entry;

static const error_entry errors[] = {
#define CASTY_TEST_ENTRY(name, value, msg) {#name, (value), (msg)},
    CASTY_ERRNO_MAP(CASTY_TEST_ENTRY)
#undef CASTY_TEST_ENTRY
};

#define ERRORS_LEN (sizeof(errors) / sizeof(errors[0]))

static bool in_map(int code)
{
    for (size_t i = 0; i < ERRORS_LEN; i++) {
        if (errors[i].value == code)
            return true;
    }
    return false;
}

static void test_error_map_is_not_empty(void **state)
{
    (void)state;
    assert_true(ERRORS_LEN >= 3);
    /* The codes the API documents by name must be in the map. */
    assert_true(in_map(ETIMEDOUT));
    assert_true(in_map(EINVAL));
    assert_true(in_map(CASTY_EDEAD));
}

static void test_error_codes_are_positive_and_in_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERRORS_LEN; i++) {
        const error_entry *e = &errors[i];
        assert_true(e->value > 0);
        /* A standard errno stays below Casty's reserved range; a Casty code is inside it. */
        bool casty_only = e->value >= 4000;
        if (casty_only)
            assert_in_range(e->value, 4000, 4095);
    }
}

static void test_error_values_names_and_messages_are_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERRORS_LEN; i++) {
        assert_non_null(errors[i].name);
        assert_non_null(errors[i].msg);
        assert_true(errors[i].name[0] != '\0');
        assert_true(errors[i].msg[0] != '\0');
        for (size_t j = i + 1; j < ERRORS_LEN; j++) {
            if (errors[i].value == errors[j].value)
                fail_msg("%s and %s share the value %d", errors[i].name, errors[j].name,
                         errors[i].value);
            if (strcmp(errors[i].name, errors[j].name) == 0)
                fail_msg("the name %s appears twice", errors[i].name);
            if (strcmp(errors[i].msg, errors[j].msg) == 0)
                fail_msg("%s and %s share the message \"%s\"", errors[i].name, errors[j].name,
                         errors[i].msg);
        }
    }
}

static void test_error_strerror_and_name_follow_the_map(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERRORS_LEN; i++) {
        const error_entry *e = &errors[i];
        assert_string_equal(casty_strerror(-e->value), e->msg);
        assert_string_equal(casty_err_name(-e->value), e->name);
    }
}

static void test_error_sign_does_not_matter(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERRORS_LEN; i++) {
        int v = errors[i].value;
        assert_ptr_equal(casty_strerror(-v), casty_strerror(v));
        assert_string_equal(casty_strerror(-v), casty_strerror(v));
        assert_ptr_equal(casty_err_name(-v), casty_err_name(v));
        assert_string_equal(casty_err_name(-v), casty_err_name(v));
    }
}

static void test_error_unknown_codes_fall_back(void **state)
{
    (void)state;
    /* Codes outside the map, at the edges of the reserved range and of int. */
    static const int unknown[] = {
        3999, 4000, 4004, 4095, 4096, 99999, INT_MAX, -INT_MAX, INT_MIN,
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        int code = unknown[i];
        if (in_map(code) || (code != INT_MIN && in_map(-code)))
            continue; /* a later release mapped it; nothing to check here */
        assert_string_equal(casty_strerror(code), "unknown error");
        assert_string_equal(casty_err_name(code), "UNKNOWN");
    }
    /* A standard errno that Casty never returns is unknown to it too. */
    if (!in_map(EPERM)) {
        assert_string_equal(casty_strerror(-EPERM), "unknown error");
        assert_string_equal(casty_err_name(-EPERM), "UNKNOWN");
    }
    /* 0 is not an error; whatever it says, it is a string. */
    assert_non_null(casty_strerror(0));
    assert_non_null(casty_err_name(0));
}

static void test_error_version_matches_header(void **state)
{
    (void)state;
    assert_non_null(casty_version());
    assert_string_equal(casty_version(), CASTY_VERSION_STRING);

    char expect[64];
    int n = snprintf(expect, sizeof(expect), "%d.%d.%d", CASTY_VERSION_MAJOR, CASTY_VERSION_MINOR,
                     CASTY_VERSION_PATCH);
    assert_in_range(n, 5, (int)sizeof(expect) - 1);
    assert_string_equal(CASTY_VERSION_STRING, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_map_is_not_empty),
        cmocka_unit_test(test_error_codes_are_positive_and_in_range),
        cmocka_unit_test(test_error_values_names_and_messages_are_distinct),
        cmocka_unit_test(test_error_strerror_and_name_follow_the_map),
        cmocka_unit_test(test_error_sign_does_not_matter),
        cmocka_unit_test(test_error_unknown_codes_fall_back),
        cmocka_unit_test(test_error_version_matches_header),
    };
    return cmocka_run_group_tests_name("core/error", tests, NULL, NULL);
}
