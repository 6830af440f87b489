/* csv - one writer of CSV fields. A field is copied as it is when nothing in it needs
 * quoting; otherwise it is quoted with its quotes doubled (RFC 4180 2.6, 2.7). */
#include <string.h>

#include "csv.h"

void csv_field(FILE *f, const char *s, unsigned flags)
{
    if (!(flags & CSV_QUOTE_ALWAYS) && strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc((flags & CSV_ONE_LINE) && (*s == '\n' || *s == '\r') ? ' ' : *s, f);
    }
    fputc('"', f);
}
