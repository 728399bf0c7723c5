/* SPDX-License-Identifier: MIT */
/* The HTTP server's hardening (issue 15): error codes to statuses in one
 * table, ambiguous request framing refused over raw sockets, every
 * credential checked, and event streams kept in their own bounded pool
 * so health and queries still answer. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/err.h"
#include "gateway/gateway.h"
#include "gwtest.h"

/* ---- raw sockets ---------------------------------------------------------
 * libcurl normalises what it sends (one Content-Length, no odd framing),
 * so the framing tests write the bytes themselves. */

/* A TCP connection to the node's port from source address @src (NULL: any;
 * "127.0.0.2" and up are loopback too, so one test can be several
 * clients), with a receive timeout. */
static int dial_from(const struct gt_node *n, const char *src, int timeout_s)
{
    const char *colon = strrchr(n->url, ':');
    assert_non_null(colon);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (src != NULL) {
        struct sockaddr_in b;
        memset(&b, 0, sizeof b);
        b.sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, src, &b.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof b), 0);
    }
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

/* Read into @buf until the peer closes or the receive timeout; *@closed
 * says which. Returns the bytes read (NUL-terminated). */
static size_t read_all(int fd, char *buf, size_t size, bool *closed)
{
    size_t got = 0;
    *closed = false;
    while (got + 1 < size) {
        ssize_t k = recv(fd, buf + got, size - 1 - got, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET)) {
            *closed = true;
            break;
        }
        if (k < 0) {
            break; /* timed out */
        }
        got += (size_t)k;
    }
    buf[got] = '\0';
    return got;
}

/* Read until @yes or @no (NULL: none) has arrived (or the close, or the
 * timeout): true when @yes did. */
static bool read_until(int fd, char *buf, size_t size, const char *yes,
                       const char *no)
{
    size_t got = 0;
    buf[0] = '\0';
    while (got + 1 < size) {
        ssize_t k = recv(fd, buf + got, size - 1 - got, 0);
        if (k <= 0) {
            break;
        }
        got += (size_t)k;
        buf[got] = '\0';
        if (strstr(buf, yes) != NULL) {
            return true;
        }
        if (no != NULL && strstr(buf, no) != NULL) {
            return false;
        }
    }
    return false;
}

static int count(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        k++;
    }
    return k;
}

static void send_all(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* One raw request on a new connection; the whole answer (up to the close
 * or @timeout_s) into @out. */
static void raw(const struct gt_node *n, const char *src, const char *req,
                char *out, size_t size, int timeout_s, bool *closed)
{
    int fd = dial_from(n, src, timeout_s);
    send_all(fd, req);
    read_all(fd, out, size, closed);
    close(fd);
}

/* ---- finding 11: one table from codes to statuses ----------------------- */

/* The status docs/api.md gives code @name in its table of codes, or 0. */
static unsigned doc_status(const char *doc, const char *name)
{
    char cell[64];
    snprintf(cell, sizeof cell, "| `%s` |", name);
    const char *p = strstr(doc, cell);
    if (p == NULL) {
        return 0;
    }
    return (unsigned)strtoul(p + strlen(cell), NULL, 10);
}

static void test_status_table(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/docs/api.md", getenv("GL_SOURCE_DIR"));
    char *doc;
    size_t len;
    assert_int_equal(base_read_file(path, 1 << 20, &doc, &len), 0);
    /* Every code of err.h: a status of its class, and the one the docs
     * give. A code appended to err.h without a line in the server's table
     * does not build; without a row in the docs it fails here. */
    for (int code = -1; code > BASE__ERR_LAST; code--) {
        unsigned s = gw_http_status(code);
        const char *name = base_errname(code);
        assert_true((s >= 400 && s < 500) || s == 500 || s == 503);
        unsigned d = doc_status(doc, name);
        if (d != s) {
            fail_msg("%s (%d): the server answers %u, docs/api.md says %u",
                     name, code, s, d);
        }
    }
    /* The failures the review saw answer 422 are the node's (500) or say
     * it cannot take the request now (503). */
    assert_int_equal(gw_http_status(BASE_EIO), 500);
    assert_int_equal(gw_http_status(BASE_ENOMEM), 500);
    assert_int_equal(gw_http_status(BASE_ECORRUPT), 500);
    assert_int_equal(gw_http_status(BASE_EPANIC), 503);
    assert_int_equal(gw_http_status(BASE_ENOSPC), 503);
    assert_int_equal(gw_http_status(BASE_ETIMEDOUT), 503);
    assert_int_equal(gw_http_status(BASE_EFULL), 503);
    assert_int_equal(gw_http_status(BASE_EINVAL), 400);
    assert_int_equal(gw_http_status(BASE_EPERM), 403);
    /* Not a code: the node's own failure. */
    assert_int_equal(gw_http_status(0), 500);
    assert_int_equal(gw_http_status(7), 500);
    assert_int_equal(gw_http_status(BASE__ERR_LAST), 500);
    base_free(doc);
}

/* One case per class through a running node: a client error, an internal
 * failure (the off-chain store cannot write: was 422), and a node that
 * cannot take a transaction now (503 with Retry-After). */
static void test_status_end_to_end(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-status");
    gt_start(&n, "--max-pending 1 --batch-us 3000000 --no-access-log");
    struct gt_resp r;
    assert_int_equal(gt_get(&n, &r, "/v1/state/asset/none"), 404);
    assert_non_null(strstr(r.body, "\"ENOTFOUND\""));
    gt_free(&r);
    /* Another process holds the store's write lock: the put fails with
     * EIO, the node's failure, not the caller's. */
    char db[PATH_MAX + 32];
    snprintf(db, sizeof db, "%s/offchain.sqlite", n.ledger);
    sqlite3 *s;
    assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/offchain", NULL,
                             "application/octet-stream", "rec", 3),
                     500);
    assert_non_null(strstr(r.body, "\"error\":\"EIO\""));
    assert_non_null(strstr(r.body, "off-chain store"));
    gt_free(&r);
    assert_int_equal(sqlite3_exec(s, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/offchain", NULL,
                             "application/octet-stream", "rec", 3),
                     200);
    gt_free(&r);
    /* The orderer holds one transaction for 3 s: the next is refused, 503
     * with Retry-After. */
    struct base_buf env;
    base_buf_init(&env, 0);
    gt_envelope(&n, &env, "DERA1/operator", 1, "asset", "create", 2, "s1", "1");
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/tx?wait=false", NULL,
                             "application/octet-stream", env.data, env.len),
                     202);
    gt_free(&r);
    gt_envelope(&n, &env, "DERA1/operator", 2, "asset", "create", 2, "s2", "1");
    char head[512], out[4096];
    snprintf(head, sizeof head,
             "POST /v1/tx HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: application/octet-stream\r\n"
             "Content-Length: %zu\r\n\r\n",
             env.len);
    int fd = dial_from(&n, NULL, 10);
    send_all(fd, head);
    assert_int_equal(send(fd, env.data, env.len, MSG_NOSIGNAL),
                     (ssize_t)env.len);
    bool closed;
    read_all(fd, out, sizeof out, &closed);
    close(fd);
    assert_non_null(strstr(out, "HTTP/1.1 503"));
    assert_non_null(strstr(out, "Retry-After: 1"));
    assert_non_null(strstr(out, "\"result\":\"EFULL\""));
    base_buf_release(&env);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* ---- finding 12: ambiguous framing ---------------------------------------
 */

/* What follows each ambiguous request on its connection: a proxy that
 * framed the body differently would see it as a request of its own. */
#define SMUGGLED "GET /v1/tip HTTP/1.1\r\nHost: t\r\n\r\n"

static void test_framing(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-framing");
    gt_start(&n, "--no-access-log");
    const char *ev = "POST /v1/evaluate HTTP/1.1\r\nHost: t\r\n"
                     "Content-Type: application/json\r\n";
    static const struct {
        const char *what, *headers, *body;
    } bad[] = {
        {"two Content-Length", "Content-Length: 5\r\nContent-Length: 40\r\n",
         "hello"},
        {"the same Content-Length twice",
         "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"},
        {"Content-Length and chunked",
         "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
        {"chunked and Content-Length",
         "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", "0\r\n\r\n"},
        {"chunked twice",
         "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
         "0\r\n\r\n"},
        {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"},
        {"an unknown coding", "Transfer-Encoding: identity\r\n", ""},
        {"Content-Length with a space in the name", "Content-Length : 5\r\n",
         "hello"},
        {"a folded Content-Length",
         "Content-Length: 5\r\n Content-Length: 40\r\n", "hello"},
        {"Content-Length in hex", "Content-Length: 0x5\r\n", "hello"},
        {"a signed Content-Length", "Content-Length: +5\r\n", "hello"},
        {"Content-Length as a list", "Content-Length: 5, 5\r\n", "hello"},
    };
    char req[1024], out[8192];
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        snprintf(req, sizeof req, "%s%s\r\n%s%s", ev, bad[i].headers,
                 bad[i].body, SMUGGLED);
        bool closed;
        raw(&n, NULL, req, out, sizeof out, 5, &closed);
        /* One answer, 400 with a reason, then the connection closes: the
         * request behind it is never answered. */
        if (strncmp(out, "HTTP/1.1 400", 12) != 0 || !closed ||
            strstr(out, "HTTP/1.1 200") != NULL ||
            strstr(out, "\"channel\"") != NULL) {
            fail_msg("%s: wanted one 400 and a close, got:\n%s", bad[i].what,
                     out);
        }
        /* libmicrohttpd refuses some malformed values itself, with its
         * own 400 page; the rest are ours, with the reason. */
        if (strstr(out, "\"bad_framing\"") == NULL &&
            strstr(out, "wrong value for <b>Content-Length") == NULL) {
            fail_msg("%s: no reason in:\n%s", bad[i].what, out);
        }
    }
    /* A GET with two Content-Length headers too. */
    bool closed;
    raw(&n, NULL,
        "GET /v1/tip HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
        "Content-Length: 27\r\n\r\n" SMUGGLED,
        out, sizeof out, 5, &closed);
    assert_int_equal(count(out, "HTTP/1.1 "), 1);
    assert_non_null(strstr(out, "more than one Content-Length header"));
    assert_true(closed);
    /* The control: clear framing, and the request behind it is answered,
     * so the test would see a smuggled answer. */
    snprintf(req, sizeof req,
             "%sContent-Length: 2\r\n\r\n{}%sGET /healthz HTTP/1.1\r\nHost: "
             "t\r\nConnection: close\r\n\r\n",
             ev, SMUGGLED);
    raw(&n, NULL, req, out, sizeof out, 5, &closed);
    assert_int_equal(count(out, "HTTP/1.1 "), 3);
    assert_non_null(strstr(out, "\"channel\""));
    snprintf(req, sizeof req,
             "%sTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n%s"
             "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             ev, SMUGGLED);
    raw(&n, NULL, req, out, sizeof out, 5, &closed);
    assert_int_equal(count(out, "HTTP/1.1 "), 3);
    /* Nothing was written, and the node still serves. */
    assert_int_equal(gt_height(&n), 1);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* ---- finding 13: every credential counts --------------------------------- */

static long with_headers(const struct gt_node *n, struct gt_resp *r,
                         const char *path, const char *h1, const char *h2)
{
    const char *h[] = {h1, h2, NULL};
    return gt_http(n, r, "GET", path, h, NULL, NULL, 0);
}

static void test_credentials(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-creds");
    char good[128], other[128], old[128];
    gt_apikey(&n, good, "--name good --identity DERA1/operator");
    gt_apikey(&n, other, "--name other --identity DERA2/operator");
    gt_apikey(&n, old, "--name old --identity DERA1/operator");
    char out[4096];
    assert_int_equal(tl_run(out, sizeof out, "%s apikey revoke %s old 2>&1",
                            tl_binary(), n.ledger),
                     0);
    gt_start(&n, "--no-access-log");
    char bgood[256], bother[256], bold[256], xgood[256], xother[256], xold[256];
    snprintf(bgood, sizeof bgood, "Authorization: Bearer %s", good);
    snprintf(bother, sizeof bother, "Authorization: Bearer %s", other);
    snprintf(bold, sizeof bold, "Authorization: Bearer %s", old);
    snprintf(xgood, sizeof xgood, "X-API-Key: %s", good);
    snprintf(xother, sizeof xother, "X-API-Key: %s", other);
    snprintf(xold, sizeof xold, "X-API-Key: %s", old);
    struct gt_resp r;
    /* The review's case: the revoked key beside a valid one. */
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", xold, bgood), 401);
    assert_non_null(strstr(r.body, "X-API-Key header"));
    assert_non_null(strstr(r.body, "revoked"));
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", bold, xgood), 401);
    assert_non_null(strstr(r.body, "Authorization header"));
    gt_free(&r);
    /* The same header twice: the second one counts too. */
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", xgood, xold), 401);
    gt_free(&r);
    /* On a route that needs no key, a bad key still fails the request. */
    assert_int_equal(with_headers(&n, &r, "/v1/tip", xold, bgood), 401);
    gt_free(&r);
    assert_int_equal(
        with_headers(&n, &r, "/v1/tip", "Authorization: Basic eA==", xgood),
        401);
    assert_non_null(strstr(r.body, "not 'Bearer KEY'"));
    gt_free(&r);
    /* Two valid keys: the same key is fine, two different ones are
     * ambiguous. */
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", bgood, xgood), 200);
    assert_non_null(strstr(r.body, "\"name\":\"good\""));
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", bgood, xother), 400);
    assert_non_null(strstr(r.body, "\"ambiguous_credentials\""));
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", xother, bgood), 400);
    gt_free(&r);
    /* The peer header: never with a key, only on the blocks routes, and
     * checked whenever sent. */
    const char *peer = "X-Gridledger-Peer: 1 1 00";
    assert_int_equal(with_headers(&n, &r, "/v1/blocks/0", peer, xgood), 400);
    assert_non_null(strstr(r.body, "\"ambiguous_credentials\""));
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/tip", peer, NULL), 401);
    assert_non_null(strstr(r.body, "only on GET /v1/blocks"));
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/blocks/0", peer, NULL), 401);
    assert_non_null(strstr(r.body, "malformed X-Gridledger-Peer"));
    gt_free(&r);
    /* One valid key alone still works, through either header; health
     * answers whatever is sent. */
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", bother, NULL), 200);
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/v1/whoami", xgood, NULL), 200);
    gt_free(&r);
    assert_int_equal(with_headers(&n, &r, "/healthz", xold, bgood), 200);
    gt_free(&r);
    /* A write with the revoked key beside a valid one changes nothing. */
    const char *h[] = {xold, bgood, NULL};
    const char *body = "{\"contract\":\"asset\",\"function\":\"create\","
                       "\"args\":[\"c1\",\"1\"]}";
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/invoke", h,
                             "application/json", body, strlen(body)),
                     401);
    gt_free(&r);
    assert_int_equal(gt_height(&n), 1);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* ---- finding 8: event streams in their own pool ------------------------ */

/* Open an event stream from @src with API key @key (NULL: none): its
 * socket once the stream has begun, or -1 with the refusal in @out. */
static int stream(const struct gt_node *n, const char *src, const char *key,
                  char *out, size_t size)
{
    int fd = dial_from(n, src, 5);
    char req[512];
    snprintf(req, sizeof req,
             "GET /v1/events HTTP/1.1\r\nHost: t\r\n%s%s%s\r\n",
             key ? "X-API-Key: " : "", key ? key : "", key ? "\r\n" : "");
    send_all(fd, req);
    if (read_until(fd, out, size, "retry: 1000", "}\n")) {
        return fd;
    }
    close(fd);
    return -1;
}

/* A request on its own connection answers within 2 s, with @status. */
static void prompt(const struct gt_node *n, const char *path, long status)
{
    struct gt_resp r;
    uint64_t t0 = base_mono_ns();
    long got = gt_get(n, &r, path);
    uint64_t ms = (base_mono_ns() - t0) / 1000000u;
    if (got != status || ms > 2000) {
        fail_msg("%s: %ld in %llu ms, wanted %ld within 2 s: %s", path, got,
                 (unsigned long long)ms, status, r.body ? r.body : "");
    }
    gt_free(&r);
}

static void test_streams(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-streams");
    char key[128];
    gt_apikey(&n, key, "--name watcher --identity ISO/operator --read-only");
    gt_start(&n, "--max-connections 4 --max-streams 8 "
                 "--max-streams-per-client 3 --threads 1 --idle-timeout 4 "
                 "--no-access-log");
    char out[4096];
    int fds[8];
    int nfd = 0;
    /* Three streams with one key, from one address: a fourth from that
     * address, or with that key from another, is refused 429. */
    for (int i = 0; i < 3; i++) {
        fds[nfd] = stream(&n, "127.0.0.2", key, out, sizeof out);
        assert_true(fds[nfd++] >= 0);
    }
    assert_int_equal(stream(&n, "127.0.0.2", NULL, out, sizeof out), -1);
    assert_non_null(strstr(out, "HTTP/1.1 429"));
    assert_non_null(strstr(out, "Retry-After: 1"));
    assert_non_null(strstr(out, "\"stream_limit\""));
    assert_non_null(strstr(out, "address 127.0.0.2 has 3 event streams"));
    assert_int_equal(stream(&n, "127.0.0.3", key, out, sizeof out), -1);
    assert_non_null(strstr(out, "HTTP/1.1 429"));
    assert_non_null(strstr(out, "API key "));
    /* Other clients fill the node's 8: the ninth is refused 503. */
    for (int i = 0; i < 3; i++) {
        fds[nfd] = stream(&n, "127.0.0.3", NULL, out, sizeof out);
        assert_true(fds[nfd++] >= 0);
    }
    for (int i = 0; i < 2; i++) {
        fds[nfd] = stream(&n, "127.0.0.4", NULL, out, sizeof out);
        assert_true(fds[nfd++] >= 0);
    }
    assert_int_equal(stream(&n, "127.0.0.5", NULL, out, sizeof out), -1);
    assert_non_null(strstr(out, "HTTP/1.1 503"));
    assert_non_null(strstr(out, "Retry-After: 1"));
    assert_non_null(strstr(out, "the node has 8 event streams open"));
    /* With every stream slot taken, health, readiness and queries answer
     * at once: streams hold none of the request pool. */
    prompt(&n, "/healthz", 200);
    prompt(&n, "/readyz", 200);
    prompt(&n, "/v1/tip", 200);
    /* Four idle connections fill the request pool as well: a query is
     * refused 503 busy, and health, readiness and metrics still answer,
     * on the reserved slots. */
    int idle[4];
    for (int i = 0; i < 4; i++) {
        idle[i] = dial_from(&n, "127.0.0.6", 5);
    }
    usleep(200000);
    bool closed;
    raw(&n, NULL, "GET /v1/tip HTTP/1.1\r\nHost: t\r\n\r\n", out, sizeof out, 5,
        &closed);
    assert_non_null(strstr(out, "HTTP/1.1 503"));
    assert_non_null(strstr(out, "\"busy\""));
    assert_non_null(strstr(out, "Retry-After: 1"));
    assert_true(closed);
    prompt(&n, "/healthz", 200);
    prompt(&n, "/readyz", 200);
    prompt(&n, "/metrics", 200);
    for (int i = 0; i < 4; i++) {
        close(idle[i]);
    }
    usleep(200000);
    prompt(&n, "/v1/tip", 200);
    /* Closing streams frees their slots: the node notices a waiting
     * stream's client has gone at its next tick. */
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
    }
    int late = -1;
    for (int tries = 0; tries < 40 && late < 0; tries++) {
        usleep(250000);
        late = stream(&n, "127.0.0.5", NULL, out, sizeof out);
    }
    assert_true(late >= 0);
    int again = stream(&n, "127.0.0.3", key, out, sizeof out);
    assert_int_equal(again, -1); /* .3 holds its 3 */
    assert_non_null(strstr(out, "address 127.0.0.3"));
    again = stream(&n, "127.0.0.7", key, out, sizeof out);
    assert_true(again >= 0); /* the key's 3 were closed */
    /* A commit still reaches the open streams. */
    struct base_buf env;
    base_buf_init(&env, 0);
    gt_envelope(&n, &env, "DERA1/operator", 1, "asset", "create", 2, "e1", "1");
    struct gt_resp r;
    assert_int_equal(gt_http(&n, &r, "POST", "/v1/tx", NULL,
                             "application/octet-stream", env.data, env.len),
                     200);
    gt_free(&r);
    base_buf_release(&env);
    assert_true(read_until(late, out, sizeof out, "event: block", NULL));
    assert_true(read_until(again, out, sizeof out, "event: block", NULL));
    assert_int_equal(gt_get(&n, &r, "/metrics"), 200);
    assert_non_null(strstr(r.body, "gl_event_streams 7"));
    assert_non_null(strstr(r.body, "route=\"/v1/events\",status=\"429\"} 3"));
    assert_non_null(strstr(r.body, "route=\"/v1/events\",status=\"503\"}"));
    assert_non_null(strstr(r.body, "route=\"/v1/tip\",status=\"503\"} 1"));
    gt_free(&r);
    close(late);
    close(again);
    for (int i = 3; i < nfd; i++) {
        close(fds[i]);
    }
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

/* ---- slow-loris: a request head that trickles in ----------------------- */

static void test_slow_head(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-slowhead");
    gt_start(&n, "--idle-timeout 2 --request-timeout 2 --no-access-log");
    /* A header byte every 500 ms is never idle for 2 s: the connection is
     * shut down once it has gone 2 + 2 s without a whole head. */
    int fd = dial_from(&n, NULL, 1);
    send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    uint64_t t0 = base_mono_ns();
    bool closed = false;
    char b[256];
    while (!closed && base_mono_ns() - t0 < 20000000000u) {
        usleep(500000);
        if (send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
            closed = true;
            break;
        }
        ssize_t got = recv(fd, b, sizeof b, MSG_DONTWAIT);
        assert_true(got <= 0); /* never answered */
        closed = got == 0 || (got < 0 && errno == ECONNRESET);
    }
    uint64_t secs = (base_mono_ns() - t0) / 1000000000u;
    assert_true(closed);
    assert_true(secs >= 3 && secs <= 10);
    close(fd);
    /* A client that keeps asking, under the idle timeout each time, is
     * never taken for one: its deadline starts again with each request. */
    fd = dial_from(&n, NULL, 5);
    char out[4096];
    for (int i = 0; i < 5; i++) {
        send_all(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_true(read_until(fd, out, sizeof out, "\"ok\"", NULL));
        usleep(1500000);
    }
    close(fd);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_status_end_to_end),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_slow_head),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}
