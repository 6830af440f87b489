/* csv - one writer of CSV fields (RFC 4180 quoting) for the mua's log and collect's
 * tables. */
#ifndef LIB_CSV_H
#define LIB_CSV_H

#include <stdio.h>

enum csv_flag {
    CSV_QUOTE_ALWAYS = 1 << 0, /* quote even a field that does not need it */
    CSV_ONE_LINE = 1 << 1,     /* CR and LF become spaces: one record per line */
};

/* csv_field - write s as one field: quoted when it holds a comma, a quote, CR or LF (or
 * always, per flags), quotes doubled. */
void csv_field(FILE *f, const char *s, unsigned flags);

#endif
