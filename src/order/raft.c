/* SPDX-License-Identifier: MIT */
/* A cluster node: libraft over libuv (disk log, TCP transport) on a loop
 * thread, verifier threads that admit submissions, and the waiters that
 * tell each submitter when its block is durable on this node. */
#include <limits.h>
#include <pthread.h>
#include <raft/uv.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "order/order_int.h"

#define MOD "order"

#define TICK_MS           50
#define DEF_ELECTION_MS   300
#define DEF_HEARTBEAT_MS  15
#define DEF_SNAP_THRESH   4096
#define DEF_SNAP_TRAILING 1024
/* docs/cluster.md, "Snapshots": each snapshot, and each log segment
 * filled, stalls the Raft thread 30-45 ms (libraft 0.15, Linux AIO). */
#define DEF_SNAP_LEADER_FACTOR 4
#define DEF_SNAP_BYTES         (UINT64_C(64) << 20)
#define DEF_SEGMENT_SIZE       (UINT64_C(32) << 20)
#define DEF_SUBMIT_NS          (30ull * 1000000000ull)
#define DEF_DRAIN_NS           (5ull * 1000000000ull)
#define DEF_CHECK_DEPTH        256
/* A new member's catch-up round may last this long (libraft's default is
 * 5 s): its first round restores a snapshot, re-executing every block it
 * lacks, which takes as long as `gridledger verify` of the chain. As long
 * as `gridledger cluster add` waits. */
#define CATCH_UP_ROUND_MS (600u * 1000u)

/* A submission taken on this node, waiting for its block. */
struct sub {
    struct sub *hnext;       /* waiter map chain (under lock) */
    struct sub *prev, *next; /* submission order (loop thread only) */
    bool linked;
    ord_done_cb cb;
    void *arg;
    struct cr_hash id;
    uint64_t submitted; /* monotonic ns */
    uint64_t sent_to;   /* node it was handed to; 0: not yet */
    bool checked;       /* lg_admit passed here (see forward_unchecked) */
    uint64_t sent_term;
    size_t len;
    uint8_t bytes[];
};

/* Admission work for a verifier: a local submission, or one forwarded. */
struct job {
    struct job *next;
    struct sub *sub;
    uint64_t from;
    size_t len;
    uint8_t bytes[];
};

struct add_req {
    struct raft_change change;
    struct ord_raft *r;
    uint64_t id;
    char address[ORD_ADDRESS_MAX];
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool done;
    int rv;
    char errmsg[BASE_ERRMSG_SIZE];
};

enum msg_kind { MSG_LOCAL, MSG_REMOTE, MSG_REFUSED, MSG_ADD };

/* Work handed to the loop thread. */
struct msg {
    struct msg *next;
    enum msg_kind kind;
    struct sub *sub;
    struct ord__item *item;
    struct add_req *add;
    struct cr_hash id;
    int code;
    char reason[LG_REASON_MAX + 1];
};

struct ord_raft {
    struct ord_orderer base;
    uint64_t id;
    struct ord_raft_options opt;
    struct ord_member members[ORD_MAX_MEMBERS];
    size_t nmembers;
    const char *address;
    struct lg_ledger *l;
    struct ord__core core;

    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    uv_check_t check;
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport; /* ours: transport.c */
    char channel[LG_NAME_MAX + 1];      /* the transport signs it */
    struct cr_keypair orderer;          /* likewise, with it */
    pthread_t thread;

    pthread_mutex_t lock;
    pthread_cond_t verify_cv;
    pthread_cond_t idle_cv;
    struct job *vhead, *vtail;
    struct msg *mhead, *mtail;
    bool stopping;  /* no new submissions */
    bool closing;   /* the loop is to close */
    size_t pending; /* local submissions not finished */
    struct sub **buckets;
    size_t nbuckets;
    unsigned nverifiers;
    pthread_t *verifiers;
    struct lg_channel *_Atomic ch; /* published by the loop thread */
    atomic_int failed;             /* likewise: core.failed */
    atomic_bool leading;           /* likewise: Raft says this node leads */

    /* Loop thread only. */
    struct sub *fhead, *ftail;
    size_t unsent;
    uint64_t seen_leader, seen_term;
    bool loop_closed;

    pthread_mutex_t status_lock;
    struct ord_raft_status status;
    uint64_t blocks; /* committed here since start (under status_lock) */

    atomic_uint_fast64_t submitted, refused, valid, invalid;
};

/* ---- waiters ------------------------------------------------------------ */

static size_t bucket(const struct ord_raft *r, const struct cr_hash *id)
{
    return (size_t)(base_get_u64(id->b + 8) & (r->nbuckets - 1));
}

static struct sub *map_find(struct ord_raft *r, const struct cr_hash *id)
{
    struct sub *s = r->buckets[bucket(r, id)];
    while (s != NULL && memcmp(s->id.b, id->b, CR_HASH_SIZE) != 0) {
        s = s->hnext;
    }
    return s;
}

static void map_insert(struct ord_raft *r, struct sub *s)
{
    size_t b = bucket(r, &s->id);
    s->hnext = r->buckets[b];
    r->buckets[b] = s;
}

static struct sub *map_remove(struct ord_raft *r, const struct cr_hash *id)
{
    struct sub **pp = &r->buckets[bucket(r, id)];
    while (*pp != NULL && memcmp((*pp)->id.b, id->b, CR_HASH_SIZE) != 0) {
        pp = &(*pp)->hnext;
    }
    struct sub *s = *pp;
    if (s != NULL) {
        *pp = s->hnext;
    }
    return s;
}

/* Report @s's outcome and free it. The caller has taken it out of the
 * map (or never put it there). */
static void finish(struct ord_raft *r, struct sub *s,
                   const struct ord_result *res)
{
    if (res->committed) {
        atomic_fetch_add(res->code == 0 ? &r->valid : &r->invalid, 1);
    } else {
        atomic_fetch_add(&r->refused, 1);
    }
    /* Counters first, so a caller woken by the callback reads them
     * settled. */
    pthread_mutex_lock(&r->lock);
    r->pending--;
    pthread_cond_broadcast(&r->idle_cv);
    pthread_mutex_unlock(&r->lock);
    s->cb(s->arg, res);
    base_free(s);
}

/* A refusal of @s with @code and @reason. */
static struct ord_result refusal(const struct sub *s, int code,
                                 const char *reason)
{
    struct ord_result res;
    memset(&res, 0, sizeof res);
    res.code = code;
    res.id = s->id;
    snprintf(res.reason, sizeof res.reason, "%s", reason);
    return res;
}

static void finish_code(struct ord_raft *r, struct sub *s, int code,
                        const char *reason)
{
    struct ord_result res = refusal(s, code, reason);
    finish(r, s, &res);
}

static void fifo_unlink(struct ord_raft *r, struct sub *s)
{
    if (!s->linked) {
        return;
    }
    if (s->sent_to == 0) {
        r->unsent--;
    }
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        r->fhead = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    } else {
        r->ftail = s->prev;
    }
    s->linked = false;
}

/* Loop thread: take @s out of the map and the order list, then report. */
static void complete(struct ord_raft *r, struct sub *s,
                     const struct ord_result *res)
{
    pthread_mutex_lock(&r->lock);
    map_remove(r, &s->id);
    pthread_mutex_unlock(&r->lock);
    fifo_unlink(r, s);
    finish(r, s, res);
}

static void complete_code(struct ord_raft *r, struct sub *s, int code,
                          const char *reason)
{
    struct ord_result res = refusal(s, code, reason);
    complete(r, s, &res);
}

static void set_sent(struct ord_raft *r, struct sub *s, uint64_t to,
                     uint64_t term)
{
    if (s->linked && (s->sent_to == 0) != (to == 0)) {
        if (to == 0) {
            r->unsent++;
        } else {
            r->unsent--;
        }
    }
    s->sent_to = to;
    s->sent_term = term;
}

/* ---- the loop thread ---------------------------------------------------- */

/* Hand @m to the loop thread. Once the node is closing, the loop may be
 * gone: then false, and @m stays the caller's. */
static bool post_msg(struct ord_raft *r, struct msg *m)
{
    pthread_mutex_lock(&r->lock);
    if (r->closing) {
        pthread_mutex_unlock(&r->lock);
        return false;
    }
    m->next = NULL;
    if (r->mtail != NULL) {
        r->mtail->next = m;
    } else {
        r->mhead = m;
    }
    r->mtail = m;
    pthread_mutex_unlock(&r->lock);
    uv_async_send(&r->wake);
    return true;
}

/* Messages whose loss only costs a retry or a timeout. */
static void post(struct ord_raft *r, struct msg *m)
{
    if (!post_msg(r, m)) {
        if (m->kind == MSG_LOCAL) {
            pthread_mutex_lock(&r->lock);
            map_remove(r, &m->sub->id);
            pthread_mutex_unlock(&r->lock);
            finish_code(r, m->sub, BASE_ECLOSED,
                        "the node stopped before ordering it");
        } else if (m->kind == MSG_REMOTE) {
            base_free(m->item);
        }
        base_free(m);
    }
}

static void peer_refuse(struct ord_raft *r, uint64_t to,
                        const struct cr_hash *id, int code, const char *why)
{
    if (to == r->id) {
        /* Its own submission, taken unchecked (forward_unchecked) and
         * admitted as the leader's: tell its waiter. */
        ord_raft_refused(r, id, code, why);
    } else if (r->opt.peers != NULL) {
        r->opt.peers->refused(r->opt.peers_impl, r->id, to, id, code, why);
    }
}

static int enqueue(struct ord_raft *r, struct job *j, bool local);

/* Hand @s to whoever orders: this node's core when it leads, else the
 * leader through the peers; keep it for later when there is no leader. */
static void route(struct ord_raft *r, struct sub *s)
{
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&r->raft, &leader, &addr);
    uint64_t term = r->raft.current_term;
    if (ord__core_ready(&r->core) && !s->checked) {
        /* Taken unchecked while following, and this node leads now: it is
         * admitted as any forwarded submission is, by a verifier (the
         * core takes only admitted transactions). */
        struct job *j = base_malloc(sizeof *j + s->len);
        int rv = j == NULL ? BASE_ENOMEM : 0;
        if (j != NULL) {
            j->sub = NULL;
            j->from = r->id;
            j->len = s->len;
            memcpy(j->bytes, s->bytes, s->len);
            rv = enqueue(r, j, false);
            if (rv != 0) {
                base_free(j);
            }
        }
        set_sent(r, s, rv == 0 ? r->id : 0, rv == 0 ? term : 0);
        return;
    }
    if (ord__core_ready(&r->core)) {
        /* Refusals by the ledger side come back through hook_returned. */
        struct ord__item *it = ord__item_new(&s->id, r->id, s->bytes, s->len);
        int rv = it == NULL ? BASE_ENOMEM : ord__core_push(&r->core, it);
        if (rv != 0) {
            base_free(it);
        }
        set_sent(r, s, rv == 0 ? r->id : 0, rv == 0 ? term : 0);
        return;
    }
    if (leader == 0 || leader == r->id) {
        set_sent(r, s, 0, 0); /* no leader yet, or not ready yet */
        return;
    }
    if (r->opt.peers == NULL) {
        char why[LG_REASON_MAX + 1];
        snprintf(why, sizeof why,
                 "this node does not lead and cannot forward: the leader is "
                 "node %llu at %s",
                 (unsigned long long)leader, addr != NULL ? addr : "?");
        complete_code(r, s, BASE_ENOTLEADER, why);
        return;
    }
    int rv = r->opt.peers->forward(r->opt.peers_impl, r->id, leader, s->bytes,
                                   s->len);
    if (rv == 0) {
        set_sent(r, s, leader, term);
    } else if (rv == BASE_EFULL) {
        complete_code(r, s, BASE_EFULL, "the leader's queue is full");
    } else {
        set_sent(r, s, 0, 0); /* unreachable for now: retry on a tick */
    }
}

/* Route every waiting submission not handed to the current leader. */
static void reroute(struct ord_raft *r, bool leader_changed)
{
    raft_id leader = 0;
    const char *addr;
    raft_leader(&r->raft, &leader, &addr);
    uint64_t term = r->raft.current_term;
    if (!leader_changed && r->unsent == 0) {
        return;
    }
    struct sub *next;
    for (struct sub *s = r->fhead; s != NULL; s = next) {
        next = s->next; /* route may complete (free) s */
        if (leader_changed && s->sent_to != 0 &&
            (s->sent_to != leader || s->sent_term != term)) {
            set_sent(r, s, 0, 0);
        }
        if (s->sent_to == 0) {
            route(r, s);
        }
    }
}

static void refresh_status(struct ord_raft *r)
{
    struct ord_raft_status *st = &r->status;
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&r->raft, &leader, &addr);
    struct ord__core_stats cs;
    ord__core_stats(&r->core, &cs);
    struct lg_channel *ch = cs.ch;
    atomic_store(&r->ch, ch);
    atomic_store(&r->failed, cs.failed);
    pthread_mutex_lock(&r->status_lock);
    st->id = r->id;
    switch (raft_state(&r->raft)) {
    case RAFT_FOLLOWER:
        st->role = ORD_FOLLOWER;
        break;
    case RAFT_CANDIDATE:
        st->role = ORD_CANDIDATE;
        break;
    case RAFT_LEADER:
        st->role = ORD_LEADER;
        break;
    default:
        st->role = ORD_UNAVAILABLE;
        break;
    }
    atomic_store(&r->leading, st->role == ORD_LEADER);
    st->leader_id = leader;
    snprintf(st->leader_address, sizeof st->leader_address, "%s",
             addr != NULL ? addr : "");
    st->term = r->raft.current_term;
    st->commit_index = r->raft.commit_index;
    st->last_applied = raft_last_applied(&r->raft);
    st->last_index = raft_last_index(&r->raft);
    const struct raft_configuration *cf = &r->raft.configuration;
    st->nmembers = cf->n < ORD_MAX_MEMBERS ? cf->n : ORD_MAX_MEMBERS;
    for (size_t i = 0; i < st->nmembers; i++) {
        st->members[i].id = cf->servers[i].id;
        snprintf(st->members[i].address, sizeof st->members[i].address, "%s",
                 cf->servers[i].address);
        st->members[i].voter = cf->servers[i].role == RAFT_VOTER;
    }
    st->has_channel = ch != NULL;
    if (ch != NULL) {
        lg_channel_tip(ch, &st->height, &st->tip, &st->state);
    }
    st->blocks_refused = cs.refused;
    st->blocks_stale = cs.stale;
    memcpy(st->last_refusal, cs.last_refusal, sizeof st->last_refusal);
    r->blocks = cs.blocks;
    st->failed = cs.failed != 0;
    memcpy(st->error, cs.error, sizeof st->error);
    pthread_mutex_unlock(&r->status_lock);
}

static void after_events(struct ord_raft *r)
{
    if (r->loop_closed) {
        return;
    }
    ord__core_poll(&r->core);
    raft_id leader = 0;
    const char *addr;
    raft_leader(&r->raft, &leader, &addr);
    uint64_t term = r->raft.current_term;
    if (leader != r->seen_leader || term != r->seen_term) {
        r->seen_leader = leader;
        r->seen_term = term;
        reroute(r, true);
    }
    refresh_status(r);
}

static void on_check(uv_check_t *h)
{
    after_events(h->data);
}

static void add_done(struct add_req *a, int rv, const char *msg)
{
    pthread_mutex_lock(&a->lock);
    a->rv = rv;
    if (msg != NULL) {
        snprintf(a->errmsg, sizeof a->errmsg, "%s", msg);
    }
    a->done = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->lock);
}

static void assign_cb(struct raft_change *req, int status)
{
    struct add_req *a = req->data;
    add_done(a, ord__from_raft(status),
             status != 0 ? raft_strerror(status) : NULL);
}

static void add_cb(struct raft_change *req, int status)
{
    struct add_req *a = req->data;
    if (status != 0) {
        add_done(a, ord__from_raft(status), raft_strerror(status));
        return;
    }
    /* Added as a spare; as a voter it first catches up (raft promotes it
     * only once its log is close to the leader's). */
    int rv = raft_assign(&a->r->raft, &a->change, a->id, RAFT_VOTER, assign_cb);
    if (rv != 0) {
        add_done(a, ord__from_raft(rv), raft_errmsg(&a->r->raft));
    }
}

static void start_add(struct ord_raft *r, struct add_req *a)
{
    if (r->loop_closed) {
        add_done(a, BASE_ECLOSED, "the node is stopping");
        return;
    }
    if (raft_state(&r->raft) != RAFT_LEADER) {
        raft_id leader = 0;
        const char *addr = NULL;
        raft_leader(&r->raft, &leader, &addr);
        char msg[BASE_ERRMSG_SIZE];
        snprintf(msg, sizeof msg, "node %llu does not lead; the leader is %llu",
                 (unsigned long long)r->id, (unsigned long long)leader);
        add_done(a, BASE_ENOTLEADER, msg);
        return;
    }
    a->change.data = a;
    int rv = raft_add(&r->raft, &a->change, a->id, a->address, add_cb);
    if (rv != 0) {
        add_done(a, ord__from_raft(rv), raft_errmsg(&r->raft));
    }
}

static void handle(struct ord_raft *r, struct msg *m)
{
    switch (m->kind) {
    case MSG_LOCAL: {
        struct sub *s = m->sub;
        if (r->loop_closed) {
            complete_code(r, s, BASE_ECLOSED,
                          "the node stopped before ordering it");
            break;
        }
        s->linked = true;
        s->prev = r->ftail;
        s->next = NULL;
        if (r->ftail != NULL) {
            r->ftail->next = s;
        } else {
            r->fhead = s;
        }
        r->ftail = s;
        r->unsent += s->sent_to == 0;
        route(r, s);
        break;
    }
    case MSG_REMOTE: {
        struct ord__item *it = m->item;
        int rv =
            r->loop_closed ? BASE_ENOTLEADER : ord__core_push(&r->core, it);
        if (rv != 0) {
            peer_refuse(r, it->origin, &it->id, BASE_ENOTLEADER,
                        "this node does not lead");
            base_free(it);
        }
        break;
    }
    case MSG_REFUSED: {
        pthread_mutex_lock(&r->lock);
        struct sub *s = map_find(r, &m->id);
        pthread_mutex_unlock(&r->lock);
        if (s == NULL || !s->linked) {
            break; /* finished meanwhile */
        }
        if (m->code == BASE_ENOTLEADER) {
            set_sent(r, s, 0, 0);
        } else if (m->code != BASE_EREPLAY) {
            /* EREPLAY: the leader has it (queued, or committed and on its
             * way here): keep waiting for the block. */
            complete_code(r, s, m->code, m->reason);
        }
        break;
    }
    case MSG_ADD:
        start_add(r, m->add);
        break;
    }
    base_free(m);
}

static void on_raft_closed(struct raft *raft)
{
    struct ord_raft *r = raft->data;
    ord__core_release(&r->core);
    raft_uv_close(&r->io);
    uv_close((uv_handle_t *)&r->wake, NULL);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_close((uv_handle_t *)&r->check, NULL);
}

static void close_loop(struct ord_raft *r)
{
    r->loop_closed = true;
    refresh_status(r);
    while (r->fhead != NULL) {
        complete_code(r, r->fhead, BASE_ECLOSED,
                      "the node stopped before the transaction committed "
                      "here; it may still commit on the cluster");
    }
    uv_timer_stop(&r->tick);
    uv_check_stop(&r->check);
    raft_close(&r->raft, on_raft_closed);
}

static void on_wake(uv_async_t *h)
{
    struct ord_raft *r = h->data;
    pthread_mutex_lock(&r->lock);
    struct msg *m = r->mhead;
    r->mhead = r->mtail = NULL;
    bool closing = r->closing;
    pthread_mutex_unlock(&r->lock);
    while (m != NULL) {
        struct msg *next = m->next;
        handle(r, m);
        m = next;
    }
    if (closing && !r->loop_closed) {
        close_loop(r);
        return;
    }
    after_events(r);
}

static void on_tick(uv_timer_t *t)
{
    struct ord_raft *r = t->data;
    uint64_t now = base_mono_ns();
    while (r->fhead != NULL &&
           now - r->fhead->submitted > r->opt.submit_timeout) {
        complete_code(r, r->fhead, BASE_ETIMEDOUT,
                      "not committed in time; it may still commit");
    }
    reroute(r, false);
    after_events(r);
}

static void *loop_main(void *arg)
{
    struct ord_raft *r = arg;
    uv_run(&r->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- hooks from the core (loop thread) ---------------------------------- */

static void hook_committed(void *arg, const struct lg_header *h,
                           const struct ord__done *txs, size_t n)
{
    struct ord_raft *r = arg;
    (void)h;
    static const struct cr_hash zero;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(txs[i].id.b, zero.b, CR_HASH_SIZE) == 0) {
            continue;
        }
        pthread_mutex_lock(&r->lock);
        struct sub *s = map_remove(r, &txs[i].id);
        pthread_mutex_unlock(&r->lock);
        if (s == NULL) {
            continue;
        }
        fifo_unlink(r, s);
        struct ord_result res;
        memset(&res, 0, sizeof res);
        res.code = txs[i].code;
        res.committed = true;
        res.id = txs[i].id;
        res.block = txs[i].block;
        res.index = txs[i].index;
        snprintf(res.reason, sizeof res.reason, "%s", txs[i].reason);
        finish(r, s, &res);
    }
}

static void hook_returned(void *arg, struct ord__item *it, int code)
{
    struct ord_raft *r = arg;
    if (it->origin == r->id) {
        pthread_mutex_lock(&r->lock);
        struct sub *s = map_find(r, &it->id);
        pthread_mutex_unlock(&r->lock);
        if (s != NULL && s->linked) {
            if (code == BASE_EFULL) {
                complete_code(r, s, BASE_EFULL, "the leader's queue is full");
            } else if (code == BASE_ENOTLEADER) {
                set_sent(r, s, 0, 0); /* route again */
            }
            /* EREPLAY: the same transaction, submitted elsewhere too, is
             * already in line; this waiter completes with it. */
        }
    } else {
        const char *why = code == BASE_EREPLAY ? "already waiting at the leader"
                          : code == BASE_EFULL ? "the leader's queue is full"
                                               : "the leader stepped down "
                                                 "before ordering it";
        peer_refuse(r, it->origin, &it->id, code, why);
    }
    base_free(it);
}

static void hook_wake(void *arg)
{
    struct ord_raft *r = arg;
    uv_async_send(&r->wake);
}

static void hook_ready(void *arg)
{
    struct ord_raft *r = arg;
    reroute(r, true);
}

/* ---- verifiers ----------------------------------------------------------- */

static void admit_local(struct ord_raft *r, struct sub *s)
{
    struct lg_channel *ch = atomic_load(&r->ch);
    char reason[LG_REASON_MAX + 1];
    struct lg_tx tx;
    int failed = atomic_load(&r->failed);
    if (failed != 0) {
        pthread_mutex_lock(&r->status_lock);
        snprintf(reason, sizeof reason, "this node cannot go on: %s",
                 r->status.error);
        pthread_mutex_unlock(&r->status_lock);
        finish_code(r, s, failed, reason);
        return;
    }
    if (ch == NULL) {
        snprintf(reason, sizeof reason,
                 "this node has not received channel '%s' from the cluster "
                 "yet",
                 r->core.channel);
        finish_code(r, s, BASE_ENOCHANNEL, reason);
        return;
    }
    int rv = lg_tx_decode(&tx, s->bytes, s->len);
    if (rv != 0) {
        finish_code(r, s, rv, "malformed transaction");
        return;
    }
    s->id = tx.id;
    /* A follower may leave admission to the leader, which admits every
     * forwarded transaction anyway: one signature check fewer. */
    s->checked = !(r->opt.forward_unchecked && r->opt.peers != NULL &&
                   !atomic_load(&r->leading));
    rv = s->checked ? lg_admit(ch, &tx, base_wall_ns(), reason) : 0;
    if (rv != 0) {
        finish_code(r, s, rv, reason);
        return;
    }
    struct cr_hash id = tx.id;
    pthread_mutex_lock(&r->lock);
    bool dup = map_find(r, &id) != NULL;
    if (!dup) {
        map_insert(r, s);
    }
    pthread_mutex_unlock(&r->lock);
    if (dup) {
        finish_code(r, s, BASE_EREPLAY,
                    "the same transaction is already waiting to be ordered");
        return;
    }
    /* A block holding it (submitted elsewhere too) may have been applied
     * between the admission check and the registration: look again. */
    struct lg_tx_info info;
    bool found = lg_tx_find(ch, &id, &info) == 0;
    pthread_mutex_lock(&r->lock);
    struct sub *mine = map_find(r, &id) == s ? s : NULL;
    if (mine != NULL && found) {
        map_remove(r, &id);
    }
    pthread_mutex_unlock(&r->lock);
    if (mine == NULL) {
        return; /* the loop completed it */
    }
    if (found) {
        struct ord_result res;
        memset(&res, 0, sizeof res);
        res.code = info.code;
        res.committed = true;
        res.id = id;
        res.block = info.block;
        res.index = info.index;
        snprintf(res.reason, sizeof res.reason, "%s",
                 info.code != 0 ? base_strerror(info.code) : "");
        finish(r, s, &res);
        return;
    }
    struct msg *m = base_calloc(1, sizeof *m);
    if (m == NULL) {
        pthread_mutex_lock(&r->lock);
        map_remove(r, &id);
        pthread_mutex_unlock(&r->lock);
        finish_code(r, s, BASE_ENOMEM, "out of memory");
        return;
    }
    m->kind = MSG_LOCAL;
    m->sub = s;
    post(r, m);
}

static void admit_remote(struct ord_raft *r, struct job *j)
{
    struct lg_channel *ch = atomic_load(&r->ch);
    char reason[LG_REASON_MAX + 1];
    struct lg_tx tx;
    if (ch == NULL || lg_tx_decode(&tx, j->bytes, j->len) != 0) {
        return; /* the sender decoded it; it retries on its own */
    }
    int rv = lg_admit(ch, &tx, base_wall_ns(), reason);
    if (rv != 0) {
        peer_refuse(r, j->from, &tx.id, rv, reason);
        return;
    }
    struct ord__item *it = ord__item_new(&tx.id, j->from, j->bytes, j->len);
    struct msg *m = it != NULL ? base_calloc(1, sizeof *m) : NULL;
    if (m == NULL) {
        base_free(it);
        peer_refuse(r, j->from, &tx.id, BASE_ENOTLEADER,
                    "the leader is out of memory");
        return;
    }
    m->kind = MSG_REMOTE;
    m->item = it;
    post(r, m);
}

static void *verifier_main(void *arg)
{
    struct ord_raft *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->vhead == NULL && !r->stopping) {
            pthread_cond_wait(&r->verify_cv, &r->lock);
        }
        struct job *j = r->vhead;
        if (j != NULL) {
            r->vhead = j->next;
            if (r->vhead == NULL) {
                r->vtail = NULL;
            }
        }
        pthread_mutex_unlock(&r->lock);
        if (j == NULL) {
            return NULL;
        }
        if (j->sub != NULL) {
            admit_local(r, j->sub);
        } else {
            admit_remote(r, j);
        }
        base_free(j);
    }
}

static int enqueue(struct ord_raft *r, struct job *j, bool local)
{
    pthread_mutex_lock(&r->lock);
    if (r->stopping) {
        pthread_mutex_unlock(&r->lock);
        return BASE_ECLOSED;
    }
    if (local && r->pending >= r->opt.order.max_pending) {
        pthread_mutex_unlock(&r->lock);
        return BASE_EFULL;
    }
    if (local) {
        r->pending++;
    }
    j->next = NULL;
    if (r->vtail != NULL) {
        r->vtail->next = j;
    } else {
        r->vhead = j;
    }
    r->vtail = j;
    pthread_cond_signal(&r->verify_cv);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* ---- public calls -------------------------------------------------------- */

int ord_raft_submit(struct ord_raft *r, const void *tx, size_t len,
                    ord_done_cb cb, void *arg)
{
    if (len > LG_TX_MAX) {
        return BASE_ETOOBIG;
    }
    struct sub *s = base_calloc(1, sizeof *s + len);
    struct job *j = base_calloc(1, sizeof *j);
    if (s == NULL || j == NULL) {
        base_free(s);
        base_free(j);
        return BASE_ENOMEM;
    }
    s->cb = cb;
    s->arg = arg;
    s->submitted = base_mono_ns();
    s->len = len;
    memcpy(s->bytes, tx, len);
    j->sub = s;
    int rv = enqueue(r, j, true);
    if (rv != 0) {
        base_free(s);
        base_free(j);
        return rv;
    }
    atomic_fetch_add(&r->submitted, 1);
    return 0;
}

int ord_raft_forwarded(struct ord_raft *r, uint64_t from, const void *tx,
                       size_t len)
{
    if (len > LG_TX_MAX) {
        return BASE_ETOOBIG;
    }
    struct job *j = base_malloc(sizeof *j + len);
    if (j == NULL) {
        return BASE_ENOMEM;
    }
    j->sub = NULL;
    j->from = from;
    j->len = len;
    memcpy(j->bytes, tx, len);
    int rv = enqueue(r, j, false);
    if (rv != 0) {
        base_free(j);
    }
    return rv;
}

void ord_raft_refused(struct ord_raft *r, const struct cr_hash *id, int code,
                      const char *reason)
{
    struct msg *m = base_calloc(1, sizeof *m);
    if (m == NULL) {
        return; /* the waiter times out instead */
    }
    m->kind = MSG_REFUSED;
    m->id = *id;
    m->code = code;
    snprintf(m->reason, sizeof m->reason, "refused by the leader: %s", reason);
    post(r, m);
}

int ord__raft_blocks(struct ord_raft *r, uint64_t from, uint64_t max,
                     struct base_buf *out)
{
    struct lg_channel *ch = atomic_load(&r->ch);
    return ch == NULL ? BASE_ENOCHANNEL
                      : ord_blocks_read(ch, from, max, SIZE_MAX, out);
}

void ord_raft_stats(struct ord_raft *r, struct ord_stats *st)
{
    st->submitted = atomic_load(&r->submitted);
    st->refused = atomic_load(&r->refused);
    st->committed_valid = atomic_load(&r->valid);
    st->committed_invalid = atomic_load(&r->invalid);
    pthread_mutex_lock(&r->status_lock);
    st->blocks = r->blocks;
    pthread_mutex_unlock(&r->status_lock);
    pthread_mutex_lock(&r->lock);
    st->pending = r->pending;
    pthread_mutex_unlock(&r->lock);
}

void ord_raft_status(struct ord_raft *r, struct ord_raft_status *st)
{
    pthread_mutex_lock(&r->status_lock);
    *st = r->status;
    pthread_mutex_unlock(&r->status_lock);
}

int ord_raft_add(struct ord_raft *r, uint64_t id, const char *address,
                 char *errmsg)
{
    if (id == 0 || address == NULL || strlen(address) == 0 ||
        strlen(address) >= ORD_ADDRESS_MAX) {
        return base_errf(errmsg, BASE_EINVAL, "bad node id or address");
    }
    struct add_req *a = base_calloc(1, sizeof *a);
    struct msg *m = base_calloc(1, sizeof *m);
    if (a == NULL || m == NULL) {
        base_free(a);
        base_free(m);
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    a->r = r;
    a->id = id;
    snprintf(a->address, sizeof a->address, "%s", address);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cv, NULL);
    m->kind = MSG_ADD;
    m->add = a;
    if (!post_msg(r, m)) {
        base_free(m);
        add_done(a, BASE_ECLOSED, "the node is stopping");
    }
    /* Raft calls back exactly once, also when the node stops. */
    pthread_mutex_lock(&a->lock);
    while (!a->done) {
        pthread_cond_wait(&a->cv, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    int rv = a->rv;
    if (rv != 0) {
        base_errf(errmsg, rv, "cannot add node %llu: %s",
                  (unsigned long long)id, a->errmsg);
    }
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cv);
    base_free(a);
    return rv;
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool done;
    struct ord_result *res;
};

static void wake_waiter(void *arg, const struct ord_result *r)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    *w->res = *r;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

int ord_orderer_submit_wait(struct ord_orderer *o, const void *tx, size_t len,
                            struct ord_result *res)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                       false, res};
    int rv = ord_orderer_submit(o, tx, len, wake_waiter, &w);
    if (rv != 0) {
        memset(res, 0, sizeof *res);
        res->code = rv;
        snprintf(res->reason, sizeof res->reason, "%s", base_strerror(rv));
        return rv;
    }
    pthread_mutex_lock(&w.lock);
    while (!w.done) {
        pthread_cond_wait(&w.cv, &w.lock);
    }
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cv);
    return res->code;
}

int ord_raft_submit_wait(struct ord_raft *r, const void *tx, size_t len,
                         struct ord_result *res)
{
    return ord_orderer_submit_wait(&r->base, tx, len, res);
}

static int vt_submit(struct ord_orderer *o, const void *tx, size_t len,
                     ord_done_cb cb, void *arg)
{
    return ord_raft_submit((struct ord_raft *)o, tx, len, cb, arg);
}

static void vt_stats(struct ord_orderer *o, struct ord_stats *st)
{
    ord_raft_stats((struct ord_raft *)o, st);
}

static void vt_stop(struct ord_orderer *o)
{
    ord_raft_stop((struct ord_raft *)o);
}

static const struct ord_orderer_ops raft_ops = {vt_submit, vt_stats, vt_stop};

struct ord_orderer *ord_raft_orderer(struct ord_raft *r)
{
    return &r->base;
}

/* ---- start and stop ------------------------------------------------------ */

static void free_node(struct ord_raft *r)
{
    cr_wipe(&r->orderer, sizeof r->orderer);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->verify_cv);
    pthread_cond_destroy(&r->idle_cv);
    pthread_mutex_destroy(&r->status_lock);
    base_free(r->buckets);
    base_free(r->verifiers);
    base_free(r);
}

/* Close what raft_init and the handles opened when start fails half way,
 * running the loop here until libuv has released everything. */
static void unwind_loop(struct ord_raft *r, bool raft_inited)
{
    if (raft_inited) {
        raft_close(&r->raft, on_raft_closed);
    } else {
        uv_close((uv_handle_t *)&r->wake, NULL);
        uv_close((uv_handle_t *)&r->tick, NULL);
        uv_close((uv_handle_t *)&r->check, NULL);
    }
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
}

static int check_members(const struct ord_member *members, size_t n,
                         uint64_t id, const char **address, char *errmsg)
{
    if (n == 0 || n > ORD_MAX_MEMBERS) {
        return base_errf(errmsg, BASE_EINVAL,
                         "a cluster has 1 to %d members, not %zu",
                         ORD_MAX_MEMBERS, n);
    }
    *address = NULL;
    for (size_t i = 0; i < n; i++) {
        if (members[i].id == 0 || members[i].address[0] == '\0') {
            return base_errf(errmsg, BASE_EINVAL,
                             "member %zu has no id or no address", i + 1);
        }
        for (size_t j = 0; j < i; j++) {
            if (members[j].id == members[i].id ||
                strcmp(members[j].address, members[i].address) == 0) {
                return base_errf(errmsg, BASE_EINVAL,
                                 "members %zu and %zu share an id or an "
                                 "address",
                                 j + 1, i + 1);
            }
        }
        if (members[i].id == id) {
            *address = members[i].address;
        }
    }
    if (*address == NULL) {
        return base_errf(errmsg, BASE_EINVAL,
                         "node %llu is not in the cluster list",
                         (unsigned long long)id);
    }
    return 0;
}

static void set_defaults(struct ord_raft_options *o)
{
    struct ord_options *b = &o->order;
    if (b->max_block_tx == 0 || b->max_block_tx > LG_BLOCK_MAX_TX) {
        b->max_block_tx = b->max_block_tx ? LG_BLOCK_MAX_TX : 2000;
    }
    if (b->max_pending == 0) {
        b->max_pending = 200000;
    }
    if (b->verifiers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        b->verifiers = (unsigned)(cores > 0 ? cores : 1);
    }
    /* Zero selects the value docs/cluster.md explains. */
#define DEFAULT(field, value) o->field = o->field != 0 ? o->field : (value)
    DEFAULT(election_timeout_ms, DEF_ELECTION_MS);
    DEFAULT(heartbeat_timeout_ms, DEF_HEARTBEAT_MS);
    DEFAULT(snapshot_threshold, DEF_SNAP_THRESH);
    DEFAULT(snapshot_trailing, DEF_SNAP_TRAILING);
    DEFAULT(snapshot_leader_factor, DEF_SNAP_LEADER_FACTOR);
    DEFAULT(snapshot_bytes, DEF_SNAP_BYTES);
    DEFAULT(segment_size, DEF_SEGMENT_SIZE);
    DEFAULT(submit_timeout, DEF_SUBMIT_NS);
    DEFAULT(drain_timeout, DEF_DRAIN_NS);
    DEFAULT(check_depth, DEF_CHECK_DEPTH);
#undef DEFAULT
}

/* Who may connect to this node's Raft port, once it proves it holds the
 * orderer key (transport.c): a member of its current configuration, the
 * uncommitted part included (a node being added connects back to the
 * leader before the change commits). A node that joins has no
 * configuration until the leader sends it one: then the key is all it
 * can check. Loop thread. */
static bool transport_member(void *arg, uint64_t id)
{
    struct ord_raft *r = arg;
    const struct raft_configuration *c = &r->raft.configuration;
    if (c->n == 0) {
        return true;
    }
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].id == id) {
            return true;
        }
    }
    return false;
}

void ord__raft_transport_stats(struct ord_raft *r,
                               struct ord__transport_stats *st)
{
    ord__transport_stats(&r->transport, st);
}

/* Raft's part of start: the libuv I/O and transport, the server, its
 * timing, bootstrap, and loading the log (which may restore a snapshot). */
static int start_raft(struct ord_raft *r, const char *raft_dir,
                      bool *raft_inited, char *errmsg)
{
    struct ord__transport_config tc = {
        .channel = r->channel,
        .key = &r->orderer,
        .is_member = transport_member,
        .arg = r,
        .handshake_ms = r->opt.handshake_timeout_ms,
    };
    int rv = ord__transport_init(&r->transport, &r->loop, &tc);
    if (rv != 0) {
        return base_errf(errmsg, rv, "raft transport: %s", base_strerror(rv));
    }
    rv = raft_uv_init(&r->io, &r->loop, raft_dir, &r->transport);
    if (rv != 0) {
        base_errf(errmsg, ord__from_raft(rv), "raft log in %s: %s", raft_dir,
                  r->io.errmsg[0] ? r->io.errmsg : raft_strerror(rv));
        ord__transport_release(&r->transport);
        return ord__from_raft(rv);
    }
    /* libraft 0.15's raft_uv fills in async_work, the one field version 2
     * of raft_io adds, but still says version 1; asynchronous snapshots
     * (the Raft thread does not wait for the ledger thread to reach the
     * snapshot's index) need it to say 2. */
    if (r->io.async_work != NULL && r->io.version < 2) {
        r->io.version = 2;
    }
    /* Blocks and signatures do not compress: save the CPU. */
    raft_uv_set_snapshot_compression(&r->io, false);
    /* A restarted peer is found again within a tick, not a second. */
    raft_uv_set_connect_retry_delay(&r->io, 100);
    rv = raft_init(&r->raft, &r->io, &r->core.fsm, r->id, r->address);
    if (rv != 0) {
        base_errf(errmsg, ord__from_raft(rv), "raft: %s",
                  raft_errmsg(&r->raft));
        raft_uv_close(&r->io);
        ord__transport_release(&r->transport);
        return ord__from_raft(rv);
    }
    *raft_inited = true;
    r->raft.data = r;
    r->core.raft = &r->raft;
    /* The ledger side runs before Raft loads its log: restoring a
     * snapshot at start is its work. */
    rv = ord__core_start(&r->core);
    if (rv != 0) {
        return base_errf(errmsg, rv, "cannot start the ledger thread");
    }
    raft_set_election_timeout(&r->raft, r->opt.election_timeout_ms);
    raft_set_heartbeat_timeout(&r->raft, r->opt.heartbeat_timeout_ms);
    /* The core decides when to snapshot (struct ord__snap_policy). */
    r->core.policy = (struct ord__snap_policy){
        .threshold = r->opt.snapshot_threshold,
        .leader_factor = r->opt.snapshot_leader_factor,
        .trailing = r->opt.snapshot_trailing,
        .bytes = r->opt.snapshot_bytes,
    };
    raft_set_snapshot_threshold(&r->raft, UINT_MAX);
    raft_set_snapshot_trailing(&r->raft, r->opt.snapshot_trailing);
    raft_uv_set_segment_size(&r->io, r->opt.segment_size);
    raft_set_max_catch_up_round_duration(&r->raft, CATCH_UP_ROUND_MS);
    raft_set_pre_vote(&r->raft, true);
    if (!r->opt.join) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (size_t i = 0; rv == 0 && i < r->nmembers; i++) {
            rv = raft_configuration_add(&conf, r->members[i].id,
                                        r->members[i].address, RAFT_VOTER);
        }
        if (rv == 0) {
            rv = raft_bootstrap(&r->raft, &conf);
            if (rv == RAFT_CANTBOOTSTRAP) {
                rv = 0; /* the log exists: this is a restart */
            }
        }
        raft_configuration_close(&conf);
        if (rv != 0) {
            return base_errf(errmsg, ord__from_raft(rv), "raft bootstrap: %s",
                             raft_errmsg(&r->raft));
        }
    }
    rv = raft_start(&r->raft);
    if (rv != 0) {
        struct ord__core_stats cs;
        ord__core_stats(&r->core, &cs);
        if (cs.failed != 0) {
            return base_errf(errmsg, cs.failed, "%s", cs.error);
        }
        /* libraft 0.15 leaves its own message empty when the I/O start
         * fails (the Raft port in use, say): the backend's says why. */
        const char *why = raft_errmsg(&r->raft);
        if (why[0] == '\0') {
            why = r->io.errmsg[0]          ? r->io.errmsg
                  : r->transport.errmsg[0] ? r->transport.errmsg
                                           : raft_strerror(rv);
        }
        return base_errf(errmsg, ord__from_raft(rv), "raft start in %s: %s",
                         raft_dir, why);
    }
    return 0;
}

int ord_raft_start(struct ord_raft **out, struct lg_ledger *l,
                   const char *channel, const char *raft_dir, uint64_t id,
                   const struct ord_member *members, size_t nmembers,
                   const struct cr_keypair *orderer,
                   const struct ord_raft_options *opt, char *errmsg)
{
    errmsg[0] = '\0';
    const char *address;
    int rv = check_members(members, nmembers, id, &address, errmsg);
    if (rv != 0) {
        return rv;
    }
    struct ord_raft *r = base_calloc(1, sizeof *r);
    if (r == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    r->base.ops = &raft_ops;
    r->id = id;
    r->l = l;
    if (opt != NULL) {
        r->opt = *opt;
    }
    set_defaults(&r->opt);
    memcpy(r->members, members, nmembers * sizeof *members);
    r->nmembers = nmembers;
    snprintf(r->channel, sizeof r->channel, "%s", channel);
    r->orderer = *orderer;
    for (size_t i = 0; i < nmembers; i++) {
        if (members[i].id == id) {
            r->address = r->members[i].address;
        }
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->verify_cv, NULL);
    pthread_cond_init(&r->idle_cv, NULL);
    pthread_mutex_init(&r->status_lock, NULL);
    r->nbuckets = 1024;
    while (r->nbuckets < r->opt.order.max_pending) {
        r->nbuckets *= 2;
    }
    /* An array of pointers: the pointer size is meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    r->buckets = base_calloc(r->nbuckets, sizeof *r->buckets);
    r->verifiers = base_calloc(r->opt.order.verifiers, sizeof(pthread_t));
    if (r->buckets == NULL || r->verifiers == NULL) {
        free_node(r);
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    struct ord__core_hooks hooks = {r, hook_committed, hook_returned,
                                    hook_ready, hook_wake};
    rv = ord__core_init(&r->core, l, channel, r->opt.join, true, orderer,
                        &r->opt.order, &hooks, errmsg);
    bool core_ok = rv == 0;
    r->core.src = r->opt.blocks;
    r->core.src_impl = r->opt.blocks_impl;
    memcpy(r->core.members, r->members, nmembers * sizeof *members);
    r->core.nmembers = nmembers;
    if (rv == 0 && r->core.ch != NULL) {
        char why[BASE_ERRMSG_SIZE];
        rv = lg_check_tail(r->core.ch, r->opt.check_depth, why);
        if (rv != 0) {
            base_errf(errmsg, rv,
                      "the block store is damaged, refusing to start: %s "
                      "(run 'gridledger verify' on the directory)",
                      why);
        }
    }
    if (rv == 0 && base_mkdirs(raft_dir, 0700) != 0) {
        rv = base_errf(errmsg, BASE_EIO, "cannot create %s", raft_dir);
    }
    if (rv != 0) {
        if (core_ok) {
            ord__core_release(&r->core);
        }
        free_node(r);
        return rv;
    }
    /* libuv writes to sockets with write(): a peer that went away would
     * raise SIGPIPE and kill the process. Ignore it, unless the program
     * installed a handler of its own. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        signal(SIGPIPE, SIG_IGN);
    }
    /* The loop and its handles, then Raft, all before the loop runs. */
    bool raft_inited = false;
    if (uv_loop_init(&r->loop) != 0) {
        ord__core_release(&r->core);
        free_node(r);
        return base_errf(errmsg, BASE_EIO, "cannot create an event loop");
    }
    uv_async_init(&r->loop, &r->wake, on_wake);
    uv_timer_init(&r->loop, &r->tick);
    uv_check_init(&r->loop, &r->check);
    r->wake.data = r->tick.data = r->check.data = r;
    rv = start_raft(r, raft_dir, &raft_inited, errmsg);
    if (rv != 0) {
        if (!raft_inited) {
            ord__core_release(&r->core);
        }
        unwind_loop(r, raft_inited);
        free_node(r);
        return rv;
    }
    refresh_status(r);
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
    uv_check_start(&r->check, on_check);
    unsigned started = 0;
    for (; started < r->opt.order.verifiers; started++) {
        if (pthread_create(&r->verifiers[started], NULL, verifier_main, r)) {
            break;
        }
    }
    r->nverifiers = started;
    if (started == 0 || pthread_create(&r->thread, NULL, loop_main, r) != 0) {
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        pthread_cond_broadcast(&r->verify_cv);
        pthread_mutex_unlock(&r->lock);
        for (unsigned i = 0; i < started; i++) {
            pthread_join(r->verifiers[i], NULL);
        }
        r->loop_closed = true;
        uv_timer_stop(&r->tick);
        uv_check_stop(&r->check);
        unwind_loop(r, true);
        free_node(r);
        return base_errf(errmsg, BASE_EIO, "cannot start threads");
    }
    if (r->opt.peers != NULL) {
        rv = r->opt.peers->attach(r->opt.peers_impl, id, r);
        if (rv != 0) {
            BASE_WARN(MOD, "node %llu: cannot register with its peers: %s",
                      (unsigned long long)id, base_strerror(rv));
        }
    }
    *out = r;
    return 0;
}

void ord_raft_stop(struct ord_raft *r)
{
    if (r == NULL) {
        return;
    }
    /* Let what was submitted finish, for a while. */
    pthread_mutex_lock(&r->lock);
    uint64_t deadline = base_mono_ns() + r->opt.drain_timeout;
    while (r->pending > 0 && base_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&r->idle_cv, &r->lock, &ts);
    }
    r->stopping = true;
    pthread_cond_broadcast(&r->verify_cv);
    pthread_mutex_unlock(&r->lock);
    if (r->opt.peers != NULL) {
        r->opt.peers->detach(r->opt.peers_impl, r->id);
    }
    for (unsigned i = 0; i < r->nverifiers; i++) {
        pthread_join(r->verifiers[i], NULL);
    }
    pthread_mutex_lock(&r->lock);
    r->closing = true;
    pthread_mutex_unlock(&r->lock);
    uv_async_send(&r->wake);
    pthread_join(r->thread, NULL);
    uv_loop_close(&r->loop);
    free_node(r);
}
