/* SPDX-License-Identifier: MIT */
/* GET /v1/events: a Server-Sent Events stream of blocks and contract
 * events, resumable from any block. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gw_int.h"

/*
 * Each stream reads the chain itself: it keeps the number of the next block
 * to send and renders it from the store, so resuming from block 0 or from
 * the tip is the same code, and a slow client costs no memory on the node.
 * When it has caught up it suspends its connection; a commit (or the
 * keep-alive ticker) resumes every waiting stream.
 *
 * For block N the stream sends each contract event of N, then the block:
 *   event: contract
 *   data: {"block":N,"tx":I,"contract":"...","name":"...","payload":...}
 *
 *   id: N
 *   event: block
 *   data: {"number":N,"hash":"..","tx_count":T,"valid":V,"timestamp_ns":..}
 * so a client that saw "id: N" has all of block N, and reconnecting with
 * Last-Event-ID: N (or ?from=N+1) resumes exactly after it.
 */

struct gw_sse {
    struct gw_server *g;
    struct MHD_Connection *conn;
    uint64_t next; /* next block to send */
    struct base_buf out;
    size_t off; /* bytes of out already sent */
    uint64_t last_sent;
    bool waiting;
    struct gw_sse *next_wait;
    /* ?contract=NAME: only that contract's events (blocks always); "" for
     * all. The dashboard asks for "bids" only: a busy node's asset events
     * would be most of the stream. */
    char contract[LG_NAME_MAX + 1];
    /* The clients this stream counts against in the streams' pool: its
     * API key ("" without one) and its source address. */
    char key[GW_CLIENT_MAX], addr[GW_CLIENT_MAX];
    /* Who reads the stream: contract events go through their contract's
     * read rule (reads.c) for it. */
    struct gw_reader rd;
};

/* ---- the streams' pool -------------------------------------------------
 * Streams live for hours, so they are counted apart from requests: at
 * most max_streams in all and max_streams_per_client for each API key and
 * each source address. Over either, the stream is refused at once with
 * the reason and Retry-After, and takes no slot from other requests. */

static void client_names(struct gw_req *r, char key[GW_CLIENT_MAX],
                         char addr[GW_CLIENT_MAX])
{
    key[0] = '\0';
    if (r->have_key) {
        snprintf(key, GW_CLIENT_MAX, "k:%s", r->key.id);
    }
    snprintf(addr, GW_CLIENT_MAX, "a:?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    char host[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET,
                  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  host, sizeof host);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  host, sizeof host);
    }
    snprintf(addr, GW_CLIENT_MAX, "a:%s", host);
}

/* The pool's entry for @who, or (@make) a free one named @who; under
 * sse_lock. Each open stream holds at most two entries, so while fewer
 * than max_streams are open a free one is always there. */
static struct gw_stream_client *client_find(struct gw_server *g,
                                            const char *who, bool make)
{
    size_t cap = 2 * (size_t)g->opt.max_streams;
    struct gw_stream_client *spare = NULL;
    for (size_t i = 0; i < cap; i++) {
        struct gw_stream_client *c = &g->clients[i];
        if (c->n > 0 && strcmp(c->who, who) == 0) {
            return c;
        }
        if (c->n == 0 && spare == NULL) {
            spare = c;
        }
    }
    if (make && spare != NULL) {
        snprintf(spare->who, sizeof spare->who, "%s", who);
        return spare;
    }
    return NULL;
}

/* Take a slot for a stream of clients @key and @addr: 0, or the status
 * to refuse with (429: this client has its most; 503: the node has), the
 * reason in @why. */
static unsigned streams_take(struct gw_server *g, const char *key,
                             const char *addr, char *why, size_t size)
{
    unsigned per = g->opt.max_streams_per_client, st = 0;
    pthread_mutex_lock(&g->sse_lock);
    struct gw_stream_client *k = key[0] ? client_find(g, key, false) : NULL;
    struct gw_stream_client *a = client_find(g, addr, false);
    if (k != NULL && k->n >= per) {
        st = 429;
        snprintf(why, size,
                 "API key %s has %u event streams open, the most one client "
                 "may hold (--max-streams-per-client); close one first",
                 key + 2, k->n);
    } else if (a != NULL && a->n >= per) {
        st = 429;
        snprintf(why, size,
                 "address %s has %u event streams open, the most one client "
                 "may hold (--max-streams-per-client); close one first",
                 addr + 2, a->n);
    } else if (g->nstreams >= g->opt.max_streams) {
        st = 503;
        snprintf(why, size,
                 "the node has %u event streams open, its most "
                 "(--max-streams); try again later",
                 g->nstreams);
    } else {
        if (key[0] != '\0') {
            k = k != NULL ? k : client_find(g, key, true);
            k->n++;
        }
        a = a != NULL ? a : client_find(g, addr, true);
        a->n++;
        g->nstreams++;
    }
    pthread_mutex_unlock(&g->sse_lock);
    return st;
}

static void streams_release(struct gw_server *g, const char *key,
                            const char *addr)
{
    pthread_mutex_lock(&g->sse_lock);
    struct gw_stream_client *k = key[0] ? client_find(g, key, false) : NULL;
    struct gw_stream_client *a = client_find(g, addr, false);
    if (k != NULL) {
        k->n--;
    }
    if (a != NULL) {
        a->n--;
    }
    g->nstreams--;
    pthread_mutex_unlock(&g->sse_lock);
}

/* Has the client of a waiting stream gone? A suspended connection is not
 * polled, so a client that closed would keep its slot until the next
 * keep-alive failed to send; a stream's client never sends after its
 * request, so reading the end of the stream means it closed. */
static bool client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL) {
        return false;
    }
    char b;
    ssize_t k = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return k == 0 ||
           (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void unlink_waiting(struct gw_server *g, struct gw_sse *s)
{
    for (struct gw_sse **p = &g->waiting; *p != NULL; p = &(*p)->next_wait) {
        if (*p == s) {
            *p = s->next_wait;
            break;
        }
    }
    s->waiting = false;
    s->next_wait = NULL;
}

void gw__sse_wake_all(struct gw_server *g)
{
    pthread_mutex_lock(&g->sse_lock);
    struct gw_sse *s = g->waiting;
    g->waiting = NULL;
    while (s != NULL) {
        struct gw_sse *n = s->next_wait;
        s->waiting = false;
        s->next_wait = NULL;
        MHD_resume_connection(s->conn);
        s = n;
    }
    pthread_mutex_unlock(&g->sse_lock);
}

void gw__sse_on_block(struct gw_server *g)
{
    gw__sse_wake_all(g);
}

void *gw__ticker_main(void *arg)
{
    struct gw_server *g = arg;
    unsigned every = g->opt.keepalive_s;
    if (g->opt.idle_timeout_s / 2 > 0 && g->opt.idle_timeout_s / 2 < every) {
        every = g->opt.idle_timeout_s / 2;
    }
    for (;;) {
        pthread_mutex_lock(&g->sse_lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += every;
        while (!atomic_load(&g->stopping)) {
            if (pthread_cond_timedwait(&g->tick_cv, &g->sse_lock, &ts) != 0) {
                break; /* timed out */
            }
        }
        pthread_mutex_unlock(&g->sse_lock);
        if (atomic_load(&g->stopping)) {
            return NULL;
        }
        gw__sse_wake_all(g);
        gw__reap_slow(g);
    }
}

struct ev_ctx {
    uint64_t block;
    struct base_buf *out;
    int rv;
    const char *contract; /* "" for all */
    struct gw_server *g;
    const struct gw_reader *rd;
    unsigned hidden; /* events the reader may not see */
};

static int event_cb(void *arg, const struct lg_event *e)
{
    struct ev_ctx *c = arg;
    if (e->block != c->block) {
        return 1;
    }
    if (c->contract[0] != '\0' && strcmp(c->contract, e->contract) != 0) {
        return 0;
    }
    char why[LG_REASON_MAX + 1];
    if (gw__may_read(c->g, c->rd, e->contract, SC_READ_EVENT, e->name,
                     strlen(e->name), e->payload.p, e->payload.len, NULL, why,
                     sizeof why) != 0) {
        c->hidden++; /* counted in the block's line */
        return 0;
    }
    json_t *o =
        json_pack("{s:I, s:i, s:s, s:s}", "block", (json_int_t)e->block, "tx",
                  (int)e->tx, "contract", e->contract, "name", e->name);
    gw_json_set_bytes(o, "payload", e->payload.p, e->payload.len);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    c->rv = s ? base_buf_printf(c->out, "event: contract\ndata: %s\n\n", s)
              : BASE_ENOMEM;
    free(s);
    return c->rv;
}

/* Append block @n and its events (of @contract only, unless "") to @out. */
static int render(struct gw_server *g, uint64_t n, const char *contract,
                  const struct gw_reader *rd, struct base_buf *out)
{
    struct ev_ctx c = {n, out, 0, contract, g, rd, 0};
    int rv = lg_events(g->ch, n, event_cb, &c);
    if (rv == 0) {
        rv = c.rv;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    struct lg_block blk;
    if (rv == 0) {
        rv = lg_block_get(g->ch, n, &b);
    }
    if (rv == 0 && lg_block_decode(&blk, b.data, b.len) != 0) {
        rv = BASE_ECORRUPT;
    } else if (rv == 0) {
        uint32_t valid = 0;
        for (uint32_t i = 0; n > 0 && i < blk.h.tx_count; i++) {
            valid += blk.results[i].code == 0;
        }
        char hash[65];
        base_hex_encode(hash, blk.hash.b, 32);
        rv = base_buf_printf(
            out,
            "id: %llu\nevent: block\ndata: {\"channel\":\"%s\",\"number\":%llu,"
            "\"hash\":\"%s\",\"tx_count\":%u,\"valid\":%u,"
            "\"timestamp_ns\":%llu,\"hidden_events\":%u}\n\n",
            (unsigned long long)n, lg_channel_name(g->ch),
            (unsigned long long)n, hash, blk.h.tx_count, valid,
            (unsigned long long)blk.h.timestamp, c.hidden);
        lg_block_release(&blk);
    }
    base_buf_release(&b);
    return rv;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct gw_sse *s = cls;
    struct gw_server *g = s->g;
    if (s->off >= s->out.len) {
        base_buf_reset(&s->out);
        s->off = 0;
        if (atomic_load(&g->stopping)) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        uint64_t height;
        struct cr_hash tip, state;
        lg_channel_tip(g->ch, &height, &tip, &state);
        uint64_t now = base_mono_ns();
        if (s->next < height) {
            /* A few blocks per call, so one stream catching up on a long
             * chain does not hold its thread for long. */
            for (int k = 0; k < 8 && s->next < height; k++) {
                if (render(g, s->next, s->contract, &s->rd, &s->out) != 0) {
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                s->next++;
            }
        } else if (now - s->last_sent >=
                   (uint64_t)g->opt.keepalive_s * 1000000000u) {
            if (base_buf_add_str(&s->out, ": keep-alive\n\n") != 0) {
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        } else {
            if (client_gone(s->conn)) {
                return MHD_CONTENT_READER_END_WITH_ERROR; /* frees the slot */
            }
            pthread_mutex_lock(&g->sse_lock);
            lg_channel_tip(g->ch, &height, &tip, &state);
            if (s->next >= height && !atomic_load(&g->stopping)) {
                s->waiting = true;
                s->next_wait = g->waiting;
                g->waiting = s;
                MHD_suspend_connection(s->conn);
            }
            pthread_mutex_unlock(&g->sse_lock);
            return 0;
        }
        s->last_sent = now;
    }
    size_t n = s->out.len - s->off;
    n = n < max ? n : max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct gw_sse *s = cls;
    struct gw_server *g = s->g;
    pthread_mutex_lock(&g->sse_lock);
    if (s->waiting) {
        unlink_waiting(g, s);
    }
    pthread_mutex_unlock(&g->sse_lock);
    streams_release(g, s->key, s->addr);
    atomic_fetch_sub(&g->m.streams, 1);
    base_buf_release(&s->out);
    base_free(s);
}

enum MHD_Result gw__h_events(struct gw_server *g, struct gw_req *r)
{
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(g->ch, &height, &tip, &state);
    uint64_t from = height;
    char v[32];
    const char *last =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (gw__arg(r, "from", v, sizeof v) != NULL) {
        if (base_parse_u64(v, &from) != 0) {
            return gw__error(r, 400, "bad_request",
                             "from must be a block number, not '%s'", v);
        }
    } else if (last != NULL) {
        uint64_t id;
        if (base_parse_u64(last, &id) != 0 || id == UINT64_MAX) {
            return gw__error(r, 400, "bad_request",
                             "Last-Event-ID must be a block number");
        }
        from = id + 1;
    }
    char only[LG_NAME_MAX + 2] = "";
    if (gw__arg(r, "contract", only, sizeof only) != NULL &&
        (only[0] == '\0' || strlen(only) > LG_NAME_MAX)) {
        return gw__error(r, 400, "bad_request",
                         "contract must be a contract name of 1..%d bytes",
                         LG_NAME_MAX);
    }
    struct gw_reader rd;
    if (!gw__reader(g, r, &rd)) {
        return MHD_YES;
    }
    char key[GW_CLIENT_MAX], addr[GW_CLIENT_MAX], why[256];
    client_names(r, key, addr);
    unsigned st = streams_take(g, key, addr, why, sizeof why);
    if (st != 0) {
        return gw__error(r, st, "stream_limit", "%s", why);
    }
    struct gw_sse *s = base_calloc(1, sizeof *s);
    if (s == NULL) {
        streams_release(g, key, addr);
        return gw__error(r, 500, "internal", "out of memory");
    }
    /* From here sse_free gives the slot back. */
    memcpy(s->key, key, sizeof key);
    memcpy(s->addr, addr, sizeof addr);
    s->rd = rd;
    snprintf(s->contract, sizeof s->contract, "%s", only);
    s->g = g;
    s->conn = r->conn;
    s->next = from;
    base_buf_init(&s->out, 0);
    s->last_sent = base_mono_ns();
    if (base_buf_add_str(&s->out, "retry: 1000\n\n") != 0) {
        streams_release(g, key, addr);
        base_free(s);
        return MHD_NO;
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64 * 1024, sse_read, s, sse_free);
    if (resp == NULL) {
        streams_release(g, key, addr);
        base_buf_release(&s->out);
        base_free(s);
        return MHD_NO;
    }
    atomic_fetch_add(&g->m.streams, 1);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    r->status = 200;
    enum MHD_Result rv = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return rv;
}
