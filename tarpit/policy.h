/* policy - how the tarpit pushes back: per-stage delays, stutter, temporary and
 * permanent failures with realistic texts, per-client connection and rate limits, a
 * global accept rate, random disconnects. Pure and seeded: decisions depend only on the
 * configuration, the seed, and the sequence of calls (with their times). */
#ifndef TARPIT_POLICY_H
#define TARPIT_POLICY_H

#include <stdint.h>
#include <stdio.h>

#include "smtp_server.h"

#define TARPIT_CLIENTS_MIN 1024    /* first size of the client table (it grows) */
#define TARPIT_RATE_LIMIT_MAX 100000 /* largest per-window rate limit */

struct rng {
    uint64_t s;
};

/* rng_seed / rng_next / rng_unit - splitmix64: seedable, fast, reproducible. */
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_unit(struct rng *r); /* uniform in [0, 1) */

enum delay_kind { DELAY_NONE = 0, DELAY_FIXED, DELAY_UNIFORM, DELAY_ODDS };

/* "5" (fixed), "1-3" (uniform), "odds:2:50" (2 s, then 2 s more with 50% odds, again...,
 * as smtp-sink's -W command:delay:odds). */
struct delay_spec {
    enum delay_kind kind;
    double a, b;
    double odds; /* 0..1 */
};

int delay_spec_parse(const char *text, struct delay_spec *d, char *err, size_t errlen);
double delay_spec_sample(const struct delay_spec *d, struct rng *r);

enum tarpit_preset { PRESET_POSTFIX = 0, PRESET_GMAIL, PRESET_YAHOO, PRESET_GREYLIST };

struct tarpit_config {
    char hostname[256];
    struct delay_spec delay[SMTP_STAGE_COUNT];
    double tempfail[SMTP_STAGE_COUNT];   /* probabilities */
    double permfail[SMTP_STAGE_COUNT];
    double disconnect[SMTP_STAGE_COUNT];
    size_t stutter_bytes;
    double stutter_interval;
    int reject_early_talkers;
    enum tarpit_preset preset;
    int tempfail_code, permfail_code;    /* 0: from the preset */
    char tempfail_text[SMTP_TEXT_MAX];
    char permfail_text[SMTP_TEXT_MAX];
    unsigned max_conns_per_client;       /* 0: none */
    unsigned conn_rate;                  /* per client per window; 0: none */
    unsigned msg_rate;                   /* per client per window; 0: none */
    double rate_window;
    unsigned max_msgs_per_conn;          /* 0: none */
    double accept_rate;                  /* messages/s for everyone; 0: none */
    uint64_t seed;
};

struct tarpit_client {
    char addr[64];
    unsigned conns;
    unsigned conn_n, conn_head; /* ring of recent connection times */
    unsigned msg_n, msg_head;   /* ring of recent message times */
    double *conn_times, *msg_times;
};

struct tarpit {
    struct tarpit_config cfg;
    struct rng rng;
    double tokens, token_time;
    size_t nclients, cap;
    struct tarpit_client **clients; /* open addressing, at most half full; clients with no
                                     * connection and nothing in their windows are dropped
                                     * when it grows, so it is as large as the live ones */
};

/* tarpit_config_init - defaults: no push-back at all. */
void tarpit_config_init(struct tarpit_config *c);

/* tarpit_config_set - set one policy by its key (the long option without "--");
 * returns 0, 1 when key is not a policy key, or -1 with a reason in err. */
int tarpit_config_set(struct tarpit_config *c, const char *key, const char *value, char *err,
                      size_t errlen);

/* tarpit_config_keys - every policy key (delay-connect ... seed) into keys[0..max);
 * returns how many. The strings are the module's. */
size_t tarpit_config_keys(const char **keys, size_t max);

/* tarpit_config_help - every policy key with its meaning and default. */
void tarpit_config_help(FILE *f);

/* tarpit_init / tarpit_free - policy state for cfg. */
void tarpit_init(struct tarpit *t, const struct tarpit_config *cfg);
void tarpit_free(struct tarpit *t);

/* tarpit_connect - a connection from client arrived at time now (s); counts it. */
void tarpit_connect(struct tarpit *t, const char *client, double now);

/* tarpit_disconnect - the connection ended. */
void tarpit_disconnect(struct tarpit *t, const char *client);

/* tarpit_decide - the decision for one stage's reply; *action names the push-back
 * ("delay", "tempfail", "conn_limit" ...) or is NULL when there is none.
 * session_msgs: messages already accepted on this connection. */
void tarpit_decide(struct tarpit *t, const char *client, unsigned session_msgs,
                   enum smtp_stage stage, double now, struct smtp_decision *d, const char **action);

#endif
