/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the scenario loaders, the market day's
 * (sim_scenario_load, sim_scenario_kind) and PETra's (sim_petra_load), on
 * the same input. They read a path, so each input is written to one file in
 * a temporary directory of the harness's own, removed at exit. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX];
static char file[PATH_MAX + 32];

static void cleanup(void)
{
    unlink(file);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/gl-fuzz-scenario-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(file, sizeof file, "%s/scenario.json", dir);
    atexit(cleanup);
    base_log_set_level(BASE_LOG_OFF);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Scenarios are small hand-written files; a cap keeps runs fast. */
    if (size > 64 * 1024) {
        return 0;
    }
    FILE *f = fopen(file, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        abort();
    }
    char errmsg[BASE_ERRMSG_SIZE];
    char kind[64];
    errmsg[0] = '\0';
    if (sim_scenario_kind(file, kind, sizeof kind, errmsg) == 0 &&
        memchr(kind, '\0', sizeof kind) == NULL) {
        abort();
    }
    struct sim_scenario *sc = base_calloc(1, sizeof *sc);
    if (sc != NULL) {
        errmsg[0] = '\0';
        int rv = sim_scenario_load(sc, file, errmsg);
        /* A refusal always says why. */
        if (rv != 0 && errmsg[0] == '\0') {
            abort();
        }
        if (rv == 0) {
            sim_scenario_release(sc);
        }
        base_free(sc);
    }
    struct sim_petra_scenario *ps = base_calloc(1, sizeof *ps);
    if (ps != NULL) {
        errmsg[0] = '\0';
        int rv = sim_petra_load(ps, file, errmsg);
        if (rv != 0 && errmsg[0] == '\0') {
            abort();
        }
        base_free(ps);
    }
    return 0;
}
