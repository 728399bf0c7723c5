/* SPDX-License-Identifier: MIT */
/* Tests of order: solo admission, batching, refusals, draining on stop. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "order/order.h"
#include "testlib.h"

struct fx {
    char dir[PATH_MAX];
    struct tc_consortium c;
    struct lg_ledger *l;
    struct lg_channel *ch;
};

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "order");
    tc_init(&f->c, "energy");
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(f->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lg_close(f->l);
    tl_rmrf(f->dir);
    base_free(f);
    return 0;
}

struct tally {
    atomic_int valid, invalid, refused;
    atomic_int replays;
};

static void count(void *arg, const struct ord_result *r)
{
    struct tally *t = arg;
    if (r->code == 0) {
        atomic_fetch_add(&t->valid, 1);
    } else if (r->committed) {
        atomic_fetch_add(&t->invalid, 1);
    } else {
        atomic_fetch_add(&t->refused, 1);
    }
    if (r->code == BASE_EREPLAY) {
        atomic_fetch_add(&t->replays, 1);
    }
}

static void test_batching_and_drain(void **state)
{
    struct fx *f = *state;
    struct ord_solo *s;
    struct ord_options opt = {.max_block_tx = 100, .batch_timeout = 2000000};
    assert_int_equal(ord_solo_start(&s, f->ch, &f->c.orderer, &opt), 0);
    struct tally t = {0};
    struct base_buf tx;
    base_buf_init(&tx, 0);
    const int n = 1000;
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%d", i);
        tc_tx(&tx, i % 2 ? &f->c.dera : &f->c.dera2, "energy", "asset",
              "create", (uint64_t)i, 2, id, "1");
        assert_int_equal(ord_submit(s, tx.data, tx.len, count, &t), 0);
    }
    /* Stop commits everything already submitted before returning. */
    ord_solo_stop(s);
    assert_int_equal(atomic_load(&t.valid), n);
    uint64_t height;
    lg_channel_tip(f->ch, &height, NULL, NULL);
    /* Batched: far fewer blocks than transactions, none over the cap. */
    assert_true(height - 1 >= (uint64_t)n / 100);
    assert_true(height - 1 < (uint64_t)n / 2);
    struct base_buf b;
    base_buf_init(&b, 0);
    for (uint64_t i = 1; i < height; i++) {
        base_buf_reset(&b);
        assert_int_equal(lg_block_get(f->ch, i, &b), 0);
        struct lg_block blk;
        assert_int_equal(lg_block_decode(&blk, b.data, b.len), 0);
        assert_true(blk.h.tx_count <= 100);
        lg_block_release(&blk);
    }
    base_buf_release(&b);
    base_buf_release(&tx);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    struct ord_solo *s;
    assert_int_equal(ord_solo_start(&s, f->ch, &f->c.orderer, NULL), 0);
    struct base_buf tx;
    base_buf_init(&tx, 0);
    struct ord_result r;

    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 1, 2, "x", "1");
    assert_int_equal(ord_submit_wait(s, tx.data, tx.len, &r), 0);
    assert_true(r.committed);
    assert_int_equal(r.block, 1);
    /* The same bytes again: a replay, refused before ordering. */
    assert_int_equal(ord_submit_wait(s, tx.data, tx.len, &r), BASE_EREPLAY);
    assert_false(r.committed);
    assert_non_null(strstr(r.reason, "already committed in block 1"));
    /* A bad signature, garbage, an unknown certificate. */
    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 2, 2, "y", "1");
    tx.data[tx.len - 3] ^= 0x40;
    assert_int_equal(ord_submit_wait(s, tx.data, tx.len, &r), BASE_EBADSIG);
    assert_int_equal(ord_submit_wait(s, "junk", 4, &r), BASE_EPARSE);
    assert_non_null(strstr(r.reason, "malformed"));
    tc_tx(&tx, &f->c.outsider, "energy", "asset", "create", 3, 2, "z", "1");
    assert_int_equal(ord_submit_wait(s, tx.data, tx.len, &r),
                     BASE_EUNKNOWNCERT);
    /* A business-rule failure is recorded in a block, with its reason. */
    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 4, 2, "x", "2");
    assert_int_equal(ord_submit_wait(s, tx.data, tx.len, &r), BASE_EEXIST);
    assert_true(r.committed);
    assert_non_null(strstr(r.reason, "already exists"));
    /* Oversized envelopes never enter. */
    uint8_t *big = base_calloc(1, LG_TX_MAX + 1);
    assert_int_equal(ord_submit_wait(s, big, LG_TX_MAX + 1, &r), BASE_ETOOBIG);
    base_free(big);

    struct ord_stats st;
    ord_solo_stats(s, &st);
    assert_int_equal(st.committed_valid, 1);
    assert_int_equal(st.committed_invalid, 1);
    assert_int_equal(st.refused, 4);
    ord_solo_stop(s);
    base_buf_release(&tx);
}

struct burst {
    struct ord_solo *s;
    const uint8_t *tx;
    size_t len;
    struct tally *t;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < 50; i++) {
        int rv = ord_submit(b->s, b->tx, b->len, count, b->t);
        assert_int_equal(rv, 0);
    }
    return NULL;
}

static void test_inflight_replay(void **state)
{
    struct fx *f = *state;
    struct ord_solo *s;
    struct ord_options opt = {.batch_timeout = 20000000}; /* 20 ms */
    assert_int_equal(ord_solo_start(&s, f->ch, &f->c.orderer, &opt), 0);
    struct base_buf tx;
    base_buf_init(&tx, 0);
    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 1, 2, "dup", "1");
    struct tally t = {0};
    struct burst b = {s, tx.data, tx.len, &t};
    pthread_t th[2];
    pthread_create(&th[0], NULL, burst_main, &b);
    pthread_create(&th[1], NULL, burst_main, &b);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    ord_solo_stop(s);
    /* 100 copies of one transaction: exactly one commits. */
    assert_int_equal(atomic_load(&t.valid), 1);
    assert_int_equal(atomic_load(&t.replays), 99);
    base_buf_release(&tx);
}

static void test_submit_after_stop_and_full(void **state)
{
    struct fx *f = *state;
    struct ord_solo *s;
    struct ord_options opt = {.max_pending = 1, .batch_timeout = 50000000};
    assert_int_equal(ord_solo_start(&s, f->ch, &f->c.orderer, &opt), 0);
    struct base_buf tx;
    base_buf_init(&tx, 0);
    struct tally t = {0};
    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 1, 2, "p", "1");
    assert_int_equal(ord_submit(s, tx.data, tx.len, count, &t), 0);
    tc_tx(&tx, &f->c.dera, "energy", "asset", "create", 2, 2, "q", "1");
    assert_int_equal(ord_submit(s, tx.data, tx.len, count, &t), BASE_EFULL);
    ord_solo_stop(s);
    assert_int_equal(atomic_load(&t.valid), 1);
    base_buf_release(&tx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batching_and_drain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_after_stop_and_full, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
