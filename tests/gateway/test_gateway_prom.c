/* SPDX-License-Identifier: MIT */
/* A real Prometheus server scrapes the node's /metrics, and a PromQL query
 * through its HTTP API returns the committed transaction count. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gwtest.h"

#define NTX 25

static pid_t start_prometheus(const char *dir, const char *target, int port)
{
    char cfg[PATH_MAX + 32], text[1024];
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", dir);
    snprintf(text, sizeof text,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  evaluation_interval: 1s\n"
             "scrape_configs:\n"
             "  - job_name: gridledger\n"
             "    static_configs:\n"
             "      - targets: ['%s']\n",
             target);
    assert_int_equal(base_write_file(cfg, text, strlen(text)), 0);
    char data[PATH_MAX + 16], listen[64], log[PATH_MAX + 32];
    snprintf(data, sizeof data, "%s/tsdb", dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/prometheus.log", dir);
    char cfgarg[PATH_MAX + 64], dataarg[PATH_MAX + 64];
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl("/usr/bin/prometheus", "prometheus", cfgarg, dataarg, listen,
              "--web.enable-lifecycle", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The value of an instant PromQL query, or -1 while it has none. */
static double query(const struct gt_node *prom, const char *promql)
{
    CURL *c = curl_easy_init();
    char *esc = curl_easy_escape(c, promql, 0);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/query?query=%s", esc);
    curl_free(esc);
    curl_easy_cleanup(c);
    struct gt_resp r;
    double v = -1;
    if (gt_get(prom, &r, path) == 200) {
        json_t *o = json_loads(r.body, 0, NULL);
        json_t *res = json_object_get(json_object_get(o, "data"), "result");
        json_t *val = json_object_get(json_array_get(res, 0), "value");
        const char *s = json_string_value(json_array_get(val, 1));
        if (s != NULL) {
            v = strtod(s, NULL);
        }
        json_decref(o);
    }
    gt_free(&r);
    return v;
}

static void test_prometheus_scrapes(void **state)
{
    (void)state;
    struct gt_node n;
    gt_ledger(&n, "gw-prom");
    char key[128];
    gt_apikey(&n, key, "--name prom --identity DERA1/operator");
    gt_start(&n, "--no-access-log");
    for (int i = 0; i < NTX; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"contract\":\"asset\",\"function\":\"create\","
                 "\"args\":[\"p%d\",\"1\"]}",
                 i);
        struct gt_resp r;
        assert_int_equal(gt_post_json(&n, &r, "/v1/invoke", key, body), 200);
        gt_free(&r);
    }
    /* One invalid one too, counted under its code. */
    struct gt_resp r;
    assert_int_equal(gt_post_json(&n, &r, "/v1/invoke", key,
                                  "{\"contract\":\"asset\",\"function\":"
                                  "\"create\",\"args\":[\"p0\",\"1\"]}"),
                     200);
    gt_free(&r);

    int port = tl_free_port();
    const char *target = strstr(n.url, "//") + 2;
    pid_t pid = start_prometheus(n.dir, target, port);
    struct gt_node prom;
    memset(&prom, 0, sizeof prom);
    snprintf(prom.url, sizeof prom.url, "http://127.0.0.1:%d", port);
    double valid = -1, invalid = -1, height = -1;
    for (int i = 0; i < 600 && (valid != NTX || invalid != 1); i++) {
        usleep(100000);
        valid = query(&prom, "sum(gl_transactions_committed_total{result="
                             "\"VALID\"})");
        invalid = query(&prom, "gl_transactions_committed_total{result="
                               "\"EEXIST\"}");
    }
    height = query(&prom, "gl_block_height");
    double up = query(&prom, "up{job=\"gridledger\"}");
    double reqs =
        query(&prom, "sum(gl_http_requests_total{route=\"/v1/invoke\"})");
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (valid != NTX) {
        fail_msg("Prometheus reports %g committed transactions, want %d "
                 "(see %s/prometheus.log)",
                 valid, NTX, n.dir);
    }
    assert_true(invalid == 1);
    assert_true(up == 1);
    assert_true(height == NTX + 2);
    assert_true(reqs >= NTX + 1);
    assert_int_equal(gt_stop(&n), 0);
    gt_cleanup(&n);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_scrapes),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}
