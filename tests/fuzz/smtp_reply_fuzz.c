/* smtp_reply_fuzz - libFuzzer target: reply lines, multi-line assembly, and EHLO keyword
 * removal, which must never grow the reply nor leave the keyword offered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_reply r;
    char buf[4096];
    size_t off = 0;

    smtp_reply_init(&r);
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t n = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
        smtp_reply_feed(&r, (const char *)data + off, n);
        off += n;
    }
    if (size > sizeof(buf))
        return 0;
    memcpy(buf, data, size);
    size_t len = smtp_ehlo_remove(buf, size, "STARTTLS");
    if (len > size)
        abort();
    /* the greeting line is kept, so only later lines are checked */
    const char *first = memchr(buf, '\n', len);
    if (first && smtp_ehlo_has(buf, len, "STARTTLS"))
        abort();
    return 0;
}
