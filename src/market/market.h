/* SPDX-License-Identifier: MIT */
/* Public header of market: the client interface the agents use to reach a
 * ledger, the market agents (DER, DERA, DSO, ISO) and their clearing. */
#ifndef GL_MARKET_H
#define GL_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "contract/contract.h"
#include "crypto/crypto.h"
#include "grid/grid.h"
#include "ledger/ledger.h"
#include "order/order.h"
#include "store/store.h"

/* ---- the client interface ------------------------------------------------
 * Agents never call the ledger directly: each agent holds a client bound to
 * one identity, and the client signs for it. Two implementations exist: the
 * in-process one below (an embedded node), and the remote one of the
 * gateway (HTTP to a node in another process). The same agent code runs on
 * either. */

#define MK_ID_MAX (2 * LG_NAME_MAX + 2) /* "ORG/NAME" and a NUL */

/** How a submitted call ended. */
struct mk_result {
    int code;       /* 0: committed valid; else refused or invalid */
    bool committed; /* in a block (valid or invalid) */
    struct cr_hash id;
    uint64_t block;
    char reason[LG_REASON_MAX + 1];
};

/** Called once per accepted asynchronous submission, possibly from another
 *  thread, after its block is durable or it was refused. */
typedef void (*mk_done_cb)(void *arg, const struct mk_result *r);

struct mk_client;

struct mk_client_ops {
    /** Sign the call as the client's identity, submit it and wait for its
     *  block. Returns @res->code, or a submit error (BASE_EFULL, BASE_EIO,
     *  BASE_ECLOSED) with @res->reason set. */
    int (*submit)(struct mk_client *c, const char *contract,
                  const char *function, uint32_t nargs,
                  const struct lg_slice *args, struct mk_result *res);
    /** Submit without waiting; @cb is called exactly once unless this
     *  returns an error. */
    int (*submit_async)(struct mk_client *c, const char *contract,
                        const char *function, uint32_t nargs,
                        const struct lg_slice *args, mk_done_cb cb, void *arg);
    /** Read-only call against the latest state; the return value is
     *  appended to @out; @reason (LG_REASON_MAX+1 bytes) says why on
     *  failure. */
    int (*evaluate)(struct mk_client *c, const char *contract,
                    const char *function, uint32_t nargs,
                    const struct lg_slice *args, struct base_buf *out,
                    char *reason);
    /** Store an off-chain record; its SHA-256 goes to @hash. */
    int (*offchain_put)(struct mk_client *c, const void *data, size_t len,
                        struct cr_hash *hash);
    /** Fetch an off-chain record (appended to @out) of bid @bid (a node
     *  serves a record only to a reader of the bid that names it; NULL for
     *  the in-process client, which reads its own store). Errors:
     *  BASE_ENOTFOUND, BASE_EPERM. The bytes are returned as stored:
     *  checking them against the on-chain record is the caller's job
     *  (mk_bid_retrieve does it). */
    int (*offchain_get)(struct mk_client *c, const char *bid,
                        const struct cr_hash *hash, struct base_buf *out);
    void (*close)(struct mk_client *c);
};

struct mk_client {
    const struct mk_client_ops *ops;
    char identity[MK_ID_MAX]; /* "ORG/NAME" it signs as */
    /* Why the client's last failed call failed, when the implementation
     * knows more than the code says (the remote client: "cannot reach
     * http://...: Connection refused"); "" otherwise. Set by the thread
     * that made the call; read it from the same thread, right after. */
    char errmsg[BASE_ERRMSG_SIZE];
};

/** Open an in-process client for the member (@cert, @key; both copied) on
 *  channel @ch through orderer @solo, with off-chain store @off. All three
 *  are borrowed and must outlive the client. Errors: BASE_ENOMEM. */
int mk_client_local(struct mk_client **out, struct lg_channel *ch,
                    struct ord_solo *solo, struct kv_offchain *off,
                    const struct lg_cert *cert,
                    const struct cr_keypair *key) BASE_WUR;

/* ---- the remote client -------------------------------------------------
 * The same interface over HTTP to a node in another process (`gridledger
 * node`, docs/api.md), through libcurl with kept-alive connections:
 *   submit        POST /v1/tx (the envelope signed here, as
 *                 application/octet-stream), answered when its block is
 *                 durable; or POST /v1/invoke when the node signs for an
 *                 API key
 *   submit_async  the same on the client's own thread (curl multi), so
 *                 many submissions are in flight at once
 *   evaluate      POST /v1/evaluate with a signed envelope (or the key's
 *                 JSON call)
 *   offchain_*    POST /v1/offchain, GET /v1/offchain/{hash}
 * The member's private key never leaves this process. Transport failures
 * map to BASE_EIO (cannot connect, TLS, a broken answer), BASE_ETIMEDOUT,
 * BASE_EINVAL (bad URL); an HTTP error to the code its body names, else
 * to its status (401/403 EPERM, 404 ENOTFOUND, 409 EEXIST, 413 ETOOBIG,
 * 503 EBUSY, other 4xx EINVAL, 5xx EIO); the reason says which. */

/* A member-key client's read of an off-chain record (GET
 * /v1/offchain/{hash}?bid=UID) carries this header: the hex of its signed
 * envelope of bids.retrieve(UID) whose nonce is the Unix time in seconds.
 * The node admits it as an evaluation, within MK_READ_WINDOW_S of its
 * clock, and reads as its signer (an API key needs none). */
#define MK_READ_HEADER   "X-Gridledger-Read"
#define MK_READ_WINDOW_S 300

/** Counters a run shares between its remote clients (all atomic). */
struct mk_http_stats {
    _Atomic uint64_t committed; /* in a block, valid or invalid */
    _Atomic uint64_t invalid;   /* in a block, invalid */
    _Atomic uint64_t refused;   /* refused before ordering */
    _Atomic uint64_t requests;  /* HTTP requests answered */
};

struct mk_http_options {
    /* PEM file of the certificate authority an https node's certificate
     * must chain to (NULL: the system's). Borrowed during the call. */
    const char *ca_file;
    bool insecure; /* https without checking the certificate (tests) */
    /* An API key ("glk_..."), sent as "Authorization: Bearer" on every
     * request; with no member key the node signs for the key's member.
     * Copied. NULL: none. */
    const char *api_key;
    /* The channel the envelopes name; NULL: the node's (GET /v1/tip). */
    const char *channel;
    unsigned timeout_s;          /* per request; 0: 60 */
    struct mk_http_stats *stats; /* borrowed; may be NULL */
};

/**
 * Open a client of the node at @url ("http://HOST:PORT" or https) that
 * signs as the member (@cert, @key; both copied), or, when both are NULL,
 * calls as @opt->api_key's member through the node (POST /v1/invoke), or,
 * with neither, only reads (submit and evaluate answer BASE_EPERM). It asks
 * the node for its tip first, so an unreachable node fails here. @opt may
 * be NULL. @errmsg (BASE_ERRMSG_SIZE) says why on failure.
 * Thread-safe: calls may come from any thread at once.
 * Errors: BASE_EINVAL (bad URL or options), BASE_EIO (cannot reach the
 * node, TLS), BASE_ETIMEDOUT, BASE_EPERM (API key refused), BASE_ENOMEM.
 */
int mk_client_http(struct mk_client **out, const char *url,
                   const struct lg_cert *cert, const struct cr_keypair *key,
                   const struct mk_http_options *opt, char *errmsg) BASE_WUR;

/**
 * One HTTP request through remote client @c's connections: @method on
 * @path ("/v1/..."; escaped by the caller), with the body @body (@len
 * bytes, type @ctype) when @body is not NULL. The status goes to *@status
 * and the answer's body is appended to @out, whatever the status.
 * Errors (the request got no answer; @errmsg says why): BASE_EIO,
 * BASE_ETIMEDOUT, BASE_ENOMEM; BASE_EINVAL when @c is not a remote client.
 */
int mk_http_request(struct mk_client *c, const char *method, const char *path,
                    const char *ctype, const void *body, size_t len,
                    long *status, struct base_buf *out, char *errmsg) BASE_WUR;

/** The error code an HTTP error answer stands for: its "code", else the
 *  code named by its "error", else one by @status (see above). @body may
 *  be NULL. */
int mk_http_code(long status, const void *body, size_t len);

static inline int mk_submit(struct mk_client *c, const char *contract,
                            const char *function, uint32_t nargs,
                            const struct lg_slice *args, struct mk_result *res)
{
    return c->ops->submit(c, contract, function, nargs, args, res);
}
static inline int mk_submit_async(struct mk_client *c, const char *contract,
                                  const char *function, uint32_t nargs,
                                  const struct lg_slice *args, mk_done_cb cb,
                                  void *arg)
{
    return c->ops->submit_async(c, contract, function, nargs, args, cb, arg);
}
static inline int mk_evaluate(struct mk_client *c, const char *contract,
                              const char *function, uint32_t nargs,
                              const struct lg_slice *args, struct base_buf *out,
                              char *reason)
{
    return c->ops->evaluate(c, contract, function, nargs, args, out, reason);
}
static inline int mk_offchain_put(struct mk_client *c, const void *data,
                                  size_t len, struct cr_hash *hash)
{
    return c->ops->offchain_put(c, data, len, hash);
}
static inline int mk_offchain_get(struct mk_client *c, const char *bid,
                                  const struct cr_hash *hash,
                                  struct base_buf *out)
{
    return c->ops->offchain_get(c, bid, hash, out);
}
static inline void mk_client_close(struct mk_client *c)
{
    if (c != NULL) {
        c->ops->close(c);
    }
}

/* ---- bids: the raw record and its on-chain checksum ----------------------
 * The raw bid is canonical JSON (keys in this order, numbers as printed by
 * "%.6f" of kW and price):
 *   {"uid":..,"dera":..,"market":..,"interval":N,
 *    "entries":[{"der":..,"kw":..,"price":..,"cap":..},...]}
 * It goes to the off-chain store; the bids contract keeps its SHA-256. */

#define MK_UID_MAX    64
#define MK_MARKET_MAX 32
/* The largest raw bid record: the off-chain store's limit (256 KiB), which
 * a bid of the contract's 1,000 DERs fits four times over. Refused where a
 * record is made (mk_bid_create, mk_bid_modify), stored (the store, the
 * node's POST /v1/offchain: 413) and read (a larger record is never
 * parsed). */
#define MK_BID_RECORD_MAX KV_OFFCHAIN_MAX_RECORD

/** One DER's offer in a bid: @kw at @price or more, up to price @cap
 *  (equation 1 of paper 001: {(Q, P_bid), (Q, P_cap)}). */
struct mk_entry {
    char der[SC_DER_ID_MAX + 1];
    double kw;
    double price; /* $/MWh */
    double cap;   /* $/MWh */
};

struct mk_bid {
    char uid[MK_UID_MAX + 1];
    char dera[LG_NAME_MAX + 1];
    char market[MK_MARKET_MAX + 1];
    int64_t interval;
    size_t n;
    struct mk_entry *e; /* owned; mk_bid_release frees it */
};

void mk_bid_init(struct mk_bid *b);
void mk_bid_release(struct mk_bid *b);
/** Append an entry (copied). Errors: BASE_ENOMEM. */
int mk_bid_add(struct mk_bid *b, const struct mk_entry *e) BASE_WUR;
/** Total kW of the entries. */
double mk_bid_kw(const struct mk_bid *b);
/** Canonical JSON of @b appended to @out. Errors: BASE_ENOMEM. */
int mk_bid_encode(const struct mk_bid *b, struct base_buf *out) BASE_WUR;
/** Decode a raw record into @b (initialised by this call; release it).
 *  Errors: BASE_EPARSE, BASE_ENOMEM. */
int mk_bid_decode(struct mk_bid *b, const void *p, size_t len) BASE_WUR;

/** A bid as retrieved: the raw record, the on-chain record, and whether
 *  they agree. */
struct mk_bid_view {
    struct mk_bid bid; /* the raw record (empty unless intact) */
    char status[16];   /* on chain */
    int64_t version;
    char checksum[65]; /* on chain */
    char computed[65]; /* SHA-256 of the off-chain bytes ("" when missing) */
    int64_t total_w;   /* on chain: the record's declared total (-1: none) */
    bool intact;       /* the record matches the chain (mk_bid_check) */
    char reason[LG_REASON_MAX + 1]; /* why not intact */
};

/** How a check reads the DER registry: DER @id's record into @out.
 *  Errors: BASE_ENOTFOUND, and the reader's own (they make the verdict
 *  "not intact", with the reason). */
typedef int (*mk_der_fn)(void *arg, const char *id, struct sc_der *out);

/**
 * The one check of a bid's off-chain record against the chain, which every
 * retrieval path makes (mk_bid_retrieve, so the agents and the node's GET
 * /v1/bids/{uid}; the node's list GET /v1/bids). @chain is the on-chain
 * record (the value of "bid/UID"); @raw the off-chain bytes (NULL: the
 * record is missing). The record is intact only when all of these hold,
 * else @out->reason names the first that fails:
 *   - it hashes to the on-chain checksum, and is at most MK_BID_RECORD_MAX
 *     bytes (a larger one is not parsed);
 *   - it is a bid record whose uid, DERA, market and interval are the
 *     on-chain bid's;
 *   - its entries name each DER once, and exactly the DERs on chain;
 *   - each DER is registered to the bid's DERA and its kW is within the
 *     DSO's qualification (the registry's qualified_kw, read by @der);
 *   - its total is the on-chain total_w, when the chain has one (to 1 W).
 * Fills @out (status, version, checksum, computed, total_w, intact,
 * reason; bid only when intact). Errors: BASE_ECORRUPT (@chain is not a
 * bid record; @out->reason says so), BASE_ENOMEM.
 */
int mk_bid_check(const void *chain, size_t chain_len, const void *raw,
                 size_t raw_len, mk_der_fn der, void *der_arg,
                 struct mk_bid_view *out) BASE_WUR;

/** Store @b's raw record off chain and create it on chain (the caller is
 *  a DERA). @res gets the outcome; returns its code. */
int mk_bid_create(struct mk_client *c, const struct mk_bid *b,
                  struct mk_result *res) BASE_WUR;
/** The DSO's curtailment: store the modified record and record its
 *  checksum with @reason. */
int mk_bid_modify(struct mk_client *c, const struct mk_bid *b,
                  const char *reason, struct mk_result *res) BASE_WUR;
/**
 * Retrieve bid @uid: the on-chain record (through the contract, so its
 * access rule applies), then the off-chain bytes, whose SHA-256 must equal
 * the on-chain checksum. A missing or tampered record is reported with
 * intact = false and a reason; it is never decoded into @out->bid.
 * Release @out with mk_bid_view_release(). Errors: those of evaluate
 * (BASE_ENOTFOUND, BASE_EPERM, ...), with the reason in @out->reason.
 */
int mk_bid_retrieve(struct mk_client *c, const char *uid,
                    struct mk_bid_view *out) BASE_WUR;
void mk_bid_view_release(struct mk_bid_view *v);

/* ---- DER agent ------------------------------------------------------------
 */

/** A clear-sky PV shape: output per unit of rating at @hour (0..24). */
double mk_pv_shape(double hour);

/** Per-DER weather: a cloud factor per minute of the day in [0.2, 1],
 *  an autocorrelated random walk from @seed (deterministic). */
struct mk_weather {
    float cloud[1440];
};
void mk_weather_init(struct mk_weather *w, uint64_t seed, double variability);

struct mk_der {
    char id[SC_DER_ID_MAX + 1];
    char bus[SC_TEXT_MAX + 1];
    char phases[SC_TEXT_MAX + 1];
    char owner[SC_TEXT_MAX + 1];
    double kw, kva; /* rating */
    double rf;      /* risk factor, percent */
    double cap;     /* price cap, $/MWh */
    struct mk_weather weather;
};

/** PV available at @minute of the day (0..1439), kW. */
double mk_der_available(const struct mk_der *d, int minute);
/** Forecast of the mean output over the 15-minute interval starting at
 *  minute @start, made at minute @now from the clear-sky shape and the
 *  cloud factor seen at @now (persistence). */
double mk_der_forecast(const struct mk_der *d, int start, int len, int now);
/** The DER's bid entry (equation 1): forecast kW at the day-ahead price
 *  forecast raised by the risk factor, capped at the DER's price cap. */
void mk_der_bid(const struct mk_der *d, double forecast_kw,
                double price_forecast, struct mk_entry *out);

/* ---- DERA -----------------------------------------------------------------
 */

/** One step of an aggregated offer curve. */
struct mk_step {
    char dera[LG_NAME_MAX + 1];
    double kw;
    double price;
};

/** The DERA's offer curve from its feasible bid: one step per entry with
 *  kw > 0, sorted by price (then DER id). @out has room for @b->n steps;
 *  returns the number written. */
size_t mk_dera_offer(const struct mk_bid *b, struct mk_step *out);
/** Allocate an award of @award_kw to the entries of @b in price order (then
 *  DER id), each up to its kW: @alloc[i] for entry i. Returns the kW
 *  allocated (award_kw unless the bid holds less). */
double mk_dera_allocate(const struct mk_bid *b, double award_kw, double *alloc);

/* ---- DSO ------------------------------------------------------------------
 */

enum mk_dso_method {
    MK_DSO_PROPORTIONAL, /* scale every DER alike (paper 001) */
    MK_DSO_SENSITIVITY,  /* curtail where dV/dP is largest, greedily; kept
                            only when it curtails less than scaling */
};

/** Sets the forecast loads of the DSO's model for minute @minute. */
typedef int (*mk_load_fn)(void *arg, struct pf_model *m, int minute);

struct mk_dso {
    struct pf_model *model; /* borrowed: the DSO's own copy of the feeder */
    enum mk_dso_method method;
    double vmin, vmax; /* limits, pu (0.95, 1.05) */
    mk_load_fn loads;
    void *loads_arg;
    /* Buses left out of the voltage check (e.g. the substation source),
     * lower case; borrowed. */
    const char *const *skip;
    size_t nskip;
    int solves; /* power flows run, for reports */
};

/** The voltage outcome of a review. */
struct mk_review {
    double vmax_before, vmin_before; /* with the injections as bid */
    double vmax_after, vmin_after;   /* with the feasible injections */
    double curtailed_kw;             /* sum over DERs */
    char worst_node[SC_TEXT_MAX + 8];
};

/**
 * Check DER injections @kw[0..n) of the DERs @names[i] at @buses[i] (in
 * the DSO's model, added with pf_der_add) over minutes [@start, @start+@len)
 * with the forecast loads; while any node voltage is above vmax, curtail by the
 * DSO's method. @feasible[i] gets each DER's feasible kW (<= kw[i]).
 * Under-voltage cannot be cured by curtailing generation: it is reported
 * in vmin_after, not acted on.
 * Errors: those of pf_solve (BASE_ENOCONVERGE ...).
 */
int mk_dso_review(struct mk_dso *d, const char *const *names,
                  const char *const *buses, const double *kw, size_t n,
                  int start, int len, double *feasible,
                  struct mk_review *out) BASE_WUR;

/* ---- ISO ------------------------------------------------------------------
 */

enum mk_iso_mode {
    MK_ISO_ALL,   /* every offer cleared at the highest offer price (paper) */
    MK_ISO_MERIT, /* merit order against a demand, uniform marginal price */
};

/**
 * Clear offers @steps[0..n) (any order). ALL: everything is cleared and the
 * price is the highest offer price. MERIT: offers are taken in price order
 * up to @demand_kw at prices up to @price_cap; the marginal offer sets the
 * price and may be partly cleared. @award[i] gets step i's cleared kW;
 * @price and @cleared the totals.
 */
void mk_iso_clear(const struct mk_step *steps, size_t n, enum mk_iso_mode mode,
                  double demand_kw, double price_cap, double *award,
                  double *price, double *cleared);

/* ---- off-chain messaging ---------------------------------------------------
 * Request/reply between agents outside the ledger (paper 004's RIAPS
 * messages: withdrawAssets, failedWithdrawal). A server answers each
 * request with one reply; a link sends a request and waits for its reply.
 * The transport is ZeroMQ (ROUTER/REQ sockets over tcp or ipc); agents see
 * only this interface. */

#define MK_MSG_MAX (64u << 10) /* bytes of one request or reply */

/** Answer one request: append the reply to @reply. A non-zero return drops
 *  the request without a reply (the requester times out). Called on the
 *  server's thread. */
typedef int (*mk_msg_handler)(void *arg, const uint8_t *req, size_t len,
                              struct base_buf *reply);

struct mk_msg_server;

/**
 * Serve requests at @bind ("tcp://127.0.0.1:*" picks a free port, or
 * "ipc:///path") on a thread of the server's own; the endpoint clients
 * connect to (the port resolved) is copied to @endpoint (256 bytes).
 * @arg is borrowed until mk_msg_server_stop.
 * Errors: BASE_EIO (socket or bind failed; @endpoint holds the reason),
 * BASE_ENOMEM.
 */
int mk_msg_serve(struct mk_msg_server **out, const char *bind,
                 mk_msg_handler handler, void *arg, char *endpoint) BASE_WUR;
/** Stop the thread, close the socket and free @s (NULL: nothing). */
void mk_msg_server_stop(struct mk_msg_server *s);

struct mk_link;

struct mk_link_ops {
    /** Send @len bytes and wait up to @timeout_ms for the reply, appended
     *  to @reply. Errors: BASE_ETIMEDOUT, BASE_EIO, BASE_ETOOBIG. */
    int (*request)(struct mk_link *l, const void *req, size_t len,
                   struct base_buf *reply, int timeout_ms);
    void (*close)(struct mk_link *l);
};

struct mk_link {
    const struct mk_link_ops *ops;
};

/** A ZeroMQ link to the server at @endpoint. One thread at a time.
 *  Errors: BASE_EIO, BASE_ENOMEM. */
int mk_link_zmq(struct mk_link **out, const char *endpoint) BASE_WUR;

static inline int mk_request(struct mk_link *l, const void *req, size_t len,
                             struct base_buf *reply, int timeout_ms)
{
    return l->ops->request(l, req, len, reply, timeout_ms);
}
static inline void mk_link_close(struct mk_link *l)
{
    if (l != NULL) {
        l->ops->close(l);
    }
}

/* ---- PETra agents (paper 004; docs/petra.md) -------------------------------
 * A prosumer asks the DSO, off chain and signed with its real identity, to
 * withdraw energy and financial assets to a fresh anonymous address
 * (withdrawAssets); the DSO checks the request against the prosumer's
 * forecast, the feeder's limits and its funds, and either answers
 * failedWithdrawal with a reason or records the assets on chain for the
 * address (addEnergyAsset, addFinancialBalance) and certifies the address's
 * key as a member of the ANON organisation (role "anon"), with the same
 * validity for every address. The address then trades on chain as itself;
 * only the DSO knows which prosumer it belongs to.
 *
 * withdrawAssets request (integers big-endian):
 *   off  size  field
 *   0    4     magic "PTWR"
 *   4    1     version (1)
 *   5    2     certificate length L, then L bytes: the prosumer's real
 *              certificate (ledger.h encoding, org PROSUMERS)
 *   .    32    the anonymous address (Ed25519 public key)
 *   .    8     financial amount, micro-units (0: none)
 *   .    1     number of energy assets N (0..MK_PETRA_MAX_ASSETS)
 *   .          N times: 8 power W (signed), 8 start, 8 end (intervals)
 *   .    64    Ed25519 signature by the certificate's key over all
 *              preceding bytes
 * Reply:
 *   0    4     magic "PTRP"
 *   4    1     version (1)
 *   5    1     status: 0 withdrawn, 1 failedWithdrawal
 *   6    32    the anonymous address
 *   .    2     reason length R, then R bytes ("" when withdrawn)
 *   .    2     certificate length C, then C bytes: the address's ANON
 *              certificate (C = 0 on failure)
 *   .    1     number of asset ids N, then N times u8 length + the id
 */

#define MK_PETRA_MAX_ASSETS    16
#define MK_PETRA_MAX_INTERVALS 96
#define MK_PETRA_MAX_PROSUMERS 64
#define MK_PETRA_ANON_ORG      "ANON"
#define MK_PETRA_PEOPLE_ORG    "PROSUMERS"

struct mk_petra_asset {
    int64_t power; /* W: > 0 production, < 0 consumption */
    int64_t start, end;
};

/** A prosumer's request, as the DSO decoded and checked it. */
struct mk_petra_request {
    struct lg_cert cert; /* the prosumer's real identity */
    uint8_t address[CR_PUBKEY_SIZE];
    int64_t funds;
    uint32_t n;
    struct mk_petra_asset assets[MK_PETRA_MAX_ASSETS];
};

/** Encode and sign a request with the prosumer's real key @key (its
 *  certificate is @cert). Errors: BASE_EINVAL (too many assets),
 *  BASE_ENOMEM. */
int mk_petra_request_encode(const struct mk_petra_request *r,
                            const struct cr_keypair *key,
                            struct base_buf *out) BASE_WUR;
/** Decode a request and check its signature against its certificate's key
 *  (not the certificate itself: the DSO does that). Errors: BASE_EPARSE,
 *  BASE_EBADSIG. */
int mk_petra_request_decode(struct mk_petra_request *r, const uint8_t *p,
                            size_t len) BASE_WUR;

/** A prosumer's account at the DSO: its forecast per interval (W, >= 0)
 *  and funds; what it has withdrawn and deposited so far. */
struct mk_petra_account {
    char name[LG_NAME_MAX + 1]; /* member name in PROSUMERS */
    int64_t funds;              /* micro-units available */
    int64_t prod_w[MK_PETRA_MAX_INTERVALS], cons_w[MK_PETRA_MAX_INTERVALS];
    int64_t wprod_w[MK_PETRA_MAX_INTERVALS], wcons_w[MK_PETRA_MAX_INTERVALS];
    int64_t withdrawn_funds, deposited_funds;
    int64_t deposited_wi; /* energy deposited, W x intervals (signed) */
    uint32_t addresses, refused;
};

/** The DSO's side. Fill the public fields, then mk_petra_dso_init(). */
struct mk_petra_dso {
    struct mk_client *cli;       /* borrowed: signs as the DSO (role dso) */
    struct cr_keypair anon_root; /* the ANON organisation's root key */
    uint8_t people_root[CR_PUBKEY_SIZE];   /* PROSUMERS' root public key */
    uint64_t cert_not_before, cert_expiry; /* of every ANON certificate */
    int64_t first, n;                      /* intervals first .. first+n-1 */
    int64_t export_w, import_w;            /* feeder limits per interval */
    struct mk_petra_account accounts[MK_PETRA_MAX_PROSUMERS];
    size_t naccounts;
    /* Private from here on. */
    struct mk_petra_addr_map *map; /* address -> account, owned */
    size_t nmap, capmap;
    int64_t tot_prod_w[MK_PETRA_MAX_INTERVALS];
    int64_t tot_cons_w[MK_PETRA_MAX_INTERVALS];
    uint64_t dep_next; /* first deposit not yet credited */
    uint64_t withdrawals, failed;
    void *lock; /* owned mutex */
};

/** Errors: BASE_ENOMEM. Release with mk_petra_dso_release(). */
int mk_petra_dso_init(struct mk_petra_dso *d) BASE_WUR;
void mk_petra_dso_release(struct mk_petra_dso *d);
/**
 * Handle one withdrawAssets request (the mk_msg_handler of the DSO's
 * server: pass the dso as @arg). Checks, in order: the request decodes and
 * its signature verifies; the certificate is a PROSUMERS member signed by
 * that organisation's root; the prosumer has an account; the address was
 * never used; every asset has non-zero power, end >= start and lies in the
 * DSO's intervals; production and consumption stay within the prosumer's
 * forecast and the feeder's limits in every interval; the funds are
 * available. Refusals become a failedWithdrawal reply with the reason.
 * Thread-safe (one lock).
 */
int mk_petra_dso_handle(void *dso, const uint8_t *req, size_t len,
                        struct base_buf *reply);
/** Credit the deposits recorded on chain since the last call to the
 *  prosumers' accounts (read through the contract's deposits log).
 *  Returns the number credited, or an error of evaluate. */
int mk_petra_dso_collect(struct mk_petra_dso *d) BASE_WUR;
/** The prosumer an address belongs to (its account), or NULL. */
const struct mk_petra_account *
mk_petra_dso_owner(const struct mk_petra_dso *d,
                   const uint8_t address[CR_PUBKEY_SIZE]);
/** Address @i of the DSO's map (i < nmap) and its account index. */
void mk_petra_dso_map_entry(const struct mk_petra_dso *d, size_t i,
                            uint8_t address[CR_PUBKEY_SIZE], size_t *account);

/** Opens a client signing as the anonymous member (@cert, @key; copied). */
typedef int (*mk_petra_open_fn)(void *arg, const struct lg_cert *cert,
                                const struct cr_keypair *key,
                                struct mk_client **out);

/** One anonymous address of a prosumer, with its own client. */
struct mk_petra_wallet {
    struct cr_keypair key;
    struct lg_cert cert;
    char address[2 * CR_PUBKEY_SIZE + 1];
    struct mk_client *cli; /* owned */
    uint32_t nassets;
    char assets[MK_PETRA_MAX_ASSETS][24];
};

/**
 * withdrawAssets: make a fresh address, ask the DSO over @link for
 * @assets[0..n) and @funds, signed with the real identity (@cert, @key),
 * and on success open the address's client through @open into @w.
 * Returns 0, BASE_EPERM with the DSO's reason in @reason
 * (LG_REASON_MAX+1 bytes) on failedWithdrawal, or a transport error.
 */
int mk_petra_withdraw(struct mk_link *link, const struct lg_cert *cert,
                      const struct cr_keypair *key,
                      const struct mk_petra_asset *assets, uint32_t n,
                      int64_t funds, mk_petra_open_fn open, void *open_arg,
                      struct mk_petra_wallet *w, char *reason) BASE_WUR;
/** Close the wallet's client and wipe its key. */
void mk_petra_wallet_release(struct mk_petra_wallet *w);

/** An open offer as openOffers lists it. */
struct mk_petra_offer {
    char id[24];
    char asset[24];
    char poster[2 * CR_PUBKEY_SIZE + 1];
    bool ask;
    int64_t price, power, start, end;
};

/** The open offers (at most @max into @out); returns how many, or an
 *  error of evaluate. */
int mk_petra_offers(struct mk_client *c, struct mk_petra_offer *out,
                    size_t max) BASE_WUR;
/**
 * The best offer of @offers to take with asset @a: for a consumption asset
 * the cheapest ask at or below @limit, for a production asset the dearest
 * bid at or above @limit, whose interval overlaps @a's, posted by none of
 * the addresses in @mine (a prosumer never trades with itself, which would
 * link its addresses on chain). Ties go to the first listed. Returns its
 * index, or -1.
 */
int mk_petra_best(const struct mk_petra_offer *offers, size_t n,
                  const struct mk_petra_asset *a, int64_t limit,
                  const char *const *mine, size_t nmine);

#endif
