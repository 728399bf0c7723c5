/* SPDX-License-Identifier: MIT */
/* PETra end to end: scenario checks, then scenarios/petra-microgrid.json
 * through `gridledger run`, checked from its outputs and its ledger, with
 * the privacy test: no transaction carries a prosumer's real identity, and
 * nothing on chain links two anonymous addresses of one prosumer. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "testlib.h"

static int load_text(const char *dir, const char *text, char *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct sim_petra_scenario *sc = calloc(1, sizeof *sc);
    int rv = sim_petra_load(sc, path, err);
    free(sc);
    return rv;
}

#define KW2 "\"kw\":[1,2]"

static void test_scenario_errors(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir, "petra-sc");
    struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {"{", BASE_EPARSE, "p.json:"},
        {"{\"intervals\":2}", BASE_EINVAL, "prosumers must be"},
        {"{\"intervals\":2,\"prosumers\":[{\"name\":\"a\",\"role\":"
         "\"seller\"," KW2 "}]}",
         BASE_EINVAL, "prosumers[0].role"},
        {"{\"intervals\":2,\"prosumers\":[{\"name\":\"A b\",\"role\":"
         "\"producer\"," KW2 "}]}",
         BASE_EINVAL, "prosumers[0].name"},
        {"{\"intervals\":3,\"prosumers\":[{\"name\":\"a\",\"role\":"
         "\"producer\"," KW2 "}]}",
         BASE_EINVAL, "one value per interval (3)"},
        {"{\"intervals\":2,\"prosumers\":[{\"name\":\"a\",\"role\":"
         "\"producer\",\"kw\":[1,-2]}]}",
         BASE_EINVAL, "prosumers[0].kw[1]"},
        {"{\"intervals\":2,\"prosumers\":[{\"name\":\"a\",\"role\":"
         "\"producer\"," KW2 "},{\"name\":\"a\",\"role\":\"consumer\"," KW2
         "}]}",
         BASE_EINVAL, "repeats 'a'"},
        {"{\"intervals\":2,\"start\":\"14:10\"}", BASE_EINVAL,
         "begin an interval"},
        {"{\"intervals\":2,\"start\":\"25:00\"}", BASE_EINVAL, "HH:MM"},
        {"{\"intervals\":2,\"interval_min\":5}", BASE_EINVAL,
         "interval_min must be 15"},
        {"{\"intervals\":2,\"start\":\"23:45\"}", BASE_EINVAL,
         "end within the day"},
        {"{\"intervals\":2,\"feeder\":{\"export_kw\":-1}}", BASE_EINVAL,
         "feeder.export_kw"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rv = load_text(dir, cases[i].text, err);
        if (rv != cases[i].code || strstr(err, cases[i].msg) == NULL) {
            fail_msg("case %zu: %d '%s', want %d '%s'", i, rv, err,
                     cases[i].code, cases[i].msg);
        }
    }
    assert_int_equal(load_text(dir,
                               "{\"intervals\":2,\"prosumers\":[{\"name\":"
                               "\"a\",\"role\":\"producer\"," KW2 "}]}",
                               err),
                     0);
    tl_rmrf(dir);
}

/* ---- the run ------------------------------------------------------------- */

struct run {
    char dir[PATH_MAX], out[PATH_MAX];
    json_t *results;
};

static struct run R;

static int run_setup(void **state)
{
    (void)state;
    tl_tmpdir(R.dir, "petra-run");
    snprintf(R.out, sizeof R.out, "%s/out", R.dir);
    char src[PATH_MAX], log[8192];
    tl_source_path(src, "scenarios/petra-microgrid.json");
    int st = tl_run(log, sizeof log, "'%s' run '%s' --out '%s' --quiet 2>&1",
                    tl_binary(), src, R.out);
    if (st != 0) {
        fprintf(stderr, "%s\n", log);
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/results.json", R.out);
    R.results = json_load_file(path, 0, NULL);
    return R.results ? 0 : -1;
}

static int run_teardown(void **state)
{
    (void)state;
    json_decref(R.results);
    tl_rmrf(R.dir);
    return 0;
}

static double num(json_t *o, const char *a, const char *b)
{
    return json_number_value(json_object_get(json_object_get(o, a), b));
}

static size_t lines(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", R.out, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

static void test_run_outputs(void **state)
{
    (void)state;
    json_t *r = R.results;
    double trades = num(r, "summary", "trades");
    assert_true(trades >= 50);
    assert_int_equal(num(r, "summary", "producers"), 2);
    assert_int_equal(num(r, "summary", "consumers"), 7);
    assert_int_equal(num(r, "summary", "intervals"), 14);
    /* One withdrawal per prosumer and interval with a forecast; the DSO
     * refuses some (feeder limits, funds) and every success is an address. */
    double w = num(r, "summary", "withdrawals");
    double f = num(r, "summary", "failed_withdrawals");
    assert_int_equal(w, 126);
    assert_true(f >= 1);
    assert_int_equal(num(r, "summary", "addresses"), w - f);
    assert_int_equal(lines("trades.csv"), (size_t)trades + 1);
    assert_int_equal(lines("withdrawals.csv"), (size_t)w + 1);
    assert_int_equal(lines("dso-map.csv"), (size_t)(w - f) + 1);
    /* Energy traded never exceeds what was produced or consumed. */
    assert_true(num(r, "summary", "traded_kwh") > 0);
    assert_true(num(r, "summary", "traded_kwh") <=
                num(r, "summary", "production_kwh"));
    assert_true(num(r, "summary", "traded_kwh") <=
                num(r, "summary", "load_kwh"));
    /* The clearing-time statistics are those of the trades. */
    json_t *c = json_object_get(r, "clearing");
    assert_int_equal(json_integer_value(json_object_get(c, "n")), trades);
    double mn = num(r, "clearing", "min"), md = num(r, "clearing", "median");
    double p90 = num(r, "clearing", "p90"), mx = num(r, "clearing", "max");
    assert_true(mn > 0 && mn <= md && md <= p90 && p90 <= mx);
    json_t *counts = json_object_get(c, "counts");
    double total = 0;
    for (size_t i = 0; i < json_array_size(counts); i++) {
        total += (double)json_integer_value(json_array_get(counts, i));
    }
    assert_int_equal(total, trades);
    /* Every invalid transaction would be a bug of an agent. */
    assert_int_equal(num(r, "summary", "ledger_invalid"), 0);
    char log[4096];
    assert_int_equal(
        tl_run(log, sizeof log, "'%s' verify '%s/ledger'", tl_binary(), R.out),
        0);
    assert_non_null(strstr(log, "verify OK"));
}

/* The DSO's private map (dso-map.csv): address -> prosumer index. */
struct map {
    char addr[512][65];
    char who[512][LG_NAME_MAX + 1];
    size_t n;
    char names[16][LG_NAME_MAX + 1];
    uint8_t real_pk[16][32];
    char real_hex[16][65];
    size_t npeople;
};

static const char *owner(const struct map *m, const char *addr)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->addr[i], addr) == 0) {
            return m->who[i];
        }
    }
    return NULL;
}

static void load_map(struct map *m)
{
    char path[PATH_MAX], line[256];
    snprintf(path, sizeof path, "%s/dso-map.csv", R.out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) != NULL && m->n < 512) {
        line[strcspn(line, "\n")] = '\0';
        char *comma = strchr(line, ',');
        assert_non_null(comma);
        *comma = '\0';
        snprintf(m->addr[m->n], 65, "%s", line);
        snprintf(m->who[m->n], LG_NAME_MAX + 1, "%s", comma + 1);
        m->n++;
    }
    fclose(f);
    /* The prosumers' real certificates, from the run's key store. */
    char out[8192];
    assert_int_equal(
        tl_run(out, sizeof out, "ls '%s/ledger/keys/PROSUMERS'", R.out), 0);
    for (char *tok = strtok(out, "\n"); tok; tok = strtok(NULL, "\n")) {
        size_t n = strlen(tok);
        if (n < 6 || strcmp(tok + n - 5, ".cert") != 0) {
            continue;
        }
        size_t k = m->npeople++;
        snprintf(m->names[k], LG_NAME_MAX + 1, "%.*s", (int)(n - 5), tok);
        char *text;
        size_t len;
        snprintf(path, sizeof path, "%s/ledger/keys/PROSUMERS/%s", R.out, tok);
        assert_int_equal(base_read_file(path, 4096, &text, &len), 0);
        text[strcspn(text, "\n")] = '\0';
        uint8_t bin[512];
        size_t blen = strlen(text) / 2;
        assert_int_equal(base_hex_decode(bin, blen, text), 0);
        base_free(text);
        struct base_rd rd;
        base_rd_init(&rd, bin, blen);
        struct lg_cert c;
        assert_int_equal(lg_cert_decode(&c, &rd), 0);
        memcpy(m->real_pk[k], c.pk, 32);
        base_hex_encode(m->real_hex[k], c.pk, 32);
    }
    assert_int_equal(m->npeople, 9);
}

/* No real name, real key (raw or hex) in @p. */
static void no_identity(const struct map *m, const void *p, size_t len,
                        const char *what)
{
    for (size_t k = 0; k < m->npeople; k++) {
        if (memmem(p, len, m->real_pk[k], 32) != NULL ||
            memmem(p, len, m->real_hex[k], 64) != NULL ||
            memmem(p, len, m->names[k], strlen(m->names[k])) != NULL) {
            fail_msg("%s carries the identity of %s", what, m->names[k]);
        }
    }
}

struct seen {
    char addr[65];
    uint64_t nmin, nmax;
};

static void test_privacy(void **state)
{
    (void)state;
    struct map *m = calloc(1, sizeof *m);
    struct seen *seen = calloc(512, sizeof *seen);
    size_t nseen = 0;
    load_map(m);
    assert_true(m->n > 100);

    char ledger[PATH_MAX];
    snprintf(ledger, sizeof ledger, "%s/ledger", R.out);
    /* Nowhere in the ledger's store: not a byte of a real key or name. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", ledger);
    char *db;
    size_t dblen;
    assert_int_equal(base_read_file(path, 1u << 30, &db, &dblen), 0);
    no_identity(m, db, dblen, "the LMDB store");
    base_free(db);

    struct sc_registry reg;
    sc_registry_init(&reg);
    assert_int_equal(sc_register_builtin(&reg), 0);
    struct lg_executor ex = sc_executor(&reg);
    struct lg_options opt = {.read_only = true};
    struct lg_ledger *l;
    struct lg_channel *ch;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&l, ledger, &ex, &opt, err), 0);
    assert_int_equal(lg_channel_get(l, "microgrid", &ch), 0);
    uint64_t height;
    struct cr_hash tip, st;
    lg_channel_tip(ch, &height, &tip, &st);
    uint64_t anon_nb = 0, anon_exp = 0;
    size_t ntx = 0, nanon = 0, naccept = 0;
    struct base_buf b, v;
    base_buf_init(&b, 0);
    base_buf_init(&v, 0);
    for (uint64_t n = 1; n < height; n++) {
        base_buf_reset(&b);
        assert_int_equal(lg_block_get(ch, n, &b), 0);
        struct lg_block blk;
        assert_int_equal(lg_block_decode(&blk, b.data, b.len), 0);
        for (uint32_t t = 0; t < blk.h.tx_count; t++) {
            struct lg_tx tx;
            assert_int_equal(lg_tx_decode(&tx, blk.txs[t].p, blk.txs[t].len),
                             0);
            ntx++;
            /* (a) No real identity signs or is named. */
            if (strcmp(tx.cert.org, "DSO") != 0 &&
                strcmp(tx.cert.org, "ANON") != 0) {
                fail_msg("a transaction is signed by %s/%s", tx.cert.org,
                         tx.cert.name);
            }
            no_identity(m, blk.txs[t].p, blk.txs[t].len, "a transaction");
            /* The addresses this transaction touches. */
            char touched[4][65];
            size_t nt = 0;
            if (strcmp(tx.cert.org, "ANON") == 0) {
                nanon++;
                base_hex_encode(touched[nt++], tx.cert.pk, 32);
                assert_string_equal(tx.cert.name, touched[0]);
                /* Every anonymous certificate looks the same but for its
                 * key: no issue time to line up. */
                if (anon_nb == 0) {
                    anon_nb = tx.cert.not_before;
                    anon_exp = tx.cert.expiry;
                }
                assert_int_equal(tx.cert.not_before, anon_nb);
                assert_int_equal(tx.cert.expiry, anon_exp);
                /* Each address has nonces of its own client: no counter
                 * runs on from one address of a prosumer to the next. */
                size_t s = 0;
                while (s < nseen && strcmp(seen[s].addr, touched[0]) != 0) {
                    s++;
                }
                if (s == nseen && nseen < 512) {
                    snprintf(seen[nseen].addr, 65, "%s", touched[0]);
                    seen[nseen].nmin = seen[nseen].nmax = tx.nonce;
                    nseen++;
                } else if (s < nseen) {
                    seen[s].nmin =
                        tx.nonce < seen[s].nmin ? tx.nonce : seen[s].nmin;
                    seen[s].nmax =
                        tx.nonce > seen[s].nmax ? tx.nonce : seen[s].nmax;
                }
            }
            for (uint32_t a = 0; a < tx.nargs && nt < 4; a++) {
                if (tx.args[a].len == 64) {
                    snprintf(touched[nt++], 65, "%.64s",
                             (const char *)tx.args[a].p);
                }
            }
            if (strcmp(tx.function, "acceptOffer") == 0) {
                naccept++;
                base_buf_reset(&v);
                char reason[LG_REASON_MAX + 1];
                assert_int_equal(lg_evaluate(ch, &tx.cert, "petra", "readOffer",
                                             1, &tx.args[0], &v, reason),
                                 0);
                json_t *o = json_loadb((const char *)v.data, v.len, 0, NULL);
                snprintf(touched[nt++], 65, "%s",
                         json_string_value(json_object_get(o, "poster")));
                json_decref(o);
            }
            /* (b) No two addresses of one prosumer meet in a transaction. */
            for (size_t i = 0; i < nt; i++) {
                const char *wi = owner(m, touched[i]);
                assert_non_null(wi); /* every address came from the DSO */
                for (size_t j = i + 1; j < nt; j++) {
                    const char *wj = owner(m, touched[j]);
                    if (strcmp(touched[i], touched[j]) != 0 &&
                        strcmp(wi, wj) == 0) {
                        fail_msg("%s.%s links two addresses of %s", tx.contract,
                                 tx.function, wi);
                    }
                }
            }
        }
        lg_block_release(&blk);
    }
    assert_true(ntx > 500);
    assert_true(nanon > 300);
    assert_true(naccept >= 50);
    /* Nonce ranges of two addresses of one prosumer are far apart. */
    for (size_t i = 0; i < nseen; i++) {
        for (size_t j = i + 1; j < nseen; j++) {
            if (strcmp(owner(m, seen[i].addr), owner(m, seen[j].addr)) != 0) {
                continue;
            }
            uint64_t gap =
                seen[i].nmax < seen[j].nmin   ? seen[j].nmin - seen[i].nmax
                : seen[j].nmax < seen[i].nmin ? seen[i].nmin - seen[j].nmax
                                              : 0;
            assert_true(gap > 1000000);
        }
    }
    assert_true(nseen > 100);
    base_buf_release(&b);
    base_buf_release(&v);
    lg_close(l);
    free(m);
    free(seen);
}

/* Every address holds nothing at the end: all went back to the DSO, which
 * credited each prosumer (the deposits are in its log). */
static void test_all_deposited(void **state)
{
    (void)state;
    char out[65536];
    assert_int_equal(tl_run(out, sizeof out,
                            "'%s' query '%s/ledger' --channel microgrid range "
                            "petra asset/ asset0 2>&1",
                            tl_binary(), R.out),
                     0);
    /* Not one asset record is left (the range lists none). */
    assert_null(strstr(out, "\"key\""));
    assert_int_equal(tl_run(out, sizeof out,
                            "'%s' query '%s/ledger' --channel microgrid range "
                            "petra open/ open0 2>&1",
                            tl_binary(), R.out),
                     0);
    assert_null(strstr(out, "\"key\""));
}

/* Bad scenarios and a second run into the same directory stop with a
 * message and a non-zero exit, and leave the earlier run as it was. */
static void test_run_errors(void **state)
{
    (void)state;
    char path[PATH_MAX], out[4096];
    snprintf(path, sizeof path, "%s/bad.json", R.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"kind\": \"nope\"}", f);
    fclose(f);
    assert_int_equal(tl_run(out, sizeof out, "'%s' run '%s' --out '%s/x' 2>&1",
                            tl_binary(), path, R.dir),
                     1);
    assert_non_null(
        strstr(out, "unknown scenario kind 'nope' (known: der-market, petra)"));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"kind\": \"petra\", \"intervals\": 2, \"prosumers\": [{"
          "\"name\": \"a\", \"role\": \"producer\", \"kw\": [1]}]}",
          f);
    fclose(f);
    assert_int_equal(tl_run(out, sizeof out, "'%s' run '%s' --out '%s/x' 2>&1",
                            tl_binary(), path, R.dir),
                     1);
    assert_non_null(strstr(out, "prosumers[0].kw must hold one value per "
                                "interval (2)"));
    char src[PATH_MAX];
    tl_source_path(src, "scenarios/petra-microgrid.json");
    assert_int_equal(tl_run(out, sizeof out, "'%s' run '%s' --out '%s' 2>&1",
                            tl_binary(), src, R.out),
                     1);
    assert_non_null(strstr(out, "already holds a run; pass --force"));
    assert_int_equal(lines("trades.csv"),
                     (size_t)num(R.results, "summary", "trades") + 1);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_errors),
        cmocka_unit_test(test_run_outputs),
        cmocka_unit_test(test_privacy),
        cmocka_unit_test(test_all_deposited),
        cmocka_unit_test(test_run_errors),
    };
    return cmocka_run_group_tests(tests, run_setup, run_teardown);
}
