/* SPDX-License-Identifier: MIT */
/* Tests of sim: the co-simulation kernel, scenario checks, and the DER
 * market day end to end through `gridledger run`, checked from its
 * outputs, its ledger and its off-chain store. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgserver.h"
#include "sim/sim.h"
#include "testlib.h"

/* ---- kernel
 * ------------------------------------------------------------------ */

struct probe {
    int id, peer;
    char log[512];
    int sends;
};

static int probe_step(void *self, struct sim *s, int64_t t)
{
    struct probe *p = self;
    char e[32];
    snprintf(e, sizeof e, "S%lld ", (long long)t);
    strcat(p->log, e);
    if (p->peer >= 0 && p->sends < 2) {
        p->sends++;
        /* Two messages for the same time keep their send order. */
        assert_int_equal(sim_send(s, p->id, p->peer, t + 5, "one", "1", 1), 0);
        assert_int_equal(sim_send(s, p->id, p->peer, t + 5, "two", "2", 1), 0);
        /* Causality: nothing for now or the past. */
        assert_int_equal(sim_send(s, p->id, p->peer, t, "late", NULL, 0),
                         BASE_EINVAL);
        assert_int_equal(sim_send(s, p->id, 99, t + 1, "x", NULL, 0),
                         BASE_EINVAL);
    }
    return 0;
}

static int probe_deliver(void *self, struct sim *s, const struct sim_msg *m)
{
    (void)s;
    struct probe *p = self;
    char e[48];
    snprintf(e, sizeof e, "M%lld:%s ", (long long)m->t, m->topic);
    strcat(p->log, e);
    return 0;
}

static void test_kernel(void **state)
{
    (void)state;
    struct sim *s;
    assert_int_equal(sim_new(&s), 0);
    struct probe a = {.peer = -1}, b = {.peer = -1};
    struct sim_federate_ops ops = {probe_step, probe_deliver};
    assert_int_equal(sim_join(s, "a", 10, -10, &ops, &a, &a.id), 0);
    assert_int_equal(sim_join(s, "b", 0, 0, &ops, &b, &b.id), 0);
    assert_int_equal(sim_join(s, "bad", -1, 0, &ops, &b, &b.id), BASE_EINVAL);
    a.peer = b.id;
    assert_int_equal(sim_run(s, 20, NULL, NULL), 0);
    /* a steps at -10, 0, 10, 20; b (messages only) wakes at -5 and 5. */
    assert_string_equal(a.log, "S-10 S0 S10 S20 ");
    assert_string_equal(b.log, "M-5:one M-5:two M5:one M5:two ");
    uint64_t steps, msgs;
    sim_counts(s, &steps, &msgs);
    assert_int_equal(steps, 4);
    assert_int_equal(msgs, 4);
    sim_free(s);
}

/* ---- scenarios -------------------------------------------------------------
 */

static int load_text(const char *dir, const char *text, char *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/s.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct sim_scenario sc;
    int rv = sim_scenario_load(&sc, path, err);
    if (rv == 0) {
        sim_scenario_release(&sc);
    }
    return rv;
}

#define BASE_SC                                                                \
    "\"feeder\":\"f.dss\",\"market\":{\"price_forecast\":[1,1,1,1,1,1,1,1,1,"  \
    "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}"

static void test_scenario_errors(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir, "scenario");
    struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {"{", BASE_EPARSE, "s.json:"},
        {"[]", BASE_EINVAL, "JSON object"},
        {"{\"deras\":[\"D\"],\"ders\":[]}", BASE_EINVAL, "feeder"},
        {"{" BASE_SC "}", BASE_EINVAL, "deras"},
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":"
         "\"X\",\"bus\":\"1\",\"kw\":1}]}",
         BASE_EINVAL, "'X' is not one of"},
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":"
         "\"D\",\"bus\":\"1\",\"kw\":-1}]}",
         BASE_EINVAL, "ders[0].kw"},
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":"
         "\"D\",\"bus\":\"1\",\"kw\":1},{\"id\":\"p\",\"dera\":\"D\",\"bus\":"
         "\"1\",\"kw\":1}]}",
         BASE_EINVAL, "repeats"},
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":"
         "\"D\",\"bus\":\"1\",\"kw\":1}],\"dso\":{\"method\":\"magic\"}}",
         BASE_EINVAL, "dso.method"},
        {"{\"feeder\":\"f\",\"market\":{\"price_forecast\":[1]}}", BASE_EINVAL,
         "24 hourly"},
        /* Identifiers the contracts compare are canonical (issue 15). */
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"PV1\",\"dera\":"
         "\"D\",\"bus\":\"1\",\"kw\":1}]}",
         BASE_EINVAL, "ders[0].id 'PV1' is not canonical"},
        {"{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":"
         "\"D\",\"bus\":\"1 \",\"kw\":1}]}",
         BASE_EINVAL, "ders[0].bus"},
        {"{" BASE_SC ",\"deras\":[\"D\",\"d\"],\"ders\":[{\"id\":\"p\","
         "\"dera\":\"D\",\"bus\":\"1\",\"kw\":1}]}",
         BASE_EINVAL, "repeated organisation"},
        {"{\"feeder\":\"f.dss\",\"market\":{\"name\":\"RT\",\"price_"
         "forecast\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]},"
         "\"deras\":[\"D\"],\"ders\":[{\"id\":\"p\",\"dera\":\"D\","
         "\"bus\":\"1\",\"kw\":1}]}",
         BASE_EINVAL, "market.name 'RT'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_int_equal(load_text(dir, cases[i].text, err), cases[i].code);
        if (strstr(err, cases[i].msg) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
        }
    }
    assert_int_equal(load_text(dir,
                               "{" BASE_SC ",\"deras\":[\"D\"],\"ders\":[{"
                               "\"id\":\"p\",\"dera\":\"D\",\"bus\":\"1\","
                               "\"kw\":1}]}",
                               err),
                     0);
    struct sim_scenario sc;
    assert_int_equal(sim_scenario_load(&sc, "/nonexistent.json", err),
                     BASE_ENOTFOUND);
    tl_rmrf(dir);
}

/* ---- the market day, end to end ---------------------------------------------
 */

struct run {
    char dir[PATH_MAX];
    char out[PATH_MAX];
};

/* `gridledger run SCENARIO` with @extra options. */
static void run_scenario_with(struct run *r, const char *scenario,
                              const char *tag, const char *extra)
{
    tl_tmpdir(r->dir, tag);
    snprintf(r->out, sizeof r->out, "%s/out", r->dir);
    char sc[PATH_MAX], msg[4096];
    tl_source_path(sc, scenario);
    int st = tl_run(msg, sizeof msg, "%s run %s --out %s --quiet %s 2>&1",
                    tl_binary(), sc, r->out, extra);
    if (st != 0) {
        fail_msg("run %s: %d: %s", scenario, st, msg);
    }
}

static void run_scenario(struct run *r, const char *scenario, const char *tag)
{
    run_scenario_with(r, scenario, tag, "");
}

/* Rows of a CSV file under the run, header skipped. */
static size_t csv_rows(const struct run *r, const char *name, char ***rows)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->out, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0, cap = 0;
    char line[512];
    *rows = NULL;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            *rows = realloc(*rows, cap * sizeof **rows);
        }
        line[strcspn(line, "\n")] = '\0';
        (*rows)[n++] = strdup(line);
    }
    fclose(f);
    return n;
}

static void free_rows(char **rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i]);
    }
    free(rows);
}

static void check_voltages(const struct run *r)
{
    char **rows;
    size_t n = csv_rows(r, "voltages.csv", &rows);
    assert_true(n >= 1440 * 30);
    for (size_t i = 0; i < n; i++) {
        long t;
        char bus[64], ph;
        double v;
        assert_int_equal(
            sscanf(rows[i], "%ld,%63[^,],%c,%lf", &t, bus, &ph, &v), 4);
        if (strcmp(bus, "sourcebus") == 0 || strcmp(bus, "650") == 0) {
            continue; /* the scenario leaves the substation unmonitored */
        }
        if (v < 0.95 || v > 1.05) {
            fail_msg("%s: %.5f pu outside [0.95, 1.05]", rows[i], v);
        }
    }
    free_rows(rows, n);
}

static void check_curtailment(const struct run *r)
{
    char **rows;
    size_t n = csv_rows(r, "curtailment.csv", &rows);
    assert_int_equal(n, 96);
    double midday = 0, night = 0;
    for (size_t i = 0; i < n; i++) {
        int k;
        double before = 0, after = 0, cut = 0;
        /* Intervals without a bid have empty voltage fields. */
        if (sscanf(rows[i], "%d,%lf,%lf,%lf", &k, &before, &after, &cut) == 4) {
            assert_true(after <= 1.05 + 1e-9);
            assert_true(after <= before + 1e-9);
            if (cut > 0) {
                assert_true(before > 1.05);
            }
        } else {
            assert_int_equal(sscanf(rows[i], "%d,,,%lf", &k, &cut), 2);
        }
        if (k >= 44 && k < 56) {
            midday += cut;
        }
        if (k < 24 || k >= 80) {
            night += cut;
        }
    }
    assert_true(midday > 100.0); /* kW over the 11:00-14:00 intervals */
    assert_true(night == 0.0);
    free_rows(rows, n);
}

static void check_awards(const struct run *r)
{
    double cleared[96] = {0}, awarded[96] = {0};
    char **rows;
    size_t n = csv_rows(r, "clearing.csv", &rows);
    assert_int_equal(n, 96);
    for (size_t i = 0; i < n; i++) {
        int k;
        double price;
        assert_int_equal(sscanf(rows[i], "%d,%lf,%lf", &k, &price, &cleared[i]),
                         3);
    }
    free_rows(rows, n);
    n = csv_rows(r, "bids.csv", &rows);
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++) {
        int k;
        char der[64];
        double bid, price, feas, award;
        assert_int_equal(sscanf(rows[i], "%d,%63[^,],%lf,%lf,%lf,%lf", &k, der,
                                &bid, &price, &feas, &award),
                         6);
        assert_true(k >= 0 && k < 96);
        /* No DER dispatched above its feasible quantity, nor feasible above
         * the bid. */
        assert_true(award <= feas + 1e-6);
        assert_true(feas <= bid + 1e-6);
        awarded[k] += award;
    }
    free_rows(rows, n);
    for (int k = 0; k < 96; k++) {
        if (fabs(awarded[k] - cleared[k]) > 0.01) {
            fail_msg("interval %d: awards %.3f kW, cleared %.3f kW", k,
                     awarded[k], cleared[k]);
        }
    }
}

static void check_results(const struct run *r, int deras)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/results.json", r->out);
    json_t *o = json_load_file(path, 0, NULL);
    assert_non_null(o);
    json_t *s = json_object_get(o, "summary");
    json_t *l = json_object_get(o, "ledger");
    assert_int_equal(json_integer_value(json_object_get(s, "intervals")), 96);
    assert_int_equal(json_integer_value(json_object_get(s, "deras")), deras);
    assert_true(json_real_value(json_object_get(s, "max_v_before_pu")) > 1.05);
    assert_true(json_real_value(json_object_get(s, "max_v_after_pu")) <= 1.05);
    assert_true(json_real_value(json_object_get(s, "curtailed_kwh")) > 0);
    assert_true(json_integer_value(json_object_get(l, "transactions")) > 96);
    assert_int_equal(json_integer_value(json_object_get(l, "invalid")), 0);
    assert_int_equal(json_integer_value(json_object_get(l, "tampered")), 0);
    json_decref(o);
    snprintf(path, sizeof path, "%s/report.html", r->out);
    char *html;
    size_t len;
    assert_int_equal(base_read_file(path, 1 << 26, &html, &len), 0);
    assert_non_null(memmem(html, len, "gl-data", 7));
    assert_non_null(memmem(html, len, "max_v_before_pu", 15));
    base_free(html);
    char msg[4096];
    int st = tl_run(msg, sizeof msg, "%s verify %s/ledger 2>&1", tl_binary(),
                    r->out);
    if (st != 0) {
        fail_msg("verify: %s", msg);
    }
}

/* A member's key and certificate from the run's key files. */
static void load_member(const struct run *r, const char *who,
                        struct lg_cert *cert, struct cr_keypair *key)
{
    char path[PATH_MAX];
    char *p;
    size_t len;
    uint8_t seed[32];
    snprintf(path, sizeof path, "%s/ledger/keys/%s.key", r->out, who);
    assert_int_equal(base_read_file(path, 4096, &p, &len), 0);
    char hex[65];
    memcpy(hex, p, 64);
    hex[64] = '\0';
    base_free(p);
    assert_int_equal(base_hex_decode(seed, 32, hex), 0);
    cr_keygen_seed(key, seed);
    snprintf(path, sizeof path, "%s/ledger/keys/%s.cert", r->out, who);
    assert_int_equal(base_read_file(path, 8192, &p, &len), 0);
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }
    uint8_t der[2048];
    char *h = strndup(p, len);
    assert_int_equal(base_hex_decode(der, len / 2, h), 0);
    free(h);
    base_free(p);
    struct base_rd rd;
    base_rd_init(&rd, der, len / 2);
    assert_int_equal(lg_cert_decode(cert, &rd), 0);
}

struct sums {
    char (*hash)[65];
    char (*uid)[65];
    size_t n, cap;
};

static int collect_bid(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct sums *s = arg;
    if (key.len < 4 || memcmp(key.p, "bid/", 4) != 0) {
        return 0;
    }
    json_t *o = json_loadb((const char *)val.p, val.len, 0, NULL);
    assert_non_null(o);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->hash = realloc(s->hash, s->cap * sizeof *s->hash);
        s->uid = realloc(s->uid, s->cap * sizeof *s->uid);
    }
    snprintf(s->hash[s->n], 65, "%s",
             json_string_value(json_object_get(o, "checksum")));
    snprintf(s->uid[s->n++], 65, "%s",
             json_string_value(json_object_get(o, "uid")));
    json_decref(o);
    return 0;
}

/* Every bid's off-chain record matches its on-chain checksum; then one
 * record is changed in the store behind the ledger's back, and retrieval
 * reports it instead of serving it. The store is the run's SQLite file,
 * or the PostgreSQL database @pg when the run put its records there. */
/* A run's ledger, opened with the built-in contracts (the registry and
 * executor live here, as long as the ledger is open). */
struct run_ledger {
    struct sc_registry reg;
    struct lg_executor ex;
    struct lg_ledger *l;
    struct lg_channel *ch;
};

static void open_run_ledger(const struct run *r, struct run_ledger *o)
{
    char ldir[PATH_MAX], err[BASE_ERRMSG_SIZE];
    snprintf(ldir, sizeof ldir, "%s/ledger", r->out);
    sc_registry_init(&o->reg);
    assert_int_equal(sc_register_builtin(&o->reg), 0);
    o->ex = sc_executor(&o->reg);
    assert_int_equal(lg_open(&o->l, ldir, &o->ex, NULL, err), 0);
    assert_int_equal(lg_channel_get(o->l, "energy", &o->ch), 0);
}

static void check_offchain(const struct run *r, struct tl_pg *pg)
{
    char db[PATH_MAX], err[BASE_ERRMSG_SIZE];
    snprintf(db, sizeof db, "%s/ledger/offchain.sqlite", r->out);
    struct run_ledger rl;
    open_run_ledger(r, &rl);
    struct lg_ledger *l = rl.l;
    struct lg_channel *ch = rl.ch;
    struct sums s = {0};
    assert_int_equal(
        lg_range(ch, "bids", "bid/", 4, "bid0", 4, 0, collect_bid, &s), 0);
    assert_true(s.n > 40);
    struct kv_offchain *off;
    assert_int_equal(kv_offchain_open_uri(&off, pg ? pg->uri : db, NULL, err),
                     0);
    struct base_buf raw;
    base_buf_init(&raw, 0);
    for (size_t i = 0; i < s.n; i++) {
        struct cr_hash h;
        assert_int_equal(base_hex_decode(h.b, 32, s.hash[i]), 0);
        base_buf_reset(&raw);
        assert_int_equal(kv_offchain_get(off, &h, &raw), 0);
        char got[65];
        sc_record_hash(got, raw.data, raw.len);
        assert_string_equal(got, s.hash[i]);
    }
    base_buf_release(&raw);

    /* Tamper with the first bid's current record. */
    if (pg != NULL) {
        char sql[512], out[256];
        snprintf(sql, sizeof sql,
                 "WITH u AS (UPDATE offchain_records SET data = convert_to("
                 "replace(convert_from(data, 'UTF8'), '\"kw\":', '\"kw\":9'),"
                 " 'UTF8') WHERE hash = decode('%s', 'hex') RETURNING 1) "
                 "SELECT count(*) FROM u",
                 s.hash[0]);
        assert_int_equal(tl_pg_sql(pg, "gridledger", out, sizeof out, sql), 0);
        assert_string_equal(out, "1\n");
    } else {
        sqlite3 *q;
        assert_int_equal(sqlite3_open(db, &q), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(
            sqlite3_prepare_v2(q,
                               "UPDATE records SET data = "
                               "replace(data, '\"kw\":', '\"kw\":9') "
                               "WHERE hash = ?",
                               -1, &st, NULL),
            SQLITE_OK);
        struct cr_hash h;
        assert_int_equal(base_hex_decode(h.b, 32, s.hash[0]), 0);
        sqlite3_bind_blob(st, 1, h.b, 32, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        assert_int_equal(sqlite3_changes(q), 1);
        sqlite3_finalize(st);
        sqlite3_close(q);
    }

    struct lg_cert cert;
    struct cr_keypair key;
    load_member(r, "DSO/operator", &cert, &key);
    struct mk_client *c;
    assert_int_equal(mk_client_local(&c, ch, NULL, off, &cert, &key), 0);
    struct mk_bid_view v;
    assert_int_equal(mk_bid_retrieve(c, s.uid[0], &v), 0);
    assert_false(v.intact);
    assert_int_equal(v.bid.n, 0); /* never decoded, never served */
    assert_string_equal(v.checksum, s.hash[0]);
    assert_string_not_equal(v.computed, s.hash[0]);
    assert_non_null(strstr(v.reason, "tampered"));
    mk_bid_view_release(&v);
    /* An untouched bid still retrieves intact. */
    assert_int_equal(mk_bid_retrieve(c, s.uid[s.n - 1], &v), 0);
    assert_true(v.intact);
    assert_true(v.bid.n > 0);
    mk_bid_view_release(&v);
    /* A competitor may not read the bid at all. */
    mk_client_close(c);
    kv_offchain_close(off);
    lg_close(l);
    free(s.hash);
    free(s.uid);
}

/* The DSO's review of every interval with bids is on chain
 * (review/rt/K) and says what curtailment.csv says; intervals without bids
 * have none. */
static void check_reviews(const struct run *r)
{
    struct run_ledger rl;
    open_run_ledger(r, &rl);
    struct lg_channel *ch = rl.ch;
    char **rows;
    size_t n = csv_rows(r, "curtailment.csv", &rows);
    size_t reviewed = 0;
    struct base_buf v;
    base_buf_init(&v, 0);
    for (size_t i = 0; i < n; i++) {
        int k;
        double before, after, cut;
        bool has =
            sscanf(rows[i], "%d,%lf,%lf,%lf", &k, &before, &after, &cut) == 4;
        if (!has) {
            assert_int_equal(sscanf(rows[i], "%d,", &k), 1);
        }
        char key[64];
        snprintf(key, sizeof key, "review/rt/%d", k);
        base_buf_reset(&v);
        int rv = lg_get(ch, "bids", key, strlen(key), &v, NULL);
        if (!has) {
            assert_int_equal(rv, BASE_ENOTFOUND);
            continue;
        }
        assert_int_equal(rv, 0);
        json_t *o = json_loadb((const char *)v.data, v.len, 0, NULL);
        assert_non_null(o);
        assert_true(
            fabs(json_number_value(json_object_get(o, "vmax_before_pu")) -
                 before) < 1e-5);
        assert_true(
            fabs(json_number_value(json_object_get(o, "vmax_after_pu")) -
                 after) < 1e-5);
        assert_true(fabs(json_number_value(json_object_get(o, "curtailed_kw")) -
                         cut) < 1e-3);
        assert_string_equal(json_string_value(json_object_get(o, "method")),
                            "proportional");
        json_decref(o);
        reviewed++;
    }
    assert_true(reviewed > 40);
    base_buf_release(&v);
    free_rows(rows, n);
    lg_close(rl.l);
}

static void test_market_day(void **state)
{
    (void)state;
    struct run r;
    run_scenario(&r, "scenarios/ieee13-der-market.json", "day");
    check_voltages(&r);
    check_curtailment(&r);
    check_awards(&r);
    check_results(&r, 1);
    check_offchain(&r, NULL);
    check_reviews(&r);

    /* Same scenario, same results: the co-simulation is deterministic, and
     * the off-chain store's backend changes nothing. The second run keeps
     * its bid records in a real PostgreSQL server. */
    struct tl_pg pg;
    tl_pg_start(&pg);
    struct run r2;
    char opt[600];
    snprintf(opt, sizeof opt, "--offchain '%s'", pg.uri);
    run_scenario_with(&r2, "scenarios/ieee13-der-market.json", "day2", opt);
    const char *files[] = {"bids.csv", "clearing.csv", "curtailment.csv",
                           "voltages.csv"};
    for (size_t i = 0; i < 4; i++) {
        char msg[256];
        assert_int_equal(tl_run(msg, sizeof msg, "cmp -s %s/%s %s/%s", r.out,
                                files[i], r2.out, files[i]),
                         0);
    }
    char msg2[1024];
    assert_int_equal(tl_pg_sql(&pg, "gridledger", msg2, sizeof msg2,
                               "SELECT count(*) FROM offchain_records"),
                     0);
    assert_true(atoi(msg2) > 40);
    /* The run's ledger names its store; nothing went to a SQLite file. */
    assert_int_equal(tl_run(msg2, sizeof msg2, "%s config %s/ledger offchain",
                            tl_binary(), r2.out),
                     0);
    assert_non_null(strstr(msg2, "postgresql://gridledger:***@127.0.0.1:"));
    assert_null(strstr(msg2, pg.password));
    assert_int_equal(
        tl_run(NULL, 0, "test -e %s/ledger/offchain.sqlite", r2.out), 1);
    check_offchain(&r2, &pg);
    tl_pg_stop(&pg);
    /* A second run into the same directory needs --force. */
    char sc[PATH_MAX], msg[4096];
    tl_source_path(sc, "scenarios/ieee13-der-market.json");
    assert_int_equal(tl_run(msg, sizeof msg, "%s run %s --out %s --quiet 2>&1",
                            tl_binary(), sc, r.out),
                     1);
    assert_non_null(strstr(msg, "--force"));
    tl_rmrf(r.dir);
    tl_rmrf(r2.dir);
}

static void test_two_deras(void **state)
{
    (void)state;
    struct run r;
    run_scenario(&r, "scenarios/ieee13-two-deras.json", "two");
    check_voltages(&r);
    check_awards(&r);
    check_results(&r, 2);
    char **rows;
    size_t n = csv_rows(&r, "bids.csv", &rows);
    bool a = false, b = false;
    for (size_t i = 0; i < n; i++) {
        a |= strstr(rows[i], ",pv675,") != NULL; /* DERA1's */
        b |= strstr(rows[i], ",pv680,") != NULL; /* DERA2's */
        /* The DSO refused pv646: its DERA never bids it. */
        assert_null(strstr(rows[i], ",pv646,"));
        /* pv645 is qualified for 150 kW: nothing above reaches a bid. */
        if (strstr(rows[i], ",pv645,") != NULL) {
            double kw;
            assert_int_equal(sscanf(strstr(rows[i], ",pv645,") + 7, "%lf", &kw),
                             1);
            assert_true(kw <= 150.0 + 1e-9);
        }
    }
    assert_true(a && b);
    free_rows(rows, n);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/results.json", r.out);
    json_t *o = json_load_file(path, 0, NULL);
    assert_non_null(o);
    /* The DERA refused the entries of both (pv645 forecasts up to 300 kW). */
    assert_true(json_integer_value(json_object_get(json_object_get(o, "ledger"),
                                                   "refused_entries")) > 10);
    json_decref(o);
    tl_rmrf(r.dir);
}

static void test_cli_errors(void **state)
{
    (void)state;
    char msg[4096];
    assert_int_equal(
        tl_run(msg, sizeof msg, "%s run /nonexistent.json 2>&1", tl_binary()),
        1);
    assert_non_null(strstr(msg, "/nonexistent.json"));
    assert_int_equal(tl_run(msg, sizeof msg, "%s run 2>&1", tl_binary()), 2);
    assert_int_equal(tl_run(msg, sizeof msg, "%s run --help", tl_binary()), 0);
    assert_non_null(strstr(msg, "curtailment.csv"));
    assert_int_equal(tl_run(msg, sizeof msg, "%s demo --help", tl_binary()), 0);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel),
        cmocka_unit_test(test_scenario_errors),
        cmocka_unit_test(test_market_day),
        cmocka_unit_test(test_two_deras),
        cmocka_unit_test(test_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
