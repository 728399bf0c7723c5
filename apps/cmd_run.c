/* SPDX-License-Identifier: MIT */
/* gridledger run / demo: a scenario end to end on an embedded ledger. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "node.h"
#include "remote.h"
#include "sim/sim.h"

#define DEMO_SCENARIO "scenarios/ieee13-der-market.json"
#define DEMO_OUT      "out/ieee13-der-market"

static const char usage[] =
    "usage: gridledger run SCENARIO [--out DIR] [--force] [--quiet]\n"
    "                      [--offchain SPEC]\n"
    "       gridledger run SCENARIO --node URL --keys DIR [--out DIR]\n"
    "                      [--ca-file PEM] [--insecure] [--force] [--quiet]\n\n"
    "Run a scenario (JSON, see docs/scenario.md) end to end: the market\n"
    "agents on a fresh embedded ledger in DIR/ledger, the feeder solved\n"
    "every simulated minute, and the results in DIR:\n"
    "  results.json      summary, ledger statistics and latencies\n"
    "  voltages.csv      time_s,bus,phase,vmag_pu for every node and minute\n"
    "  bids.csv          interval,der,bid_kw,price,feasible_kw,awarded_kw\n"
    "  clearing.csv      interval,price,cleared_kw\n"
    "  curtailment.csv   interval,max_v_before_pu,max_v_after_pu,curtailed_kw\n"
    "  report.html       the report: voltages, dispatch, curtailment, the\n"
    "                    clearing of one interval, ledger statistics; one\n"
    "                    file that opens offline\n"
    "  report-data.json  the data of the report\n"
    "  ledger/           the run's ledger ('gridledger verify DIR/ledger')\n"
    "\nA scenario of \"kind\": \"petra\" (docs/petra.md) runs PETra's\n"
    "microgrid instead and writes trades.csv, withdrawals.csv, dso-map.csv,\n"
    "results.json, report-data.json and report.html (the clearing-time\n"
    "distribution) beside ledger/.\n\n"
    "DIR defaults to out/<scenario name>. An existing run in DIR is replaced\n"
    "only with --force. A progress bar is drawn on a terminal unless "
    "--quiet.\n"
    "The bid records go to the off-chain store SPEC (default\n"
    "DIR/ledger/" APP_OFFCHAIN_DEFAULT "): postgresql://USER@HOST:PORT/DB, a\n"
    "libpq URI, or sqlite:PATH (relative to DIR/ledger); the run's ledger\n"
    "keeps SPEC in its " APP_CONFIG_FILE " (docs/offchain.md). The results do\n"
    "not depend on the store.\n\n"
    "--node URL runs the agents against a node in another process\n"
    "('gridledger node', http:// or https://) instead of an embedded ledger:\n"
    "they sign with their members' keys from DIR/keys (--keys DIR: the\n"
    "directory 'gridledger init DIR --scenario SCENARIO' made for the node)\n"
    "and reach it over HTTP; the results are the same, without DIR/ledger.\n"
    "The node's ledger must be fresh for a market day (its DERs are\n"
    "registered by the run). --ca-file trusts an https node's certificate\n"
    "authority; --insecure skips the check (tests only).\n";

static const char demo_usage[] =
    "usage: gridledger demo [--out DIR] [--quiet]\n\n"
    "Run the shipped market day, " DEMO_SCENARIO ",\n"
    "into " DEMO_OUT " (replacing an earlier demo run).\n"
    "It is 'gridledger run " DEMO_SCENARIO " --force'.\n";

/* How a run was asked for. */
struct run_opts {
    const char *out;
    bool force, quiet;
    const char *offchain;
    /* --node: the agents reach a node in another process */
    const char *node, *keys, *ca_file;
    bool insecure;
};

struct host {
    char dir[PATH_MAX];
    const char *ledger; /* where the members' keys are (DIR/keys) */
    struct app_node node;
    struct kv_offchain *off;
    bool bar;
    int last;
    /* A remote run: the node's URL, the clients' options and counters,
     * and a client without identity for the node's tip. */
    const char *url;
    struct mk_http_options hopt;
    struct mk_http_stats hstats;
    struct mk_client *reader;
    uint64_t height0;
};

/* A client signing as (@cert, @key): in-process, or over HTTP to the
 * node of a remote run. */
static int open_client(struct host *h, const struct lg_cert *cert,
                       const struct cr_keypair *key, struct mk_client **out)
{
    if (h->url == NULL) {
        return mk_client_local(out, h->node.ch, h->node.solo, h->off, cert,
                               key);
    }
    char err[BASE_ERRMSG_SIZE];
    int rv = mk_client_http(out, h->url, cert, key, &h->hopt, err);
    if (rv != 0) {
        cmd_fail(1, "%s/%s: %s", cert->org, cert->name, err);
    }
    return rv;
}

static int client(void *arg, const char *org, const char *name,
                  const char *role, struct mk_client **out)
{
    (void)role;
    struct host *h = arg;
    char who[MK_ID_MAX];
    snprintf(who, sizeof who, "%s/%s", org, name);
    struct app_member m;
    int rv = app_member_load(&m, h->ledger, who);
    if (rv != 0) {
        return BASE_ENOTFOUND;
    }
    rv = open_client(h, &m.cert, &m.key, out);
    cr_wipe(&m.key, sizeof m.key);
    return rv;
}

static void bar(void *arg, const char *label, int done, int total)
{
    struct host *h = arg;
    if (!h->bar || done == h->last) {
        return;
    }
    h->last = done;
    int width = 40, fill = done * width / total;
    fprintf(stderr, "\r  %s [%.*s%*s] %3d/%d intervals", label, fill,
            "########################################", width - fill, "", done,
            total);
    if (done == total) {
        fputc('\n', stderr);
    }
}

static void progress(void *arg, int done, int total)
{
    bar(arg, "market day", done, total);
}

/* The node's height and channel (@channel: LG_NAME_MAX+1 bytes, may be
 * NULL), through GET /v1/tip. */
static int remote_tip(struct host *h, uint64_t *height, char *channel)
{
    struct base_buf a;
    base_buf_init(&a, 0);
    long status = 0;
    char err[BASE_ERRMSG_SIZE];
    int rv = mk_http_request(h->reader, "GET", "/v1/tip", NULL, NULL, 0,
                             &status, &a, err);
    json_t *o = rv ? NULL : json_loadb((const char *)a.data, a.len, 0, NULL);
    json_t *hv = json_object_get(o, "height");
    const char *ch = json_string_value(json_object_get(o, "channel"));
    if (rv != 0) {
        rv = cmd_fail(1, "%s", err);
    } else if (status != 200 || !json_is_integer(hv) || ch == NULL) {
        rv = cmd_fail(1, "%s/v1/tip: HTTP %ld, not a node's tip", h->url,
                      status);
    } else {
        *height = (uint64_t)json_integer_value(hv);
        if (channel != NULL) {
            snprintf(channel, LG_NAME_MAX + 1, "%s", ch);
        }
    }
    json_decref(o);
    base_buf_release(&a);
    return rv;
}

static void stats(void *arg, uint64_t *committed, uint64_t *invalid,
                  uint64_t *refused, uint64_t *blocks)
{
    struct host *h = arg;
    if (h->url != NULL) {
        /* What this run's clients saw, and the blocks the node cut
         * meanwhile (for anyone: a node may serve others too). */
        *committed = atomic_load(&h->hstats.committed);
        *invalid = atomic_load(&h->hstats.invalid);
        *refused = atomic_load(&h->hstats.refused);
        uint64_t height = h->height0;
        *blocks = remote_tip(h, &height, NULL) == 0 ? height - h->height0 : 0;
        return;
    }
    struct ord_stats st;
    ord_solo_stats(h->node.solo, &st);
    *committed = st.committed_valid + st.committed_invalid;
    *invalid = st.committed_invalid;
    *refused = st.refused;
    *blocks = st.blocks;
}

static void print_where(const char *out, const char *node)
{
    if (node != NULL) {
        printf("\nresults in %s; the ledger is the node's, at %s\n", out, node);
    } else {
        printf("\nresults in %s (verify the ledger: gridledger verify "
               "%s/ledger)\n",
               out, out);
    }
}

static void print_summary(const struct sim_scenario *sc,
                          const struct sim_day_summary *s, const char *out,
                          const char *node)
{
    printf("\n%s\n", sc->name);
    printf("  %-34s %d x %d min, %d DERs, %d DERA%s\n", "market", s->intervals,
           sc->interval_min, s->ders, s->deras, s->deras == 1 ? "" : "s");
    printf("  %-34s %s\n", "DSO method",
           sc->dso_method == MK_DSO_SENSITIVITY ? "sensitivity"
                                                : "proportional");
    printf("  %-34s %.4f pu\n", "max voltage with the bids as made",
           s->max_v_before_pu);
    printf("  %-34s %.4f pu\n", "max voltage after curtailment",
           s->max_v_after_pu);
    printf("  %-34s %.4f .. %.4f pu\n", "feeder voltages over the day",
           s->min_v_feeder_pu, s->max_v_feeder_pu);
    printf("  %-34s %.1f kWh of %.1f kWh bid\n", "curtailed", s->curtailed_kwh,
           s->energy_bid_kwh);
    printf("  %-34s %.1f kWh (%s method)\n", "curtailed by the other method",
           s->curtailed_kwh_other,
           sc->dso_method == MK_DSO_SENSITIVITY ? "proportional"
                                                : "sensitivity");
    printf("  %-34s %.1f kWh cleared, %.1f kWh dispatched\n", "energy",
           s->energy_cleared_kwh, s->energy_dispatched_kwh);
    printf("  %-34s %llu (%llu invalid, %llu refused) in %llu blocks\n",
           "ledger transactions", (unsigned long long)s->ledger_tx,
           (unsigned long long)s->ledger_invalid,
           (unsigned long long)s->ledger_refused,
           (unsigned long long)s->ledger_blocks);
    printf("  %-34s p50 %.2f ms, p99 %.2f ms\n", "bid store (durable commit)",
           s->bid_store_ms_p50, s->bid_store_ms_p99);
    printf("  %-34s p50 %.3f ms, p99 %.3f ms\n",
           "bid retrieval (with checksum)", s->bid_retrieve_ms_p50,
           s->bid_retrieve_ms_p99);
    printf("  %-34s %d feeder, %d DSO\n", "power flows", s->feeder_solves,
           s->dso_solves);
    printf("  %-34s %.3f s\n", "run time", s->runtime_s);
    print_where(out, node);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Remove an earlier run: its ledger directory and the files a run writes,
 * nothing else that DIR may hold. */
static int clear_run(const char *out)
{
    static const char *const files[] = {
        "results.json", "voltages.csv", "bids.csv", "clearing.csv",
        "curtailment.csv", "report-data.json", "report.html",
        /* PETra's */
        "trades.csv", "withdrawals.csv", "dso-map.csv"};
    char path[PATH_MAX];
    for (size_t i = 0; i < BASE_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            return cmd_fail(1, "cannot remove %s", path);
        }
    }
    snprintf(path, sizeof path, "%s/ledger", out);
    struct stat st;
    if (stat(path, &st) == 0 &&
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        return cmd_fail(1, "cannot remove %s", path);
    }
    return 0;
}

/* A fresh run in @out: replace an earlier one (with @force), check the
 * off-chain store @offchain (NULL: the default), create the ledger whose
 * genesis names @orgs, open it, start ordering, open the store. @h gets the
 * node; stop_run() releases it. */
static int start_run(struct host *h, const char *out, bool force, bool quiet,
                     const char *offchain, const char *channel,
                     const struct app_org *orgs, size_t norgs,
                     unsigned block_tx, uint64_t batch_us)
{
    char path[PATH_MAX];
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "%s/ledger", out);
    h->ledger = h->dir;
    h->bar = !quiet && isatty(STDERR_FILENO);
    h->last = -1;
    snprintf(path, sizeof path, "%s/data.mdb", h->dir);
    struct stat st;
    int rv = 0;
    if (stat(path, &st) == 0) {
        rv = force ? clear_run(out)
                   : cmd_fail(1,
                              "%s already holds a run; pass --force to "
                              "replace it",
                              out);
    }
    if (rv == 0 && base_mkdirs(out, 0755) != 0) {
        rv = cmd_fail(1, "cannot create %s", out);
    }
    /* A store that cannot be opened stops the run before it starts. */
    if (rv == 0 && offchain != NULL) {
        rv = base_mkdirs(h->dir, 0700) != 0
                 ? cmd_fail(1, "cannot create %s", h->dir)
                 : app_offchain_check(h->dir, offchain);
    }
    rv = rv ? rv : app_ledger_create(h->dir, channel, orgs, norgs);
    if (rv == 0 && offchain != NULL) {
        rv = app_config_set(h->dir, "offchain", offchain);
    }
    rv = rv ? rv : app_node_open(&h->node, h->dir, channel, false);
    struct ord_options opt = {.max_block_tx = block_tx,
                              .batch_timeout = batch_us * 1000};
    rv = rv ? rv : app_node_start(&h->node, h->dir, &opt);
    rv = rv ? rv : app_offchain_open(h->dir, &h->off);
    return rv;
}

/* A fresh remote run in @o->out against the node @o->node: replace an
 * earlier run (with --force), open a client without identity to check the
 * node is there and serves @channel, and note its height. */
static int start_remote(struct host *h, const struct run_opts *o,
                        const char *channel)
{
    memset(h, 0, sizeof *h);
    h->ledger = o->keys;
    h->url = o->node;
    h->bar = !o->quiet && isatty(STDERR_FILENO);
    h->last = -1;
    h->hopt.ca_file = o->ca_file;
    h->hopt.insecure = o->insecure;
    h->hopt.stats = &h->hstats;
    if (o->offchain != NULL) {
        return cmd_fail(2, "--offchain is the node's setting with --node "
                           "('gridledger config DIR offchain SPEC' on the "
                           "node's ledger)");
    }
    char path[PATH_MAX], err[BASE_ERRMSG_SIZE], served[LG_NAME_MAX + 1];
    snprintf(path, sizeof path, "%s/keys", o->keys);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return cmd_fail(1,
                        "%s has no keys/ directory: --keys names the "
                        "directory 'gridledger init DIR --scenario "
                        "SCENARIO' made",
                        o->keys);
    }
    snprintf(path, sizeof path, "%s/results.json", o->out);
    int rv = 0;
    if (stat(path, &st) == 0) {
        rv = o->force ? clear_run(o->out)
                      : cmd_fail(1,
                                 "%s already holds a run; pass --force to "
                                 "replace it",
                                 o->out);
    }
    if (rv == 0 && base_mkdirs(o->out, 0755) != 0) {
        rv = cmd_fail(1, "cannot create %s", o->out);
    }
    if (rv == 0 &&
        mk_client_http(&h->reader, o->node, NULL, NULL, &h->hopt, err) != 0) {
        rv = cmd_fail(1, "%s", err);
    }
    rv = rv ? rv : remote_tip(h, &h->height0, served);
    if (rv == 0 && strcmp(served, channel) != 0) {
        rv = cmd_fail(1,
                      "the node serves channel '%s', the scenario runs on "
                      "'%s'",
                      served, channel);
    }
    return rv;
}

/* A market day registers its DERs: on a node whose ledger already holds
 * them (an earlier run) it could not, so say so before starting. */
static int check_fresh(struct host *h, const struct sim_scenario *sc)
{
    if (sc->nders == 0) {
        return 0;
    }
    char err[BASE_ERRMSG_SIZE];
    struct base_buf path, a;
    base_buf_init(&path, 0);
    base_buf_init(&a, 0);
    const char *id = sc->ders[0].der.id;
    int rv = base_buf_add_str(&path, "/v1/state/registry/");
    rv = rv ? rv : app_url_escape(&path, id, strlen(id));
    rv = rv ? rv : base_buf_terminate(&path);
    long status = 0;
    rv = rv ? base_errf(err, rv, "out of memory")
            : mk_http_request(h->reader, "GET", (const char *)path.data, NULL,
                              NULL, 0, &status, &a, err);
    base_buf_release(&path);
    base_buf_release(&a);
    if (rv != 0) {
        return cmd_fail(1, "%s", err);
    }
    if (status == 200) {
        return cmd_fail(1,
                        "the node's ledger already holds DER %s (an earlier "
                        "run?): a market day needs a fresh ledger "
                        "('gridledger init DIR --scenario %s', then "
                        "'gridledger node DIR')",
                        sc->ders[0].der.id, sc->path);
    }
    return 0;
}

static void stop_run(struct host *h)
{
    mk_client_close(h->reader);
    h->reader = NULL;
    if (h->node.ledger != NULL) {
        app_node_close(&h->node);
    }
    kv_offchain_close(h->off);
    h->off = NULL;
}

/* The consortium of a market day: the ISO, the DSO and each aggregator,
 * one operator each: the agents sign as them. @orgs has room for
 * 2 + SIM_MAX_DERAS; returns how many. */
static size_t market_orgs(const struct sim_scenario *sc, struct app_org *orgs)
{
    static const char *const op[] = {"operator", NULL};
    orgs[0] = (struct app_org){"ISO", "iso", op};
    orgs[1] = (struct app_org){"DSO", "dso", op};
    for (size_t i = 0; i < sc->nderas; i++) {
        orgs[2 + i] = (struct app_org){sc->deras[i], "dera", op};
    }
    return 2 + sc->nderas;
}

static int run_market(const char *scenario, const struct run_opts *o)
{
    const char *out = o->out;
    bool quiet = o->quiet;
    struct sim_scenario sc;
    char err[BASE_ERRMSG_SIZE];
    if (sim_scenario_load(&sc, scenario, err) != 0) {
        return cmd_fail(1, "%s", err);
    }
    struct app_org orgs[2 + SIM_MAX_DERAS];
    size_t norgs = market_orgs(&sc, orgs);
    struct host h;
    int rv;
    if (o->node != NULL) {
        rv = start_remote(&h, o, sc.channel);
        rv = rv ? rv : check_fresh(&h, &sc);
    } else {
        rv = start_run(&h, out, o->force, quiet, o->offchain, sc.channel, orgs,
                       norgs, sc.block_tx, sc.batch_us);
    }
    struct sim_day_summary sum;
    if (rv == 0) {
        struct sim_day_env env = {client, &h, progress, stats};
        if (!quiet) {
            fprintf(stderr, "running %s (%s) into %s\n", scenario, sc.name,
                    out);
        }
        if (sim_day_run(&sc, &env, out, &sum, err) != 0) {
            rv = cmd_fail(1, "%s", err);
        }
    }
    stop_run(&h);
    if (rv == 0 && !quiet) {
        print_summary(&sc, &sum, out, o->node);
    }
    sim_scenario_release(&sc);
    return rv;
}

/* ---- PETra (kind "petra", docs/petra.md) -------------------------------- */

static int petra_client(void *arg, const char *org, const char *name,
                        struct mk_client **out)
{
    return client(arg, org, name, NULL, out);
}

static int petra_anon(void *arg, const struct lg_cert *cert,
                      const struct cr_keypair *key, struct mk_client **out)
{
    return open_client(arg, cert, key, out);
}

static int petra_member(void *arg, const char *org, const char *name,
                        struct lg_cert *cert, struct cr_keypair *key)
{
    struct host *h = arg;
    char who[MK_ID_MAX];
    snprintf(who, sizeof who, "%s/%s", org, name);
    struct app_member m;
    if (app_member_load(&m, h->ledger, who) != 0) {
        return BASE_ENOTFOUND;
    }
    *cert = m.cert;
    *key = m.key;
    cr_wipe(&m.key, sizeof m.key);
    return 0;
}

static int petra_root(void *arg, const char *org, struct cr_keypair *key)
{
    struct host *h = arg;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys/%s/root.key", h->ledger, org);
    return app_key_read(path, key);
}

static void petra_progress(void *arg, int done, int total)
{
    bar(arg, "PETra", done, total);
}

static void print_petra(const struct sim_petra_scenario *sc,
                        const struct sim_petra_summary *s, const char *out,
                        const char *node)
{
    printf("\n%s\n", sc->name);
    printf("  %-34s %d x %d min, %d producers, %d consumers\n", "market",
           s->intervals, sc->interval_min, s->producers, s->consumers);
    printf("  %-34s %llu (%llu failed), %llu fresh addresses\n",
           "withdrawals (ZeroMQ, to the DSO)",
           (unsigned long long)s->withdrawals,
           (unsigned long long)s->failed_withdrawals,
           (unsigned long long)s->addresses);
    printf("  %-34s %llu offers, %llu trades, %llu rescinded\n", "trading",
           (unsigned long long)s->offers, (unsigned long long)s->trades,
           (unsigned long long)s->rescinded);
    printf("  %-34s %.2f kWh for %.2f (production %.1f kWh, load %.1f "
           "kWh)\n",
           "energy traded", s->traded_kwh, s->traded_value, s->production_kwh,
           s->load_kwh);
    printf("  %-34s mean %.2f ms, median %.2f ms, p90 %.2f ms\n",
           "clearing time (post to accept)", s->clear_mean, s->clear_median,
           s->clear_p90);
    printf("  %-34s min %.2f ms, max %.2f ms, variance %.2f ms^2\n", "",
           s->clear_min, s->clear_max, s->clear_var);
    printf("  %-34s %llu (%llu invalid, %llu refused) in %llu blocks\n",
           "ledger transactions", (unsigned long long)s->ledger_tx,
           (unsigned long long)s->ledger_invalid,
           (unsigned long long)s->ledger_refused,
           (unsigned long long)s->ledger_blocks);
    printf("  %-34s %.3f s\n", "run time", s->runtime_s);
    print_where(out, node);
}

/* PETra's consortium. The DSO signs withdrawals; ANON certifies anonymous
 * addresses (its root key is the DSO's); PROSUMERS certifies the real
 * identities, which sign withdrawal requests off chain and never a
 * transaction. @people has room for SIM_PETRA_MAX_PROSUMERS + 1. */
static size_t petra_orgs(const struct sim_petra_scenario *sc,
                         const char **people, struct app_org *orgs)
{
    static const char *const op[] = {"operator", NULL};
    for (size_t i = 0; i < sc->nprosumers; i++) {
        people[i] = sc->prosumers[i].name;
    }
    people[sc->nprosumers] = NULL;
    orgs[0] = (struct app_org){"DSO", "dso", op};
    orgs[1] = (struct app_org){MK_PETRA_ANON_ORG, "anon", NULL};
    orgs[2] = (struct app_org){MK_PETRA_PEOPLE_ORG, "prosumer", people};
    return 3;
}

/* PETra's scenario from @path into *@out (the caller frees it with
 * base_free); 0, or 1 once the reason is printed. */
static int petra_scenario_load(const char *path,
                               struct sim_petra_scenario **out)
{
    /* Large: a day of forecasts for every prosumer. */
    struct sim_petra_scenario *sc = base_calloc(1, sizeof *sc);
    char err[BASE_ERRMSG_SIZE];
    if (sc == NULL) {
        return cmd_fail(1, "out of memory");
    }
    if (sim_petra_load(sc, path, err) != 0) {
        base_free(sc);
        return cmd_fail(1, "%s", err);
    }
    *out = sc;
    return 0;
}

static int run_petra(const char *scenario, const struct run_opts *o)
{
    const char *out = o->out;
    bool quiet = o->quiet;
    struct sim_petra_scenario *sc;
    char err[BASE_ERRMSG_SIZE];
    if (petra_scenario_load(scenario, &sc) != 0) {
        return 1;
    }
    const char *people[SIM_PETRA_MAX_PROSUMERS + 1];
    struct app_org orgs[3];
    size_t norgs = petra_orgs(sc, people, orgs);
    struct host h;
    int rv = o->node != NULL
                 ? start_remote(&h, o, sc->channel)
                 : start_run(&h, out, o->force, quiet, o->offchain, sc->channel,
                             orgs, norgs, sc->block_tx, sc->batch_us);
    struct sim_petra_summary sum;
    if (rv == 0) {
        struct sim_petra_env env = {&h,           petra_client, petra_anon,
                                    petra_member, petra_root,   petra_progress,
                                    stats};
        if (!quiet) {
            fprintf(stderr, "running %s (%s) into %s\n", scenario, sc->name,
                    out);
        }
        if (sim_petra_run(sc, &env, out, &sum, err) != 0) {
            rv = cmd_fail(1, "%s", err);
        }
    }
    stop_run(&h);
    if (rv == 0 && !quiet) {
        print_petra(sc, &sum, out, o->node);
    }
    base_free(sc);
    return rv;
}

/* out/<file name without .json> */
static void default_out(const char *scenario, char *out, size_t size)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0) {
        n -= 5;
    }
    snprintf(out, size, "out/%.*s", (int)n, base);
}

static int dispatch(const char *scenario, struct run_opts *o)
{
    char kind[64], err[BASE_ERRMSG_SIZE], dflt[PATH_MAX];
    if (sim_scenario_kind(scenario, kind, sizeof kind, err) != 0) {
        return cmd_fail(1, "%s", err);
    }
    if (o->out == NULL) {
        default_out(scenario, dflt, sizeof dflt);
        o->out = dflt;
    }
    if (strcmp(kind, "der-market") == 0) {
        return run_market(scenario, o);
    }
    if (strcmp(kind, "petra") == 0) {
        return run_petra(scenario, o);
    }
    return cmd_fail(1,
                    "%s: unknown scenario kind '%s' (known: der-market, "
                    "petra)",
                    scenario, kind);
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o = {0};
    o.out = app_take_opt(&argc, argv, "--out");
    o.force = app_take_flag(&argc, argv, "--force");
    o.quiet = app_take_flag(&argc, argv, "--quiet");
    o.offchain = app_take_opt(&argc, argv, "--offchain");
    o.node = app_take_opt(&argc, argv, "--node");
    o.keys = app_take_opt(&argc, argv, "--keys");
    o.ca_file = app_take_opt(&argc, argv, "--ca-file");
    o.insecure = app_take_flag(&argc, argv, "--insecure");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    if (o.node != NULL && o.keys == NULL) {
        return cmd_fail(2, "--node needs --keys DIR: the directory "
                           "'gridledger init DIR --scenario SCENARIO' made "
                           "(its keys/ sign the agents' transactions)");
    }
    if (o.node == NULL && (o.keys || o.ca_file || o.insecure)) {
        return cmd_fail(2, "--keys, --ca-file and --insecure go with --node");
    }
    return dispatch(argv[1], &o);
}

int cmd_demo(int argc, char **argv)
{
    struct run_opts o = {0};
    o.out = app_take_opt(&argc, argv, "--out");
    o.quiet = app_take_flag(&argc, argv, "--quiet");
    o.force = true;
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(demo_usage, stdout);
        return 0;
    }
    if (argc != 1) {
        fputs(demo_usage, stderr);
        return 2;
    }
    o.out = o.out ? o.out : DEMO_OUT;
    return dispatch(DEMO_SCENARIO, &o);
}

/* ---- gridledger init DIR --scenario SCENARIO ----------------------------- */

int cmd_run_ledger_create(const char *scenario, const char *dir, char *channel)
{
    char kind[64], err[BASE_ERRMSG_SIZE];
    if (sim_scenario_kind(scenario, kind, sizeof kind, err) != 0) {
        return cmd_fail(1, "%s", err);
    }
    int rv;
    if (strcmp(kind, "der-market") == 0) {
        struct sim_scenario sc;
        if (sim_scenario_load(&sc, scenario, err) != 0) {
            return cmd_fail(1, "%s", err);
        }
        struct app_org orgs[2 + SIM_MAX_DERAS];
        size_t n = market_orgs(&sc, orgs);
        snprintf(channel, LG_NAME_MAX + 1, "%s", sc.channel);
        rv = app_ledger_create(dir, sc.channel, orgs, n);
        sim_scenario_release(&sc);
        return rv;
    }
    if (strcmp(kind, "petra") == 0) {
        struct sim_petra_scenario *sc;
        if (petra_scenario_load(scenario, &sc) != 0) {
            return 1;
        }
        const char *people[SIM_PETRA_MAX_PROSUMERS + 1];
        struct app_org orgs[3];
        size_t n = petra_orgs(sc, people, orgs);
        snprintf(channel, LG_NAME_MAX + 1, "%s", sc->channel);
        rv = app_ledger_create(dir, sc->channel, orgs, n);
        base_free(sc);
        return rv;
    }
    return cmd_fail(1,
                    "%s: unknown scenario kind '%s' (known: der-market, "
                    "petra)",
                    scenario, kind);
}
