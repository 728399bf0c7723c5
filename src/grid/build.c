/* SPDX-License-Identifier: MIT */
/* Builds the network: buses and nodes, element primitives, the Y pattern. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <suitesparse/klu.h>

#include "grid/grid_int.h"

static const double unit_m[] = {1.0,    1609.344, 304.8, 1000.0, 1.0,
                                0.3048, 0.0254,   0.01,  0.001};

/* Invert the n x n complex matrix @a in place (Gauss-Jordan, partial
 * pivoting). Returns -1 when singular. */
static int cx_invert(pf__cx *a, int n)
{
    int piv[PF_MAXC];
    pf__cx b[PF_MAXC * PF_MAXC];
    for (int i = 0; i < n * n; i++) {
        b[i] = 0;
    }
    for (int i = 0; i < n; i++) {
        b[i * n + i] = 1;
        piv[i] = i;
    }
    for (int c = 0; c < n; c++) {
        int best = c;
        for (int r = c + 1; r < n; r++) {
            if (cabs(a[r * n + c]) > cabs(a[best * n + c])) {
                best = r;
            }
        }
        if (cabs(a[best * n + c]) == 0.0) {
            return -1;
        }
        if (best != c) {
            for (int j = 0; j < n; j++) {
                pf__cx t = a[c * n + j];
                a[c * n + j] = a[best * n + j];
                a[best * n + j] = t;
                t = b[c * n + j];
                b[c * n + j] = b[best * n + j];
                b[best * n + j] = t;
            }
        }
        pf__cx d = a[c * n + c];
        for (int j = 0; j < n; j++) {
            a[c * n + j] /= d;
            b[c * n + j] /= d;
        }
        for (int r = 0; r < n; r++) {
            if (r == c) {
                continue;
            }
            pf__cx f = a[r * n + c];
            if (f == 0) {
                continue;
            }
            for (int j = 0; j < n; j++) {
                a[r * n + j] -= f * a[c * n + j];
                b[r * n + j] -= f * b[c * n + j];
            }
        }
    }
    (void)piv;
    memcpy(a, b, sizeof(pf__cx) * (size_t)(n * n));
    return 0;
}

/* Node number of each conductor: the explicit list, else 1..nph then 0. */
static void term_nums(const struct pf__term *t, int ncond, int nph, int *out)
{
    for (int k = 0; k < ncond; k++) {
        if (t->nspec > 0) {
            out[k] = k < t->nspec ? t->nodes[k] : 0;
        } else {
            out[k] = k < nph ? k + 1 : 0;
        }
    }
}

static int bus_get(struct pf_model *m, const char *name, bool create)
{
    int b = pf__map_get(&m->m_bus, name);
    if (b >= 0 || !create) {
        return b;
    }
    if (pf__grow((void **)&m->bus, &m->capbus, m->nbus + 1, sizeof(*m->bus)) !=
        0) {
        return BASE_ENOMEM;
    }
    b = (int)m->nbus;
    struct pf__bus *bs = &m->bus[b];
    memset(bs, 0, sizeof(*bs));
    pf__scopy(bs->name, PF_NAMELEN, name);
    int ki = pf__map_get(&m->m_kvb, name);
    bs->kvbase = ki >= 0 ? m->kvb[ki] : 0.0;
    if (pf__map_put(&m->m_bus, name, b) != 0) {
        return BASE_ENOMEM;
    }
    m->nbus++;
    return b;
}

/* Pass 1: make the bus and its node numbers exist. */
static int reg_term(struct pf_model *m, const struct pf__term *t, int ncond,
                    int nph)
{
    if (t->bus[0] == '\0') {
        return pf__set_error(m, BASE_EPARSE, "element without a bus");
    }
    int b = bus_get(m, t->bus, true);
    if (b < 0) {
        return b;
    }
    int nums[PF_MAXC + 1];
    term_nums(t, ncond, nph, nums);
    struct pf__bus *bs = &m->bus[b];
    for (int k = 0; k < ncond; k++) {
        if (nums[k] == 0) {
            continue;
        }
        bool have = false;
        for (int j = 0; j < bs->nn; j++) {
            have = have || bs->num[j] == nums[k];
        }
        if (!have) {
            if (bs->nn >= PF_MAXC + 2) {
                return pf__set_error(m, BASE_EUNSUPPORTED,
                                     "bus %s has too many nodes", bs->name);
            }
            bs->num[bs->nn++] = nums[k];
        }
    }
    return 0;
}

/* Pass 2: global node index of each conductor (-1 ground). */
static void res_term(struct pf_model *m, const struct pf__term *t, int ncond,
                     int nph, int *out)
{
    int nums[PF_MAXC + 1];
    term_nums(t, ncond, nph, nums);
    int b = pf__map_get(&m->m_bus, t->bus);
    const struct pf__bus *bs = &m->bus[b];
    for (int k = 0; k < ncond; k++) {
        out[k] = -1;
        for (int j = 0; j < bs->nn && nums[k] != 0; j++) {
            if (bs->num[j] == nums[k]) {
                out[k] = bs->idx[j];
            }
        }
    }
}

static int add_prim(struct pf_model *m, int kind, int idx, int ord, int nt1,
                    int **nodes, pf__cx **y)
{
    if (pf__grow((void **)&m->prim, &m->capprim, m->nprim + 1,
                 sizeof(*m->prim)) != 0 ||
        pf__grow((void **)&m->prim_node, &m->capprim_node,
                 m->nprim_node + (size_t)ord, sizeof(int)) != 0 ||
        pf__grow((void **)&m->prim_y, &m->capprim_y,
                 m->nprim_y + (size_t)(ord * ord), sizeof(pf__cx)) != 0) {
        return BASE_ENOMEM;
    }
    struct pf__prim *p = &m->prim[m->nprim++];
    p->kind = kind;
    p->idx = idx;
    p->ord = ord;
    p->nt1 = nt1;
    p->noff = m->nprim_node;
    p->yoff = m->nprim_y;
    m->nprim_node += (size_t)ord;
    m->nprim_y += (size_t)(ord * ord);
    *nodes = m->prim_node + p->noff;
    *y = m->prim_y + p->yoff;
    for (int i = 0; i < ord * ord; i++) {
        (*y)[i] = 0;
    }
    return 0;
}

static void vsrc_z(const struct pf__vsrc *v, pf__cx *z1, pf__cx *z0)
{
    if (v->zspec_rx) {
        *z1 = v->r1 + I * v->x1;
        *z0 = v->r0 + I * v->x0;
        return;
    }
    double kv = v->basekv;
    double x1 = kv * kv / v->mvasc3 / sqrt(1.0 + 1.0 / (v->x1r1 * v->x1r1));
    double r1 = x1 / v->x1r1;
    double vln = kv * 1000.0 / PF_SQRT3;
    double isc1 = v->mvasc1 * 1e6 / (PF_SQRT3 * kv * 1000.0);
    double d = 3.0 * vln / isc1;
    double a = 1.0 + v->x0r0 * v->x0r0;
    double b = 4.0 * (r1 + x1 * v->x0r0);
    double c = 4.0 * (r1 * r1 + x1 * x1) - d * d;
    double disc = b * b - 4.0 * a * c;
    *z1 = r1 + I * x1;
    if (disc < 0) {
        *z0 = *z1;
        return;
    }
    double r0 = (-b + sqrt(disc)) / (2.0 * a);
    if (r0 < 0) {
        *z0 = *z1;
        return;
    }
    *z0 = r0 + I * r0 * v->x0r0;
}

/* Source voltages (volts) of each phase. */
void pf__vsrc_volts(const struct pf__vsrc *v, pf__cx *vs)
{
    double mag = v->pu * v->basekv * 1000.0;
    if (v->phases > 1) {
        mag /= PF_SQRT3;
    }
    for (int k = 0; k < v->phases; k++) {
        double ang = (v->angle - 120.0 * k) * PF_PI / 180.0;
        vs[k] = mag * (cos(ang) + I * sin(ang));
    }
}

static int vsrc_prim(const struct pf__vsrc *v, pf__cx *y)
{
    pf__cx z1, z0;
    vsrc_z(v, &z1, &z0);
    int n = v->phases;
    pf__cx zs = (2.0 * z1 + z0) / 3.0;
    pf__cx zm = (z0 - z1) / 3.0;
    if (n == 1) {
        zs = z1;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            y[i * n + j] = i == j ? zs : zm;
        }
    }
    return cx_invert(y, n);
}

static int line_prim(const struct pf_model *m, const struct pf__line *l,
                     pf__cx *y)
{
    int n = l->nph;
    int o = l->zord;
    double f = l->length;
    if (l->zunits != U_NONE && l->lunits != U_NONE) {
        f = l->length * unit_m[l->lunits] / unit_m[l->zunits];
    }
    pf__cx z[PF_MAXC * PF_MAXC];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            z[i * n + j] = l->z[i * o + j] * f;
        }
    }
    if (cx_invert(z, n) != 0) {
        return -1;
    }
    double w = 2.0 * PF_PI * m->basefreq;
    int ord = 2 * n;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            pf__cx ys = z[i * n + j];
            pf__cx yc = I * w * l->c[i * o + j] * 1e-9 * f / 2.0;
            y[i * ord + j] = ys + yc;
            y[(n + i) * ord + n + j] = ys + yc;
            y[i * ord + n + j] = -ys;
            y[(n + i) * ord + j] = -ys;
        }
    }
    return 0;
}

/* Terminal conductors (a, b) a coil of winding @w, leg @k connects. */
static void coil_conds(const struct pf__xfmr *t, int w, int k, int *a, int *b)
{
    int n = t->nph;
    if (!t->w[w].delta) {
        *a = k;
        *b = n;
    } else if (n == 1) {
        *a = 0;
        *b = 1;
    } else if (w == 0 || t->w[0].delta) {
        /* ANSI: the high side leads, so a delta primary's phase-1 coil sits
         * across nodes 1 and 3 (LV of a Dy lags 30 degrees). */
        *a = k;
        *b = (k + n - 1) % n;
    } else {
        *a = k;
        *b = (k + 1) % n;
    }
}

int pf__xfmr_prim(const struct pf_model *m, const struct pf__xfmr *t, pf__cx *y)
{
    (void)m;
    int nw = t->nw;
    int nph = t->nph;
    int nc = nph + 1;
    int ord = nw * nc;
    for (int i = 0; i < ord * ord; i++) {
        y[i] = 0;
    }
    double kva0 = t->w[0].kva;
    double r[PF_MAXW];
    double nturn[PF_MAXW];
    for (int w = 0; w < nw; w++) {
        r[w] = t->w[w].rpct / 100.0 * kva0 / t->w[w].kva;
        double vc = t->w[w].kv * 1000.0;
        if (nph > 1 && !t->w[w].delta) {
            vc /= PF_SQRT3;
        }
        nturn[w] = vc * t->w[w].tap;
        if (!(nturn[w] > 0) || !(t->w[w].kva > 0)) {
            return -1;
        }
    }
    pf__cx z12 = r[0] + r[1] + I * t->xhl / 100.0;
    pf__cx zb[4];
    int nb = nw - 1;
    if (nw == 2) {
        zb[0] = z12;
    } else {
        pf__cx z13 = r[0] + r[2] + I * t->xht / 100.0;
        pf__cx z23 = r[1] + r[2] + I * t->xlt / 100.0;
        zb[0] = z12;
        zb[3] = z13;
        zb[1] = zb[2] = (z12 + z13 - z23) / 2.0;
    }
    if (cx_invert(zb, nb) != 0) {
        return -1;
    }
    pf__cx ypu[PF_MAXW * PF_MAXW];
    /* Ypu = B' Zb^-1 B with B = [1 -1 0; 1 0 -1]: windings 2.. against 1 */
    for (int a = 0; a < nw; a++) {
        for (int b = 0; b < nw; b++) {
            pf__cx s = 0;
            for (int i = 0; i < nb; i++) {
                for (int j = 0; j < nb; j++) {
                    double ba = a == 0 ? 1.0 : (a == i + 1 ? -1.0 : 0.0);
                    double bb = b == 0 ? 1.0 : (b == j + 1 ? -1.0 : 0.0);
                    s += ba * zb[i * nb + j] * bb;
                }
            }
            ypu[a * nw + b] = s;
        }
    }
    double sleg = kva0 * 1000.0 / nph;
    pf__cx yc[PF_MAXW * PF_MAXW];
    for (int a = 0; a < nw; a++) {
        for (int b = 0; b < nw; b++) {
            yc[a * nw + b] = ypu[a * nw + b] * sleg / (nturn[a] * nturn[b]);
        }
    }
    yc[0] += (t->noload_pct / 100.0 - I * t->imag_pct / 100.0) * sleg /
             (nturn[0] * nturn[0]);
    for (int k = 0; k < nph; k++) {
        for (int a = 0; a < nw; a++) {
            int a1, a2;
            coil_conds(t, a, k, &a1, &a2);
            a1 += a * nc;
            a2 += a * nc;
            for (int b = 0; b < nw; b++) {
                int b1, b2;
                coil_conds(t, b, k, &b1, &b2);
                b1 += b * nc;
                b2 += b * nc;
                pf__cx v = yc[a * nw + b];
                y[a1 * ord + b1] += v;
                y[a1 * ord + b2] -= v;
                y[a2 * ord + b1] -= v;
                y[a2 * ord + b2] += v;
            }
        }
    }
    /* ppm_antifloat: a tiny shunt so a floating delta winding has a
     * reference, as OpenDSS does. */
    double f = t->ppm * 1e-6;
    for (int i = 0; i < ord; i++) {
        y[i * ord + i] += I * f * cimag(y[i * ord + i]);
    }
    return 0;
}

static int cap_prim(const struct pf__cap *c, pf__cx *y)
{
    int n = c->nph;
    int ord = 2 * n;
    double v = c->kv * 1000.0;
    if (n > 1 && !c->delta) {
        v /= PF_SQRT3;
    }
    pf__cx yy = I * (c->kvar * 1000.0 / n) / (v * v);
    for (int k = 0; k < n; k++) {
        int a = k;
        int b = n + k;
        if (c->delta && n > 1) {
            b = (k + 1) % n;
        }
        y[a * ord + a] += yy;
        y[b * ord + b] += yy;
        y[a * ord + b] -= yy;
        y[b * ord + a] -= yy;
    }
    return 0;
}

/* ---- Y assembly -------------------------------------------------------- */

struct stamper {
    bool pattern;
    size_t k;
    uint64_t *keys;
    pf__cx *ax;
    const int *tmap;
    uint64_t n;
};

static void emit(struct stamper *s, int r, int c, pf__cx v)
{
    if (r < 0 || c < 0) {
        return;
    }
    if (s->pattern) {
        s->keys[s->k] = (uint64_t)c * s->n + (uint64_t)r;
    } else {
        s->ax[s->tmap[s->k]] += v;
    }
    s->k++;
}

static void stamp_all(struct pf_model *m, struct stamper *s, bool with_loads)
{
    for (int i = 0; i < m->n; i++) {
        emit(s, i, i, 0);
    }
    for (size_t p = 0; p < m->nprim; p++) {
        const struct pf__prim *pr = &m->prim[p];
        const int *nd = m->prim_node + pr->noff;
        const pf__cx *y = m->prim_y + pr->yoff;
        for (int i = 0; i < pr->ord; i++) {
            for (int j = 0; j < pr->ord; j++) {
                emit(s, nd[i], nd[j], y[i * pr->ord + j]);
            }
        }
    }
    for (size_t b = 0; b < m->nbr; b++) {
        const struct pf__br *br = &m->br[b];
        pf__cx y = with_loads ? br->ystamp : 0;
        emit(s, br->p, br->p, y);
        emit(s, br->q, br->q, y);
        emit(s, br->p, br->q, -y);
        emit(s, br->q, br->p, -y);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Put the values of every primitive into ax (the pattern is fixed). */
static void stamp_values(struct pf_model *m, bool with_loads)
{
    for (size_t i = 0; i < m->nnz; i++) {
        m->ax[i] = 0;
    }
    struct stamper s = {.pattern = false, .ax = m->ax, .tmap = m->tmap};
    stamp_all(m, &s, with_loads);
}

static int make_pattern(struct pf_model *m)
{
    size_t cnt = (size_t)m->n + 4 * m->nbr;
    for (size_t p = 0; p < m->nprim; p++) {
        cnt += (size_t)(m->prim[p].ord * m->prim[p].ord);
    }
    uint64_t *keys = base_malloc(cnt * sizeof(uint64_t));
    uint64_t *sorted = base_malloc(cnt * sizeof(uint64_t));
    if (keys == NULL || sorted == NULL) {
        base_free(keys);
        base_free(sorted);
        return BASE_ENOMEM;
    }
    struct stamper s = {.pattern = true, .keys = keys, .n = (uint64_t)m->n};
    stamp_all(m, &s, true);
    size_t nt = s.k;
    memcpy(sorted, keys, nt * sizeof(uint64_t));
    qsort(sorted, nt, sizeof(uint64_t), cmp_u64);
    size_t nz = 0;
    for (size_t i = 0; i < nt; i++) {
        if (nz == 0 || sorted[nz - 1] != sorted[i]) {
            sorted[nz++] = sorted[i];
        }
    }
    m->ap = base_calloc((size_t)m->n + 1, sizeof(int));
    m->ai = base_malloc(nz * sizeof(int));
    m->ax = base_malloc(nz * sizeof(pf__cx));
    m->tmap = base_malloc((nt > 0 ? nt : 1) * sizeof(int));
    if (m->ap == NULL || m->ai == NULL || m->ax == NULL || m->tmap == NULL) {
        base_free(keys);
        base_free(sorted);
        return BASE_ENOMEM;
    }
    uint64_t n = (uint64_t)m->n;
    for (size_t i = 0; i < nz; i++) {
        int col = (int)(sorted[i] / n);
        m->ai[i] = (int)(sorted[i] % n);
        m->ap[col + 1]++;
    }
    for (int c = 0; c < m->n; c++) {
        m->ap[c + 1] += m->ap[c];
    }
    for (size_t k = 0; k < nt; k++) {
        size_t lo = 0;
        size_t hi = nz;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < keys[k]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        m->tmap[k] = (int)lo;
    }
    m->nnz = nz;
    m->ntrip = nt;
    base_free(keys);
    base_free(sorted);
    return 0;
}

void pf__release_network(struct pf_model *m)
{
    if (m->klu_common != NULL) {
        klu_common *c = m->klu_common;
        if (m->klu_num != NULL) {
            klu_numeric *nm = m->klu_num;
            klu_z_free_numeric(&nm, c);
        }
        if (m->klu_sym != NULL) {
            klu_symbolic *sy = m->klu_sym;
            klu_free_symbolic(&sy, c);
        }
        base_free(c);
    }
    m->klu_common = m->klu_num = m->klu_sym = NULL;
    base_free(m->bus);
    pf__map_release(&m->m_bus);
    base_free(m->node_bus);
    base_free(m->node_num);
    base_free(m->vref);
    base_free(m->prim);
    base_free(m->prim_node);
    base_free(m->prim_y);
    base_free(m->br);
    base_free(m->ap);
    base_free(m->ai);
    base_free(m->ax);
    base_free(m->tmap);
    base_free(m->v);
    base_free(m->rhs);
    base_free(m->isrc);
    base_free(m->iscratch);
    base_free(m->xf_prim);
    base_free(m->gen_br);
    base_free(m->ename);
    base_free(m->eprim);
    base_free(m->ebr0);
    base_free(m->ebrn);
    m->bus = NULL;
    m->nbus = m->capbus = 0;
    m->node_bus = m->node_num = NULL;
    m->vref = NULL;
    m->prim = NULL;
    m->nprim = m->capprim = 0;
    m->prim_node = NULL;
    m->nprim_node = m->capprim_node = 0;
    m->prim_y = NULL;
    m->nprim_y = m->capprim_y = 0;
    m->br = NULL;
    m->nbr = m->capbr = 0;
    m->ap = m->ai = NULL;
    m->ax = NULL;
    m->tmap = NULL;
    m->nnz = m->ntrip = 0;
    m->v = m->rhs = m->isrc = m->iscratch = NULL;
    m->xf_prim = m->gen_br = NULL;
    m->ename = NULL;
    m->eprim = m->ebr0 = m->ebrn = NULL;
    m->nelem = 0;
    m->n = 0;
    m->solved = false;
    m->dirty = true;
}

static int add_br(struct pf_model *m, struct pf__br *b)
{
    if (pf__grow((void **)&m->br, &m->capbr, m->nbr + 1, sizeof(*m->br)) != 0) {
        return BASE_ENOMEM;
    }
    m->br[m->nbr++] = *b;
    return 0;
}

/* Branches of a load-like element: wye coils to the neutral conductor,
 * delta coils between phases. */
static int add_load_brs(struct pf_model *m, const struct pf__term *t, int nph,
                        int delta, double kv, double kw, double kvar, int model,
                        double vmin, double vmax, double vlow, int idx,
                        bool gen)
{
    int ncond = delta ? (nph == 1 ? 2 : nph) : nph + 1;
    int nd[PF_MAXC + 1];
    res_term(m, t, ncond, nph, nd);
    double vbase = kv * 1000.0;
    if (nph > 1 && !delta) {
        vbase /= PF_SQRT3;
    }
    for (int k = 0; k < nph; k++) {
        struct pf__br b;
        memset(&b, 0, sizeof(b));
        if (!delta) {
            b.p = nd[k];
            b.q = nd[nph];
        } else if (nph == 1) {
            b.p = nd[0];
            b.q = nd[1];
        } else {
            b.p = nd[k];
            b.q = nd[(k + 1) % nph];
        }
        if (b.p < 0 && b.q < 0) {
            continue;
        }
        if (b.p < 0) {
            b.p = b.q;
            b.q = -1; /* a load's current is odd in its voltage */
        }
        b.model = model;
        b.load = idx;
        b.gen = gen;
        b.vbase = vbase;
        b.vb95 = vmin * vbase;
        b.vb105 = vmax * vbase;
        b.vblow = vlow * vbase;
        double sign = gen ? -1.0 : 1.0;
        b.w = sign * kw * 1000.0 / nph;
        b.var = sign * kvar * 1000.0 / nph;
        b.yeq = (b.w - I * b.var) / (vbase * vbase);
        b.ystamp = gen ? 0 : b.yeq;
        b.mult = 1.0;
        int rc = add_br(m, &b);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static double gen_kw(const struct pf__gen *g)
{
    return g->pv ? g->pmpp * g->irrad * g->pctpmpp / 100.0 : g->kw;
}

static double gen_kvar(const struct pf__gen *g)
{
    double kw = gen_kw(g);
    if (!g->pf_last) {
        return g->kvar;
    }
    if (g->pf == 0.0 || fabs(g->pf) >= 1.0) {
        return 0.0;
    }
    double q = kw * sqrt(1.0 / (g->pf * g->pf) - 1.0);
    return g->pf < 0 ? -q : q;
}

int pf__gen_refresh(struct pf_model *m, int gi);
int pf__gen_refresh(struct pf_model *m, int gi)
{
    const struct pf__gen *g = &m->gen[gi];
    double kw = g->enabled ? gen_kw(g) : 0.0;
    double kvar = g->enabled ? gen_kvar(g) : 0.0;
    for (int b = m->gen_br[gi]; b >= 0 && b < (int)m->nbr; b++) {
        struct pf__br *br = &m->br[b];
        if (!br->gen || br->load != gi) {
            break;
        }
        br->w = -kw * 1000.0 / g->nph;
        br->var = -kvar * 1000.0 / g->nph;
        br->yeq = (br->w - I * br->var) / (br->vbase * br->vbase);
    }
    return 0;
}

static int build_elements(struct pf_model *m)
{
    int rc;
    /* Pass 1: buses and node numbers, in order of appearance. */
    for (size_t i = 0; i < m->nvsrc; i++) {
        struct pf__term t2;
        rc = reg_term(m, &m->vsrc[i].t1, m->vsrc[i].phases, m->vsrc[i].phases);
        if (rc != 0) {
            return rc;
        }
        (void)t2;
    }
    for (size_t i = 0; i < m->nxf; i++) {
        const struct pf__xfmr *t = &m->xf[i];
        if (!t->enabled) {
            continue;
        }
        for (int w = 0; w < t->nw; w++) {
            rc = reg_term(m, &t->w[w].t, t->nph + 1, t->nph);
            if (rc != 0) {
                return pf__set_error(m, rc, "transformer.%s winding %d: %s",
                                     t->name, w + 1,
                                     rc == BASE_EPARSE ? "no bus" : m->errmsg);
            }
        }
    }
    for (size_t i = 0; i < m->nline; i++) {
        const struct pf__line *l = &m->line[i];
        if (!l->enabled) {
            continue;
        }
        struct pf__term t2 = l->t2;
        if (!l->t2set) {
            return pf__set_error(m, BASE_EPARSE, "line.%s has no bus2",
                                 l->name);
        }
        if ((rc = reg_term(m, &l->t1, l->nph, l->nph)) != 0 ||
            (rc = reg_term(m, &t2, l->nph, l->nph)) != 0) {
            return pf__set_error(m, rc, "line.%s: bad bus", l->name);
        }
    }
    for (size_t i = 0; i < m->nload; i++) {
        const struct pf__load *l = &m->load[i];
        if (!l->enabled) {
            continue;
        }
        int ncond = l->delta ? (l->nph == 1 ? 2 : l->nph) : l->nph + 1;
        if ((rc = reg_term(m, &l->t, ncond, l->nph)) != 0) {
            return pf__set_error(m, rc, "load.%s: no bus", l->name);
        }
    }
    for (size_t i = 0; i < m->ncap; i++) {
        const struct pf__cap *c = &m->cap[i];
        if (!c->enabled) {
            continue;
        }
        if ((rc = reg_term(m, &c->t1, c->nph, c->nph)) != 0) {
            return pf__set_error(m, rc, "capacitor.%s: no bus", c->name);
        }
        if (c->t2set && (rc = reg_term(m, &c->t2, c->nph, c->nph)) != 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < m->ngen; i++) {
        const struct pf__gen *g = &m->gen[i];
        int ncond = g->delta ? (g->nph == 1 ? 2 : g->nph) : g->nph + 1;
        if ((rc = reg_term(m, &g->t, ncond, g->nph)) != 0) {
            return pf__set_error(m, rc, "%s: no bus", g->name);
        }
    }
    /* Nodes of a bus in node-number order, buses in order of appearance. */
    int n = 0;
    for (size_t b = 0; b < m->nbus; b++) {
        struct pf__bus *bs = &m->bus[b];
        for (int i = 1; i < bs->nn; i++) {
            for (int j = i; j > 0 && bs->num[j - 1] > bs->num[j]; j--) {
                int t = bs->num[j];
                bs->num[j] = bs->num[j - 1];
                bs->num[j - 1] = t;
            }
        }
        for (int i = 0; i < bs->nn; i++) {
            bs->idx[i] = n++;
        }
    }
    m->n = n;
    if (n == 0) {
        return pf__set_error(m, BASE_EINVAL, "the circuit has no nodes");
    }
    m->node_bus = base_malloc((size_t)n * sizeof(int));
    m->node_num = base_malloc((size_t)n * sizeof(int));
    m->vref = base_malloc((size_t)n * sizeof(double));
    m->v = base_calloc((size_t)n, sizeof(pf__cx));
    m->rhs = base_calloc((size_t)n, sizeof(pf__cx));
    m->isrc = base_calloc((size_t)n, sizeof(pf__cx));
    m->iscratch = base_calloc((size_t)n, sizeof(pf__cx));
    m->xf_prim = base_malloc((m->nxf + 1) * sizeof(int));
    m->gen_br = base_malloc((m->ngen + 1) * sizeof(int));
    if (m->node_bus == NULL || m->node_num == NULL || m->vref == NULL ||
        m->v == NULL || m->rhs == NULL || m->isrc == NULL ||
        m->iscratch == NULL || m->xf_prim == NULL || m->gen_br == NULL) {
        return BASE_ENOMEM;
    }
    for (size_t b = 0; b < m->nbus; b++) {
        for (int i = 0; i < m->bus[b].nn; i++) {
            m->node_bus[m->bus[b].idx[i]] = (int)b;
            m->node_num[m->bus[b].idx[i]] = m->bus[b].num[i];
        }
    }
    /* Pass 2: primitives. */
    int *nd;
    pf__cx *y;
    for (size_t i = 0; i < m->nvsrc; i++) {
        const struct pf__vsrc *v = &m->vsrc[i];
        int np = v->phases;
        if ((rc = add_prim(m, P_VSRC, (int)i, np, np, &nd, &y)) != 0) {
            return rc;
        }
        res_term(m, &v->t1, np, np, nd);
        if (vsrc_prim(v, y) != 0) {
            return pf__set_error(m, BASE_ESINGULAR,
                                 "vsource.%s: zero impedance", v->name);
        }
        pf__cx vs[PF_MAXC];
        pf__vsrc_volts(v, vs);
        for (int a = 0; a < np; a++) {
            pf__cx s = 0;
            for (int b = 0; b < np; b++) {
                s += y[a * np + b] * vs[b];
            }
            if (nd[a] >= 0) {
                m->isrc[nd[a]] += s;
            }
        }
    }
    for (size_t i = 0; i < m->nxf; i++) {
        const struct pf__xfmr *t = &m->xf[i];
        m->xf_prim[i] = -1;
        if (!t->enabled) {
            continue;
        }
        int nc = t->nph + 1;
        int ord = t->nw * nc;
        m->xf_prim[i] = (int)m->nprim;
        if ((rc = add_prim(m, P_XFMR, (int)i, ord, nc, &nd, &y)) != 0) {
            return rc;
        }
        for (int w = 0; w < t->nw; w++) {
            res_term(m, &t->w[w].t, nc, t->nph, nd + w * nc);
        }
        if (pf__xfmr_prim(m, t, y) != 0) {
            return pf__set_error(m, BASE_EPARSE,
                                 "transformer.%s: zero kV, kVA or impedance",
                                 t->name);
        }
    }
    for (size_t i = 0; i < m->nline; i++) {
        const struct pf__line *l = &m->line[i];
        if (!l->enabled) {
            continue;
        }
        if (l->zord < l->nph) {
            return pf__set_error(m, BASE_EPARSE,
                                 "line.%s: %d phases but a %d-phase impedance",
                                 l->name, l->nph, l->zord);
        }
        int np = l->nph;
        if ((rc = add_prim(m, P_LINE, (int)i, 2 * np, np, &nd, &y)) != 0) {
            return rc;
        }
        res_term(m, &l->t1, np, np, nd);
        res_term(m, &l->t2, np, np, nd + np);
        if (line_prim(m, l, y) != 0) {
            return pf__set_error(m, BASE_ESINGULAR,
                                 "line.%s: singular impedance matrix", l->name);
        }
    }
    for (size_t i = 0; i < m->ncap; i++) {
        const struct pf__cap *c = &m->cap[i];
        if (!c->enabled) {
            continue;
        }
        int np = c->nph;
        if ((rc = add_prim(m, P_CAP, (int)i, 2 * np, np, &nd, &y)) != 0) {
            return rc;
        }
        res_term(m, &c->t1, np, np, nd);
        if (c->t2set) {
            res_term(m, &c->t2, np, np, nd + np);
        } else {
            for (int k = 0; k < np; k++) {
                nd[np + k] = -1;
            }
        }
        cap_prim(c, y);
    }
    /* A conductor with an empty row (the unused neutral of a delta winding
     * given a node) must not become a floating node. */
    for (size_t p = 0; p < m->nprim; p++) {
        struct pf__prim *pr = &m->prim[p];
        for (int i = 0; i < pr->ord; i++) {
            if (m->prim_y[pr->yoff + (size_t)(i * pr->ord + i)] == 0) {
                m->prim_node[pr->noff + (size_t)i] = -1;
            }
        }
    }
    for (size_t i = 0; i < m->nload; i++) {
        const struct pf__load *l = &m->load[i];
        if (!l->enabled) {
            continue;
        }
        if (l->kv <= 0) {
            return pf__set_error(m, BASE_EPARSE, "load.%s: kV must be > 0",
                                 l->name);
        }
        rc = add_load_brs(m, &l->t, l->nph, l->delta, l->kv, l->kw, l->kvar,
                          l->model, l->vmin, l->vmax, l->vlow, (int)i, false);
        if (rc != 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < m->ngen; i++) {
        const struct pf__gen *g = &m->gen[i];
        if (g->kv <= 0) {
            return pf__set_error(m, BASE_EPARSE, "%s: kV must be > 0", g->name);
        }
        m->gen_br[i] = (int)m->nbr;
        rc = add_load_brs(m, &g->t, g->nph, g->delta, g->kv, gen_kw(g),
                          gen_kvar(g), 1, g->vmin, g->vmax, 0.5, (int)i, true);
        if (rc != 0) {
            return rc;
        }
        if (!g->enabled) {
            pf__gen_refresh(m, (int)i);
        }
    }
    /* Room for the probe branches of pf_dvdp. */
    if (pf__grow((void **)&m->br, &m->capbr, m->nbr + PF_MAXC,
                 sizeof(*m->br)) != 0) {
        return BASE_ENOMEM;
    }
    return 0;
}

static int build_results_index(struct pf_model *m)
{
    size_t ne = m->nprim + m->nload + m->ngen;
    m->ename = base_calloc(ne + 1, sizeof(*m->ename));
    m->eprim = base_malloc((ne + 1) * sizeof(int));
    m->ebr0 = base_malloc((ne + 1) * sizeof(int));
    m->ebrn = base_malloc((ne + 1) * sizeof(int));
    if (m->ename == NULL || m->eprim == NULL || m->ebr0 == NULL ||
        m->ebrn == NULL) {
        return BASE_ENOMEM;
    }
    size_t e = 0;
    static const char *const kinds[] = {"Vsource", "Line", "Transformer",
                                        "Capacitor"};
    for (size_t p = 0; p < m->nprim; p++, e++) {
        const struct pf__prim *pr = &m->prim[p];
        const char *nm = pr->kind == P_VSRC   ? m->vsrc[pr->idx].name
                         : pr->kind == P_LINE ? m->line[pr->idx].name
                         : pr->kind == P_XFMR ? m->xf[pr->idx].name
                                              : m->cap[pr->idx].name;
        snprintf(m->ename[e], sizeof(m->ename[e]), "%s.%s", kinds[pr->kind],
                 nm);
        m->eprim[e] = (int)p;
        m->ebr0[e] = m->ebrn[e] = 0;
    }
    size_t b = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t cnt = pass == 0 ? m->nload : m->ngen;
        for (size_t i = 0; i < cnt; i++) {
            if (pass == 0 && !m->load[i].enabled) {
                continue;
            }
            if (pass == 0) {
                snprintf(m->ename[e], sizeof(m->ename[e]), "Load.%s",
                         m->load[i].name);
            } else {
                snprintf(m->ename[e], sizeof(m->ename[e]), "%s",
                         m->gen[i].name);
                if (strncmp(m->gen[i].name, "pvsystem.", 9) != 0 &&
                    strncmp(m->gen[i].name, "generator.", 10) != 0) {
                    snprintf(m->ename[e], sizeof(m->ename[e]), "%s.%s",
                             m->gen[i].pv ? "PVSystem" : "Generator",
                             m->gen[i].name);
                }
            }
            m->eprim[e] = -1;
            m->ebr0[e] = (int)b;
            while (b < m->nbr && m->br[b].gen == (pass == 1) &&
                   m->br[b].load == (int)i) {
                b++;
            }
            m->ebrn[e] = (int)b - m->ebr0[e];
            e++;
        }
    }
    m->nelem = e;
    return 0;
}

static void set_vref(struct pf_model *m, const pf__cx *v0)
{
    for (int i = 0; i < m->n; i++) {
        double kvb = m->bus[m->node_bus[i]].kvbase;
        if (kvb > 0) {
            m->vref[i] = kvb * 1000.0 / PF_SQRT3;
        } else {
            double a = v0 != NULL ? cabs(v0[i]) : 0.0;
            m->vref[i] = a > 1.0 ? a : 1.0;
        }
    }
}

int pf__restamp(struct pf_model *m)
{
    for (size_t i = 0; i < m->nxf; i++) {
        int p = m->xf_prim[i];
        if (p < 0) {
            continue;
        }
        if (pf__xfmr_prim(m, &m->xf[i], m->prim_y + m->prim[p].yoff) != 0) {
            return pf__set_error(m, BASE_EINVAL, "transformer.%s: bad tap",
                                 m->xf[i].name);
        }
    }
    stamp_values(m, true);
    return pf__factor(m, true);
}

int pf__build(struct pf_model *m)
{
    pf__release_network(m);
    if (m->nvsrc == 0) {
        return pf__set_error(m, BASE_EINVAL, "no circuit (source) defined");
    }
    int rc = build_elements(m);
    if (rc == 0) {
        rc = make_pattern(m);
    }
    if (rc == 0) {
        rc = build_results_index(m);
    }
    if (rc != 0) {
        if (rc == BASE_ENOMEM) {
            pf__set_error(m, rc, "out of memory building the network");
        }
        pf__release_network(m);
        return rc;
    }
    stamp_values(m, true);
    rc = pf__factor(m, false);
    if (rc != 0) {
        pf__release_network(m);
        return rc;
    }
    /* Start from the solution with every load as its nominal impedance. */
    memcpy(m->v, m->isrc, (size_t)m->n * sizeof(pf__cx));
    klu_z_solve(m->klu_sym, m->klu_num, m->n, 1, (double *)m->v, m->klu_common);
    set_vref(m, m->v);
    m->dirty = false;
    m->ydirty = false;
    return 0;
}

/* OpenDSS's CalcVoltageBases: solve with no load, give every bus the listed
 * base nearest its voltage. */
int pf__calc_vbases(struct pf_model *m)
{
    int rc;
    if (m->dirty) {
        rc = pf__build(m);
        if (rc != 0) {
            return rc;
        }
    }
    stamp_values(m, false);
    rc = pf__factor(m, true);
    if (rc != 0) {
        return rc;
    }
    memcpy(m->iscratch, m->isrc, (size_t)m->n * sizeof(pf__cx));
    klu_z_solve(m->klu_sym, m->klu_num, m->n, 1, (double *)m->iscratch,
                m->klu_common);
    for (size_t b = 0; b < m->nbus; b++) {
        struct pf__bus *bs = &m->bus[b];
        if (bs->nn == 0 || m->nvbases == 0) {
            continue;
        }
        double kv = cabs(m->iscratch[bs->idx[0]]) * PF_SQRT3 / 1000.0;
        double best = 0;
        double err = 1e300;
        for (int k = 0; k < m->nvbases; k++) {
            if (m->vbases[k] <= 0) {
                continue;
            }
            double e = fabs(log(kv / m->vbases[k]));
            if (kv > 0 && e < err) {
                err = e;
                best = m->vbases[k];
            }
        }
        bs->kvbase = best;
        int ki = pf__map_get(&m->m_kvb, bs->name);
        if (ki < 0) {
            if (pf__grow((void **)&m->kvb, &m->capkvb, m->nkvb + 1,
                         sizeof(double)) != 0) {
                return BASE_ENOMEM;
            }
            ki = (int)m->nkvb++;
            if (pf__map_put(&m->m_kvb, bs->name, ki) != 0) {
                return BASE_ENOMEM;
            }
        }
        m->kvb[ki] = best;
    }
    set_vref(m, m->iscratch);
    m->bases_done = true;
    stamp_values(m, true);
    return pf__factor(m, true);
}
