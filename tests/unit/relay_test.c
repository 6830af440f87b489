/* relay_test - the proxy's session state machine (proxy/relay.c) driven by scripted exchanges:
 * each step is a line from the client ("C:") or the MX ("S:") and what each side must
 * have received since the previous step. */
#include "table.h"
#include "conn.h"
#include "relay.h"

struct fake {
    char to_c[4096], to_s[4096];
    size_t lc, ls;
    int tls_started, finished, messages, aborted, want_room;
    char bare[16];
    char reason[64];
    struct relay_message last;
    size_t room_c, room_s;
};

static int f_to_client(void *ctx, const char *d, size_t n)
{
    struct fake *f = ctx;
    memcpy(f->to_c + f->lc, d, n);
    f->lc += n;
    f->to_c[f->lc] = 0;
    return 0;
}

static int f_to_server(void *ctx, const char *d, size_t n)
{
    struct fake *f = ctx;
    memcpy(f->to_s + f->ls, d, n);
    f->ls += n;
    f->to_s[f->ls] = 0;
    return 0;
}

static size_t f_room_c(void *ctx) { return ((struct fake *)ctx)->room_c; }
static size_t f_room_s(void *ctx) { return ((struct fake *)ctx)->room_s; }
static void f_start_tls(void *ctx) { ((struct fake *)ctx)->tls_started++; }
static void f_finish(void *ctx, const char *why)
{
    struct fake *f = ctx;
    f->finished++;
    snprintf(f->reason, sizeof(f->reason), "%s", why);
}
static void f_message(void *ctx, const struct relay_message *m)
{
    struct fake *f = ctx;
    f->messages++;
    f->last = *m;
}

static void f_want_room(void *ctx) { ((struct fake *)ctx)->want_room++; }
static void f_abort(void *ctx, const char *why) { (void)why; ((struct fake *)ctx)->aborted++; }
static void f_bare(void *ctx, const char *action, uint64_t n)
{
    (void)n;
    snprintf(((struct fake *)ctx)->bare, sizeof(((struct fake *)ctx)->bare), "%s", action);
}

static const struct relay_ops fake_ops = {f_to_client, f_to_server, f_room_c, f_room_s, f_start_tls,
                                          f_finish, NULL, NULL, f_message, NULL, NULL,
                                          f_want_room, f_abort, f_bare};

#define STEPS_MAX 32

/* A step: "C:line" or "S:line" (CRLF added), "TLS" (handshake done), "C+:chunk" or
 * "S+:chunk" (a chunk without line end; the next line of that side continues it),
 * "S$:chunk" (the unterminated rest before the MX's close), or
 * "Cn:line" (a client line ending in a bare LF). want_c / want_s: what each side got since the last
 * step (NULL: not checked; "" nothing). */
struct step {
    const char *in;
    const char *want_c;
    const char *want_s;
    int want_wait; /* the relay answered "wait" */
};

struct relay_case {
    const char *name;
    enum relay_tls_mode mode;
    struct step steps[STEPS_MAX];
    int finished;
    int messages;
    int strict;     /* bare CR/LF refused instead of normalized */
    int aborted;    /* the MX side was dropped */
    const char *bare; /* what on_bare said, "" none */
};

#define G {"S:220 mx.test ESMTP", "220 mx.test ESMTP\r\n", ""}

static const struct relay_case relay_cases[] = {
    {"greeting passes", RELAY_TLS_NONE, {G}, 0, 0},
    {"client held before greeting", RELAY_TLS_NONE,
     {{"C:EHLO c", "", "", 1}, G}, 0, 0},
    {"greeting 554 ends the session", RELAY_TLS_NONE,
     {{"S:554 go away", "554 go away\r\n", ""}}, 1, 0},
    {"pipelined group in order", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", "EHLO c\r\n"}, {"S:250-mx.test", "", ""}, {"S:250 PIPELINING", "250-mx.test\r\n250 PIPELINING\r\n", ""},
      {"C:MAIL FROM:<a@b>", "", "MAIL FROM:<a@b>\r\n"}, {"C:RCPT TO:<u@x>", "", "RCPT TO:<u@x>\r\n"},
      {"C:RCPT TO:<v@x>", "", "RCPT TO:<v@x>\r\n"}, {"C:DATA", "", "DATA\r\n"},
      {"C:Subject: held until 354", "", "", 1},
      {"S:250 2.1.0 Ok", "250 2.1.0 Ok\r\n", ""}, {"S:250 2.1.5 Ok", "250 2.1.5 Ok\r\n", ""},
      {"S:550 5.1.1 no", "550 5.1.1 no\r\n", ""}, {"S:354 go", "354 go\r\n", ""},
      {"C:Subject: now body", "", "Subject: now body\r\n"}, {"C:..dot", "", "..dot\r\n"},
      {"C:.", "", ".\r\n"}, {"S:250 2.0.0 Ok: queued as ABC123", "250 2.0.0 Ok: queued as ABC123\r\n", ""}},
     0, 1},
    {"body lines that look like commands", RELAY_TLS_NONE,
     {G, {"C:MAIL FROM:<a@b>", "", NULL}, {"C:RCPT TO:<u@x>", "", NULL}, {"C:DATA", "", NULL},
      {"S:250 ok", NULL, ""}, {"S:250 ok", NULL, ""}, {"S:354 go", NULL, ""},
      {"C:QUIT", "", "QUIT\r\n"}, {"C:STARTTLS", "", "STARTTLS\r\n"}, {"C:RSET", "", "RSET\r\n"},
      {"C:.", "", ".\r\n"}, {"S:250 queued as Q1", "250 queued as Q1\r\n", ""}},
     0, 1},
    {"DATA refused releases the client", RELAY_TLS_NONE,
     {G, {"C:DATA", "", "DATA\r\n"}, {"C:NOOP", "", "", 1}, {"S:503 5.5.1 need RCPT", "503 5.5.1 need RCPT\r\n", ""},
      {"C:NOOP", "", "NOOP\r\n"}},
     0, 0},
    {"STARTTLS removed from the middle", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", NULL}, {"S:250-mx", "", ""}, {"S:250-STARTTLS", "", ""}, {"S:250 SIZE 100", "250-mx\r\n250 SIZE 100\r\n", ""}},
     0, 0},
    {"STARTTLS removed from the end", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", NULL}, {"S:250-mx", "", ""}, {"S:250-PIPELINING", "", ""}, {"S:250 STARTTLS", "250-mx\r\n250 PIPELINING\r\n", ""}},
     0, 0},
    {"starttls lower case and CHUNKING removed", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", NULL}, {"S:250-mx", "", ""}, {"S:250-starttls", "", ""}, {"S:250-CHUNKING", "", ""},
      {"S:250 8BITMIME", "250-mx\r\n250 8BITMIME\r\n", ""}},
     0, 0},
    {"STARTTLS only keyword", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", NULL}, {"S:250-mx", "", ""}, {"S:250 STARTTLS", "250 mx\r\n", ""}}, 0, 0},
    {"proxy does STARTTLS upstream", RELAY_TLS_MAY,
     {G, {"C:EHLO c", "", "EHLO c\r\n"}, {"S:250-mx", "", ""}, {"S:250 STARTTLS", "", "STARTTLS\r\n"},
      {"S:220 2.0.0 ready", "", ""}, {"TLS", "", "EHLO c\r\n"}, {"S:250-mx", "", ""},
      {"S:250 PIPELINING", "250-mx\r\n250 PIPELINING\r\n", ""}, {"C:MAIL FROM:<a@b>", "", "MAIL FROM:<a@b>\r\n"}},
     0, 0},
    {"MX refuses our STARTTLS, may goes on plain", RELAY_TLS_MAY,
     {G, {"C:EHLO c", "", NULL}, {"S:250-mx", "", ""}, {"S:250 STARTTLS", "", "STARTTLS\r\n"},
      {"S:454 4.7.0 no", "250 mx\r\n", ""}},
     0, 0},
    {"verify without STARTTLS gives 421", RELAY_TLS_VERIFY,
     {G, {"C:EHLO c", "", NULL}, {"S:250 mx", "421 4.7.0 proxy: the MX offers no STARTTLS and TLS is required\r\n", ""}},
     1, 0},
    {"client STARTTLS answered in order", RELAY_TLS_NONE,
     {G, {"C:NOOP", "", "NOOP\r\n"}, {"C:STARTTLS", "", ""}, {"S:250 ok", "250 ok\r\n454 4.7.0 TLS not available (the proxy does TLS towards the MX)\r\n", ""}},
     0, 0},
    {"4xx and 5xx pass unchanged", RELAY_TLS_NONE,
     {G, {"C:MAIL FROM:<a@b>", "", NULL}, {"S:451 4.7.1 try later", "451 4.7.1 try later\r\n", ""},
      {"C:MAIL FROM:<a@b>", "", NULL}, {"S:550 5.7.1 denied", "550 5.7.1 denied\r\n", ""}},
     0, 0},
    {"RSET and two transactions", RELAY_TLS_NONE,
     {G, {"C:MAIL FROM:<a@b>", "", NULL}, {"S:250 ok", NULL, ""}, {"C:RSET", "", "RSET\r\n"}, {"S:250 ok", NULL, ""},
      {"C:MAIL FROM:<c@d>", "", NULL}, {"C:RCPT TO:<u@x>", "", NULL}, {"C:DATA", "", NULL},
      {"S:250 ok", NULL, ""}, {"S:250 ok", NULL, ""}, {"S:354 go", NULL, ""}, {"C:.", "", ".\r\n"},
      {"S:250 queued as Q2", NULL, ""}, {"C:MAIL FROM:<e@f>", "", NULL}, {"C:RCPT TO:<u@x>", "", NULL},
      {"C:DATA", "", NULL}, {"S:250 ok", NULL, ""}, {"S:250 ok", NULL, ""}, {"S:354 go", NULL, ""},
      {"C:.", "", ".\r\n"}, {"S:250 queued as Q3", NULL, ""}},
     0, 2},
    {"multi-line reply to MAIL", RELAY_TLS_NONE,
     {G, {"C:MAIL FROM:<a@b>", "", NULL}, {"S:452-4.3.1 one", "452-4.3.1 one\r\n", ""}, {"C:NOOP", "", "NOOP\r\n"},
      {"S:452 4.3.1 two", "452 4.3.1 two\r\n", ""}, {"S:250 ok", "250 ok\r\n", ""}},
     0, 0},
    {"QUIT ends after its reply", RELAY_TLS_NONE,
     {G, {"C:QUIT", "", "QUIT\r\n"}, {"C:NOOP", "", ""}, {"S:221 bye", "221 bye\r\n", ""}}, 1, 0},
    {"unsolicited 421 ends the session", RELAY_TLS_NONE,
     {G, {"S:421 4.4.2 timeout", "421 4.4.2 timeout\r\n", ""}}, 1, 0},
    {"dot split over chunks is not the end", RELAY_TLS_NONE,
     {G, {"C:DATA", "", NULL}, {"S:354 go", NULL, ""}, {"C+:.", "", "."}, {"C:more", "", "more\r\n"},
      {"C:.", "", ".\r\n"}, {"S:250 queued as Z", NULL, ""}},
     0, 0},
    {"BDAT answered locally", RELAY_TLS_NONE,
     {G, {"C:BDAT 10 LAST", "502 5.5.1 BDAT not offered, use DATA\r\n", ""}}, 0, 0},
    {"commands pipelined after EHLO wait for our STARTTLS", RELAY_TLS_MAY,
     {G, {"C:EHLO c", "", "EHLO c\r\n"}, {"C:MAIL FROM:<a@b>", "", "", RELAY_HOLD},
      {"S:250-mx", "", ""}, {"S:250 STARTTLS", "", "STARTTLS\r\n"}, {"C:MAIL FROM:<a@b>", "", "", RELAY_HOLD},
      {"S:220 go", "", ""}, {"C:MAIL FROM:<a@b>", "", "", RELAY_HOLD}, {"TLS", "", "EHLO c\r\n"},
      {"S:250 mx", "250 mx\r\n", ""}, {"C:MAIL FROM:<a@b>", "", "MAIL FROM:<a@b>\r\n"},
      {"S:250 ok", "250 ok\r\n", ""}},
     0, 0},
    {"EHLO then NOOP: replies in order", RELAY_TLS_NONE,
     {G, {"C:EHLO c", "", "EHLO c\r\n"}, {"C:NOOP", "", "", RELAY_HOLD}, {"S:250 mx", "250 mx\r\n", ""},
      {"C:NOOP", "", "NOOP\r\n"}, {"S:250 ok", "250 ok\r\n", ""}},
     0, 0},
    {"two EHLOs: two EHLO replies", RELAY_TLS_NONE,
     {G, {"C:EHLO a", "", "EHLO a\r\n"}, {"C:EHLO b", "", "", RELAY_HOLD}, {"S:250 mx", "250 mx\r\n", ""},
      {"C:EHLO b", "", "EHLO b\r\n"}, {"S:250 mx2", "250 mx2\r\n", ""}},
     0, 0},
    {"a reply line over the buffer is cut, replies keep matching", RELAY_TLS_NONE,
     {G, {"C:NOOP", "", NULL}, {"C:NOOP", "", NULL}, {"S+:250-xxxxxxxx", "250-xxxxxxxx\r\n", ""},
      {"S:yyyy", "", ""}, {"S:250 first", "250 first\r\n", ""}, {"S+:250 second", "250 second\r\n", ""},
      {"S:zzzz", "", ""}, {"C:QUIT", "", "QUIT\r\n"}, {"S:221 bye", "221 bye\r\n", ""}},
     1, 0},
    {"an unterminated reply before the MX's close is not passed on", RELAY_TLS_NONE,
     {G, {"C:NOOP", "", NULL}, {"S$:250 no line end", "", ""}}, 0, 0},
    {"a malformed reply ends the session with 421", RELAY_TLS_NONE,
     {G, {"C:NOOP", "", NULL}, {"S:hello there", "421 4.5.0 proxy: the MX sent a malformed reply\r\n", ""}}, 1, 0},
    {"a reply to no command ends the session with 421", RELAY_TLS_NONE,
     {G, {"S:250 surprise", "421 4.5.0 proxy: the MX sent a reply to no command\r\n", ""}}, 1, 0},
    {"bare LF in a message is normalized", RELAY_TLS_NONE,
     {G, {"C:DATA", "", NULL}, {"S:354 go", NULL, ""}, {"Cn:a", "", "a\r\n"}, {"Cn:.", "", "..\r\n"},
      {"C:.", "", "..\r\n"}, {"C:b", "", "b\r\n"}, {"C:.", "", ".\r\n"}, {"S:250 ok", "250 ok\r\n", ""}},
     0, 0, 0, 0, "normalized"},
    {"strict: bare LF refuses the message, the MX never sees it end", RELAY_TLS_NONE,
     {G, {"C:DATA", "", NULL}, {"S:354 go", NULL, ""}, {"C:a", "", "a\r\n"}, {"Cn:b", "", ""},
      {"C:.", "", ""}, {"C:MAIL FROM:<x@y>", "", ""},
      {"C:.", "521 5.5.2 proxy: bare CR or LF in the message, refused (RFC 5321 2.3.8)\r\n", ""}},
     1, 0, 1, 1, "refused"},
    {"a local reply waits for room towards the client", RELAY_TLS_NONE,
     {G, {"room_c 10", NULL, NULL}, {"C:STARTTLS", "", ""}, {"C:NOOP", "", "NOOP\r\n"},
      {"room_c 100000", NULL, NULL}, {"drained", "454 4.7.0 TLS not available (the proxy does TLS towards the MX)\r\n", ""},
      {"S:250 ok", "250 ok\r\n", ""}},
     0, 0},
};

static void test_relay(void **state)
{
    const struct relay_case *tc = *state;
    struct fake *f = calloc(1, sizeof(*f));
    struct relay *r = calloc(1, sizeof(*r));
    char line[600];

    unsigned ccont = 0, scont = 0; /* the side's last chunk was partial */

    f->room_c = f->room_s = 100000;
    relay_init(r, &fake_ops, f, tc->mode);
    if (tc->strict)
        relay_set_bare_mode(r, SMTP_BARE_STRICT);
    for (int i = 0; i < STEPS_MAX && tc->steps[i].in; i++) {
        const struct step *st = &tc->steps[i];
        int waited = 0;
        f->lc = f->ls = 0;
        f->to_c[0] = f->to_s[0] = 0;
        if (strcmp(st->in, "TLS") == 0) {
            relay_tls_done(r, 1, 1);
        } else if (strncmp(st->in, "room_c ", 7) == 0) {
            f->room_c = (size_t)atoi(st->in + 7);
        } else if (strcmp(st->in, "drained") == 0) {
            relay_client_drained(r);
        } else if (strncmp(st->in, "C+:", 3) == 0 || strncmp(st->in, "S+:", 3) == 0) {
            snprintf(line, sizeof(line), "%s", st->in + 3);
            if (st->in[0] == 'C') {
                waited = relay_client_line(r, line, strlen(line), CONN_LINE_PARTIAL | ccont);
                ccont = CONN_LINE_CONT;
            } else {
                waited = relay_server_line(r, line, strlen(line), CONN_LINE_PARTIAL | scont);
                scont = CONN_LINE_CONT;
            }
        } else if (strncmp(st->in, "S$:", 3) == 0) {
            snprintf(line, sizeof(line), "%s", st->in + 3);
            waited = relay_server_line(r, line, strlen(line), CONN_LINE_PARTIAL | CONN_LINE_EOF);
        } else if (strncmp(st->in, "Cn:", 3) == 0) {
            snprintf(line, sizeof(line), "%s\n", st->in + 3);
            waited = relay_client_line(r, line, strlen(line), ccont);
            ccont = 0;
        } else {
            snprintf(line, sizeof(line), "%s\r\n", st->in + 2);
            if (st->in[0] == 'C') {
                waited = relay_client_line(r, line, strlen(line), ccont);
                ccont = 0;
            } else {
                waited = relay_server_line(r, line, strlen(line), scont);
                scont = 0;
            }
        }
        if (waited != st->want_wait)
            fail_msg("step %d (%s): wait %d, want %d", i, st->in, waited, st->want_wait);
        if (st->want_c && strcmp(f->to_c, st->want_c) != 0)
            fail_msg("step %d (%s): client got \"%s\", want \"%s\"", i, st->in, f->to_c, st->want_c);
        if (st->want_s && strcmp(f->to_s, st->want_s) != 0)
            fail_msg("step %d (%s): MX got \"%s\", want \"%s\"", i, st->in, f->to_s, st->want_s);
    }
    assert_int_equal(f->finished, tc->finished);
    assert_int_equal(f->messages, tc->messages);
    assert_int_equal(f->aborted, tc->aborted);
    assert_string_equal(f->bare, tc->bare ? tc->bare : "");
    free(f);
    free(r);
}

static void test_message_record(void **state)
{
    static const char *const in[] = {"S:220 mx", "C:MAIL FROM:<a@msa1.test>", "C:RCPT TO:<u@mx1.test>",
                                     "C:RCPT TO:<bad@mx1.test>", "C:DATA", "S:250 ok", "S:250 ok",
                                     "S:550 no", "S:354 go", "C:12345", "C:.", "S:250 2.0.0 Ok: queued as 4XyZ1"};
    struct fake *f = calloc(1, sizeof(*f));
    struct relay r;
    char line[128];

    (void)state;
    f->room_c = f->room_s = 100000;
    relay_init(&r, &fake_ops, f, RELAY_TLS_NONE);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        snprintf(line, sizeof(line), "%s\r\n", in[i] + 2);
        if (in[i][0] == 'C')
            relay_client_line(&r, line, strlen(line), 0);
        else
            relay_server_line(&r, line, strlen(line), 0);
    }
    assert_int_equal(f->messages, 1);
    assert_string_equal(f->last.mail_from, "a@msa1.test");
    assert_int_equal(f->last.nrcpt, 2);
    assert_string_equal(f->last.rcpt[1], "bad@mx1.test");
    assert_int_equal(f->last.rcpt_code[0], 250);
    assert_int_equal(f->last.rcpt_code[1], 550);
    assert_int_equal(f->last.size, 7);
    assert_int_equal(f->last.code, 250);
    assert_string_equal(f->last.queue_id, "4XyZ1");
    free(f);
}

static void test_backpressure(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    struct relay r;

    (void)state;
    f->room_c = f->room_s = 100000;
    relay_init(&r, &fake_ops, f, RELAY_TLS_NONE);
    relay_server_line(&r, "220 mx\r\n", 8, 0);
    f->room_s = 3; /* the MX side is full: the command must wait, untouched */
    assert_int_equal(relay_client_line(&r, "NOOP\r\n", 6, 0), RELAY_WAIT_SERVER);
    assert_int_equal(f->ls, 0);
    assert_int_equal(r.npending, 0);
    f->room_s = 100;
    assert_int_equal(relay_client_line(&r, "NOOP\r\n", 6, 0), 0);
    f->room_c = 2; /* the client side is full: the reply waits */
    assert_int_equal(relay_server_line(&r, "250 ok\r\n", 8, 0), RELAY_WAIT_CLIENT);
    assert_int_equal(r.npending, 1);
    free(f);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, relay_cases, test_relay);
    TEST_ADD(tests, &n, test_message_record);
    TEST_ADD(tests, &n, test_backpressure);
    return _cmocka_run_group_tests("relay", tests, n, NULL, NULL);
}
