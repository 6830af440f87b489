/* json_read - parse one JSON text into a flat array of tokens (preorder), and read
 * members and values from it. Used by collect to read mx/tarpit records and by tests. */
#ifndef MX_JSON_READ_H
#define MX_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#define JSON_READ_DEPTH_MAX 16

enum json_type { JSON_OBJECT = 1, JSON_ARRAY, JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

/* A value. For strings, [start, start+len) is the text between the quotes (escaped);
 * for containers, children counts members (objects: key and value are two tokens).
 * next is the index of the token after this value's subtree. */
struct json_token {
    enum json_type type;
    unsigned start, len;
    unsigned children;
    unsigned next;
};

enum json_read_status {
    JSON_READ_OK = 0,
    JSON_READ_SYNTAX = -1,
    JSON_READ_TOO_MANY = -2, /* more tokens than the array holds */
    JSON_READ_TOO_DEEP = -3,
};

/* json_read - parse s[0..len) (one value, blanks around it allowed); returns the token
 * count (>0) or a negative json_read_status. */
int json_read(const char *s, size_t len, struct json_token *tok, unsigned max);

/* json_member - the index of the value of member key in object obj, or -1. */
int json_member(const char *s, const struct json_token *tok, int obj, const char *key);

/* json_string - unescape string token i into out (NUL-terminated, invalid escapes and
 * bad surrogates become U+FFFD); returns its length, or -1 if i is not a string or it
 * does not fit. */
int json_string(const char *s, const struct json_token *tok, int i, char *out, size_t size);

/* json_int64 - integer value of number token i; returns 0, or -1 if not an integer. */
int json_int64(const char *s, const struct json_token *tok, int i, int64_t *v);

/* json_number - value of number token i as a double; returns 0 or -1. */
int json_number(const char *s, const struct json_token *tok, int i, double *v);

#endif
