/* policy - how the tarpit pushes back. Pure and seeded: every random choice
 * comes from one splitmix64 stream, every time comes from the caller. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "numparse.h"
#include "policy.h"

/* ---- random numbers ------------------------------------------------------------------ */

void rng_seed(struct rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- delays -------------------------------------------------------------------------- */

#define DELAY_MAX 3600.0
#define ODDS_STEPS_MAX 1000

int delay_spec_parse(const char *text, struct delay_spec *d, char *err, size_t errlen)
{
    char buf[128];
    char *dash;

    memset(d, 0, sizeof(*d));
    if (strlen(text) >= sizeof(buf)) {
        snprintf(err, errlen, "'%s': too long", text);
        return -1;
    }
    strcpy(buf, text);
    if (strncmp(buf, "odds:", 5) == 0) {
        char *colon = strchr(buf + 5, ':');
        double pct;
        if (colon == NULL) {
            snprintf(err, errlen, "'%s': expected odds:SECONDS:PERCENT", text);
            return -1;
        }
        *colon = 0;
        if (numparse_double(buf + 5, 0, DELAY_MAX, &d->a) != 0 ||
            numparse_double(colon + 1, 0, 99, &pct) != 0) {
            snprintf(err, errlen, "'%s': expected odds:SECONDS:PERCENT (percent 0..99)", text);
            return -1;
        }
        d->kind = DELAY_ODDS;
        d->odds = pct / 100.0;
        return 0;
    }
    dash = strchr(buf, '-');
    if (dash && dash != buf) {
        *dash = 0;
        if (numparse_double(buf, 0, DELAY_MAX, &d->a) != 0 ||
            numparse_double(dash + 1, 0, DELAY_MAX, &d->b) != 0 || d->b < d->a) {
            snprintf(err, errlen, "'%s': expected MIN-MAX seconds with MIN <= MAX", text);
            return -1;
        }
        d->kind = DELAY_UNIFORM;
        return 0;
    }
    if (numparse_double(buf, 0, DELAY_MAX, &d->a) != 0) {
        snprintf(err, errlen, "'%s': expected SECONDS, MIN-MAX or odds:SECONDS:PERCENT", text);
        return -1;
    }
    d->kind = d->a > 0 ? DELAY_FIXED : DELAY_NONE;
    return 0;
}

double delay_spec_sample(const struct delay_spec *d, struct rng *r)
{
    switch (d->kind) {
    case DELAY_FIXED:
        return d->a;
    case DELAY_UNIFORM:
        return d->a + (d->b - d->a) * rng_unit(r);
    case DELAY_ODDS: {
        int k = 0;
        while (k < ODDS_STEPS_MAX && rng_unit(r) < d->odds)
            k++;
        return d->a * k;
    }
    default:
        return 0;
    }
}

/* ---- configuration ------------------------------------------------------------------- */

void tarpit_config_init(struct tarpit_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->hostname, "localhost");
    c->reject_early_talkers = 1;
    c->rate_window = 60;
    c->stutter_interval = 1;
    c->seed = 1;
}

static int stage_from(const char *name, size_t len)
{
    for (int s = 0; s < SMTP_STAGE_COUNT; s++)
        if (strlen(smtp_stage_name(s)) == len && strncmp(name, smtp_stage_name(s), len) == 0)
            return s;
    return -1;
}

static int parse_prob(const char *v, double *out)
{
    return numparse_double(v, 0, 1, out);
}

static int parse_count(const char *v, uint64_t max, unsigned *out)
{
    uint64_t u;

    if (numparse_u64(v, max, &u) != 0)
        return -1;
    *out = (unsigned)u;
    return 0;
}

/* parse_reply - "CODE TEXT" with CODE in [lo, hi]. */
static int parse_reply(const char *v, int lo, int hi, int *code, char *text, size_t size)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (end - v != 3 || n < lo || n > hi || (*end != ' ' && *end != 0))
        return -1;
    while (*end == ' ')
        end++;
    if (strlen(end) >= size || strpbrk(end, "\r\n"))
        return -1;
    *code = (int)n;
    strcpy(text, end);
    return 0;
}

/* A setter: one policy key's value into c; returns 0, or -1 with a reason in err. */
typedef int config_setter(struct tarpit_config *c, const char *key, const char *value, char *err,
                          size_t errlen);

static int set_stutter(struct tarpit_config *c, const char *key, const char *value, char *err,
                       size_t errlen)
{
    char buf[64];
    char *slash;
    uint64_t u;

    (void)key;
    snprintf(buf, sizeof(buf), "%s", value);
    slash = strchr(buf, '/');
    if (slash)
        *slash = 0;
    if (numparse_u64(buf, 65536, &u) != 0 ||
        (slash && numparse_double(slash + 1, 0.001, 3600, &c->stutter_interval) != 0)) {
        snprintf(err, errlen, "stutter '%s': expected BYTES/SECONDS, e.g. 1/1", value);
        return -1;
    }
    c->stutter_bytes = (size_t)u;
    return 0;
}

static int set_early_talkers(struct tarpit_config *c, const char *key, const char *value, char *err,
                             size_t errlen)
{
    (void)key;
    if (strcmp(value, "reject") == 0)
        c->reject_early_talkers = 1;
    else if (strcmp(value, "allow") == 0)
        c->reject_early_talkers = 0;
    else {
        snprintf(err, errlen, "early-talkers '%s': expected reject or allow", value);
        return -1;
    }
    return 0;
}

static int set_preset(struct tarpit_config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    static const char *const names[] = {"postfix", "gmail", "yahoo", "greylist"};

    (void)key;
    for (int i = 0; i < 4; i++)
        if (strcmp(value, names[i]) == 0) {
            c->preset = (enum tarpit_preset)i;
            return 0;
        }
    snprintf(err, errlen, "preset '%s': expected postfix, gmail, yahoo or greylist", value);
    return -1;
}

static int set_tempfail_reply(struct tarpit_config *c, const char *key, const char *value, char *err,
                              size_t errlen)
{
    (void)key;
    if (parse_reply(value, 400, 499, &c->tempfail_code, c->tempfail_text, sizeof(c->tempfail_text)) != 0) {
        snprintf(err, errlen, "tempfail-reply '%s': expected '4XX text'", value);
        return -1;
    }
    return 0;
}

static int set_permfail_reply(struct tarpit_config *c, const char *key, const char *value, char *err,
                              size_t errlen)
{
    (void)key;
    if (parse_reply(value, 500, 599, &c->permfail_code, c->permfail_text, sizeof(c->permfail_text)) != 0) {
        snprintf(err, errlen, "permfail-reply '%s': expected '5XX text'", value);
        return -1;
    }
    return 0;
}

/* count_field - the whole-number policies: their field and largest value. */
static unsigned *count_field(struct tarpit_config *c, const char *key, uint64_t *max)
{
    if (strcmp(key, "max-conns-per-client") == 0)
        return *max = 1000000, &c->max_conns_per_client;
    if (strcmp(key, "conn-rate") == 0)
        return *max = TARPIT_RATE_LIMIT_MAX, &c->conn_rate;
    if (strcmp(key, "msg-rate") == 0)
        return *max = TARPIT_RATE_LIMIT_MAX, &c->msg_rate;
    return *max = 100000000, &c->max_msgs_per_conn; /* max-msgs-per-conn */
}

static int set_count(struct tarpit_config *c, const char *key, const char *value, char *err,
                     size_t errlen)
{
    uint64_t max;
    unsigned *field = count_field(c, key, &max);

    if (parse_count(value, max, field) != 0) {
        snprintf(err, errlen, "%s '%s': expected a whole number up to %llu (0: off)", key, value,
                 (unsigned long long)max);
        return -1;
    }
    return 0;
}

static int set_rate_window(struct tarpit_config *c, const char *key, const char *value, char *err,
                           size_t errlen)
{
    (void)key;
    if (numparse_double(value, 0.001, 86400, &c->rate_window) != 0) {
        snprintf(err, errlen, "rate-window '%s': expected seconds > 0", value);
        return -1;
    }
    return 0;
}

static int set_accept_rate(struct tarpit_config *c, const char *key, const char *value, char *err,
                           size_t errlen)
{
    (void)key;
    if (numparse_double(value, 0, 1e9, &c->accept_rate) != 0) {
        snprintf(err, errlen, "accept-rate '%s': expected messages per second (0: off)", value);
        return -1;
    }
    return 0;
}

static int set_seed(struct tarpit_config *c, const char *key, const char *value, char *err,
                    size_t errlen)
{
    (void)key;
    if (numparse_u64(value, UINT64_MAX, &c->seed) != 0) {
        snprintf(err, errlen, "seed '%s': expected a whole number", value);
        return -1;
    }
    return 0;
}

/* The policy keys that are not per stage, and their setters. */
static const struct {
    const char *key;
    config_setter *set;
} config_keys[] = {
    {"stutter", set_stutter},
    {"early-talkers", set_early_talkers},
    {"preset", set_preset},
    {"tempfail-reply", set_tempfail_reply},
    {"permfail-reply", set_permfail_reply},
    {"max-conns-per-client", set_count},
    {"conn-rate", set_count},
    {"msg-rate", set_count},
    {"max-msgs-per-conn", set_count},
    {"rate-window", set_rate_window},
    {"accept-rate", set_accept_rate},
    {"seed", set_seed},
};

/* stage_key - a per-stage key (delay-STAGE, tempfail-STAGE, permfail-STAGE,
 * disconnect-STAGE); returns 0 or -1 when set, 1 when key is not one. */
static int stage_key(struct tarpit_config *c, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const char *dash = strchr(key, '-');
    int st;

    if (dash == NULL || (st = stage_from(dash + 1, strlen(dash + 1))) < 0)
        return 1;
    size_t plen = (size_t)(dash - key);
    double *prob = NULL;
    if (plen == 5 && strncmp(key, "delay", 5) == 0) {
        char why[200];
        if (delay_spec_parse(value, &c->delay[st], why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s %s", key, why);
            return -1;
        }
        return 0;
    }
    if (plen == 8 && strncmp(key, "tempfail", 8) == 0)
        prob = &c->tempfail[st];
    else if (plen == 8 && strncmp(key, "permfail", 8) == 0)
        prob = &c->permfail[st];
    else if (plen == 10 && strncmp(key, "disconnect", 10) == 0)
        prob = &c->disconnect[st];
    if (prob == NULL)
        return 1;
    if (parse_prob(value, prob) != 0) {
        snprintf(err, errlen, "%s '%s': expected a probability from 0 to 1", key, value);
        return -1;
    }
    return 0;
}

size_t tarpit_config_keys(const char **keys, size_t max)
{
    static const char *const prefixes[] = {"delay", "tempfail", "permfail", "disconnect"};
    static char names[sizeof(prefixes) / sizeof(prefixes[0])][SMTP_STAGE_COUNT][32];
    size_t n = 0;

    for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
        for (int st = 0; st < SMTP_STAGE_COUNT && n < max; st++) {
            snprintf(names[p][st], sizeof(names[p][st]), "%s-%s", prefixes[p], smtp_stage_name(st));
            keys[n++] = names[p][st];
        }
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]) && n < max; i++)
        keys[n++] = config_keys[i].key;
    return n;
}

int tarpit_config_set(struct tarpit_config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    int r = stage_key(c, key, value, err, errlen);

    if (r <= 0)
        return r;
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
        if (strcmp(key, config_keys[i].key) == 0)
            return config_keys[i].set(c, key, value, err, errlen);
    return 1;
}

void tarpit_config_help(FILE *f)
{
    fprintf(f,
            "Policies (as --KEY VALUE, or 'KEY = VALUE' lines in --config FILE):\n"
            "  delay-STAGE SPEC        wait before the reply of STAGE (default 0). STAGE is\n"
            "                          connect (the greeting), helo, mail, rcpt, data (the 354)\n"
            "                          or dot (after the message). SPEC: SECONDS, MIN-MAX\n"
            "                          (uniform), or odds:SECONDS:PERCENT (smtp-sink style)\n"
            "  tempfail-STAGE P        probability of a 4xx reply at STAGE (default 0)\n"
            "  permfail-STAGE P        probability of a 5xx reply at STAGE (default 0)\n"
            "  disconnect-STAGE P      probability of closing without a reply (default 0)\n"
            "  preset NAME             reply texts: postfix (default), gmail (421 4.7.28 rate\n"
            "                          limited / 450 4.2.1 receiving mail too quickly), yahoo\n"
            "                          (421 4.7.0 [TSS04]), greylist (451 4.7.1 try again later)\n"
            "  tempfail-reply 'CODE TEXT', permfail-reply 'CODE TEXT'   literal replies\n"
            "  stutter BYTES/SECONDS   send replies BYTES at a time (default off; spamd: 1/1)\n"
            "  early-talkers MODE      reject (554, default) or allow clients that speak first\n"
            "  max-conns-per-client N  421 over N concurrent connections from one address (0: off)\n"
            "  conn-rate N             421 over N connections per address per window (0: off)\n"
            "  msg-rate N              450 over N messages per address per window (0: off)\n"
            "  rate-window SECONDS     window of the two rates above (default 60)\n"
            "  max-msgs-per-conn N     421 at MAIL after N messages on a connection (0: off)\n"
            "  accept-rate R           451 at MAIL beyond R messages/s for all (0: off)\n"
            "  seed N                  seed of every random choice (default 1)\n");
}

/* ---- state and decisions ------------------------------------------------------------- */

void tarpit_init(struct tarpit *t, const struct tarpit_config *cfg)
{
    memset(t, 0, sizeof(*t));
    t->cfg = *cfg;
    rng_seed(&t->rng, cfg->seed);
    t->tokens = cfg->accept_rate > 1 ? cfg->accept_rate : 1;
    t->token_time = -1;
}

static void client_free(struct tarpit_client *c)
{
    free(c->conn_times);
    free(c->msg_times);
    free(c);
}

void tarpit_free(struct tarpit *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->clients[i])
            client_free(t->clients[i]);
    free(t->clients);
    t->clients = NULL;
    t->cap = t->nclients = 0;
}

static size_t slot_of(const char *addr, size_t cap)
{
    return hash_str(addr) % cap;
}

/* newest - the latest time in a ring of n (of limit) starting at head; -1 when empty. */
static double newest(const double *times, unsigned n, unsigned head, unsigned limit)
{
    return times && n > 0 && limit > 0 ? times[(head + n - 1) % limit] : -1;
}

/* client_live - whether forgetting c would change a decision: open connections, or an
 * event still inside a rate window. */
static int client_live(const struct tarpit *t, const struct tarpit_client *c, double now)
{
    double w = t->cfg.rate_window;

    if (c->conns > 0)
        return 1;
    double last = newest(c->conn_times, c->conn_n, c->conn_head, t->cfg.conn_rate);
    double m = newest(c->msg_times, c->msg_n, c->msg_head, t->cfg.msg_rate);
    if (m > last)
        last = m;
    return last >= 0 && now - last < w;
}

/* rehash - move the live clients into a table of cap slots, forgetting the others;
 * returns 0, or -1 (the table unchanged) when out of memory. */
static int rehash(struct tarpit *t, size_t cap, double now)
{
    struct tarpit_client **n = calloc(cap, sizeof(*n));

    if (n == NULL)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < t->cap; i++) {
        struct tarpit_client *c = t->clients[i];
        if (c == NULL)
            continue;
        if (!client_live(t, c, now)) {
            client_free(c);
            continue;
        }
        size_t k = slot_of(c->addr, cap);
        while (n[k])
            k = (k + 1) % cap;
        n[k] = c;
        kept++;
    }
    free(t->clients);
    t->clients = n;
    t->cap = cap;
    t->nclients = kept;
    return 0;
}

/* client - the state of addr; created on first sight when create is set. NULL when
 * unknown (and not created) or out of memory: every client is tracked otherwise. */
static struct tarpit_client *client(struct tarpit *t, const char *addr, int create, double now)
{
    if (t->cap == 0 || (create && 2 * (t->nclients + 1) > t->cap)) {
        size_t cap = t->cap ? t->cap : TARPIT_CLIENTS_MIN;
        size_t live = 0;
        for (size_t i = 0; i < t->cap; i++)
            live += t->clients[i] && client_live(t, t->clients[i], now);
        while (2 * (live + 1) > cap / 2) /* room to grow into before the next rehash */
            cap *= 2;
        if (rehash(t, cap, now) != 0 && t->cap == 0)
            return NULL;
    }
    for (size_t k = slot_of(addr, t->cap);; k = (k + 1) % t->cap) {
        if (t->clients[k] == NULL) {
            if (!create || 2 * (t->nclients + 1) > t->cap)
                return NULL;
            struct tarpit_client *c = calloc(1, sizeof(*c));
            if (c == NULL)
                return NULL;
            snprintf(c->addr, sizeof(c->addr), "%s", addr);
            t->clients[k] = c;
            t->nclients++;
            return c;
        }
        if (strcmp(t->clients[k]->addr, addr) == 0)
            return t->clients[k];
    }
}

/* window_admit - sliding window of at most limit events per window; records now when
 * admitted. Returns 1 if admitted. */
static int window_admit(double **times, unsigned *n, unsigned *head, unsigned limit, double window,
                        double now)
{
    if (*times == NULL && (*times = calloc(limit, sizeof(double))) == NULL)
        return 1;
    if (*n == limit) {
        if (now - (*times)[*head] < window)
            return 0; /* the oldest of the last `limit` is still inside the window */
        (*times)[*head] = now;
        *head = (*head + 1) % limit;
        return 1;
    }
    (*times)[(*head + *n) % limit] = now;
    (*n)++;
    return 1;
}

void tarpit_connect(struct tarpit *t, const char *addr, double now)
{
    struct tarpit_client *c = client(t, addr, 1, now);

    if (c)
        c->conns++;
}

void tarpit_disconnect(struct tarpit *t, const char *addr)
{
    struct tarpit_client *c = client(t, addr, 0, 0);

    if (c && c->conns > 0)
        c->conns--;
}

/* fail_reply - the preset's (or literal) reply for a failure at stage. */
static void fail_reply(const struct tarpit_config *cfg, enum smtp_stage stage, int temp,
                       struct smtp_decision *d)
{
    int early = stage <= SMTP_STAGE_MAIL;
    const char *text;

    if (temp && cfg->tempfail_code) {
        d->code = cfg->tempfail_code;
        snprintf(d->text, sizeof(d->text), "%s", cfg->tempfail_text);
        return;
    }
    if (!temp && cfg->permfail_code) {
        d->code = cfg->permfail_code;
        snprintf(d->text, sizeof(d->text), "%s", cfg->permfail_text);
        return;
    }
    switch (cfg->preset) {
    case PRESET_GMAIL:
        if (temp && early) {
            d->code = 421;
            text = "4.7.28 Our system has detected an unusual rate of unsolicited mail "
                   "originating from your IP address. To protect our users from spam, mail sent "
                   "from your IP address has been temporarily rate limited.";
        } else if (temp) {
            d->code = 450;
            text = "4.2.1 The user you are trying to contact is receiving mail too quickly. "
                   "Please resend your message at a later time.";
        } else {
            d->code = 550;
            text = "5.7.1 Our system has detected that this message is likely unsolicited mail.";
        }
        break;
    case PRESET_YAHOO:
        d->code = temp ? 421 : 554;
        text = temp ? "4.7.0 [TSS04] Messages from your IP temporarily deferred due to unexpected "
                      "volume or user complaints - 4.16.55.1; see "
                      "https://postmaster.yahooinc.com/error-codes"
                    : "5.7.9 Message not accepted for policy reasons.";
        break;
    case PRESET_GREYLIST:
        d->code = temp ? 451 : 550;
        text = temp ? "4.7.1 Greylisted, please try again later" : "5.7.1 Rejected";
        break;
    default:
        d->code = temp ? 450 : 550;
        text = temp ? "4.7.1 Service temporarily unavailable, try again later"
                    : "5.7.1 Error: rejected by policy";
    }
    snprintf(d->text, sizeof(d->text), "%s", text);
}

void tarpit_decide(struct tarpit *t, const char *addr, unsigned session_msgs, enum smtp_stage stage,
                   double now, struct smtp_decision *d, const char **action)
{
    const struct tarpit_config *cfg = &t->cfg;
    struct tarpit_client *c = client(t, addr, 1, now);

    *action = NULL;
    if (stage == SMTP_STAGE_CONNECT && c) {
        if (cfg->max_conns_per_client && c->conns > cfg->max_conns_per_client) {
            d->code = 421;
            snprintf(d->text, sizeof(d->text), "4.7.0 %.100s Error: too many connections from %.64s",
                     cfg->hostname, addr);
            *action = "conn_limit";
            return; /* answered at once, like Postfix's anvil */
        }
        if (cfg->conn_rate &&
            !window_admit(&c->conn_times, &c->conn_n, &c->conn_head, cfg->conn_rate,
                          cfg->rate_window, now)) {
            d->code = 421;
            snprintf(d->text, sizeof(d->text), "4.7.0 %.100s Error: too many connections from %.64s",
                     cfg->hostname, addr);
            *action = "conn_rate";
            return;
        }
    }
    if (stage == SMTP_STAGE_MAIL) {
        if (cfg->max_msgs_per_conn && session_msgs >= cfg->max_msgs_per_conn) {
            d->code = 421;
            snprintf(d->text, sizeof(d->text), "4.7.0 %.100s Error: too many messages in this connection",
                     cfg->hostname);
            *action = "msgs_per_conn";
            return;
        }
        if (cfg->msg_rate && c &&
            !window_admit(&c->msg_times, &c->msg_n, &c->msg_head, cfg->msg_rate, cfg->rate_window,
                          now)) {
            d->code = 450;
            snprintf(d->text, sizeof(d->text), "4.7.1 Error: too much mail from %s", addr);
            *action = "msg_rate";
            return;
        }
        if (cfg->accept_rate > 0) {
            double burst = cfg->accept_rate > 1 ? cfg->accept_rate : 1;
            if (t->token_time >= 0)
                t->tokens += (now - t->token_time) * cfg->accept_rate;
            if (t->tokens > burst)
                t->tokens = burst;
            t->token_time = now;
            if (t->tokens < 1) {
                d->code = 451;
                snprintf(d->text, sizeof(d->text), "4.7.1 Error: accept rate exceeded, try again later");
                *action = "accept_rate";
                return;
            }
            t->tokens -= 1;
        }
    }
    /* one draw per configured probability, in a fixed order, so decisions replay */
    if (cfg->disconnect[stage] > 0 && rng_unit(&t->rng) < cfg->disconnect[stage]) {
        d->silent = 1;
        *action = "disconnect";
        return;
    }
    if (cfg->permfail[stage] > 0 && rng_unit(&t->rng) < cfg->permfail[stage]) {
        fail_reply(cfg, stage, 0, d);
        *action = "permfail";
    } else if (cfg->tempfail[stage] > 0 && rng_unit(&t->rng) < cfg->tempfail[stage]) {
        fail_reply(cfg, stage, 1, d);
        *action = "tempfail";
    }
    d->delay = delay_spec_sample(&cfg->delay[stage], &t->rng);
    if (d->delay > 0 && *action == NULL)
        *action = "delay";
    if (cfg->stutter_bytes > 0) {
        d->stutter_bytes = cfg->stutter_bytes;
        d->stutter_interval = cfg->stutter_interval;
        if (*action == NULL)
            *action = "stutter";
    }
}
