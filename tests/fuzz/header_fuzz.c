/* header_fuzz - libFuzzer target: a header section fed line by line; names and values
 * handed out stay within their limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "mua_stamp.h"

static void on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct mua_stamp st;

    (void)arg;
    if (nlen == 0 || nlen > HEADER_NAME_MAX || vlen > HEADER_VALUE_MAX || memchr(name, ':', nlen))
        abort();
    mua_stamp_parse(value, vlen, &st); /* the stamp parser rides along */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct header_parser hp;
    size_t off = 0;

    header_init(&hp);
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t n = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
        header_feed(&hp, (const char *)data + off, n, on_field, NULL);
        off += n;
    }
    header_finish(&hp, on_field, NULL);
    return 0;
}
