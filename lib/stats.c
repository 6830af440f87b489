/* stats - summaries of samples (count, mean, percentiles, max) and Jain's fairness index.
 * Percentiles are nearest-rank: always a value that was observed. */
#include <math.h>
#include <stdlib.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double stats_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

void stats_summarize(double *v, size_t n, struct stats_summary *out)
{
    double sum = 0;

    out->count = n;
    if (n == 0) {
        out->min = out->mean = out->p50 = out->p90 = out->p99 = out->max = NAN;
        return;
    }
    qsort(v, n, sizeof(double), cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->min = v[0];
    out->mean = sum / (double)n;
    out->p50 = stats_percentile(v, n, 50);
    out->p90 = stats_percentile(v, n, 90);
    out->p99 = stats_percentile(v, n, 99);
    out->max = v[n - 1];
}

double stats_jain(const double *x, size_t n)
{
    double sum = 0, sq = 0;

    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sq += x[i] * x[i];
    }
    if (n == 0 || sq == 0)
        return NAN;
    return sum * sum / ((double)n * sq);
}
