/* proxy.h - the transparent SMTP proxy's configuration, counters and sessions.
 * main.c reads options and runs the loop; session.c relays one intercepted connection. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "json.h"
#include "listener.h"
#include "logfile.h"
#include "relay.h"

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
    enum relay_tls_mode tls_mode;
    enum smtp_bare_mode bare_mode;    /* bare CR/LF in a message: normalize or strict */
    SSL_CTX *tls;
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
    struct proxy_session *sessions;
};

/* proxy_accept - start relaying an accepted client connection (listener callback). */
void proxy_accept(void *ctx, int fd, const struct sockaddr_storage *peer, int index);

/* proxy_stop - stop accepting; sessions finish until grace seconds pass, then 421. */
void proxy_stop(struct proxy *p);

/* proxy_log_counters - one JSON line with the counters. */
void proxy_log_counters(struct proxy *p);

/* proxy_original_dst - the destination the client meant: the fixed upstream, the TPROXY
 * local address, or SO_ORIGINAL_DST behind REDIRECT. Returns 0, or -1 with errno. */
int proxy_original_dst(const struct proxy *p, int fd, struct sockaddr_storage *dst, socklen_t *len);

#endif
