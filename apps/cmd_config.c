/* SPDX-License-Identifier: MIT */
/* gridledger config: show or change a ledger directory's settings. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "node.h"

static const char usage[] =
    "usage: gridledger config DIR [KEY [VALUE]]\n\n"
    "Show or change the settings of the ledger in DIR (kept in\n"
    "DIR/" APP_CONFIG_FILE "):\n"
    "  gridledger config DIR              every setting and its value\n"
    "  gridledger config DIR KEY          one setting's value\n"
    "  gridledger config DIR KEY VALUE    change it (checked first)\n\n"
    "Settings:\n"
    "  offchain   where the off-chain records (the bid store) live:\n"
    "             postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?PARAMS] (a\n"
    "             libpq URI; the password may instead come from ~/.pgpass\n"
    "             or PGPASSWORD), or sqlite:PATH or PATH (relative to DIR).\n"
    "             Default " APP_OFFCHAIN_DEFAULT
    ". A new value is opened before\n"
    "             it is saved. Records already stored are not moved: the\n"
    "             ledger names them, so move them too (docs/offchain.md).\n"
    "Passwords are shown as ***.\n";

static const struct {
    const char *key;
    const char *dflt;
} settings[] = {
    {"offchain", APP_OFFCHAIN_DEFAULT},
};

static int show(const char *dir, const char *key, const char *dflt, bool named)
{
    char val[4096], shown[4096];
    int rv = app_config_get(dir, key, dflt, val, sizeof val);
    if (rv == 0) {
        kv_offchain_spec_redact(shown, sizeof shown, val);
        if (named) {
            printf("%s = %s\n", key, shown);
        } else {
            printf("%s\n", shown);
        }
    }
    return rv;
}

int cmd_config(int argc, char **argv)
{
    if (argc == 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2 || argc > 4 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    const char *dir = argv[1];
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
        return cmd_fail(1, "%s holds no ledger", dir);
    }
    if (argc == 2) {
        int rv = 0;
        for (size_t i = 0; rv == 0 && i < BASE_ARRAY_LEN(settings); i++) {
            rv = show(dir, settings[i].key, settings[i].dflt, true);
        }
        return rv;
    }
    size_t k = 0;
    while (k < BASE_ARRAY_LEN(settings) &&
           strcmp(settings[k].key, argv[2]) != 0) {
        k++;
    }
    if (k == BASE_ARRAY_LEN(settings)) {
        return cmd_fail(2, "unknown setting '%s' (known: offchain)", argv[2]);
    }
    if (argc == 3) {
        return show(dir, settings[k].key, settings[k].dflt, false);
    }
    int rv = app_offchain_check(dir, argv[3]);
    rv = rv ? rv : app_config_set(dir, settings[k].key, argv[3]);
    return rv ? rv : show(dir, settings[k].key, settings[k].dflt, true);
}
