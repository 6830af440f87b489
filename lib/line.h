/* line - find line boundaries in a byte buffer, with a length limit.
 * The pure core of conn.c's line reader; fuzzed and unit-tested on its own. */
#ifndef LIB_LINE_H
#define LIB_LINE_H

#include <stddef.h>

enum line_result {
    LINE_COMPLETE, /* a line ending in LF: *n bytes, the LF included */
    LINE_PARTIAL,  /* no LF yet and fewer than limit bytes: wait for more */
    LINE_OVERFLOW, /* no LF within limit bytes: *n = limit bytes of an over-long line */
};

/* line_scan - the next line in buf[0..len), at most limit bytes (limit > 0). */
enum line_result line_scan(const char *buf, size_t len, size_t limit, size_t *n);

/* line_strip_eol - the length of line without its LF or CRLF. */
size_t line_strip_eol(const char *line, size_t len);

/* line_copy - copy s[0..n) into dst as a string, cut to fit size (> 0). */
void line_copy(char *dst, size_t size, const char *s, size_t n);

#endif
