/* metrics_merge - sums the workers' Prometheus expositions into one, a pure function
 * over buffers: the parent of --workers N serves the result at /metrics. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "metrics_merge.h"

/* A line of an input: a family header, or a sample. */
struct piece {
    const char *key;    /* family name, or the sample's NAME{LABELS} */
    size_t klen;
    unsigned family;    /* index in the family table */
    unsigned first;     /* for a sample: the index of its first occurrence */
    int is_int;
    uint64_t u;
    double d;
};

struct family {
    const char *name, *help, *type; /* help/type: the whole "# HELP ..." line, or NULL */
    size_t nlen, hlen, tlen;
};

struct table {
    unsigned *slot;     /* open addressing: index + 1 into pieces or families, 0 empty */
    size_t size;
};

/* name_len - the length of the metric name that starts s (up to '{', ' ' or the end). */
static size_t name_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != '{' && s[i] != ' ' && s[i] != '\t')
        i++;
    return i;
}

/* parse_value - a sample's value: an unsigned integer (*is_int) or a float; -1 if neither. */
static int parse_value(const char *s, size_t len, int *is_int, uint64_t *u, double *d)
{
    char buf[64];
    char *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    *is_int = 1;
    for (size_t i = 0; i < len; i++)
        if (buf[i] < '0' || buf[i] > '9')
            *is_int = 0;
    if (*is_int) {
        errno = 0;
        *u = strtoull(buf, NULL, 10);
        *d = (double)*u;
        if (errno == 0)
            return 0; /* else beyond 64 bits: a float */
    }
    *is_int = 0;
    *d = strtod(buf, &end);
    return end == buf + len ? 0 : -1;
}

/* family_find - the family named (s, len), added if new; returns its index. */
static unsigned family_find(struct family *f, unsigned *nf, struct table *t, const char *s, size_t len)
{
    size_t i = hash_bytes(s, len) % t->size;
    while (t->slot[i]) {
        struct family *x = &f[t->slot[i] - 1];
        if (x->nlen == len && memcmp(x->name, s, len) == 0)
            return t->slot[i] - 1;
        i = (i + 1) % t->size;
    }
    memset(&f[*nf], 0, sizeof(f[*nf]));
    f[*nf].name = s;
    f[*nf].nlen = len;
    t->slot[i] = ++*nf;
    return *nf - 1;
}

/* sample_find - the first piece with this key, or pieces[idx] itself when it is new. */
static unsigned sample_find(struct piece *pc, unsigned idx, struct table *t)
{
    size_t i = hash_bytes(pc[idx].key, pc[idx].klen) % t->size;
    while (t->slot[i]) {
        struct piece *x = &pc[t->slot[i] - 1];
        if (x->klen == pc[idx].klen && memcmp(x->key, pc[idx].key, x->klen) == 0)
            return t->slot[i] - 1;
        i = (i + 1) % t->size;
    }
    t->slot[i] = idx + 1;
    return idx;
}

/* header - a "# HELP NAME ..." or "# TYPE NAME ..." line: record it on its family; returns
 * the family, or -1 for another comment. */
static long header(const char *s, size_t len, struct family *f, unsigned *nf, struct table *ft)
{
    int help = len > 7 && memcmp(s, "# HELP ", 7) == 0, type = len > 7 && memcmp(s, "# TYPE ", 7) == 0;
    if (!help && !type)
        return -1;
    size_t nl = name_len(s + 7, len - 7);
    if (nl == 0)
        return -1;
    unsigned k = family_find(f, nf, ft, s + 7, nl);
    if (help && f[k].help == NULL) {
        f[k].help = s;
        f[k].hlen = len;
    } else if (type && f[k].type == NULL) {
        f[k].type = s;
        f[k].tlen = len;
    }
    return k;
}

/* count_lines - an upper bound of the lines in every input. */
static size_t count_lines(const struct metrics_text *in, int n)
{
    size_t lines = 0;
    for (int i = 0; i < n; i++) {
        lines++;
        for (size_t k = 0; k < in[i].len; k++)
            lines += in[i].buf[k] == '\n';
    }
    return lines;
}

/* emit - append the merged text: families in order, each sample once with its sum. */
static int emit(const struct family *f, unsigned nf, const struct piece *pc, unsigned np, char **out,
                size_t *outlen)
{
    size_t cap = 64;
    for (unsigned i = 0; i < nf; i++)
        cap += f[i].hlen + f[i].tlen + 2;
    for (unsigned i = 0; i < np; i++)
        if (pc[i].first == i)
            cap += pc[i].klen + 32;
    unsigned *count = calloc(nf + 1, sizeof(*count)), *order = malloc((np + 1) * sizeof(*order));
    char *buf = malloc(cap);
    if (count == NULL || order == NULL || buf == NULL) {
        free(count);
        free(order);
        free(buf);
        return -1;
    }
    /* a stable counting sort of the distinct samples by family */
    for (unsigned i = 0; i < np; i++)
        if (pc[i].first == i)
            count[pc[i].family + 1]++;
    for (unsigned i = 1; i <= nf; i++)
        count[i] += count[i - 1];
    for (unsigned i = 0; i < np; i++)
        if (pc[i].first == i)
            order[count[pc[i].family]++] = i;
    size_t len = 0;
    unsigned k = 0;
    for (unsigned fi = 0; fi < nf; fi++) {
        if (f[fi].help) {
            memcpy(buf + len, f[fi].help, f[fi].hlen);
            len += f[fi].hlen;
            buf[len++] = '\n';
        }
        if (f[fi].type) {
            memcpy(buf + len, f[fi].type, f[fi].tlen);
            len += f[fi].tlen;
            buf[len++] = '\n';
        }
        for (; k < count[fi]; k++) {
            const struct piece *s = &pc[order[k]];
            memcpy(buf + len, s->key, s->klen);
            len += s->klen;
            if (s->is_int)
                len += (size_t)snprintf(buf + len, cap - len, " %llu\n", (unsigned long long)s->u);
            else
                len += (size_t)snprintf(buf + len, cap - len, " %.10g\n", s->d); /* at most 17 characters */
        }
    }
    buf[len] = 0;
    free(count);
    free(order);
    *out = buf;
    *outlen = len;
    return 0;
}

int metrics_merge(const struct metrics_text *in, int n, char **out, size_t *outlen, unsigned *skipped)
{
    if (n < 0 || n > METRICS_MERGE_INPUTS_MAX)
        return -1;
    size_t lines = count_lines(in, n);
    struct piece *pc = malloc((lines + 1) * sizeof(*pc));
    struct family *f = malloc((lines + 1) * sizeof(*f));
    struct table st = {calloc(2 * lines + 1, sizeof(unsigned)), 2 * lines + 1};
    struct table ft = {calloc(2 * lines + 1, sizeof(unsigned)), 2 * lines + 1};
    unsigned np = 0, nf = 0;
    int rc = -1;

    *skipped = 0;
    if (pc == NULL || f == NULL || st.slot == NULL || ft.slot == NULL)
        goto done;
    for (int i = 0; i < n; i++) {
        long fam = -1; /* the family of this text's samples: its last header */
        const char *s = in[i].buf, *end = s + in[i].len;
        while (s < end) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
            const char *line = s;
            s = nl ? nl + 1 : end;
            if (len > 0 && line[len - 1] == '\r')
                len--;
            if (len == 0)
                continue;
            if (len > METRICS_MERGE_LINE_MAX) {
                ++*skipped;
                continue;
            }
            if (line[0] == '#') {
                long k = header(line, len, f, &nf, &ft);
                if (k >= 0)
                    fam = k;
                continue;
            }
            const char *sp = line + len;
            while (sp > line && sp[-1] != ' ' && sp[-1] != '\t')
                sp--;
            struct piece *p = &pc[np];
            size_t nlen = name_len(line, len);
            if (sp == line || nlen == 0 ||
                parse_value(sp, (size_t)(line + len - sp), &p->is_int, &p->u, &p->d) != 0) {
                ++*skipped;
                continue;
            }
            p->key = line;
            p->klen = (size_t)(sp - line);
            while (p->klen > 0 && (line[p->klen - 1] == ' ' || line[p->klen - 1] == '\t'))
                p->klen--;
            /* a sample outside any family, or of another name than its family's
               (NAME_bucket and the like belong to it), gets a family of its own name */
            if (fam < 0 || nlen < f[fam].nlen || memcmp(line, f[fam].name, f[fam].nlen) != 0) {
                p->family = family_find(f, &nf, &ft, line, nlen);
                fam = p->family; /* a family's samples are contiguous: this one is over */
            } else
                p->family = (unsigned)fam;
            unsigned first = sample_find(pc, np, &st);
            p->first = first;
            if (first != np) {
                struct piece *q = &pc[first];
                if (q->is_int && p->is_int) {
                    q->u += p->u;
                    q->d = (double)q->u;
                } else {
                    q->d = (q->is_int ? (double)q->u : q->d) + p->d;
                    q->is_int = 0;
                }
            }
            np++;
        }
    }
    rc = emit(f, nf, pc, np, out, outlen);
done:
    free(pc);
    free(f);
    free(st.slot);
    free(ft.slot);
    return rc;
}
