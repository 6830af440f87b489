/* latency_test - latency arithmetic: precise forms, the study's header-only forms, and
 * missing inputs giving NAN rather than zero. */
#include <math.h>

#include "table.h"
#include "latency.h"

#define T0 1795500839LL /* Tue, 24 Nov 2026 06:13:59 +0000 */
#define N NAN

struct lat_case {
    const char *name;
    struct latency_input in;
    double relay, e2e, e2e_intended, relay_hdr, e2e_hdr;
};

static const struct lat_case lat_cases[] = {
    {"all present",
     {(T0 + 12) * 1000000 + 500000, T0 + 12, T0 + 2, T0, T0 * 1000000 + 250000, T0 * 1000000, 1, 1, 1, 1},
     10.5, 12.25, 12.5, 10, 12},
    {"no stamp uses Date",
     {(T0 + 3) * 1000000, T0 + 3, T0 + 1, T0, 0, 0, 1, 1, 1, 0}, 2, 3, N, 2, 3},
    {"no Received",
     {(T0 + 3) * 1000000, 0, 0, T0, 0, 0, 0, 0, 1, 0}, N, 3, N, N, N},
    {"nothing but arrival", {(T0 + 3) * 1000000, 0, 0, 0, 0, 0, 0, 0, 0, 0}, N, N, N, N, N},
    {"sub-second relay", {T0 * 1000000 + 220000, T0, T0, T0, T0 * 1000000 + 10000, T0 * 1000000, 1, 1, 1, 1},
     0.22, 0.21, 0.22, 0, 0},
    {"clock skew gives negative", {T0 * 1000000, T0, T0 + 2, T0 + 1, 0, 0, 1, 1, 1, 0}, -2, -1, N, -2, -1},
    {"hours of queueing", {(T0 + 7200) * 1000000, T0 + 7199, T0, T0, T0 * 1000000, T0 * 1000000, 1, 1, 1, 1},
     7200, 7200, 7200, 7199, 7199},
};

static void check(double got, double want)
{
    if (isnan(want))
        assert_true(isnan(got));
    else
        assert_float_equal(got, want, 1e-6);
}

static void test_latency(void **state)
{
    const struct lat_case *tc = *state;
    struct latency l;

    latency_compute(&tc->in, &l);
    check(l.relay_s, tc->relay);
    check(l.e2e_s, tc->e2e);
    check(l.e2e_intended_s, tc->e2e_intended);
    check(l.relay_hdr_s, tc->relay_hdr);
    check(l.e2e_hdr_s, tc->e2e_hdr);
}

static void test_origin(void **state)
{
    struct latency_input a = {0}, b = {0}, c = {0};
    int64_t us;

    (void)state;
    a.has_stamp = 1;
    a.sent_us = 5;
    a.has_date = 1;
    a.date_s = 9;
    assert_int_equal(latency_origin_us(&a, &us), 0);
    assert_int_equal(us, 5);
    b.has_date = 1;
    b.date_s = 9;
    assert_int_equal(latency_origin_us(&b, &us), 0);
    assert_int_equal(us, 9000000);
    assert_int_equal(latency_origin_us(&c, &us), -1);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, lat_cases, test_latency);
    TEST_ADD(tests, &n, test_origin);
    return _cmocka_run_group_tests("latency", tests, n, NULL, NULL);
}
