/* SPDX-License-Identifier: MIT */
/* The petra contract (paper 004): energy and financial assets held by
 * anonymous addresses, offers to sell (asks) and buy (bids) energy, and
 * their acceptance with partial overlap of time intervals and power. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract/contract.h"

#define ID_MAX    (SC_PETRA_ID_SIZE - 1)
#define ADDR_LEN  64           /* hex of an Ed25519 public key */
#define POWER_MAX 1000000000LL /* 1 GW */
#define TIME_MAX  1000000000LL /* intervals */
#define PRICE_MAX 1000000000000LL
#define FUNDS_MAX 1000000000000000LL
#define LIST_MAX  1000

struct asset {
    char id[ID_MAX + 1];
    char owner[ADDR_LEN + 1];
    int64_t power, start, end;
    char offer[ID_MAX + 1]; /* the open offer that locks it, or "" */
};

struct offer {
    char id[ID_MAX + 1];
    char kind[4]; /* "ask" or "bid" */
    char asset[ID_MAX + 1];
    char poster[ADDR_LEN + 1];
    int64_t price, power, start, end;
    int64_t locked;  /* a bid's funds held until accepted or rescinded */
    char status[12]; /* open, accepted, rescinded */
};

/* ---- amounts -------------------------------------------------------------
 * Price in micro-units per kWh, power in W, time in intervals of
 * SC_PETRA_INTERVAL_S seconds: amount = price * W * n * s / 3.6e6 micro-units,
 * rounded down, refused when it does not fit in 63 bits. */

static int amount_of(int64_t price, int64_t watts, int64_t n, int64_t *out)
{
    int64_t a;
    if (__builtin_mul_overflow(price, watts, &a) ||
        __builtin_mul_overflow(a, n, &a) ||
        __builtin_mul_overflow(a, (int64_t)SC_PETRA_INTERVAL_S, &a)) {
        return BASE_ETOOBIG;
    }
    *out = a / 3600000;
    return 0;
}

int sc_petra_amount(int64_t price, int64_t watts, int64_t intervals,
                    int64_t *out)
{
    if (price < 0 || watts < 0 || intervals < 0) {
        return BASE_EINVAL;
    }
    return amount_of(price, watts, intervals, out);
}

/* ---- arguments ---------------------------------------------------------- */

static int int_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                   const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    if (sc_arg_i64(a, out) != 0 || *out < lo || *out > hi) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "%s must be an integer in [%lld, %lld]", what,
                           (long long)lo, (long long)hi);
    }
    return 0;
}

static int id_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                  const char *what, char out[ID_MAX + 1])
{
    if (a->len == 0 || sc_arg_str(a, out, ID_MAX + 1) != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "%s id must be 1..%d bytes", what,
                           ID_MAX);
    }
    return 0;
}

static bool is_addr(const char *s)
{
    if (strlen(s) != ADDR_LEN) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return false;
        }
    }
    return true;
}

static int addr_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                    char out[ADDR_LEN + 1])
{
    if (sc_arg_str(a, out, ADDR_LEN + 1) != 0 || !is_addr(out)) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "an address is 64 lowercase hex digits (an "
                           "Ed25519 public key)");
    }
    return 0;
}

/* The caller's anonymous address: the public key of its certificate. */
static void caller_addr(const struct lg_ctx *ctx, char out[ADDR_LEN + 1])
{
    base_hex_encode(out, lg_ctx_caller(ctx)->pk, CR_PUBKEY_SIZE);
}

/* ---- state ----------------------------------------------------------------
 * asset/ID    {"id","owner","power","start","end","offer"}
 * offer/ID    {"id","kind","asset","poster","price","power","start","end",
 *              "locked","status", and once accepted "trade"}
 * open/ID     "" while the offer is open
 * acct/ADDR   the key of the address's balance record, bal/ID
 * bal/ID      the address's free balance, decimal
 * dep/SEQ     a deposit (SEQ zero-padded to 12 digits)
 * n/dep       the deposit counter */

static int put_json(struct lg_ctx *ctx, const char *key, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    int rv = lg_ctx_put(ctx, key, strlen(key), s, strlen(s));
    free(s);
    return rv;
}

static json_t *get_json(struct lg_ctx *ctx, const char *key)
{
    struct lg_slice v;
    if (lg_ctx_get(ctx, key, strlen(key), &v) != 0) {
        return NULL;
    }
    return json_loadb((const char *)v.p, v.len, 0, NULL);
}

static int64_t get_int(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static void get_str(json_t *o, const char *k, char *out, size_t size)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(out, size, "%s", s ? s : "");
}

/* Next value of counter @name, as "PREFIX<n>" in @out and in @seq. */
static int next_id(struct lg_ctx *ctx, const char *name, const char *prefix,
                   char out[ID_MAX + 1], int64_t *seq)
{
    char key[16], num[24] = "0";
    snprintf(key, sizeof key, "n/%s", name);
    struct lg_slice v;
    int64_t n = 0;
    if (lg_ctx_get(ctx, key, strlen(key), &v) == 0 && v.len < sizeof num) {
        memcpy(num, v.p, v.len);
        num[v.len] = '\0';
        if (base_parse_i64(num, &n) != 0) {
            return lg_ctx_fail(ctx, BASE_ECORRUPT, "counter %s is corrupt",
                               key);
        }
    }
    n++;
    int len = snprintf(num, sizeof num, "%lld", (long long)n);
    snprintf(out, ID_MAX + 1, "%s%lld", prefix, (long long)n);
    if (seq != NULL) {
        *seq = n;
    }
    return lg_ctx_put(ctx, key, strlen(key), num, (size_t)len);
}

static int asset_store(struct lg_ctx *ctx, const struct asset *a)
{
    char key[8 + ID_MAX];
    snprintf(key, sizeof key, "asset/%s", a->id);
    return put_json(ctx, key,
                    json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "id", a->id,
                              "owner", a->owner, "power", (json_int_t)a->power,
                              "start", (json_int_t)a->start, "end",
                              (json_int_t)a->end, "offer", a->offer));
}

static int asset_load(struct lg_ctx *ctx, const char *id, struct asset *a)
{
    char key[8 + ID_MAX];
    snprintf(key, sizeof key, "asset/%s", id);
    json_t *o = get_json(ctx, key);
    if (o == NULL) {
        return lg_ctx_fail(ctx, BASE_ENOTFOUND, "asset '%s' does not exist",
                           id);
    }
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", id);
    get_str(o, "owner", a->owner, sizeof a->owner);
    get_str(o, "offer", a->offer, sizeof a->offer);
    a->power = get_int(o, "power");
    a->start = get_int(o, "start");
    a->end = get_int(o, "end");
    json_decref(o);
    return 0;
}

static int asset_delete(struct lg_ctx *ctx, const char *id)
{
    char key[8 + ID_MAX];
    snprintf(key, sizeof key, "asset/%s", id);
    return lg_ctx_del(ctx, key, strlen(key));
}

/* Ids come from the block and the transaction: "a", the block number in
 * ten digits, ".", 8 hex digits of the transaction id, then "-K" for the
 * K-th asset the call makes; an offer is "o" and the same. The client that
 * submitted the call knows them from its result (block and id) without
 * reading them back, they say nothing about who holds what, and they grow
 * with the chain, so new records land together at the end of the state. */
void sc_petra_id(char out[SC_PETRA_ID_SIZE], char kind, uint64_t block,
                 const struct cr_hash *txid, int k)
{
    char hex[9];
    base_hex_encode(hex, txid->b, 4);
    if (k < 0) {
        snprintf(out, SC_PETRA_ID_SIZE, "%c%010llu.%s", kind,
                 (unsigned long long)block, hex);
    } else {
        snprintf(out, SC_PETRA_ID_SIZE, "%c%010llu.%s-%d", kind,
                 (unsigned long long)block, hex, k);
    }
}

static void tx_id(struct lg_ctx *ctx, char prefix, int k, char out[ID_MAX + 1])
{
    sc_petra_id(out, prefix, lg_ctx_block(ctx), lg_ctx_txid(ctx), k);
}

/* The @k-th new asset of this call, for @owner; its id goes to @out (may
 * be NULL). */
static int asset_new(struct lg_ctx *ctx, int k, const char *owner,
                     int64_t power, int64_t start, int64_t end, char *out)
{
    struct asset a;
    memset(&a, 0, sizeof a);
    tx_id(ctx, 'a', k, a.id);
    snprintf(a.owner, sizeof a.owner, "%s", owner);
    a.power = power;
    a.start = start;
    a.end = end;
    if (out != NULL) {
        snprintf(out, ID_MAX + 1, "%s", a.id);
    }
    return asset_store(ctx, &a);
}

static json_t *asset_json(const struct asset *a)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", a->id, "owner",
                     a->owner, "power", (json_int_t)a->power, "start",
                     (json_int_t)a->start, "end", (json_int_t)a->end);
}

static json_t *offer_json(const struct offer *f)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "id",
                     f->id, "kind", f->kind, "asset", f->asset, "poster",
                     f->poster, "price", (json_int_t)f->price, "power",
                     (json_int_t)f->power, "start", (json_int_t)f->start, "end",
                     (json_int_t)f->end, "locked", (json_int_t)f->locked,
                     "status", f->status);
}

/* Store the offer under offer/ID; open/ID marks it while it is open (an
 * empty value: the index openOffers walks). */
static int offer_store(struct lg_ctx *ctx, const struct offer *f, json_t *o)
{
    char key[8 + ID_MAX], open[8 + ID_MAX];
    snprintf(key, sizeof key, "offer/%s", f->id);
    snprintf(open, sizeof open, "open/%s", f->id);
    bool is_open = strcmp(f->status, "open") == 0;
    int rv = is_open ? lg_ctx_put(ctx, open, strlen(open), "", 0)
                     : lg_ctx_del(ctx, open, strlen(open));
    if (rv == 0) {
        return put_json(ctx, key, o);
    }
    json_decref(o);
    return rv;
}

static int offer_load(struct lg_ctx *ctx, const char *id, struct offer *f)
{
    char key[8 + ID_MAX];
    snprintf(key, sizeof key, "offer/%s", id);
    json_t *o = get_json(ctx, key);
    if (o == NULL) {
        return lg_ctx_fail(ctx, BASE_ENOTFOUND, "offer '%s' does not exist",
                           id);
    }
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    get_str(o, "kind", f->kind, sizeof f->kind);
    get_str(o, "asset", f->asset, sizeof f->asset);
    get_str(o, "poster", f->poster, sizeof f->poster);
    get_str(o, "status", f->status, sizeof f->status);
    f->price = get_int(o, "price");
    f->power = get_int(o, "power");
    f->start = get_int(o, "start");
    f->end = get_int(o, "end");
    f->locked = get_int(o, "locked");
    json_decref(o);
    return 0;
}

/* An address's account: acct/ADDR names its balance record, made when
 * the address first appears (at its withdrawal) with an id that grows with
 * the chain, as asset ids do. A trade then reads two random keys but
 * writes its balances among the records of the same time, which keeps
 * LMDB's dirty pages few. The key of the balance goes to @key; @create
 * makes the account if missing, as the @k-th account of the call. */
#define BAL_KEY_SIZE (8 + ID_MAX)

static int account(struct lg_ctx *ctx, const char *addr, bool create, int k,
                   char key[BAL_KEY_SIZE])
{
    char akey[8 + ADDR_LEN];
    snprintf(akey, sizeof akey, "acct/%s", addr);
    struct lg_slice v;
    if (lg_ctx_get(ctx, akey, strlen(akey), &v) == 0) {
        if (v.len == 0 || v.len > ID_MAX) {
            return lg_ctx_fail(ctx, BASE_ECORRUPT,
                               "account of %.12s... is corrupt", addr);
        }
        snprintf(key, BAL_KEY_SIZE, "bal/%.*s", (int)v.len, (const char *)v.p);
        return 0;
    }
    if (!create) {
        return BASE_ENOTFOUND;
    }
    char id[ID_MAX + 1];
    tx_id(ctx, 'b', k, id);
    snprintf(key, BAL_KEY_SIZE, "bal/%s", id);
    return lg_ctx_put(ctx, akey, strlen(akey), id, strlen(id));
}

static int balance_read(struct lg_ctx *ctx, const char *addr, const char *key,
                        int64_t *out)
{
    char num[24];
    struct lg_slice v;
    *out = 0;
    if (lg_ctx_get(ctx, key, strlen(key), &v) != 0) {
        return 0;
    }
    if (v.len >= sizeof num) {
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "balance of %s is corrupt",
                           addr);
    }
    memcpy(num, v.p, v.len);
    num[v.len] = '\0';
    if (base_parse_i64(num, out) != 0) {
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "balance of %s is corrupt",
                           addr);
    }
    return 0;
}

static int balance_get(struct lg_ctx *ctx, const char *addr, int64_t *out)
{
    char key[BAL_KEY_SIZE];
    int rv = account(ctx, addr, false, 0, key);
    if (rv == BASE_ENOTFOUND) {
        *out = 0;
        return 0;
    }
    return rv ? rv : balance_read(ctx, addr, key, out);
}

/* Add @delta (may be negative) to the balance of @addr, which must not go
 * below zero or above FUNDS_MAX; @k numbers a new account in the call. */
static int balance_add(struct lg_ctx *ctx, const char *addr, int64_t delta,
                       int k)
{
    char key[BAL_KEY_SIZE];
    int64_t b = 0;
    int rv = account(ctx, addr, delta > 0, k, key);
    if (rv != 0 && rv != BASE_ENOTFOUND) {
        return rv;
    }
    if (rv == 0) {
        rv = balance_read(ctx, addr, key, &b);
        if (rv != 0) {
            return rv;
        }
    }
    if (b + delta < 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "balance of %.12s... is %lld, short of %lld", addr,
                           (long long)b, (long long)-delta);
    }
    if (b + delta > FUNDS_MAX) {
        return lg_ctx_fail(ctx, BASE_ETOOBIG,
                           "balance of %.12s... would exceed %lld", addr,
                           (long long)FUNDS_MAX);
    }
    if (delta == 0) {
        return 0;
    }
    char num[24];
    int len = snprintf(num, sizeof num, "%lld", (long long)(b + delta));
    return lg_ctx_put(ctx, key, strlen(key), num, (size_t)len);
}

/* The asset @id, owned by the caller and not locked by an offer. */
static int own_free_asset(struct lg_ctx *ctx, const char *id, const char *me,
                          struct asset *a)
{
    int rv = asset_load(ctx, id, a);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(a->owner, me) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "asset '%s' belongs to another address", id);
    }
    if (a->offer[0] != '\0') {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "asset '%s' is locked by open offer '%s'", id,
                           a->offer);
    }
    return 0;
}

static int emit_json(struct lg_ctx *ctx, const char *event, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    size_t n = strlen(s);
    int rv = lg_ctx_emit(ctx, event, s, n);
    if (rv == 0) {
        rv = lg_ctx_return(ctx, s, n);
    }
    free(s);
    return rv;
}

/* ---- the DSO: withdrawals ------------------------------------------------ */

static int add_energy(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 4) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: addEnergyAsset ADDRESS POWER_W START END");
    }
    char addr[ADDR_LEN + 1];
    int64_t power, start, end;
    int rv = addr_arg(ctx, &argv[0], addr);
    rv =
        rv ? rv
           : int_arg(ctx, &argv[1], "power (W)", -POWER_MAX, POWER_MAX, &power);
    rv = rv ? rv : int_arg(ctx, &argv[2], "start", 0, TIME_MAX, &start);
    rv = rv ? rv : int_arg(ctx, &argv[3], "end", 0, TIME_MAX, &end);
    if (rv != 0) {
        return rv;
    }
    if (power == 0) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "power must not be zero (positive: production, "
                           "negative: consumption)");
    }
    if (end < start) {
        return lg_ctx_fail(ctx, BASE_EARGS, "end %lld is before start %lld",
                           (long long)end, (long long)start);
    }
    /* The address's account, made now, off the trading path. */
    char bal[BAL_KEY_SIZE];
    rv = account(ctx, addr, true, 0, bal);
    struct asset a;
    memset(&a, 0, sizeof a);
    rv = rv ? rv : asset_new(ctx, 0, addr, power, start, end, a.id);
    if (rv != 0) {
        return rv;
    }
    snprintf(a.owner, sizeof a.owner, "%s", addr);
    a.power = power;
    a.start = start;
    a.end = end;
    return emit_json(ctx, "AssetAdded", asset_json(&a));
}

static int add_financial(struct lg_ctx *ctx, uint32_t argc,
                         const struct lg_slice *argv)
{
    if (argc != 2) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: addFinancialBalance ADDRESS AMOUNT");
    }
    char addr[ADDR_LEN + 1];
    int64_t amount, bal;
    int rv = addr_arg(ctx, &argv[0], addr);
    rv = rv ? rv : int_arg(ctx, &argv[1], "amount", 1, FUNDS_MAX, &amount);
    rv = rv ? rv : balance_add(ctx, addr, amount, 0);
    rv = rv ? rv : balance_get(ctx, addr, &bal);
    if (rv != 0) {
        return rv;
    }
    return emit_json(ctx, "FinancialAdded",
                     json_pack("{s:s, s:I, s:I}", "address", addr, "amount",
                               (json_int_t)amount, "balance", (json_int_t)bal));
}

/* ---- anonymous addresses: trading ------------------------------------------
 */

static int post_offer(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 2 && argc != 3) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: postOffer ASSET PRICE [ask|bid]");
    }
    char me[ADDR_LEN + 1], id[ID_MAX + 1], kind[8] = "";
    caller_addr(ctx, me);
    struct offer f;
    memset(&f, 0, sizeof f);
    int rv = id_arg(ctx, &argv[0], "asset", id);
    rv = rv ? rv
            : int_arg(ctx, &argv[1], "price (micro-units per kWh)", 0,
                      PRICE_MAX, &f.price);
    if (rv == 0 && argc == 3 &&
        (sc_arg_str(&argv[2], kind, sizeof kind) != 0 ||
         (strcmp(kind, "ask") != 0 && strcmp(kind, "bid") != 0))) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "the kind of offer is ask or bid");
    }
    struct asset a;
    rv = rv ? rv : own_free_asset(ctx, id, me, &a);
    if (rv != 0) {
        return rv;
    }
    const char *is = a.power > 0 ? "ask" : "bid";
    if (kind[0] != '\0' && strcmp(kind, is) != 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "asset '%s' is a %s asset: it can only be offered "
                           "as %s %s",
                           id, a.power > 0 ? "production" : "consumption",
                           a.power > 0 ? "an" : "a", is);
    }
    snprintf(f.kind, sizeof f.kind, "%s", is);
    snprintf(f.asset, sizeof f.asset, "%s", id);
    snprintf(f.poster, sizeof f.poster, "%s", me);
    snprintf(f.status, sizeof f.status, "open");
    f.power = a.power;
    f.start = a.start;
    f.end = a.end;
    if (a.power < 0) {
        /* A bid holds the most it can cost until it is accepted or
         * rescinded, so that the seller is always paid. */
        if (amount_of(f.price, -a.power, a.end - a.start + 1, &f.locked) != 0) {
            return lg_ctx_fail(ctx, BASE_ETOOBIG, "the bid's cost overflows");
        }
        rv = balance_add(ctx, me, -f.locked, 0);
        if (rv != 0) {
            return rv;
        }
    }
    tx_id(ctx, 'o', -1, f.id);
    snprintf(a.offer, sizeof a.offer, "%s", f.id);
    rv = rv ? rv : asset_store(ctx, &a);
    json_t *o = offer_json(&f);
    rv = rv ? rv : offer_store(ctx, &f, json_incref(o));
    if (rv == 0) {
        return emit_json(ctx, "OfferPosted", o);
    }
    json_decref(o);
    return rv;
}

static int rescind_offer(struct lg_ctx *ctx, uint32_t argc,
                         const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: rescindOffer OFFER");
    }
    char me[ADDR_LEN + 1], id[ID_MAX + 1];
    caller_addr(ctx, me);
    struct offer f;
    struct asset a;
    int rv = id_arg(ctx, &argv[0], "offer", id);
    rv = rv ? rv : offer_load(ctx, id, &f);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(f.poster, me) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "offer '%s' was posted by another address", id);
    }
    if (strcmp(f.status, "open") != 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL, "offer '%s' is %s, not open", id,
                           f.status);
    }
    rv = asset_load(ctx, f.asset, &a);
    if (rv != 0) {
        return rv;
    }
    a.offer[0] = '\0';
    rv = asset_store(ctx, &a);
    if (rv == 0 && f.locked > 0) {
        rv = balance_add(ctx, me, f.locked, 0);
    }
    snprintf(f.status, sizeof f.status, "rescinded");
    json_t *o = offer_json(&f);
    rv = rv ? rv : offer_store(ctx, &f, json_incref(o));
    if (rv == 0) {
        return emit_json(ctx, "OfferRescinded", o);
    }
    json_decref(o);
    return rv;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Give back to @owner what of asset @a lies outside [s, e], and @rest W of
 * it over [s, e]; the ids of the new assets are appended to @ids. */
static int give_back(struct lg_ctx *ctx, int *k, const struct asset *a,
                     int64_t s, int64_t e, int64_t rest, json_t *ids)
{
    struct {
        int64_t power, start, end;
    } parts[3] = {
        {a->power, a->start, s - 1}, {rest, s, e}, {a->power, e + 1, a->end}};
    for (size_t i = 0; i < 3; i++) {
        if (parts[i].power == 0 || parts[i].end < parts[i].start) {
            continue;
        }
        char id[ID_MAX + 1];
        int rv = asset_new(ctx, (*k)++, a->owner, parts[i].power,
                           parts[i].start, parts[i].end, id);
        if (rv == 0 && json_array_append_new(ids, json_string(id)) != 0) {
            rv = BASE_ENOMEM;
        }
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int accept_offer(struct lg_ctx *ctx, uint32_t argc,
                        const struct lg_slice *argv)
{
    if (argc != 2) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: acceptOffer OFFER ASSET");
    }
    char me[ADDR_LEN + 1], oid[ID_MAX + 1], aid[ID_MAX + 1];
    caller_addr(ctx, me);
    struct offer f;
    struct asset mine, theirs;
    int rv = id_arg(ctx, &argv[0], "offer", oid);
    rv = rv ? rv : id_arg(ctx, &argv[1], "asset", aid);
    rv = rv ? rv : offer_load(ctx, oid, &f);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(f.status, "open") != 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL, "offer '%s' is %s, not open", oid,
                           f.status);
    }
    if (strcmp(f.poster, me) == 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "offer '%s' is the caller's own offer", oid);
    }
    rv = own_free_asset(ctx, aid, me, &mine);
    rv = rv ? rv : asset_load(ctx, f.asset, &theirs);
    if (rv != 0) {
        return rv;
    }
    bool ask = strcmp(f.kind, "ask") == 0;
    if (ask && mine.power > 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "offer '%s' is an ask: accept it with a "
                           "consumption asset, not production asset '%s'",
                           oid, aid);
    }
    if (!ask && mine.power < 0) {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "offer '%s' is a bid: accept it with a production "
                           "asset, not consumption asset '%s'",
                           oid, aid);
    }
    int64_t s = max64(mine.start, theirs.start);
    int64_t e = min64(mine.end, theirs.end);
    if (s > e) {
        return lg_ctx_fail(ctx, BASE_EINVAL,
                           "intervals do not overlap: offer '%s' covers "
                           "%lld..%lld, asset '%s' %lld..%lld",
                           oid, (long long)theirs.start, (long long)theirs.end,
                           aid, (long long)mine.start, (long long)mine.end);
    }
    const struct asset *prod = ask ? &theirs : &mine;
    const struct asset *cons = ask ? &mine : &theirs;
    int64_t p = min64(prod->power, -cons->power);
    int64_t pay;
    if (amount_of(f.price, p, e - s + 1, &pay) != 0) {
        return lg_ctx_fail(ctx, BASE_ETOOBIG, "the trade's amount overflows");
    }
    /* Funds: the buyer pays price x exchanged energy to the seller; a bid's
     * poster gets back what it locked beyond that. */
    if (ask) {
        rv = balance_add(ctx, me, -pay, 0);
        rv = rv ? rv : balance_add(ctx, f.poster, pay, 1);
    } else {
        rv = balance_add(ctx, me, pay, 0);
        rv = rv ? rv : balance_add(ctx, f.poster, f.locked - pay, 1);
    }
    /* Energy: the overlapping parts change hands (the buyer holds the
     * production, the seller the consumption): the two assets are
     * rewritten in place as those parts, which keeps a trade's writes
     * few; what lies outside them goes back to the owners as new assets. */
    json_t *back = json_array();
    struct asset to_buyer = *prod, to_seller = *cons;
    snprintf(to_buyer.owner, sizeof to_buyer.owner, "%s", cons->owner);
    snprintf(to_seller.owner, sizeof to_seller.owner, "%s", prod->owner);
    to_buyer.power = p;
    to_seller.power = -p;
    to_buyer.start = to_seller.start = s;
    to_buyer.end = to_seller.end = e;
    to_buyer.offer[0] = to_seller.offer[0] = '\0';
    int k = 0;
    rv = rv ? rv : (back ? 0 : BASE_ENOMEM);
    rv = rv ? rv : give_back(ctx, &k, prod, s, e, prod->power - p, back);
    rv = rv ? rv : give_back(ctx, &k, cons, s, e, cons->power + p, back);
    rv = rv ? rv : asset_store(ctx, &to_buyer);
    rv = rv ? rv : asset_store(ctx, &to_seller);
    snprintf(f.status, sizeof f.status, "accepted");
    json_t *o = offer_json(&f);
    json_t *trade = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:O}", "accepted_with", aid,
        "by", me, "power", (json_int_t)p, "start", (json_int_t)s, "end",
        (json_int_t)e, "amount", (json_int_t)pay, "to_buyer", to_buyer.id,
        "to_seller", to_seller.id, "returned", back ? back : json_null());
    json_decref(back);
    if (rv == 0 && o != NULL && trade != NULL) {
        /* json_object_set_new takes the reference even when it fails. */
        rv = json_object_set_new(o, "trade", trade) ? BASE_ENOMEM : 0;
        trade = NULL;
    } else if (rv == 0) {
        rv = BASE_ENOMEM;
    }
    json_decref(trade);
    rv = rv ? rv : offer_store(ctx, &f, json_incref(o));
    if (rv == 0) {
        return emit_json(ctx, "OfferAccepted", o);
    }
    json_decref(o);
    return rv;
}

/* ---- deposits ------------------------------------------------------------ */

static int log_deposit(struct lg_ctx *ctx, json_t *o, const char *event)
{
    char key[24], id[ID_MAX + 1];
    int64_t seq = 0;
    int rv = o ? next_id(ctx, "dep", "", id, &seq) : BASE_ENOMEM;
    if (rv == 0 && json_object_set_new(o, "seq", json_integer(seq)) != 0) {
        rv = BASE_ENOMEM;
    }
    if (rv != 0) {
        json_decref(o);
        return rv;
    }
    snprintf(key, sizeof key, "dep/%012lld", (long long)seq);
    rv = put_json(ctx, key, json_incref(o));
    if (rv == 0) {
        return emit_json(ctx, event, o);
    }
    json_decref(o);
    return rv;
}

static int deposit_energy(struct lg_ctx *ctx, uint32_t argc,
                          const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: depositEnergyAsset ASSET");
    }
    char me[ADDR_LEN + 1], id[ID_MAX + 1];
    caller_addr(ctx, me);
    struct asset a;
    int rv = id_arg(ctx, &argv[0], "asset", id);
    rv = rv ? rv : own_free_asset(ctx, id, me, &a);
    rv = rv ? rv : asset_delete(ctx, id);
    if (rv != 0) {
        return rv;
    }
    return log_deposit(ctx,
                       json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "address",
                                 me, "kind", "energy", "asset", id, "power",
                                 (json_int_t)a.power, "start",
                                 (json_int_t)a.start, "end", (json_int_t)a.end),
                       "AssetDeposited");
}

static int deposit_financial(struct lg_ctx *ctx, uint32_t argc,
                             const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: depositFinancial AMOUNT");
    }
    char me[ADDR_LEN + 1];
    caller_addr(ctx, me);
    int64_t amount;
    int rv = int_arg(ctx, &argv[0], "amount", 1, FUNDS_MAX, &amount);
    rv = rv ? rv : balance_add(ctx, me, -amount, 0);
    if (rv != 0) {
        return rv;
    }
    return log_deposit(ctx,
                       json_pack("{s:s, s:s, s:I}", "address", me, "kind",
                                 "financial", "amount", (json_int_t)amount),
                       "FinancialDeposited");
}

/* ---- reads ----------------------------------------------------------------
 */

static int read_key(struct lg_ctx *ctx, const char *prefix,
                    const struct lg_slice *a, const char *what)
{
    char id[ID_MAX + 1], key[8 + ID_MAX];
    int rv = id_arg(ctx, a, what, id);
    if (rv != 0) {
        return rv;
    }
    snprintf(key, sizeof key, "%s/%s", prefix, id);
    struct lg_slice v;
    rv = lg_ctx_get(ctx, key, strlen(key), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, rv, "%s '%s' does not exist", what, id);
    }
    return rv ? rv : lg_ctx_return(ctx, v.p, v.len);
}

static int read_asset(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: readAsset ASSET");
    }
    return read_key(ctx, "asset", &argv[0], "asset");
}

static int read_offer(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: readOffer OFFER");
    }
    return read_key(ctx, "offer", &argv[0], "offer");
}

static int balance_fn(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: balance ADDRESS");
    }
    char addr[ADDR_LEN + 1], num[24];
    int64_t b;
    int rv = addr_arg(ctx, &argv[0], addr);
    rv = rv ? rv : balance_get(ctx, addr, &b);
    if (rv != 0) {
        return rv;
    }
    int len = snprintf(num, sizeof num, "%lld", (long long)b);
    return lg_ctx_return(ctx, num, (size_t)len);
}

struct list {
    struct lg_ctx *ctx;
    bool index; /* the keys name offers: list the offers */
    struct base_buf out;
    size_t n;
    int rv;
};

static int list_one(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct list *l = arg;
    if (l->index) {
        /* open/ID: the record is offer/ID. */
        char k[8 + ID_MAX];
        int n = snprintf(k, sizeof k, "offer/%.*s", (int)(key.len - 5),
                         (const char *)key.p + 5);
        if (key.len < 6 || n >= (int)sizeof k ||
            lg_ctx_get(l->ctx, k, (size_t)n, &val) != 0) {
            l->rv = BASE_ECORRUPT;
            return 1;
        }
    }
    l->rv = base_buf_add_str(&l->out, l->n ? "," : "[");
    if (l->rv == 0) {
        l->rv = base_buf_add(&l->out, val.p, val.len);
    }
    return l->rv != 0 || ++l->n == LIST_MAX;
}

/* The JSON array of the records from @start up to the end of the prefix. */
static int list(struct lg_ctx *ctx, const char *start, const char *end,
                bool index)
{
    struct list l = {.ctx = ctx, .index = index, .n = 0, .rv = 0};
    base_buf_init(&l.out, 0);
    int rv =
        lg_ctx_range(ctx, start, strlen(start), end, strlen(end), list_one, &l);
    rv = rv ? rv : l.rv;
    rv = rv ? rv : base_buf_add_str(&l.out, l.n ? "]" : "[]");
    rv = rv ? rv : lg_ctx_return(ctx, l.out.data, l.out.len);
    base_buf_release(&l.out);
    return rv;
}

static int open_offers(struct lg_ctx *ctx, uint32_t argc,
                       const struct lg_slice *argv)
{
    (void)argv;
    if (argc != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: openOffers");
    }
    return list(ctx, "open/", "open0", true); /* '0' follows '/' */
}

static int deposits(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    int64_t from;
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: deposits FROM_SEQ");
    }
    int rv = int_arg(ctx, &argv[0], "FROM_SEQ", 0, 999999999999LL, &from);
    if (rv != 0) {
        return rv;
    }
    char start[24];
    snprintf(start, sizeof start, "dep/%012lld", (long long)from);
    return list(ctx, start, "dep0", false);
}

static const struct sc_function functions[] = {
    {"addEnergyAsset", add_energy, "dso"},
    {"addFinancialBalance", add_financial, "dso"},
    {"postOffer", post_offer, "anon"},
    {"rescindOffer", rescind_offer, "anon"},
    {"acceptOffer", accept_offer, "anon"},
    {"depositEnergyAsset", deposit_energy, "anon"},
    {"depositFinancial", deposit_financial, "anon"},
    {"readAsset", read_asset, NULL},
    {"readOffer", read_offer, NULL},
    {"balance", balance_fn, NULL},
    {"openOffers", open_offers, NULL},
    {"deposits", deposits, NULL},
};

const struct sc_contract sc_petra_contract = {"petra", functions,
                                              BASE_ARRAY_LEN(functions)};
