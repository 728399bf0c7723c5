/* SPDX-License-Identifier: MIT */
/* Results: node voltages, element flows, totals, CSV and text reports. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "grid/grid_int.h"

/* Currents into primitive @p's conductors (@cur, ord values). */
static void prim_currents(const struct pf_model *m, const struct pf__prim *p,
                          pf__cx *cur)
{
    const int *nd = m->prim_node + p->noff;
    const pf__cx *y = m->prim_y + p->yoff;
    pf__cx vp[2 * PF_MAXC * PF_MAXW];
    for (int j = 0; j < p->ord; j++) {
        vp[j] = nd[j] >= 0 ? m->v[nd[j]] : 0;
    }
    if (p->kind == P_VSRC) {
        pf__cx vs[PF_MAXC];
        pf__vsrc_volts(&m->vsrc[p->idx], vs);
        for (int j = 0; j < p->ord; j++) {
            vp[j] -= vs[j];
        }
    }
    for (int i = 0; i < p->ord; i++) {
        pf__cx s = 0;
        for (int j = 0; j < p->ord; j++) {
            s += y[i * p->ord + j] * vp[j];
        }
        cur[i] = s;
    }
}

int pf_get_result(const struct pf_model *m, struct pf_result *out)
{
    if (!m->solved || m->dirty) {
        return BASE_EINVAL;
    }
    *out = m->res;
    pf__cx loss = 0;
    pf__cx src = 0;
    pf__cx cur[2 * PF_MAXC * PF_MAXW];
    for (size_t k = 0; k < m->nprim; k++) {
        const struct pf__prim *p = &m->prim[k];
        if (p->kind == P_CAP) {
            continue;
        }
        prim_currents(m, p, cur);
        const int *nd = m->prim_node + p->noff;
        pf__cx s = 0;
        for (int i = 0; i < p->ord; i++) {
            if (nd[i] >= 0) {
                s += m->v[nd[i]] * conj(cur[i]);
            }
        }
        if (p->kind == P_VSRC) {
            src -= s;
        } else {
            loss += s;
        }
    }
    out->losses_kw = creal(loss) / 1000.0;
    out->losses_kvar = cimag(loss) / 1000.0;
    out->source_kw = creal(src) / 1000.0;
    out->source_kvar = cimag(src) / 1000.0;
    return 0;
}

size_t pf_node_count(const struct pf_model *m)
{
    return m->solved && !m->dirty ? (size_t)m->n : 0;
}

int pf_node_get(const struct pf_model *m, size_t i, struct pf_node *out)
{
    if (i >= pf_node_count(m)) {
        return BASE_EINVAL;
    }
    const struct pf__bus *b = &m->bus[m->node_bus[i]];
    out->bus = b->name;
    out->node = m->node_num[i];
    out->kv_base = b->kvbase / PF_SQRT3;
    out->v_re = creal(m->v[i]);
    out->v_im = cimag(m->v[i]);
    return 0;
}

int pf_node_find(const struct pf_model *m, const char *bus, int node)
{
    if (pf_node_count(m) == 0) {
        return BASE_ENOTFOUND;
    }
    int b = pf__map_get(&m->m_bus, bus);
    if (b < 0) {
        return BASE_ENOTFOUND;
    }
    const struct pf__bus *bs = &m->bus[b];
    for (int k = 0; k < bs->nn; k++) {
        if (bs->num[k] == node) {
            return bs->idx[k];
        }
    }
    return BASE_ENOTFOUND;
}

size_t pf_element_count(const struct pf_model *m)
{
    return m->solved && !m->dirty ? m->nelem : 0;
}

int pf_element_get(const struct pf_model *m, size_t e, struct pf_element *out)
{
    if (e >= pf_element_count(m)) {
        return BASE_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->name = m->ename[e];
    if (m->eprim[e] >= 0) {
        const struct pf__prim *p = &m->prim[m->eprim[e]];
        pf__cx cur[2 * PF_MAXC * PF_MAXW];
        prim_currents(m, p, cur);
        const int *nd = m->prim_node + p->noff;
        pf__cx s1 = 0;
        pf__cx st = 0;
        for (int i = 0; i < p->ord; i++) {
            pf__cx vi = nd[i] >= 0 ? m->v[nd[i]] : 0;
            pf__cx s = vi * conj(cur[i]);
            st += s;
            if (i < p->nt1) {
                s1 += s;
                if (i < 4) {
                    out->i_mag[i] = cabs(cur[i]);
                }
            }
        }
        out->nconds = p->nt1 < 4 ? p->nt1 : 4;
        out->p_kw = creal(s1) / 1000.0;
        out->q_kvar = cimag(s1) / 1000.0;
        if (p->kind == P_LINE || p->kind == P_XFMR) {
            out->loss_kw = creal(st) / 1000.0;
            out->loss_kvar = cimag(st) / 1000.0;
        }
        return 0;
    }
    pf__cx s = 0;
    int nc = 0;
    for (int k = 0; k < m->ebrn[e]; k++) {
        const struct pf__br *b = &m->br[m->ebr0[e] + k];
        pf__cx vd = m->v[b->p] - (b->q >= 0 ? m->v[b->q] : 0);
        double vm = cabs(vd);
        pf__cx ic;
        /* Same law as the solver, evaluated once. */
        double mult = b->mult;
        if (b->model == 2 || vm <= b->vblow) {
            ic = b->yeq * mult * vd;
        } else if (vm <= b->vb95 || vm > b->vb105) {
            double r = (vm <= b->vb95 ? b->vb95 : b->vb105) / b->vbase;
            ic = b->yeq * mult / (r * r) * vd;
        } else if (b->model == 5) {
            ic = conj((b->w + I * b->var) * mult / vd) * (vm / b->vbase);
        } else if (b->model == 4) {
            double r = vm / b->vbase;
            ic = conj((b->w * mult * r + I * b->var * mult * r * r) / vd);
        } else {
            ic = conj((b->w + I * b->var) * mult / vd);
        }
        s += vd * conj(ic);
        if (nc < 4) {
            out->i_mag[nc++] = cabs(ic);
        }
    }
    out->nconds = nc;
    out->p_kw = creal(s) / 1000.0;
    out->q_kvar = cimag(s) / 1000.0;
    return 0;
}

static void phase_name(int node, char *out, size_t n)
{
    if (node >= 1 && node <= 3) {
        snprintf(out, n, "%c", "abc"[node - 1]);
    } else {
        snprintf(out, n, "%d", node);
    }
}

int pf_write_csv(const struct pf_model *m, FILE *f, bool header, int step,
                 double t_s)
{
    size_t n = pf_node_count(m);
    if (n == 0) {
        return BASE_EINVAL;
    }
    if (header) {
        if (step >= 0) {
            fputs("step,time_s,", f);
        }
        fputs("bus,phase,vmag_pu,vang_deg\n", f);
    }
    for (size_t i = 0; i < n; i++) {
        const struct pf__bus *b = &m->bus[m->node_bus[i]];
        char ph[16];
        phase_name(m->node_num[i], ph, sizeof(ph));
        double mag = cabs(m->v[i]) / m->vref[i];
        double ang = carg(m->v[i]) * 180.0 / PF_PI;
        if (step >= 0) {
            fprintf(f, "%d,%.0f,", step, t_s);
        }
        fprintf(f, "%s,%s,%.6f,%.4f\n", b->name, ph, mag, ang);
    }
    return ferror(f) ? BASE_EIO : 0;
}

int pf_write_report(const struct pf_model *m, FILE *f)
{
    struct pf_result r;
    if (pf_get_result(m, &r) != 0) {
        return BASE_EINVAL;
    }
    fprintf(f, "LINE-GROUND and LINE-NEUTRAL VOLTAGES BY BUS & NODE\n\n");
    fprintf(f, "%-16s %4s %12s %9s %9s %8s\n", "Bus", "Node", "V (volts)",
            "Angle", "p.u.", "Base kV");
    int lastb = -1;
    for (int i = 0; i < m->n; i++) {
        const struct pf__bus *b = &m->bus[m->node_bus[i]];
        double mag = cabs(m->v[i]);
        fprintf(f, "%-16s %4d %12.1f %9.2f %9.5f %8.3f\n",
                m->node_bus[i] != lastb ? b->name : "-", m->node_num[i], mag,
                carg(m->v[i]) * 180.0 / PF_PI, mag / m->vref[i],
                b->kvbase > 0 ? b->kvbase : m->vref[i] * PF_SQRT3 / 1000.0);
        lastb = m->node_bus[i];
    }
    fprintf(f, "\nTotal source power: %.2f kW %+.2f kvar\n", r.source_kw,
            r.source_kvar);
    fprintf(f, "Total losses:       %.2f kW %+.2f kvar\n", r.losses_kw,
            r.losses_kvar);
    fprintf(f,
            "Converged: %s after %d iterations, %d control iterations, %d "
            "tap changes\n",
            r.converged ? "yes" : "NO", r.iterations, r.control_iterations,
            r.tap_changes);
    int taps = 0;
    for (size_t i = 0; i < m->nrc; i++) {
        int xi = pf__map_get(&m->m_xf, m->rc[i].xfmr);
        if (xi < 0) {
            continue;
        }
        const struct pf__wdg *w = &m->xf[xi].w[m->rc[i].tapwinding - 1];
        double step = (w->maxtap - w->mintap) / w->numtaps;
        if (taps++ == 0) {
            fprintf(f, "\nRegulator taps\n");
        }
        fprintf(f, "  %-16s %-16s tap %.5f (%+d)\n", m->rc[i].name,
                m->rc[i].xfmr, w->tap, (int)lround((w->tap - 1.0) / step));
    }
    return ferror(f) ? BASE_EIO : 0;
}
