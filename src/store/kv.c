/* SPDX-License-Identifier: MIT */
/* The LMDB environment, with LMDB's codes mapped to BASE_E* codes. */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store/store.h"

/* Ended read transactions kept for reuse. mdb_txn_begin allocates and
 * zeroes room for every possible database (50 KiB with 1,024 of them) and
 * takes a reader slot under a lock each time; a reset handle is renewed
 * with neither. The ledger reads once per admitted transaction (the replay
 * check), so this was a tenth of admission's work besides the signatures. */
#define KV_READ_POOL 64

struct kv_env {
    MDB_env *env;
    atomic_bool panicked; /* a fatal error happened: refuse writes */
    atomic_bool nospace;  /* the last write ran out of space */
    /* Why writes are refused or failing (under pool_lock): the first fatal
     * error, or the last out-of-space one, for readiness and metrics. */
    char why[BASE_ERRMSG_SIZE];
    pthread_mutex_t pool_lock;
    size_t npool;
    struct kv_txn *pool[KV_READ_POOL]; /* reset read transactions */
};

struct kv_txn {
    struct kv_env *env;
    MDB_txn *txn;
    bool write;
};

struct kv_cursor {
    MDB_cursor *cur;
};

/* The one place LMDB codes become ours. */
static int map_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return BASE_ENOTFOUND;
    case MDB_KEYEXIST:
        return BASE_EEXIST;
    case MDB_MAP_FULL:
    case ENOSPC:
        return BASE_ENOSPC;
    case MDB_DBS_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
        return BASE_EFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return BASE_ECORRUPT;
    case MDB_PANIC:
        return BASE_EPANIC;
    case MDB_BAD_VALSIZE:
    case EINVAL:
        return BASE_EINVAL;
    case ENOMEM:
        return BASE_ENOMEM;
    case ENOENT:
        return BASE_ENOTFOUND;
    default:
        return BASE_EIO;
    }
}

int kv_env_open(struct kv_env **out, const char *dir,
                const struct kv_env_options *opt, char *errmsg)
{
    struct kv_env_options def = {0};
    if (opt == NULL) {
        opt = &def;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return base_errf(errmsg, BASE_ENOTFOUND, "%s: no such directory", dir);
    }
    struct kv_env *e = base_calloc(1, sizeof *e);
    if (e == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    int rc = mdb_env_create(&e->env);
    if (rc != 0) {
        base_free(e);
        return base_errf(errmsg, map_err(rc), "lmdb: %s", mdb_strerror(rc));
    }
    uint64_t map = opt->map_size ? opt->map_size : (uint64_t)64 << 30;
    mdb_env_set_mapsize(e->env, (size_t)map);
    mdb_env_set_maxdbs(e->env, opt->max_dbs ? opt->max_dbs : 1024);
    mdb_env_set_maxreaders(e->env, 512);
    /* MDB_NOTLS: read transactions are not tied to threads, so a reader may
     * hand a snapshot to a worker. Durability stays the default: every
     * commit is synced before it returns. */
    unsigned flags = MDB_NOTLS | (opt->read_only ? MDB_RDONLY : 0);
    rc = mdb_env_open(e->env, dir, flags, 0600);
    if (rc != 0) {
        int err = map_err(rc);
        base_errf(errmsg, err, "%s: cannot open ledger store: %s", dir,
                  mdb_strerror(rc));
        mdb_env_close(e->env);
        base_free(e);
        return err;
    }
    pthread_mutex_init(&e->pool_lock, NULL);
    *out = e;
    return 0;
}

void kv_env_close(struct kv_env *env)
{
    if (env != NULL) {
        for (size_t i = 0; i < env->npool; i++) {
            mdb_txn_abort(env->pool[i]->txn);
            base_free(env->pool[i]);
        }
        pthread_mutex_destroy(&env->pool_lock);
        mdb_env_close(env->env);
        base_free(env);
    }
}

uint64_t kv_env_used(struct kv_env *env)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env->env, &info) != 0 || mdb_env_stat(env->env, &st)) {
        return 0;
    }
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

/* Say why writes stop: what failed, LMDB's words for it, and how full the
 * store's filesystem is, since a full disk is the usual cause and the one
 * an operator can fix. @fatal: refused until a restart, else until a write
 * succeeds. Only the first fatal error is kept (later ones follow from it). */
static void refuse_writes(struct kv_env *env, bool fatal, const char *what,
                          int rc)
{
    const char *path = NULL;
    char disk[BASE_ERRMSG_SIZE / 2] = "";
    struct statvfs vfs;
    if (mdb_env_get_path(env->env, &path) == 0 && path != NULL &&
        statvfs(path, &vfs) == 0) {
        unsigned long long avail =
            (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024;
        unsigned long long total =
            (unsigned long long)vfs.f_blocks * vfs.f_frsize / 1024;
        /* Under a few pages free LMDB cannot write a commit's pages. */
        snprintf(disk, sizeof disk,
                 avail < 64 ? "; the disk is full (%llu KiB free of %llu)"
                            : "; %llu KiB free of %llu on the disk",
                 avail, total);
    }
    pthread_mutex_lock(&env->pool_lock);
    if (!atomic_load(&env->panicked)) {
        snprintf(env->why, sizeof env->why, "%s failed: %s%s; %s", what,
                 mdb_strerror(rc), disk,
                 fatal ? "writes are refused until the node restarts "
                         "(committed blocks are intact)"
                       : "writes fail until there is room");
        atomic_store(fatal ? &env->panicked : &env->nospace, true);
    }
    pthread_mutex_unlock(&env->pool_lock);
}

int kv_env_refusal(struct kv_env *env, char *why)
{
    if (!atomic_load(&env->panicked) && !atomic_load(&env->nospace)) {
        return 0;
    }
    pthread_mutex_lock(&env->pool_lock);
    int rv = atomic_load(&env->panicked)  ? BASE_EPANIC
             : atomic_load(&env->nospace) ? BASE_ENOSPC
                                          : 0;
    if (why != NULL) {
        snprintf(why, BASE_ERRMSG_SIZE, "%s", rv != 0 ? env->why : "");
    }
    pthread_mutex_unlock(&env->pool_lock);
    return rv;
}

/* A pooled read transaction renewed on the current snapshot, or NULL. */
static struct kv_txn *renew_pooled(struct kv_env *env)
{
    pthread_mutex_lock(&env->pool_lock);
    struct kv_txn *t = env->npool > 0 ? env->pool[--env->npool] : NULL;
    pthread_mutex_unlock(&env->pool_lock);
    if (t != NULL && mdb_txn_renew(t->txn) != 0) {
        /* Whatever went wrong, a fresh transaction reports it. */
        mdb_txn_abort(t->txn);
        base_free(t);
        t = NULL;
    }
    return t;
}

int kv_txn_begin(struct kv_env *env, bool write, struct kv_txn **out)
{
    if (write && atomic_load(&env->panicked)) {
        return BASE_EPANIC;
    }
    if (!write && (*out = renew_pooled(env)) != NULL) {
        return 0;
    }
    struct kv_txn *t = base_malloc(sizeof *t);
    if (t == NULL) {
        return BASE_ENOMEM;
    }
    int rc = mdb_txn_begin(env->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc != 0) {
        base_free(t);
        if (rc == MDB_PANIC) {
            refuse_writes(env, true, "beginning a write", rc);
        }
        return map_err(rc);
    }
    t->env = env;
    t->write = write;
    *out = t;
    return 0;
}

int kv_txn_begin_child(struct kv_txn *parent, struct kv_txn **out)
{
    if (atomic_load(&parent->env->panicked)) {
        return BASE_EPANIC;
    }
    struct kv_txn *t = base_malloc(sizeof *t);
    if (t == NULL) {
        return BASE_ENOMEM;
    }
    int rc = mdb_txn_begin(parent->env->env, parent->txn, 0, &t->txn);
    if (rc != 0) {
        base_free(t);
        return map_err(rc);
    }
    t->env = parent->env;
    t->write = true;
    *out = t;
    return 0;
}

int kv_txn_commit(struct kv_txn *txn)
{
    int rc = mdb_txn_commit(txn->txn);
    if (rc != 0 && rc != MDB_MAP_FULL && rc != ENOSPC) {
        /* A failed sync leaves us unsure what reached the disk. */
        refuse_writes(txn->env, true, "a commit", rc);
    } else if (rc != 0) {
        refuse_writes(txn->env, false, "a commit", rc);
    } else if (txn->write && atomic_load(&txn->env->nospace)) {
        atomic_store(&txn->env->nospace, false);
    }
    base_free(txn);
    return map_err(rc);
}

void kv_txn_abort(struct kv_txn *txn)
{
    if (txn == NULL) {
        return;
    }
    if (!txn->write) {
        /* Reset keeps the handle (and its reader slot) for the next
         * reader; like an abort it releases the snapshot and closes the
         * database handles this transaction opened. */
        struct kv_env *env = txn->env;
        mdb_txn_reset(txn->txn);
        pthread_mutex_lock(&env->pool_lock);
        bool kept = env->npool < KV_READ_POOL;
        if (kept) {
            env->pool[env->npool++] = txn;
        }
        pthread_mutex_unlock(&env->pool_lock);
        if (kept) {
            return;
        }
    }
    mdb_txn_abort(txn->txn);
    base_free(txn);
}

int kv_dbi_open(struct kv_txn *txn, const char *name, bool create, kv_dbi *out)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn->txn, name, create ? MDB_CREATE : 0, &dbi);
    if (rc != 0) {
        return map_err(rc);
    }
    *out = dbi;
    return 0;
}

int kv_dbi_clear(struct kv_txn *txn, kv_dbi dbi)
{
    return map_err(mdb_drop(txn->txn, dbi, 0));
}

int kv_get(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
           struct kv_val *val)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn->txn, dbi, &k, &v);
    if (rc != 0) {
        return map_err(rc);
    }
    val->data = v.mv_data;
    val->len = v.mv_size;
    return 0;
}

static int put(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
               const void *val, size_t vlen, unsigned flags)
{
    if (klen == 0 || klen > 511) {
        return BASE_EINVAL;
    }
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(txn->txn, dbi, &k, &v, flags);
    if (rc == MDB_KEYEXIST) {
        return BASE_EINVAL;
    }
    if (rc == MDB_MAP_FULL) {
        refuse_writes(txn->env, false, "a write", rc);
    }
    return map_err(rc);
}

int kv_put(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
           const void *val, size_t vlen)
{
    return put(txn, dbi, key, klen, val, vlen, 0);
}

int kv_append(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen)
{
    return put(txn, dbi, key, klen, val, vlen, MDB_APPEND);
}

int kv_del(struct kv_txn *txn, kv_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    return map_err(mdb_del(txn->txn, dbi, &k, NULL));
}

int kv_cursor_open(struct kv_txn *txn, kv_dbi dbi, struct kv_cursor **out)
{
    struct kv_cursor *c = base_malloc(sizeof *c);
    if (c == NULL) {
        return BASE_ENOMEM;
    }
    int rc = mdb_cursor_open(txn->txn, dbi, &c->cur);
    if (rc != 0) {
        base_free(c);
        return map_err(rc);
    }
    *out = c;
    return 0;
}

void kv_cursor_close(struct kv_cursor *c)
{
    if (c != NULL) {
        mdb_cursor_close(c->cur);
        base_free(c);
    }
}

static int cursor_get(struct kv_cursor *c, MDB_val *k, MDB_cursor_op op,
                      struct kv_val *ko, struct kv_val *vo)
{
    MDB_val v;
    int rc = mdb_cursor_get(c->cur, k, &v, op);
    if (rc != 0) {
        return map_err(rc);
    }
    if (ko != NULL) {
        ko->data = k->mv_data;
        ko->len = k->mv_size;
    }
    if (vo != NULL) {
        vo->data = v.mv_data;
        vo->len = v.mv_size;
    }
    return 0;
}

int kv_cursor_seek(struct kv_cursor *c, const void *key, size_t klen,
                   struct kv_val *k, struct kv_val *v)
{
    MDB_val mk = {klen, (void *)key};
    if (key == NULL || klen == 0) {
        return cursor_get(c, &mk, MDB_FIRST, k, v);
    }
    return cursor_get(c, &mk, MDB_SET_RANGE, k, v);
}

int kv_cursor_next(struct kv_cursor *c, struct kv_val *k, struct kv_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, MDB_NEXT, k, v);
}

int kv_cursor_last(struct kv_cursor *c, struct kv_val *k, struct kv_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, MDB_LAST, k, v);
}
