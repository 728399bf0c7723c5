/* SPDX-License-Identifier: MIT */
/* gridledger pf: run an OpenDSS feeder script and report its voltages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "grid/grid.h"

static void usage(FILE *f)
{
    fputs("usage: gridledger pf SCRIPT [--csv FILE] "
          "[--time-series STEPS --step SECONDS]\n\n"
          "Runs an OpenDSS script (its own Solve commands included) with the\n"
          "three-phase power flow, then prints a voltage report, or writes\n"
          "bus,phase,vmag_pu,vang_deg for every node with --csv (FILE '-' is\n"
          "standard output). --time-series applies the loads' daily\n"
          "loadshapes over STEPS steps of SECONDS each and writes one row per\n"
          "step and node (columns step,time_s first).\n",
          f);
}

static void warn_cb(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "gridledger: warning: %s\n", msg);
}

struct ts_ctx {
    FILE *out;
    bool csv;
};

static int ts_step(void *arg, const struct pf_model *m, int step, double t_s)
{
    struct ts_ctx *c = arg;
    if (!c->csv) {
        return 0;
    }
    return pf_write_csv(m, c->out, step == 0, step, t_s);
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno != 0 || e == s || *e != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_pf(int argc, char **argv)
{
    const char *script = NULL;
    const char *csv = NULL;
    long steps = 0;
    double step_s = 0;
    for (int i = 1; i < argc; i++) {
        if (cmd_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv = argv[++i];
        } else if (strcmp(argv[i], "--time-series") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 1, 100000000, &steps) != 0) {
                return cmd_fail(2, "pf: bad --time-series '%s'", argv[i]);
            }
        } else if (strcmp(argv[i], "--step") == 0 && i + 1 < argc) {
            char *e;
            step_s = strtod(argv[++i], &e);
            if (e == argv[i] || *e != '\0' || !(step_s > 0)) {
                return cmd_fail(2, "pf: bad --step '%s'", argv[i]);
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage(stderr);
            return cmd_fail(2, "pf: unknown or incomplete option '%s'",
                            argv[i]);
        } else if (script == NULL) {
            script = argv[i];
        } else {
            return cmd_fail(2, "pf: more than one script given");
        }
    }
    if (script == NULL) {
        usage(stderr);
        return 2;
    }
    if ((steps > 0) != (step_s > 0)) {
        return cmd_fail(2, "pf: --time-series and --step go together");
    }
    struct pf_model *m;
    if (pf_model_new(&m) != 0) {
        return cmd_fail(1, "pf: out of memory");
    }
    pf_set_warn_cb(m, warn_cb, NULL);
    int status = 0;
    int rc = pf_run_file(m, script);
    if (rc != 0) {
        status = cmd_fail(1, "pf: %s", pf_errmsg(m));
        goto out;
    }
    FILE *out = stdout;
    if (csv != NULL && strcmp(csv, "-") != 0) {
        out = fopen(csv, "w");
        if (out == NULL) {
            status =
                cmd_fail(1, "pf: cannot write '%s': %s", csv, strerror(errno));
            goto out;
        }
    }
    if (steps > 0) {
        struct ts_ctx c = {.out = out, .csv = csv != NULL};
        rc = pf_time_series(m, (int)steps, step_s, ts_step, &c);
        if (rc != 0) {
            status = cmd_fail(1, "pf: time series: %s", pf_errmsg(m));
        } else if (csv == NULL) {
            rc = pf_write_report(m, out);
        }
    } else if (pf_node_count(m) == 0) {
        rc = pf_solve(m);
        if (rc != 0) {
            status = cmd_fail(1, "pf: %s", pf_errmsg(m));
        }
    }
    if (status == 0 && steps == 0) {
        rc = csv != NULL ? pf_write_csv(m, out, true, -1, 0)
                         : pf_write_report(m, out);
        if (rc != 0) {
            status = cmd_fail(1, "pf: cannot write the results");
        }
    }
    if (out != stdout && fclose(out) != 0 && status == 0) {
        status = cmd_fail(1, "pf: cannot write '%s'", csv);
    }
out:
    pf_model_free(m);
    return status;
}
