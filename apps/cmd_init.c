/* SPDX-License-Identifier: MIT */
/* gridledger init: a new ledger with the demo consortium. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger init DIR [--channel NAME]\n\n"
    "Create a ledger in DIR (which must not hold one) with the demo\n"
    "consortium: organisations ISO (role iso), DSO (dso), DERA1 and DERA2\n"
    "(dera) and PROSUMERS (prosumer), their root keys, one operator per\n"
    "organisation (ISO/operator, DSO/operator, DERA1/operator,\n"
    "DERA2/operator) and the prosumers PROSUMERS/alice and PROSUMERS/bob.\n"
    "Keys and certificates go under DIR/keys. The channel defaults to\n"
    "'" APP_DEFAULT_CHANNEL "'.\n";

struct demo_org {
    const char *name;
    const char *role;
    const char *members[3];
};

static const struct demo_org orgs[] = {
    {"ISO", "iso", {"operator", NULL, NULL}},
    {"DSO", "dso", {"operator", NULL, NULL}},
    {"DERA1", "dera", {"operator", NULL, NULL}},
    {"DERA2", "dera", {"operator", NULL, NULL}},
    {"PROSUMERS", "prosumer", {"alice", "bob", NULL}},
};

static int mkdir_keys(const char *dir, const char *sub)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/keys%s%s", dir, sub ? "/" : "",
             sub ? sub : "");
    if (base_mkdirs(path, 0700) != 0) {
        return cmd_fail(1, "cannot create %s", path);
    }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    const char *channel = app_take_opt(&argc, argv, "--channel");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    const char *dir = argv[1];
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) == 0) {
        return cmd_fail(1, "%s already holds a ledger", dir);
    }
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    if (base_mkdirs(dir, 0700) != 0) {
        return cmd_fail(1, "cannot create %s", dir);
    }
    int rv = mkdir_keys(dir, NULL);
    struct lg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.channel, sizeof cfg.channel, "%s",
             channel ? channel : APP_DEFAULT_CHANNEL);
    cfg.genesis_time = base_wall_ns();
    struct cr_keypair orderer, root;
    cr_keygen(&orderer);
    memcpy(cfg.orderer_pk, orderer.pk, CR_PUBKEY_SIZE);
    snprintf(path, sizeof path, "%s/keys/orderer.key", dir);
    if (rv == 0 && app_key_write(path, orderer.sk) != 0) {
        rv = cmd_fail(1, "cannot write %s", path);
    }
    for (size_t i = 0; rv == 0 && i < BASE_ARRAY_LEN(orgs); i++) {
        rv = mkdir_keys(dir, orgs[i].name);
        cr_keygen(&root);
        snprintf(path, sizeof path, "%s/keys/%s/root.key", dir, orgs[i].name);
        if (rv == 0 && app_key_write(path, root.sk) != 0) {
            rv = cmd_fail(1, "cannot write %s", path);
        }
        struct lg_org *o = &cfg.orgs[cfg.norgs++];
        snprintf(o->name, sizeof o->name, "%s", orgs[i].name);
        memcpy(o->root_pk, root.pk, CR_PUBKEY_SIZE);
        o->nroles = 1;
        snprintf(o->roles[0], sizeof o->roles[0], "%s", orgs[i].role);
        for (size_t m = 0; rv == 0 && orgs[i].members[m]; m++) {
            rv = app_member_create(dir, orgs[i].name, orgs[i].members[m],
                                   orgs[i].role, 3650, NULL);
        }
    }
    cr_wipe(&root, sizeof root);
    struct app_node n;
    memset(&n, 0, sizeof n);
    sc_registry_init(&n.reg);
    if (rv == 0 && sc_register_builtin(&n.reg) != 0) {
        rv = cmd_fail(1, "cannot register contracts");
    }
    char err[BASE_ERRMSG_SIZE];
    struct lg_executor ex = sc_executor(&n.reg);
    if (rv == 0 && lg_open(&n.ledger, dir, &ex, NULL, err) != 0) {
        rv = cmd_fail(1, "%s: %s", dir, err);
    }
    if (rv == 0 && lg_channel_create(n.ledger, &cfg, &orderer, err) != 0) {
        rv = cmd_fail(1, "%s: %s", dir, err);
    }
    lg_close(n.ledger);
    cr_wipe(&orderer, sizeof orderer);
    if (rv == 0) {
        printf("initialised %s: channel %s, organisations ISO DSO DERA1 DERA2 "
               "PROSUMERS, keys in %s/keys\n",
               dir, cfg.channel, dir);
    }
    return rv;
}

static const char member_usage[] =
    "usage: gridledger member DIR ORG NAME --role ROLE [--days N]\n\n"
    "Certify a new member of organisation ORG with ORG's root key under\n"
    "DIR/keys/ORG. The role must be one the genesis lets ORG grant, or\n"
    "its transactions will be refused. Valid for N days (default 365).\n";

int cmd_member(int argc, char **argv)
{
    const char *role = app_take_opt(&argc, argv, "--role");
    const char *days = app_take_opt(&argc, argv, "--days");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(member_usage, stdout);
        return 0;
    }
    uint64_t d = 365;
    if (argc != 4 || role == NULL ||
        (days != NULL &&
         (base_parse_u64(days, &d) != 0 || d == 0 || d > 36500))) {
        fputs(member_usage, stderr);
        return 2;
    }
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    if (strchr(argv[2], '/') || strchr(argv[3], '/') || strstr(argv[3], "..")) {
        return cmd_fail(2, "ORG and NAME may not contain '/' or '..'");
    }
    int rv =
        app_member_create(argv[1], argv[2], argv[3], role, (unsigned)d, NULL);
    if (rv == 0) {
        printf("certified %s/%s as %s for %llu days\n", argv[2], argv[3], role,
               (unsigned long long)d);
    }
    return rv;
}
