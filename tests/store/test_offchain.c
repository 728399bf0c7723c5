/* SPDX-License-Identifier: MIT */
/* Tests of the off-chain record store: one behavioural suite run against
 * both backends (SQLite, and a real PostgreSQL server started for this
 * executable), then PostgreSQL's own errors: bad connection strings, a
 * refused connection, a wrong password, missing rights, and the server
 * going away mid-use and coming back. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pgserver.h"
#include "store/store.h"
#include "testlib.h"

static struct tl_pg pg;
static char tmp[PATH_MAX];

struct backend {
    const char *name;
    bool pg;
};

static struct backend sqlite_be = {"sqlite", false};
static struct backend pg_be = {"postgresql", true};

/* A fresh, empty store of @b for one test: a new SQLite file, or a new
 * PostgreSQL database. Its spec goes to @spec (1024 bytes) and, for
 * PostgreSQL, the database name to @db. */
struct fresh {
    char spec[1024];
    char db[64];
    char file[PATH_MAX];
};

static struct kv_offchain *open_fresh(const struct backend *b, struct fresh *f)
{
    static int seq;
    seq++;
    memset(f, 0, sizeof *f);
    if (b->pg) {
        snprintf(f->db, sizeof f->db, "t%d", seq);
        tl_pg_createdb(&pg, f->db, f->spec);
    } else {
        snprintf(f->file, sizeof f->file, "%s/s%d.sqlite", tmp, seq);
        snprintf(f->spec, sizeof f->spec, "sqlite:%s", f->file);
    }
    struct kv_offchain *s = NULL;
    char err[BASE_ERRMSG_SIZE];
    int rv = kv_offchain_open_uri(&s, f->spec, NULL, err);
    if (rv != 0) {
        fail_msg("open %s: %s", f->spec, err);
    }
    return s;
}

/* Runs @sql directly on the backend's table (behind the store's back). */
static long backend_sql(const struct backend *b, const struct fresh *f,
                        const char *sql)
{
    if (b->pg) {
        char out[4096];
        assert_int_equal(tl_pg_sql(&pg, f->db, out, sizeof out, sql), 0);
        return strtol(out, NULL, 10);
    }
    sqlite3 *q;
    assert_int_equal(sqlite3_open(f->file, &q), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(q, sql, -1, &st, NULL), SQLITE_OK);
    long v = -1;
    int rc = sqlite3_step(st);
    assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
    if (rc == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    } else {
        v = sqlite3_changes(q);
    }
    sqlite3_finalize(st);
    sqlite3_close(q);
    return v;
}

static long count_rows(const struct backend *b, const struct fresh *f)
{
    return backend_sql(b, f,
                       b->pg ? "SELECT count(*) FROM offchain_records"
                             : "SELECT count(*) FROM records");
}

/* Deterministic bytes: record @i of @n bytes. */
static void fill(uint8_t *p, size_t n, uint32_t i)
{
    uint32_t x = 2463534242u ^ (i * 2654435761u);
    for (size_t k = 0; k < n; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[k] = (uint8_t)x;
    }
}

/* ---- the behavioural suite, once per backend ------------------------- */

static void test_put_get(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    struct cr_hash h, want;
    assert_int_equal(kv_offchain_put(s, "record-1", 8, &h), 0);
    cr_sha256(&want, "record-1", 8);
    assert_memory_equal(h.b, want.b, CR_HASH_SIZE);
    /* get appends to what the buffer holds. */
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(base_buf_add(&out, "X", 1), 0);
    assert_int_equal(kv_offchain_get(s, &h, &out), 0);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.data, "Xrecord-1", 9);
    base_buf_release(&out);
    kv_offchain_close(s);
}

static void test_idempotent(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    struct cr_hash h1, h2, h3;
    assert_int_equal(kv_offchain_put(s, "same bytes", 10, &h1), 0);
    assert_int_equal(kv_offchain_put(s, "same bytes", 10, &h2), 0);
    assert_memory_equal(h1.b, h2.b, CR_HASH_SIZE);
    assert_int_equal(count_rows(b, &f), 1);
    assert_int_equal(kv_offchain_put(s, "other bytes", 11, &h3), 0);
    assert_memory_not_equal(h1.b, h3.b, CR_HASH_SIZE);
    assert_int_equal(count_rows(b, &f), 2);
    kv_offchain_close(s);
}

static void test_not_found(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    struct cr_hash h;
    cr_sha256(&h, "never stored", 12);
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(base_buf_add(&out, "kept", 4), 0);
    assert_int_equal(kv_offchain_get(s, &h, &out), BASE_ENOTFOUND);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "kept", 4);
    base_buf_release(&out);
    kv_offchain_close(s);
}

static void test_binary(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    /* Every byte value, NULs and invalid UTF-8 included. */
    uint8_t all[512];
    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (uint8_t)(i * 7);
    }
    struct cr_hash h, e1, e2;
    assert_int_equal(kv_offchain_put(s, all, sizeof all, &h), 0);
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(kv_offchain_get(s, &h, &out), 0);
    assert_int_equal(out.len, sizeof all);
    assert_memory_equal(out.data, all, sizeof all);
    /* The empty record, with or without a pointer: stored, found, empty. */
    assert_int_equal(kv_offchain_put(s, NULL, 0, &e1), 0);
    assert_int_equal(kv_offchain_put(s, "", 0, &e2), 0);
    assert_memory_equal(e1.b, e2.b, CR_HASH_SIZE);
    base_buf_reset(&out);
    assert_int_equal(kv_offchain_get(s, &e1, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(count_rows(b, &f), 2);
    base_buf_release(&out);
    kv_offchain_close(s);
}

static void test_large(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    size_t n = KV_OFFCHAIN_MAX_RECORD; /* the largest taken: 256 KiB */
    uint8_t *big = base_malloc(n);
    assert_non_null(big);
    fill(big, n, 42);
    struct cr_hash h;
    assert_int_equal(kv_offchain_put(s, big, n, &h), 0);
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(kv_offchain_get(s, &h, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, big, n);
    base_buf_release(&out);
    base_free(big);
    /* Over the limit: refused before anything is read or sent. The pages
     * of calloc'd memory are never touched, so this costs nothing. */
    uint8_t *huge = base_calloc(1, KV_OFFCHAIN_MAX_RECORD + 1u);
    assert_non_null(huge);
    struct cr_hash untouched = {{0}};
    assert_int_equal(
        kv_offchain_put(s, huge, KV_OFFCHAIN_MAX_RECORD + 1u, &untouched),
        BASE_ETOOBIG);
    assert_non_null(strstr(s->errmsg, "limit"));
    static const struct cr_hash zero = {{0}};
    assert_memory_equal(untouched.b, zero.b, CR_HASH_SIZE);
    base_free(huge);
    assert_int_equal(count_rows(b, &f), 1);
    kv_offchain_close(s);
}

static void test_many_and_reopen(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    enum { N = 1500 };
    static struct cr_hash hs[N];
    uint8_t buf[2048];
    for (uint32_t i = 0; i < N; i++) {
        size_t n = 1 + i % sizeof buf;
        fill(buf, n, i);
        assert_int_equal(kv_offchain_put(s, buf, n, &hs[i]), 0);
    }
    kv_offchain_close(s);
    /* Everything is still there for a new opener. */
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_offchain_open_uri(&s, f.spec, NULL, err), 0);
    struct base_buf out;
    base_buf_init(&out, 0);
    for (uint32_t i = 0; i < N; i++) {
        size_t n = 1 + i % sizeof buf;
        fill(buf, n, i);
        base_buf_reset(&out);
        assert_int_equal(kv_offchain_get(s, &hs[i], &out), 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, buf, n);
    }
    base_buf_release(&out);
    assert_int_equal(count_rows(b, &f), N);
    kv_offchain_close(s);
}

struct worker {
    struct kv_offchain *s;
    uint32_t id;
    int failures;
};

/* Each thread puts its own records and one shared record, and reads all
 * of them back, at the same time as the others. */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct base_buf out;
    base_buf_init(&out, 0);
    uint8_t buf[300];
    for (uint32_t i = 0; i < 150; i++) {
        uint32_t id = i % 10 == 0 ? 999999 : w->id * 1000 + i;
        fill(buf, sizeof buf, id);
        struct cr_hash h;
        base_buf_reset(&out);
        if (kv_offchain_put(w->s, buf, sizeof buf, &h) != 0 ||
            kv_offchain_get(w->s, &h, &out) != 0 || out.len != sizeof buf ||
            memcmp(out.data, buf, sizeof buf) != 0) {
            w->failures++;
        }
    }
    base_buf_release(&out);
    return NULL;
}

static void test_threads(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    enum { T = 8 };
    pthread_t th[T];
    struct worker w[T];
    for (uint32_t i = 0; i < T; i++) {
        w[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    /* 135 own records per thread and the one they share. */
    assert_int_equal(count_rows(b, &f), T * 135 + 1);
    kv_offchain_close(s);
}

/* A row changed behind the store's back comes back as it is now: the
 * store does not hide it (the caller checks the hash and reports it), and
 * putting the genuine bytes again does not overwrite it. */
static void test_tamper(void **state)
{
    const struct backend *b = *state;
    struct fresh f;
    struct kv_offchain *s = open_fresh(b, &f);
    const char *rec = "{\"der\":\"pv1\",\"kw\":50}";
    struct cr_hash h;
    assert_int_equal(kv_offchain_put(s, rec, strlen(rec), &h), 0);
    assert_int_equal(backend_sql(b, &f,
                                 b->pg ? "WITH u AS (UPDATE offchain_records "
                                         "SET data = 'forged'::bytea "
                                         "RETURNING 1) SELECT count(*) FROM u"
                                       : "UPDATE records SET data = "
                                         "CAST('forged' AS BLOB)"),
                     1);
    struct base_buf out;
    base_buf_init(&out, 0);
    assert_int_equal(kv_offchain_get(s, &h, &out), 0);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.data, "forged", 6);
    struct cr_hash got;
    cr_sha256(&got, out.data, out.len);
    assert_memory_not_equal(got.b, h.b, CR_HASH_SIZE);
    struct cr_hash again;
    assert_int_equal(kv_offchain_put(s, rec, strlen(rec), &again), 0);
    base_buf_reset(&out);
    assert_int_equal(kv_offchain_get(s, &h, &out), 0);
    assert_memory_equal(out.data, "forged", 6);
    base_buf_release(&out);
    kv_offchain_close(s);
}

/* ---- specs ------------------------------------------------------------ */

static void test_spec(void **state)
{
    (void)state;
    char err[BASE_ERRMSG_SIZE], dir[PATH_MAX], path[PATH_MAX + 32];
    tl_tmpdir(dir, "spec");
    struct kv_offchain *s = NULL;
    /* A relative path is taken in the base dir, with or without sqlite:. */
    assert_int_equal(kv_offchain_open_uri(&s, "a.sqlite", dir, err), 0);
    kv_offchain_close(s);
    assert_int_equal(kv_offchain_open_uri(&s, "sqlite:b.sqlite", dir, err), 0);
    kv_offchain_close(s);
    snprintf(path, sizeof path, "sqlite:%s/c.sqlite", dir);
    assert_int_equal(kv_offchain_open_uri(&s, path, "/nonexistent", err), 0);
    kv_offchain_close(s);
    const char *files[] = {"a.sqlite", "b.sqlite", "c.sqlite"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(access(path, F_OK), 0);
    }
    /* postgres:// is the other spelling of postgresql:// */
    char uri[1024];
    snprintf(uri, sizeof uri,
             "postgres://gridledger:%s@127.0.0.1:%d/gridledger", pg.password,
             pg.port);
    assert_int_equal(kv_offchain_open_uri(&s, uri, dir, err), 0);
    kv_offchain_close(s);

    struct {
        const char *spec;
        const char *msg;
    } bad[] = {
        {"", "empty"},
        {"sqlite:", "names no file"},
        {"mysql://root:hunter2@db/x", "unknown store 'mysql://"},
        {"/nonexistent/dir/x.sqlite", "/nonexistent/dir/x.sqlite"},
    };
    for (size_t i = 0; i < BASE_ARRAY_LEN(bad); i++) {
        s = NULL;
        int rv = kv_offchain_open_uri(&s, bad[i].spec, dir, err);
        assert_true(rv == BASE_EINVAL || rv == BASE_EIO);
        assert_null(s);
        if (strstr(err, bad[i].msg) == NULL) {
            fail_msg("'%s': '%s' lacks '%s'", bad[i].spec, err, bad[i].msg);
        }
        assert_null(strstr(err, "hunter2"));
    }
    assert_int_equal(kv_offchain_open_uri(&s, NULL, dir, err), BASE_EINVAL);
    tl_rmrf(dir);
}

static void test_redact(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
        {"postgres://u:p@ss@h/db", "postgres://u:***@h/db"},
        {"postgresql://u@h/db?password=x&sslmode=disable",
         "postgresql://u@h/db?password=***&sslmode=disable"},
        {"postgresql://h/db?sslmode=disable&password=x",
         "postgresql://h/db?sslmode=disable&password=***"},
        {"postgresql:///db", "postgresql:///db"},
        {"sqlite:/a/b:c@d", "sqlite:/a/b:c@d"},
        {"offchain.sqlite", "offchain.sqlite"},
    };
    char out[256];
    for (size_t i = 0; i < BASE_ARRAY_LEN(cases); i++) {
        kv_offchain_spec_redact(out, sizeof out, cases[i].in);
        assert_string_equal(out, cases[i].out);
    }
    kv_offchain_spec_redact(out, 12, "postgresql://u:secret@h/db");
    assert_string_equal(out, "postgresql:");
}

/* ---- PostgreSQL's own errors ----------------------------------------- */

static void test_pg_bad_conninfo(void **state)
{
    (void)state;
    char err[BASE_ERRMSG_SIZE];
    struct kv_offchain *s = NULL;
    assert_int_equal(kv_offchain_open_pg(&s,
                                         "host=127.0.0.1 colour=blue "
                                         "password=hunter2",
                                         0, err),
                     BASE_EINVAL);
    assert_non_null(strstr(err, "colour"));
    assert_null(strstr(err, "hunter2"));
    assert_int_equal(kv_offchain_open_pg(&s, "postgresql://[::1", 0, err),
                     BASE_EINVAL);
    assert_int_equal(kv_offchain_open_pg(&s, pg.uri, KV_PG_CONNS_MAX + 1, err),
                     BASE_EINVAL);
    assert_null(s);
}

static void test_pg_refused(void **state)
{
    (void)state;
    char uri[512], err[BASE_ERRMSG_SIZE];
    int port = tl_free_port();
    snprintf(uri, sizeof uri,
             "postgresql://gridledger:hunter2@127.0.0.1:%d/gridledger", port);
    struct kv_offchain *s = NULL;
    assert_int_equal(kv_offchain_open_uri(&s, uri, NULL, err), BASE_EIO);
    assert_null(s);
    char where[128];
    snprintf(where, sizeof where,
             "(host=127.0.0.1 port=%d dbname=gridledger user=gridledger)",
             port);
    if (strstr(err, "cannot connect to PostgreSQL") == NULL ||
        strstr(err, where) == NULL || strstr(err, "refused") == NULL) {
        fail_msg("unclear: %s", err);
    }
    assert_null(strstr(err, "hunter2"));
}

static void test_pg_auth(void **state)
{
    (void)state;
    char uri[512], err[BASE_ERRMSG_SIZE];
    struct kv_offchain *s = NULL;
    snprintf(uri, sizeof uri,
             "postgresql://gridledger:wrong-%s@127.0.0.1:%d/gridledger",
             pg.password, pg.port);
    assert_int_equal(kv_offchain_open_uri(&s, uri, NULL, err), BASE_EIO);
    assert_non_null(strstr(err, "password authentication failed"));
    assert_null(strstr(err, pg.password));
    snprintf(uri, sizeof uri,
             "postgresql://gridledger:%s@127.0.0.1:%d/no_such_db", pg.password,
             pg.port);
    assert_int_equal(kv_offchain_open_uri(&s, uri, NULL, err), BASE_EIO);
    assert_non_null(strstr(err, "no_such_db"));
    assert_null(s);
}

/* A role that may read the table but not write it, and one that may not
 * create it in a database where it does not exist yet. */
static void test_pg_rights(void **state)
{
    (void)state;
    char out[1024], uri[512], err[BASE_ERRMSG_SIZE];
    struct fresh f;
    struct kv_offchain *owner = open_fresh(&pg_be, &f);
    struct cr_hash h;
    assert_int_equal(kv_offchain_put(owner, "kept", 4, &h), 0);
    assert_int_equal(tl_pg_sql(&pg, f.db, out, sizeof out,
                               "CREATE ROLE reader LOGIN PASSWORD 'readpw'; "
                               "GRANT SELECT ON offchain_records TO reader"),
                     0);
    snprintf(uri, sizeof uri, "postgresql://reader:readpw@127.0.0.1:%d/%s",
             pg.port, f.db);
    struct kv_offchain *s = NULL;
    assert_int_equal(kv_offchain_open_uri(&s, uri, NULL, err), 0);
    struct base_buf b;
    base_buf_init(&b, 0);
    assert_int_equal(kv_offchain_get(s, &h, &b), 0);
    assert_int_equal(b.len, 4);
    base_buf_release(&b);
    struct cr_hash h2;
    assert_int_equal(kv_offchain_put(s, "new", 3, &h2), BASE_EPERM);
    assert_non_null(strstr(s->errmsg, "permission denied"));
    kv_offchain_close(s);
    kv_offchain_close(owner);

    char db2uri[512];
    tl_pg_createdb(&pg, "norights", db2uri);
    snprintf(uri, sizeof uri,
             "postgresql://reader:readpw@127.0.0.1:%d/norights", pg.port);
    s = NULL;
    assert_int_equal(kv_offchain_open_uri(&s, uri, NULL, err), BASE_EPERM);
    assert_non_null(strstr(err, "create table"));
    assert_null(s);
}

/* The server stops under an open store: calls fail with BASE_EIO and a
 * reason, nothing crashes; when it is back the same store carries on. */
static void test_pg_server_gone(void **state)
{
    (void)state;
    struct tl_pg own;
    tl_pg_start(&own);
    char err[BASE_ERRMSG_SIZE];
    struct kv_offchain *s;
    assert_int_equal(kv_offchain_open_pg(&s, own.uri, 2, err), 0);
    struct cr_hash h, h2;
    assert_int_equal(kv_offchain_put(s, "before", 6, &h), 0);
    tl_pg_halt(&own);
    assert_int_equal(kv_offchain_put(s, "during", 6, &h2), BASE_EIO);
    assert_non_null(strstr(s->errmsg, "PostgreSQL"));
    assert_null(strstr(s->errmsg, own.password));
    struct base_buf b;
    base_buf_init(&b, 0);
    assert_int_equal(kv_offchain_get(s, &h, &b), BASE_EIO);
    assert_int_equal(b.len, 0);
    assert_non_null(strstr(s->errmsg, "cannot connect"));
    tl_pg_resume(&own);
    assert_int_equal(kv_offchain_get(s, &h, &b), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "before", 6);
    assert_int_equal(kv_offchain_put(s, "after", 5, &h2), 0);
    base_buf_release(&b);
    kv_offchain_close(s);
    tl_pg_stop(&own);
}

/* One connection for eight threads: the pool makes them take turns. */
static void test_pg_one_conn(void **state)
{
    (void)state;
    char uri[512], err[BASE_ERRMSG_SIZE];
    tl_pg_createdb(&pg, "onepool", uri);
    struct kv_offchain *s;
    assert_int_equal(kv_offchain_open_pg(&s, uri, 1, err), 0);
    pthread_t th[8];
    struct worker w[8];
    for (uint32_t i = 0; i < 8; i++) {
        w[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    kv_offchain_close(s);
}

/* Out of memory at each allocation of open, put and get: BASE_ENOMEM,
 * nothing leaked (ASan), nothing half-open. */
static void test_pg_oom(void **state)
{
    (void)state;
    char err[BASE_ERRMSG_SIZE];
    struct kv_offchain *s = NULL;
    int rv = BASE_ENOMEM;
    int n = 0;
    for (; rv != 0 && n < 50; n++) {
        base_alloc_fault(n, 1);
        rv = kv_offchain_open_pg(&s, pg.uri, 1, err);
        base_alloc_fault(-1, 0);
        if (rv != 0) {
            assert_int_equal(rv, BASE_ENOMEM);
            assert_null(s);
        }
    }
    assert_int_equal(rv, 0);
    assert_true(n > 1);
    struct cr_hash h;
    assert_int_equal(kv_offchain_put(s, "x", 1, &h), 0);
    struct base_buf b;
    base_buf_init(&b, 0);
    base_alloc_fault(0, 1);
    rv = kv_offchain_get(s, &h, &b);
    base_alloc_fault(-1, 0);
    assert_int_equal(rv, BASE_ENOMEM);
    assert_int_equal(b.len, 0);
    kv_offchain_close(s);
}

static int setup(void **state)
{
    (void)state;
    tl_tmpdir(tmp, "offchain");
    tl_pg_start(&pg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tl_pg_stop(&pg);
    tl_rmrf(tmp);
    return 0;
}

#define BOTH(fn)                                                               \
    cmocka_unit_test_prestate(fn, &sqlite_be),                                 \
        cmocka_unit_test_prestate(fn, &pg_be)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_put_get),
        BOTH(test_idempotent),
        BOTH(test_not_found),
        BOTH(test_binary),
        BOTH(test_large),
        BOTH(test_many_and_reopen),
        BOTH(test_threads),
        BOTH(test_tamper),
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_pg_bad_conninfo),
        cmocka_unit_test(test_pg_refused),
        cmocka_unit_test(test_pg_auth),
        cmocka_unit_test(test_pg_rights),
        cmocka_unit_test(test_pg_server_gone),
        cmocka_unit_test(test_pg_one_conn),
        cmocka_unit_test(test_pg_oom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
