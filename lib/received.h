/* received - parse a Received: header value (RFC 5321 4.4, RFC 5322 3.6.7): its
 * from/by/with/id/for tokens and the date after the last ";". Used by mx and collect. */
#ifndef LIB_RECEIVED_H
#define LIB_RECEIVED_H

#include <stddef.h>
#include <stdint.h>

/* Fields point into the caller's value; a field not present has length 0. */
struct received {
    const char *from, *by, *with, *id, *for_;
    size_t from_len, by_len, with_len, id_len, for_len;
    int64_t time; /* seconds since the epoch, when has_time */
    int has_time;
};

enum received_status {
    RECEIVED_OK = 0,
    RECEIVED_NO_DATE,  /* no ";" followed by a date */
    RECEIVED_BAD_DATE, /* the text after ";" is not a date-time */
};

/* received_parse - parse an unfolded Received: value into out. */
enum received_status received_parse(const char *value, size_t len, struct received *out);

/* received_format - write a Received: header in Postfix's form, ending in CRLF, with
 * continuation lines indented by a tab. Returns the length, 0 if size is too small. */
size_t received_format(char *buf, size_t size, const char *helo, const char *client_addr,
                       const char *by_host, const char *software, int tls, const char *queue_id,
                       const char *rcpt, int64_t epoch);

#endif
