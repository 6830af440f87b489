/* policy_file - the proxy's policy file: tenants, destinations, budgets and outbound
 * addresses; parsed from a buffer, looked up by longest prefix. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hash.h"
#include "kv.h"
#include "numparse.h"
#include "policy_file.h"

#define BUDGET_MAX 100000
#define WEIGHT_MAX 1000.0

int policy_init(struct policy *p)
{
    memset(p, 0, sizeof(*p));
    p->tmatch = calloc(POLICY_MATCH_MAX, sizeof(*p->tmatch));
    p->dmatch = calloc(POLICY_MATCH_MAX, sizeof(*p->dmatch));
    if (p->tmatch == NULL || p->dmatch == NULL) {
        policy_free(p);
        return -1;
    }
    return 0;
}

void policy_free(struct policy *p)
{
    free(p->tmatch);
    free(p->dmatch);
    p->tmatch = p->dmatch = NULL;
}

int policy_budget_parse(const char *text, struct policy_budget *b)
{
    uint64_t n;

    if (strcmp(text, "none") == 0) {
        b->mode = ADM_MODE_NONE;
        b->limit = 0;
    } else if (strcmp(text, "auto") == 0) {
        b->mode = ADM_MODE_AUTO;
        b->limit = 0;
    } else if (numparse_u64(text, BUDGET_MAX, &n) == 0 && n >= 1) {
        b->mode = ADM_MODE_FIXED;
        b->limit = (unsigned)n;
    } else {
        return -1;
    }
    return 0;
}

int policy_cidr_parse(const char *text, struct policy_cidr *c, char *err, size_t errlen)
{
    char ip[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    unsigned maxbits;
    uint64_t bits;

    memset(c, 0, sizeof(*c));
    if (n == 0 || n >= sizeof(ip)) {
        snprintf(err, errlen, "'%s' is not an address or CIDR", text);
        return -1;
    }
    memcpy(ip, text, n);
    ip[n] = 0;
    if (inet_pton(AF_INET, ip, c->addr) == 1) {
        c->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, ip, c->addr) == 1) {
        c->family = AF_INET6;
        maxbits = 128;
    } else {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", ip);
        return -1;
    }
    if (slash == NULL)
        bits = maxbits;
    else if (numparse_u64(slash + 1, maxbits, &bits) != 0) {
        snprintf(err, errlen, "'%s': prefix length must be 0..%u", text, maxbits);
        return -1;
    }
    c->bits = (unsigned char)bits;
    /* host bits set ("198.18.1.5/24") are a typo more often than not: refuse them */
    for (unsigned i = c->bits; i < maxbits; i++)
        if (c->addr[i / 8] & (0x80 >> (i % 8))) {
            snprintf(err, errlen, "'%s' has bits set beyond /%u", text, c->bits);
            return -1;
        }
    return 0;
}

/* sa_bytes - the address bytes and family of sa (IPv4-mapped IPv6 counts as IPv4). */
static const unsigned char *sa_bytes(const struct sockaddr *sa, sa_family_t *family)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (sa->sa_family == AF_INET) {
        *family = AF_INET;
        return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            *family = AF_INET;
            return a + 12;
        }
        *family = AF_INET6;
        return a;
    }
    *family = 0;
    return NULL;
}

int policy_cidr_match(const struct policy_cidr *c, const struct sockaddr *sa)
{
    sa_family_t family;
    const unsigned char *a = sa_bytes(sa, &family);

    if (a == NULL || family != c->family)
        return 0;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(a, c->addr, full) != 0)
        return 0;
    return rest == 0 || ((a[full] ^ c->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

enum section_kind { SEC_TOP = 0, SEC_TENANT, SEC_DEST };

struct parse_state {
    struct policy *p;
    enum section_kind kind;
    unsigned index;
    unsigned line; /* the entry's line, from kv: sections and matches remember it */
};

/* next_item - the next item of a comma-separated list at *s, blanks trimmed, into item
 * (of KV_LINE_MAX); advances *s past its comma. Returns 0 at the end of the list. */
static int next_item(const char **s, char *item)
{
    if (**s == 0)
        return 0;
    size_t len = strcspn(*s, ",");
    while (len && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t'))
        len--;
    memcpy(item, *s, len);
    item[len] = 0;
    *s += strcspn(*s, ",");
    *s += **s == ',';
    while (**s == ' ' || **s == '\t')
        (*s)++;
    return 1;
}

/* parse_outbound - "ADDR" or "ADDR4, ADDR6": a source address per family. */
static int parse_outbound(const char *value, struct policy_outbound *o, char *err, size_t errlen)
{
    char why[256], item[KV_LINE_MAX];
    const char *s = value;

    memset(o, 0, sizeof(*o));
    while (next_item(&s, item)) {
        struct sockaddr_storage a;
        socklen_t alen;
        memset(&a, 0, sizeof(a));
        if (inet_pton(AF_INET, item, &((struct sockaddr_in *)&a)->sin_addr) == 1) {
            a.ss_family = AF_INET;
            alen = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, item, &((struct sockaddr_in6 *)&a)->sin6_addr) == 1) {
            a.ss_family = AF_INET6;
            alen = sizeof(struct sockaddr_in6);
        } else if (addr_parse(item, 0, &a, &alen, why, sizeof(why)) == 0) {
            snprintf(err, errlen, "outbound '%s': an address without a port", item);
            return -1;
        } else {
            snprintf(err, errlen, "outbound '%s': not an IPv4 or IPv6 address", item);
            return -1;
        }
        int v6 = a.ss_family == AF_INET6;
        if (v6 ? o->have6 : o->have4) {
            snprintf(err, errlen, "outbound: two IPv%d addresses (at most one per family)", v6 ? 6 : 4);
            return -1;
        }
        if (v6) {
            o->a6 = a;
            o->l6 = alen;
            o->have6 = 1;
        } else {
            o->a4 = a;
            o->l4 = alen;
            o->have4 = 1;
        }
        o->set = 1;
    }
    if (!o->set) {
        snprintf(err, errlen, "outbound: no address given");
        return -1;
    }
    return 0;
}

/* add_matches - every CIDR of a comma-separated list, for section index of one kind. */
static int add_matches(struct parse_state *st, const char *value, char *err, size_t errlen)
{
    struct policy *p = st->p;
    struct policy_cidr *table = st->kind == SEC_TENANT ? p->tmatch : p->dmatch;
    unsigned *n = st->kind == SEC_TENANT ? &p->ntmatch : &p->ndmatch;
    char item[KV_LINE_MAX];
    const char *s = value;

    if (*s == 0) {
        snprintf(err, errlen, "match: no address given");
        return -1;
    }
    while (next_item(&s, item)) {
        struct policy_cidr c;
        if (policy_cidr_parse(item, &c, err, errlen) != 0)
            return -1;
        c.section = (unsigned short)st->index;
        c.line = st->line;
        for (unsigned i = 0; i < *n; i++)
            if (table[i].family == c.family && table[i].bits == c.bits &&
                memcmp(table[i].addr, c.addr, sizeof(c.addr)) == 0) {
                const char *owner = st->kind == SEC_TENANT ? p->tenants[table[i].section].name
                                                           : p->dests[table[i].section].name;
                snprintf(err, errlen, "%s is already matched by [%s %s] (line %u)", item,
                         st->kind == SEC_TENANT ? "tenant" : "destination", owner, table[i].line);
                return -1;
            }
        if (*n >= POLICY_MATCH_MAX) {
            snprintf(err, errlen, "more than %d addresses in match lines", POLICY_MATCH_MAX);
            return -1;
        }
        table[(*n)++] = c;
    }
    return 0;
}

static int section_start(struct parse_state *st, const char *section, char *err, size_t errlen)
{
    struct policy *p = st->p;
    const char *name = strchr(section, ' ');
    size_t kind_len = name ? (size_t)(name - section) : strlen(section);

    if (name == NULL || name[1] == 0) {
        snprintf(err, errlen, "section [%s]: expected [tenant NAME] or [destination NAME]", section);
        return -1;
    }
    name++;
    if (strlen(name) >= ADM_NAME_MAX) {
        snprintf(err, errlen, "section [%s]: name longer than %d characters", section, ADM_NAME_MAX - 1);
        return -1;
    }
    if (kind_len == 6 && strncmp(section, "tenant", 6) == 0) {
        for (unsigned i = 0; i < p->ntenants; i++)
            if (strcmp(p->tenants[i].name, name) == 0) {
                snprintf(err, errlen, "[tenant %s] again (first at line %u)", name, p->tenants[i].line);
                return -1;
            }
        if (p->ntenants >= POLICY_SECTIONS_MAX) {
            snprintf(err, errlen, "more than %d tenants", POLICY_SECTIONS_MAX);
            return -1;
        }
        struct policy_tenant *t = &p->tenants[p->ntenants];
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", name);
        t->weight = 1;
        t->line = st->line;
        /* named tenants: ids with the top bits 11, apart from client-address ids */
        t->id = (3ULL << 62) | ((uint64_t)hash_str(name) << 16) | p->ntenants;
        st->kind = SEC_TENANT;
        st->index = p->ntenants++;
        return 0;
    }
    if (kind_len == 11 && strncmp(section, "destination", 11) == 0) {
        for (unsigned i = 0; i < p->ndests; i++)
            if (strcmp(p->dests[i].name, name) == 0) {
                snprintf(err, errlen, "[destination %s] again (first at line %u)", name, p->dests[i].line);
                return -1;
            }
        if (p->ndests >= POLICY_SECTIONS_MAX) {
            snprintf(err, errlen, "more than %d destinations", POLICY_SECTIONS_MAX);
            return -1;
        }
        struct policy_dest *d = &p->dests[p->ndests];
        memset(d, 0, sizeof(*d));
        snprintf(d->name, sizeof(d->name), "%s", name);
        d->line = st->line;
        st->kind = SEC_DEST;
        st->index = p->ndests++;
        return 0;
    }
    snprintf(err, errlen, "section [%s]: expected [tenant NAME] or [destination NAME]", section);
    return -1;
}

static int entry(void *arg, const char *section, const char *key, const char *value, char *err,
                 size_t errlen)
{
    struct parse_state *st = arg;
    struct policy *p = st->p;

    if (key == NULL)
        return section_start(st, section, err, errlen);
    if (st->kind == SEC_TOP) {
        if (strcmp(key, "dest-limit") == 0) {
            if (policy_budget_parse(value, &p->dest_budget) != 0) {
                snprintf(err, errlen, "dest-limit '%s': expected none, auto or a count 1..%d", value, BUDGET_MAX);
                return -1;
            }
            p->have_dest_budget = 1;
            return 0;
        }
        if (strcmp(key, "hold-max") == 0) {
            if (numparse_double(value, 0.001, POLICY_HOLD_MAX_LIMIT, &p->hold_max) != 0) {
                snprintf(err, errlen, "hold-max '%s': expected seconds, at most %d", value, POLICY_HOLD_MAX_LIMIT);
                return -1;
            }
            return 0;
        }
        snprintf(err, errlen, "unknown key '%s' before any section (dest-limit, hold-max)", key);
        return -1;
    }
    if (strcmp(key, "match") == 0)
        return add_matches(st, value, err, errlen);
    if (st->kind == SEC_TENANT) {
        struct policy_tenant *t = &p->tenants[st->index];
        if (strcmp(key, "weight") == 0) {
            if (numparse_double(value, 0.001, WEIGHT_MAX, &t->weight) != 0) {
                snprintf(err, errlen, "weight '%s': expected a number above 0, at most %g", value, WEIGHT_MAX);
                return -1;
            }
            return 0;
        }
        if (strcmp(key, "outbound") == 0)
            return parse_outbound(value, &t->outbound, err, errlen);
        if (strcmp(key, "outbound-priority") == 0) {
            if (strcmp(value, "tenant") != 0 && strcmp(value, "destination") != 0) {
                snprintf(err, errlen, "outbound-priority '%s': expected tenant or destination", value);
                return -1;
            }
            t->destination_outbound_first = value[0] == 'd';
            return 0;
        }
        snprintf(err, errlen, "unknown key '%s' in [tenant %s] (match, weight, outbound, outbound-priority)",
                 key, t->name);
        return -1;
    }
    struct policy_dest *d = &p->dests[st->index];
    if (strcmp(key, "limit") == 0) {
        if (policy_budget_parse(value, &d->budget) != 0) {
            snprintf(err, errlen, "limit '%s': expected none, auto or a count 1..%d", value, BUDGET_MAX);
            return -1;
        }
        d->have_budget = 1;
        return 0;
    }
    if (strcmp(key, "outbound") == 0)
        return parse_outbound(value, &d->outbound, err, errlen);
    if (strcmp(key, "tls") == 0) {
        static const char *const modes[] = {"none", "may", "verify"};
        for (int m = 0; m < 3; m++)
            if (strcmp(value, modes[m]) == 0) {
                d->tls = (enum relay_tls_mode)m;
                d->have_tls = 1;
                return 0;
            }
        snprintf(err, errlen, "tls '%s': expected none, may or verify", value);
        return -1;
    }
    snprintf(err, errlen, "unknown key '%s' in [destination %s] (match, limit, outbound, tls)", key, d->name);
    return -1;
}

int policy_parse(struct policy *p, const char *name, const char *buf, size_t len, char *err,
                 size_t errlen)
{
    struct parse_state st = {.p = p};

    if (kv_parse_buffer(name, buf, len, entry, &st, &st.line, err, errlen) != 0)
        return -1;
    for (unsigned i = 0; i < p->ntenants; i++) {
        int found = 0;
        for (unsigned j = 0; j < p->ntmatch && !found; j++)
            found = p->tmatch[j].section == i;
        if (!found) {
            snprintf(err, errlen, "%s:%u: [tenant %s] has no match line", name, p->tenants[i].line,
                     p->tenants[i].name);
            return -1;
        }
    }
    for (unsigned i = 0; i < p->ndests; i++) {
        int found = 0;
        for (unsigned j = 0; j < p->ndmatch && !found; j++)
            found = p->dmatch[j].section == i;
        if (!found) {
            snprintf(err, errlen, "%s:%u: [destination %s] has no match line", name, p->dests[i].line,
                     p->dests[i].name);
            return -1;
        }
    }
    return 0;
}

int policy_load(struct policy *p, const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t len;

    if (kv_read_file(path, &buf, &len, err, errlen) != 0)
        return -1;
    int r = policy_parse(p, path, buf, len, err, errlen);
    free(buf);
    return r;
}

/* longest - the longest prefix in table[0..n) that contains sa, or NULL. */
static const struct policy_cidr *longest(const struct policy_cidr *table, unsigned n, const struct sockaddr *sa)
{
    const struct policy_cidr *best = NULL;

    for (unsigned i = 0; i < n; i++)
        if ((best == NULL || table[i].bits > best->bits) && policy_cidr_match(&table[i], sa))
            best = &table[i];
    return best;
}

/* address_id - a tenant id for a client of its own: IPv4 exactly, IPv6 hashed (top bits
 * 01 and 10; named tenants have 11). */
static uint64_t address_id(const struct sockaddr *sa)
{
    sa_family_t family;
    const unsigned char *a = sa_bytes(sa, &family);

    if (a == NULL)
        return 0;
    if (family == AF_INET)
        return (1ULL << 62) | ((uint64_t)a[0] << 24) | ((uint64_t)a[1] << 16) | ((uint64_t)a[2] << 8) | a[3];
    uint64_t h = ((uint64_t)hash_bytes(a, 8) << 32) | hash_bytes(a + 8, 8);
    return (2ULL << 62) | (h & ((1ULL << 62) - 1));
}

void policy_lookup(const struct policy *p, const struct sockaddr *client, const struct sockaddr *dst,
                   struct policy_match *m)
{
    const struct policy_cidr *t = p ? longest(p->tmatch, p->ntmatch, client) : NULL;
    const struct policy_cidr *d = p ? longest(p->dmatch, p->ndmatch, dst) : NULL;

    memset(m, 0, sizeof(*m));
    if (t) {
        m->tenant = &p->tenants[t->section];
        m->tenant_id = m->tenant->id;
        m->weight = m->tenant->weight;
        snprintf(m->tenant_name, sizeof(m->tenant_name), "%s", m->tenant->name);
    } else {
        m->tenant_id = address_id(client);
        m->weight = 1;
        addr_format(client, m->tenant_name, sizeof(m->tenant_name), 0);
    }
    if (d)
        m->dest = &p->dests[d->section];
    if (m->dest && m->dest->have_budget)
        m->budget = m->dest->budget;
    else if (p && p->have_dest_budget)
        m->budget = p->dest_budget;
    /* the first rule with an address of the destination's family: the tenant's, then the
     * destination's (or the other way round when the tenant says so) */
    sa_family_t family;
    int v6 = sa_bytes(dst, &family) && family == AF_INET6;
    const struct policy_outbound *to = m->tenant ? &m->tenant->outbound : NULL;
    const struct policy_outbound *dO = m->dest ? &m->dest->outbound : NULL;
    const struct policy_outbound *order[2] = {to, dO};
    if (m->tenant && m->tenant->destination_outbound_first) {
        order[0] = dO;
        order[1] = to;
    }
    for (int i = 0; i < 2 && m->outbound == NULL; i++) {
        const struct policy_outbound *o = order[i];
        if (o == NULL || !(v6 ? o->have6 : o->have4))
            continue;
        m->outbound = v6 ? &o->a6 : &o->a4;
        m->outbound_len = v6 ? o->l6 : o->l4;
        if (o == to)
            snprintf(m->outbound_rule, sizeof(m->outbound_rule), "tenant %s", m->tenant->name);
        else
            snprintf(m->outbound_rule, sizeof(m->outbound_rule), "destination %s", m->dest->name);
    }
    if (m->dest && m->dest->have_tls) {
        m->have_tls = 1;
        m->tls = m->dest->tls;
    }
}
