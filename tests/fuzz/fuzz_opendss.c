/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: the OpenDSS reader (src/grid/reader.c) on script text,
 * then the network it built (build.c) solved once (solve.c), and once more
 * after a change of loads (the re-use path).
 *
 * The work per input is bounded so that a run stays fast: inputs are cut
 * at 32 KiB, and lines that would read files (Redirect, Compile, a
 * loadshape's file=) or run or lengthen solves (Solve, maxiterations,
 * maxcontroliter) are turned into comments before the reader sees them; the
 * harness then solves with the default iteration limits. Reading files is
 * pf_run_file's business, not the text reader's. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grid/grid.h"
#include "grid/grid_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (32 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    base_log_set_level(BASE_LOG_OFF);
    return 0;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Does the line @low (lower-cased, NUL-terminated) need neutralising? */
static bool forbidden(const char *low)
{
    static const char *const words[] = {"redirect", "compile", "file",
                                        "maxiter", "maxcontrol"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(low, words[i]) != NULL) {
            return true;
        }
    }
    while (*low == ' ' || *low == '\t') {
        low++;
    }
    return strncmp(low, "solve", 5) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) {
        return 0;
    }
    char *text = base_malloc(size + 1);
    char *low = base_malloc(size + 1);
    if (text == NULL || low == NULL) {
        abort();
    }
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; i <= size; i++) {
        low[i] = (char)tolower((unsigned char)text[i]);
    }
    size_t len = strlen(text);
    for (size_t s = 0; s < len;) {
        const char *nl = memchr(text + s, '\n', len - s);
        size_t e = nl != NULL ? (size_t)(nl - text) : len;
        char saved = low[e];
        low[e] = '\0';
        bool bad = forbidden(low + s);
        low[e] = saved;
        if (bad) {
            text[s] = '!';
            for (size_t i = s + 1; i < e; i++) {
                text[i] = ' ';
            }
        }
        s = e + 1;
    }
    struct pf_model *m;
    if (pf_model_new(&m) != 0) {
        abort();
    }
    pf_set_warn_cb(m, quiet, NULL);
    int rv = pf_run_string(m, text, "fuzz.dss");
    if (rv != 0 && pf_errmsg(m)[0] == '\0') {
        abort(); /* an error always says what and where */
    }
    if (rv == 0 && m->maxiter <= 100 && m->maxcontroliter <= 100) {
        struct pf_result res;
        rv = pf_solve(m);
        if (rv == 0 || rv == BASE_ENOCONVERGE) {
            if (pf_get_result(m, &res) != 0) {
                abort();
            }
            for (size_t i = 0; i < pf_node_count(m); i++) {
                struct pf_node nd;
                if (pf_node_get(m, i, &nd) != 0) {
                    abort();
                }
            }
            for (size_t i = 0; i < pf_element_count(m); i++) {
                struct pf_element el;
                if (pf_element_get(m, i, &el) != 0) {
                    abort();
                }
            }
            pf_set_load_mult(m, 0.5);
            (void)pf_solve(m);
        }
    }
    pf_model_free(m);
    base_free(text);
    base_free(low);
    return 0;
}
