/* SPDX-License-Identifier: MIT */
/* Off-chain request/reply messaging over ZeroMQ: a ROUTER socket served by
 * a thread of its own, and REQ links that wait for their reply. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "market.h"

struct mk_msg_server {
    void *ctx, *sock;
    pthread_t thread;
    atomic_bool stop;
    mk_msg_handler handler;
    void *arg;
};

/* One message part into @b (reset first). Returns its size or -1. */
static int recv_part(void *sock, struct base_buf *b, bool *more)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int n = zmq_msg_recv(&m, sock, 0);
    if (n >= 0) {
        base_buf_reset(b);
        if (base_buf_add(b, zmq_msg_data(&m), zmq_msg_size(&m)) != 0) {
            n = -1;
        }
        *more = zmq_msg_more(&m) != 0;
    }
    zmq_msg_close(&m);
    return n;
}

/* A ROUTER request is [peer id][envelope...][empty][body], where a
 * correlating REQ socket puts its request id in the envelope; the reply
 * goes back with the same frames before the delimiter. Requests of any
 * other shape, or with a body over MK_MSG_MAX, are dropped unanswered. */
#define MAX_FRAMES 4

static void serve_one(struct mk_msg_server *s, struct base_buf *head,
                      struct base_buf *body, struct base_buf *reply)
{
    bool more = true, ok = true;
    size_t nhead = 0;
    /* The frames before the delimiter, then the body. */
    while (more && nhead < MAX_FRAMES) {
        if (recv_part(s->sock, &head[nhead], &more) < 0) {
            return;
        }
        if (head[nhead].len == 0 && nhead > 0) {
            break;
        }
        nhead++;
    }
    ok = more && nhead < MAX_FRAMES && recv_part(s->sock, body, &more) >= 0;
    while (more) { /* drain anything after the body */
        ok = false;
        if (recv_part(s->sock, reply, &more) < 0) {
            return;
        }
    }
    base_buf_reset(reply);
    if (!ok || body->len > MK_MSG_MAX ||
        s->handler(s->arg, body->data, body->len, reply) != 0) {
        return;
    }
    for (size_t i = 0; i < nhead; i++) {
        zmq_send(s->sock, head[i].data, head[i].len, ZMQ_SNDMORE);
    }
    zmq_send(s->sock, "", 0, ZMQ_SNDMORE);
    zmq_send(s->sock, reply->data, reply->len, 0);
}

static void *serve(void *arg)
{
    struct mk_msg_server *s = arg;
    struct base_buf head[MAX_FRAMES], body, reply;
    for (size_t i = 0; i < MAX_FRAMES; i++) {
        base_buf_init(&head[i], 0);
    }
    base_buf_init(&body, 0);
    base_buf_init(&reply, 0);
    while (!atomic_load(&s->stop)) {
        zmq_pollitem_t it = {s->sock, 0, ZMQ_POLLIN, 0};
        /* Wake up now and then to see the stop flag. */
        int n = zmq_poll(&it, 1, 50);
        if (n > 0 && (it.revents & ZMQ_POLLIN)) {
            serve_one(s, head, &body, &reply);
        }
    }
    for (size_t i = 0; i < MAX_FRAMES; i++) {
        base_buf_release(&head[i]);
    }
    base_buf_release(&body);
    base_buf_release(&reply);
    return NULL;
}

int mk_msg_serve(struct mk_msg_server **out, const char *bind,
                 mk_msg_handler handler, void *arg, char *endpoint)
{
    struct mk_msg_server *s = base_calloc(1, sizeof *s);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    s->handler = handler;
    s->arg = arg;
    atomic_init(&s->stop, false);
    s->ctx = zmq_ctx_new();
    s->sock = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
    int linger = 0;
    int64_t max = MK_MSG_MAX + 4096; /* the body and its frames */
    size_t len = 256;
    if (s->sock == NULL ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_bind(s->sock, bind) != 0 ||
        zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0) {
        snprintf(endpoint, 256, "cannot serve at %s: %s", bind,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        snprintf(endpoint, 256, "cannot start the server thread");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->sock != NULL) {
        zmq_close(s->sock);
    }
    if (s->ctx != NULL) {
        zmq_ctx_term(s->ctx);
    }
    base_free(s);
    return BASE_EIO;
}

void mk_msg_server_stop(struct mk_msg_server *s)
{
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    zmq_close(s->sock);
    zmq_ctx_term(s->ctx);
    base_free(s);
}

struct zmq_link {
    struct mk_link base;
    void *ctx, *sock;
};

static int link_request(struct mk_link *base, const void *req, size_t len,
                        struct base_buf *reply, int timeout_ms)
{
    struct zmq_link *l = (struct zmq_link *)base;
    if (len > MK_MSG_MAX) {
        return BASE_ETOOBIG;
    }
    zmq_setsockopt(l->sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(l->sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    if (zmq_send(l->sock, req, len, 0) < 0) {
        return zmq_errno() == EAGAIN ? BASE_ETIMEDOUT : BASE_EIO;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rv = 0;
    if (zmq_msg_recv(&m, l->sock, 0) < 0) {
        rv = zmq_errno() == EAGAIN ? BASE_ETIMEDOUT : BASE_EIO;
    } else if (zmq_msg_size(&m) > MK_MSG_MAX) {
        rv = BASE_ETOOBIG;
    } else {
        rv = base_buf_add(reply, zmq_msg_data(&m), zmq_msg_size(&m));
    }
    zmq_msg_close(&m);
    return rv;
}

static void link_close(struct mk_link *base)
{
    struct zmq_link *l = (struct zmq_link *)base;
    zmq_close(l->sock);
    zmq_ctx_term(l->ctx);
    base_free(l);
}

static const struct mk_link_ops zmq_link_ops = {link_request, link_close};

int mk_link_zmq(struct mk_link **out, const char *endpoint)
{
    struct zmq_link *l = base_calloc(1, sizeof *l);
    if (l == NULL) {
        return BASE_ENOMEM;
    }
    l->base.ops = &zmq_link_ops;
    l->ctx = zmq_ctx_new();
    l->sock = l->ctx ? zmq_socket(l->ctx, ZMQ_REQ) : NULL;
    /* Relaxed and correlated: after a timeout the link may send again, and
     * a late reply to the old request is told apart and dropped. */
    int one = 1, linger = 0;
    if (l->sock == NULL ||
        zmq_setsockopt(l->sock, ZMQ_REQ_RELAXED, &one, sizeof one) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_REQ_CORRELATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(l->sock, endpoint) != 0) {
        if (l->sock != NULL) {
            zmq_close(l->sock);
        }
        if (l->ctx != NULL) {
            zmq_ctx_term(l->ctx);
        }
        base_free(l);
        return BASE_EIO;
    }
    *out = &l->base;
    return 0;
}
