/* mx - a fast MX sink: accepts every message and records it (one JSON line each, and
 * optionally a Maildir), for the harness's latency collector. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <ev.h>

#include "sink.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mx [OPTIONS]\n"
               "An SMTP sink that accepts every message (RFC 5321, PIPELINING, STARTTLS) and\n"
               "records each one as a JSON line: arrival time (us), client, HELO, sender,\n"
               "recipients, size, Message-ID, Date, X-Mua-Stamp and the Received: chain.\n\n"
               "Options:\n");
    sink_options_help(f);
    fprintf(f, "  --help                 this text\n\n"
               "Signals: TERM/INT finish open transactions, flush and exit; HUP reopens the\n"
               "record file; USR1 prints counters. Records are flushed at least once a second.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {SINK_LONG_OPTIONS, {"help", no_argument, NULL, 'h'}, {0}};
    struct sink_options o;
    struct sink *k;
    char err[1024];
    int opt;

    sink_options_init(&o);
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        int r = sink_option(&o, opt, optarg, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "mx: %s\n", err);
            return 2;
        }
        if (r == 0) {
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mx: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL || sink_start(k, ev_default_loop(EVFLAG_AUTO), "mailagg-mx", &o, NULL, err,
                                sizeof(err)) != 0) {
        fprintf(stderr, "mx: %s\n", k ? err : "out of memory");
        return 1;
    }
    int rc = sink_run(k);
    free(k);
    return rc;
}
