/* rfc5322_date - parse RFC 5322 date-times (3.3, obsolete forms of 4.3 included) to epoch
 * seconds, and format them as Postfix does. Used by mx (Received:), collect and mua (Date:). */
#ifndef LIB_RFC5322_DATE_H
#define LIB_RFC5322_DATE_H

#include <stddef.h>
#include <stdint.h>

#define RFC5322_DATE_MAX 64 /* "Tue, 24 Nov 2026 06:13:59 +0000 (UTC)" and room to spare */
#define RFC5322_COMMENT_DEPTH 8 /* nested comments we follow */

/* rfc5322_date_parse - parse s[0..len) (day name optional, comments and folding
 * allowed, numeric or obsolete zones) into seconds since the epoch, UTC.
 * Returns 0, or -1 when the text is not a valid date-time. */
int rfc5322_date_parse(const char *s, size_t len, int64_t *epoch);

/* rfc5322_date_format - format epoch as Postfix does: "Tue,  4 Nov 2026 06:13:59 +0000 (UTC)"
 * (day padded with a space), with the zone offset in minutes east and its name
 * (NULL: no comment). Returns the length written, 0 if size is too small. */
size_t rfc5322_date_format(int64_t epoch, int offset_minutes, const char *zone_name, char *buf,
                           size_t size);

/* rfc5322_date_format_local - format epoch in the process's local zone, as above. */
size_t rfc5322_date_format_local(int64_t epoch, char *buf, size_t size);

#endif
