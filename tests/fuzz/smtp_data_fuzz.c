/* smtp_data_fuzz - libFuzzer target: any byte stream after DATA, cut as conn.c cuts it,
 * in every mode. Strict and lenient pass bytes unchanged; normalize passes only CRLF line ends and
 * nothing a strict reader would take for the end before the real end; output stays
 * within SMTP_DATA_OUT_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "smtp_data.h"

static char out[1 << 17];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 8192)
        return 0;
    enum smtp_bare_mode mode = (enum smtp_bare_mode)(data[0] % 3);
    size_t limit = (size_t)data[1] % 62 + 3, off = 2, olen = 0;
    const char *in = (const char *)data;
    struct smtp_data d;
    int ended = 0;

    smtp_data_init(&d, mode);
    while (off < size) {
        size_t n;
        enum line_result r = line_scan(in + off, size - off, limit, &n);
        if (r == LINE_PARTIAL)
            n = size - off;
        char buf[SMTP_DATA_OUT_MAX(64)];
        size_t bn;
        if (smtp_data_chunk(&d, in + off, n, r != LINE_COMPLETE, buf, &bn) == SMTP_DATA_END) {
            ended = 1;
            break;
        }
        if (bn > SMTP_DATA_OUT_MAX(n))
            abort();
        memcpy(out + olen, buf, bn);
        olen += bn;
        off += n;
        /* strict and lenient pass every byte unchanged (a CR at a chunk's edge waits) */
        if (mode != SMTP_BARE_NORMALIZE &&
            (olen + d.cr_pending != off - 2 || memcmp(out, in + 2, olen) != 0))
            abort();
    }
    (void)ended;
    if (mode != SMTP_BARE_NORMALIZE)
        return 0;
    /* normalized output: every CR is followed by LF, every LF follows a CR, and a strict
     * reader fed the output never finds an end marker in it */
    for (size_t i = 0; i < olen; i++) {
        if (out[i] == '\r' && !(i + 1 < olen && out[i + 1] == '\n') && !(i + 1 == olen && d.cr_pending == 0))
            abort();
        if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
            abort();
    }
    struct smtp_data check;
    smtp_data_init(&check, SMTP_BARE_STRICT);
    size_t o = 0;
    while (o < olen) {
        size_t n;
        enum line_result r = line_scan(out + o, olen - o, 4096, &n);
        if (r == LINE_PARTIAL)
            n = olen - o;
        char buf[SMTP_DATA_OUT_MAX(4096)];
        size_t bn;
        if (smtp_data_chunk(&check, out + o, n, r != LINE_COMPLETE, buf, &bn) == SMTP_DATA_END)
            abort(); /* the MX would end the message where the client did not */
        o += n;
    }
    if (smtp_data_bare(&check) != 0 && !(check.bare_cr == 1 && out[olen - 1] == '\r'))
        abort();
    return 0;
}
