/* SPDX-License-Identifier: MIT */
/* Tests of the DER registry and bids contracts: registration and
 * qualification, the bid store's role rules, status machine and its
 * double-counting guard. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consortium.h"
#include "testlib.h"

#define NOW   (1800000000ull * 1000000000ull)
#define SUM_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SUM_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fx {
    char dir[256];
    struct tc_consortium c;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct base_buf tx;
    uint64_t nonce;
    struct lg_outcome o;
};

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "bids");
    tc_init(&f->c, "energy");
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(f->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    base_buf_init(&f->tx, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lg_close(f->l);
    tl_rmrf(f->dir);
    base_buf_release(&f->tx);
    base_free(f);
    return 0;
}

/* Commit one call as @m; returns its result code (reason in f->o). */
#define CALL(f, m, contract, fn, ...)                                          \
    call((f), (m), (contract), (fn),                                           \
         (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),  \
         (const char *[]){__VA_ARGS__})

static int call(struct fx *f, const struct tc_member *m, const char *contract,
                const char *fn, int n, const char **argv)
{
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 0; i < n; i++) {
        args[i].p = (const uint8_t *)argv[i];
        args[i].len = strlen(argv[i]);
    }
    struct lg_call c = {"energy", contract, fn, (uint32_t)n, args};
    base_buf_reset(&f->tx);
    assert_int_equal(
        lg_tx_build(&f->tx, &c, &m->cert, &m->key, ++f->nonce, NULL), 0);
    struct lg_item it = {f->tx.data, f->tx.len, false};
    assert_int_equal(lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, &f->o, NULL),
                     0);
    return f->o.code;
}

/* A field of a state record (JSON), as text, into @out. */
static void field(struct fx *f, const char *contract, const char *key,
                  const char *name, char *out, size_t size)
{
    struct base_buf v;
    base_buf_init(&v, 0);
    assert_int_equal(lg_get(f->ch, contract, key, strlen(key), &v, NULL), 0);
    json_t *o = json_loadb((const char *)v.data, v.len, 0, NULL);
    assert_non_null(o);
    json_t *x = json_object_get(o, name);
    assert_non_null(x);
    if (json_is_string(x)) {
        snprintf(out, size, "%s", json_string_value(x));
    } else {
        snprintf(out, size, "%g", json_number_value(x));
    }
    json_decref(o);
    base_buf_release(&v);
}

static void reason_has(struct fx *f, const char *part)
{
    if (strstr(f->o.reason, part) == NULL) {
        fail_msg("reason '%s' lacks '%s'", f->o.reason, part);
    }
}

/* The ISO registers the markets the tests bid in. */
static void markets(struct fx *f)
{
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "rt", "real-time", "15"),
        0);
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "da", "day-ahead", "60"),
        0);
}

/* DERA1 registers pv1..pv3 and the DSO qualifies pv1 and pv2. */
static void fleet(struct fx *f)
{
    const struct tc_member *a = &f->c.dera;
    markets(f);
    assert_int_equal(CALL(f, a, "registry", "register", "pv1", "cust1", "671",
                          "abc", "pv", "100", "110"),
                     0);
    assert_int_equal(CALL(f, a, "registry", "register", "pv2", "cust2", "675",
                          "a", "pv", "50", "55"),
                     0);
    assert_int_equal(CALL(f, a, "registry", "register", "pv3", "cust3", "680",
                          "b", "pv", "20", "20"),
                     0);
    assert_int_equal(CALL(f, &f->c.dso, "registry", "qualify", "pv1", "90"), 0);
    assert_int_equal(CALL(f, &f->c.dso, "registry", "qualify", "pv2", "50"), 0);
}

static void test_registry(void **state)
{
    struct fx *f = *state;
    fleet(f);
    char s[256];
    field(f, "registry", "pv1", "status", s, sizeof s);
    assert_string_equal(s, "qualified");
    field(f, "registry", "pv1", "dera", s, sizeof s);
    assert_string_equal(s, "DERA1");
    field(f, "registry", "pv1", "qualified_kw", s, sizeof s);
    assert_string_equal(s, "90");
    /* A DER belongs to at most one aggregator. */
    assert_int_equal(CALL(f, &f->c.deraB, "registry", "register", "pv1", "x",
                          "671", "a", "pv", "5", "5"),
                     BASE_EEXIST);
    reason_has(f, "already registered by DERA1");
    /* Qualification is the DSO's, and bounded by the rating. */
    assert_int_equal(CALL(f, &f->c.dera, "registry", "qualify", "pv3", "10"),
                     BASE_EPERM);
    assert_int_equal(CALL(f, &f->c.dso, "registry", "qualify", "pv3", "21"),
                     BASE_EARGS);
    assert_int_equal(CALL(f, &f->c.dso, "registry", "qualify", "nope", "1"),
                     BASE_ENOTFOUND);
    assert_int_equal(
        CALL(f, &f->c.dso, "registry", "refuse", "pv3", "no telemetry"), 0);
    field(f, "registry", "pv3", "status", s, sizeof s);
    assert_string_equal(s, "refused");
    /* Bad numbers. */
    assert_int_equal(CALL(f, &f->c.dera, "registry", "register", "pv9", "o",
                          "b", "a", "pv", "-1", "5"),
                     BASE_EARGS);
    assert_int_equal(CALL(f, &f->c.dera, "registry", "register", "pv9", "o",
                          "b", "a", "pv", "10", "5"),
                     BASE_EARGS);
    /* Only the registering aggregator deregisters. */
    assert_int_equal(CALL(f, &f->c.deraB, "registry", "deregister", "pv3"),
                     BASE_EPERM);
    assert_int_equal(CALL(f, &f->c.dera2, "registry", "deregister", "pv3"), 0);
    struct base_buf v;
    base_buf_init(&v, 0);
    assert_int_equal(lg_get(f->ch, "registry", "pv3", 3, &v, NULL),
                     BASE_ENOTFOUND);
    base_buf_release(&v);
}

static void test_bid_rules(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *a = &f->c.dera;
    char s[256];
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1,pv2"), 0);
    field(f, "bids", "bid/b1", "status", s, sizeof s);
    assert_string_equal(s, "submitted");
    field(f, "bids", "bid/b1", "n", s, sizeof s);
    assert_string_equal(s, "2");
    /* Unregistered, unqualified, refused. */
    assert_int_equal(
        CALL(f, a, "bids", "create", "b2", "rt", "11", SUM_A, "pv1,ghost"),
        BASE_EPERM);
    reason_has(f, "'ghost' is not registered");
    assert_int_equal(
        CALL(f, a, "bids", "create", "b2", "rt", "11", SUM_A, "pv3"),
        BASE_EPERM);
    reason_has(f, "not qualified");
    /* Double counting: same DER, same market and interval, in another bid
     * of the same aggregator, or inside one bid. */
    assert_int_equal(
        CALL(f, &f->c.dera2, "bids", "create", "b3", "rt", "10", SUM_A, "pv2"),
        BASE_EEXIST);
    reason_has(f, "double counting");
    reason_has(f, "'b1'");
    assert_int_equal(
        CALL(f, a, "bids", "create", "b3", "rt", "12", SUM_A, "pv1,pv1"),
        BASE_EEXIST);
    /* ... or by another aggregator, which cannot bid a DER it does not
     * aggregate. */
    assert_int_equal(
        CALL(f, &f->c.deraB, "bids", "create", "b4", "rt", "10", SUM_A, "pv1"),
        BASE_EPERM);
    reason_has(f, "registered by DERA1");
    /* The failed creates wrote nothing: pv1 is free in interval 12. */
    assert_int_equal(
        CALL(f, a, "bids", "create", "b5", "rt", "12", SUM_A, "pv1"), 0);
    /* Another market is another market. */
    assert_int_equal(
        CALL(f, a, "bids", "create", "b6", "da", "10", SUM_A, "pv1"), 0);
    /* Roles: the DSO creates no bids, a DERA curtails none. */
    assert_int_equal(
        CALL(f, &f->c.dso, "bids", "create", "b7", "rt", "13", SUM_A, "pv1"),
        BASE_EPERM);
    assert_int_equal(CALL(f, a, "bids", "modify", "b1", SUM_B, "volts"),
                     BASE_EPERM);
    /* Bad arguments. */
    assert_int_equal(
        CALL(f, a, "bids", "create", "b8", "rt", "13", "ABC", "pv1"),
        BASE_EARGS);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b8", "rt", "-1", SUM_A, "pv1"),
        BASE_EARGS);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "14", SUM_A, "pv1"),
        BASE_EEXIST);
}

static void test_bid_lifecycle(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *a = &f->c.dera;
    char s[256];
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1,pv2"), 0);
    /* Retrieval: owner, DSO and ISO; not a competitor. */
    struct lg_slice arg = {(const uint8_t *)"b1", 2};
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    const struct tc_member *readers[] = {&f->c.dera2, &f->c.dso, &f->c.iso};
    for (size_t i = 0; i < 3; i++) {
        base_buf_reset(&out);
        assert_int_equal(lg_evaluate(f->ch, &readers[i]->cert, "bids",
                                     "retrieve", 1, &arg, &out, reason),
                         0);
        assert_non_null(memmem(out.data, out.len, SUM_A, 64));
    }
    assert_int_equal(lg_evaluate(f->ch, &f->c.deraB.cert, "bids", "retrieve", 1,
                                 &arg, &out, reason),
                     BASE_EPERM);
    base_buf_release(&out);
    /* The DSO curtails: checksum, version and status move together. */
    assert_int_equal(
        CALL(f, &f->c.dso, "bids", "modify", "b1", SUM_B, "671 above 1.05"), 0);
    field(f, "bids", "bid/b1", "checksum", s, sizeof s);
    assert_string_equal(s, SUM_B);
    field(f, "bids", "bid/b1", "version", s, sizeof s);
    assert_string_equal(s, "2");
    field(f, "bids", "bid/b1", "status", s, sizeof s);
    assert_string_equal(s, "curtailed");
    assert_int_equal(CALL(f, &f->c.dso, "bids", "modify", "b1", SUM_B, ""),
                     BASE_EARGS);
    /* Too late to withdraw once reviewed. */
    assert_int_equal(CALL(f, a, "bids", "withdraw", "b1"), BASE_EPERM);
    /* Dispatch needs the clearing; awards must add up. */
    assert_int_equal(CALL(f, a, "bids", "dispatch", "b1", SUM_A), BASE_EPERM);
    reason_has(f, "not cleared");
    assert_int_equal(CALL(f, &f->c.iso, "bids", "clear", "rt", "10", "31.5",
                          "120", "DERA1=100"),
                     BASE_EARGS);
    reason_has(f, "add up");
    assert_int_equal(
        CALL(f, a, "bids", "clear", "rt", "10", "31.5", "100", "DERA1=100"),
        BASE_EPERM);
    assert_int_equal(CALL(f, &f->c.iso, "bids", "clear", "rt", "10", "31.5",
                          "100", "DERA1=100"),
                     0);
    assert_int_equal(CALL(f, &f->c.iso, "bids", "clear", "rt", "10", "31.5",
                          "100", "DERA1=100"),
                     BASE_EEXIST);
    assert_int_equal(CALL(f, &f->c.deraB, "bids", "dispatch", "b1", SUM_A),
                     BASE_EPERM);
    assert_int_equal(CALL(f, a, "bids", "dispatch", "b1", SUM_A), 0);
    field(f, "bids", "bid/b1", "status", s, sizeof s);
    assert_string_equal(s, "dispatched");
    field(f, "bids", "clear/rt/10", "price", s, sizeof s);
    assert_string_equal(s, "31.5");
}

static void test_withdraw_frees_ders(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *a = &f->c.dera;
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1,pv2"), 0);
    assert_int_equal(CALL(f, &f->c.deraB, "bids", "withdraw", "b1"),
                     BASE_EPERM);
    assert_int_equal(CALL(f, a, "bids", "withdraw", "b1"), 0);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b2", "rt", "10", SUM_A, "pv2"), 0);
    assert_int_equal(CALL(f, &f->c.dso, "bids", "accept", "b2"), 0);
    assert_int_equal(CALL(f, &f->c.dso, "bids", "accept", "b2"), BASE_EPERM);
    assert_int_equal(CALL(f, &f->c.dso, "bids", "modify", "b1", SUM_B, "x"),
                     BASE_EPERM);
    reason_has(f, "withdrawn");
}

/* The DSO records each interval's review: only the DSO, once, with
 * numbers it can stand behind. */
static void test_review(void **state)
{
    struct fx *f = *state;
    const struct tc_member *dso = &f->c.dso;
    markets(f);
    assert_int_equal(CALL(f, dso, "bids", "review", "rt", "40", "1.06273",
                          "1.04993", "0.98120", "0.97011", "312.500", "675.1",
                          "proportional"),
                     0);
    char s[256];
    field(f, "bids", "review/rt/40", "vmax_before_pu", s, sizeof s);
    assert_string_equal(s, "1.06273");
    field(f, "bids", "review/rt/40", "vmax_after_pu", s, sizeof s);
    assert_string_equal(s, "1.04993");
    field(f, "bids", "review/rt/40", "curtailed_kw", s, sizeof s);
    assert_string_equal(s, "312.5");
    field(f, "bids", "review/rt/40", "worst_node", s, sizeof s);
    assert_string_equal(s, "675.1");
    /* Once per interval; the DSO's alone; well-formed numbers only. */
    assert_int_equal(CALL(f, dso, "bids", "review", "rt", "40", "1", "1", "1",
                          "1", "0", "x", "proportional"),
                     BASE_EEXIST);
    reason_has(f, "already reviewed");
    assert_int_equal(CALL(f, &f->c.dera, "bids", "review", "rt", "41", "1", "1",
                          "1", "1", "0", "x", "proportional"),
                     BASE_EPERM);
    assert_int_equal(CALL(f, dso, "bids", "review", "rt", "41", "1.1", "-1",
                          "1", "1", "0", "x", "proportional"),
                     BASE_EARGS);
    reason_has(f, "non-negative");
    assert_int_equal(CALL(f, dso, "bids", "review", "rt", "41", "1.1", "1"),
                     BASE_EARGS);
    reason_has(f, "usage: review");
}

/* The state of @contract as one string "key=value\n..." (caller frees),
 * to show that a refused call changed nothing. */
struct dump {
    struct base_buf b;
};

static int dump_cb(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct dump *d = arg;
    assert_int_equal(base_buf_add(&d->b, key.p, key.len), 0);
    assert_int_equal(base_buf_add(&d->b, "=", 1), 0);
    assert_int_equal(base_buf_add(&d->b, val.p, val.len), 0);
    assert_int_equal(base_buf_add(&d->b, "\n", 1), 0);
    return 0;
}

static char *state_of(struct fx *f, const char *contract)
{
    struct dump d;
    base_buf_init(&d.b, 0);
    assert_int_equal(lg_range(f->ch, contract, "", 0, NULL, 0, 0, dump_cb, &d),
                     0);
    assert_int_equal(base_buf_add(&d.b, "", 1), 0);
    char *s = strdup((const char *)d.b.data);
    base_buf_release(&d.b);
    return s;
}

/* Finding 5: markets are a closed, registered set with canonical names;
 * "RT" and "rt " are not other markets, nor is an unregistered "xx". */
static void test_markets(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *a = &f->c.dera;
    char s[256];
    field(f, "bids", "market/rt", "kind", s, sizeof s);
    assert_string_equal(s, "real-time");
    field(f, "bids", "market/rt", "v", s, sizeof s);
    assert_string_equal(s, "1");
    field(f, "bids", "market/da", "interval_min", s, sizeof s);
    assert_string_equal(s, "60");
    /* The ISO's alone, once, canonical, of a known kind. */
    assert_int_equal(
        CALL(f, a, "bids", "register_market", "xx", "real-time", "15"),
        BASE_EPERM);
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "rt", "real-time", "5"),
        BASE_EEXIST);
    reason_has(f, "already registered");
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "RT2", "real-time", "5"),
        BASE_EARGS);
    reason_has(f, "lowercase (use 'rt2')");
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "rt2", "spot", "5"),
        BASE_EARGS);
    reason_has(f, "real-time or day-ahead");
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "register_market", "rt2", "real-time", "0"),
        BASE_EARGS);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1"), 0);
    char *before = state_of(f, "bids");
    /* The same DER, the same interval, in look-alike markets: refused. */
    const char *alike[] = {"RT", "rt ", " rt", "Rt", "r\xd1\x82"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(alike); i++) {
        assert_int_equal(
            CALL(f, a, "bids", "create", "b2", alike[i], "10", SUM_A, "pv1"),
            BASE_EARGS);
        reason_has(f, "market");
    }
    assert_int_equal(
        CALL(f, a, "bids", "create", "b2", "xx", "10", SUM_A, "pv1"),
        BASE_ENOTFOUND);
    reason_has(f, "market 'xx' is not registered");
    assert_int_equal(
        CALL(f, &f->c.iso, "bids", "clear", "xx", "10", "1", "0", ""),
        BASE_ENOTFOUND);
    assert_int_equal(CALL(f, &f->c.dso, "bids", "review", "RT", "10", "1", "1",
                          "1", "1", "0", "x", "proportional"),
                     BASE_EARGS);
    char *after = state_of(f, "bids");
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Any member reads a market's record. */
    struct lg_slice arg = {(const uint8_t *)"rt", 2};
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(lg_evaluate(f->ch, &f->c.deraB.cert, "bids", "market_read",
                                 1, &arg, &out, reason),
                     0);
    assert_non_null(memmem(out.data, out.len, "\"kind\":\"real-time\"", 18));
    base_buf_release(&out);
}

/* Finding 6: one DER, one aggregator, whatever look-alike id or spelling
 * of its physical identity a second registration tries. */
static void test_der_identity(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *b = &f->c.deraB;
    char *before = state_of(f, "registry");
    /* Look-alike ids: case, spaces, a Cyrillic capital Er. */
    const char *alike[] = {"PV1",        "Pv1",        "pv1 ",    " pv1",
                           "\xd0\xa0V1", "\xd1\x80v1", "pv1,pv2", "pv1\t",
                           "-pv1",       "pv1."};
    for (size_t i = 0; i < BASE_ARRAY_LEN(alike); i++) {
        assert_int_equal(CALL(f, b, "registry", "register", alike[i], "cust9",
                              "671", "abc", "pv", "100", "110"),
                         BASE_EARGS);
        reason_has(f, "DER id");
    }
    assert_int_equal(CALL(f, b, "registry", "register", "PV1", "cust9", "671",
                          "abc", "pv", "100", "110"),
                     BASE_EARGS);
    reason_has(f, "identifiers are lowercase (use 'pv1')");
    /* The canonical id is taken... */
    assert_int_equal(CALL(f, b, "registry", "register", "pv1", "cust9", "671",
                          "abc", "pv", "100", "110"),
                     BASE_EEXIST);
    /* ... and so is the equipment, under a fresh id. */
    assert_int_equal(CALL(f, b, "registry", "register", "pv1-b", "cust1", "671",
                          "abc", "pv", "100", "110"),
                     BASE_EEXIST);
    reason_has(f, "already registered as 'pv1'");
    /* Owner, bus and phases are canonical too: no second spelling. */
    const char *owners[] = {"Cust1", "cust1 ", "c\xd1\x83st1"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(owners); i++) {
        assert_int_equal(CALL(f, b, "registry", "register", "pv1-b", owners[i],
                              "671", "abc", "pv", "100", "110"),
                         BASE_EARGS);
        reason_has(f, "owner");
    }
    assert_int_equal(CALL(f, b, "registry", "register", "pv1-b", "cust1",
                          "671 ", "abc", "pv", "100", "110"),
                     BASE_EARGS);
    reason_has(f, "bus");
    const char *phases[] = {"cba", "ABC", "abca", "", "d", "a b"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(phases); i++) {
        assert_int_equal(CALL(f, b, "registry", "register", "pv1-b", "cust1",
                              "671", phases[i], "pv", "100", "110"),
                         BASE_EARGS);
        reason_has(f, "phases");
    }
    char *after = state_of(f, "registry");
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Another phase at the same bus is other equipment. */
    assert_int_equal(CALL(f, b, "registry", "register", "pv1-b", "cust1", "671",
                          "a", "pv", "10", "11"),
                     0);
    /* Deregistered, the equipment may be registered again. */
    assert_int_equal(CALL(f, &f->c.dera, "registry", "deregister", "pv3"), 0);
    assert_int_equal(CALL(f, b, "registry", "register", "pv3-b", "cust3", "680",
                          "b", "pv", "20", "20"),
                     0);
    /* Bids name DERs canonically too. */
    assert_int_equal(
        CALL(f, &f->c.dera, "bids", "create", "b1", "rt", "10", SUM_A, "PV1"),
        BASE_EARGS);
    reason_has(f, "lowercase");
    assert_int_equal(
        CALL(f, &f->c.dera, "bids", "create", "B1", "rt", "10", SUM_A, "pv1"),
        BASE_EARGS);
    reason_has(f, "bid uid");
    assert_int_equal(
        CALL(f, &f->c.dera, "bids", "create", "b1", "rt", "10", SUM_A, "pv1,"),
        BASE_EARGS);
}

/* Finding 7: the ISO's awards add up, one per aggregator, and only to
 * aggregators that bid in that market interval. */
static void test_clear_awards(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *iso = &f->c.iso;
    assert_int_equal(CALL(f, &f->c.deraB, "registry", "register", "pv7",
                          "cust7", "692", "abc", "pv", "30", "30"),
                     0);
    assert_int_equal(CALL(f, &f->c.dso, "registry", "qualify", "pv7", "30"), 0);
    assert_int_equal(CALL(f, &f->c.dera, "bids", "create", "b1", "rt", "3",
                          SUM_A, "pv1,pv2"),
                     0);
    char *before = state_of(f, "bids");
    assert_int_equal(
        CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", "DERA1=5,DERA1=5"),
        BASE_EARGS);
    reason_has(f, "DERA1 is awarded twice");
    assert_int_equal(
        CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", "NOBODY=10"),
        BASE_EARGS);
    reason_has(f, "NOBODY has no live bid in market rt interval 3");
    /* DERA2 exists but did not bid in this interval. */
    assert_int_equal(
        CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", "DERA1=5,DERA2=5"),
        BASE_EARGS);
    reason_has(f, "DERA2 has no live bid");
    /* Names as the channel spells them: no look-alikes either. */
    const char *bad[] = {"dera1=10", "DERA1 =10",       "=10",      "DERA1=",
                         "DERA1=-1", "D\xc3\x89RA1=10", "DERA1=10,"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        assert_int_equal(
            CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", bad[i]),
            BASE_EARGS);
    }
    char *after = state_of(f, "bids");
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* A withdrawn bid is not live. */
    assert_int_equal(
        CALL(f, &f->c.deraB, "bids", "create", "b7", "rt", "3", SUM_A, "pv7"),
        0);
    assert_int_equal(CALL(f, &f->c.deraB, "bids", "withdraw", "b7"), 0);
    assert_int_equal(
        CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", "DERA1=5,DERA2=5"),
        BASE_EARGS);
    reason_has(f, "DERA2 has no live bid");
    assert_int_equal(
        CALL(f, iso, "bids", "clear", "rt", "3", "50", "10", "DERA1=10"), 0);
    char s[64];
    field(f, "bids", "clear/rt/3", "cleared_kw", s, sizeof s);
    assert_string_equal(s, "10");
}

/* Finding 2, in the contracts: text that is not UTF-8 is the caller's
 * error (BASE_EARGS with a reason), never BASE_ENOMEM, whichever argument
 * carries it. */
static void test_not_utf8(void **state)
{
    struct fx *f = *state;
    fleet(f);
    const struct tc_member *a = &f->c.dera;
    assert_int_equal(CALL(f, a, "asset", "create",
                          "\xff"
                          "A",
                          "1"),
                     BASE_EARGS);
    assert_int_equal(CALL(f, a, "asset", "create", "a1",
                          "\xff"
                          "A"),
                     BASE_EARGS);
    reason_has(f, "UTF-8");
    assert_int_equal(CALL(f, a, "registry", "register", "PX\xff", "c", "1", "a",
                          "pv", "1", "1"),
                     BASE_EARGS);
    assert_int_equal(CALL(f, a, "registry", "register", "px", "c", "1", "a",
                          "p\xc0\xafv", "1", "1"),
                     BASE_EARGS);
    reason_has(f, "technology must be UTF-8");
    assert_int_equal(CALL(f, &f->c.dso, "registry", "refuse", "pv3",
                          "bad \xed\xa0\x80 surrogate"),
                     BASE_EARGS);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1,\xfe"),
        BASE_EARGS);
    assert_int_equal(
        CALL(f, a, "bids", "create", "b1", "rt", "10", SUM_A, "pv1"), 0);
    assert_int_equal(
        CALL(f, &f->c.dso, "bids", "modify", "b1", SUM_B, "volts \xff"),
        BASE_EARGS);
    assert_int_equal(CALL(f, &f->c.iso, "bids", "clear", "rt", "10", "1", "1",
                          "DERA1\xff=1"),
                     BASE_EARGS);
    assert_int_equal(CALL(f, &f->c.dso, "bids", "review", "rt", "10", "1", "1",
                          "1", "1", "0", "\xf5x", "proportional"),
                     BASE_EARGS);
    /* Every reason stays valid UTF-8, whatever bytes came in. */
    assert_true(sc_utf8_ok(f->o.reason, strlen(f->o.reason)));
}

/* The contract's read rule (issue 15, finding 4), which every read route
 * of a node applies: the owning DERA, the DSO and the ISO read a bid;
 * market results are public; the rest is the DSO's and the ISO's. */
struct fake_state {
    const char *key, *val;
};

static int fake_get(void *arg, const char *key, size_t klen,
                    struct base_buf *out)
{
    const struct fake_state *f = arg;
    if (strlen(f->key) != klen || memcmp(f->key, key, klen) != 0) {
        return BASE_ENOTFOUND;
    }
    return base_buf_add_str(out, f->val);
}

static int rule(const struct sc_registry *r, const char *org, const char *role,
                enum sc_read_kind kind, const char *key, const char *val,
                const char *creator, char *why)
{
    struct fake_state f = {"bid/u1", "{\"uid\":\"u1\",\"dera\":\"DERA1\"}"};
    struct sc_read w = {kind,
                        key,
                        key ? strlen(key) : 0,
                        (const uint8_t *)val,
                        val ? strlen(val) : 0,
                        creator,
                        fake_get,
                        &f};
    struct sc_reader who = {org, role};
    return sc_may_read(r, "bids", &who, &w, why, LG_REASON_MAX + 1);
}

static void test_read_rule(void **state)
{
    (void)state;
    struct sc_registry r;
    sc_registry_init(&r);
    assert_int_equal(sc_register_builtin(&r), 0);
    char why[LG_REASON_MAX + 1];
    const char *bid = "{\"uid\":\"u1\",\"dera\":\"DERA1\"}";
    /* A bid: its DERA, the DSO, the ISO; not DERA2, not nobody. */
    assert_int_equal(
        rule(&r, "DERA1", "dera", SC_READ_STATE, "bid/u1", bid, NULL, why), 0);
    assert_int_equal(
        rule(&r, "DSO", "dso", SC_READ_STATE, "bid/u1", bid, NULL, why), 0);
    assert_int_equal(
        rule(&r, "ISO", "iso", SC_READ_STATE, "bid/u1", bid, NULL, why), 0);
    assert_int_equal(
        rule(&r, "DERA2", "dera", SC_READ_STATE, "bid/u1", bid, NULL, why),
        BASE_EPERM);
    assert_non_null(strstr(why, "belongs to DERA1"));
    assert_int_equal(rule(&r, "", "", SC_READ_STATE, "bid/u1", bid, NULL, why),
                     BASE_EPERM);
    assert_non_null(strstr(why, "without a key"));
    /* A DERA with a role of another name is still not the DSO. */
    assert_int_equal(
        rule(&r, "DSO", "dera", SC_READ_STATE, "bid/u1", bid, NULL, why),
        BASE_EPERM);
    /* A live/ claim names its bid: the bid's rule. */
    assert_int_equal(rule(&r, "DERA1", "dera", SC_READ_STATE, "live/rt/3/pv1",
                          "u1", NULL, why),
                     0);
    assert_int_equal(rule(&r, "DERA2", "dera", SC_READ_STATE, "live/rt/3/pv1",
                          "u1", NULL, why),
                     BASE_EPERM);
    assert_int_equal(rule(&r, "DERA1", "dera", SC_READ_STATE, "live/rt/3/pv1",
                          "gone", NULL, why),
                     BASE_EPERM);
    /* Results are public; an unknown key is not. */
    assert_int_equal(
        rule(&r, "", "", SC_READ_STATE, "clear/rt/3", "{}", NULL, why), 0);
    assert_int_equal(
        rule(&r, "", "", SC_READ_STATE, "review/rt/3", "{}", NULL, why), 0);
    /* A registered market's record is public too (market_read: any role). */
    assert_int_equal(
        rule(&r, "", "", SC_READ_STATE, "market/rt", "{}", NULL, why), 0);
    assert_int_equal(
        rule(&r, "", "", SC_READ_EVENT, "MarketRegistered", "{}", NULL, why),
        0);
    assert_int_equal(
        rule(&r, "DERA1", "dera", SC_READ_STATE, "other/x", "{}", NULL, why),
        BASE_EPERM);
    /* Events carry the record; transactions go by their creator. */
    assert_int_equal(
        rule(&r, "DERA2", "dera", SC_READ_EVENT, "BidCreated", bid, NULL, why),
        BASE_EPERM);
    assert_int_equal(
        rule(&r, "DERA1", "dera", SC_READ_EVENT, "BidCreated", bid, NULL, why),
        0);
    assert_int_equal(
        rule(&r, "", "", SC_READ_EVENT, "MarketCleared", "{}", NULL, why), 0);
    assert_int_equal(
        rule(&r, "DERA1", "dera", SC_READ_TX, "create", NULL, "DERA1", why), 0);
    assert_int_equal(
        rule(&r, "DERA2", "dera", SC_READ_TX, "create", NULL, "DERA1", why),
        BASE_EPERM);
    assert_int_equal(rule(&r, "", "", SC_READ_TX, "create", NULL, "", why),
                     BASE_EPERM);
    assert_int_equal(rule(&r, "", "", SC_READ_TX, "clear", NULL, "ISO", why),
                     0);
    /* Everything: the DSO and the ISO only; other contracts have no
     * rule. */
    assert_int_equal(rule(&r, "DSO", "dso", SC_READ_ALL, NULL, NULL, NULL, why),
                     0);
    assert_int_equal(
        rule(&r, "DERA1", "dera", SC_READ_ALL, NULL, NULL, NULL, why),
        BASE_EPERM);
    struct sc_read all = {SC_READ_ALL, NULL, 0, NULL, 0, NULL, NULL, NULL};
    struct sc_reader nobody = {"", ""};
    assert_int_equal(sc_may_read(&r, "asset", &nobody, &all, why, sizeof why),
                     0);
    assert_int_equal(sc_may_read(&r, "nosuch", &nobody, &all, why, sizeof why),
                     BASE_ENOCONTRACT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bid_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bid_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_frees_ders, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_review, setup, teardown),
        cmocka_unit_test_setup_teardown(test_markets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_der_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_awards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
        cmocka_unit_test(test_read_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
