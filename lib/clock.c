/* clock - microsecond wall-clock and monotonic time, and ISO 8601 formatting.
 * Calendar arithmetic is done here, without timegm()/gmtime(), so it is pure. */
#include <stdio.h>
#include <time.h>

#include "clock.h"

int64_t clock_realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian date. */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t)doe - 719468;
}

void clock_civil_from_days(int64_t z, int64_t *year, unsigned *month, unsigned *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    *year = (int64_t)yoe + era * 400 + (m <= 2);
    *month = m;
    *day = d;
}

size_t clock_format_iso8601_us(int64_t us, char *buf, size_t size)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t year;
    unsigned month, day;
    int n;

    if (size < CLOCK_ISO8601_LEN)
        return 0;
    clock_civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999)
        return 0;
    n = snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lldZ", (long long)year, month, day,
                 (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                 (long long)frac);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
