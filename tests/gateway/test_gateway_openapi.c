/* SPDX-License-Identifier: MIT */
/* docs/api.yaml and the server agree: every route the server has is in the
 * file, every route in the file is in the server's table and answers
 * something other than "no such route" on a running node. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "gwtest.h"

struct op {
    char method[8];
    char path[128];
};

/* The (method, path) pairs of the file's "paths:" section: a path is a
 * two-space-indented key starting with "/", a method a four-space one. */
static size_t read_ops(struct op *ops, size_t max)
{
    char path[PATH_MAX];
    tl_source_path(path, "docs/api.yaml");
    char *text;
    size_t len;
    assert_int_equal(base_read_file(path, 1 << 20, &text, &len), 0);
    size_t n = 0;
    bool in_paths = false;
    char cur[128] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "paths:", 6) == 0) {
            in_paths = true;
            continue;
        }
        if (line[0] != ' ' && line[0] != '#') {
            in_paths = false;
        }
        if (!in_paths) {
            continue;
        }
        if (strncmp(line, "  /", 3) == 0) {
            char *colon = strrchr(line, ':');
            assert_non_null(colon);
            *colon = '\0';
            snprintf(cur, sizeof cur, "%s", line + 2);
            continue;
        }
        const char *methods[] = {"get", "post", "put", "delete", "patch"};
        for (size_t m = 0; m < BASE_ARRAY_LEN(methods); m++) {
            size_t ml = strlen(methods[m]);
            if (strncmp(line, "    ", 4) == 0 && line[4] != ' ' &&
                strncmp(line + 4, methods[m], ml) == 0 && line[4 + ml] == ':') {
                assert_true(n < max);
                for (size_t k = 0; k <= ml; k++) {
                    ops[n].method[k] = (char)toupper(methods[m][k]);
                }
                snprintf(ops[n].path, sizeof ops[n].path, "%s", cur);
                n++;
            }
        }
    }
    base_free(text);
    return n;
}

/* A concrete path for a template: each {param} gets an example. */
static void instantiate(const char *tmpl, char *out, size_t size)
{
    static const char *zeros = "0000000000000000000000000000000000000000000"
                               "000000000000000000000";
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 70 < size;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t nl = (size_t)(close - p - 1);
            const char *v = "x";
            if (strncmp(p + 1, "contract", nl) == 0) {
                v = "asset";
            } else if (strncmp(p + 1, "n", nl) == 0) {
                v = "0";
            } else if (strncmp(p + 1, "id", nl) == 0 ||
                       strncmp(p + 1, "hash", nl) == 0) {
                v = zeros;
            }
            o += (size_t)snprintf(out + o, size - o, "%s", v);
            p = close + 1;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static void test_routes_agree(void **state)
{
    (void)state;
    struct op ops[128];
    size_t n = read_ops(ops, 128);
    const struct gw_route_info *routes;
    size_t nr = gw_routes(&routes);
    assert_true(n >= 10);
    for (size_t i = 0; i < nr; i++) {
        bool found = false;
        for (size_t k = 0; k < n && !found; k++) {
            found = strcmp(ops[k].method, routes[i].method) == 0 &&
                    strcmp(ops[k].path, routes[i].path) == 0;
        }
        if (!found) {
            fail_msg("the server's %s %s is not in docs/api.yaml",
                     routes[i].method, routes[i].path);
        }
    }
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        for (size_t i = 0; i < nr && !found; i++) {
            found = strcmp(ops[k].method, routes[i].method) == 0 &&
                    strcmp(ops[k].path, routes[i].path) == 0;
        }
        if (!found) {
            fail_msg("docs/api.yaml has %s %s, the server does not",
                     ops[k].method, ops[k].path);
        }
    }

    /* Every documented route answers on a running node with something
     * other than the router's "no such route" (404 not_found, 405). */
    struct gt_node node;
    gt_ledger(&node, "gw-openapi");
    gt_start(&node, "--no-access-log");
    for (size_t k = 0; k < n; k++) {
        char path[512];
        instantiate(ops[k].path, path, sizeof path);
        struct gt_resp r;
        if (strcmp(ops[k].path, "/v1/events") == 0) {
            /* A stream never ends: only its status line matters. */
            CURL *c = curl_easy_init();
            char url[600];
            snprintf(url, sizeof url, "%s%s", node.url, path);
            curl_easy_setopt(c, CURLOPT_URL, url);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
            FILE *null = fopen("/dev/null", "w");
            curl_easy_setopt(c, CURLOPT_WRITEDATA, null);
            curl_easy_perform(c);
            long st = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
            curl_easy_cleanup(c);
            fclose(null);
            assert_int_equal(st, 200);
            continue;
        }
        const char *body = strcmp(ops[k].method, "POST") == 0 ? "{}" : NULL;
        gt_http(&node, &r, ops[k].method, path, NULL, "application/json", body,
                body ? 2 : 0);
        if (r.status == 0 || r.status == 405 ||
            (r.status == 404 && strstr(r.body, "\"not_found\"") != NULL)) {
            fail_msg("%s %s (from %s) answers %ld: %s", ops[k].method, path,
                     ops[k].path, r.status, r.body);
        }
        gt_free(&r);
    }
    assert_int_equal(gt_stop(&node), 0);
    gt_cleanup(&node);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_agree),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}
