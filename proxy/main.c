/* proxy - the transparent SMTP proxy: relays intercepted SMTP sessions from MSAs to the
 * MXs they meant, queueing nothing, doing STARTTLS towards the MX, logging every command,
 * reply and message as JSON lines. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conn.h"
#include "numparse.h"
#include "proxy.h"
#include "tls.h"
#include "workers.h"

static struct proxy proxy;

/* The defaults, in one place: main starts from them and --help prints them. */
static const struct proxy_defaults {
    double timeout_connect, timeout_reply, timeout_data, timeout_idle, grace, hold_max;
    unsigned max_sessions;
} DEFAULTS = {
    .hold_max = 120, /* well below the 5 minutes a client waits for a greeting (4.5.3.2.1) */
    .timeout_connect = 30,
    .timeout_reply = 300, /* RFC 5321 4.5.3.2: 5 minutes for most replies */
    .timeout_data = 600,  /* RFC 5321 4.5.3.2.6: 10 minutes for the final reply */
    .timeout_idle = 300,  /* RFC 5321 4.5.3.2.7: a server waits 5 minutes for a command */
    .grace = 30,
    .max_sessions = 10000,
};

/* The options that are not settings of struct proxy. */
struct proxy_args {
    const char *listen[LISTENER_MAX];
    int nlisten;
    const char *log_path, *user, *policy_path, *metrics;
    int workers;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: proxy --listen ADDR:PORT [OPTIONS]\n"
            "A transparent SMTP proxy for outbound mail aggregation. Behind a REDIRECT rule it\n"
            "learns where each MSA connection was going (SO_ORIGINAL_DST), connects there\n"
            "itself and relays the session. It queues nothing: the MSA keeps its message until\n"
            "the MX accepts it, and any failure towards the MX reaches the MSA as a 421.\n\n"
            "  --listen ADDR:PORT     listen here (repeatable; IPv6 as [ADDR]:PORT)\n"
            "  --tproxy               listeners are TPROXY (IP_TRANSPARENT) sockets\n"
            "  --upstream HOST:PORT   relay every session here instead (tests, benches)\n"
            "  --outbound-ip ADDR     source address towards the MXs\n"
            "  --tls MODE             towards the MX: none, may (default: STARTTLS when\n"
            "                         offered) or verify (require it and a valid certificate\n"
            "                         for the name the MX greets with)\n"
            "  --tls-ca FILE          verify against the CAs in FILE (PEM) too\n"
            "  --bare-lf MODE         a bare CR or LF in a message: normalize (default: sent\n"
            "                         on as CRLF, a line it starts dot-stuffed) or strict\n"
            "                         (the message is refused with 521, the MX never gets it);\n"
            "                         only CRLF.CRLF ends a message either way\n"
            "  --policy FILE          tenants, destinations, budgets, outbound addresses\n"
            "                         (see proxy/README.md; --tenants FILE is the same)\n"
            "  --dest-limit N|auto    connections per destination (IP:PORT) for all without a\n"
            "                         budget in the policy: beyond it, clients are held before\n"
            "                         the greeting and admitted fairly across tenants; auto\n"
            "                         learns it from the MX's refusals (default: none)\n"
            "  --hold-max SEC         a held client gets 421 4.4.5 after this (default %g)\n"
            "  --metrics ADDR:PORT    serve Prometheus metrics (GET /metrics) here\n"
            "  --workers N            N processes (default 1) under a parent that restarts\n"
            "                         them; worker 0 admits every connection with a budget\n"
            "  --log FILE|-           JSON lines: sessions, commands, replies, TLS, messages\n"
            "  --log-level LEVEL      messages (sessions, TLS, messages) or commands (default:\n"
            "                         also every command and reply)\n"
            "  --max-sessions N       421 beyond N sessions (default %u per worker; 0: none)\n"
            "  --timeout-connect SEC  connecting to the MX (default %g)\n"
            "  --timeout-reply SEC    the MX's reply to a command (default %g, RFC 5321 4.5.3.2)\n"
            "  --timeout-data SEC     the MX's reply to a message's final dot (default %g,\n"
            "                         RFC 5321 4.5.3.2.6)\n"
            "  --timeout-idle SEC     the client's next command or line, or reading our\n"
            "                         replies (default %g)\n"
            "  --grace SEC            on SIGTERM, time open sessions get (default %g)\n"
            "  --user NAME            drop root for NAME after binding\n"
            "  --help                 this text\n\n"
            "Signals: TERM/INT stop accepting and let sessions finish (then 421); HUP reopens\n"
            "the log and reads --policy again (an error keeps the old one); USR1 logs counters\n"
            "and destinations. See proxy/README.md for deployment with nftables.\n",
            DEFAULTS.hold_max, DEFAULTS.max_sessions, DEFAULTS.timeout_connect, DEFAULTS.timeout_reply,
            DEFAULTS.timeout_data, DEFAULTS.timeout_idle, DEFAULTS.grace);
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    char err[512];

    (void)loop;
    (void)revents;
    switch (w->signum) {
    case SIGTERM:
    case SIGINT:
        fprintf(stderr, "proxy: signal %d: no new sessions; open ones get %.0f s\n", w->signum, proxy.grace);
        proxy_stop(&proxy);
        break;
    case SIGHUP:
        if (proxy.have_log && logfile_reopen(&proxy.log, err, sizeof(err)) != 0)
            fprintf(stderr, "proxy: %s\n", err);
        proxy_policy_reload(&proxy);
        break;
    case SIGUSR1:
        proxy_log_counters(&proxy);
        break;
    }
}

static int drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);

    if (pw == NULL) {
        fprintf(stderr, "proxy: --user %s: no such user\n", user);
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "proxy: --user %s: cannot switch: %s\n", user, strerror(errno));
        return -1;
    }
    return 0;
}

/* parse_options - read the command line into p and a; returns -1 to go on, or the exit
 * status (0 after --help, 2 on bad usage) with the message printed. */
static int parse_options(int argc, char **argv, struct proxy *p, struct proxy_args *a)
{
    enum { O_LISTEN = 1000, O_TPROXY, O_UPSTREAM, O_OUTBOUND, O_TLS, O_LOG, O_LOG_LEVEL,
           O_MAX_SESSIONS, O_T_CONNECT, O_T_REPLY, O_T_DATA, O_T_IDLE, O_GRACE, O_USER, O_BARE_LF,
           O_POLICY, O_DEST_LIMIT, O_HOLD_MAX, O_METRICS, O_WORKERS, O_TLS_CA };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN}, {"tproxy", no_argument, NULL, O_TPROXY},
        {"upstream", required_argument, NULL, O_UPSTREAM}, {"outbound-ip", required_argument, NULL, O_OUTBOUND},
        {"tls", required_argument, NULL, O_TLS}, {"log", required_argument, NULL, O_LOG},
        {"tls-ca", required_argument, NULL, O_TLS_CA},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"bare-lf", required_argument, NULL, O_BARE_LF},
        {"policy", required_argument, NULL, O_POLICY}, {"tenants", required_argument, NULL, O_POLICY},
        {"dest-limit", required_argument, NULL, O_DEST_LIMIT}, {"hold-max", required_argument, NULL, O_HOLD_MAX},
        {"metrics", required_argument, NULL, O_METRICS}, {"workers", required_argument, NULL, O_WORKERS},
        {"max-sessions", required_argument, NULL, O_MAX_SESSIONS},
        {"timeout-connect", required_argument, NULL, O_T_CONNECT},
        {"timeout-reply", required_argument, NULL, O_T_REPLY},
        {"timeout-data", required_argument, NULL, O_T_DATA},
        {"timeout-idle", required_argument, NULL, O_T_IDLE}, {"grace", required_argument, NULL, O_GRACE},
        {"user", required_argument, NULL, O_USER}, {"help", no_argument, NULL, 'h'}, {0}};
    int opt, li = 0;
    char err[1024];
    uint64_t u;

    p->tls_mode = RELAY_TLS_MAY;
    p->bare_mode = SMTP_BARE_NORMALIZE;
    p->timeout_connect = DEFAULTS.timeout_connect;
    p->timeout_reply = DEFAULTS.timeout_reply;
    p->timeout_data = DEFAULTS.timeout_data;
    p->timeout_idle = DEFAULTS.timeout_idle;
    p->grace = DEFAULTS.grace;
    p->hold_max = p->hold_max_arg = DEFAULTS.hold_max;
    p->max_sessions = DEFAULTS.max_sessions;
    p->log_level = PROXY_LOG_COMMANDS;
    while ((opt = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        double *t = NULL;
        switch (opt) {
        case O_LISTEN:
            if (a->nlisten >= LISTENER_MAX) {
                fprintf(stderr, "proxy: at most %d --listen\n", LISTENER_MAX);
                return 2;
            }
            a->listen[a->nlisten++] = optarg;
            break;
        case O_TPROXY: p->transparent = 1; break;
        case O_UPSTREAM:
            if (addr_parse(optarg, 25, &p->upstream, &p->upstream_len, err, sizeof(err)) != 0) {
                fprintf(stderr, "proxy: --upstream %s\n", err);
                return 2;
            }
            p->have_upstream = 1;
            break;
        case O_OUTBOUND:
            if (addr_parse(optarg, 0, &p->outbound, &p->outbound_len, err, sizeof(err)) != 0) {
                fprintf(stderr, "proxy: --outbound-ip %s\n", err);
                return 2;
            }
            p->have_outbound = 1;
            break;
        case O_TLS:
            if (strcmp(optarg, "none") == 0)
                p->tls_mode = RELAY_TLS_NONE;
            else if (strcmp(optarg, "may") == 0)
                p->tls_mode = RELAY_TLS_MAY;
            else if (strcmp(optarg, "verify") == 0)
                p->tls_mode = RELAY_TLS_VERIFY;
            else {
                fprintf(stderr, "proxy: --tls '%s': expected none, may or verify\n", optarg);
                return 2;
            }
            break;
        case O_TLS_CA:
            if (snprintf(p->tls_ca, sizeof(p->tls_ca), "%s", optarg) >= (int)sizeof(p->tls_ca)) {
                fprintf(stderr, "proxy: --tls-ca: path too long\n");
                return 2;
            }
            break;
        case O_LOG: a->log_path = optarg; break;
        case O_POLICY: a->policy_path = optarg; break;
        case O_METRICS: a->metrics = optarg; break;
        case O_DEST_LIMIT:
            if (policy_budget_parse(optarg, &p->dest_budget) != 0) {
                fprintf(stderr, "proxy: --dest-limit '%s': expected none, auto or a count 1..100000\n", optarg);
                return 2;
            }
            break;
        case O_HOLD_MAX:
            if (numparse_double(optarg, 0.001, POLICY_HOLD_MAX_LIMIT, &p->hold_max_arg) != 0) {
                fprintf(stderr, "proxy: --hold-max '%s': expected seconds, at most %d\n", optarg,
                        POLICY_HOLD_MAX_LIMIT);
                return 2;
            }
            break;
        case O_BARE_LF:
            if (smtp_bare_mode_parse(optarg, &p->bare_mode) != 0 || p->bare_mode == SMTP_BARE_LENIENT) {
                fprintf(stderr, "proxy: --bare-lf '%s': expected normalize or strict\n", optarg);
                return 2;
            }
            break;
        case O_LOG_LEVEL:
            if (strcmp(optarg, "messages") == 0)
                p->log_level = PROXY_LOG_MESSAGES;
            else if (strcmp(optarg, "commands") == 0)
                p->log_level = PROXY_LOG_COMMANDS;
            else {
                fprintf(stderr, "proxy: --log-level '%s': expected messages or commands\n", optarg);
                return 2;
            }
            break;
        case O_WORKERS:
            if (numparse_u64(optarg, WORKERS_MAX, &u) != 0 || u == 0) {
                fprintf(stderr, "proxy: --workers '%s': expected a count 1..%d\n", optarg, WORKERS_MAX);
                return 2;
            }
            a->workers = (int)u;
            break;
        case O_MAX_SESSIONS:
            if (numparse_u64(optarg, 10000000, &u) != 0) {
                fprintf(stderr, "proxy: --max-sessions '%s': expected a count\n", optarg);
                return 2;
            }
            p->max_sessions = (unsigned)u;
            break;
        case O_T_CONNECT: t = &p->timeout_connect; break;
        case O_T_REPLY: t = &p->timeout_reply; break;
        case O_T_DATA: t = &p->timeout_data; break;
        case O_T_IDLE: t = &p->timeout_idle; break;
        case O_GRACE: t = &p->grace; break;
        case O_USER: a->user = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (t && numparse_double(optarg, 0.001, 86400, t) != 0) {
            fprintf(stderr, "proxy: --%s '%s': expected seconds\n", longopts[li].name, optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "proxy: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (a->nlisten == 0) {
        fprintf(stderr, "proxy: no --listen given (see --help)\n");
        return 2;
    }
    return -1;
}

/* load_policy - read --policy and put it to use (with --dest-limit and --hold-max);
 * returns 0, or -1 with the message printed. */
static int load_policy(struct proxy *p, const char *path)
{
    char err[1024];
    struct policy *pol = NULL;

    if (path) {
        if (snprintf(p->policy_path, sizeof(p->policy_path), "%s", path) >= (int)sizeof(p->policy_path)) {
            fprintf(stderr, "proxy: --policy: path too long\n");
            return -1;
        }
        if ((pol = malloc(sizeof(*pol))) == NULL || policy_init(pol) != 0) {
            fprintf(stderr, "proxy: --policy %s: out of memory\n", path);
            free(pol);
            return -1;
        }
        if (policy_load(pol, path, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --policy %s\n", err);
            policy_free(pol);
            free(pol);
            return -1;
        }
    }
    proxy_policy_use(p, pol);
    return 0;
}

/* prepare - what every worker shares: the policy and the TLS contexts; returns -1 to go
 * on, or the exit status with the message printed. */
static int prepare(struct proxy *p, const struct proxy_args *a)
{
    char err[1024];

    if (load_policy(p, a->policy_path) != 0)
        return 2;
    if (proxy_tls_prepare(p, p->policy, err, sizeof(err)) != 0) {
        fprintf(stderr, "proxy: TLS: %s\n", err);
        return 1;
    }
    return -1;
}

/* setup - the loop, the listeners (opened here, or a worker's inherited ones), metrics
 * (one process), the log, then dropping root; returns -1 to go on, or the exit status
 * with the message printed. */
static int setup(struct proxy *p, const struct proxy_args *a, const struct worker_env *env)
{
    char err[1024];

    p->loop = ev_default_loop(EVFLAG_AUTO);
    conn_loop_init(p->loop);
    json_writer_init(&p->jw);
    signal(SIGPIPE, SIG_IGN);
    listener_init(&p->listeners, p->loop, "proxy", proxy_accept, p);
    for (int i = 0; env && i < env->nlisten; i++)
        listener_adopt(&p->listeners, env->listen_fd[i]);
    for (int i = 0; !env && i < a->nlisten; i++)
        if (listener_add(&p->listeners, a->listen[i], p->transparent ? ADDR_LISTEN_TRANSPARENT : 0, err,
                         sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --listen %s\n", err);
            return 1;
        }
    if (p->have_upstream && listener_is_own(&p->listeners, (struct sockaddr *)&p->upstream)) {
        fprintf(stderr, "proxy: --upstream is one of the proxy's own listening addresses\n");
        return 2;
    }
    if (a->metrics && !env) {
        if (metrics_listen_proxy(p, a->metrics, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --metrics %s\n", err);
            return 1;
        }
        p->have_metrics = 1;
    }
    if (a->log_path) {
        if (logfile_open(&p->log, a->log_path, p->loop, 1.0, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --log %s\n", err);
            return 1;
        }
        p->have_log = 1;
    }
    if (a->user && drop_privileges(a->user) != 0)
        return 1;
    return -1;
}

/* start_signals - TERM/INT stop, HUP reopens the log, USR1 logs the counters. */
static void start_signals(struct proxy *p)
{
    static ev_signal sigs[4];
    const int signums[4] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        ev_signal_init(&sigs[i], sig_cb, signums[i]);
        ev_signal_start(p->loop, &sigs[i]);
        ev_unref(p->loop); /* signal watchers alone do not keep the loop alive */
    }
}

/* serve - run one proxy (the only one, or a worker with env) until it stops; returns
 * the exit status. */
static int serve(struct proxy *p, const struct proxy_args *a, const struct worker_env *env)
{
    int rc = setup(p, a, env);

    if (rc >= 0)
        return rc;
    start_signals(p);
    if (env) {
        worker_attach(p, env);
        sigprocmask(SIG_SETMASK, &env->sigmask, NULL); /* signals that came meanwhile arrive now */
    }
    ev_run(p->loop, 0);
    proxy_log_counters(p);
    if (p->have_log)
        logfile_close(&p->log);
    json_writer_free(&p->jw);
    for (int m = 0; m <= RELAY_TLS_VERIFY; m++)
        if (p->tls[m])
            SSL_CTX_free(p->tls[m]);
    proxy_policy_use(p, NULL); /* frees the policy */
    metrics_free(&p->metrics);
    return 0;
}

static struct proxy_args args;

/* serve_worker - a worker's life (workers_serve_fn). */
static int serve_worker(void *ctx, const struct worker_env *env)
{
    return serve(ctx, &args, env);
}

int main(int argc, char **argv)
{
    struct proxy *p = &proxy;
    int rc;

    if ((rc = parse_options(argc, argv, p, &args)) >= 0 || (rc = prepare(p, &args)) >= 0)
        return rc;
    if (args.workers > 1)
        return workers_run(p, args.workers, args.listen, args.nlisten,
                           p->transparent ? ADDR_LISTEN_TRANSPARENT : 0, args.metrics, serve_worker, p);
    return serve(p, &args, NULL);
}
