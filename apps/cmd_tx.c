/* SPDX-License-Identifier: MIT */
/* gridledger tx: sign a call, order it, wait for its block. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "node.h"
#include "remote.h"

static const char usage[] =
    "usage: gridledger tx DIR --as ORG/NAME [--channel C] CONTRACT FUNCTION "
    "[ARGS...]\n"
    "       gridledger tx --node URL (--keys DIR --as ORG/NAME | --api-key "
    "KEY)\n"
    "                     CONTRACT FUNCTION [ARGS...]\n\n"
    "Sign a call as member ORG/NAME (keys in DIR/keys), order it on the\n"
    "embedded node, wait until its block is durable, and print the\n"
    "transaction id, the block and the result. Exit status 0 only when the\n"
    "transaction committed valid; refused or invalid transactions print\n"
    "the reason on stderr.\n\n"
    "example: gridledger tx ./ledger --as DERA1/operator asset create a1 10\n"
    "\nWith --node the transaction goes to a running node over HTTP, signed\n"
    "here with the member's key from DIR/keys (it never leaves this\n"
    "machine), or by the node for an API key's member; the output is the\n"
    "same.\n" APP_REMOTE_USAGE;

/* The transaction through a node: the remote client signs and submits. */
static int remote_tx(const struct app_remote *r, const char *as, int argc,
                     char **argv)
{
    if (argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    if (argc - 3 > LG_MAX_ARGS) {
        return cmd_fail(2, "at most %d arguments", LG_MAX_ARGS);
    }
    if (as == NULL && r->api_key == NULL) {
        return cmd_fail(2, "--node needs --as ORG/NAME with --keys DIR, or "
                           "--api-key KEY");
    }
    struct mk_client *c;
    int orv = app_remote_open(r, as, &c);
    if (orv != 0) {
        return orv;
    }
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 3; i < argc; i++) {
        args[i - 3] =
            (struct lg_slice){(const uint8_t *)argv[i], strlen(argv[i])};
    }
    char why[256];
    if (sc_call_check(argv[1], argv[2], (uint32_t)(argc - 3), args, why,
                      sizeof why) != 0) {
        mk_client_close(c);
        return cmd_fail(2, "%s.%s: %s (nothing was sent)", argv[1], argv[2],
                        why);
    }
    struct mk_result res;
    int code = mk_submit(c, argv[1], argv[2], (uint32_t)(argc - 3), args, &res);
    char id[65];
    base_hex_encode(id, res.id.b, CR_HASH_SIZE);
    if (res.committed) {
        printf("tx %s\nblock %llu\nresult %s\n", id,
               (unsigned long long)res.block,
               code == 0 ? "VALID" : base_errname(code));
    }
    static const uint8_t none[CR_HASH_SIZE];
    int rv = 0;
    if (code != 0 && memcmp(res.id.b, none, CR_HASH_SIZE) != 0) {
        rv = cmd_fail(1, "transaction %s %s: %s (%s)", id,
                      res.committed ? "is invalid" : "was refused", res.reason,
                      base_errname(code));
    } else if (code != 0) {
        rv = cmd_fail(1, "%s (%s)", res.reason, base_errname(code));
    }
    mk_client_close(c);
    return rv;
}

int cmd_tx(int argc, char **argv)
{
    const char *as = app_take_opt(&argc, argv, "--as");
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
        return remote_tx(&rem, as, argc, argv);
    }
    if (rem.keys || rem.api_key || rem.ca_file || rem.insecure) {
        return cmd_fail(2, "--keys, --api-key, --ca-file and --insecure go "
                           "with --node");
    }
    if (argc < 4 || as == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 1; i < 4; i++) {
        if (argv[i][0] == '-') {
            return cmd_fail(2, "unknown option '%s' (see --help)", argv[i]);
        }
    }
    const char *dir = argv[1];
    if (argc - 4 > LG_MAX_ARGS) {
        return cmd_fail(2, "at most %d arguments", LG_MAX_ARGS);
    }
    struct app_node n;
    if (app_node_open(&n, dir, channel, false) != 0) {
        return 1;
    }
    struct app_member m;
    int rv = app_member_load(&m, dir, as);
    struct lg_slice args[LG_MAX_ARGS];
    for (int i = 4; i < argc; i++) {
        args[i - 4].p = (const uint8_t *)argv[i];
        args[i - 4].len = strlen(argv[i]);
    }
    /* The contracts' own identifier rules, before anything is signed: a
     * clear early error instead of an invalid transaction on the chain. */
    char why[256];
    if (rv == 0 && sc_call_check(argv[2], argv[3], (uint32_t)(argc - 4), args,
                                 why, sizeof why) != 0) {
        rv = cmd_fail(2, "%s.%s: %s (nothing was signed)", argv[2], argv[3],
                      why);
    }
    struct lg_call call = {lg_channel_name(n.ch), argv[2], argv[3],
                           (uint32_t)(argc - 4), args};
    struct base_buf tx;
    base_buf_init(&tx, 0);
    /* A random nonce makes two identical calls two transactions. */
    uint64_t nonce;
    cr_random(&nonce, sizeof nonce);
    if (rv == 0 && lg_tx_build(&tx, &call, &m.cert, &m.key, nonce, NULL)) {
        rv = cmd_fail(2, "cannot encode the call (names are 1..64 printable "
                         "characters)");
    }
    if (rv == 0) {
        rv = app_node_start(&n, dir, NULL);
    }
    if (rv == 0) {
        struct ord_result r;
        int code = ord_submit_wait(n.solo, tx.data, tx.len, &r);
        char id[65];
        base_hex_encode(id, r.id.b, CR_HASH_SIZE);
        if (r.committed) {
            printf("tx %s\nblock %llu\nresult %s\n", id,
                   (unsigned long long)r.block,
                   code == 0 ? "VALID" : base_errname(code));
        }
        if (code != 0) {
            rv = cmd_fail(1, "transaction %s %s: %s (%s)", id,
                          r.committed ? "is invalid" : "was refused", r.reason,
                          base_errname(code));
        }
    }
    base_buf_release(&tx);
    app_node_close(&n);
    return rv;
}
