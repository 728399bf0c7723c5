/* SPDX-License-Identifier: MIT */
/* Public header of sim: the time-synchronised co-simulation kernel, the
 * market-day scenario, and the run that wires agents, feeder and ledger
 * together. */
#ifndef GL_SIM_H
#define GL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "market/market.h"

/* ---- the kernel -------------------------------------------------------------
 * Federates join with a period and an offset (times are integers in any
 * unit; the market day uses milliseconds). The kernel grants the earliest
 * time that any federate's next step or any pending message needs, delivers
 * the messages due then (in send order), then steps the federates due then
 * (in join order). Messages are the only way federates talk, so a federate
 * could run in another process with only the transport changed. With the
 * same inputs, a run is the same every time. */

#define SIM_NAME_MAX 31

struct sim;

struct sim_msg {
    int64_t t;    /* delivery time */
    uint64_t seq; /* send order */
    int from, to; /* federate ids */
    char topic[SIM_NAME_MAX + 1];
    void *data; /* owned by the kernel; valid during deliver */
    size_t len;
};

struct sim_federate_ops {
    /** The federate's periodic step at granted time @t (may be NULL). */
    int (*step)(void *self, struct sim *s, int64_t t);
    /** A message for this federate, at its time (may be NULL). */
    int (*deliver)(void *self, struct sim *s, const struct sim_msg *m);
};

/** Errors: BASE_ENOMEM. Free with sim_free(). */
int sim_new(struct sim **out) BASE_WUR;
void sim_free(struct sim *s);
/** Add a federate stepping at @offset, @offset + @period, ... (period 0:
 *  only messages wake it). @ops is copied, @self borrowed. Its id goes to
 *  @id. Errors: BASE_EINVAL, BASE_ENOMEM. */
int sim_join(struct sim *s, const char *name, int64_t period, int64_t offset,
             const struct sim_federate_ops *ops, void *self, int *id) BASE_WUR;
/** Send @len bytes (copied) to federate @to, delivered at time @t, which
 *  must be later than the time granted now.
 *  Errors: BASE_EINVAL (bad federate, not in the future), BASE_ENOMEM. */
int sim_send(struct sim *s, int from, int to, int64_t t, const char *topic,
             const void *data, size_t len) BASE_WUR;
/** The time granted now. */
int64_t sim_now(const struct sim *s);

/** Called after each granted time; non-zero stops the run. */
typedef int (*sim_progress_cb)(void *arg, int64_t t);
/** Run until no federate or message needs a time at or before @until.
 *  Returns the first non-zero code of a federate or @progress. */
int sim_run(struct sim *s, int64_t until, sim_progress_cb progress, void *arg);
/** Steps taken and messages delivered so far. */
void sim_counts(const struct sim *s, uint64_t *steps, uint64_t *messages);

/* ---- the market-day scenario --------------------------------------------
 * JSON, documented in docs/scenario.md. Paths in it are relative to the
 * scenario file. */

#define SIM_MAX_DERS      256
#define SIM_MAX_DERAS     16
#define SIM_MAX_PROFILES  16
#define SIM_MAX_CUSTOMERS 256
#define SIM_MAX_SKIP      16

struct sim_profile {
    char name[SIM_NAME_MAX + 1];
    double hourly[24]; /* multipliers, interpolated between hours */
};

struct sim_customer {
    char load[SC_TEXT_MAX + 1]; /* load name in the feeder */
    int profile;                /* index into profiles */
    double scale;
    double noise; /* relative size of its own random variation */
};

struct sim_der {
    struct mk_der der;
    char dera[LG_NAME_MAX + 1];
    double qualified_kw; /* what the DSO qualifies; 0: refused */
    double variability;  /* weather */
};

struct sim_scenario {
    char path[1024]; /* the file */
    char name[128];
    uint64_t seed;
    char feeder[1024];     /* resolved path of the OpenDSS script */
    char *feeder_commands; /* owned: extra script lines, or NULL */
    double vmin, vmax;
    char skip[SIM_MAX_SKIP][SC_TEXT_MAX + 1]; /* buses not monitored */
    size_t nskip;
    char market[MK_MARKET_MAX + 1];
    int interval_min, intervals;
    double price_forecast[24]; /* day-ahead, $/MWh, hourly */
    struct sim_profile profiles[SIM_MAX_PROFILES];
    size_t nprofiles;
    int default_profile; /* for loads not listed as customers; -1: flat */
    struct sim_customer customers[SIM_MAX_CUSTOMERS];
    size_t ncustomers;
    char deras[SIM_MAX_DERAS][LG_NAME_MAX + 1];
    size_t nderas;
    struct sim_der ders[SIM_MAX_DERS];
    size_t nders;
    enum mk_dso_method dso_method;
    enum mk_iso_mode iso_mode;
    double demand_kw, price_cap; /* merit-order clearing */
    int report_interval;         /* the clearing shown in the report; -1 auto */
    char channel[LG_NAME_MAX + 1];
    unsigned block_tx;
    uint64_t batch_us;
};

/** Read and check a scenario. @errmsg says what is wrong, with the JSON
 *  path. Release with sim_scenario_release(). Errors: BASE_ENOTFOUND,
 *  BASE_EPARSE, BASE_EINVAL, BASE_ENOMEM. */
int sim_scenario_load(struct sim_scenario *sc, const char *path,
                      char *errmsg) BASE_WUR;
void sim_scenario_release(struct sim_scenario *sc);
/** The scenario's "kind" ("der-market" when absent), copied to @out.
 *  Errors: BASE_ENOTFOUND, BASE_EPARSE. */
int sim_scenario_kind(const char *path, char *out, size_t size,
                      char *errmsg) BASE_WUR;

/* ---- the market day ---------------------------------------------------- */

/** What the run needs from its host: clients bound to identities. */
struct sim_day_env {
    /** A client signing as member @name of organisation @org with @role
     *  (created if needed). Owned by the caller of sim_day_run once
     *  returned; the run closes it. */
    int (*client)(void *arg, const char *org, const char *name,
                  const char *role, struct mk_client **out);
    void *arg;
    /** Progress: @done of @total intervals (may be NULL). */
    void (*progress)(void *arg, int done, int total);
    /** The ledger's totals after the run (may be NULL). */
    void (*ledger_stats)(void *arg, uint64_t *committed, uint64_t *invalid,
                         uint64_t *refused, uint64_t *blocks);
};

/** The summary of a run (results.json "summary"). */
struct sim_day_summary {
    int intervals, ders, deras;
    double curtailed_kwh;
    double curtailed_kwh_other; /* had the DSO used its other method */
    double max_v_before_pu, max_v_after_pu;  /* DSO's view of the bids */
    double max_v_feeder_pu, min_v_feeder_pu; /* what the feeder saw */
    double energy_bid_kwh, energy_cleared_kwh, energy_dispatched_kwh;
    uint64_t ledger_tx, ledger_invalid, ledger_refused, ledger_blocks;
    uint64_t bids, retrievals, tampered, refused_entries;
    int dso_solves, feeder_solves;
    uint64_t sim_steps, sim_messages;
    double bid_store_ms_p50, bid_store_ms_p99, bid_store_ms_max;
    double bid_retrieve_ms_p50, bid_retrieve_ms_p99, bid_retrieve_ms_max;
    double runtime_s;
};

/**
 * Run the market day of @sc through the clients of @env and write into
 * directory @outdir: results.json, voltages.csv, bids.csv, clearing.csv,
 * curtailment.csv and report-data.json (the data of the HTML report).
 * @errmsg says why on failure.
 * Errors: those of the feeder, the ledger client and file output.
 */
int sim_day_run(const struct sim_scenario *sc, const struct sim_day_env *env,
                const char *outdir, struct sim_day_summary *sum,
                char *errmsg) BASE_WUR;

/* ---- PETra: the microgrid trading scenario (paper 004) ---------------------
 * A scenario of "kind": "petra" (docs/petra.md): prosumers with forecasts
 * per interval withdraw assets from the DSO over ZeroMQ to fresh anonymous
 * addresses, post asks and bids and accept the best opposite offer on the
 * ledger, and deposit what they hold when the interval comes. */

#define SIM_PETRA_MAX_PROSUMERS MK_PETRA_MAX_PROSUMERS

struct sim_petra_prosumer {
    char name[LG_NAME_MAX + 1]; /* member of PROSUMERS */
    bool producer;
    double kw[MK_PETRA_MAX_INTERVALS]; /* forecast per interval, kW >= 0 */
    double price;                      /* per kWh: ask, or a buyer's limit */
    double funds;                      /* real account at the DSO */
    bool bids; /* a consumer that posts a bid when no ask suits it */
};

struct sim_petra_scenario {
    char path[1024];
    char name[128];
    int interval_min;            /* 15 */
    int start_min;               /* minute of the day of the first interval */
    int intervals;               /* how many */
    double export_kw, import_kw; /* feeder limits per interval */
    struct sim_petra_prosumer prosumers[SIM_PETRA_MAX_PROSUMERS];
    size_t nprosumers;
    char channel[LG_NAME_MAX + 1];
    unsigned block_tx;
    uint64_t batch_us;
    char bind[256]; /* where the DSO listens: "tcp://127.0.0.1:*" */
};

/** Read and check a petra scenario. Errors: BASE_ENOTFOUND, BASE_EPARSE,
 *  BASE_EINVAL, with @errmsg naming the JSON path. */
int sim_petra_load(struct sim_petra_scenario *sc, const char *path,
                   char *errmsg) BASE_WUR;

/** What the run needs from its host. */
struct sim_petra_env {
    void *arg;
    /** A client signing as ORG/NAME (the DSO's operator). The run closes
     *  it. */
    int (*client)(void *arg, const char *org, const char *name,
                  struct mk_client **out);
    /** A client for an anonymous address the DSO certified. */
    mk_petra_open_fn anon;
    /** The certificate and key of member ORG/NAME (a prosumer's real
     *  identity), and an organisation's root key pair. */
    int (*member)(void *arg, const char *org, const char *name,
                  struct lg_cert *cert, struct cr_keypair *key);
    int (*root)(void *arg, const char *org, struct cr_keypair *key);
    void (*progress)(void *arg, int done, int total); /* may be NULL */
    void (*ledger_stats)(void *arg, uint64_t *committed, uint64_t *invalid,
                         uint64_t *refused, uint64_t *blocks); /* may be NULL */
};

struct sim_petra_summary {
    int intervals, producers, consumers;
    uint64_t withdrawals, failed_withdrawals, addresses;
    uint64_t offers, trades, rescinded, deposits;
    double traded_kwh, traded_value, production_kwh, load_kwh;
    /* Clearing time, from postOffer submitted to acceptOffer committed,
     * wall clock, ms. */
    double clear_mean, clear_median, clear_var, clear_min, clear_max, clear_p90;
    uint64_t ledger_tx, ledger_invalid, ledger_refused, ledger_blocks;
    double runtime_s;
};

/**
 * Run @sc through @env and write into @outdir: trades.csv, withdrawals.csv
 * (the DSO's own record), dso-map.csv (the DSO's private map from
 * addresses to prosumers), results.json, report-data.json and report.html.
 * Errors: those of the ledger client, the messaging and file output, with
 * @errmsg set.
 */
int sim_petra_run(const struct sim_petra_scenario *sc,
                  const struct sim_petra_env *env, const char *outdir,
                  struct sim_petra_summary *sum, char *errmsg) BASE_WUR;

#endif
