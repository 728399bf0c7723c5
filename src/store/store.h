/* SPDX-License-Identifier: MIT */
/* Public header of store: the LMDB key-value environment under the ledger,
 * and the off-chain record store (content-addressed, SQLite backend). */
#ifndef GL_STORE_H
#define GL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"

/* ---- key-value environment (LMDB) --------------------------------------
 * A thin layer so that no other module sees MDB_* names or codes: every
 * LMDB error is mapped to a BASE_E* code here. Writes are durable when
 * kv_txn_commit() returns 0 (LMDB syncs on commit). After a fatal error
 * (MDB_PANIC, a failed commit) the environment refuses further writes with
 * BASE_EPANIC, as LMDB does, so a damaged store is never written to. */

struct kv_env;
struct kv_txn;
struct kv_cursor;
typedef unsigned int kv_dbi;

struct kv_val {
    const void *data; /* borrowed from the map until the txn ends */
    size_t len;
};

struct kv_env_options {
    uint64_t map_size; /* bytes of address space; 0: 64 GiB */
    unsigned max_dbs;  /* named databases; 0: 1024 */
    bool read_only;
};

/** Open (creating if needed) the environment in directory @dir.
 *  On error *@out is untouched and @errmsg says why.
 *  Errors: BASE_EIO, BASE_ENOMEM, BASE_ECORRUPT (not an LMDB file),
 *  BASE_ENOTFOUND (read-only and missing). */
int kv_env_open(struct kv_env **out, const char *dir,
                const struct kv_env_options *opt, char *errmsg) BASE_WUR;
void kv_env_close(struct kv_env *env);
/** Bytes in use in the map (for reports). */
uint64_t kv_env_used(struct kv_env *env);

/** Begin a transaction. Only one write transaction runs at a time (a second
 *  writer blocks); read transactions run beside it and see a snapshot.
 *  Errors: BASE_EPANIC, BASE_EIO, BASE_ENOMEM. */
int kv_txn_begin(struct kv_env *env, bool write, struct kv_txn **out) BASE_WUR;
/** Begin a write transaction nested in write transaction @parent: it sees
 *  @parent's writes; on commit its own become @parent's, on abort they
 *  vanish. @parent may do nothing until the child ends (LMDB).
 *  Errors: BASE_EINVAL (@parent is read-only), BASE_EPANIC, BASE_ENOMEM,
 *  BASE_EIO. */
int kv_txn_begin_child(struct kv_txn *parent, struct kv_txn **out) BASE_WUR;
/** Commit and free @txn (also on failure). Errors: BASE_EIO, BASE_ENOSPC. */
int kv_txn_commit(struct kv_txn *txn) BASE_WUR;
void kv_txn_abort(struct kv_txn *txn);

/** Open a named database (creating it in a write txn when @create).
 *  Errors: BASE_ENOTFOUND, BASE_EFULL (too many databases). */
int kv_dbi_open(struct kv_txn *txn, const char *name, bool create,
                kv_dbi *out) BASE_WUR;
/** Remove every record of a database (keeps the database). */
int kv_dbi_clear(struct kv_txn *txn, kv_dbi dbi) BASE_WUR;

/** Errors: BASE_ENOTFOUND. @val is borrowed until the txn ends. */
int kv_get(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
           struct kv_val *val) BASE_WUR;
/** Errors: BASE_EINVAL (key empty or over 511 bytes), BASE_ENOSPC. */
int kv_put(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
           const void *val, size_t vlen) BASE_WUR;
/** Append in key order (faster for monotonically increasing keys).
 *  Errors: as kv_put, BASE_EINVAL when the key is not the largest. */
int kv_append(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen) BASE_WUR;
/** Errors: BASE_ENOTFOUND. */
int kv_del(struct kv_txn *txn, kv_dbi dbi, const void *key,
           size_t klen) BASE_WUR;

/** Cursors walk a database in key order (memcmp). */
int kv_cursor_open(struct kv_txn *txn, kv_dbi dbi,
                   struct kv_cursor **out) BASE_WUR;
void kv_cursor_close(struct kv_cursor *c);
/** Position at the first key >= @key (or the first key when @key is NULL).
 *  Errors: BASE_ENOTFOUND when there is none. */
int kv_cursor_seek(struct kv_cursor *c, const void *key, size_t klen,
                   struct kv_val *k, struct kv_val *v) BASE_WUR;
/** Errors: BASE_ENOTFOUND at the end. */
int kv_cursor_next(struct kv_cursor *c, struct kv_val *k,
                   struct kv_val *v) BASE_WUR;
/** Position at the last key. Errors: BASE_ENOTFOUND when empty. */
int kv_cursor_last(struct kv_cursor *c, struct kv_val *k,
                   struct kv_val *v) BASE_WUR;

/* ---- off-chain record store --------------------------------------------
 * Raw records live off chain, addressed by their SHA-256; the chain keeps
 * only the hash. get() returns the bytes as stored, without checking them
 * against the hash, because the caller's job is to *report* a tampered
 * record (the BLOSEM bid store), not to hide it. Backends implement
 * struct kv_offchain_ops; SQLite is the default, PostgreSQL comes with the
 * gateway. */

struct kv_offchain;

struct kv_offchain_ops {
    /** Store @len bytes under their SHA-256 (written to @hash). Storing the
     *  same bytes twice is not an error. */
    int (*put)(struct kv_offchain *s, const void *data, size_t len,
               struct cr_hash *hash);
    /** Fetch the bytes stored under @hash into @out (appended).
     *  Errors: BASE_ENOTFOUND. */
    int (*get)(struct kv_offchain *s, const struct cr_hash *hash,
               struct base_buf *out);
    void (*close)(struct kv_offchain *s);
};

struct kv_offchain {
    const struct kv_offchain_ops *ops;
    char errmsg[BASE_ERRMSG_SIZE];
};

/** Open (creating) the SQLite off-chain store at file @path.
 *  Thread-safe: calls are serialised inside. Errors: BASE_EIO, BASE_ENOMEM. */
int kv_offchain_open_sqlite(struct kv_offchain **out, const char *path,
                            char *errmsg) BASE_WUR;

static inline int kv_offchain_put(struct kv_offchain *s, const void *data,
                                  size_t len, struct cr_hash *hash)
{
    return s->ops->put(s, data, len, hash);
}
static inline int kv_offchain_get(struct kv_offchain *s,
                                  const struct cr_hash *hash,
                                  struct base_buf *out)
{
    return s->ops->get(s, hash, out);
}
static inline void kv_offchain_close(struct kv_offchain *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}

#endif
