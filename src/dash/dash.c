/* SPDX-License-Identifier: MIT */
/* The dashboard's pages: the built-in HTML and the market run's data. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dash/dash.h"
#include "dash_int.h"

/* A day of per-minute voltages of the IEEE 123 feeder is a few MB; a file
 * far past that is not a run's report data. */
#define RUN_FILE_MAX (64u << 20)

static const struct dash__template *find(const char *name)
{
    for (size_t i = 0; i < dash__ntemplates; i++) {
        if (strcmp(dash__templates[i].name, name) == 0) {
            return &dash__templates[i];
        }
    }
    return NULL;
}

/* The directory holding @dir (without trailing slashes), into @out. */
static void parent_of(const char *dir, char *out, size_t size)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    while (n > 0 && dir[n - 1] != '/') {
        n--;
    }
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    if (n == 0) {
        snprintf(out, size, ".");
    } else {
        snprintf(out, size, "%.*s", (int)n, dir);
    }
}

/* run.json: the run's report data when the ledger sits in a run's output
 * directory, else why not. Only NULL when out of memory. */
static json_t *run_json(const char *ledger_dir)
{
    char parent[PATH_MAX], data[PATH_MAX + 32], results[PATH_MAX + 32];
    parent_of(ledger_dir, parent, sizeof parent);
    snprintf(data, sizeof data, "%s/report-data.json", parent);
    snprintf(results, sizeof results, "%s/results.json", parent);
    char *text = NULL;
    size_t len = 0;
    const char *why = NULL;
    if (access(results, R_OK) != 0) {
        why = "the ledger is not in a market run's output directory (no "
              "results.json beside it)";
    } else if (base_read_file(data, RUN_FILE_MAX, &text, &len) != 0) {
        why = "the market run beside the ledger left no readable "
              "report-data.json";
    }
    json_t *d = why ? NULL : json_loadb(text, len, 0, NULL);
    base_free(text);
    if (why == NULL && !json_is_object(d)) {
        why = "report-data.json beside the ledger is not a JSON object";
    }
    if (why != NULL) {
        json_decref(d);
        return json_pack("{s:b, s:s}", "available", 0, "reason", why);
    }
    return json_pack("{s:b, s:s, s:o}", "available", 1, "file",
                     "report-data.json", "data", d);
}

int dash_pages_load(struct dash_pages *p, const char *ledger_dir, char *errmsg)
{
    memset(p, 0, sizeof *p);
    const struct dash__template *t = find("dashboard");
    if (t == NULL) {
        /* The build embeds it: a missing page is a broken build. */
        return base_errf(errmsg, BASE_ECORRUPT,
                         "the dashboard page is not built in");
    }
    json_t *run = run_json(ledger_dir);
    char *s = run ? json_dumps(run, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(run);
    size_t len = s ? strlen(s) : 0;
    p->run = s ? base_malloc(len + 1) : NULL;
    if (p->run == NULL) {
        free(s);
        return base_errf(errmsg, BASE_ENOMEM,
                         "out of memory loading the dashboard");
    }
    memcpy(p->run, s, len + 1);
    free(s);
    p->run_len = len;
    p->pages[0] =
        (struct gw_page){"/", "text/html; charset=utf-8", t->data, t->len};
    p->pages[1] = (struct gw_page){
        "/ui/run.json", "application/json; charset=utf-8", p->run, p->run_len};
    p->n = 2;
    return 0;
}

void dash_pages_release(struct dash_pages *p)
{
    if (p != NULL) {
        base_free(p->run);
        memset(p, 0, sizeof *p);
    }
}
