/* SPDX-License-Identifier: MIT */
/* The contract registry, the executor the ledger calls, and SDK helpers. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "contract/contract.h"
#include "crypto/crypto.h"

void sc_registry_init(struct sc_registry *r)
{
    memset(r, 0, sizeof *r);
}

static const struct sc_contract *find(const struct sc_registry *r,
                                      const char *name)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->contracts[i]->name, name) == 0) {
            return r->contracts[i];
        }
    }
    return NULL;
}

int sc_register(struct sc_registry *r, const struct sc_contract *c)
{
    size_t n = strlen(c->name);
    if (n == 0 || n > LG_NAME_MAX) {
        return BASE_EINVAL;
    }
    if (find(r, c->name) != NULL) {
        return BASE_EEXIST;
    }
    if (r->n == SC_MAX_CONTRACTS) {
        return BASE_EFULL;
    }
    r->contracts[r->n++] = c;
    return 0;
}

int sc_register_builtin(struct sc_registry *r)
{
    static const struct sc_contract *const builtin[] = {
        &sc_asset_contract, &sc_registry_contract, &sc_bids_contract,
        &sc_petra_contract};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        int rv = sc_register(r, builtin[i]);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

/* Is @role one of the space-separated words of @roles? */
static bool role_in(const char *roles, const char *role)
{
    if (roles == NULL) {
        return true;
    }
    size_t n = strlen(role);
    const char *p = roles;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *e = p;
        while (*e && *e != ' ') {
            e++;
        }
        if ((size_t)(e - p) == n && strncmp(p, role, n) == 0) {
            return true;
        }
        p = e;
    }
    return false;
}

static const struct sc_function *find_fn(const struct sc_contract *c,
                                         const char *fn)
{
    for (size_t i = 0; i < c->nfunctions; i++) {
        if (strcmp(c->functions[i].name, fn) == 0) {
            return &c->functions[i];
        }
    }
    return NULL;
}

static int check(void *impl, const char *contract, const char *function,
                 const char *role)
{
    const struct sc_contract *c = find(impl, contract);
    if (c == NULL) {
        return BASE_ENOCONTRACT;
    }
    const struct sc_function *f = find_fn(c, function);
    if (f == NULL) {
        return BASE_ENOFUNC;
    }
    return role_in(f->roles, role) ? 0 : BASE_EPERM;
}

static int invoke(void *impl, struct lg_ctx *ctx, const char *contract,
                  const char *function, uint32_t nargs,
                  const struct lg_slice *args)
{
    const struct sc_contract *c = find(impl, contract);
    if (c == NULL) {
        return lg_ctx_fail(ctx, BASE_ENOCONTRACT, "no contract named '%s'",
                           contract);
    }
    const struct sc_function *f = find_fn(c, function);
    if (f == NULL) {
        return lg_ctx_fail(ctx, BASE_ENOFUNC,
                           "contract '%s' has no function '%s'", contract,
                           function);
    }
    const char *role = lg_ctx_caller(ctx)->role;
    if (!role_in(f->roles, role)) {
        return lg_ctx_fail(ctx, BASE_EPERM, "role '%s' may not call %s.%s",
                           role, contract, function);
    }
    return f->fn(ctx, nargs, args);
}

struct lg_executor sc_executor(struct sc_registry *r)
{
    struct lg_executor e = {r, check, invoke};
    return e;
}

int sc_may_read(const struct sc_registry *r, const char *contract,
                const struct sc_reader *who, const struct sc_read *what,
                char *why, size_t size)
{
    const struct sc_contract *c = find(r, contract);
    if (c == NULL) {
        snprintf(why, size, "no contract named '%s'", contract);
        return BASE_ENOCONTRACT;
    }
    return c->may_read ? c->may_read(who, what, why, size) : 0;
}

int sc_arg_str(const struct lg_slice *a, char *out, size_t size)
{
    if (a->len >= size || memchr(a->p, 0, a->len) != NULL ||
        !sc_utf8_ok(a->p, a->len)) {
        return BASE_EARGS;
    }
    memcpy(out, a->p, a->len);
    out[a->len] = '\0';
    return 0;
}

int sc_arg_i64(const struct lg_slice *a, int64_t *out)
{
    char buf[32];
    if (sc_arg_str(a, buf, sizeof buf) != 0 || base_parse_i64(buf, out) != 0) {
        return BASE_EARGS;
    }
    return 0;
}

void sc_caller_id(const struct lg_ctx *ctx, char *out)
{
    const struct lg_cert *c = lg_ctx_caller(ctx);
    snprintf(out, 2 * LG_NAME_MAX + 2, "%s/%s", c->org, c->name);
}

bool sc_caller_has_role(const struct lg_ctx *ctx, const char *roles)
{
    return role_in(roles, lg_ctx_caller(ctx)->role);
}

void sc_record_hash(char out[65], const void *data, size_t len)
{
    struct cr_hash h;
    cr_sha256(&h, data, len);
    base_hex_encode(out, h.b, CR_HASH_SIZE);
}

int sc_put_json(struct lg_ctx *ctx, const char *key, struct json_t *o,
                const char *event)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                    JSON_REAL_PRECISION(12))
                : NULL;
    json_decref(o);
    if (s == NULL) {
        return BASE_ENOMEM;
    }
    size_t n = strlen(s);
    int rv = lg_ctx_put(ctx, key, strlen(key), s, n);
    if (rv == 0 && event != NULL) {
        rv = lg_ctx_emit(ctx, event, s, n);
    }
    if (rv == 0) {
        rv = lg_ctx_return(ctx, s, n);
    }
    free(s);
    return rv;
}
