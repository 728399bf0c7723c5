/* SPDX-License-Identifier: MIT */
/* Public header of contract: the native contract SDK, the registry that
 * the ledger executes through, and the built-in contracts. */
#ifndef GL_CONTRACT_H
#define GL_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "ledger/ledger.h"

/*
 * Writing a contract: a contract is a C module with a table of functions.
 * Each function gets the call context and the arguments, reads and writes
 * its own state through the lg_ctx_* calls of ledger.h (get, put, del,
 * range, caller, time, emit, return, fail), and returns 0 to commit its
 * writes or a BASE_E* code to discard them all. It must be deterministic:
 * no clocks but lg_ctx_time(), no randomness, no I/O, no global state.
 *
 *     static int hello(struct lg_ctx *ctx, uint32_t argc,
 *                      const struct lg_slice *argv)
 *     {
 *         if (argc != 1) {
 *             return lg_ctx_fail(ctx, BASE_EARGS, "hello NAME");
 *         }
 *         return lg_ctx_put(ctx, argv[0].p, argv[0].len, "hi", 2);
 *     }
 *     static const struct sc_function fns[] = {{"hello", hello, NULL}};
 *     const struct sc_contract hello_contract = {"hello", fns, 1};
 *
 * and register it with sc_register() before opening the ledger.
 */

typedef int (*sc_fn)(struct lg_ctx *ctx, uint32_t argc,
                     const struct lg_slice *argv);

struct sc_function {
    const char *name;
    sc_fn fn;
    /* Roles allowed to call, space-separated ("dso iso"); NULL: any role. */
    const char *roles;
};

/* Who reads a contract's data through a node's read routes (the member an
 * API key maps to; org and role "" for a request that carries none). The
 * strings are borrowed for the call. */
struct sc_reader {
    const char *org;
    const char *role;
};

/* What a reader asks to see, of one contract. */
enum sc_read_kind {
    SC_READ_STATE, /* the value @val of state key @key */
    SC_READ_EVENT, /* an event named @key, payload @val */
    SC_READ_TX,    /* a transaction calling function @key, by @creator_org,
                      with its arguments and result */
    SC_READ_ALL,   /* everything the contract holds (raw blocks) */
};

struct sc_read {
    enum sc_read_kind kind;
    const char *key; /* borrowed; NUL-terminated */
    size_t klen;
    const uint8_t *val; /* borrowed; may be NULL */
    size_t vlen;
    const char *creator_org; /* SC_READ_TX */
    /* Another key of the same contract (the rule of a key that names a
     * record may need the record): appended to @out. Errors:
     * BASE_ENOTFOUND, and the store's. */
    int (*get)(void *arg, const char *key, size_t klen, struct base_buf *out);
    void *arg;
};

/** A contract's read rule: 0 when @who may see @what; BASE_EPERM with
 *  @why (@size bytes) saying why not. It runs off the consensus path (in
 *  the read routes), but must be as strict as the contract's own reads:
 *  what a contract's functions refuse to return, no route may show. */
typedef int (*sc_read_fn)(const struct sc_reader *who,
                          const struct sc_read *what, char *why, size_t size);

struct sc_contract {
    const char *name;
    const struct sc_function *functions; /* static storage */
    size_t nfunctions;
    /* NULL: everything the contract holds is readable by any reader. */
    sc_read_fn may_read;
};

#define SC_MAX_CONTRACTS 32

struct sc_registry {
    size_t n;
    const struct sc_contract *contracts[SC_MAX_CONTRACTS]; /* borrowed */
};

void sc_registry_init(struct sc_registry *r);
/** Add @c (borrowed; must outlive the registry).
 *  Errors: BASE_EEXIST (name taken), BASE_EFULL, BASE_EINVAL (bad name). */
int sc_register(struct sc_registry *r, const struct sc_contract *c) BASE_WUR;
/** Register every built-in contract (asset, ...). */
int sc_register_builtin(struct sc_registry *r) BASE_WUR;
/** The executor the ledger calls through; @r is borrowed for its life. */
struct lg_executor sc_executor(struct sc_registry *r);
/** Apply @contract's read rule (struct sc_contract.may_read) to @what for
 *  @who: 0 when allowed; BASE_EPERM with @why when not; BASE_ENOCONTRACT
 *  for a contract @r does not hold (nothing to read). */
int sc_may_read(const struct sc_registry *r, const char *contract,
                const struct sc_reader *who, const struct sc_read *what,
                char *why, size_t size) BASE_WUR;

/* ---- SDK helpers ----------------------------------------------------------
 */

/** Copy argument @a into @out (@size bytes, NUL-terminated).
 *  Errors: BASE_EARGS when it is longer, holds a NUL byte or is not valid
 *  UTF-8 (so that no string a contract copies can make its record's
 *  encoding fail later). */
int sc_arg_str(const struct lg_slice *a, char *out, size_t size) BASE_WUR;

/* ---- identifiers and text (ident.c) ---------------------------------------
 * Identifiers that contracts compare (DER ids, market names, bid uids,
 * asset ids, buses and owners of DERs) are canonical: 1..SC_ID_MAX bytes of
 * lowercase ASCII letters, digits and '-', '_', '.', ':', beginning and
 * ending with a letter or a digit. One case only, so that "PV1", "pv1",
 * "PV1 " and a Cyrillic "РV1" cannot name two things: uniqueness is plain
 * byte equality, state keys are the identifiers themselves (no second,
 * folded index to keep in step), and the CLI and the gateway can refuse a
 * non-canonical id before it is signed. docs/ledger-format.md has the set.
 */
#define SC_ID_MAX 64

/** True when @len bytes at @data are valid UTF-8 (RFC 3629: no overlong
 *  forms, surrogates or code points above U+10FFFF). */
bool sc_utf8_ok(const void *data, size_t len);
/** Check that @len bytes at @data are a canonical identifier. On failure
 *  writes why into @why (@size bytes; the bytes shown escaped, so @why is
 *  always ASCII) and returns BASE_EARGS. Thread-safe, no state. */
int sc_id_check(const void *data, size_t len, char *why, size_t size) BASE_WUR;
/** @len bytes at @data as printable ASCII into @out (@size bytes): other
 *  bytes as \xNN. For messages that echo caller bytes. */
void sc_printable(char *out, size_t size, const void *data, size_t len);
/** Argument @a as a canonical identifier into @out; @what names it in the
 *  reason ("DER id"). Errors: BASE_EARGS (reason set). */
int sc_arg_id(struct lg_ctx *ctx, const struct lg_slice *a,
              char out[SC_ID_MAX + 1], const char *what) BASE_WUR;
/** Argument @a as free text (valid UTF-8, no NUL, under @size bytes) into
 *  @out. Errors: BASE_EARGS (reason set). */
int sc_arg_text(struct lg_ctx *ctx, const struct lg_slice *a, char *out,
                size_t size, const char *what) BASE_WUR;
struct json_t;
/** json_pack() for a contract record: *@out is the new reference. An
 *  encoding jansson refuses is the caller's (BASE_EARGS, reason set);
 *  only a failed allocation is BASE_ENOMEM, which fails the block. */
int sc_pack(struct lg_ctx *ctx, struct json_t **out, const char *fmt,
            ...) BASE_WUR;
/** Check the identifier arguments of a call to a built-in contract before
 *  it is signed or ordered (the CLI, the gateway): the same rules the
 *  contract applies, so an early refusal and the contract's agree. Unknown
 *  contracts and functions pass (the contract decides). On failure writes
 *  the reason into @why (@size bytes) and returns BASE_EARGS. */
int sc_call_check(const char *contract, const char *function, uint32_t nargs,
                  const struct lg_slice *args, char *why, size_t size) BASE_WUR;
/** Parse argument @a as a decimal integer. Errors: BASE_EARGS. */
int sc_arg_i64(const struct lg_slice *a, int64_t *out) BASE_WUR;
/** "ORG/NAME" of the caller into @out (2*LG_NAME_MAX+2 bytes). */
void sc_caller_id(const struct lg_ctx *ctx, char *out);
/** True when the caller's role is one of the space-separated @roles. */
bool sc_caller_has_role(const struct lg_ctx *ctx, const char *roles);
/** Store @o as compact JSON (keys in insertion order, reals to 12 digits)
 *  under @key, emit it as @event (NULL: no event) and return it to the
 *  client: what a contract does with a record it keeps as JSON. Takes the
 *  reference to @o (NULL: out of memory). Errors: those of lg_ctx_put,
 *  BASE_ENOMEM. */
int sc_put_json(struct lg_ctx *ctx, const char *key, struct json_t *o,
                const char *event) BASE_WUR;
/** SHA-256 of an off-chain record as 64 lowercase hex digits and a NUL, the
 *  form contracts keep on chain for records stored off it. */
void sc_record_hash(char out[65], const void *data, size_t len);

/* ---- built-in contracts ----------------------------------------------------
 */

/**
 * asset: a simple asset store (Caliper's "simple" workload) for tests and
 * the benchmark. Assets are JSON {"id","owner","value"}; owner is the
 * creator's ORG/NAME.
 *   create(ID, VALUE)       new asset; fails EEXIST if the ID is taken
 *   read(ID)                returns the JSON
 *   update(ID, VALUE)       owner only
 *   transfer(ID, NEWOWNER)  owner only; NEWOWNER is ORG/NAME
 *   delete(ID)              owner only
 * Events: AssetCreated, AssetUpdated, AssetTransferred, AssetDeleted, with
 * the asset JSON as payload.
 */
extern const struct sc_contract sc_asset_contract;

/**
 * registry: DERs and their qualification (FERC Order 2222).
 *   register(ID, OWNER, BUS, PHASES, TECH, KW, KVA)   dera; the caller's
 *       organisation becomes the DER's aggregator; an ID registered by
 *       anyone is refused (a DER belongs to at most one DERA), and so is
 *       the same physical identity (OWNER, BUS, PHASES) under another ID.
 *       ID, OWNER and BUS are canonical identifiers (SC_ID_MAX); PHASES is
 *       a, b, c or a combination in that order; TECH is UTF-8 text
 *   qualify(ID, QUALIFIED_KW)    dso; 0 < QUALIFIED_KW <= KW
 *   refuse(ID, REASON)           dso; status "refused"
 *   deregister(ID)               dera, the registering organisation only
 *   read(ID)                     the record JSON
 * Records are JSON {id, dera, owner, bus, phases, tech, kw, kva, status
 * (registered|qualified|refused), qualified_kw, reason}, keyed by ID; the
 * key "~phys/OWNER/BUS/PHASES" holds the ID of the DER registered with
 * that identity. Events DerRegistered, DerQualified, DerRefused,
 * DerDeregistered.
 */
extern const struct sc_contract sc_registry_contract;

#define SC_DER_ID_MAX SC_ID_MAX /* a DER id is an identifier */
#define SC_TEXT_MAX   128

/** A registry record, decoded. */
struct sc_der {
    char id[SC_DER_ID_MAX + 1];
    char dera[LG_NAME_MAX + 1];
    char owner[SC_TEXT_MAX + 1];
    char bus[SC_TEXT_MAX + 1];
    char phases[SC_TEXT_MAX + 1];
    char tech[SC_TEXT_MAX + 1];
    double kw, kva, qualified_kw;
    char status[16];
    char reason[LG_REASON_MAX + 1];
};
/** Decode a registry record. Errors: BASE_ECORRUPT. */
int sc_der_parse(const void *json, size_t len, struct sc_der *out) BASE_WUR;
/** Parse a non-negative finite quantity (kW, price) argument.
 *  Errors: BASE_EARGS. */
int sc_arg_kw(const struct lg_slice *a, double *out) BASE_WUR;

/**
 * bids: the bid store of paper 001. The raw bid lives off chain; the chain
 * keeps {uid, dera, market, interval, n, ders, checksum, status, version,
 * reason, dispatch_checksum[, total_w]}, keyed "bid/UID". UIDs, market
 * names and DER ids are canonical identifiers (market names at most 32
 * bytes).
 *   register_market(NAME, KIND, INTERVAL_MIN)   iso: opens a market,
 *       "market/NAME" = {v: 1, name, kind (real-time|day-ahead),
 *       interval_min, operator}; once per name. Every other function that
 *       names a market needs it registered (ENOTFOUND otherwise)
 *   market_read(NAME)    the market's record, any role
 *   create(UID, MARKET, INTERVAL, CHECKSUM, DER1,DER2,... [, TOTAL_W])
 *       dera; every DER registered by the caller's organisation and
 *       qualified; no DER in another live bid for the same market and
 *       interval (no double counting, across all DERAs); status
 *       "submitted", version 1. TOTAL_W: the raw record's total in whole
 *       watts, kept as total_w (the node's bid list shows it without
 *       reading the record; retrieval checks it against the record)
 *   retrieve(UID)        the owning DERA, the DSO or the ISO
 *   modify(UID, CHECKSUM, REASON [, TOTAL_W])   dso: curtail; the new raw
 *       record's checksum and total, version + 1, status "curtailed"
 *   accept(UID)          dso: feasible as bid; status "accepted"
 *   withdraw(UID)        the owning DERA, before the DSO's review; frees
 *       its DERs for another bid
 *   clear(MARKET, INTERVAL, PRICE, CLEARED_KW, DERA=KW,...)   iso: the
 *       clearing, "clear/MARKET/INTERVAL"; awards add up to CLEARED_KW, at
 *       most one per organisation, each to an organisation with a live bid
 *       in that market interval
 *   dispatch(UID, CHECKSUM)   the owning DERA, after clearing: the
 *       checksum of the per-DER allocation record; status "dispatched"
 *   review(MARKET, INTERVAL, VMAX_BEFORE, VMAX_AFTER, VMIN_BEFORE,
 *       VMIN_AFTER, CURTAILED_KW, WORST_NODE, METHOD)   dso: its power
 *       flow's extremes (pu) with the bids as made and as made feasible,
 *       "review/MARKET/INTERVAL"; once per interval
 * Events: MarketRegistered, BidCreated, BidModified, BidAccepted,
 * BidWithdrawn, MarketCleared, BidDispatched, IntervalReviewed.
 * Read rule (may_read, for every read route of a node): retrieve's. A bid,
 * its live/ claims, its Bid* events and the transactions that made or
 * changed it: the owning DERA, the DSO, the ISO. market/, clear/ and
 * review/ and their events and transactions: anyone. Anything else: DSO
 * and ISO.
 */
extern const struct sc_contract sc_bids_contract;

/**
 * petra: privacy-preserving energy trading (paper 004; docs/petra.md).
 * Addresses are the hex of Ed25519 public keys. An anonymous address signs
 * as itself: the DSO certifies each fresh key as a member of the ANON
 * organisation with role "anon", and the contract takes the caller's
 * address from its certificate's key. Energy assets are {power W
 * (positive: production, negative: consumption), start, end} in intervals
 * of SC_PETRA_INTERVAL_S seconds; financial balances are integers in
 * micro-units; prices are micro-units per kWh.
 *   addEnergyAsset(ADDR, POWER, START, END)    dso; AssetAdded
 *   addFinancialBalance(ADDR, AMOUNT)          dso; FinancialAdded
 *   postOffer(ASSET, PRICE [, ask|bid])        anon, the asset's owner: an
 *       ask offers a production asset, a bid a consumption asset (and
 *       locks its cost); the asset is locked; OfferPosted
 *   rescindOffer(OFFER)                        anon, the poster; unlocks;
 *       OfferRescinded
 *   acceptOffer(OFFER, ASSET)                  anon: an ask with a
 *       consumption asset (the caller pays), a bid with a production asset;
 *       the overlap of the intervals and the smaller power change hands,
 *       the rest goes back to the owners as new assets; OfferAccepted
 *   depositEnergyAsset(ASSET), depositFinancial(AMOUNT)   anon, the owner;
 *       AssetDeposited, FinancialDeposited; logged under dep/SEQ for the DSO
 *   readAsset(ID), readOffer(ID), balance(ADDR), openOffers(),
 *   deposits(FROM_SEQ)                         reads, any role
 */
extern const struct sc_contract sc_petra_contract;

/* Room for a petra asset or offer id and its NUL. */
#define SC_PETRA_ID_SIZE 24

/** The id of what a petra call made: @kind 'a' (asset, the @k-th of the
 *  call) or 'o' (offer, @k < 0), from the @block and transaction @txid it
 *  committed in ("a0000000123.1a2b3c4d-0"): what a client computes from its
 *  result instead of reading the id back. */
void sc_petra_id(char out[SC_PETRA_ID_SIZE], char kind, uint64_t block,
                 const struct cr_hash *txid, int k);

/* Length of one petra interval: 15 minutes, as in the paper's case study. */
#define SC_PETRA_INTERVAL_S 900

/** What @watts over @intervals cost at @price (micro-units per kWh), in
 *  micro-units, rounded down: the contract's own arithmetic.
 *  Errors: BASE_EINVAL (negative), BASE_ETOOBIG (over 63 bits). */
int sc_petra_amount(int64_t price, int64_t watts, int64_t intervals,
                    int64_t *out) BASE_WUR;

#endif
