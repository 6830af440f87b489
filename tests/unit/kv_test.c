/* kv_test - the "key = value" configuration format: lines, sections, comments, errors
 * with file:line. */
#include <unistd.h>

#include "table.h"
#include "kv.h"

struct line_case {
    const char *name;
    const char *line;
    int want;
    const char *key, *value;
};

static const struct line_case line_cases[] = {
    {"blank", "   \n", 0},
    {"comment", "  # a comment\n", 0},
    {"pair", "delay-dot = 5\n", 1, "delay-dot", "5"},
    {"no spaces", "a=b\n", 1, "a", "b"},
    {"trailing comment", "seed = 7   # why\n", 1, "seed", "7"},
    {"hash inside value", "text = a#b\n", 1, "text", "a#b"},
    {"value with spaces", "tempfail-reply = 451 4.7.1 try later\n", 1, "tempfail-reply", "451 4.7.1 try later"},
    {"empty value", "key =\n", 1, "key", ""},
    {"crlf", "a = b\r\n", 1, "a", "b"},
    {"section", "[msa1]\n", 2, "msa1", NULL},
    {"section spaces", "[ mx3 ]\n", 2, "mx3", NULL},
    {"no equals", "delay 5\n", -1},
    {"empty key", " = 5\n", -1},
    {"bad key char", "de lay = 5\n", -1},
    {"unclosed section", "[msa1\n", -1},
    {"empty section", "[]\n", -1},
    {"section kind and name", "[tenant shop1]\n", 2, "tenant shop1", NULL},
    {"section double space", "[tenant  shop1]\n", -1},
    {"section tab", "[tenant\tshop1]\n", -1},
    {"section with comment", "[tenant shop1]   # the shop\n", 2, "tenant shop1", NULL},
    {"section with text after", "[msa1] mx = mx1\n", -1},
};

static void test_line(void **state)
{
    const struct line_case *tc = *state;
    char buf[256], err[128];
    char *key = NULL, *value = NULL;

    snprintf(buf, sizeof(buf), "%s", tc->line);
    assert_int_equal(kv_parse_line(buf, &key, &value, err, sizeof(err)), tc->want);
    if (tc->want > 0) {
        assert_string_equal(key, tc->key);
        if (tc->value)
            assert_string_equal(value, tc->value);
        else
            assert_null(value);
    }
}

static int count_fn(void *arg, const char *section, const char *key, const char *value, char *err,
                    size_t errlen)
{
    (void)section;
    (void)value;
    if (key && strcmp(key, "bad") == 0) {
        snprintf(err, errlen, "unknown key 'bad'");
        return -1;
    }
    (*(int *)arg)++;
    return 0;
}

static void test_file_errors(void **state)
{
    char path[] = "/tmp/kv_test.XXXXXX";
    char err[512];
    int fd = mkstemp(path), n = 0;

    (void)state;
    assert_true(fd >= 0);
    const char *text = "# header\na = 1\n[s]\nb = 2\nbad = 3\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(kv_parse_file(path, count_fn, &n, err, sizeof(err)), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:5: unknown key 'bad'", path);
    assert_string_equal(err, want);
    assert_int_equal(n, 3); /* a, [s], b */
    unlink(path);
    assert_int_equal(kv_parse_file("/nonexistent/x.conf", count_fn, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/x.conf: cannot open"));
}

/* sections and keys seen, as "[s] k=v" words */
static int trace_fn(void *arg, const char *section, const char *key, const char *value, char *err,
                    size_t errlen)
{
    char *trace = arg;
    size_t n = strlen(trace);

    (void)err;
    (void)errlen;
    if (key == NULL)
        snprintf(trace + n, 512 - n, "[%s] ", section);
    else
        snprintf(trace + n, 512 - n, "%s=%s ", key, value);
    return 0;
}

static void test_buffer(void **state)
{
    char trace[512] = "", err[256];
    const char text[] = "a = 1\r\n\n[t x]\nb = 2"; /* CRLF, blank, no final newline */

    (void)state;
    assert_int_equal(kv_parse_buffer("mem", text, strlen(text), trace_fn, trace, NULL, err, sizeof(err)), 0);
    assert_string_equal(trace, "a=1 [t x] b=2 ");
    const char nul[] = "a = 1\nb = \0x\n";
    assert_int_equal(kv_parse_buffer("mem", nul, sizeof(nul) - 1, trace_fn, trace, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "mem:2: NUL byte in the line");
    char big[KV_LINE_MAX + 10];
    memset(big, 'a', sizeof(big));
    assert_int_equal(kv_parse_buffer("mem", big, sizeof(big), trace_fn, trace, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mem:1: line longer than"));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, line_cases, test_line);
    TEST_ADD(tests, &n, test_file_errors);
    TEST_ADD(tests, &n, test_buffer);
    return _cmocka_run_group_tests("kv", tests, n, NULL, NULL);
}
