/* tarpit - an MX that pushes back as real receivers do: delays, stutter, 4xx/5xx with
 * realistic texts, per-client limits, rates, disconnects; seeded and reproducible.
 * The SMTP engine, records and Maildir are bin/mx's (lib/sink.c); this adds the policy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "clock.h"
#include "json.h"
#include "kv.h"
#include "logfile.h"
#include "sink.h"
#include "policy.h"

#define OPT_CONFIG 3000
#define OPT_EVENTS 3001
#define OPT_POLICY 4000 /* + index into the policy keys (tarpit_config_keys) */
#define POLICY_ARGS_MAX 256

struct tarpit_main {
    struct tarpit policy;
    struct sink sink;
    struct logfile events;
    int have_events;
    struct json_writer jw;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tarpit [OPTIONS]\n"
               "An MX that pushes back as real receivers do. It records accepted messages like\n"
               "bin/mx (bin/collect reads both) and logs every push-back decision.\n\n"
               "Options:\n");
    sink_options_help(f);
    fprintf(f, "  --config FILE          policies as 'key = value' lines ('#' comments);\n"
               "                         options on the command line win\n"
               "  --events FILE          one JSON line per push-back decision\n"
               "  --help                 this text\n\n");
    tarpit_config_help(f);
    fprintf(f, "\nReady configurations: tarpit/mx3-throttled.conf (the study's throttled mx3),\n"
               "tarpit/mx1-conn-limit.conf (10 connections per client, like Postfix's\n"
               "smtpd_client_connection_count_limit = 10).\n");
}

static void log_event(struct tarpit_main *m, struct smtp_session *s, const char *stage,
                      const char *action, int code, double delay)
{
    if (!m->have_events)
        return;
    json_begin(&m->jw);
    json_int(&m->jw, "t_us", clock_realtime_us());
    json_cstr(&m->jw, "client", s->client_addr);
    json_uint(&m->jw, "client_port", s->client_port);
    json_uint(&m->jw, "session", s->id);
    json_cstr(&m->jw, "stage", stage);
    json_cstr(&m->jw, "action", action);
    if (code)
        json_int(&m->jw, "code", code);
    else
        json_null(&m->jw, "code");
    json_double(&m->jw, "delay_s", delay, 3);
    if (json_end(&m->jw) == 0)
        logfile_append(&m->events, m->jw.buf, m->jw.len);
}

static void decide(void *ctx, struct smtp_session *s, enum smtp_stage stage, struct smtp_decision *d)
{
    struct tarpit_main *m = ctx;
    const char *action;

    tarpit_decide(&m->policy, s->client_addr, s->accepted, stage,
                  (double)clock_monotonic_us() / 1e6, d, &action);
    if (action)
        log_event(m, s, smtp_stage_name(stage), action, d->silent ? 0 : d->code, d->delay);
}

static void on_open(void *ctx, struct smtp_session *s)
{
    struct tarpit_main *m = ctx;
    tarpit_connect(&m->policy, s->client_addr, (double)clock_monotonic_us() / 1e6);
}

static void on_close(void *ctx, struct smtp_session *s)
{
    struct tarpit_main *m = ctx;
    tarpit_disconnect(&m->policy, s->client_addr);
}

static void on_pushback(void *ctx, struct smtp_session *s, const char *action, int code)
{
    log_event(ctx, s, "connect", action, code, 0);
}

static int config_entry(void *arg, const char *section, const char *key, const char *value,
                        char *err, size_t errlen)
{
    if (section) {
        snprintf(err, errlen, "sections are not used in tarpit configurations");
        return -1;
    }
    int r = tarpit_config_set(arg, key, value, err, errlen);
    if (r > 0)
        snprintf(err, errlen, "unknown key '%s' (see tarpit --help)", key);
    return r == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct option longopts[POLICY_ARGS_MAX];
    const char *keys[POLICY_ARGS_MAX];
    const char *cli_key[POLICY_ARGS_MAX], *cli_value[POLICY_ARGS_MAX];
    const char *config = NULL, *events = NULL;
    struct sink_options so;
    struct tarpit_config cfg;
    char err[1024];
    int nopt = 0, nkeys = 0, ncli = 0, opt;

    static const struct option base[] = {SINK_LONG_OPTIONS};
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        longopts[nopt++] = base[i];
    longopts[nopt++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    longopts[nopt++] = (struct option){"events", required_argument, NULL, OPT_EVENTS};
    longopts[nopt++] = (struct option){"help", no_argument, NULL, 'h'};
    nkeys = (int)tarpit_config_keys(keys, POLICY_ARGS_MAX - (size_t)nopt - 1);
    for (int i = 0; i < nkeys; i++)
        longopts[nopt++] = (struct option){keys[i], required_argument, NULL, OPT_POLICY + i};
    longopts[nopt] = (struct option){0};

    sink_options_init(&so);
    tarpit_config_init(&cfg);
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == OPT_CONFIG) {
            config = optarg;
        } else if (opt == OPT_EVENTS) {
            events = optarg;
        } else if (opt >= OPT_POLICY && opt < OPT_POLICY + nkeys) {
            cli_key[ncli] = keys[opt - OPT_POLICY];
            cli_value[ncli++] = optarg;
        } else {
            int r = sink_option(&so, opt, optarg, err, sizeof(err));
            if (r < 0) {
                fprintf(stderr, "tarpit: %s\n", err);
                return 2;
            }
            if (r == 0) {
                usage(stderr);
                return 2;
            }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tarpit: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (config && kv_parse_file(config, config_entry, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "tarpit: %s\n", err);
        return 2;
    }
    for (int i = 0; i < ncli; i++)
        if (tarpit_config_set(&cfg, cli_key[i], cli_value[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "tarpit: option --%s\n", err);
            return 2;
        }
    snprintf(cfg.hostname, sizeof(cfg.hostname), "%s", so.hostname);
    so.reject_early_talkers = cfg.reject_early_talkers;

    struct tarpit_main *m = calloc(1, sizeof(*m));
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (m == NULL)
        return 1;
    tarpit_init(&m->policy, &cfg);
    json_writer_init(&m->jw);
    if (events) {
        if (logfile_open(&m->events, events, loop, 1.0, err, sizeof(err)) != 0) {
            fprintf(stderr, "tarpit: %s\n", err);
            return 1;
        }
        m->have_events = 1;
    }
    struct sink_policy pol = {decide, on_open, on_close, on_pushback, m};
    if (sink_start(&m->sink, loop, "mailagg-tarpit", &so, &pol, err, sizeof(err)) != 0) {
        fprintf(stderr, "tarpit: %s\n", err);
        return 1;
    }
    int rc = sink_run(&m->sink);
    if (m->have_events)
        logfile_close(&m->events);
    json_writer_free(&m->jw);
    tarpit_free(&m->policy);
    free(m);
    return rc;
}
