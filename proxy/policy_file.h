/* policy_file - the proxy's policy: tenants (client addresses → name, weight, outbound
 * address), destinations (original destination addresses → connection budget, outbound
 * address) and defaults, in the harness's "key = value" format with sections. Parsing
 * is pure (a buffer in, a policy or "file:line: what" out); lookups are longest-prefix. */
#ifndef PROXY_POLICY_FILE_H
#define PROXY_POLICY_FILE_H

#include <stdint.h>
#include <sys/socket.h>

#include "admission.h"
#include "relay.h"

#define POLICY_SECTIONS_MAX 1024 /* tenants, and destinations */
#define POLICY_MATCH_MAX 8192    /* CIDRs over all sections */
#define POLICY_HOLD_MAX_LIMIT 280 /* seconds: below the 5 minutes a client waits for a greeting */

/* A budget: none, a fixed connection count, or learned from the MX ("auto"). */
struct policy_budget {
    enum adm_mode mode;
    unsigned limit;
};

/* Source addresses towards the MXs: one per address family, either may be missing. */
struct policy_outbound {
    int set;                          /* any */
    int have4, have6;
    struct sockaddr_storage a4, a6;
    socklen_t l4, l6;
};

struct policy_tenant {
    char name[ADM_NAME_MAX];
    uint64_t id;
    double weight;
    struct policy_outbound outbound;
    int destination_outbound_first; /* outbound-priority = destination */
    unsigned line;
};

struct policy_dest {
    char name[ADM_NAME_MAX];
    int have_budget;
    struct policy_budget budget;
    struct policy_outbound outbound;
    int have_tls;
    enum relay_tls_mode tls;          /* STARTTLS towards these MXs: none, may, verify */
    unsigned line;
};

struct policy_cidr {
    sa_family_t family;
    unsigned char bits;
    unsigned char addr[16];
    unsigned short section; /* index into tenants or dests */
    unsigned line;
};

struct policy {
    struct policy_budget dest_budget; /* destinations without a budget of their own */
    double hold_max;                  /* seconds a client may be held (0: the default) */
    int have_dest_budget;
    unsigned ntenants, ndests, ntmatch, ndmatch;
    struct policy_tenant tenants[POLICY_SECTIONS_MAX];
    struct policy_dest dests[POLICY_SECTIONS_MAX];
    struct policy_cidr *tmatch, *dmatch; /* POLICY_MATCH_MAX each */
};

/* What policy_lookup found for one session. */
struct policy_match {
    const struct policy_tenant *tenant; /* NULL: the client is a tenant of its own */
    const struct policy_dest *dest;     /* NULL: no destination section matched */
    uint64_t tenant_id;
    double weight;
    char tenant_name[ADM_NAME_MAX];     /* the section's name, or the client's address */
    struct policy_budget budget;        /* the destination's, or the default */
    const struct sockaddr_storage *outbound; /* for the destination's family; NULL: the
                                                proxy's --outbound-ip, if any */
    socklen_t outbound_len;
    char outbound_rule[ADM_NAME_MAX + 16]; /* "tenant NAME", "destination NAME" or "" */
    int have_tls;                       /* the destination section sets TLS */
    enum relay_tls_mode tls;
};

/* policy_init - an empty policy (no tenants, no destinations, no budget). */
int policy_init(struct policy *p);

/* policy_free - free what policy_init and policy_parse allocated. */
void policy_free(struct policy *p);

/* policy_budget_parse - "none", "auto" or a count 1..100000; 0, or -1 on bad text. */
int policy_budget_parse(const char *text, struct policy_budget *b);

/* policy_parse - read a policy from buf[0..len) (name is the file's, for errors) into an
 * initialized p; returns 0, or -1 with "name:line: what" in err. */
int policy_parse(struct policy *p, const char *name, const char *buf, size_t len, char *err,
                 size_t errlen);

/* policy_load - policy_parse of a file's contents; returns 0, or -1 with a reason. */
int policy_load(struct policy *p, const char *path, char *err, size_t errlen);

/* policy_lookup - the tenant, destination, budget and outbound address for a client at
 * client going to dst (a NULL p gives client-address tenants and no budget). */
void policy_lookup(const struct policy *p, const struct sockaddr *client, const struct sockaddr *dst,
                   struct policy_match *m);

/* policy_cidr_parse - "IP" or "IP/BITS" into c; 0, or -1 with a reason in err. */
int policy_cidr_parse(const char *text, struct policy_cidr *c, char *err, size_t errlen);

/* policy_cidr_match - whether sa is inside c. */
int policy_cidr_match(const struct policy_cidr *c, const struct sockaddr *sa);

#endif
