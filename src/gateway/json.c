/* SPDX-License-Identifier: MIT */
/* The ledger's records as JSON: the shapes of the API, shared with
 * `gridledger query`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gw_int.h"

json_t *gw_json_hex(const void *p, size_t n)
{
    char *h = base_malloc(2 * n + 1);
    if (h == NULL) {
        return json_null();
    }
    base_hex_encode(h, p, n);
    json_t *s = json_string(h);
    base_free(h);
    return s;
}

void gw_json_set_bytes(json_t *o, const char *field, const void *p, size_t n)
{
    json_t *s = memchr(p, 0, n) == NULL ? json_stringn(p, n) : NULL;
    if (s != NULL) {
        json_object_set_new(o, field, s);
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s_hex", field);
    json_object_set_new(o, name, gw_json_hex(p, n));
}

json_t *gw_json_tx(const struct lg_slice *t, const struct lg_result *res)
{
    struct lg_tx tx;
    json_t *o = json_object();
    if (lg_tx_decode(&tx, t->p, t->len) == 0) {
        json_object_set_new(o, "id", gw_json_hex(tx.id.b, CR_HASH_SIZE));
        json_object_set_new(o, "contract", json_string(tx.contract));
        json_object_set_new(o, "function", json_string(tx.function));
        json_t *args = json_array();
        for (uint32_t i = 0; i < tx.nargs; i++) {
            json_t *a =
                json_stringn((const char *)tx.args[i].p, tx.args[i].len);
            json_array_append_new(
                args, a ? a : gw_json_hex(tx.args[i].p, tx.args[i].len));
        }
        json_object_set_new(o, "args", args);
        char who[2 * LG_NAME_MAX + 2];
        snprintf(who, sizeof who, "%s/%s", tx.cert.org, tx.cert.name);
        json_object_set_new(o, "creator", json_string(who));
        json_object_set_new(o, "role", json_string(tx.cert.role));
        json_object_set_new(o, "nonce", json_integer((json_int_t)tx.nonce));
    } else {
        json_object_set_new(o, "malformed", json_true());
    }
    if (res != NULL) {
        json_object_set_new(o, "code", json_integer(res->code));
        json_object_set_new(
            o, "result",
            json_string(res->code ? base_errname(res->code) : "VALID"));
        gw_json_set_bytes(o, "reason", res->reason.p, res->reason.len);
        if (res->payload.len > 0) {
            gw_json_set_bytes(o, "payload", res->payload.p, res->payload.len);
        }
    }
    return o;
}

json_t *gw_json_block(const struct lg_block *b)
{
    json_t *txs = json_array();
    for (uint32_t i = 0; b->h.number > 0 && i < b->h.tx_count; i++) {
        json_array_append_new(txs, gw_json_tx(&b->txs[i], &b->results[i]));
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:i, s:o}", "number",
                     (json_int_t)b->h.number, "hash",
                     gw_json_hex(b->hash.b, 32), "prev_hash",
                     gw_json_hex(b->h.prev_hash.b, 32), "tx_root",
                     gw_json_hex(b->h.tx_root.b, 32), "results_hash",
                     gw_json_hex(b->h.results_hash.b, 32), "state_hash",
                     gw_json_hex(b->h.state_hash.b, 32), "timestamp_ns",
                     (json_int_t)b->h.timestamp, "tx_count", (int)b->h.tx_count,
                     "transactions", txs);
}

int gw_json_range_cb(void *arg, struct lg_slice key, struct lg_slice val)
{
    json_t *o = json_object();
    gw_json_set_bytes(o, "key", key.p, key.len);
    gw_json_set_bytes(o, "value", val.p, val.len);
    return json_array_append_new(arg, o) == 0 ? 0 : BASE_ENOMEM;
}

int gw_json_history_cb(void *arg, const struct lg_history_entry *e)
{
    json_t *o = json_pack("{s:I, s:i, s:b}", "block", (json_int_t)e->ver.block,
                          "tx", (int)e->ver.tx, "deleted", e->deleted);
    gw_json_set_bytes(o, "value", e->value.p, e->value.len);
    return json_array_append_new(arg, o) == 0 ? 0 : BASE_ENOMEM;
}
