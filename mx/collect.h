/* collect.h - the collector's shared state: messages read from mx records, Maildirs or
 * mbox files, interned names, and counts of bad input per kind. */
#ifndef MX_COLLECT_H
#define MX_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "latency.h"

enum collect_error {
    CE_JSON = 0,         /* a record line that is not JSON */
    CE_FIELD,            /* a record without a required field */
    CE_DATE,             /* Date: missing or unparseable */
    CE_RECEIVED_DATE,    /* a Received: whose date does not parse */
    CE_NO_RECEIVED,      /* no Received: header at all */
    CE_STAMP,            /* X-Mua-Stamp present but malformed */
    CE_UNTERMINATED,     /* the header section never ended */
    CE_BINARY,           /* NUL bytes or other binary garbage in headers */
    CE_READ,             /* a file or directory that could not be read */
    CE_COUNT,
};

#define COLLECT_REPORT_PER_KIND 10 /* errors printed per kind; the rest are counted */

struct collect_msg {
    uint32_t tenant, mx, client; /* interned names */
    uint32_t run;                /* from the stamp */
    uint32_t id_off;             /* Message-ID in the arena; 0: none */
    uint32_t file, line;         /* where it came from */
    int32_t round, seq;          /* -1: unknown */
    unsigned errors;             /* bit set of enum collect_error */
    struct latency_input in;
};

/* One line of a mua log: a message the mua submitted (collect_submit.c). */
struct collect_submission {
    uint32_t tenant;
    uint32_t round, seq;
    uint32_t run;
    int ok;         /* the MSA said 250 */
    int delivered;  /* times it arrived */
    double e2e;     /* arrival - start of its submission, s */
    int64_t start_us;
};

struct collect {
    struct collect_msg *msgs;
    size_t n, cap;
    char *arena; /* NUL-terminated strings; offset 0 is "" */
    size_t arena_len, arena_cap;
    char **names; /* interned */
    uint32_t nnames, names_cap;
    uint32_t *name_hash; /* open addressing over names; 0 = empty, else index+1 */
    uint32_t name_hash_size;
    char **files;
    uint32_t nfiles;
    unsigned long errors[CE_COUNT];
    unsigned reported[CE_COUNT];
    struct collect_submission *subs; /* from the mua logs */
    size_t nsubs, subs_cap;
    uint32_t *sub_index; /* open addressing over subs by stamp; 0 = empty, else index+1 */
    size_t sub_index_size;
};

void collect_init(struct collect *c);
void collect_free(struct collect *c);

/* collect_alloc / collect_grow - memory for collect's tables (zeroed / grown to hold
 * need elements, doubling). Out of memory ends the tool with a message: a partial
 * result would be a wrong one. */
void *collect_alloc(size_t size);
void *collect_grow(void *p, size_t *cap, size_t need, size_t elem);

/* collect_intern - the id of name (added when new). */
uint32_t collect_intern(struct collect *c, const char *name);

/* collect_store - copy a string into the arena; returns its offset (0 for ""). */
uint32_t collect_store(struct collect *c, const char *s, size_t len);

/* collect_add - a new message slot (zeroed, round/seq -1), or NULL when out of memory. */
struct collect_msg *collect_add(struct collect *c, uint32_t file, uint32_t line);

/* collect_error - count a bad input of kind at file:line and print the first few. */
void collect_error(struct collect *c, struct collect_msg *m, enum collect_error kind, uint32_t file,
                   uint32_t line, const char *what);

/* collect_error_name - "json", "field", "date" ... */
const char *collect_error_name(enum collect_error kind);

/* What the mua submitted, against what arrived (collect_submit.c). */
struct censored {
    size_t submitted, delivered, within, duplicates;
    double pct[4]; /* p50, p90, p99, max of e2e latency over every submitted message;
                      INFINITY where the rank falls on undelivered (censored) mail */
};

/* collect_read_mua_log - read a mua CSV log; returns 0 or -1. */
int collect_read_mua_log(struct collect *c, const char *path);

/* collect_match_submissions - mark which submissions arrived (after all inputs). */
int collect_match_submissions(struct collect *c);

/* collect_submissions - how many submissions were read. */
size_t collect_submissions(const struct collect *c);

/* collect_censored - statistics of tenant g (UINT32_MAX: all) over every message the
 * MSA accepted, delivered or not; `within`: seconds for the "delivered within" count. */
void collect_censored(const struct collect *c, uint32_t g, double within, struct censored *out);

/* Readers: each returns 0, or -1 when the input could not be opened at all. */
int collect_read_records(struct collect *c, const char *path);
int collect_read_maildir(struct collect *c, const char *path);
int collect_read_mbox(struct collect *c, const char *path);

#endif
