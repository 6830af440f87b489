/* load - the mua's load schedule (targets with messages per round, sessions, rounds,
 * interval, body size) and the messages it sends: headers with the X-Mua-Stamp and a
 * body padded to a size. Pure; used by mua and its tests. */
#ifndef LIB_LOAD_H
#define LIB_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mua_stamp.h"

#define LOAD_TARGETS_MAX 64
#define LOAD_ADDR_MAX 256
#define LOAD_BODY_LINE 78      /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define LOAD_SIZE_MAX (64u << 20)
#define LOAD_HEADERS_MAX 2048  /* the header block of one message */
#define LOAD_BODY_TEXT "This is a test mail."
#define LOAD_ROUND_LIST_MAX 16 /* "messages = 1000,10000,..." per round */

struct load_target {
    char name[MUA_STAMP_NAME_MAX];   /* tenant */
    char target[LOAD_ADDR_MAX];      /* HOST:PORT */
    char from[LOAD_ADDR_MAX];
    char to[LOAD_ADDR_MAX];
    unsigned messages;               /* per round (the largest, when a list is given) */
    unsigned nlist;                  /* > 0: messages differ per round, cycling over list */
    unsigned list[LOAD_ROUND_LIST_MAX];
    unsigned sessions;               /* concurrent connections per round */
    unsigned rounds;
    double interval;                 /* seconds between round starts */
    size_t size;                     /* body bytes */
    double start;                    /* seconds after the run's start for round 0 */
};

struct load_schedule {
    char run[MUA_STAMP_NAME_MAX];
    unsigned ntargets;
    struct load_target targets[LOAD_TARGETS_MAX];
    struct load_target defaults; /* keys given before any [section] */
};

/* load_schedule_init - empty schedule with defaults: 1 round, 1 session, 1 message,
 * 10 s interval, 1000-byte bodies. */
void load_schedule_init(struct load_schedule *s);

/* load_target_set - set one key of t; returns 0, 1 for an unknown key, -1 with err. */
int load_target_set(struct load_target *t, const char *key, const char *value, char *err,
                    size_t errlen);

/* load_schedule_parse - read a schedule file: optional "run = ID" and defaults, then one
 * [TENANT] section per target. Returns 0, or -1 with "file:line: what" in err. */
int load_schedule_parse(struct load_schedule *s, const char *path, char *err, size_t errlen);

/* load_target_check - whether t is complete; -1 with a reason naming the target. */
int load_target_check(const struct load_target *t, char *err, size_t errlen);

/* load_round_due_us - when round k of t is due, from the run's start (us). */
int64_t load_round_due_us(const struct load_target *t, int64_t start_us, unsigned k);

/* load_round_messages - how many messages round k of t sends. */
unsigned load_round_messages(const struct load_target *t, unsigned k);

/* load_round_sessions - sessions round k uses (never more than its messages). */
unsigned load_round_sessions(const struct load_target *t, unsigned k);

/* load_session_share - how many of round k's messages session i sends: as even as
 * possible, the first sessions taking the remainder. */
unsigned load_session_share(const struct load_target *t, unsigned k, unsigned i);

/* load_session_first_seq - the sequence number of session i's first message in round k. */
unsigned load_session_first_seq(const struct load_target *t, unsigned k, unsigned i);

/* load_headers - the header block of one message (ending with the empty line) into buf;
 * returns its length, 0 if it does not fit. date_epoch is the Date: header's time. */
size_t load_headers(char *buf, size_t size, const struct load_target *t, const struct mua_stamp *st,
                    int64_t date_epoch);

/* load_body - a body of exactly size bytes into buf (size + 1 room): the study's text,
 * then lines of '*' of at most LOAD_BODY_LINE characters, every line ending in CRLF
 * (a size too small for CRLF gets the text cut). Returns size. */
size_t load_body(char *buf, size_t size);

#endif
