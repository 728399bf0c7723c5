/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the gateway's routes, their argument parsing and the
 * JSON form of a transaction (src/gateway: server.c's router, routes.c,
 * json.c, bidlist.c), in-process: a real ledger of the test consortium in a
 * temporary directory, the solo orderer, an SQLite off-chain store and
 * gw_start on 127.0.0.1 port 0 (loopback inside this process; nothing is
 * reachable from outside), driven with libcurl.
 *
 * An input is a request:
 *   line 1   METHOD TARGET [KEY]     KEY: dera, iso, dso, ro or none
 *   lines    Name: value             extra headers, up to an empty line
 *   rest     the body
 * The harness adds the key's Authorization header and frames the request
 * itself (curl sets Content-Length), so what is fuzzed is our parsing, not
 * libmicrohttpd's. Event streams (/v1/events) never end and are skipped.
 *
 * What must hold for every request: an answer (no hang, no dropped
 * connection), and no 5xx: bad input is the client's error, 4xx with a
 * reason. Writes do change the ledger, so a rerun of one input can meet a
 * later state; each input still reproduces alone (docs/fuzzing.md). */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consortium.h"
#include "gateway/gateway.h"
#include "testlib.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS 4
static const char *const key_names[NKEYS] = {"dera", "iso", "dso", "ro"};

static struct {
    char dir[PATH_MAX];
    struct tc_consortium c;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct kv_offchain *off;
    struct ord_solo *solo;
    struct gw_server *gw;
    char base[64];
    char keys[PATH_MAX + 16];
    char tokens[NKEYS][GW_KEY_TOKEN_LEN + 1];
    CURL *curl;
} F;

static int identity(void *arg, const char *who, struct lg_cert *cert,
                    struct cr_keypair *key)
{
    (void)arg;
    const struct tc_member *ms[] = {&F.c.dera, &F.c.iso, &F.c.dso, &F.c.deraB};
    for (size_t i = 0; i < BASE_ARRAY_LEN(ms); i++) {
        char name[2 * LG_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s/%s", ms[i]->cert.org, ms[i]->cert.name);
        if (strcmp(name, who) == 0) {
            *cert = ms[i]->cert;
            *key = ms[i]->key;
            return 0;
        }
    }
    return BASE_ENOTFOUND;
}

static void teardown(void)
{
    curl_easy_cleanup(F.curl);
    gw_quiesce(F.gw);
    ord_solo_stop(F.solo);
    gw_free(F.gw);
    kv_offchain_close(F.off);
    lg_close(F.l);
    tl_rmrf(F.dir);
    curl_global_cleanup();
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_gateway: %s: %s\n", what, err);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    base_log_set_level(BASE_LOG_OFF);
    tl_tmpdir(F.dir, "fuzz-gateway");
    tc_init(&F.c, "energy");
    char err[BASE_ERRMSG_SIZE] = "";
    if (lg_open(&F.l, F.dir, &F.c.exec, NULL, err) != 0 ||
        lg_channel_create(F.l, &F.c.cfg, &F.c.orderer, err) != 0 ||
        lg_channel_get(F.l, "energy", &F.ch) != 0) {
        die("ledger", err);
    }
    if (kv_offchain_open_uri(&F.off, "offchain.sqlite", F.dir, err) != 0) {
        die("offchain", err);
    }
    char *keys = F.keys;
    snprintf(F.keys, sizeof F.keys, "%s/api-keys", F.dir);
    const char *who[NKEYS] = {"DERA1/alice", "ISO/op", "DSO/op", "DERA2/carol"};
    for (size_t i = 0; i < NKEYS; i++) {
        struct gw_key spec;
        memset(&spec, 0, sizeof spec);
        snprintf(spec.name, sizeof spec.name, "%s", key_names[i]);
        snprintf(spec.identity, sizeof spec.identity, "%s", who[i]);
        spec.read_only = i == 3;
        if (gw_key_create(keys, &spec, F.tokens[i], NULL) != 0) {
            die("api key", key_names[i]);
        }
    }
    struct gw_options opt = {
        .listen = "127.0.0.1:0",
        .max_body = 1 << 20,
        .threads = 1,
        .request_timeout_s = 5,
        .keys_path = F.keys,
        .identity = identity,
    };
    if (gw_new(&F.gw, F.l, F.ch, F.off, &opt, err) != 0) {
        die("gw_new", err);
    }
    struct ord_options oo = {.batch_timeout = 1000000, .verifiers = 1};
    if (ord_solo_start(&F.solo, F.ch, &F.c.orderer, &oo) != 0) {
        die("ordering", "ord_solo_start");
    }
    if (gw_start(F.gw, ord_solo_orderer(F.solo), err) != 0) {
        die("gw_start", err);
    }
    snprintf(F.base, sizeof F.base, "http://127.0.0.1:%u",
             (unsigned)gw_port(F.gw));
    /* Some state for the routes to find: an asset and a DER. */
    struct base_buf tx;
    base_buf_init(&tx, 0);
    struct ord_result res;
    tc_tx(&tx, &F.c.dera, "energy", "asset", "create", 1, 2, "a1", "10");
    (void)ord_submit_wait(F.solo, tx.data, tx.len, &res);
    base_buf_release(&tx);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    F.curl = curl_easy_init();
    atexit(teardown);
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    struct base_buf *b = arg;
    return base_buf_add(b, p, size * n) == 0 ? size * n : 0;
}

/* A header line the harness may pass on: printable, "Name: value", and not
 * one that frames the request (curl does that). */
static bool header_ok(const char *h)
{
    static const char *const framing[] = {
        "content-length", "transfer-encoding", "host",     "connection",
        "expect",         "authorization",     "x-api-key"};
    const char *colon = strchr(h, ':');
    if (colon == NULL || colon == h) {
        return false;
    }
    for (const char *p = h; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            return false;
        }
    }
    for (size_t i = 0; i < BASE_ARRAY_LEN(framing); i++) {
        size_t n = strlen(framing[i]);
        if ((size_t)(colon - h) == n && strncasecmp(h, framing[i], n) == 0) {
            return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) {
        return 0;
    }
    char *in = base_malloc(size + 1);
    if (in == NULL) {
        abort();
    }
    memcpy(in, data, size);
    in[size] = '\0';
    /* Request line. */
    char *nl = strchr(in, '\n');
    if (nl == NULL) {
        base_free(in);
        return 0;
    }
    *nl = '\0';
    char method[16], target[2048], key[16] = "";
    int nf = sscanf(in, "%15s %2047s %15s", method, target, key);
    bool ok =
        nf >= 2 && target[0] == '/' && strncmp(target, "/v1/events", 10) != 0;
    for (const char *p = target; ok && *p != '\0'; p++) {
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '#';
    }
    for (const char *p = method; ok && *p != '\0'; p++) {
        ok = *p >= 'A' && *p <= 'Z';
    }
    if (!ok) {
        base_free(in);
        return 0;
    }
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(key, key_names[i]) == 0) {
            char h[GW_KEY_TOKEN_LEN + 32];
            snprintf(h, sizeof h, "Authorization: Bearer %s", F.tokens[i]);
            hdrs = curl_slist_append(hdrs, h);
        }
    }
    /* Headers, then the body. */
    char *p = nl + 1;
    while (*p != '\0' && *p != '\n') {
        char *e = strchr(p, '\n');
        if (e == NULL) {
            e = p + strlen(p);
        } else {
            *e++ = '\0';
        }
        if (header_ok(p)) {
            hdrs = curl_slist_append(hdrs, p);
        }
        p = e;
    }
    if (*p == '\n') {
        p++;
    }
    const char *body = p;
    size_t blen = size - (size_t)(p - in);
    if (p > in + size) {
        blen = 0;
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    char url[sizeof F.base + sizeof target];
    snprintf(url, sizeof url, "%s%s", F.base, target);
    struct base_buf resp;
    base_buf_init(&resp, 0);
    CURL *c = F.curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 8000L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status == 0 || status >= 500) {
        fprintf(stderr, "fuzz_gateway: %s %s: %s, HTTP %ld: %.*s\n", method,
                target, curl_easy_strerror(cc), status, (int)resp.len,
                resp.data != NULL ? (const char *)resp.data : "");
        abort();
    }
    if (getenv("GL_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "%s %s -> %ld %.*s\n", method, target, status,
                (int)(resp.len < 200 ? resp.len : 200),
                resp.data != NULL ? (const char *)resp.data : "");
    }
    curl_slist_free_all(hdrs);
    base_buf_release(&resp);
    base_free(in);
    return 0;
}
