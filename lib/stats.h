/* stats - summaries of samples (count, mean, percentiles, max) and Jain's fairness index.
 * Used by collect, mua and the bench. */
#ifndef LIB_STATS_H
#define LIB_STATS_H

#include <stddef.h>

struct stats_summary {
    size_t count;
    double min, mean, p50, p90, p99, max;
};

/* stats_percentile - nearest-rank percentile p (0..100) of sorted[0..n); NAN when n is 0. */
double stats_percentile(const double *sorted, size_t n, double p);

/* stats_summarize - sort v[0..n) in place and fill out (NAN fields when n is 0). */
void stats_summarize(double *v, size_t n, struct stats_summary *out);

/* stats_jain - Jain's fairness index of x[0..n): (sum x)^2 / (n * sum x^2), 1 = fair;
 * NAN when n is 0 or every x is 0. */
double stats_jain(const double *x, size_t n);

#endif
