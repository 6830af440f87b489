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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out-dir", required_argument, NULL, 'o'}, {"group-by", required_argument, NULL, 'g'},
        {"bin", required_argument, NULL, 'b'},     {"format", required_argument, NULL, 'f'},
        {"mua-log", required_argument, NULL, 'm'}, {"within", required_argument, NULL, 'w'},
        {"queued", required_argument, NULL, 'q'},  {"bounced", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},          {0}};
    const char *out_dir = ".";
    enum group_by group_by = GROUP_MX;
    enum input_format format = FORMAT_AUTO;
    double bin = 1.0, within = 5.0;
    const char *mua_logs[64];
    int nmua = 0;
    long long queued = 0, bounced = 0;
    int opt, rc = 0;
    struct collect c;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'o': out_dir = optarg; break;
        case 'g':
            if (strcmp(optarg, "mx") == 0)
                group_by = GROUP_MX;
            else if (strcmp(optarg, "tenant") == 0)
                group_by = GROUP_TENANT;
            else if (strcmp(optarg, "client") == 0)
                group_by = GROUP_CLIENT;
            else {
                fprintf(stderr, "collect: --group-by '%s': expected mx, tenant or client\n", optarg);
                return 2;
            }
            break;
        case 'b':
            bin = strtod(optarg, &end);
            if (*end || end == optarg || !(bin > 0) || bin > 86400) {
                fprintf(stderr, "collect: --bin '%s': expected seconds > 0\n", optarg);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "record") == 0)
                format = FORMAT_RECORD;
            else if (strcmp(optarg, "maildir") == 0)
                format = FORMAT_MAILDIR;
            else if (strcmp(optarg, "mbox") == 0)
                format = FORMAT_MBOX;
            else {
                fprintf(stderr, "collect: --format '%s': expected record, maildir or mbox\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (nmua >= 64) {
                fprintf(stderr, "collect: at most 64 --mua-log\n");
                return 2;
            }
            mua_logs[nmua++] = optarg;
            break;
        case 'w':
            within = strtod(optarg, &end);
            if (*end || end == optarg || within < 0) {
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
                queued = v;
            else
                bounced = v;
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
    collect_init(&c);
    for (int i = optind; i < argc; i++) {
        enum input_format f = format == FORMAT_AUTO ? detect(argv[i]) : format;
        int r = f == FORMAT_MAILDIR ? collect_read_maildir(&c, argv[i])
                : f == FORMAT_MBOX  ? collect_read_mbox(&c, argv[i])
                                    : collect_read_records(&c, argv[i]);
        if (r != 0)
            rc = 1;
    }

    for (int i = 0; i < nmua; i++)
        if (collect_read_mua_log(&c, mua_logs[i]) != 0)
            rc = 1;
    if (nmua)
        collect_match_submissions(&c);

    /* the run's clock starts at the earliest send time of any message */
    int64_t origin = INT64_MAX;
    for (size_t i = 0; i < c.n; i++) {
        int64_t o;
        if (latency_origin_us(&c.msgs[i].in, &o) == 0 && o < origin)
            origin = o;
    }
    if (origin == INT64_MAX)
        for (size_t i = 0; i < c.n; i++)
            if (c.msgs[i].in.arrival_us && c.msgs[i].in.arrival_us < origin)
                origin = c.msgs[i].in.arrival_us;

    /* groups */
    uint32_t ngroups = c.nnames;
    struct group_stats *g = calloc(ngroups ? ngroups : 1, sizeof(*g));
    uint32_t *gid = malloc((c.n ? c.n : 1) * sizeof(*gid));
    double max_offset = 0;
    size_t duplicates = 0;
    if (g == NULL || gid == NULL) {
        fprintf(stderr, "collect: out of memory\n");
        return 1;
    }

    /* duplicates: the same Message-ID twice */
    size_t hsize = 1;
    while (hsize < c.n * 2 + 2)
        hsize <<= 1;
    uint32_t *seen = calloc(hsize, sizeof(*seen));
    for (size_t i = 0; seen && i < c.n; i++) {
        const char *id = c.arena + c.msgs[i].id_off;
        if (*id == 0)
            continue;
        size_t k = hash_str(id) & (hsize - 1);
        for (;; k = (k + 1) & (hsize - 1)) {
            if (seen[k] == 0) {
                seen[k] = (uint32_t)i + 1;
                break;
            }
            if (strcmp(c.arena + c.msgs[seen[k] - 1].id_off, id) == 0) {
                duplicates++;
                break;
            }
        }
    }
    free(seen);

    FILE *mf = open_out(out_dir, "messages.csv");
    setvbuf(mf, NULL, _IOFBF, 1 << 20);
    fputs("message_id,tenant,mx,client,round,seq,arrival_us,sent_us,intended_us,offset_s,"
          "relay_latency_s,e2e_latency_s,e2e_intended_s,relay_latency_hdr_s,e2e_latency_hdr_s,"
          "errors,source\n",
          mf);
    for (size_t i = 0; i < c.n; i++) {
        struct collect_msg *m = &c.msgs[i];
        struct latency l;
        latency_compute(&m->in, &l);
        uint32_t key = group_by == GROUP_MX ? m->mx : group_by == GROUP_TENANT ? m->tenant : m->client;
        gid[i] = key;
        g[key].count++;
        for (int k = 0; k < METRICS; k++) {
            double v = metric(&l, k);
            if (isnan(v))
                continue;
            if (g[key].v[k] == NULL || (g[key].n[k] & (g[key].n[k] - 1)) == 0) {
                size_t cap = g[key].n[k] ? g[key].n[k] * 2 : 16;
                g[key].v[k] = realloc(g[key].v[k], cap * sizeof(double));
            }
            g[key].v[k][g[key].n[k]++] = v;
        }
        double offset = m->in.arrival_us ? (double)(m->in.arrival_us - origin) / 1e6 : NAN;
        if (offset > max_offset)
            max_offset = offset;
        csv_field(mf, c.arena + m->id_off, 0);
        fputc(',', mf);
        csv_field(mf, c.names[m->tenant], 0);
        fputc(',', mf);
        csv_field(mf, c.names[m->mx], 0);
        fputc(',', mf);
        csv_field(mf, c.names[m->client], 0);
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
        csv_field(mf, c.files[m->file], 0);
        if (m->line)
            fprintf(mf, ":%u", m->line);
        fputc('\n', mf);
    }
    close_out(mf, out_dir, "messages.csv");

    /* time series: per group and bin, received, cumulative, mean relay latency */
    size_t nbins = c.n ? (size_t)(max_offset / bin) + 1 : 0;
    if (nbins > 10000000)
        nbins = 10000000;
    FILE *tf = open_out(out_dir, "timeseries.csv");
    fputs("group,bin_start_s,received,cumulative,mean_relay_latency_s\n", tf);
    if (nbins > 0) {
        size_t *cnt = calloc(nbins, sizeof(size_t));
        size_t *rn = calloc(nbins, sizeof(size_t));
        double *rs = calloc(nbins, sizeof(double));
        for (uint32_t gi = 0; gi < ngroups && cnt && rn && rs; gi++) {
            if (g[gi].count == 0)
                continue;
            memset(cnt, 0, nbins * sizeof(size_t));
            memset(rn, 0, nbins * sizeof(size_t));
            memset(rs, 0, nbins * sizeof(double));
            for (size_t i = 0; i < c.n; i++) {
                if (gid[i] != gi || c.msgs[i].in.arrival_us == 0)
                    continue;
                double off = (double)(c.msgs[i].in.arrival_us - origin) / 1e6;
                size_t b = off < 0 ? 0 : (size_t)(off / bin);
                if (b >= nbins)
                    b = nbins - 1;
                cnt[b]++;
                struct latency l;
                latency_compute(&c.msgs[i].in, &l);
                if (!isnan(l.relay_s)) {
                    rn[b]++;
                    rs[b] += l.relay_s;
                }
            }
            size_t cum = 0;
            for (size_t b = 0; b < nbins; b++) {
                cum += cnt[b];
                csv_field(tf, c.names[gi], 0);
                fprintf(tf, ",%.3f,%zu,%zu", (double)b * bin, cnt[b], cum);
                put_num(tf, rn[b] ? rs[b] / (double)rn[b] : NAN);
                fputc('\n', tf);
            }
        }
        free(cnt);
        free(rn);
        free(rs);
    }
    close_out(tf, out_dir, "timeseries.csv");

    /* summaries */
    struct json_writer w;
    json_writer_init(&w);
    json_begin(&w);
    json_uint(&w, "messages", c.n);
    json_uint(&w, "duplicates", duplicates);
    json_cstr(&w, "group_by", group_by == GROUP_MX ? "mx" : group_by == GROUP_TENANT ? "tenant" : "client");
    json_int(&w, "origin_us", origin == INT64_MAX ? 0 : origin);
    json_object_begin(&w, "errors");
    for (int k = 0; k < CE_COUNT; k++)
        json_uint(&w, collect_error_name(k), c.errors[k]);
    json_object_end(&w);
    struct censored all;
    long long lost = 0;
    FILE *sf = open_out(out_dir, "summary.txt");
    if (nmua) {
        collect_censored(UINT32_MAX, within, &all);
        lost = (long long)all.submitted - (long long)all.delivered - queued - bounced;
        json_object_begin(&w, "accounting");
        json_uint(&w, "submitted", all.submitted);
        json_uint(&w, "delivered", all.delivered);
        json_int(&w, "queued", queued);
        json_int(&w, "bounced", bounced);
        json_int(&w, "lost", lost);
        json_uint(&w, "duplicates", all.duplicates);
        json_object_end(&w);
        fprintf(sf, "accounting: submitted %zu = delivered %zu + queued %lld + bounced %lld + lost %lld; duplicates %zu\n\n",
                all.submitted, all.delivered, queued, bounced, lost, all.duplicates);
        json_array_begin(&w, "tenants");
        fprintf(sf, "%-12s %9s %9s %9s %10s %10s %10s %10s  (e2e latency over every submitted message, s; > = not delivered)\n",
                "tenant", "submitted", "delivered", "within", "p50", "p90", "p99", "max");
        for (uint32_t gi = 0; gi < c.nnames; gi++) {
            struct censored t;
            collect_censored(gi, within, &t);
            if (t.submitted == 0)
                continue;
            static const char *const pn[4] = {"p50", "p90", "p99", "max"};
            json_object_begin(&w, NULL);
            json_cstr(&w, "tenant", c.names[gi]);
            json_uint(&w, "submitted", t.submitted);
            json_uint(&w, "delivered", t.delivered);
            json_uint(&w, "delivered_within", t.within);
            json_double(&w, "within_s", within, 3);
            json_uint(&w, "duplicates", t.duplicates);
            fprintf(sf, "%-12s %9zu %9zu %9zu", c.names[gi], t.submitted, t.delivered, t.within);
            for (int k = 0; k < 4; k++) {
                char key[32];
                snprintf(key, sizeof(key), "e2e_%s", pn[k]);
                if (isinf(t.pct[k])) { /* censored: longer than the run */
                    json_null(&w, key);
                    fprintf(sf, " %10s", ">run");
                } else {
                    json_double(&w, key, t.pct[k], 6);
                    fprintf(sf, " %10.3f", t.pct[k]);
                }
            }
            fputc('\n', sf);
            json_object_end(&w);
        }
        json_array_end(&w);
        fputc('\n', sf);
    }
    json_array_begin(&w, "groups");
    fprintf(sf, "%-24s %-20s %8s %10s %10s %10s %10s %10s\n", "group", "latency (s)", "count", "mean",
            "p50", "p90", "p99", "max");
    for (uint32_t gi = 0; gi < ngroups; gi++) {
        if (g[gi].count == 0)
            continue;
        json_object_begin(&w, NULL);
        json_cstr(&w, "group", c.names[gi]);
        json_uint(&w, "count", g[gi].count);
        for (int k = 0; k < METRICS; k++) {
            struct stats_summary s;
            stats_summarize(g[gi].v[k], g[gi].n[k], &s);
            json_object_begin(&w, metric_names[k]);
            json_uint(&w, "count", s.count);
            json_double(&w, "mean", s.mean, 6);
            json_double(&w, "p50", s.p50, 6);
            json_double(&w, "p90", s.p90, 6);
            json_double(&w, "p99", s.p99, 6);
            json_double(&w, "max", s.max, 6);
            json_object_end(&w);
            fprintf(sf, "%-24s %-20s %8zu %10.3f %10.3f %10.3f %10.3f %10.3f\n", c.names[gi],
                    metric_names[k], s.count, s.mean, s.p50, s.p90, s.p99, s.max);
            free(g[gi].v[k]);
        }
        json_object_end(&w);
    }
    json_array_end(&w);
    json_end(&w);
    fprintf(sf, "\nmessages %zu, duplicates %zu", c.n, duplicates);
    for (int k = 0; k < CE_COUNT; k++)
        if (c.errors[k])
            fprintf(sf, ", %s %lu", collect_error_name(k), c.errors[k]);
    fputc('\n', sf);
    close_out(sf, out_dir, "summary.txt");
    FILE *jf = open_out(out_dir, "summary.json");
    fwrite(w.buf, 1, w.len, jf);
    close_out(jf, out_dir, "summary.json");
    json_writer_free(&w);

    unsigned long bad = 0;
    for (int k = 0; k < CE_COUNT; k++)
        bad += c.errors[k];
    fprintf(stderr, "collect: %zu messages, %zu duplicates, %lu input problems; wrote %s/{messages.csv,summary.json,summary.txt,timeseries.csv}\n",
            c.n, duplicates, bad, out_dir);
    free(g);
    free(gid);
    collect_free(&c);
    if (nmua && (lost != 0 || all.duplicates != 0)) {
        fprintf(stderr, "collect: accounting: %lld lost, %zu duplicates\n", lost, all.duplicates);
        return rc ? rc : 3;
    }
    return rc;
}
