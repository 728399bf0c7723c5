/* SPDX-License-Identifier: MIT */
/* The asset contract: create, read, update, transfer, delete. */
#include <jansson.h>
#include <string.h>

#include "contract/contract.h"

#define ID_MAX    128
#define OWNER_MAX (2 * LG_NAME_MAX + 2)
#define VALUE_MAX 4096

struct asset {
    char id[ID_MAX + 1];
    char owner[OWNER_MAX];
    char value[VALUE_MAX + 1];
};

/* Assets are stored as compact JSON so that queries and events can hand
 * them out unchanged. jansson escapes the strings. */
static int store(struct lg_ctx *ctx, const struct asset *a, const char *event)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", a->id, "owner", a->owner,
                          "value", a->value);
    return sc_put_json(ctx, a->id, o, event);
}

static int load(struct lg_ctx *ctx, const char *id, struct asset *a)
{
    struct lg_slice v;
    int rv = lg_ctx_get(ctx, id, strlen(id), &v);
    if (rv == BASE_ENOTFOUND) {
        return lg_ctx_fail(ctx, rv, "asset '%s' does not exist", id);
    }
    if (rv != 0) {
        return rv;
    }
    json_error_t err;
    json_t *o = json_loadb((const char *)v.p, v.len, 0, &err);
    const char *owner = json_string_value(json_object_get(o, "owner"));
    const char *value = json_string_value(json_object_get(o, "value"));
    if (owner == NULL || value == NULL || strlen(owner) >= OWNER_MAX ||
        strlen(value) > VALUE_MAX) {
        json_decref(o);
        return lg_ctx_fail(ctx, BASE_ECORRUPT, "asset '%s' is corrupt", id);
    }
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->owner, sizeof a->owner, "%s", owner);
    snprintf(a->value, sizeof a->value, "%s", value);
    json_decref(o);
    return 0;
}

static int args(struct lg_ctx *ctx, uint32_t argc, const struct lg_slice *argv,
                uint32_t want, const char *usage, char *id)
{
    if (argc != want) {
        return lg_ctx_fail(ctx, BASE_EARGS, "usage: %s", usage);
    }
    if (argv[0].len == 0 || sc_arg_str(&argv[0], id, ID_MAX + 1) != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "asset id must be 1..%d bytes",
                           ID_MAX);
    }
    return 0;
}

static int owned(struct lg_ctx *ctx, const struct asset *a)
{
    char me[OWNER_MAX];
    sc_caller_id(ctx, me);
    if (strcmp(me, a->owner) != 0) {
        return lg_ctx_fail(ctx, BASE_EPERM, "asset '%s' belongs to %s, not %s",
                           a->id, a->owner, me);
    }
    return 0;
}

static int value_arg(struct lg_ctx *ctx, const struct lg_slice *v,
                     struct asset *a)
{
    if (sc_arg_str(v, a->value, sizeof a->value) != 0) {
        return lg_ctx_fail(ctx, BASE_EARGS, "value must be at most %d bytes",
                           VALUE_MAX);
    }
    return 0;
}

static int create(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct asset a;
    int rv = args(ctx, argc, argv, 2, "create ID VALUE", a.id);
    if (rv != 0) {
        return rv;
    }
    struct lg_slice old;
    if (lg_ctx_get(ctx, a.id, strlen(a.id), &old) == 0) {
        return lg_ctx_fail(ctx, BASE_EEXIST, "asset '%s' already exists", a.id);
    }
    rv = value_arg(ctx, &argv[1], &a);
    if (rv != 0) {
        return rv;
    }
    sc_caller_id(ctx, a.owner);
    return store(ctx, &a, "AssetCreated");
}

static int read_fn(struct lg_ctx *ctx, uint32_t argc,
                   const struct lg_slice *argv)
{
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 1, "read ID", id);
    struct lg_slice v;
    if (rv == 0) {
        rv = lg_ctx_get(ctx, id, strlen(id), &v);
        if (rv == BASE_ENOTFOUND) {
            return lg_ctx_fail(ctx, rv, "asset '%s' does not exist", id);
        }
    }
    return rv == 0 ? lg_ctx_return(ctx, v.p, v.len) : rv;
}

static int update(struct lg_ctx *ctx, uint32_t argc,
                  const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 2, "update ID VALUE", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0) {
        rv = value_arg(ctx, &argv[1], &a);
    }
    return rv == 0 ? store(ctx, &a, "AssetUpdated") : rv;
}

static int transfer(struct lg_ctx *ctx, uint32_t argc,
                    const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1], to[OWNER_MAX];
    int rv = args(ctx, argc, argv, 2, "transfer ID ORG/NAME", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0 &&
        (sc_arg_str(&argv[1], to, sizeof to) != 0 || strchr(to, '/') == NULL ||
         to[0] == '/' || strchr(to, '/')[1] == '\0')) {
        rv = lg_ctx_fail(ctx, BASE_EARGS, "new owner must be ORG/NAME");
    }
    if (rv == 0) {
        snprintf(a.owner, sizeof a.owner, "%s", to);
        rv = store(ctx, &a, "AssetTransferred");
    }
    return rv;
}

static int delete_fn(struct lg_ctx *ctx, uint32_t argc,
                     const struct lg_slice *argv)
{
    struct asset a;
    char id[ID_MAX + 1];
    int rv = args(ctx, argc, argv, 1, "delete ID", id);
    if (rv == 0) {
        rv = load(ctx, id, &a);
    }
    if (rv == 0) {
        rv = owned(ctx, &a);
    }
    if (rv == 0) {
        rv = lg_ctx_del(ctx, id, strlen(id));
    }
    if (rv == 0) {
        rv = lg_ctx_emit(ctx, "AssetDeleted", id, strlen(id));
    }
    return rv;
}

static const struct sc_function functions[] = {
    {"create", create, NULL},    {"read", read_fn, NULL},
    {"update", update, NULL},    {"transfer", transfer, NULL},
    {"delete", delete_fn, NULL},
};

/* No read rule: assets are public to every reader (the benchmark's). */
const struct sc_contract sc_asset_contract = {"asset", functions,
                                              BASE_ARRAY_LEN(functions), NULL};
