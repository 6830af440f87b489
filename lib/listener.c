/* listener - a set of listening sockets on libev: accepts in batches, pauses for a
 * second when out of descriptors (rather than spinning on EMFILE), and can be stopped. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "listener.h"

static void set_active(struct listener_set *ls, int on)
{
    for (int i = 0; i < ls->n; i++) {
        if (ls->fd[i] < 0)
            continue;
        if (on)
            ev_io_start(ls->loop, &ls->io[i]);
        else
            ev_io_stop(ls->loop, &ls->io[i]);
    }
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct listener_set *ls = w->data;

    (void)loop;
    (void)revents;
    if (!ls->stopped)
        set_active(ls, 1);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct listener_set *ls = w->data;
    int index = (int)(w - ls->io);

    (void)loop;
    (void)revents;
    for (int k = 0; k < LISTENER_BATCH && !ls->stopped; k++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(w->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "%s: accept: %s; accepting again in 1 s\n", ls->name, strerror(errno));
                set_active(ls, 0);
                ev_timer_set(&ls->retry, 1.0, 0);
                ev_timer_start(ls->loop, &ls->retry);
            }
            return;
        }
        int one = 1; /* replies leave at once, never behind Nagle's algorithm */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ls->fn(ls->ctx, fd, &peer, index);
    }
}

void listener_init(struct listener_set *ls, struct ev_loop *loop, const char *name, listener_fn *fn,
                   void *ctx)
{
    memset(ls, 0, sizeof(*ls));
    ls->loop = loop;
    ls->name = name;
    ls->fn = fn;
    ls->ctx = ctx;
    ev_init(&ls->retry, retry_cb);
    ls->retry.data = ls;
}

int listener_adopt(struct listener_set *ls, int fd)
{
    if (ls->n >= LISTENER_MAX)
        return -1;
    int i = ls->n++;
    ls->fd[i] = fd;
    ls->addr_len[i] = sizeof(ls->addr[i]);
    getsockname(fd, (struct sockaddr *)&ls->addr[i], &ls->addr_len[i]); /* the port, if 0 was asked */
    ev_io_init(&ls->io[i], accept_cb, fd, EV_READ);
    ls->io[i].data = ls;
    if (ls->loop && !ls->stopped)
        ev_io_start(ls->loop, &ls->io[i]);
    return 0;
}

int listener_add(struct listener_set *ls, const char *text, int flags, char *err,
                 size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;

    if (ls->n >= LISTENER_MAX) {
        snprintf(err, errlen, "%s: at most %d listeners", text, LISTENER_MAX);
        return -1;
    }
    if (addr_parse(text, -1, &ss, &len, err, errlen) != 0)
        return -1;
    int fd = addr_listen((struct sockaddr *)&ss, len, LISTENER_BACKLOG, flags, err, errlen);
    if (fd < 0)
        return -1;
    return listener_adopt(ls, fd);
}

int listener_is_own(const struct listener_set *ls, const struct sockaddr *sa)
{
    for (int i = 0; i < ls->n; i++) {
        const struct sockaddr *l = (const struct sockaddr *)&ls->addr[i];
        if (l->sa_family != sa->sa_family || addr_port(l) != addr_port(sa))
            continue;
        if (addr_equal(l, sa))
            return 1;
        if (l->sa_family == AF_INET &&
            ((const struct sockaddr_in *)l)->sin_addr.s_addr == htonl(INADDR_ANY))
            return 1;
        if (l->sa_family == AF_INET6 &&
            memcmp(&((const struct sockaddr_in6 *)l)->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0)
            return 1;
    }
    return 0;
}

void listener_stop(struct listener_set *ls)
{
    if (ls->stopped)
        return;
    ls->stopped = 1;
    set_active(ls, 0);
    ev_timer_stop(ls->loop, &ls->retry);
    for (int i = 0; i < ls->n; i++) {
        if (ls->fd[i] >= 0)
            close(ls->fd[i]);
        ls->fd[i] = -1;
    }
}
