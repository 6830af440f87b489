/* workers - --workers N: a parent process that opens the listeners (one SO_REUSEPORT
 * socket per worker and address), forks N proxies, restarts one that dies, passes
 * signals on and serves their metrics merged; worker 0 owns admission to budgets. */
#ifndef PROXY_WORKERS_H
#define PROXY_WORKERS_H

#include <signal.h>

#include "listener.h"

#define WORKERS_MAX 64

struct proxy;

/* What a worker gets from the parent: its listeners and its two channels. */
struct worker_env {
    int index, n;                 /* this worker, of n */
    int nlisten;
    int listen_fd[LISTENER_MAX];  /* this worker's own sockets, bound and listening */
    int handoff_fd;               /* worker 0 receives on it, the others send */
    int ctl_fd;                   /* requests from the parent (metrics), ready notice */
    sigset_t sigmask;             /* to restore once the worker's signal watchers run */
};

/* The part of main that runs a proxy's loop: in a worker, with its env. Returns the
 * exit status. */
typedef int workers_serve_fn(void *ctx, const struct worker_env *env);

/* workers_run - be the parent of n workers listening on listen[0..nlisten) (flags:
 * ADDR_LISTEN_*), serving merged metrics on metrics_addr (or NULL); each worker calls
 * serve. Returns the exit status once every worker has stopped after SIGTERM/SIGINT, or
 * when one failed before it was ready (its message printed). */
int workers_run(struct proxy *p, int n, const char *const *listen, int nlisten, int flags,
                const char *metrics_addr, workers_serve_fn *serve, void *ctx);

/* worker_attach - in a worker: listen for the parent's requests and, in worker 0, for
 * connections handed over; then tell the parent this worker is ready. */
void worker_attach(struct proxy *p, const struct worker_env *env);

/* worker_handoff - in a worker other than 0: send an accepted client whose destination
 * has a budget to worker 0, which admits it (fd is closed here either way); returns 0,
 * or -1 when it could not be sent (the client got 421). */
int worker_handoff(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                   const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us);

/* worker_detach - stop the worker's channel watchers (on shutdown), refusing connections
 * still waiting to be handed over. */
void worker_detach(struct proxy *p);

#endif
