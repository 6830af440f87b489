/* admission - fair sharing of a destination's connection budget among tenants. Pure: the
 * proxy reports events (a client arrives, a connection ends, the MX refuses one at its
 * greeting) and gets decisions (admit now, hold, which held client goes next, whether a
 * tenant should hand a connection back). No I/O, no clock of its own, no allocation per
 * event once a destination knows its tenants. */
#ifndef PROXY_ADMISSION_H
#define PROXY_ADMISSION_H

#include <stdint.h>

#define ADM_NAME_MAX 64                       /* a tenant's name, for logs */
#define ADM_UNLIMITED 0xffffffffu             /* no budget (auto before the first refusal) */
#define ADM_SETTLE_US (2 * 1000000LL)         /* refusals this close are one burst: keep the max */
#define ADM_PROBE_QUIET_US (30 * 1000000LL)   /* no refusal this long, clients waiting: try one more */
#define ADM_TENANTS_MAX 4096                  /* tenants per destination */

/* A held client: owned by the caller (embedded in its own record), linked here. */
struct adm_waiter {
    struct adm_waiter *next, *prev; /* in its tenant's queue, oldest first */
    uint64_t tenant;                /* the tenant's id */
    int64_t since_us;               /* when it arrived (kept when it is held again) */
};

struct adm_tenant {
    uint64_t id;
    double weight;
    unsigned open, held;
    struct adm_waiter *head, *tail;
    char name[ADM_NAME_MAX];
};

enum adm_mode { ADM_MODE_NONE = 0, ADM_MODE_FIXED, ADM_MODE_AUTO };

struct adm_dest {
    enum adm_mode mode;
    unsigned ceiling;       /* FIXED: the configured budget; AUTO: ADM_UNLIMITED */
    unsigned limit;         /* the budget now: the ceiling, or less after a refusal */
    unsigned open;          /* admitted connections not yet released */
    unsigned ready;         /* of those, greeted by the MX (what a refusal teaches) */
    unsigned held;
    int64_t settle_until_us; /* refusals before this belong to the last burst */
    int64_t changed_us;      /* when the limit last changed */
    unsigned ntenants, cap;
    struct adm_tenant *tenants;
    /* counters */
    uint64_t admitted, held_total, refusals, probes, yields;
};

enum adm_decision { ADM_ADMIT = 0, ADM_HOLD, ADM_FULL };

/* adm_dest_init - a destination with no tenants yet; limit is the FIXED budget. */
void adm_dest_init(struct adm_dest *d, enum adm_mode mode, unsigned limit);

/* adm_dest_free - free the tenant table (held waiters must be gone). */
void adm_dest_free(struct adm_dest *d);

/* adm_dest_idle - nothing open, nothing held and nothing learned: the record can go. */
int adm_dest_idle(const struct adm_dest *d);

/* adm_set_budget - a new mode and budget (a reloaded policy); the learned limit is kept
 * when the mode stays AUTO, else the limit becomes the new ceiling. */
void adm_set_budget(struct adm_dest *d, enum adm_mode mode, unsigned limit);

/* adm_arrive - a client of tenant id (name and weight from the policy) wants a connection
 * at now_us: ADM_ADMIT (counted open), ADM_HOLD (w is queued; call adm_next when slots
 * free), or ADM_FULL (the tenant table is full or out of memory: refuse it). */
enum adm_decision adm_arrive(struct adm_dest *d, uint64_t id, const char *name, double weight,
                             struct adm_waiter *w, int64_t now_us);

/* adm_next - the held client that gets a free slot now (counted open), or NULL. The
 * waiting tenant with the fewest open connections per weight goes first; ties, the one
 * waiting longest. In AUTO (or below a FIXED ceiling) a quiet period raises the limit
 * by one while clients wait. */
struct adm_waiter *adm_next(struct adm_dest *d, int64_t now_us);

/* adm_cancel - a held client went away or timed out: forget it. */
void adm_cancel(struct adm_dest *d, struct adm_waiter *w);

/* adm_greeted - an admitted connection of tenant id got the MX's greeting; more greeted
 * at once than the limit raise the limit to their number (up to the ceiling). */
void adm_greeted(struct adm_dest *d, uint64_t id);

/* adm_release - an admitted connection ended (greeted: it had been greeted). */
void adm_release(struct adm_dest *d, uint64_t id, int greeted);

/* adm_refused - the MX refused an admitted, ungreeted connection of tenant id at its
 * greeting. If others were greeted, this is the destination's connection limit: the
 * limit becomes their number (the largest seen in one burst), w is held again at the
 * front of its tenant's queue, and 1 is returned. Otherwise the connection is released
 * and 0 returned: the refusal is not about connections, the client should hear it. */
int adm_refused(struct adm_dest *d, uint64_t id, struct adm_waiter *w, int64_t now_us);

/* adm_should_yield - whether tenant id should hand a connection back between messages:
 * another tenant waits that would still have no more than id after the move (max-min by
 * weight), or the destination is over its limit and id has the most per weight. */
int adm_should_yield(const struct adm_dest *d, uint64_t id);

/* adm_yielded - count a connection handed back (then adm_release it as usual). */
void adm_yielded(struct adm_dest *d);

/* adm_tenant_get - the tenant record for id, or NULL. */
const struct adm_tenant *adm_tenant_get(const struct adm_dest *d, uint64_t id);

#endif
