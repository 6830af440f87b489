/* numparse - strict number parsing: strtod/strtoull with every error checked (errno,
 * nothing parsed, trailing text, range), as endlessh's validators do. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "numparse.h"

int numparse_double(const char *text, double min, double max, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int numparse_u64(const char *text, uint64_t max, uint64_t *out)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}
