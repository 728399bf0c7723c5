/* SPDX-License-Identifier: MIT */
/* The gateway tests' node process and HTTP client (libcurl). */
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "gwtest.h"

void gt_ledger(struct gt_node *n, const char *tag)
{
    memset(n, 0, sizeof *n);
    tl_tmpdir(n->dir, tag);
    snprintf(n->ledger, sizeof n->ledger, "%s/L", n->dir);
    snprintf(n->log, sizeof n->log, "%s/node.log", n->dir);
    char out[4096];
    assert_int_equal(
        tl_run(out, sizeof out, "%s init %s 2>&1", tl_binary(), n->ledger), 0);
}

void gt_start(struct gt_node *n, const char *extra)
{
    char ready[PATH_MAX + 16], cmd[8192];
    snprintf(ready, sizeof ready, "%s/ready", n->dir);
    unlink(ready);
    snprintf(cmd, sizeof cmd,
             "exec %s node %s --listen 127.0.0.1:0 --ready-file %s %s "
             "2>>%s >/dev/null",
             tl_binary(), n->ledger, ready, extra, n->log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    n->pid = pid;
    /* Up to 60 s: a sanitizer build on a busy machine starts slowly. */
    for (int i = 0; i < 6000; i++) {
        char *text;
        size_t len;
        if (base_read_file(ready, 4096, &text, &len) == 0) {
            while (len > 0 && text[len - 1] == '\n') {
                text[--len] = '\0';
            }
            snprintf(n->url, sizeof n->url, "%s", text);
            base_free(text);
            return;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            n->pid = 0;
            fail_msg("the node exited before listening (see %s)", n->log);
        }
        usleep(10000);
    }
    fail_msg("the node did not listen within 60 s (see %s)", n->log);
}

void gt_start_tls(struct gt_node *n)
{
    char out[8192];
    assert_int_equal(
        tl_run(out, sizeof out,
               "cd %s && openssl req -x509 -newkey ec -pkeyopt "
               "ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem "
               "-days 1 -subj /CN=localhost -addext "
               "subjectAltName=IP:127.0.0.1 2>&1",
               n->dir),
        0);
    char extra[2 * PATH_MAX + 64];
    snprintf(extra, sizeof extra, "--tls-cert %s/cert.pem --tls-key %s/key.pem",
             n->dir, n->dir);
    gt_start(n, extra);
    assert_int_equal(strncmp(n->url, "https://", 8), 0);
}

int gt_stop(struct gt_node *n)
{
    if (n->pid <= 0) {
        return -1;
    }
    kill(n->pid, SIGTERM);
    int st = 0;
    waitpid(n->pid, &st, 0);
    n->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void gt_cleanup(struct gt_node *n)
{
    if (n->pid > 0) {
        gt_stop(n);
    }
    tl_rmrf(n->dir);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct base_buf *b = arg;
    return base_buf_add(b, p, size * nmemb) == 0 ? size * nmemb : 0;
}

long gt_http(const struct gt_node *n, struct gt_resp *r, const char *method,
             const char *path, const char *const *headers, const char *ctype,
             const void *body, size_t len)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", n->url, path);
    struct base_buf b;
    base_buf_init(&b, 0);
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        h = curl_slist_append(h, headers[i]);
    }
    char ct[160];
    if (body != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "");
        h = curl_slist_append(h, ct);
        /* No "Expect: 100-continue" round trip on big bodies. */
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    char cafile[PATH_MAX + 16];
    snprintf(cafile, sizeof cafile, "%s/cert.pem", n->dir);
    if (strncmp(n->url, "https:", 6) == 0) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        char *t = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &t);
        snprintf(r->ctype, sizeof r->ctype, "%s", t ? t : "");
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    assert_int_equal(base_buf_terminate(&b), 0);
    r->len = b.len;
    r->body = (char *)base_buf_take(&b, &r->len);
    if (r->body == NULL) {
        r->body = base_strdup("");
    }
    return r->status;
}

long gt_get(const struct gt_node *n, struct gt_resp *r, const char *path)
{
    return gt_http(n, r, "GET", path, NULL, NULL, NULL, 0);
}

long gt_post_json(const struct gt_node *n, struct gt_resp *r, const char *path,
                  const char *key, const char *json)
{
    char auth[256];
    const char *h[2] = {NULL, NULL};
    if (key != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h[0] = auth;
    }
    return gt_http(n, r, "POST", path, h, "application/json", json,
                   strlen(json));
}

void gt_free(struct gt_resp *r)
{
    base_free(r->body);
    r->body = NULL;
}

static void read_hex(const char *path, uint8_t *out, size_t max, size_t *len)
{
    char *text;
    size_t tl;
    assert_int_equal(base_read_file(path, 8192, &text, &tl), 0);
    while (tl > 0 && (text[tl - 1] == '\n' || text[tl - 1] == ' ')) {
        text[--tl] = '\0';
    }
    assert_true(tl % 2 == 0 && tl / 2 <= max);
    assert_int_equal(base_hex_decode(out, tl / 2, text), 0);
    *len = tl / 2;
    base_free(text);
}

void gt_member(const struct gt_node *n, const char *who, struct lg_cert *cert,
               struct cr_keypair *key)
{
    char path[PATH_MAX + 128];
    uint8_t b[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/keys/%s.key", n->ledger, who);
    read_hex(path, b, sizeof b, &len);
    assert_int_equal(len, 32);
    cr_keygen_seed(key, b);
    snprintf(path, sizeof path, "%s/keys/%s.cert", n->ledger, who);
    read_hex(path, b, sizeof b, &len);
    struct base_rd r;
    base_rd_init(&r, b, len);
    assert_int_equal(lg_cert_decode(cert, &r), 0);
}

void gt_envelope(const struct gt_node *n, struct base_buf *out, const char *who,
                 uint64_t nonce, const char *contract, const char *fn,
                 int nargs, ...)
{
    struct lg_cert cert;
    struct cr_keypair key;
    gt_member(n, who, &cert, &key);
    struct lg_slice args[LG_MAX_ARGS];
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        const char *a = va_arg(ap, const char *);
        args[i] = (struct lg_slice){(const uint8_t *)a, strlen(a)};
    }
    va_end(ap);
    struct lg_call call = {"energy", contract, fn, (uint32_t)nargs, args};
    base_buf_reset(out);
    assert_int_equal(lg_tx_build(out, &call, &cert, &key, nonce, NULL), 0);
}

void gt_batch(const struct gt_node *n, struct base_buf *out, const char *who,
              uint64_t nonce, const char *prefix, int count)
{
    struct base_buf one;
    base_buf_init(&one, 0);
    base_buf_reset(out);
    for (int i = 0; i < count; i++) {
        char aid[32];
        snprintf(aid, sizeof aid, "%s%d", prefix, i);
        gt_envelope(n, &one, who, nonce + (uint64_t)i, "asset", "create", 2,
                    aid, "1");
        assert_int_equal(base_buf_add_u32(out, (uint32_t)one.len), 0);
        assert_int_equal(base_buf_add(out, one.data, one.len), 0);
    }
    base_buf_release(&one);
}

void gt_apikey(const struct gt_node *n, char *token, const char *args)
{
    char out[4096];
    assert_int_equal(tl_run(out, sizeof out, "%s apikey create %s %s 2>&1",
                            tl_binary(), n->ledger, args),
                     0);
    char *k = strstr(out, "\nkey ");
    assert_non_null(k);
    k += 5;
    while (*k == ' ') {
        k++;
    }
    memcpy(token, k, GW_KEY_TOKEN_LEN);
    token[GW_KEY_TOKEN_LEN] = '\0';
}

uint64_t gt_height(const struct gt_node *n)
{
    struct gt_resp r;
    assert_int_equal(gt_get(n, &r, "/v1/tip"), 200);
    char *p = strstr(r.body, "\"height\":");
    assert_non_null(p);
    uint64_t h = strtoull(p + 9, NULL, 10);
    gt_free(&r);
    return h;
}
