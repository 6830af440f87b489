/* kv - the project's one configuration format: "key = value" lines, "#" comments,
 * "[section]" headers; errors are "file:line: what". */
#include <errno.h>
#include <stdio.h>
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
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            snprintf(err, errlen, "section header without ']'");
            return -1;
        }
        s[n - 1] = 0;
        *key = trim(s + 1);
        *value = NULL;
        for (char *p = *key; *p; p++)
            if (!key_char(*p)) {
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

int kv_parse_file(const char *path, kv_fn *fn, void *arg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[KV_LINE_MAX + 2];
    char section[KV_LINE_MAX] = "";
    char why[512];
    unsigned lineno = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *key, *value;
        lineno++;
        if (strlen(line) > KV_LINE_MAX && line[strlen(line) - 1] != '\n') {
            snprintf(err, errlen, "%s:%u: line longer than %d characters", path, lineno, KV_LINE_MAX);
            fclose(f);
            return -1;
        }
        int r = kv_parse_line(line, &key, &value, why, sizeof(why));
        if (r == 2) {
            snprintf(section, sizeof(section), "%s", key);
            r = fn(arg, section, NULL, NULL, why, sizeof(why)) == 0 ? 0 : -1;
        } else if (r == 1) {
            r = fn(arg, section[0] ? section : NULL, key, value, why, sizeof(why)) == 0 ? 0 : -1;
        }
        if (r < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}
