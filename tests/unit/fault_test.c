/* fault_test - table-driven tests of the scenario fault syntax: every action, its
 * normalized form for the runner, and malformed lines with their messages. */
#include "table.h"
#include "fault.h"

struct fault_case {
    const char *name;
    const char *text;
    unsigned mxs;
    int ok;
    const char *norm;  /* fault_format's text when ok; a part of the error otherwise */
};

static const struct fault_case fault_cases[] = {
    {"kill-agg", "20 kill-agg 5", 3, 0, "20 kill-agg 5"},
    {"kill-agg fractions", "7.5  kill-agg\t0.5", 3, 0, "7.5 kill-agg 0.5"},
    {"stop-mx", "30 stop-mx mx2 10", 3, 0, "30 stop-mx mx2 10"},
    {"loss wan", "40 loss wan 20 10", 3, 0, "40 loss wan 20 10"},
    {"loss lan 100", "0 loss lan 100 1", 3, 0, "0 loss lan 100 1"},
    {"disk-full", "50 disk-full 15", 3, 0, "50 disk-full 15"},
    {"stop-mx beyond mxs", "30 stop-mx mx4 10", 3, -1, "expected mx1..mx3"},
    {"stop-mx not an mx", "30 stop-mx msa1 10", 3, -1, "expected mx1..mx3"},
    {"stop-mx trailing text", "30 stop-mx mx1x 10", 3, -1, "expected mx1..mx3"},
    {"loss bad link", "40 loss dmz 20 10", 3, -1, "expected lan"},
    {"loss zero percent", "40 loss wan 0 10", 3, -1, "1..100"},
    {"loss over 100", "40 loss wan 101 10", 3, -1, "1..100"},
    {"negative time", "-1 kill-agg 5", 3, -1, "fault time '-1'"},
    {"time not a number", "soon kill-agg 5", 3, -1, "fault time 'soon'"},
    {"duration not a number", "5 kill-agg long", 3, -1, "restart after 'long'"},
    {"unknown action", "5 reboot 5", 3, -1, "expected AT kill-agg"},
    {"missing duration", "5 kill-agg", 3, -1, "expected AT kill-agg"},
    {"extra word", "5 kill-agg 5 now", 3, -1, "expected AT kill-agg"},
    {"too many words", "1 2 3 4 5 6 7", 3, -1, "expected AT kill-agg"},
    {"empty", "", 3, -1, "expected AT kill-agg"},
    {"delay says why not", "5 delay wan 100 10", 3, -1, "netem"},
};

static void test_fault(void **state)
{
    const struct fault_case *tc = *state;
    struct fault f;
    char err[256] = "", out[FAULT_TEXT_MAX];

    assert_int_equal(fault_parse(tc->text, tc->mxs, &f, err, sizeof(err)), tc->ok);
    if (tc->ok == 0) {
        fault_format(&f, out, sizeof(out));
        assert_string_equal(out, tc->norm);
    } else if (strstr(err, tc->norm) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", err, tc->norm);
    }
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, fault_cases, test_fault);
    return _cmocka_run_group_tests("fault", tests, n, NULL, NULL);
}
