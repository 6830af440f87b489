/* conn_test - the libev connection layer over real sockets: line delivery, over-long
 * lines, pausing, the output queue and its back-pressure, timeouts, EOF, close,
 * half-close, connect, and STARTTLS (with the injection defence of RFC 3207 5). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "table.h"
#include "conn.h"
#include "tls.h"

#define MAX_LINES 64

struct rec {
    char text[MAX_LINES][CONN_IN_SIZE + 1];
    unsigned flags[MAX_LINES];
    int nlines;
    int wait_next;     /* answer CONN_WAIT to this many deliveries */
    int eof, drain, timeout, closed, tls_ok, tls_done, connected, connect_err;
    SSL_CTX *starttls_ctx; /* when set, STARTTLS lines start a server handshake */
};

static int on_line(struct conn *c, const char *line, size_t len, unsigned flags)
{
    struct rec *r = c->data;

    if (r->wait_next > 0) {
        r->wait_next--;
        return CONN_WAIT;
    }
    if (r->nlines < MAX_LINES) {
        memcpy(r->text[r->nlines], line, len);
        r->text[r->nlines][len] = 0;
        r->flags[r->nlines++] = flags;
    }
    if (r->starttls_ctx && len >= 8 && strncmp(line, "STARTTLS", 8) == 0) {
        conn_write(c, "220 go\r\n", 8);
        conn_starttls(c, r->starttls_ctx, 1, NULL);
    }
    return CONN_CONSUMED;
}

static void on_eof(struct conn *c) { ((struct rec *)c->data)->eof++; }
static void on_drain(struct conn *c) { ((struct rec *)c->data)->drain++; }
static void on_timeout(struct conn *c) { ((struct rec *)c->data)->timeout++; conn_abort(c); }
static void on_closed(struct conn *c) { ((struct rec *)c->data)->closed++; }
static void on_tls(struct conn *c, int ok)
{
    struct rec *r = c->data;
    r->tls_done++;
    r->tls_ok += ok;
}
static void on_connect(struct conn *c, int err)
{
    struct rec *r = c->data;
    r->connected++;
    r->connect_err = err;
}

static const struct conn_ops ops = {on_line, on_eof, on_drain, on_timeout, on_connect, on_tls, on_closed};

static struct ev_loop *loop;

static void stop_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    *(int *)w->data = 1;
    ev_break(l, EVBREAK_ONE);
}

/* spin - run the loop until *flag reaches want or seconds pass; returns 1 if reached. */
static int spin(int *flag, int want, double seconds)
{
    int expired = 0;
    ev_timer t;

    ev_timer_init(&t, stop_cb, seconds, 0);
    t.data = &expired;
    ev_timer_start(loop, &t);
    while ((flag == NULL || *flag < want) && !expired)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
    return flag != NULL && *flag >= want;
}

static int fds[2];
static struct conn *c;
static struct rec *r;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    c = calloc(1, sizeof(*c));
    r = calloc(1, sizeof(*r));
    conn_init(c, loop, fds[0], &ops, r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    conn_abort(c);
    spin(&r->closed, 1, 1.0);
    close(fds[1]);
    free(c);
    free(r);
    return 0;
}

static void put(const char *s)
{
    assert_int_equal(write(fds[1], s, strlen(s)), (ssize_t)strlen(s));
}

static void test_lines_across_reads(void **state)
{
    (void)state;
    put("HEL");
    spin(NULL, 0, 0.05);
    assert_int_equal(r->nlines, 0);
    put("O a\r\nNOOP\n");
    assert_true(spin(&r->nlines, 2, 1.0));
    assert_string_equal(r->text[0], "HELO a\r\n");
    assert_string_equal(r->text[1], "NOOP\n");
    assert_int_equal(r->flags[0], 0);
}

static void test_long_line_chunks(void **state)
{
    (void)state;
    conn_set_line_limit(c, 10);
    put("aaaaaaaaaabbbbbbbbbbccccc\r\nok\r\n");
    assert_true(spin(&r->nlines, 4, 1.0));
    assert_string_equal(r->text[0], "aaaaaaaaaa");
    assert_int_equal(r->flags[0], CONN_LINE_PARTIAL);
    assert_string_equal(r->text[1], "bbbbbbbbbb");
    assert_int_equal(r->flags[1], CONN_LINE_PARTIAL | CONN_LINE_CONT);
    assert_string_equal(r->text[2], "ccccc\r\n");
    assert_int_equal(r->flags[2], CONN_LINE_CONT);
    assert_string_equal(r->text[3], "ok\r\n");
    assert_int_equal(r->flags[3], 0);
}

static void test_write_batched(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(conn_write(c, "250 a\r\n", 7), 0);
    assert_int_equal(conn_printf(c, "250 %s\r\n", "b"), 0);
    assert_int_equal(conn_out_pending(c), 14);
    spin(NULL, 0, 0.05);
    assert_int_equal(conn_out_pending(c), 0);
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 14);
    assert_memory_equal(buf, "250 a\r\n250 b\r\n", 14);
    assert_int_equal(c->bytes_out, 14);
}

static void test_queue_full(void **state)
{
    static char big[CONN_OUT_SIZE];

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(conn_write(c, big, sizeof(big)), 0);
    assert_int_equal(conn_out_room(c), 0);
    assert_int_equal(conn_write(c, "y", 1), -1);
}

static void test_wait_keeps_line(void **state)
{
    (void)state;
    r->wait_next = 1;
    put("ONE\r\nTWO\r\n");
    spin(NULL, 0, 0.05);
    assert_int_equal(r->nlines, 0);
    conn_resume(c);
    assert_true(spin(&r->nlines, 2, 1.0));
    assert_string_equal(r->text[0], "ONE\r\n");
    assert_string_equal(r->text[1], "TWO\r\n");
}

static void test_pause_resume(void **state)
{
    (void)state;
    conn_pause(c);
    put("A\r\n");
    spin(NULL, 0, 0.05);
    assert_int_equal(r->nlines, 0);
    conn_resume(c);
    assert_true(spin(&r->nlines, 1, 1.0));
}

static void test_backpressure_drain(void **state)
{
    static char chunk[4096];
    char sink[65536];
    int sndbuf = 4096;

    (void)state;
    memset(chunk, 'z', sizeof(chunk));
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    for (int i = 0; i < 200 && conn_out_pending(c) < CONN_OUT_LOW * 2; i++) {
        while (conn_write(c, chunk, sizeof(chunk)) == 0)
            ;
        spin(NULL, 0, 0.01);
    }
    assert_true(conn_out_pending(c) > CONN_OUT_LOW); /* the peer reads nothing: queue stays */
    conn_want_drain(c);
    spin(NULL, 0, 0.02);
    assert_int_equal(r->drain, 0);
    for (int i = 0; i < 200 && r->drain == 0; i++) {
        while (read(fds[1], sink, sizeof(sink)) > 0)
            ;
        spin(NULL, 0, 0.01);
    }
    assert_int_equal(r->drain, 1);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    conn_set_timeout(c, 0.05);
    double t0 = ev_time();
    assert_true(spin(&r->timeout, 1, 2.0));
    assert_true(ev_time() - t0 >= 0.04);
}

static void test_timeout_restarted_by_input(void **state)
{
    (void)state;
    conn_set_timeout(c, 0.15);
    for (int i = 0; i < 4; i++) {
        spin(NULL, 0, 0.08);
        put("NOOP\r\n");
    }
    assert_int_equal(r->timeout, 0);
    assert_true(spin(&r->timeout, 1, 1.0));
}

static void test_eof_delivers_rest(void **state)
{
    (void)state;
    put("DATA\r\nQUI");
    shutdown(fds[1], SHUT_WR);
    assert_true(spin(&r->eof, 1, 1.0));
    assert_int_equal(r->nlines, 2);
    assert_string_equal(r->text[1], "QUI");
    assert_int_equal(r->flags[1], CONN_LINE_PARTIAL | CONN_LINE_EOF);
}

static void test_close_flushes(void **state)
{
    char buf[64];

    (void)state;
    conn_write(c, "221 bye\r\n", 9);
    conn_close(c);
    assert_int_equal(conn_write(c, "x", 1), -1);
    assert_true(spin(&r->closed, 1, 1.0));
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 9);
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 0);
}

static void test_half_close(void **state)
{
    char buf[64];

    (void)state;
    conn_write(c, "bye\r\n", 5);
    conn_shutdown_write(c);
    spin(NULL, 0, 0.05);
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 5);
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 0); /* FIN */
    put("STILL\r\n");
    assert_true(spin(&r->nlines, 1, 1.0)); /* reading goes on */
    assert_int_equal(r->closed, 0);
}

static void test_connect(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct conn out;
    struct rec *ro = calloc(1, sizeof(*ro));

    (void)state;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    assert_int_equal(conn_connect(&out, loop, (struct sockaddr *)&sa, len, NULL, 0, &ops, ro), 0);
    assert_true(spin(&ro->connected, 1, 2.0));
    assert_int_equal(ro->connect_err, 0);
    int afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(write(afd, "220 hi\r\n", 8), 8);
    assert_true(spin(&ro->nlines, 1, 1.0));
    conn_abort(&out);
    spin(&ro->closed, 1, 1.0);
    close(afd);
    close(lfd);
    free(ro);
}

static void test_connect_refused(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct conn out;
    struct rec *ro = calloc(1, sizeof(*ro));

    (void)state;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    close(lfd); /* nothing listens on that port now */
    assert_int_equal(conn_connect(&out, loop, (struct sockaddr *)&sa, len, NULL, 0, &ops, ro), 0);
    assert_true(spin(&ro->closed, 1, 2.0));
    assert_int_equal(ro->connected, 1);
    assert_int_equal(ro->connect_err, ECONNREFUSED);
    assert_int_equal(out.close_reason, CONN_CLOSE_CONNECT_ERROR);
    free(ro);
}

static void test_starttls(void **state)
{
    char err[256];
    SSL_CTX *sctx = tls_server_ctx_self_signed("mx.test", err, sizeof(err));
    SSL_CTX *cctx = tls_client_ctx_new(0, err, sizeof(err));
    struct conn *cl = calloc(1, sizeof(*cl));
    struct rec *rc = calloc(1, sizeof(*rc));

    (void)state;
    assert_non_null(sctx);
    assert_non_null(cctx);
    r->starttls_ctx = sctx;
    /* the client pipelines a command after STARTTLS: it must never be taken (RFC 3207 5) */
    put("STARTTLS\r\nINJECTED\r\n");
    int fd1 = fds[1];
    fds[1] = dup(fd1);
    conn_init(cl, loop, fd1, &ops, rc);
    assert_true(spin(&rc->nlines, 1, 2.0));
    assert_string_equal(rc->text[0], "220 go\r\n");
    assert_int_equal(conn_starttls(cl, cctx, 0, "mx.test"), 0);
    int both = 0;
    for (int i = 0; i < 100 && both < 2; i++) {
        spin(NULL, 0, 0.01);
        both = r->tls_done + rc->tls_done;
    }
    assert_int_equal(r->tls_ok, 1);
    assert_int_equal(rc->tls_ok, 1);
    assert_true(conn_is_tls(c) && conn_is_tls(cl));
    conn_write(cl, "NOOP\r\n", 6);
    assert_true(spin(&r->nlines, 2, 2.0));
    assert_string_equal(r->text[0], "STARTTLS\r\n");
    assert_string_equal(r->text[1], "NOOP\r\n");
    conn_write(c, "250 ok\r\n", 8);
    assert_true(spin(&rc->nlines, 2, 2.0));
    assert_string_equal(rc->text[1], "250 ok\r\n");
    conn_abort(cl);
    spin(&rc->closed, 1, 1.0);
    free(cl);
    free(rc);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void test_tls_handshake_failure(void **state)
{
    char err[256];
    SSL_CTX *sctx = tls_server_ctx_self_signed("mx.test", err, sizeof(err));

    (void)state;
    assert_int_equal(conn_starttls(c, sctx, 1, NULL), 0);
    put("this is not a TLS client hello\r\n");
    assert_true(spin(&r->closed, 1, 2.0));
    assert_int_equal(r->tls_done, 1);
    assert_int_equal(r->tls_ok, 0);
    assert_int_equal(c->close_reason, CONN_CLOSE_TLS_ERROR);
    SSL_CTX_free(sctx);
}

/* a byte at a time is no progress: the deadline is for the whole line (slowloris) */
static void test_deadline_per_line(void **state)
{
    (void)state;
    conn_set_timeout(c, 0.3);
    double t0 = ev_time();
    for (int i = 0; i < 10 && r->timeout == 0; i++) {
        put("N");
        spin(&r->timeout, 1, 0.1);
    }
    assert_int_equal(r->timeout, 1);
    assert_true(ev_time() - t0 < 0.6);
    assert_int_equal(r->nlines, 0);
}

/* conn_keep_timeout leaves a running deadline alone; a new length restarts it */
static void test_keep_timeout(void **state)
{
    (void)state;
    conn_set_timeout(c, 0.3);
    double t0 = ev_time();
    for (int i = 0; i < 8 && r->timeout == 0; i++) {
        conn_keep_timeout(c, 0.3);
        spin(&r->timeout, 1, 0.05);
    }
    assert_true(spin(&r->timeout, 1, 1.0));
    assert_true(ev_time() - t0 < 0.5);
}

/* a closing conn whose peer never reads is closed at the deadline, not held */
static void test_close_deadline(void **state)
{
    static char chunk[4096];
    int sndbuf = 4096;

    (void)state;
    memset(chunk, 'q', sizeof(chunk));
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    for (int i = 0; i < 100; i++) {
        while (conn_write(c, chunk, sizeof(chunk)) == 0)
            ;
        spin(NULL, 0, 0.005);
    }
    conn_set_timeout(c, 0.2);
    conn_close(c);
    assert_true(spin(&r->closed, 1, 2.0));
    assert_int_equal(r->timeout, 0); /* closed by the layer, not by the owner's callback */
}

/* lines resumed from inside a flush are delivered, and their replies written, before the
 * loop sleeps: 2,000 pipelined lines answered while the queue fills and drains */
static int echo_line(struct conn *cc, const char *line, size_t len, unsigned flags)
{
    struct rec *rr = cc->data;
    (void)line;
    (void)len;
    (void)flags;
    if (conn_out_room(cc) < 1024) {
        conn_want_drain(cc);
        return CONN_WAIT;
    }
    rr->nlines++;
    conn_write(cc, "250 2.0.0 Ok, and a longer text\r\n", 33);
    return CONN_CONSUMED;
}
static void resume_on_drain(struct conn *cc) { conn_resume(cc); }

static char resume_got[2000 * 33];
static size_t resume_have;

/* the peer reads in a thread of its own, so nothing but the conn layer wakes the loop */
static void *resume_reader(void *arg)
{
    (void)arg;
    int fl = fcntl(fds[1], F_GETFL);
    struct timeval tv = {2, 0}; /* bounded: a stalled loop must fail the test, not hang it */
    fcntl(fds[1], F_SETFL, fl & ~O_NONBLOCK);
    setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (resume_have < sizeof(resume_got)) {
        ssize_t n = read(fds[1], resume_got + resume_have, sizeof(resume_got) - resume_have);
        if (n <= 0)
            break;
        resume_have += (size_t)n;
    }
    fcntl(fds[1], F_SETFL, fl);
    return NULL;
}

static void test_resume_in_flush(void **state)
{
    static const struct conn_ops echo_ops = {echo_line, NULL, resume_on_drain, NULL, NULL, NULL, on_closed};
    static char in[2000 * 6];
    pthread_t th;

    (void)state;
    c->ops = &echo_ops;
    resume_have = 0;
    for (size_t i = 0; i < sizeof(in); i += 6)
        memcpy(in + i, "NOOP\r\n", 6);
    assert_int_equal(write(fds[1], in, sizeof(in)), (ssize_t)sizeof(in));
    assert_int_equal(pthread_create(&th, NULL, resume_reader, NULL), 0);
    double t0 = ev_time();
    spin(&r->nlines, 2000, 5.0); /* the loop sleeps only when nothing is left to do */
    double took = ev_time() - t0;
    spin(NULL, 0, 0.1); /* the last replies go out */
    pthread_join(th, NULL);
    assert_int_equal(r->nlines, 2000);
    assert_true(took < 1.0);
    assert_int_equal(resume_have, sizeof(resume_got));
}

static void test_detach(void **state)
{
    (void)state;
    assert_true(conn_detachable(c));
    int fd = conn_detach(c);
    assert_int_equal(fd, fds[0]);
    assert_true(spin(&r->closed, 1, 1.0)); /* on_closed follows, as for a close */
    assert_int_equal(conn_detach(c), -1);
    put("still open\r\n");                /* the descriptor was not closed */
    char buf[32];
    assert_int_equal(read(fd, buf, sizeof(buf)), 12);
    r->closed = 0;
    conn_init(c, loop, fd, &ops, r);        /* and can be taken up again */
    put("NOOP\r\n");
    assert_true(spin(&r->nlines, 1, 1.0));
    conn_write(c, "x", 1);                  /* queued output: not detachable */
    assert_false(conn_detachable(c));
    assert_int_equal(conn_detach(c), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_lines_across_reads), T(test_long_line_chunks), T(test_write_batched),
        T(test_queue_full), T(test_wait_keeps_line), T(test_pause_resume),
        T(test_backpressure_drain), T(test_idle_timeout), T(test_timeout_restarted_by_input),
        T(test_eof_delivers_rest), T(test_close_flushes), T(test_half_close),
        T(test_connect), T(test_connect_refused), T(test_starttls),
        T(test_tls_handshake_failure), T(test_deadline_per_line), T(test_keep_timeout),
        T(test_close_deadline), T(test_resume_in_flush), T(test_detach),
    };

    loop = ev_default_loop(0);
    conn_loop_init(loop);
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
