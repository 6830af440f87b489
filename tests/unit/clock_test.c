/* clock_test - calendar arithmetic and ISO 8601 formatting, and the clocks' sanity. */
#include <time.h>

#include "table.h"
#include "clock.h"

struct civil_case {
    const char *name;
    int64_t year;
    unsigned month, day;
    int64_t days;
};

static const struct civil_case civil_cases[] = {
    {"epoch", 1970, 1, 1, 0},
    {"day before epoch", 1969, 12, 31, -1},
    {"leap day 2000", 2000, 2, 29, 11016},
    {"after leap day 2000", 2000, 3, 1, 11017},
    {"2026-11-24", 2026, 11, 24, 20781},
    {"year 1900", 1900, 1, 1, -25567},
    {"year 2100 march", 2100, 3, 1, 47541},
};

static void test_civil(void **state)
{
    const struct civil_case *tc = *state;
    int64_t y;
    unsigned m, d;

    assert_int_equal(clock_days_from_civil(tc->year, tc->month, tc->day), tc->days);
    clock_civil_from_days(tc->days, &y, &m, &d);
    assert_int_equal(y, tc->year);
    assert_int_equal(m, tc->month);
    assert_int_equal(d, tc->day);
}

struct iso_case {
    const char *name;
    int64_t us;
    const char *want;
};

static const struct iso_case iso_cases[] = {
    {"iso epoch", 0, "1970-01-01T00:00:00.000000Z"},
    {"iso micro", 1795500839123456, "2026-11-24T06:13:59.123456Z"},
    {"iso negative", -1, "1969-12-31T23:59:59.999999Z"},
};

static void test_iso(void **state)
{
    const struct iso_case *tc = *state;
    char buf[CLOCK_ISO8601_LEN];

    size_t n = clock_format_iso8601_us(tc->us, buf, sizeof(buf));
    assert_span_equal(buf, n, tc->want);
}

static void test_iso_small(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(clock_format_iso8601_us(0, buf, sizeof(buf)), 0);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = clock_realtime_us();
    int64_t t = (int64_t)time(NULL);
    assert_true(now / 1000000 >= t - 1 && now / 1000000 <= t + 1);
    int64_t a = clock_monotonic_us();
    int64_t b = clock_monotonic_us();
    assert_true(b >= a);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, civil_cases, test_civil);
    TABLE_ADD(tests, &n, iso_cases, test_iso);
    TEST_ADD(tests, &n, test_iso_small);
    TEST_ADD(tests, &n, test_clocks);
    return _cmocka_run_group_tests("clock", tests, n, NULL, NULL);
}
