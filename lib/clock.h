/* clock - microsecond wall-clock and monotonic time, and ISO 8601 formatting.
 * Used by every program that stamps events (records, logs, schedules). */
#ifndef LIB_CLOCK_H
#define LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_ISO8601_LEN 28 /* "2026-11-24T06:13:59.123456Z" plus NUL */

/* clock_realtime_us - microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_realtime_us(void);

/* clock_monotonic_us - microseconds on CLOCK_MONOTONIC, for durations only. */
int64_t clock_monotonic_us(void);

/* clock_format_iso8601_us - write UTC time "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into buf;
 * returns the length written, or 0 when size is below CLOCK_ISO8601_LEN. */
size_t clock_format_iso8601_us(int64_t us, char *buf, size_t size);

/* clock_days_from_civil - days since 1970-01-01 of a proleptic Gregorian date. */
int64_t clock_days_from_civil(int64_t year, unsigned month, unsigned day);

/* clock_civil_from_days - the Gregorian date of a day count since 1970-01-01. */
void clock_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

#endif
