/* SPDX-License-Identifier: MIT */
/* The ledger as Raft's state machine: the leader cuts and executes blocks,
 * every node applies committed entries, snapshots name the tip. The Raft
 * side runs on Raft's thread; the ledger side on a thread of its own (or
 * inline, for raft_fixture tests). See struct ord__core. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "order/order_int.h"

#define MOD "order"

/* Committed entries the ledger side may lag behind before Raft's state
 * machine calls wait for it: a bound on memory, never reached while the
 * ledger keeps up. */
#define MAX_BACKLOG 256

enum in_kind {
    IN_ENTRY,    /* a committed log entry (data) */
    IN_ITEM,     /* an admitted transaction (item) */
    IN_LEAD,     /* this node leads term (term), its anchor applied */
    IN_LOSE,     /* it no longer leads */
    IN_FAILED,   /* proposal (id) did not make it into the log */
    IN_SNAPSHOT, /* write the snapshot into (reply) */
    IN_RESTORE,  /* bring the ledger to snapshot (data), from (peers) */
    IN_STOP
};

/* A call from the Raft side that waits for the ledger side's answer. */
struct reply {
    bool done;
    int rv;
    struct base_buf buf;
};

struct ord__in {
    struct ord__in *next;
    enum in_kind kind;
    raft_term term;
    uint64_t id;
    struct ord__item *item;
    struct reply *reply;
    size_t len;
    uint8_t *data;            /* owned (IN_ENTRY); borrowed (IN_RESTORE) */
    struct ord_member *peers; /* IN_RESTORE: owned */
    size_t npeers;
};

enum out_kind {
    OUT_PROPOSE,   /* append block (buf) as proposal (id) in (term) */
    OUT_COMMITTED, /* block (h) with its transactions (done, n) */
    OUT_RETURNED   /* item (item) not ordered here, with (code) */
};

struct ord__out {
    struct ord__out *next;
    enum out_kind kind;
    raft_term term;
    uint64_t id;
    struct raft_buffer buf;
    struct lg_header h;
    struct ord__done *done;
    size_t n;
    struct ord__item *item;
    int code;
};

struct block_req {
    struct raft_apply req;
    struct ord__core *c;
    uint64_t id;
};

struct anchor_req {
    struct raft_apply req;
    struct ord__core *c;
    raft_term term;
};

static int process(struct ord__core *c, struct ord__in *m);
static struct lg_channel *channel_of(struct ord__core *c);

/* ---- queues between the sides -------------------------------------------- */

/* Hand @m to the ledger side. Inline, it is processed at once and its
 * result returned; threaded, queued in order (0). */
static int post_in(struct ord__core *c, struct ord__in *m)
{
    if (!c->threaded) {
        return process(c, m);
    }
    pthread_mutex_lock(&c->lock);
    m->next = NULL;
    if (c->itail != NULL) {
        c->itail->next = m;
    } else {
        c->ihead = m;
    }
    c->itail = m;
    c->ilen++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void post_out(struct ord__core *c, struct ord__out *o)
{
    pthread_mutex_lock(&c->lock);
    o->next = NULL;
    if (c->otail != NULL) {
        c->otail->next = o;
    } else {
        c->ohead = o;
    }
    c->otail = o;
    pthread_mutex_unlock(&c->lock);
    if (c->threaded && c->hooks.wake != NULL) {
        c->hooks.wake(c->hooks.arg);
    }
}

static struct ord__in *in_new(enum in_kind kind)
{
    struct ord__in *m = base_calloc(1, sizeof *m);
    if (m != NULL) {
        m->kind = kind;
    }
    return m;
}

/* Send a message that must not be lost; retry on memory shortage, since
 * the two sides would otherwise disagree on who leads. */
static void post_in_must(struct ord__core *c, enum in_kind kind, raft_term term,
                         uint64_t id)
{
    struct ord__in *m;
    while ((m = in_new(kind)) == NULL) {
        base_sleep_ns(1000000);
    }
    m->term = term;
    m->id = id;
    post_in(c, m);
}

static int wait_reply(struct ord__core *c, struct reply *r)
{
    pthread_mutex_lock(&c->lock);
    while (!r->done) {
        pthread_cond_wait(&c->cv, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return r->rv;
}

/* Wait for the ledger side to answer @m (threaded), or run it here. */
static int call_in(struct ord__core *c, struct ord__in *m, struct reply *r)
{
    m->reply = r;
    if (!c->threaded) {
        process(c, m);
        return r->rv;
    }
    post_in(c, m);
    return wait_reply(c, r);
}

static void answer(struct ord__core *c, struct reply *r, int rv)
{
    pthread_mutex_lock(&c->lock);
    r->rv = rv;
    r->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->lock);
}

/* ---- status (ledger side writes, anyone reads) ------------------------------
 */

static void fail(struct ord__core *c, int code, const char *msg)
{
    pthread_mutex_lock(&c->lock);
    bool first = c->failed == 0;
    if (first) {
        c->failed = code;
        snprintf(c->error, sizeof c->error, "%s", msg);
    }
    pthread_mutex_unlock(&c->lock);
    if (first) {
        BASE_ERROR(MOD, "node %llu cannot go on: %s", (unsigned long long)c->id,
                   msg);
    }
}

static int failed(struct ord__core *c)
{
    pthread_mutex_lock(&c->lock);
    int f = c->failed;
    pthread_mutex_unlock(&c->lock);
    return f;
}

static void refuse(struct ord__core *c, bool stale, const char *msg)
{
    pthread_mutex_lock(&c->lock);
    if (stale) {
        c->stale++;
    } else {
        c->refused++;
        snprintf(c->last_refusal, sizeof c->last_refusal, "%s", msg);
    }
    pthread_mutex_unlock(&c->lock);
    if (stale) {
        BASE_INFO(MOD, "node %llu: %s", (unsigned long long)c->id, msg);
    } else {
        BASE_ERROR(MOD, "node %llu refused a block: %s",
                   (unsigned long long)c->id, msg);
    }
}

static void set_channel(struct ord__core *c, struct lg_channel *ch)
{
    pthread_mutex_lock(&c->lock);
    c->ch = ch;
    pthread_mutex_unlock(&c->lock);
}

static void count_block(struct ord__core *c)
{
    pthread_mutex_lock(&c->lock);
    c->blocks++;
    pthread_mutex_unlock(&c->lock);
}

void ord__core_stats(struct ord__core *c, struct ord__core_stats *st)
{
    pthread_mutex_lock(&c->lock);
    st->ch = c->ch;
    st->blocks = c->blocks;
    st->refused = c->refused;
    st->stale = c->stale;
    memcpy(st->last_refusal, c->last_refusal, sizeof st->last_refusal);
    st->failed = c->failed;
    memcpy(st->error, c->error, sizeof st->error);
    pthread_mutex_unlock(&c->lock);
}

/* ---- ledger side: telling the Raft side what happened ----------------------
 */

static void give_back(struct ord__core *c, struct ord__item *list, int code)
{
    while (list != NULL) {
        struct ord__item *it = list;
        list = it->next;
        it->next = NULL;
        if (code == BASE_ENOTLEADER) {
            /* It was in line (or never got there: then this is a no-op,
             * since nothing in line has its id while not leading). */
            ord__idset_del(&c->inflight, &it->id);
        }
        struct ord__out *o = base_calloc(1, sizeof *o);
        if (o == NULL) {
            /* Whoever submitted it times out and learns nothing worse. */
            base_free(it);
            continue;
        }
        o->kind = OUT_RETURNED;
        o->item = it;
        o->code = code;
        post_out(c, o);
    }
}

static void report(struct ord__core *c, const struct lg_header *h,
                   struct ord__done *d, size_t n)
{
    struct ord__out *o = base_calloc(1, sizeof *o);
    if (o == NULL) {
        /* Waiters then learn their outcome from the index on timeout. */
        base_free(d);
        return;
    }
    o->kind = OUT_COMMITTED;
    o->h = *h;
    o->done = d;
    o->n = n;
    post_out(c, o);
}

static void report_pending(struct ord__core *c, const struct lg_header *h,
                           const struct lg_outcome *outs)
{
    size_t n = h->tx_count;
    struct ord__done *d = base_malloc(n * sizeof *d);
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].id = outs[i].id;
        d[i].block = h->number;
        d[i].index = (uint32_t)i;
        d[i].code = outs[i].code;
        snprintf(d[i].reason, sizeof d[i].reason, "%s", outs[i].reason);
    }
    report(c, h, d, n);
}

static void report_applied(struct ord__core *c, const uint8_t *bytes,
                           size_t len)
{
    struct lg_block b;
    if (lg_block_decode(&b, bytes, len) != 0) {
        return;
    }
    size_t n = b.h.tx_count;
    struct ord__done *d = base_calloc(n, sizeof *d);
    for (size_t i = 0; d != NULL && i < n; i++) {
        struct lg_tx tx;
        if (lg_tx_decode(&tx, b.txs[i].p, b.txs[i].len) == 0) {
            d[i].id = tx.id;
        }
        d[i].block = b.h.number;
        d[i].index = (uint32_t)i;
        d[i].code = b.results[i].code;
        size_t rl = b.results[i].reason.len;
        rl = rl > LG_REASON_MAX ? LG_REASON_MAX : rl;
        memcpy(d[i].reason, b.results[i].reason.p, rl);
        d[i].reason[rl] = '\0';
    }
    if (d != NULL) {
        report(c, &b.h, d, n);
    }
    lg_block_release(&b);
}

/* ---- ledger side: leading --------------------------------------------------
 */

/* Put @items back at the front of the queue if still leading, else give
 * them back to whoever took them. */
static void requeue(struct ord__core *c, struct ord__item *items)
{
    if (items == NULL) {
        return;
    }
    if (c->l_term == 0) {
        give_back(c, items, BASE_ENOTLEADER);
        return;
    }
    struct ord__item *last = items;
    size_t n = 1;
    while (last->next != NULL) {
        last = last->next;
        n++;
    }
    last->next = c->qhead;
    if (c->qhead == NULL) {
        c->qtail = last;
    }
    c->qhead = items;
    c->qlen += n;
}

/* Forget the proposed next block (its entry, if Raft commits it anyway,
 * comes back and is re-executed like any other). */
static void drop_next(struct ord__core *c)
{
    struct ord__item *items = c->next.items;
    c->next.items = NULL;
    requeue(c, items);
}

/* Forget the block executed but not committed, and the one proposed after
 * it. Their entries may still be committed by the next leader; then they
 * come back as entries and are re-executed like any other node's block. */
static void abort_pending(struct ord__core *c)
{
    /* The next block goes back behind the pending one's transactions. */
    drop_next(c);
    if (c->pending == NULL) {
        return;
    }
    lg_pending_abort(c->pending);
    c->pending = NULL;
    struct ord__item *items = c->pending_items;
    c->pending_items = NULL;
    requeue(c, items);
}

static void lose_lead(struct ord__core *c)
{
    if (c->l_term != 0) {
        BASE_INFO(MOD, "node %llu no longer leads (term %llu)",
                  (unsigned long long)c->id, (unsigned long long)c->l_term);
    }
    c->l_term = 0;
    abort_pending(c);
    struct ord__item *q = c->qhead;
    c->qhead = c->qtail = NULL;
    c->qlen = 0;
    give_back(c, q, BASE_ENOTLEADER);
}

static int enqueue(struct ord__core *c, struct ord__item *it)
{
    int rv = 0;
    if (c->l_term == 0) {
        rv = BASE_ENOTLEADER;
    } else if (c->qlen >= c->opt.max_pending) {
        rv = BASE_EFULL;
    } else if (!ord__idset_add(&c->inflight, &it->id)) {
        rv = BASE_EREPLAY;
    }
    if (rv != 0) {
        return rv;
    }
    it->next = NULL;
    if (c->qtail != NULL) {
        c->qtail->next = it;
    } else {
        c->qhead = it;
    }
    c->qtail = it;
    c->qlen++;
    return 0;
}

/* Take up to max_block_tx items off the queue, as lg_items. */
static struct ord__item *take(struct ord__core *c, struct lg_item **items,
                              size_t *n)
{
    *n = c->qlen < c->opt.max_block_tx ? c->qlen : c->opt.max_block_tx;
    *items = base_malloc(*n * sizeof **items);
    if (*items == NULL) {
        return NULL;
    }
    struct ord__item *head = c->qhead, *last = NULL, *it = head;
    for (size_t i = 0; i < *n; i++) {
        (*items)[i] = (struct lg_item){it->bytes, it->len, true};
        last = it;
        it = it->next;
    }
    c->qhead = it;
    if (it == NULL) {
        c->qtail = NULL;
    }
    c->qlen -= *n;
    last->next = NULL;
    return head;
}

static bool propose_out(struct ord__core *c, const void *block, size_t len,
                        uint64_t id)
{
    struct ord__out *o = base_calloc(1, sizeof *o);
    if (o == NULL ||
        ord__entry_block(&o->buf, c->id, c->l_term, block, len) != 0) {
        base_free(o);
        return false;
    }
    o->kind = OUT_PROPOSE;
    o->term = c->l_term;
    o->id = id;
    post_out(c, o);
    return true;
}

static void cut_failed(struct ord__core *c, int rv, struct ord__item *items)
{
    BASE_WARN(MOD, "node %llu: cannot cut a block: %s",
              (unsigned long long)c->id, base_strerror(rv));
    if (rv == BASE_EPANIC) {
        fail(c, rv, "the ledger store refuses writes after a fatal error");
    }
    /* Whoever submitted them resubmits (to the next leader if need be). */
    give_back(c, items, BASE_ENOTLEADER);
}

/* The leader's clock stamps a block; every node checks certificate
 * validity against this time, not its own. */
static void cut(struct ord__core *c)
{
    struct lg_item *items;
    size_t n;
    struct ord__item *head = take(c, &items, &n);
    if (head == NULL) {
        return; /* out of memory: try again at the next message */
    }
    uint64_t ts = base_wall_ns();
    int rv;
    if (c->pending == NULL) {
        struct lg_pending *p = NULL;
        rv = lg_prepare(channel_of(c), items, n, ts, &c->orderer, NULL, &p);
        struct lg_slice blk =
            rv == 0 ? lg_pending_block(p) : (struct lg_slice){NULL, 0};
        if (rv == 0 && !propose_out(c, blk.p, blk.len, c->proposals + 1)) {
            rv = BASE_ENOMEM;
        }
        if (rv == 0) {
            c->pending = p;
            c->pending_items = head;
            c->pending_id = ++c->proposals;
            lg_pending_header(p, &c->pending_hash);
        } else {
            lg_pending_abort(p);
        }
    } else {
        /* Pipelined: while the pending block is being agreed on, the next
         * one goes into the log too. */
        struct base_buf blk;
        base_buf_init(&blk, 0);
        rv = lg_prepare_after(c->pending, items, n, ts, &c->orderer, &blk,
                              &c->next.hash);
        if (rv == 0 && !propose_out(c, blk.data, blk.len, c->proposals + 1)) {
            rv = BASE_ENOMEM;
        }
        if (rv == 0) {
            c->next.items = head;
            c->next.ts = ts;
            c->next.id = ++c->proposals;
        }
        base_buf_release(&blk);
    }
    base_free(items);
    if (rv != 0) {
        cut_failed(c, rv, head);
    }
}

/* Cut the next block if one is due; else the time it will be (0: none). */
static uint64_t maybe_cut(struct ord__core *c)
{
    if (c->l_term == 0 || c->next.items != NULL || c->qlen == 0 || failed(c)) {
        return 0;
    }
    if (c->opt.batch_timeout > 0 && c->qlen < c->opt.max_block_tx) {
        uint64_t deadline = c->qhead->arrived + c->opt.batch_timeout;
        if (base_mono_ns() < deadline) {
            return deadline;
        }
    }
    cut(c);
    return 0;
}

/* ---- ledger side: applying committed entries --------------------------------
 */

static int adopt(struct ord__core *c, const uint8_t *genesis, size_t len,
                 char *msg)
{
    struct lg_channel *ch;
    int rv = lg_channel_join(c->l, genesis, len, msg);
    if (rv == 0) {
        rv = lg_channel_get(c->l, c->channel, &ch);
    }
    if (rv != 0) {
        return rv;
    }
    set_channel(c, ch);
    BASE_INFO(MOD, "node %llu joined channel %s from the cluster",
              (unsigned long long)c->id, c->channel);
    if (memcmp(lg_channel_config(ch)->orderer_pk, c->orderer.pk,
               CR_PUBKEY_SIZE) != 0) {
        return base_errf(msg, BASE_EINVAL,
                         "this node's orderer key is not the channel's: it "
                         "could not sign blocks");
    }
    return 0;
}

static struct lg_channel *channel_of(struct ord__core *c)
{
    pthread_mutex_lock(&c->lock);
    struct lg_channel *ch = c->ch;
    pthread_mutex_unlock(&c->lock);
    return ch;
}

static int apply_anchor(struct ord__core *c, const struct ord__entry *e)
{
    char msg[BASE_ERRMSG_SIZE];
    if (strcmp(e->channel, c->channel) != 0) {
        snprintf(msg, sizeof msg,
                 "the cluster orders channel '%s', this node serves '%s'",
                 e->channel, c->channel);
        fail(c, BASE_EINVAL, msg);
        return BASE_EINVAL;
    }
    struct lg_channel *ch = channel_of(c);
    if (ch == NULL) {
        int rv = adopt(c, e->genesis.p, e->genesis.len, msg);
        if (rv != 0) {
            fail(c, rv, msg);
        }
        return rv;
    }
    struct lg_header h;
    struct cr_hash mine, theirs;
    if (lg_block_header(ch, 0, &h, &mine) != 0 ||
        e->genesis.len < LG_HEADER_SIZE) {
        fail(c, BASE_ECORRUPT, "cannot read this node's genesis block");
        return BASE_ECORRUPT;
    }
    cr_sha256(&theirs, e->genesis.p, LG_HEADER_SIZE);
    if (memcmp(mine.b, theirs.b, CR_HASH_SIZE) != 0) {
        fail(c, BASE_ECORRUPT,
             "this node's genesis block differs from the cluster's: it "
             "holds another ledger");
        return BASE_ECORRUPT;
    }
    return 0;
}

/* The pending block is stored: execute the proposed next one again, for
 * real this time. Same transactions, same time, same state: the same
 * block, whose entry Raft is committing or has. Should that fail, its
 * entry is applied like any other node's block when it arrives. */
static void promote_next(struct ord__core *c)
{
    struct ord__item *items = c->next.items;
    if (items == NULL) {
        return;
    }
    c->next.items = NULL;
    size_t n = 0;
    for (struct ord__item *it = items; it != NULL; it = it->next) {
        n++;
    }
    struct lg_item *li = base_malloc(n * sizeof *li);
    struct lg_pending *p = NULL;
    int rv = li == NULL ? BASE_ENOMEM : 0;
    size_t i = 0;
    for (struct ord__item *it = items; rv == 0 && it != NULL; it = it->next) {
        li[i++] = (struct lg_item){it->bytes, it->len, true};
    }
    if (rv == 0) {
        rv =
            lg_prepare(channel_of(c), li, n, c->next.ts, &c->orderer, NULL, &p);
    }
    base_free(li);
    struct cr_hash h;
    if (rv == 0) {
        lg_pending_header(p, &h);
        rv = memcmp(h.b, c->next.hash.b, CR_HASH_SIZE) == 0 ? 0 : BASE_ECORRUPT;
    }
    if (rv != 0) {
        BASE_WARN(MOD,
                  "node %llu: the proposed next block could not be made "
                  "again (%s); it will be applied as it arrives",
                  (unsigned long long)c->id, base_strerror(rv));
        lg_pending_abort(p);
        for (struct ord__item *it = items; it != NULL;) {
            struct ord__item *next = it->next;
            ord__idset_del(&c->inflight, &it->id);
            base_free(it);
            it = next;
        }
        return;
    }
    c->pending = p;
    c->pending_items = items;
    c->pending_id = c->next.id;
    c->pending_hash = h;
}

/* Store the block this node executed when it cut it. */
static int commit_pending(struct ord__core *c)
{
    struct lg_pending *p = c->pending;
    struct ord__item *items = c->pending_items;
    c->pending = NULL;
    c->pending_items = NULL;
    struct lg_header h = *lg_pending_header(p, NULL);
    size_t n = h.tx_count;
    struct lg_outcome *outs = base_malloc(n * sizeof *outs);
    if (outs != NULL) {
        memcpy(outs, lg_pending_outcomes(p), n * sizeof *outs);
    }
    int rv = lg_pending_commit(p, &h);
    for (struct ord__item *it = items; it != NULL;) {
        struct ord__item *next = it->next;
        ord__idset_del(&c->inflight, &it->id);
        base_free(it);
        it = next;
    }
    if (rv != 0) {
        base_free(outs);
        char msg[BASE_ERRMSG_SIZE];
        snprintf(msg, sizeof msg, "cannot store block %llu: %s",
                 (unsigned long long)h.number, base_strerror(rv));
        fail(c, rv, msg);
        return rv;
    }
    count_block(c);
    if (outs != NULL) {
        report_pending(c, &h, outs);
        base_free(outs);
    }
    promote_next(c);
    return 0;
}

static int apply_block(struct ord__core *c, const struct ord__entry *e)
{
    char msg[BASE_ERRMSG_SIZE], why[BASE_ERRMSG_SIZE];
    unsigned long long from = (unsigned long long)e->proposer;
    struct lg_channel *ch = channel_of(c);
    if (ch == NULL) {
        fail(c, BASE_ENOCHANNEL,
             "a block arrived before the channel's genesis block");
        return BASE_ENOCHANNEL;
    }
    struct lg_header h;
    struct cr_hash hash;
    if (lg_header_decode(&h, e->block.p, e->block.len) != 0) {
        snprintf(msg, sizeof msg, "entry from node %llu is not a block", from);
        refuse(c, false, msg);
        return 0;
    }
    cr_sha256(&hash, e->block.p, LG_HEADER_SIZE);
    if (c->pending != NULL &&
        memcmp(hash.b, c->pending_hash.b, CR_HASH_SIZE) == 0) {
        return commit_pending(c);
    }
    /* Another block comes first: the write lock must be free to apply it,
     * and what was pending was cut on a tip that is about to move. */
    abort_pending(c);
    uint64_t height;
    lg_channel_tip(ch, &height, NULL, NULL);
    if (h.number < height) {
        struct lg_header mine;
        struct cr_hash mh;
        if (lg_block_header(ch, h.number, &mine, &mh) == 0 &&
            memcmp(mh.b, hash.b, CR_HASH_SIZE) == 0) {
            return 0; /* already applied: Raft replays after a restart */
        }
        snprintf(msg, sizeof msg,
                 "block %llu from node %llu was cut on an old tip (this "
                 "node is at height %llu): skipped",
                 (unsigned long long)h.number, from,
                 (unsigned long long)height);
        refuse(c, true, msg);
        return 0;
    }
    int rv = lg_apply(ch, e->block.p, e->block.len, why);
    if (rv == BASE_ECORRUPT || rv == BASE_EPARSE) {
        /* Every honest node holds the same chain and runs the same
         * checks, so all of them refuse this block and go on with the
         * next entry: a forged block changes nothing anywhere. */
        snprintf(msg, sizeof msg, "entry from node %llu (term %llu): %s", from,
                 (unsigned long long)e->term, why);
        refuse(c, false, msg);
        return 0;
    }
    if (rv != 0) {
        /* This machine's trouble (memory, disk), not the block's. Raft
         * has moved on, so the node stops applying; a restart replays the
         * log from its last snapshot. */
        snprintf(msg, sizeof msg,
                 "cannot apply block %llu: %s (restart the node)",
                 (unsigned long long)h.number, why);
        fail(c, rv, msg);
        return rv;
    }
    count_block(c);
    report_applied(c, e->block.p, e->block.len);
    return 0;
}

/* Blocks applied in one write transaction at most, and their bytes. */
#define APPLY_RUN_MAX   64
#define APPLY_RUN_BYTES (16u << 20)

/* A follower behind on committed entries applies a run of them in one
 * write transaction (lg_apply_many): one sync for the run instead of one
 * a block, so a follower that fell behind catches up instead of staying
 * behind (measured: hundreds of ms behind at 1,000 blocks a second, each
 * block's commit waiting for its own fsyncs). The run is the blocks at
 * the head of @m that follow each other from this node's tip; anything
 * else (an anchor, a block for the node's own pending one, a stale or
 * wrong block) is left to apply_entry, one at a time. Frees the messages
 * applied and returns the first one left (@m when there is no run of
 * two). */
static struct ord__in *apply_run(struct ord__core *c, struct ord__in *m)
{
    struct lg_channel *ch = channel_of(c);
    if (ch == NULL || c->pending != NULL || c->next.items != NULL ||
        failed(c)) {
        return m;
    }
    struct lg_slice blocks[APPLY_RUN_MAX];
    uint64_t height;
    lg_channel_tip(ch, &height, NULL, NULL);
    size_t k = 0, bytes = 0;
    for (struct ord__in *x = m; x != NULL && x->kind == IN_ENTRY &&
                                k < APPLY_RUN_MAX && bytes < APPLY_RUN_BYTES;
         x = x->next) {
        struct ord__entry e;
        struct lg_header h;
        if (ord__entry_decode(&e, x->data, x->len) != 0 ||
            e.kind != ORD__ENTRY_BLOCK ||
            lg_header_decode(&h, e.block.p, e.block.len) != 0 ||
            h.number != height + k) {
            break;
        }
        blocks[k++] = (struct lg_slice){e.block.p, e.block.len};
        bytes += e.block.len;
    }
    if (k < 2) {
        return m;
    }
    size_t done = 0;
    char why[BASE_ERRMSG_SIZE];
    if (lg_apply_many(ch, blocks, k, &done, why) != 0) {
        /* The block that failed goes through apply_entry, which tells a
         * wrong block (refused, skipped) from this machine's trouble. */
        BASE_DEBUG(MOD, "node %llu: %zu of a run of %zu blocks applied: %s",
                   (unsigned long long)c->id, done, k, why);
    }
    for (size_t i = 0; i < done; i++) {
        count_block(c);
        report_applied(c, blocks[i].p, blocks[i].len);
        struct ord__in *next = m->next;
        base_free(m->data);
        base_free(m);
        m = next;
    }
    return m;
}

static int apply_entry(struct ord__core *c, const uint8_t *p, size_t len)
{
    if (failed(c)) {
        return failed(c);
    }
    struct ord__entry e;
    if (ord__entry_decode(&e, p, len) != 0) {
        refuse(c, false, "a log entry is not a gridledger entry");
        return 0;
    }
    return e.kind == ORD__ENTRY_ANCHOR ? apply_anchor(c, &e)
                                       : apply_block(c, &e);
}

/* ---- ledger side: snapshots
 * -------------------------------------------------- */

/* Blocks asked of a member at once: one round trip per chunk, not per
 * block, when a node far behind catches up. */
#define FETCH_CHUNK 256

/* Apply the blocks of @chunk (ord_blocks_read's format), which should
 * start at this node's tip, up to the snapshot's height; *@applied counts
 * those stored. The snapshot's tip hash is checked before its last block
 * is applied, so a wrong last block is never stored. *@local tells an
 * error of this machine (memory, disk) from a wrong block. */
static int apply_chunk(struct ord__core *c, struct lg_channel *ch,
                       const struct ord__snapshot *s, const uint8_t *chunk,
                       size_t len, uint64_t *applied, bool *local, char *why)
{
    struct base_rd r;
    base_rd_init(&r, chunk, len);
    *applied = 0;
    *local = false;
    while (base_rd_left(&r) > 0) {
        uint64_t height;
        lg_channel_tip(ch, &height, NULL, NULL);
        if (height >= s->height) {
            return 0;
        }
        uint32_t n = base_rd_u32(&r);
        const uint8_t *b = base_rd_bytes(&r, n);
        if (b == NULL || n < LG_HEADER_SIZE) {
            return base_errf(why, BASE_EPARSE, "block %llu is cut short",
                             (unsigned long long)height);
        }
        if (height + 1 == s->height) {
            struct cr_hash h;
            cr_sha256(&h, b, LG_HEADER_SIZE);
            if (memcmp(h.b, s->tip.b, CR_HASH_SIZE) != 0) {
                return base_errf(why, BASE_ECORRUPT,
                                 "block %llu is not the snapshot's tip",
                                 (unsigned long long)height);
            }
        }
        char reason[BASE_ERRMSG_SIZE];
        int rv = lg_apply(ch, b, n, reason);
        if (rv != 0) {
            *local = rv != BASE_ECORRUPT && rv != BASE_EPARSE;
            return base_errf(why, rv, "%s", reason);
        }
        count_block(c);
        (*applied)++;
    }
    return 0;
}

/* Fetch blocks [this node's height, the snapshot's) from @peers and apply
 * them. A member that cannot serve them, or serves a block that fails,
 * is passed over for the next; once every member failed in a row, the
 * restore fails. */
static int fetch_blocks(struct ord__core *c, struct lg_channel *ch,
                        const struct ord__snapshot *s,
                        const struct ord_member *peers, size_t npeers,
                        char *msg)
{
    uint64_t height;
    lg_channel_tip(ch, &height, NULL, NULL);
    if (c->src == NULL || npeers == 0) {
        return base_errf(msg, BASE_EIO,
                         "this node is at height %llu, behind the snapshot's "
                         "%llu, and has no peer to fetch blocks from",
                         (unsigned long long)height,
                         (unsigned long long)s->height);
    }
    struct base_buf buf;
    base_buf_init(&buf, 0);
    size_t p = 0, failures = 0, wrong = 0; /* in a row */
    char why[BASE_ERRMSG_SIZE] = "", last[BASE_ERRMSG_SIZE] = "";
    int rv = 0;
    while (height < s->height) {
        if (failures == npeers) {
            /* Every member served a wrong block: stop, rather than try
             * again and again. Else some could not answer: Raft sends the
             * snapshot again later. */
            rv = base_errf(msg, wrong == npeers ? BASE_ECORRUPT : BASE_EIO,
                           "no member served a good block %llu (the "
                           "snapshot's height is %llu; last: %s)",
                           (unsigned long long)height,
                           (unsigned long long)s->height, last);
            break;
        }
        base_buf_reset(&buf);
        uint64_t want = s->height - height;
        uint64_t applied = 0;
        bool local = false;
        rv = c->src->fetch(c->src_impl, peers[p].id, peers[p].address,
                           c->channel, height,
                           want < FETCH_CHUNK ? want : FETCH_CHUNK, &buf, why);
        if (rv == 0) {
            rv =
                apply_chunk(c, ch, s, buf.data, buf.len, &applied, &local, why);
        }
        if (local) {
            base_errf(msg, rv, "cannot apply %s", why);
            break;
        }
        lg_channel_tip(ch, &height, NULL, NULL);
        if (rv == 0 && applied > 0) {
            failures = wrong = 0;
            continue;
        }
        if (rv == 0) {
            snprintf(why, sizeof why, "no blocks from %llu",
                     (unsigned long long)height);
        }
        wrong += rv == 0 || rv == BASE_ECORRUPT || rv == BASE_EPARSE;
        snprintf(last, sizeof last, "node %llu: %.200s",
                 (unsigned long long)peers[p].id, why);
        BASE_WARN(MOD, "node %llu: catching up to a snapshot: %s",
                  (unsigned long long)c->id, last);
        p = (p + 1) % npeers;
        failures++;
        rv = 0;
    }
    base_buf_release(&buf);
    return rv;
}

/* Bring the ledger to the snapshot's tip by re-executing the blocks this
 * node lacks: a node never takes state it did not compute itself, so a
 * snapshot from a faulty leader cannot plant forged state. */
static int restore(struct ord__core *c, const struct ord__snapshot *snap,
                   const struct ord_member *peers, size_t npeers, char *msg)
{
    struct ord__snapshot s = *snap;
    if (strcmp(s.channel, c->channel) != 0) {
        return base_errf(msg, BASE_EINVAL,
                         "snapshot of channel '%s', this node serves '%s'",
                         s.channel, c->channel);
    }
    int rv;
    struct lg_channel *ch = channel_of(c);
    if (ch == NULL) {
        rv = adopt(c, s.genesis.p, s.genesis.len, msg);
        if (rv != 0) {
            return rv;
        }
        ch = channel_of(c);
    }
    struct lg_header h;
    struct cr_hash mine, theirs;
    cr_sha256(&theirs, s.genesis.p,
              s.genesis.len < LG_HEADER_SIZE ? s.genesis.len : LG_HEADER_SIZE);
    if (lg_block_header(ch, 0, &h, &mine) != 0 ||
        memcmp(mine.b, theirs.b, CR_HASH_SIZE) != 0) {
        return base_errf(msg, BASE_ECORRUPT,
                         "this node's genesis block differs from the "
                         "snapshot's: it holds another chain");
    }
    uint64_t height;
    lg_channel_tip(ch, &height, NULL, NULL);
    if (height >= s.height) {
        /* Blocks link by hash, so one equal block means an equal prefix:
         * the snapshot's last block must be this node's. */
        rv = lg_block_header(ch, s.height - 1, &h, &mine);
        if (rv != 0 || memcmp(mine.b, s.tip.b, CR_HASH_SIZE) != 0) {
            return base_errf(msg, BASE_ECORRUPT,
                             "this node's block %llu differs from the "
                             "snapshot's: it holds another chain",
                             (unsigned long long)(s.height - 1));
        }
        return 0;
    }
    if (s.version == 1) {
        /* The blocks are in the snapshot, in the format of a fetch. */
        for (uint64_t n = 1; n < height; n++) {
            ord__snapshot_next(&s);
        }
        uint64_t applied;
        bool local;
        char why[BASE_ERRMSG_SIZE];
        rv = apply_chunk(c, ch, &s, s.blocks.p + s.blocks.off,
                         base_rd_left(&s.blocks), &applied, &local, why);
        if (rv != 0) {
            return base_errf(msg, rv, "snapshot refused: %s", why);
        }
    } else {
        rv = fetch_blocks(c, ch, &s, peers, npeers, msg);
        if (rv != 0) {
            return rv;
        }
    }
    struct cr_hash tip, state;
    lg_channel_tip(ch, &height, &tip, &state);
    if (height != s.height || memcmp(tip.b, s.tip.b, CR_HASH_SIZE) != 0 ||
        memcmp(state.b, s.state.b, CR_HASH_SIZE) != 0) {
        return base_errf(msg, BASE_ECORRUPT,
                         "after catching up, this node's tip (height %llu) "
                         "or state hash is not the snapshot's (height %llu)",
                         (unsigned long long)height,
                         (unsigned long long)s.height);
    }
    BASE_INFO(MOD, "node %llu restored a snapshot at height %llu",
              (unsigned long long)c->id, (unsigned long long)s.height);
    return 0;
}

static int do_restore(struct ord__core *c, const struct ord__in *m)
{
    lose_lead(c);
    struct ord__snapshot s;
    char msg[BASE_ERRMSG_SIZE];
    int rv = ord__snapshot_parse(&s, m->data, m->len);
    if (rv != 0) {
        base_errf(msg, BASE_ECORRUPT,
                  "snapshot does not decode (damaged, or written by a "
                  "newer version than this one reads: 1 and 2)");
        rv = BASE_ECORRUPT;
    } else {
        rv = restore(c, &s, m->peers, m->npeers, msg);
    }
    if (rv != 0) {
        BASE_ERROR(MOD, "node %llu: %s", (unsigned long long)c->id, msg);
        if (rv == BASE_ECORRUPT || rv == BASE_EINVAL) {
            /* A node holding another chain cannot go on. */
            fail(c, rv, msg);
        }
    }
    return rv;
}

/* ---- ledger side: the loop -------------------------------------------------
 */

static int process(struct ord__core *c, struct ord__in *m)
{
    int rv = 0;
    switch (m->kind) {
    case IN_ENTRY:
        rv = apply_entry(c, m->data, m->len);
        base_free(m->data);
        break;
    case IN_ITEM:
        rv = enqueue(c, m->item);
        if (rv != 0 && c->threaded) {
            give_back(c, m->item, rv);
        }
        break;
    case IN_LEAD:
        if (c->l_term != m->term) {
            lose_lead(c);
            c->l_term = m->term;
        }
        break;
    case IN_LOSE:
        lose_lead(c);
        break;
    case IN_FAILED:
        if (c->pending != NULL && c->pending_id == m->id) {
            abort_pending(c);
        } else if (c->next.items != NULL && c->next.id == m->id) {
            drop_next(c);
        }
        break;
    case IN_SNAPSHOT: {
        /* Every entry Raft applied is in the ledger now: the snapshot
         * names the tip here. It is a few hundred bytes, whatever the
         * chain's length, so it is written here, in order. */
        struct lg_channel *ch = channel_of(c);
        base_buf_init(&m->reply->buf, 0);
        rv = BASE_ENOCHANNEL;
        if (ch != NULL) {
            uint64_t height;
            lg_channel_tip(ch, &height, NULL, NULL);
            rv = ord__snapshot_take(ch, height, &m->reply->buf);
        }
        answer(c, m->reply, rv);
        break;
    }
    case IN_RESTORE:
        rv = do_restore(c, m);
        base_free(m->peers);
        answer(c, m->reply, rv);
        break;
    case IN_STOP:
        lose_lead(c);
        break;
    }
    base_free(m);
    return rv;
}

static void *ledger_main(void *arg)
{
    struct ord__core *c = arg;
    uint64_t due = 0;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->ihead == NULL && !c->stopping &&
               (due == 0 || base_mono_ns() < due)) {
            if (due == 0) {
                pthread_cond_wait(&c->cv, &c->lock);
                continue;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait = due - base_mono_ns();
            uint64_t ns = (uint64_t)ts.tv_nsec +
                          (wait < 1000000000u ? wait : 1000000000u);
            ts.tv_sec += (time_t)(ns / 1000000000u);
            ts.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&c->cv, &c->lock, &ts);
        }
        struct ord__in *m = c->ihead;
        c->ihead = c->itail = NULL;
        c->ilen = 0;
        bool stop = c->stopping;
        pthread_cond_broadcast(&c->cv); /* room for a waiting apply */
        pthread_mutex_unlock(&c->lock);
        while (m != NULL) {
            m = apply_run(c, m);
            if (m == NULL) {
                break;
            }
            struct ord__in *next = m->next;
            process(c, m);
            m = next;
        }
        if (stop) {
            lose_lead(c);
            return NULL;
        }
        due = maybe_cut(c);
        pthread_mutex_lock(&c->lock);
    }
}

/* ---- Raft side ----------------------------------------------------------- */

static void anchor_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct anchor_req *a = (struct anchor_req *)req;
    struct ord__core *c = a->c;
    if (status == 0 && c->r_term == a->term &&
        raft_state(c->raft) == RAFT_LEADER) {
        /* Every entry before the anchor is applied (or queued to the
         * ledger side ahead of this message): the ledger may cut. */
        c->r_ready = true;
        post_in_must(c, IN_LEAD, a->term, 0);
        BASE_INFO(MOD, "node %llu leads term %llu",
                  (unsigned long long)c->raft->id, (unsigned long long)a->term);
        if (c->hooks.ready != NULL) {
            c->hooks.ready(c->hooks.arg);
        }
    } else if (c->r_term == a->term) {
        /* The anchor failed while still leading (a disk error, say): the
         * next poll appends a new one. */
        c->r_term = 0;
    }
    base_free(a);
}

static void send_anchor(struct ord__core *c, raft_term term)
{
    c->r_term = term;
    c->r_ready = false;
    struct lg_channel *ch = channel_of(c);
    if (ch == NULL) {
        /* A leader must hold the channel to anchor it; a node that joined
         * has it before it can win an election (it has the whole log). */
        return;
    }
    struct base_buf g;
    base_buf_init(&g, 0);
    struct anchor_req *a = base_calloc(1, sizeof *a);
    struct raft_buffer buf = {NULL, 0};
    int rv = a == NULL ? BASE_ENOMEM : lg_block_get(ch, 0, &g);
    if (rv == 0) {
        rv = ord__entry_anchor(&buf, c->raft->id, term, c->channel, g.data,
                               g.len);
    }
    if (rv == 0) {
        a->c = c;
        a->term = term;
        rv = ord__from_raft(raft_apply(c->raft, &a->req, &buf, 1, anchor_cb));
        if (rv != 0) {
            raft_free(buf.base);
        }
    }
    if (rv != 0) {
        base_free(a);
        c->r_term = 0; /* try again at the next poll */
        BASE_WARN(MOD, "node %llu: cannot append the anchor: %s",
                  (unsigned long long)c->raft->id, base_strerror(rv));
    }
    base_buf_release(&g);
}

static void block_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct block_req *b = (struct block_req *)req;
    if (status != 0) {
        /* Not committed by this leader (leadership lost, shutdown): the
         * block may still come back as an entry. */
        post_in_must(b->c, IN_FAILED, 0, b->id);
    }
    base_free(b);
}

static void propose(struct ord__core *c, struct ord__out *o)
{
    int rv = BASE_ENOTLEADER;
    struct block_req *req = NULL;
    if (c->r_ready && o->term == c->r_term &&
        raft_state(c->raft) == RAFT_LEADER) {
        req = base_calloc(1, sizeof *req);
        rv = req == NULL ? BASE_ENOMEM : 0;
    }
    if (rv == 0) {
        req->c = c;
        req->id = o->id;
        rv = ord__from_raft(
            raft_apply(c->raft, &req->req, &o->buf, 1, block_cb));
    }
    if (rv != 0) {
        base_free(req);
        raft_free(o->buf.base);
        post_in_must(c, IN_FAILED, 0, o->id);
    }
}

/* Hand over what the ledger side said, in order. */
static void drain_out(struct ord__core *c)
{
    pthread_mutex_lock(&c->lock);
    struct ord__out *o = c->ohead;
    c->ohead = c->otail = NULL;
    pthread_mutex_unlock(&c->lock);
    while (o != NULL) {
        struct ord__out *next = o->next;
        switch (o->kind) {
        case OUT_PROPOSE:
            propose(c, o);
            break;
        case OUT_COMMITTED:
            c->hooks.committed(c->hooks.arg, &o->h, o->done, o->n);
            base_free(o->done);
            break;
        case OUT_RETURNED:
            c->hooks.returned(c->hooks.arg, o->item, o->code);
            break;
        }
        base_free(o);
        o = next;
    }
}

void ord__core_poll(struct ord__core *c)
{
    bool leads = raft_state(c->raft) == RAFT_LEADER;
    raft_term term = c->raft->current_term;
    if (leads && c->r_term != term && !failed(c)) {
        if (c->r_ready) {
            post_in_must(c, IN_LOSE, 0, 0);
        }
        send_anchor(c, term);
    } else if (!leads && c->r_term != 0) {
        c->r_term = 0;
        if (c->r_ready) {
            c->r_ready = false;
            post_in_must(c, IN_LOSE, 0, 0);
        }
    }
    if (!c->threaded) {
        maybe_cut(c);
    }
    drain_out(c);
}

bool ord__core_ready(const struct ord__core *c)
{
    return c->r_ready && raft_state(c->raft) == RAFT_LEADER;
}

int ord__core_push(struct ord__core *c, struct ord__item *it)
{
    if (!ord__core_ready(c)) {
        return BASE_ENOTLEADER;
    }
    struct ord__in *m = in_new(IN_ITEM);
    if (m == NULL) {
        return BASE_ENOMEM;
    }
    m->item = it;
    return post_in(c, m);
}

/* Raft's state machine calls, on the Raft thread. */

/* ---- when to snapshot (struct ord__snap_policy) ---- */

/* A fraction in [0, 2^32) drawn from a node's id (Fibonacci hashing):
 * ids 1, 2, 3, ... land far apart, whatever their number. */
static uint64_t id_phase(uint64_t id)
{
    return (id * UINT64_C(0x9E3779B97F4A7C15)) >> 32;
}

bool ord__snapshot_due(const struct ord__snap_policy *p, uint64_t id,
                       bool leading, uint64_t last, uint64_t index,
                       uint64_t bytes)
{
    if (p->threshold == 0 || index <= last) {
        return false;
    }
    uint64_t phase = id_phase(id);
    /* Each node its own budget, between half and all of p->bytes: nodes
     * that took their last snapshot together do not take the next one
     * together too. */
    if (p->bytes != 0 && bytes >= p->bytes - ((p->bytes / 2 * phase) >> 32)) {
        return true;
    }
    uint64_t t = p->threshold;
    if (leading) {
        return index - last >= t * (p->leader_factor ? p->leader_factor : 1);
    }
    uint64_t off = (t * phase) >> 32;
    return (index + off) / t > (last + off) / t;
}

unsigned ord__snapshot_keep(const struct ord__snap_policy *p, uint64_t entries,
                            uint64_t bytes)
{
    uint64_t keep = p->trailing;
    if (p->bytes != 0 && entries != 0 && bytes != 0) {
        uint64_t fit = p->bytes / 4 / (bytes / entries + 1);
        keep = fit < keep ? fit : keep;
    }
    return (unsigned)(keep < 16 ? (p->trailing < 16 ? p->trailing : 16) : keep);
}

/* After every entry applied (Raft thread): count it, and when the policy
 * says so, have libraft take a snapshot once this round of applies is
 * over (its threshold down to one entry; fsm_snapshot puts it back out of
 * reach). */
static void snapshot_count(struct ord__core *c, size_t len)
{
    if (c->policy.threshold == 0) {
        return;
    }
    if (!c->snap_known) {
        c->snap_index = c->raft->log.snapshot.last_index;
        c->snap_known = true;
    }
    c->snap_count++;
    c->snap_bytes += len;
    uint64_t index = raft_last_applied(c->raft) + 1;
    if (!c->snap_asked &&
        ord__snapshot_due(&c->policy, c->id, raft_state(c->raft) == RAFT_LEADER,
                          c->snap_index, index, c->snap_bytes)) {
        c->snap_asked = true;
        raft_set_snapshot_trailing(
            c->raft,
            ord__snapshot_keep(&c->policy, c->snap_count, c->snap_bytes));
        raft_set_snapshot_threshold(c->raft, 1);
    }
}

/* A snapshot is taken (or restored) at @index: count from there. */
static void snapshot_taken(struct ord__core *c, uint64_t index)
{
    if (c->policy.threshold == 0) {
        return;
    }
    c->snap_known = true;
    c->snap_asked = false;
    c->snap_index = index;
    c->snap_bytes = 0;
    c->snap_count = 0;
    raft_set_snapshot_threshold(c->raft, UINT_MAX);
}

/* A snapshot restored: count from its index, which libraft has once the
 * restore is over (read at the next apply). */
static void snapshot_restored(struct ord__core *c)
{
    snapshot_taken(c, 0);
    c->snap_known = false;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
                     void **result)
{
    struct ord__core *c = fsm->data;
    *result = NULL;
    int f = failed(c);
    if (f != 0) {
        return ord__to_raft(f);
    }
    if (!c->threaded) {
        int rv = ord__to_raft(apply_entry(c, buf->base, buf->len));
        if (rv == 0) {
            snapshot_count(c, buf->len);
        }
        return rv;
    }
    struct ord__in *m = in_new(IN_ENTRY);
    uint8_t *copy = m != NULL ? base_malloc(buf->len) : NULL;
    if (copy == NULL) {
        base_free(m);
        return RAFT_NOMEM; /* Raft tries again later */
    }
    memcpy(copy, buf->base, buf->len);
    m->data = copy;
    m->len = buf->len;
    /* The entry is the ledger side's to apply now; wait only when it is
     * far behind, to bound memory. */
    pthread_mutex_lock(&c->lock);
    while (c->ilen >= MAX_BACKLOG && !c->stopping) {
        pthread_cond_wait(&c->cv, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    post_in(c, m);
    snapshot_count(c, buf->len);
    return 0;
}

/* Hand the snapshot the ledger side wrote into c->snap to Raft. */
static int snapshot_out(struct ord__core *c, struct raft_buffer *bufs[],
                        unsigned *n_bufs)
{
    struct reply *r = c->snap;
    c->snap_waited = base_mono_ns() - c->snap_start;
    struct raft_buffer *arr = r->rv == 0 ? base_malloc(sizeof *arr) : NULL;
    if (arr == NULL) {
        int rv = r->rv != 0 ? r->rv : BASE_ENOMEM;
        base_buf_release(&r->buf);
        return ord__to_raft(rv);
    }
    arr[0].len = r->buf.len;
    arr[0].base = base_buf_take(&r->buf, &arr[0].len);
    *bufs = arr;
    *n_bufs = 1;
    return 0;
}

/* Raft's snapshot at its last applied index: the ledger side writes it
 * once it has applied every entry before it (IN_SNAPSHOT is queued after
 * them). Inline, that is now. Threaded, the Raft thread does not wait for
 * it: a follower's ledger side often applies some entries behind, and a
 * Raft thread waiting for it (measured: 60-120 ms on both followers at
 * once, in bench/cluster.sh) acknowledges nothing meanwhile, so the
 * leader could commit nothing. fsm_snapshot_async waits instead, on a
 * worker thread of libraft's. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                        unsigned *n_bufs)
{
    struct ord__core *c = fsm->data;
    if (failed(c) || c->snap != NULL) {
        return RAFT_BUSY;
    }
    struct ord__in *m = in_new(IN_SNAPSHOT);
    struct reply *r = base_calloc(1, sizeof *r);
    if (m == NULL || r == NULL) {
        base_free(m);
        base_free(r);
        return RAFT_NOMEM;
    }
    c->snap = r;
    c->snap_start = base_mono_ns();
    snapshot_taken(c, raft_last_applied(c->raft));
    *bufs = NULL;
    *n_bufs = 0;
    m->reply = r;
    if (c->threaded) {
        post_in(c, m);
        return 0;
    }
    process(c, m);
    int rv = snapshot_out(c, bufs, n_bufs);
    if (rv != 0) {
        /* No finalize follows a failed snapshot call. */
        base_free(c->snap);
        c->snap = NULL;
    }
    return rv;
}

/* On a worker thread of libraft's (threaded only). */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                              unsigned *n_bufs)
{
    struct ord__core *c = fsm->data;
    wait_reply(c, c->snap);
    return snapshot_out(c, bufs, n_bufs);
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm,
                                 struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct ord__core *c = fsm->data;
    /* Called once libraft has stored the snapshot (or failed to): how
     * long until the ledger side had written it, and until stored. */
    BASE_INFO(MOD,
              "node %llu: snapshot of %zu bytes, written %.1f ms after "
              "Raft asked, stored after %.1f ms",
              (unsigned long long)c->id, *bufs != NULL ? (*bufs)[0].len : 0,
              (double)c->snap_waited / 1e6,
              (double)(base_mono_ns() - c->snap_start) / 1e6);
    base_free(c->snap);
    c->snap = NULL;
    if (*bufs != NULL) {
        for (unsigned i = 0; i < *n_bufs; i++) {
            base_free((*bufs)[i].base);
        }
        base_free(*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

/* The members a node behind a snapshot may fetch blocks from: those of
 * Raft's configuration (read here, on the Raft thread) and those the
 * node started with (a joining node, or one restoring at start, may not
 * have a configuration yet), itself excepted, each once. */
static size_t peers_of(struct ord__core *c, struct ord_member *out, size_t max)
{
    size_t n = 0;
    const struct raft_configuration *cf = &c->raft->configuration;
    for (size_t i = 0; i < cf->n + c->nmembers && n < max; i++) {
        struct ord_member m;
        if (i < cf->n) {
            m.id = cf->servers[i].id;
            snprintf(m.address, sizeof m.address, "%s", cf->servers[i].address);
        } else {
            m = c->members[i - cf->n];
        }
        bool seen = m.id == c->raft->id;
        for (size_t j = 0; j < n && !seen; j++) {
            seen = out[j].id == m.id;
        }
        if (!seen) {
            out[n++] = m;
        }
    }
    return n;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct ord__core *c = fsm->data;
    struct ord__in *m = in_new(IN_RESTORE);
    struct ord_member *peers = base_malloc(2 * ORD_MAX_MEMBERS * sizeof *peers);
    if (m == NULL || peers == NULL) {
        base_free(m);
        base_free(peers);
        return RAFT_NOMEM;
    }
    m->data = buf->base;
    m->len = buf->len;
    m->peers = peers;
    m->npeers = peers_of(c, peers, 2 * ORD_MAX_MEMBERS);
    struct reply r = {false, 0, {NULL, 0, 0, 0}};
    int rv = call_in(c, m, &r);
    if (rv != 0 &&
        (failed(c) == 0 || raft_state(c->raft) == RAFT_UNAVAILABLE)) {
        /* Raft frees the buffer and may send the snapshot again; at
         * start (Raft loading its own snapshot), the start fails. */
        return ord__to_raft(rv);
    }
    snapshot_restored(c);
    /* Restored; or this node cannot go on (it holds another chain, or
     * every member served wrong blocks): its status says why, it applies
     * nothing more, and Raft need not send the snapshot again. (libraft
     * 0.15 also leaks the buffer array of an installed snapshot it could
     * not restore.) */
    raft_free(buf->base);
    return 0;
}

/* ---- life cycle -----------------------------------------------------------
 */

int ord__core_init(struct ord__core *c, struct lg_ledger *l,
                   const char *channel, bool may_join, bool threaded,
                   const struct cr_keypair *orderer,
                   const struct ord_options *opt,
                   const struct ord__core_hooks *hooks, char *errmsg)
{
    memset(c, 0, sizeof *c);
    if (strlen(channel) == 0 || strlen(channel) > LG_NAME_MAX) {
        return base_errf(errmsg, BASE_EINVAL, "bad channel name");
    }
    c->l = l;
    snprintf(c->channel, sizeof c->channel, "%s", channel);
    c->orderer = *orderer;
    if (opt != NULL) {
        c->opt = *opt;
    }
    if (c->opt.max_block_tx == 0 || c->opt.max_block_tx > LG_BLOCK_MAX_TX) {
        c->opt.max_block_tx = c->opt.max_block_tx ? LG_BLOCK_MAX_TX : 2000;
    }
    if (c->opt.max_pending == 0) {
        c->opt.max_pending = 200000;
    }
    c->hooks = *hooks;
    int rv = lg_channel_get(l, channel, &c->ch);
    if (rv != 0 && !may_join) {
        return base_errf(errmsg, BASE_ENOCHANNEL,
                         "no channel '%s' in this ledger", channel);
    }
    if (c->ch != NULL && memcmp(lg_channel_config(c->ch)->orderer_pk,
                                orderer->pk, CR_PUBKEY_SIZE) != 0) {
        return base_errf(errmsg, BASE_EINVAL,
                         "the orderer key is not channel '%s''s orderer key",
                         channel);
    }
    if (ord__idset_init(&c->inflight, c->opt.max_pending) != 0) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->threaded = threaded;
    c->fsm.version = threaded ? 3 : 2;
    c->fsm.data = c;
    c->fsm.apply = fsm_apply;
    c->fsm.snapshot = fsm_snapshot;
    c->fsm.snapshot_finalize = fsm_snapshot_finalize;
    c->fsm.restore = fsm_restore;
    c->fsm.snapshot_async = threaded ? fsm_snapshot_async : NULL;
    return 0;
}

int ord__core_start(struct ord__core *c)
{
    c->id = c->raft->id;
    if (c->threaded && pthread_create(&c->thread, NULL, ledger_main, c) != 0) {
        c->threaded = false;
        return BASE_EIO;
    }
    c->started = c->threaded;
    return 0;
}

void ord__core_release(struct ord__core *c)
{
    if (c->started) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        c->started = false;
    }
    c->threaded = false;
    /* Whatever is still queued either way goes. */
    struct ord__in *m = c->ihead;
    c->ihead = c->itail = NULL;
    while (m != NULL) {
        struct ord__in *next = m->next;
        if (m->kind == IN_ITEM) {
            base_free(m->item);
        } else if (m->kind == IN_ENTRY) {
            base_free(m->data);
        } else if (m->kind == IN_RESTORE) {
            base_free(m->peers);
        }
        base_free(m);
        m = next;
    }
    lose_lead(c);
    struct ord__out *o = c->ohead;
    c->ohead = c->otail = NULL;
    while (o != NULL) {
        struct ord__out *next = o->next;
        if (o->kind == OUT_PROPOSE) {
            raft_free(o->buf.base);
        } else if (o->kind == OUT_COMMITTED) {
            base_free(o->done);
        } else {
            base_free(o->item);
        }
        base_free(o);
        o = next;
    }
    if (c->snap != NULL) {
        base_buf_release(&c->snap->buf);
        base_free(c->snap);
        c->snap = NULL;
    }
    ord__idset_release(&c->inflight);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
}
