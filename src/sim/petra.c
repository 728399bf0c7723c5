/* SPDX-License-Identifier: MIT */
/* The PETra microgrid (paper 004) as a co-simulation: prosumer federates
 * withdraw from the DSO over ZeroMQ to fresh anonymous addresses, trade on
 * the ledger and deposit when their interval comes; the DSO credits the
 * deposits. Writes the trades, the clearing-time distribution and the
 * report. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "sim_int.h"

#define MAX_HELD  32
#define HIST_BINS 20

/* ---- the scenario ---------------------------------------------------------
 */

static int whole(json_t *o, const char *key, int lo, int hi, int *out,
                 const char *where, char *errmsg)
{
    double d = *out;
    int rv = sim__num(o, key, lo, hi, &d, where, errmsg);
    if (rv == 0 && d != floor(d)) {
        return sim__bad(errmsg, "%s.%s must be a whole number", where, key);
    }
    *out = (int)d;
    return rv;
}

static int load_prosumer(struct sim_petra_scenario *sc, json_t *v, size_t i,
                         char *errmsg)
{
    struct sim_petra_prosumer *p = &sc->prosumers[i];
    char where[32];
    snprintf(where, sizeof where, "prosumers[%zu]", i);
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *role = json_string_value(json_object_get(v, "role"));
    if (name == NULL || name[0] == '\0' || strlen(name) > 32 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
        return sim__bad(errmsg, "%s.name must be 1..32 of [a-z0-9-]", where);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(sc->prosumers[j].name, name) == 0) {
            return sim__bad(errmsg, "%s.name repeats '%s'", where, name);
        }
    }
    if (role == NULL ||
        (strcmp(role, "producer") != 0 && strcmp(role, "consumer") != 0)) {
        return sim__bad(errmsg, "%s.role must be producer or consumer", where);
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    p->producer = strcmp(role, "producer") == 0;
    p->price = p->producer ? 0.20 : 0.30;
    p->funds = 0;
    int rv = sim__num(v, "price", 0, 1000, &p->price, where, errmsg);
    rv = rv ? rv : sim__num(v, "funds", 0, 1e6, &p->funds, where, errmsg);
    if (rv != 0) {
        return rv;
    }
    p->bids = json_is_true(json_object_get(v, "bids"));
    json_t *kw = json_object_get(v, "kw");
    if (!json_is_array(kw) || json_array_size(kw) != (size_t)sc->intervals) {
        return sim__bad(errmsg, "%s.kw must hold one value per interval (%d)",
                        where, sc->intervals);
    }
    for (size_t k = 0; k < (size_t)sc->intervals; k++) {
        json_t *x = json_array_get(kw, k);
        double d = json_number_value(x);
        if (!json_is_number(x) || !isfinite(d) || d < 0 || d > 1e6) {
            return sim__bad(errmsg, "%s.kw[%zu] must be a number in [0, 1e6]",
                            where, k);
        }
        p->kw[k] = d;
    }
    return 0;
}

int sim_petra_load(struct sim_petra_scenario *sc, const char *path,
                   char *errmsg)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->path, sizeof sc->path, "%s", path);
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "%s:%d:%d: %s", path, err.line,
                 err.column, err.text);
        return err.line <= 0 ? BASE_ENOTFOUND : BASE_EPARSE;
    }
    int rv = 0;
    snprintf(sc->name, sizeof sc->name, "PETra microgrid");
    const char *name = json_string_value(json_object_get(root, "name"));
    if (name != NULL) {
        snprintf(sc->name, sizeof sc->name, "%s", name);
    }
    sc->interval_min = 15;
    sc->intervals = 14;
    sc->start_min = 14 * 60 + 15;
    rv = whole(root, "interval_min", 1, 60, &sc->interval_min, "scenario",
               errmsg);
    rv = rv ? rv
            : whole(root, "intervals", 1, MK_PETRA_MAX_INTERVALS,
                    &sc->intervals, "scenario", errmsg);
    const char *start = json_string_value(json_object_get(root, "start"));
    int hh, mm;
    char tail;
    if (rv == 0 && start != NULL &&
        (sscanf(start, "%d:%d%c", &hh, &mm, &tail) != 2 || hh < 0 || hh > 23 ||
         mm < 0 || mm > 59)) {
        rv = sim__bad(errmsg, "scenario.start must be HH:MM");
    }
    if (rv == 0 && start != NULL) {
        sc->start_min = hh * 60 + mm;
    }
    if (rv == 0 && sc->start_min % sc->interval_min != 0) {
        rv = sim__bad(errmsg, "scenario.start must begin an interval of %d min",
                      sc->interval_min);
    }
    if (rv == 0 && sc->start_min + sc->interval_min * sc->intervals > 24 * 60) {
        rv = sim__bad(errmsg, "the intervals must end within the day");
    }
    if (rv == 0 && sc->interval_min * 60 != SC_PETRA_INTERVAL_S) {
        rv = sim__bad(errmsg,
                      "scenario.interval_min must be %d: the petra "
                      "contract prices %d-second intervals",
                      SC_PETRA_INTERVAL_S / 60, SC_PETRA_INTERVAL_S);
    }
    json_t *feeder = json_object_get(root, "feeder");
    sc->export_kw = sc->import_kw = 1e6;
    rv = rv ? rv
            : sim__num(feeder, "export_kw", 0, 1e6, &sc->export_kw, "feeder",
                       errmsg);
    rv = rv ? rv
            : sim__num(feeder, "import_kw", 0, 1e6, &sc->import_kw, "feeder",
                       errmsg);
    json_t *ps = json_object_get(root, "prosumers");
    if (rv == 0 && (!json_is_array(ps) || json_array_size(ps) == 0 ||
                    json_array_size(ps) > SIM_PETRA_MAX_PROSUMERS)) {
        rv = sim__bad(errmsg, "prosumers must be an array of 1..%d prosumers",
                      SIM_PETRA_MAX_PROSUMERS);
    }
    for (size_t i = 0; rv == 0 && i < json_array_size(ps); i++) {
        rv = load_prosumer(sc, json_array_get(ps, i), i, errmsg);
        sc->nprosumers = i + 1;
    }
    json_t *lg = json_object_get(root, "ledger");
    snprintf(sc->channel, sizeof sc->channel, "microgrid");
    const char *ch = json_string_value(json_object_get(lg, "channel"));
    if (ch != NULL) {
        snprintf(sc->channel, sizeof sc->channel, "%s", ch);
    }
    double btx = 2000, bus = 0;
    rv = rv ? rv
            : sim__num(lg, "block_tx", 1, LG_BLOCK_MAX_TX, &btx, "ledger",
                       errmsg);
    rv = rv ? rv : sim__num(lg, "batch_us", 0, 1e7, &bus, "ledger", errmsg);
    sc->block_tx = (unsigned)btx;
    sc->batch_us = (uint64_t)bus;
    snprintf(sc->bind, sizeof sc->bind, "tcp://127.0.0.1:*");
    const char *bind = json_string_value(json_object_get(root, "dso_bind"));
    if (bind != NULL) {
        snprintf(sc->bind, sizeof sc->bind, "%s", bind);
    }
    json_decref(root);
    return rv;
}

/* ---- the run --------------------------------------------------------------
 */

struct held {
    char id[24];
    int64_t power;
};

/* One anonymous address of a prosumer, for one delivery interval. */
struct slot {
    bool open;
    int64_t interval;
    struct mk_petra_wallet w;
    struct held held[MAX_HELD];
    size_t nheld;
    char offer[24]; /* my open offer, or "" */
    char offered[24];
};

struct pt;

struct pros {
    struct pt *p;
    size_t i;
    int id;
    struct lg_cert cert;
    struct cr_keypair key;
    struct mk_link *link;
    struct slot s;
};

struct posted {
    char offer[24];
    uint64_t t_ns;
    int64_t sim_s;
};

struct trade {
    char offer[24];
    bool ask;
    int64_t interval, power, price, amount, posted_s, accepted_s;
    double clear_ms;
};

struct wrec {
    int64_t sim_s, interval, power, funds;
    size_t who;
    char address[65];
    bool ok;
    char reason[LG_REASON_MAX + 1];
};

struct pt {
    const struct sim_petra_scenario *sc;
    const struct sim_petra_env *env;
    char *errmsg;
    struct sim_petra_summary *sum;
    int64_t first; /* absolute number of the first interval */
    struct sim *sim;
    struct mk_client *dso_cli;
    struct mk_petra_dso *dso;
    struct mk_msg_server *srv;
    char endpoint[256];
    struct pros *pros;
    struct posted *posted;
    size_t nposted, capposted;
    struct trade *trades;
    size_t ntrades, captrades;
    struct wrec *wrecs;
    size_t nwrecs, capwrecs;
    uint64_t deposits, rescinded;
    int done;
    /* Deposits go asynchronously: nobody waits for them, so they share
     * blocks with the trading. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t inflight;
    uint64_t async_ok;
    char async_err[LG_REASON_MAX + 1];
    struct mk_client **closed; /* clients of closed addresses */
    size_t nclosed, capclosed;
};

static int fail(struct pt *p, int code, const char *fmt, ...) BASE_PRINTF(3, 4);
static int fail(struct pt *p, int code, const char *fmt, ...)
{
    if (p->errmsg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->errmsg, BASE_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Append one element of @size to a growable array. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void *a = base_realloc(*arr, c * size);
        if (a == NULL) {
            return NULL;
        }
        *arr = a;
        *cap = c;
    }
    void *e = (char *)*arr + (*n)++ * size;
    memset(e, 0, size);
    return e;
}

static int64_t micro(double per_kwh)
{
    return (int64_t)llround(per_kwh * 1e6);
}

static int call(struct mk_client *c, const char *fn, uint32_t n,
                const char *const *argv, struct mk_result *res)
{
    struct lg_slice a[4];
    for (uint32_t i = 0; i < n; i++) {
        a[i].p = (const uint8_t *)argv[i];
        a[i].len = strlen(argv[i]);
    }
    return mk_submit(c, "petra", fn, n, a, res);
}

static void async_done(void *arg, const struct mk_result *r)
{
    struct pt *p = arg;
    pthread_mutex_lock(&p->mu);
    if (r->code == 0) {
        p->async_ok++;
    } else if (p->async_err[0] == '\0') {
        snprintf(p->async_err, sizeof p->async_err, "%s", r->reason);
    }
    p->inflight--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int call_async(struct pt *p, struct mk_client *c, const char *fn,
                      const char *arg)
{
    struct lg_slice a = {(const uint8_t *)arg, strlen(arg)};
    pthread_mutex_lock(&p->mu);
    p->inflight++;
    pthread_mutex_unlock(&p->mu);
    int rv = mk_submit_async(c, "petra", fn, 1, &a, async_done, p);
    if (rv != 0) {
        pthread_mutex_lock(&p->mu);
        p->inflight--;
        pthread_mutex_unlock(&p->mu);
    }
    return rv;
}

/* Wait for every asynchronous call; the first failure is the run's. */
static int async_wait(struct pt *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->inflight > 0) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->async_err[0] != '\0') {
        return fail(p, BASE_EABORTED, "a deposit was refused: %s",
                    p->async_err);
    }
    return 0;
}

static json_t *read_one(struct mk_client *c, const char *fn, const char *arg)
{
    struct lg_slice a = {(const uint8_t *)arg, strlen(arg)};
    struct base_buf b;
    base_buf_init(&b, 0);
    char reason[LG_REASON_MAX + 1];
    json_t *o = NULL;
    if (mk_evaluate(c, "petra", fn, 1, &a, &b, reason) == 0) {
        o = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, NULL);
    }
    base_buf_release(&b);
    return o;
}

static void hold(struct slot *s, const char *id, int64_t power)
{
    if (s->nheld < MAX_HELD) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%s", id); /* @id may point into @s */
        memcpy(s->held[s->nheld].id, tmp, sizeof tmp);
        s->held[s->nheld++].power = power;
    }
}

static void unhold(struct slot *s, const char *id)
{
    for (size_t i = 0; i < s->nheld; i++) {
        if (strcmp(s->held[i].id, id) == 0) {
            s->held[i] = s->held[--s->nheld];
            return;
        }
    }
}

/* Take into the slot the assets of an accepted offer that are the slot's:
 * the exchanged part and what came back. */
static void collect(struct slot *s, json_t *offer)
{
    json_t *t = json_object_get(offer, "trade");
    const char *ids[2] = {json_string_value(json_object_get(t, "to_buyer")),
                          json_string_value(json_object_get(t, "to_seller"))};
    json_t *ret = json_object_get(t, "returned");
    size_t n = json_array_size(ret);
    for (size_t i = 0; i < 2 + n; i++) {
        const char *id =
            i < 2 ? ids[i] : json_string_value(json_array_get(ret, i - 2));
        if (id == NULL) {
            continue;
        }
        json_t *a = read_one(s->w.cli, "readAsset", id);
        const char *owner = json_string_value(json_object_get(a, "owner"));
        if (owner != NULL && strcmp(owner, s->w.address) == 0) {
            hold(s, id, json_integer_value(json_object_get(a, "power")));
        }
        json_decref(a);
    }
}

/* Has my open offer been taken? Then take what came back. */
static void check_offer(struct pros *pr)
{
    struct slot *s = &pr->s;
    if (s->offer[0] == '\0') {
        return;
    }
    json_t *o = read_one(s->w.cli, "readOffer", s->offer);
    const char *st = json_string_value(json_object_get(o, "status"));
    if (st != NULL && strcmp(st, "accepted") == 0) {
        unhold(s, s->offered);
        collect(s, o);
        s->offer[0] = '\0';
    }
    json_decref(o);
}

static const struct posted *find_posted(const struct pt *p, const char *offer)
{
    for (size_t i = p->nposted; i-- > 0;) {
        if (strcmp(p->posted[i].offer, offer) == 0) {
            return &p->posted[i];
        }
    }
    return NULL;
}

static int accept(struct pros *pr, const struct mk_petra_offer *f,
                  const struct held *h, int64_t t)
{
    struct pt *p = pr->p;
    struct slot *s = &pr->s;
    char asset[24];
    snprintf(asset, sizeof asset, "%s", h->id);
    const char *argv[] = {f->id, asset};
    struct mk_result res;
    int rv = call(s->w.cli, "acceptOffer", 2, argv, &res);
    uint64_t done = mono_ns();
    if (rv != 0) {
        /* Taken by someone else first, say: not an error of the run. */
        return 0;
    }
    unhold(s, asset);
    json_t *o = read_one(s->w.cli, "readOffer", f->id);
    json_t *tr = json_object_get(o, "trade");
    struct trade *x =
        grow((void **)&p->trades, &p->ntrades, &p->captrades, sizeof *x);
    if (x == NULL) {
        json_decref(o);
        return fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    const struct posted *ps = find_posted(p, f->id);
    snprintf(x->offer, sizeof x->offer, "%s", f->id);
    x->ask = f->ask;
    x->interval = json_integer_value(json_object_get(tr, "start"));
    x->power = json_integer_value(json_object_get(tr, "power"));
    x->amount = json_integer_value(json_object_get(tr, "amount"));
    x->price = f->price;
    x->accepted_s = t;
    x->posted_s = ps ? ps->sim_s : t;
    x->clear_ms = ps ? (double)(done - ps->t_ns) / 1e6 : 0;
    collect(s, o);
    json_decref(o);
    return 0;
}

static int post(struct pros *pr, const struct held *h, int64_t t)
{
    struct pt *p = pr->p;
    struct slot *s = &pr->s;
    const struct sim_petra_prosumer *me = &p->sc->prosumers[pr->i];
    char price[24], asset[24];
    snprintf(price, sizeof price, "%lld", (long long)micro(me->price));
    snprintf(asset, sizeof asset, "%s", h->id);
    const char *argv[] = {asset, price};
    struct posted *ps =
        grow((void **)&p->posted, &p->nposted, &p->capposted, sizeof *ps);
    if (ps == NULL) {
        return fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    ps->t_ns = mono_ns();
    ps->sim_s = t;
    struct mk_result res;
    if (call(s->w.cli, "postOffer", 2, argv, &res) != 0) {
        p->nposted--;
        return fail(p, BASE_EABORTED, "%s: postOffer refused: %s", me->name,
                    res.reason);
    }
    sc_petra_id(ps->offer, 'o', res.block, &res.id, -1);
    snprintf(s->offer, sizeof s->offer, "%s", ps->offer);
    snprintf(s->offered, sizeof s->offered, "%s", asset);
    return 0;
}

/* One trading move: take the best opposite offer for an asset I hold, or
 * else offer it myself (producers always, consumers that bid). */
static int trade(struct pros *pr, int64_t t)
{
    struct pt *p = pr->p;
    struct slot *s = &pr->s;
    const struct sim_petra_prosumer *me = &p->sc->prosumers[pr->i];
    check_offer(pr);
    struct mk_petra_offer offers[256];
    int n = -1;
    for (size_t i = 0; i < s->nheld; i++) {
        const struct held *h = &s->held[i];
        bool mine = me->producer ? h->power > 0 : h->power < 0;
        if (!mine || strcmp(h->id, s->offered) == 0) {
            continue;
        }
        if (n < 0) {
            n = mk_petra_offers(s->w.cli, offers, BASE_ARRAY_LEN(offers));
            if (n < 0) {
                return fail(p, n, "%s: cannot read the offers", me->name);
            }
        }
        struct mk_petra_asset a = {h->power, s->interval, s->interval};
        const char *own[] = {s->w.address};
        int b = mk_petra_best(offers, (size_t)n, &a, micro(me->price), own, 1);
        if (b >= 0) {
            struct held copy = *h;
            return accept(pr, &offers[b], &copy, t);
        }
        if (s->offer[0] == '\0' && (me->producer || me->bids)) {
            struct held copy = *h;
            return post(pr, &copy, t);
        }
    }
    return 0;
}

/* The interval has come: rescind what is still offered, give everything
 * back to the DSO, forget the address. */
static int close_slot(struct pros *pr)
{
    struct pt *p = pr->p;
    struct slot *s = &pr->s;
    if (!s->open) {
        return 0;
    }
    struct mk_result res;
    check_offer(pr);
    if (s->offer[0] != '\0') {
        const char *argv[] = {s->offer};
        if (call(s->w.cli, "rescindOffer", 1, argv, &res) == 0) {
            p->rescinded++;
        }
        s->offer[0] = '\0';
    }
    s->offered[0] = '\0';
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < s->nheld; i++) {
        rv = call_async(p, s->w.cli, "depositEnergyAsset", s->held[i].id);
    }
    json_t *bal = read_one(s->w.cli, "balance", s->w.address);
    long long b = (long long)json_integer_value(bal);
    json_decref(bal);
    if (rv == 0 && b > 0) {
        char amt[24];
        snprintf(amt, sizeof amt, "%lld", b);
        rv = call_async(p, s->w.cli, "depositFinancial", amt);
    }
    if (rv != 0) {
        return fail(p, rv, "cannot submit a deposit: %s", base_strerror(rv));
    }
    /* The client stays open until its deposits are in: it is the one
     * that submitted them. An array of pointers: the pointer size is
     * meant. */
    struct mk_client **keep =
        // NOLINTNEXTLINE(bugprone-sizeof-expression)
        grow((void **)&p->closed, &p->nclosed, &p->capclosed, sizeof *keep);
    if (keep == NULL) {
        return fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    *keep = s->w.cli;
    s->w.cli = NULL;
    mk_petra_wallet_release(&s->w);
    memset(s, 0, sizeof *s);
    return 0;
}

static int open_slot(struct pros *pr, int64_t k, int64_t t)
{
    struct pt *p = pr->p;
    struct slot *s = &pr->s;
    const struct sim_petra_prosumer *me = &p->sc->prosumers[pr->i];
    double kw = me->kw[k - p->first];
    int64_t w = (int64_t)llround(kw * 1000);
    if (w <= 0) {
        return 0;
    }
    struct mk_petra_asset a = {me->producer ? w : -w, k, k};
    int64_t funds = 0;
    if (!me->producer && sc_petra_amount(micro(me->price), w, 1, &funds) != 0) {
        return fail(p, BASE_EINVAL, "%s: price too high", me->name);
    }
    char reason[LG_REASON_MAX + 1] = "";
    int rv = mk_petra_withdraw(pr->link, &pr->cert, &pr->key, &a, 1, funds,
                               p->env->anon, p->env->arg, &s->w, reason);
    struct wrec *r =
        grow((void **)&p->wrecs, &p->nwrecs, &p->capwrecs, sizeof *r);
    if (r == NULL) {
        return fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    r->sim_s = t;
    r->interval = k;
    r->power = a.power;
    r->funds = funds;
    r->who = pr->i;
    r->ok = rv == 0;
    snprintf(r->address, sizeof r->address, "%s", rv == 0 ? s->w.address : "");
    snprintf(r->reason, sizeof r->reason, "%s", rv == 0 ? "" : reason);
    if (rv == BASE_EPERM) {
        return 0; /* failedWithdrawal: no trading this interval */
    }
    if (rv != 0) {
        return fail(p, rv, "%s: withdrawal: %s", me->name, reason);
    }
    s->open = true;
    s->interval = k;
    for (uint32_t i = 0; i < s->w.nassets; i++) {
        hold(s, s->w.assets[i], a.power);
    }
    return 0;
}

/* Trading for interval k runs from (k-1)*T to k*T; at k*T the interval is
 * delivered and its address closed. Kernel time is seconds of the day. */
static int pros_step(void *self, struct sim *sim, int64_t t)
{
    (void)sim;
    struct pros *pr = self;
    struct pt *p = pr->p;
    int64_t T = p->sc->interval_min * 60;
    int64_t k = t / T + 1;
    if (pr->s.open && pr->s.interval < k) {
        int rv = close_slot(pr);
        if (rv != 0) {
            return rv;
        }
    }
    if (k >= p->first + p->sc->intervals) {
        return 0;
    }
    if (!pr->s.open && pr->s.interval < k) {
        pr->s.interval = k; /* one withdrawal per interval, ok or not */
        /* The first step of a window withdraws; trading starts at the
         * next, when every prosumer has its assets for the interval. */
        return open_slot(pr, k, t);
    }
    return pr->s.open ? trade(pr, t) : 0;
}

static int dso_step(void *self, struct sim *sim, int64_t t)
{
    (void)sim;
    struct pt *p = self;
    int rv = mk_petra_dso_collect(p->dso);
    if (rv < 0) {
        return fail(p, rv, "DSO: cannot read the deposits");
    }
    int64_t T = p->sc->interval_min * 60;
    int done = (int)(t / T - p->first);
    if (done > p->done && done <= p->sc->intervals) {
        p->done = done;
        if (p->env->progress != NULL) {
            p->env->progress(p->env->arg, done, p->sc->intervals);
        }
    }
    return 0;
}

static int setup(struct pt *p)
{
    const struct sim_petra_scenario *sc = p->sc;
    const struct sim_petra_env *env = p->env;
    int64_t T = sc->interval_min * 60;
    p->first = sc->start_min / sc->interval_min;
    p->pros = base_calloc(sc->nprosumers, sizeof *p->pros);
    p->dso = base_calloc(1, sizeof *p->dso);
    if (p->pros == NULL || p->dso == NULL) {
        return fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    struct mk_petra_dso *d = p->dso;
    int rv = env->client(env->arg, "DSO", "operator", &p->dso_cli);
    if (rv != 0) {
        return fail(p, rv, "petra: no client for DSO/operator");
    }
    struct cr_keypair people;
    rv = env->root(env->arg, MK_PETRA_ANON_ORG, &d->anon_root);
    rv = rv ? rv : env->root(env->arg, MK_PETRA_PEOPLE_ORG, &people);
    if (rv != 0) {
        return fail(p, rv, "petra: cannot read the ANON and PROSUMERS roots");
    }
    memcpy(d->people_root, people.pk, CR_PUBKEY_SIZE);
    cr_wipe(&people, sizeof people);
    d->cli = p->dso_cli;
    /* One validity window for every anonymous certificate: the day. */
    uint64_t now = base_wall_ns() / 1000000000u;
    d->cert_not_before = now - now % 86400 - 86400;
    d->cert_expiry = d->cert_not_before + 3 * 86400;
    d->first = p->first;
    d->n = sc->intervals;
    d->export_w = (int64_t)llround(sc->export_kw * 1000);
    d->import_w = (int64_t)llround(sc->import_kw * 1000);
    d->naccounts = sc->nprosumers;
    for (size_t i = 0; i < sc->nprosumers; i++) {
        const struct sim_petra_prosumer *q = &sc->prosumers[i];
        struct mk_petra_account *a = &d->accounts[i];
        snprintf(a->name, sizeof a->name, "%s", q->name);
        a->funds = micro(q->funds);
        for (int k = 0; k < sc->intervals; k++) {
            int64_t w = (int64_t)llround(q->kw[k] * 1000);
            (q->producer ? a->prod_w : a->cons_w)[k] = w;
        }
    }
    rv = mk_petra_dso_init(d);
    if (rv != 0) {
        return fail(p, rv, "petra: out of memory");
    }
    if (mk_msg_serve(&p->srv, sc->bind, mk_petra_dso_handle, d, p->endpoint) !=
        0) {
        return fail(p, BASE_EIO, "DSO: %s", p->endpoint);
    }
    rv = sim_new(&p->sim);
    int id;
    struct sim_federate_ops dops = {dso_step, NULL};
    /* The DSO credits deposits a minute into each interval. */
    int64_t t0 = (p->first - 1) * T;
    rv = rv ? rv : sim_join(p->sim, "dso", T, t0 + T + 50, &dops, p, &id);
    struct sim_federate_ops pops = {pros_step, NULL};
    for (size_t i = 0; rv == 0 && i < sc->nprosumers; i++) {
        struct pros *pr = &p->pros[i];
        pr->p = p;
        pr->i = i;
        pr->s.interval = p->first - 1;
        rv = env->member(env->arg, MK_PETRA_PEOPLE_ORG, sc->prosumers[i].name,
                         &pr->cert, &pr->key);
        if (rv != 0) {
            return fail(p, rv, "petra: no identity for %s",
                        sc->prosumers[i].name);
        }
        /* Each prosumer its own socket to the DSO. */
        rv = mk_link_zmq(&pr->link, p->endpoint);
        if (rv != 0) {
            return fail(p, rv, "petra: cannot connect to the DSO at %s",
                        p->endpoint);
        }
        char name[SIM_NAME_MAX + 1];
        snprintf(name, sizeof name, "%.31s", sc->prosumers[i].name);
        /* Every minute, staggered by a few seconds. */
        rv = sim_join(p->sim, name, 60, t0 + 1 + 4 * (int64_t)i, &pops, pr,
                      &pr->id);
    }
    return rv ? fail(p, rv, "petra: cannot set up the co-simulation") : 0;
}

static void teardown(struct pt *p)
{
    for (size_t i = 0; p->pros != NULL && i < p->sc->nprosumers; i++) {
        if (p->pros[i].s.open) {
            mk_petra_wallet_release(&p->pros[i].s.w);
        }
        mk_link_close(p->pros[i].link);
        cr_wipe(&p->pros[i].key, sizeof p->pros[i].key);
    }
    mk_msg_server_stop(p->srv);
    for (size_t i = 0; i < p->nclosed; i++) {
        mk_client_close(p->closed[i]);
    }
    base_free(p->closed);
    if (p->dso != NULL) {
        mk_petra_dso_release(p->dso);
    }
    mk_client_close(p->dso_cli);
    sim_free(p->sim);
    base_free(p->dso);
    base_free(p->pros);
    base_free(p->posted);
    base_free(p->trades);
    base_free(p->wrecs);
}

/* ---- results ----------------------------------------------------------- */

static void hhmm(char *out, size_t size, int64_t minute)
{
    snprintf(out, size, "%02d:%02d", (int)(minute / 60 % 24),
             (int)(minute % 60));
}

/* The clearing-time statistics and histogram (ms), as the paper gives. */
static json_t *clearing_json(struct pt *p, double *sorted)
{
    struct sim_petra_summary *s = p->sum;
    size_t n = p->ntrades;
    json_t *edges = json_array(), *counts = json_array();
    if (n > 0) {
        double lo = sorted[0], hi = sorted[n - 1];
        double w = hi > lo ? (hi - lo) / HIST_BINS : 1;
        size_t c[HIST_BINS] = {0};
        for (size_t i = 0; i < n; i++) {
            size_t b = (size_t)((sorted[i] - lo) / w);
            c[b < HIST_BINS ? b : HIST_BINS - 1]++;
        }
        for (size_t b = 0; b <= HIST_BINS; b++) {
            json_array_append_new(edges, json_real(lo + w * (double)b));
            if (b < HIST_BINS) {
                json_array_append_new(counts, json_integer((json_int_t)c[b]));
            }
        }
    }
    return json_pack(
        "{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:{s:f, s:f, s:f, "
        "s:f, s:f, s:f, s:s}}",
        "unit", "ms", "n", (json_int_t)n, "mean", s->clear_mean, "median",
        s->clear_median, "variance", s->clear_var, "max", s->clear_max, "min",
        s->clear_min, "p90", s->clear_p90, "edges", edges, "counts", counts,
        "paper", "mean", 11790.0, "median", 11000.0, "variance", 46.74e6, "max",
        38000.0, "min", 0.0, "p90", 23000.0, "platform",
        "Ethereum (geth, proof of work), 6 VMs");
}

static void summarise(struct pt *p, double *sorted)
{
    struct sim_petra_summary *s = p->sum;
    const struct sim_petra_scenario *sc = p->sc;
    s->intervals = sc->intervals;
    for (size_t i = 0; i < sc->nprosumers; i++) {
        const struct sim_petra_prosumer *q = &sc->prosumers[i];
        (*(q->producer ? &s->producers : &s->consumers))++;
        for (int k = 0; k < sc->intervals; k++) {
            double kwh = q->kw[k] * sc->interval_min / 60.0;
            *(q->producer ? &s->production_kwh : &s->load_kwh) += kwh;
        }
    }
    s->withdrawals = p->nwrecs;
    for (size_t i = 0; i < p->nwrecs; i++) {
        s->failed_withdrawals += !p->wrecs[i].ok;
    }
    s->addresses = p->dso->nmap;
    s->offers = p->nposted;
    s->trades = p->ntrades;
    s->rescinded = p->rescinded;
    s->deposits = p->deposits;
    double sum = 0;
    for (size_t i = 0; i < p->ntrades; i++) {
        const struct trade *t = &p->trades[i];
        s->traded_kwh += (double)t->power * sc->interval_min / 60.0 / 1000.0;
        s->traded_value += (double)t->amount / 1e6;
        sorted[i] = t->clear_ms;
        sum += t->clear_ms;
    }
    size_t n = p->ntrades;
    if (n > 0) {
        qsort(sorted, n, sizeof *sorted, sim__cmp_double);
        s->clear_mean = sum / (double)n;
        s->clear_median =
            n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        double v = 0;
        for (size_t i = 0; i < n; i++) {
            v += (sorted[i] - s->clear_mean) * (sorted[i] - s->clear_mean);
        }
        s->clear_var = v / (double)n;
        s->clear_min = sorted[0];
        s->clear_max = sorted[n - 1];
        s->clear_p90 = sorted[(size_t)ceil(0.9 * (double)n) - 1];
    }
    if (p->env->ledger_stats != NULL) {
        p->env->ledger_stats(p->env->arg, &s->ledger_tx, &s->ledger_invalid,
                             &s->ledger_refused, &s->ledger_blocks);
    }
}

static FILE *open_out(struct pt *p, const char *dir, const char *name,
                      char *path)
{
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fail(p, BASE_EIO, "cannot write %s", path);
    }
    return f;
}

static int close_out(struct pt *p, FILE *f, const char *path)
{
    if (ferror(f) | fclose(f)) {
        return fail(p, BASE_EIO, "cannot write %s", path);
    }
    return 0;
}

static int write_csvs(struct pt *p, const char *dir)
{
    char path[PATH_MAX], t[8];
    int64_t imin = p->sc->interval_min;
    FILE *f = open_out(p, dir, "trades.csv", path);
    if (f == NULL) {
        return BASE_EIO;
    }
    fprintf(f, "offer,kind,interval,start,power_w,energy_kwh,price_per_kwh,"
               "amount,posted_s,accepted_s,clearing_ms\n");
    for (size_t i = 0; i < p->ntrades; i++) {
        const struct trade *x = &p->trades[i];
        hhmm(t, sizeof t, x->interval * imin);
        fprintf(f, "%s,%s,%lld,%s,%lld,%.4f,%.6f,%.6f,%lld,%lld,%.3f\n",
                x->offer, x->ask ? "ask" : "bid", (long long)x->interval, t,
                (long long)x->power, (double)x->power * (double)imin / 60e3,
                (double)x->price / 1e6, (double)x->amount / 1e6,
                (long long)x->posted_s, (long long)x->accepted_s, x->clear_ms);
    }
    int rv = close_out(p, f, path);
    f = rv ? NULL : open_out(p, dir, "withdrawals.csv", path);
    if (f == NULL) {
        return BASE_EIO;
    }
    fprintf(f, "sim_s,prosumer,interval,power_w,funds,result,address,reason\n");
    for (size_t i = 0; i < p->nwrecs; i++) {
        const struct wrec *r = &p->wrecs[i];
        /* Reasons hold no '"'; quote them for their commas. */
        fprintf(f, "%lld,%s,%lld,%lld,%.6f,%s,%s,\"%s\"\n", (long long)r->sim_s,
                p->sc->prosumers[r->who].name, (long long)r->interval,
                (long long)r->power, (double)r->funds / 1e6,
                r->ok ? "withdrawn" : "failed", r->address, r->reason);
    }
    rv = close_out(p, f, path);
    f = rv ? NULL : open_out(p, dir, "dso-map.csv", path);
    if (f == NULL) {
        return BASE_EIO;
    }
    fprintf(f, "address,prosumer\n");
    for (size_t i = 0; i < p->dso->nmap; i++) {
        uint8_t a[CR_PUBKEY_SIZE];
        size_t acct;
        char hex[65];
        mk_petra_dso_map_entry(p->dso, i, a, &acct);
        base_hex_encode(hex, a, CR_PUBKEY_SIZE);
        fprintf(f, "%s,%s\n", hex, p->dso->accounts[acct].name);
    }
    return close_out(p, f, path);
}

static json_t *summary_json(const struct sim_petra_summary *s)
{
    return json_pack(
        "{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, "
        "s:f, s:I, s:I, s:I, s:I, s:f}",
        "intervals", s->intervals, "producers", s->producers, "consumers",
        s->consumers, "withdrawals", (json_int_t)s->withdrawals,
        "failed_withdrawals", (json_int_t)s->failed_withdrawals, "addresses",
        (json_int_t)s->addresses, "offers", (json_int_t)s->offers, "trades",
        (json_int_t)s->trades, "rescinded", (json_int_t)s->rescinded,
        "deposits", (json_int_t)s->deposits, "traded_kwh", s->traded_kwh,
        "traded_value", s->traded_value, "production_kwh", s->production_kwh,
        "load_kwh", s->load_kwh, "ledger_tx", (json_int_t)s->ledger_tx,
        "ledger_invalid", (json_int_t)s->ledger_invalid, "ledger_refused",
        (json_int_t)s->ledger_refused, "ledger_blocks",
        (json_int_t)s->ledger_blocks, "runtime_s", s->runtime_s);
}

static json_t *intervals_json(struct pt *p)
{
    const struct sim_petra_scenario *sc = p->sc;
    json_t *a = json_array();
    for (int k = 0; a != NULL && k < sc->intervals; k++) {
        double prod = 0, load = 0, traded = 0, value = 0, wd = 0;
        int64_t abs = p->first + k;
        for (size_t i = 0; i < sc->nprosumers; i++) {
            double kwh = sc->prosumers[i].kw[k] * sc->interval_min / 60.0;
            *(sc->prosumers[i].producer ? &prod : &load) += kwh;
        }
        for (size_t i = 0; i < p->ntrades; i++) {
            if (p->trades[i].interval == abs) {
                traded += (double)p->trades[i].power * sc->interval_min / 60e3;
                value += (double)p->trades[i].amount / 1e6;
            }
        }
        for (size_t i = 0; i < p->nwrecs; i++) {
            wd += p->wrecs[i].interval == abs && !p->wrecs[i].ok;
        }
        char t[8];
        hhmm(t, sizeof t, abs * sc->interval_min);
        json_array_append_new(
            a, json_pack("{s:I, s:s, s:f, s:f, s:f, s:f, s:f}", "interval",
                         (json_int_t)abs, "start", t, "production_kwh", prod,
                         "load_kwh", load, "traded_kwh", traded, "mean_price",
                         traded > 0 ? value / traded : 0.0,
                         "failed_withdrawals", wd));
    }
    return a;
}

static json_t *trades_json(struct pt *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < p->ntrades; i++) {
        const struct trade *x = &p->trades[i];
        char t[8];
        hhmm(t, sizeof t, x->interval * p->sc->interval_min);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:f}", "offer",
                         x->offer, "kind", x->ask ? "ask" : "bid", "start", t,
                         "power_w", (json_int_t)x->power, "price",
                         (double)x->price / 1e6, "amount",
                         (double)x->amount / 1e6, "clearing_ms", x->clear_ms));
    }
    return a;
}

static json_t *failed_json(struct pt *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < p->nwrecs; i++) {
        const struct wrec *r = &p->wrecs[i];
        if (r->ok) {
            continue;
        }
        char t[8];
        hhmm(t, sizeof t, r->interval * p->sc->interval_min);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:I, s:s}", "prosumer",
                         p->sc->prosumers[r->who].name, "start", t, "power_w",
                         (json_int_t)r->power, "reason", r->reason));
    }
    return a;
}

static int write_results(struct pt *p, const char *dir, double *sorted)
{
    json_t *summary = summary_json(p->sum);
    json_t *clearing = clearing_json(p, sorted);
    json_t *res =
        json_pack("{s:s, s:s, s:O, s:O, s:s}", "scenario", p->sc->path, "name",
                  p->sc->name, "summary", summary, "clearing", clearing,
                  "dso_endpoint", p->endpoint);
    int rv = sim__write_json(dir, "results.json", res, p->errmsg);
    json_decref(res);
    json_t *rep =
        json_pack("{s:s, s:s, s:O, s:O, s:o, s:o, s:o}", "title", p->sc->name,
                  "scenario", p->sc->path, "summary", summary, "clearing",
                  clearing, "intervals", intervals_json(p), "trades",
                  trades_json(p), "failed_withdrawals", failed_json(p));
    rv = rv ? rv : sim__write_json(dir, "report-data.json", rep, p->errmsg);
    char *text =
        rv == 0 ? json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(8)) : NULL;
    if (rv == 0 && text == NULL) {
        rv = fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    if (rv == 0) {
        char path[PATH_MAX], err[BASE_ERRMSG_SIZE];
        snprintf(path, sizeof path, "%s/report.html", dir);
        rv = rp_write_html(path, RP_PETRA, NULL, text, strlen(text), err);
        if (rv != 0) {
            fail(p, rv, "%s", err);
        }
    }
    free(text);
    json_decref(rep);
    json_decref(summary);
    json_decref(clearing);
    return rv;
}

int sim_petra_run(const struct sim_petra_scenario *sc,
                  const struct sim_petra_env *env, const char *outdir,
                  struct sim_petra_summary *sum, char *errmsg)
{
    uint64_t t0 = mono_ns();
    memset(sum, 0, sizeof *sum);
    errmsg[0] = '\0';
    struct pt *p = base_calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(errmsg, BASE_ERRMSG_SIZE, "petra: out of memory");
        return BASE_ENOMEM;
    }
    p->sc = sc;
    p->env = env;
    p->errmsg = errmsg;
    p->sum = sum;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rv = setup(p);
    if (rv == 0) {
        int64_t T = sc->interval_min * 60;
        /* Past the last delivery start, so every address is closed and
         * every deposit credited. */
        int64_t end = (p->first + sc->intervals) * T + 120;
        rv = sim_run(p->sim, end, NULL, NULL);
        if (rv != 0) {
            fail(p, rv, "petra: the run stopped: %s", base_strerror(rv));
        }
    }
    int wrv = async_wait(p); /* also after a failure: callbacks use p */
    rv = rv ? rv : wrv;
    if (rv == 0) {
        /* The last deposits, now that they are all in. */
        int n = mk_petra_dso_collect(p->dso);
        rv = n < 0 ? fail(p, n, "DSO: cannot read the deposits") : 0;
    }
    p->deposits = p->async_ok;
    double *sorted = NULL;
    if (rv == 0) {
        sorted = base_calloc(p->ntrades + 1, sizeof *sorted);
        rv = sorted ? 0 : fail(p, BASE_ENOMEM, "petra: out of memory");
    }
    if (rv == 0) {
        sum->runtime_s = (double)(mono_ns() - t0) / 1e9;
        summarise(p, sorted);
        rv = write_csvs(p, outdir);
    }
    if (rv == 0) {
        rv = write_results(p, outdir, sorted);
    }
    base_free(sorted);
    teardown(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    base_free(p);
    return rv;
}
