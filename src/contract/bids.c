/* SPDX-License-Identifier: MIT */
/* The bids contract: the BLOSEM bid store. The raw bid (per-DER ids,
 * quantities, prices) lives off chain; the chain holds its checksum, its
 * status and version, and the DER ids, so that no DER is counted in two
 * live bids for the same market interval. */
#include <jansson.h>
#include <string.h>

#include "contract/contract.h"

#define UID_MAX    SC_ID_MAX
#define MARKET_MAX 32
#define BID_DERS   1000 /* DER entries in one bid */
#define KEY_MAX    (16 + MARKET_MAX + 24 + SC_DER_ID_MAX)

struct bid {
    char uid[UID_MAX + 1];
    char dera[LG_NAME_MAX + 1];
    char market[MARKET_MAX + 1];
    int64_t interval;
    char checksum[65];
    char status[16]; /* submitted, accepted, curtailed, withdrawn, dispatched */
    int64_t version;
    char reason[LG_REASON_MAX + 1];
    char dispatch_checksum[65];
    /* The raw record's total, in whole watts, as its maker declared it (the
     * list of bids shows it without reading the record; retrieval checks
     * it against the record); -1 when not given. */
    int64_t total_w;
    json_t *ders; /* array of DER ids; owned */
};

static void bid_release(struct bid *b)
{
    json_decref(b->ders);
    b->ders = NULL;
}

static int store(struct lg_ctx *ctx, const struct bid *b, const char *event)
{
    char key[16 + UID_MAX];
    snprintf(key, sizeof key, "bid/%s", b->uid);
    json_t *o;
    int rv = sc_pack(
        ctx, &o, "{s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:s, s:I, s:s, s:s}",
        "uid", b->uid, "dera", b->dera, "market", b->market, "interval",
        (json_int_t)b->interval, "n", (json_int_t)json_array_size(b->ders),
        "ders", b->ders, "checksum", b->checksum, "status", b->status,
        "version", (json_int_t)b->version, "reason", b->reason,
        "dispatch_checksum", b->dispatch_checksum);
    if (rv == 0 && b->total_w >= 0 &&
        json_object_set_new(o, "total_w", json_integer(b->total_w)) != 0) {
        json_decref(o);
        o = NULL; /* sc_put_json: out of memory */
    }
    return rv ? rv : sc_put_json(ctx, key, o, event);
}

static void copy_str(char *dst, size_t size, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, size, "%s", v ? v : "");
}

static int load(struct lg_ctx *ctx, const char *uid, struct bid *b)
{
    char key[16 + UID_MAX];
    snprintf(key, sizeof key, "bid/%s", uid);
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, key, strlen(key), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, rv, "bid '%s' does not exist", uid);
    }
    if (rv != 0) {
        return rv;
    }
    json_t *o = json_loadb((const char *)v.p, v.len, 0, NULL);
    json_t *ders = json_object_get(o, "ders");
    if (!json_is_array(ders)) {
        json_decref(o);
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "bid '%s' is corrupt", uid);
    }
    memset(b, 0, sizeof *b);
    snprintf(b->uid, sizeof b->uid, "%s", uid);
    copy_str(b->dera, sizeof b->dera, o, "dera");
    copy_str(b->market, sizeof b->market, o, "market");
    copy_str(b->checksum, sizeof b->checksum, o, "checksum");
    copy_str(b->status, sizeof b->status, o, "status");
    copy_str(b->reason, sizeof b->reason, o, "reason");
    copy_str(b->dispatch_checksum, sizeof b->dispatch_checksum, o,
             "dispatch_checksum");
    b->interval = json_integer_value(json_object_get(o, "interval"));
    b->version = json_integer_value(json_object_get(o, "version"));
    json_t *tw = json_object_get(o, "total_w");
    b->total_w = json_is_integer(tw) ? json_integer_value(tw) : -1;
    b->ders = json_incref(ders);
    json_decref(o);
    return 0;
}

static bool is_checksum(const char *s)
{
    if (strlen(s) != 64) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return false;
        }
    }
    return true;
}

static int checksum_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                        char out[65])
{
    if (sc_arg_str(a, out, 65) != 0 || !is_checksum(out)) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "checksum must be 64 lowercase hex digits (the "
                           "SHA-256 of the off-chain record)");
    }
    return 0;
}

static int uid_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                   char out[UID_MAX + 1])
{
    return sc_arg_id(ctx, a, out, "bid uid");
}

/* ---- markets ---------------------------------------------------------------
 * A closed set: the ISO registers each market under its canonical name,
 * "market/NAME", and every bid, clearing and review names a registered
 * one. The record is versioned ({"v":1,...}) and carries the market's kind
 * and parameters, so that a later two-settlement market (day-ahead and
 * real-time, issue 16 onwards) adds kinds and fields under a new version
 * without reinterpreting old records. */

#define MARKET_V1 1

static const char *const market_kinds[] = {"real-time", "day-ahead"};

/* A market name argument: canonical, at most MARKET_MAX bytes, and
 * registered. */
static int market_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                      char out[MARKET_MAX + 1])
{
    char name[SC_ID_MAX + 1];
    int rv = sc_arg_id(ctx, a, name, "market");
    if (rv == 0 && a->len > MARKET_MAX) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "market must be 1..%d bytes",
                         MARKET_MAX);
    }
    if (rv != 0) {
        return rv;
    }
    char key[16 + MARKET_MAX];
    snprintf(key, sizeof key, "market/%s", name);
    struct lg_slice v;
    rv = lg_ctx_get(ctx, key, strlen(key), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, BASE_ENOTFOUND,
                           "market '%s' is not registered (the ISO registers "
                           "markets: bids.register_market)",
                           name);
    }
    if (rv == 0) {
        memcpy(out, name, strlen(name) + 1);
    }
    return rv;
}

static int register_market(struct lg_ctx *ctx, uint32_t argc,
                           const struct lg_slice *argv)
{
    if (argc != 3) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: register_market NAME KIND INTERVAL_MIN "
                           "(KIND real-time or day-ahead)");
    }
    char name[SC_ID_MAX + 1];
    int rv = sc_arg_id(ctx, &argv[0], name, "market");
    if (rv == 0 && argv[0].len > MARKET_MAX) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "market must be 1..%d bytes",
                         MARKET_MAX);
    }
    if (rv != 0) {
        return rv;
    }
    const char *kind = NULL;
    for (size_t i = 0; i < BASE_ARRAY_LEN(market_kinds); i++) {
        if (argv[1].len == strlen(market_kinds[i]) &&
            memcmp(argv[1].p, market_kinds[i], argv[1].len) == 0) {
            kind = market_kinds[i];
        }
    }
    if (kind == NULL) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "market kind must be real-time or day-ahead");
    }
    int64_t minutes;
    if (sc_arg_i64(&argv[2], &minutes) != 0 || minutes < 1 || minutes > 1440) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "interval must be 1..1440 minutes (an integer)");
    }
    char key[16 + MARKET_MAX];
    snprintf(key, sizeof key, "market/%s", name);
    struct lg_slice v;
    if (lg_ctx_get(ctx, key, strlen(key), &v) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "market '%s' is already registered: %.*s", name,
                           (int)v.len, (const char *)v.p);
    }
    json_t *o;
    rv = sc_pack(ctx, &o, "{s:i, s:s, s:s, s:I, s:s}", "v", MARKET_V1, "name",
                 name, "kind", kind, "interval_min", (json_int_t)minutes,
                 "operator", lg_ctx_caller(ctx)->org);
    return rv ? rv : sc_put_json(ctx, key, o, "MarketRegistered");
}

static int market_read(struct lg_ctx *ctx, uint32_t argc,
                       const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: market_read NAME");
    }
    char name[MARKET_MAX + 1];
    int rv = market_arg(ctx, &argv[0], name);
    if (rv != 0) {
        return rv;
    }
    char key[16 + MARKET_MAX];
    snprintf(key, sizeof key, "market/%s", name);
    struct lg_slice v;
    rv = lg_ctx_get(ctx, key, strlen(key), &v);
    return rv ? rv : lg_ctx_return(ctx, v.p, v.len);
}

static int interval_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                        int64_t *out)
{
    if (sc_arg_i64(a, out) != 0 || *out < 0) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "interval must be a non-negative integer");
    }
    return 0;
}

/* The optional TOTAL_W argument: whole watts, at most 10^12 (a terawatt:
 * beyond any bid of BID_DERS DERs). */
static int total_arg(struct lg_ctx *ctx, uint32_t argc,
                     const struct lg_slice *argv, uint32_t at, int64_t *out)
{
    *out = -1;
    if (argc <= at) {
        return 0;
    }
    if (sc_arg_i64(&argv[at], out) != 0 || *out < 0 || *out > 1000000000000LL) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "TOTAL_W must be the record's total in whole "
                           "watts, 0..10^12");
    }
    return 0;
}

static void live_key(char *key, const char *market, int64_t interval,
                     const char *der)
{
    snprintf(key, KEY_MAX, "live/%s/%lld/%s", market, (long long)interval, der);
}

/* Check one DER of a new bid and claim it for the interval. */
static int claim(struct lg_ctx *ctx, const struct bid *b, const char *der)
{
    struct lg_slice v;
    int rv = lg_ctx_read(ctx, "registry", der, strlen(der), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, BASE_EPERM, "DER '%s' is not registered", der);
    }
    struct sc_der d;
    if (rv == 0 && sc_der_parse(v.p, v.len, &d) != 0) {
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "DER '%s' is corrupt", der);
    }
    if (rv != 0) {
        return rv;
    }
    if (strcmp(d.dera, b->dera) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "DER '%s' is registered by %s, not %s", der, d.dera,
                           b->dera);
    }
    if (strcmp(d.status, "qualified") != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "DER '%s' is not qualified by the DSO (status %s)",
                           der, d.status);
    }
    char key[KEY_MAX];
    live_key(key, b->market, b->interval, der);
    if (lg_ctx_get(ctx, key, strlen(key), &v) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "double counting: DER '%s' is already in live bid "
                           "'%.*s' for market %s interval %lld",
                           der, (int)v.len, (const char *)v.p, b->market,
                           (long long)b->interval);
    }
    return lg_ctx_put(ctx, key, strlen(key), b->uid, strlen(b->uid));
}

static int release_ders(struct lg_ctx *ctx, const struct bid *b)
{
    size_t i;
    json_t *der;
    json_array_foreach(b->ders, i, der)
    {
        char key[KEY_MAX];
        live_key(key, b->market, b->interval, json_string_value(der));
        int rv = lg_ctx_del(ctx, key, strlen(key));
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int create(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    if (argc != 5 && argc != 6) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: create UID MARKET INTERVAL CHECKSUM "
                           "DER1,DER2,... [TOTAL_W]");
    }
    struct bid b;
    memset(&b, 0, sizeof b);
    int rv = uid_arg(ctx, &argv[0], b.uid);
    if (rv == 0) {
        rv = market_arg(ctx, &argv[1], b.market);
    }
    if (rv == 0) {
        rv = interval_arg(ctx, &argv[2], &b.interval);
    }
    if (rv == 0) {
        rv = checksum_arg(ctx, &argv[3], b.checksum);
    }
    if (rv == 0) {
        rv = total_arg(ctx, argc, argv, 5, &b.total_w);
    }
    if (rv != 0) {
        return rv;
    }
    char key[16 + UID_MAX];
    snprintf(key, sizeof key, "bid/%s", b.uid);
    struct lg_slice v;
    if (lg_ctx_get(ctx, key, strlen(key), &v) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST, "bid '%s' already exists", b.uid);
    }
    snprintf(b.dera, sizeof b.dera, "%s", lg_ctx_caller(ctx)->org);
    snprintf(b.status, sizeof b.status, "submitted");
    b.version = 1;
    b.ders = json_array();
    if (b.ders == NULL) {
        return BASE_ENOMEM;
    }
    /* Split the DER list; each id is checked and claimed in turn, so a
     * repeat inside one bid is caught as double counting too. */
    const char *p = (const char *)argv[4].p, *end = p + argv[4].len;
    if (p < end && end[-1] == ',') {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "the DER list ends with ','");
    }
    while (rv == 0 && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        char der[SC_ID_MAX + 1], why[192];
        if (sc_id_check(p, n, why, sizeof why) != 0) {
            rv = lg_ctx_fail(ctx, BASE_EARGS,
                             "DER ids are comma-separated; DER id %s", why);
            break;
        }
        memcpy(der, p, n);
        der[n] = '\0';
        if (json_array_size(b.ders) >= BID_DERS) {
            rv = lg_ctx_fail(ctx, BASE_EARGS, "at most %d DERs in one bid",
                             BID_DERS);
        } else {
            rv = claim(ctx, &b, der);
        }
        if (rv == 0 && json_array_append_new(b.ders, json_string(der))) {
            rv = BASE_ENOMEM;
        }
        p += n + 1;
    }
    if (rv == 0 && json_array_size(b.ders) == 0) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "a bid names at least one DER");
    }
    if (rv == 0) {
        rv = store(ctx, &b, "BidCreated");
    }
    bid_release(&b);
    return rv;
}

static int one_uid(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv, uint32_t want,
                   const char *usage, struct bid *b)
{
    if (argc != want) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: %s", usage);
    }
    char uid[UID_MAX + 1];
    int rv = uid_arg(ctx, &argv[0], uid);
    return rv ? rv : load(ctx, uid, b);
}

static int own_bid(struct lg_ctx *ctx, const struct bid *b)
{
    const char *org = lg_ctx_caller(ctx)->org;
    if (strcmp(org, b->dera) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM, "bid '%s' belongs to %s, not %s",
                           b->uid, b->dera, org);
    }
    return 0;
}

static int retrieve(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    struct bid b;
    int rv = one_uid(ctx, argc, argv, 1, "retrieve UID", &b);
    if (rv != 0) {
        return rv;
    }
    /* The owning aggregator, the DSO and the ISO may read a bid; other
     * aggregators may not see a competitor's offer. */
    if (!sc_caller_has_role(ctx, "dso iso")) {
        rv = own_bid(ctx, &b);
    }
    bid_release(&b);
    if (rv != 0) {
        return rv;
    }
    char key[16 + UID_MAX];
    struct lg_slice v;
    snprintf(key, sizeof key, "bid/%.*s", (int)argv[0].len,
             (const char *)argv[0].p);
    rv = lg_ctx_get(ctx, key, strlen(key), &v);
    return rv ? rv : lg_ctx_return(ctx, v.p, v.len);
}

static int modify(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct bid b;
    int rv = one_uid(ctx, argc, argv, argc == 4 ? 4 : 3,
                     "modify UID CHECKSUM REASON [TOTAL_W]", &b);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(b.status, "submitted") != 0 &&
        strcmp(b.status, "accepted") != 0 &&
        strcmp(b.status, "curtailed") != 0) {
        rv = lg_ctx_fail(ctx, BASE_EPERM, "bid '%s' is %s: too late to modify",
                         b.uid, b.status);
    }
    if (rv == 0) {
        rv = checksum_arg(ctx, &argv[1], b.checksum);
    }
    if (rv == 0 && argv[2].len == 0) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "a curtailment needs a reason");
    }
    if (rv == 0) {
        rv = sc_arg_text(ctx, &argv[2], b.reason, sizeof b.reason, "reason");
    }
    if (rv == 0) {
        rv = total_arg(ctx, argc, argv, 3, &b.total_w);
    }
    if (rv == 0) {
        b.version++;
        snprintf(b.status, sizeof b.status, "curtailed");
        rv = store(ctx, &b, "BidModified");
    }
    bid_release(&b);
    return rv;
}

static int accept(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct bid b;
    int rv = one_uid(ctx, argc, argv, 1, "accept UID", &b);
    if (rv != 0) {
        return rv;
    }
    if (strcmp(b.status, "submitted") != 0) {
        rv = lg_ctx_fail(ctx, BASE_EPERM, "bid '%s' is %s, not submitted",
                         b.uid, b.status);
    }
    if (rv == 0) {
        snprintf(b.status, sizeof b.status, "accepted");
        rv = store(ctx, &b, "BidAccepted");
    }
    bid_release(&b);
    return rv;
}

static int withdraw(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    struct bid b;
    int rv = one_uid(ctx, argc, argv, 1, "withdraw UID", &b);
    if (rv != 0) {
        return rv;
    }
    rv = own_bid(ctx, &b);
    if (rv == 0 && strcmp(b.status, "submitted") != 0) {
        rv = lg_ctx_fail(ctx, BASE_EPERM,
                         "bid '%s' is %s: it can be withdrawn only before "
                         "the DSO reviews it",
                         b.uid, b.status);
    }
    if (rv == 0) {
        rv = release_ders(ctx, &b);
    }
    if (rv == 0) {
        b.version++;
        snprintf(b.status, sizeof b.status, "withdrawn");
        rv = store(ctx, &b, "BidWithdrawn");
    }
    bid_release(&b);
    return rv;
}

/* The organisations with a live bid in one market interval: each DER of a
 * live bid holds "live/MARKET/INTERVAL/DER" -> uid. */
struct bidders {
    struct lg_ctx *ctx;
    json_t *uids;  /* set of uids seen; owned */
    json_t *deras; /* set of their DERAs; owned */
    int rv;
};

static int bidder_cb(void *arg, struct lg_slice key, struct lg_slice val)
{
    (void)key;
    struct bidders *s = arg;
    char uid[UID_MAX + 1];
    if (val.len == 0 || val.len > UID_MAX) {
        s->rv = lg_ctx_fail(s->ctx, BASE_ECORRUPT,
                            "a live-bid entry is "
                            "corrupt");
        return 1;
    }
    memcpy(uid, val.p, val.len);
    uid[val.len] = '\0';
    if (json_object_get(s->uids, uid) != NULL) {
        return 0;
    }
    struct bid b;
    memset(&b, 0, sizeof b);
    s->rv = load(s->ctx, uid, &b);
    if (s->rv == 0 && (json_object_set_new(s->uids, uid, json_true()) != 0 ||
                       json_object_set_new(s->deras, b.dera, json_true()))) {
        s->rv = BASE_ENOMEM;
    }
    bid_release(&b);
    return s->rv != 0;
}

static int live_bidders(struct lg_ctx *ctx, const char *market,
                        int64_t interval, json_t **out)
{
    char start[KEY_MAX], end[KEY_MAX];
    int n = snprintf(start, sizeof start, "live/%s/%lld/", market,
                     (long long)interval);
    memcpy(end, start, (size_t)n + 1);
    end[n - 1] = '/' + 1; /* just past every key with the prefix */
    struct bidders s = {ctx, json_object(), json_object(), 0};
    int rv = s.uids && s.deras ? 0 : BASE_ENOMEM;
    if (rv == 0) {
        rv = lg_ctx_range(ctx, start, (size_t)n, end, (size_t)n, bidder_cb, &s);
        rv = s.rv ? s.rv : rv;
    }
    json_decref(s.uids);
    if (rv != 0) {
        json_decref(s.deras);
        return rv;
    }
    *out = s.deras;
    return 0;
}

/* An organisation name in an award: as certificates spell names (printable
 * ASCII without spaces), so that it can be echoed and compared. */
static bool org_ok(const char *p, size_t n)
{
    if (n == 0 || n > LG_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == ',' || p[i] == '=') {
            return false;
        }
    }
    return true;
}

static int clear(struct lg_ctx *ctx, uint32_t argc, const struct lg_slice *argv)
{
    if (argc != 5) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: clear MARKET INTERVAL PRICE CLEARED_KW "
                           "DERA=KW,...");
    }
    char market[MARKET_MAX + 1];
    int64_t interval;
    double price, cleared;
    int rv = market_arg(ctx, &argv[0], market);
    if (rv == 0) {
        rv = interval_arg(ctx, &argv[1], &interval);
    }
    if (rv == 0 && (sc_arg_kw(&argv[2], &price) != 0 ||
                    sc_arg_kw(&argv[3], &cleared) != 0)) {
        rv = lg_ctx_fail(ctx, BASE_EARGS,
                         "price and cleared kW must be non-negative numbers");
    }
    if (rv != 0) {
        return rv;
    }
    char key[KEY_MAX];
    snprintf(key, sizeof key, "clear/%s/%lld", market, (long long)interval);
    struct lg_slice v;
    if (lg_ctx_get(ctx, key, strlen(key), &v) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "market %s interval %lld is already cleared", market,
                           (long long)interval);
    }
    /* Only an aggregator with a live bid in this interval can be awarded
     * anything: that rules out organisations that do not exist, members
     * that are not DERAs, and DERAs that did not bid. */
    json_t *bidders = NULL;
    rv = live_bidders(ctx, market, interval, &bidders);
    if (rv != 0) {
        return rv;
    }
    json_t *awards = json_object();
    const char *p = (const char *)argv[4].p, *end = p + argv[4].len;
    double sum = 0;
    if (p < end && end[-1] == ',') {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "the awards end with ','");
    }
    while (rv == 0 && awards != NULL && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        const char *eq = memchr(p, '=', n);
        char org[LG_NAME_MAX + 1];
        double kw;
        struct lg_slice num = {(const uint8_t *)eq + 1,
                               eq ? (size_t)(p + n - eq - 1) : 0};
        if (eq == NULL || !org_ok(p, (size_t)(eq - p)) ||
            sc_arg_kw(&num, &kw) != 0) {
            rv = lg_ctx_fail(ctx, BASE_EARGS,
                             "awards must be DERA=KW,... (DERA an "
                             "organisation name, KW a non-negative number)");
            break;
        }
        memcpy(org, p, (size_t)(eq - p));
        org[eq - p] = '\0';
        /* One award per aggregator: a repeat would be summed for the check
         * below but stored once, so the record would not add up. */
        if (json_object_get(awards, org) != NULL) {
            rv = lg_ctx_fail(ctx, BASE_EARGS, "%s is awarded twice", org);
            break;
        }
        if (json_object_get(bidders, org) == NULL) {
            rv = lg_ctx_fail(ctx, BASE_EARGS,
                             "%s has no live bid in market %s interval %lld: "
                             "only aggregators that bid are awarded",
                             org, market, (long long)interval);
            break;
        }
        sum += kw;
        if (json_object_set_new(awards, org, json_real(kw)) != 0) {
            rv = BASE_ENOMEM;
        }
        p += n + 1;
    }
    json_decref(bidders);
    /* Awards add up to the cleared quantity (to a watt: they are rounded
     * decimal text). */
    if (rv == 0 && (sum > cleared + 1e-3 || sum < cleared - 1e-3)) {
        rv = lg_ctx_fail(ctx, BASE_EARGS,
                         "awards add up to %.3f kW, not the cleared %.3f kW",
                         sum, cleared);
    }
    if (rv != 0 || awards == NULL) {
        json_decref(awards);
        return rv ? rv : BASE_ENOMEM;
    }
    json_t *o;
    rv = sc_pack(ctx, &o, "{s:s, s:I, s:f, s:f, s:o}", "market", market,
                 "interval", (json_int_t)interval, "price", price, "cleared_kw",
                 cleared, "awards", awards);
    return rv ? rv : sc_put_json(ctx, key, o, "MarketCleared");
}

static int dispatch(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    struct bid b;
    int rv = one_uid(ctx, argc, argv, 2, "dispatch UID CHECKSUM", &b);
    if (rv != 0) {
        return rv;
    }
    rv = own_bid(ctx, &b);
    if (rv == 0 && strcmp(b.status, "accepted") != 0 &&
        strcmp(b.status, "curtailed") != 0) {
        rv = lg_ctx_fail(ctx, BASE_EPERM,
                         "bid '%s' is %s: only a reviewed bid is dispatched",
                         b.uid, b.status);
    }
    char key[KEY_MAX];
    snprintf(key, sizeof key, "clear/%s/%lld", b.market, (long long)b.interval);
    struct lg_slice v;
    if (rv == 0 && lg_ctx_get(ctx, key, strlen(key), &v) != 0) {
        rv = lg_ctx_fail(ctx, BASE_EPERM,
                         "market %s interval %lld is not cleared yet", b.market,
                         (long long)b.interval);
    }
    if (rv == 0) {
        rv = checksum_arg(ctx, &argv[1], b.dispatch_checksum);
    }
    if (rv == 0) {
        snprintf(b.status, sizeof b.status, "dispatched");
        rv = store(ctx, &b, "BidDispatched");
    }
    bid_release(&b);
    return rv;
}

/* The DSO's review of one interval: what its power flow found with the
 * injections as bid and with the feasible ones. Kept on chain so that the
 * voltages behind every curtailment can be read back from the ledger (the
 * node's dashboard draws them), not only from the run's files. */
static int review(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    if (argc != 9) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: review MARKET INTERVAL VMAX_BEFORE "
                           "VMAX_AFTER VMIN_BEFORE VMIN_AFTER CURTAILED_KW "
                           "WORST_NODE METHOD");
    }
    char market[MARKET_MAX + 1], node[SC_TEXT_MAX + 1], method[32];
    int64_t interval;
    double v[5]; /* four voltages (pu) and the curtailed kW */
    int rv = market_arg(ctx, &argv[0], market);
    if (rv == 0) {
        rv = interval_arg(ctx, &argv[1], &interval);
    }
    for (int i = 0; rv == 0 && i < 5; i++) {
        if (sc_arg_kw(&argv[2 + i], &v[i]) != 0) {
            rv = lg_ctx_fail(ctx, BASE_EARGS,
                             "voltages (pu) and curtailed kW must be "
                             "non-negative numbers");
        }
    }
    if (rv == 0) {
        rv = sc_arg_text(ctx, &argv[7], node, sizeof node, "worst node");
    }
    if (rv == 0) {
        rv = sc_arg_text(ctx, &argv[8], method, sizeof method, "method");
    }
    if (rv != 0) {
        return rv;
    }
    char key[KEY_MAX];
    snprintf(key, sizeof key, "review/%s/%lld", market, (long long)interval);
    struct lg_slice old;
    if (lg_ctx_get(ctx, key, strlen(key), &old) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "market %s interval %lld is already reviewed",
                           market, (long long)interval);
    }
    json_t *o;
    rv = sc_pack(ctx, &o, "{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:s, s:s}",
                 "market", market, "interval", (json_int_t)interval,
                 "vmax_before_pu", v[0], "vmax_after_pu", v[1],
                 "vmin_before_pu", v[2], "vmin_after_pu", v[3], "curtailed_kw",
                 v[4], "worst_node", node, "method", method);
    return rv ? rv : sc_put_json(ctx, key, o, "IntervalReviewed");
}

/* ---- the read rule ---------------------------------------------------
 * The same as retrieve's, for every route that shows this contract's data
 * (state, history, events, transactions, off-chain records): a bid is read
 * by the DERA that made it, the DSO (it curtails) and the ISO (it clears);
 * no other aggregator sees a competitor's offer, nor which of its DERs bid
 * (live/ keys name the bid that holds a DER). Market results are public
 * to every reader: the clearing (price and awards) and the DSO's review of
 * an interval (the voltages the dashboard draws). Anything else is the DSO's
 * and the ISO's only, so a key added later is closed until it is opened
 * here. */

static bool reads_all(const struct sc_reader *who)
{
    return strcmp(who->role, "dso") == 0 || strcmp(who->role, "iso") == 0;
}

static bool has_prefix(const struct sc_read *w, const char *p)
{
    return w->klen >= strlen(p) && memcmp(w->key, p, strlen(p)) == 0;
}

/* A bid record (on-chain JSON) is @who's to read? */
static int bid_readable(const struct sc_reader *who, const uint8_t *val,
                        size_t vlen, char *why, size_t size)
{
    json_t *o = val ? json_loadb((const char *)val, vlen, 0, NULL) : NULL;
    const char *dera = json_string_value(json_object_get(o, "dera"));
    int rv = 0;
    if (dera == NULL) {
        snprintf(why, size, "the bid record is unreadable");
        rv = BASE_EPERM;
    } else if (strcmp(dera, who->org) != 0) {
        snprintf(why, size,
                 "bid '%s' belongs to %s: only %s, the DSO and the ISO may "
                 "read it, not %s",
                 json_string_value(json_object_get(o, "uid"))
                     ? json_string_value(json_object_get(o, "uid"))
                     : "?",
                 dera, dera, who->org[0] ? who->org : "a reader without a key");
        rv = BASE_EPERM;
    }
    json_decref(o);
    return rv;
}

static int may_read(const struct sc_reader *who, const struct sc_read *w,
                    char *why, size_t size)
{
    why[0] = '\0';
    if (reads_all(who)) {
        return 0;
    }
    bool result = false; /* a market result, public */
    switch (w->kind) {
    case SC_READ_STATE:
        if (has_prefix(w, "bid/")) {
            return bid_readable(who, w->val, w->vlen, why, size);
        }
        if (has_prefix(w, "live/") && w->get != NULL && w->vlen > 0 &&
            w->vlen <= UID_MAX) {
            char key[16 + UID_MAX];
            snprintf(key, sizeof key, "bid/%.*s", (int)w->vlen,
                     (const char *)w->val);
            struct base_buf b;
            base_buf_init(&b, 0);
            int rv = w->get(w->arg, key, strlen(key), &b);
            rv = rv ? BASE_EPERM : bid_readable(who, b.data, b.len, why, size);
            base_buf_release(&b);
            if (rv != 0 && why[0] == '\0') {
                snprintf(why, size, "the bid holding this DER is not yours");
            }
            return rv;
        }
        result = has_prefix(w, "clear/") || has_prefix(w, "review/") ||
                 has_prefix(w, "market/");
        break;
    case SC_READ_EVENT:
        if (has_prefix(w, "Bid")) {
            return bid_readable(who, w->val, w->vlen, why, size);
        }
        result = strcmp(w->key, "MarketCleared") == 0 ||
                 strcmp(w->key, "IntervalReviewed") == 0 ||
                 strcmp(w->key, "MarketRegistered") == 0;
        break;
    case SC_READ_TX:
        if (strcmp(w->key, "clear") == 0 || strcmp(w->key, "review") == 0 ||
            strcmp(w->key, "register_market") == 0 ||
            strcmp(w->key, "market_read") == 0) {
            return 0;
        }
        if (w->creator_org != NULL && who->org[0] != '\0' &&
            strcmp(w->creator_org, who->org) == 0) {
            return 0;
        }
        snprintf(why, size,
                 "a bids.%s transaction by %s is for its maker, the DSO and "
                 "the ISO, not %s",
                 w->key, w->creator_org ? w->creator_org : "?",
                 who->org[0] ? who->org : "a reader without a key");
        return BASE_EPERM;
    case SC_READ_ALL:
        break;
    }
    if (result) {
        return 0;
    }
    snprintf(why, size,
             "only the DSO and the ISO may read %s%.*s of the bids contract",
             w->kind == SC_READ_ALL ? "everything" : "",
             w->kind == SC_READ_ALL ? 0 : (int)w->klen, w->key ? w->key : "");
    return BASE_EPERM;
}

static const struct sc_function functions[] = {
    {"create", create, "dera"},
    {"retrieve", retrieve, NULL},
    {"modify", modify, "dso"},
    {"accept", accept, "dso"},
    {"withdraw", withdraw, "dera"},
    {"clear", clear, "iso"},
    {"dispatch", dispatch, "dera"},
    {"review", review, "dso"},
    {"register_market", register_market, "iso"},
    {"market_read", market_read, NULL},
};

const struct sc_contract sc_bids_contract = {
    "bids", functions, sizeof functions / sizeof functions[0], may_read};
