/* SPDX-License-Identifier: MIT */
/* gridledger init: a new ledger with the demo consortium. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger init DIR [--channel NAME] [--offchain SPEC]\n"
    "       gridledger init DIR --scenario SCENARIO [--offchain SPEC]\n\n"
    "Create a ledger in DIR (which must not hold one) with the demo\n"
    "consortium: organisations ISO (role iso), DSO (dso), DERA1 and DERA2\n"
    "(dera) and PROSUMERS (prosumer), their root keys, one operator per\n"
    "organisation (ISO/operator, DSO/operator, DERA1/operator,\n"
    "DERA2/operator) and the prosumers PROSUMERS/alice and PROSUMERS/bob.\n"
    "Keys and certificates go under DIR/keys. The channel defaults to\n"
    "'" APP_DEFAULT_CHANNEL "'.\n"
    "--offchain SPEC puts the off-chain records (the bid store) in SPEC\n"
    "instead of DIR/" APP_OFFCHAIN_DEFAULT ": postgresql://USER@HOST:PORT/DB\n"
    "(a libpq URI; the password in it, in ~/.pgpass or PGPASSWORD), or\n"
    "sqlite:PATH (relative to DIR). The store is opened first, so a wrong\n"
    "SPEC creates nothing; it is kept in DIR/" APP_CONFIG_FILE
    " ('gridledger config').\n"
    "--scenario SCENARIO creates instead the ledger that scenario runs on\n"
    "(docs/scenario.md): its channel, and the organisations and members its\n"
    "agents sign as (a market day: ISO, DSO and each DERA, one operator\n"
    "each; PETra: DSO, ANON and the PROSUMERS it names). Serve it with\n"
    "'gridledger node DIR' and run the scenario against it with\n"
    "'gridledger run SCENARIO --node URL --keys DIR'.\n";

static const char *const iso_m[] = {"operator", NULL};
static const char *const dso_m[] = {"operator", NULL};
static const char *const dera_m[] = {"operator", NULL};
static const char *const pro_m[] = {"alice", "bob", NULL};

static const struct app_org orgs[] = {
    {"ISO", "iso", iso_m},
    {"DSO", "dso", dso_m},
    {"DERA1", "dera", dera_m},
    {"DERA2", "dera", dera_m},
    {"PROSUMERS", "prosumer", pro_m},
};

int cmd_init(int argc, char **argv)
{
    const char *channel = app_take_opt(&argc, argv, "--channel");
    const char *offchain = app_take_opt(&argc, argv, "--offchain");
    const char *scenario = app_take_opt(&argc, argv, "--scenario");
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    if (scenario != NULL && channel != NULL) {
        return cmd_fail(2, "--channel comes from the scenario with "
                           "--scenario");
    }
    const char *dir = argv[1];
    const char *ch = channel ? channel : APP_DEFAULT_CHANNEL;
    char sc_channel[LG_NAME_MAX + 1];
    int rv = 0;
    if (offchain != NULL) {
        /* Checked in DIR (a relative SQLite path is in DIR); a DIR made
         * only for the check goes again when the check fails. */
        struct stat st;
        bool made = stat(dir, &st) != 0;
        rv = base_mkdirs(dir, 0700) != 0 ? cmd_fail(1, "cannot create %s", dir)
                                         : app_offchain_check(dir, offchain);
        if (rv != 0 && made) {
            rmdir(dir);
        }
    }
    if (rv == 0 && scenario != NULL) {
        rv = cmd_run_ledger_create(scenario, dir, sc_channel);
        ch = sc_channel;
    } else if (rv == 0) {
        rv = app_ledger_create(dir, ch, orgs, BASE_ARRAY_LEN(orgs));
    }
    if (rv == 0 && offchain != NULL) {
        rv = app_config_set(dir, "offchain", offchain);
    }
    if (rv == 0) {
        char shown[512];
        kv_offchain_spec_redact(shown, sizeof shown,
                                offchain ? offchain : APP_OFFCHAIN_DEFAULT);
        if (scenario != NULL) {
            printf(
                "initialised %s for %s: channel %s, keys in %s/keys, "
                "off-chain store %s\nserve it with: gridledger node %s%s%s\n",
                dir, scenario, ch, dir, shown, dir,
                strcmp(ch, APP_DEFAULT_CHANNEL) ? " --channel " : "",
                strcmp(ch, APP_DEFAULT_CHANNEL) ? ch : "");
        } else {
            printf("initialised %s: channel %s, organisations ISO DSO DERA1 "
                   "DERA2 PROSUMERS, keys in %s/keys, off-chain store %s\n",
                   dir, ch, dir, shown);
        }
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
