/* session - one intercepted connection: the client's conn, our conn to the MX, and the
 * relay between them. The client is never left hanging and never told 250 by us: when
 * the MX cannot be reached or goes away, the client gets a 421 and keeps its message.
 * Timers follow who owes whom (RFC 5321 4.5.3.2): the MX's runs while it owes a reply,
 * the client's while the client has the turn or has our output to read; never both idle. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "addr.h"
#include "clock.h"
#include "memtrim.h"
#include "proxy.h"
#include "workers.h"

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>, which clash with
 * the C library's <netinet/in.h>: the address a REDIRECTed connection was going to. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

struct proxy_session {
    struct proxy *p;
    uint64_t id;
    int open_conns;  /* conns not yet reported closed */
    int connected;   /* the MX accepted our connection */
    int has_server;  /* the server conn exists (its socket could be made) */
    int server_dropped; /* we dropped the MX side on purpose (a refused message) */
    int server_blocked; /* an MX line waits for room towards the client */
    int finishing;
    int greeted;        /* the MX greeted us (220): counted ready by admission */
    int adm_done;       /* the admission slot was given back (or never held) */
    int quitting;       /* handed back: QUIT sent, waiting for the MX to close */
    struct proxy_dest *dest; /* the destination's budget, or NULL */
    uint64_t tenant_id;
    int64_t held_us;
    int64_t client_us; /* the client's last line (or the session's start) */
    const char *decision;
    struct metrics_series *series;       /* its metrics series, found at its first message */
    char tenant[ADM_NAME_MAX];           /* the policy's name, or the client's address */
    char dest_label[ADDR_TEXT_MAX + ADM_NAME_MAX]; /* the policy's destination, or IP:PORT */
    char outbound_rule[ADM_NAME_MAX + 16];
    struct relay relay;
    int64_t start_us;
    const char *reason;
    char client_text[ADDR_TEXT_MAX], dst_text[ADDR_TEXT_MAX], out_text[ADDR_TEXT_MAX];
    char mx_name[128]; /* from the MX's greeting, for SNI and verification */
    struct proxy_session *next, *prev;
    /* last: conn_init/conn_connect set every field of a conn but its buffers, which
     * need no zeroing; everything before them is zeroed at accept, so an idle session
     * makes resident only the pages it uses */
    struct conn client, server;
};

int proxy_original_dst(const struct proxy *p, int fd, struct sockaddr_storage *dst, socklen_t *len)
{
    *len = sizeof(*dst);
    if (p->have_upstream) {
        memcpy(dst, &p->upstream, p->upstream_len);
        *len = p->upstream_len;
        return 0;
    }
    if (p->transparent) /* TPROXY: the socket is bound to where the client was going */
        return getsockname(fd, (struct sockaddr *)dst, len);
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0)
        return -1;
    if (local.ss_family == AF_INET6)
        return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, len);
    return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, len);
}

/* ---- log ----------------------------------------------------------------------------- */

void proxy_log_begin(struct proxy *p, const char *event, uint64_t session)
{
    struct json_writer *w = &p->jw;

    json_begin(w);
    json_int(w, "t_us", clock_realtime_us());
    json_cstr(w, "event", event);
    if (session)
        json_uint(w, "session", session);
}

void proxy_log_end(struct proxy *p)
{
    if (json_end(&p->jw) == 0)
        logfile_append(&p->log, p->jw.buf, p->jw.len);
}

static void log_begin(struct proxy_session *s, const char *event)
{
    proxy_log_begin(s->p, event, s->id);
}


static double ms_since(const struct proxy_session *s, int64_t us)
{
    return (double)(us - s->start_us) / 1000.0;
}

/* ---- relay callbacks ----------------------------------------------------------------- */

static int to_client(void *ctx, const char *d, size_t n)
{
    return conn_write(&((struct proxy_session *)ctx)->client, d, n);
}

static int to_server(void *ctx, const char *d, size_t n)
{
    return conn_write(&((struct proxy_session *)ctx)->server, d, n);
}

static size_t client_room(void *ctx)
{
    return conn_out_room(&((struct proxy_session *)ctx)->client);
}

static size_t server_room(void *ctx)
{
    return conn_out_room(&((struct proxy_session *)ctx)->server);
}

static void start_tls(void *ctx)
{
    struct proxy_session *s = ctx;
    const char *sni = s->mx_name[0] ? s->mx_name : NULL;

    SSL_CTX *tls = s->p->tls[s->relay.tls_mode];

    if (tls == NULL || conn_starttls(&s->server, tls, 0, sni) != 0) {
        relay_tls_done(&s->relay, 0, 0);
        return;
    }
    if (sni && s->relay.tls_mode == RELAY_TLS_VERIFY)
        SSL_set1_host(s->server.ssl, sni);
}

static void finish(void *ctx, const char *reason)
{
    struct proxy_session *s = ctx;

    s->finishing = 1;
    if (s->reason == NULL)
        s->reason = reason;
    /* last words are written within a deadline: a peer that does not read is dropped */
    conn_keep_timeout(&s->client, s->p->timeout_idle);
    conn_close(&s->client);
    if (s->has_server) {
        conn_keep_timeout(&s->server, s->p->timeout_reply);
        conn_close(&s->server);
    }
}

static void want_client_room(void *ctx)
{
    conn_want_drain(&((struct proxy_session *)ctx)->client);
}

static void abort_server(void *ctx, const char *why)
{
    struct proxy_session *s = ctx;

    s->server_dropped = 1;
    if (s->reason == NULL)
        s->reason = why;
    if (s->has_server)
        conn_abort(&s->server); /* no final "." ever reaches the MX */
}

static void on_bare(void *ctx, const char *action, uint64_t count)
{
    struct proxy_session *s = ctx;

    s->p->bare_messages++;
    if (!s->p->have_log)
        return;
    log_begin(s, "bare_newline");
    json_cstr(&s->p->jw, "client", s->client_text);
    json_cstr(&s->p->jw, "action", action);
    json_uint(&s->p->jw, "count", count);
    proxy_log_end(s->p);
}

static void on_command(void *ctx, const char *verb, const char *line, size_t len)
{
    struct proxy_session *s = ctx;

    (void)line;
    (void)len;
    if (!s->p->have_log || s->p->log_level < PROXY_LOG_COMMANDS)
        return;
    log_begin(s, "command");
    json_cstr(&s->p->jw, "verb", verb);
    json_double(&s->p->jw, "ms", ms_since(s, clock_realtime_us()), 3);
    proxy_log_end(s->p);
}

/* on_greeting - the greeting names the MX: SNI and certificate checks use it. */
static void on_greeting(void *ctx, int code, const char *line, size_t len)
{
    struct proxy_session *s = ctx;

    if (code != 220 || len <= 4)
        return;
    size_t k = 4;
    while (k < len && k - 4 < sizeof(s->mx_name) - 1 && line[k] != ' ' && line[k] != '\r' &&
           line[k] != '\n')
        k++;
    memcpy(s->mx_name, line + 4, k - 4);
    s->mx_name[k - 4] = 0;
    if (strchr(s->mx_name, '.') == NULL)
        s->mx_name[0] = 0;
}

static void on_reply(void *ctx, const char *verb, int code, const char *line, size_t len)
{
    struct proxy_session *s = ctx;

    (void)line;
    (void)len;
    if (!s->p->have_log || s->p->log_level < PROXY_LOG_COMMANDS)
        return;
    log_begin(s, "reply");
    json_cstr(&s->p->jw, "verb", verb);
    json_int(&s->p->jw, "code", code);
    json_double(&s->p->jw, "ms", ms_since(s, clock_realtime_us()), 3);
    proxy_log_end(s->p);
}

static void on_message(void *ctx, const struct relay_message *m)
{
    struct proxy_session *s = ctx;
    struct json_writer *w = &s->p->jw;

    s->p->messages++;
    if (s->series == NULL)
        s->series = metrics_series_get(&s->p->metrics, s->tenant, s->dest_label);
    metrics_message(&s->p->metrics, s->series, m->code, (double)(m->final_us - m->mail_us) / 1e6);
    if (!s->p->have_log)
        return;
    log_begin(s, "message");
    json_cstr(w, "client", s->client_text);
    json_cstr(w, "dst", s->dst_text);
    json_cstr(w, "mail_from", m->mail_from);
    json_array_begin(w, "rcpt");
    for (unsigned i = 0; i < m->nrcpt && i < RELAY_RCPTS_KEPT; i++) {
        json_object_begin(w, NULL);
        json_cstr(w, "addr", m->rcpt[i]);
        json_int(w, "code", m->rcpt_code[i]);
        json_object_end(w);
    }
    json_array_end(w);
    json_uint(w, "nrcpt", m->nrcpt);
    json_uint(w, "size", m->size);
    json_int(w, "code", m->code);
    json_cstr(w, "reply", m->reply);
    json_cstr(w, "queue_id", m->queue_id[0] ? m->queue_id : NULL);
    json_double(w, "ms_mail_to_final", (double)(m->final_us - m->mail_us) / 1000.0, 3);
    json_double(w, "ms_connect_to_354", m->data_us ? ms_since(s, m->data_us) : -1, 3);
    proxy_log_end(s->p);
}

static void on_tls_skipped(void *ctx, const char *why)
{
    struct proxy_session *s = ctx;

    if (!s->p->have_log)
        return;
    log_begin(s, "tls");
    json_bool(&s->p->jw, "tls", 0);
    json_cstr(&s->p->jw, "why", why);
    proxy_log_end(s->p);
}

static int64_t now_us(void *ctx)
{
    (void)ctx;
    return clock_realtime_us();
}

static const struct relay_ops relay_ops = {
    to_client, to_server, client_room, server_room, start_tls, finish,
    on_command, on_reply, on_message, on_tls_skipped, now_us,
    want_client_room, abort_server, on_bare, on_greeting,
};

/* ---- connections --------------------------------------------------------------------- */

/* fail - tell the client (if it can still hear) and end the session. */
static void fail(struct proxy_session *s, const char *reply, const char *reason)
{
    if (s->finishing)
        return;
    if (s->reason == NULL)
        s->reason = reason;
    if (!conn_is_closing(&s->client))
        conn_write(&s->client, reply, strlen(reply));
    s->relay.phase = RELAY_DONE;
    finish(s, reason);
    if (s->has_server)
        conn_abort(&s->server); /* never let a half-sent message complete */
}

/* session_timers - run the timer of whichever side owes the next move, stop the other. */
static void session_timers(struct proxy_session *s)
{
    struct proxy *p = s->p;
    double server_t = 0, client_t = 0;

    if (s->finishing || s->relay.phase == RELAY_DONE)
        return; /* finish() set the deadlines for the last words */
    if (!s->has_server || s->server_dropped)
        server_t = 0;
    else if (!s->connected)
        server_t = p->timeout_connect;
    else if (!s->server_blocked) {
        switch (relay_owed(&s->relay)) {
        case RELAY_OWED_FINAL: server_t = p->timeout_data; break;
        case RELAY_OWED_REPLY:
        case RELAY_OWED_TLS: server_t = p->timeout_reply; break;
        case RELAY_OWED_NONE: break;
        }
    }
    /* the client owes us when the MX owes nothing, or when our output waits for it */
    if ((server_t == 0 && s->connected) || conn_out_pending(&s->client) > 0 || s->server_blocked)
        client_t = p->timeout_idle;
    if (s->has_server)
        conn_keep_timeout(&s->server, server_t);
    conn_keep_timeout(&s->client, client_t);
}

/* rehold - the MX refused us at its greeting while others of ours to it were greeted: its
 * connection limit. The client, who heard nothing yet, is held again at the front of its
 * tenant's queue instead of hearing the refusal, so its MSA defers nothing. Returns 1
 * when the session ends here (the client's socket lives on in the held record). */
static int rehold(struct proxy_session *s)
{
    struct proxy *p = s->p;
    struct proxy_dest *d = s->dest;
    struct sockaddr_storage peer, dst;
    socklen_t plen = sizeof(peer), dlen;

    if (d == NULL || s->greeted || s->adm_done || d->adm.ready == 0 || d->adm.mode == ADM_MODE_NONE ||
        p->stopping || s->client.bytes_in || s->client.bytes_out || !conn_detachable(&s->client) ||
        getpeername(s->client.fd, (struct sockaddr *)&peer, &plen) != 0 ||
        proxy_original_dst(p, s->client.fd, &dst, &dlen) != 0)
        return 0;
    struct proxy_held *h = proxy_held_new(p, d, -1, &peer, &dst, dlen, s->start_us);
    if (h == NULL)
        return 0;
    h->w.since_us = s->start_us; /* it keeps its place: waiting since it arrived */
    adm_refused(&d->adm, s->tenant_id, &h->w, clock_realtime_us());
    s->adm_done = 1;
    proxy_rehold(p, h, conn_detach(&s->client));
    s->reason = "held again: the MX is at its connection limit";
    s->relay.phase = RELAY_DONE;
    conn_abort(&s->server);
    proxy_dest_log(p, d, "refused at the greeting");
    return 1;
}

/* is_rset - whether a command line is RSET. */
static int is_rset(const char *line, size_t len)
{
    return len >= 4 && strncasecmp(line, "RSET", 4) == 0 &&
           (len == 4 || line[4] == '\r' || line[4] == '\n' || line[4] == ' ');
}

/* hand_back - end a session between messages so that a held client gets its slot: 421
 * to the client (a client that pools connections, as Postfix does, opens a new one for
 * its next message instead of deferring it), QUIT to the MX. */
static void hand_back(struct proxy_session *s, const char *why)
{
    static const char bye[] = "421 4.7.0 proxy: connection handed to another sender, reconnect\r\n";

    adm_yielded(&s->dest->adm);
    conn_write(&s->client, bye, sizeof(bye) - 1);
    s->relay.phase = RELAY_DONE;
    s->finishing = 1;
    s->reason = why;
    conn_keep_timeout(&s->client, s->p->timeout_idle);
    conn_close(&s->client);
    /* the slot is free once the MX has taken the QUIT and closed: a limit it counts
     * by open connections then counts this one out before the next arrives */
    s->quitting = 1;
    conn_write(&s->server, "QUIT\r\n", 6);
    conn_keep_timeout(&s->server, s->p->timeout_reply);
}

/* between_messages - the client has the turn, nothing is owed or half-sent either way. */
static int between_messages(const struct proxy_session *s)
{
    return s->relay.phase == RELAY_COMMAND && !relay_in_message(&s->relay) &&
           !relay_awaiting_reply(&s->relay) && !s->finishing && conn_out_pending(&s->client) == 0;
}

void proxy_reclaim_idle(struct proxy *p, int64_t now_us)
{
    for (struct proxy_session *s = p->sessions; s; s = s->next)
        if (s->dest && s->dest->adm.held && s->greeted && !s->adm_done && s->relay.messages > 0 &&
            now_us - s->client_us >= PROXY_IDLE_RECLAIM_US && between_messages(s)) {
            p->reclaimed++;
            hand_back(s, "idle: handed to a held client");
        }
}

static int client_line(struct conn *c, const char *line, size_t len, unsigned flags)
{
    struct proxy_session *s = c->data;

    s->client_us = clock_realtime_us();
    if (s->dest && s->dest->adm.held && !(flags & CONN_LINE_CONT) && is_rset(line, len) &&
        between_messages(s) && adm_should_yield(&s->dest->adm, s->tenant_id)) {
        s->p->yields++;
        hand_back(s, "yielded to another tenant");
        return CONN_CONSUMED;
    }
    enum relay_verdict v = relay_client_line(&s->relay, line, len, flags);

    if (v == RELAY_WAIT_SERVER)
        conn_want_drain(&s->server); /* no room towards the MX: resume when it drains */
    else if (v == RELAY_WAIT_CLIENT)
        conn_want_drain(&s->client);
    session_timers(s);
    return v == RELAY_TAKEN ? CONN_CONSUMED : CONN_WAIT;
}

static int server_line(struct conn *c, const char *line, size_t len, unsigned flags)
{
    struct proxy_session *s = c->data;

    if (s->dest && !s->greeted && s->relay.phase == RELAY_GREETING && !(flags & CONN_LINE_CONT) && len > 0) {
        if (line[0] == '2') {
            s->greeted = 1;
            adm_greeted(&s->dest->adm, s->tenant_id);
        } else if (line[0] == '4' && rehold(s)) {
            return CONN_CONSUMED;
        }
    }

    if (relay_server_line(&s->relay, line, len, flags) != RELAY_TAKEN) {
        s->server_blocked = 1;
        conn_want_drain(&s->client);
        session_timers(s);
        return CONN_WAIT;
    }
    if (!relay_holding_client(&s->relay))
        conn_resume(&s->client);
    session_timers(s);
    return CONN_CONSUMED;
}

static void client_drain(struct conn *c)
{
    struct proxy_session *s = c->data;

    relay_client_drained(&s->relay);
    if (s->server_blocked) {
        s->server_blocked = 0;
        conn_resume(&s->server);
    }
    if (!relay_holding_client(&s->relay))
        conn_resume(&s->client);
    session_timers(s);
}

static void server_drain(struct conn *c)
{
    struct proxy_session *s = c->data;
    if (!relay_holding_client(&s->relay))
        conn_resume(&s->client);
}

static void client_eof(struct conn *c)
{
    struct proxy_session *s = c->data;

    if (s->relay.phase == RELAY_BODY || s->relay.phase == RELAY_DATA_WAIT) {
        /* gone mid-message: the MX must never see a final "." we did not get */
        s->reason = "client left during DATA";
        s->relay.phase = RELAY_DONE;
        if (s->has_server)
            conn_abort(&s->server);
        conn_close(&s->client);
        return;
    }
    if (!s->connected) {
        s->reason = "client left before the MX answered";
        if (s->has_server)
            conn_abort(&s->server);
        conn_close(&s->client);
        return;
    }
    if (s->reason == NULL)
        s->reason = "client closed";
    conn_shutdown_write(&s->server); /* half-close: replies still reach the client */
}

static void server_eof(struct conn *c)
{
    struct proxy_session *s = c->data;

    if (!s->finishing && s->relay.phase == RELAY_GREETING && s->connected && rehold(s))
        return; /* closed at the greeting: the same as its 421 */

    if (s->finishing || s->relay.phase == RELAY_DONE || s->relay.phase == RELAY_QUIT) {
        conn_close(&s->client);
        conn_close(&s->server);
        return;
    }
    fail(s, "421 4.4.2 proxy: the MX closed the connection\r\n", "MX closed");
}

static void client_timeout(struct conn *c)
{
    struct proxy_session *s = c->data;

    if (s->finishing) {
        conn_abort(c);
        return;
    }
    fail(s, "421 4.4.2 proxy: idle timeout\r\n", "client idle timeout");
}

static void server_timeout(struct conn *c)
{
    struct proxy_session *s = c->data;

    if (s->finishing)
        conn_abort(c);
    else if (!s->connected) {
        metrics_upstream_failure(&s->p->metrics, ETIMEDOUT);
        fail(s, "421 4.4.1 proxy: timeout connecting to the MX\r\n", "connect timeout");
    }
    else if (relay_owed(&s->relay) == RELAY_OWED_TLS)
        fail(s, "421 4.7.0 proxy: TLS handshake with the MX timed out\r\n", "tls handshake timeout");
    else if (relay_awaiting_reply(&s->relay))
        fail(s, "421 4.4.2 proxy: the MX did not answer in time\r\n", "MX reply timeout");
    else
        session_timers(s); /* nothing owed (cannot happen: the timer runs only when owed) */
}

static void server_connect(struct conn *c, int err)
{
    struct proxy_session *s = c->data;
    struct proxy *p = s->p;
    char reply[256];

    if (err) {
        p->upstream_failures++;
        metrics_upstream_failure(&p->metrics, err);
        snprintf(reply, sizeof(reply), "421 4.4.1 proxy: cannot connect to the MX %s: %s\r\n",
                 s->dst_text, strerror(err));
        fail(s, reply, "connect failed");
        return;
    }
    s->connected = 1;
    session_timers(s);
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    if (getsockname(c->fd, (struct sockaddr *)&local, &llen) == 0)
        addr_format((struct sockaddr *)&local, s->out_text, sizeof(s->out_text), 1);
    if (p->have_log) {
        log_begin(s, "open");
        json_cstr(&p->jw, "client", s->client_text);
        json_cstr(&p->jw, "dst", s->dst_text);
        json_cstr(&p->jw, "outbound", s->out_text);
        if (s->outbound_rule[0])
            json_cstr(&p->jw, "outbound_rule", s->outbound_rule);
        if (s->tenant[0])
            json_cstr(&p->jw, "tenant", s->tenant);
        if (p->nworkers > 1)
            json_int(&p->jw, "worker", p->worker);
        if (s->dest) {
            json_cstr(&p->jw, "dest", s->dest->key);
            json_cstr(&p->jw, "decision", s->decision);
            json_double(&p->jw, "held_ms", (double)s->held_us / 1000.0, 3);
        }
        json_double(&p->jw, "ms", ms_since(s, clock_realtime_us()), 3);
        proxy_log_end(p);
    }
}

static void server_tls(struct conn *c, int ok)
{
    struct proxy_session *s = c->data;
    struct proxy *p = s->p;
    int verified = ok && SSL_get_verify_result(c->ssl) == X509_V_OK;

    if (ok) {
        p->tls_sessions++;
        metrics_tls(&p->metrics, SSL_get_version(c->ssl));
    }
    if (p->have_log) {
        log_begin(s, "tls");
        json_bool(&p->jw, "tls", ok);
        if (ok) {
            json_cstr(&p->jw, "version", SSL_get_version(c->ssl));
            json_cstr(&p->jw, "cipher", SSL_get_cipher_name(c->ssl));
            json_bool(&p->jw, "verified", verified);
        } else {
            json_cstr(&p->jw, "why", c->tls_error ? c->tls_error : "handshake failed");
        }
        proxy_log_end(p);
    }
    if (!ok) { /* the conn closes itself; tell the client first */
        fail(s, "421 4.7.0 proxy: TLS handshake with the MX failed\r\n", "tls handshake failed");
        return;
    }
    relay_tls_done(&s->relay, ok, verified);
    session_timers(s);
}

static void session_closed(struct conn *c)
{
    struct proxy_session *s = c->data;
    struct proxy *p = s->p;

    if (c == &s->client && s->has_server && !conn_is_closing(&s->server) && !s->quitting) {
        /* the client is gone (FIN, RST, timeout): nobody is owed the MX's side any more */
        int clean = s->connected && s->relay.phase == RELAY_COMMAND &&
                    !relay_awaiting_reply(&s->relay) && !relay_in_message(&s->relay);
        if (s->reason == NULL)
            s->reason = c->close_reason == CONN_CLOSE_READ_ERROR ? "client reset" : "client gone";
        s->relay.phase = RELAY_DONE;
        if (clean && conn_write(&s->server, "QUIT\r\n", 6) == 0) {
            conn_keep_timeout(&s->server, p->timeout_reply);
            conn_close(&s->server);
        } else {
            conn_abort(&s->server); /* never let a half-sent message complete */
        }
    }
    if (c == &s->server && !conn_is_closing(&s->client) && !s->server_dropped &&
        !(!s->finishing && s->relay.phase == RELAY_GREETING && s->connected && rehold(s))) {
        /* the MX side is gone for good: the client must not wait for it */
        if (!s->finishing && s->relay.phase != RELAY_DONE) {
            const char *t = "421 4.4.2 proxy: the connection to the MX was lost\r\n";
            if (s->reason == NULL)
                s->reason = c->close_reason == CONN_CLOSE_CONNECT_ERROR ? "connect failed" : "MX lost";
            conn_write(&s->client, t, strlen(t));
        }
        conn_close(&s->client);
    }
    if (--s->open_conns > 0)
        return;
    p->bytes_c2s += s->client.bytes_in;
    p->bytes_s2c += s->client.bytes_out;
    if (p->have_log) {
        log_begin(s, "close");
        json_cstr(&p->jw, "client", s->client_text);
        json_cstr(&p->jw, "dst", s->dst_text);
        json_uint(&p->jw, "bytes_c2s", s->client.bytes_in);
        json_uint(&p->jw, "bytes_s2c", s->client.bytes_out);
        json_uint(&p->jw, "messages", s->relay.messages);
        json_double(&p->jw, "duration_ms", ms_since(s, clock_realtime_us()), 3);
        json_cstr(&p->jw, "reason", s->reason ? s->reason : "closed");
        proxy_log_end(p);
    }
    struct proxy_dest *dest = s->adm_done ? NULL : s->dest;
    uint64_t tenant = s->tenant_id;
    int greeted = s->greeted;
    if (s->prev)
        s->prev->next = s->next;
    else
        p->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    p->nsessions--;
    free(s);
    memtrim_sessions(p->nsessions);
    if (dest)
        proxy_dest_done(p, dest, tenant, greeted); /* may admit a held client */
    if (p->stopping && p->nsessions == 0)
        ev_break(p->loop, EVBREAK_ALL);
}

static const struct conn_ops client_ops = {
    .on_line = client_line, .on_eof = client_eof, .on_drain = client_drain,
    .on_timeout = client_timeout, .on_closed = session_closed,
};

static const struct conn_ops server_ops = {
    .on_line = server_line, .on_eof = server_eof, .on_drain = server_drain,
    .on_timeout = server_timeout, .on_connect = server_connect, .on_tls = server_tls,
    .on_closed = session_closed,
};

void proxy_refuse(int fd, const char *reply)
{
    ssize_t n = send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    close(fd);
}

void proxy_accept(void *ctx, int fd, const struct sockaddr_storage *peer, int index)
{
    struct proxy *p = ctx;
    struct sockaddr_storage dst;
    socklen_t dlen;

    (void)index;
    if (p->stopping) {
        proxy_refuse(fd, "421 4.3.2 proxy: shutting down\r\n");
        return;
    }
    if (proxy_original_dst(p, fd, &dst, &dlen) != 0) {
        p->no_destination++;
        proxy_refuse(fd, "421 4.3.0 proxy: no original destination for this connection\r\n");
        return;
    }
    if (listener_is_own(&p->listeners, (struct sockaddr *)&dst)) {
        p->no_destination++;
        proxy_refuse(fd, "421 4.3.0 proxy: the destination is the proxy itself\r\n");
        return;
    }
    proxy_accept_from(p, fd, peer, &dst, dlen, clock_realtime_us());
}

void proxy_accept_from(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                       const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us)
{
    if (p->stopping) {
        proxy_refuse(fd, "421 4.3.2 proxy: shutting down\r\n");
        return;
    }
    if (p->max_sessions && p->nsessions + p->nheld >= p->max_sessions) {
        p->refused++;
        proxy_refuse(fd, "421 4.7.0 proxy: too many sessions, try again later\r\n");
        return;
    }
    if (p->admission || p->policy) {
        proxy_admission(p, fd, peer, dst, dlen, start_us);
        return;
    }
    static const struct proxy_admit direct = {NULL, 0, 0, "direct"};
    proxy_session_start(p, fd, peer, dst, dlen, start_us, &direct);
}

void proxy_session_start(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                         const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us,
                         const struct proxy_admit *a)
{
    /* --outbound-ip serves destinations of its own family */
    const struct sockaddr *out = p->have_outbound && p->outbound.ss_family == dst->ss_family
                                     ? (const struct sockaddr *)&p->outbound : NULL;
    socklen_t out_len = p->outbound_len;
    enum relay_tls_mode tls = p->tls_mode;
    struct policy_match m;

    struct proxy_session *s = malloc(sizeof(*s));
    if (s == NULL) {
        if (a->dest) /* the slot is free again; the record is looked at by the next event */
            adm_release(&a->dest->adm, a->tenant_id, 0);
        proxy_refuse(fd, "421 4.3.0 proxy: out of memory\r\n");
        return;
    }
    memset(s, 0, offsetof(struct proxy_session, client));
    s->p = p;
    s->id = p->id_base + ++p->sessions_total;
    s->start_us = start_us;
    s->open_conns = 2;
    s->dest = a->dest;
    s->tenant_id = a->tenant_id;
    s->held_us = a->held_us;
    s->client_us = start_us;
    s->decision = a->decision;
    addr_format((const struct sockaddr *)peer, s->client_text, sizeof(s->client_text), 1);
    addr_format((const struct sockaddr *)dst, s->dst_text, sizeof(s->dst_text), 1);
    snprintf(s->dest_label, sizeof(s->dest_label), "%s", a->dest ? a->dest->key : s->dst_text);
    if (p->policy) {
        policy_lookup(p->policy, (const struct sockaddr *)peer, (const struct sockaddr *)dst, &m);
        snprintf(s->tenant, sizeof(s->tenant), "%s", m.tenant_name);
        if (m.dest && a->dest == NULL)
            snprintf(s->dest_label, sizeof(s->dest_label), "[%s]", m.dest->name);
        if (m.outbound) {
            out = (const struct sockaddr *)m.outbound;
            out_len = m.outbound_len;
            snprintf(s->outbound_rule, sizeof(s->outbound_rule), "%s", m.outbound_rule);
        }
        if (m.have_tls)
            tls = m.tls;
    } else {
        addr_format((const struct sockaddr *)peer, s->tenant, sizeof(s->tenant), 0);
    }
    relay_init(&s->relay, &relay_ops, s, tls);
    relay_set_bare_mode(&s->relay, p->bare_mode);
    conn_init(&s->client, p->loop, fd, &client_ops, s);
    conn_set_line_limit(&s->client, RELAY_CHUNK_MAX);
    s->prev = NULL;
    s->next = p->sessions;
    if (p->sessions)
        p->sessions->prev = s;
    p->sessions = s;
    p->nsessions++;
    memtrim_sessions(p->nsessions);
    if (conn_connect(&s->server, p->loop, (const struct sockaddr *)dst, dlen, out, out_len, &server_ops, s) != 0) {
        char reply[256];
        p->upstream_failures++;
        metrics_upstream_failure(&p->metrics, errno);
        snprintf(reply, sizeof(reply), "421 4.4.1 proxy: cannot connect to the MX %s: %s\r\n",
                 s->dst_text, strerror(errno));
        /* no server conn exists: close the client only */
        s->open_conns = 1;
        s->reason = "connect failed";
        s->relay.phase = RELAY_DONE;
        conn_write(&s->client, reply, strlen(reply));
        conn_set_timeout(&s->client, p->timeout_idle);
        conn_close(&s->client);
        return;
    }
    s->has_server = 1;
    session_timers(s);
}

static void stop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *p = w->data;

    (void)loop;
    (void)revents;
    for (struct proxy_session *s = p->sessions; s; s = s->next)
        fail(s, "421 4.3.2 proxy: shutting down\r\n", "shutdown");
}

void proxy_stop(struct proxy *p)
{
    if (p->stopping)
        return;
    p->stopping = 1;
    listener_stop(&p->listeners);
    worker_detach(p);
    if (p->have_metrics)
        listener_stop(&p->metrics_listener);
    proxy_hold_stop(p);
    /* sessions between messages end now; the others get until the grace deadline */
    for (struct proxy_session *s = p->sessions; s; s = s->next)
        if (s->relay.phase == RELAY_COMMAND && !relay_awaiting_reply(&s->relay) &&
            !relay_in_message(&s->relay))
            fail(s, "421 4.3.2 proxy: shutting down\r\n", "shutdown");
    ev_timer_init(&p->stop_timer, stop_timer_cb, p->grace, 0);
    p->stop_timer.data = p;
    ev_timer_start(p->loop, &p->stop_timer);
    if (p->nsessions == 0)
        ev_break(p->loop, EVBREAK_ALL);
}

void proxy_log_counters(struct proxy *p)
{
    struct json_writer *w = &p->jw;

    fprintf(stderr,
            "proxy: sessions=%u total=%llu messages=%llu refused=%llu no_destination=%llu "
            "upstream_failures=%llu tls=%llu bytes_c2s=%llu bytes_s2c=%llu held=%u held_total=%llu "
            "hold_expired=%llu held_gone=%llu rehelds=%llu yields=%llu reclaimed=%llu\n",
            p->nsessions, (unsigned long long)p->sessions_total, (unsigned long long)p->messages,
            (unsigned long long)p->refused, (unsigned long long)p->no_destination,
            (unsigned long long)p->upstream_failures, (unsigned long long)p->tls_sessions,
            (unsigned long long)p->bytes_c2s, (unsigned long long)p->bytes_s2c, p->nheld,
            (unsigned long long)p->held_total, (unsigned long long)p->hold_expired,
            (unsigned long long)p->held_gone, (unsigned long long)p->rehelds, (unsigned long long)p->yields,
            (unsigned long long)p->reclaimed);
    if (p->nworkers > 1)
        fprintf(stderr, "proxy: worker=%d pid=%d handed_out=%llu handed_in=%llu handoff_failed=%llu\n", p->worker,
                (int)getpid(), (unsigned long long)p->handed_out, (unsigned long long)p->handed_in,
                (unsigned long long)p->handoff_failed);
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (const struct proxy_dest *d = p->dests[i]; d; d = d->next)
            fprintf(stderr, "proxy: dest %s mode=%s limit=%s%u open=%u held=%u admitted=%llu refusals=%llu "
                    "probes=%llu yields=%llu expired=%llu\n", d->key,
                    d->adm.mode == ADM_MODE_AUTO ? "auto" : "fixed",
                    d->adm.limit == ADM_UNLIMITED ? "unlimited" : "", d->adm.limit == ADM_UNLIMITED ? 0 : d->adm.limit,
                    d->adm.open, d->adm.held, (unsigned long long)d->adm.admitted,
                    (unsigned long long)d->adm.refusals, (unsigned long long)d->adm.probes,
                    (unsigned long long)d->adm.yields, (unsigned long long)d->expired);
    if (!p->have_log)
        return;
    json_begin(w);
    json_int(w, "t_us", clock_realtime_us());
    json_cstr(w, "event", "counters");
    json_uint(w, "sessions", p->nsessions);
    json_uint(w, "sessions_total", p->sessions_total);
    json_uint(w, "messages", p->messages);
    json_uint(w, "refused", p->refused);
    json_uint(w, "no_destination", p->no_destination);
    json_uint(w, "upstream_failures", p->upstream_failures);
    json_uint(w, "tls", p->tls_sessions);
    json_uint(w, "held", p->nheld);
    json_uint(w, "held_total", p->held_total);
    json_uint(w, "hold_expired", p->hold_expired);
    json_uint(w, "held_gone", p->held_gone);
    json_uint(w, "rehelds", p->rehelds);
    json_uint(w, "yields", p->yields);
    json_uint(w, "reclaimed", p->reclaimed);
    if (p->nworkers > 1) {
        json_int(w, "worker", p->worker);
        json_uint(w, "handed_out", p->handed_out);
        json_uint(w, "handed_in", p->handed_in);
        json_uint(w, "handoff_failed", p->handoff_failed);
    }
    proxy_log_end(p);
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (const struct proxy_dest *d = p->dests[i]; d; d = d->next) {
            proxy_log_begin(p, "destination", 0);
            json_cstr(w, "dest", d->key);
            json_cstr(w, "mode", d->adm.mode == ADM_MODE_AUTO ? "auto" : "fixed");
            if (d->adm.limit != ADM_UNLIMITED)
                json_uint(w, "limit", d->adm.limit);
            json_uint(w, "open", d->adm.open);
            json_uint(w, "held", d->adm.held);
            json_uint(w, "admitted", d->adm.admitted);
            json_uint(w, "held_total", d->adm.held_total);
            json_uint(w, "refusals", d->adm.refusals);
            json_uint(w, "probes", d->adm.probes);
            json_uint(w, "yields", d->adm.yields);
            json_uint(w, "expired", d->expired);
            proxy_log_end(p);
        }
}
