/* SPDX-License-Identifier: MIT */
/* The remote client (src/market/client_http.c) against a real `gridledger
 * node` process on a free loopback port: every operation, asynchronous
 * submissions in flight together, API keys, TLS with a self-signed
 * certificate, and each documented error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "gwtest.h"
#include "market/market.h"

static struct mk_client *open_as(const struct gt_node *n, const char *who)
{
    struct lg_cert cert;
    struct cr_keypair key;
    gt_member(n, who, &cert, &key);
    struct mk_client *c = NULL;
    char err[BASE_ERRMSG_SIZE] = "";
    int rv = mk_client_http(&c, n->url, &cert, &key, NULL, err);
    if (rv != 0) {
        fail_msg("mk_client_http: %s", err);
    }
    assert_string_equal(c->identity, who);
    return c;
}

static struct lg_slice S(const char *s) {
    return (struct lg_slice){(const uint8_t *)s, strlen(s)};
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, valid, invalid;
    uint64_t blocks[64];
};

static void on_done(void *arg, const struct mk_result *r)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    if (r->code == 0 && r->committed) {
        w->blocks[w->valid++ % 64] = r->block;
    } else {
        w->invalid++;
    }
    w->done++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Every operation of the interface, as the local client answers it. */
static void test_operations(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "remote-ops");
    gt_start(&n, "");
    struct mk_client *c = open_as(&n, "DERA1/operator");

    /* submit: committed valid, then the same asset again: committed
     * invalid, with the contract's reason. */
    struct mk_result r;
    struct lg_slice args[2] = {S("r1"), S("7")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), 0);
    assert_true(r.committed);
    assert_int_equal(r.code, 0);
    assert_true(r.block >= 1);
    uint8_t zero[CR_HASH_SIZE] = {0};
    assert_memory_not_equal(r.id.b, zero, CR_HASH_SIZE);
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), BASE_EEXIST);
    assert_true(r.committed);
    assert_int_equal(r.code, BASE_EEXIST);
    assert_true(strlen(r.reason) > 0);

    /* evaluate: the value as the contract returns it; a missing key is
     * ENOTFOUND with the contract's reason. */
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1] = "";
    assert_int_equal(mk_evaluate(c, "asset", "read", 1, args, &out, reason), 0);
    assert_int_equal(base_buf_terminate(&out), 0);
    assert_non_null(strstr((char *)out.data, "\"r1\""));
    base_buf_reset(&out);
    struct lg_slice missing = S("nope");
    assert_int_equal(mk_evaluate(c, "asset", "read", 1, &missing, &out, reason),
                     BASE_ENOTFOUND);
    assert_true(strlen(reason) > 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(
        mk_evaluate(c, "nosuch", "read", 1, &missing, &out, reason),
        BASE_ENOCONTRACT);

    /* The off-chain store: put answers the record's SHA-256, get the bytes
     * as stored; a missing record is ENOTFOUND. */
    const char rec[] = "{\"uid\":\"x\",\"kw\":1.5}";
    struct cr_hash h, want;
    assert_int_equal(mk_offchain_put(c, rec, sizeof rec - 1, &h), 0);
    cr_sha256(&want, rec, sizeof rec - 1);
    assert_memory_equal(h.b, want.b, CR_HASH_SIZE);
    /* A record is read through the bid that names it (issue 15, finding
     * 4): one that no bid names is for the DSO and the ISO only. */
    base_buf_reset(&out);
    assert_int_equal(mk_offchain_get(c, NULL, &h, &out), BASE_EPERM);
    assert_non_null(strstr(c->errmsg, "HTTP 401"));
    assert_int_equal(out.len, 0);
    assert_int_equal(mk_offchain_get(c, "nosuch", &h, &out), BASE_ENOTFOUND);
    /* A bid whose record would be over the store's 256 KiB: refused by
     * the client before anything is sent (issue 15, finding 9). */
    struct mk_bid big;
    mk_bid_init(&big);
    snprintf(big.uid, sizeof big.uid, "huge");
    snprintf(big.dera, sizeof big.dera, "DERA1");
    snprintf(big.market, sizeof big.market, "rt");
    for (int i = 0; i < 4000; i++) {
        struct mk_entry e = {"", 1, 30, 60};
        snprintf(e.der, sizeof e.der, "pv-%060d", i);
        assert_int_equal(mk_bid_add(&big, &e), 0);
    }
    uint64_t before = gt_height(&n);
    assert_int_equal(mk_bid_create(c, &big, &r), BASE_ETOOBIG);
    assert_non_null(strstr(r.reason, "over the limit of 262144"));
    assert_false(r.committed);
    assert_int_equal(gt_height(&n), before);
    mk_bid_release(&big);

    /* submit_async: 40 submissions in flight at once; every callback comes,
     * and they share blocks (the node commits them in groups). */
    struct waiter w = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}};
    for (int i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "as%d", i);
        struct lg_slice a[2] = {S(id), S("1")};
        assert_int_equal(
            mk_submit_async(c, "asset", "create", 2, a, on_done, &w), 0);
    }
    /* One that will be invalid: the callback carries its code too. */
    assert_int_equal(
        mk_submit_async(c, "asset", "create", 2, args, on_done, &w), 0);
    pthread_mutex_lock(&w.mu);
    while (w.done < 41) {
        pthread_cond_wait(&w.cv, &w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    assert_int_equal(w.valid, 40);
    assert_int_equal(w.invalid, 1);
    uint64_t height = gt_height(&n);
    assert_true(height < 1 + 2 + 41); /* genesis, two creates, <41 blocks */
    for (int i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "as%d", i);
        struct lg_slice a = S(id);
        base_buf_reset(&out);
        assert_int_equal(mk_evaluate(c, "asset", "read", 1, &a, &out, reason),
                         0);
    }
    /* Closing with submissions in flight still calls every callback. */
    struct waiter w2 = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}};
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "cl%d", i);
        struct lg_slice a[2] = {S(id), S("1")};
        assert_int_equal(
            mk_submit_async(c, "asset", "create", 2, a, on_done, &w2), 0);
    }
    mk_client_close(c);
    assert_int_equal(w2.done, 10);
    assert_int_equal(w2.valid, 10);

    /* mk_http_request: the node's other routes through the same
     * connections. */
    c = open_as(&n, "ISO/operator");
    long status = 0;
    base_buf_reset(&out);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(mk_http_request(c, "GET", "/v1/state/asset/r1", NULL, NULL,
                                     0, &status, &out, err),
                     0);
    assert_int_equal(status, 200);
    assert_int_equal(base_buf_terminate(&out), 0);
    assert_non_null(strstr((char *)out.data, "\"key\":\"r1\""));
    base_buf_reset(&out);
    assert_int_equal(mk_http_request(c, "GET", "/v1/blocks/999999", NULL, NULL,
                                     0, &status, &out, err),
                     0);
    assert_int_equal(status, 404);
    assert_int_equal(mk_http_code(status, out.data, out.len), BASE_ENOTFOUND);
    mk_client_close(c);
    base_buf_release(&out);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* The errors: a node that is not there, bad URLs, a refused transaction
 * with its reason, a client without an identity, the status mapping. */
static void test_errors(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "remote-err");
    struct lg_cert cert;
    struct cr_keypair key;
    gt_member(&n, "DERA1/operator", &cert, &key);
    struct mk_client *c = NULL;
    char err[BASE_ERRMSG_SIZE] = "", url[64], want[128];

    /* Nothing listens on a free port. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", tl_free_port());
    assert_int_equal(mk_client_http(&c, url, &cert, &key, NULL, err), BASE_EIO);
    snprintf(want, sizeof want, "cannot reach %s: Connection refused", url);
    assert_string_equal(err, want);
    assert_null(c);

    assert_int_equal(
        mk_client_http(&c, "ftp://127.0.0.1:1", &cert, &key, NULL, err),
        BASE_EINVAL);
    assert_non_null(strstr(err, "must start with http:// or https://"));
    assert_int_equal(mk_client_http(&c, "http://", &cert, &key, NULL, err),
                     BASE_EINVAL);
    assert_int_equal(
        mk_client_http(&c, "http://h st:1", &cert, &key, NULL, err),
        BASE_EINVAL);
    assert_int_equal(mk_client_http(&c, url, &cert, NULL, NULL, err),
                     BASE_EINVAL);

    gt_start(&n, "--max-body 4096");
    /* A member the genesis does not know: refused before ordering (403),
     * with the node's reason. */
    struct cr_keypair stranger_root;
    cr_keygen(&stranger_root);
    struct lg_cert stranger = cert;
    snprintf(stranger.name, sizeof stranger.name, "mallory");
    assert_int_equal(lg_cert_sign(&stranger, &stranger_root), 0);
    assert_int_equal(mk_client_http(&c, n.url, &stranger, &key, NULL, err), 0);
    struct mk_result r;
    struct lg_slice args[2] = {S("m1"), S("1")};
    int rv = mk_submit(c, "asset", "create", 2, args, &r);
    assert_true(rv == BASE_EBADSIG || rv == BASE_EUNKNOWNCERT);
    assert_false(r.committed);
    assert_int_equal(r.code, rv);
    assert_true(strlen(r.reason) > 0);
    /* An unknown function: refused with 404 and ENOFUNC. */
    mk_client_close(c);
    c = NULL;
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, NULL, err), 0);
    assert_int_equal(mk_submit(c, "asset", "fly", 2, args, &r), BASE_ENOFUNC);
    assert_false(r.committed);
    /* A record over the node's --max-body: 413, ETOOBIG, and the reason. */
    static char big[8192];
    memset(big, 'x', sizeof big);
    struct cr_hash h;
    assert_int_equal(mk_offchain_put(c, big, sizeof big, &h), BASE_ETOOBIG);
    assert_non_null(strstr(c->errmsg, "HTTP 413 too_big"));
    /* The same through the bid store names the node's answer. */
    struct mk_bid b;
    mk_bid_init(&b);
    snprintf(b.uid, sizeof b.uid, "u1");
    snprintf(b.dera, sizeof b.dera, "DERA1");
    snprintf(b.market, sizeof b.market, "rt");
    struct mk_entry e = {"der1", 1, 2, 3};
    for (int i = 0; i < 80; i++) {
        assert_int_equal(mk_bid_add(&b, &e), 0);
    }
    assert_int_equal(mk_bid_create(c, &b, &r), BASE_ETOOBIG);
    assert_non_null(
        strstr(r.reason, "off-chain store: off-chain put: HTTP 413"));
    mk_bid_release(&b);
    mk_client_close(c);

    /* No identity: reads work, calls are refused here, not at the node. */
    assert_int_equal(mk_client_http(&c, n.url, NULL, NULL, NULL, err), 0);
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), BASE_EPERM);
    assert_non_null(strstr(r.reason, "no identity"));
    struct base_buf out;
    base_buf_init(&out, 0);
    long status;
    assert_int_equal(
        mk_http_request(c, "GET", "/v1/tip", NULL, NULL, 0, &status, &out, err),
        0);
    assert_int_equal(status, 200);
    mk_client_close(c);

    /* Not a remote client. */
    assert_int_equal(
        mk_http_request(NULL, "GET", "/", NULL, NULL, 0, &status, &out, err),
        BASE_EINVAL);
    base_buf_release(&out);

    /* The status mapping, for answers without a ledger code. */
    const char *unauth = "{\"error\":\"unauthorized\",\"reason\":\"x\"}";
    assert_int_equal(mk_http_code(401, unauth, strlen(unauth)), BASE_EPERM);
    assert_int_equal(mk_http_code(403, NULL, 0), BASE_EPERM);
    assert_int_equal(mk_http_code(404, NULL, 0), BASE_ENOTFOUND);
    assert_int_equal(mk_http_code(409, NULL, 0), BASE_EEXIST);
    assert_int_equal(mk_http_code(413, NULL, 0), BASE_ETOOBIG);
    assert_int_equal(mk_http_code(415, NULL, 0), BASE_EINVAL);
    assert_int_equal(mk_http_code(503, NULL, 0), BASE_EBUSY);
    assert_int_equal(mk_http_code(502, "<html>", 6), BASE_EIO);
    const char *named = "{\"error\":\"EREPLAY\",\"reason\":\"x\"}";
    assert_int_equal(mk_http_code(409, named, strlen(named)), BASE_EREPLAY);
    const char *coded = "{\"error\":\"refused\",\"code\":-12}";
    assert_int_equal(mk_http_code(403, coded, strlen(coded)),
                     BASE_EUNKNOWNCERT);
    const char *bad = "{\"error\":\"malformed_transaction\"}";
    assert_int_equal(mk_http_code(400, bad, strlen(bad)), BASE_EPARSE);

    /* The node goes away under an open client: calls fail with the
     * reason, and asynchronous callbacks still come. */
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, NULL, err), 0);
    assert_int_equal(gt_stop(&n), 0);
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), BASE_EIO);
    assert_non_null(strstr(r.reason, "cannot reach"));
    struct waiter w = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}};
    assert_int_equal(
        mk_submit_async(c, "asset", "create", 2, args, on_done, &w), 0);
    mk_client_close(c);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.invalid, 1);
    gt_cleanup(&n);
}

/* An API key: the node signs for the key's member (POST /v1/invoke); a
 * read-only key may evaluate but not submit; a wrong key is refused when
 * the client opens. */
static void test_api_key(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "remote-key");
    char tok[GW_KEY_TOKEN_LEN + 1], ro[GW_KEY_TOKEN_LEN + 1];
    gt_apikey(&n, tok, "--name bot --identity DERA1/operator");
    gt_apikey(&n, ro, "--name ro --identity DERA1/operator --read-only");
    gt_start(&n, "--require-key");
    struct mk_http_options o = {.api_key = tok};
    struct mk_client *c = NULL;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(mk_client_http(&c, n.url, NULL, NULL, &o, err), 0);
    assert_string_equal(c->identity, "DERA1/operator");
    struct mk_result r;
    /* A binary argument goes as args_hex. */
    struct lg_slice args[2] = {S("k1"), S("5")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), 0);
    assert_true(r.committed);
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    assert_int_equal(mk_evaluate(c, "asset", "read", 1, args, &out, reason), 0);
    assert_int_equal(base_buf_terminate(&out), 0);
    assert_non_null(strstr((char *)out.data, "DERA1/operator"));
    struct cr_hash h;
    assert_int_equal(mk_offchain_put(c, "abc", 3, &h), 0);
    struct waiter w = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}};
    struct lg_slice a2[2] = {S("k2"), S("1")};
    assert_int_equal(mk_submit_async(c, "asset", "create", 2, a2, on_done, &w),
                     0);
    mk_client_close(c);
    assert_int_equal(w.valid, 1);

    /* A member key and an API key together: the client signs, and the key
     * opens the node's --require-key routes. */
    struct lg_cert cert;
    struct cr_keypair key;
    gt_member(&n, "DERA2/operator", &cert, &key);
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, &o, err), 0);
    struct lg_slice a3[2] = {S("k3"), S("1")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, a3, &r), 0);
    base_buf_reset(&out);
    assert_int_equal(mk_offchain_get(c, NULL, &h, &out), BASE_EPERM);
    mk_client_close(c);
    /* Without the key, --require-key refuses even the tip. */
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, NULL, err),
                     BASE_EPERM);
    assert_non_null(strstr(err, "HTTP 401 unauthorized"));

    /* Read-only: evaluate yes, submit and put no (403). */
    o.api_key = ro;
    assert_int_equal(mk_client_http(&c, n.url, NULL, NULL, &o, err), 0);
    base_buf_reset(&out);
    assert_int_equal(mk_evaluate(c, "asset", "read", 1, args, &out, reason), 0);
    struct lg_slice a4[2] = {S("k4"), S("1")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, a4, &r), BASE_EPERM);
    assert_false(r.committed);
    assert_non_null(strstr(r.reason, "HTTP 403 forbidden"));
    assert_int_equal(mk_offchain_put(c, "abc", 3, &h), BASE_EPERM);
    mk_client_close(c);

    /* A key the node does not know, and a malformed one. */
    char wrong[GW_KEY_TOKEN_LEN + 1];
    memcpy(wrong, tok, sizeof wrong);
    wrong[GW_KEY_TOKEN_LEN - 1] =
        wrong[GW_KEY_TOKEN_LEN - 1] == '0' ? '1' : '0';
    o.api_key = wrong;
    assert_int_equal(mk_client_http(&c, n.url, NULL, NULL, &o, err),
                     BASE_EPERM);
    assert_non_null(strstr(err, "unauthorized"));
    o.api_key = "glk_bad\r\nX: y";
    assert_int_equal(mk_client_http(&c, n.url, NULL, NULL, &o, err),
                     BASE_EINVAL);
    base_buf_release(&out);
    /* Signed envelopes need no key: the benchmark's transactions go
     * through a --require-key node (its tip does not: the channel is
     * assumed). */
    char cmd[8192];
    assert_int_equal(tl_run(cmd, sizeof cmd,
                            "%s bench --node %s --keys %s --workload create "
                            "--tx 50 --connections 4 2>&1",
                            tl_binary(), n.url, n.ledger),
                     0);
    assert_non_null(strstr(cmd, "| create | 50     | 0    |"));
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* HTTPS with a self-signed certificate: trusted through its CA file, or
 * with verification off; refused otherwise, with a reason that says TLS. */
static void test_tls(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "remote-tls");
    char ca[PATH_MAX + 16];
    snprintf(ca, sizeof ca, "%s/cert.pem", n.dir);
    gt_start_tls(&n);
    struct lg_cert cert;
    struct cr_keypair key;
    gt_member(&n, "DERA1/operator", &cert, &key);
    struct mk_client *c = NULL;
    char err[BASE_ERRMSG_SIZE];
    struct mk_http_options o = {.ca_file = ca};
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, &o, err), 0);
    struct mk_result r;
    struct lg_slice args[2] = {S("t1"), S("1")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, args, &r), 0);
    mk_client_close(c);
    /* The system's CAs do not know the certificate. */
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, NULL, err),
                     BASE_EIO);
    assert_non_null(strstr(err, "TLS with https://127.0.0.1"));
    struct mk_http_options ins = {.insecure = true};
    assert_int_equal(mk_client_http(&c, n.url, &cert, &key, &ins, err), 0);
    struct lg_slice a2[2] = {S("t2"), S("1")};
    assert_int_equal(mk_submit(c, "asset", "create", 2, a2, &r), 0);
    mk_client_close(c);
    /* The commands over HTTPS: --ca-file, or refused with the reason. */
    char cmd_out[8192];
    assert_int_equal(tl_run(cmd_out, sizeof cmd_out,
                            "%s tx --node %s --ca-file %s --keys %s --as "
                            "DERA1/operator asset create t3 1 2>&1",
                            tl_binary(), n.url, ca, n.ledger),
                     0);
    assert_non_null(strstr(cmd_out, "result VALID"));
    assert_int_equal(tl_run(cmd_out, sizeof cmd_out,
                            "%s query --node %s --insecure get asset t3 2>&1",
                            tl_binary(), n.url),
                     0);
    assert_non_null(strstr(cmd_out, "\"key\": \"t3\""));
    assert_int_equal(tl_run(cmd_out, sizeof cmd_out,
                            "%s query --node %s get asset t3 2>&1", tl_binary(),
                            n.url),
                     1);
    assert_non_null(strstr(cmd_out, "TLS with https://"));
    /* Plain HTTP to the HTTPS port gets no HTTP answer. */
    char plain[256];
    snprintf(plain, sizeof plain, "http://%s", n.url + 8);
    assert_int_equal(mk_client_http(&c, plain, &cert, &key, NULL, err),
                     BASE_EIO);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* ---- the commands' --node mode ------------------------------------------ */

/* A node serving a ledger made by `gridledger init DIR --scenario S`. */
static void scenario_node(struct gt_node *n, const char *tag,
                          const char *scenario, const char *extra)
{
    memset(n, 0, sizeof *n);
    tl_tmpdir(n->dir, tag);
    snprintf(n->ledger, sizeof n->ledger, "%s/L", n->dir);
    snprintf(n->log, sizeof n->log, "%s/node.log", n->dir);
    char sc[PATH_MAX], out[4096];
    tl_source_path(sc, scenario);
    assert_int_equal(tl_run(out, sizeof out, "%s init %s --scenario %s 2>&1",
                            tl_binary(), n->ledger, sc),
                     0);
    assert_non_null(strstr(out, "serve it with: gridledger node"));
    gt_start(n, extra);
}

static void same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t xl, yl;
    assert_int_equal(base_read_file(a, 64u << 20, &x, &xl), 0);
    assert_int_equal(base_read_file(b, 64u << 20, &y, &yl), 0);
    if (xl != yl || memcmp(x, y, xl) != 0) {
        fail_msg("%s and %s differ", a, b);
    }
    assert_true(xl > 100);
    base_free(x);
    base_free(y);
}

/* The market day over HTTP writes the same CSVs, byte for byte, as the
 * same scenario on an embedded ledger; a second run on the same node is
 * refused before it starts; the node's chain verifies. */
static void test_run_market(void **state)
{
    (void)state;
    struct gt_node n;
    scenario_node(&n, "remote-run", "scenarios/ieee13-der-market.json", "");
    char sc[PATH_MAX], out[16384];
    tl_source_path(sc, "scenarios/ieee13-der-market.json");
    assert_int_equal(tl_run(out, sizeof out,
                            "%s run %s --out %s/local --quiet 2>&1",
                            tl_binary(), sc, n.dir),
                     0);
    int st = tl_run(out, sizeof out,
                    "%s run %s --node %s --keys %s --out %s/remote 2>&1",
                    tl_binary(), sc, n.url, n.ledger, n.dir);
    if (st != 0) {
        fail_msg("remote run failed (%d): %s", st, out);
    }
    assert_non_null(strstr(out, "the ledger is the node's"));
    assert_non_null(strstr(out, "(0 invalid, 0 refused)"));
    static const char *const csv[] = {"bids.csv", "clearing.csv",
                                      "curtailment.csv", "voltages.csv"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(csv); i++) {
        char a[PATH_MAX + 64], b[PATH_MAX + 64];
        snprintf(a, sizeof a, "%s/local/%s", n.dir, csv[i]);
        snprintf(b, sizeof b, "%s/remote/%s", n.dir, csv[i]);
        same_file(a, b);
    }
    /* No ledger of its own; the report and results are there. */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/remote/ledger", n.dir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/remote/report.html", n.dir);
    assert_int_equal(access(path, F_OK), 0);
    /* The bids are on the node's chain, retrievable there by a reader
     * of the bid (its DERA's key), not without a key (issue 15, finding
     * 4). */
    char key[GW_KEY_TOKEN_LEN + 1];
    gt_apikey(&n, key, "--name d1 --identity DERA1/operator");
    assert_int_equal(
        tl_run(out, sizeof out,
               "%s query --node %s --api-key %s get bids bid/dera1-rt-40",
               tl_binary(), n.url, key),
        0);
    assert_non_null(strstr(out, "\"checksum\\\""));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s get bids bid/dera1-rt-40 2>&1",
                            tl_binary(), n.url),
                     1);
    assert_non_null(strstr(out, "permission denied"));
    /* `query bid`: retrieval with mk_bid_check, through the node (as the
     * key's member) and on the embedded run's own ledger (as the DSO). */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s --api-key %s bid dera1-rt-40",
                            tl_binary(), n.url, key),
                     0);
    assert_non_null(strstr(out, "\"intact\": true"));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query %s/local/ledger bid dera1-rt-40 --as "
                            "DSO/operator",
                            tl_binary(), n.dir),
                     0);
    assert_non_null(strstr(out, "\"intact\": true"));
    assert_non_null(strstr(out, "\"entries\""));
    /* Again on the same node: its DERs are registered already. */
    st = tl_run(out, sizeof out,
                "%s run %s --node %s --keys %s --out %s/again --quiet 2>&1",
                tl_binary(), sc, n.url, n.ledger, n.dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "already holds DER"));
    /* Into the first run's directory without --force. */
    st = tl_run(out, sizeof out,
                "%s run %s --node %s --keys %s --out %s/remote --quiet 2>&1",
                tl_binary(), sc, n.url, n.ledger, n.dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "already holds a run; pass --force"));
    /* The usage errors. */
    assert_int_equal(tl_run(out, sizeof out, "%s run %s --node %s 2>&1",
                            tl_binary(), sc, n.url),
                     2);
    assert_non_null(strstr(out, "--node needs --keys DIR"));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s run %s --node %s --keys %s --offchain x "
                            "--out %s/o 2>&1",
                            tl_binary(), sc, n.url, n.ledger, n.dir),
                     2);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s run %s --keys %s --out %s/o 2>&1", tl_binary(),
                            sc, n.ledger, n.dir),
                     2);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s run %s --node %s --keys %s/nothing --out "
                            "%s/o 2>&1",
                            tl_binary(), sc, n.url, n.dir, n.dir),
                     1);
    assert_non_null(strstr(out, "has no keys/ directory"));
    assert_int_equal(gt_stop(&n), 0);
    assert_int_equal(
        tl_run(out, sizeof out, "%s verify %s 2>&1", tl_binary(), n.ledger), 0);
    /* The node is gone: the run says it cannot reach it. */
    st = tl_run(out, sizeof out,
                "%s run %s --node %s --keys %s --out %s/gone 2>&1", tl_binary(),
                sc, n.url, n.ledger, n.dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "cannot reach http://127.0.0.1:"));
    assert_non_null(strstr(out, "Connection refused"));
    gt_cleanup(&n);
}

/* PETra over HTTP: withdrawals to fresh addresses, trades and deposits on
 * a node in another process; a node on another channel is refused. */
static void test_run_petra(void **state)
{
    (void)state;
    struct gt_node n;
    scenario_node(&n, "remote-petra", "scenarios/petra-microgrid.json",
                  "--channel microgrid");
    char sc[PATH_MAX], out[16384];
    tl_source_path(sc, "scenarios/petra-microgrid.json");
    int st = tl_run(out, sizeof out,
                    "%s run %s --node %s --keys %s --out %s/remote 2>&1",
                    tl_binary(), sc, n.url, n.ledger, n.dir);
    if (st != 0) {
        fail_msg("remote PETra run failed (%d): %s", st, out);
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/remote/trades.csv", n.dir);
    char *text;
    size_t len;
    assert_int_equal(base_read_file(path, 1u << 20, &text, &len), 0);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += text[i] == '\n';
    }
    base_free(text);
    assert_true(lines > 10); /* a header and the trades */
    assert_int_equal(gt_stop(&n), 0);
    assert_int_equal(
        tl_run(out, sizeof out, "%s verify %s 2>&1", tl_binary(), n.ledger), 0);
    /* The market day's scenario against PETra's node: wrong channel. */
    gt_start(&n, "--channel microgrid");
    tl_source_path(sc, "scenarios/ieee13-der-market.json");
    st =
        tl_run(out, sizeof out, "%s run %s --node %s --keys %s --out %s/x 2>&1",
               tl_binary(), sc, n.url, n.ledger, n.dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "the node serves channel 'microgrid'"));
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* Runs `gridledger query` on the ledger directory and through the node
 * and insists on the same output and exit status. */
static void same_query(const struct gt_node *n, const char *q)
{
    char a[16384], b[16384];
    int sa =
        tl_run(a, sizeof a, "%s query %s %s 2>&1", tl_binary(), n->ledger, q);
    int sb = tl_run(b, sizeof b, "%s query --node %s --keys %s %s 2>&1",
                    tl_binary(), n->url, n->ledger, q);
    if (sa != sb || strcmp(a, b) != 0) {
        fail_msg("query %s: local (%d)\n%s\nremote (%d)\n%s", q, sa, a, sb, b);
    }
}

/* tx, query and bench through a node. */
static void test_commands(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "remote-cmd");
    char tok[GW_KEY_TOKEN_LEN + 1];
    gt_apikey(&n, tok, "--name cli --identity DERA2/operator");
    gt_start(&n, "");
    char out[16384], id[65];
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node %s --keys %s --as DERA1/operator "
                            "asset create a.1:x 10 2>&1",
                            tl_binary(), n.url, n.ledger),
                     0);
    assert_int_equal(strncmp(out, "tx ", 3), 0);
    assert_non_null(strstr(out, "result VALID"));
    memcpy(id, out + 3, 64);
    id[64] = '\0';
    /* Invalid: the output of the local command, exit 1. */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node %s --keys %s --as DERA1/operator "
                            "asset create a.1:x 10 2>&1",
                            tl_binary(), n.url, n.ledger),
                     1);
    assert_non_null(strstr(out, "result EEXIST"));
    assert_non_null(strstr(out, "is invalid: asset 'a.1:x' already exists"));
    /* Through the API key: the node signs as DERA2/operator. */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node %s --api-key %s asset create a2 3 "
                            "2>&1",
                            tl_binary(), n.url, tok),
                     0);
    /* The errors: no identity, a node that is not there, a bad URL. */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node %s asset create a3 3 2>&1",
                            tl_binary(), n.url),
                     2);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node http://127.0.0.1:%d --keys %s --as "
                            "DERA1/operator asset create a3 3 2>&1",
                            tl_binary(), tl_free_port(), n.ledger),
                     1);
    assert_non_null(strstr(out, "Connection refused"));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx --node nohttp --keys %s --as "
                            "DERA1/operator asset create a3 3 2>&1",
                            tl_binary(), n.ledger),
                     2);
    assert_non_null(strstr(out, "bad URL"));
    assert_int_equal(tl_run(out, sizeof out,
                            "%s tx %s --keys %s --as DERA1/operator asset "
                            "create a3 3 2>&1",
                            tl_binary(), n.ledger, n.ledger),
                     2);

    /* Every query prints what the local command prints. */
    char q[256];
    /* Asset ids are canonical identifiers (issue 15); a key with '/' and
     * a space is still looked up, encoded, and answered alike. */
    const char *qs[] = {"get asset a.1:x",
                        "get asset 'a/1 x'",
                        "get asset nope",
                        "range asset",
                        "range asset a --limit 1",
                        "range asset a/ b",
                        "history asset a.1:x",
                        "history asset 'a/1 x'",
                        "block 1",
                        "block 999",
                        "block xyz",
                        "tip",
                        "state",
                        "state 1",
                        "eval --as DERA1/operator asset read a2",
                        "eval --as DERA1/operator asset read nope",
                        "tx 00",
                        "frobnicate"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(qs); i++) {
        same_query(&n, qs[i]);
    }
    snprintf(q, sizeof q, "tx %s", id);
    same_query(&n, q);
    snprintf(q, sizeof q, "proof %s", id);
    same_query(&n, q);
    /* The proof from the node checks offline against the ledger. */
    char proof[PATH_MAX + 16];
    snprintf(proof, sizeof proof, "%s/p.json", n.dir);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s proof %s > %s && %s "
                            "check-proof %s --ledger %s 2>&1",
                            tl_binary(), n.url, id, proof, tl_binary(), proof,
                            n.ledger),
                     0);
    /* eval with the API key. */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s query --node %s --api-key %s eval asset read "
                            "a2 2>&1",
                            tl_binary(), n.url, tok),
                     0);
    assert_non_null(strstr(out, "DERA2/operator"));

    /* bench --node: Caliper's table over HTTP, every workload. */
    const char *ws[] = {"create", "read", "update"};
    for (size_t i = 0; i < 3; i++) {
        char json[PATH_MAX + 16], trace[PATH_MAX + 16];
        snprintf(json, sizeof json, "%s/%s.json", n.dir, ws[i]);
        snprintf(trace, sizeof trace, "%s/%s.csv", n.dir, ws[i]);
        int st = tl_run(out, sizeof out,
                        "%s bench --node %s --keys %s --workload %s --tx 300 "
                        "--connections 8 --json %s --trace %s 2>&1",
                        tl_binary(), n.url, n.ledger, ws[i], json, trace);
        if (st != 0) {
            fail_msg("bench --node %s: %s", ws[i], out);
        }
        assert_non_null(strstr(out, "| Name   | Succ   | Fail |"));
        char row[64];
        snprintf(row, sizeof row, "| %-6s | 300    | 0    |", ws[i]);
        assert_non_null(strstr(out, row));
        char *text;
        size_t len;
        assert_int_equal(base_read_file(json, 4096, &text, &len), 0);
        assert_non_null(strstr(text, "\"succ\": 300"));
        base_free(text);
        /* The trace: a header and a line a request, each with code 0. */
        assert_int_equal(base_read_file(trace, 0, &text, &len), 0);
        size_t lines = 0, ok = 0;
        for (char *p = text; (p = strchr(p, '\n')) != NULL; p++) {
            lines++;
            ok += strncmp(p - 2, ",0", 2) == 0;
        }
        assert_int_equal(lines, 301);
        assert_int_equal(ok, 300);
        base_free(text);
    }
    /* More keys than one page of the node's range (10,000): range pages
     * through and prints what the local command prints. */
    assert_int_equal(tl_run(out, sizeof out,
                            "%s bench --node %s --keys %s --workload create "
                            "--tx 10100 --batch 500 --connections 4 2>&1",
                            tl_binary(), n.url, n.ledger),
                     0);
    const char *big[] = {"range asset", "range asset hb --limit 10050",
                         "range asset a --limit 2"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(big); i++) {
        assert_int_equal(tl_run(out, sizeof out,
                                "%s query %s %s > %s/a.json && %s query "
                                "--node %s %s > %s/b.json && cmp %s/a.json "
                                "%s/b.json && grep -c '\"key\"' %s/b.json",
                                tl_binary(), n.ledger, big[i], n.dir,
                                tl_binary(), n.url, big[i], n.dir, n.dir, n.dir,
                                n.dir),
                         0);
        long keys = strtol(out, NULL, 10);
        assert_true(i == 0 ? keys > 10400 : keys == (i == 1 ? 10050 : 2));
    }
    assert_int_equal(tl_run(out, sizeof out,
                            "%s bench --node %s --workload create --tx 3 2>&1",
                            tl_binary(), n.url),
                     2);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s bench --node https://127.0.0.1:1 --keys %s "
                            "--workload create --tx 3 2>&1",
                            tl_binary(), n.ledger),
                     2);
    assert_int_equal(gt_stop(&n), 0);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s bench --node %s --keys %s --workload create "
                            "--tx 3 2>&1",
                            tl_binary(), n.url, n.ledger),
                     1);
    assert_non_null(strstr(out, "cannot reach"));
    gt_cleanup(&n);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operations), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_api_key),    cmocka_unit_test(test_tls),
        cmocka_unit_test(test_run_market), cmocka_unit_test(test_run_petra),
        cmocka_unit_test(test_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
