/* smtp_server - the SMTP server engine shared by mx and tarpit.
 * Commands are taken one line at a time in order, so pipelined groups are answered in
 * order; a reply a policy delays pauses reading until it is sent, and a command is read
 * only when the output queue has room for a whole reply (pipelining never overflows it).
 * The idle deadline runs while the client owes us a command or data, not while we owe
 * it a (delayed) reply. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "line.h"
#include "memtrim.h"
#include "smtp_server.h"

static const char *const stage_names[SMTP_STAGE_COUNT] = {"connect", "helo", "mail",
                                                          "rcpt",    "data", "dot"};

const char *smtp_stage_name(enum smtp_stage stage)
{
    return stage < SMTP_STAGE_COUNT ? stage_names[stage] : "?";
}

/* ---- sessions ------------------------------------------------------------------------ */

static void session_maybe_stop(struct smtp_session *s);

static void pushback(struct smtp_session *s, const char *action, int code)
{
    if (s->server->ops->on_pushback)
        s->server->ops->on_pushback(s->server->ctx, s, action, code);
}

static void transaction_reset(struct smtp_session *s)
{
    if (s->state == SESSION_DATA && s->server->ops->on_data_abort)
        s->server->ops->on_data_abort(s->server->ctx, s);
    s->mail_us = s->data_end_us = 0;
    s->queue_id[0] = 0;
    s->mail_from[0] = 0;
    s->nrcpt = s->nrcpt_kept = 0;
    s->rcpt_len = 0;
    s->size = 0;
    s->too_big = 0;
    s->message_id[0] = s->date[0] = s->stamp[0] = 0;
    s->nreceived = 0;
    s->received_len = 0;
}

const char *smtp_session_rcpt(const struct smtp_session *s, unsigned i)
{
    const char *p = s->rcpt_buf;

    for (unsigned k = 0; k < i; k++)
        p += strlen(p) + 1;
    return p;
}

const char *smtp_session_received(const struct smtp_session *s, unsigned i)
{
    const char *p = s->received_buf;

    /* stored newest first, as they arrive; asked for oldest first */
    for (unsigned k = 0; k < s->nreceived - 1 - i; k++)
        p += strlen(p) + 1;
    return p;
}

/* keep - append a NUL-terminated copy to a packed buffer; returns 0 or -1 when full. */
static int keep(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > size)
        return -1;
    memcpy(buf + *len, s, n);
    buf[*len + n] = 0;
    *len += n + 1;
    return 0;
}

/* ---- replies ------------------------------------------------------------------------- */

static void reply_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* finish_reply - after a reply went out: close, or take the next command. */
static void finish_reply(struct smtp_session *s)
{
    s->reply_pending = 0;
    s->reply_waits_room = 0;
    if (s->server->cfg.idle_timeout > 0)
        conn_keep_timeout(&s->conn, s->server->cfg.idle_timeout); /* the client's turn */
    if (s->reply_close || s->state == SESSION_QUIT) {
        s->state = SESSION_QUIT;
        conn_close(&s->conn);
        return;
    }
    session_maybe_stop(s);
    if (!conn_is_closing(&s->conn))
        conn_resume(&s->conn);
}

/* accept_now - the message is accepted: let the owner record it; 451 if it cannot. */
static void accept_now(struct smtp_session *s)
{
    struct smtp_server *srv = s->server;

    if (srv->ops->on_message && srv->ops->on_message(srv->ctx, s) != 0) {
        s->reply_len = (size_t)snprintf(s->reply, sizeof(s->reply),
                                        "451 4.3.0 Error: cannot record message\r\n");
        return;
    }
    s->accepted++;
    srv->messages++;
    srv->bytes += s->size;
}

/* send_reply_step - write all of the pending reply, or its next stutter chunk. */
static void send_reply_step(struct smtp_session *s)
{
    if (s->reply_accepts) {
        s->reply_accepts = 0;
        accept_now(s);
        s->state = SESSION_HELO;
        transaction_reset(s);
    }
    size_t left = s->reply_len - s->reply_off;
    size_t n = s->stutter_bytes > 0 && s->stutter_bytes < left ? s->stutter_bytes : left;
    if (n > conn_out_room(&s->conn)) {
        s->reply_pending = 1;
        s->reply_waits_room = 1; /* on_drain sends it, whole */
        conn_pause(&s->conn);
        conn_want_drain(&s->conn);
        return;
    }
    conn_write(&s->conn, s->reply + s->reply_off, n);
    s->reply_off += n;
    if (s->reply_off < s->reply_len) {
        s->reply_pending = 1;
        conn_pause(&s->conn);
        ev_timer_set(&s->reply_timer, s->stutter_interval, 0);
        ev_timer_start(s->server->loop, &s->reply_timer);
        return;
    }
    finish_reply(s);
}

static void reply_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct smtp_session *s = w->data;

    (void)loop;
    (void)revents;
    if (conn_is_closing(&s->conn))
        return;
    if (s->state == SESSION_GREETING)
        s->state = SESSION_READY;
    send_reply_step(s);
}

/* reply - answer at a stage: apply the policy's decision to the normal reply text. */
static void reply(struct smtp_session *s, enum smtp_stage stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply(struct smtp_session *s, enum smtp_stage stage, const char *fmt, ...)
{
    struct smtp_server *srv = s->server;
    struct smtp_decision d;
    va_list ap;
    int n;

    memset(&d, 0, sizeof(d));
    if ((int)stage < SMTP_STAGE_COUNT && srv->ops->decide)
        srv->ops->decide(srv->ctx, s, stage, &d);
    if (d.silent) {
        if (stage == SMTP_STAGE_DOT || s->state == SESSION_DATA)
            transaction_reset(s);
        conn_abort(&s->conn);
        return;
    }
    if (d.code != 0) {
        n = snprintf(s->reply, sizeof(s->reply), "%03d %s\r\n", d.code, d.text);
    } else {
        va_start(ap, fmt);
        n = vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
        va_end(ap);
    }
    if (n < 0 || (size_t)n >= sizeof(s->reply))
        n = snprintf(s->reply, sizeof(s->reply), "451 4.3.0 Error: reply too long\r\n");
    s->reply_len = (size_t)n;
    s->reply_off = 0;
    s->reply_close = d.disconnect || (d.code == 421);
    s->stutter_bytes = d.stutter_bytes;
    s->stutter_interval = d.stutter_interval;
    s->reply_accepts = stage == SMTP_STAGE_DOT && s->reply[0] == '2';
    if (stage == SMTP_STAGE_DOT && !s->reply_accepts) {
        transaction_reset(s); /* still in DATA: the owner hears of the abort */
        s->state = SESSION_HELO;
    }
    if (d.delay > 0 || d.stutter_bytes > 0 || stage == SMTP_STAGE_CONNECT) {
        s->reply_pending = 1;
        if (stage != SMTP_STAGE_CONNECT)
            conn_pause(&s->conn); /* later pipelined commands wait their turn */
        conn_keep_timeout(&s->conn, 0); /* we owe the reply: no idle deadline for the client */
        ev_timer_set(&s->reply_timer, d.delay, 0);
        ev_timer_start(srv->loop, &s->reply_timer);
        return;
    }
    send_reply_step(s);
}

/* say - a reply no policy acts on (errors, RSET, NOOP ...). */
static void say(struct smtp_session *s, const char *text)
{
    reply(s, SMTP_STAGE_COUNT, "%s", text);
}

/* ---- commands ------------------------------------------------------------------------ */

static void cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd, int esmtp)
{
    struct smtp_server *srv = s->server;
    char size_line[48] = "";

    if (cmd->arg_len == 0) {
        say(s, esmtp ? "501 5.5.4 Syntax: EHLO hostname\r\n" : "501 5.5.4 Syntax: HELO hostname\r\n");
        return;
    }
    if (s->state >= SESSION_MAIL)
        transaction_reset(s);
    line_copy(s->helo, sizeof(s->helo), cmd->arg, cmd->arg_len);
    s->esmtp = esmtp;
    s->state = SESSION_HELO;
    if (!esmtp) {
        reply(s, SMTP_STAGE_HELO, "250 %s\r\n", srv->cfg.hostname);
        return;
    }
    if (srv->cfg.max_size)
        snprintf(size_line, sizeof(size_line), "250-SIZE %llu\r\n",
                 (unsigned long long)srv->cfg.max_size);
    else
        snprintf(size_line, sizeof(size_line), "250-SIZE\r\n");
    reply(s, SMTP_STAGE_HELO,
          "250-%s\r\n250-PIPELINING\r\n%s%s250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n",
          srv->cfg.hostname, size_line,
          srv->cfg.tls && !conn_is_tls(&s->conn) ? "250-STARTTLS\r\n" : "");
}

static void on_tls(struct conn *c, int ok)
{
    struct smtp_session *s = c->data;

    if (!ok)
        return; /* conn closes itself; on_closed cleans up */
    snprintf(s->tls_version, sizeof(s->tls_version), "%s", SSL_get_version(c->ssl));
    snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", SSL_get_cipher_name(c->ssl));
    /* RFC 3207 4.2: the client starts again with EHLO */
    s->state = SESSION_READY;
    s->helo[0] = 0;
    conn_resume(c);
}

static void cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
    struct smtp_server *srv = s->server;

    if (srv->cfg.tls == NULL || conn_is_tls(&s->conn)) {
        say(s, "502 5.5.1 Error: command not implemented\r\n");
        return;
    }
    if (cmd->arg_len != 0) {
        say(s, "501 5.5.4 Syntax: STARTTLS\r\n");
        return;
    }
    if (s->state >= SESSION_MAIL) {
        say(s, "503 5.5.1 Error: MAIL transaction in progress\r\n");
        return;
    }
    conn_write(&s->conn, "220 2.0.0 Ready to start TLS\r\n", 30);
    if (conn_starttls(&s->conn, srv->cfg.tls, 1, NULL) != 0) {
        conn_abort(&s->conn);
        return;
    }
    conn_pause(&s->conn); /* nothing is read in the clear any more; on_tls resumes */
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd, enum smtp_cmd_status st)
{
    struct smtp_server *srv = s->server;

    if (s->state < SESSION_HELO) {
        say(s, "503 5.5.1 Error: send HELO/EHLO first\r\n");
        return;
    }
    if (s->state >= SESSION_MAIL) {
        say(s, "503 5.5.1 Error: nested MAIL command\r\n");
        return;
    }
    if (st != SMTP_CMD_OK) {
        say(s, "501 5.1.7 Bad sender address syntax\r\n");
        return;
    }
    const struct smtp_param *sz = smtp_cmd_param(cmd, "SIZE");
    if (sz && sz->value && srv->cfg.max_size && strtoull(sz->value, NULL, 10) > srv->cfg.max_size) {
        say(s, "552 5.3.4 Message size exceeds fixed limit\r\n");
        return;
    }
    transaction_reset(s);
    s->mail_us = clock_realtime_us();
    line_copy(s->mail_from, sizeof(s->mail_from), cmd->path, cmd->path_len);
    snprintf(s->queue_id, sizeof(s->queue_id), "%06llX%06llX",
             (unsigned long long)(s->mail_us / 1000000) & 0xffffff,
             (unsigned long long)++srv->queue_seq & 0xffffff);
    s->state = SESSION_MAIL;
    s->transactions++;
    reply(s, SMTP_STAGE_MAIL, "250 2.1.0 Ok\r\n");
    if (s->reply[0] != '2' && s->state == SESSION_MAIL) {
        s->state = SESSION_HELO; /* the policy refused the sender */
        transaction_reset(s);
    }
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd, enum smtp_cmd_status st)
{
    if (s->state < SESSION_MAIL) {
        say(s, "503 5.5.1 Error: need MAIL command\r\n");
        return;
    }
    if (st != SMTP_CMD_OK) {
        say(s, "501 5.1.3 Bad recipient address syntax\r\n");
        return;
    }
    if (s->nrcpt >= SMTP_RCPTS_MAX) {
        say(s, "452 4.5.3 Error: too many recipients\r\n");
        return;
    }
    reply(s, SMTP_STAGE_RCPT, "250 2.1.5 Ok\r\n");
    if (s->reply[0] == '2') {
        if (keep(s->rcpt_buf, sizeof(s->rcpt_buf), &s->rcpt_len, cmd->path, cmd->path_len) == 0)
            s->nrcpt_kept++;
        s->nrcpt++;
        s->state = SESSION_RCPT;
    }
}

static void cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
    struct smtp_server *srv = s->server;

    if (s->state < SESSION_MAIL) {
        say(s, "503 5.5.1 Error: need RCPT command\r\n");
        return;
    }
    if (s->nrcpt == 0) {
        say(s, "554 5.5.1 Error: no valid recipients\r\n");
        return;
    }
    if (cmd->arg_len != 0) {
        say(s, "501 5.5.4 Syntax: DATA\r\n");
        return;
    }
    reply(s, SMTP_STAGE_DATA, "354 End data with <CR><LF>.<CR><LF>\r\n");
    if (s->reply[0] != '3')
        return;
    s->state = SESSION_DATA;
    s->at_line_start = 1;
    smtp_data_init(&s->data, srv->cfg.bare_mode);
    header_init(&s->hp);
    if (srv->ops->on_data_start)
        srv->ops->on_data_start(srv->ctx, s);
}

/* capture_header - keep the fields the records need. */
static void capture_header(void *arg, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    struct smtp_session *s = arg;

    if (header_name_is(name, nlen, "Received")) {
        if (s->nreceived < SMTP_RECEIVED_MAX &&
            keep(s->received_buf, sizeof(s->received_buf), &s->received_len, value, vlen) == 0)
            s->nreceived++;
    } else if (header_name_is(name, nlen, "Message-ID")) {
        line_copy(s->message_id, sizeof(s->message_id), value, vlen);
    } else if (header_name_is(name, nlen, "Date")) {
        line_copy(s->date, sizeof(s->date), value, vlen);
    } else if (header_name_is(name, nlen, MUA_STAMP_HEADER)) {
        line_copy(s->stamp, sizeof(s->stamp), value, vlen);
    }
}

/* content_line - one line (or piece) of the message as sent, dot-unstuffed here. */
static void content_line(struct smtp_session *s, const char *line, size_t len, int partial)
{
    struct smtp_server *srv = s->server;
    int line_start = s->at_line_start;

    s->at_line_start = !partial;
    if (line_start && len > 0 && line[0] == '.') { /* RFC 5321 4.5.2 */
        line++;
        len--;
    }
    s->size += len;
    if (srv->cfg.max_size && s->size > srv->cfg.max_size)
        s->too_big = 1;
    if (s->too_big)
        return;
    if (s->hp.state == HEADER_IN && line_start && !partial)
        header_feed(&s->hp, line, len, capture_header, s);
    if (srv->ops->on_data_line)
        srv->ops->on_data_line(srv->ctx, s, line, len);
}

/* data_line - one line (or chunk) of DATA: the end, or content (normalized per mode). */
static void data_line(struct smtp_session *s, const char *line, size_t len, unsigned flags)
{
    char out[SMTP_DATA_OUT_MAX(SMTP_LINE_MAX)];
    size_t n, off = 0;

    if (smtp_data_chunk(&s->data, line, len, (flags & CONN_LINE_PARTIAL) != 0, out, &n) ==
        SMTP_DATA_END) {
        s->data_end_us = clock_realtime_us();
        if (s->data.mode == SMTP_BARE_STRICT && smtp_data_bare(&s->data) > 0) {
            pushback(s, "bare_newline", 521);
            transaction_reset(s); /* the owner hears of the abort */
            s->state = SESSION_QUIT;
            say(s, "521 5.5.2 Error: bare CR or LF in the message (RFC 5321 2.3.8)\r\n");
            return;
        }
        header_finish(&s->hp, capture_header, s);
        if (s->too_big)
            reply(s, SMTP_STAGE_DOT, "552 5.3.4 Message size exceeds fixed limit\r\n");
        else
            reply(s, SMTP_STAGE_DOT, "250 2.0.0 Ok: queued as %s\r\n", s->queue_id);
        return;
    }
    if (s->data.mode == SMTP_BARE_STRICT && smtp_data_bare(&s->data) > 0)
        return; /* refused at its end: keep nothing */
    while (off < n) {
        const char *nl = memchr(out + off, '\n', n - off);
        size_t k = nl ? (size_t)(nl - (out + off)) + 1 : n - off;
        content_line(s, out + off, k, nl == NULL);
        off += k;
    }
}

static int on_line(struct conn *c, const char *line, size_t len, unsigned flags)
{
    struct smtp_session *s = c->data;
    struct smtp_cmd cmd;

    if (s->state == SESSION_GREETING) {
        if (s->server->cfg.reject_early_talkers) {
            ev_timer_stop(s->server->loop, &s->reply_timer);
            conn_write(c, "554 5.5.1 Error: early talker\r\n", 31);
            pushback(s, "early_talker", 554);
            s->state = SESSION_QUIT;
            conn_close(c);
            return CONN_CONSUMED;
        }
        return CONN_WAIT; /* answered once the greeting is out */
    }
    if (s->state == SESSION_DATA) {
        data_line(s, line, len, flags);
        return CONN_CONSUMED;
    }
    if (s->state == SESSION_QUIT)
        return CONN_CONSUMED;
    if (s->reply_pending)
        return CONN_WAIT; /* a command waits for the reply before it */
    if (conn_out_room(c) < SMTP_REPLY_MAX) {
        conn_want_drain(c); /* a client that pipelines without reading waits for room */
        return CONN_WAIT;
    }
    if (flags & CONN_LINE_CONT) {
        return CONN_CONSUMED; /* the rest of a line already refused */
    }
    if (flags & CONN_LINE_PARTIAL) {
        if (len < SMTP_LINE_MAX)
            return CONN_CONSUMED; /* an unterminated rest before EOF */
        s->errors++;
        say(s, "500 5.5.2 Error: line too long\r\n");
        return CONN_CONSUMED;
    }
    enum smtp_cmd_status st = smtp_cmd_parse(line, len, &cmd);
    if (st == SMTP_CMD_EMPTY || st == SMTP_CMD_BAD_CHAR || st == SMTP_CMD_TOO_LONG) {
        s->errors++;
        say(s, st == SMTP_CMD_TOO_LONG ? "500 5.5.2 Error: line too long\r\n"
                                       : "500 5.5.2 Error: bad syntax\r\n");
    } else {
        switch (cmd.verb) {
        case SMTP_VERB_EHLO: cmd_ehlo(s, &cmd, 1); break;
        case SMTP_VERB_HELO: cmd_ehlo(s, &cmd, 0); break;
        case SMTP_VERB_STARTTLS: cmd_starttls(s, &cmd); break;
        case SMTP_VERB_MAIL: cmd_mail(s, &cmd, st); break;
        case SMTP_VERB_RCPT: cmd_rcpt(s, &cmd, st); break;
        case SMTP_VERB_DATA: cmd_data(s, &cmd); break;
        case SMTP_VERB_RSET:
            if (s->state >= SESSION_MAIL) {
                transaction_reset(s);
                s->state = SESSION_HELO;
            }
            say(s, "250 2.0.0 Ok\r\n");
            break;
        case SMTP_VERB_NOOP: say(s, "250 2.0.0 Ok\r\n"); break;
        case SMTP_VERB_VRFY: say(s, "252 2.0.0 Cannot VRFY user, but will accept message\r\n"); break;
        case SMTP_VERB_HELP: say(s, "214 2.0.0 See RFC 5321\r\n"); break;
        case SMTP_VERB_QUIT:
            s->state = SESSION_QUIT;
            say(s, "221 2.0.0 Bye\r\n");
            break;
        case SMTP_VERB_EXPN:
        case SMTP_VERB_AUTH:
        case SMTP_VERB_BDAT:
            s->errors++;
            say(s, "502 5.5.1 Error: command not implemented\r\n");
            break;
        default:
            s->errors++;
            say(s, "500 5.5.2 Error: command not recognized\r\n");
        }
    }
    if (s->errors > SMTP_ERROR_LIMIT && !conn_is_closing(c) && !s->reply_pending) {
        conn_write(c, "421 4.7.0 Error: too many errors\r\n", 34);
        pushback(s, "errors", 421);
        s->state = SESSION_QUIT;
        conn_close(c);
    }
    return CONN_CONSUMED;
}

static void on_eof(struct conn *c)
{
    struct smtp_session *s = c->data;

    if (s->reply_pending) {
        s->reply_close = 1; /* the reply goes out, then the session closes */
        return;
    }
    if (s->state == SESSION_DATA)
        s->server->aborted++;
    transaction_reset(s);
    s->state = SESSION_QUIT;
    conn_close(c);
}

/* on_drain - room in the output queue: the reply that waited, then the next command. */
static void on_drain(struct conn *c)
{
    struct smtp_session *s = c->data;

    if (s->reply_waits_room) {
        s->reply_waits_room = 0;
        send_reply_step(s);
        return;
    }
    if (!s->reply_pending && !conn_is_closing(c))
        conn_resume(c);
}

static void on_timeout(struct conn *c)
{
    struct smtp_session *s = c->data;

    if (s->state == SESSION_DATA)
        s->server->aborted++;
    transaction_reset(s);
    s->state = SESSION_QUIT;
    ev_timer_stop(s->server->loop, &s->reply_timer);
    conn_write(c, "421 4.4.2 Error: timeout exceeded\r\n", 35);
    conn_close(c);
}

static void maybe_stopped(struct smtp_server *srv)
{
    if (srv->stopping && srv->nsessions == 0) {
        ev_timer_stop(srv->loop, &srv->stop_timer);
        if (srv->ops->on_stopped)
            srv->ops->on_stopped(srv->ctx);
    }
}

static void on_closed(struct conn *c)
{
    struct smtp_session *s = c->data;
    struct smtp_server *srv = s->server;

    if (s->state == SESSION_DATA)
        srv->aborted++;
    transaction_reset(s);
    ev_timer_stop(srv->loop, &s->reply_timer);
    if (srv->ops->on_session_close)
        srv->ops->on_session_close(srv->ctx, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->nsessions--;
    free(s);
    memtrim_sessions(srv->nsessions);
    maybe_stopped(srv);
}

static const struct conn_ops session_ops = {
    .on_line = on_line,
    .on_eof = on_eof,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_tls = on_tls,
    .on_closed = on_closed,
};

/* session_maybe_stop - while stopping, a session between transactions says goodbye. */
static void session_maybe_stop(struct smtp_session *s)
{
    if (!s->server->stopping || s->state >= SESSION_MAIL || s->state == SESSION_QUIT ||
        s->reply_pending || conn_is_closing(&s->conn))
        return;
    conn_printf(&s->conn, "421 4.3.2 %s Service shutting down\r\n", s->server->cfg.hostname);
    s->state = SESSION_QUIT;
    conn_close(&s->conn);
}

/* ---- listeners ----------------------------------------------------------------------- */

static void start_session(struct smtp_server *srv, int fd, const struct sockaddr_storage *peer)
{
    struct smtp_session *s = calloc(1, sizeof(*s));
    socklen_t llen = sizeof(s->local);

    if (s == NULL) {
        close(fd);
        return;
    }
    s->server = srv;
    s->id = ++srv->next_id;
    s->peer = *peer;
    getsockname(fd, (struct sockaddr *)&s->local, &llen);
    addr_format((const struct sockaddr *)peer, s->client_addr, sizeof(s->client_addr), 0);
    s->client_port = addr_port((const struct sockaddr *)peer);
    s->connect_us = clock_realtime_us();
    s->state = SESSION_GREETING;
    ev_init(&s->reply_timer, reply_timer_cb);
    s->reply_timer.data = s;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->nsessions++;
    memtrim_sessions(srv->nsessions);
    srv->connections++;
    conn_init(&s->conn, srv->loop, fd, &session_ops, s);
    conn_set_line_limit(&s->conn, SMTP_LINE_MAX);
    if (srv->cfg.idle_timeout > 0)
        conn_set_timeout(&s->conn, srv->cfg.idle_timeout);
    if (srv->ops->on_session_open)
        srv->ops->on_session_open(srv->ctx, s);
    if (srv->cfg.max_conns && srv->nsessions > srv->cfg.max_conns) {
        srv->refused_conns++;
        pushback(s, "max_conns", 421);
        conn_printf(&s->conn, "421 4.7.0 %s Error: too many connections\r\n", srv->cfg.hostname);
        s->state = SESSION_QUIT;
        conn_close(&s->conn);
        return;
    }
    reply(s, SMTP_STAGE_CONNECT, "220 %s ESMTP %s\r\n", srv->cfg.hostname, srv->cfg.software);
}

static void accept_session(void *ctx, int fd, const struct sockaddr_storage *peer, int index)
{
    (void)index;
    start_session(ctx, fd, peer);
}

void smtp_server_init(struct smtp_server *srv, struct ev_loop *loop,
                      const struct smtp_server_config *cfg, const struct smtp_server_ops *ops,
                      void *ctx)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->ops = ops;
    srv->ctx = ctx;
    listener_init(&srv->listeners, loop, cfg->software, accept_session, srv);
}

int smtp_server_listen(struct smtp_server *srv, const char *text, char *err, size_t errlen)
{
    return listener_add(&srv->listeners, text, 0, err, errlen);
}

static void stop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct smtp_server *srv = w->data;

    (void)loop;
    (void)revents;
    for (struct smtp_session *s = srv->sessions; s; s = s->next) {
        if (conn_is_closing(&s->conn))
            continue;
        ev_timer_stop(srv->loop, &s->reply_timer);
        if (s->state == SESSION_DATA)
            srv->aborted++;
        transaction_reset(s);
        s->state = SESSION_QUIT;
        conn_printf(&s->conn, "421 4.3.2 %s Service shutting down\r\n", srv->cfg.hostname);
        conn_close(&s->conn);
    }
}

void smtp_server_stop(struct smtp_server *srv, double grace)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    listener_stop(&srv->listeners);
    for (struct smtp_session *s = srv->sessions; s; s = s->next)
        session_maybe_stop(s);
    ev_timer_init(&srv->stop_timer, stop_timer_cb, grace, 0);
    srv->stop_timer.data = srv;
    ev_timer_start(srv->loop, &srv->stop_timer);
    maybe_stopped(srv);
}
