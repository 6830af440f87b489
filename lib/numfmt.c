/* numfmt - decimal formatting of integers and fixed-point numbers without printf.
 * Digits are produced right to left in a small stack buffer, then moved into place. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "numfmt.h"

/* digits - the decimal digits of v, written right to left ending at end; returns start. */
static char *digits(char *end, uint64_t v, int min_digits)
{
    char *p = end;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
        min_digits--;
    } while (v > 0 || min_digits > 0);
    return p;
}

static size_t finish(char *buf, const char *p, const char *end)
{
    size_t n = (size_t)(end - p);

    memmove(buf, p, n);
    buf[n] = 0;
    return n;
}

size_t numfmt_uint(char *buf, uint64_t v)
{
    char tmp[NUMFMT_MAX], *end = tmp + sizeof(tmp);

    return finish(buf, digits(end, v, 1), end);
}

size_t numfmt_int(char *buf, int64_t v)
{
    char tmp[NUMFMT_MAX], *end = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = digits(end, u, 1);

    if (v < 0)
        *--p = '-';
    return finish(buf, p, end);
}

size_t numfmt_fixed(char *buf, double v, int decimals)
{
    static const double scale[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    char tmp[NUMFMT_MAX], *end = tmp + sizeof(tmp);

    if (!isfinite(v))
        return 0;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double a = fabs(v) * scale[decimals];
    if (!(a < 9e15)) { /* beyond exact integers in a double: let printf do it */
        int n = snprintf(buf, NUMFMT_MAX, "%.*f", decimals, v);
        return n > 0 && n < NUMFMT_MAX ? (size_t)n : 0;
    }
    uint64_t u = (uint64_t)llround(a), unit = (uint64_t)scale[decimals];
    char *p = end;
    if (decimals > 0) {
        p = digits(end, u % unit, decimals);
        *--p = '.';
    }
    p = digits(p, u / unit, 1);
    if (signbit(v))
        *--p = '-';
    return finish(buf, p, end);
}
