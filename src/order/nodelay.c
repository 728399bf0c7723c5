/* SPDX-License-Identifier: MIT */
/* A raft_uv transport that is libraft's TCP transport with TCP_NODELAY on
 * every connection (see ord__nodelay_wrap). It also hands the TCP
 * transport only the Raft part of a member address: the part after '/'
 * names the node's HTTP gateway (ord_cluster_parse). */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "order/order_int.h"

struct connect_req {
    struct raft_uv_connect inner;
    struct raft_uv_connect *outer;
    struct raft_uv_transport *t;
    char address[ORD_ADDRESS_MAX]; /* the Raft part, alive until connected */
};

static void nodelay(struct uv_stream_s *stream)
{
    /* Best effort: without it, only latency suffers. */
    if (stream != NULL && stream->type == UV_TCP) {
        uv_tcp_nodelay((uv_tcp_t *)stream, 1);
    }
}

/* The wrapper keeps the caller's accept callback in its own data field
 * beside the inner transport. */
struct wrap {
    struct raft_uv_transport *tcp;
    char address[ORD_ADDRESS_MAX]; /* ours, Raft part: libraft keeps a
                                      pointer to it */
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
};

static struct wrap *wrap_of(struct raft_uv_transport *t)
{
    return t->impl;
}

static int w_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct wrap *w = wrap_of(t);
    struct raft_uv_transport *tcp = w->tcp;
    ord_address_split(address, w->address, sizeof w->address, NULL, 0);
    int rv = tcp->init(tcp, id, w->address);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s", tcp->errmsg);
    }
    return rv;
}

static void w_accepted(struct raft_uv_transport *tcp, raft_id id,
                       const char *address, struct uv_stream_s *stream)
{
    struct raft_uv_transport *t = tcp->data;
    nodelay(stream);
    wrap_of(t)->accept_cb(t, id, address, stream);
}

static int w_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct raft_uv_transport *tcp = wrap_of(t)->tcp;
    wrap_of(t)->accept_cb = cb;
    int rv = tcp->listen(tcp, w_accepted);
    if (rv != 0 && tcp->errmsg[0] != '\0') {
        snprintf(t->errmsg, sizeof t->errmsg, "%s", tcp->errmsg);
    } else if (rv != 0) {
        /* libraft 0.15 says nothing of a failed bind. */
        snprintf(t->errmsg, sizeof t->errmsg,
                 "cannot listen for Raft peers on %s: the port is taken, "
                 "or the address is not this machine's",
                 wrap_of(t)->address);
    }
    return rv;
}

static void w_connected(struct raft_uv_connect *inner,
                        struct uv_stream_s *stream, int status)
{
    struct connect_req *c = inner->data;
    struct raft_uv_connect *outer = c->outer;
    if (status == 0) {
        nodelay(stream);
    }
    raft_free(c);
    outer->cb(outer, stream, status);
}

static int w_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                     raft_id id, const char *address, raft_uv_connect_cb cb)
{
    struct raft_uv_transport *tcp = wrap_of(t)->tcp;
    struct connect_req *c = raft_malloc(sizeof *c);
    if (c == NULL) {
        return RAFT_NOMEM;
    }
    c->inner.data = c;
    c->outer = req;
    c->t = t;
    req->cb = cb;
    ord_address_split(address, c->address, sizeof c->address, NULL, 0);
    int rv = tcp->connect(tcp, &c->inner, id, c->address, w_connected);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s", tcp->errmsg);
        raft_free(c);
    }
    return rv;
}

static void w_closed(struct raft_uv_transport *tcp)
{
    struct raft_uv_transport *t = tcp->data;
    struct wrap *w = wrap_of(t);
    raft_uv_transport_close_cb cb = w->close_cb;
    raft_free(w);
    t->impl = NULL;
    if (cb != NULL) {
        cb(t);
    }
}

static void w_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct wrap *w = wrap_of(t);
    w->close_cb = cb;
    w->tcp->close(w->tcp, w_closed);
}

int ord__nodelay_wrap(struct raft_uv_transport *out,
                      struct raft_uv_transport *tcp)
{
    memset(out, 0, sizeof *out);
    struct wrap *w = raft_malloc(sizeof *w);
    if (w == NULL) {
        return BASE_ENOMEM;
    }
    w->tcp = tcp;
    w->accept_cb = NULL;
    w->close_cb = NULL;
    w->address[0] = '\0';
    tcp->data = out;
    out->impl = w;
    out->init = w_init;
    out->listen = w_listen;
    out->connect = w_connect;
    out->close = w_close;
    return 0;
}

void ord__nodelay_free(struct raft_uv_transport *out)
{
    raft_free(out->impl);
    out->impl = NULL;
}
