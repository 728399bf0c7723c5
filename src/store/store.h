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
/** Does @env refuse writes, and why? 0 when it takes them; BASE_EPANIC
 *  after a fatal error (until the environment is reopened); BASE_ENOSPC
 *  when the last write ran out of room (the disk or the map), until a
 *  write commits. The reason (what failed, and how full the disk is) goes
 *  to @why (BASE_ERRMSG_SIZE bytes; may be NULL), "" with 0. Any thread. */
int kv_env_refusal(struct kv_env *env, char *why) BASE_WUR;

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
 * struct kv_offchain_ops; both behave the same way:
 *
 *   put   stores @len bytes (0 to KV_OFFCHAIN_MAX_RECORD, any byte values)
 *         under their SHA-256. Putting bytes already stored is not an error
 *         and adds nothing (the hash is the primary key); a row that was
 *         changed behind the store's back stays as it is (put never
 *         overwrites), so a tampered record is reported, not silently
 *         repaired. Records are never deleted.
 *   get   appends the stored bytes to the caller's buffer, or returns
 *         BASE_ENOTFOUND and leaves the buffer as it was.
 *   threads  every call may come from any thread at the same time (the
 *         node's HTTP gateway does): SQLite serialises calls on one
 *         connection, PostgreSQL hands each call a connection of a small
 *         pool. kv_offchain_close() must not race any other call.
 *   errmsg   the reason of the last failure, for messages; with several
 *         threads it may be another thread's.
 *
 * Where the bytes live (docs/offchain.md):
 *   SQLite      one file, table records(hash BLOB PRIMARY KEY,
 *               data BLOB NOT NULL) WITHOUT ROWID; WAL journal,
 *               synchronous=NORMAL: a put survives a crash of the process,
 *               and the last ones may be lost on a power cut.
 *   PostgreSQL  table offchain_records(hash bytea PRIMARY KEY, 32 bytes,
 *               data bytea NOT NULL) in the connection's default schema,
 *               created if missing; a put is committed (and flushed, with
 *               the server's default synchronous_commit) when it returns.
 *
 * Which backend a ledger uses is a store "spec" (kv_offchain_open_uri):
 *   sqlite:PATH or PATH                  SQLite at file PATH
 *   postgresql://... or postgres://...   PostgreSQL, a libpq connection URI
 */

/* The largest record either backend takes (BASE_ETOOBIG beyond): 256 KiB.
 * What the store holds are bid records and dispatch allocations, a few KiB
 * each (a bid of the contract's 1,000 DERs is about 70 KiB); a larger
 * bound only let one member make every reader fetch and parse megabytes
 * (issue 15, finding 9). */
#define KV_OFFCHAIN_MAX_RECORD (256u << 10)

/* PostgreSQL connection pool: connections are opened on demand, one per
 * call running at the same time, up to this many (kv_offchain_open_pg). */
#define KV_PG_CONNS_DEFAULT 8
#define KV_PG_CONNS_MAX     64

struct kv_offchain;

struct kv_offchain_ops {
    /** Store @len bytes under their SHA-256 (written to @hash). Storing the
     *  same bytes twice is not an error. @data is borrowed for the call.
     *  Errors: BASE_ETOOBIG (over KV_OFFCHAIN_MAX_RECORD), BASE_EIO,
     *  BASE_EPERM (PostgreSQL: no right to write the table), BASE_ENOMEM. */
    int (*put)(struct kv_offchain *s, const void *data, size_t len,
               struct cr_hash *hash);
    /** Fetch the bytes stored under @hash into @out (appended).
     *  Errors: BASE_ENOTFOUND, BASE_EIO, BASE_EPERM, BASE_ENOMEM. */
    int (*get)(struct kv_offchain *s, const struct cr_hash *hash,
               struct base_buf *out);
    void (*close)(struct kv_offchain *s);
};

struct kv_offchain {
    const struct kv_offchain_ops *ops;
    char errmsg[BASE_ERRMSG_SIZE];
};

/** Open (creating) the SQLite off-chain store at file @path (copied).
 *  On error *@out is untouched and @errmsg says why.
 *  Thread-safe: calls are serialised on one connection inside.
 *  Errors: BASE_EIO, BASE_ENOMEM. */
int kv_offchain_open_sqlite(struct kv_offchain **out, const char *path,
                            char *errmsg) BASE_WUR;

/** Open the PostgreSQL off-chain store at @conninfo (copied: a libpq URI
 *  "postgresql://user:pw@host:port/db?..." or "key=value ..." string;
 *  libpq's PG* environment variables and ~/.pgpass apply). Connects once
 *  to check the server and create the table if it is missing; further
 *  connections open on demand, up to @max_conns (0: KV_PG_CONNS_DEFAULT;
 *  at most KV_PG_CONNS_MAX) calls in flight at once; more wait for a free
 *  connection. A call that finds its connection lost (server restarted)
 *  drops the idle ones and retries once on a new connection, so the store
 *  carries on when the server comes back; while it is down calls fail
 *  with BASE_EIO. Messages name the server by the connection options
 *  without the password.
 *  On error *@out is untouched and @errmsg says why. Thread-safe.
 *  Errors: BASE_EINVAL (@conninfo malformed, or @max_conns too large),
 *  BASE_EIO (cannot connect or authenticate, no such database),
 *  BASE_EPERM (the table is missing and the role may not create it),
 *  BASE_ENOMEM. */
int kv_offchain_open_pg(struct kv_offchain **out, const char *conninfo,
                        unsigned max_conns, char *errmsg) BASE_WUR;

/** Open the store named by @spec (see above): PostgreSQL with the default
 *  pool for a postgresql:// or postgres:// URI, else SQLite; a relative
 *  SQLite PATH is taken relative to @base_dir (NULL: the working
 *  directory). @spec and @base_dir are borrowed for the call.
 *  Errors: BASE_EINVAL (empty spec, empty path, an unknown "scheme://"),
 *  and those of the backend's open. */
int kv_offchain_open_uri(struct kv_offchain **out, const char *spec,
                         const char *base_dir, char *errmsg) BASE_WUR;

/** Copy @spec into @out (@size bytes, truncated, NUL-terminated) with the
 *  password of a PostgreSQL URI, in its user part or a password=
 *  parameter, replaced by "***", for showing a spec to people. */
void kv_offchain_spec_redact(char *out, size_t size, const char *spec);

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
