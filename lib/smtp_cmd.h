/* smtp_cmd - parse one SMTP command line (RFC 5321 section 4.1).
 * Used by the SMTP server engine (mx, tarpit) and by the proxy to follow sessions. */
#ifndef LIB_SMTP_CMD_H
#define LIB_SMTP_CMD_H

#include <stddef.h>

#define SMTP_LINE_MAX 1000  /* RFC 5321 4.5.3.1.6: a command line, CRLF included */
#define SMTP_PATH_MAX 256   /* RFC 5321 4.5.3.1.3: a path, angle brackets included */
#define SMTP_PARAMS_MAX 16  /* ESMTP parameters we keep per MAIL/RCPT */

enum smtp_verb {
    SMTP_VERB_UNKNOWN = 0,
    SMTP_VERB_HELO,
    SMTP_VERB_EHLO,
    SMTP_VERB_MAIL,
    SMTP_VERB_RCPT,
    SMTP_VERB_DATA,
    SMTP_VERB_BDAT,
    SMTP_VERB_RSET,
    SMTP_VERB_NOOP,
    SMTP_VERB_QUIT,
    SMTP_VERB_VRFY,
    SMTP_VERB_EXPN,
    SMTP_VERB_HELP,
    SMTP_VERB_STARTTLS,
    SMTP_VERB_AUTH,
};

enum smtp_cmd_status {
    SMTP_CMD_OK = 0,
    SMTP_CMD_EMPTY,         /* nothing but the line ending */
    SMTP_CMD_TOO_LONG,      /* over SMTP_LINE_MAX octets */
    SMTP_CMD_BAD_CHAR,      /* NUL or another control byte in the line */
    SMTP_CMD_BAD_PATH,      /* MAIL/RCPT without a well-formed path */
    SMTP_CMD_BAD_PARAM,     /* malformed ESMTP parameter */
    SMTP_CMD_TOO_MANY_PARAMS,
    SMTP_CMD_PATH_TOO_LONG, /* over SMTP_PATH_MAX */
};

/* Things accepted but worth reporting. */
enum smtp_cmd_flag {
    SMTP_CMD_F_BARE_LF = 1 << 0,     /* line ended with LF alone */
    SMTP_CMD_F_SPACE_COLON = 1 << 1, /* "MAIL FROM : <a@b>" or "FROM: <a@b>" */
    SMTP_CMD_F_NO_BRACKETS = 1 << 2, /* "MAIL FROM:a@b" */
    SMTP_CMD_F_QUOTED = 1 << 3,      /* quoted local part */
    SMTP_CMD_F_NO_EOL = 1 << 4,      /* no line ending at all */
};

struct smtp_param {
    const char *key; /* points into the line; not terminated */
    size_t key_len;
    const char *value; /* NULL for a keyword without "=" */
    size_t value_len;
};

/* A parsed command. Every pointer points into the caller's line. */
struct smtp_cmd {
    enum smtp_verb verb;
    const char *verb_text;
    size_t verb_len;
    const char *arg; /* after the verb and its space; no line ending */
    size_t arg_len;
    const char *path; /* MAIL/RCPT: inside the brackets */
    size_t path_len;
    int null_path; /* MAIL FROM:<> */
    struct smtp_param params[SMTP_PARAMS_MAX];
    size_t nparams;
    unsigned flags; /* enum smtp_cmd_flag */
};

/* smtp_cmd_parse - parse line[0..len), line ending included when present.
 * Fills cmd (also on some errors, as far as it got) and returns a status. */
enum smtp_cmd_status smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);

/* smtp_verb_name - the canonical upper-case name of a verb ("UNKNOWN" if none). */
const char *smtp_verb_name(enum smtp_verb verb);

/* smtp_cmd_status_text - a short English description of a status. */
const char *smtp_cmd_status_text(enum smtp_cmd_status status);

/* smtp_cmd_param - the parameter named key (case-insensitive), or NULL. */
const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *cmd, const char *key);

#endif
