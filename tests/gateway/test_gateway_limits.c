/* SPDX-License-Identifier: MIT */
/* The node's limits and transport: a bounded number of connections, idle
 * and slow connections closed, TLS over loopback, and serving without
 * errors under wrk's load. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gwtest.h"

/* A TCP connection to the node's port, with a receive timeout. */
static int dial(const struct gt_node *n, int timeout_s)
{
    const char *colon = strrchr(n->url, ':');
    assert_non_null(colon);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Read until the peer closes or the receive timeout: true when it closed
 * (end of stream or reset) within the timeout. */
static bool closed_by_peer(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got == 0) {
            return true;
        }
        if (got < 0) {
            return errno == ECONNRESET;
        }
    }
}

static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/* Over the limit the node takes no more connections: they wait in the
 * kernel's backlog, unanswered, until a slot frees. The limit is the
 * request pool (--max-connections), the streams' pool (--max-streams) and
 * the 8 connections kept for health: 4 + 1 + 8 here. */
static void test_connection_limit(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-conn");
    gt_start(&n, "--max-connections 4 --max-streams 1 --threads 1 "
                 "--no-access-log");
    enum { LIMIT = 4 + 1 + 8, OPEN = LIMIT + 3 };
    int fds[OPEN], answered = 0;
    bool served[OPEN] = {false};
    for (int i = 0; i < OPEN; i++) {
        fds[i] = dial(&n, 1);
        /* One at a time, so the node accepts them in this order. */
        usleep(20000);
    }
    char buf[512];
    for (int i = 0; i < OPEN; i++) {
        assert_true(send(fds[i], req, strlen(req), MSG_NOSIGNAL) > 0);
        ssize_t got = recv(fds[i], buf, sizeof buf - 1, 0);
        if (got > 0) {
            buf[got] = '\0';
            assert_non_null(strstr(buf, "HTTP/1.1 200"));
            served[i] = true;
            answered++;
        }
    }
    assert_int_equal(answered, LIMIT);
    /* Close the served ones: the waiting ones are answered now. */
    for (int i = 0; i < OPEN; i++) {
        if (served[i]) {
            close(fds[i]);
        }
    }
    for (int i = 0; i < OPEN; i++) {
        if (!served[i]) {
            struct timeval tv = {10, 0};
            setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            ssize_t got = recv(fds[i], buf, sizeof buf - 1, 0);
            assert_true(got > 0);
            buf[got] = '\0';
            assert_non_null(strstr(buf, "HTTP/1.1 200"));
            close(fds[i]);
        }
    }
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

static void test_idle_and_slow(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-idle");
    gt_start(&n, "--idle-timeout 1 --request-timeout 2 --no-access-log");
    /* Silent: closed after the idle timeout (well within 10 s). */
    int fd = dial(&n, 10);
    assert_true(closed_by_peer(fd));
    close(fd);
    /* Half a request line, then nothing. */
    fd = dial(&n, 10);
    assert_true(send(fd, "GET /heal", 9, MSG_NOSIGNAL) == 9);
    assert_true(closed_by_peer(fd));
    close(fd);
    /* A body that trickles in, a few bytes every 300 ms, never idle long
     * enough for the idle timeout: the request timeout closes it. */
    fd = dial(&n, 1);
    const char *head = "POST /v1/offchain HTTP/1.1\r\nHost: t\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Content-Length: 100000\r\n\r\n";
    assert_true(send(fd, head, strlen(head), MSG_NOSIGNAL) > 0);
    uint64_t t0 = base_mono_ns();
    bool closed = false;
    size_t sent = 0;
    while (!closed && base_mono_ns() - t0 < 20000000000u) {
        usleep(300000);
        if (send(fd, "xxxxxxxxxx", 10, MSG_NOSIGNAL) < 0) {
            closed = true;
            break;
        }
        sent += 10;
        char b[256];
        ssize_t got = recv(fd, b, sizeof b, MSG_DONTWAIT);
        closed = got == 0 || (got < 0 && errno == ECONNRESET);
    }
    assert_true(closed);
    assert_true(sent < 100000);
    close(fd);
    /* Nothing was stored, and the node still serves. */
    struct gt_resp r;
    assert_int_equal(gt_get(&n, &r, "/metrics"), 200);
    assert_non_null(
        strstr(r.body, "gl_offchain_operations_total{op=\"put\",result=\"ok\"}"
                       " 0"));
    gt_free(&r);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

static void test_tls(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-tls");
    gt_start_tls(&n);
    struct gt_resp r;
    assert_int_equal(gt_get(&n, &r, "/v1/tip"), 200);
    assert_non_null(strstr(r.body, "\"channel\":\"energy\""));
    gt_free(&r);
    struct base_buf env;
    base_buf_init(&env, 0);
    gt_envelope(&n, &env, "DERA1/operator", 1, "asset", "create", 2, "t1", "1");
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/tx", NULL,
                             "application/octet-stream", env.data, env.len),
                     200);
    assert_non_null(strstr(r.body, "\"result\":\"VALID\""));
    gt_free(&r);
    base_buf_release(&env);
    /* Plain HTTP to the TLS port gets no HTTP answer. */
    struct gt_node plain = n;
    memcpy(plain.url, "http", 4);
    memmove(plain.url + 4, n.url + 5, strlen(n.url + 5) + 1);
    assert_int_equal(gt_get(&plain, &r, "/v1/tip"), 0);
    gt_free(&r);
    assert_int_equal(gt_stop(&n), 0);
    /* A certificate without its key is refused at start. */
    char out[8192];
    assert_int_equal(tl_run(out, sizeof out,
                            "%s node %s --tls-cert %s/cert.pem"
                            " 2>&1",
                            tl_binary(), n.ledger, n.dir),
                     2);
    gt_cleanup(&n);
}

/* --require-key: reads need a key (read-only will do), signed envelopes
 * still authenticate themselves, health and metrics stay open. */
static void test_require_key(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-reqkey");
    char ro[128];
    gt_apikey(&n, ro, "--name ro --identity ISO/operator --read-only");
    gt_start(&n, "--require-key --no-access-log");
    struct gt_resp r;
    assert_int_equal(gt_get(&n, &r, "/v1/tip"), 401);
    assert_non_null(strstr(r.body, "\"unauthorized\""));
    gt_free(&r);
    assert_int_equal(gt_get(&n, &r, "/v1/state/asset/x"), 401);
    gt_free(&r);
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", ro);
    const char *h[] = {auth, NULL};
    assert_int_equal(gt_http(&n, &r, "GET", "/v1/tip", h, NULL, NULL, 0), 200);
    gt_free(&r);
    assert_int_equal(gt_get(&n, &r, "/healthz"), 200);
    gt_free(&r);
    assert_int_equal(gt_get(&n, &r, "/metrics"), 200);
    gt_free(&r);
    struct base_buf env;
    base_buf_init(&env, 0);
    gt_envelope(&n, &env, "DERA1/operator", 1, "asset", "create", 2, "r1", "1");
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/tx", NULL,
                             "application/octet-stream", env.data, env.len),
                     200);
    assert_non_null(strstr(r.body, "\"result\":\"VALID\""));
    gt_free(&r);
    base_buf_release(&env);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* A full orderer queue refuses with 503 and EFULL; a key whose member
 * has lost its key file answers 500 identity_unavailable. */
static void test_full_queue_and_lost_identity(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-full");
    char key[128];
    gt_apikey(&n, key, "--name k --identity DERA2/operator");
    gt_start(&n, "--max-pending 1 --no-access-log");
    struct base_buf batch;
    base_buf_init(&batch, 0);
    gt_batch(&n, &batch, "DERA1/operator", 1, "f", 50);
    struct gt_resp r;
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/tx", NULL,
                             "application/vnd.gridledger.batch", batch.data,
                             batch.len),
                     200);
    assert_non_null(strstr(r.body, "\"result\":\"EFULL\""));
    assert_non_null(strstr(r.body, "\"result\":\"VALID\""));
    gt_free(&r);
    base_buf_release(&batch);
    assert_int_equal(gt_get(&n, &r, "/metrics"), 200);
    assert_non_null(
        strstr(r.body, "gl_transactions_refused_total{reason=\"EFULL\"}"));
    gt_free(&r);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/keys/DERA2/operator.key", n.ledger);
    assert_int_equal(unlink(path), 0);
    gt_post_json(&n, &r, "/v1/invoke", key,
                 "{\"contract\":\"asset\",\"function\":\"create\","
                 "\"args\":[\"z\",\"1\"]}");
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "\"identity_unavailable\""));
    gt_free(&r);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(base_write_file(path, text, strlen(text)), 0);
}

/* Parse wrk's report: requests done, and no socket errors or non-2xx. */
static void check_wrk(const char *out, const char *what)
{
    const char *p = strstr(out, " requests in ");
    if (p == NULL) {
        fail_msg("%s: no wrk report:\n%s", what, out);
    }
    while (p > out && p[-1] != '\n' && p[-1] != ' ') {
        p--;
    }
    long done = strtol(p, NULL, 10);
    if (done <= 0 || strstr(out, "Socket errors") != NULL ||
        strstr(out, "Non-2xx") != NULL) {
        fail_msg("%s: wrk saw errors:\n%s", what, out);
    }
}

static void test_wrk_load(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-wrk");
    char key[128];
    gt_apikey(&n, key, "--name load --identity DERA1/operator");
    gt_start(&n, "--no-access-log");
    struct gt_resp r;
    assert_int_equal(gt_post_json(&n, &r, "/v1/invoke", key,
                                  "{\"contract\":\"asset\",\"function\":"
                                  "\"create\",\"args\":[\"w\",\"1\"]}"),
                     200);
    gt_free(&r);
    /* Reads over several routes, then writes through an API key. */
    char lua[PATH_MAX + 16], out[16384];
    snprintf(lua, sizeof lua, "%s/reads.lua", n.dir);
    write_text(lua, "local paths = {'/v1/tip', '/v1/state/asset/w',\n"
                    "  '/healthz', '/v1/history/asset/w', '/v1/blocks/1'}\n"
                    "local i = 0\n"
                    "request = function()\n"
                    "  i = i + 1\n"
                    "  return wrk.format('GET', paths[i % #paths + 1])\n"
                    "end\n");
    assert_int_equal(
        tl_run(out, sizeof out, "wrk -t2 -c32 -d3s -s %s %s 2>&1", lua, n.url),
        0);
    check_wrk(out, "reads");
    snprintf(lua, sizeof lua, "%s/writes.lua", n.dir);
    char script[2048];
    snprintf(script, sizeof script,
             "local n = 0\n"
             "local id = 0\n"
             "setup = function(t) id = id + 1; t:set('tid', id) end\n"
             "init = function() tid = wrk.thread:get('tid') end\n"
             "request = function()\n"
             "  n = n + 1\n"
             "  local body = string.format('{\"contract\":\"asset\","
             "\"function\":\"create\",\"args\":[\"t%%s-%%d\",\"1\"]}', "
             "tostring(tid), n)\n"
             "  return wrk.format('POST', '/v1/invoke', {['Content-Type'] = "
             "'application/json', ['Authorization'] = 'Bearer %s'}, body)\n"
             "end\n",
             key);
    write_text(lua, script);
    assert_int_equal(
        tl_run(out, sizeof out, "wrk -t2 -c16 -d3s -s %s %s 2>&1", lua, n.url),
        0);
    check_wrk(out, "writes");
    /* Still serving, every write committed valid, and the chain verifies. */
    assert_int_equal(gt_get(&n, &r, "/metrics"), 200);
    assert_null(strstr(r.body, "gl_transactions_refused_total{"));
    assert_null(strstr(r.body, "status=\"500\""));
    gt_free(&r);
    assert_int_equal(gt_stop(&n), 0);
    assert_int_equal(
        tl_run(out, sizeof out, "%s verify %s 2>&1", tl_binary(), n.ledger), 0);
    gt_cleanup(&n);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_idle_and_slow),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_require_key),
        cmocka_unit_test(test_full_queue_and_lost_identity),
        cmocka_unit_test(test_wrk_load),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}
