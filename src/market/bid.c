/* SPDX-License-Identifier: MIT */
/* Bid records: the raw off-chain JSON, its checksum on chain, and
 * retrieval that says whether the two agree. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market.h"

void mk_bid_init(struct mk_bid *b)
{
    memset(b, 0, sizeof *b);
}

void mk_bid_release(struct mk_bid *b)
{
    base_free(b->e);
    b->e = NULL;
    b->n = 0;
}

int mk_bid_add(struct mk_bid *b, const struct mk_entry *e)
{
    /* Grow by doubling: n is a power of two or less whenever we grow. */
    if ((b->n & (b->n - 1)) == 0) {
        size_t cap = b->n ? b->n * 2 : 4;
        struct mk_entry *p = base_realloc(b->e, cap * sizeof *p);
        if (p == NULL) {
            return BASE_ENOMEM;
        }
        b->e = p;
    }
    b->e[b->n++] = *e;
    return 0;
}

double mk_bid_kw(const struct mk_bid *b)
{
    double kw = 0;
    for (size_t i = 0; i < b->n; i++) {
        kw += b->e[i].kw;
    }
    return kw;
}

/* JSON string with the escapes JSON needs; ids are plain, but a record must
 * stay valid JSON whatever it holds. */
static int add_str(struct base_buf *out, const char *s)
{
    int rv = base_buf_add_u8(out, '"');
    for (; rv == 0 && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            rv = base_buf_printf(out, "\\%c", c);
        } else if (c < 0x20) {
            rv = base_buf_printf(out, "\\u%04x", c);
        } else {
            rv = base_buf_add_u8(out, c);
        }
    }
    return rv ? rv : base_buf_add_u8(out, '"');
}

int mk_bid_encode(const struct mk_bid *b, struct base_buf *out)
{
    int rv = base_buf_add_str(out, "{\"uid\":");
    rv = rv ? rv : add_str(out, b->uid);
    rv = rv ? rv : base_buf_add_str(out, ",\"dera\":");
    rv = rv ? rv : add_str(out, b->dera);
    rv = rv ? rv : base_buf_add_str(out, ",\"market\":");
    rv = rv ? rv : add_str(out, b->market);
    rv = rv ? rv
            : base_buf_printf(out, ",\"interval\":%lld,\"entries\":[",
                              (long long)b->interval);
    for (size_t i = 0; rv == 0 && i < b->n; i++) {
        const struct mk_entry *e = &b->e[i];
        rv = base_buf_add_str(out, i ? ",{\"der\":" : "{\"der\":");
        rv = rv ? rv : add_str(out, e->der);
        rv = rv ? rv
                : base_buf_printf(out,
                                  ",\"kw\":%.6f,\"price\":%.6f,\"cap\":%.6f}",
                                  e->kw, e->price, e->cap);
    }
    return rv ? rv : base_buf_add_str(out, "]}");
}

static void copy_str(char *dst, size_t size, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, size, "%s", v ? v : "");
}

int mk_bid_decode(struct mk_bid *b, const void *p, size_t len)
{
    mk_bid_init(b);
    json_t *o = json_loadb(p, len, 0, NULL);
    json_t *entries = json_object_get(o, "entries");
    if (!json_is_object(o) || !json_is_array(entries) ||
        !json_is_integer(json_object_get(o, "interval"))) {
        json_decref(o);
        return BASE_EPARSE;
    }
    copy_str(b->uid, sizeof b->uid, o, "uid");
    copy_str(b->dera, sizeof b->dera, o, "dera");
    copy_str(b->market, sizeof b->market, o, "market");
    b->interval = json_integer_value(json_object_get(o, "interval"));
    int rv = 0;
    size_t i;
    json_t *x;
    json_array_foreach(entries, i, x)
    {
        struct mk_entry e;
        memset(&e, 0, sizeof e);
        copy_str(e.der, sizeof e.der, x, "der");
        e.kw = json_number_value(json_object_get(x, "kw"));
        e.price = json_number_value(json_object_get(x, "price"));
        e.cap = json_number_value(json_object_get(x, "cap"));
        if (e.der[0] == '\0' || !isfinite(e.kw) || e.kw < 0) {
            rv = BASE_EPARSE;
            break;
        }
        rv = mk_bid_add(b, &e);
        if (rv != 0) {
            break;
        }
    }
    json_decref(o);
    if (rv != 0) {
        mk_bid_release(b);
    }
    return rv;
}

static int ids_csv(const struct mk_bid *b, struct base_buf *out)
{
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < b->n; i++) {
        rv = i ? base_buf_add_u8(out, ',') : 0;
        rv = rv ? rv : base_buf_add_str(out, b->e[i].der);
    }
    return rv;
}

static int fail_res(struct mk_result *res, int code, const char *what)
{
    memset(res, 0, sizeof *res);
    res->code = code;
    snprintf(res->reason, sizeof res->reason, "%s: %s", what,
             base_strerror(code));
    return code;
}

/* A failed call of @c: the client's own account of it when it has one
 * (the remote client names the node and what went wrong). */
static int fail_client(struct mk_result *res, struct mk_client *c, int code,
                       const char *what)
{
    fail_res(res, code, what);
    if (c->errmsg[0] != '\0') {
        snprintf(res->reason, sizeof res->reason, "%s: %s", what, c->errmsg);
    }
    return code;
}

/* A record over the store's limit is refused here, before anything is
 * sent: the reason names the size. */
static int too_big(struct mk_result *res, size_t len)
{
    memset(res, 0, sizeof *res);
    res->code = BASE_ETOOBIG;
    snprintf(res->reason, sizeof res->reason,
             "the bid record is %zu bytes, over the limit of %u (256 KiB)", len,
             (unsigned)MK_BID_RECORD_MAX);
    return BASE_ETOOBIG;
}

/* The record's total in whole watts, as the chain keeps it (TOTAL_W). */
static long long total_w(const struct mk_bid *b)
{
    return llround(mk_bid_kw(b) * 1000);
}

int mk_bid_create(struct mk_client *c, const struct mk_bid *b,
                  struct mk_result *res)
{
    struct base_buf raw, ids;
    base_buf_init(&raw, 0);
    base_buf_init(&ids, 0);
    struct cr_hash h;
    int rv = mk_bid_encode(b, &raw);
    rv = rv ? rv : ids_csv(b, &ids);
    if (rv == 0 && raw.len > MK_BID_RECORD_MAX) {
        rv = too_big(res, raw.len);
    } else if (rv == 0) {
        rv = mk_offchain_put(c, raw.data, raw.len, &h);
        if (rv != 0) {
            fail_client(res, c, rv, "off-chain store");
        }
    } else {
        fail_res(res, rv, "encode");
    }
    if (rv == 0) {
        char sum[65], interval[24], tw[24];
        base_hex_encode(sum, h.b, CR_HASH_SIZE);
        snprintf(interval, sizeof interval, "%lld", (long long)b->interval);
        snprintf(tw, sizeof tw, "%lld", total_w(b));
        struct lg_slice args[6] = {
            {(const uint8_t *)b->uid, strlen(b->uid)},
            {(const uint8_t *)b->market, strlen(b->market)},
            {(const uint8_t *)interval, strlen(interval)},
            {(const uint8_t *)sum, 64},
            {ids.data, ids.len},
            {(const uint8_t *)tw, strlen(tw)},
        };
        rv = mk_submit(c, "bids", "create", 6, args, res);
    }
    base_buf_release(&raw);
    base_buf_release(&ids);
    return rv;
}

int mk_bid_modify(struct mk_client *c, const struct mk_bid *b,
                  const char *reason, struct mk_result *res)
{
    struct base_buf raw;
    base_buf_init(&raw, 0);
    struct cr_hash h;
    int rv = mk_bid_encode(b, &raw);
    if (rv == 0 && raw.len > MK_BID_RECORD_MAX) {
        rv = too_big(res, raw.len);
    } else if (rv == 0) {
        rv = mk_offchain_put(c, raw.data, raw.len, &h);
        if (rv != 0) {
            fail_client(res, c, rv, "off-chain store");
        }
    } else {
        fail_res(res, rv, "encode");
    }
    if (rv == 0) {
        char sum[65], tw[24];
        base_hex_encode(sum, h.b, CR_HASH_SIZE);
        snprintf(tw, sizeof tw, "%lld", total_w(b));
        struct lg_slice args[4] = {
            {(const uint8_t *)b->uid, strlen(b->uid)},
            {(const uint8_t *)sum, 64},
            {(const uint8_t *)reason, strlen(reason)},
            {(const uint8_t *)tw, strlen(tw)},
        };
        rv = mk_submit(c, "bids", "modify", 4, args, res);
    }
    base_buf_release(&raw);
    return rv;
}

void mk_bid_view_release(struct mk_bid_view *v)
{
    mk_bid_release(&v->bid);
}

/* Does the record's DER set equal the chain's? Each entry names a DER once;
 * @ders is the on-chain array of ids. */
static bool same_ders(const struct mk_bid *b, json_t *ders, char *why,
                      size_t size)
{
    for (size_t i = 0; i < b->n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(b->e[i].der, b->e[k].der) == 0) {
                snprintf(why, size, "the off-chain record names DER '%s' twice",
                         b->e[i].der);
                return false;
            }
        }
        bool on_chain = false;
        size_t j;
        json_t *d;
        json_array_foreach(ders, j, d)
        {
            const char *id = json_string_value(d);
            on_chain = on_chain || (id != NULL && strcmp(id, b->e[i].der) == 0);
        }
        if (!on_chain) {
            snprintf(why, size,
                     "the off-chain record offers DER '%s', which the "
                     "on-chain bid does not name",
                     b->e[i].der);
            return false;
        }
    }
    /* Every entry is on chain and distinct: the sets are equal when the
     * counts are (the contract refuses a repeated DER on chain). */
    if (b->n != json_array_size(ders)) {
        snprintf(why, size,
                 "the off-chain record offers %zu DERs, the on-chain bid "
                 "names %zu",
                 b->n, json_array_size(ders));
        return false;
    }
    return true;
}

/* Each DER registered to the bid's DERA, its kW within its qualification. */
static bool qualified(const struct mk_bid *b, mk_der_fn der, void *arg,
                      char *why, size_t size)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct mk_entry *e = &b->e[i];
        struct sc_der d;
        int rv = der(arg, e->der, &d);
        if (rv != 0) {
            snprintf(why, size, "DER '%s' of the record: %s", e->der,
                     rv == BASE_ENOTFOUND ? "not in the registry"
                                          : base_strerror(rv));
            return false;
        }
        if (strcmp(d.dera, b->dera) != 0) {
            snprintf(why, size,
                     "DER '%s' is registered to %s, not to the bid's DERA %s",
                     e->der, d.dera, b->dera);
            return false;
        }
        /* The record prints kW to 1e-6; a rounding step is not an
         * excess. */
        if (e->kw > d.qualified_kw + 1e-6) {
            snprintf(why, size,
                     "DER '%s' offers %.3f kW, over its qualified %.3f kW",
                     e->der, e->kw, d.qualified_kw);
            return false;
        }
    }
    return true;
}

int mk_bid_check(const void *chain, size_t chain_len, const void *raw,
                 size_t raw_len, mk_der_fn der, void *der_arg,
                 struct mk_bid_view *out)
{
    memset(out, 0, sizeof *out);
    out->total_w = -1;
    json_t *o = json_loadb(chain, chain_len, 0, NULL);
    json_t *ders = json_object_get(o, "ders");
    if (!json_is_object(o) || !json_is_array(ders)) {
        json_decref(o);
        snprintf(out->reason, sizeof out->reason,
                 "the on-chain record is not a bid");
        return BASE_ECORRUPT;
    }
    copy_str(out->status, sizeof out->status, o, "status");
    copy_str(out->checksum, sizeof out->checksum, o, "checksum");
    out->version = json_integer_value(json_object_get(o, "version"));
    json_t *tw = json_object_get(o, "total_w");
    out->total_w = json_is_integer(tw) ? json_integer_value(tw) : -1;
    struct mk_bid want; /* what the chain says the record describes */
    mk_bid_init(&want);
    copy_str(want.uid, sizeof want.uid, o, "uid");
    copy_str(want.dera, sizeof want.dera, o, "dera");
    copy_str(want.market, sizeof want.market, o, "market");
    want.interval = json_integer_value(json_object_get(o, "interval"));

    char *why = out->reason;
    size_t wsize = sizeof out->reason;
    struct mk_bid *b = &out->bid;
    if (raw == NULL) {
        snprintf(why, wsize, "the off-chain record %s is missing",
                 out->checksum);
    } else if (sc_record_hash(out->computed, raw, raw_len),
               strcmp(out->computed, out->checksum) != 0) {
        /* The store is keyed by the hash, but whoever can write its file
         * can change the bytes under a key. */
        snprintf(why, wsize,
                 "tampered: the off-chain record hashes to %.16s..., the "
                 "chain holds %.16s...",
                 out->computed, out->checksum);
    } else if (raw_len > MK_BID_RECORD_MAX) {
        snprintf(why, wsize,
                 "the off-chain record is %zu bytes, over the limit of %u: "
                 "not read",
                 raw_len, (unsigned)MK_BID_RECORD_MAX);
    } else if (mk_bid_decode(b, raw, raw_len) != 0) {
        snprintf(why, wsize,
                 "the off-chain record matches its checksum but is not a "
                 "bid");
    } else if (strcmp(b->uid, want.uid) != 0 ||
               strcmp(b->dera, want.dera) != 0 ||
               strcmp(b->market, want.market) != 0 ||
               b->interval != want.interval) {
        snprintf(why, wsize,
                 "the off-chain record describes bid '%.64s' of %s for "
                 "market %.32s interval %lld, not '%.64s' of %s for %.32s "
                 "interval %lld",
                 b->uid, b->dera, b->market, (long long)b->interval, want.uid,
                 want.dera, want.market, (long long)want.interval);
    } else if (!same_ders(b, ders, why, wsize) ||
               !qualified(b, der, der_arg, why, wsize)) {
        /* why is set */
    } else if (out->total_w >= 0 &&
               llabs(llround(mk_bid_kw(b) * 1000) - out->total_w) > 1) {
        snprintf(why, wsize,
                 "the off-chain record totals %.3f kW, the chain says "
                 "%.3f kW",
                 mk_bid_kw(b), (double)out->total_w / 1000);
    } else {
        out->intact = true;
    }
    if (!out->intact) {
        mk_bid_release(b); /* a record that fails is never handed out */
    }
    json_decref(o);
    return 0;
}

/* The registry through the client: registry.read as the client's
 * identity. */
static int der_by_client(void *arg, const char *id, struct sc_der *out)
{
    struct mk_client *c = arg;
    struct base_buf rec;
    base_buf_init(&rec, 0);
    char reason[LG_REASON_MAX + 1];
    struct lg_slice a = {(const uint8_t *)id, strlen(id)};
    int rv = mk_evaluate(c, "registry", "read", 1, &a, &rec, reason);
    if (rv == 0 && sc_der_parse(rec.data, rec.len, out) != 0) {
        rv = BASE_ECORRUPT;
    }
    base_buf_release(&rec);
    return rv;
}

int mk_bid_retrieve(struct mk_client *c, const char *uid,
                    struct mk_bid_view *out)
{
    memset(out, 0, sizeof *out);
    struct base_buf rec;
    base_buf_init(&rec, 0);
    struct lg_slice arg = {(const uint8_t *)uid, strlen(uid)};
    int rv = mk_evaluate(c, "bids", "retrieve", 1, &arg, &rec, out->reason);
    if (rv != 0) {
        base_buf_release(&rec);
        return rv;
    }
    json_t *o = json_loadb((const char *)rec.data, rec.len, 0, NULL);
    char sum[65];
    copy_str(sum, sizeof sum, o, "checksum");
    json_decref(o);
    struct cr_hash h;
    if (o == NULL || strlen(sum) != 64 ||
        base_hex_decode(h.b, CR_HASH_SIZE, sum) != 0) {
        base_buf_release(&rec);
        snprintf(out->reason, sizeof out->reason,
                 o ? "the on-chain checksum is malformed"
                   : "the on-chain record is not JSON");
        return BASE_ECORRUPT;
    }
    struct base_buf raw;
    base_buf_init(&raw, 0);
    rv = mk_offchain_get(c, uid, &h, &raw);
    if (rv != 0 && rv != BASE_ENOTFOUND) {
        snprintf(out->reason, sizeof out->reason, "off-chain store: %s",
                 c->errmsg[0] ? c->errmsg : base_strerror(rv));
    } else {
        rv = mk_bid_check(rec.data, rec.len, rv ? NULL : raw.data, raw.len,
                          der_by_client, c, out);
    }
    base_buf_release(&raw);
    base_buf_release(&rec);
    return rv;
}
