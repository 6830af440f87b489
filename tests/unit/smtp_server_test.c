/* smtp_server_test - the SMTP server engine (mx and tarpit share it) over a real loopback
 * socket: scripted exchanges, one per row, each a list of bytes to send and a reply the
 * client must then have seen; the policy and owner callbacks are recorded and checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "table.h"
#include "smtp_server.h"

struct owner {
    int messages, aborts, opened, closed;
    char body[512];
    size_t body_len;
    int reject_rcpt; /* the policy answers 550 to RCPT */
};

static void decide(void *ctx, struct smtp_session *s, enum smtp_stage stage, struct smtp_decision *d)
{
    struct owner *o = ctx;
    (void)s;
    if (stage == SMTP_STAGE_RCPT && o->reject_rcpt) {
        d->code = 550;
        snprintf(d->text, sizeof(d->text), "5.7.1 rejected by policy");
    }
}
static int on_message(void *ctx, struct smtp_session *s) { (void)s; ((struct owner *)ctx)->messages++; return 0; }
static void on_data_line(void *ctx, struct smtp_session *s, const char *line, size_t len)
{
    struct owner *o = ctx;
    (void)s;
    if (o->body_len + len < sizeof(o->body)) {
        memcpy(o->body + o->body_len, line, len);
        o->body_len += len;
    }
}
static void on_data_abort(void *ctx, struct smtp_session *s) { (void)s; ((struct owner *)ctx)->aborts++; }
static void on_open(void *ctx, struct smtp_session *s) { (void)s; ((struct owner *)ctx)->opened++; }
static void on_close(void *ctx, struct smtp_session *s) { (void)s; ((struct owner *)ctx)->closed++; }

static const struct smtp_server_ops ops = {
    .decide = decide, .on_message = on_message, .on_data_line = on_data_line,
    .on_data_abort = on_data_abort, .on_session_open = on_open, .on_session_close = on_close,
};

#define STEPS_MAX 8

struct step {
    const char *send;   /* NULL: only wait */
    const char *expect; /* must appear in what the client has read; "<eof>": closed */
};

struct server_case {
    const char *name;
    int reject_rcpt;
    struct step steps[STEPS_MAX];
    int messages, aborts; /* what the owner heard */
    const char *body;     /* the message as on_data_line saw it (NULL: not checked) */
};

#define MSG "MAIL FROM:<a@msa1.test>\r\nRCPT TO:<u@mx1.test>\r\nDATA\r\n"

static const struct server_case server_cases[] = {
    {"greeting and EHLO keywords", 0,
     {{NULL, "220 mx1.test ESMTP"}, {"EHLO c\r\n", "250-PIPELINING"}, {NULL, "250 8BITMIME"}}, 0, 0, NULL},
    {"a message, dot-unstuffed", 0,
     {{NULL, "220"}, {"EHLO c\r\n" MSG, "354"}, {"Subject: s\r\n\r\n..dot\r\nx\r\n.\r\n", "250 2.0.0 Ok: queued as"}},
     1, 0, "Subject: s\r\n\r\n.dot\r\nx\r\n"},
    {"pipelined replies in order", 0,
     {{NULL, "220"}, {"EHLO c\r\nNOOP\r\nRSET\r\nVRFY u\r\nQUIT\r\n", "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n252"},
      {NULL, "221"}, {NULL, "<eof>"}}, 0, 0, NULL},
    {"the policy refuses the recipient: no message", 1,
     {{NULL, "220"}, {"EHLO c\r\n" MSG, "550 5.7.1 rejected by policy"}, {NULL, "554 5.5.1 Error: no valid recipients"}},
     0, 0, NULL},
    {"bare LF in a message: 521 and a close (strict)", 0,
     {{NULL, "220"}, {"EHLO c\r\n" MSG, "354"}, {"a\nb\r\n.\r\n", "521 5.5.2"}, {NULL, "<eof>"}}, 0, 1, NULL},
    {"too many errors: 421 and a close", 0,
     {{NULL, "220"}, {"X\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\n",
                      "421 4.7.0 Error: too many errors"}, {NULL, "<eof>"}}, 0, 0, NULL},
    {"DATA after RSET: 503, nothing begun", 0,
     {{NULL, "220"}, {"EHLO c\r\nMAIL FROM:<a@b>\r\nRSET\r\nDATA\r\n", "503 5.5.1 Error: need RCPT"}}, 0, 0, NULL},
};

static struct ev_loop *loop;

/* wait_for - run the loop until the client has read want (or EOF for "<eof>"). */
static int wait_for(int fd, char *got, size_t *len, size_t cap, const char *want)
{
    double t0 = ev_time();
    int eof = 0;

    while (ev_time() - t0 < 3.0) {
        ev_run(loop, EVRUN_NOWAIT);
        ssize_t n = read(fd, got + *len, cap - 1 - *len);
        if (n > 0) {
            *len += (size_t)n;
            got[*len] = 0;
        } else if (n == 0) {
            eof = 1;
        }
        if (strcmp(want, "<eof>") == 0 ? eof : strstr(got, want) != NULL)
            return 1;
        if (eof)
            return 0;
        usleep(1000);
    }
    return 0;
}

static void test_server(void **state)
{
    const struct server_case *tc = *state;
    struct smtp_server_config cfg = {.hostname = "mx1.test", .software = "test", .idle_timeout = 5};
    struct smtp_server *srv = calloc(1, sizeof(*srv));
    struct owner o = {.reject_rcpt = tc->reject_rcpt};
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    char err[256], got[8192] = "";
    size_t len = 0;

    smtp_server_init(srv, loop, &cfg, &ops, &o);
    assert_int_equal(smtp_server_listen(srv, "127.0.0.1:0", err, sizeof(err)), 0);
    assert_int_equal(getsockname(srv->listeners.fd[0], (struct sockaddr *)&sa, &slen), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, slen), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < STEPS_MAX && tc->steps[i].expect; i++) {
        const struct step *st = &tc->steps[i];
        if (st->send)
            assert_int_equal(write(fd, st->send, strlen(st->send)), (ssize_t)strlen(st->send));
        if (!wait_for(fd, got, &len, sizeof(got), st->expect))
            fail_msg("step %d: want \"%s\", the client read \"%s\"", i, st->expect, got);
    }
    close(fd);
    for (int i = 0; i < 100 && o.closed < o.opened; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(o.opened, 1);
    assert_int_equal(o.closed, 1);
    assert_int_equal(o.messages, tc->messages);
    assert_int_equal(o.aborts, tc->aborts);
    if (tc->body)
        assert_span_equal(o.body, o.body_len, tc->body);
    listener_stop(&srv->listeners);
    free(srv);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    loop = ev_default_loop(0);
    conn_loop_init(loop);
    TABLE_ADD(tests, &n, server_cases, test_server);
    return _cmocka_run_group_tests("smtp_server", tests, n, NULL, NULL);
}
