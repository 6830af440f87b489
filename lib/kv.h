/* kv - the project's one configuration format: "key = value" lines, "#" comments,
 * "[section]" headers; errors are "file:line: what". Used by tarpit --config, mua
 * --schedule and scenario files. */
#ifndef LIB_KV_H
#define LIB_KV_H

#include <stddef.h>

#define KV_LINE_MAX 1024

/* Called for each "[name]" (key NULL) and each "key = value". Returns 0, or -1 after
 * writing a reason into err (the parser adds "file:line: "). */
typedef int kv_fn(void *arg, const char *section, const char *key, const char *value, char *err,
                  size_t errlen);

/* kv_parse_line - split one line; returns 1 for key/value, 2 for a section, 0 for blank
 * or comment, -1 with a reason in err. Pointers point into line, which is modified. */
int kv_parse_line(char *line, char **key, char **value, char *err, size_t errlen);

/* kv_parse_file - read path and call fn for every entry; returns 0, or -1 with
 * "path:line: what" in err. */
int kv_parse_file(const char *path, kv_fn *fn, void *arg, char *err, size_t errlen);

#endif
