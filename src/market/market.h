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
    /** Fetch an off-chain record (appended to @out). Errors: BASE_ENOTFOUND.
     *  The bytes are returned as stored: checking them against the on-chain
     *  checksum is the caller's job (mk_bid_retrieve does it). */
    int (*offchain_get)(struct mk_client *c, const struct cr_hash *hash,
                        struct base_buf *out);
    void (*close)(struct mk_client *c);
};

struct mk_client {
    const struct mk_client_ops *ops;
    char identity[MK_ID_MAX]; /* "ORG/NAME" it signs as */
};

/** Open an in-process client for the member (@cert, @key; both copied) on
 *  channel @ch through orderer @solo, with off-chain store @off. All three
 *  are borrowed and must outlive the client. Errors: BASE_ENOMEM. */
int mk_client_local(struct mk_client **out, struct lg_channel *ch,
                    struct ord_solo *solo, struct kv_offchain *off,
                    const struct lg_cert *cert,
                    const struct cr_keypair *key) BASE_WUR;

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
static inline int mk_offchain_get(struct mk_client *c,
                                  const struct cr_hash *hash,
                                  struct base_buf *out)
{
    return c->ops->offchain_get(c, hash, out);
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
    struct mk_bid bid; /* the raw record (empty when missing or unreadable) */
    char status[16];   /* on chain */
    int64_t version;
    char checksum[65]; /* on chain */
    char computed[65]; /* SHA-256 of the off-chain bytes ("" when missing) */
    bool intact;       /* the off-chain record matches its checksum */
    char reason[LG_REASON_MAX + 1]; /* why not intact */
};

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

#endif
