/* SPDX-License-Identifier: MIT */
/* Private to gateway: the server, requests, routes, metrics, the key store
 * and the event stream, shared by the files of the module. */
#ifndef GL_GATEWAY_INT_H
#define GL_GATEWAY_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "contract/contract.h"
#include "gateway/gateway.h"

struct json_t;
struct gw_server;
struct gw_req;

/* ---- routes ------------------------------------------------------------- */

enum route_flags {
    R_BODY = 1 << 0,   /* takes a request body */
    R_PUBLIC = 1 << 1, /* never needs a key (health, metrics, pages) */
    R_KEY = 1 << 2,    /* always needs a key (it acts as the key's member) */
    R_WRITE = 1 << 3,  /* a key used here must not be read-only */
    R_PEER = 1 << 4,   /* a peer's signed read (X-Gridledger-Peer) counts
                          as a read-only key */
    R_SIGNED = 1 << 5, /* a signed request authenticates itself, also on
                          a --require-key node: an envelope in the body, or
                          (a route without one) MK_READ_HEADER's signed
                          read */
};

#define GW_MAX_PARAMS 3

typedef enum MHD_Result (*gw_handler)(struct gw_server *g, struct gw_req *r);

struct gw_route {
    struct gw_route_info info;
    unsigned flags;
    gw_handler fn;
    /* Content types accepted for the body, space-separated; NULL: any. */
    const char *types;
};

extern const struct gw_route gw__route_table[];
extern const size_t gw__nroutes;

/* ---- metrics ---------------------------------------------------------- */

#define GW_NSTATUS  17 /* distinct HTTP statuses counted per route */
#define GW_NCODES   64 /* result codes counted: index -code, 0 is VALID */
#define GW_NBUCKETS 14

struct gw_metrics {
    atomic_uint_fast64_t http[64][GW_NSTATUS]; /* route x status slot */
    atomic_uint_fast64_t committed[GW_NCODES]; /* by result code */
    atomic_uint_fast64_t refused[GW_NCODES];   /* before ordering */
    atomic_uint_fast64_t lat_bucket[GW_NBUCKETS + 1];
    atomic_uint_fast64_t lat_count;
    atomic_uint_fast64_t lat_sum_ns;
    atomic_uint_fast64_t blocks;
    atomic_uint_fast64_t off_ops[2][2]; /* put/get x ok/error */
    atomic_uint_fast64_t events;
    atomic_uint_fast64_t streams;
};

void gw__metrics_http(struct gw_metrics *m, size_t route, unsigned status);
void gw__metrics_result(struct gw_metrics *m, int code, bool committed,
                        uint64_t latency_ns);
/** Count a block's outcomes by result code. */
void gw__metrics_committed(struct gw_metrics *m, const struct lg_outcome *out,
                           size_t n);
void gw__metrics_offchain(struct gw_metrics *m, bool put, int rv);
/** The Prometheus text exposition of everything, appended to @out. */
int gw__metrics_render(struct gw_server *g, struct base_buf *out) BASE_WUR;

/* ---- API keys, as the server holds them ------------------------------- */

struct gw_keyent {
    struct gw_key key;
    uint8_t hash[32];
    /* The member the key signs as, loaded at first use. */
    bool loaded;
    struct lg_cert cert;
    struct cr_keypair kp;
};

struct gw_keystore {
    const char *path; /* borrowed; NULL: no keys */
    pthread_mutex_t lock;
    struct gw_keyent *ents;
    size_t n;
    /* What the file looked like when read: reload when it changes. */
    uint64_t ino, size, mtime_ns;
    bool seen;
    gw_identity_fn identity;
    void *identity_arg;
};

/** Read the key file into memory. */
int gw__keys_load(struct gw_keystore *ks, char *errmsg) BASE_WUR;
void gw__keys_release(struct gw_keystore *ks);
/** Look up bearer @token: a copy of its record (and its member when
 *  @cert/@kp are not NULL) goes out. Errors: BASE_EPERM (unknown, malformed
 *  or revoked; @why says which), BASE_ENOTFOUND (member's key missing). */
int gw__keys_check(struct gw_keystore *ks, const char *token,
                   struct gw_key *out, struct lg_cert *cert,
                   struct cr_keypair *kp, const char **why) BASE_WUR;
/** Parse a key file's text into records (the caller frees *@out). */
int gw__keys_parse(const char *text, size_t len, struct gw_keyent **out,
                   size_t *n) BASE_WUR;

/* ---- the server ------------------------------------------------------- */

struct gw_sse; /* one event-stream client */

/* Connections kept beyond the request and stream pools for /healthz,
 * /readyz and /metrics, so they answer when both pools are full. */
#define GW_RESERVED_CONNS 8
/* Longest client name in the streams' pool: "a:" and an IPv6 address. */
#define GW_CLIENT_MAX 64

/* One connection, from libmicrohttpd's start notice to its close. */
struct gw_conn {
    int fd;                     /* libmicrohttpd's; never closed here */
    atomic_uint_fast64_t since; /* waiting for a request head since */
    atomic_bool in_request;     /* a head is in: the request's own limits */
    struct gw_conn *prev, *next;
};

struct gw_stream_client {
    char who[GW_CLIENT_MAX];
    unsigned n;
};

struct gw_server {
    struct lg_ledger *ledger;
    struct lg_channel *ch;
    struct ord_orderer *ord; /* NULL until gw_start */
    struct ord_raft *raft;   /* a cluster node's orderer; NULL: solo */
    struct kv_offchain *off;
    struct gw_options opt;
    char *tls_cert, *tls_key; /* owned copies */
    struct MHD_Daemon *mhd;
    /* The listen socket MHD_quiesce_daemon handed back. MHD's threads may
     * still poll it until MHD_stop_daemon, so gw_free closes it after that
     * (libmicrohttpd's manual; closing it earlier raced, TSan). */
    bool have_quiesced;
    MHD_socket quiesced;
    uint16_t port;
    atomic_bool stopping;
    /* Handlers running now. gw_quiesce waits for them to finish, and a
     * handler entered after it began answers 503 without running, so no
     * handler reaches the orderer once ordering may be stopped. */
    atomic_uint in_handlers;
    atomic_uint_fast64_t nonce; /* for transactions signed for API keys */
    struct gw_metrics m;
    struct gw_keystore keys;
    /* Event streams waiting for the next block, and the ticker that keeps
     * them alive. */
    pthread_mutex_t sse_lock;
    pthread_cond_t tick_cv;
    struct gw_sse *waiting;
    /* The streams' pool (under sse_lock): how many are open, and how many
     * each client holds ("k:" API key id, "a:" source address; entries
     * with n == 0 are free; 2 * max_streams of them). */
    unsigned nstreams;
    struct gw_stream_client *clients;
    /* Connections open now (libmicrohttpd's connection notices): beyond
     * nstreams + max_connections, only health and metrics are served. */
    atomic_uint conns;
    /* Every open connection (under conn_lock), for the ticker to close
     * those that take too long to send a request's head (slow-loris). */
    pthread_mutex_t conn_lock;
    struct gw_conn *conn_list;
    bool ticker_started;
    pthread_t ticker;
    /* Submissions whose answers are all in, waiting to be resumed. The
     * resumer thread does it, so the orderer's committer (the one serial
     * step of ordering) never pays for waking HTTP threads. */
    pthread_mutex_t done_lock;
    pthread_cond_t done_cv;
    struct gw_req *done_head;
    bool resumer_started, resumer_stop;
    pthread_t resumer;
    /* The thread of a cluster add in progress (POST /v1/cluster/members):
     * it waits for libraft, so no HTTP thread does. */
    pthread_t add_thread;
    bool add_started;
    atomic_bool add_running;
    /* A throwaway key: the JSON form of a transaction is re-encoded with
     * lg_tx_build, which signs; the client's signature replaces it. */
    struct cr_keypair scratch;
    /* The contracts whose read rules the read routes apply (reads.c): the
     * built-in ones, which are what every node runs. */
    struct sc_registry contracts;
};

/* One HTTP request, from its headers to the completion callback. */
enum req_state { RQ_NEW, RQ_BODY, RQ_WAITING, RQ_READY };

struct gw_req {
    struct gw_server *g;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    size_t route; /* index, or gw__nroutes for "no route" */
    char *params[GW_MAX_PARAMS];
    enum req_state state;
    uint64_t t0;
    unsigned status;
    struct base_buf body;
    bool too_big;
    bool close; /* the answer closes the connection (bad framing) */
    bool have_key;
    struct gw_key key;
    /* Asynchronous submissions: results land here from ordering threads;
     * the last one resumes the connection. */
    atomic_size_t remaining;
    size_t nsub;
    bool batch;
    struct ord_result *res;
    void *subs;               /* one per submission, freed with the request */
    struct gw_req *next_done; /* on the server's done list */
    /* Prepared answer, queued when the connection resumes. */
    struct MHD_Response *ready;
};

/* Replies. Each queues a response and records the status for metrics. */
enum MHD_Result gw__reply(struct gw_req *r, unsigned status,
                          const char *content_type, struct base_buf *body);
enum MHD_Result gw__reply_json(struct gw_req *r, unsigned status,
                               struct json_t *o);
/** A JSON error {"error": @error, "reason": ...}. */
enum MHD_Result gw__error(struct gw_req *r, unsigned status, const char *error,
                          const char *fmt, ...) BASE_PRINTF(4, 5);
/** The HTTP status for a BASE_E* code of a failed read or call. */
unsigned gw__status_of(int code);
/** Query argument @name, percent-decoded into @out (@size bytes);
 *  NULL when absent. */
const char *gw__arg(struct gw_req *r, const char *name, char *out, size_t size);
/** The API key the request carries (Authorization: Bearer, or
 *  X-API-Key), or NULL. */
const char *gw__token(struct MHD_Connection *c);
/** Parse the JSON body; on error replies 400 and returns NULL. */
struct json_t *gw__body_json(struct gw_req *r);

/** Hand a request whose submissions are all answered to the resumer. */
void gw__resume_later(struct gw_req *r);
void *gw__resumer_main(void *arg);
/** Queue-ready answer of a resumed submission, into r->ready. */
void gw__prepare_results(struct gw_req *r);

/** Split a batch body (u32 big-endian length, envelope; repeated) into
 *  slices of @b (*@out freed by the caller). Errors: BASE_EPARSE,
 *  BASE_ENOMEM. */
int gw__split_batch(const struct base_buf *b, struct lg_slice **out,
                    size_t *n) BASE_WUR;
/** The reason given for a body gw__split_batch refuses. */
#define GW_BATCH_FORMAT                                                        \
    "a batch is 1..10000 times a u32 big-endian length and an envelope"

/* ---- the cluster (cluster.c, peers.c) ---------------------------------- */

/** Check a refusal notice's signature (peers.c signs them).
 *  Errors: BASE_EBADSIG, BASE_ENOMEM. */
int gw__refusal_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t from,
                      uint64_t to, const struct cr_hash *id, int code,
                      const char *reason,
                      const uint8_t sig[CR_SIG_SIZE]) BASE_WUR;
/** Check an add request's signature (gw_cluster_add_request).
 *  Errors: BASE_EBADSIG, BASE_ENOMEM. */
int gw__add_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t id,
                  uint64_t time, const char *address,
                  const uint8_t sig[CR_SIG_SIZE]) BASE_WUR;
/** Check a peer's read (gw_peer_header) of @method @path with query
 *  arguments @args ("NAME=VALUE"; sorted in place).
 *  Errors: BASE_EBADSIG, BASE_ENOMEM. */
int gw__peer_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t id,
                   uint64_t time, const char *method, const char *path,
                   char **args, size_t nargs,
                   const uint8_t sig[CR_SIG_SIZE]) BASE_WUR;
/** Refuse (403, queued) a request signed with the orderer key whose
 *  signature check gave @sigrv != 0, or whose time @t is more than
 *  GW_SIGNED_WINDOW_S from now; @what names it in the reason. Returns
 *  true when it refused, with what to return in *@rv. */
bool gw__signed_refused(struct gw_req *r, int sigrv, uint64_t t,
                        const char *what, enum MHD_Result *rv);
/** On a route marked R_PEER of a node with --require-key: take the
 *  X-Gridledger-Peer header @value as a read-only key (r->have_key), or
 *  refuse the request (401 or 403, queued: r->status is set). */
enum MHD_Result gw__peer_admit(struct gw_server *g, struct gw_req *r,
                               const char *value);
enum MHD_Result gw__h_cluster(struct gw_server *g, struct gw_req *r);
enum MHD_Result gw__h_forward(struct gw_server *g, struct gw_req *r);
enum MHD_Result gw__h_refused(struct gw_server *g, struct gw_req *r);
enum MHD_Result gw__h_add(struct gw_server *g, struct gw_req *r);
/** Wait for a cluster add in progress (after ordering stopped). */
void gw__add_join(struct gw_server *g);

/* ---- who reads, and the contracts' read rules (reads.c) ----------------
 */

struct gw_reader {
    char org[LG_NAME_MAX + 1]; /* the key's member; "" without one */
    char role[LG_NAME_MAX + 1];
    bool full;      /* a cluster peer's signed read: everything */
    bool anonymous; /* no key: the rules see org and role "" */
};

/** Who @r reads as: its API key's member (organisation and role from its
 *  certificate; only the organisation, role "", when the node holds no key
 *  of the member), a peer, or nobody. Replies (401) and returns false when
 *  the key is refused. */
bool gw__reader(struct gw_server *g, struct gw_req *r, struct gw_reader *out);
/** The reader named by a MK_READ_HEADER @value for bid @bid. Replies
 *  (401 malformed, 403 refused) and returns false when it does not hold. */
bool gw__reader_signed(struct gw_server *g, struct gw_req *r, const char *value,
                       const char *bid, struct gw_reader *out);
/** @contract's read rule for @rd on one item (struct sc_read): 0, or
 *  BASE_EPERM with @why. */
int gw__may_read(struct gw_server *g, const struct gw_reader *rd,
                 const char *contract, enum sc_read_kind kind, const char *key,
                 size_t klen, const void *val, size_t vlen,
                 const char *creator_org, char *why, size_t size) BASE_WUR;
/** Refuse a read the rule denied: 401 for a request without a key (a key
 *  may open it), else 403; @why is the rule's. */
enum MHD_Result gw__read_refused(struct gw_req *r, const struct gw_reader *rd,
                                 const char *why);

/* Handlers (routes.c, events.c). */
enum MHD_Result gw__h_events(struct gw_server *g, struct gw_req *r);
void gw__sse_on_block(struct gw_server *g);
void gw__sse_wake_all(struct gw_server *g);
void *gw__ticker_main(void *arg);
/** Shut down connections that have not sent a whole request head within
 *  the idle and request timeouts (the ticker calls it). */
void gw__reap_slow(struct gw_server *g);
/* GET /v1/bids (bidlist.c). */
enum MHD_Result gw__h_bids_list(struct gw_server *g, struct gw_req *r);

#endif
