/* header - incremental parser of an RFC 5322 header section, line by line, unfolding
 * continuation lines. Pure: fixed buffers, no allocation, no output. */
#include <string.h>
#include <strings.h>

#include "header.h"
#include "line.h"

void header_init(struct header_parser *hp)
{
    hp->state = HEADER_IN;
    hp->have = 0;
    hp->malformed = 0;
    hp->truncated = 0;
    hp->name_len = 0;
    hp->value_len = 0;
}

int header_name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* emit - hand the accumulated field to fn and forget it. */
static void emit(struct header_parser *hp, header_field_fn *fn, void *arg)
{
    if (!hp->have)
        return;
    size_t end = hp->value_len;
    while (end > 0 && (hp->value[end - 1] == ' ' || hp->value[end - 1] == '\t'))
        end--;
    if (fn)
        fn(arg, hp->name, hp->name_len, hp->value, end);
    hp->have = 0;
}

/* append - add text to the value, cutting at the limit. */
static void append(struct header_parser *hp, const char *s, size_t n)
{
    size_t room = HEADER_VALUE_MAX - hp->value_len;

    if (n > room) {
        if (!hp->cut)
            hp->truncated++;
        hp->cut = 1;
        n = room;
    }
    memcpy(hp->value + hp->value_len, s, n);
    hp->value_len += n;
}

static int is_ftext(unsigned char c)
{
    return c >= 33 && c <= 126 && c != ':';
}

enum header_state header_feed(struct header_parser *hp, const char *line, size_t len,
                              header_field_fn *fn, void *arg)
{
    size_t n;

    if (hp->state == HEADER_DONE)
        return HEADER_DONE;
    n = line_strip_eol(line, len);
    if (n == 0) {
        emit(hp, fn, arg);
        hp->state = HEADER_DONE;
        return HEADER_DONE;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        if (hp->have)
            append(hp, line, n);
        else
            hp->malformed++; /* a continuation with nothing to continue */
        return HEADER_IN;
    }
    emit(hp, fn, arg);
    size_t i = 0;
    while (i < n && is_ftext((unsigned char)line[i]))
        i++;
    size_t name_end = i;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++; /* obsolete "Name :" form (RFC 5322 4.5.8) */
    if (name_end == 0 || i >= n || line[i] != ':' || name_end > HEADER_NAME_MAX) {
        hp->malformed++;
        return HEADER_IN;
    }
    memcpy(hp->name, line, name_end);
    hp->name[name_end] = 0;
    hp->name_len = name_end;
    i++;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    hp->value_len = 0;
    hp->have = 1;
    hp->cut = 0;
    append(hp, line + i, n - i);
    return HEADER_IN;
}

void header_finish(struct header_parser *hp, header_field_fn *fn, void *arg)
{
    if (hp->state == HEADER_IN)
        emit(hp, fn, arg);
}
