/* workers - the parent of --workers N and the worker side of its channels: listeners
 * opened once (SO_REUSEPORT), workers forked, restarted, signalled and scraped; budgeted
 * connections handed to worker 0 so one scheduler sees every tenant (fd passing). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "metrics_merge.h"
#include "proxy.h"
#include "workers.h"

#define WORKER_FAST_DEATH_US 1000000 /* a worker that dies sooner after its start ... */
#define WORKER_RESTART_DELAY 1.0     /* ... is started again after this many seconds */
#define WORKERS_SCRAPE_TIMEOUT 2.0   /* seconds the parent waits for the workers' metrics */
#define HANDOFF_BATCH 64             /* connections worker 0 takes over per wakeup */
#define HANDOFF_SNDBUF (4 << 20)     /* bytes of handoffs in flight (about 4,000) */
#define HANDOFF_MAGIC 0x4d41484fu

enum { CTL_METRICS = 'M', CTL_READY = 'R' };

/* A connection handed to worker 0 (the descriptor travels as SCM_RIGHTS). */
struct handoff_msg {
    uint32_t magic;
    uint32_t dlen;
    int64_t start_us;
    struct sockaddr_storage peer, dst;
};

/* A worker's reply to a metrics request: the text is in the memfd passed along. */
struct ctl_reply {
    uint32_t round;
    uint32_t len;
};

struct worker {
    pid_t pid;                        /* 0: not running */
    int ready;                        /* has said so since its last start */
    int ctl;                          /* the parent's end of its control channel */
    ev_io ctl_io;
    ev_timer restart;
    int64_t started_us;
    unsigned restarts;
    int listen_fd[LISTENER_MAX];
    char *text;                       /* its metrics this round */
    size_t text_len;
    int replied;
};

/* A scrape waiting for the workers' metrics. */
struct pending {
    struct metrics_scrape *s;
    struct pending *next;
};

struct workers {
    struct ev_loop *loop;
    int n, nlisten;
    struct worker w[WORKERS_MAX];
    int handoff[2];                   /* [0] worker 0 receives, [1] the others send */
    ev_signal sig[5];
    int stopping, status;
    workers_serve_fn *serve;
    void *ctx;
    struct listener_set metrics;
    int have_metrics;
    struct pending *pending;
    uint32_t round;
    int collecting;
    ev_timer scrape_timer;
    uint64_t restarts_total;
};

static struct workers W;

/* send_fd - one datagram with data and (when fd >= 0) a descriptor; 0 or -1 with errno. */
static int send_fd(int sock, const void *data, size_t len, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n == (ssize_t)len ? 0 : -1;
}

/* recv_fd - one datagram into data (*len: room in, size out) and its descriptor (*fd, -1
 * if none; extra ones are closed); returns 1, 0 when none waits, or -1 on EOF/error. */
static int recv_fd(int sock, void *data, size_t *len, int *fd)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {data, *len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};

    *fd = -1;
    ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (n == 0 && msg.msg_controllen == 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t j = 0; j < k; j++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
            if (*fd < 0)
                *fd = f;
            else
                close(f);
        }
    }
    *len = (size_t)n;
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        *len = 0; /* not a message of ours: the caller drops it */
    return 1;
}

/* ---- the worker's side -------------------------------------------------------------- */

/* handoff_cb - worker 0: admit the connections the other workers accepted. */
static void handoff_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct proxy *p = io->data;

    (void)loop;
    (void)revents;
    for (int k = 0; k < HANDOFF_BATCH; k++) {
        struct handoff_msg m;
        size_t len = sizeof(m);
        int fd;
        if (recv_fd(io->fd, &m, &len, &fd) <= 0)
            return;
        if (fd < 0)
            continue;
        if (len != sizeof(m) || m.magic != HANDOFF_MAGIC || m.dlen > sizeof(m.dst)) {
            fprintf(stderr, "proxy: worker 0: a handed-over connection came without its addresses\n");
            proxy_refuse(fd, "421 4.3.0 proxy: internal error, try again later\r\n");
            continue;
        }
        p->handed_in++;
        proxy_accept_from(p, fd, &m.peer, &m.dst, (socklen_t)m.dlen, m.start_us);
    }
}

/* ctl_cb - a request from the parent: render the metrics into a memfd and pass it back. */
static void ctl_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct proxy *p = io->data;
    char req[8];
    ssize_t n;

    (void)revents;
    while ((n = recv(io->fd, req, sizeof(req), MSG_DONTWAIT)) > 0) {
        struct ctl_reply r = {0, 0};
        char *text = NULL;
        size_t len = 0;
        int mfd = -1;
        if (n != 5 || req[0] != CTL_METRICS)
            continue;
        memcpy(&r.round, req + 1, sizeof(r.round));
        if (metrics_render(p, &text, &len) == 0 && (mfd = memfd_create("proxy-metrics", MFD_CLOEXEC)) >= 0) {
            size_t off = 0;
            while (off < len) {
                ssize_t w = write(mfd, text + off, len - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
            r.len = (uint32_t)off;
        }
        free(text);
        send_fd(io->fd, &r, sizeof(r), mfd);
        if (mfd >= 0)
            close(mfd);
    }
    if (n == 0) { /* the parent is gone: stop as on SIGTERM */
        ev_ref(loop); /* the watcher was unref'd at attach: keep the loop's count right */
        ev_io_stop(loop, io);
        proxy_stop(p);
    }
}

void worker_attach(struct proxy *p, const struct worker_env *env)
{
    char ready = CTL_READY;

    p->worker = env->index;
    p->nworkers = env->n;
    p->id_base = (uint64_t)getpid() << 32; /* session ids stay unique across workers */
    p->handoff_fd = env->handoff_fd;
    p->ctl_fd = env->ctl_fd;
    ev_io_init(&p->ctl_io, ctl_cb, env->ctl_fd, EV_READ);
    p->ctl_io.data = p;
    ev_io_start(p->loop, &p->ctl_io);
    ev_unref(p->loop); /* the parent's channel alone does not keep a worker running */
    if (env->index == 0) {
        ev_io_init(&p->handoff_io, handoff_cb, env->handoff_fd, EV_READ);
        p->handoff_io.data = p;
        ev_io_start(p->loop, &p->handoff_io);
        ev_unref(p->loop);
    }
    send(env->ctl_fd, &ready, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void worker_detach(struct proxy *p)
{
    if (p->nworkers <= 1)
        return;
    if (ev_is_active(&p->ctl_io)) {
        ev_ref(p->loop);
        ev_io_stop(p->loop, &p->ctl_io);
    }
    if (p->worker == 0 && ev_is_active(&p->handoff_io)) {
        ev_ref(p->loop);
        ev_io_stop(p->loop, &p->handoff_io);
        for (;;) { /* nobody will admit these now: they may try again later */
            struct handoff_msg m;
            size_t len = sizeof(m);
            int fd;
            if (recv_fd(p->handoff_fd, &m, &len, &fd) <= 0)
                break;
            if (fd >= 0)
                proxy_refuse(fd, "421 4.3.2 proxy: shutting down\r\n");
        }
    }
}

int worker_handoff(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                   const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us)
{
    struct handoff_msg m;

    memset(&m, 0, sizeof(m));
    m.magic = HANDOFF_MAGIC;
    m.dlen = dlen;
    m.start_us = start_us;
    m.peer = *peer;
    m.dst = *dst;
    if (send_fd(p->handoff_fd, &m, sizeof(m), fd) != 0) {
        p->handoff_failed++;
        fprintf(stderr, "proxy: worker %d: cannot hand a connection to worker 0: %s\n", p->worker,
                strerror(errno));
        proxy_refuse(fd, "421 4.3.2 proxy: busy, try again later\r\n");
        return -1;
    }
    p->handed_out++;
    close(fd);
    return 0;
}

/* ---- the parent --------------------------------------------------------------------- */

/* child_start - in a new worker: forget the parent's loop and every descriptor it does
 * not own, follow the parent's death, and run serve; never returns. */
static void child_start(struct workers *ws, int i, int ctl)
{
    struct worker_env env;
    int keep[LISTENER_MAX + 5], nkeep = 0;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    memset(&env, 0, sizeof(env));
    env.index = i;
    env.n = ws->n;
    env.nlisten = ws->nlisten;
    env.ctl_fd = ctl;
    env.handoff_fd = ws->handoff[i == 0 ? 0 : 1];
    sigemptyset(&env.sigmask);
    for (int s = 0; s < 5; s++)
        ev_signal_stop(ws->loop, &ws->sig[s]); /* their handlers go back to the default */
    ev_loop_destroy(ws->loop);
    keep[nkeep++] = 0;
    keep[nkeep++] = 1;
    keep[nkeep++] = 2;
    keep[nkeep++] = ctl;
    keep[nkeep++] = env.handoff_fd;
    for (int l = 0; l < ws->nlisten; l++)
        keep[nkeep++] = env.listen_fd[l] = ws->w[i].listen_fd[l];
    /* everything else goes: scrapes in progress, other workers' sockets */
    for (int a = 1; a < nkeep; a++) /* sort what stays (a few descriptors) */
        for (int b = a; b > 0 && keep[b - 1] > keep[b]; b--) {
            int t = keep[b];
            keep[b] = keep[b - 1];
            keep[b - 1] = t;
        }
    for (int k = 0; k < nkeep; k++)
        if (k + 1 == nkeep)
            close_range((unsigned)keep[k] + 1, ~0U, 0);
        else if (keep[k + 1] > keep[k] + 1)
            close_range((unsigned)keep[k] + 1, (unsigned)keep[k + 1] - 1, 0);
    exit(ws->serve(ws->ctx, &env));
}

static void ctl_parent_cb(struct ev_loop *loop, ev_io *io, int revents);

/* spawn - start worker i (its channel made anew); on failure, try again later. */
static void spawn(struct workers *ws, int i)
{
    struct worker *w = &ws->w[i];
    int ctl[2];
    sigset_t all, old;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0) {
        fprintf(stderr, "proxy: worker %d: socketpair: %s; trying again in %g s\n", i, strerror(errno),
                WORKER_RESTART_DELAY);
        ev_timer_set(&w->restart, WORKER_RESTART_DELAY, 0);
        ev_timer_start(ws->loop, &w->restart);
        return;
    }
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* the worker unblocks them once it handles them */
    pid_t pid = fork();
    if (pid == 0) {
        close(ctl[0]);
        child_start(ws, i, ctl[1]);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(ctl[1]);
    if (pid < 0) {
        fprintf(stderr, "proxy: worker %d: fork: %s; trying again in %g s\n", i, strerror(errno),
                WORKER_RESTART_DELAY);
        close(ctl[0]);
        ev_timer_set(&w->restart, WORKER_RESTART_DELAY, 0);
        ev_timer_start(ws->loop, &w->restart);
        return;
    }
    fcntl(ctl[0], F_SETFL, fcntl(ctl[0], F_GETFL) | O_NONBLOCK);
    w->pid = pid;
    w->ready = 0;
    w->ctl = ctl[0];
    w->started_us = clock_monotonic_us();
    ev_io_init(&w->ctl_io, ctl_parent_cb, ctl[0], EV_READ);
    w->ctl_io.data = w;
    ev_io_start(ws->loop, &w->ctl_io);
}

static void restart_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    if (!W.stopping)
        spawn(&W, (int)((struct worker *)t->data - W.w));
}

static void signal_all(struct workers *ws, int sig)
{
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].pid > 0)
            kill(ws->w[i].pid, sig);
}

static int running(const struct workers *ws)
{
    int k = 0;
    for (int i = 0; i < ws->n; i++)
        k += ws->w[i].pid > 0;
    return k;
}

static void collect_done(struct workers *ws);

/* reaped - worker i exited with status st: restart it, or end the parent. */
static void reaped(struct workers *ws, int i, int st)
{
    struct worker *w = &ws->w[i];
    char how[64];
    int64_t lived = clock_monotonic_us() - w->started_us;

    if (WIFSIGNALED(st))
        snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(st));
    else
        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(st));
    pid_t pid = w->pid;
    ev_io_stop(ws->loop, &w->ctl_io);
    close(w->ctl);
    w->ctl = -1;
    w->pid = 0;
    if (ws->collecting && !w->replied) {
        w->replied = 1; /* its metrics are gone with it */
        collect_done(ws);
    }
    if (ws->stopping) {
        if (running(ws) == 0)
            ev_break(ws->loop, EVBREAK_ALL);
        return;
    }
    if (!w->ready) { /* it never got going: a setting or the machine, not bad luck */
        fprintf(stderr, "proxy: worker %d %s before it was ready; stopping\n", i, how);
        ws->status = WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
        ws->stopping = 1;
        signal_all(ws, SIGTERM);
        if (running(ws) == 0)
            ev_break(ws->loop, EVBREAK_ALL);
        return;
    }
    double delay = lived < WORKER_FAST_DEATH_US ? WORKER_RESTART_DELAY : 0;
    w->restarts++;
    ws->restarts_total++;
    fprintf(stderr, "proxy: worker %d (pid %d) %s; starting it again in %g s (restart %u)\n", i, (int)pid,
            how, delay, w->restarts);
    if (delay > 0) {
        ev_timer_set(&w->restart, delay, 0);
        ev_timer_start(ws->loop, &w->restart);
    } else {
        spawn(ws, i);
    }
}

static void parent_signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
    struct workers *ws = s->data;
    int st;
    pid_t pid;

    (void)loop;
    (void)revents;
    switch (s->signum) {
    case SIGCHLD:
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
            for (int i = 0; i < ws->n; i++)
                if (ws->w[i].pid == pid)
                    reaped(ws, i, st);
        break;
    case SIGTERM:
    case SIGINT:
        if (!ws->stopping)
            fprintf(stderr, "proxy: signal %d: stopping %d workers\n", s->signum, running(ws));
        ws->stopping = 1;
        for (int i = 0; i < ws->n; i++)
            ev_timer_stop(ws->loop, &ws->w[i].restart);
        if (ws->have_metrics)
            listener_stop(&ws->metrics);
        signal_all(ws, SIGTERM);
        if (running(ws) == 0)
            ev_break(ws->loop, EVBREAK_ALL);
        break;
    default: /* HUP, USR1: each worker does it */
        signal_all(ws, s->signum);
        break;
    }
}

/* parent_text - the parent's own series: workers running and restarts. */
static char *parent_text(const struct workers *ws, size_t *len)
{
    char *t = malloc(512);
    if (t == NULL)
        return NULL;
    int n = snprintf(t, 512,
                     "# HELP smtp_proxy_workers Worker processes running now.\n"
                     "# TYPE smtp_proxy_workers gauge\nsmtp_proxy_workers %d\n"
                     "# HELP smtp_proxy_worker_restarts_total Workers started again after they died.\n"
                     "# TYPE smtp_proxy_worker_restarts_total counter\nsmtp_proxy_worker_restarts_total %llu\n",
                     running(ws), (unsigned long long)ws->restarts_total);
    *len = (size_t)n;
    return t;
}

/* collect_done - when every worker asked has replied (or the time is up): merge and
 * answer every waiting scrape. */
static void collect_done(struct workers *ws)
{
    struct metrics_text in[WORKERS_MAX + 1];
    int k = 0;

    if (!ws->collecting)
        return;
    for (int i = 0; i < ws->n; i++)
        if (!ws->w[i].replied)
            return;
    ws->collecting = 0;
    ev_timer_stop(ws->loop, &ws->scrape_timer);
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].text)
            in[k++] = (struct metrics_text){ws->w[i].text, ws->w[i].text_len};
    size_t plen = 0;
    char *ptext = parent_text(ws, &plen);
    if (ptext)
        in[k++] = (struct metrics_text){ptext, plen};
    char *out = NULL;
    size_t len = 0;
    unsigned skipped = 0;
    int rc = metrics_merge(in, k, &out, &len, &skipped);
    while (ws->pending) {
        struct pending *pd = ws->pending;
        ws->pending = pd->next;
        char *body = rc == 0 ? malloc(len + 1) : NULL;
        if (body)
            memcpy(body, out, len);
        metrics_answer(pd->s, body, body ? len : 0);
        free(pd);
    }
    free(out);
    free(ptext);
    for (int i = 0; i < ws->n; i++) {
        free(ws->w[i].text);
        ws->w[i].text = NULL;
    }
}

static void scrape_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    for (int i = 0; i < W.n; i++)
        W.w[i].replied = 1; /* late ones are left out of this answer */
    collect_done(&W);
}

/* ctl_parent_cb - a worker says it is ready, or sends its metrics. */
static void ctl_parent_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct worker *w = io->data;
    union {
        struct ctl_reply r;
        char c;
    } m;
    int fd;

    (void)loop;
    (void)revents;
    for (;;) {
        size_t len = sizeof(m);
        int rc = recv_fd(io->fd, &m, &len, &fd);
        if (rc <= 0)
            return; /* EOF: SIGCHLD follows */
        if (len == 1 && m.c == CTL_READY) {
            w->ready = 1;
        } else if (len == sizeof(m.r) && fd >= 0 && W.collecting && m.r.round == W.round && !w->replied) {
            char *t = m.r.len ? malloc(m.r.len) : NULL;
            if (t && pread(fd, t, m.r.len, 0) == (ssize_t)m.r.len) {
                w->text = t;
                w->text_len = m.r.len;
            } else {
                free(t);
            }
            w->replied = 1;
        }
        if (fd >= 0)
            close(fd);
        collect_done(&W);
    }
}

/* collect - the metrics source of the parent's endpoint: ask every ready worker. */
static void collect(void *ctx, struct metrics_scrape *s)
{
    struct workers *ws = ctx;
    struct pending *pd = malloc(sizeof(*pd));

    if (pd == NULL) {
        metrics_answer(s, NULL, 0);
        return;
    }
    pd->s = s;
    pd->next = ws->pending;
    ws->pending = pd;
    if (ws->collecting)
        return; /* answered with the round under way */
    ws->collecting = 1;
    ws->round++;
    char req[5] = {CTL_METRICS};
    memcpy(req + 1, &ws->round, sizeof(ws->round));
    for (int i = 0; i < ws->n; i++) {
        struct worker *w = &ws->w[i];
        w->replied = !(w->pid > 0 && w->ready && send(w->ctl, req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) == 5);
    }
    ev_timer_set(&ws->scrape_timer, WORKERS_SCRAPE_TIMEOUT, 0);
    ev_timer_start(ws->loop, &ws->scrape_timer);
    collect_done(ws);
}

/* cancel - a scrape went away before its answer. */
static void cancel(void *ctx, struct metrics_scrape *s)
{
    struct workers *ws = ctx;

    for (struct pending **pp = &ws->pending; *pp; pp = &(*pp)->next)
        if ((*pp)->s == s) {
            struct pending *pd = *pp;
            *pp = pd->next;
            free(pd);
            return;
        }
}

/* open_listeners - worker i's sockets: the first worker's fix the ports asked as 0. */
static int open_listeners(struct workers *ws, const char *const *listen, int flags)
{
    char err[512];
    struct sockaddr_storage addr[LISTENER_MAX];
    socklen_t alen[LISTENER_MAX];

    for (int l = 0; l < ws->nlisten; l++) {
        if (addr_parse(listen[l], -1, &addr[l], &alen[l], err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --listen %s\n", err);
            return -1;
        }
        for (int i = 0; i < ws->n; i++) {
            int fd = addr_listen((struct sockaddr *)&addr[l], alen[l], LISTENER_BACKLOG,
                                 flags | ADDR_LISTEN_REUSEPORT, err, sizeof(err));
            if (fd < 0) {
                fprintf(stderr, "proxy: --listen %s\n", err);
                return -1;
            }
            ws->w[i].listen_fd[l] = fd;
            if (i == 0)
                getsockname(fd, (struct sockaddr *)&addr[l], &alen[l]);
        }
    }
    return 0;
}

int workers_run(struct proxy *p, int n, const char *const *listen, int nlisten, int flags,
                const char *metrics_addr, workers_serve_fn *serve, void *ctx)
{
    struct workers *ws = &W;
    struct listener_set own;
    char err[512];
    static const int sigs[5] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    static struct metrics_source src = {collect, cancel, &W, NULL};

    memset(ws, 0, sizeof(*ws));
    ws->n = n;
    ws->nlisten = nlisten;
    ws->serve = serve;
    ws->ctx = ctx;
    signal(SIGPIPE, SIG_IGN);
    if (open_listeners(ws, listen, flags) != 0)
        return 1;
    listener_init(&own, NULL, "proxy", NULL, NULL); /* the same check as one proxy's, once */
    for (int l = 0; l < nlisten; l++)
        listener_adopt(&own, ws->w[0].listen_fd[l]);
    if (p->have_upstream && listener_is_own(&own, (struct sockaddr *)&p->upstream)) {
        fprintf(stderr, "proxy: --upstream is one of the proxy's own listening addresses\n");
        return 2;
    }
    int buf = HANDOFF_SNDBUF;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ws->handoff) != 0) {
        fprintf(stderr, "proxy: --workers: socketpair: %s\n", strerror(errno));
        return 1;
    }
    if (setsockopt(ws->handoff[1], SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(ws->handoff[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    ws->loop = ev_loop_new(EVFLAG_AUTO);
    if (ws->loop == NULL) {
        fprintf(stderr, "proxy: --workers: cannot make an event loop\n");
        return 1;
    }
    conn_loop_init(ws->loop); /* the scrapes' connections */
    if (metrics_addr) {
        if (metrics_listen(&ws->metrics, ws->loop, metrics_addr, &src, err, sizeof(err)) != 0) {
            fprintf(stderr, "proxy: --metrics %s\n", err);
            return 1;
        }
        ws->have_metrics = 1;
    }
    ev_timer_init(&ws->scrape_timer, scrape_timeout_cb, WORKERS_SCRAPE_TIMEOUT, 0);
    for (int s = 0; s < 5; s++) {
        ev_signal_init(&ws->sig[s], parent_signal_cb, sigs[s]);
        ws->sig[s].data = ws;
        ev_signal_start(ws->loop, &ws->sig[s]);
    }
    for (int i = 0; i < n; i++) {
        ev_timer_init(&ws->w[i].restart, restart_cb, WORKER_RESTART_DELAY, 0);
        ws->w[i].restart.data = &ws->w[i];
        ws->w[i].ctl = -1;
        spawn(ws, i);
    }
    ev_run(ws->loop, 0);
    /* connections handed over that no worker took: they may try again later */
    for (;;) {
        struct handoff_msg m;
        size_t len = sizeof(m);
        int fd;
        if (recv_fd(ws->handoff[0], &m, &len, &fd) <= 0)
            break;
        if (fd >= 0)
            proxy_refuse(fd, "421 4.3.2 proxy: shutting down\r\n");
    }
    if (ws->status == 0)
        fprintf(stderr, "proxy: every worker has stopped\n");
    return ws->status;
}
