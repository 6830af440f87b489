/* fault - parse and format the faults a scenario injects while its load runs.
 * Syntax, one per "fault =" line:
 *   AT kill-agg SECONDS       AT stop-mx mxN SECONDS
 *   AT loss lan|wan PERCENT SECONDS       AT disk-full SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "numparse.h"

#define FAULT_WORDS 6

/* words - split text at blanks into at most FAULT_WORDS words; returns their count. */
static int words(char *text, char *w[FAULT_WORDS])
{
    char *save = NULL;
    int n = 0;
    for (char *p = strtok_r(text, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
        if (n == FAULT_WORDS)
            return FAULT_WORDS + 1;
        w[n++] = p;
    }
    return n;
}

static int seconds(const char *text, double *out, const char *what, char *err, size_t errlen)
{
    if (numparse_double(text, 0, 86400, out) != 0) {
        snprintf(err, errlen, "%s '%s': expected seconds", what, text);
        return -1;
    }
    return 0;
}

int fault_parse(const char *text, unsigned mxs, struct fault *f, char *err, size_t errlen)
{
    char buf[256], *w[FAULT_WORDS];
    static const char usage[] = "expected AT kill-agg SECONDS, AT stop-mx mxN SECONDS, "
                                "AT loss lan|wan PERCENT SECONDS or AT disk-full SECONDS";

    memset(f, 0, sizeof(*f));
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf)) {
        snprintf(err, errlen, "fault too long");
        return -1;
    }
    int n = words(buf, w);
    if (n < 3) {
        snprintf(err, errlen, "fault '%s': %s", text, usage);
        return -1;
    }
    if (seconds(w[0], &f->at, "fault time", err, errlen) != 0)
        return -1;
    if (strcmp(w[1], "kill-agg") == 0 && n == 3) {
        f->action = FAULT_KILL_AGG;
        return seconds(w[2], &f->seconds, "kill-agg restart after", err, errlen);
    }
    if (strcmp(w[1], "disk-full") == 0 && n == 3) {
        f->action = FAULT_DISK_FULL;
        return seconds(w[2], &f->seconds, "disk-full duration", err, errlen);
    }
    if (strcmp(w[1], "stop-mx") == 0 && n == 4) {
        char *end;
        long i = strncmp(w[2], "mx", 2) == 0 ? strtol(w[2] + 2, &end, 10) : 0;
        if (i < 1 || (unsigned long)i > mxs || *end) {
            snprintf(err, errlen, "stop-mx '%s': expected mx1..mx%u", w[2], mxs);
            return -1;
        }
        f->action = FAULT_STOP_MX;
        f->mx = (unsigned)i;
        return seconds(w[3], &f->seconds, "stop-mx duration", err, errlen);
    }
    if (strcmp(w[1], "loss") == 0 && n == 5) {
        uint64_t pct;
        if (strcmp(w[2], "lan") != 0 && strcmp(w[2], "wan") != 0) {
            snprintf(err, errlen, "loss link '%s': expected lan (MSAs to agg) or wan (agg to MXs)", w[2]);
            return -1;
        }
        if (numparse_u64(w[3], 100, &pct) != 0 || pct == 0) {
            snprintf(err, errlen, "loss '%s': expected a percentage, 1..100", w[3]);
            return -1;
        }
        f->action = FAULT_LOSS;
        snprintf(f->link, sizeof(f->link), "%s", w[2]);
        f->percent = (unsigned)pct;
        return seconds(w[4], &f->seconds, "loss duration", err, errlen);
    }
    if (strcmp(w[1], "delay") == 0) {
        snprintf(err, errlen, "fault 'delay' needs tc netem, which this kernel does not have "
                              "(CONFIG_NET_SCH_NETEM is off): use loss, or a tarpit's delays");
        return -1;
    }
    snprintf(err, errlen, "fault '%s': %s", text, usage);
    return -1;
}

void fault_format(const struct fault *f, char *out, size_t size)
{
    switch (f->action) {
    case FAULT_KILL_AGG: snprintf(out, size, "%g kill-agg %g", f->at, f->seconds); break;
    case FAULT_DISK_FULL: snprintf(out, size, "%g disk-full %g", f->at, f->seconds); break;
    case FAULT_STOP_MX: snprintf(out, size, "%g stop-mx mx%u %g", f->at, f->mx, f->seconds); break;
    case FAULT_LOSS:
        snprintf(out, size, "%g loss %s %u %g", f->at, f->link, f->percent, f->seconds);
        break;
    }
}
