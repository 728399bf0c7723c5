/* SPDX-License-Identifier: MIT */
/* The solver: KLU factorisation, injection iteration, regulator controls. */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <suitesparse/klu.h>

#include "grid/grid_int.h"

int pf__gen_refresh(struct pf_model *m, int gi);

int pf__factor(struct pf_model *m, bool refactor)
{
    klu_common *c = m->klu_common;
    if (c == NULL) {
        c = base_malloc(sizeof(*c));
        if (c == NULL) {
            return BASE_ENOMEM;
        }
        klu_defaults(c);
        m->klu_common = c;
    }
    if (m->klu_sym == NULL) {
        m->klu_sym = klu_analyze(m->n, m->ap, m->ai, c);
        if (m->klu_sym == NULL) {
            return pf__set_error(
                m,
                c->status == KLU_OUT_OF_MEMORY ? BASE_ENOMEM : BASE_ESINGULAR,
                "KLU analysis failed (status %d)", c->status);
        }
    }
    if (refactor && m->klu_num != NULL) {
        if (klu_z_refactor(m->ap, m->ai, (double *)m->ax, m->klu_sym,
                           m->klu_num, c) &&
            c->status == KLU_OK) {
            /* A tap change can make the old pivots poor: check them. */
            if (klu_z_rcond(m->klu_sym, m->klu_num, c) && c->rcond > 1e-14) {
                return 0;
            }
        }
        klu_numeric *nm = m->klu_num;
        klu_z_free_numeric(&nm, c);
        m->klu_num = NULL;
    } else if (m->klu_num != NULL) {
        klu_numeric *nm = m->klu_num;
        klu_z_free_numeric(&nm, c);
        m->klu_num = NULL;
    }
    m->klu_num = klu_z_factor(m->ap, m->ai, (double *)m->ax, m->klu_sym, c);
    if (m->klu_num == NULL || c->status == KLU_SINGULAR) {
        if (m->klu_num != NULL) {
            klu_numeric *nm = m->klu_num;
            klu_z_free_numeric(&nm, c);
            m->klu_num = NULL;
        }
        if (c->status == KLU_OUT_OF_MEMORY) {
            return pf__set_error(m, BASE_ENOMEM, "out of memory in KLU");
        }
        int col = c->singular_col;
        if (col >= 0 && col < m->n) {
            return pf__set_error(
                m, BASE_ESINGULAR,
                "singular admittance matrix at node %s.%d (isolated or "
                "floating part of the circuit?)",
                m->bus[m->node_bus[col]].name, m->node_num[col]);
        }
        return pf__set_error(m, BASE_ESINGULAR, "singular admittance matrix");
    }
    return 0;
}

/* Current drawn by branch @b at voltage @vd (load convention). */
static inline pf__cx br_current(const struct pf__br *b, pf__cx vd)
{
    double vm = cabs(vd);
    double mult = b->mult;
    if (b->model == 2 || vm <= b->vblow) {
        return b->yeq * mult * vd;
    }
    if (vm <= b->vb95) {
        double r = b->vb95 / b->vbase;
        return b->yeq * mult / (r * r) * vd;
    }
    if (vm > b->vb105) {
        double r = b->vb105 / b->vbase;
        return b->yeq * mult / (r * r) * vd;
    }
    pf__cx s = (b->w + I * b->var) * mult;
    switch (b->model) {
    case 5: /* constant current magnitude at the power factor angle */
        return conj(s / vd) * (vm / b->vbase);
    case 4: { /* linear P, quadratic Q */
        double r = vm / b->vbase;
        pf__cx s4 = b->w * mult * r + I * b->var * mult * r * r;
        return conj(s4 / vd);
    }
    default:
        return conj(s / vd);
    }
}

/* Fixed-point "normal" iteration: Y V = Isrc + sum(Ystamp V - Iload). */
int pf__solve_pf(struct pf_model *m, int *iters)
{
    int n = m->n;
    pf__cx *v = m->v;
    pf__cx *x = m->rhs;
    for (int it = 1; it <= m->maxiter; it++) {
        memcpy(x, m->isrc, (size_t)n * sizeof(pf__cx));
        for (size_t k = 0; k < m->nbr; k++) {
            const struct pf__br *b = &m->br[k];
            pf__cx vd = v[b->p];
            if (b->q >= 0) {
                vd -= v[b->q];
            }
            pf__cx inj = b->ystamp * vd - br_current(b, vd);
            x[b->p] += inj;
            if (b->q >= 0) {
                x[b->q] -= inj;
            }
        }
        klu_z_solve(m->klu_sym, m->klu_num, n, 1, (double *)x, m->klu_common);
        double err = 0;
        for (int i = 0; i < n; i++) {
            double e = cabs(x[i] - v[i]) / m->vref[i];
            if (e > err) {
                err = e;
            }
        }
        /* Swap so v holds the newest iterate without copying. */
        pf__cx *t = v;
        v = x;
        x = t;
        if (!(err == err)) {
            m->v = v;
            m->rhs = x;
            *iters += it;
            return pf__set_error(m, BASE_ENOCONVERGE,
                                 "power flow diverged (NaN)");
        }
        if (err < m->tol) {
            m->v = v;
            m->rhs = x;
            *iters += it;
            return 0;
        }
    }
    m->v = v;
    m->rhs = x;
    *iters += m->maxiter;
    return pf__set_error(m, BASE_ENOCONVERGE,
                         "power flow did not converge in %d iterations",
                         m->maxiter);
}

/* Per-unit multiplier of shape @s at @hours (OpenDSS's GetMult). */
double pf__shape_mult(const struct pf__shape *s, double hours)
{
    if (s->npts <= 0 || s->mult == NULL) {
        return 1.0;
    }
    if (s->interval > 0) {
        long idx = (long)nearbyint(hours / s->interval);
        idx %= s->npts;
        if (idx == 0) {
            idx = s->npts;
        }
        return s->mult[idx - 1];
    }
    if (s->hour == NULL) {
        return 1.0;
    }
    double period = s->hour[s->npts - 1];
    double h = period > 0 ? fmod(hours, period) : hours;
    if (h <= s->hour[0]) {
        return s->mult[0];
    }
    for (int i = 1; i < s->npts; i++) {
        if (h <= s->hour[i]) {
            double f = (h - s->hour[i - 1]) / (s->hour[i] - s->hour[i - 1]);
            return s->mult[i - 1] + f * (s->mult[i] - s->mult[i - 1]);
        }
    }
    return s->mult[s->npts - 1];
}

/* Multipliers in force: Set loadmult x each load's daily shape. */
static void refresh_mults(struct pf_model *m, bool daily)
{
    for (size_t k = 0; k < m->nbr; k++) {
        struct pf__br *b = &m->br[k];
        int sh = b->gen ? m->gen[b->load].daily : m->load[b->load].daily;
        double f = daily && sh >= 0 ? m->shape[sh].cur : 1.0;
        b->mult = b->gen ? f : m->loadmult * f * m->load[b->load].mult;
    }
}

struct tap_move {
    int rc;
    int taps;
    double delay;
};

/* Coil voltage and terminal current seen by regulator control @r. */
static int reg_sense(const struct pf_model *m, const struct pf__regc *r, int xi,
                     pf__cx *vout, pf__cx *iout)
{
    const struct pf__xfmr *t = &m->xf[xi];
    int p = m->xf_prim[xi];
    if (p < 0) {
        return -1;
    }
    const struct pf__prim *pr = &m->prim[p];
    int nc = t->nph + 1;
    int w = r->winding - 1;
    int k = r->ptphase - 1;
    if (w >= t->nw || k >= t->nph) {
        return -1;
    }
    const int *nd = m->prim_node + pr->noff;
    const pf__cx *y = m->prim_y + pr->yoff;
    int a, b;
    if (!t->w[w].delta) {
        a = k;
        b = t->nph;
    } else if (t->nph == 1) {
        a = 0;
        b = 1;
    } else {
        a = k;
        b = (k + t->nph - 1) % t->nph;
    }
    a += w * nc;
    b += w * nc;
    pf__cx va = nd[a] >= 0 ? m->v[nd[a]] : 0;
    pf__cx vb = nd[b] >= 0 ? m->v[nd[b]] : 0;
    *vout = va - vb;
    pf__cx cur = 0;
    for (int j = 0; j < pr->ord; j++) {
        if (nd[j] >= 0) {
            cur += y[a * pr->ord + j] * m->v[nd[j]];
        }
    }
    *iout = cur;
    return 0;
}

/* One pass of the static controls; returns the number of taps moved. */
static int do_controls(struct pf_model *m, int *moved)
{
    *moved = 0;
    struct tap_move mv[64];
    int nmv = 0;
    double mindelay = 1e300;
    for (size_t i = 0; i < m->nrc; i++) {
        const struct pf__regc *r = &m->rc[i];
        if (!r->enabled || r->maxtapchange == 0) {
            continue;
        }
        int xi = pf__map_get(&m->m_xf, r->xfmr);
        if (xi < 0) {
            return pf__set_error(m, BASE_EPARSE,
                                 "regcontrol.%s: transformer '%s' not defined",
                                 r->name, r->xfmr);
        }
        pf__cx vc, ic;
        if (reg_sense(m, r, xi, &vc, &ic) != 0) {
            continue;
        }
        /* Line-drop compensator: R and X in volts at CT-rated current; the
         * terminal current flows into the winding, so it adds. */
        pf__cx vcomp = vc / r->ptratio + (r->r + I * r->x) * ic / r->ctprim;
        double vact = cabs(vcomp);
        if (fabs(r->vreg - vact) <= r->band / 2.0) {
            continue;
        }
        const struct pf__wdg *tw = &m->xf[xi].w[r->tapwinding - 1];
        double step = (tw->maxtap - tw->mintap) / tw->numtaps;
        if (!(step > 0)) {
            continue;
        }
        double boost = (r->vreg - vact) / r->vreg;
        int taps = (int)lround(boost / step);
        if (taps == 0) {
            taps = boost > 0 ? 1 : -1;
        }
        if (r->tapwinding == 1 && r->winding != 1) {
            taps = -taps; /* a tap on the source side lowers the output */
        }
        if (taps > r->maxtapchange) {
            taps = r->maxtapchange;
        } else if (taps < -r->maxtapchange) {
            taps = -r->maxtapchange;
        }
        double nt = tw->tap + taps * step;
        if (nt > tw->maxtap + 1e-9) {
            nt = tw->maxtap;
        }
        if (nt < tw->mintap - 1e-9) {
            nt = tw->mintap;
        }
        if (fabs(nt - tw->tap) < step / 2) {
            continue;
        }
        if (nmv < (int)BASE_ARRAY_LEN(mv)) {
            mv[nmv].rc = (int)i;
            mv[nmv].taps = (int)lround((nt - tw->tap) / step);
            mv[nmv].delay = r->delay;
            if (r->delay < mindelay) {
                mindelay = r->delay;
            }
            nmv++;
        }
    }
    /* Static mode runs only the nearest actions in time (OpenDSS's
     * DoNearestActions), so a regulator with a shorter delay moves first. */
    for (int k = 0; k < nmv; k++) {
        if (mv[k].delay > mindelay + 1e-9) {
            continue;
        }
        const struct pf__regc *r = &m->rc[mv[k].rc];
        int xi = pf__map_get(&m->m_xf, r->xfmr);
        struct pf__wdg *tw = &m->xf[xi].w[r->tapwinding - 1];
        double step = (tw->maxtap - tw->mintap) / tw->numtaps;
        tw->tap += mv[k].taps * step;
        *moved += abs(mv[k].taps);
    }
    return 0;
}

static int ensure_built(struct pf_model *m)
{
    int rc;
    if (m->dirty) {
        rc = pf__build(m);
        if (rc != 0) {
            return rc;
        }
        if (!m->bases_done && m->nvbases > 0) {
            rc = pf__calc_vbases(m);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static int solve_now(struct pf_model *m, bool daily)
{
    int rc = ensure_built(m);
    if (rc != 0) {
        return rc;
    }
    refresh_mults(m, daily);
    struct pf_result *res = &m->res;
    memset(res, 0, sizeof(*res));
    int ctrl = 0;
    for (;;) {
        rc = pf__solve_pf(m, &res->iterations);
        ctrl++;
        if (rc != 0) {
            break;
        }
        if (!m->controls_on || m->nrc == 0) {
            break;
        }
        int moved;
        rc = do_controls(m, &moved);
        if (rc != 0 || moved == 0) {
            break;
        }
        res->tap_changes += moved;
        if (ctrl >= m->maxcontroliter) {
            rc = pf__set_error(m, BASE_ENOCONVERGE,
                               "control iteration limit (%d) reached; "
                               "regulators still moving",
                               m->maxcontroliter);
            break;
        }
        rc = pf__restamp(m);
        if (rc != 0) {
            break;
        }
    }
    res->control_iterations = ctrl;
    res->converged = rc == 0;
    m->solved = rc == 0 || rc == BASE_ENOCONVERGE;
    return rc;
}

int pf_solve(struct pf_model *m)
{
    m->errmsg[0] = '\0';
    return solve_now(m, false);
}

int pf_time_series(struct pf_model *m, int steps, double step_s, pf_step_cb cb,
                   void *arg)
{
    if (steps < 1 || !(step_s > 0)) {
        return pf__set_error(m, BASE_EINVAL, "bad time-series steps/step");
    }
    m->errmsg[0] = '\0';
    for (int i = 0; i < steps; i++) {
        /* OpenDSS advances the clock before each daily solution. */
        double t = (i + 1) * step_s;
        for (size_t s = 0; s < m->nshape; s++) {
            m->shape[s].cur = pf__shape_mult(&m->shape[s], t / 3600.0);
        }
        int rc = solve_now(m, true);
        if (rc != 0) {
            char tmp[BASE_ERRMSG_SIZE];
            pf__scopy(tmp, sizeof(tmp), m->errmsg);
            return pf__set_error(m, rc, "step %d: %s", i + 1, tmp);
        }
        if (cb != NULL) {
            rc = cb(arg, m, i, t);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

void pf_set_load_mult(struct pf_model *m, double mult)
{
    m->loadmult = mult;
}

size_t pf_load_count(const struct pf_model *m)
{
    return m->nload;
}

int pf_load_get(const struct pf_model *m, size_t i, struct pf_load *out)
{
    if (i >= m->nload) {
        return BASE_EINVAL;
    }
    const struct pf__load *l = &m->load[i];
    out->name = l->name;
    out->bus = l->t.bus;
    out->kw = l->kw;
    out->kvar = l->kvar;
    out->nphases = l->nph;
    return 0;
}

int pf_load_set_mult(struct pf_model *m, const char *name, double mult)
{
    char key[PF_NAMELEN];
    const char *bare = strncasecmp(name, "load.", 5) == 0 ? name + 5 : name;
    size_t n = 0;
    for (; bare[n] != '\0' && n + 1 < sizeof key; n++) {
        key[n] = (char)tolower((unsigned char)bare[n]);
    }
    key[n] = '\0';
    int i = pf__map_get(&m->m_load, key);
    if (i < 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "no load named '%s'", name);
    }
    if (!(mult >= 0) || mult > 1e6) {
        return pf__set_error(m, BASE_EINVAL, "bad load multiplier %g", mult);
    }
    m->load[i].mult = mult;
    return 0;
}

static int find_gen(const struct pf_model *m, const char *name)
{
    int g = pf__map_get(&m->m_gen, name);
    if (g >= 0) {
        return g;
    }
    char key[PF_NAMELEN * 2];
    snprintf(key, sizeof(key), "pvsystem.%s", name);
    g = pf__map_get(&m->m_gen, key);
    if (g >= 0) {
        return g;
    }
    snprintf(key, sizeof(key), "generator.%s", name);
    return pf__map_get(&m->m_gen, key);
}

int pf_der_set(struct pf_model *m, const char *name, double kw, double kvar)
{
    int g = find_gen(m, name);
    if (g < 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "no DER named '%s'", name);
    }
    struct pf__gen *gn = &m->gen[g];
    if (gn->pv) {
        gn->pmpp = kw;
        gn->irrad = 1.0;
        gn->pctpmpp = 100.0;
    } else {
        gn->kw = kw;
    }
    gn->kvar = kvar;
    gn->pf_last = false;
    if (!m->dirty) {
        pf__gen_refresh(m, g);
    }
    return 0;
}

int pf_der_add(struct pf_model *m, const char *name, const char *bus, double kw,
               double kvar)
{
    if (find_gen(m, name) >= 0) {
        return pf__set_error(m, BASE_EEXIST, "DER '%s' exists", name);
    }
    int rc = ensure_built(m);
    if (rc != 0) {
        return rc;
    }
    int b = pf__map_get(&m->m_bus, bus);
    if (b < 0 || strlen(name) + 10 >= PF_NAMELEN) {
        return pf__set_error(m, BASE_ENOTFOUND, "no bus '%s'", bus);
    }
    const struct pf__bus *bs = &m->bus[b];
    int nph = 0;
    double kvll = bs->kvbase;
    for (int i = 0; i < bs->nn; i++) {
        nph += bs->num[i] >= 1 && bs->num[i] <= 3;
    }
    if (nph == 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "bus '%s' has no phases", bus);
    }
    if (kvll <= 0) {
        kvll = m->vref[bs->idx[0]] * PF_SQRT3 / 1000.0;
    }
    if (pf__grow((void **)&m->gen, &m->capgen, m->ngen + 1, sizeof(*m->gen)) !=
        0) {
        return BASE_ENOMEM;
    }
    struct pf__gen *g = &m->gen[m->ngen];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, PF_NAMELEN, "generator.%s", name);
    for (char *s = g->name; *s != '\0'; s++) {
        *s = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    }
    pf__scopy(g->t.bus, PF_NAMELEN, bs->name);
    g->t.nspec = 0;
    for (int i = 0; i < bs->nn; i++) {
        if (bs->num[i] >= 1 && bs->num[i] <= 3) {
            g->t.nodes[g->t.nspec++] = bs->num[i];
        }
    }
    g->nph = nph;
    /* Three-phase DERs go in delta: balanced, and well defined on
     * ungrounded (delta) feeders such as the IEEE 37. */
    g->delta = nph == 3;
    g->kv = nph > 1 ? kvll : kvll / PF_SQRT3;
    g->kw = kw;
    g->kvar = kvar;
    g->pf = 1.0;
    g->vmin = 0.5; /* keep it a fixed injection over the normal range */
    g->vmax = 2.0;
    g->daily = -1;
    g->enabled = true;
    rc = pf__map_put(&m->m_gen, g->name, (int)m->ngen);
    if (rc != 0) {
        return rc;
    }
    m->ngen++;
    m->dirty = true;
    return 0;
}

int pf_dvdp(struct pf_model *m, const char *bus, double *out, size_t n)
{
    if (!m->solved || m->dirty || n < (size_t)m->n) {
        return pf__set_error(m, BASE_EINVAL, "solve the model first");
    }
    int b = pf__map_get(&m->m_bus, bus);
    if (b < 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "no bus '%s'", bus);
    }
    const struct pf__bus *bs = &m->bus[b];
    int ph[PF_MAXC + 2];
    int nph = 0;
    for (int i = 0; i < bs->nn; i++) {
        if (bs->num[i] >= 1 && bs->num[i] <= 3) {
            ph[nph++] = bs->idx[i];
        }
    }
    if (nph == 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "bus '%s' has no phases", bus);
    }
    /* Finite difference about the solution with a tight tolerance, so the
     * iteration error stays far below the 1 kW effect. */
    size_t nb0 = m->nbr;
    double tol = m->tol;
    int maxit = m->maxiter;
    pf__cx *save = m->iscratch;
    memcpy(save, m->v, (size_t)m->n * sizeof(pf__cx));
    m->tol = 1e-10;
    m->maxiter = maxit < 200 ? 200 : maxit;
    int it = 0;
    int rc = pf__solve_pf(m, &it);
    for (int i = 0; rc == 0 && i < m->n; i++) {
        out[i] = cabs(m->v[i]);
    }
    const double dkw = 1.0;
    for (int k = 0; k < nph && rc == 0; k++) {
        struct pf__br *pb = &m->br[m->nbr++];
        memset(pb, 0, sizeof(*pb));
        pb->p = ph[k];
        pb->q = -1;
        pb->model = 1;
        pb->gen = true;
        pb->vbase = m->vref[ph[k]];
        pb->vb95 = 0;
        pb->vb105 = 1e300;
        pb->w = -dkw * 1000.0 / nph;
        pb->mult = 1.0;
        pb->load = -1;
    }
    if (rc == 0) {
        rc = pf__solve_pf(m, &it);
    }
    for (int i = 0; rc == 0 && i < m->n; i++) {
        out[i] = (cabs(m->v[i]) - out[i]) / m->vref[i] / dkw;
    }
    m->nbr = nb0;
    m->tol = tol;
    m->maxiter = maxit;
    memcpy(m->v, save, (size_t)m->n * sizeof(pf__cx));
    return rc;
}
