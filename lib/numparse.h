/* numparse - strict number parsing for options and configuration values: the whole
 * text must be the number, in range. Used by every program and by kv-based parsers. */
#ifndef LIB_NUMPARSE_H
#define LIB_NUMPARSE_H

#include <stdint.h>

/* numparse_double - a finite decimal number in [min, max]; returns 0, or -1 (out unset). */
int numparse_double(const char *text, double min, double max, double *out);

/* numparse_u64 - a whole decimal number (no sign, no blanks) up to max; returns 0, or -1. */
int numparse_u64(const char *text, uint64_t max, uint64_t *out);

#endif
