/* header_test - the incremental header-section parser: unfolding, limits, malformed lines. */
#include "table.h"
#include "header.h"

struct hdr_case {
    const char *name;
    const char *lines[8];
    int nfields;
    const char *last_name, *last_value; /* the last field emitted */
    enum header_state state;
    unsigned malformed;
};

static const struct hdr_case hdr_cases[] = {
    {"two fields and end", {"From: a@b\r\n", "To: c@d\r\n", "\r\n"}, 2, "To", "c@d", HEADER_DONE},
    {"folded value", {"Subject: one\r\n", " two\r\n", "\tthree\r\n", "\r\n"}, 1, "Subject", "one two\tthree", HEADER_DONE},
    {"bare LF", {"Date: x\n", "\n"}, 1, "Date", "x", HEADER_DONE},
    {"no space after colon", {"X-A:b\r\n", "\r\n"}, 1, "X-A", "b", HEADER_DONE},
    {"empty value", {"X-Empty:\r\n", "\r\n"}, 1, "X-Empty", "", HEADER_DONE},
    {"trailing blanks dropped", {"X-T: v  \t\r\n", "\r\n"}, 1, "X-T", "v", HEADER_DONE},
    {"obsolete space before colon", {"Subject : hi\r\n", "\r\n"}, 1, "Subject", "hi", HEADER_DONE},
    {"unterminated section", {"From: a\r\n", "To: b\r\n"}, 1, "From", "a", HEADER_IN},
    {"leading continuation malformed", {" orphan\r\n", "From: a\r\n", "\r\n"}, 1, "From", "a", HEADER_DONE, 1},
    {"line without colon malformed", {"garbage line\r\n", "\r\n"}, 0, NULL, NULL, HEADER_DONE, 1},
    {"lines after end ignored", {"A: 1\r\n", "\r\n", "B: 2\r\n"}, 1, "A", "1", HEADER_DONE},
    {"colon only malformed", {":value\r\n", "\r\n"}, 0, NULL, NULL, HEADER_DONE, 1},
    {"received folded", {"Received: from a\r\n", "\tby b; Tue, 24 Nov 2026 06:13:59 +0000\r\n", "\r\n"}, 1,
     "Received", "from a\tby b; Tue, 24 Nov 2026 06:13:59 +0000", HEADER_DONE},
    {"binary in name malformed", {"Fr\x01om: a\r\n", "\r\n"}, 0, NULL, NULL, HEADER_DONE, 1},
    {"empty message", {"\r\n"}, 0, NULL, NULL, HEADER_DONE},
};

struct seen {
    int n;
    char name[HEADER_NAME_MAX + 1];
    char value[HEADER_VALUE_MAX + 1];
};

static void on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct seen *s = arg;
    memcpy(s->name, name, nlen);
    s->name[nlen] = 0;
    memcpy(s->value, value, vlen);
    s->value[vlen] = 0;
    s->n++;
}

static void test_header(void **state)
{
    const struct hdr_case *tc = *state;
    static struct header_parser hp;
    static struct seen s;
    enum header_state st = HEADER_IN;

    memset(&s, 0, sizeof(s));
    header_init(&hp);
    for (int i = 0; i < 8 && tc->lines[i]; i++)
        st = header_feed(&hp, tc->lines[i], strlen(tc->lines[i]), on_field, &s);
    assert_int_equal(st, tc->state);
    assert_int_equal(s.n, tc->nfields);
    assert_int_equal(hp.malformed, tc->malformed);
    if (tc->last_name) {
        assert_string_equal(s.name, tc->last_name);
        assert_string_equal(s.value, tc->last_value);
    }
}

static void test_finish_flushes(void **state)
{
    static struct header_parser hp;
    static struct seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    header_init(&hp);
    header_feed(&hp, "A: 1\r\n", 6, on_field, &s);
    assert_int_equal(s.n, 0);
    header_finish(&hp, on_field, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.value, "1");
}

static void test_value_limit(void **state)
{
    static struct header_parser hp;
    static struct seen s;
    char line[1002];

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(line, 'x', sizeof(line));
    line[0] = ' ';
    line[1000] = '\r';
    line[1001] = '\n';
    header_init(&hp);
    header_feed(&hp, "X-Long: start\r\n", 15, on_field, &s);
    for (int i = 0; i < 10; i++)
        header_feed(&hp, line, sizeof(line), on_field, &s);
    header_feed(&hp, "\r\n", 2, on_field, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(strlen(s.value), HEADER_VALUE_MAX);
    assert_int_equal(hp.truncated, 1);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, hdr_cases, test_header);
    TEST_ADD(tests, &n, test_finish_flushes);
    TEST_ADD(tests, &n, test_value_limit);
    return _cmocka_run_group_tests("header", tests, n, NULL, NULL);
}
