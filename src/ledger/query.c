/* SPDX-License-Identifier: MIT */
/* Queries over a consistent snapshot: state, history, blocks,
 * transactions, events, evaluation, and Merkle inclusion proofs. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_int.h"

static int begin_read(struct lg_channel *ch, struct kv_txn **t)
{
    return kv_txn_begin(ch->l->env, false, t);
}

int lg_evaluate(struct lg_channel *ch, const struct lg_cert *caller,
                const char *contract, const char *function, uint32_t nargs,
                const struct lg_slice *args, struct base_buf *out, char *reason)
{
    reason[0] = '\0';
    if (nargs > LG_MAX_ARGS || !lg__name_ok(contract, strlen(contract)) ||
        !lg__name_ok(function, strlen(function))) {
        snprintf(reason, LG_REASON_MAX + 1, "bad call");
        return BASE_EINVAL;
    }
    struct lg_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.channel, sizeof tx.channel, "%s", ch->name);
    snprintf(tx.contract, sizeof tx.contract, "%s", contract);
    snprintf(tx.function, sizeof tx.function, "%s", function);
    tx.nargs = nargs;
    for (uint32_t i = 0; i < nargs; i++) {
        tx.args[i] = args[i];
    }
    tx.cert = *caller;
    int rv =
        ch->l->exec.check(ch->l->exec.impl, contract, function, caller->role);
    if (rv != 0) {
        snprintf(reason, LG_REASON_MAX + 1, "%s", base_strerror(rv));
        return rv;
    }
    struct kv_txn *t;
    rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    /* Evaluation is not part of the chain, so the wall clock stands in for
     * the block time. */
    uint64_t ts = base_wall_ns();
    struct lg_ctx ctx;
    lg__ctx_init(&ctx, ch, t, &tx, ts, true);
    rv = ch->l->exec.invoke(ch->l->exec.impl, &ctx, contract, function, nargs,
                            tx.args);
    if (rv > 0) {
        rv = BASE_EABORTED;
    }
    if (rv == 0) {
        rv = base_buf_add(out, ctx.ret.data, ctx.ret.len);
    } else {
        snprintf(reason, LG_REASON_MAX + 1, "%s",
                 ctx.reason[0] ? ctx.reason : base_strerror(rv));
    }
    lg__ctx_release(&ctx);
    kv_txn_abort(t);
    return rv;
}

int lg_get(struct lg_channel *ch, const char *contract, const void *key,
           size_t klen, struct base_buf *out, struct lg_version *ver)
{
    struct base_buf k;
    base_buf_init(&k, 0);
    int rv = lg__state_key(&k, contract, key, klen);
    struct kv_txn *t = NULL;
    if (rv == 0) {
        rv = begin_read(ch, &t);
    }
    struct kv_val v;
    if (rv == 0) {
        rv = kv_get(t, ch->state, k.data, k.len, &v);
    }
    if (rv == 0 && v.len < LG_VER_SIZE) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0) {
        const uint8_t *p = v.data;
        if (ver != NULL) {
            ver->block = base_get_u64(p);
            ver->tx = base_get_u32(p + 8);
        }
        rv = base_buf_add(out, p + LG_VER_SIZE, v.len - LG_VER_SIZE);
    }
    kv_txn_abort(t);
    base_buf_release(&k);
    return rv;
}

int lg_range(struct lg_channel *ch, const char *contract, const void *start,
             size_t slen, const void *end, size_t elen, size_t limit,
             lg_range_cb cb, void *arg)
{
    struct base_buf lo, hi;
    base_buf_init(&lo, 0);
    base_buf_init(&hi, 0);
    int rv = lg__state_key(&lo, contract, start, slen);
    if (rv == 0 && end != NULL) {
        rv = lg__state_key(&hi, contract, end, elen);
    } else if (rv == 0) {
        rv = lg__state_key(&hi, contract, NULL, 0);
        if (rv == 0) {
            hi.data[hi.len - 1] = 1;
        }
    }
    size_t nslen = strlen(contract) + 1;
    struct kv_txn *t = NULL;
    struct kv_cursor *c = NULL;
    if (rv == 0) {
        rv = begin_read(ch, &t);
    }
    if (rv == 0) {
        rv = kv_cursor_open(t, ch->state, &c);
    }
    struct kv_val k, v;
    int it = rv == 0 ? kv_cursor_seek(c, lo.data, lo.len, &k, &v) : rv;
    size_t count = 0;
    while (rv == 0 && it == 0) {
        size_t m = k.len < hi.len ? k.len : hi.len;
        int cmp = memcmp(k.data, hi.data, m);
        if (cmp > 0 || (cmp == 0 && k.len >= hi.len)) {
            break;
        }
        if (v.len < LG_VER_SIZE || k.len < nslen) {
            rv = BASE_ECORRUPT;
            break;
        }
        struct lg_slice ks = {(const uint8_t *)k.data + nslen, k.len - nslen};
        struct lg_slice vs = {(const uint8_t *)v.data + LG_VER_SIZE,
                              v.len - LG_VER_SIZE};
        if (cb(arg, ks, vs) != 0 || (limit != 0 && ++count >= limit)) {
            break;
        }
        it = kv_cursor_next(c, &k, &v);
    }
    if (rv == 0 && it != 0 && it != BASE_ENOTFOUND) {
        rv = it;
    }
    kv_cursor_close(c);
    kv_txn_abort(t);
    base_buf_release(&lo);
    base_buf_release(&hi);
    return rv;
}

int lg_history(struct lg_channel *ch, const char *contract, const void *key,
               size_t klen, lg_history_cb cb, void *arg)
{
    struct base_buf sk, prefix;
    base_buf_init(&sk, 0);
    base_buf_init(&prefix, 0);
    int rv = lg__state_key(&sk, contract, key, klen);
    if (rv == 0 && sk.len > 0xffff) {
        rv = BASE_EINVAL;
    }
    if (rv == 0) {
        rv = base_buf_add_u16(&prefix, (uint16_t)sk.len);
    }
    if (rv == 0) {
        rv = base_buf_add(&prefix, sk.data, sk.len);
    }
    struct kv_txn *t = NULL;
    struct kv_cursor *c = NULL;
    if (rv == 0) {
        rv = begin_read(ch, &t);
    }
    if (rv == 0) {
        rv = kv_cursor_open(t, ch->history, &c);
    }
    struct kv_val k, v;
    int it = rv == 0 ? kv_cursor_seek(c, prefix.data, prefix.len, &k, &v) : rv;
    size_t seen = 0;
    while (rv == 0 && it == 0) {
        if (k.len != prefix.len + 12 ||
            memcmp(k.data, prefix.data, prefix.len) != 0) {
            break;
        }
        if (v.len < 1) {
            rv = BASE_ECORRUPT;
            break;
        }
        const uint8_t *kp = (const uint8_t *)k.data + prefix.len;
        const uint8_t *vp = v.data;
        struct lg_history_entry e = {{base_get_u64(kp), base_get_u32(kp + 8)},
                                     vp[0] == 2,
                                     {vp + 1, v.len - 1}};
        seen++;
        if (cb(arg, &e) != 0) {
            break;
        }
        it = kv_cursor_next(c, &k, &v);
    }
    if (rv == 0 && seen == 0) {
        rv = BASE_ENOTFOUND;
    }
    kv_cursor_close(c);
    kv_txn_abort(t);
    base_buf_release(&sk);
    base_buf_release(&prefix);
    return rv;
}

/* Block @number as stored, borrowed from @t. */
static int block_value(struct lg_channel *ch, struct kv_txn *t, uint64_t number,
                       struct kv_val *v)
{
    uint8_t key[8];
    base_put_u64(key, number);
    return kv_get(t, ch->blocks, key, 8, v);
}

int lg_block_get(struct lg_channel *ch, uint64_t number, struct base_buf *out)
{
    struct kv_txn *t;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = block_value(ch, t, number, &v);
    if (rv == 0) {
        rv = base_buf_add(out, v.data, v.len);
    }
    kv_txn_abort(t);
    return rv;
}

int lg_block_header(struct lg_channel *ch, uint64_t number, struct lg_header *h,
                    struct cr_hash *hash)
{
    struct kv_txn *t;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = block_value(ch, t, number, &v);
    if (rv == 0 && lg_header_decode(h, v.data, v.len) != 0) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0 && hash != NULL) {
        cr_sha256(hash, v.data, LG_HEADER_SIZE);
    }
    kv_txn_abort(t);
    return rv;
}

int lg_block_find(struct lg_channel *ch, const struct cr_hash *hash,
                  uint64_t *number)
{
    struct kv_txn *t;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = kv_get(t, ch->hashes, hash->b, CR_HASH_SIZE, &v);
    if (rv == 0 && v.len != 8) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0) {
        *number = base_get_u64(v.data);
    }
    kv_txn_abort(t);
    return rv;
}

int lg_tx_find(struct lg_channel *ch, const struct cr_hash *id,
               struct lg_tx_info *info)
{
    struct kv_txn *t;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = kv_get(t, ch->txs, id->b, CR_HASH_SIZE, &v);
    if (rv == 0 && v.len != 16) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0) {
        const uint8_t *p = v.data;
        info->block = base_get_u64(p);
        info->index = base_get_u32(p + 8);
        info->code = (int32_t)base_get_u32(p + 12);
    }
    kv_txn_abort(t);
    return rv;
}

int lg_cert_known(struct lg_channel *ch, const uint8_t *cert, size_t len,
                  struct lg_version *where)
{
    if (!ch->has_certs) {
        return BASE_ENOTFOUND;
    }
    struct cr_hash h;
    cr_sha256(&h, cert, len);
    struct kv_txn *t;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    struct kv_val v;
    rv = kv_get(t, ch->certs, h.b, CR_HASH_SIZE, &v);
    if (rv == 0 && v.len != 12) {
        rv = BASE_ECORRUPT;
    }
    if (rv == 0 && where != NULL) {
        where->block = base_get_u64(v.data);
        where->tx = base_get_u32((const uint8_t *)v.data + 8);
    }
    kv_txn_abort(t);
    return rv;
}

void lg_proof_init(struct lg_proof *p)
{
    memset(p, 0, sizeof *p);
    base_buf_init(&p->tx, LG_TX_MAX);
}

void lg_proof_release(struct lg_proof *p)
{
    base_buf_release(&p->tx);
}

int lg_proof_make(struct lg_channel *ch, const struct cr_hash *id,
                  struct lg_proof *p)
{
    struct lg_tx_info info;
    int rv = lg_tx_find(ch, id, &info);
    if (rv != 0) {
        return rv;
    }
    struct base_buf bytes;
    base_buf_init(&bytes, 0);
    rv = lg_block_get(ch, info.block, &bytes);
    struct lg_block b;
    if (rv == 0) {
        rv = lg_block_decode(&b, bytes.data, bytes.len);
    }
    if (rv != 0) {
        base_buf_release(&bytes);
        return rv == BASE_ENOTFOUND ? BASE_ECORRUPT : rv;
    }
    struct cr_hash *leaves = base_malloc(b.h.tx_count * sizeof *leaves);
    if (leaves == NULL || info.index >= b.h.tx_count) {
        rv = leaves == NULL ? BASE_ENOMEM : BASE_ECORRUPT;
    }
    for (uint32_t i = 0; rv == 0 && i < b.h.tx_count; i++) {
        cr_merkle_leaf(&leaves[i], b.txs[i].p, b.txs[i].len);
    }
    if (rv == 0) {
        rv = cr_merkle_prove(&p->path, leaves, b.h.tx_count, info.index);
    }
    if (rv == 0) {
        memcpy(p->header, bytes.data, LG_HEADER_SIZE);
        memcpy(p->sig, b.sig, CR_SIG_SIZE);
        base_buf_reset(&p->tx);
        rv = base_buf_add(&p->tx, b.txs[info.index].p, b.txs[info.index].len);
    }
    if (rv == 0) {
        p->txid = *id;
    }
    base_free(leaves);
    lg_block_release(&b);
    base_buf_release(&bytes);
    return rv;
}

int lg_proof_check(const struct lg_proof *p, const uint8_t *orderer_pk)
{
    struct lg_header h;
    if (lg_header_decode(&h, p->header, LG_HEADER_SIZE) != 0) {
        return BASE_EPARSE;
    }
    if (p->path.size != h.tx_count) {
        return BASE_ECORRUPT;
    }
    /* The id the proof names must be the proven envelope's: the Merkle path
     * binds the envelope, and only through it the id (issue 15). */
    struct lg_tx tx;
    if (lg_tx_decode(&tx, p->tx.data, p->tx.len) != 0 ||
        cr_memcmp(tx.id.b, p->txid.b, CR_HASH_SIZE) != 0) {
        return BASE_ECORRUPT;
    }
    if (orderer_pk != NULL) {
        struct cr_hash hash;
        cr_sha256(&hash, p->header, LG_HEADER_SIZE);
        if (cr_verify(p->sig, hash.b, CR_HASH_SIZE, orderer_pk) != 0) {
            return BASE_EBADSIG;
        }
    }
    struct cr_hash leaf;
    cr_merkle_leaf(&leaf, p->tx.data, p->tx.len);
    int rv = cr_merkle_verify(&p->path, &leaf, &h.tx_root);
    return rv == BASE_EINVAL ? BASE_ECORRUPT : rv;
}

static int hex_field(json_t *o, const char *name, const void *p, size_t n)
{
    char *hex = base_malloc(2 * n + 1);
    if (hex == NULL) {
        return BASE_ENOMEM;
    }
    base_hex_encode(hex, p, n);
    int rv = json_object_set_new(o, name, json_string(hex)) ? BASE_ENOMEM : 0;
    base_free(hex);
    return rv;
}

int lg_proof_to_json(const struct lg_proof *p, struct base_buf *out)
{
    json_t *o = json_object();
    json_t *path = json_array();
    int rv = o && path ? 0 : BASE_ENOMEM;
    if (rv == 0) {
        rv = hex_field(o, "txid", p->txid.b, CR_HASH_SIZE);
    }
    if (rv == 0) {
        rv = hex_field(o, "header", p->header, LG_HEADER_SIZE);
    }
    if (rv == 0) {
        rv = hex_field(o, "orderer_signature", p->sig, CR_SIG_SIZE);
    }
    if (rv == 0) {
        rv = hex_field(o, "transaction", p->tx.data, p->tx.len);
    }
    if (rv == 0) {
        json_object_set_new(o, "index",
                            json_integer((json_int_t)p->path.index));
        json_object_set_new(o, "size", json_integer((json_int_t)p->path.size));
    }
    for (uint32_t i = 0; rv == 0 && i < p->path.depth; i++) {
        char hex[2 * CR_HASH_SIZE + 1];
        base_hex_encode(hex, p->path.path[i].b, CR_HASH_SIZE);
        json_array_append_new(path, json_string(hex));
    }
    if (rv == 0) {
        json_object_set(o, "path", path);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        rv = s == NULL ? BASE_ENOMEM : base_buf_add_str(out, s);
        free(s);
    }
    json_decref(path);
    json_decref(o);
    return rv;
}

static int get_hex(json_t *o, const char *name, void *out, size_t n, char *why)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL) {
        return base_errf(why, BASE_EPARSE, "no '%s' (a hex string)", name);
    }
    if (base_hex_decode(out, n, s) != 0) {
        return base_errf(why, BASE_EPARSE, "'%s' is not %zu hex digits", name,
                         2 * n);
    }
    return 0;
}

/* Every field of a proof file, each bound by lg_proof_check: the header and
 * signature by the orderer's key, the transaction, index, size and path by
 * the header's Merkle root, the txid by the transaction. Anything else
 * would be a claim nothing checks, so it is refused (issue 15). */
static const char *const proof_fields[] = {
    "txid", "header", "orderer_signature", "transaction", "index",
    "size", "path"};

static int proof_parse(struct lg_proof *p, json_t *o, char *why)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < BASE_ARRAY_LEN(proof_fields); i++) {
            known = known || strcmp(key, proof_fields[i]) == 0;
        }
        if (!known) {
            return base_errf(why, BASE_EPARSE,
                             "field '%.64s' is not part of a proof: nothing "
                             "in the proof binds it",
                             key);
        }
    }
    int rv = get_hex(o, "txid", p->txid.b, CR_HASH_SIZE, why);
    if (rv == 0) {
        rv = get_hex(o, "header", p->header, LG_HEADER_SIZE, why);
    }
    if (rv == 0) {
        rv = get_hex(o, "orderer_signature", p->sig, CR_SIG_SIZE, why);
    }
    if (rv != 0) {
        return rv;
    }
    const char *tx = json_string_value(json_object_get(o, "transaction"));
    if (tx == NULL || strlen(tx) % 2 != 0 || strlen(tx) / 2 > LG_TX_MAX) {
        return base_errf(why, BASE_EPARSE,
                         "'transaction' is not a hex string of at most %u "
                         "bytes",
                         (unsigned)LG_TX_MAX);
    }
    json_t *path = json_object_get(o, "path");
    json_t *idx = json_object_get(o, "index"),
           *size = json_object_get(o, "size");
    if (!json_is_integer(idx) || !json_is_integer(size) ||
        json_integer_value(idx) < 0 || json_integer_value(size) < 1) {
        return base_errf(why, BASE_EPARSE,
                         "'index' and 'size' must be integers, index >= 0 "
                         "and size >= 1");
    }
    if (!json_is_array(path) || json_array_size(path) > CR_MERKLE_MAX_DEPTH) {
        return base_errf(why, BASE_EPARSE,
                         "'path' must be an array of at most %d hashes",
                         CR_MERKLE_MAX_DEPTH);
    }
    size_t n = strlen(tx) / 2;
    base_buf_reset(&p->tx);
    rv = base_buf_reserve(&p->tx, n);
    if (rv != 0) {
        return base_errf(why, rv, "%s", base_strerror(rv));
    }
    if (base_hex_decode(p->tx.data, n, tx) != 0) {
        return base_errf(why, BASE_EPARSE, "'transaction' is not hex");
    }
    p->tx.len = n;
    p->path.index = (uint64_t)json_integer_value(idx);
    p->path.size = (uint64_t)json_integer_value(size);
    p->path.depth = (uint32_t)json_array_size(path);
    for (uint32_t i = 0; i < p->path.depth; i++) {
        const char *h = json_string_value(json_array_get(path, i));
        if (h == NULL ||
            base_hex_decode(p->path.path[i].b, CR_HASH_SIZE, h) != 0) {
            return base_errf(why, BASE_EPARSE,
                             "path[%u] is not a hash (%d hex digits)", i,
                             2 * CR_HASH_SIZE);
        }
    }
    /* The txid is not in the Merkle tree: the envelope is. Refuse here,
     * with both ids, a file that names another transaction. */
    struct lg_tx dec;
    if (lg_tx_decode(&dec, p->tx.data, p->tx.len) != 0) {
        return base_errf(why, BASE_ECORRUPT,
                         "'transaction' is not a transaction envelope");
    }
    if (cr_memcmp(dec.id.b, p->txid.b, CR_HASH_SIZE) != 0) {
        char claimed[2 * CR_HASH_SIZE + 1], real[2 * CR_HASH_SIZE + 1];
        base_hex_encode(claimed, p->txid.b, CR_HASH_SIZE);
        base_hex_encode(real, dec.id.b, CR_HASH_SIZE);
        return base_errf(why, BASE_ECORRUPT,
                         "the file's txid %s is not the id of the transaction "
                         "it proves, %s",
                         claimed, real);
    }
    return 0;
}

int lg_proof_from_json(struct lg_proof *p, const char *text, char *why)
{
    char dummy[BASE_ERRMSG_SIZE];
    why = why != NULL ? why : dummy;
    why[0] = '\0';
    json_error_t err;
    /* A repeated key would let a reader and this checker see different
     * values: refused. */
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return base_errf(why, BASE_EPARSE, "not a JSON object%s%.160s",
                         o == NULL ? ": " : "", o == NULL ? err.text : "");
    }
    struct lg_proof q;
    lg_proof_init(&q);
    int rv = proof_parse(&q, o, why);
    json_decref(o);
    if (rv == 0) {
        /* Leave @p unchanged on failure. */
        lg_proof_release(p);
        *p = q;
    } else {
        lg_proof_release(&q);
    }
    return rv;
}

int lg_events(struct lg_channel *ch, uint64_t from_block, lg_event_cb cb,
              void *arg)
{
    struct kv_txn *t;
    struct kv_cursor *c = NULL;
    int rv = begin_read(ch, &t);
    if (rv != 0) {
        return rv;
    }
    rv = kv_cursor_open(t, ch->events, &c);
    uint8_t start[8];
    base_put_u64(start, from_block);
    struct kv_val k, v;
    int it = rv == 0 ? kv_cursor_seek(c, start, 8, &k, &v) : rv;
    while (rv == 0 && it == 0) {
        if (k.len != 14) {
            rv = BASE_ECORRUPT;
            break;
        }
        struct base_rd r;
        base_rd_init(&r, v.data, v.len);
        char contract[LG_NAME_MAX + 1], name[LG_NAME_MAX + 1];
        uint8_t cl = base_rd_u8(&r);
        const uint8_t *cp = base_rd_bytes(&r, cl);
        uint8_t nl = base_rd_u8(&r);
        const uint8_t *np = base_rd_bytes(&r, nl);
        if (cp == NULL || np == NULL || cl > LG_NAME_MAX || nl > LG_NAME_MAX) {
            rv = BASE_ECORRUPT;
            break;
        }
        memcpy(contract, cp, cl);
        contract[cl] = '\0';
        memcpy(name, np, nl);
        name[nl] = '\0';
        const uint8_t *kp = k.data;
        struct lg_event e = {ch->name,
                             base_get_u64(kp),
                             base_get_u32(kp + 8),
                             contract,
                             name,
                             {r.p + r.off, base_rd_left(&r)}};
        if (cb(arg, &e) != 0) {
            break;
        }
        it = kv_cursor_next(c, &k, &v);
    }
    kv_cursor_close(c);
    kv_txn_abort(t);
    return rv;
}
