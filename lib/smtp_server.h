/* smtp_server - the SMTP server engine (RFC 5321, PIPELINING, STARTTLS, SIZE) shared by
 * mx and tarpit: listeners, sessions, DATA with dot-unstuffing and header capture.
 * Programs differ only in policy callbacks (delays, replies, disconnects, stutter). */
#ifndef LIB_SMTP_SERVER_H
#define LIB_SMTP_SERVER_H

#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "header.h"
#include "listener.h"
#include "mua_stamp.h"
#include "smtp_cmd.h"
#include "smtp_data.h"

#define SMTP_SERVER_LISTEN_MAX LISTENER_MAX
#define SMTP_HELO_MAX 256
#define SMTP_RCPTS_MAX 100        /* RFC 5321 4.5.3.1.8: at least 100 must be accepted */
#define SMTP_RCPT_BUF 2048        /* recipients kept per message (all are counted) */
#define SMTP_RECEIVED_MAX 32      /* Received: headers kept per message */
#define SMTP_RECEIVED_BUF 8192
#define SMTP_QUEUE_ID_MAX 24
#define SMTP_ERROR_LIMIT 20       /* like Postfix's smtpd_hard_error_limit */
#define SMTP_REPLY_MAX 1024       /* one (multi-line) reply */
#define SMTP_TEXT_MAX 256         /* a policy's reply text */

/* The moments at which a policy may act; each names the reply it affects. */
enum smtp_stage {
    SMTP_STAGE_CONNECT = 0, /* the greeting */
    SMTP_STAGE_HELO,
    SMTP_STAGE_MAIL,
    SMTP_STAGE_RCPT,
    SMTP_STAGE_DATA,        /* the 354 */
    SMTP_STAGE_DOT,         /* the reply to the final "." */
    SMTP_STAGE_COUNT,
};

enum smtp_session_state {
    SESSION_GREETING = 0, /* greeting not sent yet */
    SESSION_READY,        /* greeted; no HELO/EHLO yet */
    SESSION_HELO,         /* HELO/EHLO done, no transaction */
    SESSION_MAIL,         /* MAIL accepted */
    SESSION_RCPT,         /* at least one RCPT accepted */
    SESSION_DATA,         /* receiving the message */
    SESSION_QUIT,         /* closing */
};

/* What a policy decides for one reply. Zeroed before decide() is called. */
struct smtp_decision {
    double delay;            /* seconds before the reply */
    int code;                /* 0: the normal reply; otherwise this code ... */
    char text[SMTP_TEXT_MAX]; /* ... with this text, e.g. "4.7.28 rate limited" */
    int disconnect;          /* close after the reply */
    int silent;              /* close without replying */
    size_t stutter_bytes;    /* > 0: send the reply this many bytes ... */
    double stutter_interval; /* ... every this many seconds */
};

struct smtp_server_config {
    const char *hostname;   /* in the greeting, EHLO and Received: */
    const char *software;   /* in Received:, e.g. "mailagg-mx" */
    uint64_t max_size;      /* 0: no limit */
    unsigned max_conns;     /* 0: no limit */
    double idle_timeout;    /* seconds; RFC 5321 4.5.3.2.7 suggests 300 */
    SSL_CTX *tls;           /* offer STARTTLS when set */
    int reject_early_talkers; /* 554 to clients that speak before the greeting */
    enum smtp_bare_mode bare_mode; /* bare CR/LF in a message (default strict) */
};

struct smtp_session;

struct smtp_server_ops {
    /* may change the reply of a stage; NULL: always the normal reply */
    void (*decide)(void *ctx, struct smtp_session *s, enum smtp_stage stage, struct smtp_decision *d);
    /* a message is about to be accepted: return 0 for 250, -1 for a 451 */
    int (*on_message)(void *ctx, struct smtp_session *s);
    /* a message line after dot-unstuffing, line ending included (headers too) */
    void (*on_data_line)(void *ctx, struct smtp_session *s, const char *line, size_t len);
    void (*on_data_start)(void *ctx, struct smtp_session *s);
    /* the open message was not accepted (rejected, too big, client gone) */
    void (*on_data_abort)(void *ctx, struct smtp_session *s);
    void (*on_session_open)(void *ctx, struct smtp_session *s);
    void (*on_session_close)(void *ctx, struct smtp_session *s);
    void (*on_stopped)(void *ctx); /* after smtp_server_stop, the last session ended */
    /* the engine itself pushed back: "early_talker", "max_conns", "errors" */
    void (*on_pushback)(void *ctx, struct smtp_session *s, const char *action, int code);
};

struct smtp_session {
    struct conn conn;
    struct smtp_server *server;
    uint64_t id;
    enum smtp_session_state state;
    struct sockaddr_storage peer, local;
    char client_addr[64];
    unsigned client_port;
    char helo[SMTP_HELO_MAX];
    int esmtp;
    int64_t connect_us;
    unsigned accepted;     /* messages accepted in this session */
    unsigned transactions; /* MAIL commands accepted */
    unsigned errors;
    char tls_version[16];
    char tls_cipher[64];
    void *user;            /* the policy's own per-session data */

    /* the open transaction */
    int64_t mail_us, data_end_us;
    char queue_id[SMTP_QUEUE_ID_MAX];
    char mail_from[SMTP_PATH_MAX + 1];
    unsigned nrcpt;        /* accepted recipients */
    unsigned nrcpt_kept;   /* those stored in rcpt_buf (NUL-separated) */
    size_t rcpt_len;
    char rcpt_buf[SMTP_RCPT_BUF];
    uint64_t size;
    int too_big;
    int at_line_start;
    struct smtp_data data; /* where the message ends, bare CR/LF */
    struct header_parser hp;
    char message_id[256];
    char date[128];
    char stamp[MUA_STAMP_MAX];
    unsigned nreceived;    /* Received: headers kept, newest first as they arrive */
    size_t received_len;
    char received_buf[SMTP_RECEIVED_BUF];

    /* a reply waiting for a delay, or being stuttered out */
    ev_timer reply_timer;
    int reply_pending;
    int reply_accepts;     /* the reply accepts a message: on_message first */
    int reply_close;
    int reply_waits_room;  /* the rest of the reply waits for the output queue to drain */
    size_t reply_len, reply_off, stutter_bytes;
    double stutter_interval;
    char reply[SMTP_REPLY_MAX];

    int long_line;         /* discarding the rest of an over-long command line */
    struct smtp_session *next, *prev;
};

struct smtp_server {
    struct ev_loop *loop;
    struct smtp_server_config cfg;
    const struct smtp_server_ops *ops;
    void *ctx;
    struct listener_set listeners;
    ev_timer stop_timer;
    int stopping;
    unsigned nsessions;
    uint64_t next_id;
    uint64_t queue_seq;
    struct smtp_session *sessions;
    /* counters */
    uint64_t connections, refused_conns, messages, bytes, aborted;
};

/* smtp_server_init - set up a server on loop; add listeners next. */
void smtp_server_init(struct smtp_server *srv, struct ev_loop *loop,
                      const struct smtp_server_config *cfg, const struct smtp_server_ops *ops,
                      void *ctx);

/* smtp_server_listen - listen on "ADDR:PORT"; returns 0, or -1 with a reason in err. */
int smtp_server_listen(struct smtp_server *srv, const char *addr, char *err, size_t errlen);

/* smtp_server_stop - stop accepting; idle sessions get 421 now, sessions inside a
 * transaction finish it first, all remaining get 421 after grace seconds. */
void smtp_server_stop(struct smtp_server *srv, double grace);

/* smtp_session_rcpt - the i-th kept recipient (i < nrcpt_kept). */
const char *smtp_session_rcpt(const struct smtp_session *s, unsigned i);

/* smtp_session_received - the i-th kept Received: value, oldest first (i < nreceived). */
const char *smtp_session_received(const struct smtp_session *s, unsigned i);

/* smtp_stage_name - "connect", "helo", "mail", "rcpt", "data", "dot". */
const char *smtp_stage_name(enum smtp_stage stage);

#endif
