/* SPDX-License-Identifier: MIT */
/* gridledger cluster add: add a node to a running cluster. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"

static const char usage[] =
    "usage: gridledger cluster add DIR --node URL ID@RAFTHOST:PORT/HTTPHOST:"
    "PORT\n\n"
    "Add node ID to the running cluster that the node at URL belongs to.\n"
    "Start the new node first (gridledger node NEWDIR --cluster ... --id ID\n"
    "--join). The request goes to the leader (found through URL's\n"
    "GET /v1/cluster), signed with the orderer key of DIR (any member's\n"
    "ledger directory: keys/orderer.key). The leader sends the new node a\n"
    "snapshot and the log, then makes it a voter; the command returns once\n"
    "the change is committed.\n";

static int add(const char *dir, const char *node, const char *item)
{
    struct ord_member m;
    size_t n;
    char err[BASE_ERRMSG_SIZE];
    if (ord_cluster_parse(item, &m, 1, &n, err) != 0) {
        return cmd_fail(2, "%s", err);
    }
    if (strchr(m.address, '/') == NULL) {
        return cmd_fail(2, "write the node as ID@RAFTHOST:PORT/HTTPHOST:PORT: "
                           "its peers need its HTTP address");
    }
    char path[PATH_MAX];
    struct cr_keypair key;
    snprintf(path, sizeof path, "%s/keys/orderer.key", dir);
    if (cr_init() != 0 || app_key_read(path, &key) != 0) {
        return cmd_fail(1, "%s: cannot read the orderer key", path);
    }
    char *body = NULL;
    int rv = gw_cluster_add_request(&key, m.id, m.address, &body);
    cr_wipe(&key, sizeof key);
    if (rv != 0) {
        return cmd_fail(1, "out of memory");
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    char url[600];
    long status;
    snprintf(url, sizeof url, "%s/v1/cluster", node);
    json_t *view = NULL;
    if (app_http(url, NULL, NULL, 0, 5000, &status, &b) == 0 && status == 200) {
        view = json_loadb((const char *)b.data, b.len, 0, NULL);
    }
    const char *leader = json_string_value(json_object_get(view, "leader_url"));
    if (leader == NULL) {
        json_decref(view);
        base_free(body);
        base_buf_release(&b);
        return cmd_fail(1,
                        "%s knows no leader now (or does not answer); try "
                        "again in a moment",
                        node);
    }
    snprintf(url, sizeof url, "%s/v1/cluster/members", leader);
    json_decref(view);
    rv = app_http(url, "application/json", body, strlen(body), 600000, &status,
                  &b);
    base_free(body);
    if (rv != 0 || status != 200) {
        json_t *o =
            rv == 0 ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
        const char *why = json_string_value(json_object_get(o, "reason"));
        rv =
            cmd_fail(1, "the leader (%s) did not add node %llu: %s", url,
                     (unsigned long long)m.id, why != NULL ? why : "no answer");
        json_decref(o);
    } else {
        printf("added node %llu at %s\n", (unsigned long long)m.id, m.address);
    }
    base_buf_release(&b);
    return rv;
}

int cmd_cluster(int argc, char **argv)
{
    const char *node = app_take_opt(&argc, argv, "--node");
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "add") == 0 && node != NULL) {
        return add(argv[2], node, argv[3]);
    }
    if (argc >= 2 && strcmp(argv[1], "add") != 0) {
        cmd_fail(2, "unknown subcommand '%s'", argv[1]);
    }
    fputs(usage, stderr);
    return 2;
}
