/* SPDX-License-Identifier: MIT */
/* gridledger query: read state, history, blocks, transactions, proofs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gateway/gateway.h"
#include "node.h"
#include "remote.h"

static const char usage[] =
    "usage: gridledger query DIR [--channel C] WHAT ...\n"
    "       gridledger query --node URL [--keys DIR | --api-key KEY] WHAT "
    "...\n\n"
    "  get CONTRACT KEY            a key's value and version\n"
    "  range CONTRACT [START [END]] [--limit N]   keys in [START, END)\n"
    "  history CONTRACT KEY        every version of a key\n"
    "  block N|HASH                a block, its transactions and results\n"
    "  tx ID                       where a transaction is, and its result\n"
    "  proof ID                    a Merkle inclusion proof (JSON), to be\n"
    "                              checked offline with 'gridledger "
    "check-proof'\n"
    "  tip                         height, tip hash, state hash\n"
    "  state [N]                   block N's hash and the state hash after\n"
    "                              it (default: the last block), to compare\n"
    "                              the nodes of a cluster\n"
    "  eval --as ORG/NAME CONTRACT FUNCTION [ARGS...]   run a read-only "
    "call\n"
    "  bid UID --as ORG/NAME       retrieve a bid and check its off-chain\n"
    "                              record against the chain (exit 1 when it\n"
    "                              is not intact; --api-key with --node)\n\n"
    "Output is JSON on stdout. A missing key, block or transaction exits "
    "1.\n\n"
    "With --node every query goes to a running node over HTTP and prints\n"
    "the same output; eval signs its call with --as's key from --keys DIR,\n"
    "or runs as --api-key's member.\n" APP_REMOTE_USAGE;

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        puts(s);
    }
    free(s);
    json_decref(o);
}

static int q_get(struct app_node *n, int argc, char **argv)
{
    if (argc != 2) {
        return cmd_fail(2, "usage: query DIR get CONTRACT KEY");
    }
    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    int rv = lg_get(n->ch, argv[0], argv[1], strlen(argv[1]), &v, &ver);
    if (rv == 0) {
        json_t *o =
            json_pack("{s:s, s:s}", "contract", argv[0], "key", argv[1]);
        gw_json_set_bytes(o, "value", v.data, v.len);
        json_object_set_new(o, "block", json_integer((json_int_t)ver.block));
        json_object_set_new(o, "tx", json_integer(ver.tx));
        print_json(o);
    } else {
        rv = cmd_fail(1, "%s/%s: %s", argv[0], argv[1], base_strerror(rv));
    }
    base_buf_release(&v);
    return rv;
}

static int q_range(struct app_node *n, int argc, char **argv)
{
    /* app_take_opt skips argv[0]; the sub-arguments start at argv[0]. */
    int ac = argc + 1;
    const char *lim = app_take_opt(&ac, argv - 1, "--limit");
    argc = ac - 1;
    uint64_t limit = 0;
    if (argc < 1 || argc > 3 ||
        (lim != NULL && base_parse_u64(lim, &limit) != 0)) {
        return cmd_fail(2, "usage: query DIR range CONTRACT [START [END]] "
                           "[--limit N]");
    }
    const char *start = argc > 1 ? argv[1] : "";
    const char *end = argc > 2 ? argv[2] : NULL;
    json_t *arr = json_array();
    int rv =
        lg_range(n->ch, argv[0], start, strlen(start), end,
                 end ? strlen(end) : 0, (size_t)limit, gw_json_range_cb, arr);
    if (rv != 0) {
        json_decref(arr);
        return cmd_fail(1, "range: %s", base_strerror(rv));
    }
    print_json(arr);
    return 0;
}

static int q_history(struct app_node *n, int argc, char **argv)
{
    if (argc != 2) {
        return cmd_fail(2, "usage: query DIR history CONTRACT KEY");
    }
    json_t *arr = json_array();
    int rv = lg_history(n->ch, argv[0], argv[1], strlen(argv[1]),
                        gw_json_history_cb, arr);
    if (rv != 0) {
        json_decref(arr);
        return cmd_fail(1, "%s/%s: %s", argv[0], argv[1], base_strerror(rv));
    }
    print_json(arr);
    return 0;
}

static int q_block(struct app_node *n, int argc, char **argv)
{
    if (argc != 1) {
        return cmd_fail(2, "usage: query DIR block N|HASH");
    }
    uint64_t num;
    struct cr_hash h;
    if (strlen(argv[0]) == 64 && base_hex_decode(h.b, 32, argv[0]) == 0) {
        if (lg_block_find(n->ch, &h, &num) != 0) {
            return cmd_fail(1, "no block with hash %s", argv[0]);
        }
    } else if (base_parse_u64(argv[0], &num) != 0) {
        return cmd_fail(2, "'%s' is neither a block number nor a hash",
                        argv[0]);
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    struct lg_block blk;
    if (lg_block_get(n->ch, num, &b) != 0) {
        base_buf_release(&b);
        return cmd_fail(1, "no block %llu", (unsigned long long)num);
    }
    if (lg_block_decode(&blk, b.data, b.len) != 0) {
        base_buf_release(&b);
        return cmd_fail(1, "block %llu is corrupt", (unsigned long long)num);
    }
    print_json(gw_json_block(&blk));
    lg_block_release(&blk);
    base_buf_release(&b);
    return 0;
}

static int parse_id(const char *s, struct cr_hash *id)
{
    if (base_hex_decode(id->b, 32, s) != 0) {
        return cmd_fail(2, "a transaction id is 64 hex digits, not '%s'", s);
    }
    return 0;
}

static int q_tx(struct app_node *n, int argc, char **argv)
{
    struct cr_hash id;
    if (argc != 1) {
        return cmd_fail(2, "usage: query DIR tx ID");
    }
    if (parse_id(argv[0], &id) != 0) {
        return 2;
    }
    struct lg_tx_info info;
    if (lg_tx_find(n->ch, &id, &info) != 0) {
        return cmd_fail(1, "no transaction %s", argv[0]);
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    struct lg_block blk;
    json_t *o = NULL;
    if (lg_block_get(n->ch, info.block, &b) == 0 &&
        lg_block_decode(&blk, b.data, b.len) == 0) {
        if (info.index < blk.h.tx_count) {
            o = gw_json_tx(&blk.txs[info.index], &blk.results[info.index]);
        }
        lg_block_release(&blk);
    }
    base_buf_release(&b);
    if (o == NULL) {
        return cmd_fail(1, "transaction %s: its block is unreadable", argv[0]);
    }
    json_object_set_new(o, "block", json_integer((json_int_t)info.block));
    json_object_set_new(o, "index", json_integer(info.index));
    print_json(o);
    return 0;
}

static int q_proof(struct app_node *n, int argc, char **argv)
{
    struct cr_hash id;
    if (argc != 1) {
        return cmd_fail(2, "usage: query DIR proof ID");
    }
    if (parse_id(argv[0], &id) != 0) {
        return 2;
    }
    struct lg_proof p;
    lg_proof_init(&p);
    int rv = lg_proof_make(n->ch, &id, &p);
    struct base_buf out;
    base_buf_init(&out, 0);
    if (rv == 0) {
        rv = lg_proof_to_json(&p, &out);
    }
    if (rv == 0 && base_buf_terminate(&out) == 0) {
        puts((char *)out.data);
    } else {
        rv = cmd_fail(1, "no proof for %s: %s", argv[0], base_strerror(rv));
    }
    base_buf_release(&out);
    lg_proof_release(&p);
    return rv;
}

static int q_tip(struct app_node *n)
{
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(n->ch, &height, &tip, &state);
    const struct lg_config *cfg = lg_channel_config(n->ch);
    print_json(json_pack("{s:s, s:I, s:o, s:o, s:o}", "channel",
                         lg_channel_name(n->ch), "height", (json_int_t)height,
                         "tip", gw_json_hex(tip.b, 32), "state_hash",
                         gw_json_hex(state.b, 32), "orderer_key",
                         gw_json_hex(cfg->orderer_pk, 32)));
    return 0;
}

/* The state hash after block N: two nodes that applied the same chain
 * print the same line, whatever else they hold. */
static int q_state(struct app_node *n, int argc, char **argv)
{
    uint64_t num;
    if (argc > 1 || (argc == 1 && base_parse_u64(argv[0], &num) != 0)) {
        return cmd_fail(2, "usage: query DIR state [N]");
    }
    if (argc == 0) {
        lg_channel_tip(n->ch, &num, NULL, NULL);
        num--;
    }
    struct lg_header h;
    struct cr_hash hash;
    int rv = lg_block_header(n->ch, num, &h, &hash);
    if (rv != 0) {
        return cmd_fail(1, "block %llu: %s", (unsigned long long)num,
                        base_strerror(rv));
    }
    print_json(json_pack("{s:s, s:I, s:o, s:o}", "channel",
                         lg_channel_name(n->ch), "block", (json_int_t)num,
                         "hash", gw_json_hex(hash.b, 32), "state_hash",
                         gw_json_hex(h.state_hash.b, 32)));
    return 0;
}

static int q_eval(struct app_node *n, const char *dir, int argc, char **argv)
{
    int ac = argc + 1;
    const char *as = app_take_opt(&ac, argv - 1, "--as");
    argc = ac - 1;
    if (as == NULL || argc < 2 || argc - 2 > LG_MAX_ARGS) {
        return cmd_fail(2, "usage: query DIR eval --as ORG/NAME CONTRACT "
                           "FUNCTION [ARGS...]");
    }
    struct app_member m;
    if (app_member_load(&m, dir, as) != 0) {
        return 1;
    }
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 2; i < argc; i++) {
        args[i - 2] =
            (struct lg_slice){(const uint8_t *)argv[i], strlen(argv[i])};
    }
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    int rv = lg_evaluate(n->ch, &m.cert, argv[0], argv[1], (uint32_t)(argc - 2),
                         args, &out, reason);
    if (rv == 0) {
        fwrite(out.data, 1, out.len, stdout);
        putchar('\n');
    } else {
        rv = cmd_fail(1, "%s.%s: %s (%s)", argv[0], argv[1], reason,
                      base_errname(rv));
    }
    base_buf_release(&out);
    return rv;
}

/* A retrieved bid, as GET /v1/bids/{uid} shows it; exit 1 unless the
 * record passed mk_bid_check. */
static int print_bid(struct mk_client *c, const char *uid)
{
    struct mk_bid_view v;
    int rv = mk_bid_retrieve(c, uid, &v);
    if (rv != 0) {
        rv = cmd_fail(1, "bid %s: %s (%s)", uid, v.reason, base_errname(rv));
        mk_bid_view_release(&v);
        return rv;
    }
    json_t *bid = json_null();
    struct base_buf raw;
    base_buf_init(&raw, 0);
    if (v.intact && mk_bid_encode(&v.bid, &raw) == 0) {
        json_decref(bid);
        bid = json_loadb((const char *)raw.data, raw.len, 0, NULL);
    }
    base_buf_release(&raw);
    print_json(json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:o}", "uid", uid,
                         "status", v.status, "version", (json_int_t)v.version,
                         "checksum", v.checksum, "computed", v.computed,
                         "intact", v.intact, "reason", v.reason, "bid",
                         bid ? bid : json_null()));
    if (!v.intact) {
        fprintf(stderr, "gridledger: bid %s is not intact: %s\n", uid,
                v.reason);
    }
    rv = v.intact ? 0 : 1;
    mk_bid_view_release(&v);
    return rv;
}

static int q_bid(struct app_node *n, const char *dir, int argc, char **argv)
{
    int ac = argc + 1;
    const char *as = app_take_opt(&ac, argv - 1, "--as");
    argc = ac - 1;
    if (as == NULL || argc != 1) {
        return cmd_fail(2, "usage: query DIR bid UID --as ORG/NAME");
    }
    struct app_member m;
    struct kv_offchain *off = NULL;
    if (app_member_load(&m, dir, as) != 0 || app_offchain_open(dir, &off)) {
        return 1;
    }
    struct mk_client *c;
    int rv = mk_client_local(&c, n->ch, NULL, off, &m.cert, &m.key);
    cr_wipe(&m.key, sizeof m.key);
    if (rv != 0) {
        kv_offchain_close(off);
        return cmd_fail(1, "client: %s", base_strerror(rv));
    }
    rv = print_bid(c, argv[0]);
    mk_client_close(c);
    kv_offchain_close(off);
    return rv;
}

/* ---- the same queries through a node (--node) ----------------------------
 * The gateway answers with the JSON shapes printed above (gateway.h), so
 * each query re-prints the node's answer, or the part of it the local
 * command prints. */

/* GET @prefix, then @parts escaped and joined by '/', then @query. */
static int r_get(struct mk_client *c, long *status, json_t **out,
                 const char *prefix, int nparts, const char *const *parts,
                 const char *query)
{
    struct base_buf p;
    base_buf_init(&p, 0);
    int rv = base_buf_add_str(&p, prefix);
    for (int i = 0; rv == 0 && i < nparts; i++) {
        rv = i ? base_buf_add_u8(&p, '/') : 0;
        rv = rv ? rv : app_url_escape(&p, parts[i], strlen(parts[i]));
    }
    rv = rv ? rv : base_buf_add_str(&p, query ? query : "");
    rv = rv ? rv : base_buf_terminate(&p);
    if (rv != 0) {
        base_buf_release(&p);
        return cmd_fail(1, "out of memory");
    }
    rv = app_remote_get(c, (const char *)p.data, status, out);
    base_buf_release(&p);
    return rv;
}

/* The reason of an error answer, for the messages the local command
 * prints ("not found"). */
static const char *r_why(long status, json_t *o)
{
    json_t *code = json_object_get(o, "code");
    const char *err = json_string_value(json_object_get(o, "error"));
    int c = json_is_integer(code) ? (int)json_integer_value(code) : 0;
    if (c == 0 && err != NULL) {
        c = mk_http_code(status, NULL, 0);
        for (int k = -1; k > BASE__ERR_LAST; k--) {
            if (strcmp(base_errname(k), err) == 0) {
                c = k;
            }
        }
    }
    return base_strerror(c ? c : mk_http_code(status, NULL, 0));
}

static int r_fail(long status, json_t *o, const char *msg)
{
    const char *reason = json_string_value(json_object_get(o, "reason"));
    int st = status == 400 ? 2 : 1;
    if (status != 404 && status != 400 && reason != NULL) {
        return cmd_fail(st, "%s (the node answered HTTP %ld: %s)", msg, status,
                        reason);
    }
    return cmd_fail(st, "%s", msg);
}

/* Prints a 200 answer's JSON, or fails with @msg and the node's reason;
 * either way @o is released. */
static int r_print(long status, json_t *o, const char *msg)
{
    if (status != 200 || o == NULL) {
        int rv = r_fail(status, o, msg);
        json_decref(o);
        return rv;
    }
    print_json(o);
    return 0;
}

static int r_get_key(struct mk_client *c, int argc, char **argv)
{
    if (argc != 2) {
        return cmd_fail(2, "usage: query --node URL get CONTRACT KEY");
    }
    long st;
    json_t *o;
    if (r_get(c, &st, &o, "/v1/state/", 2, (const char *const *)argv, NULL)) {
        return 1;
    }
    if (st != 200 || o == NULL) {
        int rv = cmd_fail(1, "%s/%s: %s", argv[0], argv[1], r_why(st, o));
        json_decref(o);
        return rv;
    }
    print_json(o);
    return 0;
}

/* Keys in [start, end), page by page (the node answers at most 10000 at a
 * time): each page starts at the last key of the one before, which it
 * repeats. */
static int r_range(struct mk_client *c, int argc, char **argv)
{
    int ac = argc + 1;
    const char *lim = app_take_opt(&ac, argv - 1, "--limit");
    argc = ac - 1;
    uint64_t limit = 0;
    if (argc < 1 || argc > 3 ||
        (lim != NULL && base_parse_u64(lim, &limit) != 0)) {
        return cmd_fail(2, "usage: query --node URL range CONTRACT [START "
                           "[END]] [--limit N]");
    }
    json_t *all = json_array();
    struct base_buf start;
    base_buf_init(&start, 0);
    int rv = base_buf_add_str(&start, argc > 1 ? argv[1] : "");
    bool first = true;
    while (rv == 0) {
        size_t want = limit ? (size_t)limit - json_array_size(all) : 10000;
        want = want + !first > 10000 ? 10000 : want + !first;
        struct base_buf q;
        base_buf_init(&q, 0);
        rv = base_buf_printf(&q, "?limit=%zu&start=", want);
        rv = rv ? rv : app_url_escape(&q, (const char *)start.data, start.len);
        if (rv == 0 && argc > 2) {
            rv = base_buf_add_str(&q, "&end=");
            rv = rv ? rv : app_url_escape(&q, argv[2], strlen(argv[2]));
        }
        rv = rv ? rv : base_buf_terminate(&q);
        long st = 0;
        json_t *o = NULL;
        rv = rv ? rv
                : r_get(c, &st, &o, "/v1/state/", 1, (const char *const *)argv,
                        (const char *)q.data);
        base_buf_release(&q);
        json_t *keys = json_object_get(o, "keys");
        if (rv == 0 && (st != 200 || !json_is_array(keys))) {
            rv = cmd_fail(1, "range: %s", r_why(st, o));
        }
        size_t n = rv ? 0 : json_array_size(keys);
        for (size_t i = first ? 0 : 1; i < n; i++) {
            json_array_append(all, json_array_get(keys, i));
        }
        json_t *last = n ? json_array_get(keys, n - 1) : NULL;
        const char *lk = json_string_value(json_object_get(last, "key"));
        const char *lh = json_string_value(json_object_get(last, "key_hex"));
        base_buf_reset(&start);
        if (rv == 0 && lk != NULL) {
            rv = base_buf_add_str(&start, lk);
        } else if (rv == 0 && lh != NULL && strlen(lh) % 2 == 0 &&
                   base_buf_reserve(&start, strlen(lh) / 2 + 1) == 0 &&
                   base_hex_decode(start.data, strlen(lh) / 2, lh) == 0) {
            start.len = strlen(lh) / 2;
        }
        bool done = n < want || (limit && json_array_size(all) >= limit);
        json_decref(o);
        first = false;
        if (rv != 0 || done) {
            break;
        }
    }
    base_buf_release(&start);
    if (rv != 0) {
        json_decref(all);
        return rv;
    }
    print_json(all);
    return 0;
}

static int r_history(struct mk_client *c, int argc, char **argv)
{
    if (argc != 2) {
        return cmd_fail(2, "usage: query --node URL history CONTRACT KEY");
    }
    long st;
    json_t *o;
    if (r_get(c, &st, &o, "/v1/history/", 2, (const char *const *)argv, NULL)) {
        return 1;
    }
    json_t *v = json_object_get(o, "versions");
    int rv = 0;
    if (st != 200 || !json_is_array(v)) {
        rv = cmd_fail(1, "%s/%s: %s", argv[0], argv[1], r_why(st, o));
    } else {
        print_json(json_incref(v));
    }
    json_decref(o);
    return rv;
}

static int r_block(struct mk_client *c, int argc, char **argv)
{
    if (argc != 1) {
        return cmd_fail(2, "usage: query --node URL block N|HASH");
    }
    uint64_t num;
    struct cr_hash h;
    bool hash = strlen(argv[0]) == 64 && base_hex_decode(h.b, 32, argv[0]) == 0;
    if (!hash && base_parse_u64(argv[0], &num) != 0) {
        return cmd_fail(2, "'%s' is neither a block number nor a hash",
                        argv[0]);
    }
    long st;
    json_t *o;
    if (r_get(c, &st, &o, "/v1/blocks/", 1, (const char *const *)argv, NULL)) {
        return 1;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "no block %s%s", hash ? "with hash " : "",
             argv[0]);
    return r_print(st, o, msg);
}

static int r_tx(struct mk_client *c, int argc, char **argv)
{
    struct cr_hash id;
    if (argc != 1) {
        return cmd_fail(2, "usage: query --node URL tx ID");
    }
    if (parse_id(argv[0], &id) != 0) {
        return 2;
    }
    long st;
    json_t *o;
    if (r_get(c, &st, &o, "/v1/tx/", 1, (const char *const *)argv, NULL)) {
        return 1;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "no transaction %s", argv[0]);
    return r_print(st, o, msg);
}

static int r_proof(struct mk_client *c, int argc, char **argv)
{
    struct cr_hash id;
    if (argc != 1) {
        return cmd_fail(2, "usage: query --node URL proof ID");
    }
    if (parse_id(argv[0], &id) != 0) {
        return 2;
    }
    /* The proof's own JSON text, byte for byte: check-proof reads it. */
    char path[96], err[BASE_ERRMSG_SIZE];
    snprintf(path, sizeof path, "/v1/proof/%s", argv[0]);
    struct base_buf a;
    base_buf_init(&a, 0);
    long st = 0;
    int rv = mk_http_request(c, "GET", path, NULL, NULL, 0, &st, &a, err);
    if (rv != 0) {
        rv = cmd_fail(1, "%s", err);
    } else if (st != 200 || base_buf_terminate(&a) != 0) {
        json_t *o = json_loadb((const char *)a.data, a.len, 0, NULL);
        rv = cmd_fail(1, "no proof for %s: %s", argv[0], r_why(st, o));
        json_decref(o);
    } else {
        puts((const char *)a.data);
    }
    base_buf_release(&a);
    return rv;
}

static int r_tip(struct mk_client *c)
{
    long st;
    json_t *o;
    if (app_remote_get(c, "/v1/tip", &st, &o) != 0) {
        return 1;
    }
    if (st != 200 || o == NULL) {
        json_decref(o);
        return cmd_fail(1, "tip: %s", r_why(st, NULL));
    }
    print_json(o);
    return 0;
}

static int r_state(struct mk_client *c, int argc, char **argv)
{
    uint64_t num = 0;
    if (argc > 1 || (argc == 1 && base_parse_u64(argv[0], &num) != 0)) {
        return cmd_fail(2, "usage: query --node URL state [N]");
    }
    long st;
    json_t *tip;
    if (app_remote_get(c, "/v1/tip", &st, &tip) != 0) {
        return 1;
    }
    json_t *height = json_object_get(tip, "height");
    if (st != 200 || !json_is_integer(height)) {
        json_decref(tip);
        return cmd_fail(1, "tip: %s", r_why(st, NULL));
    }
    if (argc == 0) {
        num = (uint64_t)json_integer_value(height) - 1;
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/blocks/%llu", (unsigned long long)num);
    json_t *b;
    int rv = app_remote_get(c, path, &st, &b);
    if (rv == 0 && (st != 200 || b == NULL)) {
        char n[24];
        snprintf(n, sizeof n, "%llu", (unsigned long long)num);
        rv = cmd_fail(1, "block %s: %s", n, r_why(st, b));
    } else if (rv == 0) {
        print_json(json_pack(
            "{s:O, s:I, s:O, s:O}", "channel", json_object_get(tip, "channel"),
            "block", (json_int_t)num, "hash", json_object_get(b, "hash"),
            "state_hash", json_object_get(b, "state_hash")));
    }
    json_decref(b);
    json_decref(tip);
    return rv;
}

static int r_eval(const struct app_remote *r, int argc, char **argv)
{
    int ac = argc + 1;
    const char *as = app_take_opt(&ac, argv - 1, "--as");
    argc = ac - 1;
    if ((as == NULL && r->api_key == NULL) || argc < 2 ||
        argc - 2 > LG_MAX_ARGS) {
        return cmd_fail(2, "usage: query --node URL eval (--as ORG/NAME --keys "
                           "DIR | --api-key KEY) CONTRACT FUNCTION [ARGS...]");
    }
    struct mk_client *c;
    int orv = app_remote_open(r, as, &c);
    if (orv != 0) {
        return orv;
    }
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 2; i < argc; i++) {
        args[i - 2] =
            (struct lg_slice){(const uint8_t *)argv[i], strlen(argv[i])};
    }
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1] = "";
    int rv = mk_evaluate(c, argv[0], argv[1], (uint32_t)(argc - 2), args, &out,
                         reason);
    if (rv == 0) {
        fwrite(out.data, 1, out.len, stdout);
        putchar('\n');
    } else {
        rv = cmd_fail(1, "%s.%s: %s (%s)", argv[0], argv[1], reason,
                      base_errname(rv));
    }
    base_buf_release(&out);
    mk_client_close(c);
    return rv;
}

static int remote_query(const struct app_remote *r, int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *what = argv[1];
    int sub = argc - 2;
    char **sv = argv + 2;
    if (strcmp(what, "eval") == 0) {
        return r_eval(r, sub, sv);
    }
    if (strcmp(what, "bid") == 0) {
        int ac = sub + 1;
        const char *as = app_take_opt(&ac, sv - 1, "--as");
        if ((as == NULL && r->api_key == NULL) || ac != 2) {
            return cmd_fail(2, "usage: query --node URL bid UID (--as "
                               "ORG/NAME --keys DIR | --api-key KEY)");
        }
        struct mk_client *c;
        int orv = app_remote_open(r, as, &c);
        if (orv != 0) {
            return orv;
        }
        int rv = print_bid(c, sv[0]);
        mk_client_close(c);
        return rv;
    }
    static const char *const known[] = {"get", "range", "history", "block",
                                        "tx",  "proof", "tip",     "state"};
    bool ok = false;
    for (size_t i = 0; i < BASE_ARRAY_LEN(known); i++) {
        ok = ok || strcmp(what, known[i]) == 0;
    }
    if (!ok) {
        return cmd_fail(2, "unknown query '%s' (see 'gridledger query --help')",
                        what);
    }
    struct mk_client *c;
    int orv = app_remote_open(r, NULL, &c);
    if (orv != 0) {
        return orv;
    }
    int rv;
    if (strcmp(what, "get") == 0) {
        rv = r_get_key(c, sub, sv);
    } else if (strcmp(what, "range") == 0) {
        rv = r_range(c, sub, sv);
    } else if (strcmp(what, "history") == 0) {
        rv = r_history(c, sub, sv);
    } else if (strcmp(what, "block") == 0) {
        rv = r_block(c, sub, sv);
    } else if (strcmp(what, "tx") == 0) {
        rv = r_tx(c, sub, sv);
    } else if (strcmp(what, "proof") == 0) {
        rv = r_proof(c, sub, sv);
    } else if (strcmp(what, "tip") == 0) {
        rv = r_tip(c);
    } else {
        rv = r_state(c, sub, sv);
    }
    mk_client_close(c);
    return rv;
}

int cmd_query(int argc, char **argv)
{
    const char *channel = app_take_opt(&argc, argv, "--channel");
    struct app_remote rem;
    app_remote_take(&argc, argv, &rem);
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (rem.url != NULL) {
        if (channel != NULL) {
            return cmd_fail(2, "--channel is the node's with --node");
        }
        return remote_query(&rem, argc, argv);
    }
    if (rem.keys || rem.api_key || rem.ca_file || rem.insecure) {
        return cmd_fail(2, "--keys, --api-key, --ca-file and --insecure go "
                           "with --node");
    }
    if (argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    const char *dir = argv[1], *what = argv[2];
    struct app_node n;
    if (app_node_open(&n, dir, channel, true) != 0) {
        return 1;
    }
    int sub = argc - 3;
    char **sv = argv + 3;
    int rv;
    if (strcmp(what, "get") == 0) {
        rv = q_get(&n, sub, sv);
    } else if (strcmp(what, "range") == 0) {
        rv = q_range(&n, sub, sv);
    } else if (strcmp(what, "history") == 0) {
        rv = q_history(&n, sub, sv);
    } else if (strcmp(what, "block") == 0) {
        rv = q_block(&n, sub, sv);
    } else if (strcmp(what, "tx") == 0) {
        rv = q_tx(&n, sub, sv);
    } else if (strcmp(what, "proof") == 0) {
        rv = q_proof(&n, sub, sv);
    } else if (strcmp(what, "tip") == 0) {
        rv = q_tip(&n);
    } else if (strcmp(what, "state") == 0) {
        rv = q_state(&n, sub, sv);
    } else if (strcmp(what, "eval") == 0) {
        rv = q_eval(&n, dir, sub, sv);
    } else if (strcmp(what, "bid") == 0) {
        rv = q_bid(&n, dir, sub, sv);
    } else {
        rv = cmd_fail(2, "unknown query '%s' (see 'gridledger query --help')",
                      what);
    }
    app_node_close(&n);
    return rv;
}
