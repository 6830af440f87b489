/* smtp_relay - the transparent proxy's view of one SMTP session.
 * Bytes pass unchanged except where the proxy must act: the EHLO reply (STARTTLS and
 * CHUNKING removed), STARTTLS towards the MX (ours), and replies to commands the MX must
 * never see (STARTTLS and BDAT from the client), which the relay answers in order. */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "line.h"
#include "smtp_relay.h"
#include "smtp_reply.h"

#define VERB_DOT 100 /* a pseudo-verb: the final "." of a message */
#define VERB_GREETING 101

static const char *verb_name(int verb)
{
    if (verb == VERB_DOT)
        return "DOT";
    if (verb == VERB_GREETING)
        return "GREETING";
    return smtp_verb_name((enum smtp_verb)verb);
}

void relay_init(struct relay *r, const struct relay_ops *ops, void *ctx, enum relay_tls_mode mode)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->ctx = ctx;
    r->tls_mode = mode;
    r->phase = RELAY_GREETING;
}

int relay_holding_client(const struct relay *r)
{
    return r->phase == RELAY_GREETING || r->phase == RELAY_DATA_WAIT ||
           r->phase == RELAY_TLS_STARTING || r->npending >= RELAY_PENDING_MAX;
}

int relay_awaiting_reply(const struct relay *r)
{
    return r->npending > 0 || r->phase == RELAY_GREETING;
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

static struct relay_pending *push(struct relay *r, int verb)
{
    struct relay_pending *p = &r->pending[(r->pending_head + r->npending++) % RELAY_PENDING_MAX];

    memset(p, 0, sizeof(*p));
    p->verb = (enum smtp_verb)verb;
    p->rcpt_index = -1;
    return p;
}

static void pop(struct relay *r)
{
    r->pending_head = (r->pending_head + 1) % RELAY_PENDING_MAX;
    r->npending--;
}

/* emit_local - send replies we make ourselves once every earlier reply is out. */
static void emit_local(struct relay *r)
{
    struct relay_pending *p;

    while ((p = head(r)) != NULL && p->local) {
        r->ops->to_client(r->ctx, p->local_text, strlen(p->local_text));
        pop(r);
    }
}

/* reply_local - answer a command ourselves, in its turn. */
static int reply_local(struct relay *r, int verb, const char *text)
{
    if (r->ops->client_room(r->ctx) < strlen(text))
        return 1;
    struct relay_pending *p = push(r, verb);
    p->local = 1;
    p->local_text = text;
    emit_local(r);
    return 0;
}

int relay_client_line(struct relay *r, const char *line, size_t len, unsigned flags)
{
    struct smtp_cmd cmd;

    switch (r->phase) {
    case RELAY_DONE:
    case RELAY_QUIT:
        return 0;
    case RELAY_GREETING:
    case RELAY_DATA_WAIT:
    case RELAY_TLS_STARTING:
        return 1;
    case RELAY_BODY: {
        if (r->ops->server_room(r->ctx) < len)
            return 1;
        int start = r->body_line_start;
        r->body_line_start = !(flags & CONN_LINE_PARTIAL);
        r->ops->to_server(r->ctx, line, len);
        if (start && r->body_line_start && len > 0 && line[0] == '.' && line_strip_eol(line, len) == 1) {
            r->phase = RELAY_COMMAND;
            push(r, VERB_DOT);
            return 0;
        }
        r->msg.size += len - (start && len > 0 && line[0] == '.' ? 1 : 0);
        return 0;
    }
    case RELAY_COMMAND:
        break;
    }
    if (r->client_line_cont || (flags & CONN_LINE_CONT)) {
        /* the rest of an over-long command line: the MX judges it */
        if (r->ops->server_room(r->ctx) < len)
            return 1;
        r->ops->to_server(r->ctx, line, len);
        r->client_line_cont = (flags & CONN_LINE_PARTIAL) != 0;
        return 0;
    }
    if (r->npending >= RELAY_PENDING_MAX || r->ops->server_room(r->ctx) < len)
        return 1;
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
        r->ops->on_command(r->ctx, verb_name(verb), line, len);
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
    return 0;
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
        static const char t[] = "421 4.7.0 proxy: the MX offers no STARTTLS and TLS is required\r\n";
        r->ops->to_client(r->ctx, t, sizeof(t) - 1);
        finish(r, "tls required, not offered");
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

int relay_server_line(struct relay *r, const char *line, size_t len, unsigned flags)
{
    struct smtp_reply_line rl;
    struct relay_pending *p = head(r);
    int parsed = !(flags & (CONN_LINE_PARTIAL | CONN_LINE_CONT)) && smtp_reply_line_parse(line, len, &rl) == SMTP_REPLY_OK;
    int last = parsed && rl.last;
    int buffering = p && !p->local && (p->verb == SMTP_VERB_EHLO || p->internal);

    if (r->phase == RELAY_DONE)
        return 0;
    if (buffering) {
        if (p->verb == SMTP_VERB_EHLO) {
            if (r->ehlo_len + len > sizeof(r->ehlo)) {
                r->ehlo_overflow = 1; /* too long to edit: the rest is dropped, see ehlo_done */
            } else {
                if (last && r->ops->client_room(r->ctx) < r->ehlo_len + len)
                    return 1;
                memcpy(r->ehlo + r->ehlo_len, line, len);
                r->ehlo_len += len;
            }
            if (!last)
                return 0;
            if (r->ehlo_overflow) {
                static const char t[] = "421 4.3.0 proxy: the MX's EHLO reply is too long\r\n";
                r->ops->to_client(r->ctx, t, sizeof(t) - 1);
                finish(r, "EHLO reply too long");
                return 0;
            }
            if (r->ops->on_reply)
                r->ops->on_reply(r->ctx, "EHLO", rl.code, line, len);
            pop(r);
            ehlo_done(r, rl.code);
            return 0;
        }
        /* the reply to our own STARTTLS */
        if (!last)
            return 0;
        if (r->ops->on_reply)
            r->ops->on_reply(r->ctx, "STARTTLS", rl.code, line, len);
        pop(r);
        if (rl.code == 220) {
            r->ops->start_tls(r->ctx);
            return 0;
        }
        if (r->tls_mode == RELAY_TLS_VERIFY) {
            static const char t[] = "421 4.7.0 proxy: the MX refused STARTTLS and TLS is required\r\n";
            r->ops->to_client(r->ctx, t, sizeof(t) - 1);
            finish(r, "starttls refused");
            return 0;
        }
        if (r->ops->on_tls_skipped)
            r->ops->on_tls_skipped(r->ctx, "the MX refused STARTTLS");
        r->server_tls = -1; /* do not try again on a later EHLO */
        ehlo_done(r, 250);
        return 0;
    }
    if (r->ops->client_room(r->ctx) < len)
        return 1;
    r->ops->to_client(r->ctx, line, len);
    if (!last)
        return 0;
    int verb = r->phase == RELAY_GREETING ? VERB_GREETING : p ? (int)p->verb : SMTP_VERB_UNKNOWN;
    if (r->ops->on_reply)
        r->ops->on_reply(r->ctx, verb_name(verb), rl.code, line, len);
    if (r->phase == RELAY_GREETING) {
        if (rl.code == 220)
            r->phase = RELAY_COMMAND;
        else
            finish(r, "greeting refused");
        return 0;
    }
    if (p == NULL) { /* unsolicited, e.g. a 421 before closing */
        if (rl.code == 421)
            finish(r, "MX closing");
        return 0;
    }
    switch ((int)p->verb) {
    case SMTP_VERB_MAIL:
        if (rl.code / 100 != 2)
            r->in_transaction = 0;
        break;
    case SMTP_VERB_RCPT:
        if (p->rcpt_index >= 0)
            r->msg.rcpt_code[p->rcpt_index] = rl.code;
        break;
    case SMTP_VERB_DATA:
        if (rl.code == 354) {
            r->phase = RELAY_BODY;
            r->body_line_start = 1;
            r->msg.data_us = now(r);
        } else {
            r->phase = RELAY_COMMAND;
        }
        break;
    case VERB_DOT: {
        size_t n = line_strip_eol(line, len);
        r->msg.code = rl.code;
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
        break;
    }
    default:
        break;
    }
    pop(r);
    if (p->verb == SMTP_VERB_QUIT) {
        finish(r, "quit");
        return 0;
    }
    if (rl.code == 421) {
        finish(r, "MX closing");
        return 0;
    }
    emit_local(r);
    return 0;
}

void relay_tls_done(struct relay *r, int ok, int verified)
{
    if (r->phase != RELAY_TLS_STARTING || r->npending >= RELAY_PENDING_MAX)
        return; /* no handshake of ours is running */
    if (!ok || (r->tls_mode == RELAY_TLS_VERIFY && !verified)) {
        const char *t = ok ? "421 4.7.0 proxy: the MX's certificate could not be verified\r\n"
                           : "421 4.7.0 proxy: TLS handshake with the MX failed\r\n";
        r->ops->to_client(r->ctx, t, strlen(t));
        finish(r, ok ? "certificate not verified" : "tls handshake failed");
        return;
    }
    r->server_tls = 1;
    r->ehlo_len = 0;
    push(r, SMTP_VERB_EHLO); /* the client's EHLO again, now over TLS (RFC 3207 4.2) */
    r->ops->to_server(r->ctx, r->ehlo_line, r->ehlo_line_len);
}
