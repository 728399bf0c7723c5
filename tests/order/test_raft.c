/* SPDX-License-Identifier: MIT */
/* Tests of the Raft orderer with three (or four) in-process nodes over
 * real libuv TCP on loopback, each with its own ledger and Raft log:
 * replication, restart, join from a snapshot, a node far behind catching
 * up from a snapshot that names only the tip (its size the same at ten
 * times the height), a lone minority, the leader stopped under load, a
 * damaged block store, and the documented errors.
 * lg_verify runs on every node's directory at the end of each test. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"
#include "store/store.h"
#include "testlib.h"

static struct ord_raft_options base_opt(void)
{
    struct ord_raft_options o;
    memset(&o, 0, sizeof o);
    o.order.verifiers = 1;
    o.drain_timeout = 2000000000ull;
    /* CI runs tests side by side (and under ASan, slowly): a longer
     * election timeout than the default keeps a starved heartbeat from
     * moving the leader in the middle of a check. */
    o.election_timeout_ms = 1000;
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

/* Three nodes with options @o, all started; returns the leader. */
static size_t cluster3(struct tcl *t, const struct ord_raft_options *o)
{
    tcl_init(t, 3, o);
    start_all(t);
    return tcl_wait_leader(t, 10000);
}

/* Wait until nodes 0..2 reach the leader's height; assert they agree. */
static void converge(struct tcl *t, size_t leader)
{
    uint64_t h = tcl_height(t, leader);
    for (size_t i = 0; i < 3; i++) {
        assert_true(tcl_wait_height(t, i, h, 20000));
    }
    tcl_assert_same(t, 0, 1);
    tcl_assert_same(t, 0, 2);
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
        int rv =
            ord_raft_submit_wait(t->nodes[node % t->n].r, tx.data, tx.len, &r);
        if (rv != 0) {
            fail_msg("tx %s on node %zu: %s (%s)", key, node % t->n + 1,
                     base_errname(rv), r.reason);
        }
        assert_true(r.committed);
        node++;
    }
    base_buf_release(&tx);
}

static void test_replicate(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    size_t leader = cluster3(&t, &o);
    /* Submissions on every node, followers forwarding to the leader. */
    submit_many(&t, "k", 30, 1);
    assert_true(tcl_height(&t, leader) >= 2);
    converge(&t, leader);
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

static bool has_tx(struct tcl *t, size_t i, const struct cr_hash *id)
{
    struct lg_channel *ch;
    struct lg_tx_info info;
    return lg_channel_get(t->nodes[i].l, "energy", &ch) == 0 &&
           lg_tx_find(ch, id, &info) == 0 && info.code == 0;
}

static void test_follower_restart(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    size_t leader = cluster3(&t, &o);
    submit_many(&t, "a", 6, 1);
    /* A follower goes down (its process would exit: ledger closed too);
     * the other two go on without it. */
    size_t down = (leader + 1) % 3;
    tcl_stop(&t, down, true);
    submit_many(&t, "b", 12, 100);
    uint64_t h = tcl_height(&t, leader);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, down, false, err), 0);
    assert_true(tcl_wait_height(&t, down, h, 15000));
    tcl_assert_same(&t, leader, down);
    /* Back in line: a submission on it commits and is read back there. */
    struct base_buf tx;
    base_buf_init(&tx, 0);
    tcl_tx(&t, &tx, 999, "c");
    struct ord_result r;
    assert_int_equal(ord_raft_submit_wait(t.nodes[down].r, tx.data, tx.len, &r),
                     0);
    assert_true(has_tx(&t, down, &r.id));
    base_buf_release(&tx);
    tcl_release(&t);
}

/* The size of the newest snapshot in Raft directory @dir (libraft writes
 * snapshot-TERM-INDEX-MS, and a .meta file beside it); 0: none. */
static long newest_snapshot_size(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned long long best = 0;
    long size = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long term, index, ms;
        if (strstr(e->d_name, ".meta") != NULL ||
            sscanf(e->d_name, "snapshot-%llu-%llu-%llu", &term, &index, &ms) !=
                3 ||
            index <= best) {
            continue;
        }
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        best = index;
        size = (long)sb.st_size;
    }
    closedir(d);
    return size;
}

/* Three nodes that snapshot every 8 entries (the leader every 32) and
 * keep 2, with 40 blocks:
 * a node joining later, or back after a while, cannot get the early log
 * and needs a snapshot. Returns the leader. */
static size_t snapshotting3(struct tcl *t)
{
    struct ord_raft_options o = base_opt();
    o.snapshot_threshold = 8;
    o.snapshot_trailing = 2;
    size_t leader = cluster3(t, &o);
    submit_many(t, "s", 40, 1);
    assert_true(newest_snapshot_size(t->nodes[leader].raft_dir) > 0);
    return leader;
}

static void test_join_from_snapshot(void **state)
{
    (void)state;
    struct tcl t;
    size_t leader = snapshotting3(&t);
    /* Node 4: an empty ledger directory, no channel, no Raft log. */
    size_t j = tcl_add_empty(&t);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, j, true, err), 0);
    struct ord_raft_status st;
    ord_raft_status(t.nodes[j].r, &st);
    assert_false(st.has_channel);
    /* Only the leader adds members. */
    size_t other = (leader + 1) % 3;
    assert_int_equal(
        ord_raft_add(t.nodes[other].r, j + 1, t.members[j].address, err),
        BASE_ENOTLEADER);
    assert_int_equal(
        ord_raft_add(t.nodes[leader].r, j + 1, t.members[j].address, err), 0);
    uint64_t h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, j, h, 20000));
    assert_true(newest_snapshot_size(t.nodes[j].raft_dir) > 0);
    tcl_assert_same(&t, leader, j);
    ord_raft_status(t.nodes[j].r, &st);
    assert_true(st.has_channel);
    assert_int_equal(st.blocks_refused, 0);
    /* A voter now: it takes submissions and sees the leader's view. */
    ord_raft_status(t.nodes[leader].r, &st);
    assert_int_equal(st.nmembers, 4);
    submit_many(&t, "after", 4, 500);
    h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, j, h, 10000));
    tcl_assert_same(&t, leader, j);
    tcl_release(&t);
}

static void test_far_behind_catch_up(void **state)
{
    (void)state;
    struct tcl t;
    size_t leader = snapshotting3(&t);
    converge(&t, leader);
    uint64_t h1 = tcl_height(&t, leader);
    long size1 = newest_snapshot_size(t.nodes[leader].raft_dir);
    /* A follower goes down; the chain grows to ten times its height, and
     * the log the follower would need is compacted away. */
    size_t down = (leader + 1) % 3;
    tcl_stop(&t, down, true);
    uint64_t nonce = 1000;
    while (tcl_height(&t, leader) < 10 * h1) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "m%llu-", (unsigned long long)nonce);
        submit_many(&t, prefix, 40, nonce);
        nonce += 40;
    }
    uint64_t h2 = tcl_height(&t, leader);
    /* The snapshot names the tip: the same size at ten times the height
     * (a copy of the chain would be ten times larger). */
    assert_int_equal(newest_snapshot_size(t.nodes[leader].raft_dir), size1);
    assert_true(size1 < 8192);
    /* Back, it is sent a snapshot and fetches the blocks it lacks from
     * its peers, re-executing each. */
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, down, false, err), 0);
    assert_true(tcl_wait_height(&t, down, h2, 30000));
    tcl_assert_same(&t, leader, down);
    struct ord_raft_status st;
    ord_raft_status(t.nodes[down].r, &st);
    assert_int_equal(st.blocks_refused, 0);
    assert_false(st.failed);
    submit_many(&t, "after", 3, 50000);
    converge(&t, leader);
    tcl_release(&t);
}

/* A block source that serves forged blocks from every member but one:
 * the hub's, with each block's orderer signature damaged unless it comes
 * from node @good. */
struct forger {
    struct ord_hub *hub;
    uint64_t good;
    atomic_int forged;
};

static int forger_fetch(void *impl, uint64_t peer, const char *address,
                        const char *channel, uint64_t from, uint64_t max,
                        struct base_buf *out, char *errmsg)
{
    struct forger *f = impl;
    size_t start = out->len;
    int rv = ord_hub_blocks()->fetch(f->hub, peer, address, channel, from, max,
                                     out, errmsg);
    if (rv == 0 && peer != f->good) {
        atomic_fetch_add(&f->forged, 1);
        for (size_t at = start; at < out->len;) {
            uint32_t n = base_get_u32(out->data + at);
            out->data[at + 4 + LG_HEADER_SIZE + 3] ^= 0x01;
            at += 4 + n;
        }
    }
    return rv;
}

static const struct ord_block_source forger_blocks = {forger_fetch};

static void test_join_forged_blocks(void **state)
{
    (void)state;
    struct tcl t;
    size_t leader = snapshotting3(&t);
    /* Node 4's source forges every block but node 3's (tried last): it
     * refuses each forged one and takes them from node 3. */
    struct forger f = {t.hub, 3, 0};
    t.opt.blocks = &forger_blocks;
    t.opt.blocks_impl = &f;
    size_t j = tcl_add_empty(&t);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, j, true, err), 0);
    assert_int_equal(
        ord_raft_add(t.nodes[leader].r, j + 1, t.members[j].address, err), 0);
    uint64_t h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, j, h, 20000));
    tcl_assert_same(&t, leader, j);
    assert_true(atomic_load(&f.forged) >= 1);
    struct ord_raft_status st;
    ord_raft_status(t.nodes[j].r, &st);
    assert_false(st.failed);
    tcl_release(&t);
}

static void test_lone_node_makes_no_progress(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    o.submit_timeout = 1500000000ull; /* 1.5 s */
    size_t leader = cluster3(&t, &o);
    submit_many(&t, "x", 3, 1);
    /* Two nodes go away: the one left is a minority of one. */
    size_t lone = (leader + 2) % 3;
    uint64_t h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, lone, h, 10000));
    for (size_t i = 0; i < 3; i++) {
        if (i != lone) {
            tcl_stop(&t, i, true);
        }
    }
    struct base_buf tx;
    base_buf_init(&tx, 0);
    tcl_tx(&t, &tx, 50, "lonely");
    struct ord_result r;
    assert_int_equal(ord_raft_submit_wait(t.nodes[lone].r, tx.data, tx.len, &r),
                     BASE_ETIMEDOUT);
    assert_false(r.committed);
    assert_int_equal(tcl_height(&t, lone), h);
    struct ord_raft_status st;
    ord_raft_status(t.nodes[lone].r, &st);
    assert_true(st.role != ORD_LEADER);
    /* The others come back; the lone node rejoins cleanly. */
    char err[BASE_ERRMSG_SIZE];
    for (size_t i = 0; i < 3; i++) {
        if (i != lone) {
            assert_int_equal(tcl_start(&t, i, false, err), 0);
        }
    }
    tcl_wait_leader(&t, 10000);
    submit_many(&t, "y", 3, 200);
    uint64_t h2 = 0;
    for (size_t i = 0; i < 3; i++) {
        h2 = tcl_height(&t, i) > h2 ? tcl_height(&t, i) : h2;
    }
    for (size_t i = 0; i < 3; i++) {
        assert_true(tcl_wait_height(&t, i, h2, 10000));
    }
    tcl_assert_same(&t, 0, 1);
    tcl_assert_same(&t, 0, 2);
    base_buf_release(&tx);
    tcl_release(&t);
}

/* Load: client threads submitting without waiting, to every running
 * node, recording what was acknowledged. */
struct load {
    struct tcl *t;
    pthread_rwlock_t lock; /* writers stop nodes */
    atomic_bool stop;
    atomic_uint_fast64_t nonce;
    pthread_mutex_t acked_lock;
    struct cr_hash *acked;
    size_t nacked, cap;
    atomic_int outstanding;
    atomic_int failed;
};

static void load_done(void *arg, const struct ord_result *r)
{
    struct load *ld = arg;
    if (r->committed && r->code == 0) {
        pthread_mutex_lock(&ld->acked_lock);
        if (ld->nacked < ld->cap) {
            ld->acked[ld->nacked++] = r->id;
        }
        pthread_mutex_unlock(&ld->acked_lock);
    } else {
        /* Refused or ended by a stop: not acknowledged, nothing promised. */
        atomic_fetch_add(&ld->failed, 1);
    }
    atomic_fetch_sub(&ld->outstanding, 1);
}

static void *load_main(void *arg)
{
    struct load *ld = arg;
    struct base_buf tx;
    base_buf_init(&tx, 0);
    size_t node = 0;
    while (!atomic_load(&ld->stop)) {
        uint64_t n = atomic_fetch_add(&ld->nonce, 1);
        char key[32];
        snprintf(key, sizeof key, "l%llu", (unsigned long long)n);
        tcl_tx(ld->t, &tx, 10000 + n, key);
        pthread_rwlock_rdlock(&ld->lock);
        struct ord_raft *r = NULL;
        for (size_t k = 0; k < ld->t->n && r == NULL; k++) {
            r = ld->t->nodes[(node + k) % ld->t->n].r;
        }
        node++;
        atomic_fetch_add(&ld->outstanding, 1);
        if (r == NULL || ord_raft_submit(r, tx.data, tx.len, load_done, ld)) {
            atomic_fetch_sub(&ld->outstanding, 1);
        }
        pthread_rwlock_unlock(&ld->lock);
        while (atomic_load(&ld->outstanding) > 200 && !atomic_load(&ld->stop)) {
            base_sleep_ns(1000000);
        }
    }
    base_buf_release(&tx);
    return NULL;
}

static void test_leader_stopped_under_load(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    o.submit_timeout = 20000000000ull;
    o.drain_timeout = 1; /* stop at once: what is in flight is cut off */
    o.order.batch_timeout = 2000000;
    size_t leader = cluster3(&t, &o);
    struct load ld;
    memset(&ld, 0, sizeof ld);
    ld.t = &t;
    ld.cap = 1000000;
    ld.acked = base_malloc(ld.cap * sizeof *ld.acked);
    pthread_rwlock_init(&ld.lock, NULL);
    pthread_mutex_init(&ld.acked_lock, NULL);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, load_main, &ld);
    }
    /* Under load, the leader goes away without draining anything. */
    while (ld.nacked < 300) {
        base_sleep_ns(5000000);
    }
    uint64_t t0 = base_mono_ns();
    pthread_rwlock_wrlock(&ld.lock);
    tcl_stop(&t, leader, true);
    pthread_rwlock_unlock(&ld.lock);
    size_t next = tcl_wait_leader(&t, 10000);
    fprintf(stderr, "new leader (node %zu) ready %.0f ms after the stop\n",
            next + 1, (double)(base_mono_ns() - t0) / 1e6);
    assert_true(next != leader);
    size_t before = ld.nacked;
    while (ld.nacked < before + 300) {
        base_sleep_ns(5000000);
    }
    atomic_store(&ld.stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    while (atomic_load(&ld.outstanding) > 0) {
        base_sleep_ns(5000000);
    }
    /* The old leader comes back and catches up; then every acknowledged
     * transaction is in every ledger and the three agree. */
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, leader, false, err), 0);
    converge(&t, next);
    for (size_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < ld.nacked; k++) {
            if (!has_tx(&t, i, &ld.acked[k])) {
                fail_msg("node %zu lost acknowledged transaction %zu", i + 1,
                         k);
            }
        }
    }
    fprintf(stderr, "%zu acknowledged, %d not\n", ld.nacked,
            atomic_load(&ld.failed));
    pthread_rwlock_destroy(&ld.lock);
    pthread_mutex_destroy(&ld.acked_lock);
    base_free(ld.acked);
    tcl_release(&t);
}

static void test_damaged_store_refuses_start(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    size_t leader = cluster3(&t, &o);
    submit_many(&t, "d", 4, 1);
    size_t f = (leader + 1) % 3;
    uint64_t h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, f, h, 10000));
    tcl_stop(&t, f, true);
    /* A byte of a transaction in its last block. */
    tc_damage_block(t.nodes[f].dir, h - 1, 300);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(tcl_start(&t, f, false, err), BASE_ECORRUPT);
    assert_non_null(strstr(err, "block store is damaged"));
    assert_non_null(strstr(err, "block"));
    assert_null(t.nodes[f].r);
    /* Repaired, it starts and catches up. */
    lg_close(t.nodes[f].l);
    t.nodes[f].l = NULL;
    tc_damage_block(t.nodes[f].dir, h - 1, 300);
    assert_int_equal(tcl_start(&t, f, false, err), 0);
    submit_many(&t, "e", 2, 100);
    h = tcl_height(&t, leader);
    assert_true(tcl_wait_height(&t, f, h, 10000));
    tcl_assert_same(&t, leader, f);
    tcl_release(&t);
}

static void test_foreign_ledger_fails_clearly(void **state)
{
    (void)state;
    struct tcl t;
    struct ord_raft_options o = base_opt();
    size_t leader = cluster3(&t, &o);
    submit_many(&t, "g", 3, 1);
    /* Node 4 holds channel "energy" too, but from another genesis block
     * (another ledger altogether). */
    size_t j = tcl_add_empty(&t);
    struct lg_config other = t.c.cfg;
    other.genesis_time += 1;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_channel_create(t.nodes[j].l, &other, &t.c.orderer, err),
                     0);
    assert_int_equal(tcl_start(&t, j, true, err), 0);
    assert_int_equal(
        ord_raft_add(t.nodes[leader].r, j + 1, t.members[j].address, err), 0);
    struct ord_raft_status st;
    uint64_t end = base_mono_ns() + 10000000000ull;
    do {
        base_sleep_ns(10000000);
        ord_raft_status(t.nodes[j].r, &st);
    } while (!st.failed && base_mono_ns() < end);
    assert_true(st.failed);
    assert_non_null(strstr(st.error, "genesis block differs"));
    assert_int_equal(st.height, 1);
    /* It says so to whoever submits there, and applies nothing. */
    struct base_buf tx;
    base_buf_init(&tx, 0);
    tcl_tx(&t, &tx, 77, "h");
    struct ord_result r;
    assert_int_equal(ord_raft_submit_wait(t.nodes[j].r, tx.data, tx.len, &r),
                     BASE_ECORRUPT);
    assert_non_null(strstr(r.reason, "genesis block differs"));
    base_buf_release(&tx);
    /* The three others are unaffected. */
    submit_many(&t, "i", 2, 100);
    converge(&t, leader);
    tcl_release(&t);
}

static void test_errors(void **state)
{
    (void)state;
    char err[BASE_ERRMSG_SIZE];
    struct ord_member m[4];
    size_t n;
    assert_int_equal(
        ord_cluster_parse("1@127.0.0.1:7001,2@10.0.0.2:7002", m, 4, &n, err),
        0);
    assert_int_equal(n, 2);
    assert_int_equal(m[1].id, 2);
    assert_string_equal(m[1].address, "10.0.0.2:7002");
    /* Five members, one too many (one string, split for the width). */
    static const char five[] =
        "1@1.1.1.1:1,2@1.1.1.2:1,3@1.1.1.3:1,4@1.1.1.4:1,5@1.1.1.5:1";
    const char *bad[] = {"",
                         "1@127.0.0.1",
                         "x@127.0.0.1:1",
                         "0@127.0.0.1:1",
                         "1@host.example:1",
                         "1@127.0.0.1:70000",
                         "1@127.0.0.1:1,",
                         "1@127.0.0.1:1,1@127.0.0.2:1",
                         "1@127.0.0.1:1,2@127.0.0.1:1",
                         five};
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        int rv = ord_cluster_parse(bad[i], m, 4, &n, err);
        if (rv != BASE_EPARSE && rv != BASE_EINVAL) {
            fail_msg("'%s' parsed", bad[i]);
        }
        assert_true(strlen(err) > 0);
    }

    struct tcl t;
    struct ord_raft_options o = base_opt();
    tcl_init(&t, 3, &o);
    struct ord_raft *r = NULL;
    /* Not in the list, duplicate ids, wrong key, no channel. */
    assert_int_equal(ord_raft_start(&r, t.nodes[0].l, "energy",
                                    t.nodes[0].raft_dir, 9, t.members, 3,
                                    &t.c.orderer, &o, err),
                     BASE_EINVAL);
    assert_non_null(strstr(err, "not in the cluster list"));
    struct ord_member dup[2] = {t.members[0], t.members[0]};
    assert_int_equal(ord_raft_start(&r, t.nodes[0].l, "energy",
                                    t.nodes[0].raft_dir, 1, dup, 2,
                                    &t.c.orderer, &o, err),
                     BASE_EINVAL);
    assert_int_equal(ord_raft_start(&r, t.nodes[0].l, "energy",
                                    t.nodes[0].raft_dir, 1, t.members, 3,
                                    &t.c.dera.key, &o, err),
                     BASE_EINVAL);
    assert_non_null(strstr(err, "orderer key"));
    assert_int_equal(ord_raft_start(&r, t.nodes[0].l, "other",
                                    t.nodes[0].raft_dir, 1, t.members, 3,
                                    &t.c.orderer, &o, err),
                     BASE_ENOCHANNEL);
    assert_null(r);

    /* Without peers, a follower cannot forward: it says who leads. */
    t.opt.peers = NULL;
    start_all(&t);
    size_t leader = tcl_wait_leader(&t, 10000);
    size_t f = (leader + 1) % 3;
    struct base_buf tx;
    base_buf_init(&tx, 0);
    tcl_tx(&t, &tx, 1, "p");
    struct ord_result res;
    assert_int_equal(ord_raft_submit_wait(t.nodes[f].r, tx.data, tx.len, &res),
                     BASE_ENOTLEADER);
    assert_non_null(strstr(res.reason, "the leader is node"));
    /* Refusals on the leader, as solo gives them. */
    struct ord_raft *lr = t.nodes[leader].r;
    assert_int_equal(ord_raft_submit_wait(lr, tx.data, tx.len, &res), 0);
    assert_int_equal(ord_raft_submit_wait(lr, tx.data, tx.len, &res),
                     BASE_EREPLAY);
    assert_int_equal(ord_raft_submit_wait(lr, "junk", 4, &res), BASE_EPARSE);
    tcl_tx(&t, &tx, 2, "q");
    tx.data[tx.len - 3] ^= 0x40;
    assert_int_equal(ord_raft_submit_wait(lr, tx.data, tx.len, &res),
                     BASE_EBADSIG);
    tc_tx(&tx, &t.c.outsider, "energy", "asset", "create", 3, 2, "z", "1");
    assert_int_equal(ord_raft_submit_wait(lr, tx.data, tx.len, &res),
                     BASE_EUNKNOWNCERT);
    uint8_t *big = base_calloc(1, LG_TX_MAX + 1);
    assert_int_equal(ord_raft_submit(lr, big, LG_TX_MAX + 1, NULL, NULL),
                     BASE_ETOOBIG);
    base_free(big);
    /* The common interface reaches the same node. */
    struct ord_orderer *oo = ord_raft_orderer(lr);
    tcl_tx(&t, &tx, 4, "r");
    assert_int_equal(ord_orderer_submit_wait(oo, tx.data, tx.len, &res), 0);
    assert_true(res.committed);
    struct ord_stats st;
    ord_orderer_stats(oo, &st);
    assert_int_equal(st.committed_valid, 2);
    assert_int_equal(st.refused, 4);
    assert_int_equal(st.pending, 0);
    base_buf_release(&tx);
    tcl_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicate),
        cmocka_unit_test(test_follower_restart),
        cmocka_unit_test(test_join_from_snapshot),
        cmocka_unit_test(test_far_behind_catch_up),
        cmocka_unit_test(test_join_forged_blocks),
        cmocka_unit_test(test_lone_node_makes_no_progress),
        cmocka_unit_test(test_leader_stopped_under_load),
        cmocka_unit_test(test_damaged_store_refuses_start),
        cmocka_unit_test(test_foreign_ledger_fails_clearly),
        cmocka_unit_test(test_errors),
    };
    /* GL_TEST=name runs one test (while debugging). */
    if (getenv("GL_TEST") != NULL) {
        cmocka_set_test_filter(getenv("GL_TEST"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
