/* stats_test - nearest-rank percentiles, summaries and Jain's fairness index. */
#include <math.h>

#include "table.h"
#include "stats.h"

struct pct_case {
    const char *name;
    double v[10];
    size_t n;
    double p;
    double want;
};

static const struct pct_case pct_cases[] = {
    {"p50 of 1..10", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10, 50, 5},
    {"p90 of 1..10", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10, 90, 9},
    {"p99 of 1..10", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10, 99, 10},
    {"p100 is max", {1, 2, 3}, 3, 100, 3},
    {"p0 is min", {1, 2, 3}, 3, 0, 1},
    {"single value", {7}, 1, 50, 7},
    {"p50 of two", {1, 2}, 2, 50, 1},
    {"p51 of two", {1, 2}, 2, 51, 2},
    {"p25 of four", {10, 20, 30, 40}, 4, 25, 10},
    {"p26 of four", {10, 20, 30, 40}, 4, 26, 20},
};

static void test_percentile(void **state)
{
    const struct pct_case *tc = *state;

    assert_float_equal(stats_percentile(tc->v, tc->n, tc->p), tc->want, 1e-12);
}

static void test_empty(void **state)
{
    struct stats_summary s;

    (void)state;
    assert_true(isnan(stats_percentile(NULL, 0, 50)));
    stats_summarize(NULL, 0, &s);
    assert_int_equal(s.count, 0);
    assert_true(isnan(s.mean) && isnan(s.max));
}

static void test_summary_sorts(void **state)
{
    double v[] = {5, 1, 4, 2, 3, 100};
    struct stats_summary s;

    (void)state;
    stats_summarize(v, 6, &s);
    assert_int_equal(s.count, 6);
    assert_float_equal(s.min, 1, 1e-12);
    assert_float_equal(s.mean, 115.0 / 6, 1e-9);
    assert_float_equal(s.p50, 3, 1e-12);
    assert_float_equal(s.p90, 100, 1e-12);
    assert_float_equal(s.max, 100, 1e-12);
}

struct jain_case {
    const char *name;
    double x[4];
    size_t n;
    double want;
};

static const struct jain_case jain_cases[] = {
    {"jain equal shares", {5, 5, 5}, 3, 1.0},
    {"jain one gets all", {9, 0, 0}, 3, 1.0 / 3},
    {"jain two of four", {1, 1, 0, 0}, 4, 0.5},
    {"jain uneven", {1, 2, 3}, 3, 36.0 / 42},
};

static void test_jain(void **state)
{
    const struct jain_case *tc = *state;

    assert_float_equal(stats_jain(tc->x, tc->n), tc->want, 1e-9);
}

static void test_jain_degenerate(void **state)
{
    double z[3] = {0, 0, 0};

    (void)state;
    assert_true(isnan(stats_jain(z, 3)));
    assert_true(isnan(stats_jain(NULL, 0)));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, pct_cases, test_percentile);
    TABLE_ADD(tests, &n, jain_cases, test_jain);
    TEST_ADD(tests, &n, test_empty);
    TEST_ADD(tests, &n, test_summary_sorts);
    TEST_ADD(tests, &n, test_jain_degenerate);
    return _cmocka_run_group_tests("stats", tests, n, NULL, NULL);
}
