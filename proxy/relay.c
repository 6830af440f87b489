/* relay - the transparent proxy's view of one SMTP session.
 * Bytes pass unchanged except where the proxy must act: the EHLO reply (STARTTLS and
 * CHUNKING removed), STARTTLS towards the MX (ours), replies to commands the MX must
 * never see (STARTTLS and BDAT from the client), which the relay answers in order, and
 * bare CR/LF in a message (normalized, or the message refused: see smtp_data.h).
 * After EHLO the client is held until the reply (and our STARTTLS) is done, so commands
 * a client pipelines after EHLO (RFC 2920 forbids it) can never cross our STARTTLS. */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "line.h"
#include "relay.h"
#include "smtp_reply.h"

/* pending_name - what a pending reply answers, for the log. */
static const char *pending_name(const struct relay_pending *p)
{
    return p->dot ? "DOT" : smtp_verb_name(p->verb);
}

void relay_init(struct relay *r, const struct relay_ops *ops, void *ctx, enum relay_tls_mode mode)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->ctx = ctx;
    r->tls_mode = mode;
    r->bare_mode = SMTP_BARE_NORMALIZE;
    r->phase = RELAY_GREETING;
}

void relay_set_bare_mode(struct relay *r, enum smtp_bare_mode mode)
{
    r->bare_mode = mode == SMTP_BARE_STRICT ? SMTP_BARE_STRICT : SMTP_BARE_NORMALIZE;
}

int relay_holding_client(const struct relay *r)
{
    return r->phase == RELAY_GREETING || r->phase == RELAY_DATA_WAIT ||
           r->phase == RELAY_TLS_STARTING || r->ehlo_pending > 0 ||
           r->npending >= RELAY_PENDING_MAX;
}

enum relay_owed relay_owed(const struct relay *r)
{
    if (r->phase == RELAY_DONE)
        return RELAY_OWED_NONE;
    if (r->phase == RELAY_TLS_STARTING && r->npending == 0)
        return RELAY_OWED_TLS;
    for (unsigned k = 0; k < r->npending; k++) {
        const struct relay_pending *p = &r->pending[(r->pending_head + k) % RELAY_PENDING_MAX];
        if (p->dot)
            return RELAY_OWED_FINAL;
        if (!p->local)
            return RELAY_OWED_REPLY;
    }
    return r->phase == RELAY_GREETING ? RELAY_OWED_REPLY : RELAY_OWED_NONE;
}

int relay_awaiting_reply(const struct relay *r)
{
    return relay_owed(r) != RELAY_OWED_NONE;
}

int relay_in_message(const struct relay *r)
{
    return r->in_transaction;
}

static int64_t now(struct relay *r)
{
    return r->ops->now_us ? r->ops->now_us(r->ctx) : 0;
}

static void finish(struct relay *r, const char *reason)
{
    if (r->phase == RELAY_DONE)
        return;
    r->phase = RELAY_DONE;
    r->ops->finish(r->ctx, reason);
}

static struct relay_pending *head(struct relay *r)
{
    return r->npending ? &r->pending[r->pending_head] : NULL;
}

static struct relay_pending *push(struct relay *r, enum smtp_verb verb)
{
    struct relay_pending *p = &r->pending[(r->pending_head + r->npending++) % RELAY_PENDING_MAX];

    memset(p, 0, sizeof(*p));
    p->verb = verb;
    p->rcpt_index = -1;
    if (verb == SMTP_VERB_EHLO)
        r->ehlo_pending++;
    return p;
}

static void pop(struct relay *r)
{
    if (r->pending[r->pending_head].verb == SMTP_VERB_EHLO && !r->pending[r->pending_head].local)
        r->ehlo_pending--;
    r->pending_head = (r->pending_head + 1) % RELAY_PENDING_MAX;
    r->npending--;
}

/* emit_local - send replies we make ourselves once every earlier reply is out; a reply
 * the client's queue cannot take yet waits for relay_client_drained. */
static void emit_local(struct relay *r)
{
    struct relay_pending *p;

    while ((p = head(r)) != NULL && p->local) {
        size_t n = strlen(p->local_text);
        if (r->ops->client_room(r->ctx) < n) {
            if (r->ops->want_client_room)
                r->ops->want_client_room(r->ctx);
            return;
        }
        r->ops->to_client(r->ctx, p->local_text, n);
        pop(r);
    }
}

void relay_client_drained(struct relay *r)
{
    if (r->phase != RELAY_DONE)
        emit_local(r);
}

/* reply_local - answer a command ourselves, in its turn. */
static enum relay_verdict reply_local(struct relay *r, enum smtp_verb verb, const char *text)
{
    struct relay_pending *p = push(r, verb);
    p->local = 1;
    p->local_text = text;
    emit_local(r);
    return RELAY_TAKEN;
}

/* close_with - tell the client why (a 421 the MX did not send) and end the session. */
static void close_with(struct relay *r, const char *text, const char *reason)
{
    r->ops->to_client(r->ctx, text, strlen(text));
    finish(r, reason);
}

/* body_chunk - a chunk of the message: passed on (normalized), or the end, or refused. */
static enum relay_verdict body_chunk(struct relay *r, const char *line, size_t len, unsigned flags)
{
    char out[SMTP_DATA_OUT_MAX(RELAY_CHUNK_MAX)];
    struct smtp_data next = r->data; /* committed only once the chunk is taken */
    size_t n;

    if (len > RELAY_CHUNK_MAX) {
        close_with(r, "421 4.3.0 proxy: internal error (message chunk too long)\r\n", "chunk too long");
        if (r->ops->abort_server)
            r->ops->abort_server(r->ctx, "chunk too long");
        return RELAY_TAKEN;
    }
    enum smtp_data_result res = smtp_data_chunk(&next, line, len, (flags & CONN_LINE_PARTIAL) != 0, out, &n);
    if (r->refusing) { /* read the rest of the message, then say no */
        r->data = next;
        if (res == SMTP_DATA_END) {
            if (r->ops->on_bare)
                r->ops->on_bare(r->ctx, "refused", smtp_data_bare(&next));
            close_with(r, "521 5.5.2 proxy: bare CR or LF in the message, refused (RFC 5321 2.3.8)\r\n",
                       "bare CR or LF refused");
        }
        return RELAY_TAKEN;
    }
    if (res == SMTP_DATA_END) {
        if (r->ops->server_room(r->ctx) < 3)
            return RELAY_WAIT_SERVER;
        r->data = next;
        r->ops->to_server(r->ctx, ".\r\n", 3);
        r->phase = RELAY_COMMAND;
        push(r, SMTP_VERB_UNKNOWN)->dot = 1;
        if (smtp_data_bare(&next) > 0 && r->ops->on_bare)
            r->ops->on_bare(r->ctx, "normalized", smtp_data_bare(&next));
        return RELAY_TAKEN;
    }
    if (r->bare_mode == SMTP_BARE_STRICT && smtp_data_bare(&next) > 0) {
        r->data = next; /* nothing of this chunk reaches the MX, and no final "." ever will */
        r->refusing = 1;
        if (r->ops->abort_server)
            r->ops->abort_server(r->ctx, "bare CR or LF in the message");
        return RELAY_TAKEN;
    }
    if (r->ops->server_room(r->ctx) < n)
        return RELAY_WAIT_SERVER;
    r->data = next;
    r->ops->to_server(r->ctx, out, n);
    r->msg.size += n;
    return RELAY_TAKEN;
}

enum relay_verdict relay_client_line(struct relay *r, const char *line, size_t len, unsigned flags)
{
    struct smtp_cmd cmd;

    switch (r->phase) {
    case RELAY_DONE:
    case RELAY_QUIT:
        return RELAY_TAKEN;
    case RELAY_GREETING:
    case RELAY_DATA_WAIT:
    case RELAY_TLS_STARTING:
        return RELAY_HOLD;
    case RELAY_BODY:
        return body_chunk(r, line, len, flags);
    case RELAY_COMMAND:
        break;
    }
    if (flags & CONN_LINE_EOF)
        return RELAY_TAKEN; /* half a command before the client's close: nobody runs it */
    if (r->client_line_cont || (flags & CONN_LINE_CONT)) {
        /* the rest of an over-long command line: the MX judges it */
        if (r->ops->server_room(r->ctx) < len)
            return RELAY_WAIT_SERVER;
        r->ops->to_server(r->ctx, line, len);
        r->client_line_cont = (flags & CONN_LINE_PARTIAL) != 0;
        return RELAY_TAKEN;
    }
    if (r->npending >= RELAY_PENDING_MAX || r->ehlo_pending > 0)
        return RELAY_HOLD;
    if (r->ops->server_room(r->ctx) < len)
        return RELAY_WAIT_SERVER;
    enum smtp_cmd_status st = smtp_cmd_parse(line, len, &cmd);
    int verb = st == SMTP_CMD_OK || st == SMTP_CMD_BAD_PATH || st == SMTP_CMD_BAD_PARAM ||
                       st == SMTP_CMD_TOO_MANY_PARAMS || st == SMTP_CMD_PATH_TOO_LONG
                   ? (int)cmd.verb
                   : SMTP_VERB_UNKNOWN;
    if (flags & CONN_LINE_PARTIAL) { /* the first chunk of an over-long line: relay it, the MX refuses it */
        r->client_line_cont = 1;
        verb = SMTP_VERB_UNKNOWN;
    }
    if (verb == SMTP_VERB_STARTTLS)
        return reply_local(r, verb, "454 4.7.0 TLS not available (the proxy does TLS towards the MX)\r\n");
    if (verb == SMTP_VERB_BDAT)
        return reply_local(r, verb, "502 5.5.1 BDAT not offered, use DATA\r\n");
    if (r->ops->on_command)
        r->ops->on_command(r->ctx, smtp_verb_name(verb), line, len);
    struct relay_pending *p = push(r, verb);
    switch (verb) {
    case SMTP_VERB_EHLO:
        line_copy(r->ehlo_line, sizeof(r->ehlo_line), line, len);
        r->ehlo_line_len = strlen(r->ehlo_line);
        r->ehlo_len = 0;
        r->ehlo_overflow = 0;
        break;
    case SMTP_VERB_MAIL:
        memset(&r->msg, 0, sizeof(r->msg));
        if (st == SMTP_CMD_OK)
            line_copy(r->msg.mail_from, sizeof(r->msg.mail_from), cmd.path, cmd.path_len);
        r->msg.mail_us = now(r);
        r->in_transaction = 1;
        break;
    case SMTP_VERB_RCPT:
        if (r->in_transaction && r->msg.nrcpt < RELAY_RCPTS_KEPT && st == SMTP_CMD_OK) {
            line_copy(r->msg.rcpt[r->msg.nrcpt], sizeof(r->msg.rcpt[0]), cmd.path, cmd.path_len);
            p->rcpt_index = (short)r->msg.nrcpt;
        }
        if (r->in_transaction)
            r->msg.nrcpt++;
        break;
    case SMTP_VERB_DATA:
        r->phase = RELAY_DATA_WAIT;
        break;
    case SMTP_VERB_RSET:
        r->in_transaction = 0;
        break;
    case SMTP_VERB_QUIT:
        r->phase = RELAY_QUIT;
        break;
    default:
        break;
    }
    r->ops->to_server(r->ctx, line, len);
    return RELAY_TAKEN;
}

/* ehlo_done - the (final) EHLO reply is complete in r->ehlo: go TLS, or hand it over. */
static void ehlo_done(struct relay *r, int code)
{
    if (code == 250 && !r->server_tls && r->tls_mode != RELAY_TLS_NONE && !r->ehlo_overflow &&
        smtp_ehlo_has(r->ehlo, r->ehlo_len, "STARTTLS")) {
        struct relay_pending *p = push(r, SMTP_VERB_STARTTLS);
        p->internal = 1;
        r->phase = RELAY_TLS_STARTING;
        r->ops->to_server(r->ctx, "STARTTLS\r\n", 10);
        return;
    }
    if (code == 250 && !r->server_tls && r->tls_mode == RELAY_TLS_VERIFY) {
        close_with(r, "421 4.7.0 proxy: the MX offers no STARTTLS and TLS is required\r\n",
                   "tls required, not offered");
        return;
    }
    if (code == 250 && !r->server_tls && r->tls_mode == RELAY_TLS_MAY && r->ops->on_tls_skipped)
        r->ops->on_tls_skipped(r->ctx, "the MX offers no STARTTLS");
    r->ehlo_len = smtp_ehlo_remove(r->ehlo, r->ehlo_len, "STARTTLS");
    r->ehlo_len = smtp_ehlo_remove(r->ehlo, r->ehlo_len, "CHUNKING");
    r->ehlo_len = smtp_ehlo_remove(r->ehlo, r->ehlo_len, "BINARYMIME");
    r->ops->to_client(r->ctx, r->ehlo, r->ehlo_len);
    r->phase = RELAY_COMMAND;
}

/* message_done - the MX's reply to a message's final ".": the message is over. */
static void message_done(struct relay *r, int code, const char *line, size_t len)
{
    size_t n = line_strip_eol(line, len);

    r->msg.code = code;
    r->msg.final_us = now(r);
    line_copy(r->msg.reply, sizeof(r->msg.reply), line, n);
    const char *q = strstr(r->msg.reply, "queued as ");
    if (q) {
        q += 10;
        size_t k = strcspn(q, " ,;)");
        line_copy(r->msg.queue_id, sizeof(r->msg.queue_id), q, k);
    }
    r->messages++;
    if (r->in_transaction && r->ops->on_message)
        r->ops->on_message(r->ctx, &r->msg);
    r->in_transaction = 0;
}

/* command_done - the MX's reply to a command: follow the transaction and DATA. */
static void command_done(struct relay *r, const struct relay_pending *p, int code)
{
    switch (p->verb) {
    case SMTP_VERB_MAIL:
        if (code / 100 != 2)
            r->in_transaction = 0;
        break;
    case SMTP_VERB_RCPT:
        if (p->rcpt_index >= 0)
            r->msg.rcpt_code[p->rcpt_index] = code;
        break;
    case SMTP_VERB_DATA:
        if (code == 354) {
            r->phase = RELAY_BODY;
            smtp_data_init(&r->data, r->bare_mode);
            r->refusing = 0;
            r->msg.data_us = now(r);
        } else {
            r->phase = RELAY_COMMAND;
        }
        break;
    default:
        break;
    }
}

enum relay_verdict relay_server_line(struct relay *r, const char *line, size_t len, unsigned flags)
{
    struct relay_pending *p = head(r);
    int code, last;

    if (r->phase == RELAY_DONE || (flags & CONN_LINE_EOF))
        return RELAY_TAKEN; /* an unterminated line before the MX's close is no reply */
    if (r->server_line_cont) { /* more of an over-long line: its first chunk said what it is */
        code = r->server_line_code;
        last = r->server_line_last;
    } else {
        struct smtp_reply_line rl;
        /* judge a long line by its start: the MX's text may run past 512 bytes */
        size_t plen = len > SMTP_REPLY_LINE_MAX - 2 ? SMTP_REPLY_LINE_MAX - 2 : len;
        if (smtp_reply_line_parse(line, plen, &rl) != SMTP_REPLY_OK) {
            close_with(r, "421 4.5.0 proxy: the MX sent a malformed reply\r\n", "malformed reply");
            return RELAY_TAKEN;
        }
        code = rl.code;
        last = rl.last;
    }
    int line_done = !(flags & CONN_LINE_PARTIAL);
    int reply_done = last && line_done;
    int buffering = p && !p->local && (p->verb == SMTP_VERB_EHLO || p->internal);

    if (buffering) {
        if (p->verb == SMTP_VERB_EHLO) {
            if (!line_done || r->server_line_cont || r->ehlo_len + len > sizeof(r->ehlo)) {
                r->ehlo_overflow = 1; /* too long to edit: the rest is dropped, see below */
            } else {
                if (reply_done && r->ops->client_room(r->ctx) < r->ehlo_len + len)
                    return RELAY_WAIT_CLIENT;
                memcpy(r->ehlo + r->ehlo_len, line, len);
                r->ehlo_len += len;
            }
            r->server_line_cont = !line_done;
            r->server_line_code = code;
            r->server_line_last = last;
            if (!reply_done)
                return RELAY_TAKEN;
            if (r->ehlo_overflow) {
                close_with(r, "421 4.3.0 proxy: the MX's EHLO reply is too long\r\n", "EHLO reply too long");
                return RELAY_TAKEN;
            }
            if (r->ops->on_reply)
                r->ops->on_reply(r->ctx, "EHLO", code, line, len);
            pop(r);
            ehlo_done(r, code);
            return RELAY_TAKEN;
        }
        /* the reply to our own STARTTLS */
        r->server_line_cont = !line_done;
        r->server_line_code = code;
        r->server_line_last = last;
        if (!reply_done)
            return RELAY_TAKEN;
        if (r->ops->on_reply)
            r->ops->on_reply(r->ctx, "STARTTLS", code, line, len);
        pop(r);
        if (code == 220) {
            r->ops->start_tls(r->ctx);
            return RELAY_TAKEN;
        }
        if (r->tls_mode == RELAY_TLS_VERIFY) {
            close_with(r, "421 4.7.0 proxy: the MX refused STARTTLS and TLS is required\r\n",
                       "starttls refused");
            return RELAY_TAKEN;
        }
        if (r->ops->on_tls_skipped)
            r->ops->on_tls_skipped(r->ctx, "the MX refused STARTTLS");
        r->server_tls = -1; /* do not try again on a later EHLO */
        ehlo_done(r, 250);
        return RELAY_TAKEN;
    }
    if (p == NULL && r->phase != RELAY_GREETING && !r->server_line_cont && code != 421) {
        /* a reply nobody asked for would shift every later reply the client matches */
        close_with(r, "421 4.5.0 proxy: the MX sent a reply to no command\r\n", "unsolicited reply");
        return RELAY_TAKEN;
    }
    int first = !r->server_line_cont;
    if (first) {
        /* the client gets whole lines: an over-long one is cut after its first chunk and
         * ended here, so a close of the MX in mid-line never runs into our own 421 */
        if (r->ops->client_room(r->ctx) < len + 2)
            return RELAY_WAIT_CLIENT;
        r->ops->to_client(r->ctx, line, len);
        if (!line_done)
            r->ops->to_client(r->ctx, "\r\n", 2);
    }
    r->server_line_cont = !line_done;
    r->server_line_code = code;
    r->server_line_last = last;
    if (!reply_done)
        return RELAY_TAKEN;
    const char *what = r->phase == RELAY_GREETING ? "GREETING"
                       : p ? pending_name(p) : smtp_verb_name(SMTP_VERB_UNKNOWN);
    if (r->ops->on_reply)
        r->ops->on_reply(r->ctx, what, code, first ? line : "", first ? len : 0);
    if (r->phase == RELAY_GREETING) {
        if (first && r->ops->on_greeting)
            r->ops->on_greeting(r->ctx, code, line, len);
        if (code == 220)
            r->phase = RELAY_COMMAND;
        else
            finish(r, "greeting refused");
        return RELAY_TAKEN;
    }
    if (p == NULL) { /* unsolicited 421 before closing */
        finish(r, "MX closing");
        return RELAY_TAKEN;
    }
    if (p->dot)
        message_done(r, code, line, len);
    else
        command_done(r, p, code);
    pop(r);
    if (p->verb == SMTP_VERB_QUIT) {
        finish(r, "quit");
        return RELAY_TAKEN;
    }
    if (code == 421) {
        finish(r, "MX closing");
        return RELAY_TAKEN;
    }
    emit_local(r);
    return RELAY_TAKEN;
}

void relay_tls_done(struct relay *r, int ok, int verified)
{
    if (r->phase != RELAY_TLS_STARTING || r->npending >= RELAY_PENDING_MAX)
        return; /* no handshake of ours is running */
    if (!ok || (r->tls_mode == RELAY_TLS_VERIFY && !verified)) {
        close_with(r, ok ? "421 4.7.0 proxy: the MX's certificate could not be verified\r\n"
                         : "421 4.7.0 proxy: TLS handshake with the MX failed\r\n",
                   ok ? "certificate not verified" : "tls handshake failed");
        return;
    }
    r->server_tls = 1;
    r->ehlo_len = 0;
    push(r, SMTP_VERB_EHLO); /* the client's EHLO again, now over TLS (RFC 3207 4.2) */
    r->ops->to_server(r->ctx, r->ehlo_line, r->ehlo_line_len);
}
