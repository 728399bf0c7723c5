/* SPDX-License-Identifier: MIT */
/* The DER coordination market day (papers 001/002): DER, DERA, DSO and ISO
 * agents and the feeder as federates of the co-simulation, the agents on
 * the ledger through their clients. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "report/report.h"
#include "sim_int.h"

#define MS      60000 /* one simulated minute in kernel time units (ms) */
#define HOP     1     /* a message's transit time, ms */
#define DERA_ID "operator"

struct day;

struct der_fed {
    struct day *d;
    size_t i; /* index in sc->ders */
    int id, dera;
};

struct dera_fed {
    struct day *d;
    size_t i; /* index in sc->deras */
    int id;
    struct mk_client *cli;
    struct mk_bid collect;    /* entries received for the next bid */
    struct mk_bid feasible;   /* the reviewed bid of the interval */
    char uid[MK_UID_MAX + 1]; /* bid of the interval in flight */
    int64_t interval;
};

struct dso_fed {
    struct day *d;
    int id;
    struct mk_client *cli;
    struct mk_dso dso;
    char queue[SIM_MAX_DERAS][MK_UID_MAX + 1]; /* bids to review */
    size_t nq;
};

struct offer {
    int dera;
    struct mk_step step;
};

struct iso_fed {
    struct day *d;
    int id;
    struct mk_client *cli;
    struct offer *offers;
    size_t n, cap;
};

struct ivder { /* one DER in one interval */
    double bid_kw, price, feasible_kw, awarded_kw;
    bool bid;
};

struct ivrow { /* one interval */
    double vmax_before, vmax_after, vmin_before, vmin_after, curtailed_kw;
    double price, cleared_kw, bid_kw;
    double curtailed_other_kw; /* by the DSO method not chosen */
    bool reviewed;
};

struct lat {
    double *ms;
    size_t n, cap;
};

struct day {
    const struct sim_scenario *sc;
    const struct sim_day_env *env;
    char *errmsg;
    struct sim *sim;
    int64_t period;
    struct pf_model *feeder, *dso_model;
    float *noise; /* [ncustomers][1440] relative load variation */
    int *cust_feeder, *cust_dso; /* customer of each load, or -1 */
    size_t nnodes;
    size_t *node_of;  /* feeder node index of each recorded node */
    float *volt;      /* [minutes][nnodes] pu */
    float *disp;      /* [minutes][nders] kW */
    float *avail;     /* [minutes][nders] kW the PV could have made */
    double *setpoint; /* [intervals][nders] dispatched kW */
    struct ivder *iv; /* [intervals][nders] */
    struct ivrow *rows;
    struct der_fed *ders;
    struct dera_fed *deras;
    struct dso_fed dso;
    struct iso_fed iso;
    int feeder_id;
    struct lat store, retrieve;
    struct sim_day_summary *sum;
    const char *der_names[SIM_MAX_DERS], *der_buses[SIM_MAX_DERS];
    const char *skip[SIM_MAX_SKIP];
    struct sc_der registry[SIM_MAX_DERS]; /* as the DERAs read it back */
    /* Submissions nobody waits for (dispatch records). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t in_flight;
    int async_code;
    char async_reason[LG_REASON_MAX + 1];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int lat_add(struct lat *l, double ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        double *p = base_realloc(l->ms, cap * sizeof *p);
        if (p == NULL) {
            return BASE_ENOMEM;
        }
        l->ms = p;
        l->cap = cap;
    }
    l->ms[l->n++] = ms;
    return 0;
}

static void lat_stats(struct lat *l, double *p50, double *p99, double *max)
{
    *p50 = *p99 = *max = 0;
    if (l->n == 0) {
        return;
    }
    qsort(l->ms, l->n, sizeof *l->ms, sim__cmp_double);
    *p50 = l->ms[(l->n - 1) / 2];
    *p99 = l->ms[(size_t)ceil(0.99 * (double)l->n) - 1];
    *max = l->ms[l->n - 1];
}

static int fail(struct day *d, int code, const char *fmt, ...)
    BASE_PRINTF(3, 4);
static int fail(struct day *d, int code, const char *fmt, ...)
{
    if (d->errmsg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->errmsg, BASE_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- loads ----------------------------------------------------------------
 * Each customer follows its profile, scaled, with its own variation; the
 * DSO forecasts loads exactly (the check is about DER injections), so the
 * same function drives the feeder and the DSO's model. */

static double profile_at(const struct sim_profile *p, int minute)
{
    double h = (minute + 0.5) / 60.0;
    int i = (int)floor(h - 0.5);
    double f = h - 0.5 - i;
    int a = (i + 24) % 24, b = (i + 25) % 24;
    return p->hourly[a] * (1 - f) + p->hourly[b] * f;
}

static double load_mult(const struct day *d, int cust, int minute)
{
    const struct sim_scenario *sc = d->sc;
    if (cust < 0) {
        return sc->default_profile >= 0
                   ? profile_at(&sc->profiles[sc->default_profile], minute)
                   : 1.0;
    }
    const struct sim_customer *c = &sc->customers[cust];
    double m =
        c->scale * profile_at(&sc->profiles[c->profile], minute) *
        (1.0 + c->noise * d->noise[(size_t)cust * 1440 + (size_t)minute]);
    return m > 0 ? m : 0;
}

static int map_customers(struct day *d, struct pf_model *m, int **out)
{
    size_t n = pf_load_count(m);
    int *map = base_calloc(n ? n : 1, sizeof *map);
    if (map == NULL) {
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct pf_load l;
        map[i] = -1;
        if (pf_load_get(m, i, &l) != 0) {
            continue;
        }
        for (size_t c = 0; c < d->sc->ncustomers; c++) {
            const char *name = d->sc->customers[c].load;
            if (strncasecmp(name, "load.", 5) == 0) {
                name += 5;
            }
            if (strcasecmp(name, l.name) == 0) {
                map[i] = (int)c;
            }
        }
    }
    *out = map;
    return 0;
}

static int set_loads(struct day *d, struct pf_model *m, const int *map,
                     int minute)
{
    size_t n = pf_load_count(m);
    for (size_t i = 0; i < n; i++) {
        struct pf_load l;
        int rv = pf_load_get(m, i, &l);
        rv =
            rv ? rv : pf_load_set_mult(m, l.name, load_mult(d, map[i], minute));
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int dso_loads(void *arg, struct pf_model *m, int minute)
{
    struct day *d = arg;
    return set_loads(d, m, d->cust_dso, minute);
}

static void make_noise(struct day *d)
{
    /* A slow random walk per customer, from the scenario seed. */
    uint64_t s = d->sc->seed * 0x9e3779b97f4a7c15ull + 12345;
    for (size_t c = 0; c < d->sc->ncustomers; c++) {
        double x = 0;
        for (int m = 0; m < 1440; m++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            x = 0.97 * x + 0.35 * u;
            d->noise[c * 1440 + (size_t)m] = (float)(x < -1  ? -1
                                                     : x > 1 ? 1
                                                             : x);
        }
    }
}

/* ---- DER -------------------------------------------------------------------
 */

static int64_t interval_of(const struct day *d, int64_t t, int64_t lead)
{
    return (t + lead) / d->period;
}

static int der_step(void *self, struct sim *s, int64_t t)
{
    struct der_fed *f = self;
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    int64_t k = interval_of(d, t, d->period * 16 / 60);
    if (k < 0 || k >= sc->intervals) {
        return 0;
    }
    const struct mk_der *der = &sc->ders[f->i].der;
    int start = (int)k * sc->interval_min;
    int now = (int)(t / MS);
    double fc =
        mk_der_forecast(der, start, sc->interval_min, now < 0 ? 0 : now);
    if (fc < 0.001) {
        return 0; /* nothing to offer (night) */
    }
    int hour = (start + sc->interval_min / 2) / 60;
    struct mk_entry e;
    mk_der_bid(der, fc, sc->price_forecast[hour % 24], &e);
    return sim_send(s, f->id, d->deras[f->dera].id, t + HOP, "bid", &e,
                    sizeof e);
}

struct dispatch_msg {
    int64_t interval;
    double kw;
    size_t der;
};

static int der_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    struct der_fed *f = self;
    if (strcmp(m->topic, "dispatch") != 0 ||
        m->len != sizeof(struct dispatch_msg)) {
        return 0;
    }
    /* The DER follows its set-point: it tells the feeder (the physical
     * world) what it will produce at most. */
    return sim_send(s, f->id, f->d->feeder_id, m->t + HOP, "setpoint", m->data,
                    m->len);
}

/* ---- DERA ------------------------------------------------------------------
 */

static const struct sim_der *der_by_id(const struct sim_scenario *sc,
                                       const char *id, size_t *idx)
{
    for (size_t i = 0; i < sc->nders; i++) {
        if (strcmp(sc->ders[i].der.id, id) == 0) {
            if (idx != NULL) {
                *idx = i;
            }
            return &sc->ders[i];
        }
    }
    return NULL;
}

static int dera_deliver_bid(struct dera_fed *f, const struct sim_msg *m)
{
    if (m->len != sizeof(struct mk_entry)) {
        return 0;
    }
    return mk_bid_add(&f->collect, m->data);
}

/* The DERA's validation (paper 001): the DER is registered with this DERA,
 * qualified, and offers no more than its qualified capacity. */
static bool dera_valid(struct dera_fed *f, const struct mk_entry *e)
{
    struct day *d = f->d;
    size_t j;
    const struct sc_der *r = NULL;
    if (der_by_id(d->sc, e->der, &j) != NULL) {
        r = &d->registry[j];
    }
    bool ok = r != NULL && strcmp(r->dera, d->sc->deras[f->i]) == 0 &&
              strcmp(r->status, "qualified") == 0 && e->kw > 0 &&
              e->kw <= r->qualified_kw + 1e-9;
    if (!ok) {
        d->sum->refused_entries++;
        BASE_DEBUG("sim", "%s refuses %s's entry of %.3f kW",
                   d->sc->deras[f->i], e->der, e->kw);
    }
    return ok;
}

/* Each DERA reads back, from the ledger, what the DSO made of its DERs:
 * the registry records are what it validates bids against. */
static int read_registry(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    struct base_buf out;
    base_buf_init(&out, 0);
    int rv = 0;
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        struct dera_fed *f = &d->deras[d->ders[j].dera];
        const char *id = sc->ders[j].der.id;
        struct lg_slice arg = {(const uint8_t *)id, strlen(id)};
        char reason[LG_REASON_MAX + 1];
        base_buf_reset(&out);
        rv = mk_evaluate(f->cli, "registry", "read", 1, &arg, &out, reason);
        if (rv == 0) {
            rv = sc_der_parse(out.data, out.len, &d->registry[j]);
        }
        if (rv != 0) {
            rv = fail(d, rv, "%s cannot read DER %s from the registry: %s",
                      sc->deras[f->i], id, reason);
        }
    }
    base_buf_release(&out);
    return rv;
}

static int dera_step(void *self, struct sim *s, int64_t t)
{
    struct dera_fed *f = self;
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    int64_t k = interval_of(d, t, d->period * 12 / 60);
    struct mk_bid b;
    mk_bid_init(&b);
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < f->collect.n; i++) {
        if (dera_valid(f, &f->collect.e[i])) {
            rv = mk_bid_add(&b, &f->collect.e[i]);
        }
    }
    mk_bid_release(&f->collect);
    if (rv != 0 || k < 0 || k >= sc->intervals || b.n == 0) {
        mk_bid_release(&b);
        return rv;
    }
    /* Bid uids are canonical identifiers: lowercase ("dera1-rt-3"). */
    snprintf(b.uid, sizeof b.uid, "%s-%s-%lld", sc->deras[f->i], sc->market,
             (long long)k);
    for (char *c = b.uid; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    snprintf(b.dera, sizeof b.dera, "%s", sc->deras[f->i]);
    snprintf(b.market, sizeof b.market, "%s", sc->market);
    b.interval = k;
    for (size_t i = 0; i < b.n; i++) {
        size_t j;
        if (der_by_id(sc, b.e[i].der, &j) != NULL) {
            struct ivder *iv = &d->iv[(size_t)k * sc->nders + j];
            iv->bid = true;
            iv->bid_kw = b.e[i].kw;
            iv->price = b.e[i].price;
        }
    }
    d->rows[k].bid_kw += mk_bid_kw(&b);
    struct mk_result res;
    double t0 = now_ms();
    rv = mk_bid_create(f->cli, &b, &res);
    double ms = now_ms() - t0;
    if (rv != 0) {
        rv = fail(d, rv, "%s: bid %s refused: %s", sc->deras[f->i], b.uid,
                  res.reason);
    } else {
        d->sum->bids++;
        rv = lat_add(&d->store, ms);
    }
    if (rv == 0) {
        snprintf(f->uid, sizeof f->uid, "%s", b.uid);
        f->interval = k;
        rv = sim_send(s, f->id, d->dso.id, t + HOP, "review", b.uid,
                      strlen(b.uid) + 1);
    }
    mk_bid_release(&b);
    return rv;
}

static void async_done(void *arg, const struct mk_result *r)
{
    struct day *d = arg;
    pthread_mutex_lock(&d->mu);
    if (r->code != 0 && d->async_code == 0) {
        d->async_code = r->code;
        snprintf(d->async_reason, sizeof d->async_reason, "%s", r->reason);
    }
    d->in_flight--;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static int async_submit(struct day *d, struct mk_client *c,
                        const char *contract, const char *fn, uint32_t n,
                        const struct lg_slice *args)
{
    pthread_mutex_lock(&d->mu);
    d->in_flight++;
    pthread_mutex_unlock(&d->mu);
    int rv = mk_submit_async(c, contract, fn, n, args, async_done, d);
    if (rv != 0) {
        pthread_mutex_lock(&d->mu);
        d->in_flight--;
        pthread_mutex_unlock(&d->mu);
        return fail(d, rv, "%s: %s.%s not submitted: %s", c->identity, contract,
                    fn, base_strerror(rv));
    }
    return 0;
}

/* Wait for every asynchronous submission; the first failure fails the run. */
static int async_wait(struct day *d)
{
    pthread_mutex_lock(&d->mu);
    while (d->in_flight > 0) {
        pthread_cond_wait(&d->cv, &d->mu);
    }
    int rv = d->async_code;
    pthread_mutex_unlock(&d->mu);
    if (rv != 0) {
        return fail(d, rv, "a ledger transaction failed: %s", d->async_reason);
    }
    return 0;
}

/* Retrieve a bid, timing it, and insist that it is intact. */
static int retrieve(struct day *d, struct mk_client *c, const char *uid,
                    struct mk_bid_view *v)
{
    double t0 = now_ms();
    int rv = mk_bid_retrieve(c, uid, v);
    double ms = now_ms() - t0;
    d->sum->retrievals++;
    if (rv != 0) {
        return fail(d, rv, "%s cannot retrieve bid %s: %s", c->identity, uid,
                    v->reason);
    }
    rv = lat_add(&d->retrieve, ms);
    if (rv == 0 && !v->intact) {
        d->sum->tampered++;
        rv = fail(d, BASE_ECORRUPT, "bid %s: %s", uid, v->reason);
    }
    return rv;
}

static int dera_reviewed(struct dera_fed *f, struct sim *s,
                         const struct sim_msg *m)
{
    struct day *d = f->d;
    struct mk_bid_view v;
    int rv = retrieve(d, f->cli, (const char *)m->data, &v);
    if (rv != 0) {
        mk_bid_view_release(&v);
        return rv;
    }
    mk_bid_release(&f->feasible);
    f->feasible = v.bid; /* take it over */
    memset(&v.bid, 0, sizeof v.bid);
    mk_bid_view_release(&v);
    const struct sim_scenario *sc = d->sc;
    for (size_t i = 0; i < f->feasible.n; i++) {
        size_t j;
        if (der_by_id(sc, f->feasible.e[i].der, &j) != NULL) {
            d->iv[(size_t)f->interval * sc->nders + j].feasible_kw =
                f->feasible.e[i].kw;
        }
    }
    struct mk_step *steps = base_calloc(f->feasible.n + 1, sizeof *steps);
    if (steps == NULL) {
        return BASE_ENOMEM;
    }
    size_t n = mk_dera_offer(&f->feasible, steps);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        struct offer o = {(int)f->i, steps[i]};
        rv = sim_send(s, f->id, d->iso.id, m->t + HOP, "offer", &o, sizeof o);
    }
    base_free(steps);
    return rv;
}

struct award_msg {
    int64_t interval;
    double kw, price;
};

static int dera_award(struct dera_fed *f, struct sim *s,
                      const struct sim_msg *m)
{
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    const struct award_msg *a = m->data;
    if (m->len != sizeof *a || a->interval != f->interval) {
        return fail(d, BASE_EINVAL, "%s: an award for an unknown interval",
                    sc->deras[f->i]);
    }
    double *alloc = base_calloc(f->feasible.n + 1, sizeof *alloc);
    struct base_buf rec;
    base_buf_init(&rec, 0);
    if (alloc == NULL) {
        return BASE_ENOMEM;
    }
    mk_dera_allocate(&f->feasible, a->kw, alloc);
    int rv = base_buf_printf(&rec,
                             "{\"uid\":\"%s\",\"interval\":%lld,"
                             "\"price\":%.6f,\"award_kw\":%.6f,"
                             "\"dispatch\":[",
                             f->uid, (long long)a->interval, a->price, a->kw);
    for (size_t i = 0; rv == 0 && i < f->feasible.n; i++) {
        rv = base_buf_printf(&rec, "%s{\"der\":\"%s\",\"kw\":%.6f}",
                             i ? "," : "", f->feasible.e[i].der, alloc[i]);
    }
    rv = rv ? rv : base_buf_add_str(&rec, "]}");
    struct cr_hash h;
    rv = rv ? rv : mk_offchain_put(f->cli, rec.data, rec.len, &h);
    if (rv == 0) {
        char sum[65];
        base_hex_encode(sum, h.b, CR_HASH_SIZE);
        struct lg_slice args[2] = {{(const uint8_t *)f->uid, strlen(f->uid)},
                                   {(const uint8_t *)sum, 64}};
        /* Nothing in the day waits for this record: submit it and go on;
         * the run collects the outcome before it ends. */
        rv = async_submit(d, f->cli, "bids", "dispatch", 2, args);
    }
    for (size_t i = 0; rv == 0 && i < f->feasible.n; i++) {
        size_t j;
        if (der_by_id(sc, f->feasible.e[i].der, &j) == NULL) {
            continue;
        }
        d->iv[(size_t)a->interval * sc->nders + j].awarded_kw = alloc[i];
        struct dispatch_msg dm = {a->interval, alloc[i], j};
        rv = sim_send(s, f->id, d->ders[j].id, m->t + HOP, "dispatch", &dm,
                      sizeof dm);
    }
    base_free(alloc);
    base_buf_release(&rec);
    return rv;
}

static int dera_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    struct dera_fed *f = self;
    if (strcmp(m->topic, "bid") == 0) {
        return dera_deliver_bid(f, m);
    }
    if (strcmp(m->topic, "reviewed") == 0) {
        return dera_reviewed(f, s, m);
    }
    if (strcmp(m->topic, "award") == 0) {
        return dera_award(f, s, m);
    }
    return 0;
}

/* ---- DSO
 * --------------------------------------------------------------------- The DSO
 * gathers the bids of an interval as they are recorded and reviews them
 * together a moment later: the feeder carries all of them at once. */

static int dso_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    (void)s;
    struct dso_fed *f = self;
    if (strcmp(m->topic, "review") != 0 || m->len == 0 ||
        ((const char *)m->data)[m->len - 1] != '\0' ||
        m->len > MK_UID_MAX + 1 || f->nq == SIM_MAX_DERAS) {
        return 0;
    }
    memcpy(f->queue[f->nq++], m->data, m->len);
    return 0;
}

static int dso_record(struct dso_fed *f, struct sim *s, int64_t t,
                      struct mk_bid *b, const double *feas,
                      const struct mk_review *r)
{
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    double cut = 0;
    for (size_t i = 0; i < b->n; i++) {
        cut += b->e[i].kw - feas[i];
    }
    struct mk_result res;
    int rv;
    if (cut > 1e-9) {
        for (size_t i = 0; i < b->n; i++) {
            b->e[i].kw = feas[i];
        }
        char reason[LG_REASON_MAX + 1];
        snprintf(reason, sizeof reason,
                 "%s curtailment: max %.4f pu at %s above %.2f pu; %.3f kW "
                 "of this bid curtailed",
                 sc->dso_method == MK_DSO_SENSITIVITY ? "sensitivity"
                                                      : "proportional",
                 r->vmax_before, r->worst_node, sc->vmax, cut);
        rv = mk_bid_modify(f->cli, b, reason, &res);
    } else {
        struct lg_slice arg = {(const uint8_t *)b->uid, strlen(b->uid)};
        rv = mk_submit(f->cli, "bids", "accept", 1, &arg, &res);
    }
    if (rv != 0) {
        return fail(d, rv, "DSO review of %s refused: %s", b->uid, res.reason);
    }
    for (size_t i = 0; i < sc->nderas; i++) {
        if (strcmp(d->deras[i].uid, b->uid) == 0) {
            rv = sim_send(s, f->id, d->deras[i].id, t + HOP, "reviewed", b->uid,
                          strlen(b->uid) + 1);
        }
    }
    return rv;
}

/* The interval's review on chain (bids.review): the voltages behind the
 * curtailments, readable from the ledger. Not waited for: nothing later in
 * the day depends on it, and the run waits for it at the end. */
static int dso_record_review(struct dso_fed *f, int64_t k,
                             const struct mk_review *r)
{
    const struct sim_scenario *sc = f->d->sc;
    char num[7][32];
    snprintf(num[0], sizeof num[0], "%lld", (long long)k);
    const double v[4] = {r->vmax_before, r->vmax_after, r->vmin_before,
                         r->vmin_after};
    for (int i = 0; i < 4; i++) {
        snprintf(num[1 + i], sizeof num[1 + i], "%.5f", v[i]);
    }
    snprintf(num[5], sizeof num[5], "%.3f", r->curtailed_kw);
    const char *method =
        f->dso.method == MK_DSO_SENSITIVITY ? "sensitivity" : "proportional";
    const char *text[9] = {sc->market, num[0], num[1],        num[2], num[3],
                           num[4],     num[5], r->worst_node, method};
    struct lg_slice args[9];
    for (int i = 0; i < 9; i++) {
        args[i] = (struct lg_slice){(const uint8_t *)text[i], strlen(text[i])};
    }
    return async_submit(f->d, f->cli, "bids", "review", 9, args);
}

static int dso_step(void *self, struct sim *s, int64_t t)
{
    struct dso_fed *f = self;
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    size_t nq = f->nq;
    f->nq = 0;
    if (nq == 0) {
        return 0;
    }
    struct mk_bid_view v[SIM_MAX_DERAS];
    memset(v, 0, sizeof v);
    const char *names[SIM_MAX_DERS], *buses[SIM_MAX_DERS];
    double kw[SIM_MAX_DERS], feas[SIM_MAX_DERS];
    size_t n = 0, got = 0;
    int rv = 0;
    for (; rv == 0 && got < nq; got++) {
        rv = retrieve(d, f->cli, f->queue[got], &v[got]);
        const struct mk_bid *b = &v[got].bid;
        for (size_t i = 0; rv == 0 && i < b->n; i++) {
            size_t j;
            if (der_by_id(sc, b->e[i].der, &j) == NULL || n == SIM_MAX_DERS) {
                rv = fail(d, BASE_EINVAL, "bid %s names unknown DER %s", b->uid,
                          b->e[i].der);
                break;
            }
            names[n] = d->der_names[j];
            buses[n] = d->der_buses[j];
            kw[n++] = b->e[i].kw;
        }
    }
    /* DERs without a bid this interval inject nothing in the check. */
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        rv = pf_der_set(f->dso.model, d->der_names[j], 0, 0);
    }
    struct mk_review r;
    int64_t k = v[0].bid.interval;
    if (rv == 0) {
        rv = mk_dso_review(&f->dso, names, buses, kw, n,
                           (int)k * sc->interval_min, sc->interval_min, feas,
                           &r);
        if (rv != 0) {
            rv = fail(d, rv, "DSO power flow for interval %lld: %s",
                      (long long)k, pf_errmsg(f->dso.model));
        }
    }
    if (rv == 0 && r.curtailed_kw > 0) {
        /* The other method on the same bids, for the comparison in the
         * results; its curtailment is not applied. */
        double other[SIM_MAX_DERS];
        struct mk_review ro;
        struct mk_dso alt = f->dso;
        alt.method = f->dso.method == MK_DSO_SENSITIVITY ? MK_DSO_PROPORTIONAL
                                                         : MK_DSO_SENSITIVITY;
        rv = mk_dso_review(&alt, names, buses, kw, n, (int)k * sc->interval_min,
                           sc->interval_min, other, &ro);
        f->dso.solves = alt.solves;
        d->rows[k].curtailed_other_kw = ro.curtailed_kw;
        if (rv != 0) {
            rv = fail(d, rv, "DSO power flow for interval %lld: %s",
                      (long long)k, pf_errmsg(f->dso.model));
        }
    }
    if (rv == 0) {
        struct ivrow *row = &d->rows[k];
        row->vmax_before = r.vmax_before;
        row->vmin_before = r.vmin_before;
        row->vmax_after = r.vmax_after;
        row->vmin_after = r.vmin_after;
        row->curtailed_kw = r.curtailed_kw;
        row->reviewed = true;
        rv = dso_record_review(f, k, &r);
    }
    size_t off = 0;
    for (size_t q = 0; rv == 0 && q < got; q++) {
        rv = dso_record(f, s, t, &v[q].bid, feas + off, &r);
        off += v[q].bid.n;
    }
    for (size_t q = 0; q < got; q++) {
        mk_bid_view_release(&v[q]);
    }
    return rv;
}

/* ---- ISO
 * ---------------------------------------------------------------------- */

static int iso_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    (void)s;
    struct iso_fed *f = self;
    if (strcmp(m->topic, "offer") != 0 || m->len != sizeof(struct offer)) {
        return 0;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        struct offer *p = base_realloc(f->offers, cap * sizeof *p);
        if (p == NULL) {
            return BASE_ENOMEM;
        }
        f->offers = p;
        f->cap = cap;
    }
    f->offers[f->n++] = *(const struct offer *)m->data;
    return 0;
}

static int iso_step(void *self, struct sim *s, int64_t t)
{
    struct iso_fed *f = self;
    struct day *d = f->d;
    const struct sim_scenario *sc = d->sc;
    int64_t k = interval_of(d, t, d->period * 4 / 60);
    size_t n = f->n;
    f->n = 0;
    if (k < 0 || k >= sc->intervals || n == 0) {
        return 0;
    }
    struct mk_step *steps = base_calloc(n, sizeof *steps);
    double *award = base_calloc(n, sizeof *award);
    double per[SIM_MAX_DERAS] = {0};
    bool has[SIM_MAX_DERAS] = {false};
    if (steps == NULL || award == NULL) {
        base_free(steps);
        base_free(award);
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        steps[i] = f->offers[i].step;
    }
    double price, cleared;
    mk_iso_clear(steps, n, sc->iso_mode, sc->demand_kw, sc->price_cap, award,
                 &price, &cleared);
    for (size_t i = 0; i < n; i++) {
        per[f->offers[i].dera] += award[i];
        has[f->offers[i].dera] = true;
    }
    /* Awards as written on chain (to the watt), and the cleared total as
     * their sum, so that the contract's check is exact. */
    struct base_buf aw;
    base_buf_init(&aw, 0);
    double total = 0;
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < sc->nderas; i++) {
        if (!has[i]) {
            continue;
        }
        per[i] = round(per[i] * 1000.0) / 1000.0;
        total += per[i];
        rv = base_buf_printf(&aw, "%s%s=%.3f", aw.len ? "," : "", sc->deras[i],
                             per[i]);
    }
    char sk[24], sp[32], sq[32];
    snprintf(sk, sizeof sk, "%lld", (long long)k);
    snprintf(sp, sizeof sp, "%.2f", price);
    snprintf(sq, sizeof sq, "%.3f", total);
    struct lg_slice args[5] = {
        {(const uint8_t *)sc->market, strlen(sc->market)},
        {(const uint8_t *)sk, strlen(sk)},
        {(const uint8_t *)sp, strlen(sp)},
        {(const uint8_t *)sq, strlen(sq)},
        {aw.data, aw.len},
    };
    struct mk_result res;
    if (rv == 0) {
        rv = mk_submit(f->cli, "bids", "clear", 5, args, &res);
        if (rv != 0) {
            rv = fail(d, rv, "ISO clearing of interval %lld refused: %s",
                      (long long)k, res.reason);
        }
    }
    d->rows[k].price = price;
    d->rows[k].cleared_kw = total;
    for (size_t i = 0; rv == 0 && i < sc->nderas; i++) {
        if (has[i]) {
            struct award_msg am = {k, per[i], price};
            rv = sim_send(s, f->id, d->deras[i].id, t + HOP, "award", &am,
                          sizeof am);
        }
    }
    base_buf_release(&aw);
    base_free(steps);
    base_free(award);
    return rv;
}

/* ---- feeder
 * ------------------------------------------------------------------ */

static int feeder_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    (void)s;
    struct day *d = self;
    const struct dispatch_msg *dm = m->data;
    if (strcmp(m->topic, "setpoint") != 0 || m->len != sizeof *dm ||
        dm->interval < 0 || dm->interval >= d->sc->intervals ||
        dm->der >= d->sc->nders) {
        return 0;
    }
    d->setpoint[(size_t)dm->interval * d->sc->nders + dm->der] = dm->kw;
    return 0;
}

static int feeder_step(void *self, struct sim *s, int64_t t)
{
    (void)s;
    struct day *d = self;
    const struct sim_scenario *sc = d->sc;
    int minute = (int)(t / MS);
    int total = sc->intervals * sc->interval_min;
    if (minute < 0 || minute >= total) {
        return 0;
    }
    int k = minute / sc->interval_min;
    int rv = set_loads(d, d->feeder, d->cust_feeder, minute);
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        double avail = mk_der_available(&sc->ders[j].der, minute);
        double sp = d->setpoint[(size_t)k * sc->nders + j];
        double out = avail < sp ? avail : sp;
        d->disp[(size_t)minute * sc->nders + j] = (float)out;
        d->avail[(size_t)minute * sc->nders + j] = (float)avail;
        rv = pf_der_set(d->feeder, d->der_names[j], out, 0);
    }
    if (rv == 0) {
        rv = pf_solve(d->feeder);
        d->sum->feeder_solves++;
    }
    if (rv != 0) {
        return fail(d, rv, "feeder at minute %d: %s", minute,
                    pf_errmsg(d->feeder));
    }
    for (size_t i = 0; i < d->nnodes; i++) {
        struct pf_node nd;
        if (pf_node_get(d->feeder, d->node_of[i], &nd) == 0) {
            d->volt[(size_t)minute * d->nnodes + i] =
                (float)(hypot(nd.v_re, nd.v_im) / (nd.kv_base * 1000.0));
        }
    }
    if (d->env->progress != NULL &&
        minute % sc->interval_min == sc->interval_min - 1) {
        d->env->progress(d->env->arg, k + 1, sc->intervals);
    }
    return 0;
}

/* ---- setting up
 * --------------------------------------------------------------- */

static int load_feeder(struct day *d, struct pf_model **out)
{
    struct pf_model *m;
    int rv = pf_model_new(&m);
    if (rv != 0) {
        return rv;
    }
    rv = pf_run_file(m, d->sc->feeder);
    if (rv == 0 && d->sc->feeder_commands != NULL) {
        rv = pf_run_string(m, d->sc->feeder_commands, "feeder_commands");
    }
    for (size_t j = 0; rv == 0 && j < d->sc->nders; j++) {
        rv = pf_der_add(m, d->sc->ders[j].der.id, d->sc->ders[j].der.bus, 0, 0);
    }
    if (rv == 0) {
        rv = pf_solve(m);
    }
    if (rv != 0) {
        fail(d, rv, "feeder %s: %s", d->sc->feeder, pf_errmsg(m));
        pf_model_free(m);
        return rv;
    }
    *out = m;
    return 0;
}

static void slices(struct lg_slice *out, const char *const *argv, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        out[i].p = (const uint8_t *)argv[i];
        out[i].len = strlen(argv[i]);
    }
}

/* The ISO registers the day's market (markets are a closed set, issue
 * 15), unless the ledger has it already: a node's ledger made for the
 * scenario may. */
static int register_market(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    char minutes[16];
    snprintf(minutes, sizeof minutes, "%d", sc->interval_min);
    const char *argv[] = {sc->market, "real-time", minutes};
    struct lg_slice args[3];
    slices(args, argv, 3);
    struct mk_result res;
    int rv = mk_submit(d->iso.cli, "bids", "register_market", 3, args, &res);
    if (rv == BASE_EEXIST) {
        rv = 0;
    }
    if (rv != 0) {
        fail(d, rv, "the ISO cannot register market %s: %s", sc->market,
             res.reason[0] ? res.reason : base_strerror(rv));
    }
    return rv;
}

/* Registration and qualification, before the first market interval: all
 * registrations at once, then all qualifications (they need the DERs on
 * chain), each batch ordered into a block or two. */
static int register_ders(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    int rv = 0;
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        const struct sim_der *sd = &sc->ders[j];
        struct dera_fed *f = &d->deras[d->ders[j].dera];
        char kw[32], kva[32];
        snprintf(kw, sizeof kw, "%.3f", sd->der.kw);
        snprintf(kva, sizeof kva, "%.3f", sd->der.kva);
        const char *argv[] = {
            sd->der.id, sd->der.owner, sd->der.bus, sd->der.phases, "pv", kw,
            kva};
        struct lg_slice args[7];
        slices(args, argv, 7);
        rv = async_submit(d, f->cli, "registry", "register", 7, args);
    }
    int wrv = async_wait(d);
    rv = rv ? rv : wrv;
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        const struct sim_der *sd = &sc->ders[j];
        char q[32];
        snprintf(q, sizeof q, "%.3f", sd->qualified_kw);
        const char *qa[] = {sd->der.id, q};
        const char *ra[] = {sd->der.id, "not qualified by the DSO's study"};
        struct lg_slice args[2];
        slices(args, sd->qualified_kw > 0 ? qa : ra, 2);
        rv = async_submit(d, d->dso.cli, "registry",
                          sd->qualified_kw > 0 ? "qualify" : "refuse", 2, args);
    }
    wrv = async_wait(d);
    return rv ? rv : wrv;
}

static int clients(struct day *d)
{
    const struct sim_day_env *env = d->env;
    int rv = env->client(env->arg, "DSO", "operator", "dso", &d->dso.cli);
    if (rv == 0) {
        rv = env->client(env->arg, "ISO", "operator", "iso", &d->iso.cli);
    }
    for (size_t i = 0; rv == 0 && i < d->sc->nderas; i++) {
        rv = env->client(env->arg, d->sc->deras[i], DERA_ID, "dera",
                         &d->deras[i].cli);
    }
    if (rv != 0) {
        fail(d, rv, "cannot open the agents' ledger clients: %s",
             base_strerror(rv));
    }
    return rv;
}

static int federates(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    int64_t P = d->period;
    static const struct sim_federate_ops der_ops = {der_step, der_deliver};
    static const struct sim_federate_ops dera_ops = {dera_step, dera_deliver};
    static const struct sim_federate_ops dso_ops = {dso_step, dso_deliver};
    static const struct sim_federate_ops iso_ops = {iso_step, iso_deliver};
    static const struct sim_federate_ops feeder_ops = {feeder_step,
                                                       feeder_deliver};
    /* The cycle of interval k (start T): DERs bid at T - 16/60 P, the DERA
     * records at T - 12/60 P, the DSO reviews at T - 11/60 P, the ISO
     * clears at T - 4/60 P; the feeder runs every minute from T. For
     * 15-minute intervals: 4, 3, 2:45 and 1 minute ahead. */
    int rv = 0;
    for (size_t j = 0; rv == 0 && j < sc->nders; j++) {
        char name[SIM_NAME_MAX + 1];
        snprintf(name, sizeof name, "der:%.26s", sc->ders[j].der.id);
        rv = sim_join(d->sim, name, P, -P * 16 / 60, &der_ops, &d->ders[j],
                      &d->ders[j].id);
    }
    for (size_t i = 0; rv == 0 && i < sc->nderas; i++) {
        char name[SIM_NAME_MAX + 1];
        snprintf(name, sizeof name, "dera:%.26s", sc->deras[i]);
        rv = sim_join(d->sim, name, P, -P * 12 / 60, &dera_ops, &d->deras[i],
                      &d->deras[i].id);
    }
    rv = rv ? rv
            : sim_join(d->sim, "dso", P, -P * 11 / 60, &dso_ops, &d->dso,
                       &d->dso.id);
    rv = rv ? rv
            : sim_join(d->sim, "iso", P, -P * 4 / 60, &iso_ops, &d->iso,
                       &d->iso.id);
    rv = rv ? rv
            : sim_join(d->sim, "feeder", MS, 0, &feeder_ops, d, &d->feeder_id);
    return rv;
}

static int setup(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    size_t minutes = (size_t)sc->intervals * (size_t)sc->interval_min;
    d->period = (int64_t)sc->interval_min * MS;
    d->ders = base_calloc(sc->nders, sizeof *d->ders);
    d->deras = base_calloc(sc->nderas, sizeof *d->deras);
    d->noise = base_calloc(sc->ncustomers * 1440 + 1, sizeof *d->noise);
    d->disp = base_calloc(minutes * sc->nders, sizeof *d->disp);
    d->avail = base_calloc(minutes * sc->nders, sizeof *d->avail);
    d->setpoint =
        base_calloc((size_t)sc->intervals * sc->nders, sizeof *d->setpoint);
    d->iv = base_calloc((size_t)sc->intervals * sc->nders, sizeof *d->iv);
    d->rows = base_calloc((size_t)sc->intervals, sizeof *d->rows);
    if (!d->ders || !d->deras || !d->noise || !d->disp || !d->avail ||
        !d->setpoint || !d->iv || !d->rows) {
        return BASE_ENOMEM;
    }
    make_noise(d);
    for (size_t j = 0; j < sc->nders; j++) {
        d->ders[j].d = d;
        d->ders[j].i = j;
        d->der_names[j] = sc->ders[j].der.id;
        d->der_buses[j] = sc->ders[j].der.bus;
        for (size_t i = 0; i < sc->nderas; i++) {
            if (strcmp(sc->deras[i], sc->ders[j].dera) == 0) {
                d->ders[j].dera = (int)i;
            }
        }
    }
    for (size_t i = 0; i < sc->nderas; i++) {
        d->deras[i].d = d;
        d->deras[i].i = i;
        d->deras[i].interval = -1;
    }
    d->dso.d = d;
    d->iso.d = d;
    int rv = load_feeder(d, &d->feeder);
    rv = rv ? rv : load_feeder(d, &d->dso_model);
    rv = rv ? rv : map_customers(d, d->feeder, &d->cust_feeder);
    rv = rv ? rv : map_customers(d, d->dso_model, &d->cust_dso);
    if (rv != 0) {
        return rv;
    }
    d->dso.dso.model = d->dso_model;
    d->dso.dso.method = sc->dso_method;
    d->dso.dso.vmin = sc->vmin;
    d->dso.dso.vmax = sc->vmax;
    d->dso.dso.loads = dso_loads;
    d->dso.dso.loads_arg = d;
    for (size_t i = 0; i < sc->nskip; i++) {
        d->skip[i] = sc->skip[i];
    }
    d->dso.dso.skip = d->skip;
    d->dso.dso.nskip = sc->nskip;
    /* The nodes recorded: every node with a voltage base. */
    size_t nn = pf_node_count(d->feeder);
    d->node_of = base_calloc(nn + 1, sizeof *d->node_of);
    if (d->node_of == NULL) {
        return BASE_ENOMEM;
    }
    for (size_t k = 0; k < nn; k++) {
        struct pf_node nd;
        if (pf_node_get(d->feeder, k, &nd) == 0 && nd.kv_base > 0) {
            d->node_of[d->nnodes++] = k;
        }
    }
    d->volt = base_calloc(minutes * d->nnodes + 1, sizeof *d->volt);
    if (d->volt == NULL) {
        return BASE_ENOMEM;
    }
    rv = sim_new(&d->sim);
    rv = rv ? rv : clients(d);
    rv = rv ? rv : federates(d);
    return rv;
}

static void teardown(struct day *d)
{
    for (size_t i = 0; d->deras != NULL && i < d->sc->nderas; i++) {
        mk_bid_release(&d->deras[i].collect);
        mk_bid_release(&d->deras[i].feasible);
        mk_client_close(d->deras[i].cli);
    }
    mk_client_close(d->dso.cli);
    mk_client_close(d->iso.cli);
    base_free(d->iso.offers);
    sim_free(d->sim);
    pf_model_free(d->feeder);
    pf_model_free(d->dso_model);
    base_free(d->cust_feeder);
    base_free(d->cust_dso);
    base_free(d->node_of);
    base_free(d->volt);
    base_free(d->disp);
    base_free(d->avail);
    base_free(d->setpoint);
    base_free(d->iv);
    base_free(d->rows);
    base_free(d->noise);
    base_free(d->ders);
    base_free(d->deras);
    base_free(d->store.ms);
    base_free(d->retrieve.ms);
}

/* ---- output
 * --------------------------------------------------------------------- */

static bool monitored(const struct day *d, const char *bus)
{
    for (size_t i = 0; i < d->sc->nskip; i++) {
        if (strcmp(d->sc->skip[i], bus) == 0) {
            return false;
        }
    }
    return true;
}

static char phase_letter(int node)
{
    return (char)(node >= 1 && node <= 3 ? 'a' + node - 1 : '?');
}

static FILE *open_out(struct day *d, const char *dir, const char *name,
                      char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fail(d, BASE_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return f;
}

static int close_out(struct day *d, FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) {
        return fail(d, BASE_EIO, "cannot write %s", path);
    }
    return 0;
}

static int write_csvs(struct day *d, const char *dir)
{
    const struct sim_scenario *sc = d->sc;
    size_t minutes = (size_t)sc->intervals * (size_t)sc->interval_min;
    char path[PATH_MAX];
    FILE *f = open_out(d, dir, "voltages.csv", path, sizeof path);
    if (f == NULL) {
        return BASE_EIO;
    }
    fputs("time_s,bus,phase,vmag_pu\n", f);
    for (size_t m = 0; m < minutes; m++) {
        for (size_t i = 0; i < d->nnodes; i++) {
            struct pf_node nd;
            if (pf_node_get(d->feeder, d->node_of[i], &nd) == 0) {
                fprintf(f, "%zu,%s,%c,%.5f\n", m * 60, nd.bus,
                        phase_letter(nd.node), d->volt[m * d->nnodes + i]);
            }
        }
    }
    int rv = close_out(d, f, path);
    if (rv != 0 ||
        (f = open_out(d, dir, "bids.csv", path, sizeof path)) == NULL) {
        return BASE_EIO;
    }
    fputs("interval,der,bid_kw,price,feasible_kw,awarded_kw\n", f);
    for (int k = 0; k < sc->intervals; k++) {
        for (size_t j = 0; j < sc->nders; j++) {
            const struct ivder *v = &d->iv[(size_t)k * sc->nders + j];
            if (v->bid) {
                fprintf(f, "%d,%s,%.3f,%.2f,%.3f,%.3f\n", k, sc->ders[j].der.id,
                        v->bid_kw, v->price, v->feasible_kw, v->awarded_kw);
            }
        }
    }
    rv = close_out(d, f, path);
    if (rv != 0 ||
        (f = open_out(d, dir, "clearing.csv", path, sizeof path)) == NULL) {
        return BASE_EIO;
    }
    fputs("interval,price,cleared_kw\n", f);
    for (int k = 0; k < sc->intervals; k++) {
        fprintf(f, "%d,%.2f,%.3f\n", k, d->rows[k].price,
                d->rows[k].cleared_kw);
    }
    rv = close_out(d, f, path);
    if (rv != 0 ||
        (f = open_out(d, dir, "curtailment.csv", path, sizeof path)) == NULL) {
        return BASE_EIO;
    }
    fputs("interval,max_v_before_pu,max_v_after_pu,curtailed_kw\n", f);
    for (int k = 0; k < sc->intervals; k++) {
        const struct ivrow *r = &d->rows[k];
        if (r->reviewed) {
            fprintf(f, "%d,%.5f,%.5f,%.3f\n", k, r->vmax_before, r->vmax_after,
                    r->curtailed_kw);
        } else {
            fprintf(f, "%d,,,0.000\n", k); /* no bid: nothing to review */
        }
    }
    return close_out(d, f, path);
}

static void summarise(struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    struct sim_day_summary *s = d->sum;
    size_t minutes = (size_t)sc->intervals * (size_t)sc->interval_min;
    double h = sc->interval_min / 60.0;
    s->intervals = sc->intervals;
    s->ders = (int)sc->nders;
    s->deras = (int)sc->nderas;
    s->min_v_feeder_pu = 1e9;
    for (int k = 0; k < sc->intervals; k++) {
        const struct ivrow *r = &d->rows[k];
        s->curtailed_kwh += r->curtailed_kw * h;
        s->curtailed_kwh_other += r->curtailed_other_kw * h;
        s->energy_bid_kwh += r->bid_kw * h;
        s->energy_cleared_kwh += r->cleared_kw * h;
        if (r->reviewed && r->vmax_before > s->max_v_before_pu) {
            s->max_v_before_pu = r->vmax_before;
        }
        if (r->reviewed && r->vmax_after > s->max_v_after_pu) {
            s->max_v_after_pu = r->vmax_after;
        }
    }
    for (size_t m = 0; m < minutes; m++) {
        for (size_t j = 0; j < sc->nders; j++) {
            s->energy_dispatched_kwh += d->disp[m * sc->nders + j] / 60.0;
        }
        for (size_t i = 0; i < d->nnodes; i++) {
            struct pf_node nd;
            if (pf_node_get(d->feeder, d->node_of[i], &nd) != 0 ||
                !monitored(d, nd.bus)) {
                continue;
            }
            double v = d->volt[m * d->nnodes + i];
            s->max_v_feeder_pu =
                v > s->max_v_feeder_pu ? v : s->max_v_feeder_pu;
            s->min_v_feeder_pu =
                v < s->min_v_feeder_pu ? v : s->min_v_feeder_pu;
        }
    }
    s->dso_solves = d->dso.dso.solves;
    sim_counts(d->sim, &s->sim_steps, &s->sim_messages);
    lat_stats(&d->store, &s->bid_store_ms_p50, &s->bid_store_ms_p99,
              &s->bid_store_ms_max);
    lat_stats(&d->retrieve, &s->bid_retrieve_ms_p50, &s->bid_retrieve_ms_p99,
              &s->bid_retrieve_ms_max);
    if (d->env->ledger_stats != NULL) {
        d->env->ledger_stats(d->env->arg, &s->ledger_tx, &s->ledger_invalid,
                             &s->ledger_refused, &s->ledger_blocks);
    }
}

static json_t *summary_json(const struct day *d)
{
    const struct sim_day_summary *s = d->sum;
    json_t *o = json_object();
    json_object_set_new(o, "intervals", json_integer(s->intervals));
    json_object_set_new(o, "ders", json_integer(s->ders));
    json_object_set_new(o, "deras", json_integer(s->deras));
    json_object_set_new(o, "dso_method",
                        json_string(d->sc->dso_method == MK_DSO_SENSITIVITY
                                        ? "sensitivity"
                                        : "proportional"));
    json_object_set_new(
        o, "iso_mode",
        json_string(d->sc->iso_mode == MK_ISO_MERIT ? "merit" : "all"));
    json_object_set_new(o, "curtailed_kwh", json_real(s->curtailed_kwh));
    json_object_set_new(o, "max_v_before_pu", json_real(s->max_v_before_pu));
    json_object_set_new(o, "max_v_after_pu", json_real(s->max_v_after_pu));
    json_object_set_new(o, "max_v_feeder_pu", json_real(s->max_v_feeder_pu));
    json_object_set_new(o, "min_v_after_pu", json_real(s->min_v_feeder_pu));
    json_object_set_new(o, "ledger_tx", json_integer((json_int_t)s->ledger_tx));
    json_object_set_new(o, "ledger_blocks",
                        json_integer((json_int_t)s->ledger_blocks));
    json_object_set_new(o, "curtailed_kwh_other_method",
                        json_real(s->curtailed_kwh_other));
    json_object_set_new(o, "other_method",
                        json_string(d->sc->dso_method == MK_DSO_SENSITIVITY
                                        ? "proportional"
                                        : "sensitivity"));
    json_object_set_new(o, "min_v_feeder_pu", json_real(s->min_v_feeder_pu));
    json_object_set_new(o, "energy_bid_kwh", json_real(s->energy_bid_kwh));
    json_object_set_new(o, "energy_cleared_kwh",
                        json_real(s->energy_cleared_kwh));
    json_object_set_new(o, "energy_dispatched_kwh",
                        json_real(s->energy_dispatched_kwh));
    json_object_set_new(o, "feeder_solves", json_integer(s->feeder_solves));
    json_object_set_new(o, "dso_solves", json_integer(s->dso_solves));
    json_object_set_new(o, "sim_steps", json_integer((json_int_t)s->sim_steps));
    json_object_set_new(o, "sim_messages",
                        json_integer((json_int_t)s->sim_messages));
    json_object_set_new(o, "runtime_s", json_real(s->runtime_s));
    return o;
}

static json_t *ledger_json(const struct day *d)
{
    const struct sim_day_summary *s = d->sum;
    json_t *o = json_object();
    json_object_set_new(o, "transactions",
                        json_integer((json_int_t)s->ledger_tx));
    json_object_set_new(
        o, "valid",
        json_integer((json_int_t)(s->ledger_tx - s->ledger_invalid)));
    json_object_set_new(o, "invalid",
                        json_integer((json_int_t)s->ledger_invalid));
    json_object_set_new(o, "refused",
                        json_integer((json_int_t)s->ledger_refused));
    json_object_set_new(o, "blocks",
                        json_integer((json_int_t)s->ledger_blocks));
    json_object_set_new(o, "bids", json_integer((json_int_t)s->bids));
    json_object_set_new(o, "retrievals",
                        json_integer((json_int_t)s->retrievals));
    json_object_set_new(o, "tampered", json_integer((json_int_t)s->tampered));
    json_object_set_new(o, "refused_entries",
                        json_integer((json_int_t)s->refused_entries));
    json_object_set_new(o, "bid_store_ms",
                        json_pack("{s:f, s:f, s:f}", "p50", s->bid_store_ms_p50,
                                  "p99", s->bid_store_ms_p99, "max",
                                  s->bid_store_ms_max));
    json_object_set_new(
        o, "bid_retrieve_ms",
        json_pack("{s:f, s:f, s:f}", "p50", s->bid_retrieve_ms_p50, "p99",
                  s->bid_retrieve_ms_p99, "max", s->bid_retrieve_ms_max));
    json_object_set_new(
        o, "tps",
        json_real(s->runtime_s > 0 ? (double)s->ledger_tx / s->runtime_s : 0));
    return o;
}

static int pick_interval(const struct day *d)
{
    const struct sim_scenario *sc = d->sc;
    if (sc->report_interval >= 0) {
        return sc->report_interval;
    }
    int best = -1;
    for (int k = 0; k < sc->intervals; k++) {
        if (best < 0 || d->rows[k].curtailed_kw > d->rows[best].curtailed_kw ||
            (d->rows[best].curtailed_kw == 0 &&
             d->rows[k].cleared_kw > d->rows[best].cleared_kw)) {
            best = k;
        }
    }
    return best < 0 ? 0 : best;
}

struct ranked {
    double kw, price;
};

static int by_price(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    return x->price < y->price ? -1 : x->price > y->price;
}

/* A stepped offer curve [[q, p], ...] of interval @k, as bid or feasible. */
static json_t *curve(const struct day *d, int k, bool feasible)
{
    const struct sim_scenario *sc = d->sc;
    struct ranked r[SIM_MAX_DERS];
    size_t n = 0;
    for (size_t j = 0; j < sc->nders; j++) {
        const struct ivder *v = &d->iv[(size_t)k * sc->nders + j];
        if (v->bid) {
            r[n].kw = feasible ? v->feasible_kw : v->bid_kw;
            r[n++].price = v->price;
        }
    }
    qsort(r, n, sizeof *r, by_price);
    json_t *a = json_array();
    double q = 0;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_pack("[f, f]", q, r[i].price));
        q += r[i].kw;
        json_array_append_new(a, json_pack("[f, f]", q, r[i].price));
    }
    return a;
}

static json_t *series_json(const float *p, size_t stride, size_t col,
                           size_t minutes, size_t every)
{
    json_t *a = json_array();
    for (size_t m = 0; m < minutes; m += every) {
        json_array_append_new(
            a, json_real(round(p[m * stride + col] * 1e5) / 1e5));
    }
    return a;
}

static json_t *report_json(struct day *d, json_t *summary, json_t *ledger)
{
    const struct sim_scenario *sc = d->sc;
    size_t minutes = (size_t)sc->intervals * (size_t)sc->interval_min;
    const size_t every = 5; /* the report plots every 5th minute */
    json_t *o = json_object();
    json_object_set_new(o, "title", json_string(sc->name));
    json_object_set_new(o, "scenario", json_string(sc->path));
    json_object_set_new(o, "summary", json_incref(summary));
    json_t *times = json_array();
    for (size_t m = 0; m < minutes; m += every) {
        json_array_append_new(times, json_integer((json_int_t)m * 60));
    }
    json_t *vs = json_object();
    for (size_t i = 0; i < d->nnodes; i++) {
        struct pf_node nd;
        if (pf_node_get(d->feeder, d->node_of[i], &nd) != 0 ||
            !monitored(d, nd.bus)) {
            continue;
        }
        char key[SC_TEXT_MAX + 8];
        snprintf(key, sizeof key, "%s.%d", nd.bus, nd.node);
        json_object_set_new(vs, key,
                            series_json(d->volt, d->nnodes, i, minutes, every));
    }
    json_object_set_new(o, "voltage",
                        json_pack("{s:O, s:o}", "time_s", times, "series", vs));
    json_t *ds = json_object();
    for (size_t j = 0; j < sc->nders; j++) {
        json_object_set_new(ds, sc->ders[j].der.id,
                            series_json(d->disp, sc->nders, j, minutes, every));
    }
    json_object_set_new(o, "dispatch",
                        json_pack("{s:o, s:o}", "time_s", times, "series", ds));
    json_t *iv = json_array();
    for (int k = 0; k < sc->intervals; k++) {
        const struct ivrow *r = &d->rows[k];
        json_t *row = json_pack(
            "{s:i, s:i, s:f, s:f, s:f, s:f, s:f}", "interval", k, "start_s",
            k * sc->interval_min * 60, "curtailed_kw", r->curtailed_kw, "price",
            r->price, "cleared_kw", r->cleared_kw, "bid_kw", r->bid_kw,
            "vmin_after_pu", r->vmin_after);
        json_object_set_new(row, "max_v_before_pu",
                            r->reviewed ? json_real(r->vmax_before)
                                        : json_null());
        json_object_set_new(row, "max_v_after_pu",
                            r->reviewed ? json_real(r->vmax_after)
                                        : json_null());
        json_array_append_new(iv, row);
    }
    json_object_set_new(o, "intervals", iv);
    int k = pick_interval(d);
    json_t *cl = json_pack(
        "{s:i, s:f, s:f, s:o, s:o, s:n}", "interval", k, "price",
        d->rows[k].price, "cleared_kw", d->rows[k].cleared_kw, "original",
        curve(d, k, false), "curtailed", curve(d, k, true), "demand");
    if (sc->iso_mode == MK_ISO_MERIT && cl != NULL) {
        json_object_set_new(cl, "demand",
                            json_pack("[[f, f], [f, f]]", sc->demand_kw, 0.0,
                                      sc->demand_kw, sc->price_cap));
    }
    json_object_set_new(o, "clearing", cl);
    json_object_set_new(o, "ledger", json_incref(ledger));
    return o;
}

static int write_results(struct day *d, const char *dir)
{
    json_t *summary = summary_json(d);
    json_t *ledger = ledger_json(d);
    json_t *res =
        json_pack("{s:s, s:s, s:O, s:O}", "scenario", d->sc->path, "name",
                  d->sc->name, "summary", summary, "ledger", ledger);
    int rv = sim__write_json(dir, "results.json", res, d->errmsg);
    json_decref(res);
    if (rv == 0) {
        json_t *rep = report_json(d, summary, ledger);
        rv = sim__write_json(dir, "report-data.json", rep, d->errmsg);
        char *text =
            rv == 0 ? json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(8))
                    : NULL;
        if (rv == 0 && text == NULL) {
            rv = BASE_ENOMEM;
        }
        if (rv == 0) {
            char path[PATH_MAX], err[BASE_ERRMSG_SIZE];
            snprintf(path, sizeof path, "%s/report.html", dir);
            rv = rp_write_html(path, RP_MARKET_DAY, NULL, text, strlen(text),
                               err);
            if (rv != 0) {
                fail(d, rv, "%s", err);
            }
        }
        free(text);
        json_decref(rep);
    }
    json_decref(summary);
    json_decref(ledger);
    return rv;
}

int sim_day_run(const struct sim_scenario *sc, const struct sim_day_env *env,
                const char *outdir, struct sim_day_summary *sum, char *errmsg)
{
    double t0 = now_ms();
    memset(sum, 0, sizeof *sum);
    /* Heap, not stack: the registry copy alone is a few hundred KiB. */
    struct day *dp = base_calloc(1, sizeof *dp);
    if (dp == NULL) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "market day: out of memory");
        return BASE_ENOMEM;
    }
    struct day *d = dp;
    errmsg[0] = '\0';
    d->sc = sc;
    d->env = env;
    d->errmsg = errmsg;
    d->sum = sum;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    int rv = setup(d);
    if (rv == 0) {
        rv = register_market(d);
    }
    if (rv == 0) {
        rv = register_ders(d);
    }
    if (rv == 0) {
        rv = read_registry(d);
    }
    if (rv == 0) {
        int64_t end = (int64_t)sc->intervals * d->period - 1;
        rv = sim_run(d->sim, end, NULL, NULL);
    }
    int wrv = async_wait(d); /* also after a failure: callbacks use d */
    rv = rv ? rv : wrv;
    if (rv == 0) {
        sum->runtime_s = (now_ms() - t0) / 1e3;
        summarise(d);
        rv = write_csvs(d, outdir);
    }
    if (rv == 0) {
        rv = write_results(d, outdir);
        sum->runtime_s = (now_ms() - t0) / 1e3;
    }
    if (rv != 0) {
        fail(d, rv, "market day: %s", base_strerror(rv));
    }
    teardown(d);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    base_free(dp);
    return rv;
}
