/* SPDX-License-Identifier: MIT */
/* The node's dashboard and what it reads, over loopback: the page at /,
 * the market run's data at /ui/run.json (present beside a run's ledger,
 * absent beside a plain one), and GET /v1/bids on a real market day: the
 * curtailed bids with the DSO's reasons and the kW the run's bids.csv
 * says, a tampered and a missing off-chain record, and every documented
 * error. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "gwtest.h"

/* The API key the requests below send ("" for none): bids are read by
 * their DERA, the DSO and the ISO only (issue 15, finding 4). */
static char auth[64 + GW_KEY_TOKEN_LEN];

static json_t *get_json(const struct gt_node *n, const char *path, long status)
{
    struct gt_resp r;
    const char *hd[] = {auth, NULL};
    long got = gt_http(n, &r, "GET", path, auth[0] ? hd : NULL, NULL, NULL, 0);
    if (got != status) {
        fail_msg("GET %s: want %ld, got %ld: %s", path, status, got, r.body);
    }
    assert_non_null(strstr(r.ctype, "application/json"));
    json_t *o = json_loads(r.body, 0, NULL);
    if (o == NULL) {
        fail_msg("GET %s: not JSON: %s", path, r.body);
    }
    gt_free(&r);
    return o;
}

static void expect_400(const struct gt_node *n, const char *path,
                       const char *part)
{
    json_t *o = get_json(n, path, 400);
    assert_string_equal(json_string_value(json_object_get(o, "error")),
                        "bad_request");
    const char *why = json_string_value(json_object_get(o, "reason"));
    if (why == NULL || strstr(why, part) == NULL) {
        fail_msg("GET %s: reason '%s' lacks '%s'", path, why, part);
    }
    json_decref(o);
}

/* A plain ledger: the page, no run beside it, no bids. */
static void test_page_and_empty_ledger(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "dash");
    gt_start(&n, "--no-access-log");
    struct gt_resp r;
    assert_int_equal(gt_get(&n, &r, "/"), 200);
    assert_non_null(strstr(r.ctype, "text/html"));
    /* The page is whole: Chart.js inlined, the dashboard's code, and no
     * placeholder or unexpanded build marker left. */
    assert_non_null(strstr(r.body, "chart.js/dist/chart.umd.js"));
    assert_non_null(strstr(r.body, "window.glDash"));
    assert_non_null(strstr(r.body, "/v1/events"));
    assert_null(strstr(r.body, "/*@include"));
    assert_null(strstr(r.body, "@inline-js"));
    assert_null(strstr(r.body, "this placeholder stands"));
    assert_null(strstr(r.body, "src=\"http"));
    gt_free(&r);

    json_t *o = get_json(&n, "/ui/run.json", 200);
    assert_true(json_is_false(json_object_get(o, "available")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "reason")),
                           "results.json"));
    json_decref(o);

    o = get_json(&n, "/v1/bids", 200);
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "bids")), 0);
    assert_true(json_is_false(json_object_get(o, "truncated")));
    assert_true(json_integer_value(json_object_get(o, "height")) >= 1);
    json_decref(o);

    expect_400(&n, "/v1/bids?limit=0", "limit must be 1..200");
    expect_400(&n, "/v1/bids?limit=201", "limit must be 1..200");
    expect_400(&n, "/v1/bids?limit=x", "limit must be 1..200");
    expect_400(&n, "/v1/bids?curtailed=yes", "curtailed must be true");
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* Sum of the bid_kw (column 2) and feasible_kw (column 4) of interval @k
 * in the run's bids.csv. */
static void csv_sums(const char *out, int k, double *bid, double *feas)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/bids.csv", out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    *bid = *feas = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int ki;
        char der[64];
        double b, price, fe, aw;
        if (sscanf(line, "%d,%63[^,],%lf,%lf,%lf,%lf", &ki, der, &b, &price,
                   &fe, &aw) == 6 &&
            ki == k) {
            *bid += b;
            *feas += fe;
        }
    }
    fclose(f);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Change (or, with @sql_delete, delete) the off-chain record with hash
 * @hex in the node's SQLite store behind its back. */
static void alter_record(const char *ledger, const char *hex, bool remove)
{
    char db[PATH_MAX + 32];
    snprintf(db, sizeof db, "%s/offchain.sqlite", ledger);
    sqlite3 *q;
    assert_int_equal(sqlite3_open(db, &q), SQLITE_OK);
    sqlite3_busy_timeout(q, 5000);
    sqlite3_stmt *st;
    const char *sql = remove ? "DELETE FROM records WHERE hash = ?"
                             : "UPDATE records SET data = "
                               "replace(data, '\"kw\":', '\"kw\":9') "
                               "WHERE hash = ?";
    assert_int_equal(sqlite3_prepare_v2(q, sql, -1, &st, NULL), SQLITE_OK);
    uint8_t h[32];
    assert_int_equal(base_hex_decode(h, 32, hex), 0);
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(q), 1);
    sqlite3_finalize(st);
    sqlite3_close(q);
}

struct stream {
    struct base_buf text;
    char until[64];
};

static size_t on_stream(char *p, size_t size, size_t nmemb, void *arg)
{
    struct stream *s = arg;
    if (base_buf_add(&s->text, p, size * nmemb) != 0 ||
        base_buf_terminate(&s->text) != 0) {
        return 0;
    }
    /* Enough once the last block is in: abort the transfer. */
    return strstr((char *)s->text.data, s->until) ? 0 : size * nmemb;
}

/* The event stream at @query (after "/v1/events?") up to block @last. */
static char *read_events(const struct gt_node *n, const char *query,
                         uint64_t last)
{
    CURL *c = curl_easy_init();
    char url[600];
    snprintf(url, sizeof url, "%s/v1/events?%s", n->url, query);
    struct stream s;
    base_buf_init(&s.text, 0);
    snprintf(s.until, sizeof s.until, "\"number\":%llu,",
             (unsigned long long)last);
    struct curl_slist *h = auth[0] ? curl_slist_append(NULL, auth) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    assert_int_equal(base_buf_terminate(&s.text), 0);
    if (strstr((char *)s.text.data, s.until) == NULL) {
        fail_msg("the stream %s did not reach block %llu", query,
                 (unsigned long long)last);
    }
    return (char *)s.text.data;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p++) {
        n++;
    }
    return n;
}

/* The stream the dashboard reads: every block, only the bids' events. */
static void check_stream_filter(const struct gt_node *n)
{
    uint64_t last = gt_height(n) - 1;
    char *all = read_events(n, "from=0", last);
    char *bids = read_events(n, "from=0&contract=bids", last);
    assert_int_equal(count(bids, "event: block"), last + 1);
    assert_int_equal(count(all, "event: block"), last + 1);
    size_t nb = count(bids, "event: contract");
    assert_true(nb > 100); /* created, modified/accepted, dispatched... */
    assert_int_equal(count(bids, "\"contract\":\"bids\""), nb);
    assert_int_equal(count(all, "\"contract\":\"bids\""), nb);
    /* The day registers its DERs first: the full stream has them. */
    assert_true(count(all, "\"contract\":\"registry\"") > 0);
    assert_true(count(all, "event: contract") > nb);
    base_free(all);
    base_free(bids);
    expect_400(n, "/v1/events?contract=", "contract must be");
    char path[200];
    snprintf(path, sizeof path, "/v1/events?contract=%065d", 0);
    expect_400(n, path, "contract must be");
}

/* Page through every bid, @limit at a time, with next_cursor: each bid once,
 * in the order of the one-page answer, then no cursor. */
static void check_pages(const struct gt_node *n, size_t total)
{
    json_t *all = get_json(n, "/v1/bids?limit=200", 200);
    json_t *want = json_object_get(all, "bids");
    char path[128] = "/v1/bids?limit=7";
    size_t seen = 0, pages = 0;
    for (;;) {
        json_t *p = get_json(n, path, 200);
        json_t *bids = json_object_get(p, "bids");
        assert_true(json_array_size(bids) <= 7);
        for (size_t i = 0; i < json_array_size(bids); i++, seen++) {
            assert_true(seen < total);
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(bids, i), "uid")),
                                json_string_value(json_object_get(
                                    json_array_get(want, seen), "uid")));
        }
        pages++;
        const char *next = json_string_value(json_object_get(p, "next_cursor"));
        if (next == NULL) {
            json_decref(p);
            break;
        }
        snprintf(path, sizeof path, "/v1/bids?limit=7&cursor=%s", next);
        json_decref(p);
    }
    assert_int_equal(seen, total);
    assert_int_equal(pages, (total + 6) / 7);
    json_decref(all);
    expect_400(n, "/v1/bids?cursor=x", "cursor must be BLOCK.TX");
}

/* The market day's ledger, served by a node: the run's data beside it,
 * the DSO's curtailments through /v1/bids. */
static void test_market_day(void **state)
{
    (void)state;
    struct gt_node n;
    memset(&n, 0, sizeof n);
    tl_tmpdir(n.dir, "dashday");
    char out[PATH_MAX + 8], sc[PATH_MAX], msg[4096];
    snprintf(out, sizeof out, "%s/day", n.dir);
    snprintf(n.ledger, sizeof n.ledger, "%s/ledger", out);
    snprintf(n.log, sizeof n.log, "%s/node.log", n.dir);
    tl_source_path(sc, "scenarios/ieee13-der-market.json");
    if (tl_run(msg, sizeof msg, "%s run %s --out %s --quiet 2>&1", tl_binary(),
               sc, out) != 0) {
        fail_msg("run: %s", msg);
    }
    char key[GW_KEY_TOKEN_LEN + 1];
    gt_apikey(&n, key, "--name dso --identity DSO/operator");
    gt_start(&n, "--no-access-log");

    /* Without a key the list shows no bid, and says how many it hides. */
    auth[0] = '\0';
    json_t *none = get_json(&n, "/v1/bids?limit=200", 200);
    assert_int_equal(json_array_size(json_object_get(none, "bids")), 0);
    assert_int_equal(json_integer_value(json_object_get(none, "total")), 0);
    assert_true(json_integer_value(json_object_get(none, "hidden")) > 40);
    json_decref(none);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);

    json_t *run = get_json(&n, "/ui/run.json", 200);
    assert_true(json_is_true(json_object_get(run, "available")));
    json_t *volt = json_object_get(json_object_get(run, "data"), "voltage");
    assert_true(json_array_size(json_object_get(volt, "time_s")) >= 96);
    assert_true(json_object_size(json_object_get(volt, "series")) >= 30);
    json_decref(run);

    json_t *all = get_json(&n, "/v1/bids?limit=200", 200);
    size_t total = (size_t)json_integer_value(json_object_get(all, "total"));
    json_t *bids = json_object_get(all, "bids");
    assert_true(total > 40);
    assert_int_equal(json_array_size(bids), total);
    /* Newest first, by the block that last wrote each. */
    for (size_t i = 1; i < total; i++) {
        assert_true(json_integer_value(json_object_get(
                        json_array_get(bids, i - 1), "block")) >=
                    json_integer_value(
                        json_object_get(json_array_get(bids, i), "block")));
    }
    json_decref(all);
    json_t *two = get_json(&n, "/v1/bids?limit=2", 200);
    assert_int_equal(json_array_size(json_object_get(two, "bids")), 2);
    json_decref(two);
    check_pages(&n, total);

    json_t *cut = get_json(&n, "/v1/bids?curtailed=true&limit=200", 200);
    bids = json_object_get(cut, "bids");
    assert_true(json_array_size(bids) >= 5);
    size_t i;
    json_t *b;
    char first_sum[65] = "", first_orig[65] = "", first_uid[80] = "";
    json_array_foreach(bids, i, b)
    {
        assert_true(json_is_true(json_object_get(b, "curtailed")));
        assert_true(json_is_true(json_object_get(b, "intact")));
        assert_true(json_integer_value(json_object_get(b, "version")) >= 2);
        assert_non_null(strstr(jstr(b, "reason"), "curtailment: max"));
        assert_string_not_equal(jstr(b, "checksum"),
                                jstr(b, "original_checksum"));
        /* The kW as bid and as curtailed are the run's own figures. */
        double bid, feas;
        csv_sums(out, (int)json_integer_value(json_object_get(b, "interval")),
                 &bid, &feas);
        double kw0 = json_number_value(json_object_get(b, "original_kw"));
        double kw = json_number_value(json_object_get(b, "kw"));
        double c = json_number_value(json_object_get(b, "curtailed_kw"));
        if (fabs(kw0 - bid) > 0.05 || fabs(kw - feas) > 0.05) {
            fail_msg("%s: %.3f -> %.3f kW, bids.csv says %.3f -> %.3f",
                     jstr(b, "uid"), kw0, kw, bid, feas);
        }
        assert_true(c > 0 && fabs(kw0 - kw - c) < 0.01);
        if (i == 0) {
            snprintf(first_sum, sizeof first_sum, "%s", jstr(b, "checksum"));
            snprintf(first_orig, sizeof first_orig, "%s",
                     jstr(b, "original_checksum"));
            snprintf(first_uid, sizeof first_uid, "%s", jstr(b, "uid"));
        }
    }
    json_decref(cut);

    /* A record changed behind the node's back is reported, not counted;
     * so is one that went missing. The bid as made keeps the total the
     * chain holds for it (the list reads no record for it). */
    alter_record(n.ledger, first_sum, false);
    alter_record(n.ledger, first_orig, true);
    cut = get_json(&n, "/v1/bids?curtailed=true&limit=1", 200);
    b = json_array_get(json_object_get(cut, "bids"), 0);
    assert_string_equal(jstr(b, "uid"), first_uid);
    assert_true(json_is_false(json_object_get(b, "intact")));
    assert_true(json_is_null(json_object_get(b, "kw")));
    assert_true(json_is_number(json_object_get(b, "original_kw")));
    assert_true(json_is_null(json_object_get(b, "curtailed_kw")));
    assert_non_null(strstr(jstr(b, "record_error"), "tampered"));
    json_decref(cut);
    alter_record(n.ledger, first_sum, true);
    cut = get_json(&n, "/v1/bids?curtailed=true&limit=1", 200);
    b = json_array_get(json_object_get(cut, "bids"), 0);
    assert_non_null(strstr(jstr(b, "record_error"), "missing"));
    json_decref(cut);

    check_stream_filter(&n);

    /* The DSO's reviews the page draws are readable as state. */
    json_t *rv = get_json(
        &n, "/v1/state/bids?start=review/rt/&end=review/rt0&limit=10000", 200);
    assert_true(json_array_size(json_object_get(rv, "keys")) > 40);
    json_decref(rv);
    assert_int_equal(gt_stop(&n), 0);

    /* A damaged run file is reported on the page's data, not served. */
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/report-data.json", out);
    assert_int_equal(base_write_file(file, "{\"voltage\": [", 13), 0);
    gt_start(&n, "--no-access-log");
    run = get_json(&n, "/ui/run.json", 200);
    assert_true(json_is_false(json_object_get(run, "available")));
    assert_non_null(strstr(jstr(run, "reason"), "not a JSON object"));
    json_decref(run);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_and_empty_ledger),
        cmocka_unit_test(test_market_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
