/* SPDX-License-Identifier: MIT */
/* Tests of store: the LMDB layer and the SQLite off-chain store. */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "testlib.h"

static void test_kv_basic(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "kv");
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, dir, NULL, err), 0);
    struct kv_txn *t;
    kv_dbi db;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_dbi_open(t, "things", true, &db), 0);
    assert_int_equal(kv_put(t, db, "b", 1, "2", 1), 0);
    assert_int_equal(kv_put(t, db, "a", 1, "1", 1), 0);
    assert_int_equal(kv_put(t, db, "c", 1, "3", 1), 0);
    assert_int_equal(kv_put(t, db, "", 0, "x", 1), BASE_EINVAL);
    assert_int_equal(kv_append(t, db, "a0", 2, "x", 1), BASE_EINVAL);
    assert_int_equal(kv_txn_commit(t), 0);

    /* An aborted write leaves nothing behind. */
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_put(t, db, "d", 1, "4", 1), 0);
    kv_txn_abort(t);

    assert_int_equal(kv_txn_begin(env, false, &t), 0);
    struct kv_val k, v;
    assert_int_equal(kv_get(t, db, "a", 1, &v), 0);
    assert_int_equal(v.len, 1);
    assert_memory_equal(v.data, "1", 1);
    assert_int_equal(kv_get(t, db, "d", 1, &v), BASE_ENOTFOUND);
    struct kv_cursor *c;
    assert_int_equal(kv_cursor_open(t, db, &c), 0);
    assert_int_equal(kv_cursor_seek(c, "b", 1, &k, &v), 0);
    assert_memory_equal(k.data, "b", 1);
    assert_int_equal(kv_cursor_next(c, &k, &v), 0);
    assert_memory_equal(k.data, "c", 1);
    assert_int_equal(kv_cursor_next(c, &k, &v), BASE_ENOTFOUND);
    assert_int_equal(kv_cursor_last(c, &k, &v), 0);
    assert_memory_equal(k.data, "c", 1);
    kv_cursor_close(c);
    assert_int_equal(kv_dbi_open(t, "missing", false, &db), BASE_ENOTFOUND);
    kv_txn_abort(t);
    kv_env_close(env);
    tl_rmrf(dir);
}

static void test_kv_nested(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "kvnest");
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, dir, NULL, err), 0);
    struct kv_txn *t, *child;
    kv_dbi db;
    struct kv_val v;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_dbi_open(t, "n", true, &db), 0);
    assert_int_equal(kv_put(t, db, "p", 1, "1", 1), 0);
    /* A child sees its parent's writes; aborted, its own vanish. */
    assert_int_equal(kv_txn_begin_child(t, &child), 0);
    assert_int_equal(kv_get(child, db, "p", 1, &v), 0);
    assert_int_equal(kv_put(child, db, "c", 1, "2", 1), 0);
    kv_txn_abort(child);
    assert_int_equal(kv_get(t, db, "c", 1, &v), BASE_ENOTFOUND);
    /* Committed, they become the parent's, durable with it. */
    assert_int_equal(kv_txn_begin_child(t, &child), 0);
    assert_int_equal(kv_put(child, db, "c", 1, "3", 1), 0);
    assert_int_equal(kv_txn_commit(child), 0);
    assert_int_equal(kv_get(t, db, "c", 1, &v), 0);
    assert_int_equal(kv_txn_commit(t), 0);
    assert_int_equal(kv_txn_begin(env, false, &t), 0);
    assert_int_equal(kv_get(t, db, "c", 1, &v), 0);
    assert_memory_equal(v.data, "3", 1);
    /* Only a write transaction can have children. */
    assert_int_equal(kv_txn_begin_child(t, &child), BASE_EINVAL);
    kv_txn_abort(t);
    kv_env_close(env);
    tl_rmrf(dir);
}

static void test_kv_bad_dir(void **state)
{
    (void)state;
    struct kv_env *env = NULL;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_env_open(&env, "/nonexistent/dir", NULL, err),
                     BASE_ENOTFOUND);
    assert_null(env);
    assert_non_null(strstr(err, "/nonexistent/dir"));

    /* A directory whose data file is garbage is reported, not crashed on. */
    char dir[PATH_MAX], path[PATH_MAX + 16];
    tl_tmpdir(dir, "kvbad");
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    char junk[8192];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(base_write_file(path, junk, sizeof junk), 0);
    int rv = kv_env_open(&env, dir, NULL, err);
    assert_true(rv == BASE_ECORRUPT || rv == BASE_EIO);
    tl_rmrf(dir);
}

/* A map that runs out of room: the write fails with ENOSPC and the
 * environment says so, with a reason, until a write commits again
 * (issue 15, finding 10; the disk-full case is test_gateway_crash). */
static void test_kv_full(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    tl_tmpdir(dir, "kvfull");
    struct kv_env *env;
    char err[BASE_ERRMSG_SIZE], why[BASE_ERRMSG_SIZE];
    struct kv_env_options opt = {.map_size = 256 * 1024};
    assert_int_equal(kv_env_open(&env, dir, &opt, err), 0);
    assert_int_equal(kv_env_refusal(env, why), 0);
    assert_string_equal(why, "");
    struct kv_txn *t;
    kv_dbi db;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_dbi_open(t, "big", true, &db), 0);
    assert_int_equal(kv_txn_commit(t), 0);
    char val[4000];
    memset(val, 'v', sizeof val);
    int rv = 0;
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    for (int i = 0; i < 1000 && rv == 0; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%04d", i);
        rv = kv_put(t, db, key, strlen(key), val, sizeof val);
    }
    assert_int_equal(rv, BASE_ENOSPC);
    kv_txn_abort(t);
    assert_int_equal(kv_env_refusal(env, why), BASE_ENOSPC);
    assert_non_null(strstr(why, "a write failed"));
    assert_non_null(strstr(why, "until there is room"));
    /* Not fatal: a small write fits, commits, and clears it. */
    assert_int_equal(kv_txn_begin(env, true, &t), 0);
    assert_int_equal(kv_put(t, db, "small", 5, "1", 1), 0);
    assert_int_equal(kv_txn_commit(t), 0);
    assert_int_equal(kv_env_refusal(env, NULL), 0);
    kv_env_close(env);
    tl_rmrf(dir);
}

static void test_offchain(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    tl_tmpdir(dir, "oc");
    snprintf(path, sizeof path, "%s/offchain.sqlite", dir);
    struct kv_offchain *s;
    char err[BASE_ERRMSG_SIZE];
    assert_int_equal(kv_offchain_open_sqlite(&s, path, err), 0);
    struct cr_hash h, h2, want;
    assert_int_equal(kv_offchain_put(s, "record-1", 8, &h), 0);
    cr_sha256(&want, "record-1", 8);
    assert_memory_equal(h.b, want.b, 32);
    assert_int_equal(kv_offchain_put(s, "record-1", 8, &h2), 0);
    struct base_buf b;
    base_buf_init(&b, 0);
    assert_int_equal(kv_offchain_get(s, &h, &b), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, "record-1", 8);
    struct cr_hash missing = {{0}};
    assert_int_equal(kv_offchain_get(s, &missing, &b), BASE_ENOTFOUND);
    kv_offchain_close(s);

    /* Tamper with the record behind the store's back: get returns the bytes
     * as stored, and they no longer hash to the key. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE records SET data=X'41'", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(kv_offchain_open_sqlite(&s, path, err), 0);
    base_buf_reset(&b);
    assert_int_equal(kv_offchain_get(s, &h, &b), 0);
    cr_sha256(&h2, b.data, b.len);
    assert_memory_not_equal(h.b, h2.b, 32);
    kv_offchain_close(s);
    base_buf_release(&b);

    assert_int_equal(
        kv_offchain_open_sqlite(&s, "/nonexistent/x/offchain.sqlite", err),
        BASE_EIO);
    tl_rmrf(dir);
}

int main(void)
{
    assert_int_equal(cr_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_basic),   cmocka_unit_test(test_kv_nested),
        cmocka_unit_test(test_kv_bad_dir), cmocka_unit_test(test_kv_full),
        cmocka_unit_test(test_offchain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
