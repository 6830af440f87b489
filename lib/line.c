/* line - find line boundaries in a byte buffer, with a length limit.
 * memchr does the scanning, so the cost per byte is the library's fastest. */
#include <string.h>

#include "line.h"

enum line_result line_scan(const char *buf, size_t len, size_t limit, size_t *n)
{
    size_t span = len < limit ? len : limit;
    const char *nl = memchr(buf, '\n', span);

    if (nl) {
        *n = (size_t)(nl - buf) + 1;
        return LINE_COMPLETE;
    }
    if (len >= limit) {
        *n = limit;
        return LINE_OVERFLOW;
    }
    *n = 0;
    return LINE_PARTIAL;
}

size_t line_strip_eol(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return len;
}

void line_copy(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}
