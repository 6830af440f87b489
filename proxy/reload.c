/* reload - putting a policy to use: the TLS contexts its destinations need, the budgets
 * of destinations already known, and reading it again on SIGHUP. A session takes what it
 * needs from the policy when it starts (tenant, outbound address, TLS mode), so swapping
 * the policy never changes a session in flight. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "proxy.h"
#include "tls.h"

int proxy_tls_prepare(struct proxy *p, const struct policy *pol, char *err, size_t errlen)
{
    int want[RELAY_TLS_VERIFY + 1] = {0};

    want[p->tls_mode] = 1;
    for (unsigned i = 0; pol && i < pol->ndests; i++)
        if (pol->dests[i].have_tls)
            want[pol->dests[i].tls] = 1;
    for (int m = RELAY_TLS_MAY; m <= RELAY_TLS_VERIFY; m++)
        if (want[m] && p->tls[m] == NULL) {
            if ((p->tls[m] = tls_client_ctx_new(m == RELAY_TLS_VERIFY, err, errlen)) == NULL)
                return -1;
            if (m == RELAY_TLS_VERIFY && p->tls_ca[0] && tls_client_ctx_ca(p->tls[m], p->tls_ca, err, errlen) != 0)
                return -1;
        }
    return 0;
}

/* budget_for - the budget a destination record has under pol: its section's, or the
 * default (the policy's dest-limit, else --dest-limit). */
static struct policy_budget budget_for(const struct proxy *p, const struct policy *pol, const char *key)
{
    size_t n = strlen(key);

    if (pol && key[0] == '[' && n > 2)
        for (unsigned i = 0; i < pol->ndests; i++)
            if (pol->dests[i].have_budget && strlen(pol->dests[i].name) == n - 2 &&
                strncmp(pol->dests[i].name, key + 1, n - 2) == 0)
                return pol->dests[i].budget;
    if (pol && pol->have_dest_budget)
        return pol->dest_budget;
    return p->dest_budget;
}

void proxy_policy_use(struct proxy *p, struct policy *pol)
{
    struct policy *old = p->policy;

    p->policy = pol;
    p->hold_max = pol && pol->hold_max > 0 ? pol->hold_max : p->hold_max_arg;
    p->admission = (pol && pol->have_dest_budget ? pol->dest_budget.mode : p->dest_budget.mode) != ADM_MODE_NONE;
    for (unsigned i = 0; pol && i < pol->ndests; i++)
        if (pol->dests[i].have_budget && pol->dests[i].budget.mode != ADM_MODE_NONE)
            p->admission = 1;
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (struct proxy_dest *d = p->dests[i], *next; d; d = next) {
            next = d->next;
            struct policy_budget b = budget_for(p, pol, d->key);
            adm_set_budget(&d->adm, b.mode, b.limit);
            proxy_dest_refresh(p, d); /* room now: held clients go; an idle record goes */
        }
    if (old && old != pol) {
        policy_free(old);
        free(old);
    }
}

void proxy_policy_reload(struct proxy *p)
{
    struct policy *n = NULL;
    char err[1024];
    int ok = 0;

    if (p->policy_path[0] == 0)
        return;
    if ((n = malloc(sizeof(*n))) == NULL || policy_init(n) != 0)
        snprintf(err, sizeof(err), "%.900s: out of memory", p->policy_path);
    else if (policy_load(n, p->policy_path, err, sizeof(err)) == 0 &&
             proxy_tls_prepare(p, n, err, sizeof(err)) == 0)
        ok = 1;
    if (!ok) {
        p->reload_errors++;
        fprintf(stderr, "proxy: SIGHUP: policy not reloaded, the old one stays: %s\n", err);
        if (n) {
            policy_free(n);
            free(n);
        }
    } else {
        p->reloads++;
        proxy_policy_use(p, n);
    }
    if (!p->have_log)
        return;
    proxy_log_begin(p, "policy", 0);
    json_cstr(&p->jw, "file", p->policy_path);
    json_bool(&p->jw, "reloaded", ok);
    if (ok) {
        json_uint(&p->jw, "tenants", p->policy->ntenants);
        json_uint(&p->jw, "destinations", p->policy->ndests);
    } else {
        json_cstr(&p->jw, "error", err);
    }
    proxy_log_end(p);
}
