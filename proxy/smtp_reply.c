/* smtp_reply - parse SMTP replies (RFC 5321 4.2), enhanced status codes (RFC 3463),
 * and EHLO keyword lists. Pure functions over buffers; nothing here allocates. */
#include <string.h>
#include <strings.h>

#include "line.h"
#include "smtp_reply.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum smtp_reply_status smtp_reply_line_parse(const char *line, size_t len,
                                             struct smtp_reply_line *out)
{
    memset(out, 0, sizeof(*out));
    if (len > SMTP_REPLY_LINE_MAX)
        return SMTP_REPLY_TOO_LONG;
    len = line_strip_eol(line, len);
    if (len < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
        return SMTP_REPLY_SYNTAX;
    if (len > 3 && line[3] != ' ' && line[3] != '-')
        return SMTP_REPLY_SYNTAX;
    out->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (out->code < 200 || out->code > 599 || line[1] > '5')
        return SMTP_REPLY_BAD_CODE;
    out->last = len == 3 || line[3] == ' ';
    out->text = line + (len > 3 ? 4 : 3);
    out->text_len = len > 3 ? len - 4 : 0;
    return SMTP_REPLY_OK;
}

void smtp_reply_init(struct smtp_reply *r)
{
    memset(r, 0, sizeof(*r));
}

enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
    struct smtp_reply_line rl;
    enum smtp_reply_status st;

    if (r->complete)
        smtp_reply_init(r);
    st = smtp_reply_line_parse(line, len, &rl);
    if (st != SMTP_REPLY_OK)
        return st;
    if (r->nlines == 0) {
        r->code = rl.code;
        smtp_enhanced_parse(rl.text, rl.text_len, rl.code, r->enhanced, sizeof(r->enhanced));
    } else if (rl.code != r->code) {
        return SMTP_REPLY_MISMATCH;
    }
    if (++r->nlines > SMTP_REPLY_LINES_MAX)
        return SMTP_REPLY_TOO_LONG;
    r->complete = rl.last;
    return SMTP_REPLY_OK;
}

size_t smtp_enhanced_parse(const char *text, size_t len, int code, char *out, size_t size)
{
    size_t i = 0;
    int part;

    if (size > 0)
        out[0] = 0;
    if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5'))
        return 0;
    if (code != 0 && text[0] - '0' != code / 100)
        return 0;
    i = 1;
    for (part = 0; part < 2; part++) {
        size_t digits = 0;
        if (i >= len || text[i] != '.')
            return 0;
        i++;
        while (i < len && is_digit(text[i]) && digits < 4) {
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            return 0;
    }
    if (i < len && text[i] != ' ')
        return 0;
    if (i + 1 > size)
        return 0;
    memcpy(out, text, i);
    out[i] = 0;
    return i;
}

size_t smtp_ehlo_keyword(const char *text, size_t len, const char **kw)
{
    size_t i = 0;

    while (i < len && text[i] != ' ' && text[i] != '=')
        i++; /* some servers still send "AUTH=LOGIN" */
    *kw = text;
    return i;
}

/* next_line - the length of the line starting at buf[off], its LF included. */
static size_t next_line(const char *buf, size_t len, size_t off)
{
    const char *nl = memchr(buf + off, '\n', len - off);

    return nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
}

/* line_offers - whether an EHLO reply line (not the first) offers keyword. */
static int line_offers(const char *line, size_t n, const char *keyword)
{
    struct smtp_reply_line rl;
    const char *kw;
    size_t klen;

    if (smtp_reply_line_parse(line, n, &rl) != SMTP_REPLY_OK)
        return 0;
    klen = smtp_ehlo_keyword(rl.text, rl.text_len, &kw);
    return klen == strlen(keyword) && strncasecmp(kw, keyword, klen) == 0;
}

int smtp_ehlo_has(const char *buf, size_t len, const char *keyword)
{
    size_t off = next_line(buf, len, 0);

    while (off < len) {
        size_t n = next_line(buf, len, off);
        if (line_offers(buf + off, n, keyword))
            return 1;
        off += n;
    }
    return 0;
}

size_t smtp_ehlo_remove(char *buf, size_t len, const char *keyword)
{
    size_t prev = 0; /* start of the last line kept */
    size_t off = next_line(buf, len, 0);
    int removed_last = 0;

    while (off < len) {
        size_t n = next_line(buf, len, off);
        if (line_offers(buf + off, n, keyword)) {
            removed_last = n >= 4 && buf[off + 3] != '-';
            memmove(buf + off, buf + off + n, len - off - n);
            len -= n;
            continue;
        }
        removed_last = 0;
        prev = off;
        off += n;
    }
    if (removed_last && len >= 4 && buf[prev + 3] == '-')
        buf[prev + 3] = ' '; /* the line before the removed last line now ends the reply */
    return len;
}
