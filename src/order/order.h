/* SPDX-License-Identifier: MIT */
/* Public header of order: ordering transactions into blocks. The embedded
 * default is solo: one process admits, batches and commits. A cluster of
 * nodes orders through Raft (libraft), each node executing and checking
 * every block itself (docs/cluster.md). */
#ifndef GL_ORDER_H
#define GL_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"

/*
 * Solo ordering. Submitted envelopes go to a pool of verifier threads (one
 * per core by default) that decode them and run lg_admit(): signature,
 * certificate, role, replay. Refusals are reported at once. Admitted
 * transactions queue for the committer thread, which cuts a block when
 * max_block_tx are waiting, or when the oldest waiting transaction has
 * waited batch_timeout, or at once when batch_timeout is 0 — and commits it
 * with lg_commit(). While one block commits, the next one fills, so an idle
 * ledger commits a lone transaction in about one fsync and a busy one builds
 * large blocks (group commit).
 */

struct ord_solo;

struct ord_options {
    unsigned max_block_tx;  /* 0: 2000 */
    uint64_t batch_timeout; /* ns to wait for more; 0: cut at once */
    size_t max_pending;     /* submitted, not yet committed; 0: 200000 */
    unsigned verifiers;     /* 0: one per core */
};

/** How a submitted transaction ended. */
struct ord_result {
    int code;       /* 0: committed valid; else refused or recorded invalid */
    bool committed; /* in a block (valid or invalid) */
    struct cr_hash id;
    uint64_t block;
    uint32_t index;
    char reason[LG_REASON_MAX + 1];
};

/** Called exactly once per accepted submission, from an orderer thread,
 *  after the block is durable (or on refusal). Keep it short. */
typedef void (*ord_done_cb)(void *arg, const struct ord_result *r);

/** Start ordering for channel @ch (borrowed until ord_solo_stop), signing
 *  blocks with @orderer (copied). Errors: BASE_ENOMEM, BASE_EIO (threads). */
int ord_solo_start(struct ord_solo **out, struct lg_channel *ch,
                   const struct cr_keypair *orderer,
                   const struct ord_options *opt) BASE_WUR;

/** Submit an envelope (copied). @cb gets the outcome later. Thread-safe.
 *  On error @cb is never called.
 *  Errors: BASE_ETOOBIG, BASE_EFULL (too many pending), BASE_ECLOSED. */
int ord_submit(struct ord_solo *s, const void *tx, size_t len, ord_done_cb cb,
               void *arg) BASE_WUR;

/** Submit and wait for the outcome. Returns @res->code, or a submit error. */
int ord_submit_wait(struct ord_solo *s, const void *tx, size_t len,
                    struct ord_result *res);

/** Counters since start. Thread-safe. */
struct ord_stats {
    uint64_t submitted;
    uint64_t refused;
    uint64_t committed_valid;
    uint64_t committed_invalid;
    uint64_t blocks;
    uint64_t pending;
};
void ord_solo_stats(struct ord_solo *s, struct ord_stats *st);

/** Commit everything already submitted, stop the threads and free @s. */
void ord_solo_stop(struct ord_solo *s);

/* ---- one interface over both orderers ------------------------------------
 * A node holds a struct ord_orderer * and need not know whether it orders
 * alone (solo) or in a cluster (Raft): both implement these calls with the
 * contracts of ord_submit, ord_submit_wait, ord_solo_stats, ord_solo_stop. */

struct ord_orderer;

struct ord_orderer_ops {
    int (*submit)(struct ord_orderer *o, const void *tx, size_t len,
                  ord_done_cb cb, void *arg);
    void (*stats)(struct ord_orderer *o, struct ord_stats *st);
    void (*stop)(struct ord_orderer *o);
};

struct ord_orderer {
    const struct ord_orderer_ops *ops;
};

/** The solo orderer seen through the common interface (borrowed until
 *  ord_solo_stop, or until ord_orderer_stop, which stops it). */
struct ord_orderer *ord_solo_orderer(struct ord_solo *s);

static inline int ord_orderer_submit(struct ord_orderer *o, const void *tx,
                                     size_t len, ord_done_cb cb, void *arg)
{
    return o->ops->submit(o, tx, len, cb, arg);
}
static inline void ord_orderer_stats(struct ord_orderer *o,
                                     struct ord_stats *st)
{
    o->ops->stats(o, st);
}
static inline void ord_orderer_stop(struct ord_orderer *o)
{
    if (o != NULL) {
        o->ops->stop(o);
    }
}
/** Submit through @o and wait for the outcome (see ord_submit_wait). */
int ord_orderer_submit_wait(struct ord_orderer *o, const void *tx, size_t len,
                            struct ord_result *res);

/* ---- Raft cluster ----------------------------------------------------------
 *
 * Each node runs one struct ord_raft per channel: a Raft server (libraft,
 * with its libuv disk log and TCP transport) whose log entries are signed
 * blocks (format in docs/cluster.md). The leader admits and batches
 * transactions as solo does, executes the next block without storing it
 * (lg_prepare), and appends the block to the Raft log. Once Raft has
 * committed the entry, every node applies it: the leader stores the block
 * it executed; every other node checks and re-executes it (lg_apply: every
 * signature, every contract rule, the results and the state hash) and
 * refuses a block that does not match, so a faulty leader cannot forge a
 * transaction or a result. A submission on any node is admitted there and
 * forwarded to the leader through struct ord_peer_ops (Raft's transport
 * carries only Raft messages); its callback fires when the block holding
 * it is durable on this node. A snapshot names only the tip of the chain
 * (its height, hash and state hash, and the genesis block): a node behind
 * it fetches the blocks it lacks from its peers (struct ord_block_source)
 * and re-executes them.
 *
 * Threads: one libuv loop thread runs Raft and the ledger writes of the
 * node; verifier threads admit submissions. Every call below is
 * thread-safe unless it says otherwise.
 */

struct ord_raft;

#define ORD_MAX_MEMBERS 16
#define ORD_ADDRESS_MAX 64

/** A member of the cluster: its Raft server id and transport address. */
struct ord_member {
    uint64_t id;                   /* > 0 */
    char address[ORD_ADDRESS_MAX]; /* "IPV4:PORT" of its Raft transport */
};

/** Parse a cluster list "ID@HOST:PORT,ID@HOST:PORT,..." (the --cluster
 *  flag) into @out (up to @max entries; *@n gets the count). Ids are
 *  positive and distinct, addresses distinct. An item may name the node's
 *  HTTP address after a slash, "ID@A.B.C.D:PORT/HTTPHOST:PORT": it stays
 *  part of the member's address, so Raft's configuration carries it to
 *  every node (ord_address_split takes it apart; the transport uses only
 *  the Raft part).
 *  Errors: BASE_EPARSE, BASE_EINVAL (@errmsg names the bad item). */
int ord_cluster_parse(const char *text, struct ord_member *out, size_t max,
                      size_t *n, char *errmsg) BASE_WUR;

/** Split a member address "A.B.C.D:PORT[/HOST:PORT]" into its Raft part
 *  and its HTTP part ("" when it has none), each truncated to its size. */
void ord_address_split(const char *address, char *raft, size_t raft_size,
                       char *http, size_t http_size);

/**
 * How a node reaches its peers for what Raft's transport does not carry:
 * handing a submission to the leader, and telling the node a forwarded
 * submission came from that the leader refused it. In one process,
 * ord_hub implements it; between processes the node's HTTP gateway does
 * (phase 2 of issue 6). Calls come from orderer threads; they must not
 * block for long and must not call back into the calling orderer.
 */
struct ord_peer_ops {
    /** Register orderer @r as node @id, so its peers can reach it. */
    int (*attach)(void *impl, uint64_t id, struct ord_raft *r);
    /** Forget node @id; once this returns, nothing calls into it. */
    void (*detach)(void *impl, uint64_t id);
    /** Hand envelope @tx (borrowed for the call) from node @from to the
     *  leader @to, which receives it with ord_raft_forwarded(). Errors:
     *  BASE_ECLOSED (unreachable), BASE_EFULL; the sender retries. */
    int (*forward)(void *impl, uint64_t from, uint64_t to, const void *tx,
                   size_t len);
    /** Tell node @to that the leader @from refused its forwarded
     *  transaction @id with @code and @reason (copied); the receiver
     *  learns it with ord_raft_refused(). */
    void (*refused)(void *impl, uint64_t from, uint64_t to,
                    const struct cr_hash *id, int code, const char *reason);
};

/**
 * Where a node restoring a snapshot gets the blocks it lacks. Blocks link
 * by hash and the snapshot's tip hash was agreed on through Raft, so a
 * block may come from any member: the node applies each one with
 * lg_apply (signatures, rules, re-execution) and, after the last, checks
 * its tip and state hash against the snapshot's; a block that fails is
 * asked of the next member. Called from the node's ledger thread, which
 * waits for the answer; it must not call back into that node.
 */
struct ord_block_source {
    /** Append to @out (the caller's) blocks @from, @from+1, ... of
     *  channel @channel as member @peer holds them, at least one and at
     *  most @max, in the format of ord_blocks_read. @address (borrowed
     *  for the call) is the member's address in the Raft configuration,
     *  "A.B.C.D:PORT[/HTTPHOST:PORT]" (ord_address_split).
     *  Errors: BASE_ENOTFOUND (the member lacks block @from), BASE_ECLOSED
     *  (unreachable), BASE_EIO, BASE_ENOMEM; @errmsg says why. */
    int (*fetch)(void *impl, uint64_t peer, const char *address,
                 const char *channel, uint64_t from, uint64_t max,
                 struct base_buf *out, char *errmsg);
};

/** How blocks travel between nodes (GET /v1/blocks?from=&count=, and
 *  every struct ord_block_source): for each block a u32 big-endian length
 *  then the block as stored (ledger-format.md §5). Appends to @out blocks
 *  @from.. of @ch, at most @max of them, stopping at the tip or once
 *  @max_bytes are written (always at least block @from).
 *  Errors: BASE_ENOTFOUND (@from is past the tip), BASE_EIO, BASE_ENOMEM. */
int ord_blocks_read(struct lg_channel *ch, uint64_t from, uint64_t max,
                    size_t max_bytes, struct base_buf *out) BASE_WUR;

struct ord_raft_options {
    struct ord_options order;         /* batching and admission, as for solo */
    unsigned election_timeout_ms;     /* 0: 300 (randomised to 300..600) */
    unsigned heartbeat_timeout_ms;    /* 0: 15 */
    unsigned snapshot_threshold;      /* log entries (blocks) between a
                                         follower's snapshots; 0: 4096 */
    unsigned snapshot_trailing;       /* entries kept after a snapshot,
                                         at most; 0: 1024 */
    unsigned snapshot_leader_factor;  /* the leader snapshots this many
                                         times less often; 0: 4 */
    uint64_t snapshot_bytes;          /* log bytes since the last snapshot
                                         that call for one whatever the
                                         count (and a quarter of it bounds
                                         what is kept); 0: 64 MiB */
    uint64_t segment_size;            /* bytes of a Raft log segment file;
                                         0: 32 MiB */
    uint64_t submit_timeout;          /* ns a submission may wait for its
                                         block; 0: 30 s */
    uint64_t drain_timeout;           /* ns ord_raft_stop waits for submissions
                                         in flight; 0: 5 s */
    uint64_t check_depth;             /* blocks lg_check_tail checks at start;
                                         0: 256 */
    unsigned handshake_timeout_ms;    /* a Raft peer proves it holds the
                                         orderer key within this, or is
                                         dropped (docs/cluster.md,
                                         "Transport"); 0: 5000 */
    bool join;                        /* never bootstrap: wait to be added to
                                         a running cluster (ord_raft_add) */
    bool forward_unchecked;           /* a follower forwards submissions
                                         without admitting them first: the
                                         leader admits every one anyway, and
                                         its refusals come back through the
                                         peers (one signature check fewer) */
    const struct ord_peer_ops *peers; /* NULL: followers refuse submissions
                                         with BASE_ENOTLEADER */
    void *peers_impl;
    const struct ord_block_source *blocks; /* borrowed until ord_raft_stop;
                                              NULL: a node behind a
                                              snapshot cannot restore it */
    void *blocks_impl;
};

/**
 * Start node @id of the cluster @members (copied; @id must be one of them)
 * ordering channel @channel of ledger @l (borrowed until ord_raft_stop),
 * with its Raft log and snapshots in directory @raft_dir (created if
 * missing). A node whose Raft directory is new bootstraps the cluster with
 * @members as voters, unless @opt->join: then it waits for the leader to
 * add it (ord_raft_add) and receives the channel (genesis block included)
 * from the cluster, so @l may lack the channel. @orderer (copied) signs
 * the blocks this node cuts while it leads; it must be the channel's
 * orderer key. Before starting, the tail of the block store is checked
 * (lg_check_tail); a damaged store refuses to start.
 * SIGPIPE is ignored from then on (unless the program handles it), since
 * libuv writes to sockets a peer may have closed.
 * On error nothing is left running and @errmsg says why.
 * Errors: BASE_EINVAL (bad arguments, wrong orderer key), BASE_ENOCHANNEL
 * (no such channel and not joining), BASE_ECORRUPT (block store or Raft
 * log damaged), BASE_EIO (directory, socket), BASE_ENOMEM.
 */
int ord_raft_start(struct ord_raft **out, struct lg_ledger *l,
                   const char *channel, const char *raft_dir, uint64_t id,
                   const struct ord_member *members, size_t nmembers,
                   const struct cr_keypair *orderer,
                   const struct ord_raft_options *opt, char *errmsg) BASE_WUR;

/** Submit an envelope (copied) on this node, leader or not; @cb gets the
 *  outcome once the block holding it is durable on this node, or a
 *  refusal, or BASE_ETIMEDOUT after @opt->submit_timeout (it may still
 *  commit later), or BASE_ECLOSED when the node stops first. On error @cb
 *  is never called.
 *  Errors: BASE_ETOOBIG, BASE_EFULL, BASE_ECLOSED. */
int ord_raft_submit(struct ord_raft *r, const void *tx, size_t len,
                    ord_done_cb cb, void *arg) BASE_WUR;
/** Submit and wait. Returns @res->code, or a submit error. */
int ord_raft_submit_wait(struct ord_raft *r, const void *tx, size_t len,
                         struct ord_result *res);
/** Counters since start: this node's submissions, and the blocks it
 *  committed (its own and applied ones). */
void ord_raft_stats(struct ord_raft *r, struct ord_stats *st);
/** The node through the common interface (borrowed until stopped). */
struct ord_orderer *ord_raft_orderer(struct ord_raft *r);

enum ord_role { ORD_UNAVAILABLE, ORD_FOLLOWER, ORD_CANDIDATE, ORD_LEADER };

/** What `gridledger status` shows for one node. */
struct ord_raft_status {
    uint64_t id;
    enum ord_role role;
    uint64_t leader_id; /* 0: none known */
    char leader_address[ORD_ADDRESS_MAX];
    uint64_t term;
    uint64_t commit_index; /* Raft log */
    uint64_t last_applied;
    uint64_t last_index;
    size_t nmembers;
    struct {
        uint64_t id;
        char address[ORD_ADDRESS_MAX];
        bool voter;
    } members[ORD_MAX_MEMBERS];
    bool has_channel;        /* false while a joining node waits for it */
    uint64_t height;         /* this node's ledger: blocks, genesis included */
    struct cr_hash tip;      /* hash of its last block */
    struct cr_hash state;    /* state hash after its last block */
    uint64_t blocks_refused; /* entries this node would not apply */
    uint64_t blocks_stale;   /* entries a deposed leader cut on an old tip */
    char last_refusal[BASE_ERRMSG_SIZE];
    bool failed; /* the node cannot go on (see error) */
    char error[BASE_ERRMSG_SIZE];
};

/** This node's view of the cluster, refreshed by its loop thread after
 *  every event (at most one loop iteration old). */
void ord_raft_status(struct ord_raft *r, struct ord_raft_status *st);

/**
 * Add node @id at @address as a voter. Call it on the leader: the new node
 * (started with opt->join) first catches up from a snapshot and the log,
 * then votes. Blocks until the change is committed or fails.
 * Errors: BASE_ENOTLEADER (@errmsg names the leader), BASE_EINVAL,
 * BASE_EBUSY (another change is running), BASE_ETIMEDOUT, BASE_ECLOSED.
 */
int ord_raft_add(struct ord_raft *r, uint64_t id, const char *address,
                 char *errmsg) BASE_WUR;

/** A submission forwarded by node @from (see struct ord_peer_ops): admit
 *  it here and order it if this node leads; refusals go back to @from.
 *  @tx is copied. Errors: BASE_EFULL, BASE_ECLOSED, BASE_ETOOBIG. */
int ord_raft_forwarded(struct ord_raft *r, uint64_t from, const void *tx,
                       size_t len) BASE_WUR;
/** The leader refused this node's forwarded submission @id. */
void ord_raft_refused(struct ord_raft *r, const struct cr_hash *id, int code,
                      const char *reason);

/** Stop the node: wait up to opt->drain_timeout for submissions in flight,
 *  end the others with BASE_ECLOSED, leave the cluster's Raft traffic and
 *  free @r. The ledger stays open (the caller owns it). */
void ord_raft_stop(struct ord_raft *r);

/* ---- in-process peers --------------------------------------------------
 * struct ord_peer_ops for nodes that share one process (tests, the
 * benchmark, phase 1 of issue 6): forwarding is a function call. */

struct ord_hub;

/** Errors: BASE_ENOMEM. */
int ord_hub_new(struct ord_hub **out) BASE_WUR;
/** Free @h; every node using it must be stopped first. */
void ord_hub_free(struct ord_hub *h);
/** The operations to put in ord_raft_options.peers, with the hub as
 *  peers_impl. Static storage. */
const struct ord_peer_ops *ord_hub_ops(void);
/** The block source to put in ord_raft_options.blocks, with the hub as
 *  blocks_impl: it reads the blocks from the peer's ledger. Static
 *  storage. */
const struct ord_block_source *ord_hub_blocks(void);

#endif
