/* SPDX-License-Identifier: MIT */
/* The SQLite backend of the off-chain record store. */
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "store/store.h"

struct sqlite_store {
    struct kv_offchain base; /* first, so the pointers convert */
    sqlite3 *db;
    sqlite3_stmt *put;
    sqlite3_stmt *get;
    pthread_mutex_t lock; /* one connection, shared by callers */
};

static int sq_put(struct kv_offchain *s, const void *data, size_t len,
                  struct cr_hash *hash)
{
    struct sqlite_store *q = (struct sqlite_store *)s;
    if (len > KV_OFFCHAIN_MAX_RECORD) {
        pthread_mutex_lock(&q->lock);
        int rv = base_errf(s->errmsg, BASE_ETOOBIG,
                           "offchain put: %zu bytes, over the %u-byte limit",
                           len, KV_OFFCHAIN_MAX_RECORD);
        pthread_mutex_unlock(&q->lock);
        return rv;
    }
    struct cr_hash h;
    cr_sha256(&h, data, len);
    pthread_mutex_lock(&q->lock);
    sqlite3_reset(q->put);
    sqlite3_bind_blob(q->put, 1, h.b, CR_HASH_SIZE, SQLITE_STATIC);
    /* A NULL pointer would bind SQL NULL: an empty record is "". */
    sqlite3_bind_blob64(q->put, 2, data != NULL ? data : "", len,
                        SQLITE_STATIC);
    int rc = sqlite3_step(q->put);
    int err = 0;
    if (rc != SQLITE_DONE) {
        err = base_errf(s->errmsg, rc == SQLITE_FULL ? BASE_ENOSPC : BASE_EIO,
                        "offchain put: %s", sqlite3_errmsg(q->db));
    }
    sqlite3_reset(q->put);
    pthread_mutex_unlock(&q->lock);
    if (err == 0) {
        *hash = h;
    }
    return err;
}

static int sq_get(struct kv_offchain *s, const struct cr_hash *hash,
                  struct base_buf *out)
{
    struct sqlite_store *q = (struct sqlite_store *)s;
    pthread_mutex_lock(&q->lock);
    sqlite3_reset(q->get);
    sqlite3_bind_blob(q->get, 1, hash->b, CR_HASH_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(q->get);
    int err;
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(q->get, 0);
        int n = sqlite3_column_bytes(q->get, 0);
        err = base_buf_add(out, p, (size_t)n);
    } else if (rc == SQLITE_DONE) {
        err = BASE_ENOTFOUND;
    } else {
        err = base_errf(s->errmsg, BASE_EIO, "offchain get: %s",
                        sqlite3_errmsg(q->db));
    }
    sqlite3_reset(q->get);
    pthread_mutex_unlock(&q->lock);
    return err;
}

static void sq_close(struct kv_offchain *s)
{
    struct sqlite_store *q = (struct sqlite_store *)s;
    sqlite3_finalize(q->put);
    sqlite3_finalize(q->get);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->lock);
    base_free(q);
}

static const struct kv_offchain_ops sqlite_ops = {sq_put, sq_get, sq_close};

int kv_offchain_open_sqlite(struct kv_offchain **out, const char *path,
                            char *errmsg)
{
    struct sqlite_store *q = base_calloc(1, sizeof *q);
    if (q == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    q->base.ops = &sqlite_ops;
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        base_errf(errmsg, BASE_EIO, "%s: %s", path,
                  q->db ? sqlite3_errmsg(q->db) : "cannot open");
        sqlite3_close(q->db);
        base_free(q);
        return BASE_EIO;
    }
    /* WAL + NORMAL sync: a record is durable once the ledger transaction
     * that names its hash is, because callers put before they submit. */
    const char *schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS records ("
        " hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;";
    char *err = NULL;
    if (sqlite3_exec(q->db, schema, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_prepare_v2(q->db,
                           "INSERT OR IGNORE INTO records(hash,data) "
                           "VALUES(?,?)",
                           -1, &q->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(q->db, "SELECT data FROM records WHERE hash=?", -1,
                           &q->get, NULL) != SQLITE_OK) {
        base_errf(errmsg, BASE_EIO, "%s: %s", path,
                  err ? err : sqlite3_errmsg(q->db));
        sqlite3_free(err);
        sqlite3_finalize(q->put);
        sqlite3_finalize(q->get);
        sqlite3_close(q->db);
        base_free(q);
        return BASE_EIO;
    }
    pthread_mutex_init(&q->lock, NULL);
    *out = &q->base;
    return 0;
}
