/* sink_test - the options every sink (mx, tarpit) takes: each value taken into its
 * field, each bad value refused with a message that names the option; and the JSON
 * record of an accepted message. */
#include "table.h"
#include "json_read.h"
#include "sink.h"

struct option_case {
    const char *name;
    int opt;
    const char *arg;
    int want;          /* sink_option's result */
    const char *error; /* a part of the message when refused */
};

static const struct option_case option_cases[] = {
    {"listen", SINK_OPT_LISTEN, "127.0.0.1:2525", 1, NULL},
    {"hostname", SINK_OPT_HOSTNAME, "mx1.test", 1, NULL},
    {"hostname with a blank", SINK_OPT_HOSTNAME, "mx 1", -1, "--hostname 'mx 1'"},
    {"hostname empty", SINK_OPT_HOSTNAME, "", -1, "--hostname"},
    {"max-size", SINK_OPT_MAX_SIZE, "1000", 1, NULL},
    {"max-size not a number", SINK_OPT_MAX_SIZE, "1k", -1, "--max-size '1k'"},
    {"max-conns", SINK_OPT_MAX_CONNS, "10", 1, NULL},
    {"idle-timeout", SINK_OPT_IDLE_TIMEOUT, "3", 1, NULL},
    {"idle-timeout zero", SINK_OPT_IDLE_TIMEOUT, "0", -1, "--idle-timeout '0'"},
    {"grace", SINK_OPT_GRACE, "1.5", 1, NULL},
    {"grace negative", SINK_OPT_GRACE, "-1", -1, "--grace '-1'"},
    {"bare-lf normalize", SINK_OPT_BARE_LF, "normalize", 1, NULL},
    {"bare-lf unknown", SINK_OPT_BARE_LF, "loose", -1, "--bare-lf 'loose'"},
    {"not a sink option", 'h', "", 0, NULL},
};

static void test_option(void **state)
{
    const struct option_case *tc = *state;
    struct sink_options o;
    char err[256] = "";

    sink_options_init(&o);
    assert_int_equal(sink_option(&o, tc->opt, tc->arg, err, sizeof(err)), tc->want);
    if (tc->error && strstr(err, tc->error) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err, tc->error);
}

static void test_values_taken(void **state)
{
    struct sink_options o;
    char err[256];

    (void)state;
    sink_options_init(&o);
    assert_int_equal(o.bare_mode, SMTP_BARE_STRICT); /* the default */
    sink_option(&o, SINK_OPT_HOSTNAME, "mx9.test", err, sizeof(err));
    sink_option(&o, SINK_OPT_IDLE_TIMEOUT, "2.5", err, sizeof(err));
    sink_option(&o, SINK_OPT_BARE_LF, "lenient", err, sizeof(err));
    sink_option(&o, SINK_OPT_LISTEN, "127.0.0.1:1", err, sizeof(err));
    sink_option(&o, SINK_OPT_LISTEN, "127.0.0.1:2", err, sizeof(err));
    assert_string_equal(o.hostname, "mx9.test");
    assert_true(o.idle_timeout == 2.5);
    assert_int_equal(o.bare_mode, SMTP_BARE_LENIENT);
    assert_int_equal(o.nlisten, 2);
    assert_string_equal(o.listen[1], "127.0.0.1:2");
}

static void test_record(void **state)
{
    static struct smtp_session s;
    struct json_writer w;
    struct json_token tok[256];
    char text[128];
    int64_t v;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.data_end_us = 1795994391000000;
    s.mail_us = 1795994390500000;
    strcpy(s.client_addr, "198.18.2.1");
    strcpy(s.mail_from, "a@msa1.test");
    strcpy(s.queue_id, "ABC123");
    strcpy(s.message_id, "<r.msa1.0.0@msa1.test>");
    s.size = 800;
    json_writer_init(&w);
    assert_int_equal(sink_record_format(&w, &s, "mx1.test"), 0);
    assert_true(json_read(w.buf, w.len, tok, 256) > 0);
    assert_true(json_string(w.buf, tok, json_member(w.buf, tok, 0, "message_id"), text, sizeof(text)) > 0);
    assert_string_equal(text, "<r.msa1.0.0@msa1.test>");
    assert_true(json_string(w.buf, tok, json_member(w.buf, tok, 0, "client"), text, sizeof(text)) > 0);
    assert_string_equal(text, "198.18.2.1");
    assert_int_equal(json_int64(w.buf, tok, json_member(w.buf, tok, 0, "t_us"), &v), 0);
    assert_true(v == 1795994391000000);
    assert_int_equal(json_int64(w.buf, tok, json_member(w.buf, tok, 0, "size"), &v), 0);
    assert_true(v == 800);
    json_writer_free(&w);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, option_cases, test_option);
    TEST_ADD(tests, &n, test_values_taken);
    TEST_ADD(tests, &n, test_record);
    return _cmocka_run_group_tests("sink", tests, n, NULL, NULL);
}
