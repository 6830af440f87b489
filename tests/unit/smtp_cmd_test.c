/* smtp_cmd_test - table-driven tests of the SMTP command line parser. */
#include "table.h"
#include "smtp_cmd.h"

struct cmd_case {
    const char *name;
    const char *line;
    enum smtp_cmd_status status;
    enum smtp_verb verb;
    const char *arg;   /* NULL: not checked */
    const char *path;  /* NULL: not checked */
    int null_path;
    unsigned flags;    /* flags that must be set */
    size_t nparams;
    const char *p0key, *p0value; /* first parameter, if any */
};

static const struct cmd_case cmd_cases[] = {
    {"helo", "HELO client.example\r\n", SMTP_CMD_OK, SMTP_VERB_HELO, "client.example"},
    {"ehlo lower case", "ehlo Client\r\n", SMTP_CMD_OK, SMTP_VERB_EHLO, "Client"},
    {"mixed case verb", "MaIl FROM:<a@b.example>\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL, "a@b.example"},
    {"mail with params", "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME\r\n", SMTP_CMD_OK,
     SMTP_VERB_MAIL, NULL, "a@b.example", 0, 0, 2, "SIZE", "1000"},
    {"null sender", "MAIL FROM:<>\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL, "", 1},
    {"null sender with param", "MAIL FROM:<> SIZE=10\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL, "", 1, 0, 1, "SIZE", "10"},
    {"rcpt", "RCPT TO:<x@y.example>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL, "x@y.example"},
    {"rcpt lower case to", "rcpt to:<x@y.example>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL, "x@y.example"},
    {"rcpt keyword param", "RCPT TO:<x@y> NOTIFY=NEVER SMTPUTF8\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL, "x@y", 0, 0, 2, "NOTIFY", "NEVER"},
    {"quoted local part", "MAIL FROM:<\"john doe\"@example.com>\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL,
     "\"john doe\"@example.com", 0, SMTP_CMD_F_QUOTED},
    {"quoted local part with >", "RCPT TO:<\"a>b\"@example.com>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL,
     "\"a>b\"@example.com", 0, SMTP_CMD_F_QUOTED},
    {"quoted escaped quote", "RCPT TO:<\"a\\\"b\"@example.com>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL,
     "\"a\\\"b\"@example.com", 0, SMTP_CMD_F_QUOTED},
    {"space after colon flagged", "MAIL FROM: <a@b>\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL, "a@b", 0, SMTP_CMD_F_SPACE_COLON},
    {"space before colon flagged", "RCPT TO : <a@b>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL, "a@b", 0, SMTP_CMD_F_SPACE_COLON},
    {"no brackets flagged", "MAIL FROM:a@b.example\r\n", SMTP_CMD_OK, SMTP_VERB_MAIL, NULL, "a@b.example", 0, SMTP_CMD_F_NO_BRACKETS},
    {"source route kept", "RCPT TO:<@relay.example:u@h.example>\r\n", SMTP_CMD_OK, SMTP_VERB_RCPT, NULL, "@relay.example:u@h.example"},
    {"data", "DATA\r\n", SMTP_CMD_OK, SMTP_VERB_DATA, ""},
    {"quit", "QUIT\r\n", SMTP_CMD_OK, SMTP_VERB_QUIT, ""},
    {"starttls", "STARTTLS\r\n", SMTP_CMD_OK, SMTP_VERB_STARTTLS, ""},
    {"bdat", "BDAT 100 LAST\r\n", SMTP_CMD_OK, SMTP_VERB_BDAT, "100 LAST"},
    {"vrfy", "VRFY postmaster\r\n", SMTP_CMD_OK, SMTP_VERB_VRFY, "postmaster"},
    {"trailing blanks ignored", "NOOP   \r\n", SMTP_CMD_OK, SMTP_VERB_NOOP, ""},
    {"unknown verb", "XYZZY plugh\r\n", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, "plugh"},
    {"verb prefix is not a verb", "MAILX FROM:<a@b>\r\n", SMTP_CMD_OK, SMTP_VERB_UNKNOWN},
    {"bare LF flagged", "NOOP\n", SMTP_CMD_OK, SMTP_VERB_NOOP, "", NULL, 0, SMTP_CMD_F_BARE_LF},
    {"no line ending flagged", "QUIT", SMTP_CMD_OK, SMTP_VERB_QUIT, "", NULL, 0, SMTP_CMD_F_NO_EOL},
    {"empty line", "\r\n", SMTP_CMD_EMPTY},
    {"blank line", "   \r\n", SMTP_CMD_EMPTY},
    {"NUL byte", "NO\0OP\r\n", SMTP_CMD_BAD_CHAR},
    {"escape byte", "HELO a\x1b[0m\r\n", SMTP_CMD_BAD_CHAR},
    {"mail without from", "MAIL <a@b>\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_MAIL},
    {"mail without colon", "MAIL FROM <a@b>\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_MAIL},
    {"unclosed bracket", "MAIL FROM:<a@b\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_MAIL},
    {"unclosed quote", "RCPT TO:<\"a@b>\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_RCPT},
    {"junk after path", "MAIL FROM:<a@b>junk\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_MAIL},
    {"rcpt null path", "RCPT TO:<>\r\n", SMTP_CMD_BAD_PATH, SMTP_VERB_RCPT},
    {"param without key", "MAIL FROM:<a@b> =1\r\n", SMTP_CMD_BAD_PARAM, SMTP_VERB_MAIL},
    {"param empty value", "MAIL FROM:<a@b> SIZE=\r\n", SMTP_CMD_BAD_PARAM, SMTP_VERB_MAIL},
    {"param bad key char", "MAIL FROM:<a@b> SI_ZE=1\r\n", SMTP_CMD_BAD_PARAM, SMTP_VERB_MAIL},
    {"too many params", "MAIL FROM:<a@b> A B C D E F G H I J K L M N O P Q\r\n", SMTP_CMD_TOO_MANY_PARAMS, SMTP_VERB_MAIL},
};

static void test_cmd(void **state)
{
    const struct cmd_case *tc = *state;
    struct smtp_cmd cmd;
    size_t len = strlen(tc->line);

    if (strcmp(tc->name, "NUL byte") == 0)
        len = 7; /* strlen stops at the NUL */
    enum smtp_cmd_status st = smtp_cmd_parse(tc->line, len, &cmd);
    if (st != tc->status)
        fail_msg("%s: status got %s, want %s", tc->name, smtp_cmd_status_text(st),
                 smtp_cmd_status_text(tc->status));
    if (st == SMTP_CMD_EMPTY || st == SMTP_CMD_BAD_CHAR || st == SMTP_CMD_TOO_LONG)
        return;
    assert_int_equal(cmd.verb, tc->verb);
    if (tc->arg)
        assert_span_equal(cmd.arg, cmd.arg_len, tc->arg);
    if (st != SMTP_CMD_OK)
        return;
    if (tc->path)
        assert_span_equal(cmd.path, cmd.path_len, tc->path);
    assert_int_equal(cmd.null_path, tc->null_path);
    assert_int_equal(cmd.flags & tc->flags, tc->flags);
    assert_int_equal(cmd.nparams, tc->nparams);
    if (tc->p0key) {
        assert_span_equal(cmd.params[0].key, cmd.params[0].key_len, tc->p0key);
        if (tc->p0value)
            assert_span_equal(cmd.params[0].value, cmd.params[0].value_len, tc->p0value);
    }
}

/* The line limit: 1000 octets with CRLF are accepted, 1001 are not (RFC 5321 4.5.3.1.6). */
static void test_line_limit(void **state)
{
    char line[SMTP_LINE_MAX + 2];
    struct smtp_cmd cmd;

    (void)state;
    memset(line, 'a', sizeof(line));
    memcpy(line, "HELO ", 5);
    memcpy(line + SMTP_LINE_MAX - 2, "\r\n", 2);
    assert_int_equal(smtp_cmd_parse(line, SMTP_LINE_MAX, &cmd), SMTP_CMD_OK);
    assert_int_equal(cmd.arg_len, SMTP_LINE_MAX - 7);
    memcpy(line + SMTP_LINE_MAX - 2, "aa\r\n", 4);
    assert_int_equal(smtp_cmd_parse(line, SMTP_LINE_MAX + 2, &cmd), SMTP_CMD_TOO_LONG);
}

static void test_path_limit(void **state)
{
    char line[600];
    struct smtp_cmd cmd;

    (void)state;
    int n = snprintf(line, sizeof(line), "RCPT TO:<%0300d@x>\r\n", 0);
    assert_int_equal(smtp_cmd_parse(line, (size_t)n, &cmd), SMTP_CMD_PATH_TOO_LONG);
}

static void test_param_lookup(void **state)
{
    const char *line = "MAIL FROM:<a@b> size=42 BODY=7BIT\r\n";
    struct smtp_cmd cmd;

    (void)state;
    assert_int_equal(smtp_cmd_parse(line, strlen(line), &cmd), SMTP_CMD_OK);
    const struct smtp_param *p = smtp_cmd_param(&cmd, "SIZE");
    assert_non_null(p);
    assert_span_equal(p->value, p->value_len, "42");
    assert_null(smtp_cmd_param(&cmd, "SMTPUTF8"));
    assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, cmd_cases, test_cmd);
    TEST_ADD(tests, &n, test_line_limit);
    TEST_ADD(tests, &n, test_path_limit);
    TEST_ADD(tests, &n, test_param_lookup);
    return _cmocka_run_group_tests("smtp_cmd", tests, n, NULL, NULL);
}
