/* smtp_data_test - table-driven tests of DATA's end and bare CR/LF handling: a byte
 * stream after the DATA command is cut into chunks as conn.c cuts it (at LF, or at the
 * line limit), and the end, the bytes passed on and the bare counts are checked. */
#include "table.h"
#include "line.h"
#include "smtp_data.h"

struct data_case {
    const char *name;
    enum smtp_bare_mode mode;
    size_t limit;       /* conn's line limit: over-long lines come in chunks */
    const char *in;     /* everything the client sent after the 354 */
    int ended;          /* the end marker was found */
    const char *out;    /* what is passed on before it */
    const char *rest;   /* what follows the end marker (the next commands) */
    unsigned bare_cr, bare_lf;
};

static const struct data_case data_cases[] = {
    {"plain message", SMTP_BARE_STRICT, 100, "a\r\nb\r\n.\r\nQUIT\r\n", 1, "a\r\nb\r\n", "QUIT\r\n", 0, 0},
    {"empty message", SMTP_BARE_STRICT, 100, ".\r\n", 1, "", "", 0, 0},
    {"stuffed dot is content", SMTP_BARE_STRICT, 100, "..\r\n.\r\n", 1, "..\r\n", "", 0, 0},
    {"dot with text is content", SMTP_BARE_STRICT, 100, ".x\r\n.\r\n", 1, ".x\r\n", "", 0, 0},
    {"no end yet", SMTP_BARE_STRICT, 100, "a\r\nb\r\n", 0, "a\r\nb\r\n", "", 0, 0},
    {"strict: LF.LF does not end", SMTP_BARE_STRICT, 100, "a\n.\nb\r\n.\r\n", 1, "a\n.\nb\r\n", "", 0, 2},
    {"strict: LF.CRLF does not end", SMTP_BARE_STRICT, 100, "a\n.\r\nMAIL\r\n.\r\n", 1,
     "a\n.\r\nMAIL\r\n", "", 0, 1},
    {"strict: CRLF.LF does not end", SMTP_BARE_STRICT, 100, "a\r\n.\nMAIL\r\n.\r\n", 1,
     "a\r\n.\nMAIL\r\n", "", 0, 1},
    {"strict: CR.CR does not end", SMTP_BARE_STRICT, 100, "a\r.\rMAIL\r\n.\r\n", 1,
     "a\r.\rMAIL\r\n", "", 2, 0},
    {"strict: bare LF counted", SMTP_BARE_STRICT, 100, "x\ny\r\n.\r\n", 1, "x\ny\r\n", "", 0, 1},
    {"normalize: bare LF becomes CRLF", SMTP_BARE_NORMALIZE, 100, "x\ny\r\n.\r\n", 1,
     "x\r\ny\r\n", "", 0, 1},
    {"normalize: LF.LF stuffed", SMTP_BARE_NORMALIZE, 100, "a\n.\nb\r\n.\r\n", 1,
     "a\r\n..\r\nb\r\n", "", 0, 2},
    {"normalize: LF.CRLF stuffed", SMTP_BARE_NORMALIZE, 100, "a\n.\r\nMAIL\r\n.\r\n", 1,
     "a\r\n..\r\nMAIL\r\n", "", 0, 1},
    {"normalize: CRLF.LF stuffed", SMTP_BARE_NORMALIZE, 100, "a\r\n.\nMAIL\r\n.\r\n", 1,
     "a\r\n..\r\nMAIL\r\n", "", 0, 1},
    {"normalize: CR.CR split and stuffed", SMTP_BARE_NORMALIZE, 100, "a\r.\rMAIL\r\n.\r\n", 1,
     "a\r\n..\r\nMAIL\r\n", "", 2, 0},
    {"normalize: dot text after bare LF stuffed", SMTP_BARE_NORMALIZE, 100, "a\n.b\r\n.\r\n", 1,
     "a\r\n..b\r\n", "", 0, 1},
    {"normalize: clean message unchanged", SMTP_BARE_NORMALIZE, 100, "a\r\n..\r\n.\r\n", 1,
     "a\r\n..\r\n", "", 0, 0},
    {"lenient: LF.LF ends", SMTP_BARE_LENIENT, 100, "a\n.\nMAIL\r\n", 1, "a\n", "MAIL\r\n", 0, 1},
    {"lenient: CRLF.LF ends", SMTP_BARE_LENIENT, 100, "a\r\n.\nMAIL\r\n", 1, "a\r\n", "MAIL\r\n", 0, 0},
    {"lenient: bare CR passed", SMTP_BARE_LENIENT, 100, "a\rb\r\n.\r\n", 1, "a\rb\r\n", "", 1, 0},
    {"over-long line, CRLF across chunks", SMTP_BARE_STRICT, 4, "abcdefg\r\n.\r\n", 1,
     "abcdefg\r\n", "", 0, 0},
    {"over-long line, CR ends a chunk", SMTP_BARE_STRICT, 4, "abc\r\n.\r\n", 1, "abc\r\n", "", 0, 0},
    {"over-long line, bare CR ends a chunk", SMTP_BARE_NORMALIZE, 4, "abc\rdefg\r\n.\r\n", 1,
     "abc\r\ndefg\r\n", "", 1, 0},
    {"over-long line of dots is not an end", SMTP_BARE_STRICT, 3, "....\r\n.\r\n", 1, "....\r\n", "", 0, 0},
    {"over-long: dot chunk after long line", SMTP_BARE_STRICT, 3, "abc.\r\n.\r\n", 1, "abc.\r\n", "", 0, 0},
    {"normalize: CR CR LF", SMTP_BARE_NORMALIZE, 100, "a\r\r\n.\r\n", 1, "a\r\n\r\n", "", 1, 0},
    {"normalize: lone dot then bare CR", SMTP_BARE_NORMALIZE, 100, "a\r\n.\rMAIL\r\n.\r\n", 1,
     "a\r\n..\r\nMAIL\r\n", "", 1, 0},
    {"normalize: lone dot after a chunked CRLF", SMTP_BARE_NORMALIZE, 3, "ab\r\n.\nx\r\n.\r\n", 1,
     "ab\r\n..\r\nx\r\n", "", 0, 1},
};

/* run - feed tc->in chunk by chunk; returns whether the end came, fills out and rest. */
static int run(const struct data_case *tc, struct smtp_data *d, char *out, size_t *olen,
               const char **rest)
{
    const char *in = tc->in;
    size_t len = strlen(in), off = 0;

    smtp_data_init(d, tc->mode);
    *olen = 0;
    while (off < len) {
        size_t n;
        enum line_result r = line_scan(in + off, len - off, tc->limit, &n);
        int partial = r != LINE_COMPLETE;
        if (r == LINE_PARTIAL)
            n = len - off; /* the unterminated rest */
        char buf[SMTP_DATA_OUT_MAX(256)];
        size_t bn;
        if (smtp_data_chunk(d, in + off, n, partial, buf, &bn) == SMTP_DATA_END) {
            *rest = in + off + n;
            return 1;
        }
        assert_true(bn <= SMTP_DATA_OUT_MAX(n));
        memcpy(out + *olen, buf, bn);
        *olen += bn;
        off += n;
    }
    *rest = in + len;
    return 0;
}

static void test_data(void **state)
{
    const struct data_case *tc = *state;
    struct smtp_data d;
    char out[1024];
    size_t olen;
    const char *rest;

    assert_int_equal(run(tc, &d, out, &olen, &rest), tc->ended);
    assert_span_equal(out, olen, tc->out);
    assert_string_equal(rest, tc->rest);
    assert_int_equal(d.bare_cr, tc->bare_cr);
    assert_int_equal(d.bare_lf, tc->bare_lf);
    assert_int_equal(smtp_data_bare(&d), tc->bare_cr + tc->bare_lf);
}

struct mode_case {
    const char *name;
    const char *text;
    int ok;
    enum smtp_bare_mode mode;
};

static const struct mode_case mode_cases[] = {
    {"mode strict", "strict", 0, SMTP_BARE_STRICT},
    {"mode normalize", "normalize", 0, SMTP_BARE_NORMALIZE},
    {"mode lenient", "lenient", 0, SMTP_BARE_LENIENT},
    {"mode unknown", "loose", -1, SMTP_BARE_STRICT},
    {"mode empty", "", -1, SMTP_BARE_STRICT},
};

static void test_mode(void **state)
{
    const struct mode_case *tc = *state;
    enum smtp_bare_mode m = SMTP_BARE_STRICT;

    assert_int_equal(smtp_bare_mode_parse(tc->text, &m), tc->ok);
    if (tc->ok == 0) {
        assert_int_equal(m, tc->mode);
        assert_string_equal(smtp_bare_mode_name(m), tc->text);
    }
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, data_cases, test_data);
    TABLE_ADD(tests, &n, mode_cases, test_mode);
    return _cmocka_run_group_tests("smtp_data", tests, n, NULL, NULL);
}
