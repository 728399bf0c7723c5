/* SPDX-License-Identifier: MIT */
/* gridledger http-bench: Caliper's metrics for a node, over HTTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger http-bench URL[,URL...] --ledger DIR\n"
    "           --workload create|read|update\n"
    "           [--tx N] [--connections C] [--batch B] [--rate R]\n"
    "           [--as ORG/NAME] [--json FILE] [--trace FILE]\n"
    "           [--acked FILE]\n\n"
    "Load a running node (gridledger node DIR) over HTTP/1.1 keep-alive\n"
    "connections from one client thread, and print Caliper's table, as\n"
    "'gridledger bench' does for the embedded node.\n\n"
    "  create  N asset.create transactions, signed by --as (default\n"
    "          DERA1/operator, key in DIR/keys) before the round starts,\n"
    "          sent as POST /v1/tx: one envelope per request, or B per\n"
    "          request with --batch B (application/vnd.gridledger.batch).\n"
    "          Each request waits for its block: latency is from sending to\n"
    "          the answer that the block is durable.\n"
    "  read    N GET /v1/state/asset/KEY over keys it first creates (not\n"
    "          measured).\n"
    "  update  N asset.update transactions, as create sends them, of N\n"
    "          assets it first creates (not measured).\n"
    "It is also 'gridledger bench --node URL --keys DIR' (one benchmark,\n"
    "two transports: the embedded node and HTTP).\n\n"
    "  --connections C  requests in flight, one per connection (default 64)\n"
    "  --rate R         open loop: request i is due at R per second; its\n"
    "                   latency counts from when it was due (default: as\n"
    "                   fast as the node answers)\n"
    "  --json FILE      the table's figures as JSON\n"
    "  --trace FILE     every request as CSV: sent_utc_ms (when it was\n"
    "                   sent, or due), latency_ms, code\n"
    "  --acked FILE     append the id of every transaction the node\n"
    "                   answered as committed, one line each, as the answer\n"
    "                   comes (bench/crash.sh checks them after a kill)\n\n"
    "Several URLs (the nodes of a cluster, docs/cluster.md) share the\n"
    "connections: connection i goes to URL i modulo their number.\n";

#define HB_MAX_URLS 16

struct conn {
    int fd;
    size_t url; /* which of the URLs it talks to */
    bool busy;
    size_t first, count; /* records this request answers for */
    const uint8_t *out;
    size_t out_len, out_off;
    struct base_buf in;
};

struct hb {
    char host[256]; /* the first URL's */
    char port[8];
    char hosts[HB_MAX_URLS][256];
    char ports[HB_MAX_URLS][8];
    size_t nurls;
    const char *workload;
    bool reading; /* the measured read round: any 200 is a success */
    size_t n, batch, nconn;
    double rate;
    struct base_buf *envs; /* create: the signed envelopes */
    struct cr_hash *ids;   /* --acked: the envelopes' ids */
    int acked_fd;          /* --acked; -1: none */
    struct base_buf *reqs; /* the request bytes, one per request */
    size_t nreq;
    struct bench_rec *recs;
    char prefix[16];
    char channel[LG_NAME_MAX + 1]; /* the node's (GET /v1/tip) */
    struct conn *conns;
    int ep;
};

static int dial(struct hb *b, size_t url)
{
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(b->hosts[url], b->ports[url], &hints, &ai) != 0) {
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return fd;
}

static int add_request(struct hb *b, const char *method, const char *path,
                       const char *ctype, const void *body, size_t len)
{
    struct base_buf *r = &b->reqs[b->nreq++];
    base_buf_init(r, 0);
    int rv = base_buf_printf(r, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path,
                             b->host);
    if (rv == 0 && body != NULL) {
        rv = base_buf_printf(r, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                             ctype, len);
    }
    rv = rv ? rv : base_buf_add_str(r, "\r\n");
    return rv ? rv : (body ? base_buf_add(r, body, len) : 0);
}

/* The requests of a create round: one envelope each, or batches. */
static int build_creates(struct hb *b)
{
    b->nreq = 0;
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < b->n; i += b->batch) {
        size_t k = b->n - i < b->batch ? b->n - i : b->batch;
        if (b->batch == 1) {
            rv = add_request(b, "POST", "/v1/tx", "application/octet-stream",
                             b->envs[i].data, b->envs[i].len);
            continue;
        }
        struct base_buf body;
        base_buf_init(&body, 0);
        for (size_t j = i; rv == 0 && j < i + k; j++) {
            rv = base_buf_add_u32(&body, (uint32_t)b->envs[j].len);
            rv = rv ? rv : base_buf_add(&body, b->envs[j].data, b->envs[j].len);
        }
        rv = rv ? rv
                : add_request(b, "POST", "/v1/tx",
                              "application/vnd.gridledger.batch", body.data,
                              body.len);
        base_buf_release(&body);
    }
    return rv;
}

static int build_reads(struct hb *b, size_t keys)
{
    b->nreq = 0;
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < b->n; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/state/asset/hb-%s-%zu", b->prefix,
                 i % keys);
        rv = add_request(b, "GET", path, NULL, NULL, 0);
    }
    return rv;
}

/* A complete answer in @in: its status and body; 0 when more is needed. */
static int parse_answer(struct base_buf *in, int *status, const char **body,
                        size_t *blen)
{
    if (base_buf_terminate(in) != 0) {
        return -1;
    }
    const char *p = (const char *)in->data;
    const char *end = strstr(p, "\r\n\r\n");
    if (end == NULL) {
        return 0;
    }
    if (strncmp(p, "HTTP/1.1 ", 9) != 0) {
        return -1;
    }
    *status = atoi(p + 9);
    size_t cl = 0;
    for (const char *h = strstr(p, "\r\n"); h != NULL && h < end;
         h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0) {
            cl = (size_t)strtoull(h + 17, NULL, 10);
        }
    }
    size_t hl = (size_t)(end + 4 - p);
    if (in->len < hl + cl) {
        return 0;
    }
    *body = p + hl;
    *blen = cl;
    return 1;
}

/* Occurrences of @needle in the answer's body (NUL-terminated: the
 * connection's buffer is, and holds one answer). */
static size_t count(const char *body, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(body, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Log the transactions a 200 answer acknowledges as committed: one result
 * object, or a batch's {"results": [...]} in envelope order. Only an answer
 * that names the envelope sent counts: the log is what the node promised
 * about these transactions. */
static void log_acked(struct hb *b, const struct conn *c, const char *body)
{
    json_t *o = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *res = json_object_get(o, "results");
    size_t n = json_is_array(res) ? json_array_size(res) : 1;
    for (size_t i = 0; o != NULL && i < n && i < c->count; i++) {
        json_t *r = json_is_array(res) ? json_array_get(res, i) : o;
        const char *id = json_string_value(json_object_get(r, "id"));
        uint8_t got[CR_HASH_SIZE];
        if (!json_is_true(json_object_get(r, "committed")) || id == NULL ||
            base_hex_decode(got, sizeof got, id) != 0) {
            continue;
        }
        const struct cr_hash *want = &b->ids[c->first + i];
        if (memcmp(got, want->b, CR_HASH_SIZE) != 0) {
            fprintf(stderr,
                    "http-bench: an answer names %s, not the "
                    "transaction sent\n",
                    id);
            continue;
        }
        bench_acked_log(b->acked_fd, got);
    }
    json_decref(o);
}

static void finish(struct hb *b, struct conn *c, int status, const char *body)
{
    if (status == 200 && !b->reading && b->acked_fd >= 0) {
        log_acked(b, c, body);
    }
    uint64_t now = base_mono_ns();
    size_t ok = 0;
    if (status == 200 && b->reading) {
        ok = 1;
    } else if (status == 200) {
        ok = count(body, "\"code\":0,");
    }
    for (size_t i = 0; i < c->count; i++) {
        struct bench_rec *r = &b->recs[c->first + i];
        r->done = now;
        r->code = i < ok ? 0 : (status ? status : -1);
    }
    c->busy = false;
    base_buf_reset(&c->in);
}

static int send_more(struct hb *b, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {EPOLLIN | EPOLLOUT, {.ptr = c}};
            epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        if (w < 0) {
            return -1;
        }
        c->out_off += (size_t)w;
    }
    struct epoll_event ev = {EPOLLIN, {.ptr = c}};
    epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

static int reconnect(struct hb *b, struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = dial(b, c->url);
    if (c->fd < 0) {
        return -1;
    }
    struct epoll_event ev = {EPOLLIN, {.ptr = c}};
    return epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Fail the connection's request and open a new connection. */
static int drop(struct hb *b, struct conn *c)
{
    if (c->busy) {
        finish(b, c, 0, "");
    }
    return reconnect(b, c);
}

/* Send every request, C at a time, and wait for all answers. */
static int run(struct hb *b, bool tty, const char *what)
{
    b->ep = epoll_create1(0);
    for (size_t i = 0; i < b->nconn; i++) {
        b->conns[i].fd = -1;
        b->conns[i].url = i % b->nurls;
        base_buf_init(&b->conns[i].in, 0);
        if (reconnect(b, &b->conns[i]) != 0) {
            return cmd_fail(1, "cannot connect to %s:%s", b->host, b->port);
        }
    }
    size_t next = 0, done = 0, per = b->batch;
    uint64_t t0 = base_mono_ns(), shown = t0;
    struct epoll_event evs[256];
    while (done < b->nreq) {
        uint64_t now = base_mono_ns();
        for (size_t i = 0; i < b->nconn && next < b->nreq; i++) {
            struct conn *c = &b->conns[i];
            uint64_t due = b->rate > 0
                               ? t0 + (uint64_t)((double)next * 1e9 / b->rate)
                               : now;
            if (c->busy || due > now) {
                continue;
            }
            c->busy = true;
            c->first = next * per;
            c->count = c->first + per <= b->n ? per : b->n - c->first;
            c->out = b->reqs[next].data;
            c->out_len = b->reqs[next].len;
            c->out_off = 0;
            for (size_t k = 0; k < c->count; k++) {
                b->recs[c->first + k].sent = due;
            }
            next++;
            if (send_more(b, c) != 0 && drop(b, c) != 0) {
                return cmd_fail(1, "connection lost");
            }
        }
        /* Sleep until shortly before the next request is due
         * (epoll_pwait2 takes nanoseconds), then poll for the last 100 us:
         * a timer wakes late by tens of microseconds, and spinning the
         * whole wait would take a core the node needs. */
        uint64_t wait_ns = 100000000u;
        if (b->rate > 0 && next < b->nreq) {
            uint64_t due = t0 + (uint64_t)((double)next * 1e9 / b->rate);
            now = base_mono_ns();
            wait_ns = due > now + 100000u ? due - now - 100000u : 0;
        }
        struct timespec ts = {(time_t)(wait_ns / 1000000000u),
                              (long)(wait_ns % 1000000000u)};
        int ne = epoll_pwait2(b->ep, evs, 256, &ts, NULL);
        for (int e = 0; e < ne; e++) {
            struct conn *c = evs[e].data.ptr;
            if ((evs[e].events & EPOLLOUT) && send_more(b, c) != 0) {
                done += c->busy;
                drop(b, c);
                continue;
            }
            if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                continue;
            }
            char buf[65536];
            ssize_t got = recv(c->fd, buf, sizeof buf, 0);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    continue;
                }
                done += c->busy;
                drop(b, c);
                continue;
            }
            if (base_buf_add(&c->in, buf, (size_t)got) != 0) {
                return cmd_fail(1, "out of memory");
            }
            int status;
            const char *body;
            size_t blen;
            int pa = parse_answer(&c->in, &status, &body, &blen);
            if (pa < 0) {
                done += c->busy;
                drop(b, c);
            } else if (pa > 0 && c->busy) {
                finish(b, c, status, body);
                done++;
            }
        }
        if (tty && base_mono_ns() - shown > 200000000u) {
            shown = base_mono_ns();
            fprintf(stderr, "\r%s: %zu/%zu requests answered, %.1f s   ", what,
                    done, b->nreq, (double)(shown - t0) / 1e9);
        }
    }
    if (tty) {
        fputs("\r\033[K", stderr);
    }
    for (size_t i = 0; i < b->nconn; i++) {
        close(b->conns[i].fd);
        base_buf_release(&b->conns[i].in);
    }
    close(b->ep);
    return 0;
}

static int presign(struct hb *b, const struct app_member *m, size_t n,
                   const char *fn)
{
    uint64_t nonce;
    cr_random(&nonce, sizeof nonce);
    nonce >>= 1;
    for (size_t i = 0; i < n; i++) {
        char id[64], val[24];
        snprintf(id, sizeof id, "hb-%s-%zu", b->prefix, i);
        snprintf(val, sizeof val, "%zu", i);
        struct lg_slice args[2] = {{(const uint8_t *)id, strlen(id)},
                                   {(const uint8_t *)val, strlen(val)}};
        struct lg_call call = {b->channel, "asset", fn, 2, args};
        base_buf_init(&b->envs[i], 0);
        if (lg_tx_build(&b->envs[i], &call, &m->cert, &m->key, nonce + i,
                        b->ids != NULL ? &b->ids[i] : NULL) != 0) {
            return cmd_fail(1, "cannot sign");
        }
    }
    return 0;
}

static int parse_one_url(struct hb *b, const char *url, size_t len)
{
    char u[300];
    snprintf(u, sizeof u, "%.*s", (int)(len < 299 ? len : 299), url);
    if (strncmp(u, "http://", 7) != 0) {
        return cmd_fail(2, "URL must be http://HOST:PORT, not '%s'", u);
    }
    const char *h = u + 7, *colon = strrchr(h, ':');
    if (colon == NULL || (size_t)(colon - h) >= sizeof b->host) {
        return cmd_fail(2, "URL must be http://HOST:PORT, not '%s'", u);
    }
    if (b->nurls == HB_MAX_URLS) {
        return cmd_fail(2, "at most %d URLs", HB_MAX_URLS);
    }
    size_t k = b->nurls++;
    snprintf(b->hosts[k], sizeof b->hosts[k], "%.*s", (int)(colon - h), h);
    snprintf(b->ports[k], sizeof b->ports[k], "%.*s",
             (int)strcspn(colon + 1, "/"), colon + 1);
    return 0;
}

/* URL, or URL,URL,... : the nodes to spread the connections over. */
static int parse_url(struct hb *b, const char *url)
{
    if (strncmp(url, "https://", 8) == 0) {
        return cmd_fail(2,
                        "the HTTP benchmark speaks plain HTTP (its own "
                        "epoll client); benchmark an https node from its "
                        "loopback side, not '%s'",
                        url);
    }
    for (const char *p = url;;) {
        size_t len = strcspn(p, ",");
        if (parse_one_url(b, p, len) != 0) {
            return 1;
        }
        if (p[len] == '\0') {
            break;
        }
        p += len + 1;
    }
    snprintf(b->host, sizeof b->host, "%s", b->hosts[0]);
    snprintf(b->port, sizeof b->port, "%s", b->ports[0]);
    return 0;
}

/* The channel the node serves (the envelopes name it), from GET /v1/tip
 * on a connection of its own. Only a node that cannot be reached fails. */
static int node_channel(struct hb *b, const char *url)
{
    int fd = dial(b, 0);
    if (fd < 0) {
        return cmd_fail(1, "cannot reach %s: %s", url, strerror(errno));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    char req[512], buf[4096];
    int n = snprintf(req, sizeof req,
                     "GET /v1/tip HTTP/1.1\r\nHost: %s\r\nConnection: "
                     "close\r\n\r\n",
                     b->host);
    size_t got = 0;
    ssize_t r = send(fd, req, (size_t)n, MSG_NOSIGNAL);
    while (r > 0 && got < sizeof buf - 1 &&
           (r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0) {
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    const char *ch = strstr(buf, "\"channel\":\"");
    size_t len = ch ? strcspn(ch + 11, "\"") : 0;
    if (ch == NULL || len == 0 || len > LG_NAME_MAX) {
        /* A --require-key node answers 401 here, yet takes signed
         * envelopes: assume the default channel, as before. */
        fprintf(stderr, "http-bench: %s answered no tip; assuming channel %s\n",
                url, APP_DEFAULT_CHANNEL);
        snprintf(b->channel, sizeof b->channel, "%s", APP_DEFAULT_CHANNEL);
        return 0;
    }
    snprintf(b->channel, sizeof b->channel, "%.*s", (int)len, ch + 11);
    return 0;
}

static void release(struct hb *b, size_t nenv)
{
    for (size_t i = 0; b->envs != NULL && i < nenv; i++) {
        base_buf_release(&b->envs[i]);
    }
    for (size_t i = 0; b->reqs != NULL && i < b->nreq; i++) {
        base_buf_release(&b->reqs[i]);
    }
    base_free(b->envs);
    base_free(b->ids);
    if (b->acked_fd >= 0) {
        close(b->acked_fd);
    }
    base_free(b->reqs);
    base_free(b->recs);
    base_free(b->conns);
}

int cmd_http_bench(int argc, char **argv)
{
    const char *ledger = app_take_opt(&argc, argv, "--ledger");
    const char *workload = app_take_opt(&argc, argv, "--workload");
    const char *ntx = app_take_opt(&argc, argv, "--tx");
    const char *conns = app_take_opt(&argc, argv, "--connections");
    const char *batch = app_take_opt(&argc, argv, "--batch");
    const char *rate = app_take_opt(&argc, argv, "--rate");
    const char *as = app_take_opt(&argc, argv, "--as");
    const char *json = app_take_opt(&argc, argv, "--json");
    const char *trace = app_take_opt(&argc, argv, "--trace");
    const char *acked = app_take_opt(&argc, argv, "--acked");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    struct hb b;
    memset(&b, 0, sizeof b);
    b.acked_fd = -1;
    uint64_t n = 10000, c = 64, k = 1;
    double r = 0;
    if (argc != 2 || ledger == NULL || workload == NULL ||
        (ntx && (base_parse_u64(ntx, &n) || n == 0 || n > 5000000)) ||
        (conns && (base_parse_u64(conns, &c) || c == 0 || c > 4096)) ||
        (batch && (base_parse_u64(batch, &k) || k == 0 || k > 10000)) ||
        (rate && (base_parse_double(rate, &r) || r <= 0))) {
        fputs(usage, stderr);
        return 2;
    }
    bool reads = strcmp(workload, "read") == 0;
    bool updates = strcmp(workload, "update") == 0;
    if (!reads && !updates && strcmp(workload, "create") != 0) {
        return cmd_fail(2, "workload must be create, read or update");
    }
    if (parse_url(&b, argv[1]) != 0) {
        return 2;
    }
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    struct app_member m;
    if (app_member_load(&m, ledger, as ? as : "DERA1/operator") != 0) {
        return 1;
    }
    b.workload = workload;
    b.nconn = (size_t)c;
    b.rate = r;
    uint32_t rnd;
    cr_random(&rnd, sizeof rnd);
    snprintf(b.prefix, sizeof b.prefix, "%08x", rnd);
    /* Reads first create the keys they read, in batches, unmeasured. */
    size_t nenv = reads ? (n < 1000 ? (size_t)n : 1000) : (size_t)n;
    b.n = nenv;
    b.batch = reads ? 100 : (size_t)k;
    b.envs = base_calloc(nenv, sizeof *b.envs);
    b.reqs = base_calloc(n, sizeof *b.reqs);
    b.recs = base_calloc(n, sizeof *b.recs);
    b.conns = base_calloc(b.nconn, sizeof *b.conns);
    b.ids = acked != NULL ? base_calloc(nenv, sizeof *b.ids) : NULL;
    if (!b.envs || !b.reqs || !b.recs || !b.conns ||
        (acked != NULL && b.ids == NULL)) {
        release(&b, 0);
        return cmd_fail(1, "out of memory");
    }
    if (acked != NULL && (b.acked_fd = bench_acked_open(acked)) < 0) {
        release(&b, 0);
        return 1;
    }
    fprintf(stderr, "http-bench: signing %zu transactions as %s...\n", nenv,
            as ? as : "DERA1/operator");
    int rv = node_channel(&b, argv[1]);
    rv = rv ? rv : presign(&b, &m, nenv, "create");
    bool tty = isatty(2);
    if (rv == 0 && updates) {
        /* Setup: the assets, created in batches of 100 (not measured);
         * then the measured round updates each once. */
        b.batch = 100;
        rv = build_creates(&b) != 0 ? cmd_fail(1, "out of memory") : 0;
        rv = rv ? rv : run(&b, tty, "setup");
        for (size_t i = 0; rv == 0 && i < nenv; i++) {
            if (b.recs[i].code != 0) {
                rv = cmd_fail(1, "setup: creating the assets failed (%d)",
                              b.recs[i].code);
            }
        }
        for (size_t i = 0; i < b.nreq; i++) {
            base_buf_release(&b.reqs[i]);
        }
        for (size_t i = 0; i < nenv; i++) {
            base_buf_release(&b.envs[i]);
        }
        b.nreq = 0;
        b.batch = (size_t)k;
        memset(b.recs, 0, b.n * sizeof *b.recs);
        rv = rv ? rv : presign(&b, &m, nenv, "update");
    }
    cr_wipe(&m.key, sizeof m.key);
    if (rv == 0 && build_creates(&b) != 0) {
        rv = cmd_fail(1, "out of memory");
    }
    if (rv == 0 && reads) {
        double saved = b.rate;
        b.rate = 0;
        rv = run(&b, tty, "setup");
        b.rate = saved;
        for (size_t i = 0; rv == 0 && i < b.nreq; i++) {
            base_buf_release(&b.reqs[i]);
        }
        for (size_t i = 0; rv == 0 && i < nenv; i++) {
            if (b.recs[i].code != 0) {
                rv = cmd_fail(1, "setup: creating the keys failed (%d)",
                              b.recs[i].code);
            }
        }
        b.n = (size_t)n;
        b.batch = 1;
        if (rv == 0 && build_reads(&b, nenv) != 0) {
            rv = cmd_fail(1, "out of memory");
        }
        memset(b.recs, 0, b.n * sizeof *b.recs);
        b.reading = true;
    }
    if (rv == 0) {
        fprintf(stderr,
                "http-bench: %s round, %zu %s in %zu requests, %zu "
                "connections, rate %s\n",
                workload, b.n, reads ? "reads" : "transactions", b.nreq,
                b.nconn, rate ? rate : "max");
        rv = run(&b, tty, workload);
    }
    if (rv == 0) {
        struct bench_metrics mt;
        bench_compute(b.recs, b.n, &mt);
        bench_print_table(workload, &mt);
        if (json != NULL) {
            rv = bench_write_json(json, workload, &mt);
        }
        if (rv == 0 && trace != NULL) {
            rv = bench_write_trace(trace, b.recs, b.n);
        }
        for (size_t i = 0; rv == 0 && i < b.n; i++) {
            if (b.recs[i].code != 0) {
                fprintf(stderr, "http-bench: first failure: HTTP %d\n",
                        b.recs[i].code);
                break;
            }
        }
    }
    release(&b, nenv);
    return rv;
}
