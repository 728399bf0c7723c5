/* SPDX-License-Identifier: MIT */
/* The remote client: the client interface over HTTP to a node's gateway
 * (docs/api.md), on libcurl with kept-alive connections; asynchronous
 * submissions run on the client's own thread through a curl multi handle. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market.h"

#define CT_JSON "application/json"
#define CT_BIN  "application/octet-stream"

/* Idle easy handles kept for synchronous calls; each keeps its own
 * connection to the node alive. */
#define POOL_MAX 16

/* Answers are JSON or records: a cap keeps a broken or hostile node from
 * making the client allocate without bound. */
#define ANSWER_MAX (64u << 20)

#define AUTH_MAX 256 /* "Authorization: Bearer " and the key */

struct job;

struct http_client {
    struct mk_client base;
    char url[512]; /* without a trailing '/' */
    char channel[LG_NAME_MAX + 1];
    char auth[AUTH_MAX];
    char ca_file[1024];
    bool insecure;
    long timeout_s;
    bool signs; /* holds a member key */
    bool keyed; /* holds an API key */
    struct lg_cert cert;
    struct cr_keypair key;
    _Atomic uint64_t nonce;
    struct mk_http_stats *stats;

    pthread_mutex_t mu;
    CURL *pool[POOL_MAX]; /* idle handles for synchronous calls */
    size_t npool;

    /* The asynchronous side: jobs queued by submit_async, moved into the
     * multi handle by the client's thread, which runs them all at once. */
    CURLM *multi;
    pthread_t thread;
    bool started, closing;
    struct job *queue; /* FIFO: head */
    struct job **tail;
    size_t running; /* jobs queued or in the multi handle */
};

struct job {
    struct job *next;
    CURL *easy;
    struct curl_slist *hdrs;
    struct base_buf body, answer;
    mk_done_cb cb;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- one request ------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct base_buf *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > ANSWER_MAX || base_buf_add(b, p, n) != 0) {
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Headers of a request: the key, the body's type, and no "Expect:
 * 100-continue" round trip before a larger body. *@out stays NULL when
 * there are none. */
static int headers(struct http_client *c, const char *ctype, bool body,
                   const char *extra, struct curl_slist **out)
{
    struct curl_slist *h = NULL, *t = NULL;
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : CT_BIN);
    const char *lines[4] = {c->keyed ? c->auth : NULL, body ? ct : NULL,
                            body ? "Expect:" : NULL, extra};
    for (size_t i = 0; i < 4; i++) {
        if (lines[i] == NULL) {
            continue;
        }
        t = curl_slist_append(h, lines[i]);
        if (t == NULL) {
            curl_slist_free_all(h);
            return BASE_ENOMEM;
        }
        h = t;
    }
    *out = h;
    return 0;
}

static int setup(struct http_client *c, CURL *e, const char *method,
                 const char *path, struct curl_slist *hdrs, const void *body,
                 size_t len, struct base_buf *answer, char *errbuf)
{
    char url[1024];
    int n = snprintf(url, sizeof url, "%s%s", c->url, path);
    if (n < 0 || (size_t)n >= sizeof url) {
        return BASE_EINVAL;
    }
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->timeout_s);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->ca_file[0] != '\0') {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    return rc == CURLE_OK ? 0 : BASE_EINVAL;
}

/* A transfer that got no HTTP answer: its code and a reason naming the
 * node. */
static int transport_error(struct http_client *c, CURL *e, CURLcode rc,
                           const char *errbuf, char *errmsg)
{
    long os = 0;
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os);
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return base_errf(errmsg, BASE_EIO, "cannot reach %s: %s", c->url,
                         os ? strerror((int)os) : why);
    case CURLE_OPERATION_TIMEDOUT:
        return base_errf(errmsg, BASE_ETIMEDOUT,
                         "%s did not answer within %ld s", c->url,
                         c->timeout_s);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return base_errf(errmsg, BASE_EINVAL, "bad URL %s: %s", c->url, why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return base_errf(errmsg, BASE_EIO, "TLS with %s failed: %s", c->url,
                         why);
    case CURLE_WRITE_ERROR:
        return base_errf(errmsg, BASE_ETOOBIG,
                         "the answer of %s is too big (over %u bytes)", c->url,
                         ANSWER_MAX);
    default:
        return base_errf(errmsg, BASE_EIO, "%s: %s", c->url, why);
    }
}

static CURL *take_handle(struct http_client *c)
{
    pthread_mutex_lock(&c->mu);
    CURL *e = c->npool > 0 ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->mu);
    if (e != NULL) {
        curl_easy_reset(e); /* options go; the connection stays */
        return e;
    }
    return curl_easy_init();
}

static void give_handle(struct http_client *c, CURL *e)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool < POOL_MAX) {
        c->pool[c->npool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (e != NULL) {
        curl_easy_cleanup(e);
    }
}

/* One request, with the header line @extra too when it is not NULL. */
static int request_x(struct http_client *c, const char *method,
                     const char *path, const char *extra, const char *ctype,
                     const void *body, size_t len, long *status,
                     struct base_buf *out, char *errmsg)
{
    CURL *e = take_handle(c);
    struct curl_slist *h = NULL;
    if (e == NULL || headers(c, ctype, body != NULL, extra, &h) != 0) {
        if (e != NULL) {
            curl_easy_cleanup(e);
        }
        curl_slist_free_all(h);
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    int rv = setup(c, e, method, path, h, body, len, out, errbuf);
    if (rv != 0) {
        rv = base_errf(errmsg, rv, "bad request path %s", path);
    } else {
        CURLcode rc = curl_easy_perform(e);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
            if (c->stats != NULL) {
                atomic_fetch_add(&c->stats->requests, 1);
            }
        } else {
            rv = transport_error(c, e, rc, errbuf, errmsg);
        }
    }
    curl_slist_free_all(h);
    /* A handle whose transfer failed may hold a broken connection; curl
     * drops those itself, so it can go back to the pool either way. */
    give_handle(c, e);
    return rv;
}

static int request(struct http_client *c, const char *method, const char *path,
                   const char *ctype, const void *body, size_t len,
                   long *status, struct base_buf *out, char *errmsg)
{
    return request_x(c, method, path, NULL, ctype, body, len, status, out,
                     errmsg);
}

/* ---- answers ------------------------------------------------------------ */

static int code_by_name(const char *name)
{
    for (int code = -1; code > BASE__ERR_LAST; code--) {
        if (strcmp(base_errname(code), name) == 0) {
            return code;
        }
    }
    return 0;
}

static int code_by_status(long status)
{
    switch (status) {
    case 401:
    case 403:
        return BASE_EPERM;
    case 404:
        return BASE_ENOTFOUND;
    case 409:
        return BASE_EEXIST;
    case 413:
        return BASE_ETOOBIG;
    case 503:
        return BASE_EBUSY;
    default:
        return status >= 400 && status < 500 ? BASE_EINVAL : BASE_EIO;
    }
}

static int code_of(long status, json_t *o)
{
    json_t *code = json_object_get(o, "code");
    if (json_is_integer(code) && json_integer_value(code) < 0 &&
        json_integer_value(code) > BASE__ERR_LAST) {
        return (int)json_integer_value(code);
    }
    const char *name = json_string_value(json_object_get(o, "error"));
    int by_name = name ? code_by_name(name) : 0;
    if (by_name != 0) {
        return by_name;
    }
    if (name != NULL && strncmp(name, "malformed", 9) == 0) {
        return BASE_EPARSE;
    }
    return code_by_status(status);
}

int mk_http_code(long status, const void *body, size_t len)
{
    json_t *o = body ? json_loadb(body, len, 0, NULL) : NULL;
    int code = code_of(status, o);
    json_decref(o);
    return code;
}

/* The reason of an error answer: "HTTP 401 unauthorized: API key refused:
 * ...", or the status alone when the body is not the API's JSON. */
static void error_reason(long status, json_t *o, char *out, size_t size)
{
    const char *err = json_string_value(json_object_get(o, "error"));
    const char *why = json_string_value(json_object_get(o, "reason"));
    snprintf(out, size, "HTTP %ld%s%s%s%s", status, err ? " " : "",
             err ? err : "", why && why[0] ? ": " : "", why ? why : "");
}

/* A submission's answer (any status): {"id","code","committed","block",
 * "reason"} into @res. Returns @res->code. */
static int submit_answer(struct http_client *c, long status,
                         const struct base_buf *a, struct mk_result *res)
{
    json_t *o = json_loadb((const char *)a->data, a->len, 0, NULL);
    json_t *code = json_object_get(o, "code");
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!json_is_integer(code) || id == NULL) {
        /* Not a submission's answer: a 400, 401, 413, a proxy's page. */
        res->code = o ? code_of(status, o) : code_by_status(status);
        if (o == NULL && status == 200) {
            res->code = BASE_EIO;
        }
        error_reason(status, o, res->reason, sizeof res->reason);
        json_decref(o);
        return res->code;
    }
    res->code = (int)json_integer_value(code);
    res->committed = json_is_true(json_object_get(o, "committed"));
    res->block = (uint64_t)json_integer_value(json_object_get(o, "block"));
    if (strlen(id) != 64 || base_hex_decode(res->id.b, CR_HASH_SIZE, id)) {
        memset(&res->id, 0, sizeof res->id);
    }
    const char *why = json_string_value(json_object_get(o, "reason"));
    snprintf(res->reason, sizeof res->reason, "%s", why ? why : "");
    if (res->code > 0 || res->code <= BASE__ERR_LAST) {
        res->code = BASE_EIO;
        snprintf(res->reason, sizeof res->reason,
                 "the node answered an unknown code");
    }
    if (c->stats != NULL) {
        if (res->committed) {
            atomic_fetch_add(&c->stats->committed, 1);
            if (res->code != 0) {
                atomic_fetch_add(&c->stats->invalid, 1);
            }
        } else {
            atomic_fetch_add(&c->stats->refused, 1);
        }
    }
    json_decref(o);
    return res->code;
}

/* ---- building calls ----------------------------------------------------- */

static int build(struct http_client *c, const char *contract,
                 const char *function, uint32_t nargs,
                 const struct lg_slice *args, struct base_buf *tx)
{
    struct lg_call call = {c->channel, contract, function, nargs, args};
    uint64_t nonce = atomic_fetch_add(&c->nonce, 1);
    return lg_tx_build(tx, &call, &c->cert, &c->key, nonce, NULL);
}

/* The JSON call of an API key: {"contract","function","args_hex"}. */
static int build_json(const char *contract, const char *function,
                      uint32_t nargs, const struct lg_slice *args,
                      struct base_buf *out)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr != NULL && i < nargs; i++) {
        char *hex = base_malloc(2 * args[i].len + 1);
        if (hex == NULL) {
            json_decref(arr);
            return BASE_ENOMEM;
        }
        base_hex_encode(hex, args[i].p, args[i].len);
        json_array_append_new(arr, json_string(hex));
        base_free(hex);
    }
    json_t *o = arr ? json_pack("{s:s, s:s, s:o}", "contract", contract,
                                "function", function, "args_hex", arr)
                    : NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rv = s ? base_buf_add_str(out, s) : BASE_ENOMEM;
    free(s);
    return rv;
}

/* The body and route of a submission: a signed envelope, or the key's
 * call for the node to sign. */
static int make_call(struct http_client *c, const char *contract,
                     const char *function, uint32_t nargs,
                     const struct lg_slice *args, struct base_buf *body,
                     const char **path, const char **ctype, char *reason,
                     size_t rsize)
{
    if (c->signs) {
        *path = "/v1/tx";
        *ctype = CT_BIN;
        int rv = build(c, contract, function, nargs, args, body);
        if (rv != 0) {
            snprintf(reason, rsize, "cannot encode the call");
        }
        return rv;
    }
    if (!c->keyed) {
        snprintf(reason, rsize,
                 "this client has no identity: give it a member key or an "
                 "API key");
        return BASE_EPERM;
    }
    *path = "/v1/invoke";
    *ctype = CT_JSON;
    return build_json(contract, function, nargs, args, body);
}

/* ---- the operations ----------------------------------------------------- */

static void set_err(struct http_client *c, const char *msg)
{
    snprintf(c->base.errmsg, sizeof c->base.errmsg, "%s", msg);
}

static int http_submit(struct mk_client *base, const char *contract,
                       const char *function, uint32_t nargs,
                       const struct lg_slice *args, struct mk_result *res)
{
    struct http_client *c = (struct http_client *)base;
    memset(res, 0, sizeof *res);
    struct base_buf body, answer;
    base_buf_init(&body, 0);
    base_buf_init(&answer, 0);
    const char *path = NULL, *ctype = NULL;
    int rv = make_call(c, contract, function, nargs, args, &body, &path, &ctype,
                       res->reason, sizeof res->reason);
    long status = 0;
    char err[BASE_ERRMSG_SIZE];
    if (rv == 0) {
        rv = request(c, "POST", path, ctype, body.data, body.len, &status,
                     &answer, err);
        if (rv != 0) {
            snprintf(res->reason, sizeof res->reason, "%s", err);
            set_err(c, err);
        }
    }
    rv = rv ? rv : submit_answer(c, status, &answer, res);
    res->code = rv;
    base_buf_release(&body);
    base_buf_release(&answer);
    return rv;
}

/* ---- the asynchronous side ---------------------------------------------- */

static void job_free(struct job *j)
{
    if (j->easy != NULL) {
        curl_easy_cleanup(j->easy);
    }
    curl_slist_free_all(j->hdrs);
    base_buf_release(&j->body);
    base_buf_release(&j->answer);
    base_free(j);
}

static void job_done(struct http_client *c, struct job *j, CURLcode rc)
{
    struct mk_result res;
    memset(&res, 0, sizeof res);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        if (c->stats != NULL) {
            atomic_fetch_add(&c->stats->requests, 1);
        }
        submit_answer(c, status, &j->answer, &res);
    } else {
        char err[BASE_ERRMSG_SIZE];
        res.code = transport_error(c, j->easy, rc, j->errbuf, err);
        snprintf(res.reason, sizeof res.reason, "%s", err);
    }
    j->cb(j->arg, &res);
}

static void *async_main(void *arg)
{
    struct http_client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        struct job *q = c->queue;
        c->queue = NULL;
        c->tail = &c->queue;
        bool stop = c->closing && c->running == 0;
        pthread_mutex_unlock(&c->mu);
        if (stop) {
            break;
        }
        for (struct job *j = q, *next; j != NULL; j = next) {
            next = j->next;
            if (curl_multi_add_handle(c->multi, j->easy) != CURLM_OK) {
                job_done(c, j, CURLE_OUT_OF_MEMORY);
                job_free(j);
                pthread_mutex_lock(&c->mu);
                c->running--;
                pthread_mutex_unlock(&c->mu);
            }
        }
        int active = 0;
        curl_multi_perform(c->multi, &active);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            struct job *j = (struct job *)(void *)priv;
            CURLcode rc = m->data.result;
            curl_multi_remove_handle(c->multi, j->easy);
            job_done(c, j, rc);
            job_free(j);
            pthread_mutex_lock(&c->mu);
            c->running--;
            pthread_mutex_unlock(&c->mu);
        }
        curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

static int start_thread(struct http_client *c)
{
    if (c->started) {
        return 0;
    }
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        return BASE_ENOMEM;
    }
    /* Connections to the one node, kept for the jobs that follow. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 64L);
    if (pthread_create(&c->thread, NULL, async_main, c) != 0) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
        return BASE_ENOMEM;
    }
    c->started = true;
    return 0;
}

static int http_submit_async(struct mk_client *base, const char *contract,
                             const char *function, uint32_t nargs,
                             const struct lg_slice *args, mk_done_cb cb,
                             void *arg)
{
    struct http_client *c = (struct http_client *)base;
    struct job *j = base_calloc(1, sizeof *j);
    if (j == NULL) {
        return BASE_ENOMEM;
    }
    base_buf_init(&j->body, 0);
    base_buf_init(&j->answer, 0);
    j->cb = cb;
    j->arg = arg;
    const char *path = NULL, *ctype = NULL;
    char reason[LG_REASON_MAX + 1];
    int rv = make_call(c, contract, function, nargs, args, &j->body, &path,
                       &ctype, reason, sizeof reason);
    if (rv == 0) {
        j->easy = curl_easy_init();
        rv = j->easy ? headers(c, ctype, true, NULL, &j->hdrs) : BASE_ENOMEM;
    } else {
        set_err(c, reason);
    }
    rv = rv ? rv
            : setup(c, j->easy, "POST", path, j->hdrs, j->body.data,
                    j->body.len, &j->answer, j->errbuf);
    if (rv == 0) {
        curl_easy_setopt(j->easy, CURLOPT_PRIVATE, (char *)j);
        pthread_mutex_lock(&c->mu);
        rv = c->closing ? BASE_ECLOSED : start_thread(c);
        if (rv == 0) {
            j->next = NULL;
            *c->tail = j;
            c->tail = &j->next;
            c->running++;
        }
        pthread_mutex_unlock(&c->mu);
    }
    if (rv != 0) {
        job_free(j);
        return rv;
    }
    curl_multi_wakeup(c->multi);
    return 0;
}

/* ---- evaluate and the off-chain store ------------------------------------ */

static int http_evaluate(struct mk_client *base, const char *contract,
                         const char *function, uint32_t nargs,
                         const struct lg_slice *args, struct base_buf *out,
                         char *reason)
{
    struct http_client *c = (struct http_client *)base;
    struct base_buf body, answer;
    base_buf_init(&body, 0);
    base_buf_init(&answer, 0);
    const char *path = NULL, *ctype = NULL;
    int rv = make_call(c, contract, function, nargs, args, &body, &path, &ctype,
                       reason, LG_REASON_MAX + 1);
    long status = 0;
    char err[BASE_ERRMSG_SIZE];
    if (rv == 0) {
        rv = request(c, "POST", "/v1/evaluate", ctype, body.data, body.len,
                     &status, &answer, err);
        if (rv != 0) {
            snprintf(reason, LG_REASON_MAX + 1, "%s", err);
            set_err(c, err);
        }
    }
    json_t *o =
        rv ? NULL : json_loadb((const char *)answer.data, answer.len, 0, NULL);
    if (rv == 0 && status != 200) {
        rv = o ? code_of(status, o) : code_by_status(status);
        const char *why = json_string_value(json_object_get(o, "reason"));
        if (why != NULL && json_object_get(o, "code") != NULL) {
            /* The contract's own reason, as the local client gives it. */
            snprintf(reason, LG_REASON_MAX + 1, "%s", why);
        } else {
            error_reason(status, o, reason, LG_REASON_MAX + 1);
        }
    } else if (rv == 0) {
        const char *text = json_string_value(json_object_get(o, "payload"));
        const char *hex = json_string_value(json_object_get(o, "payload_hex"));
        if (text != NULL) {
            rv = base_buf_add(
                out, text, json_string_length(json_object_get(o, "payload")));
        } else if (hex != NULL && strlen(hex) % 2 == 0) {
            size_t n = strlen(hex) / 2;
            rv = base_buf_reserve(out, n + 1);
            if (rv == 0 && base_hex_decode(out->data + out->len, n, hex) == 0) {
                out->len += n;
            } else if (rv == 0) {
                rv = BASE_EIO;
            }
        } else {
            rv = BASE_EIO;
        }
        if (rv == BASE_EIO) {
            snprintf(reason, LG_REASON_MAX + 1,
                     "%s answered an evaluation without a payload", c->url);
        }
    }
    json_decref(o);
    base_buf_release(&body);
    base_buf_release(&answer);
    return rv;
}

static int http_put(struct mk_client *base, const void *data, size_t len,
                    struct cr_hash *hash)
{
    struct http_client *c = (struct http_client *)base;
    struct base_buf answer;
    base_buf_init(&answer, 0);
    long status = 0;
    char err[BASE_ERRMSG_SIZE];
    int rv = request(c, "POST", "/v1/offchain", CT_BIN, data, len, &status,
                     &answer, err);
    json_t *o =
        rv ? NULL : json_loadb((const char *)answer.data, answer.len, 0, NULL);
    const char *h = json_string_value(json_object_get(o, "hash"));
    struct cr_hash got;
    if (rv == 0 && status != 200) {
        rv = o ? code_of(status, o) : code_by_status(status);
        char why[LG_REASON_MAX + 1];
        error_reason(status, o, why, sizeof why);
        base_errf(err, rv, "off-chain put: %s", why);
    } else if (rv == 0 && (h == NULL || strlen(h) != 64 ||
                           base_hex_decode(got.b, CR_HASH_SIZE, h) != 0)) {
        rv = base_errf(err, BASE_EIO, "%s answered a put without a hash",
                       c->url);
    } else if (rv == 0) {
        /* The node names the record by its SHA-256: check it rather than
         * trust it, since the hash goes on chain. */
        struct cr_hash mine;
        cr_sha256(&mine, data, len);
        if (memcmp(mine.b, got.b, CR_HASH_SIZE) != 0) {
            rv = base_errf(err, BASE_ECORRUPT,
                           "%s stored the record under another hash", c->url);
        } else {
            *hash = got;
        }
    }
    if (rv != 0) {
        set_err(c, err);
    }
    json_decref(o);
    base_buf_release(&answer);
    return rv;
}

/* The header that names a member-key client to a read route: its signed
 * envelope of bids.retrieve(@bid), the nonce the Unix time, which the node
 * checks as for evaluation and takes only within MK_READ_WINDOW_S
 * (docs/api.md, "Off-chain records and bids"). */
static int signed_read(struct http_client *c, const char *bid,
                       struct base_buf *hdr)
{
    struct base_buf tx;
    base_buf_init(&tx, 0);
    struct lg_slice a = {(const uint8_t *)bid, strlen(bid)};
    struct lg_call call = {c->channel, "bids", "retrieve", 1, &a};
    int rv = lg_tx_build(&tx, &call, &c->cert, &c->key,
                         (uint64_t)(base_wall_ns() / 1000000000u), NULL);
    rv = rv ? rv : base_buf_printf(hdr, "%s: ", MK_READ_HEADER);
    rv = rv ? rv : base_buf_reserve(hdr, 2 * tx.len + 1);
    if (rv == 0) {
        base_hex_encode((char *)hdr->data + hdr->len, tx.data, tx.len);
        hdr->len += 2 * tx.len;
        rv = base_buf_terminate(hdr);
    }
    base_buf_release(&tx);
    return rv;
}

static int http_get(struct mk_client *base, const char *bid,
                    const struct cr_hash *hash, struct base_buf *out)
{
    struct http_client *c = (struct http_client *)base;
    char path[96 + 3 * MK_UID_MAX], hex[65], err[BASE_ERRMSG_SIZE];
    base_hex_encode(hex, hash->b, CR_HASH_SIZE);
    int n = snprintf(path, sizeof path, "/v1/offchain/%s", hex);
    /* The node serves a record through the bid that names it. */
    if (bid != NULL) {
        n += snprintf(path + n, sizeof path - (size_t)n, "?bid=");
        for (const char *p = bid; *p && (size_t)n + 4 < sizeof path; p++) {
            unsigned char ch = (unsigned char)*p;
            bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                         (ch >= '0' && ch <= '9') || strchr("-_.~", ch) != NULL;
            n += snprintf(path + n, sizeof path - (size_t)n,
                          plain ? "%c" : "%%%02X", ch);
        }
    }
    struct base_buf answer, hdr;
    base_buf_init(&answer, 0);
    base_buf_init(&hdr, 0);
    long status = 0;
    int rv = 0;
    if (bid != NULL && c->signs && !c->keyed) {
        rv = signed_read(c, bid, &hdr);
        if (rv != 0) {
            base_errf(err, rv, "cannot sign the read of bid %s", bid);
        }
    }
    if (rv == 0) {
        rv = request_x(c, "GET", path, hdr.len ? (const char *)hdr.data : NULL,
                       NULL, NULL, 0, &status, &answer, err);
    }
    base_buf_release(&hdr);
    if (rv == 0 && status == 200) {
        rv = base_buf_add(out, answer.data, answer.len);
    } else if (rv == 0) {
        rv = mk_http_code(status, answer.data, answer.len);
        base_errf(err, rv, "off-chain record %.16s...: HTTP %ld", hex, status);
    }
    if (rv != 0) {
        set_err(c, err);
    }
    base_buf_release(&answer);
    return rv;
}

static void http_close(struct mk_client *base)
{
    struct http_client *c = (struct http_client *)base;
    /* Every accepted asynchronous submission still gets its callback: the
     * thread runs until none is left. */
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    bool started = c->started;
    pthread_mutex_unlock(&c->mu);
    if (started) {
        curl_multi_wakeup(c->multi);
        pthread_join(c->thread, NULL);
        curl_multi_cleanup(c->multi);
    }
    for (size_t i = 0; i < c->npool; i++) {
        curl_easy_cleanup(c->pool[i]);
    }
    pthread_mutex_destroy(&c->mu);
    cr_wipe(&c->key, sizeof c->key);
    cr_wipe(c->auth, sizeof c->auth);
    base_free(c);
}

static const struct mk_client_ops http_ops = {
    http_submit, http_submit_async, http_evaluate,
    http_put,    http_get,          http_close,
};

int mk_http_request(struct mk_client *base, const char *method,
                    const char *path, const char *ctype, const void *body,
                    size_t len, long *status, struct base_buf *out,
                    char *errmsg)
{
    if (base == NULL || base->ops != &http_ops) {
        return base_errf(errmsg, BASE_EINVAL, "not a remote client");
    }
    return request((struct http_client *)base, method, path, ctype, body, len,
                   status, out, errmsg);
}

/* ---- opening ------------------------------------------------------------- */

static int check_url(const char *url, char *errmsg)
{
    size_t skip = strncmp(url, "http://", 7) == 0    ? 7
                  : strncmp(url, "https://", 8) == 0 ? 8
                                                     : 0;
    if (skip == 0) {
        return base_errf(errmsg, BASE_EINVAL,
                         "bad URL '%s': it must start with http:// or "
                         "https://",
                         url);
    }
    const char *host = url + skip;
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':' ||
        strlen(url) >= 500 || strpbrk(url, " \t\r\n?#") != NULL) {
        return base_errf(errmsg, BASE_EINVAL,
                         "bad URL '%s': it must be http[s]://HOST[:PORT]", url);
    }
    return 0;
}

/* The node's channel and, for an API key, the key's member: the first
 * round trip, which also shows the node is there. */
static int handshake(struct http_client *c, const char *channel, char *errmsg)
{
    struct base_buf a;
    base_buf_init(&a, 0);
    long status = 0;
    int rv = request(c, "GET", "/v1/tip", NULL, NULL, 0, &status, &a, errmsg);
    json_t *o = rv ? NULL : json_loadb((const char *)a.data, a.len, 0, NULL);
    const char *ch = json_string_value(json_object_get(o, "channel"));
    if (rv == 0 && status != 200) {
        char why[LG_REASON_MAX + 1];
        error_reason(status, o, why, sizeof why);
        rv = base_errf(errmsg, o ? code_of(status, o) : code_by_status(status),
                       "%s/v1/tip: %s", c->url, why);
    } else if (rv == 0 && ch == NULL) {
        rv = base_errf(errmsg, BASE_EIO,
                       "%s is not a gridledger node (GET /v1/tip answered no "
                       "channel)",
                       c->url);
    } else if (rv == 0) {
        snprintf(c->channel, sizeof c->channel, "%s", channel ? channel : ch);
    }
    json_decref(o);
    base_buf_reset(&a);
    if (rv == 0 && !c->signs && c->keyed) {
        rv =
            request(c, "GET", "/v1/whoami", NULL, NULL, 0, &status, &a, errmsg);
        o = rv ? NULL : json_loadb((const char *)a.data, a.len, 0, NULL);
        const char *who = json_string_value(json_object_get(o, "identity"));
        if (rv == 0 && (status != 200 || who == NULL)) {
            char why[LG_REASON_MAX + 1];
            error_reason(status, o, why, sizeof why);
            rv = base_errf(errmsg,
                           o ? code_of(status, o) : code_by_status(status),
                           "the node refused the API key: %s", why);
        } else if (rv == 0) {
            snprintf(c->base.identity, sizeof c->base.identity, "%s", who);
        }
        json_decref(o);
    }
    base_buf_release(&a);
    return rv;
}

int mk_client_http(struct mk_client **out, const char *url,
                   const struct lg_cert *cert, const struct cr_keypair *key,
                   const struct mk_http_options *opt, char *errmsg)
{
    static const struct mk_http_options none;
    opt = opt ? opt : &none;
    int rv = check_url(url, errmsg);
    if (rv != 0) {
        return rv;
    }
    if ((cert == NULL) != (key == NULL)) {
        return base_errf(errmsg, BASE_EINVAL,
                         "a member key needs its certificate");
    }
    if (opt->api_key != NULL && (strlen(opt->api_key) >= AUTH_MAX - 32 ||
                                 strpbrk(opt->api_key, "\r\n") != NULL)) {
        return base_errf(errmsg, BASE_EINVAL, "the API key is malformed");
    }
    if (opt->ca_file != NULL && strlen(opt->ca_file) >= 1024) {
        return base_errf(errmsg, BASE_EINVAL, "the CA file path is too long");
    }
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        return base_errf(errmsg, BASE_EIO, "cannot initialise libcurl");
    }
    struct http_client *c = base_calloc(1, sizeof *c);
    if (c == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    c->base.ops = &http_ops;
    snprintf(c->url, sizeof c->url, "%s", url);
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/') {
        c->url[--n] = '\0';
    }
    c->insecure = opt->insecure;
    c->timeout_s = opt->timeout_s ? (long)opt->timeout_s : 60;
    c->stats = opt->stats;
    if (opt->ca_file != NULL) {
        snprintf(c->ca_file, sizeof c->ca_file, "%s", opt->ca_file);
    }
    if (opt->api_key != NULL) {
        snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s",
                 opt->api_key);
        c->keyed = true;
    }
    if (cert != NULL) {
        c->signs = true;
        c->cert = *cert;
        c->key = *key;
        snprintf(c->base.identity, sizeof c->base.identity, "%s/%s", cert->org,
                 cert->name);
    }
    uint64_t start;
    cr_random(&start, sizeof start);
    atomic_init(&c->nonce, start >> 1);
    c->tail = &c->queue;
    pthread_mutex_init(&c->mu, NULL);
    rv = handshake(c, opt->channel, errmsg);
    if (rv != 0) {
        http_close(&c->base);
        return rv;
    }
    *out = &c->base;
    return 0;
}
