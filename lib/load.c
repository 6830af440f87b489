/* load - the mua's load schedule and the messages it sends. Pure: the program supplies
 * the clock and does the sending. */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "kv.h"
#include "load.h"
#include "numparse.h"
#include "rfc5322_date.h"

void load_schedule_init(struct load_schedule *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->run, sizeof(s->run), "run");
    s->defaults.messages = 1;
    s->defaults.sessions = 1;
    s->defaults.rounds = 1;
    s->defaults.interval = 10;
    s->defaults.size = 1000;
}

static int copy_field(char *dst, size_t size, const char *key, const char *value, char *err,
                      size_t errlen)
{
    if (value[0] == 0 || strlen(value) >= size || strpbrk(value, " \t\r\n<>")) {
        snprintf(err, errlen, "%s '%s': expected a non-empty value without spaces or <>", key, value);
        return -1;
    }
    strcpy(dst, value);
    return 0;
}

/* A setter: one key's value into t; returns 0, or -1 with a reason in err. */
typedef int target_setter(struct load_target *t, const char *key, const char *value, char *err,
                          size_t errlen);

static int set_target(struct load_target *t, const char *key, const char *value, char *err,
                      size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char why[256];

    if (addr_parse(value, -1, &ss, &len, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "target %s", why);
        return -1;
    }
    return copy_field(t->target, sizeof(t->target), key, value, err, errlen);
}

static int set_address(struct load_target *t, const char *key, const char *value, char *err,
                       size_t errlen)
{
    return key[0] == 'f' ? copy_field(t->from, sizeof(t->from), key, value, err, errlen)
                         : copy_field(t->to, sizeof(t->to), key, value, err, errlen);
}

static int set_tenant(struct load_target *t, const char *key, const char *value, char *err,
                      size_t errlen)
{
    (void)key;
    if (!mua_stamp_name_ok(value)) {
        snprintf(err, errlen, "tenant '%s': letters, digits, '.', '-' and '_' only", value);
        return -1;
    }
    strcpy(t->name, value);
    return 0;
}

/* set_count - messages (one count, or a list: one per round), sessions, rounds. */
static int set_count(struct load_target *t, const char *key, const char *value, char *err,
                     size_t errlen)
{
    uint64_t u;

    if (key[0] == 'm' && strchr(value, ',')) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", value);
        t->nlist = 0;
        t->messages = 0;
        for (char *p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
            if (t->nlist >= LOAD_ROUND_LIST_MAX || numparse_u64(p, 100000000, &u) != 0 || u == 0) {
                snprintf(err, errlen, "messages '%s': up to %d whole numbers from 1, comma-separated",
                         value, LOAD_ROUND_LIST_MAX);
                return -1;
            }
            t->list[t->nlist++] = (unsigned)u;
            if (u > t->messages)
                t->messages = (unsigned)u;
        }
        return 0;
    }
    if (numparse_u64(value, 100000000, &u) != 0 || u == 0) {
        snprintf(err, errlen, "%s '%s': expected a whole number from 1", key, value);
        return -1;
    }
    if (key[0] == 'm') {
        t->messages = (unsigned)u;
        t->nlist = 0;
    } else if (key[0] == 's') {
        t->sessions = (unsigned)u;
    } else {
        t->rounds = (unsigned)u;
    }
    return 0;
}

static int set_seconds(struct load_target *t, const char *key, const char *value, char *err,
                       size_t errlen)
{
    double v;

    if (numparse_double(value, 0, 86400, &v) != 0) {
        snprintf(err, errlen, "%s '%s': expected seconds", key, value);
        return -1;
    }
    if (key[0] == 'i')
        t->interval = v;
    else
        t->start = v;
    return 0;
}

static int set_size(struct load_target *t, const char *key, const char *value, char *err,
                    size_t errlen)
{
    uint64_t u;

    (void)key;
    if (numparse_u64(value, LOAD_SIZE_MAX, &u) != 0) {
        snprintf(err, errlen, "size '%s': expected body bytes up to %u", value, LOAD_SIZE_MAX);
        return -1;
    }
    t->size = (size_t)u;
    return 0;
}

/* The keys of a target, and their setters. */
static const struct {
    const char *key;
    target_setter *set;
} target_keys[] = {
    {"target", set_target},  {"from", set_address},      {"to", set_address},
    {"tenant", set_tenant},  {"messages", set_count},    {"sessions", set_count},
    {"rounds", set_count},   {"interval", set_seconds},  {"start", set_seconds},
    {"size", set_size},
};

int load_target_set(struct load_target *t, const char *key, const char *value, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < sizeof(target_keys) / sizeof(target_keys[0]); i++)
        if (strcmp(key, target_keys[i].key) == 0)
            return target_keys[i].set(t, key, value, err, errlen);
    return 1;
}

int load_target_check(const struct load_target *t, char *err, size_t errlen)
{
    const char *missing = !t->target[0] ? "target" : !t->from[0] ? "from" : !t->to[0] ? "to" : NULL;

    if (missing) {
        snprintf(err, errlen, "target '%s': no %s given", t->name, missing);
        return -1;
    }
    if (t->sessions > t->messages && t->nlist == 0) {
        snprintf(err, errlen, "target '%s': %u sessions for %u messages per round", t->name,
                 t->sessions, t->messages);
        return -1;
    }
    return 0;
}

struct parse_state {
    struct load_schedule *s;
    struct load_target *cur;
};

static int schedule_entry(void *arg, const char *section, const char *key, const char *value,
                          char *err, size_t errlen)
{
    struct parse_state *ps = arg;
    struct load_schedule *s = ps->s;

    if (key == NULL) { /* a new [section]: a target inheriting the defaults */
        if (s->ntargets >= LOAD_TARGETS_MAX) {
            snprintf(err, errlen, "more than %d targets", LOAD_TARGETS_MAX);
            return -1;
        }
        if (!mua_stamp_name_ok(section)) {
            snprintf(err, errlen, "section [%s]: the tenant name allows letters, digits, '.-_'", section);
            return -1;
        }
        for (unsigned i = 0; i < s->ntargets; i++)
            if (strcmp(s->targets[i].name, section) == 0) {
                snprintf(err, errlen, "section [%s] given twice", section);
                return -1;
            }
        ps->cur = &s->targets[s->ntargets++];
        *ps->cur = s->defaults;
        snprintf(ps->cur->name, sizeof(ps->cur->name), "%s", section);
        return 0;
    }
    if (ps->cur == NULL && strcmp(key, "run") == 0) {
        if (!mua_stamp_name_ok(value)) {
            snprintf(err, errlen, "run '%s': letters, digits, '.', '-' and '_' only", value);
            return -1;
        }
        snprintf(s->run, sizeof(s->run), "%s", value);
        return 0;
    }
    int r = load_target_set(ps->cur ? ps->cur : &s->defaults, key, value, err, errlen);
    if (r > 0)
        snprintf(err, errlen, "unknown key '%s'", key);
    return r == 0 ? 0 : -1;
}

int load_schedule_parse(struct load_schedule *s, const char *path, char *err, size_t errlen)
{
    struct parse_state ps = {s, NULL};
    char why[512];

    if (kv_parse_file(path, schedule_entry, &ps, err, errlen) != 0)
        return -1;
    if (s->ntargets == 0) {
        snprintf(err, errlen, "%s: no [target] section", path);
        return -1;
    }
    for (unsigned i = 0; i < s->ntargets; i++)
        if (load_target_check(&s->targets[i], why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", path, why);
            return -1;
        }
    return 0;
}

int64_t load_round_due_us(const struct load_target *t, int64_t start_us, unsigned k)
{
    return start_us + (int64_t)((t->start + t->interval * k) * 1e6 + 0.5);
}

unsigned load_round_messages(const struct load_target *t, unsigned k)
{
    return t->nlist ? t->list[k % t->nlist] : t->messages;
}

unsigned load_round_sessions(const struct load_target *t, unsigned k)
{
    unsigned m = load_round_messages(t, k);

    return t->sessions < m ? t->sessions : m;
}

unsigned load_session_share(const struct load_target *t, unsigned k, unsigned i)
{
    unsigned m = load_round_messages(t, k), s = load_round_sessions(t, k);
    unsigned base = m / s, extra = m % s;

    return base + (i < extra ? 1 : 0);
}

unsigned load_session_first_seq(const struct load_target *t, unsigned k, unsigned i)
{
    unsigned m = load_round_messages(t, k), s = load_round_sessions(t, k);
    unsigned base = m / s, extra = m % s;

    return i * base + (i < extra ? i : extra);
}

size_t load_headers(char *buf, size_t size, const struct load_target *t, const struct mua_stamp *st,
                    int64_t date_epoch)
{
    char date[RFC5322_DATE_MAX], stamp[MUA_STAMP_MAX];
    const char *domain = strchr(t->from, '@');
    int n;

    if (rfc5322_date_format_local(date_epoch, date, sizeof(date)) == 0 ||
        mua_stamp_format(st, stamp, sizeof(stamp)) == 0)
        return 0;
    n = snprintf(buf, size,
                 "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\nSubject: mua %s %s round %u seq %u\r\n"
                 "Message-ID: <%s.%s.%u.%u@%s>\r\n" MUA_STAMP_HEADER ": %s\r\n\r\n",
                 t->from, t->to, date, st->run, st->tenant, st->round, st->seq, st->run, st->tenant,
                 st->round, st->seq, domain ? domain + 1 : "mua.invalid", stamp);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t load_body(char *buf, size_t size)
{
    static const char text[] = LOAD_BODY_TEXT "\r\n";
    const size_t full = LOAD_BODY_LINE + 2; /* a full line of stars with its CRLF */
    size_t o, left;

    if (size < sizeof(text) - 1) { /* too small for the text: as much of it as fits */
        memcpy(buf, text, size);
        buf[size] = 0;
        return size;
    }
    memcpy(buf, text, sizeof(text) - 1);
    o = sizeof(text) - 1;
    left = size - o;
    if (left > 0 && left < 3) { /* no room for a line of its own: lengthen the text line */
        memset(buf + o - 2, '*', left);
        memcpy(buf + o - 2 + left, "\r\n", 2);
        o += left;
        left = 0;
    }
    while (left > 0) {
        size_t line = left <= full ? left : left - full < 3 ? left - 3 : full;
        memset(buf + o, '*', line - 2);
        memcpy(buf + o + line - 2, "\r\n", 2);
        o += line;
        left -= line;
    }
    buf[size] = 0;
    return size;
}
