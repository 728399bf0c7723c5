/* SPDX-License-Identifier: MIT */
/* The gridledger subcommands: one file per command, one entry point each. */
#ifndef GL_APPS_CMD_H
#define GL_APPS_CMD_H

#include <stdbool.h>

/* Each command takes argv without the program name (argv[0] is the command)
 * and returns the process exit status. Errors go to stderr. */
struct cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/** Print "gridledger: <message>" to stderr and return 1 (or 2 for usage). */
int cmd_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** True when @arg is -h or --help. */
bool cmd_is_help(const char *arg);

/* The commands, one file each (apps/cmd_*.c). */
int cmd_init(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_tx(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_check_proof(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/** gridledger pf: run an OpenDSS feeder script (power flow). */
int cmd_pf(int argc, char **argv);
/** gridledger run / demo: a scenario end to end (apps/cmd_run.c). */
int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/** Create in @dir the ledger a scenario runs on: its channel (copied to
 *  @channel, LG_NAME_MAX+1 bytes) and the organisations and members its
 *  agents sign as, with their keys under DIR/keys (gridledger init
 *  --scenario, for a node that a remote run uses). Prints the reason and
 *  returns non-zero on failure. */
int cmd_run_ledger_create(const char *scenario, const char *dir, char *channel);
/** gridledger node / apikey: the HTTP gateway (apps/cmd_node.c,
 *  apps/cmd_apikey.c). */
int cmd_node(int argc, char **argv);
int cmd_apikey(int argc, char **argv);
/** gridledger http-bench: Caliper's metrics for a node over HTTP. */
int cmd_http_bench(int argc, char **argv);
/** gridledger config: a ledger directory's settings (apps/cmd_config.c). */
int cmd_config(int argc, char **argv);
/** gridledger status / cluster: a cluster's nodes (apps/cmd_status.c,
 *  apps/cmd_cluster.c). */
int cmd_status(int argc, char **argv);
int cmd_cluster(int argc, char **argv);

#endif
