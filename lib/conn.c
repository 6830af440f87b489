/* conn - buffered, line-oriented connection I/O on libev, with optional TLS.
 * Writes are queued and flushed once per loop iteration (ev_prepare), so a burst of
 * pipelined replies costs one system call; closes are reported from the same place,
 * so no callback ever runs on a connection its owner has freed. The timer is a
 * deadline for the next unit of work (a whole line in, the whole queue out, a connect,
 * a handshake), as Postfix's per-record deadlines: a byte a second never re-arms it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "conn.h"
#include "line.h"

enum conn_state_flag {
    F_PAUSED = 1 << 0,       /* consumer said CONN_WAIT, or conn_pause() */
    F_EOF = 1 << 1,          /* read side saw EOF */
    F_EOF_SEEN = 1 << 2,     /* on_eof has been called */
    F_CLOSING = 1 << 3,      /* close once the queue is written */
    F_CLOSED = 1 << 4,       /* descriptor closed; on_closed pending or done */
    F_SHUT_WR = 1 << 5,      /* send FIN once the queue is written */
    F_SHUT_DONE = 1 << 6,
    F_WANT_DRAIN = 1 << 7,
    F_CONNECTING = 1 << 8,
    F_TLS_PENDING = 1 << 9,  /* handshake starts once the queue is written */
    F_HANDSHAKE = 1 << 10,
    F_TLS = 1 << 11,
    F_PENDING = 1 << 12,     /* on the pending list */
    F_IN_LONG = 1 << 13,     /* in the middle of an over-long line */
    F_WRITE_WANTS_READ = 1 << 14,
    F_INPUT_RESET = 1 << 15, /* conn_starttls dropped the buffer under deliver_lines */
    F_DELIVER = 1 << 16,     /* resumed: deliver buffered lines before the loop waits */
};

static struct {
    struct ev_loop *loop;
    ev_prepare prepare;
    struct conn *head; /* connections to flush or to report closed */
} pending;

static void flush(struct conn *c);
static void close_now(struct conn *c);
static void input_ready(struct conn *c);
static void read_some(struct conn *c);

static void progress(struct conn *c)
{
    if (c->timeout > 0 && !(c->flags & F_CLOSED))
        ev_timer_again(c->loop, &c->timer);
}

static void pending_add(struct conn *c)
{
    if (c->flags & F_PENDING)
        return;
    c->flags |= F_PENDING;
    c->pend_prev = NULL;
    c->pend_next = pending.head;
    if (pending.head)
        pending.head->pend_prev = c;
    pending.head = c;
}

static void pending_remove(struct conn *c)
{
    if (!(c->flags & F_PENDING))
        return;
    if (c->pend_prev)
        c->pend_prev->pend_next = c->pend_next;
    else
        pending.head = c->pend_next;
    if (c->pend_next)
        c->pend_next->pend_prev = c->pend_prev;
    c->pend_next = c->pend_prev = NULL;
    c->flags &= ~F_PENDING;
}

/* prepare_cb - before the loop waits: deliver input that waited for conn_resume, flush
 * queued output, report closed connections; until none of that is left to do, so the
 * loop never sleeps on work it could do now. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    while (pending.head) {
        struct conn *c = pending.head;
        pending_remove(c);
        if (c->flags & F_CLOSED) {
            if (c->ops->on_closed)
                c->ops->on_closed(c); /* may free c */
            continue;
        }
        if (c->flags & F_DELIVER) {
            c->flags &= ~F_DELIVER;
            if ((c->flags & F_TLS) && SSL_pending(c->ssl) > 0)
                read_some(c);
            if (!(c->flags & F_CLOSED))
                input_ready(c);
            if (c->flags & F_CLOSED)
                continue; /* it is back on the list for on_closed */
        }
        flush(c);
    }
}

void conn_loop_init(struct ev_loop *loop)
{
    pending.loop = loop;
    pending.head = NULL;
    ev_prepare_init(&pending.prepare, prepare_cb);
    ev_prepare_start(loop, &pending.prepare);
    ev_unref(loop); /* the prepare watcher alone must not keep the loop alive */
}

/* fail - close at once for an I/O error. */
static void fail(struct conn *c, enum conn_close_reason reason, int err)
{
    c->close_reason = reason;
    c->close_errno = err;
    close_now(c);
}

/* raw_read - returns bytes read, 0 at EOF, -1 when nothing is there yet, -2 on error. */
static ssize_t raw_read(struct conn *c, char *buf, size_t n)
{
    if (c->flags & F_TLS) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, buf, (int)n);
        if (r > 0)
            return r;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ:
            return -1;
        case SSL_ERROR_WANT_WRITE:
            ev_io_start(c->loop, &c->wio);
            return -1;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        case SSL_ERROR_SYSCALL:
            if (errno == 0 || errno == ECONNRESET)
                return 0; /* EOF without close_notify */
            return -2;
        default:
            errno = EPROTO;
            return -2;
        }
    }
    ssize_t r = read(c->fd, buf, n);
    if (r >= 0)
        return r;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

/* raw_write - returns bytes written, -1 when the socket is full, -2 on error. */
static ssize_t raw_write(struct conn *c, const char *buf, size_t n)
{
    if (c->flags & F_TLS) { /* before the handshake, c->ssl exists but the queue goes out plain */
        ERR_clear_error();
        int r = SSL_write(c->ssl, buf, (int)n);
        if (r > 0)
            return r;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_WRITE:
            return -1;
        case SSL_ERROR_WANT_READ:
            c->flags |= F_WRITE_WANTS_READ;
            return -1;
        default:
            if (errno == 0)
                errno = EPROTO;
            return -2;
        }
    }
    ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (r >= 0)
        return r;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

/* tls_step - drive the handshake one step. */
static void tls_step(struct conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->flags = (c->flags & ~F_HANDSHAKE) | F_TLS;
        ev_io_stop(c->loop, &c->wio);
        if (!(c->flags & (F_PAUSED | F_EOF)))
            ev_io_start(c->loop, &c->rio);
        progress(c);
        if (c->ops->on_tls)
            c->ops->on_tls(c, 1);
        return;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        ev_io_stop(c->loop, &c->wio);
        ev_io_start(c->loop, &c->rio);
        return;
    case SSL_ERROR_WANT_WRITE:
        ev_io_start(c->loop, &c->wio);
        return;
    default: {
        unsigned long e = ERR_peek_error();
        c->tls_error = e ? ERR_reason_error_string(e) : "handshake failed";
        if (c->tls_error == NULL)
            c->tls_error = "handshake failed";
        c->close_reason = CONN_CLOSE_TLS_ERROR;
        c->flags &= ~F_HANDSHAKE;
        if (c->ops->on_tls)
            c->ops->on_tls(c, 0);
        if (!(c->flags & F_CLOSED))
            fail(c, CONN_CLOSE_TLS_ERROR, EPROTO);
    }
    }
}

static void tls_begin(struct conn *c)
{
    c->flags = (c->flags & ~F_TLS_PENDING) | F_HANDSHAKE;
    tls_step(c);
}

/* flush - write the queue as far as the socket takes it, then act on what waited for it. */
static void flush(struct conn *c)
{
    if (c->flags & (F_CLOSED | F_CONNECTING | F_HANDSHAKE))
        return;
    while (c->out_off < c->out_len) {
        ssize_t r = raw_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (r > 0) {
            c->out_off += (size_t)r;
            c->bytes_out += (uint64_t)r;
            if (c->out_off == c->out_len)
                progress(c); /* the whole queue is out: the peer reads */
        } else if (r == -1) {
            if (!(c->flags & F_WRITE_WANTS_READ))
                ev_io_start(c->loop, &c->wio);
            break;
        } else {
            fail(c, CONN_CLOSE_WRITE_ERROR, errno);
            return;
        }
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        ev_io_stop(c->loop, &c->wio);
        if (c->flags & F_CLOSING) { /* a close wins over a handshake still to start */
            close_now(c);
            return;
        }
        if (c->flags & F_TLS_PENDING) {
            tls_begin(c);
            return;
        }
        if ((c->flags & F_SHUT_WR) && !(c->flags & F_SHUT_DONE)) {
            c->flags |= F_SHUT_DONE;
            if (c->flags & F_TLS)
                SSL_shutdown(c->ssl);
            shutdown(c->fd, SHUT_WR);
        }
    }
    if ((c->flags & F_WANT_DRAIN) && c->out_len - c->out_off <= CONN_OUT_LOW) {
        c->flags &= ~F_WANT_DRAIN;
        if (c->ops->on_drain)
            c->ops->on_drain(c);
    }
}

/* deliver_lines - hand complete lines (and chunks of over-long ones) to the owner. */
static void deliver_lines(struct conn *c)
{
    c->flags &= ~F_INPUT_RESET;
    while (!(c->flags & (F_PAUSED | F_CLOSING | F_CLOSED)) && c->in_off < c->in_len) {
        size_t n;
        enum line_result res =
            line_scan(c->in + c->in_off, c->in_len - c->in_off, c->line_limit, &n);
        unsigned lf = (c->flags & F_IN_LONG) ? CONN_LINE_CONT : 0;

        if (res == LINE_PARTIAL) {
            if (!(c->flags & F_EOF))
                break;
            n = c->in_len - c->in_off; /* the unterminated rest before EOF */
            lf |= CONN_LINE_PARTIAL | CONN_LINE_EOF;
        } else if (res == LINE_OVERFLOW) {
            lf |= CONN_LINE_PARTIAL;
        }
        if (!(lf & CONN_LINE_PARTIAL) || res == LINE_OVERFLOW)
            progress(c); /* a whole line, or a whole buffer of an over-long one */
        int verdict = c->ops->on_line ? c->ops->on_line(c, c->in + c->in_off, n, lf)
                                      : CONN_CONSUMED;
        if (c->flags & F_CLOSED)
            return;
        if (c->flags & F_INPUT_RESET) {
            c->flags &= ~F_INPUT_RESET;
            break;
        }
        if (verdict == CONN_WAIT) {
            c->flags |= F_PAUSED;
            ev_io_stop(c->loop, &c->rio);
            break;
        }
        c->in_off += n;
        if (res == LINE_OVERFLOW)
            c->flags |= F_IN_LONG;
        else
            c->flags &= ~F_IN_LONG;
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
    } else if (c->in_off > 0 && c->in_len == CONN_IN_SIZE) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
}

/* read_some - one read into the input buffer when there is room and we are reading. */
static void read_some(struct conn *c)
{
    if ((c->flags & (F_EOF | F_PAUSED)) || c->in_len >= CONN_IN_SIZE)
        return;
    ssize_t r = raw_read(c, c->in + c->in_len, CONN_IN_SIZE - c->in_len);
    if (r > 0) {
        c->in_len += (size_t)r;
        c->bytes_in += (uint64_t)r;
    } else if (r == 0) {
        c->flags |= F_EOF;
        ev_io_stop(c->loop, &c->rio);
    } else if (r == -2) {
        fail(c, CONN_CLOSE_READ_ERROR, errno);
    }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = w->data;

    (void)loop;
    (void)revents;
    if (c->flags & F_CLOSED)
        return;
    if (c->flags & F_HANDSHAKE) {
        tls_step(c);
        return;
    }
    if (c->flags & F_TLS_PENDING) {
        ev_io_stop(c->loop, &c->rio); /* the handshake starts once the queue is written */
        return;
    }
    if (c->flags & F_WRITE_WANTS_READ) {
        c->flags &= ~F_WRITE_WANTS_READ;
        flush(c);
        if (c->flags & F_CLOSED)
            return;
    }
    read_some(c);
    if (!(c->flags & F_CLOSED))
        input_ready(c);
}

/* input_ready - hand over buffered lines, then EOF once everything before it was taken. */
static void input_ready(struct conn *c)
{
    if (c->flags & (F_HANDSHAKE | F_TLS_PENDING | F_CONNECTING))
        return;
    deliver_lines(c);
    if (c->flags & (F_CLOSED | F_PAUSED))
        return;
    if ((c->flags & (F_EOF | F_EOF_SEEN)) == F_EOF && c->in_off == c->in_len) {
        c->flags |= F_EOF_SEEN;
        if (c->ops->on_eof)
            c->ops->on_eof(c);
        return;
    }
    if ((c->flags & F_TLS) && !(c->flags & F_EOF) && SSL_pending(c->ssl) > 0 &&
        c->in_len < CONN_IN_SIZE) {
        c->flags |= F_DELIVER; /* decrypted bytes wait inside OpenSSL: no poll will say so */
        pending_add(c);
    }
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = w->data;

    (void)loop;
    (void)revents;
    if (c->flags & F_CLOSED)
        return;
    if (c->flags & F_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        c->flags &= ~F_CONNECTING;
        ev_io_stop(c->loop, &c->wio);
        progress(c);
        if (c->ops->on_connect)
            c->ops->on_connect(c, err);
        if (c->flags & F_CLOSED)
            return;
        if (err) {
            fail(c, CONN_CLOSE_CONNECT_ERROR, err);
            return;
        }
        ev_io_start(c->loop, &c->rio);
        pending_add(c); /* anything queued before the connect completed */
        return;
    }
    if (c->flags & F_HANDSHAKE) {
        tls_step(c);
        return;
    }
    flush(c);
    if (!(c->flags & (F_CLOSED | F_EOF | F_PAUSED)) && (c->flags & F_TLS))
        ev_io_start(c->loop, &c->rio); /* a read that wanted to write can go on */
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = w->data;

    (void)loop;
    (void)revents;
    if (c->flags & F_CLOSED)
        return;
    if (c->flags & F_CLOSING) {
        close_now(c); /* the peer did not take our last words in time */
        return;
    }
    if (c->ops->on_timeout)
        c->ops->on_timeout(c);
    else
        conn_abort(c);
}

static void setup(struct conn *c, struct ev_loop *loop, int fd, const struct conn_ops *ops,
                  void *data)
{
    c->loop = loop;
    c->ops = ops;
    c->data = data;
    c->fd = fd;
    c->flags = 0;
    c->close_reason = CONN_CLOSE_LOCAL;
    c->close_errno = 0;
    c->tls_error = NULL;
    c->ssl = NULL;
    c->timeout = 0;
    c->line_limit = CONN_IN_SIZE;
    c->bytes_in = c->bytes_out = 0;
    c->pend_next = c->pend_prev = NULL;
    c->in_off = c->in_len = c->out_off = c->out_len = 0;
    ev_io_init(&c->rio, read_cb, fd, EV_READ);
    ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
    ev_init(&c->timer, timer_cb);
    c->rio.data = c->wio.data = c->timer.data = c;
}

void conn_init(struct conn *c, struct ev_loop *loop, int fd, const struct conn_ops *ops, void *data)
{
    setup(c, loop, fd, ops, data);
    ev_io_start(loop, &c->rio);
}

int conn_connect(struct conn *c, struct ev_loop *loop, const struct sockaddr *dst, socklen_t dlen,
                 const struct sockaddr *src, socklen_t slen, const struct conn_ops *ops, void *data)
{
    int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    if (src) {
#ifdef IP_BIND_ADDRESS_NO_PORT
        /* choose the port at connect time, so many upstreams can share one address */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        if (bind(fd, src, slen) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, dst, dlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    setup(c, loop, fd, ops, data);
    c->flags |= F_CONNECTING;
    ev_io_start(loop, &c->wio); /* writable = connected or failed */
    return 0;
}

void conn_keep_timeout(struct conn *c, double seconds)
{
    if (c->flags & F_CLOSED)
        return;
    if (seconds == c->timeout && (seconds <= 0 || ev_is_active(&c->timer)))
        return;
    conn_set_timeout(c, seconds);
}

void conn_set_line_limit(struct conn *c, size_t limit)
{
    c->line_limit = limit == 0 || limit > CONN_IN_SIZE ? CONN_IN_SIZE : limit;
}

void conn_set_timeout(struct conn *c, double seconds)
{
    c->timeout = seconds;
    if (c->flags & F_CLOSED)
        return;
    if (seconds > 0) {
        c->timer.repeat = seconds;
        ev_timer_again(c->loop, &c->timer);
    } else {
        ev_timer_stop(c->loop, &c->timer);
    }
}

size_t conn_out_room(const struct conn *c)
{
    return CONN_OUT_SIZE - (c->out_len - c->out_off);
}

size_t conn_out_pending(const struct conn *c)
{
    return c->out_len - c->out_off;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->flags & (F_CLOSING | F_CLOSED | F_SHUT_WR))
        return -1;
    if (len > conn_out_room(c))
        return -1;
    if (c->out_len + len > CONN_OUT_SIZE) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    pending_add(c);
    return 0;
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return conn_write(c, buf, (size_t)n);
}

void conn_want_drain(struct conn *c)
{
    c->flags |= F_WANT_DRAIN;
    pending_add(c);
}

void conn_pause(struct conn *c)
{
    c->flags |= F_PAUSED;
    ev_io_stop(c->loop, &c->rio);
}

void conn_resume(struct conn *c)
{
    if (!(c->flags & F_PAUSED) || (c->flags & F_CLOSED))
        return;
    c->flags &= ~F_PAUSED;
    if (!(c->flags & (F_EOF | F_HANDSHAKE | F_CONNECTING)))
        ev_io_start(c->loop, &c->rio);
    c->flags |= F_DELIVER; /* what is already buffered goes out before the loop waits */
    pending_add(c);
}

int conn_starttls(struct conn *c, SSL_CTX *ctx, int server, const char *sni)
{
    if (c->ssl || (c->flags & F_CLOSED))
        return -1;
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL)
        return -1;
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
    if (SSL_set_fd(c->ssl, c->fd) != 1) {
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    if (server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (sni)
            SSL_set_tlsext_host_name(c->ssl, sni);
    }
    c->in_off = c->in_len = 0; /* plaintext sent before the handshake is an injection */
    c->flags &= ~F_IN_LONG;
    c->flags |= F_INPUT_RESET;
    c->flags |= F_TLS_PENDING;
    pending_add(c);
    return 0;
}

void conn_shutdown_write(struct conn *c)
{
    if (c->flags & (F_CLOSED | F_SHUT_WR))
        return;
    c->flags |= F_SHUT_WR;
    pending_add(c);
}

void conn_close(struct conn *c)
{
    if (c->flags & (F_CLOSED | F_CLOSING))
        return;
    if (c->flags & (F_CONNECTING | F_HANDSHAKE)) {
        close_now(c); /* nothing queued can go out before the handshake ends */
        return;
    }
    c->flags |= F_CLOSING;
    ev_io_stop(c->loop, &c->rio);
    pending_add(c);
}

/* close_now - release the descriptor and TLS state; on_closed follows from the loop. */
static void close_now(struct conn *c)
{
    if (c->flags & F_CLOSED)
        return;
    ev_io_stop(c->loop, &c->rio);
    ev_io_stop(c->loop, &c->wio);
    ev_timer_stop(c->loop, &c->timer);
    if (c->ssl) {
        if ((c->flags & F_TLS) && c->close_reason == CONN_CLOSE_LOCAL && !(c->flags & F_SHUT_DONE))
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->flags |= F_CLOSED;
    pending_add(c);
}

void conn_abort(struct conn *c)
{
    close_now(c);
}

int conn_detachable(const struct conn *c)
{
    return !(c->flags & (F_CLOSED | F_CLOSING | F_CONNECTING | F_TLS_PENDING | F_HANDSHAKE | F_TLS)) &&
           c->ssl == NULL && c->in_len == 0 && c->out_len == 0;
}

int conn_detach(struct conn *c)
{
    if (!conn_detachable(c))
        return -1;
    int fd = c->fd;
    c->fd = -1; /* close_now stops the watchers and leaves the descriptor open */
    close_now(c);
    return fd;
}

int conn_is_closing(const struct conn *c)
{
    return (c->flags & (F_CLOSING | F_CLOSED)) != 0;
}

int conn_is_tls(const struct conn *c)
{
    return (c->flags & F_TLS) != 0;
}
