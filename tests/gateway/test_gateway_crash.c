/* SPDX-License-Identifier: MIT */
/* What bench/crash.sh stands on, against a real node: a full disk (issue
 * 15, finding 10) makes a node whose store refuses writes say so on /readyz
 * and /metrics, with the reason, and what it acknowledged before is intact
 * once it restarts on a roomier disk; http-bench --acked logs exactly the
 * transactions the node acknowledged. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gwtest.h"

#define BATCH   100
#define MAX_ACK 20000

static char acked[MAX_ACK][65];
static size_t nacked;
/* What the teardown undoes when an assertion stops the test midway. */
static struct gt_node node;
static char mounted[PATH_MAX + 8];

/* Mounting needs root. CI runs as root; anywhere else this test fails
 * loudly rather than skip, so a green run always means it ran. */
static void need_root(void)
{
    if (geteuid() != 0) {
        fail_msg("test_gateway_crash mounts a small tmpfs and needs root "
                 "(CI runs as root): run it as root");
    }
}

/* POST one batch of asset.create; returns the HTTP status and adds the ids
 * of the transactions the node acknowledged (committed) to acked. */
static long submit(const struct gt_node *n, uint64_t nonce, const char *prefix)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    gt_batch(n, &b, "DERA1/operator", nonce, prefix, BATCH);
    struct gt_resp r;
    long st = gt_http(n, &r, "POST", "/v1/tx", NULL,
                      "application/vnd.gridledger.batch", b.data, b.len);
    base_buf_release(&b);
    if (st == 200) {
        json_t *o = json_loads(r.body, 0, NULL);
        assert_non_null(o);
        size_t i;
        json_t *res;
        json_array_foreach(json_object_get(o, "results"), i, res)
        {
            if (json_is_true(json_object_get(res, "committed")) &&
                nacked < MAX_ACK) {
                const char *id = json_string_value(json_object_get(res, "id"));
                assert_non_null(id);
                snprintf(acked[nacked++], 65, "%s", id);
            }
        }
        json_decref(o);
    }
    gt_free(&r);
    return st;
}

/* The node's gl_writes_refused gauge line, copied to @line. */
static void gauge(const struct gt_node *n, char *line, size_t size)
{
    struct gt_resp r;
    assert_int_equal(gt_get(n, &r, "/metrics"), 200);
    char *p = strstr(r.body, "\ngl_writes_refused");
    assert_non_null(p);
    p++;
    size_t len = strcspn(p, "\n");
    snprintf(line, size, "%.*s", (int)(len < size ? len : size - 1), p);
    assert_non_null(strstr(r.body, "# TYPE gl_writes_refused gauge"));
    gt_free(&r);
}

static void test_disk_full(void **state)
{
    (void)state;
    need_root();
    nacked = 0;
    struct gt_node *n = &node;
    memset(n, 0, sizeof *n);
    tl_tmpdir(n->dir, "gw-disk");
    char *small = mounted, out[8192];
    snprintf(small, sizeof mounted, "%s/small", n->dir);
    assert_int_equal(mkdir(small, 0700), 0);
    /* 1 MiB: the new ledger takes about 150 KiB, a few hundred blocks of
     * 100 transactions fill the rest. */
    assert_int_equal(tl_run(out, sizeof out,
                            "mount -t tmpfs -o size=1024k tmpfs %s 2>&1",
                            small),
                     0);
    snprintf(n->ledger, sizeof n->ledger, "%s/L", small);
    snprintf(n->log, sizeof n->log, "%s/node.log", n->dir);
    assert_int_equal(
        tl_run(out, sizeof out, "%s init %s 2>&1", tl_binary(), n->ledger), 0);
    gt_start(n, "--no-access-log");

    struct gt_resp r;
    char line[256];
    assert_int_equal(gt_get(n, &r, "/readyz"), 200);
    assert_non_null(strstr(r.body, "\"ready\""));
    gt_free(&r);
    gauge(n, line, sizeof line);
    assert_string_equal(line, "gl_writes_refused{reason=\"none\"} 0");

    /* Fill the disk: batches until one is not acknowledged whole. */
    uint64_t nonce = 1;
    int batches = 0;
    for (; batches < 2000; batches++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "f%d-", batches);
        size_t before = nacked;
        long st = submit(n, nonce, prefix);
        nonce += BATCH;
        if (st != 200 || nacked - before < BATCH) {
            break;
        }
    }
    assert_true(batches < 2000);
    assert_true(nacked > 0);
    print_message("disk full after %d batches, %zu transactions "
                  "acknowledged\n",
                  batches, nacked);

    /* A write or two more, so a commit has certainly failed. */
    submit(n, nonce, "g-");
    nonce += BATCH;
    submit(n, nonce, "h-");
    nonce += BATCH;
    size_t acked_full = nacked;

    /* Not ready, and why; the gauge says the same; health still answers. */
    assert_int_equal(gt_get(n, &r, "/readyz"), 503);
    json_t *o = json_loads(r.body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "status")),
                        "refusing_writes");
    /* EPANIC when a commit's write failed (LMDB's short write on a full
     * tmpfs), ENOSPC when it failed cleanly: both refuse. */
    char code[16];
    const char *c = json_string_value(json_object_get(o, "error"));
    assert_non_null(c);
    snprintf(code, sizeof code, "%s", c);
    assert_true(strcmp(code, "EPANIC") == 0 || strcmp(code, "ENOSPC") == 0);
    assert_int_equal(json_integer_value(json_object_get(o, "code")),
                     strcmp(code, "EPANIC") == 0 ? BASE_EPANIC : BASE_ENOSPC);
    const char *reason = json_string_value(json_object_get(o, "reason"));
    assert_non_null(reason);
    print_message("/readyz: %s\n", r.body);
    assert_non_null(strstr(reason, "full"));
    json_decref(o);
    gt_free(&r);
    gauge(n, line, sizeof line);
    char want[128];
    snprintf(want, sizeof want, "gl_writes_refused{reason=\"%s\"} 1", code);
    assert_string_equal(line, want);
    assert_int_equal(gt_get(n, &r, "/healthz"), 200);
    gt_free(&r);
    /* Still refusing: nothing more is acknowledged. */
    submit(n, nonce, "i-");
    nonce += BATCH;
    assert_int_equal(nacked, acked_full);
    gt_stop(n);

    /* A roomier disk: the same tmpfs, grown. The node restarts, is ready,
     * and every acknowledged transaction is there. */
    assert_int_equal(
        tl_run(out, sizeof out, "mount -o remount,size=16m %s 2>&1", small), 0);
    assert_int_equal(
        tl_run(out, sizeof out, "%s verify %s 2>&1", tl_binary(), n->ledger),
        0);
    assert_non_null(strstr(out, "verify OK"));
    gt_start(n, "--no-access-log");
    assert_int_equal(gt_get(n, &r, "/readyz"), 200);
    gt_free(&r);
    gauge(n, line, sizeof line);
    assert_string_equal(line, "gl_writes_refused{reason=\"none\"} 0");
    for (size_t i = 0; i < nacked; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/tx/%s", acked[i]);
        long st = gt_get(n, &r, path);
        if (st != 200 || strstr(r.body, "\"VALID\"") == NULL) {
            fail_msg("acknowledged transaction %s is lost: %ld %s", acked[i],
                     st, r.body);
        }
        gt_free(&r);
    }
    /* And it takes writes again. */
    size_t before = nacked;
    assert_int_equal(submit(n, nonce, "after-"), 200);
    assert_int_equal(nacked - before, BATCH);
    gt_stop(n);
    assert_int_equal(tl_run(out, sizeof out, "umount %s 2>&1", small), 0);
    mounted[0] = '\0';
    gt_cleanup(n);
    n->dir[0] = '\0';
}

/* Lines of file @path, each checked to be a 64-hex id; ids go to acked. */
static size_t read_acked(const char *path)
{
    char *text;
    size_t len, lines = 0;
    assert_int_equal(base_read_file(path, 0, &text, &len), 0);
    nacked = 0;
    for (char *p = text; *p != '\0'; lines++) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_int_equal(nl - p, 64);
        assert_int_equal(strspn(p, "0123456789abcdef"), 64);
        if (nacked < MAX_ACK) {
            snprintf(acked[nacked++], 65, "%.64s", p);
        }
        p = nl + 1;
    }
    base_free(text);
    return lines;
}

/* http-bench --acked: one line per committed transaction, single envelopes
 * and batches, appended across runs; each names a committed transaction. */
static void test_http_bench_acked(void **state)
{
    (void)state;
    struct gt_node *n = &node;
    gt_ledger(n, "gw-acked");
    gt_start(n, "--no-access-log");
    char log[PATH_MAX + 16], out[1 << 14];
    snprintf(log, sizeof log, "%s/acked.txt", n->dir);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s http-bench %s --ledger %s --workload create "
                            "--tx 120 --connections 4 --acked %s 2>&1",
                            tl_binary(), n->url, n->ledger, log),
                     0);
    assert_int_equal(read_acked(log), 120);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s http-bench %s --ledger %s --workload create "
                            "--tx 250 --batch 100 --connections 2 --acked %s "
                            "2>&1",
                            tl_binary(), n->url, n->ledger, log),
                     0);
    assert_int_equal(read_acked(log), 370);
    for (size_t i = 0; i < nacked; i++) {
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(acked[i], acked[j]);
        }
        char path[128];
        struct gt_resp r;
        snprintf(path, sizeof path, "/v1/tx/%s", acked[i]);
        assert_int_equal(gt_get(n, &r, path), 200);
        assert_non_null(strstr(r.body, "\"VALID\""));
        gt_free(&r);
    }
    /* The embedded benchmark logs the same way. */
    gt_stop(n);
    snprintf(log, sizeof log, "%s/acked-embedded.txt", n->dir);
    assert_int_equal(tl_run(out, sizeof out,
                            "%s bench %s --workload create --tx 200 --acked "
                            "%s 2>&1",
                            tl_binary(), n->ledger, log),
                     0);
    assert_int_equal(read_acked(log), 200);
    assert_int_equal(tl_run(out, sizeof out, "%s query %s tx %s 2>&1",
                            tl_binary(), n->ledger, acked[199]),
                     0);
    assert_non_null(strstr(out, "\"VALID\""));
    gt_cleanup(n);
    n->dir[0] = '\0';
}

static int teardown(void **state)
{
    (void)state;
    if (node.pid > 0) {
        gt_stop(&node);
    }
    if (mounted[0] != '\0') {
        tl_run(NULL, 0, "umount %s 2>/dev/null", mounted);
        mounted[0] = '\0';
    }
    if (node.dir[0] != '\0') {
        tl_rmrf(node.dir);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_http_bench_acked, teardown),
        cmocka_unit_test_teardown(test_disk_full, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
