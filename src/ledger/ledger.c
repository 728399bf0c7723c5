/* SPDX-License-Identifier: MIT */
/* Opening a ledger, channels, admission, and committing blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/ledger_int.h"

/* ---- opening ---------------------------------------------------------- */

static int open_dbi(struct kv_txn *t, const char *ch, const char *what,
                    bool create, kv_dbi *out)
{
    char name[LG_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.%s", ch, what);
    return kv_dbi_open(t, name, create, out);
}

static int load_tip(struct lg_channel *ch, struct kv_txn *t)
{
    struct kv_val v;
    int rv = kv_get(t, ch->meta, "tip", 3, &v);
    if (rv != 0) {
        return rv == BASE_ENOTFOUND ? BASE_ECORRUPT : rv;
    }
    if (v.len != 8 + 2 * CR_HASH_SIZE) {
        return BASE_ECORRUPT;
    }
    const uint8_t *p = v.data;
    ch->height = base_get_u64(p);
    memcpy(ch->tip.b, p + 8, CR_HASH_SIZE);
    memcpy(ch->state_hash.b, p + 8 + CR_HASH_SIZE, CR_HASH_SIZE);
    return 0;
}

static int channel_open(struct lg_ledger *l, struct kv_txn *t,
                        const struct lg_config *cfg, bool create,
                        struct lg_channel **out)
{
    if (l->nchannels == LG_MAX_CHANNELS) {
        return BASE_EFULL;
    }
    struct lg_channel *ch = base_calloc(1, sizeof *ch);
    if (ch == NULL) {
        return BASE_ENOMEM;
    }
    ch->l = l;
    ch->cfg = *cfg;
    snprintf(ch->name, sizeof ch->name, "%s", cfg->channel);
    const struct {
        const char *what;
        kv_dbi *dbi;
    } dbs[] = {{"blocks", &ch->blocks},   {"hashes", &ch->hashes},
               {"txs", &ch->txs},         {"state", &ch->state},
               {"history", &ch->history}, {"events", &ch->events},
               {"meta", &ch->meta}};
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < BASE_ARRAY_LEN(dbs); i++) {
        rv = open_dbi(t, ch->name, dbs[i].what, create, dbs[i].dbi);
    }
    /* Introduced certificates came later: a ledger from before gets the
     * database when opened for writing, and reads as having none. */
    if (rv == 0) {
        int crv = open_dbi(t, ch->name, "certs", !l->read_only, &ch->certs);
        ch->has_certs = crv == 0;
        rv = crv == BASE_ENOTFOUND && l->read_only ? 0 : crv;
    }
    if (rv == 0 && !create) {
        rv = load_tip(ch, t);
    }
    if (rv != 0) {
        base_free(ch);
        return rv == BASE_ENOTFOUND ? BASE_ECORRUPT : rv;
    }
    pthread_mutex_init(&ch->tip_lock, NULL);
    pthread_mutex_init(&ch->cache_lock, NULL);
    l->channels[l->nchannels++] = ch;
    *out = ch;
    return 0;
}

static void channel_free(struct lg_channel *ch)
{
    pthread_mutex_destroy(&ch->tip_lock);
    pthread_mutex_destroy(&ch->cache_lock);
    base_free(ch);
}

static int load_channels(struct lg_ledger *l, char *errmsg)
{
    struct kv_txn *t;
    int rv = kv_txn_begin(l->env, !l->read_only, &t);
    if (rv != 0) {
        return base_errf(errmsg, rv, "cannot read ledger: %s",
                         base_strerror(rv));
    }
    rv = kv_dbi_open(t, "channels", !l->read_only, &l->channels_db);
    if (rv == BASE_ENOTFOUND) {
        kv_txn_abort(t);
        return base_errf(errmsg, BASE_ENOTFOUND, "not a ledger directory");
    }
    struct kv_cursor *c = NULL;
    if (rv == 0) {
        rv = kv_cursor_open(t, l->channels_db, &c);
    }
    struct kv_val k, v;
    int it = rv == 0 ? kv_cursor_seek(c, NULL, 0, &k, &v) : rv;
    while (rv == 0 && it == 0) {
        struct lg_config cfg;
        struct lg_channel *ch;
        rv = lg_config_decode(&cfg, v.data, v.len);
        if (rv == 0) {
            rv = channel_open(l, t, &cfg, false, &ch);
        }
        if (rv != 0) {
            base_errf(errmsg, BASE_ECORRUPT, "channel %.*s: %s",
                      (int)(k.len > 64 ? 64 : k.len), (const char *)k.data,
                      base_strerror(rv));
            rv = BASE_ECORRUPT;
            break;
        }
        it = kv_cursor_next(c, &k, &v);
    }
    kv_cursor_close(c);
    if (rv == 0) {
        /* Commit even a read transaction: LMDB closes database handles
         * opened in a transaction that aborts. */
        rv = kv_txn_commit(t);
    } else {
        kv_txn_abort(t);
        if (errmsg[0] == '\0') {
            base_errf(errmsg, rv, "cannot read ledger: %s", base_strerror(rv));
        }
    }
    return rv;
}

int lg_open(struct lg_ledger **out, const char *dir,
            const struct lg_executor *exec, const struct lg_options *opt,
            char *errmsg)
{
    struct lg_options def = {0};
    if (opt == NULL) {
        opt = &def;
    }
    errmsg[0] = '\0';
    struct lg_ledger *l = base_calloc(1, sizeof *l);
    if (l == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    l->exec = *exec;
    l->read_only = opt->read_only;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    l->verifiers =
        opt->verifiers ? opt->verifiers : (unsigned)(cores > 0 ? cores : 1);
    struct kv_env_options ko = {.map_size = opt->map_size,
                                .read_only = opt->read_only};
    int rv = kv_env_open(&l->env, dir, &ko, errmsg);
    if (rv == 0) {
        rv = load_channels(l, errmsg);
    }
    if (rv != 0) {
        lg_close(l);
        return rv;
    }
    *out = l;
    return 0;
}

void lg_close(struct lg_ledger *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->nchannels; i++) {
        channel_free(l->channels[i]);
    }
    kv_env_close(l->env);
    base_free(l);
}

const char *lg_errmsg(struct lg_ledger *l)
{
    return l->errmsg;
}

int lg_write_refusal(struct lg_ledger *l, char *why)
{
    return kv_env_refusal(l->env, why);
}

int lg_channel_get(struct lg_ledger *l, const char *name,
                   struct lg_channel **out)
{
    for (size_t i = 0; i < l->nchannels; i++) {
        if (strcmp(l->channels[i]->name, name) == 0) {
            *out = l->channels[i];
            return 0;
        }
    }
    return BASE_ENOCHANNEL;
}

size_t lg_channel_list(struct lg_ledger *l, char (*names)[LG_NAME_MAX + 1],
                       size_t max)
{
    for (size_t i = 0; i < l->nchannels && i < max; i++) {
        snprintf(names[i], LG_NAME_MAX + 1, "%s", l->channels[i]->name);
    }
    return l->nchannels;
}

const struct lg_config *lg_channel_config(const struct lg_channel *ch)
{
    return &ch->cfg;
}

const char *lg_channel_name(const struct lg_channel *ch)
{
    return ch->name;
}

void lg_channel_tip(struct lg_channel *ch, uint64_t *height,
                    struct cr_hash *tip, struct cr_hash *state)
{
    pthread_mutex_lock(&ch->tip_lock);
    if (height != NULL) {
        *height = ch->height;
    }
    if (tip != NULL) {
        *tip = ch->tip;
    }
    if (state != NULL) {
        *state = ch->state_hash;
    }
    pthread_mutex_unlock(&ch->tip_lock);
}

int lg_subscribe(struct lg_ledger *l, const struct lg_subscriber *sub)
{
    if (l->nsubs == LG_MAX_SUBS) {
        return BASE_EFULL;
    }
    l->subs[l->nsubs++] = *sub;
    return 0;
}

/* ---- identities and admission -------------------------------------------- */

/* Was the certificate hashing to @h introduced by a valid transaction? */
static bool cert_stored(struct lg_channel *ch, const struct cr_hash *h)
{
    struct kv_txn *t;
    struct kv_val v;
    if (!ch->has_certs || kv_txn_begin(ch->l->env, false, &t) != 0) {
        return false;
    }
    bool found = kv_get(t, ch->certs, h->b, CR_HASH_SIZE, &v) == 0;
    kv_txn_abort(t);
    return found;
}

/* One certificate (@c decoded, @bytes its encoding): an organisation of the
 * channel issued it, for a role that organisation may certify, and signed
 * it. @intro: it is introduced by the transaction, not its signer (for the
 * reason). */
static int cert_check_one(struct lg_channel *ch, const struct lg_cert *c,
                          struct lg_slice bytes, bool intro, char *reason)
{
    const char *pre = intro ? "introduced " : "";
    const struct lg_org *org = lg_config_org(&ch->cfg, c->org);
    if (org == NULL) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "%scertificate issuer '%s' is not an organisation of "
                 "channel '%s'",
                 pre, c->org, ch->name);
        return BASE_EUNKNOWNCERT;
    }
    bool role_ok = false;
    for (uint32_t i = 0; i < org->nroles; i++) {
        role_ok = role_ok || strcmp(org->roles[i], c->role) == 0;
    }
    if (!role_ok) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "organisation '%s' may not certify role '%s'%s", c->org,
                 c->role, intro ? " (introduced certificate)" : "");
        return BASE_EPERM;
    }
    struct cr_hash h;
    cr_sha256(&h, bytes.p, bytes.len);
    /* Two ways per set: with one, two busy clients whose certificates
     * share a slot evict each other and pay a verification each time. */
    size_t slot = (base_get_u32(h.b) % (LG_CERT_CACHE / 2)) * 2;
    pthread_mutex_lock(&ch->cache_lock);
    bool hit = false;
    for (size_t w = slot; w < slot + 2 && !hit; w++) {
        hit = ch->cache[w].used &&
              memcmp(ch->cache[w].h.b, h.b, CR_HASH_SIZE) == 0;
    }
    pthread_mutex_unlock(&ch->cache_lock);
    if (hit) {
        return 0;
    }
    /* The issuer signature covers the encoding up to the signature. A
     * certificate a valid transaction introduced was checked then. */
    if (!cert_stored(ch, &h) &&
        cr_verify(bytes.p + bytes.len - CR_SIG_SIZE, bytes.p,
                  bytes.len - CR_SIG_SIZE, org->root_pk) != 0) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "%scertificate of %s/%s is not signed by its organisation",
                 pre, c->org, c->name);
        return BASE_EUNKNOWNCERT;
    }
    pthread_mutex_lock(&ch->cache_lock);
    /* The newest goes first; the older one moves to the second way. */
    ch->cache[slot + 1] = ch->cache[slot];
    ch->cache[slot].h = h;
    ch->cache[slot].used = true;
    pthread_mutex_unlock(&ch->cache_lock);
    return 0;
}

int lg__cert_check(struct lg_channel *ch, const struct lg_tx *tx, char *reason)
{
    int rv = cert_check_one(ch, &tx->cert, tx->cert_bytes, false, reason);
    for (uint32_t i = 0; rv == 0 && i < tx->nintro; i++) {
        struct lg_cert c;
        struct base_rd r;
        base_rd_init(&r, tx->intro[i].p, tx->intro[i].len);
        /* lg_tx_decode checked that it decodes. */
        rv = lg_cert_decode(&c, &r) == 0 ? 0 : BASE_EPARSE;
        if (rv == 0) {
            rv = cert_check_one(ch, &c, tx->intro[i], true, reason);
        } else {
            snprintf(reason, LG_REASON_MAX + 1, "malformed transaction");
        }
    }
    return rv;
}

static int check_time(const struct lg_cert *c, uint64_t now_ns, char *reason)
{
    uint64_t now = now_ns / 1000000000u;
    if (now < c->not_before || now > c->expiry) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "certificate of %s/%s is valid from %llu to %llu, not at "
                 "%llu",
                 c->org, c->name, (unsigned long long)c->not_before,
                 (unsigned long long)c->expiry, (unsigned long long)now);
        return BASE_EEXPIRED;
    }
    return 0;
}

static int check_sig(const struct lg_tx *tx, char *reason)
{
    if (cr_verify(tx->sig, tx->signed_bytes.p, tx->signed_bytes.len,
                  tx->cert.pk) != 0) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "signature does not match the certificate of %s/%s",
                 tx->cert.org, tx->cert.name);
        return BASE_EBADSIG;
    }
    return 0;
}

static int check_call(struct lg_channel *ch, const struct lg_tx *tx,
                      char *reason)
{
    int rv = ch->l->exec.check(ch->l->exec.impl, tx->contract, tx->function,
                               tx->cert.role);
    if (rv == BASE_ENOCONTRACT) {
        snprintf(reason, LG_REASON_MAX + 1, "no contract named '%s'",
                 tx->contract);
    } else if (rv == BASE_ENOFUNC) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "contract '%s' has no function '%s'", tx->contract,
                 tx->function);
    } else if (rv == BASE_EPERM) {
        snprintf(reason, LG_REASON_MAX + 1, "role '%s' may not call %s.%s",
                 tx->cert.role, tx->contract, tx->function);
    } else if (rv != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "%s", base_strerror(rv));
    }
    return rv;
}

int lg_admit(struct lg_channel *ch, const struct lg_tx *tx, uint64_t now_ns,
             char *reason)
{
    reason[0] = '\0';
    if (strcmp(tx->channel, ch->name) != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "transaction is for channel '%s'",
                 tx->channel);
        return BASE_ENOCHANNEL;
    }
    int rv = lg__cert_check(ch, tx, reason);
    if (rv == 0) {
        rv = check_time(&tx->cert, now_ns, reason);
    }
    if (rv == 0) {
        rv = check_sig(tx, reason);
    }
    if (rv == 0) {
        rv = check_call(ch, tx, reason);
    }
    if (rv != 0) {
        return rv;
    }
    struct lg_tx_info info;
    rv = lg_tx_find(ch, &tx->id, &info);
    if (rv == 0) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "transaction was already committed in block %llu",
                 (unsigned long long)info.block);
        return BASE_EREPLAY;
    }
    return rv == BASE_ENOTFOUND ? 0 : rv;
}

/* ---- parallel signature checks ----------------------------------------- */

struct verify_job {
    struct lg_channel *ch;
    const struct lg_slice *txs;
    const bool *admitted;
    int32_t *codes;
    size_t begin, end;
};

static void *verify_range(void *arg)
{
    struct verify_job *j = arg;
    char reason[LG_REASON_MAX + 1];
    for (size_t i = j->begin; i < j->end; i++) {
        if (j->admitted != NULL && j->admitted[i]) {
            j->codes[i] = 0;
            continue;
        }
        struct lg_tx tx;
        int rv = lg_tx_decode(&tx, j->txs[i].p, j->txs[i].len);
        if (rv == 0) {
            rv = lg__cert_check(j->ch, &tx, reason);
        }
        if (rv == 0) {
            rv = check_sig(&tx, reason);
        }
        j->codes[i] = rv;
    }
    return NULL;
}

/* Check the certificate and signature of every transaction not admitted
 * before, spreading them over the ledger's verifier threads. */
static void verify_parallel(struct lg_channel *ch, const struct lg_slice *txs,
                            const bool *admitted, size_t n, int32_t *codes)
{
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        todo += admitted == NULL || !admitted[i];
    }
    unsigned nt = ch->l->verifiers;
    if (todo < 16 || nt < 2) {
        struct verify_job j = {ch, txs, admitted, codes, 0, n};
        verify_range(&j);
        return;
    }
    if (nt > 64) {
        nt = 64;
    }
    struct verify_job jobs[64];
    pthread_t threads[64];
    bool started[64] = {false};
    size_t per = (n + nt - 1) / nt;
    for (unsigned t = 0; t < nt; t++) {
        size_t b = t * per, e = b + per < n ? b + per : n;
        jobs[t] =
            (struct verify_job){ch, txs, admitted, codes, b, e > b ? e : b};
        /* The calling thread takes the first share itself. */
        if (t > 0 &&
            pthread_create(&threads[t], NULL, verify_range, &jobs[t]) == 0) {
            started[t] = true;
        }
    }
    verify_range(&jobs[0]);
    for (unsigned t = 1; t < nt; t++) {
        if (started[t]) {
            pthread_join(threads[t], NULL);
        } else {
            verify_range(&jobs[t]);
        }
    }
}

/* ---- execution context ------------------------------------------------- */

void lg__ctx_init(struct lg_ctx *ctx, struct lg_channel *ch, struct kv_txn *txn,
                  const struct lg_tx *tx, uint64_t time, bool read_only)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->ch = ch;
    ctx->txn = txn;
    ctx->tx = tx;
    ctx->time = time;
    ctx->read_only = read_only;
    size_t n = strlen(tx->contract);
    memcpy(ctx->ns, tx->contract, n + 1);
    ctx->nslen = n + 1;
    base_buf_init(&ctx->ret, LG_VALUE_MAX);
    base_buf_init(&ctx->scratch, 0);
}

void lg__ctx_release(struct lg_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nwrites; i++) {
        base_free(ctx->writes[i].key);
        base_free(ctx->writes[i].val);
    }
    base_free(ctx->writes);
    for (size_t i = 0; i < ctx->nevents; i++) {
        base_free(ctx->events[i].payload);
    }
    base_free(ctx->events);
    base_buf_release(&ctx->ret);
    base_buf_release(&ctx->scratch);
}

int lg__state_key(struct base_buf *b, const char *contract, const void *key,
                  size_t klen)
{
    base_buf_reset(b);
    int rv = base_buf_add(b, contract, strlen(contract) + 1);
    return rv ? rv : base_buf_add(b, key, klen);
}

static int ctx_key(struct lg_ctx *ctx, const void *key, size_t klen)
{
    if (klen == 0 || klen > LG_KEY_MAX) {
        return BASE_EINVAL;
    }
    base_buf_reset(&ctx->scratch);
    int rv = base_buf_add(&ctx->scratch, ctx->ns, ctx->nslen);
    return rv ? rv : base_buf_add(&ctx->scratch, key, klen);
}

static struct lg_write *find_write(struct lg_ctx *ctx, const uint8_t *k,
                                   size_t klen)
{
    for (size_t i = 0; i < ctx->nwrites; i++) {
        struct lg_write *w = &ctx->writes[i];
        if (w->klen == klen && memcmp(w->key, k, klen) == 0) {
            return w;
        }
    }
    return NULL;
}

int lg_ctx_get(struct lg_ctx *ctx, const void *key, size_t klen,
               struct lg_slice *val)
{
    int rv = ctx_key(ctx, key, klen);
    if (rv != 0) {
        return rv;
    }
    struct lg_write *w = find_write(ctx, ctx->scratch.data, ctx->scratch.len);
    if (w != NULL) {
        if (w->del) {
            return BASE_ENOTFOUND;
        }
        val->p = w->val;
        val->len = w->vlen;
        return 0;
    }
    struct kv_val v;
    rv = kv_get(ctx->txn, ctx->ch->state, ctx->scratch.data, ctx->scratch.len,
                &v);
    if (rv != 0) {
        return rv;
    }
    if (v.len < LG_VER_SIZE) {
        return BASE_ECORRUPT;
    }
    val->p = (const uint8_t *)v.data + LG_VER_SIZE;
    val->len = v.len - LG_VER_SIZE;
    return 0;
}

int lg_ctx_read(struct lg_ctx *ctx, const char *contract, const void *key,
                size_t klen, struct lg_slice *val)
{
    if (strcmp(contract, ctx->ns) == 0) {
        return lg_ctx_get(ctx, key, klen, val);
    }
    if (klen == 0 || klen > LG_KEY_MAX) {
        return BASE_EINVAL;
    }
    /* Another contract's state: this call cannot have written it, so the
     * transaction's view (earlier calls of the block included) is current. */
    base_buf_reset(&ctx->scratch);
    int rv = lg__state_key(&ctx->scratch, contract, key, klen);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = kv_get(ctx->txn, ctx->ch->state, ctx->scratch.data, ctx->scratch.len,
                &v);
    if (rv != 0) {
        return rv;
    }
    if (v.len < LG_VER_SIZE) {
        return BASE_ECORRUPT;
    }
    val->p = (const uint8_t *)v.data + LG_VER_SIZE;
    val->len = v.len - LG_VER_SIZE;
    return 0;
}

static int ctx_write(struct lg_ctx *ctx, const void *key, size_t klen,
                     const void *val, size_t vlen, bool del)
{
    if (ctx->read_only) {
        return BASE_EPERM;
    }
    if (vlen > LG_VALUE_MAX) {
        return BASE_ETOOBIG;
    }
    int rv = ctx_key(ctx, key, klen);
    if (rv != 0) {
        return rv;
    }
    uint8_t *v = NULL;
    if (!del) {
        v = base_malloc(vlen);
        if (v == NULL) {
            return BASE_ENOMEM;
        }
        if (vlen > 0) {
            memcpy(v, val, vlen);
        }
    }
    struct lg_write *w = find_write(ctx, ctx->scratch.data, ctx->scratch.len);
    if (w == NULL) {
        if (ctx->nwrites == ctx->capwrites) {
            size_t cap = ctx->capwrites ? 2 * ctx->capwrites : 4;
            struct lg_write *nw =
                base_realloc(ctx->writes, cap * sizeof *ctx->writes);
            if (nw == NULL) {
                base_free(v);
                return BASE_ENOMEM;
            }
            ctx->writes = nw;
            ctx->capwrites = cap;
        }
        uint8_t *k = base_malloc(ctx->scratch.len);
        if (k == NULL) {
            base_free(v);
            return BASE_ENOMEM;
        }
        memcpy(k, ctx->scratch.data, ctx->scratch.len);
        w = &ctx->writes[ctx->nwrites++];
        w->key = k;
        w->klen = ctx->scratch.len;
    } else {
        base_free(w->val);
    }
    w->val = v;
    w->vlen = del ? 0 : vlen;
    w->del = del;
    return 0;
}

int lg_ctx_put(struct lg_ctx *ctx, const void *key, size_t klen,
               const void *val, size_t vlen)
{
    return ctx_write(ctx, key, klen, val, vlen, false);
}

int lg_ctx_del(struct lg_ctx *ctx, const void *key, size_t klen)
{
    return ctx_write(ctx, key, klen, NULL, 0, true);
}

static int cmp_keys(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen;
}

static int cmp_writes(const void *a, const void *b)
{
    const struct lg_write *x = *(const struct lg_write *const *)a;
    const struct lg_write *y = *(const struct lg_write *const *)b;
    return cmp_keys(x->key, x->klen, y->key, y->klen);
}

static bool in_range(const uint8_t *k, size_t klen, const struct base_buf *lo,
                     const struct base_buf *hi)
{
    if (cmp_keys(k, klen, lo->data, lo->len) < 0) {
        return false;
    }
    return cmp_keys(k, klen, hi->data, hi->len) < 0;
}

/* Merge the committed state in [lo, hi) with this call's own writes, so a
 * contract sees its writes in range scans too. */
int lg_ctx_range(struct lg_ctx *ctx, const void *start, size_t slen,
                 const void *end, size_t elen, lg_range_cb cb, void *arg)
{
    struct base_buf lo, hi;
    base_buf_init(&lo, 0);
    base_buf_init(&hi, 0);
    struct lg_write **mine = NULL;
    struct kv_cursor *c = NULL;
    int rv = base_buf_add(&lo, ctx->ns, ctx->nslen);
    if (rv == 0 && slen > 0) {
        rv = base_buf_add(&lo, start, slen);
    }
    if (rv == 0 && end != NULL) {
        rv = base_buf_add(&hi, ctx->ns, ctx->nslen);
        if (rv == 0) {
            rv = base_buf_add(&hi, end, elen);
        }
    } else if (rv == 0) {
        /* Namespace "name\0" ends before "name\1". */
        rv = base_buf_add(&hi, ctx->ns, ctx->nslen);
        if (rv == 0) {
            hi.data[hi.len - 1] = 1;
        }
    }
    size_t nmine = 0;
    if (rv == 0 && ctx->nwrites > 0) {
        /* An array of pointers: the pointer size is meant. */
        // NOLINTNEXTLINE(bugprone-sizeof-expression)
        mine = base_calloc(ctx->nwrites, sizeof *mine);
        if (mine == NULL) {
            rv = BASE_ENOMEM;
        }
        for (size_t i = 0; rv == 0 && i < ctx->nwrites; i++) {
            struct lg_write *w = &ctx->writes[i];
            if (in_range(w->key, w->klen, &lo, &hi)) {
                mine[nmine++] = w;
            }
        }
        /* An array of pointers: the pointer size is meant. */
        // NOLINTNEXTLINE(bugprone-sizeof-expression)
        qsort(mine, nmine, sizeof *mine, cmp_writes);
    }
    if (rv == 0) {
        rv = kv_cursor_open(ctx->txn, ctx->ch->state, &c);
    }
    struct kv_val k, v;
    int it = rv == 0 ? kv_cursor_seek(c, lo.data, lo.len, &k, &v) : rv;
    size_t mi = 0;
    int stop = 0;
    while (rv == 0 && stop == 0) {
        bool have_db = it == 0 && cmp_keys(k.data, k.len, hi.data, hi.len) < 0;
        if (it != 0 && it != BASE_ENOTFOUND) {
            rv = it;
            break;
        }
        bool have_mine = mi < nmine;
        if (!have_db && !have_mine) {
            break;
        }
        int order = !have_db     ? 1
                    : !have_mine ? -1
                                 : cmp_keys(k.data, k.len, mine[mi]->key,
                                            mine[mi]->klen);
        if (order > 0 || order == 0) {
            struct lg_write *w = mine[mi++];
            if (!w->del) {
                struct lg_slice ks = {w->key + ctx->nslen,
                                      w->klen - ctx->nslen};
                struct lg_slice vs = {w->val, w->vlen};
                stop = cb(arg, ks, vs);
            }
            if (order == 0) {
                it = kv_cursor_next(c, &k, &v);
            }
            continue;
        }
        if (v.len < LG_VER_SIZE) {
            rv = BASE_ECORRUPT;
            break;
        }
        struct lg_slice ks = {(const uint8_t *)k.data + ctx->nslen,
                              k.len - ctx->nslen};
        struct lg_slice vs = {(const uint8_t *)v.data + LG_VER_SIZE,
                              v.len - LG_VER_SIZE};
        stop = cb(arg, ks, vs);
        it = kv_cursor_next(c, &k, &v);
    }
    kv_cursor_close(c);
    base_free(mine);
    base_buf_release(&lo);
    base_buf_release(&hi);
    return rv;
}

const struct lg_cert *lg_ctx_caller(const struct lg_ctx *ctx)
{
    return &ctx->tx->cert;
}

uint64_t lg_ctx_time(const struct lg_ctx *ctx)
{
    return ctx->time;
}

uint64_t lg_ctx_block(const struct lg_ctx *ctx)
{
    return ctx->block;
}

const struct cr_hash *lg_ctx_txid(const struct lg_ctx *ctx)
{
    return &ctx->tx->id;
}

bool lg_ctx_read_only(const struct lg_ctx *ctx)
{
    return ctx->read_only;
}

int lg_ctx_emit(struct lg_ctx *ctx, const char *name, const void *payload,
                size_t len)
{
    if (!lg__name_ok(name, strlen(name))) {
        return BASE_EINVAL;
    }
    if (len > LG_VALUE_MAX) {
        return BASE_ETOOBIG;
    }
    if (ctx->nevents == ctx->capevents) {
        size_t cap = ctx->capevents ? 2 * ctx->capevents : 4;
        struct lg_emitted *ne =
            base_realloc(ctx->events, cap * sizeof *ctx->events);
        if (ne == NULL) {
            return BASE_ENOMEM;
        }
        ctx->events = ne;
        ctx->capevents = cap;
    }
    uint8_t *p = base_malloc(len);
    if (p == NULL) {
        return BASE_ENOMEM;
    }
    if (len > 0) {
        memcpy(p, payload, len);
    }
    struct lg_emitted *e = &ctx->events[ctx->nevents++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->payload = p;
    e->len = len;
    return 0;
}

int lg_ctx_return(struct lg_ctx *ctx, const void *data, size_t len)
{
    base_buf_reset(&ctx->ret);
    return base_buf_add(&ctx->ret, data, len);
}

int lg_ctx_fail(struct lg_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->reason, sizeof ctx->reason, fmt, ap);
    va_end(ap);
    /* A reason is stored in the block and answered as JSON text: keep it
     * valid UTF-8 whatever bytes a contract echoed or the length cut. */
    base_utf8_clean(ctx->reason);
    return code;
}

/* ---- executing a block ------------------------------------------------- */

struct block_run {
    struct lg_channel *ch;
    struct kv_txn *txn;
    uint64_t number;
    uint64_t ts;
    struct base_buf results;     /* the results section */
    struct cr_sha256_ctx writes; /* W of the state hash */
    struct lg_outcome *out;      /* n entries, may be NULL */
    /* Events of the block, kept for the subscribers until after commit. */
    struct base_buf evbuf;
    size_t nevents;
};

static int add_result(struct block_run *br, int32_t code, const char *reason,
                      const void *payload, size_t plen)
{
    size_t rl = strlen(reason);
    int rv = base_buf_add_u32(&br->results, (uint32_t)code);
    if (rv == 0) {
        rv = base_buf_add_u16(&br->results, (uint16_t)rl);
    }
    if (rv == 0) {
        rv = base_buf_add(&br->results, reason, rl);
    }
    if (rv == 0) {
        rv = base_buf_add_u32(&br->results, (uint32_t)plen);
    }
    if (rv == 0) {
        rv = base_buf_add(&br->results, payload, plen);
    }
    return rv;
}

static void hash_write(struct block_run *br, const struct lg_write *w)
{
    /* Length, key, op and value length in one piece: a hash update has a
     * cost of its own, and a trade writes half a dozen keys. */
    uint8_t rec[2 + LG_NAME_MAX + 1 + LG_KEY_MAX + 1 + 4];
    size_t n = 0;
    rec[n++] = (uint8_t)(w->klen >> 8);
    rec[n++] = (uint8_t)w->klen;
    memcpy(rec + n, w->key, w->klen);
    n += w->klen;
    rec[n++] = w->del ? 2 : 1;
    base_put_u32(rec + n, (uint32_t)w->vlen);
    n += 4;
    cr_sha256_update(&br->writes, rec, n);
    if (w->vlen > 0) {
        cr_sha256_update(&br->writes, w->val, w->vlen);
    }
}

/* Store the writes and events of a successful call. */
static int apply_ctx(struct block_run *br, struct lg_ctx *ctx, uint32_t idx)
{
    struct lg_channel *ch = br->ch;
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < ctx->nwrites; i++) {
        const struct lg_write *w = &ctx->writes[i];
        hash_write(br, w);
        base_buf_reset(&b);
        rv = base_buf_add_u64(&b, br->number);
        if (rv == 0) {
            rv = base_buf_add_u32(&b, idx);
        }
        if (rv == 0) {
            rv = base_buf_add(&b, w->val, w->vlen);
        }
        if (rv == 0 && w->del) {
            rv = kv_del(br->txn, ch->state, w->key, w->klen);
            rv = rv == BASE_ENOTFOUND ? 0 : rv;
        } else if (rv == 0) {
            rv = kv_put(br->txn, ch->state, w->key, w->klen, b.data, b.len);
        }
        /* History: u16 key length, key, u64 block, u32 tx -> op, value. */
        base_buf_reset(&b);
        if (rv == 0) {
            rv = base_buf_add_u16(&b, (uint16_t)w->klen);
        }
        if (rv == 0) {
            rv = base_buf_add(&b, w->key, w->klen);
        }
        if (rv == 0) {
            rv = base_buf_add_u64(&b, br->number);
        }
        if (rv == 0) {
            rv = base_buf_add_u32(&b, idx);
        }
        size_t klen = b.len;
        if (rv == 0) {
            rv = base_buf_add_u8(&b, w->del ? 2 : 1);
        }
        if (rv == 0) {
            rv = base_buf_add(&b, w->val, w->vlen);
        }
        if (rv == 0) {
            rv = kv_put(br->txn, ch->history, b.data, klen, b.data + klen,
                        b.len - klen);
        }
    }
    for (size_t i = 0; rv == 0 && i < ctx->nevents; i++) {
        const struct lg_emitted *e = &ctx->events[i];
        uint8_t key[14];
        base_put_u64(key, br->number);
        base_put_u32(key + 8, idx);
        key[12] = (uint8_t)(i >> 8);
        key[13] = (uint8_t)i;
        base_buf_reset(&b);
        size_t cl = ctx->nslen - 1, nl = strlen(e->name);
        rv = base_buf_add_u8(&b, (uint8_t)cl);
        if (rv == 0) {
            rv = base_buf_add(&b, ctx->ns, cl);
        }
        if (rv == 0) {
            rv = base_buf_add_u8(&b, (uint8_t)nl);
        }
        if (rv == 0) {
            rv = base_buf_add(&b, e->name, nl);
        }
        if (rv == 0) {
            rv = base_buf_add(&b, e->payload, e->len);
        }
        if (rv == 0) {
            rv = kv_put(br->txn, ch->events, key, sizeof key, b.data, b.len);
        }
        /* Keep a copy for the subscribers: key, u32 length, value. */
        if (rv == 0 && ch->l->nsubs > 0) {
            rv = base_buf_add(&br->evbuf, key, sizeof key);
            if (rv == 0) {
                rv = base_buf_add_u32(&br->evbuf, (uint32_t)b.len);
            }
            if (rv == 0) {
                rv = base_buf_add(&br->evbuf, b.data, b.len);
            }
            br->nevents++;
        }
    }
    base_buf_release(&b);
    return rv;
}

/* @absent: the replay check of this transaction found no entry, so there
 * is none (nothing else writes the index in between) and the lookup, a
 * random key in the channel's largest tree, need not be done twice. */
static int index_tx(struct block_run *br, const struct cr_hash *id,
                    uint32_t idx, int32_t code, bool absent)
{
    /* The first copy of an id owns its entry: a later copy (recorded as a
     * replay, or failing a time check) must not overwrite it. */
    struct kv_val old;
    int rv = absent ? BASE_ENOTFOUND
                    : kv_get(br->txn, br->ch->txs, id->b, CR_HASH_SIZE, &old);
    if (rv != BASE_ENOTFOUND) {
        return rv;
    }
    uint8_t v[16];
    base_put_u64(v, br->number);
    base_put_u32(v + 8, idx);
    base_put_u32(v + 12, (uint32_t)code);
    return kv_put(br->txn, br->ch->txs, id->b, CR_HASH_SIZE, v, sizeof v);
}

/* Remember a certificate a valid transaction introduced (its admission or
 * execution checked it), keeping where it was first. */
static int record_cert(struct block_run *br, const struct lg_slice *cert,
                       uint32_t idx)
{
    struct cr_hash h;
    struct kv_val old;
    cr_sha256(&h, cert->p, cert->len);
    int rv = kv_get(br->txn, br->ch->certs, h.b, CR_HASH_SIZE, &old);
    if (rv != BASE_ENOTFOUND) {
        return rv;
    }
    uint8_t v[12];
    base_put_u64(v, br->number);
    base_put_u32(v + 8, idx);
    return kv_put(br->txn, br->ch->certs, h.b, CR_HASH_SIZE, v, sizeof v);
}

/* Run one transaction. Returns a storage error only; the transaction's own
 * outcome goes to the results section. */
static int run_tx(struct block_run *br, const struct lg_slice *bytes,
                  uint32_t idx, int32_t sigcode)
{
    struct lg_channel *ch = br->ch;
    struct lg_outcome *o = br->out ? &br->out[idx] : NULL;
    char reason[LG_REASON_MAX + 1];
    reason[0] = '\0';
    struct lg_tx tx;
    int code = lg_tx_decode(&tx, bytes->p, bytes->len);
    bool decoded = code == 0;
    if (code != 0) {
        snprintf(reason, sizeof reason, "malformed transaction");
        if (o != NULL) {
            memset(&o->id, 0, sizeof o->id);
        }
    } else if (o != NULL) {
        o->id = tx.id;
    }
    if (code == 0 && strcmp(tx.channel, ch->name) != 0) {
        code = BASE_ENOCHANNEL;
        snprintf(reason, sizeof reason, "transaction is for channel '%s'",
                 tx.channel);
    }
    if (code == 0 && sigcode != 0) {
        /* Recompute the reason; the parallel pass kept only codes. */
        code = lg__cert_check(ch, &tx, reason);
        if (code == 0) {
            code = check_sig(&tx, reason);
        }
        if (code == 0) {
            code = sigcode;
            snprintf(reason, sizeof reason, "%s", base_strerror(sigcode));
        }
    }
    if (code == 0) {
        code = check_time(&tx.cert, br->ts, reason);
    }
    bool absent = false; /* the index has no entry for the id */
    if (code == 0) {
        struct kv_val v;
        int rv = kv_get(br->txn, ch->txs, tx.id.b, CR_HASH_SIZE, &v);
        absent = rv == BASE_ENOTFOUND;
        if (rv == 0) {
            code = BASE_EREPLAY;
            snprintf(
                reason, sizeof reason,
                "transaction was already committed in block %llu",
                (unsigned long long)(v.len >= 8 ? base_get_u64(v.data) : 0));
        } else if (rv != BASE_ENOTFOUND) {
            return rv;
        }
        if (code == 0) {
            code = check_call(ch, &tx, reason);
        }
    }
    struct lg_ctx ctx;
    bool have_ctx = false;
    int rv = 0;
    if (code == 0) {
        lg__ctx_init(&ctx, ch, br->txn, &tx, br->ts, false);
        ctx.block = br->number;
        have_ctx = true;
        code = ch->l->exec.invoke(ch->l->exec.impl, &ctx, tx.contract,
                                  tx.function, tx.nargs, tx.args);
        if (code > 0) {
            code = BASE_EABORTED; /* contracts return 0 or a BASE_E* code */
        }
        if (code == BASE_ENOMEM) {
            /* Running out of memory is this machine's problem, not the
             * transaction's: recording it would make results differ
             * between nodes. Fail the whole block instead. */
            lg__ctx_release(&ctx);
            return BASE_ENOMEM;
        }
        if (code != 0) {
            snprintf(reason, sizeof reason, "%s",
                     ctx.reason[0] ? ctx.reason : base_strerror(code));
        } else {
            rv = apply_ctx(br, &ctx, idx);
        }
        for (uint32_t i = 0; rv == 0 && code == 0 && i < tx.nintro; i++) {
            rv = record_cert(br, &tx.intro[i], idx);
        }
    }
    /* Index every decoded transaction, invalid ones too, so a copy can
     * never be replayed; but a replayed copy must not overwrite the index
     * entry of the original. */
    if (rv == 0 && decoded) {
        rv = index_tx(br, &tx.id, idx, code, absent);
    }
    if (rv == 0) {
        const struct base_buf *ret = have_ctx && code == 0 ? &ctx.ret : NULL;
        rv = add_result(br, code, reason, ret ? ret->data : NULL,
                        ret ? ret->len : 0);
    }
    if (have_ctx) {
        lg__ctx_release(&ctx);
    }
    if (o != NULL) {
        o->code = code;
        memcpy(o->reason, reason, strlen(reason) + 1);
    }
    return rv;
}

static void notify(struct lg_channel *ch, const struct lg_header *h,
                   const struct lg_outcome *out, size_t n,
                   const struct block_run *br)
{
    struct lg_ledger *l = ch->l;
    for (size_t s = 0; s < l->nsubs; s++) {
        if (l->subs[s].on_block != NULL) {
            l->subs[s].on_block(l->subs[s].arg, ch, h, out, n);
        }
    }
    struct base_rd r;
    base_rd_init(&r, br->evbuf.data, br->evbuf.len);
    for (size_t i = 0; i < br->nevents; i++) {
        const uint8_t *key = base_rd_bytes(&r, 14);
        uint32_t vl = base_rd_u32(&r);
        const uint8_t *v = base_rd_bytes(&r, vl);
        if (key == NULL || v == NULL) {
            break;
        }
        struct base_rd vr;
        base_rd_init(&vr, v, vl);
        char contract[LG_NAME_MAX + 1], name[LG_NAME_MAX + 1];
        uint8_t cl = base_rd_u8(&vr);
        memcpy(contract, base_rd_bytes(&vr, cl), cl);
        contract[cl] = '\0';
        uint8_t nl = base_rd_u8(&vr);
        memcpy(name, base_rd_bytes(&vr, nl), nl);
        name[nl] = '\0';
        struct lg_event e = {ch->name,
                             base_get_u64(key),
                             base_get_u32(key + 8),
                             contract,
                             name,
                             {vr.p + vr.off, base_rd_left(&vr)}};
        for (size_t s = 0; s < l->nsubs; s++) {
            if (l->subs[s].on_event != NULL) {
                l->subs[s].on_event(l->subs[s].arg, &e);
            }
        }
    }
}

static int store_block(struct lg_channel *ch, struct kv_txn *txn,
                       const struct lg_header *h, const struct cr_hash *hash,
                       const uint8_t *bytes, size_t len)
{
    uint8_t key[8];
    base_put_u64(key, h->number);
    int rv = kv_append(txn, ch->blocks, key, 8, bytes, len);
    if (rv == 0) {
        rv = kv_put(txn, ch->hashes, hash->b, CR_HASH_SIZE, key, 8);
    }
    uint8_t tip[8 + 2 * CR_HASH_SIZE];
    base_put_u64(tip, h->number + 1);
    memcpy(tip + 8, hash->b, CR_HASH_SIZE);
    memcpy(tip + 8 + CR_HASH_SIZE, h->state_hash.b, CR_HASH_SIZE);
    if (rv == 0) {
        rv = kv_put(txn, ch->meta, "tip", 3, tip, sizeof tip);
    }
    return rv;
}

static void set_tip(struct lg_channel *ch, const struct lg_header *h,
                    const struct cr_hash *hash)
{
    pthread_mutex_lock(&ch->tip_lock);
    ch->height = h->number + 1;
    ch->tip = *hash;
    ch->state_hash = h->state_hash;
    pthread_mutex_unlock(&ch->tip_lock);
}

static void next_state_hash(struct cr_hash *out, const struct cr_hash *prev,
                            struct cr_sha256_ctx *writes)
{
    struct cr_hash w;
    cr_sha256_final(writes, &w);
    uint8_t b[2 * CR_HASH_SIZE];
    memcpy(b, prev->b, CR_HASH_SIZE);
    memcpy(b + CR_HASH_SIZE, w.b, CR_HASH_SIZE);
    cr_sha256(out, b, sizeof b);
}

static int tx_root(struct cr_hash *root, const struct lg_slice *txs, size_t n)
{
    struct cr_hash *leaves = base_malloc(n * sizeof *leaves);
    if (leaves == NULL) {
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        cr_merkle_leaf(&leaves[i], txs[i].p, txs[i].len);
    }
    int rv = cr_merkle_root(root, leaves, n);
    base_free(leaves);
    return rv;
}

/* Execute the transactions of block @number on top of the tip. Shared by
 * lg_commit (building a block) and lg_apply (checking one). */
static int execute(struct block_run *br, const struct lg_slice *txs,
                   const bool *admitted, size_t n)
{
    int32_t *sigcodes = base_calloc(n, sizeof *sigcodes);
    if (sigcodes == NULL) {
        return BASE_ENOMEM;
    }
    verify_parallel(br->ch, txs, admitted, n, sigcodes);
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        rv = run_tx(br, &txs[i], (uint32_t)i, sigcodes[i]);
    }
    base_free(sigcodes);
    return rv;
}

static void run_init(struct block_run *br, struct lg_channel *ch, uint64_t ts,
                     struct lg_outcome *out)
{
    memset(br, 0, sizeof *br);
    br->ch = ch;
    br->ts = ts;
    br->out = out;
    base_buf_init(&br->results, 0);
    base_buf_init(&br->evbuf, 0);
    cr_sha256_init(&br->writes);
}

static void run_release(struct block_run *br)
{
    base_buf_release(&br->results);
    base_buf_release(&br->evbuf);
}

/* An executed block waiting for its commit: the write transaction stays
 * open (holding LMDB's writer lock) so the block can be stored exactly as
 * executed once the orderer (a Raft cluster, say) has agreed on it. */
struct lg_pending {
    struct lg_channel *ch;
    struct block_run br;
    struct lg_outcome *outs; /* n entries, owned */
    size_t n;
    struct base_buf block;
    struct lg_header h;
    struct cr_hash hash;
};

static void pending_free(struct lg_pending *p)
{
    if (p->br.txn != NULL) {
        kv_txn_abort(p->br.txn);
    }
    run_release(&p->br);
    base_buf_release(&p->block);
    base_free(p->outs);
    base_free(p);
}

/* The tip a block is prepared on: block @height follows @tip and @state.
 * @parent, when not NULL, is the pending block's open transaction: the new
 * one is nested in it. */
struct tip_of {
    uint64_t height;
    struct cr_hash tip, state;
    struct kv_txn *parent;
};

/* Execute @n items on top of @at, sign the block and encode it into
 * p->block, leaving the write transaction open. */
static int prepare(struct lg_pending *p, const struct tip_of *at,
                   const struct lg_item *items, uint64_t ts_ns,
                   const struct cr_keypair *orderer)
{
    struct lg_channel *ch = p->ch;
    size_t n = p->n;
    struct lg_slice *txs = base_malloc(n * sizeof *txs);
    bool *adm = base_malloc(n * sizeof *adm);
    if (txs == NULL || adm == NULL) {
        base_free(txs);
        base_free(adm);
        return BASE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        txs[i].p = items[i].bytes;
        txs[i].len = items[i].len;
        adm[i] = items[i].admitted;
    }
    struct lg_header *h = &p->h;
    p->br.number = at->height;
    int rv = at->parent != NULL ? kv_txn_begin_child(at->parent, &p->br.txn)
                                : kv_txn_begin(ch->l->env, true, &p->br.txn);
    if (rv == 0) {
        rv = execute(&p->br, txs, adm, n);
    }
    if (rv == 0) {
        h->number = at->height;
        h->prev_hash = at->tip;
        h->timestamp = ts_ns;
        h->tx_count = (uint32_t)n;
        cr_sha256(&h->results_hash, p->br.results.data, p->br.results.len);
        next_state_hash(&h->state_hash, &at->state, &p->br.writes);
        rv = tx_root(&h->tx_root, txs, n);
    }
    if (rv == 0) {
        uint8_t hb[LG_HEADER_SIZE], sig[CR_SIG_SIZE];
        lg_header_encode(h, hb);
        cr_sha256(&p->hash, hb, sizeof hb);
        cr_sign(sig, p->hash.b, CR_HASH_SIZE, orderer);
        rv = base_buf_add(&p->block, hb, sizeof hb);
        if (rv == 0) {
            rv = base_buf_add(&p->block, sig, sizeof sig);
        }
        for (size_t i = 0; rv == 0 && i < n; i++) {
            rv = base_buf_add_u32(&p->block, (uint32_t)txs[i].len);
            if (rv == 0) {
                rv = base_buf_add(&p->block, txs[i].p, txs[i].len);
            }
        }
        if (rv == 0) {
            rv = base_buf_add(&p->block, p->br.results.data, p->br.results.len);
        }
    }
    if (rv == 0) {
        rv = store_block(ch, p->br.txn, h, &p->hash, p->block.data,
                         p->block.len);
    }
    base_free(txs);
    base_free(adm);
    return rv;
}

static int pending_new(struct lg_channel *ch, const struct tip_of *at,
                       const struct lg_item *items, size_t n, uint64_t ts_ns,
                       const struct cr_keypair *orderer,
                       struct lg_pending **pending)
{
    if (n == 0 || n > LG_BLOCK_MAX_TX || ch->l->read_only) {
        return BASE_EINVAL;
    }
    struct lg_pending *p = base_calloc(1, sizeof *p);
    struct lg_outcome *outs = base_calloc(n, sizeof *outs);
    if (p == NULL || outs == NULL) {
        base_free(p);
        base_free(outs);
        return BASE_ENOMEM;
    }
    p->ch = ch;
    p->n = n;
    p->outs = outs;
    run_init(&p->br, ch, ts_ns, outs);
    base_buf_init(&p->block, 0);
    int rv = prepare(p, at, items, ts_ns, orderer);
    if (rv != 0) {
        pending_free(p);
        return rv;
    }
    *pending = p;
    return 0;
}

int lg_prepare(struct lg_channel *ch, const struct lg_item *items, size_t n,
               uint64_t ts_ns, const struct cr_keypair *orderer,
               struct lg_outcome *out, struct lg_pending **pending)
{
    struct tip_of at = {0};
    lg_channel_tip(ch, &at.height, &at.tip, &at.state);
    struct lg_pending *p;
    int rv = pending_new(ch, &at, items, n, ts_ns, orderer, &p);
    if (rv != 0) {
        return rv;
    }
    if (out != NULL) {
        memcpy(out, p->outs, n * sizeof *out);
    }
    *pending = p;
    return 0;
}

int lg_prepare_after(struct lg_pending *prev, const struct lg_item *items,
                     size_t n, uint64_t ts_ns, const struct cr_keypair *orderer,
                     struct base_buf *block, struct cr_hash *hash)
{
    struct tip_of at = {prev->h.number + 1, prev->hash, prev->h.state_hash,
                        prev->br.txn};
    struct lg_pending *p;
    int rv = pending_new(prev->ch, &at, items, n, ts_ns, orderer, &p);
    if (rv != 0) {
        return rv;
    }
    rv = base_buf_add(block, p->block.data, p->block.len);
    if (rv == 0 && hash != NULL) {
        *hash = p->hash;
    }
    /* Aborting the nested transaction leaves @prev as it was. */
    pending_free(p);
    return rv;
}

struct lg_slice lg_pending_block(const struct lg_pending *p)
{
    return (struct lg_slice){p->block.data, p->block.len};
}

const struct lg_header *lg_pending_header(const struct lg_pending *p,
                                          struct cr_hash *hash)
{
    if (hash != NULL) {
        *hash = p->hash;
    }
    return &p->h;
}

const struct lg_outcome *lg_pending_outcomes(const struct lg_pending *p)
{
    return p->outs;
}

int lg_pending_commit(struct lg_pending *p, struct lg_header *header)
{
    int rv = kv_txn_commit(p->br.txn);
    p->br.txn = NULL;
    if (rv == 0) {
        set_tip(p->ch, &p->h, &p->hash);
        notify(p->ch, &p->h, p->outs, p->n, &p->br);
        if (header != NULL) {
            *header = p->h;
        }
    }
    pending_free(p);
    return rv;
}

void lg_pending_abort(struct lg_pending *p)
{
    if (p != NULL) {
        pending_free(p);
    }
}

int lg_commit(struct lg_channel *ch, const struct lg_item *items, size_t n,
              uint64_t ts_ns, const struct cr_keypair *orderer,
              struct lg_outcome *out, struct lg_header *header)
{
    struct lg_pending *p;
    int rv = lg_prepare(ch, items, n, ts_ns, orderer, out, &p);
    return rv != 0 ? rv : lg_pending_commit(p, header);
}

int lg__block_check(const struct lg_channel *ch, const struct lg_block *b,
                    uint64_t number, const struct cr_hash *prev, char *errmsg)
{
    struct cr_hash root, rh;
    unsigned long long num = (unsigned long long)b->h.number;
    int rv = 0;
    if (b->h.number != number) {
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "block %llu: expected block number %llu", num,
                       (unsigned long long)number);
    } else if (memcmp(b->h.prev_hash.b, prev->b, CR_HASH_SIZE) != 0) {
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "block %llu: previous-hash link is broken", num);
    } else if (cr_verify(b->sig, b->hash.b, CR_HASH_SIZE, ch->cfg.orderer_pk) !=
               0) {
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "block %llu: orderer signature does not verify", num);
    } else if ((rv = tx_root(&root, b->txs, b->h.tx_count)) != 0) {
        base_errf(errmsg, rv, "block %llu: %s", num, base_strerror(rv));
    } else if (memcmp(root.b, b->h.tx_root.b, CR_HASH_SIZE) != 0) {
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "block %llu: transactions do not match the Merkle "
                       "root",
                       num);
    } else {
        cr_sha256(&rh, b->results_bytes.p, b->results_bytes.len);
        if (memcmp(rh.b, b->h.results_hash.b, CR_HASH_SIZE) != 0) {
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "block %llu: results do not match the header", num);
        }
    }
    return rv;
}

/* A block checked and executed, stored in a transaction not yet
 * committed: what its subscribers are told once it is. */
struct applied {
    struct lg_block b;
    struct lg_outcome *outs;
    struct block_run br;
};

static void applied_release(struct applied *a)
{
    run_release(&a->br);
    base_free(a->outs);
    lg_block_release(&a->b);
}

/* Check block @bytes against the tip (@height, @tip, @state), execute it
 * and store it in @txn. On success *@a holds it (applied_release after
 * notifying); on failure nothing is held and @txn has the block's partial
 * writes (abort it). */
static int apply_in(struct lg_channel *ch, struct kv_txn *txn,
                    const uint8_t *bytes, size_t len, uint64_t height,
                    const struct cr_hash *tip, const struct cr_hash *state,
                    struct applied *a, char *errmsg)
{
    memset(a, 0, sizeof *a);
    int rv = lg_block_decode(&a->b, bytes, len);
    if (rv != 0) {
        return base_errf(errmsg, rv, "block is malformed (%s)",
                         base_strerror(rv));
    }
    struct lg_block *b = &a->b;
    unsigned long long num = (unsigned long long)b->h.number;
    rv = lg__block_check(ch, b, height, tip, errmsg);
    if (rv != 0) {
        lg_block_release(b);
        return rv;
    }
    size_t n = b->h.tx_count;
    a->outs = base_calloc(n, sizeof *a->outs);
    if (a->outs == NULL) {
        lg_block_release(b);
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    struct block_run *br = &a->br;
    run_init(br, ch, b->h.timestamp, a->outs);
    br->number = b->h.number;
    br->txn = txn;
    rv = execute(br, b->txs, NULL, n);
    if (rv != 0) {
        base_errf(errmsg, rv, "block %llu: %s", num, base_strerror(rv));
    }
    if (rv == 0 &&
        (br->results.len != b->results_bytes.len ||
         memcmp(br->results.data, b->results_bytes.p, br->results.len) != 0)) {
        /* Name the first transaction whose outcome differs. */
        size_t i = 0;
        while (i < n && (a->outs[i].code == b->results[i].code)) {
            i++;
        }
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "block %llu, transaction %zu: re-execution gives a "
                       "different result (stored %d, now %d: %s)",
                       num, i < n ? i : 0, i < n ? b->results[i].code : 0,
                       i < n ? a->outs[i].code : 0,
                       i < n ? a->outs[i].reason : "");
    }
    struct cr_hash sh;
    if (rv == 0) {
        next_state_hash(&sh, state, &br->writes);
        if (memcmp(sh.b, b->h.state_hash.b, CR_HASH_SIZE) != 0) {
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "block %llu: re-execution gives a different "
                           "state hash",
                           num);
        }
    }
    if (rv == 0) {
        rv = store_block(ch, txn, &b->h, &b->hash, bytes, len);
        if (rv != 0) {
            base_errf(errmsg, rv, "block %llu: cannot store: %s", num,
                      base_strerror(rv));
        }
    }
    br->txn = NULL;
    if (rv != 0) {
        applied_release(a);
    }
    return rv;
}

int lg_apply(struct lg_channel *ch, const uint8_t *bytes, size_t len,
             char *errmsg)
{
    size_t done;
    struct lg_slice one = {bytes, len};
    return lg_apply_many(ch, &one, 1, &done, errmsg);
}

int lg_apply_many(struct lg_channel *ch, const struct lg_slice *blocks,
                  size_t n, size_t *applied, char *errmsg)
{
    *applied = 0;
    if (ch->l->read_only) {
        return base_errf(errmsg, BASE_EINVAL, "ledger is read-only");
    }
    if (n == 0) {
        return 0;
    }
    struct applied *as = base_calloc(n, sizeof *as);
    if (as == NULL) {
        return base_errf(errmsg, BASE_ENOMEM, "out of memory");
    }
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(ch, &height, &tip, &state);
    struct kv_txn *outer = NULL;
    int rv = kv_txn_begin(ch->l->env, true, &outer);
    if (rv != 0) {
        base_free(as);
        return base_errf(errmsg, rv, "cannot store: %s", base_strerror(rv));
    }
    /* Each block in a child transaction: a block that fails leaves the
     * ones before it to be committed, and nothing of its own. One block
     * alone needs no child. */
    size_t k = 0;
    int bad = 0; /* the error of block k, which ends the run */
    for (; k < n; k++) {
        struct kv_txn *txn = outer;
        if (n > 1 && (bad = kv_txn_begin_child(outer, &txn)) != 0) {
            base_errf(errmsg, bad, "cannot store: %s", base_strerror(bad));
            break;
        }
        bad = apply_in(ch, txn, blocks[k].p, blocks[k].len, height, &tip,
                       &state, &as[k], errmsg);
        if (txn != outer) {
            if (bad == 0) {
                bad = kv_txn_commit(txn);
                if (bad != 0) {
                    applied_release(&as[k]);
                    base_errf(errmsg, bad, "cannot store: %s",
                              base_strerror(bad));
                }
            } else {
                kv_txn_abort(txn);
            }
        }
        if (bad != 0) {
            break;
        }
        height = as[k].b.h.number + 1;
        tip = as[k].b.hash;
        state = as[k].b.h.state_hash;
    }
    if (k == 0) {
        kv_txn_abort(outer);
        base_free(as);
        return bad;
    }
    rv = kv_txn_commit(outer);
    if (rv != 0) {
        base_errf(errmsg, rv, "blocks %llu-%llu: cannot store: %s",
                  (unsigned long long)as[0].b.h.number,
                  (unsigned long long)as[k - 1].b.h.number, base_strerror(rv));
    }
    for (size_t i = 0; i < k; i++) {
        if (rv == 0) {
            set_tip(ch, &as[i].b.h, &as[i].b.hash);
            notify(ch, &as[i].b.h, as[i].outs, as[i].b.h.tx_count, &as[i].br);
        }
        applied_release(&as[i]);
    }
    base_free(as);
    if (rv != 0) {
        return rv;
    }
    *applied = k;
    return bad;
}

/* ---- channels ----------------------------------------------------------- */

int lg__channel_adopt(struct lg_ledger *l, const uint8_t *genesis, size_t len,
                      char *errmsg)
{
    struct lg_block b;
    int rv = lg_block_decode(&b, genesis, len);
    if (rv != 0) {
        return base_errf(errmsg, BASE_ECORRUPT, "genesis block is malformed");
    }
    struct lg_config cfg;
    struct cr_hash root, zero = {{0}};
    rv = lg_config_decode(&cfg, b.txs[0].p, b.txs[0].len);
    if (rv == 0 && (b.h.number != 0 || b.h.tx_count != 1 ||
                    memcmp(b.h.prev_hash.b, zero.b, CR_HASH_SIZE) != 0)) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0) {
        rv = tx_root(&root, b.txs, 1);
    }
    if (rv == 0 &&
        (memcmp(root.b, b.h.tx_root.b, CR_HASH_SIZE) != 0 ||
         cr_verify(b.sig, b.hash.b, CR_HASH_SIZE, cfg.orderer_pk) != 0)) {
        rv = BASE_ECORRUPT;
    }
    if (rv != 0) {
        lg_block_release(&b);
        return base_errf(errmsg, BASE_ECORRUPT,
                         "genesis block does not verify");
    }
    struct lg_channel *existing;
    if (lg_channel_get(l, cfg.channel, &existing) == 0) {
        lg_block_release(&b);
        return base_errf(errmsg, BASE_EEXIST, "channel '%s' already exists",
                         cfg.channel);
    }
    struct kv_txn *t;
    rv = kv_txn_begin(l->env, true, &t);
    if (rv != 0) {
        lg_block_release(&b);
        return base_errf(errmsg, rv, "cannot write: %s", base_strerror(rv));
    }
    struct lg_channel *ch = NULL;
    rv = kv_put(t, l->channels_db, cfg.channel, strlen(cfg.channel), b.txs[0].p,
                b.txs[0].len);
    if (rv == 0) {
        rv = channel_open(l, t, &cfg, true, &ch);
    }
    if (rv == 0) {
        rv = store_block(ch, t, &b.h, &b.hash, genesis, len);
    }
    if (rv == 0) {
        rv = kv_txn_commit(t);
    } else {
        kv_txn_abort(t);
    }
    if (rv == 0) {
        set_tip(ch, &b.h, &b.hash);
    } else if (ch != NULL) {
        l->nchannels--;
        channel_free(ch);
    }
    lg_block_release(&b);
    if (rv != 0) {
        return base_errf(errmsg, rv, "cannot create channel: %s",
                         base_strerror(rv));
    }
    return 0;
}

int lg_channel_join(struct lg_ledger *l, const uint8_t *genesis, size_t len,
                    char *errmsg)
{
    errmsg[0] = '\0';
    if (l->read_only) {
        return base_errf(errmsg, BASE_EINVAL, "ledger is read-only");
    }
    return lg__channel_adopt(l, genesis, len, errmsg);
}

int lg_channel_create(struct lg_ledger *l, const struct lg_config *cfg,
                      const struct cr_keypair *orderer, char *errmsg)
{
    if (memcmp(cfg->orderer_pk, orderer->pk, CR_PUBKEY_SIZE) != 0) {
        return base_errf(errmsg, BASE_EINVAL,
                         "orderer key does not match the configuration");
    }
    struct base_buf cb, block;
    base_buf_init(&cb, 0);
    base_buf_init(&block, 0);
    int rv = lg_config_encode(cfg, &cb);
    if (rv != 0) {
        base_buf_release(&cb);
        return base_errf(errmsg, rv, "bad channel configuration: %s",
                         base_strerror(rv));
    }
    struct lg_header h = {0};
    struct lg_slice cs = {cb.data, cb.len};
    struct cr_sha256_ctx w;
    cr_sha256_init(&w);
    struct cr_hash zero = {{0}}, hash;
    next_state_hash(&h.state_hash, &zero, &w);
    h.timestamp = cfg->genesis_time;
    h.tx_count = 1;
    struct block_run br;
    run_init(&br, NULL, 0, NULL);
    rv = add_result(&br, 0, "", NULL, 0);
    if (rv == 0) {
        cr_sha256(&h.results_hash, br.results.data, br.results.len);
        rv = tx_root(&h.tx_root, &cs, 1);
    }
    if (rv == 0) {
        uint8_t hb[LG_HEADER_SIZE], sig[CR_SIG_SIZE];
        lg_header_encode(&h, hb);
        cr_sha256(&hash, hb, sizeof hb);
        cr_sign(sig, hash.b, CR_HASH_SIZE, orderer);
        rv = base_buf_add(&block, hb, sizeof hb);
        if (rv == 0) {
            rv = base_buf_add(&block, sig, sizeof sig);
        }
        if (rv == 0) {
            rv = base_buf_add_u32(&block, (uint32_t)cb.len);
        }
        if (rv == 0) {
            rv = base_buf_add(&block, cb.data, cb.len);
        }
        if (rv == 0) {
            rv = base_buf_add(&block, br.results.data, br.results.len);
        }
    }
    if (rv == 0) {
        rv = lg__channel_adopt(l, block.data, block.len, errmsg);
    } else {
        base_errf(errmsg, rv, "%s", base_strerror(rv));
    }
    run_release(&br);
    base_buf_release(&cb);
    base_buf_release(&block);
    return rv;
}
