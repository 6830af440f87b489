/* load_test - the mua's schedule parsing, round timing, session shares, headers and
 * bodies (exact sizes, line lengths, stamp format). */
#include <unistd.h>

#include "table.h"
#include "header.h"
#include "load.h"

struct body_case {
    const char *name;
    size_t size;
};

static const struct body_case body_cases[] = {
    {"body 0", 0},      {"body 5", 5},       {"body 22 text only", 22}, {"body 23", 23},
    {"body 24", 24},    {"body 25", 25},     {"body 100", 100},         {"body 102", 102},
    {"body 103", 103},  {"body 104", 104},   {"body 800", 800},         {"body 1000", 1000},
    {"body 2000", 2000}, {"body 65536", 65536},
};

static void test_body(void **state)
{
    const struct body_case *tc = *state;
    char *b = malloc(tc->size + 1);

    assert_int_equal(load_body(b, tc->size), tc->size);
    assert_int_equal(strlen(b), tc->size);
    if (tc->size >= 22) {
        assert_memory_equal(b, "This is a test mail.", 20);
        size_t start = 0;
        for (size_t i = 0; i < tc->size; i++) {
            if (b[i] == '\n') {
                assert_true(i > 0 && b[i - 1] == '\r');          /* CRLF only */
                assert_true(i - 1 - start <= LOAD_BODY_LINE);    /* at most 78 characters */
                start = i + 1;
            }
        }
        assert_int_equal(start, tc->size); /* the last line ends in CRLF too */
    }
    free(b);
}

struct share_case {
    const char *name;
    unsigned messages, sessions;
};

static const struct share_case share_cases[] = {
    {"share even", 10, 10}, {"share one session", 1000, 1}, {"share remainder", 10, 3},
    {"share study bulk", 1000, 1000}, {"share 5 of 10000", 10000, 5}, {"share 7 of 100", 100, 7},
};

static void test_share(void **state)
{
    const struct share_case *tc = *state;
    struct load_target t = {0};
    unsigned total = 0, lo = ~0u, hi = 0;

    t.messages = tc->messages;
    t.sessions = tc->sessions;
    for (unsigned i = 0; i < t.sessions; i++) {
        unsigned n = load_session_share(&t, 0, i);
        assert_int_equal(load_session_first_seq(&t, 0, i), total); /* contiguous sequence numbers */
        total += n;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    assert_int_equal(total, tc->messages);
    assert_true(hi - lo <= 1);
}

static void test_round_list(void **state)
{
    struct load_target t = {0};
    char err[128];

    (void)state;
    t.sessions = 5;
    assert_int_equal(load_target_set(&t, "messages", "1000,10000,100000,1000000", err, sizeof(err)), 0);
    assert_int_equal(t.nlist, 4);
    assert_int_equal(load_round_messages(&t, 0), 1000);
    assert_int_equal(load_round_messages(&t, 3), 1000000);
    assert_int_equal(load_round_messages(&t, 4), 1000); /* cycles */
    assert_int_equal(load_session_share(&t, 2, 4), 20000);
    assert_int_equal(load_target_set(&t, "messages", "1,x", err, sizeof(err)), -1);
    t.sessions = 10;
    assert_int_equal(load_target_set(&t, "messages", "3,20", err, sizeof(err)), 0);
    assert_int_equal(load_round_sessions(&t, 0), 3); /* never more sessions than messages */
    assert_int_equal(load_session_share(&t, 0, 2), 1);
}

static void test_round_due(void **state)
{
    struct load_target t = {0};

    (void)state;
    t.interval = 10;
    assert_int_equal(load_round_due_us(&t, 1000000, 0), 1000000);
    assert_int_equal(load_round_due_us(&t, 1000000, 59), 591000000);
    t.start = 0.5;
    t.interval = 0.1;
    assert_int_equal(load_round_due_us(&t, 0, 3), 800000);
}

static void test_headers(void **state)
{
    struct load_target t = {0};
    struct mua_stamp st = {"r1", "msa3", 7, 42, 1795500839000000, 1795500839012345}, back;
    char buf[LOAD_HEADERS_MAX];
    static struct header_parser hp;

    (void)state;
    strcpy(t.from, "a@msa3.test");
    strcpy(t.to, "u@mx3.test");
    setenv("TZ", "UTC", 1);
    size_t n = load_headers(buf, sizeof(buf), &t, &st, 1795500839);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "Message-ID: <r1.msa3.7.42@msa3.test>\r\n"));
    assert_non_null(strstr(buf, "Date: Tue, 24 Nov 2026 06:13:59 +0000 (UTC)\r\n"));
    assert_non_null(strstr(buf, "From: <a@msa3.test>\r\nTo: <u@mx3.test>\r\n"));
    assert_memory_equal(buf + n - 4, "\r\n\r\n", 4);
    const char *v = strstr(buf, "X-Mua-Stamp: ") + 13;
    assert_int_equal(mua_stamp_parse(v, (size_t)(strchr(v, '\r') - v), &back), 0);
    assert_memory_equal(&st, &back, sizeof(st));
    /* the block is a well-formed header section */
    header_init(&hp);
    for (const char *p = buf; p < buf + n;) {
        const char *nl = strchr(p, '\n');
        header_feed(&hp, p, (size_t)(nl - p) + 1, NULL, NULL);
        p = nl + 1;
    }
    assert_int_equal(hp.state, HEADER_DONE);
    assert_int_equal(hp.malformed, 0);
}

struct sched_case {
    const char *name;
    const char *text;
    const char *error; /* NULL: parses; else a substring of the error, after "file:" */
};

static const struct sched_case sched_cases[] = {
    {"schedule ok",
     "run = r1\ninterval = 10\nrounds = 60\n[msa1]\ntarget = 198.18.1.11:25\nfrom = a@msa1.test\n"
     "to = u@mx1.test\nmessages = 10\nsessions = 10\n[msa3]\ntarget = 198.18.1.13:25\n"
     "from = a@msa3.test\nto = u@mx3.test\nmessages = 1000\n",
     NULL},
    {"schedule unknown key", "[msa1]\ntarget = 1.2.3.4:25\nfrom = a@b\nto = c@d\nspeed = 3\n", ":5: unknown key 'speed'"},
    {"schedule bad target", "[msa1]\ntarget = msa1:25\n", ":2: target 'msa1:25': 'msa1' is not a numeric"},
    {"schedule missing to", "[msa1]\ntarget = 1.2.3.4:25\nfrom = a@b\n", "target 'msa1': no to given"},
    {"schedule zero messages", "[msa1]\nmessages = 0\n", ":2: messages '0'"},
    {"schedule more sessions than messages", "[m]\ntarget = 1.2.3.4:25\nfrom = a@b\nto = c@d\nmessages = 2\nsessions = 3\n", "3 sessions for 2 messages"},
    {"schedule no target", "run = x\n", "no [target] section"},
    {"schedule duplicate section", "[a]\n[a]\n", ":2: section [a] given twice"},
    {"schedule bad run", "run = a b\n", ":1: run 'a b'"},
    {"schedule garbage line", "[a]\nthis is not a key\n", ":2: expected 'key = value'"},
};

static void test_schedule(void **state)
{
    const struct sched_case *tc = *state;
    char path[] = "/tmp/load_test.XXXXXX";
    char err[1024] = "";
    static struct load_schedule s;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, tc->text, strlen(tc->text)), (ssize_t)strlen(tc->text));
    close(fd);
    load_schedule_init(&s);
    int r = load_schedule_parse(&s, path, err, sizeof(err));
    unlink(path);
    if (tc->error == NULL) {
        assert_int_equal(r, 0);
        assert_int_equal(s.ntargets, 2);
        assert_string_equal(s.run, "r1");
        assert_string_equal(s.targets[0].name, "msa1");
        assert_int_equal(s.targets[0].rounds, 60); /* inherited default */
        assert_int_equal(s.targets[1].messages, 1000);
        assert_int_equal(s.targets[1].sessions, 1);
        return;
    }
    assert_int_equal(r, -1);
    assert_non_null(strstr(err, path));
    if (strstr(err, tc->error) == NULL)
        fail_msg("error '%s' lacks '%s'", err, tc->error);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, body_cases, test_body);
    TABLE_ADD(tests, &n, share_cases, test_share);
    TABLE_ADD(tests, &n, sched_cases, test_schedule);
    TEST_ADD(tests, &n, test_round_due);
    TEST_ADD(tests, &n, test_round_list);
    TEST_ADD(tests, &n, test_headers);
    return _cmocka_run_group_tests("load", tests, n, NULL, NULL);
}
