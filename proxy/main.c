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

static struct proxy proxy;

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
            "                         offered) or verify (require it and a valid certificate)\n"
            "  --bare-lf MODE         a bare CR or LF in a message: normalize (default: sent\n"
            "                         on as CRLF, a line it starts dot-stuffed) or strict\n"
            "                         (the message is refused with 521, the MX never gets it);\n"
            "                         only CRLF.CRLF ends a message either way\n"
            "  --log FILE|-           JSON lines: sessions, commands, replies, TLS, messages\n"
            "  --log-level LEVEL      messages (sessions, TLS, messages) or commands (default:\n"
            "                         also every command and reply)\n"
            "  --max-sessions N       421 beyond N sessions (default 10000; 0: no limit)\n"
            "  --timeout-connect SEC  connecting to the MX (default 30)\n"
            "  --timeout-reply SEC    waiting for a reply (default 300, RFC 5321 4.5.3.2)\n"
            "  --timeout-data SEC     during and after DATA (default 600, RFC 5321 4.5.3.2.6)\n"
            "  --timeout-idle SEC     waiting for the client's next command (default 300)\n"
            "  --grace SEC            on SIGTERM, time open sessions get (default 30)\n"
            "  --user NAME            drop root for NAME after binding\n"
            "  --help                 this text\n\n"
            "Signals: TERM/INT stop accepting and let sessions finish (then 421); HUP reopens\n"
            "the log; USR1 logs counters. See proxy/README.md for deployment with nftables.\n");
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

int main(int argc, char **argv)
{
    enum { O_LISTEN = 1000, O_TPROXY, O_UPSTREAM, O_OUTBOUND, O_TLS, O_LOG, O_LOG_LEVEL,
           O_MAX_SESSIONS, O_T_CONNECT, O_T_REPLY, O_T_DATA, O_T_IDLE, O_GRACE, O_USER, O_BARE_LF };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN}, {"tproxy", no_argument, NULL, O_TPROXY},
        {"upstream", required_argument, NULL, O_UPSTREAM}, {"outbound-ip", required_argument, NULL, O_OUTBOUND},
        {"tls", required_argument, NULL, O_TLS}, {"log", required_argument, NULL, O_LOG},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"bare-lf", required_argument, NULL, O_BARE_LF},
        {"max-sessions", required_argument, NULL, O_MAX_SESSIONS},
        {"timeout-connect", required_argument, NULL, O_T_CONNECT},
        {"timeout-reply", required_argument, NULL, O_T_REPLY},
        {"timeout-data", required_argument, NULL, O_T_DATA},
        {"timeout-idle", required_argument, NULL, O_T_IDLE}, {"grace", required_argument, NULL, O_GRACE},
        {"user", required_argument, NULL, O_USER}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *listen[LISTENER_MAX], *log_path = NULL, *user = NULL;
    int nlisten = 0, opt;
    char err[1024];
    uint64_t u;

    struct proxy *p = &proxy;
    p->tls_mode = RELAY_TLS_MAY;
    p->bare_mode = SMTP_BARE_NORMALIZE;
    p->timeout_connect = 30;
    p->timeout_reply = 300;
    p->timeout_data = 600;
    p->timeout_idle = 300;
    p->grace = 30;
    p->max_sessions = 10000;
    p->log_level = PROXY_LOG_COMMANDS;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        double *t = NULL;
        switch (opt) {
        case O_LISTEN:
            if (nlisten >= LISTENER_MAX) {
                fprintf(stderr, "proxy: at most %d --listen\n", LISTENER_MAX);
                return 2;
            }
            listen[nlisten++] = optarg;
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
        case O_LOG: log_path = optarg; break;
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
        case O_USER: user = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (t && numparse_double(optarg, 0.001, 86400, t) != 0) {
            fprintf(stderr, "proxy: %s '%s': expected seconds\n", argv[optind - 1], optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "proxy: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (nlisten == 0) {
        fprintf(stderr, "proxy: no --listen given (see --help)\n");
        return 2;
    }

    p->loop = ev_default_loop(EVFLAG_AUTO);
    conn_loop_init(p->loop);
    json_writer_init(&p->jw);
    signal(SIGPIPE, SIG_IGN);
    if (p->tls_mode != RELAY_TLS_NONE &&
        (p->tls = tls_client_ctx_new(p->tls_mode == RELAY_TLS_VERIFY, err, sizeof(err))) == NULL) {
        fprintf(stderr, "proxy: TLS: %s\n", err);
        return 1;
    }
    listener_init(&p->listeners, p->loop, "proxy", proxy_accept, p);
    for (int i = 0; i < nlisten; i++)
        if (listener_add(&p->listeners, listen[i], p->transparent, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --listen %s\n", err);
            return 1;
        }
    if (p->have_upstream && listener_is_own(&p->listeners, (struct sockaddr *)&p->upstream)) {
        fprintf(stderr, "proxy: --upstream is one of the proxy's own listening addresses\n");
        return 2;
    }
    if (log_path) {
        if (logfile_open(&p->log, log_path, p->loop, 1.0, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --log %s\n", err);
            return 1;
        }
        p->have_log = 1;
    }
    if (user && drop_privileges(user) != 0)
        return 1;
    static ev_signal sigs[4];
    const int signums[4] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        ev_signal_init(&sigs[i], sig_cb, signums[i]);
        ev_signal_start(p->loop, &sigs[i]);
        ev_unref(p->loop); /* signal watchers alone do not keep the loop alive */
    }
    ev_run(p->loop, 0);
    proxy_log_counters(p);
    if (p->have_log)
        logfile_close(&p->log);
    json_writer_free(&p->jw);
    if (p->tls)
        SSL_CTX_free(p->tls);
    return 0;
}
