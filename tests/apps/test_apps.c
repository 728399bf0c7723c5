/* SPDX-License-Identifier: MIT */
/* End-to-end tests of the gridledger command line: init, tx, query, verify,
 * check-proof, bench, bad input, and kill -9 while writing. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "testlib.h"

static char out[1 << 16];

/* Run "gridledger ARGS" (ARGS from @fmt) with stderr folded into out. */
static int run(const char *fmt, ...) BASE_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char args[PATH_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tl_run(out, sizeof out, "%s %s 2>&1", tl_binary(), args);
}

static void test_help_and_usage(void **state)
{
    (void)state;
    const char *cmds[] = {"init",   "member",      "tx",   "query",
                          "verify", "check-proof", "bench"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(cmds); i++) {
        assert_int_equal(run("%s --help", cmds[i]), 0);
        assert_non_null(strstr(out, "usage: gridledger"));
    }
    assert_int_equal(run("--help"), 0);
    assert_non_null(strstr(out, "commands:"));
    assert_int_equal(run("frobnicate"), 2);
    assert_non_null(strstr(out, "unknown command"));
    assert_int_equal(run("%s", ""), 2);
}

/* Issue 15, findings 5, 6 and 7, as they were seen, through the command
 * line: look-alike DER ids and markets, awards that do not add up. */
static void test_contract_rules(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "cli-rules");
    strcat(dir, "/L");
    assert_int_equal(run("init %s", dir), 0);
    /* Markets are registered by the ISO. */
    assert_int_equal(
        run("tx %s --as DERA1/operator bids create b1 rt 3 %064d pv1", dir, 0),
        1);
    assert_non_null(strstr(out, "market 'rt' is not registered"));
    assert_int_equal(run("tx %s --as ISO/operator bids register_market rt "
                         "real-time 15",
                         dir),
                     0);
    assert_int_equal(run("tx %s --as DERA1/operator registry register pv1 "
                         "cust1 671 abc pv 100 110",
                         dir),
                     0);
    assert_int_equal(
        run("tx %s --as DSO/operator registry qualify pv1 90", dir), 0);
    /* Look-alikes are refused before anything is signed (exit 2). */
    const char *alike[] = {"PV1", "'pv1 '", "\"$(printf '\\320\\240V1')\""};
    for (size_t i = 0; i < BASE_ARRAY_LEN(alike); i++) {
        assert_int_equal(run("tx %s --as DERA2/operator registry register %s "
                             "cust2 671 abc pv 100 110",
                             dir, alike[i]),
                         2);
        assert_non_null(strstr(out, "DER id"));
        assert_non_null(strstr(out, "nothing was signed"));
    }
    assert_int_equal(run("tx %s --as DERA1/operator bids create b1 RT 3 "
                         "%064d pv1",
                         dir, 0),
                     2);
    assert_non_null(strstr(out, "(use 'rt')"));
    /* The same equipment under a fresh id, by another aggregator. */
    assert_int_equal(run("tx %s --as DERA2/operator registry register pv1b "
                         "cust1 671 abc pv 100 110",
                         dir),
                     1);
    assert_non_null(strstr(out, "already registered as 'pv1'"));
    assert_int_equal(
        run("tx %s --as DERA1/operator bids create b1 rt 3 %064d pv1", dir, 0),
        0);
    /* Awards: once each, to aggregators that bid. */
    assert_int_equal(run("tx %s --as ISO/operator bids clear rt 3 50 10 "
                         "DERA1=5,DERA1=5",
                         dir),
                     1);
    assert_non_null(strstr(out, "DERA1 is awarded twice"));
    assert_int_equal(
        run("tx %s --as ISO/operator bids clear rt 3 50 10 NOBODY=10", dir), 1);
    assert_non_null(strstr(out, "NOBODY has no live bid"));
    assert_int_equal(
        run("tx %s --as ISO/operator bids clear rt 3 50 10 DERA1=10", dir), 0);
    /* Text that is not UTF-8 is an invalid argument, never a failed block. */
    assert_int_equal(
        run("tx %s --as DERA1/operator asset create a1 \"$(printf '\\377')\"",
            dir),
        2);
    assert_non_null(strstr(out, "not UTF-8"));
    assert_int_equal(run("verify %s", dir), 0);
    tl_rmrf(dir);
}

static void test_workflow(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "cli");
    strcat(dir, "/L");
    assert_int_equal(run("init %s", dir), 0);
    assert_non_null(strstr(out, "channel energy"));
    /* A second init refuses to overwrite. */
    assert_int_equal(run("init %s", dir), 1);
    assert_non_null(strstr(out, "already holds a ledger"));

    assert_int_equal(run("tx %s --as DERA1/operator asset create a1 10", dir),
                     0);
    assert_non_null(strstr(out, "result VALID"));
    char id[65];
    char *p = strstr(out, "tx ");
    assert_non_null(p);
    memcpy(id, p + 3, 64);
    id[64] = '\0';

    /* Invalid: duplicate create, recorded with its reason, exit 1. */
    assert_int_equal(run("tx %s --as DERA1/operator asset create a1 11", dir),
                     1);
    assert_non_null(strstr(out, "already exists"));
    /* Wrong owner. */
    assert_int_equal(run("tx %s --as DERA2/operator asset update a1 12", dir),
                     1);
    assert_non_null(strstr(out, "belongs to DERA1/operator"));
    /* Refused before ordering: unknown contract and function, no key. */
    assert_int_equal(run("tx %s --as DSO/operator nosuch fn", dir), 1);
    assert_non_null(strstr(out, "no contract named 'nosuch'"));
    assert_int_equal(run("tx %s --as DSO/operator asset fly", dir), 1);
    assert_non_null(strstr(out, "has no function 'fly'"));
    assert_int_equal(run("tx %s --as DSO/ghost asset read a1", dir), 1);
    assert_non_null(strstr(out, "no key for DSO/ghost"));
    assert_int_equal(run("tx %s --as ../../etc asset read a1", dir), 2);

    /* A new member, then a transfer to it. */
    assert_int_equal(run("member %s DSO planner --role dso", dir), 0);
    assert_int_equal(run("tx %s --as DERA1/operator asset transfer a1 "
                         "DSO/planner",
                         dir),
                     0);
    assert_int_equal(run("tx %s --as DSO/planner asset update a1 99", dir), 0);

    assert_int_equal(run("query %s get asset a1", dir), 0);
    assert_non_null(strstr(out, "DSO/planner"));
    assert_int_equal(run("query %s history asset a1", dir), 0);
    assert_non_null(strstr(out, "\"block\": 1"));
    assert_int_equal(run("query %s range asset", dir), 0);
    assert_int_equal(run("query %s block 2", dir), 0);
    assert_non_null(strstr(out, "EEXIST"));
    assert_int_equal(run("query %s block 999", dir), 1);
    assert_int_equal(run("query %s tip", dir), 0);
    assert_non_null(strstr(out, "\"height\""));
    /* The state hash per block, as `query block` shows it too. */
    char *sh = strstr(out, "\"state_hash\": \"");
    assert_non_null(sh);
    char tip_state[65];
    memcpy(tip_state, sh + 15, 64);
    tip_state[64] = '\0';
    assert_int_equal(run("query %s state", dir), 0);
    assert_non_null(strstr(out, tip_state));
    assert_int_equal(run("query %s state 2", dir), 0);
    sh = strstr(out, "\"state_hash\": \"");
    assert_non_null(sh);
    memcpy(tip_state, sh + 15, 64);
    assert_int_equal(run("query %s block 2", dir), 0);
    assert_non_null(strstr(out, tip_state));
    assert_int_equal(run("query %s state 999", dir), 1);
    assert_non_null(strstr(out, "block 999"));
    assert_int_equal(run("query %s state x", dir), 2);
    assert_int_equal(run("query %s eval --as ISO/operator asset read a1", dir),
                     0);
    assert_non_null(strstr(out, "\"value\":\"99\""));
    assert_int_equal(run("query %s get asset nope", dir), 1);
    assert_int_equal(run("query %s tx zz", dir), 2);

    char more[PATH_MAX + 128];
    snprintf(more, sizeof more, "%s", id);
    assert_int_equal(run("query %s tx %s", dir, more), 0);
    assert_non_null(strstr(out, "\"result\": \"VALID\""));
    /* Proof out to a file, checked offline against the genesis key. */
    char proof[PATH_MAX + 16];
    snprintf(proof, sizeof proof, "%s.proof", dir);
    assert_int_equal(tl_run(out, sizeof out, "%s query %s proof %s > %s",
                            tl_binary(), dir, id, proof),
                     0);
    snprintf(more, sizeof more, " --ledger %s", dir);
    assert_int_equal(run("check-proof %s%s", proof, more), 0);
    assert_non_null(strstr(out, "proof OK"));
    assert_int_equal(run("check-proof %s --orderer %s", proof,
                         "0000000000000000000000000000000000000000000000000000"
                         "000000000000"),
                     1);
    assert_int_equal(run("check-proof %s --ledger %s", "/nonexistent", dir), 1);

    assert_int_equal(run("verify %s", dir), 0);
    assert_non_null(strstr(out, "verify OK"));

    /* Flip one byte of the stored state: verify names the record. */
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, dir, NULL, err), 0);
    struct kv_txn *t;
    kv_dbi db;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_dbi_open(t, "energy.state", false, &db), 0);
    struct kv_val v;
    assert_int_equal(kv_get(t, db, "asset\0a1", 8, &v), 0);
    uint8_t *copy = base_malloc(v.len);
    memcpy(copy, v.data, v.len);
    copy[v.len - 3] ^= 1;
    assert_int_equal(kv_put(t, db, "asset\0a1", 8, copy, v.len), 0);
    base_free(copy);
    assert_int_equal(kv_txn_commit(t), 0);
    kv_env_close(env);
    assert_int_equal(run("verify %s", dir), 1);
    assert_non_null(strstr(out, "state record 'asset/a1'"));

    /* Not a ledger at all. */
    assert_int_equal(run("verify %s", "/nonexistent"), 1);
    dir[strlen(dir) - 2] = '\0';
    tl_rmrf(dir);
}

/* Take the 64-hex txid out of a `tx` command's output in out. */
static void txid_of(char id[65])
{
    char *p = strstr(out, "tx ");
    assert_non_null(p);
    memcpy(id, p + 3, 64);
    id[64] = '\0';
}

/* Write @src with sed script @script applied to @dst. */
static void edit(const char *src, const char *dst, const char *script)
{
    assert_int_equal(tl_run(NULL, 0, "sed -e '%s' %s > %s", script, src, dst),
                     0);
}

/* Issue 15 finding 14: a proof file's every field is either bound by the
 * proof or refused. A txid that is not the proven transaction's (ff..ff,
 * or another transaction's), a field the proof does not bind, a duplicate
 * key or a missing txid: "proof does NOT hold", exit 1. Without the
 * orderer's key the header (and so the whole proof) could be forged:
 * refused as a usage error. "proof OK" names the transaction. */
static void test_proof_fields(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "proof");
    char ledger[PATH_MAX + 8], p1[PATH_MAX + 16], p2[PATH_MAX + 16],
        bad[PATH_MAX + 16];
    snprintf(ledger, sizeof ledger, "%s/L", dir);
    snprintf(p1, sizeof p1, "%s/p1.json", dir);
    snprintf(p2, sizeof p2, "%s/p2.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    assert_int_equal(run("init %s", ledger), 0);
    char id1[65], id2[65];
    assert_int_equal(
        run("tx %s --as DERA1/operator asset create p1 10", ledger), 0);
    txid_of(id1);
    assert_int_equal(
        run("tx %s --as DERA2/operator asset create p2 20", ledger), 0);
    txid_of(id2);
    assert_int_equal(tl_run(NULL, 0, "%s query %s proof %s > %s", tl_binary(),
                            ledger, id1, p1),
                     0);
    assert_int_equal(tl_run(NULL, 0, "%s query %s proof %s > %s", tl_binary(),
                            ledger, id2, p2),
                     0);

    /* The good proof names what it proved. */
    assert_int_equal(run("check-proof %s --ledger %s", p1, ledger), 0);
    assert_non_null(strstr(out, "proof OK"));
    assert_non_null(strstr(out, id1));
    assert_non_null(strstr(out, "asset.create"));
    assert_non_null(strstr(out, "DERA1/operator"));
    assert_non_null(strstr(out, "block 1"));

    /* The finding: txid ff..ff. */
    edit(p1, bad,
         "s/\"txid\": \"[0-9a-f]*\"/\"txid\": \"ffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffffffffff\"/");
    assert_int_equal(tl_run(NULL, 0, "grep -q '\"txid\": \"ffff' %s", bad), 0);
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_null(strstr(out, "proof OK"));
    assert_non_null(strstr(out, "proof does NOT hold"));
    assert_non_null(strstr(out, "txid"));
    assert_non_null(strstr(out, id1));

    /* Another real transaction's id on this transaction's proof. */
    char script[512];
    snprintf(script, sizeof script, "s/%s/%s/", id1, id2);
    edit(p1, bad, script);
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_non_null(strstr(out, "proof does NOT hold"));

    /* The other transaction's envelope and txid under this proof's path
     * and header: not under the header's root. */
    assert_int_equal(tl_run(NULL, 0,
                            "sed -n 's/.*\"transaction\": \"\\([0-9a-f]*\\)\".*"
                            "/\\1/p' %s > %s.tx",
                            p2, bad),
                     0);
    assert_int_equal(tl_run(NULL, 0,
                            "sed -e \"s/\\\"transaction\\\": \\\"[0-9a-f]*\\\""
                            "/\\\"transaction\\\": \\\"$(cat %s.tx)\\\"/\" "
                            "-e s/%s/%s/ %s > %s",
                            bad, id1, id2, p1, bad),
                     0);
    assert_int_equal(tl_run(NULL, 0, "grep -q %s %s", id2, bad), 0);
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_non_null(strstr(out, "Merkle root"));

    /* No txid at all. */
    edit(p1, bad, "/\"txid\"/d");
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_non_null(strstr(out, "txid"));

    /* A field the proof does not bind (a claimed result). */
    edit(p1, bad, "s/^{$/{ \"result\": \"VALID\",/");
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_non_null(strstr(out, "result"));
    assert_null(strstr(out, "proof OK"));

    /* A second txid after the real one. */
    edit(p1, bad,
         "s/^{$/{ \"txid\": \"ffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffff\",/");
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_null(strstr(out, "proof OK"));

    /* Another index. */
    edit(p2, bad, "s/\"index\": 0/\"index\": 1/");
    assert_int_equal(run("check-proof %s --ledger %s", bad, ledger), 1);
    assert_null(strstr(out, "proof OK"));

    /* The header, orderer signature and path are what the orderer's key
     * binds: without a key there is nothing to check them against. */
    assert_int_equal(run("check-proof %s", p1), 2);
    assert_non_null(strstr(out, "--orderer"));
    tl_rmrf(dir);
}

static void test_bench_json(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "bench");
    assert_int_equal(run("init %s", dir), 0);
    char more[PATH_MAX + 64], trace[PATH_MAX + 64];
    snprintf(more, sizeof more, "%s/b.json", dir);
    snprintf(trace, sizeof trace, "%s/b.csv", dir);
    assert_int_equal(run("bench %s --workload update --tx 300 --json %s "
                         "--trace %s",
                         dir, more, trace),
                     0);
    assert_non_null(strstr(out, "| Name   | Succ   | Fail | Send Rate (TPS)"));
    assert_non_null(strstr(out, "| update | 300    | 0    |"));
    char *json;
    size_t len;
    assert_int_equal(base_read_file(more, 0, &json, &len), 0);
    const char *keys[] = {"name",          "succ",          "fail",
                          "send_rate_tps", "max_latency_s", "min_latency_s",
                          "avg_latency_s", "p50_latency_s", "p99_latency_s",
                          "throughput_tps"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(keys); i++) {
        char k[64];
        snprintf(k, sizeof k, "\"%s\":", keys[i]);
        assert_non_null(strstr(json, k));
    }
    assert_non_null(strstr(json, "\"succ\": 300"));
    base_free(json);
    /* The trace: a header, then one line a request, each sent after the
     * start of this test (UTC ms), with a latency and code 0. */
    assert_int_equal(base_read_file(trace, 0, &json, &len), 0);
    assert_memory_equal(json, "sent_utc_ms,latency_ms,code\n", 28);
    size_t lines = 0;
    double since = (double)(base_wall_ns() / 1000000u) - 600e3;
    for (char *p = strchr(json, '\n') + 1; *p != '\0'; lines++) {
        char *end;
        double sent = strtod(p, &end);
        assert_true(sent > since && *end == ',');
        double lat = strtod(end + 1, &end);
        assert_true(lat >= 0 && lat < 600e3 && *end == ',');
        assert_int_equal(strtol(end + 1, &end, 10), 0);
        assert_int_equal(*end, '\n');
        p = end + 1;
    }
    assert_int_equal(lines, 300);
    base_free(json);
    assert_int_equal(run("bench %s --workload read --tx 1000", dir), 0);
    assert_non_null(strstr(out, "| read   | 1000   | 0    |"));
    assert_int_equal(run("bench %s --workload burn --tx 10", dir), 2);
    assert_int_equal(run("bench %s --workload create --tx 0", dir), 2);
    assert_int_equal(run("verify %s", dir), 0);
    tl_rmrf(dir);
}

static uint64_t height_of(const char *dir)
{
    assert_int_equal(run("query %s tip", dir), 0);
    char *p = strstr(out, "\"height\": ");
    assert_non_null(p);
    return strtoull(p + 10, NULL, 10);
}

/* Kill a writer with SIGKILL at random moments: every restart resumes from
 * the last committed block, and the chain always verifies. */
static void test_kill9(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "kill");
    assert_int_equal(run("init %s", dir), 0);
    char acked[PATH_MAX + 16];
    snprintf(acked, sizeof acked, "%s.acked", dir);
    unlink(acked);
    srand(12345);
    uint64_t last = height_of(dir);
    int grew = 0;
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int null = open("/dev/null", 1);
            dup2(null, 1);
            dup2(null, 2);
            execl(tl_binary(), tl_binary(), "bench", dir, "--workload",
                  "create", "--tx", "100000", "--clients", "10", "--acked",
                  acked, (char *)NULL);
            _exit(127);
        }
        /* Wait until the writer is committing (signing comes first and its
         * speed depends on the build), then kill it at a random moment. */
        for (int i = 0; i < 600 && height_of(dir) <= last; i++) {
            usleep(50000);
        }
        usleep((useconds_t)(rand() % 100000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        uint64_t h = height_of(dir);
        assert_true(h >= last);
        grew += h > last;
        last = h;
        /* Every transaction the writer was told is committed is there. */
        assert_int_equal(run("verify %s --acked %s", dir, acked), 0);
        assert_non_null(strstr(out, "all in the ledger"));
        /* The restarted node accepts new work on top. */
        assert_int_equal(
            run("tx %s --as DERA2/operator asset create after%d 1", dir, round),
            0);
        last = height_of(dir);
    }
    assert_true(grew > 0);
    /* Something was acknowledged; an id the ledger lacks is named LOST; a
     * last line cut short (a writer killed mid-write) is not counted. */
    char *text;
    size_t len;
    assert_int_equal(base_read_file(acked, 0, &text, &len), 0);
    assert_true(len >= 65);
    base_free(text);
    assert_int_equal(tl_run(NULL, 0, "printf 0123abc >> %s", acked), 0);
    assert_int_equal(run("verify %s --acked %s", dir, acked), 0);
    assert_non_null(strstr(out, "cut short"));
    assert_int_equal(tl_run(NULL, 0, "printf '\\n%s\\n' >> %s",
                            "ffffffffffffffffffffffffffffffff"
                            "ffffffffffffffffffffffffffffffff",
                            acked),
                     0);
    assert_int_equal(run("verify %s --acked %s", dir, acked), 1);
    assert_non_null(strstr(out, "not a transaction id"));
    assert_int_equal(tl_run(NULL, 0, "sed -i '/^0123abc$/d' %s", acked), 0);
    assert_int_equal(run("verify %s --acked %s", dir, acked), 1);
    assert_non_null(strstr(out, "LOST: acknowledged transaction ffff"));
    assert_non_null(strstr(out, "LOST: 1"));
    unlink(acked);
    tl_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_workflow),
        cmocka_unit_test(test_contract_rules),
        cmocka_unit_test(test_proof_fields),
        cmocka_unit_test(test_bench_json),
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
