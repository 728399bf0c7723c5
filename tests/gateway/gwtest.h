/* SPDX-License-Identifier: MIT */
/* What the gateway tests share: a node process on a free loopback port,
 * HTTP through libcurl, members' keys, API keys. */
#ifndef GL_TESTS_GWTEST_H
#define GL_TESTS_GWTEST_H

#include <limits.h>
#include <sys/types.h>

#include "ledger/ledger.h"
#include "testlib.h"

struct gt_node {
    pid_t pid;
    char dir[PATH_MAX]; /* the temp dir; the ledger is DIR/L */
    char ledger[PATH_MAX];
    char url[256];
    char log[PATH_MAX];
};

/** A fresh temp dir with a ledger made by `gridledger init` in DIR/L. */
void gt_ledger(struct gt_node *n, const char *tag);
/** Start `gridledger node` on 127.0.0.1:0 with @extra arguments (may be
 *  ""), and wait until it listens (its URL goes to n->url). */
void gt_start(struct gt_node *n, const char *extra);
/** Make a self-signed certificate for 127.0.0.1 (DIR/cert.pem, its key
 *  DIR/key.pem) and start the node with TLS on it. */
void gt_start_tls(struct gt_node *n);
/** SIGTERM and wait; returns the exit status (-1 if killed). */
int gt_stop(struct gt_node *n);
/** Stop (if running) and remove the temp dir. */
void gt_cleanup(struct gt_node *n);

struct gt_resp {
    long status;
    char *body; /* NUL-terminated; free with gt_free */
    size_t len;
    char ctype[128];
};

/** One HTTP request to @n's @path. @headers is NULL-terminated (may be
 *  NULL); @ctype (may be NULL) sets Content-Type when a body is sent;
 *  @body NULL sends none. Returns the status (0 when the request failed). */
long gt_http(const struct gt_node *n, struct gt_resp *r, const char *method,
             const char *path, const char *const *headers, const char *ctype,
             const void *body, size_t len);
/** GET with no headers. */
long gt_get(const struct gt_node *n, struct gt_resp *r, const char *path);
/** POST JSON text with an optional API key (NULL: none). */
long gt_post_json(const struct gt_node *n, struct gt_resp *r, const char *path,
                  const char *key, const char *json);
void gt_free(struct gt_resp *r);

/** Load member @who's key and certificate from the ledger's keys. */
void gt_member(const struct gt_node *n, const char *who, struct lg_cert *cert,
               struct cr_keypair *key);
/** A signed envelope (reset first) for @contract.@fn with @nargs string
 *  arguments, by @who, with @nonce. */
void gt_envelope(const struct gt_node *n, struct base_buf *out, const char *who,
                 uint64_t nonce, const char *contract, const char *fn,
                 int nargs, ...);
/** A batch body (u32 length, envelope; repeated) of @count asset.create
 *  envelopes by @who, assets PREFIX0.., nonces from @nonce; @out is reset
 *  first. */
void gt_batch(const struct gt_node *n, struct base_buf *out, const char *who,
              uint64_t nonce, const char *prefix, int count);
/** `gridledger apikey create` with @args (e.g. "--identity DERA1/operator
 *  --name k1"); the key token is copied to @token (GW_KEY_TOKEN_LEN+1). */
void gt_apikey(const struct gt_node *n, char *token, const char *args);
/** Height of the ledger, through GET /v1/tip. */
uint64_t gt_height(const struct gt_node *n);

#endif
