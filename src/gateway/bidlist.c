/* SPDX-License-Identifier: MIT */
/* GET /v1/bids: the bids most recently written, each with what the DSO did
 * to it (status, reason, the kW as bid and as curtailed), the ones the
 * reader may read only, a page at a time. The node's dashboard shows it;
 * docs/api.md says the shape. The totals are the ones kept on chain when
 * each version was written (total_w), so the list parses no record for
 * them; it checks the current record of each bid it shows with
 * mk_bid_check, as retrieval does (one registry read per DER it names,
 * for the qualification), and that record is at most MK_BID_RECORD_MAX
 * bytes. */
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
    bool readable; /* by the request's reader */
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

/* The versions of one bid: the first one's checksum and total (the bid
 * as made), and whether the DSO ever curtailed it (status "curtailed" in
 * some version: a dispatched bid keeps its reason but not that status). */
struct versions {
    char first[65];
    int64_t first_w; /* -1: not on chain */
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
        json_t *tw = json_object_get(o, "total_w");
        v->first_w = json_is_integer(tw) ? json_integer_value(tw) : -1;
    }
    if (st != NULL && strcmp(st, "curtailed") == 0) {
        v->curtailed = true;
    }
    json_decref(o);
    return 0;
}

/* The registry as the node's state holds it, for mk_bid_check. */
static int der_by_state(void *arg, const char *id, struct sc_der *out)
{
    struct gw_server *g = arg;
    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    int rv = lg_get(g->ch, "registry", id, strlen(id), &v, &ver);
    if (rv == 0 && sc_der_parse(v.data, v.len, out) != 0) {
        rv = BASE_ECORRUPT;
    }
    base_buf_release(&v);
    return rv;
}

/* The check of bid @rec's current record, as retrieval makes it. */
static void check_record(struct gw_server *g, const struct base_buf *rec,
                         struct mk_bid_view *view)
{
    json_t *o = json_loadb((const char *)rec->data, rec->len, 0, NULL);
    const char *sum = json_string_value(json_object_get(o, "checksum"));
    struct cr_hash h;
    bool ok =
        sum != NULL && strlen(sum) == 64 && base_hex_decode(h.b, 32, sum) == 0;
    json_decref(o);
    struct base_buf raw;
    base_buf_init(&raw, 0);
    int rv = ok ? kv_offchain_get(g->off, &h, &raw) : BASE_ENOTFOUND;
    if (ok) {
        gw__metrics_offchain(&g->m, false, rv);
    }
    if (rv != 0 && rv != BASE_ENOTFOUND) {
        memset(view, 0, sizeof *view);
        snprintf(view->reason, sizeof view->reason, "the off-chain store: %s",
                 base_strerror(rv));
    } else if (mk_bid_check(rec->data, rec->len, rv ? NULL : raw.data, raw.len,
                            der_by_state, g, view) == 0 &&
               !ok) {
        view->intact = false;
        snprintf(view->reason, sizeof view->reason,
                 "the on-chain checksum is malformed");
    }
    base_buf_release(&raw);
}

static json_t *kw_of(int64_t w)
{
    return w >= 0 ? json_real((double)w / 1000) : json_null();
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
    struct versions vs = {"", -1, false, 0};
    if (rec == NULL ||
        lg_history(g->ch, "bids", key, strlen(key), version_cb, &vs) != 0 ||
        (only_curtailed && !vs.curtailed)) {
        json_decref(rec);
        base_buf_release(&v);
        return NULL;
    }
    struct mk_bid_view view;
    check_record(g, &v, &view);
    base_buf_release(&v);
    const char *sum = json_string_value(json_object_get(rec, "checksum"));
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
    /* The totals as written on chain; the current one only when its record
     * passed the check (a record that does not is never counted). */
    int64_t w = view.intact ? view.total_w : -1;
    if (view.intact && w < 0) { /* a bid made before totals were kept */
        w = llround(mk_bid_kw(&view.bid) * 1000);
    }
    int64_t w0 = vs.first_w;
    if (w0 < 0 && strcmp(vs.first, sum ? sum : "") == 0) {
        w0 = w;
    }
    json_object_set_new(o, "curtailed_kw",
                        w >= 0 && w0 >= 0 ? json_real((double)(w0 - w) / 1000)
                                          : json_null());
    json_object_set_new(o, "original_kw", kw_of(w0));
    json_object_set_new(o, "kw", kw_of(w));
    json_object_set_new(o, "checksum", json_string(sum ? sum : ""));
    json_object_set_new(o, "original_checksum", json_string(vs.first));
    json_object_set_new(o, "intact", json_boolean(view.intact));
    json_object_set_new(o, "record_error", json_string(view.reason));
    mk_bid_view_release(&view);
    json_decref(rec);
    return o;
}

/* ?cursor=BLOCK.TX: the bids last written before that transaction (the
 * next_cursor of the page before). */
static bool parse_cursor(const char *s, struct lg_version *out)
{
    const char *dot = strchr(s, '.');
    char b[24];
    uint64_t block, tx;
    if (dot == NULL || (size_t)(dot - s) >= sizeof b) {
        return false;
    }
    memcpy(b, s, (size_t)(dot - s));
    b[dot - s] = '\0';
    if (base_parse_u64(b, &block) != 0 || base_parse_u64(dot + 1, &tx) != 0 ||
        tx > UINT32_MAX) {
        return false;
    }
    *out = (struct lg_version){block, (uint32_t)tx};
    return true;
}

static bool older(const struct lg_version *a, const struct lg_version *b)
{
    return a->block < b->block || (a->block == b->block && a->tx < b->tx);
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
    char cs[48];
    struct lg_version before = {UINT64_MAX, UINT32_MAX};
    if (gw__arg(r, "cursor", cs, sizeof cs) != NULL &&
        !parse_cursor(cs, &before)) {
        return gw__error(r, 400, "bad_request",
                         "cursor must be BLOCK.TX (a next_cursor), not '%s'",
                         cs);
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    struct scan s = {0};
    int rv = lg_range(g->ch, "bids", "bid/", 4, "bid0", 4, 0, collect, &s);
    if (rv == 0) {
        rv = s.rv;
    }
    /* Where each was last written, and whether the reader may see it: the
     * range cannot say, and a read inside its callback would nest read
     * transactions. */
    size_t readable = 0, hidden = 0;
    for (size_t i = 0; rv == 0 && i < s.n; i++) {
        char key[8 + MK_UID_MAX];
        snprintf(key, sizeof key, "bid/%s", s.v[i].uid);
        struct base_buf v;
        base_buf_init(&v, 0);
        char why[LG_REASON_MAX + 1];
        if (lg_get(g->ch, "bids", key, strlen(key), &v, &s.v[i].ver) != 0) {
            s.v[i].ver = (struct lg_version){0, 0};
        } else {
            s.v[i].readable =
                gw__may_read(g, &rd, "bids", SC_READ_STATE, key, strlen(key),
                             v.data, v.len, NULL, why, sizeof why) == 0;
            readable += s.v[i].readable;
            hidden += !s.v[i].readable;
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
    json_t *next = json_null();
    struct lg_version last = {0, 0}; /* the last one looked at */
    for (size_t i = 0; i < s.n; i++) {
        if (!s.v[i].readable || !older(&s.v[i].ver, &before)) {
            continue;
        }
        if (json_array_size(arr) == limit) {
            /* There is more: the next page starts after the last one
             * looked at. */
            char c[48];
            snprintf(c, sizeof c, "%llu.%u", (unsigned long long)last.block,
                     last.tx);
            json_decref(next);
            next = json_string(c);
            break;
        }
        last = s.v[i].ver;
        json_t *b = bid_json(g, &s.v[i], only_curtailed);
        if (b != NULL) {
            json_array_append_new(arr, b);
        }
    }
    json_t *o =
        json_pack("{s:I, s:I, s:b, s:o, s:o}", "height", (json_int_t)height,
                  "total", (json_int_t)readable, "truncated", s.truncated,
                  "next_cursor", next, "bids", arr);
    if (hidden > 0) {
        /* Never a silent gap: how many the reader may not see. */
        json_object_set_new(o, "hidden", json_integer((json_int_t)hidden));
    }
    base_free(s.v);
    return gw__reply_json(r, 200, o);
}
