/* smtp_reply_test - table-driven tests of reply lines, multi-line replies, enhanced
 * status codes and EHLO keyword handling (removal wherever the line sits). */
#include "table.h"
#include "smtp_reply.h"

struct line_case {
    const char *name;
    const char *line;
    enum smtp_reply_status status;
    int code;
    int last;
    const char *text;
};

static const struct line_case line_cases[] = {
    {"single line", "250 OK\r\n", SMTP_REPLY_OK, 250, 1, "OK"},
    {"continuation", "250-PIPELINING\r\n", SMTP_REPLY_OK, 250, 0, "PIPELINING"},
    {"code only", "354\r\n", SMTP_REPLY_OK, 354, 1, ""},
    {"bare LF", "221 bye\n", SMTP_REPLY_OK, 221, 1, "bye"},
    {"no line ending", "421 4.3.0 closing", SMTP_REPLY_OK, 421, 1, "4.3.0 closing"},
    {"5xx", "550 5.1.1 no such user\r\n", SMTP_REPLY_OK, 550, 1, "5.1.1 no such user"},
    {"too short", "25\r\n", SMTP_REPLY_SYNTAX},
    {"letters", "OK 250\r\n", SMTP_REPLY_SYNTAX},
    {"bad separator", "250+OK\r\n", SMTP_REPLY_SYNTAX},
    {"code 100", "100 hi\r\n", SMTP_REPLY_BAD_CODE},
    {"code 600", "600 hi\r\n", SMTP_REPLY_BAD_CODE},
    {"second digit 6", "260 hi\r\n", SMTP_REPLY_BAD_CODE},
    {"empty", "", SMTP_REPLY_SYNTAX},
};

static void test_line(void **state)
{
    const struct line_case *tc = *state;
    struct smtp_reply_line rl;

    enum smtp_reply_status st = smtp_reply_line_parse(tc->line, strlen(tc->line), &rl);
    assert_int_equal(st, tc->status);
    if (st != SMTP_REPLY_OK)
        return;
    assert_int_equal(rl.code, tc->code);
    assert_int_equal(rl.last, tc->last);
    assert_span_equal(rl.text, rl.text_len, tc->text);
}

struct enh_case {
    const char *name;
    const char *text;
    int code;
    const char *want; /* "" when none */
};

static const struct enh_case enh_cases[] = {
    {"plain", "2.0.0 Ok: queued as ABC", 250, "2.0.0"},
    {"three digit parts", "4.7.28 rate limited", 421, "4.7.28"},
    {"long detail", "5.100.999 x", 550, "5.100.999"},
    {"end of text", "2.1.5", 250, "2.1.5"},
    {"class mismatch", "5.0.0 x", 250, ""},
    {"no enhanced", "Ok", 250, ""},
    {"class 3 invalid", "3.0.0 x", 354, ""},
    {"four digit part", "4.1234.1 x", 450, ""},
    {"missing part", "4.7 x", 450, ""},
    {"glued text", "2.0.0x", 250, ""},
};

static void test_enhanced(void **state)
{
    const struct enh_case *tc = *state;
    char out[SMTP_ENHANCED_MAX];

    size_t n = smtp_enhanced_parse(tc->text, strlen(tc->text), tc->code, out, sizeof(out));
    assert_string_equal(out, tc->want);
    assert_int_equal(n, strlen(tc->want));
}

struct multi_case {
    const char *name;
    const char *lines[6];
    enum smtp_reply_status last_status;
    int complete;
    int code;
    const char *enhanced;
};

static const struct multi_case multi_cases[] = {
    {"ehlo reply", {"250-mx.example\r\n", "250-PIPELINING\r\n", "250 8BITMIME\r\n"}, SMTP_REPLY_OK, 1, 250, ""},
    {"unfinished", {"250-mx.example\r\n", "250-SIZE 100\r\n"}, SMTP_REPLY_OK, 0, 250, ""},
    {"code mismatch", {"250-mx.example\r\n", "251 x\r\n"}, SMTP_REPLY_MISMATCH, 0, 250, ""},
    {"enhanced from first line", {"421-4.7.0 [TSS04] Messages deferred\r\n", "421 4.7.0 see help\r\n"}, SMTP_REPLY_OK, 1, 421, "4.7.0"},
    {"new reply after complete", {"250 ok\r\n", "354 go\r\n"}, SMTP_REPLY_OK, 1, 354, ""},
};

static void test_multi(void **state)
{
    const struct multi_case *tc = *state;
    struct smtp_reply r;
    enum smtp_reply_status st = SMTP_REPLY_OK;

    smtp_reply_init(&r);
    for (int i = 0; i < 6 && tc->lines[i]; i++)
        st = smtp_reply_feed(&r, tc->lines[i], strlen(tc->lines[i]));
    assert_int_equal(st, tc->last_status);
    assert_int_equal(r.complete, tc->complete);
    assert_int_equal(r.code, tc->code);
    assert_string_equal(r.enhanced, tc->enhanced);
}

struct ehlo_case {
    const char *name;
    const char *reply;
    const char *keyword;
    const char *want;
};

static const struct ehlo_case ehlo_cases[] = {
    {"remove middle", "250-mx\r\n250-STARTTLS\r\n250 SIZE 10\r\n", "STARTTLS", "250-mx\r\n250 SIZE 10\r\n"},
    {"remove last", "250-mx\r\n250-SIZE 10\r\n250 STARTTLS\r\n", "STARTTLS", "250-mx\r\n250 SIZE 10\r\n"},
    {"remove first keyword", "250-mx\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 8BITMIME\r\n", "STARTTLS",
     "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
    {"remove only keyword", "250-mx\r\n250 STARTTLS\r\n", "STARTTLS", "250 mx\r\n"},
    {"lower case keyword", "250-mx\r\n250-starttls\r\n250 SIZE\r\n", "STARTTLS", "250-mx\r\n250 SIZE\r\n"},
    {"chunking with others", "250-mx\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250 SMTPUTF8\r\n", "CHUNKING",
     "250-mx\r\n250-BINARYMIME\r\n250 SMTPUTF8\r\n"},
    {"absent keyword", "250-mx\r\n250 SIZE\r\n", "STARTTLS", "250-mx\r\n250 SIZE\r\n"},
    {"prefix is not the keyword", "250-mx\r\n250 STARTTLSX\r\n", "STARTTLS", "250-mx\r\n250 STARTTLSX\r\n"},
    {"greeting never removed", "250 STARTTLS\r\n", "STARTTLS", "250 STARTTLS\r\n"},
    {"bare LF lines", "250-mx\n250-STARTTLS\n250 SIZE\n", "STARTTLS", "250-mx\n250 SIZE\n"},
    {"two offers removed", "250-mx\r\n250-STARTTLS\r\n250-SIZE\r\n250 STARTTLS\r\n", "STARTTLS", "250-mx\r\n250 SIZE\r\n"},
};

static void test_ehlo_remove(void **state)
{
    const struct ehlo_case *tc = *state;
    char buf[512];
    size_t len = strlen(tc->reply);

    memcpy(buf, tc->reply, len);
    int had = smtp_ehlo_has(buf, len, tc->keyword);
    len = smtp_ehlo_remove(buf, len, tc->keyword);
    assert_span_equal(buf, len, tc->want);
    assert_false(smtp_ehlo_has(buf, len, tc->keyword) && had);
}

static void test_ehlo_keyword(void **state)
{
    const char *kw;

    (void)state;
    assert_int_equal(smtp_ehlo_keyword("SIZE 10240000", 13, &kw), 4);
    assert_int_equal(smtp_ehlo_keyword("AUTH=LOGIN PLAIN", 16, &kw), 4);
    assert_int_equal(smtp_ehlo_keyword("", 0, &kw), 0);
    assert_true(smtp_ehlo_has("250-mx\r\n250-SIZE 1\r\n250 PIPELINING\r\n", 35, "pipelining"));
    assert_false(smtp_ehlo_has("250-mx\r\n250-SIZE 1\r\n250 PIPELINING\r\n", 35, "CHUNKING"));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, line_cases, test_line);
    TABLE_ADD(tests, &n, enh_cases, test_enhanced);
    TABLE_ADD(tests, &n, multi_cases, test_multi);
    TABLE_ADD(tests, &n, ehlo_cases, test_ehlo_remove);
    TEST_ADD(tests, &n, test_ehlo_keyword);
    return _cmocka_run_group_tests("smtp_reply", tests, n, NULL, NULL);
}
