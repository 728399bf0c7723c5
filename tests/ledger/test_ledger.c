/* SPDX-License-Identifier: MIT */
/* Tests of ledger: encodings, admission, commit, queries, proofs, events,
 * replay of blocks on a second ledger, and verification of tampering. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "store/store.h"
#include "testlib.h"

#define NOW (1800000000ull * 1000000000ull)

struct fx {
    char dir[PATH_MAX];
    struct tc_consortium c;
    struct lg_ledger *l;
    struct lg_channel *ch;
    struct base_buf tx;
};

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tl_tmpdir(f->dir, "ledger");
    tc_init(&f->c, "energy");
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(f->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    base_buf_init(&f->tx, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lg_close(f->l);
    base_buf_release(&f->tx);
    tl_rmrf(f->dir);
    base_free(f);
    return 0;
}

/* Commit one transaction already in f->tx; return its outcome code. */
static int commit1(struct fx *f, struct lg_outcome *o)
{
    struct lg_item it = {f->tx.data, f->tx.len, false};
    struct lg_outcome tmp;
    if (o == NULL) {
        o = &tmp;
    }
    assert_int_equal(lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, o, NULL), 0);
    return o->code;
}

static void test_tx_roundtrip(void **state)
{
    struct fx *f = *state;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 7, 2, "a1", "10");
    struct lg_tx tx;
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_string_equal(tx.channel, "energy");
    assert_string_equal(tx.contract, "asset");
    assert_string_equal(tx.function, "create");
    assert_int_equal(tx.nargs, 2);
    assert_memory_equal(tx.args[0].p, "a1", 2);
    assert_string_equal(tx.cert.org, "DERA1");
    assert_true(tx.nonce == 7);
    /* Every truncation is refused, never crashes. */
    for (size_t n = 0; n < f->tx.len; n++) {
        assert_int_equal(lg_tx_decode(&tx, f->tx.data, n), BASE_EPARSE);
    }
    /* A trailing byte is refused too. */
    assert_int_equal(base_buf_add_u8(&f->tx, 0), 0);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), BASE_EPARSE);
    uint8_t big[16];
    assert_int_equal(lg_tx_decode(&tx, big, LG_TX_MAX + 1), BASE_ETOOBIG);
}

static void test_config_roundtrip(void **state)
{
    struct fx *f = *state;
    struct base_buf b;
    base_buf_init(&b, 0);
    assert_int_equal(lg_config_encode(&f->c.cfg, &b), 0);
    struct lg_config c2;
    assert_int_equal(lg_config_decode(&c2, b.data, b.len), 0);
    assert_string_equal(c2.orgs[2].name, "DERA1");
    assert_string_equal(c2.orgs[2].roles[0], "dera");
    assert_int_equal(lg_config_decode(&c2, b.data, b.len - 1), BASE_EPARSE);
    base_buf_release(&b);
}

static void test_commit_and_query(void **state)
{
    struct fx *f = *state;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "a1", "10");
    struct lg_outcome o;
    assert_int_equal(commit1(f, &o), 0);
    struct cr_hash id1 = o.id;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 2, 2, "a1", "20");
    assert_int_equal(commit1(f, NULL), 0);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 3, 2, "a2", "5");
    assert_int_equal(commit1(f, NULL), 0);

    uint64_t height;
    lg_channel_tip(f->ch, &height, NULL, NULL);
    assert_int_equal(height, 4);

    struct base_buf v;
    base_buf_init(&v, 0);
    struct lg_version ver;
    assert_int_equal(lg_get(f->ch, "asset", "a1", 2, &v, &ver), 0);
    assert_int_equal(base_buf_terminate(&v), 0);
    assert_string_equal((char *)v.data,
                        "{\"id\":\"a1\",\"owner\":\"DERA1/alice\",\"value\":"
                        "\"20\"}");
    assert_int_equal(ver.block, 2);
    base_buf_reset(&v);
    assert_int_equal(lg_get(f->ch, "asset", "zz", 2, &v, NULL), BASE_ENOTFOUND);
    /* Contracts are namespaced: another contract's view is empty. */
    assert_int_equal(lg_get(f->ch, "other", "a1", 2, &v, NULL), BASE_ENOTFOUND);

    struct lg_tx_info info;
    assert_int_equal(lg_tx_find(f->ch, &id1, &info), 0);
    assert_int_equal(info.block, 1);
    assert_int_equal(info.index, 0);
    assert_int_equal(info.code, 0);

    /* Block by number and by hash. */
    struct cr_hash tip;
    lg_channel_tip(f->ch, NULL, &tip, NULL);
    uint64_t num;
    assert_int_equal(lg_block_find(f->ch, &tip, &num), 0);
    assert_int_equal(num, 3);
    base_buf_reset(&v);
    assert_int_equal(lg_block_get(f->ch, 3, &v), 0);
    struct lg_block b;
    assert_int_equal(lg_block_decode(&b, v.data, v.len), 0);
    assert_int_equal(b.h.number, 3);
    assert_memory_equal(b.hash.b, tip.b, 32);
    lg_block_release(&b);
    assert_int_equal(lg_block_get(f->ch, 99, &v), BASE_ENOTFOUND);
    base_buf_release(&v);
}

static int count_cb(void *arg, struct lg_slice k, struct lg_slice v)
{
    (void)k;
    (void)v;
    (*(int *)arg)++;
    return 0;
}

struct hist {
    int n;
    uint64_t blocks[8];
    bool deleted[8];
};

static int hist_cb(void *arg, const struct lg_history_entry *e)
{
    struct hist *h = arg;
    h->blocks[h->n] = e->ver.block;
    h->deleted[h->n] = e->deleted;
    h->n++;
    return 0;
}

static void test_history_range(void **state)
{
    struct fx *f = *state;
    const char *ids[] = {"k1", "k2", "k3", "x1"};
    for (int i = 0; i < 4; i++) {
        tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", (uint64_t)i, 2,
              ids[i], "v");
        assert_int_equal(commit1(f, NULL), 0);
    }
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 10, 2, "k2", "w");
    assert_int_equal(commit1(f, NULL), 0);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "delete", 11, 1, "k2");
    assert_int_equal(commit1(f, NULL), 0);

    int n = 0;
    assert_int_equal(lg_range(f->ch, "asset", "k", 1, "l", 1, 0, count_cb, &n),
                     0);
    assert_int_equal(n, 2); /* k1, k3 (k2 deleted) */
    n = 0;
    assert_int_equal(lg_range(f->ch, "asset", "", 0, NULL, 0, 0, count_cb, &n),
                     0);
    assert_int_equal(n, 3);
    n = 0;
    assert_int_equal(lg_range(f->ch, "asset", "", 0, NULL, 0, 2, count_cb, &n),
                     0);
    assert_int_equal(n, 2);

    struct hist h = {0};
    assert_int_equal(lg_history(f->ch, "asset", "k2", 2, hist_cb, &h), 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.blocks[0], 2);
    assert_int_equal(h.blocks[1], 5);
    assert_false(h.deleted[1]);
    assert_true(h.deleted[2]);
    assert_int_equal(lg_history(f->ch, "asset", "none", 4, hist_cb, &h),
                     BASE_ENOTFOUND);
}

static void test_invalid_stay_in_block(void **state)
{
    struct fx *f = *state;
    struct base_buf txs[6];
    for (int i = 0; i < 6; i++) {
        base_buf_init(&txs[i], 0);
    }
    tc_tx(&txs[0], &f->c.dera, "energy", "asset", "create", 1, 2, "a", "1");
    /* Same asset again in the same block: the contract refuses it. */
    tc_tx(&txs[1], &f->c.dera, "energy", "asset", "create", 2, 2, "a", "2");
    /* Another member may not update alice's asset. */
    tc_tx(&txs[2], &f->c.dera2, "energy", "asset", "update", 3, 2, "a", "3");
    /* The exact same transaction twice: a replay. */
    tc_tx(&txs[3], &f->c.dera, "energy", "asset", "create", 4, 2, "b", "1");
    tc_tx(&txs[4], &f->c.dera, "energy", "asset", "create", 4, 2, "b", "1");
    /* Garbage bytes. */
    assert_int_equal(base_buf_add_str(&txs[5], "not a transaction"), 0);
    struct lg_item items[6];
    for (int i = 0; i < 6; i++) {
        items[i] = (struct lg_item){txs[i].data, txs[i].len, false};
    }
    struct lg_outcome o[6];
    struct lg_header h;
    assert_int_equal(lg_commit(f->ch, items, 6, NOW, &f->c.orderer, o, &h), 0);
    assert_int_equal(h.tx_count, 6);
    assert_int_equal(o[0].code, 0);
    assert_int_equal(o[1].code, BASE_EEXIST);
    assert_non_null(strstr(o[1].reason, "already exists"));
    assert_int_equal(o[2].code, BASE_EPERM);
    assert_int_equal(o[3].code, 0);
    assert_int_equal(o[4].code, BASE_EREPLAY);
    assert_int_equal(o[5].code, BASE_EPARSE);

    /* The replayed copy did not overwrite the original's index entry. */
    struct lg_tx_info ti;
    assert_int_equal(lg_tx_find(f->ch, &o[3].id, &ti), 0);
    assert_int_equal(ti.index, 3);
    assert_int_equal(ti.code, 0);
    /* Nor does a replay in a later block. */
    struct lg_item again = items[3];
    struct lg_outcome o2;
    assert_int_equal(lg_commit(f->ch, &again, 1, NOW, &f->c.orderer, &o2, NULL),
                     0);
    assert_int_equal(o2.code, BASE_EREPLAY);
    assert_int_equal(lg_tx_find(f->ch, &o[3].id, &ti), 0);
    assert_int_equal(ti.block, 1);
    assert_int_equal(ti.code, 0);

    /* The failed update wrote nothing. */
    struct base_buf v;
    base_buf_init(&v, 0);
    assert_int_equal(lg_get(f->ch, "asset", "a", 1, &v, NULL), 0);
    assert_non_null(memmem(v.data, v.len, "\"value\":\"1\"", 11));
    /* Results are in the stored block with their reasons. */
    base_buf_reset(&v);
    assert_int_equal(lg_block_get(f->ch, 1, &v), 0);
    struct lg_block b;
    assert_int_equal(lg_block_decode(&b, v.data, v.len), 0);
    assert_int_equal(b.results[2].code, BASE_EPERM);
    assert_true(b.results[2].reason.len > 0);
    lg_block_release(&b);
    base_buf_release(&v);
    for (int i = 0; i < 6; i++) {
        base_buf_release(&txs[i]);
    }
}

static void test_admission(void **state)
{
    struct fx *f = *state;
    struct lg_tx tx;
    char reason[LG_REASON_MAX + 1];

    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "a", "1");
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), 0);
    /* Expired at a later time, not yet valid before not_before. */
    assert_int_equal(
        lg_admit(f->ch, &tx, 4200000000ull * 1000000000ull, reason),
        BASE_EEXPIRED);
    assert_non_null(strstr(reason, "valid from"));

    /* Bad signature: flip a byte of the signature. */
    f->tx.data[f->tx.len - 1] ^= 1;
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EBADSIG);
    /* A flipped argument byte breaks the signature as well. */
    f->tx.data[f->tx.len - 1] ^= 1;
    uint8_t *arg = memmem(f->tx.data, f->tx.len, "create", 6);
    arg[0] = 'k';
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EBADSIG);

    /* Certificate not signed by its organisation. */
    tc_tx(&f->tx, &f->c.outsider, "energy", "asset", "create", 1, 2, "a", "1");
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EUNKNOWNCERT);

    /* Unknown contract and function. */
    tc_tx(&f->tx, &f->c.dera, "energy", "nope", "create", 1, 0);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_ENOCONTRACT);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "explode", 1, 0);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_ENOFUNC);

    /* Wrong channel. */
    tc_tx(&f->tx, &f->c.dera, "other", "asset", "create", 1, 2, "a", "1");
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_ENOCHANNEL);

    /* Replay of a committed transaction. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 5, 2, "r", "1");
    assert_int_equal(commit1(f, NULL), 0);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EREPLAY);

    /* A certificate for a role its org may not grant. */
    struct tc_member m = f->c.dera;
    snprintf(m.cert.role, sizeof m.cert.role, "dso");
    assert_int_equal(lg_cert_sign(&m.cert, &f->c.roots[2]), 0);
    tc_tx(&f->tx, &m, "energy", "asset", "create", 1, 2, "a", "1");
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EPERM);
}

static void test_proof(void **state)
{
    struct fx *f = *state;
    struct base_buf txs[5];
    struct lg_item items[5];
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        base_buf_init(&txs[i], 0);
        tc_tx(&txs[i], &f->c.dera, "energy", "asset", "create", (uint64_t)i, 2,
              id, "1");
        items[i] = (struct lg_item){txs[i].data, txs[i].len, false};
    }
    struct lg_outcome o[5];
    assert_int_equal(lg_commit(f->ch, items, 5, NOW, &f->c.orderer, o, NULL),
                     0);
    struct lg_proof p;
    lg_proof_init(&p);
    assert_int_equal(lg_proof_make(f->ch, &o[3].id, &p), 0);
    assert_int_equal(lg_proof_check(&p, f->c.orderer.pk), 0);
    /* Through JSON and back, as `gridledger query proof` hands it out. */
    struct base_buf js;
    base_buf_init(&js, 0);
    assert_int_equal(lg_proof_to_json(&p, &js), 0);
    assert_int_equal(base_buf_terminate(&js), 0);
    struct lg_proof q;
    lg_proof_init(&q);
    assert_int_equal(lg_proof_from_json(&q, (char *)js.data, NULL), 0);
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), 0);
    /* A changed transaction byte, header byte or wrong orderer fails. */
    q.tx.data[10] ^= 1;
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), BASE_ECORRUPT);
    q.tx.data[10] ^= 1;
    q.header[50] ^= 1;
    assert_int_equal(lg_proof_check(&q, NULL), BASE_ECORRUPT);
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), BASE_EBADSIG);
    q.header[50] ^= 1;
    assert_int_equal(lg_proof_check(&q, f->c.roots[0].pk), BASE_EBADSIG);
    /* The id it names is bound to the envelope (issue 15, finding 14). */
    q.txid.b[0] ^= 1;
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), BASE_ECORRUPT);
    q.txid.b[0] ^= 1;
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), 0);
    char why[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_proof_from_json(&q, "{\"header\": 3}", why),
                     BASE_EPARSE);
    assert_non_null(strstr(why, "'txid'"));
    assert_int_equal(lg_proof_from_json(&q, "not json", NULL), BASE_EPARSE);
    /* Refused: the failed reads left the good proof in place. */
    assert_int_equal(lg_proof_check(&q, f->c.orderer.pk), 0);
    struct cr_hash none = {{0}};
    assert_int_equal(lg_proof_make(f->ch, &none, &p), BASE_ENOTFOUND);
    lg_proof_release(&p);
    lg_proof_release(&q);
    base_buf_release(&js);
    for (int i = 0; i < 5; i++) {
        base_buf_release(&txs[i]);
    }
}

struct seen {
    int blocks;
    int events;
    char last[64];
};

static void on_block(void *arg, struct lg_channel *ch,
                     const struct lg_header *h, const struct lg_outcome *out,
                     size_t n)
{
    (void)ch;
    (void)h;
    (void)out;
    (void)n;
    ((struct seen *)arg)->blocks++;
}

static void on_event(void *arg, const struct lg_event *e)
{
    struct seen *s = arg;
    s->events++;
    snprintf(s->last, sizeof s->last, "%s.%s", e->contract, e->name);
}

static int stored_cb(void *arg, const struct lg_event *e)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static void test_events(void **state)
{
    struct fx *f = *state;
    struct seen s = {0};
    struct lg_subscriber sub = {&s, on_block, on_event};
    assert_int_equal(lg_subscribe(f->l, &sub), 0);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "e", "1");
    assert_int_equal(commit1(f, NULL), 0);
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "transfer", 2, 2, "e",
          "DSO/op");
    assert_int_equal(commit1(f, NULL), 0);
    /* A failed call emits nothing. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "update", 3, 2, "e", "9");
    assert_int_equal(commit1(f, NULL), BASE_EPERM);
    assert_int_equal(s.blocks, 3);
    assert_int_equal(s.events, 2);
    assert_string_equal(s.last, "asset.AssetTransferred");
    int n = 0;
    assert_int_equal(lg_events(f->ch, 0, stored_cb, &n), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(lg_events(f->ch, 2, stored_cb, &n), 0);
    assert_int_equal(n, 1);
}

static void test_channels_and_reopen(void **state)
{
    struct fx *f = *state;
    struct tc_consortium c2;
    tc_init(&c2, "microgrid2");
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_channel_create(f->l, &c2.cfg, &c2.orderer, err), 0);
    assert_int_equal(lg_channel_create(f->l, &c2.cfg, &c2.orderer, err),
                     BASE_EEXIST);
    struct lg_channel *ch2;
    assert_int_equal(lg_channel_get(f->l, "microgrid2", &ch2), 0);
    tc_tx(&f->tx, &f->c.dera, "microgrid2", "asset", "create", 1, 2, "m", "1");
    struct lg_item it = {f->tx.data, f->tx.len, false};
    struct lg_outcome o;
    assert_int_equal(lg_commit(ch2, &it, 1, NOW, &c2.orderer, &o, NULL), 0);
    assert_int_equal(o.code, 0);
    struct base_buf v;
    base_buf_init(&v, 0);
    assert_int_equal(lg_get(f->ch, "asset", "m", 1, &v, NULL), BASE_ENOTFOUND);
    /* Reopen: channels, tips and state come back from disk. */
    struct cr_hash tip_before;
    lg_channel_tip(ch2, NULL, &tip_before, NULL);
    lg_close(f->l);
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    char names[4][LG_NAME_MAX + 1];
    assert_int_equal(lg_channel_list(f->l, names, 4), 2);
    assert_int_equal(lg_channel_get(f->l, "microgrid2", &ch2), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    assert_int_equal(lg_channel_get(f->l, "nope", &ch2), BASE_ENOCHANNEL);
    assert_int_equal(lg_channel_get(f->l, "microgrid2", &ch2), 0);
    struct cr_hash tip_after;
    uint64_t height;
    lg_channel_tip(ch2, &height, &tip_after, NULL);
    assert_int_equal(height, 2);
    assert_memory_equal(tip_before.b, tip_after.b, 32);
    assert_int_equal(lg_get(ch2, "asset", "m", 1, &v, NULL), 0);
    base_buf_release(&v);
}

static void test_evaluate(void **state)
{
    struct fx *f = *state;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "q", "7");
    assert_int_equal(commit1(f, NULL), 0);
    struct base_buf out;
    base_buf_init(&out, 0);
    char reason[LG_REASON_MAX + 1];
    struct lg_slice arg = {(const uint8_t *)"q", 1};
    assert_int_equal(lg_evaluate(f->ch, &f->c.iso.cert, "asset", "read", 1,
                                 &arg, &out, reason),
                     0);
    assert_non_null(memmem(out.data, out.len, "\"value\":\"7\"", 11));
    /* Evaluation cannot write. */
    struct lg_slice args2[2] = {{(const uint8_t *)"z", 1},
                                {(const uint8_t *)"1", 1}};
    assert_int_equal(lg_evaluate(f->ch, &f->c.iso.cert, "asset", "create", 2,
                                 args2, &out, reason),
                     BASE_EPERM);
    assert_int_equal(lg_get(f->ch, "asset", "z", 1, &out, NULL),
                     BASE_ENOTFOUND);
    base_buf_release(&out);
}

/* Build a chain of several blocks for the replay and tamper tests. */
static void build_chain(struct fx *f)
{
    for (int b = 0; b < 4; b++) {
        struct base_buf txs[3];
        struct lg_item items[3];
        for (int i = 0; i < 3; i++) {
            char id[16];
            snprintf(id, sizeof id, "c%d", i);
            base_buf_init(&txs[i], 0);
            if (b == 0) {
                tc_tx(&txs[i], &f->c.dera, "energy", "asset", "create",
                      (uint64_t)(b * 10 + i), 2, id, "1");
            } else {
                char val[16];
                snprintf(val, sizeof val, "%d", b);
                tc_tx(&txs[i], &f->c.dera, "energy", "asset", "update",
                      (uint64_t)(b * 10 + i), 2, id, val);
            }
            items[i] = (struct lg_item){txs[i].data, txs[i].len, false};
        }
        assert_int_equal(lg_commit(f->ch, items, 3, NOW + (uint64_t)b,
                                   &f->c.orderer, NULL, NULL),
                         0);
        for (int i = 0; i < 3; i++) {
            base_buf_release(&txs[i]);
        }
    }
}

static void test_apply_on_replica(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    char dir2[PATH_MAX], err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir2, "replica");
    struct lg_ledger *l2;
    assert_int_equal(lg_open(&l2, dir2, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(l2, &f->c.cfg, &f->c.orderer, err), 0);
    struct lg_channel *ch2;
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), 0);
    struct base_buf b;
    base_buf_init(&b, 0);
    /* Block 2 before block 1 is refused. */
    assert_int_equal(lg_block_get(f->ch, 2, &b), 0);
    assert_int_equal(lg_apply(ch2, b.data, b.len, err), BASE_ECORRUPT);
    assert_non_null(strstr(err, "expected block number 1"));
    for (uint64_t n = 1; n <= 4; n++) {
        base_buf_reset(&b);
        assert_int_equal(lg_block_get(f->ch, n, &b), 0);
        if (n == 3) {
            /* A forged result byte is caught before anything is stored. */
            b.data[b.len - 5] ^= 1;
            assert_int_equal(lg_apply(ch2, b.data, b.len, err), BASE_ECORRUPT);
            b.data[b.len - 5] ^= 1;
        }
        assert_int_equal(lg_apply(ch2, b.data, b.len, err), 0);
    }
    struct cr_hash s1, s2;
    lg_channel_tip(f->ch, NULL, NULL, &s1);
    lg_channel_tip(ch2, NULL, NULL, &s2);
    assert_memory_equal(s1.b, s2.b, 32);
    base_buf_release(&b);
    lg_close(l2);
    tl_rmrf(dir2);
}

/* Several blocks in one transaction: all stored when all are good; when
 * one fails, those before it are stored and it and those after are not;
 * the subscribers hear of each block stored, once. */
static void test_apply_many(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    char dir2[PATH_MAX], err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir2, "replica-many");
    struct lg_ledger *l2;
    assert_int_equal(lg_open(&l2, dir2, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(l2, &f->c.cfg, &f->c.orderer, err), 0);
    struct seen s = {0};
    struct lg_subscriber sub = {&s, on_block, on_event};
    assert_int_equal(lg_subscribe(l2, &sub), 0);
    struct lg_channel *ch2;
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), 0);
    struct base_buf b[4];
    struct lg_slice sl[4];
    for (uint64_t n = 1; n <= 4; n++) {
        base_buf_init(&b[n - 1], 0);
        assert_int_equal(lg_block_get(f->ch, n, &b[n - 1]), 0);
        sl[n - 1] = (struct lg_slice){b[n - 1].data, b[n - 1].len};
    }
    /* Block 3 forged: blocks 1 and 2 are stored, 3 and 4 not. */
    b[2].data[b[2].len - 5] ^= 1;
    size_t done = 99;
    assert_int_equal(lg_apply_many(ch2, sl, 4, &done, err), BASE_ECORRUPT);
    assert_int_equal(done, 2);
    assert_non_null(strstr(err, "block 3"));
    uint64_t height;
    lg_channel_tip(ch2, &height, NULL, NULL);
    assert_int_equal(height, 3);
    assert_int_equal(s.blocks, 2);
    /* The same again is refused: block 1 is no longer the next. */
    assert_int_equal(lg_apply_many(ch2, sl, 4, &done, err), BASE_ECORRUPT);
    assert_int_equal(done, 0);
    assert_non_null(strstr(err, "expected block number 3"));
    /* Blocks 3 and 4 as sent: all stored, one state with the source. */
    b[2].data[b[2].len - 5] ^= 1;
    assert_int_equal(lg_apply_many(ch2, sl + 2, 2, &done, err), 0);
    assert_int_equal(done, 2);
    assert_int_equal(s.blocks, 4);
    struct cr_hash s1, s2;
    lg_channel_tip(f->ch, NULL, NULL, &s1);
    lg_channel_tip(ch2, &height, NULL, &s2);
    assert_int_equal(height, 5);
    assert_memory_equal(s1.b, s2.b, 32);
    for (int i = 0; i < 4; i++) {
        base_buf_release(&b[i]);
    }
    lg_close(l2);
    /* What was stored survives a reopen, and verifies. */
    assert_int_equal(lg_open(&l2, dir2, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), 0);
    lg_channel_tip(ch2, &height, NULL, &s2);
    assert_int_equal(height, 5);
    assert_memory_equal(s1.b, s2.b, 32);
    lg_close(l2);
    tl_rmrf(dir2);
}

/* Flip one byte of a stored record directly in LMDB, as disk corruption or
 * an attacker with file access would. */
static void flip_stored(const char *dir, const char *db, const void *key,
                        size_t klen, size_t off)
{
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, dir, NULL, err), 0);
    struct kv_txn *t;
    kv_dbi dbi;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_dbi_open(t, db, false, &dbi), 0);
    struct kv_val v;
    assert_int_equal(kv_get(t, dbi, key, klen, &v), 0);
    uint8_t *copy = base_malloc(v.len);
    memcpy(copy, v.data, v.len);
    copy[off % v.len] ^= 0x01;
    assert_int_equal(kv_put(t, dbi, key, klen, copy, v.len), 0);
    base_free(copy);
    assert_int_equal(kv_txn_commit(t), 0);
    kv_env_close(env);
}

static int run_verify(struct fx *f, struct lg_verify_report *rep)
{
    char scratch[PATH_MAX];
    tl_tmpdir(scratch, "verify");
    int rv = lg_verify(f->dir, scratch, &f->c.exec, rep);
    tl_rmrf(scratch);
    return rv;
}

static void test_verify_detects_tampering(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    struct lg_verify_report rep;
    lg_close(f->l);
    f->l = NULL;
    int rv = run_verify(f, &rep);
    if (rv != 0) {
        fprintf(stderr, "verify: %s\n", rep.error);
    }
    assert_int_equal(rv, 0);
    assert_int_equal(rep.blocks, 5);
    assert_int_equal(rep.txs, 12);
    assert_int_equal(rep.valid_txs, 12);
    assert_int_equal(rep.state_keys, 3);

    /* Every byte of block 2, one at a time: each flip is caught and named. */
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, f->dir, NULL, err), 0);
    struct kv_txn *t;
    kv_dbi dbi;
    assert_int_equal(kv_txn_begin(env, false, &t), 0);
    assert_int_equal(kv_dbi_open(t, "energy.blocks", false, &dbi), 0);
    uint8_t key[8];
    base_put_u64(key, 2);
    struct kv_val v;
    assert_int_equal(kv_get(t, dbi, key, 8, &v), 0);
    size_t len = v.len;
    kv_txn_abort(t);
    kv_env_close(env);
    for (size_t off = 0; off < len; off += 7) {
        flip_stored(f->dir, "energy.blocks", key, 8, off);
        assert_int_equal(run_verify(f, &rep), BASE_ECORRUPT);
        assert_non_null(strstr(rep.error, "block"));
        flip_stored(f->dir, "energy.blocks", key, 8, off);
    }
    assert_int_equal(run_verify(f, &rep), 0);

    /* A flipped byte in the world state, in the value or its version. */
    struct base_buf sk;
    base_buf_init(&sk, 0);
    assert_int_equal(base_buf_add(&sk, "asset\0c1", 8), 0);
    for (size_t off = 0; off < 20; off += 3) {
        flip_stored(f->dir, "energy.state", sk.data, sk.len, off);
        assert_int_equal(run_verify(f, &rep), BASE_ECORRUPT);
        assert_non_null(strstr(rep.error, "state record 'asset/c1'"));
        flip_stored(f->dir, "energy.state", sk.data, sk.len, off);
    }
    base_buf_release(&sk);
    assert_int_equal(run_verify(f, &rep), 0);
}

/* An asset.create by @by introducing the certificates of @n members. */
static void intro_tx(struct base_buf *out, const struct tc_member *by,
                     const struct tc_member *const *who, uint32_t n,
                     const char *id, uint64_t nonce)
{
    struct base_buf enc[LG_MAX_INTRO + 1];
    struct lg_slice in[LG_MAX_INTRO + 1];
    for (uint32_t i = 0; i < n; i++) {
        base_buf_init(&enc[i], 0);
        assert_int_equal(lg_cert_encode(&who[i]->cert, &enc[i]), 0);
        in[i] = (struct lg_slice){enc[i].data, enc[i].len};
    }
    struct lg_slice args[2] = {{(const uint8_t *)id, strlen(id)},
                               {(const uint8_t *)"1", 1}};
    struct lg_call call = {"energy", "asset", "create", 2, args};
    base_buf_reset(out);
    assert_int_equal(
        lg_tx_build_intro(out, &call, in, n, &by->cert, &by->key, nonce, NULL),
        0);
    for (uint32_t i = 0; i < n; i++) {
        base_buf_release(&enc[i]);
    }
}

/* A transaction introduces certificates: admission checks them, a valid
 * commit records them (and only a valid one), a replica and lg_verify
 * reproduce the record, and the introduced member can sign. */
static void test_introduced_certs(void **state)
{
    struct fx *f = *state;
    struct tc_member dave;
    tc_certify(&dave, "DERA1", "dera", "dave", &f->c.roots[2], 77);
    struct base_buf dcert;
    base_buf_init(&dcert, 0);
    assert_int_equal(lg_cert_encode(&dave.cert, &dcert), 0);
    const struct tc_member *who[] = {&dave};

    /* Encoding: version 2, the certificate after the arguments; every
     * truncation and a trailing byte are refused. */
    intro_tx(&f->tx, &f->c.dera, who, 1, "i1", 1);
    struct lg_tx tx;
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(f->tx.data[4], 2);
    assert_int_equal(tx.nintro, 1);
    assert_int_equal(tx.intro[0].len, dcert.len);
    assert_memory_equal(tx.intro[0].p, dcert.data, dcert.len);
    assert_string_equal(tx.cert.name, "alice");
    for (size_t n = 0; n < f->tx.len; n++) {
        assert_int_equal(lg_tx_decode(&tx, f->tx.data, n), BASE_EPARSE);
    }
    /* Version 2 with no certificate (a version 1 envelope relabelled: the
     * signer's certificate length starts with a zero byte). */
    struct base_buf v1;
    base_buf_init(&v1, 0);
    tc_tx(&v1, &f->c.dera, "energy", "asset", "create", 1, 2, "i1", "1");
    v1.data[4] = 2;
    assert_int_equal(lg_tx_decode(&tx, v1.data, v1.len), BASE_EPARSE);
    base_buf_release(&v1);
    /* Building: too many, or bytes that are not a certificate. */
    struct lg_slice junk = {(const uint8_t *)"nope", 4}, many[LG_MAX_INTRO + 1];
    for (int i = 0; i < LG_MAX_INTRO + 1; i++) {
        many[i] = (struct lg_slice){dcert.data, dcert.len};
    }
    struct lg_call call = {"energy", "asset", "create", 0, NULL};
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(lg_tx_build_intro(&out, &call, &junk, 1, &f->c.dera.cert,
                                       &f->c.dera.key, 1, NULL),
                     BASE_EINVAL);
    assert_int_equal(lg_tx_build_intro(&out, &call, many, LG_MAX_INTRO + 1,
                                       &f->c.dera.cert, &f->c.dera.key, 1,
                                       NULL),
                     BASE_EINVAL);
    assert_int_equal(out.len, 0);
    base_buf_release(&out);

    /* Bad introduced certificates are refused at admission and, when a
     * block holds them anyway, at execution; nothing is recorded. */
    char reason[LG_REASON_MAX + 1];
    struct lg_outcome o;
    const struct tc_member *bad[] = {&f->c.outsider};
    intro_tx(&f->tx, &f->c.dera, bad, 1, "i2", 2);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EUNKNOWNCERT);
    assert_non_null(strstr(reason, "introduced certificate"));
    assert_int_equal(commit1(f, &o), BASE_EUNKNOWNCERT);
    struct tc_member wrong = dave;
    snprintf(wrong.cert.role, sizeof wrong.cert.role, "dso");
    assert_int_equal(lg_cert_sign(&wrong.cert, &f->c.roots[2]), 0);
    const struct tc_member *wr[] = {&dave, &wrong};
    intro_tx(&f->tx, &f->c.dera, wr, 2, "i3", 3);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), BASE_EPERM);
    assert_non_null(strstr(reason, "introduced certificate"));
    assert_int_equal(commit1(f, &o), BASE_EPERM);
    assert_int_equal(lg_cert_known(f->ch, dcert.data, dcert.len, NULL),
                     BASE_ENOTFOUND);

    /* A valid transaction whose call fails records nothing either. */
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 4, 2, "dup", "1");
    assert_int_equal(commit1(f, NULL), 0);
    intro_tx(&f->tx, &f->c.dera, who, 1, "dup", 5);
    assert_int_not_equal(commit1(f, &o), 0);
    assert_int_equal(lg_cert_known(f->ch, dcert.data, dcert.len, NULL),
                     BASE_ENOTFOUND);

    /* Admitted and committed: recorded where it was introduced. */
    intro_tx(&f->tx, &f->c.dera, who, 1, "i1", 6);
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), 0);
    struct lg_item it = {f->tx.data, f->tx.len, true};
    struct lg_header h;
    assert_int_equal(lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, &o, &h), 0);
    assert_int_equal(o.code, 0);
    struct lg_version where;
    assert_int_equal(lg_cert_known(f->ch, dcert.data, dcert.len, &where), 0);
    assert_true(where.block == h.number);
    assert_int_equal(where.tx, 0);
    /* Introduced again later: the first place stays. */
    intro_tx(&f->tx, &f->c.dera, who, 1, "i4", 7);
    assert_int_equal(commit1(f, &o), 0);
    assert_int_equal(lg_cert_known(f->ch, dcert.data, dcert.len, &where), 0);
    assert_true(where.block == h.number);

    /* The introduced member signs; admission and commit accept it. */
    tc_tx(&f->tx, &dave, "energy", "asset", "create", 8, 2, "d1", "1");
    assert_int_equal(lg_tx_decode(&tx, f->tx.data, f->tx.len), 0);
    assert_int_equal(lg_admit(f->ch, &tx, NOW, reason), 0);
    assert_int_equal(commit1(f, &o), 0);

    /* A replica applying the chain records the same. */
    char dir2[PATH_MAX], err[BASE_ERRMSG_SIZE];
    tl_tmpdir(dir2, "replica");
    struct lg_ledger *l2;
    struct lg_channel *ch2;
    assert_int_equal(lg_open(&l2, dir2, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(l2, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), 0);
    uint64_t height;
    lg_channel_tip(f->ch, &height, NULL, NULL);
    struct base_buf b;
    base_buf_init(&b, 0);
    for (uint64_t n = 1; n < height; n++) {
        base_buf_reset(&b);
        assert_int_equal(lg_block_get(f->ch, n, &b), 0);
        assert_int_equal(lg_apply(ch2, b.data, b.len, err), 0);
    }
    assert_int_equal(lg_cert_known(ch2, dcert.data, dcert.len, &where), 0);
    assert_true(where.block == h.number);
    base_buf_release(&b);
    lg_close(l2);
    tl_rmrf(dir2);

    /* lg_verify rebuilds the record and catches a tampered one. */
    lg_close(f->l);
    f->l = NULL;
    struct lg_verify_report rep;
    assert_int_equal(run_verify(f, &rep), 0);
    struct cr_hash ch;
    cr_sha256(&ch, dcert.data, dcert.len);
    flip_stored(f->dir, "energy.certs", ch.b, CR_HASH_SIZE, 11);
    assert_int_equal(run_verify(f, &rep), BASE_ECORRUPT);
    assert_non_null(strstr(rep.error, "introduced certificate"));
    base_buf_release(&dcert);
}

static void test_prepare_commit_abort(void **state)
{
    struct fx *f = *state;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "p1", "5");
    struct lg_item it = {f->tx.data, f->tx.len, false};
    struct lg_pending *p;
    struct lg_outcome o;
    assert_int_equal(lg_prepare(f->ch, &it, 1, NOW, &f->c.orderer, &o, &p), 0);
    assert_int_equal(o.code, 0);
    struct cr_hash hash, tip;
    const struct lg_header *h = lg_pending_header(p, &hash);
    assert_int_equal(h->number, 1);
    assert_int_equal(lg_pending_outcomes(p)[0].code, 0);
    /* Nothing is visible until the commit: tip and state are unchanged. */
    uint64_t height;
    lg_channel_tip(f->ch, &height, NULL, NULL);
    assert_int_equal(height, 1);
    struct base_buf v;
    base_buf_init(&v, 0);
    assert_int_equal(lg_get(f->ch, "asset", "p1", 2, &v, NULL), BASE_ENOTFOUND);
    /* Aborting leaves no trace; the same transaction commits afterwards
     * into a block identical to the one that was dropped. */
    struct lg_slice blk = lg_pending_block(p);
    uint8_t *copy = base_malloc(blk.len);
    memcpy(copy, blk.p, blk.len);
    size_t copylen = blk.len;
    lg_pending_abort(p);
    lg_channel_tip(f->ch, &height, NULL, NULL);
    assert_int_equal(height, 1);
    assert_int_equal(lg_prepare(f->ch, &it, 1, NOW, &f->c.orderer, NULL, &p),
                     0);
    blk = lg_pending_block(p);
    assert_int_equal(blk.len, copylen);
    assert_memory_equal(blk.p, copy, copylen);
    struct lg_header ch;
    assert_int_equal(lg_pending_commit(p, &ch), 0);
    lg_channel_tip(f->ch, &height, &tip, NULL);
    assert_int_equal(height, 2);
    assert_memory_equal(tip.b, hash.b, 32);
    assert_int_equal(lg_get(f->ch, "asset", "p1", 2, &v, NULL), 0);
    /* The header, with its state hash, is queryable per block. */
    struct lg_header q;
    struct cr_hash qh;
    assert_int_equal(lg_block_header(f->ch, 1, &q, &qh), 0);
    assert_memory_equal(qh.b, hash.b, 32);
    assert_memory_equal(q.state_hash.b, ch.state_hash.b, 32);
    assert_int_equal(lg_block_header(f->ch, 2, &q, NULL), BASE_ENOTFOUND);
    base_free(copy);
    base_buf_release(&v);
}

static void test_prepare_after(void **state)
{
    struct fx *f = *state;
    struct base_buf t1, t2, spec;
    base_buf_init(&t1, 0);
    base_buf_init(&t2, 0);
    base_buf_init(&spec, 0);
    tc_tx(&t1, &f->c.dera, "energy", "asset", "create", 1, 2, "s1", "5");
    /* The second block reads what the first wrote: an update of s1. */
    tc_tx(&t2, &f->c.dera, "energy", "asset", "update", 2, 2, "s1", "6");
    struct lg_item i1 = {t1.data, t1.len, false};
    struct lg_item i2 = {t2.data, t2.len, false};
    struct lg_pending *p;
    assert_int_equal(lg_prepare(f->ch, &i1, 1, NOW, &f->c.orderer, NULL, &p),
                     0);
    struct cr_hash h1, h2;
    lg_pending_header(p, &h1);
    assert_int_equal(
        lg_prepare_after(p, &i2, 1, NOW + 1, &f->c.orderer, &spec, &h2), 0);
    struct lg_block b;
    assert_int_equal(lg_block_decode(&b, spec.data, spec.len), 0);
    assert_int_equal(b.h.number, 2);
    assert_memory_equal(b.h.prev_hash.b, h1.b, 32);
    assert_int_equal(b.results[0].code, 0); /* it saw s1 */
    lg_block_release(&b);
    /* The first is untouched by it and commits as it was. */
    struct cr_hash again;
    lg_pending_header(p, &again);
    assert_memory_equal(again.b, h1.b, 32);
    assert_int_equal(lg_pending_commit(p, NULL), 0);
    /* Then the same transactions and time give exactly that block. */
    assert_int_equal(
        lg_prepare(f->ch, &i2, 1, NOW + 1, &f->c.orderer, NULL, &p), 0);
    struct lg_slice blk = lg_pending_block(p);
    assert_int_equal(blk.len, spec.len);
    assert_memory_equal(blk.p, spec.data, spec.len);
    assert_int_equal(lg_pending_commit(p, NULL), 0);
    struct cr_hash tip;
    uint64_t height;
    lg_channel_tip(f->ch, &height, &tip, NULL);
    assert_int_equal(height, 3);
    assert_memory_equal(tip.b, h2.b, 32);
    base_buf_release(&t1);
    base_buf_release(&t2);
    base_buf_release(&spec);
}

static void test_join_and_check_tail(void **state)
{
    struct fx *f = *state;
    build_chain(f);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_check_tail(f->ch, 0, err), 0);
    assert_int_equal(lg_check_tail(f->ch, 2, err), 0);
    /* A second ledger joins the channel from block 0 and replays. */
    char dir2[PATH_MAX];
    tl_tmpdir(dir2, "join");
    struct lg_ledger *l2;
    assert_int_equal(lg_open(&l2, dir2, &f->c.exec, NULL, err), 0);
    struct base_buf b;
    base_buf_init(&b, 0);
    assert_int_equal(lg_block_get(f->ch, 0, &b), 0);
    /* A damaged genesis block is refused, with nothing created. */
    b.data[60] ^= 1;
    assert_int_equal(lg_channel_join(l2, b.data, b.len, err), BASE_ECORRUPT);
    struct lg_channel *ch2;
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), BASE_ENOCHANNEL);
    b.data[60] ^= 1;
    assert_int_equal(lg_channel_join(l2, b.data, b.len, err), 0);
    assert_int_equal(lg_channel_join(l2, b.data, b.len, err), BASE_EEXIST);
    assert_int_equal(lg_channel_get(l2, "energy", &ch2), 0);
    for (uint64_t n = 1; n <= 4; n++) {
        base_buf_reset(&b);
        assert_int_equal(lg_block_get(f->ch, n, &b), 0);
        assert_int_equal(lg_apply(ch2, b.data, b.len, err), 0);
    }
    assert_int_equal(lg_check_tail(ch2, 0, err), 0);
    lg_close(l2);
    tl_rmrf(dir2);
    base_buf_release(&b);

    /* Damage in the tail of the block store is found and named; damage
     * before the checked tail is left to lg_verify. */
    lg_close(f->l);
    f->l = NULL;
    uint8_t key[8];
    base_put_u64(key, 3);
    flip_stored(f->dir, "energy.blocks", key, 8, 300);
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    assert_int_equal(lg_check_tail(f->ch, 0, err), BASE_ECORRUPT);
    assert_non_null(strstr(err, "block 3"));
    assert_int_equal(lg_check_tail(f->ch, 1, err), 0);
    assert_int_equal(lg_check_tail(f->ch, 2, err), BASE_ECORRUPT);
    /* A header byte: the link from block 4 breaks. (LMDB must not be open
     * twice in one process, so close before touching the file.) */
    lg_close(f->l);
    flip_stored(f->dir, "energy.blocks", key, 8, 300);
    flip_stored(f->dir, "energy.blocks", key, 8, 20);
    assert_int_equal(lg_open(&f->l, f->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_get(f->l, "energy", &f->ch), 0);
    assert_int_equal(lg_check_tail(f->ch, 2, err), BASE_ECORRUPT);
    assert_non_null(strstr(err, "block"));
}

static void test_oom_commit(void **state)
{
    struct fx *f = *state;
    tc_tx(&f->tx, &f->c.dera, "energy", "asset", "create", 1, 2, "o", "1");
    struct lg_item it = {f->tx.data, f->tx.len, false};
    /* Fail each allocation in turn: commit either succeeds or fails with
     * nothing stored, and the ledger stays usable. */
    uint64_t before;
    lg_channel_tip(f->ch, &before, NULL, NULL);
    int committed = 0;
    for (int k = 0; k < 60 && !committed; k++) {
        base_alloc_fault(k, 1);
        struct lg_outcome o;
        int rv = lg_commit(f->ch, &it, 1, NOW, &f->c.orderer, &o, NULL);
        base_alloc_fault(-1, 0);
        uint64_t h;
        lg_channel_tip(f->ch, &h, NULL, NULL);
        if (rv == 0) {
            committed = 1;
            assert_int_equal(h, before + 1);
        } else {
            assert_int_equal(rv, BASE_ENOMEM);
            assert_int_equal(h, before);
        }
    }
    assert_true(committed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tx_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_stay_in_block, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_and_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_evaluate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_on_replica, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_tampering, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oom_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introduced_certs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_commit_abort, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_join_and_check_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prepare_after, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
