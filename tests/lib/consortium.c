/* SPDX-License-Identifier: MIT */
/* A small fixed test consortium. */
#include <stdio.h>
#include <string.h>

#include "consortium.h"
#include "store/store.h"
#include "testlib.h"

static void seed_key(struct cr_keypair *k, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    cr_keygen_seed(k, seed);
}

static void member(struct tc_member *m, const char *org, const char *name,
                   const char *role, const struct cr_keypair *issuer,
                   uint8_t tag)
{
    memset(m, 0, sizeof *m);
    seed_key(&m->key, tag);
    snprintf(m->cert.org, sizeof m->cert.org, "%s", org);
    snprintf(m->cert.name, sizeof m->cert.name, "%s", name);
    snprintf(m->cert.role, sizeof m->cert.role, "%s", role);
    memcpy(m->cert.pk, m->key.pk, CR_PUBKEY_SIZE);
    m->cert.not_before = 0;
    m->cert.expiry = 4102444800u; /* 2100-01-01 */
    assert_int_equal(lg_cert_sign(&m->cert, issuer), 0);
}

static void org(struct lg_org *o, const char *name, const char *role,
                const struct cr_keypair *root)
{
    snprintf(o->name, sizeof o->name, "%s", name);
    memcpy(o->root_pk, root->pk, CR_PUBKEY_SIZE);
    o->nroles = 1;
    snprintf(o->roles[0], sizeof o->roles[0], "%s", role);
}

void tc_init(struct tc_consortium *c, const char *channel)
{
    assert_int_equal(cr_init(), 0);
    memset(c, 0, sizeof *c);
    seed_key(&c->orderer, 1);
    seed_key(&c->roots[0], 2);
    seed_key(&c->roots[1], 3);
    seed_key(&c->roots[2], 4);
    seed_key(&c->roots[3], 5);
    snprintf(c->cfg.channel, sizeof c->cfg.channel, "%s", channel);
    memcpy(c->cfg.orderer_pk, c->orderer.pk, CR_PUBKEY_SIZE);
    c->cfg.genesis_time = 1700000000ull * 1000000000ull;
    c->cfg.norgs = 4;
    org(&c->cfg.orgs[0], "ISO", "iso", &c->roots[0]);
    org(&c->cfg.orgs[1], "DSO", "dso", &c->roots[1]);
    org(&c->cfg.orgs[2], "DERA1", "dera", &c->roots[2]);
    org(&c->cfg.orgs[3], "DERA2", "dera", &c->roots[3]);
    member(&c->iso, "ISO", "op", "iso", &c->roots[0], 10);
    member(&c->dso, "DSO", "op", "dso", &c->roots[1], 11);
    member(&c->dera, "DERA1", "alice", "dera", &c->roots[2], 12);
    member(&c->dera2, "DERA1", "bob", "dera", &c->roots[2], 13);
    member(&c->deraB, "DERA2", "carol", "dera", &c->roots[3], 15);
    struct cr_keypair rogue;
    seed_key(&rogue, 99);
    member(&c->outsider, "DSO", "mallory", "dso", &rogue, 14);
    sc_registry_init(&c->reg);
    assert_int_equal(sc_register_builtin(&c->reg), 0);
    c->exec = sc_executor(&c->reg);
}

void tc_tx(struct base_buf *out, const struct tc_member *m, const char *channel,
           const char *contract, const char *fn, uint64_t nonce, int nargs, ...)
{
    struct lg_slice args[LG_MAX_ARGS];
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        const char *s = va_arg(ap, const char *);
        args[i].p = (const uint8_t *)s;
        args[i].len = strlen(s);
    }
    va_end(ap);
    struct lg_call call = {channel, contract, fn, (uint32_t)nargs, args};
    base_buf_reset(out);
    assert_int_equal(lg_tx_build(out, &call, &m->cert, &m->key, nonce, NULL),
                     0);
}

void tc_certify(struct tc_member *m, const char *org, const char *role,
                const char *name, const struct cr_keypair *root, uint8_t tag)
{
    if (name != NULL) {
        member(m, org, name, role, root, tag);
        return;
    }
    char hex[2 * CR_PUBKEY_SIZE + 1];
    struct cr_keypair k;
    seed_key(&k, tag);
    base_hex_encode(hex, k.pk, CR_PUBKEY_SIZE);
    member(m, org, hex, role, root, tag);
}

void tc_add_org(struct lg_config *cfg, const char *name, const char *role,
                const struct cr_keypair *root)
{
    assert_true(cfg->norgs < LG_MAX_ORGS);
    org(&cfg->orgs[cfg->norgs++], name, role, root);
}

void tc_damage_block(const char *dir, uint64_t n, size_t off)
{
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, dir, NULL, err), 0);
    struct kv_txn *txn;
    kv_dbi dbi;
    assert_int_equal(kv_txn_begin(env, true, &txn), 0);
    assert_int_equal(kv_dbi_open(txn, "energy.blocks", false, &dbi), 0);
    uint8_t key[8];
    base_put_u64(key, n);
    struct kv_val v;
    assert_int_equal(kv_get(txn, dbi, key, 8, &v), 0);
    uint8_t *copy = base_malloc(v.len);
    assert_non_null(copy);
    memcpy(copy, v.data, v.len);
    copy[off % v.len] ^= 0x01;
    assert_int_equal(kv_put(txn, dbi, key, 8, copy, v.len), 0);
    base_free(copy);
    assert_int_equal(kv_txn_commit(txn), 0);
    kv_env_close(env);
}
