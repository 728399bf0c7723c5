/* SPDX-License-Identifier: MIT */
/* `gridledger verify`: check every block and re-execute the whole chain. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_int.h"

/* Printable form of a stored key for error messages: the contract
 * namespace, then the key with non-printing bytes escaped. */
static void describe_key(char *out, size_t size, const uint8_t *k, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < size; i++) {
        if (k[i] == 0) {
            o += (size_t)snprintf(out + o, size - o, "/");
        } else if (isprint(k[i])) {
            out[o++] = (char)k[i];
        } else {
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", k[i]);
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

/* Walk two databases side by side; report the first record that differs. */
static int compare_db(struct kv_txn *ta, kv_dbi a, struct kv_txn *tb, kv_dbi b,
                      const char *what, const char *channel, uint64_t *count,
                      char *errmsg)
{
    struct kv_cursor *ca = NULL, *cb = NULL;
    int rv = kv_cursor_open(ta, a, &ca);
    if (rv == 0) {
        rv = kv_cursor_open(tb, b, &cb);
    }
    struct kv_val ka, va, kb, vb;
    int ia = rv == 0 ? kv_cursor_seek(ca, NULL, 0, &ka, &va) : rv;
    int ib = rv == 0 ? kv_cursor_seek(cb, NULL, 0, &kb, &vb) : rv;
    uint64_t n = 0;
    while (rv == 0) {
        if ((ia != 0 && ia != BASE_ENOTFOUND) ||
            (ib != 0 && ib != BASE_ENOTFOUND)) {
            rv = ia != 0 && ia != BASE_ENOTFOUND ? ia : ib;
            break;
        }
        if (ia == BASE_ENOTFOUND && ib == BASE_ENOTFOUND) {
            break;
        }
        char desc[160];
        if (ia != 0 || ib != 0) {
            const struct kv_val *k = ia == 0 ? &ka : &kb;
            describe_key(desc, sizeof desc, k->data, k->len);
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "channel %s: %s record '%s' %s", channel, what, desc,
                           ia == 0 ? "is stored but not produced by the chain"
                                   : "is missing from the store");
            break;
        }
        if (ka.len != kb.len || memcmp(ka.data, kb.data, ka.len) != 0 ||
            va.len != vb.len || memcmp(va.data, vb.data, va.len) != 0) {
            describe_key(desc, sizeof desc, ka.data, ka.len);
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "channel %s: %s record '%s' differs from "
                           "re-execution of the chain",
                           channel, what, desc);
            break;
        }
        n++;
        ia = kv_cursor_next(ca, &ka, &va);
        ib = kv_cursor_next(cb, &kb, &vb);
    }
    kv_cursor_close(ca);
    kv_cursor_close(cb);
    if (count != NULL) {
        *count = n;
    }
    return rv;
}

static int compare_channel(struct lg_channel *src, struct lg_channel *dst,
                           struct lg_verify_report *rep)
{
    struct kv_txn *ta, *tb;
    int rv = kv_txn_begin(src->l->env, false, &ta);
    if (rv != 0) {
        return rv;
    }
    rv = kv_txn_begin(dst->l->env, false, &tb);
    if (rv != 0) {
        kv_txn_abort(ta);
        return rv;
    }
    uint64_t keys = 0;
    const char *name = src->name;
    char *e = rep->error;
    rv = compare_db(ta, src->state, tb, dst->state, "state", name, &keys, e);
    if (rv == 0) {
        rv = compare_db(ta, src->history, tb, dst->history, "history", name,
                        NULL, e);
    }
    if (rv == 0) {
        rv = compare_db(ta, src->txs, tb, dst->txs, "transaction index", name,
                        NULL, e);
    }
    if (rv == 0) {
        rv = compare_db(ta, src->events, tb, dst->events, "event", name, NULL,
                        e);
    }
    if (rv == 0) {
        rv = compare_db(ta, src->hashes, tb, dst->hashes, "block hash index",
                        name, NULL, e);
    }
    if (rv == 0) {
        rv = compare_db(ta, src->blocks, tb, dst->blocks, "block", name, NULL,
                        e);
    }
    if (rv == 0) {
        rv = compare_db(ta, src->meta, tb, dst->meta, "tip", name, NULL, e);
    }
    /* A ledger opened read-only from before introduced certificates has no
     * such database; its chain cannot hold any (no version 2 envelopes). */
    if (rv == 0 && src->has_certs) {
        rv = compare_db(ta, src->certs, tb, dst->certs,
                        "introduced certificate", name, NULL, e);
    }
    rep->state_keys += keys;
    kv_txn_abort(ta);
    kv_txn_abort(tb);
    return rv;
}

static int verify_channel(struct lg_channel *src, struct lg_ledger *dl,
                          struct lg_verify_report *rep)
{
    struct base_buf b;
    base_buf_init(&b, 0);
    char err[BASE_ERRMSG_SIZE];
    int rv = lg_block_get(src, 0, &b);
    if (rv != 0) {
        base_buf_release(&b);
        return base_errf(rep->error, BASE_ECORRUPT,
                         "channel %s: genesis block is missing", src->name);
    }
    rv = lg__channel_adopt(dl, b.data, b.len, err);
    struct lg_channel *dst = NULL;
    if (rv == 0) {
        rv = lg_channel_get(dl, src->name, &dst);
    }
    if (rv != 0) {
        base_buf_release(&b);
        return base_errf(rep->error, BASE_ECORRUPT, "channel %s, block 0: %s",
                         src->name, err);
    }
    uint64_t height;
    lg_channel_tip(src, &height, NULL, NULL);
    rep->blocks++;
    for (uint64_t n = 1; n < height; n++) {
        base_buf_reset(&b);
        rv = lg_block_get(src, n, &b);
        if (rv != 0) {
            rv = base_errf(rep->error, BASE_ECORRUPT,
                           "channel %s: block %llu is missing", src->name,
                           (unsigned long long)n);
            break;
        }
        rv = lg_apply(dst, b.data, b.len, err);
        if (rv != 0) {
            rv = base_errf(rep->error, rv == BASE_ENOMEM ? rv : BASE_ECORRUPT,
                           "channel %s, %s", src->name, err);
            break;
        }
        struct lg_block blk;
        if (lg_block_decode(&blk, b.data, b.len) == 0) {
            rep->txs += blk.h.tx_count;
            for (uint32_t i = 0; i < blk.h.tx_count; i++) {
                rep->valid_txs += blk.results[i].code == 0;
            }
            lg_block_release(&blk);
        }
        rep->blocks++;
    }
    base_buf_release(&b);
    if (rv == 0) {
        rv = compare_channel(src, dst, rep);
    }
    return rv;
}

/* Block @n as stored, decoded into @b (which borrows from @buf). */
static int load_block(struct lg_channel *ch, uint64_t n, struct base_buf *buf,
                      struct lg_block *b, char *errmsg)
{
    base_buf_reset(buf);
    int rv = lg_block_get(ch, n, buf);
    if (rv == BASE_ENOTFOUND) {
        return base_errf(errmsg, BASE_ECORRUPT,
                         "channel %s: block %llu is missing from the block "
                         "store",
                         ch->name, (unsigned long long)n);
    }
    if (rv != 0) {
        return base_errf(errmsg, rv, "channel %s: block %llu: %s", ch->name,
                         (unsigned long long)n, base_strerror(rv));
    }
    rv = lg_block_decode(b, buf->data, buf->len);
    if (rv != 0) {
        return base_errf(errmsg, rv == BASE_ENOMEM ? rv : BASE_ECORRUPT,
                         "channel %s: block %llu does not decode", ch->name,
                         (unsigned long long)n);
    }
    return 0;
}

int lg_check_tail(struct lg_channel *ch, uint64_t depth, char *errmsg)
{
    uint64_t height;
    struct cr_hash tip, state;
    lg_channel_tip(ch, &height, &tip, &state);
    struct base_buf buf;
    base_buf_init(&buf, 0);
    struct lg_block b;
    char why[BASE_ERRMSG_SIZE];
    int rv = load_block(ch, 0, &buf, &b, errmsg);
    if (rv == 0) {
        struct cr_hash zero = {{0}};
        rv = lg__block_check(ch, &b, 0, &zero, why);
        lg_block_release(&b);
        if (rv != 0) {
            base_errf(errmsg, BASE_ECORRUPT, "channel %s: genesis %s", ch->name,
                      why);
        }
    }
    uint64_t first = depth == 0 || depth >= height ? 1 : height - depth;
    struct cr_hash prev = {{0}};
    if (rv == 0 && first > 1) {
        struct lg_header h;
        rv = lg_block_header(ch, first - 1, &h, &prev);
        if (rv != 0) {
            base_errf(errmsg, BASE_ECORRUPT,
                      "channel %s: block %llu is unreadable (%s)", ch->name,
                      (unsigned long long)(first - 1), base_strerror(rv));
            rv = BASE_ECORRUPT;
        }
    } else if (rv == 0) {
        rv = lg_block_header(ch, 0, &(struct lg_header){0}, &prev);
    }
    for (uint64_t n = first; rv == 0 && n < height; n++) {
        rv = load_block(ch, n, &buf, &b, errmsg);
        if (rv != 0) {
            break;
        }
        rv = lg__block_check(ch, &b, n, &prev, why);
        if (rv != 0) {
            base_errf(errmsg, rv == BASE_ENOMEM ? rv : BASE_ECORRUPT,
                      "channel %s: %s", ch->name, why);
            rv = rv == BASE_ENOMEM ? rv : BASE_ECORRUPT;
        }
        prev = b.hash;
        lg_block_release(&b);
    }
    if (rv == 0 && memcmp(prev.b, tip.b, CR_HASH_SIZE) != 0) {
        rv = base_errf(errmsg, BASE_ECORRUPT,
                       "channel %s: the recorded tip is not the hash of "
                       "block %llu",
                       ch->name, (unsigned long long)(height - 1));
    }
    if (rv == 0) {
        /* A block stored past the recorded tip means the tip record and
         * the block store disagree. */
        base_buf_reset(&buf);
        if (lg_block_get(ch, height, &buf) == 0) {
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "channel %s: block %llu is stored past the "
                           "recorded tip",
                           ch->name, (unsigned long long)height);
        }
    }
    if (rv == 0) {
        struct lg_header h;
        rv = lg_block_header(ch, height - 1, &h, NULL);
        if (rv == 0 && memcmp(h.state_hash.b, state.b, CR_HASH_SIZE) != 0) {
            rv = base_errf(errmsg, BASE_ECORRUPT,
                           "channel %s: the recorded state hash is not "
                           "block %llu's",
                           ch->name, (unsigned long long)(height - 1));
        }
    }
    base_buf_release(&buf);
    return rv;
}

int lg_verify(const char *dir, const char *scratch,
              const struct lg_executor *exec, struct lg_verify_report *report)
{
    memset(report, 0, sizeof *report);
    struct lg_ledger *src = NULL, *dst = NULL;
    struct lg_options ro = {.read_only = true};
    int rv = lg_open(&src, dir, exec, &ro, report->error);
    if (rv == 0) {
        struct lg_options rw = {.map_size = 0};
        rv = lg_open(&dst, scratch, exec, &rw, report->error);
    }
    for (size_t i = 0; rv == 0 && i < src->nchannels; i++) {
        rv = verify_channel(src->channels[i], dst, report);
        report->channels++;
    }
    lg_close(dst);
    lg_close(src);
    return rv;
}
