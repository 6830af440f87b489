/* line_test - table-driven tests of line boundary scanning with a limit. */
#include "table.h"
#include "line.h"

struct scan_case {
    const char *name;
    const char *buf;
    size_t limit;
    enum line_result result;
    size_t n;
};

static const struct scan_case scan_cases[] = {
    {"crlf line", "HELO x\r\nMAIL", 100, LINE_COMPLETE, 8},
    {"lf line", "HELO x\nMAIL", 100, LINE_COMPLETE, 7},
    {"empty line", "\r\nrest", 100, LINE_COMPLETE, 2},
    {"lone lf", "\n", 100, LINE_COMPLETE, 1},
    {"partial", "HELO x", 100, LINE_PARTIAL, 0},
    {"partial cr only", "HELO x\r", 100, LINE_PARTIAL, 0},
    {"empty buffer", "", 100, LINE_PARTIAL, 0},
    {"exactly at limit", "abcd\n", 5, LINE_COMPLETE, 5},
    {"one over limit", "abcde\n", 5, LINE_OVERFLOW, 5},
    {"long without lf", "abcdefgh", 5, LINE_OVERFLOW, 5},
    {"partial just under limit", "abcd", 5, LINE_PARTIAL, 0},
    {"limit one", "a\n", 1, LINE_OVERFLOW, 1},
    {"lf within limit later text", "ab\ncdefghij", 3, LINE_COMPLETE, 3},
    {"cr in middle", "a\rb\n", 100, LINE_COMPLETE, 4},
    {"nul in line", "a\0b\n", 100, LINE_COMPLETE, 4},
};

static void test_scan(void **state)
{
    const struct scan_case *tc = *state;
    size_t n = 99;
    size_t len = strcmp(tc->name, "nul in line") == 0 ? 4 : strlen(tc->buf);

    assert_int_equal(line_scan(tc->buf, len, tc->limit, &n), tc->result);
    assert_int_equal(n, tc->n);
}

struct strip_case {
    const char *name;
    const char *line;
    size_t want;
};

static const struct strip_case strip_cases[] = {
    {"strip crlf", "abc\r\n", 3},
    {"strip lf", "abc\n", 3},
    {"strip none", "abc", 3},
    {"strip only cr", "abc\r", 3},
    {"strip empty", "", 0},
    {"strip crlf only", "\r\n", 0},
};

static void test_strip(void **state)
{
    const struct strip_case *tc = *state;

    assert_int_equal(line_strip_eol(tc->line, strlen(tc->line)), tc->want);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, scan_cases, test_scan);
    TABLE_ADD(tests, &n, strip_cases, test_strip);
    return _cmocka_run_group_tests("line", tests, n, NULL, NULL);
}
