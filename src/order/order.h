/* SPDX-License-Identifier: MIT */
/* Public header of order: ordering transactions into blocks. The embedded
 * default is solo: one process admits, batches and commits. */
#ifndef GL_ORDER_H
#define GL_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"

/*
 * Solo ordering. Submitted envelopes go to a pool of verifier threads (one
 * per core by default) that decode them and run lg_admit(): signature,
 * certificate, role, replay. Refusals are reported at once. Admitted
 * transactions queue for the committer thread, which cuts a block when
 * max_block_tx are waiting, or when the oldest waiting transaction has
 * waited batch_timeout, or at once when batch_timeout is 0 — and commits it
 * with lg_commit(). While one block commits, the next one fills, so an idle
 * ledger commits a lone transaction in about one fsync and a busy one builds
 * large blocks (group commit).
 */

struct ord_solo;

struct ord_options {
    unsigned max_block_tx;  /* 0: 2000 */
    uint64_t batch_timeout; /* ns to wait for more; 0: cut at once */
    size_t max_pending;     /* submitted, not yet committed; 0: 200000 */
    unsigned verifiers;     /* 0: one per core */
};

/** How a submitted transaction ended. */
struct ord_result {
    int code;       /* 0: committed valid; else refused or recorded invalid */
    bool committed; /* in a block (valid or invalid) */
    struct cr_hash id;
    uint64_t block;
    uint32_t index;
    char reason[LG_REASON_MAX + 1];
};

/** Called exactly once per accepted submission, from an orderer thread,
 *  after the block is durable (or on refusal). Keep it short. */
typedef void (*ord_done_cb)(void *arg, const struct ord_result *r);

/** Start ordering for channel @ch (borrowed until ord_solo_stop), signing
 *  blocks with @orderer (copied). Errors: BASE_ENOMEM, BASE_EIO (threads). */
int ord_solo_start(struct ord_solo **out, struct lg_channel *ch,
                   const struct cr_keypair *orderer,
                   const struct ord_options *opt) BASE_WUR;

/** Submit an envelope (copied). @cb gets the outcome later. Thread-safe.
 *  On error @cb is never called.
 *  Errors: BASE_ETOOBIG, BASE_EFULL (too many pending), BASE_ECLOSED. */
int ord_submit(struct ord_solo *s, const void *tx, size_t len, ord_done_cb cb,
               void *arg) BASE_WUR;

/** Submit and wait for the outcome. Returns @res->code, or a submit error. */
int ord_submit_wait(struct ord_solo *s, const void *tx, size_t len,
                    struct ord_result *res);

/** Counters since start. Thread-safe. */
struct ord_stats {
    uint64_t submitted;
    uint64_t refused;
    uint64_t committed_valid;
    uint64_t committed_invalid;
    uint64_t blocks;
    uint64_t pending;
};
void ord_solo_stats(struct ord_solo *s, struct ord_stats *st);

/** Commit everything already submitted, stop the threads and free @s. */
void ord_solo_stop(struct ord_solo *s);

#endif
