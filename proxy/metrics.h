/* metrics - the proxy's counters for Prometheus and its read-only HTTP endpoint
 * (--metrics ADDR:PORT, GET /metrics), served by the proxy's own event loop. */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "addr.h"

#define METRICS_BUCKETS 14          /* relay latency histogram, +Inf apart */
#define METRICS_SERIES_BUCKETS 256
#define METRICS_SERIES_MAX 4096     /* (tenant, destination) pairs; then one "other" */
#define METRICS_TLS_VERSIONS 8

extern const double METRICS_LATENCY_BUCKETS[METRICS_BUCKETS];

enum metrics_fail { METRICS_FAIL_REFUSED = 0, METRICS_FAIL_TIMEOUT, METRICS_FAIL_UNREACHABLE,
                    METRICS_FAIL_OTHER, METRICS_FAIL_N };

struct metrics_series {
    struct metrics_series *next;
    uint64_t by_class[3]; /* 2xx, 4xx, 5xx */
    char tenant[ADM_NAME_MAX];
    char dest[ADDR_TEXT_MAX + ADM_NAME_MAX];
};

struct metrics {
    struct metrics_series *series[METRICS_SERIES_BUCKETS];
    unsigned nseries;
    uint64_t upstream_failures[METRICS_FAIL_N];
    struct {
        char version[16];
        uint64_t count;
    } tls[METRICS_TLS_VERSIONS];
    uint64_t latency_buckets[METRICS_BUCKETS + 1];
    double latency_sum;
    uint64_t latency_count;
};

struct proxy;

/* metrics_series_get - the counters of (tenant, destination), made on first use (a
 * session looks its series up once); past METRICS_SERIES_MAX one shared "other" series
 * keeps the labels' cardinality bounded. NULL without memory. */
struct metrics_series *metrics_series_get(struct metrics *m, const char *tenant, const char *dest);

/* metrics_message - a message's final reply code, in series s (may be NULL), after latency_s. */
void metrics_message(struct metrics *m, struct metrics_series *s, int code, double latency_s);

/* metrics_upstream_failure - a connection to an MX failed with errno err. */
void metrics_upstream_failure(struct metrics *m, int err);

/* metrics_tls - a STARTTLS session with an MX came up with this protocol version. */
void metrics_tls(struct metrics *m, const char *version);

/* metrics_render - the exposition of p's counters in a new buffer (*out, *len) the caller
 * frees; returns 0, or -1 without memory. */
int metrics_render(const struct proxy *p, char **out, size_t *len);

/* One GET /metrics waiting for its body. */
struct metrics_scrape;
struct ev_loop;

/* Where an endpoint's bodies come from: collect answers s (metrics_answer) at once or
 * later; cancel says s went away unanswered (and must not be answered). */
struct metrics_source {
    void (*collect)(void *ctx, struct metrics_scrape *s);
    void (*cancel)(void *ctx, struct metrics_scrape *s);
    void *ctx;
    struct ev_loop *loop;   /* set by metrics_listen */
};

struct listener_set;

/* metrics_listen - serve GET /metrics on addr ("IP:PORT") from src, on ls and loop;
 * returns 0, or -1 with a reason in err. */
int metrics_listen(struct listener_set *ls, struct ev_loop *loop, const char *addr,
                   struct metrics_source *src, char *err, size_t errlen);

/* metrics_listen_proxy - serve p's own counters (one process) on addr. */
int metrics_listen_proxy(struct proxy *p, const char *addr, char *err, size_t errlen);

/* metrics_answer - the body of s (taken over and freed), or NULL for a 500. */
void metrics_answer(struct metrics_scrape *s, char *body, size_t len);

/* metrics_free - free the series. */
void metrics_free(struct metrics *m);

#endif
