/* json_test - table-driven tests of JSON string escaping and of the line writer. */
#include "table.h"
#include "json.h"

struct escape_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *want;
};

static const struct escape_case escape_cases[] = {
    {"plain ascii", "hello world", 0, "hello world"},
    {"quote and backslash", "a\"b\\c", 0, "a\\\"b\\\\c"},
    {"newline cr tab", "a\nb\rc\td", 0, "a\\nb\\rc\\td"},
    {"backspace formfeed", "\b\f", 0, "\\b\\f"},
    {"other control", "\x01\x1f", 0, "\\u0001\\u001f"},
    {"nul byte", "a\0b", 3, "a\\u0000b"},
    {"delete", "\x7f", 0, "\\u007f"},
    {"valid two byte utf8", "caf\xc3\xa9", 0, "caf\xc3\xa9"},
    {"valid three byte utf8", "\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac"},
    {"valid four byte utf8", "\xf0\x9f\x93\xa7", 0, "\xf0\x9f\x93\xa7"},
    {"lone continuation", "a\x80z", 0, "a\\ufffdz"},
    {"truncated sequence", "a\xe6\x97", 0, "a\\ufffd\\ufffd"},
    {"overlong slash", "\xc0\xaf", 0, "\\ufffd\\ufffd"},
    {"overlong three byte", "\xe0\x80\xaf", 0, "\\ufffd\\ufffd\\ufffd"},
    {"surrogate", "\xed\xa0\x80", 0, "\\ufffd\\ufffd\\ufffd"},
    {"beyond unicode", "\xf4\x90\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"},
    {"latin1 byte", "M\xfcller", 0, "M\\ufffdller"},
    {"empty", "", 0, ""},
};

static void test_escape(void **state)
{
    const struct escape_case *tc = *state;
    char out[256];
    size_t len = tc->len ? tc->len : strlen(tc->in);

    size_t need = json_escape(tc->in, len, NULL, 0);
    assert_true(need < sizeof(out));
    size_t n = json_escape(tc->in, len, out, sizeof(out));
    assert_int_equal(n, need);
    assert_span_equal(out, n, tc->want);
}

/* a short output buffer gets the prefix that fits; the full length is still returned */
static void test_escape_truncated(void **state)
{
    char out[8];

    (void)state;
    memset(out, '#', sizeof(out));
    assert_int_equal(json_escape("hello world", 11, out, 5), 11);
    assert_memory_equal(out, "hello###", 8);
    memset(out, '#', sizeof(out));
    assert_int_equal(json_escape("ab\"cd", 5, out, 3), 6);
    assert_memory_equal(out, "ab\\###", 6);
}

static void test_writer_object(void **state)
{
    struct json_writer w;

    (void)state;
    json_writer_init(&w);
    json_begin(&w);
    json_cstr(&w, "event", "msg");
    json_int(&w, "t", -5);
    json_uint(&w, "size", 18446744073709551615ull);
    json_bool(&w, "tls", 1);
    json_null(&w, "none");
    json_double(&w, "ms", 1.25, 2);
    json_array_begin(&w, "rcpt");
    json_cstr(&w, NULL, "a@b");
    json_cstr(&w, NULL, "c\"d");
    json_array_end(&w);
    json_object_begin(&w, "o");
    json_cstr(&w, "k", NULL);
    json_object_end(&w);
    assert_int_equal(json_end(&w), 0);
    assert_span_equal(w.buf, w.len,
                      "{\"event\":\"msg\",\"t\":-5,\"size\":18446744073709551615,\"tls\":true,"
                      "\"none\":null,\"ms\":1.25,\"rcpt\":[\"a@b\",\"c\\\"d\"],\"o\":{\"k\":null}}\n");
    json_writer_free(&w);
}

static void test_writer_reuse(void **state)
{
    struct json_writer w;

    (void)state;
    json_writer_init(&w);
    for (int i = 0; i < 3; i++) {
        json_begin(&w);
        json_int(&w, "i", i);
        assert_int_equal(json_end(&w), 0);
    }
    assert_span_equal(w.buf, w.len, "{\"i\":2}\n");
    json_writer_free(&w);
}

static void test_writer_nan(void **state)
{
    struct json_writer w;

    (void)state;
    json_writer_init(&w);
    json_begin(&w);
    json_double(&w, "x", 0.0 / 0.0, 3);
    assert_int_equal(json_end(&w), 0);
    assert_span_equal(w.buf, w.len, "{\"x\":null}\n");
    json_writer_free(&w);
}

static void test_writer_unbalanced(void **state)
{
    struct json_writer w;

    (void)state;
    json_writer_init(&w);
    json_begin(&w);
    json_array_begin(&w, "a");
    assert_int_equal(json_end(&w), -1); /* array left open */
    json_begin(&w);
    for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
        json_object_begin(&w, "d");
    assert_int_equal(json_end(&w), -1); /* too deep */
    json_writer_free(&w);
}

static void test_writer_large(void **state)
{
    struct json_writer w;
    char big[5000];

    (void)state;
    memset(big, 'x', sizeof(big));
    json_writer_init(&w);
    json_begin(&w);
    json_str(&w, "big", big, sizeof(big));
    assert_int_equal(json_end(&w), 0);
    assert_int_equal(w.len, sizeof(big) + strlen("{\"big\":\"\"}\n"));
    json_writer_free(&w);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, escape_cases, test_escape);
    TEST_ADD(tests, &n, test_escape_truncated);
    TEST_ADD(tests, &n, test_writer_object);
    TEST_ADD(tests, &n, test_writer_reuse);
    TEST_ADD(tests, &n, test_writer_nan);
    TEST_ADD(tests, &n, test_writer_unbalanced);
    TEST_ADD(tests, &n, test_writer_large);
    return _cmocka_run_group_tests("json", tests, n, NULL, NULL);
}
