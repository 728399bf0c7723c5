/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend of the off-chain record store (libpq). */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

/* One libpq connection; a PGconn may only be used by one thread at a time,
 * so each call takes one from the pool for its duration. */
struct pg_conn {
    PGconn *c;
    struct pg_conn *next; /* in the idle list */
};

struct pg_store {
    struct kv_offchain base; /* first, so the pointers convert */
    char *conninfo;          /* owned copy, for new connections */
    char where[160];         /* the connection options minus the password */
    pthread_mutex_t lock;    /* guards everything below and base.errmsg */
    pthread_cond_t freed;    /* a connection went back to the pool */
    struct pg_conn *idle;    /* connections no call is using */
    unsigned open;           /* connections open, idle or in use */
    unsigned max;            /* bound on open */
};

#define BYTEA_OID 17

/* Does the table exist (in the search path)? Asked first, because CREATE
 * TABLE IF NOT EXISTS needs the right to create even when there is
 * nothing to do, and a deployment may grant its role only SELECT and
 * INSERT on a table an administrator made. */
static const char exists_sql[] =
    "SELECT to_regclass('offchain_records') IS NOT NULL";
/* The table, keyed by the hash. The advisory lock serialises two openers
 * creating it at once (CREATE TABLE IF NOT EXISTS alone can still fail on
 * the catalog's unique index); the whole string is one implicit
 * transaction, so the lock goes with it. */
static const char schema_sql[] =
    "SELECT pg_advisory_xact_lock(7305480811230245);"
    "CREATE TABLE IF NOT EXISTS offchain_records ("
    " hash bytea PRIMARY KEY CHECK (octet_length(hash) = 32),"
    " data bytea NOT NULL)";
static const char put_sql[] = "INSERT INTO offchain_records (hash, data) "
                              "VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING";
static const char get_sql[] =
    "SELECT data FROM offchain_records WHERE hash = $1";

/* libpq's messages end in a newline and may span lines: one line. */
static void one_line(char *out, size_t size, const char *msg)
{
    size_t n = 0;
    for (const char *p = msg ? msg : ""; *p != '\0' && n + 1 < size; p++) {
        if (*p == '\n') {
            if (p[1] == '\0') {
                break;
            }
            if (n + 3 >= size) {
                break;
            }
            out[n++] = ';';
            out[n++] = ' ';
            while (p[1] == ' ' || p[1] == '\t') {
                p++;
            }
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* "host=... port=... dbname=... user=..." from the options libpq will use,
 * never the password. */
static int describe(char *out, size_t size, const char *conninfo, char *errmsg)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (opts == NULL) {
        char why[BASE_ERRMSG_SIZE];
        one_line(why, sizeof why, perr ? perr : "out of memory");
        int code = perr ? BASE_EINVAL : BASE_ENOMEM;
        PQfreemem(perr);
        return base_errf(errmsg, code, "bad PostgreSQL connection string: %s",
                         why);
    }
    static const char *const shown[] = {"host", "hostaddr", "port", "dbname",
                                        "user"};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < BASE_ARRAY_LEN(shown); i++) {
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
            if (strcmp(o->keyword, shown[i]) == 0 && o->val != NULL &&
                o->val[0] != '\0' && n < size) {
                int w = snprintf(out + n, size - n, "%s%s=%s", n ? " " : "",
                                 o->keyword, o->val);
                n += w > 0 ? (size_t)w : 0;
            }
        }
    }
    if (n == 0) {
        snprintf(out, size, "libpq defaults");
    }
    PQconninfoFree(opts);
    return 0;
}

/* Map a failed result to a code and a message naming @op. */
static int result_error(struct pg_store *q, PGconn *c, PGresult *r,
                        const char *op, char *msg)
{
    char why[BASE_ERRMSG_SIZE];
    one_line(why, sizeof why,
             r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c));
    if (why[0] == '\0') {
        one_line(why, sizeof why, PQerrorMessage(c));
    }
    if (PQstatus(c) != CONNECTION_OK) {
        return base_errf(msg, BASE_EIO,
                         "offchain %s: lost the connection to PostgreSQL "
                         "(%s): %s",
                         op, q->where, why);
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = BASE_EIO;
    if (state != NULL && strcmp(state, "42501") == 0) {
        code = BASE_EPERM; /* insufficient_privilege */
    } else if (state != NULL && strcmp(state, "53200") == 0) {
        code = BASE_ENOMEM; /* the server's out_of_memory */
    }
    return base_errf(msg, code, "offchain %s: PostgreSQL (%s): %s", op,
                     q->where, why);
}

static void conn_free(struct pg_conn *pc)
{
    if (pc != NULL) {
        PQfinish(pc->c);
        base_free(pc);
    }
}

/* Connect and prepare the statements; with @schema, create the table
 * first (the statements cannot be prepared before it exists). */
static int conn_new(struct pg_store *q, bool schema, struct pg_conn **out,
                    char *msg)
{
    struct pg_conn *pc = base_calloc(1, sizeof *pc);
    if (pc == NULL) {
        return base_errf(msg, BASE_ENOMEM, "out of memory");
    }
    pc->c = PQconnectdb(q->conninfo);
    char why[BASE_ERRMSG_SIZE];
    if (pc->c == NULL) {
        base_free(pc);
        return base_errf(msg, BASE_ENOMEM, "out of memory");
    }
    if (PQstatus(pc->c) != CONNECTION_OK) {
        one_line(why, sizeof why, PQerrorMessage(pc->c));
        conn_free(pc);
        return base_errf(msg, BASE_EIO, "cannot connect to PostgreSQL (%s): %s",
                         q->where, why);
    }
    PGresult *r = NULL;
    int rv = 0;
    if (schema) {
        r = PQexec(pc->c, exists_sql);
        bool exists = false;
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            rv = result_error(q, pc->c, r, "open", msg);
        } else {
            exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        }
        PQclear(r);
        if (rv == 0 && !exists) {
            r = PQexec(pc->c, schema_sql);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                rv = result_error(q, pc->c, r, "create table", msg);
            }
            PQclear(r);
        }
    }
    const Oid types[2] = {BYTEA_OID, BYTEA_OID};
    if (rv == 0) {
        r = PQprepare(pc->c, "gl_put", put_sql, 2, types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rv = result_error(q, pc->c, r, "prepare", msg);
        }
        PQclear(r);
    }
    if (rv == 0) {
        r = PQprepare(pc->c, "gl_get", get_sql, 1, types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rv = result_error(q, pc->c, r, "prepare", msg);
        }
        PQclear(r);
    }
    if (rv != 0) {
        conn_free(pc);
        return rv;
    }
    *out = pc;
    return 0;
}

/* Take an idle connection, or open one while fewer than max are open,
 * or wait for one to come back. */
static int acquire(struct pg_store *q, struct pg_conn **out, char *msg)
{
    pthread_mutex_lock(&q->lock);
    while (q->idle == NULL && q->open >= q->max) {
        pthread_cond_wait(&q->freed, &q->lock);
    }
    struct pg_conn *pc = q->idle;
    if (pc != NULL) {
        q->idle = pc->next;
        pthread_mutex_unlock(&q->lock);
        *out = pc;
        return 0;
    }
    q->open++; /* reserve the slot, connect outside the lock */
    pthread_mutex_unlock(&q->lock);
    int rv = conn_new(q, false, &pc, msg);
    if (rv != 0) {
        pthread_mutex_lock(&q->lock);
        q->open--;
        pthread_cond_signal(&q->freed);
        pthread_mutex_unlock(&q->lock);
        return rv;
    }
    *out = pc;
    return 0;
}

/* Give a connection back. A broken one is closed, and so are the idle
 * ones, which a server restart has broken too: the next calls connect
 * afresh instead of each failing once on a dead connection. */
static void release(struct pg_store *q, struct pg_conn *pc)
{
    struct pg_conn *dead = NULL;
    pthread_mutex_lock(&q->lock);
    if (PQstatus(pc->c) == CONNECTION_OK) {
        pc->next = q->idle;
        q->idle = pc;
    } else {
        pc->next = q->idle;
        dead = pc;
        for (struct pg_conn *d = dead; d != NULL; d = d->next) {
            q->open--;
        }
        q->idle = NULL;
    }
    pthread_cond_broadcast(&q->freed);
    pthread_mutex_unlock(&q->lock);
    while (dead != NULL) {
        struct pg_conn *next = dead->next;
        conn_free(dead);
        dead = next;
    }
}

static void set_errmsg(struct pg_store *q, const char *msg)
{
    pthread_mutex_lock(&q->lock);
    snprintf(q->base.errmsg, sizeof q->base.errmsg, "%s", msg);
    pthread_mutex_unlock(&q->lock);
}

enum op { OP_PUT, OP_GET };

/* One statement on a pooled connection. When the connection turns out to
 * be dead, retry once on a new one: both statements are idempotent. */
static int run(struct pg_store *q, enum op op, const char *const *vals,
               const int *lens, struct base_buf *out)
{
    static const int fmts[2] = {1, 1}; /* binary in, binary out */
    char msg[BASE_ERRMSG_SIZE];
    int rv = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct pg_conn *pc;
        rv = acquire(q, &pc, msg);
        if (rv != 0) {
            break;
        }
        PGresult *r = PQexecPrepared(pc->c, op == OP_PUT ? "gl_put" : "gl_get",
                                     op == OP_PUT ? 2 : 1, vals, lens, fmts, 1);
        ExecStatusType want = op == OP_PUT ? PGRES_COMMAND_OK : PGRES_TUPLES_OK;
        if (PQresultStatus(r) != want) {
            rv = result_error(q, pc->c, r, op == OP_PUT ? "put" : "get", msg);
        } else if (op == OP_GET && PQntuples(r) == 0) {
            rv = BASE_ENOTFOUND;
        } else if (op == OP_GET) {
            rv = base_buf_add(out, PQgetvalue(r, 0, 0),
                              (size_t)PQgetlength(r, 0, 0));
            if (rv != 0) {
                base_errf(msg, rv, "offchain get: out of memory");
            }
        }
        PQclear(r);
        bool lost = PQstatus(pc->c) != CONNECTION_OK;
        release(q, pc);
        if (!lost) {
            break;
        }
    }
    if (rv != 0 && rv != BASE_ENOTFOUND) {
        set_errmsg(q, msg);
    }
    return rv;
}

static int pg_put(struct kv_offchain *s, const void *data, size_t len,
                  struct cr_hash *hash)
{
    struct pg_store *q = (struct pg_store *)s;
    if (len > KV_OFFCHAIN_MAX_RECORD) {
        char msg[BASE_ERRMSG_SIZE];
        int rv = base_errf(msg, BASE_ETOOBIG,
                           "offchain put: %zu bytes, over the %u-byte limit",
                           len, KV_OFFCHAIN_MAX_RECORD);
        set_errmsg(q, msg);
        return rv;
    }
    struct cr_hash h;
    cr_sha256(&h, data, len);
    /* A NULL value would be SQL NULL: an empty record is "" with length 0. */
    const char *const vals[2] = {(const char *)h.b,
                                 data != NULL ? (const char *)data : ""};
    const int lens[2] = {CR_HASH_SIZE, (int)len};
    int rv = run(q, OP_PUT, vals, lens, NULL);
    if (rv == 0) {
        *hash = h;
    }
    return rv;
}

static int pg_get(struct kv_offchain *s, const struct cr_hash *hash,
                  struct base_buf *out)
{
    struct pg_store *q = (struct pg_store *)s;
    const char *const vals[1] = {(const char *)hash->b};
    const int lens[1] = {CR_HASH_SIZE};
    return run(q, OP_GET, vals, lens, out);
}

static void pg_close(struct kv_offchain *s)
{
    struct pg_store *q = (struct pg_store *)s;
    while (q->idle != NULL) {
        struct pg_conn *next = q->idle->next;
        conn_free(q->idle);
        q->idle = next;
    }
    pthread_cond_destroy(&q->freed);
    pthread_mutex_destroy(&q->lock);
    base_free(q->conninfo);
    base_free(q);
}

static const struct kv_offchain_ops pg_ops = {pg_put, pg_get, pg_close};

int kv_offchain_open_pg(struct kv_offchain **out, const char *conninfo,
                        unsigned max_conns, char *errmsg)
{
    if (max_conns > KV_PG_CONNS_MAX) {
        return base_errf(errmsg, BASE_EINVAL,
                         "at most %d PostgreSQL connections, not %u",
                         KV_PG_CONNS_MAX, max_conns);
    }
    struct pg_store *q = base_calloc(1, sizeof *q);
    if (q == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    q->base.ops = &pg_ops;
    q->max = max_conns ? max_conns : KV_PG_CONNS_DEFAULT;
    int rv = describe(q->where, sizeof q->where, conninfo, errmsg);
    if (rv != 0) {
        base_free(q);
        return rv;
    }
    q->conninfo = base_strdup(conninfo);
    if (q->conninfo == NULL) {
        base_free(q);
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    struct pg_conn *pc;
    rv = conn_new(q, true, &pc, errmsg);
    if (rv != 0) {
        base_free(q->conninfo);
        base_free(q);
        return rv;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->freed, NULL);
    q->idle = pc;
    q->open = 1;
    *out = &q->base;
    return 0;
}
