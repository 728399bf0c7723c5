/* SPDX-License-Identifier: MIT */
/* gridledger verify and check-proof: audit a ledger, check a proof. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger verify DIR [--scratch TMPDIR]\n\n"
    "Check every block of every channel: hash links, Merkle roots, results\n"
    "hashes, orderer and transaction signatures; then re-execute the whole\n"
    "chain from genesis into a scratch ledger (under TMPDIR, default\n"
    "$TMPDIR or /tmp, removed afterwards) and compare state, history,\n"
    "transaction index and events with the stored ones byte for byte.\n"
    "Exit 0 with a one-line summary when all holds; otherwise exit 1 and\n"
    "name the first bad block, transaction or record.\n";

int cmd_verify(int argc, char **argv)
{
    const char *scratch_base = app_take_opt(&argc, argv, "--scratch");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    if (scratch_base == NULL) {
        scratch_base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    }
    char scratch[PATH_MAX];
    snprintf(scratch, sizeof scratch, "%s/gridledger-verify-XXXXXX",
             scratch_base);
    if (mkdtemp(scratch) == NULL) {
        return cmd_fail(1, "cannot create a scratch directory in %s",
                        scratch_base);
    }
    struct sc_registry reg;
    sc_registry_init(&reg);
    if (sc_register_builtin(&reg) != 0) {
        return cmd_fail(1, "cannot register contracts");
    }
    struct lg_executor ex = sc_executor(&reg);
    struct lg_verify_report rep;
    uint64_t t0 = base_mono_ns();
    int rv = lg_verify(argv[1], scratch, &ex, &rep);
    double secs = (double)(base_mono_ns() - t0) / 1e9;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) {
        fprintf(stderr, "gridledger: could not remove %s\n", scratch);
    }
    if (rv != 0) {
        /* Re-execution runs this binary's contracts. A chain that was valid
         * under older contract rules (issue 15: canonical identifiers,
         * registered markets, one DER per physical identity, awards only to
         * bidders) re-executes differently: say so, as the likely cause
         * when nothing else is wrong with the blocks. */
        bool reexec = strstr(rep.error, "re-execution gives a different");
        return cmd_fail(
            1, "verify FAILED: %s%s",
            rep.error[0] ? rep.error : base_strerror(rv),
            reexec ? "\n(the blocks and signatures check; their contracts "
                     "now decide differently. A ledger written before this "
                     "gridledger's contract rules (docs/ledger-format.md "
                     "section 11: canonical identifiers, registered markets, "
                     "one DER per physical identity) re-executes "
                     "differently: verify it with the gridledger that wrote "
                     "it)"
                   : "");
    }
    printf("verify OK: %llu channel(s), %llu blocks, %llu transactions "
           "(%llu valid), %llu state keys, re-executed in %.2f s\n",
           (unsigned long long)rep.channels, (unsigned long long)rep.blocks,
           (unsigned long long)rep.txs, (unsigned long long)rep.valid_txs,
           (unsigned long long)rep.state_keys, secs);
    return 0;
}

static const char proof_usage[] =
    "usage: gridledger check-proof PROOF.json [--orderer HEXKEY | --ledger "
    "DIR]\n\n"
    "Check a Merkle inclusion proof from 'gridledger query DIR proof ID'\n"
    "offline: the transaction hashes to a leaf whose path leads to the\n"
    "Merkle root in the block header, and, given the orderer's public key\n"
    "(hex, or read from a ledger's genesis), the header carries the\n"
    "orderer's signature. Exit 0 when the proof holds.\n";

int cmd_check_proof(int argc, char **argv)
{
    const char *orderer_hex = app_take_opt(&argc, argv, "--orderer");
    const char *ledger = app_take_opt(&argc, argv, "--ledger");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(proof_usage, stdout);
        return 0;
    }
    if (argc != 2) {
        fputs(proof_usage, stderr);
        return 2;
    }
    uint8_t pk[CR_PUBKEY_SIZE];
    bool have_pk = false;
    if (orderer_hex != NULL) {
        if (base_hex_decode(pk, sizeof pk, orderer_hex) != 0) {
            return cmd_fail(2, "--orderer takes 64 hex digits");
        }
        have_pk = true;
    } else if (ledger != NULL) {
        struct app_node n;
        if (app_node_open(&n, ledger, NULL, true) != 0) {
            return 1;
        }
        memcpy(pk, lg_channel_config(n.ch)->orderer_pk, sizeof pk);
        have_pk = true;
        app_node_close(&n);
    }
    char *text;
    size_t len;
    int rv = base_read_file(argv[1], 4u << 20, &text, &len);
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", argv[1], base_strerror(rv));
    }
    struct lg_proof p;
    lg_proof_init(&p);
    rv = lg_proof_from_json(&p, text);
    base_free(text);
    if (rv != 0) {
        lg_proof_release(&p);
        return cmd_fail(1, "%s: not a gridledger proof", argv[1]);
    }
    rv = lg_proof_check(&p, have_pk ? pk : NULL);
    struct lg_header h;
    int hv = lg_header_decode(&h, p.header, LG_HEADER_SIZE);
    lg_proof_release(&p);
    if (rv != 0 || hv != 0) {
        return cmd_fail(1, "proof does NOT hold: %s",
                        rv == BASE_EBADSIG
                            ? "the header is not signed by that orderer"
                            : "the transaction is not under the header's "
                              "Merkle root");
    }
    printf("proof OK: transaction %llu of %u in block %llu%s\n",
           (unsigned long long)p.path.index, h.tx_count,
           (unsigned long long)h.number,
           have_pk ? ", header signed by the orderer"
                   : " (orderer signature not checked)");
    return 0;
}
