/* SPDX-License-Identifier: MIT */
/* Canonical binary encodings: certificates, configuration, transactions,
 * block headers and blocks (offset tables in ledger.h and
 * docs/ledger-format.md). Decoders treat every byte as hostile. */
#include <string.h>

#include "ledger/ledger_int.h"

/* Names are 1..64 printable ASCII bytes without spaces, so they print and
 * route safely (log lines, URLs, LMDB database names). */
bool lg__name_ok(const char *s, size_t len)
{
    if (len == 0 || len > LG_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

static int add_name(struct base_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!lg__name_ok(s, n)) {
        return BASE_EINVAL;
    }
    int rv = base_buf_add_u8(b, (uint8_t)n);
    return rv ? rv : base_buf_add(b, s, n);
}

static void rd_name(struct base_rd *r, char out[LG_NAME_MAX + 1])
{
    uint8_t n = base_rd_u8(r);
    const uint8_t *p = base_rd_bytes(r, n);
    if (p == NULL || !lg__name_ok((const char *)p, n)) {
        r->bad = true;
        out[0] = '\0';
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static int cert_body(const struct lg_cert *c, struct base_buf *b)
{
    int rv = base_buf_add_u8(b, 1);
    if (rv == 0) {
        rv = add_name(b, c->org);
    }
    if (rv == 0) {
        rv = add_name(b, c->name);
    }
    if (rv == 0) {
        rv = add_name(b, c->role);
    }
    if (rv == 0) {
        rv = base_buf_add(b, c->pk, CR_PUBKEY_SIZE);
    }
    if (rv == 0) {
        rv = base_buf_add_u64(b, c->not_before);
    }
    if (rv == 0) {
        rv = base_buf_add_u64(b, c->expiry);
    }
    return rv;
}

int lg_cert_encode(const struct lg_cert *c, struct base_buf *out)
{
    size_t mark = out->len;
    int rv = cert_body(c, out);
    if (rv == 0) {
        rv = base_buf_add(out, c->sig, CR_SIG_SIZE);
    }
    if (rv != 0) {
        out->len = mark;
    }
    return rv;
}

int lg_cert_decode(struct lg_cert *c, struct base_rd *r)
{
    if (base_rd_u8(r) != 1) {
        return BASE_EPARSE;
    }
    rd_name(r, c->org);
    rd_name(r, c->name);
    rd_name(r, c->role);
    const uint8_t *pk = base_rd_bytes(r, CR_PUBKEY_SIZE);
    c->not_before = base_rd_u64(r);
    c->expiry = base_rd_u64(r);
    const uint8_t *sig = base_rd_bytes(r, CR_SIG_SIZE);
    if (base_rd_error(r) != 0) {
        return BASE_EPARSE;
    }
    memcpy(c->pk, pk, CR_PUBKEY_SIZE);
    memcpy(c->sig, sig, CR_SIG_SIZE);
    return 0;
}

int lg_cert_sign(struct lg_cert *c, const struct cr_keypair *issuer)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    int rv = cert_body(c, &b);
    if (rv == 0) {
        cr_sign(c->sig, b.data, b.len, issuer);
    }
    base_buf_release(&b);
    return rv;
}

int lg_config_encode(const struct lg_config *c, struct base_buf *out)
{
    size_t mark = out->len;
    int rv = base_buf_add(out, "GLCF", 4);
    if (rv == 0) {
        rv = base_buf_add_u8(out, 1);
    }
    if (rv == 0) {
        rv = add_name(out, c->channel);
    }
    if (rv == 0) {
        rv = base_buf_add(out, c->orderer_pk, CR_PUBKEY_SIZE);
    }
    if (rv == 0) {
        rv = base_buf_add_u64(out, c->genesis_time);
    }
    if (rv == 0 && (c->norgs == 0 || c->norgs > LG_MAX_ORGS)) {
        rv = BASE_EINVAL;
    }
    if (rv == 0) {
        rv = base_buf_add_u8(out, (uint8_t)c->norgs);
    }
    for (uint32_t i = 0; rv == 0 && i < c->norgs; i++) {
        const struct lg_org *o = &c->orgs[i];
        rv = add_name(out, o->name);
        if (rv == 0) {
            rv = base_buf_add(out, o->root_pk, CR_PUBKEY_SIZE);
        }
        if (rv == 0 && (o->nroles == 0 || o->nroles > LG_MAX_ROLES)) {
            rv = BASE_EINVAL;
        }
        if (rv == 0) {
            rv = base_buf_add_u8(out, (uint8_t)o->nroles);
        }
        for (uint32_t j = 0; rv == 0 && j < o->nroles; j++) {
            rv = add_name(out, o->roles[j]);
        }
    }
    if (rv != 0) {
        out->len = mark;
    }
    return rv;
}

int lg_config_decode(struct lg_config *c, const uint8_t *p, size_t len)
{
    struct base_rd r;
    base_rd_init(&r, p, len);
    const uint8_t *magic = base_rd_bytes(&r, 4);
    if (magic == NULL || memcmp(magic, "GLCF", 4) != 0 || base_rd_u8(&r) != 1) {
        return BASE_EPARSE;
    }
    memset(c, 0, sizeof *c);
    rd_name(&r, c->channel);
    const uint8_t *pk = base_rd_bytes(&r, CR_PUBKEY_SIZE);
    if (pk != NULL) {
        memcpy(c->orderer_pk, pk, CR_PUBKEY_SIZE);
    }
    c->genesis_time = base_rd_u64(&r);
    c->norgs = base_rd_u8(&r);
    if (c->norgs == 0 || c->norgs > LG_MAX_ORGS) {
        return BASE_EPARSE;
    }
    for (uint32_t i = 0; i < c->norgs && !r.bad; i++) {
        struct lg_org *o = &c->orgs[i];
        rd_name(&r, o->name);
        pk = base_rd_bytes(&r, CR_PUBKEY_SIZE);
        if (pk != NULL) {
            memcpy(o->root_pk, pk, CR_PUBKEY_SIZE);
        }
        o->nroles = base_rd_u8(&r);
        if (o->nroles == 0 || o->nroles > LG_MAX_ROLES) {
            return BASE_EPARSE;
        }
        for (uint32_t j = 0; j < o->nroles; j++) {
            rd_name(&r, o->roles[j]);
        }
    }
    if (base_rd_error(&r) != 0 || base_rd_left(&r) != 0) {
        return BASE_EPARSE;
    }
    return 0;
}

const struct lg_org *lg_config_org(const struct lg_config *c, const char *org)
{
    for (uint32_t i = 0; i < c->norgs; i++) {
        if (strcmp(c->orgs[i].name, org) == 0) {
            return &c->orgs[i];
        }
    }
    return NULL;
}

int lg_tx_decode(struct lg_tx *tx, const uint8_t *p, size_t len)
{
    if (len > LG_TX_MAX) {
        return BASE_ETOOBIG;
    }
    struct base_rd r;
    base_rd_init(&r, p, len);
    const uint8_t *magic = base_rd_bytes(&r, 4);
    uint8_t version = magic != NULL ? base_rd_u8(&r) : 0;
    if (magic == NULL || memcmp(magic, "GLTX", 4) != 0 ||
        (version != 1 && version != 2)) {
        return BASE_EPARSE;
    }
    rd_name(&r, tx->channel);
    rd_name(&r, tx->contract);
    rd_name(&r, tx->function);
    tx->nargs = base_rd_u8(&r);
    if (tx->nargs > LG_MAX_ARGS) {
        return BASE_EPARSE;
    }
    for (uint32_t i = 0; i < tx->nargs; i++) {
        uint32_t n = base_rd_u32(&r);
        tx->args[i].p = base_rd_bytes(&r, n);
        tx->args[i].len = n;
    }
    /* Version 2 introduces 1..LG_MAX_INTRO certificates, each of which
     * must decode to exactly its length. */
    tx->nintro = version == 2 ? base_rd_u8(&r) : 0;
    if (version == 2 && (tx->nintro == 0 || tx->nintro > LG_MAX_INTRO)) {
        return BASE_EPARSE;
    }
    for (uint32_t i = 0; i < tx->nintro; i++) {
        uint16_t n = base_rd_u16(&r);
        const uint8_t *q = base_rd_bytes(&r, n);
        struct lg_cert ic;
        struct base_rd ir;
        base_rd_init(&ir, q, q != NULL ? n : 0);
        if (q == NULL || lg_cert_decode(&ic, &ir) != 0 ||
            base_rd_left(&ir) != 0) {
            return BASE_EPARSE;
        }
        tx->intro[i].p = q;
        tx->intro[i].len = n;
    }
    uint16_t clen = base_rd_u16(&r);
    const uint8_t *cp = base_rd_bytes(&r, clen);
    if (base_rd_error(&r) != 0) {
        return BASE_EPARSE;
    }
    struct base_rd cr;
    base_rd_init(&cr, cp, clen);
    if (lg_cert_decode(&tx->cert, &cr) != 0 || base_rd_left(&cr) != 0) {
        return BASE_EPARSE;
    }
    tx->cert_bytes.p = cp;
    tx->cert_bytes.len = clen;
    tx->nonce = base_rd_u64(&r);
    size_t signed_len = r.off;
    tx->sig = base_rd_bytes(&r, CR_SIG_SIZE);
    if (base_rd_error(&r) != 0 || base_rd_left(&r) != 0) {
        return BASE_EPARSE;
    }
    tx->signed_bytes.p = p;
    tx->signed_bytes.len = signed_len;
    cr_sha256(&tx->id, p, signed_len);
    return 0;
}

int lg_tx_build(struct base_buf *out, const struct lg_call *call,
                const struct lg_cert *cert, const struct cr_keypair *key,
                uint64_t nonce, struct cr_hash *id)
{
    return lg_tx_build_intro(out, call, NULL, 0, cert, key, nonce, id);
}

int lg_tx_build_intro(struct base_buf *out, const struct lg_call *call,
                      const struct lg_slice *intro, uint32_t nintro,
                      const struct lg_cert *cert, const struct cr_keypair *key,
                      uint64_t nonce, struct cr_hash *id)
{
    if (call->nargs > LG_MAX_ARGS || nintro > LG_MAX_INTRO) {
        return BASE_EINVAL;
    }
    for (uint32_t i = 0; i < nintro; i++) {
        struct lg_cert ic;
        struct base_rd ir;
        base_rd_init(&ir, intro[i].p, intro[i].len);
        if (intro[i].len > UINT16_MAX || lg_cert_decode(&ic, &ir) != 0 ||
            base_rd_left(&ir) != 0) {
            return BASE_EINVAL;
        }
    }
    size_t mark = out->len;
    int rv = base_buf_add(out, "GLTX", 4);
    if (rv == 0) {
        rv = base_buf_add_u8(out, nintro > 0 ? 2 : 1);
    }
    if (rv == 0) {
        rv = add_name(out, call->channel);
    }
    if (rv == 0) {
        rv = add_name(out, call->contract);
    }
    if (rv == 0) {
        rv = add_name(out, call->function);
    }
    if (rv == 0) {
        rv = base_buf_add_u8(out, (uint8_t)call->nargs);
    }
    for (uint32_t i = 0; rv == 0 && i < call->nargs; i++) {
        if (call->args[i].len > LG_TX_MAX) {
            rv = BASE_ETOOBIG;
            break;
        }
        rv = base_buf_add_u32(out, (uint32_t)call->args[i].len);
        if (rv == 0) {
            rv = base_buf_add(out, call->args[i].p, call->args[i].len);
        }
    }
    if (rv == 0 && nintro > 0) {
        rv = base_buf_add_u8(out, (uint8_t)nintro);
    }
    for (uint32_t i = 0; rv == 0 && i < nintro; i++) {
        rv = base_buf_add_u16(out, (uint16_t)intro[i].len);
        if (rv == 0) {
            rv = base_buf_add(out, intro[i].p, intro[i].len);
        }
    }
    size_t cmark = out->len;
    if (rv == 0) {
        rv = base_buf_add_u16(out, 0); /* patched below */
    }
    if (rv == 0) {
        rv = lg_cert_encode(cert, out);
    }
    if (rv == 0) {
        size_t clen = out->len - cmark - 2;
        out->data[cmark] = (uint8_t)(clen >> 8);
        out->data[cmark + 1] = (uint8_t)clen;
        rv = base_buf_add_u64(out, nonce);
    }
    if (rv == 0 && out->len - mark + CR_SIG_SIZE > LG_TX_MAX) {
        rv = BASE_ETOOBIG;
    }
    if (rv == 0) {
        rv = base_buf_reserve(out, CR_SIG_SIZE);
    }
    if (rv != 0) {
        out->len = mark;
        return rv;
    }
    const uint8_t *signed_part = out->data + mark;
    size_t signed_len = out->len - mark;
    cr_sign(out->data + out->len, signed_part, signed_len, key);
    if (id != NULL) {
        cr_sha256(id, signed_part, signed_len);
    }
    out->len += CR_SIG_SIZE;
    return 0;
}

void lg_header_encode(const struct lg_header *h, uint8_t out[LG_HEADER_SIZE])
{
    memcpy(out, "GLBK", 4);
    out[4] = 1;
    base_put_u64(out + 5, h->number);
    memcpy(out + 13, h->prev_hash.b, 32);
    memcpy(out + 45, h->tx_root.b, 32);
    memcpy(out + 77, h->results_hash.b, 32);
    memcpy(out + 109, h->state_hash.b, 32);
    base_put_u64(out + 141, h->timestamp);
    base_put_u32(out + 149, h->tx_count);
}

int lg_header_decode(struct lg_header *h, const uint8_t *p, size_t len)
{
    if (len < LG_HEADER_SIZE || memcmp(p, "GLBK", 4) != 0 || p[4] != 1) {
        return BASE_EPARSE;
    }
    h->number = base_get_u64(p + 5);
    memcpy(h->prev_hash.b, p + 13, 32);
    memcpy(h->tx_root.b, p + 45, 32);
    memcpy(h->results_hash.b, p + 77, 32);
    memcpy(h->state_hash.b, p + 109, 32);
    h->timestamp = base_get_u64(p + 141);
    h->tx_count = base_get_u32(p + 149);
    return 0;
}

void lg_header_hash(const struct lg_header *h, struct cr_hash *out)
{
    uint8_t b[LG_HEADER_SIZE];
    lg_header_encode(h, b);
    cr_sha256(out, b, sizeof b);
}

int lg_block_decode(struct lg_block *b, const uint8_t *p, size_t len)
{
    memset(b, 0, sizeof *b);
    if (lg_header_decode(&b->h, p, len) != 0 ||
        len < LG_HEADER_SIZE + CR_SIG_SIZE || b->h.tx_count > LG_BLOCK_MAX_TX ||
        b->h.tx_count == 0) {
        return BASE_EPARSE;
    }
    cr_sha256(&b->hash, p, LG_HEADER_SIZE);
    memcpy(b->sig, p + LG_HEADER_SIZE, CR_SIG_SIZE);
    uint32_t n = b->h.tx_count;
    b->txs = base_calloc(n, sizeof *b->txs);
    b->results = base_calloc(n, sizeof *b->results);
    if (b->txs == NULL || b->results == NULL) {
        lg_block_release(b);
        return BASE_ENOMEM;
    }
    struct base_rd r;
    base_rd_init(&r, p, len);
    base_rd_bytes(&r, LG_HEADER_SIZE + CR_SIG_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t tl = base_rd_u32(&r);
        b->txs[i].p = base_rd_bytes(&r, tl);
        b->txs[i].len = tl;
    }
    b->results_bytes.p = r.p + r.off;
    size_t rstart = r.off;
    for (uint32_t i = 0; i < n; i++) {
        b->results[i].code = (int32_t)base_rd_u32(&r);
        uint16_t rl = base_rd_u16(&r);
        b->results[i].reason.p = base_rd_bytes(&r, rl);
        b->results[i].reason.len = rl;
        uint32_t pl = base_rd_u32(&r);
        b->results[i].payload.p = base_rd_bytes(&r, pl);
        b->results[i].payload.len = pl;
    }
    if (base_rd_error(&r) != 0 || base_rd_left(&r) != 0) {
        lg_block_release(b);
        return BASE_EPARSE;
    }
    b->results_bytes.len = r.off - rstart;
    return 0;
}

void lg_block_release(struct lg_block *b)
{
    base_free(b->txs);
    base_free(b->results);
    b->txs = NULL;
    b->results = NULL;
}
