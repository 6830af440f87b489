/* numfmt_test - table-driven tests of integer and fixed-point formatting, and a sweep
 * that compares numfmt_fixed with printf wherever printf's rounding is not a tie. */
#include <math.h>

#include "table.h"
#include "numfmt.h"

struct int_case {
    const char *name;
    int64_t v;
    const char *want;
};

static const struct int_case int_cases[] = {
    {"zero", 0, "0"},
    {"one digit", 7, "7"},
    {"negative", -42, "-42"},
    {"timestamp us", 1795517049240199LL, "1795517049240199"},
    {"int64 max", INT64_MAX, "9223372036854775807"},
    {"int64 min", INT64_MIN, "-9223372036854775808"},
};

struct fixed_case {
    const char *name;
    double v;
    int decimals;
    const char *want;
};

static const struct fixed_case fixed_cases[] = {
    {"zero three decimals", 0.0, 3, "0.000"},
    {"negative zero", -0.0, 3, "-0.000"},
    {"ms with three decimals", 12.3456, 3, "12.346"},
    {"below one", 0.25, 2, "0.25"},
    {"small negative", -0.0625, 4, "-0.0625"},
    {"leading zeros in fraction", 3.000123, 6, "3.000123"},
    {"no decimals rounds", 2.6, 0, "3"},
    {"carry into integer part", 9.9996, 3, "10.000"},
    {"nine decimals", 1.123456789, 9, "1.123456789"},
    {"decimals clamped to 9", 0.5, 12, "0.500000000"},
    {"negative decimals become 0", 7.4, -1, "7"},
    {"large, exact path", 1795517049.240199, 6, "1795517049.240199"},
    {"beyond exact: printf", 1e20, 2, "100000000000000000000.00"},
    {"NaN writes nothing", NAN, 3, ""},
    {"infinity writes nothing", INFINITY, 3, ""},
};

static void test_int(void **state)
{
    const struct int_case *tc = *state;
    char buf[NUMFMT_MAX];
    size_t n = numfmt_int(buf, tc->v);

    assert_span_equal(buf, n, tc->want);
    assert_int_equal(buf[n], 0);
}

static void test_uint_max(void **state)
{
    char buf[NUMFMT_MAX];

    (void)state;
    assert_span_equal(buf, numfmt_uint(buf, UINT64_MAX), "18446744073709551615");
    assert_span_equal(buf, numfmt_uint(buf, 0), "0");
}

static void test_fixed(void **state)
{
    const struct fixed_case *tc = *state;
    char buf[NUMFMT_MAX];
    size_t n = numfmt_fixed(buf, tc->v, tc->decimals);

    assert_span_equal(buf, n, tc->want);
}

/* every value i / 1000 + 1/7 (never a rounding tie) formats as printf formats it */
static void test_fixed_matches_printf(void **state)
{
    char mine[NUMFMT_MAX], theirs[64];

    (void)state;
    for (int d = 0; d <= 6; d += 3)
        for (int i = -200000; i <= 200000; i += 7) {
            double v = i / 1000.0 + 1.0 / 7.0;
            size_t n = numfmt_fixed(mine, v, d);
            snprintf(theirs, sizeof(theirs), "%.*f", d, v);
            if (n != strlen(theirs) || memcmp(mine, theirs, n) != 0)
                fail_msg("%.17g with %d decimals: got %.*s, printf %s", v, d, (int)n, mine, theirs);
        }
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, int_cases, test_int);
    TEST_ADD(tests, &n, test_uint_max);
    TABLE_ADD(tests, &n, fixed_cases, test_fixed);
    TEST_ADD(tests, &n, test_fixed_matches_printf);
    return _cmocka_run_group_tests("numfmt", tests, n, NULL, NULL);
}
