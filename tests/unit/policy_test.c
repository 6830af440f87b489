/* policy_test - the tarpit's policy (tarpit/policy.c): each policy's decisions, seeded and deterministic; delay specs;
 * configuration errors. */
#include "table.h"
#include "policy.h"

struct spec_case {
    const char *name;
    const char *text;
    int ok;
    enum delay_kind kind;
    double a, b, odds;
};

static const struct spec_case spec_cases[] = {
    {"spec zero", "0", 1, DELAY_NONE, 0},
    {"spec fixed", "5", 1, DELAY_FIXED, 5},
    {"spec fractional", "0.25", 1, DELAY_FIXED, 0.25},
    {"spec uniform", "1-3", 1, DELAY_UNIFORM, 1, 3},
    {"spec uniform equal", "2-2", 1, DELAY_UNIFORM, 2, 2},
    {"spec odds", "odds:2:50", 1, DELAY_ODDS, 2, 0, 0.5},
    {"spec reversed range", "3-1", 0},
    {"spec negative", "-1", 0},
    {"spec words", "soon", 0},
    {"spec odds missing percent", "odds:2", 0},
    {"spec odds 100 percent", "odds:2:100", 0},
    {"spec too long", "9999999", 0},
    {"spec empty", "", 0},
};

static void test_spec(void **state)
{
    const struct spec_case *tc = *state;
    struct delay_spec d;
    char err[128];

    int r = delay_spec_parse(tc->text, &d, err, sizeof(err));
    assert_int_equal(r, tc->ok ? 0 : -1);
    if (!tc->ok)
        return;
    assert_int_equal(d.kind, tc->kind);
    assert_float_equal(d.a, tc->a, 1e-9);
    assert_float_equal(d.b, tc->b, 1e-9);
    assert_float_equal(d.odds, tc->odds, 1e-9);
}

static void test_samples(void **state)
{
    struct delay_spec u, o;
    struct rng r1, r2;
    char err[64];
    double sum = 0;

    (void)state;
    delay_spec_parse("1-3", &u, err, sizeof(err));
    delay_spec_parse("odds:1:50", &o, err, sizeof(err));
    rng_seed(&r1, 42);
    rng_seed(&r2, 42);
    for (int i = 0; i < 10000; i++) {
        double a = delay_spec_sample(&u, &r1);
        assert_true(a >= 1 && a <= 3);
        assert_float_equal(a, delay_spec_sample(&u, &r2), 0); /* same seed, same draws */
        sum += delay_spec_sample(&o, &r1);
        delay_spec_sample(&o, &r2);
    }
    /* odds 50%: E[k] = p / (1 - p) = 1 step of 1 s */
    assert_true(sum / 10000 > 0.9 && sum / 10000 < 1.1);
}

static struct tarpit *make(const char *const *kv)
{
    struct tarpit_config cfg;
    struct tarpit *t = calloc(1, sizeof(*t));
    char err[256];

    tarpit_config_init(&cfg);
    strcpy(cfg.hostname, "mx1.test");
    for (int i = 0; kv[i]; i += 2)
        assert_int_equal(tarpit_config_set(&cfg, kv[i], kv[i + 1], err, sizeof(err)), 0);
    tarpit_init(t, &cfg);
    return t;
}

static void drop(struct tarpit *t)
{
    tarpit_free(t);
    free(t);
}

static const char *decide(struct tarpit *t, const char *client, unsigned msgs, enum smtp_stage st,
                          double now, struct smtp_decision *d)
{
    const char *action;

    memset(d, 0, sizeof(*d));
    tarpit_decide(t, client, msgs, st, now, d, &action);
    return action;
}

static void test_conn_limit(void **state)
{
    const char *kv[] = {"max-conns-per-client", "10", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    (void)state;
    for (int i = 1; i <= 10; i++) {
        tarpit_connect(t, "198.18.2.1", i);
        assert_null(decide(t, "198.18.2.1", 0, SMTP_STAGE_CONNECT, i, &d));
    }
    tarpit_connect(t, "198.18.2.1", 11);
    assert_string_equal(decide(t, "198.18.2.1", 0, SMTP_STAGE_CONNECT, 11, &d), "conn_limit");
    assert_int_equal(d.code, 421);
    assert_string_equal(d.text, "4.7.0 mx1.test Error: too many connections from 198.18.2.1");
    tarpit_connect(t, "198.18.2.2", 11); /* another client is not affected */
    assert_null(decide(t, "198.18.2.2", 0, SMTP_STAGE_CONNECT, 11, &d));
    tarpit_disconnect(t, "198.18.2.1");
    tarpit_disconnect(t, "198.18.2.1");
    tarpit_connect(t, "198.18.2.1", 12);
    assert_null(decide(t, "198.18.2.1", 0, SMTP_STAGE_CONNECT, 12, &d));
    drop(t);
}

/* limits hold for every client however many there were, and idle clients are forgotten */
static void test_many_clients(void **state)
{
    const char *kv[] = {"max-conns-per-client", "1", "conn-rate", "2", "rate-window", "10", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;
    char addr[64];

    (void)state;
    for (int i = 0; i < 20000; i++) { /* 20,000 clients, each with one open connection */
        snprintf(addr, sizeof(addr), "old-%d", i);
        tarpit_connect(t, addr, 1);
        assert_null(decide(t, addr, 0, SMTP_STAGE_CONNECT, 1, &d));
    }
    assert_int_equal(t->nclients, 20000);
    tarpit_connect(t, "old-19999", 2); /* the 19,999th client's second connection */
    assert_string_equal(decide(t, "old-19999", 0, SMTP_STAGE_CONNECT, 2, &d), "conn_limit");
    tarpit_disconnect(t, "old-19999");
    for (int i = 0; i < 20000; i++) {
        snprintf(addr, sizeof(addr), "old-%d", i);
        tarpit_disconnect(t, addr);
    }
    /* long after the window, new clients push the old ones out instead of growing */
    size_t cap = t->cap;
    for (int i = 0; i < 20000; i++) {
        snprintf(addr, sizeof(addr), "new-%d", i);
        assert_null(decide(t, addr, 0, SMTP_STAGE_CONNECT, 100, &d));
    }
    assert_true(t->cap <= cap);
    assert_true(t->nclients <= 20000 + 1);
    drop(t);
}

static void test_conn_rate(void **state)
{
    const char *kv[] = {"conn-rate", "3", "rate-window", "10", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_null(decide(t, "c", 0, SMTP_STAGE_CONNECT, i, &d));
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_CONNECT, 3, &d), "conn_rate");
    assert_int_equal(d.code, 421);
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_CONNECT, 9.9, &d), "conn_rate");
    assert_null(decide(t, "c", 0, SMTP_STAGE_CONNECT, 10.1, &d)); /* the first left the window */
    drop(t);
}

static void test_msg_rate_and_per_conn(void **state)
{
    const char *kv[] = {"msg-rate", "2", "rate-window", "1", "max-msgs-per-conn", "5", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    (void)state;
    assert_null(decide(t, "c", 0, SMTP_STAGE_MAIL, 0.0, &d));
    assert_null(decide(t, "c", 1, SMTP_STAGE_MAIL, 0.1, &d));
    assert_string_equal(decide(t, "c", 2, SMTP_STAGE_MAIL, 0.2, &d), "msg_rate");
    assert_int_equal(d.code, 450);
    assert_string_equal(d.text, "4.7.1 Error: too much mail from c");
    assert_null(decide(t, "c", 2, SMTP_STAGE_MAIL, 1.05, &d));
    assert_string_equal(decide(t, "c", 5, SMTP_STAGE_MAIL, 5, &d), "msgs_per_conn");
    assert_int_equal(d.code, 421);
    drop(t);
}

static void test_accept_rate(void **state)
{
    const char *kv[] = {"accept-rate", "2", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    (void)state;
    assert_null(decide(t, "a", 0, SMTP_STAGE_MAIL, 0, &d));
    assert_null(decide(t, "b", 0, SMTP_STAGE_MAIL, 0, &d));
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_MAIL, 0, &d), "accept_rate");
    assert_int_equal(d.code, 451);
    assert_null(decide(t, "c", 0, SMTP_STAGE_MAIL, 0.5, &d)); /* one token came back */
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_MAIL, 0.5, &d), "accept_rate");
    drop(t);
}

static void test_tempfail_rate(void **state)
{
    const char *kv[] = {"tempfail-rcpt", "0.3", "seed", "7", NULL};
    struct tarpit *t = make(kv), *u = make(kv);
    struct smtp_decision d, e;
    int fails = 0;

    (void)state;
    for (int i = 0; i < 10000; i++) {
        const char *a = decide(t, "c", 0, SMTP_STAGE_RCPT, i, &d);
        const char *b = decide(u, "c", 0, SMTP_STAGE_RCPT, i, &e);
        assert_true((a == NULL) == (b == NULL)); /* the same seed replays */
        if (a) {
            assert_string_equal(a, "tempfail");
            assert_int_equal(d.code, 450);
            fails++;
        }
    }
    /* binomial(10000, 0.3): sd 46; 6 sd either side */
    assert_true(fails > 2724 && fails < 3276);
    drop(t);
    drop(u);
}

struct preset_case {
    const char *name;
    const char *preset;
    enum smtp_stage stage;
    int temp;
    int code;
    const char *prefix;
};

static const struct preset_case preset_cases[] = {
    {"gmail mail tempfail", "gmail", SMTP_STAGE_MAIL, 1, 421, "4.7.28 "},
    {"gmail rcpt tempfail", "gmail", SMTP_STAGE_RCPT, 1, 450, "4.2.1 The user you are trying to contact is receiving mail too quickly"},
    {"gmail permfail", "gmail", SMTP_STAGE_DOT, 0, 550, "5.7.1 "},
    {"yahoo tempfail", "yahoo", SMTP_STAGE_CONNECT, 1, 421, "4.7.0 [TSS04] Messages from your IP temporarily deferred"},
    {"greylist tempfail", "greylist", SMTP_STAGE_RCPT, 1, 451, "4.7.1 Greylisted"},
    {"postfix permfail", "postfix", SMTP_STAGE_MAIL, 0, 550, "5.7.1 "},
};

static void test_preset(void **state)
{
    const struct preset_case *tc = *state;
    const char *kv[] = {"preset", tc->preset, tc->temp ? "tempfail-mail" : "permfail-mail", "1",
                        tc->temp ? "tempfail-rcpt" : "permfail-rcpt", "1",
                        tc->temp ? "tempfail-connect" : "permfail-connect", "1",
                        tc->temp ? "tempfail-dot" : "permfail-dot", "1", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    assert_string_equal(decide(t, "c", 0, tc->stage, 0, &d), tc->temp ? "tempfail" : "permfail");
    assert_int_equal(d.code, tc->code);
    assert_true(strncmp(d.text, tc->prefix, strlen(tc->prefix)) == 0);
    drop(t);
}

static void test_literal_reply_disconnect_stutter(void **state)
{
    const char *kv[] = {"tempfail-reply", "452 4.3.1 Insufficient system storage", "tempfail-data", "1",
                        "disconnect-dot", "1", "stutter", "1/0.5", "delay-helo", "2", NULL};
    struct tarpit *t = make(kv);
    struct smtp_decision d;

    (void)state;
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_DATA, 0, &d), "tempfail");
    assert_int_equal(d.code, 452);
    assert_string_equal(d.text, "4.3.1 Insufficient system storage");
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_DOT, 0, &d), "disconnect");
    assert_true(d.silent);
    assert_string_equal(decide(t, "c", 0, SMTP_STAGE_HELO, 0, &d), "delay");
    assert_float_equal(d.delay, 2, 0);
    assert_int_equal(d.stutter_bytes, 1);
    assert_float_equal(d.stutter_interval, 0.5, 0);
    drop(t);
}

struct set_case {
    const char *name;
    const char *key, *value;
    int want; /* 0 ok, 1 unknown key, -1 bad value */
};

static const struct set_case set_cases[] = {
    {"set probability", "tempfail-rcpt", "0.5", 0},
    {"set probability over 1", "tempfail-rcpt", "1.5", -1},
    {"set unknown stage", "tempfail-quit", "0.5", 1},
    {"set unknown key", "bogus", "1", 1},
    {"set preset", "preset", "yahoo", 0},
    {"set bad preset", "preset", "hotmail", -1},
    {"set tempfail reply 5xx", "tempfail-reply", "550 no", -1},
    {"set permfail reply", "permfail-reply", "554 5.7.1 go away", 0},
    {"set stutter", "stutter", "1/1", 0},
    {"set stutter bad", "stutter", "fast", -1},
    {"set count negative", "max-conns-per-client", "-3", -1},
    {"set early talkers", "early-talkers", "maybe", -1},
    {"set rate window zero", "rate-window", "0", -1},
    {"set seed", "seed", "123456789", 0},
};

static void test_set(void **state)
{
    const struct set_case *tc = *state;
    struct tarpit_config cfg;
    char err[256] = "";

    tarpit_config_init(&cfg);
    assert_int_equal(tarpit_config_set(&cfg, tc->key, tc->value, err, sizeof(err)), tc->want);
    if (tc->want < 0)
        assert_true(strstr(err, tc->key) != NULL); /* the message names the key */
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, spec_cases, test_spec);
    TABLE_ADD(tests, &n, preset_cases, test_preset);
    TABLE_ADD(tests, &n, set_cases, test_set);
    TEST_ADD(tests, &n, test_samples);
    TEST_ADD(tests, &n, test_conn_limit);
    TEST_ADD(tests, &n, test_conn_rate);
    TEST_ADD(tests, &n, test_many_clients);
    TEST_ADD(tests, &n, test_msg_rate_and_per_conn);
    TEST_ADD(tests, &n, test_accept_rate);
    TEST_ADD(tests, &n, test_tempfail_rate);
    TEST_ADD(tests, &n, test_literal_reply_disconnect_stutter);
    return _cmocka_run_group_tests("policy", tests, n, NULL, NULL);
}
