/* SPDX-License-Identifier: MIT */
/* The in-process client: signs as one member and talks to an embedded node
 * (solo orderer, channel, off-chain store) in the same process. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "market.h"

struct local_client {
    struct mk_client base;
    struct lg_channel *ch;
    struct ord_solo *solo;
    struct kv_offchain *off;
    struct lg_cert cert;
    struct cr_keypair key;
    /* Nonces only need to differ between this member's calls: a random
     * start and a counter make every call of every run distinct. */
    _Atomic uint64_t nonce;
};

static int build(struct local_client *c, const char *contract,
                 const char *function, uint32_t nargs,
                 const struct lg_slice *args, struct base_buf *tx)
{
    struct lg_call call = {lg_channel_name(c->ch), contract, function, nargs,
                           args};
    uint64_t nonce = atomic_fetch_add(&c->nonce, 1);
    return lg_tx_build(tx, &call, &c->cert, &c->key, nonce, NULL);
}

static void copy_result(struct mk_result *out, const struct ord_result *r)
{
    out->code = r->code;
    out->committed = r->committed;
    out->id = r->id;
    out->block = r->block;
    memcpy(out->reason, r->reason, sizeof out->reason);
}

static int local_submit(struct mk_client *base, const char *contract,
                        const char *function, uint32_t nargs,
                        const struct lg_slice *args, struct mk_result *res)
{
    struct local_client *c = (struct local_client *)base;
    memset(res, 0, sizeof *res);
    struct base_buf tx;
    base_buf_init(&tx, 0);
    int rv = build(c, contract, function, nargs, args, &tx);
    if (rv != 0) {
        snprintf(res->reason, sizeof res->reason, "cannot encode the call");
        res->code = rv;
    } else {
        struct ord_result r;
        rv = ord_submit_wait(c->solo, tx.data, tx.len, &r);
        copy_result(res, &r);
        if (rv != 0 && res->code == 0) {
            res->code = rv;
            snprintf(res->reason, sizeof res->reason, "submit: %s",
                     base_strerror(rv));
        }
    }
    base_buf_release(&tx);
    return rv;
}

struct pending {
    mk_done_cb cb;
    void *arg;
};

static void on_done(void *arg, const struct ord_result *r)
{
    struct pending *p = arg;
    struct mk_result res;
    copy_result(&res, r);
    p->cb(p->arg, &res);
    base_free(p);
}

static int local_submit_async(struct mk_client *base, const char *contract,
                              const char *function, uint32_t nargs,
                              const struct lg_slice *args, mk_done_cb cb,
                              void *arg)
{
    struct local_client *c = (struct local_client *)base;
    struct pending *p = base_malloc(sizeof *p);
    if (p == NULL) {
        return BASE_ENOMEM;
    }
    p->cb = cb;
    p->arg = arg;
    struct base_buf tx;
    base_buf_init(&tx, 0);
    int rv = build(c, contract, function, nargs, args, &tx);
    if (rv == 0) {
        rv = ord_submit(c->solo, tx.data, tx.len, on_done, p);
    }
    if (rv != 0) {
        base_free(p);
    }
    base_buf_release(&tx);
    return rv;
}

static int local_evaluate(struct mk_client *base, const char *contract,
                          const char *function, uint32_t nargs,
                          const struct lg_slice *args, struct base_buf *out,
                          char *reason)
{
    struct local_client *c = (struct local_client *)base;
    return lg_evaluate(c->ch, &c->cert, contract, function, nargs, args, out,
                       reason);
}

static int local_put(struct mk_client *base, const void *data, size_t len,
                     struct cr_hash *hash)
{
    struct local_client *c = (struct local_client *)base;
    return kv_offchain_put(c->off, data, len, hash);
}

static int local_get(struct mk_client *base, const char *bid,
                     const struct cr_hash *hash, struct base_buf *out)
{
    (void)bid; /* the embedded node's own store: no route to guard */
    struct local_client *c = (struct local_client *)base;
    return kv_offchain_get(c->off, hash, out);
}

static void local_close(struct mk_client *base)
{
    struct local_client *c = (struct local_client *)base;
    cr_wipe(&c->key, sizeof c->key);
    base_free(c);
}

static const struct mk_client_ops local_ops = {
    local_submit, local_submit_async, local_evaluate,
    local_put,    local_get,          local_close,
};

int mk_client_local(struct mk_client **out, struct lg_channel *ch,
                    struct ord_solo *solo, struct kv_offchain *off,
                    const struct lg_cert *cert, const struct cr_keypair *key)
{
    struct local_client *c = base_calloc(1, sizeof *c);
    if (c == NULL) {
        return BASE_ENOMEM;
    }
    c->base.ops = &local_ops;
    snprintf(c->base.identity, sizeof c->base.identity, "%s/%s", cert->org,
             cert->name);
    c->ch = ch;
    c->solo = solo;
    c->off = off;
    c->cert = *cert;
    c->key = *key;
    uint64_t start;
    cr_random(&start, sizeof start);
    atomic_init(&c->nonce, start >> 1);
    *out = &c->base;
    return 0;
}
