/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd, routing, limits, keys, replies, logs. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_int.h"
#include "market/market.h"

#define MOD "gateway"

/* ---- replies ------------------------------------------------------------ */

enum MHD_Result gw__reply(struct gw_req *r, unsigned status,
                          const char *content_type, struct base_buf *body)
{
    size_t len = 0;
    uint8_t *p = body != NULL ? base_buf_take(body, &len) : NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, p, base_free);
    if (resp == NULL) {
        base_free(p);
        return MHD_NO;
    }
    if (content_type != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && r->route < gw__nroutes) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                gw__route_table[r->route].info.method);
    }
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE ||
        status == MHD_HTTP_TOO_MANY_REQUESTS) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    if (r->close) {
        /* Nothing more is read from this connection. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    r->status = status;
    enum MHD_Result rv = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return rv;
}

enum MHD_Result gw__reply_json(struct gw_req *r, unsigned status, json_t *o)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    char *s =
        o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s == NULL || base_buf_add_str(&b, s) != 0 ||
        base_buf_add_u8(&b, '\n') != 0) {
        free(s);
        /* The answer could not be built (out of memory, or bytes jansson
         * refuses): say so rather than close the connection unanswered. */
        static const char msg[] = "{\"error\":\"internal\",\"reason\":"
                                  "\"cannot encode the answer as JSON\"}\n";
        base_buf_reset(&b);
        if (base_buf_add(&b, msg, sizeof msg - 1) != 0) {
            base_buf_release(&b);
            r->status = 500;
            return MHD_NO;
        }
        return gw__reply(r, 500, "application/json", &b);
    }
    free(s);
    return gw__reply(r, status, "application/json", &b);
}

enum MHD_Result gw__error(struct gw_req *r, unsigned status, const char *error,
                          const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    /* Reasons may quote client bytes: keep the JSON valid whatever they
     * hold. */
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(error));
    json_t *rs = json_string(reason);
    json_object_set_new(o, "reason", rs ? rs : json_string("(not UTF-8)"));
    return gw__reply_json(r, status, o);
}

/* The one table from the codes of src/base/err.h to HTTP statuses, for
 * every route (docs/api.md, "Errors"): what the caller got wrong is a 4xx,
 * what failed on the node is a 500, and a node that cannot take the
 * request now (queue full, stopping, disk full, refusing writes, timed
 * out) is a 503 with Retry-After. EABORTED, ENOCONVERGE and ESINGULAR say
 * a contract or its computation failed on the request's data: 422.
 * ENOTLEADER: membership changes go to the leader (docs/cluster.md). */
#define GW_STATUS_MAP(X)                                                       \
    X(ENOMEM, 500)                                                             \
    X(EINVAL, 400)                                                             \
    X(ENOTFOUND, 404)                                                          \
    X(EEXIST, 409)                                                             \
    X(EIO, 500)                                                                \
    X(ECORRUPT, 500)                                                           \
    X(ETOOBIG, 413)                                                            \
    X(EPARSE, 400)                                                             \
    X(EPERM, 403)                                                              \
    X(EBADSIG, 403)                                                            \
    X(EEXPIRED, 403)                                                           \
    X(EUNKNOWNCERT, 403)                                                       \
    X(EREPLAY, 409)                                                            \
    X(ENOCONTRACT, 404)                                                        \
    X(ENOFUNC, 404)                                                            \
    X(EABORTED, 422)                                                           \
    X(ECLOSED, 503)                                                            \
    X(ETIMEDOUT, 503)                                                          \
    X(EFULL, 503)                                                              \
    X(EBUSY, 503)                                                              \
    X(ENOCONVERGE, 422)                                                        \
    X(ESINGULAR, 422)                                                          \
    X(EUNSUPPORTED, 400)                                                       \
    X(ENOSPC, 503)                                                             \
    X(EPANIC, 503)                                                             \
    X(ENOCHANNEL, 404)                                                         \
    X(EARGS, 400)                                                              \
    X(ENOTLEADER, 409)

#define GW__STATUS_ENTRY(name, status) [-BASE_##name] = (status),
/* A term of a sum, so not parenthesised on its own. */
#define GW__STATUS_COUNT(name, status)                                         \
    +1 /* NOLINT(bugprone-macro-parentheses) */
static const unsigned short http_status[-BASE__ERR_LAST] = {
    GW_STATUS_MAP(GW__STATUS_ENTRY)};
/* A code appended to err.h without its line above stops the build: the
 * table names each code once (a repeat is a -Woverride-init warning), so
 * as many lines as codes means every code is there. */
_Static_assert(0 GW_STATUS_MAP(GW__STATUS_COUNT) == -BASE__ERR_LAST - 1,
               "every code of src/base/err.h needs its HTTP status here");

unsigned gw_http_status(int code)
{
    if (code <= BASE__ERR_LAST || code >= 0) {
        return 500; /* not a code of err.h: the node's own failure */
    }
    unsigned s = http_status[-code];
    return s != 0 ? s : 500;
}

unsigned gw__status_of(int code)
{
    return gw_http_status(code);
}

/* ---- small helpers ---------------------------------------------------- */

/* Percent-decode @n bytes of @s into new memory; NULL on a bad escape or
 * an embedded NUL, which no name, key or id may hold. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = base_malloc(n + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            char hex[3] = {0};
            uint8_t byte = 0;
            if (i + 2 < n + 1) {
                memcpy(hex, s + i + 1, 2);
            }
            if (base_hex_decode(&byte, 1, hex) != 0 || byte == 0) {
                base_free(out);
                return NULL;
            }
            c = (char)byte;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

const char *gw__arg(struct gw_req *r, const char *name, char *out, size_t size)
{
    const char *v =
        MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v == NULL) {
        return NULL;
    }
    char *d = pct_decode(v, strlen(v));
    if (d == NULL) {
        return NULL;
    }
    snprintf(out, size, "%s", d);
    base_free(d);
    return out;
}

json_t *gw__body_json(struct gw_req *r)
{
    json_error_t err;
    json_t *o = json_loadb((const char *)r->body.data, r->body.len,
                           JSON_REJECT_DUPLICATES, &err);
    if (o == NULL) {
        gw__error(r, 400, "malformed_json", "body is not JSON: %s (line %d)",
                  err.text, err.line);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        gw__error(r, 400, "malformed_json", "body must be a JSON object");
        return NULL;
    }
    return o;
}

/* ---- routing ------------------------------------------------------------ */

/* Match @path against the route's template; parameters are percent-decoded
 * into r->params. A template ending in "{key}" takes the rest of the path,
 * so state keys may hold slashes ("bid/U1") either raw or as %2F. Returns
 * 1 on a match, 0 on none, -1 on a malformed escape. */
static int match(const char *tmpl, const char *path, char **params)
{
    size_t np = 0;
    while (*tmpl != '\0' && *path != '\0') {
        if (*tmpl == '{') {
            const char *close = strchr(tmpl, '}');
            bool rest = strncmp(tmpl, "{key}", 5) == 0 && close[1] == '\0';
            const char *end = rest ? path + strlen(path) : strchr(path, '/');
            if (end == NULL) {
                end = path + strlen(path);
            }
            if (end == path || np >= GW_MAX_PARAMS) {
                return 0;
            }
            params[np] = pct_decode(path, (size_t)(end - path));
            if (params[np++] == NULL) {
                return -1;
            }
            tmpl = close + 1;
            path = end;
            continue;
        }
        if (*tmpl != *path) {
            return 0;
        }
        tmpl++;
        path++;
    }
    return *tmpl == '\0' && *path == '\0';
}

static void free_params(struct gw_req *r)
{
    for (size_t i = 0; i < GW_MAX_PARAMS; i++) {
        base_free(r->params[i]);
        r->params[i] = NULL;
    }
}

/* Find the route: r->route is set to the match, and the return says what
 * to answer if there is none (0: found, 404, 405, 400). */
static unsigned route(struct gw_req *r)
{
    unsigned miss = 404;
    r->route = gw__nroutes;
    for (size_t i = 0; i < gw__nroutes; i++) {
        const struct gw_route *rt = &gw__route_table[i];
        int m = match(rt->info.path, r->url, r->params);
        if (m < 0) {
            free_params(r);
            return 400;
        }
        if (m == 0) {
            free_params(r);
            continue;
        }
        if (strcmp(rt->info.method, r->method) == 0) {
            r->route = i;
            return 0;
        }
        free_params(r);
        miss = 405;
        r->route = i; /* for the Allow header */
    }
    if (miss == 404) {
        r->route = gw__nroutes;
    }
    return miss;
}

/* The token of "Authorization: Bearer T" or "X-API-Key: T", or NULL.
 * admit() has checked that every credential the request carries names
 * this same key, so the first one found stands for all. */
const char *gw__token(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
        return a + 7;
    }
    if (a != NULL) {
        return a; /* malformed: refused as a bad key */
    }
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
}

/* ---- framing and credentials -------------------------------------------
 * What the headers say about where the body ends, and who is asking, read
 * once from every header line (libmicrohttpd's lookups return only the
 * first of a repeated header, so a second one would go unseen). */

#define GW_MAX_CREDS 4

struct hdr_scan {
    unsigned ncl, nte, npeer, ncred;
    const char *cl, *te, *peer;
    const char *bad_name; /* a header name that is not an HTTP token */
    /* Each API key sent, and the header it came in. */
    const char *cred[GW_MAX_CREDS];
    const char *cred_from[GW_MAX_CREDS];
};

static bool is_token(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c))) {
            return false;
        }
    }
    return true;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    (void)kind;
    struct hdr_scan *h = cls;
    if (value == NULL) {
        value = "";
    }
    if (!is_token(key)) {
        h->bad_name = key;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        h->ncl++;
        h->cl = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        h->nte++;
        h->te = value;
    } else if (strcasecmp(key, GW_PEER_HEADER) == 0) {
        h->npeer++;
        h->peer = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0 ||
               strcasecmp(key, "X-API-Key") == 0) {
        if (h->ncred < GW_MAX_CREDS) {
            bool auth = strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0;
            h->cred[h->ncred] = value;
            h->cred_from[h->ncred] = auth ? "Authorization" : "X-API-Key";
        }
        h->ncred++;
    }
    return MHD_YES;
}

/* A Content-Length that is a plain decimal number, nothing else. */
static bool plain_decimal(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 19) {
        return false;
    }
    return strspn(s, "0123456789") == n;
}

/* Refuse a request whose body's end is not certain (RFC 9112 6.3): a
 * proxy in front may frame it differently, and what it takes for the rest
 * of the body this server would take for the next request (request
 * smuggling). The answer closes the connection, so nothing after it on
 * the connection is read as a request. Returns the reason, or NULL when
 * the framing is clear. */
static const char *framing_error(const struct hdr_scan *h)
{
    if (h->bad_name != NULL) {
        return "a header name is not an HTTP token (no spaces, no "
               "separators, nothing before the colon but the name)";
    }
    if (h->ncl > 1) {
        return "more than one Content-Length header";
    }
    if (h->nte > 1) {
        return "more than one Transfer-Encoding header";
    }
    if (h->ncl == 1 && h->nte == 1) {
        return "both Content-Length and Transfer-Encoding: send one";
    }
    if (h->nte == 1 && strcasecmp(h->te, "chunked") != 0) {
        return "Transfer-Encoding must be exactly 'chunked' (no other "
               "coding is taken)";
    }
    if (h->ncl == 1 && !plain_decimal(h->cl)) {
        return "Content-Length must be a plain decimal number";
    }
    return NULL;
}

/* The key an Authorization or X-API-Key header carries, or NULL when the
 * Authorization header is not "Bearer TOKEN". */
static const char *cred_token(const char *value, const char *from)
{
    if (strcmp(from, "Authorization") != 0) {
        return value;
    }
    return strncasecmp(value, "Bearer ", 7) == 0 ? value + 7 : NULL;
}

/* Check every API key the request carries: one that fails fails the
 * request (a revoked key next to a valid one is still refused), and two
 * that name different keys are refused as ambiguous, since either could
 * be the one meant. On success r->key and r->have_key are set. Returns
 * MHD_YES with nothing queued when the request may go on. */
static enum MHD_Result check_creds(struct gw_server *g, struct gw_req *r,
                                   const struct hdr_scan *h)
{
    if (h->ncred > GW_MAX_CREDS) {
        return gw__error(r, 400, "ambiguous_credentials",
                         "%u API key headers: send one", h->ncred);
    }
    struct gw_key first;
    memset(&first, 0, sizeof first);
    for (unsigned i = 0; i < h->ncred; i++) {
        const char *token = cred_token(h->cred[i], h->cred_from[i]);
        if (token == NULL) {
            return gw__error(r, 401, "unauthorized",
                             "Authorization header is not 'Bearer KEY'");
        }
        const char *why = "";
        struct gw_key k;
        if (gw__keys_check(&g->keys, token, &k, NULL, NULL, &why) != 0) {
            return gw__error(r, 401, "unauthorized",
                             "API key refused (%s header): %s", h->cred_from[i],
                             why);
        }
        if (i == 0) {
            first = k;
        } else if (strcmp(first.id, k.id) != 0) {
            return gw__error(r, 400, "ambiguous_credentials",
                             "the %s and %s headers carry two different "
                             "API keys (%s, %s): send one",
                             h->cred_from[0], h->cred_from[i], first.id, k.id);
        }
    }
    if (h->ncred > 0) {
        r->key = first;
        r->have_key = true;
    }
    return MHD_YES;
}

/* Does the request's Content-Type (without parameters) appear in the
 * space-separated list @types? */
static bool type_ok(struct MHD_Connection *c, const char *types)
{
    if (types == NULL) {
        return true;
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL) {
        return false;
    }
    size_t n = strcspn(ct, "; ");
    for (const char *t = types; *t != '\0';) {
        size_t tl = strcspn(t, " ");
        if (tl == n && strncasecmp(t, ct, n) == 0) {
            return true;
        }
        t += tl;
        while (*t == ' ') {
            t++;
        }
    }
    return false;
}

/* Is this request beyond the request pool? Streams have their own pool
 * and the reserved connections are for health, readiness and metrics:
 * those always go on, so a node full of connections still says how it
 * is. */
static bool over_pool(struct gw_server *g, const struct gw_route *rt)
{
    if (rt->fn == gw__h_events || strcmp(rt->info.path, "/healthz") == 0 ||
        strcmp(rt->info.path, "/readyz") == 0 ||
        strcmp(rt->info.path, "/metrics") == 0) {
        return false;
    }
    /* m.streams, not the pool's count under sse_lock: no request waits
     * for the lock while the ticker wakes every stream. */
    unsigned open = atomic_load(&g->conns);
    unsigned streams = (unsigned)atomic_load(&g->m.streams);
    return open > streams && open - streams > g->opt.max_connections;
}

/* The body limit of route @rt: --max-body, and for an off-chain record
 * the store's own limit (a record it would refuse is refused before it is
 * read). */
static size_t body_limit(const struct gw_server *g, const struct gw_route *rt)
{
    if (strcmp(rt->info.path, "/v1/offchain") == 0 &&
        KV_OFFCHAIN_MAX_RECORD < g->opt.max_body) {
        return KV_OFFCHAIN_MAX_RECORD;
    }
    return g->opt.max_body;
}

static const char *limit_note(const struct gw_route *rt)
{
    return strcmp(rt->info.path, "/v1/offchain") == 0
               ? " (an off-chain record is at most 256 KiB)"
               : "";
}

/* Run @r's handler unless the gateway is stopping. After gw_quiesce the
 * caller stops ordering and frees the orderer, while libmicrohttpd still
 * serves the connections that were open (until gw_free): a request on a
 * kept-alive connection must not reach the orderer then. A handler counts
 * itself in before it looks at the flag and gw_quiesce sets the flag
 * before it waits for the count (both sequentially consistent), so either
 * the handler sees the flag or gw_quiesce waits for it. Liveness and
 * readiness use no orderer and still answer. */
static enum MHD_Result run_handler(struct gw_server *g, struct gw_req *r)
{
    const struct gw_route *rt = &gw__route_table[r->route];
    if (strcmp(rt->info.path, "/healthz") == 0 ||
        strcmp(rt->info.path, "/readyz") == 0) {
        return rt->fn(g, r);
    }
    atomic_fetch_add(&g->in_handlers, 1);
    if (atomic_load(&g->stopping)) {
        atomic_fetch_sub(&g->in_handlers, 1);
        r->close = true;
        return gw__error(r, 503, "stopping", "the node is shutting down");
    }
    enum MHD_Result rv = rt->fn(g, r);
    atomic_fetch_sub(&g->in_handlers, 1);
    return rv;
}

/* Checks made once the headers are in: route, key, size, type. Returns
 * MHD_YES with nothing queued when the request may go on. */
static enum MHD_Result admit(struct gw_server *g, struct gw_req *r,
                             const struct hdr_scan *h)
{
    unsigned miss = route(r);
    if (miss == 404) {
        return gw__error(r, 404, "not_found", "no route %s %s", r->method,
                         r->url);
    }
    if (miss == 405) {
        return gw__error(r, 405, "method_not_allowed",
                         "%s is not allowed on %s", r->method, r->url);
    }
    if (miss == 400) {
        return gw__error(r, 400, "bad_request",
                         "malformed percent-escape in the path");
    }
    const struct gw_route *rt = &gw__route_table[r->route];
    if (over_pool(g, rt)) {
        r->close = true; /* and give the slot back */
        return gw__error(r, 503, "busy",
                         "every request slot is taken (%u connections "
                         "open, --max-connections %u); try again shortly",
                         atomic_load(&g->conns), g->opt.max_connections);
    }
    /* Public routes (health, metrics, pages, the peers' signed routes)
     * look at no credential, so a probe with a stale key still sees the
     * node's health. */
    if (!(rt->flags & R_PUBLIC)) {
        if (h->npeer > 0 && h->ncred > 0) {
            return gw__error(r, 400, "ambiguous_credentials",
                             "both an API key and %s: send one",
                             GW_PEER_HEADER);
        }
        if (h->npeer > 1) {
            return gw__error(r, 400, "ambiguous_credentials",
                             "more than one %s header", GW_PEER_HEADER);
        }
        if (h->npeer == 1 && !(rt->flags & R_PEER)) {
            return gw__error(r, 401, "unauthorized",
                             "%s is taken only on GET /v1/blocks and "
                             "/v1/blocks/{n}",
                             GW_PEER_HEADER);
        }
        enum MHD_Result a = check_creds(g, r, h);
        if (a != MHD_YES || r->status != 0) {
            return a;
        }
        if (h->npeer == 1) {
            /* Another node's read of the blocks, signed with the orderer
             * key (docs/cluster.md): checked whenever sent. */
            a = gw__peer_admit(g, r, h->peer);
            if (a != MHD_YES || r->status != 0) {
                return a;
            }
        }
    }
    if (r->have_key && (rt->flags & R_WRITE) && r->key.read_only) {
        return gw__error(r, 403, "forbidden",
                         "key %s is read-only; %s %s writes", r->key.id,
                         r->method, rt->info.path);
    }
    if (!r->have_key && (rt->flags & R_KEY)) {
        return gw__error(r, 401, "unauthorized",
                         "%s needs an API key (Authorization: Bearer KEY)",
                         rt->info.path);
    }
    bool self_signed = (rt->flags & R_SIGNED) &&
                       ((rt->flags & R_BODY) ||
                        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                    MK_READ_HEADER) != NULL);
    if (!r->have_key && g->opt.require_key && !(rt->flags & R_PUBLIC) &&
        !self_signed) {
        /* Signed envelopes and signed reads authenticate themselves (the
         * handler checks them); everything else needs a key on a node run
         * with --require-key. */
        return gw__error(r, 401, "unauthorized",
                         "this node requires an API key on %s", rt->info.path);
    }
    if (rt->flags & R_BODY) {
        const char *cl = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t len;
        if (cl != NULL && base_parse_u64(cl, &len) == 0 &&
            len > body_limit(g, rt)) {
            return gw__error(r, 413, "too_big",
                             "body of %llu bytes is over the limit of %zu%s",
                             (unsigned long long)len, body_limit(g, rt),
                             limit_note(rt));
        }
        if (!type_ok(r->conn, rt->types)) {
            const char *ct = MHD_lookup_connection_value(
                r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
            return gw__error(r, 415, "unsupported_media_type",
                             "Content-Type '%s' is not one of: %s",
                             ct ? ct : "(none)", rt->types);
        }
    }
    return MHD_YES;
}

/* The connection's record (on_connection), or NULL. */
static struct gw_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct gw_server *g = cls;
    struct gw_req *r = *con_cls;
    if (r == NULL) {
        r = base_calloc(1, sizeof *r);
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        r->g = g;
        r->conn = c;
        r->url = url;
        r->method = method;
        r->t0 = base_mono_ns();
        base_buf_init(&r->body, 0);
        r->route = gw__nroutes;
        struct gw_conn *k = conn_of(c);
        if (k != NULL) {
            atomic_store(&k->in_request, true);
        }
        struct hdr_scan h;
        memset(&h, 0, sizeof h);
        MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &h);
        const char *bad = framing_error(&h);
        if (bad != NULL) {
            r->close = true;
            return gw__error(r, 400, "bad_framing", "%s", bad);
        }
        enum MHD_Result a = admit(g, r, &h);
        if (a != MHD_YES || r->status != 0) {
            return a;
        }
        r->state = RQ_BODY;
        return MHD_YES;
    }
    if (r->status != 0 && r->state != RQ_WAITING) {
        *upload_size = 0; /* answered already: drop the rest */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        uint64_t limit = (uint64_t)g->opt.request_timeout_s * 1000000000u;
        if (base_mono_ns() - r->t0 > limit) {
            /* A body trickling in slower than the limit: drop the
             * connection rather than hold a slot for it. */
            BASE_WARN(MOD, "closing %s %s: body not in after %u s", method, url,
                      g->opt.request_timeout_s);
            return MHD_NO;
        }
        if (!r->too_big) {
            if (r->body.len + *upload_size >
                    body_limit(g, &gw__route_table[r->route]) ||
                base_buf_add(&r->body, upload, *upload_size) != 0) {
                r->too_big = true;
                base_buf_release(&r->body);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->state == RQ_WAITING) {
        if (r->ready == NULL) { /* a cluster add prepares its own */
            gw__prepare_results(r);
        }
        struct MHD_Response *resp = r->ready;
        r->ready = NULL;
        if (resp == NULL) {
            return gw__error(r, 500, "internal", "no answer was prepared");
        }
        enum MHD_Result rv = MHD_queue_response(c, r->status, resp);
        MHD_destroy_response(resp);
        return rv;
    }
    if (r->too_big) {
        const struct gw_route *rt = &gw__route_table[r->route];
        return gw__error(r, 413, "too_big", "body is over the limit of %zu%s",
                         body_limit(g, rt), limit_note(rt));
    }
    return run_handler(g, r);
}

static void access_log(struct gw_server *g, struct gw_req *r)
{
    double ms = (double)(base_mono_ns() - r->t0) / 1e6;
    json_t *o = json_object();
    char when[40];
    uint64_t now = base_wall_ns();
    time_t secs = (time_t)(now / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    char ts[48];
    snprintf(ts, sizeof ts, "%s.%03uZ", when,
             (unsigned)(now / 1000000u % 1000u));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string("info"));
    json_object_set_new(o, "mod", json_string(MOD));
    json_object_set_new(o, "msg", json_string("request"));
    json_object_set_new(o, "method", json_string(r->method));
    json_t *p = json_string(r->url);
    json_object_set_new(o, "path", p ? p : json_string("?"));
    json_object_set_new(o, "route",
                        json_string(r->route < gw__nroutes
                                        ? gw__route_table[r->route].info.path
                                        : "unmatched"));
    json_object_set_new(o, "status", json_integer(r->status));
    json_object_set_new(o, "ms", json_real(ms));
    if (r->have_key) {
        json_object_set_new(o, "key", json_string(r->key.id));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(6));
    json_decref(o);
    if (s != NULL) {
        size_t n = strlen(s);
        s[n] = '\n';
        /* One write per line, so lines from threads never interleave. */
        fwrite(s, 1, n + 1, stderr);
        free(s);
    }
    (void)g;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct gw_server *g = cls;
    struct gw_req *r = *con_cls;
    struct gw_conn *k = conn_of(c);
    if (k != NULL) {
        /* The next request's head is timed from now. */
        atomic_store(&k->since, base_mono_ns());
        atomic_store(&k->in_request, false);
    }
    if (r == NULL) {
        return;
    }
    *con_cls = NULL;
    if (r->status == 0 && toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        r->status = 408;
    }
    gw__metrics_http(&g->m, r->route, r->status ? r->status : 499);
    if (g->opt.access_log) {
        access_log(g, r);
    }
    if (r->ready != NULL) {
        MHD_destroy_response(r->ready);
    }
    free_params(r);
    base_buf_release(&r->body);
    base_free(r->res);
    base_free(r->subs);
    base_free(r);
}

/* Count the connections open, for the request pool (over_pool), and keep
 * them on the list the slow-loris reaper walks. */
static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct gw_server *g = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&g->conns, 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct gw_conn *k = ci != NULL ? base_calloc(1, sizeof *k) : NULL;
        *socket_ctx = k;
        if (k == NULL) {
            return; /* not reaped: the idle timeout still applies */
        }
        k->fd = ci->connect_fd;
        atomic_init(&k->since, base_mono_ns());
        atomic_init(&k->in_request, false);
        pthread_mutex_lock(&g->conn_lock);
        k->next = g->conn_list;
        if (k->next != NULL) {
            k->next->prev = k;
        }
        g->conn_list = k;
        pthread_mutex_unlock(&g->conn_lock);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&g->conns, 1);
        struct gw_conn *k = *socket_ctx;
        *socket_ctx = NULL;
        if (k == NULL) {
            return;
        }
        pthread_mutex_lock(&g->conn_lock);
        if (k->prev != NULL) {
            k->prev->next = k->next;
        } else {
            g->conn_list = k->next;
        }
        if (k->next != NULL) {
            k->next->prev = k->prev;
        }
        pthread_mutex_unlock(&g->conn_lock);
        base_free(k);
    }
}

/* A head trickling in a byte at a time is never idle long enough for the
 * idle timeout, and libmicrohttpd has no deadline for it: a client could
 * hold a slot for days (slow-loris). A connection gets the idle timeout
 * to start a request and the request timeout to finish its head; past
 * both, its socket is shut down (libmicrohttpd then reads the end and
 * closes it; the descriptor stays libmicrohttpd's). */
void gw__reap_slow(struct gw_server *g)
{
    unsigned secs = g->opt.idle_timeout_s + g->opt.request_timeout_s;
    uint64_t limit = (uint64_t)secs * 1000000000u;
    uint64_t now = base_mono_ns();
    unsigned reaped = 0;
    pthread_mutex_lock(&g->conn_lock);
    for (struct gw_conn *k = g->conn_list; k != NULL; k = k->next) {
        if (!atomic_load(&k->in_request) &&
            now - atomic_load(&k->since) > limit) {
            shutdown(k->fd, SHUT_RDWR);
            atomic_store(&k->since, now); /* once is enough */
            reaped++;
        }
    }
    pthread_mutex_unlock(&g->conn_lock);
    if (reaped > 0) {
        BASE_WARN(MOD,
                  "closed %u connections that sent no whole request head "
                  "within %u s",
                  reaped, secs);
    }
}

/* libmicrohttpd's format and arguments: the attribute lets the compiler
 * check the forwarding (clang's -Wformat-nonliteral). */
static void mhd_log(void *cls, const char *fmt, va_list ap) BASE_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    BASE_DEBUG(MOD, "libmicrohttpd: %s", msg);
}

/* Identity unescaper: the router decodes each path segment itself, so that
 * %2F inside a key is not taken for a separator. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* ---- resuming answered submissions ----------------------------------------
 */

void gw__resume_later(struct gw_req *r)
{
    struct gw_server *g = r->g;
    pthread_mutex_lock(&g->done_lock);
    bool wake = g->done_head == NULL;
    r->next_done = g->done_head;
    g->done_head = r;
    if (wake) {
        pthread_cond_signal(&g->done_cv);
    }
    pthread_mutex_unlock(&g->done_lock);
}

void *gw__resumer_main(void *arg)
{
    struct gw_server *g = arg;
    pthread_mutex_lock(&g->done_lock);
    for (;;) {
        while (g->done_head == NULL && !g->resumer_stop) {
            pthread_cond_wait(&g->done_cv, &g->done_lock);
        }
        struct gw_req *r = g->done_head;
        g->done_head = NULL;
        if (r == NULL) {
            break; /* stopping, and nothing left */
        }
        pthread_mutex_unlock(&g->done_lock);
        while (r != NULL) {
            struct gw_req *next = r->next_done;
            MHD_resume_connection(r->conn);
            r = next;
        }
        pthread_mutex_lock(&g->done_lock);
    }
    pthread_mutex_unlock(&g->done_lock);
    return NULL;
}

/* ---- the ledger subscription --------------------------------------------- */

static void on_block(void *arg, struct lg_channel *ch,
                     const struct lg_header *h, const struct lg_outcome *out,
                     size_t n)
{
    struct gw_server *g = arg;
    (void)h;
    if (ch != g->ch) {
        return;
    }
    atomic_fetch_add(&g->m.blocks, 1);
    gw__metrics_committed(&g->m, out, n);
    gw__sse_on_block(g);
}

static void on_event(void *arg, const struct lg_event *e)
{
    struct gw_server *g = arg;
    (void)e;
    atomic_fetch_add(&g->m.events, 1);
}

/* ---- lifecycle -------------------------------------------------------- */

/* Free what gw_new made (the daemon and threads are gone by then). */
static void destroy(struct gw_server *g)
{
    gw__keys_release(&g->keys);
    pthread_mutex_destroy(&g->keys.lock);
    pthread_mutex_destroy(&g->sse_lock);
    pthread_mutex_destroy(&g->conn_lock);
    pthread_cond_destroy(&g->tick_cv);
    pthread_mutex_destroy(&g->done_lock);
    pthread_cond_destroy(&g->done_cv);
    if (g->tls_key != NULL) {
        cr_wipe(g->tls_key, strlen(g->tls_key));
    }
    base_free(g->tls_cert);
    base_free(g->tls_key);
    cr_wipe(&g->scratch, sizeof g->scratch);
    base_free(g->clients);
    base_free(g);
}

/* File descriptors kept beyond the connections: the store, the off-chain
 * database, logs, a cluster's Raft sockets and its peers' HTTP. */
#define GW_FD_SPARE 128

/* Each connection is a file descriptor: check the process may open as
 * many as the pools let in, raising its soft limit to fit when the hard
 * limit allows. Limits asked for that do not fit are refused; the
 * defaults shrink to fit, and the log says so. */
static int fd_budget(struct gw_options *o, bool defaults, char *errmsg)
{
    rlim_t need = (rlim_t)o->max_connections + o->max_streams +
                  GW_RESERVED_CONNS + GW_FD_SPARE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 0;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
                          ? need
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            rl = up;
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) {
        return 0;
    }
    if (!defaults) {
        return base_errf(errmsg, BASE_EINVAL,
                         "--max-connections %u and --max-streams %u need %llu "
                         "file descriptors, and this process may open %llu "
                         "(ulimit -n): lower them or raise the limit",
                         o->max_connections, o->max_streams,
                         (unsigned long long)need,
                         (unsigned long long)rl.rlim_cur);
    }
    rlim_t room = rl.rlim_cur > GW_FD_SPARE + GW_RESERVED_CONNS + 16
                      ? rl.rlim_cur - GW_FD_SPARE - GW_RESERVED_CONNS
                      : 16;
    o->max_streams = (unsigned)(room / 5);
    o->max_connections = (unsigned)(room - room / 5);
    BASE_WARN(MOD,
              "only %llu file descriptors (ulimit -n): serving at most %u "
              "connections and %u event streams",
              (unsigned long long)rl.rlim_cur, o->max_connections,
              o->max_streams);
    return 0;
}

int gw_new(struct gw_server **out, struct lg_ledger *l, struct lg_channel *ch,
           struct kv_offchain *off, const struct gw_options *opt, char *errmsg)
{
    struct gw_server *g = base_calloc(1, sizeof *g);
    if (g == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    g->ledger = l;
    g->ch = ch;
    g->off = off;
    g->opt = *opt;
    sc_registry_init(&g->contracts);
    if (sc_register_builtin(&g->contracts) != 0) {
        base_free(g);
        return base_errf(errmsg, BASE_EINVAL, "cannot list the contracts");
    }
    g->opt.tls_cert = g->opt.tls_key = NULL;
    if (g->opt.max_body == 0) {
        g->opt.max_body = 8u << 20;
    }
    if (g->opt.max_connections == 0) {
        g->opt.max_connections = 1000;
    }
    if (g->opt.max_streams == 0) {
        g->opt.max_streams = 256;
    }
    if (g->opt.max_streams_per_client == 0) {
        g->opt.max_streams_per_client = 16;
    }
    if (g->opt.idle_timeout_s == 0) {
        g->opt.idle_timeout_s = 30;
    }
    if (g->opt.request_timeout_s == 0) {
        g->opt.request_timeout_s = 30;
    }
    if (g->opt.keepalive_s == 0) {
        g->opt.keepalive_s = 15;
    }
    if (g->opt.threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        g->opt.threads = cores > 0 ? (unsigned)cores : 1;
    }
    if (g->opt.listen == NULL) {
        g->opt.listen = "127.0.0.1:7050";
    }
    int rv = fd_budget(
        &g->opt, opt->max_connections == 0 && opt->max_streams == 0, errmsg);
    if (rv == 0 && g->opt.max_streams_per_client > g->opt.max_streams) {
        g->opt.max_streams_per_client = g->opt.max_streams;
    }
    g->clients =
        base_calloc(2 * (size_t)g->opt.max_streams, sizeof *g->clients);
    if (rv != 0) {
        /* errmsg says why */
    } else if (g->clients == NULL) {
        rv = base_errf(errmsg, BASE_ENOMEM, "out of memory");
    } else if ((opt->tls_cert != NULL) != (opt->tls_key != NULL)) {
        rv = base_errf(errmsg, BASE_EINVAL,
                       "TLS needs both a certificate and a key");
    } else if (opt->tls_cert != NULL) {
        g->tls_cert = base_strdup(opt->tls_cert);
        g->tls_key = base_strdup(opt->tls_key);
        if (g->tls_cert == NULL || g->tls_key == NULL) {
            rv = base_errf(errmsg, BASE_ENOMEM, "out of memory");
        }
    }
    uint64_t start;
    cr_random(&start, sizeof start);
    atomic_init(&g->nonce, start >> 1);
    atomic_init(&g->conns, 0);
    uint8_t seed[32] = {0};
    cr_keygen_seed(&g->scratch, seed);
    pthread_mutex_init(&g->keys.lock, NULL);
    g->keys.path = opt->keys_path;
    g->keys.identity = opt->identity;
    g->keys.identity_arg = opt->identity_arg;
    pthread_mutex_init(&g->sse_lock, NULL);
    pthread_mutex_init(&g->conn_lock, NULL);
    pthread_cond_init(&g->tick_cv, NULL);
    pthread_mutex_init(&g->done_lock, NULL);
    pthread_cond_init(&g->done_cv, NULL);
    if (rv == 0 && g->keys.path != NULL) {
        rv = gw__keys_load(&g->keys, errmsg);
    }
    if (rv == 0) {
        struct lg_subscriber sub = {g, on_block, on_event};
        rv = lg_subscribe(l, &sub);
        if (rv != 0) {
            base_errf(errmsg, rv, "cannot subscribe to the ledger: %s",
                      base_strerror(rv));
        }
    }
    if (rv != 0) {
        destroy(g);
        return rv;
    }
    *out = g;
    return 0;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss,
                        char *errmsg)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host) {
        return base_errf(errmsg, BASE_EINVAL,
                         "listen address must be HOST:PORT, not '%s'", listen);
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[') { /* [::1]:7050 */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    uint64_t port;
    if (base_parse_u64(colon + 1, &port) != 0 || port > 65535) {
        return base_errf(errmsg, BASE_EINVAL, "bad port in '%s'", listen);
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    int e = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
    if (e != 0 || ai == NULL) {
        return base_errf(errmsg, BASE_EINVAL, "cannot resolve '%s': %s", host,
                         gai_strerror(e));
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

int gw_start(struct gw_server *g, struct ord_orderer *ord, char *errmsg)
{
    g->ord = ord;
    struct sockaddr_storage ss;
    int rv = parse_listen(g->opt.listen, &ss, errmsg);
    if (rv != 0) {
        return rv;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    if (g->tls_cert != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            return base_errf(errmsg, BASE_EUNSUPPORTED,
                             "this libmicrohttpd has no TLS support");
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, g->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, g->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    g->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, g, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, g->opt.threads,
        /* The request pool, the streams' pool, and the slots kept for
         * health (over_pool decides who may use which). */
        MHD_OPTION_CONNECTION_LIMIT,
        g->opt.max_connections + g->opt.max_streams + GW_RESERVED_CONNS,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, g,
        MHD_OPTION_CONNECTION_TIMEOUT, g->opt.idle_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, g,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY,
        g->tls_cert != NULL ? tls : none, MHD_OPTION_END);
    if (g->mhd == NULL) {
        return base_errf(errmsg, BASE_EIO,
                         "cannot listen on %s (address in use, or a bad "
                         "TLS certificate or key)",
                         g->opt.listen);
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(g->mhd, MHD_DAEMON_INFO_BIND_PORT);
    g->port = info != NULL ? info->port : 0;
    if (pthread_create(&g->resumer, NULL, gw__resumer_main, g) != 0) {
        MHD_stop_daemon(g->mhd);
        g->mhd = NULL;
        return base_errf(errmsg, BASE_EIO, "cannot start a thread");
    }
    g->resumer_started = true;
    if (pthread_create(&g->ticker, NULL, gw__ticker_main, g) == 0) {
        g->ticker_started = true;
    }
    BASE_INFO(MOD, "listening on %s://%s (port %u, %u threads)",
              g->tls_cert ? "https" : "http", g->opt.listen, g->port,
              g->opt.threads);
    return 0;
}

uint16_t gw_port(const struct gw_server *g)
{
    return g->port;
}

void gw_quiesce(struct gw_server *g)
{
    if (g == NULL || atomic_exchange(&g->stopping, true)) {
        return;
    }
    /* Handlers that began before the flag finish before ordering stops
     * (run_handler); they do not wait on anything that waits on us. */
    while (atomic_load(&g->in_handlers) != 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (g->mhd != NULL) {
        MHD_socket s = MHD_quiesce_daemon(g->mhd);
        if (s != MHD_INVALID_SOCKET) {
            g->quiesced = s; /* closed by gw_free, after MHD's threads */
            g->have_quiesced = true;
        }
    }
    pthread_mutex_lock(&g->sse_lock);
    pthread_cond_broadcast(&g->tick_cv);
    pthread_mutex_unlock(&g->sse_lock);
    if (g->ticker_started) {
        pthread_join(g->ticker, NULL);
        g->ticker_started = false;
    }
    gw__sse_wake_all(g);
}

void gw_free(struct gw_server *g)
{
    if (g == NULL) {
        return;
    }
    gw_quiesce(g);
    /* Ordering has stopped, so a node being added has its answer. */
    gw__add_join(g);
    /* Ordering has stopped: every answer is in. Resume the last waiting
     * requests, then stop the resumer. */
    if (g->resumer_started) {
        pthread_mutex_lock(&g->done_lock);
        g->resumer_stop = true;
        pthread_cond_signal(&g->done_cv);
        pthread_mutex_unlock(&g->done_lock);
        pthread_join(g->resumer, NULL);
    }
    if (g->mhd != NULL) {
        /* Streams that were woken may still be ending: give them a moment
         * to send their last chunk before the daemon goes. */
        for (int i = 0; i < 100; i++) {
            pthread_mutex_lock(&g->sse_lock);
            bool idle = g->waiting == NULL;
            pthread_mutex_unlock(&g->sse_lock);
            if (idle) {
                break;
            }
            gw__sse_wake_all(g);
            base_sleep_ns(10000000);
        }
        MHD_stop_daemon(g->mhd);
    }
    if (g->have_quiesced) {
        close(g->quiesced);
    }
    destroy(g);
}

size_t gw_routes(const struct gw_route_info **out)
{
    static struct gw_route_info infos[64];
    for (size_t i = 0; i < gw__nroutes && i < 64; i++) {
        infos[i] = gw__route_table[i].info;
    }
    *out = infos;
    return gw__nroutes;
}
