/* rfc5322_date - parse RFC 5322 date-times (3.3, obsolete forms of 4.3 included) to epoch
 * seconds, and format them as Postfix does. Pure; calendar arithmetic from clock.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "rfc5322_date.h"

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* Obsolete zone names (RFC 5322 4.3); military letters mean "unknown", i.e. -0000. */
static const struct {
    const char *name;
    int minutes;
} obs_zones[] = {
    {"UT", 0},         {"GMT", 0},        {"UTC", 0},        {"Z", 0},
    {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60},
    {"MST", -7 * 60}, {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60},
};

struct cursor {
    const char *s;
    size_t len;
    size_t i;
};

/* skip_cfws - skip folding white space and (nested) comments; returns -1 on a broken comment. */
static int skip_cfws(struct cursor *c)
{
    for (;;) {
        while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' ||
                                 c->s[c->i] == '\n'))
            c->i++;
        if (c->i >= c->len || c->s[c->i] != '(')
            return 0;
        int depth = 0;
        do {
            char ch = c->s[c->i++];
            if (ch == '\\' && c->i < c->len)
                c->i++;
            else if (ch == '(' && ++depth > RFC5322_COMMENT_DEPTH)
                return -1;
            else if (ch == ')')
                depth--;
        } while (depth > 0 && c->i < c->len);
        if (depth > 0)
            return -1;
    }
}

/* read_number - up to max digits; returns the count read (0: none). */
static int read_number(struct cursor *c, int max, int *out)
{
    int n = 0, v = 0;

    while (c->i < c->len && n < max && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        v = v * 10 + (c->s[c->i++] - '0');
        n++;
    }
    if (n == max && c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        return 0; /* too many digits */
    *out = v;
    return n;
}

/* read_word - letters only; returns the count. */
static size_t read_word(struct cursor *c, const char **w)
{
    size_t start = c->i;

    while (c->i < c->len && ((c->s[c->i] >= 'A' && c->s[c->i] <= 'Z') ||
                             (c->s[c->i] >= 'a' && c->s[c->i] <= 'z')))
        c->i++;
    *w = c->s + start;
    return c->i - start;
}

static int expect(struct cursor *c, char ch)
{
    if (skip_cfws(c) != 0 || c->i >= c->len || c->s[c->i] != ch)
        return -1;
    c->i++;
    return 0;
}

static int parse_zone(struct cursor *c, int *minutes)
{
    const char *w;
    size_t n;

    if (skip_cfws(c) != 0 || c->i >= c->len)
        return -1;
    if (c->s[c->i] == '+' || c->s[c->i] == '-') {
        int sign = c->s[c->i++] == '-' ? -1 : 1;
        int v;
        if (read_number(c, 4, &v) != 4 || v % 100 > 59)
            return -1;
        *minutes = sign * (v / 100 * 60 + v % 100);
        return 0;
    }
    n = read_word(c, &w);
    for (size_t k = 0; k < sizeof(obs_zones) / sizeof(obs_zones[0]); k++) {
        if (strlen(obs_zones[k].name) == n && strncasecmp(w, obs_zones[k].name, n) == 0) {
            *minutes = obs_zones[k].minutes;
            return 0;
        }
    }
    if (n == 1 && ((*w | 0x20) != 'j')) { /* military zones: treated as -0000 */
        *minutes = 0;
        return 0;
    }
    return -1;
}

static int days_in_month(int year, int month)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : dim[month - 1];
}

int rfc5322_date_parse(const char *s, size_t len, int64_t *epoch)
{
    struct cursor c = {s, len, 0};
    const char *w;
    size_t n;
    int day, month = 0, year, hour, min, sec = 0, zone, ndig;

    if (skip_cfws(&c) != 0)
        return -1;
    /* optional day-of-week "," */
    size_t save = c.i;
    n = read_word(&c, &w);
    if (n > 0) {
        int found = 0;
        for (int k = 0; k < 7; k++)
            if (n == 3 && strncasecmp(w, day_names[k], 3) == 0)
                found = 1;
        if (!found || expect(&c, ',') != 0)
            return -1;
    } else {
        c.i = save;
    }
    if (skip_cfws(&c) != 0 || read_number(&c, 2, &day) == 0)
        return -1;
    if (skip_cfws(&c) != 0)
        return -1;
    n = read_word(&c, &w);
    for (int k = 0; k < 12; k++)
        if (n == 3 && strncasecmp(w, month_names[k], 3) == 0)
            month = k + 1;
    if (month == 0 || skip_cfws(&c) != 0)
        return -1;
    ndig = read_number(&c, 4, &year);
    if (ndig < 2)
        return -1;
    if (ndig == 2) /* RFC 5322 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999 */
        year += year < 50 ? 2000 : 1900;
    else if (ndig == 3)
        year += 1900;
    if (year < 1900 || day < 1 || day > days_in_month(year, month))
        return -1;
    if (skip_cfws(&c) != 0 || read_number(&c, 2, &hour) == 0 || expect(&c, ':') != 0 ||
        skip_cfws(&c) != 0 || read_number(&c, 2, &min) == 0)
        return -1;
    if (skip_cfws(&c) == 0 && c.i < c.len && c.s[c.i] == ':') {
        c.i++;
        if (skip_cfws(&c) != 0 || read_number(&c, 2, &sec) == 0)
            return -1;
    }
    if (hour > 23 || min > 59 || sec > 60)
        return -1;
    if (parse_zone(&c, &zone) != 0 || skip_cfws(&c) != 0 || c.i != c.len)
        return -1;
    *epoch = clock_days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 +
             min * 60 + sec - (int64_t)zone * 60;
    return 0;
}

size_t rfc5322_date_format(int64_t epoch, int offset_minutes, const char *zone_name, char *buf,
                           size_t size)
{
    int64_t local = epoch + (int64_t)offset_minutes * 60;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - days * 86400;
    int64_t year;
    unsigned month, day;
    int wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    int n;

    clock_civil_from_days(days, &year, &month, &day);
    n = snprintf(buf, size, "%s, %2u %s %04lld %02u:%02u:%02u %c%02d%02d%s%s%s", day_names[wday],
                 day, month_names[month - 1], (long long)year, (unsigned)(sod / 3600),
                 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), offset_minutes < 0 ? '-' : '+',
                 off / 60, off % 60, zone_name ? " (" : "", zone_name ? zone_name : "",
                 zone_name ? ")" : "");
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t rfc5322_date_format_local(int64_t epoch, char *buf, size_t size)
{
    time_t t = (time_t)epoch;
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return rfc5322_date_format(epoch, 0, "UTC", buf, size);
    return rfc5322_date_format(epoch, (int)(tm.tm_gmtoff / 60), tm.tm_zone, buf, size);
}
