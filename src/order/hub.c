/* SPDX-License-Identifier: MIT */
/* In-process peers: the nodes of one process reach each other's orderer
 * and blocks by a function call (tests, the benchmark, phase 1 of issue
 * 6). */
#include <pthread.h>
#include <string.h>

#include "order/order_int.h"

struct ord_hub {
    pthread_mutex_t lock;
    struct {
        uint64_t id;
        struct ord_raft *r;
    } nodes[ORD_MAX_MEMBERS];
};

int ord_hub_new(struct ord_hub **out)
{
    struct ord_hub *h = base_calloc(1, sizeof *h);
    if (h == NULL) {
        return BASE_ENOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    *out = h;
    return 0;
}

void ord_hub_free(struct ord_hub *h)
{
    if (h != NULL) {
        pthread_mutex_destroy(&h->lock);
        base_free(h);
    }
}

static int hub_attach(void *impl, uint64_t id, struct ord_raft *r)
{
    struct ord_hub *h = impl;
    int rv = BASE_EFULL;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        if (h->nodes[i].id == id) {
            rv = BASE_EEXIST;
            break;
        }
    }
    for (size_t i = 0; rv == BASE_EFULL && i < ORD_MAX_MEMBERS; i++) {
        if (h->nodes[i].id == 0) {
            h->nodes[i].id = id;
            h->nodes[i].r = r;
            rv = 0;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rv;
}

static void hub_detach(void *impl, uint64_t id)
{
    struct ord_hub *h = impl;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        if (h->nodes[i].id == id) {
            h->nodes[i].id = 0;
            h->nodes[i].r = NULL;
        }
    }
    pthread_mutex_unlock(&h->lock);
}

/* The hub's lock is held during the call into the peer, so detach (which
 * takes it) cannot free the peer under us; the peer's entry points only
 * queue work, never call back into a hub. */
static struct ord_raft *lookup(struct ord_hub *h, uint64_t id)
{
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        if (h->nodes[i].id == id) {
            return h->nodes[i].r;
        }
    }
    return NULL;
}

static int hub_forward(void *impl, uint64_t from, uint64_t to, const void *tx,
                       size_t len)
{
    struct ord_hub *h = impl;
    pthread_mutex_lock(&h->lock);
    struct ord_raft *r = lookup(h, to);
    int rv = r != NULL ? ord_raft_forwarded(r, from, tx, len) : BASE_ECLOSED;
    pthread_mutex_unlock(&h->lock);
    return rv;
}

static void hub_refused(void *impl, uint64_t from, uint64_t to,
                        const struct cr_hash *id, int code, const char *reason)
{
    (void)from;
    struct ord_hub *h = impl;
    pthread_mutex_lock(&h->lock);
    struct ord_raft *r = lookup(h, to);
    if (r != NULL) {
        ord_raft_refused(r, id, code, reason);
    }
    pthread_mutex_unlock(&h->lock);
}

static int hub_fetch(void *impl, uint64_t peer, const char *address,
                     const char *channel, uint64_t from, uint64_t max,
                     struct base_buf *out, char *errmsg)
{
    (void)address;
    (void)channel;
    struct ord_hub *h = impl;
    pthread_mutex_lock(&h->lock);
    struct ord_raft *r = lookup(h, peer);
    int rv = r != NULL ? ord__raft_blocks(r, from, max, out) : BASE_ECLOSED;
    pthread_mutex_unlock(&h->lock);
    if (rv != 0) {
        base_errf(errmsg, rv, "block %llu: %s", (unsigned long long)from,
                  base_strerror(rv));
    }
    return rv;
}

static const struct ord_block_source hub_blocks = {hub_fetch};

const struct ord_block_source *ord_hub_blocks(void)
{
    return &hub_blocks;
}

static const struct ord_peer_ops hub_ops = {
    hub_attach,
    hub_detach,
    hub_forward,
    hub_refused,
};

const struct ord_peer_ops *ord_hub_ops(void)
{
    return &hub_ops;
}
