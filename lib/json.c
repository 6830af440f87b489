/* json - a JSON-lines writer: one object per line, strings escaped safely.
 * Invalid UTF-8 becomes U+FFFD so every line stays valid JSON whatever a peer sent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "numfmt.h"

#define JSON_INITIAL_CAP 512

/* utf8_valid_len - length of the valid UTF-8 sequence at s, or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0; /* overlong or beyond Unicode */
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0; /* surrogates are not characters */
    return need;
}

size_t json_escape(const char *in, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

#define JSON_PUT(ch)            \
    do {                        \
        if (o < size)           \
            out[o] = (char)(ch); \
        o++;                    \
    } while (0)

    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n;

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') { /* a run of plain ASCII */
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\')
                j++;
            if (o < size)
                memcpy(out + o, s + i, j - i < size - o ? j - i : size - o);
            o += j - i;
            i = j;
        } else if (c == '"' || c == '\\') {
            JSON_PUT('\\');
            JSON_PUT(c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *shortform = NULL;

            switch (c) {
            case '\n': shortform = "\\n"; break;
            case '\r': shortform = "\\r"; break;
            case '\t': shortform = "\\t"; break;
            case '\b': shortform = "\\b"; break;
            case '\f': shortform = "\\f"; break;
            }
            if (shortform) {
                JSON_PUT(shortform[0]);
                JSON_PUT(shortform[1]);
            } else {
                JSON_PUT('\\');
                JSON_PUT('u');
                JSON_PUT('0');
                JSON_PUT('0');
                JSON_PUT(hex[c >> 4]);
                JSON_PUT(hex[c & 15]);
            }
            i++;
        } else if ((n = utf8_valid_len(s + i, len - i)) > 0) {
            for (size_t k = 0; k < n; k++)
                JSON_PUT(s[i + k]);
            i += n;
        } else {
            const char *fffd = "\\ufffd";
            for (size_t k = 0; k < 6; k++)
                JSON_PUT(fffd[k]);
            i++;
        }
    }
#undef JSON_PUT
    return o;
}

/* reserve - make room for n more bytes; returns 0 or -1 (and marks failure). */
static int reserve(struct json_writer *w, size_t n)
{
    if (w->failed)
        return -1;
    if (w->len + n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : JSON_INITIAL_CAP;
    while (cap < w->len + n)
        cap *= 2;
    char *nb = realloc(w->buf, cap);
    if (nb == NULL) {
        w->failed = 1;
        return -1;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
    if (reserve(w, n) == 0) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

static void put_string(struct json_writer *w, const char *s, size_t len)
{
    /* one pass: an input byte becomes at most 6 output bytes ("\\u001f", "\\ufffd") */
    if (reserve(w, len * 6 + 2) != 0)
        return;
    w->buf[w->len++] = '"';
    w->len += json_escape(s, len, w->buf + w->len, len * 6);
    w->buf[w->len++] = '"';
}

/* member - write the separator and, inside an object, the key. */
static void member(struct json_writer *w, const char *key)
{
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = 0;
    if (key) {
        put_string(w, key, strlen(key));
        put(w, ":", 1);
    }
}

static void open_scope(struct json_writer *w, const char *key, const char *bracket)
{
    member(w, key);
    if (w->depth >= JSON_DEPTH_MAX) {
        w->failed = 1;
        return;
    }
    put(w, bracket, 1);
    w->first[++w->depth] = 1;
}

static void close_scope(struct json_writer *w, const char *bracket)
{
    if (w->depth <= 0) {
        w->failed = 1;
        return;
    }
    put(w, bracket, 1);
    w->depth--;
}

void json_writer_init(struct json_writer *w)
{
    memset(w, 0, sizeof(*w));
}

void json_writer_free(struct json_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

void json_begin(struct json_writer *w)
{
    w->len = 0;
    w->depth = 0;
    w->failed = 0;
    w->first[0] = 1;
    open_scope(w, NULL, "{");
}

int json_end(struct json_writer *w)
{
    if (w->depth != 1)
        w->failed = 1;
    close_scope(w, "}");
    put(w, "\n", 1);
    return w->failed ? -1 : 0;
}

void json_str(struct json_writer *w, const char *key, const char *s, size_t len)
{
    member(w, key);
    put_string(w, s, len);
}

void json_cstr(struct json_writer *w, const char *key, const char *s)
{
    if (s == NULL)
        json_null(w, key);
    else
        json_str(w, key, s, strlen(s));
}

void json_int(struct json_writer *w, const char *key, int64_t v)
{
    char tmp[NUMFMT_MAX];
    size_t n = numfmt_int(tmp, v);

    member(w, key);
    put(w, tmp, n);
}

void json_uint(struct json_writer *w, const char *key, uint64_t v)
{
    char tmp[NUMFMT_MAX];
    size_t n = numfmt_uint(tmp, v);

    member(w, key);
    put(w, tmp, n);
}

void json_double(struct json_writer *w, const char *key, double v, int decimals)
{
    char tmp[NUMFMT_MAX];
    size_t n;

    if (!isfinite(v)) { /* JSON has no NaN or infinity */
        json_null(w, key);
        return;
    }
    if (decimals < 0 || decimals > 9)
        decimals = 6;
    n = numfmt_fixed(tmp, v, decimals);
    member(w, key);
    if (n > 0)
        put(w, tmp, n);
    else
        put(w, "null", 4);
}

void json_bool(struct json_writer *w, const char *key, int v)
{
    member(w, key);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_writer *w, const char *key)
{
    member(w, key);
    put(w, "null", 4);
}

void json_object_begin(struct json_writer *w, const char *key)
{
    open_scope(w, key, "{");
}

void json_object_end(struct json_writer *w)
{
    close_scope(w, "}");
}

void json_array_begin(struct json_writer *w, const char *key)
{
    open_scope(w, key, "[");
}

void json_array_end(struct json_writer *w)
{
    close_scope(w, "]");
}
