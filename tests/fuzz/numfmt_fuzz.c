/* numfmt_fuzz - libFuzzer target: any double and digit count formats to a number that
 * reads back within half a unit of its last digit, as printf's "%.*f" would print it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double v;
    char buf[NUMFMT_MAX];

    if (size < sizeof(v) + 1)
        return 0;
    memcpy(&v, data, sizeof(v));
    int d = data[sizeof(v)] % 10;
    size_t n = numfmt_fixed(buf, v, d);
    if (!isfinite(v)) {
        if (n != 0)
            abort();
        return 0;
    }
    if (n == 0) { /* allowed only where the digits cannot fit */
        if (fabs(v) < 1e30)
            abort();
        return 0;
    }
    if (n >= NUMFMT_MAX || strlen(buf) != n)
        abort();
    char *end;
    double back = strtod(buf, &end);
    if (end != buf + n)
        abort();
    double unit = pow(10, -d);
    if (fabs(back - v) > unit / 2 * (1 + 1e-9) + fabs(v) * 1e-15)
        abort();
    char ibuf[NUMFMT_MAX];
    int64_t i = (int64_t)(data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 24 |
                          (uint64_t)data[4] << 32 | (uint64_t)data[5] << 40 | (uint64_t)data[6] << 48 |
                          (uint64_t)data[7] << 56);
    numfmt_int(ibuf, i);
    if (strtoll(ibuf, NULL, 10) != i)
        abort();
    return 0;
}
