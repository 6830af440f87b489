/* proxy.h - the transparent SMTP proxy's configuration, counters and sessions.
 * main.c reads options and runs the loop; session.c relays one intercepted connection. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "admission.h"
#include "conn.h"
#include "json.h"
#include "listener.h"
#include "logfile.h"
#include "metrics.h"
#include "policy_file.h"
#include "relay.h"

#define PROXY_DEST_BUCKETS 1024   /* destination records' hash table */
#define PROXY_DESTS_MAX 65536     /* destination records kept (idle ones are freed) */
#define PROXY_HOLD_TICK 0.1       /* seconds: held clients are checked this often */
#define PROXY_IDLE_RECLAIM_US 200000 /* a client silent this long between messages hands
                                        its connection to a held one (a pooled connection
                                        nobody uses blocks the pool's own senders) */

/* A destination's connection budget and who waits for it (the I/O side of admission). */
struct proxy_dest {
    struct proxy_dest *next;          /* hash chain */
    char key[ADDR_TEXT_MAX + ADM_NAME_MAX]; /* "IP:PORT", or "[NAME]" for a policy section */
    struct adm_dest adm;
    unsigned logged_limit;            /* the limit last written to the log */
    uint64_t probes_logged, expired, passed_refusals;
};

/* A client accepted by TCP and held before any greeting until its destination has room. */
struct proxy_held {
    struct adm_waiter w;              /* first: the scheduler's link */
    struct proxy *p;
    struct proxy_dest *dest;
    int fd;
    ev_io io;                         /* notices the client leaving */
    int64_t start_us;                 /* accepted at */
    struct proxy_held *next, *prev;   /* every held client */
    socklen_t dlen;
    struct sockaddr_storage peer, dst;
};

/* How a session got its connection: straight away or after being held. */
struct proxy_admit {
    struct proxy_dest *dest;          /* NULL: no budget applies */
    uint64_t tenant_id;
    int64_t held_us;
    const char *decision;             /* "direct" (no budget), "admitted" (at once), "held" */
};

enum proxy_log_level { PROXY_LOG_MESSAGES = 0, PROXY_LOG_COMMANDS };

struct proxy {
    struct ev_loop *loop;
    struct listener_set listeners;
    int transparent;                  /* TPROXY listeners: destination = getsockname() */
    int have_upstream;
    struct sockaddr_storage upstream; /* fixed destination (tests, benches) */
    socklen_t upstream_len;
    int have_outbound;
    struct sockaddr_storage outbound; /* source address towards the MXs */
    socklen_t outbound_len;
    struct policy *policy;            /* --policy FILE, or NULL */
    struct policy_budget dest_budget; /* --dest-limit: destinations without their own */
    double hold_max;                  /* then 421 4.4.5: the policy's hold-max, else ... */
    double hold_max_arg;              /* ... --hold-max */
    int admission;                    /* some budget applies somewhere */
    struct proxy_dest *dests[PROXY_DEST_BUCKETS];
    unsigned ndests;
    struct proxy_held *held;          /* every held client */
    unsigned nheld;
    ev_timer hold_timer;
    enum relay_tls_mode tls_mode;
    enum smtp_bare_mode bare_mode;    /* bare CR/LF in a message: normalize or strict */
    SSL_CTX *tls[RELAY_TLS_VERIFY + 1]; /* client contexts for may and verify, when used */
    char policy_path[4096];           /* --policy, read again on SIGHUP */
    char tls_ca[4096];                /* --tls-ca: CAs for verify besides the system's */
    double timeout_connect, timeout_reply, timeout_data, timeout_idle, grace;
    unsigned max_sessions;
    struct logfile log;
    int have_log;
    enum proxy_log_level log_level;
    struct json_writer jw;
    int stopping;
    ev_timer stop_timer;
    /* counters */
    unsigned nsessions;
    uint64_t sessions_total, refused, no_destination, upstream_failures, messages, tls_sessions;
    uint64_t bare_messages;           /* messages with bare CR/LF (normalized or refused) */
    uint64_t bytes_c2s, bytes_s2c;
    uint64_t held_total, hold_expired, held_gone, rehelds, yields, reclaimed;
    uint64_t reloads, reload_errors;
    struct metrics metrics;
    struct listener_set metrics_listener;
    struct metrics_source metrics_source;
    int have_metrics;
    /* --workers N: this worker's place; worker 0 admits every budgeted connection */
    int worker, nworkers;             /* 0 and 0 without --workers */
    uint64_t id_base;                 /* session ids: id_base + sessions_total */
    int handoff_fd, ctl_fd;
    ev_io handoff_io, ctl_io;
    uint64_t handed_out, handed_in, handoff_failed;
    struct proxy_session *sessions;
};

/* proxy_accept - start relaying an accepted client connection (listener callback). */
void proxy_accept(void *ctx, int fd, const struct sockaddr_storage *peer, int index);

/* proxy_accept_from - a client whose destination is known (accepted here, or handed
 * over by another worker): refuse, admit or hold it. */
void proxy_accept_from(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                       const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us);

/* proxy_session_start - relay fd (from peer, meant for dst) now; a = how it was admitted. */
void proxy_session_start(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                         const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us,
                         const struct proxy_admit *a);

/* proxy_admission - decide for an accepted client: start its session, or hold it. */
void proxy_admission(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                     const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us);

/* proxy_rehold - the MX refused a session's connection at its greeting for want of
 * connections: hold the client (fd) again at the front of its tenant's queue. */
void proxy_rehold(struct proxy *p, struct proxy_held *h, int fd);

/* proxy_held_new - a held-client record for fd; NULL without memory. */
struct proxy_held *proxy_held_new(struct proxy *p, struct proxy_dest *dest, int fd,
                                  const struct sockaddr_storage *peer,
                                  const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us);

/* proxy_dest_done - an admitted connection ended: release its slot, admit who is next,
 * free the record when idle. */
void proxy_dest_done(struct proxy *p, struct proxy_dest *d, uint64_t tenant, int greeted);

/* proxy_dest_refresh - admit who has room now, and free the record if it is idle. */
void proxy_dest_refresh(struct proxy *p, struct proxy_dest *d);

/* proxy_pump - admit held clients while the destination has room. */
void proxy_pump(struct proxy *p, struct proxy_dest *d);

/* proxy_dest_log - log a limit the destination learned or probed, if it changed. */
void proxy_dest_log(struct proxy *p, struct proxy_dest *d, const char *why);

/* proxy_hold_stop - on shutdown: every held client gets 421 and is closed. */
void proxy_hold_stop(struct proxy *p);

/* proxy_refuse - answer a connection we will not relay (without blocking), and close it. */
void proxy_refuse(int fd, const char *reply);

/* proxy_log_begin - start a JSON log line: time, event, and the session id unless 0. */
void proxy_log_begin(struct proxy *p, const char *event, uint64_t session);

/* proxy_log_end - write the line started by proxy_log_begin. */
void proxy_log_end(struct proxy *p);

/* proxy_reclaim_idle - sessions to destinations with held clients whose client has been
 * silent between messages for PROXY_IDLE_RECLAIM_US hand their connection back. */
void proxy_reclaim_idle(struct proxy *p, int64_t now_us);

/* proxy_tls_prepare - the TLS contexts the global mode and pol's destinations use;
 * returns 0, or -1 with a reason in err. */
int proxy_tls_prepare(struct proxy *p, const struct policy *pol, char *err, size_t errlen);

/* proxy_policy_use - make pol (or NULL) the policy of new sessions: budgets of known
 * destinations follow it and held clients are admitted where there is room now. */
void proxy_policy_use(struct proxy *p, struct policy *pol);

/* proxy_policy_reload - read --policy again (SIGHUP): on success the new policy is used
 * for new sessions, else the old one stays; either way a "policy" log line says so. */
void proxy_policy_reload(struct proxy *p);

/* proxy_stop - stop accepting; sessions finish until grace seconds pass, then 421. */
void proxy_stop(struct proxy *p);

/* proxy_log_counters - one JSON line with the counters. */
void proxy_log_counters(struct proxy *p);

/* proxy_original_dst - the destination the client meant: the fixed upstream, the TPROXY
 * local address, or SO_ORIGINAL_DST behind REDIRECT. Returns 0, or -1 with errno. */
int proxy_original_dst(const struct proxy *p, int fd, struct sockaddr_storage *dst, socklen_t *len);

#endif
