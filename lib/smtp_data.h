/* smtp_data - where a message sent with DATA ends, and what a bare CR or LF inside it
 * means (RFC 5321 4.1.1.4, 2.3.8). The proxy and the SMTP server engine both ask it, so
 * they can never disagree on a message's end, nor forward what a lenient peer reads
 * another way (SMTP smuggling, CVE-2023-51764). Pure: no I/O, fuzzed and table-tested. */
#ifndef LIB_SMTP_DATA_H
#define LIB_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

/* What a bare CR or LF (one not part of CRLF) in the content does. */
enum smtp_bare_mode {
    SMTP_BARE_STRICT = 0, /* counted; only CRLF.CRLF ends DATA; the caller refuses the message */
    SMTP_BARE_NORMALIZE,  /* becomes CRLF; a line it starts is dot-stuffed; only CRLF.CRLF ends */
    SMTP_BARE_LENIENT,    /* passed on; "." alone after any LF ends DATA (old sendmail) */
};

enum smtp_data_result {
    SMTP_DATA_CONTENT = 0, /* the chunk is content: pass on what was written to out */
    SMTP_DATA_END,         /* the chunk is the end marker; nothing written */
};

/* the most bytes smtp_data_chunk writes for an input chunk of n bytes */
#define SMTP_DATA_OUT_MAX(n) (2 * (n) + 4)

struct smtp_data {
    enum smtp_bare_mode mode;
    unsigned char line_start; /* the next byte starts a line */
    unsigned char after_crlf; /* ... after a CRLF, or at the start of DATA */
    unsigned char after_bare; /* ... after a bare CR or LF */
    unsigned char cr_pending; /* a chunk ended in CR: the next byte says what it was */
    unsigned char line_dot;   /* the line so far is a lone "." */
    uint64_t bare_cr, bare_lf; /* counted in every mode */
};

/* smtp_data_init - a message starts (the 354 was sent or seen). */
void smtp_data_init(struct smtp_data *d, enum smtp_bare_mode mode);

/* smtp_data_chunk - one chunk as conn.h delivers it: a line up to its LF, or a part of
 * an over-long line (partial: no LF in it; conn's line limit is at least 3, so the end
 * marker always comes whole). Writes the bytes to pass on, still
 * dot-stuffed, to out (room for SMTP_DATA_OUT_MAX(len)) and their length to *outlen. */
enum smtp_data_result smtp_data_chunk(struct smtp_data *d, const char *in, size_t len,
                                      int partial, char *out, size_t *outlen);

/* smtp_data_bare - how many bare CRs and LFs the message had so far. */
uint64_t smtp_data_bare(const struct smtp_data *d);

/* smtp_bare_mode_parse - "strict", "normalize" or "lenient"; returns 0, or -1. */
int smtp_bare_mode_parse(const char *text, enum smtp_bare_mode *mode);

/* smtp_bare_mode_name - the name smtp_bare_mode_parse takes. */
const char *smtp_bare_mode_name(enum smtp_bare_mode mode);

#endif
