/* SPDX-License-Identifier: MIT */
/* gridledger verify and check-proof: audit a ledger, check a proof. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger verify DIR [--scratch TMPDIR] [--acked FILE]\n\n"
    "Check every block of every channel: hash links, Merkle roots, results\n"
    "hashes, orderer and transaction signatures; then re-execute the whole\n"
    "chain from genesis into a scratch ledger (under TMPDIR, default\n"
    "$TMPDIR or /tmp, removed afterwards) and compare state, history,\n"
    "transaction index and events with the stored ones byte for byte.\n"
    "Exit 0 with a one-line summary when all holds; otherwise exit 1 and\n"
    "name the first bad block, transaction or record.\n"
    "--acked FILE: also check that every transaction id in FILE (64 hex\n"
    "digits a line, as 'bench --acked' and 'http-bench --acked' write\n"
    "them: what a node acknowledged as committed) is in the ledger;\n"
    "any that is not is named as LOST and the exit status is 1.\n";

/* Every id of @path (one a line) that the channel of @dir lacks is named;
 * the counts go out. A half-written last line (a writer killed in its
 * write) is not an acknowledgement and is skipped, and said so. */
static int check_acked(const char *dir, const char *path, size_t *total,
                       size_t *lost)
{
    *total = *lost = 0;
    char *text;
    size_t len;
    int rv = base_read_file(path, 1u << 30, &text, &len);
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", path, base_strerror(rv));
    }
    struct app_node n;
    if (app_node_open(&n, dir, NULL, true) != 0) {
        base_free(text);
        return 1;
    }
    size_t line = 0;
    for (char *p = text; rv == 0 && *p != '\0'; line++) {
        char *nl = strchr(p, '\n');
        size_t l = nl != NULL ? (size_t)(nl - p) : strlen(p);
        struct cr_hash id;
        char hex[2 * CR_HASH_SIZE + 1];
        snprintf(hex, sizeof hex, "%.*s", (int)(l < 64 ? l : 64), p);
        if (nl == NULL) {
            fprintf(stderr,
                    "gridledger: %s: line %zu is cut short, not "
                    "counted\n",
                    path, line + 1);
            break;
        }
        if (l != 2 * CR_HASH_SIZE || base_hex_decode(id.b, CR_HASH_SIZE, hex)) {
            rv = cmd_fail(1, "%s: line %zu is not a transaction id", path,
                          line + 1);
            break;
        }
        struct lg_tx_info info;
        int f = lg_tx_find(n.ch, &id, &info);
        (*total)++;
        if (f == BASE_ENOTFOUND) {
            (*lost)++;
            fprintf(stderr,
                    "gridledger: LOST: acknowledged transaction %s "
                    "is not in the ledger\n",
                    hex);
        } else if (f != 0) {
            rv = cmd_fail(1, "looking up %s: %s", hex, base_strerror(f));
        }
        p = nl + 1;
    }
    app_node_close(&n);
    base_free(text);
    return rv;
}

int cmd_verify(int argc, char **argv)
{
    const char *scratch_base = app_take_opt(&argc, argv, "--scratch");
    const char *acked = app_take_opt(&argc, argv, "--acked");
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
    if (acked != NULL) {
        size_t total, lost;
        if (check_acked(argv[1], acked, &total, &lost) != 0) {
            return 1;
        }
        if (lost > 0) {
            return cmd_fail(1, "acknowledged: %zu, LOST: %zu", total, lost);
        }
        printf("acknowledged: %zu, all in the ledger\n", total);
    }
    return 0;
}

static const char proof_usage[] =
    "usage: gridledger check-proof PROOF.json (--orderer HEXKEY | --ledger "
    "DIR)\n\n"
    "Check a Merkle inclusion proof from 'gridledger query DIR proof ID'\n"
    "offline: the file's txid is the id of the transaction it carries, the\n"
    "transaction hashes to a leaf whose path leads to the Merkle root in\n"
    "the block header, and the header carries the signature of the\n"
    "orderer whose public key is given (hex, or read from a ledger's\n"
    "genesis). A file with any other field, or a repeated one, is refused.\n"
    "Exit 0 when the proof holds; the transaction it proved is named.\n"
    "A proof shows the transaction is in the block, not whether it was\n"
    "valid: 'gridledger query DIR tx ID' shows its result.\n";

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
    /* Without the orderer's key anyone can write a header whose Merkle root
     * covers any transaction they like: nothing in the file would be
     * checked against anything, so there is no unkeyed mode. */
    if (orderer_hex == NULL && ledger == NULL) {
        return cmd_fail(2, "check-proof needs the orderer's key: --orderer "
                           "HEXKEY or --ledger DIR (without it anyone can "
                           "forge the block header)");
    }
    uint8_t pk[CR_PUBKEY_SIZE];
    char channel[LG_NAME_MAX + 1] = "";
    if (orderer_hex != NULL) {
        if (base_hex_decode(pk, sizeof pk, orderer_hex) != 0) {
            return cmd_fail(2, "--orderer takes 64 hex digits");
        }
    } else {
        struct app_node n;
        if (app_node_open(&n, ledger, NULL, true) != 0) {
            return 1;
        }
        const struct lg_config *cfg = lg_channel_config(n.ch);
        memcpy(pk, cfg->orderer_pk, sizeof pk);
        snprintf(channel, sizeof channel, "%s", cfg->channel);
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
    char why[BASE_ERRMSG_SIZE];
    rv = lg_proof_from_json(&p, text, why);
    base_free(text);
    if (rv != 0) {
        lg_proof_release(&p);
        return rv == BASE_ECORRUPT
                   ? cmd_fail(1, "proof does NOT hold: %s", why)
                   : cmd_fail(1, "%s: not a gridledger proof: %s", argv[1],
                              why);
    }
    rv = lg_proof_check(&p, pk);
    struct lg_header h;
    struct lg_tx tx;
    int hv = lg_header_decode(&h, p.header, LG_HEADER_SIZE);
    if (rv == 0 && hv == 0) {
        /* lg_proof_check decoded it already; tx borrows from p.tx. */
        rv = lg_tx_decode(&tx, p.tx.data, p.tx.len);
    }
    if (rv != 0 || hv != 0) {
        lg_proof_release(&p);
        return cmd_fail(1, "proof does NOT hold: %s",
                        rv == BASE_EBADSIG
                            ? "the header is not signed by that orderer"
                            : "the transaction is not under the header's "
                              "Merkle root");
    }
    if (channel[0] != '\0' && strcmp(channel, tx.channel) != 0) {
        lg_proof_release(&p);
        return cmd_fail(1,
                        "proof does NOT hold for %s: the transaction is on "
                        "channel '%s', the ledger's is '%s'",
                        ledger, tx.channel, channel);
    }
    char id[2 * CR_HASH_SIZE + 1];
    base_hex_encode(id, p.txid.b, CR_HASH_SIZE);
    printf("proof OK: transaction %s (%s.%s by %s/%s on channel %s) is "
           "transaction %llu of %u in block %llu, header signed by the "
           "orderer\n",
           id, tx.contract, tx.function, tx.cert.org, tx.cert.name, tx.channel,
           (unsigned long long)p.path.index, h.tx_count,
           (unsigned long long)h.number);
    lg_proof_release(&p);
    return 0;
}
