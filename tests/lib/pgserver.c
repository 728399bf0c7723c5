/* SPDX-License-Identifier: MIT */
/* Drives tests/lib/pg-server.sh for the test executables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgserver.h"
#include "testlib.h"

static void script(char *out)
{
    tl_source_path(out, "tests/lib/pg-server.sh");
}

void tl_pg_start(struct tl_pg *pg)
{
    char sh[PATH_MAX], msg[8192];
    script(sh);
    memset(pg, 0, sizeof *pg);
    int st =
        tl_run(msg, sizeof msg, "sh '%s' start %ld 2>&1", sh, (long)getpid());
    if (st != 0 ||
        sscanf(msg, "%4095s %d %511s", pg->dir, &pg->port, pg->uri) != 3) {
        fail_msg("cannot start PostgreSQL (%d): %s", st, msg);
    }
    /* postgresql://gridledger:PW@... */
    const char *p = strchr(pg->uri + strlen("postgresql://"), ':');
    const char *at = strchr(pg->uri, '@');
    assert_true(p != NULL && at != NULL && at > p);
    snprintf(pg->password, sizeof pg->password, "%.*s", (int)(at - p - 1),
             p + 1);
}

static void ctl(struct tl_pg *pg, const char *what)
{
    char sh[PATH_MAX], msg[4096];
    script(sh);
    int st = tl_run(msg, sizeof msg, "sh '%s' %s '%s' 2>&1", sh, what, pg->dir);
    if (st != 0) {
        fail_msg("pg-server.sh %s: %d: %s", what, st, msg);
    }
}

void tl_pg_stop(struct tl_pg *pg)
{
    if (pg->dir[0] != '\0') {
        ctl(pg, "stop");
        pg->dir[0] = '\0';
    }
}

void tl_pg_halt(struct tl_pg *pg)
{
    ctl(pg, "halt");
}

void tl_pg_resume(struct tl_pg *pg)
{
    ctl(pg, "resume");
}

void tl_pg_createdb(struct tl_pg *pg, const char *name, char *uri)
{
    char sh[PATH_MAX], msg[4096];
    script(sh);
    int st = tl_run(msg, sizeof msg, "sh '%s' createdb '%s' %s 2>&1", sh,
                    pg->dir, name);
    if (st != 0 || sscanf(msg, "%511s", uri) != 1) {
        fail_msg("createdb %s: %d: %s", name, st, msg);
    }
}

int tl_pg_sql(struct tl_pg *pg, const char *db, char *out, size_t size,
              const char *sql)
{
    char sh[PATH_MAX], quoted[4096];
    script(sh);
    /* '...' for the shell: each ' becomes '\'' */
    size_t n = 0;
    for (const char *p = sql; *p != '\0'; p++) {
        assert_true(n + 5 < sizeof quoted);
        if (*p == '\'') {
            memcpy(quoted + n, "'\\''", 4);
            n += 4;
        } else {
            quoted[n++] = *p;
        }
    }
    quoted[n] = '\0';
    return tl_run(out, size, "sh '%s' sql '%s' %s '%s' 2>&1", sh, pg->dir, db,
                  quoted);
}
