/* SPDX-License-Identifier: MIT */
/* Who a read request reads as, and the contracts' read rules applied to
 * what the read routes show (issue 15, finding 4). Every route that shows
 * contract state, history, events, transactions or off-chain records asks
 * here; none decides on its own. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gw_int.h"
#include "market/market.h"

bool gw__reader(struct gw_server *g, struct gw_req *r, struct gw_reader *out)
{
    memset(out, 0, sizeof *out);
    if (!r->have_key) {
        out->anonymous = true;
        return true;
    }
    if (strncmp(r->key.id, "peer:", 5) == 0) {
        /* A cluster node's read signed with the orderer key: it replicates
         * the whole chain anyway. */
        out->full = true;
        return true;
    }
    const char *token = gw__token(r->conn);
    struct gw_key k;
    struct lg_cert cert;
    struct cr_keypair kp;
    const char *why = "";
    int rv = gw__keys_check(&g->keys, token ? token : "", &k, &cert, &kp, &why);
    cr_wipe(&kp, sizeof kp);
    if (rv == BASE_EPERM) {
        gw__error(r, 401, "unauthorized", "API key refused: %s", why);
        return false;
    }
    if (rv != 0) {
        /* The node holds no key of the member (a node that joined a
         * cluster with only the orderer key): the key's identity still
         * names the organisation, and the role stays unknown, so a rule
         * that opens by role stays shut (fail closed). */
        size_t n = strcspn(k.identity, "/");
        snprintf(out->org, sizeof out->org, "%.*s",
                 (int)(n < LG_NAME_MAX ? n : LG_NAME_MAX), k.identity);
        return true;
    }
    snprintf(out->org, sizeof out->org, "%s", cert.org);
    snprintf(out->role, sizeof out->role, "%s", cert.role);
    return true;
}

bool gw__reader_signed(struct gw_server *g, struct gw_req *r, const char *value,
                       const char *bid, struct gw_reader *out)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(value);
    uint8_t env[4096];
    struct lg_tx tx;
    if (n % 2 != 0 || n / 2 > sizeof env ||
        base_hex_decode(env, n / 2, value) != 0 ||
        lg_tx_decode(&tx, env, n / 2) != 0) {
        gw__error(r, 401, "unauthorized",
                  "malformed %s header: the hex of a signed envelope "
                  "(docs/api.md)",
                  MK_READ_HEADER);
        return false;
    }
    char reason[LG_REASON_MAX + 1] = "";
    uint64_t now = base_wall_ns() / 1000000000u;
    int rv = lg_admit(g->ch, &tx, base_wall_ns(), reason);
    if (rv != 0) {
        gw__error(r, 403, "forbidden", "%s header refused: %s", MK_READ_HEADER,
                  reason);
        return false;
    }
    /* It stands for one read of one bid, now: a captured header reads
     * nothing else and soon nothing at all. */
    if (strcmp(tx.contract, "bids") != 0 ||
        strcmp(tx.function, "retrieve") != 0 || tx.nargs != 1 ||
        tx.args[0].len != strlen(bid) ||
        memcmp(tx.args[0].p, bid, tx.args[0].len) != 0 ||
        tx.nonce + MK_READ_WINDOW_S < now ||
        tx.nonce > now + MK_READ_WINDOW_S) {
        gw__error(r, 403, "forbidden",
                  "%s header is not bids.retrieve(%s) signed within %d s of "
                  "now",
                  MK_READ_HEADER, bid, MK_READ_WINDOW_S);
        return false;
    }
    snprintf(out->org, sizeof out->org, "%s", tx.cert.org);
    snprintf(out->role, sizeof out->role, "%s", tx.cert.role);
    return true;
}

struct get_arg {
    struct gw_server *g;
    const char *contract;
};

static int get_key(void *arg, const char *key, size_t klen,
                   struct base_buf *out)
{
    struct get_arg *a = arg;
    struct lg_version ver;
    return lg_get(a->g->ch, a->contract, key, klen, out, &ver);
}

int gw__may_read(struct gw_server *g, const struct gw_reader *rd,
                 const char *contract, enum sc_read_kind kind, const char *key,
                 size_t klen, const void *val, size_t vlen,
                 const char *creator_org, char *why, size_t size)
{
    why[0] = '\0';
    if (rd->full) {
        return 0;
    }
    struct get_arg a = {g, contract};
    /* The rules compare strings: a key with a NUL in it is taken whole,
     * by length, and cut at the NUL for the message only. */
    char k[LG_KEY_MAX + 1];
    snprintf(k, sizeof k, "%.*s", (int)(klen < LG_KEY_MAX ? klen : LG_KEY_MAX),
             key ? key : "");
    struct sc_read what = {kind, k,           strlen(k), val,
                           vlen, creator_org, get_key,   &a};
    struct sc_reader who = {rd->org, rd->role};
    int rv = sc_may_read(&g->contracts, contract, &who, &what, why, size);
    if (rv == BASE_ENOCONTRACT) {
        return 0; /* a contract the node does not run holds nothing */
    }
    if (rv == 0 && strlen(k) != klen && kind == SC_READ_STATE) {
        /* The rule saw a shorter key than the one stored: be safe. */
        snprintf(why, size, "a key holding a NUL byte is not shown");
        return BASE_EPERM;
    }
    return rv;
}

enum MHD_Result gw__read_refused(struct gw_req *r, const struct gw_reader *rd,
                                 const char *why)
{
    if (rd->anonymous) {
        return gw__error(r, 401, "unauthorized",
                         "%s; this read needs an API key (Authorization: "
                         "Bearer KEY) whose member may see it",
                         why);
    }
    return gw__error(r, 403, "forbidden", "%s", why);
}
