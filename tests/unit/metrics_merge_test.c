/* metrics_merge_test - table-driven tests of merging the workers' Prometheus texts:
 * sums, family order, samples only one worker has, floats, and lines left out. */
#include "table.h"
#include "metrics_merge.h"

struct merge_case {
    const char *name;
    const char *in[3]; /* NULL ends the inputs */
    const char *want;
    unsigned skipped;
};

#define FAM(n, t) "# HELP " n " h.\n# TYPE " n " " t "\n"

static const struct merge_case cases[] = {
    {"one text is itself", {FAM("a", "counter") "a 1\n"}, FAM("a", "counter") "a 1\n", 0},
    {"counters sum", {FAM("a", "counter") "a 1\n", FAM("a", "counter") "a 41\n"}, FAM("a", "counter") "a 42\n", 0},
    {"labels kept apart",
     {FAM("m", "counter") "m{t=\"x\"} 1\nm{t=\"y\"} 2\n", FAM("m", "counter") "m{t=\"y\"} 3\n"},
     FAM("m", "counter") "m{t=\"x\"} 1\nm{t=\"y\"} 5\n", 0},
    {"a sample only the second text has stays in its family",
     {FAM("a", "counter") "a{k=\"1\"} 1\n" FAM("b", "gauge") "b 2\n",
      FAM("a", "counter") "a{k=\"2\"} 7\n" FAM("b", "gauge") "b 3\n"},
     FAM("a", "counter") "a{k=\"1\"} 1\na{k=\"2\"} 7\n" FAM("b", "gauge") "b 5\n", 0},
    {"a family only the second text has comes after",
     {FAM("a", "counter") "a 1\n", FAM("a", "counter") "a 1\n" FAM("z", "gauge") "z 9\n"},
     FAM("a", "counter") "a 2\n" FAM("z", "gauge") "z 9\n", 0},
    {"histogram parts sum",
     {FAM("h", "histogram") "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.500000\nh_count 3\n",
      FAM("h", "histogram") "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.250000\nh_count 1\n"},
     FAM("h", "histogram") "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 4\nh_sum 0.75\nh_count 4\n", 0},
    {"an integer and a float give a float", {"x 1\n", "x 0.5\n"}, "x 1.5\n", 0},
    {"CRLF and blank lines", {FAM("a", "counter") "a 1\r\n\r\n", "a 2"}, FAM("a", "counter") "a 3\n", 0},
    {"no value is skipped", {"a\n", "b 1\n"}, "b 1\n", 1},
    {"a bad value is skipped", {"a one\n", "a 2x\n"}, "", 2},
    {"other comments are left out", {"# just a note\nq 1\n"}, "q 1\n", 0},
    {"huge counters stay exact", {"c 18446744073709551000\n", "c 15\n"}, "c 18446744073709551015\n", 0},
    {"no inputs", {NULL}, "", 0},
};

static void test_merge(void **state)
{
    const struct merge_case *tc = *state;
    struct metrics_text in[3];
    int n = 0;
    char *out = NULL;
    size_t len = 0;
    unsigned skipped = 99;

    while (n < 3 && tc->in[n]) {
        in[n].buf = tc->in[n];
        in[n].len = strlen(tc->in[n]);
        n++;
    }
    assert_int_equal(metrics_merge(in, n, &out, &len, &skipped), 0);
    assert_span_equal(out, len, tc->want);
    assert_int_equal(out[len], 0);
    assert_int_equal(skipped, tc->skipped);
    free(out);
}

/* test_too_many - more inputs than METRICS_MERGE_INPUTS_MAX are refused. */
static void test_too_many(void **state)
{
    static struct metrics_text in[METRICS_MERGE_INPUTS_MAX + 1];
    char *out = NULL;
    size_t len;
    unsigned skipped;

    (void)state;
    for (int i = 0; i <= METRICS_MERGE_INPUTS_MAX; i++)
        in[i] = (struct metrics_text){"a 1\n", 4};
    assert_int_equal(metrics_merge(in, METRICS_MERGE_INPUTS_MAX + 1, &out, &len, &skipped), -1);
    assert_int_equal(metrics_merge(in, METRICS_MERGE_INPUTS_MAX, &out, &len, &skipped), 0);
    assert_span_equal(out, len, "a 66\n");
    free(out);
}

int main(void)
{
    size_t n = 0;
    struct CMUnitTest tests[TABLE_TESTS_MAX];

    TABLE_ADD(tests, &n, cases, test_merge);
    TEST_ADD(tests, &n, test_too_many);
    return _cmocka_run_group_tests("metrics_merge", tests, n, NULL, NULL);
}
