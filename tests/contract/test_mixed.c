/* SPDX-License-Identifier: MIT */
/* Issue 15, finding 2, as a property: bad transactions (text that is not
 * UTF-8, look-alike or oversize identifiers, wrong arguments, wrong roles,
 * unregistered markets, awards that do not add up, undecodable bytes)
 * mixed at random among good ones in one block never change what the good
 * ones do, and never fail the block. Two ledgers get the same good
 * transactions each round, one of them with the bad ones interleaved; the
 * good ones' results and both state hashes must agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consortium.h"
#include "testlib.h"

#define NOW    (1800000000ull * 1000000000ull)
#define ROUNDS 300
#define MAXTX  64
#define SUM    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct side {
    char dir[256];
    struct lg_ledger *l;
    struct lg_channel *ch;
};

struct fx {
    struct tc_consortium c;
    struct side a, b; /* a: good and bad; b: good only */
    uint64_t rng;
    uint64_t nonce;
    struct base_buf tx[MAXTX];
    bool good[MAXTX];
    size_t n;
};

static uint64_t rnd(struct fx *f)
{
    /* splitmix64: a fixed seed gives the same rounds on every run. */
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void open_side(struct fx *f, struct side *s, const char *tag)
{
    tl_tmpdir(s->dir, tag);
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(lg_open(&s->l, s->dir, &f->c.exec, NULL, err), 0);
    assert_int_equal(lg_channel_create(s->l, &f->c.cfg, &f->c.orderer, err), 0);
    assert_int_equal(lg_channel_get(s->l, "energy", &s->ch), 0);
}

static int setup(void **state)
{
    struct fx *f = base_calloc(1, sizeof *f);
    tc_init(&f->c, "energy");
    open_side(f, &f->a, "mixed-a");
    open_side(f, &f->b, "mixed-b");
    for (size_t i = 0; i < MAXTX; i++) {
        base_buf_init(&f->tx[i], 0);
    }
    const char *seed = getenv("GL_SEED");
    f->rng = seed ? strtoull(seed, NULL, 10) : 15;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lg_close(f->a.l);
    lg_close(f->b.l);
    tl_rmrf(f->a.dir);
    tl_rmrf(f->b.dir);
    for (size_t i = 0; i < MAXTX; i++) {
        base_buf_release(&f->tx[i]);
    }
    base_free(f);
    return 0;
}

/* Append one transaction, args as (pointer, length) pairs. */
static void add(struct fx *f, bool good, const struct tc_member *m,
                const char *contract, const char *fn, uint32_t n,
                const struct lg_slice *args)
{
    assert_true(f->n < MAXTX);
    struct base_buf *b = &f->tx[f->n];
    base_buf_reset(b);
    struct lg_call c = {"energy", contract, fn, n, args};
    assert_int_equal(lg_tx_build(b, &c, &m->cert, &m->key, ++f->nonce, NULL),
                     0);
    f->good[f->n++] = good;
}

/* The same with NUL-terminated arguments. */
static void adds(struct fx *f, bool good, const struct tc_member *m,
                 const char *contract, const char *fn, uint32_t n,
                 const char *const *argv)
{
    struct lg_slice args[LG_MAX_ARGS];
    for (uint32_t i = 0; i < n; i++) {
        args[i] = (struct lg_slice){(const uint8_t *)argv[i], strlen(argv[i])};
    }
    add(f, good, m, contract, fn, n, args);
}

#define ADD(f, good, m, contract, fn, ...)                                     \
    adds((f), (good), (m), (contract), (fn),                                   \
         (uint32_t)(sizeof((const char *[]){__VA_ARGS__}) /                    \
                    sizeof(const char *)),                                     \
         (const char *[]){__VA_ARGS__})

/* The good transactions of round @r: they depend on the rounds before
 * (update what was created, qualify what was registered, bid with what
 * was qualified), so the ledgers must agree for them to stay valid. */
static void good_round(struct fx *f, int r)
{
    char id[32], prev[32], der[32], pder[32], owner[32], bus[32], uid[32],
        iv[16];
    snprintf(id, sizeof id, "a%d", r);
    snprintf(prev, sizeof prev, "a%d", r - 1);
    snprintf(der, sizeof der, "d%d", r);
    snprintf(pder, sizeof pder, "d%d", r - 1);
    snprintf(owner, sizeof owner, "o%d", r);
    snprintf(bus, sizeof bus, "b%d", r);
    snprintf(uid, sizeof uid, "u%d", r);
    snprintf(iv, sizeof iv, "%d", r);
    ADD(f, true, &f->c.dera, "asset", "create", id, "v\xc3\xa9");
    ADD(f, true, &f->c.dera, "registry", "register", der, owner, bus, "abc",
        "pv", "100", "110");
    if (r > 0) {
        ADD(f, true, &f->c.dera, "asset", "update", prev, "w");
        ADD(f, true, &f->c.dso, "registry", "qualify", pder, "90");
        ADD(f, true, &f->c.dera, "bids", "create", uid, "rt", iv, SUM, pder);
        ADD(f, true, &f->c.dso, "bids", "accept", uid);
        ADD(f, true, &f->c.iso, "bids", "clear", "rt", iv, "30", "90",
            "DERA1=90");
    }
}

/* One bad transaction, chosen at random: each is invalid wherever it
 * lands among the good ones. */
static void bad_one(struct fx *f, int r)
{
    char id[80], junk[16];
    uint8_t bytes[96];
    struct lg_slice args[8];
    int k = (int)(rnd(f) % 16);
    switch (k) {
    case 0: { /* an id that is not UTF-8 ("ff41" in hex) */
        bytes[0] = 0xff;
        bytes[1] = (uint8_t)('A' + rnd(f) % 26);
        args[0] = (struct lg_slice){bytes, 2};
        args[1] = (struct lg_slice){(const uint8_t *)"1", 1};
        add(f, false, &f->c.dera, "asset", "create", 2, args);
        break;
    }
    case 1: { /* random high bytes as a DER id ("5058ff") */
        size_t n = 1 + rnd(f) % 8;
        for (size_t i = 0; i < n; i++) {
            bytes[i] = (uint8_t)(0x80 | rnd(f));
        }
        const char *rest[] = {"ox", "bx", "abc", "pv", "1", "1"};
        args[0] = (struct lg_slice){bytes, n};
        for (int i = 0; i < 6; i++) {
            args[1 + i] =
                (struct lg_slice){(const uint8_t *)rest[i], strlen(rest[i])};
        }
        add(f, false, &f->c.dera, "registry", "register", 7, args);
        break;
    }
    case 2: /* a look-alike of this round's DER */
        snprintf(id, sizeof id, "D%d", r);
        ADD(f, false, &f->c.deraB, "registry", "register", id, "ox", "bx",
            "abc", "pv", "1", "1");
        break;
    case 3: /* the equipment of the setup's DER under a fresh id */
        snprintf(id, sizeof id, "dup%d-%llu", r,
                 (unsigned long long)(rnd(f) % 1000));
        ADD(f, false, &f->c.deraB, "registry", "register", id, "base-owner",
            "base-bus", "abc", "pv", "1", "1");
        break;
    case 4: /* value that is not UTF-8 */
        snprintf(id, sizeof id, "x%d-%llu", r,
                 (unsigned long long)(rnd(f) % 1000));
        ADD(f, false, &f->c.dera, "asset", "create", id, "\xc0\x80");
        break;
    case 5: /* oversize value */
    {
        static char big[5000];
        memset(big, 'v', sizeof big - 1);
        snprintf(id, sizeof id, "y%d-%llu", r,
                 (unsigned long long)(rnd(f) % 1000));
        ADD(f, false, &f->c.dera, "asset", "create", id, big);
        break;
    }
    case 6: /* oversize id */
        memset(id, 'z', 65);
        id[65] = '\0';
        ADD(f, false, &f->c.dera, "asset", "create", id, "1");
        break;
    case 7: /* wrong number of arguments */
        ADD(f, false, &f->c.dera, "asset", "create", "lonely");
        break;
    case 8: /* wrong role */
        ADD(f, false, &f->c.dera, "registry", "qualify", "base", "1");
        break;
    case 9: /* wrong role, the other way */
        snprintf(id, sizeof id, "w%d", r);
        ADD(f, false, &f->c.dso, "bids", "create", id, "rt", "1", SUM, "base");
        break;
    case 10: /* a look-alike market */
        snprintf(id, sizeof id, "m%d", r);
        ADD(f, false, &f->c.dera, "bids", "create", id,
            rnd(f) % 2 ? "RT" : "rt ", "1", SUM, "base");
        break;
    case 11: /* awards that do not add up, to nobody */
        ADD(f, false, &f->c.iso, "bids", "clear", "rt", "100000", "1", "10",
            rnd(f) % 2 ? "DERA1=5,DERA1=5" : "NOBODY=10");
        break;
    case 12: /* another aggregator's asset */
        ADD(f, false, &f->c.deraB, "asset", "update", "base-asset", "mine");
        break;
    case 13: /* unknown contract and function */
        ADD(f, false, &f->c.dera, rnd(f) % 2 ? "nope" : "asset", "frobnicate",
            "1");
        break;
    case 14: { /* bytes that are no transaction at all */
        struct base_buf *b = &f->tx[f->n];
        base_buf_reset(b);
        size_t n = 1 + rnd(f) % 64;
        for (size_t i = 0; i < n; i++) {
            bytes[i] = (uint8_t)rnd(f);
        }
        if (n >= 4) {
            memcpy(bytes, "GLTX", 4);
        }
        assert_int_equal(base_buf_add(b, bytes, n), 0);
        f->good[f->n++] = false;
        break;
    }
    default: /* an argument with a NUL byte */
        snprintf(junk, sizeof junk, "n%d", r);
        args[0] = (struct lg_slice){(const uint8_t *)junk, strlen(junk)};
        args[1] = (struct lg_slice){(const uint8_t *)"a\0b", 3};
        add(f, false, &f->c.dera, "asset", "create", 2, args);
        break;
    }
}

/* Commit items @idx[0..n) of the round on @s. */
static void commit(struct fx *f, struct side *s, const size_t *idx, size_t n,
                   struct lg_outcome *out, struct lg_header *h)
{
    struct lg_item items[MAXTX];
    for (size_t i = 0; i < n; i++) {
        items[i] =
            (struct lg_item){f->tx[idx[i]].data, f->tx[idx[i]].len, false};
    }
    assert_int_equal(lg_commit(s->ch, items, n, NOW, &f->c.orderer, out, h), 0);
}

static void test_bad_never_changes_good(void **state)
{
    struct fx *f = *state;
    static struct lg_outcome oa[MAXTX], ob[MAXTX];
    struct lg_header ha, hb;
    size_t all[MAXTX], good[MAXTX];
    /* The setup both ledgers share: the market, a DER and an asset that
     * bad transactions aim at. */
    f->n = 0;
    ADD(f, true, &f->c.iso, "bids", "register_market", "rt", "real-time", "15");
    ADD(f, true, &f->c.dera, "registry", "register", "base", "base-owner",
        "base-bus", "abc", "pv", "10", "10");
    ADD(f, true, &f->c.dso, "registry", "qualify", "base", "10");
    ADD(f, true, &f->c.dera, "asset", "create", "base-asset", "1");
    for (size_t i = 0; i < f->n; i++) {
        all[i] = i;
    }
    commit(f, &f->a, all, f->n, oa, &ha);
    commit(f, &f->b, all, f->n, ob, &hb);
    for (size_t i = 0; i < f->n; i++) {
        assert_int_equal(oa[i].code, 0);
    }
    size_t nbad_total = 0;
    for (int r = 0; r < ROUNDS; r++) {
        f->n = 0;
        good_round(f, r);
        size_t ngood = f->n;
        size_t nbad = 1 + rnd(f) % 12;
        for (size_t i = 0; i < nbad; i++) {
            bad_one(f, r);
        }
        /* Interleave: the good ones keep their order, the bad ones land
         * anywhere among them. */
        size_t gi = 0, bi = ngood, n = 0;
        while (gi < ngood || bi < f->n) {
            bool take_bad = bi < f->n && (gi == ngood || rnd(f) % 2);
            all[n++] = take_bad ? bi++ : gi++;
        }
        for (size_t i = 0; i < ngood; i++) {
            good[i] = i;
        }
        commit(f, &f->a, all, n, oa, &ha);
        commit(f, &f->b, good, ngood, ob, &hb);
        /* Every bad one is invalid, with a reason in UTF-8; every good one
         * has the result it has without them. */
        for (size_t i = 0; i < n; i++) {
            size_t t = all[i];
            if (!f->good[t]) {
                if (oa[i].code == 0) {
                    fail_msg("round %d: bad transaction %zu committed valid", r,
                             t);
                }
                assert_true(sc_utf8_ok(oa[i].reason, strlen(oa[i].reason)));
                assert_true(oa[i].reason[0] != '\0');
                continue;
            }
            if (oa[i].code != ob[t].code ||
                strcmp(oa[i].reason, ob[t].reason) != 0) {
                fail_msg("round %d: good transaction %zu: %d '%s' among bad "
                         "ones, %d '%s' alone",
                         r, t, oa[i].code, oa[i].reason, ob[t].code,
                         ob[t].reason);
            }
            if (ob[t].code != 0) {
                fail_msg("round %d: good transaction %zu invalid: %s", r, t,
                         ob[t].reason);
            }
        }
        nbad_total += f->n - ngood;
        /* The state hash covers every write of every valid transaction:
         * equal hashes, equal state. */
        assert_memory_equal(ha.state_hash.b, hb.state_hash.b, CR_HASH_SIZE);
        assert_int_equal(ha.number, hb.number);
    }
    assert_true(nbad_total > (size_t)ROUNDS * 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_never_changes_good, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
