/* SPDX-License-Identifier: MIT */
/* gridledger query: read state, history, blocks, transactions, proofs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger query DIR [--channel C] WHAT ...\n\n"
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
    "call\n\n"
    "Output is JSON on stdout. A missing key, block or transaction exits "
    "1.\n";

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        puts(s);
    }
    free(s);
    json_decref(o);
}

static json_t *hex_json(const void *p, size_t n)
{
    char *h = base_malloc(2 * n + 1);
    if (h == NULL) {
        return json_null();
    }
    base_hex_encode(h, p, n);
    json_t *s = json_string(h);
    base_free(h);
    return s;
}

/* Bytes as a JSON string when they are valid UTF-8 text, else as hex. */
static json_t *bytes_json(const void *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    return s != NULL ? s : hex_json(p, n);
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
        print_json(json_pack("{s:s, s:s, s:o, s:I, s:i}", "contract", argv[0],
                             "key", argv[1], "value", bytes_json(v.data, v.len),
                             "block", (json_int_t)ver.block, "tx",
                             (int)ver.tx));
    } else {
        rv = cmd_fail(1, "%s/%s: %s", argv[0], argv[1], base_strerror(rv));
    }
    base_buf_release(&v);
    return rv;
}

static int range_cb(void *arg, struct lg_slice k, struct lg_slice v)
{
    json_array_append_new(arg,
                          json_pack("{s:o, s:o}", "key", bytes_json(k.p, k.len),
                                    "value", bytes_json(v.p, v.len)));
    return 0;
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
    int rv = lg_range(n->ch, argv[0], start, strlen(start), end,
                      end ? strlen(end) : 0, (size_t)limit, range_cb, arr);
    if (rv != 0) {
        json_decref(arr);
        return cmd_fail(1, "range: %s", base_strerror(rv));
    }
    print_json(arr);
    return 0;
}

static int hist_cb(void *arg, const struct lg_history_entry *e)
{
    json_array_append_new(arg, json_pack("{s:I, s:i, s:b, s:o}", "block",
                                         (json_int_t)e->ver.block, "tx",
                                         (int)e->ver.tx, "deleted", e->deleted,
                                         "value",
                                         bytes_json(e->value.p, e->value.len)));
    return 0;
}

static int q_history(struct app_node *n, int argc, char **argv)
{
    if (argc != 2) {
        return cmd_fail(2, "usage: query DIR history CONTRACT KEY");
    }
    json_t *arr = json_array();
    int rv = lg_history(n->ch, argv[0], argv[1], strlen(argv[1]), hist_cb, arr);
    if (rv != 0) {
        json_decref(arr);
        return cmd_fail(1, "%s/%s: %s", argv[0], argv[1], base_strerror(rv));
    }
    print_json(arr);
    return 0;
}

static json_t *tx_json(const struct lg_slice *t, const struct lg_result *r)
{
    struct lg_tx tx;
    json_t *o = json_object();
    if (lg_tx_decode(&tx, t->p, t->len) == 0) {
        json_object_set_new(o, "id", hex_json(tx.id.b, CR_HASH_SIZE));
        json_object_set_new(o, "contract", json_string(tx.contract));
        json_object_set_new(o, "function", json_string(tx.function));
        json_t *args = json_array();
        for (uint32_t i = 0; i < tx.nargs; i++) {
            json_array_append_new(args,
                                  bytes_json(tx.args[i].p, tx.args[i].len));
        }
        json_object_set_new(o, "args", args);
        char who[2 * LG_NAME_MAX + 2];
        snprintf(who, sizeof who, "%s/%s", tx.cert.org, tx.cert.name);
        json_object_set_new(o, "creator", json_string(who));
        json_object_set_new(o, "role", json_string(tx.cert.role));
    } else {
        json_object_set_new(o, "malformed", json_true());
    }
    if (r != NULL) {
        json_object_set_new(o, "code", json_integer(r->code));
        json_object_set_new(
            o, "result",
            json_string(r->code ? base_errname(r->code) : "VALID"));
        json_object_set_new(o, "reason",
                            bytes_json(r->reason.p, r->reason.len));
        if (r->payload.len > 0) {
            json_object_set_new(o, "payload",
                                bytes_json(r->payload.p, r->payload.len));
        }
    }
    return o;
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
    json_t *txs = json_array();
    for (uint32_t i = 0; num > 0 && i < blk.h.tx_count; i++) {
        json_array_append_new(txs, tx_json(&blk.txs[i], &blk.results[i]));
    }
    print_json(json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:i, s:o}",
                         "number", (json_int_t)blk.h.number, "hash",
                         hex_json(blk.hash.b, 32), "prev_hash",
                         hex_json(blk.h.prev_hash.b, 32), "tx_root",
                         hex_json(blk.h.tx_root.b, 32), "results_hash",
                         hex_json(blk.h.results_hash.b, 32), "state_hash",
                         hex_json(blk.h.state_hash.b, 32), "timestamp_ns",
                         (json_int_t)blk.h.timestamp, "tx_count",
                         (int)blk.h.tx_count, "transactions", txs));
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
            o = tx_json(&blk.txs[info.index], &blk.results[info.index]);
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
    print_json(json_pack(
        "{s:s, s:I, s:o, s:o, s:o}", "channel", lg_channel_name(n->ch),
        "height", (json_int_t)height, "tip", hex_json(tip.b, 32), "state_hash",
        hex_json(state.b, 32), "orderer_key", hex_json(cfg->orderer_pk, 32)));
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
                         "hash", hex_json(hash.b, 32), "state_hash",
                         hex_json(h.state_hash.b, 32)));
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

int cmd_query(int argc, char **argv)
{
    const char *channel = app_take_opt(&argc, argv, "--channel");
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
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
    } else {
        rv = cmd_fail(2, "unknown query '%s' (see 'gridledger query --help')",
                      what);
    }
    app_node_close(&n);
    return rv;
}
