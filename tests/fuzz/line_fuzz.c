/* line_fuzz - libFuzzer target: scanning arbitrary input line by line covers every byte
 * exactly once and never returns a line longer than the limit. */
#include <stdint.h>
#include <stdlib.h>

#include "line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t limit = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
    size_t off = 0;

    while (off < size) {
        size_t n;
        enum line_result r = line_scan((const char *)data + off, size - off, limit, &n);
        if (r == LINE_PARTIAL)
            break;
        if (n == 0 || n > limit || off + n > size)
            abort();
        if (r == LINE_COMPLETE && data[off + n - 1] != '\n')
            abort();
        off += n;
    }
    return 0;
}
