/* SPDX-License-Identifier: MIT */
/* The DER registry: aggregators register distributed energy resources, the
 * DSO qualifies what each may offer (FERC Order 2222's registration and
 * capability qualification). The bids contract reads it. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "contract/contract.h"

static int store(struct lg_ctx *ctx, const struct sc_der *d, const char *event)
{
    json_t *o;
    int rv = sc_pack(ctx, &o,
                     "{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:s, s:f, s:s}",
                     "id", d->id, "dera", d->dera, "owner", d->owner, "bus",
                     d->bus, "phases", d->phases, "tech", d->tech, "kw", d->kw,
                     "kva", d->kva, "status", d->status, "qualified_kw",
                     d->qualified_kw, "reason", d->reason);
    return rv ? rv : sc_put_json(ctx, d->id, o, event);
}

/* The key of a DER's physical identity: who owns it, where it connects and
 * on which phases. One DER per identity, whatever its id, so that a second
 * aggregator cannot register the same equipment under another name. The
 * prefix holds '~', which no identifier does, so the key never meets a
 * DER id in the registry's namespace. */
#define PHYS_KEY_MAX (8 + 3 * SC_ID_MAX)
static void phys_key(char out[PHYS_KEY_MAX], const struct sc_der *d)
{
    snprintf(out, PHYS_KEY_MAX, "~phys/%s/%s/%s", d->owner, d->bus, d->phases);
}

/* Phases: a non-empty subset of a, b, c, in that order ("abc", "bc",
 * "a"): one spelling per set, so that "cba" is not another identity. */
static int phases_arg(struct lg_ctx *ctx, const struct lg_slice *a, char *out)
{
    static const char *const sets[] = {"a", "b", "c", "ab", "ac", "bc", "abc"};
    for (size_t i = 0; i < BASE_ARRAY_LEN(sets); i++) {
        if (a->len == strlen(sets[i]) && memcmp(a->p, sets[i], a->len) == 0) {
            memcpy(out, sets[i], a->len + 1);
            return 0;
        }
    }
    return lg_ctx_fail(ctx, BASE_EARGS,
                       "phases must be a, b, c or a combination in that "
                       "order (ab, ac, bc, abc)");
}

static void copy_str(char *dst, size_t size, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, size, "%s", v ? v : "");
}

int sc_der_parse(const void *json, size_t len, struct sc_der *out)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return BASE_ECORRUPT;
    }
    memset(out, 0, sizeof *out);
    copy_str(out->id, sizeof out->id, o, "id");
    copy_str(out->dera, sizeof out->dera, o, "dera");
    copy_str(out->owner, sizeof out->owner, o, "owner");
    copy_str(out->bus, sizeof out->bus, o, "bus");
    copy_str(out->phases, sizeof out->phases, o, "phases");
    copy_str(out->tech, sizeof out->tech, o, "tech");
    copy_str(out->status, sizeof out->status, o, "status");
    copy_str(out->reason, sizeof out->reason, o, "reason");
    out->kw = json_number_value(json_object_get(o, "kw"));
    out->kva = json_number_value(json_object_get(o, "kva"));
    out->qualified_kw = json_number_value(json_object_get(o, "qualified_kw"));
    json_decref(o);
    return out->id[0] ? 0 : BASE_ECORRUPT;
}

static int load(struct lg_ctx *ctx, const char *id, struct sc_der *d)
{
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, id, strlen(id), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, rv, "DER '%s' is not registered", id);
    }
    if (rv == 0 && sc_der_parse(v.p, v.len, d) != 0) {
        rv = lg_ctx_fail(ctx, BASE_ECORRUPT, "DER '%s' is corrupt", id);
    }
    return rv;
}

static int text_arg(struct lg_ctx *ctx, const struct lg_slice *a, char *out,
                    size_t size, const char *what)
{
    if (a->len == 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "%s must be 1..%zu bytes", what,
                           size - 1);
    }
    return sc_arg_text(ctx, a, out, size, what);
}

int sc_arg_kw(const struct lg_slice *a, double *out)
{
    char buf[40];
    if (sc_arg_str(a, buf, sizeof buf) != 0 ||
        base_parse_double(buf, out) != 0 || !isfinite(*out) || *out < 0 ||
        *out > 1e9) {
        return BASE_EARGS;
    }
    return 0;
}

static int register_fn(struct lg_ctx *ctx, uint32_t argc,
                       const struct lg_slice *argv)
{
    if (argc != 7) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "usage: register ID OWNER BUS PHASES TECH KW KVA");
    }
    struct sc_der d;
    memset(&d, 0, sizeof d);
    /* The id, the owner (the DSO's account of the customer) and the bus
     * are identifiers: compared for uniqueness, so canonical. */
    int rv = sc_arg_id(ctx, &argv[0], d.id, "DER id");
    if (rv == 0) {
        rv = sc_arg_id(ctx, &argv[1], d.owner, "owner");
    }
    if (rv == 0) {
        rv = sc_arg_id(ctx, &argv[2], d.bus, "bus");
    }
    if (rv == 0) {
        rv = phases_arg(ctx, &argv[3], d.phases);
    }
    if (rv == 0) {
        rv = text_arg(ctx, &argv[4], d.tech, sizeof d.tech, "technology");
    }
    if (rv != 0) {
        return rv;
    }
    if (sc_arg_kw(&argv[5], &d.kw) != 0 || d.kw <= 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "KW must be a positive number");
    }
    if (sc_arg_kw(&argv[6], &d.kva) != 0 || d.kva < d.kw) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "KVA must be a number at least KW (%g)", d.kw);
    }
    /* A DER belongs to at most one aggregator: the id is the key, so a
     * second registration, by anyone, is refused. */
    struct sc_der old;
    struct lg_slice v;
    if (lg_ctx_get(ctx, d.id, strlen(d.id), &v) == 0 &&
        load(ctx, d.id, &old) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "DER '%s' is already registered by %s", d.id,
                           old.dera);
    }
    char pk[PHYS_KEY_MAX];
    phys_key(pk, &d);
    if (lg_ctx_get(ctx, pk, strlen(pk), &v) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST,
                           "the DER of owner %s at bus %s phases %s is "
                           "already registered as '%.*s'",
                           d.owner, d.bus, d.phases, (int)v.len,
                           (const char *)v.p);
    }
    snprintf(d.dera, sizeof d.dera, "%s", lg_ctx_caller(ctx)->org);
    snprintf(d.status, sizeof d.status, "registered");
    rv = lg_ctx_put(ctx, pk, strlen(pk), d.id, strlen(d.id));
    return rv ? rv : store(ctx, &d, "DerRegistered");
}

static int one_id(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv, uint32_t want, const char *usage,
                  struct sc_der *d)
{
    if (argc != want) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: %s", usage);
    }
    char id[SC_ID_MAX + 1];
    int rv = sc_arg_id(ctx, &argv[0], id, "DER id");
    return rv ? rv : load(ctx, id, d);
}

static int qualify(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    struct sc_der d;
    int rv = one_id(ctx, argc, argv, 2, "qualify ID QUALIFIED_KW", &d);
    if (rv != 0) {
        return rv;
    }
    double q;
    if (sc_arg_kw(&argv[1], &q) != 0 || q <= 0 || q > d.kw) {
        return lg_ctx_fail(ctx, BASE_EARGS,
                           "qualified kW must be in (0, %g], the DER's rating",
                           d.kw);
    }
    d.qualified_kw = q;
    d.reason[0] = '\0';
    snprintf(d.status, sizeof d.status, "qualified");
    return store(ctx, &d, "DerQualified");
}

static int refuse(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct sc_der d;
    int rv = one_id(ctx, argc, argv, 2, "refuse ID REASON", &d);
    if (rv == 0) {
        rv = text_arg(ctx, &argv[1], d.reason, sizeof d.reason, "reason");
    }
    if (rv != 0) {
        return rv;
    }
    d.qualified_kw = 0;
    snprintf(d.status, sizeof d.status, "refused");
    return store(ctx, &d, "DerRefused");
}

static int deregister(struct lg_ctx *ctx, uint32_t argc,
                      const struct lg_slice *argv)
{
    struct sc_der d;
    int rv = one_id(ctx, argc, argv, 1, "deregister ID", &d);
    if (rv != 0) {
        return rv;
    }
    const char *org = lg_ctx_caller(ctx)->org;
    if (strcmp(org, d.dera) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM,
                           "DER '%s' is registered by %s, not %s", d.id, d.dera,
                           org);
    }
    /* The identity goes with the DER: the equipment may be registered
     * again, by another aggregator. */
    char pk[PHYS_KEY_MAX];
    phys_key(pk, &d);
    rv = lg_ctx_del(ctx, pk, strlen(pk));
    rv = rv ? rv : lg_ctx_del(ctx, d.id, strlen(d.id));
    return rv ? rv : lg_ctx_emit(ctx, "DerDeregistered", d.id, strlen(d.id));
}

static int read_fn(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    struct sc_der d;
    int rv = one_id(ctx, argc, argv, 1, "read ID", &d);
    struct lg_slice v;
    if (rv == 0) {
        rv = lg_ctx_get(ctx, d.id, strlen(d.id), &v);
    }
    return rv ? rv : lg_ctx_return(ctx, v.p, v.len);
}

static const struct sc_function functions[] = {
    {"register", register_fn, "dera"}, {"qualify", qualify, "dso"},
    {"refuse", refuse, "dso"},         {"deregister", deregister, "dera"},
    {"read", read_fn, NULL},
};

/* No read rule: the registry is the consortium's public list of DERs and
 * their qualification (any role may call read). */
const struct sc_contract sc_registry_contract = {
    "registry", functions, sizeof functions / sizeof functions[0], NULL};
