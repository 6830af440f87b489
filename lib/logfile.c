/* logfile - an append-only, buffered line file on the event loop: flushed when the
 * buffer fills, on a timer, and on demand; reopened on SIGHUP for log rotation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "logfile.h"

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    logfile_flush(w->data);
}

static int open_path(struct logfile *lf, char *err, size_t errlen)
{
    if (strcmp(lf->path, "-") == 0) {
        lf->fd = STDOUT_FILENO;
        return 0;
    }
    lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lf->fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", lf->path, strerror(errno));
        return -1;
    }
    return 0;
}

int logfile_open(struct logfile *lf, const char *path, struct ev_loop *loop, double interval,
                 char *err, size_t errlen)
{
    memset(lf, 0, offsetof(struct logfile, buf));
    if (strlen(path) >= sizeof(lf->path)) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    strcpy(lf->path, path);
    if (open_path(lf, err, errlen) != 0)
        return -1;
    lf->loop = loop;
    ev_timer_init(&lf->timer, timer_cb, interval, interval);
    lf->timer.data = lf;
    if (loop && interval > 0) {
        ev_timer_start(loop, &lf->timer);
        ev_unref(loop); /* a flush timer alone must not keep the loop running */
    }
    return 0;
}

int logfile_flush(struct logfile *lf)
{
    size_t off = 0;

    while (off < lf->len) {
        ssize_t n = write(lf->fd, lf->buf + off, lf->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* keep what was not written: the next flush tries again (a full disk frees
             * up; records of accepted mail must not vanish) */
            lf->write_errors++;
            memmove(lf->buf, lf->buf + off, lf->len - off);
            lf->len -= off;
            return -1;
        }
        off += (size_t)n;
    }
    lf->len = 0;
    return 0;
}

int logfile_append(struct logfile *lf, const char *data, size_t len)
{
    if (lf->fd < 0)
        return -1;
    if (lf->len + len > sizeof(lf->buf) && logfile_flush(lf) != 0)
        return -1;
    if (len > sizeof(lf->buf)) { /* larger than the buffer: straight out */
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(lf->fd, data + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                lf->write_errors++;
                return -1;
            }
            off += (size_t)n;
        }
    } else {
        memcpy(lf->buf + lf->len, data, len);
        lf->len += len;
    }
    lf->lines++;
    lf->bytes += len;
    return 0;
}

int logfile_reopen(struct logfile *lf, char *err, size_t errlen)
{
    logfile_flush(lf);
    if (lf->fd > STDERR_FILENO)
        close(lf->fd);
    return open_path(lf, err, errlen);
}

void logfile_close(struct logfile *lf)
{
    if (lf->fd < 0)
        return;
    logfile_flush(lf);
    if (lf->loop && ev_is_active(&lf->timer)) {
        ev_ref(lf->loop);
        ev_timer_stop(lf->loop, &lf->timer);
    }
    if (lf->fd > STDERR_FILENO)
        close(lf->fd);
    lf->fd = -1;
}
