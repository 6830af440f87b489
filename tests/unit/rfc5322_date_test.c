/* rfc5322_date_test - table-driven tests of RFC 5322 date parsing and Postfix-style formatting. */
#include "table.h"
#include "rfc5322_date.h"

struct date_case {
    const char *name;
    const char *text;
    int ok;
    int64_t epoch;
};

static const struct date_case date_cases[] = {
    {"postfix form", "Tue, 24 Nov 2026 06:13:59 +0000 (UTC)", 1, 1795500839},
    {"postfix padded day", "Wed,  4 Nov 2026 06:13:59 +0000 (UTC)", 1, 1793772839},
    {"no day name", "24 Nov 2026 06:13:59 +0000", 1, 1795500839},
    {"positive zone", "Tue, 24 Nov 2026 15:13:59 +0900", 1, 1795500839},
    {"negative zone", "Mon, 23 Nov 2026 22:13:59 -0800", 1, 1795500839},
    {"no seconds", "Tue, 24 Nov 2026 06:13 +0000", 1, 1795500780},
    {"obsolete GMT", "Tue, 24 Nov 2026 06:13:59 GMT", 1, 1795500839},
    {"obsolete EST", "Tue, 24 Nov 2026 01:13:59 EST", 1, 1795500839},
    {"military zone is -0000", "Tue, 24 Nov 2026 06:13:59 A", 1, 1795500839},
    {"two digit year", "Tue, 24 Nov 26 06:13:59 +0000", 1, 1795500839},
    {"lower case names", "tue, 24 nov 2026 06:13:59 +0000", 1, 1795500839},
    {"folded", "Tue, 24 Nov 2026\r\n 06:13:59\r\n\t+0000", 1, 1795500839},
    {"comments everywhere", "(c1) Tue, (c2) 24 Nov (c3 (nested)) 2026 06:13:59 +0000 (UTC)", 1, 1795500839},
    {"leap second", "Wed, 31 Dec 2025 23:59:60 +0000", 1, 1767225600},
    {"leap day", "Sat, 29 Feb 2020 00:00:00 +0000", 1, 1582934400},
    {"epoch", "Thu, 1 Jan 1970 00:00:00 +0000", 1, 0},
    {"not leap day", "29 Feb 2021 00:00:00 +0000", 0},
    {"bad month", "Tue, 24 Nov2 2026 06:13:59 +0000", 0},
    {"hour 24", "24 Nov 2026 24:00:00 +0000", 0},
    {"minute 60", "24 Nov 2026 06:60:00 +0000", 0},
    {"missing zone", "24 Nov 2026 06:13:59", 0},
    {"bad zone minutes", "24 Nov 2026 06:13:59 +0060", 0},
    {"junk after zone", "24 Nov 2026 06:13:59 +0000 junk", 0},
    {"unterminated comment", "24 Nov 2026 06:13:59 +0000 (UTC", 0},
    {"day 0", "0 Nov 2026 06:13:59 +0000", 0},
    {"day name without comma", "Tue 24 Nov 2026 06:13:59 +0000", 0},
    {"unknown day name", "Xyz, 24 Nov 2026 06:13:59 +0000", 0},
    {"empty", "", 0},
    {"five digit year", "24 Nov 20266 06:13:59 +0000", 0},
    {"letter J is not a zone", "24 Nov 2026 06:13:59 J", 0},
};

static void test_parse(void **state)
{
    const struct date_case *tc = *state;
    int64_t epoch = -1;

    int r = rfc5322_date_parse(tc->text, strlen(tc->text), &epoch);
    if (tc->ok) {
        assert_int_equal(r, 0);
        assert_int_equal(epoch, tc->epoch);
    } else {
        assert_int_equal(r, -1);
    }
}

struct format_case {
    const char *name;
    int64_t epoch;
    int offset;
    const char *zone;
    const char *want;
};

static const struct format_case format_cases[] = {
    {"utc", 1795500839, 0, "UTC", "Tue, 24 Nov 2026 06:13:59 +0000 (UTC)"},
    {"single digit day padded", 1793772839, 0, "UTC", "Wed,  4 Nov 2026 06:13:59 +0000 (UTC)"},
    {"east zone", 1795500839, 540, "JST", "Tue, 24 Nov 2026 15:13:59 +0900 (JST)"},
    {"west zone crosses day", 1795500839, -480, "PST", "Mon, 23 Nov 2026 22:13:59 -0800 (PST)"},
    {"half hour zone no name", 1795500839, 330, NULL, "Tue, 24 Nov 2026 11:43:59 +0530"},
    {"epoch", 0, 0, "UTC", "Thu,  1 Jan 1970 00:00:00 +0000 (UTC)"},
};

static void test_format(void **state)
{
    const struct format_case *tc = *state;
    char buf[RFC5322_DATE_MAX];
    int64_t back;

    size_t n = rfc5322_date_format(tc->epoch, tc->offset, tc->zone, buf, sizeof(buf));
    assert_span_equal(buf, n, tc->want);
    assert_int_equal(rfc5322_date_parse(buf, n, &back), 0); /* round trip */
    assert_int_equal(back, tc->epoch);
}

static void test_format_small_buffer(void **state)
{
    char buf[10];

    (void)state;
    assert_int_equal(rfc5322_date_format(0, 0, "UTC", buf, sizeof(buf)), 0);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, date_cases, test_parse);
    TABLE_ADD(tests, &n, format_cases, test_format);
    TEST_ADD(tests, &n, test_format_small_buffer);
    return _cmocka_run_group_tests("rfc5322_date", tests, n, NULL, NULL);
}
