/* SPDX-License-Identifier: MIT */
/* Deterministic tests of the Raft state machine (order's core) with
 * libraft's raft_fixture: in-memory Raft I/O, simulated time, network
 * partitions at will. Each of three servers runs the real core over its
 * own real ledger. Covered: replication with identical state hashes, a
 * minority partition that cannot commit and rejoins, blocks forged by a
 * leader (bad signature, tampered results or state hash) refused by every
 * honest node, a deposed leader's stale block, a new server catching up
 * from a tip-only snapshot by fetching blocks from its peers (a peer
 * serving forged blocks passed over; all of them: refused clearly), the
 * snapshot's size independent of the chain's, a version 1 snapshot (the
 * whole chain) still restored, and the log entry and snapshot decoders. */
#include <limits.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consortium.h"
#include "order/order_int.h"
#include "testlib.h"

#define N 3

struct fx {
    struct tc_consortium c;
    struct raft_fixture f;
    size_t n;
    char dirs[N + 1][PATH_MAX];
    struct lg_ledger *l[N + 1];
    struct ord__core core[N + 1];
    struct srv {
        int committed; /* transactions the hooks reported */
        int dropped;
        bool faulty; /* holds a block the others refused */
    } srv[N + 1];
    struct base_buf tx;
    uint64_t nonce;
    struct raft_change change; /* membership change in flight */
    int changes_done;
    unsigned forge_from; /* bit i: server i serves forged blocks */
    int fetches, forged; /* calls of the block source; forged ones */
};

/* The block source of the fixture: server @peer's ledger, read directly.
 * A server in x->forge_from serves every block with its orderer
 * signature damaged, as a faulty peer would. */
static int fx_fetch(void *impl, uint64_t peer, const char *address,
                    const char *channel, uint64_t from, uint64_t max,
                    struct base_buf *out, char *errmsg)
{
    struct fx *x = impl;
    (void)address;
    x->fetches++;
    struct lg_channel *ch;
    if (peer == 0 || peer > x->n ||
        lg_channel_get(x->l[peer - 1], channel, &ch) != 0) {
        return base_errf(errmsg, BASE_ECLOSED, "no server %llu",
                         (unsigned long long)peer);
    }
    size_t start = out->len;
    int rv = ord_blocks_read(ch, from, max, SIZE_MAX, out);
    if (rv != 0) {
        return base_errf(errmsg, rv, "%s", base_strerror(rv));
    }
    if (x->forge_from & (1u << (peer - 1))) {
        x->forged++;
        for (size_t at = start; at < out->len;) {
            uint32_t n = base_get_u32(out->data + at);
            out->data[at + 4 + LG_HEADER_SIZE + 5] ^= 0x40;
            at += 4 + n;
        }
    }
    return 0;
}

static const struct ord_block_source fx_blocks = {fx_fetch};

static void on_committed(void *arg, const struct lg_header *h,
                         const struct ord__done *txs, size_t n)
{
    (void)h;
    (void)txs;
    struct srv *v = arg;
    v->committed += (int)n;
}

static void on_returned(void *arg, struct ord__item *it, int code)
{
    struct srv *v = arg;
    v->dropped += code == BASE_ENOTLEADER;
    base_free(it);
}

static void add_server(struct fx *x, size_t i, bool genesis)
{
    char err[BASE_ERRMSG_SIZE];
    tl_tmpdir(x->dirs[i], "fixture");
    assert_int_equal(lg_open(&x->l[i], x->dirs[i], &x->c.exec, NULL, err), 0);
    if (genesis) {
        assert_int_equal(
            lg_channel_create(x->l[i], &x->c.cfg, &x->c.orderer, err), 0);
    }
    struct ord__core_hooks h = {&x->srv[i], on_committed, on_returned, NULL,
                                NULL};
    struct ord_options o = {.max_block_tx = 100};
    assert_int_equal(ord__core_init(&x->core[i], x->l[i], "energy", !genesis,
                                    false, &x->c.orderer, &o, &h, err),
                     0);
    x->core[i].src = &fx_blocks;
    x->core[i].src_impl = x;
    for (size_t j = 0; j <= N; j++) {
        x->core[i].members[j].id = j + 1;
        snprintf(x->core[i].members[j].address,
                 sizeof x->core[i].members[j].address, "%zu", j + 1);
    }
    x->core[i].nmembers = N + 1;
    assert_int_equal(raft_fixture_grow(&x->f, &x->core[i].fsm), 0);
    x->core[i].raft = raft_fixture_get(&x->f, (unsigned)i);
    /* Inline: the ledger side runs in the test's thread, deterministic. */
    assert_int_equal(ord__core_start(&x->core[i]), 0);
}

static int setup(void **state)
{
    struct fx *x = base_calloc(1, sizeof *x);
    tc_init(&x->c, "energy");
    base_buf_init(&x->tx, 0);
    assert_int_equal(raft_fixture_initialize(&x->f), 0);
    x->n = N;
    for (size_t i = 0; i < N; i++) {
        add_server(x, i, true);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&x->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&x->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&x->f), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    raft_fixture_close(&x->f);
    for (size_t i = 0; i < x->n; i++) {
        ord__core_release(&x->core[i]);
        lg_close(x->l[i]);
    }
    for (size_t i = 0; i < x->n; i++) {
        char scratch[PATH_MAX];
        tl_tmpdir(scratch, "verify");
        struct lg_verify_report rep;
        int rv = lg_verify(x->dirs[i], scratch, &x->c.exec, &rep);
        if (x->srv[i].faulty) {
            /* Re-execution flags the forged block it kept. */
            assert_int_equal(rv, BASE_ECORRUPT);
            assert_non_null(strstr(rep.error, "block 2"));
        } else {
            if (rv != 0) {
                fprintf(stderr, "server %zu: %s\n", i, rep.error);
            }
            assert_int_equal(rv, 0);
        }
        tl_rmrf(scratch);
        tl_rmrf(x->dirs[i]);
    }
    base_buf_release(&x->tx);
    base_free(x);
    return 0;
}

static void poll_all(struct fx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (raft_fixture_alive(&x->f, (unsigned)i)) {
            ord__core_poll(&x->core[i]);
        }
    }
}

static uint64_t height(struct fx *x, size_t i)
{
    struct lg_channel *ch;
    if (lg_channel_get(x->l[i], "energy", &ch) != 0) {
        return 0;
    }
    uint64_t h;
    lg_channel_tip(ch, &h, NULL, NULL);
    return h;
}

/* Step the cluster (polling every core between events) until every
 * server in @mask has height @h, or @ms of simulated time passed. */
static bool step_until_height(struct fx *x, unsigned mask, uint64_t h,
                              unsigned ms)
{
    raft_time end = raft_fixture_time(&x->f) + ms;
    for (;;) {
        poll_all(x);
        bool ok = true;
        for (size_t i = 0; i < x->n; i++) {
            ok = ok && (!(mask & (1u << i)) || height(x, i) >= h);
        }
        if (ok) {
            return true;
        }
        if (raft_fixture_time(&x->f) >= end) {
            return false;
        }
        raft_fixture_step(&x->f);
    }
}

static void step_for(struct fx *x, unsigned ms)
{
    raft_time end = raft_fixture_time(&x->f) + ms;
    while (raft_fixture_time(&x->f) < end) {
        poll_all(x);
        raft_fixture_step(&x->f);
    }
    poll_all(x);
}

/* Elect server @i and let its anchor be applied. */
static void elect(struct fx *x, size_t i)
{
    raft_fixture_elect(&x->f, (unsigned)i);
    /* Distinct election timeouts afterwards, so that the next election
     * (after a partition or a kill) has a winner instead of split votes
     * repeating in lockstep. */
    for (unsigned j = 0; j < x->n; j++) {
        struct raft *r = raft_fixture_get(&x->f, j);
        raft_fixture_set_randomized_election_timeout(&x->f, j, 1000 + 300 * j);
        if (j != i) {
            /* raft_fixture_elect left both followers at the same value. */
            r->follower_state.randomized_election_timeout = 1000 + 300 * j;
        }
    }
    raft_time end = raft_fixture_time(&x->f) + 2000;
    while (!ord__core_ready(&x->core[i]) && raft_fixture_time(&x->f) < end) {
        poll_all(x);
        raft_fixture_step(&x->f);
    }
    assert_true(ord__core_ready(&x->core[i]));
}

static struct ord__item *make_item(struct fx *x, const char *key, bool forge)
{
    tc_tx(&x->tx, &x->c.dera, "energy", "asset", "create", ++x->nonce, 2, key,
          "1");
    if (forge) {
        x->tx.data[x->tx.len - 10] ^= 0x20; /* inside the signature */
    }
    struct lg_tx tx;
    assert_int_equal(lg_tx_decode(&tx, x->tx.data, x->tx.len), 0);
    return ord__item_new(&tx.id, 1, x->tx.data, x->tx.len);
}

static void push(struct fx *x, size_t i, const char *key)
{
    assert_int_equal(ord__core_push(&x->core[i], make_item(x, key, false)), 0);
}

static bool has_key(struct fx *x, size_t i, const char *key)
{
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[i], "energy", &ch), 0);
    struct base_buf v;
    base_buf_init(&v, 0);
    int rv = lg_get(ch, "asset", key, strlen(key), &v, NULL);
    base_buf_release(&v);
    return rv == 0;
}

static void assert_same(struct fx *x, size_t a, size_t b)
{
    struct lg_channel *ca, *cb;
    assert_int_equal(lg_channel_get(x->l[a], "energy", &ca), 0);
    assert_int_equal(lg_channel_get(x->l[b], "energy", &cb), 0);
    uint64_t ha, hb;
    struct cr_hash ta, tb, sa, sb;
    lg_channel_tip(ca, &ha, &ta, &sa);
    lg_channel_tip(cb, &hb, &tb, &sb);
    assert_int_equal(ha, hb);
    assert_memory_equal(ta.b, tb.b, CR_HASH_SIZE);
    assert_memory_equal(sa.b, sb.b, CR_HASH_SIZE);
}

static void test_replicate(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    push(x, 0, "a");
    push(x, 0, "b");
    assert_true(step_until_height(x, 7, 2, 2000));
    push(x, 0, "c");
    assert_true(step_until_height(x, 7, 3, 2000));
    assert_same(x, 0, 1);
    assert_same(x, 0, 2);
    for (size_t i = 0; i < N; i++) {
        assert_true(has_key(x, i, "c"));
        assert_int_equal(x->srv[i].committed, 3);
        assert_int_equal(x->core[i].refused, 0);
    }
    /* The same id twice in line is refused; a follower does not order. */
    struct ord__item *it = make_item(x, "d", false);
    struct ord__item *again = ord__item_new(&it->id, 1, it->bytes, it->len);
    assert_int_equal(ord__core_push(&x->core[0], it), 0);
    assert_int_equal(ord__core_push(&x->core[0], again), BASE_EREPLAY);
    assert_int_equal(ord__core_push(&x->core[1], again), BASE_ENOTLEADER);
    base_free(again);
    assert_true(step_until_height(x, 7, 4, 2000));
}

static void test_pipelined_blocks(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    /* While block 1 is being agreed on, block 2 is proposed too. */
    push(x, 0, "p1");
    poll_all(x);
    assert_non_null(x->core[0].pending);
    push(x, 0, "p2");
    poll_all(x);
    assert_non_null(x->core[0].next.items);
    /* A third waits: one block in flight beyond the pending one. */
    push(x, 0, "p3");
    poll_all(x);
    assert_int_equal(x->core[0].qlen, 1);
    assert_true(step_until_height(x, 7, 4, 3000));
    for (size_t i = 0; i < N; i++) {
        assert_true(has_key(x, i, "p2"));
        assert_true(has_key(x, i, "p3"));
        assert_int_equal(x->core[i].refused, 0);
        assert_int_equal(x->srv[i].committed, 3);
    }
    assert_same(x, 0, 1);
    assert_same(x, 0, 2);
    /* Lost with both in flight: both go back to their submitters. */
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_disconnect(&x->f, 0, j);
        raft_fixture_disconnect(&x->f, j, 0);
    }
    push(x, 0, "q1");
    poll_all(x);
    push(x, 0, "q2");
    poll_all(x);
    assert_non_null(x->core[0].next.items);
    step_for(x, 3000);
    assert_null(x->core[0].pending);
    assert_null(x->core[0].next.items);
    assert_int_equal(x->srv[0].dropped, 2);
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_reconnect(&x->f, 0, j);
        raft_fixture_reconnect(&x->f, j, 0);
    }
    size_t lead = ord__core_ready(&x->core[1]) ? 1 : 2;
    push(x, lead, "r");
    assert_true(step_until_height(x, 7, 5, 5000));
    assert_false(has_key(x, 0, "q1"));
    assert_same(x, 0, 1);
    assert_same(x, 0, 2);
}

static void test_minority_partition(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    push(x, 0, "before");
    assert_true(step_until_height(x, 7, 2, 2000));
    /* Cut the leader off from both followers. */
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_disconnect(&x->f, 0, j);
        raft_fixture_disconnect(&x->f, j, 0);
    }
    push(x, 0, "lost");
    poll_all(x); /* the old leader executes a block it cannot commit */
    assert_non_null(x->core[0].pending);
    step_for(x, 3000);
    /* The minority made no progress and stepped down, dropping the block;
     * the majority elected a leader of its own. */
    assert_int_equal(height(x, 0), 2);
    assert_false(ord__core_ready(&x->core[0]));
    assert_null(x->core[0].pending);
    assert_int_equal(x->srv[0].dropped, 1);
    size_t lead = ord__core_ready(&x->core[1]) ? 1 : 2;
    assert_true(ord__core_ready(&x->core[lead]));
    push(x, lead, "after");
    assert_true(step_until_height(x, 6, 3, 3000));
    assert_int_equal(height(x, 0), 2);
    /* Heal: the old leader drops its uncommitted entry and catches up. */
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_reconnect(&x->f, 0, j);
        raft_fixture_reconnect(&x->f, j, 0);
    }
    assert_true(step_until_height(x, 7, 3, 5000));
    for (size_t i = 0; i < N; i++) {
        assert_true(has_key(x, i, "after"));
        assert_false(has_key(x, i, "lost"));
        assert_int_equal(x->core[i].refused, 0);
    }
    assert_same(x, 0, 1);
    assert_same(x, 0, 2);
}

/* Append @block as a log entry through the leader's Raft, as a leader
 * that does not run our code (or lies) would. */
static void append_raw(struct fx *x, size_t leader, const void *block,
                       size_t len)
{
    struct raft_buffer buf;
    assert_int_equal(ord__entry_block(&buf, leader + 1,
                                      x->core[leader].raft->current_term, block,
                                      len),
                     0);
    struct raft_apply *req = base_calloc(1, sizeof *req);
    req->data = req;
    assert_int_equal(raft_apply(x->core[leader].raft, req, &buf, 1, NULL), 0);
    step_for(x, 500);
    base_free(req);
}

/* A block of one valid transaction built on server @i's tip (executed and
 * dropped), with header field bytes [@off, @off+32) replaced by junk and
 * the header signed again with the orderer key, which a faulty leader
 * holds. */
static void forged_block(struct fx *x, size_t i, size_t off,
                         struct base_buf *out)
{
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[i], "energy", &ch), 0);
    tc_tx(&x->tx, &x->c.dera, "energy", "asset", "create", ++x->nonce, 2,
          "forged", "1");
    struct lg_item it = {x->tx.data, x->tx.len, false};
    struct lg_pending *p;
    assert_int_equal(lg_prepare(ch, &it, 1, 1800000000ull * 1000000000ull,
                                &x->c.orderer, NULL, &p),
                     0);
    struct lg_slice b = lg_pending_block(p);
    base_buf_reset(out);
    assert_int_equal(base_buf_add(out, b.p, b.len), 0);
    lg_pending_abort(p);
    memset(out->data + off, 0x5a, 32);
    struct cr_hash h;
    cr_sha256(&h, out->data, LG_HEADER_SIZE);
    cr_sign(out->data + LG_HEADER_SIZE, h.b, CR_HASH_SIZE, &x->c.orderer);
}

static void test_forged_blocks_refused(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    push(x, 0, "honest");
    assert_true(step_until_height(x, 7, 2, 2000));
    struct base_buf b;
    base_buf_init(&b, 0);
    /* A re-signed header claiming another state hash (offset 109), then
     * other results (offset 77): every node re-executes and refuses. */
    forged_block(x, 0, 109, &b);
    append_raw(x, 0, b.data, b.len);
    forged_block(x, 0, 77, &b);
    append_raw(x, 0, b.data, b.len);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(height(x, i), 2);
        assert_int_equal(x->core[i].refused, 2);
        assert_false(has_key(x, i, "forged"));
    }
    assert_non_null(strstr(x->core[1].last_refusal, "results"));
    base_buf_release(&b);
    /* The cluster goes on: the next honest block lands at height 2. */
    push(x, 0, "next");
    assert_true(step_until_height(x, 7, 3, 2000));
    assert_same(x, 0, 1);
    assert_same(x, 0, 2);
}

static void test_forged_signature(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    push(x, 0, "ok");
    assert_true(step_until_height(x, 7, 2, 2000));
    /* The leader orders a transaction whose signature was tampered with,
     * as if admitted: it executes it as valid and signs the block. The
     * followers check the signature themselves and refuse the block. */
    assert_int_equal(ord__core_push(&x->core[0], make_item(x, "evil", true)),
                     0);
    step_for(x, 1000);
    for (size_t i = 1; i < N; i++) {
        assert_int_equal(height(x, i), 2);
        assert_false(has_key(x, i, "evil"));
        assert_int_equal(x->core[i].refused, 1);
        assert_non_null(strstr(x->core[i].last_refusal, "transaction 0"));
    }
    assert_same(x, 1, 2);
    /* The faulty leader's own ledger took its forged block; it is out of
     * step with the honest majority, which goes on under a new leader
     * once the faulty one is gone. */
    assert_true(has_key(x, 0, "evil"));
    raft_fixture_kill(&x->f, 0);
    step_for(x, 3000);
    size_t lead = ord__core_ready(&x->core[1]) ? 1 : 2;
    assert_true(ord__core_ready(&x->core[lead]));
    push(x, lead, "good");
    assert_true(step_until_height(x, 6, 3, 3000));
    assert_same(x, 1, 2);
    assert_true(has_key(x, 1, "good"));
    /* Back, it finds the honest block 2 cut on a tip it no longer has. */
    raft_fixture_revive(&x->f, 0);
    step_for(x, 2000);
    assert_true(x->core[0].stale >= 1);
    x->srv[0].faulty = true;
}

static void test_stale_block_skipped(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    /* A block executed on an old tip, as a deposed leader's can be when
     * the next leader commits it after its own: it is skipped, not
     * counted as forged. */
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[0], "energy", &ch), 0);
    tc_tx(&x->tx, &x->c.dera, "energy", "asset", "create", 77, 2, "old", "1");
    struct lg_item it = {x->tx.data, x->tx.len, true};
    struct lg_pending *p;
    assert_int_equal(lg_prepare(ch, &it, 1, 1800000000ull * 1000000000ull,
                                &x->c.orderer, NULL, &p),
                     0);
    struct base_buf old;
    base_buf_init(&old, 0);
    struct lg_slice s = lg_pending_block(p);
    assert_int_equal(base_buf_add(&old, s.p, s.len), 0);
    lg_pending_abort(p);
    push(x, 0, "new");
    assert_true(step_until_height(x, 7, 2, 2000));
    append_raw(x, 0, old.data, old.len);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(height(x, i), 2);
        assert_int_equal(x->core[i].stale, 1);
        assert_int_equal(x->core[i].refused, 0);
        assert_false(has_key(x, i, "old"));
    }
    /* The same block again, now current: one that a node already has is
     * recognised as applied (what Raft replays after a restart). */
    base_buf_reset(&old);
    assert_int_equal(lg_block_get(ch, 1, &old), 0);
    append_raw(x, 0, old.data, old.len);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(x->core[i].stale, 1);
        assert_int_equal(x->core[i].refused, 0);
    }
    base_buf_release(&old);
}

static void change_done(struct raft_change *req, int status)
{
    struct fx *x = req->data;
    assert_int_equal(status, 0);
    x->changes_done++;
}

/* Three servers with a chain of @blocks blocks after genesis, snapshots
 * every 4 entries; then a fourth with an empty ledger is added: the log
 * it needs is gone, so it gets a snapshot naming the tip, takes the
 * channel's genesis block from it and fetches the rest from its peers. */
static void join_after(struct fx *x, int blocks, int role)
{
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(raft_fixture_get(&x->f, i), 4);
        raft_set_snapshot_trailing(raft_fixture_get(&x->f, i), 1);
    }
    elect(x, 0);
    for (int b = 0; b < blocks; b++) {
        char key[16];
        snprintf(key, sizeof key, "s%d", b);
        push(x, 0, key);
        assert_true(step_until_height(x, 7, (uint64_t)b + 2, 2000));
    }
    add_server(x, N, false);
    x->n = N + 1;
    assert_int_equal(raft_start(x->core[N].raft), 0);
    x->change.data = x;
    assert_int_equal(
        raft_add(x->core[0].raft, &x->change, N + 1, "4", change_done), 0);
    step_for(x, 500);
    assert_int_equal(x->changes_done, 1);
    /* A voter is promoted once it caught up; a standby is sent the log
     * (and the snapshot) at once, whether it ever catches up or not. */
    assert_int_equal(
        raft_assign(x->core[0].raft, &x->change, N + 1, role, change_done), 0);
}

static void test_snapshot_catch_up(void **state)
{
    struct fx *x = *state;
    join_after(x, 8, RAFT_VOTER);
    assert_true(step_until_height(x, 15, 9, 10000));
    step_for(x, 1000);
    assert_int_equal(x->changes_done, 2);
    /* It was sent a snapshot (the log before it was compacted away), and
     * fetched the blocks it names from its peers. */
    assert_true(x->core[N].raft->log.snapshot.last_index >= 4);
    assert_true(x->fetches >= 1);
    assert_same(x, 0, N);
    assert_true(has_key(x, N, "s7"));
    assert_int_equal(x->core[N].refused, 0);
    /* And it takes part: the next block reaches it too. */
    push(x, 0, "t");
    assert_true(step_until_height(x, 15, 10, 2000));
    assert_same(x, 1, N);
}

static void test_snapshot_forged_peer(void **state)
{
    struct fx *x = *state;
    /* Server 0 (node 1, asked first) serves forged blocks: each fails
     * its signature check, so the joiner asks the next member. */
    x->forge_from = 1u << 0;
    join_after(x, 8, RAFT_VOTER);
    assert_true(step_until_height(x, 15, 9, 10000));
    step_for(x, 1000);
    assert_true(x->forged >= 1);
    assert_true(x->fetches > x->forged);
    assert_same(x, 0, N);
    assert_true(has_key(x, N, "s7"));
    assert_int_equal(x->core[N].failed, 0);
}

static void test_snapshot_all_forged(void **state)
{
    struct fx *x = *state;
    /* Every member serves forged blocks: the joiner stores none of them
     * and stops with a clear error instead of taking a wrong chain. */
    x->forge_from = 7;
    join_after(x, 8, RAFT_STANDBY);
    step_for(x, 3000);
    assert_int_equal(height(x, N), 1);
    assert_int_equal(x->core[N].failed, BASE_ECORRUPT);
    assert_non_null(
        strstr(x->core[N].error, "no member served a good block 1"));
    assert_non_null(strstr(x->core[N].error, "signature"));
    /* Its ledger holds the genesis block only: still a valid ledger. */
    assert_false(has_key(x, N, "s0"));
}

/* The snapshot names the tip: its size does not grow with the chain. */
static void test_snapshot_size(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[0], "energy", &ch), 0);
    struct base_buf s;
    base_buf_init(&s, 0);
    size_t sizes[2];
    int at[2] = {5, 50};
    int b = 0;
    for (int k = 0; k < 2; k++) {
        for (; b < at[k]; b++) {
            char key[16];
            snprintf(key, sizeof key, "z%d", b);
            push(x, 0, key);
            assert_true(step_until_height(x, 1, (uint64_t)b + 2, 2000));
        }
        base_buf_reset(&s);
        assert_int_equal(ord__snapshot_take(ch, (uint64_t)b + 1, &s), 0);
        sizes[k] = s.len;
    }
    assert_int_equal(sizes[0], sizes[1]);
    /* Header, channel name and genesis block: well under a few KB. */
    assert_true(sizes[1] < 8192);
    base_buf_release(&s);
    step_for(x, 500);
}

/* A version 1 snapshot (the whole chain, written before tip-only
 * snapshots) still restores: a node with an empty ledger takes the
 * channel and re-executes the blocks it carries, asking no peer. */
static void test_snapshot_v1_restore(void **state)
{
    struct fx *x = *state;
    elect(x, 0);
    for (int b = 0; b < 5; b++) {
        char key[16];
        snprintf(key, sizeof key, "v%d", b);
        push(x, 0, key);
        assert_true(step_until_height(x, 7, (uint64_t)b + 2, 2000));
    }
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[0], "energy", &ch), 0);
    uint64_t h;
    lg_channel_tip(ch, &h, NULL, NULL);
    /* Version 1: version 2's header up to the state hash, then every
     * block with its length (ord_blocks_read's format). */
    struct base_buf s, g;
    base_buf_init(&s, 0);
    base_buf_init(&g, 0);
    assert_int_equal(ord__snapshot_take(ch, h, &s), 0);
    assert_int_equal(lg_block_get(ch, 0, &g), 0);
    s.len -= 4 + g.len;
    s.data[4] = 1;
    assert_int_equal(ord_blocks_read(ch, 0, h, SIZE_MAX, &s), 0);
    add_server(x, N, false);
    x->n = N + 1;
    x->forge_from = 7; /* a peer asked would serve forged blocks */
    struct raft_buffer buf = {raft_malloc(s.len), s.len};
    memcpy(buf.base, s.data, s.len);
    assert_int_equal(x->core[N].fsm.restore(&x->core[N].fsm, &buf), 0);
    assert_int_equal(x->fetches, 0);
    assert_same(x, 0, N);
    assert_true(has_key(x, N, "v4"));
    base_buf_release(&s);
    base_buf_release(&g);
}

/* The indexes at which node @id, leading or not, snapshots while entries
 * 1..@n are applied one by one, @size bytes each. */
static size_t snapshots_at(const struct ord__snap_policy *p, uint64_t id,
                           bool leading, uint64_t n, uint64_t size,
                           uint64_t *out, size_t max)
{
    size_t k = 0;
    uint64_t last = 0;
    uint64_t bytes = 0;
    for (uint64_t i = 1; i <= n; i++) {
        bytes += size;
        if (ord__snapshot_due(p, id, leading, last, i, bytes)) {
            assert_true(k < max);
            out[k++] = i;
            last = i;
            bytes = 0;
        }
    }
    return k;
}

/* When nodes snapshot (struct ord__snap_policy): followers every
 * threshold entries, each at its own phase, so no two of five nodes
 * stall together; the leader leader_factor times less often; any node
 * once its byte budget is spent; what is kept after. */
static void test_snapshot_policy(void **state)
{
    (void)state;
    struct ord__snap_policy p = {.threshold = 4096,
                                 .leader_factor = 4,
                                 .trailing = 1024,
                                 .bytes = UINT64_C(64) << 20};
    enum { NODES = 5, NSNAP = 64 };
    uint64_t at[NODES][NSNAP];
    size_t k[NODES];
    for (uint64_t id = 1; id <= NODES; id++) {
        k[id - 1] =
            snapshots_at(&p, id, false, 100000, 1200, at[id - 1], NSNAP);
        /* 100,000 entries: 24 or 25 snapshots, 4096 entries apart. */
        assert_in_range(k[id - 1], 24, 25);
        assert_true(at[id - 1][0] <= 4096);
        for (size_t i = 1; i < k[id - 1]; i++) {
            assert_int_equal(at[id - 1][i] - at[id - 1][i - 1], 4096);
        }
    }
    /* Any two nodes' snapshots at least 1/16 of the threshold apart. */
    for (size_t a = 0; a < NODES; a++) {
        for (size_t b = a + 1; b < NODES; b++) {
            uint64_t d = (at[a][0] > at[b][0] ? at[a][0] - at[b][0]
                                              : at[b][0] - at[a][0]) %
                         4096;
            d = d < 4096 - d ? d : 4096 - d;
            assert_true(d >= 4096 / 16);
        }
    }
    /* The leader: every 4 x 4096 entries. */
    uint64_t lead[NSNAP];
    size_t nl = snapshots_at(&p, 2, true, 100000, 1200, lead, NSNAP);
    assert_int_equal(nl, 6);
    for (size_t i = 0; i < nl; i++) {
        assert_int_equal(lead[i], (i + 1) * 4 * 4096);
    }
    /* Big blocks: the byte budget (between 32 and 64 MiB, by node)
     * decides, for followers and leader alike. */
    for (uint64_t id = 1; id <= NODES; id++) {
        size_t n = snapshots_at(&p, id, id == 1, 2000, 200000, at[0], NSNAP);
        assert_true(at[0][0] >= (UINT64_C(32) << 20) / 200000);
        assert_true(at[0][0] <= (UINT64_C(64) << 20) / 200000 + 1);
        assert_true(n >= 2000 / ((UINT64_C(64) << 20) / 200000 + 1));
    }
    /* Nothing before the last snapshot; libraft's own threshold when
     * there is no policy. */
    assert_false(ord__snapshot_due(&p, 1, false, 9000, 9000, UINT64_MAX));
    struct ord__snap_policy none = {0};
    assert_false(ord__snapshot_due(&none, 1, true, 0, 1000000, UINT64_MAX));
    /* Kept after a snapshot: the trailing count for small entries, a
     * quarter of the budget for big ones, never fewer than 16 (or the
     * trailing count, when that is smaller). */
    assert_int_equal(ord__snapshot_keep(&p, 4096, 4096 * 1200), 1024);
    unsigned keep = ord__snapshot_keep(&p, 300, 300 * 110000);
    assert_in_range(keep, 150, 153);
    assert_int_equal(ord__snapshot_keep(&p, 10, 10 * (UINT64_C(60) << 20)), 16);
    p.trailing = 2;
    assert_int_equal(ord__snapshot_keep(&p, 10, 10 * (UINT64_C(60) << 20)), 2);
}

static void test_codecs(void **state)
{
    struct fx *x = *state;
    struct raft_buffer b;
    uint8_t blk[LG_HEADER_SIZE + 70];
    memset(blk, 7, sizeof blk);
    assert_int_equal(ord__entry_block(&b, 3, 9, blk, sizeof blk), 0);
    struct ord__entry e;
    assert_int_equal(ord__entry_decode(&e, b.base, b.len), 0);
    assert_int_equal(e.kind, ORD__ENTRY_BLOCK);
    assert_int_equal(e.proposer, 3);
    assert_int_equal(e.term, 9);
    assert_int_equal(e.block.len, sizeof blk);
    /* Padded to a multiple of 8 with zeros (libraft needs it). */
    assert_int_equal(b.len % 8, 0);
    assert_int_equal(b.len, ORD__ENTRY_HEADER + sizeof blk + 1);
    /* Every truncation, a bad magic and a non-zero pad are refused. */
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(ord__entry_decode(&e, b.base, n), BASE_EPARSE);
    }
    ((uint8_t *)b.base)[b.len - 1] = 1;
    assert_int_equal(ord__entry_decode(&e, b.base, b.len), BASE_EPARSE);
    ((uint8_t *)b.base)[b.len - 1] = 0;
    ((uint8_t *)b.base)[0] = 'X';
    assert_int_equal(ord__entry_decode(&e, b.base, b.len), BASE_EPARSE);
    raft_free(b.base);
    assert_int_equal(ord__entry_anchor(&b, 1, 2, "energy", blk, 10), 0);
    assert_int_equal(ord__entry_decode(&e, b.base, b.len), 0);
    assert_string_equal(e.channel, "energy");
    assert_int_equal(e.genesis.len, 10);
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(ord__entry_decode(&e, b.base, n), BASE_EPARSE);
    }
    raft_free(b.base);
    /* A snapshot of a one-block chain, and its truncations. */
    struct lg_channel *ch;
    assert_int_equal(lg_channel_get(x->l[0], "energy", &ch), 0);
    struct base_buf s, g;
    base_buf_init(&s, 0);
    base_buf_init(&g, 0);
    assert_int_equal(ord__snapshot_take(ch, 1, &s), 0);
    assert_int_equal(lg_block_get(ch, 0, &g), 0);
    struct ord__snapshot snap;
    assert_int_equal(ord__snapshot_parse(&snap, s.data, s.len), 0);
    assert_int_equal(snap.version, 2);
    assert_int_equal(snap.height, 1);
    assert_string_equal(snap.channel, "energy");
    assert_int_equal(snap.genesis.len, g.len);
    assert_memory_equal(snap.genesis.p, g.data, g.len);
    for (size_t n = 0; n < s.len; n++) {
        assert_int_equal(ord__snapshot_parse(&snap, s.data, n), BASE_EPARSE);
    }
    /* A version this build does not know is refused. */
    s.data[4] = 3;
    assert_int_equal(ord__snapshot_parse(&snap, s.data, s.len), BASE_EPARSE);
    /* Version 1 (the whole chain, before tip-only snapshots) still reads:
     * the same header, then each block with its length. */
    s.data[4] = 1;
    s.len -= 4 + g.len;
    assert_int_equal(base_buf_add_u32(&s, (uint32_t)g.len), 0);
    assert_int_equal(base_buf_add(&s, g.data, g.len), 0);
    assert_int_equal(ord__snapshot_parse(&snap, s.data, s.len), 0);
    assert_int_equal(snap.version, 1);
    assert_int_equal(snap.genesis.len, g.len);
    assert_null(ord__snapshot_next(&snap).p);
    /* Blocks between nodes: length-prefixed, from a number to the tip. */
    base_buf_reset(&s);
    assert_int_equal(ord_blocks_read(ch, 0, 10, SIZE_MAX, &s), 0);
    assert_int_equal(s.len, 4 + g.len);
    assert_int_equal(base_get_u32(s.data), g.len);
    assert_int_equal(ord_blocks_read(ch, 1, 10, SIZE_MAX, &s), BASE_ENOTFOUND);
    base_buf_release(&s);
    base_buf_release(&g);
    /* RAFT codes map into ours and back. */
    assert_int_equal(ord__from_raft(RAFT_NOTLEADER), BASE_ENOTLEADER);
    assert_int_equal(ord__from_raft(RAFT_NOMEM), BASE_ENOMEM);
    assert_int_equal(ord__from_raft(RAFT_CORRUPT), BASE_ECORRUPT);
    assert_int_equal(ord__to_raft(BASE_ENOMEM), RAFT_NOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minority_partition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forged_blocks_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forged_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_block_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_catch_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_forged_peer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_all_forged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_v1_restore, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_codecs, setup, teardown),
        cmocka_unit_test(test_snapshot_policy),
    };
    /* GL_TEST=name runs one test (while debugging). */
    if (getenv("GL_TEST") != NULL) {
        cmocka_set_test_filter(getenv("GL_TEST"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
