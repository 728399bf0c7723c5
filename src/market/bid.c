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

int mk_bid_create(struct mk_client *c, const struct mk_bid *b,
                  struct mk_result *res)
{
    struct base_buf raw, ids;
    base_buf_init(&raw, 0);
    base_buf_init(&ids, 0);
    struct cr_hash h;
    int rv = mk_bid_encode(b, &raw);
    rv = rv ? rv : ids_csv(b, &ids);
    if (rv == 0) {
        rv = mk_offchain_put(c, raw.data, raw.len, &h);
        if (rv != 0) {
            fail_client(res, c, rv, "off-chain store");
        }
    } else {
        fail_res(res, rv, "encode");
    }
    if (rv == 0) {
        char sum[65], interval[24];
        base_hex_encode(sum, h.b, CR_HASH_SIZE);
        snprintf(interval, sizeof interval, "%lld", (long long)b->interval);
        struct lg_slice args[5] = {
            {(const uint8_t *)b->uid, strlen(b->uid)},
            {(const uint8_t *)b->market, strlen(b->market)},
            {(const uint8_t *)interval, strlen(interval)},
            {(const uint8_t *)sum, 64},
            {ids.data, ids.len},
        };
        rv = mk_submit(c, "bids", "create", 5, args, res);
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
    if (rv == 0) {
        rv = mk_offchain_put(c, raw.data, raw.len, &h);
        if (rv != 0) {
            fail_client(res, c, rv, "off-chain store");
        }
    } else {
        fail_res(res, rv, "encode");
    }
    if (rv == 0) {
        char sum[65];
        base_hex_encode(sum, h.b, CR_HASH_SIZE);
        struct lg_slice args[3] = {
            {(const uint8_t *)b->uid, strlen(b->uid)},
            {(const uint8_t *)sum, 64},
            {(const uint8_t *)reason, strlen(reason)},
        };
        rv = mk_submit(c, "bids", "modify", 3, args, res);
    }
    base_buf_release(&raw);
    return rv;
}

void mk_bid_view_release(struct mk_bid_view *v)
{
    mk_bid_release(&v->bid);
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
    base_buf_release(&rec);
    if (o == NULL) {
        snprintf(out->reason, sizeof out->reason,
                 "the on-chain record is not JSON");
        return BASE_ECORRUPT;
    }
    copy_str(out->status, sizeof out->status, o, "status");
    copy_str(out->checksum, sizeof out->checksum, o, "checksum");
    out->version = json_integer_value(json_object_get(o, "version"));
    json_decref(o);

    struct cr_hash h;
    if (strlen(out->checksum) != 64 ||
        base_hex_decode(h.b, CR_HASH_SIZE, out->checksum) != 0) {
        snprintf(out->reason, sizeof out->reason,
                 "the on-chain checksum is malformed");
        return BASE_ECORRUPT;
    }
    struct base_buf raw;
    base_buf_init(&raw, 0);
    rv = mk_offchain_get(c, &h, &raw);
    if (rv == BASE_ENOTFOUND) {
        snprintf(out->reason, sizeof out->reason,
                 "the off-chain record %s is missing", out->checksum);
        base_buf_release(&raw);
        return 0;
    }
    if (rv != 0) {
        snprintf(out->reason, sizeof out->reason, "off-chain store: %s",
                 c->errmsg[0] ? c->errmsg : base_strerror(rv));
        base_buf_release(&raw);
        return rv;
    }
    /* The store is keyed by the hash, but whoever can write its file can
     * change the bytes under a key: hash what came back. */
    sc_record_hash(out->computed, raw.data, raw.len);
    if (strcmp(out->computed, out->checksum) != 0) {
        snprintf(out->reason, sizeof out->reason,
                 "tampered: the off-chain record hashes to %.16s..., the "
                 "chain holds %.16s...",
                 out->computed, out->checksum);
    } else if (mk_bid_decode(&out->bid, raw.data, raw.len) != 0) {
        snprintf(out->reason, sizeof out->reason,
                 "the off-chain record matches its checksum but is not a "
                 "bid");
    } else {
        out->intact = true;
    }
    base_buf_release(&raw);
    return 0;
}
