/* received - parse a Received: header value (RFC 5321 4.4, RFC 5322 3.6.7): its
 * from/by/with/id/for tokens and the date after the last ";". Pure over the buffer. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "received.h"
#include "rfc5322_date.h"

/* next_word - the next word outside comments in s[*i..end); returns its length. */
static size_t next_word(const char *s, size_t end, size_t *i, const char **w)
{
    for (;;) {
        while (*i < end && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n'))
            (*i)++;
        if (*i < end && s[*i] == '(') {
            int depth = 0;
            do {
                if (s[*i] == '\\' && *i + 1 < end)
                    (*i)++;
                else if (s[*i] == '(')
                    depth++;
                else if (s[*i] == ')')
                    depth--;
                (*i)++;
            } while (depth > 0 && *i < end);
            continue;
        }
        break;
    }
    size_t start = *i;
    if (*i < end && s[*i] == '<') {
        while (*i < end && s[*i] != '>')
            (*i)++;
        if (*i < end)
            (*i)++;
    } else {
        while (*i < end && s[*i] != ' ' && s[*i] != '\t' && s[*i] != '(' && s[*i] != '\r' &&
               s[*i] != '\n')
            (*i)++;
    }
    *w = s + start;
    return *i - start;
}

enum received_status received_parse(const char *value, size_t len, struct received *out)
{
    const char *semi = NULL;
    size_t i = 0;
    int depth = 0;

    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k < len; k++) { /* the last ";" outside comments */
        if (value[k] == '(')
            depth++;
        else if (value[k] == ')' && depth > 0)
            depth--;
        else if (value[k] == ';' && depth == 0)
            semi = value + k;
    }
    size_t tokens_end = semi ? (size_t)(semi - value) : len;
    for (;;) {
        const char *w, *v;
        size_t wl = next_word(value, tokens_end, &i, &w);
        if (wl == 0)
            break;
        size_t save = i;
        size_t vl = next_word(value, tokens_end, &i, &v);
        const char **field = NULL;
        size_t *flen = NULL;
        if (wl == 4 && strncasecmp(w, "from", 4) == 0) {
            field = &out->from;
            flen = &out->from_len;
        } else if (wl == 2 && strncasecmp(w, "by", 2) == 0) {
            field = &out->by;
            flen = &out->by_len;
        } else if (wl == 4 && strncasecmp(w, "with", 4) == 0) {
            field = &out->with;
            flen = &out->with_len;
        } else if (wl == 2 && strncasecmp(w, "id", 2) == 0) {
            field = &out->id;
            flen = &out->id_len;
        } else if (wl == 3 && strncasecmp(w, "for", 3) == 0) {
            field = &out->for_;
            flen = &out->for_len;
        }
        if (field && *flen == 0 && vl > 0) {
            *field = v;
            *flen = vl;
        } else {
            i = save; /* not a keyword: the next word may be one */
        }
    }
    if (semi == NULL)
        return RECEIVED_NO_DATE;
    size_t off = (size_t)(semi - value) + 1;
    if (rfc5322_date_parse(value + off, len - off, &out->time) != 0)
        return RECEIVED_BAD_DATE;
    out->has_time = 1;
    return RECEIVED_OK;
}

size_t received_format(char *buf, size_t size, const char *helo, const char *client_addr,
                       const char *by_host, const char *software, int tls, const char *queue_id,
                       const char *rcpt, int64_t epoch)
{
    char date[RFC5322_DATE_MAX];
    int n;

    if (rfc5322_date_format_local(epoch, date, sizeof(date)) == 0)
        return 0;
    if (helo == NULL || *helo == 0)
        helo = "unknown";
    if (rcpt)
        n = snprintf(buf, size,
                     "Received: from %s (unknown [%s])\r\n\tby %s (%s) with %s id %s\r\n"
                     "\tfor <%s>; %s\r\n",
                     helo, client_addr, by_host, software, tls ? "ESMTPS" : "ESMTP", queue_id, rcpt,
                     date);
    else
        n = snprintf(buf, size,
                     "Received: from %s (unknown [%s])\r\n\tby %s (%s) with %s id %s;\r\n\t%s\r\n",
                     helo, client_addr, by_host, software, tls ? "ESMTPS" : "ESMTP", queue_id, date);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}
