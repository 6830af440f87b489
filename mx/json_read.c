/* json_read - parse one JSON text into a flat array of tokens (preorder), and read
 * members and values from it. Recursive descent with a depth limit; no allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"

struct parser {
    const char *s;
    size_t len, i;
    struct json_token *tok;
    unsigned max, n;
};

static void skip_ws(struct parser *p)
{
    while (p->i < p->len &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int new_token(struct parser *p, enum json_type type, size_t start)
{
    if (p->n >= p->max)
        return JSON_READ_TOO_MANY;
    struct json_token *t = &p->tok[p->n];
    t->type = type;
    t->start = (unsigned)start;
    t->len = 0;
    t->children = 0;
    t->next = 0;
    return (int)p->n++;
}

static int parse_value(struct parser *p, int depth);

static int parse_string(struct parser *p)
{
    size_t start = ++p->i; /* after the quote */
    int idx = new_token(p, JSON_STRING, start);

    if (idx < 0)
        return idx;
    while (p->i < p->len) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->tok[idx].len = (unsigned)(p->i - start);
            p->tok[idx].next = p->n;
            p->i++;
            return idx;
        }
        if (c < 0x20)
            return JSON_READ_SYNTAX;
        if (c == '\\') {
            if (p->i + 1 >= p->len)
                return JSON_READ_SYNTAX;
            char e = p->s[p->i + 1];
            if (e == 'u') {
                if (p->i + 6 > p->len)
                    return JSON_READ_SYNTAX;
                for (int k = 2; k < 6; k++) {
                    char h = p->s[p->i + (size_t)k];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return JSON_READ_SYNTAX;
                }
                p->i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e))
                return JSON_READ_SYNTAX;
            p->i += 2;
            continue;
        }
        p->i++;
    }
    return JSON_READ_SYNTAX;
}

/* skip_digits - advance over decimal digits; returns how many. */
static size_t skip_digits(struct parser *p)
{
    size_t d = p->i;

    while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        p->i++;
    return p->i - d;
}

static int parse_number(struct parser *p)
{
    size_t start = p->i;
    int idx;

    if (p->i < p->len && p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->len || p->s[p->i] < '0' || p->s[p->i] > '9')
        return JSON_READ_SYNTAX;
    if (p->s[p->i] == '0')
        p->i++;
    else
        skip_digits(p);
    if (p->i < p->len && p->s[p->i] == '.') {
        p->i++;
        if (skip_digits(p) == 0)
            return JSON_READ_SYNTAX;
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (skip_digits(p) == 0)
            return JSON_READ_SYNTAX;
    }
    idx = new_token(p, JSON_NUMBER, start);
    if (idx < 0)
        return idx;
    p->tok[idx].len = (unsigned)(p->i - start);
    p->tok[idx].next = p->n;
    return idx;
}

static int parse_literal(struct parser *p, const char *word, enum json_type type)
{
    size_t n = strlen(word);
    int idx;

    if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
        return JSON_READ_SYNTAX;
    idx = new_token(p, type, p->i);
    if (idx < 0)
        return idx;
    p->i += n;
    p->tok[idx].len = (unsigned)n;
    p->tok[idx].next = p->n;
    return idx;
}

static int parse_container(struct parser *p, int depth, int object)
{
    int idx = new_token(p, object ? JSON_OBJECT : JSON_ARRAY, p->i);
    char close = object ? '}' : ']';

    if (idx < 0)
        return idx;
    if (depth >= JSON_READ_DEPTH_MAX)
        return JSON_READ_TOO_DEEP;
    p->i++;
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == close) {
        p->i++;
        p->tok[idx].next = p->n;
        p->tok[idx].len = 1;
        return idx;
    }
    for (;;) {
        int r;
        skip_ws(p);
        if (object) {
            if (p->i >= p->len || p->s[p->i] != '"')
                return JSON_READ_SYNTAX;
            if ((r = parse_string(p)) < 0)
                return r;
            skip_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':')
                return JSON_READ_SYNTAX;
            p->i++;
            p->tok[idx].children++;
        }
        if ((r = parse_value(p, depth + 1)) < 0)
            return r;
        p->tok[idx].children++;
        skip_ws(p);
        if (p->i >= p->len)
            return JSON_READ_SYNTAX;
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == close) {
            p->i++;
            p->tok[idx].len = (unsigned)(p->i - p->tok[idx].start);
            p->tok[idx].next = p->n;
            return idx;
        }
        return JSON_READ_SYNTAX;
    }
}

static int parse_value(struct parser *p, int depth)
{
    skip_ws(p);
    if (p->i >= p->len)
        return JSON_READ_SYNTAX;
    switch (p->s[p->i]) {
    case '{': return parse_container(p, depth, 1);
    case '[': return parse_container(p, depth, 0);
    case '"': return parse_string(p);
    case 't': return parse_literal(p, "true", JSON_TRUE);
    case 'f': return parse_literal(p, "false", JSON_FALSE);
    case 'n': return parse_literal(p, "null", JSON_NULL);
    default: return parse_number(p);
    }
}

int json_read(const char *s, size_t len, struct json_token *tok, unsigned max)
{
    struct parser p = {s, len, 0, tok, max, 0};
    int r = parse_value(&p, 0);

    if (r < 0)
        return r;
    skip_ws(&p);
    if (p.i != len)
        return JSON_READ_SYNTAX;
    return (int)p.n;
}

int json_member(const char *s, const struct json_token *tok, int obj, const char *key)
{
    size_t klen = strlen(key);

    if (obj < 0 || tok[obj].type != JSON_OBJECT)
        return -1;
    unsigned i = (unsigned)obj + 1;
    for (unsigned m = 0; m < tok[obj].children / 2; m++) {
        const struct json_token *k = &tok[i];
        unsigned v = k->next;
        /* keys we look up never need unescaping */
        if (k->len == klen && memcmp(s + k->start, key, klen) == 0)
            return (int)v;
        i = tok[v].next;
    }
    return -1;
}

static int hex4(const char *h)
{
    int v = 0;

    for (int k = 0; k < 4; k++) {
        char c = h[k];
        v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* put_utf8 - encode cp; returns bytes written or -1 when out of room. */
static int put_utf8(char *out, size_t room, unsigned cp)
{
    if (cp < 0x80 && room >= 1) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800 && room >= 2) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0x800 && cp < 0x10000 && room >= 3) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp >= 0x10000 && room >= 4) {
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
    }
    return -1;
}

int json_string(const char *s, const struct json_token *tok, int i, char *out, size_t size)
{
    if (i < 0 || tok[i].type != JSON_STRING || size == 0)
        return -1;
    const char *p = s + tok[i].start, *end = p + tok[i].len;
    size_t o = 0;
    while (p < end) {
        unsigned cp;
        if (*p != '\\') {
            if (o + 1 >= size)
                return -1;
            out[o++] = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'u':
            cp = (unsigned)hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = (unsigned)hex4(p + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd; /* a lone surrogate */
            break;
        default: cp = (unsigned char)e; break; /* \" \\ \/ */
        }
        int w = put_utf8(out + o, size - o - 1, cp);
        if (w < 0)
            return -1;
        o += (size_t)w;
    }
    out[o] = 0;
    return (int)o;
}

int json_int64(const char *s, const struct json_token *tok, int i, int64_t *v)
{
    char tmp[32];
    char *end;

    if (i < 0 || tok[i].type != JSON_NUMBER || tok[i].len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s + tok[i].start, tok[i].len);
    tmp[tok[i].len] = 0;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int json_number(const char *s, const struct json_token *tok, int i, double *v)
{
    char tmp[64];

    if (i < 0 || tok[i].type != JSON_NUMBER || tok[i].len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s + tok[i].start, tok[i].len);
    tmp[tok[i].len] = 0;
    *v = strtod(tmp, NULL);
    return 0;
}
