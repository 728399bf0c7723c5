/* SPDX-License-Identifier: MIT */
/* Public header of market: the client interface the agents use to reach a
 * ledger, the market agents (DER, DERA, DSO, ISO) and their clearing. */
#ifndef GL_MARKET_H
#define GL_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "order/order.h"
#include "store/store.h"

/* ---- the client interface ------------------------------------------------
 * Agents never call the ledger directly: each agent holds a client bound to
 * one identity, and the client signs for it. Two implementations exist: the
 * in-process one below (an embedded node), and the remote one of the
 * gateway (HTTP to a node in another process). The same agent code runs on
 * either. */

#define MK_ID_MAX (2 * LG_NAME_MAX + 2) /* "ORG/NAME" and a NUL */

/** How a submitted call ended. */
struct mk_result {
    int code;       /* 0: committed valid; else refused or invalid */
    bool committed; /* in a block (valid or invalid) */
    struct cr_hash id;
    uint64_t block;
    char reason[LG_REASON_MAX + 1];
};

/** Called once per accepted asynchronous submission, possibly from another
 *  thread, after its block is durable or it was refused. */
typedef void (*mk_done_cb)(void *arg, const struct mk_result *r);

struct mk_client;

struct mk_client_ops {
    /** Sign the call as the client's identity, submit it and wait for its
     *  block. Returns @res->code, or a submit error (BASE_EFULL, BASE_EIO,
     *  BASE_ECLOSED) with @res->reason set. */
    int (*submit)(struct mk_client *c, const char *contract,
                  const char *function, uint32_t nargs,
                  const struct lg_slice *args, struct mk_result *res);
    /** Submit without waiting; @cb is called exactly once unless this
     *  returns an error. */
    int (*submit_async)(struct mk_client *c, const char *contract,
                        const char *function, uint32_t nargs,
                        const struct lg_slice *args, mk_done_cb cb, void *arg);
    /** Read-only call against the latest state; the return value is
     *  appended to @out; @reason (LG_REASON_MAX+1 bytes) says why on
     *  failure. */
    int (*evaluate)(struct mk_client *c, const char *contract,
                    const char *function, uint32_t nargs,
                    const struct lg_slice *args, struct base_buf *out,
                    char *reason);
    /** Store an off-chain record; its SHA-256 goes to @hash. */
    int (*offchain_put)(struct mk_client *c, const void *data, size_t len,
                        struct cr_hash *hash);
    /** Fetch an off-chain record (appended to @out). Errors: BASE_ENOTFOUND.
     *  The bytes are returned as stored: checking them against the on-chain
     *  checksum is the caller's job (mk_bid_retrieve does it). */
    int (*offchain_get)(struct mk_client *c, const struct cr_hash *hash,
                        struct base_buf *out);
    void (*close)(struct mk_client *c);
};

struct mk_client {
    const struct mk_client_ops *ops;
    char identity[MK_ID_MAX]; /* "ORG/NAME" it signs as */
};

/** Open an in-process client for the member (@cert, @key; both copied) on
 *  channel @ch through orderer @solo, with off-chain store @off. All three
 *  are borrowed and must outlive the client. Errors: BASE_ENOMEM. */
int mk_client_local(struct mk_client **out, struct lg_channel *ch,
                    struct ord_solo *solo, struct kv_offchain *off,
                    const struct lg_cert *cert,
                    const struct cr_keypair *key) BASE_WUR;

static inline int mk_submit(struct mk_client *c, const char *contract,
                            const char *function, uint32_t nargs,
                            const struct lg_slice *args, struct mk_result *res)
{
    return c->ops->submit(c, contract, function, nargs, args, res);
}
static inline int mk_submit_async(struct mk_client *c, const char *contract,
                                  const char *function, uint32_t nargs,
                                  const struct lg_slice *args, mk_done_cb cb,
                                  void *arg)
{
    return c->ops->submit_async(c, contract, function, nargs, args, cb, arg);
}
static inline int mk_evaluate(struct mk_client *c, const char *contract,
                              const char *function, uint32_t nargs,
                              const struct lg_slice *args, struct base_buf *out,
                              char *reason)
{
    return c->ops->evaluate(c, contract, function, nargs, args, out, reason);
}
static inline int mk_offchain_put(struct mk_client *c, const void *data,
                                  size_t len, struct cr_hash *hash)
{
    return c->ops->offchain_put(c, data, len, hash);
}
static inline int mk_offchain_get(struct mk_client *c,
                                  const struct cr_hash *hash,
                                  struct base_buf *out)
{
    return c->ops->offchain_get(c, hash, out);
}
static inline void mk_client_close(struct mk_client *c)
{
    if (c != NULL) {
        c->ops->close(c);
    }
}

#endif
