/* hold - admission's I/O side: destination records, clients held before their greeting
 * (a socket, a read watcher that notices them leaving, a few hundred bytes), the tick that
 * expires them after --hold-max and lets a quiet destination probe for one more slot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "hash.h"
#include "proxy.h"
#include "workers.h"

static const char HOLD_EXPIRED[] = "421 4.4.5 proxy: the destination is at its connection limit, try again later\r\n";

/* ---- destination records ------------------------------------------------------------ */

static unsigned bucket(const char *key)
{
    return hash_str(key) % PROXY_DEST_BUCKETS;
}

/* dest_get - the record for key with budget b (made, or its budget updated); NULL when
 * there are too many records or no memory. */
static struct proxy_dest *dest_get(struct proxy *p, const char *key, const struct policy_budget *b)
{
    unsigned i = bucket(key);

    for (struct proxy_dest *d = p->dests[i]; d; d = d->next)
        if (strcmp(d->key, key) == 0) {
            if (d->adm.mode != b->mode || (b->mode == ADM_MODE_FIXED && d->adm.ceiling != b->limit))
                adm_set_budget(&d->adm, b->mode, b->limit);
            return d;
        }
    if (p->ndests >= PROXY_DESTS_MAX)
        return NULL;
    struct proxy_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    snprintf(d->key, sizeof(d->key), "%s", key);
    adm_dest_init(&d->adm, b->mode, b->limit);
    d->logged_limit = d->adm.limit;
    d->next = p->dests[i];
    p->dests[i] = d;
    p->ndests++;
    return d;
}

/* dest_put - free the record if nothing is open, held or learned. */
static void dest_put(struct proxy *p, struct proxy_dest *d)
{
    if (!adm_dest_idle(&d->adm))
        return;
    for (struct proxy_dest **pp = &p->dests[bucket(d->key)]; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            adm_dest_free(&d->adm);
            free(d);
            p->ndests--;
            return;
        }
}

static const char *mode_name(enum adm_mode m)
{
    return m == ADM_MODE_AUTO ? "auto" : m == ADM_MODE_FIXED ? "fixed" : "none";
}

void proxy_dest_log(struct proxy *p, struct proxy_dest *d, const char *why)
{
    if (d->adm.limit == d->logged_limit)
        return;
    unsigned was = d->logged_limit;
    d->logged_limit = d->adm.limit;
    if (!p->have_log)
        return;
    proxy_log_begin(p, "dest_limit", 0);
    json_cstr(&p->jw, "dest", d->key);
    json_cstr(&p->jw, "mode", mode_name(d->adm.mode));
    if (was != ADM_UNLIMITED)
        json_uint(&p->jw, "was", was);
    json_uint(&p->jw, "limit", d->adm.limit);
    json_cstr(&p->jw, "why", why);
    json_uint(&p->jw, "open", d->adm.open);
    json_uint(&p->jw, "held", d->adm.held);
    proxy_log_end(p);
}

/* ---- held clients ------------------------------------------------------------------- */

static void held_unlink(struct proxy *p, struct proxy_held *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        p->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    p->nheld--;
    ev_io_stop(p->loop, &h->io);
    if (p->nheld == 0)
        ev_timer_stop(p->loop, &p->hold_timer);
}

/* held_drop - a held client leaves the queue for good: answered and closed by the caller. */
static void held_drop(struct proxy *p, struct proxy_held *h)
{
    struct proxy_dest *d = h->dest;

    held_unlink(p, h);
    adm_cancel(&d->adm, &h->w);
    free(h);
    dest_put(p, d);
}

static void log_held(struct proxy *p, const struct proxy_held *h, const char *event, int64_t now)
{
    char client[ADDR_TEXT_MAX], dst[ADDR_TEXT_MAX];

    if (!p->have_log)
        return;
    addr_format((const struct sockaddr *)&h->peer, client, sizeof(client), 1);
    addr_format((const struct sockaddr *)&h->dst, dst, sizeof(dst), 1);
    proxy_log_begin(p, event, 0);
    json_cstr(&p->jw, "client", client);
    json_cstr(&p->jw, "dst", dst);
    json_cstr(&p->jw, "dest", h->dest->key);
    json_double(&p->jw, "held_ms", (double)(now - h->w.since_us) / 1000.0, 3);
    proxy_log_end(p);
}

/* held_io - a held client sent something: EOF or an error means it left. Data before the
 * greeting is left in the socket for the session; the watcher stops (the tick still
 * bounds the wait). */
static void held_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct proxy_held *h = w->data;
    struct proxy *p = h->p;
    char c;
    ssize_t n = recv(h->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    (void)revents;
    if (n > 0) {
        ev_io_stop(loop, w);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    p->held_gone++;
    log_held(p, h, "held_gone", clock_realtime_us());
    close(h->fd);
    held_drop(p, h);
}

/* hold_tick - expire clients held past --hold-max; reclaim idle connections; let
 * destinations probe and admit. */
static void hold_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *p = w->data;
    int64_t now = clock_realtime_us();
    int64_t max_us = (int64_t)(p->hold_max * 1e6);

    (void)loop;
    (void)revents;
    for (struct proxy_held *h = p->held, *next; h; h = next) {
        next = h->next;
        if (now - h->w.since_us < max_us)
            continue;
        p->hold_expired++;
        h->dest->expired++;
        log_held(p, h, "hold_expired", now);
        proxy_refuse(h->fd, HOLD_EXPIRED);
        held_drop(p, h);
    }
    proxy_reclaim_idle(p, now);
    for (unsigned i = 0; i < PROXY_DEST_BUCKETS; i++)
        for (struct proxy_dest *d = p->dests[i], *next; d; d = next) {
            next = d->next; /* proxy_pump may start sessions, never free d */
            if (d->adm.held)
                proxy_pump(p, d);
        }
}

struct proxy_held *proxy_held_new(struct proxy *p, struct proxy_dest *dest, int fd,
                                  const struct sockaddr_storage *peer,
                                  const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us)
{
    struct proxy_held *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->p = p;
    h->dest = dest;
    h->fd = fd;
    h->start_us = start_us;
    h->peer = *peer;
    memcpy(&h->dst, dst, dlen);
    h->dlen = dlen;
    return h;
}

/* held_link - h is in its tenant's queue: watch it and count it. */
static void held_link(struct proxy *p, struct proxy_held *h)
{
    ev_io_init(&h->io, held_io, h->fd, EV_READ);
    h->io.data = h;
    ev_io_start(p->loop, &h->io);
    h->prev = NULL;
    h->next = p->held;
    if (p->held)
        p->held->prev = h;
    p->held = h;
    if (p->nheld++ == 0) {
        ev_timer_init(&p->hold_timer, hold_tick, PROXY_HOLD_TICK, PROXY_HOLD_TICK);
        p->hold_timer.data = p;
        ev_timer_start(p->loop, &p->hold_timer);
    }
}

void proxy_rehold(struct proxy *p, struct proxy_held *h, int fd)
{
    h->fd = fd;
    p->rehelds++;
    held_link(p, h);
}

/* ---- admission ---------------------------------------------------------------------- */

void proxy_pump(struct proxy *p, struct proxy_dest *d)
{
    int64_t now = clock_realtime_us();
    struct adm_waiter *w;

    while (!p->stopping && (w = adm_next(&d->adm, now)) != NULL) {
        struct proxy_held *h = (struct proxy_held *)w;
        struct proxy_admit a = {d, w->tenant, now - h->start_us, "held"};
        held_unlink(p, h);
        proxy_session_start(p, h->fd, &h->peer, &h->dst, h->dlen, h->start_us, &a);
        free(h);
    }
    proxy_dest_log(p, d, d->adm.probes > d->probes_logged ? "probe: quiet, clients waiting" : "changed");
    d->probes_logged = d->adm.probes;
}

void proxy_dest_refresh(struct proxy *p, struct proxy_dest *d)
{
    proxy_pump(p, d);
    dest_put(p, d);
}

void proxy_dest_done(struct proxy *p, struct proxy_dest *d, uint64_t tenant, int greeted)
{
    adm_release(&d->adm, tenant, greeted);
    proxy_dest_refresh(p, d);
}

void proxy_admission(struct proxy *p, int fd, const struct sockaddr_storage *peer,
                     const struct sockaddr_storage *dst, socklen_t dlen, int64_t start_us)
{
    struct policy_match m;
    char key[sizeof(((struct proxy_dest *)0)->key)];

    policy_lookup(p->policy, (const struct sockaddr *)peer, (const struct sockaddr *)dst, &m);
    if (!(m.dest && m.dest->have_budget) && !(p->policy && p->policy->have_dest_budget))
        m.budget = p->dest_budget;
    if (m.budget.mode == ADM_MODE_NONE) {
        struct proxy_admit a = {NULL, m.tenant_id, 0, "direct"};
        proxy_session_start(p, fd, peer, dst, dlen, start_us, &a);
        return;
    }
    if (p->nworkers > 1 && p->worker != 0) { /* one scheduler sees every tenant */
        worker_handoff(p, fd, peer, dst, dlen, start_us);
        return;
    }
    if (m.dest)
        snprintf(key, sizeof(key), "[%s]", m.dest->name);
    else
        addr_format((const struct sockaddr *)dst, key, sizeof(key), 1);
    struct proxy_dest *d = dest_get(p, key, &m.budget);
    if (d == NULL) { /* out of records: relay without a budget rather than refuse */
        struct proxy_admit a = {NULL, m.tenant_id, 0, "direct"};
        proxy_session_start(p, fd, peer, dst, dlen, start_us, &a);
        return;
    }
    struct proxy_held *h = NULL;
    if (d->adm.held || (d->adm.mode != ADM_MODE_NONE && d->adm.open >= d->adm.limit)) {
        h = proxy_held_new(p, d, fd, peer, dst, dlen, start_us);
        if (h == NULL) {
            dest_put(p, d);
            proxy_refuse(fd, HOLD_EXPIRED);
            return;
        }
    }
    switch (adm_arrive(&d->adm, m.tenant_id, m.tenant_name, m.weight, h ? &h->w : NULL, start_us)) {
    case ADM_ADMIT: {
        struct proxy_admit a = {d, m.tenant_id, 0, "admitted"};
        free(h);
        proxy_session_start(p, fd, peer, dst, dlen, start_us, &a);
        return;
    }
    case ADM_HOLD:
        p->held_total++;
        held_link(p, h);
        proxy_pump(p, d); /* a quiet destination may take one more */
        return;
    case ADM_FULL:
        break;
    }
    free(h);
    dest_put(p, d);
    proxy_refuse(fd, HOLD_EXPIRED);
}

void proxy_hold_stop(struct proxy *p)
{
    while (p->held) {
        struct proxy_held *h = p->held;
        proxy_refuse(h->fd, "421 4.3.2 proxy: shutting down\r\n");
        held_drop(p, h);
    }
}
