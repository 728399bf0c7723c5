/* SPDX-License-Identifier: MIT */
/* Solo ordering: parallel admission, batching, group commit. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "order/order_int.h"

struct item {
    struct item *next;
    ord_done_cb cb;
    void *arg;
    uint64_t arrived; /* monotonic ns when admitted */
    struct cr_hash id;
    size_t len;
    uint8_t bytes[]; /* the envelope */
};

struct queue {
    struct item *head, *tail;
    size_t n;
};

static void q_push(struct queue *q, struct item *it)
{
    it->next = NULL;
    if (q->tail) {
        q->tail->next = it;
    } else {
        q->head = it;
    }
    q->tail = it;
    q->n++;
}

static struct item *q_pop(struct queue *q)
{
    struct item *it = q->head;
    if (it) {
        q->head = it->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->n--;
    }
    return it;
}

struct ord_solo {
    struct ord_orderer base;
    struct lg_channel *ch;
    struct cr_keypair orderer;
    struct ord_options opt;

    pthread_mutex_t lock;
    pthread_cond_t verify_cv; /* work for verifiers */
    pthread_cond_t commit_cv; /* work for the committer */
    pthread_cond_t room_cv;   /* pending dropped */
    struct queue to_verify;
    struct queue to_commit;
    size_t pending; /* submitted and not finished */
    bool stopping;
    /* Ids admitted but not yet committed: a second copy of a transaction
     * in flight is a replay even though the first is not in the index
     * yet. Sized to max_pending, guarded by the lock. */
    struct ord__idset inflight;

    unsigned nverifiers;
    pthread_t *verifiers;
    pthread_t committer;

    atomic_uint_fast64_t submitted, refused, valid, invalid, blocks;
};

static void finish(struct ord_solo *s, struct item *it,
                   const struct ord_result *r)
{
    it->cb(it->arg, r);
    base_free(it);
    pthread_mutex_lock(&s->lock);
    s->pending--;
    pthread_cond_broadcast(&s->room_cv);
    /* A stopping committer waits for pending to reach zero. */
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->lock);
}

static void refuse(struct ord_solo *s, struct item *it, int code,
                   const char *reason)
{
    struct ord_result r;
    memset(&r, 0, sizeof r);
    r.code = code;
    r.id = it->id;
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    atomic_fetch_add(&s->refused, 1);
    finish(s, it, &r);
}

static void *verifier_main(void *arg)
{
    struct ord_solo *s = arg;
    char reason[LG_REASON_MAX + 1];
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->to_verify.n == 0 && !s->stopping) {
            pthread_cond_wait(&s->verify_cv, &s->lock);
        }
        struct item *it = q_pop(&s->to_verify);
        pthread_mutex_unlock(&s->lock);
        if (it == NULL) {
            return NULL; /* stopping and drained */
        }
        struct lg_tx tx;
        int rv = lg_tx_decode(&tx, it->bytes, it->len);
        if (rv != 0) {
            refuse(s, it, rv, "malformed transaction");
            continue;
        }
        it->id = tx.id;
        rv = lg_admit(s->ch, &tx, base_wall_ns(), reason);
        if (rv != 0) {
            refuse(s, it, rv, reason);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        bool fresh = ord__idset_add(&s->inflight, &tx.id);
        if (fresh) {
            it->arrived = base_mono_ns();
            q_push(&s->to_commit, it);
            pthread_cond_signal(&s->commit_cv);
        }
        pthread_mutex_unlock(&s->lock);
        if (!fresh) {
            refuse(s, it, BASE_EREPLAY,
                   "the same transaction is already waiting to be ordered");
        }
    }
}

static void commit_batch(struct ord_solo *s, struct item **batch, size_t n,
                         struct lg_item *items, struct lg_outcome *out)
{
    for (size_t i = 0; i < n; i++) {
        items[i] = (struct lg_item){batch[i]->bytes, batch[i]->len, true};
    }
    struct lg_header h;
    /* The orderer's clock stamps the block; certificates are checked
     * against it again during execution. */
    int rv = lg_commit(s->ch, items, n, base_wall_ns(), &s->orderer, out, &h);
    if (rv == 0) {
        atomic_fetch_add(&s->blocks, 1);
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        ord__idset_del(&s->inflight, &batch[i]->id);
    }
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        struct ord_result r;
        memset(&r, 0, sizeof r);
        r.id = batch[i]->id;
        if (rv == 0) {
            r.code = out[i].code;
            r.committed = true;
            r.block = h.number;
            r.index = (uint32_t)i;
            snprintf(r.reason, sizeof r.reason, "%s", out[i].reason);
            atomic_fetch_add(r.code == 0 ? &s->valid : &s->invalid, 1);
        } else {
            r.code = rv;
            snprintf(r.reason, sizeof r.reason, "block not committed: %s",
                     base_strerror(rv));
            atomic_fetch_add(&s->refused, 1);
        }
        finish(s, batch[i], &r);
    }
}

static void *committer_main(void *arg)
{
    struct ord_solo *s = arg;
    size_t max = s->opt.max_block_tx;
    /* An array of pointers: the pointer size is meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    struct item **batch = base_malloc(max * sizeof *batch);
    struct lg_item *items = base_malloc(max * sizeof *items);
    struct lg_outcome *out = base_malloc(max * sizeof *out);
    if (batch == NULL || items == NULL || out == NULL) {
        /* Without buffers nothing can commit; refuse work until stopped. */
        max = 0;
    }
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (s->to_commit.n == 0 &&
               !(s->stopping && s->to_verify.n == 0 && s->pending == 0)) {
            pthread_cond_wait(&s->commit_cv, &s->lock);
        }
        if (s->to_commit.n == 0) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        /* Wait for a fuller block, but never past the oldest's deadline. */
        if (s->opt.batch_timeout > 0 && !s->stopping) {
            uint64_t deadline =
                s->to_commit.head->arrived + s->opt.batch_timeout;
            while (s->to_commit.n < max && !s->stopping) {
                uint64_t now = base_mono_ns();
                if (now >= deadline) {
                    break;
                }
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                uint64_t wake = (uint64_t)ts.tv_nsec + (deadline - now);
                ts.tv_sec += (time_t)(wake / 1000000000u);
                ts.tv_nsec = (long)(wake % 1000000000u);
                pthread_cond_timedwait(&s->commit_cv, &s->lock, &ts);
            }
        }
        size_t n = 0;
        while (n < max && s->to_commit.n > 0) {
            batch[n++] = q_pop(&s->to_commit);
        }
        struct item *orphan = max == 0 ? q_pop(&s->to_commit) : NULL;
        pthread_mutex_unlock(&s->lock);
        if (orphan != NULL) {
            refuse(s, orphan, BASE_ENOMEM, "orderer is out of memory");
            continue;
        }
        commit_batch(s, batch, n, items, out);
    }
    base_free(batch);
    base_free(items);
    base_free(out);
    return NULL;
}

static int vt_submit(struct ord_orderer *o, const void *tx, size_t len,
                     ord_done_cb cb, void *arg)
{
    return ord_submit((struct ord_solo *)o, tx, len, cb, arg);
}

static void vt_stats(struct ord_orderer *o, struct ord_stats *st)
{
    ord_solo_stats((struct ord_solo *)o, st);
}

static void vt_stop(struct ord_orderer *o)
{
    ord_solo_stop((struct ord_solo *)o);
}

static const struct ord_orderer_ops solo_ops = {vt_submit, vt_stats, vt_stop};

struct ord_orderer *ord_solo_orderer(struct ord_solo *s)
{
    return &s->base;
}

int ord_solo_start(struct ord_solo **out, struct lg_channel *ch,
                   const struct cr_keypair *orderer,
                   const struct ord_options *opt)
{
    struct ord_solo *s = base_calloc(1, sizeof *s);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    s->base.ops = &solo_ops;
    s->ch = ch;
    s->orderer = *orderer;
    if (opt != NULL) {
        s->opt = *opt;
    }
    if (s->opt.max_block_tx == 0 || s->opt.max_block_tx > LG_BLOCK_MAX_TX) {
        s->opt.max_block_tx = s->opt.max_block_tx ? LG_BLOCK_MAX_TX : 2000;
    }
    if (s->opt.max_pending == 0) {
        s->opt.max_pending = 200000;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s->nverifiers =
        s->opt.verifiers ? s->opt.verifiers : (unsigned)(cores > 0 ? cores : 1);
    int irv = ord__idset_init(&s->inflight, s->opt.max_pending);
    s->verifiers = base_calloc(s->nverifiers, sizeof(pthread_t));
    if (irv != 0 || s->verifiers == NULL) {
        ord__idset_release(&s->inflight);
        base_free(s->verifiers);
        base_free(s);
        return BASE_ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->verify_cv, NULL);
    pthread_cond_init(&s->commit_cv, NULL);
    pthread_cond_init(&s->room_cv, NULL);
    unsigned started = 0;
    int rv = 0;
    for (; started < s->nverifiers; started++) {
        if (pthread_create(&s->verifiers[started], NULL, verifier_main, s)) {
            rv = BASE_EIO;
            break;
        }
    }
    if (rv == 0 && pthread_create(&s->committer, NULL, committer_main, s)) {
        rv = BASE_EIO;
    }
    if (rv != 0) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->verify_cv);
        pthread_mutex_unlock(&s->lock);
        for (unsigned i = 0; i < started; i++) {
            pthread_join(s->verifiers[i], NULL);
        }
        ord__idset_release(&s->inflight);
        base_free(s->verifiers);
        base_free(s);
        return rv;
    }
    *out = s;
    return 0;
}

int ord_submit(struct ord_solo *s, const void *tx, size_t len, ord_done_cb cb,
               void *arg)
{
    if (len > LG_TX_MAX) {
        return BASE_ETOOBIG;
    }
    struct item *it = base_malloc(sizeof *it + len);
    if (it == NULL) {
        return BASE_ENOMEM;
    }
    memset(it, 0, sizeof *it);
    it->cb = cb;
    it->arg = arg;
    it->len = len;
    memcpy(it->bytes, tx, len);
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        base_free(it);
        return BASE_ECLOSED;
    }
    if (s->pending >= s->opt.max_pending) {
        pthread_mutex_unlock(&s->lock);
        base_free(it);
        return BASE_EFULL;
    }
    s->pending++;
    /* Counted under the lock: once it is released, ord_solo_stop may take
     * it, join the threads and free @s (TSan: a node stopping while a
     * submission returned). */
    atomic_fetch_add(&s->submitted, 1);
    q_push(&s->to_verify, it);
    pthread_cond_signal(&s->verify_cv);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int ord_submit_wait(struct ord_solo *s, const void *tx, size_t len,
                    struct ord_result *res)
{
    return ord_orderer_submit_wait(&s->base, tx, len, res);
}

void ord_solo_stats(struct ord_solo *s, struct ord_stats *st)
{
    st->submitted = atomic_load(&s->submitted);
    st->refused = atomic_load(&s->refused);
    st->committed_valid = atomic_load(&s->valid);
    st->committed_invalid = atomic_load(&s->invalid);
    st->blocks = atomic_load(&s->blocks);
    pthread_mutex_lock(&s->lock);
    st->pending = s->pending;
    pthread_mutex_unlock(&s->lock);
}

void ord_solo_stop(struct ord_solo *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->verify_cv);
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->nverifiers; i++) {
        pthread_join(s->verifiers[i], NULL);
    }
    /* Verifiers are done: wake the committer so it sees the final state. */
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->committer, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->verify_cv);
    pthread_cond_destroy(&s->commit_cv);
    pthread_cond_destroy(&s->room_cv);
    ord__idset_release(&s->inflight);
    base_free(s->verifiers);
    base_free(s);
}
