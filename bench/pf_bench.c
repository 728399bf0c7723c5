/* SPDX-License-Identifier: MIT */
/* pf-bench: timings of the power flow (re-solve, daily series, scaling). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "grid/grid.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* A radial test feeder of about @nbus buses: a 3-phase trunk whose every
 * bus feeds a single-phase lateral of 9 buses with a small load on each. */
static char *synthetic(int nbus)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    int trunk = nbus / 10 > 1 ? nbus / 10 : 1;
    int ok = base_buf_printf(
        &b, "clear\nnew circuit.synth basekv=12.47 pu=1.03 phases=3 "
            "bus1=t0 mvasc3=200000 mvasc1=210000\n"
            "new linecode.tr nphases=3 r1=0.02 x1=0.06 r0=0.06 x0=0.18 "
            "c1=3.4 c0=1.6 units=kft\n"
            "new linecode.lat nphases=1 r1=0.3 x1=0.3 r0=0.3 x0=0.3 c1=2 "
            "c0=2 units=kft\n");
    for (int i = 1; i <= trunk && ok == 0; i++) {
        ok = base_buf_printf(&b,
                             "new line.t%d bus1=t%d bus2=t%d linecode=tr "
                             "length=0.05 units=kft\n",
                             i, i - 1, i);
        int ph = i % 3 + 1;
        for (int k = 1; k <= 9 && ok == 0; k++) {
            char from[32];
            if (k == 1) {
                snprintf(from, sizeof(from), "t%d.%d", i, ph);
            } else {
                snprintf(from, sizeof(from), "l%d_%d.%d", i, k - 1, ph);
            }
            ok = base_buf_printf(
                &b,
                "new line.l%d_%d phases=1 bus1=%s bus2=l%d_%d.%d "
                "linecode=lat length=0.05 units=kft\n"
                "new load.l%d_%d phases=1 bus1=l%d_%d.%d kv=7.2 kw=%.1f "
                "kvar=%.1f model=1\n",
                i, k, from, i, k, ph, i, k, i, k, ph, 5000.0 / nbus * 1.0,
                2000.0 / nbus * 1.0);
        }
    }
    if (ok == 0) {
        ok = base_buf_printf(&b, "set voltagebases=[12.47]\ncalcv\n");
    }
    if (ok == 0) {
        ok = base_buf_terminate(&b);
    }
    if (ok != 0) {
        base_buf_release(&b);
        return NULL;
    }
    size_t len;
    return (char *)base_buf_take(&b, &len);
}

struct fig {
    const char *name;
    size_t nodes;
    double cold_ms;
    double resolve_med_us;
    double resolve_p90_us;
    double series_ms;
    int series_iters;
};

static int load_model(struct pf_model *m, const char *path, int synth)
{
    if (synth > 0) {
        char *text = synthetic(synth);
        if (text == NULL) {
            return BASE_ENOMEM;
        }
        int rc = pf_run_string(m, text, "synthetic");
        base_free(text);
        return rc;
    }
    return pf_run_file(m, path);
}

static int bench_one(const char *name, const char *path, const char *der_bus,
                     int synth, int reps, struct fig *out)
{
    struct pf_model *m;
    int rc = pf_model_new(&m);
    if (rc != 0) {
        return rc;
    }
    pf_set_warn_cb(m, quiet, NULL);
    memset(out, 0, sizeof(*out));
    out->name = name;
    uint64_t t0 = base_mono_ns();
    rc = load_model(m, path, synth);
    if (rc == 0) {
        rc = pf_solve(m);
    }
    out->cold_ms = (double)(base_mono_ns() - t0) / 1e6;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", name, pf_errmsg(m));
        pf_model_free(m);
        return rc;
    }
    out->nodes = pf_node_count(m);
    /* Re-solve: a DER whose output changes between solves. */
    rc = pf_der_add(m, "bench_der", der_bus, 50.0, 0.0);
    if (rc == 0) {
        rc = pf_solve(m);
    }
    uint64_t *t = malloc((size_t)reps * sizeof(uint64_t));
    for (int i = 0; rc == 0 && i < reps; i++) {
        rc = pf_der_set(m, "bench_der", i % 2 == 0 ? 60.0 : 40.0, 0.0);
        uint64_t a = base_mono_ns();
        if (rc == 0) {
            rc = pf_solve(m);
        }
        t[i] = base_mono_ns() - a;
    }
    if (rc == 0) {
        qsort(t, (size_t)reps, sizeof(uint64_t), cmp_u64);
        out->resolve_med_us = (double)t[reps / 2] / 1e3;
        out->resolve_p90_us = (double)t[reps * 9 / 10] / 1e3;
    }
    free(t);
    /* Daily series: every load follows the default daily shape. */
    if (rc == 0) {
        rc = pf_run_string(m, "BatchEdit Load..* daily=default", "bench");
    }
    if (rc == 0) {
        rc = pf_solve(m);
    }
    if (rc == 0) {
        uint64_t a = base_mono_ns();
        rc = pf_time_series(m, 1440, 60.0, NULL, NULL);
        out->series_ms = (double)(base_mono_ns() - a) / 1e6;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", name, pf_errmsg(m));
    }
    pf_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "feeders";
    int reps = argc > 2 ? atoi(argv[2]) : 2000;
    if (reps < 10) {
        reps = 10;
    }
    char p13[4096], p34[4096], p37[4096], p123[4096];
    snprintf(p13, sizeof(p13), "%s/ieee13/ieee13.dss", dir);
    snprintf(p34, sizeof(p34), "%s/ieee34/ieee34.dss", dir);
    snprintf(p37, sizeof(p37), "%s/ieee37/ieee37.dss", dir);
    snprintf(p123, sizeof(p123), "%s/ieee123/ieee123.dss", dir);
    struct {
        const char *name;
        const char *path;
        const char *bus;
        int synth;
    } cases[] = {
        {"IEEE 13", p13, "675", 0},
        {"IEEE 34", p34, "860", 0},
        {"IEEE 37", p37, "734", 0},
        {"IEEE 123", p123, "60", 0},
        {"synthetic 10k", NULL, "t500", 10000},
    };
    printf("| feeder | nodes | load+first solve (ms) | re-solve median (us) "
           "| re-solve p90 (us) | 1,440-step daily series (ms) |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    int status = 0;
    for (size_t i = 0; i < BASE_ARRAY_LEN(cases); i++) {
        struct fig f;
        int n = cases[i].synth > 0 ? (reps > 200 ? 200 : reps) : reps;
        if (bench_one(cases[i].name, cases[i].path, cases[i].bus,
                      cases[i].synth, n, &f) != 0) {
            status = 1;
            continue;
        }
        printf("| %s | %zu | %.2f | %.2f | %.2f | %.1f |\n", f.name, f.nodes,
               f.cold_ms, f.resolve_med_us, f.resolve_p90_us, f.series_ms);
        fflush(stdout);
    }
    return status;
}
