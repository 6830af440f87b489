/* listener - a set of listening sockets on libev: accepts in batches, pauses for a
 * second when out of descriptors, and can be stopped. Used by the SMTP engine and proxy. */
#ifndef LIB_LISTENER_H
#define LIB_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

#define LISTENER_MAX 8
#define LISTENER_BACKLOG 1024
#define LISTENER_BATCH 64 /* accepts per readiness event */

/* Called for each accepted, non-blocking connection. */
typedef void listener_fn(void *ctx, int fd, const struct sockaddr_storage *peer, int index);

struct listener_set {
    struct ev_loop *loop;
    const char *name; /* for messages */
    listener_fn *fn;
    void *ctx;
    int n;
    int stopped;
    int fd[LISTENER_MAX];
    struct sockaddr_storage addr[LISTENER_MAX];
    socklen_t addr_len[LISTENER_MAX];
    ev_io io[LISTENER_MAX];
    ev_timer retry;
};

/* listener_init - an empty set on loop. */
void listener_init(struct listener_set *ls, struct ev_loop *loop, const char *name, listener_fn *fn,
                   void *ctx);

/* listener_add - listen on "ADDR:PORT" (flags: ADDR_LISTEN_*) and start accepting
 * when the set has a loop. Returns 0, or -1 with a reason in err. */
int listener_add(struct listener_set *ls, const char *text, int flags, char *err,
                 size_t errlen);

/* listener_adopt - take fd, a listening socket opened elsewhere, into the set, accepting
 * when the set has a loop; returns 0, or -1 when the set is full. */
int listener_adopt(struct listener_set *ls, int fd);

/* listener_is_own - whether sa is one of the set's listening addresses (a wildcard
 * listener matches any address on its port). */
int listener_is_own(const struct listener_set *ls, const struct sockaddr *sa);

/* listener_stop - stop accepting and close the sockets. */
void listener_stop(struct listener_set *ls);

#endif
