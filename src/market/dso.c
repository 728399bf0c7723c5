/* SPDX-License-Identifier: MIT */
/* The DSO agent's feasibility check: power flow with the proposed DER
 * injections over the interval, and curtailment until no node is above the
 * voltage limit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "market.h"

/* What the voltages did over the interval. */
struct scan {
    double vmax, vmin;
    int worst_minute; /* where vmax happened */
    size_t worst_node;
};

/* Headroom kept below the limit by the curtailment, pu: the feeder is
 * solved again every minute with actual conditions, and a bid curtailed to
 * the exact limit would sit on it. */
#define MARGIN 0.002

static bool skipped(const struct mk_dso *d, const char *bus)
{
    for (size_t i = 0; i < d->nskip; i++) {
        if (strcmp(d->skip[i], bus) == 0) {
            return true;
        }
    }
    return false;
}

static int solve_at(struct mk_dso *d, const char *const *names,
                    const double *kw, size_t n, int minute)
{
    int rv = d->loads ? d->loads(d->loads_arg, d->model, minute) : 0;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        rv = pf_der_set(d->model, names[i], kw[i], 0);
    }
    if (rv == 0) {
        d->solves++;
        rv = pf_solve(d->model);
    }
    return rv;
}

static void extremes(struct mk_dso *d, int minute, struct scan *sc)
{
    size_t nn = pf_node_count(d->model);
    for (size_t k = 0; k < nn; k++) {
        struct pf_node nd;
        if (pf_node_get(d->model, k, &nd) != 0 || nd.kv_base <= 0 ||
            skipped(d, nd.bus)) {
            continue;
        }
        double v = hypot(nd.v_re, nd.v_im) / (nd.kv_base * 1000.0);
        if (v > sc->vmax) {
            sc->vmax = v;
            sc->worst_minute = minute;
            sc->worst_node = k;
        }
        if (v < sc->vmin) {
            sc->vmin = v;
        }
    }
}

static int scan(struct mk_dso *d, const char *const *names, const double *kw,
                size_t n, int start, int len, struct scan *sc)
{
    sc->vmax = 0;
    sc->vmin = 1e9;
    sc->worst_minute = start;
    sc->worst_node = 0;
    for (int m = start; m < start + len; m++) {
        int rv = solve_at(d, names, kw, n, m);
        if (rv != 0) {
            return rv;
        }
        extremes(d, m, sc);
    }
    return 0;
}

/* Paper 001: scale every DER by one factor, the largest that keeps the
 * voltages in limits (bisection: the maximum voltage grows with it). */
static int proportional(struct mk_dso *d, const char *const *names,
                        const double *kw, size_t n, int start, int len,
                        double *out)
{
    double lo = 0, hi = 1;
    for (int it = 0; it < 14; it++) {
        double mid = 0.5 * (lo + hi);
        for (size_t i = 0; i < n; i++) {
            out[i] = kw[i] * mid;
        }
        struct scan sc;
        int rv = scan(d, names, out, n, start, len, &sc);
        if (rv != 0) {
            return rv;
        }
        if (sc.vmax <= d->vmax - MARGIN) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = floor(kw[i] * lo * 1000.0) / 1000.0;
    }
    return 0;
}

/* Curtail where it helps most: at the worst minute and node, the DER whose
 * kW moves that voltage most (dV/dP) gives up just enough; repeat until
 * every minute is in limits. With one binding constraint this is the
 * least curtailed energy. */
static int sensitivity(struct mk_dso *d, const char *const *names,
                       const char *const *buses, const double *kw, size_t n,
                       int start, int len, double *out)
{
    size_t nn = 0;
    double *s = NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = kw[i];
    }
    int rv = 0;
    for (int it = 0; it < 4 * (int)n + 20; it++) {
        struct scan sc;
        rv = scan(d, names, out, n, start, len, &sc);
        if (rv != 0 || sc.vmax <= d->vmax - MARGIN * 0.5) {
            break;
        }
        rv = solve_at(d, names, out, n, sc.worst_minute);
        if (rv != 0) {
            break;
        }
        if (s == NULL) {
            nn = pf_node_count(d->model);
            s = base_calloc(nn, sizeof *s);
            if (s == NULL) {
                rv = BASE_ENOMEM;
                break;
            }
        }
        size_t best = n;
        double best_s = 0;
        for (size_t i = 0; i < n; i++) {
            if (out[i] <= 0) {
                continue;
            }
            rv = pf_dvdp(d->model, buses[i], s, nn);
            if (rv != 0) {
                break;
            }
            if (s[sc.worst_node] > best_s) {
                best_s = s[sc.worst_node];
                best = i;
            }
        }
        if (rv != 0) {
            break;
        }
        if (best == n) {
            /* Nothing left that raises the voltage: curtailing cannot
             * help; the review reports it. */
            break;
        }
        double need = (sc.vmax - (d->vmax - MARGIN)) / best_s;
        double cut = need < out[best] ? need : out[best];
        out[best] = floor((out[best] - cut) * 1000.0) / 1000.0;
        if (out[best] < 0) {
            out[best] = 0;
        }
    }
    base_free(s);
    if (rv != 0) {
        return rv;
    }
    /* The linear steps overshoot where the voltage bends: give back to each
     * curtailed DER, in turn, as much as still keeps every minute in
     * limits (bisection on the amount taken). */
    for (size_t i = 0; i < n; i++) {
        double cut = kw[i] - out[i];
        if (cut < 1.0) {
            continue;
        }
        double base = out[i], lo = 0, hi = 1;
        for (int it = 0; it < 6; it++) {
            double mid = 0.5 * (lo + hi);
            out[i] = base + cut * mid;
            struct scan sc;
            rv = scan(d, names, out, n, start, len, &sc);
            if (rv != 0) {
                return rv;
            }
            if (sc.vmax <= d->vmax - MARGIN) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        out[i] = floor((base + cut * lo) * 1000.0) / 1000.0;
    }
    return 0;
}

int mk_dso_review(struct mk_dso *d, const char *const *names,
                  const char *const *buses, const double *kw, size_t n,
                  int start, int len, double *feasible, struct mk_review *out)
{
    memset(out, 0, sizeof *out);
    struct scan before;
    int rv = scan(d, names, kw, n, start, len, &before);
    if (rv != 0) {
        return rv;
    }
    out->vmax_before = before.vmax;
    out->vmin_before = before.vmin;
    struct pf_node nd;
    if (pf_node_get(d->model, before.worst_node, &nd) == 0) {
        snprintf(out->worst_node, sizeof out->worst_node, "%s.%d", nd.bus,
                 nd.node);
    }
    if (before.vmax <= d->vmax) {
        for (size_t i = 0; i < n; i++) {
            feasible[i] = kw[i];
        }
        out->vmax_after = before.vmax;
        out->vmin_after = before.vmin;
        return 0;
    }
    rv = proportional(d, names, kw, n, start, len, feasible);
    if (rv == 0 && d->method == MK_DSO_SENSITIVITY) {
        /* The greedy steps use sensitivities of one minute and node; over
         * a whole interval, with phases coupled, they can lose to plain
         * scaling. Both results are feasible: keep the one that curtails
         * less. */
        double *alt = base_calloc(n ? n : 1, sizeof *alt);
        if (alt == NULL) {
            return BASE_ENOMEM;
        }
        rv = sensitivity(d, names, buses, kw, n, start, len, alt);
        struct scan chk;
        if (rv == 0) {
            rv = scan(d, names, alt, n, start, len, &chk);
        }
        double ca = 0, cp = 0;
        for (size_t i = 0; i < n; i++) {
            ca += kw[i] - alt[i];
            cp += kw[i] - feasible[i];
        }
        if (rv == 0 && chk.vmax <= d->vmax - MARGIN * 0.5 && ca < cp) {
            memcpy(feasible, alt, n * sizeof *alt);
        }
        base_free(alt);
    }
    struct scan after;
    if (rv == 0) {
        rv = scan(d, names, feasible, n, start, len, &after);
    }
    if (rv != 0) {
        return rv;
    }
    out->vmax_after = after.vmax;
    out->vmin_after = after.vmin;
    for (size_t i = 0; i < n; i++) {
        out->curtailed_kw += kw[i] - feasible[i];
    }
    return 0;
}
