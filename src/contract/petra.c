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
#define ADDR_SIZE 32           /* the key itself */
#define POWER_MAX 1000000000LL /* 1 GW */
#define TIME_MAX  1000000000LL /* intervals */
#define PRICE_MAX 1000000000000LL
#define FUNDS_MAX 1000000000000000LL
#define LIST_MAX  1000
#define BACK_MAX  6   /* assets a trade gives back: 3 parts of each side */
#define REC_MAX   512 /* an encoded asset or offer (at most 384 bytes) */
#define REC_V1    1   /* format byte of asset and offer records */

enum status { OPEN = 0, ACCEPTED = 1, RESCINDED = 2 };

static const char *const status_name[] = {"open", "accepted", "rescinded"};

struct asset {
    char id[ID_MAX + 1];
    uint8_t owner[ADDR_SIZE];
    int64_t power, start, end;
    char offer[ID_MAX + 1]; /* the open offer that locks it, or "" */
};

/* What an accepted offer keeps of its trade. */
struct trade {
    char with[ID_MAX + 1]; /* the asset it was accepted with */
    uint8_t by[ADDR_SIZE];
    int64_t power, start, end, amount;
    char to_buyer[ID_MAX + 1], to_seller[ID_MAX + 1];
    unsigned nback;
    char back[BACK_MAX][ID_MAX + 1]; /* assets given back to the owners */
};

struct offer {
    char id[ID_MAX + 1];
    bool bid; /* else an ask */
    uint8_t status;
    char asset[ID_MAX + 1];
    uint8_t poster[ADDR_SIZE];
    int64_t price, power, start, end;
    int64_t locked;     /* a bid's funds held until accepted or rescinded */
    struct trade trade; /* once accepted */
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

/* An address argument: 64 lowercase hex digits, the key to @out. */
static int addr_arg(struct lg_ctx *ctx, const struct lg_slice *a,
                    uint8_t out[ADDR_SIZE])
{
    bool ok = a->len == ADDR_LEN;
    for (size_t i = 0; ok && i < a->len; i++) {
        uint8_t c = a->p[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    char hex[ADDR_LEN + 1];
    if (ok) {
        memcpy(hex, a->p, ADDR_LEN);
        hex[ADDR_LEN] = '\0';
        ok = base_hex_decode(out, ADDR_SIZE, hex) == 0;
    }
    if (!ok) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "an address is 64 lowercase hex digits (an "
                           "Ed25519 public key)");
    }
    return 0;
}

/* The caller's anonymous address: the public key of its certificate. */
static const uint8_t *caller_addr(const struct lg_ctx *ctx)
{
    return lg_ctx_caller(ctx)->pk;
}

static bool same_addr(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, ADDR_SIZE) == 0;
}

/* The first 12 hex digits of @addr, for messages. */
static const char *addr_short(const uint8_t *addr, char out[13])
{
    base_hex_encode(out, addr, 6);
    return out;
}

/* ---- keys and ids ---------------------------------------------------------
 * Built with memcpy, not snprintf: an acceptance makes a dozen of them, and
 * formatting was a tenth of the committer's time per trade. */

#define KEY_MAX (8 + ADDR_SIZE + ID_MAX)

/* "PREFIX" followed by @n bytes of @p into @key; the length. */
static size_t make_key(char key[KEY_MAX], const char *prefix, const void *p,
                       size_t n)
{
    size_t pl = strlen(prefix);
    memcpy(key, prefix, pl);
    memcpy(key + pl, p, n);
    key[pl + n] = '\0';
    return pl + n;
}

static size_t id_key(char key[KEY_MAX], const char *prefix, const char *id)
{
    return make_key(key, prefix, id, strlen(id));
}

/* Decimal digits of @v into @out (no NUL); their number. */
/* Room for 20 digits is needed in general; callers that know @v is
 * small pass less. */
static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    return n;
}

static size_t fmt_i64(char out[21], int64_t v)
{
    if (v >= 0) {
        return fmt_u64(out, (uint64_t)v);
    }
    out[0] = '-';
    return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
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
    if (block >= 10000000000ull || k > 99) {
        /* Beyond what a chain reaches: the general form, truncated as
         * it always was to the id's size. */
        if (k < 0) {
            snprintf(out, SC_PETRA_ID_SIZE, "%c%010llu.%s", kind,
                     (unsigned long long)block, hex);
        } else {
            snprintf(out, SC_PETRA_ID_SIZE, "%c%010llu.%s-%d", kind,
                     (unsigned long long)block, hex, k);
        }
        return;
    }
    char *p = out;
    *p++ = kind;
    for (int i = 9; i >= 0; i--) {
        p[i] = (char)('0' + block % 10);
        block /= 10;
    }
    p += 10;
    *p++ = '.';
    memcpy(p, hex, 8);
    p += 8;
    if (k >= 0) {
        *p++ = '-';
        p += fmt_u64(p, (uint64_t)k);
    }
    *p = '\0';
}

static void tx_id(struct lg_ctx *ctx, char prefix, int k, char out[ID_MAX + 1])
{
    sc_petra_id(out, prefix, lg_ctx_block(ctx), lg_ctx_txid(ctx), k);
}

/* ---- records ---------------------------------------------------------------
 * State (docs/petra.md has the byte layouts):
 * asset/ID    binary asset record
 * offer/ID    binary offer record (with its trade once accepted)
 * open/ID     "" while the offer is open
 * acct/KEY    (KEY: the address's 32 raw bytes) the id of its balance
 * bal/ID      the address's free balance, i64 big-endian
 * dep/SEQ     a deposit, JSON (SEQ zero-padded to 12 digits)
 * n/dep       the deposit counter, decimal
 * Assets, offers and balances are binary, not JSON: every trade reads and
 * writes them, and building and parsing JSON was half the committer's
 * time per trade. The read functions still answer in JSON. */

struct rec {
    uint8_t b[REC_MAX];
    size_t n;
};

static void rec_u8(struct rec *r, uint8_t v)
{
    r->b[r->n++] = v;
}

static void rec_i64(struct rec *r, int64_t v)
{
    base_put_u64(r->b + r->n, (uint64_t)v);
    r->n += 8;
}

static void rec_bytes(struct rec *r, const void *p, size_t n)
{
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

static void rec_id(struct rec *r, const char *id)
{
    size_t n = strlen(id);
    rec_u8(r, (uint8_t)n);
    rec_bytes(r, id, n);
}

static int64_t rd_i64(struct base_rd *r)
{
    return (int64_t)base_rd_u64(r);
}

/* A length-prefixed id; false when it is too long or holds a NUL. */
static bool rd_id(struct base_rd *r, char out[ID_MAX + 1])
{
    uint8_t n = base_rd_u8(r);
    const uint8_t *p = base_rd_bytes(r, n);
    if (p == NULL || n > ID_MAX || memchr(p, 0, n) != NULL) {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static void rd_addr(struct base_rd *r, uint8_t out[ADDR_SIZE])
{
    const uint8_t *p = base_rd_bytes(r, ADDR_SIZE);
    if (p != NULL) {
        memcpy(out, p, ADDR_SIZE);
    }
}

static void asset_encode(const struct asset *a, struct rec *r)
{
    r->n = 0;
    rec_u8(r, REC_V1);
    rec_bytes(r, a->owner, ADDR_SIZE);
    rec_i64(r, a->power);
    rec_i64(r, a->start);
    rec_i64(r, a->end);
    rec_id(r, a->offer);
}

static int asset_decode(struct asset *a, const struct lg_slice *v)
{
    struct base_rd r;
    base_rd_init(&r, v->p, v->len);
    bool ok = base_rd_u8(&r) == REC_V1;
    rd_addr(&r, a->owner);
    a->power = rd_i64(&r);
    a->start = rd_i64(&r);
    a->end = rd_i64(&r);
    ok = ok && rd_id(&r, a->offer);
    return ok && base_rd_error(&r) == 0 && base_rd_left(&r) == 0
               ? 0
               : BASE_ECORRUPT;
}

static void offer_encode(const struct offer *f, struct rec *r)
{
    r->n = 0;
    rec_u8(r, REC_V1);
    rec_u8(r, f->bid ? 1 : 0);
    rec_u8(r, f->status);
    rec_bytes(r, f->poster, ADDR_SIZE);
    rec_i64(r, f->price);
    rec_i64(r, f->power);
    rec_i64(r, f->start);
    rec_i64(r, f->end);
    rec_i64(r, f->locked);
    rec_id(r, f->asset);
    if (f->status != ACCEPTED) {
        return;
    }
    const struct trade *t = &f->trade;
    rec_id(r, t->with);
    rec_bytes(r, t->by, ADDR_SIZE);
    rec_i64(r, t->power);
    rec_i64(r, t->start);
    rec_i64(r, t->end);
    rec_i64(r, t->amount);
    rec_id(r, t->to_buyer);
    rec_id(r, t->to_seller);
    rec_u8(r, (uint8_t)t->nback);
    for (unsigned i = 0; i < t->nback; i++) {
        rec_id(r, t->back[i]);
    }
}

static int offer_decode(struct offer *f, const struct lg_slice *v)
{
    struct base_rd r;
    base_rd_init(&r, v->p, v->len);
    bool ok = base_rd_u8(&r) == REC_V1;
    uint8_t kind = base_rd_u8(&r);
    f->bid = kind == 1;
    f->status = base_rd_u8(&r);
    ok = ok && kind <= 1 && f->status <= RESCINDED;
    rd_addr(&r, f->poster);
    f->price = rd_i64(&r);
    f->power = rd_i64(&r);
    f->start = rd_i64(&r);
    f->end = rd_i64(&r);
    f->locked = rd_i64(&r);
    ok = ok && rd_id(&r, f->asset);
    if (ok && f->status == ACCEPTED) {
        struct trade *t = &f->trade;
        ok = rd_id(&r, t->with);
        rd_addr(&r, t->by);
        t->power = rd_i64(&r);
        t->start = rd_i64(&r);
        t->end = rd_i64(&r);
        t->amount = rd_i64(&r);
        ok = ok && rd_id(&r, t->to_buyer) && rd_id(&r, t->to_seller);
        t->nback = base_rd_u8(&r);
        ok = ok && t->nback <= BACK_MAX;
        for (unsigned i = 0; ok && i < t->nback; i++) {
            ok = rd_id(&r, t->back[i]);
        }
    }
    return ok && base_rd_error(&r) == 0 && base_rd_left(&r) == 0
               ? 0
               : BASE_ECORRUPT;
}

/* ---- JSON answers ----------------------------------------------------------
 * Events, return values and reads are JSON, as jansson's compact form
 * writes it (keys in this order, no spaces), written straight into a
 * buffer. */

struct jw {
    struct base_buf *b;
    int rv;
    bool first; /* no member yet in the innermost object */
};

/* Room for any answer but a long list, so that the pieces are copied
 * without growing the buffer. */
#define JW_RESERVE 1024

static void jw_init(struct jw *w, struct base_buf *b)
{
    base_buf_init(b, 0);
    w->b = b;
    w->rv = base_buf_reserve(b, JW_RESERVE);
    w->first = true;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
    struct base_buf *b = w->b;
    if (w->rv != 0) {
        return;
    }
    if (b->cap - b->len > n) { /* base_buf keeps a byte spare */
        memcpy(b->data + b->len, s, n);
        b->len += n;
    } else {
        w->rv = base_buf_add(b, s, n);
    }
}

static void jw_open(struct jw *w, char c)
{
    jw_raw(w, &c, 1);
    w->first = true;
}

static void jw_close(struct jw *w, char c)
{
    jw_raw(w, &c, 1);
    w->first = false;
}

static void jw_key(struct jw *w, const char *k)
{
    if (!w->first) {
        jw_raw(w, ",", 1);
    }
    w->first = false;
    if (k != NULL) {
        jw_raw(w, "\"", 1);
        jw_raw(w, k, strlen(k));
        jw_raw(w, "\":", 2);
    }
}

/* A string value (@k NULL: an array element). Ids and addresses are plain
 * ASCII; quotes, backslashes and control bytes are escaped anyway. */
static void jw_str(struct jw *w, const char *k, const char *s)
{
    jw_key(w, k);
    jw_raw(w, "\"", 1);
    const char *p = s;
    while (*p != '\0') {
        size_t n = 0; /* bytes that need no escape, added at once */
        while (p[n] != '\0' && p[n] != '"' && p[n] != '\\' &&
               (unsigned char)p[n] >= 0x20) {
            n++;
        }
        jw_raw(w, p, n);
        p += n;
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', *p++};
            jw_raw(w, e, 2);
        } else if (*p != '\0') {
            char e[7];
            snprintf(e, sizeof e, "\\u%04x", (unsigned char)*p++);
            jw_raw(w, e, 6);
        }
    }
    jw_raw(w, "\"", 1);
}

static void jw_int(struct jw *w, const char *k, int64_t v)
{
    char num[21];
    jw_key(w, k);
    jw_raw(w, num, fmt_i64(num, v));
}

static void jw_addr(struct jw *w, const char *k, const uint8_t *addr)
{
    char hex[ADDR_LEN + 1];
    base_hex_encode(hex, addr, ADDR_SIZE);
    jw_str(w, k, hex);
}

/* {"id","owner","power","start","end"} and, with @with_offer, "offer". */
static void asset_json(struct jw *w, const struct asset *a, bool with_offer)
{
    jw_open(w, '{');
    jw_str(w, "id", a->id);
    jw_addr(w, "owner", a->owner);
    jw_int(w, "power", a->power);
    jw_int(w, "start", a->start);
    jw_int(w, "end", a->end);
    if (with_offer) {
        jw_str(w, "offer", a->offer);
    }
    jw_close(w, '}');
}

static void offer_json(struct jw *w, const struct offer *f)
{
    jw_open(w, '{');
    jw_str(w, "id", f->id);
    jw_str(w, "kind", f->bid ? "bid" : "ask");
    jw_str(w, "asset", f->asset);
    jw_addr(w, "poster", f->poster);
    jw_int(w, "price", f->price);
    jw_int(w, "power", f->power);
    jw_int(w, "start", f->start);
    jw_int(w, "end", f->end);
    jw_int(w, "locked", f->locked);
    jw_str(w, "status", status_name[f->status]);
    if (f->status == ACCEPTED) {
        const struct trade *t = &f->trade;
        jw_key(w, "trade");
        jw_open(w, '{');
        jw_str(w, "accepted_with", t->with);
        jw_addr(w, "by", t->by);
        jw_int(w, "power", t->power);
        jw_int(w, "start", t->start);
        jw_int(w, "end", t->end);
        jw_int(w, "amount", t->amount);
        jw_str(w, "to_buyer", t->to_buyer);
        jw_str(w, "to_seller", t->to_seller);
        jw_key(w, "returned");
        jw_open(w, '[');
        for (unsigned i = 0; i < t->nback; i++) {
            jw_str(w, NULL, t->back[i]);
        }
        jw_close(w, ']');
        jw_close(w, '}');
    }
    jw_close(w, '}');
}

/* Emit @event with the JSON in @b and return the same JSON. */
static int emit_buf(struct lg_ctx *ctx, const char *event, struct jw *w)
{
    int rv = w->rv;
    if (rv == 0) {
        rv = lg_ctx_emit(ctx, event, w->b->data, w->b->len);
    }
    if (rv == 0) {
        rv = lg_ctx_return(ctx, w->b->data, w->b->len);
    }
    base_buf_release(w->b);
    return rv;
}

/* ---- state ----------------------------------------------------------------
 */

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
    char key[KEY_MAX];
    struct rec r;
    asset_encode(a, &r);
    return lg_ctx_put(ctx, key, id_key(key, "asset/", a->id), r.b, r.n);
}

static int asset_load(struct lg_ctx *ctx, const char *id, struct asset *a)
{
    char key[KEY_MAX];
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, key, id_key(key, "asset/", id), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, BASE_ENOTFOUND, "asset '%s' does not exist",
                           id);
    }
    if (rv == 0) {
        rv = asset_decode(a, &v);
    }
    if (rv != 0) {
        return lg_ctx_fail(ctx, rv, "asset '%s' cannot be read: %s", id,
                           base_strerror(rv));
    }
    memcpy(a->id, id, strlen(id) + 1);
    return 0;
}

static int asset_delete(struct lg_ctx *ctx, const char *id)
{
    char key[KEY_MAX];
    return lg_ctx_del(ctx, key, id_key(key, "asset/", id));
}

/* The @k-th new asset of this call, for @owner; its id goes to @out (may
 * be NULL). */
static int asset_new(struct lg_ctx *ctx, int k, const uint8_t *owner,
                     int64_t power, int64_t start, int64_t end, char *out)
{
    struct asset a;
    memset(&a, 0, sizeof a);
    tx_id(ctx, 'a', k, a.id);
    memcpy(a.owner, owner, ADDR_SIZE);
    a.power = power;
    a.start = start;
    a.end = end;
    if (out != NULL) {
        memcpy(out, a.id, strlen(a.id) + 1);
    }
    return asset_store(ctx, &a);
}

/* Store the offer under offer/ID; open/ID marks it while it is open (an
 * empty value: the index openOffers walks). */
static int offer_store(struct lg_ctx *ctx, const struct offer *f)
{
    char key[KEY_MAX], open[KEY_MAX];
    size_t kl = id_key(key, "offer/", f->id);
    size_t ol = id_key(open, "open/", f->id);
    int rv = f->status == OPEN ? lg_ctx_put(ctx, open, ol, "", 0)
                               : lg_ctx_del(ctx, open, ol);
    struct rec r;
    offer_encode(f, &r);
    return rv ? rv : lg_ctx_put(ctx, key, kl, r.b, r.n);
}

static int offer_load(struct lg_ctx *ctx, const char *id, struct offer *f)
{
    char key[KEY_MAX];
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, key, id_key(key, "offer/", id), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, BASE_ENOTFOUND, "offer '%s' does not exist",
                           id);
    }
    if (rv == 0) {
        rv = offer_decode(f, &v);
    }
    if (rv != 0) {
        return lg_ctx_fail(ctx, rv, "offer '%s' cannot be read: %s", id,
                           base_strerror(rv));
    }
    memcpy(f->id, id, strlen(id) + 1);
    return 0;
}

/* An address's account: acct/KEY names its balance record, made when
 * the address first appears (at its withdrawal) with an id that grows with
 * the chain, as asset ids do. A trade then reads two random keys but
 * writes its balances among the records of the same time, which keeps
 * LMDB's dirty pages few. The key of the balance goes to @key (its length
 * to @klen); @create makes the account if missing, as the @k-th account of
 * the call. */
static int account(struct lg_ctx *ctx, const uint8_t *addr, bool create, int k,
                   char key[KEY_MAX], size_t *klen)
{
    char akey[KEY_MAX];
    size_t al = make_key(akey, "acct/", addr, ADDR_SIZE);
    struct lg_slice v;
    if (lg_ctx_get(ctx, akey, al, &v) == 0) {
        if (v.len == 0 || v.len > ID_MAX) {
            char s[13];
            return lg_ctx_fail(ctx, BASE_ECORRUPT,
                               "account of %s... is corrupt",
                               addr_short(addr, s));
        }
        *klen = make_key(key, "bal/", v.p, v.len);
        return 0;
    }
    if (!create) {
        return BASE_ENOTFOUND;
    }
    char id[ID_MAX + 1];
    tx_id(ctx, 'b', k, id);
    *klen = id_key(key, "bal/", id);
    return lg_ctx_put(ctx, akey, al, id, strlen(id));
}

static int balance_read(struct lg_ctx *ctx, const uint8_t *addr,
                        const char *key, size_t klen, int64_t *out)
{
    struct lg_slice v;
    *out = 0;
    if (lg_ctx_get(ctx, key, klen, &v) != 0) {
        return 0;
    }
    if (v.len != 8) {
        char s[13];
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "balance of %s... is corrupt",
                           addr_short(addr, s));
    }
    *out = (int64_t)base_get_u64(v.p);
    return 0;
}

static int balance_get(struct lg_ctx *ctx, const uint8_t *addr, int64_t *out)
{
    char key[KEY_MAX];
    size_t kl;
    int rv = account(ctx, addr, false, 0, key, &kl);
    if (rv == BASE_ENOTFOUND) {
        *out = 0;
        return 0;
    }
    return rv ? rv : balance_read(ctx, addr, key, kl, out);
}

/* Add @delta (may be negative) to the balance of @addr, which must not go
 * below zero or above FUNDS_MAX; @k numbers a new account in the call. */
static int balance_add(struct lg_ctx *ctx, const uint8_t *addr, int64_t delta,
                       int k)
{
    char key[KEY_MAX], s[13];
    size_t kl = 0;
    int64_t b = 0;
    int rv = account(ctx, addr, delta > 0, k, key, &kl);
    if (rv != 0 && rv != BASE_ENOTFOUND) {
        return rv;
    }
    if (rv == 0) {
        rv = balance_read(ctx, addr, key, kl, &b);
        if (rv != 0) {
            return rv;
        }
    }
    if (b + delta < 0) {
        return lg_ctx_fail(
            ctx, BASE_EINVAL, "balance of %s... is %lld, short of %lld",
            addr_short(addr, s), (long long)b, (long long)-delta);
    }
    if (b + delta > FUNDS_MAX) {
        return lg_ctx_fail(ctx, BASE_ETOOBIG,
                           "balance of %s... would exceed %lld",
                           addr_short(addr, s), (long long)FUNDS_MAX);
    }
    if (delta == 0) {
        return 0;
    }
    uint8_t v[8];
    base_put_u64(v, (uint64_t)(b + delta));
    return lg_ctx_put(ctx, key, kl, v, sizeof v);
}

/* The asset @id, owned by the caller and not locked by an offer. */
static int own_free_asset(struct lg_ctx *ctx, const char *id, const uint8_t *me,
                          struct asset *a)
{
    int rv = asset_load(ctx, id, a);
    if (rv != 0) {
        return rv;
    }
    if (!same_addr(a->owner, me)) {
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
    struct asset a;
    memset(&a, 0, sizeof a);
    int rv = addr_arg(ctx, &argv[0], a.owner);
    rv = rv ? rv
            : int_arg(ctx, &argv[1], "power (W)", -POWER_MAX, POWER_MAX,
                      &a.power);
    rv = rv ? rv : int_arg(ctx, &argv[2], "start", 0, TIME_MAX, &a.start);
    rv = rv ? rv : int_arg(ctx, &argv[3], "end", 0, TIME_MAX, &a.end);
    if (rv != 0) {
        return rv;
    }
    if (a.power == 0) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "power must not be zero (positive: production, "
                           "negative: consumption)");
    }
    if (a.end < a.start) {
        return lg_ctx_fail(ctx, BASE_EARGS, "end %lld is before start %lld",
                           (long long)a.end, (long long)a.start);
    }
    /* The address's account, made now, off the trading path. */
    char bal[KEY_MAX];
    size_t bl;
    rv = account(ctx, a.owner, true, 0, bal, &bl);
    rv = rv ? rv : asset_new(ctx, 0, a.owner, a.power, a.start, a.end, a.id);
    if (rv != 0) {
        return rv;
    }
    struct base_buf b;
    struct jw w;
    jw_init(&w, &b);
    asset_json(&w, &a, false);
    return emit_buf(ctx, "AssetAdded", &w);
}

static int add_financial(struct lg_ctx *ctx, uint32_t argc,
                         const struct lg_slice *argv)
{
    if (argc != 2) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: addFinancialBalance ADDRESS AMOUNT");
    }
    uint8_t addr[ADDR_SIZE];
    int64_t amount, bal;
    int rv = addr_arg(ctx, &argv[0], addr);
    rv = rv ? rv : int_arg(ctx, &argv[1], "amount", 1, FUNDS_MAX, &amount);
    rv = rv ? rv : balance_add(ctx, addr, amount, 0);
    rv = rv ? rv : balance_get(ctx, addr, &bal);
    if (rv != 0) {
        return rv;
    }
    struct base_buf b;
    struct jw w;
    jw_init(&w, &b);
    jw_open(&w, '{');
    jw_addr(&w, "address", addr);
    jw_int(&w, "amount", amount);
    jw_int(&w, "balance", bal);
    jw_close(&w, '}');
    return emit_buf(ctx, "FinancialAdded", &w);
}

/* ---- anonymous addresses: trading ------------------------------------------
 */

/* Emit @event for offer @f and return it. */
static int emit_offer(struct lg_ctx *ctx, const char *event,
                      const struct offer *f)
{
    struct base_buf b;
    struct jw w;
    jw_init(&w, &b);
    offer_json(&w, f);
    return emit_buf(ctx, event, &w);
}

static int post_offer(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 2 && argc != 3) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: postOffer ASSET PRICE [ask|bid]");
    }
    const uint8_t *me = caller_addr(ctx);
    char id[ID_MAX + 1], kind[8] = "";
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
    f.bid = a.power < 0;
    memcpy(f.asset, id, strlen(id) + 1);
    memcpy(f.poster, me, ADDR_SIZE);
    f.status = OPEN;
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
    memcpy(a.offer, f.id, strlen(f.id) + 1);
    rv = asset_store(ctx, &a);
    rv = rv ? rv : offer_store(ctx, &f);
    return rv ? rv : emit_offer(ctx, "OfferPosted", &f);
}

static int rescind_offer(struct lg_ctx *ctx, uint32_t argc,
                         const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: rescindOffer OFFER");
    }
    const uint8_t *me = caller_addr(ctx);
    char id[ID_MAX + 1];
    struct offer f;
    struct asset a;
    int rv = id_arg(ctx, &argv[0], "offer", id);
    rv = rv ? rv : offer_load(ctx, id, &f);
    if (rv != 0) {
        return rv;
    }
    if (!same_addr(f.poster, me)) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "offer '%s' was posted by another address", id);
    }
    if (f.status != OPEN) {
        return lg_ctx_fail(ctx, BASE_EINVAL, "offer '%s' is %s, not open", id,
                           status_name[f.status]);
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
    f.status = RESCINDED;
    rv = rv ? rv : offer_store(ctx, &f);
    return rv ? rv : emit_offer(ctx, "OfferRescinded", &f);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Give back to its owner what of asset @a lies outside [s, e], and @rest W
 * of it over [s, e]; the ids of the new assets are added to @t. */
static int give_back(struct lg_ctx *ctx, int *k, const struct asset *a,
                     int64_t s, int64_t e, int64_t rest, struct trade *t)
{
    struct {
        int64_t power, start, end;
    } parts[3] = {
        {a->power, a->start, s - 1}, {rest, s, e}, {a->power, e + 1, a->end}};
    for (size_t i = 0; i < 3; i++) {
        if (parts[i].power == 0 || parts[i].end < parts[i].start) {
            continue;
        }
        int rv = asset_new(ctx, (*k)++, a->owner, parts[i].power,
                           parts[i].start, parts[i].end, t->back[t->nback++]);
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
    const uint8_t *me = caller_addr(ctx);
    char oid[ID_MAX + 1], aid[ID_MAX + 1];
    struct offer f;
    struct asset mine, theirs;
    int rv = id_arg(ctx, &argv[0], "offer", oid);
    rv = rv ? rv : id_arg(ctx, &argv[1], "asset", aid);
    rv = rv ? rv : offer_load(ctx, oid, &f);
    if (rv != 0) {
        return rv;
    }
    if (f.status != OPEN) {
        return lg_ctx_fail(ctx, BASE_EINVAL, "offer '%s' is %s, not open", oid,
                           status_name[f.status]);
    }
    if (same_addr(f.poster, me)) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "offer '%s' is the caller's own offer", oid);
    }
    rv = own_free_asset(ctx, aid, me, &mine);
    rv = rv ? rv : asset_load(ctx, f.asset, &theirs);
    if (rv != 0) {
        return rv;
    }
    bool ask = !f.bid;
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
    struct trade *t = &f.trade;
    memset(t, 0, sizeof *t);
    struct asset to_buyer = *prod, to_seller = *cons;
    memcpy(to_buyer.owner, cons->owner, ADDR_SIZE);
    memcpy(to_seller.owner, prod->owner, ADDR_SIZE);
    to_buyer.power = p;
    to_seller.power = -p;
    to_buyer.start = to_seller.start = s;
    to_buyer.end = to_seller.end = e;
    to_buyer.offer[0] = to_seller.offer[0] = '\0';
    int k = 0;
    rv = rv ? rv : give_back(ctx, &k, prod, s, e, prod->power - p, t);
    rv = rv ? rv : give_back(ctx, &k, cons, s, e, cons->power + p, t);
    rv = rv ? rv : asset_store(ctx, &to_buyer);
    rv = rv ? rv : asset_store(ctx, &to_seller);
    if (rv != 0) {
        return rv;
    }
    f.status = ACCEPTED;
    memcpy(t->with, aid, strlen(aid) + 1);
    memcpy(t->by, me, ADDR_SIZE);
    t->power = p;
    t->start = s;
    t->end = e;
    t->amount = pay;
    memcpy(t->to_buyer, to_buyer.id, strlen(to_buyer.id) + 1);
    memcpy(t->to_seller, to_seller.id, strlen(to_seller.id) + 1);
    rv = offer_store(ctx, &f);
    return rv ? rv : emit_offer(ctx, "OfferAccepted", &f);
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
    const uint8_t *me = caller_addr(ctx);
    char hex[ADDR_LEN + 1], id[ID_MAX + 1];
    base_hex_encode(hex, me, ADDR_SIZE);
    struct asset a;
    int rv = id_arg(ctx, &argv[0], "asset", id);
    rv = rv ? rv : own_free_asset(ctx, id, me, &a);
    rv = rv ? rv : asset_delete(ctx, id);
    if (rv != 0) {
        return rv;
    }
    return log_deposit(ctx,
                       json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "address",
                                 hex, "kind", "energy", "asset", id, "power",
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
    const uint8_t *me = caller_addr(ctx);
    char hex[ADDR_LEN + 1];
    base_hex_encode(hex, me, ADDR_SIZE);
    int64_t amount;
    int rv = int_arg(ctx, &argv[0], "amount", 1, FUNDS_MAX, &amount);
    rv = rv ? rv : balance_add(ctx, me, -amount, 0);
    if (rv != 0) {
        return rv;
    }
    return log_deposit(ctx,
                       json_pack("{s:s, s:s, s:I}", "address", hex, "kind",
                                 "financial", "amount", (json_int_t)amount),
                       "FinancialDeposited");
}

/* ---- reads ----------------------------------------------------------------
 */

static int read_asset(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: readAsset ASSET");
    }
    char id[ID_MAX + 1];
    struct asset a;
    int rv = id_arg(ctx, &argv[0], "asset", id);
    rv = rv ? rv : asset_load(ctx, id, &a);
    if (rv != 0) {
        return rv;
    }
    struct base_buf b;
    struct jw w;
    jw_init(&w, &b);
    asset_json(&w, &a, true);
    rv = w.rv ? w.rv : lg_ctx_return(ctx, b.data, b.len);
    base_buf_release(&b);
    return rv;
}

static int read_offer(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: readOffer OFFER");
    }
    char id[ID_MAX + 1];
    struct offer f;
    int rv = id_arg(ctx, &argv[0], "offer", id);
    rv = rv ? rv : offer_load(ctx, id, &f);
    if (rv != 0) {
        return rv;
    }
    struct base_buf b;
    struct jw w;
    jw_init(&w, &b);
    offer_json(&w, &f);
    rv = w.rv ? w.rv : lg_ctx_return(ctx, b.data, b.len);
    base_buf_release(&b);
    return rv;
}

static int balance_fn(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    if (argc != 1) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: balance ADDRESS");
    }
    uint8_t addr[ADDR_SIZE];
    char num[24];
    int64_t b;
    int rv = addr_arg(ctx, &argv[0], addr);
    rv = rv ? rv : balance_get(ctx, addr, &b);
    if (rv != 0) {
        return rv;
    }
    return lg_ctx_return(ctx, num, fmt_i64(num, b));
}

struct list {
    struct lg_ctx *ctx;
    bool index; /* the keys name offers: list the offers */
    struct jw w;
    size_t n;
    int rv;
};

static int list_one(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct list *l = arg;
    if (l->index) {
        /* open/ID: the offer is offer/ID. */
        char id[ID_MAX + 1];
        struct offer f;
        if (key.len < 6 || key.len - 5 > ID_MAX) {
            l->rv = BASE_ECORRUPT;
            return 1;
        }
        memcpy(id, key.p + 5, key.len - 5);
        id[key.len - 5] = '\0';
        l->rv = offer_load(l->ctx, id, &f);
        if (l->rv != 0) {
            l->rv = BASE_ECORRUPT;
            return 1;
        }
        jw_key(&l->w, NULL);
        offer_json(&l->w, &f);
    } else {
        /* dep/SEQ: JSON as stored. */
        jw_key(&l->w, NULL);
        jw_raw(&l->w, (const char *)val.p, val.len);
    }
    l->rv = l->w.rv;
    return l->rv != 0 || ++l->n == LIST_MAX;
}

/* The JSON array of the records from @start up to the end of the prefix. */
static int list(struct lg_ctx *ctx, const char *start, const char *end,
                bool index)
{
    struct base_buf b;
    struct list l = {.ctx = ctx, .index = index};
    jw_init(&l.w, &b);
    jw_open(&l.w, '[');
    int rv =
        lg_ctx_range(ctx, start, strlen(start), end, strlen(end), list_one, &l);
    rv = rv ? rv : l.rv;
    jw_close(&l.w, ']');
    rv = rv ? rv : l.w.rv;
    rv = rv ? rv : lg_ctx_return(ctx, b.data, b.len);
    base_buf_release(&b);
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

/* No read rule: petra's reads are open to any role by design (its
 * privacy is the anonymous addresses, docs/petra.md). */
const struct sc_contract sc_petra_contract = {"petra", functions,
                                              BASE_ARRAY_LEN(functions), NULL};
