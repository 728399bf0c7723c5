/* SPDX-License-Identifier: MIT */
/* GET /v1/bids: the bids most recently written, each with what the DSO did
 * to it (status, reason, the kW as bid and as curtailed). The node's
 * dashboard shows it; docs/api.md says the shape. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "market/market.h"

/* Bids looked at per request at most: past this the answer says
 * "truncated" (a ledger of many market days; the newest are still found
 * among the keys read, which are in uid order, not time order). */
#define SCAN_MAX 100000

struct seen {
    char uid[MK_UID_MAX + 1];
    struct lg_version ver;
};

struct scan {
    struct seen *v;
    size_t n, cap;
    bool truncated;
    int rv;
};

static int collect(void *arg, struct lg_slice key, struct lg_slice val)
{
    (void)val;
    struct scan *s = arg;
    if (key.len <= 4 || key.len - 4 > MK_UID_MAX) {
        return 0; /* not a bid key of this contract's making */
    }
    if (s->n == SCAN_MAX) {
        s->truncated = true;
        return 1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        struct seen *nv = base_realloc(s->v, cap * sizeof *nv);
        if (nv == NULL) {
            s->rv = BASE_ENOMEM;
            return 1;
        }
        s->v = nv;
        s->cap = cap;
    }
    memcpy(s->v[s->n].uid, key.p + 4, key.len - 4);
    s->v[s->n].uid[key.len - 4] = '\0';
    s->n++;
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    if (x->ver.block != y->ver.block) {
        return x->ver.block < y->ver.block ? 1 : -1;
    }
    return x->ver.tx < y->ver.tx ? 1 : x->ver.tx > y->ver.tx ? -1 : 0;
}

/* The versions of one bid: the first one's checksum (the bid as made), and
 * whether the DSO ever curtailed it (status "curtailed" in some version:
 * a dispatched bid keeps its reason but not that status). */
struct versions {
    char first[65];
    bool curtailed;
    uint64_t created_block;
};

static int version_cb(void *arg, const struct lg_history_entry *e)
{
    struct versions *v = arg;
    json_t *o = json_loadb((const char *)e->value.p, e->value.len, 0, NULL);
    const char *sum = json_string_value(json_object_get(o, "checksum"));
    const char *st = json_string_value(json_object_get(o, "status"));
    if (v->first[0] == '\0' && sum != NULL) {
        snprintf(v->first, sizeof v->first, "%s", sum);
        v->created_block = e->ver.block;
    }
    if (st != NULL && strcmp(st, "curtailed") == 0) {
        v->curtailed = true;
    }
    json_decref(o);
    return 0;
}

/* The total kW of the raw record with checksum @sum, after checking that
 * the off-chain bytes hash to it; NULL (JSON null) and @why when they are
 * missing, altered or unreadable. */
static json_t *record_kw(struct gw_server *g, const char *sum, char *why,
                         size_t size)
{
    struct cr_hash h;
    if (strlen(sum) != 64 || base_hex_decode(h.b, 32, sum) != 0) {
        snprintf(why, size, "the on-chain checksum is malformed");
        return json_null();
    }
    struct base_buf raw;
    base_buf_init(&raw, 0);
    int rv = kv_offchain_get(g->off, &h, &raw);
    gw__metrics_offchain(&g->m, false, rv);
    json_t *out = json_null();
    char got[65] = "";
    if (rv == 0) {
        sc_record_hash(got, raw.data, raw.len);
    }
    if (rv != 0) {
        snprintf(why, size, "the off-chain record %.16s... is missing", sum);
    } else if (strcmp(got, sum) != 0) {
        snprintf(why, size, "tampered: the off-chain record hashes to %.16s...",
                 got);
    } else {
        struct mk_bid b;
        if (mk_bid_decode(&b, raw.data, raw.len) == 0) {
            json_decref(out);
            /* To the watt: the record's entries are printed to 1e-6. */
            out = json_real(round(mk_bid_kw(&b) * 1000) / 1000);
        } else {
            snprintf(why, size, "the off-chain record is not a bid");
        }
        mk_bid_release(&b);
    }
    base_buf_release(&raw);
    return out;
}

/* One bid as the list shows it; NULL when it vanished meanwhile, or when
 * @only_curtailed and the DSO never curtailed it. */
static json_t *bid_json(struct gw_server *g, const struct seen *s,
                        bool only_curtailed)
{
    char key[8 + MK_UID_MAX];
    snprintf(key, sizeof key, "bid/%s", s->uid);
    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    json_t *rec = NULL;
    if (lg_get(g->ch, "bids", key, strlen(key), &v, &ver) == 0) {
        rec = json_loadb((const char *)v.data, v.len, 0, NULL);
    }
    base_buf_release(&v);
    struct versions vs = {"", false, 0};
    if (rec == NULL ||
        lg_history(g->ch, "bids", key, strlen(key), version_cb, &vs) != 0 ||
        (only_curtailed && !vs.curtailed)) {
        json_decref(rec);
        return NULL;
    }
    const char *sum = json_string_value(json_object_get(rec, "checksum"));
    char why[LG_REASON_MAX + 1] = "", why0[LG_REASON_MAX + 1] = "";
    json_t *kw = record_kw(g, sum ? sum : "", why, sizeof why);
    json_t *kw0 = strcmp(vs.first, sum ? sum : "") == 0
                      ? json_deep_copy(kw)
                      : record_kw(g, vs.first, why0, sizeof why0);
    json_t *o = json_object();
    const char *copy[] = {"uid",    "dera",    "market", "interval",
                          "status", "version", "n",      "reason"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(copy); i++) {
        json_t *x = json_object_get(rec, copy[i]);
        json_object_set(o, copy[i], x ? x : json_null());
    }
    json_object_set_new(o, "block", json_integer((json_int_t)ver.block));
    json_object_set_new(o, "tx", json_integer(ver.tx));
    json_object_set_new(o, "created_block",
                        json_integer((json_int_t)vs.created_block));
    json_object_set_new(o, "curtailed", json_boolean(vs.curtailed));
    bool intact = why[0] == '\0' && why0[0] == '\0';
    if (json_is_number(kw) && json_is_number(kw0)) {
        double cut = json_number_value(kw0) - json_number_value(kw);
        json_object_set_new(o, "curtailed_kw",
                            json_real(round(cut * 1000) / 1000));
    } else {
        json_object_set_new(o, "curtailed_kw", json_null());
    }
    json_object_set_new(o, "original_kw", kw0);
    json_object_set_new(o, "kw", kw);
    json_object_set_new(o, "checksum", json_string(sum ? sum : ""));
    json_object_set_new(o, "original_checksum", json_string(vs.first));
    json_object_set_new(o, "intact", json_boolean(intact));
    json_object_set_new(o, "record_error",
                        json_string(why[0]    ? why
                                    : why0[0] ? why0
                                              : ""));
    json_decref(rec);
    return o;
}

enum MHD_Result gw__h_bids_list(struct gw_server *g, struct gw_req *r)
{
    char lim[24];
    uint64_t limit = 20;
    if (gw__arg(r, "limit", lim, sizeof lim) != NULL &&
        (base_parse_u64(lim, &limit) != 0 || limit == 0 || limit > 200)) {
        return gw__error(r, 400, "bad_request",
                         "limit must be 1..200, not '%s'", lim);
    }
    char cur[8];
    bool only_curtailed = false;
    if (gw__arg(r, "curtailed", cur, sizeof cur) != NULL) {
        if (strcmp(cur, "true") != 0 && strcmp(cur, "false") != 0) {
            return gw__error(r, 400, "bad_request",
                             "curtailed must be true or false, not '%s'", cur);
        }
        only_curtailed = strcmp(cur, "true") == 0;
    }
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    struct scan s = {0};
    int rv = lg_range(g->ch, "bids", "bid/", 4, "bid0", 4, 0, collect, &s);
    if (rv == 0) {
        rv = s.rv;
    }
    /* Where each was last written: the range cannot say, and a read inside
     * its callback would nest read transactions. */
    for (size_t i = 0; rv == 0 && i < s.n; i++) {
        char key[8 + MK_UID_MAX];
        snprintf(key, sizeof key, "bid/%s", s.v[i].uid);
        struct base_buf v;
        base_buf_init(&v, 0);
        if (lg_get(g->ch, "bids", key, strlen(key), &v, &s.v[i].ver) != 0) {
            s.v[i].ver = (struct lg_version){0, 0};
        }
        base_buf_release(&v);
    }
    if (rv != 0) {
        base_free(s.v);
        return gw__error(r, gw__status_of(rv), base_errname(rv),
                         "cannot read the bids: %s", base_strerror(rv));
    }
    if (s.n > 0) {
        qsort(s.v, s.n, sizeof *s.v, newest_first);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < s.n && json_array_size(arr) < limit; i++) {
        json_t *b = bid_json(g, &s.v[i], only_curtailed);
        if (b != NULL) {
            json_array_append_new(arr, b);
        }
    }
    json_t *o =
        json_pack("{s:I, s:I, s:b, s:o}", "height", (json_int_t)height, "total",
                  (json_int_t)s.n, "truncated", s.truncated, "bids", arr);
    base_free(s.v);
    return gw__reply_json(r, 200, o);
}
