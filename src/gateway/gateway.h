/* SPDX-License-Identifier: MIT */
/* Public header of gateway: the ledger node's HTTP/JSON API (libmicrohttpd),
 * API keys mapped to identities, the event stream, Prometheus metrics. */
#ifndef GL_GATEWAY_H
#define GL_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "ledger/ledger.h"
#include "order/order.h"
#include "store/store.h"

/*
 * A gateway serves one channel of an open ledger over HTTP (routes and JSON
 * shapes: docs/api.md, docs/api.yaml). It never owns the ledger, the
 * ordering or the off-chain store: the node (apps/cmd_node.c) opens them,
 * hands them over borrowed, and closes them after gw_free().
 *
 * Lifecycle, in this order:
 *   gw_new()      subscribes to the ledger (before ordering starts)
 *   gw_start()    takes the running orderer and listens
 *   gw_quiesce()  stops accepting and ends event streams
 *   (the node stops ordering: every waiting submission gets its answer)
 *   gw_free()     closes the remaining connections
 */

/** Load the key and certificate of member @who ("ORG/NAME") for an API key
 *  that maps to it. Returns 0 or a BASE_E* code. */
typedef int (*gw_identity_fn)(void *arg, const char *who, struct lg_cert *cert,
                              struct cr_keypair *key);

/** A static page served as-is (the dashboard fills GET / with one). */
struct gw_page {
    const char *path;         /* "/" or "/app.js"; borrowed */
    const char *content_type; /* borrowed */
    const void *body;         /* borrowed until gw_free */
    size_t len;
};

struct gw_options {
    const char *listen;   /* "HOST:PORT"; port 0 picks a free one */
    const char *tls_cert; /* PEM text; both set: HTTPS only. Copied. */
    const char *tls_key;
    size_t max_body;          /* request body limit; 0: 8 MiB */
    unsigned max_connections; /* request connections; 0: 1000 */
    /* Event streams have a pool of their own, beside the requests', so
     * open streams never take the slots of other requests; each client
     * (API key, and source address) may hold at most max_streams_per_client
     * of them. 0: 256 and 16. */
    unsigned max_streams;
    unsigned max_streams_per_client;
    unsigned idle_timeout_s;    /* no traffic for this long closes; 0: 30 */
    unsigned request_timeout_s; /* a body must arrive within; 0: 30 */
    unsigned threads;           /* polling threads; 0: one per core */
    unsigned keepalive_s;       /* event-stream comment interval; 0: 15 */
    bool require_key;           /* every /v1 route needs an API key */
    bool access_log;            /* one JSON log line per request */
    const char *keys_path;      /* API key file (borrowed); NULL: none */
    gw_identity_fn identity;    /* how keys reach their member's key */
    void *identity_arg;
    const struct gw_page *pages; /* borrowed until gw_free; may be NULL */
    size_t npages;
};

struct gw_server;

/**
 * Create a gateway for channel @ch of @l with off-chain store @off (both
 * borrowed until gw_free) and options @opt (copied; the strings and pages
 * it points to are borrowed, TLS PEM text is copied). Subscribes to the
 * ledger's commits, so call it before ordering starts; the ledger must not
 * commit after gw_free.
 * Errors: BASE_ENOMEM, BASE_EFULL (too many subscribers), BASE_EINVAL (bad
 * options), BASE_ECORRUPT (unreadable key file); @errmsg says why.
 */
int gw_new(struct gw_server **out, struct lg_ledger *l, struct lg_channel *ch,
           struct kv_offchain *off, const struct gw_options *opt,
           char *errmsg) BASE_WUR;
/** Listen and serve, submitting through orderer @ord (solo or a cluster:
 *  order.h's common interface; borrowed until gw_free). The gateway
 *  reaches ordering only through ord_orderer_submit and
 *  ord_orderer_stats. Errors: BASE_EIO (cannot bind; @errmsg says why),
 *  BASE_EINVAL (bad listen address), BASE_EUNSUPPORTED (TLS asked for,
 *  libmicrohttpd built without it). */
int gw_start(struct gw_server *g, struct ord_orderer *ord,
             char *errmsg) BASE_WUR;
/** The bound port (after gw_start). */
uint16_t gw_port(const struct gw_server *g);
/** Stop accepting connections and end every event stream. Requests that
 *  wait for their block keep waiting until ordering answers them. */
void gw_quiesce(struct gw_server *g);
/** Close everything; call after ordering has stopped. @g may be NULL. */
void gw_free(struct gw_server *g);

/** One route of the server (for the OpenAPI agreement test). */
struct gw_route_info {
    const char *method;
    const char *path; /* OpenAPI template: "/v1/blocks/{n}" */
};
/** The route table (static storage); returns its length. */
size_t gw_routes(const struct gw_route_info **out);

/** The HTTP status the API answers for @code, a BASE_E* code of
 *  src/base/err.h (docs/api.md, "Errors"): 4xx for what the caller got
 *  wrong, 500 for the node's own failures, 503 (with Retry-After) when the
 *  node cannot take the request now. Every code of err.h has its entry;
 *  anything else is 500. */
unsigned gw_http_status(int code);

/* ---- the cluster ------------------------------------------------------------
 * A node of a Raft cluster (docs/cluster.md) reaches its peers' gateways
 * over HTTP: struct gw_peers is the struct ord_peer_ops of node processes
 * (a follower forwards submissions to the leader, batched; the leader
 * sends refusals back, signed with the orderer key). Its gateway serves
 * the other side: GET /v1/cluster (this node's ord_raft_status),
 * POST /v1/cluster/forward, /v1/cluster/refused, /v1/cluster/members. */

struct gw_peers;

/** HTTP peers; @orderer (copied) signs refusal notices. Put gw_peer_ops()
 *  and the result in ord_raft_options.peers/peers_impl. Errors:
 *  BASE_ENOMEM, BASE_EIO (libcurl). */
int gw_peers_new(struct gw_peers **out,
                 const struct cr_keypair *orderer) BASE_WUR;
/** The operations (static storage). */
const struct ord_peer_ops *gw_peer_ops(void);
/** Blocks from the members' gateways over HTTP (GET /v1/blocks?from=
 *  &count=, at the HTTP part of each member's address): put it in
 *  ord_raft_options.blocks, with the struct gw_peers as blocks_impl (each
 *  request then carries the X-Gridledger-Peer header, so a member run
 *  with --require-key serves it; NULL: none). Static storage. */
const struct ord_block_source *gw_block_source(void);
/* A node's read of a member's blocks (GET /v1/blocks, GET /v1/blocks/{n})
 * carries "X-Gridledger-Peer: ID TIME SIGNATURE": node ID's signature,
 * with the orderer key, of the method, path and query at Unix time TIME.
 * A node run with --require-key takes it as a read-only key on those two
 * routes only, within GW_SIGNED_WINDOW_S of its clock (docs/cluster.md). */
#define GW_PEER_HEADER     "X-Gridledger-Peer"
#define GW_PEER_HEADER_MAX 192 /* the whole header line, NUL included */
#define GW_PEER_MAX_ARGS   8   /* query arguments a signed read may carry */
#define GW_SIGNED_WINDOW_S 300 /* clock skew taken on signed requests */
/** The header line "X-Gridledger-Peer: ID TIME SIGNATURE" into @out for
 *  node @id's request @method @target (the path and query as sent, e.g.
 *  "/v1/blocks?from=5&count=100", with no percent-escapes), signed with
 *  @orderer at Unix time @time (0: now). Errors: BASE_EINVAL (@target too
 *  long or more than GW_PEER_MAX_ARGS arguments), BASE_ENOMEM. */
int gw_peer_header(const struct cr_keypair *orderer, uint64_t id, uint64_t time,
                   const char *method, const char *target,
                   char out[GW_PEER_HEADER_MAX]) BASE_WUR;
/** Stop the sender threads and free @p (NULL is fine): after
 *  ord_raft_stop. */
void gw_peers_free(struct gw_peers *p);
/** Serve the cluster routes for node @r (borrowed until gw_free); call
 *  before gw_start. Without it the node is solo: GET /v1/cluster describes
 *  a cluster of one and the peers' routes answer 409. */
void gw_set_cluster(struct gw_server *g, struct ord_raft *r);
/** The JSON body of POST /v1/cluster/members adding node @id at @address
 *  ("A.B.C.D:PORT/HTTPHOST:PORT"), signed now with @orderer; *@json is
 *  the caller's (base_free). Errors: BASE_ENOMEM. */
int gw_cluster_add_request(const struct cr_keypair *orderer, uint64_t id,
                           const char *address, char **json) BASE_WUR;

/* ---- JSON shapes
 * ------------------------------------------------------------- The ledger's
 * records as the API answers them, shared with the command line (gridledger
 * query prints the same shapes). Each returns a new reference (NULL only when
 * out of memory). */
struct json_t;
/** Hex of @n bytes as a JSON string. */
struct json_t *gw_json_hex(const void *p, size_t n);
/** Set @field of object @o to the bytes as a string when they are UTF-8
 *  text without NUL, else "@field_hex" to their hex. */
void gw_json_set_bytes(struct json_t *o, const char *field, const void *p,
                       size_t n);
/** A transaction envelope (id, contract, function, args, creator, role,
 *  nonce) and, when @res is not NULL, its result (code, result, reason,
 *  payload). */
struct json_t *gw_json_tx(const struct lg_slice *env,
                          const struct lg_result *res);
/** lg_range() callback: appends {"key", "value"} to the JSON array @arg. */
int gw_json_range_cb(void *arg, struct lg_slice key, struct lg_slice val);
/** lg_history() callback: appends {"block", "tx", "deleted", "value"} to
 *  the JSON array @arg. */
int gw_json_history_cb(void *arg, const struct lg_history_entry *e);
/** A decoded block: its header fields and its transactions. */
struct json_t *gw_json_block(const struct lg_block *b);

/* ---- API keys ---------------------------------------------------------------
 * A key is a bearer token "glk_<ID>_<SECRET>" (ID 16 hex digits, SECRET 64)
 * that the gateway maps to a member identity and signs for, as the BLOSEM
 * gateway maps invocation keys to Fabric identities. The key file
 * (DIR/apikeys.json, mode 0600) holds only the SHA-256 of each token; a
 * running gateway re-reads it when it changes, so a revocation takes effect
 * at the next request.
 */
#define GW_KEY_ID_LEN    16
#define GW_KEY_TOKEN_LEN (4 + GW_KEY_ID_LEN + 1 + 64)
#define GW_ALLOW_MAX     512

struct gw_key {
    char id[GW_KEY_ID_LEN + 1];
    char name[LG_NAME_MAX + 1];
    char identity[2 * LG_NAME_MAX + 2]; /* ORG/NAME */
    /* Calls allowed, comma-separated CONTRACT.FUNCTION patterns where
     * either part may be "*"; "*" or "" alone: every call. */
    char allow[GW_ALLOW_MAX + 1];
    bool read_only; /* evaluate and read only: no transactions, no puts */
    bool revoked;
    uint64_t created; /* Unix seconds */
};

/** Create a key as described by @spec (name, identity, allow, read_only;
 *  the rest is filled in) in the key file @path (created if missing). The
 *  token goes to @token (GW_KEY_TOKEN_LEN+1 bytes) and is shown only now.
 *  @out (may be NULL) gets the stored record.
 *  Errors: BASE_EINVAL (bad name, identity or pattern), BASE_EEXIST (name
 *  taken by a live key), BASE_EIO, BASE_ECORRUPT (unreadable file). */
int gw_key_create(const char *path, const struct gw_key *spec, char *token,
                  struct gw_key *out) BASE_WUR;
/** Every key of @path into *@keys (the caller frees with base_free), count
 *  in *@n. A missing file holds no keys. Errors: BASE_EIO, BASE_ECORRUPT,
 *  BASE_ENOMEM. */
int gw_key_list(const char *path, struct gw_key **keys, size_t *n) BASE_WUR;
/** Revoke key @id (by id or name). Errors: BASE_ENOTFOUND, BASE_EIO,
 *  BASE_ECORRUPT. */
int gw_key_revoke(const char *path, const char *id) BASE_WUR;
/** True when @k allows calling @contract.@function. */
bool gw_key_allows(const struct gw_key *k, const char *contract,
                   const char *function);

#endif
