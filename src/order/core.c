/* SPDX-License-Identifier: MIT */
/* The ledger as Raft's state machine: the leader cuts and executes blocks,
 * every node applies committed entries, snapshots copy the chain. Runs on
 * the thread that drives Raft (a libuv loop, or a raft_fixture test). */
#include <stdio.h>
#include <string.h>

#include "order/order_int.h"

#define MOD "order"

struct block_req {
    struct raft_apply req;
    struct ord__core *c;
};

struct anchor_req {
    struct raft_apply req;
    struct ord__core *c;
    raft_term term;
};

static void fail(struct ord__core *c, int code, const char *msg)
{
    if (c->failed == 0) {
        c->failed = code;
        snprintf(c->error, sizeof c->error, "%s", msg);
        BASE_ERROR(MOD, "node %llu cannot go on: %s",
                   (unsigned long long)c->raft->id, msg);
    }
}

static void refuse(struct ord__core *c, bool stale, const char *msg)
{
    if (stale) {
        c->stale++;
        BASE_INFO(MOD, "node %llu: %s", (unsigned long long)c->raft->id, msg);
        return;
    }
    c->refused++;
    snprintf(c->last_refusal, sizeof c->last_refusal, "%s", msg);
    BASE_ERROR(MOD, "node %llu refused a block: %s",
               (unsigned long long)c->raft->id, msg);
}

/* ---- telling the driver what committed ------------------------------------
 */

static void report_pending(struct ord__core *c, const struct lg_header *h,
                           const struct lg_outcome *outs)
{
    size_t n = h->tx_count;
    struct ord__done *d = base_malloc(n * sizeof *d);
    if (d == NULL) {
        /* Waiters then learn their outcome from the index on timeout. */
        BASE_WARN(MOD, "no memory to report block %llu",
                  (unsigned long long)h->number);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].id = outs[i].id;
        d[i].block = h->number;
        d[i].index = (uint32_t)i;
        d[i].code = outs[i].code;
        snprintf(d[i].reason, sizeof d[i].reason, "%s", outs[i].reason);
    }
    c->hooks.committed(c->hooks.arg, h, d, n);
    base_free(d);
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
    if (d == NULL) {
        lg_block_release(&b);
        return;
    }
    for (size_t i = 0; i < n; i++) {
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
    c->hooks.committed(c->hooks.arg, &b.h, d, n);
    base_free(d);
    lg_block_release(&b);
}

/* ---- leading --------------------------------------------------------------
 */

static void drop_items(struct ord__core *c, struct ord__item *list)
{
    for (struct ord__item *it = list; it != NULL; it = it->next) {
        ord__idset_del(&c->inflight, &it->id);
    }
    if (list != NULL) {
        c->hooks.dropped(c->hooks.arg, list);
    }
}

/* Forget the block executed but not committed. Its entry may still be
 * committed by the next leader; then it comes back through apply and is
 * re-executed like any other node's block. */
static void abort_pending(struct ord__core *c, bool keep_items)
{
    if (c->pending == NULL) {
        return;
    }
    lg_pending_abort(c->pending);
    c->pending = NULL;
    c->pending_req = NULL;
    struct ord__item *items = c->pending_items;
    c->pending_items = NULL;
    if (keep_items && items != NULL) {
        /* Still leading: put them back in front of the queue. */
        struct ord__item *last = items;
        while (last->next != NULL) {
            last = last->next;
        }
        last->next = c->qhead;
        if (c->qhead == NULL) {
            c->qtail = last;
        }
        c->qhead = items;
        for (struct ord__item *it = items; it != NULL; it = it->next) {
            c->qlen++;
        }
    } else {
        drop_items(c, items);
    }
}

static void lose_lead(struct ord__core *c)
{
    if (c->led_term != 0) {
        BASE_INFO(MOD, "node %llu no longer leads (term %llu)",
                  (unsigned long long)c->raft->id,
                  (unsigned long long)c->led_term);
    }
    c->led_term = 0;
    c->ready = false;
    abort_pending(c, false);
    struct ord__item *q = c->qhead;
    c->qhead = c->qtail = NULL;
    c->qlen = 0;
    drop_items(c, q);
}

static void anchor_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct anchor_req *a = (struct anchor_req *)req;
    struct ord__core *c = a->c;
    if (status == 0 && c->led_term == a->term &&
        raft_state(c->raft) == RAFT_LEADER) {
        c->ready = true;
        BASE_INFO(MOD, "node %llu leads term %llu",
                  (unsigned long long)c->raft->id, (unsigned long long)a->term);
        if (c->hooks.ready != NULL) {
            c->hooks.ready(c->hooks.arg);
        }
    } else if (c->led_term == a->term) {
        /* The anchor failed while still leading (a disk error, say):
         * poll appends a new one. */
        c->led_term = 0;
    }
    base_free(a);
}

static void send_anchor(struct ord__core *c, raft_term term)
{
    c->led_term = term;
    c->ready = false;
    if (c->ch == NULL) {
        /* A leader must hold the channel to anchor it; a node that joined
         * has it before it can win an election (it has the whole log). */
        return;
    }
    struct base_buf g;
    base_buf_init(&g, 0);
    struct anchor_req *a = base_calloc(1, sizeof *a);
    struct raft_buffer buf = {NULL, 0};
    int rv = a == NULL ? BASE_ENOMEM : lg_block_get(c->ch, 0, &g);
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
        c->led_term = 0; /* try again at the next poll */
        BASE_WARN(MOD, "node %llu: cannot append the anchor: %s",
                  (unsigned long long)c->raft->id, base_strerror(rv));
    }
    base_buf_release(&g);
}

static void block_cb(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct block_req *b = (struct block_req *)req;
    struct ord__core *c = b->c;
    if (status != 0 && c->pending_req == b) {
        /* Not committed by this leader (leadership lost, shutdown): the
         * block may still come back through apply. */
        abort_pending(c, c->ready && raft_state(c->raft) == RAFT_LEADER);
    }
    base_free(b);
}

static void cut(struct ord__core *c)
{
    size_t n = c->qlen < c->opt.max_block_tx ? c->qlen : c->opt.max_block_tx;
    struct lg_item *items = base_malloc(n * sizeof *items);
    struct block_req *req = base_calloc(1, sizeof *req);
    if (items == NULL || req == NULL) {
        base_free(items);
        base_free(req);
        return; /* try again at the next poll */
    }
    struct ord__item *head = c->qhead, *last = NULL, *it = head;
    for (size_t i = 0; i < n; i++) {
        items[i] = (struct lg_item){it->bytes, it->len, true};
        last = it;
        it = it->next;
    }
    c->qhead = it;
    if (it == NULL) {
        c->qtail = NULL;
    }
    c->qlen -= n;
    last->next = NULL;

    struct lg_pending *p = NULL;
    struct raft_buffer buf = {NULL, 0};
    /* The leader's clock stamps the block; every node checks certificate
     * validity against this time, not its own. */
    int rv = lg_prepare(c->ch, items, n, base_wall_ns(), &c->orderer, NULL, &p);
    if (rv == 0) {
        struct lg_slice blk = lg_pending_block(p);
        rv = ord__entry_block(&buf, c->raft->id, c->led_term, blk.p, blk.len);
    }
    if (rv == 0) {
        req->c = c;
        c->pending = p;
        c->pending_items = head;
        c->pending_req = req;
        lg_pending_header(p, &c->pending_hash);
        rv = ord__from_raft(raft_apply(c->raft, &req->req, &buf, 1, block_cb));
        if (rv != 0) {
            raft_free(buf.base);
            c->pending = NULL;
            c->pending_items = NULL;
            c->pending_req = NULL;
        }
    }
    base_free(items);
    if (rv == 0) {
        return;
    }
    base_free(req);
    lg_pending_abort(p);
    BASE_WARN(MOD, "node %llu: cannot cut a block: %s",
              (unsigned long long)c->raft->id, base_strerror(rv));
    if (rv == BASE_EPANIC) {
        fail(c, rv, "the ledger store refuses writes after a fatal error");
    }
    /* Whoever submitted them resubmits (to the next leader, if need be). */
    drop_items(c, head);
}

static void maybe_cut(struct ord__core *c)
{
    if (!c->ready || c->pending != NULL || c->qlen == 0 || c->failed) {
        return;
    }
    if (c->opt.batch_timeout > 0 && c->qlen < c->opt.max_block_tx) {
        uint64_t deadline = c->qhead->arrived + c->opt.batch_timeout;
        if (base_mono_ns() < deadline) {
            c->hooks.wake_at(c->hooks.arg, deadline);
            return;
        }
    }
    cut(c);
}

void ord__core_poll(struct ord__core *c)
{
    if (raft_state(c->raft) == RAFT_LEADER && c->failed == 0) {
        raft_term term = c->raft->current_term;
        if (c->led_term != term) {
            lose_lead(c);
            send_anchor(c, term);
        }
        maybe_cut(c);
    } else if (c->led_term != 0 || c->qlen > 0 || c->pending != NULL) {
        lose_lead(c);
    }
}

bool ord__core_ready(const struct ord__core *c)
{
    return c->ready && c->failed == 0 && raft_state(c->raft) == RAFT_LEADER;
}

int ord__core_push(struct ord__core *c, struct ord__item *it)
{
    if (!ord__core_ready(c)) {
        return BASE_ENOTLEADER;
    }
    if (c->qlen >= c->opt.max_pending) {
        return BASE_EFULL;
    }
    if (!ord__idset_add(&c->inflight, &it->id)) {
        return BASE_EREPLAY;
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

/* ---- applying committed entries --------------------------------------------
 */

static int apply_anchor(struct ord__core *c, const struct ord__entry *e)
{
    char msg[BASE_ERRMSG_SIZE];
    if (strcmp(e->channel, c->channel) != 0) {
        snprintf(msg, sizeof msg,
                 "the cluster orders channel '%s', this node serves '%s'",
                 e->channel, c->channel);
        fail(c, BASE_EINVAL, msg);
        return RAFT_INVALID;
    }
    if (c->ch == NULL) {
        int rv = lg_channel_join(c->l, e->genesis.p, e->genesis.len, msg);
        if (rv == 0) {
            rv = lg_channel_get(c->l, c->channel, &c->ch);
        }
        if (rv != 0) {
            fail(c, rv, msg);
            return ord__to_raft(rv);
        }
        BASE_INFO(MOD, "node %llu joined channel %s from the cluster",
                  (unsigned long long)c->raft->id, c->channel);
        if (memcmp(lg_channel_config(c->ch)->orderer_pk, c->orderer.pk,
                   CR_PUBKEY_SIZE) != 0) {
            fail(c, BASE_EINVAL,
                 "this node's orderer key is not the channel's: it could "
                 "not sign blocks");
            return RAFT_INVALID;
        }
        return 0;
    }
    struct lg_header h;
    struct cr_hash mine, theirs;
    if (lg_block_header(c->ch, 0, &h, &mine) != 0 ||
        e->genesis.len < LG_HEADER_SIZE) {
        fail(c, BASE_ECORRUPT, "cannot read this node's genesis block");
        return RAFT_CORRUPT;
    }
    cr_sha256(&theirs, e->genesis.p, LG_HEADER_SIZE);
    if (memcmp(mine.b, theirs.b, CR_HASH_SIZE) != 0) {
        fail(c, BASE_ECORRUPT,
             "this node's genesis block differs from the cluster's: it "
             "holds another ledger");
        return RAFT_CORRUPT;
    }
    return 0;
}

/* Store the block this node executed when it cut it. */
static int commit_pending(struct ord__core *c)
{
    struct lg_pending *p = c->pending;
    struct ord__item *items = c->pending_items;
    c->pending = NULL;
    c->pending_items = NULL;
    c->pending_req = NULL;
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
        return ord__to_raft(rv);
    }
    c->blocks++;
    if (outs != NULL) {
        report_pending(c, &h, outs);
        base_free(outs);
    }
    return 0;
}

static int apply_block(struct ord__core *c, const struct ord__entry *e)
{
    char msg[BASE_ERRMSG_SIZE], why[BASE_ERRMSG_SIZE];
    unsigned long long from = (unsigned long long)e->proposer;
    if (c->ch == NULL) {
        fail(c, BASE_ENOCHANNEL,
             "a block arrived before the channel's genesis block");
        return RAFT_INVALID;
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
    abort_pending(c, ord__core_ready(c));
    uint64_t height;
    lg_channel_tip(c->ch, &height, NULL, NULL);
    if (h.number < height) {
        struct lg_header mine;
        struct cr_hash mh;
        if (lg_block_header(c->ch, h.number, &mine, &mh) == 0 &&
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
    int rv = lg_apply(c->ch, e->block.p, e->block.len, why);
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
        /* This machine's trouble (memory, disk), not the block's: Raft
         * retries the entry; a store that refuses writes ends the node. */
        snprintf(msg, sizeof msg, "cannot apply block %llu: %s",
                 (unsigned long long)h.number, why);
        BASE_ERROR(MOD, "node %llu: %s", (unsigned long long)c->raft->id, msg);
        if (rv == BASE_EPANIC || rv == BASE_ENOSPC) {
            fail(c, rv, msg);
        }
        return ord__to_raft(rv);
    }
    c->blocks++;
    report_applied(c, e->block.p, e->block.len);
    return 0;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
                     void **result)
{
    struct ord__core *c = fsm->data;
    *result = NULL;
    if (c->failed != 0) {
        return ord__to_raft(c->failed);
    }
    struct ord__entry e;
    if (ord__entry_decode(&e, buf->base, buf->len) != 0) {
        refuse(c, false, "a log entry is not a gridledger entry");
        return 0;
    }
    return e.kind == ORD__ENTRY_ANCHOR ? apply_anchor(c, &e)
                                       : apply_block(c, &e);
}

/* ---- snapshots ------------------------------------------------------------
 */

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                        unsigned *n_bufs)
{
    struct ord__core *c = fsm->data;
    if (c->ch == NULL || c->failed != 0 || c->snap.base != NULL) {
        return RAFT_BUSY;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    struct raft_buffer *arr = base_malloc(sizeof *arr);
    int rv = arr == NULL ? BASE_ENOMEM : ord__snapshot_take(c->ch, &b);
    if (rv != 0) {
        base_free(arr);
        base_buf_release(&b);
        return ord__to_raft(rv);
    }
    arr[0].len = b.len;
    arr[0].base = base_buf_take(&b, &arr[0].len);
    c->snap = arr[0];
    *bufs = arr;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm,
                                 struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct ord__core *c = fsm->data;
    if (*bufs != NULL) {
        for (unsigned i = 0; i < *n_bufs; i++) {
            base_free((*bufs)[i].base);
        }
        base_free(*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    c->snap.base = NULL;
    c->snap.len = 0;
    return 0;
}

/* Bring the ledger to the snapshot's tip by re-executing the blocks this
 * node lacks: a node never takes state it did not compute itself, so a
 * snapshot from a faulty leader cannot plant forged state. */
static int restore(struct ord__core *c, const struct ord__snapshot *snap,
                   char *msg)
{
    struct ord__snapshot s = *snap;
    if (strcmp(s.channel, c->channel) != 0) {
        return base_errf(msg, BASE_EINVAL,
                         "snapshot of channel '%s', this node serves '%s'",
                         s.channel, c->channel);
    }
    struct lg_slice g = ord__snapshot_next(&s);
    if (g.p == NULL) {
        return base_errf(msg, BASE_ECORRUPT, "snapshot has no genesis block");
    }
    int rv;
    if (c->ch == NULL) {
        rv = lg_channel_join(c->l, g.p, g.len, msg);
        if (rv == 0) {
            rv = lg_channel_get(c->l, c->channel, &c->ch);
        }
        if (rv != 0) {
            return rv;
        }
        if (memcmp(lg_channel_config(c->ch)->orderer_pk, c->orderer.pk,
                   CR_PUBKEY_SIZE) != 0) {
            return base_errf(msg, BASE_EINVAL,
                             "this node's orderer key is not the channel's");
        }
    }
    uint64_t height;
    lg_channel_tip(c->ch, &height, NULL, NULL);
    /* Blocks link by hash, so one equal block means an equal prefix: the
     * last block both chains have must be the same block. */
    uint64_t common = height < s.height ? height : s.height;
    char why[BASE_ERRMSG_SIZE];
    for (uint64_t n = 0; n < s.height; n++) {
        struct lg_slice b = n == 0 ? g : ord__snapshot_next(&s);
        if (b.p == NULL || b.len < LG_HEADER_SIZE) {
            return base_errf(msg, BASE_ECORRUPT,
                             "snapshot block %llu is missing",
                             (unsigned long long)n);
        }
        if (n + 1 == common) {
            struct lg_header h;
            struct cr_hash mine, theirs;
            cr_sha256(&theirs, b.p, LG_HEADER_SIZE);
            rv = lg_block_header(c->ch, n, &h, &mine);
            if (rv != 0 || memcmp(mine.b, theirs.b, CR_HASH_SIZE) != 0) {
                return base_errf(msg, BASE_ECORRUPT,
                                 "this node's block %llu differs from the "
                                 "snapshot's: it holds another chain",
                                 (unsigned long long)n);
            }
        }
        if (n < height) {
            continue;
        }
        rv = lg_apply(c->ch, b.p, b.len, why);
        if (rv != 0) {
            return base_errf(msg, rv, "snapshot refused: %s", why);
        }
        c->blocks++;
    }
    struct cr_hash tip;
    lg_channel_tip(c->ch, &height, &tip, NULL);
    if (height == s.height && memcmp(tip.b, s.tip.b, CR_HASH_SIZE) != 0) {
        return base_errf(msg, BASE_ECORRUPT,
                         "snapshot's tip hash does not match its last block");
    }
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct ord__core *c = fsm->data;
    abort_pending(c, false);
    struct ord__snapshot s;
    char msg[BASE_ERRMSG_SIZE];
    int rv = ord__snapshot_parse(&s, buf->base, buf->len);
    if (rv != 0) {
        base_errf(msg, BASE_ECORRUPT, "snapshot does not decode");
        rv = BASE_ECORRUPT;
    } else {
        rv = restore(c, &s, msg);
    }
    if (rv != 0) {
        /* Raft frees the buffer and may send the snapshot again; a node
         * holding another chain cannot go on. */
        BASE_ERROR(MOD, "node %llu: %s", (unsigned long long)c->raft->id, msg);
        if (rv == BASE_ECORRUPT || rv == BASE_EINVAL) {
            fail(c, rv, msg);
        }
        return ord__to_raft(rv);
    }
    BASE_INFO(MOD, "node %llu restored a snapshot at height %llu",
              (unsigned long long)c->raft->id, (unsigned long long)s.height);
    raft_free(buf->base);
    return 0;
}

/* ---- life cycle -----------------------------------------------------------
 */

int ord__core_init(struct ord__core *c, struct lg_ledger *l,
                   const char *channel, bool may_join,
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
    c->fsm.version = 2;
    c->fsm.data = c;
    c->fsm.apply = fsm_apply;
    c->fsm.snapshot = fsm_snapshot;
    c->fsm.snapshot_finalize = fsm_snapshot_finalize;
    c->fsm.restore = fsm_restore;
    return 0;
}

void ord__core_release(struct ord__core *c)
{
    lose_lead(c);
    ord__idset_release(&c->inflight);
}
