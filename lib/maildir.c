/* maildir - deliver messages into a Maildir (tmp/ then rename into new/).
 * Unique names follow the Maildir convention: seconds, microseconds, pid, sequence, host. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "maildir.h"

int maildir_create(const char *dir, char *err, size_t errlen)
{
    static const char *const sub[] = {"", "/tmp", "/new", "/cur"};
    char path[PATH_MAX];

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s%s", dir, sub[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int maildir_begin(struct maildir_msg *m, const char *dir, const char *hostname, char *err,
                  size_t errlen)
{
    static unsigned long seq;
    int64_t now = clock_realtime_us();
    char name[256];

    snprintf(name, sizeof(name), "%lld.M%06lldP%dQ%lu.%s", (long long)(now / 1000000),
             (long long)(now % 1000000), (int)getpid(), ++seq, hostname);
    snprintf(m->tmp_path, sizeof(m->tmp_path), "%s/tmp/%s", dir, name);
    snprintf(m->new_path, sizeof(m->new_path), "%s/new/%s", dir, name);
    m->failed = 0;
    m->f = fopen(m->tmp_path, "wx");
    if (m->f == NULL) {
        snprintf(err, errlen, "%s: cannot create: %s", m->tmp_path, strerror(errno));
        return -1;
    }
    return 0;
}

void maildir_write(struct maildir_msg *m, const char *data, size_t len)
{
    if (m->f == NULL || m->failed)
        return;
    while (len > 0) { /* every CRLF becomes LF */
        const char *cr = memchr(data, '\r', len);
        size_t n = cr ? (size_t)(cr - data) : len;
        if (n > 0 && fwrite(data, 1, n, m->f) != n)
            m->failed = 1;
        if (cr == NULL)
            break;
        if (n + 1 < len && cr[1] == '\n') {
            data += n + 1; /* keep the LF, drop the CR */
            len -= n + 1;
        } else {
            if (fputc('\r', m->f) == EOF)
                m->failed = 1;
            data += n + 1;
            len -= n + 1;
        }
    }
}

int maildir_commit(struct maildir_msg *m)
{
    if (m->f == NULL)
        return -1;
    int bad = m->failed || fflush(m->f) != 0;
    if (fclose(m->f) != 0)
        bad = 1;
    m->f = NULL;
    if (bad || rename(m->tmp_path, m->new_path) != 0) {
        unlink(m->tmp_path);
        return -1;
    }
    return 0;
}

void maildir_abort(struct maildir_msg *m)
{
    if (m->f == NULL)
        return;
    fclose(m->f);
    m->f = NULL;
    unlink(m->tmp_path);
}
