/* mua - the load-generating MUA: sends a schedule of rounds to one or more MSAs with
 * libcurl, stamps every message, and logs every submission's outcome.
 * Each SMTP session is one thread driving one easy handle (libcurl 7.88 blocks the multi
 * interface while waiting for the reply to DATA), so a slow server stalls only its own
 * sessions; rounds start on a fixed clock whatever earlier rounds are doing. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "csv.h"
#include "load.h"
#include "numparse.h"
#include "stats.h"

#define MUA_THREADS_MAX 8192      /* sessions running at once */
#define MUA_STACK_SIZE (256 << 10)
#define MUA_REPLY_MAX 512

struct job {
    const struct load_target *t;
    unsigned round, first_seq, count;
    int64_t intended_us;
    pthread_t thread;
    struct job *next;
};

static struct {
    struct load_schedule sched;
    const char *ehlo;
    double connect_timeout, timeout;
    int allow_failures;
    FILE *log;
    int log_json;
    pthread_mutex_t lock;
    uint64_t total, done, failed;
    double *latency; /* submission latency of every successful message, s */
    size_t nlatency;
    int64_t first_start_us, last_end_us, max_lag_us;
    char **bodies; /* one body per target, shared read-only */
    int64_t start_us;
    volatile int finished;
} mua;

struct upload {
    const char *parts[2];
    size_t lens[2];
    size_t part, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t room = size * nitems, n = 0;

    while (n < room && u->part < 2) {
        size_t left = u->lens[u->part] - u->off;
        size_t k = left < room - n ? left : room - n;
        memcpy(buf + n, u->parts[u->part] + u->off, k);
        n += k;
        u->off += k;
        if (u->off == u->lens[u->part]) {
            u->part++;
            u->off = 0;
        }
    }
    return n;
}

/* header_cb - libcurl hands SMTP reply lines here; keep the last one of the transaction
 * (after a refusal libcurl sends QUIT, whose 221 says nothing about the message). */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    char *reply = arg;
    size_t n = size * nitems, k = n;

    if (n >= 4 && memcmp(buf, "221", 3) == 0 && (buf[3] == ' ' || buf[3] == '\r'))
        return n;
    while (k > 0 && (buf[k - 1] == '\r' || buf[k - 1] == '\n'))
        k--;
    if (k >= MUA_REPLY_MAX)
        k = MUA_REPLY_MAX - 1;
    memcpy(reply, buf, k);
    reply[k] = 0;
    return n;
}

static void log_message(const struct job *j, unsigned seq, int64_t start, int64_t end, long code,
                        const char *reply, const char *curl_err)
{
    FILE *f = mua.log;

    if (f == NULL)
        return;
    fprintf(f, "%s,%s,%s,%u,%u,%lld,%lld,%lld,%ld,", mua.sched.run, j->t->name, j->t->target,
            j->round, seq, (long long)j->intended_us, (long long)start, (long long)end, code);
    csv_field(f, reply, CSV_QUOTE_ALWAYS | CSV_ONE_LINE);
    fputc(',', f);
    csv_field(f, curl_err, CSV_QUOTE_ALWAYS | CSV_ONE_LINE);
    fputc('\n', f);
}

static void *session_run(void *arg)
{
    struct job *j = arg;
    const struct load_target *t = j->t;
    char url[LOAD_ADDR_MAX + 300], from[LOAD_ADDR_MAX + 2], to[LOAD_ADDR_MAX + 2];
    char headers[LOAD_HEADERS_MAX], reply[MUA_REPLY_MAX], errbuf[CURL_ERROR_SIZE];
    struct curl_slist *rcpt = NULL;
    struct upload up;
    CURL *c = curl_easy_init();
    const char *body = mua.bodies[t - mua.sched.targets];

    if (c == NULL)
        return NULL;
    snprintf(url, sizeof(url), "smtp://%s/%s", t->target, mua.ehlo);
    snprintf(from, sizeof(from), "<%s>", t->from);
    snprintf(to, sizeof(to), "<%s>", t->to);
    rcpt = curl_slist_append(NULL, to);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(mua.connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(mua.timeout * 1000));
    for (unsigned k = 0; k < j->count; k++) {
        struct mua_stamp st;
        int64_t start = clock_realtime_us();
        memset(&st, 0, sizeof(st));
        snprintf(st.run, sizeof(st.run), "%s", mua.sched.run);
        snprintf(st.tenant, sizeof(st.tenant), "%s", t->name);
        st.round = j->round;
        st.seq = j->first_seq + k;
        st.intended_us = j->intended_us;
        st.sent_us = start;
        up.parts[0] = headers;
        up.lens[0] = load_headers(headers, sizeof(headers), t, &st, start / 1000000);
        up.parts[1] = body;
        up.lens[1] = t->size;
        up.part = up.off = 0;
        reply[0] = errbuf[0] = 0;
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(up.lens[0] + up.lens[1]));
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        int64_t end = clock_realtime_us();
        int ok = rc == CURLE_OK && code >= 200 && code < 300;
        if (!ok && errbuf[0] == 0)
            snprintf(errbuf, sizeof(errbuf), "%s", rc == CURLE_OK ? "" : curl_easy_strerror(rc));
        pthread_mutex_lock(&mua.lock);
        log_message(j, st.seq, start, end, code, reply, ok ? "" : errbuf);
        mua.done++;
        if (!ok)
            mua.failed++;
        else
            mua.latency[mua.nlatency++] = (double)(end - start) / 1e6;
        if (mua.first_start_us == 0 || start < mua.first_start_us)
            mua.first_start_us = start;
        if (end > mua.last_end_us)
            mua.last_end_us = end;
        pthread_mutex_unlock(&mua.lock);
    }
    curl_easy_cleanup(c); /* QUIT */
    curl_slist_free_all(rcpt);
    return NULL;
}

static void *progress_run(void *arg)
{
    (void)arg;
    while (!mua.finished) {
        struct timespec ts = {0, 500000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&mua.lock);
        uint64_t done = mua.done, failed = mua.failed;
        pthread_mutex_unlock(&mua.lock);
        double el = (double)(clock_realtime_us() - mua.start_us) / 1e6;
        double rate = el > 0 ? (double)done / el : 0;
        double eta = rate > 0 ? (double)(mua.total - done) / rate : 0;
        fprintf(stderr, "\rmua: %llu/%llu sent, %.0f msg/s, %llu failed, %.0f s elapsed, ETA %.0f s   ",
                (unsigned long long)done, (unsigned long long)mua.total, rate,
                (unsigned long long)failed, el, eta);
    }
    fputc('\n', stderr);
    return NULL;
}

/* sleep_until - wait for the realtime clock to reach us. */
static void sleep_until(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

struct due {
    int64_t at;
    unsigned target, round;
};

static int due_cmp(const void *a, const void *b)
{
    const struct due *x = a, *y = b;

    return x->at < y->at ? -1 : x->at > y->at;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mua --target HOST:PORT --from ADDR --to ADDR [OPTIONS]\n"
            "       mua --schedule FILE [OPTIONS]\n"
            "Sends rounds of messages on a fixed clock (round k at start + k * interval), each\n"
            "round's messages spread over concurrent SMTP sessions that send their share one\n"
            "after another and QUIT. Every message carries X-Mua-Stamp (run, tenant, round,\n"
            "seq, intended and sent times in us).\n\n"
            "  --target HOST:PORT     the MSA to submit to (numeric address)\n"
            "  --from ADDR, --to ADDR envelope and header addresses\n"
            "  --messages N[,N...]    messages per round (default 1); a list gives each round\n"
            "                         its own count, cycling (e.g. 1000,10000,100000)\n"
            "  --sessions S           concurrent sessions per round (default 1)\n"
            "  --rounds R             rounds (default 1)\n"
            "  --interval SEC         seconds between round starts (default 10)\n"
            "  --size BYTES           body size (default 1000)\n"
            "  --tenant NAME          tenant name in stamps and logs (default tenant)\n"
            "  --schedule FILE        several targets: [TENANT] sections with the keys above\n"
            "                         (target, from, to, messages, sessions, rounds, interval,\n"
            "                         size, start); keys before any section are defaults\n"
            "  --run ID               run identifier (default: from the clock)\n"
            "  --log FILE             one CSV line per message: run,tenant,target,round,seq,\n"
            "                         intended_us,start_us,end_us,code,reply,curl_error\n"
            "  --ehlo NAME            EHLO name (default localhost, as the study)\n"
            "  --connect-timeout SEC  per connection (default 30)\n"
            "  --timeout SEC          per message transaction (default 300)\n"
            "  --allow-failures       exit 0 even if some messages failed\n"
            "  --help                 this text\n"
            "Exit status: 0, 1 if any message failed, 2 on bad usage.\n");
}

/* parse_options - the command line into mua's schedule and settings; *log_path gets
 * --log. Returns -1 to go on, or the exit status (0 after --help, 2 on bad usage). */
static int parse_options(int argc, char **argv, const char **log_path)
{
    enum { O_TARGET = 1000, O_FROM, O_TO, O_MESSAGES, O_SESSIONS, O_ROUNDS, O_INTERVAL, O_SIZE,
           O_TENANT, O_SCHEDULE, O_RUN, O_LOG, O_EHLO, O_CTIMEOUT, O_TIMEOUT, O_ALLOW };
    static const struct option longopts[] = {
        {"target", required_argument, NULL, O_TARGET}, {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO}, {"messages", required_argument, NULL, O_MESSAGES},
        {"sessions", required_argument, NULL, O_SESSIONS}, {"rounds", required_argument, NULL, O_ROUNDS},
        {"interval", required_argument, NULL, O_INTERVAL}, {"size", required_argument, NULL, O_SIZE},
        {"tenant", required_argument, NULL, O_TENANT}, {"schedule", required_argument, NULL, O_SCHEDULE},
        {"run", required_argument, NULL, O_RUN}, {"log", required_argument, NULL, O_LOG},
        {"ehlo", required_argument, NULL, O_EHLO}, {"connect-timeout", required_argument, NULL, O_CTIMEOUT},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"allow-failures", no_argument, NULL, O_ALLOW},
        {"help", no_argument, NULL, 'h'}, {0}};
    static const char *const keys[] = {"target", "from", "to", "messages", "sessions",
                                       "rounds", "interval", "size", "tenant"};
    struct load_target flags;
    const char *schedule = NULL, *run = NULL;
    char err[1024];
    int opt, have_flags = 0;

    load_schedule_init(&mua.sched);
    flags = mua.sched.defaults;
    snprintf(flags.name, sizeof(flags.name), "tenant");
    mua.ehlo = "localhost";
    mua.connect_timeout = 30;
    mua.timeout = 300;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt >= O_TARGET && opt <= O_TENANT) {
            if (load_target_set(&flags, keys[opt - O_TARGET], optarg, err, sizeof(err)) != 0) {
                fprintf(stderr, "mua: --%s\n", err);
                return 2;
            }
            have_flags = 1;
            continue;
        }
        switch (opt) {
        case O_SCHEDULE: schedule = optarg; break;
        case O_RUN: run = optarg; break;
        case O_LOG: *log_path = optarg; break;
        case O_EHLO: mua.ehlo = optarg; break;
        case O_CTIMEOUT:
        case O_TIMEOUT:
            if (numparse_double(optarg, 0.001, 86400, opt == O_CTIMEOUT ? &mua.connect_timeout : &mua.timeout) != 0) {
                fprintf(stderr, "mua: --%s '%s': expected seconds\n",
                        opt == O_CTIMEOUT ? "connect-timeout" : "timeout", optarg);
                return 2;
            }
            break;
        case O_ALLOW: mua.allow_failures = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mua: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (schedule && have_flags) {
        fprintf(stderr, "mua: give either --schedule or target options, not both\n");
        return 2;
    }
    if (schedule) {
        if (load_schedule_parse(&mua.sched, schedule, err, sizeof(err)) != 0) {
            fprintf(stderr, "mua: %s\n", err);
            return 2;
        }
    } else {
        if (load_target_check(&flags, err, sizeof(err)) != 0) {
            fprintf(stderr, "mua: %s (see --help)\n", err);
            return 2;
        }
        mua.sched.targets[mua.sched.ntargets++] = flags;
    }
    if (run) {
        if (!mua_stamp_name_ok(run)) {
            fprintf(stderr, "mua: --run '%s': letters, digits, '.', '-' and '_' only\n", run);
            return 2;
        }
        snprintf(mua.sched.run, sizeof(mua.sched.run), "%s", run);
    } else if (!schedule || strcmp(mua.sched.run, "run") == 0) {
        snprintf(mua.sched.run, sizeof(mua.sched.run), "r%lld", (long long)(clock_realtime_us() / 1000000));
    }
    return -1;
}

/* open_log - the CSV log with its header line; returns 0, or 1 (message printed). */
static int open_log(const char *log_path)
{
    {
        mua.log = fopen(log_path, "w");
        if (mua.log == NULL) {
            fprintf(stderr, "mua: %s: cannot write: %s\n", log_path, strerror(errno));
            return 1;
        }
        setvbuf(mua.log, NULL, _IOFBF, 1 << 20);
        fputs("run,tenant,target,round,seq,intended_us,start_us,end_us,code,reply,curl_error\n", mua.log);
    }
    return 0;
}

/* prepare - totals, one body per target, and every round's due time in order (into
 * *dues, *ndue); returns 0, or 1 when out of memory (message printed). */
static int prepare(struct due **dues_out, size_t *ndue_out)
{
    struct load_schedule *s = &mua.sched;
    size_t ndue = 0;

    for (unsigned i = 0; i < s->ntargets; i++) {
        for (unsigned k = 0; k < s->targets[i].rounds; k++)
            mua.total += load_round_messages(&s->targets[i], k);
        ndue += s->targets[i].rounds;
    }
    mua.latency = malloc(mua.total * sizeof(double));
    mua.bodies = calloc(s->ntargets, sizeof(char *));
    struct due *dues = malloc(ndue * sizeof(*dues));
    if (mua.latency == NULL || mua.bodies == NULL || dues == NULL) {
        fprintf(stderr, "mua: out of memory for %llu messages\n", (unsigned long long)mua.total);
        return 1;
    }
    for (unsigned i = 0; i < s->ntargets; i++) {
        mua.bodies[i] = malloc(s->targets[i].size + 1);
        if (mua.bodies[i] == NULL) {
            fprintf(stderr, "mua: out of memory\n");
            return 1;
        }
        load_body(mua.bodies[i], s->targets[i].size);
    }
    /* the run starts on the next whole second plus a little, so rounds line up with clocks */
    mua.start_us = (clock_realtime_us() / 1000000 + 1) * 1000000;
    ndue = 0;
    for (unsigned i = 0; i < s->ntargets; i++)
        for (unsigned k = 0; k < s->targets[i].rounds; k++)
            dues[ndue++] = (struct due){load_round_due_us(&s->targets[i], mua.start_us, k), i, k};
    qsort(dues, ndue, sizeof(*dues), due_cmp);
    *dues_out = dues;
    *ndue_out = ndue;
    return 0;
}

/* send_rounds - start each round's sessions at its due time (a thread each, at most
 * MUA_THREADS_MAX at once) and wait for all of them. */
static void send_rounds(const struct due *dues, size_t ndue)
{
    const struct load_schedule *s = &mua.sched;
    pthread_attr_t attr;

    pthread_mutex_init(&mua.lock, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, MUA_STACK_SIZE);
    pthread_t progress;
    int show = isatty(STDERR_FILENO);
    if (show)
        pthread_create(&progress, NULL, progress_run, NULL);
    struct job *jobs = NULL;
    unsigned running = 0;
    for (size_t d = 0; d < ndue; d++) {
        const struct load_target *t = &s->targets[dues[d].target];
        sleep_until(dues[d].at);
        int64_t lag = clock_realtime_us() - dues[d].at;
        if (lag > mua.max_lag_us)
            mua.max_lag_us = lag;
        unsigned k = dues[d].round;
        for (unsigned i = 0; i < load_round_sessions(t, k); i++) {
            struct job *j = calloc(1, sizeof(*j));
            if (j == NULL)
                break;
            j->t = t;
            j->round = k;
            j->first_seq = load_session_first_seq(t, k, i);
            j->count = load_session_share(t, k, i);
            j->intended_us = dues[d].at;
            while (running >= MUA_THREADS_MAX && jobs) { /* wait for the oldest session */
                struct job *last = jobs, *prev = NULL;
                while (last->next) {
                    prev = last;
                    last = last->next;
                }
                pthread_join(last->thread, NULL);
                if (prev)
                    prev->next = NULL;
                else
                    jobs = NULL;
                free(last);
                running--;
            }
            if (pthread_create(&j->thread, &attr, session_run, j) != 0) {
                fprintf(stderr, "mua: cannot start a session thread: %s\n", strerror(errno));
                free(j);
                continue;
            }
            j->next = jobs;
            jobs = j;
            running++;
        }
    }
    while (jobs) {
        struct job *n = jobs->next;
        pthread_join(jobs->thread, NULL);
        free(jobs);
        jobs = n;
    }
    mua.finished = 1;
    if (show)
        pthread_join(progress, NULL);
}

int main(int argc, char **argv)
{
    const char *log_path = NULL;
    struct due *dues = NULL;
    size_t ndue = 0;
    int rc;

    if ((rc = parse_options(argc, argv, &log_path)) >= 0)
        return rc;
    if (log_path && open_log(log_path) != 0)
        return 1;
    if (prepare(&dues, &ndue) != 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    send_rounds(dues, ndue);
    if (mua.log && (fflush(mua.log) != 0 || fclose(mua.log) != 0)) {
        fprintf(stderr, "mua: %s: write failed\n", log_path);
        return 1;
    }

    struct stats_summary sum;
    stats_summarize(mua.latency, mua.nlatency, &sum);
    double span = (double)(mua.last_end_us - mua.first_start_us) / 1e6;
    fprintf(stderr,
            "mua: run %s: %llu sent, %llu failed, %.1f msg/s, submission latency p50 %.4f s "
            "p99 %.4f s, latest round start %.1f ms late\n",
            mua.sched.run, (unsigned long long)(mua.done - mua.failed),
            (unsigned long long)mua.failed, span > 0 ? (double)(mua.done - mua.failed) / span : 0.0,
            isnan(sum.p50) ? 0.0 : sum.p50, isnan(sum.p99) ? 0.0 : sum.p99,
            (double)mua.max_lag_us / 1000.0);
    for (unsigned i = 0; i < mua.sched.ntargets; i++)
        free(mua.bodies[i]);
    free(mua.bodies);
    free(mua.latency);
    free(dues);
    curl_global_cleanup();
    return mua.failed && !mua.allow_failures ? 1 : 0;
}
