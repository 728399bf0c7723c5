/* SPDX-License-Identifier: MIT */
/* gridledger status: a cluster's members, leader, term, commit index and
 * each node's height and state hash, asked over HTTP. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"

static const char usage[] =
    "usage: gridledger status --node URL [--json]\n\n"
    "Ask the node at URL (gridledger node) for its view of the cluster\n"
    "(GET /v1/cluster): members, leader, term and commit index; then ask\n"
    "every member for its own role, height and state hash, and print one\n"
    "row per node. Nodes at the same height must show the same state hash;\n"
    "the last line says whether they do. A member that does not answer\n"
    "within a second shows as unreachable. A solo node shows as a cluster\n"
    "of one.\n\n"
    "  --json   print the nodes' answers as one JSON object instead\n";

/* GET URL/v1/cluster, parsed; NULL when it does not answer. */
static json_t *ask(const char *url, long timeout_ms)
{
    char full[600];
    snprintf(full, sizeof full, "%s/v1/cluster", url);
    struct base_buf b;
    base_buf_init(&b, 0);
    long status;
    json_t *o = NULL;
    if (app_http(full, NULL, NULL, 0, timeout_ms, &status, &b) == 0 &&
        status == 200) {
        o = json_loadb((const char *)b.data, b.len, 0, NULL);
    }
    base_buf_release(&b);
    return o;
}

static const char *str(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : dflt;
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void row(json_t *m, json_t *v)
{
    char hash[20] = "-";
    if (v != NULL) {
        snprintf(hash, sizeof hash, "%.16s", str(v, "state_hash", "-"));
    }
    printf("%-4lld %-12s %-22s %-28s ", num(m, "id"),
           v != NULL ? str(v, "role", "?") : "unreachable", str(m, "raft", "-"),
           str(m, "url", "-"));
    if (v != NULL) {
        printf("%-6lld %-8lld %-8lld %-8lld %s%s\n", num(v, "term"),
               num(v, "commit_index"), num(v, "last_applied"), num(v, "height"),
               hash,
               json_is_true(json_object_get(v, "failed")) ? "  FAILED" : "");
    } else {
        printf("%-6s %-8s %-8s %-8s %s\n", "-", "-", "-", "-", "-");
    }
}

int cmd_status(int argc, char **argv)
{
    const char *node = app_take_opt(&argc, argv, "--node");
    bool as_json = app_take_flag(&argc, argv, "--json");
    if (argc >= 2 && cmd_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 1 || node == NULL) {
        if (argc > 1) {
            cmd_fail(2, "unexpected argument '%s'", argv[1]);
        }
        fputs(usage, stderr);
        return 2;
    }
    char base[512];
    snprintf(base, sizeof base, "%s", node);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') {
        base[--bl] = '\0';
    }
    json_t *view = ask(base, 5000);
    if (view == NULL) {
        return cmd_fail(1,
                        "%s does not answer GET /v1/cluster: is a "
                        "gridledger node running there?",
                        base);
    }
    json_t *members = json_object_get(view, "members");
    json_t *answers = json_object();
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        const char *url = str(m, "url", NULL);
        json_t *v = NULL;
        if (num(m, "id") == num(view, "id")) {
            v = json_incref(view);
        } else if (url != NULL) {
            v = ask(url, 1000);
        }
        char key[24];
        snprintf(key, sizeof key, "%lld", num(m, "id"));
        json_object_set_new(answers, key, v != NULL ? v : json_null());
    }
    if (as_json) {
        json_t *out = json_pack("{s:O, s:O}", "view", view, "nodes", answers);
        char *s = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(out);
        json_decref(answers);
        json_decref(view);
        return 0;
    }
    if (strcmp(str(view, "mode", ""), "solo") == 0) {
        printf("solo node (no cluster): height %lld, state hash %s\n",
               num(view, "height"), str(view, "state_hash", "-"));
        json_decref(answers);
        json_decref(view);
        return 0;
    }
    printf("cluster of %zu members; node %lld says: leader %lld, term %lld, "
           "commit index %lld\n",
           json_array_size(members), num(view, "id"), num(view, "leader"),
           num(view, "term"), num(view, "commit_index"));
    printf("%-4s %-12s %-22s %-28s %-6s %-8s %-8s %-8s %s\n", "ID", "ROLE",
           "RAFT", "HTTP", "TERM", "COMMIT", "APPLIED", "HEIGHT", "STATE HASH");
    /* Compare the state hashes of the nodes at the greatest height. */
    long long top = -1;
    const char *top_hash = NULL;
    bool agree = true;
    size_t reached = 0, at_top = 0;
    json_array_foreach(members, i, m)
    {
        char key[24];
        snprintf(key, sizeof key, "%lld", num(m, "id"));
        json_t *v = json_object_get(answers, key);
        v = json_is_object(v) ? v : NULL;
        row(m, v);
        if (v != NULL) {
            reached++;
            top = num(v, "height") > top ? num(v, "height") : top;
        }
    }
    json_array_foreach(members, i, m)
    {
        char key[24];
        snprintf(key, sizeof key, "%lld", num(m, "id"));
        json_t *v = json_object_get(answers, key);
        if (json_is_object(v) && num(v, "height") == top) {
            const char *h = str(v, "state_hash", "");
            agree = agree && (top_hash == NULL || strcmp(h, top_hash) == 0);
            top_hash = h;
            at_top++;
        }
    }
    printf("%zu of %zu nodes answered; %zu at height %lld, %s\n", reached,
           json_array_size(members), at_top, top,
           agree ? "same state hash" : "STATE HASHES DIFFER");
    json_decref(answers);
    json_decref(view);
    return agree ? 0 : 3;
}
