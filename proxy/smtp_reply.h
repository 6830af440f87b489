/* smtp_reply - parse SMTP replies (RFC 5321 4.2), enhanced status codes (RFC 3463),
 * and EHLO keyword lists. The proxy's relay follows the MX with it. */
#ifndef PROXY_SMTP_REPLY_H
#define PROXY_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_REPLY_LINE_MAX 512   /* RFC 5321 4.5.3.1.5: a reply line, CRLF included */
#define SMTP_REPLY_LINES_MAX 64   /* lines of one multi-line reply we accept */
#define SMTP_ENHANCED_MAX 16      /* "5.7.1" plus room: class.subject(3).detail(3) */

enum smtp_reply_status {
    SMTP_REPLY_OK = 0,     /* a line parsed; see last */
    SMTP_REPLY_SYNTAX,     /* not "DDD" followed by SP, "-" or the end */
    SMTP_REPLY_BAD_CODE,   /* code outside 200..599 */
    SMTP_REPLY_MISMATCH,   /* a continuation line with another code */
    SMTP_REPLY_TOO_LONG,   /* line or reply over the limits */
};

/* One reply line. Pointers point into the caller's buffer. */
struct smtp_reply_line {
    int code;          /* 200..599 */
    int last;          /* "DDD " or "DDD": the final line of the reply */
    const char *text;  /* after the separator; no line ending */
    size_t text_len;
};

/* A reply being assembled line by line. */
struct smtp_reply {
    int code;                       /* 0 until the first line */
    unsigned nlines;
    int complete;                   /* the last line has been seen */
    char enhanced[SMTP_ENHANCED_MAX]; /* from the first line, "" if none */
};

/* smtp_reply_line_parse - parse one reply line (ending included when present). */
enum smtp_reply_status smtp_reply_line_parse(const char *line, size_t len,
                                             struct smtp_reply_line *out);

/* smtp_reply_init - reset r for a new reply. */
void smtp_reply_init(struct smtp_reply *r);

/* smtp_reply_feed - add one line to r; on SMTP_REPLY_OK, r->complete says whether
 * the reply ended. Lines after a complete reply start a new one. */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);

/* smtp_enhanced_parse - parse an RFC 3463 code "C.SSS.DDD" at the start of text whose
 * class must match the reply code's first digit. Returns the length used, 0 if none. */
size_t smtp_enhanced_parse(const char *text, size_t len, int code, char *out, size_t size);

/* smtp_ehlo_keyword - the keyword of one EHLO reply text ("SIZE 1000" -> "SIZE");
 * returns its length and sets *kw, or 0 for an empty text. */
size_t smtp_ehlo_keyword(const char *text, size_t len, const char **kw);

/* smtp_ehlo_has - whether the whole EHLO reply in buf[0..len) offers keyword. */
int smtp_ehlo_has(const char *buf, size_t len, const char *keyword);

/* smtp_ehlo_remove - remove every line offering keyword from the whole EHLO reply in
 * buf[0..len), in place, keeping "250-"/"250 " marks right; the first line (the
 * greeting) is never removed. Returns the new length. */
size_t smtp_ehlo_remove(char *buf, size_t len, const char *keyword);

#endif
