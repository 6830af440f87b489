/* scenario - the one parser of scenario files: validates one (errors as file:line),
 * applies the scaling knobs, and writes the mua's schedule, the runner's settings (shell
 * assignments) and the effective parameters (JSON) for the run's metadata. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kv.h"
#include "load.h"
#include "fault.h"
#include "numparse.h"

#define SC_HOSTS_MAX 9
#define SC_SETTINGS_MAX 32
#define SC_TEXT_MAX 512

struct sc_msa {
    int set;
    unsigned mx;               /* 1-based */
    char messages[128];        /* as written: N or a list */
    unsigned sessions;
};

struct sc_mx {
    char tarpit[SC_TEXT_MAX];  /* config file; "" for a plain bin/mx */
    unsigned nopts;
    char opts[SC_SETTINGS_MAX][SC_TEXT_MAX]; /* tarpit.KEY = VALUE -> --KEY VALUE */
};

struct scenario {
    const char *path;
    char name[64], description[SC_TEXT_MAX];
    unsigned msas, mxs, rounds, sessions;
    double interval, drain, scale;
    size_t size;
    uint64_t seed;
    unsigned nrelay, nmsa;
    char relay[SC_SETTINGS_MAX][SC_TEXT_MAX], msa_settings[SC_SETTINGS_MAX][SC_TEXT_MAX];
    struct sc_msa msa[SC_HOSTS_MAX + 1];
    struct sc_mx mx[SC_HOSTS_MAX + 1];
    unsigned nfaults;
    struct fault faults[FAULT_MAX];
    char fair_limit[16];       /* the proxy-fair variant's --dest-limit: auto or N */
    char tls[8];               /* towards the MXs: none, may (default) or verify */
    const char *section;
};

static int host_index(const char *section, const char *kind)
{
    size_t n = strlen(kind);
    char *end;

    if (strncmp(section, kind, n) != 0)
        return -1;
    long i = strtol(section + n, &end, 10);
    return *end || i < 1 || i > SC_HOSTS_MAX ? -1 : (int)i;
}

static int setting(char (*list)[SC_TEXT_MAX], unsigned *n, const char *key, const char *value,
                   char *err, size_t errlen)
{
    if (*n >= SC_SETTINGS_MAX) {
        snprintf(err, errlen, "more than %d settings", SC_SETTINGS_MAX);
        return -1;
    }
    if (strpbrk(value, "\n'") || snprintf(list[*n], SC_TEXT_MAX, "%s=%s", key, value) >= SC_TEXT_MAX) {
        snprintf(err, errlen, "%s: value too long or with a quote", key);
        return -1;
    }
    (*n)++;
    return 0;
}

static int entry(void *arg, const char *section, const char *key, const char *value, char *err,
                 size_t errlen)
{
    struct scenario *s = arg;
    uint64_t u;
    int i;

    if (key == NULL) {
        if ((i = host_index(section, "msa")) > 0) {
            s->msa[i].set = 1;
            s->msa[i].sessions = 0;
        } else if (host_index(section, "mx") <= 0) {
            snprintf(err, errlen, "section [%s]: expected [msaN] or [mxN], N from 1 to %d", section,
                     SC_HOSTS_MAX);
            return -1;
        }
        return 0;
    }
    if (section && (i = host_index(section, "msa")) > 0) {
        struct sc_msa *m = &s->msa[i];
        if (strcmp(key, "mx") == 0) {
            int k = host_index(value, "mx");
            if (k <= 0) {
                snprintf(err, errlen, "mx '%s': expected mx1..mx%d", value, SC_HOSTS_MAX);
                return -1;
            }
            m->mx = (unsigned)k;
            return 0;
        }
        if (strcmp(key, "messages") == 0) {
            struct load_target t = {0};
            if (load_target_set(&t, "messages", value, err, errlen) != 0)
                return -1;
            snprintf(m->messages, sizeof(m->messages), "%s", value);
            return 0;
        }
        if (strcmp(key, "sessions") == 0) {
            if (numparse_u64(value, 100000, &u) != 0 || u == 0) {
                snprintf(err, errlen, "sessions '%s': expected 1..100000", value);
                return -1;
            }
            m->sessions = (unsigned)u;
            return 0;
        }
        snprintf(err, errlen, "unknown key '%s' in [%s] (mx, messages, sessions)", key, section);
        return -1;
    }
    if (section && (i = host_index(section, "mx")) > 0) {
        struct sc_mx *x = &s->mx[i];
        if (strcmp(key, "tarpit") == 0) {
            snprintf(x->tarpit, sizeof(x->tarpit), "%s", value);
            return 0;
        }
        if (strncmp(key, "tarpit.", 7) == 0)
            return setting(x->opts, &x->nopts, key + 7, value, err, errlen);
        snprintf(err, errlen, "unknown key '%s' in [%s] (tarpit, tarpit.POLICY)", key, section);
        return -1;
    }
    if (strncmp(key, "relay.", 6) == 0)
        return setting(s->relay, &s->nrelay, key + 6, value, err, errlen);
    if (strncmp(key, "msa.", 4) == 0)
        return setting(s->msa_settings, &s->nmsa, key + 4, value, err, errlen);
    if (strcmp(key, "name") == 0) {
        if (!mua_stamp_name_ok(value)) {
            snprintf(err, errlen, "name '%s': letters, digits, '.', '-', '_'", value);
            return -1;
        }
        snprintf(s->name, sizeof(s->name), "%s", value);
        return 0;
    }
    if (strcmp(key, "description") == 0) {
        snprintf(s->description, sizeof(s->description), "%s", value);
        return 0;
    }
    if (strcmp(key, "fair-limit") == 0) {
        if (strcmp(value, "auto") != 0 && (numparse_u64(value, 100000, &u) != 0 || u == 0)) {
            snprintf(err, errlen, "fair-limit '%s': expected auto or a count 1..100000", value);
            return -1;
        }
        snprintf(s->fair_limit, sizeof(s->fair_limit), "%s", value);
        return 0;
    }
    if (strcmp(key, "scale") == 0) {
        if (numparse_double(value, 1e-6, 1e6, &s->scale) != 0) {
            snprintf(err, errlen, "scale '%s': expected a positive number", value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "tls") == 0) {
        if (strcmp(value, "none") != 0 && strcmp(value, "may") != 0 && strcmp(value, "verify") != 0) {
            snprintf(err, errlen, "tls '%s': expected none, may or verify", value);
            return -1;
        }
        snprintf(s->tls, sizeof(s->tls), "%s", value);
        return 0;
    }
    if (strcmp(key, "fault") == 0) {
        if (s->nfaults >= FAULT_MAX) {
            snprintf(err, errlen, "more than %d faults", FAULT_MAX);
            return -1;
        }
        return fault_parse(value, SC_HOSTS_MAX, &s->faults[s->nfaults++], err, errlen);
    }
    struct {
        const char *key;
        unsigned *field;
        uint64_t lo, hi;
    } counts[] = {{"msas", &s->msas, 1, SC_HOSTS_MAX}, {"mxs", &s->mxs, 1, SC_HOSTS_MAX},
                  {"rounds", &s->rounds, 1, 100000}, {"sessions", &s->sessions, 1, 100000}};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
        if (strcmp(key, counts[k].key) == 0) {
            if (numparse_u64(value, counts[k].hi, &u) != 0 || u < counts[k].lo) {
                snprintf(err, errlen, "%s '%s': expected %llu..%llu", key, value,
                         (unsigned long long)counts[k].lo, (unsigned long long)counts[k].hi);
                return -1;
            }
            *counts[k].field = (unsigned)u;
            return 0;
        }
    if (strcmp(key, "interval") == 0 || strcmp(key, "drain") == 0) {
        if (numparse_double(value, 0, 86400, key[0] == 'i' ? &s->interval : &s->drain) != 0) {
            snprintf(err, errlen, "%s '%s': expected seconds", key, value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "size") == 0) {
        if (numparse_u64(value, LOAD_SIZE_MAX, &u) != 0) {
            snprintf(err, errlen, "size '%s': expected body bytes", value);
            return -1;
        }
        s->size = (size_t)u;
        return 0;
    }
    if (strcmp(key, "seed") == 0) {
        if (numparse_u64(value, UINT64_MAX, &s->seed) != 0) {
            snprintf(err, errlen, "seed '%s': expected a whole number", value);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s' (see scenarios/README.md)", key);
    return -1;
}

/* shq - print s single-quoted for the shell. */
static void shq(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* scaled - a messages spec with every count multiplied by scale (at least 1). */
static void scaled(const char *spec, double scale, char *out, size_t size)
{
    char buf[128], *save = NULL;
    size_t o = 0;

    snprintf(buf, sizeof(buf), "%s", spec);
    out[0] = 0;
    for (char *p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        double v = ceil(strtod(p, NULL) * scale - 1e-9);
        o += (size_t)snprintf(out + o, size - o, "%s%.0f", o ? "," : "", v < 1 ? 1 : v);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: scenario --file FILE [--scale X] [--rounds N] [--interval SEC] [--drain SEC]\n"
               "                [--tls none|may|verify] [--run ID] [--schedule OUT] [--env OUT] [--json OUT]\n"
               "Validates a scenario (errors as file:line), applies the scaling knobs and writes\n"
               "the mua schedule, shell settings for scenarios/run, and the effective parameters.\n");
}

/* What the command line asked for. */
struct args {
    const char *file, *run, *sched_out, *env_out, *json_out;
    const char *rounds, *interval, *drain, *tls; /* the knobs, as given */
    double scale;
};

/* parse_options - the command line into a; returns -1 to go on, or the exit status
 * (0 after --help, 2 on bad usage). */
static int parse_options(int argc, char **argv, struct args *a)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},     {"scale", required_argument, NULL, 's'},
        {"rounds", required_argument, NULL, 'r'},   {"interval", required_argument, NULL, 'i'},
        {"drain", required_argument, NULL, 'd'},    {"run", required_argument, NULL, 'R'},
        {"schedule", required_argument, NULL, 'S'}, {"env", required_argument, NULL, 'E'},
        {"json", required_argument, NULL, 'J'},     {"tls", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'}, {0}};
    int opt;

    *a = (struct args){.run = "run", .scale = 0}; /* 0: the file's scale, else 1 */
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f': a->file = optarg; break;
        case 's':
            if (numparse_double(optarg, 1e-6, 1e6, &a->scale) != 0) {
                fprintf(stderr, "scenario: SCALE '%s': expected a positive number\n", optarg);
                return 2;
            }
            break;
        case 'r': a->rounds = optarg; break;
        case 'i': a->interval = optarg; break;
        case 'd': a->drain = optarg; break;
        case 'T': a->tls = optarg; break;
        case 'R': a->run = optarg; break;
        case 'S': a->sched_out = optarg; break;
        case 'E': a->env_out = optarg; break;
        case 'J': a->json_out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (a->file == NULL) {
        usage(stderr);
        return 2;
    }
    return -1;
}

/* load_scenario - the file with its defaults, the knobs, and the checks across sections;
 * returns -1 to go on, or 2 with the message (file and line) printed. */
static int load_scenario(struct scenario *s, const struct args *a)
{
    const char *file = a->file;
    char err[1024];

    s->path = file;
    s->msas = s->mxs = 3;
    s->rounds = 1;
    s->sessions = 1;
    s->interval = 10;
    s->drain = 120;
    s->size = 1000;
    s->seed = 1;
    snprintf(s->fair_limit, sizeof(s->fair_limit), "auto");
    snprintf(s->tls, sizeof(s->tls), "may"); /* the study's MXs offer STARTTLS */
    if (kv_parse_file(file, entry, s, err, sizeof(err)) != 0) {
        fprintf(stderr, "scenario: %s\n", err);
        return 2;
    }
    /* the knobs, each checked like the file's own keys */
    const char *knob[4][3] = {{"rounds", a->rounds, "ROUNDS"}, {"interval", a->interval, "INTERVAL"},
                              {"drain", a->drain, "DRAIN"}, {"tls", a->tls, "TLS"}};
    for (int k = 0; k < 4; k++)
        if (knob[k][1] && entry(s, NULL, knob[k][0], knob[k][1], err, sizeof(err)) != 0) {
            fprintf(stderr, "scenario: %s: %s\n", knob[k][2], err);
            return 2;
        }
    if (a->scale > 0)
        s->scale = a->scale; /* SCALE wins over the file's default */
    else if (s->scale <= 0)
        s->scale = 1;
    if (s->name[0] == 0) {
        fprintf(stderr, "scenario: %s: no 'name'\n", file);
        return 2;
    }
    unsigned nmsa = 0;
    for (unsigned i = 1; i <= SC_HOSTS_MAX; i++) {
        if (!s->msa[i].set)
            continue;
        if (i > s->msas || s->msa[i].mx == 0 || s->msa[i].mx > s->mxs || !s->msa[i].messages[0]) {
            fprintf(stderr, "scenario: %s: [msa%u] needs mx (mx1..mx%u) and messages, and msas >= %u\n",
                    file, i, s->mxs, i);
            return 2;
        }
        nmsa++;
    }
    for (unsigned i = s->mxs + 1; i <= SC_HOSTS_MAX; i++)
        if (s->mx[i].tarpit[0] || s->mx[i].nopts) {
            fprintf(stderr, "scenario: %s: [mx%u] but mxs = %u\n", file, i, s->mxs);
            return 2;
        }
    if (nmsa == 0) {
        fprintf(stderr, "scenario: %s: no [msaN] section sends anything\n", file);
        return 2;
    }
    for (unsigned k = 0; k < s->nfaults; k++)
        if (s->faults[k].action == FAULT_STOP_MX && s->faults[k].mx > s->mxs) {
            fprintf(stderr, "scenario: %s: fault stop-mx mx%u but mxs = %u\n", file, s->faults[k].mx, s->mxs);
            return 2;
        }
    return -1;
}

/* write_schedule - the mua's schedule (when asked for) and the planned total of
 * messages; returns 0, or 1 when the file cannot be written (message printed). */
static int write_schedule(const struct scenario *s, const struct args *a, unsigned long long *total)
{
    char err[256];

    *total = 0;
    FILE *sf = a->sched_out ? fopen(a->sched_out, "w") : NULL;
    if (a->sched_out && sf == NULL) {
        fprintf(stderr, "scenario: %s: %s\n", a->sched_out, strerror(errno));
        return 1;
    }
    if (sf)
        fprintf(sf, "# mua schedule for scenario %s (written by bin/scenario)\nrun = %s\ninterval = %g\nrounds = %u\nsize = %zu\n",
                s->name, a->run, s->interval, s->rounds, s->size);
    for (unsigned i = 1; i <= SC_HOSTS_MAX; i++) {
        if (!s->msa[i].set)
            continue;
        char spec[256];
        struct load_target t = {0};
        scaled(s->msa[i].messages, s->scale, spec, sizeof(spec));
        load_target_set(&t, "messages", spec, err, sizeof(err));
        for (unsigned k = 0; k < s->rounds; k++)
            *total += load_round_messages(&t, k);
        unsigned sessions = s->msa[i].sessions ? s->msa[i].sessions : s->sessions;
        if (sessions > t.messages)
            sessions = t.messages; /* SCALE may leave fewer messages than sessions */
        if (sf)
            fprintf(sf, "[msa%u]\ntarget = 198.18.1.%u:25\nfrom = user@msa%u.test\nto = user@mx%u.test\nmessages = %s\nsessions = %u\n",
                    i, 10 + i, i, s->msa[i].mx, spec, sessions);
    }
    if (sf && fclose(sf) != 0)
        return 1;
    return 0;
}

/* write_env - the parameters as shell assignments for the runner; returns 0 or 1. */
static int write_env(const struct scenario *s, const struct args *a, unsigned long long total)
{
    FILE *f = fopen(a->env_out, "w");
    if (f == NULL) {
        fprintf(stderr, "scenario: %s: %s\n", a->env_out, strerror(errno));
        return 1;
    }
    fprintf(f, "SC_NAME=%s\nSC_MSAS=%u\nSC_MXS=%u\nSC_ROUNDS=%u\nSC_INTERVAL=%g\nSC_DRAIN=%g\nSC_SCALE=%g\nSC_SIZE=%zu\nSC_SEED=%llu\nSC_TOTAL=%llu\n",
            s->name, s->msas, s->mxs, s->rounds, s->interval, s->drain, s->scale, s->size,
            (unsigned long long)s->seed, total);
    fprintf(f, "SC_FAIR_LIMIT=%s\nSC_TLS=%s\n", s->fair_limit, s->tls);
    fputs("SC_DESCRIPTION=", f);
    shq(f, s->description);
    fputs("\nSC_RELAY=(", f);
    for (unsigned k = 0; k < s->nrelay; k++) {
        fputc(' ', f);
        shq(f, s->relay[k]);
    }
    fputs(" )\nSC_MSA=(", f);
    for (unsigned k = 0; k < s->nmsa; k++) {
        fputc(' ', f);
        shq(f, s->msa_settings[k]);
    }
    fputs(" )\nSC_FAULTS=(", f);
    for (unsigned k = 0; k < s->nfaults; k++) {
        char text[FAULT_TEXT_MAX];
        fault_format(&s->faults[k], text, sizeof(text));
        fputc(' ', f);
        shq(f, text);
    }
    fputs(" )\n", f);
    for (unsigned i = 1; i <= s->mxs; i++) {
        fprintf(f, "SC_MX%u_TARPIT=", i);
        shq(f, s->mx[i].tarpit);
        fprintf(f, "\nSC_MX%u_OPTS=(", i);
        for (unsigned k = 0; k < s->mx[i].nopts; k++) {
            char *eq = strchr(s->mx[i].opts[k], '=');
            fprintf(f, " '--%.*s' ", (int)(eq - s->mx[i].opts[k]), s->mx[i].opts[k]);
            shq(f, eq + 1);
        }
        fputs(" )\n", f);
    }
    if (fclose(f) != 0)
        return 1;
    return 0;
}

/* write_json - the effective parameters as JSON (meta.json embeds it); returns 0 or 1. */
static int write_json(const struct scenario *s, const struct args *a, unsigned long long total)
{
    struct json_writer w;
    FILE *f = fopen(a->json_out, "w");
    if (f == NULL)
        return 1;
    json_writer_init(&w);
    json_begin(&w);
    json_cstr(&w, "name", s->name);
    json_cstr(&w, "description", s->description);
    json_uint(&w, "msas", s->msas);
    json_uint(&w, "mxs", s->mxs);
    json_uint(&w, "rounds", s->rounds);
    json_double(&w, "interval", s->interval, 3);
    json_double(&w, "drain", s->drain, 3);
    json_double(&w, "scale", s->scale, 6);
    json_uint(&w, "size", s->size);
    json_uint(&w, "seed", s->seed);
    json_uint(&w, "messages_planned", total);
    json_cstr(&w, "fair_limit", s->fair_limit);
    json_cstr(&w, "tls", s->tls);
    json_array_begin(&w, "relay_settings");
    for (unsigned k = 0; k < s->nrelay; k++)
        json_cstr(&w, NULL, s->relay[k]);
    json_array_end(&w);
    json_array_begin(&w, "faults");
    for (unsigned k = 0; k < s->nfaults; k++) {
        char text[FAULT_TEXT_MAX];
        fault_format(&s->faults[k], text, sizeof(text));
        json_cstr(&w, NULL, text);
    }
    json_array_end(&w);
    json_end(&w);
    fwrite(w.buf, 1, w.len, f);
    json_writer_free(&w);
    if (fclose(f) != 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    static struct scenario s;
    struct args a;
    unsigned long long total = 0;
    int rc;

    if ((rc = parse_options(argc, argv, &a)) >= 0 || (rc = load_scenario(&s, &a)) >= 0)
        return rc;
    if (write_schedule(&s, &a, &total) != 0)
        return 1;
    if (a.env_out && write_env(&s, &a, total) != 0)
        return 1;
    if (a.json_out && write_json(&s, &a, total) != 0)
        return 1;
    return 0;
}
