/* SPDX-License-Identifier: MIT */
/* Private structures of grid shared by the reader, the builder and solver. */
#ifndef GL_GRID_INT_H
#define GL_GRID_INT_H

#include <complex.h>

#include "grid/grid.h"

#define PF_NAMELEN 64
#define PF_MAXC    8 /* conductors per terminal / linecode order */
#define PF_MAXW    3 /* transformer windings */
#define PF_SQRT3   1.7320508075688772
#define PF_PI      3.14159265358979323846

typedef double complex pf__cx;

/* Name -> index table with owned keys (open addressing). */
struct pf__map {
    char **keys;
    int *vals;
    size_t cap;
    size_t n;
};

int pf__map_put(struct pf__map *mp, const char *key, int val);
int pf__map_get(const struct pf__map *mp, const char *key);
void pf__map_release(struct pf__map *mp);

/* Copy @src into @dst (@n bytes), truncating; always NUL-terminated. */
void pf__scopy(char *dst, size_t n, const char *src);

/* Grow *@p (elements of @elsz) so that @need fit; doubles the capacity. */
int pf__grow(void **p, size_t *cap, size_t need, size_t elsz);

/* A terminal as written in the script: bus name and explicit node list. */
struct pf__term {
    char bus[PF_NAMELEN];
    int nodes[PF_MAXC];
    int nspec; /* nodes given explicitly */
};

enum pf__units { U_NONE, U_MI, U_KFT, U_KM, U_M, U_FT, U_IN, U_CM, U_MM };

struct pf__vsrc {
    char name[PF_NAMELEN];
    struct pf__term t1;
    int phases;
    double basekv, pu, angle;
    double mvasc3, mvasc1, x1r1, x0r0;
    double r1, x1, r0, x0;
    bool zspec_rx; /* impedances given as R1/X1/R0/X0 */
};

struct pf__lcode {
    char name[PF_NAMELEN];
    int nph;
    pf__cx z[PF_MAXC * PF_MAXC]; /* ohms per unit length */
    double c[PF_MAXC * PF_MAXC]; /* nF per unit length */
    int units;
    bool kron;
    double seq[6]; /* r1 x1 r0 x0 c1 c0 */
};

struct pf__line {
    char name[PF_NAMELEN];
    struct pf__term t1, t2;
    bool t2set;
    int nph;
    pf__cx z[PF_MAXC * PF_MAXC];
    double c[PF_MAXC * PF_MAXC];
    int zord;   /* order of the stored z and c matrices */
    int zunits; /* units the impedances are per (U_NONE: per line unit) */
    double length;
    int lunits;
    double seq[6];
    bool enabled;
};

struct pf__wdg {
    struct pf__term t;
    int delta;
    double kv, kva, rpct, tap;
    double maxtap, mintap;
    int numtaps;
};

struct pf__xfmr {
    char name[PF_NAMELEN];
    int nph, nw, active;
    struct pf__wdg w[PF_MAXW];
    double xhl, xht, xlt; /* percent on winding 1 kVA */
    double noload_pct, imag_pct, ppm;
    bool enabled;
};

struct pf__load {
    char name[PF_NAMELEN];
    struct pf__term t;
    int nph, delta, model;
    double kv, kw, kvar, pf;
    bool pf_last; /* pf given after kvar: kvar follows from pf */
    double vmin, vmax, vlow;
    int daily;   /* loadshape index, -1 none */
    double mult; /* this load's own multiplier (pf_load_set_mult) */
    bool enabled;
};

struct pf__cap {
    char name[PF_NAMELEN];
    struct pf__term t1, t2;
    bool t2set;
    int nph, delta;
    double kvar, kv;
    bool enabled;
};

/* PVSystem and Generator: fixed P and Q (DER). */
struct pf__gen {
    char name[PF_NAMELEN]; /* "pvsystem.x" or "generator.x" */
    struct pf__term t;
    int nph, delta;
    bool pv;
    double kv, kw, kvar, pf, pmpp, irrad, pctpmpp;
    bool pf_last;
    double vmin, vmax;
    int daily;
    bool enabled;
};

struct pf__regc {
    char name[PF_NAMELEN];
    char xfmr[PF_NAMELEN];
    int winding, tapwinding, ptphase, maxtapchange;
    double vreg, band, ptratio, ctprim, r, x, delay;
    bool enabled;
};

struct pf__shape {
    char name[PF_NAMELEN];
    int npts;
    double interval; /* hours; 0: use hour[] */
    double *mult;    /* owned, npts values */
    double *hour;    /* owned or NULL */
    double cur;      /* multiplier at the present time */
};

/* A constant-power/current load branch between two nodes (-1: ground). */
struct pf__br {
    int p, q;
    int model; /* 1 PQ, 2 Z, 4 linear P quadratic Q, 5 I */
    int load;  /* index in loads (or gens when gen) */
    bool gen;  /* DER: injects, not stamped into Y */
    double vbase, vb95, vb105, vblow;
    double w, var; /* nominal watts and vars of this branch */
    double mult;   /* load multiplier in force (loadmult x shape) */
    pf__cx yeq;    /* admittance at base voltage, (w - j var) / vbase^2 */
    pf__cx ystamp; /* what Y holds for this branch */
};

/* One element's primitive admittance, stamped into Y. */
struct pf__prim {
    int kind; /* P_VSRC, P_LINE, P_XFMR, P_CAP */
    int idx;
    int ord;
    size_t noff; /* offset in prim_node */
    size_t yoff; /* offset in prim_y (ord*ord) */
    int nt1;     /* conductors of terminal 1 */
};

enum { P_VSRC, P_LINE, P_XFMR, P_CAP };

struct pf__bus {
    char name[PF_NAMELEN];
    int nn;
    int num[PF_MAXC + 2]; /* node numbers */
    int idx[PF_MAXC + 2]; /* global node indices */
    double kvbase;        /* line-to-line kV, 0 unknown */
};

struct pf_model {
    char errmsg[BASE_ERRMSG_SIZE];
    pf_warn_cb warn;
    void *warn_arg;

    /* ---- script state ---- */
    struct pf__vsrc *vsrc;
    size_t nvsrc, capvsrc;
    struct pf__lcode *lcode;
    size_t nlcode, caplcode;
    struct pf__line *line;
    size_t nline, capline;
    struct pf__xfmr *xf;
    size_t nxf, capxf;
    struct pf__load *load;
    size_t nload, capload;
    struct pf__cap *cap;
    size_t ncap, capcap;
    struct pf__gen *gen;
    size_t ngen, capgen;
    struct pf__regc *rc;
    size_t nrc, caprc;
    struct pf__shape *shape;
    size_t nshape, capshape;
    struct pf__map m_vsrc, m_lcode, m_line, m_xf, m_load, m_cap, m_gen, m_rc,
        m_shape;
    int active_kind; /* class of the active element for "~" lines */
    int active_idx;

    double vbases[16];
    int nvbases;
    bool controls_on;
    int maxcontroliter, maxiter;
    double tol;
    double loadmult;
    bool mode_daily;
    double stepsize;
    int number;
    double basefreq;
    bool bases_done;
    struct pf__map m_kvb; /* bus -> index in kvb: bases survive rebuilds */
    double *kvb;
    size_t nkvb, capkvb;

    /* ---- built network (valid while !dirty) ---- */
    bool dirty;  /* topology or element data changed: rebuild */
    bool ydirty; /* only values changed (taps): refactor */
    struct pf__bus *bus;
    size_t nbus, capbus;
    struct pf__map m_bus;
    int n;         /* nodes */
    int *node_bus; /* bus of each node */
    int *node_num; /* node number of each node */
    double *vref;  /* LN base volts of each node (for pu and tolerance) */
    struct pf__prim *prim;
    size_t nprim, capprim;
    int *prim_node;
    size_t nprim_node, capprim_node;
    pf__cx *prim_y;
    size_t nprim_y, capprim_y;
    struct pf__br *br;
    size_t nbr, capbr;
    int *ap, *ai; /* CSC pattern of Y */
    pf__cx *ax;
    size_t nnz;
    int *tmap; /* triplet -> ax position, in stamping order */
    size_t ntrip;
    void *klu_common; /* klu_common */
    void *klu_sym;    /* klu_symbolic */
    void *klu_num;    /* klu_numeric */
    pf__cx *v, *rhs, *isrc, *iscratch;
    int *xf_prim; /* prim index of each transformer, -1 when disabled */
    int *gen_br;  /* first branch of each DER (-1 none) */
    char (*ename)[PF_NAMELEN + 16];
    int *eprim;       /* result element -> prim (or -1) */
    int *ebr0, *ebrn; /* result element -> branches */
    size_t nelem;
    bool solved;
    struct pf_result res;
};

/* reader.c */
int pf__set_error(struct pf_model *m, int code, const char *fmt, ...)
    BASE_PRINTF(3, 4);
void pf__warn(struct pf_model *m, const char *fmt, ...) BASE_PRINTF(2, 3);
void pf__clear(struct pf_model *m);

/* build.c */
int pf__build(struct pf_model *m);
void pf__release_network(struct pf_model *m);
int pf__xfmr_prim(const struct pf_model *m, const struct pf__xfmr *t,
                  pf__cx *y);
int pf__restamp(struct pf_model *m);
int pf__calc_vbases(struct pf_model *m);

/* solve.c */
int pf__factor(struct pf_model *m, bool refactor);
int pf__solve_pf(struct pf_model *m, int *iters);
double pf__shape_mult(const struct pf__shape *s, double hours);

/** Open-circuit phase voltages (volts) of a source, for the solver and
 *  the report. */
void pf__vsrc_volts(const struct pf__vsrc *v, pf__cx *vs);

#endif
