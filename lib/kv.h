/* kv - the project's one configuration format: "key = value" lines, "#" comments,
 * "[section]" headers; errors are "file:line: what". Used by tarpit --config, mua
 * --schedule and scenario files. */
#ifndef LIB_KV_H
#define LIB_KV_H

#include <stddef.h>

#define KV_LINE_MAX 1024
#define KV_FILE_MAX (1024 * 1024) /* a configuration file larger than this is refused */

/* Called for each "[name]" (key NULL) and each "key = value". Returns 0, or -1 after
 * writing a reason into err (the parser adds "file:line: "). */
typedef int kv_fn(void *arg, const char *section, const char *key, const char *value, char *err,
                  size_t errlen);

/* kv_parse_line - split one line; returns 1 for key/value, 2 for a section, 0 for blank
 * or comment, -1 with a reason in err. Pointers point into line, which is modified. */
int kv_parse_line(char *line, char **key, char **value, char *err, size_t errlen);

/* kv_parse_buffer - call fn for every entry of buf[0..len), a file's text, with *line_out
 * (if not NULL) set to the entry's line first; returns 0, or -1 with "name:line: what" in
 * err. Section names may hold single spaces ("[tenant a]"). */
int kv_parse_buffer(const char *name, const char *buf, size_t len, kv_fn *fn, void *arg,
                    unsigned *line_out, char *err, size_t errlen);

/* kv_read_file - the whole of path (at most KV_FILE_MAX bytes) in a new *buf the caller
 * frees; returns 0, or -1 with "path: what" in err. */
int kv_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* kv_parse_file - read path and call fn for every entry; returns 0, or -1 with
 * "path:line: what" in err. */
int kv_parse_file(const char *path, kv_fn *fn, void *arg, char *err, size_t errlen);

#endif
