/* collect_submit - what the mua submitted (its CSV log), matched against what arrived:
 * censored latency statistics over every submitted message, and the run's accounting
 * (submitted = delivered + queued + bounced + lost; duplicates counted apart). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "hash.h"
#include "line.h"
#include "stats.h"

static uint32_t key_hash(uint32_t run, uint32_t tenant, uint32_t round, uint32_t seq)
{
    uint32_t v[4] = {run, tenant, round, seq};

    return hash_bytes(v, sizeof(v));
}

/* csv_fields - split a CSV line (quotes allowed) into at most max fields, in place. */
static int csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;

    while (n < max) {
        if (*p == '"') {
            char *o = ++p;
            f[n++] = o;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *o++ = *p++;
            }
            if (*p == '"')
                p++;
            *o = 0;
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
        }
        if (*p != ',')
            break;
        *p++ = 0;
    }
    return n;
}

int collect_read_mua_log(struct collect *c, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;

    if (f == NULL) {
        fprintf(stderr, "collect: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        char *fl[11];
        lineno++;
        line[line_strip_eol(line, (size_t)len)] = 0;
        if (lineno == 1 && strncmp(line, "run,", 4) == 0)
            continue;
        if (csv_fields(line, fl, 11) < 9) {
            fprintf(stderr, "collect: %s:%u: not a mua log line\n", path, lineno);
            continue;
        }
        c->subs = collect_grow(c->subs, &c->subs_cap, c->nsubs + 1, sizeof(*c->subs));
        struct collect_submission *s = &c->subs[c->nsubs++];
        s->run = collect_intern(c, fl[0]);
        s->tenant = collect_intern(c, fl[1]);
        s->round = (uint32_t)strtoul(fl[3], NULL, 10);
        s->seq = (uint32_t)strtoul(fl[4], NULL, 10);
        s->start_us = strtoll(fl[6], NULL, 10);
        s->ok = atoi(fl[8]) / 100 == 2;
        s->delivered = 0;
        s->e2e = NAN;
    }
    free(line);
    fclose(f);
    return 0;
}

/* lookup - the submission with this stamp, or NULL. */
static struct collect_submission *lookup(struct collect *c, uint32_t run, uint32_t tenant,
                                         uint32_t round, uint32_t seq)
{
    size_t size = c->sub_index_size;

    if (size == 0)
        return NULL;
    for (size_t k = key_hash(run, tenant, round, seq) & (size - 1);; k = (k + 1) & (size - 1)) {
        if (c->sub_index[k] == 0)
            return NULL;
        struct collect_submission *s = &c->subs[c->sub_index[k] - 1];
        if (s->run == run && s->tenant == tenant && s->round == round && s->seq == seq)
            return s;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int collect_match_submissions(struct collect *c)
{
    size_t size = 1;

    while (size < c->nsubs * 2 + 2)
        size <<= 1;
    free(c->sub_index);
    c->sub_index = collect_alloc(size * sizeof(uint32_t));
    c->sub_index_size = size;
    for (size_t i = 0; i < c->nsubs; i++) {
        struct collect_submission *s = &c->subs[i];
        size_t k = key_hash(s->run, s->tenant, s->round, s->seq) & (size - 1);
        while (c->sub_index[k])
            k = (k + 1) & (size - 1);
        c->sub_index[k] = (uint32_t)i + 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        struct collect_msg *m = &c->msgs[i];
        if (!m->in.has_stamp || m->round < 0)
            continue;
        struct collect_submission *s = lookup(c, m->run, m->tenant, (uint32_t)m->round, (uint32_t)m->seq);
        if (s == NULL)
            continue;
        if (s->delivered++ == 0)
            s->e2e = (double)(m->in.arrival_us - s->start_us) / 1e6;
    }
    return 0;
}

size_t collect_submissions(const struct collect *c)
{
    return c->nsubs;
}

/* (declared in collect.h) collect_censored - per tenant (group g, or all when g is UINT32_MAX): submitted (250s),
 * delivered, within `within` seconds, and nearest-rank percentiles over every submitted
 * message, undelivered ones counting as longer than any delivered (censored). */
void collect_censored(const struct collect *c, uint32_t g, double within, struct censored *out)
{
    size_t n = 0, k = 0;
    double *v = NULL;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < c->nsubs; i++)
        if (c->subs[i].ok && (g == UINT32_MAX || c->subs[i].tenant == g))
            n++;
    out->submitted = n;
    if (n == 0)
        return;
    v = collect_alloc(n * sizeof(double));
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct collect_submission *s = &c->subs[i];
        if (!s->ok || (g != UINT32_MAX && s->tenant != g))
            continue;
        if (s->delivered) {
            out->delivered++;
            if (s->delivered > 1)
                out->duplicates += (size_t)s->delivered - 1;
            if (s->e2e <= within)
                out->within++;
        }
        v[k++] = s->delivered ? s->e2e : INFINITY;
    }
    qsort(v, k, sizeof(double), cmp_double);
    static const double ps[4] = {50, 90, 99, 100};
    for (int i = 0; i < 4; i++)
        out->pct[i] = stats_percentile(v, k, ps[i]); /* undelivered (INFINITY) sort last */
    free(v);
}

