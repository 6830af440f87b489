/* maildir - deliver messages into a Maildir (tmp/ then rename into new/), as Postfix's
 * virtual(8) does, with LF line endings. Used by mx and tarpit (--maildir). */
#ifndef LIB_MAILDIR_H
#define LIB_MAILDIR_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

struct maildir_msg {
    FILE *f;
    char tmp_path[PATH_MAX];
    char new_path[PATH_MAX];
    int failed;
};

/* maildir_create - make dir and its tmp/, new/, cur/; returns 0, or -1 with err. */
int maildir_create(const char *dir, char *err, size_t errlen);

/* maildir_begin - open a new file under dir/tmp; returns 0, or -1 with err. */
int maildir_begin(struct maildir_msg *m, const char *dir, const char *hostname, char *err,
                  size_t errlen);

/* maildir_write - add message text; CRLF becomes LF. Errors are kept for commit. */
void maildir_write(struct maildir_msg *m, const char *data, size_t len);

/* maildir_commit - flush, close and move the file into new/; returns 0 or -1 (removed). */
int maildir_commit(struct maildir_msg *m);

/* maildir_abort - close and remove the unfinished file. */
void maildir_abort(struct maildir_msg *m);

#endif
