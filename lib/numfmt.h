/* numfmt - decimal formatting of integers and fixed-point numbers without printf, for
 * the hot paths that write a number per field (JSON log lines, collect's CSV). */
#ifndef LIB_NUMFMT_H
#define LIB_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define NUMFMT_MAX 48 /* room for any result, NUL included */

/* numfmt_int - write v in decimal into buf (NUMFMT_MAX bytes); returns its length. */
size_t numfmt_int(char *buf, int64_t v);

/* numfmt_uint - write v in decimal into buf (NUMFMT_MAX bytes); returns its length. */
size_t numfmt_uint(char *buf, uint64_t v);

/* numfmt_fixed - write v with `decimals` (0..9) digits after the point, rounded half
 * away from zero, into buf (NUMFMT_MAX bytes); returns its length, or 0 for NaN,
 * infinities and numbers whose digits do not fit (|v| beyond about 1e38). Numbers too
 * large for exact scaling (|v| * 10^decimals >= 9e15) are printed by "%.*f". */
size_t numfmt_fixed(char *buf, double v, int decimals);

#endif
