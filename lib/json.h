/* json - a JSON-lines writer: one object per line, strings escaped safely.
 * Used for every record and log line (mx records, proxy log, tarpit events). */
#ifndef LIB_JSON_H
#define LIB_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH_MAX 8 /* nesting of objects and arrays in one line */

/* A line under construction. The buffer grows as needed and is reused
 * across lines, so a steady stream of records allocates nothing. */
struct json_writer {
    char *buf;
    size_t len;
    size_t cap;
    int depth;
    int first[JSON_DEPTH_MAX + 1]; /* no member written yet at this depth */
    int failed;                    /* out of memory or nesting too deep */
};

/* json_escape - write the JSON string body of in[0..len) into out (no quotes):
 * control bytes as \uXXXX or short escapes, invalid UTF-8 bytes as \ufffd.
 * Returns the length the escaped text needs; writes at most size bytes. */
size_t json_escape(const char *in, size_t len, char *out, size_t size);

/* json_writer_init / json_writer_free - set up and release a writer. */
void json_writer_init(struct json_writer *w);
void json_writer_free(struct json_writer *w);

/* json_begin - start a new line holding one object (discards any old text). */
void json_begin(struct json_writer *w);

/* json_end - close the object and add the newline; returns 0, or -1 when the
 * line could not be built (w->buf then holds nothing worth writing). */
int json_end(struct json_writer *w);

/* Members of the current object (key given) or elements of the current array
 * (key NULL). Strings are given with their length and need not be terminated. */
void json_str(struct json_writer *w, const char *key, const char *s, size_t len);
void json_cstr(struct json_writer *w, const char *key, const char *s); /* NULL writes null */
void json_int(struct json_writer *w, const char *key, int64_t v);
void json_uint(struct json_writer *w, const char *key, uint64_t v);
void json_double(struct json_writer *w, const char *key, double v, int decimals);
void json_bool(struct json_writer *w, const char *key, int v);
void json_null(struct json_writer *w, const char *key);
void json_object_begin(struct json_writer *w, const char *key);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w, const char *key);
void json_array_end(struct json_writer *w);

#endif
