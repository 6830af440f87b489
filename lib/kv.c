/* kv - the project's one configuration format: "key = value" lines, "#" comments,
 * "[section]" headers; errors are "file:line: what". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

int kv_parse_line(char *line, char **key, char **value, char *err, size_t errlen)
{
    char *s = trim(line);

    if (*s == 0 || *s == '#')
        return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (close == NULL) {
            snprintf(err, errlen, "section header without ']'");
            return -1;
        }
        char *rest = close + 1; /* only blanks and a comment may follow */
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest != 0 && *rest != '#') {
            snprintf(err, errlen, "unexpected '%s' after the section header", rest);
            return -1;
        }
        *close = 0;
        *key = trim(s + 1);
        *value = NULL;
        for (char *p = *key; *p; p++)
            if (!key_char(*p) && !(*p == ' ' && p[1] != ' ')) {
                snprintf(err, errlen, "bad character '%c' in section name", *p);
                return -1;
            }
        if (**key == 0) {
            snprintf(err, errlen, "empty section name");
            return -1;
        }
        return 2;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected 'key = value', got '%s'", s);
        return -1;
    }
    *eq = 0;
    *key = trim(s);
    *value = trim(eq + 1);
    if (**key == 0) {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    for (char *p = *key; *p; p++)
        if (!key_char(*p)) {
            snprintf(err, errlen, "bad character '%c' in key '%s'", *p, *key);
            return -1;
        }
    /* a trailing comment, when preceded by a blank */
    for (char *p = *value; *p; p++)
        if (*p == '#' && (p == *value || p[-1] == ' ' || p[-1] == '\t')) {
            *p = 0;
            *value = trim(*value);
            break;
        }
    return 1;
}

int kv_parse_buffer(const char *name, const char *buf, size_t len, kv_fn *fn, void *arg,
                    unsigned *line_out, char *err, size_t errlen)
{
    char line[KV_LINE_MAX + 1];
    char section[KV_LINE_MAX] = "";
    char why[512];
    unsigned lineno = 0;
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        char *key, *value;
        lineno++;
        if (n > KV_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line longer than %d characters", name, lineno, KV_LINE_MAX);
            return -1;
        }
        memcpy(line, buf + pos, n);
        line[n] = 0;
        pos += n + (nl != NULL);
        if (strlen(line) != n) {
            snprintf(err, errlen, "%s:%u: NUL byte in the line", name, lineno);
            return -1;
        }
        if (line_out)
            *line_out = lineno;
        int r = kv_parse_line(line, &key, &value, why, sizeof(why));
        if (r == 2) {
            snprintf(section, sizeof(section), "%s", key);
            r = fn(arg, section, NULL, NULL, why, sizeof(why)) == 0 ? 0 : -1;
        } else if (r == 1) {
            r = fn(arg, section[0] ? section : NULL, key, value, why, sizeof(why)) == 0 ? 0 : -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
            return -1;
        }
    }
    return 0;
}

int kv_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");

    *buf = NULL;
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if ((*buf = malloc(KV_FILE_MAX + 1)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    *len = fread(*buf, 1, KV_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || *len > KV_FILE_MAX) {
        snprintf(err, errlen, bad ? "%s: read error" : "%s: larger than %d bytes", path, KV_FILE_MAX);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

int kv_parse_file(const char *path, kv_fn *fn, void *arg, char *err, size_t errlen)
{
    char *buf;
    size_t len;

    if (kv_read_file(path, &buf, &len, err, errlen) != 0)
        return -1;
    int r = kv_parse_buffer(path, buf, len, fn, arg, NULL, err, errlen);
    free(buf);
    return r;
}
