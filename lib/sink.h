/* sink - an SMTP receiver that records what it accepts: the smtp_server engine plus
 * JSON-lines records, an optional Maildir, STARTTLS, signals and statistics.
 * bin/mx is a sink with no policy; bin/tarpit is a sink with a push-back policy. */
#ifndef LIB_SINK_H
#define LIB_SINK_H

#include <getopt.h>
#include <stdio.h>

#include "json.h"
#include "logfile.h"
#include "smtp_server.h"

/* Long options every sink takes; a program appends its own and ends with {0}. */
enum sink_opt {
    SINK_OPT_LISTEN = 1000,
    SINK_OPT_HOSTNAME,
    SINK_OPT_RECORD,
    SINK_OPT_MAILDIR,
    SINK_OPT_TLS_CERT,
    SINK_OPT_TLS_KEY,
    SINK_OPT_MAX_SIZE,
    SINK_OPT_MAX_CONNS,
    SINK_OPT_STATS_INTERVAL,
    SINK_OPT_IDLE_TIMEOUT,
    SINK_OPT_GRACE,
    SINK_OPT_BARE_LF,
};

#define SINK_LONG_OPTIONS                                                         \
    {"listen", required_argument, NULL, SINK_OPT_LISTEN},                         \
    {"hostname", required_argument, NULL, SINK_OPT_HOSTNAME},                     \
    {"record", required_argument, NULL, SINK_OPT_RECORD},                         \
    {"maildir", required_argument, NULL, SINK_OPT_MAILDIR},                       \
    {"tls-cert", required_argument, NULL, SINK_OPT_TLS_CERT},                     \
    {"tls-key", required_argument, NULL, SINK_OPT_TLS_KEY},                       \
    {"max-size", required_argument, NULL, SINK_OPT_MAX_SIZE},                     \
    {"max-conns", required_argument, NULL, SINK_OPT_MAX_CONNS},                   \
    {"stats-interval", required_argument, NULL, SINK_OPT_STATS_INTERVAL},         \
    {"idle-timeout", required_argument, NULL, SINK_OPT_IDLE_TIMEOUT},             \
    {"grace", required_argument, NULL, SINK_OPT_GRACE},                           \
    {"bare-lf", required_argument, NULL, SINK_OPT_BARE_LF}

struct sink_options {
    const char *listen[SMTP_SERVER_LISTEN_MAX];
    int nlisten;
    char hostname[256];
    const char *record;
    const char *maildir;
    const char *tls_cert;
    const char *tls_key;
    uint64_t max_size;
    unsigned max_conns;
    double stats_interval;
    double idle_timeout;
    double grace;
    int reject_early_talkers;
    enum smtp_bare_mode bare_mode;
};

/* What a program adds to the sink; any member may be NULL. */
struct sink_policy {
    void (*decide)(void *ctx, struct smtp_session *s, enum smtp_stage stage, struct smtp_decision *d);
    void (*on_session_open)(void *ctx, struct smtp_session *s);
    void (*on_session_close)(void *ctx, struct smtp_session *s);
    void (*on_pushback)(void *ctx, struct smtp_session *s, const char *action, int code);
    void *ctx;
};

struct sink {
    const char *program;
    struct ev_loop *loop;
    struct sink_options opt;
    struct sink_policy policy;
    struct smtp_server server;
    struct smtp_server_ops ops;
    SSL_CTX *tls;
    int have_record;
    struct logfile record;
    struct json_writer jw;
    ev_signal sig_term, sig_int, sig_hup, sig_usr1;
    ev_timer stats_timer;
    uint64_t record_errors, maildir_errors;
};

/* sink_options_init - the defaults (hostname from the system). */
void sink_options_init(struct sink_options *o);

/* sink_option - take one of the SINK_LONG_OPTIONS; returns 1 if taken, 0 if opt is not
 * a sink option, -1 with a reason in err when the value is bad. */
int sink_option(struct sink_options *o, int opt, const char *arg, char *err, size_t errlen);

/* sink_options_help - print the sink options with their defaults. */
void sink_options_help(FILE *f);

/* sink_start - open the record file, Maildir, TLS and listeners and install signal
 * handlers on loop. Returns 0, or -1 with a reason in err. */
int sink_start(struct sink *k, struct ev_loop *loop, const char *program,
               const struct sink_options *o, const struct sink_policy *policy, char *err,
               size_t errlen);

/* sink_run - run until SIGTERM/SIGINT has drained every session; flush and close.
 * Returns the exit status (0, or 1 when records could not be written). */
int sink_run(struct sink *k);

/* sink_record_format - the JSON record of the message s is accepting, into w. */
int sink_record_format(struct json_writer *w, const struct smtp_session *s, const char *hostname);


#endif
