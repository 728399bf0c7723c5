/* SPDX-License-Identifier: MIT */
/* The routes: submission, evaluation, queries, off-chain records, bids,
 * health, metrics and pages. Shapes are documented in docs/api.md. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"
#include "market/market.h"

#define CT_JSON  "application/json"
#define CT_BIN   "application/octet-stream"
#define CT_BATCH "application/vnd.gridledger.batch"

/* ---- pages ----------------------------------------------------------------
 * GET / and GET /ui/{file} serve the pages the node was given (the
 * dashboard, later). Until then / is this placeholder. */

static const char placeholder[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<title>gridledger node</title></head><body>\n"
    "<h1>gridledger node</h1>\n"
    "<p>This node serves the gridledger HTTP API under <code>/v1</code> "
    "(docs/api.md). The dashboard page is not built into this node yet; "
    "this placeholder stands where it will be.</p>\n"
    "<ul><li><a href=\"/v1/tip\">/v1/tip</a></li>"
    "<li><a href=\"/metrics\">/metrics</a></li>"
    "<li><a href=\"/healthz\">/healthz</a></li></ul>\n"
    "</body></html>\n";

static enum MHD_Result serve_page(struct gw_server *g, struct gw_req *r,
                                  const char *path)
{
    for (size_t i = 0; i < g->opt.npages; i++) {
        const struct gw_page *p = &g->opt.pages[i];
        if (strcmp(p->path, path) == 0) {
            struct base_buf b;
            base_buf_init(&b, 0);
            if (base_buf_add(&b, p->body, p->len) != 0) {
                return MHD_NO;
            }
            return gw__reply(r, 200, p->content_type, &b);
        }
    }
    if (strcmp(path, "/") == 0) {
        struct base_buf b;
        base_buf_init(&b, 0);
        if (base_buf_add_str(&b, placeholder) != 0) {
            return MHD_NO;
        }
        return gw__reply(r, 200, "text/html; charset=utf-8", &b);
    }
    return gw__error(r, 404, "no_such_page", "no page %s", path);
}

static enum MHD_Result h_root(struct gw_server *g, struct gw_req *r)
{
    return serve_page(g, r, "/");
}

static enum MHD_Result h_ui(struct gw_server *g, struct gw_req *r)
{
    char path[300];
    snprintf(path, sizeof path, "/ui/%s", r->params[0]);
    return serve_page(g, r, path);
}

/* ---- health and metrics ------------------------------------------------ */

static enum MHD_Result h_healthz(struct gw_server *g, struct gw_req *r)
{
    (void)g;
    return gw__reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result h_readyz(struct gw_server *g, struct gw_req *r)
{
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    if (atomic_load(&g->stopping)) {
        return gw__reply_json(r, 503,
                              json_pack("{s:s, s:s, s:s}", "status", "stopping",
                                        "error", "stopping", "reason",
                                        "the node is shutting down"));
    }
    /* A node whose store refuses writes (a full or failing disk) answers
     * reads but would refuse every submission: not ready (issue 15). */
    char why[BASE_ERRMSG_SIZE];
    int refused = lg_write_refusal(g->ledger, why);
    if (refused != 0) {
        return gw__reply_json(
            r, 503,
            json_pack("{s:s, s:s, s:i, s:s, s:I}", "status", "refusing_writes",
                      "error", base_errname(refused), "code", refused, "reason",
                      why, "height", (json_int_t)height));
    }
    return gw__reply_json(r, 200,
                          json_pack("{s:s, s:I}", "status", "ready", "height",
                                    (json_int_t)height));
}

static enum MHD_Result h_metrics(struct gw_server *g, struct gw_req *r)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    if (gw__metrics_render(g, &b) != 0) {
        base_buf_release(&b);
        return gw__error(r, 500, "internal", "cannot render metrics");
    }
    return gw__reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

/* ---- queries ----------------------------------------------------------- */

static enum MHD_Result h_tip(struct gw_server *g, struct gw_req *r)
{
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    const struct lg_config *cfg = lg_channel_config(g->ch);
    return gw__reply_json(r, 200,
                          json_pack("{s:s, s:I, s:o, s:o, s:o}", "channel",
                                    lg_channel_name(g->ch), "height",
                                    (json_int_t)height, "tip",
                                    gw_json_hex(tip.b, 32), "state_hash",
                                    gw_json_hex(state.b, 32), "orderer_key",
                                    gw_json_hex(cfg->orderer_pk, 32)));
}

static enum MHD_Result fail_code(struct gw_req *r, int rv, const char *what)
{
    return gw__error(r, gw__status_of(rv), base_errname(rv), "%s: %s", what,
                     base_strerror(rv));
}

static enum MHD_Result h_state(struct gw_server *g, struct gw_req *r)
{
    const char *contract = r->params[0], *key = r->params[1];
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    int rv = lg_get(g->ch, contract, key, strlen(key), &v, &ver);
    char why[LG_REASON_MAX + 1];
    if (rv == 0 &&
        gw__may_read(g, &rd, contract, SC_READ_STATE, key, strlen(key), v.data,
                     v.len, NULL, why, sizeof why) != 0) {
        base_buf_release(&v);
        return gw__read_refused(r, &rd, why);
    }
    if (rv != 0) {
        base_buf_release(&v);
        return fail_code(r, rv, key);
    }
    /* The path's bytes, percent-decoded, need not be UTF-8: such fields
     * come back as *_hex (json_pack would fail and drop the answer). */
    json_t *o = json_object();
    gw_json_set_bytes(o, "contract", contract, strlen(contract));
    gw_json_set_bytes(o, "key", key, strlen(key));
    gw_json_set_bytes(o, "value", v.data, v.len);
    json_object_set_new(o, "block", json_integer((json_int_t)ver.block));
    json_object_set_new(o, "tx", json_integer(ver.tx));
    base_buf_release(&v);
    return gw__reply_json(r, 200, o);
}

/* What a range or history read found, kept until its read transaction is
 * over: a read rule may look up another key (a live/ key names its bid),
 * and a read inside the callback would nest read transactions. */
struct found {
    json_t *arr;       /* the items as the answer shows them */
    struct base_buf b; /* each item's key and value: u32 lengths, bytes */
};

static int found_add(struct found *f, struct lg_slice key, struct lg_slice val)
{
    uint32_t kl = (uint32_t)key.len, vl = (uint32_t)val.len;
    int rv = base_buf_add(&f->b, &kl, 4);
    rv = rv || kl == 0 ? rv : base_buf_add(&f->b, key.p, key.len);
    rv = rv ? rv : base_buf_add(&f->b, &vl, 4);
    return rv || vl == 0 ? rv : base_buf_add(&f->b, val.p, val.len);
}

static int range_cb(void *arg, struct lg_slice key, struct lg_slice val)
{
    struct found *f = arg;
    int rv = found_add(f, key, val);
    return rv ? rv : gw_json_range_cb(f->arr, key, val);
}

/* Judge every item of @f for @rd: the ones it may not see leave f->arr;
 * returns how many, with the first one's reason in @why. @key (NULL: each
 * item's own) is the key of a history's versions. */
static size_t found_judge(struct gw_server *g, const struct gw_reader *rd,
                          const char *contract, const char *key,
                          struct found *f, char *why, size_t size)
{
    size_t hidden = 0, off = 0;
    json_t *kept = json_array();
    for (size_t i = 0; i < json_array_size(f->arr); i++) {
        uint32_t kl, vl;
        memcpy(&kl, f->b.data + off, 4);
        const uint8_t *k = f->b.data + off + 4;
        memcpy(&vl, k + kl, 4);
        const uint8_t *v = k + kl + 4;
        off += 8 + (size_t)kl + vl;
        char one[LG_REASON_MAX + 1];
        bool deleted =
            json_is_true(json_object_get(json_array_get(f->arr, i), "deleted"));
        if (!deleted &&
            gw__may_read(g, rd, contract, SC_READ_STATE,
                         key ? key : (const char *)k, key ? strlen(key) : kl, v,
                         vl, NULL, one, sizeof one) != 0) {
            if (hidden++ == 0) {
                snprintf(why, size, "%s", one);
            }
            continue;
        }
        json_array_append(kept, json_array_get(f->arr, i));
    }
    json_decref(f->arr);
    f->arr = kept;
    base_buf_release(&f->b);
    return hidden;
}

static enum MHD_Result h_range(struct gw_server *g, struct gw_req *r)
{
    char start[LG_KEY_MAX + 1] = "", end[LG_KEY_MAX + 1], lim[24];
    gw__arg(r, "start", start, sizeof start);
    bool has_end = gw__arg(r, "end", end, sizeof end) != NULL;
    uint64_t limit = 1000;
    if (gw__arg(r, "limit", lim, sizeof lim) != NULL &&
        (base_parse_u64(lim, &limit) != 0 || limit == 0 || limit > 10000)) {
        return gw__error(r, 400, "bad_request",
                         "limit must be 1..10000, not '%s'", lim);
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    struct found f = {json_array(), {0}};
    base_buf_init(&f.b, 0);
    int rv = lg_range(g->ch, r->params[0], start, strlen(start),
                      has_end ? end : NULL, has_end ? strlen(end) : 0,
                      (size_t)limit, range_cb, &f);
    if (rv != 0) {
        json_decref(f.arr);
        base_buf_release(&f.b);
        return fail_code(r, rv, "range");
    }
    /* Keys the reader may not see are left out, and counted: the answer
     * says how many, and why for the first (never a silent gap). */
    char why[LG_REASON_MAX + 1] = "";
    size_t hidden =
        found_judge(g, &rd, r->params[0], NULL, &f, why, sizeof why);
    json_t *o = json_object();
    gw_json_set_bytes(o, "contract", r->params[0], strlen(r->params[0]));
    json_object_set_new(o, "keys", f.arr);
    if (hidden > 0) {
        json_object_set_new(o, "hidden", json_integer((json_int_t)hidden));
        json_object_set_new(o, "hidden_reason", json_string(why));
    }
    return gw__reply_json(r, 200, o);
}

static int history_cb(void *arg, const struct lg_history_entry *e)
{
    struct found *f = arg;
    int rv = found_add(f, (struct lg_slice){NULL, 0}, e->value);
    return rv ? rv : gw_json_history_cb(f->arr, e);
}

static enum MHD_Result h_history(struct gw_server *g, struct gw_req *r)
{
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    const char *key = r->params[1];
    struct found f = {json_array(), {0}};
    base_buf_init(&f.b, 0);
    int rv = lg_history(g->ch, r->params[0], key, strlen(key), history_cb, &f);
    if (rv != 0) {
        json_decref(f.arr);
        base_buf_release(&f.b);
        return fail_code(r, rv, key);
    }
    /* A version the reader may not see refuses the whole history: the
     * versions of one key belong to one owner. */
    char why[LG_REASON_MAX + 1] = "";
    if (found_judge(g, &rd, r->params[0], key, &f, why, sizeof why) > 0) {
        json_decref(f.arr);
        return gw__read_refused(r, &rd, why);
    }
    json_t *o = json_object();
    gw_json_set_bytes(o, "contract", r->params[0], strlen(r->params[0]));
    gw_json_set_bytes(o, "key", key, strlen(key));
    json_object_set_new(o, "versions", f.arr);
    return gw__reply_json(r, 200, o);
}

/* May @rd see transaction @t (its arguments, result and payload)? The
 * rule of the contract it calls decides, by its creator's organisation. */
static int tx_readable(struct gw_server *g, const struct gw_reader *rd,
                       const struct lg_slice *t, char *why, size_t size)
{
    struct lg_tx tx;
    if (lg_tx_decode(&tx, t->p, t->len) != 0) {
        why[0] = '\0';
        return 0; /* shown as "malformed", with nothing in it */
    }
    return gw__may_read(g, rd, tx.contract, SC_READ_TX, tx.function,
                        strlen(tx.function), NULL, 0, tx.cert.org, why, size);
}

/* May @rd have the raw bytes of whole blocks? They hold every contract's
 * transactions and cannot be cut: only a reader every rule lets read
 * everything (a cluster peer, the DSO or ISO for bids). */
static int all_readable(struct gw_server *g, const struct gw_reader *rd,
                        char *why, size_t size)
{
    for (size_t i = 0; i < g->contracts.n; i++) {
        int rv = gw__may_read(g, rd, g->contracts.contracts[i]->name,
                              SC_READ_ALL, NULL, 0, NULL, 0, NULL, why, size);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

/* A block as JSON for @rd: a transaction it may not read keeps its id,
 * contract, function, creator and result code, and loses its arguments,
 * reason and payload ("redacted": true). */
static json_t *block_json(struct gw_server *g, const struct gw_reader *rd,
                          const struct lg_block *blk)
{
    json_t *o = gw_json_block(blk);
    json_t *txs = json_object_get(o, "transactions");
    for (uint32_t i = 0; i < json_array_size(txs); i++) {
        char why[LG_REASON_MAX + 1];
        if (tx_readable(g, rd, &blk->txs[i], why, sizeof why) != 0) {
            json_t *t = json_array_get(txs, i);
            json_object_del(t, "args");
            json_object_del(t, "payload");
            json_object_del(t, "reason");
            json_object_set_new(t, "redacted", json_true());
        }
    }
    return o;
}

static int load_block(struct gw_server *g, uint64_t num, struct base_buf *b,
                      struct lg_block *blk)
{
    int rv = lg_block_get(g->ch, num, b);
    if (rv == 0 && lg_block_decode(blk, b->data, b->len) != 0) {
        rv = BASE_ECORRUPT;
    }
    return rv;
}

static enum MHD_Result h_block(struct gw_server *g, struct gw_req *r)
{
    const char *s = r->params[0];
    uint64_t num;
    struct cr_hash h;
    if (strlen(s) == 64 && base_hex_decode(h.b, 32, s) == 0) {
        if (lg_block_find(g->ch, &h, &num) != 0) {
            return gw__error(r, 404, "ENOTFOUND", "no block with hash %s", s);
        }
    } else if (base_parse_u64(s, &num) != 0) {
        return gw__error(r, 400, "bad_request",
                         "'%s' is neither a block number nor a hash", s);
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    char fmt[16], why[LG_REASON_MAX + 1];
    if (gw__arg(r, "format", fmt, sizeof fmt) != NULL &&
        strcmp(fmt, "binary") == 0) {
        if (all_readable(g, &rd, why, sizeof why) != 0) {
            return gw__read_refused(r, &rd, why);
        }
        int rv = lg_block_get(g->ch, num, &b);
        if (rv != 0) {
            base_buf_release(&b);
            return fail_code(r, rv, "block");
        }
        return gw__reply(r, 200, CT_BIN, &b);
    }
    struct lg_block blk;
    int rv = load_block(g, num, &b, &blk);
    if (rv != 0) {
        base_buf_release(&b);
        return fail_code(r, rv, "block");
    }
    json_t *o = block_json(g, &rd, &blk);
    lg_block_release(&blk);
    base_buf_release(&b);
    return gw__reply_json(r, 200, o);
}

/* Blocks a node behind a snapshot fetches from its peers (order.h,
 * struct ord_block_source): many per round trip, in ord_blocks_read's
 * format. */
#define BLOCKS_MAX_COUNT 1024
#define BLOCKS_MAX_BYTES (8u << 20)

static enum MHD_Result h_blocks(struct gw_server *g, struct gw_req *r)
{
    char from_s[24], count_s[24];
    uint64_t from, count = 256;
    if (gw__arg(r, "from", from_s, sizeof from_s) == NULL ||
        base_parse_u64(from_s, &from) != 0) {
        return gw__error(r, 400, "bad_request", "from must be a block number");
    }
    if (gw__arg(r, "count", count_s, sizeof count_s) != NULL &&
        (base_parse_u64(count_s, &count) != 0 || count == 0 ||
         count > BLOCKS_MAX_COUNT)) {
        return gw__error(r, 400, "bad_request", "count must be 1..%d, not '%s'",
                         BLOCKS_MAX_COUNT, count_s);
    }
    struct gw_reader rd;
    char why[LG_REASON_MAX + 1];
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    if (all_readable(g, &rd, why, sizeof why) != 0) {
        return gw__read_refused(r, &rd, why);
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = ord_blocks_read(g->ch, from, count, BLOCKS_MAX_BYTES, &b);
    if (rv != 0) {
        base_buf_release(&b);
        return fail_code(r, rv, "block");
    }
    return gw__reply(r, 200, CT_BIN, &b);
}

static bool parse_id(const char *s, struct cr_hash *id)
{
    return strlen(s) == 64 && base_hex_decode(id->b, 32, s) == 0;
}

static enum MHD_Result h_tx(struct gw_server *g, struct gw_req *r)
{
    struct cr_hash id;
    if (!parse_id(r->params[0], &id)) {
        return gw__error(r, 400, "bad_request",
                         "a transaction id is 64 hex digits");
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    struct lg_tx_info info;
    int rv = lg_tx_find(g->ch, &id, &info);
    if (rv != 0) {
        return fail_code(r, rv, "transaction");
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    struct lg_block blk;
    json_t *o = NULL;
    char why[LG_REASON_MAX + 1] = "";
    bool denied = false;
    if (load_block(g, info.block, &b, &blk) == 0) {
        if (info.index < blk.h.tx_count) {
            denied =
                tx_readable(g, &rd, &blk.txs[info.index], why, sizeof why) != 0;
            o = denied ? NULL
                       : gw_json_tx(&blk.txs[info.index],
                                    &blk.results[info.index]);
        }
        lg_block_release(&blk);
    }
    if (denied) {
        base_buf_release(&b);
        return gw__read_refused(r, &rd, why);
    }
    base_buf_release(&b);
    if (o == NULL) {
        return gw__error(r, 500, "ECORRUPT",
                         "the transaction's block is unreadable");
    }
    json_object_set_new(o, "block", json_integer((json_int_t)info.block));
    json_object_set_new(o, "index", json_integer(info.index));
    return gw__reply_json(r, 200, o);
}

static enum MHD_Result h_proof(struct gw_server *g, struct gw_req *r)
{
    struct cr_hash id;
    if (!parse_id(r->params[0], &id)) {
        return gw__error(r, 400, "bad_request",
                         "a transaction id is 64 hex digits");
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    struct lg_proof p;
    lg_proof_init(&p);
    int rv = lg_proof_make(g->ch, &id, &p);
    struct base_buf out;
    base_buf_init(&out, 0);
    /* A proof carries the whole transaction: the same rule as /v1/tx. */
    char why[LG_REASON_MAX + 1];
    struct lg_slice t = {p.tx.data, p.tx.len};
    if (rv == 0 && tx_readable(g, &rd, &t, why, sizeof why) != 0) {
        lg_proof_release(&p);
        return gw__read_refused(r, &rd, why);
    }
    if (rv == 0) {
        rv = lg_proof_to_json(&p, &out);
    }
    lg_proof_release(&p);
    if (rv != 0) {
        base_buf_release(&out);
        return fail_code(r, rv, "proof");
    }
    return gw__reply(r, 200, CT_JSON, &out);
}

/* ---- submission -------------------------------------------------------- */

struct sub {
    struct gw_req *r; /* NULL: nobody waits (?wait=false) */
    struct gw_server *g;
    size_t i;
    uint64_t sent;
};

static void on_done(void *arg, const struct ord_result *res)
{
    struct sub *s = arg;
    gw__metrics_result(&s->g->m, res->code, res->committed,
                       base_mono_ns() - s->sent);
    if (s->r == NULL) {
        base_free(s);
        return;
    }
    struct gw_req *r = s->r;
    r->res[s->i] = *res;
    if (atomic_fetch_sub(&r->remaining, 1) == 1) {
        gw__resume_later(r);
    }
}

static json_t *result_json(const struct ord_result *res)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_hex(res->id.b, 32));
    json_object_set_new(o, "code", json_integer(res->code));
    json_object_set_new(
        o, "result",
        json_string(res->code == 0 ? "VALID" : base_errname(res->code)));
    json_object_set_new(o, "committed", json_boolean(res->committed));
    if (res->committed) {
        json_object_set_new(o, "block", json_integer((json_int_t)res->block));
        json_object_set_new(o, "index", json_integer(res->index));
    }
    json_t *reason = json_string(res->reason);
    json_object_set_new(o, "reason", reason ? reason : json_string(""));
    return o;
}

/* Build the answer once every submission of the request is back, on the
 * HTTP thread that resumes the request (not on the committer's). */
void gw__prepare_results(struct gw_req *r)
{
    bool batch = r->batch;
    json_t *o;
    unsigned status = 200;
    if (batch) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->nsub; i++) {
            json_array_append_new(arr, result_json(&r->res[i]));
        }
        o = json_pack("{s:o}", "results", arr);
    } else {
        o = result_json(&r->res[0]);
        if (!r->res[0].committed) {
            status = gw__status_of(r->res[0].code);
            json_object_set_new(o, "error", json_string("refused"));
        }
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    size_t len = s ? strlen(s) : 0;
    char *copy = s ? base_malloc(len + 1) : NULL;
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\n';
    }
    free(s);
    r->ready = copy ? MHD_create_response_from_buffer_with_free_callback(
                          len + 1, copy, base_free)
                    : NULL;
    if (r->ready == NULL) {
        base_free(copy);
    } else {
        MHD_add_response_header(r->ready, MHD_HTTP_HEADER_CONTENT_TYPE,
                                CT_JSON);
        if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
            /* As every 503 says (gw__reply): try again shortly. */
            MHD_add_response_header(r->ready, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        }
    }
    r->status = r->ready ? status : 500;
}

/* A request that submitted @n envelopes and waits: the connection is
 * suspended before the first submit, so a fast answer cannot resume it
 * early; the extra count held here is dropped last. */
static enum MHD_Result submit_all(struct gw_server *g, struct gw_req *r,
                                  const struct lg_slice *env, size_t n,
                                  bool batch, bool wait)
{
    r->batch = batch;
    if (!wait) {
        json_t *ids = json_array();
        for (size_t i = 0; i < n; i++) {
            struct sub *s = base_malloc(sizeof *s);
            struct lg_tx tx;
            if (s == NULL || lg_tx_decode(&tx, env[i].p, env[i].len) != 0) {
                base_free(s);
                json_decref(ids);
                return gw__error(r, 500, "internal", "out of memory");
            }
            *s = (struct sub){NULL, g, i, base_mono_ns()};
            int rv =
                ord_orderer_submit(g->ord, env[i].p, env[i].len, on_done, s);
            json_t *o = json_pack("{s:o, s:b}", "id", gw_json_hex(tx.id.b, 32),
                                  "accepted", rv == 0);
            if (rv != 0) {
                base_free(s);
                gw__metrics_result(&g->m, rv, false, 0);
                json_object_set_new(o, "code", json_integer(rv));
                json_object_set_new(o, "reason",
                                    json_string(base_strerror(rv)));
            }
            json_array_append_new(ids, o);
        }
        if (batch) {
            return gw__reply_json(r, 202, json_pack("{s:o}", "results", ids));
        }
        json_t *one = json_incref(json_array_get(ids, 0));
        json_decref(ids);
        return gw__reply_json(r, 202, one);
    }
    r->res = base_calloc(n, sizeof *r->res);
    struct sub *subs = base_calloc(n, sizeof *subs);
    if (r->res == NULL || subs == NULL) {
        base_free(subs);
        return gw__error(r, 500, "internal", "out of memory");
    }
    r->subs = subs;
    r->nsub = n;
    atomic_store(&r->remaining, n + 1);
    r->state = RQ_WAITING;
    MHD_suspend_connection(r->conn);
    for (size_t i = 0; i < n; i++) {
        subs[i] = (struct sub){r, g, i, base_mono_ns()};
        int rv =
            ord_orderer_submit(g->ord, env[i].p, env[i].len, on_done, &subs[i]);
        if (rv != 0) {
            struct ord_result *res = &r->res[i];
            memset(res, 0, sizeof *res);
            struct lg_tx tx;
            if (lg_tx_decode(&tx, env[i].p, env[i].len) == 0) {
                res->id = tx.id;
            }
            res->code = rv;
            snprintf(res->reason, sizeof res->reason, "not accepted: %s",
                     base_strerror(rv));
            gw__metrics_result(&g->m, rv, false, 0);
            atomic_fetch_sub(&r->remaining, 1);
        }
    }
    r->state = RQ_WAITING;
    if (atomic_fetch_sub(&r->remaining, 1) == 1) {
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

static bool want_wait(struct gw_req *r)
{
    char w[8];
    return gw__arg(r, "wait", w, sizeof w) == NULL ||
           !(strcmp(w, "false") == 0 || strcmp(w, "0") == 0);
}

/* Arguments of a JSON call: "args" (strings) or "args_hex" (hex strings),
 * decoded into @buf; @a gets slices into it. */
static int json_args(json_t *o, struct base_buf *buf, struct lg_slice *a,
                     uint32_t *n, const char **why)
{
    json_t *args = json_object_get(o, "args");
    json_t *hex = json_object_get(o, "args_hex");
    json_t *arr = args ? args : hex;
    *n = 0;
    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr) || (args && hex)) {
        *why = "args must be an array of strings (or args_hex of hex)";
        return BASE_EPARSE;
    }
    if (json_array_size(arr) > LG_MAX_ARGS) {
        *why = "too many arguments (at most 32)";
        return BASE_EARGS;
    }
    size_t offs[LG_MAX_ARGS], lens[LG_MAX_ARGS];
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (!json_is_string(x)) {
            *why = "every argument must be a string";
            return BASE_EPARSE;
        }
        const char *s = json_string_value(x);
        size_t sl = json_string_length(x);
        offs[i] = buf->len;
        if (hex != NULL) {
            if (sl % 2 != 0 || base_buf_reserve(buf, sl / 2 + 1) != 0 ||
                base_hex_decode(buf->data + buf->len, sl / 2, s) != 0) {
                *why = "args_hex holds a value that is not hex";
                return BASE_EPARSE;
            }
            buf->len += sl / 2;
            lens[i] = sl / 2;
        } else {
            if (base_buf_add(buf, s, sl) != 0) {
                *why = "out of memory";
                return BASE_ENOMEM;
            }
            lens[i] = sl;
        }
    }
    *n = (uint32_t)json_array_size(arr);
    for (uint32_t k = 0; k < *n; k++) {
        a[k] = (struct lg_slice){buf->data + offs[k], lens[k]};
    }
    return 0;
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The JSON form of a signed envelope: the fields of the binary encoding,
 * re-encoded canonically and carrying the client's signature. */
static int envelope_from_json(struct gw_server *g, json_t *o,
                              struct base_buf *out, const char **why)
{
    const char *contract = jstr(o, "contract"), *fn = jstr(o, "function");
    const char *certhex = jstr(o, "cert"), *sighex = jstr(o, "signature");
    const char *channel = jstr(o, "channel");
    json_t *nonce = json_object_get(o, "nonce");
    if (contract == NULL || fn == NULL || certhex == NULL || sighex == NULL ||
        nonce == NULL) {
        *why = "a transaction needs contract, function, cert, nonce and "
               "signature";
        return BASE_EPARSE;
    }
    uint64_t nv = 0;
    if (json_is_integer(nonce) && json_integer_value(nonce) >= 0) {
        nv = (uint64_t)json_integer_value(nonce);
    } else if (!json_is_string(nonce) ||
               base_parse_u64(json_string_value(nonce), &nv) != 0) {
        *why = "nonce must be a non-negative integer (or a decimal string)";
        return BASE_EPARSE;
    }
    uint8_t sig[CR_SIG_SIZE];
    uint8_t cb[1024];
    size_t cl = strlen(certhex);
    struct lg_cert cert;
    struct base_rd rd;
    if (base_hex_decode(sig, sizeof sig, sighex) != 0) {
        *why = "signature must be 128 hex digits";
        return BASE_EPARSE;
    }
    if (cl % 2 != 0 || cl / 2 > sizeof cb ||
        base_hex_decode(cb, cl / 2, certhex) != 0) {
        *why = "cert must be the hex of a certificate";
        return BASE_EPARSE;
    }
    base_rd_init(&rd, cb, cl / 2);
    if (lg_cert_decode(&cert, &rd) != 0 || base_rd_left(&rd) != 0) {
        *why = "cert is not a certificate";
        return BASE_EPARSE;
    }
    struct base_buf ab;
    base_buf_init(&ab, 0);
    struct lg_slice args[LG_MAX_ARGS];
    uint32_t nargs;
    int rv = json_args(o, &ab, args, &nargs, why);
    if (rv == 0) {
        struct lg_call call = {channel ? channel : lg_channel_name(g->ch),
                               contract, fn, nargs, args};
        rv = lg_tx_build(out, &call, &cert, &g->scratch, nv, NULL);
        if (rv != 0) {
            *why = "cannot encode: names are 1..64 printable characters";
        } else {
            memcpy(out->data + out->len - CR_SIG_SIZE, sig, CR_SIG_SIZE);
        }
    }
    base_buf_release(&ab);
    return rv;
}

/* Split a batch body: u32 big-endian length, then the envelope, repeated. */
int gw__split_batch(const struct base_buf *b, struct lg_slice **out, size_t *n)
{
    struct base_rd rd;
    size_t cap = 0, k = 0;
    struct lg_slice *s = NULL;
    base_rd_init(&rd, b->data, b->len);
    while (base_rd_left(&rd) > 0) {
        uint32_t len = base_rd_u32(&rd);
        const uint8_t *p = base_rd_bytes(&rd, len);
        if (p == NULL || len == 0 || k >= LG_BLOCK_MAX_TX) {
            base_free(s);
            return BASE_EPARSE;
        }
        if (k == cap) {
            cap = cap ? cap * 2 : 64;
            struct lg_slice *ns = base_realloc(s, cap * sizeof *s);
            if (ns == NULL) {
                base_free(s);
                return BASE_ENOMEM;
            }
            s = ns;
        }
        s[k++] = (struct lg_slice){p, len};
    }
    if (k == 0) {
        return BASE_EPARSE;
    }
    *out = s;
    *n = k;
    return 0;
}

static bool is_type(struct gw_req *r, const char *type)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct != NULL && strncasecmp(ct, type, strlen(type)) == 0 &&
           (ct[strlen(type)] == '\0' || ct[strlen(type)] == ';');
}

/* The envelope of a /v1/tx or signed /v1/evaluate body, in @tmp when it
 * came as JSON. Replies 400 and returns false when it is not one. */
static bool body_envelope(struct gw_server *g, struct gw_req *r,
                          struct base_buf *tmp, struct lg_slice *env)
{
    if (is_type(r, CT_JSON)) {
        json_t *o = gw__body_json(r);
        if (o == NULL) {
            return false;
        }
        const char *why = "";
        int rv = envelope_from_json(g, o, tmp, &why);
        json_decref(o);
        if (rv != 0) {
            gw__metrics_result(&g->m, BASE_EPARSE, false, 0);
            gw__error(r, 400, "malformed_transaction", "%s", why);
            return false;
        }
        *env = (struct lg_slice){tmp->data, tmp->len};
    } else {
        *env = (struct lg_slice){r->body.data, r->body.len};
    }
    struct lg_tx tx;
    if (env->len == 0 || lg_tx_decode(&tx, env->p, env->len) != 0) {
        gw__metrics_result(&g->m, BASE_EPARSE, false, 0);
        gw__error(r, 400, "malformed_transaction",
                  "the body is not a transaction envelope (docs/"
                  "ledger-format.md)");
        return false;
    }
    return true;
}

static enum MHD_Result h_submit(struct gw_server *g, struct gw_req *r)
{
    bool wait = want_wait(r);
    if (is_type(r, CT_BATCH)) {
        struct lg_slice *env;
        size_t n;
        if (gw__split_batch(&r->body, &env, &n) != 0) {
            return gw__error(r, 400, "malformed_batch", GW_BATCH_FORMAT);
        }
        for (size_t i = 0; i < n; i++) {
            struct lg_tx tx;
            if (lg_tx_decode(&tx, env[i].p, env[i].len) != 0) {
                base_free(env);
                gw__metrics_result(&g->m, BASE_EPARSE, false, 0);
                return gw__error(r, 400, "malformed_transaction",
                                 "envelope %zu of the batch is malformed; "
                                 "none was submitted",
                                 i);
            }
        }
        enum MHD_Result rv = submit_all(g, r, env, n, true, wait);
        base_free(env);
        return rv;
    }
    struct base_buf tmp;
    base_buf_init(&tmp, 0);
    struct lg_slice env;
    enum MHD_Result rv = MHD_YES;
    if (body_envelope(g, r, &tmp, &env)) {
        rv = submit_all(g, r, &env, 1, false, wait);
    }
    base_buf_release(&tmp);
    return rv;
}

/* A call made as the request's API key: {"contract", "function", "args"}
 * (already parsed into @o). Replies 400/403 and returns false when it is
 * malformed or outside the key's role limits. */
static bool key_call_ok(struct gw_req *r, json_t *o)
{
    const char *contract = jstr(o, "contract"), *fn = jstr(o, "function");
    if (contract == NULL || fn == NULL) {
        gw__error(r, 400, "bad_request",
                  "a call needs \"contract\" and \"function\" strings");
        return false;
    }
    if (!gw_key_allows(&r->key, contract, fn)) {
        gw__error(r, 403, "forbidden",
                  "key %s may not call %s.%s (allowed: %s)", r->key.id,
                  contract, fn, r->key.allow[0] ? r->key.allow : "*");
        return false;
    }
    return true;
}

static bool key_member(struct gw_server *g, struct gw_req *r,
                       struct lg_cert *cert, struct cr_keypair *kp)
{
    const char *why = "";
    struct gw_key k;
    const char *token = gw__token(r->conn);
    int rv = gw__keys_check(&g->keys, token ? token : "", &k, cert, kp, &why);
    if (rv == BASE_EPERM) {
        gw__error(r, 401, "unauthorized", "API key refused: %s", why);
        return false;
    }
    if (rv != 0) {
        gw__error(r, 500, "identity_unavailable",
                  "the node cannot load the key of %s: %s", k.identity, why);
        return false;
    }
    return true;
}

static enum MHD_Result h_invoke(struct gw_server *g, struct gw_req *r)
{
    struct lg_cert cert;
    struct cr_keypair kp;
    json_t *o = gw__body_json(r);
    if (o == NULL) {
        return MHD_YES;
    }
    if (!key_call_ok(r, o) || !key_member(g, r, &cert, &kp)) {
        json_decref(o);
        return MHD_YES;
    }
    struct base_buf ab, tx;
    base_buf_init(&ab, 0);
    base_buf_init(&tx, 0);
    struct lg_slice args[LG_MAX_ARGS];
    uint32_t nargs;
    const char *why = "";
    int rv = json_args(o, &ab, args, &nargs, &why);
    enum MHD_Result out;
    char bad[LG_REASON_MAX + 1];
    if (rv != 0) {
        out = gw__error(r, 400, "bad_request", "%s", why);
    } else if (sc_call_check(jstr(o, "contract"), jstr(o, "function"), nargs,
                             args, bad, sizeof bad) != 0) {
        /* The node signs this call: an argument the contract would refuse
         * (a non-canonical id, text that is not UTF-8) is refused before
         * anything is signed or ordered, with the contract's reason. */
        out = gw__error(r, 400, "bad_request", "%s", bad);
    } else {
        struct lg_call call = {lg_channel_name(g->ch), jstr(o, "contract"),
                               jstr(o, "function"), nargs, args};
        uint64_t nonce = atomic_fetch_add(&g->nonce, 1);
        rv = lg_tx_build(&tx, &call, &cert, &kp, nonce, NULL);
        if (rv != 0) {
            out = gw__error(r, 400, "bad_request",
                            "cannot encode the call: names are 1..64 "
                            "printable characters");
        } else {
            struct lg_slice env = {tx.data, tx.len};
            out = submit_all(g, r, &env, 1, false, want_wait(r));
        }
    }
    cr_wipe(&kp, sizeof kp);
    base_buf_release(&ab);
    base_buf_release(&tx);
    json_decref(o);
    return out;
}

static enum MHD_Result eval_reply(struct gw_req *r, int rv,
                                  const struct base_buf *out,
                                  const char *reason)
{
    if (rv != 0) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(base_errname(rv)));
        json_object_set_new(o, "code", json_integer(rv));
        json_t *rs = json_string(reason);
        json_object_set_new(o, "reason", rs ? rs : json_string(""));
        return gw__reply_json(r, gw__status_of(rv), o);
    }
    json_t *o = json_pack("{s:i, s:s}", "code", 0, "result", "VALID");
    gw_json_set_bytes(o, "payload", out->data, out->len);
    return gw__reply_json(r, 200, o);
}

/* The call of a key's JSON evaluate, run as the key's member. */
static int eval_as_key(struct gw_server *g, struct gw_req *r, json_t *o,
                       struct base_buf *out, char *reason, bool *answered)
{
    struct lg_cert cert;
    struct cr_keypair kp;
    *answered = true;
    if (!key_call_ok(r, o) || !key_member(g, r, &cert, &kp)) {
        return 0;
    }
    cr_wipe(&kp, sizeof kp);
    struct base_buf ab;
    base_buf_init(&ab, 0);
    struct lg_slice args[LG_MAX_ARGS];
    uint32_t nargs;
    const char *why = "";
    int rv = json_args(o, &ab, args, &nargs, &why);
    if (rv != 0) {
        gw__error(r, 400, "bad_request", "%s", why);
    } else {
        *answered = false;
        rv = lg_evaluate(g->ch, &cert, jstr(o, "contract"), jstr(o, "function"),
                         nargs, args, out, reason);
    }
    base_buf_release(&ab);
    return rv;
}

/* A signed envelope: its certificate and signature are checked as for
 * ordering, then the call runs read-only as its creator. */
static int eval_signed(struct gw_server *g, struct gw_req *r,
                       struct base_buf *out, char *reason, bool *answered)
{
    struct base_buf tmp;
    base_buf_init(&tmp, 0);
    struct lg_slice env;
    *answered = !body_envelope(g, r, &tmp, &env);
    int rv = 0;
    if (!*answered) {
        struct lg_tx tx;
        rv = lg_tx_decode(&tx, env.p, env.len);
        if (rv == 0) {
            rv = lg_admit(g->ch, &tx, base_wall_ns(), reason);
        }
        if (rv == 0) {
            rv = lg_evaluate(g->ch, &tx.cert, tx.contract, tx.function,
                             tx.nargs, tx.args, out, reason);
        }
    }
    base_buf_release(&tmp);
    return rv;
}

static enum MHD_Result h_evaluate(struct gw_server *g, struct gw_req *r)
{
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1] = "";
    bool answered = false;
    int rv;
    json_t *o = NULL;
    if (is_type(r, CT_JSON)) {
        o = gw__body_json(r);
        if (o == NULL) {
            return MHD_YES;
        }
    }
    if (o != NULL && json_object_get(o, "signature") == NULL) {
        if (!r->have_key) {
            json_decref(o);
            return gw__error(r, 401, "unauthorized",
                             "an unsigned call needs an API key; or send a "
                             "signed envelope");
        }
        rv = eval_as_key(g, r, o, &out, reason, &answered);
    } else {
        rv = eval_signed(g, r, &out, reason, &answered);
    }
    json_decref(o);
    enum MHD_Result res = answered ? MHD_YES : eval_reply(r, rv, &out, reason);
    base_buf_release(&out);
    return res;
}

/* ---- off-chain records and bids ---------------------------------------- */

static enum MHD_Result h_off_put(struct gw_server *g, struct gw_req *r)
{
    if (r->body.len == 0) {
        return gw__error(r, 400, "bad_request", "an empty record");
    }
    struct cr_hash h;
    int rv = kv_offchain_put(g->off, r->body.data, r->body.len, &h);
    gw__metrics_offchain(&g->m, true, rv);
    if (rv != 0) {
        return fail_code(r, rv, "off-chain store");
    }
    return gw__reply_json(r, 200,
                          json_pack("{s:o, s:I}", "hash", gw_json_hex(h.b, 32),
                                    "size", (json_int_t)r->body.len));
}

/* Does some version of the bid record names the off-chain record @hex (as
 * the bid's checksum or its dispatch allocation's)? */
struct names {
    const char *hex;
    bool found;
};

static int names_cb(void *arg, const struct lg_history_entry *e)
{
    struct names *n = arg;
    json_t *o = json_loadb((const char *)e->value.p, e->value.len, 0, NULL);
    const char *a = json_string_value(json_object_get(o, "checksum"));
    const char *d = json_string_value(json_object_get(o, "dispatch_checksum"));
    n->found = n->found || (a != NULL && strcmp(a, n->hex) == 0) ||
               (d != NULL && strcmp(d, n->hex) == 0);
    json_decref(o);
    return n->found ? 1 : 0;
}

/* An off-chain record is read through the bid that names it (?bid=UID),
 * as a reader of that bid; without one, only by a reader of every bid.
 * Replies and returns false when @rd may not have record @hex. */
static bool record_readable(struct gw_server *g, struct gw_req *r,
                            const struct gw_reader *rd, const char *bid,
                            const char *hex)
{
    char why[LG_REASON_MAX + 1];
    if (bid == NULL) {
        if (gw__may_read(g, rd, "bids", SC_READ_ALL, NULL, 0, NULL, 0, NULL,
                         why, sizeof why) != 0) {
            gw__read_refused(r, rd,
                             "an off-chain record is read through the bid "
                             "that names it: add ?bid=UID");
            return false;
        }
        return true;
    }
    char key[8 + MK_UID_MAX + 1];
    if (strlen(bid) > MK_UID_MAX) {
        gw__error(r, 400, "bad_request", "a bid uid is 1..%d bytes",
                  MK_UID_MAX);
        return false;
    }
    snprintf(key, sizeof key, "bid/%s", bid);
    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    int rv = lg_get(g->ch, "bids", key, strlen(key), &v, &ver);
    if (rv == 0 && gw__may_read(g, rd, "bids", SC_READ_STATE, key, strlen(key),
                                v.data, v.len, NULL, why, sizeof why) != 0) {
        base_buf_release(&v);
        gw__read_refused(r, rd, why);
        return false;
    }
    base_buf_release(&v);
    if (rv != 0) {
        gw__error(r, gw__status_of(rv), base_errname(rv), "bid %s: %s", bid,
                  base_strerror(rv));
        return false;
    }
    struct names n = {hex, false};
    rv = lg_history(g->ch, "bids", key, strlen(key), names_cb, &n);
    if (rv != 0) {
        gw__error(r, gw__status_of(rv), base_errname(rv),
                  "bid %s: its history: %s", bid, base_strerror(rv));
        return false;
    }
    if (!n.found) {
        gw__error(r, 403, "forbidden",
                  "bid %s does not name the off-chain record %.16s...", bid,
                  hex);
        return false;
    }
    return true;
}

static enum MHD_Result h_off_get(struct gw_server *g, struct gw_req *r)
{
    struct cr_hash h;
    if (!parse_id(r->params[0], &h)) {
        return gw__error(r, 400, "bad_request",
                         "a record hash is 64 hex digits");
    }
    char bid[MK_UID_MAX + 2];
    bool has_bid = gw__arg(r, "bid", bid, sizeof bid) != NULL;
    struct gw_reader rd;
    const char *sig =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MK_READ_HEADER);
    if (!r->have_key && sig != NULL && has_bid) {
        if (!gw__reader_signed(g, r, sig, bid, &rd)) {
            return MHD_YES;
        }
    } else if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    char hex[65];
    base_hex_encode(hex, h.b, 32);
    if (!record_readable(g, r, &rd, has_bid ? bid : NULL, hex)) {
        return MHD_YES;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = kv_offchain_get(g->off, &h, &b);
    gw__metrics_offchain(&g->m, false, rv);
    if (rv != 0) {
        base_buf_release(&b);
        return fail_code(r, rv, "off-chain record");
    }
    /* The bytes as stored: checking them against a checksum on chain is
     * the reader's job (GET /v1/bids/{uid} does it). */
    return gw__reply(r, 200, CT_BIN, &b);
}

static enum MHD_Result h_bid(struct gw_server *g, struct gw_req *r)
{
    if (!gw_key_allows(&r->key, "bids", "retrieve")) {
        return gw__error(r, 403, "forbidden",
                         "key %s may not call "
                         "bids.retrieve",
                         r->key.id);
    }
    struct lg_cert cert;
    struct cr_keypair kp;
    if (!key_member(g, r, &cert, &kp)) {
        return MHD_YES;
    }
    /* A client that only reads: retrieval evaluates and fetches, it never
     * orders, so it needs no orderer. */
    struct mk_client *c;
    int rv = mk_client_local(&c, g->ch, NULL, g->off, &cert, &kp);
    cr_wipe(&kp, sizeof kp);
    if (rv != 0) {
        return fail_code(r, rv, "client");
    }
    struct mk_bid_view v;
    rv = mk_bid_retrieve(c, r->params[0], &v);
    mk_client_close(c);
    gw__metrics_offchain(&g->m, false, rv);
    if (rv != 0) {
        enum MHD_Result e = gw__error(r, gw__status_of(rv), base_errname(rv),
                                      "bid %s: %s", r->params[0], v.reason);
        mk_bid_view_release(&v);
        return e;
    }
    json_t *bid = json_null();
    if (v.intact) {
        struct base_buf raw;
        base_buf_init(&raw, 0);
        if (mk_bid_encode(&v.bid, &raw) == 0) {
            json_decref(bid);
            bid = json_loadb((const char *)raw.data, raw.len, 0, NULL);
        }
        base_buf_release(&raw);
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:o}", "uid",
                          r->params[0], "status", v.status, "version",
                          (json_int_t)v.version, "checksum", v.checksum,
                          "computed", v.computed, "intact", v.intact, "reason",
                          v.reason, "bid", bid ? bid : json_null());
    mk_bid_view_release(&v);
    return gw__reply_json(r, 200, o);
}

static enum MHD_Result h_whoami(struct gw_server *g, struct gw_req *r)
{
    (void)g;
    return gw__reply_json(r, 200,
                          json_pack("{s:s, s:s, s:s, s:s, s:b}", "id",
                                    r->key.id, "name", r->key.name, "identity",
                                    r->key.identity, "allow",
                                    r->key.allow[0] ? r->key.allow : "*",
                                    "read_only", r->key.read_only));
}

/* ---- the table ------------------------------------------------------------
 * Paths are OpenAPI templates: docs/api.yaml lists the same ones, and a
 * test checks that the two agree. */

const struct gw_route gw__route_table[] = {
    {{"GET", "/"}, R_PUBLIC, h_root, NULL},
    {{"GET", "/ui/{file}"}, R_PUBLIC, h_ui, NULL},
    {{"GET", "/healthz"}, R_PUBLIC, h_healthz, NULL},
    {{"GET", "/readyz"}, R_PUBLIC, h_readyz, NULL},
    {{"GET", "/metrics"}, R_PUBLIC, h_metrics, NULL},
    {{"GET", "/v1/tip"}, 0, h_tip, NULL},
    {{"GET", "/v1/state/{contract}"}, 0, h_range, NULL},
    {{"GET", "/v1/state/{contract}/{key}"}, 0, h_state, NULL},
    {{"GET", "/v1/history/{contract}/{key}"}, 0, h_history, NULL},
    {{"GET", "/v1/blocks"}, R_PEER, h_blocks, NULL},
    {{"GET", "/v1/blocks/{n}"}, R_PEER, h_block, NULL},
    {{"GET", "/v1/tx/{id}"}, 0, h_tx, NULL},
    {{"GET", "/v1/proof/{id}"}, 0, h_proof, NULL},
    {{"GET", "/v1/events"}, 0, gw__h_events, NULL},
    {{"POST", "/v1/tx"},
     R_BODY | R_SIGNED,
     h_submit,
     CT_BIN " " CT_JSON " " CT_BATCH},
    {{"POST", "/v1/invoke"}, R_BODY | R_KEY | R_WRITE, h_invoke, CT_JSON},
    {{"POST", "/v1/evaluate"},
     R_BODY | R_SIGNED,
     h_evaluate,
     CT_JSON " " CT_BIN},
    {{"POST", "/v1/offchain"}, R_BODY | R_WRITE, h_off_put, NULL},
    {{"GET", "/v1/offchain/{hash}"}, R_SIGNED, h_off_get, NULL},
    {{"GET", "/v1/bids/{uid}"}, R_KEY, h_bid, NULL},
    {{"GET", "/v1/whoami"}, R_KEY, h_whoami, NULL},
    {{"GET", "/v1/bids"}, 0, gw__h_bids_list, NULL},
    /* The cluster (cluster.c): its status, and what nodes send each
     * other. The peers' routes need no API key: forwarded envelopes are
     * admitted again, refusals and add requests are signed with the
     * orderer key. */
    {{"GET", "/v1/cluster"}, R_PUBLIC, gw__h_cluster, NULL},
    {{"POST", "/v1/cluster/forward"},
     R_BODY | R_PUBLIC,
     gw__h_forward,
     CT_BATCH},
    {{"POST", "/v1/cluster/refused"},
     R_BODY | R_PUBLIC,
     gw__h_refused,
     CT_JSON},
    {{"POST", "/v1/cluster/members"}, R_BODY | R_PUBLIC, gw__h_add, CT_JSON},
};

const size_t gw__nroutes = BASE_ARRAY_LEN(gw__route_table);
