/* SPDX-License-Identifier: MIT */
/* A cluster's peers over HTTP: struct ord_peer_ops between node processes.
 * A follower hands submissions to the leader's gateway, batched
 * (POST /v1/cluster/forward); the leader tells the node a refused
 * submission came from (POST /v1/cluster/refused), each notice signed with
 * the orderer key so that no client can fake a refusal. Raft's
 * configuration carries each member's HTTP address (ord_cluster_parse), so
 * a node finds every peer's gateway, a joined one included. A node behind
 * a snapshot fetches the blocks it lacks from the members' gateways
 * (GET /v1/blocks?from=&count=: struct ord_block_source). */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"

#define MOD "cluster"

/* A forward batch is cut at this size (the gateway's body limit is 8 MiB
 * by default). */
#define BATCH_BYTES (4u << 20)
/* How long a batch the leader did not take is tried again: long enough to
 * ride out a moment of load, short enough that a dead leader costs no
 * more than the election that replaces it (the orderer then sends every
 * waiting submission to the new leader itself). */
#define RETRY_NS       (1000ull * 1000000ull)
#define RETRY_SLEEP_NS (20ull * 1000000ull)

/* What goes to one peer. */
struct peer {
    uint64_t id; /* 0: free slot */
    char url[ORD_ADDRESS_MAX + 16];
    struct base_buf fwd; /* batch body: u32 length, envelope; repeated */
    size_t nfwd;
    json_t *notices; /* refusal notices for it, a JSON array */
    bool started;
    pthread_t thread;
    struct gw_peers *p;
};

struct gw_peers {
    uint64_t self;
    struct cr_keypair key;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool stop;
    struct ord_raft *r;               /* attached node; NULL once detached */
    uint64_t warned[ORD_MAX_MEMBERS]; /* nodes said to lack an address */
    struct peer peers[ORD_MAX_MEMBERS];
};

int gw_peers_new(struct gw_peers **out, const struct cr_keypair *orderer)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        return BASE_EIO;
    }
    struct gw_peers *p = base_calloc(1, sizeof *p);
    if (p == NULL) {
        return BASE_ENOMEM;
    }
    p->key = *orderer;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        base_buf_init(&p->peers[i].fwd, 0);
        p->peers[i].p = p;
    }
    *out = p;
    return 0;
}

void gw_peers_free(struct gw_peers *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        struct peer *q = &p->peers[i];
        if (q->started) {
            pthread_join(q->thread, NULL);
        }
        base_buf_release(&q->fwd);
        json_decref(q->notices);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->lock);
    cr_wipe(&p->key, sizeof p->key);
    base_free(p);
}

/* ---- signed messages ------------------------------------------------------
 * A refusal notice signs "GLRF", from, to (u64), the transaction id, the
 * code (i32) and the reason; an add request signs "GLAD", the node id and
 * the time (u64) and the address; a peer's read (X-Gridledger-Peer) signs
 * "GLPR", the node id and the time (u64), the method, the path, the
 * number of query arguments (u32) and each "NAME=VALUE", sorted, each
 * string after its length (u32). All big-endian, with the orderer key,
 * which only the cluster's nodes hold. */

/* Sign the message built in @b (when building it gave @rv 0), or check
 * @sig of it; @b is released either way. */
static int msg_sign(struct base_buf *b, int rv, const struct cr_keypair *key,
                    uint8_t sig[CR_SIG_SIZE])
{
    if (rv == 0) {
        cr_sign(sig, b->data, b->len, key);
    }
    base_buf_release(b);
    return rv;
}

static int msg_verify(struct base_buf *b, int rv,
                      const uint8_t pk[CR_PUBKEY_SIZE],
                      const uint8_t sig[CR_SIG_SIZE])
{
    if (rv == 0) {
        rv = cr_verify(sig, b->data, b->len, pk);
    }
    base_buf_release(b);
    return rv;
}

static int refusal_msg(struct base_buf *b, uint64_t from, uint64_t to,
                       const struct cr_hash *id, int code, const char *reason)
{
    int rv = base_buf_add(b, "GLRF", 4);
    rv = rv ? rv : base_buf_add_u64(b, from);
    rv = rv ? rv : base_buf_add_u64(b, to);
    rv = rv ? rv : base_buf_add(b, id->b, CR_HASH_SIZE);
    rv = rv ? rv : base_buf_add_u32(b, (uint32_t)code);
    return rv ? rv : base_buf_add_str(b, reason);
}

int gw__refusal_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t from,
                      uint64_t to, const struct cr_hash *id, int code,
                      const char *reason, const uint8_t sig[CR_SIG_SIZE])
{
    struct base_buf b;
    base_buf_init(&b, 0);
    return msg_verify(&b, refusal_msg(&b, from, to, id, code, reason),
                      orderer_pk, sig);
}

static int add_msg(struct base_buf *b, uint64_t id, uint64_t time,
                   const char *address)
{
    int rv = base_buf_add(b, "GLAD", 4);
    rv = rv ? rv : base_buf_add_u64(b, id);
    rv = rv ? rv : base_buf_add_u64(b, time);
    return rv ? rv : base_buf_add_str(b, address);
}

int gw_cluster_add_request(const struct cr_keypair *orderer, uint64_t id,
                           const char *address, char **json)
{
    uint64_t now = base_wall_ns() / 1000000000u;
    struct base_buf b;
    base_buf_init(&b, 0);
    uint8_t sig[CR_SIG_SIZE];
    int rv = msg_sign(&b, add_msg(&b, id, now, address), orderer, sig);
    if (rv != 0) {
        return rv;
    }
    json_t *o = json_pack("{s:I, s:s, s:I, s:o}", "id", (json_int_t)id,
                          "address", address, "time", (json_int_t)now, "sig",
                          gw_json_hex(sig, CR_SIG_SIZE));
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    *json = s != NULL ? base_strdup(s) : NULL;
    free(s);
    return *json != NULL ? 0 : BASE_ENOMEM;
}

int gw__add_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t id,
                  uint64_t time, const char *address,
                  const uint8_t sig[CR_SIG_SIZE])
{
    struct base_buf b;
    base_buf_init(&b, 0);
    return msg_verify(&b, add_msg(&b, id, time, address), orderer_pk, sig);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A string with its length first: where strings follow one another, no
 * two different lists of them give the same bytes. */
static int add_lstr(struct base_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rv = base_buf_add_u32(b, (uint32_t)n);
    return rv ? rv : base_buf_add(b, s, n);
}

/* The query arguments are sorted, so that the client's order (which the
 * server may not see as sent) does not matter; @args is sorted in place. */
static int peer_msg(struct base_buf *b, uint64_t id, uint64_t time,
                    const char *method, const char *path, char **args,
                    size_t nargs)
{
    qsort(args, nargs, sizeof *args, cmp_str);
    int rv = base_buf_add(b, "GLPR", 4);
    rv = rv ? rv : base_buf_add_u64(b, id);
    rv = rv ? rv : base_buf_add_u64(b, time);
    rv = rv ? rv : add_lstr(b, method);
    rv = rv ? rv : add_lstr(b, path);
    rv = rv ? rv : base_buf_add_u32(b, (uint32_t)nargs);
    for (size_t i = 0; rv == 0 && i < nargs; i++) {
        rv = add_lstr(b, args[i]);
    }
    return rv;
}

int gw_peer_header(const struct cr_keypair *orderer, uint64_t id, uint64_t time,
                   const char *method, const char *target,
                   char out[GW_PEER_HEADER_MAX])
{
    char copy[512], *args[GW_PEER_MAX_ARGS];
    size_t nargs = 0;
    if (strlen(target) >= sizeof copy) {
        return BASE_EINVAL;
    }
    snprintf(copy, sizeof copy, "%s", target);
    char *q = strchr(copy, '?');
    if (q != NULL) {
        *q++ = '\0';
        char *save = NULL;
        for (char *a = strtok_r(q, "&", &save); a != NULL;
             a = strtok_r(NULL, "&", &save)) {
            if (nargs == GW_PEER_MAX_ARGS) {
                return BASE_EINVAL;
            }
            args[nargs++] = a;
        }
    }
    uint64_t now = time != 0 ? time : base_wall_ns() / 1000000000u;
    struct base_buf b;
    base_buf_init(&b, 0);
    uint8_t sig[CR_SIG_SIZE];
    int rv = msg_sign(&b, peer_msg(&b, id, now, method, copy, args, nargs),
                      orderer, sig);
    if (rv != 0) {
        return rv;
    }
    char hex[2 * CR_SIG_SIZE + 1];
    base_hex_encode(hex, sig, CR_SIG_SIZE);
    snprintf(out, GW_PEER_HEADER_MAX, "%s: %llu %llu %s", GW_PEER_HEADER,
             (unsigned long long)id, (unsigned long long)now, hex);
    return 0;
}

int gw__peer_check(const uint8_t orderer_pk[CR_PUBKEY_SIZE], uint64_t id,
                   uint64_t time, const char *method, const char *path,
                   char **args, size_t nargs, const uint8_t sig[CR_SIG_SIZE])
{
    struct base_buf b;
    base_buf_init(&b, 0);
    return msg_verify(&b, peer_msg(&b, id, time, method, path, args, nargs),
                      orderer_pk, sig);
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct base_buf *b = arg;
    return base_buf_add(b, data, size * n) == 0 ? size * n : 0;
}

/* POST @body to @url; the answer's status, and its body into @reply. */
static long post(CURL *c, const char *url, const char *ctype, const void *body,
                 size_t len, struct base_buf *reply)
{
    char header[128];
    snprintf(header, sizeof header, "Content-Type: %s", ctype);
    struct curl_slist *h = curl_slist_append(NULL, header);
    /* No "Expect: 100-continue" round trip before each batch. */
    h = curl_slist_append(h, "Expect:");
    base_buf_reset(reply);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 500L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    return status;
}

/* ---- blocks from a member's gateway ----------------------------------------
 */

static int b_fetch(void *impl, uint64_t peer, const char *address,
                   const char *channel, uint64_t from, uint64_t max,
                   struct base_buf *out, char *errmsg)
{
    struct gw_peers *p = impl;
    (void)channel; /* a gateway serves one channel: the anchor checked it */
    char http[ORD_ADDRESS_MAX], url[ORD_ADDRESS_MAX + 80];
    char target[80], header[GW_PEER_HEADER_MAX];
    ord_address_split(address, NULL, 0, http, sizeof http);
    if (http[0] == '\0') {
        return base_errf(errmsg, BASE_ECLOSED,
                         "node %llu has no HTTP address (%s)",
                         (unsigned long long)peer, address);
    }
    snprintf(target, sizeof target, "/v1/blocks?from=%llu&count=%llu",
             (unsigned long long)from, (unsigned long long)max);
    snprintf(url, sizeof url, "http://%s%s", http, target);
    /* Signed, so that a member run with --require-key serves it. */
    struct curl_slist *h = NULL;
    if (p != NULL) {
        pthread_mutex_lock(&p->lock);
        uint64_t self = p->self;
        pthread_mutex_unlock(&p->lock);
        if (gw_peer_header(&p->key, self, 0, "GET", target, header) != 0 ||
            (h = curl_slist_append(NULL, header)) == NULL) {
            return base_errf(errmsg, BASE_ENOMEM, "out of memory");
        }
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        curl_slist_free_all(h);
        return base_errf(errmsg, BASE_ENOMEM, "libcurl: out of memory");
    }
    struct base_buf reply;
    base_buf_init(&reply, 0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    int rv = 0;
    if (cc != CURLE_OK) {
        rv = base_errf(errmsg, BASE_ECLOSED, "%s: %s", url,
                       curl_easy_strerror(cc));
    } else if (status != 200) {
        rv = base_errf(errmsg, status == 404 ? BASE_ENOTFOUND : BASE_EIO,
                       "%s: HTTP %ld %.*s", url, status,
                       (int)(reply.len < 200 ? reply.len : 200),
                       reply.data != NULL ? (const char *)reply.data : "");
    } else if (base_buf_add(out, reply.data, reply.len) != 0) {
        rv = base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    base_buf_release(&reply);
    return rv;
}

static const struct ord_block_source block_source = {b_fetch};

const struct ord_block_source *gw_block_source(void)
{
    return &block_source;
}

/* The leader did not take envelope @i of @batch: tell this node, whose
 * submitter waits for it. */
static void local_refusal(struct gw_peers *p, const struct base_buf *batch,
                          size_t i, int code, const char *reason)
{
    struct base_rd rd;
    base_rd_init(&rd, batch->data, batch->len);
    for (size_t k = 0; base_rd_left(&rd) > 0; k++) {
        uint32_t len = base_rd_u32(&rd);
        const uint8_t *env = base_rd_bytes(&rd, len);
        struct lg_tx tx;
        if (env == NULL) {
            return;
        }
        if (k == i && lg_tx_decode(&tx, env, len) == 0) {
            pthread_mutex_lock(&p->lock);
            if (p->r != NULL) {
                ord_raft_refused(p->r, &tx.id, code, reason);
            }
            pthread_mutex_unlock(&p->lock);
            return;
        }
    }
}

/* Envelopes the leader could not queue (its answer lists them). */
static void read_failures(struct gw_peers *p, const struct base_buf *batch,
                          const struct base_buf *reply)
{
    json_t *o = json_loadb((const char *)reply->data, reply->len, 0, NULL);
    json_t *failed = json_object_get(o, "failed");
    size_t k;
    json_t *f;
    json_array_foreach(failed, k, f)
    {
        json_int_t i = json_integer_value(json_object_get(f, "index"));
        json_int_t code = json_integer_value(json_object_get(f, "code"));
        const char *why = json_string_value(json_object_get(f, "reason"));
        if (i >= 0 && code < 0) {
            local_refusal(p, batch, (size_t)i, (int)code, why ? why : "");
        }
    }
    json_decref(o);
}

static void send_batch(struct peer *q, CURL *c, const struct base_buf *batch,
                       size_t n)
{
    struct gw_peers *p = q->p;
    char url[sizeof q->url + 64];
    snprintf(url, sizeof url, "%s/v1/cluster/forward?from=%llu", q->url,
             (unsigned long long)p->self);
    struct base_buf reply;
    base_buf_init(&reply, 0);
    uint64_t t0 = base_mono_ns();
    long status = 0;
    for (;;) {
        status = post(c, url, "application/vnd.gridledger.batch", batch->data,
                      batch->len, &reply);
        if (status == 200) {
            read_failures(p, batch, &reply);
            break;
        }
        BASE_DEBUG(MOD, "node %llu (%s) answered HTTP %ld to %zu forwarded",
                   (unsigned long long)q->id, q->url, status, n);
        pthread_mutex_lock(&p->lock);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop || base_mono_ns() - t0 > RETRY_NS) {
            /* The orderer hands these to the next leader itself. */
            BASE_WARN(MOD,
                      "node %llu (%s) did not take %zu forwarded "
                      "transactions (HTTP %ld)",
                      (unsigned long long)q->id, q->url, n, status);
            break;
        }
        base_sleep_ns(RETRY_SLEEP_NS);
    }
    base_buf_release(&reply);
}

static void send_notices(struct peer *q, CURL *c, json_t *notices)
{
    char url[sizeof q->url + 32];
    snprintf(url, sizeof url, "%s/v1/cluster/refused", q->url);
    json_t *body = json_pack("{s:O}", "notices", notices);
    char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct base_buf reply;
    base_buf_init(&reply, 0);
    long status =
        s ? post(c, url, "application/json", s, strlen(s), &reply) : 0;
    if (status != 200) {
        /* Its submitters time out instead (docs/cluster.md). */
        BASE_WARN(MOD, "cannot tell node %llu (%s) of %zu refusals (HTTP %ld)",
                  (unsigned long long)q->id, q->url, json_array_size(notices),
                  status);
    }
    base_buf_release(&reply);
    free(s);
}

static void *peer_main(void *arg)
{
    struct peer *q = arg;
    struct gw_peers *p = q->p;
    CURL *c = curl_easy_init();
    struct base_buf batch;
    base_buf_init(&batch, 0);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && q->nfwd == 0 && q->notices == NULL) {
            pthread_cond_wait(&p->cv, &p->lock);
        }
        if (q->nfwd == 0 && q->notices == NULL) {
            break; /* stopping, nothing left */
        }
        /* Take everything queued: the batch grows while one is sent. */
        struct base_buf tmp = batch;
        batch = q->fwd;
        q->fwd = tmp;
        base_buf_reset(&q->fwd);
        size_t n = q->nfwd;
        q->nfwd = 0;
        json_t *notices = q->notices;
        q->notices = NULL;
        pthread_mutex_unlock(&p->lock);
        if (c != NULL && n > 0) {
            send_batch(q, c, &batch, n);
        }
        if (c != NULL && notices != NULL) {
            send_notices(q, c, notices);
        }
        json_decref(notices);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    base_buf_release(&batch);
    if (c != NULL) {
        curl_easy_cleanup(c);
    }
    return NULL;
}

/* The slot for node @id, its URL and thread set up on first use (under
 * the lock). NULL when the node has no known HTTP address. */
static struct peer *peer_get(struct gw_peers *p, uint64_t id)
{
    struct peer *free_slot = NULL;
    for (size_t i = 0; i < ORD_MAX_MEMBERS; i++) {
        if (p->peers[i].id == id) {
            return &p->peers[i];
        }
        if (p->peers[i].id == 0 && free_slot == NULL) {
            free_slot = &p->peers[i];
        }
    }
    if (free_slot == NULL || p->r == NULL) {
        return NULL;
    }
    /* Where its gateway is: the HTTP part of its address in Raft's
     * configuration. */
    struct ord_raft_status *st = base_malloc(sizeof *st);
    if (st == NULL) {
        return NULL;
    }
    ord_raft_status(p->r, st);
    char http[ORD_ADDRESS_MAX] = "";
    for (size_t i = 0; i < st->nmembers; i++) {
        if (st->members[i].id == id) {
            ord_address_split(st->members[i].address, NULL, 0, http,
                              sizeof http);
        }
    }
    base_free(st);
    bool warned = false;
    for (size_t i = 0; i < ORD_MAX_MEMBERS && !warned; i++) {
        warned = p->warned[i] == id;
        if (!warned && p->warned[i] == 0 && http[0] == '\0') {
            p->warned[i] = id; /* once: the orderer retries every tick */
            break;
        }
    }
    if (http[0] == '\0' && !warned) {
        BASE_WARN(MOD,
                  "node %llu has no HTTP address in the cluster list "
                  "(ID@RAFTHOST:PORT/HTTPHOST:PORT)",
                  (unsigned long long)id);
    }
    if (http[0] == '\0') {
        return NULL;
    }
    struct peer *q = free_slot;
    snprintf(q->url, sizeof q->url, "http://%s", http);
    if (!q->started) {
        if (pthread_create(&q->thread, NULL, peer_main, q) != 0) {
            return NULL;
        }
        q->started = true;
    }
    q->id = id;
    return q;
}

/* ---- struct ord_peer_ops --------------------------------------------------
 * Called from the orderer's threads: they only queue, under the lock. */

static int p_attach(void *impl, uint64_t id, struct ord_raft *r)
{
    struct gw_peers *p = impl;
    pthread_mutex_lock(&p->lock);
    int rv = p->r != NULL ? BASE_EEXIST : 0;
    if (rv == 0) {
        p->r = r;
        p->self = id;
    }
    pthread_mutex_unlock(&p->lock);
    return rv;
}

static void p_detach(void *impl, uint64_t id)
{
    struct gw_peers *p = impl;
    pthread_mutex_lock(&p->lock);
    if (p->self == id) {
        p->r = NULL;
    }
    pthread_mutex_unlock(&p->lock);
}

static int p_forward(void *impl, uint64_t from, uint64_t to, const void *tx,
                     size_t len)
{
    (void)from;
    struct gw_peers *p = impl;
    pthread_mutex_lock(&p->lock);
    struct peer *q = p->stop ? NULL : peer_get(p, to);
    int rv = q != NULL ? 0 : BASE_ECLOSED;
    if (q != NULL && q->fwd.len + len + 4 > BATCH_BYTES) {
        rv = BASE_EFULL; /* the sender is that far behind: push back */
    }
    if (rv == 0) {
        rv = base_buf_add_u32(&q->fwd, (uint32_t)len);
        rv = rv ? rv : base_buf_add(&q->fwd, tx, len);
        if (rv == 0) {
            q->nfwd++;
            pthread_cond_broadcast(&p->cv);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rv;
}

static void p_refused(void *impl, uint64_t from, uint64_t to,
                      const struct cr_hash *id, int code, const char *reason)
{
    struct gw_peers *p = impl;
    struct base_buf b;
    base_buf_init(&b, 0);
    uint8_t sig[CR_SIG_SIZE];
    if (refusal_msg(&b, from, to, id, code, reason) != 0) {
        base_buf_release(&b);
        return; /* out of memory: the submitter times out */
    }
    cr_sign(sig, b.data, b.len, &p->key);
    base_buf_release(&b);
    json_t *reason_s = json_string(reason);
    json_t *n =
        json_pack("{s:I, s:I, s:o, s:i, s:o, s:o}", "from", (json_int_t)from,
                  "to", (json_int_t)to, "id", gw_json_hex(id->b, CR_HASH_SIZE),
                  "code", code, "reason", reason_s ? reason_s : json_string(""),
                  "sig", gw_json_hex(sig, CR_SIG_SIZE));
    pthread_mutex_lock(&p->lock);
    struct peer *q = p->stop || n == NULL ? NULL : peer_get(p, to);
    if (q != NULL) {
        if (q->notices == NULL) {
            q->notices = json_array();
        }
        json_array_append(q->notices, n);
        pthread_cond_broadcast(&p->cv);
    }
    /* Under the lock: the peer's thread may already be sending and
     * dropping the array; jansson's count is atomic, but its check for a
     * static value is a plain read that TSan sees race with that free. */
    json_decref(n);
    pthread_mutex_unlock(&p->lock);
}

static const struct ord_peer_ops http_ops = {
    p_attach,
    p_detach,
    p_forward,
    p_refused,
};

const struct ord_peer_ops *gw_peer_ops(void)
{
    return &http_ops;
}
