/* SPDX-License-Identifier: MIT */
/* The commands' --node mode: options, opening the remote client, GETs. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "node.h"
#include "remote.h"

void app_remote_take(int *argc, char **argv, struct app_remote *r)
{
    memset(r, 0, sizeof *r);
    r->url = app_take_opt(argc, argv, "--node");
    r->keys = app_take_opt(argc, argv, "--keys");
    r->api_key = app_take_opt(argc, argv, "--api-key");
    r->ca_file = app_take_opt(argc, argv, "--ca-file");
    r->insecure = app_take_flag(argc, argv, "--insecure");
}

int app_remote_open(const struct app_remote *r, const char *as,
                    struct mk_client **out)
{
    if (cr_init() != 0) {
        return cmd_fail(1, "cannot initialise libsodium");
    }
    struct mk_http_options o = {
        .ca_file = r->ca_file, .insecure = r->insecure, .api_key = r->api_key};
    char err[BASE_ERRMSG_SIZE];
    int rv;
    if (as != NULL) {
        if (r->keys == NULL) {
            return cmd_fail(2, "--as %s needs --keys DIR (where its key is)",
                            as);
        }
        struct app_member m;
        if (app_member_load(&m, r->keys, as) != 0) {
            return 1;
        }
        rv = mk_client_http(out, r->url, &m.cert, &m.key, &o, err);
        cr_wipe(&m.key, sizeof m.key);
    } else {
        rv = mk_client_http(out, r->url, NULL, NULL, &o, err);
    }
    if (rv != 0) {
        return cmd_fail(rv == BASE_EINVAL ? 2 : 1, "%s", err);
    }
    return 0;
}

int app_remote_get(struct mk_client *c, const char *path, long *status,
                   json_t **out)
{
    struct base_buf a;
    base_buf_init(&a, 0);
    char err[BASE_ERRMSG_SIZE];
    int rv = mk_http_request(c, "GET", path, NULL, NULL, 0, status, &a, err);
    *out = NULL;
    if (rv != 0) {
        rv = cmd_fail(1, "%s", err);
    } else {
        *out = json_loadb((const char *)a.data, a.len, 0, NULL);
    }
    base_buf_release(&a);
    return rv;
}

int app_url_escape(struct base_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') ||
            (ch != 0 && strchr("-_.~", ch) != NULL)) {
            rv = base_buf_add_u8(out, ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rv = base_buf_add(out, e, 3);
        }
    }
    return rv;
}
