/* mua_stamp - the X-Mua-Stamp header the mua puts on every message.
 * Pure formatting and parsing; names are restricted so they survive headers and CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mua_stamp.h"

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

int mua_stamp_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= MUA_STAMP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return 0;
    return 1;
}

size_t mua_stamp_format(const struct mua_stamp *st, char *buf, size_t size)
{
    int n = snprintf(buf, size, "run=%s; tenant=%s; round=%u; seq=%u; intended=%lld; sent=%lld",
                     st->run, st->tenant, st->round, st->seq, (long long)st->intended_us,
                     (long long)st->sent_us);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* parse_int - a decimal integer filling v[0..len) exactly. */
static int parse_int(const char *v, size_t len, int64_t max, int64_t *out)
{
    char tmp[24];
    char *end;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, v, len);
    tmp[len] = 0;
    if (tmp[0] < '0' || tmp[0] > '9')
        return -1;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end || x < 0 || x > max)
        return -1;
    *out = x;
    return 0;
}

static int copy_name(const char *v, size_t len, char *out)
{
    if (len == 0 || len >= MUA_STAMP_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!name_char(v[i]))
            return -1;
    memcpy(out, v, len);
    out[len] = 0;
    return 0;
}

int mua_stamp_parse(const char *value, size_t len, struct mua_stamp *st)
{
    enum { RUN = 1, TENANT = 2, ROUND = 4, SEQ = 8, INTENDED = 16, SENT = 32, ALL = 63 };
    unsigned seen = 0;
    size_t i = 0;

    memset(st, 0, sizeof(*st));
    while (i < len) {
        while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ';'))
            i++;
        if (i >= len)
            break;
        size_t k = i;
        while (i < len && value[i] != '=' && value[i] != ';')
            i++;
        if (i >= len || value[i] != '=')
            return -1;
        size_t klen = i - k;
        size_t v = ++i;
        while (i < len && value[i] != ';' && value[i] != ' ' && value[i] != '\t')
            i++;
        const char *key = value + k, *val = value + v;
        size_t vlen = i - v;
        int64_t x;
#define KEY_IS(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
        if (KEY_IS("run")) {
            if (copy_name(val, vlen, st->run) != 0)
                return -1;
            seen |= RUN;
        } else if (KEY_IS("tenant")) {
            if (copy_name(val, vlen, st->tenant) != 0)
                return -1;
            seen |= TENANT;
        } else if (KEY_IS("round") || KEY_IS("seq")) {
            if (parse_int(val, vlen, 0xffffffffLL, &x) != 0)
                return -1;
            if (KEY_IS("round")) {
                st->round = (unsigned)x;
                seen |= ROUND;
            } else {
                st->seq = (unsigned)x;
                seen |= SEQ;
            }
        } else if (KEY_IS("intended") || KEY_IS("sent")) {
            if (parse_int(val, vlen, INT64_MAX, &x) != 0)
                return -1;
            if (KEY_IS("intended")) {
                st->intended_us = x;
                seen |= INTENDED;
            } else {
                st->sent_us = x;
                seen |= SENT;
            }
        }
#undef KEY_IS
    }
    return seen == ALL ? 0 : -1;
}
