/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd, routing, limits, keys, replies, logs. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_int.h"

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
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
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

unsigned gw__status_of(int code)
{
    switch (code) {
    case BASE_ENOTFOUND:
    case BASE_ENOCONTRACT:
    case BASE_ENOFUNC:
    case BASE_ENOCHANNEL:
        return 404;
    case BASE_EPERM:
    case BASE_EUNKNOWNCERT:
    case BASE_EEXPIRED:
    case BASE_EBADSIG:
        return 403;
    case BASE_EPARSE:
    case BASE_EINVAL:
    case BASE_EARGS:
        return 400;
    case BASE_ETOOBIG:
        return 413;
    case BASE_EEXIST:
    case BASE_EREPLAY:
        return 409;
    case BASE_EFULL:
    case BASE_ECLOSED:
    case BASE_EBUSY:
        return 503;
    default:
        return code < 0 && code > BASE__ERR_LAST ? 422 : 500;
    }
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

/* The token of "Authorization: Bearer T" or "X-API-Key: T", or NULL. */
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

/* Checks made once the headers are in: route, key, size, type. Returns
 * MHD_YES with nothing queued when the request may go on. */
static enum MHD_Result admit(struct gw_server *g, struct gw_req *r)
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
    const char *token = gw__token(r->conn);
    bool need = (rt->flags & R_KEY) != 0;
    if (token != NULL && !(rt->flags & R_PUBLIC)) {
        const char *why = "";
        int rv = gw__keys_check(&g->keys, token, &r->key, NULL, NULL, &why);
        if (rv != 0) {
            return gw__error(r, 401, "unauthorized", "API key refused: %s",
                             why);
        }
        r->have_key = true;
        if ((rt->flags & R_WRITE) && r->key.read_only) {
            return gw__error(r, 403, "forbidden",
                             "key %s is read-only; %s %s writes", r->key.id,
                             r->method, rt->info.path);
        }
    } else if (need) {
        return gw__error(r, 401, "unauthorized",
                         "%s needs an API key (Authorization: Bearer KEY)",
                         rt->info.path);
    } else if ((rt->flags & R_PEER) && g->opt.require_key) {
        /* Another node's read of the blocks, signed with the orderer
         * key (docs/cluster.md). */
        const char *peer = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                       GW_PEER_HEADER);
        if (peer != NULL) {
            enum MHD_Result a = gw__peer_admit(g, r, peer);
            if (a != MHD_YES || r->status != 0) {
                return a;
            }
        }
    }
    if (!r->have_key && g->opt.require_key && !(rt->flags & R_PUBLIC) &&
        strcmp(rt->info.path, "/v1/tx") != 0 &&
        strcmp(rt->info.path, "/v1/evaluate") != 0) {
        /* Signed envelopes authenticate themselves; everything else needs
         * a key on a node run with --require-key. */
        return gw__error(r, 401, "unauthorized",
                         "this node requires an API key on %s", rt->info.path);
    }
    if (rt->flags & R_BODY) {
        const char *cl = MHD_lookup_connection_value(
            r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t len;
        if (cl != NULL && base_parse_u64(cl, &len) == 0 &&
            len > g->opt.max_body) {
            return gw__error(r, 413, "too_big",
                             "body of %llu bytes is over the limit of %zu",
                             (unsigned long long)len, g->opt.max_body);
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
        enum MHD_Result a = admit(g, r);
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
            if (r->body.len + *upload_size > g->opt.max_body ||
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
        return gw__error(r, 413, "too_big", "body is over the limit of %zu",
                         g->opt.max_body);
    }
    return gw__route_table[r->route].fn(g, r);
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
    (void)c;
    struct gw_server *g = cls;
    struct gw_req *r = *con_cls;
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
    pthread_cond_destroy(&g->tick_cv);
    pthread_mutex_destroy(&g->done_lock);
    pthread_cond_destroy(&g->done_cv);
    if (g->tls_key != NULL) {
        cr_wipe(g->tls_key, strlen(g->tls_key));
    }
    base_free(g->tls_cert);
    base_free(g->tls_key);
    cr_wipe(&g->scratch, sizeof g->scratch);
    base_free(g);
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
    g->opt.tls_cert = g->opt.tls_key = NULL;
    if (g->opt.max_body == 0) {
        g->opt.max_body = 8u << 20;
    }
    if (g->opt.max_connections == 0) {
        g->opt.max_connections = 1000;
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
    int rv = 0;
    if ((opt->tls_cert != NULL) != (opt->tls_key != NULL)) {
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
    uint8_t seed[32] = {0};
    cr_keygen_seed(&g->scratch, seed);
    pthread_mutex_init(&g->keys.lock, NULL);
    g->keys.path = opt->keys_path;
    g->keys.identity = opt->identity;
    g->keys.identity_arg = opt->identity_arg;
    pthread_mutex_init(&g->sse_lock, NULL);
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
        MHD_OPTION_CONNECTION_LIMIT, g->opt.max_connections,
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
