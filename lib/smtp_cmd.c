/* smtp_cmd - parse one SMTP command line (RFC 5321 section 4.1).
 * A pure function over a buffer: no allocation, no output, pointers into the line. */
#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"

static const struct {
    const char *name;
    enum smtp_verb verb;
} smtp_verbs[] = {
    {"HELO", SMTP_VERB_HELO}, {"EHLO", SMTP_VERB_EHLO}, {"MAIL", SMTP_VERB_MAIL},
    {"RCPT", SMTP_VERB_RCPT}, {"DATA", SMTP_VERB_DATA}, {"BDAT", SMTP_VERB_BDAT},
    {"RSET", SMTP_VERB_RSET}, {"NOOP", SMTP_VERB_NOOP}, {"QUIT", SMTP_VERB_QUIT},
    {"VRFY", SMTP_VERB_VRFY}, {"EXPN", SMTP_VERB_EXPN}, {"HELP", SMTP_VERB_HELP},
    {"STARTTLS", SMTP_VERB_STARTTLS}, {"AUTH", SMTP_VERB_AUTH},
};

const char *smtp_verb_name(enum smtp_verb verb)
{
    for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
        if (smtp_verbs[i].verb == verb)
            return smtp_verbs[i].name;
    return "UNKNOWN";
}

const char *smtp_cmd_status_text(enum smtp_cmd_status status)
{
    switch (status) {
    case SMTP_CMD_OK: return "ok";
    case SMTP_CMD_EMPTY: return "empty command";
    case SMTP_CMD_TOO_LONG: return "line too long";
    case SMTP_CMD_BAD_CHAR: return "control character in command";
    case SMTP_CMD_BAD_PATH: return "malformed path";
    case SMTP_CMD_BAD_PARAM: return "malformed parameter";
    case SMTP_CMD_TOO_MANY_PARAMS: return "too many parameters";
    case SMTP_CMD_PATH_TOO_LONG: return "path too long";
    }
    return "unknown status";
}

const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *cmd, const char *key)
{
    size_t klen = strlen(key);

    for (size_t i = 0; i < cmd->nparams; i++)
        if (cmd->params[i].key_len == klen && strncasecmp(cmd->params[i].key, key, klen) == 0)
            return &cmd->params[i];
    return NULL;
}

/* parse_path - parse "<path>" (or a bare path) at s; returns the bytes used, 0 on error. */
static size_t parse_path(const char *s, size_t len, struct smtp_cmd *cmd, enum smtp_cmd_status *st)
{
    size_t i = 0;
    int bracketed = len > 0 && s[0] == '<';
    int quoted = 0;

    if (bracketed)
        i = 1;
    else
        cmd->flags |= SMTP_CMD_F_NO_BRACKETS;
    size_t start = i;
    for (; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                quoted = 0;
            continue;
        }
        if (c == '"') {
            quoted = 1;
            cmd->flags |= SMTP_CMD_F_QUOTED;
        } else if (bracketed && c == '>') {
            break;
        } else if (c == ' ' || (!bracketed && c == '>') || c == '<') {
            break;
        }
    }
    if (quoted || (bracketed && (i >= len || s[i] != '>'))) {
        *st = SMTP_CMD_BAD_PATH;
        return 0;
    }
    cmd->path = s + start;
    cmd->path_len = i - start;
    if (bracketed)
        i++;
    if (i > SMTP_PATH_MAX) {
        *st = SMTP_CMD_PATH_TOO_LONG;
        return 0;
    }
    if (cmd->path_len == 0) {
        if (!bracketed) {
            *st = SMTP_CMD_BAD_PATH;
            return 0;
        }
        cmd->null_path = 1;
    }
    return i;
}

static int is_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* parse_params - split "KEY[=VALUE] ..." (RFC 5321 4.1.2 esmtp-param) into cmd->params. */
static enum smtp_cmd_status parse_params(const char *s, size_t len, struct smtp_cmd *cmd)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        if (cmd->nparams >= SMTP_PARAMS_MAX)
            return SMTP_CMD_TOO_MANY_PARAMS;
        struct smtp_param *p = &cmd->params[cmd->nparams];
        size_t k = i;
        while (i < len && is_key_char(s[i]))
            i++;
        if (i == k || s[k] == '-')
            return SMTP_CMD_BAD_PARAM;
        p->key = s + k;
        p->key_len = i - k;
        p->value = NULL;
        p->value_len = 0;
        if (i < len && s[i] == '=') {
            size_t v = ++i;
            while (i < len && s[i] != ' ') {
                if ((unsigned char)s[i] < 33 || s[i] == '=' || (unsigned char)s[i] > 126)
                    return SMTP_CMD_BAD_PARAM;
                i++;
            }
            if (i == v)
                return SMTP_CMD_BAD_PARAM;
            p->value = s + v;
            p->value_len = i - v;
        } else if (i < len && s[i] != ' ') {
            return SMTP_CMD_BAD_PARAM;
        }
        cmd->nparams++;
    }
    return SMTP_CMD_OK;
}

/* parse_mail_rcpt - the argument of MAIL ("FROM:") or RCPT ("TO:"). */
static enum smtp_cmd_status parse_mail_rcpt(const char *a, size_t len, const char *word,
                                            struct smtp_cmd *cmd)
{
    size_t wlen = strlen(word);
    size_t i;
    enum smtp_cmd_status st = SMTP_CMD_OK;

    if (len < wlen || strncasecmp(a, word, wlen) != 0)
        return SMTP_CMD_BAD_PATH;
    i = wlen;
    while (i < len && a[i] == ' ')
        i++;
    if (i > wlen)
        cmd->flags |= SMTP_CMD_F_SPACE_COLON;
    if (i >= len || a[i] != ':')
        return SMTP_CMD_BAD_PATH;
    i++;
    if (i < len && a[i] == ' ') {
        cmd->flags |= SMTP_CMD_F_SPACE_COLON;
        while (i < len && a[i] == ' ')
            i++;
    }
    size_t used = parse_path(a + i, len - i, cmd, &st);
    if (used == 0)
        return st;
    i += used;
    if (i < len && a[i] != ' ')
        return SMTP_CMD_BAD_PATH;
    return parse_params(a + i, len - i, cmd);
}

enum smtp_cmd_status smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
    size_t end = len;
    size_t i;

    memset(cmd, 0, sizeof(*cmd));
    if (len > SMTP_LINE_MAX)
        return SMTP_CMD_TOO_LONG;
    if (end > 0 && line[end - 1] == '\n') {
        end--;
        if (end > 0 && line[end - 1] == '\r')
            end--;
        else
            cmd->flags |= SMTP_CMD_F_BARE_LF;
    } else {
        cmd->flags |= SMTP_CMD_F_NO_EOL;
    }
    for (i = 0; i < end; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return SMTP_CMD_BAD_CHAR;
    }
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--; /* trailing blanks are common in the wild and meaningless */
    if (end == 0)
        return SMTP_CMD_EMPTY;

    for (i = 0; i < end && line[i] != ' '; i++)
        ;
    cmd->verb_text = line;
    cmd->verb_len = i;
    for (size_t k = 0; k < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); k++) {
        if (strlen(smtp_verbs[k].name) == i && strncasecmp(line, smtp_verbs[k].name, i) == 0) {
            cmd->verb = smtp_verbs[k].verb;
            break;
        }
    }
    if (i < end)
        i++;
    cmd->arg = line + i;
    cmd->arg_len = end - i;

    if (cmd->verb == SMTP_VERB_MAIL)
        return parse_mail_rcpt(cmd->arg, cmd->arg_len, "FROM", cmd);
    if (cmd->verb == SMTP_VERB_RCPT) {
        enum smtp_cmd_status st = parse_mail_rcpt(cmd->arg, cmd->arg_len, "TO", cmd);
        if (st == SMTP_CMD_OK && cmd->null_path)
            return SMTP_CMD_BAD_PATH; /* RCPT TO:<> names nobody */
        return st;
    }
    return SMTP_CMD_OK;
}
