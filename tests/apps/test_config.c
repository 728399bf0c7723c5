/* SPDX-License-Identifier: MIT */
/* Tests of a ledger directory's settings: `gridledger init --offchain`,
 * `gridledger config`, against a real PostgreSQL server and SQLite, and
 * every error they document. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgserver.h"
#include "testlib.h"

static struct tl_pg pg;
static char tmp[PATH_MAX];

/* gridledger ARGS, stderr folded into @out. */
static int gl(char *out, size_t size, const char *fmt, ...) BASE_PRINTF(3, 4);
static int gl(char *out, size_t size, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tl_run(out, size, "%s %s 2>&1", tl_binary(), args);
}

static void read_config(const char *dir, char *out, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_help(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(gl(out, sizeof out, "config --help"), 0);
    assert_non_null(strstr(out, "postgresql://"));
    assert_int_equal(gl(out, sizeof out, "init --help"), 0);
    assert_non_null(strstr(out, "--offchain SPEC"));
    assert_int_equal(gl(out, sizeof out, "run --help"), 0);
    assert_non_null(strstr(out, "--offchain SPEC"));
    assert_int_equal(gl(out, sizeof out, "config"), 2);
    assert_non_null(strstr(out, "usage: gridledger config"));
    assert_int_equal(gl(out, sizeof out, "config a b c d"), 2);
}

/* init --offchain with PostgreSQL: the store is reached and its table made
 * before the ledger exists; the spec is kept, shown without its password. */
static void test_init_pg(void **state)
{
    (void)state;
    char dir[PATH_MAX + 8], out[4096], uri[512];
    snprintf(dir, sizeof dir, "%s/pg", tmp);
    tl_pg_createdb(&pg, "initdb1", uri);
    assert_int_equal(gl(out, sizeof out, "init %s --offchain '%s'", dir, uri),
                     0);
    assert_non_null(
        strstr(out, "off-chain store postgresql://gridledger:***@"));
    assert_null(strstr(out, pg.password));
    read_config(dir, out, sizeof out);
    assert_non_null(strstr(out, uri)); /* the file has it all (mode 0600) */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(tl_run(out, sizeof out, "stat -c %%a %s", path), 0);
    assert_string_equal(out, "600\n");
    assert_int_equal(tl_pg_sql(&pg, "initdb1", out, sizeof out,
                               "SELECT count(*) FROM offchain_records"),
                     0);
    assert_string_equal(out, "0\n");
    snprintf(path, sizeof path, "%s/offchain.sqlite", dir);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(gl(out, sizeof out, "config %s", dir), 0);
    assert_non_null(strstr(out, "offchain = postgresql://gridledger:***@"));
    assert_null(strstr(out, pg.password));
    assert_int_equal(gl(out, sizeof out, "config %s offchain", dir), 0);
    assert_non_null(strstr(out, "/initdb1\n"));
}

/* The default, then a change to SQLite and back, keeping other keys. */
static void test_config_sqlite(void **state)
{
    (void)state;
    char dir[PATH_MAX + 8], out[4096], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/sq", tmp);
    assert_int_equal(gl(out, sizeof out, "init %s", dir), 0);
    assert_non_null(strstr(out, "off-chain store offchain.sqlite"));
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(access(path, F_OK), -1); /* the default needs none */
    assert_int_equal(gl(out, sizeof out, "config %s offchain", dir), 0);
    assert_string_equal(out, "offchain.sqlite\n");

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"future\": {\"kept\": true}}\n", f);
    fclose(f);
    assert_int_equal(
        gl(out, sizeof out, "config %s offchain sqlite:%s", dir, "other.db"),
        0);
    assert_string_equal(out, "offchain = sqlite:other.db\n");
    snprintf(path, sizeof path, "%s/other.db", dir); /* relative to DIR */
    assert_int_equal(access(path, F_OK), 0);
    read_config(dir, out, sizeof out);
    assert_non_null(strstr(out, "\"future\""));
    assert_non_null(strstr(out, "\"offchain\": \"sqlite:other.db\""));

    char uri[512];
    tl_pg_createdb(&pg, "cfgdb", uri);
    assert_int_equal(gl(out, sizeof out, "config %s offchain '%s'", dir, uri),
                     0);
    assert_non_null(strstr(out, "offchain = postgresql://gridledger:***@"));
    assert_int_equal(tl_pg_sql(&pg, "cfgdb", out, sizeof out,
                               "SELECT to_regclass('offchain_records')"),
                     0);
    assert_string_equal(out, "offchain_records\n");
}

static void test_errors(void **state)
{
    (void)state;
    char dir[PATH_MAX + 8], out[4096], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/err", tmp);
    assert_int_equal(gl(out, sizeof out, "init %s", dir), 0);

    /* Not a ledger; an unknown setting. */
    assert_int_equal(gl(out, sizeof out, "config %s/nothing", tmp), 1);
    assert_non_null(strstr(out, "holds no ledger"));
    assert_int_equal(gl(out, sizeof out, "config %s colour blue", dir), 2);
    assert_non_null(strstr(out, "unknown setting 'colour'"));

    /* A store that cannot be opened is never saved; the message has the
     * server but not the password. */
    assert_int_equal(gl(out, sizeof out,
                        "config %s offchain "
                        "postgresql://gridledger:hunter2@127.0.0.1:%d/x",
                        dir, 1),
                     1);
    assert_non_null(strstr(out, "cannot connect to PostgreSQL (host=127.0.0.1 "
                                "port=1 dbname=x user=gridledger)"));
    assert_null(strstr(out, "hunter2"));
    assert_int_equal(gl(out, sizeof out, "config %s offchain 'sqlite:'", dir),
                     1);
    assert_non_null(strstr(out, "names no file"));
    assert_int_equal(
        gl(out, sizeof out, "config %s offchain 'redis://a:hunter2@h'", dir),
        1);
    assert_non_null(strstr(out, "unknown store 'redis://...'"));
    assert_null(strstr(out, "hunter2"));
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(access(path, F_OK), -1);

    /* init with a bad store creates nothing. */
    assert_int_equal(gl(out, sizeof out,
                        "init %s/new --offchain "
                        "postgresql://u:hunter2@127.0.0.1:1/x",
                        tmp),
                     1);
    assert_non_null(strstr(out, "Connection refused"));
    snprintf(path, sizeof path, "%s/new", tmp);
    assert_int_equal(access(path, F_OK), -1);

    /* A damaged config file is reported, not guessed around. */
    snprintf(path, sizeof path, "%s/config.json", dir);
    static const struct {
        const char *text, *key, *msg;
    } damaged[] = {
        {"{\"offchain\": \n", "", "config.json: line"},
        {"{\"offchain\": 42}\n", " offchain", "\"offchain\" must be a string"},
        {"[1, 2]\n", "", "not a JSON object"},
    };
    for (size_t i = 0; i < BASE_ARRAY_LEN(damaged); i++) {
        assert_int_equal(
            base_write_file(path, damaged[i].text, strlen(damaged[i].text)), 0);
        assert_int_equal(
            gl(out, sizeof out, "config %s%s", dir, damaged[i].key), 1);
        assert_non_null(strstr(out, damaged[i].msg));
    }
    /* A run's store that cannot be opened stops the run with the reason. */
    assert_int_equal(
        tl_run(out, sizeof out,
               "%s run %s/scenarios/ieee13-der-market.json --out %s/run "
               "--quiet --offchain postgresql://u:hunter2@127.0.0.1:1/x 2>&1",
               tl_binary(), getenv("GL_SOURCE_DIR"), tmp),
        1);
    assert_non_null(strstr(out, "cannot connect to PostgreSQL"));
    assert_null(strstr(out, "hunter2"));
}

static int setup(void **state)
{
    (void)state;
    tl_tmpdir(tmp, "config");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_init_pg),
        cmocka_unit_test(test_config_sqlite),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
