/* SPDX-License-Identifier: MIT */
/* A real, throwaway PostgreSQL server for a test executable
 * (tests/lib/pg-server.sh): loopback, a free port, a temp dir. */
#ifndef GL_TL_PGSERVER_H
#define GL_TL_PGSERVER_H

#include <limits.h>
#include <stddef.h>

struct tl_pg {
    char dir[PATH_MAX]; /* the server's temp dir (data, socket, log) */
    int port;           /* on 127.0.0.1 */
    char uri[512]; /* postgresql://gridledger:PW@127.0.0.1:PORT/gridledger */
    char password[64]; /* of the role gridledger */
};

/** initdb and start a server (as the `postgres` user when root), with a
 *  role and a database `gridledger` that @pg->uri reaches over TCP with a
 *  password. A watchdog stops it if this process dies first. Fails the
 *  test on error. */
void tl_pg_start(struct tl_pg *pg);
/** Stop the server and remove its dir. */
void tl_pg_stop(struct tl_pg *pg);
/** Stop the server, keeping its data (a server gone mid-run). */
void tl_pg_halt(struct tl_pg *pg);
/** Start it again, same port and data. */
void tl_pg_resume(struct tl_pg *pg);
/** Create database @name (owned by the role); its URI into @uri (512). */
void tl_pg_createdb(struct tl_pg *pg, const char *name, char *uri);
/** Run @sql in database @db as the superuser; psql's
 *  unaligned output into @out. Returns psql's exit status. */
int tl_pg_sql(struct tl_pg *pg, const char *db, char *out, size_t size,
              const char *sql);

#endif
