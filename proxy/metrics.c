/* metrics - the proxy's counters for Prometheus: a read-only HTTP endpoint (GET /metrics,
 * text exposition format 0.0.4) served by the proxy's own event loop, and the counters
 * only it needs (messages by reply class per tenant and destination, upstream failures
 * by reason, TLS sessions by version, the relay latency histogram). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "metrics.h"
#include "proxy.h"

#define HTTP_LINE_MAX 2048
#define HTTP_LINES_MAX 64         /* request line and headers */
#define HTTP_TIMEOUT 10.0         /* seconds for a whole request and its answer */

const double METRICS_LATENCY_BUCKETS[METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                         1, 2.5, 5, 10, 30, 60, 300};

/* ---- counting ----------------------------------------------------------------------- */

struct metrics_series *metrics_series_get(struct metrics *m, const char *tenant, const char *dest)
{
    uint32_t h = hash_str(tenant) * 31 + hash_str(dest);
    unsigned b = h % METRICS_SERIES_BUCKETS;

    for (struct metrics_series *s = m->series[b]; s; s = s->next)
        if (strcmp(s->tenant, tenant) == 0 && strcmp(s->dest, dest) == 0)
            return s;
    if (m->nseries >= METRICS_SERIES_MAX) {
        if (strcmp(tenant, "other") != 0 || strcmp(dest, "other") != 0)
            return metrics_series_get(m, "other", "other");
    }
    struct metrics_series *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
    snprintf(s->dest, sizeof(s->dest), "%s", dest);
    s->next = m->series[b];
    m->series[b] = s;
    m->nseries++;
    return s;
}

void metrics_message(struct metrics *m, struct metrics_series *s, int code, double latency_s)
{
    int cls = code / 100;

    if (cls < 2 || cls > 5 || cls == 3)
        return; /* no final reply: the session ended first */
    if (s)
        s->by_class[cls == 2 ? 0 : cls == 4 ? 1 : 2]++;
    int i = 0;
    while (i < METRICS_BUCKETS && latency_s > METRICS_LATENCY_BUCKETS[i])
        i++;
    m->latency_buckets[i]++; /* i == METRICS_BUCKETS: +Inf only */
    m->latency_sum += latency_s;
    m->latency_count++;
}

void metrics_upstream_failure(struct metrics *m, int err)
{
    enum metrics_fail r = METRICS_FAIL_OTHER;

    if (err == ECONNREFUSED)
        r = METRICS_FAIL_REFUSED;
    else if (err == ETIMEDOUT)
        r = METRICS_FAIL_TIMEOUT;
    else if (err == ENETUNREACH || err == EHOSTUNREACH)
        r = METRICS_FAIL_UNREACHABLE;
    m->upstream_failures[r]++;
}

void metrics_tls(struct metrics *m, const char *version)
{
    for (unsigned i = 0; i < METRICS_TLS_VERSIONS; i++) {
        if (m->tls[i].version[0] == 0)
            snprintf(m->tls[i].version, sizeof(m->tls[i].version), "%s", version);
        if (strcmp(m->tls[i].version, version) == 0) {
            m->tls[i].count++;
            return;
        }
    }
}

void metrics_free(struct metrics *m)
{
    for (unsigned b = 0; b < METRICS_SERIES_BUCKETS; b++)
        while (m->series[b]) {
            struct metrics_series *s = m->series[b];
            m->series[b] = s->next;
            free(s);
        }
    m->nseries = 0;
}

/* ---- the exposition ----------------------------------------------------------------- */

struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

/* label - v as a label value: backslash, quote and newline escaped, into out. */
static const char *label(const char *v, char *out, size_t size)
{
    size_t k = 0;

    for (; *v && k + 3 < size; v++) {
        if (*v == '\\' || *v == '"') {
            out[k++] = '\\';
            out[k++] = *v;
        } else if (*v == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *v;
        }
    }
    out[k] = 0;
    return out;
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(struct text *t, const char *name, const char *type, const char *help, uint64_t v)
{
    family(t, name, type, help);
    put(t, "%s %llu\n", name, (unsigned long long)v);
}

int metrics_render(const struct proxy *p, char **out, size_t *len)
{
    const struct metrics *m = &p->metrics;
    struct text t = {malloc(16384), 0, 16384, 0};
    char a[256], b[256];
    static const char *const fails[METRICS_FAIL_N] = {"refused", "timeout", "unreachable", "other"};
    static const char *const classes[3] = {"2xx", "4xx", "5xx"};

    if (t.buf == NULL)
        return -1;
    scalar(&t, "smtp_proxy_sessions_open", "gauge", "Sessions being relayed now.", p->nsessions);
    scalar(&t, "smtp_proxy_sessions_total", "counter", "Sessions relayed since the start.", p->sessions_total);
    family(&t, "smtp_proxy_sessions_refused_total", "counter", "Connections answered 421 at once, by reason.");
    put(&t, "smtp_proxy_sessions_refused_total{reason=\"too_many_sessions\"} %llu\n",
        (unsigned long long)p->refused);
    put(&t, "smtp_proxy_sessions_refused_total{reason=\"no_destination\"} %llu\n",
        (unsigned long long)p->no_destination);
    scalar(&t, "smtp_proxy_held_clients", "gauge", "Clients held before the greeting now.", p->nheld);
    scalar(&t, "smtp_proxy_held_total", "counter", "Clients held before the greeting since the start.",
           p->held_total);
    scalar(&t, "smtp_proxy_hold_expired_total", "counter", "Held clients answered 421 after --hold-max.",
           p->hold_expired);
    scalar(&t, "smtp_proxy_held_again_total", "counter",
           "Clients held again after the MX refused their connection at its greeting.", p->rehelds);
    scalar(&t, "smtp_proxy_handed_back_total", "counter",
           "Connections handed to held clients between messages (yielded at RSET or idle).",
           p->yields + p->reclaimed);
    family(&t, "smtp_proxy_messages_total", "counter", "Messages by final reply class, tenant and destination.");
    for (unsigned i = 0; i < METRICS_SERIES_BUCKETS; i++)
        for (const struct metrics_series *s = m->series[i]; s; s = s->next)
            for (int c = 0; c < 3; c++)
                put(&t, "smtp_proxy_messages_total{tenant=\"%s\",destination=\"%s\",class=\"%s\"} %llu\n",
                    label(s->tenant, a, sizeof(a)), label(s->dest, b, sizeof(b)), classes[c],
                    (unsigned long long)s->by_class[c]);
    family(&t, "smtp_proxy_destination_open", "gauge", "Connections open to a destination with a budget.");
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (const struct proxy_dest *d = p->dests[i]; d; d = d->next)
            put(&t, "smtp_proxy_destination_open{destination=\"%s\"} %u\n", label(d->key, a, sizeof(a)), d->adm.open);
    family(&t, "smtp_proxy_destination_held", "gauge", "Clients held for a destination now.");
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (const struct proxy_dest *d = p->dests[i]; d; d = d->next)
            put(&t, "smtp_proxy_destination_held{destination=\"%s\"} %u\n", label(d->key, a, sizeof(a)), d->adm.held);
    family(&t, "smtp_proxy_destination_limit", "gauge",
           "A destination's connection budget now (fixed, or learned; absent while auto has learned none).");
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (const struct proxy_dest *d = p->dests[i]; d; d = d->next)
            if (d->adm.limit != ADM_UNLIMITED)
                put(&t, "smtp_proxy_destination_limit{destination=\"%s\"} %u\n", label(d->key, a, sizeof(a)),
                    d->adm.limit);
    family(&t, "smtp_proxy_upstream_failures_total", "counter", "Connections to an MX that failed, by reason.");
    for (int r = 0; r < METRICS_FAIL_N; r++)
        put(&t, "smtp_proxy_upstream_failures_total{reason=\"%s\"} %llu\n", fails[r],
            (unsigned long long)m->upstream_failures[r]);
    family(&t, "smtp_proxy_tls_sessions_total", "counter", "STARTTLS sessions with an MX, by protocol version.");
    for (unsigned i = 0; i < METRICS_TLS_VERSIONS && m->tls[i].version[0]; i++)
        put(&t, "smtp_proxy_tls_sessions_total{version=\"%s\"} %llu\n", label(m->tls[i].version, a, sizeof(a)),
            (unsigned long long)m->tls[i].count);
    family(&t, "smtp_proxy_relay_latency_seconds", "histogram",
           "Seconds from a message's MAIL FROM to the MX's final reply.");
    uint64_t cum = 0;
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        cum += m->latency_buckets[i];
        put(&t, "smtp_proxy_relay_latency_seconds_bucket{le=\"%g\"} %llu\n", METRICS_LATENCY_BUCKETS[i],
            (unsigned long long)cum);
    }
    put(&t, "smtp_proxy_relay_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)m->latency_count);
    put(&t, "smtp_proxy_relay_latency_seconds_sum %.6f\n", m->latency_sum);
    put(&t, "smtp_proxy_relay_latency_seconds_count %llu\n", (unsigned long long)m->latency_count);
    family(&t, "smtp_proxy_policy_reloads_total", "counter", "SIGHUP reloads of --policy, by result.");
    put(&t, "smtp_proxy_policy_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)p->reloads);
    put(&t, "smtp_proxy_policy_reloads_total{result=\"error\"} %llu\n", (unsigned long long)p->reload_errors);
    if (t.failed) {
        free(t.buf);
        return -1;
    }
    *out = t.buf;
    *len = t.len;
    return 0;
}

/* ---- HTTP --------------------------------------------------------------------------- */

struct metrics_scrape {
    struct conn c;
    struct metrics_source *src;
    unsigned lines;
    int answered, head, waiting;
    char request[HTTP_LINE_MAX];
    char *body;        /* what is left to send after the head */
    size_t len, off;
};

/* send_more - queue as much of the body as fits; close once it is all queued. */
static void send_more(struct metrics_scrape *h)
{
    while (h->off < h->len) {
        size_t room = conn_out_room(&h->c), n = h->len - h->off;
        if (room == 0) {
            conn_want_drain(&h->c);
            return;
        }
        if (n > room)
            n = room;
        if (conn_write(&h->c, h->body + h->off, n) != 0)
            return;
        h->off += n;
    }
    conn_close(&h->c);
}

static void answer(struct metrics_scrape *h, const char *status, const char *type, char *body, size_t len)
{
    h->answered = 1;
    conn_pause(&h->c);
    conn_printf(&h->c, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                status, type, len);
    h->body = body;
    h->len = len;
    h->off = 0;
    send_more(h);
}

/* respond - the request line decides: GET (or HEAD) /metrics, else 404 or 405. */
static void respond(struct metrics_scrape *h)
{
    char method[16], path[256];
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char not_allowed[] = "only GET\n";

    if (sscanf(h->request, "%15s %255s HTTP/1.%*c", method, path) != 2) {
        answer(h, "400 Bad Request", "text/plain", NULL, 0);
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        answer(h, "405 Method Not Allowed", "text/plain", strdup(not_allowed), sizeof(not_allowed) - 1);
        return;
    }
    if (strcmp(path, "/metrics") != 0) {
        answer(h, "404 Not Found", "text/plain", strdup(not_found), sizeof(not_found) - 1);
        return;
    }
    h->head = strcmp(method, "HEAD") == 0;
    h->waiting = 1;
    h->answered = 1; /* lines after the request are not read */
    conn_pause(&h->c);
    h->src->collect(h->src->ctx, h);
}

void metrics_answer(struct metrics_scrape *h, char *body, size_t len)
{
    h->waiting = 0;
    if (body == NULL) {
        answer(h, "500 Internal Server Error", "text/plain", NULL, 0);
        return;
    }
    if (h->head) {
        conn_printf(&h->c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
        free(body);
        conn_close(&h->c);
        return;
    }
    answer(h, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* render_own - the source of one process: its own counters, at once. */
static void render_own(void *ctx, struct metrics_scrape *s)
{
    char *body = NULL;
    size_t len = 0;

    if (metrics_render(ctx, &body, &len) != 0)
        body = NULL;
    metrics_answer(s, body, len);
}

static int http_line(struct conn *c, const char *line, size_t len, unsigned flags)
{
    struct metrics_scrape *h = c->data;

    if (h->answered)
        return CONN_CONSUMED;
    if ((flags & CONN_LINE_PARTIAL) || ++h->lines > HTTP_LINES_MAX) {
        answer(h, "431 Request Header Fields Too Large", "text/plain", NULL, 0);
        return CONN_CONSUMED;
    }
    if (h->lines == 1) {
        size_t n = len < sizeof(h->request) - 1 ? len : sizeof(h->request) - 1;
        memcpy(h->request, line, n);
        h->request[n] = 0;
        return CONN_CONSUMED;
    }
    if (len <= 2 && (line[0] == '\r' || line[0] == '\n'))
        respond(h); /* the empty line: the request is whole */
    return CONN_CONSUMED;
}

static void http_drain(struct conn *c)
{
    send_more(c->data);
}

static void http_eof(struct conn *c)
{
    struct metrics_scrape *h = c->data;

    if (!h->answered)
        conn_close(c);
}

static void http_timeout(struct conn *c)
{
    conn_abort(c);
}

static void http_closed(struct conn *c)
{
    struct metrics_scrape *h = c->data;

    if (h->waiting && h->src->cancel)
        h->src->cancel(h->src->ctx, h);
    free(h->body);
    free(h);
}

static const struct conn_ops http_ops = {
    .on_line = http_line, .on_eof = http_eof, .on_drain = http_drain,
    .on_timeout = http_timeout, .on_closed = http_closed,
};

/* accept_cb - one scrape: a small conn of its own, never touching the sessions. */
static void accept_cb(void *ctx, int fd, const struct sockaddr_storage *peer, int index)
{
    struct metrics_source *src = ctx;
    struct metrics_scrape *h = calloc(1, sizeof(*h));

    (void)peer;
    (void)index;
    if (h == NULL) {
        close(fd);
        return;
    }
    h->src = src;
    conn_init(&h->c, src->loop, fd, &http_ops, h);
    conn_set_line_limit(&h->c, HTTP_LINE_MAX);
    conn_set_timeout(&h->c, HTTP_TIMEOUT);
}

int metrics_listen(struct listener_set *ls, struct ev_loop *loop, const char *addr,
                   struct metrics_source *src, char *err, size_t errlen)
{
    src->loop = loop;
    listener_init(ls, loop, "metrics", accept_cb, src);
    return listener_add(ls, addr, 0, err, errlen);
}

int metrics_listen_proxy(struct proxy *p, const char *addr, char *err, size_t errlen)
{
    p->metrics_source = (struct metrics_source){render_own, NULL, p, NULL};
    return metrics_listen(&p->metrics_listener, p->loop, addr, &p->metrics_source, err, errlen);
}
