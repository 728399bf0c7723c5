/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of order: the id set, the Raft log entry
 * and snapshot encodings, and the ledger state machine ("core") that both
 * the libuv node (raft.c) and the raft_fixture tests drive. */
#ifndef GL_ORDER_INT_H
#define GL_ORDER_INT_H

#include <pthread.h>
#include <raft.h>
#include <raft/uv.h>

#include "order/order.h"

/* ---- a set of transaction ids ------------------------------------------ */

/* Open addressing with linear probing and backward-shift deletion, sized
 * once: ids in flight are bounded by max_pending. Not thread-safe. */
struct ord__idset {
    struct cr_hash *slots;
    bool *used;
    size_t cap;
};

int ord__idset_init(struct ord__idset *s, size_t max);
void ord__idset_release(struct ord__idset *s);
/** False if @h is already in the set (or the set is full). */
bool ord__idset_add(struct ord__idset *s, const struct cr_hash *h);
bool ord__idset_has(const struct ord__idset *s, const struct cr_hash *h);
void ord__idset_del(struct ord__idset *s, const struct cr_hash *h);

/* ---- Raft log entries --------------------------------------------------
 * Every RAFT_COMMAND entry of the log (docs/cluster.md):
 *   off  size  field
 *   0    4     magic "GLRE"
 *   4    1     version (1)
 *   5    1     kind: 1 block, 2 anchor
 *   6    1     P: zero bytes padding the entry to a multiple of 8 (0..7)
 *   7    1     zero
 *   8    8     proposer: Raft id of the leader that appended it
 *   16   8     term in which it was appended
 *   24         payload, then P zero bytes
 * (libraft's disk log loads back only entries whose length is a multiple
 * of 8.)
 * Block payload: the signed block, exactly as ledger-format.md §5.
 * Anchor payload: u8 channel length, channel name, u32 genesis length,
 *   the channel's genesis block. A new leader appends one before cutting
 *   blocks: once it is applied, every earlier entry is, and every node
 *   checks that it serves the same channel from the same genesis (a node
 *   that joins with an empty ledger takes the channel from it).
 */
#define ORD__ENTRY_HEADER 24

enum ord__entry_kind { ORD__ENTRY_BLOCK = 1, ORD__ENTRY_ANCHOR = 2 };

struct ord__entry {
    unsigned kind;
    uint64_t proposer;
    uint64_t term;
    struct lg_slice block;         /* kind 1, borrowed from the entry */
    char channel[LG_NAME_MAX + 1]; /* kind 2 */
    struct lg_slice genesis;       /* kind 2, borrowed from the entry */
};

/** Errors: BASE_EPARSE. */
int ord__entry_decode(struct ord__entry *e, const void *p, size_t len);
/** Encode into new memory from raft_malloc (ownership moves to the caller,
 *  then to raft_apply). Errors: BASE_ENOMEM, BASE_ETOOBIG. */
int ord__entry_block(struct raft_buffer *out, uint64_t proposer, uint64_t term,
                     const void *block, size_t len);
int ord__entry_anchor(struct raft_buffer *out, uint64_t proposer, uint64_t term,
                      const char *channel, const void *genesis, size_t len);

/* ---- snapshots ---------------------------------------------------------
 * The tip of one channel's chain (docs/cluster.md), version 2:
 *   0    4     magic "GLRS"
 *   4    1     version (2)
 *   5    1     channel length C, then C bytes
 *   .    8     height H (blocks, genesis included)
 *   .    32    hash of block H-1
 *   .    32    state hash after block H-1
 *   .    4     genesis length G, then G bytes: block 0
 * Its size does not depend on H: a node behind it fetches blocks
 * [its height, H) from a struct ord_block_source. Version 1 (before
 * tip-only snapshots) has the same header up to the state hash, then all
 * H blocks, each a u32 length and the block; it is still read, so a Raft
 * directory written before keeps working.
 */
struct ord__snapshot {
    unsigned version;
    char channel[LG_NAME_MAX + 1];
    uint64_t height;
    struct cr_hash tip;
    struct cr_hash state;
    struct lg_slice genesis; /* borrowed from the snapshot */
    struct base_rd blocks;   /* version 1: positioned at block 1 */
};

/** Append the snapshot of @ch at @height (a height the ledger reached) to
 *  @out. Errors: BASE_ENOMEM, BASE_EIO, BASE_ECORRUPT. */
int ord__snapshot_take(struct lg_channel *ch, uint64_t height,
                       struct base_buf *out);
/** Errors: BASE_EPARSE (damaged, or a version this build does not read). */
int ord__snapshot_parse(struct ord__snapshot *s, const void *p, size_t len);
/** Version 1: the next block of @s, or an empty slice at the end / on
 *  damage. */
struct lg_slice ord__snapshot_next(struct ord__snapshot *s);

/** A node's blocks for its peers (ord_hub_blocks): ord_blocks_read on
 *  its channel. Errors: BASE_ENOCHANNEL (it has none yet), and those of
 *  ord_blocks_read. */
int ord__raft_blocks(struct ord_raft *r, uint64_t from, uint64_t max,
                     struct base_buf *out);

/* ---- the core: the ledger as Raft's state machine ---------------------- */

/* An admitted transaction waiting to be cut into a block. */
struct ord__item {
    struct ord__item *next;
    struct cr_hash id;
    uint64_t origin;  /* node that took the submission */
    uint64_t arrived; /* monotonic ns */
    size_t len;
    uint8_t bytes[];
};

/** Allocate an item holding a copy of @tx. NULL when out of memory. */
struct ord__item *ord__item_new(const struct cr_hash *id, uint64_t origin,
                                const void *tx, size_t len);

/* One transaction of a block this node committed. */
struct ord__done {
    struct cr_hash id; /* zero for an envelope that does not decode */
    uint64_t block;
    uint32_t index;
    int32_t code;
    char reason[LG_REASON_MAX + 1];
};

struct ord__core_hooks {
    void *arg;
    /** A block is durable on this node (cut here or applied). Called on
     *  the Raft thread, from ord__core_poll. */
    void (*committed)(void *arg, const struct lg_header *h,
                      const struct ord__done *txs, size_t n);
    /** @it will not be ordered here after all (ownership moves): @code is
     *  BASE_ENOTLEADER (the lead was lost; whoever took it resubmits),
     *  BASE_EREPLAY (the same id is already in line) or BASE_EFULL. Called
     *  on the Raft thread, from ord__core_poll. */
    void (*returned)(void *arg, struct ord__item *it, int code);
    /** This node became ready to cut blocks (its anchor applied). */
    void (*ready)(void *arg);
    /** From the ledger thread: call ord__core_poll soon on the Raft
     *  thread. NULL when the core runs inline. */
    void (*wake)(void *arg);
};

struct ord__in;  /* a message to the ledger side (core.c) */
struct reply;    /* its answer, when it has one (core.c) */
struct ord__out; /* a message to the Raft side (core.c) */

/* When a node takes its Raft snapshots. libraft 0.15 closes the open log
 * segment at every snapshot, and closing a segment's writer blocks the
 * Raft thread in io_destroy(2) for two RCU grace periods: 30-45 ms
 * measured here (perf trace), when nothing is appended, acknowledged or
 * sent. So the core, not libraft's entry count, decides when: a follower
 * at indexes @threshold apart, offset by a phase drawn from its id (two
 * followers rarely stall together, and one is enough for a majority);
 * the leader, whose stall every client sees, @leader_factor times less
 * often; any node once @bytes of log have been applied since its last
 * snapshot (libraft holds them all in memory), whatever the count. */
struct ord__snap_policy {
    unsigned threshold;     /* 0: libraft's own threshold decides (the
                               raft_fixture tests set it themselves) */
    unsigned leader_factor; /* 0: 1 */
    unsigned trailing;      /* entries kept after a snapshot, at most */
    uint64_t bytes;         /* 0: no bound */
};

/** Whether node @id, leading or not, with its last snapshot at index
 *  @last, takes one once it has applied @index, @bytes of entries since
 *  that snapshot. */
bool ord__snapshot_due(const struct ord__snap_policy *p, uint64_t id,
                       bool leading, uint64_t last, uint64_t index,
                       uint64_t bytes);
/** Entries to keep after a snapshot that follows @entries entries of
 *  @bytes in all: at most p->trailing, and about a quarter of p->bytes of
 *  them (never fewer than 16). */
unsigned ord__snapshot_keep(const struct ord__snap_policy *p, uint64_t entries,
                            uint64_t bytes);

/*
 * The core has two sides. The Raft side runs on the thread that drives
 * Raft (the libuv loop, or a raft_fixture test): it follows leadership,
 * appends the anchor and the blocks the ledger side cut, and receives
 * Raft's state machine calls. The ledger side does every ledger write:
 * executing and storing blocks, checking and applying the leader's,
 * snapshots. Threaded (ord__core_start), the ledger side has a thread of
 * its own, so fsyncs and re-execution never hold up Raft's heartbeats and
 * elections; the two sides talk through queues, in order. Inline (the
 * fixture tests), the ledger side runs on the Raft thread, as calls.
 */
struct ord__core {
    /* Raft side. */
    struct raft *raft; /* set by the driver before raft_start */
    struct raft_fsm fsm;
    raft_term r_term;     /* term this node leads, 0: none */
    bool r_ready;         /* its anchor is applied */
    struct reply *snap;   /* the snapshot being taken, or NULL */
    uint64_t snap_start;  /* monotonic ns: fsm_snapshot was called */
    uint64_t snap_waited; /* ns until the ledger side had written it */
    struct ord__snap_policy policy; /* set by the driver before raft_start */
    bool snap_known;     /* snap_index read from libraft at first apply */
    bool snap_asked;     /* libraft told to take one after this apply */
    uint64_t snap_index; /* index of the last snapshot taken */
    uint64_t snap_bytes; /* entry bytes applied since */
    uint64_t snap_count; /* entries applied since */

    /* Shared, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t cv; /* ledger side: work; Raft side: replies */
    struct ord__in *ihead, *itail;
    size_t ilen;
    struct ord__out *ohead, *otail;
    bool threaded, started, stopping;
    pthread_t thread;
    struct lg_channel *ch; /* NULL until a joining node receives it */
    uint64_t blocks, refused, stale;
    char last_refusal[BASE_ERRMSG_SIZE];
    int failed; /* a BASE_E* code once the node cannot go on */
    char error[BASE_ERRMSG_SIZE];

    /* Ledger side. */
    struct lg_ledger *l;
    char channel[LG_NAME_MAX + 1];
    struct cr_keypair orderer;
    struct ord_options opt;
    struct ord__core_hooks hooks;
    /* Where a node behind a snapshot fetches blocks (set by the driver
     * before ord__core_start; src NULL: it cannot), and the members it
     * asks besides those of Raft's configuration. */
    const struct ord_block_source *src;
    void *src_impl;
    struct ord_member members[ORD_MAX_MEMBERS];
    size_t nmembers;
    uint64_t id;                /* Raft id of this node */
    raft_term l_term;           /* term led, as the ledger side learnt it */
    struct ord__idset inflight; /* ids in queue or pending */
    struct ord__item *qhead, *qtail;
    size_t qlen;
    struct lg_pending *pending;
    struct cr_hash pending_hash;
    struct ord__item *pending_items;
    uint64_t pending_id; /* proposal number of the pending block */
    /* The block after the pending one, proposed while that one is being
     * agreed on (executed in a nested transaction and dropped); executed
     * again, cheaply, once the pending block is stored. */
    struct {
        struct ord__item *items; /* NULL: none */
        uint64_t ts;
        struct cr_hash hash;
        uint64_t id;
    } next;
    uint64_t proposals; /* proposal numbers handed out */
};

/** Prepare @c for ledger @l (borrowed) and channel @channel (which may be
 *  missing when @may_join). @orderer and @opt are copied. Then set c->raft,
 *  give &c->fsm to raft_init (or raft_fixture_grow) and call
 *  ord__core_start before raft_start. @threaded: the ledger side gets a
 *  thread, and a snapshot is waited for on one of libraft's worker
 *  threads (libraft's asynchronous snapshots, which need raft_io version
 *  2), not on the Raft thread; else everything runs inline. Errors:
 * BASE_ENOCHANNEL, BASE_EINVAL (orderer key), BASE_ENOMEM. */
int ord__core_init(struct ord__core *c, struct lg_ledger *l,
                   const char *channel, bool may_join, bool threaded,
                   const struct cr_keypair *orderer,
                   const struct ord_options *opt,
                   const struct ord__core_hooks *hooks, char *errmsg);
/** Start the ledger side (its thread, when threaded).
 *  Errors: BASE_EIO (thread). */
int ord__core_start(struct ord__core *c);
/** Stop the ledger side (abort what is pending, drop the queue) and free
 *  everything. Call once Raft is closed, on the Raft thread. */
void ord__core_release(struct ord__core *c);
/** Follow Raft after its events: take or lose the lead, append the anchor
 *  and the blocks the ledger side cut, report what it committed. Inline,
 *  also cut the next block when one is due. Call on the Raft thread. */
void ord__core_poll(struct ord__core *c);
/** Queue admitted @it for the next block; ownership moves on success.
 *  Inline, a refusal is returned; threaded, it comes back later through
 *  hooks.returned. Errors: BASE_ENOTLEADER (not leading, or not ready),
 *  BASE_EREPLAY (the same id is in line; inline only), BASE_EFULL. */
int ord__core_push(struct ord__core *c, struct ord__item *it);
/** True when this node leads and its anchor is applied (Raft thread). */
bool ord__core_ready(const struct ord__core *c);

/* What the status shows, copied under the lock. */
struct ord__core_stats {
    struct lg_channel *ch;
    uint64_t blocks, refused, stale;
    char last_refusal[BASE_ERRMSG_SIZE];
    int failed;
    char error[BASE_ERRMSG_SIZE];
};
void ord__core_stats(struct ord__core *c, struct ord__core_stats *st);

/* ---- the Raft transport (auth.c, transport.c) --------------------------
 * libraft's messages travel over our own raft_uv_transport, not libraft's
 * raft_uv_tcp: libraft 0.15 trusts every byte it reads (a 72-byte packet
 * from anyone crashed a node, issue 15), so a peer proves it holds the
 * channel's orderer key before libraft sees the connection. The
 * connector C dials the listener L; all integers big-endian:
 *
 * HELLO, C to L (48 + A bytes, at most ORD__AUTH_HELLO_MAX):
 *   0    4     magic "GLRA"
 *   4    1     version (1)
 *   5    1     type 1
 *   6    2     A: length of C's address, 1..ORD__AUTH_ADDR_MAX
 *   8    8     C's Raft id (not 0)
 *   16   32    C's nonce, fresh from the system's random source
 *   48   A     C's Raft address, printable ASCII
 * CHALLENGE, L to C (112 bytes):
 *   0    4     magic "GLRA"
 *   4    1     version (1)
 *   5    1     type 2
 *   6    2     zero
 *   8    8     L's Raft id
 *   16   32    L's nonce, fresh
 *   48   64    L's signature over the transcript, direction 'L'
 * RESPONSE, C to L (72 bytes):
 *   0    4     magic "GLRA"
 *   4    1     version (1)
 *   5    1     type 3
 *   6    2     zero
 *   8    64    C's signature over the transcript, direction 'C'
 * Then the connection is libraft's, for its messages (libraft's own TCP
 * handshake is never sent: it belonged to the transport this replaces).
 *
 * The transcript each side signs with the orderer key (Ed25519):
 *   0    8     "GLRAUTH1"
 *   8    1     direction: 'L' signed by the listener, 'C' by the connector
 *   9    1     channel name length N, then N bytes
 *   .    8     C's id
 *   .    8     L's id
 *   .    32    C's nonce
 *   .    32    L's nonce
 *   .    1     A, then C's address (A bytes)
 * Both nonces make a signature good for one connection only; the
 * direction keeps one side's signature from being reflected as the
 * other's; the channel keeps a node of one channel from passing for a
 * node of another run with the same key. */
#define ORD__AUTH_VERSION        1
#define ORD__AUTH_NONCE          32
#define ORD__AUTH_HELLO_FIXED    48
#define ORD__AUTH_ADDR_MAX       (ORD_ADDRESS_MAX - 1)
#define ORD__AUTH_HELLO_MAX      (ORD__AUTH_HELLO_FIXED + ORD__AUTH_ADDR_MAX)
#define ORD__AUTH_CHALLENGE_SIZE 112
#define ORD__AUTH_RESPONSE_SIZE  72

struct ord__auth_hello {
    uint64_t id;
    uint8_t nonce[ORD__AUTH_NONCE];
    char address[ORD__AUTH_ADDR_MAX + 1]; /* NUL-terminated */
};

struct ord__auth_challenge {
    uint64_t id;
    uint8_t nonce[ORD__AUTH_NONCE];
    uint8_t sig[CR_SIG_SIZE];
};

/* What both signatures of one connection cover. */
struct ord__auth_session {
    const char *channel; /* borrowed */
    uint64_t cid, lid;   /* connector, listener */
    uint8_t cnonce[ORD__AUTH_NONCE], lnonce[ORD__AUTH_NONCE];
    const char *caddr; /* the connector's address, borrowed */
};

/** Parse the first @len bytes a connecting peer sent as a HELLO. Returns 0
 *  when @p holds a whole, valid hello of *@need bytes (@h filled); 1 when
 *  more bytes are needed: *@need is the total the hello takes as far as
 *  the bytes so far tell (8 until its length is known, never more than
 *  ORD__AUTH_HELLO_MAX); BASE_EPARSE when the bytes cannot start or be a
 *  hello, *@why saying why (a static string). Reads no byte past @len.
 *  Errors: BASE_EPARSE. */
int ord__auth_hello_parse(const uint8_t *p, size_t len,
                          struct ord__auth_hello *h, size_t *need,
                          const char **why);
/** The same for a CHALLENGE of exactly ORD__AUTH_CHALLENGE_SIZE bytes at
 *  @p. Errors: BASE_EPARSE (*@why says why). */
int ord__auth_challenge_parse(const uint8_t *p, struct ord__auth_challenge *c,
                              const char **why);
/** The same for a RESPONSE of exactly ORD__AUTH_RESPONSE_SIZE bytes at @p;
 *  the signature goes to @sig. Errors: BASE_EPARSE. */
int ord__auth_response_parse(const uint8_t *p, uint8_t sig[CR_SIG_SIZE],
                             const char **why);
/** Encode a HELLO into @out (ORD__AUTH_HELLO_MAX bytes); returns its length.
 *  @address must be 1..ORD__AUTH_ADDR_MAX printable bytes (asserted). */
size_t ord__auth_hello_encode(uint8_t *out, uint64_t id,
                              const uint8_t nonce[ORD__AUTH_NONCE],
                              const char *address);
void ord__auth_challenge_encode(uint8_t out[ORD__AUTH_CHALLENGE_SIZE],
                                const struct ord__auth_challenge *c);
void ord__auth_response_encode(uint8_t out[ORD__AUTH_RESPONSE_SIZE],
                               const uint8_t sig[CR_SIG_SIZE]);
/** Sign the transcript of @s in direction @dir ('L' or 'C') with @key. */
void ord__auth_sign(uint8_t sig[CR_SIG_SIZE], char dir,
                    const struct ord__auth_session *s,
                    const struct cr_keypair *key);
/** Check such a signature with @pk. Errors: BASE_EBADSIG (also when the
 *  channel or the address is too long to have been signed). */
int ord__auth_verify(const uint8_t sig[CR_SIG_SIZE], char dir,
                     const struct ord__auth_session *s,
                     const uint8_t pk[CR_PUBKEY_SIZE]);

/* After the handshake, the transport relays what a peer sends to libraft
 * through a socket pair, message by message, holding each preamble and
 * header back until these say libraft can read it safely: the type is
 * one of libraft's, the header at most ORD__FRAME_HEADER_MAX bytes, every
 * field libraft's decoder reads inside the header, and the payload it
 * announces at most ORD__FRAME_PAYLOAD_MAX (docs/cluster.md,
 * "Transport"). Integers little-endian, as libraft writes them:
 *   preamble: u64 message type, u64 header length; then the header, then
 *   the payload (AppendEntries: the entries; InstallSnapshot: the data).
 */
#define ORD__FRAME_PREAMBLE    16
#define ORD__FRAME_HEADER_MAX  (UINT64_C(4) << 20)
#define ORD__FRAME_PAYLOAD_MAX (UINT64_C(1) << 30)

/** Check a preamble; its type and header length to *@type and *@hlen.
 *  Errors: BASE_EPARSE (*@why, static, says why). */
int ord__frame_preamble(const uint8_t pre[ORD__FRAME_PREAMBLE], uint64_t *type,
                        uint64_t *hlen, const char **why);
/** Check the @hlen-byte header @h of a message of @type (as the preamble
 *  gave them); the payload length that follows to *@payload. Reads no
 *  byte past @hlen. Errors: BASE_EPARSE (*@why says why). */
int ord__frame_header(uint64_t type, const uint8_t *h, size_t hlen,
                      uint64_t *payload, const char **why);

/* Why the transport refused a connection (counted per reason). */
enum ord__refusal {
    ORD__REFUSE_HELLO,     /* not a gridledger hello: garbage, oversized */
    ORD__REFUSE_TRUNCATED, /* closed before finishing the handshake (or,
                              outgoing, a write failed) */
    ORD__REFUSE_TIMEOUT,   /* did not finish within the deadline */
    ORD__REFUSE_SIG,       /* signature does not verify: wrong key, replay */
    ORD__REFUSE_MEMBER,    /* the id is not a member of the configuration */
    ORD__REFUSE_FULL,      /* too many handshakes in progress */
    ORD__REFUSE_PEER,      /* outgoing: the listener's answer is bad (not
                              a challenge, another id, bad signature) */
    ORD__REFUSE_FRAME,     /* authenticated, then a message libraft could
                              not read safely (ord__frame_*) */
    ORD__REFUSE_COUNT
};

struct ord__transport_stats {
    uint64_t refused[ORD__REFUSE_COUNT];
    uint64_t accepted;  /* incoming connections handed to libraft */
    uint64_t relayed;   /* bytes relayed to libraft from its peers */
    uint64_t connected; /* outgoing ones */
};

struct ord__transport_config {
    const char *channel;          /* borrowed for the transport's life */
    const struct cr_keypair *key; /* the orderer key: borrowed likewise */
    /* True if @id may connect: a member of this node's current Raft
     * configuration (loop thread). NULL: any id with the key. */
    bool (*is_member)(void *arg, uint64_t id);
    void *arg;
    unsigned handshake_ms; /* deadline of one handshake; 0: 5000 */
    unsigned max_pending;  /* handshakes in progress at once; 0: 64 (and
                              8 from one address) */
};

/** Make @t (caller's storage) our authenticating transport on @loop, for
 *  raft_uv_init. TCP_NODELAY on every connection (Nagle's algorithm held
 *  small replies back 40 ms a Raft round); IPv4 "A.B.C.D:PORT" addresses,
 *  of which only the part before '/' is used (ord_address_split).
 *  Once libraft closes it (t->close), it frees itself; if libraft never
 *  took it over, ord__transport_release frees it.
 *  Errors: BASE_ENOMEM, BASE_EINVAL (channel name over LG_NAME_MAX). */
int ord__transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                        const struct ord__transport_config *cfg) BASE_WUR;
void ord__transport_release(struct raft_uv_transport *t);
/** Counters of @t so far. Thread-safe. */
void ord__transport_stats(struct raft_uv_transport *t,
                          struct ord__transport_stats *st);
/** The same for node @r's transport (tests). Thread-safe. */
void ord__raft_transport_stats(struct ord_raft *r,
                               struct ord__transport_stats *st);

/* RAFT_* codes stay inside order: one mapping each way. */
int ord__from_raft(int rv);
int ord__to_raft(int rv);

#endif
