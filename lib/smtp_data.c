/* smtp_data - where a message sent with DATA ends, and what a bare CR or LF means.
 * Lines come split at LF by conn.c, so an LF can only be a chunk's last byte; a CR is
 * found with memchr, and a CR that ends an over-long chunk waits for the next byte. */
#include <string.h>

#include "line.h"
#include "smtp_data.h"

static const char *const mode_names[] = {"strict", "normalize", "lenient"};

void smtp_data_init(struct smtp_data *d, enum smtp_bare_mode mode)
{
    memset(d, 0, sizeof(*d));
    d->mode = mode;
    d->line_start = 1;
    d->after_crlf = 1; /* the CRLF of the DATA command: an empty message is ".\r\n" */
}

uint64_t smtp_data_bare(const struct smtp_data *d)
{
    return d->bare_cr + d->bare_lf;
}

/* line_end - a line ended, with CRLF or with a bare CR/LF. */
static void line_end(struct smtp_data *d, int crlf)
{
    d->line_start = 1;
    d->line_dot = 0;
    d->after_crlf = (unsigned char)crlf;
    d->after_bare = (unsigned char)!crlf;
}

/* bare - a bare CR or LF: counted; a line end in CRLF form when normalizing. */
static size_t bare(struct smtp_data *d, char c, char *out)
{
    if (c == '\r')
        d->bare_cr++;
    else
        d->bare_lf++;
    if (d->mode == SMTP_BARE_NORMALIZE) {
        size_t o = 0;
        if (d->line_dot)
            out[o++] = '.'; /* "." then a bare end would read as CRLF.CRLF: stuff it */
        out[o++] = '\r';
        out[o++] = '\n';
        line_end(d, 0);
        return o;
    }
    out[0] = c;
    if (c == '\n') /* an LF ends a line for the lenient end marker; a bare CR does not */
        line_end(d, 0);
    return 1;
}

/* is_end - whether the chunk is the end-of-data marker in this mode. */
static int is_end(const struct smtp_data *d, const char *in, size_t len, int partial)
{
    if (!d->line_start || d->cr_pending || partial || len == 0 || in[0] != '.')
        return 0;
    if (d->mode == SMTP_BARE_LENIENT)
        return line_strip_eol(in, len) == 1;
    return d->after_crlf && len == 3 && in[1] == '\r' && in[2] == '\n';
}

enum smtp_data_result smtp_data_chunk(struct smtp_data *d, const char *in, size_t len,
                                      int partial, char *out, size_t *outlen)
{
    size_t i = 0, o = 0;

    *outlen = 0;
    if (is_end(d, in, len, partial))
        return SMTP_DATA_END;
    if (d->cr_pending && len > 0) {
        d->cr_pending = 0;
        if (in[0] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            line_end(d, 1);
            i = 1;
        } else {
            o += bare(d, '\r', out + o);
        }
    }
    while (i < len) {
        int at_start = d->line_start, stuffed = 0;
        if (at_start && d->after_bare && d->mode == SMTP_BARE_NORMALIZE && in[i] == '.') {
            out[o++] = '.'; /* a line the client never stuffed must not end DATA at the MX */
            stuffed = 1;
        }
        d->line_start = 0;
        const char *cr = memchr(in + i, '\r', len - i);
        size_t end = cr ? (size_t)(cr - in) : len;
        if (cr == NULL && !partial && in[len - 1] == '\n')
            end = len - 1; /* the LF that ends the chunk is bare */
        if (end > i) /* is the line so far a lone "." (which a bare end must not follow)? */
            d->line_dot = at_start && !stuffed && end - i == 1 && in[i] == '.';
        memcpy(out + o, in + i, end - i);
        o += end - i;
        i = end;
        if (i == len)
            break;
        if (in[i] == '\n') {
            o += bare(d, '\n', out + o);
            i++;
        } else if (i + 1 < len && in[i + 1] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            line_end(d, 1);
            i += 2;
        } else if (i + 1 == len && partial) {
            d->cr_pending = 1; /* CR at the end of a chunk: CRLF or bare, the next byte says */
            i++;
        } else {
            o += bare(d, '\r', out + o);
            i++;
        }
    }
    *outlen = o;
    return SMTP_DATA_CONTENT;
}

int smtp_bare_mode_parse(const char *text, enum smtp_bare_mode *mode)
{
    for (size_t k = 0; k < sizeof(mode_names) / sizeof(mode_names[0]); k++) {
        if (strcmp(text, mode_names[k]) == 0) {
            *mode = (enum smtp_bare_mode)k;
            return 0;
        }
    }
    return -1;
}

const char *smtp_bare_mode_name(enum smtp_bare_mode mode)
{
    return (size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}
