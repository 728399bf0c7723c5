/* SPDX-License-Identifier: MIT */
/* gridledger: the command-line entry point; dispatches to apps/cmd_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const struct cmd commands[] = {
    {"demo", "run the shipped DER market day (papers 001/002)", cmd_demo},
    {"run", "run a scenario: agents, feeder and ledger, with a report",
     cmd_run},
    {"init", "create a ledger with the demo consortium", cmd_init},
    {"member", "certify a new member of an organisation", cmd_member},
    {"tx", "sign and submit a transaction, wait for its block", cmd_tx},
    {"query", "read state, history, blocks, transactions, proofs", cmd_query},
    {"verify", "check every block and re-execute the chain", cmd_verify},
    {"check-proof", "check a transaction inclusion proof offline",
     cmd_check_proof},
    {"bench", "benchmark with Hyperledger Caliper's metrics", cmd_bench},
    {"pf", "run an OpenDSS feeder script (power flow)", cmd_pf},
    {"node", "serve a ledger over HTTP (the gateway, docs/api.md)", cmd_node},
    {"apikey", "create, list and revoke the node's API keys", cmd_apikey},
    {"http-bench", "benchmark a running node over HTTP (Caliper's metrics)",
     cmd_http_bench},
    {"config", "show or change a ledger's settings (off-chain store)",
     cmd_config},
    {"status", "a cluster's members, leader and each node's height",
     cmd_status},
    {"cluster", "add a node to a running cluster", cmd_cluster},
    {NULL, NULL, NULL},
};

int cmd_fail(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("gridledger: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

bool cmd_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static void usage(FILE *f)
{
    fputs("usage: gridledger COMMAND [ARGS...]\n\n"
          "Energy markets on a permissioned ledger, checked against the "
          "physics of the feeder.\n\ncommands:\n",
          f);
    for (const struct cmd *c = commands; c->name != NULL; c++) {
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    }
    fputs("\n'gridledger COMMAND --help' describes a command.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cmd_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("gridledger 0.1.0");
        return 0;
    }
    for (const struct cmd *c = commands; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            return c->run(argc - 1, argv + 1);
        }
    }
    return cmd_fail(2, "unknown command '%s' (see 'gridledger --help')",
                    argv[1]);
}
