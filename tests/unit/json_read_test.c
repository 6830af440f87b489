/* json_read_test - the JSON reader: valid and malformed texts, member lookup, strings
 * with escapes, integers; and records written by json.c read back unchanged. */
#include "table.h"
#include "json.h"
#include "json_read.h"

struct read_case {
    const char *name;
    const char *text;
    int want; /* token count, or a negative status */
};

static const struct read_case read_cases[] = {
    {"empty object", "{}", 1},
    {"flat object", "{\"a\":1,\"b\":\"x\"}", 5},
    {"nested", "{\"a\":[1,2,{\"c\":null}]}", 8},
    {"literals", "[true,false,null]", 4},
    {"numbers", "[0,-1,2.5,1e3,-0.5E-2]", 6},
    {"whitespace", " { \"a\" : [ ] } \n", 3},
    {"string escapes", "\"a\\n\\u00e9\\\"\"", 1},
    {"trailing comma", "{\"a\":1,}", JSON_READ_SYNTAX},
    {"missing colon", "{\"a\" 1}", JSON_READ_SYNTAX},
    {"bare word", "{\"a\":nope}", JSON_READ_SYNTAX},
    {"leading zero", "[01]", JSON_READ_SYNTAX},
    {"unterminated string", "{\"a\":\"x}", JSON_READ_SYNTAX},
    {"raw control in string", "\"a\x01\"", JSON_READ_SYNTAX},
    {"bad escape", "\"\\q\"", JSON_READ_SYNTAX},
    {"short unicode escape", "\"\\u12\"", JSON_READ_SYNTAX},
    {"two values", "{} {}", JSON_READ_SYNTAX},
    {"too deep", "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", JSON_READ_TOO_DEEP},
    {"empty text", "", JSON_READ_SYNTAX},
    {"non string key", "{1:2}", JSON_READ_SYNTAX},
    {"lone minus", "[-]", JSON_READ_SYNTAX},
};

static void test_read(void **state)
{
    const struct read_case *tc = *state;
    struct json_token tok[64];

    assert_int_equal(json_read(tc->text, strlen(tc->text), tok, 64), tc->want);
}

static void test_too_many_tokens(void **state)
{
    struct json_token tok[3];

    (void)state;
    assert_int_equal(json_read("[1,2,3]", 7, tok, 3), JSON_READ_TOO_MANY);
}

static void test_members(void **state)
{
    const char *s = "{\"t_us\":1795500839123456,\"mx\":\"mx1.test\",\"rcpt\":[\"a\",\"b\"],"
                    "\"received\":[{\"text\":\"x\",\"t\":5},{\"text\":\"y\",\"t\":null}],\"z\":-3}";
    struct json_token tok[64];
    char buf[64];
    int64_t v;

    (void)state;
    assert_true(json_read(s, strlen(s), tok, 64) > 0);
    assert_int_equal(json_int64(s, tok, json_member(s, tok, 0, "t_us"), &v), 0);
    assert_int_equal(v, 1795500839123456);
    assert_int_equal(json_string(s, tok, json_member(s, tok, 0, "mx"), buf, sizeof(buf)), 8);
    assert_string_equal(buf, "mx1.test");
    int rcv = json_member(s, tok, 0, "received");
    assert_int_equal(tok[rcv].children, 2);
    assert_int_equal(json_int64(s, tok, json_member(s, tok, rcv + 1, "t"), &v), 0);
    assert_int_equal(v, 5);
    int second = (int)tok[rcv + 1].next;
    assert_int_equal(json_int64(s, tok, json_member(s, tok, second, "t"), &v), -1); /* null */
    assert_int_equal(json_int64(s, tok, json_member(s, tok, 0, "z"), &v), 0);
    assert_int_equal(v, -3);
    assert_int_equal(json_member(s, tok, 0, "absent"), -1);
    assert_int_equal(json_string(s, tok, json_member(s, tok, 0, "t_us"), buf, sizeof(buf)), -1);
}

static void test_round_trip(void **state)
{
    const char raw[] = "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 \xf0\x9f\x93\xa7 bad\xff";
    struct json_writer w;
    struct json_token tok[8];
    char out[256];

    (void)state;
    json_writer_init(&w);
    json_begin(&w);
    json_str(&w, "s", raw, sizeof(raw) - 1);
    assert_int_equal(json_end(&w), 0);
    assert_true(json_read(w.buf, w.len, tok, 8) > 0);
    int n = json_string(w.buf, tok, json_member(w.buf, tok, 0, "s"), out, sizeof(out));
    assert_true(n > 0);
    /* everything survives but the invalid byte, which became U+FFFD */
    assert_string_equal(out, "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 \xf0\x9f\x93\xa7 bad\xef\xbf\xbd");
    json_writer_free(&w);
}

static void test_surrogates(void **state)
{
    const char *s = "[\"\\ud83d\\udce7\",\"\\ud800x\"]";
    struct json_token tok[4];
    char out[16];

    (void)state;
    assert_int_equal(json_read(s, strlen(s), tok, 4), 3);
    json_string(s, tok, 1, out, sizeof(out));
    assert_string_equal(out, "\xf0\x9f\x93\xa7");
    json_string(s, tok, 2, out, sizeof(out));
    assert_string_equal(out, "\xef\xbf\xbdx");
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, read_cases, test_read);
    TEST_ADD(tests, &n, test_too_many_tokens);
    TEST_ADD(tests, &n, test_members);
    TEST_ADD(tests, &n, test_round_trip);
    TEST_ADD(tests, &n, test_surrogates);
    return _cmocka_run_group_tests("json_read", tests, n, NULL, NULL);
}
