/* SPDX-License-Identifier: MIT */
/* The bid store over a real node (issue 15, findings 3, 4 and 9): a record
 * that describes another bid is not intact on any retrieval path; every
 * read route applies the bids contract's read rule (a DERA reads only its
 * own bids; the DSO and ISO all); an off-chain record is at most 256 KiB. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "gwtest.h"
#include "market/market.h"

static struct gt_node node;
static char dera1[GW_KEY_TOKEN_LEN + 1], dera2[GW_KEY_TOKEN_LEN + 1];
static char dso[GW_KEY_TOKEN_LEN + 1], iso[GW_KEY_TOKEN_LEN + 1];

static json_t *parse(const struct gt_resp *r)
{
    json_t *o = json_loads(r->body, 0, NULL);
    if (o == NULL) {
        fail_msg("not JSON: %s", r->body);
    }
    return o;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* GET @path with API key @key (NULL: none); the status. */
static long get(struct gt_resp *r, const char *key, const char *path)
{
    char auth[64 + GW_KEY_TOKEN_LEN];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key ? key : "");
    const char *hd[] = {auth, NULL};
    return gt_http(&node, r, "GET", path, key ? hd : NULL, NULL, NULL, 0);
}

/* GET @path as @key, expecting @status; the body as JSON when it is. */
static json_t *get_json(const char *key, const char *path, long status)
{
    struct gt_resp r;
    long got = get(&r, key, path);
    if (got != status) {
        fail_msg("GET %s: want %ld, got %ld: %s", path, status, got, r.body);
    }
    json_t *o = json_loads(r.body, 0, NULL);
    gt_free(&r);
    return o;
}

/* A refusal: @status, @error, and @part in the reason. */
static void expect_refused(const char *key, const char *path, long status,
                           const char *error, const char *part)
{
    json_t *o = get_json(key, path, status);
    assert_non_null(o);
    assert_string_equal(str(o, "error"), error);
    if (strstr(str(o, "reason"), part) == NULL) {
        fail_msg("GET %s: reason '%s' lacks '%s'", path, str(o, "reason"),
                 part);
    }
    json_decref(o);
}

static void invoke(const char *key, const char *json)
{
    struct gt_resp r;
    assert_int_equal(gt_post_json(&node, &r, "/v1/invoke", key, json), 200);
    if (strstr(r.body, "\"result\":\"VALID\"") == NULL) {
        fail_msg("%s: %s", json, r.body);
    }
    gt_free(&r);
}

/* Store @rec off chain; its hash into @sum. */
static void put(const char *rec, char sum[65])
{
    struct gt_resp r;
    assert_int_equal(gt_http(&node, &r, "POST", "/v1/offchain", NULL,
                             "application/octet-stream", rec, strlen(rec)),
                     200);
    json_t *o = parse(&r);
    snprintf(sum, 65, "%s", str(o, "hash"));
    json_decref(o);
    gt_free(&r);
}

/* A record of one bid: header fields and "DER:KW" entries. */
static void record(char *out, size_t size, const char *uid, const char *dera,
                   const char *market, int interval, const char *entries)
{
    int n = snprintf(out, size,
                     "{\"uid\":\"%s\",\"dera\":\"%s\",\"market\":\"%s\","
                     "\"interval\":%d,\"entries\":[",
                     uid, dera, market, interval);
    char list[512];
    snprintf(list, sizeof list, "%s", entries);
    int k = 0;
    for (char *e = strtok(list, " "); e != NULL; e = strtok(NULL, " "), k++) {
        char *colon = strchr(e, ':');
        *colon = '\0';
        n += snprintf(out + n, size - (size_t)n,
                      "%s{\"der\":\"%s\",\"kw\":%s.000000,\"price\":30.000000,"
                      "\"cap\":60.000000}",
                      k ? "," : "", e, colon + 1);
    }
    snprintf(out + n, size - (size_t)n, "]}");
}

/* Create bid @uid (DERA1) for "rt" @interval over @ders, its record @rec;
 * @total_w "" for none. The create's transaction id into @txid (may be
 * NULL). */
static void create(const char *uid, int interval, const char *ders,
                   const char *rec, const char *total_w, char *txid)
{
    char sum[65], call[1024];
    put(rec, sum);
    snprintf(call, sizeof call,
             "{\"contract\":\"bids\",\"function\":\"create\",\"args\":"
             "[\"%s\",\"rt\",\"%d\",\"%s\",\"%s\"%s%s%s]}",
             uid, interval, sum, ders, total_w[0] ? ",\"" : "", total_w,
             total_w[0] ? "\"" : "");
    struct gt_resp r;
    assert_int_equal(gt_post_json(&node, &r, "/v1/invoke", dera1, call), 200);
    json_t *o = parse(&r);
    assert_string_equal(str(o, "result"), "VALID");
    if (txid != NULL) {
        snprintf(txid, 65, "%s", str(o, "id"));
    }
    json_decref(o);
    gt_free(&r);
}

static int setup(void **state)
{
    (void)state;
    gt_ledger(&node, "gwbids");
    gt_apikey(&node, dera1, "--name d1 --identity DERA1/operator");
    gt_apikey(&node, dera2, "--name d2 --identity DERA2/operator");
    gt_apikey(&node, dso, "--name dso --identity DSO/operator");
    gt_apikey(&node, iso, "--name iso --identity ISO/operator");
    gt_start(&node, "--no-access-log");
    /* Markets are a registered set (finding 5): the ISO opens rt. */
    invoke(iso, "{\"contract\":\"bids\",\"function\":\"register_market\","
                "\"args\":[\"rt\",\"real-time\",\"15\"]}");
    /* DERA1's pv1 and pv2 qualified for 100 kW, pv3 for 50 of its 100;
     * DERA2's px for 900. */
    const char *ders[][3] = {{"pv1", "100", "100"},
                             {"pv2", "100", "100"},
                             {"pv3", "100", "50"},
                             {"px", "900", "900"}};
    for (size_t i = 0; i < 4; i++) {
        char call[512];
        snprintf(call, sizeof call,
                 "{\"contract\":\"registry\",\"function\":\"register\","
                 "\"args\":[\"%s\",\"o%zu\",\"675\",\"abc\",\"pv\",\"%s\","
                 "\"%s\"]}",
                 ders[i][0], i, ders[i][1], ders[i][1]);
        invoke(i < 3 ? dera1 : dera2, call);
        snprintf(call, sizeof call,
                 "{\"contract\":\"registry\",\"function\":\"qualify\","
                 "\"args\":[\"%s\",\"%s\"]}",
                 ders[i][0], ders[i][2]);
        invoke(dso, call);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(gt_stop(&node), 0);
    gt_cleanup(&node);
    return 0;
}

/* The verdict on bid @uid through GET /v1/bids/{uid} (as DERA1) and in the
 * list (as the DSO): both intact == @intact, both reasons holding
 * @part. */
static void expect_verdict(const char *uid, bool intact, const char *part)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/bids/%s", uid);
    json_t *o = get_json(dera1, path, 200);
    if (json_is_true(json_object_get(o, "intact")) != intact ||
        strstr(str(o, "reason"), part) == NULL) {
        fail_msg("%s: want intact %d with '%s', got %s", uid, intact, part,
                 json_dumps(o, 0));
    }
    assert_true(intact == !json_is_null(json_object_get(o, "bid")));
    json_decref(o);
    json_t *l = get_json(dso, "/v1/bids?limit=200", 200);
    json_t *b = NULL, *x;
    size_t i;
    json_array_foreach(json_object_get(l, "bids"), i, x)
    {
        if (strcmp(str(x, "uid"), uid) == 0) {
            b = x;
        }
    }
    assert_non_null(b);
    assert_true(json_is_true(json_object_get(b, "intact")) == intact);
    if (strstr(str(b, "record_error"), part) == NULL) {
        fail_msg("list %s: '%s' lacks '%s'", uid, str(b, "record_error"), part);
    }
    assert_true(intact == json_is_number(json_object_get(b, "kw")));
    json_decref(l);
}

/* Finding 3: the record's hash matches, but it is another bid. */
static void test_record_of_another_bid(void **state)
{
    (void)state;
    char rec[2048];
    /* The finding as reported: another aggregator's DER, another uid,
     * market and interval, 900 kW against pv1's 100 kW. */
    record(rec, sizeof rec, "zz", "DERA2", "da", 9, "px:900");
    create("u-other", 1, "pv1", rec, "", NULL);
    expect_verdict("u-other", false, "describes bid 'zz' of DERA2");
    /* Each difference on its own. */
    record(rec, sizeof rec, "u-der", "DERA1", "rt", 2, "pv2:50");
    create("u-der", 2, "pv1", rec, "", NULL);
    expect_verdict("u-der", false, "offers DER 'pv2', which the on-chain");
    record(rec, sizeof rec, "u-qual", "DERA1", "rt", 3, "pv3:90");
    create("u-qual", 3, "pv3", rec, "", NULL);
    expect_verdict("u-qual", false, "90.000 kW, over its qualified 50.000");
    record(rec, sizeof rec, "u-twice", "DERA1", "rt", 4, "pv1:10 pv1:10");
    create("u-twice", 4, "pv1", rec, "", NULL);
    expect_verdict("u-twice", false, "names DER 'pv1' twice");
    record(rec, sizeof rec, "u-fewer", "DERA1", "rt", 5, "pv1:10");
    create("u-fewer", 5, "pv1,pv2", rec, "", NULL);
    expect_verdict("u-fewer", false, "offers 1 DERs, the on-chain bid names 2");
    record(rec, sizeof rec, "u-sum", "DERA1", "rt", 6, "pv1:10");
    create("u-sum", 6, "pv1", rec, "20000", NULL);
    expect_verdict("u-sum", false, "totals 10.000 kW, the chain says 20.000");
    record(rec, sizeof rec, "u-mkt", "DERA1", "da", 7, "pv1:10");
    create("u-mkt", 7, "pv1", rec, "", NULL);
    expect_verdict("u-mkt", false, "for market da interval 7");
    /* And the one that is what the chain says. */
    record(rec, sizeof rec, "u-ok", "DERA1", "rt", 8, "pv1:10 pv2:20");
    create("u-ok", 8, "pv1,pv2", rec, "30000", NULL);
    expect_verdict("u-ok", true, "");
    json_t *l = get_json(dso, "/v1/bids?limit=1", 200);
    json_t *b = json_array_get(json_object_get(l, "bids"), 0);
    assert_string_equal(str(b, "uid"), "u-ok");
    assert_true(json_number_value(json_object_get(b, "kw")) == 30.0);
    assert_true(json_number_value(json_object_get(b, "original_kw")) == 30.0);
    json_decref(l);
    /* `gridledger query --node ... bid`: the agents' client, the same
     * check; exit 1 with the reason when not intact. */
    char out[8192];
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s --api-key %s bid u-other 2>&1",
                            tl_binary(), node.url, dera1),
                     1);
    assert_non_null(strstr(out, "describes bid 'zz' of DERA2"));
    assert_non_null(strstr(out, "\"intact\": false"));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s --api-key %s bid u-ok 2>&1",
                            tl_binary(), node.url, dera1),
                     0);
    assert_non_null(strstr(out, "\"intact\": true"));
    /* A TOTAL_W that is not whole watts: committed invalid, with the
     * reason. */
    struct gt_resp r;
    assert_int_equal(
        gt_post_json(&node, &r, "/v1/invoke", dera1,
                     "{\"contract\":\"bids\",\"function\":\"create\",\"args\":"
                     "[\"u-bad\",\"rt\",\"9\",\"" /* any checksum */
                     "00000000000000000000000000000000000000000000000000000000"
                     "00000000\",\"pv1\",\"1.5\"]}"),
        200);
    assert_non_null(strstr(r.body, "\"result\":\"EARGS\""));
    assert_non_null(strstr(r.body, "TOTAL_W must be"));
    gt_free(&r);
}

static bool has_key(json_t *o, const char *k)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(o, "keys"), i, x)
    {
        if (strcmp(str(x, "key"), k) == 0) {
            return true;
        }
    }
    return false;
}

/* Finding 4: DERA2 reads DERA1's bid through no route. */
static void test_reads_follow_the_rule(void **state)
{
    (void)state;
    char rec[1024], txid[65], path[256];
    record(rec, sizeof rec, "r1", "DERA1", "rt", 20, "pv1:10");
    create("r1", 20, "pv1", rec, "10000", txid);
    char sum[65];
    put(rec, sum);

    /* State: the owner and the DSO yes; DERA2 403; no key 401. */
    const char *st = "/v1/state/bids/bid/r1";
    json_decref(get_json(dera1, st, 200));
    json_decref(get_json(dso, st, 200));
    expect_refused(dera2, st, 403, "forbidden", "bid 'r1' belongs to DERA1");
    expect_refused(NULL, st, 401, "unauthorized", "needs an API key");
    /* The live/ key names the bid: the same rule. */
    st = "/v1/state/bids/live/rt/20/pv1";
    json_decref(get_json(dera1, st, 200));
    expect_refused(dera2, st, 403, "forbidden", "belongs to DERA1");
    /* A range leaves them out, and says how many. */
    json_t *o = get_json(dera2, "/v1/state/bids?start=bid/&end=bid0", 200);
    assert_false(has_key(o, "bid/r1"));
    assert_true(json_integer_value(json_object_get(o, "hidden")) >= 1);
    assert_non_null(strstr(str(o, "hidden_reason"), "belongs to DERA1"));
    json_decref(o);
    o = get_json(dera1, "/v1/state/bids?start=bid/&end=bid0", 200);
    assert_true(has_key(o, "bid/r1"));
    assert_true(json_object_get(o, "hidden") == NULL);
    json_decref(o);
    o = get_json(dera2, "/v1/state/bids?start=live/&end=live0", 200);
    assert_false(has_key(o, "live/rt/20/pv1"));
    json_decref(o);
    /* History. */
    json_decref(get_json(dera1, "/v1/history/bids/bid/r1", 200));
    expect_refused(dera2, "/v1/history/bids/bid/r1", 403, "forbidden",
                   "belongs to DERA1");
    /* The off-chain record: through its bid, as a reader of the bid. */
    snprintf(path, sizeof path, "/v1/offchain/%s?bid=r1", sum);
    struct gt_resp r;
    assert_int_equal(get(&r, dera1, path), 200);
    assert_int_equal(r.len, strlen(rec));
    gt_free(&r);
    expect_refused(dera2, path, 403, "forbidden", "belongs to DERA1");
    expect_refused(NULL, path, 401, "unauthorized", "belongs to DERA1");
    snprintf(path, sizeof path, "/v1/offchain/%s", sum);
    expect_refused(dera1, path, 403, "forbidden", "through the bid");
    expect_refused(dera2, path, 403, "forbidden", "through the bid");
    snprintf(path, sizeof path, "/v1/offchain/%s?bid=u-ok", sum);
    expect_refused(dera1, path, 403, "forbidden", "does not name");
    expect_refused(dera2, "/v1/bids/r1", 403, "EPERM", "belongs to DERA1");
    /* The list: DERA2 sees none of DERA1's bids, and how many it hides. */
    o = get_json(dera2, "/v1/bids?limit=200", 200);
    assert_int_equal(json_array_size(json_object_get(o, "bids")), 0);
    assert_true(json_integer_value(json_object_get(o, "hidden")) >= 1);
    json_decref(o);
    o = get_json(dera1, "/v1/bids?limit=1", 200);
    assert_string_equal(
        str(json_array_get(json_object_get(o, "bids"), 0), "uid"), "r1");
    json_decref(o);
    /* The transaction that made it, and its proof. */
    snprintf(path, sizeof path, "/v1/tx/%s", txid);
    o = get_json(dera1, path, 200);
    long long block = json_integer_value(json_object_get(o, "block"));
    json_decref(o);
    expect_refused(dera2, path, 403, "forbidden", "bids.create transaction");
    snprintf(path, sizeof path, "/v1/proof/%s", txid);
    json_decref(get_json(dera1, path, 200));
    expect_refused(dera2, path, 403, "forbidden", "bids.create transaction");
    /* Its block: DERA2 sees the transaction redacted, DERA1 whole; raw
     * bytes only for a reader of everything. */
    snprintf(path, sizeof path, "/v1/blocks/%lld", block);
    o = get_json(dera2, path, 200);
    json_t *t = json_array_get(json_object_get(o, "transactions"), 0);
    assert_true(json_is_true(json_object_get(t, "redacted")));
    assert_null(json_object_get(t, "args"));
    assert_null(json_object_get(t, "payload"));
    assert_string_equal(str(t, "function"), "create");
    json_decref(o);
    o = get_json(dera1, path, 200);
    t = json_array_get(json_object_get(o, "transactions"), 0);
    assert_null(json_object_get(t, "redacted"));
    assert_non_null(json_object_get(t, "args"));
    json_decref(o);
    snprintf(path, sizeof path, "/v1/blocks/%lld?format=binary", block);
    expect_refused(dera1, path, 403, "forbidden", "only the DSO and the ISO");
    assert_int_equal(get(&r, dso, path), 200);
    gt_free(&r);
    expect_refused(dera2, "/v1/blocks?from=0", 403, "forbidden",
                   "only the DSO and the ISO");
}

/* A member-key client reads a record with its signed envelope of
 * bids.retrieve(UID) in MK_READ_HEADER: now, for that bid, as a reader of
 * it. */
static void test_signed_read(void **state)
{
    (void)state;
    char rec[1024], sum[65], path[256];
    record(rec, sizeof rec, "s1", "DERA1", "rt", 30, "pv1:10");
    create("s1", 30, "pv1", rec, "10000", NULL);
    put(rec, sum);
    snprintf(path, sizeof path, "/v1/offchain/%s?bid=s1", sum);
    struct {
        const char *who, *bid;
        long skew;
        long status;
        const char *part;
    } cases[] = {
        {"DERA1/operator", "s1", 0, 200, ""},
        {"DSO/operator", "s1", 0, 200, ""},
        {"DERA2/operator", "s1", 0, 403, "belongs to DERA1"},
        {"DERA1/operator", "s1", -1000, 403, "within 300 s"},
        {"DERA1/operator", "u-ok", 0, 403, "bids.retrieve(s1)"},
    };
    for (size_t i = 0; i < BASE_ARRAY_LEN(cases); i++) {
        struct base_buf env;
        base_buf_init(&env, 0);
        uint64_t now = base_wall_ns() / 1000000000u;
        gt_envelope(&node, &env, cases[i].who,
                    (uint64_t)((long long)now + cases[i].skew), "bids",
                    "retrieve", 1, cases[i].bid);
        char *hdr = base_malloc(64 + 2 * env.len);
        int n = sprintf(hdr, "%s: ", MK_READ_HEADER);
        base_hex_encode(hdr + n, env.data, env.len);
        const char *hd[] = {hdr, NULL};
        struct gt_resp r;
        long got = gt_http(&node, &r, "GET", path, hd, NULL, NULL, 0);
        if (got != cases[i].status ||
            (cases[i].part[0] && strstr(r.body, cases[i].part) == NULL)) {
            fail_msg("case %zu: want %ld '%s', got %ld: %s", i, cases[i].status,
                     cases[i].part, got, r.body);
        }
        gt_free(&r);
        base_free(hdr);
        base_buf_release(&env);
    }
    const char *hd[] = {MK_READ_HEADER ": 00zz", NULL};
    struct gt_resp r;
    assert_int_equal(gt_http(&node, &r, "GET", path, hd, NULL, NULL, 0), 401);
    assert_non_null(strstr(r.body, "malformed"));
    gt_free(&r);
    /* A signed read authenticates itself on a --require-key node too (the
     * remote client of a member key reads records so); without it, no key
     * is no read. */
    assert_int_equal(gt_stop(&node), 0);
    gt_start(&node, "--no-access-log --require-key");
    struct base_buf env;
    base_buf_init(&env, 0);
    gt_envelope(&node, &env, "DERA1/operator", base_wall_ns() / 1000000000u,
                "bids", "retrieve", 1, "s1");
    char *hdr = base_malloc(64 + 2 * env.len);
    int n = sprintf(hdr, "%s: ", MK_READ_HEADER);
    base_hex_encode(hdr + n, env.data, env.len);
    const char *signed_hd[] = {hdr, NULL};
    assert_int_equal(gt_http(&node, &r, "GET", path, signed_hd, NULL, NULL, 0),
                     200);
    assert_string_equal(r.body, rec);
    gt_free(&r);
    assert_int_equal(gt_http(&node, &r, "GET", path, NULL, NULL, NULL, 0), 401);
    assert_non_null(strstr(r.body, "requires an API key"));
    gt_free(&r);
    base_free(hdr);
    base_buf_release(&env);
    assert_int_equal(gt_stop(&node), 0);
    gt_start(&node, "--no-access-log");
}

/* Finding 9: a record over 256 KiB is refused where it is stored. */
static void test_record_cap(void **state)
{
    (void)state;
    size_t n = KV_OFFCHAIN_MAX_RECORD + 1;
    char *big = base_malloc(n);
    memset(big, 'x', n);
    struct gt_resp r;
    assert_int_equal(gt_http(&node, &r, "POST", "/v1/offchain", NULL,
                             "application/octet-stream", big, n),
                     413);
    assert_non_null(strstr(r.body, "at most 256 KiB"));
    gt_free(&r);
    assert_int_equal(gt_http(&node, &r, "POST", "/v1/offchain", NULL,
                             "application/octet-stream", big, n - 1),
                     200);
    gt_free(&r);
    base_free(big);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_of_another_bid),
        cmocka_unit_test(test_reads_follow_the_rule),
        cmocka_unit_test(test_signed_read),
        cmocka_unit_test(test_record_cap),
    };
    int rv = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rv;
}
