/* header - incremental parser of an RFC 5322 header section, line by line, unfolding
 * continuation lines. Used by mx while DATA streams in, and by collect on stored mail. */
#ifndef LIB_HEADER_H
#define LIB_HEADER_H

#include <stddef.h>

#define HEADER_NAME_MAX 76     /* RFC 5322 2.1.1: a field name fits one 78-octet line */
#define HEADER_VALUE_MAX 4096  /* longer unfolded values are cut and flagged */

/* Called for each complete field; value is unfolded (CRLFs removed), leading blanks skipped. */
typedef void header_field_fn(void *arg, const char *name, size_t name_len, const char *value,
                             size_t value_len);

enum header_state {
    HEADER_IN = 0,  /* reading fields */
    HEADER_DONE,    /* the empty line ending the section was seen */
};

struct header_parser {
    enum header_state state;
    int have;            /* a field is being accumulated */
    unsigned malformed;  /* lines that were neither a field nor a continuation */
    unsigned truncated;  /* fields cut at HEADER_VALUE_MAX */
    int cut;             /* the current field was cut */
    size_t name_len;
    size_t value_len;
    char name[HEADER_NAME_MAX + 1];
    char value[HEADER_VALUE_MAX];
};

/* header_init - reset for a new message. */
void header_init(struct header_parser *hp);

/* header_feed - feed one line (ending included); calls fn for each field it completes.
 * Returns the state after the line (HEADER_DONE once the empty line was seen; later
 * lines are ignored). */
enum header_state header_feed(struct header_parser *hp, const char *line, size_t len,
                              header_field_fn *fn, void *arg);

/* header_finish - complete a pending field at the end of input (no empty line seen). */
void header_finish(struct header_parser *hp, header_field_fn *fn, void *arg);

/* header_name_is - whether a field name equals want, ignoring case. */
int header_name_is(const char *name, size_t len, const char *want);

#endif
