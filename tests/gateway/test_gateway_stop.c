/* SPDX-License-Identifier: MIT */
/* The gateway's stop, in-process: after gw_quiesce no request reaches the
 * orderer, even on a connection that was open before (issue 15: the node
 * stops ordering and frees the orderer before gw_free, while libmicrohttpd
 * still serves the open connections until then). */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consortium.h"
#include "gateway/gateway.h"
#include "testlib.h"

static struct tc_consortium C;

static int identity(void *arg, const char *who, struct lg_cert *cert,
                    struct cr_keypair *key)
{
    (void)arg;
    if (strcmp(who, "DERA1/alice") != 0) {
        return BASE_ENOTFOUND;
    }
    *cert = C.dera.cert;
    *key = C.dera.key;
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    struct base_buf *b = arg;
    return base_buf_add(b, p, size * n) == 0 ? size * n : 0;
}

/* One request on @curl (its connection kept between calls); the status,
 * the body into @body. */
static long request(CURL *curl, const char *url, const char *auth,
                    const char *post, struct base_buf *body)
{
    base_buf_reset(body);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (post != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        fail_msg("%s: %s", url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static void test_no_handler_after_quiesce(void **state)
{
    (void)state;
    char dir[PATH_MAX], err[BASE_ERRMSG_SIZE] = "";
    tl_tmpdir(dir, "gw-stop");
    tc_init(&C, "energy");
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct kv_offchain *off;
    assert_int_equal(lg_open(&l, dir, &C.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(l, &C.cfg, &C.orderer, err), 0);
    assert_int_equal(lg_channel_get(l, "energy", &ch), 0);
    assert_int_equal(kv_offchain_open_uri(&off, "offchain.sqlite", dir, err),
                     0);
    char keys[PATH_MAX + 16], token[GW_KEY_TOKEN_LEN + 1];
    snprintf(keys, sizeof keys, "%s/api-keys", dir);
    struct gw_key spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.name, sizeof spec.name, "bot");
    snprintf(spec.identity, sizeof spec.identity, "DERA1/alice");
    assert_int_equal(gw_key_create(keys, &spec, token, NULL), 0);
    struct gw_options opt = {
        .listen = "127.0.0.1:0",
        .max_body = 1 << 20,
        .threads = 1,
        .request_timeout_s = 5,
        .keys_path = keys,
        .identity = identity,
    };
    struct gw_server *g;
    assert_int_equal(gw_new(&g, l, ch, off, &opt, err), 0);
    struct ord_options oo = {.batch_timeout = 1000000, .verifiers = 1};
    struct ord_solo *solo;
    assert_int_equal(ord_solo_start(&solo, ch, &C.orderer, &oo), 0);
    assert_int_equal(gw_start(g, ord_solo_orderer(solo), err), 0);

    char base[64], url[128], auth[GW_KEY_TOKEN_LEN + 32];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)gw_port(g));
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    CURL *curl = curl_easy_init();
    struct base_buf body;
    base_buf_init(&body, 0);
    const char *invoke =
        "{\"contract\":\"asset\",\"function\":\"create\",\"args\":[\"a1\","
        "\"10\"]}";
    snprintf(url, sizeof url, "%s/v1/invoke", base);
    /* Before the stop: committed, and the connection stays open. */
    assert_int_equal(request(curl, url, auth, invoke, &body), 200);
    long conns = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &conns);
    assert_int_equal(conns, 1);

    gw_quiesce(g);
    uint64_t before, after;
    struct cr_hash tip, st;
    lg_channel_tip(ch, &before, &tip, &st);
    /* The same connection, after the stop began: refused before any
     * handler runs, and the connection is closed. */
    const char *second =
        "{\"contract\":\"asset\",\"function\":\"create\",\"args\":[\"a2\","
        "\"10\"]}";
    assert_int_equal(request(curl, url, auth, second, &body), 503);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &conns);
    assert_int_equal(conns, 0); /* reused, not a new connection */
    assert_non_null(memmem(body.data, body.len, "\"stopping\"", 10));
    lg_channel_tip(ch, &after, &tip, &st);
    assert_int_equal(before, after);

    base_buf_release(&body);
    curl_easy_cleanup(curl);
    ord_solo_stop(solo);
    gw_free(g);
    kv_offchain_close(off);
    lg_close(l);
    tl_rmrf(dir);
}

int main(void)
{
    base_log_set_level(BASE_LOG_OFF);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_handler_after_quiesce),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}
