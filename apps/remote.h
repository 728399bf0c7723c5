/* SPDX-License-Identifier: MIT */
/* The commands' --node mode: tx, query, run and bench against a node in
 * another process, through the remote client (market.h). */
#ifndef GL_APPS_REMOTE_H
#define GL_APPS_REMOTE_H

#include <jansson.h>
#include <stdbool.h>

#include "market/market.h"

/* The options every --node command takes. */
struct app_remote {
    const char *url;     /* --node URL; NULL: not remote */
    const char *keys;    /* --keys DIR: DIR/keys/ORG/NAME.{key,cert} */
    const char *api_key; /* --api-key KEY: the node signs for its member */
    const char *ca_file; /* --ca-file PEM */
    bool insecure;       /* --insecure */
};

#define APP_REMOTE_USAGE                                                       \
    "  --node URL        a node in another process (gridledger node),\n"       \
    "                    http:// or https://\n"                                \
    "  --keys DIR        where the member's key is (DIR/keys/ORG/NAME.key):\n" \
    "                    the node's ledger directory or a copy of its keys\n"  \
    "  --api-key KEY     call as the API key's member instead (the node\n"     \
    "                    signs); also opens a --require-key node's reads\n"    \
    "  --ca-file PEM     trust this certificate authority (https)\n"           \
    "  --insecure        https without checking the certificate (tests)\n"

/** Take the --node options out of argv (argc updated). */
void app_remote_take(int *argc, char **argv, struct app_remote *r);
/** Open a client of r->url: signing as @as (ORG/NAME, key from r->keys)
 *  when @as is not NULL, else as r->api_key's member, else read-only.
 *  Prints the reason and returns non-zero on failure. */
int app_remote_open(const struct app_remote *r, const char *as,
                    struct mk_client **out);
/** GET @path of the node and parse its JSON answer (*@out, the caller's
 *  reference; NULL when the answer is not JSON). *@status gets the HTTP
 *  status. Prints the reason and returns non-zero when there was no
 *  answer. */
int app_remote_get(struct mk_client *c, const char *path, long *status,
                   json_t **out);
/** Append @s (@len bytes) to @out percent-encoded for a URL path or query
 *  (unreserved characters kept). Errors: BASE_ENOMEM. */
int app_url_escape(struct base_buf *out, const char *s, size_t len);

#endif
