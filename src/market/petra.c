/* SPDX-License-Identifier: MIT */
/* PETra agents (paper 004): the DSO that checks withdrawals and keeps the
 * map from anonymous addresses to prosumers, and the prosumer's side:
 * withdrawing to a fresh address, reading the offers, picking the best. */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "market.h"

#define REQ_MAGIC "PTWR"
#define REP_MAGIC "PTRP"

struct mk_petra_addr_map {
    uint8_t address[CR_PUBKEY_SIZE];
    size_t account;
};

/* ---- the request ------------------------------------------------------- */

int mk_petra_request_encode(const struct mk_petra_request *r,
                            const struct cr_keypair *key, struct base_buf *out)
{
    if (r->n > MK_PETRA_MAX_ASSETS) {
        return BASE_EINVAL;
    }
    struct base_buf cert;
    base_buf_init(&cert, 0);
    size_t start = out->len;
    int rv = lg_cert_encode(&r->cert, &cert);
    rv = rv ? rv : base_buf_add(out, REQ_MAGIC, 4);
    rv = rv ? rv : base_buf_add_u8(out, 1);
    rv = rv ? rv : base_buf_add_u16(out, (uint16_t)cert.len);
    rv = rv ? rv : base_buf_add(out, cert.data, cert.len);
    rv = rv ? rv : base_buf_add(out, r->address, CR_PUBKEY_SIZE);
    rv = rv ? rv : base_buf_add_u64(out, (uint64_t)r->funds);
    rv = rv ? rv : base_buf_add_u8(out, (uint8_t)r->n);
    for (uint32_t i = 0; rv == 0 && i < r->n; i++) {
        rv = base_buf_add_u64(out, (uint64_t)r->assets[i].power);
        rv = rv ? rv : base_buf_add_u64(out, (uint64_t)r->assets[i].start);
        rv = rv ? rv : base_buf_add_u64(out, (uint64_t)r->assets[i].end);
    }
    uint8_t sig[CR_SIG_SIZE];
    if (rv == 0) {
        cr_sign(sig, out->data + start, out->len - start, key);
        rv = base_buf_add(out, sig, sizeof sig);
    }
    base_buf_release(&cert);
    return rv;
}

int mk_petra_request_decode(struct mk_petra_request *r, const uint8_t *p,
                            size_t len)
{
    struct base_rd rd;
    base_rd_init(&rd, p, len);
    memset(r, 0, sizeof *r);
    const uint8_t *magic = base_rd_bytes(&rd, 4);
    uint8_t version = base_rd_u8(&rd);
    uint16_t clen = base_rd_u16(&rd);
    const uint8_t *cert = base_rd_bytes(&rd, clen);
    if (magic == NULL || memcmp(magic, REQ_MAGIC, 4) != 0 || version != 1 ||
        cert == NULL) {
        return BASE_EPARSE;
    }
    struct base_rd cr;
    base_rd_init(&cr, cert, clen);
    if (lg_cert_decode(&r->cert, &cr) != 0 || base_rd_left(&cr) != 0) {
        return BASE_EPARSE;
    }
    const uint8_t *addr = base_rd_bytes(&rd, CR_PUBKEY_SIZE);
    r->funds = (int64_t)base_rd_u64(&rd);
    r->n = base_rd_u8(&rd);
    if (addr == NULL || r->n > MK_PETRA_MAX_ASSETS) {
        return BASE_EPARSE;
    }
    memcpy(r->address, addr, CR_PUBKEY_SIZE);
    for (uint32_t i = 0; i < r->n; i++) {
        r->assets[i].power = (int64_t)base_rd_u64(&rd);
        r->assets[i].start = (int64_t)base_rd_u64(&rd);
        r->assets[i].end = (int64_t)base_rd_u64(&rd);
    }
    size_t signed_len = rd.off;
    const uint8_t *sig = base_rd_bytes(&rd, CR_SIG_SIZE);
    if (base_rd_error(&rd) != 0 || sig == NULL || base_rd_left(&rd) != 0) {
        return BASE_EPARSE;
    }
    if (cr_verify(sig, p, signed_len, r->cert.pk) != 0) {
        return BASE_EBADSIG;
    }
    return 0;
}

static int reply_encode(struct base_buf *out, bool ok, const uint8_t *addr,
                        const char *reason, const struct lg_cert *cert,
                        char (*ids)[24], uint32_t nids)
{
    struct base_buf c;
    base_buf_init(&c, 0);
    int rv = cert ? lg_cert_encode(cert, &c) : 0;
    size_t rlen = strlen(reason);
    rv = rv ? rv : base_buf_add(out, REP_MAGIC, 4);
    rv = rv ? rv : base_buf_add_u8(out, 1);
    rv = rv ? rv : base_buf_add_u8(out, ok ? 0 : 1);
    rv = rv ? rv : base_buf_add(out, addr, CR_PUBKEY_SIZE);
    rv = rv ? rv : base_buf_add_u16(out, (uint16_t)rlen);
    rv = rv ? rv : base_buf_add(out, reason, rlen);
    rv = rv ? rv : base_buf_add_u16(out, (uint16_t)c.len);
    rv = rv ? rv : base_buf_add(out, c.data, c.len);
    rv = rv ? rv : base_buf_add_u8(out, (uint8_t)nids);
    for (uint32_t i = 0; rv == 0 && i < nids; i++) {
        size_t n = strlen(ids[i]);
        rv = base_buf_add_u8(out, (uint8_t)n);
        rv = rv ? rv : base_buf_add(out, ids[i], n);
    }
    base_buf_release(&c);
    return rv;
}

/* ---- the DSO ------------------------------------------------------------- */

int mk_petra_dso_init(struct mk_petra_dso *d)
{
    pthread_mutex_t *m = base_malloc(sizeof *m);
    if (m == NULL) {
        return BASE_ENOMEM;
    }
    pthread_mutex_init(m, NULL);
    d->lock = m;
    d->map = NULL;
    d->nmap = d->capmap = 0;
    memset(d->tot_prod_w, 0, sizeof d->tot_prod_w);
    memset(d->tot_cons_w, 0, sizeof d->tot_cons_w);
    d->dep_next = 1;
    d->withdrawals = d->failed = 0;
    return 0;
}

void mk_petra_dso_release(struct mk_petra_dso *d)
{
    if (d->lock != NULL) {
        pthread_mutex_destroy(d->lock);
        base_free(d->lock);
        d->lock = NULL;
    }
    base_free(d->map);
    d->map = NULL;
    cr_wipe(&d->anon_root, sizeof d->anon_root);
}

static const struct mk_petra_addr_map *find_addr(const struct mk_petra_dso *d,
                                                 const uint8_t *addr)
{
    for (size_t i = 0; i < d->nmap; i++) {
        if (memcmp(d->map[i].address, addr, CR_PUBKEY_SIZE) == 0) {
            return &d->map[i];
        }
    }
    return NULL;
}

const struct mk_petra_account *
mk_petra_dso_owner(const struct mk_petra_dso *d,
                   const uint8_t address[CR_PUBKEY_SIZE])
{
    const struct mk_petra_addr_map *m = find_addr(d, address);
    return m ? &d->accounts[m->account] : NULL;
}

void mk_petra_dso_map_entry(const struct mk_petra_dso *d, size_t i,
                            uint8_t address[CR_PUBKEY_SIZE], size_t *account)
{
    memcpy(address, d->map[i].address, CR_PUBKEY_SIZE);
    *account = d->map[i].account;
}

/* Is @c a PROSUMERS member certified by that organisation's root, valid
 * now? */
static bool real_identity(const struct mk_petra_dso *d, const struct lg_cert *c)
{
    if (strcmp(c->org, MK_PETRA_PEOPLE_ORG) != 0 ||
        strcmp(c->role, "prosumer") != 0) {
        return false;
    }
    struct base_buf b;
    base_buf_init(&b, 0);
    bool ok = lg_cert_encode(c, &b) == 0 && b.len > CR_SIG_SIZE &&
              cr_verify(b.data + b.len - CR_SIG_SIZE, b.data,
                        b.len - CR_SIG_SIZE, d->people_root) == 0;
    base_buf_release(&b);
    uint64_t now = base_wall_ns() / 1000000000u;
    return ok && now >= c->not_before && now <= c->expiry;
}

static int refuse(char *reason, const char *fmt, ...) BASE_PRINTF(2, 3);
static int refuse(char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, LG_REASON_MAX + 1, fmt, ap);
    va_end(ap);
    return BASE_EPERM;
}

/* The checks of withdrawAssets, in the order of mk_petra_dso_handle. */
static int check(const struct mk_petra_dso *d, const struct mk_petra_request *r,
                 size_t *acct, char *reason)
{
    const char *who = r->cert.name;
    if (!real_identity(d, &r->cert)) {
        return refuse(reason,
                      "certificate of %s/%s is not a valid %s member "
                      "certified by its root",
                      r->cert.org, who, MK_PETRA_PEOPLE_ORG);
    }
    size_t a = 0;
    while (a < d->naccounts && strcmp(d->accounts[a].name, who) != 0) {
        a++;
    }
    if (a == d->naccounts) {
        return refuse(reason, "%s has no account at the DSO", who);
    }
    if (find_addr(d, r->address) != NULL) {
        return refuse(reason, "the address was used before: make a fresh "
                              "one for every withdrawal");
    }
    if (r->funds < 0) {
        return refuse(reason, "negative funds requested");
    }
    if (r->n == 0 && r->funds == 0) {
        return refuse(reason, "nothing to withdraw");
    }
    int64_t prod[MK_PETRA_MAX_INTERVALS] = {0},
            cons[MK_PETRA_MAX_INTERVALS] = {0};
    for (uint32_t i = 0; i < r->n; i++) {
        const struct mk_petra_asset *x = &r->assets[i];
        if (x->power == 0) {
            return refuse(reason, "asset %u: zero power", i);
        }
        if (x->power < -1000000000LL || x->power > 1000000000LL) {
            return refuse(reason, "asset %u: power beyond 1 GW", i);
        }
        if (x->end < x->start) {
            return refuse(reason, "asset %u: end %lld is before start %lld", i,
                          (long long)x->end, (long long)x->start);
        }
        if (x->start < d->first || x->end >= d->first + d->n) {
            return refuse(reason,
                          "asset %u: intervals %lld..%lld are outside the "
                          "trading horizon %lld..%lld",
                          i, (long long)x->start, (long long)x->end,
                          (long long)d->first,
                          (long long)(d->first + d->n - 1));
        }
        for (int64_t k = x->start; k <= x->end; k++) {
            int64_t *t = x->power > 0 ? prod : cons;
            t[k - d->first] += x->power > 0 ? x->power : -x->power;
        }
    }
    const struct mk_petra_account *ac = &d->accounts[a];
    for (int64_t k = 0; k < d->n; k++) {
        long long iv = (long long)d->first + k;
        if (prod[k] > 0 && ac->wprod_w[k] + prod[k] > ac->prod_w[k]) {
            return refuse(reason,
                          "interval %lld: production %lld W is beyond the "
                          "forecast %lld W (%lld W withdrawn before)",
                          iv, (long long)prod[k], (long long)ac->prod_w[k],
                          (long long)ac->wprod_w[k]);
        }
        if (cons[k] > 0 && ac->wcons_w[k] + cons[k] > ac->cons_w[k]) {
            return refuse(reason,
                          "interval %lld: consumption %lld W is beyond the "
                          "forecast %lld W (%lld W withdrawn before)",
                          iv, (long long)cons[k], (long long)ac->cons_w[k],
                          (long long)ac->wcons_w[k]);
        }
        if (d->tot_prod_w[k] + prod[k] > d->export_w) {
            return refuse(reason,
                          "interval %lld: the feeder's export limit of %lld W "
                          "would be exceeded",
                          iv, (long long)d->export_w);
        }
        if (d->tot_cons_w[k] + cons[k] > d->import_w) {
            return refuse(reason,
                          "interval %lld: the feeder's import limit of %lld W "
                          "would be exceeded",
                          iv, (long long)d->import_w);
        }
    }
    if (r->funds > ac->funds) {
        return refuse(reason, "funds: %lld requested, %lld available",
                      (long long)r->funds, (long long)ac->funds);
    }
    *acct = a;
    return 0;
}

/* The transactions of one withdrawal go together and are waited for
 * together: one block, one fsync, instead of one each. */
struct batch;

struct batch_item {
    struct batch *b;
    struct cr_hash id; /* the transaction's id and block, from its callback */
    uint64_t block;
};

struct batch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    int code;
    char reason[LG_REASON_MAX + 1];
    struct batch_item items[MK_PETRA_MAX_ASSETS + 1];
};

static void batch_done(void *arg, const struct mk_result *r)
{
    struct batch_item *it = arg;
    struct batch *b = it->b;
    pthread_mutex_lock(&b->mu);
    it->id = r->id;
    it->block = r->block;
    if (r->code != 0 && b->code == 0) {
        b->code = r->code;
        snprintf(b->reason, sizeof b->reason, "the ledger refused it: %s",
                 r->reason);
    }
    b->pending--;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static int submit(struct mk_petra_dso *d, struct batch_item *it, const char *fn,
                  uint32_t n, const char *const *argv)
{
    struct batch *b = it->b;
    struct lg_slice args[4];
    for (uint32_t i = 0; i < n; i++) {
        args[i].p = (const uint8_t *)argv[i];
        args[i].len = strlen(argv[i]);
    }
    pthread_mutex_lock(&b->mu);
    b->pending++;
    pthread_mutex_unlock(&b->mu);
    int rv = mk_submit_async(d->cli, "petra", fn, n, args, batch_done, it);
    if (rv != 0) {
        pthread_mutex_lock(&b->mu);
        b->pending--;
        if (b->code == 0) {
            b->code = rv;
            snprintf(b->reason, sizeof b->reason, "cannot submit %s: %s", fn,
                     base_strerror(rv));
        }
        pthread_mutex_unlock(&b->mu);
    }
    return rv;
}

static int batch_wait(struct batch *b, char *reason)
{
    pthread_mutex_lock(&b->mu);
    while (b->pending > 0) {
        pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (b->code != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "%s", b->reason);
    }
    return b->code;
}

/* Record the withdrawal on chain and in the DSO's books; the address's
 * certificate goes to @cert and the new asset ids to @ids. */
static int record(struct mk_petra_dso *d, const struct mk_petra_request *r,
                  size_t a, struct lg_cert *cert, char (*ids)[24], char *reason)
{
    char addr[2 * CR_PUBKEY_SIZE + 1];
    base_hex_encode(addr, r->address, CR_PUBKEY_SIZE);
    memset(cert, 0, sizeof *cert);
    snprintf(cert->org, sizeof cert->org, "%s", MK_PETRA_ANON_ORG);
    snprintf(cert->name, sizeof cert->name, "%s", addr);
    snprintf(cert->role, sizeof cert->role, "anon");
    memcpy(cert->pk, r->address, CR_PUBKEY_SIZE);
    /* The same validity for every address: nothing in a certificate but
     * the key tells two addresses apart. */
    cert->not_before = d->cert_not_before;
    cert->expiry = d->cert_expiry;
    int rv = lg_cert_sign(cert, &d->anon_root);
    if (rv != 0) {
        return refuse(reason, "cannot certify the address");
    }
    struct batch *b = base_calloc(1, sizeof *b);
    if (b == NULL) {
        return refuse(reason, "the DSO is out of memory");
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    for (uint32_t i = 0; i <= r->n; i++) {
        b->items[i].b = b;
    }
    for (uint32_t i = 0; rv == 0 && i < r->n; i++) {
        char p[24], s[24], e[24];
        snprintf(p, sizeof p, "%lld", (long long)r->assets[i].power);
        snprintf(s, sizeof s, "%lld", (long long)r->assets[i].start);
        snprintf(e, sizeof e, "%lld", (long long)r->assets[i].end);
        const char *argv[] = {addr, p, s, e};
        rv = submit(d, &b->items[i], "addEnergyAsset", 4, argv);
    }
    if (rv == 0 && r->funds > 0) {
        char amt[24];
        snprintf(amt, sizeof amt, "%lld", (long long)r->funds);
        const char *argv[] = {addr, amt};
        rv = submit(d, &b->items[r->n], "addFinancialBalance", 2, argv);
    }
    /* Wait even after a failed submit: callbacks of the others use b. */
    rv = batch_wait(b, reason);
    for (uint32_t i = 0; rv == 0 && i < r->n; i++) {
        sc_petra_id(ids[i], 'a', b->items[i].block, &b->items[i].id, 0);
    }
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    base_free(b);
    if (rv != 0) {
        return BASE_EPERM;
    }
    if (d->nmap == d->capmap) {
        size_t cap = d->capmap ? 2 * d->capmap : 64;
        struct mk_petra_addr_map *m = base_realloc(d->map, cap * sizeof *m);
        if (m == NULL) {
            return refuse(reason, "the DSO is out of memory");
        }
        d->map = m;
        d->capmap = cap;
    }
    memcpy(d->map[d->nmap].address, r->address, CR_PUBKEY_SIZE);
    d->map[d->nmap++].account = a;
    struct mk_petra_account *ac = &d->accounts[a];
    for (uint32_t i = 0; i < r->n; i++) {
        const struct mk_petra_asset *x = &r->assets[i];
        for (int64_t k = x->start; k <= x->end; k++) {
            size_t j = (size_t)(k - d->first);
            if (x->power > 0) {
                ac->wprod_w[j] += x->power;
                d->tot_prod_w[j] += x->power;
            } else {
                ac->wcons_w[j] -= x->power;
                d->tot_cons_w[j] -= x->power;
            }
        }
    }
    ac->funds -= r->funds;
    ac->withdrawn_funds += r->funds;
    ac->addresses++;
    return 0;
}

int mk_petra_dso_handle(void *arg, const uint8_t *req, size_t len,
                        struct base_buf *reply)
{
    struct mk_petra_dso *d = arg;
    struct mk_petra_request r;
    char reason[LG_REASON_MAX + 1] = "";
    char ids[MK_PETRA_MAX_ASSETS][24];
    struct lg_cert cert;
    size_t a = 0;
    int rv = mk_petra_request_decode(&r, req, len);
    if (rv == BASE_EPARSE) {
        refuse(reason, "malformed withdrawAssets request");
    } else if (rv == BASE_EBADSIG) {
        refuse(reason,
               "the request's signature does not verify with the key of "
               "%s/%s",
               r.cert.org, r.cert.name);
    }
    pthread_mutex_lock(d->lock);
    if (rv == 0) {
        rv = check(d, &r, &a, reason);
    }
    if (rv == 0) {
        rv = record(d, &r, a, &cert, ids, reason);
    }
    d->withdrawals++;
    if (rv != 0) {
        d->failed++;
        if (rv != BASE_EPARSE && r.cert.name[0] != '\0') {
            for (size_t i = 0; i < d->naccounts; i++) {
                if (strcmp(d->accounts[i].name, r.cert.name) == 0) {
                    d->accounts[i].refused++;
                }
            }
        }
    }
    pthread_mutex_unlock(d->lock);
    return reply_encode(reply, rv == 0, r.address, rv == 0 ? "" : reason,
                        rv == 0 ? &cert : NULL, ids, rv == 0 ? r.n : 0);
}

/* One deposit of the contract's log, credited to its prosumer. */
static int credit(struct mk_petra_dso *d, json_t *dep)
{
    const char *addr = json_string_value(json_object_get(dep, "address"));
    const char *kind = json_string_value(json_object_get(dep, "kind"));
    uint8_t pk[CR_PUBKEY_SIZE];
    if (addr == NULL || kind == NULL ||
        base_hex_decode(pk, CR_PUBKEY_SIZE, addr) != 0) {
        return BASE_ECORRUPT;
    }
    const struct mk_petra_addr_map *m = find_addr(d, pk);
    if (m == NULL) {
        return 0; /* not an address this DSO handed out */
    }
    struct mk_petra_account *ac = &d->accounts[m->account];
    if (strcmp(kind, "financial") == 0) {
        int64_t amt = json_integer_value(json_object_get(dep, "amount"));
        ac->funds += amt;
        ac->deposited_funds += amt;
    } else {
        int64_t p = json_integer_value(json_object_get(dep, "power"));
        int64_t s = json_integer_value(json_object_get(dep, "start"));
        int64_t e = json_integer_value(json_object_get(dep, "end"));
        ac->deposited_wi += p * (e - s + 1);
    }
    return 0;
}

int mk_petra_dso_collect(struct mk_petra_dso *d)
{
    int credited = 0;
    for (;;) {
        char from[24], reason[LG_REASON_MAX + 1];
        snprintf(from, sizeof from, "%llu", (unsigned long long)d->dep_next);
        struct lg_slice a = {(const uint8_t *)from, strlen(from)};
        struct base_buf out;
        base_buf_init(&out, 0);
        int rv = mk_evaluate(d->cli, "petra", "deposits", 1, &a, &out, reason);
        json_t *arr = rv == 0
                          ? json_loadb((const char *)out.data, out.len, 0, NULL)
                          : NULL;
        base_buf_release(&out);
        if (rv != 0) {
            return rv;
        }
        if (!json_is_array(arr)) {
            json_decref(arr);
            return BASE_ECORRUPT;
        }
        size_t n = json_array_size(arr);
        pthread_mutex_lock(d->lock);
        for (size_t i = 0; rv == 0 && i < n; i++) {
            json_t *dep = json_array_get(arr, i);
            rv = credit(d, dep);
            d->dep_next =
                (uint64_t)json_integer_value(json_object_get(dep, "seq")) + 1;
            credited++;
        }
        pthread_mutex_unlock(d->lock);
        json_decref(arr);
        if (rv != 0) {
            return rv;
        }
        if (n == 0) {
            return credited;
        }
    }
}

/* ---- the prosumer -------------------------------------------------------- */

static int reply_decode(const struct base_buf *b, const uint8_t *addr,
                        struct mk_petra_wallet *w, char *reason)
{
    struct base_rd rd;
    base_rd_init(&rd, b->data, b->len);
    const uint8_t *magic = base_rd_bytes(&rd, 4);
    uint8_t version = base_rd_u8(&rd);
    uint8_t status = base_rd_u8(&rd);
    const uint8_t *a = base_rd_bytes(&rd, CR_PUBKEY_SIZE);
    uint16_t rlen = base_rd_u16(&rd);
    const uint8_t *rs = base_rd_bytes(&rd, rlen);
    uint16_t clen = base_rd_u16(&rd);
    const uint8_t *c = base_rd_bytes(&rd, clen);
    uint8_t n = base_rd_u8(&rd);
    if (magic == NULL || memcmp(magic, REP_MAGIC, 4) != 0 || version != 1 ||
        a == NULL || memcmp(a, addr, CR_PUBKEY_SIZE) != 0 ||
        n > MK_PETRA_MAX_ASSETS) {
        snprintf(reason, LG_REASON_MAX + 1, "malformed reply from the DSO");
        return BASE_EPARSE;
    }
    if (status != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "failedWithdrawal: %.*s", (int)rlen,
                 rs ? (const char *)rs : "");
        return BASE_EPERM;
    }
    struct base_rd cr;
    base_rd_init(&cr, c, clen);
    if (c == NULL || lg_cert_decode(&w->cert, &cr) != 0 ||
        memcmp(w->cert.pk, addr, CR_PUBKEY_SIZE) != 0) {
        snprintf(reason, LG_REASON_MAX + 1,
                 "the DSO's certificate is not for the address");
        return BASE_EPARSE;
    }
    w->nassets = n;
    for (uint8_t i = 0; i < n; i++) {
        uint8_t len = base_rd_u8(&rd);
        const uint8_t *id = base_rd_bytes(&rd, len);
        if (id == NULL || len >= sizeof w->assets[i]) {
            snprintf(reason, LG_REASON_MAX + 1, "malformed reply from the DSO");
            return BASE_EPARSE;
        }
        memcpy(w->assets[i], id, len);
        w->assets[i][len] = '\0';
    }
    if (base_rd_error(&rd) != 0 || base_rd_left(&rd) != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "malformed reply from the DSO");
        return BASE_EPARSE;
    }
    return 0;
}

int mk_petra_withdraw(struct mk_link *link, const struct lg_cert *cert,
                      const struct cr_keypair *key,
                      const struct mk_petra_asset *assets, uint32_t n,
                      int64_t funds, mk_petra_open_fn open, void *open_arg,
                      struct mk_petra_wallet *w, char *reason)
{
    if (n > MK_PETRA_MAX_ASSETS) {
        snprintf(reason, LG_REASON_MAX + 1, "at most %d assets",
                 MK_PETRA_MAX_ASSETS);
        return BASE_EINVAL;
    }
    memset(w, 0, sizeof *w);
    /* A fresh address for every withdrawal: addresses are never reused, so
     * the chain cannot tie one withdrawal's trades to another's. */
    cr_keygen(&w->key);
    base_hex_encode(w->address, w->key.pk, CR_PUBKEY_SIZE);
    struct mk_petra_request r;
    memset(&r, 0, sizeof r);
    r.cert = *cert;
    memcpy(r.address, w->key.pk, CR_PUBKEY_SIZE);
    r.funds = funds;
    r.n = n;
    memcpy(r.assets, assets, n * sizeof *assets);
    struct base_buf req, rep;
    base_buf_init(&req, 0);
    base_buf_init(&rep, 0);
    int rv = mk_petra_request_encode(&r, key, &req);
    if (rv == 0) {
        rv = mk_request(link, req.data, req.len, &rep, 10000);
        if (rv != 0) {
            snprintf(reason, LG_REASON_MAX + 1, "no reply from the DSO: %s",
                     base_strerror(rv));
        }
    }
    rv = rv ? rv : reply_decode(&rep, w->key.pk, w, reason);
    if (rv == 0) {
        rv = open(open_arg, &w->cert, &w->key, &w->cli);
        if (rv != 0) {
            snprintf(reason, LG_REASON_MAX + 1, "cannot open a client: %s",
                     base_strerror(rv));
        }
    }
    base_buf_release(&req);
    base_buf_release(&rep);
    if (rv != 0) {
        cr_wipe(&w->key, sizeof w->key);
    }
    return rv;
}

void mk_petra_wallet_release(struct mk_petra_wallet *w)
{
    mk_client_close(w->cli);
    w->cli = NULL;
    cr_wipe(&w->key, sizeof w->key);
}

int mk_petra_offers(struct mk_client *c, struct mk_petra_offer *out, size_t max)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    char reason[LG_REASON_MAX + 1];
    int rv = mk_evaluate(c, "petra", "openOffers", 0, NULL, &b, reason);
    json_t *arr =
        rv == 0 ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
    base_buf_release(&b);
    if (rv != 0) {
        return rv;
    }
    if (!json_is_array(arr)) {
        json_decref(arr);
        return BASE_ECORRUPT;
    }
    size_t n = 0, i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (n == max) {
            break;
        }
        struct mk_petra_offer *f = &out[n];
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *asset = json_string_value(json_object_get(o, "asset"));
        const char *poster = json_string_value(json_object_get(o, "poster"));
        const char *kind = json_string_value(json_object_get(o, "kind"));
        if (id == NULL || asset == NULL || poster == NULL || kind == NULL) {
            continue;
        }
        snprintf(f->id, sizeof f->id, "%s", id);
        snprintf(f->asset, sizeof f->asset, "%s", asset);
        snprintf(f->poster, sizeof f->poster, "%s", poster);
        f->ask = strcmp(kind, "ask") == 0;
        f->price = json_integer_value(json_object_get(o, "price"));
        f->power = json_integer_value(json_object_get(o, "power"));
        f->start = json_integer_value(json_object_get(o, "start"));
        f->end = json_integer_value(json_object_get(o, "end"));
        n++;
    }
    json_decref(arr);
    return (int)n;
}

int mk_petra_best(const struct mk_petra_offer *offers, size_t n,
                  const struct mk_petra_asset *a, int64_t limit,
                  const char *const *mine, size_t nmine)
{
    int best = -1;
    bool want_ask = a->power < 0;
    for (size_t i = 0; i < n; i++) {
        const struct mk_petra_offer *f = &offers[i];
        if (f->ask != want_ask || f->end < a->start || f->start > a->end) {
            continue;
        }
        if (want_ask ? f->price > limit : f->price < limit) {
            continue;
        }
        bool own = false;
        for (size_t j = 0; j < nmine && !own; j++) {
            own = strcmp(mine[j], f->poster) == 0;
        }
        if (own) {
            continue;
        }
        /* The list is in id order, not posting order; ties keep the first
         * seen, which is deterministic for a given chain. */
        if (best < 0 || (want_ask ? f->price < offers[best].price
                                  : f->price > offers[best].price)) {
            best = (int)i;
        }
    }
    return best;
}
