/* SPDX-License-Identifier: MIT */
/* The OpenDSS script reader: lexer, commands and element properties. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grid/grid_int.h"

#define MAX_DEPTH  32
#define MAX_SCRIPT (256u << 20)
#define VALLEN     4096

enum {
    C_VSRC,
    C_LCODE,
    C_LINE,
    C_XF,
    C_LOAD,
    C_CAP,
    C_PV,
    C_GEN,
    C_RC,
    C_SHAPE,
    C_IGNORED, /* meters, monitors ...: reports only */
    C_NCLASS
};

/* Where we are, for messages: file and line of the command being run. */
struct ctx {
    const char *file;
    char dir[4096];
    int line;
    int depth;
};

static int run_text(struct pf_model *m, const char *text, struct ctx *cx);

/* ---- messages -------------------------------------------------------- */

static _Thread_local struct ctx *cur; /* the running script, per thread */

#define WHERE_FMT "%s:%d: "
#define WHERE     (cur != NULL ? cur->file : "?"), (cur != NULL ? cur->line : 0)

/* ---- lexer ----------------------------------------------------------- */

static const char *skip_sep(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r') {
        p++;
    }
    return p;
}

static char closer(char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\'':
        return '\'';
    case '[':
        return ']';
    case '(':
        return ')';
    case '{':
        return '}';
    default:
        return 0;
    }
}

/* Read one value at *pp into @out: quoted or bracketed (contents only) or a
 * bare word ending at a separator. With @stop_eq a bare word also ends at
 * '=' (so "name=value" splits). Returns false at end of line. */
static bool read_word(const char **pp, char *out, size_t outsz, bool stop_eq)
{
    const char *p = *pp;
    size_t n = 0;
    char cl = closer(*p);
    if (cl != 0) {
        char op = *p;
        int depth = 1;
        p++;
        while (*p != '\0') {
            if (*p == cl && --depth == 0) {
                break;
            }
            if (*p == op && op != cl) {
                depth++;
            }
            if (n + 1 < outsz) {
                out[n++] = *p;
            }
            p++;
        }
        if (*p != '\0') {
            p++;
        }
    } else {
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',' &&
               *p != '\r' && !(stop_eq && *p == '=')) {
            if (n + 1 < outsz) {
                out[n++] = *p;
            }
            p++;
        }
    }
    out[n] = '\0';
    *pp = p;
    return true;
}

/* Next token: "name=value" (name set) or a positional value (name empty). */
static bool next_tok(const char **pp, char *name, size_t namesz, char *val,
                     size_t valsz)
{
    const char *p = skip_sep(*pp);
    name[0] = '\0';
    if (*p == '\0') {
        *pp = p;
        return false;
    }
    if (closer(*p) != 0) {
        read_word(&p, val, valsz, false);
        *pp = p;
        return true;
    }
    char word[VALLEN];
    read_word(&p, word, sizeof(word), true);
    const char *q = p;
    while (*q == ' ' || *q == '\t') {
        q++;
    }
    if (*q == '=') {
        q++;
        while (*q == ' ' || *q == '\t') {
            q++;
        }
        pf__scopy(name, namesz, word);
        read_word(&q, val, valsz, false);
        *pp = q;
        return true;
    }
    pf__scopy(val, valsz, word);
    *pp = p;
    return true;
}

static void lower(char *s)
{
    for (; *s != '\0'; s++) {
        *s = (char)tolower((unsigned char)*s);
    }
}

/* ---- values ---------------------------------------------------------- */

/* RPN as OpenDSS's in-line math: "(0.00625 12 * 1 +)". */
static int eval_rpn(const char *s, double *out)
{
    double st[32];
    int sp = 0;
    char tok[128];
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        size_t n = 0;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',') {
            if (n + 1 < sizeof(tok)) {
                tok[n++] = *p;
            }
            p++;
        }
        tok[n] = '\0';
        double v;
        if (base_parse_double(tok, &v) == 0) {
            if (sp >= 32) {
                return BASE_EPARSE;
            }
            st[sp++] = v;
            continue;
        }
        if (strlen(tok) == 1 && strchr("+-*/^", tok[0]) != NULL) {
            if (sp < 2) {
                return BASE_EPARSE;
            }
            double b = st[--sp];
            double a = st[--sp];
            switch (tok[0]) {
            case '+':
                a += b;
                break;
            case '-':
                a -= b;
                break;
            case '*':
                a *= b;
                break;
            case '/':
                a /= b;
                break;
            default:
                a = pow(a, b);
                break;
            }
            st[sp++] = a;
            continue;
        }
        if (sp < 1) {
            return BASE_EPARSE;
        }
        double a = st[sp - 1];
        if (strcasecmp(tok, "sqrt") == 0) {
            a = sqrt(a);
        } else if (strcasecmp(tok, "sqr") == 0) {
            a = a * a;
        } else if (strcasecmp(tok, "inv") == 0) {
            a = 1.0 / a;
        } else if (strcasecmp(tok, "ln") == 0) {
            a = log(a);
        } else if (strcasecmp(tok, "exp") == 0) {
            a = exp(a);
        } else {
            return BASE_EPARSE;
        }
        st[sp - 1] = a;
    }
    if (sp != 1 || !isfinite(st[0])) {
        return BASE_EPARSE;
    }
    *out = st[0];
    return 0;
}

static int num(struct pf_model *m, const char *prop, const char *val,
               double *out)
{
    double v;
    if (base_parse_double(val, &v) == 0 && isfinite(v)) {
        *out = v;
        return 0;
    }
    if (eval_rpn(val, &v) == 0) {
        *out = v;
        return 0;
    }
    return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad number '%s' for %s",
                         WHERE, val, prop);
}

static int inum(struct pf_model *m, const char *prop, const char *val, int lo,
                int hi, int *out)
{
    double v;
    int rc = num(m, prop, val, &v);
    if (rc != 0) {
        return rc;
    }
    if (v < lo || v > hi || v != floor(v)) {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "%s=%s out of range [%d, %d]", WHERE,
                             prop, val, lo, hi);
    }
    *out = (int)v;
    return 0;
}

/* Numbers of an array or matrix: separators are blanks, commas and '|'. */
static int num_array(struct pf_model *m, const char *prop, const char *val,
                     double *out, int max, int *count)
{
    char tok[256];
    int n = 0;
    const char *p = val;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '|' ||
               *p == '\r' || *p == '\n') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        size_t k = 0;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',' &&
               *p != '|' && *p != '\r' && *p != '\n') {
            if (k + 1 < sizeof(tok)) {
                tok[k++] = *p;
            }
            p++;
        }
        tok[k] = '\0';
        if (n >= max) {
            return pf__set_error(m, BASE_EPARSE,
                                 WHERE_FMT "too many values for %s", WHERE,
                                 prop);
        }
        int rc = num(m, prop, tok, &out[n]);
        if (rc != 0) {
            return rc;
        }
        n++;
    }
    *count = n;
    return 0;
}

static int str_array(const char *val, char out[][PF_NAMELEN], int max)
{
    int n = 0;
    const char *p = val;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r') {
            p++;
        }
        if (*p == '\0' || n >= max) {
            break;
        }
        read_word(&p, out[n], PF_NAMELEN, false);
        n++;
    }
    return n;
}

static bool yes(const char *v)
{
    return v[0] == 'y' || v[0] == 'Y' || v[0] == 't' || v[0] == 'T' ||
           strcmp(v, "1") == 0;
}

static int parse_term(struct pf_model *m, const char *val, struct pf__term *t)
{
    const char *dot = strchr(val, '.');
    size_t len = dot != NULL ? (size_t)(dot - val) : strlen(val);
    if (len == 0 || len >= PF_NAMELEN) {
        return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad bus name '%s'",
                             WHERE, val);
    }
    memcpy(t->bus, val, len);
    t->bus[len] = '\0';
    lower(t->bus);
    t->nspec = 0;
    while (dot != NULL) {
        const char *s = dot + 1;
        dot = strchr(s, '.');
        char tok[32];
        size_t k = dot != NULL ? (size_t)(dot - s) : strlen(s);
        if (k == 0 || k >= sizeof(tok) || t->nspec >= PF_MAXC) {
            return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad bus '%s'",
                                 WHERE, val);
        }
        memcpy(tok, s, k);
        tok[k] = '\0';
        int64_t v;
        if (base_parse_i64(tok, &v) != 0 || v < 0 || v > 999) {
            return pf__set_error(m, BASE_EPARSE,
                                 WHERE_FMT "bad node '%s' in bus '%s'", WHERE,
                                 tok, val);
        }
        t->nodes[t->nspec++] = (int)v;
    }
    return 0;
}

static int parse_units(const char *v)
{
    static const char *const names[] = {"none", "mi", "kft", "km", "m",
                                        "ft",   "in", "cm",  "mm"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(names); i++) {
        if (strcasecmp(v, names[i]) == 0) {
            return (int)i;
        }
    }
    if (strcasecmp(v, "mile") == 0 || strcasecmp(v, "miles") == 0) {
        return U_MI;
    }
    if (strcasecmp(v, "meter") == 0) {
        return U_M;
    }
    return -1;
}

/* Fill the symmetric or full matrix @out (order n) from @vals. */
static int set_matrix(struct pf_model *m, const char *prop, const char *val,
                      int *n, double *out)
{
    double v[PF_MAXC * PF_MAXC];
    int cnt;
    int rc = num_array(m, prop, val, v, PF_MAXC * PF_MAXC, &cnt);
    if (rc != 0) {
        return rc;
    }
    int order = 0;
    for (int k = 1; k <= PF_MAXC; k++) {
        if (k * (k + 1) / 2 == cnt || k * k == cnt) {
            if (k == *n || order == 0) {
                order = k;
            }
        }
    }
    if (order == 0) {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "%s: %d values are not a matrix", WHERE,
                             prop, cnt);
    }
    *n = order;
    if (cnt == order * order && !(order == 1)) {
        for (int i = 0; i < order * order; i++) {
            out[i] = v[i];
        }
    } else {
        int k = 0;
        for (int i = 0; i < order; i++) {
            for (int j = 0; j <= i; j++) {
                out[i * order + j] = v[k];
                out[j * order + i] = v[k];
                k++;
            }
        }
    }
    return 0;
}

/* Sequence values -> phase matrices (ohms and nF per unit length). */
static void seq_to_matrix(const double *seq, int n, pf__cx *z, double *c)
{
    pf__cx z1 = seq[0] + I * seq[1];
    pf__cx z0 = seq[2] + I * seq[3];
    pf__cx zs = (2.0 * z1 + z0) / 3.0;
    pf__cx zm = (z0 - z1) / 3.0;
    double cs = (2.0 * seq[4] + seq[5]) / 3.0;
    double cm = (seq[5] - seq[4]) / 3.0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            z[i * n + j] = i == j ? zs : zm;
            c[i * n + j] = i == j ? cs : cm;
        }
    }
}

/* ---- element tables ------------------------------------------------- */

static const char *const vsrc_props[] = {
    "bus1",     "basekv",   "pu",       "angle",   "frequency", "phases",
    "mvasc3",   "mvasc1",   "x1r1",     "x0r0",    "isc3",      "isc1",
    "r1",       "x1",       "r0",       "x0",      "scantype",  "sequence",
    "bus2",     "z1",       "z0",       "z2",      "puz1",      "puz0",
    "puz2",     "basemva",  "yearly",   "daily",   "duty",      "model",
    "puzideal", "spectrum", "basefreq", "enabled", "like",      NULL};
static const char *const lcode_props[] = {
    "nphases",  "r1",        "x1",        "r0",      "x0",      "c1",
    "c0",       "units",     "rmatrix",   "xmatrix", "cmatrix", "basefreq",
    "normamps", "emergamps", "faultrate", "pctperm", "repair",  "kron",
    "rg",       "xg",        "rho",       "neutral", "b1",      "b0",
    "seasons",  "ratings",   "linetype",  "like",    NULL};
static const char *const line_props[] = {
    "bus1",     "bus2",      "linecode",  "length",  "phases",     "r1",
    "x1",       "r0",        "x0",        "c1",      "c0",         "rmatrix",
    "xmatrix",  "cmatrix",   "switch",    "rg",      "xg",         "rho",
    "geometry", "units",     "spacing",   "wires",   "earthmodel", "cncables",
    "tscables", "b1",        "b0",        "seasons", "ratings",    "linetype",
    "normamps", "emergamps", "faultrate", "pctperm", "repair",     "basefreq",
    "enabled",  "like",      NULL};
static const char *const xf_props[] = {
    "phases",      "windings",  "wdg",         "bus",
    "conn",        "kv",        "kva",         "tap",
    "%r",          "rneut",     "xneut",       "buses",
    "conns",       "kvs",       "kvas",        "taps",
    "xhl",         "xht",       "xlt",         "xscarray",
    "thermal",     "n",         "m",           "flrise",
    "hsrise",      "%loadloss", "%noloadloss", "normhkva",
    "emerghkva",   "sub",       "maxtap",      "mintap",
    "numtaps",     "subname",   "%imag",       "ppm_antifloat",
    "%rs",         "bank",      "xfmrcode",    "xrconst",
    "x12",         "x13",       "x23",         "leadlag",
    "wdgcurrents", "core",      "rdcohms",     "seasons",
    "ratings",     "normamps",  "emergamps",   "faultrate",
    "pctperm",     "repair",    "basefreq",    "enabled",
    "like",        "r",         "ppm",         NULL};
static const char *const load_props[] = {"phases",    "bus1",
                                         "kv",        "kw",
                                         "pf",        "model",
                                         "yearly",    "daily",
                                         "duty",      "growth",
                                         "conn",      "kvar",
                                         "rneut",     "xneut",
                                         "status",    "class",
                                         "vminpu",    "vmaxpu",
                                         "vminnorm",  "vminemerg",
                                         "xfkva",     "allocationfactor",
                                         "kva",       "%mean",
                                         "%stddev",   "cvrwatts",
                                         "cvrvars",   "kwh",
                                         "kwhdays",   "cfactor",
                                         "cvrcurve",  "numcust",
                                         "zipv",      "%seriesrl",
                                         "relweight", "vlowpu",
                                         "puxharm",   "xrharm",
                                         "spectrum",  "basefreq",
                                         "enabled",   "like",
                                         NULL};
static const char *const cap_props[] = {
    "bus1",     "bus2",     "phases",    "kvar",      "kv",      "conn",
    "cmatrix",  "cuf",      "r",         "xl",        "harm",    "numsteps",
    "states",   "normamps", "emergamps", "faultrate", "pctperm", "repair",
    "basefreq", "enabled",  "like",      NULL};
static const char *const pv_props[] = {"phases",
                                       "bus1",
                                       "kv",
                                       "irradiance",
                                       "pmpp",
                                       "%pmpp",
                                       "temperature",
                                       "pf",
                                       "conn",
                                       "kvar",
                                       "kva",
                                       "%cutin",
                                       "%cutout",
                                       "effcurve",
                                       "p-tcurve",
                                       "%r",
                                       "%x",
                                       "model",
                                       "vminpu",
                                       "vmaxpu",
                                       "balanced",
                                       "limitcurrent",
                                       "yearly",
                                       "daily",
                                       "duty",
                                       "tyearly",
                                       "tdaily",
                                       "tduty",
                                       "class",
                                       "usercode",
                                       "userdata",
                                       "debugtrace",
                                       "varfollowinverter",
                                       "dutystart",
                                       "wattpriority",
                                       "pfpriority",
                                       "%pminnovars",
                                       "%pminkvarmax",
                                       "kvarmax",
                                       "kvarmaxabs",
                                       "kvdc",
                                       "kp",
                                       "pitol",
                                       "safevoltage",
                                       "safemode",
                                       "dynamiceq",
                                       "dynout",
                                       "controlmode",
                                       "amplimit",
                                       "amplimitgain",
                                       "spectrum",
                                       "basefreq",
                                       "enabled",
                                       "like",
                                       "kw",
                                       NULL};
static const char *const gen_props[] = {
    "phases",    "bus1",       "kv",       "kw",         "pf",
    "kvar",      "model",      "vminpu",   "vmaxpu",     "yearly",
    "daily",     "duty",       "dispmode", "dispvalue",  "conn",
    "rneut",     "xneut",      "status",   "class",      "vpu",
    "maxkvar",   "minkvar",    "pvfactor", "forceon",    "kva",
    "mva",       "xd",         "xdp",      "xdpp",       "h",
    "d",         "usermodel",  "userdata", "shaftmodel", "shaftdata",
    "dutystart", "debugtrace", "balanced", "xrdp",       "usefuel",
    "fuelkwh",   "%fuel",      "%reserve", "refuel",     "spectrum",
    "basefreq",  "enabled",    "like",     NULL};
static const char *const rc_props[] = {"transformer",
                                       "winding",
                                       "vreg",
                                       "band",
                                       "ptratio",
                                       "ctprim",
                                       "r",
                                       "x",
                                       "bus",
                                       "delay",
                                       "reversible",
                                       "revvreg",
                                       "revband",
                                       "revr",
                                       "revx",
                                       "tapdelay",
                                       "debugtrace",
                                       "maxtapchange",
                                       "inversetime",
                                       "tapwinding",
                                       "vlimit",
                                       "ptphase",
                                       "revthreshold",
                                       "revdelay",
                                       "revneutral",
                                       "eventlog",
                                       "remoteptratio",
                                       "tapnum",
                                       "reset",
                                       "ldc_z",
                                       "rev_z",
                                       "cogen",
                                       "basefreq",
                                       "enabled",
                                       "like",
                                       NULL};
static const char *const shape_props[] = {
    "npts",    "interval",  "mult",          "hour",      "mean",  "stddev",
    "csvfile", "sngfile",   "dblfile",       "action",    "qmult", "useactual",
    "pmax",    "qmax",      "sinterval",     "minterval", "pbase", "qbase",
    "pmult",   "pqcsvfile", "memorymapping", "like",      NULL};

static const char *const *class_props[C_NCLASS] = {
    vsrc_props, lcode_props, line_props, xf_props,    load_props, cap_props,
    pv_props,   gen_props,   rc_props,   shape_props, NULL};

static const char *const class_names[C_NCLASS] = {
    "vsource",    "linecode",  "line",     "transformer",
    "load",       "capacitor", "pvsystem", "generator",
    "regcontrol", "loadshape", "(ignored)"};

static int class_of(const char *s)
{
    for (int i = 0; i < C_IGNORED; i++) {
        if (strcasecmp(s, class_names[i]) == 0) {
            return i;
        }
    }
    static const char *const ignored[] = {
        "energymeter", "monitor", "spectrum", "growthshape",
        "tcc_curve",   "xycurve", "tshape",   "priceshape",
        "wiredata",    "cndata",  "tsdata",   "linegeometry",
        "linespacing", "sensor",  "fault"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(ignored); i++) {
        if (strcasecmp(s, ignored[i]) == 0) {
            return C_IGNORED;
        }
    }
    return -1;
}

/* Property index by name: exact, then unique prefix (OpenDSS abbreviates). */
static int prop_index(const char *const *props, const char *name)
{
    int found = -1;
    for (int i = 0; props[i] != NULL; i++) {
        if (strcasecmp(props[i], name) == 0) {
            return i;
        }
    }
    size_t len = strlen(name);
    for (int i = 0; props[i] != NULL; i++) {
        if (strncasecmp(props[i], name, len) == 0) {
            if (found >= 0) {
                return -1;
            }
            found = i;
        }
    }
    return found;
}

static struct pf__map *class_map(struct pf_model *m, int cls)
{
    switch (cls) {
    case C_VSRC:
        return &m->m_vsrc;
    case C_LCODE:
        return &m->m_lcode;
    case C_LINE:
        return &m->m_line;
    case C_XF:
        return &m->m_xf;
    case C_LOAD:
        return &m->m_load;
    case C_CAP:
        return &m->m_cap;
    case C_PV:
    case C_GEN:
        return &m->m_gen;
    case C_RC:
        return &m->m_rc;
    case C_SHAPE:
        return &m->m_shape;
    default:
        return NULL;
    }
}

static void gen_key(char *out, int cls, const char *name)
{
    snprintf(out, PF_NAMELEN * 2, "%s.%s",
             cls == C_PV ? "pvsystem" : "generator", name);
}

/* Find element @name of class @cls; -1 when absent. */
static int find_elem(struct pf_model *m, int cls, const char *name)
{
    struct pf__map *mp = class_map(m, cls);
    if (mp == NULL) {
        return -1;
    }
    if (cls == C_PV || cls == C_GEN) {
        char key[PF_NAMELEN * 2];
        gen_key(key, cls, name);
        return pf__map_get(mp, key);
    }
    return pf__map_get(mp, name);
}

static void defaults_vsrc(struct pf__vsrc *v)
{
    snprintf(v->t1.bus, PF_NAMELEN, "sourcebus");
    v->phases = 3;
    v->basekv = 115.0;
    v->pu = 1.0;
    v->mvasc3 = 2000.0;
    v->mvasc1 = 2100.0;
    v->x1r1 = 4.0;
    v->x0r0 = 3.0;
}

static void defaults_lcode(struct pf__lcode *c)
{
    static const double seq[6] = {0.058, 0.1206, 0.1784, 0.4047, 3.4, 1.6};
    c->nph = 3;
    memcpy(c->seq, seq, sizeof(seq));
    seq_to_matrix(c->seq, 3, c->z, c->c);
}

static void defaults_line(struct pf__line *l)
{
    static const double seq[6] = {0.058, 0.1206, 0.1784, 0.4047, 3.4, 1.6};
    l->nph = 3;
    l->length = 1.0;
    memcpy(l->seq, seq, sizeof(seq));
    seq_to_matrix(l->seq, 3, l->z, l->c);
    l->zord = 3;
    l->enabled = true;
}

static void defaults_xf(struct pf__xfmr *t)
{
    t->nph = 3;
    t->nw = 2;
    for (int w = 0; w < PF_MAXW; w++) {
        t->w[w].kv = 12.47;
        t->w[w].kva = 1000.0;
        t->w[w].rpct = 0.2;
        t->w[w].tap = 1.0;
        t->w[w].maxtap = 1.1;
        t->w[w].mintap = 0.9;
        t->w[w].numtaps = 32;
    }
    t->xhl = 7.0;
    t->xht = 35.0;
    t->xlt = 30.0;
    t->ppm = 1.0;
    t->enabled = true;
}

static void load_q_from_pf(double kw, double pf, double *kvar)
{
    if (pf == 0.0 || fabs(pf) > 1.0) {
        *kvar = 0.0;
        return;
    }
    double q = kw * sqrt(1.0 / (pf * pf) - 1.0);
    *kvar = pf < 0 ? -q : q;
}

static void defaults_load(struct pf__load *l)
{
    l->nph = 3;
    l->model = 1;
    l->kv = 12.47;
    l->kw = 10.0;
    l->pf = 0.88;
    l->pf_last = true;
    load_q_from_pf(l->kw, l->pf, &l->kvar);
    l->vmin = 0.95;
    l->vmax = 1.05;
    l->vlow = 0.5;
    l->daily = -1;
    l->mult = 1.0;
    l->enabled = true;
}

static void defaults_cap(struct pf__cap *c)
{
    c->nph = 3;
    c->kvar = 1200.0;
    c->kv = 12.47;
    c->enabled = true;
}

static void defaults_gen(struct pf__gen *g, bool pv)
{
    g->nph = 3;
    g->pv = pv;
    g->kv = 12.47;
    g->kw = pv ? 500.0 : 1000.0;
    g->pf = pv ? 1.0 : 0.88;
    g->pf_last = true;
    load_q_from_pf(g->kw, g->pf, &g->kvar);
    g->pmpp = 500.0;
    g->irrad = 1.0;
    g->pctpmpp = 100.0;
    /* OpenDSS's default for Generator, PVSystem and Storage alike (the
     * engine reports vminpu=0.9, vmaxpu=1.1 for each). */
    g->vmin = 0.9;
    g->vmax = 1.1;
    g->daily = -1;
    g->enabled = true;
}

static void defaults_rc(struct pf__regc *r)
{
    r->winding = 1;
    r->tapwinding = 1;
    r->ptphase = 1;
    r->maxtapchange = 16;
    r->vreg = 120.0;
    r->band = 3.0;
    r->ptratio = 60.0;
    r->ctprim = 300.0;
    r->delay = 15.0;
    r->enabled = true;
}

/* Create (or, like OpenDSS, redefine) element @name of class @cls. */
static int new_elem(struct pf_model *m, int cls, const char *name, int *idx)
{
    char lname[PF_NAMELEN];
    if (strlen(name) >= PF_NAMELEN || name[0] == '\0') {
        return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad element name '%s'",
                             WHERE, name);
    }
    pf__scopy(lname, sizeof(lname), name);
    lower(lname);
    int old = find_elem(m, cls, lname);
    if (old >= 0) {
        pf__warn(m, WHERE_FMT "%s.%s redefined", WHERE, class_names[cls],
                 lname);
    }
    int rc = 0;
    int i = old;
    size_t n = 0;
#define NEWEL(arr, cnt, capf, init)                                            \
    do {                                                                       \
        if (i < 0) {                                                           \
            rc = pf__grow((void **)&m->arr, &m->capf, m->cnt + 1,              \
                          sizeof(*m->arr));                                    \
            if (rc != 0) {                                                     \
                return rc;                                                     \
            }                                                                  \
            i = (int)m->cnt++;                                                 \
        }                                                                      \
        memset(&m->arr[i], 0, sizeof(m->arr[i]));                              \
        pf__scopy(m->arr[i].name, PF_NAMELEN, lname);                          \
        init;                                                                  \
        n = m->cnt;                                                            \
    } while (0)
    switch (cls) {
    case C_VSRC:
        NEWEL(vsrc, nvsrc, capvsrc, defaults_vsrc(&m->vsrc[i]));
        break;
    case C_LCODE:
        NEWEL(lcode, nlcode, caplcode, defaults_lcode(&m->lcode[i]));
        break;
    case C_LINE:
        NEWEL(line, nline, capline, defaults_line(&m->line[i]));
        break;
    case C_XF:
        NEWEL(xf, nxf, capxf, defaults_xf(&m->xf[i]));
        break;
    case C_LOAD:
        NEWEL(load, nload, capload, defaults_load(&m->load[i]));
        break;
    case C_CAP:
        NEWEL(cap, ncap, capcap, defaults_cap(&m->cap[i]));
        break;
    case C_PV:
    case C_GEN:
        NEWEL(gen, ngen, capgen, defaults_gen(&m->gen[i], cls == C_PV));
        pf__scopy(m->gen[i].name, PF_NAMELEN, lname);
        break;
    case C_RC:
        NEWEL(rc, nrc, caprc, defaults_rc(&m->rc[i]));
        break;
    case C_SHAPE:
        if (i >= 0) {
            base_free(m->shape[i].mult);
            base_free(m->shape[i].hour);
        }
        NEWEL(shape, nshape, capshape, m->shape[i].interval = 1.0);
        break;
    default:
        return BASE_EINVAL;
    }
#undef NEWEL
    (void)n;
    if (old < 0) {
        if (cls == C_PV || cls == C_GEN) {
            char key[PF_NAMELEN * 2];
            gen_key(key, cls, lname);
            rc = pf__map_put(class_map(m, cls), key, i);
        } else {
            rc = pf__map_put(class_map(m, cls), lname, i);
        }
        if (rc != 0) {
            return rc;
        }
    }
    m->dirty = true;
    *idx = i;
    return 0;
}

/* ---- property setters ---------------------------------------------- */

static int bad_like(struct pf_model *m, const char *val)
{
    return pf__set_error(m, BASE_EPARSE, WHERE_FMT "like=%s: no such element",
                         WHERE, val);
}

static int set_vsrc(struct pf_model *m, struct pf__vsrc *v, const char *p,
                    const char *val)
{
    double d = 0;
    int rc = 0;
    if (strcmp(p, "bus1") == 0) {
        return parse_term(m, val, &v->t1);
    }
    if (strcmp(p, "phases") == 0) {
        return inum(m, p, val, 1, 3, &v->phases);
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_VSRC, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, v->name, PF_NAMELEN);
        *v = m->vsrc[o];
        memcpy(v->name, name, PF_NAMELEN);
        return 0;
    }
    static const char *const nums[] = {
        "basekv", "pu", "angle", "mvasc3", "mvasc1", "x1r1", "x0r0",
        "r1",     "x1", "r0",    "x0",     "isc3",   "isc1"};
    for (size_t k = 0; k < BASE_ARRAY_LEN(nums); k++) {
        if (strcmp(p, nums[k]) != 0) {
            continue;
        }
        rc = num(m, p, val, &d);
        if (rc != 0) {
            return rc;
        }
        double *dst[] = {&v->basekv, &v->pu,   &v->angle, &v->mvasc3,
                         &v->mvasc1, &v->x1r1, &v->x0r0,  &v->r1,
                         &v->x1,     &v->r0,   &v->x0,    NULL,
                         NULL};
        if (k == 11) { /* Isc3 in amps -> MVAsc3 */
            v->mvasc3 = PF_SQRT3 * v->basekv * d / 1000.0;
            v->zspec_rx = false;
        } else if (k == 12) {
            v->mvasc1 = PF_SQRT3 * v->basekv * d / 1000.0;
            v->zspec_rx = false;
        } else {
            *dst[k] = d;
        }
        if (k >= 7 && k <= 10) {
            v->zspec_rx = true;
        } else if (k == 3 || k == 4) {
            v->zspec_rx = false;
        }
        return 0;
    }
    if (strcmp(p, "frequency") == 0 || strcmp(p, "basefreq") == 0 ||
        strcmp(p, "enabled") == 0 || strcmp(p, "spectrum") == 0 ||
        strcmp(p, "basemva") == 0 || strcmp(p, "yearly") == 0 ||
        strcmp(p, "daily") == 0 || strcmp(p, "duty") == 0 ||
        strcmp(p, "scantype") == 0 || strcmp(p, "sequence") == 0) {
        return 0;
    }
    pf__warn(m, WHERE_FMT "vsource property '%s' is not supported (ignored)",
             WHERE, p);
    return 0;
}

static void kron_reduce(pf__cx *z, double *c, int *n)
{
    /* Eliminate the last conductor (a grounded neutral): Z' = Zpp -
     * Zpn Znn^-1 Znp. Capacitance is reduced likewise on its own. */
    int k = *n - 1;
    if (k < 1) {
        return;
    }
    pf__cx zr[PF_MAXC * PF_MAXC];
    double cr[PF_MAXC * PF_MAXC];
    int o = *n;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
            zr[i * k + j] =
                z[i * o + j] - z[i * o + k] * z[k * o + j] / z[k * o + k];
            cr[i * k + j] =
                c[k * o + k] != 0.0
                    ? c[i * o + j] - c[i * o + k] * c[k * o + j] / c[k * o + k]
                    : c[i * o + j];
        }
    }
    memcpy(z, zr, sizeof(pf__cx) * (size_t)(k * k));
    memcpy(c, cr, sizeof(double) * (size_t)(k * k));
    *n = k;
}

static int set_lcode(struct pf_model *m, struct pf__lcode *c, const char *p,
                     const char *val)
{
    int rc;
    static const char *const seqn[] = {"r1", "x1", "r0", "x0", "c1", "c0"};
    for (int k = 0; k < 6; k++) {
        if (strcmp(p, seqn[k]) == 0) {
            rc = num(m, p, val, &c->seq[k]);
            if (rc == 0) {
                seq_to_matrix(c->seq, c->nph, c->z, c->c);
            }
            return rc;
        }
    }
    if (strcmp(p, "b1") == 0 || strcmp(p, "b0") == 0) {
        double b;
        rc = num(m, p, val, &b);
        if (rc == 0) {
            /* microsiemens -> nF at the base frequency */
            c->seq[p[1] == '1' ? 4 : 5] = b / (2 * PF_PI * m->basefreq) * 1e3;
            seq_to_matrix(c->seq, c->nph, c->z, c->c);
        }
        return rc;
    }
    if (strcmp(p, "nphases") == 0) {
        rc = inum(m, p, val, 1, PF_MAXC, &c->nph);
        if (rc == 0) {
            seq_to_matrix(c->seq, c->nph, c->z, c->c);
        }
        return rc;
    }
    if (strcmp(p, "units") == 0) {
        int u = parse_units(val);
        if (u < 0) {
            return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad units '%s'",
                                 WHERE, val);
        }
        c->units = u;
        return 0;
    }
    if (strcmp(p, "rmatrix") == 0 || strcmp(p, "xmatrix") == 0 ||
        strcmp(p, "cmatrix") == 0) {
        double mat[PF_MAXC * PF_MAXC];
        int n = c->nph;
        rc = set_matrix(m, p, val, &n, mat);
        if (rc != 0) {
            return rc;
        }
        if (n != c->nph) {
            c->nph = n;
        }
        for (int i = 0; i < n * n; i++) {
            if (p[0] == 'r') {
                c->z[i] = mat[i] + I * cimag(c->z[i]);
            } else if (p[0] == 'x') {
                c->z[i] = creal(c->z[i]) + I * mat[i];
            } else {
                c->c[i] = mat[i];
            }
        }
        return 0;
    }
    if (strcmp(p, "kron") == 0) {
        if (yes(val) && !c->kron) {
            c->kron = true;
            kron_reduce(c->z, c->c, &c->nph);
        }
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_LCODE, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, c->name, PF_NAMELEN);
        *c = m->lcode[o];
        memcpy(c->name, name, PF_NAMELEN);
        return 0;
    }
    if (strcmp(p, "rg") == 0 || strcmp(p, "xg") == 0 || strcmp(p, "rho") == 0 ||
        strcmp(p, "neutral") == 0 || strcmp(p, "seasons") == 0 ||
        strcmp(p, "ratings") == 0 || strcmp(p, "linetype") == 0) {
        pf__warn(m, WHERE_FMT "linecode property '%s' ignored", WHERE, p);
        return 0;
    }
    return 0; /* ratings and reliability data have no effect on flows */
}

static int set_line(struct pf_model *m, struct pf__line *l, const char *p,
                    const char *val)
{
    int rc;
    if (strcmp(p, "bus1") == 0) {
        return parse_term(m, val, &l->t1);
    }
    if (strcmp(p, "bus2") == 0) {
        l->t2set = true;
        return parse_term(m, val, &l->t2);
    }
    if (strcmp(p, "linecode") == 0) {
        char key[PF_NAMELEN];
        pf__scopy(key, sizeof(key), val);
        int o = find_elem(m, C_LCODE, key);
        if (o < 0) {
            return pf__set_error(m, BASE_EPARSE,
                                 WHERE_FMT "line.%s: linecode '%s' not defined",
                                 WHERE, l->name, val);
        }
        const struct pf__lcode *c = &m->lcode[o];
        l->nph = c->nph;
        l->zord = c->nph;
        memcpy(l->z, c->z, sizeof(l->z));
        memcpy(l->c, c->c, sizeof(l->c));
        l->zunits = c->units;
        memset(l->seq, 0, sizeof(l->seq));
        return 0;
    }
    if (strcmp(p, "length") == 0) {
        return num(m, p, val, &l->length);
    }
    if (strcmp(p, "phases") == 0) {
        int n;
        rc = inum(m, p, val, 1, PF_MAXC, &n);
        if (rc == 0 && n != l->nph) {
            if (l->seq[0] != 0.0 || l->seq[1] != 0.0) {
                seq_to_matrix(l->seq, n, l->z, l->c);
                l->zord = n;
            }
            l->nph = n;
        }
        return rc;
    }
    static const char *const seqn[] = {"r1", "x1", "r0", "x0", "c1", "c0"};
    for (int k = 0; k < 6; k++) {
        if (strcmp(p, seqn[k]) == 0) {
            rc = num(m, p, val, &l->seq[k]);
            if (rc == 0) {
                seq_to_matrix(l->seq, l->nph, l->z, l->c);
                l->zord = l->nph;
                l->zunits = U_NONE;
            }
            return rc;
        }
    }
    if (strcmp(p, "rmatrix") == 0 || strcmp(p, "xmatrix") == 0 ||
        strcmp(p, "cmatrix") == 0) {
        double mat[PF_MAXC * PF_MAXC];
        int n = l->nph;
        rc = set_matrix(m, p, val, &n, mat);
        if (rc != 0) {
            return rc;
        }
        if (l->zord != n) {
            /* A new order: start the other matrices from zero. */
            memset(l->z, 0, sizeof(l->z));
            memset(l->c, 0, sizeof(l->c));
        }
        l->nph = n;
        l->zord = n;
        for (int i = 0; i < n * n; i++) {
            if (p[0] == 'r') {
                l->z[i] = mat[i] + I * cimag(l->z[i]);
            } else if (p[0] == 'x') {
                l->z[i] = creal(l->z[i]) + I * mat[i];
            } else {
                l->c[i] = mat[i];
            }
        }
        memset(l->seq, 0, sizeof(l->seq));
        l->zunits = U_NONE;
        return 0;
    }
    if (strcmp(p, "switch") == 0) {
        if (yes(val)) {
            /* OpenDSS's switch: a 1 mm long line of 1 ohm per unit. */
            static const double seq[6] = {1.0, 1.0, 1.0, 1.0, 1.1, 1.0};
            memcpy(l->seq, seq, sizeof(seq));
            seq_to_matrix(l->seq, l->nph, l->z, l->c);
            l->zord = l->nph;
            l->length = 0.001;
            l->lunits = U_NONE;
            l->zunits = U_NONE;
        }
        return 0;
    }
    if (strcmp(p, "units") == 0) {
        int u = parse_units(val);
        if (u < 0) {
            return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad units '%s'",
                                 WHERE, val);
        }
        l->lunits = u;
        return 0;
    }
    if (strcmp(p, "enabled") == 0) {
        l->enabled = yes(val);
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_LINE, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, l->name, PF_NAMELEN);
        *l = m->line[o];
        memcpy(l->name, name, PF_NAMELEN);
        return 0;
    }
    if (strcmp(p, "geometry") == 0 || strcmp(p, "spacing") == 0 ||
        strcmp(p, "wires") == 0 || strcmp(p, "cncables") == 0 ||
        strcmp(p, "tscables") == 0 || strcmp(p, "rg") == 0 ||
        strcmp(p, "xg") == 0 || strcmp(p, "rho") == 0 ||
        strcmp(p, "earthmodel") == 0 || strcmp(p, "b1") == 0 ||
        strcmp(p, "b0") == 0) {
        pf__warn(m, WHERE_FMT "line property '%s' is not supported (ignored)",
                 WHERE, p);
    }
    return 0;
}

static int conn_of(struct pf_model *m, const char *v, int *delta)
{
    if (strncasecmp(v, "w", 1) == 0 || strncasecmp(v, "y", 1) == 0 ||
        strncasecmp(v, "ln", 2) == 0) {
        *delta = 0;
        return 0;
    }
    if (strncasecmp(v, "d", 1) == 0 || strncasecmp(v, "ll", 2) == 0) {
        *delta = 1;
        return 0;
    }
    return pf__set_error(m, BASE_EPARSE, WHERE_FMT "bad connection '%s'", WHERE,
                         v);
}

static int set_xf(struct pf_model *m, struct pf__xfmr *t, const char *p,
                  const char *val)
{
    int rc;
    double d;
    struct pf__wdg *w = &t->w[t->active];
    if (strcmp(p, "phases") == 0) {
        return inum(m, p, val, 1, PF_MAXC - 1, &t->nph);
    }
    if (strcmp(p, "windings") == 0) {
        rc = inum(m, p, val, 2, PF_MAXW, &t->nw);
        if (rc == BASE_EPARSE) {
            return pf__set_error(m, BASE_EUNSUPPORTED,
                                 WHERE_FMT "transformer.%s: %s windings not "
                                           "supported (2 or 3)",
                                 WHERE, t->name, val);
        }
        return rc;
    }
    if (strcmp(p, "wdg") == 0) {
        int k;
        rc = inum(m, p, val, 1, t->nw, &k);
        if (rc == 0) {
            t->active = k - 1;
        }
        return rc;
    }
    if (strcmp(p, "bus") == 0) {
        return parse_term(m, val, &w->t);
    }
    if (strcmp(p, "conn") == 0) {
        return conn_of(m, val, &w->delta);
    }
    struct {
        const char *name;
        size_t off;
    } wnums[] = {
        {"kv", offsetof(struct pf__wdg, kv)},
        {"kva", offsetof(struct pf__wdg, kva)},
        {"tap", offsetof(struct pf__wdg, tap)},
        {"%r", offsetof(struct pf__wdg, rpct)},
        {"r", offsetof(struct pf__wdg, rpct)},
        {"maxtap", offsetof(struct pf__wdg, maxtap)},
        {"mintap", offsetof(struct pf__wdg, mintap)},
    };
    for (size_t k = 0; k < BASE_ARRAY_LEN(wnums); k++) {
        if (strcmp(p, wnums[k].name) == 0) {
            rc = num(m, p, val, &d);
            if (rc == 0) {
                memcpy((char *)w + wnums[k].off, &d, sizeof(d));
            }
            return rc;
        }
    }
    if (strcmp(p, "numtaps") == 0) {
        return inum(m, p, val, 1, 10000, &w->numtaps);
    }
    if (strcmp(p, "buses") == 0) {
        char names[PF_MAXW][PF_NAMELEN];
        int n = str_array(val, names, PF_MAXW);
        for (int k = 0; k < n; k++) {
            rc = parse_term(m, names[k], &t->w[k].t);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    if (strcmp(p, "conns") == 0) {
        char names[PF_MAXW][PF_NAMELEN];
        int n = str_array(val, names, PF_MAXW);
        for (int k = 0; k < n; k++) {
            rc = conn_of(m, names[k], &t->w[k].delta);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    if (strcmp(p, "kvs") == 0 || strcmp(p, "kvas") == 0 ||
        strcmp(p, "taps") == 0 || strcmp(p, "%rs") == 0) {
        double v[PF_MAXW];
        int n;
        rc = num_array(m, p, val, v, PF_MAXW, &n);
        if (rc != 0) {
            return rc;
        }
        for (int k = 0; k < n; k++) {
            if (p[1] == 'v' && p[2] == 's') {
                t->w[k].kv = v[k];
            } else if (p[1] == 'v') {
                t->w[k].kva = v[k];
            } else if (p[0] == 't') {
                t->w[k].tap = v[k];
            } else {
                t->w[k].rpct = v[k];
            }
        }
        return 0;
    }
    struct {
        const char *name;
        double *dst;
    } nums[] = {
        {"xhl", &t->xhl},
        {"x12", &t->xhl},
        {"xht", &t->xht},
        {"x13", &t->xht},
        {"xlt", &t->xlt},
        {"x23", &t->xlt},
        {"%noloadloss", &t->noload_pct},
        {"%imag", &t->imag_pct},
        {"ppm_antifloat", &t->ppm},
        {"ppm", &t->ppm},
    };
    for (size_t k = 0; k < BASE_ARRAY_LEN(nums); k++) {
        if (strcmp(p, nums[k].name) == 0) {
            return num(m, p, val, nums[k].dst);
        }
    }
    if (strcmp(p, "%loadloss") == 0) {
        rc = num(m, p, val, &d);
        if (rc == 0) {
            t->w[0].rpct = d / 2.0;
            t->w[1].rpct = d / 2.0;
        }
        return rc;
    }
    if (strcmp(p, "enabled") == 0) {
        t->enabled = yes(val);
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_XF, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, t->name, PF_NAMELEN);
        *t = m->xf[o];
        memcpy(t->name, name, PF_NAMELEN);
        return 0;
    }
    if (strcmp(p, "xfmrcode") == 0 || strcmp(p, "xscarray") == 0 ||
        strcmp(p, "rneut") == 0 || strcmp(p, "xneut") == 0 ||
        strcmp(p, "core") == 0) {
        pf__warn(m,
                 WHERE_FMT "transformer property '%s' is not supported "
                           "(ignored)",
                 WHERE, p);
    }
    if (strcmp(p, "leadlag") == 0 && (strncasecmp(val, "lead", 4) == 0 ||
                                      strncasecmp(val, "euro", 4) == 0)) {
        pf__warn(m, WHERE_FMT "leadlag=%s not supported: ANSI lag used", WHERE,
                 val);
    }
    return 0;
}

static int set_shape_ref(struct pf_model *m, const char *val, int *dst)
{
    if (strcasecmp(val, "none") == 0 || val[0] == '\0') {
        *dst = -1;
        return 0;
    }
    int o = find_elem(m, C_SHAPE, val);
    if (o < 0 && strcasecmp(val, "default") == 0) {
        /* OpenDSS's built-in 24-hour default load shape. */
        static const double def[24] = {
            0.677, 0.6256, 0.6087, 0.5833, 0.58028, 0.6025, 0.657,  0.7477,
            0.832, 0.88,   0.94,   0.989,  0.985,   0.98,   0.9898, 0.999,
            1.0,   0.958,  0.936,  0.913,  0.876,   0.876,  0.828,  0.756};
        int rc = new_elem(m, C_SHAPE, "default", &o);
        if (rc != 0) {
            return rc;
        }
        struct pf__shape *s = &m->shape[o];
        s->mult = base_malloc(sizeof(def));
        if (s->mult == NULL) {
            return BASE_ENOMEM;
        }
        memcpy(s->mult, def, sizeof(def));
        s->npts = 24;
        s->interval = 1.0;
    }
    if (o < 0) {
        pf__warn(m, WHERE_FMT "loadshape '%s' not defined (ignored)", WHERE,
                 val);
        *dst = -1;
        return 0;
    }
    *dst = o;
    return 0;
}

static int set_load(struct pf_model *m, struct pf__load *l, const char *p,
                    const char *val)
{
    int rc;
    double d;
    if (strcmp(p, "bus1") == 0) {
        return parse_term(m, val, &l->t);
    }
    if (strcmp(p, "phases") == 0) {
        return inum(m, p, val, 1, PF_MAXC - 1, &l->nph);
    }
    if (strcmp(p, "model") == 0) {
        rc = inum(m, p, val, 1, 8, &l->model);
        if (rc == 0 && l->model != 1 && l->model != 2 && l->model != 4 &&
            l->model != 5) {
            pf__warn(m,
                     WHERE_FMT "load.%s: model %d not supported, constant PQ "
                               "used",
                     WHERE, l->name, l->model);
            l->model = 1;
        }
        return rc;
    }
    if (strcmp(p, "conn") == 0) {
        return conn_of(m, val, &l->delta);
    }
    if (strcmp(p, "daily") == 0) {
        return set_shape_ref(m, val, &l->daily);
    }
    if (strcmp(p, "enabled") == 0) {
        l->enabled = yes(val);
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_LOAD, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, l->name, PF_NAMELEN);
        *l = m->load[o];
        memcpy(l->name, name, PF_NAMELEN);
        return 0;
    }
    static const char *const nums[] = {"kv",     "kw",     "pf",     "kvar",
                                       "vminpu", "vmaxpu", "vlowpu", "kva"};
    for (size_t k = 0; k < BASE_ARRAY_LEN(nums); k++) {
        if (strcmp(p, nums[k]) != 0) {
            continue;
        }
        rc = num(m, p, val, &d);
        if (rc != 0) {
            return rc;
        }
        switch (k) {
        case 0:
            l->kv = d;
            break;
        case 1:
            l->kw = d;
            if (l->pf_last) {
                load_q_from_pf(l->kw, l->pf, &l->kvar);
            }
            break;
        case 2:
            l->pf = d;
            l->pf_last = true;
            load_q_from_pf(l->kw, l->pf, &l->kvar);
            break;
        case 3:
            l->kvar = d;
            l->pf_last = false;
            break;
        case 4:
            l->vmin = d;
            break;
        case 5:
            l->vmax = d;
            break;
        case 6:
            l->vlow = d;
            break;
        default:
            l->kw = d * fabs(l->pf);
            load_q_from_pf(l->kw, l->pf, &l->kvar);
            l->pf_last = true;
            break;
        }
        return 0;
    }
    if (strcmp(p, "zipv") == 0 || strcmp(p, "cvrwatts") == 0 ||
        strcmp(p, "cvrvars") == 0 || strcmp(p, "%seriesrl") == 0 ||
        strcmp(p, "yearly") == 0 || strcmp(p, "duty") == 0 ||
        strcmp(p, "rneut") == 0 || strcmp(p, "xneut") == 0) {
        pf__warn(m, WHERE_FMT "load property '%s' is not supported (ignored)",
                 WHERE, p);
    }
    return 0;
}

static int set_cap(struct pf_model *m, struct pf__cap *c, const char *p,
                   const char *val)
{
    int rc;
    if (strcmp(p, "bus1") == 0) {
        return parse_term(m, val, &c->t1);
    }
    if (strcmp(p, "bus2") == 0) {
        c->t2set = true;
        return parse_term(m, val, &c->t2);
    }
    if (strcmp(p, "phases") == 0) {
        return inum(m, p, val, 1, PF_MAXC - 1, &c->nph);
    }
    if (strcmp(p, "kvar") == 0) {
        double v[16];
        int n;
        rc = num_array(m, p, val, v, 16, &n);
        if (rc != 0) {
            return rc;
        }
        c->kvar = 0;
        for (int k = 0; k < n; k++) {
            c->kvar += v[k];
        }
        return 0;
    }
    if (strcmp(p, "kv") == 0) {
        return num(m, p, val, &c->kv);
    }
    if (strcmp(p, "conn") == 0) {
        return conn_of(m, val, &c->delta);
    }
    if (strcmp(p, "enabled") == 0) {
        c->enabled = yes(val);
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_CAP, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, c->name, PF_NAMELEN);
        *c = m->cap[o];
        memcpy(c->name, name, PF_NAMELEN);
        return 0;
    }
    if (strcmp(p, "cmatrix") == 0 || strcmp(p, "cuf") == 0 ||
        strcmp(p, "r") == 0 || strcmp(p, "xl") == 0 ||
        strcmp(p, "states") == 0) {
        pf__warn(m,
                 WHERE_FMT "capacitor property '%s' is not supported (ignored)",
                 WHERE, p);
    }
    return 0;
}

static int set_gen(struct pf_model *m, struct pf__gen *g, const char *p,
                   const char *val)
{
    int rc;
    double d;
    if (strcmp(p, "bus1") == 0) {
        return parse_term(m, val, &g->t);
    }
    if (strcmp(p, "phases") == 0) {
        return inum(m, p, val, 1, PF_MAXC - 1, &g->nph);
    }
    if (strcmp(p, "conn") == 0) {
        return conn_of(m, val, &g->delta);
    }
    if (strcmp(p, "daily") == 0) {
        return set_shape_ref(m, val, &g->daily);
    }
    if (strcmp(p, "enabled") == 0) {
        g->enabled = yes(val);
        return 0;
    }
    static const char *const nums[] = {"kv",    "kw",     "pf",
                                       "kvar",  "pmpp",   "irradiance",
                                       "%pmpp", "vminpu", "vmaxpu"};
    for (size_t k = 0; k < BASE_ARRAY_LEN(nums); k++) {
        if (strcmp(p, nums[k]) != 0) {
            continue;
        }
        rc = num(m, p, val, &d);
        if (rc != 0) {
            return rc;
        }
        double *dst[] = {&g->kv,    &g->kw,      &g->pf,   &g->kvar, &g->pmpp,
                         &g->irrad, &g->pctpmpp, &g->vmin, &g->vmax};
        *dst[k] = d;
        if (k == 2) {
            g->pf_last = true;
        } else if (k == 3) {
            g->pf_last = false;
        }
        return 0;
    }
    if (strcmp(p, "model") == 0) {
        int md;
        rc = inum(m, p, val, 1, 8, &md);
        if (rc == 0 && md != 1) {
            pf__warn(m, WHERE_FMT "%s: model %d not supported, fixed P and Q",
                     WHERE, g->name, md);
        }
        return rc;
    }
    return 0;
}

static int set_rc(struct pf_model *m, struct pf__regc *r, const char *p,
                  const char *val)
{
    int rc;
    if (strcmp(p, "transformer") == 0) {
        pf__scopy(r->xfmr, PF_NAMELEN, val);
        lower(r->xfmr);
        return 0;
    }
    if (strcmp(p, "winding") == 0) {
        rc = inum(m, p, val, 1, PF_MAXW, &r->winding);
        if (rc == 0) {
            r->tapwinding = r->winding;
        }
        return rc;
    }
    if (strcmp(p, "tapwinding") == 0) {
        return inum(m, p, val, 1, PF_MAXW, &r->tapwinding);
    }
    if (strcmp(p, "ptphase") == 0) {
        if (strncasecmp(val, "max", 3) == 0 ||
            strncasecmp(val, "min", 3) == 0) {
            pf__warn(m, WHERE_FMT "ptphase=%s not supported: phase 1 used",
                     WHERE, val);
            r->ptphase = 1;
            return 0;
        }
        return inum(m, p, val, 1, PF_MAXC, &r->ptphase);
    }
    if (strcmp(p, "maxtapchange") == 0) {
        return inum(m, p, val, 0, 1000, &r->maxtapchange);
    }
    struct {
        const char *name;
        double *dst;
    } nums[] = {
        {"vreg", &r->vreg},     {"band", &r->band}, {"ptratio", &r->ptratio},
        {"ctprim", &r->ctprim}, {"r", &r->r},       {"x", &r->x},
        {"delay", &r->delay}};
    for (size_t k = 0; k < BASE_ARRAY_LEN(nums); k++) {
        if (strcmp(p, nums[k].name) == 0) {
            return num(m, p, val, nums[k].dst);
        }
    }
    if (strcmp(p, "enabled") == 0) {
        r->enabled = yes(val);
        return 0;
    }
    if (strcmp(p, "like") == 0) {
        int o = find_elem(m, C_RC, val);
        if (o < 0) {
            return bad_like(m, val);
        }
        char name[PF_NAMELEN];
        memcpy(name, r->name, PF_NAMELEN);
        *r = m->rc[o];
        memcpy(r->name, name, PF_NAMELEN);
        return 0;
    }
    if (strcmp(p, "reversible") == 0 && yes(val)) {
        pf__warn(m, WHERE_FMT "reversible regulators not supported", WHERE);
    }
    if (strcmp(p, "bus") == 0) {
        pf__warn(m, WHERE_FMT "regcontrol remote bus not supported (ignored)",
                 WHERE);
    }
    return 0;
}

/* Resolve a path @rel against @dir; try a case-insensitive match when the
 * exact name does not exist (Windows scripts mix cases). */
static void resolve_path(const char *dir, const char *rel, char *out,
                         size_t outsz)
{
    if (rel[0] == '/' || dir[0] == '\0') {
        pf__scopy(out, outsz, rel);
    } else {
        snprintf(out, outsz, "%s/%s", dir, rel);
    }
    for (char *s = out; *s != '\0'; s++) {
        if (*s == '\\') {
            *s = '/';
        }
    }
    FILE *f = fopen(out, "rb");
    if (f != NULL) {
        fclose(f);
        return;
    }
    char d[4096];
    pf__scopy(d, sizeof(d), out);
    char *slash = strrchr(d, '/');
    const char *base = out;
    if (slash != NULL) {
        *slash = '\0';
        base = out + (slash - d) + 1;
    } else {
        snprintf(d, sizeof(d), ".");
    }
    DIR *dp = opendir(d);
    if (dp == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (strcasecmp(e->d_name, base) == 0) {
            size_t dl = strlen(d);
            size_t el = strlen(e->d_name);
            if (dl + el + 2 <= outsz) {
                memcpy(out, d, dl);
                out[dl] = '/';
                memcpy(out + dl + 1, e->d_name, el + 1);
            }
            break;
        }
    }
    closedir(dp);
}

static int read_mult_file(struct pf_model *m, const char *spec, double **out,
                          int *count)
{
    /* spec: "file=name" (also sngfile/dblfile/column are not binary here). */
    const char *eq = strchr(spec, '=');
    const char *fname = eq != NULL ? eq + 1 : spec;
    while (*fname == ' ') {
        fname++;
    }
    char name[1024];
    pf__scopy(name, sizeof(name), fname);
    char *sp = strpbrk(name, " \t,");
    if (sp != NULL) {
        *sp = '\0';
    }
    char path[4096];
    resolve_path(cur != NULL ? cur->dir : "", name, path, sizeof(path));
    char *text;
    size_t len;
    int rc = base_read_file(path, MAX_SCRIPT, &text, &len);
    if (rc != 0) {
        return pf__set_error(m, rc, WHERE_FMT "cannot read loadshape file '%s'",
                             WHERE, path);
    }
    size_t cap = 0;
    int n = 0;
    double *v = NULL;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln != NULL;
         ln = strtok_r(NULL, "\n", &save)) {
        char *e;
        double d = strtod(ln, &e);
        if (e == ln) {
            continue;
        }
        if (pf__grow((void **)&v, &cap, (size_t)n + 1, sizeof(*v)) != 0) {
            base_free(v);
            base_free(text);
            return BASE_ENOMEM;
        }
        v[n++] = d;
    }
    base_free(text);
    *out = v;
    *count = n;
    return 0;
}

static int set_shape(struct pf_model *m, struct pf__shape *s, const char *p,
                     const char *val)
{
    int rc;
    double d;
    if (strcmp(p, "npts") == 0) {
        return inum(m, p, val, 0, 100000000, &s->npts);
    }
    if (strcmp(p, "interval") == 0 || strcmp(p, "sinterval") == 0 ||
        strcmp(p, "minterval") == 0) {
        rc = num(m, p, val, &d);
        if (rc == 0) {
            s->interval = p[0] == 's' ? d / 3600.0 : p[0] == 'm' ? d / 60.0 : d;
        }
        return rc;
    }
    if (strcmp(p, "mult") == 0 || strcmp(p, "hour") == 0 ||
        strcmp(p, "csvfile") == 0 || strcmp(p, "pmult") == 0) {
        double *v = NULL;
        int n = 0;
        const char *t = val;
        while (*t == ' ') {
            t++;
        }
        if (strcmp(p, "csvfile") == 0 || strncasecmp(t, "file", 4) == 0 ||
            strncasecmp(t, "sngfile", 7) == 0 ||
            strncasecmp(t, "dblfile", 7) == 0) {
            if (strncasecmp(t, "sng", 3) == 0 ||
                strncasecmp(t, "dbl", 3) == 0) {
                return pf__set_error(m, BASE_EUNSUPPORTED,
                                     WHERE_FMT "binary loadshape files are not "
                                               "supported",
                                     WHERE);
            }
            rc = read_mult_file(m, t, &v, &n);
            if (rc != 0) {
                return rc;
            }
        } else {
            size_t maxn = strlen(val) / 2 + 2;
            v = base_malloc(maxn * sizeof(double));
            if (v == NULL) {
                return BASE_ENOMEM;
            }
            rc = num_array(m, p, val, v, (int)maxn, &n);
            if (rc != 0) {
                base_free(v);
                return rc;
            }
        }
        if (p[0] == 'h') {
            base_free(s->hour);
            s->hour = v;
            s->interval = 0.0;
        } else {
            base_free(s->mult);
            s->mult = v;
        }
        if (s->npts == 0 || n < s->npts) {
            s->npts = n;
        }
        return 0;
    }
    if (strcmp(p, "like") == 0 || strcmp(p, "qmult") == 0 ||
        strcmp(p, "pqcsvfile") == 0) {
        pf__warn(m, WHERE_FMT "loadshape property '%s' not supported", WHERE,
                 p);
    }
    return 0;
}

/* Apply "name=value" / positional tokens at *pp to element (cls, idx). */
static int apply_props(struct pf_model *m, int cls, int idx, const char *p,
                       int last)
{
    char name[128];
    char *val = base_malloc(VALLEN);
    if (val == NULL) {
        return BASE_ENOMEM;
    }
    int rc = 0;
    const char *const *props = class_props[cls];
    while (next_tok(&p, name, sizeof(name), val, VALLEN)) {
        if (cls == C_IGNORED) {
            continue;
        }
        int pi;
        if (name[0] != '\0') {
            pi = prop_index(props, name);
            if (pi < 0) {
                pf__warn(m, WHERE_FMT "unknown %s property '%s' (ignored)",
                         WHERE, class_names[cls], name);
                continue;
            }
        } else {
            pi = last + 1;
            if (props[pi] == NULL) {
                pf__warn(m, WHERE_FMT "extra value '%s' for %s (ignored)",
                         WHERE, val, class_names[cls]);
                continue;
            }
        }
        last = pi;
        const char *pn = props[pi];
        switch (cls) {
        case C_VSRC:
            rc = set_vsrc(m, &m->vsrc[idx], pn, val);
            break;
        case C_LCODE:
            rc = set_lcode(m, &m->lcode[idx], pn, val);
            break;
        case C_LINE:
            rc = set_line(m, &m->line[idx], pn, val);
            break;
        case C_XF:
            rc = set_xf(m, &m->xf[idx], pn, val);
            break;
        case C_LOAD:
            rc = set_load(m, &m->load[idx], pn, val);
            break;
        case C_CAP:
            rc = set_cap(m, &m->cap[idx], pn, val);
            break;
        case C_PV:
        case C_GEN:
            if (strcmp(pn, "like") == 0) {
                int o = find_elem(m, cls, val);
                if (o < 0) {
                    rc = bad_like(m, val);
                } else {
                    char nm[PF_NAMELEN];
                    memcpy(nm, m->gen[idx].name, PF_NAMELEN);
                    m->gen[idx] = m->gen[o];
                    memcpy(m->gen[idx].name, nm, PF_NAMELEN);
                }
            } else {
                rc = set_gen(m, &m->gen[idx], pn, val);
            }
            break;
        case C_RC:
            rc = set_rc(m, &m->rc[idx], pn, val);
            break;
        case C_SHAPE:
            rc = set_shape(m, &m->shape[idx], pn, val);
            break;
        default:
            break;
        }
        if (rc != 0) {
            break;
        }
    }
    base_free(val);
    m->dirty = true;
    return rc;
}

/* "class.name" -> class and name (@s is modified). */
static int split_obj(struct pf_model *m, char *s, int *cls, char **name)
{
    char *dot = strchr(s, '.');
    if (dot == NULL) {
        /* A bare name means the active class (OpenDSS); we need the class. */
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "expected Class.Name, got '%s'", WHERE,
                             s);
    }
    *dot = '\0';
    *name = dot + 1;
    if (strcasecmp(s, "circuit") == 0) {
        *cls = C_VSRC;
        return 1; /* circuit */
    }
    *cls = class_of(s);
    if (*cls < 0) {
        return pf__set_error(m, BASE_ENOTFOUND, "%s", s);
    }
    return 0;
}

static int cmd_new(struct pf_model *m, const char *p, bool edit)
{
    char name[128];
    char val[VALLEN];
    if (!next_tok(&p, name, sizeof(name), val, sizeof(val))) {
        return pf__set_error(m, BASE_EPARSE, WHERE_FMT "%s without an object",
                             WHERE, edit ? "Edit" : "New");
    }
    if (name[0] != '\0' && strcasecmp(name, "object") != 0) {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "expected Class.Name, got '%s='", WHERE,
                             name);
    }
    char *oname;
    int cls;
    int rc = split_obj(m, val, &cls, &oname);
    if (rc == BASE_ENOTFOUND) {
        pf__warn(m, WHERE_FMT "unknown class '%s' (ignored)", WHERE, val);
        m->active_kind = C_IGNORED;
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    bool circuit = rc == 1;
    if (cls == C_IGNORED) {
        m->active_kind = C_IGNORED;
        return 0;
    }
    int idx;
    if (circuit) {
        /* A new circuit starts empty; its source is Vsource.source. */
        if (m->nvsrc > 0 || m->nline > 0 || m->nload > 0) {
            pf_warn_cb w = m->warn;
            (void)w;
        }
        rc = new_elem(m, C_VSRC, "source", &idx);
    } else if (edit) {
        char lname[PF_NAMELEN];
        pf__scopy(lname, sizeof(lname), oname);
        lower(lname);
        idx = find_elem(m, cls, lname);
        rc = idx < 0 ? pf__set_error(m, BASE_ENOTFOUND,
                                     WHERE_FMT "Edit: %s.%s not defined", WHERE,
                                     class_names[cls], oname)
                     : 0;
    } else {
        rc = new_elem(m, cls, oname, &idx);
    }
    if (rc != 0) {
        return rc;
    }
    m->active_kind = cls;
    m->active_idx = idx;
    return apply_props(m, cls, idx, p, -1);
}

/* Match OpenDSS BatchEdit patterns we support: ".*" / "*" (all), "abc*"
 * (prefix) and an exact name. */
static bool name_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (strcmp(pat, ".*") == 0 || strcmp(pat, "*") == 0) {
        return true;
    }
    if (n > 0 && pat[n - 1] == '*') {
        size_t k = n - 1;
        if (k > 0 && pat[k - 1] == '.') {
            k--;
        }
        return strncasecmp(pat, name, k) == 0;
    }
    return strcasecmp(pat, name) == 0;
}

static int cmd_batchedit(struct pf_model *m, const char *p)
{
    char name[128];
    char val[VALLEN];
    if (!next_tok(&p, name, sizeof(name), val, sizeof(val)) ||
        name[0] != '\0') {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "BatchEdit needs Class..pattern", WHERE);
    }
    char *sep = strstr(val, "..");
    if (sep == NULL) {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "BatchEdit needs Class..pattern", WHERE);
    }
    *sep = '\0';
    const char *pat = sep + 2;
    int cls = class_of(val);
    if (cls < 0 || cls == C_IGNORED) {
        pf__warn(m, WHERE_FMT "BatchEdit: class '%s' ignored", WHERE, val);
        return 0;
    }
    size_t cnt = 0;
    switch (cls) {
    case C_VSRC:
        cnt = m->nvsrc;
        break;
    case C_LCODE:
        cnt = m->nlcode;
        break;
    case C_LINE:
        cnt = m->nline;
        break;
    case C_XF:
        cnt = m->nxf;
        break;
    case C_LOAD:
        cnt = m->nload;
        break;
    case C_CAP:
        cnt = m->ncap;
        break;
    case C_PV:
    case C_GEN:
        cnt = m->ngen;
        break;
    case C_RC:
        cnt = m->nrc;
        break;
    default:
        cnt = m->nshape;
        break;
    }
    for (size_t i = 0; i < cnt; i++) {
        const char *nm = cls == C_VSRC    ? m->vsrc[i].name
                         : cls == C_LCODE ? m->lcode[i].name
                         : cls == C_LINE  ? m->line[i].name
                         : cls == C_XF    ? m->xf[i].name
                         : cls == C_LOAD  ? m->load[i].name
                         : cls == C_CAP   ? m->cap[i].name
                         : cls == C_RC    ? m->rc[i].name
                         : cls == C_SHAPE ? m->shape[i].name
                                          : m->gen[i].name;
        if (cls == C_PV || cls == C_GEN) {
            if (m->gen[i].pv != (cls == C_PV)) {
                continue;
            }
        }
        if (!name_match(pat, nm)) {
            continue;
        }
        int rc = apply_props(m, cls, (int)i, p, -1);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static double step_seconds(struct pf_model *m, const char *v, int *rc)
{
    char buf[64];
    pf__scopy(buf, sizeof(buf), v);
    size_t n = strlen(buf);
    double mul = 1.0;
    if (n > 0) {
        char u = (char)tolower((unsigned char)buf[n - 1]);
        if (u == 'h' || u == 'm' || u == 's') {
            mul = u == 'h' ? 3600.0 : u == 'm' ? 60.0 : 1.0;
            buf[n - 1] = '\0';
        }
    }
    double d = 0;
    *rc = num(m, "stepsize", buf, &d);
    return d * mul;
}

static int cmd_set(struct pf_model *m, const char *p)
{
    char name[128];
    char val[VALLEN];
    int rc = 0;
    while (rc == 0 && next_tok(&p, name, sizeof(name), val, sizeof(val))) {
        lower(name);
        if (name[0] == '\0') {
            pf__warn(m, WHERE_FMT "Set: value '%s' without option (ignored)",
                     WHERE, val);
            continue;
        }
        if (strcmp(name, "voltagebases") == 0) {
            int n = 0;
            rc = num_array(m, name, val, m->vbases, 16, &n);
            m->nvbases = n;
        } else if (strcmp(name, "controlmode") == 0) {
            m->controls_on = strncasecmp(val, "off", 3) != 0;
            if (m->controls_on && strncasecmp(val, "static", 6) != 0) {
                pf__warn(m, WHERE_FMT "controlmode=%s: static control used",
                         WHERE, val);
            }
        } else if (strcmp(name, "maxcontroliter") == 0) {
            rc = inum(m, name, val, 1, 100000, &m->maxcontroliter);
        } else if (strcmp(name, "maxiterations") == 0 ||
                   strcmp(name, "maxiter") == 0) {
            rc = inum(m, name, val, 1, 100000, &m->maxiter);
        } else if (strcmp(name, "tolerance") == 0) {
            rc = num(m, name, val, &m->tol);
        } else if (strcmp(name, "mode") == 0) {
            m->mode_daily = strncasecmp(val, "daily", 5) == 0 ||
                            strncasecmp(val, "dutycycle", 4) == 0 ||
                            strncasecmp(val, "yearly", 1) == 0;
            if (m->mode_daily && strncasecmp(val, "daily", 5) != 0) {
                pf__warn(m, WHERE_FMT "mode=%s run as daily", WHERE, val);
            } else if (!m->mode_daily && strncasecmp(val, "snapshot", 4) != 0) {
                pf__warn(m, WHERE_FMT "mode=%s not supported: snapshot", WHERE,
                         val);
            }
        } else if (strcmp(name, "stepsize") == 0 || strcmp(name, "h") == 0) {
            m->stepsize = step_seconds(m, val, &rc);
        } else if (strcmp(name, "number") == 0) {
            rc = inum(m, name, val, 1, 100000000, &m->number);
        } else if (strcmp(name, "loadmult") == 0) {
            rc = num(m, name, val, &m->loadmult);
        } else if (strcmp(name, "defaultbasefrequency") == 0 ||
                   strcmp(name, "basefrequency") == 0 ||
                   strcmp(name, "frequency") == 0) {
            rc = num(m, name, val, &m->basefreq);
        } else if (strcmp(name, "marktransformers") == 0 ||
                   strcmp(name, "markercode") == 0 ||
                   strcmp(name, "nodewidth") == 0 ||
                   strcmp(name, "showexport") == 0 ||
                   strcmp(name, "datapath") == 0 ||
                   strcmp(name, "editor") == 0 || strcmp(name, "hour") == 0 ||
                   strcmp(name, "sec") == 0 || strcmp(name, "time") == 0 ||
                   strcmp(name, "demandinterval") == 0 ||
                   strcmp(name, "algorithm") == 0 ||
                   strcmp(name, "loadmodel") == 0 ||
                   strcmp(name, "casename") == 0) {
            continue;
        } else {
            pf__warn(m, WHERE_FMT "unknown option '%s' (ignored)", WHERE, name);
        }
    }
    return rc;
}

static int run_file(struct pf_model *m, const char *path, struct ctx *parent)
{
    char *text;
    size_t len;
    int rc = base_read_file(path, MAX_SCRIPT, &text, &len);
    if (rc != 0) {
        if (parent != NULL) {
            return pf__set_error(m, rc, "%s:%d: cannot read '%s': %s",
                                 parent->file, parent->line, path,
                                 base_strerror(rc));
        }
        return pf__set_error(m, rc, "cannot read '%s': %s", path,
                             base_strerror(rc));
    }
    struct ctx *cx = base_calloc(1, sizeof(*cx));
    if (cx == NULL) {
        base_free(text);
        return BASE_ENOMEM;
    }
    cx->file = path;
    cx->depth = parent != NULL ? parent->depth + 1 : 0;
    pf__scopy(cx->dir, sizeof(cx->dir), path);
    char *slash = strrchr(cx->dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    } else {
        cx->dir[0] = '\0';
    }
    rc = run_text(m, text, cx);
    base_free(cx);
    base_free(text);
    return rc;
}

static int cmd_redirect(struct pf_model *m, const char *p, struct ctx *cx)
{
    char name[128];
    char val[VALLEN];
    if (!next_tok(&p, name, sizeof(name), val, sizeof(val))) {
        return pf__set_error(m, BASE_EPARSE,
                             WHERE_FMT "Redirect without a file", WHERE);
    }
    if (cx->depth + 1 >= MAX_DEPTH) {
        return pf__set_error(m, BASE_ETOOBIG,
                             WHERE_FMT "Redirect nested too deeply", WHERE);
    }
    char *path = base_malloc(4096);
    if (path == NULL) {
        return BASE_ENOMEM;
    }
    resolve_path(cx->dir, val, path, 4096);
    int rc = run_file(m, path, cx);
    base_free(path);
    cur = cx;
    return rc;
}

static int do_solve(struct pf_model *m)
{
    int rc;
    if (m->mode_daily && m->number > 1) {
        rc = pf_time_series(m, m->number, m->stepsize, NULL, NULL);
    } else {
        rc = pf_solve(m);
    }
    if (rc != 0) {
        char tmp[BASE_ERRMSG_SIZE];
        pf__scopy(tmp, sizeof(tmp), m->errmsg);
        return pf__set_error(m, rc, WHERE_FMT "Solve: %s", WHERE,
                             tmp[0] != '\0' ? tmp : base_strerror(rc));
    }
    return 0;
}

static const char *const commands[] = {"new",
                                       "edit",
                                       "more",
                                       "~",
                                       "clear",
                                       "redirect",
                                       "compile",
                                       "set",
                                       "calcvoltagebases",
                                       "solve",
                                       "buscoords",
                                       "show",
                                       "plot",
                                       "export",
                                       "help",
                                       "interpolate",
                                       "visualize",
                                       "summary",
                                       "?",
                                       "closedi",
                                       "fileedit",
                                       "makebuslist",
                                       "dump",
                                       "cleanup",
                                       "latlongcoords",
                                       "var",
                                       "reset",
                                       "sample",
                                       "makeposseq",
                                       "totals",
                                       "guids",
                                       "sethkvarbase",
                                       "batchedit",
                                       NULL};

static int command_index(const char *w)
{
    for (int i = 0; commands[i] != NULL; i++) {
        if (strcasecmp(commands[i], w) == 0) {
            return i;
        }
    }
    int found = -1;
    size_t n = strlen(w);
    for (int i = 0; commands[i] != NULL; i++) {
        if (strncasecmp(commands[i], w, n) == 0) {
            if (found >= 0) {
                return -1;
            }
            found = i;
        }
    }
    return found;
}

static int run_line(struct pf_model *m, const char *line, struct ctx *cx)
{
    const char *p = skip_sep(line);
    if (*p == '~') {
        p++;
        if (m->active_kind < 0) {
            return pf__set_error(m, BASE_EPARSE,
                                 WHERE_FMT "'~' without an active element",
                                 WHERE);
        }
        if (m->active_kind == C_IGNORED) {
            return 0;
        }
        return apply_props(m, m->active_kind, m->active_idx, p, -1);
    }
    char name[128];
    char val[VALLEN];
    const char *rest = p;
    if (!next_tok(&rest, name, sizeof(name), val, sizeof(val))) {
        return 0;
    }
    if (name[0] != '\0') {
        /* Class.Name.property=value ... */
        char *last = strrchr(name, '.');
        if (last != NULL) {
            *last = '\0';
            char *oname;
            int cls;
            char obj[128];
            pf__scopy(obj, sizeof(obj), name);
            int rc = split_obj(m, obj, &cls, &oname);
            if (rc == 0 || rc == 1) {
                char lname[PF_NAMELEN];
                pf__scopy(lname, sizeof(lname), oname);
                lower(lname);
                int idx = find_elem(m, cls, lname);
                if (idx < 0) {
                    return pf__set_error(m, BASE_ENOTFOUND,
                                         WHERE_FMT "%s not defined", WHERE,
                                         name);
                }
                if (cls == C_IGNORED) {
                    return 0;
                }
                /* Re-feed "property=value rest" to the property parser. */
                size_t need = strlen(last + 1) + strlen(val) + strlen(rest) + 8;
                char *buf = base_malloc(need);
                if (buf == NULL) {
                    return BASE_ENOMEM;
                }
                snprintf(buf, need, "%s=\"%s\" %s", last + 1, val, rest);
                m->active_kind = cls;
                m->active_idx = idx;
                rc = apply_props(m, cls, idx, buf, -1);
                base_free(buf);
                return rc;
            }
        }
        pf__warn(m, WHERE_FMT "unknown command '%s=' (ignored)", WHERE, name);
        return 0;
    }
    int ci =
        strcasecmp(val, "m") == 0 ? command_index("more") : command_index(val);
    if (ci < 0) {
        pf__warn(m, WHERE_FMT "unknown command '%s' (ignored)", WHERE, val);
        return 0;
    }
    const char *cmd = commands[ci];
    if (strcmp(cmd, "new") == 0) {
        return cmd_new(m, rest, false);
    }
    if (strcmp(cmd, "edit") == 0) {
        return cmd_new(m, rest, true);
    }
    if (strcmp(cmd, "more") == 0 || strcmp(cmd, "~") == 0) {
        if (m->active_kind < 0) {
            return pf__set_error(m, BASE_EPARSE,
                                 WHERE_FMT "More without an active element",
                                 WHERE);
        }
        if (m->active_kind == C_IGNORED) {
            return 0;
        }
        return apply_props(m, m->active_kind, m->active_idx, rest, -1);
    }
    if (strcmp(cmd, "batchedit") == 0) {
        return cmd_batchedit(m, rest);
    }
    if (strcmp(cmd, "clear") == 0) {
        pf__clear(m);
        return 0;
    }
    if (strcmp(cmd, "redirect") == 0 || strcmp(cmd, "compile") == 0) {
        return cmd_redirect(m, rest, cx);
    }
    if (strcmp(cmd, "set") == 0) {
        return cmd_set(m, rest);
    }
    if (strcmp(cmd, "calcvoltagebases") == 0) {
        int rc = pf__calc_vbases(m);
        if (rc != 0) {
            char tmp[BASE_ERRMSG_SIZE];
            pf__scopy(tmp, sizeof(tmp), m->errmsg);
            return pf__set_error(m, rc, WHERE_FMT "CalcVoltageBases: %s", WHERE,
                                 tmp);
        }
        return 0;
    }
    if (strcmp(cmd, "solve") == 0) {
        const char *q = rest;
        while (next_tok(&q, name, sizeof(name), val, sizeof(val))) {
            if (name[0] == '\0') {
                continue;
            }
            lower(name);
            char opt[VALLEN + 160];
            snprintf(opt, sizeof(opt), "%s=\"%s\"", name, val);
            int rc = cmd_set(m, opt);
            if (rc != 0) {
                return rc;
            }
        }
        return do_solve(m);
    }
    /* Reports, plots and coordinates do not change the solution. */
    return 0;
}

/* Strip "!" and "//" comments outside quotes and brackets. */
static void strip_comment(char *s)
{
    int depth = 0;
    char q = 0;
    for (char *p = s; *p != '\0'; p++) {
        if (q != 0) {
            if (*p == q) {
                q = 0;
            }
            continue;
        }
        if (*p == '"' || *p == '\'') {
            q = *p;
        } else if (*p == '[' || *p == '(' || *p == '{') {
            depth++;
        } else if ((*p == ']' || *p == ')' || *p == '}') && depth > 0) {
            depth--;
        } else if (*p == '!' || (p[0] == '/' && p[1] == '/')) {
            *p = '\0';
            return;
        }
    }
}

static int run_text(struct pf_model *m, const char *text, struct ctx *cx)
{
    struct ctx *saved = cur;
    cur = cx;
    size_t cap = 1024;
    char *line = base_malloc(cap);
    if (line == NULL) {
        cur = saved;
        return BASE_ENOMEM;
    }
    int rc = 0;
    bool block = false;
    const char *p = text;
    int lineno = 0;
    while (*p != '\0' && rc == 0) {
        const char *e = strchr(p, '\n');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        lineno++;
        if (n + 1 > cap) {
            cap = n + 1;
            char *nl = base_realloc(line, cap);
            if (nl == NULL) {
                rc = BASE_ENOMEM;
                break;
            }
            line = nl;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = e != NULL ? e + 1 : p + n;
        cx->line = lineno;
        cur = cx;
        char *s = line;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (block) {
            if (strstr(s, "*/") != NULL) {
                block = false;
            }
            continue;
        }
        if (s[0] == '/' && s[1] == '*') {
            block = strstr(s + 2, "*/") == NULL;
            continue;
        }
        strip_comment(s);
        rc = run_line(m, s, cx);
    }
    base_free(line);
    cur = saved;
    return rc;
}

int pf_run_file(struct pf_model *m, const char *path)
{
    m->errmsg[0] = '\0';
    char *copy = base_strdup(path);
    if (copy == NULL) {
        return BASE_ENOMEM;
    }
    int rc = run_file(m, copy, NULL);
    base_free(copy);
    return rc;
}

int pf_run_string(struct pf_model *m, const char *text, const char *name)
{
    m->errmsg[0] = '\0';
    struct ctx *cx = base_calloc(1, sizeof(*cx));
    if (cx == NULL) {
        return BASE_ENOMEM;
    }
    cx->file = name != NULL ? name : "<string>";
    int rc = run_text(m, text, cx);
    base_free(cx);
    return rc;
}
