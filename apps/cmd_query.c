/* SPDX-License-Identifier: MIT */
/* gridledger query: read state, history, blocks, transactions, proofs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gateway/gateway.h"
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
