/* SPDX-License-Identifier: MIT */
/* Tests of the petra contract: withdrawals by the DSO, asks and bids by
 * anonymous addresses, acceptance with partial overlap, rescinding,
 * deposits, and every refusal leaving the state as it was. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "testlib.h"

#define NOW (1800000000ull * 1000000000ull)

struct fx {
    char dir[256];
    struct tc_consortium c;
    struct cr_keypair anon_root, people_root;
    struct tc_member seller, buyer, third, real;
    char s_addr[65], b_addr[65], t_addr[65];
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct base_buf tx;
    uint64_t nonce;
    struct lg_outcome o;
    uint64_t block; /* of the last call */
    char ret[4096]; /* the last call's return value */
};

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "petra");
    tc_init(&f->c, "energy");
    uint8_t s[32];
    memset(s, 40, sizeof s);
    cr_keygen_seed(&f->anon_root, s);
    memset(s, 41, sizeof s);
    cr_keygen_seed(&f->people_root, s);
    /* The DSO certifies anonymous addresses as ANON members named by
     * their key; real identities are PROSUMERS members. */
    tc_add_org(&f->c.cfg, "ANON", "anon", &f->anon_root);
    tc_add_org(&f->c.cfg, "PROSUMERS", "prosumer", &f->people_root);
    tc_certify(&f->seller, "ANON", "anon", NULL, &f->anon_root, 50);
    tc_certify(&f->buyer, "ANON", "anon", NULL, &f->anon_root, 51);
    tc_certify(&f->third, "ANON", "anon", NULL, &f->anon_root, 52);
    tc_certify(&f->real, "PROSUMERS", "prosumer", "p1", &f->people_root, 53);
    base_hex_encode(f->s_addr, f->seller.key.pk, 32);
    base_hex_encode(f->b_addr, f->buyer.key.pk, 32);
    base_hex_encode(f->t_addr, f->third.key.pk, 32);
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

#define CALL(f, m, fn, ...)                                                    \
    call((f), (m), (fn),                                                       \
         (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),  \
         (const char *[]){__VA_ARGS__})

/* Commit one petra call as @m; returns its code (reason in f->o, the return
 * value of a valid call in f->ret). */
static int call(struct fx *f, const struct tc_member *m, const char *fn, int n,
                const char **argv)
{
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 0; i < n; i++) {
        args[i].p = (const uint8_t *)argv[i];
        args[i].len = strlen(argv[i]);
    }
    struct lg_call c = {"energy", "petra", fn, (uint32_t)n, args};
    base_buf_reset(&f->tx);
    assert_int_equal(
        lg_tx_build(&f->tx, &c, &m->cert, &m->key, ++f->nonce, NULL), 0);
    struct lg_item it = {f->tx.data, f->tx.len, false};
    struct lg_header h;
    assert_int_equal(lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, &f->o, &h),
                     0);
    f->block = h.number;
    f->ret[0] = '\0';
    if (f->o.code == 0) {
        /* The return value is in the block's results. */
        struct base_buf b;
        base_buf_init(&b, 0);
        assert_int_equal(lg_block_get(f->ch, h.number, &b), 0);
        struct lg_block blk;
        assert_int_equal(lg_block_decode(&blk, b.data, b.len), 0);
        snprintf(f->ret, sizeof f->ret, "%.*s", (int)blk.results[0].payload.len,
                 (const char *)blk.results[0].payload.p);
        lg_block_release(&blk);
        base_buf_release(&b);
    }
    return f->o.code;
}

/* A string or integer member of the JSON the last call returned. */
static void ret_field(struct fx *f, const char *name, char *out, size_t size)
{
    json_t *o = json_loads(f->ret, 0, NULL);
    assert_non_null(o);
    json_t *x = json_object_get(o, name);
    assert_non_null(x);
    if (json_is_string(x)) {
        snprintf(out, size, "%s", json_string_value(x));
    } else {
        snprintf(out, size, "%lld", (long long)json_integer_value(x));
    }
    json_decref(o);
}

/* Evaluate a read and return its JSON (the caller decrefs). */
static json_t *read_json(struct fx *f, const char *fn, const char *arg)
{
    struct lg_slice a = {(const uint8_t *)arg, arg ? strlen(arg) : 0};
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    int rv = lg_evaluate(f->ch, &f->c.dso.cert, "petra", fn, arg ? 1 : 0, &a,
                         &out, reason);
    json_t *o = rv == 0 ? json_loadb((const char *)out.data, out.len,
                                     JSON_DECODE_ANY, NULL)
                        : NULL;
    base_buf_release(&out);
    return o;
}

static long long balance(struct fx *f, const char *addr)
{
    json_t *o = read_json(f, "balance", addr);
    assert_non_null(o);
    long long v = (long long)json_integer_value(o);
    json_decref(o);
    return v;
}

/* Asset @id as "owner-prefix power start end", or "none". */
static void asset_str(struct fx *f, const char *id, char *out, size_t size)
{
    json_t *o = read_json(f, "readAsset", id);
    if (o == NULL) {
        snprintf(out, size, "none");
        return;
    }
    snprintf(out, size, "%.4s %lld %lld %lld",
             json_string_value(json_object_get(o, "owner")),
             (long long)json_integer_value(json_object_get(o, "power")),
             (long long)json_integer_value(json_object_get(o, "start")),
             (long long)json_integer_value(json_object_get(o, "end")));
    json_decref(o);
}

/* Every petra key and value, for "nothing changed". */
static int dump_one(void *arg, struct lg_slice k, struct lg_slice v)
{
    struct base_buf *b = arg;
    assert_int_equal(base_buf_add(b, k.p, k.len), 0);
    assert_int_equal(base_buf_add_u8(b, '='), 0);
    assert_int_equal(base_buf_add(b, v.p, v.len), 0);
    assert_int_equal(base_buf_add_u8(b, '\n'), 0);
    return 0;
}

static void dump(struct fx *f, struct base_buf *b)
{
    base_buf_reset(b);
    assert_int_equal(lg_range(f->ch, "petra", "", 0, NULL, 0, 0, dump_one, b),
                     0);
}

static void add_energy(struct fx *f, const char *addr, const char *power,
                       const char *start, const char *end, char *id)
{
    assert_int_equal(
        CALL(f, &f->c.dso, "addEnergyAsset", addr, power, start, end), 0);
    ret_field(f, "id", id, 24);
}

/* The seller holds 5 kW of production over intervals 10..13, the buyer
 * 3 kW of consumption over 12..15 and 10 units (10,000,000 micro-units). */
static void market(struct fx *f, char *prod, char *cons)
{
    add_energy(f, f->s_addr, "5000", "10", "13", prod);
    add_energy(f, f->b_addr, "-3000", "12", "15", cons);
    assert_int_equal(
        CALL(f, &f->c.dso, "addFinancialBalance", f->b_addr, "10000000"), 0);
}

static void test_ask_accepted(void **state)
{
    struct fx *f = *state;
    char prod[24], cons[24], offer[24], s[128], v[64];
    market(f, prod, cons);
    assert_int_equal(prod[0], 'a');
    assert_int_equal(strlen(prod), 22);
    assert_int_equal(CALL(f, &f->seller, "postOffer", prod, "250000"), 0);
    ret_field(f, "id", offer, sizeof offer);
    ret_field(f, "kind", v, sizeof v);
    assert_string_equal(v, "ask");
    json_t *open = read_json(f, "openOffers", NULL);
    assert_int_equal(json_array_size(open), 1);
    json_decref(open);

    assert_int_equal(CALL(f, &f->buyer, "acceptOffer", offer, cons), 0);
    /* Overlap 12..13 (2 intervals of 15 min) at the smaller power, 3 kW:
     * 1.5 kWh at 0.25 per kWh = 375,000 micro-units. */
    ret_field(f, "status", v, sizeof v);
    assert_string_equal(v, "accepted");
    assert_int_equal(balance(f, f->b_addr), 10000000 - 375000);
    assert_int_equal(balance(f, f->s_addr), 375000);
    int64_t amt;
    assert_int_equal(sc_petra_amount(250000, 3000, 2, &amt), 0);
    assert_int_equal(amt, 375000);
    /* The originals are gone; the overlap changed hands; the rest went
     * back: A3 +3 kW 12..13 to the buyer, A4 -3 kW to the seller, then the
     * seller's 5 kW over 10..11 and 2 kW over 12..13, the buyer's -3 kW over
     * 14..15. */
    /* The two assets now hold the exchanged parts: the buyer the seller's
     * 3 kW of production over 12..13, the seller the buyer's consumption. */
    char id[32], want[128];
    asset_str(f, prod, s, sizeof s);
    snprintf(want, sizeof want, "%.4s 3000 12 13", f->b_addr);
    assert_string_equal(s, want);
    asset_str(f, cons, s, sizeof s);
    snprintf(want, sizeof want, "%.4s -3000 12 13", f->s_addr);
    assert_string_equal(s, want);
    /* What lies outside goes back as new assets, with ids from the
     * accepting transaction's block and id. */

    const char *const expect[] = {"s 5000 10 11", "s 2000 12 13",
                                  "b -3000 14 15", NULL};
    for (int k = 0; k < 4; k++) {
        sc_petra_id(id, 'a', f->block, &f->o.id, k);
        assert_int_equal(strlen(id), 22);
        asset_str(f, id, s, sizeof s);
        if (expect[k] == NULL) {
            assert_string_equal(s, "none");
            continue;
        }
        snprintf(want, sizeof want, "%.4s %s",
                 expect[k][0] == 'b' ? f->b_addr : f->s_addr, expect[k] + 2);
        assert_string_equal(s, want);
    }
    json_t *of = read_json(f, "readOffer", offer);
    json_t *tr = json_object_get(of, "trade");
    assert_string_equal(json_string_value(json_object_get(tr, "to_buyer")),
                        prod);
    assert_string_equal(json_string_value(json_object_get(tr, "to_seller")),
                        cons);
    assert_int_equal(json_array_size(json_object_get(tr, "returned")), 3);
    assert_int_equal(json_integer_value(json_object_get(tr, "amount")), 375000);
    json_decref(of);
    open = read_json(f, "openOffers", NULL);
    assert_int_equal(json_array_size(open), 0);
    json_decref(open);
}

/* Records are binary in the state (docs/petra.md gives the layouts) and
 * JSON in answers: the acceptance returns the offer exactly as readOffer
 * shows it, in jansson's compact form. */
static void test_records(void **state)
{
    struct fx *f = *state;
    char prod[24], cons[24], offer[24], want[1024];
    market(f, prod, cons);
    assert_int_equal(CALL(f, &f->seller, "postOffer", prod, "250000"), 0);
    ret_field(f, "id", offer, sizeof offer);
    assert_int_equal(CALL(f, &f->buyer, "acceptOffer", offer, cons), 0);
    char back[3][24];
    for (int k = 0; k < 3; k++) {
        sc_petra_id(back[k], 'a', f->block, &f->o.id, k);
    }
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"kind\":\"ask\",\"asset\":\"%s\",\"poster\":"
             "\"%s\",\"price\":250000,\"power\":5000,\"start\":10,\"end\":13,"
             "\"locked\":0,\"status\":\"accepted\",\"trade\":{"
             "\"accepted_with\":\"%s\",\"by\":\"%s\",\"power\":3000,"
             "\"start\":12,\"end\":13,\"amount\":375000,\"to_buyer\":\"%s\","
             "\"to_seller\":\"%s\",\"returned\":[\"%s\",\"%s\",\"%s\"]}}",
             offer, prod, f->s_addr, cons, f->b_addr, prod, cons, back[0],
             back[1], back[2]);
    assert_string_equal(f->ret, want);
    struct lg_slice a = {(const uint8_t *)offer, strlen(offer)};
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(lg_evaluate(f->ch, &f->c.dso.cert, "petra", "readOffer", 1,
                                 &a, &out, reason),
                     0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);

    /* The asset record: format 1, the owner's key, power, start, end as
     * i64 big-endian, then the locking offer's id (none: length 0). */
    char key[40];
    snprintf(key, sizeof key, "asset/%s", prod);
    base_buf_reset(&out);
    assert_int_equal(lg_get(f->ch, "petra", key, strlen(key), &out, NULL), 0);
    assert_int_equal(out.len, 58);
    assert_int_equal(out.data[0], 1);
    assert_memory_equal(out.data + 1, f->buyer.key.pk, 32);
    assert_int_equal(base_get_u64(out.data + 33), 3000);
    assert_int_equal(base_get_u64(out.data + 41), 12);
    assert_int_equal(base_get_u64(out.data + 49), 13);
    assert_int_equal(out.data[57], 0);
    a = (struct lg_slice){(const uint8_t *)prod, strlen(prod)};
    base_buf_reset(&out);
    assert_int_equal(lg_evaluate(f->ch, &f->c.dso.cert, "petra", "readAsset", 1,
                                 &a, &out, reason),
                     0);
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"owner\":\"%s\",\"power\":3000,\"start\":12,"
             "\"end\":13,\"offer\":\"\"}",
             prod, f->b_addr);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    base_buf_release(&out);
}

struct evcount {
    int posted, accepted, added, fadded;
};

static int count_ev(void *arg, const struct lg_event *e)
{
    struct evcount *c = arg;
    c->posted += strcmp(e->name, "OfferPosted") == 0;
    c->accepted += strcmp(e->name, "OfferAccepted") == 0;
    c->added += strcmp(e->name, "AssetAdded") == 0;
    c->fadded += strcmp(e->name, "FinancialAdded") == 0;
    return 0;
}

static void test_bid_accepted(void **state)
{
    struct fx *f = *state;
    char prod[24], cons[24], offer[24], v[64];
    market(f, prod, cons);
    /* The buyer bids 0.20 per kWh for all of its 3 kW over 12..15: 3 kWh,
     * 600,000 micro-units locked until the bid closes. */
    assert_int_equal(CALL(f, &f->buyer, "postOffer", cons, "200000", "bid"), 0);
    ret_field(f, "id", offer, sizeof offer);
    ret_field(f, "locked", v, sizeof v);
    assert_string_equal(v, "600000");
    assert_int_equal(balance(f, f->b_addr), 10000000 - 600000);
    assert_int_equal(CALL(f, &f->seller, "acceptOffer", offer, prod), 0);
    /* Only 12..13 overlaps: 1.5 kWh, 300,000; the rest comes back. */
    assert_int_equal(balance(f, f->s_addr), 300000);
    assert_int_equal(balance(f, f->b_addr), 10000000 - 300000);
    struct evcount c = {0};
    assert_int_equal(lg_events(f->ch, 0, count_ev, &c), 0);
    assert_int_equal(c.added, 2);
    assert_int_equal(c.fadded, 1);
    assert_int_equal(c.posted, 1);
    assert_int_equal(c.accepted, 1);
}

static void test_rescind_and_deposit(void **state)
{
    struct fx *f = *state;
    char prod[24], cons[24], offer[24], s[128];
    market(f, prod, cons);
    assert_int_equal(CALL(f, &f->buyer, "postOffer", cons, "100000"), 0);
    ret_field(f, "id", offer, sizeof offer);
    assert_int_equal(balance(f, f->b_addr), 10000000 - 300000);
    assert_int_equal(CALL(f, &f->buyer, "rescindOffer", offer), 0);
    assert_int_equal(balance(f, f->b_addr), 10000000);
    json_t *o = read_json(f, "readOffer", offer);
    assert_string_equal(json_string_value(json_object_get(o, "status")),
                        "rescinded");
    json_decref(o);
    /* Unlocked: it can be deposited back to the DSO now. */
    assert_int_equal(CALL(f, &f->buyer, "depositEnergyAsset", cons), 0);
    asset_str(f, cons, s, sizeof s);
    assert_string_equal(s, "none");
    assert_int_equal(CALL(f, &f->buyer, "depositFinancial", "4000000"), 0);
    assert_int_equal(balance(f, f->b_addr), 6000000);
    o = read_json(f, "deposits", "0");
    assert_int_equal(json_array_size(o), 2);
    json_t *d0 = json_array_get(o, 0), *d1 = json_array_get(o, 1);
    assert_string_equal(json_string_value(json_object_get(d0, "kind")),
                        "energy");
    assert_int_equal(json_integer_value(json_object_get(d0, "power")), -3000);
    assert_string_equal(json_string_value(json_object_get(d0, "address")),
                        f->b_addr);
    assert_string_equal(json_string_value(json_object_get(d1, "kind")),
                        "financial");
    assert_int_equal(json_integer_value(json_object_get(d1, "amount")),
                     4000000);
    assert_int_equal(json_integer_value(json_object_get(d1, "seq")), 2);
    json_decref(o);
    o = read_json(f, "deposits", "2");
    assert_int_equal(json_array_size(o), 1);
    json_decref(o);
}

/* Each bad call is refused with its code and a reason, and leaves every
 * petra key as it was. */
static void refused(struct fx *f, int code, const char *part,
                    const struct tc_member *m, const char *fn, int n,
                    const char **argv)
{
    struct base_buf before, after;
    base_buf_init(&before, 0);
    base_buf_init(&after, 0);
    dump(f, &before);
    int rv = call(f, m, fn, n, argv);
    if (rv != code) {
        fail_msg("%s: code %d, want %d (%s)", fn, rv, code, f->o.reason);
    }
    if (strstr(f->o.reason, part) == NULL) {
        fail_msg("%s: reason '%s' lacks '%s'", fn, f->o.reason, part);
    }
    dump(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    base_buf_release(&before);
    base_buf_release(&after);
}

#define REFUSED(f, code, part, m, fn, ...)                                     \
    refused(                                                                   \
        (f), (code), (part), (m), (fn),                                        \
        (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),   \
        (const char *[]){__VA_ARGS__})

static void test_bad_input(void **state)
{
    struct fx *f = *state;
    char prod[24], cons[24], offer[24], far[24], prod2[24];
    market(f, prod, cons);
    add_energy(f, f->b_addr, "-1000", "20", "21", far);
    add_energy(f, f->t_addr, "1000", "12", "12", prod2);
    const struct tc_member *dso = &f->c.dso;

    /* Withdrawals the contract refuses. */
    REFUSED(f, BASE_EARGS, "power must not be zero", dso, "addEnergyAsset",
            f->s_addr, "0", "1", "2");
    /* Negative power is consumption (the paper's sign); beyond 1 GW either
     * way it is refused. */
    REFUSED(f, BASE_EARGS, "power (W) must be an integer in", dso,
            "addEnergyAsset", f->s_addr, "-1000000001", "1", "2");
    REFUSED(f, BASE_EARGS, "start must be an integer in [0,", dso,
            "addEnergyAsset", f->s_addr, "-5", "-1", "2");
    REFUSED(f, BASE_EARGS, "end 1 is before start 2", dso, "addEnergyAsset",
            f->s_addr, "100", "2", "1");
    REFUSED(f, BASE_EARGS, "64 lowercase hex", dso, "addEnergyAsset", "p1",
            "100", "1", "2");
    REFUSED(f, BASE_EARGS, "power (W) must be an integer", dso,
            "addEnergyAsset", f->s_addr, "1.5", "1", "2");
    REFUSED(f, BASE_EARGS, "amount must be an integer in [1,", dso,
            "addFinancialBalance", f->s_addr, "-5");
    REFUSED(f, BASE_EARGS, "amount must be", dso, "addFinancialBalance",
            f->s_addr, "0");
    /* Only the DSO withdraws; no real identity trades. */
    REFUSED(f, BASE_EPERM, "role 'anon' may not call petra.addEnergyAsset",
            &f->seller, "addEnergyAsset", f->s_addr, "100", "1", "2");
    REFUSED(f, BASE_EPERM, "role 'prosumer' may not call petra.postOffer",
            &f->real, "postOffer", prod, "1");

    /* Offers. */
    REFUSED(f, BASE_ENOTFOUND, "asset 'A99' does not exist", &f->seller,
            "postOffer", "A99", "1");
    REFUSED(f, BASE_EPERM, "belongs to another address", &f->buyer, "postOffer",
            prod, "1");
    REFUSED(f, BASE_EARGS, "price", &f->seller, "postOffer", prod, "-1");
    REFUSED(f, BASE_EINVAL,
            "production asset: it can only be offered as an "
            "ask",
            &f->seller, "postOffer", prod, "1", "bid");
    REFUSED(f, BASE_EINVAL, "consumption asset", &f->buyer, "postOffer", cons,
            "1", "ask");
    REFUSED(f, BASE_EARGS, "ask or bid", &f->seller, "postOffer", prod, "1",
            "swap");
    /* A bid locks its cost: 3 kW over 4 intervals at 10 per kWh would be
     * 30 units, more than the 10 the buyer holds. */
    REFUSED(f, BASE_EINVAL, "short of 30000000", &f->buyer, "postOffer", cons,
            "10000000");

    assert_int_equal(CALL(f, &f->seller, "postOffer", prod, "250000"), 0);
    ret_field(f, "id", offer, sizeof offer);
    REFUSED(f, BASE_EINVAL, "locked by open offer", &f->seller, "postOffer",
            prod, "1");
    REFUSED(f, BASE_EINVAL, "locked by open offer", &f->seller,
            "depositEnergyAsset", prod);
    REFUSED(f, BASE_EPERM, "posted by another address", &f->buyer,
            "rescindOffer", offer);
    REFUSED(f, BASE_ENOTFOUND, "offer 'O42' does not exist", &f->buyer,
            "rescindOffer", "O42");

    /* Acceptance. */
    REFUSED(f, BASE_ENOTFOUND, "offer 'O42' does not exist", &f->buyer,
            "acceptOffer", "O42", cons);
    REFUSED(f, BASE_ENOTFOUND, "asset 'A77' does not exist", &f->buyer,
            "acceptOffer", offer, "A77");
    REFUSED(f, BASE_EPERM, "belongs to another address", &f->buyer,
            "acceptOffer", offer, prod2);
    REFUSED(f, BASE_EINVAL, "accept it with a consumption asset", &f->third,
            "acceptOffer", offer, prod2);
    REFUSED(f, BASE_EPERM, "own offer", &f->seller, "acceptOffer", offer, prod);
    REFUSED(f, BASE_EINVAL, "intervals do not overlap", &f->buyer,
            "acceptOffer", offer, far);
    /* The third address holds no funds: 1 kW over 12..13 costs 125,000. */
    char tcons[24];
    add_energy(f, f->t_addr, "-1000", "12", "13", tcons);
    REFUSED(f, BASE_EINVAL, "short of 125000", &f->third, "acceptOffer", offer,
            tcons);
    REFUSED(f, BASE_EINVAL, "short of 1", &f->third, "depositFinancial", "1");

    assert_int_equal(CALL(f, &f->buyer, "acceptOffer", offer, cons), 0);
    REFUSED(f, BASE_EINVAL, "is accepted, not open", &f->buyer, "acceptOffer",
            offer, far);
    REFUSED(f, BASE_EINVAL, "is accepted, not open", &f->seller, "rescindOffer",
            offer);
    /* The buyer's consumption asset is the seller's now. */
    REFUSED(f, BASE_EPERM, "belongs to another address", &f->buyer,
            "depositEnergyAsset", cons);
    REFUSED(f, BASE_ENOTFOUND, "does not exist", &f->buyer,
            "depositEnergyAsset", "a0000");
    REFUSED(f, BASE_EARGS, "usage: acceptOffer", &f->buyer, "acceptOffer",
            offer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ask_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bid_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rescind_and_deposit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
