/* SPDX-License-Identifier: MIT */
/* The cluster as real processes: three (four for the join) `gridledger
 * node --cluster` processes on loopback, driven over HTTP. The leader is
 * killed with SIGKILL under load from a client that sends to every node;
 * a stopped follower restarts and catches up; a new node joins and
 * catches up from a snapshot; a minority cut off by TCP proxies makes no
 * progress and rejoins; a damaged block store refuses to start; the
 * documented errors. After each test `gridledger verify` passes on every
 * node's directory. No timing is asserted: the failover time is printed
 * (bench/cluster.sh measures it). */
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consortium.h"
#include "gateway/gateway.h"
#include "gwtest.h"

#define MAXN 4

struct cnode {
    struct gt_node g; /* g.ledger is the node's directory */
    int id;
    int raft_port, http_port;
    char spec[1024]; /* the --cluster list this node is started with */
};

struct ccl {
    char dir[PATH_MAX];
    size_t n;
    struct cnode nodes[MAXN];
    char spec[1024]; /* every member, as they really are */
    struct lg_cert cert;
    struct cr_keypair key;
    atomic_uint_fast64_t nonce;
    /* "X-API-Key: TOKEN" for reads on nodes run with --require-key; "":
     * none. */
    char apikey[GW_KEY_TOKEN_LEN + 16];
};

static void cl_init(struct ccl *c, size_t n, const char *tag)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    tl_tmpdir(c->dir, tag);
    char out[4096];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        struct cnode *x = &c->nodes[i];
        x->id = (int)i + 1;
        snprintf(x->g.dir, sizeof x->g.dir, "%s", c->dir);
        snprintf(x->g.ledger, sizeof x->g.ledger, "%s/n%d", c->dir, x->id);
        snprintf(x->g.log, sizeof x->g.log, "%s/n%d.log", c->dir, x->id);
        x->raft_port = tl_free_port();
        x->http_port = tl_free_port();
        snprintf(x->g.url, sizeof x->g.url, "http://127.0.0.1:%d",
                 x->http_port);
        len += (size_t)snprintf(c->spec + len, sizeof c->spec - len,
                                "%s%d@127.0.0.1:%d/127.0.0.1:%d", i ? "," : "",
                                x->id, x->raft_port, x->http_port);
    }
    /* One ledger made once, copied to each node (docs/cluster.md). */
    assert_int_equal(tl_run(out, sizeof out, "%s init %s 2>&1", tl_binary(),
                            c->nodes[0].g.ledger),
                     0);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(tl_run(out, sizeof out, "cp -r %s %s 2>&1",
                                c->nodes[0].g.ledger, c->nodes[i].g.ledger),
                         0);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(c->nodes[i].spec, sizeof c->nodes[i].spec, "%s", c->spec);
    }
    gt_member(&c->nodes[0].g, "DERA1/operator", &c->cert, &c->key);
    uint64_t start;
    cr_random(&start, sizeof start);
    atomic_init(&c->nonce, start >> 2);
}

/* Start node @i with @extra arguments; wait until it listens. */
static void cl_start(struct ccl *c, size_t i, const char *extra)
{
    struct cnode *x = &c->nodes[i];
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "exec %s node %s --cluster %s --id %d --no-access-log "
             "--election-ms 1000 %s 2>>%s >/dev/null",
             tl_binary(), x->g.ledger, x->spec, x->id, extra, x->g.log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    x->g.pid = pid;
    for (int k = 0; k < 6000; k++) {
        struct gt_resp r;
        if (gt_get(&x->g, &r, "/healthz") == 200) {
            gt_free(&r);
            return;
        }
        gt_free(&r);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            x->g.pid = 0;
            fail_msg("node %d exited before listening (see %s)", x->id,
                     x->g.log);
        }
        usleep(10000);
    }
    fail_msg("node %d did not listen within 60 s", x->id);
}

static void cl_start_all(struct ccl *c, const char *extra)
{
    for (size_t i = 0; i < c->n; i++) {
        cl_start(c, i, extra);
    }
}

static void cl_kill(struct ccl *c, size_t i)
{
    struct cnode *x = &c->nodes[i];
    assert_true(x->g.pid > 0);
    kill(x->g.pid, SIGKILL);
    waitpid(x->g.pid, NULL, 0);
    x->g.pid = 0;
}

/* Stop every node cleanly (exit status 0), then `gridledger verify` each
 * directory, and remove everything. */
static void cl_finish(struct ccl *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->nodes[i].g.pid > 0) {
            assert_int_equal(gt_stop(&c->nodes[i].g), 0);
        }
    }
    char first[1024] = "";
    for (size_t i = 0; i < c->n; i++) {
        char out[8192];
        int rv = tl_run(out, sizeof out, "%s verify %s 2>&1", tl_binary(),
                        c->nodes[i].g.ledger);
        if (rv != 0) {
            fail_msg("verify of node %zu failed: %s", i + 1, out);
        }
        /* Every node ends at the same block with the same state hash. */
        assert_int_equal(tl_run(out, sizeof out, "%s query %s state 2>&1",
                                tl_binary(), c->nodes[i].g.ledger),
                         0);
        assert_non_null(strstr(out, "\"state_hash\""));
        if (i == 0) {
            snprintf(first, sizeof first, "%s", out);
        } else if (strcmp(first, out) != 0) {
            fail_msg("node %zu ends elsewhere than node 1:\n%s\n%s", i + 1, out,
                     first);
        }
    }
    tl_rmrf(c->dir);
}

/* GET /v1/cluster of node @i; NULL when it does not answer. */
static json_t *cl_view(struct ccl *c, size_t i)
{
    if (c->nodes[i].g.pid <= 0) {
        return NULL;
    }
    struct gt_resp r;
    json_t *o = NULL;
    if (gt_get(&c->nodes[i].g, &r, "/v1/cluster") == 200) {
        o = json_loads(r.body, 0, NULL);
    }
    gt_free(&r);
    return o;
}

static long long jnum(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* The index of a running node that says it leads, other than @not (or
 * -1); waits up to 60 s and fails the test if none does. */
static size_t cl_leader(struct ccl *c, int not )
{
    for (int k = 0; k < 6000; k++) {
        for (size_t i = 0; i < c->n; i++) {
            if ((int)i == not ) {
                continue;
            }
            json_t *v = cl_view(c, i);
            bool leads = v != NULL &&
                         strcmp(json_string_value(json_object_get(v, "role")),
                                "leader") == 0;
            json_decref(v);
            if (leads) {
                return i;
            }
        }
        usleep(10000);
    }
    fail_msg("no leader within 60 s");
    return 0;
}

/* Wait until the running nodes in @mask (bit i: node i) are at one
 * height with one state hash, and that height is at least @min. */
static uint64_t cl_converge(struct ccl *c, unsigned mask, uint64_t min)
{
    for (int k = 0; k < 1200; k++) {
        bool same = true;
        long long h = -1;
        char hash[80] = "";
        for (size_t i = 0; i < c->n && same; i++) {
            if (!(mask & (1u << i))) {
                continue;
            }
            json_t *v = cl_view(c, i);
            const char *s = json_string_value(json_object_get(v, "state_hash"));
            if (v == NULL || s == NULL) {
                same = false;
            } else if (h < 0) {
                h = jnum(v, "height");
                snprintf(hash, sizeof hash, "%s", s);
            } else {
                same = jnum(v, "height") == h && strcmp(s, hash) == 0;
            }
            json_decref(v);
        }
        if (same && h >= (long long)min) {
            return (uint64_t)h;
        }
        usleep(50000);
    }
    fail_msg("nodes did not reach one height and state hash within 60 s");
    return 0;
}

/* ---- submitting ---------------------------------------------------------- */

/* @count asset.create envelopes as a batch body, ids into @ids. */
static void cl_batch(struct ccl *c, struct base_buf *out, int count,
                     struct cr_hash *ids)
{
    struct base_buf one;
    base_buf_init(&one, 0);
    base_buf_reset(out);
    for (int i = 0; i < count; i++) {
        uint64_t nonce = atomic_fetch_add(&c->nonce, 1);
        char aid[40], *argv[2] = {aid, "1"};
        snprintf(aid, sizeof aid, "a%llu", (unsigned long long)nonce);
        struct lg_slice args[2];
        for (int k = 0; k < 2; k++) {
            args[k] =
                (struct lg_slice){(const uint8_t *)argv[k], strlen(argv[k])};
        }
        struct lg_call call = {"energy", "asset", "create", 2, args};
        base_buf_reset(&one);
        assert_int_equal(
            lg_tx_build(&one, &call, &c->cert, &c->key, nonce, &ids[i]), 0);
        assert_int_equal(base_buf_add_u32(out, (uint32_t)one.len), 0);
        assert_int_equal(base_buf_add(out, one.data, one.len), 0);
    }
    base_buf_release(&one);
}

/* Submit @count to node @i and wait; the ids it acknowledged as committed
 * valid go to @acked (up to @max; *@nacked grows). Returns the HTTP
 * status (0: no answer). */
static long cl_submit(struct ccl *c, size_t i, int count, struct cr_hash *acked,
                      size_t max, size_t *nacked)
{
    struct cr_hash ids[64];
    assert_true(count <= 64);
    struct base_buf b;
    base_buf_init(&b, 0);
    cl_batch(c, &b, count, ids);
    struct gt_resp r;
    long st = gt_http(&c->nodes[i].g, &r, "POST", "/v1/tx", NULL,
                      "application/vnd.gridledger.batch", b.data, b.len);
    if (st == 200) {
        json_t *o = json_loads(r.body, 0, NULL);
        json_t *res = json_object_get(o, "results");
        size_t k;
        json_t *x;
        json_array_foreach(res, k, x)
        {
            if (json_is_true(json_object_get(x, "committed")) &&
                jnum(x, "code") == 0 && *nacked < max) {
                acked[(*nacked)++] = ids[k];
            }
        }
        json_decref(o);
    }
    gt_free(&r);
    base_buf_release(&b);
    return st;
}

static bool cl_has_tx(struct ccl *c, size_t i, const struct cr_hash *id)
{
    char hex[65], path[100];
    base_hex_encode(hex, id->b, 32);
    snprintf(path, sizeof path, "/v1/tx/%s", hex);
    struct gt_resp r;
    const char *h[] = {c->apikey, NULL};
    long st = gt_http(&c->nodes[i].g, &r, "GET", path,
                      c->apikey[0] != '\0' ? h : NULL, NULL, NULL, 0);
    gt_free(&r);
    return st == 200;
}

static void cl_assert_all_have(struct ccl *c, unsigned mask,
                               const struct cr_hash *ids, size_t n)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; (mask & (1u << i)) && k < n; k++) {
            if (!cl_has_tx(c, i, &ids[k])) {
                fail_msg("node %zu lacks acknowledged transaction %zu of %zu",
                         i + 1, k, n);
            }
        }
    }
}

/* ---- kill -9 of the leader under load ------------------------------------ */

struct load {
    struct ccl *c;
    atomic_bool stop;
    pthread_mutex_t lock;
    struct cr_hash *acked;
    size_t nacked, max;
    atomic_size_t requests, failed;
};

static void *load_main(void *arg)
{
    struct load *ld = arg;
    struct cr_hash mine[32];
    for (size_t k = 0; !atomic_load(&ld->stop); k++) {
        size_t i = k % ld->c->n;
        if (ld->c->nodes[i].g.pid <= 0) {
            continue;
        }
        size_t n = 0;
        long st = cl_submit(ld->c, i, 20, mine, 32, &n);
        atomic_fetch_add(&ld->requests, 1);
        if (st != 200) {
            atomic_fetch_add(&ld->failed, 1);
        }
        pthread_mutex_lock(&ld->lock);
        for (size_t j = 0; j < n && ld->nacked < ld->max; j++) {
            ld->acked[ld->nacked++] = mine[j];
        }
        pthread_mutex_unlock(&ld->lock);
    }
    return NULL;
}

static size_t acked_now(struct load *ld)
{
    pthread_mutex_lock(&ld->lock);
    size_t n = ld->nacked;
    pthread_mutex_unlock(&ld->lock);
    return n;
}

static void test_kill_leader_under_load(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-kill");
    cl_start_all(&c, "");
    size_t leader = cl_leader(&c, -1);
    struct load ld;
    memset(&ld, 0, sizeof ld);
    ld.c = &c;
    ld.max = 200000;
    ld.acked = base_calloc(ld.max, sizeof *ld.acked);
    pthread_mutex_init(&ld.lock, NULL);
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        assert_int_equal(pthread_create(&th[k], NULL, load_main, &ld), 0);
    }
    /* Under load: some transactions acknowledged. */
    while (acked_now(&ld) < 400) {
        usleep(10000);
    }
    leader = cl_leader(&c, -1);
    size_t before = acked_now(&ld);
    uint64_t t0 = base_mono_ns();
    cl_kill(&c, leader);
    size_t next = cl_leader(&c, (int)leader);
    uint64_t t_leader = base_mono_ns() - t0;
    /* Progress resumes: more acknowledgements after the kill. */
    while (acked_now(&ld) < before + 400) {
        usleep(10000);
        if (base_mono_ns() - t0 > 120ull * 1000000000ull) {
            fail_msg("no progress within 120 s of the kill");
        }
    }
    fprintf(stderr,
            "kill -9 of node %zu: node %zu leads %.0f ms later; %zu "
            "acknowledged before, %zu now\n",
            leader + 1, next + 1, (double)t_leader / 1e6, before,
            acked_now(&ld));
    atomic_store(&ld.stop, true);
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
    }
    /* The old leader restarts from its disk and catches up. */
    cl_start(&c, leader, "");
    cl_converge(&c, 7, 1);
    fprintf(stderr, "%zu acknowledged in %zu requests (%zu failed)\n",
            ld.nacked, atomic_load(&ld.requests), atomic_load(&ld.failed));
    cl_assert_all_have(&c, 7, ld.acked, ld.nacked);
    pthread_mutex_destroy(&ld.lock);
    base_free(ld.acked);
    cl_finish(&c);
}

/* ---- a follower restarts ------------------------------------------------- */

/* The size of the biggest open (preallocated) Raft log segment in a
 * node's DIR/raft: what --segment-mib sets. */
static long open_segment_size(const char *ledger)
{
    char out[256];
    assert_int_equal(tl_run(out, sizeof out,
                            "stat -c %%s %s/raft/open-* | sort -n | tail -1",
                            ledger),
                     0);
    return atol(out);
}

static void test_follower_restart(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-restart");
    cl_start_all(&c, "");
    size_t leader = cl_leader(&c, -1);
    size_t f = (leader + 1) % 3;
    struct cr_hash acked[400];
    size_t n = 0;
    for (int k = 0; k < 5; k++) {
        assert_int_equal(cl_submit(&c, (size_t)k % 3, 20, acked, 400, &n), 200);
    }
    cl_converge(&c, 7, 1);
    /* The default segment: 32 MiB (docs/cluster.md, "Snapshots"). */
    assert_int_equal(open_segment_size(c.nodes[f].g.ledger), 32L << 20);
    assert_int_equal(gt_stop(&c.nodes[f].g), 0);
    /* Two of three go on without it. */
    size_t other = (leader + 2) % 3;
    for (int k = 0; k < 5; k++) {
        assert_int_equal(
            cl_submit(&c, k % 2 ? leader : other, 20, acked, 400, &n), 200);
    }
    assert_int_equal(n, 200);
    cl_start(&c, f, "");
    cl_converge(&c, 7, 1);
    cl_assert_all_have(&c, 7, acked, n);
    /* Block by block, the nodes' state hashes agree (GET /v1/blocks). */
    uint64_t h = cl_converge(&c, 7, 1);
    for (uint64_t b = 1; b < h; b += (h / 7) + 1) {
        char path[64], first[80] = "";
        snprintf(path, sizeof path, "/v1/blocks/%llu", (unsigned long long)b);
        for (size_t i = 0; i < 3; i++) {
            struct gt_resp r;
            assert_int_equal(gt_get(&c.nodes[i].g, &r, path), 200);
            json_t *o = json_loads(r.body, 0, NULL);
            const char *sh =
                json_string_value(json_object_get(o, "state_hash"));
            assert_non_null(sh);
            if (i == 0) {
                snprintf(first, sizeof first, "%s", sh);
            }
            assert_string_equal(sh, first);
            json_decref(o);
            gt_free(&r);
        }
    }
    /* It takes submissions again (forwarded if it follows). */
    size_t before = n;
    assert_int_equal(cl_submit(&c, f, 10, acked, 400, &n), 200);
    assert_int_equal(n, before + 10);
    cl_converge(&c, 7, 1);
    cl_assert_all_have(&c, 7, acked, n);
    cl_finish(&c);
}

/* ---- a node joins from a snapshot ---------------------------------------- */

static bool file_has(const char *path, const char *what)
{
    char *text;
    size_t len;
    if (base_read_file(path, 64u << 20, &text, &len) != 0) {
        return false;
    }
    bool found = strstr(text, what) != NULL;
    base_free(text);
    return found;
}

/* Node 4 joins a cluster of three that cut snapshots often, so that it
 * fetches the genesis block and then the blocks behind a snapshot from
 * the members' gateways; every node runs with @extra. With
 * --require-key those reads carry the orderer key's signature, and reads
 * of the transactions take an API key. Returns with the cluster running
 * (cl_finish it). */
static void join_from_snapshot(struct ccl *c, const char *tag, bool require_key)
{
    cl_init(c, 4, tag);
    char out[4096];
    if (require_key) {
        /* One key file, made once, copied to each node with the rest. */
        char token[GW_KEY_TOKEN_LEN + 1];
        gt_apikey(&c->nodes[0].g, token,
                  "--name reader --identity ISO/operator --read-only");
        snprintf(c->apikey, sizeof c->apikey, "X-API-Key: %s", token);
        for (size_t i = 1; i < 3; i++) {
            assert_int_equal(tl_run(out, sizeof out, "cp %s/apikeys.json %s/",
                                    c->nodes[0].g.ledger, c->nodes[i].g.ledger),
                             0);
        }
    }
    /* Three members; node 4 is in the list only for its own start. */
    char three[1024];
    snprintf(three, sizeof three, "%s", c->spec);
    *strrchr(three, ',') = '\0';
    for (size_t i = 0; i < 3; i++) {
        snprintf(c->nodes[i].spec, sizeof c->nodes[i].spec, "%s", three);
    }
    /* Node 4's directory holds only the orderer key. */
    tl_rmrf(c->nodes[3].g.ledger);
    assert_int_equal(tl_run(out, sizeof out,
                            "mkdir -p %s/keys && cp %s/keys/orderer.key "
                            "%s/keys/ 2>&1",
                            c->nodes[3].g.ledger, c->nodes[0].g.ledger,
                            c->nodes[3].g.ledger),
                     0);
    if (require_key) {
        assert_int_equal(tl_run(out, sizeof out, "cp %s/apikeys.json %s/",
                                c->nodes[0].g.ledger, c->nodes[3].g.ledger),
                         0);
    }
    const char *snap = require_key
                           ? "--snapshot-threshold 8 --snapshot-trailing 2 "
                             "--segment-mib 8 --require-key"
                           : "--snapshot-threshold 8 --snapshot-trailing 2 "
                             "--segment-mib 8";
    c->n = 3;
    cl_start_all(c, snap);
    cl_leader(c, -1);
    /* Many blocks: one request waits for its block before the next. */
    struct cr_hash acked[200];
    size_t n = 0;
    for (int k = 0; k < 40; k++) {
        assert_int_equal(cl_submit(c, (size_t)k % 3, 2, acked, 200, &n), 200);
    }
    assert_int_equal(n, 80);
    uint64_t h = cl_converge(c, 7, 30);
    assert_int_equal(open_segment_size(c->nodes[0].g.ledger), 8L << 20);
    c->n = 4;
    char join[160];
    snprintf(join, sizeof join, "%s --join", snap);
    cl_start(c, 3, join);
    /* A node nobody added takes no part. */
    json_t *v = cl_view(c, 3);
    assert_non_null(v);
    assert_int_not_equal(jnum(v, "height"), (long long)h);
    json_decref(v);
    char item[128];
    snprintf(item, sizeof item, "4@127.0.0.1:%d/127.0.0.1:%d",
             c->nodes[3].raft_port, c->nodes[3].http_port);
    int rv = tl_run(out, sizeof out, "%s cluster add %s --node %s %s 2>&1",
                    tl_binary(), c->nodes[0].g.ledger, c->nodes[1].g.url, item);
    if (rv != 0) {
        fail_msg("cluster add: %s", out);
    }
    assert_non_null(strstr(out, "added node 4"));
    cl_converge(c, 15, h);
    assert_true(file_has(c->nodes[3].g.log, "restored a snapshot"));
    /* It takes part: a submission to it commits everywhere. */
    size_t before = n;
    assert_int_equal(cl_submit(c, 3, 10, acked, 200, &n), 200);
    assert_int_equal(n, before + 10);
    cl_converge(c, 15, h + 1);
    cl_assert_all_have(c, 15, acked, n);
    /* gridledger status sees four members, all answering, agreeing. */
    rv = tl_run(out, sizeof out, "%s status --node %s 2>&1", tl_binary(),
                c->nodes[3].g.url);
    if (rv != 0) {
        fail_msg("status: %s", out);
    }
    assert_non_null(strstr(out, "cluster of 4 members"));
    assert_non_null(strstr(out, "4 of 4 nodes answered"));
    assert_non_null(strstr(out, "same state hash"));
}

static void test_join_from_snapshot(void **state)
{
    (void)state;
    struct ccl c;
    join_from_snapshot(&c, "cl-join", false);
    cl_finish(&c);
}

/* GET @path of node @g with the peer header @header (NULL: none); the
 * status, and the body into @r. */
static long peer_get(struct gt_node *g, struct gt_resp *r, const char *path,
                     const char *header)
{
    const char *h[] = {header, NULL};
    return gt_http(g, r, "GET", path, header ? h : NULL, NULL, NULL, 0);
}

static void expect_peer(struct gt_node *g, const char *path, const char *header,
                        long status, const char *what)
{
    struct gt_resp r;
    long st = peer_get(g, &r, path, header);
    if (st != status || (what != NULL && strstr(r.body, what) == NULL)) {
        fail_msg("GET %s: %ld %s (wanted %ld, '%s')", path, st, r.body, status,
                 what ? what : "");
    }
    gt_free(&r);
}

/* Every node runs with --require-key: the joining node still fetches the
 * genesis block and the blocks behind a snapshot, its reads signed with
 * the orderer key (X-Gridledger-Peer). Then what such a header opens, and
 * what it does not. */
static void test_join_require_key(void **state)
{
    (void)state;
    struct ccl c;
    join_from_snapshot(&c, "cl-joinkey", true);
    struct cr_keypair orderer, other;
    char path[PATH_MAX + 32], h[GW_PEER_HEADER_MAX], h2[GW_PEER_HEADER_MAX];
    snprintf(path, sizeof path, "%s/keys/orderer.key", c.nodes[0].g.ledger);
    uint8_t seed[32];
    char *text;
    size_t len;
    assert_int_equal(base_read_file(path, 1024, &text, &len), 0);
    text[len > 64 ? 64 : len] = '\0'; /* the hex seed, without the newline */
    assert_int_equal(base_hex_decode(seed, sizeof seed, text), 0);
    base_free(text);
    cr_keygen_seed(&orderer, seed);
    cr_keygen(&other);
    struct gt_node *g = &c.nodes[1].g;
    const char *blocks = "/v1/blocks?from=1&count=2";
    /* Without a key or a header: refused, as before. */
    expect_peer(g, blocks, NULL, 401, "requires an API key");
    /* Signed with the orderer key: served, in any order of arguments. */
    assert_int_equal(gw_peer_header(&orderer, 4, 0, "GET", blocks, h), 0);
    expect_peer(g, blocks, h, 200, NULL);
    expect_peer(g, "/v1/blocks?count=2&from=1", h, 200, NULL);
    assert_int_equal(
        gw_peer_header(&orderer, 4, 0, "GET", "/v1/blocks/0?format=binary", h2),
        0);
    expect_peer(g, "/v1/blocks/0?format=binary", h2, 200, NULL);
    /* Copied onto another URL: the signature does not cover it. */
    expect_peer(g, "/v1/blocks?from=2&count=2", h, 403, "bad_signature");
    expect_peer(g, "/v1/blocks?from=1&count=2&x=1", h, 403, "bad_signature");
    expect_peer(g, "/v1/blocks?count=2f&rom=1", h, 403, "bad_signature");
    expect_peer(g, "/v1/blocks/1?format=binary", h2, 403, "bad_signature");
    /* Signed with another key. */
    assert_int_equal(gw_peer_header(&other, 4, 0, "GET", blocks, h), 0);
    expect_peer(g, blocks, h, 403, "not signed with the channel's orderer key");
    /* Signed long ago, or far ahead. */
    uint64_t now = base_wall_ns() / 1000000000u;
    assert_int_equal(gw_peer_header(&orderer, 4, now - 3600, "GET", blocks, h),
                     0);
    expect_peer(g, blocks, h, 403, "stale_request");
    assert_int_equal(gw_peer_header(&orderer, 4, now + 3600, "GET", blocks, h),
                     0);
    expect_peer(g, blocks, h, 403, "stale_request");
    /* Malformed. */
    expect_peer(g, blocks, "X-Gridledger-Peer: 4 x y", 401, "malformed");
    expect_peer(g, blocks, "X-Gridledger-Peer: 0", 401, "malformed");
    /* On any other route a valid header opens nothing: it is refused
     * there (issue 15: no credential is ignored). */
    assert_int_equal(
        gw_peer_header(&orderer, 4, 0, "GET", "/v1/state/asset/a1", h), 0);
    expect_peer(g, "/v1/state/asset/a1", h, 401, "only on GET /v1/blocks");
    assert_int_equal(gw_peer_header(&orderer, 4, 0, "GET", "/v1/tip", h), 0);
    expect_peer(g, "/v1/tip", h, 401, "only on GET /v1/blocks");
    cr_wipe(&orderer, sizeof orderer);
    cl_finish(&c);
}

/* ---- a partitioned minority ----------------------------------------------
 * TCP proxies carry node 3's Raft traffic: the others reach it through
 * one, it reaches them through two more. Cutting them cuts node 3 off in
 * both directions, as a network partition does. */

struct proxy {
    int lfd;
    int target;
    atomic_bool cut, stop;
    pthread_t th;
    int fds[64][2];
    size_t npairs;
};

static int listen_on(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    assert_int_equal(listen(fd, 16), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void proxy_drop(struct proxy *p, size_t k)
{
    close(p->fds[k][0]);
    close(p->fds[k][1]);
    p->fds[k][0] = p->fds[k][1] = p->fds[p->npairs - 1][0];
    p->fds[k][1] = p->fds[p->npairs - 1][1];
    p->npairs--;
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf[1 + 128];
        pf[0] = (struct pollfd){p->lfd, POLLIN, 0};
        for (size_t k = 0; k < p->npairs; k++) {
            pf[1 + 2 * k] = (struct pollfd){p->fds[k][0], POLLIN, 0};
            pf[2 + 2 * k] = (struct pollfd){p->fds[k][1], POLLIN, 0};
        }
        if (poll(pf, 1 + 2 * p->npairs, 20) <= 0) {
            continue;
        }
        bool cut = atomic_load(&p->cut);
        if (pf[0].revents & POLLIN) {
            int a = accept(p->lfd, NULL, NULL);
            int b = a >= 0 && !cut ? dial(p->target) : -1;
            if (b >= 0 && p->npairs < 64) {
                p->fds[p->npairs][0] = a;
                p->fds[p->npairs][1] = b;
                p->npairs++;
            } else {
                if (a >= 0) {
                    close(a);
                }
                if (b >= 0) {
                    close(b);
                }
            }
        }
        for (size_t k = p->npairs; k-- > 0;) {
            bool dead = cut;
            for (int s = 0; s < 2 && !dead; s++) {
                if (pf[1 + 2 * k + (size_t)s].revents & (POLLIN | POLLHUP)) {
                    char buf[65536];
                    ssize_t got = read(p->fds[k][s], buf, sizeof buf);
                    dead = got <= 0;
                    for (ssize_t off = 0; !dead && off < got;) {
                        ssize_t w = write(p->fds[k][1 - s], buf + off,
                                          (size_t)(got - off));
                        dead = w <= 0;
                        off += w > 0 ? w : 0;
                    }
                }
            }
            if (dead) {
                proxy_drop(p, k);
            }
        }
    }
    while (p->npairs > 0) {
        proxy_drop(p, 0);
    }
    close(p->lfd);
    return NULL;
}

static int proxy_start(struct proxy *p, int target)
{
    memset(p, 0, sizeof *p);
    int port;
    p->lfd = listen_on(&port);
    p->target = target;
    assert_int_equal(pthread_create(&p->th, NULL, proxy_main, p), 0);
    return port;
}

static void proxy_stop(struct proxy *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
}

static uint64_t height_of(struct ccl *c, size_t i)
{
    json_t *v = cl_view(c, i);
    assert_non_null(v);
    uint64_t h = (uint64_t)jnum(v, "height");
    json_decref(v);
    return h;
}

static void test_partitioned_minority(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-part");
    struct proxy px[3]; /* to node 3; to node 1 and to node 2, for node 3 */
    struct cnode *x = c.nodes;
    int p3 = proxy_start(&px[0], x[2].raft_port);
    int p1 = proxy_start(&px[1], x[0].raft_port);
    int p2 = proxy_start(&px[2], x[1].raft_port);
    for (size_t i = 0; i < 2; i++) {
        snprintf(x[i].spec, sizeof x[i].spec,
                 "1@127.0.0.1:%d/127.0.0.1:%d,2@127.0.0.1:%d/127.0.0.1:%d,"
                 "3@127.0.0.1:%d/127.0.0.1:%d",
                 x[0].raft_port, x[0].http_port, x[1].raft_port, x[1].http_port,
                 p3, x[2].http_port);
    }
    snprintf(x[2].spec, sizeof x[2].spec,
             "1@127.0.0.1:%d/127.0.0.1:%d,2@127.0.0.1:%d/127.0.0.1:%d,"
             "3@127.0.0.1:%d/127.0.0.1:%d",
             p1, x[0].http_port, p2, x[1].http_port, x[2].raft_port,
             x[2].http_port);
    /* Node 3 may not lead: start it last, once 1 and 2 agree. */
    cl_start(&c, 0, "");
    cl_start(&c, 1, "");
    cl_leader(&c, 2);
    cl_start(&c, 2, "");
    struct cr_hash acked[400];
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cl_submit(&c, (size_t)k, 10, acked, 400, &n), 200);
    }
    uint64_t h = cl_converge(&c, 7, 1);
    if (height_of(&c, 2) != h) {
        fail_msg("node 3 not caught up");
    }
    size_t leader = cl_leader(&c, -1);
    if (leader == 2) {
        /* Unlikely; let the majority lead so that the cut leaves the
         * minority without the leader. */
        assert_int_equal(gt_stop(&x[2].g), 0);
        leader = cl_leader(&c, 2);
        cl_start(&c, 2, "");
    }
    for (int k = 0; k < 3; k++) {
        atomic_store(&px[k].cut, true);
    }
    usleep(300000);
    uint64_t h3 = height_of(&c, 2);
    /* The majority goes on... */
    for (int k = 0; k < 6; k++) {
        assert_int_equal(cl_submit(&c, (size_t)k % 2, 10, acked, 400, &n), 200);
    }
    uint64_t h12 = cl_converge(&c, 3, h + 1);
    /* ...the minority does not: no new block, and it does not lead. */
    sleep(2);
    json_t *v = cl_view(&c, 2);
    assert_non_null(v);
    assert_int_equal(jnum(v, "height"), (long long)h3);
    assert_true(h3 < h12);
    assert_string_not_equal(json_string_value(json_object_get(v, "role")),
                            "leader");
    json_decref(v);
    /* Healed, it catches up and has every acknowledged transaction. */
    for (int k = 0; k < 3; k++) {
        atomic_store(&px[k].cut, false);
    }
    cl_converge(&c, 7, h12);
    cl_assert_all_have(&c, 7, acked, n);
    size_t before = n;
    assert_int_equal(cl_submit(&c, 2, 10, acked, 400, &n), 200);
    assert_int_equal(n, before + 10);
    cl_converge(&c, 7, h12 + 1);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gt_stop(&x[i].g), 0);
    }
    for (int k = 0; k < 3; k++) {
        proxy_stop(&px[k]);
    }
    cl_finish(&c);
}

/* ---- a damaged block store ----------------------------------------------- */

static void test_damaged_store_refuses_start(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-damage");
    cl_start_all(&c, "");
    size_t leader = cl_leader(&c, -1);
    size_t f = (leader + 1) % 3;
    struct cr_hash acked[100];
    size_t n = 0;
    assert_int_equal(cl_submit(&c, leader, 10, acked, 100, &n), 200);
    uint64_t h = cl_converge(&c, 7, 2);
    assert_int_equal(gt_stop(&c.nodes[f].g), 0);
    tc_damage_block(c.nodes[f].g.ledger, h - 1, 300);
    /* It refuses to start, and says why. */
    char out[16384];
    int rv = tl_run(out, sizeof out,
                    "%s node %s --cluster %s --id %d --no-access-log 2>&1",
                    tl_binary(), c.nodes[f].g.ledger, c.spec, (int)f + 1);
    assert_int_not_equal(rv, 0);
    assert_non_null(strstr(out, "block store is damaged, refusing to start"));
    assert_non_null(strstr(out, "gridledger verify"));
    /* So does verify. */
    assert_int_not_equal(tl_run(out, sizeof out, "%s verify %s 2>&1",
                                tl_binary(), c.nodes[f].g.ledger),
                         0);
    /* Repaired (the byte flipped back), it starts and catches up. */
    tc_damage_block(c.nodes[f].g.ledger, h - 1, 300);
    cl_start(&c, f, "");
    assert_int_equal(cl_submit(&c, f, 10, acked, 100, &n), 200);
    cl_converge(&c, 7, h + 1);
    cl_assert_all_have(&c, 7, acked, n);
    cl_finish(&c);
}

/* ---- the Raft port against an outsider ------------------------------------
 * Issue 15, finding 1: 72 bytes, libraft 0.15's own TCP handshake then an
 * AppendEntries preamble and a header too short for the message, crashed
 * the node (libraft decodes past the header, takes garbage for an entry
 * count and allocates for it). Now no byte reaches libraft before the
 * peer proves it holds the orderer key (docs/cluster.md, "Transport"). */

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

/* Send the 72-byte packet to @port, with @hlen as the header's length;
 * true if the node closed the connection within 10 s (refused it). */
static bool send_killer_packet(int port, uint64_t hlen)
{
    uint8_t m[72];
    memset(m, 0, sizeof m);
    put_le64(m, 1);      /* libraft's handshake protocol version */
    put_le64(m + 8, 2);  /* a member's id */
    put_le64(m + 16, 8); /* address field, padded to 8 */
    memcpy(m + 24, "1:1", 3);
    put_le64(m + 32, 1);    /* message type: AppendEntries */
    put_le64(m + 40, hlen); /* header length */
    put_le64(m + 48, 1);    /* term; the rest is zeros */
    int fd = dial(port);
    if (fd < 0) {
        fail_msg("nothing listens on Raft port %d any more: the node died",
                 port);
    }
    assert_int_equal(send(fd, m, sizeof m, MSG_NOSIGNAL), (ssize_t)sizeof m);
    struct pollfd pf = {fd, POLLIN, 0};
    bool closed = false;
    if (poll(&pf, 1, 10000) == 1) {
        uint8_t b[256];
        closed = recv(fd, b, sizeof b, 0) <= 0;
    }
    close(fd);
    return closed;
}

static void test_raft_port_outsider(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-outsider");
    cl_start_all(&c, "");
    size_t leader = cl_leader(&c, -1);
    struct cr_hash acked[100];
    size_t n = 0;
    assert_int_equal(cl_submit(&c, leader, 5, acked, 100, &n), 200);
    /* Every node, the leader included, a few times over. */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < c.n; i++) {
            assert_true(send_killer_packet(c.nodes[i].raft_port, 24));
            assert_true(
                send_killer_packet(c.nodes[i].raft_port, UINT64_C(120) << 30));
        }
    }
    for (size_t i = 0; i < c.n; i++) {
        int st;
        if (waitpid(c.nodes[i].g.pid, &st, WNOHANG) != 0) {
            c.nodes[i].g.pid = 0;
            fail_msg("node %zu died of one unauthenticated packet (see %s)",
                     i + 1, c.nodes[i].g.log);
        }
        /* It says whom it refused, and why. */
        assert_true(file_has(c.nodes[i].g.log, "raft peer 127.0.0.1:"));
        assert_true(file_has(c.nodes[i].g.log, "not a gridledger hello"));
    }
    /* The cluster still commits, through every node. */
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(cl_submit(&c, i, 5, acked, 100, &n), 200);
    }
    assert_int_equal(n, 20);
    cl_converge(&c, 7, 2);
    cl_assert_all_have(&c, 7, acked, n);
    cl_finish(&c);
}

/* ---- the documented errors ----------------------------------------------- */

static void expect_fail(const char *args, const char *what)
{
    char out[8192];
    int rv = tl_run(out, sizeof out, "%s %s 2>&1", tl_binary(), args);
    if (rv == 0 || strstr(out, what) == NULL) {
        fail_msg("'%s' gave %d: %s (wanted '%s')", args, rv, out, what);
    }
}

static void test_errors(void **state)
{
    (void)state;
    struct ccl c;
    cl_init(&c, 3, "cl-err");
    char args[4096];
    const char *dir = c.nodes[0].g.ledger;
    snprintf(args, sizeof args, "node %s --cluster 1@127.0.0.1:7001 --id 1",
             dir);
    expect_fail(args, "has no HTTP address");
    snprintf(args, sizeof args, "node %s --cluster %s --id 9", dir, c.spec);
    expect_fail(args, "--id 9 is not in the --cluster list");
    snprintf(args, sizeof args, "node %s --cluster %s", dir, c.spec);
    expect_fail(args, "say which member this node is");
    snprintf(args, sizeof args, "node %s --cluster 1@localhost:7001/x:1 --id 1",
             dir);
    expect_fail(args, "not an IPv4 address");
    snprintf(args, sizeof args, "node %s --cluster 1@127.0.0.1:7001/:1 --id 1",
             dir);
    expect_fail(args, "not an HTTP address");
    snprintf(args, sizeof args, "node %s --join", dir);
    expect_fail(args, "go with --cluster");
    snprintf(args, sizeof args, "node %s --snapshot-mib 16", dir);
    expect_fail(args, "go with --cluster");
    snprintf(args, sizeof args, "node %s --cluster %s --id 1 --segment-mib 2",
             dir, c.spec);
    expect_fail(args, "--segment-mib must be at least 8");
    snprintf(args, sizeof args,
             "node %s --cluster %s --id 1 --tls-cert a --tls-key b", dir,
             c.spec);
    expect_fail(args, "leave out --tls-cert");
    /* A joining node without the orderer key (it signs the request for
     * the genesis block), then with it but no member to ask. */
    snprintf(args, sizeof args, "node %s/new --cluster %s --id 1 --join", c.dir,
             c.spec);
    expect_fail(args, "cannot read the orderer key");
    char out[4096];
    assert_int_equal(tl_run(out, sizeof out,
                            "mkdir -p %s/new/keys && cp %s/keys/orderer.key "
                            "%s/new/keys/ 2>&1",
                            c.dir, dir, c.dir),
                     0);
    expect_fail(args, "no member of the cluster sent its genesis block");
    expect_fail("status --node http://127.0.0.1:1", "does not answer");
    snprintf(args, sizeof args,
             "cluster add %s --node http://127.0.0.1:1 4@127.0.0.1:7004", dir);
    expect_fail(args, "ID@RAFTHOST:PORT/HTTPHOST:PORT");
    /* Its Raft port taken by another program: it says so, not just
     * "I/O error". */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)c.nodes[0].raft_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(sock, 1), 0);
    snprintf(args, sizeof args, "node %s --cluster %s --id 1", dir, c.spec);
    expect_fail(args, "cannot listen for Raft peers on 127.0.0.1:");
    close(sock);

    /* A running cluster: the peers' routes refuse what is not signed. */
    cl_start_all(&c, "");
    size_t leader = cl_leader(&c, -1);
    struct gt_node *g = &c.nodes[leader].g;
    struct gt_resp r;
    assert_int_equal(
        gt_post_json(g, &r, "/v1/cluster/members", NULL,
                     "{\"id\":4,\"address\":\"127.0.0.1:7004/127.0.0.1:8004\","
                     "\"time\":1,\"sig\":\"00\"}"),
        400);
    gt_free(&r);
    char body[1024], sig[129];
    memset(sig, 'a', 128);
    sig[128] = '\0';
    snprintf(body, sizeof body,
             "{\"id\":4,\"address\":\"127.0.0.1:7004/127.0.0.1:8004\","
             "\"time\":%llu,\"sig\":\"%s\"}",
             (unsigned long long)(base_wall_ns() / 1000000000u), sig);
    assert_int_equal(gt_post_json(g, &r, "/v1/cluster/members", NULL, body),
                     403);
    assert_non_null(strstr(r.body, "bad_signature"));
    gt_free(&r);
    char id[65];
    memset(id, 'b', 64);
    id[64] = '\0';
    snprintf(body, sizeof body,
             "{\"notices\":[{\"from\":1,\"to\":%zu,\"id\":\"%s\",\"code\":"
             "-5,\"reason\":\"x\",\"sig\":\"%s\"}]}",
             leader + 1, id, sig);
    assert_int_equal(gt_post_json(g, &r, "/v1/cluster/refused", NULL, body),
                     403);
    assert_non_null(strstr(r.body, "bad_signature"));
    gt_free(&r);
    assert_int_equal(gt_http(g, &r, "POST", "/v1/cluster/forward", NULL,
                             "application/vnd.gridledger.batch", "xx", 2),
                     400);
    gt_free(&r);
    /* A forwarded envelope that is garbage is refused, not ordered. */
    assert_int_equal(gt_http(g, &r, "POST", "/v1/cluster/forward?from=2", NULL,
                             "application/vnd.gridledger.batch", "\0\0\0\2xx",
                             6),
                     200);
    gt_free(&r);
    /* A forged transaction submitted to a follower: the follower hands
     * it on unchecked, the leader refuses it, and the refusal (signed)
     * comes back to the client. */
    size_t f = (leader + 1) % 3;
    struct cr_hash ids[1];
    struct base_buf b;
    base_buf_init(&b, 0);
    cl_batch(&c, &b, 1, ids);
    b.data[b.len - 5] ^= 0x01; /* a byte of the signature */
    assert_int_equal(gt_http(&c.nodes[f].g, &r, "POST", "/v1/tx", NULL,
                             "application/octet-stream", b.data + 4, b.len - 4),
                     403);
    assert_non_null(strstr(r.body, "refused by the leader"));
    assert_non_null(strstr(r.body, "EBADSIG"));
    gt_free(&r);
    /* Issue 15, finding 2 on a cluster: an asset id that is not UTF-8 among
     * good transactions, through a follower. It used to fail the leader's
     * block and leave the sender waiting 30 s for ETIMEDOUT; it is recorded
     * EARGS at once and the good one commits. */
    base_buf_reset(&b);
    cl_batch(&c, &b, 1, ids);
    struct lg_slice bad[2] = {{(const uint8_t *)"\xff"
                                                "A",
                               2},
                              {(const uint8_t *)"1", 1}};
    struct lg_call bc = {"energy", "asset", "create", 2, bad};
    struct base_buf one;
    base_buf_init(&one, 0);
    assert_int_equal(lg_tx_build(&one, &bc, &c.cert, &c.key,
                                 atomic_fetch_add(&c.nonce, 1), NULL),
                     0);
    assert_int_equal(base_buf_add_u32(&b, (uint32_t)one.len), 0);
    assert_int_equal(base_buf_add(&b, one.data, one.len), 0);
    base_buf_release(&one);
    uint64_t t0 = base_mono_ns();
    assert_int_equal(gt_http(&c.nodes[f].g, &r, "POST", "/v1/tx", NULL,
                             "application/vnd.gridledger.batch", b.data, b.len),
                     200);
    assert_true(base_mono_ns() - t0 < 10ull * 1000000000ull);
    json_t *jo = json_loads(r.body, 0, NULL);
    json_t *jr = json_object_get(jo, "results");
    assert_int_equal(json_array_size(jr), 2);
    assert_int_equal(jnum(json_array_get(jr, 0), "code"), 0);
    assert_int_equal(jnum(json_array_get(jr, 1), "code"), BASE_EARGS);
    assert_true(
        json_is_true(json_object_get(json_array_get(jr, 1), "committed")));
    json_decref(jo);
    gt_free(&r);
    base_buf_release(&b);
    cl_finish(&c);

    /* A solo node: a cluster of one; the peers' routes answer 409. */
    struct gt_node s;
    gt_ledger(&s, "cl-solo");
    gt_start(&s, "");
    assert_int_equal(gt_get(&s, &r, "/v1/cluster"), 200);
    assert_non_null(strstr(r.body, "\"mode\":\"solo\""));
    gt_free(&r);
    assert_int_equal(gt_http(&s, &r, "POST", "/v1/cluster/forward?from=2", NULL,
                             "application/vnd.gridledger.batch", "\0\0\0\2xx",
                             6),
                     409);
    assert_non_null(strstr(r.body, "not_clustered"));
    gt_free(&r);
    assert_int_equal(
        tl_run(out, sizeof out, "%s status --node %s 2>&1", tl_binary(), s.url),
        0);
    assert_non_null(strstr(out, "solo node"));
    gt_cleanup(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cr_init() != 0) {
        return 1;
    }
    /* GL_TEST_FILTER=test_raft_port_outsider runs one test. */
    if (getenv("GL_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("GL_TEST_FILTER"));
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_raft_port_outsider),
        cmocka_unit_test(test_follower_restart),
        cmocka_unit_test(test_damaged_store_refuses_start),
        cmocka_unit_test(test_join_from_snapshot),
        cmocka_unit_test(test_join_require_key),
        cmocka_unit_test(test_partitioned_minority),
        cmocka_unit_test(test_kill_leader_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
