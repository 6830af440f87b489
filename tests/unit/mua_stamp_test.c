/* mua_stamp_test - the X-Mua-Stamp value: format, parse, and malformed values. */
#include "table.h"
#include "mua_stamp.h"

struct stamp_case {
    const char *name;
    const char *value;
    int ok;
    const char *run, *tenant;
    unsigned round, seq;
    int64_t intended, sent;
};

static const struct stamp_case stamp_cases[] = {
    {"canonical", "run=r1; tenant=msa1; round=3; seq=17; intended=1795500839000000; sent=1795500839000123",
     1, "r1", "msa1", 3, 17, 1795500839000000, 1795500839000123},
    {"any order", "sent=2; intended=1; seq=0; round=0; tenant=t; run=x", 1, "x", "t", 0, 0, 1, 2},
    {"unknown key ignored", "run=a; tenant=b; round=1; seq=2; intended=3; sent=4; extra=zz", 1, "a", "b", 1, 2, 3, 4},
    {"no spaces", "run=a;tenant=b;round=1;seq=2;intended=3;sent=4", 1, "a", "b", 1, 2, 3, 4},
    {"dots and dashes in names", "run=2026-11-24T06.x_1; tenant=msa-1.test; round=1; seq=2; intended=3; sent=4",
     1, "2026-11-24T06.x_1", "msa-1.test", 1, 2, 3, 4},
    {"missing sent", "run=a; tenant=b; round=1; seq=2; intended=3", 0},
    {"negative seq", "run=a; tenant=b; round=1; seq=-2; intended=3; sent=4", 0},
    {"non numeric round", "run=a; tenant=b; round=x; seq=2; intended=3; sent=4", 0},
    {"bad name char", "run=a b; tenant=b; round=1; seq=2; intended=3; sent=4", 0},
    {"key without value", "run; tenant=b; round=1; seq=2; intended=3; sent=4", 0},
    {"empty", "", 0},
    {"overflow", "run=a; tenant=b; round=99999999999; seq=2; intended=3; sent=4", 0},
    {"trailing junk in number", "run=a; tenant=b; round=1x; seq=2; intended=3; sent=4", 0},
    {"empty run", "run=; tenant=b; round=1; seq=2; intended=3; sent=4", 0},
    {"garbage", "\x01\x02\x03", 0},
};

static void test_parse(void **state)
{
    const struct stamp_case *tc = *state;
    struct mua_stamp st;

    int r = mua_stamp_parse(tc->value, strlen(tc->value), &st);
    assert_int_equal(r, tc->ok ? 0 : -1);
    if (!tc->ok)
        return;
    assert_string_equal(st.run, tc->run);
    assert_string_equal(st.tenant, tc->tenant);
    assert_int_equal(st.round, tc->round);
    assert_int_equal(st.seq, tc->seq);
    assert_int_equal(st.intended_us, tc->intended);
    assert_int_equal(st.sent_us, tc->sent);
}

static void test_round_trip(void **state)
{
    struct mua_stamp a = {"run1", "msa3", 59, 999, 1795500839000000, 1795500839123456}, b;
    char buf[MUA_STAMP_MAX];

    (void)state;
    size_t n = mua_stamp_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "run=run1; tenant=msa3; round=59; seq=999; intended=1795500839000000; sent=1795500839123456");
    assert_int_equal(mua_stamp_parse(buf, n, &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_true(mua_stamp_name_ok("msa1"));
    assert_false(mua_stamp_name_ok("a;b"));
    assert_false(mua_stamp_name_ok(""));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, stamp_cases, test_parse);
    TEST_ADD(tests, &n, test_round_trip);
    return _cmocka_run_group_tests("mua_stamp", tests, n, NULL, NULL);
}
