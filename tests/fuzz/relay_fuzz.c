/* relay_fuzz - the proxy's relay (proxy/relay.c): libFuzzer target: arbitrary lines from both sides (and TLS results)
 * drive the relay; it must never overrun its buffers or lose track of what it owes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "relay.h"

static size_t budget;
static int sink(void *ctx, const char *d, size_t n) { (void)ctx; (void)d; budget += n; return 0; }
static size_t room(void *ctx) { (void)ctx; return 8192; }
static void nothing(void *ctx) { (void)ctx; }
static void done(void *ctx, const char *why) { (void)ctx; (void)why; }
static const struct relay_ops ops = {sink, sink, room, room, nothing, done,
                                     NULL, NULL, NULL, NULL, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct relay r;
    size_t off = 0;

    if (size < 1)
        return 0;
    relay_init(&r, &ops, NULL, (enum relay_tls_mode)(data[0] % 3));
    off = 1;
    while (off < size) {
        uint8_t ctl = data[off++];
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t n = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
        unsigned flags = (ctl >> 2) & (CONN_LINE_PARTIAL | CONN_LINE_CONT);
        if ((ctl & 3) == 0)
            relay_client_line(&r, (const char *)data + off, n, flags);
        else if ((ctl & 3) == 1)
            relay_server_line(&r, (const char *)data + off, n, flags);
        else
            relay_tls_done(&r, ctl & 4, ctl & 8);
        if (r.npending > RELAY_PENDING_MAX || r.ehlo_len > RELAY_EHLO_MAX)
            abort();
        off += n;
    }
    return 0;
}
