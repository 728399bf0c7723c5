/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of the ledger module. */
#ifndef GL_LEDGER_INT_H
#define GL_LEDGER_INT_H

#include <pthread.h>

#include "ledger/ledger.h"
#include "store/store.h"

#define LG_MAX_CHANNELS 64
#define LG_MAX_SUBS     16
#define LG_CERT_CACHE   1024 /* verified certificates remembered per channel */
#define LG_VALUE_MAX    (1u << 20)
/* A state value is stored as u64 block, u32 tx, then the contract's bytes. */
#define LG_VER_SIZE 12

struct lg_cert_slot {
    struct cr_hash h; /* SHA-256 of the certificate bytes; zero: empty */
    bool used;
};

struct lg_channel {
    struct lg_ledger *l;
    char name[LG_NAME_MAX + 1];
    struct lg_config cfg;
    kv_dbi blocks; /* u64 number -> block bytes */
    kv_dbi hashes; /* block hash -> u64 number */
    kv_dbi txs;    /* tx id -> u64 block, u32 index, i32 code */
    kv_dbi state;  /* contract \0 key -> version, value */
    kv_dbi
        history; /* u16 len, contract \0 key, u64 block, u32 tx -> op, value */
    kv_dbi events;  /* u64 block, u32 tx, u16 seq -> contract, name, payload */
    kv_dbi meta;    /* "tip" -> u64 height, tip hash, state hash */
    kv_dbi certs;   /* SHA-256 of an introduced certificate -> u64 block,
                       u32 tx */
    bool has_certs; /* false: a read-only ledger from before introduced
                       certificates, with no such database */

    pthread_mutex_t tip_lock;
    uint64_t height;
    struct cr_hash tip;
    struct cr_hash state_hash;

    /* A bounded, direct-mapped cache of certificates whose issuer signature
     * checked out, so a client's certificate costs one verification, not
     * one per transaction; bounded so memory stays flat. */
    pthread_mutex_t cache_lock;
    struct lg_cert_slot cache[LG_CERT_CACHE];
};

struct lg_ledger {
    struct kv_env *env;
    struct lg_executor exec;
    bool read_only;
    unsigned verifiers;
    kv_dbi channels_db; /* channel name -> configuration bytes */
    size_t nchannels;
    struct lg_channel *channels[LG_MAX_CHANNELS];
    size_t nsubs;
    struct lg_subscriber subs[LG_MAX_SUBS];
    char errmsg[BASE_ERRMSG_SIZE];
};

struct lg_write {
    uint8_t *key; /* full state key: contract \0 key; owned */
    size_t klen;
    uint8_t *val; /* owned; NULL for a delete */
    size_t vlen;
    bool del;
};

struct lg_emitted {
    char name[LG_NAME_MAX + 1];
    uint8_t *payload; /* owned */
    size_t len;
};

struct lg_ctx {
    struct lg_channel *ch;
    struct kv_txn *txn;
    const struct lg_tx *tx;
    uint64_t time;
    bool read_only;
    char ns[LG_NAME_MAX + 2]; /* contract name and its NUL: the namespace */
    size_t nslen;
    struct lg_write *writes;
    size_t nwrites, capwrites;
    struct lg_emitted *events;
    size_t nevents, capevents;
    struct base_buf ret;
    struct base_buf scratch; /* namespaced key under construction */
    char reason[LG_REASON_MAX + 1];
    uint64_t block; /* the block being executed; 0 in lg_evaluate */
};

bool lg__name_ok(const char *s, size_t len);
/** The signer's certificate and every certificate @tx introduces: known
 *  to this channel's genesis, role allowed, issuer signature good (cached,
 *  or introduced before). Does not check time. */
int lg__cert_check(struct lg_channel *ch, const struct lg_tx *tx, char *reason);
void lg__ctx_init(struct lg_ctx *ctx, struct lg_channel *ch, struct kv_txn *txn,
                  const struct lg_tx *tx, uint64_t time, bool read_only);
void lg__ctx_release(struct lg_ctx *ctx);
/** Build "contract\0key" into ctx->scratch. */
int lg__state_key(struct base_buf *b, const char *contract, const void *key,
                  size_t klen);
/** The checks of lg_apply that need no execution: @b is block @number,
 *  links to @prev, carries the orderer's signature, and its Merkle root
 *  and results hash match. Errors: BASE_ECORRUPT, BASE_ENOMEM. */
int lg__block_check(const struct lg_channel *ch, const struct lg_block *b,
                    uint64_t number, const struct cr_hash *prev, char *errmsg);
int lg__channel_adopt(struct lg_ledger *l, const uint8_t *genesis, size_t len,
                      char *errmsg);

#endif
