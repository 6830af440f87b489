/* mua_stamp - the X-Mua-Stamp header the mua puts on every message:
 * "run=RUN; tenant=TENANT; round=K; seq=N; intended=<us>; sent=<us>".
 * Written by mua, read by mx records and collect. */
#ifndef LIB_MUA_STAMP_H
#define LIB_MUA_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define MUA_STAMP_HEADER "X-Mua-Stamp"
#define MUA_STAMP_NAME_MAX 64 /* run and tenant names */
#define MUA_STAMP_MAX 256     /* a formatted stamp value */

struct mua_stamp {
    char run[MUA_STAMP_NAME_MAX];
    char tenant[MUA_STAMP_NAME_MAX];
    unsigned round;
    unsigned seq;
    int64_t intended_us;
    int64_t sent_us;
};

/* mua_stamp_format - write the header value (no name, no CRLF); returns its length,
 * 0 if it does not fit. */
size_t mua_stamp_format(const struct mua_stamp *st, char *buf, size_t size);

/* mua_stamp_parse - parse a header value; keys in any order, unknown keys ignored,
 * all six required. Returns 0, or -1 when the value is malformed. */
int mua_stamp_parse(const char *value, size_t len, struct mua_stamp *st);

/* mua_stamp_name_ok - whether a run or tenant name is usable ([A-Za-z0-9_.-]+, short). */
int mua_stamp_name_ok(const char *name);

#endif
