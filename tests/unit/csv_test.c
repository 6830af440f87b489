/* csv_test - CSV field quoting: plain fields as they are, quoting when needed or always,
 * quotes doubled, line breaks kept or flattened. */
#include "table.h"
#include "csv.h"

struct csv_case {
    const char *name;
    const char *in;
    unsigned flags;
    const char *want;
};

static const struct csv_case csv_cases[] = {
    {"plain", "msa1", 0, "msa1"},
    {"empty", "", 0, ""},
    {"comma quoted", "a,b", 0, "\"a,b\""},
    {"quote doubled", "say \"hi\"", 0, "\"say \"\"hi\"\"\""},
    {"newline kept", "a\nb", 0, "\"a\nb\""},
    {"always quoted", "250 ok", CSV_QUOTE_ALWAYS, "\"250 ok\""},
    {"always, empty", "", CSV_QUOTE_ALWAYS, "\"\""},
    {"one line", "421 a\r\nb", CSV_QUOTE_ALWAYS | CSV_ONE_LINE, "\"421 a  b\""},
};

static void test_csv(void **state)
{
    const struct csv_case *tc = *state;
    char buf[128] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

    assert_non_null(f);
    csv_field(f, tc->in, tc->flags);
    fclose(f);
    assert_string_equal(buf, tc->want);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, csv_cases, test_csv);
    return _cmocka_run_group_tests("csv", tests, n, NULL, NULL);
}
