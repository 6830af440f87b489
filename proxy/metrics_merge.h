/* metrics_merge - one Prometheus text exposition from several (the workers' own):
 * samples with the same name and labels are summed, families keep their order. */
#ifndef PROXY_METRICS_MERGE_H
#define PROXY_METRICS_MERGE_H

#include <stddef.h>

#define METRICS_MERGE_INPUTS_MAX 66   /* the workers and the parent's own lines */
#define METRICS_MERGE_LINE_MAX 4096   /* longer lines are skipped */

/* One input text (not NUL-terminated). */
struct metrics_text {
    const char *buf;
    size_t len;
};

/* metrics_merge - merge n texts into a new buffer (*out, *outlen, NUL-terminated, the
 * caller frees): a family's HELP and TYPE come from its first text, a sample is the sum
 * of its values in every text (integers stay integers); lines that are not a comment or
 * "NAME[{LABELS}] VALUE" are counted in *skipped and left out. Returns 0, or -1 without
 * memory or when n exceeds METRICS_MERGE_INPUTS_MAX. */
int metrics_merge(const struct metrics_text *in, int n, char **out, size_t *outlen, unsigned *skipped);

#endif
