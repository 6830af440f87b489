/* sink - an SMTP receiver that records what it accepts: the smtp_server engine plus
 * JSON-lines records, an optional Maildir, STARTTLS, signals and statistics.
 * A record is in the buffer before the 250 goes out, and the buffer is flushed at
 * least once a second and on exit, so nothing accepted is lost on a clean stop. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "maildir.h"
#include "numparse.h"
#include "received.h"
#include "rfc5322_date.h"
#include "sink.h"
#include "tls.h"

#define SINK_DEFAULT_LISTEN "127.0.0.1:25"
#define SINK_DEFAULT_MAX_SIZE 10240000 /* Postfix's message_size_limit */
#define SINK_DEFAULT_IDLE 300.0        /* RFC 5321 4.5.3.2.7 */
#define SINK_DEFAULT_GRACE 10.0
#define SINK_FLUSH_INTERVAL 1.0

void sink_options_init(struct sink_options *o)
{
    memset(o, 0, sizeof(*o));
    if (gethostname(o->hostname, sizeof(o->hostname) - 1) != 0 || o->hostname[0] == 0)
        strcpy(o->hostname, "localhost");
    o->max_size = SINK_DEFAULT_MAX_SIZE;
    o->idle_timeout = SINK_DEFAULT_IDLE;
    o->grace = SINK_DEFAULT_GRACE;
}

int sink_option(struct sink_options *o, int opt, const char *arg, char *err, size_t errlen)
{
    uint64_t u;

    switch (opt) {
    case SINK_OPT_LISTEN:
        if (o->nlisten >= SMTP_SERVER_LISTEN_MAX) {
            snprintf(err, errlen, "--listen: at most %d", SMTP_SERVER_LISTEN_MAX);
            return -1;
        }
        o->listen[o->nlisten++] = arg;
        return 1;
    case SINK_OPT_HOSTNAME:
        if (arg[0] == 0 || strlen(arg) >= sizeof(o->hostname) || strpbrk(arg, " \t\r\n")) {
            snprintf(err, errlen, "--hostname '%s': not a host name", arg);
            return -1;
        }
        strcpy(o->hostname, arg);
        return 1;
    case SINK_OPT_RECORD: o->record = arg; return 1;
    case SINK_OPT_MAILDIR: o->maildir = arg; return 1;
    case SINK_OPT_TLS_CERT: o->tls_cert = arg; return 1;
    case SINK_OPT_TLS_KEY: o->tls_key = arg; return 1;
    case SINK_OPT_MAX_SIZE:
        if (numparse_u64(arg, UINT64_MAX, &o->max_size) != 0) {
            snprintf(err, errlen, "--max-size '%s': expected bytes (0: no limit)", arg);
            return -1;
        }
        return 1;
    case SINK_OPT_MAX_CONNS:
        if (numparse_u64(arg, 10000000, &u) != 0) {
            snprintf(err, errlen, "--max-conns '%s': expected a count (0: no limit)", arg);
            return -1;
        }
        o->max_conns = (unsigned)u;
        return 1;
    case SINK_OPT_STATS_INTERVAL:
        if (numparse_double(arg, 0, 86400, &o->stats_interval) != 0) {
            snprintf(err, errlen, "--stats-interval '%s': expected seconds (0: off)", arg);
            return -1;
        }
        return 1;
    case SINK_OPT_IDLE_TIMEOUT:
        if (numparse_double(arg, 0.001, 86400, &o->idle_timeout) != 0) {
            snprintf(err, errlen, "--idle-timeout '%s': expected seconds > 0", arg);
            return -1;
        }
        return 1;
    case SINK_OPT_GRACE:
        if (numparse_double(arg, 0, 86400, &o->grace) != 0) {
            snprintf(err, errlen, "--grace '%s': expected seconds", arg);
            return -1;
        }
        return 1;
    case SINK_OPT_BARE_LF:
        if (smtp_bare_mode_parse(arg, &o->bare_mode) != 0) {
            snprintf(err, errlen, "--bare-lf '%s': expected strict, normalize or lenient", arg);
            return -1;
        }
        return 1;
    }
    return 0;
}

void sink_options_help(FILE *f)
{
    fprintf(f,
            "  --listen ADDR:PORT     listen here (repeatable; IPv6 as [ADDR]:PORT)\n"
            "                         default " SINK_DEFAULT_LISTEN "\n"
            "  --hostname NAME        name in the greeting and Received: (default: this host)\n"
            "  --record FILE          one JSON line per accepted message ('-': stdout)\n"
            "  --maildir DIR          also store each message in the Maildir DIR\n"
            "  --tls-cert FILE        PEM certificate: offer STARTTLS (with --tls-key)\n"
            "  --tls-key FILE         PEM private key\n"
            "  --max-size BYTES       largest message (default %d; 0: no limit)\n"
            "  --max-conns N          concurrent connections before 421 (default 0: no limit)\n"
            "  --stats-interval SEC   print counters to stderr every SEC (default 0: off)\n"
            "  --idle-timeout SEC     close idle clients with 421 (default %.0f)\n"
            "  --grace SEC            on SIGTERM, time open transactions get (default %.0f)\n"
            "  --bare-lf MODE         a bare CR or LF in a message: strict (default: only\n"
            "                         CRLF.CRLF ends it, the message gets 521), normalize\n"
            "                         (taken as CRLF; only CRLF.CRLF ends it) or lenient (as old\n"
            "                         sendmail: \".\" alone after any LF ends it)\n",
            SINK_DEFAULT_MAX_SIZE, SINK_DEFAULT_IDLE, SINK_DEFAULT_GRACE);
}

int sink_record_format(struct json_writer *w, const struct smtp_session *s, const char *hostname)
{
    json_begin(w);
    json_int(w, "t_us", s->data_end_us);
    json_int(w, "mail_us", s->mail_us);
    json_int(w, "connect_us", s->connect_us);
    json_cstr(w, "mx", hostname);
    json_cstr(w, "client", s->client_addr);
    json_uint(w, "client_port", s->client_port);
    json_cstr(w, "helo", s->helo);
    json_bool(w, "tls", s->tls_version[0] != 0);
    if (s->tls_version[0]) {
        json_cstr(w, "tls_version", s->tls_version);
        json_cstr(w, "tls_cipher", s->tls_cipher);
    }
    json_cstr(w, "queue_id", s->queue_id);
    json_cstr(w, "mail_from", s->mail_from);
    json_array_begin(w, "rcpt");
    for (unsigned i = 0; i < s->nrcpt_kept; i++)
        json_cstr(w, NULL, smtp_session_rcpt(s, i));
    json_array_end(w);
    json_uint(w, "nrcpt", s->nrcpt);
    json_uint(w, "size", s->size);
    json_cstr(w, "message_id", s->message_id);
    json_cstr(w, "date", s->date);
    int64_t t;
    if (s->date[0] && rfc5322_date_parse(s->date, strlen(s->date), &t) == 0)
        json_int(w, "date_s", t);
    else
        json_null(w, "date_s");
    json_cstr(w, "stamp", s->stamp[0] ? s->stamp : NULL);
    json_array_begin(w, "received");
    for (unsigned i = 0; i < s->nreceived; i++) {
        const char *text = smtp_session_received(s, i);
        struct received r;
        json_object_begin(w, NULL);
        json_cstr(w, "text", text);
        if (received_parse(text, strlen(text), &r) == RECEIVED_OK)
            json_int(w, "t", r.time);
        else
            json_null(w, "t");
        json_object_end(w);
    }
    json_array_end(w);
    return json_end(w);
}

/* ---- engine callbacks ---------------------------------------------------------------- */

static void on_data_start(void *ctx, struct smtp_session *s)
{
    struct sink *k = ctx;
    char err[512], hdr[1024];
    struct maildir_msg *m;

    if (k->opt.maildir == NULL)
        return;
    m = calloc(1, sizeof(*m));
    if (m == NULL || maildir_begin(m, k->opt.maildir, k->opt.hostname, err, sizeof(err)) != 0) {
        if (m)
            fprintf(stderr, "%s: %s\n", k->program, err);
        free(m);
        k->maildir_errors++;
        return; /* on_message then refuses the message with 451 */
    }
    size_t n = received_format(hdr, sizeof(hdr), s->helo, s->client_addr, k->opt.hostname,
                               k->program, s->tls_version[0] != 0, s->queue_id,
                               s->nrcpt == 1 ? smtp_session_rcpt(s, 0) : NULL, s->mail_us / 1000000);
    maildir_write(m, hdr, n);
    s->user = m;
}

static void on_data_line(void *ctx, struct smtp_session *s, const char *line, size_t len)
{
    (void)ctx;
    if (s->user)
        maildir_write(s->user, line, len);
}

static void on_data_abort(void *ctx, struct smtp_session *s)
{
    (void)ctx;
    if (s->user) {
        maildir_abort(s->user);
        free(s->user);
        s->user = NULL;
    }
}

static int on_message(void *ctx, struct smtp_session *s)
{
    struct sink *k = ctx;

    if (k->opt.maildir) {
        struct maildir_msg *m = s->user;
        s->user = NULL;
        int bad = m == NULL || maildir_commit(m) != 0;
        free(m);
        if (bad) {
            k->maildir_errors++;
            return -1;
        }
    }
    if (!k->have_record)
        return 0;
    if (sink_record_format(&k->jw, s, k->opt.hostname) != 0 ||
        logfile_append(&k->record, k->jw.buf, k->jw.len) != 0) {
        k->record_errors++;
        fprintf(stderr, "%s: %s: cannot write record for %s: %s\n", k->program, k->opt.record,
                s->queue_id, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_stats(struct sink *k)
{
    struct smtp_server *srv = &k->server;

    fprintf(stderr,
            "%s: connections=%llu sessions=%u messages=%llu bytes=%llu aborted=%llu "
            "refused=%llu record_errors=%llu maildir_errors=%llu\n",
            k->program, (unsigned long long)srv->connections, srv->nsessions,
            (unsigned long long)srv->messages, (unsigned long long)srv->bytes,
            (unsigned long long)srv->aborted, (unsigned long long)srv->refused_conns,
            (unsigned long long)k->record_errors, (unsigned long long)k->maildir_errors);
}

static void stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    print_stats(w->data);
}

static void on_stopped(void *ctx)
{
    struct sink *k = ctx;

    ev_break(k->loop, EVBREAK_ALL);
}

static void sig_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct sink *k = w->data;

    (void)loop;
    (void)revents;
    fprintf(stderr, "%s: signal %d: finishing open transactions (at most %.0f s)\n", k->program,
            w->signum, k->opt.grace);
    smtp_server_stop(&k->server, k->opt.grace);
}

static void sig_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct sink *k = w->data;
    char err[512];

    (void)loop;
    (void)revents;
    if (k->have_record && logfile_reopen(&k->record, err, sizeof(err)) != 0)
        fprintf(stderr, "%s: %s\n", k->program, err);
}

static void sig_usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    print_stats(w->data);
}

static void policy_decide(void *ctx, struct smtp_session *s, enum smtp_stage st, struct smtp_decision *d)
{
    struct sink *k = ctx;
    k->policy.decide(k->policy.ctx, s, st, d);
}

static void policy_open(void *ctx, struct smtp_session *s)
{
    struct sink *k = ctx;
    if (k->policy.on_session_open)
        k->policy.on_session_open(k->policy.ctx, s);
}

static void policy_close(void *ctx, struct smtp_session *s)
{
    struct sink *k = ctx;
    if (s->user) { /* a Maildir file left by a session that ended mid-message */
        maildir_abort(s->user);
        free(s->user);
        s->user = NULL;
    }
    if (k->policy.on_session_close)
        k->policy.on_session_close(k->policy.ctx, s);
}

static void policy_pushback(void *ctx, struct smtp_session *s, const char *action, int code)
{
    struct sink *k = ctx;
    if (k->policy.on_pushback)
        k->policy.on_pushback(k->policy.ctx, s, action, code);
}

int sink_start(struct sink *k, struct ev_loop *loop, const char *program,
               const struct sink_options *o, const struct sink_policy *policy, char *err,
               size_t errlen)
{
    struct smtp_server_config cfg;

    memset(k, 0, sizeof(*k));
    k->program = program;
    k->loop = loop;
    k->opt = *o;
    if (policy)
        k->policy = *policy;
    if (k->opt.nlisten == 0)
        k->opt.listen[k->opt.nlisten++] = SINK_DEFAULT_LISTEN;
    json_writer_init(&k->jw);
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (o->tls_cert && (k->tls = tls_server_ctx_new(o->tls_cert, o->tls_key, err, errlen)) == NULL)
        return -1;
    if (o->maildir && maildir_create(o->maildir, err, errlen) != 0)
        return -1;
    if (o->record) {
        if (logfile_open(&k->record, o->record, loop, SINK_FLUSH_INTERVAL, err, errlen) != 0)
            return -1;
        k->have_record = 1;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.hostname = k->opt.hostname;
    cfg.software = program;
    cfg.max_size = o->max_size;
    cfg.max_conns = o->max_conns;
    cfg.idle_timeout = o->idle_timeout;
    cfg.tls = k->tls;
    cfg.reject_early_talkers = o->reject_early_talkers;
    cfg.bare_mode = o->bare_mode;
    k->ops.decide = k->policy.decide ? policy_decide : NULL;
    k->ops.on_message = on_message;
    k->ops.on_data_line = on_data_line;
    k->ops.on_data_start = on_data_start;
    k->ops.on_data_abort = on_data_abort;
    k->ops.on_session_open = policy_open;
    k->ops.on_session_close = policy_close;
    k->ops.on_stopped = on_stopped;
    k->ops.on_pushback = policy_pushback;
    conn_loop_init(loop);
    smtp_server_init(&k->server, loop, &cfg, &k->ops, k);
    for (int i = 0; i < k->opt.nlisten; i++)
        if (smtp_server_listen(&k->server, k->opt.listen[i], err, errlen) != 0)
            return -1;
    ev_signal_init(&k->sig_term, sig_stop_cb, SIGTERM);
    ev_signal_init(&k->sig_int, sig_stop_cb, SIGINT);
    ev_signal_init(&k->sig_hup, sig_hup_cb, SIGHUP);
    ev_signal_init(&k->sig_usr1, sig_usr1_cb, SIGUSR1);
    k->sig_term.data = k->sig_int.data = k->sig_hup.data = k->sig_usr1.data = k;
    ev_signal_start(loop, &k->sig_term);
    ev_signal_start(loop, &k->sig_int);
    ev_signal_start(loop, &k->sig_hup);
    ev_signal_start(loop, &k->sig_usr1);
    if (o->stats_interval > 0) {
        ev_timer_init(&k->stats_timer, stats_cb, o->stats_interval, o->stats_interval);
        k->stats_timer.data = k;
        ev_timer_start(loop, &k->stats_timer);
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int sink_run(struct sink *k)
{
    ev_run(k->loop, 0);
    if (ev_is_active(&k->stats_timer))
        ev_timer_stop(k->loop, &k->stats_timer);
    if (k->have_record)
        logfile_close(&k->record);
    print_stats(k);
    json_writer_free(&k->jw);
    if (k->tls)
        SSL_CTX_free(k->tls);
    return k->record_errors || k->record.write_errors ? 1 : 0;
}
