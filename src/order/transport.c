/* SPDX-License-Identifier: MIT */
/* The raft_uv transport of a cluster node: TCP on libuv, with a mutual
 * challenge-response under the channel's orderer key before libraft reads
 * or writes a byte of a connection (order_int.h has the messages). It
 * replaces libraft's raft_uv_tcp, whose listener parses libraft's own
 * handshake from whoever connects: in libraft 0.15 one 72-byte packet
 * from anyone crashed the node (issue 15). */
#include <arpa/inet.h>
#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "order/order_int.h"

#define MOD "order"

#define DEF_HANDSHAKE_MS 5000
#define DEF_MAX_PENDING  64
/* Handshakes in progress from one IPv4 address: one host cannot take
 * every slot and lock the members out (a member dials each peer once). */
#define MAX_PENDING_PER_IP 8
#define SWEEP_MS           100
/* At most LOG_BURST refusals logged per LOG_WINDOW_MS; the rest counted
 * and summed up in the next window's first line, so that a flood of
 * connections cannot fill the disk with log lines. */
#define LOG_BURST     10
#define LOG_WINDOW_MS 10000
#define IN_MAX        128 /* the longest message read: the challenge */

static_assert(ORD__AUTH_HELLO_MAX <= IN_MAX, "hello fits the buffer");
static_assert(ORD__AUTH_CHALLENGE_SIZE <= IN_MAX, "challenge fits");

enum stage {
    S_CONNECTING, /* outgoing: TCP connect in progress */
    S_HELLO,      /* incoming: reading the hello */
    S_RESPONSE,   /* incoming: challenge sent, reading the response */
    S_CHALLENGE,  /* outgoing: hello sent, reading the challenge */
    S_FINAL,      /* outgoing: response being written */
    S_DONE        /* authenticated, waiting for a write to finish */
};

struct tr;
struct relay;

/* One connection during its handshake. */
struct conn {
    struct conn *prev, *next; /* struct tr's list */
    struct tr *t;
    uv_tcp_t *tcp; /* from raft_malloc: libraft frees it once it is its */
    bool outgoing;
    bool closing;
    bool writing; /* a uv_write of ours is pending on the handle */
    bool counted; /* in struct tr's pending_in */
    enum stage stage;
    uint64_t deadline; /* uv_now() ms */
    char peer[64];     /* "A.B.C.D:PORT" for the log */
    uint32_t ip;       /* incoming: the peer's IPv4 address */
    /* outgoing */
    struct raft_uv_connect *req;
    uv_connect_t connect;
    int status; /* for req's callback when the handle closes */
    /* both */
    uint8_t in[IN_MAX];
    size_t have, need;
    uint8_t out[IN_MAX];
    uv_write_t write;
    struct ord__auth_session s;
    char caddr[ORD__AUTH_ADDR_MAX + 1];
};

struct tr {
    uv_loop_t *loop;
    struct raft_uv_transport *raft; /* the struct libraft holds */
    struct ord__transport_config cfg;
    char channel[LG_NAME_MAX + 1];
    uint64_t id;
    char address[ORD_ADDRESS_MAX]; /* ours, Raft part */
    uv_tcp_t listener;
    bool listening;
    uv_timer_t sweep;
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    bool closing;
    size_t handles;    /* open: listener, sweep, conns; close waits for 0 */
    size_t pending_in; /* incoming handshakes in progress */
    struct conn *head;
    struct relay *relays; /* authenticated incoming connections */
    /* rate-limited log */
    uint64_t log_window;
    unsigned log_count;
    uint64_t log_dropped;
    atomic_uint_fast64_t refused[ORD__REFUSE_COUNT];
    atomic_uint_fast64_t accepted, connected, relayed;
};

static struct tr *tr_of(struct raft_uv_transport *t)
{
    return t->impl;
}

static void maybe_closed(struct tr *t)
{
    if (!t->closing || t->handles > 0) {
        return;
    }
    struct raft_uv_transport *raft = t->raft;
    raft_uv_transport_close_cb cb = t->close_cb;
    raft->impl = NULL;
    cr_wipe(&t->cfg, sizeof t->cfg);
    base_free(t);
    if (cb != NULL) {
        cb(raft);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tr *t = h->data;
    t->handles--;
    maybe_closed(t);
}

/* ---- the list of connections in their handshake ------------------------ */

static void link_conn(struct tr *t, struct conn *c)
{
    c->prev = NULL;
    c->next = t->head;
    if (t->head != NULL) {
        t->head->prev = c;
    }
    t->head = c;
    t->handles++;
}

static void unlink_conn(struct tr *t, struct conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        t->head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    t->handles--;
}

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct tr *t = c->t;
    if (c->outgoing) {
        c->req->cb(c->req, NULL, c->status);
    }
    raft_free(c->tcp);
    unlink_conn(t, c);
    base_free(c);
    maybe_closed(t);
}

static void uncount(struct conn *c)
{
    if (c->counted) {
        c->counted = false;
        c->t->pending_in--;
    }
}

/* A handle that never became a connection (connect failed at once). */
static void on_plain_closed(uv_handle_t *h)
{
    struct tr *t = h->data;
    raft_free(h);
    t->handles--;
    maybe_closed(t);
}

static void close_conn(struct conn *c, int status)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->status = status;
    uncount(c);
    /* libuv cancels a pending write (its callback sees UV_ECANCELED)
     * before it calls on_conn_closed. */
    uv_close((uv_handle_t *)c->tcp, on_conn_closed);
}

static const char *refusal_name(enum ord__refusal why)
{
    switch (why) {
    case ORD__REFUSE_HELLO:
        return "bad hello";
    case ORD__REFUSE_TRUNCATED:
        return "truncated";
    case ORD__REFUSE_TIMEOUT:
        return "deadline";
    case ORD__REFUSE_SIG:
        return "bad signature";
    case ORD__REFUSE_MEMBER:
        return "not a member";
    case ORD__REFUSE_FULL:
        return "too many handshakes";
    case ORD__REFUSE_PEER:
        return "peer failed the handshake";
    case ORD__REFUSE_FRAME:
        return "malformed message";
    case ORD__REFUSE_COUNT:
        break;
    }
    return "?";
}

/* Log a refusal, at most LOG_BURST a window (see LOG_BURST). */
static void warn_limited(struct tr *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn_limited(struct tr *t, const char *fmt, ...)
{
    uint64_t now = uv_now(t->loop);
    if (now - t->log_window >= LOG_WINDOW_MS) {
        if (t->log_dropped > 0) {
            BASE_WARN(MOD,
                      "node %llu: %llu more Raft connections refused in "
                      "the last %d s (not logged one by one)",
                      (unsigned long long)t->id,
                      (unsigned long long)t->log_dropped, LOG_WINDOW_MS / 1000);
        }
        t->log_window = now;
        t->log_count = 0;
        t->log_dropped = 0;
    }
    if (t->log_count >= LOG_BURST) {
        t->log_dropped++;
        return;
    }
    t->log_count++;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    BASE_WARN(MOD, "node %llu: %s", (unsigned long long)t->id, line);
}

/* Count, log (rate-limited) and close @c, refused for @why, @detail
 * saying more. @log false: counted only (a connection that an ordinary
 * restart or partition ends, on the connecting side). */
static void refuse(struct conn *c, enum ord__refusal why, const char *detail,
                   bool log)
{
    struct tr *t = c->t;
    atomic_fetch_add(&t->refused[why], 1);
    if (log && c->outgoing) {
        warn_limited(
            t, "raft peer %s (node %llu) failed the handshake (%s): %s",
            c->peer, (unsigned long long)c->s.lid, refusal_name(why), detail);
    } else if (log) {
        warn_limited(t, "raft peer %s refused (%s): %s", c->peer,
                     refusal_name(why), detail);
    }
    close_conn(c, RAFT_NOCONNECTION);
}

static void peer_name(struct conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_tcp_getpeername(c->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        c->ip = a->sin_addr.s_addr;
        char ip[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip) != NULL) {
            snprintf(c->peer, sizeof c->peer, "%s:%u", ip,
                     (unsigned)ntohs(a->sin_port));
        }
    }
}

static void nodelay(uv_tcp_t *tcp)
{
    /* Best effort: without it, only latency suffers. */
    uv_tcp_nodelay(tcp, 1);
}

/* ---- the handshake ------------------------------------------------------ */

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_written(uv_write_t *w, int status);

static void alloc_in(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    /* Exactly what the current message still lacks: libuv reads no byte
     * of what follows, which is libraft's. */
    buf->base = (char *)c->in + c->have;
    buf->len = c->need - c->have;
}

static int expect(struct conn *c, size_t need)
{
    c->have = 0;
    c->need = need;
    return uv_read_start((uv_stream_t *)c->tcp, alloc_in, on_read);
}

static int send_out(struct conn *c, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)len);
    int rv = uv_write(&c->write, (uv_stream_t *)c->tcp, &b, 1, on_written);
    c->writing = rv == 0;
    return rv;
}

/* ---- the relay ------------------------------------------------------------
 * An authenticated peer's bytes reach libraft through a socket pair,
 * message by message: each preamble and header is held back until
 * ord__frame_preamble and ord__frame_header accept it, then written to
 * libraft's end in one piece; a payload passes as it comes. A message
 * libraft could not read safely drops the connection (libraft only sees
 * the end of the stream). */

#define RELAY_BUF  (64u << 10)
#define RELAY_HIGH (8u << 20) /* queued to libraft: stop reading the peer */
#define RELAY_LOW  (1u << 20) /* ... and read again below this */

enum relay_stage { R_PREAMBLE, R_HEADER, R_PAYLOAD };

/* One write to libraft's end. */
struct chunk {
    uv_write_t w;
    struct relay *r;
    size_t len;
    uint8_t data[];
};

struct relay {
    struct relay *prev, *next; /* struct tr's list */
    struct tr *t;
    uv_tcp_t *tcp;  /* from the peer (raft_malloc: new_conn) */
    uv_pipe_t pipe; /* our end of the socket pair */
    int open;       /* handles not yet closed */
    bool closing, paused;
    uint64_t id;
    char peer[64];
    enum relay_stage stage;
    uint8_t pre[ORD__FRAME_PREAMBLE];
    size_t have;
    uint64_t type, hlen, left;
    struct chunk *msg; /* preamble and header being read */
    size_t queued;     /* bytes written to the pipe, not yet out */
    uint8_t sink[64];  /* what libraft's end sends: nothing, or its EOF */
    uint8_t buf[RELAY_BUF];
};

static void on_relay_closed(uv_handle_t *h)
{
    struct relay *r = h->data;
    if (--r->open > 0) {
        return;
    }
    struct tr *t = r->t;
    raft_free(r->tcp);
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        t->relays = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    base_free(r);
    t->handles--;
    maybe_closed(t);
}

static void close_relay(struct relay *r)
{
    if (r->closing) {
        return;
    }
    r->closing = true;
    base_free(r->msg);
    r->msg = NULL;
    /* Pending writes are cancelled (on_chunk_written) before the close
     * callbacks run. */
    uv_close((uv_handle_t *)r->tcp, on_relay_closed);
    uv_close((uv_handle_t *)&r->pipe, on_relay_closed);
}

static void relay_refuse(struct relay *r, const char *why)
{
    atomic_fetch_add(&r->t->refused[ORD__REFUSE_FRAME], 1);
    warn_limited(r->t,
                 "raft peer %s (node %llu) sent a message libraft cannot "
                 "read safely (%s): connection dropped",
                 r->peer, (unsigned long long)r->id, why);
    close_relay(r);
}

static void on_relay_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void free_handle(uv_handle_t *h)
{
    raft_free(h);
}

static void on_chunk_written(uv_write_t *w, int status)
{
    struct chunk *k = w->data;
    struct relay *r = k->r;
    r->queued -= k->len;
    base_free(k);
    if (r->closing) {
        return;
    }
    if (status != 0) {
        close_relay(r); /* libraft closed its end */
        return;
    }
    if (r->paused && r->queued < RELAY_LOW) {
        r->paused = false;
        if (uv_read_start((uv_stream_t *)r->tcp, relay_alloc, on_relay_read) !=
            0) {
            close_relay(r);
        }
    }
}

static struct chunk *new_chunk(struct relay *r, size_t len)
{
    struct chunk *k = base_malloc(sizeof *k + len);
    if (k != NULL) {
        k->r = r;
        k->len = len;
        k->w.data = k;
    }
    return k;
}

/* Write chunk @k to libraft's end; ownership moves. */
static bool emit(struct relay *r, struct chunk *k)
{
    uv_buf_t b = uv_buf_init((char *)k->data, (unsigned)k->len);
    if (uv_write(&k->w, (uv_stream_t *)&r->pipe, &b, 1, on_chunk_written) !=
        0) {
        base_free(k);
        return false;
    }
    r->queued += k->len;
    atomic_fetch_add(&r->t->relayed, k->len);
    return true;
}

/* Take @n bytes at @p from the peer; false once the relay is closing. */
static bool relay_take(struct relay *r, const uint8_t *p, size_t n)
{
    const char *why;
    while (n > 0) {
        if (r->stage == R_PREAMBLE) {
            size_t k = sizeof r->pre - r->have;
            k = k < n ? k : n;
            memcpy(r->pre + r->have, p, k);
            r->have += k;
            p += k;
            n -= k;
            if (r->have < sizeof r->pre) {
                continue;
            }
            if (ord__frame_preamble(r->pre, &r->type, &r->hlen, &why) != 0) {
                relay_refuse(r, why);
                return false;
            }
            r->msg = new_chunk(r, sizeof r->pre + (size_t)r->hlen);
            if (r->msg == NULL) {
                relay_refuse(r, "out of memory");
                return false;
            }
            memcpy(r->msg->data, r->pre, sizeof r->pre);
            r->have = 0;
            r->stage = R_HEADER;
        } else if (r->stage == R_HEADER) {
            size_t k = (size_t)r->hlen - r->have;
            k = k < n ? k : n;
            memcpy(r->msg->data + sizeof r->pre + r->have, p, k);
            r->have += k;
            p += k;
            n -= k;
            if (r->have < r->hlen) {
                continue;
            }
            if (ord__frame_header(r->type, r->msg->data + sizeof r->pre,
                                  (size_t)r->hlen, &r->left, &why) != 0) {
                relay_refuse(r, why);
                return false;
            }
            struct chunk *m = r->msg;
            r->msg = NULL;
            r->have = 0;
            r->stage = r->left > 0 ? R_PAYLOAD : R_PREAMBLE;
            if (!emit(r, m)) {
                close_relay(r);
                return false;
            }
        } else {
            size_t k = r->left < n ? (size_t)r->left : n;
            struct chunk *c = new_chunk(r, k);
            if (c == NULL) {
                relay_refuse(r, "out of memory");
                return false;
            }
            memcpy(c->data, p, k);
            p += k;
            n -= k;
            r->left -= k;
            if (r->left == 0) {
                r->stage = R_PREAMBLE;
            }
            if (!emit(r, c)) {
                close_relay(r);
                return false;
            }
        }
    }
    return true;
}

static void relay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct relay *r = h->data;
    (void)suggested;
    buf->base = (char *)r->buf;
    buf->len = sizeof r->buf;
}

static void on_relay_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct relay *r = s->data;
    (void)b;
    if (r->closing || nread == 0) {
        return;
    }
    if (nread < 0) {
        close_relay(r); /* the peer went away: so does libraft's end */
        return;
    }
    if (!relay_take(r, r->buf, (size_t)nread)) {
        return;
    }
    if (r->queued > RELAY_HIGH) {
        r->paused = true;
        uv_read_stop(s);
    }
}

static void sink_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct relay *r = h->data;
    (void)suggested;
    buf->base = (char *)r->sink;
    buf->len = sizeof r->sink;
}

static void on_sink_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct relay *r = s->data;
    (void)b;
    if (nread < 0 && !r->closing) {
        close_relay(r); /* libraft closed its end */
    }
}

/* Put a relay between @tcp (authenticated, from node @id) and libraft;
 * returns libraft's end (raft_malloc: libraft frees it), or NULL (then
 * @tcp is closed). */
static uv_stream_t *start_relay(struct tr *t, uv_tcp_t *tcp, uint64_t id,
                                const char *peer)
{
    int fds[2] = {-1, -1};
    struct relay *r = base_calloc(1, sizeof *r);
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs);
    if (r == NULL || theirs == NULL ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        base_free(r);
        raft_free(theirs);
        warn_limited(t, "raft peer %s (node %llu): cannot relay it: %s", peer,
                     (unsigned long long)id,
                     fds[0] < 0 ? "no memory or file descriptors" : "?");
        tcp->data = t;
        t->handles++;
        uv_close((uv_handle_t *)tcp, on_plain_closed);
        return NULL;
    }
    r->t = t;
    r->tcp = tcp;
    r->id = id;
    snprintf(r->peer, sizeof r->peer, "%s", peer);
    tcp->data = r;
    uv_pipe_init(t->loop, &r->pipe, 0);
    r->pipe.data = r;
    uv_pipe_init(t->loop, theirs, 0);
    r->open = 2;
    r->next = t->relays;
    if (t->relays != NULL) {
        t->relays->prev = r;
    }
    t->relays = r;
    t->handles++;
    bool ours = uv_pipe_open(&r->pipe, fds[1]) == 0;
    if (!ours) {
        close(fds[1]);
    }
    bool mine = ours && uv_pipe_open(theirs, fds[0]) == 0;
    if (!mine) {
        close(fds[0]);
    }
    if (!mine ||
        uv_read_start((uv_stream_t *)tcp, relay_alloc, on_relay_read) != 0 ||
        uv_read_start((uv_stream_t *)&r->pipe, sink_alloc, on_sink_read) != 0) {
        close_relay(r);
        uv_close((uv_handle_t *)theirs, free_handle);
        return NULL;
    }
    return (uv_stream_t *)theirs;
}

/* The handshake is over and good: the connection is libraft's. */
static void hand_over(struct conn *c)
{
    struct tr *t = c->t;
    c->stage = S_DONE;
    if (c->writing) {
        return; /* on_written comes back here */
    }
    uv_read_stop((uv_stream_t *)c->tcp);
    uv_tcp_t *tcp = c->tcp;
    tcp->data = NULL;
    unlink_conn(t, c);
    if (c->outgoing) {
        atomic_fetch_add(&t->connected, 1);
        struct raft_uv_connect *req = c->req;
        base_free(c);
        req->cb(req, (uv_stream_t *)tcp, 0);
    } else {
        uncount(c);
        uint64_t id = c->s.cid;
        char address[sizeof c->caddr], peer[sizeof c->peer];
        memcpy(address, c->caddr, sizeof address);
        memcpy(peer, c->peer, sizeof peer);
        base_free(c);
        uv_stream_t *theirs = start_relay(t, tcp, id, peer);
        if (theirs != NULL) {
            atomic_fetch_add(&t->accepted, 1);
            t->accept_cb(t->raft, id, address, theirs);
        }
    }
    maybe_closed(t);
}

/* Listener: the hello is in; answer with the challenge. */
static void got_hello(struct conn *c, const struct ord__auth_hello *h)
{
    struct tr *t = c->t;
    if (t->cfg.is_member != NULL && !t->cfg.is_member(t->cfg.arg, h->id)) {
        char why[96];
        snprintf(why, sizeof why,
                 "node %llu is not a member of this node's configuration",
                 (unsigned long long)h->id);
        refuse(c, ORD__REFUSE_MEMBER, why, true);
        return;
    }
    memcpy(c->caddr, h->address, sizeof c->caddr);
    c->s.cid = h->id;
    c->s.lid = t->id;
    memcpy(c->s.cnonce, h->nonce, ORD__AUTH_NONCE);
    cr_random(c->s.lnonce, ORD__AUTH_NONCE);
    struct ord__auth_challenge ch;
    ch.id = t->id;
    memcpy(ch.nonce, c->s.lnonce, ORD__AUTH_NONCE);
    ord__auth_sign(ch.sig, 'L', &c->s, t->cfg.key);
    ord__auth_challenge_encode(c->out, &ch);
    c->stage = S_RESPONSE;
    if (send_out(c, ORD__AUTH_CHALLENGE_SIZE) != 0 ||
        expect(c, ORD__AUTH_RESPONSE_SIZE) != 0) {
        refuse(c, ORD__REFUSE_TRUNCATED, "cannot answer", false);
    }
}

/* Listener: the response is in; check it. */
static void got_response(struct conn *c)
{
    struct tr *t = c->t;
    uint8_t sig[CR_SIG_SIZE];
    const char *why;
    if (ord__auth_response_parse(c->in, sig, &why) != 0) {
        refuse(c, ORD__REFUSE_HELLO, why, true);
        return;
    }
    if (ord__auth_verify(sig, 'C', &c->s, t->cfg.key->pk) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "node %llu's signature does not verify with the "
                 "orderer key (wrong key, or a replayed handshake)",
                 (unsigned long long)c->s.cid);
        refuse(c, ORD__REFUSE_SIG, msg, true);
        return;
    }
    hand_over(c);
}

/* Connector: the challenge is in; check it and answer. */
static void got_challenge(struct conn *c)
{
    struct tr *t = c->t;
    struct ord__auth_challenge ch;
    const char *why;
    if (ord__auth_challenge_parse(c->in, &ch, &why) != 0) {
        refuse(c, ORD__REFUSE_PEER, why, true);
        return;
    }
    if (ch.id != c->s.lid) {
        char msg[96];
        snprintf(msg, sizeof msg, "it says it is node %llu",
                 (unsigned long long)ch.id);
        refuse(c, ORD__REFUSE_PEER, msg, true);
        return;
    }
    memcpy(c->s.lnonce, ch.nonce, ORD__AUTH_NONCE);
    if (ord__auth_verify(ch.sig, 'L', &c->s, t->cfg.key->pk) != 0) {
        refuse(c, ORD__REFUSE_PEER,
               "its signature does not verify with the orderer key", true);
        return;
    }
    uint8_t sig[CR_SIG_SIZE];
    ord__auth_sign(sig, 'C', &c->s, t->cfg.key);
    ord__auth_response_encode(c->out, sig);
    c->stage = S_FINAL;
    if (send_out(c, ORD__AUTH_RESPONSE_SIZE) != 0) {
        refuse(c, ORD__REFUSE_TRUNCATED, "cannot answer", false);
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;
    (void)buf;
    if (c->closing || nread == 0) {
        return;
    }
    if (nread < 0) {
        char msg[96];
        snprintf(msg, sizeof msg,
                 "connection closed after %zu bytes of the handshake (%s)",
                 c->have, uv_err_name((int)nread));
        refuse(c, ORD__REFUSE_TRUNCATED, msg, !c->outgoing);
        return;
    }
    c->have += (size_t)nread;
    const char *why;
    if (c->stage == S_HELLO) {
        struct ord__auth_hello h;
        size_t need;
        int rv = ord__auth_hello_parse(c->in, c->have, &h, &need, &why);
        if (rv < 0) {
            refuse(c, ORD__REFUSE_HELLO, why, true);
        } else if (rv == 0) {
            uv_read_stop(stream);
            got_hello(c, &h);
        } else {
            c->need = need; /* grows once the address length is in */
        }
        return;
    }
    if (c->have < c->need) {
        return;
    }
    uv_read_stop(stream);
    if (c->stage == S_RESPONSE) {
        got_response(c);
    } else if (c->stage == S_CHALLENGE) {
        got_challenge(c);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->writing = false;
    if (c->closing) {
        return;
    }
    if (status != 0) {
        refuse(c, ORD__REFUSE_TRUNCATED, uv_err_name(status), false);
        return;
    }
    if (c->stage == S_FINAL || c->stage == S_DONE) {
        hand_over(c);
    }
}

/* Drop every handshake past its deadline: a peer that connects and then
 * sends nothing, or a byte a second, holds a slot only this long. */
static void on_sweep(uv_timer_t *timer)
{
    struct tr *t = timer->data;
    uint64_t now = uv_now(t->loop);
    struct conn *c = t->head;
    while (c != NULL) {
        struct conn *next = c->next;
        if (!c->closing && now >= c->deadline) {
            char msg[96];
            snprintf(msg, sizeof msg,
                     "handshake not finished within %u ms (%zu bytes in)",
                     t->cfg.handshake_ms, c->have);
            refuse(c, ORD__REFUSE_TIMEOUT, msg, !c->outgoing);
        }
        c = next;
    }
}

static struct conn *new_conn(struct tr *t, bool outgoing)
{
    struct conn *c = base_calloc(1, sizeof *c);
    uv_tcp_t *tcp = raft_malloc(sizeof *tcp);
    if (c == NULL || tcp == NULL) {
        base_free(c);
        raft_free(tcp);
        return NULL;
    }
    uv_tcp_init(t->loop, tcp);
    tcp->data = c;
    c->tcp = tcp;
    c->t = t;
    c->outgoing = outgoing;
    c->write.data = c;
    c->connect.data = c;
    c->s.channel = t->channel;
    c->s.caddr = c->caddr;
    c->deadline = uv_now(t->loop) + t->cfg.handshake_ms;
    link_conn(t, c);
    return c;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tr *t = server->data;
    if (status != 0 || t->closing) {
        return;
    }
    struct conn *c = new_conn(t, false);
    if (c == NULL) {
        /* Out of memory: leave it in the backlog for a later try. */
        return;
    }
    c->stage = S_HELLO;
    c->counted = true;
    t->pending_in++;
    if (uv_accept(server, (uv_stream_t *)c->tcp) != 0) {
        close_conn(c, 0);
        return;
    }
    peer_name(c);
    size_t same = 0;
    for (struct conn *o = t->head; o != NULL; o = o->next) {
        same += o->counted && o->ip == c->ip;
    }
    if (t->pending_in > t->cfg.max_pending || same > MAX_PENDING_PER_IP) {
        char msg[96];
        snprintf(msg, sizeof msg,
                 "%zu handshakes already in progress (%zu from this "
                 "address)",
                 t->pending_in - 1, same - 1);
        refuse(c, ORD__REFUSE_FULL, msg, true);
        return;
    }
    nodelay(c->tcp);
    if (expect(c, 8) != 0) {
        close_conn(c, 0);
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct tr *t = c->t;
    if (c->closing) {
        return;
    }
    if (status != 0) {
        /* The peer is down or unreachable: libraft tries again. */
        close_conn(c, RAFT_NOCONNECTION);
        return;
    }
    nodelay(c->tcp);
    cr_random(c->s.cnonce, ORD__AUTH_NONCE);
    size_t n = ord__auth_hello_encode(c->out, t->id, c->s.cnonce, t->address);
    c->stage = S_CHALLENGE;
    if (send_out(c, n) != 0 || expect(c, ORD__AUTH_CHALLENGE_SIZE) != 0) {
        close_conn(c, RAFT_NOCONNECTION);
    }
}

/* ---- the raft_uv_transport calls ---------------------------------------- */

static int t_init(struct raft_uv_transport *rt, raft_id id, const char *address)
{
    struct tr *t = tr_of(rt);
    t->id = id;
    ord_address_split(address, t->address, sizeof t->address, NULL, 0);
    size_t alen = strlen(t->address);
    if (alen == 0 || alen > ORD__AUTH_ADDR_MAX) {
        snprintf(rt->errmsg, sizeof rt->errmsg, "bad Raft address '%s'",
                 address);
        return RAFT_INVALID;
    }
    return 0;
}

static int t_listen(struct raft_uv_transport *rt, raft_uv_accept_cb cb)
{
    struct tr *t = tr_of(rt);
    t->accept_cb = cb;
    char host[ORD_ADDRESS_MAX];
    snprintf(host, sizeof host, "%s", t->address);
    char *colon = strrchr(host, ':');
    unsigned long port = 0;
    struct sockaddr_in addr;
    if (colon != NULL) {
        *colon = '\0';
        port = strtoul(colon + 1, NULL, 10);
    }
    if (colon == NULL || port == 0 || port > 65535 ||
        uv_ip4_addr(host, (int)port, &addr) != 0) {
        snprintf(rt->errmsg, sizeof rt->errmsg,
                 "'%s' is not an IPv4 address and port", t->address);
        return RAFT_INVALID;
    }
    if (uv_tcp_bind(&t->listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&t->listener, 128, on_connection) != 0) {
        snprintf(rt->errmsg, sizeof rt->errmsg,
                 "cannot listen for Raft peers on %s: the port is taken, "
                 "or the address is not this machine's",
                 t->address);
        return RAFT_IOERR;
    }
    t->listening = true;
    return 0;
}

static int t_connect(struct raft_uv_transport *rt, struct raft_uv_connect *req,
                     raft_id id, const char *address, raft_uv_connect_cb cb)
{
    struct tr *t = tr_of(rt);
    char raft[ORD_ADDRESS_MAX];
    ord_address_split(address, raft, sizeof raft, NULL, 0);
    char host[ORD_ADDRESS_MAX];
    snprintf(host, sizeof host, "%s", raft);
    char *colon = strrchr(host, ':');
    unsigned long port = 0;
    struct sockaddr_in addr;
    if (colon != NULL) {
        *colon = '\0';
        port = strtoul(colon + 1, NULL, 10);
    }
    if (colon == NULL || port == 0 || port > 65535 ||
        uv_ip4_addr(host, (int)port, &addr) != 0) {
        snprintf(rt->errmsg, sizeof rt->errmsg,
                 "'%s' is not an IPv4 address and port", raft);
        return RAFT_NOCONNECTION;
    }
    struct conn *c = new_conn(t, true);
    if (c == NULL) {
        return RAFT_NOMEM;
    }
    c->stage = S_CONNECTING;
    c->req = req;
    c->status = RAFT_NOCONNECTION;
    req->cb = cb;
    c->s.cid = t->id;
    c->s.lid = id;
    snprintf(c->caddr, sizeof c->caddr, "%s", t->address);
    snprintf(c->peer, sizeof c->peer, "%s", raft);
    if (uv_tcp_connect(&c->connect, c->tcp, (const struct sockaddr *)&addr,
                       on_connected) != 0) {
        /* Failing here, the request's callback must not fire: close the
         * handle as a plain one. */
        unlink_conn(t, c);
        t->handles++;
        c->tcp->data = t;
        uv_close((uv_handle_t *)c->tcp, on_plain_closed);
        base_free(c);
        return RAFT_NOCONNECTION;
    }
    return 0;
}

static void t_close(struct raft_uv_transport *rt, raft_uv_transport_close_cb cb)
{
    struct tr *t = tr_of(rt);
    t->closing = true;
    t->close_cb = cb;
    for (struct conn *c = t->head; c != NULL; c = c->next) {
        close_conn(c, RAFT_CANCELED);
    }
    for (struct relay *r = t->relays; r != NULL; r = r->next) {
        close_relay(r);
    }
    uv_close((uv_handle_t *)&t->listener, on_handle_closed);
    uv_close((uv_handle_t *)&t->sweep, on_handle_closed);
}

int ord__transport_init(struct raft_uv_transport *rt, uv_loop_t *loop,
                        const struct ord__transport_config *cfg)
{
    memset(rt, 0, sizeof *rt);
    if (strlen(cfg->channel) > LG_NAME_MAX) {
        return BASE_EINVAL;
    }
    struct tr *t = base_calloc(1, sizeof *t);
    if (t == NULL) {
        return BASE_ENOMEM;
    }
    t->loop = loop;
    t->raft = rt;
    t->cfg = *cfg;
    snprintf(t->channel, sizeof t->channel, "%s", cfg->channel);
    t->cfg.channel = t->channel;
    if (t->cfg.handshake_ms == 0) {
        t->cfg.handshake_ms = DEF_HANDSHAKE_MS;
    }
    if (t->cfg.max_pending == 0) {
        t->cfg.max_pending = DEF_MAX_PENDING;
    }
    uv_tcp_init(loop, &t->listener);
    t->listener.data = t;
    uv_timer_init(loop, &t->sweep);
    t->sweep.data = t;
    t->handles = 2;
    uv_timer_start(&t->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    /* The timer alone must not keep the loop running. */
    uv_unref((uv_handle_t *)&t->sweep);
    rt->impl = t;
    rt->init = t_init;
    rt->listen = t_listen;
    rt->connect = t_connect;
    rt->close = t_close;
    return 0;
}

void ord__transport_release(struct raft_uv_transport *rt)
{
    struct tr *t = tr_of(rt);
    if (t != NULL) {
        t_close(rt, NULL);
    }
}

void ord__transport_stats(struct raft_uv_transport *rt,
                          struct ord__transport_stats *st)
{
    memset(st, 0, sizeof *st);
    struct tr *t = tr_of(rt);
    if (t == NULL) {
        return;
    }
    for (int i = 0; i < ORD__REFUSE_COUNT; i++) {
        st->refused[i] = atomic_load(&t->refused[i]);
    }
    st->accepted = atomic_load(&t->accepted);
    st->relayed = atomic_load(&t->relayed);
    st->connected = atomic_load(&t->connected);
}
