/* numparse_test - table-driven tests of strict number parsing: whole text, range, and
 * every way a number can be malformed. */
#include "table.h"
#include "numparse.h"

struct double_case {
    const char *name;
    const char *text;
    double min, max;
    int ok;
    double want;
};

static const struct double_case double_cases[] = {
    {"double whole", "30", 0, 86400, 0, 30},
    {"double fraction", "0.25", 0, 10, 0, 0.25},
    {"double exponent", "1e3", 0, 1e4, 0, 1000},
    {"double at min", "0", 0, 1, 0, 0},
    {"double at max", "86400", 0, 86400, 0, 86400},
    {"double below min", "0.0001", 0.001, 1, -1, 0},
    {"double above max", "86401", 0, 86400, -1, 0},
    {"double negative", "-1", 0, 10, -1, 0},
    {"double trailing text", "3s", 0, 10, -1, 0},
    {"double leading blank ok for strtod", " 3", 0, 10, 0, 3},
    {"double empty", "", 0, 10, -1, 0},
    {"double not a number", "abc", 0, 10, -1, 0},
    {"double nan", "nan", 0, 10, -1, 0},
    {"double inf", "inf", 0, 1e300, -1, 0},
    {"double overflow", "1e999", 0, 1e300, -1, 0},
};

static void test_double(void **state)
{
    const struct double_case *tc = *state;
    double v = -42;

    assert_int_equal(numparse_double(tc->text, tc->min, tc->max, &v), tc->ok);
    if (tc->ok == 0)
        assert_true(v == tc->want);
    else
        assert_true(v == -42); /* untouched on error */
}

struct u64_case {
    const char *name;
    const char *text;
    uint64_t max;
    int ok;
    uint64_t want;
};

static const struct u64_case u64_cases[] = {
    {"u64 zero", "0", 10, 0, 0},
    {"u64 at max", "10000", 10000, 0, 10000},
    {"u64 above max", "10001", 10000, -1, 0},
    {"u64 largest", "18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
    {"u64 overflow", "18446744073709551616", UINT64_MAX, -1, 0},
    {"u64 sign", "+5", 10, -1, 0},
    {"u64 negative", "-5", 10, -1, 0},
    {"u64 blank", " 5", 10, -1, 0},
    {"u64 trailing", "5x", 10, -1, 0},
    {"u64 fraction", "5.0", 10, -1, 0},
    {"u64 empty", "", 10, -1, 0},
};

static void test_u64(void **state)
{
    const struct u64_case *tc = *state;
    uint64_t v = 42;

    assert_int_equal(numparse_u64(tc->text, tc->max, &v), tc->ok);
    assert_true(v == (tc->ok == 0 ? tc->want : 42));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, double_cases, test_double);
    TABLE_ADD(tests, &n, u64_cases, test_u64);
    return _cmocka_run_group_tests("numparse", tests, n, NULL, NULL);
}
