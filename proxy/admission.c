/* admission - fair sharing of a destination's connection budget among tenants: max-min
 * by weight over held queues, a budget learned from the MX's own refusals. */
#include <stdlib.h>
#include <string.h>

#include "admission.h"

#define EPS 1e-9

void adm_dest_init(struct adm_dest *d, enum adm_mode mode, unsigned limit)
{
    memset(d, 0, sizeof(*d));
    adm_set_budget(d, mode, limit);
}

void adm_dest_free(struct adm_dest *d)
{
    free(d->tenants);
    d->tenants = NULL;
    d->ntenants = d->cap = 0;
}

int adm_dest_idle(const struct adm_dest *d)
{
    return d->open == 0 && d->held == 0 && d->limit == d->ceiling;
}

void adm_set_budget(struct adm_dest *d, enum adm_mode mode, unsigned limit)
{
    unsigned ceiling = mode == ADM_MODE_FIXED ? (limit ? limit : 1) : ADM_UNLIMITED;

    if (mode == ADM_MODE_AUTO && d->mode == ADM_MODE_AUTO) {
        d->ceiling = ceiling; /* keep what was learned */
        return;
    }
    d->mode = mode;
    d->ceiling = d->limit = ceiling;
}

static struct adm_tenant *find(const struct adm_dest *d, uint64_t id)
{
    for (unsigned i = 0; i < d->ntenants; i++)
        if (d->tenants[i].id == id)
            return &d->tenants[i];
    return NULL;
}

const struct adm_tenant *adm_tenant_get(const struct adm_dest *d, uint64_t id)
{
    return find(d, id);
}

/* add - a new tenant record; NULL when the table is full or memory is out. */
static struct adm_tenant *add(struct adm_dest *d, uint64_t id, const char *name, double weight)
{
    if (d->ntenants == d->cap) {
        if (d->cap >= ADM_TENANTS_MAX)
            return NULL;
        unsigned cap = d->cap ? d->cap * 2 : 4;
        struct adm_tenant *t = realloc(d->tenants, cap * sizeof(*t));
        if (t == NULL)
            return NULL;
        d->tenants = t;
        d->cap = cap;
    }
    struct adm_tenant *t = &d->tenants[d->ntenants++];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->weight = weight > 0 ? weight : 1;
    if (name) {
        strncpy(t->name, name, sizeof(t->name) - 1);
        t->name[sizeof(t->name) - 1] = 0;
    }
    return t;
}

/* drop_if_idle - forget a tenant with nothing open or held (waiters name tenants by id,
 * so moving the last record into its place breaks nothing). */
static void drop_if_idle(struct adm_dest *d, struct adm_tenant *t)
{
    if (t->open || t->held)
        return;
    *t = d->tenants[--d->ntenants];
}

static int has_room(const struct adm_dest *d)
{
    return d->mode == ADM_MODE_NONE || d->open < d->limit;
}

static void enqueue(struct adm_dest *d, struct adm_tenant *t, struct adm_waiter *w, int front)
{
    w->tenant = t->id;
    if (front) {
        w->prev = NULL;
        w->next = t->head;
        if (t->head)
            t->head->prev = w;
        else
            t->tail = w;
        t->head = w;
    } else {
        w->next = NULL;
        w->prev = t->tail;
        if (t->tail)
            t->tail->next = w;
        else
            t->head = w;
        t->tail = w;
    }
    t->held++;
    d->held++;
}

static void unlink_waiter(struct adm_dest *d, struct adm_tenant *t, struct adm_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        t->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        t->tail = w->prev;
    w->next = w->prev = NULL;
    t->held--;
    d->held--;
}

enum adm_decision adm_arrive(struct adm_dest *d, uint64_t id, const char *name, double weight,
                             struct adm_waiter *w, int64_t now_us)
{
    struct adm_tenant *t = find(d, id);

    if (t == NULL && (t = add(d, id, name, weight)) == NULL)
        return ADM_FULL;
    if (weight > 0)
        t->weight = weight;
    if (d->held == 0 && has_room(d)) {
        t->open++;
        d->open++;
        d->admitted++;
        return ADM_ADMIT;
    }
    w->since_us = now_us;
    enqueue(d, t, w, 0);
    d->held_total++;
    return ADM_HOLD;
}

/* better - whether waiting tenant a goes before b: fewer open per weight, then older. */
static int better(const struct adm_tenant *a, const struct adm_tenant *b)
{
    double ra = a->open / a->weight, rb = b->open / b->weight;

    if (ra < rb - EPS)
        return 1;
    if (ra > rb + EPS)
        return 0;
    return a->head->since_us < b->head->since_us;
}

struct adm_waiter *adm_next(struct adm_dest *d, int64_t now_us)
{
    if (d->held == 0)
        return NULL;
    if (!has_room(d)) {
        if (d->limit >= d->ceiling || now_us - d->changed_us < ADM_PROBE_QUIET_US)
            return NULL;
        d->limit++; /* quiet for long enough: see whether the MX takes one more */
        d->changed_us = now_us;
        d->probes++;
        if (!has_room(d))
            return NULL;
    }
    struct adm_tenant *best = NULL;
    for (unsigned i = 0; i < d->ntenants; i++) {
        struct adm_tenant *t = &d->tenants[i];
        if (t->held && (best == NULL || better(t, best)))
            best = t;
    }
    struct adm_waiter *w = best->head;
    unlink_waiter(d, best, w);
    best->open++;
    d->open++;
    d->admitted++;
    return w;
}

void adm_cancel(struct adm_dest *d, struct adm_waiter *w)
{
    struct adm_tenant *t = find(d, w->tenant);

    if (t == NULL)
        return;
    unlink_waiter(d, t, w);
    drop_if_idle(d, t);
}

void adm_greeted(struct adm_dest *d, uint64_t id)
{
    (void)id;
    d->ready++;
    /* the MX greeted this many at once: its limit is at least that (a refusal that came
     * before the others' greetings were read taught too low a number) */
    if (d->mode != ADM_MODE_NONE && d->ready > d->limit)
        d->limit = d->ready < d->ceiling ? d->ready : d->ceiling;
}

void adm_release(struct adm_dest *d, uint64_t id, int greeted)
{
    struct adm_tenant *t = find(d, id);

    if (greeted && d->ready)
        d->ready--;
    if (d->open)
        d->open--;
    if (t == NULL)
        return;
    if (t->open)
        t->open--;
    drop_if_idle(d, t);
}

int adm_refused(struct adm_dest *d, uint64_t id, struct adm_waiter *w, int64_t now_us)
{
    struct adm_tenant *t = find(d, id);
    unsigned k = d->ready;

    d->refusals++;
    if (t == NULL || k == 0 || d->mode == ADM_MODE_NONE) {
        adm_release(d, id, 0);
        return 0;
    }
    t->open--;
    d->open--;
    if (now_us < d->settle_until_us) {
        if (k > d->limit) /* the same burst: the largest number greeted is the limit */
            d->limit = k;
    } else {
        d->limit = k;
        d->settle_until_us = now_us + ADM_SETTLE_US;
    }
    if (d->limit > d->ceiling)
        d->limit = d->ceiling;
    d->changed_us = now_us;
    enqueue(d, t, w, 1);
    return 1;
}

int adm_should_yield(const struct adm_dest *d, uint64_t id)
{
    const struct adm_tenant *t = find(d, id);

    if (t == NULL || t->open == 0 || d->held == 0)
        return 0;
    double mine = t->open / t->weight;
    if (d->open > d->limit) { /* over budget (it was lowered): the largest share gives back */
        for (unsigned i = 0; i < d->ntenants; i++)
            if (d->tenants[i].open / d->tenants[i].weight > mine + EPS)
                return 0;
        return 1;
    }
    double after = (t->open - 1) / t->weight;
    for (unsigned i = 0; i < d->ntenants; i++) {
        const struct adm_tenant *u = &d->tenants[i];
        if (u != t && u->held && (u->open + 1) / u->weight <= after + EPS)
            return 1;
    }
    return 0;
}

void adm_yielded(struct adm_dest *d)
{
    d->yields++;
}
