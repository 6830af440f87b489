/* collect - per-message latencies from mx/tarpit records, Maildirs or mbox files (from
 * our MX or a real Postfix MX): messages.csv, summary.json/.txt and timeseries.csv. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect.h"
#include "csv.h"
#include "hash.h"
#include "json.h"
#include "numfmt.h"
#include "stats.h"

enum group_by { GROUP_MX, GROUP_TENANT, GROUP_CLIENT };
enum input_format { FORMAT_AUTO, FORMAT_RECORD, FORMAT_MAILDIR, FORMAT_MBOX };

#define METRICS 5
static const char *const metric_names[METRICS] = {"relay_latency_s", "e2e_latency_s",
                                                   "e2e_intended_s", "relay_latency_hdr_s",
                                                   "e2e_latency_hdr_s"};

static double metric(const struct latency *l, int i)
{
    switch (i) {
    case 0: return l->relay_s;
    case 1: return l->e2e_s;
    case 2: return l->e2e_intended_s;
    case 3: return l->relay_hdr_s;
    default: return l->e2e_hdr_s;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: collect [OPTIONS] INPUT...\n"
            "Per-message latencies from the Received: chain, Date: and X-Mua-Stamp.\n"
            "An INPUT is an mx/tarpit record file (JSON lines), a Maildir directory, or an\n"
            "mbox file; the kind is detected, or forced with --format.\n\n"
            "  --out-dir DIR        where to write (default .): messages.csv, summary.json,\n"
            "                       summary.txt, timeseries.csv\n"
            "  --group-by KEY       mx (default), tenant or client\n"
            "  --bin SEC            time-series bin width in seconds (default 1)\n"
            "  --format KIND        record, maildir or mbox for every INPUT\n"
            "  --mua-log FILE       the mua's log (repeatable): statistics then cover every\n"
            "                       submitted message, undelivered ones counted as censored\n"
            "  --within SEC         count deliveries within SEC of submission (default 5)\n"
            "  --queued N           messages still in some queue (for the accounting)\n"
            "  --bounced N          messages bounced (for the accounting)\n"
            "  --help               this text\n\n"
            "relay latency = arrival at the MX - oldest Received: (the MSA's)\n"
            "e2e latency   = arrival - X-Mua-Stamp sent= (else Date:)\n"
            "*_hdr         = the study's header-only forms at 1 s resolution\n"
            "offset        = arrival - the run's earliest send time\n"
            "Accounting (with --mua-log): submitted = delivered + queued + bounced + lost.\n"
            "Exit status: 0; 1 when an input could not be read; 2 on bad usage; 3 when the\n"
            "accounting finds lost or duplicated messages.\n");
}

static enum input_format detect(const char *path)
{
    struct stat st;
    char head[8] = "";

    if (strcmp(path, "-") == 0)
        return FORMAT_RECORD;
    if (stat(path, &st) != 0)
        return FORMAT_RECORD; /* the reader reports the error */
    if (S_ISDIR(st.st_mode))
        return FORMAT_MAILDIR;
    if (!S_ISREG(st.st_mode))
        return FORMAT_RECORD; /* a pipe: peeking would eat what the reader needs */
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(head, 1, 5, f);
        head[n] = 0;
        fclose(f);
    }
    return strncmp(head, "From ", 5) == 0 ? FORMAT_MBOX : FORMAT_RECORD;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "collect: %s: cannot write: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void close_out(FILE *f, const char *dir, const char *name)
{
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "collect: %s/%s: write failed\n", dir, name);
        exit(1);
    }
}

/* put_num - ",v" with six decimals (or "," for NAN), without printf: the CSV holds a
 * dozen numbers per message and printf's float formatting dominated the run time. */
static void put_num(FILE *f, double v)
{
    char buf[NUMFMT_MAX];

    fputc(',', f);
    fwrite(buf, 1, numfmt_fixed(buf, v, 6), f);
}

struct group_stats {
    double *v[METRICS];
    size_t n[METRICS];
    size_t count;
};

#define COLLECT_MUA_LOGS_MAX 64

/* What the command line asked for. */
struct options {
    const char *out_dir;
    enum group_by group_by;
    enum input_format format;
    double bin, within;
    const char *mua_logs[COLLECT_MUA_LOGS_MAX];
    int nmua;
    long long queued, bounced;
    char **inputs;
    int ninputs;
};

/* One run of collect: the messages read and what is derived from them. */
struct run {
    struct options o;
    struct collect c;
    int64_t origin;            /* the run's clock starts at the earliest send time */
    uint32_t ngroups;
    struct group_stats *g;     /* per group (a name index) */
    uint32_t *gid;             /* per message: its group */
    double max_offset;
    size_t duplicates;         /* the same Message-ID twice */
    struct censored all;       /* with --mua-log: every submitted message */
    long long lost;
};

/* parse_options - the command line into o; returns -1 to go on, or the exit status
 * (0 after --help, 2 on bad usage) with the message printed. */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"out-dir", required_argument, NULL, 'o'}, {"group-by", required_argument, NULL, 'g'},
        {"bin", required_argument, NULL, 'b'},     {"format", required_argument, NULL, 'f'},
        {"mua-log", required_argument, NULL, 'm'}, {"within", required_argument, NULL, 'w'},
        {"queued", required_argument, NULL, 'q'},  {"bounced", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},          {0}};
    int opt;

    *o = (struct options){.out_dir = ".", .group_by = GROUP_MX, .format = FORMAT_AUTO,
                          .bin = 1.0, .within = 5.0};
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'o': o->out_dir = optarg; break;
        case 'g':
            if (strcmp(optarg, "mx") == 0)
                o->group_by = GROUP_MX;
            else if (strcmp(optarg, "tenant") == 0)
                o->group_by = GROUP_TENANT;
            else if (strcmp(optarg, "client") == 0)
                o->group_by = GROUP_CLIENT;
            else {
                fprintf(stderr, "collect: --group-by '%s': expected mx, tenant or client\n", optarg);
                return 2;
            }
            break;
        case 'b':
            o->bin = strtod(optarg, &end);
            if (*end || end == optarg || !(o->bin > 0) || o->bin > 86400) {
                fprintf(stderr, "collect: --bin '%s': expected seconds > 0\n", optarg);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "record") == 0)
                o->format = FORMAT_RECORD;
            else if (strcmp(optarg, "maildir") == 0)
                o->format = FORMAT_MAILDIR;
            else if (strcmp(optarg, "mbox") == 0)
                o->format = FORMAT_MBOX;
            else {
                fprintf(stderr, "collect: --format '%s': expected record, maildir or mbox\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (o->nmua >= COLLECT_MUA_LOGS_MAX) {
                fprintf(stderr, "collect: at most %d --mua-log\n", COLLECT_MUA_LOGS_MAX);
                return 2;
            }
            o->mua_logs[o->nmua++] = optarg;
            break;
        case 'w':
            o->within = strtod(optarg, &end);
            if (*end || end == optarg || o->within < 0) {
                fprintf(stderr, "collect: --within '%s': expected seconds\n", optarg);
                return 2;
            }
            break;
        case 'q':
        case 'B': {
            long long v = strtoll(optarg, &end, 10);
            if (*end || end == optarg || v < 0) {
                fprintf(stderr, "collect: --%s '%s': expected a count\n", opt == 'q' ? "queued" : "bounced", optarg);
                return 2;
            }
            if (opt == 'q')
                o->queued = v;
            else
                o->bounced = v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "collect: no INPUT given (see --help)\n");
        return 2;
    }
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    return -1;
}

/* read_inputs - every INPUT and mua log into r->c; returns 0, or 1 when one could not
 * be read (what could be read is kept). */
static int read_inputs(struct run *r)
{
    int rc = 0;

    collect_init(&r->c);
    for (int i = 0; i < r->o.ninputs; i++) {
        const char *in = r->o.inputs[i];
        enum input_format f = r->o.format == FORMAT_AUTO ? detect(in) : r->o.format;
        int e = f == FORMAT_MAILDIR ? collect_read_maildir(&r->c, in)
                : f == FORMAT_MBOX  ? collect_read_mbox(&r->c, in)
                                    : collect_read_records(&r->c, in);
        if (e != 0)
            rc = 1;
    }
    for (int i = 0; i < r->o.nmua; i++)
        if (collect_read_mua_log(&r->c, r->o.mua_logs[i]) != 0)
            rc = 1;
    if (r->o.nmua)
        collect_match_submissions(&r->c);
    return rc;
}

/* find_origin - the earliest send time of any message (else the earliest arrival). */
static void find_origin(struct run *r)
{
    const struct collect *c = &r->c;

    r->origin = INT64_MAX;
    for (size_t i = 0; i < c->n; i++) {
        int64_t o;
        if (latency_origin_us(&c->msgs[i].in, &o) == 0 && o < r->origin)
            r->origin = o;
    }
    if (r->origin == INT64_MAX)
        for (size_t i = 0; i < c->n; i++)
            if (c->msgs[i].in.arrival_us && c->msgs[i].in.arrival_us < r->origin)
                r->origin = c->msgs[i].in.arrival_us;
}

/* count_duplicates - messages whose Message-ID an earlier message had. */
static void count_duplicates(struct run *r)
{
    const struct collect *c = &r->c;
    size_t hsize = 1;

    while (hsize < c->n * 2 + 2)
        hsize <<= 1;
    uint32_t *seen = calloc(hsize, sizeof(*seen));
    for (size_t i = 0; seen && i < c->n; i++) {
        const char *id = c->arena + c->msgs[i].id_off;
        if (*id == 0)
            continue;
        size_t k = hash_str(id) & (hsize - 1);
        for (;; k = (k + 1) & (hsize - 1)) {
            if (seen[k] == 0) {
                seen[k] = (uint32_t)i + 1;
                break;
            }
            if (strcmp(c->arena + c->msgs[seen[k] - 1].id_off, id) == 0) {
                r->duplicates++;
                break;
            }
        }
    }
    free(seen);
}

/* write_messages - messages.csv, one line per message; also sorts each message into
 * its group and gathers the group's latencies. */
static void write_messages(struct run *r)
{
    const struct collect *c = &r->c;
    FILE *mf = open_out(r->o.out_dir, "messages.csv");

    setvbuf(mf, NULL, _IOFBF, 1 << 20);
    fputs("message_id,tenant,mx,client,round,seq,arrival_us,sent_us,intended_us,offset_s,"
          "relay_latency_s,e2e_latency_s,e2e_intended_s,relay_latency_hdr_s,e2e_latency_hdr_s,"
          "errors,source\n",
          mf);
    for (size_t i = 0; i < c->n; i++) {
        const struct collect_msg *m = &c->msgs[i];
        struct group_stats *g;
        struct latency l;
        latency_compute(&m->in, &l);
        uint32_t key = r->o.group_by == GROUP_MX ? m->mx : r->o.group_by == GROUP_TENANT ? m->tenant : m->client;
        r->gid[i] = key;
        g = &r->g[key];
        g->count++;
        for (int k = 0; k < METRICS; k++) {
            double v = metric(&l, k);
            if (isnan(v))
                continue;
            if (g->v[k] == NULL || (g->n[k] & (g->n[k] - 1)) == 0) {
                size_t cap = g->n[k] ? g->n[k] * 2 : 16;
                g->v[k] = realloc(g->v[k], cap * sizeof(double));
                if (g->v[k] == NULL) {
                    fprintf(stderr, "collect: out of memory\n");
                    exit(1);
                }
            }
            g->v[k][g->n[k]++] = v;
        }
        double offset = m->in.arrival_us ? (double)(m->in.arrival_us - r->origin) / 1e6 : NAN;
        if (offset > r->max_offset)
            r->max_offset = offset;
        csv_field(mf, c->arena + m->id_off, 0);
        fputc(',', mf);
        csv_field(mf, c->names[m->tenant], 0);
        fputc(',', mf);
        csv_field(mf, c->names[m->mx], 0);
        fputc(',', mf);
        csv_field(mf, c->names[m->client], 0);
        if (m->round >= 0)
            fprintf(mf, ",%d,%d", m->round, m->seq);
        else
            fputs(",,", mf);
        fprintf(mf, ",%lld", (long long)m->in.arrival_us);
        if (m->in.has_stamp)
            fprintf(mf, ",%lld,%lld", (long long)m->in.sent_us, (long long)m->in.intended_us);
        else
            fputs(",,", mf);
        put_num(mf, offset);
        for (int k = 0; k < METRICS; k++)
            put_num(mf, metric(&l, k));
        fputc(',', mf);
        int first = 1;
        for (int k = 0; k < CE_COUNT; k++)
            if (m->errors & (1u << k)) {
                fprintf(mf, "%s%s", first ? "" : ";", collect_error_name(k));
                first = 0;
            }
        fputc(',', mf);
        csv_field(mf, c->files[m->file], 0);
        if (m->line)
            fprintf(mf, ":%u", m->line);
        fputc('\n', mf);
    }
    close_out(mf, r->o.out_dir, "messages.csv");
}

/* write_timeseries - timeseries.csv: per group and bin, received, cumulative, mean
 * relay latency. */
static void write_timeseries(struct run *r)
{
    const struct collect *c = &r->c;
    double bin = r->o.bin;
    size_t nbins = c->n ? (size_t)(r->max_offset / bin) + 1 : 0;
    FILE *tf = open_out(r->o.out_dir, "timeseries.csv");

    if (nbins > 10000000)
        nbins = 10000000;
    fputs("group,bin_start_s,received,cumulative,mean_relay_latency_s\n", tf);
    if (nbins > 0) {
        size_t *cnt = calloc(nbins, sizeof(size_t));
        size_t *rn = calloc(nbins, sizeof(size_t));
        double *rs = calloc(nbins, sizeof(double));
        if (cnt == NULL || rn == NULL || rs == NULL) {
            fprintf(stderr, "collect: out of memory\n");
            exit(1);
        }
        for (uint32_t gi = 0; gi < r->ngroups; gi++) {
            if (r->g[gi].count == 0)
                continue;
            memset(cnt, 0, nbins * sizeof(size_t));
            memset(rn, 0, nbins * sizeof(size_t));
            memset(rs, 0, nbins * sizeof(double));
            for (size_t i = 0; i < c->n; i++) {
                if (r->gid[i] != gi || c->msgs[i].in.arrival_us == 0)
                    continue;
                double off = (double)(c->msgs[i].in.arrival_us - r->origin) / 1e6;
                size_t b = off < 0 ? 0 : (size_t)(off / bin);
                if (b >= nbins)
                    b = nbins - 1;
                cnt[b]++;
                struct latency l;
                latency_compute(&c->msgs[i].in, &l);
                if (!isnan(l.relay_s)) {
                    rn[b]++;
                    rs[b] += l.relay_s;
                }
            }
            size_t cum = 0;
            for (size_t b = 0; b < nbins; b++) {
                cum += cnt[b];
                csv_field(tf, c->names[gi], 0);
                fprintf(tf, ",%.3f,%zu,%zu", (double)b * bin, cnt[b], cum);
                put_num(tf, rn[b] ? rs[b] / (double)rn[b] : NAN);
                fputc('\n', tf);
            }
        }
        free(cnt);
        free(rn);
        free(rs);
    }
    close_out(tf, r->o.out_dir, "timeseries.csv");
}

/* write_accounting - with --mua-log: the accounting and the censored per-tenant table,
 * into the JSON summary and summary.txt. */
static void write_accounting(struct run *r, struct json_writer *w, FILE *sf)
{
    const struct collect *c = &r->c;
    double within = r->o.within;

    collect_censored(c, UINT32_MAX, within, &r->all);
    r->lost = (long long)r->all.submitted - (long long)r->all.delivered - r->o.queued - r->o.bounced;
    json_object_begin(w, "accounting");
    json_uint(w, "submitted", r->all.submitted);
    json_uint(w, "delivered", r->all.delivered);
    json_int(w, "queued", r->o.queued);
    json_int(w, "bounced", r->o.bounced);
    json_int(w, "lost", r->lost);
    json_uint(w, "duplicates", r->all.duplicates);
    json_object_end(w);
    fprintf(sf, "accounting: submitted %zu = delivered %zu + queued %lld + bounced %lld + lost %lld; duplicates %zu\n\n",
            r->all.submitted, r->all.delivered, r->o.queued, r->o.bounced, r->lost, r->all.duplicates);
    json_array_begin(w, "tenants");
    fprintf(sf, "%-12s %9s %9s %9s %10s %10s %10s %10s  (e2e latency over every submitted message, s; > = not delivered)\n",
            "tenant", "submitted", "delivered", "within", "p50", "p90", "p99", "max");
    for (uint32_t gi = 0; gi < c->nnames; gi++) {
        struct censored t;
        collect_censored(c, gi, within, &t);
        if (t.submitted == 0)
            continue;
        static const char *const pn[4] = {"p50", "p90", "p99", "max"};
        json_object_begin(w, NULL);
        json_cstr(w, "tenant", c->names[gi]);
        json_uint(w, "submitted", t.submitted);
        json_uint(w, "delivered", t.delivered);
        json_uint(w, "delivered_within", t.within);
        json_double(w, "within_s", within, 3);
        json_uint(w, "duplicates", t.duplicates);
        fprintf(sf, "%-12s %9zu %9zu %9zu", c->names[gi], t.submitted, t.delivered, t.within);
        for (int k = 0; k < 4; k++) {
            char key[32];
            snprintf(key, sizeof(key), "e2e_%s", pn[k]);
            if (isinf(t.pct[k])) { /* censored: longer than the run */
                json_null(w, key);
                fprintf(sf, " %10s", ">run");
            } else {
                json_double(w, key, t.pct[k], 6);
                fprintf(sf, " %10.3f", t.pct[k]);
            }
        }
        fputc('\n', sf);
        json_object_end(w);
    }
    json_array_end(w);
    fputc('\n', sf);
}

/* write_summaries - summary.json and summary.txt: counts, input problems, the
 * accounting (with --mua-log) and each group's latency statistics. */
static void write_summaries(struct run *r)
{
    const struct collect *c = &r->c;
    struct json_writer w;
    FILE *sf = open_out(r->o.out_dir, "summary.txt");

    json_writer_init(&w);
    json_begin(&w);
    json_uint(&w, "messages", c->n);
    json_uint(&w, "duplicates", r->duplicates);
    json_cstr(&w, "group_by", r->o.group_by == GROUP_MX ? "mx" : r->o.group_by == GROUP_TENANT ? "tenant" : "client");
    json_int(&w, "origin_us", r->origin == INT64_MAX ? 0 : r->origin);
    json_object_begin(&w, "errors");
    for (int k = 0; k < CE_COUNT; k++)
        json_uint(&w, collect_error_name(k), c->errors[k]);
    json_object_end(&w);
    if (r->o.nmua)
        write_accounting(r, &w, sf);
    json_array_begin(&w, "groups");
    fprintf(sf, "%-24s %-20s %8s %10s %10s %10s %10s %10s\n", "group", "latency (s)", "count", "mean",
            "p50", "p90", "p99", "max");
    for (uint32_t gi = 0; gi < r->ngroups; gi++) {
        struct group_stats *g = &r->g[gi];
        if (g->count == 0)
            continue;
        json_object_begin(&w, NULL);
        json_cstr(&w, "group", c->names[gi]);
        json_uint(&w, "count", g->count);
        for (int k = 0; k < METRICS; k++) {
            struct stats_summary s;
            stats_summarize(g->v[k], g->n[k], &s);
            json_object_begin(&w, metric_names[k]);
            json_uint(&w, "count", s.count);
            json_double(&w, "mean", s.mean, 6);
            json_double(&w, "p50", s.p50, 6);
            json_double(&w, "p90", s.p90, 6);
            json_double(&w, "p99", s.p99, 6);
            json_double(&w, "max", s.max, 6);
            json_object_end(&w);
            fprintf(sf, "%-24s %-20s %8zu %10.3f %10.3f %10.3f %10.3f %10.3f\n", c->names[gi],
                    metric_names[k], s.count, s.mean, s.p50, s.p90, s.p99, s.max);
        }
        json_object_end(&w);
    }
    json_array_end(&w);
    json_end(&w);
    fprintf(sf, "\nmessages %zu, duplicates %zu", c->n, r->duplicates);
    for (int k = 0; k < CE_COUNT; k++)
        if (c->errors[k])
            fprintf(sf, ", %s %lu", collect_error_name(k), c->errors[k]);
    fputc('\n', sf);
    close_out(sf, r->o.out_dir, "summary.txt");
    FILE *jf = open_out(r->o.out_dir, "summary.json");
    fwrite(w.buf, 1, w.len, jf);
    close_out(jf, r->o.out_dir, "summary.json");
    json_writer_free(&w);
}

static void run_free(struct run *r)
{
    for (uint32_t gi = 0; gi < r->ngroups; gi++)
        for (int k = 0; k < METRICS; k++)
            free(r->g[gi].v[k]);
    free(r->g);
    free(r->gid);
    collect_free(&r->c);
}

int main(int argc, char **argv)
{
    static struct run r;
    int rc;

    if ((rc = parse_options(argc, argv, &r.o)) >= 0)
        return rc;
    rc = read_inputs(&r);
    find_origin(&r);
    r.ngroups = r.c.nnames;
    r.g = calloc(r.ngroups ? r.ngroups : 1, sizeof(*r.g));
    r.gid = malloc((r.c.n ? r.c.n : 1) * sizeof(*r.gid));
    if (r.g == NULL || r.gid == NULL) {
        fprintf(stderr, "collect: out of memory\n");
        return 1;
    }
    count_duplicates(&r);
    write_messages(&r);
    write_timeseries(&r);
    write_summaries(&r);

    unsigned long bad = 0;
    for (int k = 0; k < CE_COUNT; k++)
        bad += r.c.errors[k];
    fprintf(stderr, "collect: %zu messages, %zu duplicates, %lu input problems; wrote %s/{messages.csv,summary.json,summary.txt,timeseries.csv}\n",
            r.c.n, r.duplicates, bad, r.o.out_dir);
    int accounting_failed = r.o.nmua && (r.lost != 0 || r.all.duplicates != 0);
    if (accounting_failed)
        fprintf(stderr, "collect: accounting: %lld lost, %zu duplicates\n", r.lost, r.all.duplicates);
    run_free(&r);
    return accounting_failed && rc == 0 ? 3 : rc;
}
