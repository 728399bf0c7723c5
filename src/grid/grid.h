/* SPDX-License-Identifier: MIT */
/* Public header of grid: OpenDSS-script reader and three-phase power flow. */
#ifndef GL_GRID_H
#define GL_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/base.h"

/*
 * A feeder model is an opaque heap object (struct pf_model): the script
 * reader fills it, the solver keeps its factorised admittance matrix and its
 * last solution inside it, so repeated solves cost only the injections.
 *
 * Threading: a model is not thread-safe; use one model per thread.
 */
struct pf_model;

/** Called for each warning (unknown command or property ...). @msg is
 *  "file:line: text", borrowed for the duration of the call. */
typedef void (*pf_warn_cb)(void *arg, const char *msg);

/** Totals of the last solution. */
struct pf_result {
    bool converged; /* power flow and controls both converged */
    int iterations; /* power-flow iterations, summed over control
                       iterations */
    int control_iterations;
    int tap_changes;  /* regulator tap steps taken by the controls */
    double losses_kw; /* series elements (lines and transformers) */
    double losses_kvar;
    double source_kw; /* power delivered by the sources */
    double source_kvar;
};

/** One node (a conductor of a bus other than ground). */
struct pf_node {
    const char *bus; /* lower case; borrowed until the model changes/frees */
    int node;        /* 1, 2, 3 for phases a, b, c */
    double kv_base;  /* line-to-neutral base in kV (0 when unknown) */
    double v_re;     /* volts */
    double v_im;
};

/** One circuit element's flows at its first terminal. */
struct pf_element {
    const char *name; /* "Line.650632"; borrowed like pf_node.bus */
    int nconds;       /* conductors of terminal 1 (at most 4 reported) */
    double i_mag[4];  /* amperes per conductor, terminal 1 */
    double p_kw;      /* power into the element at terminal 1 */
    double q_kvar;
    double loss_kw; /* losses of series elements; 0 for shunts */
    double loss_kvar;
};

/**
 * Allocate an empty model.
 *
 * Ownership: *@out is owned by the caller, released with pf_model_free().
 *
 * Errors:
 *   BASE_ENOMEM  allocation failed
 */
int pf_model_new(struct pf_model **out) BASE_WUR;

/** Free @m and everything it holds (NULL is fine). */
void pf_model_free(struct pf_model *m);

/** Route warnings to @cb (NULL: log them with BASE_WARN). @arg is borrowed
 *  for the model's life. */
void pf_set_warn_cb(struct pf_model *m, pf_warn_cb cb, void *arg);

/** Message of the last error, "file:line: text" when it comes from a script.
 *  Borrowed until the next call on @m. */
const char *pf_errmsg(const struct pf_model *m);

/**
 * Run an OpenDSS script file, including its own Solve commands.
 *
 * @path is copied. Redirect/Compile paths are relative to the file that
 * contains them. Unknown commands and properties are warnings; a malformed
 * value, a missing file or a model that cannot be solved is an error whose
 * message (pf_errmsg) names file and line.
 *
 * Errors:
 *   BASE_ENOTFOUND   script or a redirected file missing
 *   BASE_EPARSE      malformed value or element reference
 *   BASE_ESINGULAR   the admittance matrix is singular (floating island ...)
 *   BASE_ENOCONVERGE a Solve did not converge
 *   BASE_ENOMEM      allocation failed
 */
int pf_run_file(struct pf_model *m, const char *path) BASE_WUR;

/** Like pf_run_file() for script text in memory; @name (copied) names it in
 *  messages and relative paths are taken from the current directory. */
int pf_run_string(struct pf_model *m, const char *text,
                  const char *name) BASE_WUR;

/**
 * Solve a snapshot with the present loads, DER injections and control mode.
 *
 * Re-uses the factorisation when only injections changed since the last
 * solve, and starts from the last solution. Per-solve work does not allocate.
 *
 * Errors:
 *   BASE_EINVAL      the model has no source
 *   BASE_ESINGULAR   singular admittance matrix
 *   BASE_ENOCONVERGE not converged within maxiterations/maxcontroliter (the
 *                    last iterate is kept and pf_get_result reports it)
 *   BASE_ENOMEM      allocation failed (first solve only)
 */
int pf_solve(struct pf_model *m) BASE_WUR;

/** Copy the totals of the last solve into @out. Errors: BASE_EINVAL when
 *  the model has never been solved. */
int pf_get_result(const struct pf_model *m, struct pf_result *out) BASE_WUR;

/** Number of nodes of the last solved model (0 before the first solve). */
size_t pf_node_count(const struct pf_model *m);

/** Node @i (0 <= i < pf_node_count) into @out. Errors: BASE_EINVAL. */
int pf_node_get(const struct pf_model *m, size_t i,
                struct pf_node *out) BASE_WUR;

/** Index of node @node of bus @bus (case-insensitive), or BASE_ENOTFOUND. */
int pf_node_find(const struct pf_model *m, const char *bus, int node);

/** Number of circuit elements with results (lines, transformers, loads,
 *  capacitors, sources, DERs). */
size_t pf_element_count(const struct pf_model *m);

/** Flows of element @i into @out. Errors: BASE_EINVAL. */
int pf_element_get(const struct pf_model *m, size_t i,
                   struct pf_element *out) BASE_WUR;

/**
 * Set the output of a DER (PVSystem.NAME or Generator.NAME, or a bare name
 * searched in both), as fixed P and Q injections in kW and kvar (positive:
 * generated). Takes effect at the next pf_solve() without refactoring.
 *
 * Errors:
 *   BASE_ENOTFOUND  no such DER
 */
int pf_der_set(struct pf_model *m, const char *name, double kw,
               double kvar) BASE_WUR;

/**
 * Add a fixed three-phase (or per-node) DER to a built model at @bus with
 * @kw, @kvar spread equally over the bus's phase nodes. Name is copied.
 *
 * Errors: BASE_ENOTFOUND (bus), BASE_EEXIST (name), BASE_ENOMEM.
 */
int pf_der_add(struct pf_model *m, const char *name, const char *bus, double kw,
               double kvar) BASE_WUR;

/** One load of the model. */
struct pf_load {
    const char *name; /* lower case, without "load."; borrowed like pf_node */
    const char *bus;  /* its bus */
    double kw, kvar;  /* rated */
    int nphases;
};

/** Number of loads in the model. */
size_t pf_load_count(const struct pf_model *m);
/** Load @i into @out. Errors: BASE_EINVAL. */
int pf_load_get(const struct pf_model *m, size_t i,
                struct pf_load *out) BASE_WUR;
/** Scale load @name ("671" or "Load.671", any case) by @mult from the next
 *  solve on, on top of loadmult and its daily shape: how a simulation gives
 *  each customer its own load pattern. Needs no refactoring.
 *  Errors: BASE_ENOTFOUND, BASE_EINVAL (negative or absurd). */
int pf_load_set_mult(struct pf_model *m, const char *name,
                     double mult) BASE_WUR;

/** Scale every load by @mult (OpenDSS's "Set loadmult"). */
void pf_set_load_mult(struct pf_model *m, double mult);

/**
 * Voltage sensitivities dV/dP: for a balanced 1 kW injection spread over the
 * phase nodes of bus @bus, the change of every node's voltage magnitude in
 * per unit per kW, written to @out[0..n), n = pf_node_count(). Computed about
 * the last solution with the taps held; the solution is restored afterwards.
 *
 * Errors: BASE_ENOTFOUND (bus), BASE_EINVAL (not solved or n too small),
 * BASE_ENOCONVERGE.
 */
int pf_dvdp(struct pf_model *m, const char *bus, double *out,
            size_t n) BASE_WUR;

/** Called after each time-series step; a non-zero return stops the run and
 *  is returned by pf_time_series(). */
typedef int (*pf_step_cb)(void *arg, const struct pf_model *m, int step,
                          double t_s);

/**
 * Run @steps steps of @step_s seconds each from midnight, applying every
 * load's daily loadshape (loads without one stay at their base value), with
 * the controls of the control mode between steps. @cb may be NULL.
 *
 * Errors: those of pf_solve(), BASE_EINVAL for steps < 1 or step_s <= 0.
 */
int pf_time_series(struct pf_model *m, int steps, double step_s, pf_step_cb cb,
                   void *arg) BASE_WUR;

/** Write the CSV "bus,phase,vmag_pu,vang_deg" (with a header line when
 *  @header) of the last solution; with @step >= 0 two columns "step,time_s"
 *  come first. Errors: BASE_EIO, BASE_EINVAL (not solved). */
int pf_write_csv(const struct pf_model *m, FILE *f, bool header, int step,
                 double t_s) BASE_WUR;

/** Print a voltage report like OpenDSS's "Show Voltages LN Nodes" plus the
 *  totals. Errors: BASE_EIO, BASE_EINVAL (not solved). */
int pf_write_report(const struct pf_model *m, FILE *f) BASE_WUR;

#endif
