/* conn - buffered, line-oriented connection I/O on libev, with optional TLS.
 * Shared by proxy, mx and tarpit: line reading with a limit, an output queue with
 * back-pressure, one idle timer per connection, STARTTLS, orderly close and half-close.
 * One event loop per process (the programs are single-threaded). */
#ifndef LIB_CONN_H
#define LIB_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/ssl.h>

#define CONN_IN_SIZE 4096   /* input buffer; the line limit may not exceed it */
#define CONN_OUT_SIZE 8192  /* output queue capacity */
#define CONN_OUT_LOW 2048   /* on_drain fires when the queue falls to this */

/* Flags given with each line. */
enum conn_line_flag {
    CONN_LINE_PARTIAL = 1 << 0, /* no line ending: more of this line follows, or EOF came */
    CONN_LINE_CONT = 1 << 1,    /* continues an earlier partial chunk */
    CONN_LINE_EOF = 1 << 2,     /* (with PARTIAL) the unterminated rest before EOF */
};

/* What on_line tells the connection. */
enum conn_line_verdict {
    CONN_CONSUMED = 0, /* the line was used */
    CONN_WAIT = 1,     /* not now: keep it, stop reading until conn_resume() */
};

/* Why a connection closed. */
enum conn_close_reason {
    CONN_CLOSE_LOCAL = 0, /* conn_close() or conn_abort() */
    CONN_CLOSE_READ_ERROR,
    CONN_CLOSE_WRITE_ERROR,
    CONN_CLOSE_CONNECT_ERROR,
    CONN_CLOSE_TLS_ERROR,
};

struct conn;

/* Callbacks; any may be NULL. None may free the conn: free it in on_closed, which
 * is called from the loop, outside every other callback of this connection. */
struct conn_ops {
    int (*on_line)(struct conn *c, const char *line, size_t len, unsigned flags);
    void (*on_eof)(struct conn *c);             /* the peer closed its sending side */
    void (*on_drain)(struct conn *c);           /* queue fell to CONN_OUT_LOW (after conn_want_drain) */
    void (*on_timeout)(struct conn *c);         /* no progress for the timeout */
    void (*on_connect)(struct conn *c, int err); /* outbound connect done (err: errno or 0) */
    void (*on_tls)(struct conn *c, int ok);      /* TLS handshake finished */
    void (*on_closed)(struct conn *c);           /* the descriptor is closed: owner may free */
};

struct conn {
    struct ev_loop *loop;
    const struct conn_ops *ops;
    void *data; /* the owner's */
    int fd;
    unsigned flags; /* internal state, see conn.c */
    enum conn_close_reason close_reason;
    int close_errno;
    const char *tls_error; /* a short reason when the handshake failed */
    SSL *ssl;
    ev_io rio, wio;
    ev_timer timer;
    double timeout;
    size_t line_limit;
    uint64_t bytes_in, bytes_out;
    struct conn *pend_next, *pend_prev; /* pending flush or close */
    size_t in_off, in_len;
    size_t out_off, out_len;
    char in[CONN_IN_SIZE];
    char out[CONN_OUT_SIZE];
};

/* conn_loop_init - attach the module to the loop (once, before any conn). */
void conn_loop_init(struct ev_loop *loop);

/* conn_init - take over the connected, non-blocking fd and start reading. */
void conn_init(struct conn *c, struct ev_loop *loop, int fd, const struct conn_ops *ops, void *data);

/* conn_connect - start a non-blocking connect to dst (from src when non-NULL); on_connect
 * reports the result (the timeout, if set, covers it). Returns 0, or -1 with errno set. */
int conn_connect(struct conn *c, struct ev_loop *loop, const struct sockaddr *dst, socklen_t dlen,
                 const struct sockaddr *src, socklen_t slen, const struct conn_ops *ops,
                 void *data);

/* conn_set_line_limit - longest line delivered whole (at most CONN_IN_SIZE). */
void conn_set_line_limit(struct conn *c, size_t limit);

/* conn_set_timeout - (re)start the deadline: seconds (0: none) for the next whole line
 * in, the whole queue out, the connect or the TLS handshake; each of those re-arms it. */
void conn_set_timeout(struct conn *c, double seconds);

/* conn_keep_timeout - as conn_set_timeout, but a running deadline of the same length
 * is left as it is (owners call it after every event to say who owes a reply). */
void conn_keep_timeout(struct conn *c, double seconds);

/* conn_out_room - bytes the output queue can take now. */
size_t conn_out_room(const struct conn *c);

/* conn_out_pending - bytes queued and not yet written. */
size_t conn_out_pending(const struct conn *c);

/* conn_write - queue data; returns 0, or -1 (nothing queued) when there is no room
 * or the connection is closing. Data goes out before the loop next waits. */
int conn_write(struct conn *c, const void *data, size_t len);

/* conn_printf - queue formatted text; returns as conn_write. */
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* conn_want_drain - ask for one on_drain once the queue falls to CONN_OUT_LOW. */
void conn_want_drain(struct conn *c);

/* conn_pause / conn_resume - stop / restart delivering lines (buffered ones included). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* conn_starttls - discard buffered input (RFC 3207 5), flush the queue in the clear,
 * then run a TLS handshake as server or client (sni may be NULL); on_tls reports it.
 * Returns 0, or -1 when TLS could not be set up. */
int conn_starttls(struct conn *c, SSL_CTX *ctx, int server, const char *sni);

/* conn_shutdown_write - half-close: send FIN once the queue is written. */
void conn_shutdown_write(struct conn *c);

/* conn_close - write what is queued, then close. */
void conn_close(struct conn *c);

/* conn_abort - close now, dropping what is queued. */
void conn_abort(struct conn *c);

/* conn_detachable - whether conn_detach would succeed: plain, open, nothing buffered. */
int conn_detachable(const struct conn *c);

/* conn_detach - give the descriptor back without closing it (the owner keeps the
 * socket; on_closed follows as for a close). Returns the fd, or -1 if not detachable. */
int conn_detach(struct conn *c);

/* conn_is_closing - whether conn_close/abort was called or an error closed it. */
int conn_is_closing(const struct conn *c);

/* conn_is_tls - whether TLS is established. */
int conn_is_tls(const struct conn *c);

#endif
