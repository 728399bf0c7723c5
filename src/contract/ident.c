/* SPDX-License-Identifier: MIT */
/* The one check of identifiers and text that contracts compare or store:
 * canonical identifiers (docs/ledger-format.md), valid UTF-8 text, and
 * records whose encoding failure is the caller's error, not the block's. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "contract/contract.h"

bool sc_utf8_ok(const void *data, size_t len)
{
    return base_utf8_ok(data, len);
}

void sc_printable(char *out, size_t size, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < size; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            out[o++] = (char)p[i];
        } else {
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", p[i]);
        }
    }
    if (size > 0) {
        out[o < size ? o : size - 1] = '\0';
    }
}

static bool alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int sc_id_check(const void *data, size_t len, char *why, size_t size)
{
    const uint8_t *p = data;
    char shown[4 * 16 + 8];
    sc_printable(shown, sizeof shown, p, len < 16 ? len : 16);
    const char *more = len > 16 ? "..." : "";
    if (len == 0 || len > SC_ID_MAX) {
        snprintf(why, size, "must be 1..%d bytes (got %zu)", SC_ID_MAX, len);
        return BASE_EARGS;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (alnum(c) || c == '-' || c == '_' || c == '.' || c == ':') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            /* One case only, so that "PV1" and "pv1" cannot both exist:
             * say what the canonical form would be. */
            char low[SC_ID_MAX + 1];
            size_t k;
            for (k = 0; k < len && p[k] >= 0x20 && p[k] < 0x7f; k++) {
                low[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
            }
            low[k] = '\0';
            snprintf(why, size,
                     "'%s%s' is not canonical: identifiers are lowercase%s%s%s",
                     shown, more, k == len ? " (use '" : "",
                     k == len ? low : "", k == len ? "')" : "");
            return BASE_EARGS;
        }
        snprintf(why, size,
                 "'%s%s' has byte 0x%02x at offset %zu: identifiers are "
                 "lowercase ASCII letters, digits and - _ . :",
                 shown, more, c, i);
        return BASE_EARGS;
    }
    if (!alnum(p[0]) || !alnum(p[len - 1])) {
        snprintf(why, size,
                 "'%s%s' must begin and end with a letter or a digit", shown,
                 more);
        return BASE_EARGS;
    }
    return 0;
}

int sc_arg_id(struct lg_ctx *ctx, const struct lg_slice *a,
              char out[SC_ID_MAX + 1], const char *what)
{
    char why[192];
    if (sc_id_check(a->p, a->len, why, sizeof why) != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "%s %s", what, why);
    }
    memcpy(out, a->p, a->len);
    out[a->len] = '\0';
    return 0;
}

int sc_arg_text(struct lg_ctx *ctx, const struct lg_slice *a, char *out,
                size_t size, const char *what)
{
    if (a->len >= size) {
        return lg_ctx_fail(ctx, BASE_EARGS, "%s must be at most %zu bytes",
                           what, size - 1);
    }
    if (memchr(a->p, 0, a->len) != NULL || !sc_utf8_ok(a->p, a->len)) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "%s must be UTF-8 text without NUL bytes", what);
    }
    memcpy(out, a->p, a->len);
    out[a->len] = '\0';
    return 0;
}

int sc_pack(struct lg_ctx *ctx, struct json_t **out, const char *fmt, ...)
{
    json_error_t err;
    va_list ap;
    va_start(ap, fmt);
    *out = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (*out != NULL) {
        return 0;
    }
    /* Only a failed allocation is this machine's problem (and fails the
     * block); anything else jansson refuses came from the call. */
    if (json_error_code(&err) == json_error_out_of_memory) {
        return BASE_ENOMEM;
    }
    return lg_ctx_fail(ctx, BASE_EARGS, "the record cannot be encoded: %s",
                       err.text);
}

/* Which arguments of a built-in function are identifiers: a bit per
 * argument; LIST marks a comma-separated list of identifiers. */
#define LIST 0x80u

static const struct {
    const char *contract, *function, *what[5];
    unsigned ids;
} id_args[] = {
    {"asset", "create", {"asset id"}, 1},
    {"asset", "read", {"asset id"}, 1},
    {"asset", "update", {"asset id"}, 1},
    {"asset", "transfer", {"asset id"}, 1},
    {"asset", "delete", {"asset id"}, 1},
    {"registry", "register", {"DER id", "owner", "bus"}, 7},
    {"registry", "qualify", {"DER id"}, 1},
    {"registry", "refuse", {"DER id"}, 1},
    {"registry", "deregister", {"DER id"}, 1},
    {"registry", "read", {"DER id"}, 1},
    {"bids",
     "create",
     {"bid uid", "market", NULL, NULL, "DER id"},
     3 | 16 | LIST},
    {"bids", "retrieve", {"bid uid"}, 1},
    {"bids", "modify", {"bid uid"}, 1},
    {"bids", "accept", {"bid uid"}, 1},
    {"bids", "withdraw", {"bid uid"}, 1},
    {"bids", "dispatch", {"bid uid"}, 1},
    {"bids", "clear", {"market"}, 1},
    {"bids", "review", {"market"}, 1},
    {"bids", "register_market", {"market"}, 1},
    {"bids", "market_read", {"market"}, 1},
};

static bool builtin(const char *contract)
{
    return strcmp(contract, "asset") == 0 ||
           strcmp(contract, "registry") == 0 || strcmp(contract, "bids") == 0 ||
           strcmp(contract, "petra") == 0;
}

int sc_call_check(const char *contract, const char *function, uint32_t nargs,
                  const struct lg_slice *args, char *why, size_t size)
{
    if (!builtin(contract)) {
        return 0;
    }
    /* Every argument of a built-in contract is text. */
    for (uint32_t i = 0; i < nargs; i++) {
        if (!sc_utf8_ok(args[i].p, args[i].len) ||
            memchr(args[i].p, 0, args[i].len) != NULL) {
            snprintf(why, size,
                     "argument %u is not UTF-8 text without NUL bytes",
                     (unsigned)i + 1);
            return BASE_EARGS;
        }
    }
    for (size_t k = 0; k < BASE_ARRAY_LEN(id_args); k++) {
        if (strcmp(id_args[k].contract, contract) != 0 ||
            strcmp(id_args[k].function, function) != 0) {
            continue;
        }
        for (uint32_t i = 0; i < nargs && i < 5; i++) {
            if (!(id_args[k].ids & (1u << i))) {
                continue;
            }
            const char *p = (const char *)args[i].p, *end = p + args[i].len;
            bool list = (id_args[k].ids & LIST) && i == 4;
            do {
                const char *comma =
                    list ? memchr(p, ',', (size_t)(end - p)) : NULL;
                size_t n = (size_t)((comma ? comma : end) - p);
                char w[192];
                if (sc_id_check(p, n, w, sizeof w) != 0) {
                    snprintf(why, size, "%s %s", id_args[k].what[i], w);
                    return BASE_EARGS;
                }
                p += n + 1;
            } while (list && p < end);
            /* As bids.create says: "a," names no second DER. */
            if (list && args[i].len > 0 && end[-1] == ',') {
                snprintf(why, size, "the %s list ends with ','",
                         id_args[k].what[i]);
                return BASE_EARGS;
            }
        }
    }
    return 0;
}
