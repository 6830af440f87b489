/* logfile - an append-only, buffered line file on the event loop: flushed when the
 * buffer fills, on a timer, and on demand; reopened on SIGHUP for log rotation.
 * Used for mx/tarpit records, tarpit events and the proxy log. */
#ifndef LIB_LOGFILE_H
#define LIB_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define LOGFILE_BUF_SIZE 65536

struct logfile {
    char path[4096]; /* "-" is standard output */
    int fd;
    size_t len;
    uint64_t lines, bytes, write_errors;
    struct ev_loop *loop;
    ev_timer timer;
    char buf[LOGFILE_BUF_SIZE];
};

/* logfile_open - open path for appending (created 0644) and flush every interval
 * seconds on loop. Returns 0, or -1 with a reason in err. */
int logfile_open(struct logfile *lf, const char *path, struct ev_loop *loop, double interval,
                 char *err, size_t errlen);

/* logfile_append - add one or more complete lines; returns 0, or -1 if they could not
 * be taken (the file refuses writes and the buffer is full; counted in write_errors):
 * lines once taken are never dropped, a failed flush keeps them for the next one. */
int logfile_append(struct logfile *lf, const char *data, size_t len);

/* logfile_flush - write the buffer out; returns 0, or -1 with the unwritten rest kept. */
int logfile_flush(struct logfile *lf);

/* logfile_reopen - flush, close and open the path again (after rotation). */
int logfile_reopen(struct logfile *lf, char *err, size_t errlen);

/* logfile_close - flush and close. */
void logfile_close(struct logfile *lf);

#endif
