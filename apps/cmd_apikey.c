/* SPDX-License-Identifier: MIT */
/* gridledger apikey: create, list and revoke the node's API keys. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "gateway/gateway.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger apikey create DIR --name NAME --identity ORG/NAME\n"
    "                             [--allow PATTERNS] [--read-only]\n"
    "       gridledger apikey list DIR\n"
    "       gridledger apikey revoke DIR ID|NAME\n\n"
    "API keys let a client call the node's HTTP API without a key of its\n"
    "own: the node maps the key to member ORG/NAME (whose key and\n"
    "certificate are in DIR/keys) and signs for it. DIR/apikeys.json keeps\n"
    "only a hash of each key; the key itself is printed once, by create.\n"
    "A running node sees new and revoked keys at its next request.\n\n"
    "  --allow PATTERNS  comma-separated CONTRACT.FUNCTION the key may call,\n"
    "                    '*' for any part (e.g. 'asset.*,bids.retrieve');\n"
    "                    default: every call\n"
    "  --read-only       the key may read and evaluate, never submit a\n"
    "                    transaction or store an off-chain record\n\n"
    "Clients send it as 'Authorization: Bearer KEY' (docs/api.md).\n";

static void keys_path(char *out, const char *dir)
{
    snprintf(out, PATH_MAX, "%s/%s", dir, APP_APIKEYS_FILE);
}

static int create(int argc, char **argv)
{
    const char *name = app_take_opt(&argc, argv, "--name");
    const char *identity = app_take_opt(&argc, argv, "--identity");
    const char *allow = app_take_opt(&argc, argv, "--allow");
    bool ro = app_take_flag(&argc, argv, "--read-only");
    if (argc != 2 || name == NULL || identity == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    const char *dir = argv[1];
    /* The member must exist now, not only when the key is first used. */
    struct app_member m;
    if (app_member_load(&m, dir, identity) != 0) {
        return 1;
    }
    cr_wipe(&m.key, sizeof m.key);
    struct gw_key spec;
    memset(&spec, 0, sizeof spec);
    if (strlen(name) > LG_NAME_MAX ||
        strlen(allow ? allow : "") > GW_ALLOW_MAX) {
        return cmd_fail(2, "name or --allow is too long");
    }
    snprintf(spec.name, sizeof spec.name, "%s", name);
    snprintf(spec.identity, sizeof spec.identity, "%s", identity);
    snprintf(spec.allow, sizeof spec.allow, "%s", allow ? allow : "*");
    spec.read_only = ro;
    char path[PATH_MAX], token[GW_KEY_TOKEN_LEN + 1];
    keys_path(path, dir);
    struct gw_key k;
    int rv = gw_key_create(path, &spec, token, &k);
    if (rv == BASE_EINVAL) {
        return cmd_fail(2, "bad key: the name is 1..64 characters without "
                           "spaces, commas or slashes; --allow is "
                           "CONTRACT.FUNCTION[,...] with '*' for any part");
    }
    if (rv == BASE_EEXIST) {
        return cmd_fail(1, "a live key is already named '%s'", name);
    }
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", path, base_strerror(rv));
    }
    printf("id       %s\nname     %s\nidentity %s\nallow    %s\n"
           "access   %s\nkey      %s\n",
           k.id, k.name, k.identity, k.allow,
           k.read_only ? "read-only" : "read-write", token);
    fputs("gridledger: the key is shown only now; the node keeps its hash\n",
          stderr);
    cr_wipe(token, sizeof token);
    return 0;
}

static int list(int argc, char **argv)
{
    if (argc != 2) {
        fputs(usage, stderr);
        return 2;
    }
    char path[PATH_MAX];
    keys_path(path, argv[1]);
    struct gw_key *k;
    size_t n;
    int rv = gw_key_list(path, &k, &n);
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", path, base_strerror(rv));
    }
    printf("%-16s  %-16s  %-20s  %-10s  %-7s  %-20s  %s\n", "ID", "NAME",
           "IDENTITY", "ACCESS", "STATUS", "CREATED", "ALLOW");
    for (size_t i = 0; i < n; i++) {
        char when[32];
        time_t t = (time_t)k[i].created;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-16s  %-16s  %-20s  %-10s  %-7s  %-20s  %s\n", k[i].id,
               k[i].name, k[i].identity,
               k[i].read_only ? "read-only" : "read-write",
               k[i].revoked ? "revoked" : "live", when, k[i].allow);
    }
    base_free(k);
    return 0;
}

static int revoke(int argc, char **argv)
{
    if (argc != 3) {
        fputs(usage, stderr);
        return 2;
    }
    char path[PATH_MAX];
    keys_path(path, argv[1]);
    int rv = gw_key_revoke(path, argv[2]);
    if (rv == BASE_ENOTFOUND) {
        return cmd_fail(1, "no live key '%s' in %s", argv[2], path);
    }
    if (rv != 0) {
        return cmd_fail(1, "%s: %s", path, base_strerror(rv));
    }
    printf("revoked %s\n", argv[2]);
    return 0;
}

int cmd_apikey(int argc, char **argv)
{
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    /* The sub-command's own argv: its argv[0] is the sub-command. */
    if (strcmp(argv[1], "create") == 0) {
        return create(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "list") == 0) {
        return list(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "revoke") == 0) {
        return revoke(argc - 1, argv + 1);
    }
    return cmd_fail(2, "unknown apikey command '%s' (create, list, revoke)",
                    argv[1]);
}
