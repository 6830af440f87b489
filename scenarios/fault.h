/* fault - one "fault = AT ACTION ARGS" line of a scenario file: what goes wrong, when,
 * and for how long, while the load runs. Parsed by bin/scenario, acted on by the runner
 * (scenarios/run) through lab/lab. Pure: no I/O. */
#ifndef SCENARIOS_FAULT_H
#define SCENARIOS_FAULT_H

#include <stddef.h>

#define FAULT_MAX 16        /* faults per scenario */
#define FAULT_TEXT_MAX 96   /* a fault, normalized for the runner */

enum fault_action {
    FAULT_KILL_AGG = 0, /* kill -9 the aggregation server (proxy or Postfix), restart after */
    FAULT_STOP_MX,      /* an MX stops (SIGTERM) and comes back after */
    FAULT_LOSS,         /* packet loss on one of agg's links, each way */
    FAULT_DISK_FULL,    /* the relay's queue file system has no room (queue_minfree) */
};

struct fault {
    enum fault_action action;
    double at;          /* seconds after the load starts */
    double seconds;     /* how long it lasts */
    unsigned mx;        /* FAULT_STOP_MX: 1-based */
    char link[4];       /* FAULT_LOSS: "lan" or "wan" */
    unsigned percent;   /* FAULT_LOSS: 1..100 */
};

/* fault_parse - parse "AT ACTION ARGS" for a lab with mxs MXs; returns 0, or -1 with a
 * reason in err. */
int fault_parse(const char *text, unsigned mxs, struct fault *f, char *err, size_t errlen);

/* fault_format - the normalized text the runner reads: "AT ACTION ARGS". */
void fault_format(const struct fault *f, char *out, size_t size);

#endif
