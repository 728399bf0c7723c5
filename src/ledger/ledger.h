/* SPDX-License-Identifier: MIT */
/* Public header of ledger: identities, transactions, blocks, world state,
 * execution, events, queries and proofs of one permissioned ledger. */
#ifndef GL_LEDGER_H
#define GL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"

/*
 * The ledger follows order-execute: an orderer (src/order) cuts signed
 * transactions into blocks and calls lg_commit(), which executes every
 * transaction through the contracts and stores the block, its results and
 * the state changes in one durable LMDB transaction. A node that receives
 * a block from elsewhere (a replica, or `gridledger verify` replaying the
 * chain) calls lg_apply(), which checks the block and re-executes it.
 *
 * Byte-level formats are documented in docs/ledger-format.md; the offset
 * tables below are the normative summary.
 */

#define LG_NAME_MAX     64 /* org, member, role, channel, contract, ... */
#define LG_MAX_ARGS     32 /* arguments of one call */
#define LG_TX_MAX       (1u << 20) /* encoded transaction, bytes */
#define LG_MAX_ORGS     32         /* organisations in a channel's genesis */
#define LG_MAX_ROLES    8          /* roles one organisation may certify */
#define LG_REASON_MAX   200        /* bytes of a result reason */
#define LG_KEY_MAX      400        /* bytes of a contract's state key */
#define LG_BLOCK_MAX_TX 10000      /* transactions in one block */
#define LG_MAX_INTRO    8          /* certificates one transaction introduces */

/** A borrowed byte range. Lifetime is stated wherever one is returned. */
struct lg_slice {
    const uint8_t *p;
    size_t len;
};

/* ---- identities ----------------------------------------------------------
 * Certificate encoding (all integers big-endian):
 *   off  size  field
 *   0    1     version (1)
 *   1    1     org length O (1..64), then O bytes
 *   .    1     name length N (1..64), then N bytes
 *   .    1     role length R (1..64), then R bytes
 *   .    32    Ed25519 public key of the member
 *   .    8     not_before, Unix seconds
 *   .    8     expiry, Unix seconds
 *   .    64    signature by the org's root key over all preceding bytes
 */
struct lg_cert {
    char org[LG_NAME_MAX + 1];
    char name[LG_NAME_MAX + 1];
    char role[LG_NAME_MAX + 1];
    uint8_t pk[CR_PUBKEY_SIZE];
    uint64_t not_before;
    uint64_t expiry;
    uint8_t sig[CR_SIG_SIZE];
};

/** Append the encoding of @c to @out. Errors: BASE_EINVAL (bad name),
 *  BASE_ENOMEM, BASE_ETOOBIG. */
int lg_cert_encode(const struct lg_cert *c, struct base_buf *out) BASE_WUR;
/** Decode a certificate from @r. Errors: BASE_EPARSE. */
int lg_cert_decode(struct lg_cert *c, struct base_rd *r) BASE_WUR;
/** Sign @c (all fields but sig set) with the org root key @issuer.
 *  Errors: BASE_EINVAL (bad name), BASE_ENOMEM. */
int lg_cert_sign(struct lg_cert *c, const struct cr_keypair *issuer) BASE_WUR;

/** One organisation named in a channel's genesis. */
struct lg_org {
    char name[LG_NAME_MAX + 1];
    uint8_t root_pk[CR_PUBKEY_SIZE];
    uint32_t nroles;
    char roles[LG_MAX_ROLES][LG_NAME_MAX + 1];
};

/* Channel configuration, the only content of block 0:
 *   0    4     magic "GLCF"
 *   4    1     version (1)
 *   5    1     channel length C, then C bytes
 *   .    32    orderer public key (signs every block)
 *   .    8     genesis time, Unix nanoseconds
 *   .    1     number of orgs; for each: name (u8 length + bytes),
 *              32-byte root key, u8 number of roles, roles (u8 len + bytes)
 */
struct lg_config {
    char channel[LG_NAME_MAX + 1];
    uint8_t orderer_pk[CR_PUBKEY_SIZE];
    uint64_t genesis_time;
    uint32_t norgs;
    struct lg_org orgs[LG_MAX_ORGS];
};

int lg_config_encode(const struct lg_config *c, struct base_buf *out) BASE_WUR;
/** Errors: BASE_EPARSE. */
int lg_config_decode(struct lg_config *c, const uint8_t *p,
                     size_t len) BASE_WUR;
/** The organisation named @org, or NULL. Borrowed from @c. */
const struct lg_org *lg_config_org(const struct lg_config *c, const char *org);

/* ---- transactions --------------------------------------------------------
 * Transaction envelope:
 *   0    4     magic "GLTX"
 *   4    1     version (1, or 2 when it introduces certificates)
 *   5    1     channel length (1..64), then the bytes
 *   .    1     contract length (1..64), then the bytes
 *   .    1     function length (1..64), then the bytes
 *   .    1     number of arguments A (0..32)
 *   .          A times: u32 length, then the bytes
 *   .    1     version 2 only: number of introduced certificates K (1..8),
 *              then K times: u16 length, then the certificate
 *   .    2     certificate length L, then L bytes of certificate
 *   .    8     nonce (chosen by the client; makes equal calls distinct)
 *   .    64    Ed25519 signature by the certificate's key over all
 *              preceding bytes
 * The transaction id is SHA-256 of the signed bytes (all but the last 64).
 * Names are printable ASCII without spaces.
 *
 * Introduced certificates: a transaction may carry certificates of other
 * members (a DSO recording assets for a fresh address carries the
 * address's certificate). Admission checks each as it checks the signer's
 * (organisation, role, issuer signature); once the transaction commits
 * valid, the channel remembers them (lg_cert_known), and a later
 * transaction signed with one of them needs no second check of its issuer
 * signature. What is remembered was checked, so it changes no outcome:
 * only where the verification is paid.
 */
struct lg_tx {
    char channel[LG_NAME_MAX + 1];
    char contract[LG_NAME_MAX + 1];
    char function[LG_NAME_MAX + 1];
    uint32_t nargs;
    struct lg_slice args[LG_MAX_ARGS]; /* borrowed from the envelope */
    struct lg_cert cert;
    struct lg_slice cert_bytes; /* borrowed from the envelope */
    uint64_t nonce;
    struct lg_slice signed_bytes; /* borrowed from the envelope */
    const uint8_t *sig;           /* borrowed from the envelope */
    struct cr_hash id;
    uint32_t nintro;                     /* introduced certificates */
    struct lg_slice intro[LG_MAX_INTRO]; /* borrowed: their encodings */
};

/** Decode and hash an envelope; @tx borrows from @p. Checks structure only,
 *  not the signature. Errors: BASE_EPARSE, BASE_ETOOBIG. */
int lg_tx_decode(struct lg_tx *tx, const uint8_t *p, size_t len) BASE_WUR;

/** What a client signs. Strings are copied into the encoding. */
struct lg_call {
    const char *channel;
    const char *contract;
    const char *function;
    uint32_t nargs;
    const struct lg_slice *args; /* borrowed for the call */
};

/** Append a signed envelope for @call by the member (@cert, @key) with
 *  @nonce to @out; the id goes to @id (may be NULL).
 *  Errors: BASE_EINVAL (bad name, too many args), BASE_ETOOBIG, BASE_ENOMEM. */
int lg_tx_build(struct base_buf *out, const struct lg_call *call,
                const struct lg_cert *cert, const struct cr_keypair *key,
                uint64_t nonce, struct cr_hash *id) BASE_WUR;
/** As lg_tx_build(), introducing the @nintro certificates @intro (their
 *  encodings, borrowed for the call): a version 2 envelope, or version 1
 *  when @nintro is 0. Errors: those of lg_tx_build, BASE_EINVAL (more than
 *  LG_MAX_INTRO, or one that does not decode). */
int lg_tx_build_intro(struct base_buf *out, const struct lg_call *call,
                      const struct lg_slice *intro, uint32_t nintro,
                      const struct lg_cert *cert, const struct cr_keypair *key,
                      uint64_t nonce, struct cr_hash *id) BASE_WUR;

/* ---- blocks ----------------------------------------------------------------
 * Block:
 *   0    4     magic "GLBK"
 *   4    1     version (1)
 *   5    8     number (genesis is 0)
 *   13   32    hash of the previous block's header (zeros for genesis)
 *   45   32    Merkle root over the transaction envelopes (crypto.h)
 *   77   32    SHA-256 of the results section
 *   109  32    state hash after the block (see lg_commit)
 *   141  8     timestamp, Unix nanoseconds (set by the orderer)
 *   149  4     number of transactions T
 *   153  64    orderer's Ed25519 signature over the header hash
 *   217        T times: u32 length, then the envelope
 *   .          results section, T times: i32 code (0: valid), u16 reason
 *              length + reason, u32 payload length + payload
 * The block hash is SHA-256 of bytes 0..153 (the header).
 * Block 0 holds the channel configuration as its single "transaction".
 */
#define LG_HEADER_SIZE 153

struct lg_header {
    uint64_t number;
    struct cr_hash prev_hash;
    struct cr_hash tx_root;
    struct cr_hash results_hash;
    struct cr_hash state_hash;
    uint64_t timestamp;
    uint32_t tx_count;
};

/** The result of one transaction in a block. */
struct lg_result {
    int32_t code;            /* 0 or a BASE_E* code */
    struct lg_slice reason;  /* borrowed */
    struct lg_slice payload; /* the contract's return value; borrowed */
};

/** A decoded block; slices borrow from the encoded bytes, the arrays are
 *  owned and freed by lg_block_release(). */
struct lg_block {
    struct lg_header h;
    struct cr_hash hash;
    uint8_t sig[CR_SIG_SIZE];
    struct lg_slice *txs;
    struct lg_result *results;
    struct lg_slice results_bytes;
};

void lg_header_encode(const struct lg_header *h, uint8_t out[LG_HEADER_SIZE]);
/** Errors: BASE_EPARSE. */
int lg_header_decode(struct lg_header *h, const uint8_t *p,
                     size_t len) BASE_WUR;
void lg_header_hash(const struct lg_header *h, struct cr_hash *out);
/** Decode @p (borrowed until lg_block_release). Errors: BASE_EPARSE,
 *  BASE_ENOMEM. On error @b needs no release. */
int lg_block_decode(struct lg_block *b, const uint8_t *p, size_t len) BASE_WUR;
void lg_block_release(struct lg_block *b);

/* ---- the ledger ---------------------------------------------------------- */

struct lg_ledger;
struct lg_channel;
struct lg_ctx; /* one contract call in progress; see the contract API below */

/** How the ledger reaches the contracts (src/contract implements it; the
 *  ledger knows contracts only through this). */
struct lg_executor {
    void *impl;
    /** Before ordering: does @contract export @function to @role?
     *  Errors: BASE_ENOCONTRACT, BASE_ENOFUNC, BASE_EPERM. */
    int (*check)(void *impl, const char *contract, const char *function,
                 const char *role);
    /** Run one call; 0 commits its writes, any error discards them. The
     *  reason may be set with lg_ctx_fail(). */
    int (*invoke)(void *impl, struct lg_ctx *ctx, const char *contract,
                  const char *function, uint32_t nargs,
                  const struct lg_slice *args);
};

struct lg_options {
    uint64_t map_size;  /* LMDB map; 0: 64 GiB of address space */
    bool read_only;     /* open for queries only */
    unsigned verifiers; /* threads for signature checks; 0: all cores */
};

/** Open the ledger in directory @dir (creating the store if missing).
 *  @exec is copied; its impl must outlive the ledger.
 *  Errors: BASE_ENOTFOUND, BASE_EIO, BASE_ECORRUPT, BASE_ENOMEM. */
int lg_open(struct lg_ledger **out, const char *dir,
            const struct lg_executor *exec, const struct lg_options *opt,
            char *errmsg) BASE_WUR;
void lg_close(struct lg_ledger *l);

/** Create a channel whose block 0 carries @cfg, signed by @orderer.
 *  Errors: BASE_EEXIST, BASE_EINVAL, BASE_EIO. */
int lg_channel_create(struct lg_ledger *l, const struct lg_config *cfg,
                      const struct cr_keypair *orderer, char *errmsg) BASE_WUR;
/** Join the channel whose genesis block is @genesis (copied), as a node
 *  that receives a channel from a cluster does (Fabric's "channel join"):
 *  the block must be a valid block 0 (configuration, Merkle root, orderer
 *  signature), and is stored as the channel's first block.
 *  Errors: BASE_ECORRUPT (not a valid genesis block), BASE_EEXIST (the
 *  channel exists), BASE_EIO, BASE_ENOMEM. */
int lg_channel_join(struct lg_ledger *l, const uint8_t *genesis, size_t len,
                    char *errmsg) BASE_WUR;
/** The open channel @name (borrowed until lg_close).
 *  Errors: BASE_ENOCHANNEL. */
int lg_channel_get(struct lg_ledger *l, const char *name,
                   struct lg_channel **out) BASE_WUR;
/** Number of channels; their names are copied to @names (up to @max). */
size_t lg_channel_list(struct lg_ledger *l, char (*names)[LG_NAME_MAX + 1],
                       size_t max);
/** The channel's configuration (borrowed until lg_close). */
const struct lg_config *lg_channel_config(const struct lg_channel *ch);
const char *lg_channel_name(const struct lg_channel *ch);
/** The ledger's error message after a failed call (per ledger). */
const char *lg_errmsg(struct lg_ledger *l);
/** Does the ledger's store refuse writes, and why (kv_env_refusal)? 0 when
 *  it takes them; BASE_EPANIC after a fatal storage error (until the ledger
 *  is reopened), BASE_ENOSPC while out of room. The reason goes to @why
 *  (BASE_ERRMSG_SIZE bytes; may be NULL). Thread-safe. */
int lg_write_refusal(struct lg_ledger *l, char *why) BASE_WUR;

/** Height (number of blocks, genesis included), tip hash and state hash.
 *  Thread-safe. */
void lg_channel_tip(struct lg_channel *ch, uint64_t *height,
                    struct cr_hash *tip, struct cr_hash *state);

/**
 * Admission check, done before ordering: the transaction is for this
 * channel, its certificate was issued by a genesis organisation for one of
 * that org's roles and is valid at @now_ns, its signature verifies, the
 * contract exports the function to that role, and it was not committed
 * before; every certificate it introduces was issued likewise (validity
 * in time is checked when a certificate signs, not when it is introduced).
 * Thread-safe; call from many threads to use all cores. On error
 * @reason (LG_REASON_MAX+1 bytes) says why.
 * Errors: BASE_ENOCHANNEL, BASE_EUNKNOWNCERT, BASE_EPERM, BASE_EEXPIRED,
 * BASE_EBADSIG, BASE_ENOCONTRACT, BASE_ENOFUNC, BASE_EREPLAY.
 */
int lg_admit(struct lg_channel *ch, const struct lg_tx *tx, uint64_t now_ns,
             char *reason) BASE_WUR;

/** One transaction handed to lg_commit. */
struct lg_item {
    const uint8_t *bytes; /* borrowed for the call */
    size_t len;
    bool admitted; /* lg_admit passed: skip the signature check */
};

/** Per-transaction outcome reported by lg_commit/lg_apply. */
struct lg_outcome {
    int32_t code;
    struct cr_hash id;
    char reason[LG_REASON_MAX + 1];
};

/**
 * Execute @n transactions in order and append them as the next block,
 * signed by @orderer, with timestamp @ts_ns. Invalid transactions (bad
 * encoding, replay, expired certificate, failed call, ...) stay in the block
 * with their code and reason and change nothing. Block, results, state,
 * history, transaction index, events and introduced certificates commit in
 * one durable LMDB transaction; subscribers are told after it. One committer at
 * a time per ledger (callers serialise). Outcomes go to @out (n entries, may be
 * NULL); the new header to @header (may be NULL).
 *
 * The state hash is SHA-256(previous state hash || SHA-256(W)), where W is
 * the concatenation, over the block's valid transactions in order, of each
 * write as (u16 key length, key, u8 op 1=put 2=delete, u32 value length,
 * value), where key is the stored key (contract name, a zero byte, the
 * contract's key) and a call's writes come in the order each key was first
 * written, one record per key. Any node that applies the same blocks
 * reaches the same hash.
 *
 * Errors: BASE_EINVAL (n == 0 or too many), BASE_EIO, BASE_ENOSPC,
 * BASE_EPANIC, BASE_ENOMEM. On error nothing is stored.
 */
int lg_commit(struct lg_channel *ch, const struct lg_item *items, size_t n,
              uint64_t ts_ns, const struct cr_keypair *orderer,
              struct lg_outcome *out, struct lg_header *header) BASE_WUR;

/**
 * An executed block that is not stored yet. lg_prepare() does everything
 * lg_commit() does (execution, results, state hash, signature, encoding)
 * but leaves the LMDB write transaction open, so a replicated orderer can
 * first have the block agreed on (Raft) and then store exactly what it
 * executed with lg_pending_commit(), or drop it with lg_pending_abort() if
 * the cluster chose another block. While a block is pending, the ledger's
 * write lock is held: no other block can be committed or applied (that
 * would wait forever on the same thread), and readers see the old tip.
 * Commit or abort on the thread that called lg_prepare() (LMDB binds a
 * write transaction to its thread).
 */
struct lg_pending;

/** Execute @n transactions as the next block, like lg_commit(), without
 *  storing it. Outcomes are copied to @out (n entries, may be NULL).
 *  Ownership of *@pending moves to the caller on success; it ends with
 *  lg_pending_commit() or lg_pending_abort().
 *  Errors: those of lg_commit. On error nothing is pending. */
int lg_prepare(struct lg_channel *ch, const struct lg_item *items, size_t n,
               uint64_t ts_ns, const struct cr_keypair *orderer,
               struct lg_outcome *out, struct lg_pending **pending) BASE_WUR;
/** Execute @n transactions as the block after pending block @prev, which
 *  stays pending and unchanged: the work is done in a transaction nested
 *  in @prev's and dropped. The encoded, signed block is appended to
 *  @block and its hash written to @hash (may be NULL). Once @prev is
 *  committed, lg_prepare() with the same transactions and @ts_ns makes
 *  exactly this block again, so an orderer can have it agreed on while
 *  @prev still is. Call on @prev's thread.
 *  Errors: those of lg_commit. */
int lg_prepare_after(struct lg_pending *prev, const struct lg_item *items,
                     size_t n, uint64_t ts_ns, const struct cr_keypair *orderer,
                     struct base_buf *block, struct cr_hash *hash) BASE_WUR;
/** The encoded, signed block (borrowed until commit or abort). */
struct lg_slice lg_pending_block(const struct lg_pending *p);
/** Its header (borrowed likewise); its hash to @hash (may be NULL). */
const struct lg_header *lg_pending_header(const struct lg_pending *p,
                                          struct cr_hash *hash);
/** Per-transaction outcomes, tx_count entries (borrowed likewise). */
const struct lg_outcome *lg_pending_outcomes(const struct lg_pending *p);
/** Store the block durably, move the tip and tell the subscribers. Frees
 *  @p in every case. Errors: BASE_EIO, BASE_ENOSPC, BASE_EPANIC. */
int lg_pending_commit(struct lg_pending *p, struct lg_header *header) BASE_WUR;
/** Drop the block; nothing was stored. Frees @p (NULL is fine). */
void lg_pending_abort(struct lg_pending *p);

/**
 * Check and append a block produced elsewhere: it must be the next number,
 * link to the tip, carry the orderer's signature, the right Merkle root and
 * results hash, and re-execution must reproduce its results and state hash.
 * @errmsg names the first thing that is wrong.
 * Errors: BASE_ECORRUPT (any check failed), BASE_EPARSE, and those of
 * lg_commit.
 */
int lg_apply(struct lg_channel *ch, const uint8_t *block, size_t len,
             char *errmsg) BASE_WUR;
/**
 * lg_apply of @n consecutive blocks in one write transaction (one sync
 * instead of @n: a node catching up on several committed blocks at once).
 * Blocks are checked in order; the first that fails ends the run and is
 * not stored, those before it are. *@applied counts the blocks stored;
 * the return value is the error of block *@applied (0: all stored), with
 * @errmsg saying why. If the commit itself fails, nothing is stored
 * (*@applied is 0) and that error is returned.
 */
int lg_apply_many(struct lg_channel *ch, const struct lg_slice *blocks,
                  size_t n, size_t *applied, char *errmsg) BASE_WUR;

/* ---- the contract API -----------------------------------------------------
 * What a native contract may do during lg_executor.invoke. Everything is
 * deterministic: no clocks but the block time, no randomness. Keys are
 * namespaced by contract, so a contract sees only its own state. Slices
 * returned are borrowed until the call returns. */

/** Errors: BASE_ENOTFOUND, BASE_EINVAL (key too long or empty). */
int lg_ctx_get(struct lg_ctx *ctx, const void *key, size_t klen,
               struct lg_slice *val) BASE_WUR;
/** Read @key of another @contract's state (read-only: a contract writes
 *  only its own keys). Lets one contract check what another recorded, as
 *  the bids contract checks the DER registry. Errors: as lg_ctx_get. */
int lg_ctx_read(struct lg_ctx *ctx, const char *contract, const void *key,
                size_t klen, struct lg_slice *val) BASE_WUR;
/** Errors: BASE_EINVAL, BASE_ENOMEM, BASE_ETOOBIG (value over 1 MiB). */
int lg_ctx_put(struct lg_ctx *ctx, const void *key, size_t klen,
               const void *val, size_t vlen) BASE_WUR;
/** Deleting a missing key is not an error. */
int lg_ctx_del(struct lg_ctx *ctx, const void *key, size_t klen) BASE_WUR;

/** Called for each key in a range; return non-zero to stop early. */
typedef int (*lg_range_cb)(void *arg, struct lg_slice key, struct lg_slice val);
/** Visit keys in [@start, @end) in byte order (@end NULL: to the end of the
 *  contract's keys), including this call's own writes. */
int lg_ctx_range(struct lg_ctx *ctx, const void *start, size_t slen,
                 const void *end, size_t elen, lg_range_cb cb,
                 void *arg) BASE_WUR;
/** The caller's certificate (borrowed for the call). */
const struct lg_cert *lg_ctx_caller(const struct lg_ctx *ctx);
/** Block time, Unix nanoseconds. */
uint64_t lg_ctx_time(const struct lg_ctx *ctx);
/** The transaction's id. */
const struct cr_hash *lg_ctx_txid(const struct lg_ctx *ctx);
/** Emit an event (kept only if the call succeeds). */
int lg_ctx_emit(struct lg_ctx *ctx, const char *name, const void *payload,
                size_t len) BASE_WUR;
/** Set the value returned to the client (copied). */
int lg_ctx_return(struct lg_ctx *ctx, const void *data, size_t len) BASE_WUR;
/** Record why the call fails and return @code (for `return lg_ctx_fail()`). */
int lg_ctx_fail(struct lg_ctx *ctx, int code, const char *fmt, ...)
    BASE_PRINTF(3, 4);
/** True when the call runs read-only (lg_evaluate): writes fail EPERM. */
bool lg_ctx_read_only(const struct lg_ctx *ctx);
/** Number of the block the call executes in (0 in lg_evaluate). Lets a
 *  contract make keys that grow with the chain, which LMDB appends cheaply
 *  where random keys would dirty pages all over its trees. */
uint64_t lg_ctx_block(const struct lg_ctx *ctx);

/* ---- queries ---------------------------------------------------------------
 * All queries read a consistent snapshot and are thread-safe. */

/** Run a contract function against the latest state without ordering it
 *  (Fabric's evaluate): writes are refused. The return value is appended to
 *  @out. Errors: those of the contract, BASE_ENOCONTRACT, BASE_ENOFUNC,
 *  BASE_EPERM. @reason gets the reason on failure. */
int lg_evaluate(struct lg_channel *ch, const struct lg_cert *caller,
                const char *contract, const char *function, uint32_t nargs,
                const struct lg_slice *args, struct base_buf *out,
                char *reason) BASE_WUR;

/** Where a state value was last written. */
struct lg_version {
    uint64_t block;
    uint32_t tx;
};

/** Value of @key in @contract's state, appended to @out.
 *  Errors: BASE_ENOTFOUND. */
int lg_get(struct lg_channel *ch, const char *contract, const void *key,
           size_t klen, struct base_buf *out, struct lg_version *ver) BASE_WUR;
/** Keys of @contract in [@start, @end) (end NULL: all), at most @limit
 *  (0: no limit). Slices are borrowed for the callback. */
int lg_range(struct lg_channel *ch, const char *contract, const void *start,
             size_t slen, const void *end, size_t elen, size_t limit,
             lg_range_cb cb, void *arg) BASE_WUR;

/** One version of a key. */
struct lg_history_entry {
    struct lg_version ver;
    bool deleted;
    struct lg_slice value; /* borrowed for the callback */
};
typedef int (*lg_history_cb)(void *arg, const struct lg_history_entry *e);
/** Every version of @key, oldest first. Errors: BASE_ENOTFOUND (never
 *  written). */
int lg_history(struct lg_channel *ch, const char *contract, const void *key,
               size_t klen, lg_history_cb cb, void *arg) BASE_WUR;

/** Encoded block @number appended to @out. Errors: BASE_ENOTFOUND. */
int lg_block_get(struct lg_channel *ch, uint64_t number,
                 struct base_buf *out) BASE_WUR;
/** Header of block @number to @h and its hash to @hash (may be NULL):
 *  among others the state hash after that block, which any two nodes
 *  that applied the same chain agree on. Errors: BASE_ENOTFOUND,
 *  BASE_ECORRUPT (the stored block does not decode). */
int lg_block_header(struct lg_channel *ch, uint64_t number, struct lg_header *h,
                    struct cr_hash *hash) BASE_WUR;
/** Number of the block whose hash is @hash. Errors: BASE_ENOTFOUND. */
int lg_block_find(struct lg_channel *ch, const struct cr_hash *hash,
                  uint64_t *number) BASE_WUR;

/** Where a transaction is and how it ended. */
struct lg_tx_info {
    uint64_t block;
    uint32_t index;
    int32_t code;
};
/** Errors: BASE_ENOTFOUND. */
int lg_tx_find(struct lg_channel *ch, const struct cr_hash *id,
               struct lg_tx_info *info) BASE_WUR;

/** Was certificate @cert (its encoding, @len bytes) introduced by a valid
 *  transaction of @ch? Where it was first goes to @where (may be NULL).
 *  Errors: BASE_ENOTFOUND. */
int lg_cert_known(struct lg_channel *ch, const uint8_t *cert, size_t len,
                  struct lg_version *where) BASE_WUR;

/** A self-contained inclusion proof: a header, an envelope, and the path. */
struct lg_proof {
    uint8_t header[LG_HEADER_SIZE];
    uint8_t sig[CR_SIG_SIZE];
    struct cr_merkle_proof path;
    struct base_buf tx;  /* owned: the envelope */
    struct cr_hash txid; /* the id it names; must be the envelope's */
};
void lg_proof_init(struct lg_proof *p);
void lg_proof_release(struct lg_proof *p);
/** Build the proof for transaction @id. Errors: BASE_ENOTFOUND. */
int lg_proof_make(struct lg_channel *ch, const struct cr_hash *id,
                  struct lg_proof *p) BASE_WUR;
/** Check a proof offline: the envelope decodes and its id is @p->txid, it
 *  hashes to a leaf whose path leads to the header's Merkle root, and (when
 *  @orderer_pk is not NULL) the header carries the orderer's signature.
 *  Without @orderer_pk anyone can forge a header, so callers that report a
 *  proof to a person pass a key. A proof says the transaction is in the
 *  block, not whether it was valid (its result is not in the proof).
 *  Errors: BASE_ECORRUPT, BASE_EBADSIG, BASE_EPARSE. */
int lg_proof_check(const struct lg_proof *p,
                   const uint8_t *orderer_pk) BASE_WUR;
/** Proof as JSON text (hex fields) appended to @out. */
int lg_proof_to_json(const struct lg_proof *p, struct base_buf *out) BASE_WUR;
/** Read a proof from JSON text into @p (initialised; unchanged on failure).
 *  Strict: exactly the fields lg_proof_to_json writes, no duplicate keys,
 *  and the txid must be the id of the envelope. Why it failed goes to @why
 *  (BASE_ERRMSG_SIZE bytes, or NULL).
 *  Errors: BASE_EPARSE (not a proof: bad JSON, a missing, unknown or
 *  malformed field), BASE_ECORRUPT (the envelope does not decode, or the
 *  txid names another transaction), BASE_ENOMEM. */
int lg_proof_from_json(struct lg_proof *p, const char *json,
                       char *why) BASE_WUR;

/** Events of a committed transaction, in emission order. */
struct lg_event {
    const char *channel;
    uint64_t block;
    uint32_t tx;
    const char *contract;
    const char *name;
    struct lg_slice payload;
};
typedef int (*lg_event_cb)(void *arg, const struct lg_event *e);
/** Stored events of blocks >= @from_block, oldest first. */
int lg_events(struct lg_channel *ch, uint64_t from_block, lg_event_cb cb,
              void *arg) BASE_WUR;

/* ---- subscriptions --------------------------------------------------------
 * Called on the committing thread right after a block is durable; keep them
 * short. Register before committing starts; not thread-safe against
 * concurrent commits. */
struct lg_subscriber {
    void *arg;
    void (*on_block)(void *arg, struct lg_channel *ch,
                     const struct lg_header *h, const struct lg_outcome *out,
                     size_t n);
    void (*on_event)(void *arg, const struct lg_event *e);
};
/** Errors: BASE_EFULL (more than 16). @sub is copied. */
int lg_subscribe(struct lg_ledger *l, const struct lg_subscriber *sub) BASE_WUR;

/* ---- verification ----------------------------------------------------------
 */

struct lg_verify_report {
    uint64_t channels;
    uint64_t blocks;
    uint64_t txs;
    uint64_t valid_txs;
    uint64_t state_keys;
    char error[BASE_ERRMSG_SIZE]; /* the first problem found */
};

/**
 * A quick integrity check for opening a node: the genesis block and the
 * last @depth blocks of @ch (all of them when @depth is 0) must be stored
 * under their own number, decode, link by hash up to the tip recorded in
 * the store, and carry a matching Merkle root, results hash and orderer
 * signature. It does not re-execute anything (lg_verify does).
 * Errors: BASE_ECORRUPT (@errmsg names the block and what is wrong),
 * BASE_ENOMEM, BASE_EIO.
 */
int lg_check_tail(struct lg_channel *ch, uint64_t depth, char *errmsg) BASE_WUR;

/**
 * Check every channel of the ledger in @dir: each block's hash link, Merkle
 * root, results hash and orderer signature, every transaction signature;
 * re-execute the whole chain from genesis in a scratch copy under @scratch
 * (a directory that must exist) and compare the resulting state, history,
 * index, events and introduced certificates with the stored ones, byte for
 * byte.
 * Errors: BASE_ECORRUPT (report->error names the first bad block or
 * transaction), BASE_EIO, BASE_ENOMEM.
 */
int lg_verify(const char *dir, const char *scratch,
              const struct lg_executor *exec,
              struct lg_verify_report *report) BASE_WUR;

#endif
